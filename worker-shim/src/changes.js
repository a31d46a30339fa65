// changes.js — the change feed of one database: the subscribers of /subscribe
// (docs/changes.md) over NDJSON, Server-Sent Events and hibernatable WebSockets.
//
// C keeps the log (table _dosql_changes, written in the same transaction as the
// rows) and reads it (POST /changes). This file owns the subscribers, and nothing
// else:
//
// - each has a cursor (the last lsn it has been sent, or that its table filter
//   skipped) and a pump: read the page after the cursor through the same gate as
//   every request (so never an open interactive transaction's uncommitted rows),
//   send what matches, advance, loop until next == head, then `ready` once;
// - a commit wakes every pump (notify) and never waits for one. Pumps at the same
//   cursor share one read while it is in flight; a commit starts a new
//   generation of reads, so nobody joins a read that began before the commit;
// - NDJSON and SSE bodies are ReadableStreams that count their unread bytes: with
//   more than MAX_UNREAD_BYTES queued when something new is due, the stream gets
//   `end` SUBSCRIBER_TOO_SLOW and closes. A catch-up waits for the reader between
//   pages, so reading a long log back never counts as slow;
// - a WebSocket keeps {tables, cursor, ready} in its attachment, so when the
//   object wakes from hibernation the next feed finds it (ctx.getWebSockets()) and
//   carries on from there. `ping` is answered by the runtime without a wake.

import { errorResponse, messageOf, toResponse } from './response.js';
import { SSE_HEADERS, SSE_KEEPALIVE, sseMessage } from './sse.js';

/** Streaming subscribers (NDJSON and SSE) per object; WebSockets are the platform's to bound. */
export const MAX_STREAMS = 1000;
/** Unread bytes a stream may have queued before it is too slow. */
export const MAX_UNREAD_BYTES = 1024 * 1024;
/** A keepalive line (NDJSON) or comment (SSE) this often keeps proxies from closing idle streams. */
export const KEEPALIVE_MS = 15_000;
/** The largest /subscribe body read (it holds only tables and since). */
export const MAX_SUBSCRIBE_BYTES = 64 * 1024;
/** The tag of subscribers' WebSockets: a class of one's own may hibernate sockets of its own too. */
const SOCKET_TAG = 'dosql-changes';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const NDJSON_HEADERS = Object.freeze({
  'content-type': 'application/x-ndjson; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
});

/** @typedef {import('./response.js').EngineResponse} EngineResponse */

/**
 * One page of POST /changes, each event's JSON text made once for every subscriber.
 * @typedef {object} Page
 * @property {{lsn: number, table: string}[]} events
 * @property {string[]} lines  JSON text of each event
 * @property {number} next
 * @property {number} head
 * @property {boolean} gap
 */

/**
 * One message for a subscriber: JSON text; SSE also sends the event name (gap,
 * ready, end) and the id (the lsn the stream continues after).
 * @typedef {{text: string, event?: string, id?: number}} Message
 */

/**
 * @typedef {object} Selection
 * @property {string[] | null} tables  null: every table
 * @property {number | null} since  null: start live, at the head
 */

/**
 * @typedef {object} FeedOptions
 * @property {(body: {since: number, limit?: number}) => Promise<EngineResponse>} read
 *   POST /changes through the gate
 * @property {any} [ctx]  the object's DurableObjectState; without it, no WebSockets
 * @property {(...args: unknown[]) => void} log  for failures nobody awaits
 */

export class ChangeFeed {
  /** @type {FeedOptions} */
  #options;
  /** @type {Set<StreamSubscriber>} */
  #streams = new Set();
  /** @type {Map<WebSocket, SocketSubscriber>} */
  #sockets = new Map();
  /** The hibernated sockets of an earlier run of the object have been looked up. */
  #socketsLoaded = false;
  /** since → its read in flight, of the current commit generation. @type {Map<number, Promise<Page>>} */
  #reads = new Map();
  /** @type {ReturnType<typeof setInterval> | null} */
  #keepalive = null;

  /** @param {FeedOptions} options */
  constructor(options) {
    this.#options = options;
  }

