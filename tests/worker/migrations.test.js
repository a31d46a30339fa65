// Bundled migrations: applied once, in order, each in its own transaction,
// recorded with a checksum; a changed or failing migration stops the object with
// an error naming the file, nothing half applied, and a fixed bundle recovers.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, fixtureRuntime, BACKENDS, tenant } from './harness.js';
import { DoSQLError, fromRpcError } from '../../worker-shim/src/client/client.js';

const m001 = { name: '001_authors.sql', sql: 'CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);' };
const m002 = {
  name: '002_books.sql',
  sql: `CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES authors(id), title TEXT);
        CREATE INDEX books_author ON books (author_id);
        INSERT INTO authors (name) VALUES ('seeded');`,
};
const m003 = { name: '003_isbn.sql', sql: 'ALTER TABLE books ADD COLUMN isbn TEXT;' };
const bad = {
  name: '003_broken.sql',
  sql: `CREATE TABLE half (x);
        INSERT INTO half VALUES (1);
        INSERT INTO no_such_table VALUES (1);`,
};

/** @type {ReturnType<typeof createWorld>[]} */
const worlds = [];
/** A started world of its own. @param {string} name @param {any[]} migrations */
async function startWorld(name, migrations) {
  const world = createWorld(name);
  worlds.push(world);
  await world.start({ migrations });
  return world;
}
after(async () => {
  for (const w of worlds) await w.destroy();
});

