// storage/sql.js — pages in a SQLite-backed Durable Object (`new_sqlite_classes`).
//
// One page is one row of the table dosql_pages. Every call is synchronous
// (ctx.storage.sql), so this adapter never faults: prefetch has nothing to do.
// A commit is one ctx.storage.transactionSync(), so it lands whole or not at all,
// and the output gate holds the response until it is durable.
//
// stats counts the rows Durable Objects bill for: every row read and written
// (writes cost about 1000 reads), as the cursors report them.
//
// POST /import (durable-object/file-import.js) stages the file's pages in a second
// table, dosql_import_pages, through an adapter of its own (the `table` option), and
// swaps it in with DROP TABLE and ALTER TABLE ... RENAME in one transactionSync.

/** @typedef {import('../wasm/host.js').CommitBatch} CommitBatch */

/** The database's pages, and an import's until they replace them. */
const PAGES_TABLE = 'dosql_pages';
const IMPORT_TABLE = 'dosql_import_pages';

/** Largest file POST /import takes (bytes): a SQLite-backed object stores at
 *  most 10 GB, and the staged file shares that with the live database. */
export const MAX_IMPORT_BYTES = 10_000_000_000;

/**
 * The statements on one table of pages.
 * @param {string} table
 */
function statementsOn(table) {
  return Object.freeze({
    createTable: `CREATE TABLE IF NOT EXISTS ${table} (pgno INTEGER PRIMARY KEY, data BLOB NOT NULL)`,
    selectPage: `SELECT data FROM ${table} WHERE pgno = ?`,
    upsertPage: `INSERT INTO ${table} (pgno, data) VALUES (?, ?) ON CONFLICT (pgno) DO UPDATE SET data = excluded.data`,
    dropPagesAbove: `DELETE FROM ${table} WHERE pgno > ?`,
    deletePagesBetween: `DELETE FROM ${table} WHERE pgno BETWEEN ? AND ?`,
    selectPgnos: `SELECT pgno FROM ${table} ORDER BY pgno`,
    selectPageSize: `SELECT length(data) FROM ${table} LIMIT 1`,
  });
}

/**
 * @typedef {object} SqlStorageStats
 * @property {number} rowsRead  billed rows read
 * @property {number} rowsWritten  billed rows written
 * @property {number} pagesRead  readPage calls that found a page
 * @property {number} pagesWritten  pages written by commits
 * @property {number} commits
 */

export class SqlPageStorage {
  /** Whether a commit of this instance has dropped stray pages above the end. */
  #reconciled = false;
  /** @type {any} DurableObjectStorage */
  #storage;
  /** @type {any} SqlStorage */
  #sql;
  #table;
  #statements;
  /** Largest file POST /import takes into this object (bytes). */
  maxImportBytes = MAX_IMPORT_BYTES;
  /** @type {SqlStorageStats} */
  stats = { rowsRead: 0, rowsWritten: 0, pagesRead: 0, pagesWritten: 0, commits: 0 };

