// Public types of the dosql package (hand-written; src/*.js carry JSDoc).

import type { DurableObject } from 'cloudflare:workers';

/** One migration: a file's name (e.g. "001_init.sql") and its SQL text. */
export interface Migration {
  name: string;
  sql: string;
}

export interface DoSQLOptions {
  /** Applied in order on each object's first request; each once, checksummed. */
  migrations?: Migration[];
  /** Page size (bytes) of a new database: a power of two from 512 to 65536. */
  pageSize?: number;
  /** Page cache budget (bytes) for legacy key-value backed objects. Default 16 MiB. */
  cacheBytes?: number;
  /** Each request's CPU budget in milliseconds (default 3000, at most 300000): a
   *  request over it answers 400 CPU_LIMIT and the object stays healthy. */
  cpuBudgetMs?: number;
  /** Change capture (docs/changes.md): on by default; `false` turns it off. */
  changes?: ChangesOptions;
  /** The R2 cold tier (docs/storage.md): SQLite-backed classes only; key-value ones warn and keep every page hot. */
  cold?: ColdTierOptions;
  /** History (docs/history.md): how far back it reaches (ms, default 7 days) and the most bytes it keeps (default 1 GiB). */
  history?: { windowMs?: number; maxBytes?: number };
}

/** The R2 cold tier of a DoSQLDatabase class. */
export interface ColdTierOptions {
  /** The name of the R2 bucket binding in env (`[[r2_buckets]] binding = "..."`). */
  binding: string;
  /** Budget of the object's own storage (bytes, at least 1 MiB); default 1 GiB. */
  hotBytes?: number;
  /** Pages per R2 object, 1 to 256; default 64. Fixed by a database's first use. */
  groupPages?: number;
}

/** The R2 cold tier of DB(): the bucket itself rather than its name. */
export interface DBColdTierOptions {
  /** An R2 bucket binding, e.g. `env.DOSQL_COLD`. */
  bucket: R2Bucket;
  /** Budget of the object's own storage (bytes, at least 1 MiB); default 1 GiB. */
  hotBytes?: number;
  /** Pages per R2 object, 1 to 256; default 64. Fixed by a database's first use. */
  groupPages?: number;
  /** Start of the object names; default "dosql/<ctx.id>/" ("dosql/<name>/" without `ctx`). One per database. */
  prefix?: string;
}

/**
 * `false`: capture nothing (the log stays as it is; /subscribe answers 404). Else
 * how much of the log the alarm keeps: the newest `retainEvents` (default 10,000)
 * younger than `retainMs` (default 7 days) within the newest `retainBytes` of
 * events (default 64 MiB), and always the newest event; and, with
 * `tables`, which tables are captured (1 to 500 names; default every user table).
 * Writes to other tables then cost nothing extra, and subscribing to them is a 400.
 */
export type ChangesOptions = false | { retainEvents?: number; retainMs?: number; retainBytes?: number; tables?: string[] };

/**
 * The Durable Object: one object is one SQLite database. It answers the wire
 * protocol over fetch: POST /query, /run, /transaction with JSON bodies,
 * /subscribe (NDJSON, Server-Sent Events, hibernatable WebSockets), GET /export
 * and POST /import (the database as a SQLite file, both ways).
 * Works on SQLite-backed (`new_sqlite_classes`) and key-value (`new_classes`)
 * classes. Environment (optional): DOSQL_PAGE_SIZE, DOSQL_CPU_BUDGET_MS, DOSQL_CHANGES
 * ("off"), and for a cold tier DOSQL_COLD_BUCKET (a binding's name), DOSQL_HOT_BYTES,
 * DOSQL_GROUP_PAGES.
 */
