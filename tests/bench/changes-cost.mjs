#!/usr/bin/env node
// changes-cost.mjs — what change capture (docs/changes.md) costs a write.
//
//   node tests/bench/changes-cost.mjs               # 5 rounds, writes tests/bench/changes-cost.md
//   node tests/bench/changes-cost.mjs --rounds 1 --no-write
//
// Needs worker-shim/dist/dosql.wasm (./build.sh wasm).
//
// First the engine alone, in Node over in-memory pages (what capture adds inside the
// engine). Three engines run the same workloads interleaved op by op, so machine noise
// lands on all: capture off, capture on (every table), and capture limited by
// changes.tables to a table these workloads never write (what a write to a table
// nobody captures costs):
//   1. 500 single-row INSERTs, each its own /run, into a table with one index
//   2. 500 point SELECTs (capture must cost reads nothing)
//   3. 20 /transaction calls of 1,000 INSERTs each
//   4. one UPDATE of every row of a 100,000-row table (the largest statement
//      class: its events are kept in memory until the statement ends)
// Times are medians per op and on/off ratios (and, in brackets, the ratio of the least
// times, which other work on a shared machine disturbs least); counts are exact.
//
// Then the same workloads where the user's code runs: three SQLite-backed DoSQL
// objects in workerd (changes-cost-worker.js), called over Workers RPC from the
// Worker, which times batches with its own clock: the whole call, the storage commit
// and Workers RPC included, and rows written as the object's storage bills them.
// Single-row INSERTs go in batches of CHECKPOINT_ROWS calls, so that every batch pays
// for the checkpoints of its commits.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Engine } from '../../worker-shim/src/wasm/engine.js';
import { MemoryPages } from '../worker/fixtures/memory-storage.js';
import { REPO, TMP, WASM_PATH, requireWasm, startWorker } from '../worker/harness.js';
import { postOk } from './engine-call.js';
import { CHECKPOINT_ROWS } from '../../worker-shim/src/config.js';
import { INSERT_USER, READ_IDS, READ_USER, SETUP, TX_ROWS, UPDATE_BIG } from './changes-cost-sql.js';

const REPORT = join(REPO, 'tests/bench/changes-cost.md');

/** Pages written, counted at storage. */
class CountingPages extends MemoryPages {
  pagesWritten = 0;
  /** @param {any} batch */
  commit(batch) {
    this.pagesWritten += batch.pages.length;
    super.commit(batch);
  }
}

/** The configurations compared: how each engine opens (in Node). */
const CONFIGS = [
  { key: 'off', open: { captureChanges: false } },
  { key: 'on', open: { captureChanges: true } },
  { key: 'others', open: { captureChanges: true, captureTables: ['audit'] } },
];

/** Each configuration's class in changes-cost-worker.js (bound as CAPTURE_<KEY>). */
const WORKER_CLASS = { off: 'CaptureOff', on: 'CaptureOn', others: 'CaptureOthers' };

/** @param {WebAssembly.Module} module @param {typeof CONFIGS[number]} config */
async function start(module, config) {
  const storage = new CountingPages();
  const engine = new Engine(module, { storage });
  const opened = await engine.open(0, config.open);
  if (opened.status !== 200) throw new Error(`open failed: ${new TextDecoder().decode(opened.body)}`);
  for (const sql of SETUP) await postOk(engine, '/run', { sql });
  return { engine, storage, key: config.key };
}

/** The workloads: each op is one call; ops are run alternately on the engines. The reads
 *  come before the bulk writes: in workerd, the objects' storage upkeep after those
 *  (checkpoints, the change log's pruning) runs in the background and would land on them. */
const WORKLOADS = [
  { key: 'insert', label: 'single-row INSERT (one index), per op', ops: 500,
    op: (i, r) => ['/run', { sql: INSERT_USER, params: [`user ${i}`, `u${r}-${i}@example.com`, i] }] },
  { key: 'read', label: 'point SELECT, per op', ops: 500,
    op: (i) => ['/query', { sql: READ_USER, params: [1 + (i % READ_IDS)] }] },
  { key: 'tx1000', label: '1,000-row /transaction, per op', ops: 20,
    op: (i, r) => ['/transaction', { operations: Array.from({ length: TX_ROWS }, (_, j) => ({ type: 'run', sql: INSERT_USER, params: [`bulk ${j}`, `b${r}-${i}-${j}@example.com`, j] })) }] },
  { key: 'update100k', label: 'UPDATE of 100,000 rows, one statement', ops: 1,
    op: () => ['/run', { sql: UPDATE_BIG }] },
];

