// The Durable Object class itself: page size configuration (class option and
// DOSQL_PAGE_SIZE), the largest page on the key-value backend (64 KiB, under its
// 128 KiB value limit), and a shim failure answered as 500 INTERNAL without
// sticking.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, BACKENDS, tenant } from './harness.js';
import { RECYCLE_MEMORY_BYTES } from '../../worker-shim/src/config.js';
import { checkCacheBytes } from '../../worker-shim/src/storage/kv.js';

/** @type {ReturnType<typeof createWorld>[]} */
const worlds = [];
after(async () => {
  for (const w of worlds) await w.destroy();
});
/** @param {string} name @param {import('./harness.js').WorldOptions} options */
async function startWorld(name, options) {
  const world = createWorld(name);
  worlds.push(world);
  return world.start(options);
}

for (const backend of BACKENDS) {
  describe(`database class (${backend})`, () => {
    test('stats() over RPC reports memory and the storage rows or keys written', async () => {
      const world = await startWorld(`stats-${backend}`, {});
      const name = tenant('st');
      const db = world.client(backend, name);
      await db.run('CREATE TABLE s (x)');
      await db.run('INSERT INTO s VALUES (1)');
      const ns = await world.mf.getDurableObjectNamespace(backend === 'sql' ? 'SQL_DB' : 'KV_DB');
      const stats = await ns.get(ns.idFromName(name)).stats();
      // More than the module's initial memory (10 pages): SQLite's heap is counted;
      // and no more than an engine may keep (worker-shim/src/config.js).
      assert.ok(stats.wasmMemoryBytes > 10 * 65536 && stats.wasmMemoryBytes <= RECYCLE_MEMORY_BYTES, JSON.stringify(stats));
      const written = backend === 'sql' ? stats.storage.rowsWritten : stats.storage.keysWritten;
      assert.ok(written >= 2, JSON.stringify(stats));
    });

    if (backend === 'sql') {
      test('a database stored in the first format (one row per page) is upgraded on open, and nothing is lost', async () => {
        const world = await startWorld('first-format', {});
        const name = tenant('v1');
        const db = world.client(backend, name);
        await db.run('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, n INTEGER)');
        await db.run('CREATE INDEX notes_n ON notes (n)');
        await db.run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) INSERT INTO notes (body, n) SELECT printf('note %d %s', x, hex(randomblob(200))), x % 17 FROM c");
        await db.run("UPDATE notes SET body = 'changed' WHERE n = 3");
        const read = async () => ({
          notes: await db.query('SELECT id, body, n FROM notes ORDER BY id'),
          changes: await db.query('SELECT lsn, type, tbl FROM _dosql_changes ORDER BY lsn'),
          schema: await db.query('SELECT type, name, sql FROM sqlite_schema ORDER BY name'),
        });
        const before = await read();
        const ns = await world.mf.getDurableObjectNamespace('SQL_DB');
        const tables = await ns.get(ns.idFromName(name)).testStoreInFirstFormat();
        assert.deepEqual(tables.filter((t) => t.startsWith('dosql_')), ['dosql_pages'], 'the object holds the first format');
        await ns.get(ns.idFromName(name)).testReopen().catch(() => {}); // the reset rejects the call itself
        assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
        assert.deepEqual(await read(), before);
        const upgraded = await ns.get(ns.idFromName(name)).sqlTables();
        assert.ok(!upgraded.includes('dosql_pages') && upgraded.includes('dosql_page_groups'), `upgraded: ${upgraded}`);
        await db.run("INSERT INTO notes (body, n) VALUES ('after the upgrade', 1)");
        await world.restart({});
        const again = world.client(backend, name);
        assert.deepEqual(await again.query('SELECT count(*) AS n FROM notes'), [{ n: 2001 }]);
        assert.deepEqual(await again.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
      });
    }

    test('a new database takes the class\'s page size; DOSQL_PAGE_SIZE overrides it', async () => {
      const byClass = await startWorld(`pagesize-${backend}`, { classOptions: { pageSize: 8192 } });
      assert.deepEqual(await byClass.client(backend, tenant('ps')).query('PRAGMA page_size'), [{ page_size: 8192 }]);
      const byEnv = await startWorld(`pagesize-env-${backend}`, { classOptions: { pageSize: 8192 }, bindings: { DOSQL_PAGE_SIZE: '1024' } });
      assert.deepEqual(await byEnv.client(backend, tenant('ps')).query('PRAGMA page_size'), [{ page_size: 1024 }]);
    });

    if (backend === 'kv') {
      test('a page key the class wrote itself stops the database with BAD_CONFIG naming the key, not INTERNAL', async () => {
        const world = await startWorld('kv-own-key', {});
        const name = tenant('own-key');
        const db = world.client(backend, name);
        await db.run('CREATE TABLE t (x)');
        const ns = await world.mf.getDurableObjectNamespace('KV_DB');
        const object = ns.get(ns.idFromName(name));
        await object.storagePut('p:1', 'mine');
        await object.testReopen().catch(() => {});
        const a = await db.post('/query', { sql: 'SELECT 1' });
        assert.deepEqual([a.status, a.body.code], [500, 'BAD_CONFIG'], a.text);
        assert.match(a.body.error, /the storage key p:1 holds a String, not a page of the database.*docs\/own-class\.md/);
      });
    }

    test('64 KiB pages work, survive a restart and check ok', async () => {
      const world = await startWorld(`page64k-${backend}`, { classOptions: { pageSize: 65536 } });
      const name = tenant('p64');
      let db = world.client(backend, name);
      await db.run('CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB)');
      await db.run('INSERT INTO b (v) SELECT randomblob(300000) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)');
      const before = await db.query('SELECT id, hex(substr(v, 1000, 32)) AS s, length(v) AS n FROM b ORDER BY id');
      await world.restart({ classOptions: { pageSize: 65536 } });
      db = world.client(backend, name);
      assert.deepEqual(await db.query('PRAGMA page_size'), [{ page_size: 65536 }]);
      assert.deepEqual(await db.query('SELECT id, hex(substr(v, 1000, 32)) AS s, length(v) AS n FROM b ORDER BY id'), before);
      assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    });

    test('an invalid DOSQL_PAGE_SIZE is 500 BAD_CONFIG naming the variable, on every request', async () => {
      const world = await startWorld(`pagesize-bad-${backend}`, { bindings: { DOSQL_PAGE_SIZE: '1000' } });
      const db = world.client(backend, tenant('bad'));
      for (let i = 0; i < 2; i++) {
        const a = await db.post('/query', { sql: 'SELECT 1' });
        assert.equal(a.status, 500, a.text);
        assert.equal(a.body.code, 'BAD_CONFIG');
        assert.match(a.body.error, /DOSQL_PAGE_SIZE/);
      }
      // Not a whole number at all: BAD_CONFIG too, naming where it was set.
      for (const [options, named] of /** @type {const} */ ([
        [{ bindings: { DOSQL_PAGE_SIZE: 'abc' } }, /DOSQL_PAGE_SIZE must be a whole number/],
        [{ classOptions: { pageSize: 4096.5 } }, /the pageSize option must be a whole number/],
        [{ classOptions: { pageSize: 2 ** 32 } }, /the pageSize option must be a whole number/],
        [{ classOptions: { cpuBudgetMs: -1 } }, /the cpuBudgetMs option must be a whole number/],
        [{ bindings: { DOSQL_CPU_BUDGET_MS: 'lots' } }, /DOSQL_CPU_BUDGET_MS must be a whole number/],
        // Nothing is coerced: a var is digits, an option a number.
        [{ bindings: { DOSQL_PAGE_SIZE: '0x2000' } }, /DOSQL_PAGE_SIZE must be a whole number, in digits; got "0x2000"/],
        [{ bindings: { DOSQL_PAGE_SIZE: ' 8192 ' } }, /DOSQL_PAGE_SIZE must be a whole number/],
        [{ bindings: { DOSQL_PAGE_SIZE: '' } }, /DOSQL_PAGE_SIZE must be a whole number/],
        [{ classOptions: { pageSize: '8192' } }, /the pageSize option must be a whole number/],
        [{ classOptions: { pageSize: [8192] } }, /the pageSize option must be a whole number/],
        [{ classOptions: { cpuBudgetMs: false } }, /the cpuBudgetMs option must be a whole number/],
        // null is no number either (only a setting left out is the default).
        [{ classOptions: { pageSize: null } }, /the pageSize option must be a whole number .*; got null/],
        [{ classOptions: { cpuBudgetMs: null } }, /the cpuBudgetMs option must be a whole number .*; got null/],
        [{ bindings: { DOSQL_CHANGES: 'false' } }, /DOSQL_CHANGES turns change capture "off" \(or "on"\); got "false"/],
      ])) {
        await world.restart(options);
        const a = await world.client(backend, tenant('bad')).post('/query', { sql: 'SELECT 1' });
        assert.deepEqual([a.status, a.body.code], [500, 'BAD_CONFIG'], a.text);
        assert.match(a.body.error, named);
      }
      // An option defineDoSQL does not take is refused when the class is defined, named:
      // misspelt, it would be dropped and its default used.
      for (const [options, named] of /** @type {const} */ ([
        [{ pagesize: 8192 }, /defineDoSQL\(\) takes .*"pagesize" is not one of them/],
        [{ cold: { binding: 'COLD', hotbytes: 2 << 20 } }, /cold takes \{binding\?, hotBytes\?, groupPages\?\}; "hotbytes" is not one of them/],
        [{ cold: { binding: 'COLD', prefix: 'tenant-a/' } }, /"prefix" is not one of them/],
        // No options object at all: said so, not "Cannot convert undefined or null to object".
        [null, /defineDoSQL\(\) takes \{migrations\?, .*\}; got null/],
        [[{ name: '001.sql', sql: '' }], /defineDoSQL\(\) takes \{migrations\?, .*\}; got an array of 1: \[/],
      ])) {
        const a = await world.client(backend, tenant('define')).post('/__define', options);
        assert.match(a.body.error ?? '', named, a.text);
      }
    });
  });
}

test('cacheBytes is checked where it is given (defineDoSQL at definition, DB() with BAD_CONFIG)', () => {
  assert.equal(checkCacheBytes(undefined), undefined);
  assert.equal(checkCacheBytes(1 << 20), 1 << 20);
  assert.equal(checkCacheBytes(16 * 1024), 16 * 1024);
  for (const bad of [0, -5, 1.5, '1000', null, 1, 4095, 16 * 1024 - 1, 2 ** 60]) assert.throws(() => checkCacheBytes(bad), /cacheBytes must be a whole number of bytes, at least 16384 \(four 4 KiB pages\)/, String(bad));
});
