// durable-object/instance.js — one database inside one Durable Object, and the one request path.
//
// The DoSQLDatabase class (durable-object/class.js) and DB() (durable-object/embedded.js, for users who write their
// own Durable Object class) are both a DatabaseInstance: the storage adapter picked
// for ctx.storage, the engine, the transaction gate, start-up (open + migrate, once,
// again after the engine broke), and fetch(request): body → gate → engine →
// Response, with the one catch boundary of the shim. They differ only in how
// start-up is made exclusive (blockConcurrencyWhile, or not) and where their
// settings come from.
//
// Change streams (docs/changes.md): /subscribe goes to the change feed
// (changes/feed.js), not to the engine. After every request the engine's commit count
// is compared with the last one seen: when it moved, the feed is woken and the
// retention alarm made due (changes/retention.js), neither awaited, so a commit never
// waits for subscribers.
//
// Import (durable-object/file-import.js) stages and checks the file beside the live database; only
// its swap holds the gate, and the engine is started afresh on the new pages
// (and every change stream ended) before the gate opens again.
//
// Start-up failures are caught inside `exclusive` and rethrown outside it: a throw
// inside blockConcurrencyWhile would reset the object, and a failure kept on the
// instance would stick. The start promise is dropped on failure, so the next
// request tries again.

import wasmModule from '../wasm/module.js';
import { RECYCLE_MEMORY_BYTES } from '../config.js';
import { Engine, EngineBrokenError } from '../wasm/engine.js';
import { NO_CHANGE_NUMBERS, StorageError } from '../wasm/host.js';
import { jsonResponse, messageOf, requestAnswer, toResponse, valueOf, withoutBody } from './response.js';
import { hostError, shippedContract } from '../wasm/contract.js';
import { paramReplacer, unwritableNumber } from '../client/values.js';
import { errorAnswer } from '../client/client.js';
import { BodyReadError, discardBody, queryBody, readBody, readStream } from './request-body.js';
import { TransactionGate } from './transaction-gate.js';
import { hranaResponse, isHranaPath, runPipeline } from './hrana.js';
import { ChangeFeed } from '../changes/feed.js';
import { exportResponse } from './file-export.js';
import { importFile } from './file-import.js';
import { Retention, checkChanges } from '../changes/retention.js';
import { SqlPageStorage, checkHistory } from '../storage/sql.js';
import { KvPageStorage } from '../storage/kv.js';
import { TieredPageStorage, checkCold } from '../storage/tiered.js';
import { hasColdPages } from '../storage/cold-manifest.js';
import { OPEN_READ_AHEAD } from '../config.js';
import { answersEveryName, hasMethods } from '../bindings.js';
import { branch, adoptBranch, peersIn, scratchPages, usedError } from './branch.js';

/** @typedef {import('../wasm/engine.js').Migration} Migration */
/** @typedef {import('../wasm/engine.js').EngineResponse} EngineResponse */
/** @typedef {import('./response.js').RpcAnswer} RpcAnswer */

const encoder = new TextEncoder();
/** A restore gives up after this many rounds of fetching pages from the cold tier. */
const MAX_RESTORE_ROUNDS = 64;
const decoder = new TextDecoder();
/** The paths of C's routes that take the whole database ("wholeDatabase"), read once. @type {Set<string> | null} */
let wholeDatabasePaths = null;

/** Whether path takes the whole database, after any open transaction (never inside one). @param {string} path */
function takesWholeDatabase(path) {
  wholeDatabasePaths ??= new Set(shippedContract().routes.filter((r) => r.wholeDatabase).map((r) => r.path));
  return wholeDatabasePaths.has(path);
}

/**
 * The answer to a request of path sent inside a transaction (txId: its header) when
 * path takes the whole database, else null: it would wait for the very transaction
 * its sender holds open, until that idled out and was rolled back.
 * @param {string} path @param {string | null | undefined} txId @returns {EngineResponse | null}
 */
function refusedInTransaction(path, txId) {
  if (txId === null || txId === undefined || !takesWholeDatabase(path)) return null;
  return hostError('BAD_REQUEST', `${path} does not run inside a transaction: it waits for the open one to end, ` +
    `so inside it, it would wait for that transaction to idle out and be rolled back. Send it without the ` +
    `${shippedContract().transactionHeader} header, after /commit or /rollback`);
}

/**
 * An answer as the HTTP response to a request of path: in Hrana's words, {message, code},
 * on libSQL's paths (a libSQL client reads no other), else as the engine wrote it.
 * @param {string} path @param {EngineResponse} answer @returns {Response}
 */
function responseFor(path, answer) {
  return isHranaPath(path) ? hranaResponse(answer, { pipeline: false }) : toResponse(answer);
}

/**
 * refusedInTransaction's answer to an HTTP request, its body read and dropped, or null.
 * The header is read only for the few routes that take the whole database: not per query.
 * @param {Request} request @param {string} path @returns {Promise<Response | null>}
 */
async function refusedWithBody(request, path) {
  const refused = takesWholeDatabase(path) ? refusedInTransaction(path, request.headers.get(shippedContract().transactionHeader)) : null;
  if (!refused) return null;
  await discardBody(request.body);
  return responseFor(path, refused);
}

/**
 * @typedef {object} InstanceOptions
 * @property {any} storage  the object's ctx.storage (SQLite-backed or key-value)
 * @property {() => readonly Migration[]} migrations  read at each start
 * @property {() => number} pageSize  read at each start (may throw: a shim failure)
 * @property {() => unknown} [changes]  the `changes` setting (changes/retention.js,
 *   checkChanges), read at each start; default: capture with default retention
 * @property {any} [ctx]  the object's DurableObjectState: WebSocket subscribers
 * @property {number} [cacheBytes]  page cache budget of the key-value backend
 * @property {() => unknown} [history]  history's window and bytes (storage/sql.js,
 *   checkHistory), read when the storage adapter is made; default: config.js
 * @property {() => unknown} [cold]  the R2 cold tier's settings (storage/tiered.js,
 *   checkCold), read when the storage adapter is made; default: none
 * @property {() => number} [cpuBudgetMs]  each request's CPU budget in ms (0 or
 *   absent: the engine's default; the engine checks the range), read at each start
 * @property {() => any} [namespace]  the DurableObjectNamespace POST /branch makes new
 *   databases in (this object's own); absent: branches are refused
 * @property {() => string} label  names the database in logs
 * @property {(fn: () => Promise<void>) => Promise<void>} [exclusive]  runs start-up
 *   alone (ctx.blockConcurrencyWhile); default: just runs it
 * @property {(reason: string) => void} [onTornWrite]  key-value backend: a commit's
 *   write threw after others were issued (default: throw, which breaks the engine)
 */

/**
 * Engine.open's capture options from the checked `changes` setting.
 * @param {false | import('../changes/retention.js').RetentionSettings} changes
 */
function captureOptions(changes) {
  return { captureChanges: changes !== false, captureTables: changes === false ? undefined : changes.tables };
}

/**
 * Whether a start failed because the database's cold data is lost (an R2 object it
 * needs is gone or altered): it cannot open until something replaces it.
 * @param {EngineResponse | null} failure
 */
export function isLost(failure) {
  return failure !== null && valueOf(failure)?.code === 'COLD_TIER_CORRUPT';
}

