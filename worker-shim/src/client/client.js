// client/client.js — the guide's getDB() client, with real interactive transactions.
//
// It speaks the wire protocol of DoSQLDatabase to a Durable Object stub (anything
// with fetch(url, init)), exactly as the SvelteKit guide's client does: POST
// http://internal/<endpoint> with a JSON body. Beyond the guide:
//
// - transaction(fn) is interactive: /begin, then tx.query/run/... inside fn return
//   real results (their requests carry X-DoSQL-Transaction), then /commit — or
//   /rollback and rethrow when fn throws;
// - subscribe() is the change stream (docs/changes.md) as an async iterator of
//   decoded events, and eventStream() (changes/sse.js) relays it to browsers;
// - failures are DoSQLError with SQLite's message, a stable code and the status;
// - values that JSON cannot carry travel tagged (client/values.js): BigInt ⇄ {$bigint},
//   bytes ⇄ {$blob: base64}, ±Infinity ⇄ {$real}; a Date is sent as its ISO string.
//
// No workerd needed: this module runs wherever fetch-like stubs do (and in Node).

import { lineDecoder } from '../changes/ndjson.js';
import { DoSQLError, ERROR_DETAILS, objectThrew, objectUnavailable, rpcTooLarge } from './error.js';
import { decodeRow, decodeRows, decodeValue, encodeParams, encodeSql, unwritableNumber } from './values.js';
import { namespaceOf, rememberOrigin, stubLink, viaLink } from './stub-link.js';
import { watchCalls } from './watched-calls.js';
import { checkKeys } from '../option-keys.js';
import { answersEveryName, hasMethods, isServiceBinding } from '../bindings.js';

export { DoSQLError } from './error.js';
export { encodeParams, encodeValue, decodeRow, decodeValue } from './values.js';
export { eventStream, lastEventId } from '../changes/sse.js';

/** The header naming a request's transaction (the engine's contract; tests/worker/contract.test.js). */
export const TRANSACTION_HEADER = 'X-DoSQL-Transaction';
/** The content type of a SQLite file, as /export answers it and /import takes it. */
export const SQLITE_FILE_TYPE = 'application/vnd.sqlite3';
const BASE_URL = 'http://internal';
const decoder = new TextDecoder();

/**
 * The client of one tenant's database: `platform` (SvelteKit: platform.env.DOSQL_DB),
 * an `env` with DOSQL_DB, the DurableObjectNamespace itself, or the object's stub.
 * @param {any} platformOrNamespace
 * @param {string} [tenantId]
 */
export function getDB(platformOrNamespace, tenantId = 'default') {
  return createClient(stubFor(platformOrNamespace, tenantId, 'getDB'));
}

/**
 * The stub of tenantId's object: target itself when it is a stub (anything with
 * fetch(url, init); this comes first, since a Workers RPC stub answers every
 * property, DOSQL_DB and idFromName too), else from SvelteKit's platform, an env
 * with DOSQL_DB, or the namespace.
 * @param {any} target @param {string} tenantId @param {string} caller  named in the error
 */
export function stubFor(target, tenantId, caller) {
  // A service binding has every method (bindings.js): taken for a stub or a namespace,
  // the tenant would be dropped, or the calls sent to another Worker. (A stub's own
  // members are not asked: they too would be calls.)
  const stub = answersEveryName(target);
  const service = stub ? isServiceBinding(target) && target : [target?.DOSQL_DB, target?.env?.DOSQL_DB].find(isServiceBinding);
  if (service) {
    throw new TypeError(
      `${caller} was given a service binding (another Worker)${service === target ? '' : ' as DOSQL_DB'}, not a Durable Object namespace or stub: bind the DoSQLDatabase class under [[durable_objects]]`,
    );
  }
  if (stub || (target && typeof target.fetch === 'function')) return target;
  const isNamespace = (/** @type {any} */ n) => hasMethods(n, ['idFromName', 'get']);
  for (const namespace of [target?.env?.DOSQL_DB, target?.DOSQL_DB, target]) {
    if (!isNamespace(namespace)) continue;
    // idFromName() takes any value as its text: null, a user object or an id missed
    // would each name one database ("null", "[object Object]") that such calls share.
    if (typeof tenantId !== 'string' || tenantId === '') {
      const what = tenantId === '' ? 'an empty string' : tenantId === null ? 'null' : Array.isArray(tenantId) ? 'an array' : typeof tenantId === 'object' || typeof tenantId === 'undefined' ? `an ${typeof tenantId}` : `a ${typeof tenantId}`;
      throw new DoSQLError(`${caller} needs the tenant id as a non-empty string, not ${what}: any other value would name one database that every such call shares`, {
        code: 'BAD_TENANT',
        status: 400,
      });
    }
    const stub = namespace.get(namespace.idFromName(tenantId));
    rememberOrigin(stub, namespace, tenantId);
    return stub;
  }
  throw new TypeError(
    `${caller} needs platform (with platform.env.DOSQL_DB), an env with DOSQL_DB, a DurableObjectNamespace or a Durable Object stub: is the DOSQL_DB binding configured?`,
  );
}

