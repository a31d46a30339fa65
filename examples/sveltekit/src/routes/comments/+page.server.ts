// The guide's /comments: a post's comments (?post=<id>, else the first post) and the
// `addComment` action behind its use:enhance form with a loading state.
import { error, fail } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { DoSQLError, type Post } from '$lib/server/db';

interface CommentWithAuthor {
	id: number;
	content: string;
	author_name: string;
	created_at: string;
}

const MAX_COMMENT = 2000;

export const load: PageServerLoad = async ({ url, locals }) => {
	const raw = url.searchParams.get('post');
	if (raw !== null && !/^\d+$/.test(raw)) error(404, 'Post not found');
	return locals.db.transaction(async (tx) => {
		const post = await tx.queryOne<Pick<Post, 'id' | 'title'>>(
			raw === null ? 'SELECT id, title FROM posts ORDER BY id LIMIT 1' : 'SELECT id, title FROM posts WHERE id = ?',
			raw === null ? [] : [Number(raw)]
		);
		if (!post) error(404, 'Post not found');
		const comments = await tx.query<CommentWithAuthor>(
			'SELECT id, body AS content, author_name, created_at FROM comments WHERE post_id = ? ORDER BY id',
			[post.id]
		);
		return { post, postId: post.id, comments };
	});
};

export const actions: Actions = {
	addComment: async ({ request, locals }) => {
		const form = await request.formData();
		const postId = Number(form.get('post_id'));
		const content = String(form.get('content') ?? '').trim();
		if (!Number.isInteger(postId) || postId < 1) return fail(400, { error: 'Invalid post', content });
		if (!content) return fail(400, { error: 'Write a comment first', content });
		if (content.length > MAX_COMMENT) return fail(400, { error: `A comment has at most ${MAX_COMMENT} characters`, content });
		try {
			// The author: the signed-in account (this tenant's /login), else "Anonymous".
			await locals.db.run('INSERT INTO comments (post_id, body, author_name) VALUES (?, ?, ?)', [
				postId,
				content,
				locals.account?.email ?? 'Anonymous'
			]);
		} catch (err) {
			// posts(id) is a foreign key: a post deleted meanwhile (or never there).
			if (err instanceof DoSQLError && err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return fail(404, { error: 'Post not found', content });
			throw err;
		}
		return { success: true };
	}
};
