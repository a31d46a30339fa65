// faults.test.js — crash safety by fault injection: for each kind of write, make
// storage fail its 1st write, then its 2nd, ... until the write goes through
// without reaching the injected fault (of a request's many writes, every one of the
// first and last few, and one in FAULTS_STRIDE between: faultPoints). After every run the object is reset and
// reopens from storage: PRAGMA integrity_check is ok, and the database (schema,
// rows and change log) is exactly as before the write or exactly as after it,
// never in between; a write that was answered 200 is there. On SQLite-backed objects
// the database as of the commit before the write reads exactly as it did then
// (history survives every fault), and a restore is one of the writes failed.
//
// A branch is tried the same way on the new database's writes, as a copy of the file
// and, with a cold tier, sharing its R2 objects: it is empty or whole after every
// fault, whole when answered 200, and made whole by a retry.
//
// Faults (tests/worker/fixtures/faults-worker.js): "once" fails one write (a
// transient error), "forever" fails it and every later one (storage gone for
// good, until the test disarms it). On SQLite-backed objects a write is one row
// of the commit (its one statement, or one of its transactionSync); on key-value
// objects one put/delete call.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BACKENDS, createClient, fixtureRuntime } from '../worker/harness.js';

/** The same data before every scenario: a table with an index, 300 rows. */
const BASE = [
  'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)',
  'CREATE INDEX t_v ON t (v)',
  "INSERT INTO t (v) SELECT printf('%03d %s', value, hex(zeroblob(40))) FROM json_each(json_array(" +
    Array.from({ length: 300 }, (_, i) => i).join(',') +
    '))',
];

/** Row n of table big: 1 MB of one letter, so that a snapshot can tell every byte is right. @param {string} n */
const BIG_ROW = (n) => `CAST(printf('%.*c', 1000000, char(64 + ${n})) AS BLOB)`;

/** Each scenario: extra setup, then the one request whose writes are failed. */
const SCENARIOS = [
  { name: 'a single-row write', setup: [], path: '/run', body: { sql: "INSERT INTO t (v) VALUES ('one more')" } },
  {
    name: 'a multi-statement transaction',
    setup: [],
    path: '/transaction',
    body: {
      operations: [
        { type: 'run', sql: "INSERT INTO t (v) VALUES ('new')" },
        { type: 'run', sql: "UPDATE t SET v = v || ' changed' WHERE id < 60" },
        { type: 'run', sql: 'DELETE FROM t WHERE id > 250' },
      ],
    },
  },
  {
    name: 'a schema change',
    setup: [],
    path: '/exec',
    body: { sql: "ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'x'; CREATE TABLE u (a INTEGER); INSERT INTO u SELECT id FROM t; CREATE INDEX u_a ON u (a)" },
  },
  { name: 'VACUUM', setup: ['DELETE FROM t WHERE id % 3 <> 0'], path: '/run', body: { sql: 'VACUUM' } },
  {
    // Undo the setup's delete: one commit of the pages that differ (docs/history.md).
    name: 'a restore to the commit before',
    setup: ['DELETE FROM t WHERE id > 100'],
    path: '/restore',
    body: { to: 'the commit before the last' },
    only: 'sql',
  },
  {
    // 9 MB: past CHECKPOINT_BYTES, so the commit also folds the page log into its groups.
    name: 'a large write, which checkpoints the page log',
    setup: ['CREATE TABLE big (b BLOB)'],
    path: '/run',
    body: { sql: `INSERT INTO big (b) SELECT ${BIG_ROW('value')} FROM json_each('[1,2,3,4,5,6,7,8,9]')` },
  },
];

/** A stop guard: no scenario writes this many times. */
const MAX_WRITES = 400;

/** Every point among the first and the last EDGE_POINTS of a request's writes is failed
 *  in turn, and one in FAULTS_STRIDE between them (default 4; 1 tries them all): those
 *  are more of one kind (a large commit's group rows, a branch's pages), and trying
 *  each took most of CI's time (a shared branch alone, 375 s). */