/**
 * One request of the protocol: the answer's JSON (values still tagged), or a
 * thrown DoSQLError; the value itself where the object answers at once (inside
 * it: durable-object/class.js), else its promise. Callers await it either way.
 * @typedef {(path: string, body: unknown, txId: string | null) => any} Send
 */

/**
 * A DatabaseClient over a stub: over Workers RPC when the object's class has
 * DoSQL's RPC entry points (DoSQLDatabase does), else over its fetch.
 * @param {{fetch: (url: string, init?: any) => Promise<Response>, request?: Function}} stub
 */
export function createClient(stub) {
  if (!stub || typeof stub.fetch !== 'function') throw new TypeError('createClient needs a stub with fetch(url, init)');
  const link = stubLink(stub);
  return clientOver(sendTo(stub, link), {
    /**
     * The committed changes of these tables (all when omitted), oldest first:
     * change events with decoded rows, plus {type: 'gap'} and {type: 'ready'}
     * (docs/changes.md). From `since` (the last lsn seen), else from now on. Ends
     * when the signal aborts or the iterator is returned (a `break`); an `end` from
     * the database, or an error answer, throws a DoSQLError.
     * @param {string[] | null} [tables]
     * @param {{since?: number, signal?: AbortSignal}} [options]
     * @returns {AsyncIterableIterator<any>}
     */
    subscribe(tables, options) {
      checkCallOptions(options, ['since', 'signal'], 'subscribe()');
      const { since, signal } = options ?? {};
      if (signal !== undefined && typeof signal?.addEventListener !== 'function') {
        throw new DoSQLError('subscribe() takes {signal} as an AbortSignal (AbortController.signal)', { code: 'BAD_REQUEST', status: 400 });
      }
      return new Subscription(() => viaLink(link, (s) => postRequest(s, '/subscribe', { tables: tables ?? undefined, since: sinceOf(since) }, null)), signal);
    },
  });
}

/**
 * since as the request carries it. JSON writes NaN and ±Infinity as null, which the
 * database reads as no since, a live start that would skip events without a word:
 * they go as their text, which it refuses (400 BAD_REQUEST) as every since that is
 * not a whole number.
 * @param {unknown} since
 */
function sinceOf(since) {
  return typeof since === 'number' && !Number.isFinite(since) ? String(since) : since;
}

/**
 * The client over one way of sending (exported for DoSQLDatabase's own RPC
 * entry points, which send to the object they are in).
 * @param {Send} send
 * @param {object} [more]  further methods (createClient's subscribe)
 */
