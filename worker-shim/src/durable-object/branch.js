// durable-object/branch.js — POST /branch {name, from?}: a new database, the object
// `name` of this class's namespace, holding this one as it was at a point.
//
// Without a cold tier the branch is a copy: this database's file as of the point
// (GET /export?asOf=) is imported there. With one (storage/tiered.js), the branch
// shares the R2 objects that already hold its pages and receives only the others:
//
// 1. Holding this database's gate, C reads the point's page count; the objects of
//    the groups in it are kept in use, so this database collects none of them.
// 2. Each object's owner (this database, or the one this was branched from) records
//    the branch as a holder. This comes before the branch exists, so no owner ever
//    deletes an object a branch reads. A branch that fails after this step leaves
//    its holds behind: a retry under the same name takes them over.
// 3. The pages as of the point that no shared object holds are streamed to the
//    branch's adoptBranch() (a Workers RPC method, unreachable over HTTP: it names
//    R2 objects). It stages them beside its own pages and swaps them in, with the
//    shared manifest, in one transaction.
//
// A branch releases an object (the owner may then delete it) when its own manifest
// drops it, as its collection of garbage does for its own objects.

import { hostError } from '../wasm/contract.js';
import { jsonResponse, messageOf, valueOf } from './response.js';
import { BodyReader } from './file-import.js';
import { SHARED } from '../storage/tiered.js';
import { byOwner } from '../storage/cold-manifest.js';
import { PAGES_PER_CHUNK, PAGES_PER_WRITE } from '../config.js';
import { tenantNameError } from '../tenant.js';

/** Whether a database holds any row of its own (not SQLite's, not DoSQL's): a leaf page with cells. */
const HOLDS_ROWS_SQL =
  "SELECT count(*) AS n FROM dbstat WHERE pagetype = 'leaf' AND ncell > 0 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_dosql\\_%' ESCAPE '\\'";
/** A copied page on the way to the branch: its number (u32, little-endian), then its bytes. */
const PGNO_BYTES = 4;

/** @typedef {import('./response.js').EngineResponse} EngineResponse */
/** @typedef {import('../storage/tiered.js').SharedGroup} SharedGroup */

/**
 * What the branch receives besides the copied pages (adoptBranch's first argument).
 * @typedef {{pageSize: number, pageCount: number, groupPages: number, groups: SharedGroup[]}} BranchManifest
 */

/**
 * @typedef {object} BranchSource
 * @property {any} namespace  the class's DurableObjectNamespace
 * @property {any} ctx  this object's DurableObjectState (its id)
 * @property {any} storage  the live page storage; shareGroups() when it has a cold tier
 * @property {() => Promise<() => void>} hold  takes the transaction gate
 * @property {(asOf: number) => Promise<EngineResponse>} size  GET /export's {pageSize, pageCount, lsn} as of a point
 * @property {(asOf: number) => Promise<Response>} exportFile  GET /export?asOf=
 */

/**
 * Make the branch `name` as of `from` (C checked both).
 * @param {{name: string, from: {lsn: number}}} request @param {BranchSource} source
 * @returns {Promise<EngineResponse>}
 */
export async function branch({ name, from }, source) {
  const { namespace, ctx, storage } = source;
  const badName = tenantNameError(name);
  if (badName) return hostError('BAD_TENANT', badName);
  if (!namespace || typeof namespace.idFromName !== 'function') {
    return hostError('BAD_CONFIG', 'POST /branch makes the new database in this class\'s namespace, but no binding of the Worker is it: add a [[durable_objects.bindings]] for this class (DOSQL_DB) to the wrangler config');
  }
  const id = namespace.idFromName(name);
  if (ctx?.id?.equals?.(id)) return hostError('BRANCH_EXISTS', `${name} is this database: a branch needs a name of its own`);
  const target = namespace.get(id);
  const used = await target.fetch('http://dosql/query', { method: 'POST', body: JSON.stringify({ sql: HOLDS_ROWS_SQL }) });
  const usedAnswer = await used.json();
  if (!used.ok) return jsonResponse(used.status, usedAnswer);
  if (usedAnswer.rows[0].n > 0) return hostError('BRANCH_EXISTS', `${name} already holds rows: a branch is a new database, so give it a name no database uses`);
  // Sized holding the gate, as every read of a point: after an open transaction ends.
  const release = await source.hold();
  /** @type {EngineResponse} */
  let sized;
  try {
    sized = await source.size(from.lsn);
  } finally {
    release();
  }
  if (sized.status !== 200) return sized;
  const { pageSize, pageCount } = valueOf(sized);
  // A point before the first commit: the branch is the new, empty database it already is.
  if (pageCount === 0) return jsonResponse(200, { name, from, pageSize, pages: 0, bytes: 0 });
  const made = typeof storage.shareGroups === 'function' ? await share(from.lsn, id.toString(), target, source) : await copy(from.lsn, target, source);
  if (made.status !== 200) return made;
  return jsonResponse(200, { name, from, ...valueOf(made) });
}

