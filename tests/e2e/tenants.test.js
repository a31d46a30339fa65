// tenants.test.js — each tenant is a database of its own: a user created in one is
// not seen by another, whether the tenant comes from the path (/tenant/<slug>/...),
// the X-Tenant-ID header or a subdomain (acme.localhost); the path wins over the
// header, and plain localhost is the default tenant. Under /tenant/<slug>/, the
// guide's tenant layout (+layout.server.ts) frames every page with that tenant's name
// and figures.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, open, screenshot, submit, texts, textOf, eventually } from './harness.js';

/** @type {Awaited<ReturnType<typeof startApp>>} */
let app;
before(async () => { app = await startApp('tenants'); });
after(() => app?.stop());

const SEED = ['Ada Lovelace ada@example.com', 'Alan Turing alan@example.com'];

/** @param {import('playwright-core').Page} page @param {string} path */
async function usersAt(page, path) {
  const res = await page.goto(path);
  assert.equal(res?.status(), 200, path);
  return texts(page.getByTestId('user-row'));
}

for (const js of [true, false]) {
  const how = js ? 'with JavaScript' : 'without JavaScript';
  const [acme, globex] = js ? ['acme', 'globex'] : ['initech', 'umbrella'];

  test(`tenants by path prefix ${how}: /tenant/${acme}/users/new creates in ${acme} only`, async (t) => {
    const page = await app.newPage(t, { js });
    await open(page, `/tenant/${acme}/users/new`);
    await page.locator('input[name="name"]').fill(`Person of ${acme}`);
    await page.locator('input[name="email"]').fill(`person@${acme}.example`);
    await submit(page, 'Create user');
    await page.waitForURL((url) => url.pathname === `/tenant/${acme}/users`);
    const mine = [...SEED, `Person of ${acme} person@${acme}.example`];
    assert.deepEqual(await texts(page.getByTestId('user-row')), mine);

    assert.deepEqual(await usersAt(page, `/tenant/${globex}/users`), SEED, `not in ${globex}`);
    assert.deepEqual(await usersAt(page, '/users'), SEED, 'not in the default tenant');
    assert.deepEqual(await usersAt(page, `/tenant/${acme}/users`), mine, `still in ${acme}`);
    // The same email is free in another tenant: UNIQUE is per database.
    await open(page, `/tenant/${globex}/users/new`);
    await page.locator('input[name="name"]').fill(`Person of ${globex}`);
    await page.locator('input[name="email"]').fill(`person@${acme}.example`);
    await submit(page, 'Create user');
    await page.waitForURL((url) => url.pathname === `/tenant/${globex}/users`);
    assert.deepEqual(await texts(page.getByTestId('user-row')), [...SEED, `Person of ${globex} person@${acme}.example`]);
  });
}

test('tenants by X-Tenant-ID: pages and API see their own database; the path wins over the header', async (t) => {
  const a = await app.newContext(t, { tenant: 'hdr-a' });
  const b = await app.newContext(t, { tenant: 'hdr-b' });
  const pageA = await a.newPage();
  const pageB = await b.newPage();

  // Created through tenant A's form (header only, no path prefix).
  await open(pageA, '/users/new');
  await pageA.locator('input[name="name"]').fill('Only In A');
  await pageA.locator('input[name="email"]').fill('only@a.example');
  await submit(pageA, 'Create user');
  await pageA.waitForURL('**/users/3');

  assert.deepEqual(await usersAt(pageA, '/users'), [...SEED, 'Only In A only@a.example']);
  assert.deepEqual(await usersAt(pageB, '/users'), SEED);
  assert.equal((await pageB.goto('/users/3'))?.status(), 404, "A's user 3 is not B's");

  // The API honours the header too.
  const inA = await (await a.request.get('/api/users?q=only')).json();
  const inB = await (await b.request.get('/api/users?q=only')).json();
  assert.deepEqual([inA.total, inB.total], [1, 0]);
  assert.equal((await b.request.get('/api/users/3')).status(), 404);
  assert.equal((await b.request.post('/api/users', { data: { name: 'Only In B', email: 'only@b.example' } })).status(), 201);
  assert.deepEqual((await (await a.request.get('/api/users?q=only')).json()).users.map((u) => u.name), ['Only In A']);
  assert.deepEqual((await (await b.request.get('/api/users?q=only')).json()).users.map((u) => u.name), ['Only In B']);

  // Path and header together: the path decides. B's context reads A by path.
  assert.deepEqual(await usersAt(pageB, '/tenant/hdr-a/users'), [...SEED, 'Only In A only@a.example']);
  // The header and the path prefix name the same databases.
  assert.deepEqual(await usersAt(pageA, '/tenant/hdr-b/users'), [...SEED, 'Only In B only@b.example']);
});

test('tenants by subdomain: <slug>.localhost is its own tenant, localhost the default', async (t) => {
  const page = await app.newPage(t);
  const sub = app.baseURL.replace('//localhost:', '//sub-a.localhost:');
  await open(page, `${sub}/users/new`);
  await page.locator('input[name="name"]').fill('Of The Subdomain');
  await page.locator('input[name="email"]').fill('sub@a.example');
  await submit(page, 'Create user');
  await page.waitForURL(`${sub}/users/3`);
  const mine = [...SEED, 'Of The Subdomain sub@a.example'];
  assert.deepEqual(await usersAt(page, `${sub}/users`), mine);
  assert.deepEqual(await usersAt(page, `${app.baseURL}/tenant/sub-a/users`), mine, 'the same database as /tenant/sub-a');
  assert.deepEqual(await usersAt(page, `${app.baseURL}/users`), SEED, 'localhost is the default tenant');
  assert.deepEqual(await usersAt(page, `${app.baseURL.replace('//localhost:', '//sub-b.localhost:')}/users`), SEED);
});

