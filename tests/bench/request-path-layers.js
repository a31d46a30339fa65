// request-path-layers.js — the layers of one DoSQL request over fetch, each as a
// function making one call of that layer alone, and a batch clock to time them.
// Shared by request-path.mjs (Node, over in-memory pages) and request-path-worker.js
// (workerd, over a Durable Object's ctx.storage.sql); no platform imports here.
//
// Order of this file: the queries, the layers (makeLayers), the bare wasm instance
// they need, the old readBody (a copy), the timer (profileLayers).
//
// The path being taken apart (worker-shim/src, read, never changed; as of bedaad1):
//   durable-object/instance.js  DatabaseInstance.fetch: the started check, URL
//                 pathname, engine.isHostRoute, readBody() (request-body.js), the
//                 transaction header, #answer → #request, toResponse
//   durable-object/transaction-gate.js  TransactionGate.request → #outside → #turn,
//                 await body, #pump
//   wasm/engine.js  Engine.request: #utf8 (method and path, encoded once),
//                 #serialize, #withBytes (#copyIn: one dosql_alloc, three set();
//                 #freeAll: one dosql_free), #withFaults → #call → dosql_request,
//                 #take (DataView, slice copy, dosql_free), storage.settle
//   durable-object/response.js  toResponse: new Response(body, {status, headers})
// Each layer below names which of these it is; readBody is the shim's own, the one
// before bedaad1 a copy (readBodyInChunks). "bare" layers call the module's
// exports directly on an instance of our own (bareInstance), so the wasm call can
// be told from the JavaScript around it.

import { createImports } from '../../worker-shim/src/wasm/host.js';
import { TransactionGate } from '../../worker-shim/src/durable-object/transaction-gate.js';
import { toResponse } from '../../worker-shim/src/durable-object/response.js';
import { readBody } from '../../worker-shim/src/durable-object/request-body.js';

export { readBody };

/** Rows of the items table (as tests/bench/run.mjs builds it). */
export const ITEM_ROWS = 100_000;
const LOAD_ITEMS =
  "WITH RECURSIVE c(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM c WHERE x < ?) INSERT INTO items(id, k, v, grp) SELECT x, printf('user-%012d', (x * 2654435761) % 4294967311), printf('v%079d', x), x % 100 FROM c";
export const SCHEMA = 'CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT, grp INTEGER)';
/** The load, as /run bodies (10,000 rows each). */
export const LOAD_BODIES = Array.from({ length: ITEM_ROWS / 10_000 }, (_, i) => ({ sql: LOAD_ITEMS, params: [i * 10_000 + 1, (i + 1) * 10_000] }));

/** Distinct request bodies cycled through (point SELECTs: random ids). */
const POOL = 512;
const URL_QUERY = 'http://internal/query';
const TX_HEADER = 'X-DoSQL-Transaction';
const FETCH_HEADERS = Object.freeze({ 'content-type': 'application/json' });

/** The two queries profiled: their request bodies, pool of POOL. */
export const QUERIES = Object.freeze({
  select1: { name: 'SELECT 1', bodies: () => Array.from({ length: POOL }, () => ({ sql: 'SELECT 1 AS one' })) },
  point: {
    name: 'point SELECT by primary key (100k rows)',
    bodies: () => {
      let seed = 12345;
      const next = () => (seed = (seed * 48271) % 2147483647);
      return Array.from({ length: POOL }, () => ({ sql: 'SELECT id, k, v, grp FROM items WHERE id = ?', params: [1 + (next() % ITEM_ROWS)] }));
    },
  },
});

const encoder = new TextEncoder();

/** @typedef {import('../../worker-shim/src/wasm/engine.js').Engine} Engine */

/**
 * @typedef {object} Layer
 * @property {string} key
 * @property {string} what  the code it stands for
 * @property {boolean} async
 * @property {(i: number) => unknown} fn  one call; i counts calls
 */

/**
 * The layers of one /query, for one query.
 * @param {object} o
 * @param {WebAssembly.Module} o.module  dosql.wasm, compiled
 * @param {Engine} o.engine  an Engine, open, over storage (the database loaded)
 * @param {any} o.storage  its storage adapter (the bare instance reads the same pages)
 * @param {keyof typeof QUERIES} o.query
 * @param {any} [o.instance]  a DatabaseInstance on the same data (workerd only)
 * @param {any} [o.sql]  ctx.storage.sql holding a native items table (workerd only)
 * @param {number} [o.openFlags]  dosql_open's flags for the bare instance: those
 *   engine was opened with (0: change capture off)
 * @returns {Layer[]}
 */
