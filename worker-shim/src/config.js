// config.js — tunables of the shim that tests and tools also read, in one module
// that imports nothing (so Node can load it without the wasm module). The
// engine's own tunables are in src/config.h.

/** Wasm memory never shrinks. When one big query has grown it past this, the
 *  engine is started afresh after the request (its pages stay in storage), so
 *  the objects that share an isolate's 128 MB do not keep its peak. SQLite's
 *  page cache (16 MiB, DOSQL_CACHE_KIB) and a working heap stay well below it. */
export const RECYCLE_MEMORY_BYTES = 48 * 1024 * 1024;
