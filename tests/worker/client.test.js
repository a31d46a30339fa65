// The client package (worker-shim/src/client/client.js): values that JSON cannot carry
// round-trip exactly through a real workerd (BigInt past 2^53, blobs from
// Uint8Array, ArrayBuffer and other views, ±Infinity, Dates as ISO text), errors
// carry SQLite's message, a code and the status, and getDB finds the namespace in
// platform, env or the namespace itself. Plus the value encoding on its own.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, BACKENDS, tenant } from './harness.js';
import { stubOf } from './fixtures/client-stub.js';
import {
  createClient,
  decodeRow,
  decodeValue,
  DoSQLError,
  encodeParams,
  encodeValue,
  getDB,
  statements,
  statementsAtOnce,
} from '../../worker-shim/src/client/client.js';
import { toD1 } from '../../worker-shim/src/client/d1.js';
import { encodeSql } from '../../worker-shim/src/client/values.js';

const world = createWorld('client');
before(() => world.start());
after(() => world.destroy());

for (const backend of BACKENDS) {
  describe(`client values and errors (${backend})`, () => {
    test('BigInt beyond 2^53 round-trips exactly, as a parameter, a column and a lastInsertRowId', async () => {
      const db = createClient(stubOf(world, backend, tenant('bigint')));
      await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
      const big = 2n ** 53n + 1n;
      const max = 9223372036854775807n;
      const min = -9223372036854775808n;
      const r = await db.run('INSERT INTO t (id, v) VALUES (?, ?)', [big, max]);
      assert.deepEqual(r, { rowsAffected: 1, lastInsertRowId: big });
      await db.run('INSERT INTO t (id, v) VALUES (?, ?)', [1, min]);
      assert.deepEqual(await db.query('SELECT id, v FROM t ORDER BY id'), [
        { id: 1, v: min },
        { id: big, v: max },
      ]);
      assert.deepEqual(await db.queryOne('SELECT v - 1 AS w FROM t WHERE id = ?', [big]), { w: max - 1n });
      // Safe integers stay numbers both ways.
      assert.deepEqual(await db.queryOne('SELECT ? AS n', [2 ** 53 - 1]), { n: 2 ** 53 - 1 });
      // Inside a transaction too.
      await db.transaction(async (tx) => {
        assert.deepEqual(await tx.queryOne('SELECT v FROM t WHERE id = ?', [big]), { v: max });
      });
    });

    test('transaction(fn): a statement fn did not await that failed rolls the transaction back', async () => {
      const db = createClient(stubOf(world, backend, tenant('unawaited')));
      await db.run('CREATE TABLE u (id INTEGER PRIMARY KEY)');
      // Not awaited: the failure would be lost, and the insert before it committed.
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO u VALUES (1)');
          tx.run('INSERT INTO nope VALUES (1)');
          tx.run('INSERT INTO u VALUES (2)');
        }),
        (/** @type {any} */ err) => err.code === 'SQLITE_ERROR' && /no such table: nope/.test(err.message),
      );
      assert.deepEqual(await db.query('SELECT id FROM u'), []);
      // Chained without a rejection handler (then with one function, finally), or made
      // from a callback after fn resolved: not handled either. (quiet: the chain's own
      // rejection, which the test silences with Promise's then, which the client does not count.)
      const quiet = (/** @type {Promise<unknown>} */ p) => void Promise.prototype.then.call(p, undefined, () => {});
      /** @type {((tx: any) => Promise<void>)[]} */
      const unhandled = [
        async (tx) => { tx.run('INSERT INTO nope VALUES (1)').then(() => {}).catch(() => {}); tx.run('INSERT INTO u VALUES (1)').then(() => {}); },
        async (tx) => { quiet(tx.run('INSERT INTO nope VALUES (1)').then(() => {})); },
        async (tx) => { quiet(tx.run('INSERT INTO nope VALUES (1)').finally(() => {})); },
        async (tx) => { tx.run('INSERT INTO u VALUES (1)').then(() => { tx.run('INSERT INTO nope VALUES (1)'); }); },
        // It fails while fn still awaits another: no unhandled rejection meanwhile.
        async (tx) => { tx.run('INSERT INTO nope VALUES (1)'); await tx.run('INSERT INTO u VALUES (1)'); },
      ];
      for (const [i, fn] of unhandled.entries()) {
        if (i === 0) {
          await db.transaction(fn); // the failure is caught down its chain: handled
          await db.run('DELETE FROM u');
          continue;
        }
        await assert.rejects(db.transaction(fn), (/** @type {any} */ err) => /no such table: nope/.test(err.message), `case ${i}`);
        assert.deepEqual(await db.query('SELECT id FROM u'), [], `case ${i}`);
      }
      // Awaited and handled (the statement fails alone), or caught without await: fn's to
      // decide, and the rest commits; an unawaited one that succeeds is waited for.
      await db.transaction(async (tx) => {
        await tx.run('INSERT INTO u VALUES (1)');
        await tx.run('INSERT INTO nope VALUES (1)').catch(() => {});
        tx.run('INSERT INTO nope VALUES (2)').catch(() => {});
        tx.run('INSERT INTO u VALUES (2)');
      });
      assert.deepEqual(await db.query('SELECT id FROM u ORDER BY id'), [{ id: 1 }, { id: 2 }]);
    });

    test('transaction(fn) in workerd: a failure passed on to a promise nobody handles (an async helper not awaited, a then() callback returning the call) rolls back; one fn caught commits', async () => {
      const res = await world.mf.dispatchFetch(`http://localhost/${backend}/${tenant('passed-on')}/__unawaited`, { method: 'POST' });
      const { outcomes, rows } = await res.json();
      assert.match(outcomes.helper, /NOT NULL constraint failed/);
      assert.match(outcomes.chained, /NOT NULL constraint failed/);
      assert.equal(outcomes.caught, 'committed');
      assert.deepEqual(rows, [{ sku: 'c' }]);
    });

    test('blobs from Uint8Array, ArrayBuffer and other views come back as Uint8Array', async () => {
      const db = createClient(stubOf(world, backend, tenant('blob')));
      await db.run('CREATE TABLE b (id INTEGER PRIMARY KEY, data BLOB)');
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const big = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
      const view = new DataView(all.buffer, 10, 5);
      const words = new Uint16Array([0x0102, 0xfffe]);
      await db.run('INSERT INTO b (id, data) VALUES (1, ?), (2, ?), (3, ?), (4, ?), (5, ?), (6, ?)', [
        all,
        all.buffer.slice(0, 3),
        view,
        words,
        new Uint8Array(0),
        big,
      ]);
      const rows = await db.query('SELECT id, data, length(data) AS n FROM b ORDER BY id');
      assert.ok(rows.every((r) => r.data instanceof Uint8Array));
      assert.deepEqual(rows[0].data, all);
      assert.deepEqual(rows[1].data, new Uint8Array([0, 1, 2]));
      assert.deepEqual(rows[2].data, new Uint8Array([10, 11, 12, 13, 14]));
      assert.deepEqual(rows[3].data, new Uint8Array(words.buffer));
      assert.deepEqual(rows[4].data, new Uint8Array(0));
      assert.deepEqual(rows[5].data, big);
      assert.deepEqual(rows.map((r) => r.n), [256, 3, 5, 4, 0, 100_000]);
      assert.deepEqual(await db.queryOne('SELECT hex(?) AS h', [new Uint8Array([0xde, 0xad])]), { h: 'DEAD' });
    });

    test('±Infinity, -0, booleans and Dates as parameters', async () => {
      const db = createClient(stubOf(world, backend, tenant('misc')));
      const when = new Date('2026-11-24T12:34:56.789Z');
      const row = await db.queryOne('SELECT ? AS pinf, ? AS ninf, ? AS t, ? AS f, ? AS d, ? AS nul', [
        Infinity,
        -Infinity,
        true,
        false,
        when,
        null,
      ]);
      assert.deepEqual(row, { pinf: Infinity, ninf: -Infinity, t: 1, f: 0, d: '2026-11-24T12:34:56.789Z', nul: null });
      assert.deepEqual(await db.queryOne('SELECT :a + :b AS s', { a: 2n ** 60n, b: 1 }), { s: 2n ** 60n + 1n });
      // JSON.stringify(-0) is "0": the client tags it, and it comes back -0, a REAL.
      const zero = await db.queryOne('SELECT ? AS z, typeof(?) AS t', [-0, -0]);
      assert.ok(Object.is(zero.z, -0), `got ${Object.is(zero.z, 0) ? '+0' : zero.z}`);
      assert.equal(zero.t, 'real');
    });

    test('a column named __proto__ is a column, not the row\'s prototype', async () => {
      const db = createClient(stubOf(world, backend, tenant('proto')));
      for (const row of [await db.queryOne('SELECT 1 AS __proto__, 2 AS b'), (await db.query("SELECT x'0102' AS __proto__, 2 AS b"))[0]]) {
        assert.equal(Object.getPrototypeOf(row), Object.prototype);
        assert.deepEqual(Object.keys(row), ['__proto__', 'b']);
      }
      assert.deepEqual(Object.getOwnPropertyDescriptor(await db.queryOne("SELECT x'0102' AS __proto__"), '__proto__')?.value, new Uint8Array([1, 2]));
    });

    test('a parameter with no wire form (symbol, function, invalid Date) is refused with BAD_PARAMS, not sent as NULL', async () => {
      const db = createClient(stubOf(world, backend, tenant('unsendable')));
      await db.run('CREATE TABLE s (v)');
      for (const [value, what] of [[Symbol('x'), /a symbol, Symbol\(x\)/], [() => 1, /a function/], [new Date(NaN), /an invalid Date/]]) {
        for (const call of [() => db.run('INSERT INTO s VALUES (?)', [value]), () => db.query('SELECT :v AS v', { v: value }), () => db.batch([{ sql: 'INSERT INTO s VALUES (?)', params: [value] }])]) {
          await assert.rejects(call(), (/** @type {any} */ err) => err instanceof DoSQLError && err.code === 'BAD_PARAMS' && err.status === 400 && what.test(err.message));
        }
      }
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM s'), [{ n: 0 }]);
    });

    test('a parameter JSON cannot write (a cycle), a bigint inside an object, a promise not awaited: BAD_PARAMS, never a TypeError', async () => {
      const db = createClient(stubOf(world, backend, tenant('unwritable')));
      await db.run('CREATE TABLE s (v)');
      /** @type {any} */
      const cycle = {};
      cycle.self = cycle;
      /** @type {[unknown, RegExp][]} */
      const cases = [
        [cycle, /cannot be sent: Converting circular structure to JSON/],
        [{ n: 10n }, /is an object/],
        [Promise.resolve(1), /a promise \(await it first\)/],
        [new Map([[1, 2]]), /is an object/],
      ];
      for (const [value, what] of cases) {
        for (const call of [() => db.run('INSERT INTO s VALUES (?)', [value]), () => db.query('SELECT :v AS v', { v: value }), () => db.batch([{ sql: 'INSERT INTO s VALUES (?)', params: [value] }])]) {
          await assert.rejects(call(), (/** @type {any} */ err) => err instanceof DoSQLError && err.code === 'BAD_PARAMS' && err.status === 400 && what.test(err.message));
        }
      }
      // Another field JSON cannot write: the request is refused, coded, before it is sent.
      await assert.rejects(db.query(/** @type {any} */ (cycle)), { name: 'DoSQLError', code: 'BAD_REQUEST', status: 400 });
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM s'), [{ n: 0 }]);
    });

    test('transaction() without a function, asOf() without a point: DoSQLErrors, and no transaction is begun', async () => {
      const db = createClient(stubOf(world, backend, tenant('misuse')));
      for (const fn of [undefined, null, 5, 'SELECT 1']) {
        await assert.rejects(db.transaction(/** @type {any} */ (fn)), { name: 'DoSQLError', code: 'BAD_REQUEST', status: 400 });
      }
      // Its arguments swapped: it says the function goes first.
      await assert.rejects(db.transaction(/** @type {any} */ ({ timeoutMs: 1000 }), /** @type {any} */ (async () => {})), { code: 'BAD_REQUEST', message: /takes the function first/ });
      // options null is no options.
      assert.equal(await db.transaction(async () => 7, /** @type {any} */ (null)), 7);
      for (const point of [undefined, null]) {
        assert.throws(() => db.asOf(/** @type {any} */ (point)), { name: 'DoSQLError', code: 'BAD_POINT', status: 400 });
      }
      // Nothing holds the database: a write runs at once.
      assert.deepEqual(await db.run('CREATE TABLE after_misuse (v)'), { rowsAffected: 0, lastInsertRowId: 0 });
    });

    test('errors are DoSQLError with SQLite\'s message, a stable code and the status', async () => {
      const db = createClient(stubOf(world, backend, tenant('errors')));
      await db.run('CREATE TABLE u (email TEXT UNIQUE)');
      await db.run('INSERT INTO u VALUES (?)', ['a@x.io']);
      /** @type {[() => Promise<unknown>, {status: number, code: string, message: RegExp}][]} */
      const cases = [
        [() => db.run('INSERT INTO u VALUES (?)', ['a@x.io']), { status: 409, code: 'SQLITE_CONSTRAINT_UNIQUE', message: /^UNIQUE constraint failed: u\.email$/ }],
        [() => db.query('SELECT * FROM missing'), { status: 400, code: 'SQLITE_ERROR', message: /no such table: missing/ }],
        [() => db.query('SELECT ?', []), { status: 400, code: 'BAD_PARAMS', message: /./ }],
        [() => db.query('SELECT 1; SELECT 2'), { status: 400, code: 'MULTIPLE_STATEMENTS', message: /./ }],
      ];
      for (const [call, expected] of cases) {
        await assert.rejects(call(), (/** @type {any} */ err) => {
          assert.ok(err instanceof DoSQLError);
          assert.ok(err instanceof Error);
          assert.equal(err.name, 'DoSQLError');
          assert.equal(err.status, expected.status);
          assert.equal(err.code, expected.code);
          assert.match(err.message, expected.message);
          return true;
        });
      }
      await assert.rejects(
        db.batch(['SELECT 1', 'SELECT * FROM missing']),
        (/** @type {any} */ err) => err instanceof DoSQLError && err.operation === 1 && /no such table/.test(err.message),
      );
    });
  });
}

