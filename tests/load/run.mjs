#!/usr/bin/env node
// run.mjs — a load test of the standalone worker, served for real by `wrangler dev`.
//
//   ./build.sh load [--clients N] [--seconds T] [--tenants K]   build the module, then this
//   node tests/load/run.mjs [options]                          the same without building
//   options: --clients N   concurrent clients (default 8)
//            --seconds T   length of the load phase (default 60)
//            --tenants K   tenants (one Durable Object each) the clients spread over (default 4)
//            --seed S      the traffic mix's random seed (default: from the clock; printed)
//            --kill        restart with SIGKILL instead of SIGTERM
//            --keep        keep the folder under tests/.tmp/ (kept anyway when a check fails)
//            --out FILE    the report (default tests/load/results.md)
//
// Not part of `./build.sh test`: it takes a minute or more and its figures depend on the
// machine.
//
// The server: a snapshot of the standalone worker (wrangler.toml, worker-shim/standalone.js,
// worker-shim/src, worker-shim/bin, worker-shim/dist/dosql.wasm, migrations/) is copied to
// tests/.tmp/load-<id>/app, with a .dev.vars holding a random DOSQL_TOKEN, and served from
// there by the repository's own wrangler (`wrangler dev --local --ip 127.0.0.1`, free
// ports, `--persist-to tests/.tmp/load-<id>/state`), offline and quiet. A copy, so that
// edits to the working tree during the run neither reload the server nor mix versions.
// wrangler runs in a process group of its own; its output goes to server.log there.
//
// The traffic: N clients, each a loop of one request at a time, for T seconds (and at most
// MAX_OPS operations), over HTTP to 127.0.0.1 /db/<tenant>/..., each operation on a tenant
// picked at random. Kinds (weights in MIX):
//   read_point    /query  SELECT of one of this client's acknowledged rows (value checked)
//   read_range    /query  SELECT of a range of this client's rows by (client, seq) (checked)
//   insert        /run    INSERT with a client-generated unique id
//   update        /run    UPDATE of one of this client's acknowledged rows
//   transaction   /transaction  3 INSERTs and 1 UPDATE
//   batch         /batch  4 INSERTs
//   interactive   /begin; /query the tenant's counter; /run UPDATE it to the value read + 1
//                 (a read-modify-write that is only safe if the transaction isolates it);
//                 /run INSERT; sometimes /run UPDATE of an own row; then /commit (80 %),
//                 /rollback (18 %), or (2 %) nothing for longer than its 100 ms idle
//                 timeout before /commit, which must answer 409 TRANSACTION_EXPIRED.
// Every write answered 2xx (for an interactive transaction: its /commit) is acknowledged;
// one rolled back (or whose transaction idled out) must be absent; one answered with an
// error must be absent too; one that got no answer (the connection failed) may be either.
//
// The checks, after the load and again after a restart of the server on the same state:
// every acknowledged row is present with its last acknowledged value, no rolled-back or
// failed write is present, no row is there that nobody wrote, each tenant's counter equals
// its acknowledged increments, and PRAGMA integrity_check is ok. During the load, reads of
// a client's own rows must see its acknowledged writes.
//
// Output: the report on stdout and in --out (markdown). Exit 0 when every check passed,
// 1 when one failed (lost acknowledged writes, rolled-back writes present, integrity...),
// 2 when the run itself could not be made (the server did not start, bad options).

import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUIET_ENV, freePort } from '../e2e/harness.js';
import { seededRandom } from '../worker/harness.js';
import os from 'node:os';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const TMP = join(REPO, 'tests/.tmp');
const WRANGLER = join(REPO, 'node_modules/.bin/wrangler');

/** What the standalone worker needs, copied into the snapshot. */
const SNAPSHOT = [
  'wrangler.toml',
  'migrations',
  'worker-shim/standalone.js',
  'worker-shim/package.json',
  'worker-shim/src',
  'worker-shim/bin',
  'worker-shim/dist/dosql.wasm',
];

/** Operation kinds and their weights in the mix. */
const MIX = /** @type {const} */ ([
  ['read_point', 30],
  ['read_range', 10],
  ['insert', 20],
  ['update', 10],
  ['transaction', 7],
  ['batch', 8],
  ['interactive', 15],
]);
/** Per interactive transaction: how it ends. */
const P_ROLLBACK = 0.18;
const P_ABANDON = 0.02;
/** Idle timeout of the abandoned ones, and how long their client then waits. */
const ABANDON_TIMEOUT_MS = 100;
const ABANDON_WAIT_MS = 300;
/** Upper bounds that make every loop stop by itself. */
const MAX_OPS = 1_000_000;
const REQUEST_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 90_000;
/** Rows read back per request when checking. */
const PAGE = 5000;

/** Request kinds in report order (the interactive steps are requests of their own). */
const REQUEST_KINDS = [
  'read_point', 'read_range', 'insert', 'update', 'transaction', 'batch',
  'begin', 'tx_query', 'tx_run', 'commit', 'rollback',
];
const INTERACTIVE_STEPS = new Set(['begin', 'tx_query', 'tx_run', 'commit', 'rollback']);


