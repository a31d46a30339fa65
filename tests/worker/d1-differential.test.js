// The D1 facade against D1 itself: the same calls, in the same order, on
// Miniflare's local D1 binding (workerd's own D1 client over Miniflare's D1
// object) and on toD1() over a DoSQL object in workerd (both backends), and the
// answers compared: results, raw rows, the meaningful meta (changes, last_row_id,
// changed_db), exec's count, and every error's message.
//
// Every call answers identically, except the few in DIFFERENCES below: each is
// deliberate, has its reason, and its step checks that exact difference (so a
// difference that disappears or changes fails too). docs/d1.md lists the same.
//
// D1 is reached from Node through Miniflare's getD1Database() proxy; the facade
// through the test worker's router, as in tests/worker/d1.test.js.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createWorld, BACKENDS, tenant, REPO, COMPATIBILITY_DATE } from './harness.js';
import { toD1 } from '../../worker-shim/src/client/d1.js';

/** Deliberate differences: key → why. Every step that differs names one. */
const DIFFERENCES = {
  transactionStatements:
    'BEGIN / COMMIT / END / ROLLBACK and SAVEPOINT / RELEASE / ROLLBACK TO sent alone: D1 refuses them; ' +
    'the facade runs a real interactive transaction, so ORMs\' transactions (drizzle db.transaction) work',
  transactionStatementText:
    'a transaction statement inside batch() or exec(): both refuse it, the facade in DoSQL\'s words (send it ' +
    'alone); D1\'s text advises state.storage.transaction(), which code using D1 cannot call',
  lastRowIdOwn:
    'meta.last_row_id of a statement that inserted no row: D1 repeats the connection\'s last inserted rowid ' +
    '(whoever inserted it), the facade answers 0: the rowid this statement inserted',
  changedDbSchema:
    'meta.changed_db after a schema change that does not grow or shrink the file (CREATE VIEW, ALTER TABLE ' +
    'ADD COLUMN): local D1 infers changed_db from the file size and answers false; the facade answers true ' +
    '(SQLite moved the schema cookie)',
  execLine:
    'exec() failing after its first line: local D1 sends the lines as one batch, gets one error back and ' +
    'always names line 1 with its text; the facade names the line where the failing statement begins',
  execStatements:
    'exec() with several statements on one line: D1 splits the script at newlines and counts lines, the ' +
    'facade lets SQLite split it and counts statements (so it also runs a statement that spans lines)',
  infinity: 'REAL ±Infinity: D1 carries values as plain JSON and answers null; the facade keeps ±Infinity',
  bigintDate:
    'BigInt and Date parameters: D1 refuses them (D1_TYPE_ERROR); the facade binds a BigInt as an exact ' +
    '64-bit integer and a Date as its ISO string',
  changesOnBehalf:
    'meta.changes of a statement that also writes rows through SQL run on its behalf (CREATE VIRTUAL TABLE ' +
    'fts5 fills its shadow tables, an insert into it writes them): D1 counts those rows too, the facade ' +
    'answers the rows the statement itself inserted, updated or deleted',
  trailingEmpty:
    'a statement followed by empty ones in prepare() (SELECT 1;; or SELECT 1; -- note): D1 refuses it (SQL code ' +
    'did not contain a statement.), the facade runs the statement, as SQLite\'s prepare reads it',
  batchEmptyStatement:
    'an empty statement in batch(): local D1 leaves it out (one result fewer than statements), the facade refuses ' +
    'the batch as it refuses the statement alone',
  severalStatements:
    'several statements in one prepare(): local D1 runs them all and answers the last one\'s rows; the ' +
    'facade refuses (one statement per prepared statement: use batch() or exec())',
};

// Not compared anywhere: meta.duration, rows_read, rows_written, size_after and
// served_by. They are each engine's own measurements (D1's storage counters;
// DoSQL does not count rows read per statement: docs/d1.md).

const SCHEMA = `
  CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, active INTEGER, avatar BLOB);
  CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT);

  CREATE TABLE tx_log (id INTEGER PRIMARY KEY, what TEXT);
`;

/**
 * @typedef {{value: unknown} | {error: string}} Outcome
 * @typedef {object} Step
 * @property {string} name
 * @property {(db: any) => unknown} call  D1's surface only: the same code runs on both
 * @property {boolean | boolean[]} [inserts]  the statement (each of a batch) inserts a row:
 *   last_row_id is compared; otherwise the facade's must be 0 (lastRowIdOwn)
 * @property {keyof typeof DIFFERENCES} [differs]  a deliberate difference ...
 * @property {(d1: Outcome, ours: Outcome) => void} [check]  ... and the check of exactly it
 */

