// storage-kv.js — pages in a legacy key-value Durable Object (`new_classes`).
//
// Such objects have only the asynchronous API (ctx.storage.get/put/delete), so the
// engine cannot read storage while SQLite runs. This adapter keeps pages in an
// in-memory cache; a page not in it is a FAULT: the engine rolls the request back,
// calls prefetch(), and runs the request again.
//
// Keys: "p:<pgno in decimal>", one page per key (a page is at most 64 KiB, under
// the 128 KiB value limit). At most 128 keys per get/put/delete call.
//
// Commit: every put and delete of one batch is issued with no `await` in between.
// Durable Objects submit such writes as one atomic batch, and the output gate holds
// the response until it is durable; if the write fails, the runtime resets the
// object (and this cache with it).
//
// Cache: a Map in least-recently-used order, bounded by a byte budget. It is
// trimmed only between requests (settle): the pages one request needs must all
// stay resident until its final, fault-free run, so a request may briefly take
// the cache above budget.

import { FAULT } from './host.js';

/** @typedef {import('./host.js').CommitBatch} CommitBatch */

/** Default cache budget (bytes): with SQLite's own 16 MiB cache, an object stays
 *  near a quarter of an isolate's 128 MB. */
export const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;

/** Most keys one get/put/delete call may name (platform limit). */
const MAX_KEYS_PER_CALL = 128;

/** Largest value the platform stores under one key (bytes). */
const MAX_VALUE_BYTES = 128 * 1024;

/** Bytes a cache entry costs beyond its data (Map entry, key, object). */
const ENTRY_OVERHEAD_BYTES = 64;

/** Page size assumed for sizing read-ahead before the first page is seen. */
const ASSUMED_PAGE_SIZE = 4096;

/**
 * @typedef {object} KvStorageStats
 * @property {number} keysRead  keys asked for by get (billed reads)
 * @property {number} keysWritten  keys put (billed writes)
 * @property {number} keysDeleted  keys deleted (billed writes)
 * @property {number} fetches  prefetch calls
 * @property {number} commits
 * @property {number} cacheBytes  bytes held by the cache now
 */

/** @param {number} pgno */
export function pageKey(pgno) {
  return `p:${pgno}`;
}

export class KvPageStorage {
  /** @type {any} DurableObjectStorage */
  #storage;
  /** @type {Map<number, Uint8Array | null>} LRU order: oldest first */
  #cache = new Map();
  #cacheBytes = 0;
  #budget;
  /** Pages in the database as of the last commit or page 1 seen; null if unknown. */
  #pageCount = /** @type {number | null} */ (null);
  #pageSize = ASSUMED_PAGE_SIZE;
  /** @type {(reason: string) => void} */
  #onTornWrite;
  /** @type {KvStorageStats} */
  stats = { keysRead: 0, keysWritten: 0, keysDeleted: 0, fetches: 0, commits: 0, cacheBytes: 0 };

