// changes-cost-smoke.test.js — what change capture costs (tests/bench/changes-cost.mjs),
// one round with tiny batches in the Worker, so the benchmark cannot rot: every
// workload measured in both parts for every configuration, and the counts it reports
// as they must be (capture writes more, a write to a table nobody captures does not).
// No time is asserted; the real run is `node tests/bench/changes-cost.mjs --rounds 11`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measure } from '../bench/changes-cost.mjs';

const CONFIGS = ['off', 'on', 'others'];
const WRITES = ['insert', 'tx1000', 'update100k'];

test('change-capture benchmark, one round: both parts measure every workload, and capture writes more', { timeout: 180_000 }, async () => {
  const { engine, worker } = await measure({ rounds: 1, batches: { insert: 4, read: 4, tx1000: 1, update100k: 1 } });
  assert.deepEqual(Object.keys(engine.results), [...WRITES.slice(0, 1), 'read', ...WRITES.slice(1)]);
  assert.deepEqual(Object.keys(worker), Object.keys(engine.results));
  for (const [key, r] of Object.entries(engine.results)) {
    for (const c of CONFIGS) assert.ok(r[c].times.length > 0 && r[c].times.every((t) => t > 0), `engine ${key} ${c}`);
    assert.equal(r.others.pages, r.off.pages, `engine ${key}: a table nobody captures writes what it writes with capture off`);
    if (WRITES.includes(key)) assert.ok(r.on.pages > r.off.pages, `engine ${key}: capture writes the log too (${r.on.pages} <= ${r.off.pages})`);
    else assert.equal(r.on.pages, 0, `engine ${key}: reads write nothing`);
  }
  for (const [key, r] of Object.entries(worker)) {
    for (const c of CONFIGS) {
      assert.equal(r[c].times.length, 1, `worker ${key} ${c}`);
      assert.ok(Number.isFinite(r[c].times[0]) && r[c].times[0] >= 0 && Number.isFinite(r[c].rows[0]), `worker ${key} ${c}: ${JSON.stringify(r[c])}`);
    }
    if (WRITES.includes(key)) for (const c of CONFIGS) assert.ok(r[c].rows[0] >= 1, `worker ${key} ${c}: a commit writes at least one row`);
  }
  // The 100,000 events of one UPDATE (about 4.5 MB) are stored too: more rows than its pages alone.
  assert.ok(worker.update100k.on.rows[0] > worker.update100k.off.rows[0], JSON.stringify(worker.update100k));
  assert.ok(worker.update100k.others.rows[0] < worker.update100k.on.rows[0], JSON.stringify(worker.update100k));
});
