#!/usr/bin/env node
// bulk-scan.mjs — a cold full scan right after a bulk load, DoSQL against native DO SQL.
//
//   node tests/bench/bulk-scan.mjs                    # writes tests/bench/bulk-scan.md
//   node tests/bench/bulk-scan.mjs --mb 20 --rounds 3 --no-write
//
// One workerd (Miniflare, tests/bench/compare-worker.js) with a SQLite-backed DoSQL
// object and a native one, each loaded with a table of about --mb MB (rows of 1 KB) in
// commits of 5,000 rows, as an import script or a seed does. DoSQL's last commit is then
// still in its page log (docs/storage-format.md): a scan reads those pages from log rows,
// the rest from the groups. Then --rounds times, the systems alternated:
//   running isolate  the object ended (ctx.abort), its first point SELECT, then the
//                    timed scan: the module compiled and warm, the object's storage cold
//   new runtime      a new workerd on the persisted state, its first point SELECT, then
//                    the timed scan: nothing compiled, no memory touched
// Times are medians taken in Node around the request (the same hop for both systems,
// small beside a scan); the ratio is the median of the per-round ratios. DoSQL's rows
// read by the scan come from its stats() (what Durable Objects bill).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { COLD_POINT, COLD_SCAN, REPO, coldRows, loadBigTable, median, rotate, runtime } from './run.mjs';

const { values: args } = parseArgs({
  options: { mb: { type: 'string', default: '100' }, rounds: { type: 'string', default: '8' }, 'no-write': { type: 'boolean' } },
});
const MB = Number(args.mb);
const ROUNDS = Number(args.rounds);
const ROWS = coldRows(MB);
const COMMIT_ROWS = 5000;
const TENANT = 'bulk';
const SYSTEMS = /** @type {const} */ (['dosql', 'native']);
const REPORT = join(REPO, 'tests/bench/bulk-scan.md');

/** A new workerd on the persisted state in dir, started. @param {string} dir */
const started = (dir) => runtime(dir, [], true).start();

/** The first point SELECT, then the scan timed; DoSQL's rows read by the scan. @param {ReturnType<typeof runtime>} rt @param {string} system */
async function firstScan(rt, system) {
  await rt.call(system, TENANT, 'query', { sql: COLD_POINT, params: [7] });
  const before = system === 'dosql' ? (await rt.stats(system, TENANT)).reads : 0;
  const { ms, value } = await rt.call(system, TENANT, 'query', { sql: COLD_SCAN });
  if (value.rows[0].n !== ROWS) throw new Error(`${system}: the scan counted ${value.rows[0].n} rows, not ${ROWS}`);
  const rowsRead = system === 'dosql' ? (await rt.stats(system, TENANT)).reads - before : 0;
  return { ms, rowsRead };
}

/**
 * ROUNDS rounds of one timed scan per system, the systems in rotating order: each
 * system's times, and each round's DoSQL / native.
 * @param {(system: string) => Promise<number>} scanOnce  one scan's ms
 */
async function scanRounds(scanOnce) {
  /** @type {Record<string, number[]>} */
  const ms = { dosql: [], native: [] };
  const ratios = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const system of rotate(SYSTEMS, round)) ms[system].push(await scanOnce(system));
    ratios.push(/** @type {number} */ (ms.dosql.at(-1)) / /** @type {number} */ (ms.native.at(-1)));
  }
  return { ms, ratios };
}

const dir = mkdtempSync(join(tmpdir(), 'bulk-scan-'));
try {
  const rt = await started(dir);
  const t0 = performance.now();
  for (const system of SYSTEMS) await loadBigTable(rt, system, TENANT, ROWS, COMMIT_ROWS);
  const loadS = (performance.now() - t0) / 1000;

  /** @type {number[]} */
  const rowsRead = [];
  const running = await scanRounds(async (system) => {
    await rt.reset(system, TENANT);
    const scan = await firstScan(rt, system);
    if (system === 'dosql') rowsRead.push(scan.rowsRead);
    return scan.ms;
  });
  await rt.stop();
  const fresh = await scanRounds(async (system) => {
    const newRuntime = await started(dir);
    try {
      await newRuntime.ping();
      return (await firstScan(newRuntime, system)).ms;
    } finally {
      await newRuntime.stop();
    }
  });
  const results = { running, fresh };

  const row = (/** @type {'running' | 'fresh'} */ mode, /** @type {string} */ label) =>
    `| ${label} | ${median(results[mode].ms.dosql).toFixed(0)} ms | ${median(results[mode].ms.native).toFixed(0)} ms | **${median(results[mode].ratios).toFixed(2)}** |`;
  const report = [
    '# A cold full scan right after a bulk load',
    '',
    `\`node tests/bench/bulk-scan.mjs --mb ${MB} --rounds ${ROUNDS}\` (${new Date().toISOString().slice(0, 10)}, Miniflare, 2 cores).`,
    '',
    `A table of ${ROWS.toLocaleString('en')} rows of 1 KB loaded in commits of ${COMMIT_ROWS.toLocaleString('en')} rows (${loadS.toFixed(1)} s for both systems);`,
    "DoSQL's last commit is still in its page log. Each scan is `" + COLD_SCAN + '` after the first point SELECT of a',
    `freshly started object; medians of ${ROUNDS}, the systems alternated; the ratio is the median of the per-round ratios.`,
    '',
    '| object started in | DoSQL | native | DoSQL / native |',
    '| --- | ---: | ---: | ---: |',
    row('running', 'a running isolate'),
    row('fresh', 'a new runtime'),
    '',
    `DoSQL's scan read ${median(rowsRead).toLocaleString('en')} rows (billed) in a running isolate.`,
    '',
  ].join('\n');
  process.stdout.write(report);
  if (!args['no-write']) writeFileSync(REPORT, report);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
