// log-index.test.js — the log index's blobs (worker-shim/src/storage/page-blobs.js,
// docs/storage-format.md "The log index"): what is written reads back the same, and a
// blob no writer made is refused with a message, at once, whatever its numbers say.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLogIndex, encodeLogIndex, encodeNumbers, encodePgnos } from '../../worker-shim/src/storage/page-blobs.js';

const INDEX = {
  logRows: 300,
  pageCount: 1200,
  lowWater: 900,
  spanBytes: 123_456,
  times: [1_764_900_000_000, 1_764_900_000_007],
  truncations: [{ lsn: 2_000_000_000_001, count: 900 }],
  pages: [
    { pgno: 1, first: 2_000_000_000_000, chain: [{ slot: 16_383, start: 0, length: 4096 }, { slot: 0, start: 12, length: 40 }] },
    { pgno: 4_000_000_000, first: 2_000_000_000_001, chain: [{ slot: 5, start: 4096, length: 4096 }] },
  ],
};

/** @param {Uint8Array} bytes */
const buffer = (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);

test('a log index reads back as written: large lsns and page numbers, no truncation (Infinity), no page', () => {
  for (const index of [INDEX, { ...INDEX, lowWater: Infinity, truncations: [] }, { ...INDEX, times: [], pages: [] }]) {
    const { numbers, places } = encodeLogIndex(index);
    assert.deepEqual(decodeLogIndex(buffer(numbers), buffer(places)), index);
  }
});

test('a log index no writer made is refused with why, however many versions it claims', () => {
  const { numbers, places } = encodeLogIndex(INDEX);
  const bad = [
    ['places cut short', buffer(numbers), buffer(places.slice(0, places.length - 4))],
    ['numbers cut short', buffer(numbers.slice(0, numbers.length - 8)), buffer(places)],
    ['a number too many', buffer(encodeNumbers([...new Float64Array(buffer(numbers)), 7])), buffer(places)],
    ['a page of no version', buffer(numbers), buffer(encodePgnos([1, 0]))],
    ['four billion versions', buffer(numbers), buffer(encodePgnos([1, 0xffffffff, 0, 0, 4096]))],
    ['a count of times past the numbers', buffer(encodeNumbers([1, 1, -1, 0, 1e9])), buffer(new Uint8Array(0))],
    ['a negative count of times', buffer(encodeNumbers([1, 1, -1, 0, -3, 0, 0, 0])), buffer(new Uint8Array(0))],
    ['a fractional count of truncations', buffer(encodeNumbers([1, 1, -1, 0, 0, 0.5, 0, 0])), buffer(new Uint8Array(0))],
  ];
  for (const [what, numbersBlob, placesBlob] of bad) {
    assert.throws(() => decodeLogIndex(/** @type {ArrayBuffer} */ (numbersBlob), /** @type {ArrayBuffer} */ (placesBlob)), /a log index/, String(what));
  }
});
