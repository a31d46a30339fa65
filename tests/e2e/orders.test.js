// orders.test.js — the guide's /orders and its `checkout` action: a cart of several
// products placed in one interactive transaction (the order inserted, then per item
// the stock checked, the item inserted, the stock decremented), then a redirect to
// /orders/<id>/confirmation. A product short of stock refuses the whole cart: the
// error shown, no order, and no stock taken, not even the items before it.
// Seed: Widget $5.00 with 3 in stock, Gadget $15.00 with 0; customers Ada and Alan.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApp, open, hydrated, markDocument, documentKept, screenshot, submit, texts, textOf, eventually,
} from './harness.js';

/** @type {Awaited<ReturnType<typeof startApp>>} */
let app;
before(async () => { app = await startApp('orders'); });
after(() => app?.stop());

/**
 * The /orders page: each product's stock, and the recent orders' rows.
 * @param {import('playwright-core').Page} page
 */
async function ordersPage(page) {
  return {
    stock: await texts(page.getByTestId('stock')),
    orders: await texts(page.getByTestId('order-row')),
  };
}

/**
 * Fill the cart form (customer name, quantity per product name) and press "Place order".
 * @param {import('playwright-core').Page} page
 * @param {string} customer
 * @param {Record<string, number>} quantities
 */
async function placeOrder(page, customer, quantities) {
  await page.locator('select[name="user_id"]').selectOption({ label: customer });
  for (const name of ['Widget', 'Gadget']) {
    await page.getByLabel(`Quantity of ${name}`).fill(String(quantities[name] ?? 0));
  }
  return submit(page, 'Place order');
}

for (const js of [true, false]) {
  const how = js ? 'with JavaScript' : 'without JavaScript';

  test(`orders checkout ${how}: order created, stock decremented, redirected to its confirmation`, async (t) => {
    const page = await app.newPage(t, { js, tenant: `orders-ok-${js ? 'js' : 'nojs'}` });
    await open(page, '/orders');
    if (js) await markDocument(page);
    assert.deepEqual(await ordersPage(page), { stock: ['3', '0'], orders: [] });
    assert.equal(await page.getByTestId('no-orders').count(), 1);

    const res = await placeOrder(page, 'Alan Turing', { Widget: 2 });
    if (!js) {
      assert.equal(res.status(), 303);
      assert.equal(res.headers().location, '/orders/1/confirmation');
    }
    await page.waitForURL((url) => url.pathname === '/orders/1/confirmation');
    if (js) assert.equal(await documentKept(page), true, 'a client-side redirect (use:enhance)');
    await eventually(async () => assert.equal(await textOf(page.locator('h1')), 'Order #1 confirmed'));
    assert.equal(await textOf(page.getByTestId('order-customer')), 'Alan Turing');
    assert.equal(await textOf(page.getByTestId('order-status')), 'pending');
    assert.deepEqual(await texts(page.getByTestId('order-item')), ['Widget 2 $5.00 $10.00']);
    assert.equal(await textOf(page.getByTestId('order-total')), '$10.00');
    if (js) await screenshot(page, 'order-confirmation');

    // Stock taken, the order listed (from a fresh GET).
    await page.goto('/orders');
    assert.deepEqual(await ordersPage(page), {
      stock: ['1', '0'],
      orders: ['Order #1: Widget × 2 — $10.00 (Alan Turing, pending)'],
    });

    // The confirmation of an order that does not exist.
    assert.equal((await page.goto('/orders/999/confirmation'))?.status(), 404);
    assert.equal((await page.goto('/orders/abc/confirmation'))?.status(), 404);
  });

  test(`orders checkout ${how}: out of stock fails, shows the error, changes nothing`, async (t) => {
    const page = await app.newPage(t, { js, tenant: `orders-fail-${js ? 'js' : 'nojs'}` });
    await open(page, '/orders');
    if (js) await markDocument(page);
    const error = page.getByTestId('form-error');

    // Widget is in stock and comes first: its item and decrement are written before
    // Gadget's check fails, and must be rolled back with the order row.
    let res = await placeOrder(page, 'Ada Lovelace', { Widget: 1, Gadget: 1 });
    if (!js) assert.equal(res.status(), 400);
    await eventually(async () => assert.equal(await textOf(error), 'Insufficient stock for Gadget'));
    assert.equal(new URL(page.url()).pathname, '/orders', 'no redirect');
    assert.deepEqual(await ordersPage(page), { stock: ['3', '0'], orders: [] });
    // The refused cart is still in the form.
    assert.equal(await page.getByLabel('Quantity of Widget').inputValue(), '1');
    assert.equal(await page.getByLabel('Quantity of Gadget').inputValue(), '1');
    if (js) await screenshot(page, 'orders-error');

    res = await placeOrder(page, 'Ada Lovelace', { Widget: 4 });
    if (!js) assert.equal(res.status(), 400);
    await eventually(async () => assert.equal(await textOf(error), 'Insufficient stock for Widget'));

    res = await placeOrder(page, 'Ada Lovelace', {});
    if (!js) assert.equal(res.status(), 400);
    await eventually(async () => assert.equal(await textOf(error), 'Cart is empty'));
    if (js) assert.equal(await documentKept(page), true, 'the refusals came without a page load');

    // Nothing was written: a fresh load shows the seed's stock and no order.
    await page.goto('/orders');
    assert.deepEqual(await ordersPage(page), { stock: ['3', '0'], orders: [] });

    // And the database is fine afterwards: the next order goes through, as order #1.
    if (js) await hydrated(page);
    await placeOrder(page, 'Ada Lovelace', { Widget: 3 });
    await page.waitForURL((url) => url.pathname === '/orders/1/confirmation');
    await eventually(async () => assert.equal(await textOf(page.getByTestId('order-total')), '$15.00'));
    await page.goto('/orders');
    assert.deepEqual(await ordersPage(page), {
      stock: ['0', '0'],
      orders: ['Order #1: Widget × 3 — $15.00 (Ada Lovelace, pending)'],
    });
  });
}

test('two orders at once for the last units: exactly one wins', async (t) => {
  const context = await app.newContext(t, { tenant: 'orders-race' });
  const page = await context.newPage();
  await page.goto('/orders');
  // Two form posts racing for 2 + 2 of 3 Widgets (as a browser without JavaScript posts).
  const post = () => context.request.post('/orders?/checkout', {
    form: { user_id: '1', product_id: '1', quantity: '2' },
    headers: { Origin: app.baseURL, Accept: 'text/html' },
    maxRedirects: 0,
  });
  const statuses = (await Promise.all([post(), post()])).map((r) => r.status()).sort();
  assert.deepEqual(statuses, [303, 400]);
  await page.reload();
  assert.deepEqual(await ordersPage(page), {
    stock: ['1', '0'],
    orders: ['Order #1: Widget × 2 — $10.00 (Ada Lovelace, pending)'],
  });
});