export declare class DoSQLDatabase extends DurableObject {
  static migrations: readonly Migration[];
  static pageSize: number | undefined;
  static cacheBytes: number | undefined;
  static changes: ChangesOptions | undefined;
  static cold: ColdTierOptions | undefined;
  static cpuBudgetMs: number | undefined;
  static history: { windowMs?: number; maxBytes?: number } | undefined;
  fetch(request: Request): Promise<Response>;
  /** Over RPC (and GET /stats): peak wasm memory, page faults served, storage rows/keys read and written, the cold tier, subscribers. */
  stats(): Promise<DoSQLStats>;
  /**
   * Over RPC: storage upkeep (the cold tier moves pages over the hot budget to R2
   * and deletes unreferenced objects). It runs by itself after requests; this
   * resolves when it has finished, and rejects when R2 failed.
   */
  maintainStorage(): Promise<void>;
  /**
   * Over RPC: one request of the wire protocol, answered as fetch would: its status and JSON
   * text (what getDB and toD1 use); past 16 MiB less 64 KiB, the text's UTF-8 `bytes` instead, since
   * Workers RPC (32 MiB) counts two bytes for each character of a string beyond Latin-1.
   */
  request(path: string, body: unknown, txId?: string | null): Promise<{ status: number; text: string; bytes?: undefined } | { status: number; text?: undefined; bytes: Uint8Array }>;
  /**
   * Over RPC: rows, values as themselves; errors as `Error("[CODE status] message")`
   * (fromRpcError). A stub takes no type arguments (Workers RPC drops them): cast the
   * rows, `(await stub.query(sql)) as User[]`.
   */
  query(sql: string, params?: SQLParams, options?: RpcOptions): Promise<SQLRow[]>;
  queryOne(sql: string, params?: SQLParams, options?: RpcOptions): Promise<SQLRow | null>;
  run(sql: string, params?: SQLParams, options?: RpcOptions): Promise<RunResult>;
  batch(statements: Array<BatchStatement | string>, options?: RpcOptions): Promise<BatchResult<SQLRow>[]>;
  /** A script of statements, all or nothing. */
  exec(sql: string, options?: RpcOptions): Promise<{ count: number }>;
  /**
   * Opens an interactive transaction; name it in later calls as `{transaction: txId}`.
   * sizeAfter: the database's size in bytes as it begins (docs/protocol.md "Row mode").
   */
  begin(options?: TransactionOptions): Promise<{ txId: string; timeoutMs: number; sizeAfter: number }>;
  commit(txId: string): Promise<void>;
  rollback(txId: string): Promise<void>;
  /** Over RPC: the points history keeps (docs/history.md). */
  history(): Promise<HistoryInfo>;
  /** Over RPC: a new database, the object `name` of this namespace, holding this one as of a point. */
  branch(name: string, from?: HistoryPoint): Promise<BranchResult>;
  /** Over RPC: the row changes between two points. */
  diff<T = Record<string, unknown>>(from: HistoryPoint, options?: DiffOptions): Promise<DiffResult<T>>;
  /** Over RPC: the whole database back as it was at a point, as one new commit. */
  restore(to: HistoryPoint): Promise<RestoreResult>;
  /**
   * Between the databases of this class (POST /branch with the cold tier), not for
   * applications: they name R2 objects, which is why they are not HTTP routes. Any
   * Worker holding the binding reaches them; none trusts its caller (docs/storage.md).
   * @internal
   */
  adoptBranch(manifest: unknown, pages: ReadableStream<Uint8Array>): Promise<{ status: number; text: string }>;
  /** @internal POST /branch without the cold tier: the file imported only while this database is new. */
  importBranch(file: ReadableStream<Uint8Array>): Promise<{ status: number; text: string }>;
  /** @internal */
  holdColdObjects(holder: string, objects: string[]): Promise<void>;
  /** @internal */
  releaseColdObjects(holder: string, objects: string[]): Promise<void>;
  /** @internal */
  coldObjectsKept(holder: string, objects: string[]): Promise<boolean>;
  /** @internal */
  coldObjectsRead(owner: string, objects: string[]): Promise<string[]>;
  /** @internal Null when this database is new (a branch may replace it), else why not. */
  newDatabaseError(): Promise<{ status: number; text: string } | null>;
  /** Prunes the change log. A subclass that defines alarm() must call super.alarm(). */
  alarm(): Promise<void>;
  /** Change subscribers' WebSockets: messages other than `ping` are ignored. */
  webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void;
  /** Forgets the closed socket's subscription. */
  webSocketClose(ws: WebSocket, code: number, reason: string, wasClean: boolean): void;
  /** Forgets the failed socket's subscription. */
  webSocketError(ws: WebSocket, error: unknown): void;
}

