// wasm/engine.js — the one JS wrapper of dosql.wasm's exports (src/api.h).
//
// EXPORT_NAMES must match wasm/exports.txt (tests/worker/abi.test.js checks both
// against the built module). Everything else the wrapper must know of C (the
// response layout, flags, limits, error statuses) it reads from the module's
// contract (wasm/contract.js). One Engine is one instance of the module, one open
// database, and one storage adapter.
//
// Memory: C allocates what C reads (dosql_alloc); we free in `finally`; a view of
// linear memory is made after each call into C and dropped before the next.
//
// Faults: a storage adapter that cannot give a page synchronously makes C roll the
// request back and answer DOSQL_STATUS_FAULT with the missing pages. The engine
// asks the adapter to fetch them (with a read-ahead window that doubles on each
// fault, and goes on doubling for a fault within FAULT_WINDOW_KEEP_MS of one that
// aborted a transaction) and calls again with the same arguments, a bounded number of times —
// unless C's fault answer carries the final answer too (a request of the open
// interactive transaction, which C rolled back: 503 TRANSACTION_ABORTED,
// docs/transactions.md); then the pages are fetched and that is the answer.
//
// Commits: the engine counts the commits that reached storage (the host's commit
// import), so its owner can tell that a request changed the database without
// parsing answers (durable-object/instance.js wakes the change feed with it, docs/changes.md).
//
// Calls are serialized FIFO: only one call into C runs at a time, and a faulting
// request's retries are never interleaved with another request's statements.

import { ABI_VERSION, contractOf, hostError } from './contract.js';
import { StorageError, createImports } from './host.js';
import { jsonResponse, valueOf } from '../durable-object/response.js';
import { DEFAULT_READ_AHEAD, DEFAULT_MAX_READ_AHEAD, DEFAULT_MAX_FAULTS, FAULT_WINDOW_KEEP_MS, SPARE_DELAY_MS, SPARE_HEAP_BYTES } from '../config.js';

/** Exported functions, as listed in wasm/exports.txt (plus `memory`). */
export const EXPORT_NAMES = Object.freeze([
  '_initialize',
  'dosql_contract',
  'dosql_alloc',
  'dosql_free',
  'dosql_open',
  'dosql_migrate',
  'dosql_request',
  'dosql_file_header',
]);

const encoder = new TextEncoder();

/** Each module's methods and route paths as UTF-8, by its contract. @type {WeakMap<object, Map<string, Uint8Array>>} */
const encodedNames = new WeakMap();

/**
 * @typedef {object} Instantiated
 * @property {Record<string, any>} exports
 * @property {WebAssembly.Memory} memory
 * @property {import('./host.js').HostBinding} host  what its imports call; the Engine sets storage, label, onCommit
 * @property {number | undefined} stackTop  where the C stack pointer starts (none in a module that does not export it)
 */

/** Bytes of {"migrations":[ and ]} around a call's migrations. */
const MIGRATE_OVERHEAD = 20;

/** {"migrations":[...]} of migrations already encoded one by one. @param {Uint8Array[]} parts */
function joinMigrations(parts) {
  const head = encoder.encode('{"migrations":[');
  const body = new Uint8Array(head.length + parts.reduce((n, p) => n + p.length + 1, 0) + 1);
  body.set(head, 0);
  let at = head.length;
  parts.forEach((part, i) => {
    if (i > 0) body[at++] = 0x2c; // ,
    body.set(part, at);
    at += part.length;
  });
  body[at++] = 0x5d; // ]
  body[at++] = 0x7d; // }
  return body.subarray(0, at);
}

/** What an instance's storage is until an Engine takes it: C reads no page before dosql_open. */
const UNBOUND = /** @type {import('./host.js').StorageAdapter} */ (/** @type {unknown} */ ({}));

/**
 * A new instance of module, initialised (its C constructors run), not yet bound to
 * any storage.
 * @param {WebAssembly.Module} module @returns {Instantiated}
 */