// ---------------------------------------------------------------- options

function usage(message) {
  if (message) process.stderr.write(`run.mjs: ${message}\n`);
  process.stderr.write('usage: node tests/load/run.mjs [--clients N] [--seconds T] [--tenants K] [--seed S] [--kill] [--keep] [--out FILE]\n');
  process.exit(2);
}

function parseOptions(argv) {
  const o = { clients: 8, seconds: 60, tenants: 4, seed: Date.now() % 1_000_000, kill: false, keep: false, out: join(HERE, 'results.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    const count = (min, max) => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) usage(`${flag} must be a whole number from ${min} to ${max}; got ${v}`);
      return n;
    };
    switch (flag) {
      case '--clients': o.clients = count(1, 1000); break;
      case '--seconds': o.seconds = count(1, 3600); break;
      case '--tenants': o.tenants = count(1, 1000); break;
      case '--seed': o.seed = count(0, 2 ** 31); break;
      case '--kill': o.kill = true; break;
      case '--keep': o.keep = true; break;
      case '--out': o.out = resolve(value()); break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown option ${a}`);
    }
  }
  return o;
}

// ---------------------------------------------------------------- the server

/** Process groups started here, killed on any exit. */
const liveGroups = new Set();
process.on('exit', () => {
  for (const pgid of liveGroups) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(130));
}

function groupAlive(pgid) {
  try { process.kill(-pgid, 0); return true; } catch { return false; }
}

/** Stop a process group: SIGTERM (then SIGKILL after 5 s), or SIGKILL at once. */
async function killGroup(pgid, hard) {
  if (!liveGroups.has(pgid)) return;
  try { process.kill(-pgid, hard ? 'SIGKILL' : 'SIGTERM'); } catch { /* gone */ }
  for (let i = 0; i < 50 && groupAlive(pgid); i++) await sleep(100);
  if (groupAlive(pgid)) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
    for (let i = 0; i < 30 && groupAlive(pgid); i++) await sleep(100);
  }
  liveGroups.delete(pgid);
}

/** Copy the standalone worker into DIR/app with a fresh .dev.vars; returns the app folder. */
function snapshot(dir, token) {
  const app = join(dir, 'app');
  for (const rel of SNAPSHOT) {
    const from = join(REPO, rel);
    if (!existsSync(from)) {
      throw new Error(`${rel} is missing${rel.endsWith('.wasm') ? ': run ./build.sh wasm (./build.sh load does)' : ''}`);
    }
    cpSync(from, join(app, rel), { recursive: true });
  }
  mkdirSync(join(app, 'wasm/build'), { recursive: true });
  writeFileSync(join(app, '.dev.vars'), `DOSQL_TOKEN=${token}\n`, { mode: 0o600 });
  return app;
}

/**
 * Start `wrangler dev` in APP with state in PERSIST, wait for GET /health.
 * @returns {Promise<{base: string, stop: (hard: boolean) => Promise<void>, startedIn: number}>}
 */
async function startServer(app, persist, logPath) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const logFd = openSync(logPath, 'a');
  const args = ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
    '--persist-to', persist, '--show-interactive-dev-session=false'];
  writeFileSync(logPath, `\n==== wrangler ${args.join(' ')} (${new Date().toISOString()})\n`, { flag: 'a' });
  const child = spawn(WRANGLER, args, {
    cwd: app,
    env: { ...process.env, ...QUIET_ENV },
    stdio: ['ignore', logFd, logFd],
    detached: true,
  });
  closeSync(logFd);
  const pgid = /** @type {number} */ (child.pid);
  liveGroups.add(pgid);
  let exited = /** @type {string | null} */ (null);
  child.on('exit', (code, signal) => { exited = `exited (${signal ?? code})`; });
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  for (;;) {
    if (exited) break;
    if (performance.now() - started > READY_TIMEOUT_MS) break;
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      if (res.status === 200 && text.includes('"ok"')) {
        return { base, startedIn: (performance.now() - started) / 1000, stop: (hard) => killGroup(pgid, hard) };
      }
    } catch { /* not listening yet */ }
    await sleep(200);
  }
  const tail = readFileSync(logPath, 'utf8').split('\n').slice(-40).join('\n');
  await killGroup(pgid, true);
  throw new Error(`wrangler dev ${exited ?? `not ready after ${READY_TIMEOUT_MS} ms`}; ${logPath}:\n${tail}`);
}

// ---------------------------------------------------------------- HTTP and statistics

class Stats {
  /** kind → latencies (ms) of every request of that kind */
  latency = new Map();
  /** "kind status code" → {kind, status, code, count, samples} */
  errors = new Map();
  requests = 0;

  /** @param {string} kind @param {number} ms */
  record(kind, ms) {
    if (!this.latency.has(kind)) this.latency.set(kind, []);
    this.latency.get(kind).push(ms);
  }

  /** @param {string} kind @param {number | string} status @param {string} code @param {string} body */
  error(kind, status, code, body) {
    const key = `${kind} ${status} ${code}`;
    let e = this.errors.get(key);
    if (!e) this.errors.set(key, (e = { kind, status, code, count: 0, samples: [] }));
    e.count++;
    if (e.samples.length < 2 && !e.samples.includes(body)) e.samples.push(body);
  }
}

/**
 * One HTTP request. Resolves {ok, status, body, code, text}; status 'network' when no
 * answer came (connection failed or timed out): the outcome of a write is then unknown.
 */
async function call(ctx, kind, tenant, endpoint, payload, txId) {
  const headers = { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' };
  if (txId) headers['x-dosql-transaction'] = txId;
  const t0 = performance.now();
  let status;
  let text;
  try {
    const res = await fetch(`${ctx.base}/db/${tenant}/${endpoint}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(payload ?? {}),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    status = res.status;
    text = await res.text();
  } catch (err) {
    status = 'network';
    text = String(err?.cause?.message ?? err?.message ?? err);
  }
  const ms = performance.now() - t0;
  if (ctx.stats) {
    ctx.stats.requests++;
    ctx.stats.record(kind, ms);
  }
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  const ok = typeof status === 'number' && status >= 200 && status < 300;
  const code = ok ? '' : (body?.code ?? (status === 'network' ? 'NO_ANSWER' : 'NOT_JSON'));
  if (!ok && ctx.stats) ctx.stats.error(kind, status, code, text.slice(0, 400));
  return { ok, status, body, code, text };
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

// ---------------------------------------------------------------- what the clients know

/**
 * The client-side record of every write, per tenant: id → row state.
 *   status: 'acked' | 'rolledback' | 'failed' | 'unknown'
 *   value: the last acknowledged value (acked rows)
 *   uncertain: an update of it got no answer, so its value is not checked
 */
class Ledger {
  constructor(tenants) {
    /** @type {Map<string, Map<string, {status: string, value: number, uncertain: boolean, client: number, seq: number, via: string}>>} */
    this.rows = new Map(tenants.map((t) => [t, new Map()]));
    /** tenant → {acked, unknown} increments of the counter */
    this.counter = new Map(tenants.map((t) => [t, { acked: 0, unknown: 0 }]));
    this.anomalies = { staleReads: [], wrongRowsAffected: [] };
  }

  insert(tenant, id, client, seq, value, via, status) {
    this.rows.get(tenant).set(id, { status, value, uncertain: false, client, seq, via });
  }

  /** An update of an acknowledged row ended: acked (new value), failed/rolledback (value kept) or unknown. */
  update(tenant, id, value, status) {
    const row = this.rows.get(tenant).get(id);
    if (status === 'acked') row.value = value;
    else if (status === 'unknown') row.uncertain = true;
  }
}

/** How a write that got ANSWER ended, for the ledger. */
function outcome(answer) {
  if (answer.ok) return 'acked';
  return answer.status === 'network' ? 'unknown' : 'failed';
}

// ---------------------------------------------------------------- one client

async function runClient(ctx, index, deadline) {
  const rand = seededRandom(ctx.seed * 1009 + index);
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const totalWeight = MIX.reduce((s, [, w]) => s + w, 0);
  /** tenant → this client's acknowledged ids, oldest first */
  const mine = new Map(ctx.tenants.map((t) => [t, []]));
  let seq = 0;
  const newRow = () => {
    seq++;
    return { id: `c${index}-${seq}`, seq, value: Math.floor(rand() * 1e9) };
  };
  const ownAcked = (tenant) => {
    const ids = mine.get(tenant);
    if (!ids.length) return null;
    // Mostly recent rows, sometimes any.
    return rand() < 0.7 ? ids[Math.max(0, ids.length - 1 - Math.floor(rand() * 20))] : pick(ids);
  };
  const insertParams = (r, via) => [r.id, index, r.seq, r.value, via];
  const INSERT = 'INSERT INTO load_items (id, client, seq, v, via) VALUES (?, ?, ?, ?, ?)';
  const UPDATE = 'UPDATE load_items SET v = ? WHERE id = ?';
  const { ledger } = ctx;

  for (let op = 0; op < MAX_OPS && Date.now() < deadline; op++) {
    const tenant = pick(ctx.tenants);
    let r = rand() * totalWeight;
    let kind = MIX[MIX.length - 1][0];
    for (const [k, w] of MIX) {
      if ((r -= w) < 0) { kind = k; break; }
    }
    const rows = ledger.rows.get(tenant);

    if (kind === 'read_point') {
      const id = ownAcked(tenant);
      if (!id) { kind = 'insert'; } else {
        const a = await call(ctx, kind, tenant, 'query', { sql: 'SELECT id, v FROM load_items WHERE id = ?', params: [id] });
        const row = rows.get(id);
        if (a.ok && !row.uncertain && (a.body.rows.length !== 1 || a.body.rows[0].v !== row.value)) {
          ledger.anomalies.staleReads.push(`${tenant} ${id}: expected v=${row.value}, read ${JSON.stringify(a.body.rows)}`);
        }
        continue;
      }
    }
    if (kind === 'read_range') {
      const ids = mine.get(tenant);
      if (!ids.length) { kind = 'insert'; } else {
        const from = rows.get(pick(ids)).seq;
        const to = from + 50;
        const a = await call(ctx, kind, tenant, 'query', {
          sql: 'SELECT id, v FROM load_items WHERE client = ? AND seq BETWEEN ? AND ? ORDER BY seq',
          params: [index, from, to],
        });
        if (a.ok) {
          const got = new Map(a.body.rows.map((x) => [x.id, x.v]));
          for (let s = from; s <= to; s++) {
            const id = `c${index}-${s}`;
            const row = rows.get(id);
            if (row?.status === 'acked' && !row.uncertain && got.get(id) !== row.value) {
              ledger.anomalies.staleReads.push(`${tenant} ${id} (range): expected v=${row.value}, read ${got.get(id)}`);
            }
          }
        }
        continue;
      }
    }
    if (kind === 'update') {
      const id = ownAcked(tenant);
      if (!id) { kind = 'insert'; } else {
        const value = Math.floor(rand() * 1e9);
        const a = await call(ctx, kind, tenant, 'run', { sql: UPDATE, params: [value, id] });
        if (a.ok && a.body.rowsAffected !== 1) ledger.anomalies.wrongRowsAffected.push(`${tenant} UPDATE ${id}: ${a.text}`);
        ledger.update(tenant, id, value, outcome(a));
        continue;
      }
    }
    if (kind === 'insert') {
      const row = newRow();
      const a = await call(ctx, 'insert', tenant, 'run', { sql: INSERT, params: insertParams(row, 'run') });
      const status = outcome(a);
      ledger.insert(tenant, row.id, index, row.seq, row.value, 'run', status);
      if (status === 'acked') mine.get(tenant).push(row.id);
      continue;
    }
    if (kind === 'transaction' || kind === 'batch') {
      const fresh = Array.from({ length: kind === 'batch' ? 4 : 3 }, newRow);
      const target = kind === 'transaction' ? ownAcked(tenant) : null;
      const value = Math.floor(rand() * 1e9);
      const statements = fresh.map((row) => ({ sql: INSERT, params: insertParams(row, kind) }));
      if (target) statements.push({ sql: UPDATE, params: [value, target] });
      const a = kind === 'batch'
        ? await call(ctx, kind, tenant, 'batch', { operations: statements })
        : await call(ctx, kind, tenant, 'transaction', { operations: statements.map((s) => ({ type: 'run', ...s })) });
      const status = outcome(a);
      for (const row of fresh) {
        ledger.insert(tenant, row.id, index, row.seq, row.value, kind, status);
        if (status === 'acked') mine.get(tenant).push(row.id);
      }
      if (target) ledger.update(tenant, target, value, status);
      continue;
    }
    // interactive
    await interactive(ctx, tenant, rand, { newRow, ownAcked, insertParams, INSERT, UPDATE, mine, index });
  }
}

/** One interactive transaction: the counter's read-modify-write, an insert, maybe an update. */
async function interactive(ctx, tenant, rand, h) {
  const { ledger } = ctx;
  const t0 = performance.now();
  const end = rand();
  const abandon = end < P_ABANDON;
  const rollback = !abandon && end < P_ABANDON + P_ROLLBACK;
  const begin = await call(ctx, 'begin', tenant, 'begin', { timeoutMs: abandon ? ABANDON_TIMEOUT_MS : 5000 });
  ctx.itx.begun++;
  if (!begin.ok) { ctx.itx.beginFailed++; return; }
  const txId = begin.body.txId;
  const row = h.newRow();
  const target = rand() < 0.5 ? h.ownAcked(tenant) : null;
  const value = Math.floor(rand() * 1e9);
  let failed = null;

  const read = await call(ctx, 'tx_query', tenant, 'query', { sql: "SELECT n FROM load_counter WHERE name = 'c'" }, txId);
  if (!read.ok) failed = read;
  else {
    const n = read.body.rows[0].n;
    const inc = await call(ctx, 'tx_run', tenant, 'run', { sql: "UPDATE load_counter SET n = ? WHERE name = 'c'", params: [n + 1] }, txId);
    if (!inc.ok) failed = inc;
  }
  if (!failed) {
    const ins = await call(ctx, 'tx_run', tenant, 'run', { sql: h.INSERT, params: h.insertParams(row, 'interactive') }, txId);
    if (!ins.ok) failed = ins;
  }
  if (!failed && target) {
    const upd = await call(ctx, 'tx_run', tenant, 'run', { sql: h.UPDATE, params: [value, target] }, txId);
    if (!upd.ok) failed = upd;
  }

  let status;
  if (failed) {
    // A statement failed: end the transaction (it may have ended already: 409 is fine).
    await call(ctx, 'rollback', tenant, 'rollback', {}, txId);
    status = 'failed';
    ctx.itx.stepFailed++;
  } else if (rollback) {
    const rb = await call(ctx, 'rollback', tenant, 'rollback', {}, txId);
    status = 'rolledback';
    ctx.itx.rolledBack++;
    if (!rb.ok) ctx.itx.rollbackFailed++;
  } else {
    if (abandon) await sleep(ABANDON_WAIT_MS);
    const commit = await call(ctx, 'commit', tenant, 'commit', {}, txId);
    status = outcome(commit);
    if (abandon) {
      ctx.itx.abandoned++;
      if (commit.status === 409 && commit.code === 'TRANSACTION_EXPIRED') status = 'rolledback';
      else ctx.itx.abandonedAnswers.push(`${commit.status} ${commit.text.slice(0, 200)}`);
    }
    if (status === 'acked') ctx.itx.committed++;
    else if (!abandon) ctx.itx.commitFailed++;
  }
  ledger.insert(tenant, row.id, h.index, row.seq, row.value, 'interactive', status);
  if (status === 'acked') h.mine.get(tenant).push(row.id);
  if (target) ledger.update(tenant, target, value, status);
  const counter = ledger.counter.get(tenant);
  if (status === 'acked') counter.acked++;
  else if (status === 'unknown') counter.unknown++;
  if (ctx.stats) ctx.stats.record('interactive (whole)', performance.now() - t0);
}

// ---------------------------------------------------------------- setup and checks

/** Before the load: one client, one request at a time, to show what the dev server's own layers cost. */
async function baseline(ctx, n = 100) {
  const median = (a) => Float64Array.from(a).sort()[Math.floor(a.length / 2)];
  const health = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await (await fetch(`${ctx.base}/health`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).text();
    health.push(performance.now() - t0);
  }
  const select = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await must(ctx, ctx.tenants[0], 'query', { sql: 'SELECT 1 AS one' });
    select.push(performance.now() - t0);
  }
  return { health: median(health), select: median(select), n };
}

async function must(ctx, tenant, endpoint, payload) {
  const a = await call(ctx, 'setup', tenant, endpoint, payload);
  if (!a.ok) throw new Error(`${tenant} /${endpoint} ${JSON.stringify(payload).slice(0, 200)} → ${a.status} ${a.text.slice(0, 400)}`);
  return a.body;
}

async function setup(ctx) {
  for (const tenant of ctx.tenants) {
    await must(ctx, tenant, 'run', { sql: 'CREATE TABLE IF NOT EXISTS load_items (id TEXT PRIMARY KEY, client INTEGER NOT NULL, seq INTEGER NOT NULL, v INTEGER NOT NULL, via TEXT NOT NULL)' });
    await must(ctx, tenant, 'run', { sql: 'CREATE INDEX IF NOT EXISTS load_items_client_seq ON load_items (client, seq)' });
    await must(ctx, tenant, 'run', { sql: 'CREATE TABLE IF NOT EXISTS load_counter (name TEXT PRIMARY KEY, n INTEGER NOT NULL)' });
    await must(ctx, tenant, 'run', { sql: "INSERT OR IGNORE INTO load_counter (name, n) VALUES ('c', 0)" });
  }
}

/** Read every tenant back and compare with the ledger. */
async function check(ctx, when) {
  const result = {
    when,
    lostInserts: [], lostUpdates: [], rolledBackPresent: [], failedPresent: [], unknownRows: [],
    counters: [], integrity: [], ackedRows: 0, rowsRead: 0, unknownOutcome: 0,
  };
  for (const tenant of ctx.tenants) {
    const present = new Map();
    let after = '';
    for (let page = 0; page < 10_000; page++) {
      const { rows } = await must(ctx, tenant, 'query', { sql: 'SELECT id, v FROM load_items WHERE id > ? ORDER BY id LIMIT ?', params: [after, PAGE] });
      for (const r of rows) present.set(r.id, r.v);
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1].id;
    }
    result.rowsRead += present.size;
    const ledger = ctx.ledger.rows.get(tenant);
    for (const [id, row] of ledger) {
      const has = present.has(id);
      if (row.status === 'acked') {
        result.ackedRows++;
        if (!has) result.lostInserts.push(`${tenant} ${id} (${row.via})`);
        else if (!row.uncertain && present.get(id) !== row.value) {
          result.lostUpdates.push(`${tenant} ${id}: expected v=${row.value}, found ${present.get(id)}`);
        }
      } else if (row.status === 'rolledback' && has) result.rolledBackPresent.push(`${tenant} ${id} (${row.via})`);
      else if (row.status === 'failed' && has) result.failedPresent.push(`${tenant} ${id} (${row.via})`);
      else if (row.status === 'unknown') result.unknownOutcome++;
    }
    for (const id of present.keys()) if (!ledger.has(id)) result.unknownRows.push(`${tenant} ${id}`);
    const { rows: [{ n }] } = await must(ctx, tenant, 'query', { sql: "SELECT n FROM load_counter WHERE name = 'c'" });
    const { acked, unknown } = ctx.ledger.counter.get(tenant);
    result.counters.push({ tenant, n, acked, unknown, ok: n >= acked && n <= acked + unknown });
    const { rows: integrity } = await must(ctx, tenant, 'query', { sql: 'PRAGMA integrity_check' });
    const text = integrity.map((r) => r.integrity_check).join('; ');
    result.integrity.push({ tenant, text, ok: text === 'ok' });
  }
  const counterShort = result.counters.reduce((s, c) => s + Math.max(0, c.acked - c.n), 0);
  result.lost = result.lostInserts.length + result.lostUpdates.length + counterShort;
  result.ok = result.lost === 0 && result.rolledBackPresent.length === 0 && result.failedPresent.length === 0
    && result.unknownRows.length === 0 && result.counters.every((c) => c.ok) && result.integrity.every((i) => i.ok);
  return result;
}

