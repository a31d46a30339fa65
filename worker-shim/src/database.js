// database.js — the Durable Object class: one object is one database.
//
// Thin on purpose: the engine (C) owns routing, SQL, limits and every error of the
// wire protocol; transactions.js owns the interactive transactions' policy (who
// waits, txIds, idle timers); this class owns start-up and the one catch boundary.
//
// Start-up follows cloudflare/actors: initialise lazily, once, inside
// blockConcurrencyWhile (so two first requests never migrate twice), but catch
// failures inside the gate and rethrow them outside it: a throw inside the gate
// would reset the object, and a failure kept on the instance would stick. The
// start promise is dropped on failure, so the next request tries again.

import { DurableObject } from 'cloudflare:workers';
import wasmModule from '../dist/dosql.wasm';
import { Engine } from './engine.js';
import { errorResponse, toResponse } from './response.js';
import { TRANSACTION_HEADER, TransactionGate } from './transactions.js';
import { SqlPageStorage } from './storage-sql.js';
import { KvPageStorage } from './storage-kv.js';

/** @typedef {import('./engine.js').Migration} Migration */
/** @typedef {import('./engine.js').EngineResponse} EngineResponse */

/** Pages fetched before opening a database whose storage can fault. */
const OPEN_READ_AHEAD = 64;

export class DoSQLDatabase extends DurableObject {
  /** Migrations applied on the first request, in order. @type {readonly Migration[]} */
  static migrations = Object.freeze([]);
  /** Page size of a new database (0: the engine's default). @type {number | undefined} */
  static pageSize = undefined;
  /** Page cache budget of the key-value backend (bytes). @type {number | undefined} */
  static cacheBytes = undefined;

  /** @type {Engine | null} */
  #engine = null;
  /** @type {import('./host.js').StorageAdapter | null} */
  #storage = null;
  /** Resolves to null once open and migrated, or to the failure to answer with. */
  #ready = /** @type {Promise<EngineResponse | null> | null} */ (null);
  /** Every request after start-up goes through it (one open transaction at a time). */
  #gate = new TransactionGate({
    engine: () => /** @type {Engine} */ (this.#engine),
    log: (...args) => console.error(`[dosql] ${this.#label()}:`, ...args),
  });

  /**
   * Answer one request of the wire protocol. Every failure of the shim itself is
   * answered here as 500 {error, code: "INTERNAL"}; all other errors come from C.
   * @param {Request} request
   * @returns {Promise<Response>}
   */
  async fetch(request) {
    try {
      const failure = await this.#start();
      if (failure) return toResponse(failure);
      const engine = /** @type {Engine} */ (this.#engine);
      // The gate takes the request's place in line now; the body follows.
      const body = readBody(request, engine.maxRequestBytes);
      body.catch(() => {}); // awaited by the gate; never an unhandled rejection
      const txId = request.headers.get(TRANSACTION_HEADER);
      const response = await this.#gate.request(request.method, new URL(request.url).pathname, body, txId);
      return toResponse(response);
    } catch (err) {
      if (this.#engine?.broken) {
        this.#ready = null; // start a fresh instance next time
        this.#gate.abort(`the engine failed: ${messageOf(err)}`);
      }
      console.error(`[dosql] ${this.#label()}:`, err);
      return toResponse(errorResponse(500, messageOf(err), 'INTERNAL'));
    }
  }

  /**
   * Numbers for monitoring and benchmarks, over RPC (`await stub.stats()`):
   * the engine's peak memory, page faults served, and the storage adapter's
   * counts of rows (SQLite-backed) or keys (key-value) read and written, which
   * is what the platform bills. Opens the database first if need be.
   * @returns {Promise<{wasmMemoryBytes: number, faults: number, storage: Record<string, number>}>}
   */
  async stats() {
    const failure = await this.#start();
    if (failure) throw new Error(new TextDecoder().decode(failure.body));
    const engine = /** @type {Engine} */ (this.#engine);
    return {
      wasmMemoryBytes: engine.memoryBytes,
      faults: engine.faults,
      storage: { .../** @type {any} */ (this.#storage).stats },
    };
  }

  /** @returns {Promise<EngineResponse | null>} */
  #start() {
    this.#ready ??= this.#startGated().then(
      (failure) => {
        if (failure) this.#ready = null;
        return failure;
      },
      (err) => {
        this.#ready = null;
        throw err;
      },
    );
    return this.#ready;
  }

  /** @returns {Promise<EngineResponse | null>} */
  async #startGated() {
    /** @type {EngineResponse | null} */
    let failure = null;
    /** @type {unknown} */
    let error;
    let threw = false;
    await this.ctx.blockConcurrencyWhile(async () => {
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
    const cls = /** @type {typeof DoSQLDatabase} */ (this.constructor);
    const env = /** @type {Record<string, unknown>} */ (this.env ?? {});
    const pageSize = parsePageSize(env.DOSQL_PAGE_SIZE ?? cls.pageSize ?? 0);
    this.#storage ??= this.#createStorage(cls.cacheBytes);
    if (!this.#engine || this.#engine.broken) {
      this.#engine = new Engine(wasmModule, { storage: this.#storage, label: this.#label() });
    }
    // Every open reads page 1 and the schema right after it: fetch them up front
    // instead of through a fault (a no-op for SQLite-backed storage).
    await this.#storage.prefetch([1], OPEN_READ_AHEAD);
    const opened = await this.#engine.open(pageSize);
    if (opened.status !== 200) return opened;
    const migrated = await this.#engine.migrate([...cls.migrations]);
    if (migrated.status !== 200) return migrated;
    return null;
  }

  /**
   * The SQLite-backed adapter when this class has SQL storage, else key-value.
   * @param {number | undefined} cacheBytes
   */
  #createStorage(cacheBytes) {
    if (hasSql(this.ctx.storage)) return new SqlPageStorage(this.ctx.storage);
    return new KvPageStorage(this.ctx.storage, {
      cacheBytes,
      onTornWrite: (reason) => this.ctx.abort(reason),
    });
  }

  #label() {
    let id = '?';
    try {
      id = String(this.ctx.id);
    } catch {
      // keep '?'
    }
    return `${this.constructor.name} ${id}`;
  }
}

