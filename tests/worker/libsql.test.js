// libSQL's Hrana (src/hrana.h, durable-object/hrana.js, hrana-socket.js), spoken by the
// real @libsql/client from the registry to the standalone worker over a real socket, as
// a script outside Cloudflare would, over HTTP and over WebSocket: execute, every value
// type and intMode, batch in every mode, interactive transactions (and what they keep
// out), executeMultiple, migrate, the error codes, read-modify-write from many clients
// at once, and the ORMs on it: drizzle-orm/libsql (with db.transaction) and
// @libsql/kysely-libsql. Then what only one transport has: batons over HTTP, the hello
// and a socket that goes away mid-transaction over WebSocket.

import { describe, test, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createClient as createHttpClient } from '@libsql/client/http';
import { createClient as createWsClient } from '@libsql/client/ws';
import { drizzle } from 'drizzle-orm/libsql';
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';
import { eq, sql } from 'drizzle-orm';
import { Kysely } from 'kysely';
import WebSocket from 'ws';
import { LibsqlDialect } from '@libsql/kysely-libsql';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { startStandalone, tenant, TMP } from './harness.js';
import { HranaSocket } from '../../worker-shim/src/hrana-socket.js';
import { openHranaSocket } from './hrana-socket-client.js';
import { SOCKET_HELLO_MS, SOCKET_MAX_IN_FLIGHT as MAX_IN_FLIGHT, SOCKET_MAX_IN_FLIGHT_BYTES, SOCKET_MAX_STREAMS } from '../../worker-shim/src/config.js';

const TOKEN = 'libsql-test-token';

// The standalone worker twice: SQLite-backed objects as `wrangler dev` makes them, and
// key-value ones, whose pages fault (every pipeline then stops and resumes).
/** @type {Record<'sql' | 'kv', {mf: any, origin: string}>} */
const servers = /** @type {any} */ ({});
/** @type {any[]} */
const clients = [];
before(async () => {
  mkdirSync(TMP, { recursive: true });
  for (const backend of /** @type {const} */ (['sql', 'kv'])) {
    const mf = await startStandalone({ DOSQL_TOKEN: TOKEN }, { persist: backend === 'sql' ? mkdtempSync(`${TMP}/libsql-`) : undefined });
    servers[backend] = { mf, origin: String(await mf.ready) };
  }
});
after(async () => {
  clients.forEach((c) => c.close());
  await Promise.all(Object.values(servers).map(({ mf }) => mf.dispose()));
});

/** A client of a database over a transport; it is closed after the tests. */
function clientOf(/** @type {'http' | 'ws'} */ transport, /** @type {string} */ name, options = {}, backend = 'sql') {
  const { origin } = servers[/** @type {'sql' | 'kv'} */ (backend)];
  const client = transport === 'http'
    ? createHttpClient({ url: `${origin}db/${name}/`, authToken: TOKEN, ...options })
    : createWsClient({ url: `${origin.replace(/^http/, 'ws')}db/${name}`, authToken: TOKEN, ...options });
  clients.push(client);
  return client;
}

