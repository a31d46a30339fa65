// change-feed.test.js — the change feed (worker-shim/src/changes/feed.js) over the real
// engine in Node: what it does with streams whose readers stop reading. In workerd the
// HTTP client's own buffers read for a while, so how much a stream keeps unread is not
// the test's to decide there; here the stream is the feed's, and nobody reads it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Engine } from '../../worker-shim/src/wasm/engine.js';
import { ChangeFeed } from '../../worker-shim/src/changes/feed.js';
import { MAX_UNREAD_BYTES, MAX_UNREAD_TOTAL_BYTES } from '../../worker-shim/src/config.js';
import { MemoryPages } from './fixtures/memory-storage.js';
import { WASM_PATH, requireWasm } from './harness.js';

const encoder = new TextEncoder();

/** A database capturing changes, in memory, and its feed. */
async function feedOverEngine() {
  requireWasm();
  const engine = new Engine(new WebAssembly.Module(readFileSync(WASM_PATH)), { storage: new MemoryPages(), label: 'feed' });
  assert.equal((await engine.open(0, { captureChanges: true })).status, 200);
  assert.equal((await engine.migrate([])).status, 200);
  const post = async (/** @type {string} */ path, /** @type {unknown} */ body) => engine.request('POST', path, encoder.encode(JSON.stringify(body)));
  const feed = new ChangeFeed({ read: (body) => post('/changes', body), log: () => {} });
  return { engine, post, feed };
}

test('streams that do not read are cut off, the most unread first, once together they hold more than an object allows', async () => {
  const { engine, post, feed } = await feedOverEngine();
  const subscribe = () =>
    feed.subscribe(new Request('http://db/subscribe', { method: 'POST', body: '{}' }), async () => encoder.encode('{}'), (method, body) => engine.hostRequest(method, '/subscribe', body));
  const fit = Math.floor(MAX_UNREAD_TOTAL_BYTES / MAX_UNREAD_BYTES);
  /** @type {Response[]} */
  const streams = [];
  for (let i = 0; i < fit + 16; i++) streams.push(await subscribe());
  await post('/run', { sql: 'CREATE TABLE t (v TEXT)' });
  // Just under one stream's own limit each: only the object's limit can close them.
  const events = Math.floor(MAX_UNREAD_BYTES / 90_000);
  for (let i = 0; i < events; i++) {
    assert.equal((await post('/run', { sql: 'INSERT INTO t VALUES (?)', params: ['x'.repeat(85_000)] })).status, 200);
    feed.notify();
    await sleep(20);
  }
  await sleep(100);
  const open = feed.subscribers.streams;
  assert.ok(open < streams.length && open > 0, `${open} of ${streams.length} streams still open`);
  // Those cut off end in an error, their queued events dropped; the rest read every event,
  // and all they held fits the object's limit.
  feed.endAll('TEST_OVER', 'the test ends every stream');
  const read = await Promise.all(streams.map((r) => new Response(r.body).text().then((t) => t, () => null)));
  const kept = read.filter((t) => t !== null);
  assert.equal(kept.length, open);
  for (const text of kept) assert.equal(text.split('\n').filter((l) => l.includes('"insert"')).length, events);
  const bytes = kept.reduce((sum, text) => sum + encoder.encode(text).length, 0);
  assert.ok(bytes <= MAX_UNREAD_TOTAL_BYTES + 1024 * open, `the open streams held ${bytes} bytes`);
});

test('a stream reading a long log back is never too slow for it, however long a page takes to read; once live, one that stops is', async (t) => {
  const { engine, post, feed } = await feedOverEngine();
  await post('/run', { sql: 'CREATE TABLE t (v TEXT)' });
  // Pages of up to 4 MiB of events, each well past what a live stream may leave unread.
  const rows = 80;
  for (let i = 0; i < rows; i++) assert.equal((await post('/run', { sql: 'INSERT INTO t VALUES (?)', params: ['x'.repeat(200_000)] })).status, 200);
  t.mock.timers.enable({ apis: ['setInterval'] });
  const response = await feed.subscribe(new Request('http://db/subscribe', { method: 'POST', body: '{"since":0}' }), async () => encoder.encode('{"since":0}'),
    (method, body) => engine.hostRequest(method, '/subscribe', body));
  const reader = /** @type {ReadableStream<Uint8Array>} */ (response.body).getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  // The reader pauses for minutes of keepalives in the middle of the catch-up, the
  // next page queued (a page is one chunk).
  await sleep(1000);
  for (let i = 0; i < 8; i++) {
    t.mock.timers.tick(15_000);
    await sleep(5);
  }
  /** @type {any[]} */
  const got = [];
  const take = (/** @type {string} */ line) => line && got.push(JSON.parse(line));
  for (;;) {
    const lines = text.split('\n');
    text = /** @type {string} */ (lines.pop());
    lines.forEach(take);
    if (got.at(-1)?.type === 'ready' || got.at(-1)?.type === 'end') break;
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  assert.deepEqual(got.map((m) => m.type).filter((type) => type !== 'insert' && type !== 'keepalive'), ['ready'], 'no end while catching up');
  assert.equal(got.filter((m) => m.type === 'insert').length, rows);
  // Live now: a reader that takes nothing of more than it may leave unread is cut off.
  for (let i = 0; i < 8; i++) {
    await post('/run', { sql: 'INSERT INTO t VALUES (?)', params: ['x'.repeat(200_000)] });
    feed.notify();
    await sleep(20);
  }
  t.mock.timers.tick(15_000);
  await sleep(5);
  assert.equal(feed.subscribers.streams, 0, 'the stalled live stream was closed');
  await reader.cancel();
});

test('a live stream whose reader takes nothing between two keepalives, bytes waiting, has gone and is ended; one that reads stays', async (t) => {
  const { engine, post, feed } = await feedOverEngine();
  await post('/run', { sql: 'CREATE TABLE t (v TEXT)' });
  t.mock.timers.enable({ apis: ['setInterval'] });
  const subscribe = () =>
    feed.subscribe(new Request('http://db/subscribe', { method: 'POST', body: '{}' }), async () => encoder.encode('{}'), (method, body) => engine.hostRequest(method, '/subscribe', body));
  const gone = await subscribe();
  const reading = /** @type {ReadableStream<Uint8Array>} */ ((await subscribe()).body).getReader();
  await reading.read(); // ready
  // A few small events, far under what a stream may leave unread: the one nobody reads keeps them.
  await post('/run', { sql: "INSERT INTO t VALUES ('a')" });
  feed.notify();
  await sleep(20);
  for (let i = 0; i < 3; i++) {
    void reading.read();
    t.mock.timers.tick(15_000);
    await sleep(5);
  }
  assert.equal(feed.subscribers.streams, 1, 'the stream nobody read was ended; the one read stays');
  const text = await new Response(gone.body).text();
  assert.match(text, /"type":"end","code":"SUBSCRIBER_TOO_SLOW","error":"nothing was read for 15 s; subscribe again from the last lsn you saw"/);
  await reading.cancel();
});
