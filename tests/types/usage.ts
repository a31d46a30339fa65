// usage.ts — what users write against worker-shim/index.d.ts, type-checked by
// tests/worker/types.test.js. Each `@ts-expect-error` line is a mistake the
// types must catch: if the types grow too loose, tsc reports the unused directive.

import { DB, defineDoSQL, DoSQLDatabase, type ImportResult } from 'dosql';
import { DoSQLError, eventStream, getDB, lastEventId } from 'dosql/client';
import { toD1, type D1Result } from 'dosql/d1';
// Each entry point names only what it exports at run time (a bundler refuses the rest).
// @ts-expect-error DB is dosql's, not the client's
import { DB as notTheClients } from 'dosql/client';
// @ts-expect-error getDB is the client's, not the D1 facade's
import { getDB as notTheFacades } from 'dosql/d1';
export { notTheClients, notTheFacades };

interface User {
  id: number;
  email: string;
}

declare const env: { DOSQL_DB: DurableObjectNamespace; DOSQL_COLD: R2Bucket };
// What `wrangler types` writes for a Worker that exports the class (README's quick start).
declare const typedEnv: { DOSQL_DB: DurableObjectNamespace<DoSQLDatabase> };
declare const request: Request;
declare const ctx: DurableObjectState;

export const Database: typeof DoSQLDatabase = defineDoSQL({ migrations: [], changes: { retainEvents: 1000, retainMs: 86_400_000 } });
export const NoCapture = defineDoSQL({ changes: false });
// @ts-expect-error retainEvents is a number
defineDoSQL({ changes: { retainEvents: '10' } });
export const Tiered = defineDoSQL({ cold: { binding: 'DOSQL_COLD', hotBytes: 32 * 1024 * 1024, groupPages: 64 } });
// @ts-expect-error the class names its bucket's binding; DB() takes the bucket
defineDoSQL({ cold: { bucket: 'DOSQL_COLD' } });

export async function overRpc(): Promise<bigint | number> {
  const stub = env.DOSQL_DB.get(env.DOSQL_DB.idFromName('acme')) as unknown as DoSQLDatabase;
  const { txId } = await stub.begin({ timeoutMs: 2000 });
  const { lastInsertRowId } = await stub.run('INSERT INTO users(email) VALUES (?)', ['b@x.io'], { transaction: txId });
  await stub.commit(txId);
  // @ts-expect-error the transaction is named in an options object
  await stub.query('SELECT 1', [], txId);
  return lastInsertRowId;
}

export async function queries(): Promise<number> {
  const db = getDB(env, 'acme');
  const users = await db.query<User>('SELECT * FROM users WHERE id = ?', [1]);
  const one = await db.queryOne<User>('SELECT * FROM users LIMIT 1');
  const id = await db.transaction(async (tx) => (await tx.run('INSERT INTO users(email) VALUES (?)', ['a@x.io'])).lastInsertRowId);
  // @ts-expect-error queryOne may be null
  const email: string = one.email;
  // @ts-expect-error a rowid past 2^53 is a bigint
  const rowid: number = (await db.run('INSERT INTO users(email) VALUES (?)', ['b@x.io'])).lastInsertRowId;
  void rowid;
  return users.length + Number(id) + email.length;
}

export async function points(): Promise<number> {
  const db = getDB(env, 'acme');
  // The points history() and restore() answer name points themselves.
  const { current, oldest } = await db.history();
  const restored = await db.restore(current);
  await db.diff(oldest, { to: restored.before });
  await db.asOf({ bookmark: current.bookmark }).query('SELECT 1');
  // @ts-expect-error a point object holds an lsn or a bookmark, not a note
  await db.restore({ note: 1 });
  return restored.current.lsn;
}

