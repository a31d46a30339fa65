// compare-worker.js — the one worker of the comparison benchmark (tests/bench/run.mjs).
//
// It serves the same JSON protocol (POST /query, /run, /transaction) from four
// systems, all in one workerd, each reached the way a user's Worker reaches it:
//
//   /dosql/<tenant>/<endpoint>     DoSQLDatabase, SQLite-backed class (OURS_SQL)
//   /dosql-kv/<tenant>/<endpoint>  DoSQLDatabase, legacy key-value class (OURS_KV)
//   /native/<tenant>/<endpoint>    NativeSqlDatabase below: the same SQL run by
//                                  ctx.storage.sql in a SQLite-backed object (NATIVE)
//   /d1/<tenant>/<endpoint>        D1 (Miniflare's local D1), binding D1_<TENANT>,
//                                  the three endpoints implemented in this worker
//
// For the Durable Objects the worker forwards the request to the stub's fetch(),
// as the guide's client does. /<system>/<tenant>/_bench/stats answers what the
// system billed in storage so far: {reads, writes, wasmMemoryBytes?}; for DoSQL
// it comes from DoSQLDatabase.stats() over RPC (the adapter's own counts of the
// cursors' rowsRead/rowsWritten, or keys on the key-value backend), for native from
// the same cursor counters, for D1 from the rows_read/rows_written of each
// result's meta. GET /ping answers without touching any object.
//
// NativeSqlDatabase is deliberately small and plain: parse the body, exec, answer
// JSON. No statement cache, no result cache: nothing ours does not have either.

import { DurableObject } from 'cloudflare:workers';
import { makeClasses } from '../worker/fixtures/dosql-worker.js';

const { Sql, Kv } = makeClasses([], {});
export { Sql as DoSQLSql, Kv as DoSQLKv };

const STATS = '_bench/stats';
const WRITES = /\b(INSERT|REPLACE)\b/i; // did this statement insert? (then lastInsertRowId is its rowid)

/** @param {unknown} value @param {number} [status] */
function json(value, status = 200) {
  return Response.json(value, { status });
}

/** @param {unknown} err */
function errorOf(err) {
  return json({ error: String(/** @type {any} */ (err)?.message ?? err), code: 'SQL_ERROR' }, 400);
}

/** @param {unknown} params */
function positional(params) {
  if (params === undefined || params === null) return [];
  if (!Array.isArray(params)) throw new Error('bench: only positional params are implemented here');
  return params;
}

export class NativeSqlDatabase extends DurableObject {
  reads = 0;
  writes = 0;