export function clientOver(send, more = {}) {
  const db = statements(send, null);
  // Always a promise (transaction() chains .catch on it), whatever send returns.
  const post = async (/** @type {string} */ path, /** @type {unknown} */ body, /** @type {string | null} */ txId) => send(path, body, txId);
  return Object.freeze({
    ...db,
    ...more,

    /**
     * Read-only reads of the database as it was at a point (docs/history.md): an
     * lsn, a bookmark, a point as history() answers it ({lsn, bookmark}), a time
     * ("2026-12-01 12:00:00", ISO 8601) or {time: ms}. Throws POINT_TOO_OLD (410)
     * past the history window.
     * @param {number | string | {time: number} | {lsn?: number, bookmark?: string}} point
     */
    asOf(point) {
      // BAD_POINT, as the database refuses any other value that names no point.
      if (point === undefined || point === null) throw new DoSQLError('asOf needs a point: an lsn, a bookmark, a point history() answers, a time or {time: ms}', { code: 'BAD_POINT', status: 400 });
      return Object.freeze(reads(send, null, point));
    },

    /**
     * The row changes between two points (to: the present when omitted), as change
     * events ({table, type, data, old?}, rows decoded), and the schema objects that differ.
     * @param {number | string | {time: number}} from
     * @param {{to?: number | string | {time: number}, tables?: string[], limit?: number} | null} [options]
     */
    async diff(from, options) {
      checkCallOptions(options, DIFF_OPTIONS, 'diff()');
      return decodeDiff(await post('/diff', { from, to: options?.to, tables: options?.tables, limit: options?.limit }, null));
    },

    /**
     * A new database, the tenant `name`, holding this one as it was at a point (the
     * present when omitted). Refused (409 BRANCH_EXISTS) when that tenant holds rows.
     * @param {string} name @param {number | string | {time: number}} [from]
     */
    branch(name, from) {
      return post('/branch', { name, from }, null);
    },

    /** The points history keeps: {current, oldest, oldestTime, windowMs, bytes, logRows}. */
    history() {
      return post('/history', {}, null);
    },

    /**
     * Put the whole database back as it was at a point, as one new commit (undo it
     * by restoring to `before` in the answer: the point the restore replaced).
     * Change streams end with DATABASE_RESTORED.
     * @param {number | string | {time: number}} to
     * @returns {Promise<{restoredTo: {lsn: number, bookmark: string}, before: {lsn: number, bookmark: string}, current: {lsn: number, bookmark: string}, pagesWritten: number}>}
     */
    restore(to) {
      return post('/restore', { to }, null);
    },

    /**
     * Run fn inside one transaction; commit when it resolves, roll back and
     * rethrow when it throws. Other requests to the database wait meanwhile, so
     * keep fn short; the transaction is rolled back when idle for timeoutMs.
     * @template T
     * @param {(tx: any) => Promise<T>} fn
     * @param {{timeoutMs?: number}} [options]
     * @returns {Promise<T>}
     */
    async transaction(fn, options) {
      // Refused before /begin: the transaction would hold the database for nothing.
      const needsFunction = (/** @type {string} */ more) =>
        new DoSQLError(`transaction() needs a function to run inside the transaction, not ${fn === null ? 'null' : typeof fn}${more}`, { code: 'BAD_REQUEST', status: 400 });
      if (typeof fn !== 'function' && typeof options === 'function') throw needsFunction(': transaction(fn, options) takes the function first');
      checkCallOptions(options, BEGIN_OPTIONS, 'transaction()');
      if (typeof fn !== 'function') throw needsFunction('');
      const timeoutMs = options?.timeoutMs;
      const begun = await post('/begin', timeoutMs === undefined ? {} : { timeoutMs }, null);
      const txId = /** @type {string} */ (begun.txId);
      const { methods, unseenFailure, stop } = watchCalls(statements(send, txId));
      const tx = Object.freeze({ txId, ...methods });
      /** @type {T} */
      let result;
      try {
        result = await fn(tx);
        // A call fn did not await, which failed with no handler: committing the rest would
        // keep a transaction that did not do what fn said.
        const unseen = await unseenFailure();
        if (unseen !== undefined) throw unseen;
      } catch (err) {
        await post('/rollback', {}, txId).catch(() => {}); // ended already, or gone: it was not kept
        throw err;
      } finally {
        stop();
      }
      try {
        await post('/commit', {}, txId);
      } catch (err) {
        // A COMMIT the object refused has ended the transaction (TRANSACTION_ABORTED);
        // one that never reached it has not: do not leave that to the idle timer.
        await post('/rollback', {}, txId).catch(() => {});
        throw err;
      }
      return result;
    },
  });
}

/**
 * query/queryOne/run/batch/exec, inside the transaction txId or outside any; with
 * asOf, every request carries it, and the engine refuses those that cannot take it
 * (/run, /exec: 400 BAD_REQUEST), as it does over HTTP. Each answers with a promise.
 * @param {Send} send
 * @param {string | null} txId
 * @param {unknown} [asOf]  a point of history (docs/history.md)
 */
export function statements(send, txId, asOf = undefined) {
  return promised(statementsAtOnce(send, txId, asOf));
}

/**
 * statements() as DoSQLDatabase's own RPC entry points call them (durable-object/class.js):
 * each answers at once when send does, and throws at once what it refuses before sending.
 * @param {Send} send
 * @param {string | null} txId
 * @param {unknown} [asOf]
 */
export function statementsAtOnce(send, txId, asOf = undefined) {
  return {
    ...readsAtOnce(send, txId, asOf),
    /**
     * @param {string} sql
     * @param {unknown} [params]
     * @returns {{rowsAffected: number, lastInsertRowId: number} | Promise<{rowsAffected: number, lastInsertRowId: number}>}
     */
    run(sql, params) {
      return onAnswer(send('/run', { sql: encodeSql(sql), params: encodeParams(params), asOf }, txId), ({ rowsAffected, lastInsertRowId }) => ({
        rowsAffected: decodeValue(rowsAffected),
        lastInsertRowId: decodeValue(lastInsertRowId),
      }));
    },
    /**
     * A script of statements, all or nothing (split by SQLite's parser).
     * @param {string} sql
     * @returns {{count: number} | Promise<{count: number}>}
     */
    exec(sql) {
      return onAnswer(send('/exec', { sql: encodeSql(sql), asOf }, txId), ({ count }) => ({ count }));
    },
  };
}