  /**
   * @param {any} storage  ctx.storage of a key-value Durable Object
   * @param {object} [options]
   * @param {number} [options.cacheBytes]  cache budget in bytes
   * @param {(reason: string) => void} [options.onTornWrite]  called if a write
   *   call throws after others of the same batch were issued (they would land
   *   alone): the owner resets the object, e.g. with ctx.abort(reason)
   */
  constructor(storage, { cacheBytes = DEFAULT_CACHE_BYTES, onTornWrite } = {}) {
    this.#storage = storage;
    this.#budget = cacheBytes;
    this.#onTornWrite = onTornWrite ?? ((reason) => {
      throw new Error(reason);
    });
  }

  /**
   * The cached page, null if storage is known to lack it, or FAULT.
   * @param {number} pgno
   * @returns {Uint8Array | null | typeof FAULT}
   */
  readPage(pgno) {
    const page = this.#cache.get(pgno);
    if (page === undefined) return FAULT;
    // Most recently used goes last.
    this.#cache.delete(pgno);
    this.#cache.set(pgno, page);
    return page;
  }

  /**
   * Fetch (pgno - window, pgno + window) for every pgno into the cache: b-trees
   * are read in both directions (a table filled in reverse, an ORDER BY ... DESC),
   * and a read costs a thousandth of a write. Pages past the known end of the
   * database are skipped; the named pages always are fetched.
   * @param {number[]} pages
   * @param {number} window
   */
  async prefetch(pages, window) {
    // Read-ahead never takes more than half the budget at once.
    const most = Math.max(1, Math.floor(this.#budget / 2 / this.#pageSize));
    const span = Math.max(1, Math.min(window, most));
    /** @type {Set<number>} */
    const wanted = new Set();
    for (const first of pages) {
      if (!this.#cache.has(first)) wanted.add(first);
      for (let pgno = Math.max(1, first - span + 1); pgno < first + span; pgno++) {
        if (this.#pageCount !== null && pgno > this.#pageCount) break;
        if (!this.#cache.has(pgno)) wanted.add(pgno);
      }
    }
    if (wanted.size === 0) return;
    const sorted = [...wanted].sort((a, b) => a - b);
    const chunks = chunk(sorted, MAX_KEYS_PER_CALL);
    this.stats.fetches++;
    const results = await Promise.all(chunks.map((c) => this.#storage.get(c.map(pageKey))));
    chunks.forEach((c, i) => {
      /** @type {Map<string, unknown>} */
      const found = results[i];
      this.stats.keysRead += c.length;
      for (const pgno of c) {
        // A page written since the fetch began is newer than what came back.
        if (this.#cache.has(pgno)) continue;
        const value = found.get(pageKey(pgno));
        const page = value === undefined ? null : asBytes(value);
        this.#remember(pgno, page);
        if (pgno === 1 && page) this.#learnFromHeader(page);
      }
    });
    if (wanted.has(1) && this.#cache.get(1) === null) this.#pageCount = 0;
  }

  /**
   * Write one commit batch as one atomic group of writes: nothing awaited between
   * them. Throws, having written nothing, when the batch cannot be stored.
   * @param {CommitBatch} batch
   */
  commit({ pageSize, oldPageCount, newPageCount, pages }) {
    if (pageSize > MAX_VALUE_BYTES) {
      throw new Error(`page size ${pageSize} exceeds the ${MAX_VALUE_BYTES}-byte value limit of key-value Durable Objects`);
    }
    /** @type {number[]} */
    const dropped = [];
    for (let pgno = newPageCount + 1; pgno <= oldPageCount; pgno++) dropped.push(pgno);

    const puts = chunk(pages, MAX_KEYS_PER_CALL).map((group) => {
      /** @type {Record<string, Uint8Array>} */
      const entries = {};
      for (const { pgno, data } of group) entries[pageKey(pgno)] = data;
      return entries;
    });
    const deletes = chunk(dropped, MAX_KEYS_PER_CALL).map((group) => group.map(pageKey));

    /** @type {Promise<unknown>[]} */
    const pending = [];
    let issued = 0;
    try {
      for (const entries of puts) {
        pending.push(this.#storage.put(entries));
        issued++;
      }
      for (const keys of deletes) {
        pending.push(this.#storage.delete(keys));
        issued++;
      }
    } catch (err) {
      if (issued > 0) {
        this.#onTornWrite(`a commit's write failed after ${issued} of its ${puts.length + deletes.length} calls were issued: ${err instanceof Error ? err.message : err}`);
      }
      throw err;
    }
    // The runtime resets the object if these fail; say why in the log.
    Promise.all(pending).catch((err) => console.error('[dosql] key-value commit failed:', err));

    for (const { pgno, data } of pages) this.#remember(pgno, data);
    for (const pgno of dropped) this.#remember(pgno, null);
    this.#pageCount = newPageCount;
    this.#pageSize = pageSize;
    this.stats.keysWritten += pages.length;
    this.stats.keysDeleted += dropped.length;
    this.stats.commits++;
  }

  /** After a request: trim the cache to its budget, least recently used first. */
  settle() {
    for (const [pgno, page] of this.#cache) {
      if (this.#cacheBytes <= this.#budget) break;
      this.#cache.delete(pgno);
      this.#cacheBytes -= entryBytes(page);
    }
    this.stats.cacheBytes = this.#cacheBytes;
  }

  /**
   * Put a page (or the fact that it is missing) in the cache, most recent last.
   * @param {number} pgno
   * @param {Uint8Array | null} page
   */
  #remember(pgno, page) {
    const old = this.#cache.get(pgno);
    if (old !== undefined) {
      this.#cache.delete(pgno);
      this.#cacheBytes -= entryBytes(old);
    }
    this.#cache.set(pgno, page);
    this.#cacheBytes += entryBytes(page);
    this.stats.cacheBytes = this.#cacheBytes;
  }

  /**
   * Learn the page size and page count from page 1's header, when the header's
   * size field is valid (bytes 92-95 equal the change counter at 24-27). Used only
   * to size read-ahead, never to answer a read.
   * @param {Uint8Array} page
   */
  #learnFromHeader(page) {
    if (page.length < 100) return;
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const size = view.getUint16(16);
    this.#pageSize = size === 1 ? 65536 : size || ASSUMED_PAGE_SIZE;
    if (view.getUint32(92) === view.getUint32(24)) this.#pageCount = view.getUint32(28);
  }
}

/** @param {Uint8Array | null} page */
function entryBytes(page) {
  return ENTRY_OVERHEAD_BYTES + (page ? page.byteLength : 0);
}

/**
 * A stored value as bytes.
 * @param {unknown} value
 * @returns {Uint8Array}
 */
function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new Error(`a stored page is a ${Object.prototype.toString.call(value)}, not bytes`);
}

/**
 * @template T
 * @param {T[]} items
 * @param {number} size
 * @returns {T[][]}
 */
function chunk(items, size) {
  /** @type {T[][]} */
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
