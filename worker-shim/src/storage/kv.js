// storage/kv.js — pages in a legacy key-value Durable Object (`new_classes`).
//
// Such objects have only the asynchronous API (ctx.storage.get/put/delete), so the
// engine cannot read storage while SQLite runs. This adapter keeps pages in an
// in-memory cache; a page not in it is a FAULT: the engine rolls the request back,
// calls prefetch(), and runs the request again.
//
// Keys: "p:<pgno in decimal>", one page per key (a page is at most 64 KiB, under
// the 128 KiB value limit). At most 128 keys per get/put/delete call.
//
// Generations (POST /import, durable-object/file-import.js): thousands of keys cannot be
// replaced in one atomic batch, so an import writes its pages under a new prefix,
// "g<N>:p:<pgno>", and switches to them with one put of GENERATION_KEY (absent:
// generation 0, the "p:" keys every object had before imports existed). The adapter
// reads that key before its first page. The previous generation's keys are deleted after
// the switch, in the background; whatever an interrupted import or clean-up leaves
// behind (generations N + 1 and N - 1) is deleted when the next import starts.
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

import { FAULT } from '../wasm/host.js';
import { DEFAULT_CACHE_BYTES } from '../config.js';

/** @typedef {import('../wasm/host.js').CommitBatch} CommitBatch */

/** Most keys one get/put/delete call may name (platform limit). */
const MAX_KEYS_PER_CALL = 128;

/** Largest value the platform stores under one key (bytes). */
const MAX_VALUE_BYTES = 128 * 1024;

/** Bytes a cache entry costs beyond its data (Map entry, key, object). */
const ENTRY_OVERHEAD_BYTES = 64;

/** Page size assumed for sizing read-ahead before the first page is seen. */
const ASSUMED_PAGE_SIZE = 4096;

/** The key that names the current generation of page keys (a number; absent: 0). */
export const GENERATION_KEY = 'dosql:generation';

/** Largest file POST /import takes here (bytes): its integrity check reads every
 *  page within one request, and a request keeps every page it read in the cache
 *  until it ends, so the whole file must fit in memory beside the live database. */
export const MAX_IMPORT_BYTES = 32 * 1024 * 1024;

/**
 * @typedef {object} KvStorageStats
 * @property {number} keysRead  keys asked for by get (billed reads)
 * @property {number} keysWritten  keys put (billed writes)
 * @property {number} keysDeleted  keys deleted (billed writes)
 * @property {number} fetches  prefetch calls
 * @property {number} commits
 * @property {number} cacheBytes  bytes held by the cache now
 */

/**
 * The key of page pgno in a generation.
 * @param {number} pgno
 * @param {number} [generation]
 */
export function pageKey(pgno, generation = 0) {
  return `${generationPrefix(generation)}${pgno}`;
}

/** @param {number} generation */
function generationPrefix(generation) {
  return generation === 0 ? 'p:' : `g${generation}:p:`;
}