function instantiate(module) {
  /** @type {WebAssembly.Memory | undefined} */
  let memory;
  const host = { getMemory: () => /** @type {WebAssembly.Memory} */ (memory), storage: UNBOUND };
  const { exports } = new WebAssembly.Instance(module, createImports(host));
  const missing = [...EXPORT_NAMES, 'memory'].filter((name) => !(name in exports));
  if (missing.length) {
    throw new EngineStartError(`dosql.wasm lacks the exports ${missing.join(', ')}: rebuild it with ./build.sh wasm`);
  }
  memory = /** @type {WebAssembly.Memory} */ (exports.memory);
  exports._initialize();
  return { exports, memory, host, stackTop: exports.__stack_pointer?.value };
}

const STACK_LIMIT_MESSAGE =
  'the statement nests deeper than the engine\'s stack allows (such as views over thousands of views, a LIKE or ' +
  'GLOB pattern of thousands of wildcards, or JSON nested thousands deep): simplify it. The engine restarted, ' +
  'and a transaction open on this database was rolled back';

/**
 * Whether err, thrown by a call into the module, is a stack running out: V8's own
 * (wasm frames are on it), or the C stack, which comes first in linear memory
 * (wasm/link.flags), so running out wraps the stack pointer below address 0 and
 * the next access traps, leaving the pointer above where it starts.
 * @param {Error} err @param {Record<string, any>} exports @param {number | undefined} stackTop
 */
function stackRanOut(err, exports, stackTop) {
  if (err instanceof RangeError && /call stack/i.test(err.message)) return true;
  const pointer = exports.__stack_pointer?.value;
  return err instanceof WebAssembly.RuntimeError && stackTop !== undefined && typeof pointer === 'number' && pointer >>> 0 > stackTop;
}

/**
 * One instance of each module made ahead of need, so that the next Engine (an object
 * starting in an isolate that already ran one) does not wait for instantiation: in
 * workerd that was about half a millisecond of each start in a running isolate.
 * @type {WeakMap<WebAssembly.Module, Instantiated>}
 */
const spares = new WeakMap();

/** @param {WebAssembly.Module} module @returns {Instantiated | undefined} */
function takeSpare(module) {
  const spare = spares.get(module);
  spares.delete(module);
  return spare;
}

/** Engines made in this isolate so far (makeSpareSoon). */
let enginesMade = 0;

/**
 * Make module's spare SPARE_DELAY_MS after now, its heap warmed, unless there is one
 * or another engine was made since: called once an engine's first answer is ready, so
 * the few milliseconds it takes do not hold that answer up on its way out, nor the
 * start of another object (which asks for one in turn when it answers). A module that
 * cannot be instantiated makes none: the next Engine reports why.
 * @param {WebAssembly.Module} module
 */
function makeSpareSoon(module) {
  const made = enginesMade;
  setTimeout(() => {
    if (spares.has(module) || enginesMade !== made) return;
    try {
      const spare = instantiate(module);
      warmHeap(spare, SPARE_HEAP_BYTES);
      spares.set(module, spare);
    } catch {
      // The next Engine's own instantiate() throws the same error, with its context.
    }
  }, SPARE_DELAY_MS);
}

/**
 * Grow instance's heap by bytes and write to all of it, then give it back to malloc,
 * which keeps it (wasm memory never shrinks): the first write to a page of new memory
 * faults it in, which at a start in a running isolate was about 7% of the start.
 * @param {Instantiated} instance @param {number} bytes
 */
function warmHeap({ exports, memory }, bytes) {
  const at = exports.dosql_alloc(bytes);
  if (!at) return;
  new Uint8Array(memory.buffer, at, bytes).fill(0);
  exports.dosql_free(at);
}

/** @typedef {import('../durable-object/response.js').EngineResponse} EngineResponse */

/**
 * @typedef {object} Migration
 * @property {string} name  the file name, e.g. "001_init.sql"
 * @property {string} sql
 */

