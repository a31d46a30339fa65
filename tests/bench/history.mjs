#!/usr/bin/env node
// history.mjs — what reading the past costs (docs/history.md), in workerd.
//
//   node tests/bench/history.mjs                 # writes tests/bench/history.md
//   node tests/bench/history.mjs --commits 2000 --no-write
//
// One SQLite-backed DoSQL object: a table of 20,000 rows (about 3 MB), then --commits
// single-row UPDATEs, each its own commit. Then, --reps times each, alternately, on a
// freshly reset object (ctx.abort: the next request starts a new instance, opens the
// database, reads its pages):
//   current  the first point SELECT of the present: the cold current-state read
//   past     the first point SELECT as of the point before the updates (asOf), as
//            far back as --commits
// Times are medians, taken in Node around the request (the same hop for both, small
// beside a cold start); rows read come from the object's stats(). The target:
// past ≤ 3 × current. Also the storage history takes (GET /history's bytes).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { REPO, createWorld, seededRandom } from '../worker/harness.js';

const { values: args } = parseArgs({
  options: { commits: { type: 'string', default: '10000' }, reps: { type: 'string', default: '15' }, 'no-write': { type: 'boolean' } },
});
const COMMITS = Number(args.commits);
const REPS = Number(args.reps);
const ROWS = 20_000;
const REPORT = join(REPO, 'tests/bench/history.md');
const MIGRATIONS = [{ name: '001_t.sql', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, body TEXT NOT NULL);' }];
const TENANT = 'bench-history';

const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const world = createWorld('bench-history');
await world.start({ migrations: MIGRATIONS });
try {
  const db = world.client('sql', TENANT);
  const ns = await world.mf.getDurableObjectNamespace('SQL_DB');
  const object = () => ns.get(ns.idFromName(TENANT));
  const rowsRead = async () => (await object().stats()).storage.rowsRead;
  await db.run(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS}) INSERT INTO t (id, k, body) SELECT i, i, printf('%.120c', 'x') FROM n`);
  const history = async () => (await db.post('/history', {})).body;
  const point = (await history()).current.lsn;
  const random = seededRandom(7);
  const started = performance.now();
  for (let i = 0; i < COMMITS; i++) await db.run('UPDATE t SET k = k + 1 WHERE id = ?', [1 + Math.floor(random() * ROWS)]);
  const writeMs = performance.now() - started;
  const after = await history();

  /** @param {number | undefined} asOf */
  const firstRead = async (asOf) => {
    await object().testReopen().catch(() => {}); // the reset rejects the call itself
    const id = 1 + Math.floor(random() * ROWS);
    const t0 = performance.now();
    const answer = await db.post('/query', { sql: 'SELECT k FROM t WHERE id = ?', params: [id], asOf });
    const ms = performance.now() - t0;
    if (answer.status !== 200) throw new Error(`read as of ${asOf}: ${answer.text}`);
    if (asOf !== undefined && answer.body.rows[0].k !== id) throw new Error(`as of ${asOf}, row ${id} has k ${answer.body.rows[0].k}`);
    return { ms, rows: await rowsRead() }; // the new instance's: its open and this read
  };
  /** @type {{current: {ms: number, rows: number}[], past: {ms: number, rows: number}[]}} */
  const samples = { current: [], past: [] };
  for (let rep = 0; rep < REPS; rep++) {
    samples.current.push(await firstRead(undefined));
    samples.past.push(await firstRead(point));
  }
  const current = { ms: median(samples.current.map((s) => s.ms)), rows: median(samples.current.map((s) => s.rows)) };
  const past = { ms: median(samples.past.map((s) => s.ms)), rows: median(samples.past.map((s) => s.rows)) };
  const ratio = past.ms / current.ms;
  const lines = [
    '# What reading the past costs',
    '',
    `\`node tests/bench/history.mjs --commits ${COMMITS} --reps ${REPS}\` (${new Date().toISOString().slice(0, 10)}, Miniflare, 2 cores).`,
    '',
    `A table of ${ROWS.toLocaleString('en')} rows, then ${COMMITS.toLocaleString('en')} single-row UPDATEs (${(writeMs / COMMITS).toFixed(2)} ms each from Node).`,
    `History then holds lsns ${after.oldest.lsn}..${after.current.lsn}, ${(after.bytes / 1e6).toFixed(1)} MB.`,
    'Each read is the first request of a freshly reset object (new instance, open, page reads); medians of ' + `${REPS} each, alternating.`,
    '',
    '| read | first answer | rows read (billed, open included) |',
    '| --- | --- | --- |',
    `| point SELECT of the present | ${current.ms.toFixed(1)} ms | ${current.rows} |`,
    `| point SELECT as of ${COMMITS.toLocaleString('en')} commits back | ${past.ms.toFixed(1)} ms | ${past.rows} |`,
    '',
    `Ratio past / present: **${ratio.toFixed(2)}×** (target ≤ 3×).`,
    '',
  ];
  console.log(lines.join('\n'));
  if (!args['no-write']) writeFileSync(REPORT, lines.join('\n'));
} finally {
  await world.destroy();
}
