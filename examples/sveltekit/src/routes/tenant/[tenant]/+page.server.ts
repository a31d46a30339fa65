// /tenant/<slug>: the tenant's newest users and posts, from its own database (see +layout.server.ts).
import type { PageServerLoad } from './$types';
import type { Post, User } from '$lib/server/db';

export const load: PageServerLoad = async ({ locals }) => {
	const [users, posts] = await Promise.all([
		locals.db.query<Pick<User, 'id' | 'name' | 'email'>>('SELECT id, name, email FROM users ORDER BY id DESC LIMIT 5'),
		locals.db.query<Pick<Post, 'id' | 'title' | 'published'>>('SELECT id, title, published FROM posts ORDER BY id DESC LIMIT 5')
	]);
	return { users, posts };
};