/** Thrown when the module cannot be used at all (wrong ABI, missing export). */
export class EngineStartError extends Error {
  name = 'EngineStartError';
}

/**
 * An exception escaped from inside the module (a trap) or from the host while C
 * was running. The instance's state is unknown afterwards: the engine refuses
 * further calls, and its owner starts a new one (storage is intact, since commits
 * are atomic).
 */
export class EngineBrokenError extends Error {
  name = 'EngineBrokenError';

  /**
   * @param {string} message
   * @param {{cause?: unknown, code?: string, refused?: boolean}} [options]  code: the error
   *   to answer with (contract.js), when the failure was the request's own doing, not a
   *   bug; refused: the engine had broken before this call, which so ran nothing
   */
  constructor(message, { cause, code, refused = false } = {}) {
    super(message, { cause });
    /** @type {string | undefined} */
    this.code = code;
    this.refused = refused;
  }
}

export class Engine {
  /** @type {Record<string, any>} */
  #exports;
  /** @type {WebAssembly.Memory} */
  #memory;
  /** @type {number | undefined} */
  #stackTop;
  /** @type {import('./host.js').StorageAdapter} */
  #storage;
  /** @type {import('./contract.js').Contract} */
  #contract;
  /** @type {Set<string> | null} */
  #hostPaths = null;
  #readAhead;
  #maxReadAhead;
  #maxFaults;
  /** @type {Error | null} */
  #broken = null;
  /** Tail of the FIFO queue of calls, and how many calls are in it. */
  #tail = Promise.resolve();
  #queued = 0;
  /** Faults served since start (for tests and stats). */
  #faults = 0;
  /** The window a fault fetches with soon after one aborted a transaction, and when
   *  that one came (Date.now(): it moves with each fetch). */
  #window = 0;
  #windowAt = -Infinity;
  /** Commits written to storage since start. */
  #commits = 0;
  /** The module, until this engine's first answer asks for its next spare. @type {WebAssembly.Module | null} */
  #spareOf = null;

  /**
   * Instantiate the module and initialise it. Synchronous: `module` is compiled.
   *
   * @param {WebAssembly.Module} module  dosql.wasm, compiled
   * @param {object} options
   * @param {import('./host.js').StorageAdapter} options.storage
   * @param {string} [options.label]  names the object in logs
   * @param {number} [options.readAhead]  first fault window (pages); default the
   *   storage adapter's `readAhead`, else 64
   * @param {number} [options.maxReadAhead]  largest fault window (pages); default
   *   the storage adapter's `maxReadAhead`, else 4096
   * @param {number} [options.maxFaults]  faults one call may take before 503
   */
  constructor(module, { storage, label = 'dosql', readAhead, maxReadAhead, maxFaults } = /** @type {any} */ ({})) {
    if (!(module instanceof WebAssembly.Module)) {
      throw new EngineStartError('dosql.wasm was not given as a compiled WebAssembly.Module: import it with `import wasm from "./dosql.wasm"` (the bundler\'s CompiledWasm rule)');
    }
    this.#storage = storage;
    this.#readAhead = readAhead ?? storage.readAhead ?? DEFAULT_READ_AHEAD;
    this.#maxReadAhead = maxReadAhead ?? storage.maxReadAhead ?? DEFAULT_MAX_READ_AHEAD;
    this.#maxFaults = maxFaults ?? DEFAULT_MAX_FAULTS;

    enginesMade++;
    const { exports, memory, host, stackTop } = takeSpare(module) ?? instantiate(module);
    host.storage = storage;
    host.label = label;
    host.onCommit = () => {
      this.#commits++;
    };
    this.#exports = exports;
    this.#memory = memory;
    this.#stackTop = stackTop;
    this.#contract = contractOf(module, exports, memory);
    const { abi } = this.#contract;
    if (abi !== ABI_VERSION) {
      throw new EngineStartError(`dosql.wasm speaks ABI version ${abi} but this worker-shim speaks ${ABI_VERSION}: rebuild the module and the shim from the same commit`);
    }
    this.#spareOf = module;
  }

