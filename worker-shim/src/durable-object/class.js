// durable-object/class.js — the Durable Object class: one object is one database.
//
// Thin on purpose: C owns routing, SQL, limits and the protocol's errors;
// transaction-gate.js the interactive transactions; instance.js the storage adapter,
// start-up and the one request path (shared with DB()). This class owns where its
// settings come from, that start-up runs inside blockConcurrencyWhile (so two first
// requests never migrate twice; failures are rethrown outside it, as in
// cloudflare/actors), and the platform's entry points beyond fetch: the alarm that
// prunes the change log and the hibernatable WebSockets of change subscribers.
// Options and methods are documented in index.d.ts (DoSQLOptions, DoSQLDatabase).

import { DurableObject } from 'cloudflare:workers';
import { BEGIN_OPTIONS, DIFF_OPTIONS, SQLITE_FILE_TYPE, answerOfRpc, checkCallOptions, decodeDiff, onAnswer, statementsAtOnce, toRpcError } from '../client/client.js';
import { DatabaseInstance } from './instance.js';
import { checkMigrations } from './migration-list.js';
import { messageOf, rpcAnswer } from './response.js';
import { checkCold } from '../storage/tiered.js';
import { checkChanges } from '../changes/retention.js';
import { checkHistory } from '../storage/sql.js';
import { checkCacheBytes } from '../storage/kv.js';
import { checkKeys } from '../option-keys.js';
import { hasMethods } from '../bindings.js';
import { DoSQLError } from '../client/error.js';

/** @typedef {import('../wasm/engine.js').Migration} Migration */

/** The options of the statement methods (query, queryOne, run, batch, exec). */
const STATEMENT_OPTIONS = Object.freeze(['transaction', 'asOf']);

/**
 * The transaction an RPC call ends: over HTTP its header names it, over RPC the
 * argument, which must be there (what else it may be, instance.js call checks).
 * @param {unknown} txId @param {string} method
 */
function txIdGiven(txId, method) {
  if (txId === undefined || txId === null) {
    throw new DoSQLError(`${method}() needs the transaction's id, the txId begin() answered: stub.${method}(txId)`, { code: 'BAD_REQUEST', status: 400 });
  }
  return /** @type {string} */ (txId);
}

/** Each class's static migrations, checked once. @type {WeakMap<Function, readonly Migration[]>} */
const checkedMigrations = new WeakMap();

/**
 * A class's static migrations, checked as defineDoSQL() checks its list (a subclass of
 * DoSQLDatabase may set them itself); a TypeError naming the class, which the start
 * answers as BAD_CONFIG.
 * @param {typeof DoSQLDatabase} cls @returns {readonly Migration[]}
 */
function staticMigrations(cls) {
  let list = checkedMigrations.get(cls);
  if (list === undefined) {
    try {
      list = checkMigrations(cls.migrations);
    } catch (err) {
      throw new TypeError(`static migrations of ${cls.name || 'the class'}: ${messageOf(err)}`);
    }
    checkedMigrations.set(cls, list);
  }
  return list;
}

/**
 * Refuse arguments past a method's own (trailing undefined aside), as methods with
 * options refuse an unknown one: restore(to, {transaction}) would otherwise wait for
 * that very transaction to idle out, and roll it back.
 * @param {string} signature  e.g. "restore(to)" @param {unknown[]} extra
 */
function noMoreArguments(signature, extra) {
  if (extra.some((arg) => arg !== undefined)) {
    throw new DoSQLError(`${signature} takes no more arguments (it has no options, and runs outside any transaction); got ${extra.length} more`, { code: 'BAD_REQUEST', status: 400 });
  }
}

export class DoSQLDatabase extends DurableObject {
  /** @type {readonly Migration[]} */
  static migrations = Object.freeze([]);
  /** @type {number | undefined} */
  static pageSize = undefined;
  /** @type {number | undefined} */
  static cacheBytes = undefined;
  /** Undefined: on, with the default retention. @type {false | {retainEvents?: number, retainMs?: number, retainBytes?: number} | undefined} */
  static changes = undefined;
  /** `binding` names the R2 bucket in env. @type {{binding: string, hotBytes?: number, groupPages?: number} | undefined} */
  static cold = undefined;
  /** @type {number | undefined} */
  static cpuBudgetMs = undefined;
  /** History's window and bytes, {windowMs?, maxBytes?} (docs/history.md). @type {{windowMs?: number, maxBytes?: number} | undefined} */
  static history = undefined;

