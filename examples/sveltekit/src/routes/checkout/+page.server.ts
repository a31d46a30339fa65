import { fail } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import type { Product } from '$lib/server/db';
import { CheckoutError, MAX_QUANTITY, placeOrder } from '$lib/server/orders';

export const load: PageServerLoad = async ({ locals }) => ({
	products: await locals.db.query<Product>('SELECT id, name, price_cents, stock FROM products ORDER BY id')
});

export const actions: Actions = {
	default: async ({ request, locals }) => {
		const form = await request.formData();
		const productId = Number(form.get('productId'));
		const quantity = Number(form.get('quantity'));
		if (!Number.isInteger(productId) || productId < 1) return fail(400, { error: 'Choose a product', productId, quantity });
		if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
			return fail(400, { error: `Quantity must be a whole number from 1 to ${MAX_QUANTITY}`, productId, quantity });
		}
		try {
			// One interactive transaction, the same as /orders' checkout (the guide's
			// helper returned [] and null here, so its stock check could never pass):
			// insert the order, read and check the stock, insert the item, decrement, commit.
			const orderId = await placeOrder(locals.db, null, [{ product_id: productId, quantity }]);
			return { orderId };
		} catch (err) {
			if (err instanceof CheckoutError) return fail(400, { error: err.message, productId, quantity });
			throw err;
		}
	}
};
