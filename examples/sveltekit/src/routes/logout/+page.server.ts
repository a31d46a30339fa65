import { redirect } from '@sveltejs/kit';
import { endSession } from '$lib/server/auth';
import type { Actions, PageServerLoad } from './$types';

// GET /logout changes nothing (a link or a prefetch must not sign anyone out).
export const load: PageServerLoad = () => redirect(303, '/login');

export const actions: Actions = {
	default: async ({ locals, cookies }) => {
		await endSession(locals.db, cookies, locals.sessionToken);
		redirect(303, '/login');
	}
};
