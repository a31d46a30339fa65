// cold.test.js — the R2 cold tier (storage-tiered.js, cold-objects.js) in real
// workerd, with the R2 bucket Miniflare provides (persisted beside the objects,
// so a restart keeps both): a 300 MB database under a 32 MiB hot budget read
// back whole after a restart in bounded memory; cold reads and their counts;
// writes into cold groups and the garbage they leave; a shrink; R2 failing to
// read, write and delete (at start-up, in and out of a transaction, during an
// export, across a restart); export; maintenance and open transactions;
// writers racing maintenance; change capture; a database past 1 GiB (the
// lock-byte page); groupPages fixed by first use; the key-value backend.
// (cold-config.test.js covers the settings and what a wrong one answers.)
//
// The 300 MB test takes about 25 s and the 1 GiB one about 30 s (2 cores).
//
// The worker is fixtures/cold-worker.js: R2 failure injection, the bucket's
// listing, the object's manifest tables, maintainStorage() and stats() as routes.
//
// Every row's content follows from its id (BODY, K), so any row read back can be
// checked in SQL, with no copy of the data in the test.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, TMP, fixtureRuntime, tenant } from './harness.js';
import { coldClient as fixtureClient } from './cold-client.js';
import { openHranaSocket } from './hrana-socket-client.js';

