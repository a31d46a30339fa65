// crash.test.js — the runtime is killed (SIGKILL) while clients write, then
// started again on the same persisted state: every acknowledged write is there,
// every transaction is all or nothing, the database is intact, and the change log
// agrees with the data (one event per row, lsns gap-free).
//
// Writers mix single-row /run INSERTs and two-operation /transactions (rows
// "a" and "b" of one id). A write that was in flight when the process died may
// or may not have committed; one that was answered 200 must have. The kill comes
// a random delay after the round's first answer (seeded: the seed is printed, and
// CRASH_SEED replays it), several times per backend on the same database. A third run does the same on a
// SQLite-backed object with an R2 cold tier and a 1 MiB hot budget, whose rows
// are padded so that pages move to R2 (and back) while the clients write. On
// SQLite-backed objects every past point history keeps reads whole too: rows only
// ever added from one commit to the next, one change event per row at each.
// With the cold tier, each round also branches the database while the clients
// write (the branch shares its R2 objects): one the kill interrupted is made again
// under its name, and every branch made so far reads whole in every later round,
// while the parent rewrites and collects its objects.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BACKENDS, createWorld, seededRandom } from '../worker/harness.js';

/** The newest lsn. @param {ReturnType<ReturnType<typeof createWorld>['client']>} db */
async function currentLsn(db) {
  return (await db.post('/history', {})).body.current.lsn;
}

/**
 * Past points since `since` (a few, at random, oldest first), read whole: each holds
 * the rows of the one before it and more, and as many change events as rows.
 * @param {ReturnType<ReturnType<typeof createWorld>['client']>} db @param {number} since
 * @param {() => number} rand @param {string} where
 */
async function checkHistory(db, since, rand, where) {
  const { body } = await db.post('/history', {});
  const first = Math.max(since, body.oldest.lsn);
  const last = body.current.lsn;
  const points = [...new Set([first, last, ...Array.from({ length: 4 }, () => first + Math.floor(rand() * (last - first + 1)))])].sort((a, b) => a - b);
  /** @type {Set<string>} */
  let earlier = new Set();
  for (const asOf of points) {
    const answer = await db.post('/query', { sql: 'SELECT id || part AS k, (SELECT count(*) FROM _dosql_changes) AS events FROM t', asOf });
    assert.equal(answer.status, 200, `${where}, as of ${asOf}: ${answer.text}`);
    const rows = answer.body.rows;
    const keys = new Set(rows.map((/** @type {any} */ r) => r.k));
    for (const k of earlier) assert.ok(keys.has(k), `${where}: row ${k} is at an earlier point than ${asOf}, not at it`);
    if (rows.length > 0) assert.equal(rows[0].events, rows.length, `${where}, as of ${asOf}: one change event per row`);
    earlier = keys;
  }
}

const ROUNDS = 5;
const WRITERS = 4;
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);

/** The workerd processes this test process started (Miniflare spawns them as children). */
function workerdPids() {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,comm='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm }));
  const ours = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) {
      if (ours.has(r.ppid) && !ours.has(r.pid)) {
        ours.add(r.pid);
        grew = true;
      }
    }
  }
  return rows.filter((r) => ours.has(r.pid) && r.comm.includes('workerd')).map((r) => r.pid);
}

/**
 * A branch reads whole: intact, each transaction's pair whole, one change event per
 * row, and as many rows as when first seen (nothing writes to it).
 * @param {ReturnType<ReturnType<typeof createWorld>['client']>} db @param {string} name
 * @param {Map<string, number | undefined>} seen  name → rows when last checked
 * @param {string} where
 */
async function checkBranch(db, name, seen, where) {
  assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }], `${where}: intact`);
  const [row] = await db.query(
    "SELECT (SELECT count(*) FROM t) AS n, (SELECT count(*) FROM (SELECT id FROM t WHERE id > 0 GROUP BY id HAVING count(*) = 1 AND min(part) = 'b')) AS halves, (SELECT count(*) FROM _dosql_changes) AS events",
  );
  assert.equal(row.halves, 0, `${where}: no half of a pair`);
  assert.equal(row.events, row.n, `${where}: one event per row`);
  assert.equal(row.n, seen.get(name) ?? row.n, `${where}: the rows it had`);
  seen.set(name, row.n);
}

/** A world whose SQLite-backed class keeps at most 1 MiB hot, the rest in R2. */
const COLD_WORLD = {
  classOptions: { cold: { binding: 'COLD', hotBytes: 1024 * 1024, groupPages: 8 } },
  r2Buckets: ['COLD'],
};

const VARIANTS = [
  ...BACKENDS.map((backend) => ({ name: backend, backend, world: {}, pad: 0, seed: SEED + (backend === 'kv' ? 1 : 0) })),
  { name: 'sql with an R2 cold tier', backend: /** @type {const} */ ('sql'), world: COLD_WORLD, pad: 3000, seed: SEED + 2 },
];

