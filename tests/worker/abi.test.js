// The C <-> JS boundary is declared once on each side; these tests make drift
// between the declarations and the built module fail.
//   imports: src/host.h (DOSQL_IMPORT) = worker-shim/src/wasm/host.js = the module's imports
//   exports: wasm/exports.txt = worker-shim/src/wasm/engine.js = the module's exports (+ memory, and the
//   stack pointer wasm/link.flags exports)
//   the contract: src/api.h = what the module publishes (contract.js reads it)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, compileWasm } from './harness.js';
import * as host from '../../worker-shim/src/wasm/host.js';
import { Engine, EXPORT_NAMES } from '../../worker-shim/src/wasm/engine.js';
import { ABI_VERSION } from '../../worker-shim/src/wasm/contract.js';
import { MemoryPages } from './fixtures/memory-storage.js';

const hostH = readFileSync(join(REPO, 'src/host.h'), 'utf8');
const apiH = readFileSync(join(REPO, 'src/api.h'), 'utf8');

/** Names declared with DOSQL_IMPORT(name) at the start of a line (not the #define). */
function headerImports() {
  return [...hostH.matchAll(/^DOSQL_IMPORT\((\w+)\)/gm)].map((m) => m[1]);
}

/** The value of `#define NAME value` in a header. */
function define(text, name) {
  const m = new RegExp(`^#define\\s+${name}\\s+\\(?(-?\\d+)\\)?`, 'm').exec(text);
  assert.ok(m, `${name} is defined`);
  return Number(m[1]);
}

function exportList() {
  return readFileSync(join(REPO, 'wasm/exports.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

test('host.js lists exactly the imports host.h declares', () => {
  assert.deepEqual([...host.IMPORT_NAMES].sort(), headerImports().sort());
});

test('host.js constants equal host.h constants', () => {
  for (const [js, c] of [
    ['PAGE_OK', 'DOSQL_PAGE_OK'],
    ['PAGE_MISSING', 'DOSQL_PAGE_MISSING'],
    ['PAGE_FAULT', 'DOSQL_PAGE_FAULT'],
    ['PAGE_ERROR', 'DOSQL_PAGE_ERROR'],
    ['PAGE_FETCHED', 'DOSQL_PAGE_FETCHED'],
    ['COMMIT_OK', 'DOSQL_COMMIT_OK'],
    ['COMMIT_ERROR', 'DOSQL_COMMIT_ERROR'],
    ['LOG_ERROR', 'DOSQL_LOG_ERROR'],
    ['LOG_WARN', 'DOSQL_LOG_WARN'],
    ['LOG_INFO', 'DOSQL_LOG_INFO'],
    ['BATCH_HEADER_BYTES', 'DOSQL_BATCH_HEADER'],
    ['POINT_LSN', 'DOSQL_POINT_LSN'],
    ['POINT_TIME', 'DOSQL_POINT_TIME'],
    ['HISTORY_NONE', 'DOSQL_HISTORY_NONE'],
    ['HISTORY_BEFORE', 'DOSQL_HISTORY_BEFORE'],
    ['HISTORY_AFTER', 'DOSQL_HISTORY_AFTER'],
    ['HISTORY_ERROR', 'DOSQL_HISTORY_ERROR'],
  ]) {
    assert.equal(host[js], define(hostH, c), `${js} = ${c}`);
  }
  // history_info's slots, by index.
  const slots = { lsn: 'LSN', oldestLsn: 'OLDEST_LSN', oldestTime: 'OLDEST_TIME', windowMs: 'WINDOW_MS', bytes: 'BYTES', logSlots: 'LOG_ROWS' };
  host.HISTORY_INFO.forEach((name, i) => assert.equal(define(hostH, `DOSQL_HISTORY_${slots[name]}`), i, name));
  assert.equal(define(hostH, 'DOSQL_HISTORY_N'), host.HISTORY_INFO.length);
});

test('the contract the module publishes equals api.h, and contract.js speaks its ABI', async () => {
  const { contract } = new Engine(await compileWasm(), { storage: new MemoryPages() });
  assert.equal(ABI_VERSION, define(apiH, 'DOSQL_ABI_VERSION'));
  assert.equal(contract.abi, define(apiH, 'DOSQL_ABI_VERSION'));
  assert.deepEqual(contract.response, {
    status: define(apiH, 'DOSQL_RESPONSE_STATUS'),
    length: define(apiH, 'DOSQL_RESPONSE_LENGTH'),
    body: define(apiH, 'DOSQL_RESPONSE_BODY'),
    fault: define(apiH, 'DOSQL_STATUS_FAULT'),
  });
  assert.deepEqual(contract.requestFlags, {
    inTransaction: define(apiH, 'DOSQL_REQUEST_IN_TRANSACTION'),
    internal: define(apiH, 'DOSQL_REQUEST_INTERNAL'),
    retry: define(apiH, 'DOSQL_REQUEST_RETRY'),
    overRpc: define(apiH, 'DOSQL_REQUEST_OVER_RPC'),
  });
  assert.deepEqual(contract.openFlags, { captureChanges: define(apiH, 'DOSQL_OPEN_CAPTURE_CHANGES') });
});

test('engine.js lists exactly the exports of wasm/exports.txt', () => {
  assert.deepEqual([...EXPORT_NAMES].sort(), exportList().sort());
});

test('module imports equal host.h, all from module "dosql", all functions', async () => {
  const mod = await compileWasm();
  const imports = WebAssembly.Module.imports(mod);
  for (const i of imports) {
    assert.equal(i.module, host.IMPORT_MODULE, `${i.module}.${i.name} comes from "dosql" (no WASI imports)`);
    assert.equal(i.kind, 'function', `${i.name} is a function`);
  }
  assert.deepEqual(imports.map((i) => i.name).sort(), headerImports().sort());
});

test('module exports equal wasm/exports.txt plus memory and the stack pointer', async () => {
  const mod = await compileWasm();
  const exports = WebAssembly.Module.exports(mod);
  assert.deepEqual(exports.map((e) => e.name).sort(), [...exportList(), 'memory', '__stack_pointer'].sort());
  assert.equal(exports.find((e) => e.name === 'memory')?.kind, 'memory');
  assert.equal(exports.find((e) => e.name === '__stack_pointer')?.kind, 'global'); // wasm/link.flags
});