/** @type {(d1: Outcome, ours: Outcome) => void} */
const d1RefusesTransactions = (d1, ours) => {
  assert.match(errorOf(d1), /^D1_ERROR: To execute a transaction, please use the state\.storage\.transaction\(\)/);
  assert.ok('value' in ours, `the facade runs it: ${JSON.stringify(ours)}`);
};

/** @type {Step[]} */
const STEPS = [
  // ---- exec and the schema
  { name: 'exec: a script, one statement per line, blank lines', call: (db) => db.exec(SCHEMA) },
  { name: 'exec: a blank script', call: (db) => db.exec('  \n ') },
  // ---- run / all / first / raw, with meta
  {
    name: 'run: insert',
    call: (db) => db.prepare('INSERT INTO users (name, email, active) VALUES (?, ?, ?)').bind('Ann', 'ann@x.io', true).run(),
    inserts: true,
  },
  {
    name: 'run: insert, a false boolean',
    call: (db) => db.prepare('INSERT INTO users (name, email, active) VALUES (?, ?, ?)').bind('Bob', 'bob@x.io', false).run(),
    inserts: true,
  },
  { name: 'all: rows as objects', call: (db) => db.prepare('SELECT id, name, active FROM users ORDER BY id').all() },
  { name: 'run: a query answers its rows too', call: (db) => db.prepare('SELECT name FROM users WHERE id = ?').bind(2).run() },
  { name: 'first()', call: (db) => db.prepare('SELECT id, name FROM users WHERE email = ?').bind('bob@x.io').first() },
  { name: 'first(column)', call: (db) => db.prepare('SELECT id, name FROM users WHERE email = ?').bind('bob@x.io').first('name') },
  { name: 'first() without a row', call: (db) => db.prepare('SELECT id FROM users WHERE email = ?').bind('nobody').first() },
  { name: 'first(column) without a row', call: (db) => db.prepare('SELECT id FROM users WHERE 0').first('id') },
  { name: 'first(column) of a null', call: (db) => db.prepare('SELECT email, avatar FROM users WHERE id = 1').first('avatar') },
  { name: 'first(unknown column)', call: (db) => db.prepare('SELECT id, name FROM users WHERE id = 1').first('nope') },
  { name: 'raw()', call: (db) => db.prepare('SELECT id, name FROM users ORDER BY id').raw() },
  { name: 'raw({columnNames})', call: (db) => db.prepare('SELECT id, name AS who FROM users ORDER BY id').raw({ columnNames: true }) },
  { name: 'raw() without rows', call: (db) => db.prepare('SELECT id, name FROM users WHERE 0').raw() },
  { name: 'raw({columnNames}) without rows', call: (db) => db.prepare('SELECT id, name FROM users WHERE 0').raw({ columnNames: true }) },
  { name: 'raw({columnNames}) of a write', call: (db) => db.prepare("UPDATE users SET name = name WHERE id = 1").raw({ columnNames: true }) },
  { name: 'insert a post', call: (db) => db.prepare("INSERT INTO posts (id, user_id, title) VALUES (70, 1, 'Hi')").run(), inserts: true },
  {
    name: 'raw({columnNames}): two columns of one name, both kept',
    call: (db) =>
      db.prepare('SELECT users.id, users.name, posts.id, posts.title, 2 AS "1", 1 AS "0" FROM users JOIN posts ON posts.user_id = users.id').raw({ columnNames: true }),
  },
  {
    name: 'all(): two columns of one name, the later wins',
    call: (db) => db.prepare('SELECT users.id, posts.id, posts.title FROM users JOIN posts ON posts.user_id = users.id').all(),
  },
  { name: 'all(): insert ... returning', call: (db) => db.prepare("INSERT INTO users (name) VALUES ('Cy') RETURNING id, name").all(), inserts: true },
  { name: 'run: update, several rows', call: (db) => db.prepare('UPDATE users SET active = 1 WHERE active IS NOT 1').run() },
  { name: 'run: update, no row', call: (db) => db.prepare('UPDATE users SET active = 0 WHERE 0').run() },
  // A row only a trigger writes: changed_db true, as D1 says (its changes count the trigger's row).
  { name: 'a view', call: (db) => db.prepare('CREATE VIEW user_names AS SELECT id, name FROM users').run(), differs: 'changedDbSchema', check: changedDbOnlyOurs },
  {
    name: 'an INSTEAD OF trigger on it',
    call: (db) => db.prepare('CREATE TRIGGER user_names_insert INSTEAD OF INSERT ON user_names BEGIN INSERT INTO users (name) VALUES (NEW.name); END').run(),
    differs: 'changedDbSchema',
    check: changedDbOnlyOurs,
  },
  {
    name: 'run: an insert through the view, a trigger writes the row',
    call: (db) => db.prepare("INSERT INTO user_names (name) VALUES ('Vee')").run(),
    differs: 'changesOnBehalf',
    check: changesOnlyOwn(0, false),
  },
  { name: 'drop the view', call: (db) => db.prepare('DROP VIEW user_names').run(), differs: 'changedDbSchema', check: changedDbOnlyOurs },
  { name: 'delete its row', call: (db) => db.prepare("DELETE FROM users WHERE name = 'Vee'").run() },
  { name: 'run: insert or ignore, ignored', call: (db) => db.prepare("INSERT OR IGNORE INTO users (id, name) VALUES (1, 'dup')").run() },
  { name: 'run: delete', call: (db) => db.prepare("DELETE FROM users WHERE name = 'Cy'").run() },
  {
    name: 'last_row_id of a query after an insert',
    call: (db) => db.prepare('SELECT count(*) AS n FROM users').all(),
    differs: 'lastRowIdOwn',
    check: (d1, ours) => {
      assert.deepEqual(valueOf(ours).results, valueOf(d1).results);
      assert.equal(valueOf(ours).meta.last_row_id, 0);
      assert.ok(valueOf(d1).meta.last_row_id > 0, 'D1: the connection\'s last inserted rowid');
    },
  },
  // ---- values
  {
    name: 'values: a blob from a typed array, an ArrayBuffer and an array of bytes',
    call: (db) =>
      db
        .prepare('SELECT ? AS a, ? AS b, ? AS c, typeof(?) AS t')
        .bind(new Uint8Array([0, 1, 254, 255]), new Uint8Array([7, 8]).buffer, [1, 2, 3], new Uint8Array([9]))
        .first(),
  },
  { name: 'values: an empty array of bytes is an empty blob', call: (db) => db.prepare('SELECT ? AS b, length(?) AS n').bind([], []).first() },
  {
    name: 'values: store a blob and read it back',
    call: async (db) => {
      await db.prepare('UPDATE users SET avatar = ? WHERE id = 1').bind(new Uint8Array([0, 128, 255])).run();
      return db.prepare('SELECT avatar, typeof(avatar) AS t FROM users WHERE id = 1').first();
    },
  },
  {
    name: 'values: null, booleans, reals, text, NaN',
    call: (db) => db.prepare('SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e, ? AS f').bind(null, true, false, -0.5, 'é ✓', NaN).first(),
  },
  {
    name: 'values: integers beyond 2^53 come back as (rounded) numbers',
    // (Not a REAL literal such as 1.5e300: workerd's older SQLite reads it 1 ulp off.)
    call: (db) => db.prepare('SELECT 9007199254740993 AS a, -9223372036854775808 AS b, 9007199254740993 * 2 AS c').first(),
  },
  {
    name: 'values: ±Infinity',
    call: (db) => db.prepare('SELECT 1e999 AS a, -1e999 AS b, ? AS c').bind(Infinity).first(),
    differs: 'infinity',
    check: (d1, ours) => {
      assert.deepEqual(valueOf(d1), { a: null, b: null, c: null });
      assert.deepEqual(valueOf(ours), { a: Infinity, b: -Infinity, c: Infinity });
    },
  },
  {
    name: 'values: a BigInt and a Date parameter',
    call: (db) => db.prepare('SELECT ? AS a').bind(9007199254740993n).first('a'),
    differs: 'bigintDate',
    check: (d1, ours) => {
      assert.match(errorOf(d1), /^D1_TYPE_ERROR: Type 'bigint' not supported for value '9007199254740993'$/);
      assert.equal(valueOf(ours), 9007199254740992, 'bound exactly, read back as D1 reads big integers');
    },
  },
  {
    name: 'values: a Date parameter',
    call: (db) => db.prepare('SELECT ? AS a').bind(new Date(0)).first('a'),
    differs: 'bigintDate',
    check: (d1, ours) => {
      assert.match(errorOf(d1), /^D1_TYPE_ERROR: Type 'object' not supported for value /);
      assert.equal(valueOf(ours), '1970-01-01T00:00:00.000Z');
    },
  },
  // ---- bind() refusals
  { name: 'bind(undefined)', call: (db) => db.prepare('SELECT ?').bind(undefined) },
  { name: 'bind(an object)', call: (db) => db.prepare('SELECT ?').bind({ a: 1 }) },
  { name: 'bind(an array that is not bytes)', call: (db) => db.prepare('SELECT ?').bind([1, 'a']) },
  { name: 'bind(an array with a value past 255)', call: (db) => db.prepare('SELECT ?').bind([256]) },
  // ---- errors
  { name: 'syntax error: the offset', call: (db) => db.prepare('SELEC 1').all() },
  { name: 'syntax error further on', call: (db) => db.prepare('SELECT id FROM users WHERE id = = 1').all() },
  { name: 'incomplete input: no offset', call: (db) => db.prepare('SELECT 1 WHERE').all() },
  { name: 'unrecognized token', call: (db) => db.prepare('SELECT "unterminated').all() },
  { name: 'unknown column', call: (db) => db.prepare('SELECT nope FROM users').all() },
  { name: 'unknown table', call: (db) => db.prepare('SELECT * FROM nope').all() },
  { name: 'wrong number of arguments to a function', call: (db) => db.prepare('SELECT abs()').all() },
  { name: 'a mismatched UNION', call: (db) => db.prepare('SELECT 1 AS a UNION SELECT 1, 2').all() },
  { name: 'too many values', call: (db) => db.prepare('INSERT INTO users VALUES (1, 2, 3, 4, 5, 6)').run() },
  { name: 'UNIQUE constraint', call: (db) => db.prepare('INSERT INTO users (name, email) VALUES (?, ?)').bind('Dup', 'ann@x.io').run() },
  { name: 'NOT NULL constraint', call: (db) => db.prepare('INSERT INTO users (name) VALUES (NULL)').run() },
  { name: 'FOREIGN KEY constraint', call: (db) => db.prepare('INSERT INTO posts (user_id, title) VALUES (999, ?)').bind('orphan').run() },
  { name: 'a runtime error: malformed JSON', call: (db) => db.prepare("SELECT json('{')").all() },
  { name: 'too many parameters bound', call: (db) => db.prepare('SELECT ?').bind(1, 2).all() },
  { name: 'too few parameters bound', call: (db) => db.prepare('SELECT ?, ?').bind(1).all() },
  { name: 'no parameters bound', call: (db) => db.prepare('SELECT ?').first() },
  { name: 'a numbered parameter counts up to its number', call: (db) => db.prepare('SELECT ?2 AS b, :a AS a').bind(5, 6).first() },
  { name: 'named parameters bind by position', call: (db) => db.prepare('SELECT :a AS a, @b AS b, $c AS c').bind(1, 'two', null).first() },
  { name: "parameter names in SQLite's Tcl syntax", call: (db) => db.prepare('SELECT $a::b AS a, $c(x) AS c, $a::b AS again').bind(1, 2).first() },
  { name: 'empty SQL', call: (db) => db.prepare('').all() },
  { name: 'blank SQL and an indented comment', call: (db) => db.prepare('  \n   -- nothing here').run() },
  { name: 'only a comment', call: (db) => db.prepare('-- nothing here').all() },
  {
    name: 'two statements in one prepare()',
    call: (db) => db.prepare('SELECT 1 AS a; SELECT 2 AS b').all(),
    differs: 'severalStatements',
    check: (d1, ours) => {
      assert.deepEqual(valueOf(d1).results, [{ b: 2 }]);
      assert.match(errorOf(ours), /^D1_ERROR: sql holds more than one statement/);
    },
  },
  {
    name: 'a trailing empty statement',
    call: async (db) => [await db.prepare('SELECT 1 AS a;;').first('a'), await db.prepare('SELECT 2 AS a; -- a note').first('a')],
    differs: 'trailingEmpty',
    check: (d1, ours) => {
      assert.equal(errorOf(d1), 'D1_ERROR: SQL code did not contain a statement.');
      assert.deepEqual(valueOf(ours), [1, 2]);
    },
  },
  {
    name: 'batch: an empty statement',
    call: (db) => db.batch([db.prepare('SELECT 1 AS a'), db.prepare('')]),
    differs: 'batchEmptyStatement',
    check: (d1, ours) => {
      assert.deepEqual(valueOf(d1).map((/** @type {any} */ r) => r.results), [[{ a: 1 }]]);
      assert.equal(errorOf(ours), 'D1_ERROR: SQL code did not contain a statement.');
    },
  },
  { name: 'the database still answers', call: (db) => db.prepare('SELECT count(*) AS n FROM users').first('n') },
  // ---- batch
  {
    name: 'batch: inserts and a query, one result each',
    call: (db) =>
      db.batch([
        db.prepare('INSERT INTO users (name, email) VALUES (?, ?)').bind('Dee', 'dee@x.io'),
        db.prepare('INSERT INTO users (name, email) VALUES (?, ?)').bind('Eve', 'eve@x.io'),
        db.prepare('SELECT name FROM users ORDER BY id'),
        db.prepare('UPDATE users SET active = 0 WHERE email LIKE ?').bind('%e@x.io'),
      ]),
    inserts: [true, true, false, false],
  },
  {
    name: 'batch: all or nothing',
    call: (db) =>
      db.batch([db.prepare("INSERT INTO users (name, email) VALUES ('Fay', 'fay@x.io')"), db.prepare("INSERT INTO users (name, email) VALUES ('Gus', 'ann@x.io')")]),
  },
  { name: 'nothing of the failed batch is kept', call: (db) => db.prepare("SELECT count(*) AS n FROM users WHERE name IN ('Fay', 'Gus')").first('n') },
  { name: 'batch: a syntax error in its second statement', call: (db) => db.batch([db.prepare('SELECT 1'), db.prepare('SELECT 2 FROM')]) },
  { name: 'batch: a wrong parameter count', call: (db) => db.batch([db.prepare('SELECT ?')]) },
  { name: 'batch([])', call: (db) => db.batch([]) },
  {
    name: 'batch: BEGIN inside is refused',
    call: (db) => db.batch([db.prepare('BEGIN'), db.prepare('SELECT 1')]),
    differs: 'transactionStatementText',
    check: (d1, ours) => {
      assert.match(errorOf(d1), /^D1_ERROR: To execute a transaction, please use the state\.storage\.transaction\(\)/);
      assert.match(errorOf(ours), /^D1_ERROR: not authorized: BEGIN, COMMIT and ROLLBACK are not allowed in a statement/);
    },
  },
  // ---- exec
  {
    name: 'exec: statements on their own lines',
    call: (db) => db.exec("INSERT INTO posts (user_id, title) VALUES (1, 'a;b');\n\nUPDATE posts SET title = title || '!' WHERE id = 70;\n  SELECT 1;"),
  },
  { name: 'exec: an error on the first line', call: (db) => db.exec("INSERT INTO users (name, email) VALUES ('x', 'ann@x.io');\nSELECT 1;") },
  { name: 'exec: a syntax error on the first line, indented', call: (db) => db.exec('\n   SELEC 1;\nSELECT 2;') },
  { name: 'exec: an unknown column on the first line', call: (db) => db.exec('  SELECT 1, nope FROM users;\nSELECT 2;') },
  { name: 'exec: a statement with a parameter (none is bound, so it does not run)', call: async (db) => [await db.exec('INSERT INTO tx_log (what) VALUES (?);').catch((e) => e.message), await db.prepare('SELECT count(*) AS n FROM tx_log WHERE what IS NULL').first('n')] },
  {
    name: 'exec: an error on a later line',
    call: (db) => db.exec("SELECT 1;\nINSERT INTO users (name, email) VALUES ('y', 'bob@x.io');\nSELECT 3;"),
    differs: 'execLine',
    check: (d1, ours) => {
      const tail = ': UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)';
      assert.equal(errorOf(d1), `D1_EXEC_ERROR: Error in line 1: SELECT 1;${tail}`);
      assert.equal(errorOf(ours), `D1_EXEC_ERROR: Error in line 2: INSERT INTO users (name, email) VALUES ('y', 'bob@x.io');${tail}`);
    },
  },
  {
    name: 'exec: a syntax error on a later line',
    call: (db) => db.exec('SELECT 1;\n  SELECT 2 FROM;'),
    differs: 'execLine',
    check: (d1, ours) => {
      const tail = ': near ";": syntax error at offset 15: SQLITE_ERROR';
      assert.equal(errorOf(d1), `D1_EXEC_ERROR: Error in line 1: SELECT 1;${tail}`);
      assert.equal(errorOf(ours), `D1_EXEC_ERROR: Error in line 2:   SELECT 2 FROM;${tail}`, 'the offset counts from its line');
    },
  },
  { name: 'prepare() and exec() take a boxed string, as D1 does', call: async (db) => [await db.prepare(new String('SELECT 1 AS a')).first(), (await db.exec(new String('SELECT 2'))).count] },
  // The offset of an error after another statement on its line counts from that statement.
  { name: 'exec: a syntax error after another statement on its line', call: (db) => db.exec('SELECT 1; SELEC 2;') },
  { name: 'nothing of the failed scripts is kept', call: (db) => db.prepare("SELECT count(*) AS n FROM users WHERE name IN ('x', 'y')").first('n') },
  {
    name: 'exec: two statements on one line',
    call: (db) => db.exec('SELECT 1; SELECT 2;\nSELECT 3;'),
    differs: 'execStatements',
    check: (d1, ours) => {
      assert.equal(valueOf(d1).count, 2, 'D1: lines');
      assert.equal(valueOf(ours).count, 3, 'the facade: statements');
    },
  },
  {
    name: 'exec: BEGIN inside is refused',
    call: (db) => db.exec('BEGIN;\nSELECT 1;\nCOMMIT;'),
    differs: 'transactionStatementText',
    check: (d1, ours) => {
      assert.match(errorOf(d1), /^D1_EXEC_ERROR: Error in line 1: BEGIN;: To execute a transaction/);
      assert.match(errorOf(ours), /^D1_EXEC_ERROR: Error in line 1: BEGIN;: not authorized: BEGIN, COMMIT and ROLLBACK are not allowed/);
    },
  },
  // JavaScript's trim() takes every Unicode blank, SQLite's tokenizer only ASCII ones: D1 trims the script.
  { name: 'exec: blanks SQLite does not know around the script', call: (db) => db.exec('\u00a0SELECT 1;\n\u3000\u2028') },
  { name: 'exec: only a comment', call: (db) => db.exec(' -- nothing\n') },
  { name: 'exec: only semicolons', call: (db) => db.exec(';\n;') },
  // ---- SQL text JSON cannot carry as it is
  { name: 'half a UTF-16 pair in SQL text', call: (db) => db.prepare("SELECT 'a\ud83d' AS a").first() },
  { name: 'half a UTF-16 pair in SQL text, in a batch', call: (db) => db.batch([db.prepare("SELECT '\udc00' AS a")]) },
  { name: 'a NUL in SQL text', call: (db) => db.prepare('SELECT 1 AS a\0garbage').first() },
  // ---- schema changes: changed_db
  { name: 'DDL: create table', call: (db) => db.prepare('CREATE TABLE extra (a INTEGER PRIMARY KEY, b TEXT)').run() },
  { name: 'DDL: create index', call: (db) => db.prepare('CREATE INDEX extra_b ON extra (b)').run() },
  { name: 'DDL: create table if not exists, which exists', call: (db) => db.prepare('CREATE TABLE IF NOT EXISTS extra (x)').run() },
  { name: 'DDL: create index if not exists, which exists', call: (db) => db.prepare('CREATE INDEX IF NOT EXISTS extra_b ON extra (b)').run() },
  { name: 'DDL: drop table if exists, which does not', call: (db) => db.prepare('DROP TABLE IF EXISTS nothing_here').run() },
  { name: 'DDL: create an existing table', call: (db) => db.prepare('CREATE TABLE extra (x)').run() },
  { name: 'write into the new table', call: (db) => db.prepare("INSERT INTO extra (b) VALUES ('x')").run(), inserts: true },
  {
    name: 'DDL: create view',
    call: (db) => db.prepare('CREATE VIEW extra_view AS SELECT b FROM extra').run(),
    differs: 'changedDbSchema',
    check: changedDbOnlyOurs,
  },
  {
    name: 'DDL: alter table add column',
    call: (db) => db.prepare('ALTER TABLE extra ADD COLUMN c INTEGER').run(),
    differs: 'changedDbSchema',
    check: changedDbOnlyOurs,
  },
  {
    name: 'DDL: create an FTS5 table',
    call: (db) => db.prepare('CREATE VIRTUAL TABLE notes USING fts5(body)').run(),
    differs: 'changesOnBehalf',
    check: changesOnlyOwn(0, false),
  },
  {
    name: 'write into the FTS5 table',
    call: (db) => db.prepare("INSERT INTO notes (body) VALUES ('hello world')").run(),
    inserts: true,
    differs: 'changesOnBehalf',
    check: changesOnlyOwn(1, true),
  },
  { name: 'search the FTS5 table', call: (db) => db.prepare("SELECT body FROM notes WHERE notes MATCH 'hello'").all() },
  { name: 'DDL: drop table', call: (db) => db.prepare('DROP TABLE posts').run() },
  // ---- transactions through statements (last: D1 runs the inner statements outside any transaction)
  { name: 'BEGIN', call: (db) => db.prepare('BEGIN').run(), differs: 'transactionStatements', check: d1RefusesTransactions },
  { name: 'insert inside the transaction', call: (db) => db.prepare("INSERT INTO tx_log (what) VALUES ('kept')").run(), inserts: true },
  { name: 'SAVEPOINT', call: (db) => db.prepare('SAVEPOINT sp1').run(), differs: 'transactionStatements', check: d1RefusesTransactions },
  { name: 'insert inside the savepoint', call: (db) => db.prepare("INSERT INTO tx_log (what) VALUES ('undone')").run(), inserts: true },
  { name: 'ROLLBACK TO', call: (db) => db.prepare('ROLLBACK TO sp1').run(), differs: 'transactionStatements', check: d1RefusesTransactions },
  { name: 'RELEASE', call: (db) => db.prepare('RELEASE sp1').run(), differs: 'transactionStatements', check: d1RefusesTransactions },
  { name: 'COMMIT', call: (db) => db.prepare('COMMIT').run(), differs: 'transactionStatements', check: d1RefusesTransactions },
  {
    name: 'what the transaction kept',
    call: (db) => db.prepare('SELECT what FROM tx_log ORDER BY id').raw(),
    differs: 'transactionStatements',
    check: (d1, ours) => {
      assert.deepEqual(valueOf(d1), [['kept'], ['undone']], 'D1 ran both inserts outside any transaction');
      assert.deepEqual(valueOf(ours), [['kept']], 'ROLLBACK TO undid the second');
    },
  },
];