  /**
   * @param {any} storage  ctx.storage of a SQLite-backed Durable Object
   * @param {{table?: string}} [options]  table: the pages' table (an import's
   *   staged pages are an adapter on IMPORT_TABLE)
   */
  constructor(storage, { table = PAGES_TABLE } = {}) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#table = table;
    this.#statements = statementsOn(table);
    this.#count(this.#sql.exec(this.#statements.createTable));
  }

  /**
   * The stored bytes of page pgno, or null when there is no such page.
   * @param {number} pgno
   * @returns {Uint8Array | null}
   */
  readPage(pgno) {
    const cursor = this.#sql.exec(this.#statements.selectPage, pgno);
    /** @type {ArrayBuffer | null} */
    let data = null;
    for (const row of cursor.raw()) data = row[0];
    this.#count(cursor);
    if (data === null) return null;
    this.stats.pagesRead++;
    return new Uint8Array(data);
  }

  /**
   * Write one commit batch in one synchronous storage transaction.
   * Throws (and writes nothing) on failure.
   * @param {CommitBatch} batch
   * @param {() => void} [alongside]  more writes of the same transaction (the
   *   cold tier's manifest): if it throws, nothing is written
   */
  commit({ oldPageCount, newPageCount, pages }, alongside) {
    this.#storage.transactionSync(() => {
      this.putPages(pages);
      // Pages above the new end go. On the first commit of this instance also
      // drop any above it that an interrupted shrink left behind: SQLite shrinks
      // a file only after the commit that makes those pages unused.
      if (newPageCount < oldPageCount || !this.#reconciled) {
        this.#count(this.#sql.exec(this.#statements.dropPagesAbove, newPageCount));
      }
      alongside?.();
    });
    this.#reconciled = true;
    this.stats.pagesWritten += pages.length;
    this.stats.commits++;
  }

  /**
   * Write pages (inside transaction() or commit()'s alongside).
   * @param {{pgno: number, data: Uint8Array}[]} pages
   */
  putPages(pages) {
    for (const { pgno, data } of pages) {
      this.#count(this.#sql.exec(this.#statements.upsertPage, pgno, wholeBuffer(data)));
    }
  }

  /**
   * Delete pages first..last (inside transaction()).
   * @param {number} first
   * @param {number} last
   */
  deletePages(first, last) {
    this.#count(this.#sql.exec(this.#statements.deletePagesBetween, first, last));
  }

  /**
   * Call fn with the number of every stored page, ascending, row by row (a
   * hot tier of gigabytes has millions: never all in one array).
   * @param {(pgno: number) => void} fn
   */
  eachPageNumber(fn) {
    const cursor = this.#sql.exec(this.#statements.selectPgnos);
    for (const row of cursor.raw()) fn(Number(row[0]));
    this.#count(cursor);
  }

  /** The size of a stored page, 0 when there is none. */
  storedPageSize() {
    const sized = this.exec(this.#statements.selectPageSize);
    return sized.length ? Number(sized[0][0]) : 0;
  }

  /**
   * Run fn in one synchronous storage transaction: all its writes or none.
   * @template T
   * @param {() => T} fn
   * @returns {T}
   */
  transaction(fn) {
    return this.#storage.transactionSync(fn);
  }

  /**
   * One statement on the object's SQL storage, counted in stats: its rows, raw.
   * For the tables of other parts of the adapter (the cold tier's manifest).
   * @param {string} sql
   * @param {...unknown} bindings
   * @returns {unknown[][]}
   */
  exec(sql, ...bindings) {
    const cursor = this.#sql.exec(sql, ...bindings);
    const rows = [...cursor.raw()];
    this.#count(cursor);
    return rows;
  }

  /** Nothing to fetch: every page is readable synchronously. */
  async prefetch() {}

  // ---- imports (durable-object/file-import.js) ---------------------------------------------------------

  /**
   * Where an import stages its pages: IMPORT_TABLE, emptied first (an abandoned
   * import may have left pages there), as an adapter of its own.
   * @returns {SqlPageStorage}
   */
  stageImport() {
    this.#count(this.#sql.exec(`DROP TABLE IF EXISTS ${IMPORT_TABLE}`));
    return new SqlPageStorage(this.#storage, { table: IMPORT_TABLE });
  }

  /**
   * Make staged's pages the database, in one transactionSync: this adapter's
   * table is dropped and staged's takes its name, so this adapter reads the
   * new pages from now on.
   * @param {SqlPageStorage} staged  from stageImport()
   * @param {() => void} [alongside]  more writes of the same transaction (the
   *   cold tier forgets the old database's groups)
   */
  replaceWith(staged, alongside) {
    this.#storage.transactionSync(() => {
      this.#count(this.#sql.exec(`DROP TABLE ${this.#table}`));
      this.#count(this.#sql.exec(`ALTER TABLE ${staged.#table} RENAME TO ${this.#table}`));
      alongside?.();
    });
  }

  /**
   * Drop the staged pages of an import that was refused.
   * @param {SqlPageStorage} staged  from stageImport()
   */
  discardImport(staged) {
    this.#count(this.#sql.exec(`DROP TABLE IF EXISTS ${staged.#table}`));
  }

  /**
   * Finish a cursor and add its billed rows to stats.
   * @param {any} cursor  SqlStorageCursor
   */
  #count(cursor) {
    for (const _ of cursor.raw()) {
      // drain: the row counts are final only once the statement is done
    }
    this.stats.rowsRead += cursor.rowsRead;
    this.stats.rowsWritten += cursor.rowsWritten;
  }
}

/**
 * The bytes of data as an ArrayBuffer of exactly that length (the form
 * sql.exec binds as a BLOB).
 * @param {Uint8Array} data
 * @returns {ArrayBuffer}
 */
function wholeBuffer(data) {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return /** @type {ArrayBuffer} */ (data.buffer);
  return /** @type {ArrayBuffer} */ (data.slice().buffer);
}
