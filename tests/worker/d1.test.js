// The D1 facade (worker-shim/src/client/d1.js): D1's surface — prepare/bind/all/first/
// run/raw, batch, exec, meta — over a real DoSQL object in workerd, on both
// backends, and BEGIN/COMMIT/ROLLBACK statements mapped to an interactive
// transaction. The facade runs here in Node; its requests go to workerd through
// the test worker's router (tests/worker/orm.test.js runs it inside a Worker).
// Where a behaviour is D1's, the expected value is what local D1 (workerd's own
// D1 client over Miniflare) answers for the same call.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, BACKENDS, tenant } from './harness.js';
import { toD1 } from '../../worker-shim/src/client/d1.js';
import { DoSQLError } from '../../worker-shim/src/client/client.js';

const world = createWorld('d1');

before(() => world.start({ migrations: [] }));
after(() => world.destroy());

/**
 * A stub of one tenant's object, as a Worker has: fetch(url, init) to the object.
 * @param {'sql' | 'kv'} backend
 * @param {string} name
 */
function stub(backend, name) {
  return {
    /** @param {string} url @param {any} init */
    fetch: (url, init) => world.mf.dispatchFetch(`http://localhost/${backend}/${name}${new URL(url).pathname}`, init),
  };
}

/**
 * @param {'sql' | 'kv'} backend
 * @param {string} prefix
 * @param {import('../../worker-shim/src/client/d1.js').D1FacadeOptions} [options]
 */
function database(backend, prefix, options) {
  return toD1(stub(backend, tenant(prefix)), undefined, options);
}

/** @param {() => Promise<unknown>} fn @param {RegExp} message */
async function rejectsD1(fn, message) {
  await assert.rejects(fn, (/** @type {any} */ err) => {
    assert.ok(err instanceof Error);
    assert.match(err.message, message);
    return true;
  });
}

const SCHEMA = `
  CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, active INTEGER, avatar BLOB);
  CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT);
`;

