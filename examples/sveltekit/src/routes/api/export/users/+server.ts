// GET /api/export/users: every user as CSV (RFC 4180), streamed a page at a time
// (keyset pagination on id), so a large table never sits in memory.
import type { RequestHandler } from './$types';
import type { User } from '$lib/server/db';

const PAGE = 500;

/** One RFC 4180 field: quoted when it holds a comma, a quote or a line break. */
function field(value: unknown): string {
	const text = value === null || value === undefined ? '' : String(value);
	return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const line = (values: unknown[]) => `${values.map(field).join(',')}\r\n`;

export const GET: RequestHandler = ({ locals }) => {
	const encoder = new TextEncoder();
	let after = 0;
	let headerSent = false;
	const body = new ReadableStream<Uint8Array>({
		async pull(controller) {
			if (!headerSent) {
				headerSent = true;
				controller.enqueue(encoder.encode(line(['id', 'name', 'email', 'created_at'])));
				return;
			}
			const rows = await locals.db.query<User>('SELECT id, name, email, created_at FROM users WHERE id > ? ORDER BY id LIMIT ?', [after, PAGE]);
			if (rows.length) {
				controller.enqueue(encoder.encode(rows.map((u) => line([u.id, u.name, u.email, u.created_at])).join('')));
				after = Number(rows[rows.length - 1].id);
			}
			if (rows.length < PAGE) controller.close();
		}
	});
	return new Response(body, {
		headers: {
			'content-type': 'text/csv; charset=utf-8',
			'content-disposition': 'attachment; filename="users.csv"',
			'cache-control': 'no-store'
		}
	});
};
