// hostile.test.js — a hostile tenant in workerd, as classes of attack: reserved
// names in every schema, forged imports, CPU bombs inside single functions,
// bodies the engine and JavaScript could read differently, and paths and
// methods the router must refuse without touching a database. After every
// attack the object answers, integrity_check is ok, and no acknowledged write
// is missing.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BACKENDS, REPO, createWorld, startStandalone, tenant } from './harness.js';
import { RECYCLE_MEMORY_BYTES } from '../../worker-shim/src/config.js';

const CLI = join(REPO, 'wasm/build/native/sqlite3');
const world = createWorld('hostile');
before(() => world.start());
after(() => world.destroy());

/** @param {import('./harness.js').Answer} a @param {number} status @param {string} code */
function assertError(a, status, code) {
  assert.equal(a.status, status, a.text);
  assert.equal(a.body?.code, code, a.text);
}

/**
 * The object still serves: a write is acknowledged and read back with every
 * earlier acknowledged one, and integrity_check is ok.
 * @param {ReturnType<typeof world.client>} db
 * @param {number[]} acknowledged  values written so far (appended to)
 */
async function stillHealthy(db, acknowledged) {
  await db.run('CREATE TABLE IF NOT EXISTS kept (v INTEGER)');
  const v = acknowledged.length + 1;
  await db.run('INSERT INTO kept VALUES (?)', [v]);
  acknowledged.push(v);
  const rows = await db.query('SELECT v FROM kept ORDER BY v');
  assert.deepEqual(rows.map((r) => r.v), acknowledged);
  assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
}