const MiB = 1024 * 1024;
const MIGRATIONS = [{ name: '001_init.sql', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, body TEXT NOT NULL);' }];
const CLI = join(REPO, 'wasm/build/native/sqlite3');
const TX_HEADER = 'X-DoSQL-Transaction';

/**
 * A row's body: 960 characters, its id (7 digits) and `sep` 120 times.
 * @param {string} id  SQL expression
 * @param {string} [sep]  one character: ',' as inserted, ';' once updated
 */
const BODY = (id, sep = ',') => `replace(hex(zeroblob(120)), '00', printf('%07d${sep}', ${id}))`;
/** @param {string} id  SQL expression */
const K = (id) => `((${id}) * 7919) % 1000003`;
/** @param {number} id */
const kOf = (id) => (id * 7919) % 1000003;
const INSERT = `WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2) INSERT INTO t (id, k, body) SELECT i, ${K('i')}, ${BODY('i')} FROM n`;

/**
 * A client of one tenant's database with the fixture's routes, and insert().
 * @param {ReturnType<typeof fixtureRuntime>} runtime
 * @param {'sql' | 'kv'} backend
 * @param {string} name
 */
function coldClient(runtime, backend, name) {
  const db = fixtureClient(runtime, backend, name);
  return {
    ...db,
    /**
     * Insert rows first..last, `perTx` rows per request.
     * @param {number} first @param {number} last @param {number} [perTx]
     */
    async insert(first, last, perTx = 1000) {
      for (let from = first; from <= last; from += perTx) {
        await db.run(INSERT, [from, Math.min(last, from + perTx - 1)]);
      }
    },
  };
}

/**
 * Rows first..last, checked in SQL: how many, their sums, and how many differ
 * from what their id says they hold (`body` an SQL expression of id).
 * @param {ReturnType<typeof coldClient>} db
 * @param {number} first @param {number} last
 * @param {string} [body]
 */
async function checkRange(db, first, last, body = BODY('id')) {
  const [row] = await db.query(
    `SELECT count(*) AS n, sum(id) AS ids, sum(k) AS k, sum(length(body)) AS bytes, sum(k <> ${K('id')} OR body <> ${body}) AS bad FROM t WHERE id BETWEEN ?1 AND ?2`,
    [first, last],
  );
  let k = 0;
  let ids = 0;
  for (let id = first; id <= last; id++) {
    k += kOf(id);
    ids += id;
  }
  const n = last - first + 1;
  assert.deepEqual(row, { n, ids, k, bytes: n * 960, bad: 0 }, `rows ${first}..${last}`);
}

/**
 * Send page 1's group to R2: restarted, the object reads rows first..3000, so that
 * group is the least recently used, and maintenance demotes it.
 * @param {ReturnType<typeof coldClient>} db @param {number} [first]  the first row to read
 */
async function sendPage1ToR2(db, first = 1) {
  await db.reopen();
  await checkRange(db, first, 3000);
  await db.maintain();
  assert.equal((await db.manifest()).page1Hot, false, 'page 1 is in R2 only');
}

/** @param {ReturnType<typeof coldClient>} db */
async function assertIntact(db) {
  assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
}

/**
 * The bucket holds exactly the manifest's objects, and nothing is left to delete.
 * @param {ReturnType<typeof coldClient>} db
 */
async function assertNoOrphans(db) {
  const manifest = await db.manifest();
  assert.deepEqual(manifest.garbage, [], 'no garbage recorded');
  assert.deepEqual(await db.bucket(), manifest.groups.map((g) => g.object).sort(), 'the bucket holds the manifest\'s objects, no others');
  assert.equal((await db.storage()).garbageObjects, 0);
}

/**
 * The hot tier within its budget, the rest of the file in R2.
 * @param {any} s  stats().storage
 */
function assertWithinBudget(s) {
  assert.ok(s.hotBytes <= s.hotBudgetBytes, `hot ${s.hotBytes} <= budget ${s.hotBudgetBytes}`);
  assert.ok(s.hotBytes + s.coldBytes >= s.pageCount * s.pageSize, `hot ${s.hotBytes} + cold ${s.coldBytes} cover the file (${s.pageCount} pages)`);
}

/** @param {string} file @param {string} sql */
function cli(file, sql) {
  assert.ok(existsSync(CLI), `${CLI} is missing: run ./build.sh native`);
  return execFileSync(CLI, ['-readonly', file, sql], { encoding: 'utf8' }).trim().split('\n');
}

// ---------------------------------------------------------------------------

describe('a 300 MB database under a 32 MiB hot budget', () => {
  const HOT = 32 * MiB;
  const ROWS = 307_200; // 960-character bodies: 300 MiB of them, a 315 MB file
  const PER_TX = 4000; // about 4 MB per transaction
  /** Peak wasm memory allowed: the 16 MiB page cache and a transaction's pages, with
   ** room to spare, but not the hot budget on top of them, let alone the database. */
  const MEMORY = 48 * MiB;
  // Its integrity check reads 300 MB from R2, faulting dozens of times, and every
  // attempt spends the request's one CPU budget (docs/security.md): more than 3 s.
  const runtime = fixtureRuntime('cold-big', 'cold-worker.js', 'makeColdClasses', [MIGRATIONS, { hotBytes: HOT, groupPages: 256 }, { changes: false, cpuBudgetMs: 30_000 }], {}, { r2Buckets: ['COLD'] });
  before(() => runtime.start());
  after(() => runtime.destroy());

  test('written through /run, it keeps 32 MiB hot and the rest in R2, and after a restart every row reads back intact in bounded memory', { timeout: 170_000 }, async (t) => {
    const db = coldClient(runtime, 'sql', tenant('big'));
    const started = Date.now();
    const lap = (/** @type {string} */ what) => t.diagnostic(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);

    await db.insert(1, ROWS, PER_TX);
    lap(`${ROWS} rows in ${Math.ceil(ROWS / PER_TX)} transactions`);
    const written = await db.stats();
    assert.ok(written.wasmMemoryBytes <= MEMORY, `wasm memory while writing: ${written.wasmMemoryBytes}`);
    await db.maintain();
    const maintained = await db.storage();
    lap('maintained');
    t.diagnostic(`after writing: ${JSON.stringify(maintained)}`);
    assertWithinBudget(maintained);
    assert.ok(maintained.pageCount * maintained.pageSize > 300 * 1e6, `the file is ${maintained.pageCount} pages`);
    assert.ok(maintained.coldBytes >= maintained.pageCount * maintained.pageSize - HOT, `cold: ${maintained.coldBytes}`);
    assert.equal(maintained.coldGroups, (await db.manifest()).groups.length);
    await assertNoOrphans(db);

    await runtime.restart();
    lap('restarted');
    // One cold row: one group of 256 pages (and its neighbours in the first
    // read-ahead window) comes back, not the database.
    await db.query('SELECT 1');
    const opened = await db.storage();
    await checkRange(db, 150_000, 150_000);
    const point = await db.storage();
    const cost = Object.fromEntries(['r2Reads', 'r2BytesRead', 'rowsRead', 'rowsWritten', 'promotedGroups'].map((key) => [key, point[key] - opened[key]]));
    t.diagnostic(`one cold row: ${JSON.stringify(cost)}`);
    assert.ok(cost.r2Reads >= 1 && cost.r2Reads <= 4, `groups downloaded for one row: ${cost.r2Reads}`);
    const STEP = ROWS / 10;
    for (let first = 1; first <= ROWS; first += STEP) await checkRange(db, first, first + STEP - 1);
    lap('read back in 10 ranges');
    const read = await db.stats();
    t.diagnostic(`after reading: wasm ${read.wasmMemoryBytes}, faults ${read.faults}, ${JSON.stringify(read.storage)}`);
    assert.ok(read.faults > 0 && read.storage.promotedGroups > 0 && read.storage.r2Reads > 0, 'the reads came from R2');
    assert.ok(read.wasmMemoryBytes <= MEMORY, `wasm memory while reading: ${read.wasmMemoryBytes}`);
    // Reading rewrites no object: the only uploads are of groups never in R2 before.
    assert.equal(read.storage.coldGroups - maintained.coldGroups, read.storage.r2Writes);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM t WHERE id < 1 OR id > ?1', [ROWS]), [{ n: 0 }], 'no other rows');

    await assertIntact(db);
    lap('integrity_check');
    await db.maintain();
    assertWithinBudget(await db.storage());
    await assertNoOrphans(db);
    lap('done');
  });
});

// ---------------------------------------------------------------------------

describe('cold tier, 1 MiB hot in groups of 16 pages', () => {
  const runtime = fixtureRuntime('cold', 'cold-worker.js', 'makeColdClasses', [MIGRATIONS, { hotBytes: MiB, groupPages: 16 }, { changes: false }], {}, { r2Buckets: ['COLD'] });
  before(() => runtime.start());
  after(() => runtime.destroy());

  /**
   * A database of `rows` rows (about 1 KB each), maintained: most of it in R2.
   * @param {string} name @param {number} [rows]
   */
  async function coldDatabase(name, rows = 3000) {
    const db = coldClient(runtime, 'sql', tenant(name));
    await db.insert(1, rows);
    await db.maintain();
    const s = await db.storage();
    assertWithinBudget(s);
    assert.ok(s.coldBytes >= s.pageCount * s.pageSize - MiB, `all but the hot MiB is cold: ${JSON.stringify(s)}`);
    return db;
  }

  test('after a restart, a point query of a cold row is answered from R2, counted in stats, and is hot the second time', async (t) => {
    const db = await coldDatabase('point');
    await runtime.restart();
    await db.query('SELECT 1'); // open
    const before = await db.storage();
    assert.deepEqual(await db.query(`SELECT id, k, body = ${BODY('id')} AS ok FROM t WHERE id = 1500`), [{ id: 1500, k: kOf(1500), ok: 1 }]);
    const cold = await db.stats();
    const s = cold.storage;
    assert.ok(cold.faults > 0, 'the read faulted');
    assert.ok(s.r2Reads > before.r2Reads && s.promotedGroups > before.promotedGroups, `promoted from R2: ${JSON.stringify(s)}`);
    assert.ok(s.coldReads > before.coldReads);
    assert.equal(s.hitRate, s.hotReads / (s.hotReads + s.coldReads));
    assert.ok(s.hitRate < 1);
    assert.equal(s.r2BytesRead > 0, true);
    t.diagnostic(`one cold row: ${JSON.stringify(Object.fromEntries(['r2Reads', 'r2BytesRead', 'rowsRead', 'rowsWritten', 'promotedGroups'].map((key) => [key, s[key] - before[key]])))}`);

    await db.reopen(); // the engine's page cache goes; the promoted pages stay hot
    await db.query('SELECT 1');
    const again = await db.storage();
    assert.deepEqual(await db.query('SELECT id FROM t WHERE id = 1500'), [{ id: 1500 }]);
    assert.equal((await db.storage()).r2Reads, again.r2Reads, 'read from the hot tier');
  });

  test('history: a past point reads whole while its pages move to R2 and back, at every point history keeps', async () => {
    const db = await coldDatabase('history');
    const history = async () => (await db.post('/history', {})).body;
    const past = (await history()).current.lsn;
    await db.reopen(); // the engine's cache goes: every page it writes, it reads first
    await db.run(`UPDATE t SET body = ${BODY('id', ';')} WHERE id BETWEEN 100 AND 2900`);
    await db.maintain();
    const then = await db.post('/query', { sql: `SELECT count(*) AS n, sum(body = ${BODY('id')}) AS ok FROM t`, asOf: past });
    assert.equal(then.status, 200, then.text);
    assert.deepEqual(then.body.rows, [{ n: 3000, ok: 3000 }], 'as of before the update, through R2');
    assert.deepEqual(await db.query(`SELECT sum(body = ${BODY('id', ';')}) AS n FROM t`), [{ n: 2801 }]);
    // Writes while maintenance moves pages; a page SQLite still caches may be written
    // over R2's copy, whose version is then not kept (history starts after it).
    for (let round = 0; round < 4; round++) {
      await db.insert(3001 + round * 100, 3100 + round * 100);
      await db.run('UPDATE t SET k = k + 1 WHERE id IN (1, 1500, 2999)');
      await db.maintain();
    }
    const { oldest, current } = await history();
    for (const asOf of [oldest.lsn, Math.floor((oldest.lsn + current.lsn) / 2), current.lsn]) {
      const check = await db.post('/query', { sql: 'PRAGMA integrity_check', asOf });
      assert.deepEqual(check.body.rows, [{ integrity_check: 'ok' }], `as of ${asOf} (${oldest.lsn}..${current.lsn}): ${check.text}`);
    }
    await assertIntact(db);
  });

  test('writes into cold groups: after maintenance they are new objects, the old ones are deleted, and a restart reads the new values', async () => {
    const db = await coldDatabase('writes');
    const before = await db.manifest();
    await db.reopen();
    const updated = await db.run(`UPDATE t SET body = ${BODY('id', ';')} WHERE id BETWEEN 500 AND 1500`);
    assert.equal(updated.rowsAffected, 1001);
    assert.ok((await db.manifest()).groups.some((g) => g.dirty === 1), 'groups written into are marked dirty');
    // More writes make those groups the least recently used: maintenance sends them back.
    await db.insert(3001, 5000);
    await db.maintain();
    const after = await db.manifest();
    const replaced = before.groups.filter((g) => after.groups.some((a) => a.grp === g.grp && a.object !== g.object));
    assert.ok(replaced.length > 0, 'the groups written into were uploaded again');
    const bucket = await db.bucket();
    for (const g of replaced) assert.ok(!bucket.includes(g.object), `${g.object} (replaced) was deleted`);
    await assertNoOrphans(db);
    assertWithinBudget(await db.storage());

    await runtime.restart();
    const NEW = `CASE WHEN id BETWEEN 500 AND 1500 THEN ${BODY('id', ';')} ELSE ${BODY('id')} END`;
    await checkRange(db, 1, 5000, NEW);
    assert.deepEqual(await db.query("SELECT count(*) AS n FROM t WHERE id BETWEEN 500 AND 1500 AND body LIKE '%,%'"), [{ n: 0 }]);
    await assertIntact(db);
  });

  test('shrink: DELETE and VACUUM on a database mostly in R2 drop the groups past the end, and their objects are collected', async () => {
    const db = await coldDatabase('shrink', 4000);
    const before = await db.storage();
    await db.run('DELETE FROM t WHERE id % 10 <> 0');
    await db.run('VACUUM');
    await db.maintain();
    const s = await db.storage();
    assert.ok(s.pageCount < before.pageCount / 5, `${before.pageCount} pages -> ${s.pageCount}`);
    assertWithinBudget(s);
    const manifest = await db.manifest();
    for (const g of manifest.groups) assert.ok(g.grp * 16 + g.pages <= s.pageCount, `group ${g.grp} (${g.pages} pages) within ${s.pageCount} pages`);
    assert.ok(s.r2Deletes > 0, 'objects past the end were deleted');
    await assertNoOrphans(db);

    await db.reopen();
    assert.deepEqual(await db.query(`SELECT count(*) AS n, sum(body <> ${BODY('id')}) AS bad, sum(id) AS ids FROM t`), [{ n: 400, bad: 0, ids: 10 * ((400 * 401) / 2) }]);
    await assertIntact(db);
    // It grows again over the trimmed groups.
    await db.insert(4001, 6000);
    await db.maintain();
    await runtime.restart();
    await checkRange(db, 4001, 6000);
    await assertIntact(db);
    await assertNoOrphans(db);
  });

  /**
   * Run fn while R2 calls of these kinds fail; R2 is healed afterwards, whatever
   * happens (the failure injection is shared by every object of the runtime).
   * @template T
   * @param {ReturnType<typeof coldClient>} db
   * @param {string} ops
   * @param {() => Promise<T>} fn
   * @returns {Promise<{result: T, failed: number}>}  failed: R2 calls made to fail
   */
  async function whileR2Fails(db, ops, fn) {
    await db.failR2(ops);
    let healed = false;
    try {
      const result = await fn();
      const { failed } = await db.healR2();
      healed = true;
      return { result, failed };
    } finally {
      if (!healed) await db.healR2();
    }
  }

  test('R2 failing to read: a query that needs a cold page answers 503 COLD_TIER_UNAVAILABLE, nothing breaks, and it succeeds once R2 is back', async () => {
    const db = await coldDatabase('get-fails');
    await db.reopen();
    await db.query('SELECT 1'); // open while R2 works
    const { result: answer, failed } = await whileR2Fails(db, 'get', () => db.post('/query', { sql: 'SELECT id, k FROM t WHERE id = 1500' }));
    assert.equal(answer.status, 503, answer.text);
    assert.equal(answer.body.code, 'COLD_TIER_UNAVAILABLE');
    assert.match(answer.body.error, /cold tier \(R2\) failed reading .*retry/);
    assert.ok(failed > 0);
    assert.deepEqual(await db.query('SELECT id, k FROM t WHERE id = 1500'), [{ id: 1500, k: kOf(1500) }]);
    await checkRange(db, 1, 3000);
    await assertIntact(db);
  });

  test('R2 failing to read while the object starts with page 1 in R2: 503 COLD_TIER_UNAVAILABLE, and the next request after R2 is back opens it', async () => {
    const db = await coldDatabase('get-fails-open');
    // Read everything but page 1's group after it, so that group is the least
    // recently used and maintenance sends it to R2.
    await sendPage1ToR2(db);
    const { result: answer } = await whileR2Fails(db, 'get', async () => {
      await db.reopen();
      return db.post('/query', { sql: 'SELECT count(*) AS n FROM t' });
    });
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 3000 }]);
    await assertIntact(db);
    assert.match(answer.body?.error ?? '', /cold tier \(R2\) failed reading/, answer.text);
    assert.deepEqual([answer.status, answer.body?.code], [503, 'COLD_TIER_UNAVAILABLE'], answer.text);
  });

  test('a request waiting behind a fresh engine whose start R2 failed answers 503 COLD_TIER_UNAVAILABLE, not 500, and the next opens it', async () => {
    const db = await coldDatabase('recycle-fails');
    // The engine open, page 1 in R2 only (as above): a fresh engine has to read it from R2.
    await sendPage1ToR2(db);
    const { txId } = (await db.post('/begin', {})).body;
    const inTx = { headers: { 'content-type': 'application/json', 'X-DoSQL-Transaction': txId } };
    // Past RECYCLE_MEMORY_BYTES: a fresh engine is started once the transaction ends,
    // and this query waits behind that start.
    assert.equal((await db.post('/query', { sql: 'SELECT length(zeroblob(58000000)) AS n' }, inTx)).status, 200);
    const { result: waited } = await whileR2Fails(db, 'get', async () => {
      const waiting = db.post('/query', { sql: 'SELECT count(*) AS n FROM t' });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await db.post('/commit', {}, inTx)).status, 200);
      return waiting;
    });
    assert.deepEqual([waited.status, waited.body?.code], [503, 'COLD_TIER_UNAVAILABLE'], waited.text);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 3000 }]);
    await assertIntact(db);
  });

  test('with page 1 only in R2 and forgotten by the engine after a rollback, GET /export and POST /restore fetch it: no 500', async () => {
    const db = await coldDatabase('page1-checks');
    await db.run("UPDATE t SET body = 'x' WHERE id = 7");
    // A point R2 does not cut history short of: the present (its restore writes no page).
    const { current } = (await db.post('/history', {})).body;
    // Read everything but page 1's group after it, so that maintenance sends it to R2.
    await sendPage1ToR2(db, 8); // row 7 is 'x'
    // A rollback makes the engine forget page 1's header (SQLite's cache keeps the
    // page): the next look at the database's size reads page 1 from storage.
    const failed = await db.post('/batch', { operations: [{ sql: 'INSERT INTO t (k, body) VALUES (1, 1)' }, { sql: 'INSERT INTO nowhere VALUES (1)' }] });
    assert.equal(failed.status, 400, failed.text);
    // The method check of GET /export asked C for the size synchronously, and the
    // fault came back as an answer of status 0: 500 INTERNAL.
    const file = await runtime.fetch(`http://localhost/sql/${db.name}/export`);
    assert.equal(file.status, 200, file.status === 200 ? '' : await file.text());
    const bytes = new Uint8Array(await file.arrayBuffer());
    assert.equal(bytes.length % 4096, 0);
    assert.ok(bytes.length > 2 * MiB);
    await db.post('/batch', { operations: [{ sql: 'INSERT INTO t (k, body) VALUES (1, 1)' }, { sql: 'INSERT INTO nowhere VALUES (1)' }] });
    await sendPage1ToR2(db, 8); // row 7 is 'x'
    // So did POST /restore's check, which reads the change log then and now.
    const restored = await db.post('/restore', { to: current.lsn });
    assert.equal(restored.status, 200, restored.text);
    assert.deepEqual(await db.query("SELECT count(*) AS n FROM t WHERE body = 'x'"), [{ n: 1 }]);
    await assertIntact(db);
  });

  test('a libSQL stream\'s transaction idled out while R2 fails is rolled back: the object goes on serving', { timeout: 120_000 }, async () => {
    const db = await coldDatabase('stream-idle');
    // Page 1 in R2 only, and forgotten by the engine after a rollback (as above).
    await sendPage1ToR2(db, 8);
    const failed = await db.post('/batch', { operations: [{ sql: 'INSERT INTO t (k, body) VALUES (1, 1)' }, { sql: 'INSERT INTO nowhere VALUES (1)' }] });
    assert.equal(failed.status, 400, failed.text);
    // A stream's BEGIN and a write: page 1 comes from SQLite's cache, not storage.
    const opened = await db.post('/v2/pipeline', {
      baton: null,
      requests: [{ type: 'execute', stmt: { sql: 'BEGIN' } }, { type: 'execute', stmt: { sql: "INSERT INTO t (k, body) VALUES (1, 'stream')" } }],
    });
    assert.equal(opened.status, 200, opened.text);
    assert.deepEqual(opened.body.results.map((/** @type {any} */ r) => r.type), ['ok', 'ok'], opened.text);
    // The stream goes quiet: the idle timer rolls its transaction back with /rollback,
    // which once read page 1 from R2 for a sizeAfter. Failing, it left the transaction
    // open in C while the gate let the waiting query in: 500 "a transaction is open".
    const { result: waited } = await whileR2Fails(db, 'get', () => db.post('/query', { sql: 'SELECT 1 AS one' }));
    assert.equal(waited.status, 200, waited.text);
    assert.deepEqual(await db.query("SELECT count(*) AS n FROM t WHERE body = 'stream'"), [{ n: 0 }]);
    await assertIntact(db);
  });

  test('R2 failing to read during POST /restore: 503 COLD_TIER_UNAVAILABLE, nothing changed, and the restore succeeds once R2 is back', async () => {
    const db = await coldDatabase('restore-fails');
    const { current } = (await db.post('/history', {})).body;
    await db.reopen(); // SQLite's cache goes: the update reads (promotes) what it writes
    await db.run("UPDATE t SET body = 'x' WHERE id BETWEEN 1000 AND 2000");
    await db.maintain();
    await db.reopen();
    await db.query('SELECT 1'); // open while R2 works
    const { result: answer } = await whileR2Fails(db, 'get', () => db.post('/restore', { to: current.lsn }));
    assert.deepEqual([answer.status, answer.body.code], [503, 'COLD_TIER_UNAVAILABLE'], answer.text);
    assert.deepEqual(await db.query("SELECT count(*) AS n FROM t WHERE body = 'x'"), [{ n: 1001 }], 'nothing changed');
    const again = await db.post('/restore', { to: current.lsn });
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(await db.query("SELECT count(*) AS n FROM t WHERE body = 'x'"), [{ n: 0 }]);
    await assertIntact(db);
  });

  test('R2 failing to read inside an interactive transaction: the cold fault answers TRANSACTION_ABORTED and the transaction is gone', async () => {
    const db = await coldDatabase('get-fails-tx');
    await db.reopen();
    // The row the transaction writes is read first, so only the later read faults.
    assert.equal((await db.query('SELECT id FROM t WHERE id = 2999')).length, 1);
    const begun = await db.post('/begin', {});
    assert.equal(begun.status, 200, begun.text);
    const headers = { 'Content-Type': 'application/json', [TX_HEADER]: begun.body.txId };
    const wrote = await db.post('/run', { sql: "UPDATE t SET body = 'never' WHERE id = 2999" }, { headers });
    assert.equal(wrote.status, 200, wrote.text);
    const { result: answer } = await whileR2Fails(db, 'get', () => db.post('/query', { sql: 'SELECT id FROM t WHERE id = 1500' }, { headers }));
    assert.equal(answer.status, 503, answer.text);
    assert.equal(answer.body.code, 'TRANSACTION_ABORTED');
    assert.match(answer.body.error, /cold tier \(R2\) failed reading/);
    const late = await db.post('/commit', {}, { headers });
    assert.equal(late.status, 409, late.text);
    assert.equal(late.body.code, 'TRANSACTION_EXPIRED');
    // Nothing of it was kept, and the object serves others.
    await checkRange(db, 1, 3000);
    await assertIntact(db);
  });

  test('requests of a transaction sent while one of it reads R2 are told it ended (409), never 500', async () => {
    const db = await coldDatabase('tx-flood');
    await db.reopen();
    await db.query('SELECT 1'); // open; the rows stay in R2
    const begun = await db.post('/begin', {});
    assert.equal(begun.status, 200, begun.text);
    const headers = { 'Content-Type': 'application/json', [TX_HEADER]: begun.body.txId };
    // The first request faults: C rolls the transaction back and the object reads R2,
    // held here until the others of the same transaction have arrived.
    await db.holdR2('get');
    let cold;
    let others;
    try {
      cold = db.post('/query', { sql: 'SELECT count(*) AS n FROM t WHERE body <> \'\'' }, { headers });
      while ((await db.heldR2()).held === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      others = [
        ...Array.from({ length: 10 }, (_, i) => db.post('/run', { sql: 'UPDATE t SET k = ? WHERE id = 1', params: [i] }, { headers })),
        db.post('/commit', {}, { headers }),
      ];
      await new Promise((resolve) => setTimeout(resolve, 200)); // they reach the object (no answer can come before the release)
    } finally {
      await db.releaseR2();
    }
    const first = await cold;
    assert.deepEqual([first.status, first.body.code], [503, 'TRANSACTION_ABORTED'], first.text);
    for (const answer of await Promise.all(others)) assert.deepEqual([answer.status, answer.body.code], [409, 'TRANSACTION_EXPIRED'], answer.text);
    await checkRange(db, 1, 3000);
  });

  test('R2 failing to write: maintenance fails with the reason, writes go on over the budget, and after R2 is back it gets under budget with everything intact', async () => {
    const db = await coldDatabase('put-fails');
    const { result, failed } = await whileR2Fails(db, 'put', async () => {
      await db.insert(3001, 5000);
      const run = await db.fetch('/__maintain');
      return { run, stats: await db.storage(), manifest: await db.manifest() };
    });
    assert.equal(result.run.status, 500, result.run.text);
    assert.match(result.run.body.error, /cold tier \(R2\) failed writing .*test: R2 put fails/);
    assert.ok(result.stats.hotBytes > result.stats.hotBudgetBytes, `over budget meanwhile: ${result.stats.hotBytes}`);
    assert.ok(failed > 0);
    // The uploads it meant to make are recorded, none of them in the bucket.
    assert.ok(result.manifest.garbage.length > 0);

    await db.maintain();
    assertWithinBudget(await db.storage());
    await assertNoOrphans(db);
    await checkRange(db, 1, 5000);
    await assertIntact(db);
  });

  test('R2 writing an object but losing the answer, then a restart: the upload was recorded as garbage first, so maintenance deletes it', async () => {
    const db = await coldDatabase('put-lost');
    const { result: run } = await whileR2Fails(db, 'put-after', async () => {
      await db.insert(3001, 5000);
      return db.fetch('/__maintain');
    });
    assert.equal(run.status, 500, run.text);
    const manifest = await db.manifest();
    const referenced = manifest.groups.map((g) => g.object);
    const strays = (await db.bucket()).filter((key) => !referenced.includes(key));
    assert.ok(strays.length > 0, 'objects landed that nothing references');
    for (const key of strays) assert.ok(manifest.garbage.includes(key), `${key} is recorded as garbage`);

    await runtime.restart();
    await db.maintain();
    await assertNoOrphans(db);
    assertWithinBudget(await db.storage());
    await checkRange(db, 1, 5000);
    await assertIntact(db);
  });

  test('R2 failing to delete: replaced objects stay recorded as garbage, and are deleted once R2 is back', async () => {
    const db = await coldDatabase('delete-fails');
    const { result } = await whileR2Fails(db, 'delete', async () => {
      await db.run(`UPDATE t SET body = ${BODY('id', ';')} WHERE id BETWEEN 100 AND 1100`);
      await db.insert(3001, 5000); // the updated groups go back to R2 as new objects
      const run = await db.fetch('/__maintain');
      return { run, stats: await db.storage(), manifest: await db.manifest(), bucket: await db.bucket() };
    });
    assert.equal(result.run.status, 500, result.run.text);
    assert.match(result.run.body.error, /cold tier \(R2\) failed deleting/);
    assert.ok(result.manifest.garbage.length > 0, 'replaced objects are recorded as garbage');
    assert.equal(result.stats.garbageObjects, result.manifest.garbage.length);
    for (const key of result.manifest.garbage) assert.ok(result.bucket.includes(key), `${key} is still in the bucket`);
    assertWithinBudget(result.stats);

    await db.maintain();
    await assertNoOrphans(db);
    await checkRange(db, 1, 5000, `CASE WHEN id BETWEEN 100 AND 1100 THEN ${BODY('id', ';')} ELSE ${BODY('id')} END`);
  });

  /** GET /export (query: its query string) of db after a restart, written to a file; it
   *  must promote nothing to the hot tier. @param {any} db @param {string} query */
  async function exportFromCold(db, query) {
    await db.reopen();
    await db.query('SELECT 1'); // open
    const before = await db.storage();
    const r = await runtime.fetch(`http://localhost/sql/${db.name}/export${query}`);
    assert.equal(r.status, 200);
    const file = join(TMP, `${db.name}.sqlite`);
    writeFileSync(file, Buffer.from(await r.arrayBuffer()));
    const after = await db.storage();
    assert.equal(after.promotedGroups, before.promotedGroups, 'the export promoted nothing');
    assert.equal(after.hotBytes, before.hotBytes, 'the hot tier did not grow');
    return { file, before, after };
  }

  test('GET /export of a database mostly in R2 is a file the sqlite3 CLI opens, intact, with the same rows', async () => {
    const db = await coldDatabase('export');
    const { file, before, after } = await exportFromCold(db, '');
    const downloads = after.r2Reads - before.r2Reads;
    assert.ok(downloads > 0 && downloads <= before.coldGroups, `each cold group downloaded at most once (${downloads} of ${before.coldGroups})`);
    try {
      assert.deepEqual(cli(file, 'PRAGMA integrity_check'), ['ok']);
      const [ours] = await db.query(`SELECT count(*) AS n, sum(k) AS k, sum(body <> ${BODY('id')}) AS bad FROM t`);
      assert.deepEqual(cli(file, `SELECT count(*) || '|' || sum(k) || '|' || sum(body <> ${BODY('id')}) FROM t`), [`${ours.n}|${ours.k}|${ours.bad}`]);
      assert.deepEqual(ours, { n: 3000, k: Array.from({ length: 3000 }, (_, i) => kOf(i + 1)).reduce((a, b) => a + b), bad: 0 });
    } finally {
      rmSync(file, { force: true });
    }
  });

  test('GET /export?asOf= of a database mostly in R2 promotes nothing either, and is the file of that point', async () => {
    const db = await coldDatabase('export-at');
    const { current } = (await db.post('/history', {})).body;
    const [then] = await db.query('SELECT count(*) AS n, sum(k) AS k FROM t');
    await db.run('UPDATE t SET k = k + 1 WHERE id = 2999');
    await db.maintain();
    const { file } = await exportFromCold(db, `?asOf=${current.lsn}`);
    try {
      assert.deepEqual(cli(file, 'PRAGMA integrity_check'), ['ok']);
      assert.deepEqual(cli(file, "SELECT count(*) || '|' || sum(k) FROM t"), [`${then.n}|${then.k}`]);
      // Reads that move groups between the tiers (no commit), then the same export again: still that point.
      for (let id = 1; id < 3000; id += 97) await db.query('SELECT k FROM t WHERE id = ?', [id]);
      await db.maintain();
      writeFileSync(file, Buffer.from(await (await runtime.fetch(`http://localhost/sql/${db.name}/export?asOf=${current.lsn}`)).arrayBuffer()));
      assert.deepEqual(cli(file, "SELECT count(*) || '|' || sum(k) FROM t"), [`${then.n}|${then.k}`], 'a second export is of the point too');
    } finally {
      rmSync(file, { force: true });
    }
  });

  test('upkeep with one group\'s object lost moves the other groups and collects its garbage; it answers COLD_TIER_CORRUPT meanwhile', async () => {
    const db = await coldDatabase('upkeep-lost');
    await db.reopen();
    await db.query('SELECT count(*) AS n FROM t WHERE id < 1200'); // the first groups are the most recently used
    await db.maintain();
    const { pageCount } = await db.storage();
    const last = Math.floor((pageCount - 1) / 16);
    const lost = (await db.manifest()).groups.find((g) => g.grp === last);
    assert.ok(lost, 'the last group is in R2');
    await db.deleteObject(lost.object);
    await db.reopen();
    // New pages in the last group and past it: its upload needs the lost object's pages.
    await db.run('CREATE TABLE u (id INTEGER PRIMARY KEY, b BLOB)');
    await db.run('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) INSERT INTO u SELECT i, zeroblob(3000) FROM n');
    const rounds = [];
    for (let round = 0; round < 3; round++) {
      const answer = await db.fetch('/__maintain');
      assert.equal(answer.status, 500, answer.text);
      assert.match(answer.body.error, /the cold tier lost data: .* is missing from the bucket/);
      rounds.push(await db.storage());
      await db.run('INSERT INTO u (b) VALUES (zeroblob(10))');
    }
    for (const s of rounds) assert.equal(s.garbageObjects, 0, `garbage collected after each round: ${JSON.stringify(s)}`);
    assert.ok(rounds[0].hotBytes <= rounds[0].hotBudgetBytes + 2 * 16 * rounds[0].pageSize, `the other groups moved: ${JSON.stringify(rounds[0])}`);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM u'), [{ n: 403 }]);
  });

  test('POST /import into a database mostly in R2: the new file reads back, the old objects are deleted, and upkeep tiers the new one', async () => {
    const source = await coldDatabase('import-source', 2000);
    const file = new Uint8Array(await (await runtime.fetch(`http://localhost/sql/${source.name}/export`)).arrayBuffer());
    const db = await coldDatabase('import-target', 4000);
    const old = await db.manifest();
    assert.ok(old.groups.length > 0);

    const answer = await db.post('/import', file, { headers: { 'Content-Type': 'application/vnd.sqlite3' } });
    assert.equal(answer.status, 200, answer.text);
    const swapped = await db.storage();
    assert.equal(swapped.coldGroups, 0, 'the new database starts all hot');
    assert.equal(swapped.garbageObjects, old.groups.length, 'every object of the old database is garbage');
    await checkRange(db, 1, 2000);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 2000 }]);

    await db.maintain();
    assertWithinBudget(await db.storage());
    await assertNoOrphans(db);
    assert.ok(!(await db.bucket()).some((name) => old.groups.some((g) => g.object === name)), 'no object of the old database is left');
    await runtime.restart();
    await checkRange(db, 1, 2000);
    await assertIntact(db);
  });

  test('GET /export while R2 fails to read: the download fails, it never ends cleanly as a truncated file', async () => {
    const db = await coldDatabase('export-fails');
    await db.reopen();
    await db.query('SELECT 1');
    const [{ page_count: pages }] = await db.query('PRAGMA page_count');
    const { result } = await whileR2Fails(db, 'get', async () => {
      const r = await runtime.fetch(`http://localhost/sql/${db.name}/export`);
      let bytes = 0;
      try {
        const reader = /** @type {ReadableStream<Uint8Array>} */ (r.body).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          bytes += value.byteLength;
        }
        return { status: r.status, bytes, error: null };
      } catch (err) {
        return { status: r.status, bytes, error: String(err) };
      }
    });
    const whole = pages * 4096;
    assert.ok(result.status !== 200 || result.error !== null || result.bytes === whole, `answered ${result.status} and ended cleanly after ${result.bytes} of ${whole} bytes`);
    // And once R2 is back, the export is whole.
    const r = await runtime.fetch(`http://localhost/sql/${db.name}/export`);
    assert.equal((await r.arrayBuffer()).byteLength, whole);
  });

  test('maintenance waits for an open transaction and never sends its uncommitted pages to R2', async () => {
    const db = await coldDatabase('tx-maintain');
    // A committed write over the budget starts maintenance; the transaction begins right after it.
    await db.insert(3001, 4000);
    const begun = await db.post('/begin', { timeoutMs: 30_000 });
    assert.equal(begun.status, 200, begun.text);
    const headers = { 'Content-Type': 'application/json', [TX_HEADER]: begun.body.txId };
    const inTx = await db.post('/run', { sql: INSERT, params: [4001, 5000] }, { headers });
    assert.equal(inTx.status, 200, inTx.text);
    const maintaining = db.fetch('/__maintain');
    const inside = await db.post('/query', { sql: 'SELECT count(*) AS n FROM t' }, { headers });
    assert.deepEqual(inside.body?.rows, [{ n: 5000 }], inside.text);
    const rolledBack = await db.post('/rollback', {}, { headers });
    assert.equal(rolledBack.status, 200, rolledBack.text);
    assert.equal((await maintaining).status, 200);
    await db.maintain();
    assertWithinBudget(await db.storage());
    await runtime.restart();
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 4000 }]);
    await checkRange(db, 1, 4000);
    await assertIntact(db);
    await assertNoOrphans(db);
  });

  test('a database whose cold tables a release before shared objects wrote opens with every row, its objects and its garbage', async () => {
    const db = await coldDatabase('upgrade');
    await db.failR2('delete'); // the objects the update replaces stay garbage
    await db.run(`UPDATE t SET body = ${BODY('id', ';')} WHERE id <= 2000`);
    await db.maintain().catch(() => {});
    await db.healR2();
    const before = await db.manifest();
    assert.ok(before.garbage.length > 0 && before.groups.length > 0, JSON.stringify(before));
    await db.fetch('/__downgrade');
    assert.equal((await db.storage()).garbageObjects, before.garbage.length, 'opened (no upkeep yet)');
    const after = await db.manifest();
    assert.deepEqual(after.groups, before.groups, 'the same objects hold the same groups');
    assert.deepEqual(after.garbage, before.garbage, 'the same garbage');
    await checkRange(db, 1, 2000, BODY('id', ';'));
    await checkRange(db, 2001, 3000);
    await db.maintain();
    await assertNoOrphans(db);
  });

  test('GET /stats answers the same numbers as the stats() RPC', async () => {
    const db = await coldDatabase('stats');
    await db.query('SELECT id FROM t WHERE id = 10');
    await db.maintain();
    const http = await db.fetch('/stats');
    assert.equal(http.status, 200, http.text);
    assert.deepEqual(http.body, await db.stats());
    for (const key of ['r2Reads', 'r2Writes', 'r2Deletes', 'hotBytes', 'hotBudgetBytes', 'coldBytes', 'coldGroups', 'garbageObjects', 'hitRate', 'promotedGroups', 'demotedGroups']) {
      assert.equal(typeof http.body.storage[key], 'number', key);
    }
  });

  test('on the key-value backend the cold tier is ignored: the object keeps every page in its own storage', async () => {
    const db = coldClient(runtime, 'kv', tenant('kv'));
    await db.insert(1, 2000);
    await db.maintain();
    await checkRange(db, 1, 2000);
    const s = await db.storage();
    assert.equal(s.coldGroups, undefined, `no cold tier: ${JSON.stringify(s)}`);
    assert.deepEqual(await db.bucket(), []);
  });

  test('writers racing maintenance lose nothing: every acknowledged insert and update is there after a restart', { timeout: 60_000 }, async () => {
    const db = await coldDatabase('race');
    /** @type {Map<number, number>} id -> k it was last acknowledged with */
    const updates = new Map();
    let nextId = 10_001;
    const inserted = [];
    for (let round = 0; round < 4; round++) {
      /** @type {Promise<unknown>[]} */
      const pending = [db.fetch('/__maintain')];
      // Writes into cold groups push the hot tier over budget: maintenance runs after each.
      pending.push(db.run(`UPDATE t SET k = k + 1 WHERE id BETWEEN ${1 + round * 500} AND ${300 + round * 500}`).then(() => {
        for (let id = 1 + round * 500; id <= 300 + round * 500; id++) updates.set(id, (updates.get(id) ?? kOf(id)) + 1);
      }));
      for (let i = 0; i < 40; i++) {
        if (i % 8 === 0) pending.push(db.fetch('/__maintain'));
        if (i % 2 === 0) {
          const id = nextId++;
          pending.push(db.run(`INSERT INTO t (id, k, body) VALUES (?1, ${K('?1')}, ${BODY('?1')})`, [id]).then(() => inserted.push(id)));
        } else {
          const id = 2001 + round * 40 + i; // one row per request, in the older (cold) part
          const k = 2_000_000 + round * 100 + i;
          pending.push(db.run('UPDATE t SET k = ?1 WHERE id = ?2', [k, id]).then(() => updates.set(id, k)));
        }
      }
      const answers = await Promise.all(pending);
      for (const a of answers) if (a && typeof a === 'object' && 'status' in a) assert.equal(/** @type {any} */ (a).status, 200, /** @type {any} */ (a).text);
    }
    assert.equal(inserted.length, 80);
    await db.maintain();
    await runtime.restart();
    await assertIntact(db);
    const rows = await db.query('SELECT id, k FROM t WHERE id > 10000 OR id IN (SELECT value FROM json_each(?1)) ORDER BY id', [JSON.stringify([...updates.keys()])]);
    const got = new Map(rows.map((r) => [r.id, r.k]));
    for (const id of inserted) assert.equal(got.get(id), kOf(id), `inserted row ${id}`);
    for (const [id, k] of updates) assert.equal(got.get(id), k, `updated row ${id}`);
    assert.equal(rows.length, inserted.length + updates.size);
    assert.deepEqual(await db.query(`SELECT count(*) AS n, sum(body <> ${BODY('id')}) AS bad FROM t`), [{ n: 3080, bad: 0 }]);
    await db.maintain();
    await assertNoOrphans(db);
  });
});

