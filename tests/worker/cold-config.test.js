// cold-config.test.js — how the cold tier is configured, and what a wrong
// configuration answers, in real workerd (the default test worker's classes,
// with class options and Miniflare's R2).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, tenant } from './harness.js';

const MIGRATIONS = [{ name: '001_init.sql', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB NOT NULL);' }];
const TIERED = { migrations: MIGRATIONS, classOptions: { cold: { binding: 'COLD', hotBytes: 1024 * 1024, groupPages: 16 } }, r2Buckets: ['COLD'] };

const worlds = /** @type {ReturnType<typeof createWorld>[]} */ ([]);
after(() => Promise.all(worlds.map((w) => w.destroy())));

/** @param {import('./harness.js').WorldOptions} options */
async function startWorld(options) {
  const world = createWorld('cold-config');
  worlds.push(world);
  await world.start(options);
  return world;
}

test('a database with pages in R2 refuses to open without its cold tier, and opens again with it', async () => {
  const world = await startWorld(TIERED);
  const name = tenant('guard');
  const db = world.client('sql', name);
  await db.run("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO t (pad) SELECT zeroblob(3000) FROM n");
  const ns = await world.mf.getDurableObjectNamespace('SQL_DB');
  const object = ns.get(ns.idFromName(name));
  await object.maintainStorage();
  assert.ok((await object.stats()).storage.coldGroups > 0, 'pages moved to R2');

  await world.restart({ migrations: MIGRATIONS, r2Buckets: ['COLD'] });
  const refused = await world.client('sql', name).post('/query', { sql: 'SELECT count(*) AS n FROM t' });
  assert.equal(refused.status, 500, refused.text);
  assert.equal(refused.body.code, 'BAD_CONFIG');
  assert.match(refused.body.error, /keeps pages in R2, but no cold tier is configured/);

  await world.restart(TIERED);
  assert.deepEqual(await world.client('sql', name).query('SELECT count(*) AS n FROM t'), [{ n: 1000 }]);
});

test('a cold tier whose binding is missing answers BAD_CONFIG naming the binding', async () => {
  const world = await startWorld({ ...TIERED, r2Buckets: [] });
  const answer = await world.client('sql', tenant('nobinding')).post('/query', { sql: 'SELECT 1' });
  assert.equal(answer.status, 500, answer.text);
  assert.equal(answer.body.code, 'BAD_CONFIG');
  assert.match(answer.body.error, /env\.COLD is missing: add an \[\[r2_buckets\]\] binding named "COLD"/);
});

test('a hot budget below 1 MiB or a bad group size answers BAD_CONFIG saying which', async () => {
  for (const [cold, message] of [
    [{ binding: 'COLD', hotBytes: 1000 }, /cold\.hotBytes must be a whole number of bytes, at least 1048576; got 1000/],
    [{ binding: 'COLD', groupPages: 0 }, /cold\.groupPages must be a whole number from 1 to 256; got 0/],
  ]) {
    const world = await startWorld({ migrations: MIGRATIONS, classOptions: { cold }, r2Buckets: ['COLD'] });
    const answer = await world.client('sql', tenant('bad')).post('/query', { sql: 'SELECT 1' });
    assert.equal(answer.status, 500, answer.text);
    assert.equal(answer.body.code, 'BAD_CONFIG');
    assert.match(answer.body.error, message);
    await world.stop();
  }
});

test('the vars DOSQL_COLD_BUCKET, DOSQL_HOT_BYTES and DOSQL_GROUP_PAGES configure the standalone class', async () => {
  const world = await startWorld({
    migrations: MIGRATIONS,
    bindings: { DOSQL_COLD_BUCKET: 'COLD', DOSQL_HOT_BYTES: String(2 * 1024 * 1024), DOSQL_GROUP_PAGES: '32' },
    r2Buckets: ['COLD'],
  });
  const name = tenant('vars');
  await world.client('sql', name).run('INSERT INTO t (pad) VALUES (zeroblob(10))');
  const { storage } = await (await world.mf.dispatchFetch(`http://localhost/sql/${name}/stats`)).json();
  assert.equal(storage.hotBudgetBytes, 2 * 1024 * 1024);
  assert.equal(storage.groupPages, 32);
});

test('a cold tier var is named when it is wrong, refused when no cold tier is set, and overrides the class option', async () => {
  for (const [bindings, message] of /** @type {const} */ ([
    // Set without a bucket: not ignored, leaving every page in the object without a word.
    [{ DOSQL_HOT_BYTES: '2097152' }, /DOSQL_HOT_BYTES is set, but no cold tier is: name its R2 bucket binding in DOSQL_COLD_BUCKET/],
    [{ DOSQL_HOT_BYTES: '2097152', DOSQL_GROUP_PAGES: '16' }, /DOSQL_HOT_BYTES and DOSQL_GROUP_PAGES are set, but no cold tier is/],
    [{ DOSQL_COLD_BUCKET: '', DOSQL_GROUP_PAGES: '16' }, /DOSQL_COLD_BUCKET names an \[\[r2_buckets\]\] binding of the Worker; got ""/],
    // A value the tier refuses is said of the var that gave it.
    [{ DOSQL_COLD_BUCKET: 'COLD', DOSQL_HOT_BYTES: '5' }, /DOSQL_HOT_BYTES is "5": cold\.hotBytes must be a whole number of bytes, at least 1048576; got 5/],
    [{ DOSQL_COLD_BUCKET: 'COLD', DOSQL_GROUP_PAGES: '0' }, /DOSQL_GROUP_PAGES is "0": cold\.groupPages must be a whole number from 1 to 256/],
    [{ DOSQL_COLD_BUCKET: 'COLD', DOSQL_HOT_BYTES: '99999999999999999999' }, /DOSQL_HOT_BYTES is "99999999999999999999": cold\.hotBytes must be/],
    [{ DOSQL_COLD_BUCKET: 'COLD', DOSQL_GROUP_PAGES: '1e3' }, /DOSQL_GROUP_PAGES must be a whole number, in digits; got "1e3"/],
    [{ DOSQL_COLD_BUCKET: 'SECRET', SECRET: 'not a bucket' }, /DOSQL_COLD_BUCKET is "SECRET": cold\.bucket must be an R2 bucket binding \(add \[\[r2_buckets\]\] to the wrangler config\)$/],
    // A KV namespace has get, put and delete too: it took the pages, and no read got them back.
    [{ DOSQL_COLD_BUCKET: 'PAGES' }, /DOSQL_COLD_BUCKET is "PAGES": cold\.bucket must be an R2 bucket binding .*: this one has no head\(\) \(a KV namespace\?\)/],
  ])) {
    const world = await startWorld({ migrations: MIGRATIONS, bindings, r2Buckets: ['COLD'], kvNamespaces: ['PAGES'] });
    for (const backend of /** @type {const} */ (['sql', 'kv'])) {
      const answer = await world.client(backend, tenant('vars-bad')).post('/query', { sql: 'SELECT 1' });
      assert.deepEqual([answer.status, answer.body.code], [500, 'BAD_CONFIG'], `${JSON.stringify(bindings)}: ${answer.text}`);
      assert.match(answer.body.error, message);
    }
    await world.stop();
  }
  // A var overrides the class option's setting, as DOSQL_PAGE_SIZE overrides pageSize.
  const world = await startWorld({ ...TIERED, bindings: { DOSQL_HOT_BYTES: String(3 * 1024 * 1024) } });
  const name = tenant('vars-override');
  await world.client('sql', name).run('INSERT INTO t (pad) VALUES (zeroblob(10))');
  const { storage } = await (await world.mf.dispatchFetch(`http://localhost/sql/${name}/stats`)).json();
  assert.deepEqual([storage.hotBudgetBytes, storage.groupPages], [3 * 1024 * 1024, 16]);
});
