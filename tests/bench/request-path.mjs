#!/usr/bin/env node
// request-path.mjs — where the time of one DoSQL request over fetch goes, layer by
// layer (tests/bench/request-path-layers.js), for SELECT 1 and a point SELECT on a
// 100k-row table; results in tests/bench/request-path.md.
//
//   node tests/bench/request-path.mjs            Node and workerd, print the tables
//   node tests/bench/request-path.mjs --write    ...and rewrite the generated part of
//                                                tests/bench/request-path.md
//   options: --no-workerd  --no-node  --no-c (skip the C profile)  --rounds N
//
// Needs worker-shim/dist/dosql.wasm (./build.sh wasm); the C profile also needs the
// objects of that build (wasm/build/obj) and clang + wasm-opt, to relink them with
// function names (tests/.tmp/request-path/dosql-named.wasm; same code, names kept).
//
// Node: the engine over in-memory pages (tests/worker/fixtures/memory-storage.js);
// performance.now() is fine-grained there. workerd: request-path-worker.js, the same
// layers inside a SQLite-backed Durable Object, over ctx.storage.sql, where the clock
// moves in 1 ms steps: each layer is timed as batches of n calls (n grown until a
// batch lasts 100 ms in workerd, 50 ms in Node, so a clock step is 1% of it), the
// batch closed by an awaited timer (the clock of production moves only on I/O),
// --rounds batches per layer in rotating order; reported: the least batch mean (the
// machine is shared: other work only adds time) and the median. The ablation: the
// Worker calls the probe's fetch over the real stub, the object doing more or less
// of the path (request-path-worker.js MODES). The C profile: V8's sampling profiler
// (node:inspector) over the bare dosql_request loop in Node, each sample charged to
// the outermost C function of a known part it falls in (C_PARTS).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { Engine } from '../../worker-shim/src/wasm/engine.js';
import { MemoryPages } from '../worker/fixtures/memory-storage.js';
import { REPO, TMP, WASM_PATH, COMPATIBILITY_DATE, requireWasm } from '../worker/harness.js';
import { LOAD_BODIES, QUERIES, SCHEMA, makeLayers, profileLayers } from './request-path-layers.js';

const { values: args } = parseArgs({
  options: {
    write: { type: 'boolean' },
    'no-workerd': { type: 'boolean' },
    'no-node': { type: 'boolean' },
    'no-c': { type: 'boolean' },
    rounds: { type: 'string', default: '7' },
  },
});
const ROUNDS = Number(args.rounds);
const REPORT = join(REPO, 'tests/bench/request-path.md');
const WORK = join(TMP, 'request-path');
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const QUERY_KEYS = /** @type {(keyof typeof QUERIES)[]} */ (Object.keys(QUERIES));
const log = (/** @type {string} */ s) => console.error(s);

// ---------------------------------------------------------------- Node

/** An engine over in-memory pages with the 100k rows. @param {WebAssembly.Module} module */
async function nodeEngine(module) {
  const storage = new MemoryPages();
  const engine = new Engine(module, { storage, label: 'request-path' });
  const must = async (/** @type {Promise<{status: number, body: Uint8Array}>} */ p) => {
    const r = await p;
    if (r.status !== 200) throw new Error(`${r.status} ${decoder.decode(r.body)}`);
  };
  await must(engine.open(0, { captureChanges: false }));
  await must(engine.migrate([]));
  for (const body of [{ sql: SCHEMA }, ...LOAD_BODIES]) await must(engine.request('POST', '/run', encoder.encode(JSON.stringify(body))));
  return { engine, storage };
}

/** @param {WebAssembly.Module} module */
async function profileNode(module) {
  const { engine, storage } = await nodeEngine(module);
  /** @type {Record<string, any>} */
  const out = {};
  for (const query of QUERY_KEYS) {
    const layers = makeLayers({ module, engine, storage, query });
    log(`  node ${query}: ${layers.length} layers`);
    const result = await profileLayers(layers, { rounds: ROUNDS, minMs: 50, now: () => performance.now(), tick: () => Promise.resolve() });
    out[query] = { layers: result, what: Object.fromEntries(layers.map((l) => [l.key, l.what])) };
  }
  return out;
}

// ---------------------------------------------------------------- workerd

