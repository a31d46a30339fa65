// db.subscribe() of the client (worker-shim/src/client/client.js), in Node over real
// ReadableStreams: NDJSON read correctly whatever the chunking (lines across
// chunks, several in one, multibyte characters cut in half, a last line without
// newline), keepalives dropped, rows decoded, `end` and error answers thrown as
// DoSQLError, and the body cancelled by abort, return() and break. Against a real
// workerd: subscribe-workerd.test.js.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, DoSQLError } from '../../worker-shim/src/client/client.js';
import { lineDecoder } from '../../worker-shim/src/changes/ndjson.js';
import { byteStream, cutStream, manualStream } from './fixtures/streams.js';

const encoder = new TextEncoder();

/** The stream as the database sends it: every kind of line, multibyte text, CRLF, a blank line, no final newline. */
const WIRE = [
  '{"lsn":1,"txId":1,"timestamp":1795000000000,"type":"insert","table":"users","data":{"id":1,"name":"é 日本 🙂","big":{"$bigint":"9007199254740993"},"pic":{"$blob":"AQID"},"low":{"$real":"-Infinity"}}}\n',
  '{"type":"keepalive"}\n',
  '{"lsn":2,"txId":2,"timestamp":1795000000001,"type":"update","table":"users","data":{"id":1,"name":"🙂🙂"},"old":{"id":1,"name":"é 日本 🙂"}}\r\n',
  '\n',
  '{"type":"gap","since":2,"head":7}\n',
  '{"type":"ready","lsn":7}\n',
  '{"lsn":8,"txId":8,"timestamp":1795000000002,"type":"delete","table":"日本","data":{"id":1,"name":"🙂🙂"}}',
].join('');

const EXPECTED = [
  {
    lsn: 1,
    txId: 1,
    timestamp: 1795000000000,
    type: 'insert',
    table: 'users',
    data: { id: 1, name: 'é 日本 🙂', big: 9007199254740993n, pic: new Uint8Array([1, 2, 3]), low: -Infinity },
  },
  {
    lsn: 2,
    txId: 2,
    timestamp: 1795000000001,
    type: 'update',
    table: 'users',
    data: { id: 1, name: '🙂🙂' },
    old: { id: 1, name: 'é 日本 🙂' },
  },
  { type: 'gap', since: 2, head: 7 },
  { type: 'ready', lsn: 7 },
  { lsn: 8, txId: 8, timestamp: 1795000000002, type: 'delete', table: '日本', data: { id: 1, name: '🙂🙂' } },
];

/**
 * A client whose object answers /subscribe with this response (made per request);
 * requests are recorded.
 * @param {() => Response | Promise<Response>} respond
 */
function clientAnswering(respond) {
  /** @type {{url: string, init: any}[]} */
  const requests = [];
  const db = createClient({
    async fetch(url, init) {
      requests.push({ url, init });
      return respond();
    },
  });
  return { db, requests };
}

/** The events until the body stops (STREAM_ENDED: these bodies have no end line). @param {AsyncIterable<unknown>} iterable */
async function collect(iterable) {
  const out = [];
  try {
    for await (const x of iterable) out.push(x);
  } catch (err) {
    if (!(err instanceof DoSQLError && err.code === 'STREAM_ENDED')) throw err;
  }
  return out;
}

/** @param {ReadableStream<Uint8Array>} body */
const ndjson = (body) => new Response(body, { headers: { 'Content-Type': 'application/x-ndjson' } });

