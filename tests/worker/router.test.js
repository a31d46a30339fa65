// The standalone worker (worker-shim/standalone.js, the root wrangler.toml's
// main): /health, the bearer token, forwarding to one object per tenant, tenant
// isolation, and clear errors when it is misconfigured.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createClient as createLibsqlClient } from '@libsql/client/http';
import { startStandalone, createClient } from './harness.js';

const TOKEN = 'test-token-0123456789';

/** @param {any} mf @param {string} tenantName @param {string | null} token */
function clientOf(mf, tenantName, token = TOKEN) {
  return createClient((path, init = {}) =>
    mf.dispatchFetch(`http://localhost/db/${tenantName}${path}`, {
      ...init,
      headers: { ...(init.headers ?? {}), ...(token === null ? {} : { Authorization: `Bearer ${token}` }) },
    }),
  );
}

/** @param {Response} r */
async function answer(r) {
  return { status: r.status, body: await r.json(), type: r.headers.get('content-type') };
}

describe('standalone router', () => {
  /** @type {any} */
  let mf;
  before(async () => {
    mf = await startStandalone({ DOSQL_TOKEN: TOKEN });
  });
  after(() => mf?.dispose());

  test('GET /health is 200 {ok: true} without a token', async () => {
    const a = await answer(await mf.dispatchFetch('http://localhost/health'));
    assert.deepEqual(a, { status: 200, body: { ok: true }, type: 'application/json; charset=utf-8' });
    const posted = await mf.dispatchFetch('http://localhost/health', { method: 'POST', body: '{}' });
    const refused = await posted.json();
    assert.deepEqual([posted.status, posted.headers.get('allow'), refused.code, refused.allow], [405, 'GET, HEAD', 'METHOD_NOT_ALLOWED', 'GET, HEAD']);
  });

  test('the scheme name is case-insensitive, the token is not; spaces or tabs part them, and those at the end are none of it', async () => {
    for (const authorization of [`bearer ${TOKEN}`, `Bearer  ${TOKEN}`, `Bearer\t${TOKEN}`, `Bearer ${TOKEN} `, `BEARER ${TOKEN}\t`]) {
      const a = await answer(await mf.dispatchFetch('http://localhost/db/t/query', { method: 'POST', headers: { Authorization: authorization }, body: JSON.stringify({ sql: 'SELECT 1 AS one' }) }));
      assert.equal(a.status, 200, `${JSON.stringify(authorization)}: ${JSON.stringify(a.body)}`);
    }
    // A transaction's id names it with the whitespace HTTP allows around a value.
    const begun = await answer(await mf.dispatchFetch('http://localhost/db/t/begin', { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: '{}' }));
    const inTx = { Authorization: `Bearer ${TOKEN}`, 'X-DoSQL-Transaction': `${begun.body.txId} ` };
    const a = await answer(await mf.dispatchFetch('http://localhost/db/t/query', { method: 'POST', headers: inTx, body: JSON.stringify({ sql: 'SELECT 1 AS one' }) }));
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal((await answer(await mf.dispatchFetch('http://localhost/db/t/commit', { method: 'POST', headers: inTx, body: '{}' }))).status, 200);
  });

  test('no token, a wrong token, or a malformed header is 401 UNAUTHORIZED', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: TOKEN }, { Authorization: `Basic ${TOKEN}` }, { Authorization: `Bearer ${TOKEN}x` }, { Authorization: `Bearer ${TOKEN.toUpperCase()}` }, { Authorization: 'Bearer ' }, { Authorization: `Bearer${TOKEN}` }, { Authorization: `Bearer ${TOKEN} x` }]) {
      const a = await answer(await mf.dispatchFetch('http://localhost/db/t/query', { method: 'POST', headers, body: JSON.stringify({ sql: 'SELECT 1' }) }));
      assert.equal(a.status, 401, JSON.stringify(headers));
      assert.equal(a.body.code, 'UNAUTHORIZED');
    }
  });

  test('with the token, requests reach the tenant\'s database, migrated with migrations/', async () => {
    const db = clientOf(mf, 'acme');
    const r = await db.run('INSERT INTO users (name, email) VALUES (?, ?)', ['Ann', 'ann@acme.test']);
    assert.deepEqual(r, { rowsAffected: 1, lastInsertRowId: 1 });
    assert.deepEqual(await db.query('SELECT name FROM users'), [{ name: 'Ann' }]);
    assert.deepEqual(await db.query('SELECT name FROM _dosql_migrations'), [{ name: '001_init.sql' }]);
    const tx = await db.transaction([{ type: 'query', sql: 'SELECT count(*) AS n FROM posts' }]);
    assert.deepEqual(tx, [{ n: 0 }]);
  });

  test('tenants are isolated: one database each', async () => {
    const a = clientOf(mf, 'tenant-a');
    const b = clientOf(mf, 'tenant-b');
    await a.run("INSERT INTO users (name, email) VALUES ('only in a', 'a@a.test')");
    assert.deepEqual(await a.query('SELECT count(*) AS n FROM users'), [{ n: 1 }]);
    assert.deepEqual(await b.query('SELECT count(*) AS n FROM users'), [{ n: 0 }]);
  });

  test('/branch, which objects serve only over Workers RPC, reaches the object with the operator\'s token; GET is still 405', async () => {
    // These objects keep their pages in key-value storage, without history: the
    // answer is the branch's own (history.test.js makes branches through the same
    // forwardTo()), not RPC_ONLY.
    const from = clientOf(mf, 'branch-from');
    const made = await from.post('/branch', { name: 'branch-to' });
    assert.equal(made.body.code, 'HISTORY_UNSUPPORTED', made.text);
    const get = await mf.dispatchFetch('http://localhost/db/branch-from/branch', { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal((await answer(get)).body.code, 'METHOD_NOT_ALLOWED');
    // Its transaction header reaches the object too, which refuses a branch inside one
    // (history.test.js): it would wait for that transaction to end.
    const { txId } = (await from.post('/begin', {})).body;
    const inTx = { headers: { 'Content-Type': 'application/json', 'X-DoSQL-Transaction': txId } };
    const during = await from.post('/branch', { name: 'branch-to' }, inTx);
    assert.equal(during.body.code, 'BAD_REQUEST', during.text);
    assert.equal((await from.post('/commit', {}, inTx)).status, 200);
  });

  test('the engine\'s own errors come through (404 for an unknown endpoint, 409 constraint)', async () => {
    const db = clientOf(mf, 'errs');
    const nf = await db.post('/nope', { sql: 'SELECT 1' });
    assert.equal(nf.status, 404);
    assert.equal(nf.body.code, 'NOT_FOUND');
    // A path outside /db/ lists every endpoint, as one under it does.
    const outside = await answer(await mf.dispatchFetch('http://localhost/nope'));
    assert.equal(outside.body.code, 'NOT_FOUND');
    assert.match(outside.body.error, /^no route for \/nope: use \/db\/<tenant>\/ followed by query, .*batch.*export.*history/);
    // A URL with no tenant in it says so, not that / is no endpoint.
    const none = await answer(await mf.dispatchFetch('http://localhost/db/', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{}' }));
    assert.equal(none.body.code, 'BAD_TENANT');
    assert.match(none.body.error, /^the URL names no database: a database's URL is http:\/\/localhost\/db\/<tenant>\//);
    await db.run("INSERT INTO users (name, email) VALUES ('x', 'x@x.test')");
    const dup = await db.post('/run', { sql: "INSERT INTO users (name, email) VALUES ('y', 'x@x.test')" });
    assert.equal(dup.status, 409);
    assert.match(dup.body.error, /UNIQUE constraint failed: users\.email/);
  });

  test('a body a few MiB past the request limit gets its 413 over a real connection, never a reset', async () => {
    // Refused before it is read; what is still on its way is drained first (config.js
    // DRAIN_BYTES): with 1 MiB drained, one of three such requests saw ECONNRESET.
    const origin = String(await mf.ready);
    for (const mib of [8.01, 9, 12, 16, 30]) {
      const body = JSON.stringify({ sql: 'SELECT length(?) AS n', params: ['x'.repeat(Math.round(mib * 1024 * 1024))] });
      for (const path of ['query', 'v2/pipeline', 'query']) {
        const r = await fetch(`${origin}db/big-body/${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body });
        assert.equal(r.status, 413, `${mib} MiB to /${path}`);
        assert.equal((await r.json()).code, 'PAYLOAD_TOO_LARGE');
      }
    }
  });

  test('a tenant named like a libSQL version (v2, v3-protobuf) is a tenant: its requests answer {error, code}', async () => {
    for (const name of ['v2', 'v3', 'v2-protobuf']) {
      const db = clientOf(mf, name);
      await db.run("INSERT INTO users (name, email) VALUES ('v', 'v@v.test')");
      const unauthorized = await answer(await mf.dispatchFetch(`http://localhost/db/${name}/query`, { method: 'POST', body: '{}' }));
      assert.equal(unauthorized.body.code, 'UNAUTHORIZED', name);
      assert.equal(typeof unauthorized.body.error, 'string', JSON.stringify(unauthorized.body));
      const nf = await db.post('/nope', {});
      assert.equal(nf.body.code, 'NOT_FOUND');
      assert.doesNotMatch(nf.body.error, /no database is named/);
    }
  });

  test('a libSQL client given the host alone, as a Turso URL is, reads a NOT_FOUND naming the database URL', async () => {
    const origin = String(await mf.ready);
    const client = createLibsqlClient({ url: origin, authToken: TOKEN });
    await assert.rejects(client.execute('SELECT 1'), (/** @type {any} */ err) => {
      // Over plain HTTP, as wrangler dev serves: the URL that works there (libsql:// is HTTPS).
      assert.match(err.message, /no database at (http:\/\/[^ ]*)\/: a libSQL URL names one, \1\/db\/<tenant>\/ \(or libsql:\/\/.*\/db\/<tenant>\/\?tls=0\)/, err.message);
      return true;
    });
    client.close();
  });

  test('bad tenant names are 400; other paths are JSON 404', async () => {
    for (const path of ['/db/bad%20name/query', `/db/${'x'.repeat(129)}/query`, '/db//query', '/db/a%2Fb/query']) {
      const a = await answer(await mf.dispatchFetch(`http://localhost${path}`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: '{}' }));
      assert.equal(a.status, 400, path);
      assert.equal(a.body.code, 'BAD_TENANT');
    }
    for (const path of ['/', '/query', '/dbx/t/query', '/health/x']) {
      const a = await answer(await mf.dispatchFetch(`http://localhost${path}`, { method: 'POST', body: '{}' }));
      assert.equal(a.status, 404, path);
      assert.equal(a.body.code, 'NOT_FOUND');
    }
  });

  test('a WebSocket upgrade offering no hrana2 (hrana1, hrana3 only, none) is told which it takes, in libSQL\'s shape, not asked for a bearer token', async () => {
    for (const offered of ['hrana1', 'hrana3', 'hrana1, hrana3', null]) {
      const headers = { upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13', ...(offered ? { 'sec-websocket-protocol': offered } : {}) };
      const a = await answer(await mf.dispatchFetch('http://localhost/db/acme/', { headers }));
      assert.equal(a.status, 400, `${offered}: ${a.text}`);
      assert.equal(a.body.code, 'BAD_REQUEST');
      assert.match(a.body.message, /served as hrana2 only, and this upgrade offers/);
    }
  });

  test('a refusal of the router to a request with a large body is answered, not a reset connection: the body is drained first', async () => {
    const origin = String(await mf.ready);
    const body = new Uint8Array(9 * 1024 * 1024).fill(0x20);
    const cases = [
      ['db/acme/query', {}, 401, 'UNAUTHORIZED'],
      ['db/acme/nope', { Authorization: `Bearer ${TOKEN}` }, 404, 'NOT_FOUND'],
      ['db/a%20b/query', { Authorization: `Bearer ${TOKEN}` }, 400, 'BAD_TENANT'],
      ['elsewhere', {}, 404, 'NOT_FOUND'],
      ['health', {}, 405, 'METHOD_NOT_ALLOWED'],
      ['db/acme/v2/pipeline', {}, 401, 'UNAUTHORIZED'],
    ];
    for (const [path, headers, status, code] of /** @type {[string, Record<string, string>, number, string][]} */ (cases)) {
      const r = await fetch(`${origin}${path}`, { method: 'POST', headers, body });
      assert.deepEqual([r.status, (await r.json()).code], [status, code], path);
    }
  });

  test('a request that says "Upgrade: websocket" without a WebSocket handshake gets a JSON answer, not a plain-text 500', async () => {
    // Over a real socket: the runtime shows any such request to the Worker as a GET.
    const origin = new URL(String(await mf.ready));
    for (const method of ['POST', 'PUT']) {
      const a = await new Promise((resolve, reject) => {
        const req = http.request({ host: origin.hostname, port: origin.port, path: '/db/acme/', method, headers: { upgrade: 'websocket', connection: 'upgrade', 'sec-websocket-protocol': 'hrana2', authorization: `Bearer ${TOKEN}` } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], text }));
        });
        req.on('error', reject);
        req.end('{}');
      });
      const { status, type, text } = /** @type {any} */ (a);
      assert.ok(status >= 400 && status < 500, `${method}: ${status} ${text}`);
      assert.match(type ?? '', /application\/json/);
      assert.ok(JSON.parse(text).code, text);
    }
  });
});

describe('standalone router, misconfigured', () => {
  test('without DOSQL_TOKEN: 500 BAD_CONFIG saying how to set it; /health still answers', async () => {
    const mf = await startStandalone({});
    try {
      const a = await answer(await mf.dispatchFetch('http://localhost/db/t/query', { method: 'POST', body: '{}' }));
      assert.equal(a.status, 500);
      assert.equal(a.body.code, 'BAD_CONFIG');
      assert.match(a.body.error, /DOSQL_TOKEN is not set/);
      assert.match(a.body.error, /\.dev\.vars/);
      assert.match(a.body.error, /wrangler secret put DOSQL_TOKEN/);
      assert.equal((await mf.dispatchFetch('http://localhost/health')).status, 200);
    } finally {
      await mf.dispose();
    }
  });

  test('a DOSQL_TOKEN no header can carry (whitespace around it, a control or non-ASCII character, not a string) is BAD_CONFIG saying so', async () => {
    for (const [token, why] of /** @type {[unknown, RegExp][]} */ ([
      [`${TOKEN}\n`, /starts or ends with whitespace/], [' x', /starts or ends with whitespace/], [12345, /must be a string .* it is a number/],
      ['s3cr€t-token', /holds U\+20AC at character 4/], ['first\nsecond', /holds U\+000A at character 5/], ['caf\u00e9', /holds U\+00E9/],
    ])) {
      const mf = await startStandalone({ DOSQL_TOKEN: /** @type {any} */ (token) });
      try {
        // The token as a client would send it: trimmed, and as UTF-8 bytes (what curl sends).
        const sent = Buffer.from(String(token).trim().replace(/\n/g, ' ')).toString('latin1');
        const a = await answer(await mf.dispatchFetch('http://localhost/db/t/query', { method: 'POST', headers: { Authorization: `Bearer ${sent}` }, body: '{}' }));
        assert.deepEqual([a.status, a.body.code], [500, 'BAD_CONFIG'], JSON.stringify(token));
        assert.match(a.body.error, why);
      } finally {
        await mf.dispose();
      }
    }
  });

  test('without the DOSQL_DB binding: 500 BAD_CONFIG naming the binding', async () => {
    const mf = await startStandalone({ DOSQL_TOKEN: TOKEN }, { withNamespace: false });
    try {
      const a = await answer(await mf.dispatchFetch('http://localhost/db/t/query', { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: '{}' }));
      assert.equal(a.status, 500);
      assert.equal(a.body.code, 'BAD_CONFIG');
      assert.match(a.body.error, /DOSQL_DB/);
    } finally {
      await mf.dispose();
    }
  });
});

describe('behind the per-tenant front Worker of docs/security.md', () => {
  /** @type {any} */
  let mf;
  before(async () => {
    mf = await startStandalone({}, { script: 'tests/worker/fixtures/front-worker.js' });
  });
  after(() => mf?.dispose());

  /** @param {string} user @param {string} path @param {unknown} body */
  async function as(user, path, body) {
    return answer(await mf.dispatchFetch(`http://localhost${path}`, { method: 'POST', headers: { 'x-user': user }, body: JSON.stringify(body) }));
  }

  test('a tenant cannot write, make or probe another tenant\'s database with /branch: it is not served over HTTP', async () => {
    // bob used the app, then emptied his tables; carol has not signed up yet; alice has rows.
    assert.equal((await as('bob', '/run', { sql: "INSERT INTO users (name, email) VALUES ('bob', 'b@b.test')" })).status, 200);
    assert.equal((await as('bob', '/run', { sql: 'DELETE FROM users' })).status, 200);
    assert.equal((await as('alice', '/run', { sql: "INSERT INTO users (name, email) VALUES ('alice', 'a@a.test')" })).status, 200);
    assert.equal((await as('mallory', '/run', { sql: "INSERT INTO users (name, email) VALUES ('planted', 'm@m.test')" })).status, 200);
    for (const name of ['bob', 'carol', 'alice']) {
      const branched = await as('mallory', '/branch', { name });
      assert.equal(branched.status, 403, JSON.stringify(branched.body));
      assert.equal(branched.body.code, 'RPC_ONLY');
      assert.doesNotMatch(branched.body.error, new RegExp(name));
    }
    for (const name of ['bob', 'carol']) {
      assert.deepEqual((await as(name, '/query', { sql: 'SELECT name FROM users' })).body.rows, []);
    }
    assert.equal((await as('bob', '/changes', { since: 0 })).body.events.length, 2, 'bob\'s history is his');
  });

  test('the query string goes through: GET /subscribe?tables=&since= and /export?asOf= select what they name', async () => {
    await as('dora', '/exec', { sql: "CREATE TABLE a (v); CREATE TABLE b (v); INSERT INTO a VALUES ('a1'); INSERT INTO b VALUES ('b1')" });
    const stream = await mf.dispatchFetch('http://localhost/subscribe?tables=b&since=0', { headers: { 'x-user': 'dora', accept: 'text/event-stream' } });
    const reader = /** @type {ReadableStream<Uint8Array>} */ (stream.body).getReader();
    let text = '';
    while (!/event: ready/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    assert.match(text, /"b1"/);
    assert.doesNotMatch(text, /"a1"/, 'tables=b selects b');
    // This world's objects keep no history (key-value storage): asOf reaching the object is
    // refused so, where without the query string the present would be exported.
    const point = await mf.dispatchFetch('http://localhost/export?asOf=2', { headers: { 'x-user': 'dora' } });
    assert.deepEqual([point.status, (await point.json()).code], [501, 'HISTORY_UNSUPPORTED']);
  });
});
