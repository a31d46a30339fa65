// One object, many callers at once, every entry point: the guide's HTTP protocol and
// its interactive transactions, Workers RPC (by hand, the client's transaction(fn), and
// the D1 facade's BEGIN/COMMIT/ROLLBACK as drizzle sends them, idling out too),
// libSQL's Hrana over HTTP and over WebSocket, change streams resumed with since, and
// the object restarted in the middle. The invariants are the docs': every acknowledged
// write is there afterwards, nothing failed is half there, read-modify-write increments
// from every caller add up, change events come in order, gap-free, each once; nothing
// hangs, and a restart serves the same state. The mix runs on both backends: on legacy
// key-value storage with a page cache of four pages, so pages are read from storage
// inside transactions (which ends them: TRANSACTION_ABORTED, a documented retry).
//
// The worker is the standalone one (router, token, Hrana sockets) plus a route of its
// own for RPC from inside workerd (tests/worker/fixtures/stress-worker.js).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { openHranaSocket } from './hrana-socket-client.js';
import { createClient as createHttpClient } from '@libsql/client/http';
import { createClient as createWsClient } from '@libsql/client/ws';
import { startStandalone, tenant, TMP } from './harness.js';
import { TRANSACTION_HEADER } from '../../worker-shim/src/client/client.js';

const TOKEN = 'stress-test-token';
const SCRIPT = 'tests/worker/fixtures/stress-worker.js';
/** Generous: only to tell a hung request from a slow one. */
const DEADLINE_MS = 30_000;

/** The running workerd, on the backend its describe() started it with. @type {any} */
let mf;
let origin = '';
let persist = '';
/** @type {'sql' | 'kv'} */
let backend = 'sql';

/** Start workerd with the objects on one backend (a describe's before). @param {'sql' | 'kv'} on */
async function startWorld(on) {
  backend = on;
  mkdirSync(TMP, { recursive: true });
  persist = mkdtempSync(`${TMP}/stress-`);
  mf = await startStandalone({ DOSQL_TOKEN: TOKEN }, { persist, script: SCRIPT, backend });
  origin = String(await mf.ready);
}

async function stopWorld() {
  await mf?.dispose();
  mf = null;
  rmSync(persist, { recursive: true, force: true });
}

/** Restart workerd on the same storage. */
async function restartWorld() {
  await mf.dispose();
  mf = await startStandalone({ DOSQL_TOKEN: TOKEN }, { persist, script: SCRIPT, backend });
  origin = String(await mf.ready);
}

/**
 * A request to a database through the router: {status, code, body, text}, status 0 for
 * a request that never got an answer (the object was reset under it). One that takes
 * longer than DEADLINE_MS is a hang, recorded in `hangs` and failed by the test.
 * @param {string[]} hangs @param {string} name @param {string} path @param {unknown} [body]
 * @param {{headers?: Record<string, string>, method?: string}} [init]
 */
async function send(hangs, name, path, body, { headers = {}, method = 'POST' } = {}) {
  const signal = AbortSignal.timeout(DEADLINE_MS);
  try {
    const answer = await fetch(`${origin}db/${name}${path}`, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
      signal,
    });
    const bytes = new Uint8Array(await answer.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: answer.status, code: json?.code, body: json, text, bytes };
  } catch (err) {
    if (signal.aborted) hangs.push(`${method} ${path} ${JSON.stringify(body)?.slice(0, 120)}`);
    return { status: 0, code: undefined, body: undefined, text: String(err), bytes: new Uint8Array(0) };
  }
}

/**
 * Over RPC from inside workerd (the fixture's /rpc route): {value} or {error}. A call the
 * object's reset cut off before any answer (workerd may close the Worker's connection
 * with it) is {error} "no answer: ...", as send's status 0.
 * @param {string} name @param {object} call
 */
async function rpc(name, call) {
  try {
    const answer = await fetch(`${origin}rpc/${name}`, { method: 'POST', body: JSON.stringify(call), signal: AbortSignal.timeout(DEADLINE_MS) });
    return await answer.json();
  } catch (err) {
    return { error: { message: `no answer: ${err}` } };
  }
}