/** The workloads in the Worker (changes-cost-worker.js): calls per timed batch. */
const WORKER_BATCH = { insert: CHECKPOINT_ROWS, tx1000: 4, update100k: 1, read: 512 };

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const least = (/** @type {number[]} */ xs) => Math.min(...xs);

/**
 * The workloads in workerd: per workload and configuration, each round's ms per call
 * and rows written per call, and the ms of the change log's pruning after the batch
 * (the configurations in rotating order).
 * @param {number} rounds @param {Record<string, number>} batches  calls per timed batch, by workload
 * @returns {Promise<Record<string, Record<string, {times: number[], rows: number[], pruneMs: number[]}>>>}
 */
async function inWorker(rounds, batches) {
  const dir = join(TMP, `changes-cost-${randomUUID().slice(0, 8)}`);
  mkdirSync(dir, { recursive: true });
  const mf = await startWorker(
    join(REPO, 'tests/bench/changes-cost-worker.js'),
    Object.fromEntries(CONFIGS.map((c) => [`CAPTURE_${c.key.toUpperCase()}`, { className: WORKER_CLASS[/** @type {keyof typeof WORKER_CLASS} */ (c.key)], useSQLite: true }])),
    { durableObjectsPersist: dir },
  );
  try {
    const post = async (/** @type {string} */ path, /** @type {unknown} */ body) => {
      const res = await mf.dispatchFetch(`http://bench${path}`, { method: 'POST', body: JSON.stringify(body) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text.slice(0, 2000)}`);
      return JSON.parse(text);
    };
    const keys = CONFIGS.map((c) => c.key);
    await post('/setup', { configs: keys });
    /** @type {Record<string, Record<string, {times: number[], rows: number[], pruneMs: number[]}>>} */
    const results = Object.fromEntries(WORKLOADS.map((w) => [w.key, Object.fromEntries(keys.map((k) => [k, { times: [], rows: [], pruneMs: [] }]))]));
    for (const w of WORKLOADS) {
      const batch = batches[w.key];
      // One untimed round first: each object's statements prepared, its pages cached.
      for (let round = -1; round < rounds; round++) {
        const order = keys.map((_, k) => keys[(k + Math.max(round, 0)) % keys.length]);
        const { ms, rowsWritten, pruneMs } = await post('/round', { workload: w.key, batch, order });
        if (round < 0) continue;
        for (const k of keys) {
          results[w.key][k].times.push(ms[k] / batch);
          results[w.key][k].rows.push(rowsWritten[k]);
          results[w.key][k].pruneMs.push(pruneMs[k]);
        }
      }
    }
    return results;
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The workloads in the engine alone, op by op interleaved: per workload and
 * configuration, every op's ms and the pages written per op; the peak wasm memory.
 * @param {number} rounds
 */
async function inEngine(rounds) {
  const module = await WebAssembly.compile(readFileSync(WASM_PATH));
  /** @type {Record<string, Record<string, {times: number[], pages: number}>>} */
  const results = Object.fromEntries(WORKLOADS.map((w) => [w.key, Object.fromEntries(CONFIGS.map((c) => [c.key, { times: [], pages: 0 }]))]));
  /** @type {Record<string, number>} */
  const memory = Object.fromEntries(CONFIGS.map((c) => [c.key, 0]));
  for (let round = 0; round < rounds; round++) {
    const engines = [];
    for (const config of CONFIGS) engines.push(await start(module, config));
    // Rotate who goes first, so no configuration always runs right after another.
    for (let k = 0; k < round % engines.length; k++) engines.push(/** @type {any} */ (engines.shift()));
    for (const w of WORKLOADS) {
      const before = engines.map((s) => s.storage.pagesWritten);
      for (let i = 0; i < w.ops; i++) {
        for (const s of engines) {
          const [path, body] = w.op(i, round);
          const t0 = performance.now();
          await postOk(s.engine, path, body);
          results[w.key][s.key].times.push(performance.now() - t0);
        }
      }
      engines.forEach((s, k) => {
        results[w.key][s.key].pages = (s.storage.pagesWritten - before[k]) / w.ops;
      });
    }
    for (const s of engines) memory[s.key] = Math.max(memory[s.key], s.engine.memoryBytes);
  }
  return { results, memory };
}

/**
 * Both parts. @param {{rounds: number, batches?: Record<string, number>}} options  batches:
 * the Worker's calls per timed batch (default WORKER_BATCH)
 */
export async function measure({ rounds, batches = WORKER_BATCH }) {
  requireWasm();
  const engine = await inEngine(rounds);
  const worker = await inWorker(rounds, batches);
  return { engine, worker, rounds, batches };
}

/** The report, as Markdown lines. @param {Awaited<ReturnType<typeof measure>>} measured */
function report({ engine: { results, memory }, worker, rounds, batches }) {
  const ratio = (/** @type {any} */ r, /** @type {string} */ key) =>
    `${(median(r[key].times) / median(r.off.times)).toFixed(2)} (${(least(r[key].times) / least(r.off.times)).toFixed(2)})`;
  const mib = (/** @type {number} */ bytes) => (bytes / 2 ** 20).toFixed(0);
  const ms = (/** @type {number[]} */ xs) => (median(xs) >= 10 ? median(xs).toFixed(0) : median(xs).toFixed(3));
  const rows = (/** @type {number[]} */ xs) => median(xs).toFixed(2);
  const lines = [
    '# What change capture costs a write',
    '',
    `\`node tests/bench/changes-cost.mjs\` (${rounds} rounds, ${new Date().toISOString().slice(0, 10)}; Node ${process.version}).`,
    'Times are medians; a ratio is that configuration over capture off, all measured in the same run, interleaved; in brackets, the ratio of the least times, which other work on a shared machine disturbs least.',
    '"Others only" is capture on with `changes: {tables: ["audit"]}`, a table these workloads never write.',
    '',
    '## Where the user\'s code runs',
    '',
    'Three SQLite-backed DoSQL objects in workerd (`changes-cost-worker.js`), called over Workers RPC from the Worker, which times batches of calls with its own clock: the whole call, with the storage commit and the transport.',
    `Batches: ${Object.entries(batches).map(([k, n]) => `${n} × ${k}`).join(', ')} (single-row INSERTs in whole checkpoint intervals, so every batch pays for its checkpoints).`,
    'Rows written are what the object\'s storage bills, per call.',
    'After each batch the Worker runs what retention runs within a minute of writes (the change log pruned to its limits, by the alarm, off the request path), so that every batch starts from a log of the same size; its time is the last column, apart.',
    '',
    '| workload | ms per call: off | on | rows written: off | on | others only | time: on / off | others only / off | pruning after the batch, on: ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...WORKLOADS.map((w) => {
      const r = worker[w.key];
      return `| ${w.label} | ${ms(r.off.times)} | ${ms(r.on.times)} | ${rows(r.off.rows)} | ${rows(r.on.rows)} | ${rows(r.others.rows)} | ${ratio(r, 'on')} | ${ratio(r, 'others')} | ${median(r.on.pruneMs)} |`;
    }),
    '',
    '## The engine alone',
    '',
    'The engine in Node over in-memory pages, op by op interleaved: what capture adds inside the engine, without the storage commit and the transport that every call also pays in a Worker.',
    'Pages written per op are the pages a commit hands to storage (a SQLite-backed object packs a commit\'s pages into about one row: the table above has the rows).',
    '',
    '| workload | pages written: off | on | others only | time: on / off | others only / off |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...WORKLOADS.map((w) => {
      const r = results[w.key];
      return `| ${w.label} | ${r.off.pages.toFixed(2)} | ${r.on.pages.toFixed(2)} | ${r.others.pages.toFixed(2)} | ${ratio(r, 'on')} | ${ratio(r, 'others')} |`;
    }),
    '',
    `Peak wasm memory: ${mib(memory.off)} MiB with capture off, ${mib(memory.on)} MiB on, ${mib(memory.others)} MiB others only (with capture on, the 100,000-row UPDATE holds its events, about 4.5 MB encoded, in memory until the statement ends; memory also grows ahead of malloc by up to 8 MiB, src/heap.c).`,
    '',
  ];
  return lines;
}

async function main() {
  const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, 'no-write': { type: 'boolean' } } });
  const lines = report(await measure({ rounds: Number(args.rounds) }));
  process.stdout.write(lines.join('\n'));
  if (!args['no-write']) writeFileSync(REPORT, lines.join('\n'));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