export function makeLayers({ module, engine, storage, query, instance, sql, openFlags = 0 }) {
  const objects = QUERIES[query].bodies();
  const texts = objects.map((b) => JSON.stringify(b));
  const bytes = texts.map((t) => encoder.encode(t));
  const newRequest = (/** @type {number} */ i) => new Request(URL_QUERY, { method: 'POST', headers: FETCH_HEADERS, body: texts[i % POOL] });
  const bare = bareInstance(module, storage, engine, openFlags);
  const pBodies = bytes.map((b) => bare.copyIn(b));
  const pMethod = bare.copyIn(encoder.encode('POST'));
  const pPath = bare.copyIn(encoder.encode('/query'));
  // One answer kept alive, to time #take's reading and copying of it.
  const pAnswer = bare.request(pMethod, 4, pPath, 6, pBodies[0], bytes[0].length);
  const answer = bare.take(pAnswer);
  if (answer.status !== 200) throw new Error(`bench: ${texts[0]} answered ${answer.status} ${new TextDecoder().decode(answer.body)}`);
  const answerText = new TextDecoder().decode(answer.body);
  const contract = /** @type {any} */ (engine).contract;
  const hostRoutes = contract?.routes?.filter((/** @type {any} */ r) => r.host) ?? [{ path: '/subscribe' }, { path: '/export' }, { path: '/import' }, { path: '/stats' }];
  const header = contract?.transactionHeader ?? TX_HEADER;
  /** engine.isHostRoute (a Set, from 5ec79d8), else the scan of the routes before it. @type {((p: string) => boolean) | null} */
  const isHostRoute = typeof (/** @type {any} */ (engine).isHostRoute) === 'function' ? (p) => /** @type {any} */ (engine).isHostRoute(p) : null;
  const oneRequest = newRequest(0);
  const constant = { status: 200, body: answer.body };
  const reused = bare.copyIn(new Uint8Array(4096));
  /** As Engine #utf8 keeps them. @type {Map<string, Uint8Array>} */
  const names = new Map(['GET', 'POST', '/query', '/run'].map((n) => [n, encoder.encode(n)]));
  const method = encoder.encode('POST');
  const path = encoder.encode('/query');
  const madeHeaders = new Headers({ 'content-type': 'application/json; charset=utf-8' });
  const gate = new TransactionGate({ engine: () => /** @type {any} */ ({ request: async () => constant, answer: () => constant }) });
  let tail = Promise.resolve();

  /** @type {Layer[]} */
  const layers = [
    { key: 'client.stringify', what: "the caller's JSON.stringify of the request body (both systems)", async: false, fn: (i) => JSON.stringify(objects[i % POOL]) },
    { key: 'client.parse', what: "the caller's JSON.parse of the answer (both systems)", async: false, fn: () => JSON.parse(answerText) },
    { key: 'request.new', what: 'new Request(url, {method, headers, body}) (the runtime makes it; subtracted from body.read)', async: false, fn: newRequest },
    ...(HAS_READ_AT_LEAST
      ? [{ key: 'body.read', what: "new Request + durable-object/request-body.js readBody() (bedaad1): content-length, a BYOB reader's readAtLeast(length + 1)", async: true, fn: (/** @type {number} */ i) => readBody(newRequest(i), 1 << 20) }]
      : []),
    { key: 'body.read.chunks', what: 'new Request + readBody() before bedaad1: content-length, getReader(), read() until done', async: true, fn: (i) => readBodyInChunks(newRequest(i), 1 << 20) },
    {
      key: 'route',
      what: 'durable-object/instance.js fetch: new URL(url).pathname, the host-route checks, headers.get(transaction header)',
      async: false,
      fn: () => {
        const p = new URL(oneRequest.url).pathname;
        const host = p === '/subscribe' || p === '/import' || (isHostRoute ? isHostRoute(p) : hostRoutes.some((/** @type {any} */ r) => r.path === p));
        return host || oneRequest.headers.get(header);
      },
    },
    { key: 'gate', what: 'durable-object/transaction-gate.js TransactionGate.request → #outside (#turn, await body, await engine, #pump), engine answering at once', async: true, fn: (i) => gate.request('POST', '/query', Promise.resolve(bytes[i % POOL]), null) },
    { key: 'engine.request', what: 'wasm/engine.js Engine.request, whole (everything below, and storage.settle)', async: true, fn: (i) => engine.request('POST', '/query', bytes[i % POOL]) },
    { key: 'engine.encode', what: 'Engine.request: #utf8(method), #utf8(path): two lookups in a Map of names encoded once (bedaad1)', async: false, fn: () => names.get('POST').length + names.get('/query').length },
    { key: 'engine.encode.each', what: 'the same before bedaad1: encoder.encode(method), encoder.encode(path) on every call', async: false, fn: () => encoder.encode('POST').length + encoder.encode('/query').length },
    {
      key: 'engine.chain',
      what: 'Engine.request: the promise chain of #serialize → #withBytes → #withFaults (async functions, try/finally), with no work in it',
      async: true,
      fn: () => {
        const run = tail.then(async () => {
          try {
            return await (async () => {
              try {
                return constant;
              } finally {
                // #withFaults's finally: storage.settle
              }
            })();
          } finally {
            // #withBytes's finally: #freeAll
          }
        });
        tail = run.then(
          () => undefined,
          () => undefined,
        );
        return run;
      },
    },
    {
      key: 'engine.copy',
      what: 'Engine #copyIn + #freeAll (as of 5ec79d8): one dosql_alloc for method, path and body, a view of memory, three set(); one dosql_free',
      async: false,
      fn: (i) => {
        const b = bytes[i % POOL];
        const total = 4 + 6 + b.length;
        const block = bare.alloc(total);
        const memory = new Uint8Array(bare.memory.buffer);
        memory.set(method, block);
        memory.set(path, block + 4);
        memory.set(b, block + 10);
        bare.free(block);
        return block;
      },
    },
    { key: 'wasm', what: 'dosql_request itself (src/api.c → handler.c handleRequest: JSON in, SQL, JSON out) + dosql_free of its answer', async: false, fn: (i) => bare.free(bare.request(pMethod, 4, pPath, 6, pBodies[i % POOL], bytes[i % POOL].length)) },
    { key: 'engine.take', what: 'Engine #take without its dosql_free: new DataView, two getUint32, Uint8Array(...).slice()', async: false, fn: () => bare.peek(pAnswer) },
    { key: 'response', what: 'durable-object/response.js toResponse: new Response(bytes, {status, headers})', async: false, fn: () => toResponse(constant) },
    // Alternatives, to price the suggestions in request-path.md.
    { key: 'alt.body.arrayBuffer', what: 'alternative to body.read: new Request + await request.arrayBuffer() (no limit of its own: only where Content-Length is declared and checked)', async: true, fn: async (i) => new Uint8Array(await newRequest(i).arrayBuffer()) },
    {
      key: 'alt.copy.reused',
      what: 'alternative to engine.copy: the body set() into one buffer C keeps (no dosql_alloc/free; method and path not copied)',
      async: false,
      fn: (i) => {
        const b = bytes[i % POOL];
        new Uint8Array(bare.memory.buffer, reused, b.length).set(b);
        return reused;
      },
    },
    { key: 'alt.response.headers', what: 'alternative to response: new Response(bytes, {status, headers}) with one Headers object made once', async: false, fn: () => new Response(constant.body, { status: 200, headers: madeHeaders }) },
  ];
  if (instance) {
    layers.push({
      key: 'instance.fetch',
      what: 'durable-object/instance.js DatabaseInstance.fetch, whole (with new Request): every layer above from route to response',
      async: true,
      fn: (i) => instance.fetch(newRequest(i)),
    });
  }
  if (sql) {
    const exec = (/** @type {number} */ i) => {
      const b = objects[i % POOL];
      return sql.exec(b.sql, ...(b.params ?? [])).toArray();
    };
    const rows = exec(0);
    layers.push(
      { key: 'native.json', what: 'native: new Request + await request.json()', async: true, fn: (i) => newRequest(i).json() },
      { key: 'native.exec', what: 'native: ctx.storage.sql.exec(sql, ...params).toArray()', async: false, fn: exec },
      { key: 'native.response', what: 'native: Response.json({rows})', async: false, fn: () => Response.json({ rows }) },
      {
        key: 'native.fetch',
        what: "native: the whole of NativeSqlDatabase.fetch's path (new Request, URL, json(), exec, Response.json)",
        async: true,
        fn: async (i) => {
          const request = newRequest(i);
          const path = new URL(request.url).pathname;
          const body = /** @type {any} */ (await request.json());
          if (path !== '/query') throw new Error(path);
          return Response.json({ rows: sql.exec(body.sql, ...(body.params ?? [])).toArray() });
        },
      },
    );
  }
  return layers;
}

