// The transaction gate (worker-shim/src/durable-object/transaction-gate.js) alone, in Node, over a
// fake engine whose answers the test releases one by one and fake timers: who
// waits for whom (FIFO), when the idle timer runs, and the answers about ended
// transactions. The real engine under it is tested in transactions.test.js.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransactionGate } from '../../worker-shim/src/durable-object/transaction-gate.js';
import { ENDED_MEMORY, IDLE_GRACE_MS, WAITING_MAX_BYTES, WAITING_MAX_REQUESTS } from '../../worker-shim/src/config.js';
import { Engine } from '../../worker-shim/src/wasm/engine.js';
import { compileWasm } from './harness.js';
import { MemoryPages } from './fixtures/memory-storage.js';

/** The real engine, for its contract (the gate's error statuses and header). */
const realEngine = new Engine(await compileWasm(), { storage: new MemoryPages() });

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (/** @type {unknown} */ v) => enc.encode(JSON.stringify(v));
const json = (/** @type {{body: Uint8Array}} */ r) => JSON.parse(dec.decode(r.body));
const tick = () => new Promise((r) => setImmediate(r));

/** An engine that records calls and answers 200 at once (/begin with the
 *  timeout it was asked for, as C does; tests/worker/transactions.test.js has
 *  the real engine's checks), or as told. */
function fakeEngine() {
  /** @type {{method: string, path: string, body: string, inTransaction: boolean}[]} */
  const calls = [];
  /** @type {Map<string, {status: number, body: Uint8Array}>} answers by path, once */
  const scripted = new Map();
  return {
    calls,
    scripted,
    /** @type {string | null} why retire() was called */
    retired: /** @type {string | null} */ (null),
    contract: realEngine.contract,
    /** @param {string} why */
    retire(why) {
      this.retired = why;
    },
    /** @param {string} method @param {string} path @param {any} body @param {{inTransaction?: boolean}} [o] */
    async answer(method, path, body, { inTransaction = false } = {}) {
      calls.push({ method, path, body: dec.decode(body), inTransaction });
      const s = scripted.get(path);
      if (s) {
        scripted.delete(path);
        return s;
      }
      if (path === '/begin') return { status: 200, body: bytes({ timeoutMs: JSON.parse(dec.decode(body) || '{}').timeoutMs ?? 5000 }) };
      return { status: 200, body: bytes(path === '/query' ? { rows: [] } : {}) };
    },
  };
}

/** Timers run only when the test says so. */
function fakeTimers() {
  let next = 1;
  /** @type {Map<number, {fn: () => void, ms: number}>} */
  const timers = new Map();
  return {
    timers,
    setTimeout: (/** @type {() => void} */ fn, /** @type {number} */ ms) => {
      const id = next++;
      timers.set(id, { fn, ms });
      return id;
    },
    clearTimeout: (/** @type {number} */ id) => void timers.delete(id),
    /** Fire every pending timer. */
    fireAll() {
      const all = [...timers.values()];
      timers.clear();
      for (const t of all) t.fn();
    },
  };
}

function setup() {
  const engine = fakeEngine();
  const timers = fakeTimers();
  let n = 0;
  const gate = new TransactionGate({
    engine: () => engine,
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    randomUUID: () => `tx-${++n}`,
    log: () => {},
  });
  return { engine, timers, gate };
}

test('gate: requests outside a transaction go straight to the engine, without the flag', async () => {
  const { engine, gate } = setup();
  const r = await gate.request('POST', '/query', bytes({ sql: 'SELECT 1' }), null);
  assert.equal(r.status, 200);
  assert.deepEqual(engine.calls, [{ method: 'POST', path: '/query', body: '{"sql":"SELECT 1"}', inTransaction: false }]);
});