for (const backend of BACKENDS) {
  describe(`a hostile tenant (${backend})`, () => {
    test('no schema may hold, wrap or trigger on a reserved name', async () => {
      const db = world.client(backend, tenant('names'));
      const acknowledged = /** @type {number[]} */ ([]);
      await stillHealthy(db, acknowledged);
      for (const name of ['_dosql_changes', '_DOSQL_Migrations', '_dosql_next']) {
        for (const sql of [
          `CREATE TEMP TABLE ${name} (x)`,
          `CREATE TEMP VIEW ${name} AS SELECT 1`,
          `CREATE VIRTUAL TABLE temp.${name} USING fts5(a)`,
          `CREATE TABLE ${name} (x)`,
          `CREATE INDEX ${name} ON kept (v)`,
          `CREATE TRIGGER ${name} AFTER INSERT ON kept BEGIN SELECT 1; END`,
        ]) {
          const a = await db.post('/run', { sql });
          assert.ok(a.status >= 400 && a.status < 500, `${sql}: ${a.text}`);
        }
        await db.run('CREATE TEMP TABLE x (lsn, tx_id, ts, type, tbl, data, old)');
        assertError(await db.post('/run', { sql: `ALTER TABLE temp.x RENAME TO ${name}` }), 403, 'SQLITE_AUTH');
        await db.run('DROP TABLE temp.x');
      }
      assert.equal((await db.post('/run', { sql: 'CREATE TEMP TRIGGER t AFTER INSERT ON main._dosql_change_log BEGIN SELECT 1; END' })).status, 403);
      assert.equal((await db.post('/run', { sql: 'CREATE TEMP TRIGGER t INSTEAD OF INSERT ON main._dosql_changes BEGIN SELECT 1; END' })).status, 403);
      assert.equal((await db.post('/run', { sql: 'DROP VIEW _dosql_changes' })).status, 403);
      // Names the engine's own SQL reads cannot answer in its place; json_each, which
      // the change log's view reads, cannot be taken (it would break every ALTER TABLE).
      assertError(await db.post('/run', { sql: 'CREATE TABLE json_each (value)' }), 403, 'SQLITE_AUTH');
      // Not by a rename either, in any schema (a rename names no new object to the authorizer).
      // (In main, SQLite's own check of the views after a rename refuses it too.)
      await db.run('CREATE TABLE renamed (a)');
      assert.equal((await db.post('/run', { sql: 'ALTER TABLE renamed RENAME TO json_each' })).status, 400);
      await db.run('DROP TABLE renamed');
      for (const [create, table] of [['CREATE TEMP TABLE x (a)', 'temp.x'], ['CREATE VIRTUAL TABLE temp.v USING fts5(a)', 'temp.v']]) {
        await db.run(create);
        const renamed = await db.post('/run', { sql: `ALTER TABLE ${table} RENAME TO JSON_EACH` });
        assertError(renamed, 403, 'SQLITE_AUTH');
        assert.match(renamed.body.error, /JSON_EACH takes the name of SQLite's JSON function/);
        await db.run(`DROP TABLE ${table}`);
      }
      assert.deepEqual(await db.query("SELECT count(*) AS n FROM json_each('[1, 2]')"), [{ n: 2 }]);
      await db.run('CREATE TABLE pragma_table_xinfo (name, hidden)');
      await db.run('CREATE TEMP TABLE pragma_database_list (name)');
      const [{ n }] = await db.query("SELECT count(*) AS n FROM sqlite_temp_master WHERE name LIKE '\\_dosql%' ESCAPE '\\'");
      assert.equal(n, 0, 'no reserved name in temp');
      await stillHealthy(db, acknowledged);
      const page = (await db.post('/changes', { tables: ['kept'] })).body;
      assert.equal(page.events.length, acknowledged.length, 'capture still writes its own log');
    });

    test('statements nested past the stack end with 400 STACK_LIMIT, and the object goes on', async () => {
      const db = world.client(backend, tenant('stack'));
      const acknowledged = /** @type {number[]} */ ([]);
      await stillHealthy(db, acknowledged);
      const like = `SELECT replace(hex(zeroblob(8000)), '0', 'a') LIKE '${'%a'.repeat(8000)}%' AS m`;
      const deepPath = '$' + '.a'.repeat(50000);
      for (const sql of [
        // V8's stack: SQLite's pattern matcher recurses once a wildcard.
        like,
        `SELECT replace(hex(zeroblob(8000)), '0', 'a') GLOB '${'*a'.repeat(8000)}*' AS m`,
        // The C stack: a JSON path step recurses once a key.
        `SELECT json_set('{}', '${deepPath}', 1) AS j`,
      ]) {
        assertError(await db.post('/query', { sql }), 400, 'STACK_LIMIT');
        await stillHealthy(db, acknowledged);
      }
      // Inside a transaction: the engine restarts, so the transaction is rolled back.
      const { txId } = (await db.post('/begin', {})).body;
      const inTx = { headers: { 'content-type': 'application/json', 'X-DoSQL-Transaction': txId } };
      assert.equal((await db.post('/run', { sql: 'INSERT INTO kept VALUES (-1)' }, inTx)).status, 200);
      // Requests waiting behind that transaction run on a fresh engine, not the broken one.
      const waiting = [1, 2, 3].map((v) => db.post('/run', { sql: 'INSERT INTO kept VALUES (?)', params: [1000 + v] }));
      await new Promise((r) => setTimeout(r, 200));
      assertError(await db.post('/query', { sql: like }, inTx), 400, 'STACK_LIMIT');
      for (const answer of await Promise.all(waiting)) assert.equal(answer.status, 200, answer.text);
      assertError(await db.post('/commit', {}, inTx), 409, 'TRANSACTION_EXPIRED');
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM kept WHERE v >= 1000 OR v < 0'), [{ n: 3 }]);
      await db.run('DELETE FROM kept WHERE v >= 1000');
      await stillHealthy(db, acknowledged);
    });

    test('CPU bombs inside one function call end with 400 CPU_LIMIT', async () => {
      const db = world.client(backend, tenant('cpu'));
      const acknowledged = /** @type {number[]} */ ([]);
      await stillHealthy(db, acknowledged);
      const big = "WITH s(a, b) AS (SELECT replace(hex(zeroblob(4000000)), '0', 'a') || 'b', replace(hex(zeroblob(20000)), '0', 'a') || 'c') ";
      for (const sql of [
        `${big}SELECT instr(a, b) FROM s`,
        `${big}SELECT a LIKE '%' || b || '%' FROM s`,
        `${big}SELECT a GLOB '*' || b || '*' FROM s`,
        `${big}SELECT length(replace(a, b, 'x')) FROM s`,
        `${big}SELECT length(trim(a, b)) FROM s`,
        'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT sum(length(randomblob(8000000))) FROM n',
        'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n',
        // Copies of a big value inside one VM step each, by no built-in function.
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000), b(v) AS (SELECT printf('%.*c', 1000000, 'x')) SELECT count(v || 'x') FROM n, b",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000), b(v) AS (SELECT printf('%.*c', 1000000, 'x')) SELECT count(CAST(v AS BLOB)) FROM n, b",
        // A number parsed from a long text: SQLite scans every digit inside one step.
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150000), b(v) AS MATERIALIZED (SELECT printf('%.*c', 60000, '7')) SELECT sum(v + 0) FROM n, b",
        // A window aggregate moves and copies all it holds for each row of a sliding frame.
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) SELECT count(g) FROM (SELECT group_concat(printf('%.60c', 'x')) OVER (ROWS 999 PRECEDING) AS g FROM n)",
        // A pragma's table-valued function compiles and runs a statement at each call.
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2900) SELECT count(*) FROM n AS a CROSS JOIN n AS b CROSS JOIN pragma_index_list('none')",
      ]) {
        assertError(await db.post('/query', { sql }), 400, 'CPU_LIMIT');
      }
      // Binding tens of thousands of named parameters is not a bomb.
      const names = Array.from({ length: 30000 }, (_, i) => `p${i}`);
      const rows = await db.query(`SELECT 30000 AS n WHERE 1 IN (${names.map((n) => `:${n}`).join(',')})`, Object.fromEntries(names.map((n) => [n, 1])));
      assert.deepEqual(rows, [{ n: 30000 }]);
      await stillHealthy(db, acknowledged);
    });

    test('lookups in random order over a database past the caches end with 400 CPU_LIMIT', { skip: backend !== 'sql' && 'the key-value object fetches what a request lacks before it runs' }, async () => {
      const db = world.client(backend, tenant('random-pages'));
      // 9,000 pages of a row each (32 MB): past SQLite's 16 MiB cache and the host's 8 MiB of
      // page rows, so that most lookups fetch a row of pages for the one they read.
      await db.run('CREATE TABLE big (id INTEGER PRIMARY KEY, pad BLOB)');
      for (let i = 0; i < 9; i++) await db.run(`INSERT INTO big (pad) SELECT randomblob(3500) FROM (WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 1000) SELECT i FROM k)`);
      assertError(await db.post('/query', { sql: 'WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 150000) SELECT count(*) FROM k JOIN big ON big.id = (i * 7919) % 9000 + 1' }), 400, 'CPU_LIMIT');
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM big WHERE id <= 10'), [{ n: 10 }]);
    });

    test('bodies JavaScript and the engine could read differently are 400 BAD_JSON', async () => {
      const db = world.client(backend, tenant('json'));
      const acknowledged = /** @type {number[]} */ ([]);
      await stillHealthy(db, acknowledged);
      for (const body of [
        '{"sql":"SELECT 1","sql":"DROP TABLE kept"}',
        '{"sql":"SELECT 1\u0000; DROP TABLE kept"}',
        '{"sql":"SELECT \'\\ud800\'"}',
        '{"sql":"SELECT 1","params":[01]}',
        '\ufeff{"sql":"SELECT 1"}',
      ]) {
        assertError(await db.post('/run', body), 400, 'BAD_JSON');
      }
      assertError(await db.post('/begin', '{"timeoutMs":1000,"timeoutMs":60000}'), 400, 'BAD_JSON');
      if (backend === 'sql') {
        const sub = await db.fetch('/subscribe', { method: 'POST', body: '{"since":0,"since":5}' });
        assertError(sub, 400, 'BAD_JSON');
      }
      await stillHealthy(db, acknowledged);
    });

    test('virtual tables: no shadow table in the change log, no rows counted for CREATE', async () => {
      const db = world.client(backend, tenant('vtab'));
      assert.equal((await db.run('CREATE VIRTUAL TABLE f USING fts5(body)')).rowsAffected, 0);
      assert.equal((await db.run('CREATE VIRTUAL TABLE r USING rtree(id, x0, x1)')).rowsAffected, 0);
      await db.run("INSERT INTO f VALUES ('hello')");
      await db.run('INSERT INTO r VALUES (1, 0, 1)');
      const { events } = (await db.post('/changes', {})).body;
      assert.deepEqual(events.filter((e) => /^[fr]_/.test(e.table)), []);
    });
  });
}

