// d1.js — a D1-compatible facade over a DoSQL database, so code written for
// Cloudflare D1 (and ORMs with a D1 driver: drizzle-orm/d1, kysely-d1, ...) runs
// on DoSQL unchanged:
//
//   const db = toD1(env.DOSQL_DB, tenantId);       // what env.DB was
//   const { results } = await db.prepare('SELECT * FROM users WHERE id = ?').bind(1).all();
//
// It speaks the wire protocol (README.md "Protocol", docs/transactions.md) to the
// Durable Object itself: every statement goes to POST /batch, whose answer holds
// the rows and the counts of each statement, and its text is read column by column
// for raw(), so `SELECT a.id, b.id` keeps both columns there (drizzle reads every
// select through raw()).
//
// Beyond D1: `BEGIN` / `COMMIT` / `ROLLBACK` sent as statements (what drizzle's
// db.transaction() does) open and end a real interactive transaction; BigInt
// parameters bind as exact 64-bit integers. Where D1 and DoSQL differ, see
// docs/d1.md.

import { DoSQLError, encodeValue } from './client.js';

const TRANSACTION_HEADER = 'X-DoSQL-Transaction';
const BASE_URL = 'http://internal';

// ---- the database ---------------------------------------------------------------

/**
 * @typedef {object} D1FacadeOptions
 * @property {number} [transactionTimeoutMs]  idle timeout of a transaction opened by BEGIN (POST /begin)
 * @property {'number' | 'bigint'} [int64]  integers beyond 2^53 in results: a (rounded) number, as
 *   D1 gives, or an exact BigInt. Default 'number'.
 */

/**
 * A D1Database over one DoSQL database.
 * @param {any} target  a Durable Object stub (anything with fetch(url, init)), or what
 *   getDB() takes: SvelteKit's platform, an env with DOSQL_DB, or the namespace itself
 * @param {string} [tenantId]  the object's name when target is not a stub
 * @param {D1FacadeOptions} [options]
 * @returns {DoSQLD1Database}
 */
export function toD1(target, tenantId = 'default', options = {}) {
  return new DoSQLD1Database(findStub(target, tenantId), options);
}

/** @param {any} x @param {string} tenantId */
function findStub(x, tenantId) {
  const isNamespace = (/** @type {any} */ n) => n && typeof n.idFromName === 'function' && typeof n.get === 'function';
  for (const n of [x?.env?.DOSQL_DB, x?.DOSQL_DB, x]) {
    if (isNamespace(n)) return n.get(n.idFromName(tenantId));
  }
  if (x && typeof x.fetch === 'function') return x;
  throw new TypeError(
    'toD1 needs a Durable Object stub, or platform / an env with DOSQL_DB / a DurableObjectNamespace (then a tenant id)',
  );
}

export class DoSQLD1Database {
  /** @type {{fetch: (url: string, init?: any) => Promise<Response>}} */
  #stub;
  /** @type {D1FacadeOptions} */
  #options;
  /**
   * The transaction opened by a BEGIN statement: its id once /begin answered, and
   * the error that ended it from the object's side (idle timeout, aborted), if any.
   * @type {{id: string, dead: Error | null} | null}
   */
  #tx = null;
  /** Calls chained one after another (while a transaction is open or pending). */
  #tail = Promise.resolve();
  /** Calls in the chain now, plus one from each BEGIN until its transaction ends. */
  #chained = 0;

  /**
   * @param {{fetch: (url: string, init?: any) => Promise<Response>}} stub
   * @param {D1FacadeOptions} [options]
   */
  constructor(stub, options = {}) {
    if (!stub || typeof stub.fetch !== 'function') throw new TypeError('DoSQLD1Database needs a stub with fetch(url, init)');
    this.#stub = stub;
    this.#options = { ...options };
  }

  /** @param {string} sql */
  prepare(sql) {
    if (typeof sql !== 'string') throw new TypeError('prepare() needs the SQL text as a string');
    return new DoSQLD1PreparedStatement(this, sql, []);
  }

