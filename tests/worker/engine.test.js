// The engine wrapper and the key-value adapter, run in Node over in-memory
// storage: start-up checks, the fault-and-retry loop, its bound, host callbacks
// that misbehave, FIFO serialization, and the key-value write batching.
// (The same code runs in workerd in the other test files.)

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { compileWasm, defaultMigrations } from './harness.js';
import { Engine, EngineBrokenError, EngineStartError, EXPORT_NAMES } from '../../worker-shim/src/wasm/engine.js';
import { ABI_VERSION } from '../../worker-shim/src/wasm/contract.js';
import { KvPageStorage } from '../../worker-shim/src/storage/kv.js';
import { FAULT, createImports, parseBatch, PAGE_ERROR, PAGE_FAULT, PAGE_MISSING, PAGE_OK, COMMIT_ERROR } from '../../worker-shim/src/wasm/host.js';
import { MemoryPages, FakeKvStorage, TINY_TEXT_ADDRESS, tinyModule } from './fixtures/memory-storage.js';
import { SPARE_DELAY_MS, SPARE_HEAP_BYTES } from '../../worker-shim/src/config.js';

/** @type {WebAssembly.Module} */
let mod;
/** @type {{name: string, sql: string}[]} */
let migrations;

before(async () => {
  mod = await compileWasm();
  migrations = await defaultMigrations();
});

const decoder = new TextDecoder();
/** @param {{status: number, body: Uint8Array}} r */
const json = (r) => JSON.parse(decoder.decode(r.body));
const bytes = (/** @type {unknown} */ v) => new TextEncoder().encode(JSON.stringify(v));

/** Open + migrate; assert both succeed. @param {Engine} engine */
async function ready(engine) {
  const opened = await engine.open(0);
  assert.equal(opened.status, 200, decoder.decode(opened.body));
  const migrated = await engine.migrate(migrations);
  assert.equal(migrated.status, 200, decoder.decode(migrated.body));
}

/**
 * Open, migrate and query on an engine; the first answer that is not 200.
 * @param {Engine} engine
 */
async function firstFailure(engine) {
  for (const call of [
    () => engine.open(0),
    () => engine.migrate(migrations),
    () => engine.request('POST', '/query', bytes({ sql: 'SELECT count(*) FROM users' })),
  ]) {
    const r = await call();
    if (r.status !== 200) return r;
  }
  return null;
}

/** Silence console.error/warn while fn runs; return what was logged. */
async function quietly(fn) {
  const logged = [];
  const { error, warn } = console;
  console.error = (...a) => logged.push(a.join(' '));
  console.warn = (...a) => logged.push(a.join(' '));
  try {
    return { result: await fn(), logged };
  } finally {
    console.error = error;
    console.warn = warn;
  }
}

test('engine refuses a module of another ABI version, naming both versions', () => {
  const functions = Object.fromEntries(EXPORT_NAMES.map((n) => [n, 0]));
  functions.dosql_contract = TINY_TEXT_ADDRESS;
  assert.throws(
    () => new Engine(tinyModule(functions, JSON.stringify({ abi: ABI_VERSION + 1 })), { storage: new MemoryPages() }),
    (err) => err instanceof EngineStartError
      && err.message.includes(`ABI version ${ABI_VERSION + 1}`) && err.message.includes(`speaks ${ABI_VERSION}`),
  );
});

test('engine refuses a module that lacks an export, naming it', () => {
  const functions = Object.fromEntries(EXPORT_NAMES.filter((n) => n !== 'dosql_request').map((n) => [n, 0]));
  assert.throws(
    () => new Engine(tinyModule(functions), { storage: new MemoryPages() }),
    (err) => err instanceof EngineStartError && /dosql_request/.test(err.message),
  );
});

test('engine refuses wasm bytes that are not a compiled module', () => {
  assert.throws(() => new Engine(/** @type {any} */ (new Uint8Array(8)), { storage: new MemoryPages() }), EngineStartError);
});

test('engine answers the protocol over synchronous storage', async () => {
  const storage = new MemoryPages();
  const engine = new Engine(mod, { storage });
  assert.ok(engine.maxRequestBytes > 0);
  await ready(engine);
  const run = await engine.request('POST', '/run', bytes({ sql: 'INSERT INTO users (name, email) VALUES (?, ?)', params: ['Ann', 'ann@example.com'] }));
  assert.equal(run.status, 200, decoder.decode(run.body));
  assert.deepEqual(json(run), { rowsAffected: 1, lastInsertRowId: 1 });
  const query = await engine.request('POST', '/query', bytes({ sql: 'SELECT name FROM users' }));
  assert.deepEqual(json(query), { rows: [{ name: 'Ann' }] });
  assert.ok(storage.commits > 0, 'commits reached storage');
});

