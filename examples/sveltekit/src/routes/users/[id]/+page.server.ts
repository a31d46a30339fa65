import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import type { Post, User } from '$lib/server/db';

export const load: PageServerLoad = async ({ params, locals }) => {
	if (!/^\d+$/.test(params.id)) error(404, 'User not found');
	const id = Number(params.id);
	const [user, posts] = await Promise.all([
		locals.db.queryOne<User>('SELECT id, name, email, created_at FROM users WHERE id = ?', [id]),
		locals.db.query<Pick<Post, 'id' | 'title' | 'published'>>('SELECT id, title, published FROM posts WHERE user_id = ? ORDER BY id', [id])
	]);
	if (!user) error(404, 'User not found');
	return { user, posts };
};
