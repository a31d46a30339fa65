// hrana-socket.js — libSQL's Hrana over WebSocket (subprotocol "hrana2"), served by
// the standalone worker for one database (router.js).
//
// The socket is only a transport: each request on one of its streams goes to the
// database as a Hrana pipeline over HTTP (src/hrana.h, which owns the protocol), on
// an HTTP stream of its own whose baton is kept here; requests of one stream go one
// after another, streams side by side. What HTTP Hrana does not have is here:
//
// - the hello: the client sends its token (`jwt`) in a message, not a header, so
//   nothing reaches the database before the token matches;
// - SQL texts stored for the whole connection (store_sql): a request naming a
//   sql_id carries the text instead;
// - open_stream and close_stream, and closing every stream when the socket closes,
//   so an open transaction is rolled back at once rather than after its idle timeout.
//
// Version 3 (its cursors) is not offered: a client that also offers "hrana2" speaks it.

/** @typedef {{status: number, value: any}} PipelineAnswer */

import {
  SOCKET_HELLO_MS, SOCKET_MAX_IN_FLIGHT, SOCKET_MAX_IN_FLIGHT_BYTES, SOCKET_MAX_SQL, SOCKET_MAX_SQL_BYTES, SOCKET_MAX_STREAMS,
} from './config.js';
import { objectUnavailable } from './client/error.js';
import { exactJson } from './exact-json.js';

const HRANA_SUBPROTOCOL = 'hrana2';
const encoder = new TextEncoder();

/** The bytes of text in UTF-8. @param {string} text */
function utf8Bytes(text) {
  return encoder.encode(text).byteLength;
}

/** The bytes text adds to a request body: its JSON string, in UTF-8 (a control
 *  character is six, a character past U+07FF three). @param {string} text */
function bytesInBody(text) {
  return utf8Bytes(JSON.stringify(text));
}
/** Whether an id is what Hrana's ids are, a whole number that fits 31 bits: the
 *  database holds stored SQL's ids to it over HTTP, and so does the socket. @param {unknown} id */
function isHranaId(id) {
  return Number.isInteger(id) && /** @type {number} */ (id) >= 0 && /** @type {number} */ (id) <= 0x7fffffff;
}

/** Requests that run on a stream, and their answer's type. */
const STREAM_REQUESTS = new Set(['execute', 'batch', 'sequence', 'describe', 'get_autocommit']);
/** Socket close codes (RFC 6455). */
const CLOSE_PROTOCOL_ERROR = 1002;
const CLOSE_POLICY = 1008;

/**
 * The subprotocols a WebSocket upgrade offers, or null when the request is none.
 * @param {Request} request @returns {string[] | null}
 */