// ---------------------------------------------------------------------------

describe('cold tier: libSQL and Workers RPC transactions while an R2 read is held', () => {
  const TOKEN = 'cold-libsql-token';
  const runtime = fixtureRuntime('cold-tx', 'cold-worker.js', 'makeColdClasses', [MIGRATIONS, { hotBytes: MiB, groupPages: 16 }, { changes: false }], { DOSQL_TOKEN: TOKEN }, { r2Buckets: ['COLD'] });
  before(() => runtime.start());
  after(() => runtime.destroy());

  /** A database mostly in R2, reopened so its engine holds no page but row 2999's. @param {string} name */
  async function coldDatabase(name) {
    const db = coldClient(runtime, 'sql', name);
    await db.insert(1, 3000);
    await db.maintain();
    await db.reopen();
    assert.equal((await db.query('SELECT id FROM t WHERE id = 2999')).length, 1);
    return db;
  }

  /** Run `meanwhile` while R2 reads are held, once `faulting` (started first) waits on one. @template T
   *  @param {ReturnType<typeof coldClient>} db @param {() => Promise<any>} faulting @param {() => Promise<T>[]} meanwhile */
  async function whileHeld(db, faulting, meanwhile) {
    await db.holdR2('get');
    let first;
    /** @type {Promise<T>[]} */
    let others = [];
    try {
      first = faulting();
      while ((await db.heldR2()).held === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      others = meanwhile();
      await new Promise((resolve) => setTimeout(resolve, 200)); // they reach the object (no answer can come before the release)
    } finally {
      await db.releaseR2();
    }
    return { first: await first, others: await Promise.all(others) };
  }

  const scan = "SELECT count(*) AS n FROM t WHERE body <> ''";

  test('libSQL over HTTP: a fault in a baton-held stream ends it (TRANSACTION_ABORTED); its COMMIT, close and others sent meanwhile are answered, none 500, nothing kept', async () => {
    const db = await coldDatabase(tenant('hrana-held'));
    const pipeline = (/** @type {object} */ body) => db.post('/v2/pipeline', body);
    const begun = await pipeline({ baton: null, requests: [{ type: 'execute', stmt: { sql: 'BEGIN' } }, { type: 'execute', stmt: { sql: 'UPDATE t SET k = -1 WHERE id = 2999' } }] });
    assert.equal(begun.status, 200, begun.text);
    const { baton } = begun.body;
    const { first, others } = await whileHeld(db, () => pipeline({ baton, requests: [{ type: 'execute', stmt: { sql: scan } }] }), () => [
      pipeline({ baton, requests: [{ type: 'execute', stmt: { sql: 'COMMIT' } }] }),
      pipeline({ baton, requests: [{ type: 'close' }] }),
      pipeline({ baton: null, requests: [{ type: 'execute', stmt: { sql: 'SELECT k FROM t WHERE id = 2999' } }] }),
      db.post('/__rpc', { method: 'queryOne', args: ['SELECT k FROM t WHERE id = 2999'] }),
      db.post('/query', { sql: 'SELECT k FROM t WHERE id = 2999' }),
    ]);
    assert.deepEqual([first.status, first.body.code], [503, 'TRANSACTION_ABORTED'], first.text);
    const [commit, close, fresh, overRpc, overHttp] = others;
    assert.deepEqual([commit.status, commit.body.code], [400, 'STREAM_EXPIRED'], commit.text);
    assert.match(commit.body.message, /TRANSACTION_ABORTED/, 'the reason the stream ended is among those named');
    assert.equal(close.status, 400, close.text);
    assert.ok(['STREAM_EXPIRED', 'BAD_BATON'].includes(close.body.code), close.text);
    // Those outside the stream waited for its transaction, and saw nothing of it.
    assert.deepEqual(fresh.body.results[0].response.result.rows, [[{ type: 'integer', value: String(kOf(2999)) }]], fresh.text);
    assert.deepEqual(overRpc.body, { value: { k: kOf(2999) } });
    assert.deepEqual(overHttp.body.rows, [{ k: kOf(2999) }]);
    await checkRange(db, 1, 3000);
    await assertIntact(db);
  });

  test('Workers RPC: a fault in a transaction ends it; run, commit and rollback sent meanwhile are told it ended (TRANSACTION_EXPIRED), a begin waits and works', async () => {
    const db = await coldDatabase(tenant('rpc-held'));
    const rpc = (/** @type {string} */ method, /** @type {unknown[]} */ args) => db.post('/__rpc', { method, args });
    const begun = await rpc('begin', [{}]);
    const { txId } = begun.body.value;
    assert.deepEqual((await rpc('run', ['UPDATE t SET k = -1 WHERE id = 2999', [], { transaction: txId }])).body, { value: { rowsAffected: 1, lastInsertRowId: 0 } });
    const { first, others } = await whileHeld(db, () => rpc('query', [scan, [], { transaction: txId }]), () => [
      rpc('run', ['UPDATE t SET k = -2 WHERE id = 1', [], { transaction: txId }]),
      rpc('commit', [txId]),
      rpc('rollback', [txId]),
      rpc('begin', [{}]),
    ]);
    assert.match(first.body.error?.message, /^\[TRANSACTION_ABORTED 503\] /, first.text);
    const [run, commit, rollback, again] = others;
    for (const late of [run, commit, rollback]) assert.match(late.body.error?.message, /^\[TRANSACTION_EXPIRED 409\] .*aborted/, late.text);
    const next = again.body.value.txId;
    assert.ok(next && next !== txId, again.text);
    assert.deepEqual((await rpc('rollback', [next])).body, { value: null });
    await checkRange(db, 1, 3000);
  });

  /** A raw Hrana WebSocket through the standalone router. @param {string} name */
  async function hranaSocket(name) {
    return openHranaSocket(`${(await runtime.origin()).replace(/^http/, 'ws')}db/${name}`, TOKEN);
  }

  /** A write of another caller: it goes at once, not after an idle timeout (15 s for a
   *  stream's transaction; the deadline tells the two apart). @param {ReturnType<typeof coldClient>} db */
  async function writeAtOnce(db) {
    /** @type {any} */
    let timer;
    const idledOut = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('a write waited for the closed socket\'s transaction to idle out')), 10_000);
    });
    try {
      assert.deepEqual(await Promise.race([db.run('UPDATE t SET k = -5 WHERE id = 1'), idledOut]), { rowsAffected: 1, lastInsertRowId: 0 });
    } finally {
      clearTimeout(timer);
    }
  }

  test('libSQL over WebSocket: a stream\'s request faults on R2 and its socket closes before the read comes: the transaction ends, nothing kept', async () => {
    const name = tenant('ws-held');
    const db = await coldDatabase(name);
    const socket = await hranaSocket(name);
    assert.equal((await socket.request({ type: 'open_stream', stream_id: 1 })).type, 'response_ok');
    const begun = await socket.request({ type: 'batch', stream_id: 1, batch: { steps: [{ stmt: { sql: 'BEGIN' } }, { stmt: { sql: 'UPDATE t SET k = -1 WHERE id = 2999' }, condition: { type: 'ok', step: 0 } }] } });
    assert.equal(begun.type, 'response_ok', JSON.stringify(begun));
    await whileHeld(db, () => {
      void socket.request({ type: 'execute', stream_id: 1, stmt: { sql: scan } }); // never answered: the socket closes first
      return Promise.resolve();
    }, () => {
      socket.close();
      return [];
    });
    await writeAtOnce(db);
    assert.deepEqual(await db.query('SELECT id, k FROM t WHERE id IN (1, 2999) ORDER BY id'), [{ id: 1, k: -5 }, { id: 2999, k: kOf(2999) }]);
    await assertIntact(db);
  });

  test('libSQL over WebSocket: a BEGIN waiting behind another caller\'s R2 read, its socket closed meanwhile: the transaction it opens is rolled back at once', async () => {
    const name = tenant('ws-queued');
    const db = await coldDatabase(name);
    const socket = await hranaSocket(name);
    assert.equal((await socket.request({ type: 'open_stream', stream_id: 1 })).type, 'response_ok');
    const { first } = await whileHeld(db, () => db.post('/query', { sql: scan }), () => {
      // The BEGIN reaches the object and waits for the read; the socket closes before its answer.
      void socket.request({ type: 'batch', stream_id: 1, batch: { steps: [{ stmt: { sql: 'BEGIN' } }, { stmt: { sql: 'UPDATE t SET k = -1 WHERE id = 2999' } }] } });
      setTimeout(() => socket.close(), 100);
      return [];
    });
    assert.deepEqual(first.body.rows, [{ n: 3000 }], first.text);
    await writeAtOnce(db);
    assert.deepEqual(await db.query('SELECT id, k FROM t WHERE id IN (1, 2999) ORDER BY id'), [{ id: 1, k: -5 }, { id: 2999, k: kOf(2999) }]);
    await assertIntact(db);
  });
});