async function profileWorkerd() {
  const { Miniflare } = await import(join(REPO, 'node_modules/miniflare/dist/src/index.js'));
  mkdirSync(WORK, { recursive: true });
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(REPO, 'tests/bench/request-path-worker.js'),
    modulesRoot: REPO,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
    cf: false,
    durableObjects: { PROBE: { className: 'PathProbe', useSQLite: true } },
    // in memory: the probe loads its table once per run
  });
  try {
    await mf.ready;
    /** @type {Record<string, any>} */
    const out = {};
    const get = async (/** @type {string} */ path) => {
      const res = await mf.dispatchFetch(`http://localhost${path}`);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`workerd ${path}: ${res.status} ${text}`);
      return JSON.parse(text);
    };
    for (const query of QUERY_KEYS) {
      log(`  workerd ${query}: layers`);
      out[query] = await get(`/profile?query=${query}&rounds=${ROUNDS}&minMs=100`);
      log(`  workerd ${query}: ablation over the stub`);
      const { batch, perRequest, what } = await get(`/ablation/warmup?query=${query}`);
      const rounds = Math.max(30, 4 * ROUNDS);
      /** @type {Record<string, number[]>} */
      const runs = {};
      for (let from = 0; from < rounds; from += perRequest) {
        const part = await get(`/ablation/rounds?query=${query}&batch=${batch}&from=${from}&rounds=${Math.min(perRequest, rounds - from)}`);
        for (const [m, xs] of Object.entries(part.runs)) (runs[m] ??= []).push(.../** @type {number[]} */ (xs));
      }
      const median = (/** @type {number[]} */ xs) => {
        const v = [...xs].sort((a, b) => a - b);
        const m = v.length >> 1;
        return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
      };
      out[query].ablation = { batch, rounds, what, modes: Object.fromEntries(Object.entries(runs).map(([m, xs]) => [m, { us: median(xs), runs: xs }])) };
    }
    return out;
  } finally {
    await mf.dispose();
  }
}

// ---------------------------------------------------------------- C profile

/**
 * Parts of dosql_request, by the outermost C function of each: a sample is charged
 * to the first of these met walking down from the root of its stack.
 */
const C_PARTS = /** @type {const} */ ([
  ['JSON in: requestParse (scan, cJSON_Parse, duplicate keys)', /^requestParse$/],
  ['JSON in: cJSON_Delete of the body', /^cJSON_Delete$/],
  ['SQL prepare (connPrepareOne: tokenize, parse, resolve, plan, code)', /^(connPrepareOne|sqlite3_prepare\w*|sqlite3LockAndPrepare|sqlite3Prepare)$/],
  ['bind parameters (jsonBindParams)', /^jsonBindParams$/],
  ['SQL step (VDBE, b-tree, page cache, page_read)', /^sqlite3_step$/],
  ['JSON out (appendRow, jsonAppend*)', /^(appendRow|jsonAppend\w*)(\.\d+)?$/],
  ['finalize (sqlite3_finalize)', /^sqlite3_finalize$/],
  ['request bookkeeping (connStartRequest, connFinish, capture, guard)', /^(conn(StartRequest|Finish|Begin|CommitIfAnswered|UndoCompleted)|captureFlush|guardCheckSchema)$/],
  ['answer buffer (replyInit, replyFinish)', /^(replyInit|replyFinish|replyBody)$/],
  ['route (findRoute, methodBit)', /^(findRoute|methodBit)$/],
  ['dosql_free of the answer', /^dosql_free$/],
]);

/**
 * dosql.wasm relinked from this build's objects without --strip-all, names kept
 * through wasm-opt. The link command is the build's own record of it: the
 * Makefile's wasm/build/commands/wasm-ld (without -o), or build.sh's older
 * wasm/build/dosql.wasm.cmd (with it).
 */
function namedModulePath() {
  mkdirSync(WORK, { recursive: true });
  const linked = join(WORK, 'dosql-named-linked.wasm');
  const out = join(WORK, 'dosql-named.wasm');
  const makeRecord = join(REPO, 'wasm/build/commands/wasm-ld');
  const oldRecord = join(REPO, 'wasm/build/dosql.wasm.cmd');
  let cmd;
  if (existsSync(makeRecord)) cmd = `${readFileSync(makeRecord, 'utf8').trim()} -o wasm/build/dosql.wasm`;
  else if (existsSync(oldRecord)) cmd = readFileSync(oldRecord, 'utf8').trim();
  else throw new Error('no record of the link command (wasm/build/commands/wasm-ld): run ./build.sh wasm');
  if (!cmd.includes('-Wl,--strip-all') || !cmd.includes('-o wasm/build/dosql.wasm')) throw new Error(`unexpected link command: ${cmd}`);
  const relinked = cmd.replace(' -Wl,--strip-all', '').replace('-o wasm/build/dosql.wasm', `-o ${relative(REPO, linked)}`);
  execFileSync('bash', ['-c', relinked], { cwd: REPO, stdio: 'inherit' });
  execFileSync('wasm-opt', ['-Oz', '-g', linked, '-o', out], { cwd: REPO, stdio: 'inherit' });
  return out;
}

