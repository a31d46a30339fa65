// harness.js — start a real workerd (through Miniflare) serving DoSQL, and speak
// the guide's protocol to it.
//
// Why Miniflare with module rules rather than a wrangler bundle: it loads the
// shim's real source files (no build step between an edit and a test run), starts
// in about 0.2 s, and runs the same workerd that wrangler dev does.
//
// A "world" is one temporary folder under tests/.tmp/: the generated entry
// module, the bundled migrations, and the persisted Durable Object storage. The
// runtime can be stopped and started again on the same folder (a full restart:
// new workerd process, cold caches), optionally with different migrations.
//
// The test worker binds the DoSQL class twice: SQL_DB is SQLite-backed (the
// default backend, synchronous pages), KV_DB is legacy key-value backed (async
// pages, the fault path). Routes: /<sql|kv>/<tenant>/<endpoint...>.

import { mkdirSync, writeFileSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const WASM_PATH = join(REPO, 'worker-shim/dist/dosql.wasm');
export const TMP = join(REPO, 'tests/.tmp');
export const BACKENDS = /** @type {const} */ (['sql', 'kv']);
export const COMPATIBILITY_DATE = '2026-04-01';

// Offline and quiet.
process.env.WRANGLER_SEND_METRICS ??= 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';

export { seededRandom } from './seeded-random.js';

/** Fail loudly (not skip) when the module has not been built. */
export function requireWasm() {
  if (!existsSync(WASM_PATH)) {
    throw new Error(`${relative(REPO, WASM_PATH)} is missing: run ./build.sh wasm first`);
  }
}

/** The compiled module, for tests that run the engine in Node. */
export async function compileWasm() {
  requireWasm();
  return WebAssembly.compile(readFileSync(WASM_PATH));
}

/** The repository's default migrations (migrations/), as the bundler reads them. */
export async function defaultMigrations() {
  const { readMigrations } = await import('../../worker-shim/bin/bundle-migrations.mjs');
  return readMigrations(join(REPO, 'migrations'));
}

async function loadMiniflare() {
  const path = join(REPO, 'node_modules/miniflare/dist/src/index.js');
  if (!existsSync(path)) throw new Error('node_modules/miniflare is missing: run npm ci at the repository root');
  return (await import(path)).Miniflare;
}

const MODULE_RULES = [
  { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
  { type: 'CompiledWasm', include: ['**/*.wasm'] },
];

/**
 * @typedef {object} WorldOptions
 * @property {{name: string, sql: string}[]} [migrations]  default: migrations/
 * @property {{pageSize?: number, cacheBytes?: number, changes?: false | {retainEvents?: number, retainMs?: number}, cold?: {binding: string, hotBytes?: number, groupPages?: number}, history?: {windowMs?: number, maxBytes?: number}}} [classOptions]
 * @property {Record<string, unknown>} [bindings]  extra env bindings
 * @property {string[]} [r2Buckets]  R2 bucket bindings, persisted in the world's folder
 * @property {string[]} [kvNamespaces]  Workers KV namespace bindings (in memory)
 * @property {Record<string, (request: Request) => Response>} [serviceBindings]  service bindings, answered in Node
 */

/**
 * Start workerd on a worker that exports the class twice, as DoSQLSql
 * (SQLite-backed, bound as SQL_DB) and DoSQLKv (legacy key-value, KV_DB).
 * @param {string} scriptPath  the worker, loaded from source (no bundling)
 * @param {string} persist  Durable Object storage folder
 * @param {Record<string, string>} bindings
 * @param {Record<string, unknown>} [more]  further Miniflare options (R2 buckets)
 * @returns {Promise<any>} a ready Miniflare
 */
export function startBothBackends(scriptPath, persist, bindings, more = {}) {
  const durableObjects = {
    SQL_DB: { className: 'DoSQLSql', useSQLite: true },
    KV_DB: { className: 'DoSQLKv' },
  };
  return startWorker(scriptPath, durableObjects, { durableObjectsPersist: persist, bindings, ...more });
}

/**
 * Start workerd on a worker loaded from source (no bundling), with its Durable Object
 * bindings; storage in memory unless `more` names a folder (durableObjectsPersist).
 * @param {string} scriptPath
 * @param {Record<string, {className: string, useSQLite?: boolean}>} durableObjects
 * @param {Record<string, unknown>} [more]  further Miniflare options
 * @returns {Promise<any>} a ready Miniflare
 */
export async function startWorker(scriptPath, durableObjects, more = {}) {
  requireWasm();
  const Miniflare = await loadMiniflare();
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: REPO,
    modulesRules: MODULE_RULES,
    compatibilityDate: COMPATIBILITY_DATE,
    cf: false,
    durableObjects,
    ...more,
  });
  await mf.ready;
  return mf;
}

