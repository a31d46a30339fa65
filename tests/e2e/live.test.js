// live.test.js — /users/live: the server renders the users, then an EventSource on
// /api/events/users (the change stream of the tenant's users table) appends users
// inserted elsewhere — from a second tab's form, from the API — without a reload,
// and only the tenant's own.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, open, markDocument, documentKept, screenshot, submit, texts, textOf, eventually } from './harness.js';

/** @type {Awaited<ReturnType<typeof startApp>>} */
let app;
before(async () => { app = await startApp('live'); });
after(() => app?.stop());

const SEED = ['Ada Lovelace', 'Alan Turing'];

test('the live page receives users inserted from another tab and from the API, without a reload', async (t) => {
  const context = await app.newContext(t, { tenant: 'live' });
  const live = await context.newPage();
  await live.goto('/users/live');
  assert.deepEqual(await texts(live.getByTestId('live-user')), SEED);
  await eventually(async () => assert.equal(await textOf(live.getByTestId('live-status')), 'connected'), 15_000);
  await markDocument(live);

  // A second tab of the same browser creates a user through the form.
  const tab = await context.newPage();
  await open(tab, '/users/new');
  await tab.locator('input[name="name"]').fill('From Another Tab');
  await tab.locator('input[name="email"]').fill('tab@example.com');
  await submit(tab, 'Create user');
  await tab.waitForURL('**/users/3');
  await eventually(async () => assert.deepEqual(await texts(live.getByTestId('live-user')), [...SEED, 'From Another Tab']));

  // Another tenant's insert must not arrive; then one through this tenant's API does.
  const other = await app.newContext(t, { tenant: 'live-other' });
  assert.equal((await other.request.post('/api/users', { data: { name: 'Other Tenant', email: 'o@example.com' } })).status(), 201);
  assert.equal((await context.request.post('/api/users', { data: { name: 'From The API', email: 'api@example.com' } })).status(), 201);
  await eventually(async () => assert.deepEqual(await texts(live.getByTestId('live-user')), [...SEED, 'From Another Tab', 'From The API']));

  assert.equal(await documentKept(live), true, 'the page was never reloaded');
  assert.equal(await textOf(live.getByTestId('live-status')), 'connected');
  await screenshot(live, 'live-users');
});

test('without JavaScript the live page still lists the users the server rendered', async (t) => {
  const page = await app.newPage(t, { js: false, tenant: 'live-nojs' });
  const res = await page.goto('/users/live');
  assert.equal(res?.status(), 200);
  assert.deepEqual(await texts(page.getByTestId('live-user')), SEED);
});