describe('change capture with the cold tier', () => {
  const runtime = fixtureRuntime('cold-changes', 'cold-worker.js', 'makeColdClasses', [MIGRATIONS, { hotBytes: MiB, groupPages: 16 }], {}, { r2Buckets: ['COLD'] });
  before(() => runtime.start());
  after(() => runtime.destroy());

  test('page 1\'s object deleted from the bucket: every request answers COLD_TIER_CORRUPT, and importing a backup recovers the object', async () => {
    const db = coldClient(runtime, 'sql', tenant('page1-lost'));
    await db.insert(1, 3000);
    const sub = await db.post('/changes', { limit: 1 });
    const backup = new Uint8Array(await (await runtime.fetch(`http://localhost/sql/${db.name}/export`)).arrayBuffer());
    // Read everything but page 1's group, so maintenance sends that group to R2.
    await db.reopen();
    await checkRange(db, 1, 3000);
    await db.maintain();
    const manifest = await db.manifest();
    assert.equal(manifest.page1Hot, false, 'page 1 is in R2 only');
    await db.deleteObject(/** @type {any} */ (manifest.groups.find((g) => g.grp === 0)).object);
    await db.reopen();
    const answer = await db.post('/query', { sql: 'SELECT 1' });
    assert.deepEqual([answer.status, answer.body.code], [500, 'COLD_TIER_CORRUPT'], answer.text);
    assert.match(answer.body.error, /import a backup/);
    // A wrong method is still refused as such; then the backup goes in.
    assert.equal((await db.fetch('/import', { method: 'GET' })).status, 405);
    const imported = await db.post('/import', backup, { headers: { 'Content-Type': 'application/vnd.sqlite3' } });
    assert.equal(imported.status, 200, imported.text);
    await checkRange(db, 1, 3000);
    await assertIntact(db);
    // The lost log's numbers cannot be read: new events come after any it can have
    // had, and a reader of the old log gets a gap, not other events under its numbers.
    await db.run("INSERT INTO t (id, k, body) VALUES (3001, 'new', 'x')");
    const after = await db.post('/changes', { since: sub.body.head });
    assert.equal(after.status, 200, after.text);
    assert.equal(after.body.gap, true, after.text);
  });

  test('rows written while their pages are in R2 produce their events, old values included; old events read from R2', async () => {
    const db = coldClient(runtime, 'sql', tenant('changes'));
    await db.insert(1, 2000);
    await db.maintain();
    await db.reopen();
    await db.query('SELECT 1');
    const { body: head } = await db.post('/changes', { limit: 1 });
    const before = await db.storage();
    await db.run(`UPDATE t SET body = ${BODY('id', ';')} WHERE id BETWEEN 300 AND 304`);
    assert.ok((await db.storage()).r2Reads > before.r2Reads, 'the update read its pages from R2');
    const { status, body } = await db.post('/changes', { since: head.head });
    assert.equal(status, 200);
    assert.deepEqual(
      body.events.map((/** @type {any} */ e) => [e.type, e.table, e.data.id, e.data.body.slice(0, 16), e.old.body.slice(0, 16)]),
      [300, 301, 302, 303, 304].map((id) => ['update', 't', id, `${String(id).padStart(7, '0')};`.repeat(2), `${String(id).padStart(7, '0')},`.repeat(2)]),
    );
    // The first events were written long ago: their pages are cold.
    await db.maintain();
    await db.reopen();
    const first = await db.post('/changes', { since: 0, limit: 3 });
    assert.deepEqual(
      first.body.events.map((/** @type {any} */ e) => [e.lsn, e.type, e.data.id]),
      [
        [1, 'insert', 1],
        [2, 'insert', 2],
        [3, 'insert', 3],
      ],
    );
  });
});

