// src/routes/users/+page.server.ts
import type { PageServerLoad } from './$types';

interface User {
  id: number;
  name: string;
  email: string;
  created_at: string;
}

export const load: PageServerLoad = async ({ locals }) => {
  const users = await locals.db.query<User>(`
    SELECT id, name, email, created_at
    FROM users
    ORDER BY created_at DESC
    LIMIT 50
  `);

  return { users };
};
