// export.js — GET /export: the database as a standard SQLite file, streamed.
//
// The pages in storage are SQLite's own pages (vfs.c keeps no other format, and
// page 1's header holds the page size and count), so the file is those pages in
// order. Consistency: the export holds the transaction gate, as an open
// transaction does, from its first page to its last, so no commit lands half way
// through; requests that arrive meanwhile wait. Memory: pages are read from
// storage PAGES_PER_CHUNK at a time as the reader pulls, never the whole file.
// A reader that stops pulling for IDLE_MS loses the stream, so nobody can hold
// the database by opening an export and walking away.

import { FAULT } from './host.js';

/** Pages read and sent per chunk (256 KiB at the default page size). */
export const PAGES_PER_CHUNK = 64;
/** A reader that pulls nothing for this long (ms) is cut off and the gate freed. */
export const IDLE_MS = 30_000;

/**
 * @typedef {object} ExportSource
 * @property {() => Promise<() => void>} hold  waits for the gate; resolves to its release
 * @property {import('./host.js').StorageAdapter & {prefetch(pages: number[], window: number): Promise<void>}} storage
 */

/**
 * The file as a streaming Response (application/vnd.sqlite3).
 * @param {ExportSource} source
 * @param {string} filename  for Content-Disposition
 * @returns {Response}
 */
export function exportResponse({ hold, storage }, filename) {
  /** @type {(() => void) | null} */
  let release = null;
  let next = 1;
  let pageCount = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let idle;
  const done = () => {
    clearTimeout(idle);
    release?.();
    release = null;
  };
  /** @param {ReadableStreamDefaultController<Uint8Array>} controller */
  const watch = (controller) => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      controller.error(new Error(`export: the reader pulled nothing for ${IDLE_MS} ms`));
      done();
    }, IDLE_MS);
  };
  const body = new ReadableStream({
    async start(controller) {
      release = await hold();
      try {
        if (storage.readPage(1) === FAULT) await storage.prefetch([1], 1);
        const page1 = storage.readPage(1);
        pageCount = page1 instanceof Uint8Array ? headerPageCount(page1) : 0;
      } catch (err) {
        done();
        throw err;
      }
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
        const last = Math.min(pageCount, next + PAGES_PER_CHUNK - 1);
        const pages = await readPages(storage, next, last);
        const size = pages[0].byteLength;
        const bytes = new Uint8Array(size * pages.length);
        pages.forEach((page, i) => bytes.set(page, i * size));
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
  return new Response(body, {
    headers: {
      'content-type': 'application/vnd.sqlite3',
      'content-disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}.sqlite"`,
      'cache-control': 'no-store',
    },
  });
}

/**
 * Pages first..last from storage, fetching those not at hand (key-value objects).
 * @param {ExportSource['storage']} storage
 * @param {number} first
 * @param {number} last
 * @returns {Promise<Uint8Array[]>}
 */
async function readPages(storage, first, last) {
  const pgnos = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  // One read per page (a statement on SQLite-backed storage); only the pages a
  // key-value object does not have at hand are fetched and read again.
  const pages = pgnos.map((p) => storage.readPage(p));
  const missing = pgnos.filter((_, i) => pages[i] === FAULT);
  if (missing.length > 0) {
    await storage.prefetch(missing, 1);
    for (const p of missing) pages[p - first] = storage.readPage(p);
  }
  return pages.map((page, i) => {
    if (!(page instanceof Uint8Array)) throw new Error(`export: page ${first + i} of ${last} is missing from storage`);
    return page;
  });
}

/**
 * The page count in page 1's header (bytes 28..31, big-endian).
 * @param {Uint8Array} page1
 */
function headerPageCount(page1) {
  return new DataView(page1.buffer, page1.byteOffset, page1.byteLength).getUint32(28);
}
