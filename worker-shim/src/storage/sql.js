// storage/sql.js — pages in a SQLite-backed Durable Object (`new_sqlite_classes`).
//
// The format (docs/storage-format.md) is a page log over packed page groups:
//
//   dosql_page_log     one row per commit (more past LOG_ROW_BYTES): its pages. Rows
//                      sit in LOG_SLOTS slots, reused in turn, so a commit writes one
//                      row and deletes none
//   dosql_page_groups  HOT_GROUP_PAGES consecutive pages per row: the state as of
//                      the last checkpoint
//   dosql_page_state   one row: page size, group size, and how far the groups go
//                      (the page count, and the last log row folded into them)
//
// A page's newest version is in the log when a row since the checkpoint holds it
// (an index in memory, rebuilt on open from those rows' page numbers), else in its
// group, unless a commit since the checkpoint truncated the database below it. A
// checkpoint, every CHECKPOINT_ROWS rows or CHECKPOINT_BYTES of distinct pages, rewrites the groups
// the log touched (and trims those a truncation cut), inside the commit's own
// transaction. A commit too large for the log goes straight into the groups.
//
// Every write is one transactionSync(): it lands whole or not at all, and the output
// gate holds the response until it is durable. When one throws, the state in memory
// is read again from storage. Every call is synchronous (ctx.storage.sql), so this
// adapter never faults. stats counts the rows Durable Objects bill for.
//
// An import stages its file through an adapter on tables of its own (dosql_import_*)
// and swaps them in with DROP TABLE and ALTER TABLE ... RENAME in one transaction.
// A database in the first format (one row per page, dosql_pages) moves into groups
// on open, in steps that each commit, so a crash mid-way resumes (upgradeFromPages).

import {
  CHECKPOINT_BYTES, CHECKPOINT_ROWS, GROUP_CACHE_BYTES, HOT_GROUP_BYTES, HOT_GROUP_PAGES, LOG_ROW_BYTES, LOG_SLOTS,
} from '../config.js';
import { concatPages, decodeGroup, decodePgnos, encodeGroup, encodePgnos } from './page-blobs.js';

/** @typedef {import('../wasm/host.js').CommitBatch} CommitBatch */

const FORMAT = 2;
const LIVE_PREFIX = 'dosql_';
const IMPORT_PREFIX = 'dosql_import_';
/** The first format's table (one row per page), by prefix. @param {string} prefix */
const firstFormatTable = (prefix) => `${prefix}pages`;
const V1_PAGES = firstFormatTable(LIVE_PREFIX);

/** The format's sizes (config.js); tests pass smaller ones to reach every path with little data.
 *  @typedef {{logSlots: number, checkpointRows: number, checkpointBytes: number, logRowBytes: number,
 *    groupBytes: number, groupPages: number, upgradeGroups: number}} Tuning */
/** @type {Tuning} */
const TUNING = Object.freeze({
  logSlots: LOG_SLOTS,
  checkpointRows: CHECKPOINT_ROWS,
  checkpointBytes: CHECKPOINT_BYTES,
  logRowBytes: LOG_ROW_BYTES,
  groupBytes: HOT_GROUP_BYTES,
  groupPages: HOT_GROUP_PAGES,
  upgradeGroups: 64, // groups moved per transaction when upgrading from the first format
});

/** A SQLite-backed object stores at most 10 GB, the staged file and the live database together. */
export const MAX_IMPORT_BYTES = 10_000_000_000;