describe('imports that carry what only DoSQL writes', () => {
  /** @param {string} name @param {string} path @param {any} [init] */
  const call = (name, path, init) => world.mf.dispatchFetch(`http://localhost/sql/${name}${path}`, init);

  /** An export of a small database, changed by the sqlite3 CLI running sql. @param {string} sql */
  async function forged(sql) {
    assert.ok(existsSync(CLI), `${CLI} is missing: run ./build.sh native`);
    const source = tenant('source');
    const db = world.client('sql', source);
    await db.run('CREATE TABLE t (x)');
    await db.run('INSERT INTO t VALUES (1)');
    const file = join(world.dir, `${source}.sqlite`);
    writeFileSync(file, Buffer.from(await (await call(source, '/export')).arrayBuffer()));
    execFileSync(CLI, [file, sql]);
    const bytes = readFileSync(file);
    rmSync(file);
    return bytes;
  }

  // The change log as the first release kept it: one row per event (src/internal.c).
  const LEGACY_LOG = 'CREATE TABLE _dosql_changes(  lsn INTEGER PRIMARY KEY,  tx_id INTEGER NOT NULL,  ts INTEGER NOT NULL,  type TEXT NOT NULL,  tbl TEXT NOT NULL COLLATE NOCASE,  data TEXT NOT NULL,  old TEXT);';

  test('a file of the first release imports, its change log read as before', async () => {
    const name = tenant('target');
    const db = world.client('sql', name);
    const file = await forged(`DROP VIEW _dosql_changes; DROP TABLE _dosql_change_log; ${LEGACY_LOG}
      INSERT INTO _dosql_changes VALUES (1, 1, 1795000000000, 'insert', 't', '{"x":1}', NULL),
        (2, 2, 1795000000001, 'update', 't', '{"x":2}', '{"x":1}');`);
    const r = await call(name, '/import', { method: 'POST', body: file, headers: { 'content-type': 'application/vnd.sqlite3' } });
    assert.equal(r.status, 200, await r.text());
    const { events, head } = (await db.post('/changes', {})).body;
    assert.deepEqual(events.map((/** @type {any} */ e) => [e.lsn, e.type, e.data, e.old]), [[1, 'insert', { x: 1 }, undefined], [2, 'update', { x: 2 }, { x: 1 }]]);
    assert.equal(head, 2);
    await db.run('INSERT INTO t VALUES (3)');
    assert.deepEqual(await db.query('SELECT lsn, type, data FROM _dosql_changes WHERE lsn > 2'), [{ lsn: 3, type: 'insert', data: '{"x":3}' }]);
  });

  for (const [what, sql] of [
    ['a trigger on the change log', 'CREATE TRIGGER evil AFTER INSERT ON _dosql_change_log BEGIN DELETE FROM _dosql_migrations; END;'],
    ['a view under a reserved name', 'CREATE VIEW _dosql_view AS SELECT 1;'],
    ['change events that are not JSON', `INSERT INTO _dosql_change_log VALUES (2, 2, 2, 0, 't', '["x"]', '[["i",[not json]]]');`],
    ['an lsn above 2^53', `INSERT INTO _dosql_change_log VALUES (9007199254740993, 9007199254740993, 2, 0, 't', '["x"]', '[["i",[1]]]');`],
    // Events after the import are numbered past it: none would be left, for a write or a later import.
    ['an lsn near 2^53', `INSERT INTO _dosql_change_log VALUES (9007199254740991, 9007199254740991, 9007199254740991, 2, 't', '["x"]', '[["i",[5]]]');`],
    ['a change event with a key twice', `INSERT INTO _dosql_change_log VALUES (2, 2, 2, 0, 't', '["x","x"]', '[["i",[1,2]]]');`],
    ['a change-log row with more events than lsns', `INSERT INTO _dosql_change_log VALUES (2, 2, 2, 0, 't', '["x"]', '[["i",[1]],["i",[2]]]');`],
    ['a first-release change log with a row that is not JSON', `DROP VIEW _dosql_changes; DROP TABLE _dosql_change_log; ${LEGACY_LOG} INSERT INTO _dosql_changes VALUES (1, 1, 0, 'insert', 't', 'not json', NULL);`],
    ['a forged migration record', "INSERT INTO _dosql_migrations VALUES ('x.sql', 'nothex', 'now');"],
  ]) {
    test(`${what} is refused with 422 IMPORT_UNSAFE, and nothing changes`, async () => {
      const name = tenant('target');
      const db = world.client('sql', name);
      const acknowledged = /** @type {number[]} */ ([]);
      await stillHealthy(db, acknowledged);
      const r = await call(name, '/import', { method: 'POST', body: await forged(sql), headers: { 'content-type': 'application/vnd.sqlite3' } });
      const body = await r.json();
      assert.equal(r.status, 422, JSON.stringify(body));
      assert.equal(body.code, 'IMPORT_UNSAFE');
      await stillHealthy(db, acknowledged);
      const { events } = (await db.post('/changes', {})).body;
      assert.ok(events.length >= 1);
    });
  }
});

