// Change streams, server side (docs/changes.md; worker-shim/src/changes/feed.js and
// retention.js), in a real workerd, on both backends: what an event holds for
// every value type; nothing from what was rolled back; commit order under 50
// concurrent writers; resuming NDJSON with since and SSE with Last-Event-ID after
// a dropped connection; retention and the gap event, from the alarm; a commit
// that storage refused leaving neither row nor event (also after a restart); a
// slow subscriber cut off while commits stay fast; keepalives; WebSocket
// subscribers, also across hibernation; DB() in a class of one's own; the
// standalone router; and the 4xx answers to bad subscriptions.
//
// The test worker is fixtures/changes-worker.js: the DoSQL class with each
// world's `changes` settings, plus test-only routes (constructor count, alarm,
// failing commits).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BACKENDS, fixtureRuntime, startStandalone, tenant } from './harness.js';
import { sseParser } from './fixtures/sse-parser.js';
import { lineDecoder } from '../../worker-shim/src/changes/ndjson.js';
import { checkChanges } from '../../worker-shim/src/changes/retention.js';

const TIMEOUT = { timeout: 60_000 };

/**
 * Workerd on fixtures/changes-worker.js with these defineDoSQL options (no
 * migrations, so every event is the test's own), restartable on its storage.
 * @param {string} prefix
 * @param {object} classOptions  e.g. {changes: {retainEvents: 3}}
 * @param {'makeClasses' | 'makeOwnClasses'} [factory]  the DoSQL class, or a
 *   class of one's own around DB()
 */
