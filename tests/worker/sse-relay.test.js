// eventStream() and lastEventId() (worker-shim/src/changes/sse.js), in Node: what an
// EventSource would receive from the relay, read by a parser that follows the
// standard (fixtures/sse-parser.js). One message per event with the ids a
// reconnect needs, values as the database sent them, keepalive comments, a last
// `end` for an error, and the subscription cancelled when the browser goes away.
// Against a real workerd: subscribe-workerd.test.js.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, DoSQLError, eventStream, lastEventId } from '../../worker-shim/src/client/client.js';
import { parseSSE, sseParser } from './fixtures/sse-parser.js';
import { cutStream, manualStream } from './fixtures/streams.js';

const encoder = new TextEncoder();

/** Wire lines of the database, with values that need the tagged encoding, multibyte text and text holding NUL. */
const WIRE_EVENTS = [
  { lsn: 4, txId: 4, timestamp: 1795000000000, type: 'insert', table: 'users', data: { id: 1, name: 'é 日本 🙂', big: { $bigint: '9007199254740993' }, pic: { $blob: 'AQID' }, n: null, bio: 'a\u0000b' } },
  { lsn: 5, txId: 4, timestamp: 1795000000000, type: 'update', table: 'users', data: { id: 1, name: '🙂' }, old: { id: 1, name: 'é 日本 🙂' } },
  { type: 'gap', since: 5, head: 9 },
  { type: 'ready', lsn: 9 },
  { lsn: 10, txId: 10, timestamp: 1795000000001, type: 'delete', table: 'users', data: { id: 1, name: '🙂' } },
];
const WIRE = WIRE_EVENTS.map((e) => `${JSON.stringify(e)}\n`).join('') + '{"type":"keepalive"}\n';

/** What the EventSource dispatches for WIRE_EVENTS: the same JSON, ids to resume from. */
const EXPECTED = [
  { type: 'message', lastEventId: '4', data: WIRE_EVENTS[0] },
  { type: 'message', lastEventId: '5', data: WIRE_EVENTS[1] },
  { type: 'gap', lastEventId: '9', data: WIRE_EVENTS[2] },
  { type: 'ready', lastEventId: '9', data: WIRE_EVENTS[3] },
  { type: 'message', lastEventId: '10', data: WIRE_EVENTS[4] },
];

/** @param {{type: string, data: string, lastEventId: string}[]} messages */
const parsed = (messages) => messages.map((m) => ({ ...m, data: JSON.parse(m.data) }));

/** A client whose object answers /subscribe with this body. @param {ReadableStream<Uint8Array>} body */
function clientOver(body) {
  return createClient({ fetch: async () => new Response(body, { headers: { 'Content-Type': 'application/x-ndjson' } }) });
}

/** @param {unknown[]} events @param {unknown} [error] thrown after them */
async function* iterate(events, error) {
  for (const event of events) yield event;
  if (error !== undefined) throw error;
}

