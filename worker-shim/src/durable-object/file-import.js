// durable-object/file-import.js — POST /import: replace the whole database with an
// uploaded SQLite file, atomically. A file that is refused changes nothing.
//
// 1. Receive. The engine checks the header (src/fileformat.h); the body is cut into
//    pages as it arrives and staged PAGES_PER_WRITE at a time beside the live pages
//    (the adapter's stageImport), so the file is never whole in memory. Page 1 is
//    written last, normalized: legacy journal mode (a WAL file arrives without its
//    WAL) and a page count the VFS can trust.
// 2. Validate. A second engine opens the staged pages as start-up would (same
//    change capture and guard as live SQL: reserved names are refused, src/internal.h),
//    checks its internal tables' rows (POST /import/check), runs PRAGMA
//    integrity_check (exactly "ok") and applies this database's migrations, so a
//    file they cannot apply to is refused now rather than at the next start.
// 3. Swap, holding the transaction gate: the second engine numbers the file's change
//    events past every event of the database it replaces (POST /changes/renumber, with
//    the floor the live engine gave), the adapter makes the staged pages the database
//    in one atomic write (replaceWith), and the owner restarts its engine on them
//    before the gate opens. Requests see the old database or the new one.
//
// Steps 1 and 2 do not hold the gate: the old pages answer requests while the file
// arrives (the checks are synchronous calls into the engine, which nothing else runs
// beside). One import runs at a time (the owner's concern).

import { jsonResponse, valueOf } from './response.js';
import { hostError } from '../wasm/contract.js';
import { PAGES_PER_WRITE } from '../config.js';
import { drain, reading } from './request-body.js';

const encoder = new TextEncoder();
const INTEGRITY_CHECK = encoder.encode(JSON.stringify({ sql: 'PRAGMA integrity_check' }));

/** @typedef {import('./response.js').EngineResponse} EngineResponse */
/** @typedef {import('../wasm/host.js').StorageAdapter} StorageAdapter */

/**
 * @typedef {StorageAdapter & {
 *   maxImportBytes: number,
 *   stageImport(): StorageAdapter | Promise<StorageAdapter>,
 *   replaceWith(staged: StorageAdapter): void | Promise<void>,
 *   discardImport(staged: StorageAdapter): void | Promise<void>,
 * }} ImportableStorage
 */

/** For the owner's stats. @typedef {{receivedBytes: number, stagedPages: number}} ImportProgress */

/**
 * @typedef {object} ImportTarget
 * @property {ImportableStorage} storage  the live database's adapter
 * @property {() => Promise<import('../wasm/engine.js').Engine | EngineResponse>} engine  reads file headers: the
 *   live engine, fresh if the last broke, or the failure of its start
 * @property {() => Promise<import('../wasm/host.js').ChangeNumbers | EngineResponse>} changeNumbers  how the
 *   file's events are numbered, after every event of the database it replaces (asked holding the gate)
 * @property {(staged: StorageAdapter) => import('../wasm/engine.js').Engine} newEngine  for validation
 * @property {readonly import('../wasm/engine.js').Migration[]} migrations
 * @property {boolean} captureChanges  as the live engine is opened
 * @property {unknown} [captureTables]  as the live engine is opened
 * @property {() => Promise<() => void>} hold  takes the transaction gate
 * @property {() => Promise<EngineResponse | null>} [unused]  asked holding the gate, before
 *   the swap: null, or why the database may not be replaced (a branch's, which replaces
 *   only a new database)
 * @property {() => Promise<EngineResponse | null>} replaced  holding the gate, after the
 *   swap: starts the live engine on the new pages (null, or the failure to answer)
 * @property {ImportProgress} progress
 * @property {(...args: unknown[]) => void} log
 */

/** @param {ReadableStream<Uint8Array> | null} body @param {ImportTarget} target
 *  @returns {Promise<EngineResponse>}  200 {pageSize, pages, bytes}, or the refusal */
export async function importFile(body, target) {
  const { storage } = target;
  const staged = await storage.stageImport();
  let swapped = false;
  try {
    const file = await receive(body, staged, storage.maxImportBytes, target);
    if ('status' in file) return file;
    const checker = target.newEngine(staged);
    const refused = await validate(checker, target);
    if (refused) return refused;
    const release = await target.hold();
    try {
      const used = await target.unused?.();
      if (used) return used;
      // The file's change log replaces this one: its events are numbered after it.
      const numbers = await target.changeNumbers();
      if ('status' in numbers) return numbers;
      const renumbered = await checker.request('POST', '/changes/renumber', encoder.encode(JSON.stringify({ floor: numbers.floor })), { internal: true });
      if (renumbered.status !== 200) return renumbered;
      staged.renumberChanges?.(numbers);
      await storage.replaceWith(staged);
      swapped = true;
      return (await target.replaced()) ?? jsonResponse(200, file);
    } finally {
      release();
    }
  } finally {
    // A failed clean-up is retried by the next import's stageImport.
    if (!swapped) await Promise.resolve(storage.discardImport(staged)).catch((err) => target.log('discarding a refused import failed:', err));
  }
}

