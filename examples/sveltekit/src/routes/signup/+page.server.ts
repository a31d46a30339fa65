import { fail, redirect } from '@sveltejs/kit';
import { createAccount, startSession } from '$lib/server/auth';
import { isUniqueViolation } from '$lib/server/db';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals }) => {
	if (locals.account) redirect(303, '/dashboard');
};

export const actions: Actions = {
	default: async ({ request, locals, cookies, url }) => {
		const form = await request.formData();
		const email = String(form.get('email') ?? '').trim().toLowerCase();
		const password = String(form.get('password') ?? '');
		if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return fail(400, { error: 'Email is invalid', email });
		if (password.length < 8) return fail(400, { error: 'Password must be at least 8 characters', email });
		if (password.length > 1024) return fail(400, { error: 'Password is too long', email });
		let accountId: number;
		try {
			accountId = await createAccount(locals.db, email, password);
		} catch (err) {
			if (isUniqueViolation(err)) return fail(409, { error: 'An account with this email already exists', email });
			throw err;
		}
		await startSession(locals.db, cookies, accountId, url.protocol === 'https:');
		redirect(303, '/dashboard');
	}
};
