// DB(): DoSQL inside a Durable Object class the user writes, the SvelteKit guide's
// way (tests/worker/fixtures/guide-worker.js is the guide's class). In real workerd,
// on both backends: migrations applied once, query/run/transaction with real
// results, a throw rolls back, data survives a restart, one Database per object;
// `migrations: { folder }` answers the error naming the build hook; a cold tier
// logs a warning and everything still works.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomUUID } from 'node:crypto';
import { BACKENDS, REPO, TMP, createClient, requireWasm, startBothBackends, tenant } from './harness.js';
import { createClient as dosqlClient, DoSQLError } from '../../worker-shim/src/client/client.js';

const m001 = {
  name: '001_shop.sql',
  sql: `CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, stock INTEGER NOT NULL);
        CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, product_id INTEGER NOT NULL REFERENCES products(id));
        INSERT INTO products (id, name, stock) VALUES (7, 'widget', 1);`,
};
const m002 = { name: '002_users.sql', sql: 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL);' };

/**
 * A world serving the guide's class (SQL_DB SQLite-backed, KV_DB key-value).
 * @param {string} name
 * @param {{migrations?: any[], bindings?: Record<string, unknown>, r2Buckets?: string[]}} [options]
 */
function guideWorld(name, { migrations = [m001, m002], bindings = {}, r2Buckets } = {}) {
  const dir = join(TMP, `${name}-${randomUUID().slice(0, 8)}`);
  const persist = join(dir, 'persist');
  mkdirSync(persist, { recursive: true });
  const rel = (/** @type {string} */ p) => {
    const r = relative(dir, join(REPO, p)).split('\\').join('/');
    return r.startsWith('.') ? r : `./${r}`;
  };
  writeFileSync(join(dir, 'migrations.js'), `export default ${JSON.stringify(migrations)};\n`);
  writeFileSync(
    join(dir, 'worker.js'),
    [
      "import migrations from './migrations.js';",
      `import { makeGuideClasses } from '${rel('tests/worker/fixtures/guide-worker.js')}';`,
      `import { handle } from '${rel('tests/worker/fixtures/dosql-worker.js')}';`,
      'const { Sql, Kv } = makeGuideClasses(migrations);',
      'export { Sql as DoSQLSql, Kv as DoSQLKv };',
      'export default { fetch: handle };',
      '',
    ].join('\n'),
  );
  /** @type {any} */
  let mf = null;
  const world = {
    async start() {
      requireWasm();
      const r2 = r2Buckets ? { r2Buckets, r2Persist: join(dir, 'r2') } : {};
      mf = await startBothBackends(join(dir, 'worker.js'), persist, /** @type {any} */ (bindings), r2);
      return world;
    },
    async restart() {
      await mf?.dispose();
      mf = null;
      return world.start();
    },
    async destroy() {
      await mf?.dispose();
      mf = null;
      rmSync(dir, { recursive: true, force: true });
    },
    /**
     * The object as a stub that has only fetch, for dosql/client's createClient.
     * @param {'sql' | 'kv'} backend @param {string} name
     */
    stub(backend, name) {
      return {
        fetch: (/** @type {string} */ url, /** @type {any} */ init) => {
          const { pathname, search } = new URL(url);
          return mf.dispatchFetch(`http://localhost/${backend}/${name}${pathname}${search}`, init);
        },
      };
    },
    /** @param {'sql' | 'kv'} backend @param {string} name */
    client(backend, name) {
      return createClient((path, init) => mf.dispatchFetch(`http://localhost/${backend}/${name}${path}`, init));
    },
  };
  return world;
}

/** @type {ReturnType<typeof guideWorld>[]} */
const worlds = [];
after(async () => {
  for (const w of worlds) await w.destroy();
});
/** @param {Parameters<typeof guideWorld>} args */
async function startWorld(...args) {
  const world = guideWorld(...args);
  worlds.push(world);
  return world.start();
}

const shared = guideWorld('db-guide');
worlds.push(shared);
const started = shared.start();

