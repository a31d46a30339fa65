// DB() in a class of one's own names only the options it takes: one it does not
// (history, a misspelt one, a misspelt cold setting) is BAD_CONFIG naming it, not
// dropped with its default used; and a second DB() for the same object with another
// R2 bucket is BAD_CONFIG, as any other option that differs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { REPO, TMP, requireWasm, startBothBackends } from './harness.js';

const dir = join(TMP, `db-options-${randomUUID().slice(0, 8)}`);
/** @type {any} */
let mf;
before(async () => {
  requireWasm();
  mf = await startBothBackends(join(REPO, 'tests/worker/fixtures/db-options-worker.js'), join(dir, 'persist'), {}, {
    r2Buckets: ['COLD', 'COLD2'],
    r2Persist: join(dir, 'r2'),
    kvNamespaces: ['PAGES'],
    serviceBindings: { SVC: () => new Response('another Worker') },
  });
});
after(async () => {
  await mf?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** What each DB() call of a scenario did. @param {string} s @returns {Promise<any[]>} */
async function calls(s) {
  return (await mf.dispatchFetch(`http://localhost/?s=${s}`)).json();
}

test('an option DB() does not take is BAD_CONFIG naming it', async () => {
  for (const [scenario, named] of [['migrationsAlone', /; got an array of 1: \[\{"name":"0001_init\.sql".{0,200}…$/], ['history', /"history" is not one of them/], ['typo', /"cpuBudgetMS" is not one of them/], ['storageTypo', /storage takes \{hot\?, cold\?\}; "cache"/], ['coldTypo', /storage\.cold takes .*"hotbytes" is not one of them/]]) {
    const [call] = await calls(/** @type {string} */ (scenario));
    assert.equal(call.code, 'BAD_CONFIG', `${scenario}: ${JSON.stringify(call)}`);
    assert.match(call.error, /** @type {RegExp} */ (named));
  }
});

test('DB() again for the object with another R2 bucket is BAD_CONFIG; with the same one, the same Database', async () => {
  const [first, second] = await calls('otherBucket');
  assert.equal(first.ok, true);
  assert.equal(second.code, 'BAD_CONFIG', JSON.stringify(second));
  assert.deepEqual(await calls('sameBucket'), [{ ok: true }, { ok: true }]);
});

test('a binding of the wrong kind is BAD_CONFIG when DB() is called, even one with every method asked for (a service binding)', async () => {
  for (const call of await calls('ctxNotState')) {
    assert.equal(call.code, 'BAD_CONFIG', JSON.stringify(call));
    assert.match(call.error, /ctx must be the Durable Object's state \(this\.ctx, or this\.state in the guide's class\)/);
  }
  for (const call of await calls('hotNotStorage')) {
    assert.equal(call.code, 'BAD_CONFIG', JSON.stringify(call));
    assert.match(call.error, /storage\.hot must be the Durable Object's storage/);
  }
  for (const call of await calls('coldService')) {
    assert.equal(call.code, 'BAD_CONFIG', JSON.stringify(call));
    assert.match(call.error, /cold\.bucket must be an R2 bucket binding .*: this one is a service binding \(another Worker\)/);
  }
});
