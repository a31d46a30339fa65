// storage/kv.js — pages in a legacy key-value Durable Object (`new_classes`).
//
// Such objects have only the asynchronous API, so the engine cannot read storage
// while SQLite runs: pages are kept in an in-memory cache, and a page not in it is
// a FAULT (the engine rolls the request back, calls prefetch(), and runs it again).
//
// Keys: "p:<pgno>", one page per key (a page is at most 64 KiB, under the 128 KiB
// value limit); at most 128 keys per get/put/delete call.
//
// Generations (imports): thousands of keys cannot be replaced in one atomic batch,
// so an import writes its pages under "g<N>:p:<pgno>" and switches to them with one
// put of GENERATION_KEY (absent: generation 0, the "p:" keys). The old generation
// is deleted in the background; whatever an interrupted import or clean-up leaves
// (generations N + 1 and N - 1) is deleted when the next import starts.
//
// Commit: every put and delete of a batch is issued with no `await` in between, so
// Durable Objects submit them as one atomic batch and the output gate holds the
// response until it is durable; if the write fails, the runtime resets the object.
//
// Cache: LRU, bounded by a byte budget but trimmed to it only between requests
// (settle): the pages one request reads must all stay resident until its final,
// fault-free run, so a request may take the cache above budget, by up to
// MAX_REQUEST_BYTES of pages it read (503 FAULT_LIMIT past it). Pages it has not
// read (earlier requests', read-ahead not used yet) give way to its fetches.

import { FAULT, NO_CHANGE_NUMBERS, StorageError } from '../wasm/host.js';
import { DEFAULT_CACHE_BYTES } from '../config.js';

/** @typedef {import('../wasm/host.js').CommitBatch} CommitBatch */

// Platform limits.
const MAX_KEYS_PER_CALL = 128;
const MAX_VALUE_BYTES = 128 * 1024;
/** Bytes a cache entry costs beyond its data (Map entry, key, object). */
const ENTRY_OVERHEAD_BYTES = 64;
/** The narrowest read-ahead span (pages each side) a request whose read-ahead gives
 *  way before it is read is cut down to: narrower, a request reading on through a part
 *  of the file takes a fault every few pages. */
const THRASH_SPAN = 256;
/** For sizing read-ahead before the first page is seen. */
const ASSUMED_PAGE_SIZE = 4096;

const GENERATION_KEY = 'dosql:generation';
/** How change events are numbered after the last import (wasm/host.js ChangeNumbers),
 *  put with the generation it came with. */
const CHANGE_NUMBERS_KEY = 'dosql:change-numbers';

/** An import's integrity check reads every page within one request, which keeps
 *  them all in the cache, so the file must fit in memory beside the live database. */
export const MAX_IMPORT_BYTES = 32 * 1024 * 1024;

const MIB = 1024 * 1024;
/** Bytes of pages one request may fetch, beyond what the cache holds already (the
 *  cacheBytes option when larger): the isolate has 128 MB, beside the cache (16 MiB)
 *  and the engine's memory (about 20 MiB through a scan; restarted past 48 MiB). A
 *  database up to this size can be read whole in one request (integrity_check). */
export const MAX_REQUEST_BYTES = 64 * MIB;

/** The smallest cacheBytes: four pages of the default size. Below a page, a fault
 *  fetches nothing ahead and a transaction reading a few pages never commits. */
export const MIN_CACHE_BYTES = 16 * 1024;

/**
 * The cacheBytes option, checked where it is given (defineDoSQL, DB()): undefined
 * for the default, else a whole number of bytes, at least MIN_CACHE_BYTES; throws
 * TypeError naming what is wrong.
 * @param {unknown} cacheBytes @returns {number | undefined}
 */
export function checkCacheBytes(cacheBytes) {
  if (cacheBytes === undefined || (Number.isSafeInteger(cacheBytes) && /** @type {number} */ (cacheBytes) >= MIN_CACHE_BYTES)) return /** @type {number | undefined} */ (cacheBytes);
  throw new TypeError(`cacheBytes must be a whole number of bytes, at least ${MIN_CACHE_BYTES} (four 4 KiB pages); got ${JSON.stringify(cacheBytes)}`);
}