describe('a client kept from one request to the next (db ??= getDB(env, tenant))', () => {
  /** @param {string} backend @param {string} name @param {string} via */
  const kept = async (backend, name, via) => {
    const r = await world.mf.dispatchFetch(`http://localhost/${backend}/${name}/__kept`, { method: 'POST', body: JSON.stringify({ via, sql: 'SELECT 1 AS one' }) });
    return r.json();
  };
  for (const backend of BACKENDS) {
    test(`getDB's and toD1's clients of a namespace work in every request, not only the first (${backend})`, async () => {
      const name = tenant('kept');
      for (const via of ['getDB', 'toD1']) {
        for (let i = 0; i < 3; i++) assert.deepEqual(await kept(backend, name, via), { rows: [{ one: 1 }] }, `${via}, request ${i + 1}`);
      }
    });
  }
  test('a client of a stub kept past its request fails with a DoSQLError saying so, not the runtime\'s bare Error', async () => {
    const name = tenant('kept-stub');
    assert.deepEqual(await kept('sql', name, 'stub'), { rows: [{ one: 1 }] });
    const second = await kept('sql', name, 'stub');
    assert.equal(second.error?.code, 'STUB_OF_OTHER_REQUEST', JSON.stringify(second));
    assert.match(second.error.message, /made in another request/);
  });
});