test('answer() gives the response itself when nothing waits for storage, else its promise', async () => {
  const engine = new Engine(mod, { storage: new MemoryPages() });
  await ready(engine);
  const now = engine.answer('POST', '/query', bytes({ sql: 'SELECT 1 AS one' }));
  assert.ok(!(now instanceof Promise), 'synchronous storage: answered at once');
  assert.deepEqual(json(/** @type {any} */ (now)), { rows: [{ one: 1 }] });
  // request() keeps its promise either way.
  const later = engine.request('POST', '/query', bytes({ sql: 'SELECT 2 AS two' }));
  assert.ok(later instanceof Promise);
  assert.deepEqual(json(await later), { rows: [{ two: 2 }] });

  // A page to fetch first (a cold key-value cache): the promise of the retried answer.
  const kv = new FakeKvStorage();
  await ready(new Engine(mod, { storage: new KvPageStorage(kv) }));
  const cold = new Engine(mod, { storage: new KvPageStorage(kv), readAhead: 1, maxReadAhead: 2 });
  await ready(cold);
  const faulting = cold.answer('POST', '/query', bytes({ sql: 'SELECT count(*) AS n FROM users' }));
  assert.ok(faulting instanceof Promise, 'a fault waits for storage');
  assert.deepEqual(json(await faulting), { rows: [{ n: 0 }] });
  assert.ok(cold.faults > 0);

  // A call the engine cannot make throws at once rather than answering.
  engine.retire('retired by the test');
  assert.throws(() => engine.answer('POST', '/query', bytes({ sql: 'SELECT 1' })), EngineBrokenError);
});

test('a retired engine refuses every later call as one an earlier failure broke, keeping the reason', async () => {
  const engine = new Engine(mod, { storage: new MemoryPages() });
  await ready(engine);
  assert.equal((await engine.request('POST', '/query', bytes({ sql: 'SELECT 1' }))).status, 200);
  engine.retire('its transaction could not be rolled back');
  engine.retire('a second reason is not the first');
  await assert.rejects(async () => engine.request('POST', '/query', bytes({ sql: 'SELECT 1' })),
    (err) => err instanceof EngineBrokenError && err.refused === true && /could not be rolled back/.test(err.message));
  assert.match(String(engine.broken?.message), /could not be rolled back/);
});

test('now_ms and random reach SQL: the clock is the wall clock, blobs are random', async () => {
  const engine = new Engine(mod, { storage: new MemoryPages() });
  await ready(engine);
  const r = json(await engine.request('POST', '/query', bytes({ sql: "SELECT CAST(strftime('%s','now') AS INTEGER) AS s, hex(randomblob(16)) AS a, hex(randomblob(16)) AS b" })));
  const [{ s, a, b }] = r.rows;
  assert.ok(Math.abs(s - Date.now() / 1000) < 60, `clock ${s}`);
  assert.notEqual(a, b);
  assert.notEqual(a, '0'.repeat(32));
});

test('a new engine over the same pages sees committed data (restart)', async () => {
  const storage = new MemoryPages();
  const first = new Engine(mod, { storage });
  await ready(first);
  await first.request('POST', '/run', bytes({ sql: "INSERT INTO users (name, email) VALUES ('Bo', 'bo@example.com')" }));
  const second = new Engine(mod, { storage });
  await ready(second);
  assert.deepEqual(json(await second.request('POST', '/query', bytes({ sql: 'SELECT email FROM users' }))).rows, [{ email: 'bo@example.com' }]);
});

