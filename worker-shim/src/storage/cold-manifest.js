// storage/cold-manifest.js — the cold tier's tables: which R2 object holds each group,
// which objects are to be deleted, and which branches hold this database's objects.
// Every write happens inside the caller's transaction (storage/tiered.js), beside
// the pages it describes; memory follows once that transaction has committed.
//
//   dosql_cold_manifest  MANIFEST_CHUNK_GROUPS groups a row: a JSON array of
//                        [group, object, pages, sha256, dirty, owner] (owner: null
//                        for this database's objects, else the id of the database
//                        that made it and deletes it), so that a large database's
//                        manifest is read, and a branch's written, in few rows
//   dosql_cold_garbage   objects to delete (or, another's, to release to it), with
//                        `held` while a branch reads one of this database's
//   dosql_cold_holds     the names of the objects of this database each branch holds,
//                        HOLD_PART_OBJECTS a row
//   dosql_cold_settings  group_pages, fixed by the database's first use
//
// Earlier releases kept the manifest a row per group in dosql_cold_groups, in two shapes
// (UPGRADE below lists every table any of them wrote). Their tables are upgraded at the
// first open, in one transaction, by the columns each has; `dosql_cold_settings.value`
// becomes `amount`, so such a release, rolled back to, fails to open the database
// instead of taking its manifest for empty.

import { HOLD_PART_OBJECTS, MANIFEST_CHUNK_GROUPS } from '../config.js';

const CREATE = [
  'CREATE TABLE IF NOT EXISTS dosql_cold_garbage (object TEXT PRIMARY KEY, queued INTEGER NOT NULL, owner TEXT, held INTEGER NOT NULL DEFAULT 0)',
  'CREATE TABLE IF NOT EXISTS dosql_cold_settings (name TEXT PRIMARY KEY, amount INTEGER NOT NULL)',
  'CREATE TABLE IF NOT EXISTS dosql_cold_holds (holder TEXT NOT NULL, part INTEGER NOT NULL, objects TEXT NOT NULL, PRIMARY KEY (holder, part)) WITHOUT ROWID',
  // Last: once it is there, every table is as this release writes it.
  'CREATE TABLE IF NOT EXISTS dosql_cold_manifest (chunk INTEGER PRIMARY KEY, entries TEXT NOT NULL)',
];
/**
 * The tables of earlier releases, and what brings each column up to date. Releases
 * before branches shared objects (before 7aa650e) wrote
 *   dosql_cold_groups   (grp, object, pages, sha256, dirty)
 *   dosql_cold_garbage  (object, since)
 *   dosql_cold_settings (name, value)
 * and releases whose branches shared objects (7aa650e..a8ed6ec) added `owner` to
 * the first two, renamed `since` to `queued`, and wrote
 *   dosql_cold_holds    (object, holder): a row per object a branch reads.
 * [table, column, statement when the column is there | when it is missing]
 * @type {[string, string, string | null, string | null][]}
 */
const UPGRADE = [
  ['dosql_cold_garbage', 'since', 'ALTER TABLE dosql_cold_garbage RENAME COLUMN since TO queued', null],
  ['dosql_cold_garbage', 'owner', null, 'ALTER TABLE dosql_cold_garbage ADD COLUMN owner TEXT'],
  ['dosql_cold_garbage', 'held', null, 'ALTER TABLE dosql_cold_garbage ADD COLUMN held INTEGER NOT NULL DEFAULT 0'],
  ['dosql_cold_settings', 'value', 'ALTER TABLE dosql_cold_settings RENAME COLUMN value TO amount', null],
  // A row per held object becomes rows of names (#upgradeHolds).
  ['dosql_cold_holds', 'object', 'ALTER TABLE dosql_cold_holds RENAME TO old_cold_holds', null],
];
/** The cold tier's tables and their columns. */
const SELECT_COLUMNS =
  "SELECT t.name, c.name FROM sqlite_master AS t, pragma_table_info(t.name) AS c WHERE t.type = 'table' AND t.name LIKE 'dosql\\_cold\\_%' ESCAPE '\\'";
