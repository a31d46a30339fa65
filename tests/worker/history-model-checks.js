// history-model-checks.js — what tests/worker/history-model.test.js asks of a recorded
// point: a read as of it (by lsn and by bookmark), its export, a branch of it and a
// diff from or to it give back exactly the dump recorded when its commit was made;
// and a point history no longer keeps is refused, never read wrong.

import assert from 'node:assert/strict';
import { dumpAt, mustDump, userView, firstDifference, rowsAsDiffSees, canonical, isInternal, BALLAST } from './history-model-dump.js';

/**
 * @typedef {import('./history-model-dump.js').Dump} Dump
 * @typedef {{step: number, lsn: number, bookmark: string, dump: Dump}} Point
 * @typedef {object} Target  one database of a running world, and the world's other doors
 * @property {string} name
 * @property {import('./history-model-dump.js').Post} post
 * @property {(asOf: unknown) => Promise<{status: number, bytes: Uint8Array, text: string}>} exportFile
 * @property {(method: string, args: unknown[]) => Promise<any>} rpc  the stub's RPC method
 * @property {(name: string) => Target} other  another database of the world
 */

/** @param {Dump} got @param {Dump} want @param {string} what */
export function assertSameDump(got, want, what) {
  const difference = firstDifference(got, want);
  assert.equal(difference, null, `${what}: ${difference}`);
}

/** A read as of the point, by its lsn and by its bookmark, dumps what was recorded. @param {Target} db @param {Point} p */
export async function checkReadAsOf(db, p) {
  assertSameDump(await mustDump(db.post, p.lsn), p.dump, `read as of lsn ${p.lsn} (step ${p.step})`);
  assertSameDump(await mustDump(db.post, p.bookmark), p.dump, `read as of bookmark ${p.bookmark} (step ${p.step})`);
}

/**
 * The point's export, imported into `scratch`, dumps the recorded rows; a point before
 * the first commit exports as an empty file (docs/history.md).
 * @param {Target} db @param {Target} scratch @param {Point} p
 */
export async function checkExport(db, scratch, p) {
  const file = await db.exportFile(p.lsn);
  assert.equal(file.status, 200, `export as of ${p.lsn}: ${file.text}`);
  const want = userView(p.dump);
  if (file.bytes.length === 0) {
    assert.deepEqual(want, { schema: [], tables: {} }, `export as of ${p.lsn} is empty, but the point held a database`);
    return;
  }
  const imported = await scratch.post('/import', file.bytes);
  assert.equal(imported.status, 200, `import of the export as of ${p.lsn}: ${imported.text}`);
  assertSameDump(userView(await mustDump(scratch.post)), want, `export as of lsn ${p.lsn} (step ${p.step})`);
}

/** A branch of the point, made over RPC, dumps the recorded rows. @param {Target} db @param {Point} p @param {string} branchName */
export async function checkBranch(db, p, branchName) {
  await db.rpc('branch', [branchName, p.lsn]);
  assertSameDump(userView(await mustDump(db.other(branchName).post)), userView(p.dump), `branch of lsn ${p.lsn} (step ${p.step})`);
}

/**
 * The diff from `a` to `b`, applied to a's rows, gives b's (rows compared as the diff
 * compares them: by content, NULL columns left out); without `tables`, its `schema`
 * names exactly the entries whose SQL differs.
 * @param {Target} db @param {Point} a @param {Point} b @param {string[] | undefined} tables
 */