const EDGE_POINTS = 12;
const STRIDE = Number(process.env.FAULTS_STRIDE ?? 4);

/**
 * The writes to fail in turn, of `writes` that the request made unharmed, and then
 * the ones after it (a failure can make a retry write more), up to MAX_WRITES: the
 * loop stops at the first that finds nothing left to fail.
 * @param {number} writes @returns {Generator<number>}
 */
function* faultPoints(writes) {
  for (let n = 1; n <= writes; n++) {
    if (n <= EDGE_POINTS || n > writes - EDGE_POINTS || (n - EDGE_POINTS) % STRIDE === 0) yield n;
  }
  for (let n = writes + 1; n <= MAX_WRITES; n++) yield n;
}

/** How many storage writes post() makes to t's storage, none failed. @param {any} t @param {() => Promise<unknown>} post */
async function countWrites(t, post) {
  await t.get(`/__faults/arm?n=${MAX_WRITES * 1000}&mode=once`);
  await post();
  return (await t.get('/__faults/disarm')).writes;
}

/** @param {unknown[]} [classArgs]  makeFaultClasses' options @param {{r2Buckets?: string[]}} [more] */
function faultsWorld(classArgs = [], more = {}) {
  const runtime = fixtureRuntime('faults', 'faults-worker.js', 'makeFaultClasses', classArgs, {}, more);
  const mf = { dispatchFetch: runtime.fetch };
  return {
    start: runtime.start,
    destroy: runtime.destroy,
    /** @param {string} backend @param {string} tenant */
    tenant(backend, tenant) {
      const url = (/** @type {string} */ path) => `http://localhost/${backend}/${tenant}${path}`;
      return {
        name: tenant,
        db: createClient((path, init) => mf.dispatchFetch(url(path), init)),
        /** @param {string} path @param {unknown} body */
        async post(path, body) {
          const r = await mf.dispatchFetch(url(path), { method: 'POST', body: JSON.stringify(body) });
          return { status: r.status, body: await r.json() };
        },
        /** @param {string} path */
        async get(path) {
          return (await mf.dispatchFetch(url(path))).json();
        },
      };
    },
  };
}

/**
 * Everything a write could change, as one comparable value: the schema, every
 * row of every table, the change log (all but its timestamps) and the page count;
 * now, or as of a point of history.
 * @param {ReturnType<ReturnType<typeof faultsWorld>['tenant']>} t @param {number} [asOf]
 */