/** The last argument of DoSQLDatabase's RPC statements. */
export interface RpcOptions {
  /** The open transaction's txId (from begin()). */
  transaction?: string;
  /** query, queryOne and batch: read the database as it was at this point (read-only). */
  asOf?: HistoryPoint;
}

/**
 * A point of the database's history (docs/history.md): an lsn (the count of
 * commits that made it; not a change event's lsn), a bookmark (16 hex digits,
 * from history()), a point as history() and restore() answer it ({lsn, bookmark}), a
 * time SQLite reads ("2026-12-01 12:00:00", ISO 8601), or {time: ms since the epoch}:
 * the newest commit at or before it.
 */
export type HistoryPoint = number | string | { time: number } | { lsn: number; bookmark?: string } | { bookmark: string };

export interface HistoryMark {
  lsn: number;
  /** Sorts as the lsn does. */
  bookmark: string;
}

export interface HistoryInfo {
  current: HistoryMark;
  /** The oldest point that can still be read or restored. */
  oldest: HistoryMark;
  /** The earliest time a point may name (ms since the epoch), or null. */
  oldestTime: number | null;
  /** How far back history reaches at most (ms). */
  windowMs: number;
  /** Storage bytes history takes. */
  bytes: number;
  /** Log rows kept at most: history reaches back about this many commits. */
  logRows: number;
}

export interface DiffOptions {
  /** The later point; the present when omitted. */
  to?: HistoryPoint;
  /** Only these tables. */
  tables?: string[];
  /** At most this many changes (1..100000, default 10000); `more` says whether there were more. */
  limit?: number;
}

export interface DiffResult<T = Record<string, unknown>> {
  from: HistoryMark;
  to: HistoryMark;
  /** Tables, indexes, views and triggers whose SQL differs (null: absent at that point). */
  schema: { type: string; name: string; before: string | null; after: string | null }[];
  /** Keyed by rowid (or primary key, WITHOUT ROWID); the shape of change events. */
  changes: { table: string; type: 'insert' | 'update' | 'delete'; data: T; old?: T }[];
  more: boolean;
}

export interface BranchResult {
  name: string;
  from: HistoryMark;
  pageSize: number;
  pages: number;
  bytes: number;
  /** With the cold tier: pages the branch received (no R2 object held them as of `from`). */
  copiedPages?: number;
  /** With the cold tier: pages the branch reads from its parent's R2 objects, not copied. */
  sharedPages?: number;
  /** With the cold tier: storage rows the branch wrote (billed as rows written). */
  rowsWritten?: number;
}

export interface RestoreResult {
  restoredTo: HistoryMark;
  /** The newest point before the restore: restore to it to undo the restore. */
  before: HistoryMark;
  /** The newest point after it. */
  current: HistoryMark;
  pagesWritten: number;
}

export interface DoSQLStats {
  wasmMemoryBytes: number;
  faults: number;
  /** SQLite-backed: rowsRead, rowsWritten, pagesRead, pagesWritten, commits;
   *  with a cold tier also pageSize, pageCount, hotBytes, hotBudgetBytes, coldBytes,
   *  coldGroups, sharedGroups, heldObjects, groupPages, garbageObjects, hotReads, coldReads, hitRate,
   *  promotedGroups, demotedGroups, r2Reads, r2Writes, r2Deletes, r2BytesRead,
   *  r2BytesWritten;
   *  key-value: keysRead, keysWritten, keysDeleted, fetches, commits, cacheBytes. */
  storage: Record<string, number>;
  /** Change subscribers now: NDJSON and SSE streams, and WebSockets. */
  subscribers: { streams: number; sockets: number };
  /** The POST /import in progress: bytes of the file received, pages staged in storage; null when none. */
  importing: { receivedBytes: number; stagedPages: number } | null;
}