  /**
   * Run the statements as one transaction (all or nothing); one D1Result each.
   * @param {DoSQLD1PreparedStatement[]} statements
   */
  async batch(statements) {
    if (!Array.isArray(statements)) throw new TypeError('batch() needs an array of prepared statements');
    for (const s of statements) {
      if (!(s instanceof DoSQLD1PreparedStatement) || s.database !== this) {
        throw new TypeError('batch() takes statements prepared by this database');
      }
    }
    if (statements.length === 0) return [];
    return this.#serialize(async () => {
      const started = Date.now();
      const { results } = await this.#batch(statements.map((s) => ({ sql: s.sql, params: s.params })), false);
      const duration = Date.now() - started;
      return results.map((r, i) => d1Result(statements[i].sql, r, duration, this.#options));
    });
  }

  /**
   * A script of statements, run all or nothing by the object's POST /exec, which
   * lets SQLite's own parser find where each statement ends.
   * @param {string} sql
   * @returns {Promise<{count: number, duration: number}>}
   */
  async exec(sql) {
    if (typeof sql !== 'string') throw new TypeError('exec() needs the SQL text as a string');
    return this.#serialize(async () => {
      const tx = this.#tx;
      if (tx?.dead) throw tx.dead;
      const started = Date.now();
      try {
        const { count } = JSON.parse(await this.#post('/exec', { sql }, tx?.id ?? null));
        return { count, duration: Date.now() - started };
      } catch (err) {
        if (tx && endsTransaction(err)) tx.dead = toD1Error(err);
        throw d1Error('D1_EXEC_ERROR', `Error in statement ${err?.operation ?? 0}: ${d1Message(err)}`, err);
      }
    });
  }

  /** D1's dump() reads D1's own export format; DoSQL has none. */
  async dump() {
    throw new Error('D1_DUMP_ERROR: dump() is not supported by DoSQL');
  }

  /**
   * D1's read-replication sessions: DoSQL has one copy of each database, so a
   * session is the database itself (getBookmark() answers null).
   * @param {string} [_constraintOrBookmark]
   */
  withSession(_constraintOrBookmark) {
    const db = this;
    return {
      prepare: (/** @type {string} */ sql) => db.prepare(sql),
      batch: (/** @type {DoSQLD1PreparedStatement[]} */ s) => db.batch(s),
      getBookmark: () => null,
    };
  }

  // ---- for DoSQLD1PreparedStatement ------------------------------------------

  /**
   * One statement: its D1Result, and the raw text of the answer (for raw()).
   * BEGIN / COMMIT / ROLLBACK become the interactive transaction's requests.
   * @param {string} sql
   * @param {unknown[]} params
   * @param {boolean} ordered  also parse the rows keeping every column in order
   * @returns {Promise<{result: any, rows: unknown[][] | null, columns: string[] | null}>}
   */
  async _execute(sql, params, ordered) {
    const control = transactionControl(sql);
    if (control === 'begin') {
      // From this BEGIN until its transaction ends, this instance's calls run one
      // after another, so every statement after BEGIN carries the transaction.
      this.#chained++;
      return this.#chain(() => this.#begin(params));
    }
    return this.#serialize(async () => {
      if (control === 'commit' || control === 'rollback') return this.#end(control, sql, params);
      const started = Date.now();
      if (isSavepointStatement(sql)) {
        // Not through /batch: its own savepoint would take this one with it.
        const r = await this.#single('/run', sql, params);
        return { result: d1Result(sql, { rows: [], ...r }, Date.now() - started, this.#options), rows: [], columns: [] };
      }
      const { results, text } = await this.#batch([{ sql, params }], ordered);
      const duration = Date.now() - started;
      const result = d1Result(sql, results[0], duration, this.#options);
      if (!ordered) return { result, rows: null, columns: null };
      const { rows, columns } = orderedRows(text, this.#options);
      return { result, rows, columns };
    });
  }

  /** @param {unknown[]} params */
  async #begin(params) {
    const started = Date.now();
    try {
      if (this.#tx !== null) {
        throw d1Error('D1_ERROR', 'cannot start a transaction within a transaction: SQLITE_ERROR', null);
      }
      if (params.length > 0) throw d1Error('D1_ERROR', 'Wrong number of parameter bindings for SQL query.', null);
      const timeoutMs = this.#options.transactionTimeoutMs;
      const { txId } = JSON.parse(await this.#post('/begin', timeoutMs === undefined ? {} : { timeoutMs }, null));
      this.#tx = { id: txId, dead: null };
    } catch (err) {
      this.#chained--;
      throw toD1Error(err);
    }
    return { result: emptyResult(Date.now() - started, false), rows: [], columns: [] };
  }

  /** @param {'commit' | 'rollback'} control @param {string} sql @param {unknown[]} params */
  async #end(control, sql, params) {
    const tx = this.#tx;
    if (tx === null) {
      const what = control === 'commit' ? 'commit' : 'rollback';
      throw d1Error('D1_ERROR', `cannot ${what} - no transaction is active: SQLITE_ERROR`, null);
    }
    if (params.length > 0) throw d1Error('D1_ERROR', 'Wrong number of parameter bindings for SQL query.', null);
    const started = Date.now();
    const finish = () => {
      this.#tx = null;
      this.#chained--;
    };
    if (tx.dead) {
      // Rolled back already by the object: ROLLBACK has nothing left to do, COMMIT fails.
      finish();
      if (control === 'commit') throw tx.dead;
      return { result: emptyResult(Date.now() - started, false), rows: [], columns: [] };
    }
    try {
      await this.#post(`/${control}`, {}, tx.id);
    } catch (err) {
      // A COMMIT that failed on a deferred constraint leaves the transaction open
      // (ROLLBACK next, as SQLite would); any other end is final.
      if (control === 'rollback' || endsTransaction(err) || !(err instanceof DoSQLError)) finish();
      throw toD1Error(err);
    }
    finish();
    return { result: emptyResult(Date.now() - started, control === 'commit'), rows: [], columns: [] };
  }

  /**
   * POST /batch (inside the open transaction, if any).
   * @param {{sql: string, params?: unknown[]}[]} operations
   * @param {boolean} keepText
   * @returns {Promise<{results: any[], text: string}>}
   */
  async #batch(operations, keepText) {
    const tx = this.#tx;
    if (tx?.dead) throw tx.dead;
    const body = { operations: operations.map((o) => (o.params?.length ? { sql: o.sql, params: o.params.map(encodeValue) } : { sql: o.sql })) };
    let text;
    try {
      text = await this.#post('/batch', body, tx?.id ?? null);
    } catch (err) {
      const e = toD1Error(err);
      if (tx && endsTransaction(err)) tx.dead = e;
      throw e;
    }
    const { results } = JSON.parse(text);
    return { results, text: keepText ? text : '' };
  }

  /**
   * POST /run or /query with one statement (inside the open transaction, if any).
   * @param {string} path @param {string} sql @param {unknown[]} params
   */
  async #single(path, sql, params) {
    const tx = this.#tx;
    if (tx?.dead) throw tx.dead;
    try {
      return JSON.parse(await this.#post(path, params.length ? { sql, params: params.map(encodeValue) } : { sql }, tx?.id ?? null));
    } catch (err) {
      const e = toD1Error(err);
      if (tx && endsTransaction(err)) tx.dead = e;
      throw e;
    }
  }

  /**
   * @param {string} path @param {unknown} body @param {string | null} txId
   * @returns {Promise<string>} the answer's text (2xx)
   */
  async #post(path, body, txId) {
    /** @type {Record<string, string>} */
    const headers = { 'Content-Type': 'application/json' };
    if (txId !== null) headers[TRANSACTION_HEADER] = txId;
    const response = await this.#stub.fetch(`${BASE_URL}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await response.text();
    if (response.ok) return text;
    /** @type {any} */
    let value;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    throw new DoSQLError(typeof value?.error === 'string' ? value.error : text || `the database answered ${response.status}`, {
      code: typeof value?.code === 'string' ? value.code : `HTTP_${response.status}`,
      status: response.status,
      operation: Number.isInteger(value?.operation) ? value.operation : undefined,
    });
  }

  /**
   * Run fn now, or after the calls before it while a transaction is open or pending.
   * @template T @param {() => Promise<T>} fn @returns {Promise<T>}
   */
  #serialize(fn) {
    if (this.#tx === null && this.#chained === 0) return fn();
    this.#chained++;
    return this.#chain(async () => {
      try {
        return await fn();
      } finally {
        this.#chained--;
      }
    });
  }

  /** @template T @param {() => Promise<T>} fn @returns {Promise<T>} */
  #chain(fn) {
    const run = this.#tail.then(fn);
    this.#tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }
}