/**
 * changed_db: false on D1, true on the facade; everything else compared alike.
 * @type {(d1: Outcome, ours: Outcome) => void}
 */
function changedDbOnlyOurs(d1, ours) {
  const a = /** @type {any} */ (comparable(valueOf(d1), false));
  const b = /** @type {any} */ (comparable(valueOf(ours), false));
  assert.equal(a.meta.changed_db, false);
  assert.equal(b.meta.changed_db, true);
  assert.deepEqual(b, { ...a, meta: { ...a.meta, changed_db: true } });
}

/**
 * meta.changes: the rows the statement itself changed (own) on the facade, more on D1
 * (its shadow tables' rows too); everything else compared alike.
 * @param {number} own @param {boolean} inserts @returns {(d1: Outcome, ours: Outcome) => void}
 */
function changesOnlyOwn(own, inserts) {
  return (d1, ours) => {
    const a = /** @type {any} */ (comparable(valueOf(d1), inserts));
    const b = /** @type {any} */ (comparable(valueOf(ours), inserts));
    assert.ok(a.meta.changes > own, `D1 counts the shadow tables' rows too: ${a.meta.changes}`);
    assert.deepEqual(b, { ...a, meta: { ...a.meta, changes: own } });
  };
}

/** @param {Outcome} o @returns {string} */
function errorOf(o) {
  assert.ok('error' in o, `an error was expected: ${JSON.stringify(o, replacer)}`);
  return /** @type {{error: string}} */ (o).error;
}