describe('getDB', () => {
  /** A namespace look-alike that records the names it was asked for. */
  function namespace() {
    /** @type {string[]} */
    const names = [];
    return {
      names,
      idFromName: (/** @type {string} */ n) => (names.push(n), `id:${n}`),
      get: (/** @type {string} */ id) => ({
        fetch: async (/** @type {string} */ url, /** @type {any} */ init) =>
          Response.json({ rows: [{ id, url, tx: init.headers['X-DoSQL-Transaction'] ?? null, body: JSON.parse(init.body) }] }),
      }),
    };
  }

  test('a class without RPC is found out once per namespace, not by each client (getDB in a hook makes one per request)', async () => {
    let rpcCalls = 0;
    const ns = namespace();
    const plain = ns.get;
    ns.get = (/** @type {string} */ id) => ({
      ...plain(id),
      request: async () => {
        rpcCalls++;
        throw new TypeError('The RPC receiver does not implement the method "request".');
      },
    });
    for (let i = 0; i < 3; i++) assert.equal((await getDB({ env: { DOSQL_DB: ns } }, `t${i}`).queryOne('SELECT 1')).id, `id:t${i}`);
    assert.equal(rpcCalls, 1);
  });

  test('accepts platform, env, or the namespace, and the tenant (default "default")', async () => {
    const ns = namespace();
    for (const [arg, tenantId, id] of [
      [{ env: { DOSQL_DB: ns } }, undefined, 'id:default'],
      [{ DOSQL_DB: ns }, 'acme', 'id:acme'],
      [ns, 'beta', 'id:beta'],
    ]) {
      const row = await getDB(arg, tenantId).queryOne('SELECT ?', [1n]);
      assert.deepEqual(row, { id, url: 'http://internal/query', tx: null, body: { sql: 'SELECT ?', params: [{ $bigint: '1' }] } });
    }
    assert.deepEqual(ns.names, ['default', 'acme', 'beta']);
  });

  test("the guide's unit test of getDB, whose stub answers {ok, json()} alone, passes", async () => {
    /** @param {any} answer */
    const platformAnswering = (answer) => {
      /** @type {any[][]} */
      const calls = [];
      const stub = { fetch: async (/** @type {any[]} */ ...args) => (calls.push(args), answer) };
      return { calls, platform: { env: { DOSQL_DB: { idFromName: () => 'test-id', get: () => stub } } } };
    };
    const good = platformAnswering({ ok: true, json: () => Promise.resolve({ rows: [{ id: 1, name: 'Test' }] }) });
    assert.deepEqual(await getDB(good.platform, 'test-tenant').query('SELECT * FROM users'), [{ id: 1, name: 'Test' }]);
    assert.equal(good.calls[0][0], 'http://internal/query');
    assert.equal(good.calls[0][1].body, JSON.stringify({ sql: 'SELECT * FROM users', params: undefined }));
    const bad = platformAnswering({ ok: false, json: () => Promise.resolve({ error: 'Database error' }) });
    await assert.rejects(getDB(bad.platform, 'test-tenant').query('SELECT * FROM users'), (/** @type {any} */ err) => err instanceof DoSQLError && err.message === 'Database error');
  });

  test('without a namespace it throws a TypeError naming DOSQL_DB', () => {
    assert.throws(() => getDB({ env: {} }), (err) => err instanceof TypeError && /DOSQL_DB/.test(err.message));
    assert.throws(() => getDB(undefined), TypeError);
  });

  test('a tenant id that is not a non-empty string is BAD_TENANT, not the database its text names ("null", "[object Object]")', () => {
    const ns = namespace();
    for (const id of [null, 7, { id: 'acme' }, '', ['acme'], Symbol('t')]) {
      for (const make of [() => getDB(ns, /** @type {any} */ (id)), () => toD1(ns, /** @type {any} */ (id))]) {
        assert.throws(make, { name: 'DoSQLError', code: 'BAD_TENANT', status: 400 });
      }
    }
    assert.deepEqual(ns.names, [], 'no object was named');
    assert.throws(() => getDB(ns, /** @type {any} */ ({ id: 'acme' })), { message: /not an object:/ });
    // Left out, it is "default"; given a stub, there is no name to check.
    getDB(ns);
    toD1({ fetch: async () => Response.json({}) }, /** @type {any} */ (null));
    assert.deepEqual(ns.names, ['default']);
  });

  test('a run inside getDB().transaction sends the header; the guide\'s generic calls work', async () => {
    /** @type {{url: string, headers: any, body: any}[]} */
    const seen = [];
    const db = createClient({
      async fetch(url, init) {
        seen.push({ url, headers: init.headers, body: JSON.parse(init.body) });
        if (url.endsWith('/begin')) return Response.json({ txId: 'T', timeoutMs: 5000 });
        if (url.endsWith('/run')) return Response.json({ rowsAffected: 1, lastInsertRowId: 7 });
        return Response.json({});
      },
    });
    const id = await db.transaction(async (tx) => (await tx.run('INSERT INTO t DEFAULT VALUES')).lastInsertRowId);
    assert.equal(id, 7);
    assert.deepEqual(
      seen.map((s) => [s.url, s.headers['X-DoSQL-Transaction'] ?? null, s.headers['Content-Type']]),
      [
        ['http://internal/begin', null, 'application/json'],
        ['http://internal/run', 'T', 'application/json'],
        ['http://internal/commit', 'T', 'application/json'],
      ],
    );
  });

  test('a call Workers RPC refuses for its size is a DoSQLError, whatever the parameters hold', async () => {
    const refused = new Error('Serialized RPC arguments or return values are limited to 32MiB, but the size of this value was: 41943112 bytes.');
    const db = createClient({ fetch: async () => Response.json({}), request: async () => { throw refused; } });
    /** @type {any} */
    const cycle = {};
    cycle.self = cycle;
    // Strings; 3.8 million halves: 15 MB of JSON the platform writes as 34 MB (nine
    // bytes a double); a field JSON cannot write (a cycle).
    for (const params of [['x'.repeat(17 * 1024 * 1024)], new Array(3_800_000).fill(0.5)]) {
      await assert.rejects(db.query('SELECT ?', params), { name: 'DoSQLError', code: 'PAYLOAD_TOO_LARGE', status: 413 });
    }
    await assert.rejects(db.query(/** @type {any} */ (cycle)), { name: 'DoSQLError', code: 'PAYLOAD_TOO_LARGE', status: 413 });
    // A parameter JSON cannot write never reaches Workers RPC.
    await assert.rejects(db.query('SELECT ?', [cycle]), { name: 'DoSQLError', code: 'BAD_PARAMS', status: 400 });
    await assert.rejects(db.query('SELECT 1'), { name: 'DoSQLError', code: 'RESULT_TOO_LARGE', status: 400 });
  });

  test('a failed commit rolls back and rejects with the commit\'s error', async () => {
    /** @type {string[]} */
    const paths = [];
    const db = createClient({
      async fetch(url) {
        const path = new URL(url).pathname;
        paths.push(path);
        if (path === '/begin') return Response.json({ txId: 'T', timeoutMs: 5000 });
        if (path === '/commit') return Response.json({ error: 'FOREIGN KEY constraint failed', code: 'SQLITE_CONSTRAINT_FOREIGNKEY' }, { status: 409 });
        return Response.json({});
      },
    });
    await assert.rejects(db.transaction(async () => 1), { name: 'DoSQLError', code: 'SQLITE_CONSTRAINT_FOREIGNKEY', status: 409 });
    assert.deepEqual(paths, ['/begin', '/commit', '/rollback']);
  });
});