/** What follows the prefix of a page key. */
const PAGE_NUMBER = /^[1-9][0-9]*$/;

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
  /** The generation of the page keys; null until read from storage. @type {number | null} */
  #generation;
  /** @type {(reason: string) => void} */
  #onTornWrite;
  /** Largest file POST /import takes into this object (bytes). */
  maxImportBytes = MAX_IMPORT_BYTES;
  /** @type {KvStorageStats} */
  stats = { keysRead: 0, keysWritten: 0, keysDeleted: 0, fetches: 0, commits: 0, cacheBytes: 0 };

  /**
   * @param {any} storage  ctx.storage of a key-value Durable Object
   * @param {object} [options]
   * @param {number} [options.cacheBytes]  cache budget in bytes
   * @param {(reason: string) => void} [options.onTornWrite]  called if a write
   *   call throws after others of the same batch were issued (they would land
   *   alone): the owner resets the object, e.g. with ctx.abort(reason)
   * @param {number} [options.generation]  the page keys to use (an import's
   *   staged pages); default: the current generation, read from storage
   */
  constructor(storage, { cacheBytes = DEFAULT_CACHE_BYTES, onTornWrite, generation } = {}) {
    this.#storage = storage;
    this.#budget = cacheBytes;
    this.#generation = generation ?? null;
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
    const generation = await this.#currentGeneration();
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
    const results = await Promise.all(chunks.map((c) => this.#storage.get(c.map((pgno) => pageKey(pgno, generation)))));
    chunks.forEach((c, i) => {
      /** @type {Map<string, unknown>} */
      const found = results[i];
      this.stats.keysRead += c.length;
      for (const pgno of c) {
        // A page written since the fetch began is newer than what came back.
        if (this.#cache.has(pgno)) continue;
        const value = found.get(pageKey(pgno, generation));
        const page = value === undefined ? null : asBytes(value);
        this.#remember(pgno, page);
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
    const generation = this.#generation;
    // The engine reads page 1, so prefetches, before it ever commits.
    if (generation === null) throw new Error('a commit came before the first read of the key-value adapter');
    /** @type {number[]} */
    const dropped = [];
    for (let pgno = newPageCount + 1; pgno <= oldPageCount; pgno++) dropped.push(pgno);

    const puts = chunk(pages, MAX_KEYS_PER_CALL).map((group) => {
      /** @type {Record<string, Uint8Array>} */
      const entries = {};
      for (const { pgno, data } of group) entries[pageKey(pgno, generation)] = data;
      return entries;
    });
    const deletes = chunk(dropped, MAX_KEYS_PER_CALL).map((group) => group.map((pgno) => pageKey(pgno, generation)));

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
   * The page size and count the engine found at open (used only to size
   * read-ahead, never to answer a read).
   * @param {{pageSize: number, pageCount: number}} size
   */
  sized({ pageSize, pageCount }) {
    this.#pageSize = pageSize || ASSUMED_PAGE_SIZE;
    this.#pageCount = pageCount;
  }

  // ---- imports (durable-object/file-import.js) ---------------------------------------------------------

  /**
   * Where an import stages its pages: generation current + 1, emptied first (an
   * abandoned import may have left keys there), as an adapter of its own. Keys
   * of generation current - 1 that an interrupted clean-up left go too.
   * @returns {Promise<KvPageStorage>}
   */
  async stageImport() {
    const current = await this.#currentGeneration();
    await Promise.all([this.#deleteGeneration(current + 1), current > 0 ? this.#deleteGeneration(current - 1) : null]);
    return new KvPageStorage(this.#storage, { cacheBytes: this.#budget, generation: current + 1 });
  }

  /**
   * Make staged's pages the database with one put of GENERATION_KEY. This
   * adapter then reads the new pages (its cache is emptied); the old
   * generation's keys are deleted in the background.
   * @param {KvPageStorage} staged  from stageImport()
   */
  async replaceWith(staged) {
    const old = await this.#currentGeneration();
    await this.#storage.put({ [GENERATION_KEY]: staged.#generation });
    this.#generation = staged.#generation;
    this.#cache.clear();
    this.#cacheBytes = 0;
    this.#pageCount = null;
    this.stats.cacheBytes = 0;
    this.#deleteGeneration(old).catch((err) => console.error(`[dosql] deleting the pages replaced by an import failed (the next import retries):`, err));
  }

  /**
   * Delete the staged pages of an import that was refused. Awaited: the next
   * import stages into the same generation.
   * @param {KvPageStorage} staged  from stageImport()
   */
  async discardImport(staged) {
    await staged.#deleteGeneration(/** @type {number} */ (staged.#generation));
  }

  /** The generation of the page keys, read from storage the first time. */
  async #currentGeneration() {
    if (this.#generation === null) {
      const stored = (await this.#storage.get([GENERATION_KEY])).get(GENERATION_KEY);
      this.stats.keysRead++;
      this.#generation ??= typeof stored === 'number' ? stored : 0;
    }
    return this.#generation;
  }

  /**
   * Delete every page key of a generation, MAX_KEYS_PER_CALL at a time. They are
   * listed rather than counted (after a crash nobody knows how many there are),
   * and only page keys go: a class of one's own around DB() may keep keys of its
   * own in the same storage, under the same prefix.
   * @param {number} generation
   */
  async #deleteGeneration(generation) {
    const prefix = generationPrefix(generation);
    /** @type {{prefix: string, limit: number, startAfter?: string}} */
    const options = { prefix, limit: MAX_KEYS_PER_CALL };
    for (;;) {
      const listed = [...(await this.#storage.list(options)).keys()];
      this.stats.keysRead += listed.length;
      if (listed.length === 0) return;
      options.startAfter = listed[listed.length - 1];
      const pages = listed.filter((key) => PAGE_NUMBER.test(key.slice(prefix.length)));
      if (pages.length > 0) this.stats.keysDeleted += await this.#storage.delete(pages);
    }
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
