// The real ORMs on the D1 facade, inside a Worker as users run them: drizzle-orm's
// D1 driver (including db.transaction(), which sends BEGIN / COMMIT / ROLLBACK
// and fails on D1 itself) and kysely with kysely-d1, talking to the DoSQL object
// through its stub.
//
// The ORMs come from node_modules (dev dependencies, pinned in package-lock.json).
// Miniflare loads modules by path and cannot resolve bare specifiers such as
// 'drizzle-orm/d1', so the ORM libraries are bundled with esbuild (wrangler's own)
// into one module in the test's folder; the DoSQL class and the facade load from
// source. Each scenario below is a function that runs inside the Worker (its
// source is written into the entry module) and answers JSON that the test checks.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomUUID } from 'node:crypto';
import { REPO, TMP, BACKENDS, requireWasm, startBothBackends, tenant } from './harness.js';

// ---- scenarios (run inside the Worker) ----------------------------------------------
// Each gets {lib, toD1, ns, tenant}: the bundled ORM exports, the facade, the
// DurableObjectNamespace of the backend under test, and a fresh tenant name.

const DDL = `
  CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    active INTEGER NOT NULL DEFAULT 1
  );
  CREATE TABLE posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    title TEXT NOT NULL
  );
`;

/** The drizzle schema, shared by the drizzle scenarios (inlined into the Worker). */
function drizzleSchema(/** @type {any} */ lib) {
  const { sqliteTable, integer, text } = lib;
  const users = sqliteTable('users', {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    email: text('email').notNull().unique(),
    active: integer('active', { mode: 'boolean' }).notNull().default(true),
  });
  const posts = sqliteTable('posts', {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    title: text('title').notNull(),
  });
  return { users, posts };
}

