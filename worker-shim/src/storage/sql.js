// storage/sql.js — pages in a SQLite-backed Durable Object (`new_sqlite_classes`).
//
// The format (docs/storage-format.md) is a page log over packed page groups:
//
//   dosql_page_log     one row per commit (more past LOG_ROW_BYTES): its pages, each
//                      whole or as the bytes that changed since its previous version in
//                      the log (a delta, LOG_DELTA_CHAIN at most in a row). Rows sit in
//                      LOG_SLOTS slots, reused in turn, so a commit writes one row and
//                      deletes none
//   dosql_page_groups  HOT_GROUP_PAGES consecutive pages per row: the state as of
//                      the last checkpoint
//   dosql_page_state   one row: page size, group size, and how far the groups go
//                      (the page count, and the last log row folded into them)
//   dosql_page_history one row per checkpoint (more past LOG_ROW_BYTES): the group
//                      versions it replaced, each with the lsn that replaced it, and
//                      the times of the commits it folded
//   dosql_page_index   one row: what the log rows since the checkpoint say (where each
//                      logged page's versions are), as of a commit: rewritten every
//                      LOG_INDEX_ROWS rows, so that an open reads that row and the log
//                      rows after it, not every row since the checkpoint
//
// A page's newest version is in the log when a row since the checkpoint holds it (an
// index in memory, rebuilt on open from dosql_page_index and the page numbers of the rows
// after it), else in its group, unless a commit since the checkpoint truncated the
// database below it. A checkpoint, every CHECKPOINT_ROWS rows or CHECKPOINT_BYTES of
// distinct pages, rewrites the groups the log touched (and trims those a truncation
// cut), inside the commit's own transaction. A commit too large for the log goes
// straight into the groups.
//
// Every write is one transactionSync(): it lands whole or not at all, and the output
// gate holds the response until it is durable. When one throws, the state in memory
// is read again from storage. Every call is synchronous (ctx.storage.sql), so this
// adapter never faults. stats counts the rows Durable Objects bill for.
//
// History (docs/history.md): log rows stay until their slot is reused, so every
// version a commit wrote is kept, and a checkpoint keeps the group versions it
// replaces. A page as of lsn L is, in order: its newest write at or before L in the
// log rows of L's span (the commits one checkpoint folds); the first version a
// later checkpoint replaced after L; its checkpointed version now. A span is history
// while its first log row is (the ring has not come round), for HISTORY_WINDOW_MS
// after its last commit, and while history holds no more than HISTORY_MAX_BYTES.
//
// An import stages its file through an adapter on tables of its own (dosql_import_*)
// and swaps them in with DROP TABLE and ALTER TABLE ... RENAME in one transaction.
// A database in the first format (one row per page, dosql_pages) moves into groups
// on open, in steps that each commit, so a crash mid-way resumes (upgradeFromPages).
// Then dosql_pages is a view first-format releases can neither read nor write
// (FIRST_FORMAT_FENCE), so one rolled back to fails instead of serving an empty database.

import {
  CHECKPOINT_BYTES, CHECKPOINT_ROWS, GROUP_CACHE_BYTES, HISTORY_MAX_BYTES, HISTORY_WINDOW_MS, HOT_GROUP_BYTES, HOT_GROUP_PAGES, LOG_CACHE_BYTES, LOG_DELTA_CHAIN,
  LOG_INDEX_ROWS, LOG_ROW_BYTES, LOG_SLOTS, SPLICE_PAGES,
} from '../config.js';
import {
  applyDelta, concatBytes, decodeGroup, decodeLogIndex, decodeLogRecords, decodeNumbers, decodePgnos, encodeDelta, encodeGroup, encodeLogIndex, encodeLogRecords,
  encodeNumbers, encodePgnos, groupPageOffset,
} from './page-blobs.js';
import { ByteCache } from './byte-cache.js';
import { checkKeys } from '../option-keys.js';
import { NO_CHANGE_NUMBERS } from '../wasm/host.js';

/** @typedef {import('../wasm/host.js').CommitBatch} CommitBatch */

/** 3: log rows may hold page deltas (rows of format 2, whole pages, read as before). */
const FORMAT = 3;
/** The log's ring before history (and its ring size in page_state) made it LOG_SLOTS. */
const PRE_HISTORY_LOG_SLOTS = 1024;
const LIVE_PREFIX = 'dosql_';
const IMPORT_PREFIX = 'dosql_import_';
/** The first format's table (one row per page), by prefix. @param {string} prefix */
const firstFormatTable = (prefix) => `${prefix}pages`;
const V1_PAGES = firstFormatTable(LIVE_PREFIX);
/**
 * Every live database of this format has it, in the first format's place: first-format
 * releases open with CREATE TABLE IF NOT EXISTS dosql_pages (which a view satisfies),
 * then every read of it fails with this message and every write with "cannot modify
 * dosql_pages because it is a view". Without it they would take the database for an
 * empty one, run the migrations and acknowledge writes that no later release reads.
 */
const FIRST_FORMAT_FENCE = (() => {
  const refusal = "json_extract('{}', 'DoSQL: a later release has upgraded this database; deploy it again (docs/deploying.md)')";
  return `CREATE VIEW ${V1_PAGES} (pgno, data) AS SELECT ${refusal}, ${refusal}`;
})();
/** Views of past lsns kept between writes (a request reads one or two). */
const MAX_VIEWS = 4;

/** The format's sizes (config.js); tests pass smaller ones to reach every path with little data.
 *  @typedef {{logSlots: number, checkpointRows: number, checkpointBytes: number, indexRows: number, logRowBytes: number, deltaChain: number,
 *    groupBytes: number, groupPages: number, upgradeGroups: number, historyMs: number, historyBytes: number, cacheBytes: number, logCacheBytes: number}} Tuning */
/** @type {Tuning} */
const TUNING = Object.freeze({
  logSlots: LOG_SLOTS,
  historyMs: HISTORY_WINDOW_MS,
  historyBytes: HISTORY_MAX_BYTES,
  checkpointRows: CHECKPOINT_ROWS,
  checkpointBytes: CHECKPOINT_BYTES,
  indexRows: LOG_INDEX_ROWS,
  logRowBytes: LOG_ROW_BYTES,
  deltaChain: LOG_DELTA_CHAIN,
  groupBytes: HOT_GROUP_BYTES,
  groupPages: HOT_GROUP_PAGES,
  cacheBytes: GROUP_CACHE_BYTES,
  logCacheBytes: LOG_CACHE_BYTES,
  upgradeGroups: 64, // groups moved per transaction when upgrading from the first format
});

/**
 * The class option `history` ({windowMs?, maxBytes?}, docs/history.md) as tuning of the
 * format; throws TypeError naming what is wrong.
 * @param {unknown} history @returns {Partial<Tuning>}
 */
export function checkHistory(history) {
  if (history === undefined) return {};
  if (typeof history !== 'object' || history === null) throw new TypeError('history must be {windowMs?, maxBytes?}');
  checkKeys(history, ['windowMs', 'maxBytes'], 'history');
  const { windowMs = HISTORY_WINDOW_MS, maxBytes = HISTORY_MAX_BYTES } = /** @type {Record<string, unknown>} */ (history);
  if (!Number.isSafeInteger(windowMs) || /** @type {number} */ (windowMs) < 0) throw new TypeError('history.windowMs must be a whole number of ms, 0 or more');
  if (!Number.isSafeInteger(maxBytes) || /** @type {number} */ (maxBytes) < 0) throw new TypeError('history.maxBytes must be a whole number of bytes, 0 or more');
  return { historyMs: /** @type {number} */ (windowMs), historyBytes: /** @type {number} */ (maxBytes) };
}

/** A SQLite-backed object stores at most 10 GB, the staged file and the live database together. */
export const MAX_IMPORT_BYTES = 10_000_000_000;

/** The state's change numbers (wasm/host.js ChangeNumbers), none until a restore or import. */
const CHANGE_NUMBER_COLUMNS =
  `change_floor INTEGER NOT NULL DEFAULT ${NO_CHANGE_NUMBERS.floor}, change_kept INTEGER NOT NULL DEFAULT ${NO_CHANGE_NUMBERS.kept}`;

/** Whether the state table has the columns this release writes (#upgradeState). @param {Set<string>} columns */
function stateIsCurrent(columns) {
  return columns.has('log_slots') && columns.has('floor') && columns.has('page_bytes') && columns.has('change_floor');
}

/** A log row's or history segment's key in the cache of their data. @param {'log' | 'history'} table @param {number} id */
const rowKey = (table, id) => `${table} ${id}`;

/** bytes as an ArrayBuffer of exactly their length, for a statement's binding. @param {Uint8Array} bytes */
function wholeBuffer(bytes) {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
}

