// durable-object/class.js — the Durable Object class: one object is one database.
//
// Thin on purpose: the engine (C) owns routing, SQL, limits and every error of the
// wire protocol; durable-object/transaction-gate.js owns the interactive transactions' policy (who
// waits, txIds, idle timers); durable-object/instance.js owns the storage adapter, start-up and
// the one request path (shared with DB(), durable-object/embedded.js). This class owns where its
// settings come from, that start-up runs inside blockConcurrencyWhile, and the
// platform's entry points beyond fetch: the alarm that prunes the change log and
// the hibernatable WebSockets of change subscribers (docs/changes.md).
//
// Start-up follows cloudflare/actors: initialise lazily, once, inside
// blockConcurrencyWhile (so two first requests never migrate twice), but catch
// failures inside the gate and rethrow them outside it (durable-object/instance.js).

import { DurableObject } from 'cloudflare:workers';
import { answerOf, statements, toRpcError } from '../client/client.js';
import { DatabaseInstance, checkMigrations } from './instance.js';
import { messageOf } from './response.js';
import { checkChanges } from '../changes/retention.js';

/** @typedef {import('../wasm/engine.js').Migration} Migration */

export class DoSQLDatabase extends DurableObject {
  /** Migrations applied on the first request, in order. @type {readonly Migration[]} */
  static migrations = Object.freeze([]);
  /** Page size of a new database (0: the engine's default). @type {number | undefined} */
  static pageSize = undefined;
  /** Page cache budget of the key-value backend (bytes). @type {number | undefined} */
  static cacheBytes = undefined;
  /**
   * Change capture: false (off), or its retention {retainEvents?, retainMs?};
   * undefined: on, with the default retention.
   * @type {false | {retainEvents?: number, retainMs?: number} | undefined}
   */
  static changes = undefined;
  /**
   * The R2 cold tier (storage/tiered.js): `binding` names the R2 bucket in env;
   * undefined: every page stays in the object's own storage.
   * @type {{binding: string, hotBytes?: number, groupPages?: number} | undefined}
   */
  static cold = undefined;
  /** Each request's CPU budget (ms; docs/protocol.md, "Limits"); undefined: the engine's default. @type {number | undefined} */
  static cpuBudgetMs = undefined;

