// endpoints.test.js — the router's list of endpoints (worker-shim/src/endpoints.js)
// against the engine's route table (src/handler.c): every listed engine endpoint
// is one the engine answers, and a path the list leaves out is one it does not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileWasm } from './harness.js';
import { Engine } from '../../worker-shim/src/engine.js';
import { ENGINE_ENDPOINTS, isEndpoint } from '../../worker-shim/src/endpoints.js';
import { MemoryPages } from './fixtures/memory-storage.js';

const EMPTY = new TextEncoder().encode('{}');

test('every engine endpoint the router lets through is one the engine answers', async () => {
  const engine = new Engine(await compileWasm(), { storage: new MemoryPages() });
  assert.equal((await engine.open()).status, 200);
  for (const path of ENGINE_ENDPOINTS) {
    const answer = await engine.request('POST', path, EMPTY);
    assert.notEqual(answer.status, 404, path);
    assert.ok(isEndpoint(path));
  }
  // The engine's host-only routes and unknown paths stay out.
  for (const path of ['/changes/prune', '/import/check', '/nope', '/', '/query/']) {
    assert.equal((await engine.request('POST', path, EMPTY)).status, 404, path);
    assert.equal(isEndpoint(path), false, path);
  }
});