for (const [transport, backend] of /** @type {const} */ ([['http', 'sql'], ['ws', 'sql'], ['http', 'kv']])) describe(`libSQL clients over Hrana ${transport}, ${backend} storage`, () => {
  /** A client of a fresh database (or of the named one). @param {object} [options] */
  const connect = (options = {}, name = tenant('libsql')) => clientOf(transport, name, options, backend);

  test('execute: positional and named args, columns, declared types, rowsAffected, lastInsertRowid', async () => {
    const db = connect();
    await db.execute('CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born INTEGER)');
    const inserted = await db.execute({ sql: 'INSERT INTO people (name, born) VALUES (?, ?)', args: ['Ann', 1990] });
    assert.equal(inserted.rowsAffected, 1);
    assert.equal(inserted.lastInsertRowid, 1n);
    await db.execute({ sql: 'INSERT INTO people (name, born) VALUES (:name, $born)', args: { name: 'Bo', born: 1985 } });
    const rs = await db.execute({ sql: 'SELECT id, name, born, born + 1 AS next FROM people WHERE born > @min ORDER BY id', args: { min: 1980 } });
    assert.deepEqual(rs.columns, ['id', 'name', 'born', 'next']);
    assert.deepEqual(rs.columnTypes, ['INTEGER', 'TEXT', 'INTEGER', '']);
    assert.deepEqual(rs.rows.map((r) => [r.id, r.name, r.born, r[3]]), [[1, 'Ann', 1990, 1991], [2, 'Bo', 1985, 1986]]);
    assert.equal(rs.rowsAffected, 0);
    const updated = await db.execute('UPDATE people SET born = born + 1');
    assert.equal(updated.rowsAffected, 2);
  });

  test('every value type, lossless in each intMode', async () => {
    const big = 9007199254740993n; // 2^53 + 1
    const blob = new Uint8Array([0, 1, 2, 250, 255]);
    for (const intMode of /** @type {const} */ (['bigint', 'number', 'string'])) {
      const db = connect({ intMode });
      await db.execute('CREATE TABLE v (i INTEGER, r REAL, t TEXT, b BLOB, n)');
      await db.execute({ sql: 'INSERT INTO v VALUES (?, ?, ?, ?, ?)', args: [intMode === 'number' ? 42 : big, 1.5, 'héllo ☃ end', blob, null] });
      await db.execute({ sql: 'INSERT INTO v (i, t) VALUES (?, ?)', args: [true, new Date(86_400_000).toISOString()] });
      const rs = await db.execute('SELECT i, r, t, b, n, typeof(i) AS ti FROM v ORDER BY rowid');
      const [row, second] = rs.rows;
      assert.equal(row.ti, 'integer');
      if (intMode === 'bigint') assert.equal(row.i, big);
      if (intMode === 'string') assert.equal(row.i, String(big));
      if (intMode === 'number') assert.equal(row.i, 42);
      assert.equal(row.r, 1.5);
      assert.equal(row.t, 'héllo ☃ end');
      assert.deepEqual(new Uint8Array(/** @type {ArrayBuffer} */ (row.b)), blob);
      assert.equal(row.n, null);
      assert.equal(String(second.i), '1'); // a boolean binds as 1
    }
    // A 64-bit integer in number mode is refused by the client, not rounded.
    const db = connect({ intMode: 'number' });
    await assert.rejects(db.execute(`SELECT ${big} AS i`), RangeError);
  });

  test('floats at the edges come back exactly: ±Infinity, -0, the smallest and largest', async () => {
    const db = connect();
    // Not from a REAL column, which stores -0.0 as the integer 0 (SQLite's affinity).
    const edges = 'SELECT column1 AS r FROM (VALUES (1e999), (-1e999), (-0.0), (5e-324), (1.7976931348623157e308), (0.1))';
    const expected = [Infinity, -Infinity, -0, 5e-324, 1.7976931348623157e308, 0.1];
    const rs = await db.execute(edges);
    assert.deepEqual(rs.rows.map((r) => r.r), expected);
    // In a batch's results too, beside a text that looks like one of them in the answer.
    const [text, floats] = await db.batch(['SELECT \'"value":-0}\' AS t', edges], 'read');
    assert.equal(text.rows[0].t, '"value":-0}');
    assert.deepEqual(floats.rows.map((r) => r.r), expected);
  });

  test('batch: write and deferred are all or nothing; the failing statement is named', async () => {
    const db = connect();
    await db.execute('CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT)');
    const results = await db.batch([
      { sql: 'INSERT INTO k VALUES (?, ?)', args: [1, 'a'] },
      { sql: 'INSERT INTO k VALUES (?, ?)', args: [2, 'b'] },
      'SELECT count(*) AS n FROM k',
    ], 'write');
    assert.equal(results[2].rows[0].n, 2);
    for (const mode of /** @type {const} */ (['write', 'deferred'])) {
      const failed = await db.batch([
        { sql: 'INSERT INTO k VALUES (?, ?)', args: [3, 'c'] },
        { sql: 'INSERT INTO k VALUES (?, ?)', args: [1, 'dup'] },
      ], mode).then(() => null, (e) => e);
      assert.ok(failed, `${mode}: the batch must fail`);
      assert.equal(failed.code, 'SQLITE_CONSTRAINT');
      assert.equal(failed.statementIndex, 1);
      assert.match(failed.message, /UNIQUE constraint failed: k.id/);
    }
    assert.equal((await db.execute('SELECT count(*) AS n FROM k')).rows[0].n, 2);
    const read = await db.batch(['SELECT v FROM k WHERE id = 1', 'SELECT v FROM k WHERE id = 2'], 'read');
    assert.deepEqual(read.map((r) => r.rows[0].v), ['a', 'b']);
    // "read" is read-only, as in libSQL: a write in it fails, and writes work after it.
    await assert.rejects(db.batch(['SELECT 1', "INSERT INTO k VALUES (9, 'no')"], 'read'), (e) => e.code === 'SQLITE_READONLY');
    const readTx = await db.transaction('read');
    await assert.rejects(readTx.execute("UPDATE k SET v = 'no'"), (e) => e.code === 'SQLITE_READONLY');
    assert.equal((await readTx.execute('SELECT count(*) AS n FROM k')).rows[0].n, 2);
    await readTx.commit();
    await db.execute("INSERT INTO k VALUES (3, 'c')");
    assert.equal((await db.execute('SELECT count(*) AS n FROM k')).rows[0].n, 3);
  });

  test('transaction: commit, rollback, and nobody else sees it or writes until it ends', async () => {
    const name = tenant('libsql-tx');
    const db = connect({}, name);
    const other = connect({}, name);
    await db.execute('CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)');
    await db.execute('INSERT INTO acct VALUES (1, 100), (2, 0)');

    const tx = await db.transaction('write');
    await tx.execute('UPDATE acct SET balance = balance - 30 WHERE id = 1');
    assert.equal((await tx.execute('SELECT balance FROM acct WHERE id = 1')).rows[0].balance, 70);
    let otherDone = false;
    const outside = other.execute('SELECT sum(balance) AS total, (SELECT balance FROM acct WHERE id = 2) AS two FROM acct')
      .then((rs) => { otherDone = true; return rs; });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(otherDone, false, 'a request outside the transaction waits for it');
    await tx.execute('UPDATE acct SET balance = balance + 30 WHERE id = 2');
    await tx.commit();
    const seen = await outside;
    assert.deepEqual([seen.rows[0].total, seen.rows[0].two], [100, 30]);

    const undo = await db.transaction('write');
    await undo.execute('DELETE FROM acct');
    await undo.rollback();
    assert.equal((await db.execute('SELECT count(*) AS n FROM acct')).rows[0].n, 2);
    // A statement that fails inside a transaction leaves it open.
    const tx2 = await db.transaction();
    await assert.rejects(tx2.execute('INSERT INTO acct VALUES (1, 5)'), (e) => e.code === 'SQLITE_CONSTRAINT');
    await tx2.execute('UPDATE acct SET balance = 0 WHERE id = 2');
    await tx2.commit();
    assert.equal((await db.execute('SELECT balance FROM acct WHERE id = 2')).rows[0].balance, 0);
    // A closed transaction's stream answers no more.
    await assert.rejects(tx2.execute('SELECT 1'));
  });

  test('a statement that rolls its transaction back fails with its own error and frees the database', async () => {
    const name = tenant('libsql-rb');
    const db = connect({}, name);
    const other = connect({}, name);
    await db.execute('CREATE TABLE t (x INTEGER)');
    await db.execute("CREATE TRIGGER no_neg BEFORE INSERT ON t WHEN new.x < 0 BEGIN SELECT RAISE(ROLLBACK, 'x must be positive'); END");
    const tx = await db.transaction('write');
    await tx.execute('INSERT INTO t VALUES (1)');
    await assert.rejects(tx.execute('INSERT INTO t VALUES (-1)'), (e) => e.code === 'SQLITE_CONSTRAINT' && /x must be positive/.test(e.message));
    tx.close();
    // The transaction is over and undone: another client writes at once.
    await other.execute('INSERT INTO t VALUES (2)');
    assert.deepEqual((await other.execute('SELECT x FROM t')).rows.map((r) => r.x), [2]);
  });

  test('read-modify-write from many clients at once loses no update', async () => {
    const name = tenant('libsql-rmw');
    const setup = connect({}, name);
    await setup.execute('CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
    await setup.execute('INSERT INTO counter VALUES (1, 0)');
    await setup.execute('CREATE TABLE acks (worker INTEGER, round INTEGER, PRIMARY KEY (worker, round))');
    const WORKERS = 6;
    const ROUNDS = 5;
    /** @type {string[]} */
    const acknowledged = [];
    await Promise.all(Array.from({ length: WORKERS }, async (_, worker) => {
      const db = connect({}, name);
      for (let i = 0; i < ROUNDS; i++) {
        const tx = await db.transaction('write');
        const n = Number((await tx.execute('SELECT n FROM counter WHERE id = 1')).rows[0].n);
        await tx.execute({ sql: 'UPDATE counter SET n = ? WHERE id = 1', args: [n + 1] });
        await tx.commit();
        await db.execute({ sql: 'INSERT INTO acks VALUES (?, ?)', args: [worker, i] });
        acknowledged.push(`${worker}:${i}`);
      }
    }));
    const reader = connect({}, name);
    assert.equal((await reader.execute('SELECT n FROM counter')).rows[0].n, WORKERS * ROUNDS);
    const present = (await reader.execute("SELECT worker || ':' || round AS a FROM acks")).rows.map((r) => r.a);
    assert.deepEqual(present.sort(), acknowledged.sort(), 'every acknowledged write is there');
  });

  test('executeMultiple and migrate', async () => {
    const db = connect();
    await db.executeMultiple(`
      CREATE TABLE a (x INTEGER);
      -- a comment between statements
      INSERT INTO a VALUES (1);
      INSERT INTO a VALUES (2);
    `);
    assert.equal((await db.execute('SELECT sum(x) AS s FROM a')).rows[0].s, 3);
    await assert.rejects(db.executeMultiple('INSERT INTO a VALUES (3); INSERT INTO nope VALUES (1); INSERT INTO a VALUES (4)'),
      (e) => e.code === 'SQLITE_ERROR' && /no such table: nope/.test(e.message));
    assert.equal((await db.execute('SELECT sum(x) AS s FROM a')).rows[0].s, 6, 'statements before the failing one stay, as in sqld');

    await db.execute('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
    await db.execute('CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id))');
    await db.execute('PRAGMA foreign_keys = ON');
    await db.migrate([
      'CREATE TABLE parent2 (id INTEGER PRIMARY KEY)',
      'INSERT INTO parent2 SELECT id FROM parent',
      'DROP TABLE parent',
      'ALTER TABLE parent2 RENAME TO parent',
    ]);
    const tables = await db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('parent', 'parent2') ORDER BY name");
    assert.deepEqual(tables.rows.map((r) => r.name), ['parent']);
  });

  test('errors carry libSQL codes; hostile statements are refused per statement', async () => {
    const db = connect();
    await assert.rejects(db.execute('SELEC 1'), (e) => e.code === 'SQLITE_ERROR' && /syntax error/.test(e.message));
    await assert.rejects(db.execute("ATTACH 'x.db' AS x"), (e) => e.code === 'SQLITE_AUTH');
    await assert.rejects(db.execute('PRAGMA writable_schema = 1'), (e) => e.code === 'SQLITE_AUTH');
    await assert.rejects(db.execute('SELECT 1; SELECT 2'), (e) => e.code === 'MULTIPLE_STATEMENTS');
    await assert.rejects(db.execute({ sql: 'SELECT ?, ?', args: [1] }), (e) => e.code === 'BAD_PARAMS');
    await assert.rejects(db.execute('DELETE FROM _dosql_migrations'), (e) => e.code === 'SQLITE_AUTH');
    // JSON text cannot hold NUL here (docs/hrana.md): a clear error, not a cut string.
    await assert.rejects(db.execute({ sql: 'SELECT ?', args: ['a\u0000b'] }), (e) => e.code === 'BAD_JSON' && /NUL/.test(e.message));
    assert.equal((await db.execute('SELECT 1 AS ok')).rows[0].ok, 1);

  });

  test('drizzle-orm/libsql: queries and db.transaction (commit and rollback)', async () => {
    const users = sqliteTable('members', {
      id: integer('id').primaryKey({ autoIncrement: true }),
      name: text('name').notNull(),
      email: text('email').notNull().unique(),
    });
    const db = drizzle(connect());
    await db.run(sql`CREATE TABLE members (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE)`);
    const [ann] = await db.insert(users).values({ name: 'Ann', email: 'ann@x.test' }).returning();
    assert.deepEqual(ann, { id: 1, name: 'Ann', email: 'ann@x.test' });
    await db.transaction(async (tx) => {
      await tx.insert(users).values({ name: 'Bo', email: 'bo@x.test' });
      await tx.update(users).set({ name: 'Ann B.' }).where(eq(users.id, 1));
    });
    await assert.rejects(db.transaction(async (tx) => {
      await tx.insert(users).values({ name: 'Cy', email: 'cy@x.test' });
      await tx.insert(users).values({ name: 'Dup', email: 'ann@x.test' });
    }));
    const all = await db.select().from(users).orderBy(users.id);
    assert.deepEqual(all.map((u) => u.name), ['Ann B.', 'Bo']);
    const batch = await db.batch([db.select().from(users).where(eq(users.id, 2)), db.select({ n: sql`count(*)` }).from(users)]);
    assert.deepEqual([batch[0][0].name, batch[1][0].n], ['Bo', 2]);
  });

  test('kysely with @libsql/kysely-libsql: queries and transactions', async () => {
    const db = new Kysely({ dialect: new LibsqlDialect({ client: connect() }) });
    await db.schema.createTable('pets').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('name', 'text', (c) => c.notNull()).execute();
    await db.insertInto('pets').values([{ id: 1, name: 'Rex' }, { id: 2, name: 'Tom' }]).execute();
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('pets').set({ name: 'Rex II' }).where('id', '=', 1).execute();
    });
    await assert.rejects(db.transaction().execute(async (trx) => {
      await trx.deleteFrom('pets').execute();
      throw new Error('changed my mind');
    }), /changed my mind/);
    const rows = await db.selectFrom('pets').select(['id', 'name']).orderBy('id').execute();
    assert.deepEqual(rows, [{ id: 1, name: 'Rex II' }, { id: 2, name: 'Tom' }]);
    await db.destroy();
  });
});