test('engines made one after another write only their own storage and log under their own label', async (t) => {
  // An engine makes an instance ahead for the next one (wasm/engine.js, takeSpare),
  // SPARE_DELAY_MS after its first answer: the second engine below takes it, the third
  // finds none left and makes its own.
  // Earlier tests' engines make a spare too: wait for it, and take it.
  await new Promise((resolve) => setTimeout(resolve, SPARE_DELAY_MS + 20));
  new Engine(mod, { storage: new MemoryPages() });
  t.mock.timers.enable({ apis: ['setTimeout'] }); // the delay, to the millisecond
  const [a, b, c] = [new MemoryPages(), new MemoryPages(), new MemoryPages()];
  const first = new Engine(mod, { storage: a, label: 'first' });
  await ready(first);
  await first.request('POST', '/query', bytes({ sql: 'SELECT 1' }));
  t.mock.timers.tick(SPARE_DELAY_MS - 1);
  // Not yet: made right after the answer, it would hold the answer up on its way out.
  const early = new Engine(mod, { storage: new MemoryPages() });
  const earlyBytes = early.memoryBytes;
  t.mock.timers.tick(1);
  // Nor once due: an engine started since, whose start it would have held up.
  const late = new Engine(mod, { storage: new MemoryPages() });
  await ready(early);
  await early.request('POST', '/query', bytes({ sql: 'SELECT 1' }));
  t.mock.timers.tick(SPARE_DELAY_MS);
  const second = new Engine(mod, { storage: b, label: 'second' });
  const third = new Engine(mod, { storage: c, label: 'third' });
  t.mock.timers.reset();
  // The one made ahead has its heap grown already (SPARE_HEAP_BYTES), off the request path.
  assert.ok(second.memoryBytes - third.memoryBytes >= SPARE_HEAP_BYTES, `${second.memoryBytes} bytes made ahead, ${third.memoryBytes} made at once`);
  assert.ok(second.memoryBytes - earlyBytes >= SPARE_HEAP_BYTES, `${earlyBytes} bytes right after the first answer: made ahead already`);
  assert.ok(second.memoryBytes - late.memoryBytes >= SPARE_HEAP_BYTES, `${late.memoryBytes} bytes: made ahead although an engine started after the answer`);
  await ready(second);
  await ready(third);
  for (const [engine, name] of /** @type {const} */ ([[first, 'a'], [second, 'b'], [third, 'c']])) {
    const r = await engine.request('POST', '/run', bytes({ sql: 'INSERT INTO users (name, email) VALUES (?, ?)', params: [name, `${name}@example.com`] }));
    assert.equal(r.status, 200, decoder.decode(r.body));
  }
  for (const [storage, name] of /** @type {const} */ ([[a, 'a'], [b, 'b'], [c, 'c']])) {
    const reader = new Engine(mod, { storage });
    await ready(reader);
    assert.deepEqual(json(await reader.request('POST', '/query', bytes({ sql: 'SELECT name FROM users' }))).rows, [{ name }]);
  }
  assert.deepEqual([first.commits > 0, second.commits > 0, third.commits > 0], [true, true, true]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  const broken = { readPage: () => { throw new Error('disk on fire'); }, commit: () => {}, async prefetch() {} };
  const { logged } = await quietly(() => firstFailure(new Engine(mod, { storage: broken, label: 'fourth' })));
  assert.ok(logged.some((l) => l.startsWith('[dosql] fourth:') && /disk on fire/.test(l)), logged.join('\n'));
});

test('faulting storage: requests are retried after prefetch and give the same answers', async () => {
  const kv = new FakeKvStorage();
  const writer = new Engine(mod, { storage: new KvPageStorage(kv) });
  await ready(writer);
  const ops = [];
  for (let i = 0; i < 200; i++) ops.push({ type: 'run', sql: 'INSERT INTO users (name, email) VALUES (?, ?)', params: [`user ${i}`, `u${i}@example.com`] });
  const tx = await writer.request('POST', '/transaction', bytes({ operations: ops }));
  assert.equal(tx.status, 200, decoder.decode(tx.body));
  const expected = json(await writer.request('POST', '/query', bytes({ sql: 'SELECT count(*) AS n, sum(id) AS s FROM users' })));

  // A cold cache: the first run of every request faults.
  const reader = new Engine(mod, { storage: new KvPageStorage(kv), readAhead: 1, maxReadAhead: 2 });
  await ready(reader);
  const got = json(await reader.request('POST', '/query', bytes({ sql: 'SELECT count(*) AS n, sum(id) AS s FROM users' })));
  assert.deepEqual(got, expected);
  assert.equal(got.rows[0].n, 200);
  assert.ok(reader.faults > 0, 'the cold reader faulted at least once');
});

test('faults inside PRAGMA integrity_check are retried, not reported as damage', async () => {
  const kv = new FakeKvStorage();
  const writer = new Engine(mod, { storage: new KvPageStorage(kv) });
  await ready(writer);
  const r = await writer.request('POST', '/run', bytes({ sql: 'CREATE TABLE big AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 500) SELECT i, randomblob(3000) AS b FROM c' }));
  assert.equal(r.status, 200, decoder.decode(r.body));
  const cold = new Engine(mod, { storage: new KvPageStorage(kv), readAhead: 4, maxReadAhead: 16 });
  await ready(cold);
  const check = await cold.request('POST', '/query', bytes({ sql: 'PRAGMA integrity_check' }));
  assert.deepEqual(json(check), { rows: [{ integrity_check: 'ok' }] });
  assert.ok(cold.faults > 0);
});

/** A key-value database of n rows of a 3,000-byte blob, and engines over it with cold caches. */
async function coldKvTable(n) {
  const kv = new FakeKvStorage();
  const writer = new Engine(mod, { storage: new KvPageStorage(kv) });
  await ready(writer);
  assert.equal((await writer.request('POST', '/run', bytes({ sql: 'CREATE TABLE big(i INTEGER PRIMARY KEY, b)' }))).status, 200);
  for (let from = 0; from < n; from += 4000) {   // commits of 12 MB: a larger one is past SQLite's heap
    const sql = `INSERT INTO big WITH RECURSIVE c(i) AS (SELECT ${from + 1} UNION ALL SELECT i + 1 FROM c WHERE i < ${Math.min(n, from + 4000)}) SELECT i, randomblob(3000) FROM c`;
    const made = await writer.request('POST', '/run', bytes({ sql }));
    assert.equal(made.status, 200, decoder.decode(made.body));
  }
  return kv;
}

test('a request\'s retries after faults spend one CPU budget, not one each', async () => {
  const kv = await coldKvTable(2000);
  // Work that takes about 60% of a budget, before a scan that faults: deterministic, in units.
  const burn = (/** @type {number} */ n) => `SELECT count(*) AS n FROM big WHERE (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT count(*) FROM c) > 0`;
  const warm = new Engine(mod, { storage: new KvPageStorage(kv, { cacheBytes: 64 * 1024 * 1024 }) });
  assert.equal((await warm.open(0, { cpuBudgetMs: 100 })).status, 200);
  assert.equal((await warm.request('POST', '/query', bytes({ sql: 'SELECT count(*) FROM big' }))).status, 200);
  // The largest burn a warm engine runs within its budget, halved down from too much.
  let n = 4_000_000;
  while ((await warm.request('POST', '/query', bytes({ sql: burn(n) }))).status !== 200) n = Math.floor(n / 2);
  const sql = burn(Math.floor(n * 0.6));
  assert.equal((await warm.request('POST', '/query', bytes({ sql }))).status, 200, 'within the budget, warm');

  const cold = new Engine(mod, { storage: new KvPageStorage(kv), readAhead: 64, maxReadAhead: 256 });
  assert.equal((await cold.open(0, { cpuBudgetMs: 100 })).status, 200);
  const r = await cold.request('POST', '/query', bytes({ sql }));
  assert.ok(cold.faults >= 2, `faulted ${cold.faults} times`);
  assert.equal(r.status, 400, decoder.decode(r.body));
  assert.equal(json(r).code, 'CPU_LIMIT');
});

test('a key-value request that would hold more pages than one request may answers FAULT_LIMIT, holding none of them', async () => {
  const kv = await coldKvTable(20_000);   // about 80 MB of pages
  const storage = new KvPageStorage(kv);
  const cold = new Engine(mod, { storage, maxReadAhead: 4096 });
  await ready(cold);
  const r = await cold.request('POST', '/query', bytes({ sql: 'SELECT count(*), sum(length(b)) FROM big' }));
  assert.equal(r.status, 503, decoder.decode(r.body));
  assert.equal(json(r).code, 'FAULT_LIMIT');
  assert.match(json(r).error, /more pages than a key-value object keeps in memory for one request \(64 MiB, or cacheBytes when larger\)/);
  assert.ok(storage.stats.cacheBytes <= 16 * 1024 * 1024, `trimmed after: ${storage.stats.cacheBytes}`);
  const small = await cold.request('POST', '/query', bytes({ sql: 'SELECT count(*) AS n FROM big WHERE rowid < 10' }));
  assert.deepEqual(json(small), { rows: [{ n: 9 }] });
});

test('a key-value request reading a few pages scattered over a large file is served: read-ahead it has not read gives way', async () => {
  const kv = await coldKvTable(24_000);   // about 100 MB of pages, a row a page
  const storage = new KvPageStorage(kv);
  const cold = new Engine(mod, { storage, readAhead: 4096, maxReadAhead: 4096 });
  await ready(cold);
  // Each row faults, and each fault reads a window of 8 MiB around it: 96 MiB in
  // all, though the rows' own pages take 48 KiB.
  const keys = Array.from({ length: 12 }, (_, k) => 1 + k * 2000);
  const r = await cold.request('POST', '/query', bytes({ sql: `SELECT count(*) AS n FROM big WHERE i IN (${keys}) AND length(b) = 3000` }));
  assert.deepEqual(json(r), { rows: [{ n: 12 }] }, decoder.decode(r.body));
  assert.ok(storage.stats.keysRead > (64 * 1024 * 1024) / 4096, `read ${storage.stats.keysRead} keys`);
  assert.ok(storage.stats.cacheBytes <= 16 * 1024 * 1024, `trimmed after: ${storage.stats.cacheBytes}`);
});

test('a key-value request visiting several far-apart parts of a large file in turn is served: its read-ahead narrows instead of giving way before it is read', async () => {
  const kv = await coldKvTable(32_000);   // about 130 MB of pages, a row a page
  const storage = new KvPageStorage(kv);
  const cold = new Engine(mod, { storage });
  await ready(cold);
  // 2,400 rows (10 MB of pages) from 8 parts of the file, one from each in turn.
  const sql = 'WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < 2399) ' +
    'SELECT count(*) AS n FROM k CROSS JOIN big ON big.i = 1 + (n % 8) * 4000 + (n / 8) WHERE length(b) = 3000';
  const r = await cold.request('POST', '/query', bytes({ sql }));
  assert.deepEqual(json(r), { rows: [{ n: 2400 }] }, decoder.decode(r.body));
  // Each page the file has, fetched about once: read-ahead that gave way and came back was read twice.
  assert.ok(storage.stats.keysRead < 32_000, `read ${storage.stats.keysRead} keys in ${cold.faults} faults`);
});

test('a key-value fault\'s read-ahead leaves half the cache to what earlier requests read: page 1 stays', async () => {
  const kv = await coldKvTable(8000);   // about 32 MB of pages
  const storage = new KvPageStorage(kv);
  await storage.prefetch([1], 1);
  assert.notEqual(storage.readPage(1), FAULT);
  storage.settle();
  await storage.prefetch([6000], 4096);   // the widest window a fault asks for
  storage.settle();
  assert.notEqual(storage.readPage(1), FAULT, 'page 1 is still cached: a transaction retried reads it first');
});

test('a key-value request\'s own pages outlast the read-ahead it did not read when the cache is trimmed after it', async () => {
  const kv = await coldKvTable(8000);
  const storage = new KvPageStorage(kv, { cacheBytes: 1024 * 1024 });   // 252 pages
  await storage.prefetch([100], 1);
  const page = storage.readPage(100);
  assert.notEqual(page, FAULT);
  for (const pgno of [3000, 4000, 5000]) await storage.prefetch([pgno], 4096);   // 3 windows of 125 pages
  storage.settle();
  assert.equal(storage.readPage(100), page, 'what it read is at hand for its retry');
});

test('a key-value cache larger than the per-request bound keeps serving once full: the bound counts what one request fetches', async () => {
  const kv = await coldKvTable(32_000);   // about 100 MB of pages
  const cold = new Engine(mod, { storage: new KvPageStorage(kv, { cacheBytes: 50 * 1024 * 1024 }) });
  await ready(cold);
  for (let first = 1; first <= 32_000; first += 8000) {
    const r = await cold.request('POST', '/query', bytes({ sql: `SELECT count(*) AS n FROM big WHERE i BETWEEN ${first} AND ${first + 7999} AND length(b) = 3000` }));
    assert.deepEqual(json(r), { rows: [{ n: 8000 }] }, `rows from ${first}`);
  }
});

test('a key-value request that commits many times holds no more of what it wrote than one request may', async () => {
  const storage = new KvPageStorage(new FakeKvStorage());
  await storage.prefetch([1], 1);
  const data = new Uint8Array(4096);
  let count = 0;
  for (let c = 0; c < 40; c++) {   // 160 MiB in one request (no settle() between)
    const pages = Array.from({ length: 1024 }, (_, i) => ({ pgno: count + i + 1, data }));
    storage.commit({ pageSize: 4096, oldPageCount: count, newPageCount: count + 1024, pages });
    count += 1024;
  }
  assert.ok(storage.stats.cacheBytes <= 64 * 1024 * 1024, `held ${storage.stats.cacheBytes} bytes`);
  assert.equal(storage.readPage(count), data, 'the newest page is at hand');
});

test('a transaction a fault aborted is retried with the window the fault left, not from the first', async () => {
  const kv = await coldKvTable(2000);   // about 8 MB of pages
  const cold = new Engine(mod, { storage: new KvPageStorage(kv), readAhead: 64 });
  await ready(cold);
  let tries = 0;
  for (;;) {
    tries++;
    assert.equal((await cold.request('POST', '/begin', bytes({}))).status, 200);
    const read = await cold.request('POST', '/query', bytes({ sql: 'SELECT sum(length(b)) AS n FROM big' }), { inTransaction: true });
    if (read.status === 200) {
      assert.equal((await cold.request('POST', '/commit', bytes({}), { inTransaction: true })).status, 200);
      break;
    }
    assert.equal(json(read).code, 'TRANSACTION_ABORTED');
    assert.ok(tries < 12, `still aborted after ${tries} tries`);
  }
  assert.ok(tries <= 8, `${tries} tries`);
});

test('a request that keeps faulting stops after the bound with 503 FAULT_LIMIT', async () => {
  // A storage whose prefetch never makes pages available.
  const stubborn = { readPage: () => FAULT, commit() {}, async prefetch() {} };
  const engine = new Engine(mod, { storage: stubborn, maxFaults: 5 });
  const r = await firstFailure(engine);
  assert.ok(r, 'something failed');
  assert.equal(r.status, 503);
  assert.equal(json(r).code, 'FAULT_LIMIT');
  assert.equal(engine.faults, 5);
});

test('a readPage that returns a Promise is an error, not a hang', async () => {
  const pages = new MemoryPages();
  const seed = new Engine(mod, { storage: pages });
  await ready(seed);
  const asyncRead = { readPage: async (/** @type {number} */ p) => pages.readPage(p), commit() {}, async prefetch() {} };
  const { result, logged } = await quietly(async () => {
    const engine = new Engine(mod, { storage: asyncRead });
    return firstFailure(engine);
  });
  assert.ok(result, 'something failed');
  assert.ok(result.status >= 500, `status ${result.status}`);
  assert.ok(logged.some((l) => /Promise/.test(l)), 'the misbehaviour is logged');
});

test('a commit that returns a Promise stops the engine: its outcome is unknown', async () => {
  const pages = new MemoryPages();
  const seed = new Engine(mod, { storage: pages });
  await ready(seed);
  const asyncCommit = { readPage: (/** @type {number} */ p) => pages.readPage(p), commit: async () => {}, async prefetch() {} };
  const engine = new Engine(mod, { storage: asyncCommit });
  await ready(engine);
  await assert.rejects(
    engine.request('POST', '/run', bytes({ sql: "INSERT INTO users (name, email) VALUES ('X', 'x@example.com')" })),
    (err) => err instanceof EngineBrokenError && /Promise/.test(err.message),
  );
  assert.ok(engine.broken, 'the instance is not used again');
  const fresh = new Engine(mod, { storage: pages });
  await ready(fresh);
  assert.deepEqual(json(await fresh.request('POST', '/query', bytes({ sql: 'SELECT count(*) AS n FROM users' }))).rows, [{ n: 0 }]);
});

test('a readPage that throws gives an error response, and the engine keeps working', async () => {
  const pages = new MemoryPages();
  const engine0 = new Engine(mod, { storage: pages });
  await ready(engine0);
  let fail = false;
  const flaky = {
    readPage: (/** @type {number} */ p) => {
      if (fail) throw new Error('disk on fire');
      return pages.readPage(p);
    },
    commit: (/** @type {any} */ b) => pages.commit(b),
    async prefetch() {},
  };
  const engine = new Engine(mod, { storage: flaky });
  await ready(engine);
  const { logged } = await quietly(async () => {
    fail = true;
    // A fresh engine has to read: the read fails.
    const cold = new Engine(mod, { storage: flaky });
    const r = await firstFailure(cold);
    assert.ok(r && r.status >= 500, `status ${r?.status}`);
    fail = false;
  });
  assert.ok(logged.some((l) => /disk on fire/.test(l)), 'the exception text is logged');
  const r = await engine.request('POST', '/query', bytes({ sql: 'SELECT 1 AS one' }));
  assert.deepEqual(json(r), { rows: [{ one: 1 }] });
});

test('migrations that fault past the limit name themselves: the request that started the object did not fail by its own reads', async () => {
  const kv = new FakeKvStorage();
  const first = new Engine(mod, { storage: new KvPageStorage(kv) });
  await ready(first);
  const filled = await first.request('POST', '/run', bytes({ sql: "CREATE TABLE big AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) SELECT x, printf('%.*c', 500, 'v') AS v FROM c" }));
  assert.equal(filled.status, 200, decoder.decode(filled.body));
  // A new object (a cold cache) with a deployment adding an index over the table, fetching a page at a time.
  const cold = new Engine(mod, { storage: new KvPageStorage(kv, { cacheBytes: 64 * 1024 }), readAhead: 1, maxReadAhead: 1, maxFaults: 4 });
  assert.equal((await cold.open(0)).status, 200);
  const later = [...migrations, { name: '900_index.sql', sql: 'CREATE INDEX big_v ON big (v);' }];
  const migrated = await cold.migrate(later);
  assert.equal(migrated.status, 503, decoder.decode(migrated.body));
  assert.equal(json(migrated).code, 'FAULT_LIMIT');
  assert.match(json(migrated).error, /^checking and applying the migrations \(.*900_index\.sql\) failed before this request ran: the request still needed pages .* so the same request again may get further/);
});

test('concurrent calls are serialized: 50 faulting inserts all land', async () => {
  const kv = new FakeKvStorage();
  const engine = new Engine(mod, { storage: new KvPageStorage(kv, { cacheBytes: 64 * 1024 }), readAhead: 1, maxReadAhead: 1 });
  await ready(engine);
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      engine.request('POST', '/run', bytes({ sql: 'INSERT INTO users (name, email) VALUES (?, ?)', params: ['n', `c${i}@example.com`] })),
    ),
  );
  for (const r of results) assert.equal(r.status, 200, decoder.decode(r.body));
  const ids = results.map((r) => json(r).lastInsertRowId).sort((a, b) => a - b);
  assert.deepEqual(ids, Array.from({ length: 50 }, (_, i) => i + 1));
});

