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

export const HRANA_SUBPROTOCOL = 'hrana2';
/** Requests that run on a stream, and their answer's type. */
const STREAM_REQUESTS = new Set(['execute', 'batch', 'sequence', 'describe', 'get_autocommit']);
/** Requests of one socket in flight at once; past it a request is refused, so a client
 *  that sends faster than the database answers cannot fill the Worker's memory. */
export const MAX_IN_FLIGHT = 1024;
/** Socket close codes (RFC 6455). */
const CLOSE_PROTOCOL_ERROR = 1002;
const CLOSE_POLICY = 1008;

/**
 * Whether a request asks for a Hrana WebSocket (an upgrade offering "hrana2").
 * @param {Request} request
 */
export function wantsHranaSocket(request) {
  if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return false;
  const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
  return offered.includes(HRANA_SUBPROTOCOL);
}

/**
 * Accept the socket and serve it.
 * @param {object} options
 * @param {(jwt: unknown) => Promise<boolean>} options.authenticate  whether a hello's token is good
 * @param {(body: object) => Promise<PipelineAnswer>} options.pipeline  POST /v2/pipeline to the database
 * @returns {Response}
 */
export function acceptHranaSocket({ authenticate, pipeline }) {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  new HranaSocket(server, authenticate, pipeline);
  return new Response(null, { status: 101, webSocket: client, headers: { 'sec-websocket-protocol': HRANA_SUBPROTOCOL } });
}

/** One socket's connection (exported for tests, which give it a socket of their own). */
export class HranaSocket {
  #socket;
  #authenticate;
  #pipeline;
  /** The last hello's check; requests wait for it. @type {Promise<boolean> | null} */
  #hello = null;
  /** By stream_id: the HTTP stream's baton (null before its first pipeline) and the tail of its requests. */
  /** @type {Map<number, {baton: string | null, tail: Promise<void>}>} */
  #streams = new Map();
  /** store_sql's texts, for the whole connection. @type {Map<number, string>} */
  #sqls = new Map();
  /** Requests not answered yet. */
  #inFlight = 0;

  /** @param {WebSocket} socket @param {(jwt: unknown) => Promise<boolean>} authenticate @param {(body: object) => Promise<PipelineAnswer>} pipeline */
  constructor(socket, authenticate, pipeline) {
    this.#socket = socket;
    this.#authenticate = authenticate;
    this.#pipeline = pipeline;
    socket.addEventListener('message', (event) => this.#onMessage(event.data));
    socket.addEventListener('close', (event) => {
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
      const hello = this.#authenticate(message.jwt);
      this.#hello = hello;
      hello.then((ok) => {
        if (ok) return this.#send({ type: 'hello_ok' });
        this.#send({ type: 'hello_error', error: { message: 'missing or wrong token: give the client the worker\'s DOSQL_TOKEN as authToken', code: 'UNAUTHORIZED' } });
        this.#socket.close(CLOSE_POLICY, 'unauthorized');
      });
    } else if (message?.type === 'request' && Number.isInteger(message.request_id) && this.#hello) {
      const id = message.request_id;
      if (this.#inFlight >= MAX_IN_FLIGHT) {
        this.#send({ type: 'response_error', request_id: id, error: { message: `more than ${MAX_IN_FLIGHT} requests of this connection are waiting for their answers: wait for some`, code: 'TOO_MANY_REQUESTS' } });
        return;
      }
      this.#inFlight++;
      this.#hello
        .then((ok) => (ok ? this.#handle(message.request ?? {}) : null))
        .then((answer) => answer && this.#send(answer.error ? { type: 'response_error', request_id: id, error: answer.error } : { type: 'response_ok', request_id: id, response: answer.response }))
        .catch((err) => this.#send({ type: 'response_error', request_id: id, error: { message: err instanceof Error ? err.message : String(err), code: 'INTERNAL' } }))
        .finally(() => this.#inFlight--);
    } else {
      this.#socket.close(CLOSE_PROTOCOL_ERROR, this.#hello ? 'not a Hrana message' : 'the first message must be a hello');
    }
  }

  /** @param {object} message */
  #send(message) {
    try {
      this.#socket.send(JSON.stringify(message));
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
    return this.#onStream(streamId, this.#withTexts(rest));
  }

  /** @param {any} request */
  #storeSql({ type, sql_id: id, sql }) {
    if (type === 'close_sql') {
      this.#sqls.delete(id);
    } else if (!Number.isInteger(id) || typeof sql !== 'string') {
      return fail('BAD_REQUEST', 'store_sql needs sql_id (a whole number) and sql (a string)');
    } else if (this.#sqls.has(id)) {
      return fail('BAD_REQUEST', `sql_id ${id} is already stored on this connection: close_sql it first`);
    } else {
      this.#sqls.set(id, sql);
    }
    return { response: { type } };
  }

  /** @param {any} request */
  async #openOrClose({ type, stream_id: streamId }) {
    if (type === 'open_stream') {
      if (this.#streams.has(streamId)) return fail('BAD_REQUEST', `stream ${JSON.stringify(streamId)} is already open`);
      this.#streams.set(streamId, { baton: null, tail: Promise.resolve() });
      return { response: { type } };
    }
    const stream = this.#streams.get(streamId);
    if (!stream) return { response: { type } };
    const closed = stream.baton === null ? {} : await this.#onStream(streamId, { type: 'close' });
    this.#streams.delete(streamId);
    return closed.error ? closed : { response: { type } };
  }

  /**
   * A request with sql_id in place of its text made whole: the connection's stored
   * text goes in (an unknown id stays, and the database names it).
   * @param {any} request
   */
  #withTexts(request) {
    /** @param {any} stmt */
    const whole = (stmt) => (stmt && Number.isInteger(stmt.sql_id) && this.#sqls.has(stmt.sql_id)
      ? { ...stmt, sql: this.#sqls.get(stmt.sql_id), sql_id: undefined }
      : stmt);
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
      const { status, value } = await this.#pipeline({ baton: stream.baton, requests: [request] });
      if (status !== 200) return { error: { message: value.message, code: value.code } };
      stream.baton = value.baton;
      const [result] = value.results;
      return result.type === 'ok' ? { response: result.response } : { error: result.error };
    });
    stream.tail = run.then(() => {}, () => {});
    return run;
  }

  /** The socket is gone: end its streams (rolling back an open transaction). */
  #closeStreams() {
    for (const [streamId, stream] of this.#streams) {
      if (stream.baton !== null) this.#onStream(streamId, { type: 'close' }).catch(() => {});
    }
    this.#streams.clear();
  }
}

/** @param {string} code @param {string} message */
function fail(code, message) {
  return { error: { message, code } };
}