export async function checkDiff(db, a, b, tables) {
  const what = `diff ${a.lsn} -> ${b.lsn}${tables ? ` tables ${JSON.stringify(tables)}` : ''}`;
  const answer = await db.post('/diff', { from: a.lsn, to: b.lsn, limit: 100_000, ...(tables ? { tables } : {}) });
  assert.equal(answer.status, 200, `${what}: ${answer.text}`);
  assert.equal(answer.body.more, false, what);
  const only = tables && new Set(tables.map((t) => t.toLowerCase()));
  /** @type {Map<string, string[]>} table (lower case) -> its rows */
  const rows = new Map();
  const rowsOf = (/** @type {Dump} */ dump) => {
    /** @type {Map<string, string[]>} */
    const out = new Map();
    for (const [name, table] of Object.entries(userView(dump).tables)) {
      if (name === BALLAST) continue; // dumped by its rows' ends only: its changes are not compared
      if (!only || only.has(name.toLowerCase())) out.set(name.toLowerCase(), rowsAsDiffSees(table).sort());
    }
    return out;
  };
  for (const [name, list] of rowsOf(a.dump)) rows.set(name, [...list]);
  const take = (/** @type {string} */ table, /** @type {any} */ row) => {
    const list = rows.get(table) ?? [];
    const at = list.indexOf(canonical(row));
    assert.ok(at >= 0, `${what}: the diff takes a row ${table} did not have at ${a.lsn}: ${canonical(row).slice(0, 300)}`);
    list.splice(at, 1);
  };
  const add = (/** @type {string} */ table, /** @type {any} */ row) => {
    if (!rows.has(table)) rows.set(table, []);
    /** @type {string[]} */ (rows.get(table)).push(canonical(row));
  };
  for (const change of answer.body.changes) {
    const table = change.table.toLowerCase();
    assert.ok(!isInternal(table), `${what}: lists DoSQL's own table ${change.table}`);
    if (only) assert.ok(only.has(table), `${what}: lists ${change.table}, not asked for`);
    if (table === BALLAST) continue;
    if (change.type === 'insert') add(table, change.data);
    else if (change.type === 'delete') take(table, change.data);
    else {
      assert.equal(change.type, 'update', what);
      take(table, change.old);
      add(table, change.data);
    }
  }
  const want = rowsOf(b.dump);
  for (const name of new Set([...rows.keys(), ...want.keys()])) {
    assert.deepEqual((rows.get(name) ?? []).sort(), want.get(name) ?? [], `${what}: table ${name} after the diff`);
  }
  if (!tables) {
    const sqlOf = (/** @type {Dump} */ dump) => new Map(dump.schema.filter(([, name]) => !/^_dosql_/i.test(name)).map(([type, name, , sql]) => [`${type} ${name}`, sql]));
    const before = sqlOf(a.dump);
    const after = sqlOf(b.dump);
    const differ = [...new Set([...before.keys(), ...after.keys()])].filter((k) => (before.get(k) ?? null) !== (after.get(k) ?? null)).sort();
    const listed = answer.body.schema.map((/** @type {any} */ s) => `${s.type} ${s.name}`).sort();
    assert.deepEqual(listed, differ, `${what}: schema entries`);
  }
}

/**
 * A point older than history keeps: every door refuses it with 410 POINT_TOO_OLD.
 * @param {Target} db @param {Point} p @param {string} branchName
 */
export async function checkTooOld(db, p, branchName) {
  const read = await dumpAt(db.post, p.lsn);
  assert.ok('refused' in read, `lsn ${p.lsn} (step ${p.step}) is before the window, yet read`);
  assert.deepEqual([read.refused.status, read.refused.code], [410, 'POINT_TOO_OLD'], read.refused.text);
  const file = await db.exportFile(p.lsn);
  assert.equal(file.status, 410, `export as of ${p.lsn}: ${file.text}`);
  const diff = await db.post('/diff', { from: p.lsn });
  assert.deepEqual([diff.status, diff.body?.code], [410, 'POINT_TOO_OLD'], diff.text);
  // Over RPC a failure arrives as Error("[CODE status] message") (docs/errors.md).
  const branched = await db.rpc('branch', [branchName, p.lsn]).then((value) => ({ value }), (/** @type {any} */ e) => ({ message: e.message }));
  assert.match(branched.message ?? '', /\[POINT_TOO_OLD 410\]/, `branch of ${p.lsn} (step ${p.step}), before the window: ${JSON.stringify(branched)}`);
}