describe('the standalone router refuses before it touches a database', () => {
  const TOKEN = 'hostile-token';
  /** @type {any} */
  let mf;
  /** @type {any} */
  let bare;
  before(async () => {
    mf = await startStandalone({ DOSQL_TOKEN: TOKEN });
    bare = await startStandalone({ DOSQL_TOKEN: TOKEN }, { withNamespace: false });
  });
  after(async () => {
    await mf?.dispose();
    await bare?.dispose();
  });
  const auth = { authorization: `Bearer ${TOKEN}` };

  test('an unknown endpoint is 404 without reaching the Durable Object', async () => {
    // Without a namespace any request that reached for an object would be 500.
    for (const path of ['/db/a/nope', '/db/a/', '/db/a', '/db/a/query/x', '/db/a/changes/prune', '/db/a/import/check']) {
      const r = await bare.dispatchFetch(`http://localhost${path}`, { method: 'POST', headers: auth, body: '{}' });
      assert.equal(r.status, 404, path);
      assert.equal((await r.json()).code, 'NOT_FOUND');
    }
    for (const path of ['/query', '/run', '/transaction', '/batch', '/exec', '/begin', '/commit', '/rollback', '/changes']) {
      const r = await bare.dispatchFetch(`http://localhost/db/a${path}`, { method: 'POST', headers: auth, body: '{}' });
      assert.equal(r.status, 500, `${path} is an endpoint: the missing binding answers`);
      await r.text();
    }
  });
});

