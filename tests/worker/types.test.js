// types.test.js — worker-shim/index.d.ts against the code users write, with the
// pinned TypeScript and Workers types: every documented call type-checks
// (tests/types/usage.ts), the mistakes marked @ts-expect-error are caught, and the
// D1 facade is taken where drizzle and kysely ask for a D1Database (tests/types/orm.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { REPO, TMP } from './harness.js';
import { bundleMigrations } from '../../worker-shim/bin/bundle-migrations.mjs';

/** @param {string} config  a tsconfig under tests/types */
function typeCheck(config) {
  const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
  assert.ok(existsSync(tsc), 'node_modules/typescript is missing: run npm ci at the repository root');
  const result = spawnSync(process.execPath, [tsc, '-p', join(REPO, 'tests/types', config)], { encoding: 'utf8' });
  assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
}

test('index.d.ts: the documented usage type-checks, and typed mistakes are errors', () => {
  typeCheck('tsconfig.json');
});

test('d1.d.ts: drizzle(toD1(...)) and kysely-d1 take the facade as their D1Database', () => {
  typeCheck('tsconfig.orm.json');
});

test('docs/client.md: each answer its methods table shows names the fields index.d.ts declares', async () => {
  const { default: ts } = await import(join(REPO, 'node_modules/typescript/lib/typescript.js'));
  const parsed = ts.getParsedCommandLineOfConfigFile(join(REPO, 'tests/types/tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const program = ts.createProgram([join(REPO, 'worker-shim/index.d.ts')], parsed.options);
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(/** @type {any} */ (program.getSourceFile(join(REPO, 'worker-shim/index.d.ts'))));
  const client = checker.getExportsOfModule(module).find((/** @type {any} */ s) => s.name === 'DatabaseClient');
  const clientType = checker.getDeclaredTypeOfSymbol(client);
  /** The required fields of what a method resolves to (of one element, for an array). @param {string} method */
  const answerFields = (method) => {
    const property = /** @type {any} */ (checker.getPropertyOfType(clientType, method));
    let type = checker.getTypeOfSymbol(property).getCallSignatures()[0].getReturnType();
    type = checker.getAwaitedType(type) ?? type;
    if (checker.isArrayType(type)) type = checker.getTypeArguments(type)[0];
    return checker.getPropertiesOfType(type).filter((/** @type {any} */ p) => !(p.flags & ts.SymbolFlags.Optional)).map((/** @type {any} */ p) => p.name).sort();
  };
  const table = readFileSync(join(REPO, 'docs/client.md'), 'utf8').split('\n## Methods\n')[1].split('\n## ')[0];
  let compared = 0;
  for (const [, method, answer] of table.matchAll(/^\| `(\w+)\([^`]*\)` \| [^`|]*`\{([^}]*)\}`/gm)) {
    assert.deepEqual(answer.split(',').map((f) => f.trim()).sort(), answerFields(method), `client.md's ${method}() row`);
    compared++;
  }
  assert.ok(compared >= 8, `compared ${compared} rows of client.md's methods table`);
});

test('docs/setup.md: the TypeScript Worker type-checks under strict, with the bundled migrations', () => {
  const setup = readFileSync(join(REPO, 'docs/setup.md'), 'utf8').split('\n## TypeScript\n')[1];
  const code = /```ts\n([\s\S]*?)```/.exec(setup ?? '')?.[1];
  assert.ok(code, 'setup.md has a ```ts block under "## TypeScript"');
  const dir = join(TMP, `types-setup-${randomUUID().slice(0, 8)}`);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'index.ts'), code);
  bundleMigrations(join(REPO, 'migrations'), join(dir, 'src', 'migrations.generated.js'));
  // What `wrangler types` writes for the binding (tests/blank runs wrangler itself).
  writeFileSync(join(dir, 'src', 'env.d.ts'), "interface Env { DOSQL_DB: DurableObjectNamespace<import('./index').DoSQLDatabase> }\n");
  const base = JSON.parse(readFileSync(join(REPO, 'tests/types/tsconfig.json'), 'utf8'));
  const paths = Object.fromEntries(Object.entries(base.compilerOptions.paths).map(([k, [v]]) => [k, [join(REPO, 'tests/types', v)]]));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { ...base.compilerOptions, paths, typeRoots: [join(REPO, 'node_modules/@cloudflare')], types: ['workers-types'] },
    include: ['src/*.ts'],
  }));
  const result = spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
});