test('key-value commits write at most 128 keys per call and drop truncated pages', async () => {
  const kv = new FakeKvStorage();
  const storage = new KvPageStorage(kv);
  const engine = new Engine(mod, { storage });
  await ready(engine);
  kv.calls.length = 0;
  // About 1 MB: several hundred pages in one commit.
  const r = await engine.request('POST', '/run', bytes({ sql: 'CREATE TABLE big AS SELECT randomblob(1000000) AS b' }));
  assert.equal(r.status, 200, decoder.decode(r.body));
  const puts = kv.calls.filter((c) => c.op === 'put');
  assert.ok(puts.length >= 2, `${puts.length} put calls`);
  assert.ok(puts.every((c) => c.keys <= 128));
  const before = [...kv.data.keys()].length;
  const drop = await engine.request('POST', '/run', bytes({ sql: 'DROP TABLE big' }));
  assert.equal(drop.status, 200, decoder.decode(drop.body));
  const vacuum = await engine.request('POST', '/run', bytes({ sql: 'VACUUM' }));
  assert.equal(vacuum.status, 200, decoder.decode(vacuum.body));
  assert.ok(kv.calls.some((c) => c.op === 'delete'), 'the shrink deleted pages');
  assert.ok(kv.data.size < before / 4, `${kv.data.size} keys left of ${before}`);
  const check = json(await engine.request('POST', '/query', bytes({ sql: 'PRAGMA integrity_check' })));
  assert.deepEqual(check.rows, [{ integrity_check: 'ok' }]);
});