/** Samples of the bare wasm call per C part, for each query. */
async function profileC() {
  const path = namedModulePath();
  const module = await WebAssembly.compile(readFileSync(path));
  const { engine, storage } = await nodeEngine(module);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 20 });
  /** @type {Record<string, any>} */
  const out = {};
  try {
    for (const query of QUERY_KEYS) {
      const layer = makeLayers({ module, engine, storage, query }).find((l) => l.key === 'wasm');
      if (!layer) throw new Error('no wasm layer');
      for (let i = 0; i < 20000; i++) layer.fn(i); // tier up
      await session.post('Profiler.start');
      const t0 = performance.now();
      let calls = 0;
      while (performance.now() - t0 < 3000) for (let j = 0; j < 100; j++) layer.fn(calls++);
      const elapsed = performance.now() - t0;
      const { profile } = await session.post('Profiler.stop');
      out[query] = { ...chargeSamples(profile), calls, usPerCall: (elapsed * 1000) / calls };
      log(`  C profile ${query}: ${calls} calls, ${out[query].total} samples`);
    }
  } finally {
    await session.post('Profiler.disable');
    session.disconnect();
  }
  return { module: relative(REPO, path), queries: out };
}

/**
 * Charge each sample's node to the outermost C part on its stack.
 * @param {any} profile  a V8 CPU profile
 */
function chargeSamples(profile) {
  /** @type {Map<number, any>} */
  const byId = new Map(profile.nodes.map((/** @type {any} */ n) => [n.id, n]));
  /** @type {Map<number, number>} */
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (/** @type {any} */ n) => String(n.callFrame.functionName).replace(/^\$/, '').replace(/\.\d+$/, ''); // clones: f.1
  /** @type {Record<string, number>} */
  const parts = {};
  let total = 0;
  /** @type {Map<string, number>} */
  const selfOther = new Map();
  for (const n of profile.nodes) {
    if (!n.hitCount) continue;
    /** @type {string[]} */
    const stack = [];
    for (let id = n.id; id !== undefined; id = parent.get(id)) stack.push(name(byId.get(id)));
    stack.reverse();
    const inWasm = stack.includes('dosql_request') || stack.includes('dosql_free');
    let part = inWasm ? 'other C (handleRequest, dispatch, malloc/free outside the above)' : 'outside the wasm call (the JS loop, GC)';
    for (const f of stack) {
      const hit = C_PARTS.find(([, re]) => re.test(f));
      if (hit) {
        part = hit[0];
        break;
      }
    }
    if (part.startsWith('other C')) selfOther.set(name(n), (selfOther.get(name(n)) ?? 0) + n.hitCount);
    parts[part] = (parts[part] ?? 0) + n.hitCount;
    total += n.hitCount;
  }
  const topOther = [...selfOther.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6);
  return { total, parts, topOther };
}

// ---------------------------------------------------------------- report

/** The layer rows of the table, in path order, with what each stands for. */
const ROWS = [
  ['client.stringify', 'caller'],
  ['client.parse', 'caller'],
  ['request.new', 'runtime'],
  ['body.read', 'DoSQL'],
  ['body.read.chunks', 'DoSQL before bedaad1'],
  ['route', 'DoSQL'],
  ['gate', 'DoSQL'],
  ['engine.request', 'DoSQL'],
  ['engine.encode', '↳ in engine.request'],
  ['engine.encode.each', '↳ before bedaad1'],
  ['engine.chain', '↳ in engine.request'],
  ['engine.copy', '↳ in engine.request'],
  ['wasm', '↳ in engine.request'],
  ['engine.take', '↳ in engine.request'],
  ['response', 'DoSQL'],
  ['instance.fetch', 'DoSQL, whole'],
  ['native.json', 'native'],
  ['native.exec', 'native'],
  ['native.response', 'native'],
  ['native.fetch', 'native, whole'],
  ['alt.body.arrayBuffer', 'alternative'],
  ['alt.copy.reused', 'alternative'],
  ['alt.response.headers', 'alternative'],
];

