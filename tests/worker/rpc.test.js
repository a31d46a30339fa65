// Workers RPC entry points of DoSQLDatabase (README "Workers RPC"): the
// protocol's requests as methods of the stub, values crossing as themselves,
// errors keeping their code and status, transactions named by txId; and
// createClient (getDB) over RPC. The calls are made inside workerd (the test
// worker's __rpc route, tests/worker/fixtures/dosql-worker.js), as a user's
// Worker makes them; values come back to the test tagged.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, BACKENDS, tenant } from './harness.js';
import { createClient, fromRpcError, DoSQLError } from '../../worker-shim/src/client/client.js';
import { stubOf as fetchStubOf } from './fixtures/client-stub.js';
import { tag, untag } from './fixtures/tagged.js';

/** @type {ReturnType<typeof createWorld>} */
let world;
before(async () => {
  world = createWorld('rpc');
  await world.start({ migrations: [] });
});
after(() => world.destroy());

/**
 * A stub of the tenant's object whose methods run inside workerd; with
 * client, the methods of createClient(stub) instead.
 * @param {string} backend @param {string} name @param {{client?: boolean}} [options]
 * @returns {any}
 */
function stubOf(backend, name, { client = false } = {}) {
  return new Proxy({}, {
    get: (_, method) => async (/** @type {unknown[]} */ ...args) => {
      const r = await world.mf.dispatchFetch(`http://localhost/${backend}/${name}/__rpc`, {
        method: 'POST',
        body: JSON.stringify({ method, args: tag(args), client }),
      });
      const answer = await r.json();
      if (answer.error) throw Object.assign(new Error(answer.error.message), answer.error);
      return untag(answer.value);
    },
  });
}

/** The DoSQLError a call rejected with (an RPC error's message decoded). @param {Promise<unknown>} call */
async function rpcFailure(call) {
  try {
    await call;
  } catch (err) {
    const e = /** @type {any} */ (err);
    return e.code ? new DoSQLError(e.message, e) : fromRpcError(err);
  }
  assert.fail('the call succeeded');
}