/** A promise that rejects past DEADLINE_MS, for calls of @libsql/client. @template T @param {Promise<T>} p @param {string[]} hangs @param {string} what @returns {Promise<T>} */
function withDeadline(p, hangs, what) {
  /** @type {any} */
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      hangs.push(what);
      reject(new Error(`${what} hung`));
    }, DEADLINE_MS);
  });
  return /** @type {Promise<T>} */ (Promise.race([p, deadline])).finally(() => clearTimeout(timer));
}

/**
 * What the callers were told, per source (the counter it increments): acked (the
 * commit answered 200), unknown (the commit got no answer: the object was reset under
 * it), and the items of each, which a transaction writes beside its increment.
 */
class Outcomes {
  /** @type {Map<string, {acked: number, unknown: number}>} */
  counts = new Map();
  /** @type {Set<string>} */ ackedItems = new Set();
  /** @type {Set<string>} */ unknownItems = new Set();
  /** @type {Set<string>} */ failedItems = new Set();
  /** Errors no caller should see here: wrong codes, 500s for a caller's request. @type {string[]} */
  unexpected = [];
  /** Transactions ended by a page read from key-value storage (TRANSACTION_ABORTED). */
  pageFetches = 0;

  /** @param {string} source @param {'acked' | 'unknown' | 'failed'} outcome @param {string} [item] */
  note(source, outcome, item) {
    const c = this.counts.get(source) ?? { acked: 0, unknown: 0 };
    if (outcome !== 'failed') c[outcome]++;
    this.counts.set(source, c);
    if (item) (outcome === 'acked' ? this.ackedItems : outcome === 'unknown' ? this.unknownItems : this.failedItems).add(item);
  }
}

/**
 * Whether a failure is one the object's restart explains: no answer, the platform's
 * reset passed on as 500 (the router's, or RPC's), or the transaction or stream the
 * restart took away. Anything else is unexpected.
 * @param {string} detail
 */
function explainedByRestart(detail) {
  return /test: abort|TRANSACTION_EXPIRED|STREAM_EXPIRED|fetch failed|terminated|socket hang up|ECONNRESET|Network connection lost/.test(detail);
}

/**
 * Whether a failure is a transaction ended because a page had to be read from legacy
 * key-value storage (TRANSACTION_ABORTED, docs/transactions.md: retry it), which only
 * that backend has.
 * @param {string} detail
 */
function pageFetched(detail) {
  return backend === 'kv' && /had to be fetched from storage, so the transaction was rolled back/.test(detail);
}

/**
 * A raw Hrana WebSocket (subprotocol hrana2), past its hello: request(r) sends one
 * request and resolves to its response_ok or response_error message.
 * @param {string} name
 */
async function hranaSocket(name) {
  return openHranaSocket(`${origin.replace(/^http/, 'ws')}db/${name}`, TOKEN, { deadlineMs: DEADLINE_MS });
}

