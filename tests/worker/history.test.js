// History (docs/history.md) through the Durable Object class, as users call it:
// reads as of an lsn, a bookmark or a time on /query and /batch, over HTTP, the
// stub's RPC methods and createClient().asOf(); GET /history; POST /restore, which
// undoes a bad migration in one commit that can itself be undone, survives a
// restart and ends change streams; and the key-value backend's clear refusal.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, tenant } from './harness.js';
import { tag, untag } from './fixtures/tagged.js';
import { checkHistory } from '../../worker-shim/src/storage/sql.js';
import { CHECKPOINT_ROWS, HISTORY_MAX_BYTES } from '../../worker-shim/src/config.js';

/** @type {ReturnType<typeof createWorld>} */
let world;
before(async () => {
  world = createWorld('history');
  // A service binding beside the class's namespaces (bound as SQL_DB and KV_DB, not
  // DOSQL_DB): it has every method a namespace has, and a branch must not take it for one.
  await world.start({ migrations: [], serviceBindings: { AAA: () => new Response('another Worker') } });
});
after(() => world.destroy());

/** @param {string} name */
const sql = (name) => world.client('sql', name);

/** @param {ReturnType<typeof sql>} db */
async function history(db) {
  const a = await db.post('/history', {});
  assert.equal(a.status, 200, a.text);
  return a.body;
}

/** The database name as a SQLite file (GET /export). @param {string} name */
async function exportOf(name) {
  return new Uint8Array(await (await world.mf.dispatchFetch(`http://localhost/sql/${name}/export`)).arrayBuffer());
}

/** The stub's RPC method (or createClient(stub)'s, then `then`'s), called inside workerd.
 *  @param {string} name @param {{method: string, args: unknown[], client?: boolean, then?: {method: string, args: unknown[]}}} call */
async function rpc(name, call) {
  const r = await world.mf.dispatchFetch(`http://localhost/sql/${name}/__rpc`, { method: 'POST', body: JSON.stringify(tag(call)) });
  const answer = await r.json();
  if (answer.error) throw Object.assign(new Error(answer.error.message), answer.error);
  return untag(answer.value);
}

