// src/routes/api/users/+server.ts
import { json, error } from '@sveltejs/kit';
import type { RequestHandler } from './$types';

interface User {
  id: number;
  name: string;
  email: string;
  created_at: string;
}

// GET /api/users
export const GET: RequestHandler = async ({ url, locals }) => {
  const limit = Math.min(100, Math.max(1, parseInt(url.searchParams.get('limit') || '50', 10)));
  const offset = Math.max(0, parseInt(url.searchParams.get('offset') || '0', 10));
  const search = url.searchParams.get('q');

  let sql = 'SELECT id, name, email, created_at FROM users';
  const params: unknown[] = [];

  if (search) {
    sql += ' WHERE name LIKE ? OR email LIKE ?';
    params.push(`%${search}%`, `%${search}%`);
  }

  sql += ' ORDER BY created_at DESC LIMIT ? OFFSET ?';
  params.push(limit, offset);

  const users = await locals.db.query<User>(sql, params);

  const countResult = await locals.db.queryOne<{ total: number }>(
    'SELECT COUNT(*) as total FROM users' + (search ? ' WHERE name LIKE ? OR email LIKE ?' : ''),
    search ? [`%${search}%`, `%${search}%`] : []
  );

  return json({
    users,
    total: countResult?.total ?? 0,
    limit,
    offset,
  });
};

// POST /api/users
export const POST: RequestHandler = async ({ request, locals }) => {
  const body = await request.json() as { name: string; email: string };

  if (!body.name || !body.email) {
    error(400, 'Name and email are required');
  }

  try {
    const result = await locals.db.run(
      'INSERT INTO users (name, email) VALUES (?, ?)',
      [body.name, body.email]
    );

    return json(
      { id: result.lastInsertRowId, ...body },
      { status: 201 }
    );
  } catch (err) {
    if ((err as Error).message.includes('UNIQUE constraint')) {
      error(409, 'Email already exists');
    }
    throw err;
  }
};