  #instance = new DatabaseInstance({
    storage: this.ctx.storage,
    ctx: this.ctx,
    // Vars (DOSQL_*) configure the standalone worker without code.
    changes: () => changesSetting(this.env ?? {}, /** @type {typeof DoSQLDatabase} */ (this.constructor).changes),
    migrations: () => staticMigrations(/** @type {typeof DoSQLDatabase} */ (this.constructor)),
    pageSize: () => this.#wholeSetting('DOSQL_PAGE_SIZE', 'pageSize'),
    cacheBytes: /** @type {typeof DoSQLDatabase} */ (this.constructor).cacheBytes,
    cpuBudgetMs: () => this.#wholeSetting('DOSQL_CPU_BUDGET_MS', 'cpuBudgetMs'),
    namespace: () => ownNamespace(this.env ?? {}, this.ctx),
    history: () => /** @type {typeof DoSQLDatabase} */ (this.constructor).history,
    cold: () => coldSettings(/** @type {typeof DoSQLDatabase} */ (this.constructor).cold, this.env ?? {}, this.ctx),
    label: () => this.#label(),
    exclusive: (fn) => this.ctx.blockConcurrencyWhile(fn),
    onTornWrite: (reason) => this.ctx.abort(reason),
  });

  /**
   * A whole-number setting: the var when the Worker sets it, else the class option
   * (0: the default); a TypeError naming where it was set when it is no whole number.
   * @param {'DOSQL_PAGE_SIZE' | 'DOSQL_CPU_BUDGET_MS'} varName @param {'pageSize' | 'cpuBudgetMs'} option
   */
  #wholeSetting(varName, option) {
    const env = /** @type {Record<string, unknown>} */ (this.env ?? {});
    if (env[varName] !== undefined) return wholeVar(env[varName], varName);
    // Unset is the default; any other value, null too, is checked.
    const value = /** @type {typeof DoSQLDatabase} */ (this.constructor)[option];
    return wholeSetting(value === undefined ? 0 : value, `the ${option} option`);
  }

  /** A request as the client's statements send it (client/client.js Send), answered at
   *  once when the object answers at once (DatabaseInstance.call). @type {import('../client/client.js').Send} */
  #send = (path, body, txId) => onAnswer(this.#instance.call(path, body, txId), (answer) => answerOfRpc(path, answer));

  /** @type {ReturnType<typeof statementsAtOnce> | undefined} */
  #plain;

  /** @param {Request} request @returns {Promise<Response>} */
  fetch(request) {
    return this.#instance.fetch(request);
  }

  // ---- Workers RPC (docs/client.md, "Workers RPC") ---------------------------------
  // Values cross as themselves (BigInt, Uint8Array, ±Infinity); an error crosses as
  // an Error whose message carries its code and status (client/client.js fromRpcError).

  /**
   * The answer as fetch gives it (status and JSON text, or its bytes when large:
   * durable-object/response.js requestAnswer), which getDB() and toD1() read exactly as
   * they read a fetch (client/client.js sendTo).
   * @param {string} path  e.g. "/query" @param {unknown} body @param {string | null} [txId]
   * @returns {Promise<import('./response.js').RpcAnswer>}
   */
  request(path, body, txId = null) {
    return Promise.resolve(this.#instance.call(path, body, txId));
  }

  /** @param {string} sql @param {unknown} [params] @param {{transaction?: string, asOf?: unknown}} [options]  asOf: a point of history */
  query(sql, params, options) {
    return this.#statement(options, (s) => s.query(sql, params), 'query()');
  }

  /** @param {string} sql @param {unknown} [params] @param {{transaction?: string, asOf?: unknown}} [options] */
  queryOne(sql, params, options) {
    return this.#statement(options, (s) => s.queryOne(sql, params), 'queryOne()');
  }

  /** @param {string} sql @param {unknown} [params] @param {{transaction?: string}} [options] */
  run(sql, params, options) {
    return this.#statement(options, (s) => s.run(sql, params), 'run()');
  }

  /** @param {(string | {sql: string, params?: unknown})[]} list @param {{transaction?: string, asOf?: unknown}} [options] */
  batch(list, options) {
    return this.#statement(options, (s) => s.batch(list), 'batch()');
  }

  /** @param {string} sql @param {{transaction?: string}} [options] */
  exec(sql, options) {
    return this.#statement(options, (s) => s.exec(sql), 'exec()');
  }

  /** @param {{timeoutMs?: number} | null} [options] */
  begin(options) {
    return this.#statement(undefined, (_, send) => {
      checkCallOptions(options, BEGIN_OPTIONS, 'begin()');
      const timeoutMs = options?.timeoutMs;
      return send('/begin', timeoutMs === undefined ? {} : { timeoutMs }, null);
    });
  }

  /** The points history keeps (docs/history.md). @param {unknown[]} extra */
  history(...extra) {
    return this.#statement(undefined, (_, send) => {
      noMoreArguments('history()', extra);
      return send('/history', {}, null);
    });
  }

  /** The row changes between two points. @param {unknown} from @param {{to?: unknown, tables?: string[], limit?: number} | null} [options] */
  diff(from, options) {
    return this.#statement(undefined, async (_, send) => {
      checkCallOptions(options, DIFF_OPTIONS, 'diff()');
      return decodeDiff(await send('/diff', { from, to: options?.to, tables: options?.tables, limit: options?.limit }, null));
    });
  }

  /** A new database, the object `name` of DOSQL_DB, holding this one as of a point. @param {string} name @param {unknown} [from] @param {unknown[]} extra */
  branch(name, from, ...extra) {
    return this.#statement(undefined, (_, send) => {
      noMoreArguments('branch(name, from?)', extra);
      return send('/branch', { name, from }, null);
    });
  }

  /** The whole database back as it was at a point. @param {unknown} to @param {unknown[]} extra */
  restore(to, ...extra) {
    return this.#statement(undefined, (_, send) => {
      noMoreArguments('restore(to)', extra);
      return send('/restore', { to }, null);
    });
  }

  /** @param {string} txId */
  async commit(txId) {
    await this.#statement(undefined, (_, send) => send('/commit', {}, txIdGiven(txId, 'commit')));
  }

  /** @param {string} txId */
  async rollback(txId) {
    await this.#statement(undefined, (_, send) => send('/rollback', {}, txIdGiven(txId, 'rollback')));
  }

  /**
   * A statement method's answer: fn's, with a DoSQLError as Workers RPC carries it
   * (toRpcError). fn answers at once when the object does (DatabaseInstance.call), so
   * the only promise on the way is this one.
   * @template T @param {{transaction?: string, asOf?: unknown} | undefined} options
   * @param {(s: ReturnType<typeof statementsAtOnce>, send: import('../client/client.js').Send) => T | Promise<T>} fn
   * @param {string} [label]  the method, whose options are checked (e.g. "query()") @returns {Promise<T>}
   */
  #statement(options, fn, label) {
    try {
      // asOf too where it is no option: C says which routes take it.
      if (label) checkCallOptions(options, STATEMENT_OPTIONS, label);
      const txId = options?.transaction ?? null;
      const plain = txId === null && options?.asOf === undefined;
      // The statements outside any transaction and history: made once per object.
      // asOf goes to every statement: C answers those that cannot take it.
      const s = plain ? (this.#plain ??= statementsAtOnce(this.#send, null)) : statementsAtOnce(this.#send, txId, options?.asOf);
      const answer = fn(s, this.#send);
      if (!(answer instanceof Promise)) return Promise.resolve(answer);
      return answer.catch(throwForRpc);
    } catch (err) {
      return Promise.reject(toRpcError(err));
    }
  }

  // ---- Between the databases of this class, never over HTTP (durable-object/branch.js):
  // a branch shares the R2 objects of the database it was made from. Any Worker holding
  // the binding reaches these too (Workers RPC names no caller), so none trusts its
  // caller: adoptBranch checks what it is sent, and an owner lets an object go only
  // when its holder itself says it no longer reads it.

  /**
   * Become the branch the caller sends: its copied pages and the R2 objects it shares.
   * @param {import('./branch.js').BranchManifest} manifest @param {ReadableStream<Uint8Array>} pages
   * @returns {Promise<{status: number, text: string}>}
   */
  async adoptBranch(manifest, pages) {
    return rpcAnswer(await this.#instance.adoptBranch(manifest, pages));
  }

  /**
   * Become the branch whose file the caller sends (without a cold tier), as POST /import
   * does, but only while this database is new, as asked again at the swap: a write that
   * reached it since the branch asked makes it BRANCH_EXISTS, and nothing is replaced.
   * @param {ReadableStream<Uint8Array>} file @returns {Promise<{status: number, text: string}>}
   */
  async importBranch(file) {
    const request = new Request('http://dosql/import', { method: 'POST', body: file, headers: { 'content-type': SQLITE_FILE_TYPE } });
    const answer = await this.#instance.importDatabase(request, { ifNew: true });
    return { status: answer.status, text: await answer.text() };
  }

  /** The branch `holder` (an id) reads these R2 objects of this database. @param {string} holder @param {string[]} objects */
  holdColdObjects(holder, objects) {
    return this.#instance.holdColdObjects(holder, objects);
  }

  /** The branch `holder` says it no longer reads these R2 objects (it is asked). @param {string} holder @param {string[]} objects */
  releaseColdObjects(holder, objects) {
    return this.#instance.releaseColdObjects(holder, objects);
  }

  /** Null when this database is new, so that a branch may replace it; else why not, as fetch would answer. */
  async newDatabaseError() {
    const used = await this.#instance.newDatabaseError();
    return used && rpcAnswer(used);
  }

  /** Whether these are this database's R2 objects, kept for the branch `holder`. @param {string} holder @param {string[]} objects */
  coldObjectsKept(holder, objects) {
    return this.#instance.coldObjectsKept(holder, objects);
  }

  /** Those of `owner`'s R2 objects this database still reads. @param {string} owner @param {string[]} objects */
  coldObjectsRead(owner, objects) {
    return this.#instance.coldObjectsRead(owner, objects);
  }

  /** @returns {Promise<{wasmMemoryBytes: number, faults: number, storage: Record<string, number>}>} */
  stats() {
    return this.#instance.stats().catch(throwForRpc);
  }

  /** @returns {Promise<void>} */
  maintainStorage() {
    return this.#instance.maintainStorage().catch(throwForRpc);
  }

  /** A subclass that defines alarm() calls super.alarm(). @returns {Promise<void>} */
  async alarm() {
    try {
      await this.#instance.pruneChanges();
    } catch (err) {
      console.error(`[dosql] ${this.#label()}: the alarm that prunes the change log failed (it will be retried):`, err);
      throw err;
    }
  }

  /** Subscribers send nothing but `ping`, which the runtime answers. @param {WebSocket} _ws @param {string | ArrayBuffer} _message */
  webSocketMessage(_ws, _message) {}

  /** @param {WebSocket} ws */
  webSocketClose(ws) {
    this.#instance.dropSocket(ws);
  }

  /** @param {WebSocket} ws @param {unknown} error */
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
 * A DoSQLDatabase class with these options (index.d.ts, DoSQLOptions).
 * @param {{migrations?: Migration[], pageSize?: number, cacheBytes?: number, changes?: false | {retainEvents?: number, retainMs?: number, retainBytes?: number},
 *   cold?: {binding: string, hotBytes?: number, groupPages?: number}, cpuBudgetMs?: number, history?: {windowMs?: number, maxBytes?: number}}} [options]
 * @returns {typeof DoSQLDatabase}
 */
export function defineDoSQL(options = {}) {
  checkKeys(options, ['migrations', 'pageSize', 'cacheBytes', 'changes', 'cold', 'cpuBudgetMs', 'history'], 'defineDoSQL()');
  const { migrations = [], pageSize, cacheBytes, changes, cold, cpuBudgetMs, history } = options;
  const list = checkMigrations(migrations);
  checkHistory(history);
  const retention = checkChanges(changes);
  if (cold !== undefined && (typeof cold !== 'object' || cold === null || typeof cold.binding !== 'string' || cold.binding === '')) {
    throw new TypeError('cold must be {binding: "<R2 bucket binding name>", hotBytes?, groupPages?}');
  }
  if (cold !== undefined) checkKeys(cold, ['binding', 'hotBytes', 'groupPages'], 'cold');
  checkCacheBytes(cacheBytes);
  const Base = DoSQLDatabase;
  return class DoSQLDatabase extends Base {
    static migrations = list;
    static pageSize = pageSize;
    static cacheBytes = cacheBytes;
    static changes = retention;
    static cold = cold ? Object.freeze({ ...cold }) : undefined;
    static cpuBudgetMs = cpuBudgetMs;
    static history = history ? Object.freeze({ ...history }) : undefined;
  };
}

/**
 * The namespace binding this object belongs to (POST /branch makes new databases in
 * it): the one that takes this object's id, DOSQL_DB first. workerd refuses an id of
 * another namespace.
 * @param {Record<string, any>} env @param {DurableObjectState} ctx
 */
function ownNamespace(env, ctx) {
  const id = ctx?.id?.toString?.();
  if (!id) return undefined;
  // A service binding has these methods too (bindings.js): asked, it would be sent the id.
  const bindings = [env.DOSQL_DB, ...Object.values(env)].filter((b) => hasMethods(b, ['idFromString', 'idFromName']));
  return bindings.find((namespace) => {
    try {
      return namespace.idFromString(id).equals(ctx.id);
    } catch {
      return false;
    }
  });
}

/** The vars that set the cold tier, and the setting each overrides. */
const COLD_VARS = /** @type {const} */ ([['DOSQL_COLD_BUCKET', 'binding'], ['DOSQL_HOT_BYTES', 'hotBytes'], ['DOSQL_GROUP_PAGES', 'groupPages']]);

/**
 * The class's cold tier, each setting overridden by its var when the Worker sets it
 * (as DOSQL_PAGE_SIZE overrides pageSize); checked when the storage is made. A value a
 * var gave that checkCold refuses is named by its var, and a var of a tier that has no
 * bucket is refused, not ignored.
 * @param {{binding: string, hotBytes?: number, groupPages?: number} | undefined} cold
 * @param {Record<string, any>} env @param {DurableObjectState} ctx
 */
function coldSettings(cold, env, ctx) {
  const set = COLD_VARS.filter(([name]) => env[name] !== undefined);
  /** @type {Record<string, unknown>} */
  const settings = { ...cold };
  for (const [name, setting] of set) {
    const value = env[name];
    if (setting === 'binding') {
      if (typeof value !== 'string' || value === '') throw new TypeError(`${name} names an [[r2_buckets]] binding of the Worker; got ${JSON.stringify(value)}`);
      settings.binding = value;
    } else {
      settings[setting] = digitsVar(value, name);
    }
  }
  if (settings.binding === undefined) {
    if (set.length === 0) return undefined;
    throw new TypeError(`${set.map(([name]) => name).join(' and ')} ${set.length === 1 ? 'is' : 'are'} set, but no cold tier is: name its R2 bucket binding in DOSQL_COLD_BUCKET (or the cold option), or remove ${set.length === 1 ? 'it' : 'them'}`);
  }
  const { binding, ...tuning } = /** @type {{binding: string, hotBytes?: number, groupPages?: number}} */ (settings);
  const bucket = env[binding];
  if (!bucket) {
    throw new TypeError(`env.${binding} is missing: add an [[r2_buckets]] binding named "${binding}" to the wrangler config`);
  }
  // checkCold's rules, said of the setting or var that broke them.
  const named = (/** @type {string} */ where, /** @type {object} */ value) => {
    try {
      checkCold({ bucket, ...value });
    } catch (err) {
      throw new TypeError(`${where}: ${messageOf(err)}`);
    }
  };
  named(`${env.DOSQL_COLD_BUCKET !== undefined ? 'DOSQL_COLD_BUCKET' : 'cold.binding'} is ${JSON.stringify(binding)}`, {});
  for (const [name, setting] of set) {
    if (setting !== 'binding') named(`${name} is ${JSON.stringify(env[name])}`, { [setting]: settings[setting] });
  }
  return { ...tuning, bucket, prefix: `dosql/${ctx.id}/` };
}

/**
 * A var of a number in digits (a wrangler.toml [vars] number arrives as a number);
 * anything else is a TypeError naming the var. Which numbers are valid is the caller's.
 * @param {unknown} value @param {string} name
 */
function digitsVar(value, name) {
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  if (typeof value === 'number') return value;
  throw new TypeError(`${name} must be a whole number, in digits; got ${JSON.stringify(value)}`);
}

/**
 * A var that holds a whole number: its digits as a string (a wrangler.toml [vars]
 * number arrives as a number). Anything else is a TypeError naming the var.
 * @param {unknown} value @param {string} name
 */
function wholeVar(value, name) {
  return wholeSetting(digitsVar(value, name), name);
}

/**
 * A page size or CPU budget: which are valid is the engine's rule (BAD_CONFIG); here
 * only what is no whole number it could be given fails, a TypeError the start
 * answers as BAD_CONFIG.
 * @param {unknown} value @param {string} name  where it was set
 */
function wholeSetting(value, name) {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) return value;
  throw new TypeError(`${name} must be a whole number (or 0 for the default); got ${JSON.stringify(value)}`);
}

/**
 * The changes setting: the var DOSQL_CHANGES, "off" or "on" (any case), else the
 * class's option. Another value is a TypeError naming the var.
 * @param {Record<string, unknown>} env @param {unknown} option
 */
function changesSetting(env, option) {
  const value = env.DOSQL_CHANGES;
  if (value === undefined) return option;
  const word = typeof value === 'string' ? value.trim().toLowerCase() : null;
  if (word === 'off') return false;
  if (word === 'on') return option;
  throw new TypeError(`DOSQL_CHANGES turns change capture "off" (or "on"); got ${JSON.stringify(value)}`);
}

/** A DoSQLError rethrown as Workers RPC carries it (client/client.js toRpcError). @param {unknown} err @returns {never} */
function throwForRpc(err) {
  throw toRpcError(err);
}
