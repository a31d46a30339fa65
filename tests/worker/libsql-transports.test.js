// libsql-transports.test.js — one seeded random workload over every way a libSQL client
// reaches DoSQL, and every answer compared, value for value: @libsql/client over HTTP
// (the engine answers the pipeline itself), @libsql/client over WebSocket (the standalone
// worker's relay, hrana-socket.js, parses each message and re-sends it as a pipeline), and
// a raw Hrana client writing its JSON by hand, over WebSocket and over HTTP.
//
// Why: the relay re-writes JSON in JavaScript, where −0, ±Infinity and numbers past a
// double are easy to lose (JSON.stringify writes 0 and null), and the two transports then
// disagree with no test about either of them failing (exact-json.js fixed one such loss).
// Nothing here says what an answer must be: only that the transports agree. The raw
// client writes what JavaScript clients never do (-0.0, -0e0, 1E+999, numbers of 400
// digits, escaped text, keys out of order), so the relay's parse-and-rewrite meets every
// form JSON allows; the clients bind what they cannot carry (−0, ±Infinity) as SQL literals
// of the same value, so every transport stores the same thing.
//
// Compared: @libsql/client over HTTP against the same over WebSocket, and against the raw
// WebSocket (values as the client sees them: integer and text are both strings there, so
// the workload selects typeof() beside its values); the raw WebSocket against the raw HTTP
// with the very same request text (every value with its type). Steps: CREATE TABLE with
// declared types and untyped columns, INSERT/UPDATE/DELETE (RETURNING too) with arguments
// of every Hrana type, positional and named, SELECTs of values and expressions, the
// client's batch() in every mode, batches with conditions, sequence (executeMultiple),
// describe, interactive transactions, and errors (constraints, syntax, parameters).
//
// The suite runs seed 1, so that its result is the code's, not the draw's;
// LIBSQL_TRANSPORTS_SEED=<n> runs another, =random draws one (a failure prints its seed,
// the step and every transport's answer). SQLite-backed storage only: the relay is the
// same for every backend.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createClient as createHttpClient } from '@libsql/client/http';
import { createClient as createWsClient } from '@libsql/client/ws';
import * as hrana from '@libsql/hrana-client';
import { startStandalone, tenant, TMP, seededRandom } from './harness.js';
import { openHranaSocket } from './hrana-socket-client.js';
import { below, pick } from './history-model-workload.js';

const TOKEN = 'libsql-transports-token';
const SEED = process.env.LIBSQL_TRANSPORTS_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.LIBSQL_TRANSPORTS_SEED ?? 1);
const STEPS = 500;

/**
 * @typedef {{type: 'null'} | {type: 'integer', value: bigint} | {type: 'float', value: number}
 *   | {type: 'text', value: string} | {type: 'blob', value: Uint8Array}} Value
 * @typedef {Value & {wire: string}} Arg  a value, and the JSON the raw client writes for it
 * @typedef {{sql: string, args: Arg[], named: null | {prefix: string, written: boolean}}} Stmt
 *   sql holds a marker per use of args[i] (MARK); named: parameters :p0, @p0 or $p0, each
 *   argument named with its prefix (written) or without
 * @typedef {null | {type: 'ok' | 'error', step: number} | {type: 'not', cond: Cond}
 *   | {type: 'and' | 'or', conds: Cond[]} | {type: 'is_autocommit'}} Cond
 * @typedef {{kind: 'execute', stmt: Stmt} | {kind: 'batch', mode: 'write' | 'deferred' | 'read', stmts: Stmt[]}
 *   | {kind: 'conditional', steps: {stmt: Stmt, cond: Cond}[]} | {kind: 'sequence', sql: string}
 *   | {kind: 'describe', sql: string} | {kind: 'transaction', stmts: Stmt[], end: 'commit' | 'rollback'}} Step
 * @typedef {null | {integer: string} | {text: string} | {str: string} | {float: string} | {blob: string}} Cell
 *   a value as compared: floats as exact text ('-0', 'Infinity'); {str} where integer and text look alike
 */

/** Where argument i goes in a statement's SQL. @param {number} i */
const MARK = (i) => `\u0001${i}\u0001`;
const MARKS = /\u0001(\d+)\u0001/g;

// ---- values ------------------------------------------------------------------------------

const INTEGERS = [0n, 1n, -1n, 42n, 2n ** 31n, -(2n ** 31n), 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), -(2n ** 63n) + 1n];
const FLOATS = [-0, 0, Infinity, -Infinity, 0.1, 0.3, 1 / 3, -2.5, 2, 1e21, 2 ** 53 + 2, 1e300, -1e-300, 5e-324, -5e-324,
  2.2250738585072014e-308, 2.225073858507201e-308, 1.7976931348623157e308, -1.7976931348623157e308, 123456.789, 1e-7];
const TEXTS = ['', 'a', 'héllo', '😀👍🏽', '日本語', '\u2028\u2029', '\u0001\u001f\u007f\t\n\r\b\f', '"value":-0}', '{"type":"float","value":1e999}',
  '-0', '1e999', '-0.0', 'null', '\\"', 'a/b', "it's", ' 12 ', '9223372036854775808'];
const TEXT_CHARS = ['a', 'Z', '0', ' ', 'é', 'ß', '€', '😀', '\u0007', '\n', '"', '\\', '/', '{', '}', ':', '-', "'", '\u00a0', '\ufeff'];

