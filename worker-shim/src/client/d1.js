// client/d1.js — a D1-compatible facade over a DoSQL database, so code written for
// Cloudflare D1 (and ORMs with a D1 driver: drizzle-orm/d1, kysely-d1, ...) runs
// on DoSQL unchanged:
//
//   const db = toD1(env.DOSQL_DB, tenantId);       // what env.DB was
//   const { results } = await db.prepare('SELECT * FROM users WHERE id = ?').bind(1).all();
//
// It speaks the wire protocol (docs/protocol.md, docs/transactions.md) to the
// Durable Object itself, over Workers RPC or its fetch (client/client.js sendTo): every statement goes to POST /batch with rowMode "array",
// whose answer holds each statement's column names, its rows as arrays (so raw()
// keeps `SELECT a.id, b.id` as two columns: drizzle reads every select that way),
// its counts and what SQLite saw it do (readOnly, databaseChanged). This file reads
// no SQL: the object's SQLite says which statement is BEGIN / COMMIT / ROLLBACK
// (the answer TRANSACTION_STATEMENT), and runs a savepoint statement inside the
// open transaction.
//
// Beyond D1: `BEGIN` / `COMMIT` / `ROLLBACK` sent as statements (what drizzle's
// db.transaction() does) open and end a real interactive transaction; BigInt
// parameters bind as exact 64-bit integers. Where D1 and DoSQL differ, see
// docs/d1.md (and tests/worker/d1-differential.test.js, which compares the two).

import { DoSQLError, checkCallOptions, encodeValue, sendTo, stubFor } from './client.js';
import { encodeSql } from './values.js';

// ---- the database ---------------------------------------------------------------

/**
 * @typedef {object} D1FacadeOptions
 * @property {number} [transactionTimeoutMs]  idle timeout of a transaction opened by BEGIN (POST /begin)
 * @property {'number' | 'bigint'} [int64]  integers beyond 2^53 in results: a (rounded) number, as
 *   D1 gives, or an exact BigInt. Default 'number'.
 */