test('tenant slugs: case-folded; anything else is a 400', async (t) => {
  const context = await app.newContext(t, { tenant: 'CaSe-Folded' });
  assert.equal((await context.request.post('/api/users', { data: { name: 'Folded', email: 'fold@example.com' } })).status(), 201);
  const page = await context.newPage();
  assert.deepEqual(await usersAt(page, '/tenant/case-folded/users'), [...SEED, 'Folded fold@example.com']);

  for (const bad of ['not valid!', '-leading-dash', 'x'.repeat(129)]) {
    const res = await context.request.get('/api/users', { headers: { 'X-Tenant-ID': bad } });
    assert.equal(res.status(), 400, `X-Tenant-ID: ${bad}`);
    assert.equal(typeof (await res.json()).error, 'string');
  }
  const res = await page.goto('/tenant/bad%20slug/users');
  assert.equal(res?.status(), 400);
});

/**
 * What the tenant layout shows: its tenant's name and figures.
 * @param {import('playwright-core').Page} page
 */
async function layout(page) {
  return { name: await textOf(page.getByTestId('tenant-name')), stats: await textOf(page.getByTestId('tenant-stats')) };
}

test('tenant layout: /tenant/<slug> and the pages below it show only that tenant\'s data', async (t) => {
  const page = await app.newPage(t);
  await open(page, '/tenant/layout-a');
  assert.deepEqual(await layout(page), { name: 'layout-a', stats: '2 users · 25 posts · 0 orders' });
  assert.equal(await textOf(page.locator('h1')), 'Tenant layout-a');

  // A user and an order in tenant layout-a: the user through the layout's own "New
  // user" page, the order through /orders with the tenant's header.
  await page.getByRole('link', { name: 'New user', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/tenant/layout-a/users/new');
  assert.deepEqual(await layout(page), { name: 'layout-a', stats: '2 users · 25 posts · 0 orders' });
  await page.locator('input[name="name"]').fill('Only In Layout A');
  await page.locator('input[name="email"]').fill('only@layout-a.example');
  await submit(page, 'Create user');
  await page.waitForURL((url) => url.pathname === '/tenant/layout-a/users');
  await eventually(async () => assert.deepEqual(await layout(page), { name: 'layout-a', stats: '3 users · 25 posts · 0 orders' }));
  assert.deepEqual(await texts(page.getByTestId('user-row')), [...SEED, 'Only In Layout A only@layout-a.example']);
  const order = await page.request.post('/orders?/checkout', {
    form: { user_id: '3', product_id: '1', quantity: '1' },
    headers: { Origin: app.baseURL, Accept: 'text/html', 'X-Tenant-ID': 'layout-a' },
    maxRedirects: 0,
  });
  assert.equal(order.status(), 303);

  await page.getByRole('link', { name: 'Overview', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/tenant/layout-a');
  await eventually(async () => assert.deepEqual(await layout(page), { name: 'layout-a', stats: '3 users · 25 posts · 1 orders' }));
  assert.deepEqual(await texts(page.getByTestId('user-row')),
    ['Only In Layout A only@layout-a.example', 'Alan Turing alan@example.com', 'Ada Lovelace ada@example.com']);
  await screenshot(page, 'tenant');

  // Tenant layout-b: its own figures and rows, nothing of layout-a's.
  await page.goto('/tenant/layout-b');
  assert.deepEqual(await layout(page), { name: 'layout-b', stats: '2 users · 25 posts · 0 orders' });
  assert.deepEqual(await texts(page.getByTestId('user-row')), ['Alan Turing alan@example.com', 'Ada Lovelace ada@example.com']);
  await page.goto('/tenant/layout-b/users');
  assert.deepEqual(await layout(page), { name: 'layout-b', stats: '2 users · 25 posts · 0 orders' });
  assert.deepEqual(await texts(page.getByTestId('user-row')), SEED);

  // The path decides, whatever the header or the subdomain say (the guide's hook put
  // the subdomain first: these would have shown layout-b's rows under layout-a's name).
  const other = await app.newPage(t, { tenant: 'layout-b' });
  await other.goto('/tenant/layout-a/users');
  assert.deepEqual(await layout(other), { name: 'layout-a', stats: '3 users · 25 posts · 1 orders' });
  assert.deepEqual(await texts(other.getByTestId('user-row')), [...SEED, 'Only In Layout A only@layout-a.example']);
  await other.goto(`${app.baseURL.replace('//localhost:', '//layout-b.localhost:')}/tenant/layout-a`);
  assert.deepEqual(await layout(other), { name: 'layout-a', stats: '3 users · 25 posts · 1 orders' });

  // Below the layout, a slug that is not one is refused before any page runs.
  assert.equal((await page.goto('/tenant/-bad'))?.status(), 400);
});
