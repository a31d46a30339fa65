// request-path-worker.js — the workerd half of tests/bench/request-path.mjs: one
// SQLite-backed Durable Object, PathProbe, that takes DoSQL's request path apart
// with the shim's own modules (request-path-layers.js) and times each layer inside
// workerd, over its own ctx.storage.sql.
//
//   GET /profile?query=select1|point   → {layers: {key: {us, n, runs}}, what}
//       each layer alone, in a loop inside the object (request-path-layers.js)
//   GET /ablation/warmup?query=…       → {batch, perRequest, what}
//   GET /ablation/rounds?query=…&batch=&from=&rounds=  → {runs: {mode: [µs per call]}}
//       the Worker calls the object's fetch over the real stub, as compare-worker.js
//       does, in batches (rotating modes per round; request-path.mjs asks for the
//       rounds a few seconds' worth at a time); the object's fetch does more or less
//       of the path by the x-probe-mode header (MODES): the difference of two modes
//       is what the extra steps cost on the real path, pipe included
//
// The object holds, over the same pages (one database in its storage):
//   a DatabaseInstance (instance.js, the class's whole request path), which also
//     loads the 100k-row items table through its own /run;
//   an Engine on a SqlPageStorage of its own, and the bare instance of the layers
//     module; both only read after the load, so no page cache goes stale;
//   a native items table in ctx.storage.sql, loaded with the same rows, for the
//     native layers.
// Change capture is off everywhere here: it costs a read nothing
// (tests/bench/changes-cost.md), and off it arms no retention alarm (which would
// prune, that is write, under the other instances' caches).

import { DurableObject } from 'cloudflare:workers';
import wasmModule from '../../worker-shim/dist/dosql.wasm';
import { DatabaseInstance } from '../../worker-shim/src/durable-object/instance.js';
import { Engine } from '../../worker-shim/src/wasm/engine.js';
import { SqlPageStorage } from '../../worker-shim/src/storage/sql.js';
import { TransactionGate } from '../../worker-shim/src/durable-object/transaction-gate.js';
import { toResponse } from '../../worker-shim/src/durable-object/response.js';
import { ITEM_ROWS, LOAD_BODIES, QUERIES, SCHEMA, bareInstance, makeLayers, profileLayers, readBody, readBodyInChunks } from './request-path-layers.js';

/**
 * What PathProbe.fetch does for each x-probe-mode: from nothing (the transport
 * alone) to the whole DoSQL path, and native's path, all answering over the same
 * stub.fetch.
 */
const MODES = Object.freeze({
  noop: 'answer null at once, the body unread (the transport)',
  'read.chunks': 'read the body as instance.js did before bedaad1 (getReader(), read() until done), answer null',
  read: "read the body with durable-object/request-body.js readBody (bedaad1: one readAtLeast), answer null",
  'read.exact': 'read the body with one readAtLeast(declared length), no wait for its end (the rest, if any, cancelled), answer null',
  arrayBuffer: 'read the body with await request.arrayBuffer(), answer null',
  'answer.only': "request.arrayBuffer(), then toResponse of the engine's answer to this query, made once (no engine call): the answer's own cost",
  'engine.only': 'request.arrayBuffer(), Engine.request, then answer null (the engine without its answer)',
  'bare.only': "request.arrayBuffer(), then the module's dosql_request called directly and synchronously (copy in, call, take, free), answer null",
  'chain.kept': "request.arrayBuffer(), then a no-op through a replica of Engine #serialize's chain whose tail promise is kept from one request to the next (as Engine keeps #tail), answer null",
  'chain.fresh': 'the same chain on a tail made in this request (Promise.resolve()), answer null',
  instance: 'DatabaseInstance.fetch: the whole DoSQL path (the instance that loaded the table)',
  'instance.fresh': 'DatabaseInstance.fetch of a second instance, made after the load (it never wrote)',
  replica: "readBody (bedaad1) → TransactionGate.request → Engine.request → toResponse (instance.js's path without route/after)",
  'replica.arrayBuffer': 'the replica with request.arrayBuffer() for readBody',
  'replica.arrayBuffer.nogate': 'the replica with request.arrayBuffer(), and Engine.request called without the gate',
  'replica.full': "the replica with every step of instance.js fetch around it: the started check, URL, the host-route checks, the transaction header, two more async wrappers (#answer, #request), the after-request checks",
  native: "native's path: await request.json(), ctx.storage.sql.exec().toArray(), Response.json({rows})",
});
const NULL_ANSWER = 'null';