const SELECT_CHUNKS = 'SELECT entries FROM dosql_cold_manifest';
const PUT_CHUNK = 'INSERT OR REPLACE INTO dosql_cold_manifest (chunk, entries) VALUES (?, ?)';
const DROP_CHUNK = 'DELETE FROM dosql_cold_manifest WHERE chunk = ?';
const DROP_CHUNKS = 'DELETE FROM dosql_cold_manifest';
const ADD_GARBAGE = 'INSERT OR IGNORE INTO dosql_cold_garbage (object, queued, owner, held) VALUES (?, ?, ?, ?)';
/** Statements on a list of objects take it as one JSON array. */
const IN_LIST = 'object IN (SELECT value FROM json_each(?))';
const DROP_GARBAGE = `DELETE FROM dosql_cold_garbage WHERE ${IN_LIST}`;
const SET_HELD = 'UPDATE dosql_cold_garbage SET held = ?1 WHERE owner IS NULL AND held <> ?1 AND object IN (SELECT value FROM json_each(?2))';
const COUNT_OWN_GARBAGE = `SELECT count(*) FROM dosql_cold_garbage WHERE owner IS NULL AND ${IN_LIST}`;
const COUNT_COLLECTABLE = 'SELECT count(*) FROM dosql_cold_garbage WHERE held = 0';
const SELECT_COLLECTABLE = 'SELECT object, owner FROM dosql_cold_garbage WHERE held = 0 ORDER BY queued LIMIT ?';
const SELECT_HOLDS = 'SELECT holder, objects FROM dosql_cold_holds';
const ADD_HOLD = 'INSERT INTO dosql_cold_holds (holder, part, objects) VALUES (?, ?, ?)';
const DROP_HOLD = 'DELETE FROM dosql_cold_holds WHERE holder = ?';
const SELECT_GROUP_PAGES = "SELECT amount FROM dosql_cold_settings WHERE name = 'group_pages'";
const PUT_GROUP_PAGES = "INSERT OR REPLACE INTO dosql_cold_settings (name, amount) VALUES ('group_pages', ?)";

/** Replaced, never changed (except `dirty`); the object holds pages first..first+pages-1.
 *  owner: null when this database made the object, else the id of the one that did.
 *  @typedef {{object: string, pages: number, sha256: string, dirty: boolean, owner: string | null}} ManifestEntry */

/** Group → its new entry, or null when it leaves R2. @typedef {Map<number, ManifestEntry | null>} ManifestChanges */

export class ColdManifest {
  /** @type {import('./sql.js').SqlPageStorage} */
  #hot;
  /** Group → entry. Read it; change it through write() and apply(). @type {Map<number, ManifestEntry>} */
  groups = new Map();
  groupPages = 0;
  /** Garbage no branch holds: what collecting can delete now. */
  collectable = 0;
  /** Holder → the objects of this database it reads. @type {Map<string, Set<string>>} */
  #holds = new Map();

  /** @param {import('./sql.js').SqlPageStorage} hot @param {number} groupPages  for a database's first use */
  constructor(hot, groupPages) {
    this.#hot = hot;
    if (hot.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dosql_cold_manifest'").length === 0) {
      hot.transaction(() => this.#create(groupPages));
    }
    this.load();
  }

  /** The tables, from nothing or from an earlier release's (UPGRADE). @param {number} groupPages */
  #create(groupPages) {
    const hot = this.#hot;
    /** @type {Map<string, Set<string>>} */
    const columns = new Map();
    for (const [table, column] of hot.exec(SELECT_COLUMNS)) {
      columns.set(String(table), (columns.get(String(table)) ?? new Set()).add(String(column)));
    }
    for (const [table, column, ifThere, ifMissing] of UPGRADE) {
      const has = columns.get(table)?.has(column);
      const sql = has === undefined ? null : has ? ifThere : ifMissing;
      if (sql) hot.exec(sql);
    }
    CREATE.forEach((sql) => hot.exec(sql));
    if (hot.exec(SELECT_GROUP_PAGES).length === 0) hot.exec(PUT_GROUP_PAGES, groupPages);
    const groups = columns.get('dosql_cold_groups');
    if (groups) this.#upgradeGroups(groups.has('owner'));
    if (columns.get('dosql_cold_holds')?.has('object')) this.#upgradeHolds();
  }

