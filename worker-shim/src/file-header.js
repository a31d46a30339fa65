// file-header.js — the 100-byte header at the start of a SQLite database file
// (page 1), as far as the shim reads it: https://www.sqlite.org/fileformat2.html
//
// vfs.c reads the same fields in C (the page size at 16-17, the page count at
// 28-31); here they are read by export and import, and by the key-value
// adapter to size its read-ahead.

/** Bytes of the header. */
export const HEADER_BYTES = 100;

/** The first 16 bytes of every SQLite 3 database file. */
export const MAGIC = new TextEncoder().encode('SQLite format 3\0');

/** Offsets of the fields read or written here (all big-endian). */
const PAGE_SIZE = 16; // u16; 1 means 65536
const WRITE_VERSION = 18; // u8: 1 legacy (rollback journal), 2 WAL
const READ_VERSION = 19; // u8: likewise
const CHANGE_COUNTER = 24; // u32
const PAGE_COUNT = 28; // u32: the database size in pages
const VERSION_VALID_FOR = 92; // u32: the change counter when PAGE_COUNT was last right

/** File format versions of bytes 18 and 19. */
export const LEGACY_FORMAT = 1;
export const WAL_FORMAT = 2;

/** @param {Uint8Array} header */
function view(header) {
  return new DataView(header.buffer, header.byteOffset, header.byteLength);
}

/**
 * Whether bytes start as a SQLite file does (as far as there are bytes).
 * @param {Uint8Array} bytes
 */
export function startsLikeSqlite(bytes) {
  const n = Math.min(bytes.length, MAGIC.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== MAGIC[i]) return false;
  return true;
}

/**
 * The page size field as stored (1 stands for 65536).
 * @param {Uint8Array} header
 */
export function headerPageSizeField(header) {
  return view(header).getUint16(PAGE_SIZE);
}

/**
 * The page size the header gives, or 0 when it is not a power of two from 512
 * to 65536.
 * @param {Uint8Array} header
 */
export function headerPageSize(header) {
  const raw = headerPageSizeField(header);
  const size = raw === 1 ? 65536 : raw;
  return size >= 512 && size <= 65536 && (size & (size - 1)) === 0 ? size : 0;
}

/**
 * The page count in the header (it is right only when headerPageCountValid).
 * @param {Uint8Array} header
 */
export function headerPageCount(header) {
  return view(header).getUint32(PAGE_COUNT);
}

/**
 * Whether the header's page count can be trusted: it is non-zero and was last
 * written along with the change counter (SQLite before 3.7.0 did not keep it).
 * @param {Uint8Array} header
 */
export function headerPageCountValid(header) {
  const v = view(header);
  return v.getUint32(PAGE_COUNT) !== 0 && v.getUint32(VERSION_VALID_FOR) === v.getUint32(CHANGE_COUNTER);
}

/**
 * The file format versions (bytes 18, 19): 1 legacy, 2 WAL.
 * @param {Uint8Array} header
 * @returns {{write: number, read: number}}
 */
export function headerFormat(header) {
  return { write: header[WRITE_VERSION], read: header[READ_VERSION] };
}

/**
 * Make the header say legacy journal mode (what a WAL file's main file is once
 * its WAL is gone) and pageCount pages, with that count valid.
 * @param {Uint8Array} header  changed in place
 * @param {number} pageCount
 */
export function normalizeHeader(header, pageCount) {
  header[WRITE_VERSION] = LEGACY_FORMAT;
  header[READ_VERSION] = LEGACY_FORMAT;
  const v = view(header);
  v.setUint32(PAGE_COUNT, pageCount);
  v.setUint32(VERSION_VALID_FOR, v.getUint32(CHANGE_COUNTER));
}
