// types.test.js — worker-shim/index.d.ts against the code users write, with the
// pinned TypeScript and Workers types: every documented call type-checks
// (tests/types/usage.ts), the mistakes marked @ts-expect-error are caught, and the
// D1 facade is taken where drizzle and kysely ask for a D1Database (tests/types/orm.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './harness.js';

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