describe(`SIGKILL while writing (seed ${SEED})`, () => {
  for (const { name, backend, world: options, pad, seed } of VARIANTS) {
    // One running world at a time: the kill takes every workerd of this process.
    const world = createWorld('crash');
    after(() => world.destroy());

    test(`${name}: acknowledged writes survive, transactions are whole, the change log agrees`, { timeout: 180_000 }, async (t) => {
      const rand = seededRandom(seed);
      const tenant = `crash-${backend}-${seed}`;
      await world.start(options);
      const setup = world.client(backend, tenant);
      await setup.run(`CREATE TABLE t (id INTEGER, part TEXT, pad BLOB DEFAULT (zeroblob(${pad})), PRIMARY KEY (id, part))`);
      if (options === COLD_WORLD) {
        // Past the hot budget from the start, so that every round moves pages.
        await setup.run("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 800) INSERT INTO t (id, part) SELECT -i, 'a' FROM n");
      }
      const since = backend === 'sql' ? await currentLsn(setup) : 0;
      /** ids answered 200, and whether they were written as a pair */
      const acknowledged = new Map();
      let next = 0;
      /** Branches made so far → their rows. @type {Map<string, number | undefined>} */
      const branches = new Map();
      for (let round = 0; round < ROUNDS; round++) {
        const db = world.client(backend, tenant);
        let dead = false;
        const branchName = `${tenant}-branch${round}`;
        const branching = options === COLD_WORLD ? db.post('/branch', { name: branchName }).then((a) => a.status === 200 && !dead, () => false) : null;
        /** Resolves at the round's first acknowledged write, or when the writers stop. */
        let firstAcknowledged = () => {};
        const warm = new Promise((resolve) => (firstAcknowledged = resolve));
        let acknowledgedThisRound = 0;
        /** Writes that failed while the runtime was up: none should. */
        const failures = [];
        const writers = Array.from({ length: WRITERS }, async () => {
          while (!dead) {
            const id = ++next;
            const pair = rand() < 0.5;
            try {
              if (pair) {
                await db.transaction([
                  { type: 'run', sql: "INSERT INTO t (id, part) VALUES (?, 'a')", params: [id] },
                  { type: 'run', sql: "INSERT INTO t (id, part) VALUES (?, 'b')", params: [id] },
                ]);
              } else {
                await db.run("INSERT INTO t (id, part) VALUES (?, 'a')", [id]);
              }
              if (!dead) {
                acknowledged.set(id, pair);
                acknowledgedThisRound++;
                firstAcknowledged();
              }
            } catch (err) {
              // After the kill the runtime is gone; before it, a failure is the test's to report.
              if (!dead) failures.push(`id ${id}: ${/** @type {any} */ (err)?.message ?? err}`);
              return;
            }
          }
        });
        // After the first answer, not the round's start: a new runtime's first request
        // compiles the module, which on a slow machine can outlast the whole delay and
        // leave the round with no acknowledged write to check.
        await Promise.race([warm, Promise.all(writers)]);
        await new Promise((resolve) => setTimeout(resolve, 50 + rand() * 400));
        dead = true; // answers that arrive from now on may race the kill: not counted
        const pids = workerdPids();
        assert.ok(pids.length > 0, 'a workerd process to kill');
        for (const pid of pids) process.kill(pid, 'SIGKILL');
        await Promise.all(writers);
        assert.deepEqual(failures, [], `round ${round}: writes failed before the kill`);
        assert.ok(acknowledgedThisRound > 0, `round ${round}: no write was acknowledged before the kill`);
        await world.stop().catch(() => {});
        await world.start(options);

        const check = world.client(backend, tenant);
        assert.deepEqual(await check.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
        const rows = await check.query('SELECT id, group_concat(part) AS parts FROM (SELECT * FROM t ORDER BY id, part) GROUP BY id');
        const present = new Map(rows.map((r) => [r.id, r.parts]));
        for (const [id, pair] of acknowledged) {
          assert.equal(present.get(id), pair ? 'a,b' : 'a', `round ${round}: acknowledged id ${id} (${pair ? 'pair' : 'single'})`);
        }
        const events = await check.query('SELECT count(*) AS n, coalesce(max(lsn), 0) AS head FROM _dosql_changes');
        const total = (await check.query('SELECT count(*) AS n FROM t'))[0].n;
        assert.deepEqual(events, [{ n: total, head: total }], `round ${round}: one event per row, lsns 1..${total}`);
        if (backend === 'sql') await checkHistory(check, since, rand, `round ${round}`);
        if (branching) {
          // Answered before the kill: made. Else made again (a retry takes over its holds), or it was.
          if (!(await branching)) {
            const again = await check.post('/branch', { name: branchName });
            t.diagnostic(`round ${round}: the branch was not answered before the kill; again: ${again.status} ${again.body.code ?? ''}`);
            assert.ok(again.status === 200 || again.body.code === 'BRANCH_EXISTS', `round ${round}: branching again: ${again.text}`);
          }
          branches.set(branchName, undefined);
          for (const name of branches.keys()) await checkBranch(world.client(backend, name), name, branches, `round ${round}, ${name}`);
        }
        next = Math.max(next, ...rows.map((r) => r.id));
      }
      // Pairs are half the writes: with none acknowledged, "transactions are whole" checked nothing.
      assert.ok([...acknowledged.values()].some((pair) => pair), `pairs were acknowledged (${acknowledged.size} writes)`);
      if (options === COLD_WORLD) {
        const { storage } = await (await world.mf.dispatchFetch(`http://localhost/${backend}/${tenant}/stats`)).json();
        assert.ok(storage.coldGroups > 0, `pages moved to R2: ${JSON.stringify(storage)}`);
      }
      await world.stop();
    });
  }
});