function changesWorld(prefix, classOptions, factory = 'makeClasses', bindings = {}) {
  const runtime = fixtureRuntime(prefix, 'changes-worker.js', factory, factory === 'makeClasses' ? [[], classOptions] : [classOptions], bindings);
  const mf = { dispatchFetch: runtime.fetch };
  const world = {
    start: runtime.start,
    restart: runtime.restart,
    destroy: runtime.destroy,
    /**
     * One tenant's database on one backend.
     * @param {'sql' | 'kv'} backend
     * @param {string} [name]
     */
    db(backend, name = tenant('changes')) {
      /** @param {string} path @param {any} [init] @returns {Promise<Response>} */
      const fetch = (path, init) => mf.dispatchFetch(`http://localhost/${backend}/${name}${path}`, init);
      /** @param {string} path @param {unknown} body @param {Record<string, string>} [headers] */
      const post = async (path, body, headers = {}) => {
        const r = await fetch(path, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
        const text = await r.text();
        return { status: r.status, body: text === '' ? undefined : JSON.parse(text) };
      };
      /** @param {string} sql @param {unknown[]} [params] */
      const run = async (sql, params) => {
        const r = await post('/run', { sql, params });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body;
      };
      return {
        name,
        fetch,
        post,
        run,
        /** @param {string} sql */
        query: async (sql) => (await post('/query', { sql })).body.rows,
        /** POST /changes; asserts 200. @param {object} [body] */
        changes: async (body = {}) => {
          const r = await post('/changes', body);
          assert.equal(r.status, 200, JSON.stringify(r.body));
          return r.body;
        },
        /** The object's __test/info (fixtures/changes-worker.js). @returns {Promise<any>} */
        info: async () => (await fetch('/__test/info')).json(),
        /** POST /subscribe as NDJSON. @param {object} [body] @param {AbortSignal} [signal] */
        subscribe: async (body = {}, signal) => {
          const r = await fetch('/subscribe', { method: 'POST', body: JSON.stringify(body), signal });
          if (r.status !== 200) assert.fail(`POST /subscribe answered ${r.status}: ${await r.text()}`);
          assert.match(r.headers.get('content-type') ?? '', /^application\/x-ndjson/);
          return messages(r.body, (chunks) => chunks.lines.map((l) => JSON.parse(l)));
        },
        /** GET /subscribe as SSE. @param {string} [query] @param {Record<string, string>} [headers] */
        sse: async (query = '', headers = {}) => {
          const r = await fetch(`/subscribe${query}`, { headers: { accept: 'text/event-stream', ...headers } });
          if (r.status !== 200) assert.fail(`GET /subscribe answered ${r.status}: ${await r.text()}`);
          assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
          return messages(r.body, (chunks) => chunks.sse);
        },
        /** GET /subscribe as a WebSocket; messages parsed (pong as the string). @param {string} [query] */
        socket: async (query = '') => {
          const r = await fetch(`/subscribe${query}`, { headers: { upgrade: 'websocket' } });
          assert.equal(r.status, 101);
          const ws = r.webSocket;
          /** @type {any[]} */
          const received = [];
          /** @type {(() => void) | null} */
          let wake = null;
          ws.addEventListener('message', (/** @type {any} */ e) => {
            received.push(e.data === 'pong' ? 'pong' : JSON.parse(e.data));
            wake?.();
          });
          ws.accept();
          return {
            ws,
            received,
            /** Wait until `n` messages have arrived; all of them. @param {number} n */
            async take(n, ms = 10_000) {
              const deadline = Date.now() + ms;
              while (received.length < n) {
                if (Date.now() > deadline) assert.fail(`only ${received.length} of ${n} WebSocket messages arrived: ${JSON.stringify(received)}`);
                await Promise.race([new Promise((resolve) => (wake = () => resolve(undefined))), sleep(100)]);
              }
              return received.slice(0, n);
            },
          };
        },
      };
    },
  };
  return world;
}

/**
 * The messages of a streaming body, in order, whatever its chunking: NDJSON
 * lines or SSE messages (as an EventSource parses them).
 * @template T
 * @param {ReadableStream<Uint8Array>} body
 * @param {(parsed: {lines: string[], sse: any[]}) => T[]} pick
 */
function messages(body, pick) {
  const reader = body.getReader();
  const lines = lineDecoder();
  const sse = sseParser();
  /** @type {T[]} */
  const queue = [];
  let ended = false;
  /** A read kept across timeouts, so no chunk is ever lost. @type {Promise<ReadableStreamReadResult<Uint8Array>> | null} */
  let pending = null;
  let seenSse = 0;

  /** @param {Uint8Array | null} chunk */
  function take(chunk) {
    const got = chunk ? lines.push(chunk) : lines.end();
    if (chunk) sse.push(chunk);
    else sse.end();
    const fresh = sse.messages.slice(seenSse);
    seenSse = sse.messages.length;
    queue.push(...pick({ lines: got, sse: fresh }));
  }

  const stream = {
    /** The last SSE id the parser saw (what an EventSource sends back). */
    get lastEventId() {
      return sse.lastEventId;
    },
    get comments() {
      return sse.comments;
    },
    /**
     * The next message; null at the end of the body; throws after ms without one.
     * @param {number} [ms]
     * @returns {Promise<T | null>}
     */
    async next(ms = 10_000) {
      const deadline = Date.now() + ms;
      while (queue.length === 0) {
        if (ended) return null;
        pending ??= reader.read();
        const left = deadline - Date.now();
        const result = await Promise.race([pending, sleep(Math.max(left, 0)).then(() => null)]);
        if (result === null) throw new Error(`no message within ${ms} ms`);
        pending = null;
        if (result.done) {
          ended = true;
          take(null);
        } else {
          take(result.value);
        }
      }
      return /** @type {T} */ (queue.shift());
    },
    /** Messages up to and including the first for which stop is true. @param {(m: T) => boolean} stop */
    async until(stop, ms = 10_000) {
      /** @type {T[]} */
      const out = [];
      for (;;) {
        const m = await stream.next(ms);
        if (m === null) assert.fail(`the stream ended after ${JSON.stringify(out)}`);
        out.push(m);
        if (stop(m)) return out;
      }
    },
    /** Whether nothing arrives within ms. @param {number} ms */
    async quietFor(ms) {
      try {
        const m = await stream.next(ms);
        return m === null ? true : assert.fail(`unexpected message ${JSON.stringify(m)}`);
      } catch (err) {
        if (/no message within/.test(/** @type {Error} */ (err).message)) return true;
        throw err;
      }
    },
    /** Drop the connection, as a client that goes away does. */
    cancel() {
      return reader.cancel().catch(() => {});
    },
  };
  return stream;
}

/** Poll fn until it returns true. @param {() => Promise<boolean>} fn @param {string} what */
async function eventually(fn, what, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Change events only (not gap/ready/end/keepalive). @param {any[]} list */
const changesOf = (list) => list.filter((m) => typeof m.lsn === 'number' && typeof m.table === 'string');
const isReady = (/** @type {any} */ m) => m.type === 'ready';

const world = changesWorld('changes', {});
/** retainEvents 3: pruning by count. */
const countWorld = changesWorld('changes-count', { changes: { retainEvents: 3 } });
/** retainMs 1: every event but the newest is old. */
const ageWorld = changesWorld('changes-age', { changes: { retainMs: 1 } });
/** retainMs of centuries: events are kept by count only. */
const foreverWorld = changesWorld('changes-forever', { changes: { retainEvents: 2, retainMs: Number.MAX_SAFE_INTEGER } });
/** retainBytes 200,000: large rows' events are pruned by size. */
const bytesWorld = changesWorld('changes-bytes', { changes: { retainBytes: 200_000 } });
const offWorld = changesWorld('changes-off', { changes: false });
/** Capture turned off by the DOSQL_CHANGES var instead. */
const varOffWorld = changesWorld('changes-var-off', {}, 'makeClasses', { DOSQL_CHANGES: ' Off' });
/** A class of one's own around DB(), keeping one event. */
const ownWorld = changesWorld('changes-own', { changes: { retainEvents: 1 } }, 'makeOwnClasses');
/** The same without alarm(), as the guide's class: pruning runs after commits. */
const noAlarmWorld = changesWorld('changes-no-alarm', { changes: { retainEvents: 1 }, withAlarm: false }, 'makeOwnClasses');
/** Capture of one table only (changes.tables), and a list the engine refuses. */
const tablesWorld = changesWorld('changes-tables', { changes: { tables: ['Kept'] } });
const badTablesWorld = changesWorld('changes-bad-tables', { changes: { tables: ['kept', '_dosql_changes'] } });
const worlds = [world, countWorld, ageWorld, foreverWorld, bytesWorld, offWorld, varOffWorld, ownWorld, noAlarmWorld, tablesWorld, badTablesWorld];
before(() => Promise.all(worlds.map((w) => w.start())));
after(() => Promise.all(worlds.map((w) => w.destroy())));

for (const backend of BACKENDS) {
  describe(`change events (${backend})`, () => {
    test('insert, update and delete carry every value type, a blob and an integer beyond 2^53 exactly', TIMEOUT, async () => {
      const db = world.db(backend);
      await db.run('CREATE TABLE vals (id INTEGER PRIMARY KEY, i INTEGER, big INTEGER, r REAL, inf REAL, t TEXT, b BLOB, n)');
      const before = Date.now();
      await db.run("INSERT INTO vals VALUES (1, 42, 9007199254740993, 1.5, 1e999, 'héllo ✓', x'00ff10', NULL)");
      await db.run("UPDATE vals SET t = 'bye', big = -9223372036854775808 WHERE id = 1");
      await db.run('DELETE FROM vals WHERE id = 1');
      const inserted = { id: 1, i: 42, big: { $bigint: '9007199254740993' }, r: 1.5, inf: { $real: 'Infinity' }, t: 'héllo ✓', b: { $blob: 'AP8Q' }, n: null };
      const updated = { ...inserted, t: 'bye', big: { $bigint: '-9223372036854775808' } };

      const log = await db.changes({ since: 0 });
      assert.deepEqual({ ...log, events: undefined }, { events: undefined, next: 3, head: 3, oldest: 1, gap: false });
      const strip = (/** @type {any} */ e) => ({ ...e, timestamp: undefined });
      assert.deepEqual(log.events.map(strip), [
        { lsn: 1, txId: 1, timestamp: undefined, type: 'insert', table: 'vals', data: inserted },
        { lsn: 2, txId: 2, timestamp: undefined, type: 'update', table: 'vals', data: updated, old: inserted },
        { lsn: 3, txId: 3, timestamp: undefined, type: 'delete', table: 'vals', data: updated },
      ]);
      for (const e of log.events) assert.ok(e.timestamp >= before - 1000 && e.timestamp <= Date.now() + 1000, `timestamp ${e.timestamp}`);

      // A subscription from 0 sends the same events, then ready.
      const stream = await db.subscribe({ since: 0 });
      assert.deepEqual(await stream.until(isReady), [...log.events, { type: 'ready', lsn: 3 }]);
      await stream.cancel();
    });

    test('nothing rolled back becomes an event: a failed /transaction, a failed statement, /begin … /rollback, ROLLBACK TO', TIMEOUT, async () => {
      const db = world.db(backend);
      await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      const stream = await db.subscribe({ since: 0 });
      assert.deepEqual(await stream.next(), { type: 'ready', lsn: 0 });

      const failed = await db.post('/transaction', {
        operations: [
          { type: 'run', sql: "INSERT INTO t VALUES (1, 'in a failed transaction')" },
          { type: 'run', sql: "INSERT INTO t VALUES (1, 'duplicate')" },
        ],
      });
      assert.equal(failed.status, 409);
      // One statement: its first row is inserted, then it fails on the second.
      const statement = await db.post('/run', { sql: "INSERT INTO t VALUES (2, 'ok'), (2, 'duplicate')" });
      assert.equal(statement.status, 409);

      const begun = await db.post('/begin', {});
      const txId = begun.body.txId;
      assert.equal((await db.post('/run', { sql: "INSERT INTO t VALUES (3, 'rolled back')" }, { 'X-DoSQL-Transaction': txId })).status, 200);
      assert.equal((await db.post('/rollback', {}, { 'X-DoSQL-Transaction': txId })).status, 200);

      const tx = (await db.post('/begin', {})).body.txId;
      const inTx = (/** @type {string} */ sql) => db.post('/run', { sql }, { 'X-DoSQL-Transaction': tx });
      assert.equal((await inTx("INSERT INTO t VALUES (4, 'kept')")).status, 200);
      assert.equal((await inTx('SAVEPOINT s')).status, 200);
      assert.equal((await inTx("INSERT INTO t VALUES (5, 'undone by ROLLBACK TO')")).status, 200);
      assert.equal((await inTx('ROLLBACK TO s')).status, 200);
      assert.equal((await db.post('/commit', {}, { 'X-DoSQL-Transaction': tx })).status, 200);

      const [event] = changesOf(await stream.until((m) => m.lsn !== undefined));
      assert.deepEqual([event.lsn, event.txId, event.type, event.data], [1, 1, 'insert', { id: 4, v: 'kept' }]);
      assert.ok(await stream.quietFor(300));
      assert.deepEqual((await db.changes({ since: 0 })).events.map((/** @type {any} */ e) => e.data.id), [4]);
      await stream.cancel();
    });

    test('50 concurrent writers: lsns strictly increasing and gap-free, each commit\'s events share its txId', TIMEOUT, async () => {
      const db = world.db(backend);
      await db.run('CREATE TABLE w (writer INTEGER, part INTEGER)');
      const stream = await db.subscribe({});
      assert.deepEqual(await stream.next(), { type: 'ready', lsn: 0 });
      const WRITERS = 50;
      const answers = await Promise.all(
        Array.from({ length: WRITERS }, (_, writer) =>
          db.post('/transaction', {
            operations: [
              { type: 'run', sql: 'INSERT INTO w VALUES (?, 1)', params: [writer] },
              { type: 'run', sql: 'INSERT INTO w VALUES (?, 2)', params: [writer] },
            ],
          }),
        ),
      );
      for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));

      const live = [];
      while (live.length < 2 * WRITERS) live.push(await stream.next());
      const stored = (await db.changes({ since: 0 })).events;
      assert.deepEqual(live, stored, 'the live stream equals the log');
      assert.deepEqual(stored.map((/** @type {any} */ e) => e.lsn), Array.from({ length: 2 * WRITERS }, (_, i) => i + 1));
      for (let i = 0; i < stored.length; i += 2) {
        const [a, b] = stored.slice(i, i + 2);
        assert.equal(a.txId, a.lsn, 'txId is the lsn of the commit\'s first event');
        assert.equal(b.txId, a.txId, 'both events of a commit share its txId');
        assert.equal(b.data.writer, a.data.writer);
        assert.deepEqual([a.data.part, b.data.part], [1, 2]);
      }
      assert.equal(new Set(stored.map((/** @type {any} */ e) => e.data.writer)).size, WRITERS);
      assert.ok(await stream.quietFor(200));
      await stream.cancel();
    });

    test('NDJSON: resuming with since after a dropped connection loses and repeats nothing; the dropped subscriber goes', TIMEOUT, async () => {
      const db = world.db(backend);
      await db.run('CREATE TABLE t (v INTEGER)');
      for (const v of [1, 2, 3]) await db.run('INSERT INTO t VALUES (?)', [v]);
      const first = await db.subscribe({ since: 0 });
      const seen = [await first.next(), await first.next()]; // lsn 1 and 2; 3 is left unread
      await first.cancel();
      for (const v of [4, 5]) await db.run('INSERT INTO t VALUES (?)', [v]);
      // The object learns of the drop on its next write to the stream at the latest.
      await eventually(async () => (await db.info()).subscribers.streams === 0, 'the dropped subscriber to go');

      const second = await db.subscribe({ since: seen[1].lsn });
      const caught = await second.until(isReady);
      await db.run('INSERT INTO t VALUES (6)');
      const live = await second.next();
      const all = [...seen, ...changesOf(caught), live];
      assert.deepEqual(all.map((e) => e.lsn), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(all.map((e) => e.data.v), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(caught.at(-1), { type: 'ready', lsn: 5 });
      await second.cancel();
    });

    test('SSE: ids, named gap/ready events, and resuming with Last-Event-ID (which wins over ?since)', TIMEOUT, async () => {
      const db = world.db(backend);
      await db.run('CREATE TABLE t (v TEXT)');
      await db.run("INSERT INTO t VALUES ('a')");
      const first = await db.sse('?since=0');
      const opening = await first.until((m) => m.type === 'ready');
      assert.deepEqual(opening.map((m) => [m.type, m.lastEventId]), [['message', '1'], ['ready', '1']]);
      assert.equal(JSON.parse(opening[0].data).data.v, 'a');
      assert.deepEqual(JSON.parse(opening[1].data), { type: 'ready', lsn: 1 });
      await db.run("INSERT INTO t VALUES ('b')");
      const live = await first.next();
      assert.deepEqual([live?.type, live?.lastEventId, JSON.parse(live?.data).data.v], ['message', '2', 'b']);
      const lastEventId = first.lastEventId;
      await first.cancel();

      await db.run("INSERT INTO t VALUES ('c')");
      await db.run("INSERT INTO t VALUES ('d')");
      const again = await db.sse('?since=0', { 'Last-Event-ID': lastEventId });
      const resumed = await again.until((m) => m.type === 'ready');
      assert.deepEqual(resumed.map((m) => [m.type, m.lastEventId]), [['message', '3'], ['message', '4'], ['ready', '4']]);
      assert.deepEqual(resumed.slice(0, 2).map((m) => JSON.parse(m.data).data.v), ['c', 'd']);
      await again.cancel();
    });

    test('a live subscription starts at the head, filters tables case-insensitively, and never sees an open transaction\'s rows', TIMEOUT, async () => {
      const db = world.db(backend);
      await db.run('CREATE TABLE a (v TEXT)');
      await db.run('CREATE TABLE "Bee" (v TEXT)');
      await db.run('CREATE TABLE other (v TEXT)');
      await db.run("INSERT INTO a VALUES ('before')");
      const stream = await db.subscribe({ tables: ['A', 'bee'] });
      assert.deepEqual(await stream.next(), { type: 'ready', lsn: 1 });

      const tx = (await db.post('/begin', { timeoutMs: 10_000 })).body.txId;
      assert.equal((await db.post('/run', { sql: "INSERT INTO a VALUES ('in tx')" }, { 'X-DoSQL-Transaction': tx })).status, 200);
      assert.ok(await stream.quietFor(300), 'an open transaction\'s rows are not sent');
      assert.equal((await db.post('/commit', {}, { 'X-DoSQL-Transaction': tx })).status, 200);
      await db.run("INSERT INTO other VALUES ('filtered out')");
      await db.run('INSERT INTO "Bee" VALUES (\'b\')');
      const got = [await stream.next(), await stream.next(), await stream.next()];
      // A commit of tables it does not select: ready again, its lsn where to resume.
      assert.deepEqual(got.map((e) => e.type === 'ready' ? e : [e.lsn, e.table, e.data.v]), [[2, 'a', 'in tx'], { type: 'ready', lsn: 3 }, [4, 'Bee', 'b']]);
      await stream.cancel();
    });

    test('retention: a subscriber of some tables resumes from the lsn its last ready gave, and is not told gap for other tables\' events pruned meanwhile', TIMEOUT, async () => {
      const db = countWorld.db(backend);
      await db.run('CREATE TABLE rare (v INTEGER)');
      await db.run('CREATE TABLE busy (v INTEGER)');
      await db.run('INSERT INTO rare VALUES (1)');
      const stream = await db.subscribe({ tables: ['rare'], since: 0 });
      assert.deepEqual((await stream.until(isReady)).map((m) => m.lsn), [1, 1]);
      for (let v = 1; v <= 10; v++) await db.run('INSERT INTO busy VALUES (?)', [v]);
      let resumeAt = 1;
      while (resumeAt < 11) resumeAt = (await stream.next()).lsn;
      assert.equal(resumeAt, 11, 'ready again, at the last lsn it passed over');
      await stream.cancel();
      await db.fetch('/__test/alarm-now');
      await eventually(async () => (await db.changes({ since: 0 })).oldest === 9, 'the alarm to prune');
      const again = await db.subscribe({ tables: ['rare'], since: resumeAt });
      assert.deepEqual(await again.until(isReady), [{ type: 'ready', lsn: 11 }], 'no gap: none of its events was pruned');
      await again.cancel();
    });

    test('retention: the alarm keeps the newest retainEvents, and a reader from before gets gap, then the rest', TIMEOUT, async () => {
      const db = countWorld.db(backend);
      await db.run('CREATE TABLE t (v INTEGER)');
      const committedAt = Date.now();
      for (let v = 1; v <= 6; v++) await db.run('INSERT INTO t VALUES (?)', [v]);
      const { alarm } = await db.info();
      assert.ok(alarm !== null && alarm <= committedAt + 61_000 && alarm > committedAt, `an alarm within a minute of the commits: ${alarm}`);

      await db.fetch('/__test/alarm-now'); // as when it is due: workerd runs alarm()
      await eventually(async () => (await db.changes({ since: 0 })).oldest === 4, 'the alarm to prune');
      const log = await db.changes({ since: 0 });
      assert.deepEqual({ ...log, events: undefined }, { events: undefined, next: 6, head: 6, oldest: 4, gap: true });
      assert.deepEqual((await db.changes({ since: 3 })).events.map((/** @type {any} */ e) => e.lsn), [4, 5, 6], 'no gap from oldest - 1');
      // Three events left, young: the next alarm is when the oldest turns 7 days old.
      await eventually(async () => ((await db.info()).alarm ?? 0) > Date.now() + 6 * 24 * 3600_000, 're-arming at the oldest event\'s expiry');

      const stream = await db.subscribe({ since: 1 });
      assert.deepEqual(await stream.until(isReady), [{ type: 'gap', since: 1, head: 6 }, { type: 'ready', lsn: 6 }]);
      await db.run('INSERT INTO t VALUES (7)');
      assert.equal((await stream.next())?.lsn, 7, 'the stream goes on after the head');
      await stream.cancel();

      const sse = await db.sse('?since=2');
      const [gap] = await sse.until((m) => m.type === 'ready');
      assert.deepEqual([gap.type, gap.lastEventId, JSON.parse(gap.data)], ['gap', '7', { type: 'gap', since: 2, head: 7 }]);
      await sse.cancel();
    });

    test('retention: retainBytes bounds the log of a large row\'s updates (every event holds the whole row)', TIMEOUT, async () => {
      const db = bytesWorld.db(backend);
      await db.run('CREATE TABLE doc (id INTEGER PRIMARY KEY, hits INTEGER, body TEXT)');
      await db.run("INSERT INTO doc VALUES (1, 0, printf('%.*c', 60000, 'x'))");
      for (let i = 0; i < 5; i++) await db.run('UPDATE doc SET hits = hits + 1');
      await db.fetch('/__test/alarm-now');
      // Each event holds the 60 KB row: three fit in 200,000 bytes, four do not.
      await eventually(async () => (await db.changes({ since: 0 })).oldest === 4, 'the alarm to prune by size');
      assert.deepEqual((await db.changes({ since: 3 })).events.map((/** @type {any} */ e) => [e.lsn, e.data.hits]), [[4, 3], [5, 4], [6, 5]]);
    });

    test('retention: a retainMs of centuries keeps the alarm within a year (the runtime refuses dates past 2189)', TIMEOUT, async () => {
      const db = foreverWorld.db(backend);
      await db.run('CREATE TABLE t (v INTEGER)');
      for (let v = 1; v <= 4; v++) await db.run('INSERT INTO t VALUES (?)', [v]);
      await db.fetch('/__test/alarm-now');
      await eventually(async () => (await db.changes({ since: 0 })).oldest === 3, 'the alarm to prune by count');
      // Two events left: the next alarm is set (not refused and retried), within a year.
      await eventually(async () => {
        const { alarm } = await db.info();
        return alarm !== null && alarm > Date.now() + 30 * 24 * 3600_000 && alarm <= Date.now() + 366 * 24 * 3600_000;
      }, 'the next alarm a year ahead at most');
    });

    test('retention: the runtime\'s alarm prunes by age, keeps the newest event, and then sets no alarm', TIMEOUT, async () => {
      const db = ageWorld.db(backend);
      await db.run('CREATE TABLE t (v INTEGER)');
      for (let v = 1; v <= 4; v++) await db.run('INSERT INTO t VALUES (?)', [v]);
      await sleep(5);
      await db.fetch('/__test/alarm-now');
      await eventually(async () => (await db.changes({ since: 0 })).oldest === 4, 'the alarm to prune');
      const log = await db.changes({ since: 3 });
      assert.deepEqual([log.head, log.oldest, log.events.map((/** @type {any} */ e) => e.data.v)], [4, 4, [4]]);
      await eventually(async () => (await db.info()).alarm === null, 'no alarm: one event left, nothing more to prune');
      // lsns go on from the newest.
      await db.run('INSERT INTO t VALUES (5)');
      assert.deepEqual((await db.changes({ since: 4 })).events.map((/** @type {any} */ e) => e.lsn), [5]);
    });

    test('a commit that storage refused leaves neither the row nor its event, also after a restart', TIMEOUT, async () => {
      const db = world.db(backend, tenant('crash'));
      await db.run('CREATE TABLE t (v TEXT)');
      await db.run("INSERT INTO t VALUES ('a')");
      const stream = await db.subscribe({ since: 0 });
      assert.equal((await stream.next())?.lsn, 1);
      await stream.next(); // ready

      await db.fetch('/__test/fail-commits?n=1');
      const refused = await db.post('/run', { sql: "INSERT INTO t VALUES ('lost')" });
      assert.ok(refused.status >= 500, `the failed commit is an error: ${JSON.stringify(refused)}`);
      assert.deepEqual(await db.query('SELECT v FROM t'), [{ v: 'a' }]);
      assert.deepEqual((await db.changes({ since: 0 })).events.map((/** @type {any} */ e) => e.data.v), ['a']);
      await db.run("INSERT INTO t VALUES ('b')");
      const next = await stream.next();
      assert.deepEqual([next?.lsn, next?.data.v], [2, 'b'], 'no event for the lost row, and no hole');
      await stream.cancel();

      await world.restart();
      const after = world.db(backend, db.name);
      assert.deepEqual(await after.query('SELECT v FROM t ORDER BY rowid'), [{ v: 'a' }, { v: 'b' }]);
      assert.deepEqual((await after.changes({ since: 0 })).events.map((/** @type {any} */ e) => [e.lsn, e.data.v]), [[1, 'a'], [2, 'b']]);
      assert.deepEqual(await after.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    });

    test('DB() in a class of one\'s own: db.subscribe() in process, db.serveSubscribe() over a WebSocket, db.alarm() prunes', TIMEOUT, async () => {
      const db = ownWorld.db(backend);
      await db.run('CREATE TABLE t (v TEXT)');
      for (const v of ['a', 'b', 'c']) await db.run(`INSERT INTO t VALUES ('${v}')`);
      const inProcess = await (await db.fetch('/inproc?n=4')).json();
      assert.deepEqual(inProcess.map((/** @type {any} */ m) => m.lsn), [1, 2, 3, 3]);
      assert.deepEqual(inProcess[3], { type: 'ready', lsn: 3 });

      const socket = await db.socket('?since=2');
      assert.deepEqual((await socket.take(2)).map((m) => m.lsn), [3, 3]);
      await db.run("INSERT INTO t VALUES ('d')");
      assert.deepEqual((await socket.take(3))[2].data, { v: 'd' });

      // serveSubscribe() refuses a transaction's header as the class's fetch() does.
      const inTx = await db.post('/subscribe', { tables: ['t'] }, { 'X-DoSQL-Transaction': 'tx-1' });
      assert.deepEqual([inTx.status, inTx.body.code], [400, 'BAD_REQUEST']);
      assert.match(inTx.body.error, /does not run inside a transaction/);

      await db.fetch('/__test/alarm-now'); // the class's alarm() calls db.alarm()
      await eventually(async () => (await db.info()).lsns.join() === '4', 'the alarm to keep one event');
      socket.ws.close(1000, 'done');
    });

    test('DB() in a class without alarm(): the change log is pruned after commits instead', TIMEOUT, async () => {
      const db = noAlarmWorld.db(backend);
      await db.run('CREATE TABLE t (v INTEGER)'); // its commit finds that no alarm can be set
      // Five statements in one commit: the log keeps each statement's events together
      // (docs/changes.md, "Retention"), so one statement each lets it keep one event.
      const script = [1, 2, 3, 4, 5].map((v) => `INSERT INTO t VALUES (${v});`).join(' ');
      assert.equal((await db.post('/exec', { sql: script })).status, 200);
      await eventually(async () => (await db.info()).lsns.join() === '5', 'the commit to prune to one event');
      assert.equal((await db.info()).alarm, null);
    });

    test('WebSocket: stored events, ready, live events of its tables; ping answers pong; a closed socket goes', TIMEOUT, async () => {
      const db = world.db(backend);
      await db.run('CREATE TABLE t (v TEXT)');
      await db.run('CREATE TABLE skip (v TEXT)');
      await db.run("INSERT INTO t VALUES ('stored')");
      const socket = await db.socket('?since=0&tables=t');
      const [stored, ready] = await socket.take(2);
      assert.deepEqual([stored.lsn, stored.data.v, ready], [1, 'stored', { type: 'ready', lsn: 1 }]);
      await db.run("INSERT INTO skip VALUES ('x')");
      await db.run("INSERT INTO t VALUES ('live')");
      const [, , passed, live] = await socket.take(4);
      assert.deepEqual(passed, { type: 'ready', lsn: 2 }, 'passed over a commit of another table');
      assert.deepEqual([live.lsn, live.data.v], [3, 'live']);
      socket.ws.send('ping');
      assert.equal((await socket.take(5))[4], 'pong');
      assert.equal((await db.info()).subscribers.sockets, 1);
      socket.ws.close(1000, 'done');
      await eventually(async () => (await db.info()).subscribers.sockets === 0, 'the closed socket to go');
    });
  });
}

describe('change streams (sql only)', () => {
  test('WebSocket: a catch-up ends SUBSCRIBER_TOO_SLOW before more than 8 MiB of stored events (the runtime holds what it sends), and a socket from the last lsn reads on', TIMEOUT, async () => {
    const db = world.db('sql');
    await db.run('CREATE TABLE big (v TEXT)');
    // 12 events of a million characters each.
    for (let i = 0; i < 12; i++) await db.run(`INSERT INTO big VALUES (printf('%.*c', 1000000, '${String.fromCharCode(97 + i)}'))`);
    /** Messages of a socket from since until its end or ready. @param {number} since */
    const readFrom = async (since) => {
      const socket = await db.socket(`?since=${since}`);
      for (let n = 1; ; n++) {
        const last = (await socket.take(n, 30_000))[n - 1];
        if (last.type === 'end' || last.type === 'ready') {
          socket.ws.close(1000, 'done');
          return socket.received;
        }
      }
    };
    const first = await readFrom(0);
    const end = first.at(-1);
    assert.deepEqual([end.type, end.code], ['end', 'SUBSCRIBER_TOO_SLOW'], JSON.stringify(end).slice(0, 300));
    const events = first.filter((m) => m.lsn !== undefined && m.type !== 'ready');
    const sent = events.reduce((n, e) => n + JSON.stringify(e).length, 0);
    assert.equal(events.length, 8, `${events.length} events before the end, ${sent} bytes`);
    assert.match(end.error, new RegExp(`catch-up was sent \\d+ bytes of stored events, and the next would pass ${8 * 1024 * 1024}`));
    const rest = await readFrom(events.at(-1).lsn);
    assert.deepEqual(rest.at(-1), { type: 'ready', lsn: 12 });
    assert.deepEqual([...events, ...rest.slice(0, -1)].map((e) => e.data.v[0]), [...'abcdefghijkl']);

    // One event larger than the bound goes alone, as the first of a catch-up: a reader gets past it.
    const huge = world.db('sql');
    await huge.run('CREATE TABLE big (v TEXT)');
    for (let i = 0; i < 2; i++) await huge.run(`INSERT INTO big VALUES (printf('%.*c', 9000000, '${'xy'[i]}'))`);
    const socket = await huge.socket('?since=0');
    const [alone, ended] = await socket.take(2, 30_000);
    socket.ws.close(1000, 'done');
    assert.deepEqual([alone.lsn, alone.data.v.length, ended.code], [1, 9000000, 'SUBSCRIBER_TOO_SLOW']);
  });

  test('a WebSocket whose attachment barely fits keeps receiving as its cursor grows (room is checked for the largest)', TIMEOUT, async () => {
    const db = world.db('sql');
    await db.run('CREATE TABLE t (v)');
    /** Whether a socket subscribing to t and a table of this long a name is taken. @param {number} n */
    const taken = async (n) => {
      const r = await db.fetch(`/subscribe?since=0&tables=t,${'x'.repeat(n)}`, { headers: { upgrade: 'websocket' } });
      r.webSocket?.accept();
      r.webSocket?.close(1000);
      return r.status === 101;
    };
    let lo = 1;
    let hi = 20_000;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (await taken(mid)) lo = mid;
      else hi = mid - 1;
    }
    const socket = await db.socket(`?since=0&tables=t,${'x'.repeat(lo)}`);
    await socket.take(1); // ready
    for (let v = 1; v <= 70; v++) await db.run('INSERT INTO t VALUES (?)', [v]);
    const got = await socket.take(71);
    assert.deepEqual(got.slice(1).map((m) => m.data.v), Array.from({ length: 70 }, (_, i) => i + 1));
  });

  test('a live subscription reads no stored event: a first one too large to read does not stop it', TIMEOUT, async () => {
    const db = tablesWorld.db('sql'); // captures Kept only
    // The row is written before its table is captured, so the log's first event is an update.
    await db.run('CREATE TABLE other (id INTEGER PRIMARY KEY, b BLOB)');
    await db.run('INSERT INTO other VALUES (1, randomblob(6000000))');
    await db.run('ALTER TABLE other RENAME TO Kept');
    await db.run('UPDATE Kept SET b = randomblob(6000000) WHERE id = 1'); // old and new: more than a read holds
    assert.equal((await db.post('/changes', { since: 0 })).body.code, 'HEAP_LIMIT', 'the first event is too large to read');
    const stream = await db.subscribe({});
    assert.deepEqual(await stream.next(), { type: 'ready', lsn: 1 });
    await db.run('INSERT INTO Kept VALUES (2, 1)');
    assert.equal((await stream.next())?.lsn, 2);
    await stream.cancel();
  });

  test('a subscriber that does not read gets end SUBSCRIBER_TOO_SLOW; commits stay fast meanwhile', TIMEOUT, async () => {
    const db = world.db('sql');
    await db.run('CREATE TABLE big (b BLOB)');
    const stream = await db.subscribe({});
    assert.deepEqual(await stream.next(), { type: 'ready', lsn: 0 });
    // Now it reads nothing. Each event is ~350 kB of JSON (a 256 KiB blob in base64).
    /** @type {number[]} */
    const took = [];
    for (let i = 0; i < 80 && (await db.info()).subscribers.streams > 0; i++) {
      const t0 = performance.now();
      await db.run('INSERT INTO big VALUES (randomblob(262144))');
      took.push(performance.now() - t0);
    }
    assert.equal((await db.info()).subscribers.streams, 0, 'the slow subscriber was closed');
    assert.ok(Math.max(...took) < 2000, `no commit waited for the subscriber: ${took.map(Math.round)}`);

    /** @type {any[]} */
    const got = [];
    for (let m = await stream.next(); m !== null; m = await stream.next()) got.push(m);
    const end = got.pop();
    assert.equal(end.type, 'end');
    assert.equal(end.code, 'SUBSCRIBER_TOO_SLOW');
    assert.match(end.error, /subscribe again/);
    assert.ok(got.length > 0 && got.length < took.length, `some events were sent before the end: ${got.length}`);
    assert.deepEqual(got.map((e) => e.lsn), Array.from({ length: got.length }, (_, i) => i + 1), 'what was sent is whole and in order');
  });

  test('a hibernated WebSocket subscriber wakes the object on the next commit and receives it', { timeout: 90_000 }, async () => {
    const db = world.db('sql');
    await db.run('CREATE TABLE t (v TEXT)');
    const socket = await db.socket('?since=0');
    assert.deepEqual(await socket.take(1), [{ type: 'ready', lsn: 0 }]);
    const { constructed } = await db.info();
    assert.equal(constructed.length, 1);
    // workerd evicts an object 10 s after its last event when only hibernatable
    // sockets hold it. Pings meanwhile are answered without waking it.
    await sleep(12_000);
    socket.ws.send('ping');
    await sleep(2_000);
    socket.ws.send('ping');
    const commitAt = Date.now();
    await db.run("INSERT INTO t VALUES ('after the wake')");
    const got = (await socket.take(4)).slice(1);
    assert.deepEqual(got.filter((m) => m === 'pong').length, 2);
    const event = got.find((m) => m !== 'pong');
    assert.deepEqual([event.lsn, event.data.v], [1, 'after the wake']);
    const woken = (await db.info()).constructed;
    assert.equal(woken.length, 2, 'the object was evicted and constructed again');
    assert.ok(woken[1] >= commitAt - 50, `constructed again by the commit, not by the pings: ${woken[1] - commitAt} ms`);
    socket.ws.close(1000, 'done');
  });

  test('idle streams get a keepalive every 15 s: an NDJSON line, an SSE comment', TIMEOUT, async () => {
    const db = world.db('sql');
    const ndjson = await db.subscribe({});
    const sse = await db.sse();
    assert.deepEqual(await ndjson.next(), { type: 'ready', lsn: 0 });
    assert.equal((await sse.next())?.type, 'ready');
    const opened = Date.now();
    assert.deepEqual(await ndjson.next(20_000), { type: 'keepalive' });
    assert.ok(Date.now() - opened > 10_000, 'not before its time');
    assert.ok(await sse.quietFor(1_000), 'a comment is no message');
    assert.deepEqual(sse.comments, [' keepalive']);
    await Promise.all([ndjson.cancel(), sse.cancel()]);
  });

  test('a GET subscription\'s tables are split at the commas written: a name holding one is sent as %2C', TIMEOUT, async () => {
    const db = world.db('sql');
    await db.run('CREATE TABLE "a,b" (v TEXT)');
    await db.run('CREATE TABLE a (v TEXT)');
    await db.run('CREATE TABLE "b c" (v TEXT)');
    for (const table of ['"a,b"', 'a', '"b c"']) await db.run(`INSERT INTO ${table} VALUES (?)`, [table]);
    // The parameter's name is read decoded, as URLSearchParams reads it: tabl%65s is tables.
    for (const [query, tables] of [['tables=a%2Cb', ['a,b']], ['tables=a,b%20c', ['a', 'b c']], ['tables=a,b+c', ['a', 'b c']], ['tables=a%2Cb,a', ['a,b', 'a']], ['tabl%65s=a', ['a']]]) {
      const stream = await db.sse(`?since=0&${query}`);
      const got = (await stream.until((m) => m.type === 'ready')).filter((m) => m.type === 'message');
      assert.deepEqual(got.map((m) => JSON.parse(m.data).table), tables, query);
      await stream.cancel();
    }
  });

  test('bad subscriptions get 400/405 with the documented codes; /changes/prune is not for clients', TIMEOUT, async () => {
    const db = world.db('sql');
    /** @param {Promise<Response>} answer */
    const codeOf = async (answer) => {
      const r = await answer;
      return [r.status, (await r.json()).code];
    };
    /** @param {string} body */
    const post = (body) => db.fetch('/subscribe', { method: 'POST', body });
    const sse = (/** @type {string} */ query, headers = {}) => db.fetch(`/subscribe${query}`, { headers: { accept: 'text/event-stream', ...headers } });
    assert.deepEqual(await codeOf(post('{not json')), [400, 'BAD_JSON']);
    assert.deepEqual(await codeOf(post('[]')), [400, 'BAD_REQUEST']);
    assert.deepEqual(await codeOf(post('{"tables": "t"}')), [400, 'BAD_REQUEST']);
    assert.deepEqual(await codeOf(post('{"tables": [1]}')), [400, 'BAD_REQUEST']);
    assert.deepEqual(await codeOf(post('{"tables": [""]}')), [400, 'BAD_REQUEST']);
    assert.deepEqual(await codeOf(post('{"since": -1}')), [400, 'BAD_REQUEST']);
    assert.deepEqual(await codeOf(post('{"since": 1.5}')), [400, 'BAD_REQUEST']);
    assert.deepEqual(await codeOf(post('{"since": "3"}')), [400, 'BAD_REQUEST']);
    assert.deepEqual(await codeOf(sse('?since=-1')), [400, 'BAD_REQUEST']);
    assert.deepEqual(await codeOf(sse('?tables=')), [400, 'BAD_REQUEST']);
    assert.deepEqual(await codeOf(sse('', { 'Last-Event-ID': 'abc' })), [400, 'BAD_REQUEST']);
    // A field /subscribe does not take is refused, not ignored (it would watch every
    // table); in a GET's query only one differing in case alone (the page may add its own).
    assert.deepEqual(await codeOf(post('{"tabels": ["t"]}')), [400, 'BAD_REQUEST']);
    const cased = await sse('?Tables=t');
    assert.equal(cased.status, 400);
    assert.match((await cased.json()).error, /query parameter "Tables".*did you mean tables\?/);
    const busted = await sse('?tables=t&cb=123&cb=124');
    assert.equal(busted.status, 200, 'a parameter of the page\'s own is left to it');
    await busted.body?.cancel();
    // One given twice is refused, not read as its first (u's events would be missed).
    for (const query of ['?tables=t&tables=u', '?since=1&since=0', '?tables=t&since=0&since=0']) {
      const twice = await sse(query);
      assert.equal(twice.status, 400, query);
      assert.match((await twice.json()).error, /^(tables|since) is given more than once/, query);
    }
    assert.deepEqual(await codeOf(db.fetch('/subscribe')), [400, 'BAD_REQUEST'], 'a GET that is neither SSE nor an upgrade');
    assert.deepEqual(await codeOf(db.fetch('/subscribe', { method: 'PUT', body: '{}' })), [405, 'METHOD_NOT_ALLOWED']);
    assert.deepEqual(await codeOf(db.fetch('/changes/prune', { method: 'POST', body: '{"keepEvents": 0, "keepMs": 0}' })), [404, 'NOT_FOUND']);
  });

  test('the standalone worker\'s router passes SSE and WebSocket subscriptions through', TIMEOUT, async () => {
    const mf = await startStandalone({ DOSQL_TOKEN: 'secret' });
    try {
      const auth = { authorization: 'Bearer secret' };
      const url = 'http://localhost/db/router-changes';
      const run = (/** @type {string} */ sql) => mf.dispatchFetch(`${url}/run`, { method: 'POST', headers: auth, body: JSON.stringify({ sql }) });
      assert.equal((await run('CREATE TABLE t (v TEXT)')).status, 200);
      const denied = await mf.dispatchFetch(`${url}/subscribe`, { headers: { accept: 'text/event-stream' } });
      assert.equal(denied.status, 401);
      await denied.text();

      const sse = await mf.dispatchFetch(`${url}/subscribe`, { headers: { ...auth, accept: 'text/event-stream' } });
      assert.equal(sse.status, 200);
      const events = messages(/** @type {any} */ (sse.body), (p) => p.sse);
      const ws = await mf.dispatchFetch(`${url}/subscribe?tables=t`, { headers: { ...auth, upgrade: 'websocket' } });
      assert.equal(ws.status, 101);
      /** @type {any[]} */
      const received = [];
      ws.webSocket.addEventListener('message', (/** @type {any} */ e) => received.push(JSON.parse(e.data)));
      ws.webSocket.accept();
      await eventually(async () => received.length === 1, 'the WebSocket\'s ready');
      const { lsn } = received[0];

      assert.equal((await run("INSERT INTO t VALUES ('through the router')")).status, 200);
      const [ready, change] = [await events.next(), await events.next()];
      assert.deepEqual([ready?.type, JSON.parse(change?.data).data], ['ready', { v: 'through the router' }]);
      await eventually(async () => received.length === 2, 'the WebSocket\'s event');
      assert.deepEqual([received[1].lsn, received[1].data], [lsn + 1, { v: 'through the router' }]);
      await events.cancel();
      ws.webSocket.close(1000, 'done');
    } finally {
      await mf.dispose();
    }
  });

  test('changes.tables: only the named tables are captured, also after a restart; the others cannot be subscribed to', TIMEOUT, async () => {
    const db = tablesWorld.db('sql');
    await db.run('CREATE TABLE kept (v TEXT)');
    await db.run('CREATE TABLE other (v TEXT)');
    await db.run("INSERT INTO kept VALUES ('a')");
    await db.run("INSERT INTO other VALUES ('b')");
    await db.run("UPDATE other SET v = 'c'");
    const tables = async () => (await db.changes({ since: 0 })).events.map((/** @type {any} */ e) => `${e.type} ${e.table} ${e.data.v}`);
    assert.deepEqual(await tables(), ['insert kept a']);
    for (const [path, body] of [['/changes', { tables: ['other'] }], ['/subscribe', { tables: ['kept', 'other'] }]]) {
      const r = await db.post(path, body);
      assert.deepEqual([r.status, r.body.code], [400, 'BAD_REQUEST'], path);
      assert.match(r.body.error, /changes to other are not captured/);
    }
    await tablesWorld.restart();
    await db.run("INSERT INTO other VALUES ('d')");
    await db.run("INSERT INTO kept VALUES ('e')");
    assert.deepEqual(await tables(), ['insert kept a', 'insert kept e']);
  });

  test('changes.tables: a named table made where a dropped, uncaptured one was is captured (the hook remembers the table it last skipped)', TIMEOUT, async () => {
    const db = tablesWorld.db('sql', tenant('changes-reuse'));
    for (let i = 0; i < 10; i++) {
      for (const sql of ['CREATE TABLE other (v)', "INSERT INTO other VALUES ('x')", 'DROP TABLE other', 'CREATE TABLE kept (v)', `INSERT INTO kept VALUES (${i})`, 'DROP TABLE kept']) await db.run(sql);
    }
    const r = await db.post('/exec', { sql: "CREATE TABLE other (v); INSERT INTO other VALUES ('x'); DROP TABLE other; CREATE TABLE kept (v); INSERT INTO kept VALUES (99)" });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const { events } = await db.changes({ since: 0 });
    assert.deepEqual(events.map((/** @type {any} */ e) => `${e.table} ${e.data.v}`), [...Array.from({ length: 10 }, (_, i) => `kept ${i}`), 'kept 99']);
  });

  test('changes.tables naming what is never captured is BAD_CONFIG on every request', TIMEOUT, async () => {
    const db = badTablesWorld.db('sql');
    const r = await db.post('/query', { sql: 'SELECT 1' });
    assert.deepEqual([r.status, r.body.code], [500, 'BAD_CONFIG']);
    assert.match(r.body.error, /changes\.tables names _dosql_changes, whose changes are never captured/);
  });

  for (const [how, off] of [['changes: false', offWorld], ['DOSQL_CHANGES=off', varOffWorld]]) {
    test(`with ${how} nothing is captured and /subscribe is 404`, TIMEOUT, async () => {
      const db = off.db('sql');
      await db.run('CREATE TABLE t (v TEXT)');
      await db.run("INSERT INTO t VALUES ('a')");
      assert.deepEqual(await db.changes({ since: 0 }), { events: [], next: 0, head: 0, oldest: 0, gap: false });
      const r = await db.fetch('/subscribe', { method: 'POST', body: '{}' });
      assert.deepEqual([r.status, (await r.json()).code], [404, 'NOT_FOUND']);
      assert.equal((await db.info()).alarm, null, 'no retention alarm');
    });
  }
});

test('the changes option: false, defaults, or {retainEvents?, retainMs?, retainBytes?, tables?}, and nothing else', () => {
  assert.equal(checkChanges(false), false);
  assert.deepEqual(checkChanges({ retainEvents: 3, tables: ['a'] }).tables, ['a']);
  assert.equal(/** @type {any} */ (checkChanges(undefined)).retainBytes, 64 * 1024 * 1024);
  for (const bad of [{ retainEvents: -1 }, { retainMs: 1.5 }, { retainBytes: '1 MB' }, { retainBytes: -1 }, { retain: 10 }, { retainEvents: 1, bogus: 1 }, 'on', [1]]) {
    assert.throws(() => checkChanges(bad), TypeError, JSON.stringify(bad));
  }
  assert.throws(() => checkChanges({ retainEvent: 5 }), /"retainEvent" is not one of them/);
  // Unknown keys are named cut short, a few of them: a key may be megabytes, and there may be thousands.
  const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`${'k'.repeat(100_000)}${i}`, 1]));
  assert.throws(() => checkChanges(many), (/** @type {Error} */ err) => err.message.length < 700 && /"k{64}…", .* and 995 more are not one of them$/.test(err.message));
});