/**
 * Number texts JSON reads as v (checked against JSON.parse): for −0 and ±Infinity the forms
 * other languages write, underflow and overflow included.
 * @param {number} v
 */
function floatForms(v) {
  const huge = `1${'0'.repeat(400)}`;
  const forms = Object.is(v, -0) ? ['-0', '-0.0', '-0e0', '-0.000E+5', '-0E-7', '-1e-400', '-2e-324']
    : v === 0 ? ['0', '0.0', '0e0', '0E+999', '1e-400']
    : v === Infinity ? ['1e999', '1E+999', '2e308', '1.8e308', huge, `1${'0'.repeat(250)}e99`]
    : v === -Infinity ? ['-1e999', '-1E+999', '-2e308', `-${huge}`, `-1${'0'.repeat(250)}e99`]
    : [String(v), v.toExponential(), v.toExponential().toUpperCase(), v.toPrecision(17), v.toPrecision(40)];
  return forms.filter((f) => Object.is(JSON.parse(f), v));
}

/** A JSON string of s written by hand: some characters escaped as \uXXXX, / as \/ now and then. @param {() => number} rnd @param {string} s */
function textWire(rnd, s) {
  /** @type {Record<string, string>} */
  const short = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
  let out = '"';
  for (const ch of s) {
    const units = [...Array(ch.length).keys()].map((i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0').toUpperCase()}`).join('');
    if (short[ch] && rnd() < 0.7) out += short[ch];
    else if (ch === '"' || ch === '\\' || ch < ' ' || rnd() < 0.15) out += rnd() < 0.5 ? units : units.toLowerCase();
    else if (ch === '/' && rnd() < 0.5) out += '\\/';
    else out += ch;
  }
  return `${out}"`;
}

/** A JSON object of the members in a random order, with random whitespace. @param {() => number} rnd @param {[string, string][]} members */
function objectWire(rnd, members) {
  const ws = () => pick(rnd, ['', '', ' ', '\n', '\t ']);
  const ordered = rnd() < 0.3 ? [...members].reverse() : members;
  return `{${ws()}${ordered.map(([k, v]) => `"${k}"${ws()}:${ws()}${v}`).join(`${ws()},${ws()}`)}${ws()}}`;
}

/** @param {() => number} rnd @returns {Value} */
function randomValue(rnd) {
  switch (below(rnd, 6)) {
    case 0:
      return { type: 'null' };
    case 1: {
      const value = rnd() < 0.6 ? pick(rnd, INTEGERS) : BigInt.asIntN(64, (BigInt(below(rnd, 2 ** 32)) << 32n) | BigInt(below(rnd, 2 ** 32)));
      return { type: 'integer', value: rnd() < 0.3 ? BigInt(below(rnd, 20)) : value };
    }
    case 2: {
      if (rnd() < 0.7) return { type: 'float', value: pick(rnd, FLOATS) };
      const bits = new Uint32Array([below(rnd, 2 ** 32), below(rnd, 2 ** 32)]);
      const value = new Float64Array(bits.buffer)[0];
      return { type: 'float', value: Number.isNaN(value) ? 0.5 : value };
    }
    case 3: {
      if (rnd() < 0.6) return { type: 'text', value: pick(rnd, TEXTS) };
      return { type: 'text', value: Array.from({ length: 1 + below(rnd, rnd() < 0.1 ? 60 : 12) }, () => pick(rnd, TEXT_CHARS)).join('') };
    }
    case 4:
      return { type: 'blob', value: Uint8Array.from({ length: pick(rnd, [0, 0, 1, 3, 8, 17]) }, () => below(rnd, 256)) };
    default:
      return { type: 'float', value: pick(rnd, [-0, -0, Infinity, -Infinity, 0.1]) };
  }
}

/** @param {() => number} rnd @param {Value} v @returns {Arg} */
function withWire(rnd, v) {
  /** @type {string} */
  let value;
  if (v.type === 'null') return { ...v, wire: rnd() < 0.8 ? '{"type":"null"}' : objectWire(rnd, [['type', '"null"'], ['value', 'null']]) };
  if (v.type === 'blob') return { ...v, wire: objectWire(rnd, [['type', '"blob"'], ['base64', `"${Buffer.from(v.value).toString('base64')}"`]]) };
  if (v.type === 'integer') {
    const safe = v.value >= -(2n ** 53n) + 1n && v.value <= 2n ** 53n - 1n;
    value = safe && rnd() < 0.3 ? pick(rnd, [String(v.value), `${v.value}.0`, v.value === 0n ? '-0' : `${v.value}e0`]) : `"${v.value}"`;
  } else if (v.type === 'float') {
    value = pick(rnd, floatForms(v.value));
  } else {
    value = textWire(rnd, v.value);
  }
  return { ...v, wire: objectWire(rnd, [['type', `"${v.type}"`], ['value', value]]) };
}

/** What the JavaScript clients cannot bind (they write −0 as 0 and refuse ±Infinity), as SQL of the same value. @param {Value} v */
function literalOnly(v) {
  if (v.type !== 'float') return null;
  if (Object.is(v.value, -0)) return '(-0.0)';
  if (!Number.isFinite(v.value)) return v.value > 0 ? '(1e999)' : '(-1e999)';
  return null;
}

/** A value as SQL text, for a sequence (which binds nothing). @param {Value} v */
function sqlLiteral(v) {
  if (v.type === 'null') return 'NULL';
  if (v.type === 'integer') return String(v.value);
  if (v.type === 'float') return literalOnly(v) ?? (Number.isInteger(v.value) ? v.value.toFixed(1) : String(v.value));
  if (v.type === 'text') return `'${v.value.replaceAll("'", "''")}'`;
  return `x'${Buffer.from(v.value).toString('hex')}'`;
}

// ---- the workload ------------------------------------------------------------------------

const DECLARED = ['INTEGER', 'REAL', 'TEXT', 'BLOB', 'NUMERIC', '', '', 'FLOAT', 'VARCHAR(8)', 'BOOLEAN', 'DOUBLE PRECISION'];
const CONSTRAINTS = ['', '', '', ' UNIQUE', ' NOT NULL DEFAULT 0', ' CHECK (length(c) < 40)'];
const EXPRESSIONS = ['-0.0', '0.0', '1e999', '-1e999', '-(0.0)', '0.1 + 0.2', '1 / 3.0', '9223372036854775807', '-9223372036854775808',
  '9223372036854775807 + 1', '2.0', '5e-324', '2.2250738585072014e-308', '1.7976931348623157e308', "CAST('-0' AS REAL)", "CAST('1e999' AS REAL)",
  '-0.0 * 1', 'round(-0.4)', 'abs(-0.0)', "x''", 'zeroblob(3)', "'\"value\":-0}'", "'{\"value\":1e999}'", 'char(1, 31, 127, 8232)', "'😀'", 'NULL',
  'hex(-0.0)', 'quote(1e999)', 'json_quote(-0.0)', "json('{\"a\":-0}')", "json_extract('{\"a\":-0.0}', '$.a')", "json_extract('[1e999]', '$[0]')",
  'min(-0.0, 0.0)', '1e308 * 10', '1e999 - 1e999', '9007199254740993', '9007199254740993.0', '1e-400', '-1e-400', "printf('%!.20g', 0.1)"];
const SYNTAX_ERRORS = ['SELEC 1', 'SELECT * FROM', 'SELECT (1', 'INSERT INTO t0 VALUES (', "SELECT 'a' 'b'"];

/**
 * The steps of a seed's workload, generated up front from a model of the schema (tables
 * and their columns, and about how many rows): most steps succeed, some fail by design.
 * @param {number} seed @param {number} steps @returns {Step[]}
 */
function makeWorkload(seed, steps) {
  const rnd = seededRandom(seed);
  /** @type {{name: string, columns: string[], rows: number}[]} */
  const tables = [];

  /** A statement builder: arg(v) places a value, done(sql) ends it. @param {boolean} [named] */
  const builder = (named = rnd() < 0.4) => {
    /** @type {Arg[]} */
    const args = [];
    return {
      /** @param {Value} [v] */
      arg: (v = randomValue(rnd)) => {
        args.push(withWire(rnd, v));
        return MARK(args.length - 1);
      },
      /** @param {string} sql @returns {Stmt} */
      done: (sql) => {
        if (named) return { sql, args, named: { prefix: pick(rnd, [':', '@', '$']), written: rnd() < 0.5 } };
        // Positional: the arguments in the order of their parameters, then any without one.
        const order = [...sql.matchAll(MARKS)].map((m) => Number(m[1]));
        let k = 0;
        return { sql: sql.replace(MARKS, () => MARK(k++)), args: [...order.map((i) => args[i]), ...args.filter((_, i) => !order.includes(i))], named: null };
      },
    };
  };

  const createTable = () => {
    const name = `t${tables.length}`;
    const columns = Array.from({ length: 2 + below(rnd, 4) }, (_, i) => `c${i}`);
    tables.push({ name, columns, rows: 0 });
    const defs = columns.map((c) => `${c} ${pick(rnd, DECLARED)}${pick(rnd, CONSTRAINTS).replace('(c)', `(${c})`)}`.replace(/ +/g, ' '));
    return { kind: 'execute', stmt: builder(false).done(`CREATE TABLE ${name} (id INTEGER PRIMARY KEY, ${defs.join(', ')})`) };
  };
  const someTable = () => pick(rnd, tables);
  /** Some of a table's columns, in order. @param {{columns: string[]}} t */
  const someColumns = (t) => {
    const chosen = t.columns.filter(() => rnd() < 0.6);
    return chosen.length ? chosen : [t.columns[0]];
  };
  const returning = (/** @type {string[]} */ columns) => (rnd() < 0.3 ? ` RETURNING id, ${columns.map((c) => `${c}, typeof(${c}) AS ty_${c}`).join(', ')}` : '');

  /** @returns {Stmt} */
  const insert = () => {
    const t = someTable();
    const b = builder();
    const columns = someColumns(t);
    const n = 1 + below(rnd, 3);
    const rows = Array.from({ length: n }, () => `(${columns.map(() => b.arg()).join(', ')})`);
    t.rows += n;
    const verb = pick(rnd, ['INSERT', 'INSERT', 'INSERT OR REPLACE', 'INSERT OR IGNORE']);
    return b.done(`${verb} INTO ${t.name} (${columns.join(', ')}) VALUES ${rows.join(', ')}${returning(columns)}`);
  };
  /** @returns {Stmt} */
  const update = () => {
    const t = someTable();
    const b = builder();
    const column = pick(rnd, t.columns);
    const where = rnd() < 0.5 ? `id = ${b.arg({ type: 'integer', value: BigInt(1 + below(rnd, t.rows + 2)) })}` : `id % ${2 + below(rnd, 3)} = ${below(rnd, 2)}`;
    return b.done(`UPDATE ${t.name} SET ${column} = ${b.arg()} WHERE ${where}${returning([column])}`);
  };
  /** @returns {Stmt} */
  const remove = () => {
    const t = someTable();
    const b = builder();
    return b.done(`DELETE FROM ${t.name} WHERE id = ${b.arg({ type: 'integer', value: BigInt(1 + below(rnd, t.rows + 2)) })}`);
  };
  /** @returns {Stmt} */
  const selectTable = () => {
    const t = someTable();
    const columns = t.columns.map((c) => `${c}, typeof(${c}) AS ty_${c}, hex(${c}) AS hex_${c}`);
    const filter = rnd() < 0.5 ? '' : ` WHERE id % 3 = ${below(rnd, 3)}`;
    return builder(false).done(`SELECT id, ${columns.join(', ')} FROM ${t.name}${filter} ORDER BY id DESC LIMIT 40`);
  };
  /** Values as given back: each argument, its type and its SQL text. @returns {Stmt} */
  const selectValues = () => {
    const b = builder(true);
    const columns = Array.from({ length: 1 + below(rnd, 3) }, (_, i) => {
      const m = b.arg();
      return `${m} AS v${i}, typeof(${m}) AS ty${i}, quote(${m}) AS q${i}, ${m} = 0 AS z${i}`;
    });
    return b.done(`SELECT ${columns.join(', ')}`);
  };
  /** @returns {Stmt} */
  const selectExpressions = () => {
    const chosen = Array.from({ length: 1 + below(rnd, 4) }, () => pick(rnd, EXPRESSIONS));
    return builder(false).done(`SELECT ${chosen.map((e, i) => `${e} AS e${i}, typeof(${e}) AS te${i}`).join(', ')}`);
  };
  /** A statement that fails, sent with values a client can bind. @returns {Stmt} */
  const failing = () => {
    const t = someTable();
    /** @returns {Value} */
    const plain = () => {
      const v = randomValue(rnd);
      return literalOnly(v) ? { type: 'integer', value: 7n } : v;
    };
    switch (below(rnd, 7)) {
      case 0:
        return builder(false).done(pick(rnd, SYNTAX_ERRORS));
      case 1:
        return builder(false).done(pick(rnd, ['SELECT * FROM nope', `SELECT zz FROM ${t.name}`, 'SELECT abs(-9223372036854775808)', "SELECT json('{')"]));
      case 2: {
        const b = builder(false);
        return b.done(`INSERT INTO ${t.name} (id) VALUES (${b.arg({ type: 'integer', value: BigInt(1 + below(rnd, Math.max(1, t.rows))) })})`);
      }
      case 3: {
        const b = builder(false);
        const sql = `SELECT ${b.arg(plain())}, ?`;
        return b.done(sql); // one parameter without a value
      }
      case 4: {
        const b = builder(false);
        const sql = `SELECT ${b.arg(plain())}`;
        b.arg(plain()); // an argument with no parameter
        return b.done(sql);
      }
      case 5:
        return builder(false).done('SELECT 1; SELECT 2');
      default:
        return insert(); // fails by its constraints, or not
    }
  };
  /** @returns {Stmt} */
  const anyStatement = () => pick(rnd, [insert, insert, update, remove, selectTable, selectValues, selectExpressions, failing])();

  /** A condition on the steps before step i. @param {number} i @returns {Cond} */
  const condition = (i) => {
    const earlier = () => below(rnd, i);
    /** @returns {Cond} */
    const leaf = () => (rnd() < 0.5 ? { type: 'ok', step: earlier() } : rnd() < 0.5 ? { type: 'error', step: earlier() } : { type: 'is_autocommit' });
    const roll = rnd();
    if (i === 0 || roll < 0.25) return null;
    if (roll < 0.6) return leaf();
    if (roll < 0.75) return { type: 'not', cond: leaf() };
    return { type: rnd() < 0.5 ? 'and' : 'or', conds: Array.from({ length: below(rnd, 3) }, leaf) };
  };
  /** @returns {Step} */
  const conditional = () => {
    const inTransaction = rnd() < 0.4;
    /** @type {{stmt: Stmt, cond: Cond}[]} */
    const steps = inTransaction ? [{ stmt: builder(false).done('BEGIN'), cond: null }] : [];
    for (let n = 2 + below(rnd, 4); n > 0; n--) steps.push({ stmt: anyStatement(), cond: condition(steps.length) });
    if (inTransaction) {
      steps.push({ stmt: builder(false).done('COMMIT'), cond: condition(steps.length) });
      steps.push({ stmt: builder(false).done('ROLLBACK'), cond: { type: 'not', cond: { type: 'is_autocommit' } } });
    }
    return { kind: 'conditional', steps };
  };
  /** @returns {Step} */
  const sequence = () => {
    const statements = Array.from({ length: 2 + below(rnd, 3) }, () => {
      const t = someTable();
      const roll = rnd();
      if (roll < 0.1) return pick(rnd, SYNTAX_ERRORS);
      if (roll < 0.6) {
        t.rows++;
        return `INSERT INTO ${t.name} (${t.columns[0]}) VALUES (${sqlLiteral(randomValue(rnd))})`;
      }
      return `UPDATE ${t.name} SET ${pick(rnd, t.columns)} = ${sqlLiteral(randomValue(rnd))} WHERE id % 4 = ${below(rnd, 4)}`;
    });
    return { kind: 'sequence', sql: statements.join(rnd() < 0.5 ? '; ' : ';\n-- a comment\n') };
  };

  /** @type {Step[]} */
  const workload = [];
  for (let i = 0; i < steps; i++) {
    if (tables.length < 2 || (tables.length < 4 && rnd() < 0.03)) {
      workload.push(/** @type {Step} */ (createTable()));
      continue;
    }
    const roll = rnd();
    if (roll < 0.22) workload.push({ kind: 'execute', stmt: insert() });
    else if (roll < 0.3) workload.push({ kind: 'execute', stmt: update() });
    else if (roll < 0.34) workload.push({ kind: 'execute', stmt: remove() });
    else if (roll < 0.44) workload.push({ kind: 'execute', stmt: selectTable() });
    else if (roll < 0.56) workload.push({ kind: 'execute', stmt: selectValues() });
    else if (roll < 0.63) workload.push({ kind: 'execute', stmt: selectExpressions() });
    else if (roll < 0.7) workload.push({ kind: 'execute', stmt: failing() });
    else if (roll < 0.78) workload.push({ kind: 'batch', mode: pick(rnd, /** @type {const} */ (['write', 'deferred', 'read'])), stmts: Array.from({ length: 2 + below(rnd, 3) }, anyStatement) });
    else if (roll < 0.85) workload.push(conditional());
    else if (roll < 0.89) workload.push(sequence());
    else if (roll < 0.94) workload.push({ kind: 'describe', sql: renderSql(anyStatement(), false) });
    else workload.push({ kind: 'transaction', stmts: Array.from({ length: 1 + below(rnd, 3) }, anyStatement), end: rnd() < 0.7 ? 'commit' : 'rollback' });
  }
  return workload;
}

// ---- rendering a statement ---------------------------------------------------------------

/** @param {Stmt} stmt @param {number} i */
const paramName = (stmt, i) => `${stmt.named?.prefix ?? ''}p${i}`;
/** @param {Stmt} stmt @param {number} i */
const argName = (stmt, i) => (stmt.named?.written ? paramName(stmt, i) : `p${i}`);

/** The statement's SQL: a parameter for each argument, or, for a client, the SQL literal of one it cannot bind. @param {Stmt} stmt @param {boolean} forClient */
function renderSql(stmt, forClient) {
  return stmt.sql.replace(MARKS, (_, i) => (forClient && literalOnly(stmt.args[Number(i)])) || (stmt.named ? paramName(stmt, Number(i)) : '?'));
}

/** The statement as the raw client writes it: Hrana's stmt object, by hand. @param {Stmt} stmt */
function stmtWire(stmt) {
  const args = stmt.named
    ? `"named_args":[${stmt.args.map((a, i) => `{"name":${JSON.stringify(argName(stmt, i))},"value":${a.wire}}`).join(',')}]`
    : `"args":[${stmt.args.map((a) => a.wire).join(',')}]`;
  return `{"sql":${JSON.stringify(renderSql(stmt, false))},${args},"want_rows":true}`;
}

/** @param {Value} v */
function clientValue(v) {
  return v.type === 'null' ? null : v.value;
}

/** The statement as the JavaScript clients take it: [sql, args]. @param {Stmt} stmt @returns {[string, any]} */
function clientStmt(stmt) {
  const sql = renderSql(stmt, true);
  const bound = stmt.args.map((a, i) => /** @type {const} */ ([a, i])).filter(([a]) => !literalOnly(a));
  if (!stmt.named) return [sql, bound.map(([a]) => clientValue(a))];
  return [sql, Object.fromEntries(bound.map(([a, i]) => [argName(stmt, i), clientValue(a)]))];
}

/** @param {Cond} c @returns {string} */
function condWire(c) {
  if (c === null) return 'null';
  if (c.type === 'ok' || c.type === 'error') return `{"type":"${c.type}","step":${c.step}}`;
  if (c.type === 'not') return `{"type":"not","cond":${condWire(c.cond)}}`;
  if (c.type === 'and' || c.type === 'or') return `{"type":"${c.type}","conds":[${c.conds.map(condWire).join(',')}]}`;
  return '{"type":"is_autocommit"}';
}

// ---- answers, as compared ----------------------------------------------------------------

/** A float as exact text: -0 apart from 0. @param {number} v */
const exact = (v) => (Object.is(v, -0) ? '-0' : String(v));
/** @param {Uint8Array | ArrayBuffer} b */
const hex = (b) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');

/** A Hrana value as the raw client reads it. @param {any} v @returns {Cell} */
function wireCell(v) {
  if (v.type === 'null') return null;
  if (v.type === 'float') return { float: typeof v.value === 'number' ? exact(v.value) : `not a number: ${JSON.stringify(v.value)}` };
  if (v.type === 'blob') return { blob: Buffer.from(v.base64 ?? '', 'base64').toString('hex') };
  return v.type === 'integer' ? { integer: v.value } : { text: v.value };
}

/** A value as @libsql/client gives it (intMode "string": integers are strings too). @param {unknown} v @returns {Cell} */
function clientCell(v) {
  if (v === null) return null;
  if (typeof v === 'number') return { float: exact(v) };
  if (typeof v === 'string') return { str: v };
  if (v instanceof ArrayBuffer || v instanceof Uint8Array) return { blob: hex(v) };
  return { str: `unexpected ${typeof v}: ${String(v)}` };
}

/** A statement's result from the wire. @param {any} r */
function wireResult(r) {
  return {
    columns: r.cols.map((/** @type {any} */ c) => c.name ?? ''),
    types: r.cols.map((/** @type {any} */ c) => c.decltype ?? ''),
    rows: r.rows.map((/** @type {any[]} */ row) => row.map(wireCell)),
    affected: r.affected_row_count,
    lastId: r.last_insert_rowid ?? null,
  };
}

/** A result from @libsql/client (ResultSet) or @libsql/hrana-client (RowsResult). @param {any} r */
function clientResult(r) {
  const columns = r.columns ?? r.columnNames.map((/** @type {string | undefined} */ c) => c ?? '');
  return {
    columns,
    types: (r.columnTypes ?? r.columnDecltypes).map((/** @type {string | undefined} */ t) => t ?? ''),
    rows: r.rows.map((/** @type {any} */ row) => columns.map((/** @type {string} */ _, /** @type {number} */ j) => clientCell(row[j]))),
    affected: r.rowsAffected ?? r.affectedRowCount,
    lastId: (r.lastInsertRowid ?? null) === null ? null : String(r.lastInsertRowid),
  };
}

/** An error as a client throws it: LibsqlError's message starts with its code (a batch's, twice). @param {any} e */
function clientError(e) {
  const code = e?.code ?? 'THROWN';
  let message = String(e?.message ?? e);
  while (message.startsWith(`${code}: `)) message = message.slice(code.length + 2);
  return { error: code, message: code === 'TRANSACTION_CLOSED' ? 'not executed' : message };
}
/** An error of the client's batch(): which statement failed, too. @param {any} e */
const batchError = (e) => ({ ...clientError(e), ...(e?.statementIndex !== undefined ? { index: e.statementIndex } : {}) });

/** @param {any} e */
const wireError = (e) => ({ error: e?.code ?? 'NO_CODE', message: e?.message });

/** A transport's answers compared where they look alike: integer and text both as {str}. @param {unknown} x @returns {unknown} */
function asClientSees(x) {
  if (Array.isArray(x)) return x.map(asClientSees);
  if (x === null || typeof x !== 'object') return x;
  const entries = Object.entries(x);
  if (entries.length === 1 && (entries[0][0] === 'integer' || entries[0][0] === 'text')) return { str: entries[0][1] };
  return Object.fromEntries(entries.map(([k, v]) => [k, asClientSees(v)]));
}

// ---- the transports ----------------------------------------------------------------------

/**
 * @typedef {{name: string, run: (step: Step) => Promise<unknown>, close: () => void}} Transport
 * @typedef {(request: (head: string) => string) => Promise<{response?: any, error?: any}>} Send
 *   one request on a stream; head is what goes after its type (the stream_id over WebSocket)
 */

/** @param {string} origin @param {string} name */
const httpUrl = (origin, name) => `${origin}db/${name}/`;
/** @param {string} origin @param {string} name */
const wsUrl = (origin, name) => `${origin.replace(/^http/, 'ws')}db/${name}`;

/**
 * A client of the real packages: @libsql/client for execute, batch, executeMultiple and
 * transaction; its @libsql/hrana-client underneath for what it does not offer (describe,
 * batches with conditions of one's own).
 * @param {'http' | 'ws'} transport @param {string} origin @returns {Transport}
 */
function libsqlClient(transport, origin) {
  const name = tenant(`libsql-transports-${transport}`);
  const options = { authToken: TOKEN, intMode: /** @type {const} */ ('string') };
  const client = transport === 'http' ? createHttpClient({ url: httpUrl(origin, name), ...options }) : createWsClient({ url: wsUrl(origin, name), ...options });
  const low = transport === 'http' ? hrana.openHttp(httpUrl(origin, name), TOKEN) : hrana.openWs(wsUrl(origin, name), TOKEN);
  low.intMode = 'string';
  /** @param {Stmt} stmt */
  const execute = (stmt) => {
    const [sql, args] = clientStmt(stmt);
    return client.execute({ sql, args }).then(clientResult, clientError);
  };

  /** @param {{stmt: Stmt, cond: Cond}[]} steps */
  async function conditional(steps) {
    const stream = low.openStream();
    try {
      const batch = stream.batch(false);
      /** @type {hrana.BatchStep[]} */
      const made = [];
      /** @param {NonNullable<Cond>} c @returns {hrana.BatchCond} */
      const cond = (c) => {
        if (c.type === 'ok') return hrana.BatchCond.ok(made[c.step]);
        if (c.type === 'error') return hrana.BatchCond.error(made[c.step]);
        if (c.type === 'not') return hrana.BatchCond.not(cond(/** @type {NonNullable<Cond>} */ (c.cond)));
        if (c.type === 'and' || c.type === 'or') return hrana.BatchCond[c.type](batch, c.conds.map((x) => cond(/** @type {NonNullable<Cond>} */ (x))));
        return new hrana.BatchCond(batch, { type: 'is_autocommit' }); // BatchCond.isAutocommit() asks for version 3
      };
      const outcomes = steps.map(({ stmt, cond: c }) => {
        const step = batch.step();
        if (c) step.condition(cond(c));
        made.push(step);
        return step.query(clientStmt(stmt)).then((r) => (r === undefined ? 'not run' : clientResult(r)), clientError);
      });
      await batch.execute();
      return { steps: await Promise.all(outcomes) };
    } catch (e) {
      return clientError(e);
    } finally {
      stream.close();
    }
  }

  /** @param {Stmt[]} stmts @param {'commit' | 'rollback'} end */
  async function transaction(stmts, end) {
    const tx = await client.transaction('write');
    try {
      const results = [];
      for (const stmt of stmts) {
        const [sql, args] = clientStmt(stmt);
        results.push(await tx.execute({ sql, args }).then(clientResult, clientError));
      }
      return { results, end: await tx[end]().then(() => 'ok', clientError) };
    } finally {
      tx.close();
    }
  }

  /** @param {string} sql */
  async function describeSql(sql) {
    await low.getVersion(); // describe() needs it known
    const stream = low.openStream();
    try {
      const d = await stream.describe(sql);
      return { params: d.paramNames.map((p) => p ?? null), columns: d.columns.map((c) => [c.name, c.decltype ?? '']), explain: d.isExplain, readonly: d.isReadonly };
    } catch (e) {
      return clientError(e);
    } finally {
      stream.close();
    }
  }

  return {
    name: `@libsql/client over ${transport === 'http' ? 'HTTP' : 'WebSocket'}`,
    async run(step) {
      if (step.kind === 'execute') return execute(step.stmt);
      if (step.kind === 'batch') return client.batch(step.stmts.map((s) => { const [sql, args] = clientStmt(s); return { sql, args }; }), step.mode)
        .then((rs) => ({ results: rs.map(clientResult) }), batchError);
      if (step.kind === 'conditional') return conditional(step.steps);
      if (step.kind === 'sequence') return client.executeMultiple(step.sql).then(() => 'ok', clientError);
      if (step.kind === 'describe') return describeSql(step.sql);
      return transaction(step.stmts, step.end);
    },
    close: () => {
      client.close();
      low.close();
    },
  };
}

/**
 * The raw client: every request's JSON written by hand (stmtWire), on a stream of its own
 * per step, over a transport's `stream`.
 * @param {string} name @param {(use: (send: Send) => Promise<unknown>) => Promise<unknown>} stream @param {() => void} close
 * @returns {Transport}
 */
function rawClient(name, stream, close) {
  /** @param {Send} send @param {string} stmt  its JSON */
  const execute = async (send, stmt) => {
    const { response, error } = await send((head) => `{"type":"execute",${head}"stmt":${stmt}}`);
    return error ? wireError(error) : wireResult(response.result);
  };
  /** @param {Send} send @param {{stmt: string, cond: Cond}[]} steps @returns {Promise<{results?: any[], errors?: any[], error?: any}>} */
  const batch = async (send, steps) => {
    const body = steps.map(({ stmt, cond }) => (cond ? `{"condition":${condWire(cond)},"stmt":${stmt}}` : `{"stmt":${stmt}}`)).join(',');
    const { response, error } = await send((head) => `{"type":"batch",${head}"batch":{"steps":[${body}]}}`);
    return error ? { error: wireError(error) } : { results: response.result.step_results, errors: response.result.step_errors };
  };
  const sqlStmt = (/** @type {string} */ sql) => `{"sql":${JSON.stringify(sql)}}`;

  /** The batch @libsql/client sends for batch(stmts, mode) (version 2), read as it reads it. @param {Send} send @param {Extract<Step, {kind: 'batch'}>} step */
  async function clientBatch(send, { mode, stmts }) {
    const begin = { write: 'BEGIN IMMEDIATE', deferred: 'BEGIN DEFERRED', read: 'BEGIN TRANSACTION READONLY' }[mode];
    const n = stmts.length;
    const { results, errors, error } = await batch(send, [
      { stmt: sqlStmt(begin), cond: null },
      ...stmts.map((s, i) => ({ stmt: stmtWire(s), cond: /** @type {Cond} */ ({ type: 'ok', step: i }) })),
      { stmt: sqlStmt('COMMIT'), cond: { type: 'ok', step: n } },
      { stmt: sqlStmt('ROLLBACK'), cond: { type: 'not', cond: { type: 'ok', step: n + 1 } } },
    ]);
    if (error || !results || !errors) return error;
    if (errors[0]) return wireError(errors[0]);
    for (let i = 0; i < n; i++) {
      if (errors[i + 1]) return { ...wireError(errors[i + 1]), index: i };
      if (!results[i + 1]) return { error: 'TRANSACTION_CLOSED', message: 'not executed', index: i };
    }
    if (errors[n + 1]) return wireError(errors[n + 1]);
    return { results: results.slice(1, n + 1).map(wireResult) };
  }

  return {
    name,
    run: (step) => stream(async (send) => {
      if (step.kind === 'execute') return execute(send, stmtWire(step.stmt));
      if (step.kind === 'batch') return clientBatch(send, step);
      if (step.kind === 'conditional') {
        const { results, errors, error } = await batch(send, step.steps.map(({ stmt, cond }) => ({ stmt: stmtWire(stmt), cond })));
        if (error || !results || !errors) return error;
        return { steps: results.map((r, i) => (errors[i] ? wireError(errors[i]) : r ? wireResult(r) : 'not run')) };
      }
      if (step.kind === 'sequence' || step.kind === 'describe') {
        const { response, error } = await send((head) => `{"type":"${step.kind}",${head}"sql":${JSON.stringify(step.sql)}}`);
        if (error) return wireError(error);
        if (step.kind === 'sequence') return 'ok';
        const d = response.result;
        return { params: d.params.map((/** @type {any} */ p) => p.name ?? null), columns: d.cols.map((/** @type {any} */ c) => [c.name, c.decltype ?? '']), explain: d.is_explain, readonly: d.is_readonly };
      }
      await execute(send, sqlStmt('BEGIN IMMEDIATE'));
      const results = [];
      for (const stmt of step.stmts) results.push(await execute(send, stmtWire(stmt)));
      const ended = await execute(send, sqlStmt(step.end.toUpperCase()));
      return { results, end: 'error' in ended ? ended : 'ok' };
    }),
    close,
  };
}

/** The raw client over one WebSocket of its own: a stream per step. @param {string} origin */
async function rawWebSocket(origin) {
  const socket = await openHranaSocket(wsUrl(origin, tenant('libsql-transports-raw-ws')), TOKEN);
  let streams = 0;
  return rawClient('raw Hrana over WebSocket', async (use) => {
    const id = ++streams;
    const opened = await socket.request({ type: 'open_stream', stream_id: id });
    assert.equal(opened.type, 'response_ok', JSON.stringify(opened));
    try {
      return await use(async (request) => {
        const m = await socket.requestText(request(`"stream_id":${id},`));
        return m.type === 'response_ok' ? { response: m.response } : { error: m.error };
      });
    } finally {
      await socket.request({ type: 'close_stream', stream_id: id });
    }
  }, () => socket.close());
}

/** The raw client over HTTP: a stream per step, its pipelines tied by batons, the same request texts. @param {string} origin */
function rawHttp(origin) {
  const url = `${httpUrl(origin, tenant('libsql-transports-raw-http'))}v2/pipeline`;
  /** @param {string | null} baton @param {string} request */
  const post = async (baton, request) => {
    const answer = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: `{"baton":${JSON.stringify(baton)},"requests":[${request}]}` });
    return { status: answer.status, body: JSON.parse(await answer.text()) };
  };
  return rawClient('raw Hrana over HTTP', async (use) => {
    /** @type {string | null} */
    let baton = null;
    try {
      return await use(async (request) => {
        const { status, body } = await post(baton, request(''));
        if (status !== 200) return { error: body };
        baton = body.baton;
        const [result] = body.results;
        return result.type === 'ok' ? { response: result.response } : { error: result.error };
      });
    } finally {
      if (baton !== null) await post(baton, '{"type":"close"}');
    }
  }, () => {});
}

