// load-model.test.js — a seeded load and concurrency model of one Durable Object.
//
// Dozens of clients at once on one database, both backends, mixing every kind of
// request: autocommit writes, batches (some failing half way), libSQL (Hrana) streams
// that open their own transaction, interactive
// transactions (committed, rolled back, left to idle out, committed as their
// timeout fires, committed beside their last write), reads at a point (asOf), exports while writes go on, restores,
// branches, imports of an earlier export, subscribers (NDJSON and WebSocket), and
// resets of the object (testReopen: ctx.abort()) in the middle of it all.
//
// Every write adds rows of unique keys to a table without a key, so a write applied
// twice shows as two rows. The model keeps, per key, what its request was told:
// acknowledged, refused (a coded error: its rows must never appear), or unknown (the
// object was reset under it). At the end it checks:
// - every answer was a result or a coded error DoSQL documents, never INTERNAL or a
//   bare 500 (a reset object's requests excepted: the platform failed them);
// - no key is there twice, nor any key nobody wrote, nor one whose write was refused;
// - every key acknowledged by a request sent after the last restore or import answered
//   is there (before that, the restore may have taken it back), and a restore's commit
//   holds exactly the rows of its point;
// - the change log holds exactly one insert event per row, and every event a subscriber
//   received is the log's event of that lsn, each stream in order with no gap but a
//   documented `gap` event, the last stream seeing every event to the head.
//
// The suite runs seed 1; LOAD_MODEL_SEED=<n> replays another (a failure prints it),
// =random draws one; LOAD_MODEL_CLIENTS and LOAD_MODEL_OPS scale it.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, BACKENDS, tenant, seededRandom } from './harness.js';
import { TRANSACTION_HEADER } from '../../worker-shim/src/client/client.js';

const SEED = process.env.LOAD_MODEL_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.LOAD_MODEL_SEED ?? 1);
const CLIENTS = Number(process.env.LOAD_MODEL_CLIENTS ?? 24);
const OPS = Number(process.env.LOAD_MODEL_OPS ?? 20);

const MIGRATIONS = [{ name: '0001_k.sql', sql: 'CREATE TABLE k (key TEXT NOT NULL, n INTEGER NOT NULL);' }];

const world = createWorld('load-model');
before(() => world.start({ migrations: MIGRATIONS }));
after(() => world.destroy());

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One run of the model on one database.
 * @param {'sql' | 'kv'} backend @param {number} seed
 */