/**
 * Workerd on a fixture module's classes, in a folder of its own under tests/.tmp/,
 * restartable on its storage. The generated entry module is
 *   import { <factory>, handle } from '<fixture>';
 *   const { Sql, Kv } = <factory>(<args>);   // bound as SQL_DB and KV_DB
 *   export default { fetch: handle };
 * @param {string} prefix  a readable prefix for the folder
 * @param {string} fixture  a file in tests/worker/fixtures/
 * @param {string} factory  the exported function that makes the classes
 * @param {unknown[]} args  its arguments (JSON)
 * @param {Record<string, unknown>} [bindings]
 * @param {{r2Buckets?: string[]}} [more]  R2 buckets, persisted beside the objects
 */
export function fixtureRuntime(prefix, fixture, factory, args, bindings = {}, { r2Buckets } = {}) {
  const dir = join(TMP, `${prefix}-${randomUUID().slice(0, 8)}`);
  /** @type {any} */
  let mf = null;
  const runtime = {
    async start() {
      requireWasm();
      mkdirSync(join(dir, 'persist'), { recursive: true });
      const from = relative(dir, join(REPO, 'tests/worker/fixtures', fixture)).split('\\').join('/');
      writeFileSync(
        join(dir, 'worker.js'),
        [
          `import { ${factory}, handle } from '${from}';`,
          `const { Sql, Kv } = ${factory}(${args.map((a) => JSON.stringify(a)).join(', ')});`,
          'export { Sql as DoSQLSql, Kv as DoSQLKv };',
          'export default { fetch: handle };',
          '',
        ].join('\n'),
      );
      const r2 = r2Buckets ? { r2Buckets, r2Persist: join(dir, 'r2') } : {};
      mf = await startBothBackends(join(dir, 'worker.js'), join(dir, 'persist'), bindings, r2);
    },
    async restart() {
      await mf.dispose();
      await runtime.start();
    },
    async destroy() {
      await mf?.dispose();
      mf = null;
      rmSync(dir, { recursive: true, force: true });
    },
    /** @param {string} url @param {any} [init] @returns {Promise<Response>} */
    fetch(url, init) {
      return mf.dispatchFetch(url, init);
    },
    /** The runtime's own address (http://127.0.0.1:port/), for clients outside Miniflare (WebSockets). @returns {Promise<string>} */
    async origin() {
      return String(await mf.ready);
    },
  };
  return runtime;
}

/**
 * A test database world: a folder, and a runtime that can be (re)started on it.
 * @param {string} name  a readable prefix for the folder
 */
export function createWorld(name) {
  const dir = join(TMP, `${name}-${randomUUID().slice(0, 8)}`);
  const persist = join(dir, 'persist');
  mkdirSync(persist, { recursive: true });
  /** @type {any} */
  let mf = null;

  const world = {
    dir,
    /** @returns {any} the running Miniflare */
    get mf() {
      if (!mf) throw new Error('the world is not running');
      return mf;
    },

    /** Start workerd on this folder. @param {WorldOptions} [options] */
    async start(options = {}) {
      requireWasm();
      if (mf) throw new Error('already running');
      const migrations = options.migrations ?? (await defaultMigrations());
      writeFileSync(join(dir, 'migrations.js'), `export default ${JSON.stringify(migrations, null, 1)};\n`);
      const fixture = relative(dir, join(REPO, 'tests/worker/fixtures/dosql-worker.js')).split('\\').join('/');
      writeFileSync(
        join(dir, 'worker.js'),
        [
          "import migrations from './migrations.js';",
          `import { makeClasses, handle } from '${fixture.startsWith('.') ? fixture : './' + fixture}';`,
          `const { Sql, Kv } = makeClasses(migrations, ${JSON.stringify(options.classOptions ?? {})});`,
          'export { Sql as DoSQLSql, Kv as DoSQLKv };',
          'export default { fetch: handle };',
          '',
        ].join('\n'),
      );
      const r2 = options.r2Buckets ? { r2Buckets: options.r2Buckets, r2Persist: join(dir, 'r2') } : {};
      const kv = options.kvNamespaces ? { kvNamespaces: options.kvNamespaces } : {};
      const services = options.serviceBindings ? { serviceBindings: options.serviceBindings } : {};
      mf = await startBothBackends(join(dir, 'worker.js'), persist, options.bindings ?? {}, { ...r2, ...kv, ...services });
      return world;
    },

    /** Stop workerd (the folder stays). */
    async stop() {
      const running = mf;
      mf = null;
      if (running) await running.dispose();
    },

    /** Stop and start again on the same storage. @param {WorldOptions} [options] */
    async restart(options) {
      await world.stop();
      return world.start(options);
    },

    /** Stop and delete the folder. */
    async destroy() {
      await world.stop();
      rmSync(dir, { recursive: true, force: true });
    },

    /**
     * A client of one tenant's database on one backend.
     * @param {'sql' | 'kv'} backend
     * @param {string} tenant
     */
    client(backend, tenant) {
      return createClient((path, init) => world.mf.dispatchFetch(`http://localhost/${backend}/${tenant}${path}`, init));
    },
  };
  return world;
}

