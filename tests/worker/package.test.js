// package.test.js — what the dosql package gives each runtime (worker-shim/package.json):
// workerd gets src/index.js, Node and Vite get node.js (the client, and placeholders for
// the Durable Object side whose errors name the fix), and dosql/vite is a Vite plugin. The
// two entry points export the same names. tests/blank/ builds and serves a real app.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from './harness.js';

const SHIM = join(REPO, 'worker-shim');

/** The names a module exports, read from its text (src/index.js imports cloudflare:workers,
 *  which Node cannot load). @param {string} path */
function exportedNames(path) {
  const text = readFileSync(path, 'utf8');
  const names = new Set();
  for (const [, list] of text.matchAll(/export\s*\{([^}]*)\}/g)) {
    for (const item of list.split(',')) if (item.trim()) names.add(item.trim().split(/\s+as\s+/).pop());
  }
  for (const [, name] of text.matchAll(/export\s+(?:async\s+)?(?:function|class|const|let)\s+(\w+)/g)) names.add(name);
  return [...names].sort();
}

test('node.js (Node, Vite) exports exactly the names of src/index.js (workerd)', () => {
  const worker = exportedNames(join(SHIM, 'src/index.js'));
  assert.ok(worker.includes('DB') && worker.includes('getDB'), worker.join());
  assert.deepEqual(exportedNames(join(SHIM, 'node.js')), worker);
});

test('package.json sends workerd to src/index.js and Node to node.js, and says what it supports', () => {
  const pkg = JSON.parse(readFileSync(join(SHIM, 'package.json'), 'utf8'));
  const root = pkg.exports['.'];
  assert.deepEqual(Object.keys(root), ['types', 'workerd', 'node', 'default']);   // the first match wins
  assert.equal(root.workerd, './src/index.js');
  assert.equal(root.node, './node.js');
  assert.equal(pkg.exports['./vite'].default, './vite.js');
  for (const file of ['node.js', 'vite.js', 'vite.d.ts']) assert.ok(pkg.files.includes(file), file);
  assert.equal(pkg.engines.node, '>=20');
  assert.match(pkg.peerDependencies.wrangler, /^>=4\.86\.0/);
});

test("in Node, 'dosql' is the real client and placeholders whose errors name the fix", async () => {
  const dosql = await import(pathToFileURL(join(SHIM, 'node.js')).href);
  assert.equal(typeof dosql.getDB, 'function');
  const client = dosql.createClient({ fetch: async () => new Response('Not Found', { status: 404 }) });
  await assert.rejects(client.transaction(async () => {}), (/** @type {any} */ err) => err.code === 'NOT_DOSQL');
  await assert.rejects(dosql.DB('x', {}), /runs in the Durable Object on workerd, not in Node/);
  const Defined = dosql.defineDoSQL({ migrations: [] });   // a module that defines the class loads
  assert.throws(() => new Defined(), /DoSQLDatabase runs in the Durable Object on workerd/);
});

test('dosql/vite keeps dosql external and stops a SvelteKit build at cloudflare:workers', async () => {
  const { dosql } = await import(pathToFileURL(join(SHIM, 'vite.js')).href);
  const plugin = dosql();
  assert.equal(plugin.name, 'dosql');
  assert.deepEqual(/** @type {any} */ (plugin.config)().ssr.external, ['dosql']);
  /** @type {any} */ (plugin.configResolved)({ plugins: [{ name: 'vite-plugin-sveltekit-setup' }] });
  let error = '';
  const context = { environment: { name: 'ssr' }, error: (/** @type {string} */ m) => { error = m; throw new Error(m); } };
  assert.throws(() => /** @type {any} */ (plugin.resolveId).call(context, 'cloudflare:workers', '/app/src/lib/server/db.ts'));
  assert.match(error, /src\/lib\/server\/db\.ts imports 'cloudflare:workers'.*implements DurableObject/);
  assert.equal(/** @type {any} */ (plugin.resolveId).call(context, 'dosql', '/app/src/x.ts'), undefined);
});
