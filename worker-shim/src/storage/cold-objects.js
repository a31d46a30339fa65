// storage/cold-objects.js — page groups as immutable R2 objects: their format, names and I/O.
//
// Group g is pages g*groupPages+1 .. (g+1)*groupPages. Its object holds the pages
// that existed when it was written, in order, after a 16-byte header: "DoSQLgrp",
// then the page size and the first page number (u32 little-endian each).
//
// Objects are never overwritten (each gets a fresh name), and the manifest records
// their SHA-256, which R2 checks on upload and this module on every download, so
// a reader never sees a half-written or substituted group.
//
// R2 failures are StorageErrors: 503 COLD_TIER_UNAVAILABLE when R2 did not answer
// (retry), 500 COLD_TIER_CORRUPT when an object is gone or does not match the
// manifest (the bucket was changed behind our back).

import { StorageError } from '../wasm/host.js';

const MAGIC = new TextEncoder().encode('DoSQLgrp');
const GROUP_HEADER_BYTES = 16;
const MAX_DELETE_KEYS = 1000;

/** @typedef {{r2Reads: number, r2Writes: number, r2Deletes: number, r2BytesRead: number, r2BytesWritten: number}} ColdObjectStats */

export class ColdObjects {
  /** @type {any} R2Bucket */
  #bucket;
  #prefix;
  /** @type {ColdObjectStats} */
  stats = { r2Reads: 0, r2Writes: 0, r2Deletes: 0, r2BytesRead: 0, r2BytesWritten: 0 };

  /** @param {any} bucket  an R2 bucket binding @param {string} prefix  of every object name of this database */
  constructor(bucket, prefix) {
    this.#bucket = bucket;
    this.#prefix = prefix;
  }

  /** The group number for people reading the bucket, a random id so a rewrite never reuses a name. @param {number} group */
  newName(group) {
    return `${this.#prefix}g${group}-${crypto.randomUUID()}`;
  }

  /**
   * @param {string} name  from newName() @param {number} pageSize @param {number} firstPgno
   * @param {Uint8Array[]} pages  consecutive, each pageSize bytes
   * @returns {Promise<string>}  the object's SHA-256, hex
   */
  async put(name, pageSize, firstPgno, pages) {
    const bytes = new Uint8Array(GROUP_HEADER_BYTES + pageSize * pages.length);
    bytes.set(MAGIC, 0);
    const view = new DataView(bytes.buffer);
    view.setUint32(8, pageSize, true);
    view.setUint32(12, firstPgno, true);
    pages.forEach((page, i) => bytes.set(page, GROUP_HEADER_BYTES + i * pageSize));
    const sha256 = await sha256Hex(bytes);
    try {
      await this.#bucket.put(name, bytes, { sha256 });
    } catch (err) {
      throw unavailable(`writing ${name}`, err);
    }
    this.stats.r2Writes++;
    this.stats.r2BytesWritten += bytes.byteLength;
    return sha256;
  }

  /**
   * Download a group and check it against the manifest.
   * @param {{object: string, sha256: string, pages: number, firstPgno: number}} entry @returns {Promise<{pages: Uint8Array[]}>}
   */
  async get({ object, sha256, pages: count, firstPgno }) {
    const bytes = await this.#download(object);
    if (!bytes) throw corrupt(`${object} is missing from the bucket`);
    if ((await sha256Hex(bytes)) !== sha256) throw corrupt(`${object} does not match the SHA-256 the manifest recorded`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const pageSize = bytes.byteLength >= GROUP_HEADER_BYTES ? view.getUint32(8, true) : 0;
    const held = pageSize ? (bytes.byteLength - GROUP_HEADER_BYTES) / pageSize : 0;
    if (!MAGIC.every((b, i) => bytes[i] === b) || view.getUint32(12, true) !== firstPgno || held < count) {
      throw corrupt(`${object} does not hold pages ${firstPgno}..${firstPgno + count - 1}`);
    }
    const pages = [];
    for (let i = 0; i < count; i++) {
      const at = GROUP_HEADER_BYTES + i * pageSize;
      pages.push(bytes.subarray(at, at + pageSize));
    }
    return { pages };
  }

  /**
   * Whether the bucket has object as a manifest entry names it: its SHA-256 as R2 checked
   * it on upload, room for its pages of pageSize, and the group in its name (newName()).
   * One HEAD, no download unless R2 has no SHA-256 of it: how a branch checks the
   * entries it is sent.
   * @param {{object: string, sha256: string, pages: number, group: number}} entry @param {number} pageSize
   */
  async matches({ object, sha256, pages, group }, pageSize) {
    if (!new RegExp(`g${group}-[0-9a-f-]{36}$`).test(object)) return false;
    let found;
    try {
      found = await this.#bucket.head(object);
    } catch (err) {
      throw unavailable(`reading ${object}`, err);
    }
    this.stats.r2Reads++;
    const held = found ? (found.size - GROUP_HEADER_BYTES) / pageSize : 0;
    if (!Number.isInteger(held) || held < pages) return false;
    const digest = found?.checksums?.sha256;
    if (digest) return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('') === sha256;
    // Put back or copied without its checksum (by hand, rclone, the S3 API): its bytes say.
    const bytes = await this.#download(object);
    return bytes !== null && (await sha256Hex(bytes)) === sha256;
  }

  /** An object's bytes, null when the bucket has none of that name; counted in stats. @param {string} object */
  async #download(object) {
    let found;
    /** @type {ArrayBuffer} */
    let buffer;
    try {
      found = await this.#bucket.get(object);
      buffer = found ? await found.arrayBuffer() : new ArrayBuffer(0);
    } catch (err) {
      throw unavailable(`reading ${object}`, err);
    }
    if (!found) return null;
    this.stats.r2Reads++;
    this.stats.r2BytesRead += buffer.byteLength;
    return new Uint8Array(buffer);
  }

  /** Deleting one that is already gone is not an error. @param {string[]} names */
  async delete(names) {
    for (let i = 0; i < names.length; i += MAX_DELETE_KEYS) {
      const some = names.slice(i, i + MAX_DELETE_KEYS);
      try {
        await this.#bucket.delete(some);
      } catch (err) {
        throw unavailable('deleting unreferenced objects', err);
      }
      this.stats.r2Deletes += some.length;
    }
  }
}

/** @param {Uint8Array} bytes */
async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {string} what @param {unknown} err */
function unavailable(what, err) {
  const why = err instanceof Error ? err.message : String(err);
  return new StorageError('COLD_TIER_UNAVAILABLE', `the cold tier (R2) failed ${what}: ${why}; nothing was changed, retry`, { cause: err });
}

/** R2 lost what: 500 COLD_TIER_CORRUPT, and what to do. @param {string} what */
export function corrupt(what) {
  return new StorageError('COLD_TIER_CORRUPT', `the cold tier lost data: ${what}; restore the bucket or import a backup`);
}