/**
 * The transaction opened by a BEGIN statement: its id, the size /begin said (which
 * a ROLLBACK returns to), and the error that ended it from the object's side
 * (idle timeout, aborted), if any.
 * @typedef {{id: string, sizeAtBegin: number, dead: Error | null, wrote: boolean}} Transaction
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
  return new DoSQLD1Database(stubFor(target, tenantId, 'toD1'), options);
}

export class DoSQLD1Database {
  /** Sends a request to the object: over RPC, or its fetch (client.js). @type {import('./client.js').Send} */
  #send;
  /** @type {D1FacadeOptions} */
  #options;
  /** The transaction opened by a BEGIN statement, once /begin answered. @type {Transaction | null} */
  #tx = null;
  /** The transaction the object had ended, when the call before this one was its COMMIT,
   *  which failed saying so: as SQLite's connection after such a COMMIT, the facade holds
   *  no transaction any more, but a ROLLBACK right after it (an ORM's, after a failed
   *  COMMIT) succeeds, as after any end. Each call takes it (#serialize). @type {Transaction | null} */
  #lapsed = null;
  /** The calls of this instance, chained: each runs after the one before it. */
  #tail = Promise.resolve();

  /**
   * @param {{fetch: (url: string, init?: any) => Promise<Response>}} stub
   * @param {D1FacadeOptions} [options]
   */
  constructor(stub, options = {}) {
    if (!stub || typeof stub.fetch !== 'function') throw new TypeError('DoSQLD1Database needs a stub with fetch(url, init)');
    checkCallOptions(options, ['transactionTimeoutMs', 'int64'], 'toD1()');
    if (options?.int64 !== undefined && options.int64 !== 'number' && options.int64 !== 'bigint') {
      throw new DoSQLError(`toD1()'s int64 is 'number' or 'bigint', not ${JSON.stringify(options.int64)}`, { code: 'BAD_REQUEST', status: 400 });
    }
    this.#send = sendTo(stub);
    this.#options = { ...options };
  }

  /** @param {string} sql */
  prepare(sql) {
    return new DoSQLD1PreparedStatement(this, sqlText(sql, 'prepare'), []);
  }

  /**
   * Run the statements as one transaction (all or nothing); one D1Result each. As in
   * D1, a statement prepared by another facade runs here too: a helper that calls
   * toD1() for each use makes one per statement.
   * @param {DoSQLD1PreparedStatement[]} statements
   */
  async batch(statements) {
    if (!Array.isArray(statements)) throw new TypeError('batch() needs an array of prepared statements');
    for (const s of statements) {
      if (!(s instanceof DoSQLD1PreparedStatement)) throw new TypeError('batch() takes statements made by prepare()');
    }
    return this.#serialize(async () => {
      if (statements.length === 0) throw d1Error('D1_ERROR', NO_STATEMENTS, null);
      const started = Date.now();
      const { results } = await this.#batch(statements.map((s) => ({ sql: s.sql, params: s.params })), this.#tx);
      const duration = Date.now() - started;
      return this.#noteWrites(results.map((/** @type {any} */ r) => d1Result(r, duration, this.#options)));
    });
  }

  /**
   * A script of statements, run all or nothing by the object's POST /exec, which
   * lets SQLite's own parser find where each statement ends.
   * @param {string} text
   * @returns {Promise<{count: number, duration: number}>}
   */
  async exec(text) {
    const sql = sqlText(text, 'exec');
    return this.#serialize(async () => {
      // D1 trims the script (JavaScript's trim: every Unicode blank, where SQLite's
      // tokenizer knows only ASCII ones) and refuses a blank one, with this text.
      const script = sql.trim();
      if (script === '') throw d1Error('D1_EXEC_ERROR', `Error in line 1: : ${NO_STATEMENTS}`, null);
      const tx = this.#tx;
      if (tx?.dead) throw tx.dead;
      const started = Date.now();
      try {
        const { count, databaseChanged } = await this.#request('/exec', { sql: encodeSql(script) }, tx);
        if (tx && databaseChanged) tx.wrote = true;
        return { count, duration: Date.now() - started };
      } catch (err) {
        throw execError(script, err);
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
   * One statement: its D1Result, its column names and its rows as arrays (raw()).
   * BEGIN / COMMIT / ROLLBACK become the interactive transaction's requests.
   * @param {string} sql
   * @param {unknown[]} params
   * @returns {Promise<{result: any, columns: string[], rows: unknown[][]}>}
   */
  async _execute(sql, params) {
    return this.#serialize(async (lapsed) => {
      // D1's own check, before SQLite sees the text (comment lines that start
      // with a blank are dropped): its answer for nothing to run.
      if (sql.replace(/^\s+--.*/gm, '').trim().length === 0) throw d1Error('D1_ERROR', NO_STATEMENTS, null);
      const started = Date.now();
      const tx = this.#tx;
      if (tx?.dead) return this.#afterDeath(tx, sql, params, started);
      /** @type {any} */
      let answer;
      try {
        answer = await this.#batch([{ sql, params }], tx);
      } catch (err) {
        const control = transactionStatement(err);
        if (control !== null) return this.#control(control, params, started, lapsed);
        // The object had ended the transaction before this statement ran (it answers
        // TRANSACTION_EXPIRED before SQLite reads the text): the statement may be the
        // ROLLBACK that ends it here too, as after any death.
        if (tx?.dead && /** @type {any} */ (err).cause?.code === 'TRANSACTION_EXPIRED') return this.#afterDeath(tx, sql, params, started);
        throw err;
      }
      const r = answer.results[0];
      const [result] = this.#noteWrites([d1Result(r, Date.now() - started, this.#options)]);
      return { result, ...decodedRows(r, this.#options) };
    });
  }

  /**
   * A statement while the object has already ended the transaction: only ROLLBACK
   * (nothing was kept) and COMMIT (fails with the reason) have something to do;
   * the rest fails with the reason. SQLite says which the statement is: prepared
   * under EXPLAIN outside any transaction, it runs nothing (the object refuses to
   * explain a PRAGMA that sets a value, which SQLite would apply as it prepared
   * it), and the answer's `explains` names a transaction statement.
   * @param {Transaction} tx
   * @param {string} sql @param {unknown[]} params @param {number} started
   */
  async #afterDeath(tx, sql, params, started) {
    let explains;
    try {
      // Unbound, a parameter is NULL: the program, which nothing runs, is the same.
      explains = (await this.#batch([{ sql: `EXPLAIN ${sql}` }], null)).results[0]?.explains;
    } catch (err) {
      // The object did not answer for the statement (it failed or could not be
      // reached): nobody knows what it is, so it has not run, and that is why.
      if (!judgedBySqlite(err)) throw err;
    }
    if (explains === 'begin' || explains === 'commit' || explains === 'rollback') return this.#control(explains, params, started);
    throw tx.dead;
  }

  /**
   * Results, after noting in the open transaction (if any) whether one of them wrote:
   * its COMMIT then changed the database.
   * @template {{meta: {changed_db: boolean}}} R @param {R[]} results @returns {R[]}
   */
  #noteWrites(results) {
    if (this.#tx && results.some((r) => r.meta.changed_db)) this.#tx.wrote = true;
    return results;
  }

  /**
   * BEGIN, COMMIT or ROLLBACK, as the object named it: the interactive
   * transaction's /begin, /commit or /rollback.
   * @param {'begin' | 'commit' | 'rollback'} control
   * @param {unknown[]} params @param {number} started
   * @param {Transaction | null} [lapsed]  the one whose COMMIT just failed (#lapsed)
   */
  async #control(control, params, started, lapsed = null) {
    // Ended by the object, the transaction is still this instance's until ROLLBACK
    // (or a failed COMMIT): BEGIN fails with the reason, as every statement does.
    if (control === 'begin' && this.#tx?.dead) throw this.#tx.dead;
    if (control === 'begin' && this.#tx !== null) {
      throw d1Error('D1_ERROR', 'cannot start a transaction within a transaction: SQLITE_ERROR', null);
    }
    if (params.length > 0) throw d1Error('D1_ERROR', WRONG_PARAMETER_COUNT, null);
    if (control === 'rollback' && this.#tx === null && lapsed !== null) {
      return emptyResult(Date.now() - started, false, lapsed.sizeAtBegin);
    }
    if (control !== 'begin' && this.#tx === null) {
      throw d1Error('D1_ERROR', `cannot ${control} - no transaction is active: SQLITE_ERROR`, null);
    }
    if (control === 'begin') {
      const timeoutMs = this.#options.transactionTimeoutMs;
      const { txId, sizeAfter } = await this.#request('/begin', timeoutMs === undefined ? {} : { timeoutMs }, null).catch(rethrowD1);
      this.#tx = { id: txId, dead: null, sizeAtBegin: sizeAfter, wrote: false };
      return emptyResult(Date.now() - started, false, sizeAfter);
    }
    const tx = /** @type {Transaction} */ (this.#tx);
    if (tx.dead) {
      // Rolled back already by the object: COMMIT fails saying so and ends it here
      // (#lapsed); ROLLBACK ends it, the database left as the object's rollback left
      // it: as it was at BEGIN.
      this.#tx = null;
      if (control === 'commit') throw this.#lapse(tx, tx.dead);
      return emptyResult(Date.now() - started, false, tx.sizeAtBegin);
    }
    let answer;
    try {
      answer = await this.#request(`/${control}`, {}, tx);
    } catch (err) {
      const failure = toD1Error(err);
      if (control === 'commit' && err instanceof DoSQLError && endsTransaction(err)) {
        // The object rolled back (a deferred constraint, or the transaction was
        // already over): ended here too, and a ROLLBACK next succeeds (#lapsed).
        this.#tx = null;
        throw this.#lapse(tx, failure);
      }
      if (control === 'rollback' || endsTransaction(err)) {
        this.#tx = null;
      }
      // A COMMIT that got no answer (the network, the object restarting) may or may not
      // have committed: the transaction stays, so the ROLLBACK an ORM sends next asks the
      // object, which rolls it back if still open, or answers that it ended (then ROLLBACK
      // succeeds as after any end). Forgetting it left it open there until it idled out,
      // and the ROLLBACK, sent outside it, waited for that and then failed.
      throw failure;
    }
    this.#tx = null;
    // A rollback leaves the size the transaction began with: nobody else wrote meanwhile.
    // A COMMIT changed the database when a statement of its transaction did.
    return emptyResult(Date.now() - started, control === 'commit' && tx.wrote, control === 'commit' ? answer.sizeAfter : tx.sizeAtBegin);
  }

  /**
   * The COMMIT of tx failed with failure, as the object had ended it: the next call
   * may be the ROLLBACK an ORM sends then (#lapsed).
   * @param {Transaction} tx @param {Error} failure @returns {Error} failure
   */
  #lapse(tx, failure) {
    this.#lapsed = tx;
    return failure;
  }

  /**
   * POST /batch with rowMode "array" (inside tx, if any). Fails with D1's error,
   * whose cause is the DoSQLError.
   * @param {{sql: string, params?: unknown[]}[]} operations
   * @param {Transaction | null} tx
   * @returns {Promise<any>}
   */
  async #batch(operations, tx) {
    if (tx?.dead) throw tx.dead;
    try {
      const body = {
        rowMode: 'array',
        operations: operations.map((o) => {
          const sql = encodeSql(o.sql);
          return o.params?.length ? { sql, params: o.params.map(encodeValue) } : { sql };
        }),
      };
      return await this.#request('/batch', body, tx);
    } catch (err) {
      throw toD1Error(err, true);
    }
  }

  /**
   * POST one request (inside tx, if any); an error that ended tx on the object's
   * side marks it dead.
   * @param {string} path @param {unknown} body @param {Transaction | null} tx
   * @returns {Promise<any>} the answer (2xx)
   */
  async #request(path, body, tx) {
    try {
      return await this.#send(path, body, tx?.id ?? null);
    } catch (err) {
      if (tx && endsTransaction(err)) tx.dead = toD1Error(err);
      throw err;
    }
  }

  /**
   * Run fn after every call of this instance made before it. The object names a
   * BEGIN only in its answer, so a call made while one is on its way must wait
   * to learn whether it belongs to the transaction; one at a time keeps that
   * simple, and the order of calls SQLite's (one connection).
   * fn is given #lapsed, which no later call sees.
   * @template T @param {(lapsed: Transaction | null) => Promise<T>} fn @returns {Promise<T>}
   */
  #serialize(fn) {
    const run = this.#tail.then(() => {
      const lapsed = this.#lapsed;
      this.#lapsed = null;
      return fn(lapsed);
    });
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

  /** Every row, as objects keyed by column name (the later of two columns of one name wins, as in D1). */
  async all() {
    return (await this.database._execute(this.sql, this.params)).result;
  }

  /** Like all(): D1's run() answers the rows too (none for a write without RETURNING). */
  async run() {
    return (await this.database._execute(this.sql, this.params)).result;
  }

  /**
   * The first row (or one column of it), null when there is none.
   * @param {string} [column]
   */
  async first(column) {
    const { result } = await this.database._execute(this.sql, this.params);
    const row = result.results[0];
    if (row === undefined) return null;
    if (column === undefined) return row;
    // Its own column: `in` or row[column] would answer Object's toString() for 'toString'.
    if (!Object.hasOwn(row, column)) {
      throw d1Error('D1_COLUMN_NOTFOUND', `Column not found (${column})`, new Error('Column not found'));
    }
    return row[column];
  }

  /**
   * Rows as arrays of values in column order (every column, even two of one name);
   * with {columnNames: true} the first array is the column names (also without rows).
   * @param {{columnNames?: boolean}} [options]
   */
  async raw(options = {}) {
    const { rows, columns } = await this.database._execute(this.sql, this.params);
    return options?.columnNames ? [columns, ...rows] : rows;
  }
}

