// wasm/host.js — every import of dosql.wasm (src/host.h), in one module.
//
// This file and src/host.h are a pair: IMPORT_NAMES and the constants below must
// match the header (tests/worker/abi.test.js compares them with the header and with
// the built module's import section).
//
// Rules kept by every function here (see host.h):
//   - synchronous, and never throws into C: failures become return codes, and the
//     exception text goes to the log with the object's label;
//   - a view of linear memory is made inside each call, or kept only with the
//     buffer it was made on and made again when a grow replaced that buffer
//     (memoryBytes below): memory growth detaches it;
//   - memory passed in belongs to C and is valid only during the call, so what the
//     storage adapter keeps is copied out first;
//   - a Promise where a synchronous answer is due is a bug in the adapter, and is
//     treated as a failure (for commit, where the outcome is then unknown, by
//     stopping the instance).

/** Import names of the module "dosql", in host.h order. Must match host.h. */
export const IMPORT_NAMES = Object.freeze(['page_read', 'commit', 'history_point', 'page_read_at', 'history_info', 'change_numbers', 'now_ms', 'random', 'log']);

/** The import module name. Must match DOSQL_IMPORT in host.h. */
export const IMPORT_MODULE = 'dosql';

/** Results of page_read. Must match DOSQL_PAGE_* in host.h. */
export const PAGE_OK = 0;
export const PAGE_MISSING = 1;
export const PAGE_FAULT = 2;
export const PAGE_ERROR = 3;
export const PAGE_FETCHED = 4;

/** Results of commit. Must match DOSQL_COMMIT_* in host.h. */
export const COMMIT_OK = 0;
export const COMMIT_ERROR = 3;

/** Kinds of point of history_point. Must match DOSQL_POINT_* in host.h. */
export const POINT_LSN = 0;
export const POINT_TIME = 1;

/** Failures of history_point. Must match DOSQL_HISTORY_* in host.h. */
export const HISTORY_NONE = -1;
export const HISTORY_BEFORE = -2;
export const HISTORY_AFTER = -3;
export const HISTORY_ERROR = -4;

/** What history_info fills, in order. Must match DOSQL_HISTORY_* (the indexes) in host.h. */
export const HISTORY_INFO = Object.freeze(['lsn', 'oldestLsn', 'oldestTime', 'windowMs', 'bytes', 'logSlots']);

/** What change_numbers fills, in order. Must match DOSQL_CHANGES_* (the indexes) in host.h. */
const CHANGE_NUMBERS = Object.freeze(['floor', 'kept']);

/** Log levels. Must match DOSQL_LOG_* in host.h. */
export const LOG_ERROR = 0;
export const LOG_WARN = 1;
export const LOG_INFO = 2;

/** Bytes of a commit batch header (DOSQL_BATCH_HEADER), and of each DosqlPageRef
 *  after it in wasm32: u32 pgno, u32 address of the page's bytes (host.h). */
export const BATCH_HEADER_BYTES = 16;
const BATCH_REF_BYTES = 8;

/** crypto.getRandomValues refuses more than this many bytes per call. */
const RANDOM_CHUNK_BYTES = 65536;

/**
 * What a storage adapter's readPage returns for a page that exists but cannot be
 * had synchronously. The engine then fetches it (adapter.prefetch) and retries.
 */
export const FAULT = Symbol.for('dosql.page-fault');

/**
 * What a storage adapter's prefetch throws for a failure the caller should see
 * as an answer (e.g. the cold tier cannot be reached) rather than as a bug of
 * ours: the engine answers it with this status and code.
 */
export class StorageError extends Error {
  name = 'StorageError';