// ---------------------------------------------------------------- report

const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const int = (x) => x.toLocaleString('en-US');

function isExpected(e) {
  // Interactive transactions under load: an ended/expired/aborted transaction (409
  // TRANSACTION_*), or contention (503) — and the /commit of an abandoned one.
  if (!INTERACTIVE_STEPS.has(e.kind)) return false;
  return (e.status === 409 && String(e.code).startsWith('TRANSACTION_')) || e.status === 503;
}

function report(o, ctx, run, checks) {
  const lines = [];
  const push = (...l) => lines.push(...l);
  const elapsed = run.elapsed;
  const stats = ctx.stats;
  const cpu = os.cpus()[0]?.model?.trim() ?? '?';
  const errorsTotal = [...stats.errors.values()].reduce((s, e) => s + e.count, 0);
  const unexpected = [...stats.errors.values()].filter((e) => !isExpected(e));
  const lost = Math.max(...checks.map((c) => c.lost));

  push('# Load test: the standalone worker under mixed traffic', '');
  push('Written by `tests/load/run.mjs` (see its header); not part of `./build.sh test`.', '');
  push(`- command: \`${process.env.LOAD_COMMAND ?? `node tests/load/run.mjs ${process.argv.slice(2).join(' ')}`.trim()}\``);
  push(`- date: ${run.date}`);
  push(`- machine: ${os.cpus().length} × ${cpu} (nproc ${os.availableParallelism?.() ?? os.cpus().length}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average (1 min) ${run.loadavg[0].toFixed(2)} at the start, at most ${run.loadMax.toFixed(2)} during the load; Node ${process.version}; wrangler ${run.wranglerVersion} (\`wrangler dev --local\`, SQLite-backed objects)`);
  push(`- code: ${run.source}; dosql.wasm ${int(run.wasmBytes)} bytes`);
  push(`- clients ${o.clients} × ${o.seconds} s × ${o.tenants} tenants (seed ${o.seed}); server, clients and checker on the same machine, over HTTP to 127.0.0.1`);
  push(`- idle baseline (one client, ${run.baseline.n} requests each, median): GET /health ${fmt(run.baseline.health)} ms (the router alone), /query \`SELECT 1\` ${fmt(run.baseline.select)} ms; wrangler dev's own layers (its proxy worker, request logging) are in every figure below`);
  push(`- server ready in ${fmt(run.startedIn)} s; after the restart (${o.kill ? 'SIGKILL' : 'SIGTERM'}) in ${fmt(run.restartedIn)} s`, '');

  push('## Throughput and latency', '');
  push(`${int(stats.requests - run.setupRequests)} requests in ${fmt(elapsed)} s: **${fmt((stats.requests - run.setupRequests) / elapsed, 0)} req/s** overall, ${int(errorsTotal)} answered with an error (${int(errorsTotal - unexpected.reduce((s, e) => s + e.count, 0))} of them expected).`, '');
  push('| kind | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const kind of [...REQUEST_KINDS, 'interactive (whole)']) {
    const lat = stats.latency.get(kind);
    if (!lat?.length) continue;
    const sorted = Float64Array.from(lat).sort();
    const errs = [...stats.errors.values()].filter((e) => e.kind === kind).reduce((s, e) => s + e.count, 0);
    const label = kind === 'interactive (whole)' ? '*interactive, begin to end*' : kind;
    push(`| ${label} | ${int(lat.length)} | ${fmt(lat.length / elapsed)} | ${fmt(percentile(sorted, 50))} | ${fmt(percentile(sorted, 95))} | ${fmt(percentile(sorted, 99))} | ${fmt(sorted[sorted.length - 1])} | ${kind === 'interactive (whole)' ? '' : int(errs)} |`);
  }
  push('');
  const it = ctx.itx;
  const held = (stats.latency.get('interactive (whole)') ?? []).reduce((a, b) => a + b, 0) / 1000;
  push(`Interactive transactions: ${int(it.begun)} begun, ${int(it.committed)} committed, ${int(it.rolledBack)} rolled back on purpose, ${int(it.abandoned)} abandoned past their ${ABANDON_TIMEOUT_MS} ms idle timeout (their /commit must answer 409 TRANSACTION_EXPIRED), ${int(it.beginFailed)} /begin failed, ${int(it.stepFailed)} ended by a failed statement, ${int(it.commitFailed)} /commit failed. Each holds its tenant from /begin to its end (docs/transactions.md): their begin-to-end times add up to ${fmt(held)} s, ${fmt((100 * held) / (o.tenants * elapsed), 0)} % of the ${o.tenants} tenants × ${fmt(elapsed, 0)} s; the other kinds' requests to a held tenant wait in line meanwhile.`, '');

  push('## Errors', '');
  if (!stats.errors.size) push('None.', '');
  else {
    push('| kind | status | code | count | expected | sample |', '| --- | --- | --- | ---: | --- | --- |');
    for (const e of [...stats.errors.values()].sort((a, b) => b.count - a.count)) {
      const sample = (e.samples[0] ?? '').replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 160);
      push(`| ${e.kind} | ${e.status} | ${e.code} | ${int(e.count)} | ${isExpected(e) ? 'yes' : '**no**'} | \`${sample}\` |`);
    }
    push('');
  }
  if (it.abandonedAnswers.length) {
    push(`Abandoned transactions whose /commit did not answer 409 TRANSACTION_EXPIRED: ${it.abandonedAnswers.length}`, '');
    for (const a of it.abandonedAnswers.slice(0, 5)) push(`- \`${a}\``);
    push('');
  }

  push('## Checks', '');
  push(`Reads during the load that missed the client's own acknowledged write: ${ctx.ledger.anomalies.staleReads.length}; UPDATEs of an acknowledged row answering rowsAffected ≠ 1: ${ctx.ledger.anomalies.wrongRowsAffected.length}.`, '');
  push('| check | after the load | after the restart |', '| --- | --- | --- |');
  const row = (label, f) => push(`| ${label} | ${checks.map(f).join(' | ')} |`);
  row('acknowledged rows (inserts), present', (c) => `${int(c.ackedRows - c.lostInserts.length)} of ${int(c.ackedRows)}`);
  row('acknowledged values (updates) as last written', (c) => (c.lostUpdates.length ? `**${c.lostUpdates.length} wrong**` : 'all'));
  row('rolled-back or expired writes present', (c) => String(c.rolledBackPresent.length));
  row('writes answered with an error, present', (c) => String(c.failedPresent.length));
  row('rows nobody wrote', (c) => String(c.unknownRows.length));
  row('writes with no answer (either way is fine)', (c) => String(c.unknownOutcome));
  row('counter = acknowledged increments', (c) => c.counters.map((x) => `${x.n}${x.ok ? ' =' : ' ≠'} ${x.acked}${x.unknown ? `(+≤${x.unknown})` : ''}`).join(', '));
  row('PRAGMA integrity_check', (c) => c.integrity.map((x) => x.text).join(', '));
  row('rows in the tables', (c) => int(c.rowsRead));
  push('');
  push(`**lost acknowledged writes: ${lost}**`, '');
  const failures = checks.flatMap((c) => [
    ...c.lostInserts.map((x) => `${c.when}: lost insert ${x}`),
    ...c.lostUpdates.map((x) => `${c.when}: lost update ${x}`),
    ...c.rolledBackPresent.map((x) => `${c.when}: rolled-back write present ${x}`),
    ...c.failedPresent.map((x) => `${c.when}: failed write present ${x}`),
    ...c.unknownRows.map((x) => `${c.when}: row nobody wrote ${x}`),
    ...c.counters.filter((x) => !x.ok).map((x) => `${c.when}: counter of ${x.tenant} is ${x.n}, acknowledged increments ${x.acked} (+${x.unknown} unknown)`),
    ...c.integrity.filter((x) => !x.ok).map((x) => `${c.when}: integrity_check of ${x.tenant}: ${x.text}`),
  ]);
  failures.push(...ctx.ledger.anomalies.staleReads.map((x) => `stale read: ${x}`));
  failures.push(...ctx.ledger.anomalies.wrongRowsAffected.map((x) => `rowsAffected: ${x}`));
  if (failures.length) {
    push('Failures (first 30):', '');
    for (const f of failures.slice(0, 30)) push(`- ${f}`);
    push('');
  }
  if (run.serverErrors.length) {
    push(`The server logged ${run.serverErrors.length} error line(s); the first:`, '', '```');
    push(...run.serverErrors.slice(0, 15).map((l) => l.slice(0, 300)), '```', '');
  }
  const passed = failures.length === 0 && checks.every((c) => c.ok);
  push(`Result: **${passed ? 'PASS' : 'FAIL'}**`);
  return { text: `${lines.join('\n')}\n`, passed, lost };
}

