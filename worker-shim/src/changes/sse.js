// changes/sse.js — a change stream relayed to browsers as Server-Sent Events.
//
// For a SvelteKit +server.ts route (or any Worker's fetch handler):
//
//   export const GET = ({ platform, request, locals }) =>
//     eventStream(getDB(platform, locals.tenant).subscribe(['users'], { since: lastEventId(request), signal: request.signal }));
//
// Each event of the iterator is one whole SSE message, never a piece of the
// upstream body. A change event carries `id: <lsn>`, so an EventSource that
// reconnects sends it back as Last-Event-ID and resumes right after it; `gap` and
// `ready` carry as id the lsn the stream continues after, for the same reason. Row
// values are encoded again as the database sent them ({$bigint}, {$blob}), so the
// browser's JSON.parse(event.data) sees the wire format of docs/changes.md.

import { encodeRow } from '../client/values.js';

const encoder = new TextEncoder();

/** Events with a name of their own; change events are plain messages (EventSource's onmessage). */
const NAMED = new Set(['gap', 'ready', 'end']);

/** Headers of a text/event-stream answer (the object's own and the relay's). */
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
 * One SSE message carrying JSON text, which has no raw line breaks, so one
 * `data:` line holds it; `event:` names it (else it is a plain message, for
 * EventSource's onmessage) and `id:` is where a reconnect resumes.
 * @param {string} json
 * @param {{event?: string, id?: number}} [fields]
 * @returns {string}
 */
export function sseMessage(json, { event, id } = {}) {
  return `${event ? `event: ${event}\n` : ''}${id !== undefined ? `id: ${id}\n` : ''}data: ${json}\n\n`;
}

/**
 * A text/event-stream Response relaying events (e.g. db.subscribe(...)). An error
 * of the iterator (an `end` from the database, an error answer) is sent as a last
 * `end` event {type, code, error}; then the stream closes. When the browser goes
 * away (the body is cancelled) or the signal aborts, the iterator is returned,
 * which cancels the subscription.
 * @param {AsyncIterable<any>} events
 * @param {{signal?: AbortSignal, keepAliveMs?: number, retryMs?: number}} [options]
 *   keepAliveMs: a comment this often keeps proxies from closing an idle stream;
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

  /** No more writes; the upstream is cancelled. Idempotent. */
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

/**
 * One SSE message: `event:` for gap/ready/end, `id:` where the stream can resume,
 * and the event as one `data:` line (JSON text has no raw line breaks).
 * @param {any} event
 * @returns {string}
 */
function message(event) {
  const id = event?.type === 'gap' ? event.head : event?.lsn;
  return sseMessage(JSON.stringify({ ...event, data: encodeRow(event?.data), old: encodeRow(event?.old) }), {
    event: NAMED.has(event?.type) ? event.type : undefined,
    id: Number.isSafeInteger(id) ? id : undefined,
  });
}

/**
 * The `end` event for an error of the iterator.
 * @param {any} err
 */
function endOf(err) {
  return {
    type: 'end',
    code: typeof err?.code === 'string' ? err.code : 'INTERNAL',
    error: err instanceof Error ? err.message : String(err),
  };
}

/**
 * Where a reconnecting EventSource left off: its Last-Event-ID header, else the
 * `since` query parameter (for the first connection); undefined when neither is
 * a whole number, which subscribes from now on.
 * @param {Request} request
 * @returns {number | undefined}
 */
export function lastEventId(request) {
  return wholeNumber(request.headers.get('Last-Event-ID')) ?? wholeNumber(new URL(request.url).searchParams.get('since'));
}

/** @param {string | null} text */
function wholeNumber(text) {
  const trimmed = text?.trim() ?? '';
  const n = Number(trimmed);
  return /^\d+$/.test(trimmed) && Number.isSafeInteger(n) ? n : undefined;
}