// ---------------------------------------------------------------------------

describe('a database past 1 GiB, where SQLite leaves the lock-byte page unwritten', () => {
  // 64 KiB pages: the lock-byte page (the one holding byte 2^30) is page 16385,
  // in group 1024 of 16 pages; a 1 MiB budget makes that group cold at once.
  const runtime = fixtureRuntime('cold-gib', 'cold-worker.js', 'makeColdClasses', [[{ name: '001_init.sql', sql: 'CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB NOT NULL);' }], { hotBytes: MiB, groupPages: 16 }, { changes: false, pageSize: 65536 }], {}, { r2Buckets: ['COLD'] });
  before(() => runtime.start());
  after(() => runtime.destroy());

  test('the group holding the lock-byte page goes to R2 like any other: maintenance succeeds and the hot tier stays within budget', { timeout: 120_000 }, async (t) => {
    const db = coldClient(runtime, 'sql', tenant('gib'));
    const started = Date.now();
    const ROWS = 16_600; // one 65,000-byte row a page: 1.09 GB
    for (let first = 1; first <= ROWS; first += 128) {
      await db.run('WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2) INSERT INTO b (id, v) SELECT i, zeroblob(65000) FROM n', [first, Math.min(ROWS, first + 127)]);
    }
    t.diagnostic(`${ROWS} rows: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const run = await db.fetch('/__maintain');
    const s = await db.storage();
    assert.ok(s.pageCount > 16385 + 32, `past the lock-byte page: ${s.pageCount} pages`);
    assert.equal(run.status, 200, `maintenance: ${run.text}`);
    assertWithinBudget(s);
    await runtime.restart();
    assert.deepEqual(await db.query('SELECT count(*) AS n, sum(length(v)) AS bytes FROM b WHERE id > 16000'), [{ n: ROWS - 16000, bytes: (ROWS - 16000) * 65000 }]);
    await assertNoOrphans(db);
  });
});

// ---------------------------------------------------------------------------

describe('groupPages is fixed by a database\'s first use', () => {
  // Settings from vars (fixtures/cold-worker.js, makeVarColdClasses), so they can
  // change between two starts of the same object.
  const VARS = { DOSQL_COLD_BUCKET: 'COLD', DOSQL_HOT_BYTES: String(MiB), DOSQL_GROUP_PAGES: '16' };
  const runtime = fixtureRuntime('cold-vars', 'cold-worker.js', 'makeVarColdClasses', [MIGRATIONS, VARS], {}, { r2Buckets: ['COLD'] });
  before(() => runtime.start());
  after(() => runtime.destroy());

  test('a later groupPages is ignored: the groups already in R2 keep their size and every row reads back', async () => {
    const db = coldClient(runtime, 'sql', tenant('vars'));
    await db.insert(1, 3000);
    await db.maintain();
    const s = await db.storage();
    assert.deepEqual([s.hotBudgetBytes, s.groupPages], [MiB, 16]);
    assert.ok(s.coldGroups > 0);
    const changed = await db.fetch('/__vars?DOSQL_GROUP_PAGES=32');
    assert.equal(changed.status, 200, changed.text);
    try {
      await db.reopen();
      await checkRange(db, 1, 3000);
      await db.insert(3001, 4000);
      await db.maintain();
      const later = await db.storage();
      assert.equal(later.groupPages, 16);
      assertWithinBudget(later);
      for (const g of (await db.manifest()).groups) assert.ok(g.pages <= 16, `group ${g.grp} holds ${g.pages} pages`);
      await runtime.restart();
      await checkRange(db, 1, 4000);
      await assertIntact(db);
    } finally {
      await db.fetch(`/__vars?${new URLSearchParams(VARS)}`);
    }
  });
});

describe('the history window moving past a point while a request of it waits for R2', () => {
  const WINDOW_MS = 6000;
  const runtime = fixtureRuntime('cold-window', 'cold-worker.js', 'makeColdClasses', [MIGRATIONS, { hotBytes: MiB, groupPages: 16 }, { changes: false, history: { windowMs: WINDOW_MS } }], {}, { r2Buckets: ['COLD'] });
  before(() => runtime.start());
  after(() => runtime.destroy());

  /** A database mostly in R2, a point of it, and a commit since whose window passes it soon. @param {string} name */
  async function pointAtTheEdge(name) {
    const db = coldClient(runtime, 'sql', tenant(name));
    await db.insert(1, 3000);
    await db.maintain();
    const { current } = (await db.post('/history', {})).body;
    await db.reopen();
    await db.run("UPDATE t SET body = 'x' WHERE id BETWEEN 1000 AND 2000");
    const updated = Date.now();
    await db.maintain();
    await db.reopen();
    await db.query('SELECT 1'); // open
    return { db, point: current.lsn, edge: updated + WINDOW_MS };
  }

  /** start()'s answer, R2 held from before it is asked until after the window passed its point.
   *  @param {any} db @param {number} edge @param {() => Promise<any>} start */
  async function acrossTheEdge(db, edge, start) {
    await db.holdR2('get');
    try {
      const answer = start();
      while ((await db.heldR2()).held === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(Date.now() < edge, 'the point was named within the window');
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, edge + 500 - Date.now())));
      await db.releaseR2();
      return await answer;
    } finally {
      await db.releaseR2();
    }
  }

  test('a restore of a point named in the window completes: the window decides what may be named, not what a request under way reads', async () => {
    const { db, point, edge } = await pointAtTheEdge('window-restore');
    const restored = await acrossTheEdge(db, edge, () => db.post('/restore', { to: point }));
    assert.equal(restored.status, 200, restored.text);
    assert.equal(restored.body.restoredTo.lsn, point);
    assert.deepEqual(await db.query("SELECT count(*) AS n FROM t WHERE body = 'x'"), [{ n: 0 }]);
    await checkRange(db, 1, 3000);
  });

  test('a read of a point named in the window answers its rows, though the run after its fault comes after the window passed', async () => {
    const { db, point, edge } = await pointAtTheEdge('window-read');
    const read = await acrossTheEdge(db, edge, () => db.post('/query', { sql: "SELECT count(*) AS n, sum(body = 'x') AS x FROM t", asOf: point }));
    assert.equal(read.status, 200, read.text);
    assert.deepEqual(read.body.rows, [{ n: 3000, x: 0 }]);
  });
});
