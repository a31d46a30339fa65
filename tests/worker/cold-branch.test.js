// cold-branch.test.js — branches that share their parent's R2 objects (durable-object/branch.js,
// storage/tiered.js), in real workerd with the R2 bucket Miniflare provides.
//
// A parent of about 3 MB under a 1 MiB hot budget keeps most of its pages in R2. A
// branch of it must copy only the pages R2 does not hold as of its point, write no
// object, and read the same rows; the objects it shares must outlive the parent's
// rewrites of them until the branch lets them go, and then be deleted; a branch of a
// branch holds its grandparent's objects at the grandparent; a branch at a past point
// reads that point. Every row's content follows from its id, so rows read back are
// checked in SQL.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureRuntime, tenant } from './harness.js';
import { coldClient } from './cold-client.js';

const MIGRATIONS = [{ name: '001_init.sql', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL);' }];
const ROWS = 3000;
/** A row's 960-character body: its id (7 digits) and `sep`, 120 times. @param {string} id @param {string} [sep] */
const BODY = (id, sep = ',') => `replace(hex(zeroblob(120)), '00', printf('%07d${sep}', ${id}))`;
const INSERT = `WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2) INSERT INTO t (id, body) SELECT i, ${BODY('i')} FROM n`;

/** @param {ReturnType<typeof fixtureRuntime>} runtime @param {string} name */
function client(runtime, name) {
  const db = coldClient(runtime, 'sql', name);
  return {
    ...db,
    /**
     * Rows 1..ROWS, those in `updated` with `sep` in their bodies, checked in SQL; and PRAGMA integrity_check.
     * @param {[number, number]} [updated] @param {string} [sep]
     */
    async check(updated = [0, -1], sep = ';') {
      const [row] = await db.query(
        `SELECT count(*) AS n, sum(body <> CASE WHEN id BETWEEN ?1 AND ?2 THEN ${BODY('id', sep)} ELSE ${BODY('id')} END) AS bad FROM t`,
        updated,
      );
      assert.deepEqual(row, { n: ROWS, bad: 0 }, `${name}: rows as written`);
      assert.deepEqual(await db.query('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    },
  };
}

/**
 * POST /import into `into` of the file `of` exports (its own by default): it then
 * reads none of the objects it shared. @param {any} runtime @param {ReturnType<typeof client>} into @param {ReturnType<typeof client>} [of]
 */
async function replaceFile(runtime, into, of = into) {
  const file = new Uint8Array(await (await runtime.fetch(`http://localhost/sql/${of.name}/export`)).arrayBuffer());
  return into.post('/import', file, { headers: { 'Content-Type': 'application/vnd.sqlite3' } });
}

/** A database of ROWS rows, most of its pages moved to R2. @param {any} runtime @param {string} name */
async function filled(runtime, name) {
  const db = client(runtime, name);
  for (let first = 1; first <= ROWS; first += 500) await db.run(INSERT, [first, first + 499]);
  await db.maintain();
  return db;
}

describe('a branch with the cold tier shares its parent\'s R2 objects', () => {
  const runtime = fixtureRuntime('cold-branch', 'cold-worker.js', 'makeColdClasses', [MIGRATIONS, { hotBytes: 1024 * 1024, groupPages: 16 }, { changes: false }], {}, { r2Buckets: ['COLD'] });
  before(() => runtime.start());
  after(() => runtime.destroy());

  test('it copies only what R2 does not hold, writes no object, and reads the same rows', { timeout: 120_000 }, async (t) => {
    const parent = await filled(runtime, tenant('parent'));
    const before = await parent.storage();
    assert.ok(before.coldGroups > 20, `the parent keeps most pages in R2: ${JSON.stringify(before)}`);

    const child = client(runtime, tenant('child'));
    const made = await parent.post('/branch', { name: child.name });
    assert.equal(made.status, 200, made.text);
    t.diagnostic(`branch: ${made.text}`);
    const { pages, copiedPages, sharedPages } = made.body;
    assert.ok(copiedPages > 0, 'the parent\'s hot pages are copied');
    assert.equal(pages, before.pageCount);
    assert.ok(copiedPages * before.pageSize <= before.hotBytes, `copied ${copiedPages} pages, no more than the parent's hot tier holds`);
    assert.ok(sharedPages >= pages - copiedPages - 1, `shared ${sharedPages} of ${pages}`);
    const after = await parent.storage();
    assert.equal(after.r2Writes, before.r2Writes, 'the parent wrote no object');
    assert.equal(after.heldObjects, before.coldGroups, 'the parent records every object as held');

    // Before any request, whose upkeep may demote what reading it promotes.
    const childStats = await child.storage();
    assert.equal(childStats.r2Writes, 0, 'the branch wrote no object');
    assert.equal(childStats.sharedGroups, before.coldGroups);
    // Its storage rows: the copied pages packed many to a row, and the manifest 64 groups a row.
    assert.ok(made.body.rowsWritten <= 16 + copiedPages / 4, `the branch wrote ${made.body.rowsWritten} storage rows`);
    assert.deepEqual(await child.bucket(), [], 'nothing under the branch\'s own prefix');
    const parentObjects = new Set((await parent.manifest()).groups.map((g) => g.object));
    assert.ok((await child.manifest()).groups.every((g) => parentObjects.has(g.object)), 'the branch names the parent\'s objects');
    await child.check();

    // The branch is independent: its writes are its own.
    await child.run("UPDATE t SET body = 'child' WHERE id = 1");
    assert.deepEqual(await parent.query('SELECT body = ' + BODY('1') + ' AS same FROM t WHERE id = 1'), [{ same: 1 }]);
  });

  test('a branch of a database whose R2 object was lost answers the loss as its reads do (COLD_TIER_CORRUPT, naming it), not as the branch\'s refusal', { timeout: 120_000 }, async () => {
    const parent = await filled(runtime, tenant('lost'));
    const lost = (await parent.manifest()).groups.at(-1)?.object;
    assert.ok(lost, 'the parent has objects in R2');
    await parent.deleteObject(lost);
    const child = client(runtime, tenant('lost-child'));
    const made = await parent.post('/branch', { name: child.name });
    assert.deepEqual([made.status, made.body.code], [500, 'COLD_TIER_CORRUPT'], made.text);
    assert.ok(made.body.error.includes(lost), made.body.error);
    assert.match(made.body.error, /restore the bucket or import a backup/);
    assert.deepEqual(await child.query('SELECT count(*) AS n FROM t'), [{ n: 0 }], 'the branch stayed new');
  });

  test('a branch of a database whose objects were copied back without their SHA-256 (by hand, rclone) is made: their bytes are checked instead', { timeout: 120_000 }, async () => {
    const parent = await filled(runtime, tenant('recopied'));
    const { groups } = await parent.manifest();
    for (const g of groups) await parent.recopyObject(g.object);
    const child = client(runtime, tenant('recopied-child'));
    const made = await parent.post('/branch', { name: child.name });
    assert.equal(made.status, 200, made.text);
    await child.check();
  });

  test('objects the parent rewrites stay while the branch reads them, and go once it lets them go', { timeout: 120_000 }, async () => {
    const parent = await filled(runtime, tenant('owner'));
    const child = client(runtime, tenant('holder'));
    assert.equal((await parent.post('/branch', { name: child.name })).status, 200);

    // The parent rewrites every row: each group's object is replaced.
    await parent.run(`UPDATE t SET body = ${BODY('id', ';')}`);
    await parent.maintain();
    await parent.check([1, ROWS]);
    const parentManifest = await parent.manifest();
    const kept = await parent.bucket();
    const childObjects = (await child.manifest()).groups.map((g) => g.object);
    assert.ok(childObjects.every((object) => kept.includes(object)), 'every object the branch reads is still in the bucket');
    assert.ok(childObjects.every((object) => parentManifest.garbage.includes(object) || parentManifest.groups.some((g) => g.object === object)), 'recorded as the parent\'s garbage');
    assert.equal((await parent.storage()).garbageObjects, 0, 'held garbage is not counted as collectable');
    await child.reopen();
    await child.check();

    // The branch rewrites half its rows: it uploads its own objects for them and releases
    // the parent's, which the parent then deletes; the other half's it still reads.
    await child.run(`UPDATE t SET body = ${BODY('id', ';')} WHERE id <= ${ROWS / 2}`);
    await child.maintain();
    await child.maintain();
    await child.check([1, ROWS / 2]);
    const childNow = await child.manifest();
    assert.deepEqual(childNow.garbage, [], 'the branch released what it dropped');
    await parent.maintain();
    const own = new Set(await child.bucket());
    const stillShared = childNow.groups.map((g) => g.object).filter((object) => !own.has(object));
    assert.ok(stillShared.length > 0 && own.size > 0, 'the branch reads objects of both');
    assert.deepEqual(await parent.bucket(), [...new Set([...parentManifest.groups.map((g) => g.object), ...stillShared])].sort(), 'the parent deleted every object nobody reads');
    assert.equal((await parent.storage()).heldObjects, stillShared.length);
    await child.reopen();
    await child.check([1, ROWS / 2]);
  });

  test('a parent and its branch whose cold tables a release with shared objects wrote (a row per group, a row per held object) open with their owners and holds', { timeout: 120_000 }, async () => {
    const parent = await filled(runtime, tenant('old-owner'));
    const child = client(runtime, tenant('old-holder'));
    assert.equal((await parent.post('/branch', { name: child.name })).status, 200);
    // The parent rewrites half its rows: their objects become garbage the branch holds.
    await parent.run(`UPDATE t SET body = ${BODY('id', ';')} WHERE id <= ${ROWS / 2}`);
    await parent.maintain();
    const before = { parent: await parent.manifest(), child: await child.manifest(), held: (await parent.storage()).heldObjects, shared: (await child.storage()).sharedGroups };
    assert.ok(before.parent.garbage.length > 0 && before.held > 0 && before.shared > 0, JSON.stringify(before));

    await parent.fetch('/__downgrade?shape=shared');
    await child.fetch('/__downgrade?shape=shared');
    // Opened (no upkeep yet) before its tables are read.
    assert.equal((await child.storage()).sharedGroups, before.shared, 'the branch still knows which objects its parent owns');
    const parentStats = await parent.storage();
    assert.equal(parentStats.heldObjects, before.held, 'the parent still knows what the branch reads');
    assert.equal(parentStats.garbageObjects, 0, 'the garbage the branch reads is held, not collectable');
    const { groups, garbage } = await parent.manifest();
    assert.deepEqual({ groups, garbage }, { groups: before.parent.groups, garbage: before.parent.garbage }, 'the parent\'s groups and garbage');
    assert.deepEqual((await child.manifest()).groups, before.child.groups, 'the branch\'s groups');
    await parent.maintain();
    const kept = new Set(await parent.bucket());
    assert.ok(before.child.groups.every((g) => kept.has(g.object)), 'every object the branch reads is still in the bucket');
    await child.check();
    await parent.check([1, ROWS / 2]);
  });

  test('a branch of a branch holds its grandparent\'s objects there; a branch at a past point reads that point', { timeout: 120_000 }, async () => {
    const root = await filled(runtime, tenant('root'));
    const middle = client(runtime, tenant('middle'));
    assert.equal((await root.post('/branch', { name: middle.name })).status, 200);
    const leaf = client(runtime, tenant('leaf'));
    const made = await middle.post('/branch', { name: leaf.name });
    assert.equal(made.status, 200, made.text);
    await leaf.check();
    const rootHeld = (await root.storage()).heldObjects;
    assert.equal(rootHeld, (await root.manifest()).groups.length, 'the root holds its objects for both');
    assert.equal((await middle.storage()).heldObjects, 0, 'the middle owns none of them');

    // A write over a page only R2 holds ends history there: the point is after one, and
    // the write after it is to the same (now hot) pages.
    await root.run(`UPDATE t SET body = ${BODY('id', ';')} WHERE id <= 100`);
    const { lsn } = (await root.post('/history', {})).body.current;
    await root.run(`UPDATE t SET body = ${BODY('id', ':')} WHERE id <= 100`);
    const past = client(runtime, tenant('past'));
    const fromPast = await root.post('/branch', { name: past.name, from: lsn });
    assert.equal(fromPast.status, 200, fromPast.text);
    await past.check([1, 100]);
    await root.check([1, 100], ':');
    await root.maintain();
    await leaf.reopen();
    await leaf.check();
    await middle.reopen();
    await middle.check();

    // The root rewrites every row, the middle and the past branch let its objects go:
    // the leaf's own holds keep them (its hot tier back within budget first, so that it
    // reads them from R2).
    await leaf.maintain();
    await root.run(`UPDATE t SET body = ${BODY('id', ';')}`);
    await root.maintain();
    for (const branch of [middle, past]) {
      assert.equal((await replaceFile(runtime, branch)).status, 200);
      await branch.maintain();
    }
    await root.maintain();
    assert.ok((await root.storage()).heldObjects > 0, 'the leaf holds the root\'s old objects');
    await leaf.reopen();
    await leaf.check();
  });

  test('a branch the owner or the new database failed is not made, and a retry takes over its holds; an import releases them', { timeout: 120_000 }, async () => {
    const root = await filled(runtime, tenant('flaky'));
    const middle = client(runtime, tenant('flaky-middle'));
    assert.equal((await root.post('/branch', { name: middle.name })).status, 200);
    const groups = (await root.manifest()).groups.length;

    /** Branch `from` into `into` while `op` fails once: 503, and `into` holds no row. @param {ReturnType<typeof client>} from @param {ReturnType<typeof client>} into @param {string} op */
    const failing = async (from, into, op) => {
      await root.failR2(op);
      const answer = await from.post('/branch', { name: into.name });
      assert.equal((await root.healR2()).failed, 1);
      assert.equal(answer.status, 503, answer.text);
      assert.equal(answer.body.code, 'COLD_TIER_UNAVAILABLE');
      assert.deepEqual(await into.query('SELECT count(*) AS n FROM t'), [{ n: 0 }], 'nothing was made');
    };
    // The owner of the shared objects (root, for a branch of middle) does not record the holder.
    const leaf = client(runtime, tenant('flaky-leaf'));
    await failing(middle, leaf, 'hold');
    // The new database fails while taking its pages: the holds stay, and a retry takes them over.
    const other = client(runtime, tenant('flaky-other'));
    await failing(root, other, 'adopt');
    assert.equal((await root.storage()).heldObjects, groups, 'its holds were recorded before it failed');
    for (const branch of [leaf, other]) {
      const from = branch === leaf ? middle : root;
      const made = await from.post('/branch', { name: branch.name });
      assert.equal(made.status, 200, made.text);
      await branch.check();
    }
    assert.equal((await root.storage()).heldObjects, groups);

    // Every database that reads root's objects lets them go by replacing its file.
    for (const branch of [middle, leaf, other]) {
      const imported = await replaceFile(runtime, branch, root);
      assert.equal(imported.status, 200, imported.text);
      await branch.maintain();
      assert.equal((await branch.storage()).sharedGroups, 0);
    }
    assert.equal((await root.storage()).heldObjects, 0, 'nothing holds the root\'s objects any more');
  });

  // adoptBranch, holdColdObjects and releaseColdObjects are meant only between databases of
  // the class, but Workers RPC says nothing of the caller: any Worker holding the binding
  // reaches them. No such call may lose data or wreck a database.

  /** adoptBranch(manifest, pages) as any Worker may call it: {ok: {status, text}} or {error}.
   *  @param {ReturnType<typeof client>} db @param {any} manifest @param {{pgno: number, fill: number}[]} pages */
  async function adopt(db, manifest, pages) {
    const answer = await db.post('/__adopt', { manifest, pages });
    assert.equal(answer.status, 200, answer.text);
    return answer.body;
  }

  /** @param {{ok?: {status: number, text: string}, error?: string}} answer @param {string} code */
  function refused(answer, code) {
    assert.ok(answer.ok, `answered: ${JSON.stringify(answer)}`);
    assert.equal(JSON.parse(answer.ok.text).code, code, answer.ok.text);
  }

  const NOT_SQLITE = { manifest: { pageSize: 4096, pageCount: 1, groupPages: 16, groups: [] }, pages: [{ pgno: 1, fill: 0x41 }] };

  test('adoptBranch from any Worker replaces no database that holds rows, and takes no page /import would refuse', { timeout: 120_000 }, async () => {
    const full = client(runtime, tenant('adopt-full'));
    await full.run("INSERT INTO t (id, body) VALUES (1, 'precious')");
    refused(await adopt(full, NOT_SQLITE.manifest, NOT_SQLITE.pages), 'BRANCH_EXISTS');
    assert.deepEqual(await full.query('SELECT body FROM t'), [{ body: 'precious' }]);

    // A database of the user's own schema is not new either, rows or none.
    const schema = client(runtime, tenant('adopt-schema'));
    await schema.run('CREATE TABLE mine (x)');
    refused(await adopt(schema, NOT_SQLITE.manifest, NOT_SQLITE.pages), 'BRANCH_EXISTS');
    assert.deepEqual(await schema.query('SELECT count(*) AS n FROM mine'), [{ n: 0 }]);

    // A new database is refused what /import refuses, and stays a working new database.
    const fresh = client(runtime, tenant('adopt-fresh'));
    refused(await adopt(fresh, NOT_SQLITE.manifest, NOT_SQLITE.pages), 'IMPORT_NOT_SQLITE');
    await fresh.run("INSERT INTO t (id, body) VALUES (1, 'after')");
    assert.deepEqual(await fresh.query('SELECT body FROM t'), [{ body: 'after' }]);
  });

  test('adoptBranch from any Worker takes no R2 object its owner does not hold for it, nor one R2 does not have as named', { timeout: 120_000 }, async () => {
    const parent = await filled(runtime, tenant('adopt-owner'));
    const { id, groups } = await parent.manifest();
    // The parent's file as a branch would receive it, its objects named as a branch's manifest names them.
    const file = new Uint8Array(await (await runtime.fetch(`http://localhost/sql/${parent.name}/export`)).arrayBuffer());
    const pageCount = file.length / 4096;
    const shared = groups.map(({ grp, object, pages, sha256 }) => ({ group: grp, object, pages, sha256, owner: id }));
    const manifest = { pageSize: 4096, pageCount, groupPages: 16, groups: shared };

    // Nothing holds these objects for it: taking them would let the parent delete what it reads.
    const stray = client(runtime, tenant('adopt-stray'));
    refused(await adopt(stray, manifest, []), 'BRANCH_REFUSED');
    assert.deepEqual(await stray.query('SELECT count(*) AS n FROM t'), [{ n: 0 }]);
    assert.equal((await stray.storage()).sharedGroups, 0);

    // Held for it, but named with another SHA-256: every read of it would fail.
    assert.deepEqual((await parent.post('/__hold', { holder: stray.name, objects: shared.map((g) => g.object) })).body, { ok: true });
    const forged = { ...manifest, groups: shared.map((g, i) => (i === 0 ? { ...g, sha256: '0'.repeat(64) } : g)) };
    refused(await adopt(stray, forged, []), 'BRANCH_REFUSED');
    assert.deepEqual(await stray.query('SELECT count(*) AS n FROM t'), [{ n: 0 }]);
  });

  test('releaseColdObjects from any Worker frees nothing a branch still reads', { timeout: 120_000 }, async () => {
    const parent = await filled(runtime, tenant('release-owner'));
    const child = client(runtime, tenant('release-holder'));
    assert.equal((await parent.post('/branch', { name: child.name })).status, 200);
    await parent.run(`UPDATE t SET body = ${BODY('id', ';')}`);
    await parent.maintain();
    const childObjects = (await child.manifest()).groups.map((g) => g.object);

    // Not the branch: a Worker that names it.
    const released = await parent.post('/__release', { holder: child.name, objects: childObjects });
    assert.equal(released.status, 200, released.text);
    await parent.maintain();
    const kept = await parent.bucket();
    assert.deepEqual(childObjects.filter((object) => !kept.includes(object)), [], 'every object the branch reads is still in the bucket');
    assert.equal((await parent.storage()).heldObjects, childObjects.length);
    await child.reopen();
    await child.check();
  });

  test('two new databases that branch into each other at once both answer, and serve on', { timeout: 120_000 }, async () => {
    // Each branch holds its database's gate while the other database adopts it; a
    // database doing that refuses to adopt one itself (BRANCH_BUSY) rather than wait.
    /** @template T @param {Promise<T>} promise @param {string} what @returns {Promise<T>} */
    const answered = (promise, what) => {
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let timer;
      const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in 30 s`)), 30_000); });
      return /** @type {Promise<T>} */ (Promise.race([promise, late]).finally(() => clearTimeout(timer)));
    };
    for (let round = 0; round < 6; round++) {
      const a = client(runtime, tenant('mutual-a'));
      const b = client(runtime, tenant('mutual-b'));
      await a.query('SELECT 1');
      await b.query('SELECT 1');
      const answers = await answered(Promise.all([a.post('/branch', { name: b.name }), b.post('/branch', { name: a.name })]), `round ${round}: the branches`);
      // One may find the other made into a branch first (its point is then gone).
      for (const made of answers) {
        assert.ok(made.status === 200 || ['BRANCH_BUSY', 'BRANCH_EXISTS', 'POINT_TOO_OLD'].includes(made.body?.code), made.text);
      }
      for (const db of [a, b]) {
        assert.deepEqual(await answered(db.query('SELECT count(*) AS n FROM t'), `round ${round}: ${db.name}`), [{ n: 0 }]);
      }
    }
  });

  test('a branch made back into the database it came from, emptied by an import, takes its own objects back as its own', { timeout: 120_000 }, async () => {
    const root = await filled(runtime, tenant('cycle'));
    const child = client(runtime, tenant('cycle-child'));
    assert.equal((await root.post('/branch', { name: child.name })).status, 200);
    // Emptied by an import, where history starts again: a DELETE would leave the rows
    // for a restore to bring back, and a database with such history is no new one.
    const empty = client(runtime, tenant('cycle-empty'));
    await empty.query('SELECT 1');
    assert.equal((await replaceFile(runtime, root, empty)).status, 200);
    await root.maintain();
    const back = await child.post('/branch', { name: root.name });
    assert.equal(back.status, 200, back.text);
    await root.check();
    const own = new Set(await root.bucket());
    const manifest = await root.manifest();
    assert.ok(manifest.groups.some((g) => own.has(g.object)), 'it reads its own objects again');
    assert.equal((await root.storage()).sharedGroups, manifest.groups.filter((g) => !own.has(g.object)).length, 'only the child\'s objects are shared');
    // The child lets every object go (it takes a file of its own); the root still reads them.
    assert.equal((await replaceFile(runtime, child)).status, 200);
    await child.maintain();
    await root.maintain();
    await root.reopen();
    await root.check();
    await child.check();
  });
});