test('gate: with the gate free, an engine that answers at once is answered at once; with a transaction open, the request waits', async () => {
  const { contract } = fakeEngine();
  /** @type {string[]} */
  const paths = [];
  let throwing = false;
  const atOnce = {
    contract,
    /** @param {string} method @param {string} path */
    answer(method, path) {
      paths.push(path);
      if (throwing) throw new Error('dosql.wasm failed');
      return { status: 200, body: bytes(path === '/begin' ? { timeoutMs: 5000 } : { rows: [] }) };
    },
  };
  const gate = new TransactionGate({ engine: () => atOnce, randomUUID: () => 'tx', setTimeout: () => 0, clearTimeout: () => {}, log: () => {} });
  const now = gate.request('POST', '/query', bytes({ sql: 'SELECT 1' }), null);
  assert.ok(!(now instanceof Promise), 'answered at once');
  assert.equal(/** @type {any} */ (now).status, 200);
  // A call that throws at once throws, and leaves the gate free as the answer did:
  // a /begin after both is let in (it waits for every request admitted before it).
  throwing = true;
  assert.throws(() => gate.request('POST', '/query', bytes({ sql: 'SELECT 1' }), null), /dosql.wasm failed/);
  throwing = false;
  const { txId } = json(await gate.request('POST', '/begin', bytes({}), null));
  const waits = gate.request('POST', '/query', bytes({ sql: 'after' }), null);
  assert.ok(waits instanceof Promise, 'a transaction holds the gate');
  await tick();
  assert.equal(gate.waiting, 1);
  await gate.request('POST', '/commit', bytes({}), txId);
  assert.equal((await waits).status, 200);
  assert.deepEqual(paths, ['/query', '/query', '/begin', '/commit', '/query']);
});

test('gate: while a transaction is open, others wait FIFO (a second /begin too) and go in arrival order after it ends', async () => {
  const { engine, gate } = setup();
  const begun = json(await gate.request('POST', '/begin', bytes({}), null));
  assert.deepEqual(begun, { txId: 'tx-1', timeoutMs: 5000 });
  /** @type {string[]} */
  const done = [];
  const a = gate.request('POST', '/run', bytes({ sql: 'A' }), null).then(() => done.push('A'));
  const b = gate.request('POST', '/begin', bytes({ timeoutMs: 1000 }), null).then((r) => (done.push('begin2'), json(r)));
  const c = gate.request('POST', '/run', bytes({ sql: 'C' }), null).then(() => done.push('C'));
  await tick();
  assert.equal(gate.waiting, 3);
  // The transaction's own requests do not wait.
  const own = await gate.request('POST', '/run', bytes({ sql: 'own' }), 'tx-1');
  assert.equal(own.status, 200);
  assert.deepEqual(done, []);
  assert.equal(json(await gate.request('POST', '/commit', bytes({}), 'tx-1')).constructor, Object);
  const second = await b;
  assert.deepEqual(second, { txId: 'tx-2', timeoutMs: 1000 });
  await tick();
  // A went before the second /begin; C waits for the second transaction.
  assert.deepEqual(done, ['A', 'begin2']);
  assert.equal(gate.waiting, 1);
  await gate.request('POST', '/rollback', undefined, 'tx-2');
  await Promise.all([a, c]);
  assert.deepEqual(done, ['A', 'begin2', 'C']);
  assert.deepEqual(
    engine.calls.map((c) => `${c.path}${c.inTransaction ? '*' : ''}${c.path === '/run' ? ' ' + JSON.parse(c.body).sql : ''}`),
    ['/begin', '/run* own', '/commit*', '/run A', '/begin', '/rollback*', '/run C'],
  );
});

test('gate: requests waiting behind a transaction are bounded by count and by the bytes of their bodies (429 TOO_MANY_REQUESTS past either); its own requests and the shim\'s too', async () => {
  const { gate } = setup();
  const { txId } = json(await gate.request('POST', '/begin', bytes({}), null));
  const body = new Uint8Array(4 * 1024 * 1024);
  const fit = WAITING_MAX_BYTES / body.length;
  const waiting = Array.from({ length: fit }, () => gate.request('POST', '/query', body, null));
  const [refused, begin, inside] = await Promise.all([
    gate.request('POST', '/query', body, null),
    gate.request('POST', '/begin', new Uint8Array(1), null),
    gate.request('POST', '/query', new Uint8Array(1), txId),
  ]);
  assert.deepEqual([refused.status, json(refused).code], [429, 'TOO_MANY_REQUESTS']);
  assert.match(json(refused).error, /too many requests are waiting for this database/);
  assert.equal(begin.status, 429);
  assert.equal(inside.status, 200);
  // The shim's own request (the change log's prune) waits whatever the count.
  const internal = gate.request('POST', '/changes/prune', body, null, { internal: true });
  await gate.request('POST', '/commit', bytes({}), txId);
  for (const answer of [...(await Promise.all(waiting)), await internal]) assert.equal(answer.status, 200);
  // By count: small bodies, one past the most.
  const second = json(await gate.request('POST', '/begin', bytes({}), null)).txId;
  const many = Array.from({ length: WAITING_MAX_REQUESTS }, () => gate.request('POST', '/query', new Uint8Array(1), null));
  assert.equal((await gate.request('POST', '/query', new Uint8Array(1), null)).status, 429);
  await gate.request('POST', '/rollback', bytes({}), second);
  assert.ok((await Promise.all(many)).every((a) => a.status === 200));
  assert.equal((await gate.request('POST', '/query', body, null)).status, 200, 'the count went back to 0');
});