describe('history', () => {
  test('a read as of an lsn, a bookmark or a time sees the database as that commit left it, schema included', async () => {
    const name = tenant('h');
    const db = sql(name);
    await db.run('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
    await db.run("INSERT INTO notes (body) VALUES ('first')");
    const one = (await history(db)).current;
    await db.run("INSERT INTO notes (body) VALUES ('second')");
    await db.run("UPDATE notes SET body = 'FIRST' WHERE id = 1");
    const two = (await history(db)).current;
    await db.run('DROP TABLE notes');
    assert.equal(two.lsn, one.lsn + 2);
    assert.match(one.bookmark, /^[0-9a-f]{16}$/);

    const at = async (/** @type {unknown} */ asOf, sqlText = 'SELECT id, body FROM notes ORDER BY id') => db.post('/query', { sql: sqlText, asOf });
    assert.deepEqual((await at(one.lsn)).body.rows, [{ id: 1, body: 'first' }]);
    assert.deepEqual((await at(one.bookmark)).body.rows, [{ id: 1, body: 'first' }]);
    assert.deepEqual((await at(two.lsn)).body.rows, [{ id: 1, body: 'FIRST' }, { id: 2, body: 'second' }]);
    // Now the table is gone; the present has no notes, the past does.
    assert.equal((await db.post('/query', { sql: 'SELECT * FROM notes' })).status, 400);
    const batch = await db.post('/batch', { asOf: two.lsn, operations: [{ sql: 'SELECT count(*) AS n FROM notes' }, { sql: "SELECT body FROM notes WHERE id = 2" }] });
    assert.equal(batch.status, 200, batch.text);
    assert.deepEqual(batch.body.results.map((/** @type {any} */ r) => r.rows), [[{ n: 2 }], [{ body: 'second' }]]);
    // A time: now is the newest commit; far in the future too.
    assert.equal((await at({ time: Date.now() + 1000 }, 'SELECT count(*) AS n FROM sqlite_schema WHERE name = \'notes\'')).body.rows[0].n, 0);
    assert.equal((await at('2999-01-01T00:00:00Z', 'SELECT 1 AS one')).status, 200);
  });

  test('history starts again at an import: every point it offers is the file, and restoring the oldest keeps it', async () => {
    const from = tenant('himpsrc');
    const src = sql(from);
    await src.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    // ~700 pages: the import stages them in several commits, which are not points.
    await src.run('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 700) INSERT INTO t (v) SELECT randomblob(3500) FROM c');
    const file = await exportOf(from);
    const db = sql(tenant('himpdst'));
    assert.equal((await db.post('/import', file)).status, 200);
    const { oldest, current } = await history(db);
    for (let lsn = oldest.lsn; lsn <= current.lsn; lsn++) {
      const at = await db.post('/query', { sql: 'SELECT count(*) AS n FROM t', asOf: lsn });
      assert.equal(at.status, 200, `lsn ${lsn} of ${oldest.lsn}..${current.lsn}: ${at.text}`);
      assert.equal(at.body.rows[0].n, 700);
    }
    await db.run('DELETE FROM t WHERE id > 1');
    assert.equal((await db.post('/restore', { to: oldest.lsn })).status, 200);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 700 }]);
  });

  test('GET /history\'s oldestTime is the earliest time that names a point: a new database, an imported one, and one whose import kept spans of history', async () => {
    const at = (/** @type {any} */ db, /** @type {number} */ time) => db.post('/query', { sql: 'SELECT 1 AS one', asOf: { time } });
    const earliest = async (/** @type {any} */ db, /** @type {string} */ what) => {
      const { oldestTime } = await history(db);
      assert.equal(typeof oldestTime, 'number', `${what}: ${oldestTime}`);
      assert.equal((await at(db, oldestTime)).status, 200, `${what}: its oldestTime names a point`);
      assert.equal((await at(db, oldestTime - 1)).body.code, 'POINT_TOO_OLD', `${what}: a ms before its oldestTime names none`);
      // Its error prints the millisecond the time falls in, not oldestTime rounded up to.
      const justBefore = (await at(db, oldestTime - 0.5)).body;
      assert.equal(justBefore.code, 'POINT_TOO_OLD', `${what}: half a ms before its oldestTime names none`);
      assert.match(justBefore.error, new RegExp(`the time ${new Date(oldestTime - 1).toISOString().replace('T', ' ').replace('Z', '')} UTC`), what);
    };
    const fresh = sql(tenant('hot-new'));
    await fresh.run('CREATE TABLE t (v)');
    await earliest(fresh, 'a new database');
    const srcName = tenant('hot-src');
    const src = sql(srcName);
    await src.run('CREATE TABLE t (v)');
    await src.run("INSERT INTO t VALUES ('small')");
    const small = await exportOf(srcName);
    const imported = sql(tenant('hot-imp'));
    assert.equal((await imported.post('/import', small)).status, 200);
    await earliest(imported, 'an imported database');
    await imported.run("INSERT INTO t VALUES ('after')");
    await earliest(imported, 'an imported database, written since');
    // Over 8 MB: staging it checkpoints, and its spans are kept before the file's point.
    await src.run('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2400) INSERT INTO t SELECT randomblob(4000) FROM c');
    const big = await exportOf(srcName);
    assert.equal((await imported.post('/import', big)).status, 200);
    await earliest(imported, 'a database imported from a large file');
  });

  test('a restore to before the first commit is undone by restoring to its `before`, though it took two commits', async () => {
    const db = sql(tenant('hundo'));
    await db.run('CREATE TABLE t (v)');
    await db.run('INSERT INTO t VALUES (1)');
    const { oldest, current } = await history(db);
    const restored = await db.post('/restore', { to: oldest.lsn });
    assert.equal(restored.status, 200, restored.text);
    assert.deepEqual(restored.body.before, current);
    // The restore, then the engine's own tables made again as it opens the empty database.
    assert.equal(restored.body.current.lsn, current.lsn + 2);
    assert.equal((await db.post('/restore', { to: restored.body.before.lsn })).status, 200);
    assert.deepEqual(await db.query('SELECT v FROM t'), [{ v: 1 }]);
  });

  test('getDB() and toD1() given a service binding refuse it, however it is passed, rather than call another Worker', async () => {
    const answers = await (await world.mf.dispatchFetch(`http://localhost/sql/${tenant('hsvc')}/__service?binding=AAA`)).json();
    assert.equal(answers.length, 4);
    for (const answer of answers) assert.match(answer, /was given a service binding \(another Worker\)( as DOSQL_DB)?, not a Durable Object namespace or stub/);
    // The class's own namespace is no service binding.
    assert.deepEqual(await (await world.mf.dispatchFetch(`http://localhost/sql/${tenant('hsvc')}/__service?binding=SQL_DB`)).json(), ['made', 'made', 'made', 'made']);
  });

  test('a point before the first commit exports as an empty file and branches as an empty database', async () => {
    const name = tenant('hzero');
    const db = sql(name);
    await db.run('CREATE TABLE t (x)');
    const { oldest } = await history(db);
    const res = await world.mf.dispatchFetch(`http://localhost/sql/${name}/export?asOf=${oldest.lsn}&cb=1`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
    // ?asof= would export the present: refused, naming the parameter.
    const misspelt = await world.mf.dispatchFetch(`http://localhost/sql/${name}/export?asof=${oldest.lsn}`);
    assert.equal(misspelt.status, 400);
    assert.match((await misspelt.json()).error, /\/export does not take the query parameter "asof".*did you mean asOf\?/);
    const twice = await world.mf.dispatchFetch(`http://localhost/sql/${name}/export?asOf=${oldest.lsn}&asOf=${oldest.lsn}`);
    assert.deepEqual([twice.status, (await twice.json()).code], [400, 'BAD_REQUEST']);
    const empty = tenant('hzero-branch');
    const branched = await db.post('/branch', { name: empty, from: oldest.lsn });
    assert.equal(branched.status, 200, branched.text);
    assert.equal(branched.body.pages, 0);
    assert.deepEqual(await sql(empty).query("SELECT count(*) AS n FROM sqlite_schema WHERE name = 't'"), [{ n: 0 }]);
    await sql(empty).run('CREATE TABLE t (x)');
  });

  test('a database restored to before its rows is not new: a branch into its name is BRANCH_EXISTS, and the restore can still be undone', async () => {
    const name = tenant('hvictim');
    const victim = sql(name);
    await victim.run('CREATE TABLE precious (v)');
    await victim.run("INSERT INTO precious VALUES ('a'), ('b')");
    const restored = await victim.post('/restore', { to: (await history(victim)).oldest.lsn });
    assert.equal(restored.status, 200, restored.text);
    const other = sql(tenant('hvictim-other'));
    await other.run('CREATE TABLE unrelated (x)');
    const branched = await other.post('/branch', { name });
    assert.equal(branched.status, 409, branched.text);
    assert.equal(branched.body.code, 'BRANCH_EXISTS');
    assert.match(branched.body.error, /is not a new database \(it made \d+ commits more than its migrations make .* its history can still restore points back to lsn \d+, which a branch would end/);
    assert.equal((await victim.post('/restore', { to: restored.body.before.lsn })).status, 200);
    assert.deepEqual(await victim.query('SELECT v FROM precious ORDER BY v'), [{ v: 'a' }, { v: 'b' }]);
  });

  test('branches into one new name at once: one is made, the others are BRANCH_EXISTS (the name is being written), not an import in progress', async () => {
    const db = sql(tenant('hrace'));
    await db.run('CREATE TABLE t (x)');
    await db.run('INSERT INTO t VALUES (1)');
    const name = tenant('hrace-branch');
    const answers = await Promise.all([1, 2, 3].map(() => db.post('/branch', { name })));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409, 409], answers.map((a) => a.text).join('\n'));
    for (const a of answers.filter((a) => a.status === 409)) assert.equal(a.body.code, 'BRANCH_EXISTS', a.text);
    assert.deepEqual(await sql(name).query('SELECT count(*) AS n FROM t'), [{ n: 1 }]);
  });

  test('a reader of /changes across a restore gets the new events or a gap, never old numbers again', async () => {
    const db = sql(tenant('hnum'));
    await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    for (let i = 1; i <= 5; i++) await db.run('INSERT INTO t (v) VALUES (?)', [`old${i}`]);
    const point = (await history(db)).current;
    for (let i = 6; i <= 10; i++) await db.run('INSERT INTO t (v) VALUES (?)', [`old${i}`]);
    const changes = async (/** @type {number} */ since) => (await db.post('/changes', { since })).body;
    assert.equal((await changes(0)).next, 10);
    assert.equal((await db.post('/restore', { to: point.lsn })).status, 200);
    const restoredHead = (await changes(0)).head;
    assert.ok(restoredHead > 10, `the head after the restore, ${restoredHead}, is past every number issued`);
    for (let i = 1; i <= 3; i++) await db.run('INSERT INTO t (v) VALUES (?)', [`new${i}`]);
    // Saw old6..old10, which the restore took away: a gap, then it reloads.
    for (const since of [6, 10]) {
      const page = await changes(since);
      assert.deepEqual([page.gap, page.events.length, page.next], [true, 0, page.head], `since ${since}`);
    }
    // Saw up to old5 (still there), or reloaded at the restore: every new event, in order.
    for (const since of [5, restoredHead]) {
      const page = await changes(since);
      assert.equal(page.gap, false);
      assert.deepEqual(page.events.map((/** @type {any} */ e) => e.data.v), ['new1', 'new2', 'new3'], `since ${since}`);
      assert.ok(page.events.every((/** @type {any} */ e) => e.lsn > restoredHead));
    }
    // A restore of a restore keeps counting up.
    assert.equal((await db.post('/restore', { to: point.lsn })).status, 200);
    assert.ok((await changes(0)).head > restoredHead + 3);
  });

  test('a bookmark names its point in either case', async () => {
    const db = sql(tenant('hcase'));
    await db.run('CREATE TABLE n (v INTEGER)');
    let point = (await history(db)).current;
    // Commit until the bookmark holds a hex letter (at most 16 commits).
    while (!/[a-f]/.test(point.bookmark)) {
      await db.run('INSERT INTO n VALUES (?)', [point.lsn]);
      point = (await history(db)).current;
    }
    await db.run('INSERT INTO n VALUES (-1)');
    const count = async (/** @type {string} */ asOf) => (await db.post('/query', { sql: 'SELECT count(*) AS c FROM n', asOf })).body;
    const lower = await count(point.bookmark);
    assert.deepEqual(await count(point.bookmark.toUpperCase()), lower);
    // The point object itself, as GET /history and /restore answer it, names it too.
    assert.deepEqual(await count(/** @type {any} */ (point)), lower);
    assert.deepEqual(await count(/** @type {any} */ ({ lsn: point.lsn })), lower);
    assert.equal(lower.rows[0].c, (await db.query('SELECT count(*) AS c FROM n'))[0].c - 1);
    // So do /restore and /diff, which answer such objects.
    const restored = await db.post('/restore', { to: point });
    assert.equal(restored.status, 200, restored.text);
    assert.deepEqual(restored.body.restoredTo, point);
    assert.deepEqual((await db.post('/diff', { from: restored.body.before, to: restored.body.current })).status, 200);
  });

  test('points outside history, bad points and writes at a point are clear 4xx errors', async () => {
    const name = tenant('hbad');
    const db = sql(name);
    await db.run('CREATE TABLE t (x)');
    const { current } = await history(db);
    const cases = [
      [{ sql: 'SELECT 1', asOf: current.lsn + 5 }, 400, 'POINT_IN_FUTURE'],
      [{ sql: 'SELECT 1', asOf: 'not a time' }, 400, 'BAD_POINT'],
      [{ sql: 'SELECT 1', asOf: [1] }, 400, 'BAD_POINT'],
      // A bookmark cut short or lengthened is no lsn: read as one, it would name another point.
      [{ sql: 'SELECT 1', asOf: current.bookmark.slice(0, 15) }, 400, 'BAD_POINT'],
      [{ sql: 'SELECT 1', asOf: `0${current.bookmark}` }, 400, 'BAD_POINT'],
      [{ sql: 'SELECT 1', asOf: '1971-01-01' }, 410, 'POINT_TOO_OLD'],
      [{ sql: 'SELECT 1', asOf: '1969-12-31 23:59:59' }, 410, 'POINT_TOO_OLD'],
      [{ sql: 'SELECT 1', asOf: { time: -1 } }, 410, 'POINT_TOO_OLD'],
      [{ sql: 'INSERT INTO t VALUES (1)', asOf: current.lsn }, 400, 'SQLITE_READONLY'],
    ];
    for (const [body, status, code] of cases) {
      const a = await db.post('/query', body);
      assert.equal(a.status, status, `${JSON.stringify(body)}: ${a.text}`);
      assert.equal(a.body.code, code, a.text);
      assert.ok(a.body.error.length > 20, a.text);
    }
    // A time in ms given as a number is an lsn no commit reached: the answer says how to name a time.
    const ms = await db.post('/query', { sql: 'SELECT 1', asOf: Date.now() - 3_600_000 });
    assert.equal(ms.body.code, 'POINT_IN_FUTURE', ms.text);
    assert.match(ms.body.error, /name a time as \{"time": ms since the epoch\}/, ms.text);
    assert.doesNotMatch((await db.post('/query', cases[0][0])).body.error, /name a time/);
    // Digits of any length are named, not echoed whole (as an unknown transaction id is).
    const long = await db.post('/query', { sql: 'SELECT 1', asOf: '0'.repeat(100_000) });
    assert.equal(long.body.code, 'BAD_POINT', long.text.slice(0, 300));
    assert.ok(long.body.error.length < 400, long.text.slice(0, 300));
    // A point too old says how it was read: text that is no lsn is a time.
    for (const [asOf, read] of [['1970-01-02', /asOf \(the time 1970-01-02 00:00:00\.000 UTC\) is older than the oldest point history keeps, lsn 0 /], [{ time: 86_400_000 }, /\(the time 1970-01-02 00:00:00\.000 UTC\)/], [{ time: -1e300 }, /\(the time -1e\+300 ms since the epoch\)/]]) {
      const a = await db.post('/query', { sql: 'SELECT 1', asOf });
      assert.equal(a.body.code, 'POINT_TOO_OLD', a.text);
      assert.match(a.body.error, read);
    }
    // Text that reads as a number but is no lsn would be a Julian day before 4713 BC: no point at all.
    for (const asOf of ['1.5', ' 7', '7 ', '+2', '1e0']) {
      const a = await db.post('/query', { sql: 'SELECT 1', asOf });
      assert.equal(a.body.code, 'BAD_POINT', a.text);
      assert.match(a.body.error, /is a number written as text, but no lsn \(digits alone.*nor a time \(SQLite would read it as a Julian day before 1970/);
      const exported = await world.mf.dispatchFetch(`http://localhost/sql/${name}/export?asOf=${encodeURIComponent(asOf)}`);
      assert.deepEqual([exported.status, (await exported.json()).code], [400, 'BAD_POINT'], asOf);
    }
    const run = await db.post('/run', { sql: 'SELECT 1', asOf: current.lsn });
    assert.equal(run.body.code, 'BAD_REQUEST');
    // A transaction reads its own state: no asOf inside it.
    const { txId } = (await db.post('/begin', {})).body;
    const inTx = { headers: { 'Content-Type': 'application/json', 'X-DoSQL-Transaction': txId } };
    for (const [path, body] of [['/query', { sql: 'SELECT count(*) AS n FROM t', asOf: current.lsn }], ['/batch', { asOf: current.lsn, operations: [{ sql: 'SELECT 1' }] }]]) {
      const a = await db.post(path, body, inTx);
      assert.equal(a.status, 400, `${path}: ${a.text}`);
      assert.equal(a.body.code, 'BAD_REQUEST');
    }
    assert.equal((await db.post('/rollback', {}, inTx)).status, 200);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 0 }]);
  });

  test('a restore, branch, export, import, change log read or subscription, or libSQL pipeline sent inside a transaction (its header) is refused at once: the transaction goes on', async () => {
    const name = tenant('htxhost');
    const db = sql(name);
    await db.run('CREATE TABLE t (v)');
    const { current } = await history(db);
    // A short idle timeout: a request that waited for it would see it rolled back.
    const { txId } = (await db.post('/begin', { timeoutMs: 1000 })).body;
    const inTx = { headers: { 'Content-Type': 'application/json', 'X-DoSQL-Transaction': txId } };
    assert.equal((await db.post('/run', { sql: "INSERT INTO t VALUES ('kept')" }, inTx)).status, 200);
    const refused = (/** @type {{status: number, body: any, text: string}} */ a, /** @type {string} */ what) => {
      assert.equal(a.status, 400, `${what}: ${a.text}`);
      assert.equal(a.body.code, 'BAD_REQUEST', a.text);
      assert.match(a.body.error, /does not run inside a transaction/);
    };
    refused(await db.post('/restore', { to: current.lsn }, inTx), 'restore');
    refused(await db.post('/branch', { name: tenant('htxhost-b') }, inTx), 'branch');
    refused(await db.post('/import', new Uint8Array(8), { headers: { 'Content-Type': 'application/vnd.sqlite3', 'X-DoSQL-Transaction': txId } }), 'import');
    const file = await world.mf.dispatchFetch(`http://localhost/sql/${name}/export?asOf=${current.lsn}`, { headers: { 'X-DoSQL-Transaction': txId } });
    refused({ status: file.status, text: '', body: await file.json() }, 'export');
    // The change log, whose events inside it may yet be rolled back, and a libSQL
    // pipeline (its own transactions are its stream's), in Hrana's words.
    refused(await db.post('/changes', {}, inTx), 'changes');
    refused(await db.post('/subscribe', { tables: ['t'] }, inTx), 'subscribe');
    const stream = await world.mf.dispatchFetch(`http://localhost/sql/${name}/subscribe?tables=t`, { headers: { 'X-DoSQL-Transaction': txId } });
    refused({ status: stream.status, text: '', body: await stream.json() }, 'GET subscribe');
    const pipeline = await db.post('/v2/pipeline', { baton: null, requests: [] }, inTx);
    assert.equal(pipeline.status, 400, pipeline.text);
    assert.equal(pipeline.body.code, 'BAD_REQUEST');
    assert.match(pipeline.body.message, /does not run inside a transaction/);
    // Over Workers RPC too: the stub's request() with the transaction's id.
    for (const [path, body] of [['/restore', { to: current.lsn }], ['/branch', { name: tenant('htxhost-r') }]]) {
      const a = await rpc(name, { method: 'request', args: [path, body, txId] });
      refused({ status: a.status, text: a.text, body: JSON.parse(a.text) }, `rpc ${path}`);
    }
    assert.equal((await db.post('/commit', {}, inTx)).status, 200);
    assert.deepEqual(await db.query('SELECT v FROM t'), [{ v: 'kept' }]);
  });

  test('reads as of a point stay right across checkpoints (hundreds of commits back), by lsn and by time', async () => {
    const db = sql(tenant('hck'));
    await db.run('CREATE TABLE c (n INTEGER PRIMARY KEY, pad TEXT)');
    const first = (await history(db)).current.lsn;
    const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
    /** The time (ms) just after the commit that inserted row n, for some n. @type {Map<number, number>} */
    const after = new Map();
    const timed = new Set([10, 200, 256, 257, 420, 599]);
    for (let i = 1; i <= 600; i++) {
      await db.run("INSERT INTO c (n, pad) VALUES (?, printf('%.500c', 'x'))", [i]);
      if (timed.has(i)) {
        await sleep(3);
        after.set(i, Date.now());
        await sleep(3);
      }
    }
    for (const back of [600, 450, 300, 257, 256, 1]) {
      const a = await db.post('/query', { sql: 'SELECT count(*) AS n, max(n) AS top FROM c', asOf: first + 600 - back });
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(a.body.rows, [{ n: 600 - back, top: 600 - back || null }], `${back} commits back`);
    }
    // A time names the newest commit at or before it, in a checkpointed span or the newest.
    for (const [n, time] of after) {
      const a = await db.post('/query', { sql: 'SELECT count(*) AS n FROM c', asOf: { time } });
      assert.deepEqual(a.body.rows, [{ n }], `just after row ${n}: ${a.text}`);
      const iso = await db.post('/query', { sql: 'SELECT count(*) AS n FROM c', asOf: new Date(time).toISOString() });
      assert.deepEqual(iso.body.rows, [{ n }], `the same time as ISO 8601: ${iso.text}`);
    }
  });

  test('restore undoes a bad migration in one commit, which a second restore undoes; it survives a restart', async () => {
    const name = tenant('hr');
    const db = sql(name);
    await db.run('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)');
    await db.run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500) INSERT INTO users (email) SELECT printf('u%d@example.com', x) FROM c");
    const good = (await history(db)).current;
    // The bad migration: a column dropped, rows lost.
    await db.run('ALTER TABLE users DROP COLUMN email');
    await db.run('DELETE FROM users WHERE id > 10');
    const bad = (await history(db)).current;

    const restored = await db.post('/restore', { to: good.bookmark });
    assert.equal(restored.status, 200, restored.text);
    assert.deepEqual(restored.body.restoredTo, good);
    assert.deepEqual(restored.body.before, bad);
    assert.equal(restored.body.current.lsn, bad.lsn + 1, 'one new commit');
    assert.ok(restored.body.pagesWritten > 0);
    assert.deepEqual(await db.query('SELECT count(*) AS n, max(email) AS m FROM users'), [{ n: 500, m: 'u9@example.com' }]);
    assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);

    // Undo the restore: back to the bad state, then forward again.
    const undone = await db.post('/restore', { to: restored.body.before.lsn });
    assert.equal(undone.status, 200, undone.text);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM users'), [{ n: 10 }]);
    assert.equal((await db.post('/query', { sql: 'SELECT email FROM users' })).status, 400);
    assert.equal((await db.post('/restore', { to: good.lsn })).status, 200);
    await db.run("INSERT INTO users (email) VALUES ('after@example.com')");

    await world.restart({ migrations: [] });
    const again = sql(name);
    assert.deepEqual(await again.query('SELECT count(*) AS n FROM users'), [{ n: 501 }]);
    assert.deepEqual(await again.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    // History survives the restart: the bad state is still readable.
    const past = await again.post('/query', { sql: 'SELECT count(*) AS n FROM users', asOf: bad.lsn });
    assert.deepEqual(past.body.rows, [{ n: 10 }]);
  });

  test('restore ends change streams with DATABASE_RESTORED', async () => {
    const name = tenant('hs');
    const db = sql(name);
    await db.run('CREATE TABLE t (x)');
    const { current } = await history(db);
    await db.run('INSERT INTO t VALUES (1)');
    const stream = await world.mf.dispatchFetch(`http://localhost/sql/${name}/subscribe`, { method: 'POST', body: '{}' });
    assert.equal(stream.status, 200);
    const reader = /** @type {ReadableStream<Uint8Array>} */ (stream.body).getReader();
    assert.equal((await db.post('/restore', { to: current.lsn })).status, 200);
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    assert.match(text, /DATABASE_RESTORED/);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 0 }]);
  });

  test('a restore waiting behind a transaction: the live stream is sent the transaction\'s events before its end', async () => {
    const name = tenant('hs-last');
    const db = sql(name);
    await db.run('CREATE TABLE t (x)');
    const { current } = await history(db);
    const stream = await world.mf.dispatchFetch(`http://localhost/sql/${name}/subscribe`, { method: 'POST', body: '{}' });
    const reader = /** @type {ReadableStream<Uint8Array>} */ (stream.body).getReader();
    const lines = async function* () {
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
          yield JSON.parse(text.slice(0, nl));
          text = text.slice(nl + 1);
        }
      }
    }();
    assert.equal((await lines.next()).value.type, 'ready');
    const { txId } = (await db.post('/begin', {})).body;
    const inTx = { headers: { 'Content-Type': 'application/json', 'X-DoSQL-Transaction': txId } };
    assert.equal((await db.post('/run', { sql: 'INSERT INTO t VALUES (1)' }, inTx)).status, 200);
    // More events than one page of the log (1,000), and more bytes than a stream holds unread (1 MiB).
    assert.equal((await db.post('/run', { sql: "WITH RECURSIVE c(x) AS (SELECT 2 UNION ALL SELECT x + 1 FROM c WHERE x < 2500) INSERT INTO t SELECT x || printf('%.*c', 1200, '.') FROM c" }, inTx)).status, 200);
    // The restore waits for the transaction; the commit lets it in before the stream reads the log.
    const restored = db.post('/restore', { to: current.lsn });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await db.post('/commit', {}, inTx)).status, 200);
    assert.equal((await restored).status, 200);
    const got = [];
    for await (const m of lines) got.push(m.type === 'end' ? m.code : `${m.type} ${JSON.stringify(m.data)}`);
    assert.deepEqual(got.map((m) => m.replace(/\.+"/, '"')), [...Array.from({ length: 2500 }, (_, i) => (i === 0 ? 'insert {"x":1}' : `insert {"x":"${i + 1}"}`)), 'DATABASE_RESTORED']);
  });

  test('over RPC: query/batch take {asOf}, history() and restore(), and createClient(stub).asOf(point)', async () => {
    const name = tenant('hrpc');
    await rpc(name, { method: 'run', args: ['CREATE TABLE k (v)'] });
    await rpc(name, { method: 'run', args: ["INSERT INTO k VALUES ('then')"] });
    const { current } = await rpc(name, { method: 'history', args: [] });
    await rpc(name, { method: 'run', args: ["UPDATE k SET v = 'now'"] });
    assert.deepEqual(await rpc(name, { method: 'query', args: ['SELECT v FROM k', [], { asOf: current.lsn }] }), [{ v: 'then' }]);
    assert.deepEqual(await rpc(name, { method: 'query', args: ['SELECT v FROM k'] }), [{ v: 'now' }]);
    assert.deepEqual(await rpc(name, { method: 'asOf', args: [current.bookmark], client: true, then: { method: 'queryOne', args: ['SELECT v FROM k'] } }), { v: 'then' });
    await assert.rejects(rpc(name, { method: 'query', args: ['SELECT 1', [], { asOf: current.lsn + 100 }] }), (/** @type {any} */ err) => /POINT_IN_FUTURE/.test(err.message));
    // run and exec cannot take a point, as over HTTP: refused, and the present untouched.
    for (const call of [{ method: 'run', args: ['DELETE FROM k', [], { asOf: current.lsn }] }, { method: 'exec', args: ['DELETE FROM k', { asOf: current.lsn }] }]) {
      await assert.rejects(rpc(name, call), (/** @type {any} */ err) => /BAD_REQUEST/.test(err.message) && /asOf/.test(err.message));
    }
    assert.deepEqual(await rpc(name, { method: 'query', args: ['SELECT v FROM k'] }), [{ v: 'now' }]);
    // Options of null are none, on the stub and through the client.
    for (const client of [false, true]) {
      const diff = await rpc(name, { method: 'diff', args: [current.lsn, null], client });
      assert.deepEqual(diff.changes.map((/** @type {any} */ c) => c.type), ['update']);
    }
    // A misspelt option is refused, not dropped: {asof} read the present, {tabels} every table.
    const misspelt = /** @type {const} */ ([
      [{ method: 'query', args: ['SELECT v FROM k', [], { asof: current.lsn }] }, /query\(\) takes \{transaction\?, asOf\?\}; "asof" is not one of them/],
      [{ method: 'batch', args: [['SELECT v FROM k'], { AsOf: current.lsn }] }, /batch\(\) takes .*"AsOf" is not one of them/],
      [{ method: 'diff', args: [current.lsn, { tabels: ['nothing'] }] }, /diff\(\) takes \{to\?, tables\?, limit\?\}; "tabels" is not one of them/],
      [{ method: 'diff', args: [current.lsn, { tabels: ['nothing'] }], client: true }, /diff\(\) takes .*"tabels"/],
      [{ method: 'diff', args: [current.lsn, 'k'] }, /diff\(\)'s options must be an object/],
    ]);
    for (const [call, message] of misspelt) {
      // The stub's error carries its code in the message (Workers RPC keeps only that); the client's is a DoSQLError.
      await assert.rejects(rpc(name, call), (/** @type {any} */ err) => (/\[BAD_REQUEST 400\]/.test(err.message) || err.code === 'BAD_REQUEST') && message.test(err.message), JSON.stringify(call));
    }
    const restored = await rpc(name, { method: 'restore', args: [current.lsn], client: true });
    assert.deepEqual(restored.restoredTo, current);
    assert.deepEqual(await rpc(name, { method: 'query', args: ['SELECT v FROM k'] }), [{ v: 'then' }]);
  });

  test('diff lists the row changes between two points, for tables without change capture too', async () => {
    const name = tenant('hd');
    const db = sql(name);
    await db.run('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT, price REAL)');
    await db.run("INSERT INTO items (label, price) VALUES ('pen', 1.5), ('ink', 4), ('pad', 2)");
    const from = (await history(db)).current;
    await db.run("UPDATE items SET price = 5 WHERE label = 'ink'");
    await db.run("DELETE FROM items WHERE label = 'pen'");
    await db.run("INSERT INTO items (label, price) VALUES ('clip', 0.25)");
    await db.run('ALTER TABLE items ADD COLUMN stock INTEGER');
    const diff = await db.post('/diff', { from: from.bookmark });
    assert.equal(diff.status, 200, diff.text);
    assert.deepEqual(diff.body.from, from);
    assert.deepEqual(diff.body.changes, [
      { table: 'items', type: 'delete', data: { id: 1, label: 'pen', price: 1.5 } },
      { table: 'items', type: 'update', data: { id: 2, label: 'ink', price: 5, stock: null }, old: { id: 2, label: 'ink', price: 4 } },
      { table: 'items', type: 'insert', data: { id: 4, label: 'clip', price: 0.25, stock: null } },
    ]);
    assert.equal(diff.body.schema.length, 1);
    assert.match(diff.body.schema[0].after, /stock INTEGER/);
    // Over RPC, rows decoded; backwards between two past points.
    const back = await rpc(name, { method: 'diff', args: [diff.body.to.lsn, { to: from.lsn, tables: ['items'] }] });
    assert.deepEqual(back.changes.map((/** @type {any} */ c) => c.type), ['delete', 'update', 'insert']);
    const bad = await db.post('/diff', { from: from.lsn, tables: 'items' });
    assert.equal(bad.body.code, 'BAD_REQUEST');
    // A name that is no table of either point is refused, not answered as "no change";
    // one that only one point has is a table, dropped or created.
    await db.run('DROP TABLE items');
    for (const tables of [['itemz'], ['ITEMS', 'nope'], ['_dosql_changes'], ['sqlite_schema']]) {
      const a = await db.post('/diff', { from: from.lsn, tables });
      assert.equal(a.status, 400, `${tables}: ${a.text}`);
      assert.equal(a.body.code, 'BAD_REQUEST');
      assert.match(a.body.error, new RegExp(`"${tables.at(-1)}", which is no table of yours at lsn ${from.lsn} nor at lsn`));
    }
    const dropped = await db.post('/diff', { from: from.lsn, tables: ['ITEMS'] });
    assert.equal(dropped.status, 200, dropped.text);
    assert.deepEqual(dropped.body.changes.map((/** @type {any} */ c) => c.type), ['delete', 'delete', 'delete']);
  });

  test('a WITHOUT ROWID key that compares otherwise at the two points (collation, affinity) is another key: every row goes and comes', async () => {
    const db = sql(tenant('hdkey'));
    await db.run('CREATE TABLE t (k TEXT PRIMARY KEY, v) WITHOUT ROWID');
    await db.run("INSERT INTO t VALUES ('a', 1), ('A', 2)");
    await db.run('CREATE TABLE n (k TEXT PRIMARY KEY, v) WITHOUT ROWID');
    await db.run("INSERT INTO n VALUES ('1', 'one'), ('01', 'one again')");
    const from = (await history(db)).current.lsn;
    // NOCASE, and INTEGER: the two rows of each would pair with its one row left.
    await db.post('/exec', { sql: "CREATE TABLE t2 (k TEXT PRIMARY KEY COLLATE NOCASE, v) WITHOUT ROWID; INSERT INTO t2 VALUES ('a', 1); DROP TABLE t; ALTER TABLE t2 RENAME TO t;" });
    await db.post('/exec', { sql: "CREATE TABLE n2 (k INTEGER PRIMARY KEY, v) WITHOUT ROWID; INSERT INTO n2 VALUES (1, 'one'); DROP TABLE n; ALTER TABLE n2 RENAME TO n;" });
    const to = (await history(db)).current.lsn;
    const kinds = async (/** @type {number} */ a, /** @type {number} */ b) => {
      const d = await db.post('/diff', { from: a, to: b });
      assert.equal(d.status, 200, d.text);
      return d.body.changes.map((/** @type {any} */ c) => `${c.table} ${c.type} ${JSON.stringify(c.data.k)}`).sort();
    };
    assert.deepEqual(await kinds(from, to), ['n delete "01"', 'n delete "1"', 'n insert 1', 't delete "A"', 't delete "a"', 't insert "a"']);
    assert.deepEqual(await kinds(to, from), ['n delete 1', 'n insert "01"', 'n insert "1"', 't delete "a"', 't insert "A"', 't insert "a"']);
  });

  test('a diff past the answer\'s size or the CPU budget fails with the way to narrow it, and the object goes on', async () => {
    const db = sql(tenant('hdbig'));
    await db.run('CREATE TABLE fat (id INTEGER PRIMARY KEY, v TEXT)');
    // Columns named as all three rowids: rows pair by content, which takes time squared.
    await db.run('CREATE TABLE bare (rowid, _rowid_, oid)');
    await db.run('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40000) INSERT INTO bare SELECT x, x, x FROM c');
    const { current } = await history(db);
    await db.run('UPDATE bare SET oid = 0 WHERE rowid = 39999');
    // 36 MB of inserted rows: more than an answer holds.
    for (let i = 0; i < 9; i++) await db.run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) INSERT INTO fat (v) SELECT printf('%.*c', 40000, 'x') FROM c");
    const cases = [[['fat'], 'RESULT_TOO_LARGE'], [['bare'], 'CPU_LIMIT']];
    for (const [tables, code] of cases) {
      const a = await db.post('/diff', { from: current.lsn, tables, limit: 100_000 });
      assert.equal(a.status, 400, a.text.slice(0, 300));
      assert.equal(a.body.code, code, a.text.slice(0, 300));
      // The advice is the diff's own, not a query's (an index, LIMIT and OFFSET).
      assert.match(a.body.error, /name fewer "tables", or compare closer points/);
      assert.doesNotMatch(a.body.error, /OFFSET|an index/);
    }
    await db.run("INSERT INTO fat (v) VALUES ('after')");
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM fat'), [{ n: 901 }]);
  });

  test('a branch is a new database holding this one as of a point; GET /export?asOf= is the file of that point', async () => {
    const name = tenant('hb');
    const db = sql(name);
    await db.run('CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT)');
    await db.run("INSERT INTO posts (title) VALUES ('hello'), ('world')");
    const point = (await history(db)).current;
    await db.run("UPDATE posts SET title = 'changed'");
    const file = await world.mf.dispatchFetch(`http://localhost/sql/${name}/export?asOf=${point.lsn}`);
    assert.equal(file.status, 200);
    assert.match(file.headers.get('content-disposition') ?? '', new RegExp(`-${point.lsn}\\.sqlite`));
    // A point object (history()'s, or {time}) as its JSON, URL-encoded: the same point.
    for (const asOf of [point, { time: Date.now() + 60_000 }]) {
      const same = await world.mf.dispatchFetch(`http://localhost/sql/${name}/export?asOf=${encodeURIComponent(JSON.stringify(asOf))}`);
      assert.equal(same.status, 200, await same.clone().text());
      assert.match(same.headers.get('content-disposition') ?? '', asOf === point ? new RegExp(`-${point.lsn}\\.sqlite`) : new RegExp(`-${point.lsn + 1}\\.sqlite`));
      await same.arrayBuffer();
    }
    assert.equal(new TextDecoder().decode(new Uint8Array(await file.arrayBuffer()).subarray(0, 15)), 'SQLite format 3');

    const preview = tenant('hb-preview');
    const branched = await db.post('/branch', { name: preview, from: point.bookmark });
    assert.equal(branched.status, 200, branched.text);
    assert.deepEqual(branched.body.from, point);
    const copy = sql(preview);
    assert.deepEqual(await copy.query('SELECT title FROM posts ORDER BY id'), [{ title: 'hello' }, { title: 'world' }]);
    // Independent: each goes its own way.
    await copy.run("INSERT INTO posts (title) VALUES ('only on the branch')");
    assert.deepEqual(await db.query('SELECT count(*) AS n, min(title) AS t FROM posts'), [{ n: 2, t: 'changed' }]);
    assert.deepEqual(await copy.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    // The present by default, over RPC too; never over a database that holds rows.
    const now = await rpc(name, { method: 'branch', args: [tenant('hb-now')] });
    assert.ok(now.from.lsn > point.lsn);
    const again = await db.post('/branch', { name: preview });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.code, 'BRANCH_EXISTS');
    for (const name of ['no spaces allowed', '.', '..']) assert.equal((await db.post('/branch', { name })).body.code, 'BAD_TENANT', name);
    assert.equal((await db.post('/branch', { name })).body.code, 'BRANCH_EXISTS');
    assert.equal((await db.post('/branch', {})).body.code, 'BAD_REQUEST');
    // Nor over one whose rows were deleted: its history could still restore them.
    const emptiedName = tenant('hb-emptied');
    const emptied = sql(emptiedName);
    await emptied.run('CREATE TABLE kept (v)');
    await emptied.run('INSERT INTO kept VALUES (1)');
    await emptied.run('DELETE FROM kept');
    const refused = await db.post('/branch', { name: emptiedName });
    assert.equal(refused.body.code, 'BRANCH_EXISTS', refused.text);
    assert.deepEqual(await emptied.query("SELECT name FROM sqlite_schema WHERE name = 'kept'"), [{ name: 'kept' }]);
    // Asked while another client's transaction is open, a branch waits for it to end;
    // its point is the present when it was asked, before that transaction's rows.
    const { txId } = (await db.post('/begin', {})).body;
    const inTx = { headers: { 'content-type': 'application/json', 'X-DoSQL-Transaction': txId } };
    await db.post('/run', { sql: "INSERT INTO posts (title) VALUES ('in the transaction')" }, inTx);
    const during = db.post('/branch', { name: tenant('hb-during') });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await db.post('/commit', {}, inTx)).status, 200);
    const waited = await during;
    assert.equal(waited.status, 200, waited.text);
    assert.deepEqual(await sql(waited.body.name).query('SELECT count(*) AS n FROM posts'), [{ n: 2 }]);
  });

  test('a branch does not replace a database written after it was found new: that write stays, and the branch is BRANCH_EXISTS', async () => {
    const name = tenant('hbrace');
    const db = sql(name);
    await db.run('CREATE TABLE t (v)');
    await db.run("INSERT INTO t VALUES ('parent')");
    const target = tenant('hbrace-to');
    // The branch finds the target new, then waits for this transaction on the parent.
    const { txId } = (await db.post('/begin', {})).body;
    const inTx = { headers: { 'content-type': 'application/json', 'X-DoSQL-Transaction': txId } };
    const branching = db.post('/branch', { name: target });
    await new Promise((r) => setTimeout(r, 300));
    const other = sql(target);
    await other.run('CREATE TABLE mine (v)');
    await other.run("INSERT INTO mine VALUES ('acknowledged')");
    assert.equal((await db.post('/commit', {}, inTx)).status, 200);
    const answer = await branching;
    assert.equal(answer.status, 409, answer.text);
    assert.equal(answer.body.code, 'BRANCH_EXISTS');
    assert.deepEqual(await other.query('SELECT v FROM mine'), [{ v: 'acknowledged' }]);
    assert.equal((await other.post('/query', { sql: 'SELECT * FROM t' })).status, 400);
  });

  test('a branch into a database with a transaction open waits for it: made once it rolls back, BRANCH_EXISTS once it commits a write', async () => {
    const db = sql(tenant('hbwait'));
    await db.run('CREATE TABLE t (v)');
    await db.run("INSERT INTO t VALUES ('parent')");
    for (const end of ['/rollback', '/commit']) {
      const name = tenant('hbwait-to');
      const target = sql(name);
      const { txId } = (await target.post('/begin', {})).body;
      const inTx = { headers: { 'content-type': 'application/json', 'X-DoSQL-Transaction': txId } };
      assert.equal((await target.post('/run', { sql: 'CREATE TABLE mine (v)' }, inTx)).status, 200);
      const branching = db.post('/branch', { name });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await target.post(end, {}, inTx)).status, 200);
      const answer = await branching;
      if (end === '/rollback') {
        assert.equal(answer.status, 200, answer.text);
        assert.deepEqual(await target.query('SELECT v FROM t'), [{ v: 'parent' }]);
      } else {
        assert.equal(answer.body?.code, 'BRANCH_EXISTS', answer.text);
        assert.deepEqual(await target.query('SELECT count(*) AS n FROM mine'), [{ n: 0 }]);
      }
    }
  });

  test('a branch of the present that an import overtakes answers POINT_TOO_OLD in its own words, and a retry branches the new present', async () => {
    const name = tenant('hbimp');
    const db = sql(name);
    await db.run('CREATE TABLE t (v)');
    await db.run("INSERT INTO t VALUES ('file')");
    const file = await exportOf(name);
    await db.run("INSERT INTO t VALUES ('replaced')");
    // The import waits for this transaction to swap; the branch, asked after it, waits behind it.
    const { txId } = (await db.post('/begin', {})).body;
    const inTx = { headers: { 'content-type': 'application/json', 'X-DoSQL-Transaction': txId } };
    const importing = db.post('/import', file, { headers: { 'content-type': 'application/vnd.sqlite3' } });
    await new Promise((r) => setTimeout(r, 300));
    const branching = db.post('/branch', { name: tenant('hbimp-b') });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await db.post('/rollback', {}, inTx)).status, 200);
    assert.equal((await importing).status, 200);
    const overtaken = await branching;
    assert.equal(overtaken.status, 410, overtaken.text);
    assert.equal(overtaken.body.code, 'POINT_TOO_OLD');
    // Not a read's "asOf", which the caller never sent: the branch's point, and why it went.
    assert.match(overtaken.body.error, /^the branch's point, lsn \d+ .*an import replaced the database/);
    const again = await db.post('/branch', { name: tenant('hbimp-c') });
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(await sql(again.body.name).query('SELECT v FROM t'), [{ v: 'file' }]);
  });

  test('a database written after a restore or an import (its change numbers go on past a gap) branches, and its export imports', async () => {
    const importFile = (/** @type {any} */ db, /** @type {Uint8Array} */ bytes) => db.post('/import', bytes, { headers: { 'content-type': 'application/vnd.sqlite3' } });
    const seeded = async (/** @type {string} */ name) => {
      const db = sql(name);
      await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
      for (let i = 0; i < 5; i++) await db.run('INSERT INTO t (v) VALUES (?)', [i]);
      return db;
    };
    const restored = tenant('gap-restore');
    const imported = tenant('gap-import');
    const a = await seeded(restored);
    assert.equal((await a.post('/restore', { to: 3 })).status, 200);
    const b = await seeded(imported);
    assert.equal((await importFile(b, await exportOf(restored))).status, 200);
    for (const [name, db] of /** @type {[string, any][]} */ ([[restored, a], [imported, b]])) {
      await db.run('INSERT INTO t (v) VALUES (99)');
      const lsns = (await db.query('SELECT lsn FROM _dosql_changes ORDER BY lsn')).map((/** @type {any} */ r) => r.lsn);
      // Numbers skipped: after the restore, before the newest event; after the import,
      // before the file's own events, numbered past the replaced database's.
      assert.ok(lsns.some((/** @type {number} */ l, /** @type {number} */ i) => l > (i === 0 ? 1 : lsns[i - 1] + 1)), `numbers skipped: ${lsns}`);
      const branch = await db.post('/branch', { name: tenant('gap-branch') });
      assert.equal(branch.status, 200, branch.text);
      const copy = sql(tenant('gap-copy'));
      const again = await importFile(copy, await exportOf(name));
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(await copy.query('SELECT v FROM t ORDER BY id'), await db.query('SELECT v FROM t ORDER BY id'));
    }
  });

  test('the class option history sets how much is kept: {maxBytes: 0} keeps nothing past the newest checkpoint; a bad one is refused', async () => {
    const lean = createWorld('history-lean');
    try {
      await lean.start({ migrations: [], classOptions: { history: { maxBytes: 0 } } });
      const db = lean.client('sql', tenant('hl'));
      await db.run('CREATE TABLE t (x)');
      for (let i = 0; i < CHECKPOINT_ROWS + 44; i++) await db.run('INSERT INTO t VALUES (?)', [i]);
      const { oldest, current } = (await db.post('/history', {})).body;
      assert.ok(oldest.lsn > CHECKPOINT_ROWS - 50 && current.lsn - oldest.lsn < 60, `history ${oldest.lsn}..${current.lsn}`);
      assert.equal((await db.post('/query', { sql: 'SELECT 1', asOf: 5 })).body.code, 'POINT_TOO_OLD');
      // Right at a checkpoint it keeps no commit's time: no time names a point (the present
      // may be older than it), while the lsn still does.
      const at = lean.client('sql', tenant('hl-at'));
      await at.run('CREATE TABLE t (x)');
      let h = (await at.post('/history', {})).body;
      while (h.oldest.lsn !== h.current.lsn) {
        await at.run('INSERT INTO t VALUES (1)');
        h = (await at.post('/history', {})).body;
      }
      assert.equal(h.oldestTime, null);
      for (const asOf of ['2000-01-01', { time: Date.now() }]) {
        assert.equal((await at.post('/query', { sql: 'SELECT count(*) AS n FROM t', asOf })).body.code, 'POINT_TOO_OLD', JSON.stringify(asOf));
      }
      assert.equal((await at.post('/query', { sql: 'SELECT count(*) AS n FROM t', asOf: h.current.lsn })).status, 200);
      // The present is a point all the same: a diff up to it, a branch of it.
      const diff = await at.post('/diff', { from: h.current.lsn });
      assert.deepEqual([diff.status, diff.body.to?.lsn], [200, h.current.lsn], diff.text);
      const branch = await at.post('/branch', { name: tenant('hl-branch') });
      assert.deepEqual([branch.status, branch.body.from?.lsn], [200, h.current.lsn], branch.text);
    } finally {
      await lean.destroy();
    }
    assert.deepEqual(checkHistory({ windowMs: 1000 }), { historyMs: 1000, historyBytes: HISTORY_MAX_BYTES });
    for (const bad of [{ windowMs: -1 }, { maxBytes: 1.5 }, { days: 3 }, 'week']) assert.throws(() => checkHistory(bad), TypeError, JSON.stringify(bad));
  });

  test('history keeps its window and its bytes between checkpoints: a point past the window is POINT_TOO_OLD at once, and the span past either is pruned at the next commit', async () => {
    const short = createWorld('history-short');
    try {
      await short.start({ migrations: [], classOptions: { history: { windowMs: 1500, maxBytes: 3_000_000 } } });
      const db = short.client('sql', tenant('hs'));
      await db.run('CREATE TABLE secrets (x)');
      await db.run("INSERT INTO secrets VALUES ('ssn 123-45-6789')");
      const { current: withRow } = (await db.post('/history', {})).body;
      const rowTime = Date.now();
      await db.run('DELETE FROM secrets');
      const read = (/** @type {unknown} */ asOf) => db.post('/query', { sql: 'SELECT x FROM secrets', asOf });
      assert.deepEqual((await read(withRow.lsn)).body.rows, [{ x: 'ssn 123-45-6789' }], 'within the window');
      await new Promise((resolve) => setTimeout(resolve, 1800));
      // Far fewer commits than a checkpoint takes: the window alone puts the point past.
      for (const asOf of [withRow.lsn, withRow.bookmark, { time: rowTime }]) {
        const r = await read(asOf);
        assert.deepEqual([r.status, r.body.code], [410, 'POINT_TOO_OLD'], `${JSON.stringify(asOf)}: ${r.text}`);
      }
      const before = (await db.post('/history', {})).body;
      assert.equal(before.oldest.lsn, before.current.lsn, 'only the present is in the window');
      // The next commit prunes the versions the window left behind.
      await db.run('CREATE TABLE other (y)');
      const after = (await db.post('/history', {})).body;
      assert.ok(after.bytes < before.bytes, `history bytes ${before.bytes} -> ${after.bytes}`);
      // Bytes: a 1 MB row written again and again, within one window and far fewer commits
      // than a checkpoint takes, keeps about maxBytes of history, not one version a commit.
      await db.run('CREATE TABLE big (b)');
      await db.run('INSERT INTO big VALUES (randomblob(1000000))');
      for (let i = 0; i < 12; i++) await db.run('UPDATE big SET b = randomblob(1000000)');
      const { bytes } = (await db.post('/history', {})).body;
      assert.ok(bytes <= 3_000_000 + 1_100_000, `history holds ${bytes} bytes`);
    } finally {
      await short.destroy();
    }
    // A window of 0 names only the present.
    const none = createWorld('history-none');
    try {
      await none.start({ migrations: [], classOptions: { history: { windowMs: 0 } } });
      const db = none.client('sql', tenant('hn'));
      await db.run('CREATE TABLE t (x)');
      await db.run('INSERT INTO t VALUES (1)');
      await db.run('DELETE FROM t');
      const { current } = (await db.post('/history', {})).body;
      const r = await db.post('/query', { sql: 'SELECT count(*) AS n FROM t', asOf: current.lsn - 1 });
      assert.deepEqual([r.status, r.body.code], [410, 'POINT_TOO_OLD'], r.text);
      assert.equal((await db.post('/query', { sql: 'SELECT 1', asOf: current.lsn })).status, 200);
    } finally {
      await none.destroy();
    }
  });

  test('a key-value object says it keeps no history (501 HISTORY_UNSUPPORTED)', async () => {
    const db = world.client('kv', tenant('hkv'));
    await db.run('CREATE TABLE t (x)');
    for (const [path, body] of [
      ['/query', { sql: 'SELECT 1', asOf: 1 }],
      ['/history', {}],
      ['/restore', { to: 1 }],
      ['/diff', { from: 1 }],
      ['/branch', { name: 'elsewhere' }],
      // A point that names nothing: still 501, not 400 BAD_POINT.
      ['/query', { sql: 'SELECT 1', asOf: 'garbage' }],
      ['/restore', { to: 'bad point' }],
      // Nor for a body the endpoint would refuse: there is no history to ask of.
      ['/diff', { from: 'x', limit: -1 }],
      ['/branch', { name: 7 }],
    ]) {
      const a = await db.post(path, body);
      assert.equal(a.status, 501, `${path}: ${a.text}`);
      assert.equal(a.body.code, 'HISTORY_UNSUPPORTED');
      assert.match(a.body.error, /SQLite-backed/);
    }
  });
});

