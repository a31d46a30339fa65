// Placing an order, shared by /orders (the guide's cart checkout) and /checkout (one
// product): one interactive transaction that inserts the order, then for each item
// checks the stock, inserts the item and decrements the stock, then sets the total.
// Anything thrown inside rolls all of it back, the order row included.
import type { DatabaseClient, Product } from './db';

export interface CartItem {
	product_id: number;
	quantity: number;
}

export interface Order {
	id: number;
	user_id: number | null;
	total_cents: number;
	status: 'pending' | 'paid' | 'cancelled';
	created_at: string;
}

export interface OrderItem {
	product_id: number;
	name: string;
	quantity: number;
	price_cents: number;
}

/** A refusal with a message for the form; thrown inside the transaction to roll it back. */
export class CheckoutError extends Error {}

/** The most of one product in one order (and the quantity fields' max). */
export const MAX_QUANTITY = 1000;

/**
 * The cart of a checkout form: pairs of `product_id` and `quantity` fields, in order.
 * Empty quantities are skipped, a product named twice is added up. Throws CheckoutError
 * for anything else that is not a whole number in range.
 */
export function cartOf(form: FormData): CartItem[] {
	const ids = form.getAll('product_id').map(String);
	const quantities = form.getAll('quantity').map(String);
	if (ids.length !== quantities.length) throw new CheckoutError('Invalid request');
	const cart = new Map<number, number>();
	ids.forEach((rawId, i) => {
		const raw = quantities[i].trim();
		if (raw === '' || raw === '0') return;
		const productId = Number(rawId);
		const quantity = Number(raw);
		if (!Number.isInteger(productId) || productId < 1) throw new CheckoutError('Choose a product');
		if (!Number.isInteger(quantity) || quantity < 0 || quantity > MAX_QUANTITY) {
			throw new CheckoutError(`Quantity must be a whole number from 0 to ${MAX_QUANTITY}`);
		}
		const total = (cart.get(productId) ?? 0) + quantity;
		if (total > MAX_QUANTITY) throw new CheckoutError(`Quantity must be a whole number from 0 to ${MAX_QUANTITY}`);
		cart.set(productId, total);
	});
	return [...cart].map(([product_id, quantity]) => ({ product_id, quantity }));
}

/**
 * Place an order of CART for the customer USERID (null: none) and return its id. Prices
 * come from the products table inside the transaction, never from the form. Throws
 * CheckoutError (nothing written) for an empty cart, an unknown customer or product,
 * or a product with too little stock; other errors are the database's.
 */
export async function placeOrder(db: DatabaseClient, userId: number | null, cart: CartItem[]): Promise<number> {
	if (cart.length === 0) throw new CheckoutError('Cart is empty');
	return db.transaction(async (tx) => {
		if (userId !== null && !(await tx.queryOne('SELECT 1 FROM users WHERE id = ?', [userId]))) {
			throw new CheckoutError('Unknown customer');
		}
		// The order first, as the guide does: a later failure must take it back out.
		const { lastInsertRowId } = await tx.run("INSERT INTO orders (user_id, total_cents, status) VALUES (?, 0, 'pending')", [userId]);
		const orderId = Number(lastInsertRowId);
		for (const item of cart) {
			const product = await tx.queryOne<Product>('SELECT id, name, price_cents, stock FROM products WHERE id = ?', [item.product_id]);
			if (!product) throw new CheckoutError(`Unknown product ${item.product_id}`);
			if (product.stock < item.quantity) throw new CheckoutError(`Insufficient stock for ${product.name}`);
			await tx.run('INSERT INTO order_items (order_id, product_id, quantity, price_cents) VALUES (?, ?, ?, ?)', [
				orderId,
				product.id,
				item.quantity,
				product.price_cents
			]);
			await tx.run('UPDATE products SET stock = stock - ? WHERE id = ?', [item.quantity, product.id]);
		}
		await tx.run('UPDATE orders SET total_cents = (SELECT sum(quantity * price_cents) FROM order_items WHERE order_id = ?) WHERE id = ?', [
			orderId,
			orderId
		]);
		return orderId;
	});
}

/** An order with its customer's name and its items, or null. */
export async function orderWithItems(db: DatabaseClient, id: number) {
	return db.transaction(async (tx) => {
		const order = await tx.queryOne<Order & { customer: string | null }>(
			`SELECT o.id, o.user_id, o.total_cents, o.status, o.created_at, u.name AS customer
			 FROM orders o LEFT JOIN users u ON u.id = o.user_id WHERE o.id = ?`,
			[id]
		);
		if (!order) return null;
		const items = await tx.query<OrderItem>(
			`SELECT i.product_id, p.name, i.quantity, i.price_cents
			 FROM order_items i JOIN products p ON p.id = i.product_id WHERE i.order_id = ? ORDER BY i.id`,
			[id]
		);
		return { order, items };
	});
}