/**
 * query/queryOne/batch, inside the transaction txId or outside any; as of a point
 * of history when asOf is given (docs/history.md), where they are read-only. Each
 * answers with a promise.
 * @param {Send} send
 * @param {string | null} txId
 * @param {unknown} asOf  a point: an lsn, a bookmark, a time, or undefined for now
 */
export function reads(send, txId, asOf) {
  return promised(readsAtOnce(send, txId, asOf));
}

/** reads(), each answering at once when send does (statementsAtOnce).
 *  @param {Send} send @param {string | null} txId @param {unknown} asOf */
function readsAtOnce(send, txId, asOf) {
  return {
    /**
     * @param {string} sql
     * @param {unknown} [params]
     * @returns {any[] | Promise<any[]>}
     */
    query(sql, params) {
      return onAnswer(send('/query', { sql: encodeSql(sql), params: encodeParams(params), asOf }, txId), ({ rows }) => decodeRows(rows));
    },
    /**
     * @param {string} sql
     * @param {unknown} [params]
     */
    queryOne(sql, params) {
      return onAnswer(send('/query', { sql: encodeSql(sql), params: encodeParams(params), asOf }, txId), ({ rows }) =>
        Array.isArray(rows) && rows.length > 0 ? decodeRow(rows[0]) : null,
      );
    },
    /**
     * Several statements, all or nothing; one result per statement.
     * @param {(string | {sql: string, params?: unknown})[]} list
     */
    batch(list) {
      // Not a list, or an operation that is no object: sent as it is, for the object to
      // refuse (400 BAD_REQUEST); so is a field an operation does not take (asOf, parms).
      const operations = Array.isArray(list) ? list.map(operationOf) : list;
      return onAnswer(send('/batch', { operations, asOf }, txId), ({ results }) =>
        (Array.isArray(results) ? results : []).map((/** @type {any} */ r) => ({
          rows: decodeRows(r?.rows ?? []),
          rowsAffected: decodeValue(r?.rowsAffected),
          lastInsertRowId: decodeValue(r?.lastInsertRowId),
        })),
      );
    },
  };
}

/** One operation of batch() for the wire: its sql and params encoded, its other fields kept. @param {unknown} s */
function operationOf(s) {
  if (typeof s === 'string' || s instanceof String) return { sql: encodeSql(s) };
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return s;
  const operation = /** @type {Record<string, unknown>} */ ({ ...s });
  if ('sql' in operation) operation.sql = encodeSql(operation.sql);
  if ('params' in operation) operation.params = encodeParams(operation.params);
  return operation;
}

/**
 * fn of an answer, at once when the answer is given at once, else when it comes.
 * @template T, U @param {T | Promise<T>} answer @param {(value: T) => U} fn @returns {U | Promise<U>}
 */
export function onAnswer(answer, fn) {
  return answer instanceof Promise ? answer.then(fn) : fn(answer);
}

/**
 * Each of methods as a function that answers with a promise, rejected rather than
 * thrown when the method refuses its arguments (as an async function's).
 * @template {Record<string, (...args: any[]) => any>} M @param {M} methods
 * @returns {{[K in keyof M]: (...args: Parameters<M[K]>) => Promise<Awaited<ReturnType<M[K]>>>}}
 */
function promised(methods) {
  /** @type {Record<string, (...args: any[]) => Promise<any>>} */
  const out = {};
  for (const [name, method] of Object.entries(methods)) {
    out[name] = (...args) => {
      try {
        return Promise.resolve(method(...args));
      } catch (err) {
        return Promise.reject(err);
      }
    };
  }
  return /** @type {any} */ (out);
}

/** A /diff answer with its rows decoded. @param {any} answer */
export function decodeDiff(answer) {
  return {
    ...answer,
    changes: answer.changes.map((/** @type {any} */ c) => ({ ...c, data: decodeRow(c.data), ...(c.old ? { old: decodeRow(c.old) } : {}) })),
  };
}

/**
 * How to send to a stub: Workers RPC (DoSQLDatabase's `request`, which answers
 * {status, text} as fetch would), found out on the first call; fetch when the
 * object's class has no such method (a user's own class around DB()), from then
 * on.
 * @param {any} stub
 * @param {ReturnType<typeof stubLink>} [link]  the stub as renewed in later requests,
 *   shared with the client's other calls (its subscribe())
 * @returns {Send}
 */