/** @param {Outcome} o @returns {any} */
function valueOf(o) {
  assert.ok('value' in o, `a value was expected: ${JSON.stringify(o, replacer)}`);
  return /** @type {{value: unknown}} */ (o).value;
}

/** JSON for messages: Infinity, BigInt and undefined visible. @param {string} _k @param {unknown} v */
function replacer(_k, v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (v === undefined) return '(undefined)';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

/** @param {unknown} v @returns {v is {success: boolean, results: unknown[], meta: any}} */
function isD1Result(v) {
  return v !== null && typeof v === 'object' && 'success' in v && 'meta' in v;
}

/**
 * The part of an answer that is compared: a D1Result's success, results and
 * meta.changes / changed_db, and last_row_id when the statement inserts;
 * exec()'s count.
 * @param {unknown} v @param {boolean} inserts
 */
function comparable(v, inserts) {
  if (v !== null && typeof v === 'object' && 'count' in v && 'duration' in v) return { count: v.count };
  if (!isD1Result(v)) return v;
  const { changes, changed_db, last_row_id } = v.meta;
  return { success: v.success, results: v.results, meta: { changes, changed_db, ...(inserts ? { last_row_id } : {}) } };
}

/** @param {() => unknown} fn @returns {Promise<Outcome>} */
async function outcome(fn) {
  try {
    return { value: await fn() };
  } catch (err) {
    return { error: String(/** @type {any} */ (err)?.message ?? err) };
  }
}

/**
 * Compare one step's answers: equal, with last_row_id as lastRowIdOwn allows.
 * @param {Step} step @param {Outcome} d1 @param {Outcome} ours
 */
function compare(step, d1, ours) {
  if (step.differs) {
    /** @type {(d1: Outcome, ours: Outcome) => void} */ (step.check)(d1, ours);
    return;
  }
  if ('error' in d1 || 'error' in ours) {
    assert.deepEqual(ours, d1, `${step.name}: D1 ${JSON.stringify(d1, replacer)}, the facade ${JSON.stringify(ours, replacer)}`);
    return;
  }
  const list = Array.isArray(d1.value) && d1.value.every(isD1Result);
  const d1Values = list ? /** @type {unknown[]} */ (d1.value) : [d1.value];
  const ourValues = list ? /** @type {unknown[]} */ (ours.value) : [ours.value];
  assert.equal(ourValues.length, d1Values.length, step.name);
  d1Values.forEach((d1Value, i) => {
    const inserts = Array.isArray(step.inserts) ? step.inserts[i] : step.inserts === true;
    const ourValue = ourValues[i];
    if (isD1Result(ourValue) && !inserts) {
      assert.equal(ourValue.meta.last_row_id, 0, `${step.name}: last_row_id of a statement that inserted nothing (lastRowIdOwn)`);
    }
    assert.deepEqual(
      comparable(ourValue, inserts),
      comparable(d1Value, inserts),
      `${step.name}: D1 ${JSON.stringify(d1Value, replacer)}, the facade ${JSON.stringify(ourValue, replacer)}`,
    );
  });
}

// ---- the two databases ------------------------------------------------------------

const world = createWorld('d1-differential');
/** @type {any} */
let d1Runtime = null;

before(async () => {
  await world.start({ migrations: [] });
  const { Miniflare } = await import(join(REPO, 'node_modules/miniflare/dist/src/index.js'));
  d1Runtime = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response(null, { status: 404 }); } };',
    compatibilityDate: COMPATIBILITY_DATE,
    cf: false,
    d1Databases: BACKENDS.map((b) => `D1_${b.toUpperCase()}`),
  });
  await d1Runtime.ready;
});