/** Billed reads and writes (keys), prefetch calls, commits, bytes cached now.
 *  @typedef {{keysRead: number, keysWritten: number, keysDeleted: number, fetches: number, commits: number, cacheBytes: number}} KvStorageStats */

/** @param {number} pgno @param {number} [generation] */
function pageKey(pgno, generation = 0) {
  return `${generationPrefix(generation)}${pgno}`;
}

/** @param {number} generation */
function generationPrefix(generation) {
  return generation === 0 ? 'p:' : `g${generation}:p:`;
}

/** What follows a page key's prefix. */
const PAGE_NUMBER = /^[1-9][0-9]*$/;

export class KvPageStorage {
  /** @type {any} DurableObjectStorage */
  #storage;
  /** @type {Map<number, Uint8Array | null>} LRU order: oldest first */
  #cache = new Map();
  #cacheBytes = 0;
  /** Pages read since the last settle(), and their bytes: the request's own, which it
   *  holds to its end (a run after a fault reads them again). */
  #read = new Set();
  #readBytes = 0;
  /** Pages given way unread since the last settle(); the widest read-ahead span the
   *  request's faults may take now, halved each time one of those is needed again. */
  #evicted = new Set();
  #spanCap = Infinity;
  #budget;
  /** As of the last commit or page 1 seen; null if unknown. */
  #pageCount = /** @type {number | null} */ (null);
  #pageSize = ASSUMED_PAGE_SIZE;
  /** Null until read from storage. @type {number | null} */
  #generation;
  /** Read with the generation; on a staged import, what its swap puts.
   *  @type {import('../wasm/host.js').ChangeNumbers} */
  #changeNumbers = NO_CHANGE_NUMBERS;
  /** @type {(reason: string) => void} */
  #onTornWrite;
  maxImportBytes = MAX_IMPORT_BYTES;
  /** @type {KvStorageStats} */
  stats = { keysRead: 0, keysWritten: 0, keysDeleted: 0, fetches: 0, commits: 0, cacheBytes: 0 };