for (const backend of BACKENDS) {
  describe(`RPC (${backend})`, () => {
    test('query, queryOne, run, batch and exec, with values that JSON cannot carry', async () => {
      const stub = stubOf(backend, tenant('rpc'));
      assert.deepEqual(await stub.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, big INTEGER, b BLOB, r REAL); CREATE INDEX t_big ON t (big)'), { count: 2 });
      const run = await stub.run('INSERT INTO t (big, b, r) VALUES (?, ?, ?)', [2n ** 62n, new Uint8Array([0, 1, 255]), -Infinity]);
      assert.deepEqual(run, { rowsAffected: 1, lastInsertRowId: 1 });
      const rows = await stub.query('SELECT big, b, r FROM t WHERE id = ?', [1]);
      assert.deepEqual(rows, [{ big: 2n ** 62n, b: new Uint8Array([0, 1, 255]), r: -Infinity }]);
      assert.deepEqual(await stub.queryOne('SELECT count(*) AS n FROM t'), { n: 1 });
      assert.equal(await stub.queryOne('SELECT * FROM t WHERE id = 99'), null);
      const batch = await stub.batch(['INSERT INTO t (big) VALUES (1)', { sql: 'SELECT big FROM t ORDER BY id', params: [] }]);
      assert.equal(batch.length, 2);
      assert.deepEqual(batch[1].rows, [{ big: 2n ** 62n }, { big: 1 }]);
      // A column named __proto__ crosses as a column.
      const [proto] = await stub.query("SELECT x'01' AS __proto__, 2 AS b");
      assert.deepEqual([Object.getPrototypeOf(proto), Object.keys(proto)], [Object.prototype, ['__proto__', 'b']]);
    });

    test('an error keeps its code, status and operation', async () => {
      const stub = stubOf(backend, tenant('rpc-err'));
      await stub.exec('CREATE TABLE u (id INTEGER PRIMARY KEY)');
      await stub.run('INSERT INTO u VALUES (1)');
      const unique = await rpcFailure(stub.run('INSERT INTO u VALUES (1)'));
      assert.match(unique.message, /UNIQUE constraint failed: u\.id/);
      assert.equal(unique.code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
      assert.equal(unique.status, 409);
      const second = await rpcFailure(stub.batch(['INSERT INTO u VALUES (2)', 'INSERT INTO u VALUES (1)']));
      assert.equal(second.operation, 1);
      assert.deepEqual(await stub.query('SELECT id FROM u'), [{ id: 1 }], 'the batch was all or nothing');
      const syntax = await rpcFailure(stub.exec('SELECT 1; SELEC 1'));
      assert.deepEqual([syntax.status, syntax.operation, syntax.offset, syntax.statementOffset], [400, 1, 10, 10], 'where the error is crosses too');
      const control = await rpcFailure(stub.batch(['SELECT 1', 'COMMIT']));
      assert.deepEqual([control.code, control.operation, control.statement], ['TRANSACTION_STATEMENT', 1, 'commit']);
      const notFound = await stub.request('/nope', {});
      assert.equal(notFound.status, 404, 'request() answers as fetch would');
      assert.equal(JSON.parse(notFound.text).code, 'NOT_FOUND');
      const misspelt = await stub.request('/query', { sql: 'SELECT 1', asof: 1 });
      assert.deepEqual([misspelt.status, JSON.parse(misspelt.text).code], [400, 'BAD_REQUEST'], 'a field /query does not take is refused over RPC too');
      // A user's mistake is the user's error, never INTERNAL: an object with a BigInt in it
      // as a parameter is refused as over HTTP; a route that streams says to use fetch.
      const nested = await rpcFailure(stub.query('SELECT ?', [{ x: 1n }]));
      assert.equal(nested.code, 'BAD_PARAMS');
      // Arguments of the wrong shape are refused by the object, with its codes.
      for (const [call, code] of /** @type {const} */ ([
        [() => stub.query('SELECT ?', 'one'), 'BAD_PARAMS'],
        [() => stub.run('SELECT ?', 5), 'BAD_PARAMS'],
        [() => stub.batch('SELECT 1'), 'BAD_REQUEST'],
        [() => stub.batch([{ sql: 'SELECT ?', params: 'x' }]), 'BAD_PARAMS'],
        [() => stub.begin({ timeoutMs: 'soon' }), 'BAD_REQUEST'],
      ])) {
        const refused = await rpcFailure(call());
        assert.deepEqual([refused.code, refused.status], [code, 400], refused.message);
      }
      const begun = await stub.begin(null);
      await stub.rollback(begun.txId);
      for (const path of ['/import', '/subscribe', '/v2/pipeline', '/export']) {
        const answer = await stub.request(path, {});
        assert.equal(answer.status, path === '/export' ? 405 : 400, path);
        assert.match(JSON.parse(answer.text).error, /fetch|GET/, path);
      }
    });

    test('an interactive transaction over RPC: begin, statements naming it, commit or rollback', async () => {
      const stub = stubOf(backend, tenant('rpc-tx'));
      await stub.exec('CREATE TABLE a (v)');
      const { txId, timeoutMs } = await stub.begin({ timeoutMs: 2000 });
      assert.equal(timeoutMs, 2000);
      await stub.run('INSERT INTO a VALUES (1)', [], { transaction: txId });
      assert.deepEqual(await stub.query('SELECT v FROM a', [], { transaction: txId }), [{ v: 1 }]);
      await stub.rollback(txId);
      assert.deepEqual(await stub.query('SELECT v FROM a'), []);
      const second = await stub.begin();
      await stub.run('INSERT INTO a VALUES (2)', [], { transaction: second.txId });
      await stub.commit(second.txId);
      assert.deepEqual(await stub.query('SELECT v FROM a'), [{ v: 2 }]);
      assert.equal((await rpcFailure(stub.commit(second.txId))).code, 'TRANSACTION_EXPIRED');
      assert.equal((await rpcFailure(stub.begin({ timeoutMs: 5 }))).code, 'BAD_REQUEST');
      // Forgetting the txId: the answer names the argument, not the HTTP header.
      for (const [call, method] of /** @type {const} */ ([[() => stub.commit(), 'commit'], [() => stub.rollback(), 'rollback']])) {
        const failed = await rpcFailure(call());
        assert.equal(failed.code, 'BAD_REQUEST', failed.message);
        assert.match(failed.message, new RegExp(`^${method}\\(\\) needs the transaction's id, the txId begin\\(\\) answered`), failed.message);
      }
    });

    test('a misspelt option of begin(), transaction() or subscribe() is BAD_REQUEST, not dropped', async () => {
      // {timeout} would begin with the default idle timeout, {sinse} start live and skip events.
      const name = tenant('rpc-misspelt');
      const stub = stubOf(backend, name);
      const client = stubOf(backend, name, { client: true });
      const calls = /** @type {const} */ ([
        [() => stub.begin({ timeout: 100 }), 'begin()'],
        [() => client.transaction(null, { timeout: 100 }), 'transaction()'],
        [() => client.subscribe(null, { sinse: 0 }), 'subscribe()'],
      ]);
      for (const [call, label] of calls) {
        const failed = await rpcFailure(call());
        assert.equal(failed.code, 'BAD_REQUEST', failed.message);
        assert.ok(failed.message.includes(`${label} takes`), failed.message);
      }
      // Nothing began: the database is not held.
      assert.deepEqual(await stub.query('SELECT 1 AS ok'), [{ ok: 1 }]);
    });

    test('history(), branch() and restore() take no options: an argument past theirs is BAD_REQUEST, and a transaction given to restore() is not waited for', async () => {
      const name = tenant('rpc-extra');
      const stub = stubOf(backend, name);
      const { txId } = await stub.begin();
      for (const [call, signature] of /** @type {const} */ ([
        [() => stub.restore(0, { transaction: txId }), 'restore(to)'],
        [() => stub.history({ nope: 1 }), 'history()'],
        [() => stub.branch(tenant('rpc-extra-b'), undefined, { transaction: txId }), 'branch(name, from?)'],
      ])) {
        const failed = await rpcFailure(call());
        assert.deepEqual([failed.code, failed.status], ['BAD_REQUEST', 400], failed.message);
        assert.ok(failed.message.startsWith(`${signature} takes no more arguments`), failed.message);
      }
      // The caller's transaction did not idle out meanwhile.
      await stub.commit(txId);
    });

    test('adoptBranch() sent pages that are no stream refuses them: BRANCH_REFUSED, not a TypeError', async () => {
      const stub = stubOf(backend, tenant('rpc-adopt'));
      for (const pages of [{}, 'x', null]) {
        const answer = await stub.adoptBranch({}, pages);
        assert.deepEqual([answer.status, JSON.parse(answer.text).code], [400, 'BRANCH_REFUSED'], answer.text);
      }
      assert.deepEqual(await stub.query('SELECT 1 AS ok'), [{ ok: 1 }]);
    });

    test('a transaction id that is not a string is BAD_REQUEST, not 500 INTERNAL; a long unknown one is not echoed whole', async () => {
      const stub = stubOf(backend, tenant('rpc-txid'));
      for (const id of [2n ** 70n, { $make: 'cycle' }, [1, 2], 7]) {
        for (const call of [() => stub.run('SELECT 1', [], { transaction: id }), () => stub.commit(id), () => stub.rollback(id)]) {
          const failed = await rpcFailure(call());
          assert.deepEqual([failed.code, failed.status], ['BAD_REQUEST', 400], failed.message);
        }
        const answer = await stub.request('/query', { sql: 'SELECT 1' }, id);
        assert.deepEqual([answer.status, JSON.parse(answer.text).code], [400, 'BAD_REQUEST']);
      }
      const unknown = await rpcFailure(stub.run('SELECT 1', [], { transaction: 'x'.repeat(100_000) }));
      assert.equal(unknown.code, 'TRANSACTION_EXPIRED');
      assert.ok(unknown.message.length < 300, unknown.message.slice(0, 300));
      assert.deepEqual(await stub.query('SELECT 1 AS ok'), [{ ok: 1 }]);
    });

    test('createClient (getDB) over RPC answers as over fetch, errors included', async () => {
      const name = tenant('rpc-client');
      const client = stubOf(backend, name, { client: true });
      await client.run('CREATE TABLE c (v)');
      await client.run('INSERT INTO c VALUES (?)', [2n ** 60n]);
      await client.batch([{ sql: 'INSERT INTO c VALUES (?)', params: [new Uint8Array([7])] }]);
      assert.deepEqual(await client.query('SELECT v FROM c ORDER BY rowid'), [{ v: 2n ** 60n }, { v: new Uint8Array([7]) }]);
      const failed = await rpcFailure(client.query('SELECT nope'));
      assert.equal(failed.code, 'SQLITE_ERROR');
      assert.equal(failed.status, 400);
      assert.deepEqual(await world.client(backend, name).query('SELECT count(*) AS n FROM c'), [{ n: 2 }]);
    });

    test('createClient over RPC: what neither JSON nor Workers RPC carries (a promise, a cycle, a WeakMap) is a coded refusal', async () => {
      const name = tenant('rpc-unsendable');
      const client = stubOf(backend, name, { client: true });
      await client.run('CREATE TABLE c (v)');
      for (const what of ['promise', 'cycle', 'weakmap']) {
        const failed = await rpcFailure(client.run('INSERT INTO c VALUES (?)', [{ $make: what }]));
        assert.deepEqual([failed.code, failed.status], ['BAD_PARAMS', 400], `${what}: ${failed.message}`);
        // Where the SQL belongs (a query builder's promise not awaited).
        const sql = await rpcFailure(client.query({ $make: what }));
        assert.deepEqual([sql.code, sql.status], ['BAD_REQUEST', 400], `${what}: ${sql.message}`);
      }
      // The stub's own request(): a body JSON cannot write is the caller's 400, not INTERNAL.
      const answer = await stubOf(backend, name).request('/query', { sql: 'SELECT ?', params: [{ $make: 'cycle' }] }, null);
      assert.equal(answer.status, 400);
      assert.equal(JSON.parse(answer.text).code, 'BAD_REQUEST');
      assert.deepEqual(await world.client(backend, name).query('SELECT count(*) AS n FROM c'), [{ n: 0 }]);
    });

    test('batch() keeps every field of an operation, so a field it does not take is refused as over fetch, not dropped', async () => {
      const name = tenant('rpc-batch-fields');
      await stubOf(backend, name).exec('CREATE TABLE t (x)');
      for (const stub of [stubOf(backend, name), stubOf(backend, name, { client: true })]) {
        for (const operation of [{ sql: 'SELECT count(*) AS n FROM t', asOf: 1 }, { sql: 'INSERT INTO t VALUES (?)', parms: ['x'] }, { sql: 'SELECT 1', type: 'bogus' }]) {
          const failed = await rpcFailure(stub.batch([operation]));
          assert.deepEqual([failed.code, failed.status], ['BAD_REQUEST', 400], failed.message);
          assert.match(failed.message, /does not take the field|must be an object \{sql, params\?\}/);
        }
      }
      assert.deepEqual(await stubOf(backend, name).query('SELECT count(*) AS n FROM t'), [{ n: 0 }]);
    });

    test('a number JSON cannot carry where a field takes one (asOf, timeoutMs, limit) is refused, not sent as null and read as left out', async () => {
      const name = tenant('rpc-nonfinite');
      const stub = stubOf(backend, name);
      // (NaN does not cross this test's JSON bridge into workerd; the client below takes it.)
      for (const [call, field] of /** @type {[() => Promise<unknown>, string][]} */ ([
        [() => stub.query('SELECT 1', [], { asOf: -Infinity }), 'asOf'],
        [() => stub.query('SELECT 1', [], { asOf: { time: Infinity } }), 'asOf.time'],
        [() => stub.begin({ timeoutMs: Infinity }), 'timeoutMs'],
      ])) {
        const failed = await rpcFailure(call());
        assert.deepEqual([failed.code, failed.status], ['BAD_REQUEST', 400], failed.message);
        assert.ok(failed.message.startsWith(`${field} is `), failed.message);
      }
      const answer = await stub.request('/diff', { from: 0, limit: -Infinity }, null);
      assert.deepEqual([answer.status, JSON.parse(answer.text).code], [400, 'BAD_REQUEST']);
      // getDB over fetch refuses it before sending.
      const db = createClient(fetchStubOf(world, backend, name));
      for (const call of [() => db.asOf(NaN).query('SELECT 1'), () => db.transaction(async () => {}, { timeoutMs: NaN })]) {
        const failed = await call().then(() => null, (err) => err);
        assert.equal(failed?.code, 'BAD_REQUEST', String(failed));
      }
    });

    test('an object parameter sent to the stub itself: its toJSON() (run on the caller\'s side) is refused, not bound as NULL; bytes inside one are refused as any object is', async () => {
      const name = tenant('rpc-objects');
      const stub = stubOf(backend, name);
      await stub.run('CREATE TABLE c (v)');
      const toJSON = await rpcFailure(stub.run('INSERT INTO c VALUES (?)', [{ $make: 'toJSON' }]));
      assert.deepEqual([toJSON.code, toJSON.status], ['BAD_PARAMS', 400], toJSON.message);
      assert.match(toJSON.message, /toJSON\(\) gave a promise/);
      // Through createClient the value is encoded where toJSON() is the caller's own.
      await stubOf(backend, name, { client: true }).run('INSERT INTO c VALUES (?)', [{ $make: 'toJSON' }]);
      assert.deepEqual(await stub.query('SELECT v FROM c'), [{ v: '12.50 EUR' }]);
      // SQL text JSON cannot carry as it is: as D1 takes it, or refused naming sql.
      assert.deepEqual(await stub.query("SELECT 'a\ud83d' AS v"), [{ v: 'a\ufffd' }]);
      const nul = await rpcFailure(stub.query("SELECT 'a\0b' AS v"));
      assert.deepEqual([nul.code, nul.status], ['BAD_REQUEST', 400], nul.message);
      assert.match(nul.message, /^sql holds a NUL character \(at character 9\)/);
      const inside = await rpcFailure(stub.query('SELECT ?', [{ $make: 'bytesInside' }]));
      assert.deepEqual([inside.code, inside.status], ['BAD_PARAMS', 400], inside.message);
      assert.match(inside.message, /parameter 1 is an object/);
      // A body past the engine's limit over request(): 413 from its length alone, its
      // bytes never copied into the engine's memory.
      const before = (await stub.stats()).wasmMemoryBytes;
      const answer = await stub.request('/query', { sql: 'SELECT length(?)', params: ['x'.repeat(9 * 1024 * 1024)] }, null);
      assert.deepEqual([answer.status, JSON.parse(answer.text).code], [413, 'PAYLOAD_TOO_LARGE']);
      assert.equal((await stub.stats()).wasmMemoryBytes, before);
      // A body stream that breaks is the caller's 400, not a failure of DoSQL's (500 INTERNAL).
      const broken = await stub.request('/query', { $make: 'brokenStream' }, null);
      assert.deepEqual([broken.status, JSON.parse(broken.text).code], [400, 'BAD_REQUEST'], broken.text);
      assert.match(JSON.parse(broken.text).error, /the request's body could not be read/);
    });

    test('createClient over RPC: past what Workers RPC carries, a request is PAYLOAD_TOO_LARGE; a large answer arrives', async () => {
      const client = stubOf(backend, tenant('rpc-large'), { client: true });
      // 40 MiB of parameter: the platform refuses to send it at all.
      const failed = await rpcFailure(client.query('SELECT length(?) AS n', ['x'.repeat(40 * 1024 * 1024)]));
      assert.deepEqual([failed.code, failed.status], ['PAYLOAD_TOO_LARGE', 413], failed.message);
      // 17 MB of answer with one character past Latin-1: as a string, RPC would count it
      // twice (34 MB, past its 32 MiB).
      const [row] = await client.query("SELECT '🙂' || printf('%.*c', 17000000, 'x') AS v");
      assert.equal(row.v.length, 17_000_002);
      assert.ok(row.v.startsWith('🙂x'));
      // An answer of 16 MiB to the byte ({"rows":[{"v":"🙂x...x"}]}), where text and the
      // platform's own bytes together would just pass 32 MiB.
      const n = 16 * 1024 * 1024 - '{"rows":[{"v":"🙂"}]}'.length - 2;
      const [edge] = await client.query(`SELECT '🙂' || printf('%.*c', ${n}, 'x') AS v`);
      assert.equal(new TextEncoder().encode(JSON.stringify({ rows: [edge] })).length, 16 * 1024 * 1024);
    });
  });
}