export function sendTo(stub, link = stubLink(stub)) {
  const transport = transportOf(stub);
  /** @param {any} to @param {string} path @param {unknown} body @param {string | null} txId */
  const attempt = async (to, path, body, txId) => {
    if (transport.rpc) {
      /** @type {{status: number, text: string} | undefined} */
      let answer;
      try {
        answer = await to.request(path, body, txId);
      } catch (err) {
        if (!lacksRpc(err)) throw err;
        transport.rpc = false;
      }
      if (answer) return answerOfRpc(path, answer);
    }
    return await sendOverFetch(to, path, body, txId);
  };
  return async (path, body, txId) => {
    try {
      return await viaLink(link, (to) => attempt(to, path, body, txId));
    } catch (err) {
      if (rpcTooLarge(err)) throw tooLargeForRpc(err, body);
      // Workers RPC cannot clone a field of the request (a promise where the SQL
      // belongs): the caller's mistake, as over fetch, where the object refuses it.
      if (err instanceof Error && err.name === 'DataCloneError') throw unsendable(err);
      const unavailable = objectUnavailable(err);
      // 503, as the router answers it (src/errors.c).
      if (unavailable !== null) throw new DoSQLError(unavailable, { code: 'OBJECT_UNAVAILABLE', status: 503, cause: err });
      const threw = objectThrew(err);
      throw threw === null ? err : new DoSQLError(threw, { code: 'OBJECT_THREW', status: 500, cause: err });
    }
  };
}

/**
 * The DoSQLError for a call Workers RPC refused for its size: the request, when it is
 * that large (the database takes 8 MiB: docs/limits.md), else the answer (which the
 * database sends as bytes when its text could be: durable-object/class.js request()).
 * @param {Error} err @param {unknown} body
 */
function tooLargeForRpc(err, body) {
  const requestChars = jsonLength(body);
  if (requestChars >= RPC_LARGE_CHARS) {
    const size = Number.isFinite(requestChars) ? ` (${requestChars} characters of JSON)` : '';
    return new DoSQLError(`the request is too large to send${size}; a request may be 8 MiB: ${err.message}`, {
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
      cause: err,
    });
  }
  return new DoSQLError(`the answer is too large for Workers RPC to carry (${err.message}): paginate, or select less`, {
    code: 'RESULT_TOO_LARGE',
    status: 400,
    cause: err,
  });
}
/** A request of this many characters of JSON may take Workers RPC's 32 MiB: the
 *  platform writes a character in two bytes at most, a number in nine (a double: `0.5,`
 *  is four characters), so fewer cannot. */
const RPC_LARGE_CHARS = Math.floor((32 * 1024 * 1024) / 2.25);

/** The length of body's JSON, or Infinity where JSON cannot write it (a cycle, a
 *  bigint in an object parameter), which RPC sent as it is. @param {unknown} body */
function jsonLength(body) {
  try {
    return JSON.stringify(body)?.length ?? 0;
  } catch {
    return Infinity;
  }
}

/** Per namespace (one class), how its objects are reached, as its first client found out. @type {WeakMap<object, {rpc: boolean}>} */
const transports = new WeakMap();

/**
 * How to reach stub: shared by the clients of its namespace's objects, so that a
 * class without RPC (getDB() in a hook makes a client per request) costs one failed
 * RPC call per isolate, not one per request.
 * @param {object} stub
 */
function transportOf(stub) {
  const namespace = namespaceOf(stub);
  let transport = namespace && transports.get(namespace);
  if (!transport) {
    transport = { rpc: true };
    if (namespace) transports.set(namespace, transport);
  }
  return transport;
}

/**
 * Whether err says the stub's class has no RPC method `request`: it lacks the
 * method, or it is not RPC-capable at all (a class that does not extend
 * DurableObject, as the guide's own class is written).
 * @param {unknown} err
 */
function lacksRpc(err) {
  return err instanceof TypeError && /does not implement|is not a function|does not support RPC/i.test(err.message);
}

/**
 * POST a JSON body to the object; its Response, whatever the status.
 * @param {{fetch: (url: string, init?: any) => Promise<Response>}} stub
 * @param {string} path
 * @param {unknown} body
 * @param {string | null} txId
 * @returns {Promise<Response>}
 */
function postRequest(stub, path, body, txId) {
  /** @type {Record<string, string>} */
  const headers = { 'Content-Type': 'application/json' };
  if (txId !== null) headers[TRANSACTION_HEADER] = txId;
  const unwritable = unwritableNumber(body);
  if (unwritable !== null) throw new DoSQLError(unwritable, { code: 'BAD_REQUEST', status: 400 });
  /** @type {string} */
  let text;
  try {
    text = JSON.stringify(body);
  } catch (err) {
    throw unsendable(/** @type {Error} */ (err));
  }
  return stub.fetch(`${BASE_URL}${path}`, { method: 'POST', headers, body: text });
}