  /**
   * @param {any} storage  ctx.storage of a key-value Durable Object
   * @param {{cacheBytes?: number, onTornWrite?: (reason: string) => void, generation?: number}} [options]
   *   onTornWrite: a write call threw after others of its batch were issued (they
   *   would land alone), so reset the object (ctx.abort); generation: an import's
   *   staged pages (default: the current one, read from storage)
   */
  constructor(storage, { cacheBytes = DEFAULT_CACHE_BYTES, onTornWrite, generation } = {}) {
    this.#storage = storage;
    this.#budget = cacheBytes;
    this.#generation = generation ?? null;
    this.#onTornWrite = onTornWrite ?? ((reason) => {
      throw new Error(reason);
    });
  }

  /** @param {number} pgno @returns {Uint8Array | null | typeof FAULT}  null: storage lacks it */
  readPage(pgno) {
    const page = this.#cache.get(pgno);
    if (page === undefined) return FAULT;
    this.#cache.delete(pgno); // most recently used goes last
    this.#cache.set(pgno, page);
    const known = this.#read.size;
    if (this.#read.add(pgno).size !== known) this.#readBytes += entryBytes(page);
    return page;
  }

  /**
   * Fetch (pgno - window, pgno + window) around every pgno, skipping pages past the
   * known end (not the named ones): b-trees are read in both directions (ORDER BY
   * ... DESC), and a read costs a thousandth of a write.
   * @param {number[]} pages @param {number} window
   */
  async prefetch(pages, window) {
    const generation = await this.#currentGeneration();
    // A window (span pages each side) never takes more than half the budget: the
    // other half keeps what the requests before read (page 1, which every
    // transaction reads first, among them).
    const most = Math.max(1, Math.floor(this.#budget / 4 / (this.#pageSize + ENTRY_OVERHEAD_BYTES)));
    let span = Math.max(1, Math.min(window, most, this.#spanCap));
    // A page fetched and given way unread comes back: the windows are too wide for the
    // parts of the file the request visits in turn, and would give way again.
    if (pages.some((pgno) => this.#evicted.has(pgno))) span = this.#spanCap = Math.max(Math.min(THRASH_SPAN, span), Math.floor(span / 2));
    const requestBytes = Math.max(this.#budget, MAX_REQUEST_BYTES);
    const entry = this.#pageSize + ENTRY_OVERHEAD_BYTES;
    /** @type {Set<number>} */
    const wanted = new Set(pages.filter((pgno) => !this.#cache.has(pgno)));
    // The pages the request read and those it faulted on stay until it ends: past the
    // bound it cannot be served at all.
    if (this.#readBytes + wanted.size * entry > requestBytes) {
      throw new StorageError('FAULT_LIMIT', `the request reads more pages than a key-value object keeps in memory for one request (${MAX_REQUEST_BYTES / MIB} MiB, or cacheBytes when larger): every page it reads must be held until it ends; split it into smaller requests (a LIMIT, or a range of keys each)`);
    }
    // Read-ahead fills what is left of the request's bound above the budget.
    const room = Math.floor((this.#budget + requestBytes - this.#readBytes) / entry);
    for (const first of pages) {
      for (let pgno = Math.max(1, first - span + 1); pgno < first + span && wanted.size < room; pgno++) {
        if (this.#pageCount !== null && pgno > this.#pageCount) break;
        if (!this.#cache.has(pgno)) wanted.add(pgno);
      }
    }
    if (wanted.size === 0) return;
    const sorted = [...wanted].sort((a, b) => a - b);
    const chunks = chunk(sorted, MAX_KEYS_PER_CALL);
    this.#trimUnread(this.#budget + requestBytes - sorted.length * entry);
    this.stats.fetches++;
    const results = await Promise.all(chunks.map((c) => this.#storage.get(c.map((pgno) => pageKey(pgno, generation)))));
    chunks.forEach((c, i) => {
      /** @type {Map<string, unknown>} */
      const found = results[i];
      this.stats.keysRead += c.length;
      for (const pgno of c) {
        // A page written since the fetch began is newer than what came back.
        if (this.#cache.has(pgno)) continue;
        const key = pageKey(pgno, generation);
        const value = found.get(key);
        const page = value === undefined ? null : asBytes(value, key);
        this.#remember(pgno, page);
      }
    });
    if (wanted.has(1) && this.#cache.get(1) === null) this.#pageCount = 0;
  }

  /** One atomic group of writes (nothing awaited between them); throws, having written nothing, if it cannot be stored. @param {CommitBatch} batch */
  commit({ pageSize, oldPageCount, newPageCount, pages }) {
    if (pageSize > MAX_VALUE_BYTES) {
      throw new Error(`page size ${pageSize} exceeds the ${MAX_VALUE_BYTES}-byte value limit of key-value Durable Objects`);
    }
    const generation = this.#generation;
    // The engine reads page 1 (so prefetches) before it ever commits.
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
    // A request that commits many times (a libSQL pipeline, migrations) would hold
    // every page it wrote until it ends: past the bound the oldest go now. A page the
    // request reads again is fetched again, and what it committed is not run again.
    this.#trimTo(Math.max(this.#budget, MAX_REQUEST_BYTES));
    this.stats.keysWritten += pages.length;
    this.stats.keysDeleted += dropped.length;
    this.stats.commits++;
  }

  /** After a request: trim the cache to its budget, least recently used first. */
  settle() {
    // Read-ahead the request did not read goes first: a transaction a fault aborted
    // is retried, reading again what its last try read.
    this.#trimUnread(this.#budget);
    this.#trimTo(this.#budget);
    this.#read.clear();
    this.#readBytes = 0;
    this.#evicted.clear();
    this.#spanCap = Infinity;
  }

  /** Drop pages the request has not read, least recently used first, until the cache
   *  holds at most bytes (or only pages it read). @param {number} bytes */
  #trimUnread(bytes) {
    for (const [pgno, page] of this.#cache) {
      if (this.#cacheBytes <= bytes) break;
      if (this.#read.has(pgno)) continue;
      this.#cache.delete(pgno);
      this.#evicted.add(pgno);
      this.#cacheBytes -= entryBytes(page);
    }
    this.stats.cacheBytes = this.#cacheBytes;
  }

  /** Drop the least recently used pages until the cache holds at most bytes. @param {number} bytes */
  #trimTo(bytes) {
    for (const [pgno, page] of this.#cache) {
      if (this.#cacheBytes <= bytes) break;
      this.#cache.delete(pgno);
      this.#cacheBytes -= entryBytes(page);
    }
    this.stats.cacheBytes = this.#cacheBytes;
  }

  /** Cache a page (null: storage lacks it), most recent last. @param {number} pgno @param {Uint8Array | null} page */
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

  /** What the engine found at open (sizes read-ahead, never answers a read). @param {{pageSize: number, pageCount: number}} size */
  sized({ pageSize, pageCount }) {
    this.#pageSize = pageSize || ASSUMED_PAGE_SIZE;
    this.#pageCount = pageCount;
  }

  // ---- imports ------------------------------------------------------------------

  /**
   * An adapter on generation current + 1, emptied first (an abandoned import may
   * have left keys there), as is current - 1 (an interrupted clean-up).
   * @returns {Promise<KvPageStorage>}
   */
  async stageImport() {
    const current = await this.#currentGeneration();
    await Promise.all([this.#deleteGeneration(current + 1), current > 0 ? this.#deleteGeneration(current - 1) : null]);
    return new KvPageStorage(this.#storage, { cacheBytes: this.#budget, generation: current + 1 });
  }

  /** Switch to staged's generation with one put; the old keys go in the background. @param {KvPageStorage} staged */
  async replaceWith(staged) {
    const old = await this.#currentGeneration();
    await this.#storage.put({ [GENERATION_KEY]: staged.#generation, [CHANGE_NUMBERS_KEY]: staged.#changeNumbers });
    this.#generation = staged.#generation;
    this.#changeNumbers = staged.#changeNumbers;
    this.#cache.clear();
    this.#cacheBytes = 0;
    this.#pageCount = null;
    this.stats.cacheBytes = 0;
    this.#deleteGeneration(old).catch((err) => console.error(`[dosql] deleting the pages replaced by an import failed (the next import retries):`, err));
  }

  /** Awaited: the next import stages into the same generation. @param {KvPageStorage} staged */
  async discardImport(staged) {
    await staged.#deleteGeneration(/** @type {number} */ (staged.#generation));
  }

  async #currentGeneration() {
    if (this.#generation === null) {
      const stored = await this.#storage.get([GENERATION_KEY, CHANGE_NUMBERS_KEY]);
      const generation = stored.get(GENERATION_KEY);
      this.stats.keysRead += 2;
      this.#generation ??= typeof generation === 'number' ? generation : 0;
      this.#changeNumbers = stored.get(CHANGE_NUMBERS_KEY) ?? NO_CHANGE_NUMBERS;
    }
    return this.#generation;
  }

  /** As read at the first fetch (every start prefetches page 1 first). @returns {import('../wasm/host.js').ChangeNumbers} */
  changeNumbers() {
    return this.#changeNumbers;
  }

  /** On a staged import: what its swap keeps. @param {import('../wasm/host.js').ChangeNumbers} numbers */
  renumberChanges(numbers) {
    this.#changeNumbers = numbers;
  }

  /**
   * Delete a generation's page keys. Listed, not counted (after a crash nobody knows
   * how many there are); only page keys: a class of one's own around DB() may keep
   * keys of its own under the same prefix.
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
 * A page as stored; one that is not bytes was written by someone else (a class of
 * one's own putting a key DoSQL owns): the database cannot be read, and says why.
 * @param {unknown} value @param {string} key @returns {Uint8Array}
 */
function asBytes(value, key) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new StorageError(
    'BAD_CONFIG',
    `the storage key ${key} holds a ${Object.prototype.toString.call(value).slice(8, -1)}, not a page of the database: ` +
      'DoSQL keeps its pages under the keys p:<n> and g<N>:p:<n>, and its state under dosql:*, in a key-value ' +
      'object\'s storage; a class of your own must not write those keys (docs/own-class.md)',
  );
}

/** @template T @param {T[]} items @param {number} size @returns {T[][]} */
function chunk(items, size) {
  /** @type {T[][]} */
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