/** Which code was served: LOAD_SOURCE, else the commit and whether the served files differ from it. */
function describeSource() {
  if (process.env.LOAD_SOURCE) return process.env.LOAD_SOURCE;
  try {
    const git = (...args) => execFileSync('git', ['-C', REPO, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'src', 'worker-shim', 'migrations', 'wrangler.toml', 'build.sh');
    return `commit ${commit}${dirty ? ' with uncommitted changes to the module or the shim' : ''}`;
  } catch {
    return 'unknown (not a git work tree)';
  }
}

/** Lines of the server log that look like errors (wrangler's and the object's). */
function serverErrorLines(logPath) {
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, 'utf8').split('\n')
    .filter((l) => /✘|\[ERROR\]|error|Uncaught|exception/i.test(l))
    .filter((l) => !/^==== wrangler/.test(l));
}

// ---------------------------------------------------------------- main

async function main() {
  const o = parseOptions(process.argv.slice(2));
  if (!existsSync(WRANGLER)) usage('node_modules/.bin/wrangler is missing: run npm ci (./build.sh load does)');
  const dir = join(TMP, `load-${randomUUID().slice(0, 8)}`);
  const persist = join(dir, 'state');
  const logPath = join(dir, 'server.log');
  mkdirSync(persist, { recursive: true });
  const token = randomBytes(24).toString('hex');
  const app = snapshot(dir, token);
  const source = describeSource();
  const wasmBytes = readFileSync(join(app, 'worker-shim/dist/dosql.wasm')).length;
  const wranglerVersion = JSON.parse(readFileSync(join(REPO, 'node_modules/wrangler/package.json'), 'utf8')).version;
  process.stderr.write(`# load: ${o.clients} clients × ${o.seconds} s × ${o.tenants} tenants, seed ${o.seed}; state and server.log in ${relative(REPO, dir)}\n`);

  const tenants = Array.from({ length: o.tenants }, (_, i) => `load-${i + 1}`);
  const run = { date: new Date().toISOString(), loadavg: os.loadavg(), wranglerVersion, source, wasmBytes, elapsed: 0, loadMax: 0, startedIn: 0, restartedIn: 0, setupRequests: 0, serverErrors: [] };
  let server;
  try {
    server = await startServer(app, persist, logPath);
  } catch (e) {
    process.stderr.write(`# load: ${e.message}\n`);
    process.exit(2);
  }
  run.startedIn = server.startedIn;
  process.stderr.write(`# load: wrangler dev ready on ${server.base} in ${fmt(server.startedIn)} s\n`);

  const ctx = {
    base: server.base, token, tenants, seed: o.seed, stats: new Stats(), ledger: new Ledger(tenants),
    itx: { begun: 0, committed: 0, rolledBack: 0, abandoned: 0, beginFailed: 0, stepFailed: 0, commitFailed: 0, rollbackFailed: 0, abandonedAnswers: [] },
  };
  const checks = [];
  try {
    await setup({ ...ctx, stats: null });
    run.baseline = await baseline({ ...ctx, stats: null });
    // Progress every 10 s.
    const t0 = performance.now();
    const deadline = Date.now() + o.seconds * 1000;
    const sampler = setInterval(() => { run.loadMax = Math.max(run.loadMax, os.loadavg()[0]); }, 2000);
    const ticker = setInterval(() => {
      const s = (performance.now() - t0) / 1000;
      const errs = [...ctx.stats.errors.values()].reduce((n, e) => n + e.count, 0);
      process.stderr.write(`# load: ${fmt(s, 0)} s: ${int(ctx.stats.requests)} requests (${fmt(ctx.stats.requests / s, 0)}/s), ${int(errs)} errors\n`);
    }, 10_000);
    await Promise.all(Array.from({ length: o.clients }, (_, i) => runClient(ctx, i + 1, deadline)));
    clearInterval(ticker);
    clearInterval(sampler);
    run.elapsed = (performance.now() - t0) / 1000;
    process.stderr.write(`# load: done, ${int(ctx.stats.requests)} requests in ${fmt(run.elapsed)} s; checking\n`);

    const readCtx = { ...ctx, stats: null };
    checks.push(await check(readCtx, 'after the load'));
    await server.stop(o.kill);
    server = await startServer(app, persist, logPath);
    run.restartedIn = server.startedIn;
    process.stderr.write(`# load: restarted (${o.kill ? 'SIGKILL' : 'SIGTERM'}) and ready in ${fmt(server.startedIn)} s; checking again\n`);
    checks.push(await check({ ...readCtx, base: server.base }, 'after the restart'));
  } catch (e) {
    process.stderr.write(`# load: the run failed: ${e.stack ?? e}\n# load: ${relative(REPO, logPath)} kept\n`);
    await server?.stop(true);
    process.exit(2);
  }
  await server.stop(false);
  run.serverErrors = serverErrorLines(logPath);

  const { text, passed, lost } = report(o, ctx, run, checks);
  process.stdout.write(`\n${text}`);
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, text);
  process.stderr.write(`# load: wrote ${relative(REPO, o.out) || o.out}; lost acknowledged writes: ${lost}; ${passed ? 'PASS' : 'FAIL'}\n`);
  if (passed && !o.keep) rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`# load: kept ${relative(REPO, dir)}\n`);
  process.exit(passed ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`# load: ${e.stack ?? e}\n`);
  process.exit(2);
});
