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
// result's meta. /_bench/reset ends the object (it starts afresh in this isolate);
// /_bench/settle runs a DoSQL object's alarm now and clears it. GET /ping answers
// without touching any object.
//
// NativeSqlDatabase is deliberately small and plain: parse the body, exec, answer
// JSON. No statement cache, no result cache: nothing ours does not have either.
// Over Workers RPC it answers query(sql, params) -> {rows} and run(sql, params) ->
// {rowsAffected, lastInsertRowId} (DoSQLDatabase's query() answers the rows
// themselves; /_inworker accepts either).
//
// Times measured inside the Worker (POST /_inworker/warmup and /_inworker/measure,
// driven by run.mjs): the Worker itself calls the objects' stubs in a loop and reads
// its own clock, so the Node -> workerd hop is not in them. Targets are
// {system, transport}: system dosql (OURS_SQL) or native, transport fetch (the JSON
// protocol through stub.fetch, answer read with res.json()) or rpc (stub.query /
// stub.run). workerd's clock ticks in whole milliseconds (and in production stands
// still while JavaScript runs), so calls are timed in batches: a round is one batch
// of `batch` calls per target, targets in rotating order, the clock read before the
// batch and after its last awaited answer. The mean of a batch (a whole-ms
// difference over batch calls) is unbiased; run.mjs picks batch so the fastest
// target's batch lasts many clock ticks. See clockProbe() for what is measured
// of the clock itself. Whether DoSQLDatabase answers RPC is found out by calling it
// (a stub has every method name as a function): "does not implement the method"
// makes that target n/a, with the reason; any other failure fails the run.

import { DurableObject } from 'cloudflare:workers';
import { makeClasses } from '../worker/fixtures/dosql-worker.js';

const { Sql } = makeClasses([], {});
// A key-value object holds every page one request reads (docs/limits.md): the 200 MB
// database's count and full scan need a cache as large, and, run again after each of
// their page faults (about 15) on one CPU budget, a budget as long, set as a user would.
const { Kv } = makeClasses([], { cacheBytes: 320 * 1024 * 1024, cpuBudgetMs: 30_000 });
export { Sql as DoSQLSql, Kv as DoSQLKv };

const STATS = '_bench/stats';
/** Resets the object (ctx.abort): its next request constructs it afresh in this isolate. */
const RESET = '_bench/reset';
/** Runs a DoSQL object's alarm now and clears it (the fixture's testSettleAlarm). */
const SETTLE = '_bench/settle';
/** Native's no-op path over fetch (the floor row of /_inworker). */
const NOOP = '/_noop';
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
    if (path === NOOP) return new Response('null'); // the transport's own cost, body unread
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

  /** Over RPC: end this object; the next request constructs it afresh (as DoSQL's test classes do). */
  testReopen() {
    this.ctx.abort('bench: start afresh');
  }

  /** Over RPC: rows of one statement. @param {string} sql @param {unknown[]} [params] */
  query(sql, params) {
    return { rows: this.#exec(sql, positional(params)) };
  }

  /** Over RPC: one statement's changes. @param {string} sql @param {unknown[]} [params] */
  run(sql, params) {
    return this.#run(sql, positional(params));
  }

  /** Over RPC: nothing (the transport's own cost, for /_inworker's floor). */
  noop() {
    return null;
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
    if (url.pathname === '/_inworker/warmup' || url.pathname === '/_inworker/measure') {
      try {
        const spec = /** @type {any} */ (await request.json());
        return json(url.pathname.endsWith('/warmup') ? await inWorkerWarmup(env, spec) : await inWorkerMeasure(env, spec));
      } catch (err) {
        return json({ error: String(/** @type {any} */ (err)?.stack ?? err), code: 'BENCH_INWORKER' }, 500);
      }
    }
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
    if (endpoint === RESET) {
      // The abort rejects the call that made it; what matters is that the object is gone.
      await stub.testReopen().catch(() => {});
      return json({ reset: true });
    }
    if (endpoint === SETTLE) {
      await stub.testSettleAlarm();
      return json({ settled: true });
    }
    if (endpoint === STATS) {
      const s = await stub.stats();
      return json(system === 'native' ? s : oursStats(s));
    }
    return stub.fetch(new Request(`http://internal/${endpoint}`, request));
  },
};

