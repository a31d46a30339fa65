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
    for (const w of json.workloads) {
      for (const s of SYSTEMS) assert.ok(Number.isFinite(w.cost[s]?.readsPerOp) && Number.isFinite(w.cost[s]?.writesPerOp), `${w.key} cost ${s}`);
    }
    // Writes are billed: every system writes something per INSERT, DoSQL at most a few rows.
    const insert = json.workloads.find((/** @type {any} */ w) => w.key === 'insert');
    for (const s of SYSTEMS) assert.ok(insert.cost[s].writesPerOp >= 1, `insert writes ${s}`);
    assert.ok(json.cold[0].systems.dosql.wasmMemoryPeakBytes > 10 * 65536, 'more than the module\'s initial 10 pages');
    assert.ok(json.size.raw > json.size.gzip && json.size.gzip > 0);
    for (const c of json.checks) assert.ok(c.met === true || c.met === false, `${c.key}: ${JSON.stringify(c)}`);
    assert.equal(out.speedtest1.skipped, true);

    const md = readFileSync(files.md, 'utf8');
    assert.match(md, /## Targets/);
    assert.match(md, /SMOKE MODE/);
    assert.ok(!/NaN|undefined/.test(md), 'no NaN or undefined in BENCHMARKS.md');
    const svg = readFileSync(files.svg, 'utf8');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/fill="#2f6fb3"/g) ?? []).length, json.workloads.length + json.cold.length + 1); // bars + legend
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
