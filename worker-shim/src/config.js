// config.js — every tunable of the shim, in one module that imports nothing (so
// Node can load it without the wasm module), as src/config.h holds the engine's.
// What the engine decides (limits, timeouts, page sizes) is not restated here:
// the shim reads it from the module's contract (wasm/contract.js).

// ---- Memory (durable-object/instance.js)

/** Wasm memory never shrinks. When one big query has grown it past this, the
 *  engine is started afresh after the request (its pages stay in storage), so
 *  the objects that share an isolate's 128 MB do not keep its peak. SQLite's
 *  page cache (16 MiB, DOSQL_CACHE_KIB) and a working heap stay well below it. */
export const RECYCLE_MEMORY_BYTES = 48 * 1024 * 1024;

// ---- Import (durable-object/file-import.js)

/** Pages staged per storage write (the key-value backend's most keys per call). */
export const PAGES_PER_WRITE = 128;
/** Before refusing a file, up to this much more of the body is read and thrown
 *  away (the rest is cancelled): an HTTP client that is still sending when the
 *  connection closes sees a reset instead of the answer. */
export const DRAIN_BYTES = 1024 * 1024;

// ---- The R2 cold tier (storage/tiered.js)

/** Default hot budget (bytes). */
export const DEFAULT_HOT_BYTES = 1024 * 1024 * 1024;
/** Default pages per R2 object (256 KiB at the default page size). */
export const DEFAULT_GROUP_PAGES = 64;
/** Largest group: an object is downloaded whole on a fault (16 MiB at 64 KiB pages). */
export const MAX_GROUP_PAGES = 256;
/** Smallest hot budget: a few groups must fit. */
export const MIN_HOT_BYTES = 1024 * 1024;

// ---- Start-up (durable-object/instance.js)

/** Pages fetched before opening a database whose storage can fault. */
export const OPEN_READ_AHEAD = 64;

// ---- Export (durable-object/file-export.js)

/** Pages read and sent per chunk (256 KiB at the default page size). */
export const PAGES_PER_CHUNK = 64;
/** A reader that pulls nothing for this long (ms) is cut off and the gate freed. */
export const IDLE_MS = 30_000;

// ---- Interactive transactions (durable-object/transaction-gate.js)

/** How many ended txIds are remembered, with why they ended. */
export const ENDED_MEMORY = 64;

// ---- Change log retention (changes/retention.js)

/** Events kept by default. */
export const DEFAULT_RETAIN_EVENTS = 10_000;
/** Age of the oldest event kept by default (ms): 7 days. */
export const DEFAULT_RETAIN_MS = 7 * 24 * 60 * 60 * 1000;
/** A commit wants the log pruned within this many ms; nor is an alarm set sooner. */
export const ALARM_DELAY_MS = 60_000;

// ---- Change streams (changes/feed.js, changes/subscribers.js)

/** Streaming subscribers (NDJSON and SSE) per object; WebSockets are the platform's to bound. */
export const MAX_STREAMS = 1000;
/** A keepalive line (NDJSON) or comment (SSE) this often keeps proxies from closing idle streams. */
export const KEEPALIVE_MS = 15_000;
/** Unread bytes a stream may have queued before it is too slow. */
export const MAX_UNREAD_BYTES = 1024 * 1024;

// ---- Page faults (wasm/engine.js)

/** Fault handling defaults: pages fetched per fault start at this window... */
export const DEFAULT_READ_AHEAD = 64;
/** ...double on each further fault of the same request up to this... */
export const DEFAULT_MAX_READ_AHEAD = 4096;
/** ...and a request gives up after this many faults (503 FAULT_LIMIT). */
export const DEFAULT_MAX_FAULTS = 64;

// ---- The key-value backend (storage/kv.js)

/** Default cache budget (bytes): with SQLite's own 16 MiB cache, an object stays
 *  near a quarter of an isolate's 128 MB. */
export const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;