/** @type {Record<string, (ctx: any) => Promise<unknown>>} */
const scenarios = {
  async realStub({ lib, toD1, ns, tenant }) {
    // A Workers RPC stub answers every property (env, DOSQL_DB, idFromName): toD1 must
    // take it as the stub it is, not look for a namespace on it.
    const { drizzle, sql } = lib;
    const stub = ns.get(ns.idFromName(tenant));
    const d1 = toD1(stub);
    await d1.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
    const inserted = await d1.prepare('INSERT INTO notes (body) VALUES (?)').bind('hello').run();
    const rows = await drizzle(toD1(stub, 'ignored for a stub')).all(sql`SELECT body FROM notes`);
    return { lastRowId: inserted.meta.last_row_id, rows };
  },

  async drizzleCrud({ lib, toD1, ns, tenant }) {
    const { drizzle, eq, asc, sql } = lib;
    const { users, posts } = drizzleSchema(lib);
    const d1 = toD1(ns, tenant);
    await d1.exec(DDL);
    const db = drizzle(d1);

    const [ann] = await db.insert(users).values({ name: 'Ann', email: 'ann@x.io' }).returning();
    const bobRun = await db.insert(users).values({ name: 'Bob', email: 'bob@x.io', active: false }).run();
    await db.insert(posts).values([
      { userId: ann.id, title: 'Hello' },
      { userId: ann.id, title: 'World' },
      { userId: bobRun.meta.last_row_id, title: 'Bob here' },
    ]);
    const activeUsers = await db.select().from(users).where(eq(users.active, true));
    const joined = await db.select().from(posts).innerJoin(users, eq(posts.userId, users.id)).orderBy(asc(posts.id));
    const partial = await db
      .select({ title: posts.title, author: users.name, authorId: users.id, postId: posts.id })
      .from(posts)
      .leftJoin(users, eq(users.id, posts.userId))
      .where(eq(users.name, 'Bob'))
      .get();
    const counted = await db.select({ n: sql`count(*)`.mapWith(Number) }).from(posts).get();
    const updated = await db.update(users).set({ name: 'Bobby' }).where(eq(users.email, 'bob@x.io')).run();
    const deleted = await db.delete(posts).where(eq(posts.title, 'World')).returning({ id: posts.id });
    const [inserted, listed] = await db.batch([
      db.insert(users).values({ name: 'Cy', email: 'cy@x.io' }).returning({ id: users.id }),
      db.select({ name: users.name }).from(users).orderBy(asc(users.id)),
    ]);
    let uniqueError = null;
    try {
      await db.insert(users).values({ name: 'Ann again', email: 'ann@x.io' });
    } catch (err) {
      uniqueError = { message: err.message, cause: err.cause?.message };
    }
    return {
      ann,
      bobId: bobRun.meta.last_row_id,
      activeUsers,
      joined,
      partial,
      counted,
      updatedChanges: updated.meta.changes,
      deleted,
      inserted,
      listed,
      uniqueError,
    };
  },

  async drizzleTransactions({ lib, toD1, ns, tenant }) {
    const { drizzle, eq, sql } = lib;
    const { users, posts } = drizzleSchema(lib);
    const d1 = toD1(ns, tenant);
    await d1.exec(DDL);
    const db = drizzle(d1);
    const countAll = async () => ({
      users: (await db.select({ n: sql`count(*)`.mapWith(Number) }).from(users).get()).n,
      posts: (await db.select({ n: sql`count(*)`.mapWith(Number) }).from(posts).get()).n,
    });

    // Commits: real results inside (the inserted id is used by the next insert).
    let otherRead = null;
    const committed = await db.transaction(async (tx) => {
      const [u] = await tx.insert(users).values({ name: 'Ann', email: 'ann@x.io' }).returning();
      await tx.insert(posts).values({ userId: u.id, title: 'first' });
      const seen = await tx.select().from(posts).where(eq(posts.userId, u.id));
      // Another request's read, started now, waits until the transaction ends.
      otherRead = toD1(ns, tenant).prepare('SELECT count(*) AS n FROM posts').first('n');
      return { userId: u.id, seen };
    });
    const otherSaw = await otherRead;
    const afterCommit = await countAll();

    // Throws: ROLLBACK, nothing written, the error comes through.
    let thrown = null;
    try {
      await db.transaction(async (tx) => {
        const [u] = await tx.insert(users).values({ name: 'Bob', email: 'bob@x.io' }).returning();
        await tx.insert(posts).values({ userId: u.id, title: 'lost' });
        throw new Error('boom');
      });
    } catch (err) {
      thrown = err.message;
    }
    const afterThrow = await countAll();

    // tx.rollback(): drizzle's own rollback.
    let rolledBack = null;
    try {
      await db.transaction(async (tx) => {
        await tx.insert(users).values({ name: 'Cy', email: 'cy@x.io' });
        tx.rollback();
      });
    } catch (err) {
      rolledBack = err.constructor.name;
    }
    const afterRollback = await countAll();

    // A failing statement inside: the error reaches the caller, nothing is kept.
    let constraint = null;
    try {
      await db.transaction(async (tx) => {
        await tx.insert(users).values({ name: 'Dee', email: 'dee@x.io' });
        await tx.insert(users).values({ name: 'Ann twin', email: 'ann@x.io' });
      });
    } catch (err) {
      constraint = { message: err.message, cause: err.cause?.message };
    }
    const afterConstraint = await countAll();

    // Nested: the inner transaction (a savepoint) rolls back alone.
    const nested = await db.transaction(async (tx) => {
      await tx.insert(users).values({ name: 'Eve', email: 'eve@x.io' });
      let inner = null;
      try {
        await tx.transaction(async (tx2) => {
          await tx2.insert(users).values({ name: 'Fay', email: 'fay@x.io' });
          throw new Error('inner');
        });
      } catch (err) {
        inner = err.message;
      }
      await tx.transaction(async (tx2) => {
        await tx2.insert(users).values({ name: 'Gus', email: 'gus@x.io' });
      });
      return inner;
    });
    const names = (await db.select({ name: users.name }).from(users).orderBy(users.id)).map((/** @type {any} */ r) => r.name);

    // behavior: 'immediate' sends BEGIN IMMEDIATE.
    await db.transaction(async (tx) => tx.insert(users).values({ name: 'Hal', email: 'hal@x.io' }), { behavior: 'immediate' });
    const afterImmediate = await countAll();

    // A deferred foreign key fails the COMMIT, which the object rolls back: drizzle's
    // ROLLBACK after a failed COMMIT succeeds, and the caller sees the constraint.
    await d1.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED)');
    let deferred = null;
    try {
      await db.transaction(async (tx) => {
        await tx.run(sql`INSERT INTO notes (user_id) VALUES (999)`);
      });
    } catch (err) {
      deferred = { message: err.message, cause: err.cause?.message };
    }
    const notesAfter = await d1.prepare('SELECT count(*) AS n FROM notes').first('n');
    return {
      committed,
      otherSaw,
      afterCommit,
      thrown,
      afterThrow,
      rolledBack,
      afterRollback,
      constraint,
      afterConstraint,
      nested,
      names,
      afterImmediate,
      deferred,
      notesAfter,
    };
  },

  async kysely({ lib, toD1, ns, tenant }) {
    const { Kysely, D1Dialect, ksql } = lib;
    const db = new Kysely({ dialect: new D1Dialect({ database: toD1(ns, tenant) }) });
    await db.schema
      .createTable('users')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .execute();
    await db.schema
      .createTable('posts')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
      .addColumn('title', 'text', (c) => c.notNull())
      .execute();

    const ann = await db.insertInto('users').values({ name: 'Ann', email: 'ann@x.io' }).executeTakeFirstOrThrow();
    const bob = await db.insertInto('users').values({ name: 'Bob', email: 'bob@x.io' }).returning(['id', 'name']).executeTakeFirstOrThrow();
    await db
      .insertInto('posts')
      .values([
        { user_id: Number(ann.insertId), title: 'Hello' },
        { user_id: bob.id, title: 'Bob here' },
      ])
      .execute();
    const joined = await db
      .selectFrom('posts')
      .innerJoin('users', 'users.id', 'posts.user_id')
      .select(['posts.id as postId', 'users.name', 'posts.title'])
      .orderBy('posts.id')
      .execute();
    const updated = await db.updateTable('users').set({ name: 'Bobby' }).where('id', '=', bob.id).executeTakeFirst();
    const one = await db.selectFrom('users').selectAll().where('email', '=', 'bob@x.io').executeTakeFirst();

    // kysely-d1 itself refuses db.transaction() ("Transactions are not supported yet.").
    let transaction = null;
    try {
      await db.transaction().execute(async (trx) => trx.insertInto('users').values({ name: 'Cy', email: 'cy@x.io' }).execute());
    } catch (err) {
      transaction = err.message;
    }
    // BEGIN / ROLLBACK as statements work through the facade (one Kysely per request).
    await ksql`BEGIN`.execute(db);
    await db.insertInto('users').values({ name: 'Dee', email: 'dee@x.io' }).execute();
    const inside = await db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    await ksql`ROLLBACK`.execute(db);
    const after = await db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return {
      annInsertId: String(ann.insertId),
      bob,
      joined,
      updatedRows: String(updated.numUpdatedRows),
      one,
      transaction,
      inside: inside.n,
      after: after.n,
    };
  },
};

