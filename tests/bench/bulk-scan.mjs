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
import { Miniflare } from 'miniflare';
import { REPO } from '../worker/harness.js';

const { values: args } = parseArgs({
  options: { mb: { type: 'string', default: '100' }, rounds: { type: 'string', default: '8' }, 'no-write': { type: 'boolean' } },
});
const MB = Number(args.mb);
const ROUNDS = Number(args.rounds);
const ROWS = MB * 1024;
const COMMIT_ROWS = 5000;
const TENANT = 'bulk';
const SYSTEMS = /** @type {const} */ (['dosql', 'native']);
const POINT = 'SELECT id, length(v) AS n FROM big WHERE id = ?';
const SCAN = 'SELECT count(*) AS n, sum(length(v)) AS total FROM big';
const REPORT = join(REPO, 'tests/bench/bulk-scan.md');

const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A workerd on the persisted state in dir. @param {string} dir */
async function runtime(dir) {
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(REPO, 'tests/bench/compare-worker.js'),
    modulesRoot: REPO,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2026-04-01',
    cf: false,
    durableObjects: {
      OURS_SQL: { className: 'DoSQLSql', useSQLite: true },
      OURS_KV: { className: 'DoSQLKv' },
      NATIVE: { className: 'NativeSqlDatabase', useSQLite: true },
    },
    durableObjectsPersist: dir,
  });
  await mf.ready;
  /** @param {string} system @param {string} endpoint @param {unknown} body @returns {Promise<any>} */
  const call = async (system, endpoint, body) => {
    const res = await mf.dispatchFetch(`http://localhost/${system}/${TENANT}/${endpoint}`, { method: 'POST', body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${system} ${endpoint}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  return { mf, call };
}

/** The first point SELECT, then the scan timed; DoSQL's rows read by the scan. @param {Awaited<ReturnType<typeof runtime>>} rt @param {string} system */
async function firstScan({ call }, system) {
  await call(system, 'query', { sql: POINT, params: [7] });
  const before = system === 'dosql' ? (await call(system, '_bench/stats', {})).reads : 0;
  const t0 = performance.now();
  const { rows } = await call(system, 'query', { sql: SCAN });
  const ms = performance.now() - t0;
  if (rows[0].n !== ROWS) throw new Error(`${system}: the scan counted ${rows[0].n} rows, not ${ROWS}`);
  const rowsRead = system === 'dosql' ? (await call(system, '_bench/stats', {})).reads - before : 0;
  return { ms, rowsRead };
}

const dir = mkdtempSync(join(tmpdir(), 'bulk-scan-'));
try {
  let rt = await runtime(dir);
  const t0 = performance.now();
  for (const system of SYSTEMS) {
    await rt.call(system, 'run', { sql: 'CREATE TABLE big(id INTEGER PRIMARY KEY, v TEXT)' });
    for (let from = 1; from <= ROWS; from += COMMIT_ROWS) {
      await rt.call(system, 'run', {
        sql: "WITH RECURSIVE c(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM c WHERE x < ?) INSERT INTO big(id, v) SELECT x, printf('%01000d', x) FROM c",
        params: [from, Math.min(ROWS, from + COMMIT_ROWS - 1)],
      });
    }
  }
  const loadS = (performance.now() - t0) / 1000;

  /** @type {Record<string, Record<string, number[]>>} */
  const ms = { running: { dosql: [], native: [] }, fresh: { dosql: [], native: [] } };
  /** @type {Record<string, number[]>} */
  const ratios = { running: [], fresh: [] };
  /** @type {number[]} */
  const rowsRead = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? SYSTEMS : [...SYSTEMS].reverse();
    for (const system of order) {
      await rt.call(system, '_bench/reset', {});
      const scan = await firstScan(rt, system);
      ms.running[system].push(scan.ms);
      if (system === 'dosql') rowsRead.push(scan.rowsRead);
    }
    ratios.running.push(/** @type {number} */ (ms.running.dosql.at(-1)) / /** @type {number} */ (ms.running.native.at(-1)));
  }
  await rt.mf.dispose();
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? SYSTEMS : [...SYSTEMS].reverse();
    for (const system of order) {
      rt = await runtime(dir);
      await (await rt.mf.dispatchFetch('http://localhost/ping')).text();
      ms.fresh[system].push((await firstScan(rt, system)).ms);
      await rt.mf.dispose();
    }
    ratios.fresh.push(/** @type {number} */ (ms.fresh.dosql.at(-1)) / /** @type {number} */ (ms.fresh.native.at(-1)));
  }

  const row = (/** @type {'running' | 'fresh'} */ mode, /** @type {string} */ label) =>
    `| ${label} | ${median(ms[mode].dosql).toFixed(0)} ms | ${median(ms[mode].native).toFixed(0)} ms | **${median(ratios[mode]).toFixed(2)}** |`;
  const report = [
    '# A cold full scan right after a bulk load',
    '',
    `\`node tests/bench/bulk-scan.mjs --mb ${MB} --rounds ${ROUNDS}\` (${new Date().toISOString().slice(0, 10)}, Miniflare, 2 cores).`,
    '',
    `A table of ${ROWS.toLocaleString('en')} rows of 1 KB loaded in commits of ${COMMIT_ROWS.toLocaleString('en')} rows (${loadS.toFixed(1)} s for both systems);`,
    "DoSQL's last commit is still in its page log. Each scan is `" + SCAN + '` after the first point SELECT of a',
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