describe('libSQL over HTTP only', () => {
  test('a wrong token and a URL without its final slash are refused, saying why', async () => {
    const wrongToken = createHttpClient({ url: `${servers.sql.origin}db/${tenant('libsql')}/`, authToken: 'wrong' });
    await assert.rejects(wrongToken.execute('SELECT 1'), (e) => e.code === 'UNAUTHORIZED' && /bearer token/.test(e.message));
    wrongToken.close();
    const noSlash = createHttpClient({ url: `${servers.sql.origin}db/${tenant('libsql')}`, authToken: TOKEN });
    await assert.rejects(noSlash.execute('SELECT 1'), (e) => e.code === 'NOT_FOUND' && /ending in a slash/.test(e.message));
    noSlash.close();
    // More after the tenant: a doubled slash, a sub-path.
    for (const after of ['//', '/main/', '/a/b/']) {
      const url = `${servers.sql.origin}db/${tenant('libsql')}${after}`;
      const more = createHttpClient({ url, authToken: TOKEN });
      await assert.rejects(more.execute('SELECT 1'), (e) => e.code === 'NOT_FOUND' && /nothing after its one final slash/.test(e.message), url);
      more.close();
    }
  });

  test('batons: forged, reused and malformed ones get Hrana errors, never another stream', async () => {
    const url = `${servers.sql.origin}db/${tenant('libsql-baton')}/v2/pipeline`;
    const post = async (/** @type {unknown} */ body) => {
      const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
      return { status: r.status, type: r.headers.get('content-type'), body: await r.json() };
    };
    const first = await post({ baton: null, requests: [{ type: 'execute', stmt: { sql: 'CREATE TABLE s (x)' } }] });
    assert.equal(first.status, 200);
    assert.equal(first.type, 'application/json');
    assert.deepEqual(first.body.results[0].type, 'ok');
    const { baton } = first.body;
    assert.match(baton, /^[0-9a-f]{32}$/);
    const second = await post({ baton, requests: [{ type: 'execute', stmt: { sql: 'INSERT INTO s VALUES (1)' } }] });
    assert.equal(second.status, 200);
    const reused = await post({ baton, requests: [{ type: 'execute', stmt: { sql: 'INSERT INTO s VALUES (2)' } }] });
    assert.deepEqual([reused.status, reused.body.code], [400, 'BAD_BATON']);
    assert.equal(typeof reused.body.message, 'string');
    const forged = `${second.body.baton.slice(0, 16)}${'0'.repeat(16)}`;
    assert.equal((await post({ baton: forged, requests: [] })).body.code, 'BAD_BATON');
    for (const bad of [{}, { baton: 1, requests: [] }, { baton: null, requests: 'x' }, []]) {
      const answer = await post(bad);
      assert.equal(answer.status, 400, JSON.stringify(bad));
      assert.ok(answer.body.message && answer.body.code, JSON.stringify(answer.body));
    }
    // Past the request limit (through Miniflare's own dispatch: over a socket the answer
    // comes before the body is sent, and the client may see its connection reset).
    const huge = await servers.sql.mf.dispatchFetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ baton: null, requests: [{ type: 'execute', stmt: { sql: `SELECT '${'x'.repeat(9 << 20)}'` } }] }) });
    assert.deepEqual([huge.status, huge.headers.get('content-type'), (await huge.json()).code], [413, 'application/json', 'PAYLOAD_TOO_LARGE']);
    const notJson = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{' });
    assert.deepEqual([notJson.status, (await notJson.json()).code], [400, 'BAD_JSON']);
    // Every refusal on libSQL's paths in Hrana's words, {message, code}: a libSQL client reads no other.
    for (const [path, method] of [['v2/pipeline', 'GET'], ['v2', 'POST']]) {
      const wrong = await fetch(url.replace(/v2\/pipeline$/, path), { method, headers: { authorization: `Bearer ${TOKEN}` }, body: method === 'POST' ? '{}' : undefined });
      const answer = await wrong.json();
      assert.deepEqual([wrong.status, answer.code, typeof answer.message], [405, 'METHOD_NOT_ALLOWED', 'string'], `${method} ${path}`);
      assert.match(wrong.headers.get('allow') ?? '', path === 'v2' ? /^GET/ : /^POST$/, `${method} ${path}: Allow`);
    }
    const version = await fetch(url.replace(/\/pipeline$/, ''), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(version.status, 200);
    await version.arrayBuffer();
    const internal = await fetch(url.replace(/v2\/pipeline$/, 'hrana/pipeline'), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{}' });
    assert.equal(internal.status, 404);
    await internal.arrayBuffer();
    const rows = await post({ baton: null, requests: [{ type: 'execute', stmt: { sql: 'SELECT count(*) FROM s' } }, { type: 'close' }] });
    assert.deepEqual(rows.body.results[0].response.result.rows, [[{ type: 'integer', value: '1' }]]);
    assert.equal(rows.body.baton, null);
  });
});

