import { error, fail, redirect } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import type { Post } from '$lib/server/db';

function postId(raw: string): number {
	if (!/^\d+$/.test(raw)) error(404, 'Post not found');
	return Number(raw);
}

export const load: PageServerLoad = async ({ params, locals }) => {
	const id = postId(params.id);
	const [post, comments] = await Promise.all([
		locals.db.queryOne<Post>('SELECT id, user_id, title, content, published, created_at FROM posts WHERE id = ?', [id]),
		locals.db.queryOne<{ n: number }>('SELECT count(*) AS n FROM comments WHERE post_id = ?', [id])
	]);
	if (!post) error(404, 'Post not found');
	return { post, comments: comments?.n ?? 0 };
};

async function setPublished(locals: App.Locals, raw: string, published: 0 | 1) {
	const { rowsAffected } = await locals.db.run('UPDATE posts SET published = ? WHERE id = ?', [published, postId(raw)]);
	if (!rowsAffected) error(404, 'Post not found');
	return { success: published ? 'Published' : 'Unpublished' };
}

export const actions: Actions = {
	update: async ({ params, request, locals }) => {
		const form = await request.formData();
		const title = String(form.get('title') ?? '').trim();
		const content = String(form.get('content') ?? '');
		if (!title) return fail(400, { error: 'Title is required', title, content });
		const { rowsAffected } = await locals.db.run('UPDATE posts SET title = ?, content = ? WHERE id = ?', [title, content, postId(params.id)]);
		if (!rowsAffected) error(404, 'Post not found');
		return { success: 'Saved' };
	},
	publish: ({ params, locals }) => setPublished(locals, params.id, 1),
	unpublish: ({ params, locals }) => setPublished(locals, params.id, 0),
	delete: async ({ params, locals }) => {
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
