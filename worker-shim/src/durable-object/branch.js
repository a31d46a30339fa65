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
//    shared manifest, in one transaction. Any Worker holding the binding can call it
//    too, so it checks everything it is sent first (adoptBranch below).
//
// A branch releases an object (the owner may then delete it) when its own manifest
// drops it, as its collection of garbage does for its own objects; the owner asks it
// to confirm (coldObjectsRead), since anyone can call release.

import { hostError } from '../wasm/contract.js';
import { StorageError } from '../wasm/host.js';
import { jsonResponse, messageOf, valueOf } from './response.js';
import { BodyReader } from './file-import.js';
import { SHARED } from '../storage/tiered.js';
import { byOwner } from '../storage/cold-manifest.js';
import { corrupt } from '../storage/cold-objects.js';
import { MAX_GROUP_PAGES, PAGES_PER_CHUNK, PAGES_PER_WRITE } from '../config.js';
import { tenantNameError } from '../tenant.js';

/** The schema of the user's: every entry of sqlite_schema that is neither SQLite's nor DoSQL's. */
const USER_SCHEMA_SQL =
  "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_dosql\\_%' ESCAPE '\\' ORDER BY type, name";
/** The newest change event: higher in a database that was written to after its migrations, even once deleted. */
const CHANGE_HEAD_SQL = 'SELECT max(last_lsn) AS head FROM _dosql_change_log';

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
 * @property {() => Promise<() => void>} holdSharing  takes it for a branch that shares R2
 *   objects, which holds it while it waits for the new database (that database refuses,
 *   as BRANCH_BUSY, to adopt a branch meanwhile, so that no two databases ever wait for
 *   each other)
 * @property {(asOf: number) => Promise<EngineResponse>} size  GET /export's {pageSize, pageCount, lsn} as of a point
 * @property {(asOf: number) => Promise<EngineResponse>} startsAt  C's check that a branch of the point starts with the
 *   deployment's migrations: {} or 409 BRANCH_MIGRATION_CHANGED
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
  const used = await target.newDatabaseError();
  if (used) {
    const answer = JSON.parse(used.text);
    if (answer.code !== 'BRANCH_EXISTS') return jsonResponse(used.status, answer);
    // Its own words say which: its rows and schema, or its history.
    return hostError('BRANCH_EXISTS', `${name} is not a new database (${answer.error.replace(/^this database /, 'it ')}), so give the branch a name no database uses`);
  }
  // Sized holding the gate, as every read of a point: after an open transaction ends.
  const release = await source.hold();
  /** @type {EngineResponse} */
  let sized;
  try {
    sized = await source.size(from.lsn);
    // C says whether the branch would start with this deployment's migrations.
    if (sized.status === 200) {
      const starts = await source.startsAt(from.lsn);
      if (starts.status !== 200) sized = starts;
    }
  } finally {
    release();
  }
  if (sized.status !== 200) return pointGone(sized, from);
  const { pageSize, pageCount } = valueOf(sized);
  // A point before the first commit: the branch is the new, empty database it already is.
  if (pageCount === 0) return jsonResponse(200, { name, from, pageSize, pages: 0, bytes: 0 });
  const made = typeof storage.shareGroups === 'function' ? await share(from.lsn, id.toString(), target, source) : await copy(from.lsn, target, source);
  if (made.status !== 200) return pointGone(made, from);
  return jsonResponse(200, { name, from, ...valueOf(made) });
}

/**
 * answer, unless it says the branch's point is too old: C found it in history when the
 * branch was asked, so the database changed since (an import replaced it, or the
 * window moved past it), and the branch's own words say so rather than a read's ("asOf").
 * @param {EngineResponse} answer @param {{lsn: number}} from @returns {EngineResponse}
 */
function pointGone(answer, from) {
  if (answer.status !== 410 || valueOf(answer)?.code !== 'POINT_TOO_OLD') return answer;
  return hostError('POINT_TOO_OLD', `the branch's point, lsn ${from.lsn} (the present when it was asked, if it named none), ` +
    'is no longer a point of this database: an import replaced the database, or history let the point go, while the branch waited its turn. ' +
    'Ask again: a branch of the present then names the new present');
}

/**
 * The file as of lsn, imported into target.
 * @param {number} lsn @param {any} target @param {BranchSource} source @returns {Promise<EngineResponse>}
 */
async function copy(lsn, target, { exportFile }) {
  const file = await exportFile(lsn);
  if (!file.ok) return { status: file.status, body: new Uint8Array(await file.arrayBuffer()) };
  // Imported only while target is still new: a write since its check, or another branch
  // made there meanwhile, makes it BRANCH_EXISTS rather than being replaced.
  const imported = await target.importBranch(file.body);
  return jsonResponse(imported.status, JSON.parse(imported.text));
}