/** @param {string} prefix */
function statementsOn(prefix) {
  const log = `${prefix}page_log`;
  const groups = `${prefix}page_groups`;
  const state = `${prefix}page_state`;
  const history = `${prefix}page_history`;
  const index = `${prefix}page_index`;
  return Object.freeze({
    tables: [log, groups, state, history, index],
    create: [
      `CREATE TABLE IF NOT EXISTS ${state} (id INTEGER PRIMARY KEY CHECK (id = 1), format INTEGER NOT NULL,` +
        ' page_bytes INTEGER NOT NULL, group_pages INTEGER NOT NULL, log_slots INTEGER NOT NULL, page_count INTEGER NOT NULL,' +
        ' seq INTEGER NOT NULL, lsn INTEGER NOT NULL, floor INTEGER NOT NULL,' +
        ` ${CHANGE_NUMBER_COLUMNS})`,
      `CREATE TABLE IF NOT EXISTS ${log} (slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL, lsn INTEGER NOT NULL, ts INTEGER NOT NULL,` +
        ' page_count INTEGER NOT NULL, pgnos BLOB NOT NULL, data BLOB NOT NULL)',
      `CREATE TABLE IF NOT EXISTS ${groups} (grp INTEGER PRIMARY KEY, mask INTEGER NOT NULL, data BLOB NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${history} (seg INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,` +
        ' first_lsn INTEGER NOT NULL, last_lsn INTEGER NOT NULL, page_count INTEGER NOT NULL, last_ts INTEGER NOT NULL, log_bytes INTEGER NOT NULL,' +
        ' times BLOB NOT NULL, pgnos BLOB NOT NULL, lsns BLOB NOT NULL, data BLOB NOT NULL)',
      `CREATE TABLE IF NOT EXISTS ${index} (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, lsn INTEGER NOT NULL,` +
        ' numbers BLOB NOT NULL, places BLOB NOT NULL)',
    ],
    selectState: `SELECT page_bytes, group_pages, log_slots, page_count, seq, lsn, floor, change_floor, change_kept FROM ${state} WHERE id = 1`,
    upsertState:
      `INSERT INTO ${state} (id, format, page_bytes, group_pages, log_slots, page_count, seq, lsn, floor, change_floor, change_kept)` +
      ` VALUES (1, ${FORMAT}, ?, ?, ?, ?, ?, ?, ?, ?, ?)` +
      ' ON CONFLICT (id) DO UPDATE SET format = excluded.format, page_bytes = excluded.page_bytes, group_pages = excluded.group_pages, log_slots = excluded.log_slots,' +
      ' page_count = excluded.page_count, seq = excluded.seq, lsn = excluded.lsn, floor = excluded.floor,' +
      ' change_floor = excluded.change_floor, change_kept = excluded.change_kept',
    updateChangeNumbers: `UPDATE ${state} SET change_floor = ?, change_kept = ? WHERE id = 1`,
    selectLogSlots: `SELECT slot, seq, lsn, ts, page_count, pgnos, length(data) FROM ${log} WHERE slot BETWEEN ? AND ? ORDER BY slot`,
    deleteLogSlots: `DELETE FROM ${log} WHERE slot BETWEEN ? AND ? AND seq BETWEEN ? AND ?`,
    upsertLogRow:
      `INSERT INTO ${log} (slot, seq, lsn, ts, page_count, pgnos, data) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (slot) DO UPDATE SET` +
      ' seq = excluded.seq, lsn = excluded.lsn, ts = excluded.ts, page_count = excluded.page_count, pgnos = excluded.pgnos, data = excluded.data',
    selectLogData: `SELECT data FROM ${log} WHERE slot = ?`,
    /** count log rows' data, bound as their slots: [slot, data] rows. @param {number} count */
    selectLogRows: (count) => `SELECT slot, data FROM ${log} WHERE slot IN (${new Array(count).fill('?').join(', ')})`,
    /** The index, when it is of a commit after the checkpoint (bound as its seq). */
    selectIndex: `SELECT seq, lsn, numbers, places FROM ${index} WHERE id = 1 AND seq > ?`,
    upsertIndex:
      `INSERT INTO ${index} (id, seq, lsn, numbers, places) VALUES (1, ?, ?, ?, ?)` +
      ' ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, lsn = excluded.lsn, numbers = excluded.numbers, places = excluded.places',
    deleteIndex: `DELETE FROM ${index}`,
    selectGroup: `SELECT mask, data FROM ${groups} WHERE grp = ?`,
    selectGroupMask: `SELECT mask FROM ${groups} WHERE grp = ?`,
    /** count pages of a group, each bound as (start, length), then the group. @param {number} count */
    selectGroupPages: (count) => `SELECT ${new Array(count).fill('substr(data, ?, ?)').join(', ')} FROM ${groups} WHERE grp = ?`,
    /** A group's data with count pages replaced: for each, the unchanged bytes before it
     *  (bound as start, length) and the page; then where the unchanged rest starts, and
     *  the group. || makes text of blobs byte for byte, and CAST makes the result a blob again.
     *  @param {number} count */
    spliceGroup: (count) =>
      `UPDATE ${groups} SET data = CAST(${new Array(count).fill('substr(data, ?, ?) || ?').join(' || ')} || substr(data, ?) AS BLOB) WHERE grp = ?`,
    selectMasks: `SELECT grp, mask FROM ${groups} ORDER BY grp`,
    selectLastGroup: `SELECT max(grp) FROM ${groups}`,
    upsertGroup: `INSERT INTO ${groups} (grp, mask, data) VALUES (?, ?, ?) ON CONFLICT (grp) DO UPDATE SET mask = excluded.mask, data = excluded.data`,
    deleteGroup: `DELETE FROM ${groups} WHERE grp = ?`,
    deleteGroupsAbove: `DELETE FROM ${groups} WHERE grp > ?`,
    selectGroupsAbove: `SELECT grp FROM ${groups} WHERE grp > ? ORDER BY grp`,
    selectSpans: `SELECT seg, first_seq, last_seq, first_lsn, last_lsn, page_count, last_ts, log_bytes + length(data) FROM ${history} ORDER BY seg`,
    insertSegment:
      `INSERT INTO ${history} (seg, first_seq, last_seq, first_lsn, last_lsn, page_count, last_ts, log_bytes, times, pgnos, lsns, data)` +
      ' VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    selectSegmentIndex: `SELECT pgnos, lsns FROM ${history} WHERE seg = ?`,
    selectSegmentTimes: `SELECT times FROM ${history} WHERE seg = ?`,
    selectSegmentData: `SELECT data FROM ${history} WHERE seg = ?`,
    deleteSegments: `DELETE FROM ${history} WHERE seg BETWEEN ? AND ?`,
    historyBeginsNow: `UPDATE ${state} SET floor = lsn WHERE id = 1`,
    historyBeginsAt: `UPDATE ${state} SET floor = ? WHERE id = 1`,
    // An import's staged commits numbered on past the commits the live database made meanwhile.
    shiftLog: `UPDATE ${log} SET lsn = lsn + ?`,
    shiftState: `UPDATE ${state} SET lsn = lsn + ?, floor = floor + ? WHERE id = 1`,
    selectSegmentLsns: `SELECT seg, lsns FROM ${history} ORDER BY seg`,
    shiftSegment: `UPDATE ${history} SET first_lsn = first_lsn + ?, last_lsn = last_lsn + ?, lsns = ? WHERE seg = ?`,
  });
}

/** rows*: billed; pagesRead: readPage calls that found a page; deltaPages: pages a log row
 *  holds as a delta.
 *  @typedef {{rowsRead: number, rowsWritten: number, pagesRead: number, pagesWritten: number, deltaPages: number, commits: number,
 *    checkpoints: number}} SqlStorageStats */

/** Where a version of a page is in the log: its row's slot and its record's bytes there;
 *  for a delta, the version it applies to (base); the versions from the last whole one to
 *  it (chain: how many deltas lead to it, and what the log index keeps); its bytes once
 *  known (written or read by this instance: the checkpoint, reads and the next delta need
 *  no query then, and base can go; the pages logged since the checkpoint are at most
 *  CHECKPOINT_BYTES); and, for a page's newest version, the lsn of its first write since
 *  the checkpoint (which replaced its group version).
 *  @typedef {{slot: number, start: number, length: number, base: LogPlace | null, chain: import('./page-blobs.js').LogLocation[],
 *    data?: Uint8Array, first: number}} LogPlace */

/** A checkpoint's history: its segment rows, its log rows, the commits it folded, the
 *  page count before them, the time of its last, and the bytes it keeps (log and segments).
 *  @typedef {{firstSeg: number, lastSeg: number, firstSeq: number, lastSeq: number, firstLsn: number, lastLsn: number,
 *    pageCount: number, lastTs: number, bytes: number}} Span */