/** @param {string} prefix */
function statementsOn(prefix) {
  const log = `${prefix}page_log`;
  const groups = `${prefix}page_groups`;
  const state = `${prefix}page_state`;
  return Object.freeze({
    tables: [log, groups, state],
    create: [
      `CREATE TABLE IF NOT EXISTS ${state} (id INTEGER PRIMARY KEY CHECK (id = 1), format INTEGER NOT NULL,` +
        ' page_size INTEGER NOT NULL, group_pages INTEGER NOT NULL, page_count INTEGER NOT NULL, seq INTEGER NOT NULL, lsn INTEGER NOT NULL)',
      `CREATE TABLE IF NOT EXISTS ${log} (slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL, lsn INTEGER NOT NULL, ts INTEGER NOT NULL,` +
        ' page_count INTEGER NOT NULL, pgnos BLOB NOT NULL, data BLOB NOT NULL)',
      `CREATE TABLE IF NOT EXISTS ${groups} (grp INTEGER PRIMARY KEY, mask INTEGER NOT NULL, data BLOB NOT NULL)`,
    ],
    selectState: `SELECT page_size, group_pages, page_count, seq, lsn FROM ${state} WHERE id = 1`,
    upsertState:
      `INSERT INTO ${state} (id, format, page_size, group_pages, page_count, seq, lsn) VALUES (1, ${FORMAT}, ?, ?, ?, ?, ?)` +
      ' ON CONFLICT (id) DO UPDATE SET page_size = excluded.page_size, group_pages = excluded.group_pages,' +
      ' page_count = excluded.page_count, seq = excluded.seq, lsn = excluded.lsn',
    selectLogSince: `SELECT slot, seq, lsn, page_count, pgnos FROM ${log} WHERE seq > ? ORDER BY seq`,
    upsertLogRow:
      `INSERT INTO ${log} (slot, seq, lsn, ts, page_count, pgnos, data) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (slot) DO UPDATE SET` +
      ' seq = excluded.seq, lsn = excluded.lsn, ts = excluded.ts, page_count = excluded.page_count, pgnos = excluded.pgnos, data = excluded.data',
    selectLogPage: `SELECT substr(data, ?, ?) FROM ${log} WHERE slot = ?`,
    selectGroup: `SELECT mask, data FROM ${groups} WHERE grp = ?`,
    selectMasks: `SELECT grp, mask FROM ${groups} ORDER BY grp`,
    selectLastGroup: `SELECT max(grp) FROM ${groups}`,
    upsertGroup: `INSERT INTO ${groups} (grp, mask, data) VALUES (?, ?, ?) ON CONFLICT (grp) DO UPDATE SET mask = excluded.mask, data = excluded.data`,
    deleteGroup: `DELETE FROM ${groups} WHERE grp = ?`,
    deleteGroupsAbove: `DELETE FROM ${groups} WHERE grp > ?`,
  });
}

/** rows*: billed; pagesRead: readPage calls that found a page.
 *  @typedef {{rowsRead: number, rowsWritten: number, pagesRead: number, pagesWritten: number, commits: number, checkpoints: number}} SqlStorageStats */

/** Where a page's newest version is in the log: its row's slot, its place in the row, and its
 *  bytes when this instance wrote them (a checkpoint and reads need no query then; the pages
 *  logged since the checkpoint are at most CHECKPOINT_BYTES). @typedef {{slot: number, index: number, data?: Uint8Array}} LogPlace */

/** A group as read: its pages by position. @typedef {{pages: (Uint8Array | null)[], bytes: number}} CachedGroup */

export class SqlPageStorage {
  /** @type {any} DurableObjectStorage */
  #storage;
  /** @type {any} SqlStorage */
  #sql;
  #prefix;
  #statements;
  #tuning;
  // What dosql_page_state says (0s for a database with no commit yet).
  #pageSize = 0;
  #groupPages = 0;
  #checkpointSeq = 0;
  #checkpointLsn = 0;
  // The log since the checkpoint.
  /** @type {Map<number, LogPlace>} */
  #logPages = new Map();
  #nextSeq = 1;
  #lsn = 0;
  #logRows = 0;
  /** The page count as the last commit left it: only a smaller one is a truncation. */
  #pageCount = 0;
  /** The lowest page count a commit since the checkpoint truncated to: a grouped page
   *  above it is gone. Infinity when none did. */
  #lowWater = Infinity;
  /** Least recently used first. @type {Map<number, CachedGroup>} */
  #cache = new Map();
  #cacheBytes = 0;
  maxImportBytes = MAX_IMPORT_BYTES;
  /** @type {SqlStorageStats} */
  stats = { rowsRead: 0, rowsWritten: 0, pagesRead: 0, pagesWritten: 0, commits: 0, checkpoints: 0 };