function offeredSubprotocols(request) {
  // A WebSocket client always sends its key (RFC 6455). A request that only says
  // "Upgrade: websocket" (which the runtime shows as a GET, whatever its method) would
  // get a 101 that the runtime then refuses, as a plain-text 500.
  if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket' || !request.headers.has('sec-websocket-key')) return null;
  return (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
}

/**
 * Whether a request asks for a Hrana WebSocket (an upgrade offering "hrana2").
 * @param {Request} request
 */
export function wantsHranaSocket(request) {
  return offeredSubprotocols(request)?.includes(HRANA_SUBPROTOCOL) ?? false;
}

/**
 * Why a WebSocket upgrade that offers no "hrana2" is refused (its hello, with the
 * token, would come only once it is taken), or null when the request is no such upgrade.
 * @param {Request} request @returns {string | null}
 */
export function unservedSubprotocols(request) {
  const offered = offeredSubprotocols(request);
  if (offered === null || offered.includes(HRANA_SUBPROTOCOL)) return null;
  return `libSQL over WebSocket is served as ${HRANA_SUBPROTOCOL} only, and this upgrade offers ${offered.length ? offered.join(', ') : 'no subprotocol'}: `
    + 'use a client that speaks hrana2 (@libsql/client does), or HTTP (docs/hrana.md)';
}

/**
 * Accept the socket and serve it.
 * @param {object} options
 * @param {(jwt: unknown) => Promise<boolean | HranaError>} options.authenticate  whether a hello's
 *   token is good (true), or why the hello is refused (false: the token)
 * @param {(body: string) => Promise<PipelineAnswer>} options.pipeline  POST /v2/pipeline to the database (its JSON body)
 * @param {(promise: Promise<unknown>) => void} options.waitUntil  keeps the Worker running for work
 *   done after the socket closed (ending its streams)
 * @returns {Response}
 */
export function acceptHranaSocket({ authenticate, pipeline, waitUntil }) {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  new HranaSocket(server, authenticate, pipeline, waitUntil);
  return new Response(null, { status: 101, webSocket: client, headers: { 'sec-websocket-protocol': HRANA_SUBPROTOCOL } });
}

/**
 * Accept the socket to refuse its hello with error, then close it: a refusal of the
 * upgrade itself reaches a WebSocket client as a bare status ("Unexpected server
 * response: 404"), where a hello_error's message is read as any error of the client.
 * @param {HranaError} error @returns {Response}
 */
export function refuseHranaSocket(error) {
  return acceptHranaSocket({
    authenticate: async () => error,
    pipeline: async () => ({ status: 500, value: error }),   // never called: no hello is taken
    waitUntil: () => {},
  });
}

/** @typedef {{message: string, code: string}} HranaError */

/** One socket's connection (exported for tests, which give it a socket of their own). */
export class HranaSocket {
  #socket;
  #authenticate;
  #pipeline;
  #waitUntil;
  /** The hellos' check, each after those before it; requests wait for it. @type {Promise<boolean> | null} */
  #hello = null;
  /** By stream_id: the HTTP stream's baton (null before its first pipeline) and the tail of its requests. */
  /** @type {Map<number, {baton: string | null, tail: Promise<void>}>} */
  #streams = new Map();
  /** store_sql's texts, for the whole connection, with the bytes each copy of one adds
   *  to a body (its JSON string in UTF-8). @type {Map<number, {sql: string, bytes: number}>} */
  #sqls = new Map();
  /** Requests not answered yet, and the bytes of their messages (config.js bounds both,
   *  so a client that sends faster than the database answers cannot fill the Worker). */
  #inFlight = 0;
  #inFlightBytes = 0;
  #sqlBytes = 0;

  /**
   * @param {WebSocket} socket @param {(jwt: unknown) => Promise<boolean>} authenticate
   * @param {(body: string) => Promise<PipelineAnswer>} pipeline @param {(promise: Promise<unknown>) => void} waitUntil
   */
  constructor(socket, authenticate, pipeline, waitUntil) {
    this.#socket = socket;
    this.#authenticate = authenticate;
    this.#pipeline = pipeline;
    this.#waitUntil = waitUntil;
    const noHello = setTimeout(() => {
      if (!this.#hello) this.#socket.close(CLOSE_POLICY, `no hello within ${SOCKET_HELLO_MS / 1000} s`);
    }, SOCKET_HELLO_MS);
    socket.addEventListener('message', (event) => this.#onMessage(event.data));
    socket.addEventListener('close', (event) => {
      clearTimeout(noHello);
      this.#closeStreams();
      // Answer the client's close frame, or the runtime waits for it forever.
      try {
        socket.close(event.code === 1005 ? 1000 : event.code, 'closed');
      } catch {
        // Already closed (the runtime answered it).
      }
    });
    socket.addEventListener('error', () => this.#closeStreams());
  }

  /** @param {unknown} data */
  #onMessage(data) {
    let message;
    try {
      message = typeof data === 'string' ? JSON.parse(data) : null;
    } catch {
      message = null;
    }
    if (message?.type === 'hello') {
      // After the hellos before it: one refused refuses every later one (the socket
      // closes), so no request queued behind a later hello runs.
      const jwt = message.jwt;
      const verdict = (this.#hello ?? Promise.resolve(true)).then((ok) => ok === true && this.#authenticate(jwt));
      this.#hello = verdict.then((ok) => ok === true);
      verdict.then((ok) => {
        if (ok === true) return this.#send({ type: 'hello_ok' });
        this.#send({ type: 'hello_error', error: ok || { message: 'missing or wrong token: give the client the worker\'s DOSQL_TOKEN as authToken', code: 'UNAUTHORIZED' } });
        this.#socket.close(CLOSE_POLICY, ok ? ok.code.toLowerCase() : 'unauthorized');
      });
    } else if (message?.type === 'request' && Number.isInteger(message.request_id) && this.#hello) {
      const id = message.request_id;
      const bytes = utf8Bytes(/** @type {string} */ (data));
      if (bytes > SOCKET_MAX_IN_FLIGHT_BYTES) {
        // Alone past what may wait at once: waiting would never let it through.
        this.#send({ type: 'response_error', request_id: id, error: { message: `the message is ${bytes} bytes; one request may be at most ${SOCKET_MAX_IN_FLIGHT_BYTES} (and its SQL and arguments at most what the database takes, docs/limits.md)`, code: 'PAYLOAD_TOO_LARGE' } });
        return;
      }
      if (this.#inFlight >= SOCKET_MAX_IN_FLIGHT || this.#inFlightBytes + bytes > SOCKET_MAX_IN_FLIGHT_BYTES) {
        this.#send({ type: 'response_error', request_id: id, error: { message: `too many requests of this connection (${SOCKET_MAX_IN_FLIGHT}, or ${SOCKET_MAX_IN_FLIGHT_BYTES} bytes) are waiting for their answers: wait for some`, code: 'TOO_MANY_REQUESTS' } });
        return;
      }
      this.#inFlight++;
      this.#inFlightBytes += bytes;
      this.#hello
        .then((ok) => (ok ? this.#handle(message.request ?? {}) : null))
        .then((answer) => answer && this.#send(answer.error ? { type: 'response_error', request_id: id, error: answer.error } : { type: 'response_ok', request_id: id, response: answer.response }))
        .catch((err) => this.#send({ type: 'response_error', request_id: id, error: thrownError(err) }))
        .finally(() => {
          this.#inFlight--;
          this.#inFlightBytes -= bytes;
        });
    } else {
      this.#socket.close(CLOSE_PROTOCOL_ERROR, this.#hello ? 'not a Hrana message' : 'the first message must be a hello');
    }
  }

  /** @param {object} message  its floats as the database wrote them (exact-json.js) */
  #send(message) {
    try {
      this.#socket.send(exactJson(message));
    } catch {
      // The socket closed meanwhile: nobody is there to answer.
    }
  }

  /**
   * One request: its response, or an error.
   * @param {any} request
   * @returns {Promise<{response?: object, error?: {message: string, code: string}}>}
   */
  async #handle(request) {
    const { type } = request;
    if (type === 'store_sql' || type === 'close_sql') return this.#storeSql(request);
    if (type === 'open_stream' || type === 'close_stream') return this.#openOrClose(request);
    if (!STREAM_REQUESTS.has(type)) return fail('BAD_REQUEST', `${JSON.stringify(type)} is not a request DoSQL serves over hrana2 (docs/hrana.md)`);
    const { stream_id: streamId, ...rest } = request;
    if (!this.#streams.has(streamId)) return fail('STREAM_EXPIRED', `no stream ${JSON.stringify(streamId)} is open on this connection`);
    // Each statement naming a stored text carries it to the database: a small message
    // naming a large text many times makes a huge body, which counts against the bytes
    // in flight until its answer, as a message's own bytes do.
    let textBytes = 0;
    const whole = this.#withTexts(rest, (bytes) => (textBytes += bytes));
    if (textBytes > SOCKET_MAX_IN_FLIGHT_BYTES) {
      return fail('PAYLOAD_TOO_LARGE', `the request's statements name ${textBytes} bytes of stored SQL in all; the limit is ${SOCKET_MAX_IN_FLIGHT_BYTES}`);
    }
    if (this.#inFlightBytes + textBytes > SOCKET_MAX_IN_FLIGHT_BYTES) {
      return fail('TOO_MANY_REQUESTS', `the requests of this connection waiting for their answers name more than ${SOCKET_MAX_IN_FLIGHT_BYTES} bytes of stored SQL and messages in all: wait for some`);
    }
    this.#inFlightBytes += textBytes;
    try {
      return await this.#onStream(streamId, whole);
    } finally {
      this.#inFlightBytes -= textBytes;
    }
  }

  /** @param {any} request */
  #storeSql({ type, sql_id: id, sql }) {
    const bytes = typeof sql === 'string' ? bytesInBody(sql) : 0;
    if (type === 'close_sql') {
      this.#sqlBytes -= this.#sqls.get(id)?.bytes ?? 0;
      this.#sqls.delete(id);
    } else if (!isHranaId(id) || typeof sql !== 'string') {
      return fail('BAD_REQUEST', 'store_sql needs sql_id (a whole number, 0 or more) and sql (a string)');
    } else if (this.#sqls.has(id)) {
      return fail('BAD_REQUEST', `sql_id ${id} is already stored on this connection: close_sql it first`);
    } else if (this.#sqls.size >= SOCKET_MAX_SQL || this.#sqlBytes + bytes > SOCKET_MAX_SQL_BYTES) {
      return fail('BAD_REQUEST', `too much stored SQL: a connection keeps at most ${SOCKET_MAX_SQL} texts of ${SOCKET_MAX_SQL_BYTES} bytes in all (as JSON, in UTF-8); close_sql what is no longer needed`);
    } else {
      this.#sqls.set(id, { sql, bytes });
      this.#sqlBytes += bytes;
    }
    return { response: { type } };
  }

  /** @param {any} request */
  async #openOrClose({ type, stream_id: streamId }) {
    if (type === 'open_stream') {
      if (!isHranaId(streamId)) return fail('BAD_REQUEST', 'open_stream needs stream_id, a whole number, 0 or more');
      if (this.#streams.has(streamId)) return fail('BAD_REQUEST', `stream ${JSON.stringify(streamId)} is already open`);
      if (this.#streams.size >= SOCKET_MAX_STREAMS) return fail('TOO_MANY_REQUESTS', `a connection has at most ${SOCKET_MAX_STREAMS} streams open: close one first`);
      this.#streams.set(streamId, { baton: null, tail: Promise.resolve() });
      return { response: { type } };
    }
    if (!this.#streams.has(streamId)) return { response: { type } };
    const closed = await this.#close(streamId);
    return closed.error ? closed : { response: { type } };
  }

  /**
   * A request with sql_id in place of its text made whole: the connection's stored
   * text goes in (an unknown id stays, and the database names it; so does a statement
   * that gives sql too, which the database refuses; a null sql is none, as in sqld and
   * over HTTP), and is counted.
   * @param {any} request @param {(bytes: number) => void} count  each copy's bytes
   */
  #withTexts(request, count) {
    /** @param {any} stmt */
    const whole = (stmt) => {
      const stored = stmt && (stmt.sql === undefined || stmt.sql === null) && Number.isInteger(stmt.sql_id) ? this.#sqls.get(stmt.sql_id) : undefined;
      if (stored === undefined) return stmt;
      count(stored.bytes);
      return { ...stmt, sql: stored.sql, sql_id: undefined };
    };
    if (request.type === 'execute') return { ...request, stmt: whole(request.stmt) };
    if (request.type === 'batch' && Array.isArray(request.batch?.steps)) {
      return { ...request, batch: { ...request.batch, steps: request.batch.steps.map((/** @type {any} */ s) => ({ ...s, stmt: whole(s?.stmt) })) } };
    }
    return whole(request);
  }

  /**
   * Run one request on a stream, after its earlier ones: one pipeline of the
   * stream's HTTP stream.
   * @param {number} streamId @param {object} request
   * @returns {Promise<{response?: object, error?: {message: string, code: string}}>}
   */
  #onStream(streamId, request) {
    const stream = /** @type {{baton: string | null, tail: Promise<void>}} */ (this.#streams.get(streamId));
    const run = stream.tail.then(async () => {
      const { status, value } = await this.#pipelineOf(stream.baton, request);
      if (status !== 200) return { error: value };   // {message, code, extended_code?}: hranaResponse
      stream.baton = value.baton;
      const [result] = value.results;
      return result.type === 'ok' ? { response: result.response } : { error: result.error };
    });
    stream.tail = run.then(() => {}, () => {});
    return run;
  }

  /**
   * End a stream after its requests already sent (one may be a BEGIN still on its
   * way): its HTTP stream, once it has one, is closed, which rolls back a
   * transaction it holds.
   * @param {number} streamId
   * @returns {Promise<{error?: {message: string, code: string}}>}
   */
  #close(streamId) {
    const stream = /** @type {{baton: string | null, tail: Promise<void>}} */ (this.#streams.get(streamId));
    this.#streams.delete(streamId);
    return stream.tail.then(async () => {
      if (stream.baton === null) return {};
      const { status, value } = await this.#pipelineOf(stream.baton, { type: 'close' });
      // A stream the database already dropped (its 64 streams are shared) is closed too.
      return status === 200 || value.code === 'STREAM_EXPIRED' ? {} : { error: { message: value.message, code: value.code } };
    });
  }

  /**
   * One request as a pipeline of the HTTP stream baton names: its JSON written with
   * the floats as the client wrote them (exact-json.js), which JSON.stringify would not.
   * @param {string | null} baton @param {object} request @returns {Promise<PipelineAnswer>}
   */
  #pipelineOf(baton, request) {
    return this.#pipeline(exactJson({ baton, requests: [request] }));
  }

  /** The socket is gone: end its streams (rolling back an open transaction). */
  #closeStreams() {
    for (const streamId of [...this.#streams.keys()]) this.#waitUntil(this.#close(streamId).catch(() => {}));
  }
}

/**
 * A request that threw, as Hrana's error: the object unavailable (the platform reset
 * it, or it is overloaded: client/error.js), a message nested past what JavaScript's
 * stack can walk (writing it on to the database, which refuses JSON nested far less
 * deep), else a bug of ours.
 * @param {unknown} err
 */
function thrownError(err) {
  const unavailable = objectUnavailable(err);
  if (unavailable !== null) return { message: unavailable, code: 'OBJECT_UNAVAILABLE' };
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return { message: 'the request\'s arrays and objects are nested too deeply to read', code: 'BAD_JSON' };
  }
  return { message: err instanceof Error ? err.message : String(err), code: 'INTERNAL' };
}

/** @param {string} code @param {string} message */
function fail(code, message) {
  return { error: { message, code } };
}
