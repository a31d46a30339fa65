// The users form action, shared by /users/new and /tenant/<slug>/users/new.
import { fail, redirect, type RequestEvent } from '@sveltejs/kit';
import { DUPLICATE_USER, isUniqueViolation, validateUser } from './db';

export async function createUserAction({ request, locals }: RequestEvent, redirectTo: (id: number) => string) {
	const form = await request.formData();
	const name = String(form.get('name') ?? '').trim();
	const email = String(form.get('email') ?? '').trim();
	const invalid = validateUser(name, email);
	if (invalid) return fail(400, { error: invalid, name, email });
	let id: number;
	try {
		const result = await locals.db.run('INSERT INTO users (name, email) VALUES (?, ?)', [name, email]);
		id = Number(result.lastInsertRowId);
	} catch (err) {
		if (isUniqueViolation(err)) return fail(409, { error: DUPLICATE_USER, name, email });
		throw err;
	}
	redirect(303, redirectTo(id));
}