// ---- statements -----------------------------------------------------------------

export class DoSQLD1PreparedStatement {
  /** @param {DoSQLD1Database} database @param {string} sql @param {unknown[]} params */
  constructor(database, sql, params) {
    this.database = database;
    this.sql = sql;
    this.params = params;
  }

  /** A new statement with these parameters (D1 binds them by position). @param {...unknown} values */
  bind(...values) {
    return new DoSQLD1PreparedStatement(this.database, this.sql, values.map(bindValue));
  }

  /** Every row, as objects keyed by column name. */
  async all() {
    return (await this.database._execute(this.sql, this.params, false)).result;
  }

  /** Like all(): D1's run() answers the rows too (none for a write without RETURNING). */
  async run() {
    return (await this.database._execute(this.sql, this.params, false)).result;
  }

  /**
   * The first row (or one column of it), null when there is none.
   * @param {string} [column]
   */
  async first(column) {
    const { result } = await this.database._execute(this.sql, this.params, false);
    const row = result.results[0];
    if (row === undefined) return null;
    if (column === undefined) return row;
    if (!Object.prototype.hasOwnProperty.call(row, column)) {
      throw d1Error('D1_COLUMN_NOTFOUND', `Column not found (${column})`, new Error('Column not found'));
    }
    return row[column];
  }

