// changes/subscribers.js — the change feed's two kinds of subscriber: a streaming
// body (NDJSON or Server-Sent Events) and a hibernatable WebSocket. The feed
// decides what each is sent and when; a subscriber holds its selection, cursor and
// pump state, and owns how messages reach its reader:
//
// - streams count their unread bytes: with more than MAX_UNREAD_BYTES queued when
//   something new is due, the stream gets `end` SUBSCRIBER_TOO_SLOW and closes; the
//   feed cuts off the slowest when all of them together hold more than
//   MAX_UNREAD_TOTAL_BYTES (cutOff: no `end`, the queue is dropped).
//   drained() lets a catch-up wait for the reader between pages and after its last
//   one, so reading a long log back never counts as slow, however long a page takes;
// - a WebSocket keeps {tables, cursor, ready} in its attachment, to be rebuilt
//   after hibernation. The platform buffers its messages whole, and says nothing of
//   how far its reader got: live, it is never too slow; catching up, it ends
//   (SUBSCRIBER_TOO_SLOW) before it is sent more than SOCKET_CATCH_UP_BYTES, to go on
//   from its last lsn, so that the log is never held in memory for a reader that reads none.

import { SSE_HEADERS, SSE_KEEPALIVE, sseMessage } from './sse.js';
import { KEEPALIVE_MS, MAX_UNREAD_BYTES, SOCKET_CATCH_UP_BYTES } from '../config.js';

const encoder = new TextEncoder();

const NDJSON_HEADERS = Object.freeze({
  'content-type': 'application/x-ndjson; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
});

/** JSON text; SSE also sends the event name (gap, ready, end) and the id (the lsn the stream continues after).
 *  @typedef {{text: string, event?: string, id?: number}} Message */

/** @param {{type: string} & Record<string, unknown>} value @param {number} [id] @returns {Message} */
export function control(value, id) {
  return { text: JSON.stringify(value), event: value.type, id };
}

/** As SQLite compares table names: ASCII letters case-insensitively. @param {string} name */
function foldCase(name) {
  return name.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

class Subscriber {
  /** Folded table names, or null for every table. @type {Set<string> | null} */
  filter;
  /** The last lsn passed (sent or filtered out); null until a live start read the head. @type {number | null} */
  cursor;
  /** The lsn of the last message sent that carries one (an event, gap or ready): where the reader resumes. */
  sentThrough;
  ready;
  pumping = false;
  again = false;
  closed = false;

  /** @param {string[] | null} tables @param {number | null} cursor @param {boolean} ready */
  constructor(tables, cursor, ready) {
    this.filter = tables === null ? null : new Set(tables.map(foldCase));
    this.cursor = cursor;
    this.sentThrough = cursor ?? 0;
    this.ready = ready;
  }

  /** Note the lsns of messages sent. @param {Message[]} messages */
  sent(messages) {
    for (const m of messages) if (m.id !== undefined && m.id > this.sentThrough) this.sentThrough = m.id;
  }

  /** @param {string} table */
  wants(table) {
    return this.filter === null || this.filter.has(foldCase(table));
  }
}

export class StreamSubscriber extends Subscriber {
  /** @type {ReadableStream<Uint8Array>} */
  body;
  #format;
  /** @type {ReadableStreamDefaultController<Uint8Array>} */
  #controller;
  /** Resolves the catch-up waiting for the reader (pull), if any. */
  #wake = () => {};
  /** A catch-up waits for the reader to take its pages: it is not slow meanwhile. */
  #waited = false;
  /** Bytes ever enqueued; less those queued, the bytes the reader took. */
  #enqueued = 0;
  /** The bytes the reader had taken at the last keepalive (-1 before the first). */
  #takenAtKeepalive = -1;
  #onClose;

  /**
   * @param {'ndjson' | 'sse'} format @param {string[] | null} tables @param {number | null} since
   * @param {() => void} onClose  the reader went away, or was too slow
   */
  constructor(format, tables, since, onClose) {
    super(tables, since, false);
    this.#format = format;
    this.#onClose = onClose;
    this.body = new ReadableStream(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => this.#wake(),
        cancel: () => {
          this.closed = true;
          this.#wake();
          this.#onClose();
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: MAX_UNREAD_BYTES }),
    );
  }

  /** Its share of the feed's count of unread bytes (feed.js), as last counted. */
  counted = 0;

  get headers() {
    return this.#format === 'sse' ? SSE_HEADERS : NDJSON_HEADERS;
  }

  /** Bytes queued that the reader has not taken. */
  get queuedBytes() {
    const size = this.#controller.desiredSize;
    return this.closed || size === null ? 0 : MAX_UNREAD_BYTES - size;
  }

  /** Close at once, its queue dropped (an `end` behind the queue would keep it). @param {string} why */
  cutOff(why) {
    if (this.closed) return;
    this.closed = true;
    try {
      this.#controller.error(new Error(why));
    } catch {
      // cancelled meanwhile
    }
    this.#wake();
  }

  /** False once the stream is closed (by the reader, or here as too slow). @param {Message[]} messages */
  deliver(messages) {
    if (this.closed) return false;
    if (messages.length === 0) return true;
    if (this.#tooSlow()) return false;
    if (!this.#enqueue(messages.map((m) => this.#frame(m)).join(''))) return false;
    this.sent(messages);
    return true;
  }

  /**
   * The periodic keepalive; or, unless a catch-up's pages are what the reader has yet
   * to read, the end of one that stopped reading: behind by more than MAX_UNREAD_BYTES,
   * or having taken nothing since the last keepalive while bytes waited for it. That
   * one has gone: workerd does not always tell a stream that its reader went away, and
   * every write to it then succeeds, so it would count among the subscribers for good.
   */
  keepalive() {
    if (this.closed) return;
    const taken = this.#enqueued - this.queuedBytes;
    if (!this.#waited && (this.#tooSlow() || this.#stalled(taken))) return;
    this.#takenAtKeepalive = taken;
    this.#enqueue(this.#format === 'sse' ? SSE_KEEPALIVE : '{"type":"keepalive"}\n');
  }

  /** Whether the reader took nothing since the last keepalive, bytes waiting; then ended. @param {number} taken */
  #stalled(taken) {
    if (this.queuedBytes === 0 || taken !== this.#takenAtKeepalive) return false;
    this.end('SUBSCRIBER_TOO_SLOW', `nothing was read for ${KEEPALIVE_MS / 1000} s; subscribe again from the last lsn you saw`);
    this.#onClose();
    return true;
  }

  /** Resolves once the reader took enough to go on with a catch-up (or left). */
  drained() {
    const size = this.#controller.desiredSize;
    if (this.closed || size === null || size > 0) return Promise.resolve();
    this.#waited = true;
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = () => {};
        this.#waited = false;
        resolve(undefined);
      };
    });
  }

  /** Send `end` and close. @param {string} code @param {string} error */
  end(code, error) {
    if (this.closed) return;
    this.#enqueue(this.#frame(control({ type: 'end', code, error })));
    this.closed = true;
    try {
      this.#controller.close();
    } catch {
      // cancelled meanwhile
    }
    this.#wake();
  }

  #tooSlow() {
    const size = this.#controller.desiredSize;
    if (size === null || size >= 0) return false;
    this.end('SUBSCRIBER_TOO_SLOW', `more than ${MAX_UNREAD_BYTES} bytes of events were not read; subscribe again from the last lsn you saw`);
    this.#onClose();
    return true;
  }

  /** @param {string} text */
  #enqueue(text) {
    try {
      const bytes = encoder.encode(text);
      this.#controller.enqueue(bytes);
      this.#enqueued += bytes.length;
      return true;
    } catch {
      // The reader went away.
      this.closed = true;
      this.#onClose();
      return false;
    }
  }

  /** @param {Message} m */
  #frame(m) {
    return this.#format === 'ndjson' ? `${m.text}\n` : sseMessage(m.text, m);
  }
}

