// Every error of the protocol is JSON {error, code} with the right status, on both
// backends; the object keeps serving after each one.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, BACKENDS, tenant, compileWasm } from './harness.js';
import { Engine } from '../../worker-shim/src/wasm/engine.js';
import { MemoryPages } from './fixtures/memory-storage.js';

const world = createWorld('errors');
/** @type {number} */
let maxRequestBytes;

before(async () => {
  maxRequestBytes = new Engine(await compileWasm(), { storage: new MemoryPages() }).maxRequestBytes;
  await world.start();
});
after(() => world.destroy());

/**
 * @param {import('./harness.js').Answer} a
 * @param {number} status
 * @param {string} code
 */
function assertError(a, status, code) {
  assert.equal(a.status, status, `status of ${a.text}`);
  assert.match(a.contentType ?? '', /^application\/json/, 'errors are JSON');
  assert.equal(typeof a.body?.error, 'string', a.text);
  assert.ok(a.body.error.length > 0, 'the error says something');
  assert.equal(a.body.code, code, a.text);
}

for (const backend of BACKENDS) {
  describe(`errors (${backend})`, () => {
    test('bad JSON is 400 BAD_JSON', async () => {
      const db = world.client(backend, tenant('badjson'));
      assertError(await db.post('/query', '{"sql": "SELECT 1",'), 400, 'BAD_JSON');
      assertError(await db.post('/run', ' '), 400, 'BAD_JSON');
    });

    test('no body at all is the empty object: 400 BAD_REQUEST where sql is needed', async () => {
      const db = world.client(backend, tenant('nobody'));
      assertError(await db.post('/run', ''), 400, 'BAD_REQUEST');
    });

    test('a body without sql is 400 BAD_REQUEST', async () => {
      const db = world.client(backend, tenant('nosql'));
      assertError(await db.post('/query', { params: [] }), 400, 'BAD_REQUEST');
      assertError(await db.post('/run', { sql: 42 }), 400, 'BAD_REQUEST');
      assertError(await db.post('/query', [1, 2]), 400, 'BAD_REQUEST');
      assertError(await db.post('/transaction', { operations: 'no' }), 400, 'BAD_REQUEST');
    });

    test('parameters of the wrong type are 400 BAD_PARAMS', async () => {
      const db = world.client(backend, tenant('params'));
      assertError(await db.post('/query', { sql: 'SELECT ?', params: [{ nested: 1 }] }), 400, 'BAD_PARAMS');
      assertError(await db.post('/query', { sql: 'SELECT ?', params: [[1]] }), 400, 'BAD_PARAMS');
      assertError(await db.post('/query', { sql: 'SELECT ?', params: 'x' }), 400, 'BAD_PARAMS');
      assertError(await db.post('/query', { sql: 'SELECT ?', params: [{ $bigint: 'nope' }] }), 400, 'BAD_PARAMS');
      assertError(await db.post('/query', { sql: 'SELECT ?', params: [{ $bigint: '9223372036854775808' }] }), 400, 'BAD_PARAMS');
      assertError(await db.post('/query', { sql: 'SELECT ?', params: [{ $blob: '***' }] }), 400, 'BAD_PARAMS');
    });

    test('a field the endpoint does not take is 400 BAD_REQUEST naming it, and nothing runs', async () => {
      const db = world.client(backend, tenant('fields'));
      await db.run('CREATE TABLE f (x)');
      await db.run('INSERT INTO f VALUES (1)');
      const asof = await db.post('/query', { sql: 'SELECT x FROM f', asof: 1 });
      assertError(asof, 400, 'BAD_REQUEST');
      assert.match(asof.body.error, /does not take the field "asof".*did you mean asOf\?/);
      assertError(await db.post('/run', { sql: 'DELETE FROM f', param: [] }), 400, 'BAD_REQUEST');
      assertError(await db.post('/begin', { timeout: 5000 }), 400, 'BAD_REQUEST');
      const op = await db.post('/transaction', { operations: [{ type: 'run', sql: 'DELETE FROM f' }, { type: 'run', sql: 'DELETE FROM f', parms: [] }] });
      assertError(op, 400, 'BAD_REQUEST');
      assert.equal(op.body.operation, 1);
      assert.deepEqual(await db.query('SELECT x FROM f'), [{ x: 1 }], 'nothing ran');
    });

    test('several statements in one sql are 400 MULTIPLE_STATEMENTS', async () => {
      const db = world.client(backend, tenant('multi'));
      assertError(await db.post('/run', { sql: 'SELECT 1; SELECT 2' }), 400, 'MULTIPLE_STATEMENTS');
      assertError(await db.post('/run', { sql: "INSERT INTO users (name, email) VALUES ('a', 'a@x'); DROP TABLE users" }), 400, 'MULTIPLE_STATEMENTS');
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM users'), [{ n: 0 }], 'nothing ran');
      // A trailing semicolon and comment are one statement.
      assert.deepEqual(await db.query('SELECT 1 AS x; -- done'), [{ x: 1 }]);
    });

    test('an unknown path is 404 NOT_FOUND as JSON', async () => {
      const db = world.client(backend, tenant('404'));
      assertError(await db.post('/nope', { sql: 'SELECT 1' }), 404, 'NOT_FOUND');
      assertError(await db.post('/', { sql: 'SELECT 1' }), 404, 'NOT_FOUND');
    });

    test('GET /query is 405 METHOD_NOT_ALLOWED, its Allow header naming the methods the endpoint takes', async () => {
      const name = tenant('405');
      const db = world.client(backend, name);
      assertError(await db.fetch('/query'), 405, 'METHOD_NOT_ALLOWED');
      assertError(await db.fetch('/run', { method: 'PUT', body: '{}' }), 405, 'METHOD_NOT_ALLOWED');
      for (const [path, method, allow] of [['/query', 'GET', 'POST'], ['/query', 'HEAD', 'POST'], ['/commit', 'GET', 'POST'], ['/rollback', 'PUT', 'POST'], ['/export', 'POST', 'GET, HEAD'], ['/subscribe', 'PUT', 'GET, HEAD, POST'], ['/history', 'DELETE', 'GET, HEAD, POST'], ['/import', 'GET', 'POST']]) {
        const r = await world.mf.dispatchFetch(`http://localhost/${backend}/${name}${path}`, { method, body: method === 'GET' || method === 'HEAD' ? undefined : '{}' });
        assert.equal(r.status, 405, `${method} ${path}`);
        assert.equal(r.headers.get('allow'), allow, `${method} ${path}`);
        if (method !== 'HEAD') assert.equal((await r.json()).allow, allow);
      }
    });

    test('HEAD is GET without the body, wherever GET is taken', async () => {
      const name = tenant('head');
      const db = world.client(backend, name);
      await db.run('CREATE TABLE t (v)');
      // (History is the SQLite-backed objects'.)
      for (const path of backend === 'sql' ? ['/stats', '/export', '/history', '/v2'] : ['/stats', '/export', '/v2']) {
        const get = await world.mf.dispatchFetch(`http://localhost/${backend}/${name}${path}`);
        const head = await world.mf.dispatchFetch(`http://localhost/${backend}/${name}${path}`, { method: 'HEAD' });
        assert.equal(get.status, 200, `GET ${path}`);
        await get.arrayBuffer();
        assert.deepEqual([head.status, head.headers.get('content-type'), (await head.arrayBuffer()).byteLength],
          [200, get.headers.get('content-type'), 0], `HEAD ${path}`);
      }
      // A subscription asked for by HEAD starts and ends at once, as the body is not read.
      const sse = await world.mf.dispatchFetch(`http://localhost/${backend}/${name}/subscribe`, { method: 'HEAD', headers: { accept: 'text/event-stream' } });
      assert.deepEqual([sse.status, sse.headers.get('content-type'), (await sse.arrayBuffer()).byteLength], [200, 'text/event-stream; charset=utf-8', 0]);
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 0 }], 'and the object goes on serving');
    });

    test('a body larger than the limit is 413 PAYLOAD_TOO_LARGE, declared or streamed', async () => {
      const db = world.client(backend, tenant('413'));
      const big = new Uint8Array(maxRequestBytes + 1).fill(0x20);
      assertError(await db.post('/query', big), 413, 'PAYLOAD_TOO_LARGE');
      // Without a Content-Length the shim counts, and stops reading past the limit.
      let sent = 0;
      const stream = new ReadableStream({
        pull(controller) {
          if (sent > maxRequestBytes + 1024 * 1024) return controller.close();
          const chunk = new Uint8Array(256 * 1024).fill(0x20);
          sent += chunk.length;
          controller.enqueue(chunk);
        },
      });
      assertError(await db.post('/query', undefined, { body: stream, duplex: 'half' }), 413, 'PAYLOAD_TOO_LARGE');
      // A body just at the limit is read (and then judged on its content).
      const sql = JSON.stringify({ sql: 'SELECT 1 AS one' });
      const padded = new TextEncoder().encode(sql.padEnd(maxRequestBytes, ' '));
      const ok = await db.post('/query', padded);
      assert.equal(ok.status, 200, ok.text.slice(0, 200));
      assert.deepEqual(ok.body, { rows: [{ one: 1 }] });
    });

    test('a body longer than its Content-Length (a Worker streaming it) is read whole, and counted', async () => {
      const name = tenant('lying');
      const send = (/** @type {Uint8Array} */ body, /** @type {number} */ declared) =>
        world.mf.dispatchFetch(`http://localhost/${backend}/${name}/__lying/query?declared=${declared}`, { method: 'POST', body });
      const sql = new TextEncoder().encode(JSON.stringify({ sql: 'SELECT 42 AS n' }));
      const small = await send(sql, 5);
      assert.equal(small.status, 200);
      assert.deepEqual(await small.json(), { rows: [{ n: 42 }] });
      const huge = await send(new Uint8Array(maxRequestBytes + 300_000).fill(0x20), 10);
      assert.equal(huge.status, 413);
      assert.equal((await huge.json()).code, 'PAYLOAD_TOO_LARGE');
      const short = await send(sql, sql.length + 100);   // shorter than it says: what came is the body
      assert.equal(short.status, 200);
      await short.text();
    });

    test('a UNIQUE violation is 409 SQLITE_CONSTRAINT_UNIQUE with SQLite\'s message', async () => {
      const db = world.client(backend, tenant('unique'));
      await db.run('INSERT INTO users (name, email) VALUES (?, ?)', ['A', 'a@example.com']);
      const a = await db.post('/run', { sql: 'INSERT INTO users (name, email) VALUES (?, ?)', params: ['B', 'a@example.com'] });
      assertError(a, 409, 'SQLITE_CONSTRAINT_UNIQUE');
      assert.match(a.body.error, /UNIQUE constraint failed: users\.email/);
      const fk = await db.post('/run', { sql: 'INSERT INTO posts (user_id, title) VALUES (?, ?)', params: [999, 't'] });
      assertError(fk, 409, 'SQLITE_CONSTRAINT_FOREIGNKEY');
      const nn = await db.post('/run', { sql: 'INSERT INTO users (name, email) VALUES (NULL, ?)', params: ['n@example.com'] });
      assertError(nn, 409, 'SQLITE_CONSTRAINT_NOTNULL');
    });

    test('a syntax error or unknown table is 400 SQLITE_ERROR with SQLite\'s message', async () => {
      const db = world.client(backend, tenant('syntax'));
      const a = await db.post('/query', { sql: 'SELEC 1' });
      assertError(a, 400, 'SQLITE_ERROR');
      assert.match(a.body.error, /syntax error/);
      const b = await db.post('/query', { sql: 'SELECT * FROM nowhere' });
      assertError(b, 400, 'SQLITE_ERROR');
      assert.match(b.body.error, /no such table: nowhere/);
    });

    test('ATTACH and DETACH are 403 SQLITE_AUTH', async () => {
      const db = world.client(backend, tenant('attach'));
      assertError(await db.post('/run', { sql: "ATTACH DATABASE 'other.db' AS other" }), 403, 'SQLITE_AUTH');
      assertError(await db.post('/run', { sql: "ATTACH ':memory:' AS m" }), 403, 'SQLITE_AUTH');
      assertError(await db.post('/run', { sql: 'DETACH DATABASE main' }), 403, 'SQLITE_AUTH');
    });

    test('dangerous PRAGMAs are denied; harmless ones work', async () => {
      const db = world.client(backend, tenant('pragma'));
      assertError(await db.post('/run', { sql: 'PRAGMA writable_schema = 1' }), 403, 'SQLITE_AUTH');
      assertError(await db.post('/run', { sql: 'PRAGMA journal_mode = DELETE' }), 403, 'SQLITE_AUTH');
      const [fk] = await db.query('PRAGMA foreign_keys');
      assert.equal(fk.foreign_keys, 1);
      assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
      const info = await db.query('PRAGMA table_info(users)');
      assert.deepEqual(info.map((c) => c.name), ['id', 'name', 'email', 'created_at']);
    });

    test('_dosql_migrations is readable and not writable', async () => {
      const db = world.client(backend, tenant('internal'));
      const rows = await db.query('SELECT name FROM _dosql_migrations');
      assert.deepEqual(rows, [{ name: '001_init.sql' }]);
      for (const sql of [
        "INSERT INTO _dosql_migrations (name, checksum) VALUES ('x', 'y')",
        "UPDATE _dosql_migrations SET checksum = 'z'",
        'DELETE FROM _dosql_migrations',
        'DROP TABLE _dosql_migrations',
        'ALTER TABLE _dosql_migrations ADD COLUMN evil',
        'CREATE TABLE _dosql_mine (x)',
      ]) {
        assertError(await db.post('/run', { sql }), 403, 'SQLITE_AUTH');
      }
      assert.deepEqual(await db.query('SELECT name FROM _dosql_migrations'), [{ name: '001_init.sql' }]);
    });

    test('a runaway recursive query is 400 CPU_LIMIT, and the object still answers', async () => {
      const db = world.client(backend, tenant('steps'));
      const a = await db.post('/query', { sql: 'WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT max(i) FROM c' });
      assertError(a, 400, 'CPU_LIMIT');
      assert.deepEqual(await db.query('SELECT 1 AS ok'), [{ ok: 1 }]);
    });
  });
}
