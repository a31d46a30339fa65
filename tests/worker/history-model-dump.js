// history-model-dump.js — a logical dump of a DoSQL database, now or as of a point,
// for tests/worker/history-model.test.js: every entry of sqlite_master with its SQL,
// and every table's rows ordered by rowid, each value with its SQLite type (JSON
// alone cannot tell the REAL 2.0 from the INTEGER 2).
//
// Two views of one dump: `full` keeps DoSQL's own tables (`_dosql_*`): a read as of a
// point reads the file the commit left, so those match too. `user` leaves them out,
// with SQLite's own (`sqlite_*`): an import or a branch is a new database whose
// change log and migrations are its own, a restore keeps counting event numbers
// (docs/history.md), and a diff leaves them out (docs/history.md, Diff).

/**
 * @typedef {{schema: [string, string, string, string | null][], tables: Record<string, {columns: string[], rows: unknown[][]}>}} Dump
 * @typedef {(path: string, body: unknown) => Promise<{status: number, body: any, text: string}>} Post
 */

/**
 * The cold run's ballast: megabytes of rows that push pages to R2. Dumping them whole
 * after every step would take most of the run, so each row is dumped as its type,
 * length and both ends, which the workload writes with the row's version
 * (history-model-workload.js, ballastWrite): a page of the wrong version still shows.
 */
export const BALLAST = 'ballast';

/** DoSQL's tables and SQLite's: left out of the `user` view. @param {string} name */
export const isInternal = (name) => /^(_dosql_|sqlite_)/i.test(name);

/** @param {string} name */
const quote = (name) => `"${name.replaceAll('"', '""')}"`;

/**
 * The dump of the database behind `post`, as of `asOf` (the present when undefined).
 * Answers the failed answer itself when the point is refused.
 * @param {Post} post
 * @param {unknown} [asOf]
 * @returns {Promise<{dump: Dump} | {refused: {status: number, code: string, text: string}}>}
 */
export async function dumpAt(post, asOf) {
  const point = asOf === undefined ? {} : { asOf };
  const master = await post('/batch', {
    ...point,
    rowMode: 'array',
    operations: [
      {
        sql: `SELECT m.type, m.name, m.tbl_name, m.sql,
                CASE m.type WHEN 'table' THEN (SELECT json_group_array(p.name) FROM pragma_table_info(m.name) AS p) END AS cols
              FROM sqlite_master AS m ORDER BY m.type, m.name`,
      },
    ],
  });
  if (master.status !== 200) return { refused: { status: master.status, code: master.body?.code, text: master.text } };
  /** @type {Dump} */
  const dump = { schema: [], tables: {} };
  /** @type {{name: string, columns: string[]}[]} */
  const tables = [];
  for (const [type, name, tblName, sql, cols] of master.body.results[0].rows) {
    dump.schema.push([type, name, tblName, sql]);
    // Virtual tables and SQLite's own are not read row by row (the workload makes neither).
    if (type === 'table' && !/^sqlite_/i.test(name) && !/^CREATE VIRTUAL/i.test(sql ?? '')) tables.push({ name, columns: JSON.parse(cols) });
  }
  if (tables.length === 0) return { dump };
  const rows = await post('/batch', {
    ...point,
    rowMode: 'array',
    operations: tables.map(({ name, columns }) => {
      const value = (/** @type {string} */ c) => (name === BALLAST ? `length(${quote(c)}) || ':' || substr(${quote(c)}, 1, 24) || substr(${quote(c)}, -24)` : quote(c));
      return { sql: `SELECT _rowid_${columns.map((c) => `, typeof(${quote(c)}), ${value(c)}`).join('')} FROM ${quote(name)} ORDER BY _rowid_` };
    }),
  });
  if (rows.status !== 200) return { refused: { status: rows.status, code: rows.body?.code, text: rows.text } };
  tables.forEach(({ name, columns }, i) => {
    dump.tables[name] = { columns, rows: rows.body.results[i].rows };
  });
  return { dump };
}

/** The dump, which must not be refused. @param {Post} post @param {unknown} [asOf] @returns {Promise<Dump>} */
export async function mustDump(post, asOf) {
  const answer = await dumpAt(post, asOf);
  if ('refused' in answer) throw new Error(`dump as of ${JSON.stringify(asOf)} refused: ${answer.refused.text}`);
  return answer.dump;
}

/** The dump without DoSQL's and SQLite's own tables. @param {Dump} dump @returns {Dump} */
export function userView(dump) {
  return {
    schema: dump.schema.filter(([, name, tblName]) => !isInternal(name) && !isInternal(tblName)),
    tables: Object.fromEntries(Object.entries(dump.tables).filter(([name]) => !isInternal(name))),
  };
}

/**
 * A table's rows as a diff lists them: objects of column → value, keyed by content.
 * A NULL column is left out: the diff counts a column only one point has as unchanged
 * when it is NULL (docs/history.md), so `{a: 1}` and `{a: 1, b: null}` are one row.
 * @param {{columns: string[], rows: unknown[][]}} table
 * @returns {string[]} each row's canonical JSON
 */
export function rowsAsDiffSees(table) {
  return table.rows.map((row) => {
    /** @type {Record<string, unknown>} */
    const object = {};
    table.columns.forEach((c, i) => {
      const value = row[2 + 2 * i];
      if (value !== null) object[c] = value;
    });
    return canonical(object);
  });
}

/** JSON with keys sorted, so two rows of one content compare equal. @param {Record<string, unknown>} row */
export function canonical(row) {
  return JSON.stringify(Object.keys(row).sort().map((k) => [k, row[k]]).filter(([, v]) => v !== null));
}

/**
 * The first difference between two dumps, or null when they are the same.
 * @param {Dump} got @param {Dump} want
 */
export function firstDifference(got, want) {
  const a = JSON.stringify(got.schema);
  const b = JSON.stringify(want.schema);
  if (a !== b) return `schema:\n  got  ${a}\n  want ${b}`;
  for (const name of new Set([...Object.keys(got.tables), ...Object.keys(want.tables)])) {
    const x = got.tables[name];
    const y = want.tables[name];
    if (!x || !y) return `table ${name}: ${x ? 'unexpected' : 'missing'}`;
    if (JSON.stringify(x.columns) !== JSON.stringify(y.columns)) return `table ${name} columns: got ${x.columns}, want ${y.columns}`;
    const n = Math.max(x.rows.length, y.rows.length);
    for (let i = 0; i < n; i++) {
      const r = JSON.stringify(x.rows[i]);
      const s = JSON.stringify(y.rows[i]);
      if (r !== s) return `table ${name} (${x.rows.length} rows, want ${y.rows.length}) row ${i}:\n  got  ${r?.slice(0, 300)}\n  want ${s?.slice(0, 300)}`;
    }
  }
  return null;
}