after(async () => {
  await d1Runtime?.dispose();
  await world.destroy();
});

/** The facade over a fresh tenant's object on one backend. @param {'sql' | 'kv'} backend */
function facade(backend) {
  const name = tenant('d1diff');
  return toD1({
    /** @param {string} url @param {any} init */
    fetch: (url, init) => world.mf.dispatchFetch(`http://localhost/${backend}/${name}${new URL(url).pathname}`, init),
  });
}

test('every deliberate difference is used by a step, and every step that differs names one', () => {
  const used = new Set(STEPS.map((s) => s.differs).filter(Boolean));
  assert.deepEqual([...used].sort(), Object.keys(DIFFERENCES).sort());
  for (const s of STEPS) if (s.differs) assert.equal(typeof s.check, 'function', s.name);
  assert.ok(STEPS.filter((s) => !s.differs).length >= 30, 'at least 30 calls answer identically');
});

for (const backend of BACKENDS) {
  describe(`D1 and the facade answer alike (${backend})`, () => {
    test(`${STEPS.length} calls, in order`, async () => {
      const d1 = await d1Runtime.getD1Database(`D1_${backend.toUpperCase()}`);
      const ours = facade(backend);
      const failures = [];
      for (const step of STEPS) {
        const a = await outcome(() => step.call(d1));
        const b = await outcome(() => step.call(ours));
        try {
          compare(step, a, b);
        } catch (err) {
          failures.push(`- ${step.name}: ${/** @type {any} */ (err).message}`);
        }
      }
      assert.equal(failures.length, 0, `calls that answer differently:\n${failures.join('\n')}`);
    });
  });
}
