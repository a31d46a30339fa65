// api.test.js — the JSON routes under /api/users and the CSV export, through the
// browser context's own request client (its tenant header and cookies), plus the
// export downloaded by the browser as a file.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startApp } from './harness.js';

/** @type {Awaited<ReturnType<typeof startApp>>} */
let app;
before(async () => { app = await startApp('api'); });
after(() => app?.stop());

const ADA = { id: 1, name: 'Ada Lovelace', email: 'ada@example.com' };
const ALAN = { id: 2, name: 'Alan Turing', email: 'alan@example.com' };
const DUPLICATE = 'A user with this email already exists';

/** The fields a test can know (created_at is the server's clock). */
const known = ({ id, name, email }) => ({ id, name, email });

/**
 * A request client for TENANT (the X-Tenant-ID header of a fresh browser context).
 * @param {import('node:test').TestContext} t
 */
async function api(t, tenant) {
  return (await app.newContext(t, { tenant })).request;
}

/** @param {import('playwright-core').APIResponse} res */
async function errorOf(res) {
  const body = await res.json();
  assert.equal(typeof body.error, 'string', `an {error} body: ${JSON.stringify(body)}`);
  return body.error;
}

test('GET /api/users: list, limit, offset, q, total; bad parameters are 400', async (t) => {
  const request = await api(t, 'api-list');
  let res = await request.get('/api/users');
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'] ?? '', /^application\/json/);
  let body = await res.json();
  assert.equal(body.total, 2);
  assert.deepEqual(body.users.map(known), [ADA, ALAN]);
  assert.equal(typeof body.users[0].created_at, 'string');

  body = await (await request.get('/api/users?limit=1')).json();
  assert.deepEqual([body.users.map(known), body.total], [[ADA], 2]);
  body = await (await request.get('/api/users?limit=1&offset=1')).json();
  assert.deepEqual([body.users.map(known), body.total], [[ALAN], 2]);
  body = await (await request.get('/api/users?offset=5')).json();
  assert.deepEqual([body.users, body.total], [[], 2]);
  body = await (await request.get('/api/users?q=turing')).json();
  assert.deepEqual([body.users.map(known), body.total], [[ALAN], 1]);
  body = await (await request.get('/api/users?q=ada%40')).json();
  assert.deepEqual([body.users.map(known), body.total], [[ADA], 1], 'q matches emails too');
  body = await (await request.get(`/api/users?q=${encodeURIComponent('%')}`)).json();
  assert.deepEqual([body.users, body.total], [[], 0], 'q is text, not a LIKE pattern');

  res = await request.get('/api/users?limit=1000');
  assert.equal(res.status(), 200, 'a limit above 100 is clamped, not refused');
  assert.equal((await res.json()).total, 2);

  for (const bad of ['limit=abc', 'limit=-1', 'limit=0', 'offset=-1', 'offset=x', 'limit=1.5']) {
    res = await request.get(`/api/users?${bad}`);
    assert.equal(res.status(), 400, bad);
    await errorOf(res);
  }
});

