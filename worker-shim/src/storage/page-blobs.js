// storage/page-blobs.js — the blobs of storage/sql.js's format (docs/storage-format.md):
// a log row's pages, a group's, and a history segment's. Pure functions over bytes.
//
//   log row   pgnos: a 0 (no page has number 0), then for each page its number, the
//             end of its record in data, and its kind (full page, or a delta against
//             the page's previous version in the log), 4 bytes each (little-endian);
//             data: the records in that order. A row written before deltas has only
//             the page numbers, and data holds the pages, pageSize bytes each
//   delta     runs of changed bytes: offset (2 bytes), length (2 bytes), the bytes
//   group     mask: bit i set when page first+i is present; data: the present pages
//             in page order, each pageSize bytes
//   segment   pgnos: 4 bytes per page; lsns: for each page, the lsn that superseded it
//             (8-byte doubles); data: the superseded versions; times: commit times
//   index     numbers (8-byte doubles): the log rows since the checkpoint, the page
//             count, the lowest page count a truncation left (-1: none), the rows'
//             page bytes; the count of commit times, then the times; the count of
//             truncations, then each one's lsn and page count; each logged page's
//             first lsn since the checkpoint. places (4 bytes each): for each logged
//             page its number, the count of its versions the log holds from its last
//             whole one, then each version's slot, start and length, oldest first

/** A log row's record of one page: where it is in data, and whether it is a delta.
 *  @typedef {{pgno: number, start: number, length: number, delta: boolean}} LogRecord */

/** Where one version of a page is in the log: its row's slot and its record's bytes there.
 *  @typedef {{slot: number, start: number, length: number}} LogLocation */

/** What an open learns from the log rows since the checkpoint (storage/sql.js #load),
 *  kept as of a commit so that the next open reads only the rows after it: each logged
 *  page's versions from its last whole one (chain) and the lsn of its first write.
 *  @typedef {{logRows: number, pageCount: number, lowWater: number, spanBytes: number, times: number[],
 *    truncations: {lsn: number, count: number}[], pages: {pgno: number, first: number, chain: LogLocation[]}[]}} LogIndex */

const RECORD_FULL = 0;
const RECORD_DELTA = 1;
/** A run's header: its offset and length, 2 bytes each. */
const RUN_HEADER = 4;
/** Equal words fewer than this between two changes stay inside one run. */
const RUN_GAP_WORDS = 2;
/** A run's length in bytes fits its 2 bytes. */
const MAX_RUN_WORDS = 0xfffc / 4;

/** @param {{pgno: number, end: number, delta: boolean}[]} records @returns {Uint8Array} */
export function encodeLogRecords(records) {
  const bytes = new Uint8Array(4 + records.length * 12);
  const view = new DataView(bytes.buffer);
  records.forEach(({ pgno, end, delta }, i) => {
    view.setUint32(4 + i * 12, pgno, true);
    view.setUint32(8 + i * 12, end, true);
    view.setUint32(12 + i * 12, delta ? RECORD_DELTA : RECORD_FULL, true);
  });
  return bytes;
}

/**
 * A log row's records, from its pgnos blob, in either layout; throws on a blob no
 * writer made (the row cannot be read then).
 * @param {ArrayBuffer} blob @param {number} pageSize @param {number} dataBytes  the length of the row's data
 * @returns {LogRecord[]}
 */
export function decodeLogRecords(blob, pageSize, dataBytes) {
  const view = new DataView(blob);
  if (blob.byteLength < 4 || view.getUint32(0, true) !== 0) {
    return decodePgnos(blob).map((pgno, i) => ({ pgno, start: i * pageSize, length: pageSize, delta: false }));
  }
  if ((blob.byteLength - 4) % 12 !== 0) throw new Error(`a log row's page list of ${blob.byteLength} bytes is not 4 + 12 per page`);
  const records = [];
  let start = 0;
  for (let at = 4; at < blob.byteLength; at += 12) {
    const end = view.getUint32(at + 4, true);
    const kind = view.getUint32(at + 8, true);
    if (end < start || end > dataBytes || kind > RECORD_DELTA || (kind === RECORD_FULL && end - start !== pageSize)) {
      throw new Error(`a log row's record of page ${view.getUint32(at, true)} (${start}..${end}, kind ${kind}) does not fit its ${dataBytes} bytes`);
    }
    records.push({ pgno: view.getUint32(at, true), start, length: end - start, delta: kind === RECORD_DELTA });
    start = end;
  }
  return records;
}

/** bytes as 32-bit words (a copy only when they do not start on a word). @param {Uint8Array} bytes */
function words(bytes) {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Int32Array(aligned.buffer, aligned.byteOffset, aligned.length >>> 2);
}

/**
 * page as runs of the words where it differs from base (page sizes are multiples of
 * 4 bytes, and word compares are several times faster than byte compares), or null
 * when that would take more than limit bytes.
 * @param {Uint8Array} base @param {Uint8Array} page @param {number} limit @returns {Uint8Array | null}
 */
