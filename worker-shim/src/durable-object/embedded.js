// durable-object/embedded.js — the guide's DB(): DoSQL inside a Durable Object class you write
// yourself (options and the Database's methods: index.d.ts, DBOptions and Database).
//
//   const db = await DB('app', { migrations, storage: { hot: this.state.storage } });
//
// No second implementation: DB() makes a DatabaseInstance (durable-object/instance.js,
// as the DoSQLDatabase class does) and hands it to createClient through an in-process
// stub whose fetch calls the instance. So the API, value encoding and DoSQLError are
// the client's, and an in-process transaction holds up other calls exactly as a
// remote one does.
//
// DB() is idempotent per storage object (same options: same Database, also while it
// opens), because two engines over one storage would each cache pages the other
// changes. Start-up runs inside blockConcurrencyWhile only when `ctx` is given. What
// the platform delivers to the class is the class's to forward: alarm() to
// db.alarm(), webSocketClose/webSocketError to the database's.

import { DatabaseInstance, isDurableObjectStorage, isLost } from './instance.js';
import { checkMigrations } from './migration-list.js';
import { messageOf, valueOf } from './response.js';
import { createClient, DoSQLError } from '../client/client.js';
import { checkChanges } from '../changes/retention.js';
import { checkCold } from '../storage/tiered.js';
import { checkCacheBytes } from '../storage/kv.js';
import { checkKeys } from '../option-keys.js';
import { hasMethods } from '../bindings.js';

/** @typedef {import('../wasm/engine.js').Migration} Migration */

const BUILD_HOOK = '[build] command = "node node_modules/dosql/bin/bundle-migrations.mjs .do/migrations src/migrations.generated.js"';

/** What DB() takes (index.d.ts, DBOptions). */
const DB_OPTIONS = ['migrations', 'storage', 'pageSize', 'cacheBytes', 'ctx', 'changes', 'cpuBudgetMs'];

/** hot storage → the Database made for it (or being made), with the options it was made
 *  with (key: all but the bucket, compared as itself). @type {WeakMap<object, {key: string, bucket: unknown, database: Promise<any>}>} */
const databases = new WeakMap();

/**
 * @param {string} name  for logs only (the object is the database)
 * @param {{migrations?: Migration[], storage?: {hot?: any, cold?: import('../storage/tiered.js').ColdSettings}, pageSize?: number,
 *   cacheBytes?: number, ctx?: any, changes?: false | {retainEvents?: number, retainMs?: number, retainBytes?: number, tables?: string[]}, cpuBudgetMs?: number}} [options]
 * @returns {Promise<any>} the Database
 */
export function DB(name, options = {}) {
  const label = `DB(${JSON.stringify(String(name))})`;
  try {
    checkKeys(options ?? {}, DB_OPTIONS, label);
    if (options?.storage !== undefined) checkKeys(options.storage, ['hot', 'cold'], `${label}'s storage`);
  } catch (err) {
    return Promise.reject(badConfig(messageOf(err)));
  }
  const { migrations = [], storage: { hot, cold } = {}, pageSize, cacheBytes, ctx, changes, cpuBudgetMs } = options ?? {};
  /** @type {readonly Migration[]} */
  let list;
  /** @type {ReturnType<typeof checkChanges>} */
  let retention;
  /** @type {import('../storage/tiered.js').ColdSettings | undefined} */
  let tier;
  try {
    if (ctx !== undefined && !(hasMethods(ctx, ['blockConcurrencyWhile', 'abort']) && typeof ctx.storage === 'object')) {
      throw badConfig(`${label}: ctx must be the Durable Object's state (this.ctx, or this.state in the guide's class), whose blockConcurrencyWhile() runs the start`);
    }
    list = checkOptions(label, migrations, hot, pageSize, cacheBytes, cpuBudgetMs);
    retention = checkRetention(label, changes);
    tier = checkTier(label, cold, ctx, name);
  } catch (err) {
    return Promise.reject(err);
  }
  const { bucket: _, ...tierKey } = tier ?? {};
  // ctx too: a call with it after one without would otherwise get a Database that has none.
  const key = JSON.stringify({ list, pageSize: pageSize ?? 0, cacheBytes: cacheBytes ?? null, retention, tier: tierKey, cpuBudgetMs: cpuBudgetMs ?? 0, ctx: ctx !== undefined });
  const existing = databases.get(hot);
  if (existing) {
    if (existing.key === key && existing.bucket === tier?.bucket) return existing.database;
    return Promise.reject(
      badConfig(
        `${label}: DB() was already called for this Durable Object's storage with other migrations or options; keep one Database per object (create it once, e.g. in getDB(), and reuse it)`,
      ),
    );
  }

  const instance = new DatabaseInstance({
    storage: hot,
    migrations: () => list,
    pageSize: () => pageSize ?? 0,
    cpuBudgetMs: () => cpuBudgetMs ?? 0,
    cacheBytes,
    cold: () => tier,
    changes: () => retention,
    ctx,
    label: () => label,
    exclusive: ctx ? (fn) => ctx.blockConcurrencyWhile(fn) : undefined,
    onTornWrite: ctx ? (reason) => ctx.abort(reason) : undefined,
  });
  const database = open(instance, label).catch((err) => {
    // Not kept: the next DB() tries again (e.g. after a fixed migration).
    if (databases.get(hot)?.database === database) databases.delete(hot);
    throw err;
  });
  databases.set(hot, { key, bucket: tier?.bucket, database });
  return database;
}