/** The answer of a POST /import that replaced the database. */
export interface ImportResult {
  pageSize: number;
  pages: number;
  bytes: number;
}

/** A DoSQLDatabase class with these migrations; export it under your binding's class_name. */
export declare function defineDoSQL(options?: DoSQLOptions): typeof DoSQLDatabase;

/**
 * The standalone worker's router: GET /health, and /db/<tenant>/<endpoint> forwarded
 * to env.DOSQL_DB's object for that tenant when Authorization is "Bearer <env.DOSQL_TOKEN>";
 * libSQL clients over HTTP and WebSocket (docs/hrana.md). Pass the Worker's ctx so that a
 * libSQL socket's streams are closed (their transactions rolled back) after it closes.
 */
export declare function route(
  request: Request,
  env: { DOSQL_TOKEN?: string; DOSQL_DB?: DurableObjectNamespace<any> },
  ctx?: { waitUntil(promise: Promise<unknown>): void },
): Promise<Response>;

// ---- the client (worker-shim/src/client/client.js) ----------------------------------------

/** Anything with a fetch like a Durable Object stub's. */
export interface StubLike {
  fetch(url: string, init?: RequestInit): Promise<Response>;
}

/**
 * Parameters: an array for `?`/`?NNN`, an object for `:name`/`@name`/`$name`.
 * bigint travels exactly; Uint8Array/ArrayBuffer/other ArrayBufferViews as blobs;
 * booleans bind as 1/0; a Date as its ISO string.
 */
export type SQLValue = string | number | bigint | boolean | null | Uint8Array | ArrayBuffer | ArrayBufferView | Date;
export type SQLParams = unknown[] | Record<string, unknown>;
/** A row as it comes back: by column name, each value as SQLite holds it (a bigint past 2^53). */
export type SQLRow = Record<string, string | number | bigint | null | Uint8Array>;

export interface RunResult {
  rowsAffected: number;
  /** The rowid this statement inserted (0 if none); a bigint past 2^53. */
  lastInsertRowId: number | bigint;
}

export interface BatchStatement {
  sql: string;
  params?: SQLParams;
}

export interface BatchResult<T = Record<string, unknown>> extends RunResult {
  rows: T[];
}

/** query/queryOne/run/batch/exec, inside a transaction or outside any. */
export interface TransactionClient {
  /** Rows; INTEGER past 2^53 comes back as bigint, BLOB as Uint8Array. */
  query<T = Record<string, unknown>>(sql: string, params?: SQLParams): Promise<T[]>;
  /** The first row, or null when there is none. */
  queryOne<T = Record<string, unknown>>(sql: string, params?: SQLParams): Promise<T | null>;
  run(sql: string, params?: SQLParams): Promise<RunResult>;
  /** All or nothing (inside a transaction: a savepoint; the transaction stays open after a failure). */
  batch<T = Record<string, unknown>>(statements: Array<BatchStatement | string>): Promise<BatchResult<T>[]>;
  /** A script of statements (split by SQLite's parser), all or nothing. */
  exec(sql: string): Promise<{ count: number }>;
}

export interface TransactionOptions {
  /** Idle timeout (ms), 100..60000, default 5000: the transaction is rolled back when no request of it runs for that long. */
  timeoutMs?: number;
}