test('gate: requests of a transaction waiting behind one of it in the engine are counted too', async () => {
  const engine = fakeEngine();
  /** @type {() => void} */
  let release = () => {};
  const held = {
    contract: engine.contract,
    /** @type {typeof engine.answer} */
    async answer(method, path, body, o) {
      if (path === '/query' && o?.inTransaction) await new Promise((r) => (release = () => r(undefined)));
      return engine.answer(method, path, body, o);
    },
  };
  const gate = new TransactionGate({ engine: () => held, randomUUID: () => 'tx', setTimeout: () => 0, clearTimeout: () => {} });
  const { txId } = json(await gate.request('POST', '/begin', bytes({}), null));
  const first = gate.request('POST', '/query', bytes({}), txId);
  await tick();
  const body = new Uint8Array(WAITING_MAX_BYTES);
  const behind = gate.request('POST', '/run', body, txId);
  const refused = await gate.request('POST', '/run', new Uint8Array(1), txId);
  assert.deepEqual([refused.status, json(refused).code], [429, 'TOO_MANY_REQUESTS']);
  // One that fits still waits its turn behind all before it, the refused one aside.
  const last = gate.request('POST', '/run', new Uint8Array(0), txId);
  await tick();
  assert.deepEqual(engine.calls.map((c) => c.path), ['/begin'], 'nothing passes the held /query');
  release();
  assert.equal((await first).status, 200);
  assert.equal((await behind).status, 200);
  assert.equal((await last).status, 200);
  assert.deepEqual(engine.calls.map((c) => `${c.path} ${c.body.length}`), ['/begin 2', '/query 2', `/run ${WAITING_MAX_BYTES}`, '/run 0']);
});

test('gate: a /begin waits until the requests admitted before it have finished', async () => {
  const engine = fakeEngine();
  /** @type {(() => void) | null} */
  let finishSlow = null;
  const slowEngine = {
    contract: engine.contract,
    /** @type {typeof engine.answer} */
    async answer(method, path, body, o) {
      if (path === '/query') await new Promise((r) => (finishSlow = () => r(undefined)));
      return engine.answer(method, path, body, o);
    },
  };
  const gate = new TransactionGate({ engine: () => slowEngine, randomUUID: () => 'tx', setTimeout: () => 0, clearTimeout: () => {} });
  const slow = gate.request('POST', '/query', bytes({ sql: 'slow' }), null);
  const begin = gate.request('POST', '/begin', bytes({}), null);
  await tick();
  assert.deepEqual(engine.calls.map((c) => c.path), []);
  /** @type {any} */ (finishSlow)();
  await slow;
  await begin;
  assert.deepEqual(engine.calls.map((c) => c.path), ['/query', '/begin']);
});

test('gate: a request whose body has not arrived holds up only itself, a /begin too', async () => {
  for (const stalledPath of ['/query', '/begin']) {
    const { engine, gate } = setup();
    /** @type {(b: Uint8Array) => void} */
    let sendBody = () => {};
    const stalled = gate.request('POST', stalledPath, new Promise((r) => (sendBody = r)), null);
    // A /begin and plain requests behind it go while the upload stalls.
    const { txId } = json(await gate.request('POST', '/begin', bytes({}), null));
    assert.equal((await gate.request('POST', '/run', bytes({ sql: 'inside' }), txId)).status, 200);
    await gate.request('POST', '/commit', bytes({}), txId);
    assert.equal((await gate.request('POST', '/query', bytes({ sql: 'after' }), null)).status, 200);
    assert.deepEqual(engine.calls.map((c) => c.path), ['/begin', '/run', '/commit', '/query'], stalledPath);
    // Once its body is in, it takes its turn.
    sendBody(bytes(stalledPath === '/begin' ? {} : { sql: 'late' }));
    const answer = await stalled;
    assert.equal(answer.status, 200);
    assert.equal(engine.calls.at(-1)?.path, stalledPath);
    if (stalledPath === '/begin') await gate.request('POST', '/rollback', bytes({}), json(answer).txId);
  }
});

