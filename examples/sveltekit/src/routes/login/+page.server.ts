import { fail, redirect } from '@sveltejs/kit';
import { safeRedirect, startSession, verifyPassword } from '$lib/server/auth';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
	if (locals.account) redirect(303, safeRedirect(url.searchParams.get('redirectTo'), url.origin));
};

export const actions: Actions = {
	default: async ({ request, locals, cookies, url }) => {
		const form = await request.formData();
		const email = String(form.get('email') ?? '').trim().toLowerCase();
		const password = String(form.get('password') ?? '');
		const account = email && password && password.length <= 1024 ? await verifyPassword(locals.db, email, password) : null;
		if (!account) return fail(400, { error: 'Invalid email or password', email });
		await startSession(locals.db, cookies, account.id, url.protocol === 'https:');
		// Only a path of this site: never an open redirect to another origin.
		redirect(303, safeRedirect(url.searchParams.get('redirectTo') ?? String(form.get('redirectTo') ?? ''), url.origin));
	}
};