// ---------------------------------------------------------------- the bare instance

/**
 * An instance of dosql.wasm of our own, open on the same storage as engine (read
 * only from here on: it must not write under the engine's page cache), whose
 * exports we call without Engine's wrapping. The response layout is engine's (its
 * contract when it has one, else ABI 5's constants).
 * @param {WebAssembly.Module} module @param {any} storage @param {Engine} engine @param {number} openFlags
 */
export function bareInstance(module, storage, engine, openFlags) {
  const contract = /** @type {any} */ (engine).contract;
  const layout = contract?.response ?? { status: 0, length: 4, body: 8 };
  /** @type {WebAssembly.Memory} */
  let memory;
  const instance = new WebAssembly.Instance(module, createImports({ getMemory: () => memory, storage, label: 'bench (bare)' }));
  const e = /** @type {Record<string, any>} */ (instance.exports);
  memory = e.memory;
  e._initialize();
  const bare = {
    get memory() {
      return memory;
    },
    /** @param {number} n */
    alloc(n) {
      const p = e.dosql_alloc(Math.max(n, 1)) >>> 0;
      if (p === 0) throw new Error('bench: dosql_alloc failed');
      return p;
    },
    /** @param {Uint8Array} b */
    copyIn(b) {
      const p = e.dosql_alloc(Math.max(b.length, 1)) >>> 0;
      if (p === 0) throw new Error('bench: dosql_alloc failed');
      new Uint8Array(memory.buffer, p, b.length).set(b);
      return p;
    },
    /** @param {number} p */
    free(p) {
      e.dosql_free(p);
    },
    /** @param {number} pM @param {number} nM @param {number} pP @param {number} nP @param {number} pB @param {number} nB */
    request(pM, nM, pP, nP, pB, nB) {
      return e.dosql_request(pM, nM, pP, nP, pB, nB, 0) >>> 0;
    },
    /** #take without the free. @param {number} ptr */
    peek(ptr) {
      const view = new DataView(memory.buffer);
      const status = view.getUint32(ptr + layout.status, true);
      const length = view.getUint32(ptr + layout.length, true);
      return { status, body: new Uint8Array(memory.buffer, ptr + layout.body, length).slice() };
    },
    /** @param {number} ptr */
    take(ptr) {
      try {
        return bare.peek(ptr);
      } finally {
        e.dosql_free(ptr);
      }
    },
  };
  const opened = bare.take(e.dosql_open(0, openFlags, 0) >>> 0);
  if (opened.status !== 200) throw new Error(`bench: the bare instance did not open: ${opened.status} ${new TextDecoder().decode(opened.body)}`);
  return bare;
}