/**
 * A parameter as D1 takes it: booleans as 1/0; bytes (an ArrayBuffer, a typed
 * array, or an array of numbers 0-255) as a blob. Beyond D1, a BigInt binds as
 * an exact 64-bit integer and a Date as its ISO string.
 * @param {unknown} value
 */
function bindValue(value) {
  switch (typeof value) {
    case 'string':
    case 'number':
      return value;
    case 'bigint':
      if (value >= INT64_MIN && value <= INT64_MAX) return value;
      break;
    case 'boolean':
      return value ? 1 : 0;
    case 'object':
      if (value === null || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value;
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
      if (isByteArray(value)) return Uint8Array.from(value);
  }
  throw d1Error(
    'D1_TYPE_ERROR',
    `Type '${typeof value}' not supported for value '${safeString(value)}'`,
    new TypeError(`Type '${typeof value}' not supported for value '${safeString(value)}'`),
  );
}

/**
 * An array of byte values, every index holding one: a hole (`[1, , 3]`) is no byte,
 * where every() would skip it and Uint8Array.from() make it 0.
 * @param {unknown} value @returns {value is number[]}
 */
function isByteArray(value) {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const b = value[i];
    if (typeof b !== 'number' || !(b >= 0 && b < 256)) return false;
  }
  return true;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

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
 * A statement's rows with their values decoded, and its column names.
 * @param {any} r a /batch result of rowMode "array"
 * @param {D1FacadeOptions} options
 * @returns {{columns: string[], rows: unknown[][]}}
 */
function decodedRows(r, options) {
  const columns = Array.isArray(r?.columns) ? r.columns : [];
  const rows = (Array.isArray(r?.rows) ? r.rows : []).map((/** @type {unknown[]} */ row) =>
    // -0 comes back as 0, as D1 gives it.
    row.map((v) => (v !== null && typeof v === 'object' ? decodeTagged(v, options) : v === 0 ? 0 : v)),
  );
  return { columns, rows };
}

/**
 * A D1Result from a /batch result of rowMode "array":
 * {columns, rows, rowsAffected, lastInsertRowId, readOnly, databaseChanged}.
 * @param {any} r @param {number} duration @param {D1FacadeOptions} options
 */
function d1Result(r, duration, options) {
  const { columns, rows } = decodedRows(r, options);
  const changes = toNumber(decodeTagged(r?.rowsAffected, options));
  const lastRowId = decodeTagged(r?.lastInsertRowId, options);
  return {
    success: true,
    // As D1 makes them: one object per row, the later of two columns of one name wins.
    results: rows.map((row) => Object.fromEntries(row.map((v, i) => [columns[i], v]))),
    meta: {
      served_by: 'dosql',
      duration,
      changes,
      // Exact past 2^53 with int64: 'bigint', as the rows are.
      last_row_id: typeof lastRowId === 'bigint' ? lastRowId : toNumber(lastRowId),
      // What SQLite saw the statement do: it (or a trigger it fired) wrote rows, or changed the schema.
      changed_db: r?.readOnly === false && r?.databaseChanged === true,
      // Not measured per statement by DoSQL: rows_read is 0 and rows_written is
      // the rows changed (indexes not counted); see docs/d1.md.
      rows_read: 0,
      rows_written: changes,
      size_after: toNumber(r?.sizeAfter),
    },
  };
}

/**
 * The answer of BEGIN, COMMIT and ROLLBACK, which return no rows.
 * @param {number} duration @param {boolean} changedDb @param {unknown} sizeAfter  the object's
 */
function emptyResult(duration, changedDb, sizeAfter) {
  return {
    result: {
      success: true,
      results: [],
      meta: {
        served_by: 'dosql', duration, changes: 0, last_row_id: 0, changed_db: changedDb, rows_read: 0, rows_written: 0,
        size_after: toNumber(sizeAfter),
      },
    },
    columns: [],
    rows: [],
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

// ---- errors -------------------------------------------------------------------------

// D1's texts where DoSQL's differ only in words.
const NO_STATEMENTS = 'No SQL statements detected.';
const NO_STATEMENT_IN_SQL = 'SQL code did not contain a statement.';
const WRONG_PARAMETER_COUNT = 'Wrong number of parameter bindings for SQL query.';

/** @param {string} prefix @param {string} message @param {unknown} cause */
function d1Error(prefix, message, cause) {
  return new Error(`${prefix}: ${message}`, cause == null ? undefined : { cause });
}

/**
 * The text after D1's prefix. For SQLite's errors: its message, " at offset N"
 * when SQLite names a token (N counted from offsetBase), then the result code as
 * D1 writes it (": SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)"). The
 * facade's well-formed requests meet BAD_PARAMS only for a wrong count of
 * parameters, and BAD_REQUEST of their statements only for sql without a statement:
 * those get D1's words. (Any other request's BAD_REQUEST, /begin's for a
 * transactionTimeoutMs it does not take, keeps the object's.)
 * @param {any} err @param {number} [offsetBase] @param {boolean} [ofStatements]  err answered statements
 */
function d1Message(err, offsetBase = 0, ofStatements = false) {
  const message = String(err?.message ?? err);
  if (err?.code === 'BAD_PARAMS') return WRONG_PARAMETER_COUNT;
  if (err?.code === 'BAD_REQUEST' && ofStatements) return NO_STATEMENT_IN_SQL;
  // SQLite's code, also of a failure that rolled the transaction back (TRANSACTION_ABORTED).
  const code = [err?.code, err?.sqliteCode].find((c) => typeof c === 'string' && c.startsWith('SQLITE_')) ?? '';
  const m = /^SQLITE_[A-Z]+/.exec(code);
  if (!m) return message;
  const at = Number.isInteger(err?.offset) && err.offset >= offsetBase ? ` at offset ${err.offset - offsetBase}` : '';
  return m[0] === code ? `${message}${at}: ${code}` : `${message}${at}: ${m[0]} (extended: ${code})`;
}

/**
 * A failure of the database as D1 throws it: "D1_ERROR: <message>", cause the DoSQLError.
 * @param {unknown} err @param {boolean} [ofStatements]  err answered statements (d1Message)
 */
function toD1Error(err, ofStatements = false) {
  if (err instanceof Error && /^D1_[A-Z_]+: /.test(err.message)) return err;
  return d1Error('D1_ERROR', d1Message(err, 0, ofStatements), err);
}

/** Rethrow as D1 does. @param {unknown} err @returns {never} */
function rethrowD1(err) {
  throw toD1Error(err);
}

/**
 * The SQL text given to prepare() or exec(): a string, or a boxed one (D1 takes it).
 * @param {unknown} sql @param {string} method @returns {string}
 */
function sqlText(sql, method) {
  if (sql instanceof String) return sql.valueOf();
  if (typeof sql !== 'string') throw new TypeError(`${method}() needs the SQL text as a string`);
  return sql;
}

/**
 * A failed exec() as D1 words it: "D1_EXEC_ERROR: Error in line N: <that line>:
 * <message>", N the line of the script (trimmed, as D1 splits it, and as sent) where
 * the failing statement begins, and SQLite's offset counted from that line's start (from
 * the statement's, when one ends before it on the line).
 * The object gives byte offsets into the script (statementOffset, offset); an error of
 * the request as a whole (its size, the object unavailable) has none, and names no line.
 * @param {string} script @param {any} err
 */
function execError(script, err) {
  if (!Number.isInteger(err?.statementOffset)) return d1Error('D1_EXEC_ERROR', d1Message(err, 0, true), err);
  const lines = script.split('\n');
  const bytes = new TextEncoder().encode(script);
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < err.statementOffset && i < bytes.length; i++) {
    if (bytes[i] === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  // D1 counts a token's offset from the line, or from the statement when another ends
  // before it on that line ("SELECT 1; SELEC 2;": offset 0).
  const first = bytes.subarray(lineStart, err.statementOffset).every((b) => b === 32 || b === 9 || b === 13);
  const text = `Error in line ${line}: ${lines[line - 1] ?? ''}: ${d1Message(err, first ? lineStart : err.statementOffset, true)}`;
  return d1Error('D1_EXEC_ERROR', text, err);
}

/** Whether a D1 error is the object's SQLite refusing the statement (a 4xx answer),
 *  not a failure to answer (5xx, no answer). @param {any} err */
function judgedBySqlite(err) {
  const cause = err?.cause;
  return cause instanceof DoSQLError && cause.status >= 400 && cause.status < 500;
}

/** Whether an error means the object no longer holds the transaction. @param {any} err */
function endsTransaction(err) {
  return err?.code === 'TRANSACTION_ABORTED' || err?.code === 'TRANSACTION_EXPIRED';
}

/**
 * The transaction statement the object refused a statement as (SQLite's parser
 * decided: BEGIN, COMMIT / END, ROLLBACK), or null.
 * @param {any} err  a D1 error whose cause is the DoSQLError
 * @returns {'begin' | 'commit' | 'rollback' | null}
 */
function transactionStatement(err) {
  const cause = err?.cause;
  if (!(cause instanceof DoSQLError) || cause.code !== 'TRANSACTION_STATEMENT') return null;
  const which = /** @type {any} */ (cause).statement;
  return which === 'begin' || which === 'commit' || which === 'rollback' ? which : null;
}