/** A page version a checkpoint replaced: the lsn that replaced it (a write, or a truncation
 *  below it); data null when the page had none (the write created it).
 *  @typedef {{pgno: number, lsn: number, data: Uint8Array | null}} Superseded */

/** The database as of an lsn, read-only. readPage gives null for a page that did not exist;
 *  changedSince lists the pages that may differ now (restore() writes those that do).
 *  @typedef {{lsn: number, pageCount: number, readPage: (pgno: number) => Uint8Array | null | symbol,
 *    changedSince: () => Set<number>}} HistoryView */

/** A group as read: its pages by position. @typedef {(Uint8Array | null)[]} CachedGroup */

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
  #logSlots = 0;
  #checkpointSeq = 0;
  #checkpointLsn = 0;
  /** No point before this lsn is history (an import, an upgrade, a lost cold page). */
  #floor = 0;
  /** The time the window is read by, from a request's first point to its end (settle). @type {number | null} */
  #windowClock = null;
  /** The lsn before this adapter's first commit: an import's, the replaced database's then. */
  #firstLsn = 0;
  /** How change events are numbered after the last restore or import (wasm/host.js). */
  /** @type {import('../wasm/host.js').ChangeNumbers} */
  #changeNumbers = NO_CHANGE_NUMBERS;
  // The log since the checkpoint.
  /** @type {Map<number, LogPlace>} */
  #logPages = new Map();
  #nextSeq = 1;
  #lsn = 0;
  #logRows = 0;
  /** #logRows as of the log index in storage (0: none of this span). */
  #indexedRows = 0;
  /** The page count as the last commit left it: only a smaller one is a truncation. */
  #pageCount = 0;
  /** The lowest page count a commit since the checkpoint truncated to: a grouped page
   *  above it is gone. Infinity when none did. */
  #lowWater = Infinity;
  /** The span since the checkpoint: its commits' times, its truncations, its first page count. */
  /** @type {number[]} */
  #spanTimes = [];
  /** @type {{lsn: number, count: number}[]} */
  #spanTruncations = [];
  #spanPageCount = 0;
  /** Page bytes of the span's log rows. */
  #spanBytes = 0;
  /** Checkpointed spans still in storage, oldest first: read when history is first
   *  needed (#spans), since a start needs none and a long history has many rows. @type {Span[] | null} */
  #spansRead = null;
  /** Views built since the last write, by lsn (a write can change where a past page is). @type {Map<number, HistoryView>} */
  #views = new Map();
  /** @type {ByteCache<number, CachedGroup>} */
  #cache;
  /** Log rows' and history segments' data, by rowKey(). @type {ByteCache<string, Uint8Array>} */
  #rows;
  /** The tables of this prefix that existed when the adapter was made. @type {Set<string>} */
  #tablesAtOpen;
  maxImportBytes = MAX_IMPORT_BYTES;
  /** @type {SqlStorageStats} */
  stats = { rowsRead: 0, rowsWritten: 0, pagesRead: 0, pagesWritten: 0, deltaPages: 0, commits: 0, checkpoints: 0 };

  /**
   * @param {any} storage  ctx.storage of a SQLite-backed Durable Object
   * @param {{prefix?: string, tuning?: Partial<Tuning>, firstLsn?: number}} [options]  firstLsn:
   *   the lsn before the first commit, when the tables hold none yet (an import's)
   */
  constructor(storage, { prefix = LIVE_PREFIX, tuning = {}, firstLsn = 0 } = {}) {
    this.#storage = storage;
    this.#firstLsn = firstLsn;
    this.#sql = storage.sql;
    this.#prefix = prefix;
    this.#tuning = { ...TUNING, ...tuning };
    this.#cache = new ByteCache(this.#tuning.cacheBytes);
    this.#rows = new ByteCache(this.#tuning.logCacheBytes);
    this.#statements = statementsOn(prefix);
    // Most opens find every table as this release left it: one look (the state
    // table's columns with it), no writes.
    const state = this.#statements.tables[2];
    const found = this.exec(
      `SELECT name, type, CASE name WHEN '${state}' THEN (SELECT group_concat(c.name) FROM pragma_table_info('${state}') AS c) END` +
        ` FROM sqlite_master WHERE type IN ('table', 'view') AND name LIKE '${prefix}%'`,
    );
    const tables = new Set(found.filter(([, type]) => type === 'table').map(([name]) => String(name)));
    this.#tablesAtOpen = tables;
    const stateColumns = new Set(String(found.find(([name]) => name === state)?.[2] ?? '').split(','));
    // The fence goes where no first-format table is (an upgrade puts it there when done).
    const unfenced = prefix === LIVE_PREFIX && !found.some(([name]) => name === V1_PAGES);
    if (this.#statements.tables.some((table) => !tables.has(table)) || !stateIsCurrent(stateColumns) || unfenced) {
      this.#storage.transactionSync(() => {
        this.#statements.create.forEach((sql) => this.exec(sql));
        this.#upgradeState();
        if (unfenced) this.exec(FIRST_FORMAT_FENCE);
      });
    }
    if (prefix === LIVE_PREFIX && tables.has(V1_PAGES)) this.#upgradeFromPages();
    this.#load();
  }

  /** Whether table (of this adapter's prefix) existed when the adapter was made. @param {string} table */
  existedAtOpen(table) {
    return this.#tablesAtOpen.has(table);
  }

  /** Rows read from storage so far (host.js: a read that raised it fetched its page). */
  get rowsRead() {
    return this.stats.rowsRead;
  }

  /** @param {number} pgno @returns {Uint8Array | null} */
  readPage(pgno) {
    if (this.#pageSize === 0) return null;
    const place = this.#logPages.get(pgno);
    let page = null;
    if (place) {
      page = this.#logPage(place);
    } else if (pgno <= this.#lowWater) {
      page = this.#group(this.#groupOf(pgno))?.[(pgno - 1) % this.#groupPages] ?? null;
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
    // A commit of one statement needs no transaction of its own: the statement is
    // atomic, and the savepoint cost as much as the write (in workerd, 2026-12).
    const ts = Date.now();
    const alone = !alongside && this.#oneStatement(pages.length, ts);
    this.#write(() => {
      if (this.#pageSize === 0) this.#begin(pageSize);
      const { checkpointRows, perRow, rows } = this.#layout(pages.length);
      const lsn = this.#lsn + 1;
      if (rows > checkpointRows) {
        // Too large for the log: a span of its own, folded straight into the groups.
        if (this.#lsn > this.#checkpointLsn) this.#checkpoint();
        this.#truncate(newPageCount, lsn);
        pages.forEach(({ pgno, data }) => this.#logPages.set(pgno, { slot: -1, start: -1, length: 0, base: null, chain: [], data, first: lsn }));
        this.#spanTimes.push(ts);
        this.#lsn = lsn;
        this.#checkpoint();
        alongside?.();
        return;
      }
      if (this.#ringFull(rows) || this.#spanAged(ts)) this.#checkpoint();
      this.#truncate(newPageCount, lsn);
      for (let first = 0, row = 0; row < rows; row++, first += perRow) {
        const part = pages.slice(first, first + perRow);
        const seq = this.#nextSeq++;
        const slot = seq % this.#logSlots;
        const { pgnos, data, places } = this.#logRow(slot, part);
        this.exec(this.#statements.upsertLogRow, slot, seq, lsn, ts, newPageCount, pgnos.buffer, data.buffer);
        this.#rows.delete(rowKey('log', slot));
        this.#spanBytes += data.byteLength;
        places.forEach((place, i) => this.#logged(part[i].pgno, place, lsn));
      }
      this.#spanTimes.push(ts);
      this.#logRows += rows;
      this.#lsn = lsn;
      const due = this.#upkeepDue(this.#logRows, this.#logPages.size, this.#spanBytes, checkpointRows);
      if (due === 'checkpoint') this.#checkpoint();
      else if (due === 'index') this.#saveIndex();
      alongside?.();
    }, alone);
    this.stats.pagesWritten += pages.length;
    this.stats.commits++;
  }

  /** How commit() lays out n pages: log rows of perRow pages, and the log rows that
   *  make a checkpoint due. @param {number} n */
  #layout(n) {
    // At least four spans to a ring, so that history keeps the three before this one
    // (a database from before history has a ring of PRE_HISTORY_LOG_SLOTS rows).
    const checkpointRows = Math.min(this.#tuning.checkpointRows, Math.floor(this.#logSlots / 4));
    const perRow = Math.max(1, Math.floor(this.#tuning.logRowBytes / this.#pageSize));
    return { checkpointRows, perRow, rows: Math.max(1, Math.ceil(n / perRow)) };
  }

  /** Whether commit() writes n pages with one statement at now: one log row, and no
   *  checkpoint before or after it (every page counted as new to the log, its bytes
   *  whole) nor index to save. @param {number} n @param {number} now */
  #oneStatement(n, now) {
    if (this.#pageSize === 0) return false;
    const { checkpointRows, rows } = this.#layout(n);
    return rows === 1 && !this.#ringFull(1) && !this.#spanAged(now)
      && this.#upkeepDue(this.#logRows + 1, this.#logPages.size + n, this.#spanBytes + n * this.#pageSize, checkpointRows) === null;
  }

  /** Whether rows more log rows would overrun the ring (a checkpoint first). @param {number} rows */
  #ringFull(rows) {
    return this.#logRows + rows > this.#logSlots - 1;
  }

  /** Whether the span since the checkpoint began before the history window (a checkpoint
   *  first): its commits' versions are pruned only once it is a span of its own, so a
   *  quiet database's would otherwise stay until 1,024 more commits. @param {number} now */
  #spanAged(now) {
    return this.#tuning.historyMs > 0 && this.#spanTimes.length > 0 && this.#spanTimes[0] < now - this.#tuning.historyMs;
  }

  /** What a log of logRows rows, `pages` distinct pages and spanBytes bytes is due after a
   *  commit: a checkpoint (also when the span holds more than history may keep, which
   *  only a checkpoint prunes), its index saved, or nothing.
   *  @param {number} logRows @param {number} pages @param {number} spanBytes @param {number} checkpointRows @returns {'checkpoint' | 'index' | null} */
  #upkeepDue(logRows, pages, spanBytes, checkpointRows) {
    if (logRows >= checkpointRows || pages * this.#pageSize >= this.#tuning.checkpointBytes) return 'checkpoint';
    if (this.#tuning.historyBytes > 0 && spanBytes > this.#tuning.historyBytes) return 'checkpoint';
    return logRows - this.#indexedRows >= this.#tuning.indexRows ? 'index' : null;
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

  // ---- history --------------------------------------------------------------------

  /** The newest lsn (0 before the first commit). */
  get lsn() {
    return this.#lsn;
  }

  /** The oldest lsn a caller may name: kept, and the present at some time in the window
   *  (the state a commit replaced before it is past, though its versions stay until a
   *  checkpoint prunes them; a window of 0 leaves the present alone). */
  get oldestLsn() {
    const windowStart = this.#newestCommittedBy((this.#windowClock ?? Date.now()) - this.#tuning.historyMs);
    return Math.max(this.#keptLsn(), windowStart ?? -1);
  }

  /** After each request (wasm/host.js StorageAdapter): its window clock goes. */
  settle() {
    this.#windowClock = null;
  }

  /** The oldest lsn whose pages history still holds: a point named while in the window
   *  stays readable after the window moves past it (a restore fetching from R2 meanwhile). */
  #keptLsn() {
    const span = this.#intactSpans()[0];
    return Math.max(this.#floor, span ? span.firstLsn - 1 : this.#checkpointLsn);
  }

  /**
   * The database as of lsn (one history keeps, up to the present). fallback reads a page history does not
   * hold and its group lacks (the cold tier's).
   * @param {number} lsn @param {(pgno: number) => Uint8Array | null | symbol} [fallback] @returns {HistoryView}
   */
  historyView(lsn, fallback = () => null) {
    if (!(lsn >= this.#keptLsn() && lsn <= this.#lsn)) throw new RangeError(`lsn ${lsn} is not in history (${this.#keptLsn()}..${this.#lsn})`);
    const spans = this.#intactSpans();
    const at = spans.findIndex((span) => span.lastLsn > lsn);
    const span = at < 0 ? null : spans[at];
    // Its newest write at or before lsn in the log rows of its span (none when a
    // truncation in the span cut it since),
    /** @type {Map<number, LogPlace>} */
    const written = new Map();
    /** @type {Set<number>} */
    const writtenAfter = new Set();
    let pageCount = span ? span.pageCount : this.#spanPageCount;
    let cut = Infinity;
    /** The fewest pages the database had since lsn: pages above it may differ now, written or not. */
    let fewestSince = Math.min(this.#pageCount, this.#lowWater, ...spans.slice(at < 0 ? spans.length : at + 1).map((later) => later.pageCount));
    const rows = this.#logRowsFrom(span ? span.firstSeq : this.#checkpointSeq + 1, span ? span.lastSeq : this.#nextSeq - 1);
    for (const [slot, , rowLsn, , rowPageCount, pgnos, bytes] of rows) {
      const records = decodeLogRecords(/** @type {ArrayBuffer} */ (pgnos), this.#pageSize, Number(bytes));
      if (Number(rowLsn) > lsn) {
        records.forEach(({ pgno }) => writtenAfter.add(pgno));
        fewestSince = Math.min(fewestSince, Number(rowPageCount));
        continue;
      }
      if (Number(rowPageCount) < pageCount) {
        cut = Math.min(cut, Number(rowPageCount));
        for (const pgno of written.keys()) if (pgno > Number(rowPageCount)) written.delete(pgno);
      }
      pageCount = Number(rowPageCount);
      records.forEach((record) => written.set(record.pgno, placeOf(Number(slot), record, written)));
    }
    // else the first version a checkpoint replaced after lsn,
    /** @type {Map<number, {seg: number, index: number}>} */
    const replaced = new Map();
    for (const { firstSeg, lastSeg } of at < 0 ? [] : spans.slice(at)) {
      for (let seg = firstSeg; seg <= lastSeg; seg++) {
        const [[pgnos, lsns]] = this.exec(this.#statements.selectSegmentIndex, seg);
        const replacedAt = decodeNumbers(/** @type {ArrayBuffer} */ (lsns));
        let stored = 0;
        decodePgnos(/** @type {ArrayBuffer} */ (pgnos)).forEach((pgno, i) => {
          const hadData = replacedAt[i] > 0;
          if (Math.abs(replacedAt[i]) > lsn && !replaced.has(pgno)) replaced.set(pgno, { seg, index: hadData ? stored : -1 });
          if (hadData) stored++;
        });
      }
    }
    // else its checkpointed version.
    return {
      lsn,
      pageCount,
      readPage: (pgno) => {
        if (pgno > pageCount) return null;
        const place = written.get(pgno);
        if (place) return this.#logPage(place, false);
        if (pgno > cut) return null;
        const old = replaced.get(pgno);
        if (old?.index === -1) return null;
        if (old) {
          return this.#rowData('history', old.seg).slice(old.index * this.#pageSize, (old.index + 1) * this.#pageSize);
        }
        return this.#group(this.#groupOf(pgno))?.[(pgno - 1) % this.#groupPages] ?? fallback(pgno);
      },
      changedSince: () => {
        const changed = new Set([...writtenAfter, ...replaced.keys(), ...this.#logPages.keys()]);
        for (let pgno = fewestSince + 1; pgno <= pageCount; pgno++) changed.add(pgno);
        return changed;
      },
    };
  }

  /** The lsn of a point (an lsn, or ms since the epoch), or why history has none.
   *  @param {'lsn' | 'time'} kind @param {number} value @returns {number | 'before' | 'after'} */
  historyPoint(kind, value) {
    // A run again after a fault (pages fetched from R2 meanwhile) names the points its
    // first run did: the window is read by one clock a request.
    this.#windowClock ??= Date.now();
    const lsn = kind === 'time' ? this.lsnAtTime(value) : value;
    if (lsn === null || lsn < this.oldestLsn) return 'before';
    return lsn > this.#lsn ? 'after' : lsn;
  }

  /** readPage as of lsn (historyPoint's). fallback as for historyView.
   *  @param {number} lsn @param {number} pgno @param {(pgno: number) => Uint8Array | null | symbol} [fallback] */
  readPageAt(lsn, pgno, fallback) {
    let view = this.#views.get(lsn);
    if (!view) {
      if (this.#views.size >= MAX_VIEWS) this.#views.clear();
      view = this.historyView(lsn, fallback);
      this.#views.set(lsn, view);
    }
    return view.readPage(pgno);
  }

  /**
   * The commit that puts the database back as it was at lsn: the pages that differ,
   * and its page count then; or the pages the cold tier must fetch first. current:
   * the state now (the cold tier's); fallback as for historyView.
   * @param {number} lsn @param {(pgno: number) => Uint8Array | null | symbol} [current]
   * @param {(pgno: number) => Uint8Array | null | symbol} [fallback]
   * @returns {{batch: CommitBatch, faults: number[]}}
   */
  restoreBatch(lsn, current = (pgno) => this.readPage(pgno), fallback = undefined) {
    const view = this.historyView(lsn, fallback);
    const pages = [];
    const faults = [];
    for (const pgno of [...view.changedSince()].filter((p) => p <= view.pageCount).sort((a, b) => a - b)) {
      const then = view.readPage(pgno);
      const now = current(pgno);
      if (typeof then === 'symbol' || typeof now === 'symbol') {
        faults.push(pgno);
        continue;
      }
      const data = then ?? new Uint8Array(this.#pageSize);
      if (!now || !equalBytes(now, data)) pages.push({ pgno, data });
    }
    return { batch: { pageSize: this.#pageSize, oldPageCount: this.#pageCount, newPageCount: view.pageCount, pages }, faults };
  }

  /** The newest lsn committed at or before ms, or null when that is older than history. @param {number} ms */
  lsnAtTime(ms) {
    const lsn = this.#newestCommittedBy(ms);
    return lsn !== null && lsn >= this.oldestLsn ? lsn : null;
  }

  /** The newest lsn committed at or before ms, as far as the times history keeps tell:
   *  null when ms is before every one of them, or none is kept. @param {number} ms */
  #newestCommittedBy(ms) {
    const current = { firstLsn: this.#checkpointLsn + 1, times: this.#spanTimes };
    const spans = [...this.#intactSpans().map((span) => ({ firstLsn: span.firstLsn, lastTs: span.lastTs, firstSeg: span.firstSeg })), current];
    // No time kept at all (history keeps nothing past a checkpoint just made): no time is
    // known to name the present, which may be older than any time asked.
    let timed = false;
    for (const [i, span] of spans.entries()) {
      if ('lastTs' in span && span.lastTs > 0 && span.lastTs <= ms) {
        timed = true; // every commit of it at or before ms: its times need no reading
        continue;
      }
      const times = 'times' in span ? span.times : decodeNumbers(/** @type {ArrayBuffer} */ (this.exec(this.#statements.selectSegmentTimes, span.firstSeg)[0][0]));
      timed ||= times.length > 0;
      if (times.length === 0 || times[times.length - 1] <= ms) continue;
      let newest = -1;
      times.forEach((ts, index) => { if (ts <= ms) newest = index; });
      if (newest < 0 && i === 0) return null;
      return span.firstLsn + newest;
    }
    return timed ? this.#lsn : null;
  }

  /** What /history tells: the lsns, the earliest time lsnAtTime answers, the bytes history keeps. */
  historyInfo() {
    const oldest = this.oldestLsn;
    // The time of the oldest point's commit names it (as lsnAtTime reads times); one no
    // span has a time of (the state before the first commit kept) is named from the next.
    // The span is the first that reaches the oldest point: not the first kept (an
    // import's staged spans, before the floor, are kept).
    const span = this.#intactSpans().find((s) => s.lastLsn >= oldest);
    const times = span ? decodeNumbers(/** @type {ArrayBuffer} */ (this.exec(this.#statements.selectSegmentTimes, span.firstSeg)[0][0])) : this.#spanTimes;
    const oldestTime = times.at(Math.max(0, oldest - (span ? span.firstLsn : this.#checkpointLsn + 1))) ?? null;
    return {
      lsn: this.#lsn, oldestLsn: oldest, oldestTime, windowMs: this.#tuning.historyMs, logSlots: this.#logSlots,
      // What the byte limit counts, kept in memory: no scan of the log.
      bytes: this.#spans().reduce((sum, span) => sum + span.bytes, this.#spanBytes),
    };
  }

  /** How change events are numbered after the last restore or import. @returns {import('../wasm/host.js').ChangeNumbers} */
  changeNumbers() {
    return this.#changeNumbers;
  }

  /** Keep C's numbers for a replacement: one statement, inside its write (commit's
   *  alongside), or on a staged import before its swap. @param {import('../wasm/host.js').ChangeNumbers} numbers */
  renumberChanges({ floor, kept }) {
    this.exec(this.#statements.updateChangeNumbers, floor, kept);
    this.#changeNumbers = { floor, kept };
  }

  /** No point before lsn is history any more (the cold tier dropped pages it would need). Inside a transaction. @param {number} lsn */
  raiseHistoryFloor(lsn) {
    this.#floor = Math.max(this.#floor, lsn);
    // The floor alone: the state row's page count is the last checkpoint's, which an open
    // takes as the span's first and finds the span's truncations against.
    this.exec(this.#statements.historyBeginsAt, this.#floor);
  }

  // ---- imports ------------------------------------------------------------------

  /** An adapter on the import's tables, emptied first (an abandoned import may have left pages). @returns {SqlPageStorage} */
  stageImport() {
    this.#dropTables(IMPORT_PREFIX);
    // Numbered on from this database's commits: no lsn of it (a bookmark) names the file.
    return new SqlPageStorage(this.#storage, { prefix: IMPORT_PREFIX, tuning: this.#tuning, firstLsn: this.#lsn });
  }

  /**
   * Make staged's pages the database: its tables take this one's names, in one transaction.
   * @param {SqlPageStorage} staged @param {() => void} [alongside]  more writes of the transaction
   */
  replaceWith(staged, alongside) {
    this.#write(() => {
      // This database committed while the file was staged: the file's lsns go on past those.
      if (this.#lsn > staged.#firstLsn) staged.#shiftLsns(this.#lsn - staged.#firstLsn);
      this.#dropTables(this.#prefix);
      staged.#statements.tables.forEach((table, i) => this.exec(`ALTER TABLE ${table} RENAME TO ${this.#statements.tables[i]}`));
      // The states an import wrote on its way are not history: it begins at the file,
      // the staged log's newest commit (the state row's lsn is its last checkpoint's).
      this.exec(this.#statements.historyBeginsAt, staged.#lsn);
      alongside?.();
    });
    this.#load();
  }

  /** Number every commit of this staged import shift later. Inside a transaction. @param {number} shift */
  #shiftLsns(shift) {
    this.exec(this.#statements.shiftLog, shift);
    this.exec(this.#statements.deleteIndex); // its lsns are the old ones: the next open reads the log
    this.exec(this.#statements.shiftState, shift, shift);
    for (const [seg, lsns] of this.exec(this.#statements.selectSegmentLsns)) {
      // A page that had no version is kept as its negated lsn.
      const shifted = decodeNumbers(/** @type {ArrayBuffer} */ (lsns)).map((lsn) => (lsn < 0 ? lsn - shift : lsn + shift));
      this.exec(this.#statements.shiftSegment, shift, shift, encodeNumbers(shifted).buffer, seg);
    }
    this.#firstLsn += shift;
    this.#lsn += shift;
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
    this.#logSlots = this.#tuning.logSlots;
    this.#saveState();
  }

  /** The page count becomes count at lsn: log pages above it go, and grouped ones stop counting.
   *  @param {number} count @param {number} lsn */
  #truncate(count, lsn) {
    if (count < this.#pageCount) {
      for (const pgno of this.#logPages.keys()) if (pgno > count) this.#logPages.delete(pgno);
      this.#lowWater = Math.min(this.#lowWater, count);
      this.#spanTruncations.push({ lsn, count });
    }
    this.#pageCount = count;
  }

  /** pgno's newest version is at place, written by the commit lsn. @param {number} pgno @param {Omit<LogPlace, 'first'>} place @param {number} lsn */
  #logged(pgno, place, lsn) {
    this.#logPages.set(pgno, { ...place, first: this.#logPages.get(pgno)?.first ?? lsn });
  }

  /** Fold the log into the groups (inside a transaction): every group it touched is
   *  rewritten once, and those above a truncation are trimmed or deleted. */
  #checkpoint() {
    const keep = this.#lowWater;
    const keepGroup = this.#groupOf(keep);
    const touched = this.#byGroup(this.#logPages.keys());
    /** The group versions this checkpoint replaces, for history: of the pages logged, and of
     *  those a truncation cut. Read before any group changes. @type {Superseded[]} */
    const superseded = [];
    const replacedGroups = new Set(touched.keys());
    if (keep !== Infinity) {
      for (const [group] of this.exec(this.#statements.selectGroupsAbove, keepGroup)) replacedGroups.add(Number(group));
      replacedGroups.add(keepGroup);
    }
    /** The groups changed in place, each with its logged pages' offsets in its data. @type {Map<number, number[]>} */
    const spliced = new Map();
    for (const group of [...replacedGroups].sort((a, b) => a - b)) {
      const base = group * this.#groupPages + 1;
      const logged = touched.get(group) ?? [];
      const offsets = keep === Infinity || group < keepGroup ? this.#spliceOffsets(group, logged) : null;
      if (offsets) {
        spliced.set(group, offsets);
        const old = this.#pagesAt(group, logged, offsets);
        logged.forEach((pgno, i) => superseded.push({ pgno, lsn: this.#replacedAt(pgno), data: old[i] }));
        continue;
      }
      const old = this.#group(group);
      for (let i = 0; i < this.#groupPages; i++) {
        const pgno = base + i;
        const page = old?.[i] ?? null;
        if (this.#logPages.has(pgno) || (page && pgno > keep)) superseded.push({ pgno, lsn: this.#replacedAt(pgno), data: page });
      }
    }
    if (keep !== Infinity) {
      this.exec(this.#statements.deleteGroupsAbove, keepGroup);
      for (const group of this.#cache.keys()) if (group > keepGroup) this.#cache.delete(group);
      if (keep % this.#groupPages !== 0 && !touched.has(keepGroup)) touched.set(keepGroup, []);
    }
    for (const group of [...touched.keys()].sort((a, b) => a - b)) {
      const offsets = spliced.get(group);
      if (offsets) {
        this.#splicePages(group, offsets, /** @type {number[]} */ (touched.get(group)));
        continue;
      }
      const base = group * this.#groupPages + 1;
      const slots = group > keepGroup ? new Array(this.#groupPages).fill(null) : this.#groupSlots(group).map((page, i) => (base + i > keep ? null : page));
      for (const pgno of /** @type {number[]} */ (touched.get(group))) {
        slots[pgno - base] = this.#logPage(/** @type {LogPlace} */ (this.#logPages.get(pgno)));
      }
      this.#putGroup(group, slots);
    }
    if (this.#lsn > this.#checkpointLsn) this.#writeSegment(superseded);
    this.#checkpointSeq = this.#nextSeq - 1;
    this.#checkpointLsn = this.#lsn;
    this.#saveState();
    this.#startSpan();
    this.#pruneHistory();
    this.stats.checkpoints++;
  }

  /** The lsn that replaced a checkpointed page: its first write since, or a truncation below it first. @param {number} pgno */
  #replacedAt(pgno) {
    const written = this.#logPages.get(pgno)?.first ?? Infinity;
    const cut = this.#spanTruncations.find(({ count }) => count < pgno)?.lsn ?? Infinity;
    return Math.min(written, cut);
  }

  /** The checkpointed spans whose log rows are all still there (the ring has not reused their first slot). */
  #intactSpans() {
    const lastSeq = this.#nextSeq - 1;
    const spans = this.#spans();
    const at = spans.findIndex((span) => span.firstSeq + this.#logSlots > lastSeq);
    return at < 0 ? [] : spans.slice(at);
  }

  /** Keep the span just checkpointed: the group versions it replaced and its commits' times. @param {Superseded[]} superseded */
  #writeSegment(superseded) {
    const spans = this.#spans();
    // Numbered after the newest span kept: a pruned span's rows are gone, as a reopening finds.
    let seg = (spans.at(-1)?.lastSeg ?? 0) + 1;
    const perRow = Math.max(1, Math.floor(this.#tuning.logRowBytes / this.#pageSize));
    const span = {
      firstSeg: seg, lastSeg: seg, firstSeq: this.#checkpointSeq + 1, lastSeq: this.#nextSeq - 1,
      firstLsn: this.#checkpointLsn + 1, lastLsn: this.#lsn, pageCount: this.#spanPageCount, lastTs: /** @type {number} */ (this.#spanTimes.at(-1)),
      bytes: this.#spanBytes,
    };
    for (let first = 0; first === 0 || first < superseded.length; first += perRow) {
      const part = superseded.slice(first, first + perRow);
      const data = concatBytes(/** @type {Uint8Array[]} */ (part.map((p) => p.data).filter(Boolean)));
      span.lastSeg = seg++;
      span.bytes += data.byteLength;
      this.exec(this.#statements.insertSegment, span.lastSeg, span.firstSeq, span.lastSeq, span.firstLsn, span.lastLsn, span.pageCount, span.lastTs,
        first === 0 ? this.#spanBytes : 0, encodeNumbers(first === 0 ? this.#spanTimes : []).buffer, encodePgnos(part.map((p) => p.pgno)).buffer,
        // A page that had no version is stored as its negated lsn, without data.
        encodeNumbers(part.map((p) => (p.data ? p.lsn : -p.lsn))).buffer, data.buffer);
      this.#rows.delete(rowKey('history', span.lastSeg)); // a number a pruned segment had
    }
    spans.push(span);
  }

  /** Delete the spans that stopped being history: the ring reused their first log row, or
   *  they are older than the window, or below history's floor (no point of theirs can be
   *  read: the cold tier raised it), or history is past its bytes (then their log rows go
   *  too, before the ring reuses them). */
  #pruneHistory() {
    const spans = this.#spans();
    const intact = new Set(this.#intactSpans());
    const since = Date.now() - this.#tuning.historyMs;
    let bytes = spans.reduce((sum, span) => sum + span.bytes, 0);
    while (spans.length > 0 && (!intact.has(spans[0]) || spans[0].lastTs < since || spans[0].lastLsn <= this.#floor || bytes > this.#tuning.historyBytes)) {
      const span = /** @type {Span} */ (spans.shift());
      bytes -= span.bytes;
      this.exec(this.#statements.deleteSegments, span.firstSeg, span.lastSeg);
      if (!intact.has(span)) continue;
      for (let seq = span.firstSeq; seq <= span.lastSeq; ) {
        const slot = seq % this.#logSlots;
        const count = Math.min(span.lastSeq - seq + 1, this.#logSlots - slot);
        this.exec(this.#statements.deleteLogSlots, slot, slot + count - 1, span.firstSeq, span.lastSeq);
        seq += count;
      }
    }
  }

  /** The span since the checkpoint is empty. */
  #startSpan() {
    this.#logPages.clear();
    this.#logRows = 0;
    this.#indexedRows = 0;
    this.#lowWater = Infinity;
    this.#spanTimes = [];
    this.#spanTruncations = [];
    this.#spanPageCount = this.#pageCount;
    this.#spanBytes = 0;
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

  /**
   * A logged page's bytes: in memory when this instance wrote or read them, else its
   * record applied to its base's bytes for a delta. The records of a chain of deltas
   * are read in one query. Kept in place unless keep is false (a history view's
   * pages, which SQLite's own cache keeps while it reads them).
   * @param {LogPlace} place @param {boolean} [keep] @returns {Uint8Array}
   */
  #logPage(place, keep = true) {
    if (place.data) return place.data;
    /** The versions to read, newest first, down to a whole page or one whose base is known. */
    const chain = [];
    for (let version = /** @type {LogPlace | null} */ (place); version && !version.data; version = version.base) chain.push(version);
    const records = this.#readRecords(chain);
    const deepest = /** @type {LogPlace} */ (chain.at(-1));
    // One copy of the page, its deltas applied to it in turn, oldest first.
    const page = deepest.base ? /** @type {Uint8Array} */ (deepest.base.data).slice() : records[chain.length - 1];
    for (let i = deepest.base ? chain.length - 1 : chain.length - 2; i >= 0; i--) applyDelta(page, records[i]);
    if (keep) {
      place.data = page;
      place.base = null; // the versions below are not needed any more
    }
    return page;
  }

  /** Copies of the log records of places, in their order. @param {LogPlace[]} places @returns {Uint8Array[]} */
  #readRecords(places) {
    if (places.length > 1) this.#keepLogRows(places);
    return places.map(({ slot, start, length }) => this.#rowData('log', slot).slice(start, start + length));
  }

  /** Read the log rows of places not kept, in one query, and keep them: a chain of
   *  deltas is in as many rows. @param {LogPlace[]} places */
  #keepLogRows(places) {
    const missing = [...new Set(places.map(({ slot }) => slot))].filter((slot) => this.#rows.peek(rowKey('log', slot)) === undefined);
    if (missing.length < 2) return; // #rowData reads one alone
    for (const [slot, data] of this.exec(this.#statements.selectLogRows(missing.length), ...missing)) {
      this.#rows.set(rowKey('log', Number(slot)), new Uint8Array(/** @type {ArrayBuffer} */ (data)), /** @type {ArrayBuffer} */ (data).byteLength);
    }
  }

  /**
   * The data of a log row (by slot) or history segment (by seg), read whole and kept:
   * SQLite reads every byte of a blob even for substr(), so reading a row's pages one
   * by one read all of it once per page.
   * @param {'log' | 'history'} table @param {number} id @returns {Uint8Array}
   */
  #rowData(table, id) {
    const key = rowKey(table, id);
    let data = this.#rows.get(key);
    if (!data) {
      const select = table === 'log' ? this.#statements.selectLogData : this.#statements.selectSegmentData;
      data = new Uint8Array(/** @type {ArrayBuffer} */ (this.exec(select, id)[0][0]));
      this.#rows.set(key, data, data.byteLength);
    }
    return data;
  }

  /**
   * A log row's blobs for pages: each page as a delta against its previous version in
   * the log when that version's bytes are in memory, fewer than tuning.deltaChain deltas
   * lead to it, and the delta takes at most half a page; else the whole page. And the
   * pages' places (in memory, so with no base).
   * @param {number} slot @param {{pgno: number, data: Uint8Array}[]} pages
   * @returns {{pgnos: Uint8Array, data: Uint8Array, places: Omit<LogPlace, 'first'>[]}}
   */
  #logRow(slot, pages) {
    const records = [];
    const chunks = [];
    const places = [];
    let end = 0;
    for (const { pgno, data } of pages) {
      const previous = this.#logPages.get(pgno);
      const delta = previous?.data && previous.chain.length <= this.#tuning.deltaChain ? encodeDelta(previous.data, data, this.#pageSize / 2) : null;
      const bytes = delta ?? data;
      const location = { slot, start: end, length: bytes.length };
      places.push({ ...location, base: null, chain: delta ? [.../** @type {LogPlace} */ (previous).chain, location] : [location], data });
      end += bytes.length;
      records.push({ pgno, end, delta: delta !== null });
      chunks.push(bytes);
      if (delta) this.stats.deltaPages++;
    }
    return { pgnos: encodeLogRecords(records), data: concatBytes(chunks), places };
  }

  /** A group's pages by position, a fresh array (all null when it has no row). @param {number} group */
  #groupSlots(group) {
    return [...(this.#group(group) ?? new Array(this.#groupPages).fill(null))];
  }

  /** Write a group's row (or delete it when empty), and keep it cached. @param {number} group @param {(Uint8Array | null)[]} slots */
  #putGroup(group, slots) {
    const { mask, data } = encodeGroup(slots);
    if (mask === 0) this.exec(this.#statements.deleteGroup, group);
    else this.exec(this.#statements.upsertGroup, group, mask, data.buffer);
    this.#remember(group, mask === 0 ? null : decodeGroup(mask, data.buffer, this.#pageSize, this.#groupPages), data.byteLength);
  }

  /**
   * Where pgnos (of group, ascending) are in its row's data, when a checkpoint can replace
   * just their bytes there: no more than SPLICE_PAGES of them, each already in the row.
   * Else null, and the group is rewritten whole. A row is one blob of up to
   * HOT_GROUP_BYTES, so replacing a page in place keeps the rest of the group from
   * crossing into JavaScript and back (random keys touch a page or two per group).
   * @param {number} group @param {number[]} pgnos @returns {number[] | null}
   */
  #spliceOffsets(group, pgnos) {
    if (pgnos.length === 0 || pgnos.length > SPLICE_PAGES) return null;
    const cached = this.#cache.peek(group);
    let mask = 0;
    if (cached) cached.forEach((page, i) => (mask |= page ? 1 << i : 0));
    else mask = Number(this.exec(this.#statements.selectGroupMask, group)[0]?.[0] ?? 0);
    const offsets = [];
    for (const pgno of pgnos) {
      const at = (pgno - 1) % this.#groupPages;
      if (((mask >>> at) & 1) === 0) return null;
      offsets.push(groupPageOffset(mask, at, this.#pageSize));
    }
    return offsets;
  }

  /** pgnos' versions in group (cached, or read as just their bytes, at offsets in its data).
   *  @param {number} group @param {number[]} pgnos @param {number[]} offsets @returns {Uint8Array[]} */
  #pagesAt(group, pgnos, offsets) {
    const cached = this.#cache.peek(group);
    if (cached) return pgnos.map((pgno) => /** @type {Uint8Array} */ (cached[(pgno - 1) % this.#groupPages]));
    const row = this.exec(this.#statements.selectGroupPages(offsets.length), ...offsets.flatMap((offset) => [offset + 1, this.#pageSize]), group)[0];
    return row.map((bytes) => new Uint8Array(/** @type {ArrayBuffer} */ (bytes)));
  }

  /** Replace pgnos' bytes at offsets in group's row with their logged versions, in one
   *  statement, and in the cached group if it is cached.
   *  @param {number} group @param {number[]} offsets @param {number[]} pgnos */
  #splicePages(group, offsets, pgnos) {
    const pages = pgnos.map((pgno) => this.#logPage(/** @type {LogPlace} */ (this.#logPages.get(pgno))));
    const bindings = [];
    let from = 0;
    offsets.forEach((offset, i) => {
      bindings.push(from + 1, offset - from, wholeBuffer(pages[i]));
      from = offset + this.#pageSize;
    });
    this.exec(this.#statements.spliceGroup(offsets.length), ...bindings, from + 1, group);
    const cached = this.#cache.get(group);
    if (cached) pgnos.forEach((pgno, i) => (cached[(pgno - 1) % this.#groupPages] = pages[i]));
  }

  /** @param {number} group @returns {CachedGroup | null} */
  #group(group) {
    const cached = this.#cache.get(group);
    if (cached) return cached;
    const rows = this.exec(this.#statements.selectGroup, group);
    if (rows.length === 0) return null;
    const data = /** @type {ArrayBuffer} */ (rows[0][1]);
    return this.#remember(group, decodeGroup(Number(rows[0][0]), data, this.#pageSize, this.#groupPages), data.byteLength);
  }

  /** @param {number} group @param {CachedGroup | null} pages @param {number} bytes  the row's */
  #remember(group, pages, bytes) {
    // The least recently used go first, during a request too: a scan reads each group once.
    if (pages) this.#cache.set(group, pages, bytes);
    else this.#cache.delete(group);
    return pages;
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
    this.exec(this.#statements.upsertState, this.#pageSize, this.#groupPages, this.#logSlots, this.#pageCount, this.#checkpointSeq, this.#checkpointLsn, this.#floor,
      this.#changeNumbers.floor, this.#changeNumbers.kept);
  }

  // ---- opening -------------------------------------------------------------------

  /** Read the state and the log since the checkpoint: the whole state in memory, cache
   *  emptied. The log index, when it is of this span, stands for the rows up to its commit. */
  #load() {
    this.#cache.clear();
    this.#rows.clear();
    const [state] = this.exec(this.#statements.selectState);
    let floor, kept;
    [this.#pageSize, this.#groupPages, this.#logSlots, this.#pageCount, this.#checkpointSeq, this.#checkpointLsn, this.#floor, floor, kept] =
      state ? state.map(Number) : [0, 0, this.#tuning.logSlots, 0, 0, this.#firstLsn, this.#firstLsn, NO_CHANGE_NUMBERS.floor, NO_CHANGE_NUMBERS.kept];
    this.#changeNumbers = { floor, kept };
    this.#startSpan();
    this.#nextSeq = this.#checkpointSeq + 1;
    this.#lsn = this.#checkpointLsn;
    const [index] = this.exec(this.#statements.selectIndex, this.#checkpointSeq);
    const rows = (index && this.#fromIndex(index)) ?? this.#logRowsFrom(this.#nextSeq, Infinity);
    let lastLsn = this.#lsn;
    for (const [slot, seq, lsn, ts, pageCount, pgnos, bytes] of rows) {
      this.#truncate(Number(pageCount), Number(lsn));
      this.#spanBytes += Number(bytes);
      for (const record of decodeLogRecords(/** @type {ArrayBuffer} */ (pgnos), this.#pageSize, Number(bytes))) {
        this.#logged(record.pgno, placeOf(Number(slot), record, this.#logPages), Number(lsn));
      }
      if (Number(lsn) !== lastLsn) this.#spanTimes.push(Number(ts));
      lastLsn = Number(lsn);
      this.#logRows++;
      this.#nextSeq = Number(seq) + 1;
      this.#lsn = Number(lsn);
    }
    this.#spansRead = null;
  }

  /** Keep the log index as of this commit (the last row written), or fold the log when the
   *  index would hold more than a log row's bytes: a value is at most 2 MB, and an index
   *  grows with the pages logged and their chains of deltas (at 512-byte pages, 16,000
   *  pages 15 versions deep take 3 MB), so writing it would fail the commit. Inside the
   *  commit's transaction. */
  #saveIndex() {
    const pages = [...this.#logPages].map(([pgno, { first, chain }]) => ({ pgno, first, chain }));
    const { numbers, places } = encodeLogIndex({
      logRows: this.#logRows, pageCount: this.#pageCount, lowWater: this.#lowWater, spanBytes: this.#spanBytes,
      times: this.#spanTimes, truncations: this.#spanTruncations, pages,
    });
    if (numbers.byteLength + places.byteLength > this.#tuning.logRowBytes) {
      this.#checkpoint();
      return;
    }
    this.exec(this.#statements.upsertIndex, this.#nextSeq - 1, this.#lsn, numbers.buffer, places.buffer);
    this.#indexedRows = this.#logRows;
  }

  /**
   * The log rows after the index's commit, the state the rows up to it left restored from
   * it; or null, nothing restored, when the index is not of this log (its commit is not in
   * the log as it was: a release that knows no index imported over it, or committed and
   * checkpointed since) or cannot be read. The log is the truth: the index only saves
   * reading it.
   * @param {unknown[]} row  the index's row: seq, lsn, numbers, places
   */
  #fromIndex([seq, lsn, numbers, places]) {
    const rows = this.#logRowsFrom(Number(seq), Infinity);
    if (rows.length === 0 || Number(rows[0][1]) !== Number(seq) || Number(rows[0][2]) !== Number(lsn)) return null;
    let index;
    try {
      index = decodeLogIndex(/** @type {ArrayBuffer} */ (numbers), /** @type {ArrayBuffer} */ (places));
    } catch (err) {
      console.warn(`[dosql] the log index cannot be read, so the log is read instead: ${/** @type {Error} */ (err).message}`);
      return null;
    }
    this.#restoreIndex(Number(seq), Number(lsn), index);
    return rows.slice(1);
  }

  /** The state the log rows up to seq (the commit lsn) left, from their index.
   *  @param {number} seq @param {number} lsn @param {import('./page-blobs.js').LogIndex} index */
  #restoreIndex(seq, lsn, index) {
    this.#logRows = this.#indexedRows = index.logRows;
    this.#pageCount = index.pageCount;
    this.#lowWater = index.lowWater;
    this.#spanBytes = index.spanBytes;
    this.#spanTimes = index.times;
    this.#spanTruncations = index.truncations;
    for (const { pgno, first, chain } of index.pages) {
      /** @type {LogPlace | null} */
      let place = null;
      for (let i = 0; i < chain.length; i++) place = { ...chain[i], base: place, chain: chain.slice(0, i + 1), first };
      this.#logPages.set(pgno, /** @type {LogPlace} */ (place));
    }
    this.#nextSeq = seq + 1;
    this.#lsn = lsn;
  }

  /** The checkpointed spans (#spansRead), read from their segment rows the first time. */
  #spans() {
    if (this.#spansRead) return this.#spansRead;
    /** @type {Span[]} */
    const spans = [];
    for (const [seg, firstSeq, lastSeq, firstLsn, lastLsn, pageCount, lastTs, bytes] of this.exec(this.#statements.selectSpans).map((row) => row.map(Number))) {
      const span = spans.at(-1);
      if (span?.firstLsn === firstLsn) {
        span.lastSeg = seg;
        span.bytes += bytes;
      } else {
        spans.push({ firstSeg: seg, lastSeg: seg, firstSeq, lastSeq, firstLsn, lastLsn, pageCount, lastTs, bytes });
      }
    }
    this.#spansRead = spans;
    return spans;
  }

  /**
   * The log rows of seqs first.. in seq order, up to last or to the first seq
   * missing (a slot holds an older row, or none): [slot, seq, lsn, ts, page_count, pgnos, data's length].
   * A query reads every row of its range, and once the ring has come round the slots
   * past the span's last row hold older rows: an open (last Infinity) would read as many
   * as it asks for. So no more than tuning.indexRows at a time, the most an open from
   * the log index needs, not a whole span's.
   * @param {number} first @param {number} last @returns {unknown[][]}
   */
  #logRowsFrom(first, last) {
    const rows = [];
    for (let seq = first; seq <= last; ) {
      const slot = seq % this.#logSlots;
      const count = Math.min(last - seq + 1, this.#logSlots - slot, this.#tuning.indexRows);
      const chunk = this.exec(this.#statements.selectLogSlots, slot, slot + count - 1);
      for (const row of chunk) {
        if (Number(row[1]) !== seq) return rows;
        rows.push(row);
        seq++;
      }
      if (chunk.length < count) return rows;
    }
    return rows;
  }

  /**
   * Run fn in one transaction (or none, when alone: fn writes with one statement, whose
   * last step it is); when it throws, nothing was written, so the state in memory
   * (which fn may have changed) is read again from storage.
   * @template T @param {() => T} fn @param {boolean} [alone] @returns {T}
   */
  #write(fn, alone = false) {
    this.#views.clear();
    try {
      return alone ? fn() : this.#storage.transactionSync(fn);
    } catch (err) {
      this.#load();
      throw err;
    }
  }

  /** The live fence stays; an import's first-format table is one a first-format release abandoned. @param {string} prefix */
  #dropTables(prefix) {
    const tables = prefix === LIVE_PREFIX ? statementsOn(prefix).tables : [...statementsOn(prefix).tables, firstFormatTable(prefix)];
    tables.forEach((table) => this.exec(`DROP TABLE IF EXISTS ${table}`));
  }

  /**
   * The state row as earlier releases of this format wrote it, brought up to date in
   * the open's transaction:
   * - before history: no ring size (its ring had PRE_HISTORY_LOG_SLOTS rows, which its
   *   log rows' slots follow) and no floor. History starts at its last checkpoint (the
   *   state row's lsn): that release's checkpoints kept no versions they replaced,
   *   while the log rows since are all there;
   * - before page deltas (format 2): page_size, which is renamed page_bytes. Releases
   *   before deltas read page_size, so they refuse such a database ("no such column")
   *   instead of reading its delta records as whole pages.
   */
  #upgradeState() {
    const state = this.#statements.tables[2];
    const columns = this.#stateColumns();
    if (!columns.has('log_slots')) this.exec(`ALTER TABLE ${state} ADD COLUMN log_slots INTEGER NOT NULL DEFAULT ${PRE_HISTORY_LOG_SLOTS}`);
    if (!columns.has('floor')) {
      this.exec(`ALTER TABLE ${state} ADD COLUMN floor INTEGER NOT NULL DEFAULT 0`);
      this.exec(this.#statements.historyBeginsNow);
    }
    if (!columns.has('page_bytes')) {
      this.exec(`ALTER TABLE ${state} RENAME COLUMN page_size TO page_bytes`);
      this.exec(`UPDATE ${state} SET format = ${FORMAT} WHERE id = 1`);
    }
    if (!columns.has('change_floor')) {
      for (const column of CHANGE_NUMBER_COLUMNS.split(', ')) this.exec(`ALTER TABLE ${state} ADD COLUMN ${column}`);
    }
  }

  /** The state table's columns (none when it does not exist). */
  #stateColumns() {
    return new Set(this.exec(`SELECT name FROM pragma_table_info('${this.#statements.tables[2]}')`).map(([name]) => name));
  }

  /**
   * A database of the first format (dosql_pages, one row per page) moves into groups:
   * tuning.upgradeGroups groups per transaction, resumed after the last group written (a
   * crash leaves each page in one table or the other), and the old table replaced by
   * FIRST_FORMAT_FENCE with the last of them. The page count is its highest page's: the
   * first commit says the true one (cold pages may lie above it; strays above the end
   * are trimmed). Refused when this format's pages are not such an upgrade cut short.
   */
  #upgradeFromPages() {
    this.#load();
    if (this.#pageSize !== 0 && !this.#resumesUpgrade()) {
      throw new Error(
        `${V1_PAGES} holds pages a first-format release wrote after a later one had upgraded this database (a rollback past the upgrade):` +
          ' upgrading again would drop them, so the database is not opened (docs/deploying.md)',
      );
    }
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
    this.#storage.transactionSync(() => {
      this.exec(`DROP TABLE ${V1_PAGES}`);
      this.exec(FIRST_FORMAT_FENCE);
    });
  }

  /**
   * Whether this format's pages are an upgrade from dosql_pages cut short: no commit
   * since, and page 1, once moved, as dosql_pages has it. A first-format release rolled
   * back to after an upgrade that left no fence (releases before the fence) starts a
   * database of its own there, whose page 1 differs.
   */
  #resumesUpgrade() {
    if (this.#lsn !== 0) return false;
    const moved = this.readPage(1);
    const [first] = this.exec(`SELECT data FROM ${V1_PAGES} WHERE pgno = 1`);
    return moved === null || (first !== undefined && equalBytes(moved, new Uint8Array(/** @type {ArrayBuffer} */ (first[0]))));
  }
}

/**
 * The place of a log row's record; a delta's base is the page's newest version before
 * it, in newest (the rows before it, read in order, as the writer had them).
 * @param {number} slot @param {import('./page-blobs.js').LogRecord} record @param {Map<number, LogPlace>} newest
 * @returns {LogPlace}
 */
function placeOf(slot, { pgno, start, length, delta }, newest) {
  const base = delta ? newest.get(pgno) : null;
  if (base === undefined) throw new Error(`the log row in slot ${slot} holds a delta of page ${pgno}, which no earlier row of its span holds`);
  const location = { slot, start, length };
  return { ...location, base, chain: base ? [...base.chain, location] : [location], first: 0 };
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function equalBytes(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