describe('stress: one object, every entry point', () => {
  before(() => startWorld('sql'));
  after(stopWorld);

  test('a libSQL WebSocket reaches the object again after it restarts: its old streams expire, new ones work', async () => {
    const name = tenant('ws-restart');
    const socket = await hranaSocket(name);
    try {
      assert.equal((await socket.request({ type: 'open_stream', stream_id: 1 })).type, 'response_ok');
      assert.equal((await socket.request({ type: 'execute', stream_id: 1, stmt: { sql: 'SELECT 1' } })).type, 'response_ok');
      assert.deepEqual(await rpc(name, { op: 'abort' }), { value: { ok: true } });
      // The socket outlives the object; a stream opened now runs on the new one.
      assert.equal((await socket.request({ type: 'open_stream', stream_id: 2 })).type, 'response_ok');
      const fresh = await socket.request({ type: 'execute', stream_id: 2, stmt: { sql: 'SELECT 1 AS one' } });
      assert.equal(fresh.type, 'response_ok', JSON.stringify(fresh));
      assert.deepEqual(fresh.response.result.rows, [[{ type: 'integer', value: '1' }]]);
      // The stream of before the restart is gone with the old object (docs/hrana.md).
      const old = await socket.request({ type: 'execute', stream_id: 1, stmt: { sql: 'SELECT 1' } });
      assert.equal(old.type, 'response_error');
      assert.equal(old.error.code, 'STREAM_EXPIRED', JSON.stringify(old));
    } finally {
      socket.close();
    }
  });

  test('a request whose object is reset under it is 503 OBJECT_UNAVAILABLE: over HTTP, libSQL (as its clients read errors) and the client', async () => {
    const reset = (/** @type {string} */ path, /** @type {unknown} */ body) => fetch(`${origin}db/${tenant('reset')}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'x-test-reset': '1' },
      body: JSON.stringify(body),
    });
    const libsql = await reset('/v2/pipeline', { baton: null, requests: [{ type: 'execute', stmt: { sql: 'SELECT 1' } }] });
    assert.equal(libsql.status, 503);
    assert.equal(libsql.headers.get('content-type'), 'application/json');
    const libsqlError = await libsql.json();
    assert.deepEqual(Object.keys(libsqlError).sort(), ['code', 'message']);
    assert.equal(libsqlError.code, 'OBJECT_UNAVAILABLE');
    assert.match(libsqlError.message, /was reset .*\(test: reset under the request\).*retry one that can run twice/);

    const plain = await reset('/query', { sql: 'SELECT 1' });
    assert.equal(plain.status, 503);
    const plainError = await plain.json();
    assert.equal(plainError.code, 'OBJECT_UNAVAILABLE');
    assert.match(plainError.error, /test: reset under the request/);

    const client = await (await fetch(`${origin}rpc/${tenant('reset')}`, { method: 'POST', body: JSON.stringify({ op: 'client-query' }) })).json();
    assert.equal(client.error?.code, 'OBJECT_UNAVAILABLE', JSON.stringify(client));
    assert.equal(client.error.status, 503);
    assert.match(client.error.message, /test: reset under the request/);
  });

  test('every entry point at once, the object restarted in the middle: acknowledged writes stay, failed ones leave nothing, increments add up, each event comes once, in order', { timeout: 180_000 }, everyEntryPointAtOnce);
});

// On legacy key-value storage a request that needs a page not in the engine's cache
// stops, the object reads it (an await, during which other requests come in), and the
// request runs again: inside an interactive transaction that read ends it
// (TRANSACTION_ABORTED), and a libSQL batch begun in the same pipeline runs again from
// its BEGIN. The same mix, the same invariants.
describe('stress on the key-value backend: one object, every entry point', () => {
  before(() => startWorld('kv'));
  after(stopWorld);

  test('every entry point at once, the object restarted in the middle: acknowledged writes stay, failed ones leave nothing, increments add up, each event comes once, in order', { timeout: 180_000 }, everyEntryPointAtOnce);
});

/** The mixed load on one object of the running world's backend, and every invariant checked. */
async function everyEntryPointAtOnce(/** @type {import('node:test').TestContext} */ t) {
  {
    const name = tenant(`mixed-${backend}`);
    /** @type {string[]} */
    const hangs = [];
    const call = (/** @type {string} */ path, /** @type {unknown} */ body, /** @type {any} */ init) => send(hangs, name, path, body, init);
    const outcomes = new Outcomes();
    const sources = ['http', 'rpc', 'client', 'd1', 'lhttp', 'lws'];
    const setup = await call('/exec', {
      sql: `CREATE TABLE counters (name TEXT PRIMARY KEY, v INTEGER NOT NULL);
        CREATE TABLE items (id TEXT PRIMARY KEY, src TEXT NOT NULL);
        INSERT INTO counters (name, v) VALUES ${sources.map((s) => `('${s}', 0)`).join(', ')}`,
    });
    assert.equal(setup.status, 200, setup.text);

    // A subscriber from the first event on, cut off every 25 events and whenever the
    // restart breaks its stream, each time resuming with since = the last lsn it saw.
    /** @type {any[]} */
    const events = [];
    /** @type {any[]} */
    const controls = [];
    let following = true;
    // Also ends once this workerd is stopped: a failed assertion skips the end below.
    const world = mf;
    const follower = (async () => {
      while (following && mf === world) {
        const since = events.at(-1)?.lsn ?? 0;
        const controller = new AbortController();
        let answer;
        try {
          answer = await fetch(`${origin}db/${name}/subscribe`, {
            method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ since }), signal: controller.signal,
          });
        } catch {
          continue; // the object restarting: subscribe again
        }
        if (answer.status !== 200) {
          outcomes.unexpected.push(`subscribe: ${answer.status} ${await answer.text()}`);
          return;
        }
        const reader = /** @type {ReadableStream<Uint8Array>} */ (answer.body).getReader();
        const decoder = new TextDecoder();
        let buffered = '';
        let read = 0;
        while (following && read < 25) {
          let chunk;
          try {
            chunk = await reader.read();
          } catch {
            break; // broken by the restart: subscribe again from the last lsn
          }
          const { value, done } = chunk;
          if (done) break;
          buffered += decoder.decode(value, { stream: true });
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (!line.trim()) continue;
            const event = JSON.parse(line);
            if (event.table) {
              events.push(event);
              read++;
            } else if (event.type !== 'ready' && event.type !== 'keepalive') {
              controls.push(event);
            }
          }
        }
        controller.abort();
      }
    })();

    /** One read-modify-write increment through /begin ... /commit, with its item. @param {number} w @param {number} i */
    async function httpIncrement(w, i) {
      const item = `http-${w}-${i}`;
      const begun = await call('/begin', { timeoutMs: 5000 });
      if (begun.status !== 200) return failed('http', item, begun);
      const headers = { [TRANSACTION_HEADER]: begun.body.txId };
      const read = await call('/query', { sql: "SELECT v FROM counters WHERE name = 'http'" }, { headers });
      if (read.status !== 200) return failed('http', item, read);
      const wrote = await call('/batch', {
        operations: [
          { sql: "UPDATE counters SET v = ? WHERE name = 'http'", params: [read.body.rows[0].v + 1] },
          { sql: "INSERT INTO items (id, src) VALUES (?, 'http')", params: [item] },
        ],
      }, { headers });
      if (wrote.status !== 200) return failed('http', item, wrote);
      if (i % 5 === 4) {
        // Changed its mind: nothing of it may stay.
        const rolledBack = await call('/rollback', {}, { headers });
        if (rolledBack.status !== 200 && !explainedByRestart(rolledBack.text)) outcomes.unexpected.push(`rollback: ${rolledBack.text}`);
        return outcomes.note('http', 'failed', item);
      }
      const committed = await call('/commit', {}, { headers });
      if (committed.status === 200) return outcomes.note('http', 'acked', item);
      if (committed.status === 0 || /test: abort/.test(committed.text)) return outcomes.note('http', 'unknown', item);
      return failed('http', item, committed);
    }

    /** @param {string} source @param {string} item @param {{status: number, text: string}} answer */
    function failed(source, item, answer) {
      if (!explained(answer.text)) outcomes.unexpected.push(`${source} ${item}: ${answer.status} ${answer.text}`);
      outcomes.note(source, 'failed', item);
    }

    /** A failure the restart explains, or (key-value storage) a page read that ended a transaction. @param {string} detail */
    function explained(detail) {
      if (!pageFetched(detail)) return explainedByRestart(detail);
      outcomes.pageFetches++;
      return true;
    }

    /**
     * An increment over Workers RPC: by hand, with the client's transaction(fn), or
     * through the D1 facade as drizzle's transaction() sends it.
     * @param {'rpc' | 'client' | 'd1'} source @param {number} w @param {number} i
     */
    async function rpcIncrement(source, w, i) {
      const item = `${source}-${w}-${i}`;
      const answer = await rpc(name, { op: `${source === 'rpc' ? 'rpc' : source === 'client' ? 'client' : 'd1'}-increment`, name: source, item });
      if (answer.value?.ok) return outcomes.note(source, 'acked', item);
      const message = String(answer.error?.message);
      // The ROLLBACK an ORM sends after a failure succeeds, unless the object is gone (docs/d1.md).
      const rollback = /^ROLLBACK failed \((.*)\) after: /.exec(message);
      if (rollback && !explainedByRestart(rollback[1])) outcomes.unexpected.push(`${item}: ${message}`);
      // Over RPC no step says where the reset came: the commit may have been the call it broke.
      if (/test: abort|^no answer: /.test(message)) return outcomes.note(source, 'unknown', item);
      return failed(source, item, { status: 0, text: message });
    }

    const lhttp = createHttpClient({ url: `${origin}db/${name}/`, authToken: TOKEN });
    const lws = createWsClient({ url: `${origin.replace(/^http/, 'ws')}db/${name}`, authToken: TOKEN });
    /** An increment as an @libsql/client transaction. @param {'lhttp' | 'lws'} source @param {number} w @param {number} i */
    async function libsqlIncrement(source, w, i) {
      const client = source === 'lhttp' ? lhttp : lws;
      const item = `${source}-${w}-${i}`;
      let committing = false;
      try {
        const tx = await withDeadline(client.transaction('write'), hangs, `${item} begin`);
        try {
          const { rows } = await withDeadline(tx.execute({ sql: 'SELECT v FROM counters WHERE name = ?', args: [source] }), hangs, `${item} read`);
          await withDeadline(tx.batch([
            { sql: 'UPDATE counters SET v = ? WHERE name = ?', args: [Number(rows[0].v) + 1, source] },
            { sql: 'INSERT INTO items (id, src) VALUES (?, ?)', args: [item, source] },
          ]), hangs, `${item} write`);
          committing = true;
          await withDeadline(tx.commit(), hangs, `${item} commit`);
          outcomes.note(source, 'acked', item);
        } finally {
          tx.close();
        }
      } catch (err) {
        const detail = `${/** @type {any} */ (err).code} ${/** @type {any} */ (err).message}`;
        if (committing && /test: abort|SERVER_ERROR|fetch failed/.test(detail)) return outcomes.note(source, 'unknown', item);
        failed(source, item, { status: 0, text: detail });
      }
    }

    /** A /batch of an insert and a statement that fails every fourth time: all or nothing. @param {number} w @param {number} i */
    async function plainBatch(w, i) {
      const item = `batch-${w}-${i}`;
      const fails = i % 4 === 1;
      const answer = await call('/batch', {
        operations: [
          { sql: "INSERT INTO items (id, src) VALUES (?, 'batch')", params: [item] },
          fails ? { sql: "INSERT INTO items (id, src) VALUES (?, 'batch')", params: [item] } : { sql: 'SELECT 1' },
        ],
      });
      if (answer.status === 200 && !fails) return outcomes.note('batch', 'acked', item);
      if (fails && answer.status === 409 && answer.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return outcomes.note('batch', 'failed', item);
      if (answer.status === 0 || /test: abort/.test(answer.text)) return outcomes.note('batch', 'unknown', item);
      failed('batch', item, answer);
    }

    /** A libSQL batch (BEGIN, steps on conditions, COMMIT) that fails every third time. @param {number} w @param {number} i */
    async function libsqlBatch(w, i) {
      const client = i % 2 ? lws : lhttp;
      const item = `lbatch-${w}-${i}`;
      const fails = i % 3 === 2;
      try {
        await withDeadline(client.batch([
          { sql: "INSERT INTO items (id, src) VALUES (?, 'lbatch')", args: [item] },
          fails ? { sql: "INSERT INTO items (id, src) VALUES (?, 'lbatch')", args: [item] } : 'SELECT 1',
        ], 'write'), hangs, `${item} batch`);
        if (fails) outcomes.unexpected.push(`${item}: a batch with a failing statement succeeded`);
        outcomes.note('lbatch', 'acked', item);
      } catch (err) {
        const detail = `${/** @type {any} */ (err).code} ${/** @type {any} */ (err).message}`;
        if (fails && /SQLITE_CONSTRAINT/.test(detail)) return outcomes.note('lbatch', 'failed', item);
        if (/test: abort|SERVER_ERROR|fetch failed/.test(detail)) return outcomes.note('lbatch', 'unknown', item);
        failed('lbatch', item, { status: 0, text: detail });
      }
    }

    /** A caller that begins, writes and goes away: its id answers TRANSACTION_EXPIRED afterwards. */
    /** @type {string[]} */
    const abandoned = [];
    async function abandon(/** @type {number} */ i) {
      const begun = await call('/begin', { timeoutMs: 150 });
      if (begun.status !== 200) return failed('abandoned', `ghost-${i}`, begun);
      const headers = { [TRANSACTION_HEADER]: begun.body.txId };
      const wrote = await call('/run', { sql: "INSERT INTO items (id, src) VALUES (?, 'ghost')", params: [`ghost-${i}`] }, { headers });
      if (wrote.status !== 200 && !explained(wrote.text)) outcomes.unexpected.push(`ghost ${i}: ${wrote.text}`);
      outcomes.note('ghost', 'failed', `ghost-${i}`);
      abandoned.push(begun.body.txId);
    }

    /** A D1 facade whose transaction idles out, then sends ROLLBACK: it succeeds, nothing kept. @param {number} i */
    async function d1Idle(i) {
      const item = `d1ghost-${i}`;
      const answer = await rpc(name, { op: 'd1-idle', item });
      if (!answer.value?.ok && !explained(String(answer.error?.message))) outcomes.unexpected.push(`${item}: ${answer.error?.message}`);
      outcomes.note('d1ghost', 'failed', item);
    }

    /** @type {Uint8Array | null} */
    let exported = null;
    const ROUNDS = 10;
    /** @param {(w: number, i: number) => Promise<unknown>} op @param {number} w */
    const loop = async (op, w) => {
      for (let i = 0; i < ROUNDS; i++) {
        await op(w, i);
        if (w === 0 && op === httpIncrement && i === 3) {
          // The object restarts under everyone's feet, once.
          assert.deepEqual(await rpc(name, { op: 'abort' }), { value: { ok: true } });
        }
        if (w === 1 && op === httpIncrement && i === 6) {
          const file = await call('/export', undefined, { method: 'GET' });
          if (file.status === 200) exported = file.bytes;
          else if (!explainedByRestart(file.text)) outcomes.unexpected.push(`export: ${file.status} ${file.text}`);
        }
        if (w === 0 && op === plainBatch && i % 3 === 0) await abandon(i);
        if (w === 1 && op === plainBatch && i % 3 === 0) await d1Idle(i);
      }
    };
    await Promise.all([0, 1].flatMap((w) => [
      loop(httpIncrement, w),
      loop((ww, i) => rpcIncrement('rpc', ww, i), w),
      loop((ww, i) => rpcIncrement('client', ww, i), w),
      loop((ww, i) => rpcIncrement('d1', ww, i), w),
      loop((ww, i) => libsqlIncrement('lhttp', ww, i), w),
      loop((ww, i) => libsqlIncrement('lws', ww, i), w),
      loop(plainBatch, w),
      loop(libsqlBatch, w),
    ]));
    // First what a caller saw, as the invariants below fail too when a call hung or
    // failed strangely, and say less about why.
    assert.deepEqual(hangs, [], 'no call went unanswered');
    assert.deepEqual(outcomes.unexpected, [], 'every failure is one the restart or a page read explains');

    // Every entry point works after the restart: one more increment each, acknowledged.
    // On key-value storage a page read may end one: it is retried, as the docs say to.
    /** @type {[string, (i: number) => Promise<unknown>][]} */
    const afterRestart = [
      ['http', (i) => httpIncrement(9, i)],
      ...['rpc', 'client', 'd1'].map((source) => /** @type {[string, (i: number) => Promise<unknown>]} */ ([source, (i) => rpcIncrement(/** @type {any} */ (source), 9, i)])),
      ...['lhttp', 'lws'].map((source) => /** @type {[string, (i: number) => Promise<unknown>]} */ ([source, (i) => libsqlIncrement(/** @type {any} */ (source), 9, i)])),
    ];
    for (const [source, increment] of afterRestart) {
      // Tried again while a page read ended it, up to 8 times (the cache holds four
      // pages, and the subscriber's reads take turns with these); never i % 5 === 4,
      // which httpIncrement rolls back.
      let item = '';
      for (const i of [0, 1, 2, 3, 5, 6, 7, 8]) {
        const pageFetchesBefore = outcomes.pageFetches;
        item = `${source}-9-${i}`;
        await increment(i);
        if (outcomes.ackedItems.has(item) || outcomes.pageFetches === pageFetchesBefore) break;
      }
      assert.ok(outcomes.ackedItems.has(item), `${item} is acknowledged after the restart: ${outcomes.unexpected.filter((u) => u.includes(item)).join('; ')}`);
    }
    lhttp.close();
    lws.close();

    for (const txId of abandoned) {
      const late = await call('/run', { sql: 'SELECT 1' }, { headers: { [TRANSACTION_HEADER]: txId } });
      assert.deepEqual([late.status, late.code], [409, 'TRANSACTION_EXPIRED'], late.text);
    }

    const rows = await call('/batch', { operations: [{ sql: 'SELECT name, v FROM counters' }, { sql: 'SELECT id, src FROM items' }] });
    assert.equal(rows.status, 200, rows.text);
    const counters = new Map(rows.body.results[0].rows.map((/** @type {any} */ r) => [r.name, r.v]));
    const items = new Map(rows.body.results[1].rows.map((/** @type {any} */ r) => [r.id, r.src]));
    for (const source of sources) {
      const { acked, unknown } = outcomes.counts.get(source) ?? { acked: 0, unknown: 0 };
      const v = counters.get(source);
      // Each increment wrote its item in the same transaction: both or neither.
      assert.equal(v, [...items.values()].filter((src) => src === source).length, `${source}: the counter and its items agree`);
      // Lost updates would leave it below what was acknowledged.
      assert.ok(v >= acked && v <= acked + unknown, `${source}: ${v} increments, ${acked} acknowledged and ${unknown} unanswered`);
      // On key-value storage a page read ends some transactions (as many as a third).
      assert.ok(acked >= (backend === 'kv' ? ROUNDS / 2 : ROUNDS), `${source}: most increments went through (${acked})`);
    }
    for (const item of outcomes.ackedItems) assert.ok(items.has(item), `acknowledged ${item} is kept`);
    for (const item of outcomes.failedItems) assert.ok(!items.has(item), `failed ${item} left nothing`);
    for (const item of items.keys()) assert.ok(outcomes.ackedItems.has(item) || outcomes.unknownItems.has(item), `${item} was written by a caller told so, or not told`);

    // The subscriber saw every event once, in order, across its resumptions and the restart.
    const head = (await call('/changes', { since: 0, limit: 1 })).body.head;
    for (let wait = 0; events.length < head && wait < DEADLINE_MS / 50; wait++) await new Promise((resolve) => setTimeout(resolve, 50));
    following = false;
    await follower;
    assert.deepEqual(controls, [], 'no gap or end: nothing took events away');
    const lsns = events.map((e) => e.lsn);
    const misplaced = lsns.findIndex((lsn, i) => lsn !== i + 1);
    assert.ok(lsns.length === head && misplaced < 0, `lsn 1..${head}, each once, in order: ${lsns.length} events` +
      (misplaced < 0 ? '' : `, the first out of place at ${misplaced}: ${lsns.slice(Math.max(0, misplaced - 3), misplaced + 4).join(', ')}`));
    const inserted = events.filter((e) => e.table === 'items' && e.type === 'insert').map((e) => e.data.id).sort();
    assert.deepEqual(inserted, [...items.keys()].sort(), 'an insert event for each row kept, and for nothing else');
    for (let i = 1; i < events.length; i++) {
      if (events[i].txId !== events[i - 1].txId) assert.equal(events[i].txId, events[i].lsn, `a commit's events are together (lsn ${events[i].lsn})`);
    }

    t.diagnostic(`${backend}: ${JSON.stringify(Object.fromEntries(outcomes.counts))}, ${outcomes.pageFetches} transactions ended by a page read`);
    assert.deepEqual(outcomes.unexpected, []);
    if (backend === 'kv') assert.ok(outcomes.pageFetches > 0, 'pages were read from storage inside transactions');
    assert.deepEqual(hangs, []);
    const check = await call('/query', { sql: 'PRAGMA integrity_check' });
    assert.deepEqual(check.body?.rows, [{ integrity_check: 'ok' }], check.text);

    // The export taken while writes went on is one committed state: it imports whole.
    assert.ok(exported, 'the export answered');
    const copy = tenant('mixed-copy');
    const imported = await send(hangs, copy, '/import', exported);
    assert.equal(imported.status, 200, imported.text);
    const copied = await send(hangs, copy, '/query', { sql: "SELECT (SELECT sum(v) FROM counters) AS v, (SELECT count(*) FROM items WHERE src <> 'batch' AND src <> 'lbatch') AS n" });
    assert.equal(copied.body.rows[0].v, copied.body.rows[0].n, 'the copy\'s counters and items agree');

    // A restart of workerd serves the same state.
    await restartWorld();
    const again = await send(hangs, name, '/batch', { operations: [{ sql: 'SELECT name, v FROM counters' }, { sql: 'SELECT id, src FROM items' }] });
    assert.deepEqual(again.body, rows.body);
  }
}