/** Kept in the socket's attachment. @typedef {{tables: string[] | null, cursor: number | null, ready: boolean}} SocketState */
export class SocketSubscriber extends Subscriber {
  /** @type {WebSocket} */
  ws;
  /** @type {string[] | null} */
  #tables;
  /** Bytes of stored events sent before ready. */
  #caughtUpBytes = 0;
  /** Reading the log back: no ready sent yet. */
  #catchingUp;

  /** @param {WebSocket} ws @param {SocketState} state */
  constructor(ws, { tables, cursor, ready }) {
    super(tables, cursor, ready);
    this.ws = ws;
    this.#tables = tables;
    this.#catchingUp = !ready;
  }

  /**
   * Where the state survives hibernation. The cursor grows as events arrive, and so
   * does its share of the attachment (16 KiB at most): given one, the state is
   * saved as it would be with that cursor (a check of room, before the first save).
   * @param {number | null} [cursor]
   */
  save(cursor = this.cursor) {
    this.ws.serializeAttachment({ tables: this.#tables, cursor, ready: this.ready });
  }

  /**
   * Sent as they come, but a catch-up ends (SUBSCRIBER_TOO_SLOW) before the event that
   * would take it past SOCKET_CATCH_UP_BYTES (the first is sent whatever its size, or
   * a reader could never get past it).
   * @param {Message[]} messages
   */
  deliver(messages) {
    if (this.closed) return false;
    try {
      for (const m of messages) {
        if (this.#catchingUp && m.event === undefined) {
          const bytes = encoder.encode(m.text).byteLength;
          if (this.#caughtUpBytes > 0 && this.#caughtUpBytes + bytes > SOCKET_CATCH_UP_BYTES) {
            this.end('SUBSCRIBER_TOO_SLOW', `this WebSocket's catch-up was sent ${this.#caughtUpBytes} bytes of stored events, and the next would pass ${SOCKET_CATCH_UP_BYTES}, which the runtime would hold until they are read: subscribe again from the last lsn you saw to read on`);
            return false;
          }
          this.#caughtUpBytes += bytes;
        }
        if (m.event === 'ready') this.#catchingUp = false;
        this.ws.send(m.text);
        this.sent([m]);
      }
      this.save();
      return true;
    } catch {
      this.closed = true; // the socket is gone
      return false;
    }
  }

  /** Between pages of a catch-up: nothing to wait for (the platform buffers the messages, which deliver bounds). */
  drained() {
    return Promise.resolve();
  }

  /** @param {string} code @param {string} error */
  end(code, error) {
    if (this.closed) return;
    this.closed = true;
    try {
      this.ws.send(control({ type: 'end', code, error }).text);
      this.ws.close(1011, code);
    } catch {
      // already gone
    }
  }
}