// ---------------------------------------------------------------- in the Worker

/**
 * @typedef {{system: 'dosql' | 'native', transport: 'fetch' | 'rpc'}} Target
 * @typedef {{endpoint: 'query' | 'run' | 'noop', sql?: string, params?: unknown[]}} Op
 */

const targetKey = (/** @type {Target} */ t) => `${t.system}/${t.transport}`;
const ROUTE_OF = /** @type {const} */ ({ dosql: 'OURS_SQL', native: 'NATIVE' });

/** The stub of a target's object. @param {Record<string, any>} env @param {Target} t @param {string} tenant */
function stubOf(env, t, tenant) {
  const ns = env[ROUTE_OF[t.system]];
  if (!ns) throw new Error(`no Durable Object binding for system ${t.system}`);
  return ns.get(ns.idFromName(tenant));
}

const FETCH_HEADERS = Object.freeze({ 'content-type': 'application/json' });

/**
 * A function making one call of op to the stub, resolving to its decoded answer;
 * the request body is encoded before, not in, the call.
 * @param {any} stub @param {Target} t @param {Op} op
 * @returns {() => Promise<unknown>}
 */
function caller(stub, t, op) {
  if (t.transport === 'fetch') {
    const url = op.endpoint === 'noop' ? `http://internal${NOOP}` : `http://internal/${op.endpoint}`;
    const body = op.endpoint === 'noop' ? undefined : JSON.stringify({ sql: op.sql, params: op.params });
    return async () => {
      const res = await stub.fetch(url, { method: 'POST', headers: FETCH_HEADERS, body });
      if (res.status !== 200) throw new Error(`${targetKey(t)} ${op.endpoint} ${String(op.sql).slice(0, 120)}: ${res.status} ${(await res.text()).slice(0, 400)}`);
      return res.json();
    };
  }
  const params = op.params ?? [];
  if (op.endpoint === 'query') return () => stub.query(op.sql, params);
  if (op.endpoint === 'run') return () => stub.run(op.sql, params);
  return () => stub.noop();
}

/**
 * What the clock does here: the smallest step seen while spinning (bounded, in
 * case it stands still while JavaScript runs, as in production).
 * @returns {{resolutionMs: number, advancesInSyncCode: boolean}}
 */
function clockProbe() {
  const steps = [];
  let t = performance.now();
  for (let spins = 0; spins < 5_000_000 && steps.length < 5; spins++) {
    const u = performance.now();
    if (u !== t) {
      steps.push(u - t);
      t = u;
    }
  }
  // Frozen during sync code: the platform documents whole milliseconds.
  return steps.length ? { resolutionMs: Math.min(...steps), advancesInSyncCode: true } : { resolutionMs: 1, advancesInSyncCode: false };
}

/** Whether err says the stub's class has no such RPC method. @param {unknown} err */
const isNoMethod = (err) => /does not implement the method/i.test(String(/** @type {any} */ (err)?.message ?? err));

/**
 * Whether a DoSQL RPC answer has the agreed shape; null if so, else why not.
 * @param {Op} op @param {any} v
 */
function rpcShapeProblem(op, v) {
  // {rows: [...]} as native answers, or the rows themselves (DoSQLDatabase, e3c3ea2)
  if (op.endpoint === 'query') return Array.isArray(v) || Array.isArray(v?.rows) ? null : `query() answered ${JSON.stringify(v)?.slice(0, 200)}, not rows`;
  if (op.endpoint === 'run') {
    return v && typeof v.rowsAffected === 'number' && typeof v.lastInsertRowId === 'number'
      ? null
      : `run() answered ${JSON.stringify(v)?.slice(0, 200)}, not {rowsAffected, lastInsertRowId}`;
  }
  return null;
}