// ---- the test ----------------------------------------------------------------------------

/** A step as a failure names it: its SQL and arguments as the raw client wrote them. @param {Step} step */
function describeStep(step) {
  const stmt = (/** @type {Stmt} */ s) => ({ sql: renderSql(s, false), args: s.args.map((a) => a.wire) });
  if (step.kind === 'execute') return JSON.stringify({ execute: stmt(step.stmt) });
  if (step.kind === 'batch') return JSON.stringify({ batch: step.mode, stmts: step.stmts.map(stmt) });
  if (step.kind === 'conditional') return JSON.stringify({ conditional: step.steps.map(({ stmt: s, cond }) => ({ cond, ...stmt(s) })) });
  if (step.kind === 'transaction') return JSON.stringify({ transaction: step.end, stmts: step.stmts.map(stmt) });
  return JSON.stringify({ [step.kind]: step.sql });
}

/** @type {{mf: any, origin: string}} */
let server;
before(async () => {
  mkdirSync(TMP, { recursive: true });
  const mf = await startStandalone({ DOSQL_TOKEN: TOKEN }, { persist: mkdtempSync(`${TMP}/libsql-transports-`) });
  server = { mf, origin: String(await mf.ready) };
});
after(() => server?.mf.dispose());

describe(`one workload over every Hrana transport (LIBSQL_TRANSPORTS_SEED=${SEED})`, () => {
  test(`${STEPS} steps answer the same over HTTP, WebSocket and hand-written JSON`, async (t) => {
    const workload = makeWorkload(SEED, STEPS);
    const [clientHttp, clientWs, rawWs, rawOverHttp] = [libsqlClient('http', server.origin), libsqlClient('ws', server.origin), await rawWebSocket(server.origin), rawHttp(server.origin)];
    const transports = [clientHttp, clientWs, rawWs, rawOverHttp];
    /** Pairs compared: [a, b, whether values are compared as the clients see them]. */
    const pairs = /** @type {const} */ ([[rawOverHttp, rawWs, false], [clientHttp, clientWs, true], [clientHttp, rawWs, true]]);
    const compared = (/** @type {unknown} */ answer, /** @type {boolean} */ loosely) => JSON.stringify(loosely ? asClientSees(answer) : answer);
    try {
      for (const [n, step] of workload.entries()) {
        const answers = new Map(await Promise.all(transports.map(async (c) => /** @type {const} */ ([c, await c.run(step)]))));
        const differ = pairs.filter(([a, b, loosely]) => compared(answers.get(a), loosely) !== compared(answers.get(b), loosely));
        if (differ.length) {
          assert.fail([
            `LIBSQL_TRANSPORTS_SEED=${SEED} step ${n}: ${differ.map(([a, b]) => `${a.name} and ${b.name}`).join('; ')} answer differently`,
            `  step: ${describeStep(step)}`,
            ...transports.map((c) => `  ${c.name}: ${JSON.stringify(answers.get(c))}`),
          ].join('\n'));
        }
      }
      /** @type {Record<string, number>} */
      const kinds = {};
      for (const { kind } of workload) kinds[kind] = (kinds[kind] ?? 0) + 1;
      t.diagnostic(`${workload.length} steps: ${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    } finally {
      transports.forEach((c) => c.close());
    }
  });
});
