import { redirect } from '@sveltejs/kit';
import { loginUrl } from '$lib/server/auth';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, url }) => {
	if (!locals.account) redirect(303, loginUrl(url.pathname + url.search));
	const count = async (table: 'users' | 'posts' | 'orders') =>
		(await locals.db.queryOne<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))?.n ?? 0;
	// Independent reads in parallel.
	const [users, posts, orders] = await Promise.all([count('users'), count('posts'), count('orders')]);
	return { email: locals.account.email, stats: { users, posts, orders } };
};
