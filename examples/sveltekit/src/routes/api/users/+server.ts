import { json } from '@sveltejs/kit';
import { apiError, intParam, readJson } from '$lib/server/api';
import { DUPLICATE_USER, isUniqueViolation, validateUser, type User } from '$lib/server/db';
import type { RequestHandler } from './$types';

const COLUMNS = 'id, name, email, created_at';

// GET /api/users?limit=L&offset=O&q=text → {users, total}
export const GET: RequestHandler = async ({ url, locals }) => {
	const limit = intParam(url.searchParams.get('limit'), 20);
	const offset = intParam(url.searchParams.get('offset'), 0);
	if (limit === null || limit < 1) return apiError(400, 'limit must be a whole number from 1 to 100');
	if (offset === null) return apiError(400, 'offset must be a whole number ≥ 0');
	const q = (url.searchParams.get('q') ?? '').trim();
	const where = q ? "WHERE name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\'" : '';
	const params = q ? [`%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`] : [];
	// Rows and total from one snapshot.
	return json(
		await locals.db.transaction(async (tx) => ({
			users: await tx.query<User>(`SELECT ${COLUMNS} FROM users ${where} ORDER BY id LIMIT ${Math.min(limit, 100)} OFFSET ${offset}`, params),
			total: (await tx.queryOne<{ n: number }>(`SELECT count(*) AS n FROM users ${where}`, params))?.n ?? 0
		}))
	);
};

// POST /api/users {name, email} → 201 user
export const POST: RequestHandler = async ({ request, locals }) => {
	const body = await readJson(request);
	if (!body) return apiError(400, 'Body must be a JSON object');
	const name = typeof body.name === 'string' ? body.name.trim() : '';
	const email = typeof body.email === 'string' ? body.email.trim() : '';
	const invalid = validateUser(name, email);
	if (invalid) return apiError(400, invalid);
	try {
		const user = await locals.db.queryOne<User>(`INSERT INTO users (name, email) VALUES (?, ?) RETURNING ${COLUMNS}`, [name, email]);
		return json(user, { status: 201, headers: { location: `/api/users/${user!.id}` } });
	} catch (err) {
		if (isUniqueViolation(err)) return apiError(409, DUPLICATE_USER);
		throw err;
	}
};
