// checkout.test.js — /checkout: an order reads the stock, decrements it and inserts
// the order in one interactive transaction; too few in stock is a 400 and changes
// nothing. Seed: Widget 3 in stock, Gadget 0.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, open, markDocument, documentKept, screenshot, submit, texts, textOf, eventually } from './harness.js';

/** @type {Awaited<ReturnType<typeof startApp>>} */
let app;
before(async () => { app = await startApp('checkout'); });
after(() => app?.stop());

/**
 * "Name — N in stock" for each product (whatever else a row shows, such as the price).
 * @param {import('playwright-core').Page} page
 */
async function stock(page) {
  return (await texts(page.getByTestId('product'))).map((s) => s.match(/^.*? in stock/)?.[0] ?? s);
}

for (const js of [true, false]) {
  const how = js ? 'with JavaScript' : 'without JavaScript';

  test(`checkout ${how}: orders take stock, insufficient stock is refused`, async (t) => {
    const page = await app.newPage(t, { js, tenant: `checkout-${js ? 'js' : 'nojs'}` });
    await open(page, '/checkout');
    if (js) await markDocument(page);
    assert.deepEqual(await stock(page), ['Widget — 3 in stock', 'Gadget — 0 in stock']);

    /** Buy and return the POST's status (the page's own without JavaScript). */
    const buy = async (productId, quantity) => {
      await page.locator('select[name="productId"]').selectOption(String(productId));
      await page.locator('input[name="quantity"]').fill(String(quantity));
      return (await submit(page, 'Buy')).status();
    };
    const success = page.getByTestId('checkout-success');
    const error = page.getByTestId('form-error');

    let status = await buy(1, 2);
    if (!js) assert.equal(status, 200);
    await eventually(async () => assert.equal(await textOf(success), 'Order #1 placed'));
    await eventually(async () => assert.deepEqual(await stock(page), ['Widget — 1 in stock', 'Gadget — 0 in stock']));
    if (js) await screenshot(page, 'checkout');

    status = await buy(1, 2);
    if (!js) assert.equal(status, 400);
    await eventually(async () => assert.equal(await textOf(error), 'Insufficient stock for Widget'));
    assert.equal(await success.count(), 0, 'no success message beside the error');
    assert.deepEqual(await stock(page), ['Widget — 1 in stock', 'Gadget — 0 in stock']);

    status = await buy(2, 1);
    if (!js) assert.equal(status, 400);
    await eventually(async () => assert.equal(await textOf(error), 'Insufficient stock for Gadget'));
    assert.deepEqual(await stock(page), ['Widget — 1 in stock', 'Gadget — 0 in stock']);

    status = await buy(1, 1);
    if (!js) assert.equal(status, 200);
    await eventually(async () => assert.equal(await textOf(success), 'Order #2 placed'));
    await eventually(async () => assert.deepEqual(await stock(page), ['Widget — 0 in stock', 'Gadget — 0 in stock']));
    if (js) assert.equal(await documentKept(page), true, 'the orders were placed without a page load');

    // The orders are there: the dashboard counts them (through a fresh account).
    await open(page, '/signup');
    await page.locator('input[name="email"]').fill('buyer@example.com');
    await page.locator('input[name="password"]').fill('correct horse battery');
    await submit(page, 'Sign up');
    await page.waitForURL((url) => url.pathname === '/dashboard');
    assert.equal(await eventually(() => textOf(page.getByTestId('stat-orders'))), '2');
  });
}

test('two checkouts at once for the last units: exactly one wins', async (t) => {
  const context = await app.newContext(t, { tenant: 'checkout-race' });
  const page = await context.newPage();
  await page.goto('/checkout');
  // Two form posts (as a browser without JavaScript sends them) racing for 2 + 2 of 3.
  const post = () => context.request.post('/checkout', {
    form: { productId: '1', quantity: '2' },
    // As a browser posts a form: SvelteKit's CSRF check wants the page's origin, and
    // without Accept: text/html it would answer the action as JSON (always 200).
    headers: { Origin: app.baseURL, Accept: 'text/html' },
    maxRedirects: 0,
  });
  const results = await Promise.all([post(), post()]);
  const statuses = results.map((r) => r.status()).sort();
  assert.deepEqual(statuses, [200, 400], `statuses ${statuses}`);
  const bodies = await Promise.all(results.map((r) => r.text()));
  assert.equal(bodies.filter((b) => b.includes('Insufficient stock for Widget')).length, 1);
  assert.equal(bodies.filter((b) => /Order #\d+ placed/.test(b)).length, 1);
  await page.reload();
  assert.deepEqual(await stock(page), ['Widget — 1 in stock', 'Gadget — 0 in stock']);
});