test('value encoding: params out, tagged values in', () => {
  assert.equal(encodeParams(undefined), undefined);
  assert.deepEqual(encodeParams([1, 2n, 'x', true, null, undefined, 2 ** 60, NaN]), [1, { $bigint: '2' }, 'x', true, null, null, 2 ** 60, null]);
  assert.deepEqual(encodeParams({ a: new Uint8Array([1, 2, 3]) }), { a: { $blob: 'AQID' } });
  assert.deepEqual(encodeValue(new Uint8Array([255]).buffer), { $blob: '/w==' });
  assert.deepEqual(encodeValue(-Infinity), { $real: '-Infinity' });
  assert.equal(encodeParams('x'), 'x', 'sent as it is: the object refuses it (400 BAD_PARAMS)');
  assert.equal(decodeValue({ $bigint: '-9223372036854775808' }), -9223372036854775808n);
  assert.deepEqual(decodeValue({ $blob: 'AQID' }), new Uint8Array([1, 2, 3]));
  assert.equal(decodeValue({ $real: 'Infinity' }), Infinity);
  assert.deepEqual(decodeValue({ other: 'x' }), { other: 'x' });
  assert.deepEqual(decodeRow({ a: 1, b: { $bigint: '9007199254740993' } }), { a: 1, b: 9007199254740993n });
});