async function snapshot(t, asOf) {
  const query = async (/** @type {string} */ sql) => {
    const answer = await t.post('/query', { sql, asOf });
    assert.equal(answer.status, 200, `${sql} as of ${asOf}: ${JSON.stringify(answer.body)}`);
    return answer.body.rows;
  };
  const schema = await query("SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
  /** @type {Record<string, unknown>} */
  const tables = {};
  for (const { name } of schema.filter((/** @type {any} */ s) => s.type === 'table' && s.name !== '_dosql_change_log')) {
    const rows = name === 'big' ? `rowid, length(b) AS n, b = ${BIG_ROW('rowid')} AS intact` : '*';
    tables[name] = await query(`SELECT ${rows} FROM "${name}" ORDER BY rowid`);
  }
  // The view lists events in lsn order; ORDER BY lsn would sort the large write's log again in memory.
  const log = await query('SELECT lsn, tx_id, type, tbl, data, old FROM _dosql_changes');
  // The file's size too: VACUUM changes nothing else.
  const [{ page_count: pages }] = await query('PRAGMA page_count');
  return { schema, tables, log, pages };
}

/** The newest lsn of history. @param {ReturnType<ReturnType<typeof faultsWorld>['tenant']>} t */
async function currentLsn(t) {
  return (await t.post('/history', {})).body.current.lsn;
}

describe('fault injection: every failed storage write leaves the database before or after', () => {
  const world = faultsWorld();
  before(() => world.start());
  after(() => world.destroy());

  for (const backend of BACKENDS) {
    for (const scenario of SCENARIOS.filter((s) => !s.only || s.only === backend)) {
      test(`${backend}: ${scenario.name}`, { timeout: 300_000 }, async () => {
        /** @param {string} name */
        const prepared = async (name) => {
          const t = world.tenant(backend, `${name}-${randomUUID().slice(0, 8)}`);
          for (const sql of [...BASE, ...scenario.setup]) await t.db.run(sql);
          return t;
        };
        /** The request's body; a restore's point is the commit before the setup's last. @param {ReturnType<typeof world.tenant>} t */
        const bodyFor = async (t) => (scenario.path === '/restore' ? { to: (await currentLsn(t)) - 1 } : scenario.body);
        const reference = await prepared('reference');
        const before = await snapshot(reference);
        const referenceBody = await bodyFor(reference);
        /** @type {{status: number, body: any} | undefined} */
        let answer;
        const writes = await countWrites(reference, async () => (answer = await reference.post(scenario.path, referenceBody)));
        assert.equal(answer?.status, 200, JSON.stringify(answer?.body));
        const afterWrite = await snapshot(reference);
        assert.notDeepEqual(afterWrite, before);

        for (const mode of ['once', 'forever']) {
          let n = 0;
          for (n of faultPoints(writes)) {
            const t = await prepared(`${mode}-${n}`);
            const body = await bodyFor(t);
            const lsnBefore = backend === 'sql' ? await currentLsn(t) : 0;
            await t.get(`/__faults/arm?n=${n}&mode=${mode}`);
            const result = await t.post(scenario.path, body).catch((err) => ({ status: 0, body: String(err) }));
            const { failed } = await t.get('/__faults/disarm');
            await t.get('/__faults/reopen');
            assert.deepEqual(await t.db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }], `${mode} ${n}`);
            const now = await snapshot(t);
            const where = `${mode}, write ${n} failed (answer ${result.status} ${JSON.stringify(result.body).slice(0, 160)})`;
            if (result.status === 200) assert.deepEqual(now, afterWrite, `acknowledged, so after: ${where}`);
            else assert.ok(isDeepEqual(now, before) || isDeepEqual(now, afterWrite), `before or after: ${where}`);
            if (backend === 'sql') assert.deepEqual(await snapshot(t, lsnBefore), before, `as of the commit before: ${where}`);
            if (failed === 0) break; // the write needed fewer than n writes: every point was tried
          }
          assert.ok(n > 1 && n < MAX_WRITES, `faults were injected, up to write ${n - 1} of ${writes}`);
        }
      });
    }
  }
});

