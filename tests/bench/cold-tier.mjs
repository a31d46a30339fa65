#!/usr/bin/env node
// cold-tier.mjs — what the R2 cold tier costs reads and writes, in workerd.
//
//   node tests/bench/cold-tier.mjs               # writes tests/bench/cold-tier.md
//   node tests/bench/cold-tier.mjs --mb 16 --no-write
//
// Needs worker-shim/dist/dosql.wasm (./build.sh wasm).
//
// Two runtimes, each a SQLite-backed DoSQL object holding the same database of
// --mb MB: one keeps every page hot, the other has a cold tier with an 8 MiB hot
// budget over Miniflare's R2 (a local disk: its latency is far below real R2's,
// so the time ratios here are a floor, while the counts are exact). Ops run
// alternately on both, and the report gives medians and tiered/hot ratios:
//   1. point SELECTs of rows in the hot tier of both
//   2. point SELECTs right after a restart, of rows spread over the database
//      (mostly in R2 for the tiered object), with the R2 reads and billed rows
//      written per query
//   3. a full scan (count and sum over every row) right after a restart
//   4. single-row INSERTs while maintenance runs
// Counts come from the objects' stats() (what R2 and Durable Objects bill).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { REPO, createWorld } from '../worker/harness.js';

const { values: args } = parseArgs({
  options: { mb: { type: 'string', default: '64' }, ops: { type: 'string', default: '200' }, 'no-write': { type: 'boolean' } },
});
const MB = Number(args.mb);
const OPS = Number(args.ops);
const REPORT = join(REPO, 'tests/bench/cold-tier.md');
const ROW_BYTES = 1000;
const ROWS = Math.floor((MB * 1e6) / ROW_BYTES);
const HOT_BYTES = 8 * 1024 * 1024;
const MIGRATIONS = [{ name: '001_t.sql', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, body BLOB NOT NULL);' }];
const TENANT = 'bench';

const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** @param {boolean} tiered */
function system(tiered) {
  const world = createWorld(tiered ? 'bench-cold' : 'bench-hot');
  const options = tiered
    ? { migrations: MIGRATIONS, classOptions: { changes: false, cold: { binding: 'COLD', hotBytes: HOT_BYTES, groupPages: 64 } }, r2Buckets: ['COLD'] }
    : { migrations: MIGRATIONS, classOptions: { changes: false } };
  return {
    tiered,
    world,
    start: () => world.start(options),
    restart: () => world.restart(options),
    db: () => world.client('sql', TENANT),
    async object() {
      const ns = await world.mf.getDurableObjectNamespace('SQL_DB');
      return ns.get(ns.idFromName(TENANT));
    },
    /** @returns {Promise<Record<string, number>>} */
    async storage() {
      return (await (await this.object()).stats()).storage;
    },
  };
}

/**
 * Run op(i) alternately on both systems; times per system.
 * @param {ReturnType<typeof system>[]} systems
 * @param {number} n
 * @param {(db: any, i: number) => Promise<unknown>} op
 */
async function alternate(systems, n, op) {
  const times = systems.map(() => /** @type {number[]} */ ([]));
  for (let i = 0; i < n; i++) {
    for (const [k, s] of systems.entries()) {
      const db = s.db();
      const t0 = performance.now();
      await op(db, i);
      times[k].push(performance.now() - t0);
    }
  }
  return times;
}

/**
 * alternate(), and what the tiered object's counters moved by meanwhile.
 * @param {ReturnType<typeof system>[]} systems  [all hot, tiered]
 * @param {number} n
 * @param {(db: any, i: number) => Promise<unknown>} op
 */
async function measure(systems, n, op) {
  const before = await systems[1].storage();
  const times = await alternate(systems, n, op);
  const after = await systems[1].storage();
  const moved = (/** @type {string} */ key) => after[key] - before[key];
  return { times, r2Reads: moved('r2Reads'), r2Writes: moved('r2Writes'), rowsWritten: moved('rowsWritten') };
}

async function main() {
  const systems = [system(false), system(true)];
  const [, tiered] = systems;
  try {
    for (const s of systems) {
      await s.start();
      const db = s.db();
      for (let first = 1; first <= ROWS; first += 4000) {
        const last = Math.min(ROWS, first + 3999);
        await db.run(`WITH RECURSIVE n(i) AS (SELECT ${first} UNION ALL SELECT i + 1 FROM n WHERE i < ${last}) INSERT INTO t (id, k, body) SELECT i, i * 7 % 1000, randomblob(${ROW_BYTES}) FROM n`);
      }
      await (await s.object()).maintainStorage();
    }
    const placed = await tiered.storage();

    // 1. hot point reads: the same 50 rows, warmed first.
    await alternate(systems, 50, (db, i) => db.query('SELECT k FROM t WHERE id = ?', [ROWS - i]));
    const hot = await measure(systems, OPS, (db, i) => db.query('SELECT k FROM t WHERE id = ?', [ROWS - (i % 50)]));

    // 2. point reads after a restart, spread over the database.
    for (const s of systems) await s.restart();
    const spread = (/** @type {number} */ i) => 1 + Math.floor(((i * 7919) % OPS) * (ROWS / OPS));
    const cold = await measure(systems, OPS, (db, i) => db.query('SELECT k FROM t WHERE id = ?', [spread(i)]));

    // 3. a full scan after a restart.
    for (const s of systems) await s.restart();
    const scan = await measure(systems, 1, (db) => db.query('SELECT count(*) AS n, sum(k) AS k, sum(length(body)) AS b FROM t'));
    for (const s of systems) await (await s.object()).maintainStorage();

    // 4. inserts while maintenance runs in the background.
    const insert = await measure(systems, OPS, (db, i) => db.run('INSERT INTO t (id, k, body) VALUES (?, 0, randomblob(?))', [ROWS + 1 + i, ROW_BYTES]));

    /** One table row: medians, ratio, and the tiered object's counts per op. @param {string} label @param {Awaited<ReturnType<typeof measure>>} m @param {number} n */
    const row = (label, { times, r2Reads, r2Writes, rowsWritten }, n) =>
      `| ${label} | ${median(times[0]).toFixed(2)} | ${median(times[1]).toFixed(2)} | ${(median(times[1]) / median(times[0])).toFixed(2)} | ${(r2Reads / n).toFixed(2)} | ${(r2Writes / n).toFixed(2)} | ${(rowsWritten / n).toFixed(1)} |`;
    const lines = [
      '# What the R2 cold tier costs',
      '',
      `\`node tests/bench/cold-tier.mjs --mb ${MB} --ops ${OPS}\` (${new Date().toISOString().slice(0, 10)}, Miniflare's local R2).`,
      `A ${MB} MB database (${ROWS.toLocaleString('en')} rows of ${ROW_BYTES} B) on two SQLite-backed objects: all hot, and tiered with an ${HOT_BYTES / 2 ** 20} MiB hot budget in groups of 64 pages.`,
      `After writing: ${(placed.hotBytes / 2 ** 20).toFixed(1)} MiB hot, ${(placed.coldBytes / 2 ** 20).toFixed(1)} MiB in R2 (${placed.coldGroups} objects).`,
      'Times are medians of ops run alternately on both objects; the ratio is tiered / all hot. Local R2 answers in well under a millisecond where real R2 takes tens, so cold-read ratios here are a floor; the counts are exact.',
      '',
      '| workload (per op) | all hot (ms) | tiered (ms) | tiered / hot | R2 reads | R2 writes | rows written |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      row('point SELECT, page hot in both', hot, OPS),
      row('point SELECT after a restart, rows spread over the database', cold, OPS),
      row('full scan after a restart (one query)', scan, 1),
      row('single-row INSERT, upkeep running', insert, OPS),
      '',
      'Rows written on reads are promotions (a cold group is written into the hot tier) and the deletes of demotion after it.',
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (!args['no-write']) writeFileSync(REPORT, lines.join('\n'));
  } finally {
    for (const s of systems) await s.world.destroy();
  }
}

await main();
