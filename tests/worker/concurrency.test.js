// Many requests at once to one object give consistent results: the object runs
// one call into the engine at a time, and a request that faults (key-value
// backend, cold cache) is retried without another request's statements in
// between.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, BACKENDS, tenant } from './harness.js';
import { TRANSACTION_HEADER } from '../../worker-shim/src/client/client.js';

const N = 100;

// A small page cache for the key-value backend, so that requests fault while
// others are waiting.
const world = createWorld('concurrency');
before(() => world.start({ classOptions: { cacheBytes: 256 * 1024 } }));
after(() => world.destroy());

for (const backend of BACKENDS) {
  describe(`concurrency (${backend})`, () => {
    test(`${N} concurrent inserts all land with distinct ids`, async () => {
      const db = world.client(backend, tenant('inserts'));
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) => db.run('INSERT INTO users (name, email) VALUES (?, ?)', [`u${i}`, `u${i}@example.com`])),
      );
      const ids = results.map((r) => r.lastInsertRowId).sort((a, b) => a - b);
      assert.deepEqual(ids, Array.from({ length: N }, (_, i) => i + 1));
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM users'), [{ n: N }]);
    });

    test(`${N} concurrent read-modify-write updates lose none`, async () => {
      const db = world.client(backend, tenant('counter'));
      await db.run('CREATE TABLE counter (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)');
      await db.run('INSERT INTO counter (id, v) VALUES (1, 0)');
      // Each client reads the value, computes the next one itself and writes it
      // back, inside an interactive transaction: were two to interleave, both
      // would write the same value and one increment would be lost.
      const increment = async () => {
        const begun = await db.post('/begin', {});
        assert.equal(begun.status, 200, begun.text);
        const headers = { 'Content-Type': 'application/json', [TRANSACTION_HEADER]: begun.body.txId };
        const read = await db.post('/query', { sql: 'SELECT v FROM counter WHERE id = 1' }, { headers });
        const [{ v }] = read.body.rows;
        await new Promise((resolve) => setImmediate(resolve)); // let the others try to get in
        const wrote = await db.post('/run', { sql: 'UPDATE counter SET v = ? WHERE id = 1', params: [v + 1] }, { headers });
        assert.equal(wrote.status, 200, wrote.text);
        const committed = await db.post('/commit', {}, { headers });
        assert.equal(committed.status, 200, committed.text);
      };
      await Promise.all(Array.from({ length: N }, increment));
      assert.deepEqual(await db.query('SELECT v FROM counter'), [{ v: N }]);
    });

    test('concurrent requests on a cold, larger database are consistent after a restart', { timeout: 120_000 }, async () => {
      const name = tenant('cold');
      let db = world.client(backend, name);
      await db.run('CREATE TABLE item (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, pad BLOB NOT NULL)');
      await db.run('CREATE INDEX item_grp ON item (grp)');
      // About 2 MB: far more than the key-value cache of 256 KB.
      await db.run(
        `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)
         INSERT INTO item (id, grp, pad) SELECT i, i % 10, randomblob(1000) FROM c`,
      );
      await world.restart({ classOptions: { cacheBytes: 256 * 1024 } });
      db = world.client(backend, name);
      const [reads, writes] = await Promise.all([
        Promise.all(Array.from({ length: 50 }, (_, i) => db.query('SELECT count(*) AS n, sum(length(pad)) AS b FROM item WHERE grp = ?', [i % 10]))),
        Promise.all(Array.from({ length: 50 }, (_, i) => db.run('UPDATE item SET grp = grp + 10 WHERE id = ?', [i * 40 + 1 + (i % 10)]))),
      ]);
      for (const rows of reads) {
        const [{ n, b }] = rows;
        assert.equal(b, n * 1000);
        // Each group loses 5 rows to the updates, before or after this read.
        assert.ok(n >= 195 && n <= 200, `group count ${n}`);
      }
      assert.ok(writes.every((w) => w.rowsAffected === 1));
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM item WHERE grp >= 10'), [{ n: 50 }]);
      assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    });
  });
}