/** @param {DatabaseInstance} instance @param {string} label */
async function open(instance, label) {
  /** @type {import('./response.js').EngineResponse | null} */
  let failure;
  try {
    failure = await instance.start();
  } catch (err) {
    throw new DoSQLError(`${label}: opening the database failed: ${messageOf(err)}`, { code: 'INTERNAL', status: 500, cause: err });
  }
  // A database whose cold data is lost still gets its Database: every call answers
  // COLD_TIER_CORRUPT, and serveImport() of a backup is how it recovers.
  if (failure && !isLost(failure)) throw errorOf(failure);
  // The client's calls are the class's own code, as the DoSQLDatabase class's Workers RPC
  // calls are: request(), as over RPC (so it may branch: /branch is not served over
  // HTTP, src/api.h); fetch for the endpoints that stream.
  const stub = {
    /** @param {string} url @param {RequestInit} [init] */
    fetch: (url, init) => instance.fetch(new Request(url, init)),
    /** @param {string} path @param {unknown} body @param {string | null} txId */
    request: (path, body, txId) => instance.call(path, body, txId),
  };
  return Object.freeze({
    ...createClient(stub),
    /** The whole wire protocol, as the DoSQLDatabase class answers it. @param {Request} request @returns {Promise<Response>} */
    serve: (request) => instance.fetch(request),
    /** @param {Request} request @returns {Promise<Response>} */
    serveSubscribe: (request) => instance.subscribe(request),
    /** @param {Request} request @returns {Promise<Response>} */
    serveImport: (request) => instance.importDatabase(request),
    maintainStorage: () => instance.maintainStorage(),
    stats: () => instance.stats(),
    alarm: async () => {
      await instance.pruneChanges();
    },
    /** @param {WebSocket} ws */
    webSocketClose: (ws) => instance.dropSocket(ws),
    /** @param {WebSocket} ws */
    webSocketError: (ws) => instance.dropSocket(ws),
  });
}

/**
 * storage.cold is the guide's bare R2 bucket or {bucket, ...}; the settings with their default prefix.
 * @param {string} label @param {unknown} cold @param {any} ctx @param {string} name
 */
function checkTier(label, cold, ctx, name) {
  try {
    const tier = checkCold(isBucket(cold) ? { bucket: cold } : cold);
    if (!tier) return undefined;
    return { ...tier, prefix: tier.prefix ?? `dosql/${ctx?.id ?? name}/` };
  } catch (err) {
    throw badConfig(`${label}: storage.${messageOf(err)}`);
  }
}

/** @param {any} value */
function isBucket(value) {
  return hasMethods(value, ['get', 'put', 'head']);
}

/**
 * Check DB()'s options; the migrations list to use.
 * @param {string} label @param {unknown} migrations @param {unknown} hot @param {unknown} pageSize @param {unknown} cacheBytes
 * @param {unknown} cpuBudgetMs
 */
function checkOptions(label, migrations, hot, pageSize, cacheBytes, cpuBudgetMs) {
  if (migrations && typeof migrations === 'object' && !Array.isArray(migrations) && 'folder' in migrations) {
    throw badConfig(
      `${label}: migrations: { folder: ${JSON.stringify(/** @type {any} */ (migrations).folder)} } cannot work: Workers have no file system at run time. ` +
        `Bundle the folder at build time with one line in wrangler.toml: ${BUILD_HOOK} ` +
        `then \`import migrations from './migrations.generated.js'\` and pass DB(name, { migrations, ... }).`,
    );
  }
  /** @type {readonly Migration[]} */
  let list;
  try {
    list = checkMigrations(migrations);
  } catch (err) {
    throw badConfig(`${label}: ${messageOf(err)} (the default export of the module bin/bundle-migrations.mjs writes)`);
  }
  if (!isDurableObjectStorage(hot)) {
    throw badConfig(`${label}: storage.hot must be the Durable Object's storage (ctx.storage, or this.state.storage in the guide's class)`);
  }
  const isWhole = (/** @type {unknown} */ n) => Number.isInteger(n) && /** @type {number} */ (n) >= 0 && /** @type {number} */ (n) <= 0xffffffff;
  if (pageSize !== undefined && !isWhole(pageSize)) {
    throw badConfig(`${label}: pageSize must be a whole number of bytes; got ${JSON.stringify(pageSize)}`);
  }
  if (cpuBudgetMs !== undefined && !isWhole(cpuBudgetMs)) {
    throw badConfig(`${label}: cpuBudgetMs must be a whole number of milliseconds (or 0 for the default); got ${JSON.stringify(cpuBudgetMs)}`);
  }
  try {
    checkCacheBytes(cacheBytes);
  } catch (err) {
    throw badConfig(`${label}: ${messageOf(err)}`);
  }
  return list;
}

/** @param {string} label @param {unknown} changes */
function checkRetention(label, changes) {
  try {
    return checkChanges(changes);
  } catch (err) {
    throw badConfig(`${label}: ${messageOf(err)}`);
  }
}

/** @param {string} message */
function badConfig(message) {
  return new DoSQLError(message, { code: 'BAD_CONFIG', status: 500 });
}

/** A start-up failure (MIGRATION_FAILED, BAD_CONFIG, ...) as a DoSQLError. @param {import('./response.js').EngineResponse} failure */
function errorOf(failure) {
  const { error, code } = valueOf(failure);
  return new DoSQLError(error, { code, status: failure.status });
}