/**
 * The DoSQLError for a request that cannot be sent as it is: a field JSON cannot
 * write (a cycle, a bigint where no value belongs), or Workers RPC cannot clone
 * (a promise). Parameters never get here: encodeValue refuses those with BAD_PARAMS.
 * @param {Error} err
 */
function unsendable(err) {
  return new DoSQLError(`the request cannot be sent: ${err.message.split('\n')[0]}; its fields take strings, numbers and arrays (was a promise not awaited?)`, {
    code: 'BAD_REQUEST',
    status: 400,
    cause: err,
  });
}

/**
 * POST one request; the parsed answer, or a DoSQLError.
 * @param {{fetch: (url: string, init?: any) => Promise<Response>}} stub
 * @param {string} path
 * @param {unknown} body
 * @param {string | null} txId
 * @returns {Promise<any>}
 */
async function sendOverFetch(stub, path, body, txId) {
  const response = await postRequest(stub, path, body, txId);
  // A test's stand-in for the stub may answer {ok, json()} alone, as the guide's unit
  // test of getDB does: its status is then 200 or, when not ok, 500.
  const status = response.status ?? (response.ok ? 200 : 500);
  return answerOf(path, status, typeof response.text === 'function' ? await response.text() : JSON.stringify(await response.json()));
}

/**
 * The parsed answer of DoSQLDatabase's request() (durable-object/response.js
 * rpcAnswer: its JSON text, or as UTF-8 bytes when that is large), or the
 * DoSQLError it is.
 * @param {string} path
 * @param {{status: number, text?: string, bytes?: Uint8Array}} answer
 * @returns {any}
 */
export function answerOfRpc(path, { status, text, bytes }) {
  return answerOf(path, status, text ?? decoder.decode(bytes));
}

/**
 * The parsed answer of a request, or the DoSQLError it is.
 * @param {string} path
 * @param {number} status
 * @param {string} text
 * @returns {any}
 */
export function answerOf(path, status, text) {
  if (status < 200 || status > 299) throw errorAnswer(path, status, text);
  const value = parseJSON(text);
  if (value === undefined || value === null || typeof value !== 'object') {
    throw new DoSQLError(`the database answered ${path} with something that is not a JSON object: ${text.slice(0, 200)}`, {
      code: 'BAD_RESPONSE',
      status,
    });
  }
  const field = ANSWER_FIELD[path];
  if (field !== undefined && !(field in value)) {
    throw new DoSQLError(
      `the database answered ${path} with ${text.slice(0, 200)}, which has no ${field}: not DoSQL's answer. Bind the DoSQLDatabase class ` +
        "(or a class of your own whose fetch() ends with `return db.serve(request)`), not a class that answers DoSQL's paths itself",
      { code: 'BAD_RESPONSE', status },
    );
  }
  return value;
}

/** A field every success answer of the path holds (docs/protocol.md): a JSON object
 *  without it is some other code's answer, whose missing values must not pass for
 *  DoSQL's (a transaction() "committed" with no txId, a run() that wrote nothing). Not /commit
 *  nor /rollback: their answers are read for nothing once /begin was DoSQL's. */
const ANSWER_FIELD = Object.freeze(/** @type {Record<string, string>} */ ({
  '/query': 'rows', '/run': 'rowsAffected', '/batch': 'results', '/exec': 'count', '/begin': 'txId',
  '/history': 'current', '/restore': 'restoredTo', '/diff': 'changes', '/branch': 'name', '/import': 'pages',
}));

// Workers RPC keeps only an error's message: a DoSQLError thrown by one of
// DoSQLDatabase's statement methods crosses as "[CODE status detail value ...]
// message", each of its details (ERROR_DETAILS: a number, or a word) a pair, and
// fromRpcError rebuilds it on the other side.
const RPC_ERROR = /^\[([A-Z][A-Z0-9_]*) (\d{3})((?: [A-Za-z]+ [\w-]+)*)\] ([\s\S]*)$/;

/** The options diff() takes. */
export const DIFF_OPTIONS = Object.freeze(['to', 'tables', 'limit']);
/** The options of begin() and transaction(). */
export const BEGIN_OPTIONS = Object.freeze(['timeoutMs']);

/**
 * A DoSQLError as an Error that crosses Workers RPC.
 * @param {unknown} err
 */
export function toRpcError(err) {
  if (!(err instanceof DoSQLError)) return err;
  const details = ERROR_DETAILS.filter((key) => /^[\w-]+$/.test(String(/** @type {any} */ (err)[key] ?? '')))
    .map((key) => ` ${key} ${/** @type {any} */ (err)[key]}`).join('');
  return new Error(`[${err.code} ${err.status}${details}] ${err.message}`);
}