export function encodeDelta(base, page, limit) {
  const a = words(base);
  const b = words(page);
  const n = b.length;
  /** @type {number[]} */
  const runs = []; // first word and end word of each
  let size = 0;
  for (let w = 0; ; ) {
    while (w < n && a[w] === b[w]) w++;
    if (w === n) break;
    // A run takes the changes after it that are fewer than RUN_GAP_WORDS equal words away.
    const first = w;
    let end = ++w;
    for (; w < n && w - first < MAX_RUN_WORDS; w++) {
      if (a[w] !== b[w]) end = w + 1;
      else if (w - end >= RUN_GAP_WORDS) break;
    }
    w = end;
    size += RUN_HEADER + (end - first) * 4;
    if (size > limit) return null;
    runs.push(first, end);
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (let r = 0; r < runs.length; r += 2) {
    const offset = runs[r] * 4;
    const length = (runs[r + 1] - runs[r]) * 4;
    view.setUint16(at, offset, true);
    view.setUint16(at + 2, length, true);
    out.set(page.subarray(offset, offset + length), at + RUN_HEADER);
    at += RUN_HEADER + length;
  }
  return out;
}

/** Apply delta's runs to page, in place; throws on runs that do not fit.
 *  @param {Uint8Array} page @param {Uint8Array} delta */
export function applyDelta(page, delta) {
  const view = new DataView(delta.buffer, delta.byteOffset, delta.byteLength);
  for (let at = 0; at < delta.length; ) {
    if (at + RUN_HEADER > delta.length) throw new Error('a page delta ends inside a run header');
    const offset = view.getUint16(at, true);
    const length = view.getUint16(at + 2, true);
    if (at + RUN_HEADER + length > delta.length || offset + length > page.length) throw new Error('a page delta has a run past its end or its page');
    page.set(delta.subarray(at + RUN_HEADER, at + RUN_HEADER + length), offset);
    at += RUN_HEADER + length;
  }
}

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
  // A loop, not Array.from's callback (about 30 times slower): an open decodes thousands.
  const out = new Array(blob.byteLength >>> 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

/** Byte arrays side by side in one new buffer. @param {Uint8Array[]} chunks @returns {Uint8Array} */
export function concatBytes(chunks) {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
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

/** Where the page at index (present in mask) starts in its group's data: after the present
 *  pages before it. @param {number} mask @param {number} index @param {number} pageSize */
export function groupPageOffset(mask, index, pageSize) {
  let before = 0;
  for (let i = 0; i < index; i++) before += (mask >>> i) & 1;
  return before * pageSize;
}

/** A group's row from its pages by position. @param {(Uint8Array | null)[]} pages
 *  @returns {{mask: number, data: Uint8Array}} */
export function encodeGroup(pages) {
  let mask = 0;
  const present = [];
  pages.forEach((page, i) => {
    if (!page) return;
    mask = (mask | (1 << i)) >>> 0;
    present.push(page);
  });
  return { mask, data: concatBytes(present) };
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
  const out = new Array(blob.byteLength >>> 3);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

/** A log index as its two blobs. @param {LogIndex} index @returns {{numbers: Uint8Array, places: Uint8Array}} */
export function encodeLogIndex({ logRows, pageCount, lowWater, spanBytes, times, truncations, pages }) {
  const numbers = [logRows, pageCount, lowWater === Infinity ? -1 : lowWater, spanBytes, times.length, ...times, truncations.length];
  for (const { lsn, count } of truncations) numbers.push(lsn, count);
  const places = [];
  for (const { pgno, first, chain } of pages) {
    numbers.push(first);
    places.push(pgno, chain.length);
    for (const { slot, start, length } of chain) places.push(slot, start, length);
  }
  return { numbers: encodeNumbers(numbers), places: encodePgnos(places) };
}

/** A log index from its blobs; throws on blobs no writer made. @param {ArrayBuffer} numbersBlob @param {ArrayBuffer} placesBlob
 *  @returns {LogIndex} */
export function decodeLogIndex(numbersBlob, placesBlob) {
  const numbers = decodeNumbers(numbersBlob);
  const places = decodePgnos(placesBlob);
  let n = 0;
  let p = 0;
  /** The next count numbers. @param {number} count */
  const take = (count) => {
    if (n + count > numbers.length) throw new Error(`a log index's numbers end early (${numbers.length})`);
    n += count;
    return numbers.slice(n - count, n);
  };
  const next = () => take(1)[0];
  /** A count of what follows: a whole number, 0 or more. */
  const count = () => {
    const value = next();
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`a log index holds a count of ${value}`);
    return value;
  };
  const [logRows, pageCount, lowWater, spanBytes] = take(4);
  const times = take(count());
  const truncations = [];
  for (let i = count(); i > 0; i--) {
    const [lsn, pages] = take(2);
    truncations.push({ lsn, count: pages });
  }
  const pages = [];
  while (p < places.length) {
    const [pgno, versions] = [places[p], places[p + 1]];
    if (versions === undefined || versions === 0 || p + 2 + versions * 3 > places.length) throw new Error(`a log index's places end inside page ${pgno}'s`);
    const chain = [];
    for (let i = 0; i < versions; i++, p += 3) chain.push({ slot: places[p + 2], start: places[p + 3], length: places[p + 4] });
    p += 2;
    pages.push({ pgno, first: next(), chain });
  }
  if (n !== numbers.length) throw new Error(`a log index holds ${numbers.length - n} numbers past its pages`);
  return { logRows, pageCount, lowWater: lowWater === -1 ? Infinity : lowWater, spanBytes, times, truncations, pages };
}