describe('NDJSON, whatever the chunking', () => {
  const bytes = encoder.encode(WIRE);

  test('cut at every byte offset, the events are the same', async () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { db } = clientAnswering(() => ndjson(cutStream(bytes, [cut])));
      assert.deepEqual(await collect(db.subscribe()), EXPECTED, `cut at ${cut}`);
    }
  });

  test('one byte per chunk, and everything in one chunk', async () => {
    for (const body of [byteStream(bytes), cutStream(bytes, [])]) {
      const { db } = clientAnswering(() => ndjson(body));
      assert.deepEqual(await collect(db.subscribe()), EXPECTED);
    }
  });

  test('cut at every pair of offsets inside the multibyte text', async () => {
    // Three-way cuts around the first line's "é 日本 🙂": a character cut twice.
    const start = WIRE.indexOf('é');
    const from = encoder.encode(WIRE.slice(0, start)).length;
    const to = from + encoder.encode('é 日本 🙂').length;
    for (let a = from; a <= to; a++) {
      for (let b = a; b <= to; b++) {
        const { db } = clientAnswering(() => ndjson(cutStream(bytes, [a, b])));
        assert.deepEqual(await collect(db.subscribe()), EXPECTED, `cuts at ${a}, ${b}`);
      }
    }
  });

  test('lineDecoder: lines across chunks, several per chunk, CRLF, blank lines, a last line without newline', () => {
    const lines = lineDecoder();
    assert.deepEqual(lines.push(encoder.encode('{"a"')), []);
    assert.deepEqual(lines.push(encoder.encode(':1}\n{"b":2}\r\n\n{"c"')), ['{"a":1}', '{"b":2}']);
    const snowman = encoder.encode('☃');
    assert.deepEqual(lines.push(new Uint8Array([...encoder.encode(':"'), snowman[0]])), []);
    assert.deepEqual(lines.push(new Uint8Array([snowman[1], snowman[2], ...encoder.encode('"}\n{"d":4}')])), ['{"c":"☃"}']);
    assert.deepEqual(lines.end(), ['{"d":4}']);
  });

  test('a body that stops without an end line (cut off, the object restarted) is STREAM_ENDED, not the end of the iteration; one that fails as it is read too', async () => {
    const { db } = clientAnswering(() => ndjson(cutStream('{"type":"ready","lsn":0}\n', [])));
    const it = db.subscribe();
    assert.deepEqual(await it.next(), { done: false, value: { type: 'ready', lsn: 0 } });
    await assert.rejects(it.next(), (/** @type {any} */ err) => err instanceof DoSQLError && err.code === 'STREAM_ENDED' && /subscribe again from the last lsn/.test(err.message));
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    let pulled = 0;
    const broken = new ReadableStream({
      pull(controller) {
        if (pulled++ === 0) controller.enqueue(encoder.encode('{"type":"ready","lsn":0}\n'));
        else controller.error(new TypeError('terminated'));
      },
    });
    const failing = clientAnswering(() => ndjson(broken)).db.subscribe();
    assert.deepEqual(await failing.next(), { done: false, value: { type: 'ready', lsn: 0 } });
    await assert.rejects(failing.next(), (/** @type {any} */ err) => err.code === 'STREAM_ENDED' && err.cause !== undefined && /\(terminated\)/.test(err.message));
  });

  test('a line that is not a JSON object is BAD_RESPONSE, after the events before it', async () => {
    const { db } = clientAnswering(() => ndjson(cutStream('{"type":"ready","lsn":0}\n[1,2]\n{"type":"ready","lsn":1}\n', [])));
    const it = db.subscribe();
    assert.deepEqual(await it.next(), { done: false, value: { type: 'ready', lsn: 0 } });
    await assert.rejects(it.next(), (/** @type {any} */ err) => err instanceof DoSQLError && err.code === 'BAD_RESPONSE' && err.status === 200);
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  });
});

describe('the request and its answers', () => {
  test('POST /subscribe {tables, since}, sent on the first next(), not before', async () => {
    const { db, requests } = clientAnswering(() => ndjson(cutStream('', [])));
    const it = db.subscribe(['users', 'orders'], { since: 41 });
    assert.equal(requests.length, 0);
    await assert.rejects(it.next(), { code: 'STREAM_ENDED' }); // this body has no end line
    await collect(db.subscribe());
    assert.deepEqual(
      requests.map((r) => [r.url, r.init.method, r.init.headers['Content-Type'], JSON.parse(r.init.body)]),
      [
        ['http://internal/subscribe', 'POST', 'application/json', { tables: ['users', 'orders'], since: 41 }],
        ['http://internal/subscribe', 'POST', 'application/json', {}],
      ],
    );
  });

  test('a since JSON cannot carry goes as its text, for the database to refuse, never as null (a live start)', async () => {
    const { db, requests } = clientAnswering(() => ndjson(cutStream('', [])));
    for (const since of [NaN, Infinity, -Infinity]) await collect(db.subscribe(null, { since }));
    assert.deepEqual(
      requests.map((r) => JSON.parse(r.init.body)),
      [{ since: 'NaN' }, { since: 'Infinity' }, { since: '-Infinity' }],
    );
  });

  test('options null are no options; a signal that is not an AbortSignal is a DoSQLError, sent nowhere', async () => {
    const { db, requests } = clientAnswering(() => ndjson(cutStream('', [])));
    assert.deepEqual(await collect(db.subscribe(null, /** @type {any} */ (null))), []);
    for (const signal of ['x', 5, {}]) {
      assert.throws(() => db.subscribe(null, { signal: /** @type {any} */ (signal) }), { name: 'DoSQLError', code: 'BAD_REQUEST', status: 400 });
    }
    assert.equal(requests.length, 1);
  });

  test('an error answer throws the DoSQLError other calls throw', async () => {
    const answers = [
      [Response.json({ error: 'too many subscribers', code: 'TOO_MANY_SUBSCRIBERS' }, { status: 503 }), { code: 'TOO_MANY_SUBSCRIBERS', status: 503, message: 'too many subscribers' }],
      // One that is not DoSQL's, as any call reads it: a 404 is a router without /subscribe.
      [new Response('Not found', { status: 404 }), { code: 'NOT_DOSQL', status: 404, message: 'the Durable Object answered /subscribe with 404 "Not found": its fetch() did not pass the request to DoSQL. In a class of your own that calls DB(), end fetch() with `return db.serve(request)` (docs/troubleshooting.md), or bind the DoSQLDatabase class itself' }],
      [new Response('upstream gone', { status: 502 }), { code: 'HTTP_502', status: 502, message: 'the Durable Object answered /subscribe with 502 "upstream gone", which is not an answer of DoSQL\'s protocol' }],
    ];
    for (const [response, expected] of answers) {
      const { db } = clientAnswering(() => /** @type {Response} */ (response));
      const it = db.subscribe(['users']);
      await assert.rejects(it.next(), (/** @type {any} */ err) => {
        assert.ok(err instanceof DoSQLError);
        assert.deepEqual({ code: err.code, status: err.status, message: err.message }, expected);
        return true;
      });
      assert.deepEqual(await it.next(), { done: true, value: undefined });
    }
  });

  test('an end line throws a DoSQLError with its code, after the events before it, and cancels the body', async () => {
    const body = manualStream();
    const { db } = clientAnswering(() => ndjson(body.stream));
    const it = db.subscribe();
    body.write('{"type":"ready","lsn":3}\n{"type":"end","code":"SUBSCRIBER_TOO_SLOW","error":"the subscriber fell 1 MiB behind"}\n');
    assert.deepEqual(await it.next(), { done: false, value: { type: 'ready', lsn: 3 } });
    await assert.rejects(it.next(), (/** @type {any} */ err) => {
      assert.ok(err instanceof DoSQLError);
      assert.equal(err.code, 'SUBSCRIBER_TOO_SLOW');
      assert.equal(err.message, 'the subscriber fell 1 MiB behind');
      return true;
    });
    await body.cancelled;
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  });

  test('keepalive lines are not handed out', async () => {
    const body = manualStream();
    const { db } = clientAnswering(() => ndjson(body.stream));
    const it = db.subscribe();
    const next = it.next();
    body.write('{"type":"keepalive"}\n{"type":"keepalive"}\n');
    body.write('{"type":"keepalive"}\n{"type":"ready","lsn":9}\n');
    assert.deepEqual(await next, { done: false, value: { type: 'ready', lsn: 9 } });
  });

  test('next() calls not awaited one by one are answered in order', async () => {
    const { db } = clientAnswering(() => ndjson(byteStream(WIRE)));
    const it = db.subscribe();
    const all = await Promise.all(EXPECTED.map(() => it.next()));
    assert.deepEqual(all.map((r) => r.value), EXPECTED);
    await assert.rejects(it.next(), { code: 'STREAM_ENDED' }); // this body has no end line
  });
});

