// storage/page-blobs.js — the blobs of storage/sql.js's format (docs/storage-format.md):
// a log row's pages, a group's, and a history segment's. Pure functions over bytes.
//
//   log row   pgnos: the page numbers, 4 bytes each (little-endian); data: the pages
//             in that order, each pageSize bytes
//   group     mask: bit i set when page first+i is present; data: the present pages
//             in page order, each pageSize bytes
//   segment   pgnos as a log row's; lsns: for each page, the lsn that superseded it
//             (8-byte doubles); data: the superseded versions; times: commit times

/** @param {number[]} pgnos @returns {Uint8Array} */
export function encodePgnos(pgnos) {
  const bytes = new Uint8Array(pgnos.length * 4);
  const view = new DataView(bytes.buffer);
  pgnos.forEach((pgno, i) => view.setUint32(i * 4, pgno, true));
  return bytes;
}

/** @param {ArrayBuffer} blob @returns {number[]} */
export function decodePgnos(blob) {
  const view = new DataView(blob);
  return Array.from({ length: blob.byteLength / 4 }, (_, i) => view.getUint32(i * 4, true));
}

/** Pages side by side in one new buffer. @param {Uint8Array[]} pages @param {number} pageSize @returns {Uint8Array} */
export function concatPages(pages, pageSize) {
  const out = new Uint8Array(pages.length * pageSize);
  pages.forEach((page, i) => out.set(page, i * pageSize));
  return out;
}

/**
 * A group read back: its pages by position (null where absent).
 * @param {number} mask @param {ArrayBuffer} data @param {number} pageSize @param {number} groupPages
 * @returns {(Uint8Array | null)[]}
 */
export function decodeGroup(mask, data, pageSize, groupPages) {
  /** @type {(Uint8Array | null)[]} */
  const pages = new Array(groupPages).fill(null);
  let at = 0;
  for (let i = 0; i < groupPages; i++) {
    if (((mask >>> i) & 1) === 0) continue;
    pages[i] = new Uint8Array(data, at * pageSize, pageSize);
    at++;
  }
  return pages;
}

/** A group's row from its pages by position. @param {(Uint8Array | null)[]} pages @param {number} pageSize
 *  @returns {{mask: number, data: Uint8Array}} */
export function encodeGroup(pages, pageSize) {
  let mask = 0;
  const present = [];
  pages.forEach((page, i) => {
    if (!page) return;
    mask = (mask | (1 << i)) >>> 0;
    present.push(page);
  });
  return { mask, data: concatPages(present, pageSize) };
}

/** Numbers as 8-byte little-endian doubles (a history segment's lsns and times).
 *  @param {number[]} values @returns {Uint8Array} */
export function encodeNumbers(values) {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setFloat64(i * 8, value, true));
  return bytes;
}

/** @param {ArrayBuffer} blob @returns {number[]} */
export function decodeNumbers(blob) {
  const view = new DataView(blob);
  return Array.from({ length: blob.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
}
