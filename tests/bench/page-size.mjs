#!/usr/bin/env node
// page-size.mjs — which page size should a new DoSQL database get?
//
//   node tests/bench/page-size.mjs                 # 3 rounds, writes tests/bench/page-size.md
//   node tests/bench/page-size.mjs --rounds 1 --no-write
//   node tests/bench/page-size.mjs --sizes 4096,65536 --json /tmp/rounds.json
//
// Needs worker-shim/dist/dosql.wasm (./build.sh wasm) and node_modules (npm ci).
//
// For every page size (the DOSQL_PAGE_SIZE var, which applies to a new database)
// and both backends (SQLite-backed SQL_DB, legacy key-value KV_DB), a fresh
// workerd (Miniflare) runs the calls a user's Worker makes through the object's
// stub with the JSON protocol:
//   1. CREATE TABLE items(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT)
//   2. 300 single-row INSERTs, each its own /run (autocommit), ~100-byte rows
//   3. one /transaction of 2,000 INSERTs
//   4. 300 point SELECTs by primary key
//   5. a 1,000-row range scan, and SELECT count(*), sum(length(v)) FROM items
//   6. restart: dispose Miniflare, start a new one on the same storage, and time
//      a point SELECT (the object's cold start: wasm instance, open, page reads);
//      one restart per backend, so each is the first database request of its runtime
//   7. (extra, after the cold start) grow the table to 50,000 rows with 2,000-row
//      transactions, then one /transaction of 500 UPDATEs of random rows: how many
//      distinct pages (rows/keys, bytes, i.e. wasm memory until commit) a
//      transaction of scattered small changes dirties in a table bigger than a
//      few pages
// Storage cost comes from tests/bench/bench-worker.js, which counts each object's
// ctx.storage calls (rows/keys read and written, bytes, 4 KB units) and answers
// them on /_bench/stats.
//
// Page sizes are interleaved run by run (A B C D A B C D ...), and the backend
// order alternates by round, so machine noise lands on all of them. Counts are
// deterministic (seeded keys) and checked equal across rounds; times are noisy
// (shared cores), so the table gives them as medians and as ratios to the first
// page size measured in the same round.

import { mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { REPO, TMP, COMPATIBILITY_DATE, requireWasm, createClient, startBothBackends, seededRandom as rng } from '../worker/harness.js';

// ---------------------------------------------------------------- settings

const args = parseArgs(process.argv.slice(2));
const SIZES = (args.sizes ?? '4096,8192,16384,65536').split(',').map(Number);
const ROUNDS = Number(args.rounds ?? 3);
const WRITE_REPORT = !args['no-write'];
const OUT = args.out ? resolve(String(args.out)) : join(REPO, 'tests/bench/page-size.md');
const BACKENDS = /** @type {const} */ (['sql', 'kv']);

const SINGLE_INSERTS = 300;
const TX_ROWS = 2000;
const POINT_SELECTS = 300;
const RANGE_ROWS = 1000;
const ROW_V_CHARS = 80; // + id + 17-char key + record header: ~100 bytes a row

const BIG_ROWS = 50000;
const BULK_CHUNK = 2000;
const SCATTERED_UPDATES = 500;

const INSERT = 'INSERT INTO items(k, v) VALUES (?, ?)';
const POINT = 'SELECT id, k, v FROM items WHERE id = ?';

for (const s of SIZES) {
  if (!(Number.isInteger(s) && s >= 512 && s <= 65536 && (s & (s - 1)) === 0)) {
    throw new Error(`--sizes: ${s} is not a power of two from 512 to 65536`);
  }
}

// ---------------------------------------------------------------- runtime

/**
 * A folder with the bench worker's entry and persisted storage, and a workerd
 * that can be (re)started on it with DOSQL_PAGE_SIZE set.
 * @param {number} pageSize
 */
function benchWorld(pageSize) {
  const dir = join(TMP, `bench-page-size-${pageSize}-${randomUUID().slice(0, 8)}`);
  const persist = join(dir, 'persist');
  mkdirSync(persist, { recursive: true });
  const fixture = relative(dir, join(REPO, 'tests/bench/bench-worker.js')).split('\\').join('/');
  writeFileSync(
    join(dir, 'worker.js'),
    [
      `import { makeBenchClasses, handle } from '${fixture}';`,
      'const { Sql, Kv } = makeBenchClasses([], {});',
      'export { Sql as DoSQLSql, Kv as DoSQLKv };',
      'export default { fetch: handle };',
      '',
    ].join('\n'),
  );
  /** @type {any} */
  let mf = null;
  return {
    async start() {
      // a [vars] entry is a string
      mf = await startBothBackends(join(dir, 'worker.js'), persist, { DOSQL_PAGE_SIZE: String(pageSize) });
    },
    async stop() {
      const running = mf;
      mf = null;
      if (running) await running.dispose();
    },
    async destroy() {
      await this.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    /** @param {'sql' | 'kv'} backend @param {string} tenant */
    client(backend, tenant) {
      const c = createClient((path, init) => mf.dispatchFetch(`http://localhost/${backend}/${tenant}${path}`, init));
      return Object.assign(c, {
        /** The object's storage counters. */
        async stats() {
          const a = await c.post('/_bench/stats', {});
          if (a.status !== 200) throw new Error(`stats: ${a.status} ${a.text}`);
          return a.body;
        },
      });
    },
  };
}

// ---------------------------------------------------------------- data

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** @param {() => number} r @param {number} n */
function text(r, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}
/** Rows with random unique keys (an index written at random places, as emails or UUIDs are). */
function makeRows() {
  const r = rng(20261124);
  const seen = new Set();
  const rows = [];
  while (rows.length < SINGLE_INSERTS + TX_ROWS) {
    const k = `user-${text(r, 12)}`;
    if (seen.has(k)) continue;
    seen.add(k);
    rows.push([k, text(r, ROW_V_CHARS)]);
  }
  const ids = Array.from({ length: POINT_SELECTS }, () => 1 + Math.floor(r() * (SINGLE_INSERTS + TX_ROWS)));
  const coldId = 1 + Math.floor(r() * (SINGLE_INSERTS + TX_ROWS));
  // Step 7's data, from its own generator so steps 1-6 never change with it.
  const r7 = rng(7);
  const bulk = [];
  for (let i = rows.length; i < BIG_ROWS; i++) bulk.push([`bulk-${String(i).padStart(12, '0')}`, text(r7, ROW_V_CHARS)]);
  const updates = new Set();
  while (updates.size < SCATTERED_UPDATES) updates.add(1 + Math.floor(r7() * BIG_ROWS));
  return { rows, ids, coldId, bulk, updates: [...updates].map((id) => [text(r7, ROW_V_CHARS), id]) };
}
const DATA = makeRows();

// ---------------------------------------------------------------- measuring

const COUNT_FIELDS = ['reads', 'writes', 'readUnits', 'writeUnits', 'bytesRead', 'bytesWritten', 'calls', 'storageGets'];

/** @param {any} after @param {any} before */
function diff(after, before) {
  /** @type {Record<string, number>} */
  const d = {};
  for (const f of COUNT_FIELDS) d[f] = after[f] - before[f];
  return d;
}

/** @param {() => Promise<unknown>} fn */
async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** @param {number[]} xs */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Steps 1-5 on one object, warm.
 * @param {ReturnType<ReturnType<typeof benchWorld>['client']>} db
 * @param {number} pageSize
 */
async function warmPhases(db, pageSize) {
  const out = /** @type {any} */ ({});
  let s0 = await db.stats();

  // 1. create (the object's first request: open, page 1, the table)
  out.create = { ms: (await timed(() => db.run('CREATE TABLE items(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT)'))).ms };
  let s1 = await db.stats();
  out.create.cost = diff(s1, s0);

  // 2. single-row inserts in autocommit
  const insertMs = [];
  for (let i = 0; i < SINGLE_INSERTS; i++) {
    const { ms, value } = await timed(() => db.run(INSERT, DATA.rows[i]));
    if (/** @type {any} */ (value).lastInsertRowId !== i + 1) throw new Error(`insert ${i}: unexpected ${JSON.stringify(value)}`);
    insertMs.push(ms);
  }
  s0 = s1;
  s1 = await db.stats();
  out.insert = { medianMs: median(insertMs), totalMs: insertMs.reduce((a, b) => a + b, 0), cost: diff(s1, s0) };

  // 3. one transaction of TX_ROWS inserts
  const ops = DATA.rows.slice(SINGLE_INSERTS).map((params) => ({ type: 'run', sql: INSERT, params }));
  const tx = await timed(() => db.transaction(ops));
  if (/** @type {any} */ (tx.value).lastInsertRowId !== SINGLE_INSERTS + TX_ROWS) throw new Error(`transaction: ${JSON.stringify(tx.value)}`);
  s0 = s1;
  s1 = await db.stats();
  out.tx = { ms: tx.ms, cost: diff(s1, s0) };

  // 4. point selects by primary key
  const pointMs = [];
  for (const id of DATA.ids) {
    const { ms, value } = await timed(() => db.query(POINT, [id]));
    if (/** @type {any[]} */ (value)[0]?.id !== id) throw new Error(`point select ${id}: ${JSON.stringify(value)}`);
    pointMs.push(ms);
  }
  s0 = s1;
  s1 = await db.stats();
  out.point = { medianMs: median(pointMs), cost: diff(s1, s0) };

  // 5. a range scan and an aggregate over the table
  const range = await timed(() => db.query('SELECT id, k, v FROM items WHERE id BETWEEN ? AND ? ORDER BY id', [501, 500 + RANGE_ROWS]));
  if (/** @type {any[]} */ (range.value).length !== RANGE_ROWS) throw new Error('range scan: wrong row count');
  const agg = await timed(() => db.queryOne('SELECT count(*) AS n, sum(length(v)) AS bytes FROM items'));
  if (/** @type {any} */ (agg.value).n !== SINGLE_INSERTS + TX_ROWS) throw new Error(`aggregate: ${JSON.stringify(agg.value)}`);
  s0 = s1;
  s1 = await db.stats();
  out.scan = { rangeMs: range.ms, aggMs: agg.ms, cost: diff(s1, s0) };

  // the database as stored
  const ps = (await db.queryOne('PRAGMA page_size')).page_size;
  const pages = (await db.queryOne('PRAGMA page_count')).page_count;
  if (ps !== pageSize) throw new Error(`DOSQL_PAGE_SIZE=${pageSize} but the database has page_size ${ps}`);
  out.db = { pageSize: ps, pages, bytes: ps * pages };
  return out;
}

/**
 * Step 6 on one object, right after a restart: the first point SELECT.
 * @param {ReturnType<ReturnType<typeof benchWorld>['client']>} db
 */
async function coldPhase(db) {
  const s0 = await db.stats(); // constructs the object; DoSQL starts on the next request
  const { ms, value } = await timed(() => db.query(POINT, [DATA.coldId]));
  if (/** @type {any[]} */ (value)[0]?.id !== DATA.coldId) throw new Error('cold point select: wrong row');
  const s1 = await db.stats();
  const again = await timed(() => db.query(POINT, [DATA.coldId]));
  return { ms, warmMs: again.ms, cost: diff(s1, s0) };
}

/**
 * Step 7 (extra): grow the table, then one transaction of scattered UPDATEs.
 * @param {ReturnType<ReturnType<typeof benchWorld>['client']>} db
 */
async function scatteredPhase(db) {
  // The same start for every object whatever restart it saw last: every page of
  // the table and of its index in the page cache.
  await db.query('SELECT sum(length(v)) AS t FROM items');
  await db.query("SELECT sum(length(k)) AS i FROM items WHERE k > ''");
  let s0 = await db.stats();
  for (let i = 0; i < DATA.bulk.length; i += BULK_CHUNK) {
    await db.transaction(DATA.bulk.slice(i, i + BULK_CHUNK).map((params) => ({ type: 'run', sql: INSERT, params })));
  }
  let s1 = await db.stats();
  const load = { cost: diff(s1, s0) };
  const ops = DATA.updates.map((params) => ({ type: 'run', sql: 'UPDATE items SET v = ? WHERE id = ?', params }));
  const { ms } = await timed(() => db.transaction(ops));
  s0 = s1;
  s1 = await db.stats();
  const pages = (await db.queryOne('PRAGMA page_count')).page_count;
  return { load, update: { ms, cost: diff(s1, s0) }, pages };
}

/**
 * One run: a fresh database per backend at this page size, steps 1-7.
 * @param {number} pageSize
 * @param {number} round
 */
async function run(pageSize, round) {
  const world = benchWorld(pageSize);
  const order = round % 2 === 0 ? BACKENDS : [...BACKENDS].reverse();
  /** @type {Record<string, any>} */
  const result = {};
  try {
    await world.start();
    for (const backend of order) result[backend] = await warmPhases(world.client(backend, 'bench'), pageSize);
    // One restart per backend, so each cold start is the first database request
    // of a fresh runtime (the first one also pays the isolate's first wasm calls).
    for (const backend of order) {
      await world.stop();
      const restart = await timed(() => world.start());
      result[backend].cold = await coldPhase(world.client(backend, 'bench'));
      result[backend].cold.restartMs = restart.ms;
    }
    for (const backend of order) result[backend].scattered = await scatteredPhase(world.client(backend, 'bench'));
  } finally {
    await world.destroy();
  }
  return result;
}

// ---------------------------------------------------------------- main

requireWasm();
const started = performance.now();
const date = new Date().toISOString();

// Warm the Node side (undici, module loading) once; not measured.
{
  const w = benchWorld(4096);
  try {
    await w.start();
    const db = w.client('sql', 'warmup');
    await db.run('CREATE TABLE t(x)');
    for (let i = 0; i < 20; i++) await db.run('INSERT INTO t VALUES (?)', [i]);
  } finally {
    await w.destroy();
  }
}

/** results[round][pageSize][backend] */
const results = [];
for (let round = 0; round < ROUNDS; round++) {
  /** @type {Record<number, any>} */
  const byPage = {};
  for (const pageSize of SIZES) {
    const t0 = performance.now();
    byPage[pageSize] = await run(pageSize, round);
    const r = byPage[pageSize];
    console.error(
      `round ${round + 1}/${ROUNDS} page ${String(pageSize).padStart(5)}: ` +
        BACKENDS.map((b) => `${b} insert ${r[b].insert.medianMs.toFixed(2)} ms, ${(r[b].insert.cost.writes / SINGLE_INSERTS).toFixed(2)} writes/insert`).join('; ') +
        ` (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  results.push(byPage);
}
const elapsedS = (performance.now() - started) / 1000;
if (args.json) {
  writeFileSync(resolve(String(args.json)), JSON.stringify({ date, sizes: SIZES, rounds: results }, null, 1));
  console.error(`wrote every round's numbers to ${args.json}`);
}

// Counts must not depend on the round (the workload is deterministic).
const COSTS = /** @type {const} */ ([
  ['create', 'cost'],
  ['insert', 'cost'],
  ['tx', 'cost'],
  ['point', 'cost'],
  ['scan', 'cost'],
  ['cold', 'cost'],
]);
const nested = (/** @type {any} */ r, /** @type {string} */ path) => path.split('.').reduce((o, k) => o[k], r);
const mismatches = [];
for (const pageSize of SIZES) {
  for (const backend of BACKENDS) {
    const first = results[0][pageSize][backend];
    for (let round = 1; round < ROUNDS; round++) {
      const other = results[round][pageSize][backend];
      for (const phase of [...COSTS.map(([p]) => `${p}.cost`), 'scattered.load.cost', 'scattered.update.cost']) {
        for (const f of ['reads', 'writes', 'bytesWritten']) {
          const a = nested(first, phase)[f];
          const b = nested(other, phase)[f];
          if (a !== b) mismatches.push(`${backend} ${pageSize} ${phase}.${f}: round 1 ${a}, round ${round + 1} ${b}`);
        }
      }
    }
  }
}

/**
 * Median over rounds of a time, and of its ratio to the first page size's time
 * in the same round and backend.
 * @param {'sql' | 'kv'} backend @param {number} pageSize @param {(r: any) => number} pick
 */
function timeStat(backend, pageSize, pick) {
  const ms = results.map((r) => pick(r[pageSize][backend]));
  const ratio = results.map((r) => pick(r[pageSize][backend]) / pick(r[SIZES[0]][backend]));
  return { ms: median(ms), ratio: median(ratio) };
}

const fmtInt = (/** @type {number} */ n) => Math.round(n).toLocaleString('en-US');
const fmt1 = (/** @type {number} */ n) => (Math.round(n * 10) / 10).toLocaleString('en-US');
const fmtKiB = (/** @type {number} */ n) => `${fmt1(n / 1024)} KiB`;
const fmtT = (/** @type {{ms: number, ratio: number}} */ t) => `${t.ms.toFixed(t.ms < 10 ? 2 : 0)} ms (×${t.ratio.toFixed(2)})`;

/** The table rows of one backend. @param {'sql' | 'kv'} backend */
function table(backend) {
  const kv = backend === 'kv';
  const unit = kv ? 'keys' : 'rows';
  const at = (/** @type {number} */ ps) => results[0][ps][backend];
  /** @type {[string, (ps: number) => string][]} */
  const lines = [
    [`single INSERT: ${unit} written / insert`, (ps) => (at(ps).insert.cost.writes / SINGLE_INSERTS).toFixed(2)],
    ...(kv ? /** @type {[string, (ps: number) => string][]} */ ([[`single INSERT: 4 KB write units / insert`, (ps) => (at(ps).insert.cost.writeUnits / SINGLE_INSERTS).toFixed(2)]]) : []),
    [`single INSERT: bytes written / insert`, (ps) => fmtKiB(at(ps).insert.cost.bytesWritten / SINGLE_INSERTS)],
    [`single INSERT: ${unit} read (all ${SINGLE_INSERTS})`, (ps) => fmtInt(at(ps).insert.cost.reads)],
    [`single INSERT: median time`, (ps) => fmtT(timeStat(backend, ps, (r) => r.insert.medianMs))],
    [`${TX_ROWS}-row transaction: ${unit} written`, (ps) => fmtInt(at(ps).tx.cost.writes)],
    ...(kv ? /** @type {[string, (ps: number) => string][]} */ ([[`${TX_ROWS}-row transaction: 4 KB write units`, (ps) => fmtInt(at(ps).tx.cost.writeUnits)]]) : []),
    [`${TX_ROWS}-row transaction: bytes written (= dirty pages held until commit)`, (ps) => fmtKiB(at(ps).tx.cost.bytesWritten)],
    [`${TX_ROWS}-row transaction: ${unit} read`, (ps) => fmtInt(at(ps).tx.cost.reads)],
    [`${TX_ROWS}-row transaction: time`, (ps) => fmtT(timeStat(backend, ps, (r) => r.tx.ms))],
    [`point SELECT: ${unit} read (all ${POINT_SELECTS}, warm)`, (ps) => fmtInt(at(ps).point.cost.reads)],
    [`point SELECT: median time`, (ps) => fmtT(timeStat(backend, ps, (r) => r.point.medianMs))],
    [`range scan ${RANGE_ROWS} rows: time`, (ps) => fmtT(timeStat(backend, ps, (r) => r.scan.rangeMs))],
    [`count(*), sum(length(v)): time`, (ps) => fmtT(timeStat(backend, ps, (r) => r.scan.aggMs))],
    [`database: pages × page size`, (ps) => `${at(ps).db.pages} × ${ps} = ${fmtKiB(at(ps).db.bytes)}`],
    [`CREATE TABLE (first request): ${unit} written`, (ps) => fmtInt(at(ps).create.cost.writes)],
    [`cold start: ${unit} read`, (ps) => fmtInt(at(ps).cold.cost.reads)],
    ...(kv
      ? /** @type {[string, (ps: number) => string][]} */ ([
          [`cold start: 4 KB read units`, (ps) => fmtInt(at(ps).cold.cost.readUnits)],
          [`cold start: get() calls (round trips)`, (ps) => fmtInt(at(ps).cold.cost.storageGets)],
        ])
      : []),
    [`cold start: bytes read`, (ps) => fmtKiB(at(ps).cold.cost.bytesRead)],
    [`cold start: first point SELECT`, (ps) => fmtT(timeStat(backend, ps, (r) => r.cold.ms))],
    [`same SELECT again (warm)`, (ps) => fmtT(timeStat(backend, ps, (r) => r.cold.warmMs))],
    [`extra: grow to ${fmtInt(BIG_ROWS)} rows: ${unit} written / 1,000 rows`, (ps) => fmt1((at(ps).scattered.load.cost.writes / DATA.bulk.length) * 1000)],
    [`extra: then ${SCATTERED_UPDATES} random-row UPDATEs in one transaction: ${unit} written`, (ps) => fmtInt(at(ps).scattered.update.cost.writes)],
    ...(kv ? /** @type {[string, (ps: number) => string][]} */ ([[`extra: same: 4 KB write units`, (ps) => fmtInt(at(ps).scattered.update.cost.writeUnits)]]) : []),
    [`extra: same: bytes written (= dirty pages held until commit)`, (ps) => fmtKiB(at(ps).scattered.update.cost.bytesWritten)],
    [`extra: same: time`, (ps) => fmtT(timeStat(backend, ps, (r) => r.scattered.update.ms))],
    [`extra: database then: pages × page size`, (ps) => `${fmtInt(at(ps).scattered.pages)} × ${ps} = ${fmtKiB(at(ps).scattered.pages * ps)}`],
  ];
  const head = `| ${backend === 'sql' ? 'SQLite-backed (SQL_DB)' : 'legacy key-value (KV_DB)'} | ${SIZES.join(' | ')} |`;
  const sep = `| --- | ${SIZES.map(() => '---:').join(' | ')} |`;
  return [head, sep, ...lines.map(([name, cell]) => `| ${name} | ${SIZES.map(cell).join(' | ')} |`)].join('\n');
}

/** Dollars per million single-row inserts at list price. @param {'sql' | 'kv'} backend @param {number} ps */
function insertDollarsPerMillion(backend, ps) {
  const c = results[0][ps][backend].insert.cost;
  // SQLite-backed: $1.00 / million rows written; key-value: $1.00 / million 4 KB write units.
  return ((backend === 'sql' ? c.writes : c.writeUnits) / SINGLE_INSERTS) * 1.0;
}

const workerdVersion = readJson('node_modules/@cloudflare/workerd-linux-64/package.json')?.version ?? readJson('node_modules/workerd/package.json')?.version ?? '?';
const miniflareVersion = readJson('node_modules/miniflare/package.json')?.version ?? '?';
const command = `node tests/bench/page-size.mjs${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`;

const report = [
  '# Page size benchmark',
  '',
  `Generated by \`tests/bench/page-size.mjs\`; re-run with \`${command}\` (about ${Math.ceil(elapsedS / 60)} min here).`,
  '',
  `- date: ${date}`,
  `- machine: nproc ${nproc()} (shared with other work), ${os.cpus()[0]?.model ?? '?'}, ${fmt1(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
  `- node ${process.version}, workerd ${workerdVersion} (miniflare ${miniflareVersion}), compatibility date ${COMPATIBILITY_DATE}`,
  `- dosql.wasm: ${fmtInt(readSize('worker-shim/dist/dosql.wasm'))} bytes; git ${gitHead()}`,
  `- ${ROUNDS} round(s), page sizes interleaved per round (${SIZES.join(' ')} ...), backend order alternating; ${fmt1(elapsedS)} s in all`,
  '',
  'Workload per page size and backend (a fresh database, through the stub\'s `fetch` with the JSON protocol):',
  `CREATE TABLE items(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT); ${SINGLE_INSERTS} single-row INSERTs via \`/run\``,
  `(random 17-char unique key, ${ROW_V_CHARS}-char value: ~100-byte rows); one \`/transaction\` of ${TX_ROWS} INSERTs;`,
  `${POINT_SELECTS} point SELECTs by id; a ${RANGE_ROWS}-row range scan and \`SELECT count(*), sum(length(v))\`; then a`,
  'restart of workerd on the same storage and the first point SELECT (cold start: one restart per backend; the',
  'object is constructed by an untimed stats request, so the time is DoSQL\'s start — wasm instance, open,',
  'page reads — plus the SELECT, and the first wasm calls of the fresh isolate). The "extra" rows come',
  `after that: the table grown to ${fmtInt(BIG_ROWS)} rows in ${fmtInt(BULK_CHUNK)}-row transactions, then one transaction of`,
  `${SCATTERED_UPDATES} \`UPDATE items SET v = ? WHERE id = ?\` on random ids.`,
  '',
  (ROUNDS > 1
    ? 'Counts (rows/keys, bytes, units) are exact and ' +
      (mismatches.length ? `differed between rounds: ${mismatches.join('; ')}; the tables show round 1.` : 'were identical in every round.')
    : 'Counts (rows/keys, bytes, units) are exact.'),
  'They are counted at `ctx.storage` by `tests/bench/bench-worker.js`: on SQLite-backed objects the',
  '`rowsRead`/`rowsWritten` of the cursors, which is what is billed (reads $0.001 and writes $1.00 per',
  'million rows); on key-value objects the keys read by `get` and put/deleted, and the request units',
  'that backend bills (one per started 4 KB of each value; reads $0.20, writes $1.00 per million units).',
  `Times are caller-side wall time (\`dispatchFetch\` round trip, local disk, ${nproc()} shared cores): the median`,
  `over ${ROUNDS} round(s) and, in parentheses, the median of the ratio to ${SIZES[0]} in the same round and`,
  'backend. They are noisy; trust the counts first.',
  '',
  table('sql'),
  '',
  table('kv'),
  '',
  'List price of one million single-row INSERTs into this table (storage writes only):',
  '',
  `| backend | ${SIZES.join(' | ')} |`,
  `| --- | ${SIZES.map(() => '---:').join(' | ')} |`,
  `| SQLite-backed ($1.00 / M rows written) | ${SIZES.map((ps) => `$${insertDollarsPerMillion('sql', ps).toFixed(2)}`).join(' | ')} |`,
  `| key-value ($1.00 / M 4 KB write units) | ${SIZES.map((ps) => `$${insertDollarsPerMillion('kv', ps).toFixed(2)}`).join(' | ')} |`,
  '',
].join('\n');

console.log(report);
if (mismatches.length) console.error(`warning: counts differed between rounds:\n  ${mismatches.join('\n  ')}`);

if (WRITE_REPORT) {
  // Keep the hand-written recommendation across re-runs.
  const MARK = '## Recommendation';
  let recommendation = `${MARK}\n\n(to be written from the numbers above)\n`;
  if (existsSync(OUT)) {
    const old = readFileSync(OUT, 'utf8');
    const at = old.indexOf(MARK);
    if (at >= 0) recommendation = old.slice(at);
  }
  writeFileSync(OUT, `${report}\n${recommendation}`);
  console.error(`wrote ${relative(REPO, OUT)} (the "${MARK}" section is kept from the previous file)`);
}
console.error(`done in ${fmt1(elapsedS)} s`);

// ---------------------------------------------------------------- helpers

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {Record<string, string | true>} */
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [key, inline] = a.slice(2).split('=', 2);
    if (key === 'no-write') out[key] = true;
    else if (['sizes', 'rounds', 'out', 'json'].includes(key)) out[key] = inline ?? argv[++i];
    else throw new Error(`unknown option --${key} (known: --rounds N, --sizes a,b,c, --out FILE, --json FILE, --no-write)`);
  }
  return /** @type {any} */ (out);
}

function nproc() {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return String(os.availableParallelism?.() ?? os.cpus().length);
  }
}

/** @param {string} path */
function readJson(path) {
  try {
    return JSON.parse(readFileSync(join(REPO, path), 'utf8'));
  } catch {
    return null;
  }
}

/** @param {string} path */
function readSize(path) {
  return readFileSync(join(REPO, path)).byteLength;
}

function gitHead() {
  try {
    const head = readFileSync(join(REPO, '.git/HEAD'), 'utf8').trim();
    const ref = head.startsWith('ref: ') ? readFileSync(join(REPO, '.git', head.slice(5)), 'utf8').trim() : head;
    return ref.slice(0, 7);
  } catch {
    return '?';
  }
}