/**
 * The file as of lsn, imported into target.
 * @param {number} lsn @param {any} target @param {BranchSource} source @returns {Promise<EngineResponse>}
 */
async function copy(lsn, target, { exportFile }) {
  const file = await exportFile(lsn);
  if (!file.ok) return { status: file.status, body: new Uint8Array(await file.arrayBuffer()) };
  const imported = await target.fetch('http://dosql/import', { method: 'POST', body: file.body, headers: { 'content-type': 'application/vnd.sqlite3' } });
  return jsonResponse(imported.status, await imported.json());
}

/**
 * Steps 1–3 of the header: the shared objects held for the branch, then the pages they
 * do not hold sent to it.
 * @param {number} lsn @param {string} holder  the branch's id @param {any} target @param {BranchSource} source
 * @returns {Promise<EngineResponse>}
 */
async function share(lsn, holder, target, { namespace, storage, hold, size }) {
  const release = await hold();
  try {
    const sized = await size(lsn);
    if (sized.status !== 200) return sized;
    const { pageSize, pageCount } = valueOf(sized);
    const { groups, done } = storage.shareGroups(pageCount);
    try {
      const held = await holdObjects(groups, holder, { namespace, storage });
      if (held) return held;
      /** @type {BranchManifest} */
      const manifest = { pageSize, pageCount, groupPages: storage.groupPages, groups };
      let answer;
      try {
        answer = await target.adoptBranch(manifest, copiedPages(storage.branchReader(lsn), pageCount, pageSize));
      } catch (err) {
        return hostError('COLD_TIER_UNAVAILABLE', `the branch was not made: the new database failed while taking its pages: ${messageOf(err)}; retry`);
      }
      return jsonResponse(answer.status, JSON.parse(answer.text));
    } finally {
      done();
    }
  } finally {
    release();
  }
}

/**
 * Record holder at each shared object's owner: this database's own here, another's
 * through its holdColdObjects(). Null, or the failure to answer with.
 * @param {SharedGroup[]} groups @param {string} holder
 * @param {{namespace: any, storage: any}} where
 * @returns {Promise<EngineResponse | null>}
 */
async function holdObjects(groups, holder, { namespace, storage }) {
  for (const [owner, objects] of byOwner(groups)) {
    try {
      if (owner === storage.id) storage.hold(holder, objects);
      else await namespace.get(namespace.idFromString(owner)).holdColdObjects(holder, objects);
    } catch (err) {
      return hostError('COLD_TIER_UNAVAILABLE', `the branch was not made: database ${owner}, whose R2 objects it would share, did not record it: ${messageOf(err)}; retry`);
    }
  }
  return null;
}

/**
 * The pages a shared object does not hold, as records of PGNO_BYTES + pageSize, read
 * as the branch pulls (the caller holds the gate until it has them all).
 * @param {(pgno: number) => Uint8Array | null | typeof SHARED} read @param {number} pageCount @param {number} pageSize
 * @returns {ReadableStream<Uint8Array>}
 */
function copiedPages(read, pageCount, pageSize) {
  let next = 1;
  return new ReadableStream({
    pull(controller) {
      /** @type {{pgno: number, page: Uint8Array}[]} */
      const pages = [];
      while (next <= pageCount && pages.length < PAGES_PER_CHUNK) {
        const page = read(next);
        if (page instanceof Uint8Array) pages.push({ pgno: next, page });
        next++;
      }
      if (pages.length > 0) {
        const bytes = new Uint8Array(pages.length * (PGNO_BYTES + pageSize));
        const view = new DataView(bytes.buffer);
        pages.forEach(({ pgno, page }, i) => {
          view.setUint32(i * (PGNO_BYTES + pageSize), pgno, true);
          bytes.set(page, i * (PGNO_BYTES + pageSize) + PGNO_BYTES);
        });
        controller.enqueue(bytes);
      }
      if (next > pageCount) controller.close();
    },
  });
}