/** @param {any} node @param {any} workerd @param {any} c @param {any} meta */
function markdown(node, workerd, c, meta) {
  const L = [];
  L.push(`Generated by \`${meta.command}\` on ${meta.date} (git ${meta.git}; node ${process.version}; workerd ${meta.workerd}; ${meta.cpu} ×${meta.nproc}, shared).`, '');
  const what = { ...node?.[QUERY_KEYS[0]]?.what, ...workerd?.[QUERY_KEYS[0]]?.what };
  const num = (/** @type {number} */ v) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  const fmt = (/** @type {any} */ x) => (x == null ? '—' : `${num(x.min)} (${num(x.us)})`);
  L.push('### µs per call, per layer', '');
  L.push(
    'Each cell: the least batch mean over the rounds (on this shared machine other work only adds time, so the least is the layer\'s own cost), and in parentheses the median. ' +
      `${ROUNDS} batches per layer, each of at least 100 ms in workerd (1 ms clock) or 50 ms in Node.`,
    '',
  );
  L.push(`| layer | where | ${QUERY_KEYS.map((q) => `${QUERIES[q].name}: workerd | Node`).join(' | ')} | what it times |`);
  L.push(`| --- | --- | ${QUERY_KEYS.map(() => '---: | ---:').join(' | ')} | --- |`);
  for (const [key, where] of ROWS) {
    const cells = QUERY_KEYS.map((q) => `${fmt(workerd?.[q]?.layers?.[key])} | ${fmt(node?.[q]?.layers?.[key])}`);
    L.push(`| \`${key}\` | ${where} | ${cells.join(' | ')} | ${what[key] ?? ''} |`);
  }
  L.push('');
  // Derived rows: the DoSQL-side sum, and body.read without the Request's making.
  const derived = (/** @type {Record<string, any> | undefined} */ t) => {
    if (!t) return null;
    const u = (/** @type {string} */ k) => t[k]?.min ?? NaN;
    const bodyOnly = u('body.read') - u('request.new');
    const engineParts = u('engine.encode') + u('engine.chain') + u('engine.copy') + u('wasm') + u('engine.take');
    const sum = bodyOnly + u('route') + u('gate') + u('engine.request') + u('response');
    return { bodyOnly, engineResidual: u('engine.request') - engineParts, sum, instanceOnly: u('instance.fetch') - u('request.new'), nativeOnly: u('native.fetch') - u('request.new') };
  };
  L.push('From the least times above:', '');
  L.push('| derived | ' + QUERY_KEYS.map((q) => `${QUERIES[q].name}: workerd | Node`).join(' | ') + ' |');
  L.push(`| --- | ${QUERY_KEYS.map(() => '---: | ---:').join(' | ')} |`);
  const f2 = (/** @type {number | undefined} */ x) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(2));
  const rowsD = [
    ['`body.read` − `request.new`: reading the body alone', 'bodyOnly'],
    ['`engine.request` − its parts: what the parts leave over (settle, #call, #freeAll, the faults loop)', 'engineResidual'],
    ['sum of the DoSQL layers (body, route, gate, engine.request, response)', 'sum'],
    ['`instance.fetch` − `request.new`: the whole DoSQL path, measured at once', 'instanceOnly'],
    ['`native.fetch` − `request.new`: the whole native path', 'nativeOnly'],
  ];
  for (const [label, k] of rowsD) {
    L.push(`| ${label} | ${QUERY_KEYS.map((q) => `${f2(/** @type {any} */ (derived(workerd?.[q]?.layers))?.[k])} | ${f2(/** @type {any} */ (derived(node?.[q]?.layers))?.[k])}`).join(' | ')} |`);
  }
  L.push('');
  if (workerd?.[QUERY_KEYS[0]]?.ablation) {
    const ab = (/** @type {string} */ q) => workerd[q].ablation;
    const modes = Object.keys(ab(QUERY_KEYS[0]).modes);
    L.push('### The real path, by ablation (workerd, over the stub)', '');
    L.push(
      `The Worker calls the probe object's \`fetch\` through its stub (as compare-worker.js does), in rounds of one batch per mode (${QUERY_KEYS.map((q) => `${QUERIES[q].name}: ${ab(q).rounds} rounds × ${ab(q).batch} calls`).join('; ')}); ` +
        'the object does more or less of the path by mode. µs per call: the least batch mean over the rounds (the median in parentheses); "− noop" is the least of the mode less the least of noop, what the mode adds to the transport.',
      '',
    );
    L.push(`| mode | ${QUERY_KEYS.map((q) => `${QUERIES[q].name} | − noop`).join(' | ')} | what the object does |`);
    L.push(`| --- | ${QUERY_KEYS.map(() => '---: | ---:').join(' | ')} | --- |`);
    const least = (/** @type {string} */ q, /** @type {string} */ m) => Math.min(...ab(q).modes[m].runs);
    for (const m of modes) {
      L.push(`| \`${m}\` | ${QUERY_KEYS.map((q) => `${least(q, m).toFixed(1)} (${ab(q).modes[m].us.toFixed(1)}) | ${(least(q, m) - least(q, 'noop')).toFixed(1)}`).join(' | ')} | ${ab(QUERY_KEYS[0]).what[m]} |`);
    }
    L.push('');
  }
  if (c) {
    L.push('### Inside the wasm call: share of samples per part of dosql_request (Node, V8 sampling profiler)', '');
    L.push(`Module: \`${c.module}\` (this build's objects relinked with names, \`wasm-opt -Oz -g\`). Sampling every 20 µs for 3 s per query over the \`wasm\` layer's loop.`, '');
    const parts = [...new Set(QUERY_KEYS.flatMap((q) => Object.keys(c.queries[q].parts)))].sort((a, b) => (c.queries[QUERY_KEYS[1]].parts[b] ?? 0) - (c.queries[QUERY_KEYS[1]].parts[a] ?? 0));
    L.push(`| part | ${QUERY_KEYS.map((q) => `${QUERIES[q].name}: % (µs)`).join(' | ')} |`);
    L.push(`| --- | ${QUERY_KEYS.map(() => '---:').join(' | ')} |`);
    for (const p of parts) {
      L.push(
        `| ${p} | ${QUERY_KEYS.map((q) => {
          const x = c.queries[q];
          const share = (x.parts[p] ?? 0) / x.total;
          return `${(share * 100).toFixed(1)}% (${(share * x.usPerCall).toFixed(2)})`;
        }).join(' | ')} |`,
      );
    }
    L.push(`| (µs per call in this loop) | ${QUERY_KEYS.map((q) => c.queries[q].usPerCall.toFixed(2)).join(' | ')} |`);
    L.push('');
    L.push(`Most of "other C", by self samples: ${QUERY_KEYS.map((q) => `${QUERIES[q].name}: ${c.queries[q].topOther.map(([n, k]) => `${n} ${((k / c.queries[q].total) * 100).toFixed(1)}%`).join(', ')}`).join('; ')}.`, '');
  }
  return L.join('\n');
}

