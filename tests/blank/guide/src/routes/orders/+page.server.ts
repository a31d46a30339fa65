// src/routes/orders/+page.server.ts
// The guide's, with its SvelteKit 2 fix (docs/troubleshooting.md): redirect() after the try, not in it
// (SvelteKit 2's redirect is not a Response, so the guide's `instanceof Response` let it be caught).
import { fail, redirect } from '@sveltejs/kit';
import type { Actions } from './$types';

interface CartItem {
  product_id: number;
  quantity: number;
  price: number;
}

export const actions: Actions = {
  checkout: async ({ request, locals }) => {
    const formData = await request.formData();
    const userId = formData.get('user_id')?.toString();
    const cartJson = formData.get('cart')?.toString();

    if (!userId || !cartJson) {
      return fail(400, { error: 'Invalid request' });
    }

    const cart: CartItem[] = JSON.parse(cartJson);

    if (cart.length === 0) {
      return fail(400, { error: 'Cart is empty' });
    }

    let orderId;
    try {
      const total = cart.reduce((sum, item) => sum + item.price * item.quantity, 0);

      // Transaction ensures all-or-nothing
      orderId = await locals.db.transaction(async (tx) => {
        // Create order
        const orderResult = await tx.run(
          `INSERT INTO orders (user_id, total, status, created_at)
           VALUES (?, ?, 'pending', CURRENT_TIMESTAMP)`,
          [userId, total]
        );

        const orderId = orderResult.lastInsertRowId;

        // Add order items and update inventory
        for (const item of cart) {
          // Check stock
          const product = await tx.queryOne<{ stock: number }>(
            'SELECT stock FROM products WHERE id = ?',
            [item.product_id]
          );

          if (!product || product.stock < item.quantity) {
            throw new Error(`Insufficient stock for product ${item.product_id}`);
          }

          // Add order item
          await tx.run(
            `INSERT INTO order_items (order_id, product_id, quantity, price)
             VALUES (?, ?, ?, ?)`,
            [orderId, item.product_id, item.quantity, item.price]
          );

          // Decrement stock
          await tx.run(
            'UPDATE products SET stock = stock - ? WHERE id = ?',
            [item.quantity, item.product_id]
          );
        }

        return orderId;
      });

    } catch (error) {
      return fail(400, { error: (error as Error).message });
    }
    redirect(303, `/orders/${orderId}/confirmation`);
  },
};
