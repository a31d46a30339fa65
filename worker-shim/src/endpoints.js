// endpoints.js — every path a client may send to a database, for the standalone
// worker's router, which answers 404 for any other path before it touches (and
// so creates) a tenant's Durable Object.
//
// The engine's own routes are decided in C (src/handler.c, its route table);
// tests/worker/endpoints.test.js checks this list against the engine, so the
// two cannot drift. The host's routes are served by instance.js.

/** Routes the engine answers (src/handler.c), POST. */
export const ENGINE_ENDPOINTS = Object.freeze([
  '/query',
  '/run',
  '/transaction',
  '/batch',
  '/exec',
  '/begin',
  '/commit',
  '/rollback',
  '/changes',
]);

/** Routes the host serves itself (instance.js): streams and file transfer. */
export const HOST_ENDPOINTS = Object.freeze(['/subscribe', '/export', '/import', '/stats']);

const ALL = new Set([...ENGINE_ENDPOINTS, ...HOST_ENDPOINTS]);

/**
 * Whether a client may send path to a database.
 * @param {string} path  e.g. "/query"
 */
export function isEndpoint(path) {
  return ALL.has(path);
}