/**
 * How an import numbers its events when the database it replaces is lost, so its
 * change log's last number cannot be read (C's /changes/replaced for a log that can):
 * past any number that log can hold, and past the floor storage keeps; as for any
 * import, nothing before is kept (kept -1: every reader gets a gap).
 * Numbers go up by one per event, and no database has had an event per microsecond
 * since 1970, so that count is past them (and below 2^53 until the year 2255).
 * @param {{changeNumbers?: () => import('../wasm/host.js').ChangeNumbers}} storage
 * @returns {import('../wasm/host.js').ChangeNumbers}
 */
function lostChangeNumbers(storage) {
  const { floor } = storage.changeNumbers?.() ?? NO_CHANGE_NUMBERS;
  return { floor: Math.max(floor, Date.now() * 1000), kept: -1 };
}

/**
 * An RPC request's body as JSON. A BigInt where the client's value encoding does
 * not reach (inside an object given as a parameter) is written as its tag, so that
 * the engine refuses the object as it does over HTTP (BAD_PARAMS), rather than
 * JSON.stringify throwing (INTERNAL). Only then is the replacer paid for. A body
 * JSON cannot write at all (a cycle) is the caller's mistake: null.
 * @param {unknown} body @returns {string | null}
 */
function requestText(body) {
  try {
    return JSON.stringify(body);
  } catch {
    try {
      return JSON.stringify(body, paramReplacer);
    } catch {
      return null;
    }
  }
}

/**
 * An RPC request's body as the engine reads it (requestText), or null; past the
 * engine's limit, its length alone (as readBody gives it), which C refuses (413)
 * without its bytes copied into the engine's memory.
 * @param {unknown} body @param {number} maxBytes  the engine's (maxRequestBytes)
 * @returns {Uint8Array | {oversized: number} | null}
 */
function bodyBytes(body, maxBytes) {
  const text = requestText(body ?? {});
  if (text === null) return null;
  const bytes = encoder.encode(text);
  return bytes.length > maxBytes ? { oversized: bytes.length } : bytes;
}

/** The answer to an RPC request whose body JSON cannot write. */
const UNWRITABLE_BODY = () => hostError('BAD_REQUEST', 'the request cannot be written as JSON (it holds a cycle): send values, not objects that refer to themselves');

export class DatabaseInstance {
  /** @type {InstanceOptions} */
  #options;
  /** @type {Engine | null} */
  #engine = null;
  /** @type {import('../wasm/host.js').StorageAdapter | null} */
  #storage = null;
  /** Resolves to null once open and migrated, or to the failure to answer with. */
  #ready = /** @type {Promise<EngineResponse | null> | null} */ (null);
  /** #ready resolved to null: requests need not wait for it (the common case). */
  #started = false;
  /** Every request after start-up goes through it (one open transaction at a time). */
  #gate;
  /** The subscribers of /subscribe. */
  #feed;
  /** Prunes the change log; null while capture is off (or before start). @type {Retention | null} */
  #retention = null;
  /** The change capture the engine was opened with: false, or the checked settings. @type {false | import('../changes/retention.js').RetentionSettings} */
  #capture = false;
  /** The engine's commit count when last looked at. */
  #commitsSeen = 0;
  /** The import in progress (one at a time), or null. @type {import('./file-import.js').ImportProgress | null} */
  #importing = null;
  /** A fresh engine is being started to give memory back (#recycleIfBloated). */
  #recycling = false;
  /** This database's branches that hold its gate while they wait for their new database (branch.js share). */
  #sharing = 0;