async function runModel(backend, seed) {
  const name = tenant('load');
  const base = `http://localhost/${backend}/${name}`;
  /** @type {string[]} */
  const violations = [];
  const history = backend === 'sql';
  /** Logical time: one tick per request sent or answered. */
  let clock = 0;
  /** The tick at which the last restore or import answered. */
  let lastWipe = 0;
  /** The ticks of reset windows (a request overlapping one may fail uncoded). @type {{from: number, to: number}[]} */
  const resets = [];
  /** key -> {state, sent} @type {Map<string, {state: 'acked' | 'refused' | 'unknown' | 'pending', sent: number}>} */
  const keys = new Map();
  /** Exports taken, for imports. @type {Uint8Array[]} */
  const exports = [];
  /** Streams' events, per stream, and the tick their request was sent. @type {{kind: string, events: any[], started: number}[]} */
  const streams = [];
  let stopping = false;
  /** How many of some kinds of request did their whole work, for the summary. */
  const tally = { hrana: 0, restored: 0, imported: 0, idledOut: 0 };
  /** Subscribers reading beside the load. @type {Promise<void>[]} */
  const background = [];

  /** @param {string} path @param {any} [init] */
  async function send(path, init = {}) {
    const sent = ++clock;
    let response;
    let bytes;
    try {
      response = await world.mf.dispatchFetch(`${base}${path}`, init);
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (err) {
      // No answer at all (a reset cut the body): the platform's failure, judged as such.
      return { status: 0, body: undefined, text: String(err), sent, done: ++clock };
    }
    const text = new TextDecoder().decode(bytes);
    let body;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: response.status, body, text, bytes, sent, done: ++clock, webSocket: response.webSocket };
  }
  /** @param {string} path @param {unknown} body @param {string} [txId] */
  const post = (path, body, txId) =>
    send(path, { method: 'POST', headers: { 'content-type': 'application/json', ...(txId ? { [TRANSACTION_HEADER]: txId } : {}) }, body: JSON.stringify(body) });

  /** Whether an answer overlapped a reset of the object (the platform may fail it). */
  const nearReset = (/** @type {{sent: number, done: number}} */ a) => resets.some((r) => a.sent <= r.to && a.done >= r.from);

  /**
   * Check an answer: 2xx, or a coded error among allowed. Returns 'ok', 'error' (coded,
   * nothing done), or 'unknown' (failed by a reset).
   * @param {string} what @param {any} a @param {string[]} allowed
   */
  function judge(what, a, allowed) {
    if (a.status >= 200 && a.status < 300) {
      if (a.body !== undefined || what === '/export') return 'ok';
      // A reset may cut an answer's body short after its status (seen once in CI):
      // the platform's failure; anywhere else, a 2xx must be JSON.
      if (nearReset(a)) return 'unknown';
      violations.push(`${what}: ${a.status} with a body that is not JSON: ${a.text.slice(0, 300)}`);
      return 'unknown';
    }
    const code = a.body?.code;
    if ((nearReset(a) || a.text.includes('test: reopen from storage')) && (a.status === 0 || code === undefined || code === 'OBJECT_UNAVAILABLE')) return 'unknown';
    if (typeof code !== 'string' || !allowed.includes(code)) {
      violations.push(`${what}: ${a.status} ${a.text.slice(0, 300)}`);
      return 'unknown';
    }
    return 'error';
  }

  /** @param {string[]} ks @param {'acked' | 'refused' | 'unknown'} state */
  const settle = (ks, state) => {
    for (const key of ks) /** @type {any} */ (keys.get(key)).state = state;
  };
  /** @param {string[]} ks @param {number} sent */
  const attempt = (ks, sent) => {
    for (const key of ks) keys.set(key, { state: 'pending', sent });
  };
  const insert = (/** @type {string} */ key) => ({ sql: 'INSERT INTO k (key, n) VALUES (?, ?)', params: [key, key.length] });
  const FAILS = { sql: 'INSERT INTO k (key, n) VALUES (?, ?)', params: ['never', null] }; // NOT NULL

  const WRITE_ERRORS = ['OBJECT_UNAVAILABLE', 'TRANSACTION_ABORTED'];
  const TX_ERRORS = ['TRANSACTION_EXPIRED', 'TRANSACTION_ABORTED', 'OBJECT_UNAVAILABLE'];

  /** @param {() => number} rnd @param {number} c @param {number} j */
  async function step(rnd, c, j) {
    const key = (/** @type {number} */ i) => `c${c}-${j}-${i}`;
    const r = rnd();
    if (r < 0.05) {
      await hrana(rnd, [key(0), key(1)]);
    } else if (r < 0.25) {
      const ks = [key(0)];
      attempt(ks, clock + 1);
      const a = await post('/run', insert(ks[0]));
      const v = judge('/run', a, WRITE_ERRORS);
      settle(ks, v === 'ok' ? 'acked' : v === 'error' ? 'refused' : 'unknown');
    } else if (r < 0.37) {
      const ks = [key(0), key(1), key(2)];
      const failing = rnd() < 0.3;
      attempt(ks, clock + 1);
      const ops = ks.map(insert);
      if (failing) ops.splice(2, 0, FAILS);
      const a = await post('/batch', { operations: ops });
      const v = judge('/batch', a, [...WRITE_ERRORS, 'SQLITE_CONSTRAINT_NOTNULL']);
      if (failing && v === 'ok') violations.push(`/batch with a failing statement answered ${a.status}`);
      settle(ks, v === 'ok' ? 'acked' : v === 'error' ? 'refused' : 'unknown');
    } else if (r < 0.65) {
      await transaction(rnd, [key(0), key(1)]);
    } else if (r < 0.75) {
      const h = history ? await post('/history', {}) : null;
      const lsn = h?.body?.current?.lsn ?? 1;
      const a = await post('/query', { sql: 'SELECT count(*) AS n FROM k', asOf: Math.max(0, lsn - Math.floor(rnd() * 5)) });
      // A point before the table (after a restore or an import) has none.
      if (!/^no such table: k$/.test(a.body?.error ?? '')) judge('/query asOf', a, ['HISTORY_UNSUPPORTED', 'POINT_TOO_OLD', 'OBJECT_UNAVAILABLE']);
    } else if (r < 0.82) {
      const a = await send('/export');
      if (judge('/export', a, ['OBJECT_UNAVAILABLE']) === 'ok' && a.bytes && a.bytes.length > 0) {
        if (new TextDecoder().decode(a.bytes.subarray(0, 15)) !== 'SQLite format 3') violations.push(`/export answered no SQLite file (${a.bytes.length} bytes)`);
        else exports.push(a.bytes);
      }
    } else if (r < 0.845) {
      const h = history ? await post('/history', {}) : null;
      const lsn = h?.body?.current?.lsn ?? 1;
      const to = Math.max(1, lsn - Math.floor(rnd() * 4));
      const a = await post('/restore', { to });
      if (judge('/restore', a, ['HISTORY_UNSUPPORTED', 'POINT_TOO_OLD', 'OBJECT_UNAVAILABLE', 'RESTORE_WOULD_MIGRATE']) === 'ok') {
        lastWipe = Math.max(lastWipe, a.done);
        tally.restored++;
        // The restore's commit holds what its point held, to the row: no write slipped in.
        const rows = async (/** @type {number} */ lsn) => post('/query', { sql: 'SELECT key FROM k ORDER BY key, rowid', asOf: lsn });
        const [then, now] = [await rows(a.body.restoredTo.lsn), await rows(a.body.current.lsn)];
        if (then.status === 200 && now.status === 200 && JSON.stringify(then.body.rows) !== JSON.stringify(now.body.rows)) {
          violations.push(`restore to lsn ${a.body.restoredTo.lsn}: its commit ${a.body.current.lsn} holds ${now.body.rows.length} rows, the point ${then.body.rows.length}`);
        }
      }
    } else if (r < 0.86 && exports.length > 0) {
      const file = exports[Math.floor(rnd() * exports.length)];
      const a = await send('/import', { method: 'POST', body: file });
      if (judge('/import', a, ['IMPORT_IN_PROGRESS', 'OBJECT_UNAVAILABLE']) === 'ok') {
        lastWipe = Math.max(lastWipe, a.done);
        tally.imported++;
      }
    } else if (r < 0.91) {
      const a = await post('/__rpc', { method: 'branch', args: [`${name}-b${c}-${j}`] });
      const code = a.body?.error ? /\[([A-Z_]+) \d+\]/.exec(a.body.error.message)?.[1] : null;
      const reset = nearReset(a) || /test: reopen from storage/.test(a.text);
      // POINT_TOO_OLD: an import replaced the database between the branch's check and its copy.
      if (a.status !== 200 || (a.body?.error && !['HISTORY_UNSUPPORTED', 'OBJECT_UNAVAILABLE', 'POINT_TOO_OLD'].includes(/** @type {string} */ (code)) && !reset)) {
        violations.push(`branch: ${a.status} ${a.text.slice(0, 300)}`);
      }
    } else if (r < 0.92) {
      // Grows the engine's memory past RECYCLE_MEMORY_BYTES: a fresh engine follows, holding the gate.
      const a = await post('/query', { sql: 'SELECT length(zeroblob(58000000)) AS n' });
      judge('/query zeroblob', a, ['OBJECT_UNAVAILABLE', 'HEAP_LIMIT']);
    } else if (r < 0.93) {
      // Recorded before it is sent: requests failing meanwhile are judged by it.
      const reset = { from: ++clock, to: Infinity };
      resets.push(reset);
      await post('/__rpc', { method: 'testReopen', args: [] });
      reset.to = ++clock;
    } else {
      background.push(subscribe(rnd() < 0.5 ? 'ndjson' : 'socket', rnd)); // read to the end, beside the load
    }
  }

  /** An interactive transaction: committed, rolled back, abandoned, committed as it times out, or beside its last write. @param {() => number} rnd @param {string[]} ks */
  async function transaction(rnd, ks) {
    const fate = rnd();
    const timeoutMs = fate < 0.2 ? 100 + Math.floor(rnd() * 150) : 5000;
    const begun = await post('/begin', { timeoutMs });
    if (judge('/begin', begun, ['OBJECT_UNAVAILABLE']) !== 'ok') return;
    const txId = begun.body.txId;
    attempt(ks, begun.sent);
    let alive = true;
    // Some send their last write and the commit at once: the object runs them in arrival order.
    const pipelined = fate >= 0.35 && fate < 0.5;
    for (const key of pipelined ? ks.slice(0, 1) : ks) {
      const a = await post('/run', insert(key), txId);
      if (judge('/run in tx', a, TX_ERRORS) !== 'ok') {
        alive = false;
        break;
      }
    }
    if (!alive) {
      // Ended under it: nothing of it may stay (or, after a reset, who knows).
      settle(ks, resets.some((r) => r.to >= begun.sent) ? 'unknown' : 'refused');
      return;
    }
    if (fate < 0.1) {
      // Left to idle out: its rows never appear, and a late commit is told so (or, on a
      // machine so busy that the timer has not fired yet, commits: either is consistent).
      await sleep(timeoutMs * 3);
      const a = await post('/commit', {}, txId);
      const v = judge('late /commit', a, TX_ERRORS);
      if (v === 'error') tally.idledOut++;
      settle(ks, v === 'ok' ? 'acked' : v === 'error' && !nearReset(a) ? 'refused' : 'unknown');
      return;
    }
    if (fate < 0.2) await sleep(timeoutMs - 5 + Math.floor(rnd() * 10)); // the commit races the timer
    if (pipelined) {
      const [w, a] = await Promise.all([post('/run', insert(ks[1]), txId), post('/commit', {}, txId)]);
      const wrote = judge('/run beside its /commit', w, TX_ERRORS);
      const committed = judge('/commit beside a /run', a, TX_ERRORS);
      settle([ks[0]], committed === 'ok' ? 'acked' : committed === 'error' ? 'refused' : 'unknown');
      settle([ks[1]], committed === 'ok' && wrote === 'ok' ? 'acked' : committed === 'unknown' || wrote === 'unknown' ? 'unknown' : 'refused');
      return;
    }
    const end = fate < 0.35 ? '/rollback' : '/commit';
    const a = await post(end, {}, txId);
    const v = judge(end, a, TX_ERRORS);
    if (end === '/rollback') settle(ks, v === 'unknown' ? 'unknown' : 'refused');
    else settle(ks, v === 'ok' ? 'acked' : v === 'error' && !nearReset(a) ? 'refused' : 'unknown');
  }

  /**
   * A libSQL (Hrana) stream whose own BEGIN opens the transaction: in one pipeline, or
   * across two tied by the baton (the stream holds the object in between).
   * @param {() => number} rnd @param {string[]} ks
   */
  async function hrana(rnd, ks) {
    const execute = (/** @type {string} */ sql, /** @type {string[]} */ args = []) => ({ type: 'execute', stmt: { sql, args: args.map((value) => ({ type: 'text', value })) } });
    const inserts = ks.map((k) => execute('INSERT INTO k (key, n) VALUES (?, length(?))', [k, k]));
    const end = rnd() < 0.8 ? 'COMMIT' : 'ROLLBACK';
    const split = rnd() < 0.5;
    attempt(ks, clock + 1);
    const pipelines = split ? [[execute('BEGIN'), inserts[0]], [inserts[1], execute(end), { type: 'close' }]] : [[execute('BEGIN'), ...inserts, execute(end), { type: 'close' }]];
    let baton = null;
    /** @type {any[]} */
    let results = [];
    for (const requests of pipelines) {
      const a = await post('/v2/pipeline', { baton, requests });
      const v = judge('/v2/pipeline', a, ['STREAM_EXPIRED', 'OBJECT_UNAVAILABLE']);
      if (v !== 'ok') return settle(ks, v === 'unknown' || pipelines.length > 1 ? 'unknown' : 'refused');
      baton = a.body.baton;
      results = a.body.results;
      const failed = results.find((x) => x.type !== 'ok');
      if (failed) {
        violations.push(`/v2/pipeline: ${JSON.stringify(failed).slice(0, 300)}`);
        return settle(ks, 'unknown');
      }
    }
    settle(ks, end === 'COMMIT' ? 'acked' : 'refused');
    tally.hrana++;
  }

  /** A subscriber from the log's start, read until its stream ends or the run stops. @param {'ndjson' | 'socket'} kind @param {() => number} rnd */
  async function subscribe(kind, rnd) {
    const events = [];
    streams.push({ kind, events, started: clock + 1 });
    const since = Math.floor(rnd() * 3);
    if (kind === 'socket') {
      const a = await send(`/subscribe?since=${since}`, { headers: { upgrade: 'websocket' } });
      if (a.status !== 101) return void judge('/subscribe (socket)', a, ['OBJECT_UNAVAILABLE']);
      const ws = a.webSocket;
      const ended = new Promise((resolve) => {
        ws.addEventListener('message', (/** @type {any} */ e) => {
          const m = JSON.parse(e.data);
          events.push(m);
          if (m.type === 'end') resolve(undefined);
        });
        ws.addEventListener('close', () => resolve(undefined));
      });
      ws.accept();
      await Promise.race([ended, until(() => stopping)]);
      ws.close();
      return;
    }
    const response = await world.mf.dispatchFetch(`${base}/subscribe`, { method: 'POST', body: JSON.stringify({ since }) });
    if (response.status !== 200) return void judge('/subscribe', { status: response.status, text: await response.text(), sent: clock, done: clock }, ['OBJECT_UNAVAILABLE']);
    const reader = response.body.getReader();
    let buffered = '';
    const stop = until(() => stopping).then(() => reader.cancel());
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        break;
      }
      if (chunk.done) break;
      buffered += new TextDecoder().decode(chunk.value);
      const lines = buffered.split('\n');
      buffered = /** @type {string} */ (lines.pop());
      for (const line of lines) if (line) events.push(JSON.parse(line));
      if (events.at(-1)?.type === 'end') break;
    }
    void stop;
  }

  /** @param {() => boolean} cond */
  async function until(cond) {
    while (!cond()) await sleep(20);
  }

  // The load.
  const runners = Array.from({ length: CLIENTS }, async (_, c) => {
    const rnd = seededRandom(seed * 1000 + c);
    for (let j = 0; j < OPS; j++) await step(rnd, c, j);
  });
  // A subscriber of each kind throughout.
  const lasting = [subscribe('ndjson', () => 0), subscribe('socket', () => 0)];
  await Promise.all(runners);

  // The end: a subscriber from after the last restore or import, then the checks.
  // A subscriber from the start of the log as it is now.
  const last = subscribe('ndjson', () => 0);
  const lastStream = /** @type {{events: any[]}} */ (streams.at(-1));
  const rows = await post('/query', { sql: 'SELECT key, count(*) AS c FROM k GROUP BY key' });
  assert.equal(rows.status, 200, rows.text);
  const logRead = await post('/batch', { operations: [{ sql: 'SELECT lsn, type, tbl, data FROM _dosql_changes' }] });
  assert.equal(logRead.status, 200, logRead.text);
  const log = logRead.body.results[0].rows.map((/** @type {any} */ e) => ({ lsn: e.lsn, type: e.type, table: e.tbl, data: JSON.parse(e.data) }));
  // Every stream still open reads on to the head.
  const head = log.length > 0 ? log.at(-1).lsn : 0;
  const reached = (/** @type {any[]} */ events) => events.some((m) => m.type === 'end' || (m.type === 'gap' && m.head >= head) || ((m.type === 'ready' || m.lsn !== undefined) && (m.lsn ?? 0) >= head));
  await until(() => reached(lastStream.events));
  stopping = true;
  await Promise.all([...lasting, ...background, last]);

  const present = new Map(rows.body.rows.map((/** @type {any} */ r) => [r.key, r.c]));
  for (const [key, c] of present) {
    const k = keys.get(key);
    if (c !== 1) violations.push(`key ${key} is there ${c} times`);
    if (!k) violations.push(`key ${key} is there, but nobody wrote it`);
    else if (k.state === 'refused') violations.push(`key ${key} is there, but its write was refused`);
    else if (k.state === 'pending') violations.push(`key ${key} is there, but its write never settled`);
  }
  for (const [key, k] of keys) {
    if (k.state === 'acked' && k.sent > lastWipe && !present.has(key)) violations.push(`key ${key} was acknowledged (sent at ${k.sent}, after the last restore or import at ${lastWipe}) and is gone`);
  }
  // The log: one insert event per row, and every event a stream saw is the log's.
  const byLsn = new Map(log.map((e) => [e.lsn, e]));
  const inserted = new Map();
  for (const e of log) if (e.table === 'k' && e.type === 'insert') inserted.set(e.data.key, (inserted.get(e.data.key) ?? 0) + 1);
  for (const [key, c] of present) if (inserted.get(key) !== c) violations.push(`key ${key}: ${c} rows, ${inserted.get(key) ?? 0} insert events`);
  for (const [key] of inserted) if (!present.has(key)) violations.push(`key ${key}: an insert event, no row`);
  const lsns = log.map((e) => e.lsn);
  for (const { kind, events, started } of streams) {
    /** @type {number | null} */
    let prev = null;
    for (const m of events) {
      if (m.type === 'gap') prev = m.head;
      else if (m.type === 'end') {
        if (!['DATABASE_RESTORED', 'DATABASE_REPLACED'].includes(m.code)) violations.push(`${kind} stream ended ${m.code}: ${m.error}`);
      } else if (m.lsn !== undefined && m.type !== 'ready') {
        if (prev !== null && m.lsn <= prev) violations.push(`${kind} stream: lsn ${m.lsn} after ${prev}`);
        // Numbers are never reused: an lsn names one event for good (exports and imports carry it).
        const logged = byLsn.get(m.lsn);
        if (logged && JSON.stringify([logged.type, logged.table, logged.data]) !== JSON.stringify([m.type, m.table, m.data])) violations.push(`${kind} stream: event ${m.lsn} is ${JSON.stringify(m)}, the log's ${JSON.stringify(logged)}`);
        // A stream of the log as it is now (opened after the last restore or import) skips none of it.
        if (started > lastWipe && prev !== null) {
          const skipped = lsns.filter((l) => l > /** @type {number} */ (prev) && l < m.lsn);
          if (skipped.length > 0) violations.push(`${kind} stream: ${m.lsn} after ${prev}, but the log has ${skipped.join(', ')} between`);
        }
        if (started > lastWipe && !logged) violations.push(`${kind} stream: event ${m.lsn}, which the log does not hold`);
        prev = m.lsn;
      }
    }
  }
  const integrity = await post('/query', { sql: 'PRAGMA integrity_check' });
  assert.deepEqual(integrity.body?.rows, [{ integrity_check: 'ok' }], integrity.text);
  return { violations, rows: present.size, log: log.length, streams: streams.length, ...tally };
}

for (const backend of BACKENDS) {
  describe(`load model (${backend})`, () => {
    test(`seed ${SEED}: ${CLIENTS} clients × ${OPS} mixed requests, nothing acknowledged lost or doubled`, { timeout: 120_000 }, async () => {
      const result = await runModel(backend, SEED);
      console.log(`seed ${SEED} ${backend}:`, JSON.stringify({ ...result, violations: result.violations.length }));
      assert.deepEqual(result.violations, [], `seed ${SEED} (LOAD_MODEL_SEED=${SEED} replays it)`);
    });
  });
}