describe('fault injection: a storage read failing as the object starts is 503, never another database', () => {
  const world = faultsWorld();
  before(() => world.start());
  after(() => world.destroy());

  for (const backend of BACKENDS) {
    test(`${backend}: the Nth read of a start fails once, then for good: the answer is the database's or 503, and what is answered 200 stays`, { timeout: 120_000 }, async () => {
      const t = world.tenant(backend, `reads-${randomUUID().slice(0, 8)}`);
      for (const sql of BASE) await t.db.run(sql);
      let rows = 300;
      for (const mode of ['once', 'forever']) {
        for (let n = 1; n <= 12; n++) {
          await t.get('/__faults/reopen');
          await t.get(`/__faults/arm?n=${n}&mode=${mode}&of=reads`);
          const read = await t.post('/query', { sql: 'SELECT count(*) AS n FROM t' });
          const write = await t.post('/run', { sql: "INSERT INTO t (v) VALUES ('during')" });
          await t.get('/__faults/disarm');
          const where = `${mode}, read ${n}: ${read.status} ${JSON.stringify(read.body).slice(0, 200)}; ${write.status} ${JSON.stringify(write.body).slice(0, 200)}`;
          for (const answer of [read, write]) {
            assert.ok(answer.status === 200 || (answer.status === 503 && /^(SQLITE_IOERR|STORAGE_UNAVAILABLE)/.test(answer.body.code)), where);
          }
          if (read.status === 200) assert.deepEqual(read.body.rows, [{ n: rows }], where);
          if (write.status === 200) rows++;
          // A clean start reads what was answered: nothing written elsewhere.
          await t.get('/__faults/reopen');
          assert.deepEqual(await t.db.query('SELECT count(*) AS n FROM t'), [{ n: rows }], where);
        }
      }
      assert.deepEqual(await t.db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    });
  }
});

/** @param {unknown} a @param {unknown} b */
function isDeepEqual(a, b) {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

describe('fault injection: a branch is empty or whole after any failed write of the new database', () => {
  const COPY = { name: 'copied (no cold tier)', classArgs: [], more: {} };
  // Rows padded past the 1 MiB hot budget, so that the branch shares R2 objects.
  const SHARED = { name: 'sharing R2 objects', classArgs: [{ cold: { binding: 'COLD', hotBytes: 1024 * 1024, groupPages: 8 } }], more: { r2Buckets: ['COLD'] } };
  for (const variant of [COPY, SHARED]) {
    const world = faultsWorld(variant.classArgs, variant.more);
    before(() => world.start());
    after(() => world.destroy());

    // Every write of a branch fails once, then from there on: with R2 objects shared, two
    // rounds of ~180 branches took 287 s on a quiet 2-core machine, so the limit leaves room.
    test(`sql: a branch ${variant.name}`, { timeout: 600_000 }, async (t) => {
      const source = world.tenant('sql', `source-${randomUUID().slice(0, 8)}`);
      for (const sql of BASE) await source.db.run(sql);
      if (variant === SHARED) {
        await source.db.run('CREATE TABLE pad (p BLOB)');
        await source.db.run("INSERT INTO pad SELECT zeroblob(3000) FROM json_each(json_array(" + Array.from({ length: 800 }, (_, i) => i).join(',') + '))');
        await source.get('/__faults/maintain');
        const { storage } = await source.get('/stats');
        assert.ok(storage.coldGroups > 0, `pages moved to R2: ${JSON.stringify(storage)}`);
      }
      const whole = await snapshot(source);
      const counted = world.tenant('sql', `branch-counted-${randomUUID().slice(0, 8)}`);
      await snapshot(counted); // started, so that its writes are counted
      const writes = await countWrites(counted, () => source.post('/branch', { name: counted.name }));
      assert.deepEqual(await snapshot(counted), whole);
      for (const mode of ['once', 'forever']) {
        let n = 0;
        for (n of faultPoints(writes)) {
          const target = world.tenant('sql', `branch-${mode}-${n}-${randomUUID().slice(0, 8)}`);
          const empty = await snapshot(target); // started, so the faults hit the branch's writes
          await target.get(`/__faults/arm?n=${n}&mode=${mode}`);
          const result = await source.post('/branch', { name: target.name });
          const { failed } = await target.get('/__faults/disarm');
          await target.get('/__faults/reopen');
          const where = `${mode}, write ${n} of the branch failed (answer ${result.status} ${JSON.stringify(result.body).slice(0, 160)})`;
          assert.deepEqual(await target.db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }], where);
          const now = await snapshot(target);
          if (result.status === 200) assert.deepEqual(now, whole, `acknowledged, so whole: ${where}`);
          else assert.ok(isDeepEqual(now, empty) || isDeepEqual(now, whole), `empty or whole: ${where}`);
          if (result.status !== 200) {
            const again = await source.post('/branch', { name: target.name });
            assert.ok(again.status === 200 || again.body.code === 'BRANCH_EXISTS', `made again: ${where}: ${JSON.stringify(again.body)}`);
            assert.deepEqual(await snapshot(target), whole, `whole once made again: ${where}`);
          }
          if (failed === 0) break;
        }
        assert.ok(n > 1 && n < MAX_WRITES, `faults were injected, up to write ${n - 1} of ${writes}`);
        t.diagnostic(`${mode}: faults up to write ${n - 1} of ${writes}, one in ${STRIDE} between the first and last ${EDGE_POINTS}`);
      }
      assert.deepEqual(await snapshot(source), whole, 'the source is unchanged');
    });
  }
});
