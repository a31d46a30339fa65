// Where the guide's checkout redirects: the order, read back.
import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ params, locals }) => {
  const order = await locals.db.queryOne<{ id: number; total: number; status: string }>(
    'SELECT id, total, status FROM orders WHERE id = ?',
    [Number(params.id)],
  );
  if (!order) error(404, 'No such order');
  return { order };
};