  #instance = new DatabaseInstance({
    storage: this.ctx.storage,
    ctx: this.ctx,
    // The DOSQL_CHANGES var ("off") turns capture off without code (the standalone worker).
    changes: () => {
      const env = /** @type {Record<string, unknown>} */ (this.env ?? {});
      return env.DOSQL_CHANGES === 'off' ? false : /** @type {typeof DoSQLDatabase} */ (this.constructor).changes;
    },
    migrations: () => /** @type {typeof DoSQLDatabase} */ (this.constructor).migrations,
    pageSize: () => {
      const cls = /** @type {typeof DoSQLDatabase} */ (this.constructor);
      const env = /** @type {Record<string, unknown>} */ (this.env ?? {});
      return parsePageSize(env.DOSQL_PAGE_SIZE ?? cls.pageSize ?? 0);
    },
    cacheBytes: /** @type {typeof DoSQLDatabase} */ (this.constructor).cacheBytes,
    // The DOSQL_CPU_BUDGET_MS var sets it without code (the standalone worker).
    cpuBudgetMs: () => Number((this.env ?? {}).DOSQL_CPU_BUDGET_MS ?? /** @type {typeof DoSQLDatabase} */ (this.constructor).cpuBudgetMs ?? 0),
    cold: () => coldSettings(/** @type {typeof DoSQLDatabase} */ (this.constructor).cold, this.env ?? {}, this.ctx),
    label: () => this.#label(),
    exclusive: (fn) => this.ctx.blockConcurrencyWhile(fn),
    onTornWrite: (reason) => this.ctx.abort(reason),
  });

  /**
   * Answer one request of the wire protocol (durable-object/instance.js: the one request path).
   * @param {Request} request
   * @returns {Promise<Response>}
   */
  fetch(request) {
    return this.#instance.fetch(request);
  }

  // ---- Workers RPC (README "Workers RPC") -----------------------------------------
  //
  // The protocol's requests as methods of the stub, beside fetch. Values cross
  // as themselves (BigInt, Uint8Array, ±Infinity); an error crosses as an
  // Error whose message carries its code and status (client/client.js fromRpcError).
  // A request of an open transaction names it: {transaction: txId}.

  /**
   * One request of the wire protocol, its answer as fetch gives it: the status
   * and the JSON text (values tagged, errors as {error, code, ...}), which
   * getDB() and toD1() read exactly as they read a fetch (client/client.js sendTo).
   * @param {string} path  e.g. "/query"
   * @param {unknown} body
   * @param {string | null} [txId]
   * @returns {Promise<{status: number, text: string}>}
   */
  request(path, body, txId = null) {
    return this.#instance.call(path, body, txId);
  }

  /** @param {string} sql @param {unknown} [params] @param {{transaction?: string}} [options] */
  query(sql, params, options) {
    return this.#statement(options, (s) => s.query(sql, params));
  }

  /** @param {string} sql @param {unknown} [params] @param {{transaction?: string}} [options] */
  queryOne(sql, params, options) {
    return this.#statement(options, (s) => s.queryOne(sql, params));
  }

  /** @param {string} sql @param {unknown} [params] @param {{transaction?: string}} [options] */
  run(sql, params, options) {
    return this.#statement(options, (s) => s.run(sql, params));
  }

  /** @param {(string | {sql: string, params?: unknown})[]} list @param {{transaction?: string}} [options] */
  batch(list, options) {
    return this.#statement(options, (s) => s.batch(list));
  }

  /** @param {string} sql @param {{transaction?: string}} [options] */
  exec(sql, options) {
    return this.#statement(options, (s) => s.exec(sql));
  }

  /**
   * Open an interactive transaction (docs/transactions.md): {txId, timeoutMs}.
   * @param {{timeoutMs?: number}} [options]
   */
  begin(options = {}) {
    return this.#statement(undefined, (_, send) => send('/begin', options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }, null));
  }

  /** @param {string} txId */
  async commit(txId) {
    await this.#statement(undefined, (_, send) => send('/commit', {}, txId));
  }

  /** @param {string} txId */
  async rollback(txId) {
    await this.#statement(undefined, (_, send) => send('/rollback', {}, txId));
  }

  /**
   * @template T
   * @param {{transaction?: string} | undefined} options
   * @param {(s: ReturnType<typeof statements>, send: import('../client/client.js').Send) => Promise<T>} fn
   * @returns {Promise<T>}
   */
  async #statement(options, fn) {
    const send = async (/** @type {string} */ path, /** @type {unknown} */ body, /** @type {string | null} */ txId) => {
      const { status, text } = await this.#instance.call(path, body, txId);
      return answerOf(path, status, text);
    };
    try {
      return await fn(statements(send, options?.transaction ?? null), send);
    } catch (err) {
      throw toRpcError(err);
    }
  }

  /**
   * Numbers for monitoring and benchmarks, over RPC (`await stub.stats()`):
   * the engine's peak memory, page faults served, and the storage adapter's
   * counts of rows (SQLite-backed) or keys (key-value) read and written, which
   * is what the platform bills. Opens the database first if need be.
   * @returns {Promise<{wasmMemoryBytes: number, faults: number, storage: Record<string, number>}>}
   */
  stats() {
    return this.#instance.stats();
  }

  /**
   * Storage upkeep, over RPC: with a cold tier, move the least recently used
   * pages over the hot budget to R2 and delete R2 objects nothing references.
   * It runs by itself after requests; await this to know it has finished.
   * @returns {Promise<void>}
   */
  maintainStorage() {
    return this.#instance.maintainStorage();
  }

  /**
   * Prunes the change log to the class's retention and sets the next alarm when
   * the log will need one. A subclass that defines alarm() calls super.alarm().
   * @returns {Promise<void>}
   */
  async alarm() {
    try {
      await this.#instance.pruneChanges();
    } catch (err) {
      console.error(`[dosql] ${this.#label()}: the alarm that prunes the change log failed (it will be retried):`, err);
      throw err;
    }
  }

  /**
   * Subscribers send nothing but `ping`, which the runtime answers without
   * waking the object; anything else is ignored.
   * @param {WebSocket} _ws
   * @param {string | ArrayBuffer} _message
   */
  webSocketMessage(_ws, _message) {}

  /**
   * A subscriber's WebSocket closed: forget it.
   * @param {WebSocket} ws
   */
  webSocketClose(ws) {
    this.#instance.dropSocket(ws);
  }

  /**
   * A subscriber's WebSocket failed: forget it.
   * @param {WebSocket} ws
   * @param {unknown} error
   */
  webSocketError(ws, error) {
    console.warn(`[dosql] ${this.#label()}: a change subscriber's WebSocket failed: ${messageOf(error)}`);
    this.#instance.dropSocket(ws);
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
 * @param {false | {retainEvents?: number, retainMs?: number}} [options.changes]
 *   change capture (docs/changes.md): false turns it off; else how much of the
 *   log to keep (default 10,000 events, 7 days)
 * @param {{binding: string, hotBytes?: number, groupPages?: number}} [options.cold]
 *   the R2 cold tier: the name of the R2 bucket binding, the hot tier's budget
 *   (bytes, default 1 GiB) and pages per R2 object (default 64); SQLite-backed
 *   classes only
 * @param {number} [options.cpuBudgetMs]  each request's CPU budget (ms, default
 *   3000, at most 300000); a request over it answers 400 CPU_LIMIT
 * @returns {typeof DoSQLDatabase}
 */