  /**
   * Rows as arrays of values in column order (every column, even two of one name);
   * with {columnNames: true} the first array is the column names.
   * @param {{columnNames?: boolean}} [options]
   */
  async raw(options = {}) {
    const { rows, columns } = await this.database._execute(this.sql, this.params, true);
    const list = /** @type {unknown[][]} */ (rows);
    return options?.columnNames ? [/** @type {string[]} */ (columns), ...list] : list;
  }
}

/**
 * A parameter as D1 takes it: booleans as 1/0, bytes as a blob; beyond D1, a
 * BigInt binds as an exact 64-bit integer and a Date as its ISO string.
 * @param {unknown} value
 */
function bindValue(value) {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'bigint':
      return value;
    case 'boolean':
      return value ? 1 : 0;
    case 'object':
      if (value === null || value instanceof ArrayBuffer || ArrayBuffer.isView(value) || value instanceof Date) return value;
  }
  throw d1Error(
    'D1_TYPE_ERROR',
    `Type '${typeof value}' not supported for value '${safeString(value)}'`,
    new TypeError(`Type '${typeof value}' not supported`),
  );
}

/** @param {unknown} value */
function safeString(value) {
  try {
    return String(value);
  } catch {
    return '?';
  }
}

// ---- results ----------------------------------------------------------------------

/**
 * @param {string} sql @param {any} r a /batch result {rows, rowsAffected, lastInsertRowId}
 * @param {number} duration @param {D1FacadeOptions} options
 */
function d1Result(sql, r, duration, options) {
  const changes = toNumber(decodeTagged(r?.rowsAffected, options));
  const results = (Array.isArray(r?.rows) ? r.rows : []).map((/** @type {any} */ row) => {
    for (const key of Object.keys(row)) {
      const v = row[key];
      if (v !== null && typeof v === 'object') row[key] = decodeTagged(v, options);
    }
    return row;
  });
  return {
    success: true,
    results,
    meta: {
      served_by: 'dosql',
      duration,
      changes,
      last_row_id: toNumber(decodeTagged(r?.lastInsertRowId, options)),
      changed_db: changes > 0 || changesSchema(sql),
      // Not measured per statement by DoSQL: rows_read is 0 and rows_written is
      // the rows changed (indexes not counted); see docs/d1.md.
      rows_read: 0,
      rows_written: changes,
    },
  };
}

/** @param {number} duration @param {boolean} changedDb */
function emptyResult(duration, changedDb) {
  return {
    success: true,
    results: [],
    meta: { served_by: 'dosql', duration, changes: 0, last_row_id: 0, changed_db: changedDb, rows_read: 0, rows_written: 0 },
  };
}

/** @param {unknown} v */
function toNumber(v) {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0;
}

/**
 * A tagged wire value as D1 gives it: $bigint → number (or BigInt), $blob → an
 * array of byte values, $real → ±Infinity.
 * @param {unknown} value @param {D1FacadeOptions} options
 */
