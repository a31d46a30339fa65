// Where the guide's checkout redirects: the order, its customer and its items.
import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { orderWithItems } from '$lib/server/orders';

export const load: PageServerLoad = async ({ params, locals }) => {
	if (!/^\d+$/.test(params.id)) error(404, 'Order not found');
	const found = await orderWithItems(locals.db, Number(params.id));
	if (!found) error(404, 'Order not found');
	return found;
};