function gitHead() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'worker-shim', 'src'], { cwd: REPO, encoding: 'utf8' }).trim();
    return dirty ? `${head}, with uncommitted changes in worker-shim/ or src/` : head;
  } catch {
    return '?';
  }
}

const BEGIN = '<!-- generated by request-path.mjs: begin -->';
const END = '<!-- generated by request-path.mjs: end -->';

async function main() {
  requireWasm();
  const module = await WebAssembly.compile(readFileSync(WASM_PATH));
  const node = args['no-node'] ? null : (log('Node'), await profileNode(module));
  const workerd = args['no-workerd'] ? null : (log('workerd'), await profileWorkerd());
  /** @type {any} */
  let c = null;
  if (!args['no-c']) {
    log('C profile');
    try {
      c = await profileC();
    } catch (err) {
      log(`  C profile skipped: ${err instanceof Error ? err.message : err}`);
    }
  }
  const meta = {
    command: `node tests/bench/request-path.mjs${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`,
    date: new Date().toISOString(),
    git: gitHead(),
    workerd: JSON.parse(readFileSync(join(REPO, 'node_modules/workerd/package.json'), 'utf8')).version,
    cpu: os.cpus()[0]?.model ?? '?',
    nproc: os.availableParallelism?.() ?? os.cpus().length,
  };
  const md = markdown(node, workerd, c, meta);
  console.log(md);
  mkdirSync(WORK, { recursive: true });
  writeFileSync(join(WORK, 'last.json'), JSON.stringify({ meta, node, workerd, c }, null, 1));
  if (args.write) {
    const old = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : `# Request path\n\n${BEGIN}\n${END}\n`;
    const a = old.indexOf(BEGIN);
    const b = old.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${relative(REPO, REPORT)} lacks the markers ${BEGIN} … ${END}`);
    writeFileSync(REPORT, `${old.slice(0, a + BEGIN.length)}\n${md}\n${old.slice(b)}`);
    log(`wrote ${relative(REPO, REPORT)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
