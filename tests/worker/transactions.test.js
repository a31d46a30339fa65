// Interactive transactions and batches (docs/transactions.md) through the client
// (worker-shim/src/client/client.js), in a real workerd, on both backends: begin/commit/
// rollback, isolation (others wait, FIFO, and never see uncommitted rows), the idle
// timeout, expired ids, statement errors inside a transaction, /batch, and the
// guide's checkout example unchanged in shape.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWorld, BACKENDS, tenant } from './harness.js';
import { stubOf } from './fixtures/client-stub.js';
import { createClient, DoSQLError } from '../../worker-shim/src/client/client.js';

const world = createWorld('transactions');
before(() => world.start());
after(() => world.destroy());

/** @param {'sql' | 'kv'} backend @param {string} prefix */
function fresh(backend, prefix) {
  const name = tenant(prefix);
  const stub = stubOf(world, backend, name);
  return { db: createClient(stub), other: createClient(stubOf(world, backend, name)), stub };
}

/**
 * A raw POST, answered as {status, body}.
 * @param {{fetch: Function}} stub @param {string} path @param {unknown} body @param {string} [txId]
 */
async function post(stub, path, body, txId) {
  /** @type {Record<string, string>} */
  const headers = { 'Content-Type': 'application/json' };
  if (txId) headers['X-DoSQL-Transaction'] = txId;
  const r = await stub.fetch(`http://internal${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

/** @param {Promise<unknown>} promise @param {Partial<DoSQLError> & {message?: RegExp}} expected */
async function rejectsWith(promise, expected) {
  await assert.rejects(promise, (/** @type {any} */ err) => {
    assert.ok(err instanceof DoSQLError, `a DoSQLError, got ${err}`);
    for (const [k, v] of Object.entries(expected)) {
      if (v instanceof RegExp) assert.match(err[k], v, k);
      else assert.equal(err[k], v, k);
    }
    return true;
  });
}

for (const backend of BACKENDS) {
  describe(`interactive transactions (${backend})`, () => {
    test('begin, statements with real results, commit: the writes are kept and fn\'s value returned', async () => {
      const { db } = fresh(backend, 'commit');
      await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      const out = await db.transaction(async (tx) => {
        assert.equal(typeof tx.txId, 'string');
        const a = await tx.run('INSERT INTO t (v) VALUES (?)', ['a']);
        assert.deepEqual(a, { rowsAffected: 1, lastInsertRowId: 1 });
        const b = await tx.run('INSERT INTO t (v) VALUES (?)', ['b']);
        assert.equal(b.lastInsertRowId, 2);
        // The transaction's own reads see its writes.
        assert.deepEqual(await tx.query('SELECT v FROM t ORDER BY id'), [{ v: 'a' }, { v: 'b' }]);
        assert.deepEqual(await tx.queryOne('SELECT count(*) AS n FROM t'), { n: 2 });
        assert.equal(await tx.queryOne('SELECT v FROM t WHERE id = 99'), null);
        return 'done';
      });
      assert.equal(out, 'done');
      assert.deepEqual(await db.query('SELECT id, v FROM t ORDER BY id'), [{ id: 1, v: 'a' }, { id: 2, v: 'b' }]);
    });

    test('an explicit /rollback keeps nothing; the id then answers 409 "rolled back"', async () => {
      const { db, stub } = fresh(backend, 'rollback');
      await db.run('CREATE TABLE t (v)');
      const { status, body } = await post(stub, '/begin', {});
      assert.equal(status, 200);
      assert.equal(body.timeoutMs, 5000);
      assert.equal((await post(stub, '/run', { sql: 'INSERT INTO t VALUES (1)' }, body.txId)).status, 200);
      assert.deepEqual(await post(stub, '/rollback', {}, body.txId), { status: 200, body: {} });
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 0 }]);
      const late = await post(stub, '/query', { sql: 'SELECT 1' }, body.txId);
      assert.equal(late.status, 409);
      assert.equal(late.body.code, 'TRANSACTION_EXPIRED');
      assert.match(late.body.error, /rolled back/);
    });

    test('a throw in fn rolls back and rethrows the same error', async () => {
      const { db } = fresh(backend, 'throw');
      await db.run('CREATE TABLE t (v)');
      const boom = new Error('boom');
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO t VALUES (1)');
          throw boom;
        }),
        (err) => err === boom,
      );
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 0 }]);
      // The object is free again: a new transaction starts at once.
      await db.transaction(async (tx) => tx.run('INSERT INTO t VALUES (2)'));
      assert.deepEqual(await db.query('SELECT v FROM t'), [{ v: 2 }]);
    });

    test('another client\'s read issued while the transaction is open waits, then sees only committed data', async () => {
      const { db, other } = fresh(backend, 'isolation');
      await db.run('CREATE TABLE t (v)');
      /** @type {string[]} */
      const events = [];
      /** @type {Promise<any[]> | undefined} */
      let read;
      await db.transaction(async (tx) => {
        await tx.run("INSERT INTO t VALUES ('uncommitted-1')");
        read = other.query('SELECT v FROM t ORDER BY rowid').then((rows) => {
          events.push('read answered');
          return rows;
        });
        // Let the read reach the object (it must wait there, whatever the delay).
        await sleep(100);
        await tx.run("INSERT INTO t VALUES ('uncommitted-2')");
        events.push('last statement answered');
      });
      const rows = await read;
      // The read was held until the commit, which was sent after the last statement
      // was answered (the commit's and the read's answers then race back, so their
      // order here says nothing); it saw both rows, so it ran after the commit.
      assert.deepEqual(events, ['last statement answered', 'read answered']);
      assert.deepEqual(rows, [{ v: 'uncommitted-1' }, { v: 'uncommitted-2' }]);

      // And when the transaction rolls back, the waiting read sees none of it.
      /** @type {Promise<any[]> | undefined} */
      let read2;
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run("INSERT INTO t VALUES ('never')");
          read2 = other.query('SELECT count(*) AS n FROM t');
          await sleep(100);
          throw new Error('abandon');
        }),
        /abandon/,
      );
      assert.deepEqual(await read2, [{ n: 2 }]);
    });

    test('writers (and a second transaction) waiting on an open transaction run in arrival order', async () => {
      const { db, other } = fresh(backend, 'fifo');
      await db.run('CREATE TABLE log (seq INTEGER PRIMARY KEY, who TEXT NOT NULL)');
      /** @type {Promise<unknown>[]} */
      const waiting = [];
      await db.transaction(async (tx) => {
        await tx.run("INSERT INTO log (who) VALUES ('tx')");
        for (const who of ['w1', 'w2', 'tx2', 'w3', 'w4']) {
          waiting.push(
            who === 'tx2'
              ? other.transaction(async (t2) => {
                  await t2.run("INSERT INTO log (who) VALUES ('tx2-a')");
                  await t2.run("INSERT INTO log (who) VALUES ('tx2-b')");
                })
              : other.run('INSERT INTO log (who) VALUES (?)', [who]),
          );
          await sleep(20); // arrival order is what is asserted, not how long anything took
        }
        await tx.run("INSERT INTO log (who) VALUES ('tx-end')");
      });
      await Promise.all(waiting);
      const log = (await db.query('SELECT who FROM log ORDER BY seq')).map((r) => r.who);
      assert.deepEqual(log, ['tx', 'tx-end', 'w1', 'w2', 'tx2-a', 'tx2-b', 'w3', 'w4']);
    });

    test('idle timeout: an idle transaction is rolled back, waiting requests proceed, its id answers 409 "idled out"', async () => {
      const { db, other, stub } = fresh(backend, 'idle');
      await db.run('CREATE TABLE t (v)');
      const begun = await post(stub, '/begin', { timeoutMs: 200 });
      assert.equal(begun.status, 200);
      assert.equal(begun.body.timeoutMs, 200);
      const { txId } = begun.body;
      assert.equal((await post(stub, '/run', { sql: 'INSERT INTO t VALUES (1)' }, txId)).status, 200);
      // This read waits for the transaction, which nobody ends: the timer does.
      const waited = await other.query('SELECT count(*) AS n FROM t');
      assert.deepEqual(waited, [{ n: 0 }]);
      const late = await post(stub, '/run', { sql: 'INSERT INTO t VALUES (2)' }, txId);
      assert.equal(late.status, 409);
      assert.equal(late.body.code, 'TRANSACTION_EXPIRED');
      assert.match(late.body.error, /idled out after 200 ms/);
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 0 }]);

      // Through the client: fn's next statement rejects with the same error.
      await rejectsWith(
        db.transaction(
          async (tx) => {
            await tx.run('INSERT INTO t VALUES (3)');
            await sleep(500);
            await tx.run('INSERT INTO t VALUES (4)');
          },
          { timeoutMs: 200 },
        ),
        { status: 409, code: 'TRANSACTION_EXPIRED', message: /idled out/ },
      );
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM t'), [{ n: 0 }]);
    });

    test('an unknown txId answers 409 TRANSACTION_EXPIRED, naming a restart of the object as a cause', async () => {
      const { stub } = fresh(backend, 'unknown');
      for (const path of ['/query', '/run', '/commit', '/rollback', '/batch']) {
        const r = await post(stub, path, { sql: 'SELECT 1', operations: [] }, 'no-such-transaction');
        assert.equal(r.status, 409, path);
        assert.equal(r.body.code, 'TRANSACTION_EXPIRED');
        // A restart (a deploy, an eviction) forgets the ids it gave: the client's id was right.
        assert.match(r.body.error, /unknown to it \(never given by it, .* or lost when the object restarted, .*: then its writes were rolled back\)/);
      }
    });

    test('timeoutMs out of range (or not a whole number) answers 400 BAD_REQUEST', async () => {
      const { stub, db } = fresh(backend, 'range');
      for (const timeoutMs of [0, 99, 60001, 250.5, '1000']) {
        const r = await post(stub, '/begin', { timeoutMs });
        assert.equal(r.status, 400, JSON.stringify(timeoutMs));
        assert.equal(r.body.code, 'BAD_REQUEST');
        assert.match(r.body.error, /timeoutMs/);
      }
      await rejectsWith(db.transaction(async () => 1, { timeoutMs: 50 }), { status: 400, code: 'BAD_REQUEST' });
      // None of them left a transaction open.
      assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
      for (const timeoutMs of [100, 60000]) {
        const r = await post(stub, '/begin', { timeoutMs });
        assert.equal(r.status, 200);
        assert.equal((await post(stub, '/commit', {}, r.body.txId)).status, 200);
      }
    });

    test('a statement error inside a transaction fails alone; the transaction stays open and usable', async () => {
      const { db } = fresh(backend, 'stmt-error');
      await db.run('CREATE TABLE t (k TEXT PRIMARY KEY)');
      await db.transaction(async (tx) => {
        await tx.run("INSERT INTO t VALUES ('a')");
        await rejectsWith(tx.run("INSERT INTO t VALUES ('a')"), {
          status: 409,
          code: 'SQLITE_CONSTRAINT_PRIMARYKEY',
          message: /UNIQUE constraint failed: t.k/,
        });
        await rejectsWith(tx.query('SELECT * FROM nowhere'), { status: 400, message: /no such table: nowhere/ });
        await tx.run("INSERT INTO t VALUES ('b')");
      });
      assert.deepEqual(await db.query('SELECT k FROM t ORDER BY k'), [{ k: 'a' }, { k: 'b' }]);
    });

    test('/batch returns every statement\'s result and is all or nothing', async () => {
      const { db } = fresh(backend, 'batch');
      await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE)');
      const results = await db.batch([
        { sql: 'INSERT INTO t (k) VALUES (?)', params: ['a'] },
        { sql: 'INSERT INTO t (k) VALUES (?)', params: ['b'] },
        'SELECT k FROM t ORDER BY id',
        { sql: 'UPDATE t SET k = upper(k)' },
      ]);
      assert.deepEqual(results, [
        { rows: [], rowsAffected: 1, lastInsertRowId: 1 },
        { rows: [], rowsAffected: 1, lastInsertRowId: 2 },
        { rows: [{ k: 'a' }, { k: 'b' }], rowsAffected: 0, lastInsertRowId: 0 },
        { rows: [], rowsAffected: 2, lastInsertRowId: 0 },
      ]);
      await rejectsWith(
        db.batch([
          { sql: 'INSERT INTO t (k) VALUES (?)', params: ['c'] },
          { sql: 'INSERT INTO t (k) VALUES (?)', params: ['A'] },
        ]),
        { status: 409, operation: 1, message: /UNIQUE constraint failed: t.k/ },
      );
      assert.deepEqual(await db.query('SELECT k FROM t ORDER BY id'), [{ k: 'A' }, { k: 'B' }]);
    });

    test('/batch inside a transaction is atomic within it, and the transaction stays open after it fails', async () => {
      const { db } = fresh(backend, 'batch-tx');
      await db.run('CREATE TABLE t (k TEXT PRIMARY KEY)');
      await db.transaction(async (tx) => {
        await tx.run("INSERT INTO t VALUES ('before')");
        const ok = await tx.batch(["INSERT INTO t VALUES ('b1')", 'SELECT count(*) AS n FROM t']);
        assert.deepEqual(ok[1].rows, [{ n: 2 }]);
        await rejectsWith(tx.batch(["INSERT INTO t VALUES ('b2')", "INSERT INTO t VALUES ('before')"]), {
          status: 409,
          operation: 1,
        });
        assert.deepEqual(await tx.query('SELECT k FROM t ORDER BY k'), [{ k: 'b1' }, { k: 'before' }]);
        await tx.run("INSERT INTO t VALUES ('after')");
      });
      assert.deepEqual(await db.query('SELECT k FROM t ORDER BY k'), [{ k: 'after' }, { k: 'b1' }, { k: 'before' }]);
    });

    test('/transaction (the guide\'s batch shape) still answers the last result, inside a transaction too', async () => {
      const { db, stub } = fresh(backend, 'old-shape');
      await db.run('CREATE TABLE t (v)');
      await db.transaction(async (tx) => {
        const r = await post(stub, '/transaction', {
          operations: [
            { type: 'run', sql: 'INSERT INTO t VALUES (?)', params: [1] },
            { type: 'query', sql: 'SELECT count(*) AS n FROM t' },
          ],
        }, tx.txId);
        assert.deepEqual(r, { status: 200, body: [{ n: 1 }] });
      });
      assert.deepEqual(await db.query('SELECT v FROM t'), [{ v: 1 }]);
    });

    test('PRAGMA foreign_keys in /exec, /batch and /transaction applies to the end of the request: a table rebuild keeps the children; an orphan fails it', async () => {
      // SQLite ignores the PRAGMA inside a transaction, and each of these runs in one:
      // the rebuild drizzle-kit writes (and drizzle's D1 migrator sends as one batch)
      // then deleted every child through ON DELETE CASCADE.
      const { db, stub } = fresh(backend, 'fk-rebuild');
      await db.run('CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT)');
      await db.run('CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE)');
      await db.run("INSERT INTO parent VALUES (1, 'p'), (2, 'q')");
      await db.run('INSERT INTO child VALUES (10, 1), (20, 2)');
      const rebuild = (n) => [
        'PRAGMA foreign_keys=OFF',
        `CREATE TABLE __new_parent (id INTEGER PRIMARY KEY, name TEXT, v${n} INTEGER)`,
        'INSERT INTO __new_parent (id, name) SELECT id, name FROM parent',
        'DROP TABLE parent',
        'ALTER TABLE __new_parent RENAME TO parent',
        'PRAGMA foreign_keys=ON',
      ];
      const children = async () => (await db.query('SELECT id FROM child ORDER BY id')).map((r) => r.id);
      let r = await post(stub, '/exec', { sql: rebuild(1).join(';\n') });
      assert.deepEqual(r, { status: 200, body: { count: 6, databaseChanged: true } });
      assert.deepEqual(await children(), [10, 20]);
      r = await post(stub, '/batch', { operations: rebuild(2).map((sql) => ({ sql })) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(await children(), [10, 20]);
      // The same PRAGMA text again (a statement the engine may keep) applies again.
      r = await post(stub, '/transaction', { operations: rebuild(3).map((sql) => ({ type: 'run', sql })) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(await children(), [10, 20]);
      // Foreign keys are on again after each: a delete cascades.
      await db.run('DELETE FROM parent WHERE id = 2');
      assert.deepEqual(await children(), [10]);
      // One that leaves a child without its parent fails whole, naming the row, as a migration does.
      r = await post(stub, '/exec', { sql: 'PRAGMA foreign_keys=OFF; DELETE FROM parent WHERE id = 1; PRAGMA foreign_keys=ON' });
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(r.body.code, 'SQLITE_CONSTRAINT_FOREIGNKEY');
      assert.match(r.body.error, /the request turns foreign keys off .* leaves a row of child \(rowid 10\) whose foreign key finds no row in parent/);
      r = await post(stub, '/batch', { operations: [{ sql: 'PRAGMA foreign_keys=OFF' }, { sql: 'DELETE FROM parent' }] });
      assert.equal(r.body.code, 'SQLITE_CONSTRAINT_FOREIGNKEY', JSON.stringify(r.body));
      assert.deepEqual(await children(), [10]);
      // The PRAGMA lasts to the end of its request: foreign keys are on for every
      // request, as in D1, whatever one sent alone (a connection setting otherwise).
      for (const ops of [[{ sql: 'PRAGMA foreign_keys=OFF' }], [{ sql: 'PRAGMA foreign_keys=OFF' }, { sql: 'SELECT 1' }]]) {
        assert.equal((await post(stub, '/batch', { operations: ops })).status, 200);
        assert.deepEqual(await db.query('PRAGMA foreign_keys'), [{ foreign_keys: 1 }]);
      }
      await db.run('PRAGMA foreign_keys=OFF');
      const orphan = await post(stub, '/run', { sql: 'INSERT INTO child VALUES (30, 3)' });
      assert.equal(orphan.body.code, 'SQLITE_CONSTRAINT_FOREIGNKEY', JSON.stringify(orphan.body));
      // Inside an interactive transaction SQLite's rule stands: the PRAGMA does nothing there.
      await db.transaction(async (tx) => {
        await tx.exec('PRAGMA foreign_keys=OFF');
        assert.deepEqual(await tx.query('PRAGMA foreign_keys'), [{ foreign_keys: 1 }]);
      });
      // A libSQL sequence may leave a child unmatched (hrana.md): the next rebuild
      // answers for the rows it leaves, not for that one.
      r = await post(stub, '/v2/pipeline', { baton: null, requests: [
        { type: 'sequence', sql: 'PRAGMA foreign_keys=OFF; DELETE FROM parent;' }, { type: 'close' }] });
      assert.equal(r.body.results[0].type, 'ok', JSON.stringify(r.body));
      r = await post(stub, '/exec', { sql: rebuild(4).join(';\n') });
      assert.deepEqual(r, { status: 200, body: { count: 6, databaseChanged: true } });
      assert.deepEqual(await children(), [10]);
    });

    test('50 concurrent clients each read-modify-write a counter in a transaction: it ends at exactly 50', { timeout: 120_000 }, async () => {
      const name = tenant('counter');
      const setup = createClient(stubOf(world, backend, name));
      await setup.run('CREATE TABLE counter (n INTEGER NOT NULL)');
      await setup.run('INSERT INTO counter (n) VALUES (0)');
      const clients = Array.from({ length: 50 }, () => createClient(stubOf(world, backend, name)));
      await Promise.all(
        clients.map((c) =>
          c.transaction(async (tx) => {
            const { n } = await tx.queryOne('SELECT n FROM counter');
            await tx.run('UPDATE counter SET n = ?', [n + 1]);
          }),
        ),
      );
      assert.deepEqual(await setup.query('SELECT n FROM counter'), [{ n: 50 }]);
    });

    describe('the guide\'s checkout example (Transactions in Actions)', () => {
      /** The guide's action body, unchanged in shape; `db` stands for locals.db. */
      async function checkout(/** @type {any} */ db, /** @type {string} */ userId, /** @type {{product_id: number, quantity: number, price: number}[]} */ cart) {
        const total = cart.reduce((sum, item) => sum + item.price * item.quantity, 0);

        // Transaction ensures all-or-nothing
        const orderId = await db.transaction(async (/** @type {any} */ tx) => {
          // Create order
          const orderResult = await tx.run(
            `INSERT INTO orders (user_id, total, status, created_at)
             VALUES (?, ?, 'pending', CURRENT_TIMESTAMP)`,
            [userId, total],
          );

          const orderId = orderResult.lastInsertRowId;

          // Add order items and update inventory
          for (const item of cart) {
            // Check stock
            const product = await tx.queryOne('SELECT stock FROM products WHERE id = ?', [item.product_id]);

            if (!product || product.stock < item.quantity) {
              throw new Error(`Insufficient stock for product ${item.product_id}`);
            }

            // Add order item
            await tx.run(
              `INSERT INTO order_items (order_id, product_id, quantity, price)
               VALUES (?, ?, ?, ?)`,
              [orderId, item.product_id, item.quantity, item.price],
            );

            // Decrement stock
            await tx.run('UPDATE products SET stock = stock - ? WHERE id = ?', [item.quantity, item.product_id]);
          }

          return orderId;
        });
        return orderId;
      }

      /** @param {any} db */
      async function shop(db) {
        await db.batch([
          'CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, stock INTEGER NOT NULL)',
          'CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, total REAL NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL)',
          'CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id), product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL, price REAL NOT NULL)',
          "INSERT INTO products (id, name, stock) VALUES (1, 'mug', 5), (2, 'tee', 2)",
          // An earlier order, so the new order's id is not 1 by accident.
          "INSERT INTO orders (id, user_id, total, status, created_at) VALUES (41, 'old', 1, 'done', '2020-01-01')",
        ]);
      }

      test('success: the order, its items with the order\'s real id, and the stock decremented', async () => {
        const { db } = fresh(backend, 'checkout');
        await shop(db);
        const orderId = await checkout(db, 'u7', [
          { product_id: 1, quantity: 2, price: 9.5 },
          { product_id: 2, quantity: 2, price: 20 },
        ]);
        assert.equal(orderId, 42);
        assert.deepEqual(await db.query('SELECT id, user_id, total, status FROM orders WHERE id = ?', [orderId]), [
          { id: 42, user_id: 'u7', total: 59, status: 'pending' },
        ]);
        assert.deepEqual(await db.query('SELECT order_id, product_id, quantity, price FROM order_items ORDER BY id'), [
          { order_id: 42, product_id: 1, quantity: 2, price: 9.5 },
          { order_id: 42, product_id: 2, quantity: 2, price: 20 },
        ]);
        assert.deepEqual(await db.query('SELECT id, stock FROM products ORDER BY id'), [{ id: 1, stock: 3 }, { id: 2, stock: 0 }]);
      });

      test('insufficient stock: it throws and nothing is written', async () => {
        const { db } = fresh(backend, 'checkout-short');
        await shop(db);
        await assert.rejects(
          checkout(db, 'u8', [
            { product_id: 1, quantity: 1, price: 9.5 },
            { product_id: 2, quantity: 3, price: 20 },
          ]),
          { message: 'Insufficient stock for product 2' },
        );
        assert.deepEqual(await db.query('SELECT count(*) AS n FROM orders'), [{ n: 1 }]);
        assert.deepEqual(await db.query('SELECT count(*) AS n FROM order_items'), [{ n: 0 }]);
        assert.deepEqual(await db.query('SELECT id, stock FROM products ORDER BY id'), [{ id: 1, stock: 5 }, { id: 2, stock: 2 }]);
      });
    });
  });
}

describe('a page fault inside a transaction (kv)', () => {
  const cold = createWorld('transactions-fault');
  // With change capture on (the default): /begin reads the log's cold tail, so the
  // transaction's first INSERT, which appends to it, does not fault.
  const options = { classOptions: { cacheBytes: 256 * 1024 } };
  before(() => cold.start(options));
  after(() => cold.destroy());

  test('rolls the transaction back, answers 503 TRANSACTION_ABORTED, ends the id; a retry then succeeds', { timeout: 120_000 }, async () => {
    const name = tenant('fault');
    let db = createClient(stubOf(cold, 'kv', name));
    await db.run('CREATE TABLE item (id INTEGER PRIMARY KEY, pad BLOB NOT NULL)');
    // About 2 MB, far more than the 256 KB cache: after a restart most pages are cold.
    await db.run(
      `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)
       INSERT INTO item (id, pad) SELECT i, randomblob(1000) FROM c`,
    );
    await cold.restart(options);
    const stub = stubOf(cold, 'kv', name);
    db = createClient(stub);
    await db.run('CREATE TABLE mark (v)'); // opens the database; the item pages stay cold
    const { body: { txId } } = await post(stub, '/begin', {});
    assert.equal((await post(stub, '/run', { sql: 'INSERT INTO mark VALUES (1)' }, txId)).status, 200);
    const faulted = await post(stub, '/query', { sql: 'SELECT sum(length(pad)) AS b FROM item' }, txId);
    assert.equal(faulted.status, 503);
    assert.equal(faulted.body.code, 'TRANSACTION_ABORTED');
    assert.match(faulted.body.error, /retry the transaction/);
    const late = await post(stub, '/commit', {}, txId);
    assert.equal(late.status, 409);
    assert.match(late.body.error, /aborted/);
    assert.deepEqual(await db.query('SELECT count(*) AS n FROM mark'), [{ n: 0 }]);
    // Retrying the whole transaction works once its pages are in (it may fault again
    // while the read-ahead catches up; each attempt fetches more).
    let result;
    for (let attempt = 0; attempt < 64 && result === undefined; attempt++) {
      try {
        result = await db.transaction(async (tx) => {
          await tx.run('INSERT INTO mark VALUES (2)');
          return tx.queryOne('SELECT sum(length(pad)) AS b FROM item');
        });
      } catch (err) {
        if (!(err instanceof DoSQLError && err.code === 'TRANSACTION_ABORTED')) throw err;
      }
    }
    assert.deepEqual(result, { b: 2000 * 1000 });
    assert.deepEqual(await db.query('SELECT v FROM mark'), [{ v: 2 }]);
  });
});