test('POST /api/users: 201 with Location; 400 for invalid input; 409 for a duplicate email', async (t) => {
  const request = await api(t, 'api-create');
  let res = await request.post('/api/users', { data: { name: 'Grace Hopper', email: 'grace@example.com' } });
  assert.equal(res.status(), 201);
  const grace = await res.json();
  assert.deepEqual(known(grace), { id: 3, name: 'Grace Hopper', email: 'grace@example.com' });
  assert.equal(typeof grace.created_at, 'string');
  assert.equal(res.headers().location, '/api/users/3');

  const invalid = [
    [{ name: '', email: 'x@example.com' }, 'Name is required'],
    [{ name: 'No Email', email: 'not-an-email' }, 'Email is invalid'],
    [{ email: 'missing-name@example.com' }, 'Name is required'],
  ];
  for (const [data, message] of invalid) {
    res = await request.post('/api/users', { data });
    assert.equal(res.status(), 400, JSON.stringify(data));
    assert.equal(await errorOf(res), message);
  }
  for (const data of ['{not json', '[1, 2]', 'null']) {
    res = await request.post('/api/users', { data, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status(), 400, `body ${data}`);
    await errorOf(res);
  }

  res = await request.post('/api/users', { data: { name: 'Ada Again', email: 'ada@example.com' } });
  assert.equal(res.status(), 409);
  assert.equal(await errorOf(res), DUPLICATE);

  const list = await (await request.get('/api/users')).json();
  assert.equal(list.total, 3, 'only Grace was inserted');
});

test('GET, PATCH and DELETE /api/users/<id>: 200, 204 and 404', async (t) => {
  const request = await api(t, 'api-item');
  let res = await request.get('/api/users/1');
  assert.equal(res.status(), 200);
  assert.deepEqual(known(await res.json()), ADA);

  for (const missing of ['/api/users/999', '/api/users/abc']) {
    res = await request.get(missing);
    assert.equal(res.status(), 404, missing);
    await errorOf(res);
  }

  res = await request.patch('/api/users/2', { data: { name: 'Alan M. Turing' } });
  assert.equal(res.status(), 200);
  assert.deepEqual(known(await res.json()), { ...ALAN, name: 'Alan M. Turing' });
  res = await request.patch('/api/users/2', { data: { email: 'turing@example.com' } });
  assert.equal(res.status(), 200);
  assert.deepEqual(known(await res.json()), { id: 2, name: 'Alan M. Turing', email: 'turing@example.com' });
  assert.deepEqual(known(await (await request.get('/api/users/2')).json()),
    { id: 2, name: 'Alan M. Turing', email: 'turing@example.com' }, 'the change is stored');

  res = await request.patch('/api/users/2', { data: { email: 'ada@example.com' } });
  assert.equal(res.status(), 409);
  assert.equal(await errorOf(res), DUPLICATE);
  res = await request.patch('/api/users/2', { data: { email: 'nope' } });
  assert.equal(res.status(), 400);
  res = await request.patch('/api/users/2', { data: { name: '   ' } });
  assert.equal(res.status(), 400);
  res = await request.patch('/api/users/999', { data: { name: 'Nobody' } });
  assert.equal(res.status(), 404);
  assert.deepEqual(known(await (await request.get('/api/users/2')).json()),
    { id: 2, name: 'Alan M. Turing', email: 'turing@example.com' }, 'failed patches changed nothing');

  res = await request.delete('/api/users/2');
  assert.equal(res.status(), 204);
  assert.equal((await res.body()).length, 0);
  assert.equal((await request.get('/api/users/2')).status(), 404);
  assert.equal((await request.delete('/api/users/2')).status(), 404);
  const list = await (await request.get('/api/users')).json();
  assert.deepEqual([list.users.map(known), list.total], [[ADA], 1]);
});

test('GET /api/export/users: CSV with RFC 4180 quoting, as a download', async (t) => {
  const context = await app.newContext(t, { tenant: 'api-export' });
  const tricky = { name: 'Doe, "Jane"', email: 'jane@example.com' };
  assert.equal((await context.request.post('/api/users', { data: tricky })).status(), 201);

  const res = await context.request.get('/api/export/users');
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['content-type'], 'text/csv; charset=utf-8');
  assert.equal(res.headers()['content-disposition'], 'attachment; filename="users.csv"');
  assert.equal(res.headers()['content-length'], undefined, 'streamed: no length known up front');
  const csv = await res.text();
  assert.doesNotMatch(csv, /[^\r]\n/, 'every line ends with CRLF (RFC 4180)');
  const lines = csv.split('\r\n');
  assert.equal(lines.pop(), '', 'the file ends with a line break');
  assert.equal(lines[0], 'id,name,email,created_at');
  assert.equal(lines.length, 4);
  assert.match(lines[1], /^1,Ada Lovelace,ada@example\.com,[^,]+$/);
  assert.match(lines[2], /^2,Alan Turing,alan@example\.com,[^,]+$/);
  assert.match(lines[3], /^3,"Doe, ""Jane""",jane@example\.com,[^,]+$/);

  // The browser saves it as users.csv, with the same content.
  const page = await context.newPage();
  await page.goto('/users');
  const downloading = page.waitForEvent('download');
  await page.evaluate(() => {
    const a = document.createElement('a');
    a.href = '/api/export/users';
    document.body.append(a);
    a.click();
  });
  const download = await downloading;
  assert.equal(download.suggestedFilename(), 'users.csv');
  const path = await download.path();
  assert.equal(readFileSync(path, 'utf8'), csv);
});