/**
 * The declared length of the body in one readAtLeast, without waiting for the
 * stream's end: what would follow is cancelled, never read (a body longer than
 * it says is cut, not refused). Only for bodies with a Content-Length.
 * @param {Request} request
 */
async function readExact(request) {
  const declared = Number(request.headers.get('content-length'));
  const reader = /** @type {any} */ (/** @type {ReadableStream} */ (request.body).getReader({ mode: 'byob' }));
  const { value } = await reader.readAtLeast(declared, new Uint8Array(declared));
  reader.cancel().catch(() => {});
  return value;
}

/** A DatabaseInstance as DoSQLDatabase makes one, change capture off. @param {any} ctx */
function newInstance(ctx) {
  return new DatabaseInstance({
    storage: ctx.storage,
    ctx,
    changes: () => false,
    migrations: () => [],
    pageSize: () => 0,
    label: () => 'PathProbe',
    exclusive: (fn) => ctx.blockConcurrencyWhile(fn),
  });
}

export class PathProbe extends DurableObject {
  /** @type {Promise<{instance: DatabaseInstance, engine: Engine, storage: SqlPageStorage}> | null} */
  #ready = null;

  /** Load once: DoSQL's items through the instance, native's through sql.exec. */
  #setup() {
    this.#ready ??= (async () => {
      const ctx = this.ctx;
      const instance = newInstance(ctx);
      const run = async (/** @type {unknown} */ body) => {
        const res = await instance.fetch(new Request('http://internal/run', { method: 'POST', body: JSON.stringify(body) }));
        const text = await res.text();
        if (res.status !== 200) throw new Error(`load: ${res.status} ${text}`);
      };
      const sql = ctx.storage.sql;
      const have = sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name = 'items'").one().n;
      if (!have) {
        await run({ sql: SCHEMA });
        for (const body of LOAD_BODIES) await run(body);
        sql.exec(SCHEMA);
        for (const body of LOAD_BODIES) sql.exec(body.sql, ...body.params);
      }
      const storage = new SqlPageStorage(ctx.storage);
      const engine = new Engine(wasmModule, { storage, label: 'PathProbe (layers)' });
      const opened = await engine.open(0, { captureChanges: false });
      if (opened.status !== 200) throw new Error(`open: ${opened.status} ${new TextDecoder().decode(opened.body)}`);
      const n = sql.exec('SELECT count(*) AS n FROM items').one().n;
      if (n !== ITEM_ROWS) throw new Error(`native items: ${n} rows`);
      return { instance, engine, storage };
    })();
    return this.#ready;
  }

  /** bare.only's instance of the module, and its method and path in its memory. @type {any} */
  #bare = null;
  /** @type {number | undefined} */
  #pMethod;
  /** @type {number | undefined} */
  #pPath;
  /** chain.kept's tail, kept across requests as Engine keeps #tail. @type {Promise<unknown>} */
  #tail = Promise.resolve();
  /** answer.only's answers, by request body. @type {Map<string, {status: number, body: Uint8Array}>} */
  #answers = new Map();
  /** The instance of mode instance.fresh. @type {DatabaseInstance | null} */
  #fresh = null;
  /** The gate of the replica modes (its own, over the layers' Engine). @type {TransactionGate | null} */
  #gate = null;

  /**
   * One request, doing as much of the path as its x-probe-mode says (MODES).
   * @param {Request} request
   */
  async fetch(request) {
    const mode = request.headers.get('x-probe-mode') ?? '';
    if (mode === 'noop') return new Response(NULL_ANSWER);
    if (mode === 'read.chunks') {
      await readBodyInChunks(request, 1 << 20);
      return new Response(NULL_ANSWER);
    }
    if (mode === 'read') {
      await readBody(request, 1 << 20);
      return new Response(NULL_ANSWER);
    }
    if (mode === 'read.exact') {
      await readExact(request);
      return new Response(NULL_ANSWER);
    }
    if (mode === 'arrayBuffer') {
      await request.arrayBuffer();
      return new Response(NULL_ANSWER);
    }
    const { instance, engine, storage } = await this.#setup();
    if (mode === 'instance') return instance.fetch(request);
    if (mode === 'answer.only') {
      const bytes = new Uint8Array(await request.arrayBuffer());
      const key = new TextDecoder().decode(bytes);
      let answer = this.#answers.get(key);
      if (!answer) {
        answer = await engine.request('POST', '/query', bytes);
        this.#answers.set(key, answer);
      }
      return toResponse(answer);
    }
    if (mode === 'bare.only') {
      const body = new Uint8Array(await request.arrayBuffer());
      const b = /** @type {any} */ (this.#bare ??= bareInstance(wasmModule, storage, engine, 0));
      const p = b.copyIn(body);
      const answer = b.take(b.request(this.#pMethod ??= b.copyIn(new TextEncoder().encode('POST')), 4, this.#pPath ??= b.copyIn(new TextEncoder().encode('/query')), 6, p, body.length));
      b.free(p);
      if (answer.status !== 200) throw new Error(`bare: ${answer.status}`);
      return new Response(NULL_ANSWER);
    }
    if (mode === 'chain.kept' || mode === 'chain.fresh') {
      await request.arrayBuffer();
      const tail = mode === 'chain.kept' ? this.#tail : Promise.resolve();
      const run = tail.then(async () => {
        try {
          return await (async () => NULL_ANSWER)();
        } finally {
          // as #withBytes
        }
      });
      const next = run.then(
        () => undefined,
        () => undefined,
      );
      if (mode === 'chain.kept') this.#tail = next;
      return new Response(await run);
    }
    if (mode === 'engine.only') {
      await engine.request('POST', '/query', new Uint8Array(await request.arrayBuffer()));
      return new Response(NULL_ANSWER);
    }
    if (mode === 'instance.fresh') {
      this.#fresh ??= newInstance(this.ctx);
      return this.#fresh.fetch(request);
    }
    if (mode === 'native') {
      const body = /** @type {any} */ (await request.json());
      return Response.json({ rows: this.ctx.storage.sql.exec(body.sql, ...(body.params ?? [])).toArray() });
    }
    this.#gate ??= new TransactionGate({ engine: () => engine });
    if (mode === 'replica') return toResponse(await this.#gate.request('POST', '/query', readBody(request, 1 << 20), null));
    if (mode === 'replica.arrayBuffer') {
      const body = request.arrayBuffer().then((b) => new Uint8Array(b));
      return toResponse(await this.#gate.request('POST', '/query', body, null));
    }
    if (mode === 'replica.full') return this.#replicaFull(request, engine);
    if (mode === 'replica.arrayBuffer.nogate') return toResponse(await engine.request('POST', '/query', new Uint8Array(await request.arrayBuffer())));
    return new Response(`no mode ${mode}`, { status: 400 });
  }


  /**
   * instance.js fetch's steps (as of bedaad1), in its order, over the layers' Engine and this gate.
   * @param {Request} request @param {Engine} engine
   */
  async #replicaFull(request, engine) {
    // instance.js (bedaad1): a started instance does not await start()
    const path = new URL(request.url).pathname;
    if (path === '/subscribe' || path === '/import') throw new Error(path);
    const contract = /** @type {any} */ (engine).contract;
    const host = typeof (/** @type {any} */ (engine).isHostRoute) === 'function' ? /** @type {any} */ (engine).isHostRoute(path) : contract?.routes?.some((/** @type {any} */ r) => r.host && r.path === path);
    if (host) throw new Error(path);
    const body = readBody(request, engine.maxRequestBytes);
    body.catch(() => {});
    const txId = request.headers.get(contract?.transactionHeader ?? 'X-DoSQL-Transaction');
    const answer = async () => {
      const request2 = async () => {
        try {
          return await /** @type {TransactionGate} */ (this.#gate).request('POST', path, body, txId);
        } catch (err) {
          if (engine.broken) throw err;
          throw err;
        }
      };
      const response = await request2();
      if (engine.commits < 0 || engine.memoryBytes < 0) throw new Error('unreachable');
      return response;
    };
    return toResponse(await answer());
  }

  /**
   * Every layer of one query, timed here.
   * @param {keyof typeof QUERIES} query
   * @param {{rounds: number, minMs: number}} options
   */
  async profile(query, { rounds, minMs }) {
    const { instance, engine, storage } = await this.#setup();
    const layers = makeLayers({ module: wasmModule, engine, storage, query, instance, sql: this.ctx.storage.sql });
    const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
    const result = await profileLayers(layers, { rounds, minMs, now: () => performance.now(), tick });
    return { layers: result, what: Object.fromEntries(layers.map((l) => [l.key, l.what])) };
  }
}

/** Longest request of the Worker's own (ms): past about ten seconds workerd started the
 *  objects a request had called afresh as it ended (run.mjs, IN_WORKER_REQUEST_MS). */
const REQUEST_MS = 3000;

/**
 * One call of a mode over the real stub, its answer checked.
 * @param {any} stub @param {string[]} texts @param {string} mode @param {number} i
 */
async function callMode(stub, texts, mode, i) {
  const res = await stub.fetch('http://internal/query', { method: 'POST', headers: { 'content-type': 'application/json', 'x-probe-mode': mode }, body: texts[i % texts.length] });
  const text = await res.text();
  if (res.status !== 200 || (text !== NULL_ANSWER && !text.startsWith('{"rows":[{'))) throw new Error(`${mode}: ${res.status} ${text.slice(0, 300)}`);
}

/**
 * The ablation's warm-up: 300 calls of each mode, and the batch that makes the
 * fastest mode's batch last 50 clock steps.
 * @param {any} stub @param {keyof typeof QUERIES} query
 */
async function ablationWarmup(stub, query) {
  const texts = QUERIES[query].bodies().map((b) => JSON.stringify(b));
  /** @type {Record<string, number>} */
  const estimate = {};
  for (const mode of Object.keys(MODES)) {
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) await callMode(stub, texts, mode, i);
    estimate[mode] = (performance.now() - t0) / 300;
  }
  const batch = Math.max(1, Math.ceil(50 / Math.max(Math.min(...Object.values(estimate)), 0.005)));
  const perRequest = Math.max(1, Math.floor(REQUEST_MS / Object.values(estimate).reduce((sum, ms) => sum + ms * batch, 0)));
  return { batch, perRequest, what: MODES };
}

/**
 * Rounds from .. from+rounds-1 of the ablation: one batch per mode, in rotating
 * order; µs per call of each batch.
 * @param {any} stub @param {keyof typeof QUERIES} query @param {number} batch @param {number} from @param {number} rounds
 */
async function ablationRounds(stub, query, batch, from, rounds) {
  const texts = QUERIES[query].bodies().map((b) => JSON.stringify(b));
  const modes = Object.keys(MODES);
  /** @type {Record<string, number[]>} */
  const runs = Object.fromEntries(modes.map((m) => [m, []]));
  for (let r = from; r < from + rounds; r++) {
    for (let j = 0; j < modes.length; j++) {
      const mode = modes[(r + j) % modes.length];
      const t0 = performance.now();
      for (let i = 0; i < batch; i++) await callMode(stub, texts, mode, r * batch + i);
      runs[mode].push(((performance.now() - t0) * 1000) / batch);
    }
  }
  return { runs };
}

export default {
  /** @param {Request} request @param {Record<string, any>} env */
  async fetch(request, env) {
    const url = new URL(request.url);
    const query = /** @type {keyof typeof QUERIES} */ (url.searchParams.get('query') ?? '');
    if (!(query in QUERIES)) return new Response(`no query ${query}`, { status: 400 });
    const stub = env.PROBE.get(env.PROBE.idFromName('probe'));
    const rounds = Number(url.searchParams.get('rounds') ?? 7);
    try {
      if (url.pathname === '/profile') return Response.json(await stub.profile(query, { rounds, minMs: Number(url.searchParams.get('minMs') ?? 100) }));
      if (url.pathname === '/ablation/warmup') return Response.json(await ablationWarmup(stub, query));
      if (url.pathname === '/ablation/rounds') {
        const n = (/** @type {string} */ k) => Number(url.searchParams.get(k));
        return Response.json(await ablationRounds(stub, query, n('batch'), n('from'), rounds));
      }
      return new Response('GET /profile, /ablation/warmup or /ablation/rounds ?query=select1|point', { status: 404 });
    } catch (err) {
      return new Response(String(/** @type {any} */ (err)?.stack ?? err), { status: 500 });
    }
  },
};