  /** @param {InstanceOptions} options */
  constructor(options) {
    this.#options = options;
    const log = (/** @type {unknown[]} */ ...args) => console.error(`[dosql] ${options.label()}:`, ...args);
    this.#gate = new TransactionGate({ engine: () => this.#startedEngine(), log });
    this.#feed = new ChangeFeed({
      ctx: options.ctx,
      log,
      // Through the gate like any request: never inside an open transaction. The shim's
      // own request, for a subscriber admitted already (one read each at a time): it
      // waits its turn but is never refused for a full waiting line, which would end
      // the subscription for what a moment later is gone.
      read: async (body) => {
        const failure = await this.start();
        if (failure) return failure;
        return this.#request('POST', '/changes', encoder.encode(JSON.stringify(body)), null, { internal: true });
      },
    });
  }

  /**
   * The engine the gate hands a request it lets in. A request waits in the gate with no
   * start of its own: one let in after a restore, an import or a recycle that dropped the
   * engine and whose start failed (R2 failed to give page 1) would reach an engine never
   * opened (500 NOT_OPEN). It is refused instead, having run nothing, and #throughEngine
   * starts the engine (sending it again) or answers why it cannot start.
   * @returns {Engine}
   */
  #startedEngine() {
    if (this.#engine && this.#started) return this.#engine;
    throw new EngineBrokenError('the engine is not started: it was dropped, and its start failed', { refused: true });
  }

  /**
   * The answer to an error no request path handled: a storage failure (the cold
   * tier unreachable or lost, a key-value limit) answers its own code whichever path
   * met it; anything else is a failure of the shim itself, logged, 500 INTERNAL.
   * @param {unknown} err
   * @returns {EngineResponse}
   */
  #failure(err) {
    if (err instanceof StorageError) return hostError(err.code, err.message);
    if (err instanceof BodyReadError) return hostError('BAD_REQUEST', err.message);
    console.error(`[dosql] ${this.#options.label()}:`, err);
    return hostError('INTERNAL', messageOf(err));
  }

  /**
   * Answer one request of the wire protocol. Every failure of the shim itself is
   * answered here as 500 {error, code: "INTERNAL"}; all other errors come from C.
   * @param {Request} request
   * @returns {Promise<Response>}
   */
  async fetch(request) {
    // C serves HEAD as GET; its answer goes without the body.
    const response = await this.#serve(request);
    return request.method === 'HEAD' ? withoutBody(response) : response;
  }

  /** @param {Request} request @returns {Promise<Response>} */
  async #serve(request) {
    try {
      const path = new URL(request.url).pathname;
      // Before the start: an import also replaces a database that cannot start.
      if (path === '/import') return await this.importDatabase(request);
      const failure = this.#started ? null : await this.start();
      // A failed migration is said so to a libSQL client too.
      if (failure) return responseFor(path, failure);
      // subscribe() refuses a transaction's header itself, as DB()'s serveSubscribe() reaches it.
      if (path === '/subscribe') return await this.subscribe(request);
      // After the start, so that the contract this reads is the engine's: before it, in a new
      // isolate, reading it took an instance of the module of its own (wasm/contract.js).
      const refused = await refusedWithBody(request, path);
      if (refused) return refused;
      const engine = /** @type {Engine} */ (this.#engine);
      if (path === '/restore') return toResponse(await this.#restore(request.method, await readBody(request, engine.maxRequestBytes)));
      if (path === '/branch') return toResponse(await this.#branch(request.method, await readBody(request, engine.maxRequestBytes), false));
      if (path === '/v2/pipeline') return await this.#hranaPipeline(request);
      if (engine.isHostRoute(path)) {
        const refused = await this.#refuseHostRequest(request, path);
        if (refused) return refused;
        if (path === '/export') {
          const query = queryBody(request.url);
          // As subscribe-request.js refuses tables and since given twice: C would read the list as no point.
          if (Array.isArray(query.asOf)) return toResponse(hostError('BAD_REQUEST', 'asOf is given more than once: give one point'));
          return await this.#export(query);
        }
        return toResponse(jsonResponse(200, await this.stats()));
      }
      // The gate gives the request its place in line once the body is in.
      const body = readBody(request, engine.maxRequestBytes);
      body.catch(() => {}); // awaited by the gate; never an unhandled rejection
      const txId = request.headers.get(engine.contract.transactionHeader);
      // GET /v2 (libSQL's version probe) included.
      return responseFor(path, await this.#answer(request.method, path, body, txId));
    } catch (err) {
      return toResponse(this.#failure(err));
    }
  }

  /**
   * Answer one request of the wire protocol given as a value, not an HTTP
   * request: the Workers RPC entry points' path (durable-object/class.js). The answer's
   * text (or its bytes, when large: response.js requestAnswer), and its status: at
   * once, not as a promise, when the object is started and its answer is ready at once
   * (no transaction open, the engine answering without a page to wait for).
   * @param {string} path
   * @param {unknown} body  a request body (JSON.stringify'd), or its JSON text as a stream
   *   (read as an HTTP body is: the standalone router's /branch)
   * @param {string | null} txId  anything over RPC: what is not a string names no transaction
   * @returns {RpcAnswer | Promise<RpcAnswer>}
   */
  call(path, body, txId) {
    const refused = refusedInTransaction(path, txId);
    if (refused) return this.#refuseCall(refused, body);
    if (txId !== null && txId !== undefined && typeof txId !== 'string') {
      return requestAnswer(hostError('BAD_REQUEST', `a transaction id is the string begin() answered (txId), not ${Array.isArray(txId) ? 'an array' : typeof txId}`));
    }
    const unwritable = unwritableNumber(body);
    if (unwritable !== null) return requestAnswer(hostError('BAD_REQUEST', unwritable));
    if (!this.#started || body instanceof ReadableStream) return this.#callLater(path, body, txId ?? null);
    /** @type {EngineResponse | Promise<EngineResponse>} */
    let answer;
    try {
      answer = this.#callRoute(path, bodyBytes(body, /** @type {Engine} */ (this.#engine).maxRequestBytes), txId ?? null);
    } catch (err) {
      return requestAnswer(this.#failure(err));
    }
    if (answer instanceof Promise) return answer.then(requestAnswer, (err) => requestAnswer(this.#failure(err)));
    return requestAnswer(answer);
  }

  /** call()'s answer when the path takes no transaction, its body stream dropped. @param {EngineResponse} refused @param {unknown} body */
  async #refuseCall(refused, body) {
    if (body instanceof ReadableStream) await body.cancel().catch(() => {});
    return requestAnswer(refused);
  }

  /** call() before the start, or with a body stream to read first.
   *  @param {string} path @param {unknown} body @param {string | null} txId @returns {Promise<RpcAnswer>} */
  async #callLater(path, body, txId) {
    let answer;
    try {
      const failure = this.#started ? null : await this.start();
      const maxBytes = shippedContract().maxRequestBytes;
      answer = failure ?? (await this.#callRoute(path, body instanceof ReadableStream ? await readStream(body, maxBytes) : bodyBytes(body, maxBytes), txId));
    } catch (err) {
      answer = this.#failure(err);
    }
    return requestAnswer(answer);
  }

  /**
   * call()'s request: to the host's own routes, or through the gate to C.
   * @param {string} path @param {Uint8Array | {oversized: number} | null} bytes  null: JSON cannot write the body
   * @param {string | null} txId
   * @returns {EngineResponse | Promise<EngineResponse>}
   */
  #callRoute(path, bytes, txId) {
    if (bytes === null) return UNWRITABLE_BODY();
    if (path === '/restore') return this.#restore('POST', bytes);
    if (path === '/branch') return this.#branch('POST', bytes, true);
    return this.#answer('POST', path, bytes, txId);
  }

  /**
   * One request through the gate, then what follows every request: wake the
   * change feed, storage upkeep, a smaller engine if this one grew. At once when
   * the gate answers at once.
   * @param {string} method
   * @param {string} path
   * @param {import('./transaction-gate.js').Body | Promise<import('./transaction-gate.js').Body>} body
   * @param {string | null} txId
   * @returns {EngineResponse | Promise<EngineResponse>}
   */
  #answer(method, path, body, txId) {
    const response = this.#request(method, path, body, txId);
    if (response instanceof Promise) {
      return response.then((r) => {
        this.#afterRequest();
        return r;
      });
    }
    this.#afterRequest();
    return response;
  }

  /** What follows every request: wake the change feed, storage upkeep, a smaller engine if this one grew. */
  #afterRequest() {
    this.#noticeCommits();
    this.#maintainInBackground();
    this.#recycleIfBloated();
  }

  /**
   * POST /v2/pipeline: libSQL's Hrana (durable-object/hrana.js), then what follows
   * every request.
   * @param {Request} request
   * @returns {Promise<Response>}
   */
  async #hranaPipeline(request) {
    try {
      const body = await readBody(request, shippedContract().maxRequestBytes);
      // The engine once the body is in: it may have been replaced meanwhile.
      const failure = await this.start();
      if (failure) return hranaResponse(failure, { pipeline: false });
      const answer = await this.#throughEngine(() => runPipeline({ engine: /** @type {Engine} */ (this.#engine), gate: this.#gate, body, method: request.method }));
      this.#afterRequest();
      return hranaResponse(answer, { pipeline: answer.status === 200 });
    } catch (err) {
      return hranaResponse(this.#failure(err), { pipeline: false });
    }
  }

  /**
   * C's answer when a route the host serves does not take the request's
   * method (its body discarded), else null. Starts the engine if need be.
   * @param {Request} request
   * @param {string} path
   * @returns {Promise<Response | null>}
   */
  async #refuseHostRequest(request, path) {
    const failure = await this.start();
    if (failure) {
      await discardBody(request.body);
      return toResponse(failure);
    }
    return this.#refuseMethod(request, /** @type {Engine} */ (this.#engine), path);
  }

  /**
   * engine's answer when a route the host serves does not take the request's method
   * (its body discarded), else null.
   * @param {Request} request @param {Engine} engine @param {string} path
   * @returns {Promise<Response | null>}
   */
  async #refuseMethod(request, engine, path) {
    // GET /export's check answers the database's size, from page 1, which may fault.
    const answer = await engine.request(request.method, path, new Uint8Array(0), { internal: true });
    if (answer.status === 200) return null;
    await discardBody(request.body);
    return toResponse(answer);
  }

  /**
   * GET /export: the database as a SQLite file, consistent as of one commit
   * (durable-object/file-export.js holds the gate while it streams); with asOf (a
   * point of history, which C reads), as it was then.
   * @param {Record<string, string>} query  the GET's query parameters (queryBody), or {asOf}
   * @returns {Promise<Response>}
   */
  async #export(query) {
    const storage = /** @type {any} */ (this.#storage);
    const body = encoder.encode(JSON.stringify(query));
    const size = () => /** @type {Engine} */ (this.#engine).request('GET', '/export', body, { internal: true });
    return exportResponse({ hold: () => this.#gate.hold(), size, storage }, 'database');
  }

  /**
   * Answer a request as POST /import, whatever its path: replace the database
   * with the SQLite file in its body (durable-object/file-import.js), or refuse the file and change
   * nothing. With ifNew (a branch's copy), only while the database is new, as asked
   * again at the swap: else BRANCH_EXISTS.
   * @param {Request} request
   * @param {{ifNew?: boolean}} [options]
   * @returns {Promise<Response>}
   */
  async importDatabase(request, { ifNew = false } = {}) {
    // A database whose cold data is lost cannot open; replacing it is how it recovers,
    // on an engine that needs no database (file headers) and with the new events
    // numbered past any the lost log can hold.
    const inTransaction = await refusedWithBody(request, '/import');
    if (inTransaction) return inTransaction;
    const bare = isLost(await this.start()) ? this.#bareEngine() : null;
    const refused = bare ? await this.#refuseMethod(request, bare, '/import') : await this.#refuseHostRequest(request, '/import');
    if (refused) return refused;
    const label = this.#options.label();
    try {
      const answer = await this.#oneImport(
        () => discardBody(request.body),
        (progress) =>
          importFile(request.body, {
            storage: /** @type {import('./file-import.js').ImportableStorage} */ (this.#storage),
            engine: async () => bare ?? (await this.#live()) ?? /** @type {Engine} */ (this.#engine),
            changeNumbers: async () => (bare ? lostChangeNumbers(/** @type {any} */ (this.#storage)) : this.#changeNumbersAfter()),
            newEngine: (staged) => new Engine(wasmModule, { storage: staged, label: `${label} (import)` }),
            migrations: this.#options.migrations(),
            ...captureOptions(this.#capture),
            hold: () => this.#holdToReplaceLog(),
            unused: ifNew ? () => this.#usedError() : undefined,
            replaced: () => this.#restartAfterImport(),
            progress,
            log: (...args) => console.error(`[dosql] ${label}:`, ...args),
          }),
        { lost: bare !== null, branch: ifNew },
      );
      return toResponse(answer);
    } catch (err) {
      // A branch's file is another database of ours failing to send it: ours, not a caller's body.
      return toResponse(this.#failure(ifNew && err instanceof BodyReadError ? err.cause : err));
    }
  }

  /** An engine never opened, for what needs no database (routes, file headers). */
  #bareEngine() {
    return new Engine(wasmModule, { storage: this.#storage, label: this.#options.label() });
  }

  /**
   * How the events of a database replacing this one are numbered: after every event of
   * this one (C reads its log), or the failure. Called holding the gate.
   * @returns {Promise<import('../wasm/host.js').ChangeNumbers | EngineResponse>}
   */
  async #changeNumbersAfter() {
    const failure = await this.#live();
    if (failure) return failure;
    const numbers = await /** @type {Engine} */ (this.#engine).request('POST', '/changes/replaced', new Uint8Array(0), { internal: true });
    return numbers.status === 200 ? valueOf(numbers) : numbers;
  }

  /**
   * run() as the one import in progress (a file, or a branch's pages: both replace the
   * database), once the engine has started; else discard() throws its incoming pages away.
   * With lost, a start that fails because the database's cold data is lost does not stop it;
   * with branch, run() makes a branch, which finding another in progress does not make.
   * @param {() => Promise<void>} discard
   * @param {(progress: import('./file-import.js').ImportProgress) => Promise<EngineResponse>} run
   * @param {{lost?: boolean, branch?: boolean}} [options]
   * @returns {Promise<EngineResponse>}
   */
  async #oneImport(discard, run, { lost = false, branch = false } = {}) {
    if (this.#importing) {
      await discard();
      return branch
        ? hostError('BRANCH_EXISTS', 'the branch was not made: the database it would be is being written (an import or another branch into it has not answered yet); choose another name, or retry once that has answered')
        : hostError('IMPORT_IN_PROGRESS', 'another import into this database is in progress; wait for its answer');
    }
    // Claimed before the first await, so two imports never both pass the check.
    const progress = { receivedBytes: 0, stagedPages: 0 };
    this.#importing = progress;
    try {
      const failure = await this.start();
      if (failure && !(lost && isLost(failure))) {
        await discard();
        return failure;
      }
      return await run(progress);
    } finally {
      this.#importing = null;
    }
  }

  /**
   * What C reads of a request to a route the host serves (its method, body and
   * points), starting the engine if need be: the value, or the answer to give.
   * @param {string} method @param {string} path @param {Uint8Array | {oversized: number}} body
   * @param {{overRpc?: boolean}} [options]  as Engine.request's
   * @returns {Promise<{value: any, failure?: undefined} | {failure: EngineResponse}>}
   */
  async #hostCheck(method, path, body, options) {
    const failure = await this.start();
    if (failure) return { failure };
    // Queued, fetching what it faults on: /restore's check reads the change log then and now.
    const check = await /** @type {Engine} */ (this.#engine).request(method, path, body, { internal: true, overRpc: options?.overRpc });
    if (check.status !== 200) return { failure: check };
    return { value: JSON.parse(decoder.decode(check.body)) };
  }

  /**
   * POST /restore {to}: the whole database back as it was at a point of history (C
   * reads the point), as one new commit of the pages that differ, so a restore can
   * itself be undone. Holds the gate: after any open transaction, before the next
   * request. The change log goes back with the database, so change streams end.
   * @param {string} method @param {Uint8Array | {oversized: number}} body
   * @returns {Promise<EngineResponse>}
   */
  async #restore(method, body) {
    const release = await this.#holdToReplaceLog();
    try {
      const check = await this.#hostCheck(method, '/restore', body);
      if (check.failure) return check.failure;
      const { to, before, changes } = check.value;
      // C says whether the point would start with this deployment's migrations.
      const migrations = await this.#hostCheck('POST', '/restore/check', encoder.encode(JSON.stringify({ migrations: this.#options.migrations(), asOf: to.lsn })));
      if (migrations.failure) return migrations.failure;
      const storage = /** @type {Required<import('../wasm/host.js').StorageAdapter> & {restoreBatch: (lsn: number) => {batch: import('../wasm/host.js').CommitBatch, faults: number[]},
        commit: (batch: import('../wasm/host.js').CommitBatch, alongside: () => void) => void}} */ (this.#storage);
      let plan = storage.restoreBatch(to.lsn);
      // Pages only in the cold tier are fetched first; each round promotes whole groups.
      for (let round = 0; plan.faults.length > 0; round++) {
        if (round === MAX_RESTORE_ROUNDS) return hostError('FAULT_LIMIT', `restoring took more than ${MAX_RESTORE_ROUNDS} rounds of cold-tier fetches; try again`);
        await storage.prefetch(plan.faults, storage.readAhead ?? OPEN_READ_AHEAD);
        plan = storage.restoreBatch(to.lsn);
      }
      // The point's change log comes back with its pages; C says how events go on.
      storage.commit(plan.batch, () => storage.renumberChanges(changes));
      this.#feed.endAll('DATABASE_RESTORED', `the database was restored to lsn ${to.lsn}, its change log with it: reload, then subscribe again`);
      this.#dropEngine();
      const restarted = await this.start();
      if (restarted) return restarted;
      this.#retention?.committed();
      const history = await /** @type {Engine} */ (this.#engine).request('GET', '/history', new Uint8Array(0));
      if (history.status !== 200) return history;
      const { current } = JSON.parse(decoder.decode(history.body));
      return jsonResponse(200, { restoredTo: to, before, current, pagesWritten: plan.batch.pages.length });
    } finally {
      release();
    }
  }

  /**
   * POST /branch {name, from?}: a new database holding this one as of a point (C reads
   * the request; durable-object/branch.js makes it). It writes another database, so C
   * refuses it over HTTP (overRpc false): a Worker may forward those for one tenant.
   * @param {string} method @param {Uint8Array | {oversized: number}} body @param {boolean} overRpc
   * @returns {Promise<EngineResponse>}
   */
  async #branch(method, body, overRpc) {
    const check = await this.#hostCheck(method, '/branch', body, { overRpc });
    // DB() knows no namespace: its class is the user's, which serves no branch's calls
    // (nor has the branch() method C's RPC_ONLY would point to).
    if (!this.#options.namespace && (!check.failure || valueOf(check.failure)?.code === 'RPC_ONLY')) {
      return hostError('BAD_CONFIG', 'a database in a Durable Object class of your own (DB()) cannot make a branch, which needs the calls between databases that defineDoSQL()\'s class serves: use that class, or copy the database as of a point with GET /export?asOf= and POST /import (docs/own-class.md)');
    }
    if (check.failure) return check.failure;
    return branch(check.value, {
      namespace: this.#options.namespace(),
      ctx: this.#options.ctx,
      storage: this.#storage,
      hold: () => this.#gate.hold(),
      holdSharing: async () => {
        const release = await this.#gate.hold();
        this.#sharing++;
        let held = true;
        return () => {
          if (held) this.#sharing--;
          held = false;
          release();
        };
      },
      size: (lsn) => /** @type {Engine} */ (this.#engine).request('GET', '/export', encoder.encode(JSON.stringify({ asOf: String(lsn) })), { internal: true }),
      startsAt: (lsn) => /** @type {Engine} */ (this.#engine).request('POST', '/restore/check',
        encoder.encode(JSON.stringify({ migrations: this.#options.migrations(), asOf: lsn, branch: true })), { internal: true }),
      exportFile: (lsn) => this.#export({ asOf: String(lsn) }),
    });
  }

  /**
   * The branch's side of POST /branch with a cold tier (durable-object/branch.js): the
   * parent's copied pages and shared objects become this database. One at a time with imports.
   * @param {import('./branch.js').BranchManifest} manifest @param {ReadableStream<Uint8Array>} pages
   * @returns {Promise<EngineResponse>}
   */
  async adoptBranch(manifest, pages) {
    // A caller of the binding may send anything: the pages must at least be a stream.
    if (!(pages instanceof ReadableStream)) return hostError('BRANCH_REFUSED', "this is no branch: its pages are not a stream of the branch's pages");
    const label = this.#options.label();
    if (this.#sharing > 0) {
      // Its branch waits, holding this database's gate, for a database that may be
      // waiting for this one (a branch of it into this one): waiting here too would
      // be a cycle nobody leaves.
      await pages.cancel();
      return hostError('BRANCH_BUSY', 'the branch was not made: the database it would be is making a branch of its own, which may be waiting for the database the branch is of; retry once that branch has answered');
    }
    return this.#oneImport(
      () => pages.cancel(),
      async (progress) => {
        const storage = /** @type {TieredPageStorage} */ (this.#storage);
        const self = String(this.#options.ctx?.id);
        return adoptBranch(manifest, pages, {
          storage,
          self,
          keeps: (owner, objects) => (owner === self ? Promise.resolve(storage.keepsFor(self, objects)) : this.#peer(owner).coldObjectsKept(self, objects)),
          header: async (page1) => {
            const engine = /** @type {Engine} */ (this.#engine);
            return engine.fileHeader(page1.subarray(0, engine.contract.fileHeaderBytes), storage.maxImportBytes).answer;
          },
          unused: () => this.#usedError(),
          hold: () => this.#gate.hold(),
          replaced: async () => (await this.#restartAfterImport()) ?? (await this.#checkInternalTables()),
          progress,
          log: (...args) => console.error(`[dosql] ${label}:`, ...args),
        });
      },
      { branch: true },
    );
  }

  /** A database of this class by its id. @param {string} id */
  #peer(id) {
    const namespace = this.#options.namespace?.();
    if (!namespace) throw new Error('no binding of the Worker is this class\'s namespace (DOSQL_DB)');
    return namespace.get(namespace.idFromString(id));
  }

  /** @param {Engine} engine @param {string} sql @returns {Promise<EngineResponse>} */
  #internalQuery(engine, sql) {
    return engine.request('POST', '/query', encoder.encode(JSON.stringify({ sql })), { internal: true });
  }

  /**
   * Null when this database is new, so that a branch may replace it (branch.js
   * usedError()), else why not: asked by the database a branch is made from, and at
   * the branch's swap.
   * @returns {Promise<EngineResponse | null>}
   */
  async newDatabaseError() {
    const failure = await this.start();
    if (failure) return failure;
    // Its queries see committed rows only: after an open transaction ends.
    const release = await this.#gate.hold();
    try {
      return await this.#usedError();
    } finally {
      release();
    }
  }

  #usedError() {
    const history = /** @type {any} */ (this.#storage).historyInfo?.() ?? null;
    return usedError((sql) => this.#internalQuery(/** @type {Engine} */ (this.#engine), sql), () => this.#fresh(), history);
  }

  /**
   * Queries of a database that just applied this deployment's migrations to nothing,
   * in memory: what a new database of this class holds. Or why it could not be made.
   * @returns {Promise<{query: (sql: string) => Promise<EngineResponse>, commits: number} | {failure: EngineResponse}>}
   */
  async #fresh() {
    const engine = new Engine(wasmModule, { storage: scratchPages(), label: `${this.#options.label()} (fresh)` });
    const opened = await engine.open(0, captureOptions(this.#capture));
    if (opened.status !== 200) return { failure: opened };
    const migrated = await engine.migrate([...this.#options.migrations()]);
    if (migrated.status !== 200) return { failure: migrated };
    return { query: (sql) => this.#internalQuery(engine, sql), commits: engine.commits };
  }

  /** The engine's check of its internal tables' rows, as an import's (POST /import/check): null, or the failure. */
  async #checkInternalTables() {
    const checked = await /** @type {Engine} */ (this.#engine).request('POST', '/import/check', new Uint8Array(0), { internal: true });
    return checked.status === 200 ? null : checked;
  }

  /**
   * A branch reads these R2 objects of this database (holder: its id): they stay until
   * it releases them. Throws when one is not this database's.
   * @param {string} holder @param {string[]} objects
   */
  async holdColdObjects(holder, objects) {
    (await this.#coldStorage()).hold(holder, objects);
  }

  /**
   * The branch holder says it no longer reads these objects: let go of those it confirms
   * (asked of it: anyone can call this), and delete those nothing references.
   * @param {string} holder @param {string[]} objects
   */
  async releaseColdObjects(holder, objects) {
    const storage = await this.#coldStorage();
    const read = new Set(await this.#holderReads(holder, storage.id, objects));
    storage.release(holder, objects.filter((object) => !read.has(object)));
    this.#maintainInBackground();
  }

  /**
   * Those of objects the database holder still reads, as it says. A holder that is no
   * id of this namespace reads none. @param {string} holder @param {string} self @param {string[]} objects
   * @returns {Promise<string[]>}
   */
  async #holderReads(holder, self, objects) {
    let stub;
    try {
      stub = this.#peer(holder);
    } catch {
      return [];
    }
    return stub.coldObjectsRead(self, objects);
  }

  /** Owner's side, asked by a branch: whether these are this database's objects, kept for holder. @param {string} holder @param {string[]} objects */
  async coldObjectsKept(holder, objects) {
    return (await this.#coldStorage()).keepsFor(holder, objects);
  }

  /**
   * Holder's side, asked by owner before it lets them go: those of objects this database
   * still reads. Never waits for the gate (the holder may be waiting on owner holding it).
   * @param {string} owner @param {string[]} objects @returns {Promise<string[]>}
   */
  async coldObjectsRead(owner, objects) {
    const storage = this.#storage instanceof TieredPageStorage ? this.#storage : await this.#coldStorage();
    return storage.stillReads(owner, objects);
  }

  /** The started storage, which must have a cold tier. @returns {Promise<TieredPageStorage>} */
  async #coldStorage() {
    const failure = await this.start();
    if (failure) throw startFailure('the cold tier', failure);
    if (!(this.#storage instanceof TieredPageStorage)) throw new Error(`${this.#options.label()} has no cold tier, so it shares no R2 objects`);
    return this.#storage;
  }

  /**
   * Hold the gate for a restore or an import, which replace the change log: first the
   * live subscribers are sent what was committed before (ChangeFeed.flush).
   * @returns {Promise<() => void>}  releases the gate
   */
  async #holdToReplaceLog() {
    const release = await this.#gate.hold();
    // The engine as it is (no start: one that is not running has sent its subscribers nothing).
    const engine = this.#started ? this.#engine : null;
    if (engine) await this.#feed.flush((body) => engine.request('POST', '/changes', encoder.encode(JSON.stringify(body)), { internal: true }));
    return release;
  }

  /**
   * An import swapped the pages (the gate is held): end the change streams,
   * whose cursors point into the old log, and start a fresh engine on the new
   * pages before any request runs.
   * @returns {Promise<EngineResponse | null>}  null, or the failure of the start
   */
  async #restartAfterImport() {
    this.#feed.endAll('DATABASE_REPLACED', 'the database was replaced (by an import, or a branch made into it), and its change log with it: reload, then subscribe again');
    this.#dropEngine();
    const failure = await this.start();
    this.#retention?.committed();
    return failure;
  }

  /**
   * Storage upkeep between requests (the cold tier: demote pages over the hot
   * budget, delete unreferenced R2 objects). Resolves when it is done; throws
   * when it failed (nothing is lost: the next run goes on).
   * @returns {Promise<void>}
   */
  async maintainStorage() {
    const failure = await this.start();
    if (failure) throw startFailure('maintainStorage()', failure);
    await this.#storage?.maintain?.(() => this.#gate.hold());
  }

  /** maintainStorage(), not awaited: a request never waits for upkeep. */
  #maintainInBackground() {
    if (!this.#storage?.maintain) return;
    this.maintainStorage().catch((err) => console.error(`[dosql] ${this.#options.label()}: storage upkeep failed (a later request retries it):`, err));
  }

  /**
   * When the engine's memory grew past RECYCLE_MEMORY_BYTES in use, replace it with a
   * fresh one, holding the gate (so after any open transaction, and before the
   * next request), in the background.
   */
  #recycleIfBloated() {
    const engine = this.#engine;
    if (!engine || this.#recycling || engine.memoryBytes <= RECYCLE_MEMORY_BYTES + engine.contract.heapGrowAheadBytes) return;
    this.#recycling = true;
    const recycle = async () => {
      const release = await this.#gate.hold();
      try {
        if (this.#engine !== engine) return; // replaced meanwhile (an import, a failure)
        this.#dropEngine();
        await this.start();
      } finally {
        release();
        this.#recycling = false;
      }
    };
    recycle().catch((err) => console.error(`[dosql] ${this.#options.label()}: starting a smaller engine failed (the next request retries):`, err));
  }

  /**
   * One request through the gate: its answer at once when the gate gives it at once.
   * @param {string} method
   * @param {string} path
   * @param {import('./transaction-gate.js').Body | Promise<import('./transaction-gate.js').Body>} body
   * @param {string | null} txId
   * @param {{internal?: boolean}} [options]
   * @returns {EngineResponse | Promise<EngineResponse>}
   */
  #request(method, path, body, txId, options) {
    return this.#throughEngine(() => this.#gate.request(method, path, body, txId, options));
  }

  /**
   * Call into the engine (call reads this.#engine when it runs), at once when it
   * answers at once. When the call broke it, the next request starts a fresh one
   * (and the open transaction, gone with it, ends). A call the engine refused
   * because an earlier one broke it (a request waiting behind that one) ran
   * nothing: it goes again on a fresh engine.
   * @param {() => EngineResponse | Promise<EngineResponse>} call
   * @returns {EngineResponse | Promise<EngineResponse>}
   */
  #throughEngine(call) {
    /** @type {EngineResponse | Promise<EngineResponse>} */
    let answer;
    try {
      answer = call();
    } catch (err) {
      return this.#engineFailed(err, call);
    }
    return answer instanceof Promise ? answer.catch((err) => this.#engineFailed(err, call)) : answer;
  }

  /**
   * What #throughEngine answers when call failed with err: call again on a fresh
   * engine, the request's own error, or err thrown on.
   * @param {unknown} err @param {() => EngineResponse | Promise<EngineResponse>} call
   * @returns {EngineResponse | Promise<EngineResponse>}
   */
  #engineFailed(err, call) {
    if (err instanceof EngineBrokenError && err.refused) {
      return this.#live().then((failure) => failure ?? this.#throughEngine(call));
    }
    if (this.#engine?.broken) {
      this.#forget(); // start a fresh instance next time
      this.#gate.abort(`the engine failed: ${messageOf(err)}`);
    }
    // A failure of the request's own making (its SQL ran the stack out) is its answer.
    if (err instanceof EngineBrokenError && err.code) return hostError(err.code, err.message);
    throw err;
  }

  /**
   * Peak wasm memory, page faults served, the storage adapter's counts, the
   * change feed's subscribers, and how far an import in progress has come.
   * Opens the database first if need be.
   * @returns {Promise<{wasmMemoryBytes: number, faults: number, storage: Record<string, number>, subscribers: {streams: number, sockets: number}, importing: import('./file-import.js').ImportProgress | null}>}
   */
  async stats() {
    const failure = await this.start();
    if (failure) throw startFailure('stats()', failure);
    const engine = /** @type {Engine} */ (this.#engine);
    return {
      wasmMemoryBytes: engine.memoryBytes,
      faults: engine.faults,
      storage: { .../** @type {any} */ (this.#storage).stats },
      subscribers: this.#feed.subscribers,
      importing: this.#importing && { ...this.#importing },
    };
  }

  /**
   * The retention alarm: prune the change log (through the gate, like any
   * request) and set the next alarm if the log will need one. Does nothing
   * while capture is off. Throws when it fails (the platform retries alarms).
   * @returns {Promise<import('../changes/retention.js').PruneResult | null>}  the last
   *   prune's answer, null with capture off
   */
  async pruneChanges() {
    const failure = await this.start();
    if (failure) throw startFailure('pruneChanges()', failure);
    return this.#retention ? this.#retention.alarm() : null;
  }

  /**
   * A WebSocket subscriber's socket closed or failed (the object's
   * webSocketClose / webSocketError): forget it.
   * @param {WebSocket} ws
   */
  dropSocket(ws) {
    this.#feed.dropSocket(ws);
  }

  /**
   * Answer a request as GET or POST /subscribe, whatever its path: a stream of
   * changes, a WebSocket, or an error (the change feed's).
   * @param {Request} request
   * @returns {Promise<Response>}
   */
  async subscribe(request) {
    try {
      // Here, not in fetch(): DB()'s serveSubscribe() reaches it without fetch().
      const refused = (await refusedWithBody(request, '/subscribe')) ?? (await this.#refuseHostRequest(request, '/subscribe'));
      if (refused) return refused;
      if (this.#capture === false) {
        request.body?.cancel().catch(() => {});
        return toResponse(hostError('NOT_FOUND', 'change streams are off for this database (its settings say changes: false)'));
      }
      // The contract's, not this.#engine's: a restore or import may have dropped the engine meanwhile.
      const maxBytes = shippedContract().maxRequestBytes;
      // The engine is asked once the body is in: it may have broken meanwhile.
      const ask = async (/** @type {string} */ method, /** @type {import('./transaction-gate.js').Body} */ body) =>
        (await this.#live()) ?? /** @type {Engine} */ (this.#engine).hostRequest(method, '/subscribe', body);
      return await this.#feed.subscribe(request, () => readBody(request, maxBytes), ask);
    } catch (err) {
      return toResponse(this.#failure(err));
    }
  }

  /**
   * After a request: if anything committed since the last look, wake the feed
   * and make pruning due (but not for the prune's own commit: the alarm that
   * ran it sets the next one).
   * @param {{byPrune?: boolean}} [options]
   */
  #noticeCommits({ byPrune = false } = {}) {
    // None between a drop and the start after it: the drop noticed the old one's.
    if (!this.#engine) return;
    const commits = this.#engine.commits;
    if (commits === this.#commitsSeen) return;
    this.#commitsSeen = commits;
    this.#feed.notify();
    if (!byPrune) this.#retention?.committed();
  }

  /**
   * Open and migrate, once (shared by concurrent callers; again after a failure
   * or after the engine broke).
   * @returns {Promise<EngineResponse | null>}  null when ready, else the failure
   */
  start() {
    if (!this.#ready) {
      // Only this start's outcome may change the state: a later one may have begun.
      const ready = this.#startExclusive().then(
        (failure) => {
          if (this.#ready === ready) {
            if (failure) this.#forget();
            else this.#started = true;
          }
          // Every request answers it (a failed migration, a database that will not open),
          // and the next tries again: the log says why, where the developer looks.
          if (failure) {
            const { error, code } = valueOf(failure);
            console.error(`[dosql] ${this.#options.label()}: the database did not start (${failure.status} ${code}): ${error}`);
          }
          return failure;
        },
        (err) => {
          if (this.#ready === ready) this.#forget();
          throw err;
        },
      );
      this.#ready = ready;
    }
    return this.#ready;
  }

  /**
   * A live engine: a fresh one when the last broke (one start, shared by every
   * caller: the broken engine is forgotten once, unless the call that broke it did).
   * @returns {Promise<EngineResponse | null>}  null once this.#engine is live, else the start's failure
   */
  #live() {
    if (this.#engine?.broken && this.#started) this.#forget();
    return this.start();
  }

  /**
   * The engine goes, and the next start makes another (a restore, an import, a
   * recycle, each holding the gate): what it committed is noticed first, since a
   * request it answered may reach #afterRequest only after the drop.
   */
  #dropEngine() {
    this.#noticeCommits();
    this.#engine = null;
    this.#forget();
  }

  /** The next request starts the engine afresh. */
  #forget() {
    this.#ready = null;
    this.#started = false;
  }

  /** @returns {Promise<EngineResponse | null>} */
  async #startExclusive() {
    const exclusive = this.#options.exclusive ?? ((fn) => fn());
    /** @type {EngineResponse | null} */
    let failure = null;
    /** @type {unknown} */
    let error;
    let threw = false;
    await exclusive(async () => {
      try {
        failure = await this.#openAndMigrate();
      } catch (err) {
        threw = true;
        error = err;
      }
    });
    if (threw) throw error;
    return failure;
  }

  /**
   * Create the storage adapter and engine (once; the engine again after it
   * broke), open the database and apply the migrations.
   * @returns {Promise<EngineResponse | null>}  null on success, else the failure
   */
  async #openAndMigrate() {
    const options = this.#options;
    /** @type {number} */
    let pageSize;
    /** @type {number} */
    let cpuBudgetMs;
    /** @type {ReturnType<typeof checkChanges>} */
    let changes;
    try {
      pageSize = options.pageSize();
      cpuBudgetMs = options.cpuBudgetMs?.() ?? 0;
      changes = checkChanges(options.changes?.());
      options.migrations(); // checked here, where a mistake is BAD_CONFIG
    } catch (err) {
      return hostError('BAD_CONFIG', messageOf(err));
    }
    if (!this.#storage) {
      /** @type {import('../storage/tiered.js').ColdSettings | undefined} */
      let cold;
      try {
        cold = checkCold(options.cold?.());
      } catch (err) {
        return hostError('BAD_CONFIG', `the cold tier is misconfigured: ${messageOf(err)}`);
      }
      /** @type {ReturnType<typeof checkHistory>} */
      let history;
      try {
        history = checkHistory(options.history?.());
      } catch (err) {
        return hostError('BAD_CONFIG', `history is misconfigured: ${messageOf(err)}`);
      }
      const warn = (/** @type {unknown[]} */ ...args) => console.warn(`[dosql] ${options.label()}:`, ...args);
      /** @type {SqlPageStorage | TieredPageStorage | KvPageStorage} */
      let storage;
      let coldWithout = false;
      try {
        storage = this.#pageStorage(cold, history, warn);
        // Without its cold tier such a database would read its R2 pages as missing.
        coldWithout = storage instanceof SqlPageStorage && hasColdPages(storage);
      } catch (err) {
        const failed = storageFailedAtStart(err);
        console.error(`[dosql] ${options.label()}:`, err);
        return hostError(failed.code, failed.message);
      }
      if (coldWithout) {
        return hostError('BAD_CONFIG', 'this database keeps pages in R2, but no cold tier is configured: restore the cold setting and its R2 bucket binding');
      }
      this.#storage = storage;
    }
    if (!this.#engine || this.#engine.broken) {
      this.#engine = new Engine(wasmModule, { storage: this.#storage, label: options.label() });
    }
    // Every open reads page 1 and the schema right after it: fetch them up front
    // instead of through a fault (a no-op for SQLite-backed storage).
    try {
      await this.#storage.prefetch([1], OPEN_READ_AHEAD);
    } catch (err) {
      const failed = storageFailedAtStart(err);
      return hostError(failed.code, failed.message);
    }
    const openOptions = { ...captureOptions(changes), cpuBudgetMs };
    const opened = await this.#engine.open(pageSize, openOptions);
    if (opened.status !== 200) return opened;
    /** @type {EngineResponse} */
    let migrated;
    try {
      migrated = await this.#engine.migrate([...options.migrations()]);
    } catch (err) {
      if (err instanceof EngineBrokenError && err.code) {
        return hostError('MIGRATION_FAILED', `${await this.#breakingMigration(pageSize, openOptions, options.migrations())} failed: ${err.message}`);
      }
      throw err;
    }
    if (migrated.status !== 200) return migrated;
    this.#capture = changes;
    this.#retention = changes === false ? null : (this.#retention ?? this.#newRetention(changes));
    // What start-up wrote needs no notice; the next commit arms the alarm.
    this.#commitsSeen = this.#engine.commits;
    return null;
  }

  /**
   * Which migration broke the engine (a statement nested past its stack), found by
   * applying them again one at a time on a fresh engine, which breaks on that one:
   * those before it are applied, each in its own commit, so the next start skips them.
   * @param {number} pageSize @param {object} openOptions  as the start opened its engine
   * @param {readonly import('../wasm/engine.js').Migration[]} migrations
   * @returns {Promise<string>}  "migration <name>", or "the migrations" when none broke it again
   */
  async #breakingMigration(pageSize, openOptions, migrations) {
    const probe = new Engine(wasmModule, { storage: /** @type {import('../wasm/host.js').StorageAdapter} */ (this.#storage), label: this.#options.label() });
    if ((await probe.open(pageSize, openOptions)).status !== 200) return 'the migrations';
    for (const migration of migrations) {
      try {
        if ((await probe.migrate([migration])).status !== 200) break;
      } catch {
        return `migration ${migration.name}`;
      }
    }
    return 'the migrations';
  }

  /**
   * The storage adapter of this object's storage and settings (createPageStorage).
   * Throws when storage fails as it is read.
   * @param {import('../storage/tiered.js').ColdSettings | undefined} cold
   * @param {ReturnType<typeof checkHistory>} history @param {(...args: unknown[]) => void} warn
   */
  #pageStorage(cold, history, warn) {
    const options = this.#options;
    if (cold && !hasSql(options.storage)) {
      // The guide binds a bucket to a key-value class: it keeps working, hot only.
      warn('the cold tier (R2) needs a SQLite-backed class (new_sqlite_classes in the wrangler migrations); this key-value object keeps every page in its own storage');
      cold = undefined;
    }
    // Branches share R2 objects with the other databases of the namespace.
    const namespace = options.namespace?.();
    if (cold && namespace) cold = { ...cold, peers: peersIn(namespace, String(options.ctx.id)) };
    return createPageStorage(options.storage, { cacheBytes: options.cacheBytes, onTornWrite: options.onTornWrite, cold, history, log: warn });
  }

  /** @param {import('../changes/retention.js').RetentionSettings} settings */
  #newRetention(settings) {
    return new Retention({
      settings,
      storage: this.#options.storage,
      prune: async (body) => {
        const answer = await this.#request('POST', '/changes/prune', body, null, { internal: true });
        this.#noticeCommits({ byPrune: true });
        return answer;
      },
      log: (...args) => console.error(`[dosql] ${this.#options.label()}:`, ...args),
    });
  }
}

/**
 * The page storage adapter for a Durable Object's ctx.storage: SQLite-backed when
 * the class has SQL storage (with an R2 cold tier behind it when configured),
 * else key-value. The one place the backend is chosen.
 * @param {any} storage  ctx.storage
 * @param {object} [options]
 * @param {number} [options.cacheBytes]  key-value backend only
 * @param {(reason: string) => void} [options.onTornWrite]  key-value backend only
 * @param {import('../storage/tiered.js').ColdSettings} [options.cold]  SQLite-backed only
 * @param {ReturnType<typeof checkHistory>} [options.history]  SQLite-backed only
 * @param {(...args: unknown[]) => void} [options.log]
 * @returns {SqlPageStorage | TieredPageStorage | KvPageStorage}
 */
function createPageStorage(storage, { cacheBytes, onTornWrite, cold, history, log } = {}) {
  if (hasSql(storage)) {
    const hot = new SqlPageStorage(storage, { tuning: history });
    return cold ? new TieredPageStorage(hot, { ...cold, log }) : hot;
  }
  return new KvPageStorage(storage, { cacheBytes, onTornWrite });
}

/** hasSql's answer for each ctx.storage it was asked of. @type {WeakMap<object, boolean>} */
const sqlEnabled = new WeakMap();

/**
 * A start's failure, thrown by a method that answers no request (stats(), the cold
 * tier's upkeep): the DoSQLError its answer is, code and status kept.
 * @param {string} what  what could not run @param {EngineResponse} failure
 */
function startFailure(what, failure) {
  return errorAnswer(what, failure.status, decoder.decode(failure.body));
}

/**
 * Whether ctx.storage has a working SQL API. On key-value classes `storage.sql`
 * exists but every use of it throws (NO_SQL), so run the cheapest statement, once per storage (workerd computes
 * `databaseSize` afresh at each read, several times the cost of `SELECT 1`).
 * Any other failure is storage failing as the object starts, a StorageError (503,
 * retry), never taken for a key-value class: the empty key-value storage of a
 * SQLite-backed object would be served in its database's place, and the writes
 * made there lost at the next start.
 * @param {any} storage
 */
export function hasSql(storage) {
  let enabled = sqlEnabled.get(storage);
  if (enabled === undefined) {
    enabled = sqlAnswers(storage);
    if (storage && typeof storage === 'object') sqlEnabled.set(storage, enabled);
  }
  return enabled;
}

/** What workerd says of SQL on a key-value class, as its releases word it. Another
 *  wording would fail such a class's start loudly (STORAGE_UNAVAILABLE), never serve
 *  one database in another's place. */
const NO_SQL = /SQL is not enabled for this Durable Object|not backed by SQLite storage/i;

/** hasSql's question, asked. @param {any} storage */
function sqlAnswers(storage) {
  try {
    if (typeof storage?.sql?.exec !== 'function') return false;
    storage.sql.exec('SELECT 1');
    return true;
  } catch (err) {
    if (NO_SQL.test(messageOf(err))) return false;
    throw storageFailedAtStart(err);
  }
}

/** A failure of the platform's storage as the object starts: 503, to retry. @param {unknown} err */
function storageFailedAtStart(err) {
  if (err instanceof StorageError) return err;
  return new StorageError('STORAGE_UNAVAILABLE', `the database's storage failed as the object started (reading its pages or setting up the tables that hold them): ${messageOf(err)}; retry`, { cause: err });
}

/**
 * Whether this looks like a Durable Object's ctx.storage (either backend).
 * @param {any} storage
 */
export function isDurableObjectStorage(storage) {
  // A stub answers every name (bindings.js): its sql.exec() would be a call to another Worker.
  if (!storage || typeof storage !== 'object' || answersEveryName(storage)) return false;
  // A key-value one's transaction() is what an R2 bucket or a KV namespace lacks.
  return hasSql(storage) || hasMethods(storage, ['get', 'put', 'delete', 'list', 'transaction']);
}

