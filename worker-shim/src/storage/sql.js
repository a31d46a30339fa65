// storage/sql.js — pages in a SQLite-backed Durable Object (`new_sqlite_classes`).
//
// One page is one row of dosql_pages. Every call is synchronous (ctx.storage.sql),
// so this adapter never faults. A commit is one transactionSync(): it lands whole
// or not at all, and the output gate holds the response until it is durable.
// stats counts the rows Durable Objects bill for, as the cursors report them.
//
// An import stages its pages in dosql_import_pages through an adapter of its own,
// and swaps it in with DROP TABLE and ALTER TABLE ... RENAME in one transactionSync.

/** @typedef {import('../wasm/host.js').CommitBatch} CommitBatch */

const PAGES_TABLE = 'dosql_pages';
const IMPORT_TABLE = 'dosql_import_pages';

/** A SQLite-backed object stores at most 10 GB, the staged file and the live database together. */
export const MAX_IMPORT_BYTES = 10_000_000_000;

/** @param {string} table */
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

/** rows*: billed; pagesRead: readPage calls that found a page.
 *  @typedef {{rowsRead: number, rowsWritten: number, pagesRead: number, pagesWritten: number, commits: number}} SqlStorageStats */

export class SqlPageStorage {
  /** Whether a commit of this instance has dropped stray pages above the end. */
  #reconciled = false;
  /** @type {any} DurableObjectStorage */
  #storage;
  /** @type {any} SqlStorage */
  #sql;
  #table;
  #statements;
  maxImportBytes = MAX_IMPORT_BYTES;
  /** @type {SqlStorageStats} */
  stats = { rowsRead: 0, rowsWritten: 0, pagesRead: 0, pagesWritten: 0, commits: 0 };

  /** @param {any} storage  ctx.storage of a SQLite-backed Durable Object @param {{table?: string}} [options] */
  constructor(storage, { table = PAGES_TABLE } = {}) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#table = table;
    this.#statements = statementsOn(table);
    this.#count(this.#sql.exec(this.#statements.createTable));
  }

  /** @param {number} pgno @returns {Uint8Array | null} */
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
   * Write a commit batch in one transaction; throws, having written nothing, on failure.
   * @param {CommitBatch} batch
   * @param {() => void} [alongside]  more writes of the transaction (the cold tier's manifest)
   */
  commit({ oldPageCount, newPageCount, pages }, alongside) {
    this.#storage.transactionSync(() => {
      this.putPages(pages);
      // Pages above the new end go; on this instance's first commit also strays an
      // interrupted shrink left (SQLite truncates only after the commit).
      if (newPageCount < oldPageCount || !this.#reconciled) {
        this.#count(this.#sql.exec(this.#statements.dropPagesAbove, newPageCount));
      }
      alongside?.();
    });
    this.#reconciled = true;
    this.stats.pagesWritten += pages.length;
    this.stats.commits++;
  }

  /** Inside transaction() or commit()'s alongside. @param {{pgno: number, data: Uint8Array}[]} pages */
  putPages(pages) {
    for (const { pgno, data } of pages) {
      this.#count(this.#sql.exec(this.#statements.upsertPage, pgno, wholeBuffer(data)));
    }
  }

  /** Inside transaction(). @param {number} first @param {number} last */
  deletePages(first, last) {
    this.#count(this.#sql.exec(this.#statements.deletePagesBetween, first, last));
  }

  /** Row by row, ascending: a hot tier of gigabytes has millions of pages. @param {(pgno: number) => void} fn */
  eachPageNumber(fn) {
    const cursor = this.#sql.exec(this.#statements.selectPgnos);
    for (const row of cursor.raw()) fn(Number(row[0]));
    this.#count(cursor);
  }

  /** 0 when no page is stored. */
  storedPageSize() {
    const sized = this.exec(this.#statements.selectPageSize);
    return sized.length ? Number(sized[0][0]) : 0;
  }

  /** @template T @param {() => T} fn @returns {T} */
  transaction(fn) {
    return this.#storage.transactionSync(fn);
  }

  /** One statement (the cold tier's tables), counted in stats; its raw rows.
   *  @param {string} sql @param {...unknown} bindings @returns {unknown[][]} */
  exec(sql, ...bindings) {
    const cursor = this.#sql.exec(sql, ...bindings);
    const rows = [...cursor.raw()];
    this.#count(cursor);
    return rows;
  }

  async prefetch() {}

  // ---- imports ------------------------------------------------------------------

  /** An adapter on IMPORT_TABLE, emptied first (an abandoned import may have left pages). @returns {SqlPageStorage} */
  stageImport() {
    this.#count(this.#sql.exec(`DROP TABLE IF EXISTS ${IMPORT_TABLE}`));
    return new SqlPageStorage(this.#storage, { table: IMPORT_TABLE });
  }

  /**
   * Make staged's pages the database: its table takes this one's name, in one transaction.
   * @param {SqlPageStorage} staged @param {() => void} [alongside]  more writes of the transaction
   */
  replaceWith(staged, alongside) {
    this.#storage.transactionSync(() => {
      this.#count(this.#sql.exec(`DROP TABLE ${this.#table}`));
      this.#count(this.#sql.exec(`ALTER TABLE ${staged.#table} RENAME TO ${this.#table}`));
      alongside?.();
    });
  }

  /** @param {SqlPageStorage} staged */
  discardImport(staged) {
    this.#count(this.#sql.exec(`DROP TABLE IF EXISTS ${staged.#table}`));
  }

  /** Finish a cursor and add its billed rows to stats. @param {any} cursor  SqlStorageCursor */
  #count(cursor) {
    for (const _ of cursor.raw()) {
      // drain: the row counts are final only once the statement is done
    }
    this.stats.rowsRead += cursor.rowsRead;
    this.stats.rowsWritten += cursor.rowsWritten;
  }
}

/** An ArrayBuffer of exactly data's bytes (what sql.exec binds as a BLOB). @param {Uint8Array} data @returns {ArrayBuffer} */
function wholeBuffer(data) {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return /** @type {ArrayBuffer} */ (data.buffer);
  return /** @type {ArrayBuffer} */ (data.slice().buffer);
}