describe('memory', () => {
  test('a result past 32 MiB is RESULT_TOO_LARGE, not out of memory, whatever the size of its rows and their JSON', async () => {
    // The body grows to about twice its length: the row that crosses the limit is
    // refused before it, as that would ask the heap for more than it holds.
    const db = world.client('sql', tenant('result-limit'));
    const rows = (/** @type {number} */ n, /** @type {string} */ value) =>
      `WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < ${n}) SELECT ${value} AS x FROM r`;
    const text = (/** @type {number} */ bytes) => `printf('%.*c', ${bytes}, 'a')`;
    // A control character is 6 bytes of JSON (\u0001).
    const escaped = (/** @type {number} */ bytes) => `replace(${text(bytes)}, 'a', char(1))`;
    assert.equal((await db.post('/query', { sql: rows(31, text(1048576)) })).status, 200);
    for (const sql of [rows(32, text(1048576)), rows(33, text(1048576)), rows(36, text(1000000)), rows(1, escaped(7000000)), rows(8, escaped(3000000))]) {
      for (const body of [{ sql }, { sql, rowMode: 'array' }]) {
        const a = await db.post('/query', body);
        assert.equal(a.body?.code, 'RESULT_TOO_LARGE', `${sql} (${body.rowMode ?? 'objects'}): ${a.text.slice(0, 200)}`);
      }
    }
    assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
  });

  test('after one big query the engine gives its memory back', async () => {
    const db = world.client('sql', tenant('memory'));
    await db.run('CREATE TABLE t (b BLOB)');
    await db.run('INSERT INTO t VALUES (randomblob(4000))');
    // One 42 MB value grows wasm memory past the threshold.
    assert.deepEqual(await db.query('SELECT length(hex(zeroblob(14000000))) AS n'), [{ n: 28000000 }]);
    const stats = async () => (await db.fetch('/stats')).body;
    let after = await stats();
    for (let i = 0; i < 50 && after.wasmMemoryBytes > RECYCLE_MEMORY_BYTES; i++) after = await stats();
    assert.ok(after.wasmMemoryBytes <= RECYCLE_MEMORY_BYTES, `wasm memory is ${after.wasmMemoryBytes} bytes`);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 1 }]);
  });

  for (const backend of ['sql', 'kv']) {
    for (const end of ['/commit', '/rollback']) {
      test(`a transaction that grew the memory ends with 200 though the engine is replaced behind it (${backend}, ${end})`, async () => {
        // The replacement waits for the gate, which the transaction's end releases:
        // it ran before that request's own upkeep, which read the dropped engine.
        const db = world.client(backend, tenant('recycle-end'));
        await db.run('CREATE TABLE t (v)');
        const { txId } = (await db.post('/begin', {})).body;
        const inTx = { headers: { 'content-type': 'application/json', 'X-DoSQL-Transaction': txId } };
        assert.equal((await db.post('/run', { sql: 'INSERT INTO t VALUES (1)' }, inTx)).status, 200);
        // 100 MB of rows: refused at the heap limit, with the memory grown past the threshold.
        const grown = await db.post('/run', { sql: 'CREATE TABLE big AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100) SELECT randomblob(1000000) AS b FROM n' }, inTx);
        assert.equal(grown.body.code, 'HEAP_LIMIT', grown.text);
        const ended = await db.post(end, {}, inTx);
        assert.equal(ended.status, 200, ended.text);
        assert.deepEqual(await db.query('SELECT v FROM t'), end === '/commit' ? [{ v: 1 }] : []);
        const stats = async () => (await db.fetch('/stats')).body;
        let after = await stats();
        for (let i = 0; i < 50 && after.wasmMemoryBytes > RECYCLE_MEMORY_BYTES; i++) after = await stats();
        assert.ok(after.wasmMemoryBytes <= RECYCLE_MEMORY_BYTES, `wasm memory is ${after.wasmMemoryBytes} bytes`);
      });
    }
  }
});
