// import.test.js — POST /import: a SQLite file (an export, or one the real
// sqlite3 CLI made) replaces the database atomically, on both backends; every
// bad file is refused with its own code and leaves the live database byte for
// byte as it was; requests see the old or the new database, never a mix; change
// streams end; a file larger than 128 MB streams into storage as it arrives.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BACKENDS, REPO, createWorld, fixtureRuntime, startStandalone, tenant } from './harness.js';
import { cutStream } from './fixtures/streams.js';
import { createClient } from '../../worker-shim/src/client/client.js';

const CLI = join(REPO, 'wasm/build/native/sqlite3');
/** The class's migrations: a file that already has `notes` cannot take them. */
const WORLD = { migrations: [{ name: '001_notes.sql', sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);' }] };
/** Largest file a key-value object takes (storage-kv.js MAX_IMPORT_BYTES). */
const KV_MAX_IMPORT_BYTES = 32 * 1024 * 1024;
/** Largest file a SQLite-backed object takes (storage-sql.js MAX_IMPORT_BYTES). */
const SQL_MAX_IMPORT_BYTES = 10_000_000_000;

describe('POST /import', () => {
  const world = createWorld('import');
  before(() => world.start(WORLD));
  after(() => world.destroy());

  /**
   * A database file made by the sqlite3 CLI running sql; its bytes. With forge, the
   * CLI's defensive mode is off, so sql may write sqlite_schema as a hostile file would.
   * @param {string} sql @param {{forge?: boolean}} [options]
   */
  function cliFile(sql, { forge = false } = {}) {
    assert.ok(existsSync(CLI), `${CLI} is missing: run ./build.sh native`);
    const file = join(world.dir, `${tenant('cli')}.sqlite`);
    execFileSync(CLI, [file, ...(forge ? ['.dbconfig defensive off'] : []), sql], { encoding: 'utf8' });
    const bytes = readFileSync(file);
    rmSync(file);
    return bytes;
  }

  /**
   * Run a query on file with the sqlite3 CLI; its output lines (or its error).
   * @param {Uint8Array} file @param {string} sql
   */
  function cliOn(file, sql) {
    const path = join(world.dir, `${tenant('check')}.sqlite`);
    writeFileSync(path, file);
    try {
      return execFileSync(CLI, ['-readonly', path, sql], { encoding: 'utf8', stdio: 'pipe' }).trim().split('\n');
    } catch (err) {
      return [String(/** @type {any} */ (err).stderr).trim()];
    } finally {
      rmSync(path);
    }
  }

  /** @param {'sql' | 'kv'} backend @param {string} name @param {string} path @param {any} [init] */
  const call = (backend, name, path, init) => world.mf.dispatchFetch(`http://localhost/${backend}/${name}${path}`, init);

  /** The database as exported now. @param {'sql' | 'kv'} backend @param {string} name */
  async function exportOf(backend, name) {
    const r = await call(backend, name, '/export');
    assert.equal(r.status, 200);
    return Buffer.from(await r.arrayBuffer());
  }

  /**
   * POST /import; the status and parsed answer.
   * @param {'sql' | 'kv'} backend @param {string} name @param {Uint8Array | ReadableStream} body
   */
  async function importInto(backend, name, body) {
    const r = await call(backend, name, '/import', { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'application/vnd.sqlite3' } });
    return { status: r.status, body: await r.json() };
  }

  /** The object's stub, for RPC: stats() and the test worker's storage views. @param {'sql' | 'kv'} backend @param {string} name */
  async function objectOf(backend, name) {
    const ns = await world.mf.getDurableObjectNamespace(backend === 'sql' ? 'SQL_DB' : 'KV_DB');
    return ns.get(ns.idFromName(name));
  }

  /** Resolves once check() does (polled; the test's timeout bounds it). @param {() => Promise<unknown>} check */
  async function until(check) {
    for (;;) {
      const value = await check();
      if (value) return value;
      await sleep(20);
    }
  }

  /** A database of this world with rows of every kind; its export. @param {'sql' | 'kv'} backend */
  async function sourceFile(backend) {
    const name = tenant('source');
    const db = world.client(backend, name);
    await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, big INTEGER, b BLOB, s TEXT)');
    await db.run('CREATE INDEX t_s ON t (s)');
    await db.run("INSERT INTO t (big, b, s) SELECT 9007199254740993 + value, randomblob(3000), 'row ' || value FROM json_each('[1,2,3,4,5,6,7,8,9,10]')");
    await db.run("INSERT INTO notes (body) VALUES ('from the source')");
    return { name, bytes: await exportOf(backend, name) };
  }

  const T_ROWS = "SELECT count(*) AS n, CAST(sum(big) AS TEXT) AS big, hex(group_concat(b, '')) AS b, group_concat(s) AS s FROM t";

  /** A copy of file with its header changed by fix. @param {Buffer} file @param {(header: DataView) => void} fix */
  function patched(file, fix) {
    const copy = Buffer.from(file);
    fix(new DataView(copy.buffer, copy.byteOffset, copy.byteLength));
    return copy;
  }

  /**
   * A body that sends bytes in chunks and stops at pauseAt until resume().
   * @param {Uint8Array} bytes @param {number} pauseAt
   */
  function pausedBody(bytes, pauseAt) {
    /** @type {() => void} */
    let resume = () => {};
    const resumed = new Promise((resolve) => (resume = () => resolve(undefined)));
    let offset = 0;
    const stream = new ReadableStream({
      async pull(controller) {
        if (offset === pauseAt) await resumed;
        if (offset >= bytes.length) return controller.close();
        const end = Math.min(bytes.length, offset + 256 * 1024, offset < pauseAt ? pauseAt : Infinity);
        controller.enqueue(bytes.slice(offset, end));
        offset = end;
      },
    });
    return { stream, resume };
  }

  /** Imported databases, a query and its answer, asked again after a restart. @type {{backend: 'sql' | 'kv', name: string, sql: string, rows: any[]}[]} */
  const imported = [];

  for (const backend of BACKENDS) {
    test(`${backend}: an export imported into a fresh object reads the same, and exports the same bytes`, async () => {
      const source = await sourceFile(backend);
      const name = tenant('target');
      const answer = await importInto(backend, name, source.bytes);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(answer.body, { pageSize: 4096, pages: source.bytes.length / 4096, bytes: source.bytes.length });
      const [theirs, ours] = [world.client(backend, source.name), world.client(backend, name)];
      assert.deepEqual(await ours.query(T_ROWS), await theirs.query(T_ROWS));
      assert.deepEqual(await ours.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
      assert.deepEqual(await ours.query("SELECT id FROM t WHERE s = 'row 7'"), [{ id: 7 }]);
      assert.ok((await exportOf(backend, name)).equals(source.bytes), 'the imported database exports as the file it came from');
      imported.push({ backend, name, sql: T_ROWS, rows: await ours.query(T_ROWS) });
    });

    test(`${backend}: a file the sqlite3 CLI made (tables, indexes, blobs, a view) imports and queries`, async () => {
      const file = cliFile(`
        CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
        CREATE TABLE book (id INTEGER PRIMARY KEY, author INTEGER REFERENCES author(id), title TEXT, cover BLOB, price REAL);
        CREATE INDEX book_author ON book (author, title);
        CREATE VIEW cheap AS SELECT title FROM book WHERE price < 10;
        INSERT INTO author (name) VALUES ('Ann'), ('Bo');
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
          INSERT INTO book (author, title, cover, price) SELECT 1 + i % 2, 'title ' || i, zeroblob(i * 10), i / 10.0 FROM n;`);
      const name = tenant('cli');
      const answer = await importInto(backend, name, file);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const db = world.client(backend, name);
      assert.deepEqual(await db.query('SELECT a.name, count(*) AS n, sum(length(cover)) AS bytes FROM book JOIN author a ON a.id = book.author GROUP BY a.name'), [
        { name: 'Ann', n: 250, bytes: 627500 },
        { name: 'Bo', n: 250, bytes: 625000 },
      ]);
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM cheap'), [{ n: 99 }]);
      const plan = await db.query("EXPLAIN QUERY PLAN SELECT title FROM book WHERE author = 2 AND title = 'title 3'");
      assert.deepEqual(plan.map((step) => step.detail), ['SEARCH book USING COVERING INDEX book_author (author=? AND title=?)']);
      // The class's migrations ran on the file: it has their table, and takes writes.
      await db.run("INSERT INTO notes (body) VALUES ('after the import')");
      assert.deepEqual(await db.query('SELECT name FROM _dosql_migrations'), [{ name: '001_notes.sql' }]);
      assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    });

    test(`${backend}: a reader of /changes across an import reads a gap, and new events are numbered past every old one`, async () => {
      const { bytes } = await sourceFile(backend);
      const name = tenant('renumber');
      const db = world.client(backend, name);
      await db.run('CREATE TABLE mine (v)');
      for (let i = 0; i < 30; i++) await db.run('INSERT INTO mine VALUES (?)', [i]);
      const before = (await db.post('/changes', { since: 0, limit: 1 })).body.head;
      assert.equal((await importInto(backend, name, bytes)).status, 200);
      const after = (await db.post('/changes', { since: before })).body;
      assert.equal(after.gap, true, 'its events are gone with the old log');
      // The file's own events are numbered past them too, so the guide's snapshot (the
      // newest lsn as SQL reads it) reads on, where it used to read a gap for ever.
      const fileEvents = await db.query('SELECT lsn, tx_id FROM _dosql_changes');
      assert.ok(fileEvents.length > 0 && fileEvents.every((/** @type {any} */ e) => e.lsn > before + 1 && e.tx_id > before + 1), JSON.stringify(fileEvents));
      const [{ lsn }] = await db.query('SELECT coalesce(max(last_lsn), 0) AS lsn FROM _dosql_change_log');
      assert.equal(lsn, after.head);
      assert.deepEqual((await db.post('/changes', { since: lsn })).body, { events: [], next: lsn, head: lsn, oldest: fileEvents[0].lsn, gap: false });
      // A reader from 0 saw nothing of the file either: a reload, not a replay of its events.
      assert.equal((await db.post('/changes', { since: 0 })).body.gap, true);
      await db.run("INSERT INTO notes (body) VALUES ('after the import')");
      const page = (await db.post('/changes', { since: after.head })).body;
      assert.equal(page.gap, false);
      assert.deepEqual(page.events.map((/** @type {any} */ e) => e.data.body), ['after the import']);
      assert.ok(page.events[0].lsn > before, `event ${page.events[0].lsn} after the import is numbered past ${before}`);
    });

    test(`${backend}: a WAL-mode file is taken as its main file, in rollback-journal mode`, async () => {
      const file = cliFile("PRAGMA journal_mode=WAL; CREATE TABLE w (v); INSERT INTO w VALUES ('wal');");
      assert.deepEqual([file[18], file[19]], [2, 2], 'the CLI made a WAL-mode file');
      const name = tenant('wal');
      const answer = await importInto(backend, name, file);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const db = world.client(backend, name);
      assert.deepEqual(await db.query('SELECT v FROM w'), [{ v: 'wal' }]);
      await db.run("INSERT INTO w VALUES ('more')");
      const exported = await exportOf(backend, name);
      assert.deepEqual([exported[18], exported[19]], [1, 1]);
    });

    test(`${backend}: a file of another page size keeps it, VACUUM included`, async () => {
      // The object makes databases of 4096-byte pages; storage keeps the file's pages as they are.
      const file = cliFile(`PRAGMA page_size = 1024; CREATE TABLE small (id INTEGER PRIMARY KEY, b BLOB);
        INSERT INTO small (b) SELECT randomblob(300) FROM json_each('[${'1,'.repeat(299)}1]');`);
      const name = tenant('page-size');
      const answer = await importInto(backend, name, file);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.pageSize, 1024);
      const db = world.client(backend, name);
      await db.run('DELETE FROM small WHERE id > 100');
      await db.run('VACUUM');
      await db.run('INSERT INTO small (b) VALUES (zeroblob(10))');
      assert.deepEqual(await db.query('PRAGMA page_size'), [{ page_size: 1024 }]);
      assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
      assert.deepEqual(cliOn(await exportOf(backend, name), 'PRAGMA integrity_check; SELECT count(*) FROM small'), ['ok', '101']);
      imported.push({ backend, name, sql: 'SELECT count(*) AS n FROM small', rows: [{ n: 101 }] });
    });

    test(`${backend}: a file of any page count imports, those that end a staged batch of pages and the one after too`, async () => {
      /** A CLI file of exactly `pages` pages of 512 bytes: one blob, its overflow pages set the count. @param {number} pages */
      const fileOf = (pages) => {
        let bytes = 0;
        for (let tries = 0; tries < 8; tries++) {
          const file = cliFile(`PRAGMA page_size = 512; CREATE TABLE big (b BLOB); INSERT INTO big VALUES (zeroblob(${bytes}));`);
          if (file.length === pages * 512) return { file, bytes };
          bytes = Math.max(0, bytes + (pages - file.length / 512) * 508);
        }
        throw new Error(`no file of ${pages} pages`);
      };
      // The import stages PAGES_PER_WRITE (128) pages at a time, page 1 last.
      for (const pages of [128, 129, 130, 257]) {
        const { file, bytes } = fileOf(pages);
        const name = tenant(`pages-${pages}`);
        const answer = await importInto(backend, name, file);
        assert.equal(answer.status, 200, `${pages} pages: ${JSON.stringify(answer.body)}`);
        assert.deepEqual(answer.body, { pageSize: 512, pages, bytes: pages * 512 });
        const db = world.client(backend, name);
        assert.deepEqual(await db.query('SELECT length(b) AS n FROM big'), [{ n: bytes }]);
        assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
      }
    });

    test(`${backend}: an upload cut short is the caller's 400, not a failure of DoSQL's, and changes nothing`, async () => {
      const name = tenant('cut');
      const db = world.client(backend, name);
      await db.run("INSERT INTO notes (body) VALUES ('kept')");
      const before = await exportOf(backend, name);
      const file = (await sourceFile(backend)).bytes;
      // Over a socket of its own: a Content-Length 4096 bytes past what is sent, then the
      // sender half-closes, as a dropped upload reaches the object.
      const origin = new URL(String(await world.mf.ready));
      const answer = await new Promise((resolve, reject) => {
        const socket = connect(Number(origin.port), origin.hostname);
        let text = '';
        socket.on('data', (d) => (text += d));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
        socket.write(`POST /${backend}/${name}/import HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${file.length + 4096}\r\nConnection: close\r\n\r\n`);
        socket.end(file);
      });
      assert.match(String(answer).split('\r\n')[0], / 400 /, String(answer));
      const body = JSON.parse(String(answer).split('\r\n\r\n').at(-1) ?? '');
      assert.equal(body.code, 'BAD_REQUEST');
      assert.match(body.error, /the request's body could not be read/);
      assert.ok((await exportOf(backend, name)).equals(before), 'the database is as it was');
    });

    test(`${backend}: every bad file gets its 4xx code, and the live database stays byte for byte the same`, async () => {
      const good = (await sourceFile(backend)).bytes;
      const pages = good.length / 4096;
      const name = tenant('live');
      const db = world.client(backend, name);
      await db.run('CREATE TABLE keep (v)');
      await db.run("INSERT INTO keep VALUES ('the live database')");
      const before = await exportOf(backend, name);

      // Flip bytes in the middle of t's leaf pages: the CLI agrees the file is corrupt.
      const corrupt = Buffer.from(good);
      const leaf = Number(cliOn(good, "SELECT pageno FROM dbstat WHERE name = 't' AND pagetype = 'leaf' LIMIT 1")[0]);
      for (let i = 2000; i < 2040; i++) corrupt[(leaf - 1) * 4096 + i] ^= 0x5a;
      corrupt[(leaf - 1) * 4096 + 3] ^= 0x7f; // the cell count
      assert.notDeepEqual(cliOn(corrupt, 'PRAGMA integrity_check'), ['ok']);
      // Change a key inside the index, not its structure: only integrity_check notices.
      const index = Buffer.from(good);
      const indexLeaf = Number(cliOn(good, "SELECT pageno FROM dbstat WHERE name = 't_s' LIMIT 1")[0]);
      const at = index.indexOf('row 7', (indexLeaf - 1) * 4096);
      assert.ok(at > 0 && at < indexLeaf * 4096);
      index[at] = 'R'.charCodeAt(0);
      assert.match(cliOn(index, 'PRAGMA integrity_check').join('\n'), /missing from index t_s/);
      // The same damage in the change log, which the check of its rows reads first.
      const log = Buffer.from(good);
      const logPage = Number(cliOn(good, "SELECT pageno FROM dbstat WHERE name = '_dosql_change_log' ORDER BY pageno LIMIT 1")[0]);
      assert.ok(logPage > 1);
      // A table leaf whose cell count no page holds: SQLite refuses the page whatever its
      // rows hold (a garbled cell directory alone could decode, by the rows' timestamps, as a
      // row the check of the log's rows refuses first: IMPORT_UNSAFE, also a refusal).
      log[(logPage - 1) * 4096] = 0x0d;
      log[(logPage - 1) * 4096 + 3] = 0xff;
      log[(logPage - 1) * 4096 + 4] = 0xff;
      assert.notDeepEqual(cliOn(log, 'PRAGMA integrity_check'), ['ok']);

      const maxBytes = backend === 'sql' ? SQL_MAX_IMPORT_BYTES : KV_MAX_IMPORT_BYTES;
      /** @type {[string, Uint8Array, number, string][]} */
      const cases = [
        ['empty', new Uint8Array(0), 400, 'IMPORT_EMPTY'],
        ['not SQLite', Buffer.from('id,name\n1,Ann\n'.repeat(400)), 400, 'IMPORT_NOT_SQLITE'],
        ['an unknown file format', patched(good, (h) => h.setUint8(19, 3)), 400, 'IMPORT_NOT_SQLITE'],
        ['shorter than the header', good.subarray(0, 60), 400, 'IMPORT_TRUNCATED'],
        ['truncated', good.subarray(0, good.length - 100), 400, 'IMPORT_TRUNCATED'],
        ['a bad page size', patched(good, (h) => h.setUint16(16, 1000)), 400, 'IMPORT_BAD_PAGE_SIZE'],
        ['a header count above the length', patched(good, (h) => h.setUint32(28, pages + 1)), 400, 'IMPORT_PAGE_COUNT_MISMATCH'],
        ['a page more than the header says', Buffer.concat([good, good.subarray(4096, 8192)]), 400, 'IMPORT_PAGE_COUNT_MISMATCH'],
        ['a header beyond the size limit', patched(good, (h) => h.setUint32(28, Math.floor(maxBytes / 4096) + 1)), 413, 'IMPORT_TOO_LARGE'],
        ['a corrupt b-tree page', corrupt, 422, 'IMPORT_CORRUPT'],
        ['an index that disagrees with its table', index, 422, 'IMPORT_CORRUPT'],
        ['a corrupt page of the change log', log, 422, 'IMPORT_CORRUPT'],
        ['a schema format SQLite does not know', patched(good, (h) => h.setUint32(44, 99)), 422, 'IMPORT_CORRUPT'],
        ['a table the migrations create', cliFile('CREATE TABLE notes (x); INSERT INTO notes VALUES (1);'), 422, 'IMPORT_MIGRATION_FAILED'],
        ['text kept as UTF-16', cliFile("PRAGMA encoding = 'UTF-16le'; CREATE TABLE u (x); INSERT INTO u VALUES ('é');"), 422, 'IMPORT_UTF16'],
        // SQLite reads the field's low two bits: 6 is UTF-16le, whatever the engine (UTF-16 compiled out) would make of it.
        ['text kept as UTF-16, by the low bits of its field', patched(cliFile("PRAGMA encoding = 'UTF-16le'; CREATE TABLE u (x); INSERT INTO u VALUES ('é');"), (h) => h.setUint32(56, 6)), 422, 'IMPORT_UTF16'],
        // The change log's view reads json_each(): a table of that name would break it.
        ['a table named json_each', cliFile('CREATE TABLE json_each (key, value, type, fullkey, atom, id, parent, path);'), 422, 'IMPORT_UNSAFE'],
        // Neither readable nor droppable here ("no such module"): the tenant could never be rid of it.
        [
          'a virtual table of a module this build lacks',
          cliFile("PRAGMA writable_schema = ON; INSERT INTO sqlite_schema VALUES ('table', 'vv', 'vv', 0, 'CREATE VIRTUAL TABLE vv USING nosuchmod (a)');", { forge: true }),
          422,
          'IMPORT_UNSAFE',
        ],
        // Nor a generated column whose function this build does not have (every read of
        // the table would fail; only DROP would work).
        [
          'a generated column calling a function SQLite does not have',
          cliFile("CREATE TABLE gf (x, y AS (abs(x))); INSERT INTO gf (x) VALUES (1); PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'CREATE TABLE gf (x, y AS (nosuchfn(x)))' WHERE name = 'gf';", { forge: true }),
          422,
          'IMPORT_UNSAFE',
        ],
        [
          'an index on a collation SQLite does not have',
          cliFile("CREATE TABLE c (a); INSERT INTO c VALUES ('x'); CREATE INDEX c_a ON c (a COLLATE NOCASE); PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'CREATE INDEX c_a ON c (a COLLATE mine)' WHERE name = 'c_a';", { forge: true }),
          422,
          'IMPORT_CORRUPT',
        ],
      ];
      for (const [what, file, status, code] of cases) {
        const answer = await importInto(backend, name, file);
        assert.deepEqual([answer.status, answer.body.code], [status, code], `${what}: ${JSON.stringify(answer.body)}`);
        assert.equal(typeof answer.body.error, 'string');
        if (code === 'IMPORT_MIGRATION_FAILED') assert.match(answer.body.error, /a database made elsewhere lists none, so import it where the migrations describe it/);
        if (what.startsWith('a virtual table')) assert.match(answer.body.error, /table vv cannot be read here \(no such module: nosuchmod\)/);
      }
      assert.ok((await exportOf(backend, name)).equals(before), 'the live database is unchanged');
      assert.deepEqual(await db.query('SELECT v FROM keep'), [{ v: 'the live database' }]);
    });

    test(`${backend}: requests during an import see the old database or the new one, never a mix`, async () => {
      const name = tenant('swap');
      const db = world.client(backend, name);
      const from = tenant('swap-from');
      for (const [tenantName, v] of [[name, 'old'], [from, 'new']]) {
        const c = world.client(backend, tenantName);
        await c.run('CREATE TABLE a (v)');
        await c.run('CREATE TABLE b (v)');
        await c.run('INSERT INTO a VALUES (?)', [v]);
        await c.run('INSERT INTO b VALUES (?)', [v]);
        await c.run(`CREATE TABLE pad_${v} (b BLOB)`);
        await c.run(`INSERT INTO pad_${v} SELECT randomblob(4000) FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]')`);
      }
      const file = await exportOf(backend, from);
      const both = async () => (await db.query("SELECT (SELECT v FROM a) || '|' || (SELECT v FROM b) AS v"))[0].v;

      const { stream, resume } = pausedBody(file, 8192 * 4);
      const importing = importInto(backend, name, stream);
      const object = await objectOf(backend, name);
      await until(async () => (await object.stats()).importing?.receivedBytes >= 8192 * 4);
      // While the file arrives the database answers from its old pages, and a
      // second import is refused.
      assert.equal(await both(), 'old|old');
      const second = await importInto(backend, name, file);
      assert.deepEqual([second.status, second.body.code], [409, 'IMPORT_IN_PROGRESS']);
      resume();
      /** @type {string[]} */
      const seen = [];
      let done = false;
      const readers = Array.from({ length: 4 }, async () => {
        while (!done) seen.push(await both());
      });
      const answer = await importing;
      done = true;
      await Promise.all(readers);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(seen.filter((v) => v !== 'old|old' && v !== 'new|new'), []);
      assert.equal(await both(), 'new|new');
      assert.equal((await object.stats()).importing, null);
    });

    test(`${backend}: change subscribers get end DATABASE_REPLACED`, async () => {
      const source = await sourceFile(backend);
      const name = tenant('subscribed');
      const db = world.client(backend, name);
      await db.run("INSERT INTO notes (body) VALUES ('before')");
      const client = createClient({ fetch: (url, init) => call(backend, name, new URL(url).pathname, init) });
      const events = client.subscribe(null, { since: 0 });
      assert.equal((await events.next()).value.type, 'insert');
      assert.equal((await events.next()).value.type, 'ready');
      // An import that waited for a transaction: the subscriber gets its events before the end.
      const { txId } = (await db.post('/begin', {})).body;
      const inTx = { headers: { 'Content-Type': 'application/json', 'X-DoSQL-Transaction': txId } };
      assert.equal((await db.post('/run', { sql: "INSERT INTO notes (body) VALUES ('last')" }, inTx)).status, 200);
      const imported = importInto(backend, name, source.bytes);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal((await db.post('/commit', {}, inTx)).status, 200);
      assert.equal((await imported).status, 200);
      assert.deepEqual((await events.next()).value.data.body, 'last');
      await assert.rejects(events.next(), { name: 'DoSQLError', code: 'DATABASE_REPLACED' });
      const object = await objectOf(backend, name);
      assert.deepEqual((await object.stats()).subscribers, { streams: 0, sockets: 0 });
    });

    test(`${backend}: an abandoned import is cleaned up by the next one, and replaced pages are deleted`, async () => {
      const name = tenant('abandoned');
      // A key of the class's own that looks like a page key of generation 0.
      if (backend === 'kv') await (await objectOf(backend, name)).storagePut('p:settings', 'mine');
      const big = cliFile("CREATE TABLE pad (b BLOB); INSERT INTO pad SELECT zeroblob(3000) FROM json_each('[" + '1,'.repeat(299) + "1]');");
      const { stream } = pausedBody(big, big.length - 4096);
      const abandoned = importInto(backend, name, stream).catch(() => 'gone');
      const object = await objectOf(backend, name);
      await until(async () => (await object.stats()).importing?.stagedPages >= 256);
      await world.restart(WORLD); // the object dies half way through the upload
      assert.equal(await abandoned, 'gone');
      const left = await objectOf(backend, name);
      if (backend === 'sql') assert.ok((await left.sqlTables()).includes('dosql_import_page_log'), 'the abandoned import left its tables');
      else assert.ok((await left.storageKeys()).filter((k) => k.startsWith('g1:p:')).length >= 256, 'the abandoned import left staged pages');

      const small = cliFile("CREATE TABLE small (v); INSERT INTO small VALUES ('small');");
      assert.equal((await importInto(backend, name, small)).status, 200);
      const again = cliFile("CREATE TABLE again (v); INSERT INTO again VALUES ('again');");
      assert.equal((await importInto(backend, name, again)).status, 200);
      const db = world.client(backend, name);
      assert.deepEqual(await db.query('SELECT v FROM again'), [{ v: 'again' }]);
      imported.push({ backend, name, sql: 'SELECT v FROM again', rows: [{ v: 'again' }] });
      const live = await objectOf(backend, name);
      if (backend === 'sql') {
        assert.deepEqual((await live.sqlTables()).filter((t) => t.startsWith('dosql_import_')), []);
        return;
      }
      // Generation 2 is live; 0 (the first pages) and 1 (the abandoned import's,
      // then the small file's) go in the background, but not the class's own key.
      const pageKeys = (await exportOf(backend, name)).length / 4096;
      const expected = ['dosql:change-numbers', 'dosql:generation', 'p:settings', ...Array.from({ length: pageKeys }, (_, i) => `g2:p:${i + 1}`)].sort();
      await until(async () => JSON.stringify((await live.storageKeys()).sort()) === JSON.stringify(expected));
    });
  }

  test('the imported databases read the same after a restart of the runtime', async () => {
    assert.equal(imported.length, 3 * BACKENDS.length);
    await world.restart(WORLD);
    for (const { backend, name, sql, rows } of imported) {
      const db = world.client(backend, name);
      assert.deepEqual(await db.query(sql), rows, `${backend} ${name}`);
      assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    }
  });

  test('only POST', async () => {
    const r = await call('sql', tenant('import-get'), '/import');
    assert.equal(r.status, 405);
    assert.equal((await r.json()).code, 'METHOD_NOT_ALLOWED');
  });

  test('sql: a text encoding SQLite reads as UTF-8 by its low bits (4) is stored as 1, so restore and diff can attach the file', async () => {
    const file = patched(cliFile("CREATE TABLE enc (v); INSERT INTO enc VALUES ('é');"), (h) => h.setUint32(56, 4));
    const name = tenant('encoding');
    const answer = await importInto('sql', name, file);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const db = world.client('sql', name);
    const point = (await (await call('sql', name, '/history')).json()).current.lsn; // the import's
    await db.run("INSERT INTO enc VALUES ('after')");
    const diff = await db.post('/diff', { from: point });
    assert.equal(diff.status, 200, JSON.stringify(diff.body));
    assert.deepEqual(diff.body.changes.map((/** @type {any} */ c) => c.data.v), ['after']);
    assert.equal((await db.post('/restore', { to: point })).status, 200);
    assert.deepEqual(await db.query('SELECT v FROM enc'), [{ v: 'é' }]);
    assert.equal((await exportOf('sql', name)).readUInt32BE(56), 1);
  });

  test('sql: the file\'s lsns go on past every commit of the database it replaced, those made during the upload too: no bookmark of that one names it', async () => {
    const name = tenant('lsn-on');
    const db = world.client('sql', name);
    const history = async () => (await db.post('/history', {})).body;
    const from = tenant('lsn-on-from');
    const src = world.client('sql', from);
    await src.run('CREATE TABLE t (v)');
    // Over 8 MB: staging it checkpoints, so its history rows are numbered on too.
    await src.run('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2400) INSERT INTO t SELECT randomblob(4000) FROM c');
    const file = await exportOf('sql', from);
    await db.run('CREATE TABLE t (v)');
    for (let i = 0; i < 5; i++) await db.run('INSERT INTO t VALUES (?)', [`old ${i}`]);
    const before = (await history()).current;
    // The database commits while the file arrives (more commits than staging it takes).
    const { stream, resume } = pausedBody(file, 8192);
    const importing = importInto('sql', name, stream);
    const object = await objectOf('sql', name);
    await until(async () => (await object.stats()).importing?.receivedBytes >= 8192);
    for (let i = 0; i < 30; i++) await db.run('INSERT INTO t VALUES (?)', [`meanwhile ${i}`]);
    const last = (await history()).current;
    resume();
    const answer = await importing;
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const { oldest, current } = await history();
    assert.ok(oldest.lsn > last.lsn, `the file's first point, lsn ${oldest.lsn}, follows the replaced database's last, ${last.lsn}`);
    // As many commits again: an old bookmark is too old, never the file's state of that number.
    for (let i = 0; i < 40; i++) await db.run('INSERT INTO t VALUES (?)', [`new ${i}`]);
    for (const point of [before, last]) {
      for (const [path, body] of [['/query', { sql: 'SELECT count(*) AS n FROM t', asOf: point.bookmark }], ['/restore', { to: point.bookmark }]]) {
        const r = await db.post(path, body);
        assert.equal(r.status, 410, `${path} at ${point.lsn}: ${r.text}`);
        assert.equal(r.body.code, 'POINT_TOO_OLD');
        assert.match(r.body.error, new RegExp(`\\(lsn ${point.lsn}\\) is older than the oldest point history keeps, lsn ${oldest.lsn} `));
      }
    }
    for (let lsn = oldest.lsn; lsn <= current.lsn; lsn++) {
      assert.deepEqual((await db.post('/query', { sql: 'SELECT count(*) AS n FROM t', asOf: lsn })).body.rows, [{ n: 2400 }], `lsn ${lsn}`);
    }
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 2440 }]);
    // The numbers survive a restart (they are the stored ones).
    await world.restart(WORLD);
    assert.deepEqual((await history()).oldest, oldest);
    assert.deepEqual((await db.post('/query', { sql: 'SELECT count(*) AS n FROM t', asOf: oldest.lsn })).body.rows, [{ n: 2400 }]);
  });

  test('sql: a file larger than 128 MB is staged in storage as it arrives', { timeout: 120_000 }, async () => {
    const file = cliFile(`CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB);
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 17000)
        INSERT INTO big (b) SELECT randomblob(8000) FROM n;`);
    assert.ok(file.length > 128 * 1024 * 1024, `the file is ${file.length} bytes`);
    const name = tenant('big');
    const half = Math.floor(file.length / 2 / 4096) * 4096;
    const { stream, resume } = pausedBody(file, half);
    const importing = importInto('sql', name, stream);
    const object = await objectOf('sql', name);
    // Half the file is in storage while the other half has not been sent.
    await until(async () => (await object.stats()).importing?.stagedPages * 4096 >= half - 128 * 4096);
    resume();
    const answer = await importing;
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.bytes, file.length);
    assert.deepEqual(await world.client('sql', name).query('SELECT count(*) AS n, min(length(b)) AS len FROM big'), [{ n: 17000, len: 8000 }]);
    // The engine started on the new pages holds its page cache, not the file.
    const stats = await object.stats();
    assert.ok(stats.wasmMemoryBytes < 64 * 1024 * 1024, `wasm memory ${stats.wasmMemoryBytes}`);
  });

  test("DB(): a class of one's own serves POST /import with db.serveImport(request)", async () => {
    const own = fixtureRuntime('import-own', 'changes-worker.js', 'makeOwnClasses', [{}]);
    await own.start();
    try {
      const file = cliFile("CREATE TABLE own (v); INSERT INTO own VALUES ('imported');");
      for (const backend of BACKENDS) {
        const base = `http://localhost/${backend}/${tenant('own')}`;
        // A transaction's header is refused as the class's fetch() refuses it.
        const inTx = await own.fetch(`${base}/upload`, { method: 'POST', body: file, headers: { 'X-DoSQL-Transaction': 'tx-1' } });
        assert.equal(inTx.status, 400);
        assert.match((await inTx.json()).error, /does not run inside a transaction/);
        const r = await own.fetch(`${base}/upload`, { method: 'POST', body: file });
        assert.equal(r.status, 200, await r.clone().text());
        const rows = await own.fetch(`${base}/query`, { method: 'POST', body: JSON.stringify({ sql: 'SELECT v FROM own' }) });
        assert.deepEqual(await rows.json(), { rows: [{ v: 'imported' }] });
      }
    } finally {
      await own.destroy();
    }
  });

  test('the standalone router forwards /import with its streamed body', async () => {
    const mf = await startStandalone({ DOSQL_TOKEN: 'secret' });
    try {
      const auth = { authorization: 'Bearer secret' };
      const post = (/** @type {string} */ t, /** @type {string} */ path, /** @type {any} */ body) =>
        mf.dispatchFetch(`http://localhost/db/${t}${path}`, { method: 'POST', headers: auth, body, duplex: 'half' });
      await post('router-from', '/run', JSON.stringify({ sql: 'CREATE TABLE r (v)' }));
      await post('router-from', '/run', JSON.stringify({ sql: "INSERT INTO r VALUES ('routed')" }));
      const file = Buffer.from(await (await mf.dispatchFetch('http://localhost/db/router-from/export', { headers: auth })).arrayBuffer());
      const r = await post('router-to', '/import', cutStream(file, [100, 5000, 9000]));
      assert.equal(r.status, 200, await r.clone().text());
      const rows = await post('router-to', '/query', JSON.stringify({ sql: 'SELECT v FROM r' }));
      assert.deepEqual(await rows.json(), { rows: [{ v: 'routed' }] });
    } finally {
      await mf.dispose();
    }
  });
});