describe('libSQL over WebSocket only', () => {
  test('float arguments reach the database as written: -0 in every form, numbers past a double', async () => {
    // As clients other than JavaScript's write them (Rust writes -0.0, Go -0), and every
    // other form that parses to -0 or ±Infinity; the socket parses each message, so
    // JSON.stringify would send them on as 0 and null.
    const { origin } = servers.sql;
    const socket = await openHranaSocket(`${origin.replace(/^http/, 'ws')}db/${tenant('libsql-ws-args')}`, TOKEN);
    try {
      await socket.request({ type: 'open_stream', stream_id: 1 });
      const forms = ['-0', '-0.0', '-0e0', '-0.000E+5', '-1e-400', '-2e-324', '1e999', '-2E+308', `1${'0'.repeat(400)}`, `1${'0'.repeat(210)}e99`, `-1${'0'.repeat(210)}.5e99`, '0.1'];
      const args = forms.map((f) => `{"type":"float","value":${f}}`).join(',');
      const sql = `SELECT ${forms.map((_, i) => `?${i + 1}`).join(', ')}`;
      const answer = await socket.requestText(`{"type":"execute","stream_id":1,"stmt":{"sql":${JSON.stringify(sql)},"args":[${args}]}}`);
      assert.equal(answer.type, 'response_ok', JSON.stringify(answer));
      const values = answer.response.result.rows[0].map((/** @type {any} */ v) => v.value);
      assert.deepEqual(values.map(String), ['0', '0', '0', '0', '0', '0', 'Infinity', '-Infinity', 'Infinity', 'Infinity', '-Infinity', '0.1']);
      assert.deepEqual(values.slice(0, 6).map((/** @type {number} */ v) => Object.is(v, -0)), [true, true, true, true, true, true], 'the sign of each zero');
    } finally {
      socket.close();
    }
  });

  test('close_stream of a stream whose HTTP stream the database dropped (newer streams pushed it out) closes it', async () => {
    const { origin } = servers.sql;
    const name = tenant('libsql-ws-dropped');
    const socket = await openHranaSocket(`${origin.replace(/^http/, 'ws')}db/${name}`, TOKEN);
    try {
      await socket.request({ type: 'open_stream', stream_id: 1 });
      assert.equal((await socket.request({ type: 'execute', stream_id: 1, stmt: { sql: 'SELECT 1' } })).type, 'response_ok');
      // 64 streams over HTTP, left open: the database keeps 64 in all, dropping the idle longest.
      for (let i = 0; i < 64; i++) {
        const res = await servers.sql.mf.dispatchFetch(`${origin}db/${name}/v2/pipeline`, {
          method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ baton: null, requests: [{ type: 'execute', stmt: { sql: 'SELECT 1' } }] }),
        });
        assert.equal(res.status, 200, await res.text());
      }
      const closed = await socket.request({ type: 'close_stream', stream_id: 1 });
      assert.equal(closed.type, 'response_ok', JSON.stringify(closed));
    } finally {
      socket.close();
    }
  });

  test('the socket answers what HTTP answers: ids as the database takes them, sql or sql_id, JSON nested too deep', async () => {
    const { origin } = servers.sql;
    const socket = await openHranaSocket(`${origin.replace(/^http/, 'ws')}db/${tenant('libsql-ws-rules')}`, TOKEN);
    /** @param {any} answer @param {string} code @param {RegExp} message */
    const refused = (answer, code, message) => {
      assert.equal(answer.type, 'response_error', JSON.stringify(answer));
      assert.equal(answer.error.code, code, JSON.stringify(answer));
      assert.match(answer.error.message, message);
    };
    try {
      for (const id of ['x', { a: 1 }, -1, 1.5, 2 ** 31, null]) {
        refused(await socket.request({ type: 'open_stream', stream_id: id }), 'BAD_REQUEST', /stream_id, a whole number/);
        refused(await socket.request({ type: 'store_sql', sql_id: id, sql: 'SELECT 1' }), 'BAD_REQUEST', /sql_id \(a whole number, 0 or more\)/);
      }
      assert.equal((await socket.request({ type: 'open_stream', stream_id: 0 })).type, 'response_ok');
      assert.equal((await socket.request({ type: 'store_sql', sql_id: 7, sql: 'SELECT 7' })).type, 'response_ok');
      const both = await socket.request({ type: 'execute', stream_id: 0, stmt: { sql: 'SELECT 1', sql_id: 7 } });
      refused(both, 'BAD_REQUEST', /not both/);
      const stored = await socket.request({ type: 'execute', stream_id: 0, stmt: { sql_id: 7 } });
      assert.equal(stored.response.result.rows[0][0].value, '7');
      // A null sql is none, as in sqld (and over HTTP).
      const nullSql = await socket.request({ type: 'execute', stream_id: 0, stmt: { sql: null, sql_id: 7 } });
      assert.equal(nullSql.response?.result.rows[0][0].value, '7', JSON.stringify(nullSql));
      const deep = (/** @type {number} */ n) => `${'['.repeat(n)}${']'.repeat(n)}`;
      for (const n of [1100, 20000]) {
        const answer = await socket.requestText(`{"type":"execute","stream_id":0,"stmt":{"sql":"SELECT 1","args":[${deep(n)}]}}`);
        refused(answer, 'BAD_JSON', /nested too deeply/);
      }
      assert.equal((await socket.request({ type: 'execute', stream_id: 0, stmt: { sql: 'SELECT 2' } })).type, 'response_ok', 'the socket serves on');
    } finally {
      socket.close();
    }
  });

  test('a socket that goes away mid-transaction releases the database at once', async () => {
    const name = tenant('libsql-ws-gone');
    const db = clientOf('ws', name);
    await db.execute('CREATE TABLE t (x INTEGER)');
    const tx = await db.transaction('write');
    await tx.execute('INSERT INTO t VALUES (1)');
    db.close();
    const started = Date.now();
    const rs = await clientOf('http', name).execute('SELECT count(*) AS n FROM t');
    assert.equal(rs.rows[0].n, 0, 'the transaction was rolled back');
    assert.ok(Date.now() - started < 5000, 'well before the 15 s idle timeout');
  });

  test('a WebSocket to a wrong URL is refused in its hello, saying why, whatever its token', async () => {
    const origin = servers.sql.origin.replace(/^http/, 'ws');
    const hello = (/** @type {string} */ url) => new Promise((resolve) => {
      const socket = new WebSocket(url, ['hrana2']);
      /** @type {any[]} */
      const got = [];
      socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'hello', jwt: TOKEN })));
      socket.addEventListener('message', (e) => got.push(JSON.parse(String(e.data))));
      socket.addEventListener('error', () => resolve({ got, failed: true }));
      socket.addEventListener('close', () => resolve({ got }));
      setTimeout(() => socket.close(), 3000);
    });
    for (const [path, code, message] of [
      ['', 'NOT_FOUND', /no database at .*: a libSQL URL names one, http:\/\/.*\/db\/<tenant>\/ \(or libsql:\/\/.*\/db\/<tenant>\/\?tls=0\)/],
      [`db/${tenant('libsql-ws-url')}/v2`, 'NOT_FOUND', /no libSQL WebSocket at \/v2: .* ws:\/\/.*\/db\/.*\/$/],
      ['db/a%20b', 'BAD_TENANT', /./],
    ]) {
      const answer = /** @type {any} */ (await hello(`${origin}${path}`));
      assert.deepEqual(answer.got.map((/** @type {any} */ m) => [m.type, m.error?.code]), [['hello_error', code]], `${path}: ${JSON.stringify(answer)}`);
      assert.match(answer.got[0].error.message, message, path);
    }
  });

  test('requests need a good hello first', async () => {
    const url = `${servers.sql.origin.replace(/^http/, 'ws')}db/${tenant('libsql-ws-hello')}`;
    const talk = (/** @type {unknown[]} */ messages) => new Promise((resolve) => {
      const socket = new WebSocket(url, ['hrana2']);
      /** @type {unknown[]} */
      const got = [];
      socket.addEventListener('open', () => messages.forEach((m) => socket.send(JSON.stringify(m))));
      socket.addEventListener('message', (e) => got.push(JSON.parse(String(e.data))));
      socket.addEventListener('close', (e) => resolve({ got, code: e.code }));
      setTimeout(() => { socket.close(); }, 1500);
    });
    const noHello = /** @type {any} */ (await talk([{ type: 'request', request_id: 1, request: { type: 'open_stream', stream_id: 1 } }]));
    assert.equal(noHello.code, 1002);
    const wrong = /** @type {any} */ (await talk([{ type: 'hello', jwt: 'wrong' }, { type: 'request', request_id: 1, request: { type: 'open_stream', stream_id: 1 } }]));
    assert.deepEqual(wrong.got.map((m) => m.type), ['hello_error']);
    assert.equal(wrong.code, 1008);
    // A good hello sent behind a refused one does not let the requests after it run.
    const late = /** @type {any} */ (await talk([
      { type: 'hello', jwt: 'wrong' },
      { type: 'hello', jwt: TOKEN },
      { type: 'request', request_id: 1, request: { type: 'open_stream', stream_id: 1 } },
      { type: 'request', request_id: 2, request: { type: 'execute', stream_id: 1, stmt: { sql: 'CREATE TABLE after_refused (x)' } } },
    ]));
    assert.equal(late.code, 1008);
    assert.ok(late.got.every((/** @type {any} */ m) => m.type === 'hello_error'), JSON.stringify(late.got));
    const probe = /** @type {any} */ (await talk([
      { type: 'hello', jwt: TOKEN },
      { type: 'request', request_id: 1, request: { type: 'open_stream', stream_id: 1 } },
      { type: 'request', request_id: 2, request: { type: 'execute', stream_id: 1, stmt: { sql: "SELECT count(*) FROM sqlite_schema WHERE name = 'after_refused'" } } },
    ]));
    assert.deepEqual(probe.got.find((/** @type {any} */ m) => m.request_id === 2).response.result.rows, [[{ type: 'integer', value: '0' }]]);
    const good = /** @type {any} */ (await talk([
      { type: 'hello', jwt: TOKEN },
      { type: 'request', request_id: 1, request: { type: 'open_stream', stream_id: 7 } },
      { type: 'request', request_id: 2, request: { type: 'store_sql', sql_id: 3, sql: 'SELECT 40 + 2 AS n' } },
      { type: 'request', request_id: 3, request: { type: 'execute', stream_id: 7, stmt: { sql_id: 3 } } },
      { type: 'request', request_id: 4, request: { type: 'execute', stream_id: 8, stmt: { sql: 'SELECT 1' } } },
      { type: 'request', request_id: 5, request: { type: 'open_cursor', stream_id: 7 } },
    ]));
    const byId = Object.fromEntries(good.got.filter((m) => m.request_id).map((m) => [m.request_id, m]));
    assert.equal(good.got[0].type, 'hello_ok');
    assert.equal(byId[1].type, 'response_ok');
    assert.deepEqual(byId[3].response.result.rows, [[{ type: 'integer', value: '42' }]]);
    assert.equal(byId[4].error.code, 'STREAM_EXPIRED');
    assert.equal(byId[5].error.code, 'BAD_REQUEST');

  });

  test('one client running 64 calls at once (a stream each) gets every answer', async () => {
    const db = clientOf('ws', tenant('libsql-ws-many'));
    const rows = await Promise.all(Array.from({ length: 64 }, (_, i) => db.execute({ sql: 'SELECT ? AS n', args: [i] })));
    assert.deepEqual(rows.map((rs) => rs.rows[0].n), Array.from({ length: 64 }, (_, i) => i));
  });

  test('a small message naming a large stored text many times is PAYLOAD_TOO_LARGE, and the socket stays', async () => {
    const socket = new WebSocket(`${servers.sql.origin.replace(/^http/, 'ws')}db/${tenant('libsql-ws-amplify')}`, ['hrana2']);
    /** @type {Map<number, (m: any) => void>} */
    const waiting = new Map();
    socket.on('message', (data) => {
      const m = JSON.parse(String(data));
      waiting.get(m.request_id)?.(m);
    });
    await new Promise((resolve) => socket.once('open', resolve));
    const request = (/** @type {number} */ id, /** @type {object} */ body) => {
      const answered = new Promise((resolve) => waiting.set(id, resolve));
      socket.send(JSON.stringify({ type: 'request', request_id: id, request: body }));
      return /** @type {Promise<any>} */ (answered);
    };
    socket.send(JSON.stringify({ type: 'hello', jwt: TOKEN }));
    try {
      assert.equal((await request(1, { type: 'open_stream', stream_id: 1 })).type, 'response_ok');
      assert.equal((await request(2, { type: 'store_sql', sql_id: 1, sql: `SELECT 1 -- ${'x'.repeat(250 * 1024)}` })).type, 'response_ok');
      // 4,000 steps of one 250 KiB text: about 1 GB once copied in.
      const answer = await request(3, { type: 'batch', stream_id: 1, batch: { steps: Array.from({ length: 4000 }, () => ({ stmt: { sql_id: 1 } })) } });
      assert.deepEqual([answer.type, answer.error?.code], ['response_error', 'PAYLOAD_TOO_LARGE'], JSON.stringify(answer.error));
      const after = await request(4, { type: 'execute', stream_id: 1, stmt: { sql_id: 1 } });
      assert.deepEqual(after.response?.result.rows, [[{ type: 'integer', value: '1' }]]);
    } finally {
      socket.close();
    }
  });

  // A stored text counts as the bytes each copy adds to a body: its JSON string in
  // UTF-8, where a control character takes six.
  for (const [what, text] of [['250 KiB of letters', 'x'.repeat(250 * 1024)], ['40 Ki control characters', '\u0001'.repeat(40 * 1024)]]) {
    test(`stored SQL copied into the requests in flight counts against the socket's bytes in flight (${what})`, async () => {
      // Many small messages on many streams, each naming a stored text of about 240 KiB
      // as JSON 60 times (15 MiB, under the bound of one request): together they would
      // build bodies of hundreds of MiB at once, past a Worker's memory.
      const socket = new EventTarget();
      /** @type {any[]} */
      const sent = [];
      Object.assign(socket, { send: (/** @type {string} */ m) => sent.push(JSON.parse(m)), close: () => {} });
      /** @type {() => void} */
      let answerAll = () => {};
      const answered = new Promise((resolve) => (answerAll = () => resolve(undefined)));
      let bodyChars = 0;
      let peak = 0;
      const pipeline = async (/** @type {string} */ body) => {
        const size = body.length;
        bodyChars += size;
        peak = Math.max(peak, bodyChars);
        await answered;
        bodyChars -= size;
        return { status: 200, value: { baton: 'b', results: [{ type: 'ok', response: { type: 'batch', result: {} } }] } };
      };
      new HranaSocket(/** @type {any} */ (socket), async () => true, pipeline, () => {});
      const message = (/** @type {unknown} */ data) => socket.dispatchEvent(Object.assign(new Event('message'), { data: JSON.stringify(data) }));
      message({ type: 'hello', jwt: 'x' });
      message({ type: 'request', request_id: 0, request: { type: 'store_sql', sql_id: 1, sql: `SELECT 1 -- ${text}` } });
      for (let s = 1; s <= 16; s++) message({ type: 'request', request_id: 100 + s, request: { type: 'open_stream', stream_id: s } });
      await new Promise((resolve) => setTimeout(resolve, 10));
      for (let s = 1; s <= 16; s++) {
        message({ type: 'request', request_id: 1000 + s, request: { type: 'batch', stream_id: s, batch: { steps: Array.from({ length: 60 }, () => ({ stmt: { sql_id: 1 } })) } } });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      const refused = sent.filter((m) => m.type === 'response_error');
      answerAll();
      assert.ok(peak <= SOCKET_MAX_IN_FLIGHT_BYTES + 64 * 1024, `${(peak / 2 ** 20).toFixed(0)} MiB of bodies in flight at once`);
      assert.ok(refused.length >= 15 && refused.every((m) => m.error.code === 'TOO_MANY_REQUESTS'), JSON.stringify(refused.map((m) => m.error)));
    });
  }

  test('a socket that sends no hello is closed after SOCKET_HELLO_MS; one that did stays open', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const sockets = [0, 1].map(() => {
        const socket = new EventTarget();
        /** @type {[number, string][]} */
        const closed = [];
        Object.assign(socket, { send: () => {}, close: (/** @type {number} */ code, /** @type {string} */ why) => closed.push([code, why]) });
        new HranaSocket(/** @type {any} */ (socket), async () => true, async () => ({ status: 500, value: {} }), () => {});
        return { socket, closed };
      });
      sockets[1].socket.dispatchEvent(Object.assign(new Event('message'), { data: JSON.stringify({ type: 'hello', jwt: 'x' }) }));
      mock.timers.tick(SOCKET_HELLO_MS - 1);
      assert.deepEqual(sockets[0].closed, []);
      mock.timers.tick(1);
      assert.deepEqual(sockets[0].closed, [[1008, `no hello within ${SOCKET_HELLO_MS / 1000} s`]]);
      assert.deepEqual(sockets[1].closed, []);
    } finally {
      mock.timers.reset();
    }
  });

  test(`a client that sends faster than the database answers is refused past ${MAX_IN_FLIGHT} requests in flight`, async () => {
    // The connection alone, in Node, over a socket of the test's and a database that
    // has not answered yet.
    const socket = new EventTarget();
    /** @type {any[]} */
    const sent = [];
    Object.assign(socket, { send: (/** @type {string} */ m) => sent.push(JSON.parse(m)), close: () => {} });
    /** @type {() => void} */
    let answerAll = () => {};
    const answered = new Promise((resolve) => (answerAll = () => resolve(undefined)));
    const pipeline = async () => {
      await answered;
      return { status: 200, value: { baton: 'b', results: [{ type: 'ok', response: { type: 'get_autocommit', is_autocommit: true } }] } };
    };
    new HranaSocket(/** @type {any} */ (socket), async () => true, pipeline, () => {});
    const message = (/** @type {unknown} */ data) => socket.dispatchEvent(Object.assign(new Event('message'), { data: JSON.stringify(data) }));
    message({ type: 'hello', jwt: 'x' });
    message({ type: 'request', request_id: 0, request: { type: 'open_stream', stream_id: 1 } });
    for (let id = 1; id <= MAX_IN_FLIGHT + 5; id++) message({ type: 'request', request_id: id, request: { type: 'get_autocommit', stream_id: 1 } });
    await new Promise((r) => setImmediate(r));
    const refused = sent.filter((m) => m.error?.code === 'TOO_MANY_REQUESTS').map((m) => m.request_id);
    assert.deepEqual(refused, [MAX_IN_FLIGHT, MAX_IN_FLIGHT + 1, MAX_IN_FLIGHT + 2, MAX_IN_FLIGHT + 3, MAX_IN_FLIGHT + 4, MAX_IN_FLIGHT + 5]);
    // One message past the bytes that may wait at all could never be let through:
    // PAYLOAD_TOO_LARGE, not "wait for some" (its size in UTF-8: a 'é' is two bytes).
    const huge = 'é'.repeat(SOCKET_MAX_IN_FLIGHT_BYTES / 2 + 1);
    message({ type: 'request', request_id: 4000, request: { type: 'execute', stream_id: 1, stmt: { sql: 'SELECT ?', args: [{ type: 'text', value: huge }] } } });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(sent.filter((m) => m.request_id === 4000).map((m) => m.error?.code), ['PAYLOAD_TOO_LARGE']);
    answerAll();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sent.filter((m) => m.type === 'response_ok').length, MAX_IN_FLIGHT, 'the others are answered');
    // And no more than SOCKET_MAX_STREAMS streams at once.
    sent.length = 0;
    for (let streamId = 2; streamId <= SOCKET_MAX_STREAMS + 1; streamId++) {
      message({ type: 'request', request_id: 5000 + streamId, request: { type: 'open_stream', stream_id: streamId } });
    }
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(sent.filter((m) => m.error).map((m) => [m.request_id, m.error.code]), [[5000 + SOCKET_MAX_STREAMS + 1, 'TOO_MANY_REQUESTS']]);
  });
});
