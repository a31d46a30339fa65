// contract.test.js — every contract between C and JS is declared once per side;
// these tests make the sides disagree loudly:
//   routes: the engine's route table (src/handler.c) answers every route it
//           publishes, and nothing else;
//   errors: src/errors.c's table = docs/errors.md, and every code the shim
//           answers with is in the table;
//   the client's copy (client.js, values.js: it runs outside the Durable Object,
//           without the module) = the contract.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, compileWasm } from './harness.js';
import { Engine } from '../../worker-shim/src/wasm/engine.js';
import { TRANSACTION_HEADER } from '../../worker-shim/src/client/client.js';
import { encodeValue } from '../../worker-shim/src/client/values.js';
import { MemoryPages } from './fixtures/memory-storage.js';

const decoder = new TextDecoder();
const EMPTY = new TextEncoder().encode('{}');

async function openEngine() {
  const engine = new Engine(await compileWasm(), { storage: new MemoryPages() });
  assert.equal((await engine.open()).status, 200);
  return engine;
}

test('every published route answers its methods, and refuses the others with 405', async () => {
  const engine = await openEngine();
  const { routes } = engine.contract;
  assert.ok(routes.length >= 15);
  for (const { path, methods, host, internal } of routes) {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
      const answer = host
        ? engine.hostRequest(method, path)
        : await engine.request(method, path, EMPTY, { internal });
      const code = answer.status === 200 ? null : JSON.parse(decoder.decode(answer.body)).code;
      if (methods.includes(method)) assert.notEqual(code, 'NOT_FOUND', `${method} ${path}`);
      if (methods.includes(method)) assert.notEqual(code, 'METHOD_NOT_ALLOWED', `${method} ${path}`);
      else assert.equal(answer.status, 405, `${method} ${path}`);
    }
    if (internal) {
      assert.equal((await engine.request('POST', path, EMPTY)).status, 404, `${path} is the host's own`);
    }
  }
  for (const path of ['/nope', '/', '/query/', '/QUERY', '/changes/']) {
    assert.equal((await engine.request('POST', path, EMPTY)).status, 404, path);
  }
});

test('/subscribe selections are checked by C under the rules of /changes', async () => {
  const engine = await openEngine();
  const ask = (/** @type {unknown} */ body) => {
    const a = engine.hostRequest('POST', '/subscribe', new TextEncoder().encode(JSON.stringify(body)));
    return { status: a.status, body: JSON.parse(decoder.decode(a.body)) };
  };
  assert.deepEqual(ask({}), { status: 200, body: { tables: null, since: null } });
  assert.deepEqual(ask({ tables: ['a', 'b'], since: 7 }), { status: 200, body: { tables: ['a', 'b'], since: 7 } });
  for (const bad of [{ tables: 'a' }, { tables: [''] }, { tables: [1] }, { since: -1 }, { since: 1.5 }, { since: '3' }, { since: 2 ** 53 }]) {
    const a = ask(bad);
    assert.equal(a.status, 400, JSON.stringify(bad));
    assert.equal(a.body.code, 'BAD_REQUEST');
  }
  assert.equal(engine.hostRequest('POST', '/subscribe', new TextEncoder().encode('{"since":1,"since":2}')).status, 400);
});

/** The rows of docs/errors.md's table: code -> status (0 for "—"). */
function documentedErrors() {
  const text = readFileSync(join(REPO, 'docs/errors.md'), 'utf8');
  /** @type {Map<string, number>} */
  const rows = new Map();
  for (const m of text.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| (\d{3}|—) \|/gm)) rows.set(m[1], m[2] === '—' ? 0 : Number(m[2]));
  return rows;
}

test('docs/errors.md lists exactly the codes of src/errors.c, with their statuses', async () => {
  const { contract } = await openEngine();
  const documented = documentedErrors();
  for (const [code, { status }] of Object.entries(contract.errors)) {
    assert.equal(documented.get(code), status, `${code} is documented with status ${status}`);
  }
  for (const code of documented.keys()) assert.ok(code in contract.errors, `${code} (documented) is in src/errors.c`);
});

test('every code written in src/errors.h is in the table', async () => {
  const { contract } = await openEngine();
  const header = readFileSync(join(REPO, 'src/errors.h'), 'utf8');
  const codes = [...header.matchAll(/^#define DOSQL_\w+\s+"([A-Z_]+)"/gm)].map((m) => m[1]);
  assert.ok(codes.length > 10);
  for (const code of codes) assert.ok(code in contract.errors, code);
});

test('every code the shim answers or ends a stream with is in the table', async () => {
  const { contract } = await openEngine();
  const dir = join(REPO, 'worker-shim/src');
  const used = new Set();
  for (const file of readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.js'))) {
    const text = readFileSync(join(dir, String(file)), 'utf8');
    for (const m of text.matchAll(/(?:hostError|fail|StorageError|\.end|endAll)\(\s*'([A-Z][A-Z0-9_]+)'/g)) used.add(m[1]);
  }
  assert.ok(used.size > 15, [...used].join(' '));
  for (const code of used) assert.ok(code in contract.errors, `${code} is in src/errors.c`);
});

test("the client's copy of the protocol equals the contract", async () => {
  const { contract } = await openEngine();
  assert.equal(TRANSACTION_HEADER, contract.transactionHeader);
  const tags = [encodeValue(2n ** 60n), encodeValue(new Uint8Array([1])), encodeValue(Infinity), encodeValue('a\0b')].map((v) => Object.keys(/** @type {object} */ (v))[0]);
  assert.deepEqual(tags, contract.valueTags);
});
