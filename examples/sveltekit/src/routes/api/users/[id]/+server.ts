import { json } from '@sveltejs/kit';
import { apiError, readJson } from '$lib/server/api';
import { DUPLICATE_USER, isUniqueViolation, validateUser, type User } from '$lib/server/db';
import type { RequestHandler } from './$types';

const COLUMNS = 'id, name, email, created_at';
const idOf = (raw: string) => (/^\d{1,15}$/.test(raw) ? Number(raw) : null);

export const GET: RequestHandler = async ({ params, locals }) => {
	const id = idOf(params.id);
	const user = id === null ? null : await locals.db.queryOne<User>(`SELECT ${COLUMNS} FROM users WHERE id = ?`, [id]);
	return user ? json(user) : apiError(404, 'User not found');
};

// PATCH {name?, email?}: the fields given, checked as on create.
export const PATCH: RequestHandler = async ({ params, request, locals }) => {
	const id = idOf(params.id);
	if (id === null) return apiError(404, 'User not found');
	const body = await readJson(request);
	if (!body) return apiError(400, 'Body must be a JSON object');
	if (body.name !== undefined && typeof body.name !== 'string') return apiError(400, 'Name is required');
	if (body.email !== undefined && typeof body.email !== 'string') return apiError(400, 'Email is invalid');
	if (body.name === undefined && body.email === undefined) return apiError(400, 'Nothing to update: give name or email');
	try {
		// Read, check and write in one transaction, so the merge sees the row it updates.
		const user = await locals.db.transaction(async (tx) => {
			const current = await tx.queryOne<User>(`SELECT ${COLUMNS} FROM users WHERE id = ?`, [id]);
			if (!current) return null;
			const name = body.name === undefined ? current.name : (body.name as string).trim();
			const email = body.email === undefined ? current.email : (body.email as string).trim();
			const invalid = validateUser(name, email);
			if (invalid) return { invalid };
			return tx.queryOne<User>(`UPDATE users SET name = ?, email = ? WHERE id = ? RETURNING ${COLUMNS}`, [name, email, id]);
		});
		if (!user) return apiError(404, 'User not found');
		if ('invalid' in user) return apiError(400, user.invalid);
		return json(user);
	} catch (err) {
		if (isUniqueViolation(err)) return apiError(409, DUPLICATE_USER);
		throw err;
	}
};

export const DELETE: RequestHandler = async ({ params, locals }) => {
	const id = idOf(params.id);
	const { rowsAffected } = id === null ? { rowsAffected: 0 } : await locals.db.run('DELETE FROM users WHERE id = ?', [id]);
	return rowsAffected ? new Response(null, { status: 204 }) : apiError(404, 'User not found');
};