test("an object parameter binds as the value it stands for would: a boxed primitive's, or its toJSON()'s, encoded as that value is", () => {
  const standsFor = (/** @type {unknown} */ v) => ({ toJSON: () => v });
  for (const value of [Infinity, -Infinity, -0, 'a\0b', 'cut \ud83d', new Uint8Array([1, 2]), 2n ** 60n, 5, 'plain', null, true]) {
    assert.deepEqual(encodeValue(standsFor(value)), encodeValue(value), String(value));
  }
  assert.deepEqual(encodeValue(Object(5n)), { $bigint: '5' });
  assert.equal(encodeValue(new Number(5)), 5);
  assert.equal(encodeValue(new String('s')), 's');
  // An object it gives is sent for the object to refuse, as any object is.
  assert.deepEqual(encodeValue(standsFor({ a: 1 })), { a: 1 });
  for (const nothing of [undefined, () => 1]) {
    assert.throws(() => encodeValue(standsFor(nothing)), { code: 'BAD_PARAMS', message: /toJSON\(\) gave nothing JSON can write/ });
  }
});

test('SQL text for the wire: half a UTF-16 pair becomes U+FFFD, as D1 sends it; a NUL is refused, naming sql; parameter names alike', () => {
  assert.deepEqual(encodeParams({ ':a\ud83d': 1 }), { ':a\ufffd': 1 }, 'the name as its SQL is sent');
  assert.throws(() => encodeParams({ 'a\0': 1 }), { code: 'BAD_PARAMS', message: /the parameter name "a\\u0000" holds a NUL character/ });
  assert.equal(encodeSql("SELECT 'a\ud83d'"), "SELECT 'a\ufffd'");
  assert.equal(encodeSql(42), 42, 'sent as it is: the object refuses it (400 BAD_REQUEST)');
  // A boxed string is its text, checked as text is; what JSON would turn into text is refused while it is an object.
  assert.equal(encodeSql(new String("SELECT 'a\ud83d'")), "SELECT 'a\ufffd'");
  assert.throws(() => encodeSql(new String("SELECT 'x\0y'")), { code: 'BAD_REQUEST', message: /^sql holds a NUL character/ });
  assert.throws(() => encodeSql(new Date()), { code: 'BAD_REQUEST', message: 'sql must be a string of SQL, not a Date' });
  assert.throws(() => encodeSql({ toJSON: () => 'SELECT 1' }), { code: 'BAD_REQUEST', message: 'sql must be a string of SQL, not an object with toJSON()' });
  assert.throws(() => encodeSql('SELECT 1;\0 DROP TABLE t'), {
    name: 'DoSQLError',
    code: 'BAD_REQUEST',
    message: /^sql holds a NUL character \(at character 9\): SQLite ends a statement's text there/,
  });
});

