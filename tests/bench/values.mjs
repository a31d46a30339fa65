#!/usr/bin/env node
// values.mjs — what writing result values as JSON costs the engine (src/json.c), by
// type: a 1,000-row SELECT of two REAL columns (short decimals, then computed reals)
// against the same rows as INTEGERs, and a 10,000-row UPDATE of the REAL columns with
// change capture on (every changed row's old and new values written as events).
//
//   node tests/bench/values.mjs                            the shipped module
//   node tests/bench/values.mjs --against /tmp/old.wasm    ...alternated with another build
//   options: --rounds N (default 15)
//
// Needs worker-shim/dist/dosql.wasm (./build.sh wasm). For --against, build the other
// commit's module and copy worker-shim/dist/dosql.wasm aside first.
//
// The engine runs in Node over in-memory pages: the question is the engine's own work.
// Each round times every workload on every module in turn, the order rotating; the
// figures are medians over the rounds (ms per call).

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Engine } from '../../worker-shim/src/wasm/engine.js';
import { MemoryPages } from '../worker/fixtures/memory-storage.js';
import { REPO, WASM_PATH, requireWasm } from '../worker/harness.js';
import { postOk } from './engine-call.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '15' }, against: { type: 'string' } } });
const ROUNDS = Number(args.rounds);
const decoder = new TextDecoder();

const ROWS = 10_000;
const SCHEMA = `CREATE TABLE p(id INTEGER PRIMARY KEY, price REAL, qty REAL, n INTEGER, m INTEGER);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${ROWS})
INSERT INTO p SELECT i, i*0.25 + 0.99, i % 97 * 1.5, i*25 + 99, i % 97 * 15 FROM c`;

/** The workloads: calls per timing, and the request of call k. */
const WORKLOADS = [
  { key: 'reals', label: '1,000-row SELECT of two REAL columns (7.5, 19.99, ...)', calls: 20,
    request: (/** @type {number} */ k) => ['/query', { sql: 'SELECT id, price, qty FROM p WHERE id > ? LIMIT 1000', params: [k * 100] }] },
  { key: 'computed', label: 'the same rows, two computed REALs (price / 3, qty / 7)', calls: 20,
    request: (/** @type {number} */ k) => ['/query', { sql: 'SELECT id, price / 3, qty / 7 FROM p WHERE id > ? LIMIT 1000', params: [k * 100] }] },
  { key: 'integers', label: 'the same rows, two INTEGER columns', calls: 20,
    request: (/** @type {number} */ k) => ['/query', { sql: 'SELECT id, n, m FROM p WHERE id > ? LIMIT 1000', params: [k * 100] }] },
  { key: 'update', label: `UPDATE of ${ROWS.toLocaleString('en-US')} rows' REAL columns, capture on`, calls: 1,
    request: () => ['/run', { sql: 'UPDATE p SET price = price + 0.25, qty = qty + 0.5' }] },
];

/** @param {WebAssembly.Module} module */
async function start(module) {
  const engine = new Engine(module, { storage: new MemoryPages() });
  const opened = await engine.open(0, { captureChanges: true });
  if (opened.status !== 200) throw new Error(`open failed: ${decoder.decode(opened.body)}`);
  /** @param {string} path @param {unknown} body */
  const call = (path, body) => postOk(engine, path, body);
  await call('/exec', { sql: SCHEMA });
  return call;
}

const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  requireWasm();
  const paths = [WASM_PATH, ...(args.against ? [args.against] : [])];
  const builds = await Promise.all(paths.map(async (path) => ({ name: relative(REPO, path), call: await start(await WebAssembly.compile(readFileSync(path))) })));
  /** @type {Record<string, number[]>[]} */
  const times = builds.map(() => Object.fromEntries(WORKLOADS.map((w) => [w.key, []])));
  for (let round = 0; round < ROUNDS; round++) {
    for (let b = 0; b < builds.length; b++) {
      const i = (b + round) % builds.length;
      for (const w of WORKLOADS) {
        const t0 = performance.now();
        for (let k = 0; k < w.calls; k++) await builds[i].call(.../** @type {[string, unknown]} */ (w.request(k)));
        times[i][w.key].push((performance.now() - t0) / w.calls);
      }
    }
  }
  const lines = [
    `node tests/bench/values.mjs${args.against ? ` --against ${args.against}` : ''} (${ROUNDS} rounds, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}): ms per call, median`,
    '',
    `| workload | ${builds.map((b) => b.name).join(' | ')} |`,
    `| --- | ${builds.map(() => '---:').join(' | ')} |`,
    ...WORKLOADS.map((w) => `| ${w.label} | ${times.map((t) => median(t[w.key]).toFixed(3)).join(' | ')} |`),
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

await main();
