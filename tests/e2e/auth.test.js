// auth.test.js — /signup, /login, /logout and the protected /dashboard: the session
// cookie's attributes, the redirect back after login (same-origin paths only), and the
// form errors. Accounts and sessions live in the tenant's database.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, open, hydrated, noValidate, screenshot, submit, textOf, eventually } from './harness.js';

/** @type {Awaited<ReturnType<typeof startApp>>} */
let app;
before(async () => { app = await startApp('auth'); });
after(() => app?.stop());

const PASSWORD = 'correct horse battery staple';

/**
 * Fill and submit the email/password form of the current page.
 * @param {import('playwright-core').Page} page
 */
async function submitAccount(page, email, password, button) {
  await noValidate(page);
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(password);
  return submit(page, button);
}

/** @param {import('playwright-core').BrowserContext} context */
async function sessionCookie(context) {
  return (await context.cookies()).find((c) => c.name === 'session');
}

/** @param {import('playwright-core').Page} page */
function onPath(page, path) {
  return page.waitForURL((url) => url.pathname === path);
}

test('/dashboard without a session redirects (303) to /login?redirectTo=/dashboard', async (t) => {
  const context = await app.newContext(t, { tenant: 'auth-redirect' });
  const res = await context.request.get('/dashboard', { maxRedirects: 0 });
  assert.equal(res.status(), 303);
  const location = new URL(res.headers().location ?? '', app.baseURL);
  assert.equal(location.pathname, '/login');
  assert.equal(location.searchParams.get('redirectTo'), '/dashboard');

  const page = await context.newPage();
  await page.goto('/dashboard');
  const url = new URL(page.url());
  assert.equal(url.pathname, '/login');
  assert.equal(url.searchParams.get('redirectTo'), '/dashboard');
});

for (const js of [true, false]) {
  const how = js ? 'with JavaScript' : 'without JavaScript';
  const tenant = `auth-${js ? 'js' : 'nojs'}`;

  test(`sign up, dashboard, log out, log in again ${how}`, async (t) => {
    const context = await app.newContext(t, { js, tenant });
    const page = await context.newPage();
    await open(page, '/signup');

    await submitAccount(page, 'short@example.com', 'seven77', 'Sign up');
    await eventually(async () => assert.equal(await textOf(page.getByTestId('form-error')), 'Password must be at least 8 characters'));
    assert.equal(await sessionCookie(context), undefined);

    let res = await submitAccount(page, 'grace@example.com', PASSWORD, 'Sign up');
    if (!js) assert.equal(res.status(), 303);
    await onPath(page, '/dashboard');
    assert.equal(await eventually(() => textOf(page.locator('h1'))), 'Dashboard');
    assert.match(await textOf(page.locator('main')), /Signed in as grace@example\.com/);
    assert.equal(await textOf(page.getByTestId('stat-users')), '2');
    assert.equal(await textOf(page.getByTestId('stat-posts')), '25');
    assert.equal(await textOf(page.getByTestId('stat-orders')), '0');
    if (js) await screenshot(page, 'dashboard');

    const cookie = await sessionCookie(context);
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.path, '/');
    assert.ok(cookie.value.length >= 16, 'an unguessable token');

    if (js) await hydrated(page);
    res = await submit(page, 'Log out');
    if (!js) assert.equal(res.status(), 303);
    await onPath(page, '/login');
    assert.equal(await sessionCookie(context), undefined, 'the cookie is cleared');
    // The old token is dead on the server too, not only forgotten by the browser.
    const replay = await context.request.get('/dashboard', {
      maxRedirects: 0, headers: { Cookie: `session=${cookie.value}` },
    });
    assert.equal(replay.status(), 303, 'the logged-out session no longer opens the dashboard');

    await page.goto('/dashboard');
    await onPath(page, '/login');
    if (js) await hydrated(page);
    const failed = await submitAccount(page, 'grace@example.com', 'wrong password', 'Log in');
    if (!js) assert.equal(failed.status(), 400, 'a failed login is fail(400)');
    await eventually(async () => assert.equal(await textOf(page.getByTestId('form-error')), 'Invalid email or password'));
    await submitAccount(page, 'nobody@example.com', PASSWORD, 'Log in');
    await eventually(async () => assert.equal(await textOf(page.getByTestId('form-error')), 'Invalid email or password'));
    assert.equal(await sessionCookie(context), undefined);

    res = await submitAccount(page, 'grace@example.com', PASSWORD, 'Log in');
    if (!js) assert.equal(res.status(), 303);
    await onPath(page, '/dashboard');
    assert.match(await eventually(() => textOf(page.locator('main'))), /Signed in as grace@example\.com/);
    assert.ok(await sessionCookie(context));
  });
}