  /** What the module says of itself (wasm/contract.js). */
  get contract() {
    return this.#contract;
  }

  /**
   * Whether the host serves path itself (its route is "host" in the contract).
   * @param {string} path
   */
  isHostRoute(path) {
    this.#hostPaths ??= new Set(this.#contract.routes.filter((r) => r.host).map((r) => r.path));
    return this.#hostPaths.has(path);
  }

  /** The largest request body the engine accepts (bytes). */
  get maxRequestBytes() {
    return this.#contract.maxRequestBytes;
  }

  /** The error that broke this instance, or null while it is usable. */
  get broken() {
    return this.#broken;
  }

  /**
   * Refuse every later call (EngineBrokenError, refused), so that the host starts a
   * fresh engine on storage and sends them there: for a state of C's that no request
   * can leave (a transaction it failed to roll back). Nothing it did not commit is lost.
   * @param {string} why
   */
  retire(why) {
    this.#broken ??= new Error(why);
  }

  /** Page faults served since the engine started. */
  get faults() {
    return this.#faults;
  }

  /**
   * Commits written to storage since the engine started. A request committed
   * when this changed across it (or across any requests, for their batch).
   */
  get commits() {
    return this.#commits;
  }

  /** Bytes of linear memory: wasm memory never shrinks, so this is the peak. */
  get memoryBytes() {
    return this.#memory.buffer.byteLength;
  }