  /** Subscribers now, for stats. */
  get subscribers() {
    this.#loadSockets();
    return { streams: this.#streams.size, sockets: this.#sockets.size };
  }

  /**
   * Answer GET or POST /subscribe: a stream, a WebSocket (101), or an error.
   * @param {Request} request
   * @param {() => Promise<Uint8Array | {oversized: number}>} readBody  the body
   *   of a POST, read up to MAX_SUBSCRIBE_BYTES
   * @returns {Promise<Response>}
   */
  async subscribe(request, readBody) {
    const upgrade = (request.headers.get('upgrade') ?? '').toLowerCase();
    const sse = (request.headers.get('accept') ?? '').includes('text/event-stream');
    if (request.method === 'POST') {
      const selection = parseBody(await readBody());
      if ('status' in selection) return toResponse(selection);
      return this.#stream(selection, 'ndjson');
    }
    if (request.method !== 'GET') {
      return toResponse(
        errorResponse(405, `${request.method} is not allowed on /subscribe: POST for NDJSON, GET for Server-Sent Events or a WebSocket`, 'METHOD_NOT_ALLOWED'),
      );
    }
    if (upgrade !== 'websocket' && !sse) {
      return toResponse(
        errorResponse(400, 'GET /subscribe needs "Accept: text/event-stream" (Server-Sent Events) or "Upgrade: websocket"; POST gives NDJSON', 'BAD_REQUEST'),
      );
    }
    const selection = parseQuery(new URL(request.url).searchParams, upgrade === 'websocket' ? null : request.headers.get('last-event-id'));
    if ('status' in selection) return toResponse(selection);
    return upgrade === 'websocket' ? this.#socket(selection) : this.#stream(selection, 'sse');
  }

  /**
   * Something committed: wake every subscriber. Returns at once; the pumps log
   * their own failures. Costs nothing without subscribers.
   */
  notify() {
    this.#loadSockets();
    if (this.#streams.size === 0 && this.#sockets.size === 0) return;
    this.#reads.clear();
    for (const sub of this.#streams) void this.#pump(sub);
    for (const sub of this.#sockets.values()) void this.#pump(sub);
  }

  /**
   * A hibernatable socket closed or failed: forget its subscriber.
   * @param {WebSocket} ws
   */
  dropSocket(ws) {
    this.#loadSockets();
    const sub = this.#sockets.get(ws);
    if (!sub) return;
    this.#remove(sub);
    try {
      ws.close(1000, 'closed');
    } catch {
      // already closed
    }
  }

  // ---- subscribers ---------------------------------------------------------------

  /**
   * @param {Selection} selection
   * @param {'ndjson' | 'sse'} format
   */
  #stream({ tables, since }, format) {
    if (this.#streams.size >= MAX_STREAMS) {
      return toResponse(
        errorResponse(503, `this database already serves ${MAX_STREAMS} streaming subscribers; try again later, or subscribe over a WebSocket`, 'TOO_MANY_SUBSCRIBERS'),
      );
    }
    const sub = new StreamSubscriber(format, tables, since, () => this.#remove(sub));
    this.#streams.add(sub);
    this.#keepalive ??= setInterval(() => {
      for (const s of this.#streams) s.keepalive();
    }, KEEPALIVE_MS);
    void this.#pump(sub);
    return new Response(sub.body, { status: 200, headers: format === 'sse' ? SSE_HEADERS : NDJSON_HEADERS });
  }

  /** @param {Selection} selection */
  #socket({ tables, since }) {
    const ctx = this.#options.ctx;
    if (!ctx) {
      return toResponse(
        errorResponse(500, 'WebSocket subscriptions need the Durable Object\'s state: pass ctx to DB(name, {ctx, ...}) and forward webSocketClose/webSocketError to the database', 'BAD_CONFIG'),
      );
    }
    this.#loadSockets();
    const [client, server] = Object.values(new WebSocketPair());
    const sub = new SocketSubscriber(server, { tables, cursor: since, ready: false });
    try {
      sub.save();
    } catch (err) {
      return toResponse(errorResponse(400, `this subscription does not fit a WebSocket's attachment (list fewer tables): ${messageOf(err)}`, 'BAD_REQUEST'));
    }
    ctx.acceptWebSocket(server, [SOCKET_TAG]);
    // Answered by the runtime, so a ping never wakes a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
    this.#sockets.set(server, sub);
    void this.#pump(sub);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** After a wake from hibernation: the sockets accepted by an earlier run. */
  #loadSockets() {
    if (this.#socketsLoaded || !this.#options.ctx) return;
    this.#socketsLoaded = true;
    for (const ws of this.#options.ctx.getWebSockets(SOCKET_TAG)) {
      const state = ws.deserializeAttachment();
      if (state && ws.readyState === WebSocket.OPEN) this.#sockets.set(ws, new SocketSubscriber(ws, state));
    }
  }

  /** @param {StreamSubscriber | SocketSubscriber} sub */
  #remove(sub) {
    sub.closed = true;
    if (sub instanceof StreamSubscriber) this.#streams.delete(sub);
    else this.#sockets.delete(sub.ws);
    if (this.#streams.size === 0 && this.#keepalive !== null) {
      clearInterval(this.#keepalive);
      this.#keepalive = null;
    }
  }

  // ---- pumps ---------------------------------------------------------------------

  /**
   * Send a subscriber everything after its cursor; again if a commit came in
   * meanwhile. One pump per subscriber at a time; never rejects.
   * @param {StreamSubscriber | SocketSubscriber} sub
   */
  async #pump(sub) {
    if (sub.pumping) {
      sub.again = true;
      return;
    }
    sub.pumping = true;
    try {
      do {
        sub.again = false;
        await this.#catchUp(sub);
      } while (sub.again && !sub.closed);
    } catch (err) {
      if (!sub.closed) {
        this.#options.log('a change subscriber is closed after a failed read of the log:', err);
        const code = /** @type {any} */ (err)?.code;
        sub.end(typeof code === 'string' ? code : 'INTERNAL', messageOf(err));
        this.#remove(sub);
      }
    } finally {
      sub.pumping = false;
    }
  }

  /** @param {StreamSubscriber | SocketSubscriber} sub */
  async #catchUp(sub) {
    for (;;) {
      if (sub.closed) return;
      const live = sub.cursor === null;
      const page = await this.#page(sub.cursor);
      if (sub.closed) return;
      /** @type {Message[]} */
      const out = [];
      // A live start wants nothing up to the head: the stream starts after it.
      if (!live) {
        if (page.gap) out.push(control({ type: 'gap', since: sub.cursor, head: page.head }, page.head));
        page.events.forEach((e, i) => {
          if (sub.wants(e.table)) out.push({ text: page.lines[i], id: e.lsn });
        });
      }
      const next = live ? page.head : page.next;
      const caughtUp = next >= page.head;
      sub.cursor = next;
      if (caughtUp && !sub.ready) {
        sub.ready = true;
        out.push(control({ type: 'ready', lsn: next }, next));
      }
      if (!sub.deliver(out)) {
        this.#remove(sub); // it closed
        return;
      }
      if (caughtUp) return;
      await sub.drained();
    }
  }

  /**
   * The page after since (null: a page that tells the head), shared by the
   * pumps that ask for it while it is in flight.
   * @param {number | null} since
   * @returns {Promise<Page>}
   */
  #page(since) {
    const key = since ?? -1;
    let read = this.#reads.get(key);
    if (!read) {
      read = this.#options.read(since === null ? { since: 0, limit: 1 } : { since }).then(parsePage);
      const reads = this.#reads;
      const forget = () => {
        if (reads.get(key) === read) reads.delete(key);
      };
      read.then(forget, forget);
      reads.set(key, read);
    }
    return read;
  }
}