// ---- the Worker ---------------------------------------------------------------------

const dir = join(TMP, `orm-${randomUUID().slice(0, 8)}`);
/** @type {any} */
let mf = null;

/** Bundle the ORM libraries (from node_modules) into one module. */
async function bundleLibraries() {
  const esbuild = await import('esbuild');
  const entry = join(dir, 'orm-entry.js');
  writeFileSync(
    entry,
    [
      "export { drizzle } from 'drizzle-orm/d1';",
      "export { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';",
      "export { eq, asc, sql } from 'drizzle-orm';",
      "export { Kysely, sql as ksql } from 'kysely';",
      "export { D1Dialect } from 'kysely-d1';",
      '',
    ].join('\n'),
  );
  await esbuild.build({
    entryPoints: [entry],
    outfile: join(dir, 'orm-libs.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    nodePaths: [join(REPO, 'node_modules')],
    absWorkingDir: REPO,
    logLevel: 'error',
  });
}

function writeWorker() {
  const rel = (/** @type {string} */ p) => {
    const r = relative(dir, join(REPO, p)).split('\\').join('/');
    return r.startsWith('.') ? r : `./${r}`;
  };
  const source = [
    "import * as lib from './orm-libs.js';",
    `import { makeClasses, handle } from '${rel('tests/worker/fixtures/dosql-worker.js')}';`,
    `import { toD1 } from '${rel('worker-shim/src/index.js')}';`,
    'const { Sql, Kv } = makeClasses([], {});',
    'export { Sql as DoSQLSql, Kv as DoSQLKv };',
    `const DDL = ${JSON.stringify(DDL)};`,
    drizzleSchema.toString(),
    'const scenarios = {',
    ...Object.values(scenarios).map((fn) => `  ${fn.toString()},`),
    '};',
    'export default {',
    '  async fetch(request, env) {',
    '    const url = new URL(request.url);',
    "    const [, head, backend, name, tenant] = url.pathname.split('/');",
    "    if (head !== 'scenario') return handle(request, env);",
    "    const ns = backend === 'sql' ? env.SQL_DB : env.KV_DB;",
    '    try {',
    '      const result = await scenarios[name]({ lib, toD1, ns, tenant });',
    '      return Response.json({ ok: true, result });',
    '    } catch (err) {',
    '      return Response.json({ ok: false, error: String(err?.message ?? err), cause: String(err?.cause?.message ?? ""), stack: String(err?.stack ?? "") });',
    '    }',
    '  },',
    '};',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'worker.js'), source);
}