  /** @param {string} sql @param {unknown[]} params */
  #exec(sql, params) {
    const cursor = this.ctx.storage.sql.exec(sql, ...params);
    const rows = cursor.toArray();
    this.reads += cursor.rowsRead;
    this.writes += cursor.rowsWritten;
    return rows;
  }

  /** @param {string} sql @param {unknown[]} params */
  #run(sql, params) {
    this.#exec(sql, params);
    const [r] = this.#exec('SELECT changes() AS n, last_insert_rowid() AS id', []);
    return { rowsAffected: r.n, lastInsertRowId: r.n > 0 && WRITES.test(sql) ? r.id : 0 };
  }

  /** @param {{type: string, sql: string, params?: unknown}} op */
  #op(op) {
    const params = positional(op.params);
    return op.type === 'run' ? this.#run(op.sql, params) : this.#exec(op.sql, params);
  }

  /** @param {Request} request */
  async fetch(request) {
    const path = new URL(request.url).pathname;
    try {
      const body = /** @type {any} */ (await request.json());
      if (path === '/query') return json({ rows: this.#exec(body.sql, positional(body.params)) });
      if (path === '/run') return json(this.#run(body.sql, positional(body.params)));
      if (path === '/transaction') {
        const ops = body.operations;
        return json(this.ctx.storage.transactionSync(() => ops.map((/** @type {any} */ op) => this.#op(op)).at(-1) ?? null));
      }
      return json({ error: `no endpoint ${path}`, code: 'NOT_FOUND' }, 404);
    } catch (err) {
      return errorOf(err);
    }
  }

  stats() {
    return { reads: this.reads, writes: this.writes, dbBytes: this.ctx.storage.sql.databaseSize };
  }
}

/** D1's billed rows, per tenant, since this isolate started. @type {Map<string, {reads: number, writes: number}>} */
const d1Counts = new Map();

/** @param {string} tenant */
function d1Count(tenant) {
  let c = d1Counts.get(tenant);
  if (!c) d1Counts.set(tenant, (c = { reads: 0, writes: 0, dbBytes: 0 }));
  return c;
}

/**
 * The three endpoints on D1.
 * @param {any} db  D1Database
 * @param {string} tenant
 * @param {string} endpoint
 * @param {Request} request
 */
async function d1(db, tenant, endpoint, request) {
  const c = d1Count(tenant);
  if (endpoint === STATS) return json({ ...c });
  const count = (/** @type {any} */ result) => {
    c.reads += result.meta?.rows_read ?? 0;
    c.writes += result.meta?.rows_written ?? 0;
    if (result.meta?.size_after) c.dbBytes = result.meta.size_after;
    return result;
  };
  const asRun = (/** @type {any} */ result) => ({ rowsAffected: result.meta.changes, lastInsertRowId: result.meta.last_row_id });
  try {
    const body = /** @type {any} */ (await request.json());
    if (endpoint === 'query') return json({ rows: count(await db.prepare(body.sql).bind(...positional(body.params)).all()).results });
    if (endpoint === 'run') return json(asRun(count(await db.prepare(body.sql).bind(...positional(body.params)).run())));
    if (endpoint === 'transaction') {
      const ops = body.operations;
      const results = await db.batch(ops.map((/** @type {any} */ op) => db.prepare(op.sql).bind(...positional(op.params))));
      results.forEach(count);
      const last = results.at(-1);
      return json(last === undefined ? null : ops.at(-1).type === 'run' ? asRun(last) : last.results);
    }
    return json({ error: `no endpoint ${endpoint}`, code: 'NOT_FOUND' }, 404);
  } catch (err) {
    return errorOf(err);
  }
}

const NAMESPACES = /** @type {const} */ ({ dosql: 'OURS_SQL', 'dosql-kv': 'OURS_KV', native: 'NATIVE' });

/** DoSQL's stats() in the shape of the others'. @param {any} s */
function oursStats(s) {
  const st = s.storage;
  return 'rowsRead' in st
    ? { reads: st.rowsRead, writes: st.rowsWritten, wasmMemoryBytes: s.wasmMemoryBytes }
    : { reads: st.keysRead, writes: st.keysWritten + st.keysDeleted, wasmMemoryBytes: s.wasmMemoryBytes };
}

export default {
  /** @param {Request} request @param {Record<string, any>} env */
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/ping') return new Response('ok');
    const [, system, tenant, ...rest] = url.pathname.split('/');
    const endpoint = rest.join('/');
    if (system === 'd1') {
      const db = env[`D1_${String(tenant).toUpperCase()}`];
      if (!db) return json({ error: `no D1 binding for tenant ${tenant}`, code: 'BENCH_ROUTE' }, 418);
      return d1(db, tenant, endpoint, request);
    }
    const binding = NAMESPACES[/** @type {keyof typeof NAMESPACES} */ (system)];
    if (!binding || !tenant) return json({ error: `no route for ${url.pathname}`, code: 'BENCH_ROUTE' }, 418);
    const ns = env[binding];
    const stub = ns.get(ns.idFromName(tenant));
    if (endpoint === STATS) {
      const s = await stub.stats();
      return json(system === 'native' ? s : oursStats(s));
    }
    return stub.fetch(new Request(`http://internal/${endpoint}`, request));
  },
};