// ---- the two kinds of subscriber ---------------------------------------------------

/** What both kinds share: the selection, the cursor and the pump's state. */
class Subscriber {
  /** Table names in ASCII lower case, or null for every table. @type {Set<string> | null} */
  filter;
  /** The last lsn passed (sent or filtered out); null until a live start read the head. @type {number | null} */
  cursor;
  ready;
  pumping = false;
  again = false;
  closed = false;

  /**
   * @param {string[] | null} tables
   * @param {number | null} cursor
   * @param {boolean} ready
   */
  constructor(tables, cursor, ready) {
    this.filter = tables === null ? null : new Set(tables.map(foldCase));
    this.cursor = cursor;
    this.ready = ready;
  }

  /** @param {string} table */
  wants(table) {
    return this.filter === null || this.filter.has(foldCase(table));
  }
}

/** An NDJSON or SSE body. */
class StreamSubscriber extends Subscriber {
  /** @type {ReadableStream<Uint8Array>} */
  body;
  #format;
  /** @type {ReadableStreamDefaultController<Uint8Array>} */
  #controller;
  /** Resolves the catch-up waiting for the reader (pull), if any. */
  #wake = () => {};
  #onClose;

  /**
   * @param {'ndjson' | 'sse'} format
   * @param {string[] | null} tables
   * @param {number | null} since
   * @param {() => void} onClose  the stream closed: the reader went away, or it
   *   was too slow
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

  /**
   * Queue messages. False once the stream is closed: by the reader, or here
   * because more than MAX_UNREAD_BYTES were still unread.
   * @param {Message[]} messages
   */
  deliver(messages) {
    if (this.closed) return false;
    if (messages.length === 0) return true;
    if (this.#tooSlow()) return false;
    return this.#enqueue(messages.map((m) => this.#frame(m)).join(''));
  }

  /** The periodic keepalive (or the end of a reader that stopped reading). */
  keepalive() {
    if (this.closed || this.#tooSlow()) return;
    this.#enqueue(this.#format === 'sse' ? SSE_KEEPALIVE : '{"type":"keepalive"}\n');
  }

  /** Resolves once the reader took enough to go on with a catch-up (or left). */
  drained() {
    const size = this.#controller.desiredSize;
    if (this.closed || size === null || size > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = () => {};
        resolve(undefined);
      };
    });
  }