test('page_read copies a short page and zero-fills the rest; missing and fault codes', () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const pages = new Map([[1, new Uint8Array([1, 2, 3])]]);
  const storage = {
    readPage: (/** @type {number} */ p) => (p === 2 ? FAULT : pages.get(p) ?? null),
    commit() {},
    async prefetch() {},
  };
  const { dosql } = /** @type {any} */ (createImports({ getMemory: () => memory, storage }));
  new Uint8Array(memory.buffer).fill(0xee, 0, 16);
  assert.equal(dosql.page_read(1, 0, 8), PAGE_OK);
  assert.deepEqual([...new Uint8Array(memory.buffer, 0, 9)], [1, 2, 3, 0, 0, 0, 0, 0, 0xee]);
  assert.equal(dosql.page_read(2, 0, 8), PAGE_FAULT);
  assert.equal(dosql.page_read(3, 0, 8), PAGE_MISSING);
});

test('commit batches are parsed per host.h, copied, and malformed ones refused', () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const size = 512;
  const view = new DataView(memory.buffer);
  const u8 = new Uint8Array(memory.buffer);
  // header at 100, two page references after it, the pages themselves elsewhere
  view.setUint32(100, size, true);
  view.setUint32(104, 3, true);
  view.setUint32(108, 2, true);
  view.setUint32(112, 2, true);
  view.setUint32(116, 1, true);
  view.setUint32(120, 1024, true);
  view.setUint32(124, 2, true);
  view.setUint32(128, 2048, true);
  u8.fill(0xa1, 1024, 1024 + size);
  u8.fill(0xb2, 2048, 2048 + size);
  const n = 16 + 2 * 8;
  const batch = parseBatch(memory.buffer, 100, n);
  assert.equal(batch.pageSize, size);
  assert.equal(batch.oldPageCount, 3);
  assert.equal(batch.newPageCount, 2);
  assert.deepEqual(batch.pages.map((p) => p.pgno), [1, 2]);
  u8.fill(0, 1024, 2048 + size); // the pages were copied out
  assert.ok(batch.pages[0].data.every((b) => b === 0xa1));
  assert.ok(batch.pages[1].data.every((b) => b === 0xb2));

  let committed = 0;
  const storage = { readPage: () => null, commit: () => void committed++, async prefetch() {} };
  const { dosql } = /** @type {any} */ (createImports({ getMemory: () => memory, storage }));
  const bad = () => {
    view.setUint32(100, size, true);
    view.setUint32(112, 3, true); // claims three pages, holds two
  };
  bad();
  const quiet = console.error;
  console.error = () => {};
  try {
    assert.equal(dosql.commit(100, n), COMMIT_ERROR);
  } finally {
    console.error = quiet;
  }
  assert.equal(committed, 0);
});