describe('stopping', () => {
  test('the signal ends a next() that waits for data, and cancels the body', async () => {
    const body = manualStream();
    const { db } = clientAnswering(() => ndjson(body.stream));
    const abort = new AbortController();
    const it = db.subscribe(['users'], { signal: abort.signal });
    body.write('{"type":"ready","lsn":1}\n');
    assert.deepEqual(await it.next(), { done: false, value: { type: 'ready', lsn: 1 } });
    const waiting = it.next();
    abort.abort();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    await body.cancelled;
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  });

  test('the signal while the response is awaited: done at once, the late body is cancelled', async () => {
    const body = manualStream();
    /** @type {(r: Response) => void} */
    let answer = () => {};
    const { db } = clientAnswering(() => new Promise((resolve) => (answer = resolve)));
    const abort = new AbortController();
    const it = db.subscribe(undefined, { signal: abort.signal });
    const waiting = it.next();
    await new Promise((resolve) => setTimeout(resolve, 10));
    abort.abort();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    answer(ndjson(body.stream));
    await body.cancelled;
  });

  test('an aborted signal sends nothing', async () => {
    const { db, requests } = clientAnswering(() => ndjson(cutStream('', [])));
    const it = db.subscribe(['users'], { signal: AbortSignal.abort() });
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    assert.equal(requests.length, 0);
  });

  test('return() ends a waiting next() and cancels the body', async () => {
    const body = manualStream();
    const { db } = clientAnswering(() => ndjson(body.stream));
    const it = db.subscribe();
    body.write('{"type":"ready","lsn":1}\n');
    await it.next();
    const waiting = it.next();
    assert.deepEqual(await it.return?.(), { done: true, value: undefined });
    assert.deepEqual(await waiting, { done: true, value: undefined });
    await body.cancelled;
  });

  test('break in for await cancels the body', async () => {
    const body = manualStream();
    const { db } = clientAnswering(() => ndjson(body.stream));
    body.write('{"type":"ready","lsn":1}\n{"type":"ready","lsn":2}\n');
    for await (const event of db.subscribe()) {
      assert.deepEqual(event, { type: 'ready', lsn: 1 });
      break;
    }
    await body.cancelled;
  });

  test('the body ending without an end line (the database cut the stream off) is STREAM_ENDED, after the events it holds', async () => {
    const body = manualStream();
    const { db } = clientAnswering(() => ndjson(body.stream));
    const it = db.subscribe();
    const waiting = it.next();
    body.write('{"type":"ready","lsn":1}');
    body.close();
    assert.deepEqual(await waiting, { done: false, value: { type: 'ready', lsn: 1 } });
    await assert.rejects(it.next(), { code: 'STREAM_ENDED' });
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    assert.equal(body.wasCancelled, false);
  });
});
