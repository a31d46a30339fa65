// export.test.js — GET /export: a standard SQLite file that the real sqlite3 CLI
// (built natively by ./build.sh native) opens, consistent as of one commit, and
// streamed: a database larger than 128 MB comes out in chunks.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BACKENDS, REPO, createWorld, tenant } from './harness.js';

const CLI = join(REPO, 'wasm/build/native/sqlite3');
/** Debian's own sqlite3 (build.sh installs it), older than the engine's SQLite: the
 *  tools users open an export with are. */
const SYSTEM_CLI = '/usr/bin/sqlite3';
/** 1,000 rows to SELECT from (json_each of "[0,0,...,0]"). */
const THOUSAND_ROWS = "json_each('[' || substr(replace(hex(zeroblob(1000)), '00', '0,'), 1, 1999) || ']')";

/** Run SQL on a file with the sqlite3 CLI; its output lines. @param {string} file @param {string} sql */
function cli(file, sql, binary = CLI) {
  assert.ok(existsSync(binary), `${binary} is missing: run ./build.sh native (or apt-get install sqlite3)`);
  return execFileSync(binary, ['-readonly', file, sql], { encoding: 'utf8' }).trim().split('\n');
}

/** Read a Response body to the end; the bytes and how many chunks they came in. @param {Response} r */
async function drain(r) {
  const reader = /** @type {ReadableStream<Uint8Array>} */ (r.body).getReader();
  /** @type {Uint8Array[]} */
  const chunks = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return { bytes: Buffer.concat(chunks), chunks: chunks.length };
}

describe('GET /export', () => {
  const world = createWorld('export');
  before(() => world.start({ migrations: [] }));
  after(() => world.destroy());

  /** @param {string} backend @param {string} name @param {string} [method] */
  const exportOf = (backend, name, method = 'GET') => world.mf.dispatchFetch(`http://localhost/${backend}/${name}/export`, { method });

  for (const backend of BACKENDS) {
    test(`${backend}: the sqlite3 CLI opens the file and reads the same data`, async () => {
      const name = tenant('export');
      const db = world.client(backend, name);
      await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, big INTEGER, b BLOB, s TEXT)');
      await db.run('CREATE INDEX t_s ON t (s)');
      await db.run("INSERT INTO t (big, b, s) SELECT 9007199254740993 + value, randomblob(300), 'row ' || value FROM json_each('[1,2,3,4,5,6,7,8,9,10]')");
      const r = await exportOf(backend, name);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/vnd.sqlite3');
      const { bytes } = await drain(r);
      assert.equal(bytes.subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
      const file = join(world.dir, `${name}.sqlite`);
      writeFileSync(file, bytes);
      assert.deepEqual(cli(file, 'PRAGMA integrity_check'), ['ok']);
      const ours = await db.query("SELECT count(*) AS n, CAST(sum(big) AS TEXT) AS big, hex(group_concat(b, '')) AS b FROM t");
      const theirs = cli(file, "SELECT count(*) || '|' || sum(big) || '|' || hex(group_concat(b, '')) FROM t")[0].split('|');
      assert.deepEqual(theirs, [String(ours[0].n), String(ours[0].big), ours[0].b]);
      // The change log travels with the file.
      assert.deepEqual(cli(file, 'SELECT count(*) FROM _dosql_changes'), ['10']);
      // An older SQLite (Debian 12's 3.40) opens it too, the change log's view included.
      assert.deepEqual(cli(file, "PRAGMA integrity_check; SELECT count(*) FROM t; SELECT data FROM _dosql_changes WHERE lsn = 1", SYSTEM_CLI),
        ['ok', '10', cli(file, 'SELECT data FROM _dosql_changes WHERE lsn = 1')[0]]);
    });

    test(`${backend}: one commit's state: a write that arrives during the export waits for it`, async () => {
      const name = tenant('export-consistent');
      const db = world.client(backend, name);
      await db.run('CREATE TABLE t (v)');
      await db.run("INSERT INTO t VALUES ('before')");
      // 8 MB, more than the runtime buffers ahead of a reader that waits.
      await db.run('CREATE TABLE pad (b BLOB)');
      await db.run(`INSERT INTO pad SELECT randomblob(8000) FROM ${THOUSAND_ROWS}`);
      const r = await exportOf(backend, name);
      let written = false;
      const write = db.run("INSERT INTO t VALUES ('during')").then(() => (written = true));
      await sleep(200);
      assert.equal(written, false, 'the write waits while the export holds the database');
      const file = join(world.dir, `${name}.sqlite`);
      writeFileSync(file, (await drain(r)).bytes);
      await write;
      assert.deepEqual(cli(file, 'SELECT group_concat(v) FROM t'), ['before']);
      assert.deepEqual(await db.query('SELECT group_concat(v) AS v FROM t'), [{ v: 'before,during' }]);
    });
  }

  test('only GET', async () => {
    const r = await exportOf('sql', tenant('export-post'), 'POST');
    assert.equal(r.status, 405);
    assert.equal((await r.json()).code, 'METHOD_NOT_ALLOWED');
  });

  test('sql: a database larger than 128 MB streams out in chunks and opens intact', { timeout: 300_000 }, async () => {
    const name = tenant('export-big');
    const db = world.client('sql', name);
    await db.run('CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB)');
    // 17 transactions of 8 MB of blobs (one transaction stays far below the heap limit).
    for (let i = 0; i < 17; i++) {
      await db.run(`INSERT INTO big (b) SELECT randomblob(8000) FROM ${THOUSAND_ROWS}`);
    }
    const before = (await db.query('SELECT count(*) AS n FROM big'))[0].n;
    const r = await exportOf('sql', name);
    const { bytes, chunks } = await drain(r);
    assert.ok(bytes.length > 128 * 1024 * 1024, `the file is ${bytes.length} bytes`);
    assert.ok(chunks > 100, `it came in ${chunks} chunks, not at once`);
    const file = join(world.dir, `${name}.sqlite`);
    writeFileSync(file, bytes);
    assert.deepEqual(cli(file, 'PRAGMA integrity_check'), ['ok']);
    assert.deepEqual(cli(file, 'SELECT count(*), min(length(b)) FROM big'), [`${before}|8000`]);
  });
});
