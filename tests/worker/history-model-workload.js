// history-model-workload.js — the statements of tests/worker/history-model.test.js's
// seeded random workload: writes of one row and of many, rows large enough to span
// overflow pages, values of every SQLite type, and schema changes, chosen from the
// database's present schema (a dump, history-model-dump.js) so that most succeed.
// Everything follows from the PRNG: the same seed writes the same statements.

import { isInternal, BALLAST } from './history-model-dump.js';

/** @typedef {{sql: string, params?: unknown[]}} Statement */

/** @param {() => number} rnd @param {number} n */
export const below = (rnd, n) => Math.floor(rnd() * n);
/** @template T @param {() => number} rnd @param {T[]} list @returns {T} */
export const pick = (rnd, list) => list[below(rnd, list.length)];

/** Base64 of `n` bytes drawn from the PRNG. @param {() => number} rnd @param {number} n */
function bytes(rnd, n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = below(rnd, 256);
  return Buffer.from(b).toString('base64');
}

/**
 * A parameter of a random type, tagged as the protocol reads it (docs/protocol.md,
 * Values); now and then large enough to overflow a page.
 * @param {() => number} rnd
 */
export function randomValue(rnd) {
  const large = rnd() < 0.04;
  switch (below(rnd, 8)) {
    case 0:
      return null;
    case 1:
      return below(rnd, 2001) - 1000;
    case 2:
      return { $bigint: String(BigInt(below(rnd, 2 ** 30)) * 8589934592n + BigInt(below(rnd, 2 ** 30))) };
    case 3:
      return (below(rnd, 2_000_000) - 1_000_000) / 64 + 0.5;
    case 4:
      return pick(rnd, [{ $real: '-0' }, { $real: 'Infinity' }, 1e300 + 0.5, 5e-324]);
    case 5:
      return large ? 'ü€'.repeat(1200 + below(rnd, 1500)) : `text ${below(rnd, 1000)} ✓`;
    case 6:
      return { $blob: bytes(rnd, large ? 4500 + below(rnd, 9000) : below(rnd, 40)) };
    default:
      return large ? 'x'.repeat(4500 + below(rnd, 9000)) : '';
  }
}

/** @param {string} name */
const quote = (name) => `"${name.replaceAll('"', '""')}"`;

/**
 * The user tables of a dump with their columns.
 * @param {import('./history-model-dump.js').Dump} dump
 */
export function userTables(dump) {
  return Object.entries(dump.tables)
    .filter(([name]) => !isInternal(name) && name !== BALLAST)
    .map(([name, { columns, rows }]) => ({ name, columns, rows: rows.length, maxRowid: rows.length ? Number(rows[rows.length - 1][0]) : 0 }));
}

/**
 * One write of the workload, as the statements to run in one commit.
 * @param {() => number} rnd
 * @param {import('./history-model-dump.js').Dump} dump  the database now
 * @param {{next: number}} names  a counter for new table, index and column names
 * @returns {Statement[]}
 */
export function randomWrite(rnd, dump, names) {
  const tables = userTables(dump);
  if (tables.length === 0 || (tables.length < 5 && rnd() < 0.05)) return [createTable(rnd, names)];
  const t = pick(rnd, tables);
  const roll = rnd();
  if (roll < 0.3) return [insert(rnd, t, 1)];
  if (roll < 0.45) return [insert(rnd, t, 2 + below(rnd, 12))];
  if (roll < 0.62) return [update(rnd, t)];
  if (roll < 0.72) return [remove(rnd, t)];
  if (roll < 0.76) return [{ sql: `CREATE INDEX i${names.next++} ON ${quote(t.name)} (${quote(pick(rnd, t.columns))})` }];
  if (roll < 0.81) {
    const withDefault = rnd() < 0.5 ? ` DEFAULT ${pick(rnd, ["'d'", '7', '2.5', 'NULL', "x'0102'"])}` : '';
    return [{ sql: `ALTER TABLE ${quote(t.name)} ADD COLUMN a${names.next++}${withDefault}` }];
  }
  if (roll < 0.85) {
    const column = pick(rnd, t.columns.filter((c) => c !== 'id'));
    if (column) return [{ sql: `ALTER TABLE ${quote(t.name)} RENAME COLUMN ${quote(column)} TO r${names.next++}` }];
  }
  if (roll < 0.88 && tables.length > 1) return [{ sql: `DROP TABLE ${quote(t.name)}` }];
  if (roll < 0.9) return [{ sql: `ALTER TABLE ${quote(t.name)} RENAME TO n${names.next++}` }];
  // Several statements in one commit: an insert, then an update of what is there.
  return [insert(rnd, t, 1), update(rnd, t)];
}

