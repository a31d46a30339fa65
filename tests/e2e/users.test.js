// users.test.js — /users, /users/new and /users/<id> in a real browser, with
// JavaScript (use:enhance, client-side navigation) and without (plain HTML forms).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApp, open, hydrated, markDocument, documentKept, noValidate, screenshot, submit, texts, textOf, eventually,
} from './harness.js';

/** @type {Awaited<ReturnType<typeof startApp>>} */
let app;
before(async () => { app = await startApp('users'); });
after(() => app?.stop());

const SEED = ['Ada Lovelace ada@example.com', 'Alan Turing alan@example.com'];

test('home page links to every part of the example', async (t) => {
  const page = await app.newPage(t, { tenant: 'users-home' });
  const res = await page.goto('/');
  assert.equal(res?.status(), 200);
  for (const name of ['Users', 'Posts', 'Search', 'Comments', 'Dashboard', 'Orders', 'Checkout', 'Live users', 'Tenant acme', 'Login']) {
    assert.equal(await page.getByRole('link', { name, exact: true }).count() > 0, true, `a link "${name}"`);
  }
});

test('users list shows the seeded users; a name leads to the user page', async (t) => {
  // The default tenant of a fresh server: exactly the seed, so users.png (committed,
  // embedded in examples/sveltekit/README.md) comes out the same on every run.
  const page = await app.newPage(t);
  const res = await page.goto('/users');
  assert.equal(res?.status(), 200);
  const rows = page.getByTestId('user-row');
  assert.deepEqual(await texts(rows), SEED);
  assert.equal(await page.getByRole('link', { name: 'New user' }).getAttribute('href'), '/users/new');
  await screenshot(page, 'users');

  await hydrated(page);
  await rows.first().getByRole('link', { name: 'Ada Lovelace' }).click();
  await page.waitForURL('**/users/1');
  assert.equal(await textOf(page.locator('h1')), 'Ada Lovelace');
  const posts = await texts(page.getByTestId('post-row'));
  assert.ok(posts.includes('Post 1') && posts.includes('Post 20'), `Ada's posts: ${posts.join(', ')}`);
  await screenshot(page, 'user');

  await page.goto('/users/2');
  assert.equal(await textOf(page.locator('h1')), 'Alan Turing');
  assert.equal(await page.getByTestId('post-row').count(), 0);

  const missing = await page.goto('/users/999');
  assert.equal(missing?.status(), 404);
});

for (const js of [true, false]) {
  const how = js ? 'with JavaScript' : 'without JavaScript';
  const tenant = js ? 'users-js' : 'users-nojs';

  test(`create a user ${how}: redirect to the new user's page, listed after`, async (t) => {
    const page = await app.newPage(t, { js, tenant });
    await open(page, '/users');
    if (js) await markDocument(page);
    await page.getByRole('link', { name: 'New user' }).click();
    await page.waitForURL('**/users/new');
    await page.locator('input[name="name"]').fill('Grace Hopper');
    await page.locator('input[name="email"]').fill('grace@example.com');
    const res = await submit(page, 'Create user');
    if (!js) assert.equal(res.status(), 303, 'a redirect after the POST');
    await page.waitForURL('**/users/3');
    assert.equal(await eventually(() => textOf(page.locator('h1'))), 'Grace Hopper');
    // With JavaScript the whole flow stayed in one document (enhanced form, client-side
    // redirect); without, every step was a page load.
    if (js) assert.equal(await documentKept(page), true, 'no full page load with JavaScript');

    await page.goto('/users');
    assert.deepEqual(await texts(page.getByTestId('user-row')), [...SEED, 'Grace Hopper grace@example.com']);
  });

  test(`user form ${how}: validation errors and the duplicate email, values kept`, async (t) => {
    const page = await app.newPage(t, { js, tenant: `${tenant}-errors` });
    await open(page, '/users/new');
    if (js) await markDocument(page);
    await noValidate(page); // reach the server's validation, not the browser's
    const name = page.locator('input[name="name"]');
    const email = page.locator('input[name="email"]');
    const error = page.getByTestId('form-error');

    const cases = [
      { name: '', email: 'nobody@example.com', error: 'Name is required', status: 400 },
      { name: 'No Email', email: 'not-an-email', error: 'Email is invalid', status: 400 },
      { name: 'Ada Again', email: 'ada@example.com', error: 'A user with this email already exists', status: 409 },
    ];
    for (const c of cases) {
      await name.fill(c.name);
      await email.fill(c.email);
      const res = await submit(page, 'Create user');
      // Without JavaScript the POST answers the page itself, with fail()'s status.
      if (!js) assert.equal(res.status(), c.status, `status for "${c.error}"`);
      await eventually(async () => assert.equal(await textOf(error), c.error));
      assert.equal(await name.inputValue(), c.name, 'name kept');
      assert.equal(await email.inputValue(), c.email, 'email kept');
      if (!js) await noValidate(page); // a new document
    }
    if (js) assert.equal(await documentKept(page), true, 'errors shown without a page load');

    await page.goto('/users');
    assert.deepEqual(await texts(page.getByTestId('user-row')), SEED, 'nothing was inserted');
  });
}
