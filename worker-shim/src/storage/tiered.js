// storage/tiered.js — SQLite-backed hot storage with an R2 cold tier behind it.
//
// Pages live in the hot tier (storage/sql.js) until it passes its byte budget; then
// the least recently used groups are written to R2 (storage/cold-objects.js) and
// removed from it. The manifest (storage/cold-manifest.js) says where everything is,
// and changes only inside the transactionSync of the pages it describes, so a crash
// at any instant leaves a consistent picture: each group's R2 object, its page count,
// SHA-256, `dirty` once a commit wrote into the group after the object was made, and
// its owner (another database's, shared with a branch); the unreferenced objects to
// delete, uploads in progress too (recorded before the upload, so a crash's orphan is
// found); and the branches that hold this database's objects.
//
// A page only in R2 is a FAULT: the engine rolls the request back, prefetch()
// downloads its group (and, on further faults, its neighbours) and promotes it
// into the hot tier, keeping the manifest entry; the request runs again. Writes
// always land in the hot tier; one into a cold group marks it dirty.
//
// Demotion (maintain(), never during a request) uploads a new object unless a clean
// promoted group's object still holds its pages, then switches holding the
// transaction gate, only for groups no commit touched since (a version per group).
// A dropped object is deleted from R2 after the transaction that drops it, never
// while this instance reads or writes it (one object, one instance: every reader),
// never while a branch holds it; one another database owns is released to it instead.
//
// Branches (durable-object/branch.js) share objects: the new database's manifest
// names its parent's objects, the pages R2 does not hold as of the branch point are
// copied, and each object's owner records the branch as a holder before the branch
// exists. Objects are immutable, so sharing one needs no other coordination.

import { answersEveryName, hasMethods } from '../bindings.js';
import { checkKeys } from '../option-keys.js';
import { FAULT, StorageError } from '../wasm/host.js';
import { ColdObjects } from './cold-objects.js';
import { ColdManifest, byOwner } from './cold-manifest.js';
import { DEFAULT_HOT_BYTES, DEFAULT_GROUP_PAGES, MAX_GROUP_PAGES, MIN_HOT_BYTES } from '../config.js';

/** No cap that matters: promoted pages land in the hot tier, not in memory, so a
 *  scan of any size takes about log2(pages) faults. */
const MAX_READ_AHEAD = 1 << 24;
const DEMOTE_BATCH = 16; // groups per round (one hold of the gate, one transaction)
/** Objects up- or downloaded at once, by count and by bytes (large groups go one at a time). */
const TRANSFER_CONCURRENCY = 8;
const TRANSFER_BYTES = 16 * 1024 * 1024;
const COLLECT_BATCH = 1000; // garbage objects deleted per round

/** What a page is as of a branch point: in R2's object for its group (the branch shares it). */
export const SHARED = Symbol('in a shared R2 object');

/**
 * @typedef {object} ColdSettings
 * @property {any} bucket  an R2 bucket binding
 * @property {number} [hotBytes]  the hot tier's budget
 * @property {number} [groupPages]  pages per R2 object (fixed by a database's first use)
 * @property {string} [prefix]  start of the object names (one per database)
 * @property {Peers} [peers]  the other databases of the namespace (branches share objects with them)
 */

/**
 * How a database reaches the others that share its objects (durable-object/branch.js).
 * @typedef {object} Peers
 * @property {string} self  this database's id: what its objects' owners know it by
 * @property {(owner: string, objects: string[]) => Promise<void>} release  tell owner
 *   this database no longer reads its objects
 */

/** @typedef {import('./cold-manifest.js').ManifestEntry} ManifestEntry */
/** @typedef {import('./cold-manifest.js').ManifestChanges} ManifestChanges */

/** A group of a branch's manifest: its entry as the parent has it, the owner always named.
 *  @typedef {{group: number, object: string, pages: number, sha256: string, owner: string}} SharedGroup */

/**
 * One group's way to R2: the entry it replaces, the group's version and the epoch
 * when planned; reuse: the entry's object already holds these pages, else name is
 * the new object; stale: a commit changed the group meanwhile.
 * @typedef {{group: number, entry: ManifestEntry | undefined, version: number, epoch: number, pages: number,
 *   reuse: boolean, name?: string, sha256?: string, stale?: boolean, lost?: StorageError}} Demotion
 */