export async function changes(): Promise<string[]> {
  const seen: string[] = [];
  try {
    for await (const event of getDB(env, 'acme').subscribe<User>(['users'], { since: 0, signal: request.signal })) {
      if (event.type === 'gap') seen.push(`reload after ${event.head}`);
      else if (event.type === 'ready') seen.push(`live from ${event.lsn}`);
      else seen.push(`${event.lsn} ${event.type} ${event.table} ${event.data.email} ${event.old?.email ?? ''}`);
      // @ts-expect-error a gap or ready event has no data
      event.data;
    }
  } catch (err) {
    if (err instanceof DoSQLError && err.code === 'SUBSCRIBER_TOO_SLOW') seen.push('resubscribe');
  }
  return seen;
}

export const relay = (): Response =>
  eventStream(getDB(env, 'acme').subscribe(['users'], { since: lastEventId(request), signal: request.signal }), { keepAliveMs: 10_000 });

export async function ownClass(): Promise<void> {
  const db = await DB('app', { storage: { hot: ctx.storage }, ctx, changes: { retainEvents: 100 } });
  await db.alarm();
  const response: Response = await db.serveSubscribe(request);
  const served: Response = await db.serve(request);
  void served;
  const imported = await db.serveImport(request);
  if (imported.ok) {
    const { pages }: ImportResult = await imported.json();
    void pages;
  }
  const importing: number | undefined = (await db.stats()).importing?.stagedPages;
  void importing;
  const tiered = await DB('tiered', { storage: { hot: ctx.storage, cold: { bucket: env.DOSQL_COLD, hotBytes: 64 << 20 } }, ctx });
  await tiered.maintainStorage();
  const hotBytes: number | undefined = (await tiered.stats()).storage.hotBytes;
  void hotBytes;
  // @ts-expect-error since is a number
  db.subscribe(['users'], { since: '5' });
  const all: D1Result = await toD1(env.DOSQL_DB.get(env.DOSQL_DB.idFromName('acme'))).prepare('SELECT 1').all();
  void all;
  void response;
}

export async function withWranglerTypes(): Promise<number> {
  const db = getDB(typedEnv, 'acme');
  const d1 = toD1(typedEnv.DOSQL_DB, 'acme');
  const stub = typedEnv.DOSQL_DB.get(typedEnv.DOSQL_DB.idFromName('acme'));
  const rows = await stub.query('SELECT * FROM users WHERE id = ?', [1]);
  const users = rows as unknown as User[];
  const one = await stub.queryOne('SELECT 1 AS n');
  void d1;
  return rows.length + users.length + Number(one?.n ?? 0) + (await db.query('SELECT 1')).length;
}

// docs/d1.md, Values: with `int64: 'bigint'` a rowid past 2^53 comes back as an exact
// bigint "in the rows and in meta.last_row_id" (tests/worker/d1.test.js checks the
// value); by default it is a number, as D1's.
export async function d1Int64(): Promise<number | bigint> {
  const exact = toD1(env.DOSQL_DB, 'acme', { int64: 'bigint' });
  const { meta } = await exact.prepare('INSERT INTO far VALUES (?)').bind(2n ** 53n + 1n).run();
  // @ts-expect-error with int64: 'bigint' the rowid may be a bigint
  const asNumber: number = meta.last_row_id;
  const [first] = await exact.batch([exact.prepare('INSERT INTO far DEFAULT VALUES')]);
  const inBatch: number | bigint = first.meta.last_row_id;
  const plain: number = (await toD1(env.DOSQL_DB, 'acme').prepare('INSERT INTO far DEFAULT VALUES').run()).meta.last_row_id;
  // Either mode, known only at run time: the rowid may be a bigint.
  const mode = Math.random() < 0.5 ? 'number' : 'bigint';
  // @ts-expect-error int64 might be 'bigint'
  const maybe: number = (await toD1(env.DOSQL_DB, 'acme', { int64: mode }).prepare('SELECT 1').run()).meta.last_row_id;
  // @ts-expect-error a misspelt option is an error, as for any options object
  toD1(env.DOSQL_DB, 'acme', { int64: 'bigint', transactionTimeoutMS: 1000 });
  void maybe;
  return Number(meta.last_row_id) + plain + asNumber + Number(inBatch);
}