for (const backend of BACKENDS) {
  describe(`DB() in the guide's own Durable Object class (${backend})`, () => {
    test('migrations are applied once, also when many first requests race', async () => {
      await started;
      const db = shared.client(backend, tenant('mig'));
      const answers = await Promise.all(Array.from({ length: 8 }, () => db.post('/query', { sql: 'SELECT count(*) AS n FROM products' })));
      for (const a of answers) assert.deepEqual([a.status, a.body], [200, { rows: [{ n: 1 }] }], a.text);
      assert.deepEqual((await db.query('SELECT name FROM _dosql_migrations ORDER BY name')).map((r) => r.name), ['001_shop.sql', '002_users.sql']);
    });

    test('query, run and the guide\'s /transaction give real results', async () => {
      await started;
      const db = shared.client(backend, tenant('rw'));
      assert.deepEqual(await db.run('INSERT INTO users (email) VALUES (?)', ['ann@x.io']), { rowsAffected: 1, lastInsertRowId: 1 });
      assert.deepEqual(await db.query('SELECT id, email FROM users'), [{ id: 1, email: 'ann@x.io' }]);
      // Inside the transaction a query sees the row inserted just before it.
      const rows = await db.transaction([
        { type: 'run', sql: 'INSERT INTO users (email) VALUES (?)', params: ['bob@x.io'] },
        { type: 'query', sql: 'SELECT id, email FROM users WHERE email = ?', params: ['bob@x.io'] },
      ]);
      assert.deepEqual(rows, [{ id: 2, email: 'bob@x.io' }]);
      assert.deepEqual(
        await db.transaction([{ type: 'run', sql: 'UPDATE users SET email = upper(email)' }]),
        { rowsAffected: 2, lastInsertRowId: 0 },
      );
      const batch = await db.post('/batch', { statements: ['SELECT count(*) AS n FROM users', { sql: 'DELETE FROM users WHERE id = ?', params: [1] }] });
      assert.equal(batch.status, 200, batch.text);
      assert.deepEqual(batch.body.results, [
        { rows: [{ n: 2 }], rowsAffected: 0, lastInsertRowId: 0 },
        { rows: [], rowsAffected: 1, lastInsertRowId: 0 },
      ]);
      const types = await db.fetch('/types');
      assert.deepEqual(types.body, { big: '9007199254740993', blob: [1, 2, 255], inf: true });
      // (Key-value storage keeps no history to branch from: that is said first.)
      const { refused, served } = (await db.fetch('/own-branch')).body;
      assert.equal(refused?.code, backend === 'sql' ? 'BAD_CONFIG' : 'HISTORY_UNSUPPORTED', JSON.stringify(refused));
      if (backend === 'sql') assert.match(refused.error, /class of your own \(DB\(\)\) cannot make a branch/);
      // Over HTTP the same, not RPC_ONLY: this class has no stub.branch() to point to.
      assert.deepEqual([served.status, served.code], [500, 'BAD_CONFIG'], JSON.stringify(served));
    });

    test('a throw inside transaction() rolls back; a failing statement does too, with SQLite\'s message and code', async () => {
      await started;
      const db = shared.client(backend, tenant('rb'));
      const first = await db.post('/checkout', { productId: 7, userId: 1 });
      assert.deepEqual([first.status, first.body], [200, { orderId: 1 }], first.text);
      // Out of stock: fn throws after nothing; stock stays 0, no second order.
      const second = await db.post('/checkout', { productId: 7, userId: 2 });
      assert.equal(second.status, 500);
      assert.equal(second.body.error, 'Insufficient stock');
      // fn throws after writing: the writes are rolled back.
      await db.run('UPDATE products SET stock = 5 WHERE id = 7');
      const failed = await db.post('/transaction', {
        operations: [
          { type: 'run', sql: 'INSERT INTO users (email) VALUES (?)', params: ['x@x.io'] },
          { type: 'run', sql: 'UPDATE products SET stock = 0 WHERE id = 7' },
          { type: 'run', sql: 'INSERT INTO users (email) VALUES (?)', params: ['x@x.io'] },
        ],
      });
      assert.equal(failed.status, 500, failed.text);
      assert.deepEqual([failed.body.name, failed.body.code], ['DoSQLError', 'SQLITE_CONSTRAINT_UNIQUE']);
      assert.match(failed.body.error, /UNIQUE constraint failed: users\.email/);
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM users'), [{ n: 0 }]);
      assert.deepEqual(await db.query('SELECT stock FROM products WHERE id = 7'), [{ stock: 5 }]);
      assert.deepEqual(await db.query('SELECT user_id FROM orders'), [{ user_id: 1 }]);
      // Errors outside a transaction are DoSQLErrors too.
      const bad = await db.post('/query', { sql: 'SELECT * FROM nope' });
      assert.deepEqual([bad.status, bad.body.code], [500, 'SQLITE_ERROR']);
      assert.match(bad.body.error, /no such table: nope/);
    });

    test('one Database per object: concurrent DB() calls share it; other options are refused', async () => {
      await started;
      const db = shared.client(backend, tenant('same'));
      const a = await db.fetch('/same');
      assert.equal(a.status, 200, a.text);
      assert.equal(a.body.same, true);
      assert.equal(a.body.other?.code, 'BAD_CONFIG');
      assert.match(a.body.other.error, /one Database per object/);
      // ctx on one call and not on another is another option too (not ignored).
      assert.equal(a.body.withCtx?.code, 'BAD_CONFIG');
    });

    test('a page size or CPU budget that is no whole number from 0 to 2^32 - 1 is refused with BAD_CONFIG (none wraps to the default)', async () => {
      await started;
      const a = await shared.client(backend, tenant('bad-options')).fetch('/bad-options');
      assert.equal(a.status, 200, a.text);
      assert.equal(a.body.length, 7);
      for (const r of a.body) {
        assert.equal(r.code, 'BAD_CONFIG', JSON.stringify(r));
        assert.match(r.error, /(pageSize|cpuBudgetMs) must be a whole number/);
      }
    });
  });
}