export function defineDoSQL({ migrations = [], pageSize, cacheBytes, changes, cold, cpuBudgetMs } = {}) {
  const list = checkMigrations(migrations);
  const retention = checkChanges(changes);
  if (cold !== undefined && (typeof cold !== 'object' || cold === null || typeof cold.binding !== 'string' || cold.binding === '')) {
    throw new TypeError('cold must be {binding: "<R2 bucket binding name>", hotBytes?, groupPages?}');
  }
  const Base = DoSQLDatabase;
  return class DoSQLDatabase extends Base {
    static migrations = list;
    static pageSize = pageSize;
    static cacheBytes = cacheBytes;
    static changes = retention;
    static cold = cold ? Object.freeze({ ...cold }) : undefined;
    static cpuBudgetMs = cpuBudgetMs;
  };
}

/**
 * The cold tier's settings: the class's, or the vars DOSQL_COLD_BUCKET (the
 * binding's name), DOSQL_HOT_BYTES and DOSQL_GROUP_PAGES (the standalone
 * worker); undefined without either. Checked when the storage is made.
 * @param {{binding: string, hotBytes?: number, groupPages?: number} | undefined} cold
 * @param {Record<string, any>} env
 * @param {DurableObjectState} ctx
 */
function coldSettings(cold, env, ctx) {
  const fromVars = env.DOSQL_COLD_BUCKET
    ? { binding: String(env.DOSQL_COLD_BUCKET), hotBytes: numberVar(env.DOSQL_HOT_BYTES), groupPages: numberVar(env.DOSQL_GROUP_PAGES) }
    : undefined;
  const settings = cold ?? fromVars;
  if (!settings) return undefined;
  const bucket = env[settings.binding];
  if (!bucket) {
    throw new TypeError(`env.${settings.binding} is missing: add an [[r2_buckets]] binding named "${settings.binding}" to the wrangler config`);
  }
  return { ...settings, bucket, prefix: `dosql/${ctx.id}/` };
}

/**
 * A numeric var (vars are strings), undefined when unset; checkCold says what
 * is wrong with a bad one.
 * @param {unknown} value
 */
function numberVar(value) {
  return value === undefined || value === '' ? undefined : Number(value);
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