// ---- 1. receive ------------------------------------------------------------------------

/**
 * @param {ReadableStream<Uint8Array> | null} body @param {StorageAdapter} staged @param {number} maxBytes @param {ImportTarget} target
 * @returns {Promise<{pageSize: number, pages: number, bytes: number} | EngineResponse>}
 */
async function receive(body, staged, maxBytes, { engine: live, progress }) {
  const reader = new BodyReader(body);
  try {
    // The engine is asked when it is needed: the body arrives over time, and it may break meanwhile.
    let engine = await live();
    if ('status' in engine) return engine;
    const header = new Uint8Array(engine.contract.fileHeaderBytes);
    const filled = await reader.fill(header);
    engine = await live();
    if ('status' in engine) return engine;
    const { answer } = engine.fileHeader(header.subarray(0, filled), maxBytes);
    if (answer.status !== 200) return answer;
    const { pageSize, pageCount: expected } = valueOf(answer);
    const page1 = new Uint8Array(pageSize);
    page1.set(header);
    if ((await reader.fill(page1, header.length)) < pageSize) return badLength(reader.bytes, pageSize);
    let pages = 1;
    /** @type {{pgno: number, data: Uint8Array}[]} */
    let batch = [];
    // Until the body ends, or is longer than its header says.
    while (expected === null || pages <= expected) {
      if (reader.bytes > maxBytes) return tooLarge(`more than ${maxBytes} bytes`, maxBytes);
      const page = new Uint8Array(pageSize);
      const n = await reader.fill(page);
      progress.receivedBytes = reader.bytes;
      if (n === 0) break;
      if (n < pageSize) return badLength(reader.bytes, pageSize);
      batch.push({ pgno: ++pages, data: page });
      if (batch.length === PAGES_PER_WRITE) {
        stage(staged, pageSize, batch, pages, progress);
        batch = [];
      }
    }
    if (expected !== null && pages !== expected) {
      const actual = pages > expected ? 'the file is longer' : `the file has ${pages}`;
      return hostError('IMPORT_PAGE_COUNT_MISMATCH', `the file's header says it has ${expected} pages of ${pageSize} bytes, but ${actual}`);
    }
    engine = await live();
    if ('status' in engine) return engine;
    page1.set(engine.fileHeader(header, maxBytes, pages).header);
    // The file's size, not the last page's number: the last batch may have gone in the loop.
    stage(staged, pageSize, [{ pgno: 1, data: page1 }, ...batch], pages, progress);
    return { pageSize, pages, bytes: pages * pageSize };
  } finally {
    await reader.close();
  }
}

/** @param {number} bytes  the length of the body @param {number} pageSize @returns {EngineResponse} */
function badLength(bytes, pageSize) {
  return hostError('IMPORT_TRUNCATED', `the file is truncated: its ${bytes} bytes are not a multiple of its page size, ${pageSize}`);
}

/** @param {string} size  how large the file is @param {number} maxBytes @returns {EngineResponse} */
function tooLarge(size, maxBytes) {
  return hostError('IMPORT_TOO_LARGE', `the file is ${size}; this database takes files of up to ${maxBytes} bytes`);
}

/**
 * Stage pages (ascending) as one commit batch of the file so far, written as any commit is.
 * @param {StorageAdapter} staged @param {number} pageSize
 * @param {{pgno: number, data: Uint8Array}[]} pages @param {number} pageCount  the file's pages so far
 * @param {ImportProgress} progress
 */
function stage(staged, pageSize, pages, pageCount, progress) {
  staged.commit({ pageSize, oldPageCount: pageCount, newPageCount: pageCount, pages });
  staged.settle?.();
  progress.stagedPages += pages.length;
}

/** A request body read into caller-given buffers, whatever its chunking. */
export class BodyReader {
  /** @type {ReadableStreamDefaultReader<Uint8Array> | null} */
  #reader;
  /** @type {Uint8Array} */
  #chunk = new Uint8Array(0);
  #offset = 0;
  bytes = 0; // received so far