/**
 * Start Miniflare on the standalone worker (worker-shim/standalone.js), or another
 * script of the repository that imports the bundled migrations, as wrangler would: the
 * bundled migrations module generated first. Its objects are ephemeral (key-value
 * storage in memory), or, with `persist` (a folder), SQLite-backed as `wrangler dev`
 * makes them (legacy key-value backed with backend 'kv').
 * @param {Record<string, unknown>} bindings  e.g. {DOSQL_TOKEN: 'secret'}
 * @param {{withNamespace?: boolean, persist?: string, script?: string, backend?: 'sql' | 'kv'}} [options]
 */
export async function startStandalone(bindings, { withNamespace = true, persist, script = 'worker-shim/standalone.js', backend = 'sql' } = {}) {
  requireWasm();
  const { bundleMigrations } = await import('../../worker-shim/bin/bundle-migrations.mjs');
  bundleMigrations(join(REPO, 'migrations'), join(REPO, 'wasm/build/migrations.js'));
  const Miniflare = await loadMiniflare();
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(REPO, script),
    modulesRoot: REPO,
    modulesRules: MODULE_RULES,
    compatibilityDate: COMPATIBILITY_DATE,
    cf: false,
    durableObjects: withNamespace ? { DOSQL_DB: { className: 'DoSQLDatabase', useSQLite: backend === 'sql' } } : {},
    ...(persist ? { durableObjectsPersist: persist } : { unsafeEphemeralDurableObjects: true }),
    bindings,
  });
  await mf.ready;
  return mf;
}

/**
 * @typedef {object} Answer
 * @property {number} status
 * @property {any} body  parsed JSON (undefined if the body was not JSON)
 * @property {string} text
 * @property {string | null} contentType
 */

/**
 * The guide's client, over a fetch function that takes a path ("/query").
 * `post` returns every answer as it is; query/run/transaction behave like the
 * guide's client (throwing Error(error) on non-2xx, with .status and .code).
 * @param {(path: string, init?: any) => Promise<Response>} fetchPath
 */
export function createClient(fetchPath) {
  /**
   * @param {string} path
   * @param {unknown} body  JSON-encoded unless a string or bytes
   * @param {object} [init]
   * @returns {Promise<Answer>}
   */
  async function post(path, body, init = {}) {
    const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    return answer(
      await fetchPath(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: payload,
        ...init,
      }),
    );
  }

  /** @param {Answer} a */
  function unwrap(a) {
    if (a.status < 200 || a.status > 299) {
      const err = /** @type {any} */ (new Error(a.body?.error ?? a.text));
      err.status = a.status;
      err.code = a.body?.code;
      err.body = a.body;
      throw err;
    }
    return a.body;
  }

  return {
    post,
    /** @param {string} path @param {any} [init] */
    async fetch(path, init) {
      return answer(await fetchPath(path, init));
    },
    /** @param {string} sql @param {unknown} [params] @returns {Promise<any[]>} */
    async query(sql, params) {
      return unwrap(await post('/query', { sql, params })).rows;
    },
    /** @param {string} sql @param {unknown} [params] */
    async queryOne(sql, params) {
      const rows = unwrap(await post('/query', { sql, params })).rows;
      return rows[0] ?? null;
    },
    /** @param {string} sql @param {unknown} [params] @returns {Promise<{rowsAffected: number, lastInsertRowId: number}>} */
    async run(sql, params) {
      return unwrap(await post('/run', { sql, params }));
    },
    /** @param {{type: 'query' | 'run', sql: string, params?: unknown}[]} operations */
    async transaction(operations) {
      return unwrap(await post('/transaction', { operations }));
    },
  };
}

/** @param {Response} response @returns {Promise<Answer>} */
async function answer(response) {
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, contentType: response.headers.get('content-type') };
}

/** A tenant name no other test uses. @param {string} prefix */
export function tenant(prefix) {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