test("statements answer with a promise and reject what they refuse, whatever send answers; the class's own answer at once", async () => {
  /** @type {string[]} */
  const sent = [];
  /** A send that answers at once, as DoSQLDatabase's own does. @param {string} path */
  const send = (path) => {
    sent.push(path);
    return path === '/run' ? { rowsAffected: 1, lastInsertRowId: { $bigint: '9007199254740993' } } : { rows: [{ one: 1 }] };
  };
  const db = statements(send, null);
  const query = db.query('SELECT 1 AS one');
  assert.ok(query instanceof Promise);
  assert.deepEqual(await query, [{ one: 1 }]);
  // A parameter with no form on the wire is refused before anything is sent: as a
  // rejection, as an async function's, never a throw.
  const refused = db.run('INSERT INTO t VALUES (?)', [Symbol('s')]);
  assert.ok(refused instanceof Promise);
  await assert.rejects(refused, { name: 'DoSQLError', code: 'BAD_PARAMS' });
  const atOnce = statementsAtOnce(send, null);
  assert.deepEqual(atOnce.query('SELECT 1 AS one'), [{ one: 1 }]);
  assert.deepEqual(atOnce.run('INSERT INTO t VALUES (1)'), { rowsAffected: 1, lastInsertRowId: 9007199254740993n });
  assert.deepEqual(sent, ['/query', '/query', '/run']);
});

