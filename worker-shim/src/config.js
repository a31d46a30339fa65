// config.js — every tunable of the shim, in one module that imports nothing (so
// Node can load it without the wasm module), as src/config.h holds the engine's.
// What the engine decides (limits, timeouts, page sizes) is read from its
// contract (wasm/contract.js), not restated here.

/** Wasm memory never shrinks: past this much in use, the engine is started afresh
 *  after the request, so the objects sharing an isolate's 128 MB do not keep its peak.
 *  SQLite's page cache (16 MiB, DOSQL_CACHE_KIB) and a working heap stay below it.
 *  The memory's size may exceed its use by the contract's heapGrowAheadBytes
 *  (src/heap.c), which the check allows for. */
export const RECYCLE_MEMORY_BYTES = 48 * 1024 * 1024;

// ---- libSQL over WebSocket (hrana-socket.js, docs/hrana.md): what one socket may hold
/** Streams open at once. @libsql/client opens one for each call, so as many as
 *  requests may be in flight; the database keeps 64 streams in all, dropping the one
 *  idle longest (docs/hrana.md), as it does for HTTP clients. */
export const SOCKET_MAX_STREAMS = 1024;

/** How long a libSQL WebSocket may stay open without its hello (clients send it at
 *  once): a socket opened and left silent, with no token, would hold the Worker. */
export const SOCKET_HELLO_MS = 10_000;
/** Requests waiting for their answers, by count and by bytes of their messages: past
 *  either, a request is refused (TOO_MANY_REQUESTS) and the socket stays. The bytes
 *  also bound one request with its stored SQL copied in (PAYLOAD_TOO_LARGE). */
export const SOCKET_MAX_IN_FLIGHT = 1024;
export const SOCKET_MAX_IN_FLIGHT_BYTES = 16 * 1024 * 1024;
/** SQL texts store_sql keeps for the connection, by count and bytes of their JSON strings (@libsql/client
 *  stores up to 30 texts of under 5,000 characters). */
export const SOCKET_MAX_SQL = 128;
export const SOCKET_MAX_SQL_BYTES = 256 * 1024;

// ---- Requests waiting their turn (durable-object/transaction-gate.js)
/** Requests that may wait behind an open transaction (or the requests before them),
 *  by count and by bytes of their bodies, which each holds while it waits: past
 *  either a request is refused (TOO_MANY_REQUESTS), so that a client keeping a
 *  transaction open cannot pile bodies up past the isolate's 128 MB. */
export const WAITING_MAX_REQUESTS = 1024;
export const WAITING_MAX_BYTES = 16 * 1024 * 1024;

/** A transaction's idle timer that fires this late (the isolate ran other work, another
 *  database's long query, meanwhile) waits IDLE_GRACE_MS more once: a request of the
 *  transaction that arrived in time may be queued behind that work. */
export const IDLE_LATE_MS = 50;
export const IDLE_GRACE_MS = 200;

// ---- Import (durable-object/file-import.js)
/** Pages staged per storage write (the key-value backend's most keys per call). */
export const PAGES_PER_WRITE = 128;

// ---- Request bodies (durable-object/request-body.js)
/** Read and thrown away before refusing a body (the rest is cancelled): a client
 *  still sending when the connection closes sees a reset instead of the answer.
 *  1 MiB was too little: a 9 MiB body was answered by a reset one time in three. */
export const DRAIN_BYTES = 64 * 1024 * 1024;

// ---- Pages in SQLite-backed storage (storage/sql.js, docs/storage-format.md)
/** Log rows kept: a row's slot is reused this many rows later. They are the history
 *  (docs/history.md): a point is available while its log rows are, and no older than
 *  HISTORY_WINDOW_MS. Fixed by a database's first commit. */
export const LOG_SLOTS = 16384;
/** How far back history reaches at most; older segments and log rows are deleted at a checkpoint. */
export const HISTORY_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
/** The most bytes history keeps (log rows past the checkpoint and replaced versions), so
 *  that large commits cannot fill an object's 10 GB: the oldest spans go first. */
export const HISTORY_MAX_BYTES = 1024 * 1024 * 1024;
/** A checkpoint folds the log into its groups once it holds this many rows, or this many
 *  bytes of distinct pages (their newest versions are kept in memory until then). Each
 *  fold rewrites every group the log touched, so random-key writes pay for it by how
 *  often it runs: at 256 rows a one-row INSERT into a 100,000-row table took 0.60 ms in
 *  the Worker, at 1,024 0.53 ms (tests/bench/run.mjs, alternated). */
export const CHECKPOINT_ROWS = 1024;
export const CHECKPOINT_BYTES = 8 * 1024 * 1024;
/** Every this many log rows since the checkpoint, a commit also writes what they say (the
 *  log index, storage/sql.js): an open reads it and at most this many rows after it, not
 *  the whole log since the checkpoint (each row costs an open about 2.5 µs). */
export const LOG_INDEX_ROWS = 256;
/** A checkpoint replaces a group's pages in place, inside workerd's SQLite, when the log
 *  touched no more than this many of them (storage/sql.js #spliceOffsets); else it rewrites it. */
export const SPLICE_PAGES = 8;
/** Page bytes in one log row: Durable Objects take values up to 2 MB. */
export const LOG_ROW_BYTES = 1024 * 1024;
/** A log row keeps a page as the bytes that changed since its previous version in the
 *  log (a one-row insert writes about 250 bytes a page instead of 4 KiB), at most this
 *  many deltas in a row: reading a page the instance does not hold reads that many
 *  records at most. */
export const LOG_DELTA_CHAIN = 16;
/** A hot group holds this many bytes of pages, at most HOT_GROUP_PAGES (32 at 4 KiB):
 *  fixed by a database's first commit. */