  /** The row-per-group manifest into chunks, each group's owner kept (a branch's
   *  entries name its parent's objects). @param {boolean} owners  whether it has the column */
  #upgradeGroups(owners) {
    /** @type {ManifestChanges} */
    const entries = new Map();
    for (const [group, object, pages, sha256, dirty, owner] of this.#hot.exec(`SELECT grp, object, pages, sha256, dirty, ${owners ? 'owner' : 'NULL'} FROM dosql_cold_groups`)) {
      entries.set(Number(group), { object: String(object), pages: Number(pages), sha256: String(sha256), dirty: Number(dirty) !== 0, owner: owner === null ? null : String(owner) });
    }
    this.#writeChunks(entries, new Map());
    this.#hot.exec('DROP TABLE dosql_cold_groups');
  }

  /** The row-per-object holds (renamed old_cold_holds) into rows of names, and the garbage they name held. */
  #upgradeHolds() {
    /** @type {Map<string, Set<string>>} */
    const holds = new Map();
    for (const [object, holder] of this.#hot.exec('SELECT object, holder FROM old_cold_holds ORDER BY holder, object')) {
      holds.set(String(holder), (holds.get(String(holder)) ?? new Set()).add(String(object)));
    }
    for (const [holder, objects] of holds) {
      this.#writeHolds(holder, objects);
      this.#hot.exec(SET_HELD, 1, JSON.stringify([...objects]));
    }
    this.#hot.exec('DROP TABLE old_cold_holds');
  }

  /** Read everything again (at start, and after the database was replaced). */
  load() {
    const hot = this.#hot;
    this.groupPages = Number(hot.exec(SELECT_GROUP_PAGES)[0][0]);
    this.groups.clear();
    for (const [entries] of hot.exec(SELECT_CHUNKS)) {
      for (const [group, object, pages, sha256, dirty, owner] of JSON.parse(String(entries))) {
        this.groups.set(group, { object, pages, sha256, dirty: dirty === 1, owner });
      }
    }
    this.#holds.clear();
    for (const [holder, objects] of hot.exec(SELECT_HOLDS)) {
      const held = this.#holds.get(String(holder)) ?? new Set();
      for (const object of JSON.parse(String(objects))) held.add(object);
      this.#holds.set(String(holder), held);
    }
    this.countGarbage();
  }

  /** Objects of this database that branches read. */
  get held() {
    return new Set([...this.#holds.values()].flatMap((objects) => [...objects])).size;
  }

  // ---- the manifest: write() inside the transaction, apply() once it has committed --------

  /** @param {ManifestChanges} changes */
  write(changes) {
    this.#writeChunks(changes, this.groups);
  }

  /** @param {ManifestChanges} changes */
  apply(changes) {
    for (const [group, entry] of changes) {
      if (entry) this.groups.set(group, entry);
      else this.groups.delete(group);
    }
  }

  /** Every entry out (the database was replaced), and `entries` in, with the group size they were made with.
   *  @param {Map<number, ManifestEntry>} entries @param {number} groupPages */
  writeAll(entries, groupPages) {
    this.#hot.exec(DROP_CHUNKS);
    this.#hot.exec(PUT_GROUP_PAGES, groupPages);
    this.#writeChunks(entries, new Map());
  }

  /** The chunks holding the changed groups, rewritten from base and changes.
   *  @param {ManifestChanges} changes @param {Map<number, ManifestEntry>} base */
  #writeChunks(changes, base) {
    const chunks = new Set([...changes.keys()].map((group) => Math.floor(group / MANIFEST_CHUNK_GROUPS)));
    for (const chunk of chunks) {
      const entries = [];
      for (let group = chunk * MANIFEST_CHUNK_GROUPS; group < (chunk + 1) * MANIFEST_CHUNK_GROUPS; group++) {
        const entry = changes.has(group) ? changes.get(group) : base.get(group);
        if (entry) entries.push([group, entry.object, entry.pages, entry.sha256, entry.dirty ? 1 : 0, entry.owner]);
      }
      if (entries.length > 0) this.#hot.exec(PUT_CHUNK, chunk, JSON.stringify(entries));
      else this.#hot.exec(DROP_CHUNK, chunk);
    }
  }

  // ---- garbage ----------------------------------------------------------------------------

  /** Inside a transaction. @param {string} object @param {number} now @param {string | null} owner */
  addGarbage(object, now, owner) {
    const held = owner === null && this.#isHeld(object);
    this.#hot.exec(ADD_GARBAGE, object, now, owner, held ? 1 : 0);
  }

  /** Inside a transaction. @param {string[]} objects */
  dropGarbage(objects) {
    this.#hot.exec(DROP_GARBAGE, JSON.stringify(objects));
  }

  /** Up to `limit` objects collecting may delete (or release), oldest first. @param {number} limit */
  collectableGarbage(limit) {
    return this.#hot.exec(SELECT_COLLECTABLE, limit).map(([object, owner]) => ({ object: String(object), owner: owner === null ? null : String(owner) }));
  }

  /** After a transaction that changed the garbage. */
  countGarbage() {
    this.collectable = Number(this.#hot.exec(COUNT_COLLECTABLE)[0][0]);
  }

  // ---- holds: branches that read this database's objects ---------------------------------

  /** Whether each object is this database's: in its manifest or its garbage. @param {string[]} objects */
  owns(objects) {
    const own = new Set([...this.groups.values()].filter((entry) => entry.owner === null).map((entry) => entry.object));
    const rest = objects.filter((object) => !own.has(object));
    return rest.length === 0 || Number(this.#hot.exec(COUNT_OWN_GARBAGE, JSON.stringify(rest))[0][0]) === new Set(rest).size;
  }

  /** Whether holder is recorded as reading every one of objects. @param {string} holder @param {string[]} objects */
  holds(holder, objects) {
    const mine = this.#holds.get(holder);
    return objects.every((object) => mine?.has(object));
  }

  /** holder reads these objects too (one row per holder). @param {string} holder @param {string[]} objects */
  hold(holder, objects) {
    const mine = new Set([...(this.#holds.get(holder) ?? []), ...objects]);
    this.#hot.transaction(() => {
      this.#writeHolds(holder, mine);
      this.#hot.exec(SET_HELD, 1, JSON.stringify(objects));
    });
    this.#holds.set(holder, mine);
    this.countGarbage();
  }

  /** holder no longer reads these objects: garbage nobody else holds becomes collectable.
   *  @param {string} holder @param {string[]} objects */
  release(holder, objects) {
    const mine = new Set(this.#holds.get(holder) ?? []);
    objects.forEach((object) => mine.delete(object));
    const free = objects.filter((object) => !this.#isHeld(object, holder));
    this.#hot.transaction(() => {
      this.#writeHolds(holder, mine);
      this.#hot.exec(SET_HELD, 0, JSON.stringify(free));
    });
    if (mine.size > 0) this.#holds.set(holder, mine);
    else this.#holds.delete(holder);
    this.countGarbage();
  }

  /** Whether a holder other than `except` holds object. @param {string} object @param {string} [except] */
  #isHeld(object, except) {
    for (const [holder, objects] of this.#holds) if (holder !== except && objects.has(object)) return true;
    return false;
  }

  /** holder's rows, rewritten. @param {string} holder @param {Set<string>} objects */
  #writeHolds(holder, objects) {
    this.#hot.exec(DROP_HOLD, holder);
    const list = [...objects];
    for (let part = 0; part * HOLD_PART_OBJECTS < list.length; part++) {
      this.#hot.exec(ADD_HOLD, holder, part, JSON.stringify(list.slice(part * HOLD_PART_OBJECTS, (part + 1) * HOLD_PART_OBJECTS)));
    }
  }
}

/**
 * Objects by owner, in the order met. @template {string | null} O
 * @param {{object: string, owner: O}[]} items @returns {Map<O, string[]>}
 */
export function byOwner(items) {
  /** @type {Map<O, string[]>} */
  const owners = new Map();
  for (const { object, owner } of items) {
    const objects = owners.get(owner);
    if (objects) objects.push(object);
    else owners.set(owner, [object]);
  }
  return owners;
}

/**
 * Whether the manifest names any R2 object (in this release's tables or an older
 * one's): then the database needs its cold tier. @param {import('./sql.js').SqlPageStorage} hot  just made
 */
export function hasColdPages(hot) {
  const tables = ['dosql_cold_manifest', 'dosql_cold_groups'].filter((name) => hot.existedAtOpen(name));
  return tables.some((name) => hot.exec(`SELECT 1 FROM ${name} LIMIT 1`).length > 0);
}
