// libSQL's pipelines (docs/hrana.md) and the settings a request may change: a
// pipeline that a page fault stopped (key-value backend, cold cache) resumes
// past its PRAGMAs (foreign_keys, the other settings) with what they set,
// as it runs without a fault; a sequence (libSQL's executeMultiple) binds no
// params, so a statement with one is refused rather than run with NULL.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, tenant } from './harness.js';

const world = createWorld('libsql-settings');
before(() => world.start({ migrations: [] }));
after(() => world.destroy());

/** @param {any} db @param {object[]} requests */
async function pipeline(db, requests) {
  const a = await db.post('/v2/pipeline', { baton: null, requests: [...requests, { type: 'close' }] });
  assert.equal(a.status, 200, a.text);
  return a.body.results;
}

/** The object started afresh: its pages are fetched again, so a pipeline faults. @param {string} name */
async function reopen(name) {
  const ns = await world.mf.getDurableObjectNamespace('KV_DB');
  await ns.get(ns.idFromName(name)).testReopen().catch(() => {});
}

/** 300 parents and 600 children that cascade. @param {any} db */
async function seed(db) {
  await db.run('CREATE TABLE parent (id INTEGER PRIMARY KEY, pad TEXT)');
  await db.run('CREATE TABLE child (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent(id) ON DELETE CASCADE, pad TEXT)');
  await db.run('WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 300) INSERT INTO parent SELECT x, hex(randomblob(100)) FROM s');
  await db.run('WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 600) INSERT INTO child SELECT x, 1 + x % 300, hex(randomblob(100)) FROM s');
}

const children = async (/** @type {any} */ db) => (await db.query('SELECT count(*) AS n FROM child'))[0].n;

const rebuild = [
  'PRAGMA foreign_keys=OFF', 'BEGIN',
  'CREATE TABLE parent_new (id INTEGER PRIMARY KEY, pad TEXT, extra TEXT)',
  'INSERT INTO parent_new (id, pad) SELECT id, pad FROM parent',
  'DROP TABLE parent', 'ALTER TABLE parent_new RENAME TO parent', 'COMMIT',
].map((sql) => ({ stmt: { sql } }));

for (const [what, requests, check] of /** @type {[string, object[], (db: any, results: any[]) => Promise<void>][]} */ ([
  ['a sequence turning foreign keys off, then deleting parents',
    [{ type: 'sequence', sql: 'PRAGMA foreign_keys=OFF; DELETE FROM parent WHERE id <= 150;' }],
    async (db) => assert.equal(await children(db), 600)],
  ['two executes: foreign keys off, then a delete',
    [{ type: 'execute', stmt: { sql: 'PRAGMA foreign_keys=OFF' } }, { type: 'execute', stmt: { sql: 'DELETE FROM parent WHERE id <= 150' } }],
    async (db) => assert.equal(await children(db), 600)],
  ['a batch rebuilding the parent table (resumed at its BEGIN)',
    [{ type: 'batch', batch: { steps: rebuild } }],
    async (db, results) => {
      assert.deepEqual(results[0].response.result.step_errors.filter(Boolean), []);
      assert.equal(await children(db), 600);
    }],
  ['an execute setting reverse_unordered_selects, a read, and the setting read back',
    [{ type: 'execute', stmt: { sql: 'PRAGMA reverse_unordered_selects=1' } }, { type: 'execute', stmt: { sql: 'SELECT count(*) FROM child' } },
      { type: 'execute', stmt: { sql: 'PRAGMA reverse_unordered_selects' } }],
    async (db, results) => {
      assert.deepEqual(results[2].response.result.rows, [[{ type: 'integer', value: '1' }]]);
      // The setting lasted to the end of its pipeline.
      assert.deepEqual(await db.query('PRAGMA reverse_unordered_selects'), [{ reverse_unordered_selects: 0 }]);
    }],
])) {
  test(`${what}: resumed after a page fault, it runs as it does without one`, async () => {
    for (const fault of [false, true]) {
      const name = tenant('settings');
      const db = world.client('kv', name);
      await seed(db);
      if (fault) await reopen(name);
      const results = await pipeline(db, requests);
      assert.ok(results.every((r) => r.type === 'ok'), JSON.stringify(results));
      await check(db, results);
      // Foreign keys hold again for the next request.
      assert.deepEqual(await db.query('PRAGMA foreign_keys'), [{ foreign_keys: 1 }]);
    }
  });
}

test('a sequence (libSQL\'s executeMultiple) with a parameter is refused, not run with NULL', async () => {
  const db = world.client('sql', tenant('params'));
  await db.run('CREATE TABLE t (x)');
  const results = await pipeline(db, [{ type: 'sequence', sql: 'INSERT INTO t VALUES (1); INSERT INTO t VALUES (:name);' }]);
  assert.equal(results[0].type, 'error', JSON.stringify(results[0]));
  assert.match(results[0].error.message, /a script binds no params, and a statement of it has 1 .*: send it as an execute, or a step of a batch/);
  assert.equal(results[0].error.code, 'BAD_PARAMS');
  // A sequence commits statement by statement: the one before it stays, as in libSQL.
  assert.deepEqual(await db.query('SELECT x FROM t'), [{ x: 1 }]);
});

test('PRAGMA defer_foreign_keys lasts to the end of its pipeline: the next client\'s transaction checks each row as it is written', async () => {
  const db = world.client('sql', tenant('defer'));
  await db.run('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
  await db.run('CREATE TABLE child (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent(id))');
  await db.run('INSERT INTO parent VALUES (1)');
  await pipeline(db, [{ type: 'execute', stmt: { sql: 'PRAGMA defer_foreign_keys=ON' } }]);
  assert.deepEqual(await db.query('PRAGMA defer_foreign_keys'), [{ defer_foreign_keys: 0 }]);
  const insert = (/** @type {number} */ id, /** @type {number} */ pid) => ({ type: 'execute', stmt: { sql: `INSERT INTO child VALUES (${id}, ${pid})` } });
  const results = await pipeline(db, [{ type: 'execute', stmt: { sql: 'BEGIN' } }, insert(10, 1), insert(11, 999), insert(12, 1), { type: 'execute', stmt: { sql: 'COMMIT' } }]);
  assert.deepEqual(results.slice(0, 5).map((/** @type {any} */ r) => r.type), ['ok', 'ok', 'error', 'ok', 'ok'], JSON.stringify(results));
  assert.deepEqual(await db.query('SELECT id FROM child ORDER BY id'), [{ id: 10 }, { id: 12 }]);
});