test('gate: an idle timer that fires late (the isolate was busy) waits a little more once, for a request sent in time', async () => {
  const engine = fakeEngine();
  const timers = fakeTimers();
  let clock = 1000;
  const gate = new TransactionGate({ engine: () => engine, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, now: () => clock, randomUUID: () => 'tx', log: () => {} });
  const { txId } = json(await gate.request('POST', '/begin', bytes({ timeoutMs: 500 }), null));
  // Another database's long query held the isolate: the timer fires 2.5 s late.
  clock += 3000;
  timers.fireAll();
  assert.equal(gate.openTransaction, txId, 'not idled out yet');
  assert.deepEqual([...timers.timers.values()].map((t) => t.ms), [IDLE_GRACE_MS]);
  // The request that was queued behind the busy isolate arrives: the transaction goes on.
  assert.equal((await gate.request('POST', '/run', bytes({ sql: 'x' }), txId)).status, 200);
  assert.equal(gate.openTransaction, txId);
  // On time, or late a second time, it idles out.
  clock += 500;
  timers.fireAll();
  await tick();
  assert.equal(gate.openTransaction, null);
  assert.deepEqual(engine.calls.map((c) => c.path), ['/begin', '/run', '/rollback']);
});

test('gate: the idle timer is cleared while a request of the transaction runs and rolls it back when idle', async () => {
  const { engine, timers, gate } = setup();
  const { txId } = json(await gate.request('POST', '/begin', bytes({ timeoutMs: 200 }), null));
  assert.equal(timers.timers.size, 1);
  assert.equal([...timers.timers.values()][0].ms, 200);
  // A body still on its way does not stop the clock; a running request does.
  /** @type {(b: Uint8Array) => void} */
  let sendBody = () => {};
  const pending = gate.request('POST', '/run', new Promise((r) => (sendBody = r)), txId);
  await tick();
  assert.equal(timers.timers.size, 1);
  sendBody(bytes({ sql: 'x' }));
  await pending;
  assert.equal(timers.timers.size, 1, 'restarted once the request finished');
  const waiter = gate.request('POST', '/query', bytes({ sql: 'after' }), null);
  await tick();
  timers.fireAll();
  assert.equal((await waiter).status, 200);
  assert.deepEqual(engine.calls.map((c) => `${c.path}${c.inTransaction ? '*' : ''}`), ['/begin', '/run*', '/rollback*', '/query']);
  const late = await gate.request('POST', '/query', bytes({ sql: 'late' }), txId);
  assert.equal(late.status, 409);
  assert.equal(json(late).code, 'TRANSACTION_EXPIRED');
  assert.match(json(late).error, /idled out after 200 ms/);
  assert.equal(gate.openTransaction, null);
});

test('gate: an idle rollback that fails retires the engine, so the requests let in go to a fresh one', async () => {
  for (const failing of ['answer', 'throw']) {
    const { engine, timers, gate } = setup();
    await gate.request('POST', '/begin', bytes({ timeoutMs: 200 }), null);
    if (failing === 'answer') engine.scripted.set('/rollback', { status: 500, body: bytes({ error: 'out of memory', code: 'HEAP_LIMIT' }) });
    else engine.answer = async () => { throw new Error('dosql.wasm failed'); };
    const waiter = gate.request('POST', '/query', bytes({ sql: 'after' }), null);
    await tick();
    timers.fireAll();
    await waiter.catch(() => {});
    assert.match(String(engine.retired), /could not be rolled back after its idle timeout: .*(out of memory|dosql.wasm failed)/, failing);
  }
  // A rollback that succeeds, or that C answers as the abort it was, retires nothing.
  const { engine, timers, gate } = setup();
  await gate.request('POST', '/begin', bytes({ timeoutMs: 200 }), null);
  timers.fireAll();
  await gate.request('POST', '/query', bytes({ sql: 'after' }), null);
  assert.equal(engine.retired, null);
});