  /**
   * @param {string} code  stable, with its status in src/errors.c
   * @param {string} message
   * @param {ErrorOptions} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.code = code;
  }
}

/**
 * @typedef {object} CommitBatch
 * @property {number} pageSize
 * @property {number} oldPageCount   pages before this commit
 * @property {number} newPageCount   pages after it; pages above it are dropped
 * @property {{pgno: number, data: Uint8Array}[]} pages  ascending pgno, data copied
 */

/**
 * The interface the engine and host need from a storage adapter.
 * @typedef {object} StorageAdapter
 * @property {(pgno: number) => Uint8Array | null | typeof FAULT} readPage
 *   synchronous: the page's bytes, null when storage has no such page, FAULT when
 *   it exists but is not available synchronously. May throw (storage failure).
 * @property {(batch: CommitBatch) => void} commit
 *   synchronous and atomic; throws when nothing was written.
 * @property {(pages: number[], window: number) => Promise<void>} prefetch
 *   fetch each named page and up to `window` pages around it, so that readPage
 *   can answer them synchronously. Throws StorageError when it cannot.
 * @property {() => void} [settle]  called after each request (cache trimming)
 * @property {(size: {pageSize: number, pageCount: number}) => void} [sized]
 *   the database's page size and count as the engine found them at open (for
 *   sizing read-ahead; commits say the count from then on)
 * @property {number} [readAhead]  the first fault window this storage wants (pages)
 * @property {number} [maxReadAhead]  the largest fault window it can hold (pages)
 * @property {(hold: () => Promise<() => void>) => Promise<void>} [maintain]
 *   upkeep between requests (the cold tier); hold() takes the transaction gate
 * @property {Record<string, number>} stats  counts for /stats
 * @property {number} [rowsRead]  rows read from the object's storage so far: a read
 *   that raised it fetched what it answered (PAGE_FETCHED, which the engine charges
 *   as such); absent: reads answer from memory
 * @property {(kind: 'lsn' | 'time', value: number) => number | 'before' | 'after'} [historyPoint]
 *   the lsn of a point of history (an lsn, or ms since the epoch: the newest commit
 *   at or before it), or why there is none; absent: this storage keeps no history
 * @property {(lsn: number, pgno: number) => Uint8Array | null | typeof FAULT} [readPageAt]
 *   readPage as of an lsn historyPoint gave
 * @property {() => HistoryInfo} [historyInfo]  what GET /history tells
 * @property {() => ChangeNumbers} [changeNumbers]  how change events are numbered after
 *   the last restore or import (absent: none happened that storage records)
 * @property {(numbers: ChangeNumbers) => void} [renumberChanges]  keep them (inside
 *   the replacement's own atomic write)
 */

/** What C's /restore check and /changes/replaced answer, and storage keeps: new events are
 *  numbered above floor; readers past kept and below floor read a gap (src/changelog.h).
 *  @typedef {{floor: number, kept: number}} ChangeNumbers */

/** The change numbers of a database no restore or import replaced. @type {ChangeNumbers} */
export const NO_CHANGE_NUMBERS = Object.freeze({ floor: 0, kept: -1 });

/** @typedef {{lsn: number, oldestLsn: number, oldestTime: number | null, windowMs: number, bytes: number, logSlots: number}} HistoryInfo */

/**
 * The host an instance's imports call, read at each call (not when the imports are
 * made): wasm/engine.js makes an instance ahead of need and binds it to its storage
 * when an Engine takes it.
 * @typedef {object} HostBinding
 * @property {() => WebAssembly.Memory} getMemory  the instance's memory (known only
 *   after instantiation, hence a function)
 * @property {StorageAdapter} storage
 * @property {string} [label]  names the object in log lines, e.g. "DoSQLDatabase 3f2a..."
 * @property {() => void} [onCommit]  called after each commit storage took (the
 *   engine counts them); must not throw
 */

/**
 * Build the import object for `new WebAssembly.Instance(module, imports)`.
 * @param {HostBinding} host
 * @returns {WebAssembly.Imports}
 */
export function createImports(host) {
  const { getMemory } = host;

  const prefix = () => `[dosql] ${host.label ?? 'dosql'}:`;

  /** Log a failure of a host call; never throws. */
  function fail(what, err) {
    try {
      console.error(prefix(), what, err instanceof Error ? err.stack || err.message : String(err));
    } catch {
      // nothing left to report to
    }
  }

  function isPromise(value) {
    return value !== null && typeof value === 'object' && typeof value.then === 'function';
  }

  /** @type {Record<string, Function>} */
  const imports = {
    /**
     * Copy the first n bytes of page pgno into buf; zero-fill what the stored page
     * lacks. Returns PAGE_OK (PAGE_FETCHED when storage was read for it),
     * PAGE_MISSING, PAGE_FAULT or PAGE_ERROR.
     */
    page_read(pgno, bufPtr, n) {
      const { storage } = host;
      const rowsBefore = storage.rowsRead;
      let page;
      try {
        page = storage.readPage(pgno >>> 0);
      } catch (err) {
        fail(`page_read(${pgno}):`, err);
        return PAGE_ERROR;
      }
      return fetched(copyPage(page, bufPtr, n, 'page_read', pgno), storage, rowsBefore);
    },

    /** Parse one commit batch (layout in host.h) and hand it to storage. */
    commit(batchPtr, n) {
      let result;
      try {
        result = host.storage.commit(parseBatch(getMemory().buffer, batchPtr >>> 0, n >>> 0));
      } catch (err) {
        fail('commit:', err);
        return COMMIT_ERROR;
      }
      if (isPromise(result)) {
        // Whether these writes land is unknown, so neither answer to C is true:
        // COMMIT_ERROR would make SQLite's cache disagree with storage if they
        // do. The one exception to "never throw into C": it unwinds the instance,
        // the engine marks itself broken, and the next request starts a new one
        // from what storage holds.
        result.then(undefined, (err) => fail('commit (async):', err));
        throw new Error('commit returned a Promise; it must write synchronously');
      }
      host.onCommit?.();
      return COMMIT_OK;
    },

    /** The lsn of a point of history, or HISTORY_NONE, _BEFORE, _AFTER. */
    history_point(kind, value) {
      const { storage } = host;
      if (!storage.historyPoint) return HISTORY_NONE;
      try {
        const lsn = storage.historyPoint(kind === POINT_TIME ? 'time' : 'lsn', value);
        return lsn === 'before' ? HISTORY_BEFORE : lsn === 'after' ? HISTORY_AFTER : lsn;
      } catch (err) {
        fail(`history_point(${kind}, ${value}):`, err);
        return HISTORY_ERROR;
      }
    },

    /** As page_read, as of lsn. */
    page_read_at(lsn, pgno, bufPtr, n) {
      const { storage } = host;
      if (!storage.readPageAt) return PAGE_ERROR;
      const rowsBefore = storage.rowsRead;
      let page;
      try {
        page = storage.readPageAt(lsn, pgno >>> 0);
      } catch (err) {
        fail(`page_read_at(${lsn}, ${pgno}):`, err);
        return PAGE_ERROR;
      }
      return fetched(copyPage(page, bufPtr, n, 'page_read_at', pgno, lsn), storage, rowsBefore);
    },

    /** Fill n doubles at ptr with HISTORY_INFO's values. */
    history_info(ptr, n) {
      const { storage } = host;
      if (!storage.historyInfo) return HISTORY_NONE;
      try {
        const info = storage.historyInfo();
        const out = new DataView(getMemory().buffer, ptr >>> 0, (n >>> 0) * 8);
        HISTORY_INFO.forEach((name, i) => {
          if (i < n >>> 0) out.setFloat64(i * 8, info[name] ?? -1, true);
        });
        return 0;
      } catch (err) {
        fail('history_info:', err);
        return HISTORY_NONE;
      }
    },

    /** Fill n doubles at ptr with CHANGE_NUMBERS's values. */
    change_numbers(ptr, n) {
      const { storage } = host;
      try {
        const numbers = storage.changeNumbers?.() ?? NO_CHANGE_NUMBERS;
        const out = new DataView(getMemory().buffer, ptr >>> 0, (n >>> 0) * 8);
        CHANGE_NUMBERS.forEach((name, i) => {
          if (i < n >>> 0) out.setFloat64(i * 8, numbers[name], true);
        });
        return 0;
      } catch (err) {
        fail('change_numbers:', err);
        return -1;
      }
    },

    /** Milliseconds since the Unix epoch. */
    now_ms() {
      return Date.now();
    },

    /** Fill buf with n cryptographically random bytes. */
    random(bufPtr, n) {
      try {
        const buf = new Uint8Array(getMemory().buffer, bufPtr >>> 0, n >>> 0);
        for (let i = 0; i < buf.length; i += RANDOM_CHUNK_BYTES) {
          crypto.getRandomValues(buf.subarray(i, i + RANDOM_CHUNK_BYTES));
        }
      } catch (err) {
        // No code to return: SQLite only seeds its PRNG with this. Say so loudly.
        fail('random:', err);
      }
    },

    /** One line of UTF-8 text from C. */
    log(level, strPtr, n) {
      try {
        const text = new TextDecoder().decode(new Uint8Array(getMemory().buffer, strPtr >>> 0, n >>> 0));
        if (level === LOG_ERROR) console.error(prefix(), text);
        else if (level === LOG_WARN) console.warn(prefix(), text);
        else console.log(prefix(), text);
      } catch (err) {
        fail('log:', err);
      }
    },
  };

  /** @type {Uint8Array | null} */
  let heap = null;
  /**
   * All of linear memory as bytes. Made again only after a grow replaced the
   * buffer: a new view per page read was a third of the host's cost of a read
   * (speedtest1's profile, issue 17).
   */
  function memoryBytes() {
    const buffer = getMemory().buffer;
    if (heap === null || heap.buffer !== buffer) heap = new Uint8Array(buffer);
    return heap;
  }

  /**
   * A read's result, PAGE_FETCHED for a page storage was read for.
   * @param {number} result @param {StorageAdapter} storage @param {number | undefined} rowsBefore
   */
  function fetched(result, storage, rowsBefore) {
    return result === PAGE_OK && storage.rowsRead !== rowsBefore ? PAGE_FETCHED : result;
  }

  /**
   * Copy the first n bytes of what a read gave into buf, zero-filling what the
   * page lacks. Returns PAGE_OK, PAGE_MISSING, PAGE_FAULT or PAGE_ERROR.
   * @param {unknown} page @param {number} bufPtr @param {number} n
   * @param {string} name @param {number} pgno @param {number} [lsn]  the call, for the log
   */
  function copyPage(page, bufPtr, n, name, pgno, lsn) {
    try {
      if (page instanceof Uint8Array) {
        const bytes = memoryBytes();
        const start = bufPtr >>> 0;
        const end = start + (n >>> 0);
        if (end > bytes.length) throw new RangeError(`buffer ${start}+${n >>> 0} lies outside linear memory`);
        const len = Math.min(n >>> 0, page.length);
        bytes.set(len === page.length ? page : page.subarray(0, len), start);
        if (start + len < end) bytes.fill(0, start + len, end);
        return PAGE_OK;
      }
      if (page === FAULT) return PAGE_FAULT;
      if (page === null || page === undefined) return PAGE_MISSING;
      if (isPromise(page)) {
        fail(`${name}(${lsn === undefined ? '' : `${lsn}, `}${pgno}):`, new Error('the read returned a Promise; it must answer synchronously'));
        return PAGE_ERROR;
      }
      fail(`${name}(${lsn === undefined ? '' : `${lsn}, `}${pgno}):`, new Error(`the read returned ${Object.prototype.toString.call(page)}, not a Uint8Array`));
      return PAGE_ERROR;
    } catch (err) {
      fail(`${name}(${lsn === undefined ? '' : `${lsn}, `}${pgno}):`, err);
      return PAGE_ERROR;
    }
  }

  return { [IMPORT_MODULE]: imports };
}

/** Commits of up to this many pages are copied out into one buffer (parseBatch). */
const SHARED_BUFFER_PAGES = 16;

/**
 * Decode a commit batch from linear memory, copying every page out.
 * Throws on a malformed batch (a bug on the C side), which commit turns into
 * COMMIT_ERROR.
 *
 * @param {ArrayBuffer} buffer  the memory's buffer
 * @param {number} ptr
 * @param {number} n  bytes of the batch
 * @returns {CommitBatch}
 */
export function parseBatch(buffer, ptr, n) {
  if (n < BATCH_HEADER_BYTES) throw new Error(`commit batch of ${n} bytes is shorter than its header`);
  const view = new DataView(buffer, ptr, n);
  // Copies through a Uint8Array: ArrayBuffer.prototype.slice on a wasm memory's
  // buffer took 20 µs a page in V8, this 4 (tests/bench/speedtest1/README.md).
  const memory = new Uint8Array(buffer);
  const pageSize = view.getUint32(0, true);
  const oldPageCount = view.getUint32(4, true);
  const newPageCount = view.getUint32(8, true);
  const nPages = view.getUint32(12, true);
  if (BATCH_HEADER_BYTES + nPages * BATCH_REF_BYTES !== n) {
    throw new Error(`commit batch of ${n} bytes does not hold ${nPages} page references`);
  }
  const pages = new Array(nPages);
  // A small commit's pages share one buffer: each allocation of a buffer costs V8 far
  // more than copying 4 KiB (a single-row INSERT writes 2-4 pages). A large one's do
  // not, so that storage keeping a few of its pages keeps no more memory than them.
  const shared = nPages <= SHARED_BUFFER_PAGES ? new Uint8Array(nPages * pageSize) : null;
  let previous = 0;
  for (let i = 0, off = BATCH_HEADER_BYTES; i < nPages; i++, off += BATCH_REF_BYTES) {
    const pgno = view.getUint32(off, true);
    const address = view.getUint32(off + 4, true);
    if (pgno <= previous || pgno > newPageCount) {
      throw new Error(`commit batch page ${pgno} is out of order or above the new page count ${newPageCount}`);
    }
    if (address + pageSize > buffer.byteLength) {
      throw new Error(`commit batch page ${pgno} lies outside linear memory`);
    }
    previous = pgno;
    let data;
    if (shared) {
      data = shared.subarray(i * pageSize, (i + 1) * pageSize);
      data.set(memory.subarray(address, address + pageSize));
    } else {
      data = memory.slice(address, address + pageSize);
    }
    pages[i] = { pgno, data };
  }
  return { pageSize, oldPageCount, newPageCount, pages };
}