test('PAGE_ERROR is the answer when readPage returns something other than bytes', () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const storage = { readPage: () => /** @type {any} */ ('page'), commit() {}, async prefetch() {} };
  const { dosql } = /** @type {any} */ (createImports({ getMemory: () => memory, storage }));
  const quiet = console.error;
  console.error = () => {};
  try {
    assert.equal(dosql.page_read(1, 0, 8), PAGE_ERROR);
  } finally {
    console.error = quiet;
  }
});

test('a libSQL pipeline that spent its CPU budget still ends its transaction when asked, as an execute or a batch\'s guarded ROLLBACK', async () => {
  const engine = new Engine(mod, { storage: new MemoryPages() });
  assert.equal((await engine.open(0, { cpuBudgetMs: 50 })).status, 200);
  const execute = (/** @type {string} */ sql) => ({ type: 'execute', stmt: { sql } });
  const heavy = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';
  // @libsql/client's batch: BEGIN, the statements, COMMIT, and a ROLLBACK should the COMMIT not run.
  const batch = { type: 'batch', batch: { steps: [
    { stmt: { sql: 'BEGIN' } },
    { condition: { type: 'ok', step: 0 }, stmt: { sql: 'INSERT INTO t VALUES (1)' } },
    { condition: { type: 'ok', step: 1 }, stmt: { sql: heavy } },
    { condition: { type: 'ok', step: 2 }, stmt: { sql: 'COMMIT' } },
    { condition: { type: 'not', cond: { type: 'ok', step: 3 } }, stmt: { sql: 'ROLLBACK' } },
  ] } };
  const pipeline = async (/** @type {unknown[]} */ requests) => {
    const r = await engine.request('POST', '/hrana/pipeline', bytes({ baton: null, requests: [...requests, { type: 'get_autocommit' }] }), { internal: true });
    assert.equal(r.status, 200, decoder.decode(r.body));
    return JSON.parse(decoder.decode(r.body).slice(1)).results;   // past the byte saying whether it holds a transaction
  };
  await pipeline([execute('CREATE TABLE t(a)')]);
  const begun = [execute('BEGIN'), execute('INSERT INTO t VALUES (1)'), execute(heavy)];
  // Each ending, and the rows t then holds: a COMMIT keeps the INSERT; a BEGIN after the
  // budget is spent (a sequence's) starts nothing.
  for (const [ending, rows] of /** @type {[unknown[], number][]} */ ([[[...begun, execute('ROLLBACK')], 0], [[batch], 0],
    [[...begun, execute('COMMIT;;')], 1], [[execute(heavy), { type: 'sequence', sql: 'BEGIN; INSERT INTO t VALUES (2); COMMIT' }], 1]])) {
    const results = await pipeline(ending);
    assert.match(JSON.stringify(results), /"code":"CPU_LIMIT"/);
    assert.deepEqual(results.at(-1).response, { type: 'get_autocommit', is_autocommit: true }, JSON.stringify(results));
    const count = await engine.request('POST', '/query', bytes({ sql: 'SELECT count(*) AS n FROM t' }));
    assert.deepEqual(json(count), { rows: [{ n: rows }] }, JSON.stringify(ending));
  }
});
