// changes/feed.js — the change feed of one database (docs/changes.md): who is
// subscribed, and the pumps that send each subscriber the log.
//
// C keeps the log (_dosql_change_log, written in the rows' transaction) and reads it
// (POST /changes); changes/subscribe-request.js reads a /subscribe request, and
// changes/subscribers.js delivers messages. This file owns the rest:
//
// - the registry: streams (at most MAX_STREAMS, one keepalive timer while there are
//   any) and WebSockets tagged SOCKET_TAG; after hibernation, the next use finds the
//   earlier run's sockets (ctx.getWebSockets()) and carries on from their attachments;
// - each subscriber's pump: read the page after its cursor through the same gate as
//   every request (so never an open transaction's uncommitted rows), send what
//   matches, loop until next == head, then `ready` once; between pages of a
//   catch-up, wait until the subscriber is drained;
// - fan-out: a commit wakes every pump and waits for none. Pumps at the same cursor
//   share one read in flight; a commit starts a new generation of reads, so nobody
//   joins a read that began before it;
// - ending every subscription when an import replaces the database (endAll).

import { messageOf, toResponse, valueOf } from '../durable-object/response.js';
import { hostError } from '../wasm/contract.js';
import { parseSubscribeRequest } from './subscribe-request.js';
import { SocketSubscriber, StreamSubscriber, control } from './subscribers.js';
import { FLUSH_MS, MAX_STREAMS, KEEPALIVE_MS, MAX_UNREAD_TOTAL_BYTES } from '../config.js';
import { exactJson } from '../exact-json.js';

/** A class of one's own may hibernate sockets of its own too. */
const SOCKET_TAG = 'dosql-changes';

/** @typedef {import('../durable-object/response.js').EngineResponse} EngineResponse */
/** @typedef {import('./subscribe-request.js').Selection} Selection */
/** @typedef {import('./subscribers.js').Message} Message */

/** A page of POST /changes; lines: each event's JSON text, made once for every subscriber.
 *  @typedef {{events: {lsn: number, table: string}[], lines: string[], next: number, head: number, gap: boolean}} Page */