describe('answers that are not DoSQL\'s', () => {
  /** A client over an object whose fetch answers res to everything. @param {() => Response} res */
  const over = (res) => createClient({ fetch: async () => res() });

  test("a 404 or 405 from the object's own router is NOT_DOSQL, naming db.serve(request)", async () => {
    for (const status of [404, 405]) {
      await assert.rejects(over(() => new Response('Not Found', { status })).transaction(async () => {}), (/** @type {any} */ err) => {
        assert.ok(err instanceof DoSQLError);
        assert.deepEqual([err.code, err.status], ['NOT_DOSQL', status]);
        assert.match(err.message, /\/begin with \d{3} "Not Found".*return db\.serve\(request\)/);
        return true;
      });
      // subscribe() reads its answer too.
      const events = over(() => new Response('Not Found', { status })).subscribe(['t'], { since: 0 });
      await assert.rejects(events.next(), (/** @type {any} */ err) => {
        assert.deepEqual([err instanceof DoSQLError, err.code, err.status], [true, 'NOT_DOSQL', status]);
        assert.match(err.message, /\/subscribe with \d{3} "Not Found"/);
        return true;
      });
    }
  });

  test("a 2xx JSON object without the field of the path's answer is BAD_RESPONSE: a transaction() against it does not pass for committed", async () => {
    const db = over(() => Response.json({ ok: true }));
    const calls = [
      () => db.query('SELECT 1'), () => db.queryOne('SELECT 1'), () => db.run('INSERT INTO t VALUES (1)'), () => db.batch(['SELECT 1']),
      () => db.exec('SELECT 1'), () => db.history(), () => db.transaction(async (tx) => tx.run('INSERT INTO t VALUES (1)')),
    ];
    for (const call of calls) {
      await assert.rejects(call(), (/** @type {any} */ err) => {
        assert.deepEqual([err instanceof DoSQLError, err.code, err.status], [true, 'BAD_RESPONSE', 200]);
        assert.match(err.message, /answered \/[a-z]+ with \{"ok":true\}, which has no [a-zA-Z]+: not DoSQL's answer/);
        return true;
      });
    }
  });

  test('an exception the object threw instead of answering (its own fetch() failing before DoSQL) is OBJECT_THREW, its message kept', async () => {
    const thrown = Object.assign(new Error('DoSQLError: DB("app"): migrations: { folder } cannot work'), { remote: true });
    const db = createClient({ fetch: async () => { throw thrown; } });
    for (const call of [() => db.query('SELECT 1'), () => db.transaction(async () => {})]) {
      await assert.rejects(call(), (/** @type {any} */ err) => {
        assert.deepEqual([err instanceof DoSQLError, err.code, err.status, err.cause], [true, 'OBJECT_THREW', 500, thrown]);
        assert.match(err.message, /threw instead of answering: DoSQLError: DB\("app"\)/);
        return true;
      });
    }
  });

  test('any other is HTTP_<status>, with its {error} as the message when it has one', async () => {
    await assert.rejects(over(() => Response.json({ error: 'the class said no' }, { status: 400 })).query('SELECT 1'), (/** @type {any} */ err) => {
      assert.deepEqual([err.code, err.status, err.message], ['HTTP_400', 400, 'the class said no']);
      return true;
    });
    await assert.rejects(over(() => new Response('worker threw', { status: 500 })).query('SELECT 1'), (/** @type {any} */ err) => {
      assert.deepEqual([err.code, err.status], ['HTTP_500', 500]);
      assert.match(err.message, /\/query with 500 "worker threw", which is not an answer of DoSQL's protocol/);
      return true;
    });
  });
});