  /**
   * Send `end` and close.
   * @param {string} code
   * @param {string} error
   */
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
      this.#controller.enqueue(encoder.encode(text));
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

/**
 * A hibernatable WebSocket; its state lives in the socket's attachment.
 * @typedef {{tables: string[] | null, cursor: number | null, ready: boolean}} SocketState
 */
class SocketSubscriber extends Subscriber {
  /** @type {WebSocket} */
  ws;
  /** @type {string[] | null} */
  #tables;

  /**
   * @param {WebSocket} ws
   * @param {SocketState} state
   */
  constructor(ws, { tables, cursor, ready }) {
    super(tables, cursor, ready);
    this.ws = ws;
    this.#tables = tables;
  }

  /** Keep the state where it survives hibernation. */
  save() {
    this.ws.serializeAttachment({ tables: this.#tables, cursor: this.cursor, ready: this.ready });
  }

  /** @param {Message[]} messages */
  deliver(messages) {
    if (this.closed) return false;
    try {
      for (const m of messages) this.ws.send(m.text);
      this.save();
      return true;
    } catch {
      this.closed = true; // the socket is gone
      return false;
    }
  }

  /** The platform buffers WebSocket messages: nothing to wait for. */
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

// ---- parsing -------------------------------------------------------------------------

/**
 * A control message; in SSE a named event, with the lsn the stream continues
 * after as its id (so an EventSource resumes there).
 * @param {{type: string} & Record<string, unknown>} value
 * @param {number} [id]
 * @returns {Message}
 */
function control(value, id) {
  return { text: JSON.stringify(value), event: value.type, id };
}

/**
 * An answer of POST /changes as a page; throws an Error with the answer's code
 * when it is an error.
 * @param {EngineResponse} answer
 * @returns {Page}
 */
function parsePage(answer) {
  const text = decoder.decode(answer.body);
  /** @type {any} */
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (answer.status !== 200 || !Array.isArray(value?.events)) {
    const err = /** @type {Error & {code?: string}} */ (new Error(`reading the change log failed (${answer.status}): ${value?.error ?? text.slice(0, 200)}`));
    err.code = typeof value?.code === 'string' ? value.code : 'INTERNAL';
    throw err;
  }
  return {
    events: value.events,
    lines: value.events.map((/** @type {unknown} */ e) => JSON.stringify(e)),
    next: value.next,
    head: value.head,
    gap: value.gap === true,
  };
}

/**
 * The selection of a POST body {tables?, since?}, or the error to answer.
 * @param {Uint8Array | {oversized: number}} body
 * @returns {Selection | EngineResponse}
 */
function parseBody(body) {
  if (!(body instanceof Uint8Array)) {
    return errorResponse(413, `the body of /subscribe is ${body.oversized} bytes; it holds only {tables, since}`, 'PAYLOAD_TOO_LARGE');
  }
  const text = decoder.decode(body).trim();
  /** @type {any} */
  let value = {};
  if (text !== '') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      return errorResponse(400, `the body of /subscribe is not JSON: ${messageOf(err)}`, 'BAD_JSON');
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return errorResponse(400, 'the body of /subscribe must be an object: {"tables"?: string[], "since"?: number}', 'BAD_REQUEST');
  }
  const { tables = null, since = null } = value;
  return checkSelection(tables, since, JSON.stringify(since));
}

/**
 * The selection of GET ?tables=a,b&since=n; lastEventId (SSE), when given, wins
 * over since.
 * @param {URLSearchParams} query
 * @param {string | null} lastEventId
 * @returns {Selection | EngineResponse}
 */
function parseQuery(query, lastEventId) {
  const list = query.get('tables');
  const given = lastEventId !== null && lastEventId !== '' ? lastEventId : query.get('since');
  const since = given === null ? null : /^\d+$/.test(given) ? Number(given) : NaN;
  return checkSelection(list === null ? null : list.split(','), since, JSON.stringify(given));
}

/**
 * @param {unknown} tables
 * @param {unknown} since
 * @param {string} shown  since as the client wrote it, for the message
 * @returns {Selection | EngineResponse}
 */
function checkSelection(tables, since, shown) {
  if (tables !== null && !(Array.isArray(tables) && tables.every((t) => typeof t === 'string' && t !== ''))) {
    return errorResponse(400, 'tables must be an array of table names (non-empty strings); leave it out for every table', 'BAD_REQUEST');
  }
  if (since !== null && !(Number.isSafeInteger(since) && /** @type {number} */ (since) >= 0)) {
    return errorResponse(400, `since must be a whole number >= 0 (the last lsn seen); got ${shown}`, 'BAD_REQUEST');
  }
  return { tables: /** @type {string[] | null} */ (tables), since: /** @type {number | null} */ (since) };
}

/**
 * Table names compare as SQLite compares them: ASCII letters case-insensitively.
 * @param {string} name
 */
function foldCase(name) {
  return name.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}