/**
 * A call's options object (absent: none), checked to name only options that exist: a
 * misspelt one ({asof}, {tabels}) would be dropped without a word, and the call would
 * read the present or every table. Else a DoSQLError 400 BAD_REQUEST saying which.
 * @param {unknown} options @param {readonly string[]} allowed @param {string} label  e.g. "diff()"
 */
export function checkCallOptions(options, allowed, label) {
  if (options === undefined || options === null) return;
  try {
    if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`${label}'s options must be an object {${allowed.map((key) => `${key}?`).join(', ')}}`);
    checkKeys(options, allowed, label);
  } catch (err) {
    throw new DoSQLError(/** @type {Error} */ (err).message, { code: 'BAD_REQUEST', status: 400 });
  }
}

/**
 * The DoSQLError an RPC error stands for (any other error as it is).
 * @param {unknown} err
 */
export function fromRpcError(err) {
  const m = err instanceof Error ? RPC_ERROR.exec(err.message) : null;
  if (!m) return err;
  /** @type {Record<string, string | number>} */
  const details = {};
  const pairs = m[3].trim().split(' ');
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const [key, value] = [pairs[i], pairs[i + 1]];
    if (ERROR_DETAILS.includes(/** @type {any} */ (key))) details[key] = /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return new DoSQLError(m[4], { ...details, code: m[1], status: Number(m[2]) });
}

/**
 * The DoSQLError an error answer is: DoSQL's {error, code}, or another's (foreign).
 * @param {string} path @param {number} status @param {string} text
 */
export function errorAnswer(path, status, text) {
  const value = parseJSON(text);
  return typeof value?.code === 'string' ? failure(status, value, text) : foreign(path, status, text, value);
}

/**
 * The DoSQLError for an error answer {error, code, operation?} (or for any other
 * text, which becomes the message).
 * @param {number} status
 * @param {any} value  the parsed answer, undefined if it was not JSON
 * @param {string} text  the answer as it came
 */
function failure(status, value, text) {
  const message = typeof value?.error === 'string' ? value.error : text || `the database answered ${status}`;
  /** @type {Record<string, unknown>} */
  const details = {};
  for (const key of ERROR_DETAILS) if (value?.[key] !== undefined) details[key] = value[key];
  return new DoSQLError(message, { ...details, code: typeof value?.code === 'string' ? value.code : `HTTP_${status}`, status });
}

/**
 * The DoSQLError for an error answer that is not DoSQL's {error, code}. A 404
 * or 405 is the object's own fetch() answering a route it does not know (a
 * class of one's own that routes requests itself): NOT_DOSQL, saying how to
 * pass them on. Anything else came from the platform or from code between the
 * two: HTTP_<status>, with its {error} as the message when it has one.
 * @param {string} path @param {number} status @param {string} text
 * @param {any} value  text parsed, undefined if it is not JSON
 */
function foreign(path, status, text, value) {
  const said = `${path} with ${status} ${text ? JSON.stringify(text.slice(0, 200)) : '(an empty body)'}`;
  if (status !== 404 && status !== 405) {
    const message = typeof value?.error === 'string' ? value.error : `the Durable Object answered ${said}, which is not an answer of DoSQL's protocol`;
    return new DoSQLError(message, { code: `HTTP_${status}`, status });
  }
  return new DoSQLError(
    `the Durable Object answered ${said}: its fetch() did not pass the request to DoSQL. In a class of your own ` +
      'that calls DB(), end fetch() with `return db.serve(request)` (docs/troubleshooting.md), or bind the DoSQLDatabase class itself',
    { code: 'NOT_DOSQL', status },
  );
}

/** @param {string} text @returns {any} the value, or undefined when text is not JSON */
function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---- subscriptions ----------------------------------------------------------------

/** @type {IteratorReturnResult<undefined>} */
const DONE = Object.freeze({ done: true, value: undefined });

/**
 * The events of one POST /subscribe, as an async iterator: change events (rows
 * decoded), gap and ready; keepalive lines are dropped, an end line throws. The
 * request is sent on the first next().
 *
 * Written by hand, not as an async generator, because a generator queues
 * return() behind a pending next(): a `break`, the relay's cancel or the signal
 * must cancel the body at once, while a read may wait 15 s for a keepalive.
 * @implements {AsyncIterableIterator<any>}
 */
/**
 * A subscription whose body stopped without an end line, or failed as it was read.
 * @param {number} status @param {unknown} [cause]
 */
function streamEnded(status, cause) {
  const why = cause === undefined ? '' : ` (${/** @type {any} */ (cause)?.message ?? cause})`;
  return new DoSQLError(
    `the subscription's stream stopped without an end line${why}: the database cut it off (its streams together held too much ` +
      'unread), the object restarted, or the connection broke; subscribe again from the last lsn you saw',
    { code: 'STREAM_ENDED', status, cause },
  );
}

