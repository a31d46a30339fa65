// The products and their stock, for the test to see what a checkout changed.
import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ locals }) =>
  json(await locals.db.query('SELECT id, stock FROM products ORDER BY id'));