/**
 * POST /_inworker/warmup {tenant, targets, ops: {fetch: Op[], rpc: Op[]}, calls}:
 * each target makes `calls` calls, op k being ops[k % ops.length] of its transport
 * (warm-up, and a first estimate of the time per call: the whole run on one
 * clock). A DoSQL RPC target whose method is missing, or answers another shape, is
 * n/a with the reason.
 * @param {Record<string, any>} env @param {any} spec
 */
async function inWorkerWarmup(env, spec) {
  const clock = clockProbe();
  /** How DoSQL's RPC answers differ from native's, if they do. @type {string | null} */
  let shape = null;
  /** @type {any[]} */
  const targets = [];
  for (const t of /** @type {Target[]} */ (spec.targets)) {
    const stub = stubOf(env, t, spec.tenant);
    const ops = /** @type {Op[]} */ (spec.ops[t.transport]);
    const callers = ops.map((op) => caller(stub, t, op));
    const calls = Array.from({ length: spec.calls ?? ops.length }, (_, k) => callers[k % callers.length]);
    let first = 0; // calls made (and timed) before the loop
    let value;
    const t0 = performance.now();
    if (t.transport === 'rpc' && t.system === 'dosql') {
      let v;
      try {
        v = await calls[0]();
        first = 1;
        value = v;
      } catch (err) {
        if (!isNoMethod(err)) throw err;
        const method = ops[0].endpoint === 'noop' ? 'noop' : ops[0].endpoint;
        targets.push({ ...t, na: `n/a — DoSQLDatabase has no RPC method ${method}() yet`, error: String(/** @type {any} */ (err).message ?? err) });
        continue;
      }
      const problem = rpcShapeProblem(ops[0], v);
      if (problem) {
        targets.push({ ...t, na: `n/a — DoSQLDatabase's RPC ${problem}` });
        continue;
      }
      if (Array.isArray(v)) shape = 'query() answers the rows as an array';
    }
    for (const call of calls.slice(first)) value = await call();
    const ms = performance.now() - t0;
    targets.push({ ...t, perCallMs: ms / calls.length, calls: calls.length, value });
  }
  return { clock, targets, shape };
}

/**
 * POST /_inworker/measure {tenant, targets, ops: {fetch: Op[], rpc: Op[]}, batch,
 * from, rounds}: rounds from .. from+rounds-1; round i runs, for each target in
 * rotating order, calls i*batch .. i*batch+batch-1 of its transport (call k makes
 * op k % ops.length), timed as one batch. Answers each target's batch times (ms,
 * per round) and the answer to each batch's last call (run.mjs checks them and
 * that the targets agree). run.mjs keeps each of these requests to a few seconds:
 * when a Worker's request to the objects ran past about ten seconds, workerd
 * started the objects afresh as it ended (a DoSQL page cache lost mid-run).
 * @param {Record<string, any>} env @param {any} spec
 */
async function inWorkerMeasure(env, spec) {
  const targets = /** @type {Target[]} */ (spec.targets);
  const { batch, rounds, from = 0 } = spec;
  /** Each target's callers, one per op. @type {Map<string, (() => Promise<unknown>)[]>} */
  const callers = new Map(
    targets.map((t) => {
      const stub = stubOf(env, t, spec.tenant);
      return [targetKey(t), /** @type {Op[]} */ (spec.ops[t.transport]).map((op) => caller(stub, t, op))];
    }),
  );
  /** @type {Record<string, number[]>} */
  const ms = Object.fromEntries(targets.map((t) => [targetKey(t), []]));
  /** @type {Record<string, unknown[]>} */
  const last = Object.fromEntries(targets.map((t) => [targetKey(t), []]));
  for (let i = from; i < from + rounds; i++) {
    for (let j = 0; j < targets.length; j++) {
      const t = targets[(i + j) % targets.length];
      const key = targetKey(t);
      const mine = /** @type {(() => Promise<unknown>)[]} */ (callers.get(key));
      const first = i * batch;
      let value;
      const t0 = performance.now();
      for (let k = first; k < first + batch; k++) value = await mine[k % mine.length]();
      ms[key].push(performance.now() - t0);
      last[key].push(value);
    }
  }
  return { ms, last };
}