  /** @param {any} storage  ctx.storage of a SQLite-backed Durable Object @param {{prefix?: string, tuning?: Partial<Tuning>}} [options] */
  constructor(storage, { prefix = LIVE_PREFIX, tuning = {} } = {}) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#prefix = prefix;
    this.#tuning = { ...TUNING, ...tuning };
    this.#statements = statementsOn(prefix);
    this.#storage.transactionSync(() => this.#statements.create.forEach((sql) => this.exec(sql)));
    if (prefix === LIVE_PREFIX) this.#upgradeFromPages();
    this.#load();
  }

  /** @param {number} pgno @returns {Uint8Array | null} */
  readPage(pgno) {
    if (this.#pageSize === 0) return null;
    const place = this.#logPages.get(pgno);
    let page = null;
    if (place) {
      page = this.#logPage(place);
    } else if (pgno <= this.#lowWater) {
      page = this.#group(this.#groupOf(pgno))?.pages[(pgno - 1) % this.#groupPages] ?? null;
    }
    if (page) this.stats.pagesRead++;
    return page;
  }

  /**
   * Write a commit batch as one log row (more past LOG_ROW_BYTES) in one transaction,
   * checkpointing when the log is due; throws, having written nothing, on failure.
   * @param {CommitBatch} batch
   * @param {() => void} [alongside]  more writes of the transaction (the cold tier's manifest)
   */
  commit({ pageSize, newPageCount, pages }, alongside) {
    this.#write(() => {
      if (this.#pageSize === 0) this.#begin(pageSize);
      const { logSlots, logRowBytes, checkpointRows, checkpointBytes } = this.#tuning;
      const perRow = Math.max(1, Math.floor(logRowBytes / this.#pageSize));
      const rows = Math.max(1, Math.ceil(pages.length / perRow));
      if (this.#logRows + rows > logSlots - 1) this.#checkpoint();
      const lsn = this.#lsn + 1;
      const ts = Date.now();
      this.#truncate(newPageCount);
      if (rows > checkpointRows) {
        // The checkpoint records this commit's lsn; its pages follow in the same transaction.
        this.#lsn = lsn;
        this.#checkpoint();
        this.#putPagesInGroups(pages);
        alongside?.();
        return;
      }
      for (let first = 0, row = 0; row < rows; row++, first += perRow) {
        const part = pages.slice(first, first + perRow);
        const seq = this.#nextSeq++;
        const slot = seq % logSlots;
        const data = concatPages(part.map((p) => p.data), this.#pageSize);
        this.exec(this.#statements.upsertLogRow, slot, seq, lsn, ts, newPageCount, encodePgnos(part.map((p) => p.pgno)).buffer, data.buffer);
        part.forEach(({ pgno, data: page }, index) => this.#logPages.set(pgno, { slot, index, data: page }));
      }
      this.#logRows += rows;
      this.#lsn = lsn;
      if (this.#logRows >= checkpointRows || this.#logPages.size * this.#pageSize >= checkpointBytes) this.#checkpoint();
      alongside?.();
    });
    this.stats.pagesWritten += pages.length;
    this.stats.commits++;
  }

  /**
   * Store pages that were not here (the cold tier's promotions), straight into their
   * groups. Inside transaction() or commit()'s alongside.
   * @param {{pgno: number, data: Uint8Array}[]} pages
   */
  putPages(pages) {
    if (pages.some(({ pgno }) => this.#logPages.has(pgno) || pgno > this.#lowWater)) this.#checkpoint();
    this.#putPagesInGroups(pages);
  }

  /** Remove pages first..last (the cold tier's demotions). Inside transaction(). @param {number} first @param {number} last */
  deletePages(first, last) {
    if ([...this.#logPages.keys()].some((pgno) => pgno >= first && pgno <= last)) this.#checkpoint();
    for (let group = this.#groupOf(first); group <= this.#groupOf(last); group++) {
      const base = group * this.#groupPages + 1;
      const slots = this.#groupSlots(group).map((page, i) => (base + i >= first && base + i <= last ? null : page));
      this.#putGroup(group, slots);
    }
  }

  /** Ascending, each stored page once. @param {(pgno: number) => void} fn */
  eachPageNumber(fn) {
    const pgnos = new Set(this.#logPages.keys());
    for (const [group, mask] of this.exec(this.#statements.selectMasks)) {
      for (let i = 0; i < this.#groupPages; i++) {
        const pgno = Number(group) * this.#groupPages + i + 1;
        if (((Number(mask) >>> i) & 1) === 1 && pgno <= this.#lowWater) pgnos.add(pgno);
      }
    }
    [...pgnos].sort((a, b) => a - b).forEach(fn);
  }

  /** 0 when no page is stored. */
  storedPageSize() {
    return this.#pageSize;
  }

  /** @template T @param {() => T} fn @returns {T} */
  transaction(fn) {
    return this.#write(fn);
  }

  /** One statement (the cold tier's tables), counted in stats; its raw rows.
   *  @param {string} sql @param {...unknown} bindings @returns {unknown[][]} */
  exec(sql, ...bindings) {
    const cursor = this.#sql.exec(sql, ...bindings);
    const rows = [...cursor.raw()];
    this.stats.rowsRead += cursor.rowsRead;
    this.stats.rowsWritten += cursor.rowsWritten;
    return rows;
  }

  async prefetch() {}

  // ---- imports ------------------------------------------------------------------

  /** An adapter on the import's tables, emptied first (an abandoned import may have left pages). @returns {SqlPageStorage} */
  stageImport() {
    this.#dropTables(IMPORT_PREFIX);
    return new SqlPageStorage(this.#storage, { prefix: IMPORT_PREFIX, tuning: this.#tuning });
  }

  /**
   * Make staged's pages the database: its tables take this one's names, in one transaction.
   * @param {SqlPageStorage} staged @param {() => void} [alongside]  more writes of the transaction
   */
  replaceWith(staged, alongside) {
    this.#write(() => {
      this.#dropTables(this.#prefix);
      staged.#statements.tables.forEach((table, i) => this.exec(`ALTER TABLE ${table} RENAME TO ${this.#statements.tables[i]}`));
      alongside?.();
    });
    this.#load();
  }

  /** @param {SqlPageStorage} staged */
  discardImport(staged) {
    this.#dropTables(staged.#prefix);
  }

  // ---- the log and the groups ------------------------------------------------------

  /** The first commit fixes the page and group sizes. @param {number} pageSize */
  #begin(pageSize) {
    this.#pageSize = pageSize;
    this.#groupPages = Math.max(1, Math.min(this.#tuning.groupPages, Math.floor(this.#tuning.groupBytes / pageSize)));
    this.#saveState();
  }

  /** The page count becomes count: log pages above it go, and grouped ones stop counting. @param {number} count */
  #truncate(count) {
    if (count < this.#pageCount) {
      for (const pgno of this.#logPages.keys()) if (pgno > count) this.#logPages.delete(pgno);
      this.#lowWater = Math.min(this.#lowWater, count);
    }
    this.#pageCount = count;
  }

  /** Fold the log into the groups (inside a transaction): every group it touched is
   *  rewritten once, and those above a truncation are trimmed or deleted. */
  #checkpoint() {
    const keep = this.#lowWater;
    const keepGroup = this.#groupOf(keep);
    const touched = this.#byGroup(this.#logPages.keys());
    if (keep !== Infinity) {
      this.exec(this.#statements.deleteGroupsAbove, keepGroup);
      for (const group of this.#cache.keys()) if (group > keepGroup) this.#remember(group, null, 0);
      if (keep % this.#groupPages !== 0 && !touched.has(keepGroup)) touched.set(keepGroup, []);
    }
    for (const group of [...touched.keys()].sort((a, b) => a - b)) {
      const base = group * this.#groupPages + 1;
      const slots = group > keepGroup ? new Array(this.#groupPages).fill(null) : this.#groupSlots(group).map((page, i) => (base + i > keep ? null : page));
      for (const pgno of /** @type {number[]} */ (touched.get(group))) {
        slots[pgno - base] = this.#logPage(/** @type {LogPlace} */ (this.#logPages.get(pgno)));
      }
      this.#putGroup(group, slots);
    }
    this.#checkpointSeq = this.#nextSeq - 1;
    this.#checkpointLsn = this.#lsn;
    this.#saveState();
    this.#logPages.clear();
    this.#logRows = 0;
    this.#lowWater = Infinity;
    this.stats.checkpoints++;
  }

  /** Pages into their groups, each group rewritten once. @param {{pgno: number, data: Uint8Array}[]} pages */
  #putPagesInGroups(pages) {
    const byPgno = new Map(pages.map(({ pgno, data }) => [pgno, data]));
    for (const [group, pgnos] of this.#byGroup(byPgno.keys())) {
      const slots = this.#groupSlots(group);
      for (const pgno of pgnos) slots[(pgno - 1) % this.#groupPages] = /** @type {Uint8Array} */ (byPgno.get(pgno));
      this.#putGroup(group, slots);
    }
  }

  /** A logged page's bytes: in memory when this instance wrote it, else one query. @param {LogPlace} place */
  #logPage({ slot, index, data }) {
    return data ?? new Uint8Array(/** @type {ArrayBuffer} */ (this.exec(this.#statements.selectLogPage, index * this.#pageSize + 1, this.#pageSize, slot)[0][0]));
  }

  /** A group's pages by position, a fresh array (all null when it has no row). @param {number} group */
  #groupSlots(group) {
    return [...(this.#group(group)?.pages ?? new Array(this.#groupPages).fill(null))];
  }

  /** Write a group's row (or delete it when empty), and keep it cached. @param {number} group @param {(Uint8Array | null)[]} slots */
  #putGroup(group, slots) {
    const { mask, data } = encodeGroup(slots, this.#pageSize);
    if (mask === 0) this.exec(this.#statements.deleteGroup, group);
    else this.exec(this.#statements.upsertGroup, group, mask, data.buffer);
    this.#remember(group, mask === 0 ? null : decodeGroup(mask, data.buffer, this.#pageSize, this.#groupPages), data.byteLength);
  }

  /** @param {number} group @returns {CachedGroup | null} */
  #group(group) {
    const cached = this.#cache.get(group);
    if (cached) {
      this.#cache.delete(group);
      this.#cache.set(group, cached);
      return cached;
    }
    const rows = this.exec(this.#statements.selectGroup, group);
    if (rows.length === 0) return null;
    const data = /** @type {ArrayBuffer} */ (rows[0][1]);
    return this.#remember(group, decodeGroup(Number(rows[0][0]), data, this.#pageSize, this.#groupPages), data.byteLength);
  }

  /** @param {number} group @param {(Uint8Array | null)[] | null} pages @param {number} bytes */
  #remember(group, pages, bytes) {
    const old = this.#cache.get(group);
    if (old) {
      this.#cache.delete(group);
      this.#cacheBytes -= old.bytes;
    }
    if (!pages) return null;
    // The least recently used go first, during a request too: a scan reads each group once.
    for (const [oldest, { bytes: oldestBytes }] of this.#cache) {
      if (this.#cacheBytes + bytes <= GROUP_CACHE_BYTES) break;
      this.#cache.delete(oldest);
      this.#cacheBytes -= oldestBytes;
    }
    const cached = { pages, bytes };
    this.#cache.set(group, cached);
    this.#cacheBytes += bytes;
    return cached;
  }

  /** Page numbers by group, ascending within each. @param {Iterable<number>} pgnos @returns {Map<number, number[]>} */
  #byGroup(pgnos) {
    /** @type {Map<number, number[]>} */
    const groups = new Map();
    for (const pgno of [...pgnos].sort((a, b) => a - b)) {
      const group = this.#groupOf(pgno);
      const list = groups.get(group);
      if (list) list.push(pgno);
      else groups.set(group, [pgno]);
    }
    return groups;
  }

  /** @param {number} pgno */
  #groupOf(pgno) {
    return Math.floor((pgno - 1) / this.#groupPages);
  }

  /** The checkpoint as dosql_page_state keeps it (the page count is the one it left). */
  #saveState() {
    this.exec(this.#statements.upsertState, this.#pageSize, this.#groupPages, this.#pageCount, this.#checkpointSeq, this.#checkpointLsn);
  }

  // ---- opening -------------------------------------------------------------------

  /** Read the state and the log since the checkpoint: the whole state in memory, cache emptied. */
  #load() {
    this.#cache.clear();
    this.#cacheBytes = 0;
    this.#logPages.clear();
    this.#logRows = 0;
    const [state] = this.exec(this.#statements.selectState);
    [this.#pageSize, this.#groupPages, this.#pageCount, this.#checkpointSeq, this.#checkpointLsn] = state ? state.map(Number) : [0, 0, 0, 0, 0];
    this.#lowWater = Infinity;
    this.#nextSeq = this.#checkpointSeq + 1;
    this.#lsn = this.#checkpointLsn;
    for (const [slot, seq, lsn, pageCount, pgnos] of this.exec(this.#statements.selectLogSince, this.#checkpointSeq)) {
      this.#truncate(Number(pageCount));
      decodePgnos(/** @type {ArrayBuffer} */ (pgnos)).forEach((pgno, index) => this.#logPages.set(pgno, { slot: Number(slot), index }));
      this.#logRows++;
      this.#nextSeq = Number(seq) + 1;
      this.#lsn = Number(lsn);
    }
  }

  /**
   * Run fn in one transaction; when it throws, nothing was written, so the state in
   * memory (which fn may have changed) is read again from storage.
   * @template T @param {() => T} fn @returns {T}
   */
  #write(fn) {
    try {
      return this.#storage.transactionSync(fn);
    } catch (err) {
      this.#load();
      throw err;
    }
  }

  /** @param {string} prefix */
  #dropTables(prefix) {
    const tables = [...statementsOn(prefix).tables, firstFormatTable(prefix)];
    tables.forEach((table) => this.exec(`DROP TABLE IF EXISTS ${table}`));
  }

  /**
   * A database of the first format (dosql_pages, one row per page) moves into groups:
   * tuning.upgradeGroups groups per transaction, resumed after the last group written (a
   * crash leaves each page in one table or the other), and the old table dropped with
   * the last of them. The page count is its highest page's: the first commit says
   * the true one (cold pages may lie above it; strays above the end are trimmed).
   */
  #upgradeFromPages() {
    if (this.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '${V1_PAGES}'`).length === 0) return;
    this.#load();
    if (this.#pageSize === 0) {
      const [first] = this.exec(`SELECT length(data), (SELECT max(pgno) FROM ${V1_PAGES}) FROM ${V1_PAGES} LIMIT 1`);
      if (first) {
        this.#storage.transactionSync(() => {
          this.#pageCount = Number(first[1]);
          this.#begin(Number(first[0]));
        });
      }
    }
    for (;;) {
      const last = this.exec(this.#statements.selectLastGroup)[0][0];
      const done = last === null ? 0 : (Number(last) + 1) * this.#groupPages;
      const next = this.exec(`SELECT min(pgno) FROM ${V1_PAGES} WHERE pgno > ?`, done)[0][0];
      if (next === null) break;
      const from = this.#groupOf(Number(next));
      const rows = this.exec(`SELECT pgno, data FROM ${V1_PAGES} WHERE pgno BETWEEN ? AND ?`, from * this.#groupPages + 1, (from + this.#tuning.upgradeGroups) * this.#groupPages);
      this.#storage.transactionSync(() => this.#putPagesInGroups(rows.map(([pgno, data]) => ({ pgno: Number(pgno), data: new Uint8Array(/** @type {ArrayBuffer} */ (data)) }))));
    }
    this.exec(`DROP TABLE ${V1_PAGES}`);
  }
}
