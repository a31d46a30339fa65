// The users of the tenant in the path: hooks.server.ts resolved locals.db from /tenant/<slug>/.
import type { PageServerLoad } from './$types';
import type { User } from '$lib/server/db';

export const load: PageServerLoad = async ({ locals }) => ({
	users: await locals.db.query<User>('SELECT id, name, email, created_at FROM users ORDER BY id')
});