/**
 * A table of random columns, with or without an INTEGER PRIMARY KEY.
 * @param {() => number} rnd @param {{next: number}} names @returns {Statement}
 */
export function createTable(rnd, names) {
  const id = rnd() < 0.6 ? ['id INTEGER PRIMARY KEY'] : [];
  const columns = ['c TEXT', 'r REAL', 'n NUMERIC', 'b BLOB', 'i INTEGER', 'v'].filter(() => rnd() < 0.6);
  if (columns.length === 0) columns.push('v');
  return { sql: `CREATE TABLE t${names.next++} (${[...id, ...columns].join(', ')})` };
}

/** @param {() => number} rnd @param {{name: string, columns: string[]}} t @param {number} n @returns {Statement} */
function insert(rnd, t, n) {
  const columns = t.columns.filter((c) => c !== 'id');
  if (columns.length === 0) return { sql: `INSERT INTO ${quote(t.name)} DEFAULT VALUES` };
  const row = `(${columns.map(() => '?').join(', ')})`;
  const params = [];
  for (let i = 0; i < n * columns.length; i++) params.push(randomValue(rnd));
  return { sql: `INSERT INTO ${quote(t.name)} (${columns.map(quote).join(', ')}) VALUES ${Array(n).fill(row).join(', ')}`, params };
}

/** Rows of one rowid residue, or one row: a column set to a random value. @param {() => number} rnd @param {{name: string, columns: string[], maxRowid: number}} t @returns {Statement} */
function update(rnd, t) {
  const column = pick(rnd, t.columns.filter((c) => c !== 'id')) ?? t.columns[0];
  const where = rnd() < 0.5 ? `_rowid_ = ${1 + below(rnd, Math.max(1, t.maxRowid))}` : `_rowid_ % ${2 + below(rnd, 5)} = ${below(rnd, 2)}`;
  return { sql: `UPDATE ${quote(t.name)} SET ${quote(column)} = ? WHERE ${where}`, params: [randomValue(rnd)] };
}

/** @param {() => number} rnd @param {{name: string, maxRowid: number}} t @returns {Statement} */
function remove(rnd, t) {
  const where = rnd() < 0.6 ? `_rowid_ = ${1 + below(rnd, Math.max(1, t.maxRowid))}` : `_rowid_ % ${3 + below(rnd, 5)} = 0`;
  return { sql: `DELETE FROM ${quote(t.name)} WHERE ${where}` };
}

/** The ballast's rows: `size` characters, the row's id and version at both ends. */
const BALLAST_ROW = (/** @type {string} */ id, /** @type {string} */ version) =>
  `printf('%08d.%06d', ${id}, ${version}) || replace(hex(zeroblob(480)), '00', char(65 + (${id} + ${version}) % 26)) || printf('%08d.%06d', ${id}, ${version})`;

/**
 * The cold run's ballast table, `rows` rows of about 1 KB (a row to a quarter page):
 * it makes the database megabytes, most of it in R2 under a 1 MiB hot budget.
 * @param {number} rows @returns {Statement[]}
 */
export function createBallast(rows) {
  return [
    { sql: `CREATE TABLE ${BALLAST} (id INTEGER PRIMARY KEY, v TEXT)` },
    { sql: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) INSERT INTO ${BALLAST} (id, v) SELECT i, ${BALLAST_ROW('i', '0')} FROM n` },
  ];
}

/**
 * A write to the ballast: a new version of a run of rows, scattered rows, or some
 * deleted, so that commits touch pages that R2 holds.
 * @param {() => number} rnd @param {number} rows @param {number} version @returns {Statement}
 */
export function ballastWrite(rnd, rows, version) {
  const from = 1 + below(rnd, rows);
  const roll = rnd();
  if (roll < 0.5) return { sql: `UPDATE ${BALLAST} SET v = ${BALLAST_ROW('id', String(version))} WHERE id BETWEEN ${from} AND ${from + below(rnd, 60)}` };
  if (roll < 0.85) return { sql: `UPDATE ${BALLAST} SET v = ${BALLAST_ROW('id', String(version))} WHERE id % ${50 + below(rnd, 100)} = ${below(rnd, 50)}` };
  return { sql: `DELETE FROM ${BALLAST} WHERE id BETWEEN ${from} AND ${from + below(rnd, 20)}` };
}