describe('eventStream', () => {
  test('headers: text/event-stream, no-cache', async () => {
    const response = eventStream(iterate([]));
    try {
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('Content-Type'), 'text/event-stream; charset=utf-8');
      assert.equal(response.headers.get('Cache-Control'), 'no-cache, no-transform');
    } finally {
      await response.body?.cancel(); // its keepalive timer would keep the process alive
    }
  });

  test('the database\'s stream cut at every byte offset reaches the browser as the same JSON, one message per event', async () => {
    const bytes = encoder.encode(WIRE);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const sse = await parseSSE(/** @type {any} */ (eventStream(clientOver(cutStream(bytes, [cut])).subscribe()).body));
      assert.deepEqual(parsed(sse.messages), EXPECTED, `cut at ${cut}`);
      assert.equal(sse.retry, 3000);
      assert.equal(sse.lastEventId, '10');
    }
  });

  test('each chunk of the body is whole messages (a retry hint first)', async () => {
    const body = /** @type {ReadableStream<Uint8Array>} */ (eventStream(clientOver(cutStream(WIRE, [7, 100, 101])).subscribe(), { retryMs: 1234 }).body);
    const chunks = [];
    for await (const chunk of body) chunks.push(new TextDecoder().decode(chunk));
    assert.equal(chunks[0], 'retry: 1234\n\n');
    assert.equal(chunks.length, 1 + EXPECTED.length);
    for (const chunk of chunks.slice(1)) {
      const parser = sseParser();
      parser.push(encoder.encode(chunk));
      assert.equal(parser.end().messages.length, 1, chunk);
    }
    assert.equal(chunks[1].split('\n')[0], 'id: 4');
    assert.deepEqual(chunks[3].split('\n').slice(0, 2), ['event: gap', 'id: 9']);
  });

  test('decoded values are encoded again as the database sent them: bigint, bytes, ±Infinity, -0', async () => {
    const event = { lsn: 1, txId: 1, timestamp: 0, type: 'insert', table: 't', data: { a: 2n ** 63n - 1n, b: new Uint8Array([255]), c: Infinity, d: 'x', e: -0 } };
    const sse = await parseSSE(/** @type {any} */ (eventStream(iterate([event])).body));
    assert.deepEqual(JSON.parse(sse.messages[0].data), {
      ...event,
      data: { a: { $bigint: '9223372036854775807' }, b: { $blob: '/w==' }, c: { $real: 'Infinity' }, d: 'x', e: -0 },
    });
    assert.match(sse.messages[0].data, /"e":-0\}/, 'the database writes -0 as a number');
  });

  test('an error of the iterator is a last `end` event with its code; then the stream closes', async () => {
    const error = new DoSQLError('the subscriber fell 1 MiB behind', { code: 'SUBSCRIBER_TOO_SLOW', status: 200 });
    const sse = await parseSSE(/** @type {any} */ (eventStream(iterate([WIRE_EVENTS[3]], error)).body));
    assert.deepEqual(parsed(sse.messages), [
      EXPECTED[3],
      { type: 'end', lastEventId: '9', data: { type: 'end', code: 'SUBSCRIBER_TOO_SLOW', error: 'the subscriber fell 1 MiB behind' } },
    ]);
    const other = await parseSSE(/** @type {any} */ (eventStream(iterate([], new TypeError('boom'))).body));
    assert.deepEqual(parsed(other.messages), [{ type: 'end', lastEventId: '', data: { type: 'end', code: 'INTERNAL', error: 'boom' } }]);
    // The upstream stopping without an end is passed on as such: the browser reconnects from Last-Event-ID.
    const cut = new DoSQLError('the stream stopped', { code: 'STREAM_ENDED', status: 200 });
    const relayed = await parseSSE(/** @type {any} */ (eventStream(iterate([WIRE_EVENTS[3]], cut)).body));
    assert.deepEqual(parsed(relayed.messages), [EXPECTED[3]]);
  });

  test('the database\'s end line and error answers reach the browser as `end`', async () => {
    const body = manualStream();
    body.write('{"type":"ready","lsn":2}\n{"type":"end","code":"SUBSCRIBER_TOO_SLOW","error":"too slow"}\n');
    const sse = await parseSSE(/** @type {any} */ (eventStream(clientOver(body.stream).subscribe()).body));
    assert.deepEqual(sse.messages.map((m) => [m.type, JSON.parse(m.data).code ?? null]), [['ready', null], ['end', 'SUBSCRIBER_TOO_SLOW']]);
    await body.cancelled;

    const refused = createClient({ fetch: async () => Response.json({ error: 'busy', code: 'TOO_MANY_SUBSCRIBERS' }, { status: 503 }) });
    const answer = await parseSSE(/** @type {any} */ (eventStream(refused.subscribe()).body));
    assert.deepEqual(parsed(answer.messages), [{ type: 'end', lastEventId: '', data: { type: 'end', code: 'TOO_MANY_SUBSCRIBERS', error: 'busy' } }]);
  });

  test('keepalive comments while nothing happens', async () => {
    const body = manualStream();
    const response = eventStream(clientOver(body.stream).subscribe(), { keepAliveMs: 20 });
    setTimeout(() => {
      body.write('{"type":"ready","lsn":0}\n');
      body.close();
    }, 110);
    const sse = await parseSSE(/** @type {any} */ (response.body));
    assert.ok(sse.comments.filter((c) => c === ' keepalive').length >= 2, `${sse.comments.length} comments`);
    assert.deepEqual(sse.messages.map((m) => m.type), ['ready']);
  });

  test('the browser going away (body cancelled) cancels the subscription', async () => {
    const upstream = manualStream();
    const response = eventStream(clientOver(upstream.stream).subscribe());
    const reader = /** @type {ReadableStream<Uint8Array>} */ (response.body).getReader();
    upstream.write('{"type":"ready","lsn":1}\n');
    const parser = sseParser();
    while (parser.messages.length === 0) parser.push(/** @type {Uint8Array} */ ((await reader.read()).value));
    const pending = reader.read(); // the relay now waits on the upstream
    await reader.cancel();
    await upstream.cancelled;
    assert.deepEqual(await pending, { done: true, value: undefined });
  });

  test('request.signal given to subscribe: the relay ends, the subscription is cancelled', async () => {
    const upstream = manualStream();
    const abort = new AbortController();
    const response = eventStream(clientOver(upstream.stream).subscribe(['users'], { signal: abort.signal }));
    setTimeout(() => abort.abort(), 20);
    const sse = await parseSSE(/** @type {any} */ (response.body));
    assert.deepEqual(sse.messages, []);
    await upstream.cancelled;
  });

  test('the signal of eventStream closes the body and cancels the subscription', async () => {
    const upstream = manualStream();
    const abort = new AbortController();
    const response = eventStream(clientOver(upstream.stream).subscribe(), { signal: abort.signal });
    upstream.write('{"type":"ready","lsn":1}\n');
    setTimeout(() => abort.abort(), 20);
    const sse = await parseSSE(/** @type {any} */ (response.body));
    assert.deepEqual(sse.messages.map((m) => m.type), ['ready']);
    await upstream.cancelled;
    const closed = await parseSSE(/** @type {any} */ (eventStream(iterate([WIRE_EVENTS[0]]), { signal: AbortSignal.abort() }).body));
    assert.deepEqual(closed.messages, []);
  });
});

describe('lastEventId', () => {
  /** @param {string} url @param {Record<string, string>} [headers] */
  const at = (url, headers = {}) => lastEventId(new Request(url, { headers }));

  test('Last-Event-ID wins over ?since=; one that is no whole number is NaN, for the database to refuse, never "from now on"', () => {
    assert.equal(at('https://app.example/events?since=3', { 'Last-Event-ID': '17' }), 17);
    assert.equal(at('https://app.example/events?since=3'), 3);
    assert.equal(at('https://app.example/events?since=3', { 'Last-Event-ID': '' }), 3);
    assert.equal(at('https://app.example/events?since=0'), 0);
    assert.equal(at('https://app.example/events'), undefined);
    assert.equal(at('https://app.example/events?since='), undefined);
    for (const bad of ['-1', '1.5', 'abc', '1e3', '99999999999999999999']) {
      assert.ok(Number.isNaN(at('https://app.example/events', { 'Last-Event-ID': bad })), bad);
      assert.ok(Number.isNaN(at(`https://app.example/events?since=${bad}`)), bad);
    }
    assert.ok(Number.isNaN(at('https://app.example/events?since=3', { 'Last-Event-ID': 'y' })));
  });
});