for (const backend of BACKENDS) {
  describe(`D1 facade (${backend})`, () => {
    test('prepare / bind / run / all / first / raw, with meta', async () => {
      const db = database(backend, 'surface');
      assert.equal((await db.exec(SCHEMA)).count, 2);
      // A script of no statement, as D1 answers it.
      await assert.rejects(db.exec(' -- nothing\n'), { message: 'D1_EXEC_ERROR: Error in line 1: -- nothing: SQL code did not contain a statement.' });
      await assert.rejects(db.exec(';\n;'), { message: 'D1_EXEC_ERROR: Error in line 1: ;: SQL code did not contain a statement.' });

      const insert = db.prepare('INSERT INTO users (name, email, active) VALUES (?, ?, ?)');
      const ran = await insert.bind('Ann', 'ann@x.io', true).run();
      assert.equal(ran.success, true);
      assert.deepEqual(ran.results, []);
      assert.equal(ran.meta.changes, 1);
      assert.equal(ran.meta.last_row_id, 1);
      assert.equal(ran.meta.changed_db, true);
      assert.equal(ran.meta.rows_written, 1);
      assert.equal(ran.meta.rows_read, 0);
      assert.equal(typeof ran.meta.duration, 'number');
      assert.equal((await insert.bind('Bob', 'bob@x.io', false).run()).meta.last_row_id, 2);
      assert.deepEqual(insert.params, [], 'bind() returns a new statement');

      const all = await db.prepare('SELECT id, name, active FROM users ORDER BY id').all();
      assert.deepEqual(all.results, [
        { id: 1, name: 'Ann', active: 1 },
        { id: 2, name: 'Bob', active: 0 },
      ]);
      assert.equal(all.meta.changes, 0);
      assert.equal(all.meta.changed_db, false);

      const runSelect = await db.prepare('SELECT name FROM users WHERE id = ?').bind(2).run();
      assert.deepEqual(runSelect.results, [{ name: 'Bob' }], "run() answers a query's rows too, as D1 does");

      const one = db.prepare('SELECT id, name FROM users WHERE email = ?');
      assert.deepEqual(await one.bind('bob@x.io').first(), { id: 2, name: 'Bob' });
      assert.equal(await one.bind('bob@x.io').first('name'), 'Bob');
      assert.equal(await one.bind('nobody').first(), null);
      assert.equal(await one.bind('nobody').first('name'), null);
      await rejectsD1(() => one.bind('bob@x.io').first('nope'), /^D1_COLUMN_NOTFOUND: Column not found \(nope\)$/);
      // A name Object.prototype has is no column either (D1 answers the method).
      for (const name of ['toString', 'constructor', 'hasOwnProperty', '__proto__']) {
        await rejectsD1(() => one.bind('bob@x.io').first(name), /^D1_COLUMN_NOTFOUND: Column not found/);
      }

      assert.deepEqual(await db.prepare('SELECT id, name FROM users ORDER BY id').raw(), [
        [1, 'Ann'],
        [2, 'Bob'],
      ]);
      assert.deepEqual(await db.prepare('SELECT id, name FROM users WHERE id = 1').raw({ columnNames: true }), [
        ['id', 'name'],
        [1, 'Ann'],
      ]);

      assert.deepEqual(await db.prepare('SELECT id, name FROM users WHERE 0').raw({ columnNames: true }), [['id', 'name']], 'the names without rows, as D1');
      assert.deepEqual(await db.prepare('SELECT id, name FROM users WHERE 0').raw(), []);

      const returning = await db.prepare("INSERT INTO users (name) VALUES ('Cy') RETURNING id, name").all();
      assert.deepEqual(returning.results, [{ id: 3, name: 'Cy' }]);
      assert.equal(returning.meta.changes, 1);
      assert.equal(returning.meta.last_row_id, 3);

      const updated = await db.prepare('UPDATE users SET active = 1 WHERE active IS NOT 1').run();
      assert.equal(updated.meta.changes, 2);
      assert.equal(updated.meta.last_row_id, 0, 'DoSQL: the rowid this statement inserted (none)');
    });

    test('VACUUM runs as a statement of its own (prepare().run()); VACUUM INTO is refused as any way refuses it', async () => {
      const db = database(backend, 'vacuum');
      await db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
      const ran = await db.prepare('VACUUM').run();
      assert.equal(ran.success, true);
      assert.deepEqual((await db.prepare('SELECT x FROM t').all()).results, [{ x: 1 }]);
      await rejectsD1(() => db.prepare("VACUUM INTO 'copy.db'").run(), /^D1_ERROR: not authorized: VACUUM INTO is not allowed: a Durable Object has no files; use \/export: SQLITE_AUTH$/);
    });

    test('raw() keeps every column, even two of one name, in order', async () => {
      const db = database(backend, 'raw');
      await db.exec(SCHEMA);
      await db.exec(`INSERT INTO users (id, name) VALUES (7, 'Ann'); INSERT INTO posts (id, user_id, title) VALUES (70, 7, 'Hi');`);
      const sql = 'SELECT users.id, users.name, posts.id, posts.title, 2 AS "1", 1 AS "0" FROM users JOIN posts ON posts.user_id = users.id';
      assert.deepEqual(await db.prepare(sql).raw({ columnNames: true }), [
        ['id', 'name', 'id', 'title', '1', '0'],
        [7, 'Ann', 70, 'Hi', 2, 1],
      ]);
      // all() gives objects keyed by name, so the later id wins (as in D1).
      assert.deepEqual((await db.prepare(sql).all()).results, [{ 0: 1, 1: 2, id: 70, name: 'Ann', title: 'Hi' }]);
    });

    test('text with NUL characters, or half a UTF-16 pair, binds as D1 binds it', async () => {
      const db = database(backend, 'text');
      await db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
      const nul = 'a\u0000b';
      const cut = 'hi \u{1F600}'.slice(0, 4); // an emoji cut in half
      assert.deepEqual(await db.prepare('SELECT hex(?1) AS h, typeof(?1) AS t').bind(nul).first(), { h: '610062', t: 'text' });
      assert.equal(await db.prepare('SELECT hex(?) AS h').bind(cut).first('h'), '686920EFBFBD');
      await db.prepare('INSERT INTO notes (body) VALUES (?), (?), (?)').bind(nul, cut, '').run();
      assert.deepEqual((await db.prepare('SELECT body FROM notes ORDER BY id').raw()).map(([b]) => b), [nul, 'hi \uFFFD', '']);
      assert.equal(await db.prepare('SELECT count(*) AS n FROM notes WHERE body = ?').bind(nul).first('n'), 1);
    });

    test('values: booleans as 1/0, blobs as byte arrays, BigInt exact, bad types refused', async () => {
      const db = database(backend, 'values');
      await db.exec(SCHEMA);
      const avatar = new Uint8Array([0, 1, 254, 255]);
      await db.prepare('INSERT INTO users (id, name, active, avatar) VALUES (?, ?, ?, ?)').bind(1, 'Ann', true, avatar).run();
      const row = await db.prepare('SELECT active, avatar, typeof(active) AS t FROM users').first();
      assert.deepEqual(row, { active: 1, avatar: [0, 1, 254, 255], t: 'integer' });
      await db.prepare('UPDATE users SET avatar = ?').bind(avatar.buffer).run();
      assert.deepEqual(await db.prepare('SELECT avatar FROM users').first('avatar'), [0, 1, 254, 255]);

      const big = 2n ** 63n - 1n;
      await db.prepare('INSERT INTO users (id, name) VALUES (?, ?)').bind(big, 'Max').run();
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users WHERE id = ?').bind(big).first('n'), 1);
      assert.equal(await db.prepare("SELECT id FROM users WHERE name = 'Max'").first('id'), Number(big), 'D1: a number');
      // A facade that keeps int64 exact.
      const again = database(backend, 'values-exact', { int64: 'bigint' });
      assert.equal(await again.prepare('SELECT ? AS v').bind(big).first('v'), big);
      assert.equal(await again.prepare('SELECT 1 AS v').first('v'), 1, 'small integers stay numbers');
      await again.exec('CREATE TABLE far (id INTEGER PRIMARY KEY)');
      const far = await again.prepare('INSERT INTO far VALUES (?)').bind(2n ** 53n + 1n).run();
      assert.equal(far.meta.last_row_id, 2n ** 53n + 1n, 'last_row_id as exact as the rows');
      assert.ok(Object.is(await db.prepare('SELECT -0.0 AS v').first('v'), 0), '-0 comes back as 0, as D1 gives it');
      assert.equal(await db.prepare('SELECT ? AS v').bind(-0.5).first('v'), -0.5);
      assert.equal(await db.prepare('SELECT ? AS v').bind(null).first('v'), null);
      assert.equal(await db.prepare('SELECT 1e999 AS v').first('v'), Infinity);

      assert.throws(() => db.prepare('SELECT ?').bind(undefined), /^Error: D1_TYPE_ERROR: Type 'undefined' not supported/);
      assert.throws(() => db.prepare('SELECT ?').bind({ a: 1 }), /^Error: D1_TYPE_ERROR: Type 'object' not supported/);
      assert.throws(() => db.prepare('SELECT ?').bind(['a']), /^Error: D1_TYPE_ERROR: Type 'object' not supported for value 'a'/);
      assert.throws(() => db.prepare('SELECT ?').bind(2n ** 63n), /^Error: D1_TYPE_ERROR: Type 'bigint' not supported/);
      assert.throws(() => db.prepare('SELECT ?').bind(new Date(NaN)), /^Error: D1_TYPE_ERROR: Type 'object' not supported for value 'Invalid Date'/);
      assert.deepEqual(await db.prepare('SELECT ? AS v').bind([0, 1, 255]).first('v'), [0, 1, 255], 'an array of bytes is a blob, as in D1');
      // A hole is no byte (D1 refuses the array too), not a 0 slipped into the blob.
      assert.throws(() => db.prepare('SELECT ?').bind([1, , 3]), /^Error: D1_TYPE_ERROR: Type 'object' not supported for value '1,,3'/);
      assert.throws(() => db.prepare('SELECT ?').bind(new Array(2)), /^Error: D1_TYPE_ERROR: Type 'object' not supported/);
    });

    test("errors are D1's: 'D1_ERROR: ' and SQLite's message, the DoSQLError as cause", async () => {
      const db = database(backend, 'errors');
      await db.exec(SCHEMA);
      await db.prepare("INSERT INTO users (name, email) VALUES ('Ann', 'a@x.io')").run();
      const err = await db
        .prepare("INSERT INTO users (name, email) VALUES ('Ann', 'a@x.io')")
        .run()
        .then(
          () => assert.fail('a duplicate email must fail'),
          (e) => e,
        );
      assert.ok(err instanceof Error);
      assert.equal(
        err.message,
        'D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)',
      );
      assert.ok(err.cause instanceof DoSQLError);
      assert.equal(err.cause.code, 'SQLITE_CONSTRAINT_UNIQUE');
      assert.equal(err.cause.message, 'UNIQUE constraint failed: users.email');

      await rejectsD1(() => db.prepare('SELEC 1').all(), /^D1_ERROR: near "SELEC": syntax error.*: SQLITE_ERROR$/);
      await rejectsD1(() => db.prepare('SELECT * FROM nope').all(), /^D1_ERROR: no such table: nope: SQLITE_ERROR$/);
      await rejectsD1(() => db.prepare('SELECT ?').bind(1, 2).all(), /^D1_ERROR: /);
      await rejectsD1(() => db.prepare('SELECT 1; SELECT 2').all(), /^D1_ERROR: /);
      await rejectsD1(() => db.dump(), /^D1_DUMP_ERROR: /);
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users').first('n'), 1, 'the object keeps serving');
    });

    test('batch: one result per statement, all or nothing', async () => {
      const db = database(backend, 'batch');
      await db.exec(SCHEMA);
      const insert = db.prepare('INSERT INTO users (name, email) VALUES (?, ?)');
      const results = await db.batch([
        insert.bind('Ann', 'a@x.io'),
        insert.bind('Bob', 'b@x.io'),
        db.prepare('SELECT name FROM users ORDER BY id'),
      ]);
      assert.equal(results.length, 3);
      assert.equal(results[0].meta.last_row_id, 1);
      assert.equal(results[1].meta.last_row_id, 2);
      assert.equal(results[1].meta.changes, 1);
      assert.deepEqual(results[2].results, [{ name: 'Ann' }, { name: 'Bob' }]);
      await rejectsD1(() => db.batch([]), /^D1_ERROR: No SQL statements detected\.$/);

      await rejectsD1(() => db.batch([insert.bind('Cy', 'c@x.io'), insert.bind('Dee', 'a@x.io')]), /^D1_ERROR: UNIQUE constraint failed: users.email/);
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users').first('n'), 2, 'nothing of the failed batch is kept');
      await assert.rejects(() => db.batch([/** @type {any} */ ('SELECT 1')]), TypeError);
      // As in D1, statements prepared by another facade (a helper calling toD1() for each
      // use) run in this one's batch.
      const other = database(backend, 'batch-elsewhere');
      const ran = await db.batch([other.prepare('SELECT count(*) AS n FROM users'), insert.bind('Eve', 'e@x.io')]);
      assert.deepEqual(ran.map((r) => r.results), [[{ n: 2 }], []]);
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users').first('n'), 3);
    });

    test('exec: a script, all or nothing; a failure names the statement', async () => {
      const db = database(backend, 'exec');
      const result = await db.exec(`${SCHEMA}
        CREATE TRIGGER stamp AFTER INSERT ON users BEGIN
          INSERT INTO posts (user_id, title) VALUES (new.id, 'welcome; ' || new.name);
        END;
        INSERT INTO users (name) VALUES ('it''s; Ann'); -- and a comment;
      `);
      assert.equal(result.count, 4);
      assert.equal(typeof result.duration, 'number');
      assert.deepEqual((await db.prepare('SELECT title FROM posts').all()).results, [{ title: "welcome; it's; Ann" }]);

      await rejectsD1(
        () => db.exec("INSERT INTO users (name, email) VALUES ('a', 'x');\nINSERT INTO users (name, email) VALUES ('b', 'x');"),
        /^D1_EXEC_ERROR: Error in line 2: INSERT INTO users \(name, email\) VALUES \('b', 'x'\);: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT/,
      );
      assert.equal(await db.prepare("SELECT count(*) AS n FROM users WHERE email = 'x'").first('n'), 0);
    });

    test('a misspelt facade option is BAD_REQUEST, not dropped', () => {
      // {transactionTimeout} would give BEGIN the default idle timeout without a word.
      assert.throws(() => database(backend, 'misspelt', /** @type {any} */ ({ transactionTimeout: 100 })),
        (/** @type {any} */ err) => err.code === 'BAD_REQUEST' && /toD1\(\) takes \{transactionTimeoutMs\?, int64\?\}; "transactionTimeout"/.test(err.message));
    });

    test('a facade option of a wrong value says so: int64 at once, transactionTimeoutMs in the object\'s words at BEGIN', async () => {
      assert.throws(() => database(backend, 'int64', /** @type {any} */ ({ int64: 'string' })),
        (/** @type {any} */ err) => err.code === 'BAD_REQUEST' && /int64 is 'number' or 'bigint', not "string"/.test(err.message));
      for (const transactionTimeoutMs of [5, '1000', -1]) {
        const db = database(backend, 'timeout', /** @type {any} */ ({ transactionTimeoutMs }));
        await rejectsD1(() => db.prepare('BEGIN').run(), /^D1_ERROR: .*timeoutMs/);
      }
    });

    test('BEGIN ... COMMIT and BEGIN ... ROLLBACK are real transactions', async () => {
      const name = tenant('tx');
      const db = toD1(stub(backend, name));
      await db.exec(SCHEMA);
      const insert = db.prepare('INSERT INTO users (name) VALUES (?)');

      await db.prepare('BEGIN').run();
      await insert.bind('Ann').run();
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users').first('n'), 1, 'the transaction sees its own rows');
      // Another client (another request, another facade) waits for the transaction.
      const other = toD1(stub(backend, name));
      const otherCount = other.prepare('SELECT count(*) AS n FROM users').first('n');
      await insert.bind('Bob').run();
      await db.prepare('ROLLBACK').run();
      assert.equal(await otherCount, 0, 'nobody saw the uncommitted rows');
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users').first('n'), 0, 'ROLLBACK kept nothing');

      await db.prepare('begin immediate;').run();
      const r = await insert.bind('Cy').run();
      assert.equal(r.meta.last_row_id, 1);
      await db.prepare('SAVEPOINT sp0').run();
      await insert.bind('Dee').run();
      await db.prepare('ROLLBACK TO SAVEPOINT sp0').run();
      await db.prepare('RELEASE SAVEPOINT sp0').run();
      // A failing statement fails alone; the transaction stays open.
      await rejectsD1(() => db.prepare('INSERT INTO nope VALUES (1)').run(), /^D1_ERROR: no such table: nope/);
      await db.batch([insert.bind('Eve'), insert.bind('Fay')]);
      assert.equal((await db.prepare('COMMIT').run()).meta.changed_db, true, 'its statements wrote');
      assert.deepEqual((await other.prepare('SELECT name FROM users ORDER BY id').all()).results, [
        { name: 'Cy' },
        { name: 'Eve' },
        { name: 'Fay' },
      ]);
      // A transaction that only read commits no change.
      await db.prepare('BEGIN').run();
      await db.prepare('SELECT count(*) FROM users').all();
      await db.batch([db.prepare('SELECT 1')]);
      assert.equal((await db.prepare('COMMIT').run()).meta.changed_db, false);
    });

    test('calls of one facade while BEGIN is in flight run after it, inside the transaction', async () => {
      const db = database(backend, 'tx-order');
      await db.exec(SCHEMA);
      // Not awaited one by one: the facade keeps the order.
      const calls = [
        db.prepare('BEGIN').run(),
        db.prepare("INSERT INTO users (name) VALUES ('a')").run(),
        db.prepare("INSERT INTO users (name) VALUES ('b')").run(),
        db.prepare('ROLLBACK').run(),
        db.prepare('SELECT count(*) AS n FROM users').first('n'),
      ];
      const results = await Promise.all(calls);
      assert.equal(results[4], 0);
    });

    test('misplaced COMMIT / ROLLBACK / BEGIN fail as in SQLite', async () => {
      const db = database(backend, 'tx-misuse');
      await db.exec(SCHEMA);
      await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: cannot commit - no transaction is active/);
      await rejectsD1(() => db.prepare('ROLLBACK').run(), /^D1_ERROR: cannot rollback - no transaction is active/);
      await db.prepare('BEGIN').run();
      await rejectsD1(() => db.prepare('BEGIN').run(), /^D1_ERROR: cannot start a transaction within a transaction/);
      await db.prepare("INSERT INTO users (name) VALUES ('kept')").run();
      await db.prepare('END').run();
      await rejectsD1(() => db.exec('BEGIN; SELECT 1; COMMIT;'), /^D1_EXEC_ERROR: Error in line 1: BEGIN; SELECT 1; COMMIT;: not authorized: BEGIN, COMMIT and ROLLBACK are not allowed/);
      // A script past the request limit fails whole: no line of it is to blame.
      const script = 'INSERT INTO users (name) VALUES (0);\n'.repeat(250_000);
      await rejectsD1(() => db.exec(script), /^D1_EXEC_ERROR: the request body is \d+ bytes or more; the limit is \d+ \(over Workers RPC/);
      await rejectsD1(() => db.batch([db.prepare('BEGIN')]), /^D1_ERROR: not authorized: BEGIN, COMMIT and ROLLBACK are not allowed/);
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users').first('n'), 1);
    });

    test("SQLite says which statements are BEGIN / COMMIT / ROLLBACK, in any spelling", async () => {
      const db = database(backend, 'tx-spelling');
      await db.exec(SCHEMA);
      const count = async () => db.prepare('SELECT count(*) AS n FROM users').first('n');
      const pairs = [
        ['begin', 'rollback'],
        ['BEGIN;', 'ROLLBACK TRANSACTION;'],
        ['begin immediate', '/* why */ rollback'],
        ['BEGIN DEFERRED TRANSACTION ;', '-- undo\nROLLBACK'],
        [' /* c */ begin exclusive', 'Rollback Transaction'],
      ];
      for (const [begin, rollback] of pairs) {
        await db.prepare(begin).run();
        await db.prepare("INSERT INTO users (name) VALUES ('gone')").run();
        await db.prepare(rollback).run();
        assert.equal(await count(), 0, `${begin} ... ${rollback}`);
      }
      for (const commit of ['commit', 'COMMIT TRANSACTION;', 'end', 'END TRANSACTION']) {
        await db.prepare('Begin Transaction').run();
        await db.prepare("INSERT INTO users (name) VALUES ('kept')").run();
        await db.prepare(commit).run();
      }
      assert.equal(await count(), 4);
      // Not transaction control: a string, a savepoint statement outside a transaction.
      assert.equal(await db.prepare("SELECT 'begin' AS v").first('v'), 'begin');
      await rejectsD1(() => db.prepare('ROLLBACK TO sp0').run(), /^D1_ERROR: not authorized: SAVEPOINT, RELEASE and ROLLBACK TO are allowed only inside a transaction.*: SQLITE_AUTH$/);
      await rejectsD1(() => db.prepare('BEGIN').bind(1).run(), /^D1_ERROR: Wrong number of parameter bindings for SQL query\.$/);
      assert.equal(await count(), 4, 'no transaction was left open');
      // Followed by another statement, it is no transaction control: refused whole, not
      // run as BEGIN (or COMMIT) with the rest dropped.
      for (const two of ["BEGIN; INSERT INTO users (name) VALUES ('lost')", "BEGIN;\nDELETE FROM users", 'COMMIT; SELECT 1']) {
        await rejectsD1(() => db.prepare(two).run(), /^D1_ERROR: sql holds more than one statement/);
      }
      await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: cannot commit - no transaction is active/);
      assert.equal(await count(), 4);
    });

    test('meta.size_after is the size in bytes the statement left, BEGIN/COMMIT/ROLLBACK included', async () => {
      const db = database(backend, 'size', { transactionTimeoutMs: 100 });
      await db.exec(SCHEMA);
      /** The size as SQLite counts it, asked by a statement whose own meta must agree. */
      const size = async () => {
        const r = await db.prepare('SELECT page_count * page_size AS n FROM pragma_page_count, pragma_page_size').all();
        assert.equal(r.meta.size_after, r.results[0].n);
        return r.meta.size_after;
      };
      const before = await size();
      assert.ok(before > 0 && before % 4096 === 0, String(before));
      const big = await db.prepare('INSERT INTO users (name, avatar) VALUES (?, zeroblob(200000))').bind('Big').run();
      assert.ok(big.meta.size_after >= before + 200000, `${big.meta.size_after} after ${before}`);
      assert.equal(await size(), big.meta.size_after);
      const grown = big.meta.size_after;

      assert.equal((await db.prepare('BEGIN').run()).meta.size_after, grown);
      const inTx = await db.prepare('INSERT INTO users (name, avatar) VALUES (?, zeroblob(200000))').bind('Bigger').run();
      assert.ok(inTx.meta.size_after >= grown + 200000, 'inside the transaction: the size as it sees it');
      assert.equal((await db.prepare('ROLLBACK').run()).meta.size_after, grown, 'ROLLBACK: the size it goes back to');
      await db.prepare('BEGIN').run();
      const kept = await db.prepare('INSERT INTO users (name, avatar) VALUES (?, zeroblob(200000))').bind('Kept').run();
      assert.equal((await db.prepare('COMMIT').run()).meta.size_after, kept.meta.size_after);
      assert.equal(await size(), kept.meta.size_after);
      const [emptied] = await db.batch([db.prepare('DELETE FROM users')]);
      assert.equal(await size(), emptied.meta.size_after);
      // A ROLLBACK of a transaction the object already ended: the size its rollback left.
      await db.prepare('BEGIN').run();
      await db.prepare('INSERT INTO users (name, avatar) VALUES (?, zeroblob(200000))').bind('Lost').run();
      await new Promise((r) => setTimeout(r, 400));
      await rejectsD1(() => db.prepare('SELECT 1').all(), /^D1_ERROR: .*idled out/);
      assert.equal((await db.prepare('ROLLBACK').run()).meta.size_after, emptied.meta.size_after);
    });

    test('EXPLAIN of BEGIN, COMMIT or ROLLBACK lists its program as SQLite does and opens or ends no transaction', async () => {
      const db = database(backend, 'explain-begin');
      await db.exec(SCHEMA);
      for (const sql of ['EXPLAIN BEGIN', 'EXPLAIN COMMIT', 'explain rollback', 'EXPLAIN QUERY PLAN BEGIN IMMEDIATE']) {
        const { results } = await db.prepare(sql).all();
        if (!/QUERY PLAN/.test(sql)) assert.ok(results.some((/** @type {any} */ r) => r.opcode === 'AutoCommit'), sql);
      }
      await db.prepare("INSERT INTO users (name) VALUES ('kept')").run();
      await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: cannot commit - no transaction is active/);
      // Inside a transaction, an explained ROLLBACK keeps it.
      await db.prepare('BEGIN').run();
      await db.prepare("INSERT INTO users (name) VALUES ('in')").run();
      await db.prepare('EXPLAIN ROLLBACK').all();
      await db.prepare('COMMIT').run();
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users').first('n'), 2);
    });

    test('a transaction that idled out: statements fail until ROLLBACK, which then succeeds', async () => {
      const db = database(backend, 'tx-idle', { transactionTimeoutMs: 100 });
      await db.exec(SCHEMA);
      await db.prepare('BEGIN').run();
      await db.prepare("INSERT INTO users (name) VALUES ('lost')").run();
      await new Promise((r) => setTimeout(r, 400));
      await rejectsD1(() => db.prepare('SELECT 1').all(), /^D1_ERROR: .*/);
      await rejectsD1(() => db.prepare('SELECT 1').all(), /^D1_ERROR: .*/);
      await db.prepare('ROLLBACK').run();
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users').first('n'), 0);
      // A COMMIT after a statement saw the idle-out fails with that reason, and the
      // ROLLBACK an ORM sends after a failed COMMIT still succeeds.
      await db.prepare('BEGIN').run();
      await new Promise((r) => setTimeout(r, 400));
      await rejectsD1(() => db.prepare('SELECT 1').all(), /^D1_ERROR: .*idled out/);
      await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: .*idled out/);
      await db.prepare('ROLLBACK').run();
      await db.prepare('BEGIN').run();
      await db.prepare('COMMIT').run();
    });

    test('after a COMMIT failed because the transaction had ended, the next statement runs outside it, as in SQLite; a ROLLBACK right after it succeeds', async () => {
      const db = database(backend, 'tx-after-failed-commit', { transactionTimeoutMs: 100 });
      await db.exec(SCHEMA);
      // Code that logs the failed COMMIT and goes on, without a ROLLBACK.
      await db.prepare('BEGIN').run();
      await db.prepare("INSERT INTO users (name) VALUES ('lost')").run();
      await new Promise((r) => setTimeout(r, 400));
      await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: .*idled out/);
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users').first('n'), 0);
      await db.prepare("INSERT INTO users (name) VALUES ('after')").run();
      await rejectsD1(() => db.prepare('ROLLBACK').run(), /^D1_ERROR: cannot rollback - no transaction is active/);
      await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: cannot commit - no transaction is active/);
      // BEGIN, batch() and exec() right after such a COMMIT run too.
      /** @type {[string, () => Promise<unknown>][]} */
      const nexts = [['BEGIN', () => db.prepare('BEGIN').run()], ['batch', () => db.batch([db.prepare('SELECT 1')])], ['exec', () => db.exec('SELECT 1')]];
      for (const [what, next] of nexts) {
        await db.prepare('BEGIN').run();
        await new Promise((r) => setTimeout(r, 400));
        await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: .*idled out/);
        await next();
        if (what === 'BEGIN') await db.prepare('ROLLBACK').run();
      }
      // A deferred foreign key that fails the COMMIT: a ROLLBACK right after it succeeds,
      // a second does not.
      await db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY);\nCREATE TABLE child (p REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);');
      await db.prepare('BEGIN').run();
      await db.prepare('INSERT INTO child VALUES (7)').run();
      await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: FOREIGN KEY constraint failed/);
      await db.prepare('ROLLBACK').run();
      await rejectsD1(() => db.prepare('ROLLBACK').run(), /^D1_ERROR: cannot rollback - no transaction is active/);
      assert.equal(await db.prepare('SELECT count(*) AS n FROM child').first('n'), 0);
    });

    test('after the transaction ended, BEGIN fails with why it ended, until ROLLBACK', async () => {
      const db = database(backend, 'tx-begin-dead', { transactionTimeoutMs: 100 });
      await db.prepare('BEGIN').run();
      await new Promise((r) => setTimeout(r, 400));
      await rejectsD1(() => db.prepare('SELECT 1').all(), /^D1_ERROR: .*idled out/);
      await rejectsD1(() => db.prepare('BEGIN').run(), /^D1_ERROR: .*idled out/);
      await db.prepare('ROLLBACK').run();
      await db.prepare('BEGIN').run();
      await db.prepare('ROLLBACK').run();
    });

    test('an error that rolled the transaction back keeps SQLite\'s code, as D1 writes it', async () => {
      const db = database(backend, 'tx-abort-code');
      await db.exec(SCHEMA);
      await db.prepare("INSERT INTO users (name, email) VALUES ('Ann', 'ann@x.io')").run();
      await db.prepare('BEGIN').run();
      const unique = await db.prepare("INSERT OR ROLLBACK INTO users (name, email) VALUES ('Dup', 'ann@x.io')").run().catch((e) => e);
      assert.equal(unique.message, 'D1_ERROR: UNIQUE constraint failed: users.email; the transaction was rolled back: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)');
      assert.deepEqual([unique.cause.code, unique.cause.sqliteCode], ['TRANSACTION_ABORTED', 'SQLITE_CONSTRAINT_UNIQUE']);
      await db.prepare('ROLLBACK').run();
      // A deferred foreign key, at COMMIT.
      await db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY);\nCREATE TABLE child (p REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);');
      await db.prepare('BEGIN').run();
      await db.prepare('INSERT INTO child VALUES (7)').run();
      await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: FOREIGN KEY constraint failed; the transaction was rolled back: SQLITE_CONSTRAINT \(extended: SQLITE_CONSTRAINT_FOREIGNKEY\)$/);
      await db.prepare('ROLLBACK').run();
    });

    test('a COMMIT changed the database when exec() wrote inside its transaction, and not when it only read', async () => {
      const db = database(backend, 'tx-exec-changed');
      await db.exec(SCHEMA);
      for (const [script, changed] of /** @type {const} */ ([["INSERT INTO users (name) VALUES ('a');\nINSERT INTO users (name) VALUES ('b');", true], ['SELECT 1;\nSELECT 2;', false]])) {
        await db.prepare('BEGIN').run();
        assert.equal((await db.exec(script)).count, 2);
        assert.equal((await db.prepare('COMMIT').run()).meta.changed_db, changed, script);
      }
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users').first('n'), 2);
    });

    test('SQL text holding a NUL is refused before it is sent, in D1\'s words with DoSQL\'s as the cause', async () => {
      const db = database(backend, 'sql-nul');
      const failed = await db.prepare('SELECT 1 AS a\0garbage').first().catch((e) => e);
      assert.equal(failed.message, 'D1_ERROR: SQL code did not contain a statement.');
      assert.match(failed.cause.message, /^sql holds a NUL character \(at character 13\): SQLite ends a statement's text there/);
      await rejectsD1(() => db.exec('SELECT 1;\nSELECT 2\0;'), /^D1_EXEC_ERROR: SQL code did not contain a statement\.$/);
      await rejectsD1(() => db.batch([db.prepare('SELECT 1'), db.prepare('SELECT\0 2')]), /^D1_ERROR: SQL code did not contain a statement\.$/);
    });

    test('after the transaction idled out, a statement that fails with the end changes nothing, a setting PRAGMA included', async () => {
      // SQLite applies some PRAGMAs as it prepares them, before anything runs: asking
      // whether the statement is ROLLBACK must not be what sets them.
      const db = database(backend, 'tx-idle-pragma', { transactionTimeoutMs: 100 });
      const settings = ['recursive_triggers', 'reverse_unordered_selects', 'automatic_index', 'cell_size_check', 'secure_delete'];
      /** @type {Record<string, unknown>} */
      const before = {};
      for (const name of settings) before[name] = await db.prepare(`PRAGMA ${name}`).first(name);
      await db.prepare('BEGIN').run();
      await new Promise((r) => setTimeout(r, 400));
      for (const name of settings) {
        const flipped = before[name] ? 'OFF' : 'ON';
        await rejectsD1(() => db.prepare(`PRAGMA ${name} = ${flipped}`).run(), /^D1_ERROR: .*idled out/);
        await rejectsD1(() => db.prepare(`  /* set */ pragma main.${name}(${flipped});`).run(), /^D1_ERROR: .*idled out/);
      }
      await db.prepare('ROLLBACK').run();
      for (const name of settings) assert.equal(await db.prepare(`PRAGMA ${name}`).first(name), before[name], name);
    });

    test('a ROLLBACK sent first after the transaction idled out succeeds, and ends it', async () => {
      // drizzle's transaction() whose callback idled past the timeout and then threw:
      // its ROLLBACK is the first statement to learn the transaction is gone.
      const db = database(backend, 'tx-idle-rollback', { transactionTimeoutMs: 100 });
      await db.exec(SCHEMA);
      await db.prepare('BEGIN').run();
      await db.prepare("INSERT INTO users (name) VALUES ('lost')").run();
      await new Promise((r) => setTimeout(r, 400));
      await db.prepare('ROLLBACK').run();
      await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: cannot commit - no transaction is active/);
      assert.equal(await db.prepare('SELECT count(*) AS n FROM users').first('n'), 0);
      // The same, with the idle-out found by ROLLBACK spelled another way.
      await db.prepare('BEGIN').run();
      await new Promise((r) => setTimeout(r, 400));
      await db.prepare('rollback transaction;').run();
      await db.prepare('BEGIN').run();
      await db.prepare('COMMIT').run();
    });

    test('facades of concurrent callers sharing one object: their read-modify-write transactions lose no update; one that idles out lets the others on and rolls back cleanly', async () => {
      const name = tenant('tx-concurrent');
      await toD1(stub(backend, name)).exec('CREATE TABLE c (k INTEGER PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO c VALUES (1, 0)');
      let committed = 0;
      /** @param {number} caller */
      const increments = async (caller) => {
        for (let i = 0; i < 6; i++) {
          const db = toD1(stub(backend, name), undefined, { transactionTimeoutMs: 5000 });
          await db.prepare('BEGIN').run();
          const v = await db.prepare('SELECT v FROM c WHERE k = 1').first('v');
          const { meta } = await db.prepare('UPDATE c SET v = ? WHERE k = 1').bind(v + 1).run();
          assert.equal(meta.changes, 1);
          if ((caller + i) % 4 === 3) {
            await db.prepare('ROLLBACK').run();
          } else {
            await db.prepare('COMMIT').run();
            committed++;
          }
        }
      };
      // A caller that begins and goes quiet: the others wait for it only until it idles out.
      const idle = toD1(stub(backend, name), undefined, { transactionTimeoutMs: 300 });
      await idle.prepare('BEGIN').run();
      await idle.prepare('UPDATE c SET v = v + 1000 WHERE k = 1').run();
      await Promise.all([0, 1, 2, 3].map(increments));
      await idle.prepare('ROLLBACK').run();
      assert.equal(await toD1(stub(backend, name)).prepare('SELECT v FROM c WHERE k = 1').first('v'), committed);
    });

    test('a COMMIT that got no answer: the ROLLBACK an ORM sends next succeeds, and ends the transaction if it was still open', async () => {
      // The network lost the /commit on its way (the object never saw it): the
      // transaction is still open there, holding everyone else up until it idles out.
      const name = tenant('tx-commit-lost');
      const direct = stub(backend, name);
      /** @type {'' | 'request' | 'answer'} what the network loses of the next /commit */
      let lose = '';
      const lossy = {
        /** @param {string} url @param {any} init */
        fetch: async (url, init) => {
          if (lose === '' || new URL(url).pathname !== '/commit') return direct.fetch(url, init);
          const lost = lose;
          lose = '';
          if (lost === 'answer') await (await direct.fetch(url, init)).arrayBuffer();
          throw new TypeError('fetch failed');
        },
      };
      const db = toD1(lossy, undefined, { transactionTimeoutMs: 2000 });
      await db.exec(SCHEMA);
      await db.prepare('BEGIN').run();
      await db.prepare("INSERT INTO users (name) VALUES ('unsure')").run();
      lose = 'request';
      await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: fetch failed/);
      await db.prepare('ROLLBACK').run();
      assert.equal(await toD1(direct).prepare('SELECT count(*) AS n FROM users').first('n'), 0);
      // And when the lost COMMIT had committed, ROLLBACK finds it ended: it still succeeds.
      await db.prepare('BEGIN').run();
      await db.prepare("INSERT INTO users (name) VALUES ('kept')").run();
      lose = 'answer';
      await rejectsD1(() => db.prepare('COMMIT').run(), /^D1_ERROR: fetch failed/);
      await db.prepare('ROLLBACK').run();
      assert.equal(await toD1(direct).prepare('SELECT count(*) AS n FROM users').first('n'), 1);
    });

    test('after the transaction ended, a statement the object cannot judge fails with why, not with the end', async () => {
      // The facade asks the object's SQLite whether a statement is ROLLBACK; when the
      // object does not answer (it restarts, as under a deploy), the ROLLBACK has not run.
      const name = tenant('tx-dead-unreachable');
      const db = toD1(stub(backend, name), undefined, { transactionTimeoutMs: 100 });
      await db.exec(SCHEMA);
      await db.prepare('BEGIN').run();
      await new Promise((r) => setTimeout(r, 400));
      await rejectsD1(() => db.prepare('SELECT 1').all(), /^D1_ERROR: .*idled out/);
      await world.stop();
      try {
        await assert.rejects(() => db.prepare('ROLLBACK').run(), (/** @type {any} */ err) => {
          assert.doesNotMatch(err.message, /idled out/, 'the failure of the question, not the transaction\'s end');
          return true;
        });
      } finally {
        await world.start({ migrations: [] });
      }
      await db.prepare('ROLLBACK').run();
      await db.prepare('BEGIN').run();
      await db.prepare('COMMIT').run();
    });
  });
}