export class TieredPageStorage {
  /** @type {import('./sql.js').SqlPageStorage} */
  #hot;
  #cold;
  /** @type {ColdManifest} */
  #manifest;
  #budget;
  #groupPages = 0;
  /** @type {(...args: unknown[]) => void} */
  #log;
  /** @type {Peers | undefined} */
  #peers;
  #pageSize = 0;
  #pageCount = 0;
  #committed = false;
  /** The manifest's entries (#manifest.groups). @type {Map<number, ManifestEntry>} */
  #groups;
  /** Group → which of its pages are hot; least recently used first. @type {Map<number, Uint8Array>} */
  #resident = new Map();
  #residentPages = 0;
  /** Group → changes of its pages since start. @type {Map<number, number>} */
  #versions = new Map();
  /** Objects being read or written now → by how many: never collected. @type {Map<string, number>} */
  #inUse = new Map();
  /** @type {Promise<void> | null} */
  #maintenance = null;
  /** Bumped when an import replaces the database: every plan made before is void. */
  #epoch = 0;
  #counts = { hotReads: 0, coldReads: 0, promotedGroups: 0, demotedGroups: 0 };
  /** Cold groups an export of a past point downloaded for the chunk it reads (readForExportAt). @type {Map<number, Uint8Array[]>} */
  #exportGroups = new Map();
  maxReadAhead = MAX_READ_AHEAD;

  /** One group, so a point read costs one download; the neighbours come with the
   *  request's next fault. */
  get readAhead() {
    return this.#groupPages;
  }

  /** @param {import('./sql.js').SqlPageStorage} hot @param {ColdSettings & {log?: (...args: unknown[]) => void}} settings  checked (checkCold) */
  constructor(hot, { bucket, hotBytes = DEFAULT_HOT_BYTES, groupPages = DEFAULT_GROUP_PAGES, prefix = 'dosql/', peers, log = console.warn }) {
    this.#hot = hot;
    this.#cold = new ColdObjects(bucket, prefix);
    this.#budget = hotBytes;
    this.#peers = peers;
    this.#log = log;
    this.#manifest = new ColdManifest(hot, groupPages);
    this.#groups = this.#manifest.groups;
    this.#load();
    if (this.#groupPages !== groupPages) {
      log(`the cold tier keeps groups of ${this.#groupPages} pages, as when it was first used; groupPages: ${groupPages} is ignored`);
    }
  }

