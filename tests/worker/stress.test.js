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
import { startStandalone, tenant, TMP } from './harness.js';

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

/** Over RPC from inside workerd (the fixture's /rpc route). @param {string} name @param {object} call */
async function rpc(name, call) {
  const answer = await fetch(`${origin}rpc/${name}`, { method: 'POST', body: JSON.stringify(call), signal: AbortSignal.timeout(DEADLINE_MS) });
  return answer.json();
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
});
