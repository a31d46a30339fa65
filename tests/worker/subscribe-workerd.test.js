// db.subscribe() and the SSE relay against a real workerd, both backends: stored
// events then `ready` then live commits, rows decoded; resuming with since; the
// table filter; error answers; cancellation reaching the database's subscriber
// list; and eventStream() running inside a worker (as a SvelteKit route does),
// read as an EventSource would, equal to the database's own SSE. The same code in
// Node over hand-made streams: client-subscribe.test.js, sse-relay.test.js.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomUUID } from 'node:crypto';
import { BACKENDS, REPO, TMP, requireWasm, startBothBackends, tenant } from './harness.js';
import { stubOf } from './fixtures/client-stub.js';
import { sseParser } from './fixtures/sse-parser.js';
import { createClient, DoSQLError } from '../../worker-shim/src/client/client.js';

const TIMEOUT = { timeout: 30_000 };

/**
 * Workerd serving the test worker of fixtures/relay-worker.js (the routes of
 * dosql-worker.js plus /relay/...), no migrations.
 */
async function startRelayWorld() {
  requireWasm();
  const dir = join(TMP, `subscribe-${randomUUID().slice(0, 8)}`);
  mkdirSync(join(dir, 'persist'), { recursive: true });
  const fixtures = relative(dir, join(REPO, 'tests/worker/fixtures')).split('\\').join('/');
  writeFileSync(join(dir, 'migrations.js'), 'export default [];\n');
  writeFileSync(
    join(dir, 'worker.js'),
    [
      "import migrations from './migrations.js';",
      `import { makeClasses } from '${fixtures}/dosql-worker.js';`,
      `import { handle } from '${fixtures}/relay-worker.js';`,
      'const { Sql, Kv } = makeClasses(migrations, {});',
      'export { Sql as DoSQLSql, Kv as DoSQLKv };',
      'export default { fetch: handle };',
      '',
    ].join('\n'),
  );
  const mf = await startBothBackends(join(dir, 'worker.js'), join(dir, 'persist'), {});
  return {
    mf,
    async destroy() {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** @type {Awaited<ReturnType<typeof startRelayWorld>>} */
let world;
before(async () => {
  world = await startRelayWorld();
});
after(() => world?.destroy());

/**
 * The object's count of streaming subscribers (stats() over RPC).
 * @param {'sql' | 'kv'} backend
 * @param {string} name
 * @returns {Promise<number>}
 */
async function streams(backend, name) {
  const ns = await world.mf.getDurableObjectNamespace(backend === 'sql' ? 'SQL_DB' : 'KV_DB');
  const stats = await ns.get(ns.idFromName(name)).stats();
  return stats.subscribers.streams;
}

/**
 * Wait until the object counts this many streaming subscribers. The object learns
 * that a body it streams was cancelled only when it next writes to it (workerd),
 * so poke, when given, makes it write (commits an event its subscribers want).
 * @param {'sql' | 'kv'} backend
 * @param {string} name
 * @param {number} n
 * @param {() => Promise<unknown>} [poke]
 */
async function untilStreams(backend, name, n, poke) {
  const deadline = Date.now() + 5000;
  let now = await streams(backend, name);
  while (now !== n && Date.now() < deadline) {
    await (poke ? poke() : new Promise((resolve) => setTimeout(resolve, 20)));
    now = await streams(backend, name);
  }
  assert.equal(now, n, 'streaming subscribers of the object');
}

/**
 * Read a text/event-stream body as an EventSource would, as far as asked.
 * @param {Response} response
 */
function eventSourceOf(response) {
  const reader = /** @type {ReadableStream<Uint8Array>} */ (response.body).getReader();
  const parser = sseParser();
  return {
    parser,
    /**
     * The first n messages, JSON data parsed (reads until there are that many).
     * @param {number} n
     */
    async take(n) {
      while (parser.messages.length < n) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.push(value);
      }
      return parser.messages.slice(0, n).map((m) => ({ type: m.type, lastEventId: m.lastEventId, data: JSON.parse(m.data) }));
    },
    /** Read until a comment arrives. */
    async comment() {
      const seen = parser.comments.length;
      while (parser.comments.length === seen) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.push(value);
      }
      return parser.comments.at(-1);
    },
    cancel: () => reader.cancel(),
  };
}

/** @param {any} event  a change event without its timestamp (checked separately) */
function withoutTime(event) {
  assert.ok(Math.abs(event.timestamp - Date.now()) < 60_000, `timestamp ${event.timestamp}`);
  const { timestamp, ...rest } = event;
  return rest;
}

for (const backend of BACKENDS) {
  describe(`db.subscribe in workerd (${backend})`, () => {
    test('stored events, then ready, then live commits; rows decoded', TIMEOUT, async () => {
      const db = createClient(stubOf(world, backend, tenant('sub')));
      await db.run('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, big INTEGER, pic BLOB)');
      const big = 2n ** 62n + 1n;
      await db.run('INSERT INTO users VALUES (1, ?, ?, ?)', ['é 日本 🙂', big, new Uint8Array([0, 255])]);

      const it = db.subscribe(['users'], { since: 0 });
      assert.deepEqual(withoutTime((await it.next()).value), {
        lsn: 1, txId: 1, type: 'insert', table: 'users', data: { id: 1, name: 'é 日本 🙂', big, pic: new Uint8Array([0, 255]) },
      });
      assert.deepEqual((await it.next()).value, { type: 'ready', lsn: 1 });

      await db.run("UPDATE users SET name = '🙂' WHERE id = 1");
      await db.transaction(async (tx) => {
        await tx.run("INSERT INTO users (id, name) VALUES (2, 'two')");
        await tx.run('DELETE FROM users WHERE id = 1');
      });
      const live = [];
      for (let i = 0; i < 3; i++) live.push(withoutTime((await it.next()).value));
      const row1 = { id: 1, name: '🙂', big, pic: new Uint8Array([0, 255]) };
      assert.deepEqual(live, [
        { lsn: 2, txId: 2, type: 'update', table: 'users', data: row1, old: { ...row1, name: 'é 日本 🙂' } },
        { lsn: 3, txId: 3, type: 'insert', table: 'users', data: { id: 2, name: 'two', big: null, pic: null } },
        { lsn: 4, txId: 3, type: 'delete', table: 'users', data: row1 },
      ]);
      assert.deepEqual(await it.return?.(), { done: true, value: undefined });
    });

    test('a subscriber waits its turn behind a transaction however many requests wait: a full line does not end it', TIMEOUT, async () => {
      const db = createClient(stubOf(world, backend, tenant('sub-line')));
      await db.run('CREATE TABLE t (v)');
      await db.run('INSERT INTO t VALUES (1)');
      const it = db.subscribe(['t'], { since: 0 });
      /** @type {Promise<IteratorResult<any>> | undefined} */
      let first;
      /** @type {Promise<string>[]} */
      let queries = [];
      await db.transaction(async (tx) => {
        await tx.run('INSERT INTO t VALUES (2)');
        // More requests than may wait (1,024): those past it are refused at once.
        queries = Array.from({ length: 1040 }, () => db.query('SELECT 1').then(() => 'ok', (err) => err.code));
        await new Promise((resolve) => { for (const q of queries) void q.then((code) => code === 'TOO_MANY_REQUESTS' && resolve(undefined)); });
        first = it.next();
        first.catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 300));
      });
      assert.deepEqual(withoutTime((await /** @type {Promise<IteratorResult<any>>} */ (first)).value), { lsn: 1, txId: 1, type: 'insert', table: 't', data: { v: 1 } });
      assert.deepEqual(withoutTime((await it.next()).value), { lsn: 2, txId: 2, type: 'insert', table: 't', data: { v: 2 } });
      await it.return?.();
      const answered = await Promise.all(queries);
      assert.ok(answered.filter((code) => code === 'ok').length >= 1000, 'the line waited');
      assert.ok(answered.every((code) => code === 'ok' || code === 'TOO_MANY_REQUESTS'), String(new Set(answered)));
    });

    test('a float keeps its sign and its infinity in the stream, stored and live', TIMEOUT, async () => {
      const db = createClient(stubOf(world, backend, tenant('sub-float')));
      // An untyped column: a REAL one stores -0.0 as the integer 0 (SQLite's affinity).
      await db.run('CREATE TABLE f (id INTEGER PRIMARY KEY, v)');
      await db.run('INSERT INTO f VALUES (1, -0.0), (2, 1e999)');
      const it = db.subscribe(['f'], { since: 0 });
      const stored = [(await it.next()).value, (await it.next()).value];
      assert.deepEqual((await it.next()).value.type, 'ready');
      await db.run('UPDATE f SET v = -v');
      const live = [(await it.next()).value, (await it.next()).value];
      await it.return?.();
      const values = [...stored, ...live].map((e) => e.data.v);
      assert.deepEqual(values, [-0, Infinity, 0, -Infinity]);
      assert.ok(Object.is(values[0], -0) && Object.is(values[2], 0), `signs of zero: ${values.map((v) => Object.is(v, -0) ? '-0' : v)}`);
    });

    test('since resumes after the last lsn seen; tables filter (any case); no since starts live', TIMEOUT, async () => {
      const name = tenant('since');
      const db = createClient(stubOf(world, backend, name));
      await db.batch([
        'CREATE TABLE users (id INTEGER PRIMARY KEY)',
        'CREATE TABLE other (id INTEGER PRIMARY KEY)',
      ]);
      for (const sql of ['INSERT INTO users VALUES (1)', 'INSERT INTO other VALUES (1)', 'INSERT INTO users VALUES (2)', 'INSERT INTO users VALUES (3)']) {
        await db.run(sql);
      }
      // The README's load(): the last lsn a read includes.
      assert.deepEqual(await db.queryOne('SELECT coalesce(max(lsn), 0) AS lsn FROM _dosql_changes'), { lsn: 4 });
      const resumed = [];
      for await (const event of db.subscribe(['USERS'], { since: 1 })) {
        resumed.push(event.type === 'ready' ? event : [event.lsn, event.table, event.data.id]);
        if (event.type === 'ready') break;
      }
      assert.deepEqual(resumed, [[3, 'users', 2], [4, 'users', 3], { type: 'ready', lsn: 4 }]);

      const it = db.subscribe();
      assert.deepEqual((await it.next()).value, { type: 'ready', lsn: 4 });
      await db.run('INSERT INTO other VALUES (2)');
      const { value } = await it.next();
      assert.deepEqual([value.lsn, value.table, value.data], [5, 'other', { id: 2 }]);
      await it.return?.();
    });

    test('a refused subscription is a DoSQLError with the answer\'s code and status', TIMEOUT, async () => {
      const db = createClient(stubOf(world, backend, tenant('refused')));
      // NaN (say, Number() of a bad query parameter) is refused too, not a live start.
      for (const it of [db.subscribe(['']), db.subscribe(null, { since: -1 }), db.subscribe(null, { since: NaN })]) {
        await assert.rejects(it.next(), (/** @type {any} */ err) => err instanceof DoSQLError && err.code === 'BAD_REQUEST' && err.status === 400);
      }
    });

    test('break and abort inside a worker end the database\'s subscriber', TIMEOUT, async () => {
      // In a worker, as in a SvelteKit app (fixtures/relay-worker.js), so that the
      // cancel goes straight to the object's stub, not over a TCP connection from
      // Node (which workerd sees closed only after writing to it twice).
      const name = tenant('leave');
      for (const by of ['break', 'abort', 'abort-waiting']) {
        const response = await world.mf.dispatchFetch(`http://localhost/leave/${backend}/${name}?by=${by}`);
        assert.deepEqual(await response.json(), { during: 1, after: 0 }, by);
      }
    });
  });

  describe(`eventStream inside a worker (${backend})`, () => {
    test('an EventSource gets the database\'s JSON with ids, resumes with Last-Event-ID, and leaving cancels', TIMEOUT, async () => {
      const name = tenant('relay');
      const db = createClient(stubOf(world, backend, name));
      await db.run('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, big INTEGER, pic BLOB)');
      await db.run('INSERT INTO users VALUES (1, ?, ?, ?)', ['é 日本 🙂', 2n ** 62n + 1n, new Uint8Array([0, 255])]);
      const relayUrl = `http://localhost/relay/${backend}/${name}?tables=users&since=0`;

      const leave = new AbortController();
      const response = await world.mf.dispatchFetch(relayUrl, { signal: leave.signal });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      assert.equal(response.headers.get('cache-control'), 'no-cache, no-transform');
      const source = eventSourceOf(response);
      const [insert, ready] = await source.take(2);
      assert.equal(source.parser.retry, 3000);
      assert.deepEqual({ ...insert, data: withoutTime(insert.data) }, {
        type: 'message',
        lastEventId: '1',
        data: { lsn: 1, txId: 1, type: 'insert', table: 'users', data: { id: 1, name: 'é 日本 🙂', big: { $bigint: '4611686018427387905' }, pic: { $blob: 'AP8=' } } },
      });
      assert.deepEqual(ready, { type: 'ready', lastEventId: '1', data: { type: 'ready', lsn: 1 } });

      await db.run("UPDATE users SET name = '日本' WHERE id = 1");
      const [, , update] = await source.take(3);
      assert.equal(update.lastEventId, '2');
      assert.deepEqual([update.data.type, update.data.data.name, update.data.old.name], ['update', '日本', 'é 日本 🙂']);
      assert.equal(await source.comment(), ' keepalive'); // relay-worker.js: every 200 ms

      // What an EventSource sends when it reconnects: its URL again, and the last id.
      const again = eventSourceOf(await world.mf.dispatchFetch(relayUrl, { headers: { 'Last-Event-ID': '1' } }));
      assert.deepEqual((await again.take(2)).map((m) => [m.type, m.lastEventId, m.data.lsn]), [
        ['message', '2', 2],
        ['ready', '2', 2],
      ]);
      await untilStreams(backend, name, 2);

      // The browsers leave: workerd sees it at the relays' next keepalive and ends
      // their requests, with the subscriptions they opened.
      leave.abort();
      await again.cancel();
      let id = 100;
      await untilStreams(backend, name, 0, () => db.run('INSERT INTO users (id) VALUES (?)', [id++]));

      // The database's own SSE of the same log: the same two change events, first
      // (its `ready` comes later: more was stored when it subscribed).
      const direct = eventSourceOf(
        await world.mf.dispatchFetch(`http://localhost/${backend}/${name}/subscribe?tables=users&since=0`, { headers: { Accept: 'text/event-stream' } }),
      );
      assert.deepEqual(await direct.take(2), [insert, update]);
      await direct.cancel();
    });
  });
}