export interface DatabaseClient extends TransactionClient {
  /**
   * One interactive transaction: fn's statements see each other's writes and
   * nobody else sees them before the commit (other requests to the database wait).
   * Commits when fn resolves (and returns its value); rolls back and rethrows when
   * it throws.
   */
  transaction<T>(fn: (tx: TransactionClient & { readonly txId: string }) => T | Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * The committed changes of these tables (all tables when omitted), in commit
   * order (docs/changes.md): change events with decoded rows, plus `gap` and
   * `ready`. The request is sent on the first `next()`. Ends when the signal
   * aborts or the iterator is returned (`break`), which cancels the stream; an
   * `end` from the database (e.g. SUBSCRIBER_TOO_SLOW) or an error answer
   * (TOO_MANY_SUBSCRIBERS, BAD_REQUEST) throws a DoSQLError.
   */
  subscribe<T = Record<string, unknown>>(tables?: string[] | null, options?: SubscribeOptions): AsyncIterableIterator<SubscriptionEvent<T>>;
  /** Read-only reads of the database as it was at a point (docs/history.md); POINT_TOO_OLD (410) past the window. */
  asOf(point: HistoryPoint): Pick<TransactionClient, 'query' | 'queryOne' | 'batch'>;
  /** The row changes between two points (`to`: the present when omitted), and the schema objects that differ. */
  diff<T = Record<string, unknown>>(from: HistoryPoint, options?: DiffOptions): Promise<DiffResult<T>>;
  /** A new database, the tenant `name`, holding this one as of a point (the present by default); 409 BRANCH_EXISTS when it holds rows. */
  branch(name: string, from?: HistoryPoint): Promise<BranchResult>;
  /** The points history keeps. */
  history(): Promise<HistoryInfo>;
  /** The whole database back as it was at a point, as one new commit; change streams end with DATABASE_RESTORED. */
  restore(to: HistoryPoint): Promise<RestoreResult>;
}

export interface SubscribeOptions {
  /** The last lsn seen: every event after it is delivered once, in order. Omitted: from now on. */
  since?: number;
  /** Aborting ends the iteration and cancels the stream (pass `request.signal`). */
  signal?: AbortSignal;
}

/** One committed row change. Values decoded as query results are (bigint past 2^53, Uint8Array). */
export interface ChangeEvent<T = Record<string, unknown>> {
  /** 1, 2, 3, … per database, gap-free, in commit order. */
  lsn: number;
  /** The lsn of the first event of the same commit. */
  txId: number;
  /** ms since the epoch when the transaction first changed a row. */
  timestamp: number;
  type: 'insert' | 'update' | 'delete';
  table: string;
  /** The new row; for a delete, the deleted row. */
  data: T;
  /** Updates only: the row before. */
  old?: T;
}

/** Events after `since` were pruned: reload your state; the stream continues after `head`. */
export interface GapEvent {
  type: 'gap';
  since: number;
  head: number;
}

/** Every stored event up to `lsn` was delivered; from here on events are live. */
export interface ReadyEvent {
  type: 'ready';
  lsn: number;
}

export type SubscriptionEvent<T = Record<string, unknown>> = ChangeEvent<T> | GapEvent | ReadyEvent;

export interface EventStreamOptions {
  /** Aborting closes the response and cancels the subscription. */
  signal?: AbortSignal;
  /** A `: keepalive` comment this often (ms), so proxies keep an idle stream open. Default 15000. */
  keepAliveMs?: number;
  /** The `retry:` hint: how long an EventSource waits before reconnecting (ms). Default 3000. */
  retryMs?: number;
}

/**
 * A `text/event-stream` Response relaying events (e.g. `db.subscribe(...)`) to a
 * browser's EventSource, one SSE message per event: change events as messages with
 * `id: <lsn>`, `gap`/`ready`/`end` as named events (with the lsn to resume after
 * as id), data as the database's JSON ({$bigint}, {$blob}). An error of the
 * iterator becomes a last `end` event `{type, code, error}`. When the browser
 * disconnects, the subscription is cancelled.
 *
 * ```ts
 * // src/routes/api/events/users/+server.ts, with locals.db from src/hooks.server.ts
 * export const GET: RequestHandler = ({ locals, request }) =>
 *   eventStream(locals.db.subscribe(['users'], { since: lastEventId(request), signal: request.signal }));
 * ```
 */
export declare function eventStream(events: AsyncIterable<unknown>, options?: EventStreamOptions): Response;

/**
 * Where an EventSource left off: its `Last-Event-ID` header (sent on reconnect), else
 * the `since` query parameter; undefined when neither is a whole number.
 */
export declare function lastEventId(request: Request): number | undefined;

/** Every failure: message is SQLite's own text where SQLite failed; code is stable. */
export declare class DoSQLError extends Error {
  constructor(message: string, details?: { code?: string; status?: number; operation?: number; statement?: string; offset?: number; statementOffset?: number; sqliteCode?: string; cause?: unknown });
  readonly name: 'DoSQLError';
  /** e.g. "SQLITE_CONSTRAINT_UNIQUE", "TRANSACTION_EXPIRED", "TRANSACTION_ABORTED". */
  code: string;
  /** HTTP status of the answer. */
  status: number;
  /** Index of the failing statement of a batch or /transaction. */
  operation?: number;
  /** TRANSACTION_STATEMENT: which statement sql was ("begin", "commit" or "rollback"). */
  statement?: string;
  /** Byte offset in sql where SQLite found the error (a syntax error, say). */
  offset?: number;
  /** /exec: byte offset in the script where the failing statement begins. */
  statementOffset?: number;
  /** TRANSACTION_ABORTED by SQLite's failure (a constraint of INSERT OR ROLLBACK, a deferred
   *  foreign key at COMMIT): SQLite's code, e.g. "SQLITE_CONSTRAINT_FOREIGNKEY". */
  sqliteCode?: string;
}

/**
 * The client of one tenant's database. Accepts SvelteKit's `platform`
 * (platform.env.DOSQL_DB), an `env` with DOSQL_DB, the namespace itself, or the
 * object's stub (then tenantId is not used).
 */
export declare function getDB(
  platformOrNamespace: { env: { DOSQL_DB: DurableObjectNamespace<any> } } | { DOSQL_DB: DurableObjectNamespace<any> } | DurableObjectNamespace<any> | StubLike,
  tenantId?: string,
): DatabaseClient;

/** The client over one stub (anything with fetch(url, init)). */
export declare function createClient(stub: StubLike): DatabaseClient;
/** The DoSQLError an error from DoSQLDatabase's RPC methods stands for (any other error as it is). */
export declare function fromRpcError(err: unknown): unknown;

/** Parameters as they travel (bigint → {$bigint}, bytes → {$blob}, Date → ISO string). */
export declare function encodeParams(params?: SQLParams): unknown;
export declare function encodeValue(value: unknown): unknown;
/** A value from the wire: {$bigint} → bigint, {$blob} → Uint8Array, {$real} → ±Infinity. */
export declare function decodeValue(value: unknown): unknown;
export declare function decodeRow(row: Record<string, unknown>): Record<string, unknown>;

// ---- DB(): your own Durable Object class (src/durable-object/embedded.js) --------------------------------

export interface DBOptions {
  /**
   * `[{name, sql}]` in order: the default export of the module that
   * bin/bundle-migrations.mjs writes. `{ folder }` is refused (Workers have no file
   * system): bundle the folder with `[build] command = "node node_modules/dosql/bin/bundle-migrations.mjs .do/migrations src/migrations.generated.js"`.
   */
  migrations?: Migration[];
  storage: {
    /** The object's `ctx.storage` (`this.state.storage`): SQLite-backed or key-value. */
    hot: DurableObjectStorage;
    /**
     * The R2 cold tier (docs/storage.md): an R2 bucket binding (`env.BUCKET`, as the
     * guide passes it) or {@link DBColdTierOptions}; undefined for none. SQLite-backed
     * `hot` only: a key-value object warns once and keeps every page hot.
     */
    cold?: R2Bucket | DBColdTierOptions;
  };
  /** Page size (bytes) of a new database: a power of two from 512 to 65536. */
  pageSize?: number;
  /** Page cache budget (bytes) for legacy key-value backed objects. */
  cacheBytes?: number;
  /** Each request's CPU budget in milliseconds (default 3000, at most 300000): a
   *  request over it answers 400 CPU_LIMIT and the object stays healthy. */
  cpuBudgetMs?: number;
  /**
   * The object's DurableObjectState, optional: start-up (open + migrations) then runs
   * inside `ctx.blockConcurrencyWhile`, a key-value commit whose write throws half
   * way resets the object with `ctx.abort()`, and change subscribers may use
   * WebSockets.
   */
  ctx?: DurableObjectState;
  /**
   * Change capture (docs/changes.md): on by default; `false` turns it off. Pruning
   * runs from the class's `alarm()` when it calls `db.alarm()`; in a class without
   * `alarm()`, after commits, at most once a minute.
   */
  changes?: ChangesOptions;
}

/**
 * The database of one Durable Object, used in-process: the same query/queryOne/run/
 * batch/transaction/subscribe as the client (real results inside transactions,
 * DoSQLError). Inside `transaction(fn)` use `tx`, not the Database: other calls wait
 * for the transaction to end.
 */
export interface Database extends DatabaseClient {
  /**
   * Answer any request of DoSQL's wire protocol (docs/protocol.md) exactly as the
   * `DoSQLDatabase` class does: `/query`, `/run`, `/batch`, `/transaction`, `/exec`,
   * `/begin`/`/commit`/`/rollback` (interactive transactions, with the
   * `X-DoSQL-Transaction` header), `/changes`, `/subscribe`, `/export`, `/import`,
   * `/stats`; 404 `NOT_FOUND` for any other path. A class of your own that routes
   * some paths itself ends its `fetch` with `return db.serve(request)`, and then
   * `getDB`/`createClient` from `dosql/client` work against it, transactions included.
   */
  serve(request: Request): Promise<Response>;
  /**
   * Answer a request as `/subscribe` does (docs/changes.md), whatever its path:
   * NDJSON for a POST, Server-Sent Events or a WebSocket (needs `ctx`) for a GET.
   * Only subscriptions: no SQL reaches the database through it.
   */
  serveSubscribe(request: Request): Promise<Response>;
  /**
   * Answer a request as `POST /import` does, whatever its path: the SQLite file in
   * its body (streamed) replaces the database, atomically, after it is checked;
   * `200` with an {@link ImportResult}, or a `4xx` `{error, code}` and nothing changed.
   */
  serveImport(request: Request): Promise<Response>;
  /** Call from your class's `alarm()`: prunes the change log, sets the next alarm. */
  alarm(): Promise<void>;
  /** Storage upkeep (the cold tier); runs by itself after requests. Resolves when finished. */
  maintainStorage(): Promise<void>;
  /** The object's numbers, as `DoSQLDatabase.stats()`. */
  stats(): Promise<DoSQLStats>;
  /** Call from your class's `webSocketClose(ws, ...)` when you serve WebSocket subscribers. */
  webSocketClose(ws: WebSocket): void;
  /** Call from your class's `webSocketError(ws, error)` when you serve WebSocket subscribers. */
  webSocketError(ws: WebSocket): void;
}

/**
 * Open the database kept in this Durable Object's storage (created and migrated on
 * first use). One Database per object: calls with the same storage and options
 * return the same Database (also while it is being opened); other options reject.
 * `name` is used in logs only. Rejects with a DoSQLError (e.g. MIGRATION_FAILED,
 * BAD_CONFIG); a failed DB() is not kept, so the next call tries again.
 */
export declare function DB(name: string, options: DBOptions): Promise<Database>;

// ---- D1 facade (src/client/d1.js, docs/d1.md) ----

export interface D1FacadeOptions {
  /** Idle timeout (ms) of a transaction opened by a BEGIN statement; default the object's (5000). */
  transactionTimeoutMs?: number;
  /** Integers beyond 2^53 in results: a rounded number as D1 gives (default), or an exact BigInt. */
  int64?: 'number' | 'bigint';
}

/**
 * `RowId`: the type of `last_row_id`, a number as in D1, or `number | bigint` for a
 * facade made with `int64: 'bigint'` (exact past 2^53, as its rows are).
 */
export interface D1Meta<RowId extends number | bigint = number> {
  served_by: string;
  /** Milliseconds, measured by the facade around the request. */
  duration: number;
  changes: number;
  /** The rowid this statement inserted, 0 if none (D1 keeps the connection's last one). */
  last_row_id: RowId;
  changed_db: boolean;
  /** Not measured by DoSQL: always 0. */
  rows_read: number;
  /** The rows changed (D1 also counts index writes). */
  rows_written: number;
  /** The database's size in bytes as the statement left it (inside a transaction: as it sees it). */
  size_after: number;
}

export interface D1Result<T = Record<string, unknown>, RowId extends number | bigint = number> {
  success: true;
  results: T[];
  /** As D1's: the fields above, and none that code may rely on beyond them. */
  meta: D1Meta<RowId> & Record<string, unknown>;
}

export interface D1ExecResult {
  count: number;
  duration: number;
}

/** D1's D1PreparedStatement. Blobs come back as arrays of byte values, as in D1. */
export declare class DoSQLD1PreparedStatement<RowId extends number | bigint = number> {
  readonly sql: string;
  readonly params: unknown[];
  /** A new statement with these parameters: booleans bind as 1/0; BigInt as an exact integer. */
  bind(...values: unknown[]): DoSQLD1PreparedStatement<RowId>;
  all<T = Record<string, unknown>>(): Promise<D1Result<T, RowId>>;
  run<T = Record<string, unknown>>(): Promise<D1Result<T, RowId>>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  first<T = unknown>(column: string): Promise<T | null>;
  raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  raw<T = unknown[]>(options?: { columnNames?: false }): Promise<T[]>;
}

/**
 * D1's D1Database over one DoSQL database. `BEGIN` / `COMMIT` / `ROLLBACK` statements
 * open and end an interactive transaction of this instance: use one instance per request.
 */
export declare class DoSQLD1Database<RowId extends number | bigint = number> {
  constructor(stub: StubLike, options?: D1FacadeOptions);
  prepare(sql: string): DoSQLD1PreparedStatement<RowId>;
  /** All or nothing, one result per statement. */
  batch<T = Record<string, unknown>>(statements: DoSQLD1PreparedStatement<RowId>[]): Promise<D1Result<T, RowId>[]>;
  /** A script of `;`-separated statements (split as SQLite does), all or nothing. */
  exec(sql: string): Promise<D1ExecResult>;
  /** Not supported: rejects. */
  dump(): Promise<ArrayBuffer>;
  withSession(constraintOrBookmark?: string): {
    prepare(sql: string): DoSQLD1PreparedStatement<RowId>;
    batch<T = Record<string, unknown>>(statements: DoSQLD1PreparedStatement<RowId>[]): Promise<D1Result<T, RowId>[]>;
    getBookmark(): null;
  };
}

/** What toD1 takes: a stub, the namespace, an env with DOSQL_DB, or SvelteKit's platform. */
export type D1Target = StubLike | DurableObjectNamespace<any> | { DOSQL_DB: DurableObjectNamespace<any> } | { env: { DOSQL_DB: DurableObjectNamespace<any> } };

/**
 * A D1Database facade: `toD1(env.DOSQL_DB, tenantId)` (or platform, an env with DOSQL_DB,
 * or a stub) where D1 code used `env.DB`. With `int64: 'bigint'`, `meta.last_row_id`
 * is `number | bigint`, so that facade is no longer a `D1Database` by type (D1 declares
 * a number there): an ORM that takes a D1Database takes the default facade.
 */
export declare function toD1<Int64 extends 'number' | 'bigint' = 'number'>(
  target: D1Target,
  tenantId?: string,
  options?: D1FacadeOptions & { int64?: Int64 },
): DoSQLD1Database<'bigint' extends Int64 ? number | bigint : number>;