function decodeTagged(value, options) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const tagged = /** @type {Record<string, unknown>} */ (value);
  const keys = Object.keys(tagged);
  if (keys.length !== 1 || typeof tagged[keys[0]] !== 'string') return value;
  const v = /** @type {string} */ (tagged[keys[0]]);
  switch (keys[0]) {
    case '$bigint':
      return options.int64 === 'bigint' ? BigInt(v) : Number(v);
    case '$blob': {
      const binary = atob(v);
      const bytes = new Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      return bytes;
    }
    case '$real':
      return Number(v);
    default:
      return value;
  }
}

/** Whether a statement changes the schema (D1's changed_db is true for DDL). @param {string} sql */
function changesSchema(sql) {
  const first = firstWord(sql);
  return first === 'CREATE' || first === 'DROP' || first === 'ALTER';
}

/**
 * The rows of a one-statement /batch answer with every column in order: the
 * server writes each row as a JSON object with one member per column, so two
 * columns of one name are both in the text (JSON.parse would keep the last).
 * @param {string} text @param {D1FacadeOptions} options
 * @returns {{rows: unknown[][], columns: string[]}}
 */
function orderedRows(text, options) {
  const answer = /** @type {Members} */ (parseOrdered(text));
  const results = /** @type {unknown[]} */ (answer.get('results'));
  const first = /** @type {Members} */ (results[0]);
  const rowList = /** @type {Members[]} */ (first.get('rows'));
  const columns = rowList.length > 0 ? rowList[0].members.map(([k]) => k) : [];
  const rows = rowList.map((row) => row.members.map(([, v]) => decodeTagged(v instanceof Members ? v.toObject() : v, options)));
  return { rows, columns };
}

/** A JSON object as the list of its members, in order, duplicates kept. */
class Members {
  /** @param {[string, unknown][]} members */
  constructor(members) {
    this.members = members;
  }
  /** @param {string} key */
  get(key) {
    for (let i = this.members.length - 1; i >= 0; i--) if (this.members[i][0] === key) return this.members[i][1];
    return undefined;
  }
  /** @returns {Record<string, unknown>} */
  toObject() {
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const [k, v] of this.members) out[k] = v instanceof Members ? v.toObject() : v;
    return out;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * JSON.parse, except that objects become Members (ordered, duplicates kept).
 * @param {string} text
 * @returns {unknown}
 */
export function parseOrdered(text) {
  let i = 0;
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else return;
    }
  };
  const fail = () => {
    throw new SyntaxError(`bad JSON from the database at offset ${i}`);
  };
  const string = () => {
    const start = i; // at the opening quote
    let escaped = false;
    i++;
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c)) fail();
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        i += 2;
      } else i++;
    }
    i++;
    const raw = text.slice(start, i);
    return escaped ? JSON.parse(raw) : raw.slice(1, -1);
  };
  /** @returns {unknown} */
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      /** @type {[string, unknown][]} */
      const members = [];
      ws();
      if (text[i] === '}') {
        i++;
        return new Members(members);
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        const key = string();
        ws();
        if (text[i++] !== ':') fail();
        members.push([key, value()]);
        ws();
        const d = text[i++];
        if (d === '}') return new Members(members);
        if (d !== ',') fail();
      }
    }
    if (c === '[') {
      i++;
      const items = [];
      ws();
      if (text[i] === ']') {
        i++;
        return items;
      }
      for (;;) {
        items.push(value());
        ws();
        const d = text[i++];
        if (d === ']') return items;
        if (d !== ',') fail();
      }
    }
    if (c === '"') return string();
    if (text.startsWith('null', i)) return (i += 4), null;
    if (text.startsWith('true', i)) return (i += 4), true;
    if (text.startsWith('false', i)) return (i += 5), false;
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail();
    i += /** @type {RegExpExecArray} */ (m)[0].length;
    return Number(/** @type {RegExpExecArray} */ (m)[0]);
  };
  const v = value();
  ws();
  if (i !== text.length) fail();
  return v;
}

// ---- errors -------------------------------------------------------------------------

/** @param {string} prefix @param {string} message @param {unknown} cause */
function d1Error(prefix, message, cause) {
  return new Error(`${prefix}: ${message}`, cause == null ? undefined : { cause });
}

/**
 * The text after D1's prefix: SQLite's message, then its result code as D1 writes
 * it (": SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)").
 * @param {any} err
 */
function d1Message(err) {
  const message = String(err?.message ?? err);
  const code = typeof err?.code === 'string' ? err.code : '';
  const m = /^SQLITE_[A-Z]+/.exec(code);
  if (!m) return message;
  return m[0] === code ? `${message}: ${code}` : `${message}: ${m[0]} (extended: ${code})`;
}

