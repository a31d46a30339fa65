// durable-object/file-export.js — GET /export: the database as a standard SQLite file, streamed.
//
// The stored pages are SQLite's own (vfs.c keeps no other format), so the file is
// those pages in order; how many, and of what size, the engine says (src/handler.c).
// The export holds the transaction gate from its first page to its last, so no
// commit lands half way through. Pages are read PAGES_PER_CHUNK (or one cold group)
// at a time as the reader pulls; cold pages are read from R2, not promoted. A
// reader idle for IDLE_MS loses the stream, so nobody can hold the database by
// opening an export and walking away.

import { FAULT } from '../wasm/host.js';
import { toResponse, valueOf } from './response.js';
import { PAGES_PER_CHUNK, IDLE_MS } from '../config.js';
import { SQLITE_FILE_TYPE } from '../client/client.js';

/**
 * @typedef {object} ExportSource
 * @property {() => Promise<() => void>} hold  waits for the gate; resolves to its release
 * @property {() => Promise<import('./response.js').EngineResponse>} size  GET /export's {pageSize, pageCount}
 * @property {import('../wasm/host.js').StorageAdapter & {
 *   readForExport?: (first: number, last: number) => Promise<(Uint8Array | null)[]>,
 *   readForExportAt?: (lsn: number, first: number, last: number) => Promise<(Uint8Array | null)[]>,
 *   groupPages?: number,
 * }} storage  readForExport and readForExportAt (the cold tier) move nothing between tiers
 */

/**
 * The file as a streaming Response of a known length, or the error that kept it
 * from starting. A later failure errors the stream short of its Content-Length,
 * so no client takes a truncated file for a whole one.
 * @param {ExportSource} source @param {string} filename  for Content-Disposition
 * @returns {Promise<Response>}
 */
export async function exportResponse({ hold, size, storage }, filename) {
  /** @type {(() => void) | null} */
  let release = await hold();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let idle;
  const done = () => {
    clearTimeout(idle);
    release?.();
    release = null;
  };
  let sized;
  try {
    sized = await size();
  } catch (err) {
    done();
    throw err;
  }
  if (sized.status !== 200) {
    done();
    return toResponse(sized);
  }
  const { pageSize, pageCount, lsn } = valueOf(sized);
  const headers = {
    'content-type': SQLITE_FILE_TYPE,
    'content-disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}${lsn === undefined ? '' : `-${lsn}`}.sqlite"`,
    'cache-control': 'no-store',
  };
  // A database nothing was committed to (yet, or at that point) has no pages: an
  // empty file, answered whole (a stream of length 0 never ended in workerd).
  if (pageCount === 0) {
    done();
    return new Response(new Uint8Array(0), { headers });
  }
  // As of a point of history (C answered its lsn): the pages as they were then.
  const reader = lsn === undefined ? storage : pagesAt(storage, lsn);
  let next = 1;
  // Whole cold groups at a time, so each is downloaded once.
  const chunkPages = Math.max(PAGES_PER_CHUNK, storage.groupPages ?? 0);
  /** @param {ReadableStreamDefaultController<Uint8Array>} controller */
  const watch = (controller) => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      controller.error(new Error(`export: the reader pulled nothing for ${IDLE_MS} ms`));
      done();
    }, IDLE_MS);
  };
  const pages = new ReadableStream({
    start(controller) {
      watch(controller);
    },
    async pull(controller) {
      watch(controller);
      try {
        if (next > pageCount) {
          done();
          controller.close();
          return;
        }
        const last = Math.min(pageCount, next + chunkPages - 1);
        const chunk = await readPages(reader, next, last, pageSize);
        storage.settle?.(); // a key-value cache trims what the export read
        const bytes = new Uint8Array(pageSize * chunk.length);
        chunk.forEach((page, i) => bytes.set(page, i * pageSize));
        controller.enqueue(bytes);
        next = last + 1;
      } catch (err) {
        done();
        throw err;
      }
    },
    cancel() {
      done();
    },
  });
  return new Response(withLength(pages, pageSize * pageCount), { headers });
}

/**
 * The storage as of lsn: the cold tier's pages straight from R2 (readForExportAt), as
 * for the present; else read through faults.
 * @param {ExportSource['storage']} storage @param {number} lsn @returns {ExportSource['storage']}
 */
function pagesAt(storage, lsn) {
  const readPageAt = /** @type {NonNullable<ExportSource['storage']['readPageAt']>} */ (storage.readPageAt);
  const { readForExportAt } = storage;
  return {
    readPage: (pgno) => readPageAt.call(storage, lsn, pgno),
    readForExport: readForExportAt && ((first, last) => readForExportAt.call(storage, lsn, first, last)),
    commit: () => {
      throw new Error('export: a point of history is read-only');
    },
    prefetch: (pages, window) => storage.prefetch(pages, window),
    settle: () => storage.settle?.(),
    stats: storage.stats,
  };
}

/**
 * workerd's FixedLengthStream sends Content-Length, and one that errors short of
 * it fails the transfer; elsewhere the stream as it is.
 * @param {ReadableStream<Uint8Array>} stream @param {number} length @returns {ReadableStream<Uint8Array>}
 */
function withLength(stream, length) {
  const FixedLength = /** @type {any} */ (globalThis).FixedLengthStream;
  if (typeof FixedLength !== 'function') return stream;
  const fixed = new FixedLength(length);
  stream.pipeTo(fixed.writable).catch(() => {}); // the reader sees the failure
  return fixed.readable;
}

/**
 * A page storage lacks is zeros, as through the VFS: SQLite never writes the one
 * holding byte 2^30 (kept for locks).
 * @param {ExportSource['storage']} storage @param {number} first @param {number} last @param {number} pageSize
 * @returns {Promise<Uint8Array[]>}
 */
async function readPages(storage, first, last, pageSize) {
  const pages = storage.readForExport ? await storage.readForExport(first, last) : await readThroughFaults(storage, first, last);
  return pages.map((page, i) => {
    if (page === FAULT) throw new Error(`export: page ${first + i} was fetched but is still not at hand`);
    return page ?? new Uint8Array(pageSize);
  });
}

/**
 * Through readPage, fetching those not at hand (key-value objects) and reading again.
 * @param {ExportSource['storage']} storage @param {number} first @param {number} last
 * @returns {Promise<(Uint8Array | null | typeof FAULT)[]>}
 */
async function readThroughFaults(storage, first, last) {
  const pgnos = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  // One read per page (a statement on SQLite-backed storage).
  const pages = pgnos.map((p) => storage.readPage(p));
  const missing = pgnos.filter((_, i) => pages[i] === FAULT);
  if (missing.length > 0) {
    await storage.prefetch(missing, 1);
    for (const p of missing) pages[p - first] = storage.readPage(p);
  }
  return pages;
}
