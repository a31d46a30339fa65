// changes/sse.js — a change stream relayed to browsers as Server-Sent Events.
//
// For a SvelteKit +server.ts route (or any Worker's fetch handler):
//
//   export const GET = ({ platform, request, locals }) =>
//     eventStream(getDB(platform, locals.tenant).subscribe(['users'], { since: lastEventId(request), signal: request.signal }));
//
// Each event of the iterator is one whole SSE message. A change event carries
// `id: <lsn>` (`gap` and `ready`: the lsn the stream continues after), so a
// reconnecting EventSource sends it back as Last-Event-ID and resumes right after
// it. Row values are encoded again as the database sent them ({$bigint}, {$blob}),
// so the browser's JSON.parse(event.data) sees the wire format of docs/changes.md.

import { encodeRow } from '../client/values.js';
import { exactJson } from '../exact-json.js';

const encoder = new TextEncoder();

/** Events with a name of their own; change events are plain messages (EventSource's onmessage). */
const NAMED = new Set(['gap', 'ready', 'end']);

/** The object's own and the relay's. */
export const SSE_HEADERS = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // nginx (and proxies that follow it) would otherwise buffer the stream.
  'x-accel-buffering': 'no',
});

/** A comment that keeps proxies from closing an idle stream. */
export const SSE_KEEPALIVE = ': keepalive\n\n';
const KEEPALIVE = encoder.encode(SSE_KEEPALIVE);

/**
 * JSON text has no raw line breaks, so one `data:` line holds it; without `event:`
 * it is a plain message (onmessage); `id:` is where a reconnect resumes.
 * @param {string} json @param {{event?: string, id?: number}} [fields] @returns {string}
 */
export function sseMessage(json, { event, id } = {}) {
  return `${event ? `event: ${event}\n` : ''}${id !== undefined ? `id: ${id}\n` : ''}data: ${json}\n\n`;
}

/**
 * A text/event-stream Response relaying events (e.g. db.subscribe(...)). An error
 * of the iterator is sent as a last `end` event {type, code, error}, then the
 * stream closes; but STREAM_ENDED (the upstream stopped without an end) closes it
 * without one, so that the browser reconnects. When the browser goes away or the signal aborts, the iterator is
 * returned, which cancels the subscription.
 * @param {AsyncIterable<any>} events
 * @param {{signal?: AbortSignal, keepAliveMs?: number, retryMs?: number}} [options]
 *   retryMs: how long an EventSource waits before it reconnects
 * @returns {Response}
 */
export function eventStream(events, { signal, keepAliveMs = 15_000, retryMs = 3_000 } = {}) {
  const iterator = events[Symbol.asyncIterator]();
  /** @type {ReadableStreamDefaultController<Uint8Array>} */
  let controller;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let timer;
  let stopped = false;

  /** Idempotent: no more writes, and the upstream is cancelled. */
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    signal?.removeEventListener('abort', finish);
    Promise.resolve(iterator.return?.()).catch(() => {});
  };
  /** Stop, and end the body for the browser. */
  const finish = () => {
    if (stopped) return;
    stop();
    controller.close();
  };

  const body = new ReadableStream({
    start(c) {
      controller = c;
      c.enqueue(encoder.encode(`retry: ${retryMs}\n\n`));
      if (signal?.aborted) return finish();
      signal?.addEventListener('abort', finish);
      timer = setInterval(() => c.enqueue(KEEPALIVE), keepAliveMs);
    },

    async pull(c) {
      /** @type {string} */
      let text;
      let last = false;
      try {
        const { done, value } = await iterator.next();
        if (done) return finish();
        text = message(value);
      } catch (err) {
        // A stream that stopped without an end line is passed on as one: the browser's
        // EventSource reconnects by itself, from Last-Event-ID.
        if (/** @type {any} */ (err)?.code === 'STREAM_ENDED') return finish();
        text = message(endOf(err));
        last = true;
      }
      if (stopped) return; // cancelled or aborted while waiting
      c.enqueue(encoder.encode(text));
      if (last) finish();
    },

    cancel() {
      stop();
    },
  });
  return new Response(body, { headers: SSE_HEADERS });
}

/** @param {any} event @returns {string} */
function message(event) {
  const id = event?.type === 'gap' ? event.head : event?.lsn;
  return sseMessage(exactJson({ ...event, data: wireRow(event?.data), old: wireRow(event?.old) }), {
    event: NAMED.has(event?.type) ? event.type : undefined,
    id: Number.isSafeInteger(id) ? id : undefined,
  });
}

/**
 * A decoded row as the database wrote it: encodeRow's tags, but −0 as the number
 * (exactJson writes it -0), where a parameter needs {$real: '-0'}.
 * @param {unknown} row
 */
function wireRow(row) {
  if (row === null || typeof row !== 'object') return row;
  const zeros = Object.keys(row).filter((key) => Object.is(/** @type {any} */ (row)[key], -0));
  const out = encodeRow(/** @type {Record<string, unknown>} */ (row));
  for (const key of zeros) Object.defineProperty(out, key, { value: -0, enumerable: true, writable: true, configurable: true });
  return out;
}

/** @param {any} err */
function endOf(err) {
  return {
    type: 'end',
    code: typeof err?.code === 'string' ? err.code : 'INTERNAL',
    error: err instanceof Error ? err.message : String(err),
  };
}

/**
 * Where a reconnecting EventSource left off: Last-Event-ID, else the `since` query
 * parameter (first connection); undefined (from now on) when neither is given. One
 * that is not a whole number is NaN, which subscribe() sends for the database to
 * refuse (400 BAD_REQUEST, the relay's `end` event): read as "from now on", it would
 * skip every stored event without a word.
 * @param {Request} request @returns {number | undefined}
 */
export function lastEventId(request) {
  const given = [request.headers.get('Last-Event-ID'), new URL(request.url).searchParams.get('since')].find((text) => text !== null && text.trim() !== '');
  return given === undefined ? undefined : (wholeNumber(given) ?? NaN);
}

/** @param {string | null} text */
function wholeNumber(text) {
  const trimmed = text?.trim() ?? '';
  const n = Number(trimmed);
  return /^\d+$/.test(trimmed) && Number.isSafeInteger(n) ? n : undefined;
}