  /** @param {ReadableStream<Uint8Array> | null} body */
  constructor(body) {
    this.#reader = body ? body.getReader() : null;
  }

  /** Fill into[from..]; how far it is filled (short only at the end). @param {Uint8Array} into @param {number} [from] */
  async fill(into, from = 0) {
    let filled = from;
    while (filled < into.length) {
      if (this.#offset === this.#chunk.length) {
        const reader = this.#reader;
        const next = reader && (await reading(() => reader.read()));
        if (!next || next.done) break;
        this.#chunk = next.value;
        this.#offset = 0;
        this.bytes += next.value.byteLength;
      }
      const n = Math.min(into.length - filled, this.#chunk.length - this.#offset);
      into.set(this.#chunk.subarray(this.#offset, this.#offset + n), filled);
      filled += n;
      this.#offset += n;
    }
    return filled;
  }

  /** A refusal may come before the end: see discardBody. */
  async close() {
    const reader = this.#reader;
    this.#reader = null;
    if (reader) await drain(reader);
  }
}

// ---- 2. validate -----------------------------------------------------------------------

// Engine code prefixes that blame the file, and the code each step answers them with:
// damaged (whichever step's reading finds it), migrations do not apply, it holds what
// only DoSQL may write.
const CORRUPTION = ['SQLITE_CORRUPT', 'SQLITE_NOTADB'];
/** A file SQLite will not open (a schema format it does not know), or cannot check (an
 *  index on a collation it does not have), is not one to import either. */
const UNREADABLE = [...CORRUPTION, 'SQLITE_ERROR'];
const MIGRATION_FAILURES = ['MIGRATION_FAILED', 'MIGRATION_CHANGED'];
const UNSAFE = ['UNSAFE_SCHEMA', 'IMPORT_UNSAFE'];

/** @typedef {[prefixes: string[], code: string][]} FileFaults */

/** Null when all went well, else the refusal.
 *  @param {import('../wasm/engine.js').Engine} engine  on the staged pages
 *  @param {ImportTarget} target @returns {Promise<EngineResponse | null>} */
async function validate(engine, { migrations, captureChanges, captureTables }) {
  const opened = await engine.open(0, { captureChanges, captureTables });
  if (opened.status !== 200) return refusal(opened, 'opening the file', [[UNSAFE, 'IMPORT_UNSAFE'], [UNREADABLE, 'IMPORT_CORRUPT']]);
  const rows = await engine.request('POST', '/import/check', new Uint8Array(0), { internal: true });
  if (rows.status !== 200) return refusal(rows, 'checking its internal tables', [[UNSAFE, 'IMPORT_UNSAFE'], [CORRUPTION, 'IMPORT_CORRUPT']]);
  const checked = await engine.request('POST', '/query', INTEGRITY_CHECK);
  if (checked.status !== 200) return refusal(checked, 'checking the file', [[UNREADABLE, 'IMPORT_CORRUPT']]);
  const problems = integrityProblems(checked);
  if (problems.length > 0) {
    return hostError('IMPORT_CORRUPT', `the file is corrupt; PRAGMA integrity_check says: ${problems.slice(0, 5).join('; ')}`);
  }
  const migrated = await engine.migrate([...migrations]);
  if (migrated.status !== 200) {
    return refusal(migrated, "applying this deployment's migrations to the file (those its _dosql_migrations does not list; " +
      'a database made elsewhere lists none, so import it where the migrations describe it, or where there are none)',
    [[MIGRATION_FAILURES, 'IMPORT_MIGRATION_FAILED'], [CORRUPTION, 'IMPORT_CORRUPT']]);
  }
  return null;
}

/**
 * A validation failure as the import's answer: the step's code for a fault of the file
 * (the failure's code starts with one of its prefixes), else the failure's own status
 * and code (a limit, a storage failure).
 * @param {EngineResponse} answer @param {string} doing @param {FileFaults} faults
 * @returns {EngineResponse}
 */
function refusal(answer, doing, faults) {
  const failure = valueOf(answer);
  const message = `${doing} failed: ${failure.error}`;
  const fault = faults.find(([prefixes]) => prefixes.some((c) => failure.code.startsWith(c)));
  return fault ? hostError(fault[1], message) : jsonResponse(answer.status, { error: message, code: failure.code });
}

/** @param {EngineResponse} answer  200 {rows: [{integrity_check: text}]} @returns {string[]} */
function integrityProblems(answer) {
  const { rows } = valueOf(answer);
  const lines = rows.map((/** @type {Record<string, unknown>} */ row) => String(Object.values(row)[0]));
  return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
}