/**
 * @typedef {object} BranchTarget
 * @property {any} storage  the live page storage: adopt() when it has a cold tier
 * @property {() => Promise<() => void>} hold  takes the transaction gate
 * @property {() => Promise<EngineResponse | null>} replaced  holding the gate, after the
 *   swap: starts the live engine on the new pages (null, or the failure to answer)
 * @property {{receivedBytes: number, stagedPages: number}} progress
 * @property {(...args: unknown[]) => void} log
 */

/**
 * The branch's side (adoptBranch): stage the copied pages, then make them and the
 * shared objects the database in one transaction, holding the gate.
 * @param {BranchManifest} manifest @param {ReadableStream<Uint8Array>} pages @param {BranchTarget} target
 * @returns {Promise<EngineResponse>}  200 {pageSize, pages, bytes, copiedPages, sharedPages, rowsWritten}
 */
export async function adoptBranch(manifest, pages, { storage, hold, replaced, progress, log }) {
  if (typeof storage.adopt !== 'function') {
    return hostError('BAD_CONFIG', 'a branch that shares R2 objects needs the cold tier configured where it is made too');
  }
  const { pageSize, pageCount, groupPages, groups } = manifest;
  const staged = storage.stageImport();
  let swapped = false;
  try {
    const copied = await receive(pages, staged, manifest, progress);
    const release = await hold();
    try {
      const rowsBefore = storage.stats.rowsWritten;
      const sharedPages = storage.adopt(staged, { groupPages, groups });
      swapped = true;
      // What the branch cost in billed rows: its pages staged, then the swap with its manifest.
      const rowsWritten = staged.stats.rowsWritten + storage.stats.rowsWritten - rowsBefore;
      const made = { pageSize, pages: pageCount, bytes: pageSize * pageCount, copiedPages: copied, sharedPages, rowsWritten };
      return (await replaced()) ?? jsonResponse(200, made);
    } finally {
      release();
    }
  } finally {
    if (!swapped) await Promise.resolve(storage.discardImport(staged)).catch((err) => log('discarding a failed branch failed:', err));
  }
}

/**
 * Stage the streamed pages, PAGES_PER_WRITE at a time; how many. Throws when the stream
 * is not what copiedPages() sends.
 * @param {ReadableStream<Uint8Array>} pages @param {any} staged @param {BranchManifest} manifest
 * @param {{receivedBytes: number, stagedPages: number}} progress
 */
async function receive(pages, staged, { pageSize, pageCount }, progress) {
  const reader = new BodyReader(pages);
  const number = new Uint8Array(PGNO_BYTES);
  let last = 0;
  let count = 0;
  /** @type {{pgno: number, data: Uint8Array}[]} */
  let batch = [];
  const flush = () => {
    // Every batch a commit of the whole page count, so that a branch of no copied page has its size too.
    staged.commit({ pageSize, oldPageCount: pageCount, newPageCount: pageCount, pages: batch });
    progress.stagedPages += batch.length;
    batch = [];
  };
  try {
    for (;;) {
      const n = await reader.fill(number);
      progress.receivedBytes = reader.bytes;
      if (n === 0) break;
      const pgno = new DataView(number.buffer).getUint32(0, true);
      const data = new Uint8Array(pageSize);
      if (n < PGNO_BYTES || pgno <= last || pgno > pageCount || (await reader.fill(data)) < pageSize) {
        throw new Error(`a branch's pages arrived out of order or cut short (after page ${last} of ${pageCount})`);
      }
      batch.push({ pgno, data });
      last = pgno;
      count++;
      if (batch.length === PAGES_PER_WRITE) flush();
    }
    if (batch.length > 0 || count === 0) flush();
    return count;
  } finally {
    await reader.close();
  }
}

/**
 * How this database reaches the owners of the objects it shares (storage/tiered.js Peers).
 * @param {any} namespace @param {string} self  this object's id
 * @returns {import('../storage/tiered.js').Peers}
 */
export function peersIn(namespace, self) {
  return {
    self,
    release: (owner, objects) => namespace.get(namespace.idFromString(owner)).releaseColdObjects(self, objects),
  };
}