/**
 * @typedef {object} FeedOptions
 * @property {(body: {since: number, limit?: number}) => Promise<EngineResponse>} read  POST /changes through the gate
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
  /** An earlier run's hibernated sockets have been looked up. */
  #socketsLoaded = false;
  /** since → its read in flight, of the current commit generation. @type {Map<number, Promise<Page>>} */
  #reads = new Map();
  /** @type {ReturnType<typeof setInterval> | null} */
  #keepalive = null;
  /** The streams' unread bytes, as last counted (#account). */
  #unread = 0;

  /** @param {FeedOptions} options */
  constructor(options) {
    this.#options = options;
  }

  get subscribers() {
    this.#loadSockets();
    return { streams: this.#streams.size, sockets: this.#sockets.size };
  }

  /**
   * Answer GET or POST /subscribe: a stream, a WebSocket (101), or an error.
   * @param {Request} request @param {() => Promise<Uint8Array | {oversized: number}>} readBody
   * @param {(method: string, body: Uint8Array | {oversized: number}) => EngineResponse | Promise<EngineResponse>} ask  C's answer to the selection
   * @returns {Promise<Response>}
   */
  async subscribe(request, readBody, ask) {
    const subscription = await parseSubscribeRequest(request, readBody, ask);
    if ('status' in subscription) return toResponse(subscription);
    const { transport, ...selection } = subscription;
    return transport === 'websocket' ? this.#socket(selection) : this.#stream(selection, transport);
  }

  /** Something committed: wake every subscriber. Returns at once; the pumps log their own failures. */
  notify() {
    this.#loadSockets();
    if (this.#streams.size === 0 && this.#sockets.size === 0) return;
    this.#reads.clear();
    for (const sub of this.#streams) void this.#pump(sub);
    for (const sub of this.#sockets.values()) void this.#pump(sub);
  }

  /**
   * Before a restore or an import replaces the log, the caller holding the gate: send
   * each live subscriber the events it has not been sent yet, page by page to the head,
   * read with read (the engine itself: the pumps' reads wait behind the caller, and
   * would find the log replaced), so that its last events come before its `end`. Between
   * pages it waits for a stream's reader, as a catch-up does, for FLUSH_MS in all (the
   * caller holds the database): a reader slower than that is sent no more of them.
   * @param {(body: {since: number}) => Promise<EngineResponse>} read
   */
  async flush(read) {
    this.#loadSockets();
    const until = Date.now() + FLUSH_MS;
    for (const sub of [...this.#streams, ...this.#sockets.values()]) {
      if (!sub.ready) continue;
      while (!sub.closed && sub.cursor !== null) {
        let page;
        try {
          page = parsePage(await read({ since: sub.cursor }));
        } catch (err) {
          this.#options.log('reading the change log for a subscriber before the log was replaced failed:', err);
          break;
        }
        if (sub.closed) break;
        const out = this.#events(sub, page);
        sub.cursor = page.next;
        if (!sub.deliver(out)) {
          this.#remove(sub);
          break;
        }
        if (page.next >= page.head || !(await drainedBy(sub, until))) break;
      }
    }
  }

  /**
   * Send every subscriber `end` and close it (an import replaced the log their
   * cursors point into); pumps in flight find it closed and stop.
   * @param {string} code @param {string} error
   */
  endAll(code, error) {
    this.#loadSockets();
    this.#reads.clear();
    for (const sub of [...this.#streams, ...this.#sockets.values()]) {
      sub.end(code, error);
      this.#remove(sub);
    }
  }

  /** A hibernatable socket closed or failed. @param {WebSocket} ws */
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

  // ---- the registry --------------------------------------------------------------

  /** @param {Selection} selection @param {'ndjson' | 'sse'} format */
  #stream({ tables, since }, format) {
    if (this.#streams.size >= MAX_STREAMS) {
      return toResponse(
        hostError('TOO_MANY_SUBSCRIBERS', `this database already serves ${MAX_STREAMS} streaming subscribers; try again later, or subscribe over a WebSocket`),
      );
    }
    const sub = new StreamSubscriber(format, tables, since, () => this.#remove(sub));
    this.#streams.add(sub);
    this.#keepalive ??= setInterval(() => {
      for (const s of this.#streams) s.keepalive();
    }, KEEPALIVE_MS);
    void this.#pump(sub);
    return new Response(sub.body, { status: 200, headers: sub.headers });
  }

  /** @param {Selection} selection */
  #socket({ tables, since }) {
    const ctx = this.#options.ctx;
    if (!ctx) {
      return toResponse(
        hostError('BAD_CONFIG', 'WebSocket subscriptions need the Durable Object\'s state: pass ctx to DB(name, {ctx, ...}) and forward webSocketClose/webSocketError to the database'),
      );
    }
    this.#loadSockets();
    const [client, server] = Object.values(new WebSocketPair());
    const sub = new SocketSubscriber(server, { tables, cursor: since, ready: false });
    try {
      sub.save(Number.MAX_SAFE_INTEGER); // room for the largest cursor, or events would stop at one
      sub.save();
    } catch (err) {
      return toResponse(hostError('BAD_REQUEST', `this subscription does not fit a WebSocket's attachment (list fewer tables): ${messageOf(err)}`));
    }
    ctx.acceptWebSocket(server, [SOCKET_TAG]);
    // Answered by the runtime: a ping never wakes a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
    this.#sockets.set(server, sub);
    void this.#pump(sub);
    return new Response(null, { status: 101, webSocket: client });
  }

  #loadSockets() {
    if (this.#socketsLoaded || !this.#options.ctx) return;
    this.#socketsLoaded = true;
    for (const ws of this.#options.ctx.getWebSockets(SOCKET_TAG)) {
      const state = ws.deserializeAttachment();
      if (state && ws.readyState === WebSocket.OPEN) this.#sockets.set(ws, new SocketSubscriber(ws, state));
    }
  }

  /**
   * Count a stream's unread bytes after a delivery. Past MAX_UNREAD_TOTAL_BYTES for all
   * streams together, count them all again (readers read meanwhile) and cut off the
   * ones with the most unread until the rest fit.
   * @param {StreamSubscriber} sub
   */
  #account(sub) {
    const queued = sub.queuedBytes;
    this.#unread += queued - sub.counted;
    sub.counted = queued;
    if (this.#unread <= MAX_UNREAD_TOTAL_BYTES) return;
    this.#unread = 0;
    for (const s of this.#streams) {
      s.counted = s.queuedBytes;
      this.#unread += s.counted;
    }
    for (const s of [...this.#streams].sort((a, b) => b.counted - a.counted)) {
      if (this.#unread <= MAX_UNREAD_TOTAL_BYTES) break;
      s.cutOff(`this database's change streams together had more than ${MAX_UNREAD_TOTAL_BYTES} bytes unread, the most of them on this one: subscribe again from the last lsn you saw`);
      this.#remove(s);
    }
  }

  /** @param {StreamSubscriber | SocketSubscriber} sub */
  #remove(sub) {
    sub.closed = true;
    if (sub instanceof StreamSubscriber) {
      this.#unread -= sub.counted;
      sub.counted = 0;
      this.#streams.delete(sub);
    } else {
      this.#sockets.delete(sub.ws);
    }
    if (this.#streams.size === 0 && this.#keepalive !== null) {
      clearInterval(this.#keepalive);
      this.#keepalive = null;
    }
  }

  // ---- pumps ---------------------------------------------------------------------

  /**
   * Send a subscriber everything after its cursor, again if a commit came in
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
      const from = sub.cursor;
      const page = await this.#page(from);
      if (sub.closed) return;
      // flush() sent it on while the read waited (behind a restore or an import that was
      // then refused): read again from there.
      if (sub.cursor !== from) continue;
      // A live start wants nothing up to the head: the stream starts after it.
      const out = live ? [] : this.#events(sub, page);
      const next = live ? page.head : page.next;
      const caughtUp = next >= page.head;
      const readyNow = caughtUp && !sub.ready;
      // Live, a subscriber that selects tables is told ready again when the events it
      // passed over end the page: the lsn to resume from, else a reconnect would resume
      // from its own tables' last event, and be told gap once other tables' events
      // after it are pruned, though it missed nothing.
      const passedOver = caughtUp && !readyNow && next > (out.at(-1)?.id ?? sub.sentThrough);
      sub.cursor = next;
      if (readyNow || passedOver) {
        sub.ready = true;
        out.push(control({ type: 'ready', lsn: next }, next));
      }
      if (!sub.deliver(out)) {
        this.#remove(sub); // it closed
        return;
      }
      if (sub instanceof StreamSubscriber) this.#account(sub);
      // Live, it never waits for the reader; the catch-up waits after its last page
      // too, so that what it queued is not counted against the first live commit.
      if (caughtUp && !readyNow) return;
      await sub.drained();
      if (sub.closed) {
        this.#remove(sub); // it ended (a socket's catch-up is bounded)
        return;
      }
      if (caughtUp) return;
    }
  }

  /** The messages of a page for sub: a gap, and the events of its tables. @param {StreamSubscriber | SocketSubscriber} sub @param {Page} page */
  #events(sub, page) {
    /** @type {Message[]} */
    const out = [];
    if (page.gap) out.push(control({ type: 'gap', since: sub.cursor, head: page.head }, page.head));
    page.events.forEach((e, i) => {
      if (sub.wants(e.table)) out.push({ text: page.lines[i], id: e.lsn });
    });
    return out;
  }

  /**
   * The page after since, shared while in flight. since null: one that only tells the
   * head, asked with a since past every lsn, which C answers without reading an event
   * (reading the oldest would make every live start wait on it, or fail with it when it
   * is too large to read).
   * @param {number | null} since @returns {Promise<Page>}
   */
  #page(since) {
    const key = since ?? -1;
    let read = this.#reads.get(key);
    if (!read) {
      read = this.#options.read(since === null ? { since: Number.MAX_SAFE_INTEGER, limit: 1 } : { since }).then(parsePage);
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

/** Whether sub's reader took what it was sent before the time until (ms). @param {StreamSubscriber | SocketSubscriber} sub @param {number} until */
async function drainedBy(sub, until) {
  /** @type {any} */
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, until - Date.now()))));
  try {
    return await Promise.race([sub.drained().then(() => !sub.closed), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Throws an Error with the answer's code when it is an error. @param {EngineResponse} answer @returns {Page} */
function parsePage(answer) {
  const value = valueOf(answer);
  if (answer.status !== 200) {
    const err = /** @type {Error & {code?: string}} */ (new Error(`reading the change log failed (${answer.status}): ${value.error}`));
    err.code = value.code;
    throw err;
  }
  return {
    events: value.events,
    lines: value.events.map((/** @type {unknown} */ e) => exactJson(e)),
    next: value.next,
    head: value.head,
    gap: value.gap === true,
  };
}