  /** Everything read from storage (at start; after the database was replaced, the manifest again). */
  #load() {
    this.#groupPages = this.#manifest.groupPages;
    this.#resident.clear();
    this.#residentPages = 0;
    this.#committed = false;
    this.#hot.eachPageNumber((pgno) => this.#mark(pgno));
    // No use is known yet, so order by page number, but every open reads page 1
    // and the schema: keep their group last to go.
    const schema = this.#resident.get(0);
    if (schema) {
      this.#resident.delete(0);
      this.#resident.set(0, schema);
    }
    this.#pageSize = this.#hot.storedPageSize();
  }

  /** Whether the hot tier holds pgno. @param {number} pgno */
  #isResident(pgno) {
    const group = this.#groupOf(pgno);
    return this.#resident.get(group)?.[pgno - this.#firstOf(group)] === 1;
  }

  /** Rows the hot tier read from storage so far (host.js StorageAdapter). */
  get rowsRead() {
    return this.#hot.rowsRead;
  }

  /** @param {number} pgno @returns {Uint8Array | null | typeof FAULT}  FAULT: only in R2 */
  readPage(pgno) {
    const group = this.#groupOf(pgno);
    const index = pgno - this.#firstOf(group);
    const flags = this.#resident.get(group);
    if (flags?.[index]) {
      this.#resident.delete(group); // most recently used goes last
      this.#resident.set(group, flags);
      this.#counts.hotReads++;
      return this.#hot.readPage(pgno);
    }
    return this.#coldRead(pgno);
  }

  /** FAULT when pgno is in R2, else null. @param {number} pgno */
  #coldRead(pgno) {
    if (!this.#inCold(pgno)) return null;
    this.#counts.coldReads++;
    return FAULT;
  }

  /** Whether an R2 object holds pgno. @param {number} pgno */
  #inCold(pgno) {
    const group = this.#groupOf(pgno);
    const entry = this.#groups.get(group);
    return entry !== undefined && pgno - this.#firstOf(group) < entry.pages;
  }

  // History is the hot tier's (storage/sql.js); a past page it does not hold is the one in R2.

  /** @param {'lsn' | 'time'} kind @param {number} value */
  historyPoint(kind, value) {
    return this.#hot.historyPoint(kind, value);
  }

  /** After each request. */
  settle() {
    this.#hot.settle();
  }

  /** @param {number} lsn @param {number} pgno */
  readPageAt(lsn, pgno) {
    return this.#hot.readPageAt(lsn, pgno, this.#pastFallback);
  }

  /** A past page history does not hold: the present one, from what an export downloaded
   *  or else from R2 (a fault). One function, so the hot tier's view of a point can be
   *  kept for every read of it (it forgets its views at every write). @param {number} pgno */
  #pastFallback = (pgno) => {
    const group = this.#groupOf(pgno);
    return this.#exportGroups.get(group)?.[pgno - this.#firstOf(group)] ?? this.#coldRead(pgno);
  };

  changeNumbers() {
    return this.#hot.changeNumbers();
  }

  /** @param {import('../wasm/host.js').ChangeNumbers} numbers */
  renumberChanges(numbers) {
    this.#hot.renumberChanges(numbers);
  }

  historyInfo() {
    return this.#hot.historyInfo();
  }

  /** @param {number} lsn */
  restoreBatch(lsn) {
    return this.#hot.restoreBatch(lsn, (p) => this.readPage(p), (p) => this.#coldRead(p));
  }

  /**
   * Write a commit batch to the hot tier with the manifest changes it causes (groups
   * written into become dirty; a shrink trims or drops groups), in one transaction.
   * @param {import('../wasm/host.js').CommitBatch} batch @param {() => void} [alongside]  more writes of its transaction
   */
  commit(batch, alongside) {
    const { pageSize, oldPageCount, newPageCount, pages } = batch;
    const dirtied = new Set();
    for (const { pgno } of pages) {
      const group = this.#groupOf(pgno);
      if (this.#groups.get(group)?.dirty === false) dirtied.add(group);
    }
    // On a first commit too: a crash between a commit and the truncation after
    // it (vfs.c) can leave groups past the end.
    const trims = newPageCount < oldPageCount || !this.#committed ? this.#trimsTo(newPageCount) : [];
    // A page written while only R2 holds it (SQLite's own cache kept it after a
    // demotion): the version it replaces is in no table history reads.
    const overCold = pages.some(({ pgno }) => !this.#isResident(pgno) && this.#inCold(pgno));
    /** @type {ManifestChanges} */
    const changes = new Map();
    for (const group of dirtied) changes.set(group, { .../** @type {ManifestEntry} */ (this.#groups.get(group)), dirty: true });
    // A group this commit both writes and cuts short stays dirty: its R2 object is old.
    for (const { group, pages: kept, entry } of trims) changes.set(group, kept > 0 ? { ...(changes.get(group) ?? entry), pages: kept } : null);
    const dropped = trims.filter((trim) => trim.pages === 0);
    const now = Date.now();
    this.#hot.commit(batch, () => {
      // Versions only R2 held are not history (R2 objects are replaced and deleted):
      // no point before this commit can be read.
      if (trims.length > 0 || overCold) this.#hot.raiseHistoryFloor(this.#hot.lsn);
      if (changes.size > 0) this.#manifest.write(changes);
      for (const { entry } of dropped) this.#manifest.addGarbage(entry.object, now, entry.owner);
      alongside?.();
    });
    this.#manifest.apply(changes);
    for (const { group } of trims) this.#bump(group);
    if (dropped.length > 0) this.#manifest.countGarbage();
    for (const { pgno } of pages) {
      this.#mark(pgno);
      this.#bump(this.#groupOf(pgno));
    }
    // The hot tier dropped its pages above the end (on a first commit, strays too).
    if (newPageCount < oldPageCount || !this.#committed) this.#unmarkAbove(newPageCount);
    this.#committed = true;
    this.#pageSize = pageSize;
    this.#pageCount = newPageCount;
  }

  /**
   * Download and promote the cold groups holding pgnos and those within `window`
   * pages of them. Throws StorageError when R2 fails (earlier groups stay promoted).
   * @param {number[]} pgnos @param {number} window
   */
  async prefetch(pgnos, window) {
    /** @type {Set<number>} named groups first, then their neighbours, nearest first */
    const wanted = new Set();
    for (const pgno of pgnos) this.#wantCold(this.#groupOf(pgno), wanted);
    const distance = (/** @type {number} */ group) => Math.min(...pgnos.map((pgno) => Math.abs(this.#groupOf(pgno) - group)));
    const near = [...this.#groups.keys()].filter((group) => distance(group) * this.#groupPages < window);
    for (const group of near.sort((a, b) => distance(a) - distance(b))) this.#wantCold(group, wanted);
    await eachLimited([...wanted], this.#transfers(), async (group) => {
      const entry = /** @type {ManifestEntry} */ (this.#groups.get(group));
      const { pages } = await this.#download(group, entry);
      this.#promote(group, entry, pages);
    });
  }

  /**
   * Bring the hot tier within its budget, then delete unreferenced R2 objects. One
   * run at a time (a second caller shares it); each round's swap holds the gate.
   * Throws StorageError when R2 fails; nothing is lost, a later run goes on.
   * @param {() => Promise<() => void>} hold  the gate's hold(): resolves to its release
   * @returns {Promise<void>}
   */
  maintain(hold) {
    if (this.#hotBytes() <= this.#budget && this.#manifest.collectable === 0) return Promise.resolve();
    this.#maintenance ??= this.#maintain(hold).finally(() => {
      this.#maintenance = null;
    });
    return this.#maintenance;
  }

  // ---- export and import ----------------------------------------------------

  /** An export reads whole groups at a time. */
  get groupPages() {
    return this.#groupPages;
  }

  /**
   * Pages first..last for an export, promoting nothing (each cold group downloaded
   * once per call). The caller holds the gate, so nothing moves meanwhile.
   * @param {number} first @param {number} last
   * @returns {Promise<(Uint8Array | null)[]>}  null for a page neither tier has
   */
  async readForExport(first, last) {
    /** @type {Map<number, Uint8Array[]>} */
    const downloaded = new Map();
    const pages = [];
    for (let pgno = first; pgno <= last; pgno++) {
      const group = this.#groupOf(pgno);
      const index = pgno - this.#firstOf(group);
      const entry = this.#groups.get(group);
      if (this.#resident.get(group)?.[index]) {
        pages.push(this.#hot.readPage(pgno));
      } else if (entry && index < entry.pages) {
        if (!downloaded.has(group)) downloaded.set(group, (await this.#download(group, entry)).pages);
        pages.push(/** @type {Uint8Array[]} */ (downloaded.get(group))[index]);
      } else {
        pages.push(null);
      }
    }
    return pages;
  }

  /**
   * Pages first..last as of lsn for an export, promoting nothing, as readForExport: a
   * page history does not hold is the present one, read from its group's object
   * (downloaded once per call). The caller holds the gate.
   * @param {number} lsn @param {number} first @param {number} last
   * @returns {Promise<(Uint8Array | null)[]>}
   */
  async readForExportAt(lsn, first, last) {
    const pgnos = Array.from({ length: last - first + 1 }, (_, i) => first + i);
    const pages = pgnos.map((pgno) => this.readPageAt(lsn, pgno));
    const groups = new Set(pgnos.filter((_, i) => pages[i] === FAULT).map((pgno) => this.#groupOf(pgno)));
    try {
      for (const group of groups) this.#exportGroups.set(group, (await this.#download(group, /** @type {ManifestEntry} */ (this.#groups.get(group)))).pages);
      return pages.map((page, i) => /** @type {Uint8Array | null} */ (page === FAULT ? this.readPageAt(lsn, pgnos[i]) : page));
    } finally {
      this.#exportGroups.clear();
    }
  }

  /** The hot tier stages an import whole, beside the live pages. */
  get maxImportBytes() {
    return this.#hot.maxImportBytes;
  }

  stageImport() {
    return this.#hot.stageImport();
  }

  /** @param {import('./sql.js').SqlPageStorage} staged */
  discardImport(staged) {
    this.#hot.discardImport(staged);
  }

  /** Make the staged pages the database (all hot) and every old R2 object garbage, in one transaction.
   *  @param {import('./sql.js').SqlPageStorage} staged */
  replaceWith(staged) {
    this.#replace(staged, new Map(), this.#groupPages);
  }

  /**
   * staged's pages and these manifest entries become the database in one transaction;
   * every object of the old one is garbage.
   * @param {import('./sql.js').SqlPageStorage} staged @param {Map<number, ManifestEntry>} entries @param {number} groupPages
   */
  #replace(staged, entries, groupPages) {
    const now = Date.now();
    const own = [...entries.values()].filter((entry) => entry.owner === null).map((entry) => entry.object);
    this.#hot.replaceWith(staged, () => {
      for (const { object, owner } of this.#groups.values()) this.#manifest.addGarbage(object, now, owner);
      // Its own objects, back from a branch of a branch: its own again, not garbage.
      if (own.length > 0) this.#manifest.dropGarbage(own);
      this.#manifest.writeAll(entries, groupPages);
    });
    this.#epoch++;
    this.#manifest.load();
    this.#load();
  }

  // ---- branches (durable-object/branch.js) ---------------------------------------

  /**
   * The R2 objects a branch of the first pageCount pages shares, each with its
   * owner; kept in use (never collected) until the returned done() is called.
   * @param {number} pageCount @returns {{groups: SharedGroup[], done: () => void}}
   */
  shareGroups(pageCount) {
    const self = this.id;
    /** @type {SharedGroup[]} */
    const groups = [];
    for (const [group, entry] of this.#groups) {
      const pages = Math.min(entry.pages, pageCount - this.#firstOf(group) + 1);
      if (pages > 0) groups.push({ group, object: entry.object, pages, sha256: entry.sha256, owner: entry.owner ?? self });
    }
    return { groups, done: this.reading(groups.map(({ object }) => object)) };
  }

  /**
   * Keep objects in use (never collected, and counted by stillReads()) until the
   * returned done() is called: a branch shared or adopted reads them before, or
   * without, its manifest naming them. @param {string[]} objects @returns {() => void}
   */
  reading(objects) {
    objects.forEach((object) => this.#use(object));
    return () => objects.forEach((object) => this.#release(object));
  }

  /**
   * A branch's reader of the database as of lsn: a page's bytes, null for none, or
   * SHARED when its group's object holds it then. The caller holds the gate.
   * @param {number} lsn @returns {(pgno: number) => Uint8Array | null | typeof SHARED}
   */
  branchReader(lsn) {
    if (lsn !== this.#hot.lsn) {
      const view = this.#hot.historyView(lsn, (pgno) => (this.#inCold(pgno) ? SHARED : null));
      return (pgno) => /** @type {Uint8Array | null | typeof SHARED} */ (view.readPage(pgno));
    }
    return (pgno) => {
      const group = this.#groupOf(pgno);
      const entry = this.#groups.get(group);
      // A clean group's hot pages are its object's: no need to copy them.
      if (entry && !entry.dirty && pgno - this.#firstOf(group) < entry.pages) return SHARED;
      if (this.#isResident(pgno)) return this.#hot.readPage(pgno);
      return this.#inCold(pgno) ? SHARED : null;
    };
  }

  /**
   * Owner's side: holder (a branch) reads these objects of this database; garbage
   * among them is kept until it releases them. Throws when one is not this database's.
   * @param {string} holder @param {string[]} objects
   */
  hold(holder, objects) {
    if (holder === this.id) return; // a database that adopts its own objects back holds them as its own
    if (!this.#manifest.owns(objects)) {
      throw new StorageError('COLD_TIER_CORRUPT', 'the cold tier lost data: a branch would share objects that are not this database\'s');
    }
    this.#manifest.hold(holder, objects);
  }

  /**
   * Owner's side: holder no longer reads these objects. Only holder's own word counts
   * (stillReads(), asked of it by the caller): anyone may call this.
   * @param {string} holder @param {string[]} objects
   */
  release(holder, objects) {
    this.#manifest.release(holder, objects);
  }

  /**
   * Owner's side, asked by a branch that is sent these objects: whether they are this
   * database's and kept for holder (recorded by hold(), or holder is this database).
   * @param {string} holder @param {string[]} objects
   */
  keepsFor(holder, objects) {
    return holder === this.id ? this.#manifest.owns(objects) : this.#manifest.holds(holder, objects);
  }

  /**
   * Holder's side, asked by owner before it lets objects go: those of them this
   * database still reads (its manifest names them as owner's, or they are in use).
   * Needs no gate: a holder may be waiting on owner while holding its own.
   * @param {string} owner @param {string[]} objects @returns {string[]}
   */
  stillReads(owner, objects) {
    const named = new Set([...this.#groups.values()].filter((entry) => (entry.owner ?? this.id) === owner).map((entry) => entry.object));
    return objects.filter((object) => named.has(object) || this.#inUse.has(object));
  }

  /**
   * A shared object R2 does not have as its entry names it (one HEAD each, no
   * download), or null: a branch's check of what it is sent, and its parent's of its
   * own when the branch refused them. @param {SharedGroup[]} groups @param {number} pageSize
   * @returns {Promise<string | null>}
   */
  async unmatched(groups, pageSize) {
    /** @type {string | null} */
    let first = null;
    await eachLimited(groups, TRANSFER_CONCURRENCY, async (group) => {
      if (first === null && !(await this.#cold.matches(group, pageSize))) first = group.object;
    });
    return first;
  }

  /**
   * Make a branch's pages the database: staged's (all hot) over the parent's shared
   * objects, in one transaction; every old object becomes garbage. A group with a page
   * of its own here is dirty: its object no longer holds all its pages.
   * @param {import('./sql.js').SqlPageStorage} staged
   * @param {{groupPages: number, groups: SharedGroup[]}} shared
   * @returns {number}  the pages read from shared objects (those staged does not override)
   */
  adopt(staged, { groupPages, groups }) {
    const self = this.id;
    const written = new Set();
    staged.eachPageNumber((pgno) => written.add(Math.floor((pgno - 1) / groupPages)));
    /** @type {Map<number, ManifestEntry>} */
    const entries = new Map();
    for (const { group, object, pages, sha256, owner } of groups) {
      entries.set(group, { object, pages, sha256, dirty: written.has(group), owner: owner === self ? null : owner });
    }
    this.#replace(staged, entries, groupPages);
    let shared = 0;
    for (const [group, { pages }] of this.#groups) shared += pages - count(this.#resident.get(group)?.subarray(0, pages) ?? new Uint8Array(0));
    return shared;
  }

  /** This database's id, which its branches record as its objects' owner. */
  get id() {
    if (!this.#peers) throw new Error('cold tier: sharing objects with a branch needs the namespace binding of this class');
    return this.#peers.self;
  }

  /** For /stats: the hot tier's billed rows, R2's operations, where reads were served. */
  get stats() {
    let coldPages = 0;
    for (const entry of this.#groups.values()) coldPages += entry.pages;
    const reads = this.#counts.hotReads + this.#counts.coldReads;
    return {
      ...this.#hot.stats,
      ...this.#cold.stats,
      ...this.#counts,
      pageSize: this.#pageSize,
      pageCount: this.#pageCount,
      hotBytes: this.#hotBytes(),
      hotBudgetBytes: this.#budget,
      coldBytes: coldPages * this.#pageSize,
      coldGroups: this.#groups.size,
      sharedGroups: [...this.#groups.values()].filter((entry) => entry.owner !== null).length,
      heldObjects: this.#manifest.held,
      groupPages: this.#groupPages,
      garbageObjects: this.#manifest.collectable,
      hitRate: reads === 0 ? 1 : this.#counts.hotReads / reads,
    };
  }

  // ---- demotion and garbage ------------------------------------------------

  /** @param {() => Promise<() => void>} hold */
  async #maintain(hold) {
    /** @type {StorageError | undefined} */
    let lost;
    while (this.#hotBytes() > this.#budget) {
      const demoted = await this.#demote(this.#victims(), hold);
      lost ??= demoted.lost;
      if (demoted.moved === 0) break; // every chosen group changed under us, or its object is lost: leave it
    }
    while (this.#manifest.collectable > 0) {
      if ((await this.#collect()) === 0) break;
    }
    if (lost) throw lost;
  }

  /** The least recently used groups whose demotion brings the hot tier nearest its budget. */
  #victims() {
    const victims = [];
    let excess = this.#hotBytes() - this.#budget;
    for (const [group, flags] of this.#resident) {
      if (excess <= 0 || victims.length === DEMOTE_BATCH) break;
      victims.push(group);
      excess -= count(flags) * this.#pageSize;
    }
    return victims;
  }

  /**
   * Upload the groups whose object would not hold their pages, then, holding the
   * gate, record them and delete them from the hot tier.
   * @param {number[]} groups @param {() => Promise<() => void>} hold
   * @returns {Promise<{moved: number, lost?: StorageError}>}  how many groups left the hot tier;
   *   lost: why a group whose old object is lost (COLD_TIER_CORRUPT) stayed, while the others moved
   */
  async #demote(groups, hold) {
    /** @type {Demotion[]} */
    const plans = groups.map((group) => {
      const entry = this.#groups.get(group);
      const pages = Math.max(entry?.pages ?? 0, lastIndex(this.#resident.get(group)) + 1);
      const reuse = entry !== undefined && !entry.dirty && pages <= entry.pages;
      return { group, entry, version: this.#versions.get(group) ?? 0, epoch: this.#epoch, pages, reuse };
    });
    const uploads = plans.filter((plan) => !plan.reuse);
    for (const plan of uploads) plan.name = this.#cold.newName(plan.group);
    const names = uploads.map((plan) => /** @type {string} */ (plan.name));
    names.forEach((name) => this.#use(name));
    try {
      // Recorded as garbage before it exists: an upload a crash orphans is collected.
      const now = Date.now();
      if (names.length) this.#hot.transaction(() => names.forEach((name) => this.#manifest.addGarbage(name, now, null)));
      this.#manifest.countGarbage();
      await eachLimited(uploads, this.#transfers(), (plan) => this.#upload(plan));
      const release = await hold();
      try {
        return { moved: this.#record(plans), lost: plans.find((plan) => plan.lost)?.lost };
      } finally {
        release();
      }
    } finally {
      names.forEach((name) => this.#release(name));
    }
  }

  /** Build a group's new object from the hot tier (and its old object for pages not there) and upload it. @param {Demotion} plan */
  async #upload(plan) {
    const first = this.#firstOf(plan.group);
    const needsOld = plan.entry && !allSet(this.#resident.get(plan.group), plan.pages);
    /** @type {Uint8Array[]} */
    let old = [];
    if (needsOld) {
      try {
        old = (await this.#download(plan.group, /** @type {ManifestEntry} */ (plan.entry))).pages;
      } catch (err) {
        // Its object is lost: the group stays hot (its lost pages unread), the others move.
        if (!(err instanceof StorageError && err.code === 'COLD_TIER_CORRUPT')) throw err;
        plan.stale = true;
        plan.lost = err;
        return;
      }
    }
    if (this.#changed(plan)) {
      plan.stale = true;
      return;
    }
    const flags = this.#resident.get(plan.group);
    const pages = [];
    for (let i = 0; i < plan.pages; i++) {
      if (!flags?.[i]) {
        // A page SQLite never wrote (the one holding byte 2^30, kept for locks)
        // is zeros, as the VFS reads every missing page.
        pages.push(old[i] ?? new Uint8Array(this.#pageSize));
        continue;
      }
      const page = this.#hot.readPage(first + i);
      if (!(page instanceof Uint8Array)) throw new Error(`cold tier: page ${first + i} is marked hot but the hot tier lacks it`);
      pages.push(page);
    }
    plan.sha256 = await this.#cold.put(/** @type {string} */ (plan.name), this.#pageSize, first, pages);
  }

  /**
   * Inside the gate, in one transaction: record each group nothing changed meanwhile
   * and delete its pages from the hot tier; how many moved.
   * @param {Demotion[]} plans
   */
  #record(plans) {
    const ready = plans.filter((plan) => !plan.stale && !this.#changed(plan));
    const uploaded = ready.filter((plan) => !plan.reuse);
    /** @type {ManifestChanges} */
    const changes = new Map();
    for (const plan of uploaded) {
      changes.set(plan.group, { object: /** @type {string} */ (plan.name), pages: plan.pages, sha256: /** @type {string} */ (plan.sha256), dirty: false, owner: null });
    }
    const now = Date.now();
    this.#hot.transaction(() => {
      this.#manifest.write(changes);
      if (uploaded.length > 0) this.#manifest.dropGarbage(uploaded.map((plan) => /** @type {string} */ (plan.name)));
      for (const { entry } of uploaded) if (entry) this.#manifest.addGarbage(entry.object, now, entry.owner);
      for (const { group } of ready) this.#hot.deletePages(this.#firstOf(group), this.#firstOf(group) + this.#groupPages - 1);
    });
    this.#manifest.apply(changes);
    for (const { group } of ready) {
      this.#residentPages -= count(/** @type {Uint8Array} */ (this.#resident.get(group)));
      this.#resident.delete(group);
    }
    this.#manifest.countGarbage();
    this.#counts.demotedGroups += ready.length;
    return ready.length;
  }

  /**
   * Delete one batch of unreferenced objects (none in use, none a branch holds) from
   * R2, or release them to their owners, then forget them; how many.
   */
  async #collect() {
    const found = this.#manifest.collectableGarbage(COLLECT_BATCH).filter(({ object }) => !this.#inUse.has(object));
    if (found.length === 0) return 0;
    for (const [owner, objects] of byOwner(found)) {
      if (owner === null) {
        await this.#cold.delete(objects);
      } else {
        if (!this.#peers) throw new Error(`cold tier: ${objects.length} objects belong to database ${owner}, but this one cannot reach it (no namespace binding)`);
        await this.#peers.release(owner, objects);
      }
      this.#hot.transaction(() => this.#manifest.dropGarbage(objects));
    }
    this.#manifest.countGarbage();
    return found.length;
  }

  // ---- promotion -------------------------------------------------------------

  /** @param {number} group @param {ManifestEntry} entry */
  async #download(group, entry) {
    this.#use(entry.object);
    try {
      return await this.#cold.get({ ...entry, firstPgno: this.#firstOf(group) });
    } finally {
      this.#release(entry.object);
    }
  }

  /** @param {string} object */
  #use(object) {
    this.#inUse.set(object, (this.#inUse.get(object) ?? 0) + 1);
  }

  /** @param {string} object */
  #release(object) {
    const users = (this.#inUse.get(object) ?? 1) - 1;
    if (users === 0) this.#inUse.delete(object);
    else this.#inUse.set(object, users);
  }

  #transfers() {
    const groupBytes = this.#groupPages * (this.#pageSize || 4096);
    return Math.max(1, Math.min(TRANSFER_CONCURRENCY, Math.floor(TRANSFER_BYTES / groupBytes)));
  }

  /**
   * Write a downloaded group's pages the hot tier lacks into it. The manifest entry
   * stays, so demoting the group again costs no upload while no commit writes into it.
   * @param {number} group @param {ManifestEntry} entry  the one downloaded @param {Uint8Array[]} pages
   */
  #promote(group, entry, pages) {
    const current = this.#groups.get(group);
    // Replaced or dropped while downloading: a later fault fetches the new one.
    if (current?.object !== entry.object) return;
    const flags = this.#resident.get(group);
    const first = this.#firstOf(group);
    const missing = [];
    for (let i = 0; i < current.pages; i++) {
      if (!flags?.[i]) missing.push({ pgno: first + i, data: pages[i] });
    }
    this.#hot.transaction(() => this.#hot.putPages(missing));
    for (const { pgno } of missing) this.#mark(pgno);
    this.#counts.promotedGroups++;
  }

  /** Add group to wanted if it has pages only R2 holds. @param {number} group @param {Set<number>} wanted */
  #wantCold(group, wanted) {
    const entry = this.#groups.get(group);
    if (entry && !allSet(this.#resident.get(group), entry.pages)) wanted.add(group);
  }

  // ---- bookkeeping -------------------------------------------------------------

  /** The manifest changes a shrink to newPageCount pages causes. @param {number} newPageCount */
  #trimsTo(newPageCount) {
    const trims = [];
    for (const [group, entry] of this.#groups) {
      const first = this.#firstOf(group);
      if (first + entry.pages - 1 > newPageCount) trims.push({ group, entry, pages: Math.max(0, newPageCount - first + 1) });
    }
    return trims;
  }

  /** @param {number} newPageCount */
  #unmarkAbove(newPageCount) {
    for (const [group, flags] of this.#resident) {
      const first = this.#firstOf(group);
      if (first + flags.length - 1 <= newPageCount) continue;
      for (let i = Math.max(0, newPageCount - first + 1); i < flags.length; i++) {
        if (flags[i]) {
          flags[i] = 0;
          this.#residentPages--;
        }
      }
      if (count(flags) === 0) this.#resident.delete(group);
      this.#bump(group);
    }
  }

  /** Page pgno is hot, its group most recently used. @param {number} pgno */
  #mark(pgno) {
    const group = this.#groupOf(pgno);
    const flags = this.#resident.get(group) ?? new Uint8Array(this.#groupPages);
    this.#resident.delete(group);
    this.#resident.set(group, flags);
    const index = pgno - this.#firstOf(group);
    if (!flags[index]) {
      flags[index] = 1;
      this.#residentPages++;
    }
  }

  /** @param {number} group */
  #bump(group) {
    this.#versions.set(group, (this.#versions.get(group) ?? 0) + 1);
  }

  /** @param {Demotion} plan */
  #changed(plan) {
    return plan.epoch !== this.#epoch || (this.#versions.get(plan.group) ?? 0) !== plan.version || this.#groups.get(plan.group) !== plan.entry;
  }

  #hotBytes() {
    return this.#residentPages * this.#pageSize;
  }

  /** @param {number} pgno */
  #groupOf(pgno) {
    return Math.floor((pgno - 1) / this.#groupPages);
  }

  /** @param {number} group */
  #firstOf(group) {
    return group * this.#groupPages + 1;
  }

  /** What the engine found at open (never used to answer a read). @param {{pageSize: number, pageCount: number}} size */
  sized({ pageSize, pageCount }) {
    this.#pageSize = pageSize || this.#pageSize;
    this.#pageCount = pageCount;
  }
}

/** The R2 bucket's methods the cold tier calls (cold-objects.js). */
const R2_METHODS = ['get', 'put', 'delete', 'head'];

/** Cold tier settings, checked; undefined for none. @param {unknown} value @returns {ColdSettings | undefined} */
export function checkCold(value) {
  if (value === undefined || value === null || value === false) return undefined;
  if (typeof value !== 'object') throw new TypeError('cold must be {bucket, hotBytes?, groupPages?, prefix?}');
  checkKeys(value, ['bucket', 'hotBytes', 'groupPages', 'prefix'], 'cold');
  const { bucket, hotBytes = DEFAULT_HOT_BYTES, groupPages = DEFAULT_GROUP_PAGES, prefix } = /** @type {any} */ (value);
  // Every method the cold tier calls: a KV namespace has all but head(), and took
  // the pages it was given, which no R2 read could then get back; a service binding
  // has them all, and would have sent the pages to another Worker.
  if (!hasMethods(bucket, R2_METHODS)) {
    const missing = R2_METHODS.find((method) => typeof bucket?.[method] !== 'function');
    const which = answersEveryName(bucket) ? ': this one is a service binding (another Worker)' : typeof bucket === 'object' && bucket && missing ? `: this one has no ${missing}() (a KV namespace?)` : '';
    throw new TypeError(`cold.bucket must be an R2 bucket binding (add [[r2_buckets]] to the wrangler config)${which}`);
  }
  if (!Number.isSafeInteger(hotBytes) || hotBytes < MIN_HOT_BYTES) {
    throw new TypeError(`cold.hotBytes must be a whole number of bytes, at least ${MIN_HOT_BYTES}; got ${JSON.stringify(hotBytes)}`);
  }
  if (!Number.isInteger(groupPages) || groupPages < 1 || groupPages > MAX_GROUP_PAGES) {
    throw new TypeError(`cold.groupPages must be a whole number from 1 to ${MAX_GROUP_PAGES}; got ${JSON.stringify(groupPages)}`);
  }
  if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError('cold.prefix must be a string');
  return { bucket, hotBytes, groupPages, prefix };
}

/** @param {Uint8Array} flags */
function count(flags) {
  let n = 0;
  for (const flag of flags) n += flag;
  return n;
}

/** The index of the last set flag, -1 if none. @param {Uint8Array | undefined} flags */
function lastIndex(flags) {
  if (!flags) return -1;
  for (let i = flags.length - 1; i >= 0; i--) if (flags[i]) return i;
  return -1;
}

/** Whether flags 0..n-1 are all set. @param {Uint8Array | undefined} flags @param {number} n */
function allSet(flags, n) {
  if (!flags) return n === 0;
  for (let i = 0; i < n; i++) if (!flags[i]) return false;
  return true;
}

/**
 * Run fn over items, at most `limit` at once; rejects with the first failure once
 * every started call has settled.
 * @template T @param {T[]} items @param {number} limit @param {(item: T) => Promise<void>} fn
 */
async function eachLimited(items, limit, fn) {
  let next = 0;
  /** @type {unknown[]} */
  const failures = [];
  const worker = async () => {
    while (next < items.length && failures.length === 0) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length) throw failures[0];
}
