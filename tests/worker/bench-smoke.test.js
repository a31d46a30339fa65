// bench-smoke.test.js — the comparison benchmark (tests/bench/run.mjs) with tiny sizes,
// so the harness cannot rot: every workload gets a number from every system, every
// ratio is finite, and the three outputs are written (to a temporary folder, never
// over bench/results.json or BENCHMARKS.md). The real run is `./build.sh bench`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireWasm, TMP } from './harness.js';
import { runBench, SYSTEMS } from '../bench/run.mjs';

test('benchmark harness, smoke mode: well-formed results for every workload and system', { timeout: 120_000 }, async () => {
  requireWasm();
  mkdirSync(TMP, { recursive: true });
  const dir = mkdtempSync(join(TMP, 'bench-smoke-'));
  try {
    const { out, files } = await runBench({ smoke: true, quiet: true, 'out-dir': dir, 'cache-dir': join(dir, 'cache'), command: 'bench-smoke.test.js' });
    for (const f of Object.values(files)) assert.ok(existsSync(f) && f.startsWith(dir), f);

    const json = JSON.parse(readFileSync(files.json, 'utf8'));
    assert.deepEqual(json.workloads.map((/** @type {any} */ w) => w.key), ['point', 'range', 'aggregate', 'join', 'insert', 'update', 'tx']);
    assert.equal(json.cold.length, 1);
    for (const w of [...json.workloads, ...json.cold]) {
      for (const s of SYSTEMS) {
        const t = w.systems[s];
        assert.ok(t && Number.isFinite(t.median) && t.median > 0 && Number.isFinite(t.p99) && t.p99 >= t.median, `${w.key} ${s}: ${JSON.stringify(t)}`);
      }
      for (const s of ['dosql', 'dosql-kv', 'd1']) {
        assert.ok(Number.isFinite(w.ratio[s]?.median) && w.ratio[s].median > 0, `${w.key} ratio ${s}: ${JSON.stringify(w.ratio[s])}`);
      }
    }
    // The cold scan in the new runtime and on an object started afresh in the running one.
    assert.deepEqual(json.coldScans.map((/** @type {any} */ r) => r.key), ['scan1', 'loadedScan1']);
    for (const r of json.coldScans) {
      for (const s of ['dosql', 'dosql-kv']) assert.ok(Number.isFinite(r.ratio[s]?.median) && r.ratio[s].median > 0, `${r.key} ratio ${s}: ${JSON.stringify(r.ratio[s])}`);
    }
    assert.equal(json.coldScans[1].systems.d1, undefined, 'D1 has no object to start afresh');
    // Starts in the running isolate, right after its first request and after many more.
    assert.deepEqual(json.coldLoaded.map((/** @type {any} */ r) => r.key), ['loaded1', 'warmed1']);
    for (const r of json.coldLoaded) {
      for (const s of ['dosql', 'dosql-kv']) assert.ok(Number.isFinite(r.ratio[s]?.median) && r.ratio[s].median > 0, `${r.key} ratio ${s}: ${JSON.stringify(r.ratio[s])}`);
      assert.equal(r.systems.d1, undefined, 'D1 has no object to start afresh');
    }
    for (const w of json.workloads) {
      for (const s of SYSTEMS) assert.ok(Number.isFinite(w.cost[s]?.readsPerOp) && Number.isFinite(w.cost[s]?.writesPerOp), `${w.key} cost ${s}`);
    }
    // Writes are billed: every system writes something per INSERT, DoSQL at most a few rows.
    const insert = json.workloads.find((/** @type {any} */ w) => w.key === 'insert');
    for (const s of SYSTEMS) assert.ok(insert.cost[s].writesPerOp >= 1, `insert writes ${s}`);
    assert.ok(json.cold[0].systems.dosql.wasmMemoryPeakBytes > 10 * 65536, 'more than the module\'s initial 10 pages');
    assert.ok(json.size.raw > json.size.gzip && json.size.gzip > 0);
    // Timed inside the Worker: every op, over fetch for both systems and over RPC for
    // native; DoSQL over RPC measured, or n/a with the reason (no RPC methods yet).
    assert.deepEqual(json.inWorker.rows.map((/** @type {any} */ r) => r.key), ['select1', 'point', 'aggregate', 'insert', 'floor']);
    assert.ok(json.inWorker.clock.resolutionMs > 0, JSON.stringify(json.inWorker.clock));
    for (const r of json.inWorker.rows) {
      assert.ok(Number.isInteger(r.batch) && r.batch >= 1 && r.rounds >= 2, `${r.key}: ${r.rounds} × ${r.batch}`);
      const systems = r.key === 'floor' ? ['native'] : ['dosql', 'native'];
      for (const s of systems) {
        const t = r.transports.fetch.systems[s];
        assert.ok(t && Number.isFinite(t.median) && t.median >= 0, `in-Worker ${r.key} fetch ${s}: ${JSON.stringify(t)}`);
      }
      assert.ok(Number.isFinite(r.transports.rpc.systems.native?.median), `in-Worker ${r.key} rpc native`);
      if (r.key === 'floor') continue;
      assert.ok(Number.isFinite(r.transports.fetch.ratio?.median) && r.transports.fetch.ratio.median > 0, `in-Worker ${r.key} fetch ratio: ${JSON.stringify(r.transports.fetch)}`);
      const rpc = r.transports.rpc;
      assert.ok((Number.isFinite(rpc.ratio?.median) && rpc.ratio.median > 0) || /^n\/a — /.test(rpc.na), `in-Worker ${r.key} rpc: ${JSON.stringify(rpc)}`);
    }
    for (const c of json.checks) {
      const pendingRpc = /^inWorker\.\w+\.rpc$/.test(c.key) && c.met === null && /^n\/a — /.test(c.note);
      assert.ok(c.met === true || c.met === false || pendingRpc, `${c.key}: ${JSON.stringify(c)}`);
    }
    assert.deepEqual(json.checks.filter((/** @type {any} */ c) => c.key.startsWith('inWorker.')).map((/** @type {any} */ c) => c.key), [
      'inWorker.select1.fetch', 'inWorker.select1.rpc', 'inWorker.point.fetch', 'inWorker.point.rpc',
      'inWorker.aggregate.fetch', 'inWorker.aggregate.rpc', 'inWorker.insert.fetch', 'inWorker.insert.rpc',
    ]);
    assert.equal(out.speedtest1.skipped, true);

    const md = readFileSync(files.md, 'utf8');
    assert.match(md, /## Targets/);
    assert.match(md, /SMOKE MODE/);
    assert.match(md, /## Inside the Worker/);
    assert.match(md, /\| SELECT 1 \| \d+ × \d+ \|/);
    assert.ok(!/NaN|undefined/.test(md), 'no NaN or undefined in BENCHMARKS.md');
    const svg = readFileSync(files.svg, 'utf8');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/fill="#2f6fb3"/g) ?? []).length, json.workloads.length + json.cold.length + 1); // bars + legend
    assert.equal((svg.match(/fill="#2ca02c"/g) ?? []).length, 4 + 1); // in-Worker fetch bars + legend
    assert.match(svg, /in the Worker: SELECT 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