/**
 * A DoSQLDatabase class that applies these migrations on each object's first
 * request. Export the result under the class name your wrangler config binds.
 *
 * @param {object} [options]
 * @param {Migration[]} [options.migrations]  in order, e.g. the default export of
 *   the module that bin/bundle-migrations.mjs writes
 * @param {number} [options.pageSize]  page size of new databases (bytes)
 * @param {number} [options.cacheBytes]  page cache budget of the key-value backend
 * @returns {typeof DoSQLDatabase}
 */
export function defineDoSQL({ migrations = [], pageSize, cacheBytes } = {}) {
  const list = checkMigrations(migrations);
  const Base = DoSQLDatabase;
  return class DoSQLDatabase extends Base {
    static migrations = list;
    static pageSize = pageSize;
    static cacheBytes = cacheBytes;
  };
}

/**
 * @param {unknown} migrations
 * @returns {readonly Migration[]}
 */
function checkMigrations(migrations) {
  if (!Array.isArray(migrations)) throw new TypeError('migrations must be an array of {name, sql}');
  const seen = new Set();
  return Object.freeze(
    migrations.map((m, i) => {
      if (!m || typeof m.name !== 'string' || typeof m.sql !== 'string' || m.name === '') {
        throw new TypeError(`migration ${i} must be {name: string, sql: string}`);
      }
      if (seen.has(m.name)) throw new TypeError(`migration ${m.name} is listed twice`);
      seen.add(m.name);
      return Object.freeze({ name: m.name, sql: m.sql });
    }),
  );
}

/**
 * Whether ctx.storage has a working SQL API. On key-value classes `storage.sql`
 * exists but every use of it throws ("SQL is not enabled for this Durable Object
 * class"), so probe a cheap property.
 * @param {any} storage
 */
function hasSql(storage) {
  try {
    return typeof storage.sql?.exec === 'function' && typeof storage.sql.databaseSize === 'number';
  } catch {
    return false;
  }
}

/**
 * The page size setting as a number. Which sizes are valid is the engine's
 * rule (it answers BAD_CONFIG); here only a value that is not a number fails.
 * @param {unknown} value
 */
function parsePageSize(value) {
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0 && n <= 0xffffffff) return n;
  throw new Error(`DOSQL_PAGE_SIZE must be a whole number of bytes (or 0 for the default); got ${JSON.stringify(value)}`);
}

/**
 * Read a request body, but never more than max bytes of it: past that (by the
 * declared Content-Length or by counting), answer {oversized: n} so C says 413.
 * @param {Request} request
 * @param {number} max
 * @returns {Promise<Uint8Array | {oversized: number}>}
 */
async function readBody(request, max) {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > max) {
    request.body?.cancel().catch(() => {});
    return { oversized: declared };
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  /** @type {Uint8Array[]} */
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      reader.cancel().catch(() => {});
      return { oversized: total };
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return bytes;
}

/** @param {unknown} err */
function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}