test('gate: an idle timeout with no engine to hand (the host refuses it: not started) still opens the gate', async () => {
  const engine = fakeEngine();
  const timers = fakeTimers();
  let refusing = false;
  const gate = new TransactionGate({
    engine: () => {
      if (refusing) throw new Error('the engine is not started');
      return engine;
    },
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    randomUUID: () => 'tx-1',
    log: () => {},
  });
  await gate.request('POST', '/begin', bytes({ timeoutMs: 200 }), null);
  const waiter = gate.request('POST', '/query', bytes({ sql: 'after' }), null);
  await tick();
  refusing = true;
  timers.fireAll();
  // Let in, not left waiting behind a transaction nobody holds: it meets the same refusal,
  // which the host answers by starting an engine (instance.js #throughEngine).
  await assert.rejects(waiter, /the engine is not started/);
  assert.equal(gate.openTransaction, null);
  refusing = false;
  assert.equal((await gate.request('POST', '/query', bytes({ sql: 'next' }), null)).status, 200);
});

test('gate: ended and unknown txIds answer 409 TRANSACTION_EXPIRED saying why', async () => {
  const { gate } = setup();
  const { txId: committed } = json(await gate.request('POST', '/begin', bytes({}), null));
  await gate.request('POST', '/commit', bytes({}), committed);
  const { txId: rolledBack } = json(await gate.request('POST', '/begin', bytes({}), null));
  await gate.request('POST', '/rollback', bytes({}), rolledBack);
  for (const [id, re] of [[committed, /already committed/], [rolledBack, /already rolled back/], ['nope', /unknown/]]) {
    const r = await gate.request('POST', '/run', bytes({ sql: 'x' }), id);
    assert.equal(r.status, 409);
    assert.equal(json(r).code, 'TRANSACTION_EXPIRED');
    assert.match(json(r).error, re);
  }
});

test('gate: /begin with the header of an open transaction cannot nest; with an ended or unknown one it says so, and to drop the header', async () => {
  const { gate } = setup();
  const { txId: open } = json(await gate.request('POST', '/begin', bytes({}), null));
  const nested = await gate.request('POST', '/begin', bytes({}), open);
  assert.equal(nested.status, 400);
  assert.match(json(nested).error, /cannot be nested/);
  await gate.request('POST', '/commit', bytes({}), open);
  for (const [id, re] of [[open, /already committed/], ['nope', /unknown/]]) {
    const r = await gate.request('POST', '/begin', bytes({}), id);
    assert.equal(r.status, 400);
    assert.equal(json(r).code, 'BAD_REQUEST');
    assert.match(json(r).error, re);
    assert.match(json(r).error, /send \/begin without the X-DoSQL-Transaction header/);
    assert.doesNotMatch(json(r).error, /nested/);
  }
});

test('gate: TRANSACTION_ABORTED from the engine ends the transaction; other errors leave it open', async () => {
  const { engine, gate } = setup();
  const { txId } = json(await gate.request('POST', '/begin', bytes({}), null));
  engine.scripted.set('/run', { status: 409, body: bytes({ error: 'UNIQUE constraint failed: t.x', code: 'SQLITE_CONSTRAINT_UNIQUE' }) });
  assert.equal((await gate.request('POST', '/run', bytes({ sql: 'x' }), txId)).status, 409);
  assert.equal(gate.openTransaction, txId);
  engine.scripted.set('/run', { status: 503, body: bytes({ error: 'a page ... retry the transaction', code: 'TRANSACTION_ABORTED' }) });
  assert.equal((await gate.request('POST', '/run', bytes({ sql: 'x' }), txId)).status, 503);
  assert.equal(gate.openTransaction, null);
  const r = await gate.request('POST', '/run', bytes({ sql: 'x' }), txId);
  assert.match(json(r).error, /aborted: a page/);
});

