// The post page's load and its named actions (update, publish, unpublish, delete), the
// guide's "Multiple Named Actions". One copy, served at the guide's /posts/[id] and at
// /posts/[id]/edit: both routes' +page.server.ts re-export these, and both pages render
// $lib/components/PostEditor.svelte.
import { error, fail, redirect } from '@sveltejs/kit';
import type { Post } from './db';

/** What load and the actions use of a request event (both routes have params.id). */
interface PostEvent {
	params: { id: string };
	locals: App.Locals;
}

/** The post id of the path; a 404 for anything but digits. */
function postId(raw: string): number {
	if (!/^\d+$/.test(raw)) error(404, 'Post not found');
	return Number(raw);
}

/**
 * The post and its number of comments. A 404 for a post that does not exist (the guide
 * redirected to /posts, which hides a wrong link behind a page that looks fine).
 */
export async function loadPost({ params, locals }: PostEvent) {
	const id = postId(params.id);
	const [post, comments] = await Promise.all([
		locals.db.queryOne<Post>('SELECT id, user_id, title, content, published, created_at FROM posts WHERE id = ?', [id]),
		locals.db.queryOne<{ n: number }>('SELECT count(*) AS n FROM comments WHERE post_id = ?', [id])
	]);
	if (!post) error(404, 'Post not found');
	return { post, comments: comments?.n ?? 0 };
}

async function setPublished({ params, locals }: PostEvent, published: 0 | 1) {
	const { rowsAffected } = await locals.db.run('UPDATE posts SET published = ? WHERE id = ?', [published, postId(params.id)]);
	if (!rowsAffected) error(404, 'Post not found');
	return { success: true, message: published ? 'Post published' : 'Post unpublished' };
}

export const postActions = {
	update: async ({ params, locals, request }: PostEvent & { request: Request }) => {
		const form = await request.formData();
		const title = String(form.get('title') ?? '').trim();
		const content = String(form.get('content') ?? '');
		const published = form.get('published') === 'true' ? 1 : 0;
		if (!title) return fail(400, { error: 'Title is required', title, content });
		if (title.length > 200) return fail(400, { error: 'Title is too long', title, content });
		const { rowsAffected } = await locals.db.run('UPDATE posts SET title = ?, content = ?, published = ? WHERE id = ?', [
			title,
			content,
			published,
			postId(params.id)
		]);
		if (!rowsAffected) error(404, 'Post not found');
		return { success: true, message: 'Changes saved' };
	},
	publish: (event: PostEvent) => setPublished(event, 1),
	unpublish: (event: PostEvent) => setPublished(event, 0),
	delete: async ({ params, locals }: PostEvent) => {
		const id = postId(params.id);
		// One interactive transaction: the comments and the post go together or not at all.
		const deleted = await locals.db.transaction(async (tx) => {
			await tx.run('DELETE FROM comments WHERE post_id = ?', [id]);
			const { rowsAffected } = await tx.run('DELETE FROM posts WHERE id = ?', [id]);
			return rowsAffected;
		});
		if (!deleted) error(404, 'Post not found');
		redirect(303, '/posts');
	}
};