export const HOT_GROUP_BYTES = 128 * 1024;
export const HOT_GROUP_PAGES = 32;
/** Groups kept in memory after a read (a scan reads each group's row once). */
export const GROUP_CACHE_BYTES = 8 * 1024 * 1024;
/** Log rows and history segments kept in memory after a read: SQLite reads every byte
 *  of a blob even for substr(), so a row is read whole, once for all its pages (a scan
 *  of a large commit's pages read each of its 1 MiB rows once per page before). */
export const LOG_CACHE_BYTES = 2 * 1024 * 1024;

// ---- The R2 cold tier (storage/tiered.js)
export const DEFAULT_HOT_BYTES = 1024 * 1024 * 1024;
/** 256 KiB at the default page size. */
export const DEFAULT_GROUP_PAGES = 64;
/** An object is downloaded whole on a fault (16 MiB at 64 KiB pages). */
export const MAX_GROUP_PAGES = 256;
/** A few groups must fit. */
export const MIN_HOT_BYTES = 1024 * 1024;

/** Groups per row of the cold tier's manifest (storage/cold-manifest.js): a 1 GB database in
 *  groups of 64 pages reads 63 rows at start, and a branch of it writes as many. */
export const MANIFEST_CHUNK_GROUPS = 64;
/** Object names per row of a branch's holds (about 120 bytes each: rows stay far below 2 MB). */
export const HOLD_PART_OBJECTS = 2048;

/** Pages fetched before opening a database whose storage can fault. */
export const OPEN_READ_AHEAD = 64;

// ---- Export (durable-object/file-export.js)
/** Pages per chunk (256 KiB at the default page size). */
export const PAGES_PER_CHUNK = 64;
/** A reader that pulls nothing for this long (ms) is cut off and the gate freed. */
export const IDLE_MS = 30_000;

/** Ended txIds remembered, with why they ended (durable-object/transaction-gate.js). */
export const ENDED_MEMORY = 64;

// ---- Change log retention and streams (changes/)
export const DEFAULT_RETAIN_EVENTS = 10_000;
export const DEFAULT_RETAIN_MS = 7 * 24 * 60 * 60 * 1000;
/** Bytes of events the log keeps at most (its rows' cols and events): a row of large values repeats them in every event. */
export const DEFAULT_RETAIN_BYTES = 64 * 1024 * 1024;
/** A commit wants the log pruned within this many ms; nor is an alarm set sooner. */
export const ALARM_DELAY_MS = 60_000;
/** Streaming subscribers (NDJSON and SSE) per object; WebSockets are the platform's to bound. */
export const MAX_STREAMS = 1000;
/** Keeps proxies from closing idle streams. */
export const KEEPALIVE_MS = 15_000;
/** How long a restore or an import, holding the database, waits in all for live
 *  streams' readers to take the events committed before it (ChangeFeed.flush). */
export const FLUSH_MS = 2_000;
/** Unread bytes a stream may have queued before it is too slow. */
export const MAX_UNREAD_BYTES = 1024 * 1024;
/** Unread bytes all of an object's streams may have queued together: MAX_STREAMS times
 *  MAX_UNREAD_BYTES would be far past an isolate's 128 MB. */
export const MAX_UNREAD_TOTAL_BYTES = 32 * 1024 * 1024;
/** Bytes of stored events a WebSocket's catch-up sends before it ends (SUBSCRIBER_TOO_SLOW,
 *  to subscribe again from the last lsn): the runtime buffers a socket's messages whole and
 *  cannot say how far its reader got, so a socket reading the whole log back from an old
 *  lsn would have the log held in memory for it. */
export const SOCKET_CATCH_UP_BYTES = 8 * 1024 * 1024;

// ---- Page faults (wasm/engine.js): the window starts at DEFAULT_READ_AHEAD pages,
// doubles on each further fault (of a request, or soon after one that aborted a
// transaction) up to DEFAULT_MAX_READ_AHEAD, and a
// request gives up after DEFAULT_MAX_FAULTS faults (503 FAULT_LIMIT).
export const DEFAULT_READ_AHEAD = 64;
export const DEFAULT_MAX_READ_AHEAD = 4096;
export const DEFAULT_MAX_FAULTS = 64;
/** A fault within this long of one that aborted a transaction fetches with the window
 *  that one left: the retry of a transaction a fault aborted (TRANSACTION_ABORTED, docs/transactions.md)
 *  is a new request, and the pages it reads next are most often the ones after. */
export const FAULT_WINDOW_KEEP_MS = 1000;

/** Heap an instance made ahead (wasm/engine.js) grows and writes to before it waits for
 *  an object: about what a start grows it by (640 KiB -> 1.6 MiB for a first point
 *  SELECT), so that the page faults of that memory's first writes, and its grows, are
 *  not paid in the request that starts the object. */
export const SPARE_HEAP_BYTES = 1024 * 1024;
/** How long after an engine's first answer is ready its successor's spare is made (ms). A
 *  spare takes a few ms (instantiation, and SPARE_HEAP_BYTES of page faults): on a timer
 *  of 0 it was often made before that answer had reached the caller, which then waited
 *  for it; starts in a running isolate with idle time between them read 1.9-2.1x native
 *  instead of 1.6x (BENCHMARKS.md, twenty-seventh session). A start sooner than this
 *  after the last one instantiates its own, as it would with no spare. */
export const SPARE_DELAY_MS = 5;

/** The key-value backend's cache: with SQLite's own 16 MiB, an object stays near
 *  a quarter of an isolate's 128 MB. */
export const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;