for (const backend of BACKENDS) {
  describe(`migrations (${backend})`, () => {
    test('migrations are applied once, in order, and recorded; a restart does not reapply them', async () => {
      const world = await startWorld(`mig-once-${backend}`, [m001, m002]);
      const name = tenant('once');
      let db = world.client(backend, name);
      const recorded = await db.query('SELECT name, checksum, applied_at FROM _dosql_migrations ORDER BY name');
      assert.deepEqual(recorded.map((r) => r.name), ['001_authors.sql', '002_books.sql']);
      for (const r of recorded) assert.match(r.checksum, /^[0-9a-f]+$/);
      assert.deepEqual(await db.query('SELECT name FROM authors'), [{ name: 'seeded' }]);

      await world.restart({ migrations: [m001, m002] });
      db = world.client(backend, name);
      assert.deepEqual(await db.query('SELECT name, checksum, applied_at FROM _dosql_migrations ORDER BY name'), recorded);
      assert.deepEqual(await db.query('SELECT name FROM authors'), [{ name: 'seeded' }], 'the seed ran once');

      // A new migration in the bundle is applied on the next start; the old stay.
      await world.restart({ migrations: [m001, m002, m003] });
      db = world.client(backend, name);
      const now = await db.query('SELECT name, checksum, applied_at FROM _dosql_migrations ORDER BY name');
      assert.deepEqual(now.slice(0, 2), recorded);
      assert.equal(now[2].name, '003_isbn.sql');
      await db.run("INSERT INTO books (author_id, title, isbn) VALUES (1, 't', '978')");
    });

    test('an edited applied migration makes every request fail with 500 MIGRATION_CHANGED naming the file', async () => {
      const world = await startWorld(`mig-changed-${backend}`, [m001, m002]);
      const name = tenant('changed');
      let db = world.client(backend, name);
      await db.run("INSERT INTO authors (name) VALUES ('kept')");

      const edited = { ...m001, sql: m001.sql.replace('name TEXT NOT NULL', 'name TEXT') };
      await world.restart({ migrations: [edited, m002] });
      db = world.client(backend, name);
      for (const [path, body] of [['/query', { sql: 'SELECT 1' }], ['/run', { sql: 'SELECT 1' }], ['/transaction', { operations: [] }]]) {
        const a = await db.post(path, body);
        assert.equal(a.status, 500, a.text);
        assert.equal(a.body.code, 'MIGRATION_CHANGED');
        assert.match(a.body.error, /001_authors\.sql/);
      }
      // Putting the file back brings the object back, data intact.
      await world.restart({ migrations: [m001, m002] });
      db = world.client(backend, name);
      assert.deepEqual(await db.query('SELECT name FROM authors ORDER BY id'), [{ name: 'seeded' }, { name: 'kept' }]);
    });

    test('a failing migration gives 500 MIGRATION_FAILED naming the file and leaves nothing of it', async () => {
      const world = await startWorld(`mig-failed-${backend}`, [m001, m002, bad]);
      const name = tenant('failed');
      let db = world.client(backend, name);
      for (let i = 0; i < 2; i++) {
        const a = await db.post('/query', { sql: 'SELECT 1' });
        assert.equal(a.status, 500, a.text);
        assert.equal(a.body.code, 'MIGRATION_FAILED');
        assert.match(a.body.error, /003_broken\.sql failed at line 3: /, 'the file and the line');
        assert.match(a.body.error, /no such table: no_such_table/, 'SQLite\'s message is kept');
      }
      // A libSQL client (the dosql shell, an ORM) reads errors only as {message, code}
      // with exactly this content type: it is told why too, not "HTTP status 500".
      for (const [path, init] of [['/v2/pipeline', { method: 'POST', body: JSON.stringify({ baton: null, requests: [] }) }], ['/v2', { method: 'GET' }]]) {
        const answer = await world.mf.dispatchFetch(`http://localhost/${backend}/${name}${path}`, init);
        assert.equal(answer.status, 500, path);
        assert.equal(answer.headers.get('content-type'), 'application/json');
        const said = await answer.json();
        assert.equal(said.code, 'MIGRATION_FAILED', path);
        assert.match(said.message, /003_broken\.sql failed at line 3: no such table: no_such_table/);
      }
      // The stub's methods that answer no request say it as every RPC method does:
      // "[CODE status] message", which fromRpcError() reads back.
      for (const method of ['query', 'stats', 'maintainStorage']) {
        const r = await db.post('/__rpc', { method, args: method === 'query' ? ['SELECT 1'] : [] });
        const err = fromRpcError(new Error(r.body.error?.message));
        assert.ok(err instanceof DoSQLError, `${method}(): ${r.text}`);
        assert.deepEqual([err.code, err.status], ['MIGRATION_FAILED', 500], method);
        assert.match(err.message, /^migration 003_broken\.sql failed at line 3: /);
      }
      // Without the broken file: the two good ones were applied, nothing of the third.
      await world.restart({ migrations: [m001, m002] });
      db = world.client(backend, name);
      assert.deepEqual((await db.query('SELECT name FROM _dosql_migrations ORDER BY name')).map((r) => r.name), ['001_authors.sql', '002_books.sql']);
      assert.deepEqual(await db.query("SELECT name FROM sqlite_schema WHERE name = 'half'"), []);
    });

    test('a migration that ends its transaction or writes the engine\'s tables fails whole, saying why', async () => {
      const commit = { name: '002_commit.sql', sql: 'CREATE TABLE a (x); COMMIT; CREATE TABLE b (x);' };
      const world = await startWorld(`mig-guard-${backend}`, [m001, commit]);
      const name = tenant('guard');
      let a = await world.client(backend, name).post('/query', { sql: 'SELECT 1' });
      assert.equal(a.body.code, 'MIGRATION_FAILED', a.text);
      assert.match(a.body.error, /002_commit\.sql.*commit statement.*leave out BEGIN, COMMIT and ROLLBACK/);
      for (const sql of ['CREATE TABLE _dosql_evil (x)', 'DELETE FROM _dosql_migrations']) {
        await world.restart({ migrations: [m001, { name: '002_engine.sql', sql }] });
        a = await world.client(backend, name).post('/query', { sql: 'SELECT 1' });
        assert.equal(a.body.code, 'MIGRATION_FAILED', a.text);
        assert.match(a.body.error, /002_engine\.sql.*not authorized/);
      }
      // One whose statement runs the engine's stack out (a pattern of 8,000 wildcards).
      const deep = `CREATE TABLE deep AS SELECT replace(hex(zeroblob(8000)), '0', 'a') LIKE '${'%a'.repeat(8000)}%' AS m`;
      await world.restart({ migrations: [m001, { name: '002_deep.sql', sql: deep }] });
      a = await world.client(backend, name).post('/query', { sql: 'SELECT 1' });
      assert.equal(a.body.code, 'MIGRATION_FAILED', a.text);
      assert.match(a.body.error, /^migration 002_deep\.sql failed: the statement nests deeper than the engine's stack allows/);
      // Without them the database opens, with nothing of theirs.
      await world.restart({ migrations: [m001] });
      const db = world.client(backend, name);
      assert.deepEqual(await db.query("SELECT name FROM sqlite_schema WHERE name IN ('a', 'b', '_dosql_evil', 'deep')"), []);
      assert.deepEqual((await db.query('SELECT name FROM _dosql_migrations')).map((r) => r.name), ['001_authors.sql']);
    });

    test('PRAGMA foreign_keys=OFF applies in a migration: a table rebuild keeps the child rows, and an unmatched key fails it', async () => {
      // SQLite's procedure for a change ALTER TABLE cannot make, as drizzle-kit writes it.
      // Inside the migration's transaction SQLite ignores the PRAGMA: the DROP TABLE
      // deleted the parents and ON DELETE CASCADE every child with them.
      const parents = {
        name: '001_parents.sql',
        sql: `CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
              CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);`,
      };
      const rebuild = (name, copy) => ({
        name,
        sql: `CREATE TABLE kept (x);
              PRAGMA foreign_keys=OFF;
              CREATE TABLE __new_parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
              INSERT INTO __new_parent (id, name) SELECT id, coalesce(name, '') FROM parent ${copy};
              DROP TABLE parent;
              ALTER TABLE __new_parent RENAME TO parent;
              PRAGMA foreign_keys=ON;`,
      });
      const world = await startWorld(`mig-fk-${backend}`, [parents]);
      const name = tenant('fk');
      let db = world.client(backend, name);
      await db.run("INSERT INTO parent VALUES (1, 'p'), (2, NULL)");
      await db.run('INSERT INTO child VALUES (10, 1), (11, 1), (20, 2)');

      // A rebuild that loses parent 2 is refused whole, naming the unmatched row.
      await world.restart({ migrations: [parents, rebuild('002_lossy.sql', 'WHERE id = 1')] });
      const a = await world.client(backend, name).post('/query', { sql: 'SELECT 1' });
      assert.equal(a.body.code, 'MIGRATION_FAILED', a.text);
      assert.match(a.body.error, /002_lossy\.sql.*leaves a row of child \(rowid 20\) whose foreign key finds no row in parent/);

      await world.restart({ migrations: [parents, rebuild('002_rebuild.sql', '')] });
      db = world.client(backend, name);
      assert.deepEqual(await db.query('SELECT id, parent_id FROM child ORDER BY id'), [{ id: 10, parent_id: 1 }, { id: 11, parent_id: 1 }, { id: 20, parent_id: 2 }]);
      assert.deepEqual(await db.query('SELECT id, name FROM parent ORDER BY id'), [{ id: 1, name: 'p' }, { id: 2, name: '' }]);
      // Foreign keys are on again after it: an orphan is refused, a delete cascades.
      const orphan = await db.post('/run', { sql: 'INSERT INTO child VALUES (30, 3)' });
      assert.equal(orphan.body.code, 'SQLITE_CONSTRAINT_FOREIGNKEY', orphan.text);
      await db.run('DELETE FROM parent WHERE id = 1');
      assert.deepEqual(await db.query('SELECT id FROM child'), [{ id: 20 }]);
    });

    test('many requests at first start apply the migrations exactly once', async () => {
      const world = await startWorld(`mig-race-${backend}`, [m001, m002]);
      const db = world.client(backend, tenant('race'));
      const answers = await Promise.all(Array.from({ length: 10 }, () => db.post('/query', { sql: 'SELECT count(*) AS n FROM authors' })));
      for (const a of answers) {
        assert.equal(a.status, 200, a.text);
        assert.deepEqual(a.body, { rows: [{ n: 1 }] });
      }
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM _dosql_migrations'), [{ n: 2 }]);
    });
  });
}

describe('migrations larger than one request', () => {
  test('migrations of more than the request limit together apply; one larger than it fails naming the file', async () => {
    const rows = (/** @type {number} */ n, /** @type {string} */ t) => `CREATE TABLE ${t} (v TEXT);\n` + Array.from({ length: n }, (_, i) => `INSERT INTO ${t} VALUES ('${'x'.repeat(90)}${i}');`).join('\n');
    const a = { name: '001_a.sql', sql: rows(45_000, 'a') }; // ~4.7 MB each, ~9.5 MB together
    const b = { name: '002_b.sql', sql: rows(45_000, 'b') };
    const world = await startWorld('mig-large', [a, b]);
    const db = world.client('sql', tenant('large'));
    assert.deepEqual(await db.query('SELECT (SELECT count(*) FROM a) AS a, (SELECT count(*) FROM b) AS b'), [{ a: 45_000, b: 45_000 }]);
    await world.restart({ migrations: [a, b, { name: '003_huge.sql', sql: rows(90_000, 'c') }] });
    const refused = await world.client('sql', tenant('large')).post('/query', { sql: 'SELECT 1' });
    assert.equal(refused.body.code, 'MIGRATION_FAILED', refused.text);
    assert.match(refused.body.error, /003_huge\.sql.*split it/);
  });
});

test("a subclass's own static migrations are checked as defineDoSQL()'s are: a mistake is 500 BAD_CONFIG naming the class and the migration", async () => {
  const lists = [
    [[{ name: '001_a.sql', sql: 'CREATE TABLE a(x);' }, { name: '001_a.sql', sql: 'CREATE TABLE b(x);' }], /static migrations of Sql: migration 001_a\.sql is listed twice/],
    [[{ name: '001_a.sql', body: 'CREATE TABLE a(x);' }], /static migrations of Sql: migration 0 must be \{name: string, sql: string\}/],
    [[{ name: '001_a.sql', sql: 'CREATE TABLE a(x);\u0000 DROP TABLE a;' }], /static migrations of Sql: migration "001_a\.sql": its sql holds a NUL character/],
    [{ folder: '.do/migrations' }, /static migrations of Sql: migrations must be an array of \{name, sql\}/],
  ];
  for (const [list, message] of lists) {
    const rt = fixtureRuntime('static-migrations', 'dosql-worker.js', 'staticMigrationClasses', [list]);
    try {
      await rt.start();
      const res = await rt.fetch(`http://localhost/sql/${tenant('static')}/query`, { method: 'POST', body: JSON.stringify({ sql: 'SELECT 1' }) });
      const body = await res.json();
      assert.deepEqual([res.status, body.code], [500, 'BAD_CONFIG'], JSON.stringify(body));
      assert.match(body.error, message);
    } finally {
      await rt.destroy();
    }
  }
});