describe('restore and the deployment\'s migrations', () => {
  /** @type {ReturnType<typeof createWorld>} */
  let deployed;
  const USERS = { name: '0001_users.sql', sql: 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);' };
  const BAD = { name: '0002_bad.sql', sql: 'DELETE FROM users;' };
  after(() => deployed?.destroy());

  test('a restore to before a migration this deployment ships is refused, saying which; without it, it restores', async () => {
    deployed = createWorld('history-migrations');
    await deployed.start({ migrations: [USERS] });
    const db = deployed.client('sql', tenant('hmig'));
    await db.run("INSERT INTO users (email) VALUES ('a@x'), ('b@x')");
    const before = (await history(db)).current;
    await deployed.restart({ migrations: [USERS, BAD] });
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM users'), [{ n: 0 }]);
    // Restored, the database would start by running 0002 again at once.
    const refused = await db.post('/restore', { to: before.lsn });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.body.code, 'RESTORE_WOULD_MIGRATE');
    assert.match(refused.body.error, /0002_bad\.sql/);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM users'), [{ n: 0 }], 'nothing was restored');
    // Deployed without it, the same restore puts the rows back, and they stay.
    await deployed.restart({ migrations: [USERS] });
    assert.equal((await db.post('/restore', { to: before.lsn })).status, 200);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM users'), [{ n: 2 }]);
  });

  test('a restore to a point that applied a migration of another text than the deployed one is refused, and the database stays usable', async () => {
    deployed ??= createWorld('history-migrations');
    const B = { name: '0002_b.sql', sql: 'CREATE TABLE b (id INTEGER PRIMARY KEY);' };
    const FIXED = { name: '0002_b.sql', sql: 'CREATE TABLE b (id INTEGER PRIMARY KEY, note TEXT);' };
    await deployed.restart({ migrations: [USERS] });
    const db = deployed.client('sql', tenant('hchanged'));
    await db.run("INSERT INTO users (email) VALUES ('a@x')");
    const first = (await history(db)).current;
    await deployed.restart({ migrations: [USERS, B] });
    await db.run('INSERT INTO b (id) VALUES (1)');
    // Undo 0002 as history.md says: deploy without it, restore; then ship it fixed, under its name.
    await deployed.restart({ migrations: [USERS] });
    const undone = await db.post('/restore', { to: first.lsn });
    assert.equal(undone.status, 200, undone.text);
    await deployed.restart({ migrations: [USERS, FIXED] });
    await db.run("INSERT INTO b (id, note) VALUES (2, 'fixed')");
    // The point before the first restore applied 0002 as it was: restored, the database would not start.
    const refused = await db.post('/restore', { to: undone.body.before.lsn });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.body.code, 'RESTORE_WOULD_MIGRATE');
    assert.match(refused.body.error, /0002_b\.sql with another text/);
    assert.deepEqual(await db.query('SELECT id, note FROM b'), [{ id: 2, note: 'fixed' }], 'nothing was restored; the database answers');
    assert.equal((await db.post('/restore', { to: first.lsn })).status, 409, 'a point before 0002: it would run again');
    // A branch of that point would not start either; a branch of one before 0002 runs the fixed one.
    const branched = await db.post('/branch', { name: tenant('hchanged-branch'), from: undone.body.before.lsn });
    assert.deepEqual([branched.status, branched.body.code], [409, 'BRANCH_MIGRATION_CHANGED'], branched.text);
    assert.match(branched.body.error, /0002_b\.sql with another text than this deployment ships: a branch of it would not start/);
    const early = tenant('hchanged-early');
    assert.equal((await db.post('/branch', { name: early, from: first.lsn })).status, 200);
    assert.deepEqual(await deployed.client('sql', early).query('SELECT count(*) AS n FROM b'), [{ n: 0 }]);
  });

  test('a class whose migrations seed rows branches: a new database is what its migrations make, no more', async () => {
    // Seeded with a time, which differs from one run of the migrations to the next.
    const SEED = { name: '0002_plans.sql', sql: "CREATE TABLE plans (name TEXT, at DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))); INSERT INTO plans(name) VALUES ('free'), ('pro');" };
    deployed ??= createWorld('history-migrations');
    await deployed.restart({ migrations: [USERS, SEED] });
    const from = deployed.client('sql', tenant('hseed'));
    await from.run("INSERT INTO users (email) VALUES ('a@x')");
    const name = tenant('hseed-branch');
    const made = await from.post('/branch', { name });
    assert.equal(made.status, 200, made.text);
    assert.deepEqual(await deployed.client('sql', name).query('SELECT count(*) AS n FROM users'), [{ n: 1 }]);
    // A database that changed a seeded row holds more than its migrations make.
    const changed = tenant('hseed-changed');
    await deployed.client('sql', changed).run("UPDATE plans SET name = 'team' WHERE name = 'pro'");
    const refused = await from.post('/branch', { name: changed });
    assert.equal(refused.body.code, 'BRANCH_EXISTS', refused.text);
    assert.deepEqual(await deployed.client('sql', changed).query('SELECT name FROM plans ORDER BY name'), [{ name: 'free' }, { name: 'team' }]);
  });
});
