import { fail } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import type { Product } from '$lib/server/db';

export const load: PageServerLoad = async ({ locals }) => ({
	products: await locals.db.query<Product>('SELECT id, name, price_cents, stock FROM products ORDER BY id')
});

/** Thrown inside the transaction to roll it back with a message for the form. */
class CheckoutError extends Error {}

export const actions: Actions = {
	default: async ({ request, locals }) => {
		const form = await request.formData();
		const productId = Number(form.get('productId'));
		const quantity = Number(form.get('quantity'));
		if (!Number.isInteger(productId) || productId < 1) return fail(400, { error: 'Choose a product', productId, quantity });
		if (!Number.isInteger(quantity) || quantity < 1 || quantity > 1000) {
			return fail(400, { error: 'Quantity must be a whole number from 1 to 1000', productId, quantity });
		}
		try {
			// One interactive transaction (the guide's helper returned [] and null here, so
			// its stock check could never pass): read, check, decrement, insert, commit.
			const orderId = await locals.db.transaction(async (tx) => {
				const product = await tx.queryOne<Product>('SELECT id, price_cents, stock FROM products WHERE id = ?', [productId]);
				if (!product) throw new CheckoutError('Unknown product');
				if (product.stock < quantity) throw new CheckoutError('Insufficient stock');
				await tx.run('UPDATE products SET stock = stock - ? WHERE id = ?', [quantity, productId]);
				const { lastInsertRowId } = await tx.run('INSERT INTO orders (product_id, quantity, total_cents) VALUES (?, ?, ?)', [
					productId,
					quantity,
					product.price_cents * quantity
				]);
				return Number(lastInsertRowId);
			});
			return { orderId };
		} catch (err) {
			if (err instanceof CheckoutError) return fail(400, { error: err.message, productId, quantity });
			throw err;
		}
	}
};