/**
 * Steps 1–3 of the header: the shared objects held for the branch, then the pages they
 * do not hold sent to it.
 * @param {number} lsn @param {string} holder  the branch's id @param {any} target @param {BranchSource} source
 * @returns {Promise<EngineResponse>}
 */
async function share(lsn, holder, target, { namespace, storage, holdSharing, size }) {
  const release = await holdSharing();
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
      const answered = jsonResponse(answer.status, JSON.parse(answer.text));
      return answered.status === 400 ? ((await lostShared(groups, pageSize, storage)) ?? answered) : answered;
    } finally {
      done();
    }
  } finally {
    release();
  }
}

/**
 * After the branch refused what it was sent: when R2 does not hold one of this
 * database's shared objects as its manifest names it, the loss is this database's,
 * answered as its reads answer it (500 COLD_TIER_CORRUPT, naming the object), not as
 * the branch's refusal; else null.
 * @param {SharedGroup[]} groups @param {number} pageSize @param {any} storage
 * @returns {Promise<EngineResponse | null>}
 */
async function lostShared(groups, pageSize, storage) {
  try {
    const object = await storage.unmatched(groups, pageSize);
    if (object === null) return null;
    const lost = corrupt(`${object} is missing from the bucket or does not match the SHA-256 the manifest recorded`);
    return hostError(lost.code, lost.message);
  } catch (err) {
    if (err instanceof StorageError) return hostError(err.code, err.message);
    throw err;
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
 * @property {string} self  this database's id, which owners know its holds by
 * @property {(owner: string, objects: string[]) => Promise<boolean>} keeps  whether
 *   owner keeps these objects for this database (its keepsFor())
 * @property {(page1: Uint8Array) => Promise<EngineResponse>} header  the
 *   engine's check of a file's first bytes, as /import checks them: 200 {pageSize, pageCount}
 * @property {() => Promise<EngineResponse | null>} unused  holding the gate: null when this
 *   database is new (usedError()), else the answer
 * @property {() => Promise<() => void>} hold  takes the transaction gate
 * @property {() => Promise<EngineResponse | null>} replaced  holding the gate, after the
 *   swap: starts the live engine on the new pages and checks its internal tables as
 *   /import does (null, or the failure to answer)
 * @property {{receivedBytes: number, stagedPages: number}} progress
 * @property {(...args: unknown[]) => void} log
 */

/**
 * The branch's side (adoptBranch): stage the copied pages, then make them and the
 * shared objects the database in one transaction, holding the gate.
 *
 * Any Worker holding the binding can call it (Workers RPC names no caller), so it
 * trusts nothing it is sent: it replaces only a new database; the pages must be what
 * /import takes (a SQLite header whose size and page count match); each shared object
 * must be one its named owner keeps for this database (the parent recorded the hold
 * before calling), and be in R2 as named. Pages that pass and still do not open (the
 * engine's check of its internal tables) are swapped out again for an empty database:
 * it was new, so nothing is lost. Its objects are in use from the start, so that an
 * owner asking stillReads() meanwhile keeps them.
 * @param {BranchManifest} manifest @param {ReadableStream<Uint8Array>} pages @param {BranchTarget} target
 * @returns {Promise<EngineResponse>}  200 {pageSize, pages, bytes, copiedPages, sharedPages, rowsWritten}
 */
export async function adoptBranch(manifest, pages, target) {
  const { storage, log } = target;
  if (typeof storage.adopt !== 'function') {
    await pages.cancel();
    return hostError('BAD_CONFIG', 'a branch that shares R2 objects needs the cold tier configured where it is made too');
  }
  const bad = manifestError(manifest);
  if (bad) {
    await pages.cancel();
    return hostError('BRANCH_REFUSED', `this is no branch: ${bad}`);
  }
  // Asked again at the swap; first so that a database in use is told so before any page moves.
  const used = await unusedAtGate(target);
  if (used) {
    await pages.cancel();
    return used;
  }
  const done = storage.reading(manifest.groups.map((g) => g.object));
  const staged = storage.stageImport();
  let swapped = false;
  try {
    const copied = await receive(pages, staged, manifest, target.progress);
    const refused = (await checkPages(staged, manifest, target)) ?? (await checkShared(manifest, target));
    if (refused) return refused;
    return await swap(staged, manifest, copied, target, () => {
      swapped = true;
    });
  } finally {
    done();
    if (!swapped) await Promise.resolve(storage.discardImport(staged)).catch((err) => log('discarding a failed branch failed:', err));
  }
}

/** target.unused(), holding the gate. @param {BranchTarget} target */
async function unusedAtGate({ hold, unused }) {
  const release = await hold();
  try {
    return await unused();
  } finally {
    release();
  }
}

/**
 * Holding the gate: refuse a database that is not new, else swap the branch in and
 * start on it; when it does not open, an empty database takes its place.
 * @param {any} staged @param {BranchManifest} manifest @param {number} copied
 * @param {BranchTarget} target @param {() => void} swapped  called once staged is the database
 */
async function swap(staged, { pageSize, pageCount, groupPages, groups }, copied, { storage, hold, unused, replaced }, swapped) {
  const release = await hold();
  try {
    const used = await unused();
    if (used) return used;
    const rowsBefore = storage.stats.rowsWritten;
    const sharedPages = storage.adopt(staged, { groupPages, groups });
    swapped();
    // What the branch cost in billed rows: its pages staged, then the swap with its manifest.
    const rowsWritten = staged.stats.rowsWritten + storage.stats.rowsWritten - rowsBefore;
    const failure = await replaced();
    if (!failure) return jsonResponse(200, { pageSize, pages: pageCount, bytes: pageSize * pageCount, copiedPages: copied, sharedPages, rowsWritten });
    storage.replaceWith(storage.stageImport());
    const restarted = await replaced();
    return restarted ?? hostError('BRANCH_REFUSED', `the branch's pages do not open: ${valueOf(failure)?.error}; the database is new again`);
  } finally {
    release();
  }
}

/**
 * What a branch's manifest must be before anything is read: whole numbers in range,
 * each group once, inside the page count. Null, or what is wrong.
 * @param {BranchManifest} manifest
 */
function manifestError(manifest) {
  const { pageSize, pageCount, groupPages, groups } = manifest ?? {};
  const whole = (/** @type {unknown} */ n, /** @type {number} */ min, /** @type {number} */ max) => Number.isInteger(n) && /** @type {number} */ (n) >= min && /** @type {number} */ (n) <= max;
  if (!whole(pageSize, 512, 65536) || (pageSize & (pageSize - 1)) !== 0) return 'its page size is none SQLite has';
  if (!whole(pageCount, 1, 0xfffffffe) || !whole(groupPages, 1, MAX_GROUP_PAGES) || !Array.isArray(groups)) return 'its manifest is malformed';
  const seen = new Set();
  for (const g of groups) {
    const ok = g && whole(g.group, 0, Math.floor((pageCount - 1) / groupPages)) && whole(g.pages, 1, groupPages) && !seen.has(g.group) &&
      typeof g.object === 'string' && typeof g.owner === 'string' && typeof g.sha256 === 'string' && /^[0-9a-f]{64}$/.test(g.sha256);
    if (!ok) return `its manifest's group ${JSON.stringify(g?.group)} is malformed`;
    seen.add(g.group);
  }
  return null;
}

/**
 * /import's checks of the first page, when it was sent (else its shared object holds it,
 * which checkShared() checks and the start reads): a SQLite header, of the manifest's
 * page size and page count. Null, or the refusal.
 * @param {any} staged @param {BranchManifest} manifest @param {BranchTarget} target
 * @returns {Promise<EngineResponse | null>}
 */
async function checkPages(staged, { pageSize, pageCount, groups }, { header }) {
  const page1 = staged.readPage(1);
  if (!(page1 instanceof Uint8Array)) {
    return groups.some((g) => g.group === 0) ? null : hostError('BRANCH_REFUSED', 'this is no branch: neither its pages nor its shared objects hold page 1');
  }
  const answer = await header(page1);
  if (answer.status !== 200) return answer;
  const found = valueOf(answer);
  if (found.pageSize !== pageSize || (found.pageCount !== null && found.pageCount !== pageCount)) {
    return hostError('IMPORT_PAGE_COUNT_MISMATCH', `the branch's header says ${found.pageCount} pages of ${found.pageSize} bytes, its manifest ${pageCount} of ${pageSize}`);
  }
  return null;
}

/**
 * Each owner keeps its objects for this database (one question per owner), and R2 has
 * each as the manifest names it. Null, or the refusal.
 * @param {BranchManifest} manifest @param {BranchTarget} target @returns {Promise<EngineResponse | null>}
 */
async function checkShared({ pageSize, groups }, { keeps, storage }) {
  for (const [owner, objects] of byOwner(groups)) {
    let kept;
    try {
      kept = await keeps(owner, objects);
    } catch (err) {
      return hostError('COLD_TIER_UNAVAILABLE', `the branch was not made: database ${owner}, whose R2 objects it would share, did not answer: ${messageOf(err)}; retry`);
    }
    if (!kept) return hostError('BRANCH_REFUSED', `this is no branch: database ${owner} keeps no such objects for it`);
  }
  try {
    if (await storage.unmatched(groups, pageSize)) return hostError('BRANCH_REFUSED', 'this is no branch: R2 does not hold its shared objects as its manifest names them');
  } catch (err) {
    if (err instanceof StorageError) return hostError(err.code, err.message);
    throw err;
  }
  return null;
}

/**
 * Null when a database is new: it holds what a database that just applied this
 * deployment's migrations to nothing holds (fresh), no more: the same schema of the
 * user's, as many rows in each table (the migrations' own, a class whose migrations
 * seed tables; counted, as a seeded time or random value differs run to run), and
 * the same newest change event (a row written, changed or deleted since leaves a
 * newer one, with change capture on), and no past point a restore could bring back,
 * once it made more commits than the migrations do: a restore to before its rows, or
 * rows written and deleted with capture off, leave history that a branch would end.
 * Else BRANCH_EXISTS, or the failure of a query.
 * @param {(sql: string) => Promise<EngineResponse>} query  this database's
 * @param {() => Promise<{query: (sql: string) => Promise<EngineResponse>, commits: number} | {failure: EngineResponse}>} fresh
 * @param {{lsn: number, oldestLsn: number} | null} history  this database's points (null: it keeps none)
 * @returns {Promise<EngineResponse | null>}
 */
export async function usedError(query, fresh, history) {
  const made = await fresh();
  if ('failure' in made) return made.failure;
  if (history !== null && history.lsn > made.commits && history.oldestLsn < history.lsn) {
    const more = history.lsn - made.commits;
    return hostError('BRANCH_EXISTS', `this database made ${more} commit${more === 1 ? '' : 's'} more than its migrations make (rows written, a restore, a VACUUM, a PRAGMA that sets a value), and its history can still restore points back to lsn ${history.oldestLsn}, which a branch would end: a branch replaces only a new database`);
  }
  const schema = await sameAnswers(query, made.query, USER_SCHEMA_SQL);
  if (schema.differs !== false) return schema.differs ?? schema.failure;
  const tables = valueOf(schema.answer).rows.filter((r) => r.type === 'table' && !/^CREATE\s+VIRTUAL\b/i.test(r.sql)).map((r) => r.name);
  for (const sql of [CHANGE_HEAD_SQL, ...tables.map((name) => `SELECT count(*) AS n FROM main."${name.replaceAll('"', '""')}"`)]) {
    const same = await sameAnswers(query, made.query, sql);
    if (same.differs !== false) return same.differs ?? same.failure;
  }
  return null;
}

/**
 * sql's answer in both databases: {differs: false, answer} when they agree, {differs:
 * BRANCH_EXISTS} when not, or {failure} when a query failed.
 * @param {(sql: string) => Promise<EngineResponse>} mine @param {(sql: string) => Promise<EngineResponse>} fresh @param {string} sql
 * @returns {Promise<{differs: false, answer: EngineResponse} | {differs: EngineResponse} | {differs?: undefined, failure: EngineResponse}>}
 */
async function sameAnswers(mine, fresh, sql) {
  const [a, b] = [await mine(sql), await fresh(sql)];
  if (b.status !== 200) return { failure: b };
  if (a.status === 200 && JSON.stringify(valueOf(a)) === JSON.stringify(valueOf(b))) return { differs: false, answer: a };
  if (a.status !== 200) return { failure: a };
  return { differs: hostError('BRANCH_EXISTS', 'this database holds more than its migrations make (rows, schema of its own, or change events of rows since deleted): a branch replaces only a new database') };
}

/**
 * Pages in memory: what fresh (usedError()) applies the migrations to. Nothing stays.
 * @returns {import('../wasm/host.js').StorageAdapter}
 */
export function scratchPages() {
  /** @type {Map<number, Uint8Array>} */
  const pages = new Map();
  return {
    stats: {},
    readPage: (pgno) => pages.get(pgno) ?? null,
    commit({ pages: written, newPageCount }) {
      for (const { pgno, data } of written) pages.set(pgno, data.slice());
      for (const pgno of pages.keys()) if (pgno > newPageCount) pages.delete(pgno);
    },
    prefetch: async () => {},
  };
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