test('what was typed before the page was hydrated stays in the sign-up form', async (t) => {
  const page = await app.newPage(t, { tenant: 'auth-early' });
  // A slow network: SvelteKit's start module is held back until the form is filled in.
  let release = () => {};
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/_app/immutable/entry/start.*', async (route) => { await held; await route.continue(); });
  await page.goto('/signup', { waitUntil: 'domcontentloaded' });
  await page.locator('input[name="email"]').fill('early@example.com');
  await page.locator('input[name="password"]').fill(PASSWORD);
  release();
  await hydrated(page);
  assert.equal(await page.locator('input[name="email"]').inputValue(), 'early@example.com');
  await submit(page, 'Sign up');
  await onPath(page, '/dashboard');
  assert.match(await eventually(() => textOf(page.locator('main'))), /Signed in as early@example\.com/);
});

test('signing up twice with one email: "An account with this email already exists"', async (t) => {
  const page = await app.newPage(t, { tenant: 'auth-duplicate' });
  await open(page, '/signup');
  await submitAccount(page, 'dup@example.com', PASSWORD, 'Sign up');
  await onPath(page, '/dashboard');
  await submit(page, 'Log out');
  await onPath(page, '/login');
  await open(page, '/signup');
  await submitAccount(page, 'dup@example.com', 'another password', 'Sign up');
  await eventually(async () => assert.equal(await textOf(page.getByTestId('form-error')), 'An account with this email already exists'));
});

test('login goes back to redirectTo, but never to another origin', async (t) => {
  const context = await app.newContext(t, { tenant: 'auth-redirect-to' });
  const page = await context.newPage();
  await open(page, '/signup');
  await submitAccount(page, 'amy@example.com', PASSWORD, 'Sign up');
  await onPath(page, '/dashboard');
  await context.clearCookies();

  await open(page, '/login?redirectTo=/users');
  await submitAccount(page, 'amy@example.com', PASSWORD, 'Log in');
  await onPath(page, '/users');
  await context.clearCookies();

  // The redirect itself, unfollowed: a browser that followed one would just fail to resolve.
  for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
    const res = await context.request.post(`/login?redirectTo=${encodeURIComponent(evil)}`, {
      form: { email: 'amy@example.com', password: PASSWORD },
      headers: { Origin: app.baseURL, Accept: 'text/html' }, // as a browser's form post
      maxRedirects: 0,
    });
    assert.equal(res.status(), 303, `login with redirectTo=${evil}`);
    const location = new URL(res.headers().location ?? '', app.baseURL);
    assert.equal(location.origin, app.baseURL, `redirectTo=${evil} stays on the site (Location: ${res.headers().location})`);
  }
});

test('a session is good only in its own tenant', async (t) => {
  const context = await app.newContext(t, { tenant: 'auth-tenant-a' });
  const page = await context.newPage();
  await open(page, '/signup');
  await submitAccount(page, 'ten@example.com', PASSWORD, 'Sign up');
  await onPath(page, '/dashboard');

  await context.setExtraHTTPHeaders({ 'X-Tenant-ID': 'auth-tenant-b' });
  await page.goto('/dashboard');
  await onPath(page, '/login');
});