// ---------------------------------------------------------------- readBody

/** workerd's BYOB readers have readAtLeast (Node's do not). */
const HAS_READ_AT_LEAST = typeof globalThis.ReadableStreamBYOBReader?.prototype?.readAtLeast === 'function';

/**
 * readBody as it was before bedaad1 (4471dac … 5ec79d8): read() until done.
 * @param {Request} request
 * @param {number} max
 * @returns {Promise<Uint8Array | {oversized: number}>}
 */
export async function readBodyInChunks(request, max) {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > max) {
    request.body?.cancel().catch(() => {});
    return { oversized: declared };
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  /** @type {Uint8Array[]} */
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      reader.cancel().catch(() => {});
      return { oversized: total };
    }
    chunks.push(value);
  }
  return join(chunks, total);
}

/** @param {Uint8Array[]} chunks @param {number} total */
function join(chunks, total) {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------- the timer

/**
 * Time each layer with a batch clock: n calls between two readings of now(), the
 * second after an awaited tick() (in workerd the clock moves only with I/O in
 * production, in 1 ms steps here), n doubled until a batch lasts minMs; then
 * `rounds` batches per layer, layers in rotating order. Answers µs per call: the
 * median and the least over rounds (on a shared machine, other work only adds
 * time: the least is the layer's own cost), and the rounds.
 * @param {Layer[]} layers
 * @param {{rounds: number, minMs: number, now: () => number, tick: () => Promise<unknown>}} o
 * @returns {Promise<Record<string, {us: number, min: number, n: number, runs: number[]}>>}
 */
export async function profileLayers(layers, { rounds, minMs, now, tick }) {
  let sink = 0;
  /** @param {Layer} layer @param {number} n */
  const batch = async (layer, n) => {
    const { fn } = layer;
    const t0 = now();
    if (layer.async) {
      for (let i = 0; i < n; i++) await fn(i);
    } else {
      for (let i = 0; i < n; i++) if (fn(i) === batch) sink++;
    }
    await tick();
    return now() - t0;
  };
  /** @type {Map<string, number>} */
  const sizes = new Map();
  for (const layer of layers) {
    let n = 8;
    for (;;) {
      const ms = await batch(layer, n);
      if (ms >= minMs) break;
      n = Math.ceil(n * Math.min(16, Math.max(2, (1.2 * minMs) / Math.max(ms, 0.5))));
    }
    sizes.set(layer.key, n);
  }
  /** @type {Record<string, number[]>} */
  const runs = Object.fromEntries(layers.map((l) => [l.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < layers.length; j++) {
      const layer = layers[(r + j) % layers.length];
      const n = /** @type {number} */ (sizes.get(layer.key));
      runs[layer.key].push(((await batch(layer, n)) * 1000) / n);
    }
  }
  if (sink < 0) throw new Error('unreachable');
  return Object.fromEntries(
    layers.map((l) => {
      const xs = [...runs[l.key]].sort((a, b) => a - b);
      const m = xs.length >> 1;
      return [l.key, { us: xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2, min: xs[0], n: /** @type {number} */ (sizes.get(l.key)), runs: runs[l.key] }];
    }),
  );
}
