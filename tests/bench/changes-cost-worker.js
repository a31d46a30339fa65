// changes-cost-worker.js — the Worker of changes-cost.mjs's second part: what change
// capture costs a write where the user's code runs. Three DoSQL objects of the same
// SQLite-backed class but for its `changes` option (off, on, captured tables none of
// these workloads write) hold the same tables; the Worker calls their stubs over
// Workers RPC, as a user's Worker does, and times each object's batch of calls with
// its own clock (whole milliseconds here, so batches, never single calls), then runs
// what retention would run within a minute (the change log pruned), timed apart. One
// request is one round of one workload, so no request runs long enough for workerd to
// start the objects afresh (tests/bench/request-path.md, "A harness lesson").
//
//   POST /setup {configs}                  the tables, in each configuration's object
//   POST /round {workload, batch, order}   {ms, rowsWritten (per call), pruneMs}, each by config

import { makeClasses } from '../worker/fixtures/dosql-worker.js';
import { INSERT_USER, READ_IDS, READ_USER, SETUP, TX_ROWS, UPDATE_BIG } from './changes-cost-sql.js';

const { Sql: CaptureOff } = makeClasses([], { changes: false });
const { Sql: CaptureOn } = makeClasses([], {});
const { Sql: CaptureOthers } = makeClasses([], { changes: { tables: ['audit'] } });
export { CaptureOff, CaptureOn, CaptureOthers };

let made = 0; // every call's unique email, across rounds and objects
let read = 0;

/** One call of each workload, as a user's Worker makes it. @type {Record<string, (db: any) => Promise<unknown>>} */
const WORKLOADS = {
  insert: (db) => {
    const i = ++made;
    return db.run(INSERT_USER, [`user ${i}`, `u${i}@example.com`, i]);
  },
  tx1000: (db) => {
    const i = ++made;
    return db.batch(Array.from({ length: TX_ROWS }, (_, j) => ({ sql: INSERT_USER, params: [`bulk ${j}`, `b${i}-${j}@example.com`, j] })));
  },
  update100k: (db) => db.run(UPDATE_BIG),
  read: (db) => db.query(READ_USER, [1 + (read++ % READ_IDS)]),
};

/** A configuration's object: its class is bound as CAPTURE_<CONFIG> (changes-cost.mjs). @param {Record<string, any>} env @param {string} config */
const stubOf = (env, config) => {
  const ns = env[`CAPTURE_${config.toUpperCase()}`];
  return ns.get(ns.idFromName('bench'));
};

/** @param {Record<string, any>} env @param {{configs: string[]}} spec */
async function setup(env, { configs }) {
  for (const config of configs) {
    const db = stubOf(env, config);
    for (const sql of SETUP) await db.run(sql);
  }
  return {};
}

/** @param {Record<string, any>} env @param {{workload: string, batch: number, order: string[]}} spec */
async function round(env, { workload, batch, order }) {
  const call = WORKLOADS[workload];
  if (!call) throw new Error(`no workload ${workload}`);
  /** @type {Record<string, number>} */
  const ms = {};
  /** @type {Record<string, number>} */
  const rowsWritten = {};
  for (const config of order) {
    const db = stubOf(env, config);
    const before = (await db.stats()).storage.rowsWritten;
    const t0 = Date.now();
    for (let i = 0; i < batch; i++) await call(db);
    ms[config] = Date.now() - t0;
    rowsWritten[config] = ((await db.stats()).storage.rowsWritten - before) / batch;
  }
  // What retention does within a minute of the writes (prune the change log to its
  // limits; its alarm, off the request path), so that every round starts from a log of
  // the same size: timed apart.
  /** @type {Record<string, number>} */
  const pruneMs = {};
  for (const config of order) {
    const t0 = Date.now();
    await stubOf(env, config).testSettleAlarm();
    pruneMs[config] = Date.now() - t0;
  }
  return { ms, rowsWritten, pruneMs };
}

export default {
  /** @param {Request} request @param {Record<string, any>} env */
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    try {
      if (pathname === '/setup') return Response.json(await setup(env, await request.json()));
      if (pathname === '/round') return Response.json(await round(env, await request.json()));
      return new Response('not found', { status: 404 });
    } catch (err) {
      return new Response(String(/** @type {any} */ (err)?.stack ?? err), { status: 500 });
    }
  },
};
