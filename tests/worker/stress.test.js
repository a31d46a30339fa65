// One object, many callers at once, every entry point: the guide's HTTP protocol and
// its interactive transactions, Workers RPC (by hand and the client's transaction(fn)),
// libSQL's Hrana over HTTP and over WebSocket, change streams resumed with since, and
// the object restarted in the middle. The invariants are the docs': every acknowledged
// write is there afterwards, nothing failed is half there, read-modify-write increments
// from every caller add up, change events come in order, gap-free, each once; nothing
// hangs, and a restart serves the same state.
//
// The worker is the standalone one (router, token, Hrana sockets) plus a route of its
// own for RPC from inside workerd (tests/worker/fixtures/stress-worker.js).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import WebSocket from 'ws';
import { createClient as createHttpClient } from '@libsql/client/http';
import { createClient as createWsClient } from '@libsql/client/ws';
import { startStandalone, tenant, TMP } from './harness.js';
import { TRANSACTION_HEADER } from '../../worker-shim/src/client/client.js';

const TOKEN = 'stress-test-token';
const SCRIPT = 'tests/worker/fixtures/stress-worker.js';
/** Generous: only to tell a hung request from a slow one. */
const DEADLINE_MS = 30_000;

/** @type {any} */
let mf;
let origin = '';
let persist = '';
before(async () => {
  mkdirSync(TMP, { recursive: true });
  persist = mkdtempSync(`${TMP}/stress-`);
  mf = await startStandalone({ DOSQL_TOKEN: TOKEN }, { persist, script: SCRIPT });
  origin = String(await mf.ready);
});
after(async () => {
  await mf?.dispose();
  rmSync(persist, { recursive: true, force: true });
});

/** Restart workerd on the same storage. */
async function restartWorld() {
  await mf.dispose();
  mf = await startStandalone({ DOSQL_TOKEN: TOKEN }, { persist, script: SCRIPT });
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

/** Over RPC from inside workerd (the fixture's /rpc route). @param {string} name @param {object} call */
async function rpc(name, call) {
  const answer = await fetch(`${origin}rpc/${name}`, { method: 'POST', body: JSON.stringify(call), signal: AbortSignal.timeout(DEADLINE_MS) });
  return answer.json();
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
 * A raw Hrana WebSocket (subprotocol hrana2), past its hello: request(r) sends one
 * request and resolves to its response_ok or response_error message.
 * @param {string} name
 */
async function hranaSocket(name) {
  const socket = new WebSocket(`${origin.replace(/^http/, 'ws')}db/${name}`, ['hrana2']);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  /** @type {Map<number, (message: any) => void>} */
  const waiting = new Map();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data));
    if (message.request_id !== undefined) waiting.get(message.request_id)?.(message);
  });
  socket.send(JSON.stringify({ type: 'hello', jwt: TOKEN }));
  let next = 0;
  return {
    /** @param {object} request @returns {Promise<any>} */
    request(request) {
      const id = ++next;
      const answered = new Promise((resolve) => waiting.set(id, resolve));
      socket.send(JSON.stringify({ type: 'request', request_id: id, request }));
      return Promise.race([answered, new Promise((_, reject) => setTimeout(() => reject(new Error(`request ${id} hung`)), DEADLINE_MS).unref())]);
    },
    close: () => socket.close(),
  };
}

describe('stress: one object, every entry point', () => {
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

  test('a libSQL request whose object is reset under it is answered as libSQL clients read errors: {message, code}', async () => {
    const answer = await fetch(`${origin}db/${tenant('reset')}/v2/pipeline`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'x-test-reset': '1' },
      body: JSON.stringify({ baton: null, requests: [{ type: 'execute', stmt: { sql: 'SELECT 1' } }] }),
    });
    assert.equal(answer.status, 500);
    assert.equal(answer.headers.get('content-type'), 'application/json');
    assert.deepEqual(await answer.json(), { message: 'test: reset under the request', code: 'INTERNAL' });
  });
});