  /**
   * Open the database (page size applies only to a new, empty database; 0 picks
   * the engine's default). With captureChanges every committed row change is
   * also written to the change log (docs/changes.md), only for captureTables
   * when given (C checks the list). cpuBudgetMs is each request's CPU budget
   * (0: the engine's default; C checks the range).
   * @param {number} [pageSize]
   * @param {{captureChanges?: boolean, captureTables?: unknown, cpuBudgetMs?: number}} [options]
   * @returns {Promise<EngineResponse>}  200 {pageSize, pageCount} (the database
   *   as stored) or an error
   */
  open(pageSize = 0, { captureChanges = false, captureTables, cpuBudgetMs = 0 } = {}) {
    const flags = captureChanges ? this.#contract.openFlags.captureChanges : 0;
    const budget = Math.min(Math.max(Math.trunc(cpuBudgetMs) || 0, 0), 0xffffffff) >>> 0;
    // One step of the queue: nothing runs between the open and the list of tables.
    return this.#serialize(async () => {
      const opened = await this.#withFaults((e) => this.#take(e.dosql_open(pageSize >>> 0, flags, budget)));
      if (opened.status !== 200) return opened;
      this.#storage.sized?.(valueOf(opened));
      if (!captureChanges || captureTables === undefined) return opened;
      const zMethod = this.#utf8('POST');
      const zPath = this.#utf8('/changes/capture');
      const body = encoder.encode(JSON.stringify({ tables: captureTables }));
      const limited = await this.#withBytes([zMethod, zPath, body], ([pMethod, pPath, pBody]) =>
        this.#withFaults((e) => this.#take(e.dosql_request(pMethod, zMethod.length, pPath, zPath.length, pBody, body.length, this.#contract.requestFlags.internal))),
      );
      return limited.status === 200 ? opened : limited;
    });
  }

  /**
   * Check the header of a SQLite file given to import (src/fileformat.h):
   * C's answer, 200 {pageSize, pageCount} or an IMPORT_* error, and the
   * header as C left it: rewritten for storage when pageCount > 0 (the
   * file's real page count, known once it has all arrived). Synchronous and
   * stateless, so it needs no place in the queue.
   * @param {Uint8Array} header  the file's first bytes (up to 100)
   * @param {number} maxBytes  the largest file the storage takes
   * @param {number} [pageCount]
   * @returns {{answer: EngineResponse, header: Uint8Array}}
   */
  fileHeader(header, maxBytes, pageCount = 0) {
    const copy = header.slice();
    const answer = this.#withBytesSync([header], ([p]) => {
      const a = this.#take(this.#exports.dosql_file_header(p, header.length, maxBytes, pageCount >>> 0));
      copy.set(new Uint8Array(this.#memory.buffer, p, header.length));
      return a;
    });
    return { answer, header: copy };
  }

  /**
   * Apply migrations in order (C skips those already applied, checking checksums).
   * @param {Migration[]} migrations
   * @returns {Promise<EngineResponse>}  200 {applied: [...]} or an error naming the file
   */
  async migrate(migrations) {
    // As few calls as the engine's request limit allows: one, unless they are large.
    const limit = this.maxRequestBytes - MIGRATE_OVERHEAD;
    /** @type {string[]} */
    const applied = [];
    /** @type {Uint8Array[]} */
    let chunk = [];
    /** @type {string[]} */
    let names = [];
    let bytes = 0;
    const flush = async () => {
      if (chunk.length === 0) return null;
      const body = joinMigrations(chunk);
      const sent = names;
      chunk = [];
      names = [];
      bytes = 0;
      const answer = await this.#submit([body], (e, [pBody]) => e.dosql_migrate(pBody, body.length));
      if (answer.status === 200) {
        applied.push(...valueOf(answer).applied);
        return null;
      }
      // C names the migration that failed; a failure of the host around it (FAULT_LIMIT,
      // CPU_LIMIT) would read as the request's own: it was the migrations' check.
      const { error, code } = valueOf(answer);
      if (typeof code === 'string' && code.startsWith('MIGRATION_')) return answer;
      return jsonResponse(answer.status, { error: `checking and applying the migrations (${sent.join(', ')}) failed before this request ran: ${error}`, code });
    };
    for (const { name, sql } of migrations) {
      const one = encoder.encode(JSON.stringify({ name, sql }));
      if (one.length > limit) {
        return hostError('MIGRATION_FAILED', `migration ${name} failed: it is ${one.length} bytes as JSON, more than the ${limit} one call of the engine reads: split it into several migrations`, this.#contract);
      }
      if (bytes + one.length + 1 > limit) {
        const failed = await flush();
        if (failed) return failed;
      }
      chunk.push(one);
      names.push(name);
      bytes += one.length + 1;
    }
    return (await flush()) ?? jsonResponse(200, { applied });
  }

  /**
   * Ask C about a request to a route the host serves itself (streams, file
   * transfer): 200 with what C read of the body ({} for a route without one),
   * or C's error (404, 405, a bad body). Synchronous, and so it takes no place
   * in the queue: only for a check that reads no page (a check that does, such
   * as POST /restore's and GET /export's, goes as request() with internal, which
   * fetches what it faults on).
   * @param {string} method
   * @param {string} path
   * @param {Uint8Array | {oversized: number}} [body]
   * @returns {EngineResponse}
   */
  hostRequest(method, path, body = new Uint8Array(0)) {
    const zMethod = this.#utf8(method);
    const zPath = this.#utf8(path);
    const bytes = body instanceof Uint8Array ? body : new Uint8Array(0);
    const n = body instanceof Uint8Array ? body.length : Math.min(Math.max(body.oversized, 0), 0xffffffff) >>> 0;
    return this.#withBytesSync([zMethod, zPath, bytes], ([pMethod, pPath, pBody]) =>
      this.#take(this.#exports.dosql_request(pMethod, zMethod.length, pPath, zPath.length, body instanceof Uint8Array ? pBody : 0, n,
        this.#contract.requestFlags.internal)),
    );
  }

  /**
   * Answer one request of the wire protocol.
   *
   * With inTransaction the request belongs to the open interactive transaction
   * (docs/transactions.md): a page fault then rolls the whole transaction back in
   * C, which answers with the pages to fetch (so that a retry of the transaction
   * finds them) and 503 TRANSACTION_ABORTED.
   *
   * @param {string} method
   * @param {string} path  e.g. "/query"
   * @param {Uint8Array | {oversized: number}} body  the body, or the length of one
   *   too large to read (C answers 413)
   * @param {{inTransaction?: boolean, internal?: boolean, overRpc?: boolean}} [options]  internal: the
   *   shim's own request, which may use internal endpoints (never a client's); overRpc:
   *   asked by Workers RPC (or a call inside the object), not over the object's HTTP
   *   protocol: only then may a route write another database (src/api.h)
   * @returns {Promise<EngineResponse>}
   */
  request(method, path, body, options = {}) {
    try {
      return Promise.resolve(this.answer(method, path, body, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * request(), answered at once when it can be: the response itself when nothing is
   * queued before it and C answers without a page to wait for (every request of a
   * SQLite-backed object, whose storage reads synchronously), else its promise. A
   * failure of the call throws (EngineBrokenError) rather than rejects. Callers on
   * the request path take either, so that an answer ready at once is not held up by
   * a promise at every layer (tests/bench/request-path.md).
   * @param {string} method @param {string} path @param {Uint8Array | {oversized: number}} body
   * @param {{inTransaction?: boolean, internal?: boolean, overRpc?: boolean}} [options]  as request()'s
   * @returns {EngineResponse | Promise<EngineResponse>}
   */
  answer(method, path, body, options = {}) {
    const answer = this.#request(method, path, body, options);
    const spareOf = this.#spareOf;
    if (spareOf) {
      this.#spareOf = null;
      const askForSpare = () => makeSpareSoon(spareOf);
      if (answer instanceof Promise) answer.then(askForSpare, askForSpare);
      else askForSpare();
    }
    return answer;
  }

  /** answer() itself. @param {string} method @param {string} path
   *  @param {Uint8Array | {oversized: number}} body @param {{inTransaction?: boolean, internal?: boolean, overRpc?: boolean}} options
   *  @returns {EngineResponse | Promise<EngineResponse>} */
  #request(method, path, body, { inTransaction = false, internal = false, overRpc = false }) {
    const zMethod = this.#utf8(method);
    const zPath = this.#utf8(path);
    const { requestFlags } = this.#contract;
    const flags = (inTransaction ? requestFlags.inTransaction : 0) | (internal ? requestFlags.internal : 0)
      | (overRpc ? requestFlags.overRpc : 0);
    const flagsOf = (/** @type {boolean} */ retry) => flags | (retry ? requestFlags.retry : 0);
    if (!(body instanceof Uint8Array)) {
      // Any length past 32 bits is still too large: clamp, never wrap.
      const n = Math.min(Math.max(body.oversized, 0), 0xffffffff) >>> 0;
      return this.#submit([zMethod, zPath], (e, [pMethod, pPath], retry) =>
        e.dosql_request(pMethod, zMethod.length, pPath, zPath.length, 0, n, flagsOf(retry)),
      );
    }
    return this.#submit([zMethod, zPath, body], (e, [pMethod, pPath, pBody], retry) =>
      e.dosql_request(pMethod, zMethod.length, pPath, zPath.length, pBody, body.length, flagsOf(retry)),
    );
  }

  /**
   * Copy arrays in and call C with their pointers, in turn with every other
   * call (#serialize), fetching pages while it faults (#withFaults). When
   * nothing is queued the first attempt runs at once, synchronously: most
   * requests end there, answered at once, and only one that faults waits in the
   * queue for storage (its promise is answered then).
   * @param {Uint8Array[]} arrays
   * @param {(exports: Record<string, any>, pointers: number[], retry: boolean) => number} call  a response
   *   pointer; retry: a call again after a fault's pages were fetched
   * @returns {EngineResponse | Promise<EngineResponse>}
   */
  #submit(arrays, call) {
    if (this.#queued > 0) {
      return this.#serialize(() => this.#withBytes(arrays, (pointers) => this.#withFaults((e, retry) => this.#take(call(e, pointers, retry)))));
    }
    const pointers = this.#copyIn(arrays);
    if (!Array.isArray(pointers)) return pointers;
    const attempt = (/** @type {Record<string, any>} */ e, /** @type {boolean} */ retry) => this.#take(call(e, pointers, retry));
    /** @type {EngineResponse} */
    let first;
    try {
      first = this.#call((e) => attempt(e, false));
    } catch (err) {
      this.#freeAll(pointers);
      throw err;
    }
    if (first.status !== this.#contract.response.fault) {
      this.#freeAll(pointers);
      this.#storage.settle?.();
      return first;
    }
    return this.#serialize(() => this.#withFaults(attempt, first).finally(() => this.#freeAll(pointers)));
  }

  /**
   * A method or path as UTF-8: the routes' own (and GET, POST) encoded once a module.
   * @param {string} name
   */
  #utf8(name) {
    let names = encodedNames.get(this.#contract);
    if (!names) {
      const all = ['GET', 'POST', ...this.#contract.routes.map((r) => r.path)];
      names = new Map(all.map((n) => [n, encoder.encode(n)]));
      encodedNames.set(this.#contract, names);
    }
    return names.get(name) ?? encoder.encode(name);
  }

  /**
   * Run fn after every call queued before it (FIFO), and before any queued after.
   * @template T
   * @param {() => Promise<T>} fn
   * @returns {Promise<T>}
   */
  #serialize(fn) {
    const run = this.#tail.then(fn);
    this.#queued++;
    const settled = () => {
      this.#queued--;
    };
    this.#tail = run.then(settled, settled);
    return run;
  }

  /**
   * Copy byte arrays into memory C allocates, run fn with their pointers, free
   * them. The pointers stay valid across fault retries (growth moves no data).
   * @template T
   * @param {Uint8Array[]} arrays
   * @param {(pointers: number[]) => Promise<T>} fn
   * @returns {Promise<T>}
   */
  async #withBytes(arrays, fn) {
    const pointers = this.#copyIn(arrays);
    if (!Array.isArray(pointers)) return /** @type {any} */ (pointers);
    try {
      return await fn(pointers);
    } finally {
      this.#freeAll(pointers);
    }
  }

  /**
   * #withBytes for a synchronous fn.
   * @template T
   * @param {Uint8Array[]} arrays
   * @param {(pointers: number[]) => T} fn
   * @returns {T}
   */
  #withBytesSync(arrays, fn) {
    const pointers = this.#copyIn(arrays);
    if (!Array.isArray(pointers)) return /** @type {any} */ (pointers);
    try {
      return fn(pointers);
    } finally {
      this.#freeAll(pointers);
    }
  }

  /**
   * Copy the arrays, one after another, into one block C allocates (at least
   * one byte, so an empty body is a real pointer and not NULL): one call into
   * C for the lot, and one to free it.
   * @param {Uint8Array[]} arrays
   * @returns {number[] | EngineResponse}  each array's pointer (the first is
   *   the block's), or the error to answer
   */
  #copyIn(arrays) {
    let total = 0;
    for (const bytes of arrays) total += bytes.length;
    const block = this.#call((e) => e.dosql_alloc(Math.max(total, 1))) >>> 0;
    if (block === 0) {
      return hostError('HEAP_LIMIT', `the engine could not allocate ${total} bytes for the request`, this.#contract);
    }
    const memory = new Uint8Array(this.#memory.buffer);
    /** @type {number[]} */
    const pointers = [];
    let at = block;
    for (const bytes of arrays) {
      pointers.push(at);
      memory.set(bytes, at);
      at += bytes.length;
    }
    return pointers;
  }

  /** @param {number[]} pointers  from #copyIn */
  #freeAll(pointers) {
    // After a trap the heap is not to be trusted: leave it to the next instance.
    if (!this.#broken) this.#call((e) => e.dosql_free(pointers[0]));
  }

  /**
   * Call into C; on a FAULT response fetch the pages it names and call again,
   * or, when C gave the final answer with the pages (it rolled the open
   * transaction back), fetch them and give that answer.
   * @param {(exports: Record<string, any>, retry: boolean) => EngineResponse} attempt  retry: every
   *   call after the first
   * @param {EngineResponse} [first]  the answer of a first attempt made already
   * @returns {Promise<EngineResponse>}
   */
  async #withFaults(attempt, first) {
    // A fault soon after one that aborted a transaction goes on from its window: the
    // transaction is retried by its client as a new request, which otherwise fetched
    // its pages DEFAULT_READ_AHEAD at a time, one abort each.
    let window = Date.now() - this.#windowAt < FAULT_WINDOW_KEEP_MS ? this.#window : this.#readAhead;
    try {
      for (let nFault = 0; ; nFault++) {
        const response = nFault === 0 && first ? first : this.#call((e) => attempt(e, nFault > 0));
        if (response.status !== this.#contract.response.fault) return response;
        const { pages, ...final } = valueOf(response);
        if (nFault >= this.#maxFaults && !final.code) {
          return hostError(
            'FAULT_LIMIT',
            `the request still needed pages that storage could not give at once (${pages.slice(0, 8).join(', ')}) after ${nFault} reads: ` +
              'those it read stay cached as far as cacheBytes holds them, so the same request again may get further; else split it into smaller requests, or raise cacheBytes',
            this.#contract,
          );
        }
        this.#faults++;
        const failure = await this.#fetch(pages, window);
        window = Math.min(window * 2, this.#maxReadAhead);
        if (final.code) {
          this.#window = window;
          this.#windowAt = Date.now();
          const error = failure ? `${final.error}; fetching the pages failed too: ${failure.message}` : final.error;
          return jsonResponse(final.status, { error, code: final.code });
        }
        if (failure) return hostError(failure.code, failure.message, this.#contract);
      }
    } finally {
      this.#storage.settle?.();
    }
  }

  /**
   * Fetch the pages of a fault. A StorageError (the cold tier is unreachable,
   * say) is returned, to be answered with its status and code; anything else
   * storage throws is a bug and propagates.
   * @param {number[]} pages
   * @param {number} window
   * @returns {Promise<StorageError | null>}  null once the pages are at hand
   */
  async #fetch(pages, window) {
    try {
      await this.#storage.prefetch(pages, window);
      return null;
    } catch (err) {
      if (err instanceof StorageError) return err;
      throw err;
    }
  }

  /**
   * Make one synchronous call into the module. An exception (a trap, or a bug in
   * the host) breaks this instance for good.
   * @template T
   * @param {(exports: Record<string, any>) => T} fn
   * @returns {T}
   */
  #call(fn) {
    if (this.#broken) {
      throw new EngineBrokenError(`the engine stopped after an earlier failure: ${this.#broken.message}`, { refused: true });
    }
    try {
      return fn(this.#exports);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#broken = error;
      if (stackRanOut(error, this.#exports, this.#stackTop)) {
        throw new EngineBrokenError(STACK_LIMIT_MESSAGE, { cause: error, code: 'STACK_LIMIT' });
      }
      throw new EngineBrokenError(`dosql.wasm failed: ${error.message}`, { cause: error });
    }
  }

  /**
   * Read a response (src/api.h layout) and free it.
   * @param {number} ptr
   * @returns {EngineResponse}
   */
  #take(ptr) {
    ptr >>>= 0;
    if (ptr === 0) {
      return hostError('HEAP_LIMIT', 'the engine ran out of memory building its response', this.#contract);
    }
    try {
      const layout = this.#contract.response;
      const view = new DataView(this.#memory.buffer);
      const status = view.getUint32(ptr + layout.status, true);
      const length = view.getUint32(ptr + layout.length, true);
      const body = new Uint8Array(this.#memory.buffer, ptr + layout.body, length).slice();
      return { status, body };
    } finally {
      this.#exports.dosql_free(ptr);
    }
  }
}