describe('DB() across restarts and configurations', () => {
  test('data survives a restart and the migrations are not applied again (both backends)', async () => {
    const world = await startWorld('db-restart');
    const names = { sql: tenant('keep'), kv: tenant('keep') };
    for (const backend of BACKENDS) {
      const db = world.client(backend, names[backend]);
      await db.run('INSERT INTO users (email) VALUES (?)', [`${backend}@x.io`]);
      await db.transaction([{ type: 'run', sql: 'UPDATE products SET stock = 42' }]);
    }
    await world.restart();
    for (const backend of BACKENDS) {
      const db = world.client(backend, names[backend]);
      assert.deepEqual(await db.query('SELECT email FROM users'), [{ email: `${backend}@x.io` }]);
      assert.deepEqual(await db.query('SELECT count(*) AS n, max(stock) AS s FROM products'), [{ n: 1, s: 42 }], 'the seed ran once');
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM _dosql_migrations'), [{ n: 2 }]);
      assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    }
  });

  test('migrations: { folder } is refused with the build hook that bundles it', async () => {
    const world = await startWorld('db-folder', { bindings: { GUIDE_MIGRATIONS: 'folder' } });
    for (const backend of BACKENDS) {
      const a = await world.client(backend, tenant('folder')).post('/query', { sql: 'SELECT 1' });
      assert.equal(a.status, 500, a.text);
      assert.equal(a.body.code, 'BAD_CONFIG');
      assert.match(a.body.error, /Workers have no file system/);
      assert.match(a.body.error, /\.do\/migrations/);
      assert.match(a.body.error, /\[build\] command = "node node_modules\/dosql\/bin\/bundle-migrations\.mjs \.do\/migrations src\/migrations\.generated\.js"/);
    }
  });

  test('a failing migration rejects DB() with MIGRATION_FAILED, every time (it is not kept)', async () => {
    const broken = { name: '003_broken.sql', sql: 'INSERT INTO no_such_table VALUES (1);' };
    const world = await startWorld('db-migfail', { migrations: [m001, m002, broken] });
    for (const backend of BACKENDS) {
      const db = world.client(backend, tenant('mf'));
      for (let i = 0; i < 2; i++) {
        const a = await db.post('/query', { sql: 'SELECT 1' });
        assert.equal(a.status, 500, a.text);
        assert.equal(a.body.code, 'MIGRATION_FAILED');
        assert.match(a.body.error, /003_broken\.sql/);
      }
    }
  });

  test("dosql/client against the guide's class: its router's 404 for /begin is NOT_DOSQL naming db.serve(request); with db.serve the whole protocol works", async () => {
    const plain = await startWorld('db-unserved');
    const served = await startWorld('db-served', { bindings: { GUIDE_SERVE: 'on' } });
    for (const backend of BACKENDS) {
      const name = tenant('serve');
      const unserved = dosqlClient(plain.stub(backend, name));
      assert.deepEqual(await unserved.query('SELECT stock FROM products'), [{ stock: 1 }]);   // the guide's own /query
      await assert.rejects(
        unserved.transaction(async (tx) => tx.run('UPDATE products SET stock = 0')),
        (/** @type {any} */ err) => {
          assert.ok(err instanceof DoSQLError, String(err));
          assert.equal(err.code, 'NOT_DOSQL');
          assert.equal(err.status, 404);
          assert.match(err.message, /\/begin with 404 "Not Found".*return db\.serve\(request\)/);
          return true;
        },
      );

      const db = dosqlClient(served.stub(backend, name));
      const orderId = await db.transaction(async (tx) => {
        const product = await tx.queryOne('SELECT stock FROM products WHERE id = ?', [7]);
        assert.equal(product?.stock, 1);                                     // a real read inside
        const { lastInsertRowId } = await tx.run('INSERT INTO orders (user_id, product_id) VALUES (?, ?)', [1, 7]);
        await tx.run('UPDATE products SET stock = stock - 1 WHERE id = ?', [7]);
        return lastInsertRowId;
      });
      assert.equal(orderId, 1);
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO orders (user_id, product_id) VALUES (?, ?)', [2, 7]);
          throw new Error('out of stock');
        }),
        /out of stock/,
      );
      assert.deepEqual(await db.query('SELECT id FROM orders'), [{ id: 1 }]);   // the throw rolled back
      assert.deepEqual(await db.query('SELECT stock FROM products'), [{ stock: 0 }]);
      // Through a real stub inside workerd: the guide's class does not extend
      // DurableObject, so the client's RPC attempt is refused and it falls back to fetch.
      const rpc = await served.client(backend, name).post('/__rpc', { method: 'query', args: ['SELECT stock FROM products'], client: true });
      assert.deepEqual(rpc.body, { value: [{ stock: 0 }] }, rpc.text);
      const { body } = await served.client(backend, name).fetch('/stats');   // the class's own routes still answer
      assert.equal(typeof body.wasmMemoryBytes, 'number');
    }
  });

  test("the guide's bare R2 bucket is the cold tier of SQLite-backed objects; key-value objects warn once and keep pages hot", async () => {
    const world = await startWorld('db-cold', { r2Buckets: ['DATA_BUCKET'] });
    for (const backend of BACKENDS) {
      const db = world.client(backend, tenant('cold'));
      await db.run('INSERT INTO users (email) VALUES (?)', ['c@x.io']);
      assert.deepEqual(
        await db.transaction([{ type: 'query', sql: 'SELECT email FROM users' }]),
        [{ email: 'c@x.io' }],
      );
      const { body: stats } = await db.fetch('/stats');
      const { body } = await db.fetch('/warnings');
      const mine = body.warnings.filter((/** @type {string} */ w) => /cold tier/.test(w));
      if (backend === 'sql') {
        assert.equal(stats.storage.hotBudgetBytes, 1024 * 1024 * 1024, JSON.stringify(stats.storage));
        assert.equal(stats.storage.coldGroups, 0);
        assert.equal(mine.length, 0, JSON.stringify(body.warnings));
      } else {
        assert.equal(stats.storage.hotBudgetBytes, undefined, JSON.stringify(stats.storage));
        assert.equal(mine.length, 1, JSON.stringify(body.warnings));
        assert.match(mine[0], /DB\("sveltekit-app"\): the cold tier \(R2\) needs a SQLite-backed class/);
      }
    }
  });
});