test('gate: requests of one transaction reach the engine one at a time, so none follows an answer that ended it', async () => {
  // A request of the transaction that faults (R2 cold tier) is rolled back in C at once,
  // and answers TRANSACTION_ABORTED only once its pages are in: requests of the same
  // transaction sent meanwhile must not reach C, which has no transaction open any more.
  const engine = fakeEngine();
  /** @type {() => void} */
  let release = () => {};
  const faulting = {
    contract: engine.contract,
    /** @type {typeof engine.answer} */
    async answer(method, path, body, o) {
      const answer = await engine.answer(method, path, body, o);
      if (path !== '/query') return answer;
      await new Promise((r) => (release = () => r(undefined)));
      return { status: 503, body: bytes({ error: 'a page of the database had to be fetched ... retry the transaction', code: 'TRANSACTION_ABORTED' }) };
    },
  };
  const gate = new TransactionGate({ engine: () => faulting, randomUUID: () => 'tx', setTimeout: () => 0, clearTimeout: () => {} });
  const { txId } = json(await gate.request('POST', '/begin', bytes({}), null));
  const first = gate.request('POST', '/query', bytes({ sql: 'cold' }), txId);
  const later = [gate.request('POST', '/run', bytes({ sql: 'x' }), txId), gate.request('POST', '/commit', bytes({}), txId)];
  await tick();
  assert.deepEqual(engine.calls.map((c) => `${c.path}${c.inTransaction ? '*' : ''}`), ['/begin', '/query*'], 'the others wait for its answer');
  release();
  assert.equal((await first).status, 503);
  for (const answer of await Promise.all(later)) {
    assert.equal(answer.status, 409);
    assert.equal(json(answer).code, 'TRANSACTION_EXPIRED');
    assert.match(json(answer).error, /aborted: a page/);
  }
  assert.deepEqual(engine.calls.map((c) => c.path), ['/begin', '/query']);
  assert.equal(gate.openTransaction, null);
});

test('gate: requests of one transaction waiting behind a slow one go one at a time, in arrival order: one sent after the /commit is told it ended', async () => {
  const engine = fakeEngine();
  /** @type {() => void} */
  let release = () => {};
  const slow = {
    contract: engine.contract,
    /** @type {typeof engine.answer} */
    async answer(method, path, body, o) {
      if (path === '/query') await new Promise((r) => (release = () => r(undefined)));
      return engine.answer(method, path, body, o);
    },
  };
  const gate = new TransactionGate({ engine: () => slow, randomUUID: () => 'tx', setTimeout: () => 0, clearTimeout: () => {} });
  const { txId } = json(await gate.request('POST', '/begin', bytes({}), null));
  const first = gate.request('POST', '/query', bytes({ sql: 'slow' }), txId);
  await tick();
  const before = gate.request('POST', '/run', bytes({ sql: 'before' }), txId);
  const commit = gate.request('POST', '/commit', bytes({}), txId);
  const after = gate.request('POST', '/run', bytes({ sql: 'after' }), txId);
  release();
  assert.equal((await first).status, 200);
  assert.equal((await before).status, 200);
  assert.equal((await commit).status, 200);
  const late = await after;
  assert.deepEqual([late.status, json(late).code], [409, 'TRANSACTION_EXPIRED']);
  assert.match(json(late).error, /already committed/);
  assert.deepEqual(engine.calls.map((c) => `${c.path} ${c.body}`), ['/begin {}', '/query {"sql":"slow"}', '/run {"sql":"before"}', '/commit {}']);
});

test('gate: a failed /begin releases the gate', async () => {
  const { engine, gate } = setup();
  engine.scripted.set('/begin', { status: 500, body: bytes({ error: 'no', code: 'INTERNAL' }) });
  assert.equal((await gate.request('POST', '/begin', bytes({}), null)).status, 500);
  assert.equal((await gate.request('POST', '/query', bytes({ sql: 'x' }), null)).status, 200);
});

test('gate: /commit and /rollback without the header are refused at once', async () => {
  const { engine, gate } = setup();
  await gate.request('POST', '/begin', bytes({}), null);
  const r = await gate.request('POST', '/commit', bytes({}), null);
  assert.equal(r.status, 400);
  assert.match(json(r).error, /X-DoSQL-Transaction/);
  assert.deepEqual(engine.calls.map((c) => c.path), ['/begin']);
});

test(`gate: remembers the last ${ENDED_MEMORY} ended transactions`, async () => {
  const { gate } = setup();
  const ids = [];
  for (let i = 0; i < ENDED_MEMORY + 1; i++) {
    const { txId } = json(await gate.request('POST', '/begin', bytes({}), null));
    await gate.request('POST', '/commit', bytes({}), txId);
    ids.push(txId);
  }
  assert.match(json(await gate.request('POST', '/run', bytes({}), ids[0])).error, /unknown/);
  assert.match(json(await gate.request('POST', '/run', bytes({}), ids[1])).error, /committed/);
});