/** A failure of the database as D1 throws it: "D1_ERROR: <message>", cause the DoSQLError. @param {unknown} err */
function toD1Error(err) {
  if (err instanceof Error && /^D1_[A-Z_]+: /.test(err.message)) return err;
  return d1Error('D1_ERROR', d1Message(err), err);
}

/** Whether an error means the object no longer holds the transaction. @param {any} err */
function endsTransaction(err) {
  return err?.code === 'TRANSACTION_ABORTED' || err?.code === 'TRANSACTION_EXPIRED';
}

// ---- SQL text -------------------------------------------------------------------------

// Just enough of SQLite's tokenizer to read the first words of a statement (to
// recognise BEGIN / COMMIT / ROLLBACK and savepoints): comments are whitespace,
// strings and quoted names are one token. Splitting scripts is the object's job
// (POST /exec), done by SQLite's own parser.
const T_SEMI = 0;
const T_WS = 1;
const T_OTHER = 2;

/** @param {number} c */
function isIdChar(c) {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || c > 127;
}

/**
 * The tokens of sql (comments are whitespace; strings and quoted names are one
 * token each); words are upper-cased.
 * @param {string} sql
 * @returns {{type: number, start: number, end: number, word: string | null}[]}
 */
function tokenize(sql) {
  const out = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const start = i;
    const c = sql.charCodeAt(i);
    let type = T_OTHER;
    let word = null;
    if (c === 59) {
      type = T_SEMI;
      i++;
    } else if (c === 32 || c === 9 || c === 10 || c === 12 || c === 13) {
      type = T_WS;
      i++;
    } else if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      type = T_WS;
    } else if (c === 45 && sql.charCodeAt(i + 1) === 45) {
      const nl = sql.indexOf('\n', i + 2);
      i = nl < 0 ? n : nl + 1;
      type = T_WS;
    } else if (c === 91) {
      const close = sql.indexOf(']', i + 1);
      i = close < 0 ? n : close + 1;
    } else if (c === 34 || c === 39 || c === 96) {
      const close = sql.indexOf(sql[i], i + 1);
      i = close < 0 ? n : close + 1;
    } else if (isIdChar(c)) {
      while (i < n && isIdChar(sql.charCodeAt(i))) i++;
      word = sql.slice(start, i).toUpperCase();
    } else {
      i++;
    }
    out.push({ type, start, end: i, word });
  }
  return out;
}

/** SAVEPOINT, RELEASE [SAVEPOINT], ROLLBACK [TRANSACTION] TO [SAVEPOINT]. @param {string} sql */
function isSavepointStatement(sql) {
  const first = firstWord(sql);
  return first === 'SAVEPOINT' || first === 'RELEASE' || (first === 'ROLLBACK' && transactionControl(sql) === null);
}

/** The first keyword of a statement (after comments), upper case. @param {string} sql */
function firstWord(sql) {
  for (const t of tokenize(sql)) {
    if (t.type === T_WS) continue;
    return t.word ?? '';
  }
  return '';
}

/**
 * Whether sql is exactly BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE] [TRANSACTION [name]],
 * COMMIT / END [TRANSACTION [name]] or ROLLBACK [TRANSACTION [name]] (any case, comments
 * and a trailing `;` allowed), and which.
 * @param {string} sql
 * @returns {'begin' | 'commit' | 'rollback' | null}
 */
export function transactionControl(sql) {
  const words = [];
  let ended = false;
  for (const t of tokenize(sql)) {
    if (t.type === T_WS) continue;
    if (t.type === T_SEMI) {
      ended = true;
      continue;
    }
    if (ended || t.word === null) return null;
    words.push(t.word);
    if (words.length > 4) return null;
  }
  const text = words.join(' ');
  if (/^BEGIN(?: (?:DEFERRED|IMMEDIATE|EXCLUSIVE))?(?: TRANSACTION(?: \S+)?)?$/.test(text)) return 'begin';
  if (/^(?:COMMIT|END)(?: TRANSACTION(?: \S+)?)?$/.test(text)) return 'commit';
  if (/^ROLLBACK(?: TRANSACTION(?: \S+)?)?$/.test(text)) return 'rollback';
  return null;
}