before(async () => {
  requireWasm();
  mkdirSync(join(dir, 'persist'), { recursive: true });
  await bundleLibraries();
  writeWorker();
  mf = await startBothBackends(join(dir, 'worker.js'), join(dir, 'persist'), {});
});
after(async () => {
  if (mf) await mf.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Run a scenario inside the Worker.
 * @param {'sql' | 'kv'} backend @param {string} name
 * @returns {Promise<any>}
 */
async function run(backend, name) {
  const response = await mf.dispatchFetch(`http://localhost/scenario/${backend}/${name}/${tenant(name)}`);
  const body = /** @type {any} */ (await response.json());
  if (!body.ok) assert.fail(`${name} failed in the Worker: ${body.error}\ncause: ${body.cause}\n${body.stack}`);
  return body.result;
}

for (const backend of BACKENDS) {
  describe(`ORMs on the D1 facade (${backend})`, () => {
    test('drizzle-orm/d1: insert, select, where, joins, update, delete, batch', async () => {
      const r = await run(backend, 'drizzleCrud');
      assert.deepEqual(r.ann, { id: 1, name: 'Ann', email: 'ann@x.io', active: true });
      assert.equal(r.bobId, 2);
      assert.deepEqual(r.activeUsers, [{ id: 1, name: 'Ann', email: 'ann@x.io', active: true }]);
      // Both tables have an id column: drizzle reads selects through raw(), which keeps both.
      assert.deepEqual(r.joined, [
        { posts: { id: 1, userId: 1, title: 'Hello' }, users: { id: 1, name: 'Ann', email: 'ann@x.io', active: true } },
        { posts: { id: 2, userId: 1, title: 'World' }, users: { id: 1, name: 'Ann', email: 'ann@x.io', active: true } },
        { posts: { id: 3, userId: 2, title: 'Bob here' }, users: { id: 2, name: 'Bob', email: 'bob@x.io', active: false } },
      ]);
      assert.deepEqual(r.partial, { title: 'Bob here', author: 'Bob', authorId: 2, postId: 3 });
      assert.deepEqual(r.counted, { n: 3 });
      assert.equal(r.updatedChanges, 1);
      assert.deepEqual(r.deleted, [{ id: 2 }]);
      assert.deepEqual(r.inserted, [{ id: 3 }]);
      assert.deepEqual(r.listed, [{ name: 'Ann' }, { name: 'Bobby' }, { name: 'Cy' }]);
      assert.ok(r.uniqueError, 'a duplicate email fails');
      assert.match(`${r.uniqueError.message} ${r.uniqueError.cause}`, /D1_ERROR: UNIQUE constraint failed: users\.email/);
    });

    test('drizzle-orm/d1: db.transaction() commits, rolls back on a throw, nests with savepoints', async () => {
      const r = await run(backend, 'drizzleTransactions');
      assert.deepEqual(r.committed, { userId: 1, seen: [{ id: 1, userId: 1, title: 'first' }] });
      assert.equal(r.otherSaw, 1, 'a read started during the transaction waited for its commit');
      assert.deepEqual(r.afterCommit, { users: 1, posts: 1 });
      assert.equal(r.thrown, 'boom');
      assert.deepEqual(r.afterThrow, { users: 1, posts: 1 }, 'nothing of the thrown transaction was written');
      assert.equal(r.rolledBack, 'TransactionRollbackError');
      assert.deepEqual(r.afterRollback, { users: 1, posts: 1 });
      assert.ok(r.constraint);
      assert.match(`${r.constraint.message} ${r.constraint.cause}`, /UNIQUE constraint failed: users\.email/);
      assert.deepEqual(r.afterConstraint, { users: 1, posts: 1 }, 'Dee was rolled back with the failed statement');
      assert.equal(r.nested, 'inner');
      assert.deepEqual(r.names, ['Ann', 'Eve', 'Gus'], 'the inner transaction that threw kept nothing');
      assert.deepEqual(r.afterImmediate, { users: 4, posts: 1 });
      assert.match(`${r.deferred?.message} ${r.deferred?.cause}`, /FOREIGN KEY constraint failed/);
      assert.doesNotMatch(`${r.deferred?.message} ${r.deferred?.cause}`, /cannot rollback/);
      assert.equal(r.notesAfter, 0);
    });

    test('toD1 over a real Durable Object stub (Workers RPC), as drizzle takes it', async () => {
      assert.deepEqual(await run(backend, 'realStub'), { lastRowId: 1, rows: [{ body: 'hello' }] });
    });

    test('kysely + kysely-d1: insert, select, join, update; BEGIN/ROLLBACK as statements', async () => {
      const r = await run(backend, 'kysely');
      assert.equal(r.annInsertId, '1');
      assert.deepEqual(r.bob, { id: 2, name: 'Bob' });
      assert.deepEqual(r.joined, [
        { postId: 1, name: 'Ann', title: 'Hello' },
        { postId: 2, name: 'Bob', title: 'Bob here' },
      ]);
      assert.equal(r.updatedRows, '1');
      assert.deepEqual(r.one, { id: 2, name: 'Bobby', email: 'bob@x.io' });
      assert.equal(r.transaction, 'Transactions are not supported yet.', "kysely-d1's own limit, not DoSQL's");
      assert.equal(r.inside, 3);
      assert.equal(r.after, 2);
    });
  });
}