test('gate: an engine failure under the transaction ends it and lets the others go', async () => {
  const { gate } = setup();
  const { txId } = json(await gate.request('POST', '/begin', bytes({}), null));
  const waiter = gate.request('POST', '/query', bytes({ sql: 'x' }), null);
  gate.abort('the engine failed: trap');
  assert.equal((await waiter).status, 200);
  assert.match(json(await gate.request('POST', '/run', bytes({}), txId)).error, /aborted: the engine failed: trap/);
});

test('gate: hold() waits for requests admitted before it, then keeps others waiting until released', async () => {
  const engine = fakeEngine();
  /** @type {(() => void) | null} */
  let finishSlow = null;
  const slowEngine = {
    /** @type {typeof engine.answer} */
    async answer(method, path, body, o) {
      if (path === '/run') await new Promise((r) => (finishSlow = () => r(undefined)));
      return engine.answer(method, path, body, o);
    },
  };
  const gate = new TransactionGate({ engine: () => slowEngine, randomUUID: () => 'tx', setTimeout: () => 0, clearTimeout: () => {} });
  const first = gate.request('POST', '/run', bytes({ sql: 'INSERT' }), null);
  let held = false;
  const holding = gate.hold().then((release) => {
    held = true;
    return release;
  });
  const later = gate.request('POST', '/query', bytes({ sql: 'SELECT' }), null);
  await tick();
  assert.equal(held, false, 'the hold waits for the request admitted before it');
  /** @type {any} */ (finishSlow)();
  await first;
  const release = await holding;
  await tick();
  assert.deepEqual(engine.calls.map((c) => c.path), ['/run'], 'the later request waits while the gate is held');
  release();
  release(); // idempotent
  await later;
  assert.deepEqual(engine.calls.map((c) => c.path), ['/run', '/query']);
});

test('gate: a session opens the transaction when its answer holds it, runs in it, and ends it when the answer lets go', async () => {
  const { engine, timers, gate } = setup();
  const holds = (/** @type {{body: Uint8Array}} */ a) => a.body[0] === 'T'.charCodeAt(0);
  const answer = (/** @type {string} */ state) => ({ status: 200, body: enc.encode(`${state}{}`) });
  // A pipeline that does not begin one leaves the gate free.
  engine.scripted.set('/hrana/pipeline', answer('A'));
  await gate.session('POST', '/hrana/pipeline', bytes({}), null, { holds, timeoutMs: 300 });
  assert.equal(gate.openTransaction, null);
  // One that does: the gate stays closed, with its idle timer.
  engine.scripted.set('/hrana/pipeline', answer('T'));
  await gate.session('POST', '/hrana/pipeline', bytes({ begin: 1 }), null, { holds, timeoutMs: 300 });
  const txId = gate.openTransaction;
  assert.ok(txId);
  assert.deepEqual([...timers.timers.values()].map((t) => t.ms), [300]);
  const outside = gate.request('POST', '/query', bytes({ sql: 'waits' }), null);
  await tick();
  assert.equal(gate.waiting, 1);
  engine.scripted.set('/hrana/pipeline', answer('T'));
  await gate.session('POST', '/hrana/pipeline', bytes({ more: 1 }), txId, { holds, timeoutMs: 300 });
  assert.equal(gate.openTransaction, txId);
  // Its COMMIT: the answer no longer holds it, and the waiting request goes.
  engine.scripted.set('/hrana/pipeline', answer('A'));
  await gate.session('POST', '/hrana/pipeline', bytes({ commit: 1 }), txId, { holds, timeoutMs: 300 });
  assert.equal(gate.openTransaction, null);
  assert.equal((await outside).status, 200);
  assert.deepEqual(engine.calls.map((c) => `${c.path}${c.inTransaction ? '*' : ''}`),
    ['/hrana/pipeline', '/hrana/pipeline', '/hrana/pipeline*', '/hrana/pipeline*', '/query']);
  // A session whose transaction idled out meanwhile is told it expired.
  engine.scripted.set('/hrana/pipeline', answer('T'));
  await gate.session('POST', '/hrana/pipeline', bytes({}), null, { holds, timeoutMs: 300 });
  const idle = /** @type {string} */ (gate.openTransaction);
  timers.fireAll();
  await tick();
  const late = await gate.session('POST', '/hrana/pipeline', bytes({}), idle, { holds, timeoutMs: 300 });
  assert.equal(json(late).code, 'TRANSACTION_EXPIRED');
});