class Subscription {
  /** @type {() => Promise<Response>} */
  #open;
  /** @type {AbortSignal | undefined} */
  #signal;
  /** @type {ReadableStreamDefaultReader<Uint8Array> | null} */
  #reader = null;
  #lines = lineDecoder();
  /** Lines received and not yet handed out. @type {string[]} */
  #queue = [];
  /** The status of the response, for the errors its lines cause. */
  #status = 0;
  /** The body has no more bytes. */
  #ended = false;
  /** By return(), the signal, an end line, an error or the end of the body: nothing more is handed out. */
  #closed = false;
  /** Resolves with null once closed (stops the wait for the response). @type {Promise<null>} */
  #closing;
  /** @type {(value: null) => void} */
  #resolveClosing = () => {};
  /** next() calls are answered in order, each after the one before. @type {Promise<unknown>} */
  #previous = Promise.resolve();
  #onAbort = () => this.#close();

  /**
   * @param {() => Promise<Response>} open  sends the request
   * @param {AbortSignal} [signal]
   */
  constructor(open, signal) {
    this.#open = open;
    this.#signal = signal;
    this.#closing = new Promise((resolve) => (this.#resolveClosing = resolve));
    if (signal?.aborted) this.#close();
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** @returns {Promise<IteratorResult<any, undefined>>} */
  next() {
    const result = this.#previous.then(() => this.#step());
    this.#previous = result.catch(() => {});
    return result;
  }

  /**
   * Stop: cancels the request's body, also while a next() is waiting (which then
   * resolves done).
   * @returns {Promise<IteratorReturnResult<undefined>>}
   */
  async return() {
    this.#close();
    return DONE;
  }

  /** @returns {Promise<IteratorResult<any, undefined>>} */
  async #step() {
    try {
      for (;;) {
        if (this.#closed) return DONE;
        const line = this.#queue.shift();
        if (line !== undefined) {
          const event = this.#parse(line);
          if (event !== null) return { done: false, value: event };
        } else if (this.#ended) {
          // The database ends a subscription only with an end line (thrown above): a body
          // that stops without one was cut (its streams held too much unread, the object
          // restarted, the connection broke), and the caller must subscribe again.
          if (this.#closed) return DONE;
          throw streamEnded(this.#status);
        } else if (this.#reader === null) {
          await this.#connect();
        } else {
          await this.#read();
        }
      }
    } catch (err) {
      this.#close();
      throw err;
    }
  }

  /** Send the request; keep the body's reader, or throw the error answer. */
  async #connect() {
    const opening = this.#open();
    const response = await Promise.race([opening, this.#closing]);
    if (response === null) {
      // Closed first: the response, when it comes, is not read.
      opening.then((r) => r.body?.cancel(), () => {}).catch(() => {});
      return;
    }
    if (!response.ok) throw errorAnswer('/subscribe', response.status, await response.text());
    this.#status = response.status;
    if (this.#closed || !response.body) {
      this.#ended = true;
      await response.body?.cancel();
      return;
    }
    this.#reader = response.body.getReader();
  }

  /** One chunk of the body into lines. */
  async #read() {
    /** @type {ReadableStreamReadResult<Uint8Array>} */
    let chunk;
    try {
      chunk = await /** @type {ReadableStreamDefaultReader<Uint8Array>} */ (this.#reader).read();
    } catch (err) {
      // Closed while the read waited (return(), the signal): workerd rejects the read
      // ("Stream was cancelled."), where Node ends it.
      if (this.#closed) return;
      throw streamEnded(this.#status, err);
    }
    const { done, value } = chunk;
    const lines = done ? this.#lines.end() : this.#lines.push(value);
    this.#ended = done;
    for (const line of lines) this.#queue.push(line);
  }

  /**
   * One line: the event to hand out, null for a keepalive; throws for an end line.
   * @param {string} line
   * @returns {any}
   */
  #parse(line) {
    const event = parseJSON(line);
    if (event === null || typeof event !== 'object' || Array.isArray(event)) {
      throw new DoSQLError(`the database sent a subscription line that is not a JSON object: ${line.slice(0, 200)}`, {
        code: 'BAD_RESPONSE',
        status: this.#status,
      });
    }
    if (event.type === 'keepalive') return null;
    if (event.type === 'end') throw failure(this.#status, event, line);
    if (event.data !== undefined) event.data = decodeRow(event.data);
    if (event.old !== undefined) event.old = decodeRow(event.old);
    return event;
  }

  #close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#resolveClosing(null);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#reader?.cancel().catch(() => {});
  }
}
