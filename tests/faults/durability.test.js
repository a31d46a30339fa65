// Committed data survives a full restart of the runtime (a new workerd process on
// the same storage, every cache cold), on both backends; so does a database of
// more than 50 MB, written in transactions of a few MB, checked page by page.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, BACKENDS, tenant } from '../worker/harness.js';

const world = createWorld('durability');
// A key-value object reads the whole big database in one request here (a full scan, the
// integrity check): past 64 MiB one request may fetch that many only with a cacheBytes
// as large (limits.md).
const OPTIONS = { classOptions: { cacheBytes: 128 * 1024 * 1024 } };
before(() => world.start(OPTIONS));
after(() => world.destroy());

/** Rows of 4000 random bytes per transaction: about 4 MB. */
const ROWS_PER_TX = 1000;
const ROW_BYTES = 4000;
/** 13 transactions of about 4 MB: about 52 MB of row data. */
const TRANSACTIONS = 13;

for (const backend of BACKENDS) {
  describe(`durability (${backend})`, () => {
    test('commits survive a restart of the runtime; a failed transaction left nothing', async () => {
      const name = tenant('restart');
      let db = world.client(backend, name);
      await db.run('INSERT INTO users (name, email) VALUES (?, ?)', ['Ann', 'ann@example.com']);
      await db.transaction([
        { type: 'run', sql: 'INSERT INTO posts (user_id, title, content) VALUES (1, ?, ?)', params: ['t1', 'ünïcødé'] },
        { type: 'run', sql: 'INSERT INTO posts (user_id, title, content) VALUES (1, ?, ?)', params: ['t2', 'x'.repeat(10000)] },
      ]);
      const failed = await db.post('/transaction', {
        operations: [
          { type: 'run', sql: "INSERT INTO users (name, email) VALUES ('Bo', 'bo@example.com')" },
          { type: 'run', sql: "INSERT INTO users (name, email) VALUES ('Ann again', 'ann@example.com')" },
        ],
      });
      assert.equal(failed.status, 409);
      const before = await db.query('SELECT u.name, p.title, p.content FROM posts p JOIN users u ON u.id = p.user_id ORDER BY p.id');

      await world.restart(OPTIONS);
      db = world.client(backend, name);
      assert.deepEqual(await db.query('SELECT u.name, p.title, p.content FROM posts p JOIN users u ON u.id = p.user_id ORDER BY p.id'), before);
      assert.deepEqual(await db.query('SELECT name FROM users ORDER BY id'), [{ name: 'Ann' }]);
      assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
      // And it keeps going after the restart.
      const r = await db.run("INSERT INTO users (name, email) VALUES ('Cy', 'cy@example.com')");
      assert.equal(r.lastInsertRowId, 2, 'the rolled-back insert left no trace, not even in sqlite_sequence');
    });

    test('a database of more than 50 MB is written, restarted, and read back intact', { timeout: 240_000 }, async () => {
      const name = tenant('big');
      let db = world.client(backend, name);
      await db.run('CREATE TABLE big (n INTEGER PRIMARY KEY, data BLOB NOT NULL)');
      for (let t = 0; t < TRANSACTIONS; t++) {
        const first = t * ROWS_PER_TX + 1;
        const r = await db.run(
          `WITH RECURSIVE c(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM c WHERE i < ?)
           INSERT INTO big (n, data) SELECT i, randomblob(${ROW_BYTES}) FROM c`,
          [first, first + ROWS_PER_TX - 1],
        );
        assert.equal(r.rowsAffected, ROWS_PER_TX);
      }
      const total = TRANSACTIONS * ROWS_PER_TX;
      const summary = 'SELECT count(*) AS rows, sum(n) AS sum_n, sum(length(data)) AS bytes FROM big';
      const sample = 'SELECT n, hex(substr(data, 1 + (n * 37) % 3900, 16)) AS s FROM big WHERE n % 97 = 0 ORDER BY n';
      const expected = { rows: total, sum_n: (total * (total + 1)) / 2, bytes: total * ROW_BYTES };
      assert.deepEqual(await db.queryOne(summary), expected);
      const sampled = await db.query(sample);
      const [{ page_count: pages, page_size: pageSize }] = await db.query('SELECT * FROM pragma_page_count, pragma_page_size');
      assert.ok(pages * pageSize > 50 * 1024 * 1024, `${pages} pages of ${pageSize} bytes`);

      await world.restart(OPTIONS);
      db = world.client(backend, name);
      assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
      assert.deepEqual(await db.queryOne(summary), expected);
      assert.deepEqual(await db.query(sample), sampled);
    });
  });
}
