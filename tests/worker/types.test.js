// types.test.js — worker-shim/index.d.ts against the code users write
// (tests/types/usage.ts), with the pinned TypeScript and Workers types: every
// documented call type-checks, and the mistakes marked @ts-expect-error are caught.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './harness.js';

test('index.d.ts: the documented usage type-checks, and typed mistakes are errors', () => {
  const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
  assert.ok(existsSync(tsc), 'node_modules/typescript is missing: run npm ci at the repository root');
  const result = spawnSync(process.execPath, [tsc, '-p', join(REPO, 'tests/types/tsconfig.json')], { encoding: 'utf8' });
  assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
});
