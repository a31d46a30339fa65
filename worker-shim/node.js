// node.js — `import ... from 'dosql'` in Node (the "node" export condition).
//
// Server code runs in Node before it runs on workerd: `vite dev` evaluates a
// SvelteKit app's src/lib/server/db.ts in Node, and `vite build` then imports the
// built routes in Node to analyse them (and to prerender). src/index.js cannot load
// there: it imports 'cloudflare:workers' and dist/dosql.wasm, which only workerd and
// a Workers bundler know. So Node gets this module instead (and so does Vite, whose
// server build resolves the "node" condition too; dosql/vite keeps it external):
//
//   the client (getDB, createClient, DoSQLError, toD1, ...)   the real one
//   DB, DoSQLDatabase, defineDoSQL, route                     placeholders: a module
//       that defines the class still loads; using one fails, saying where it runs
//
// The Durable Object itself always runs from src/index.js, bundled by wrangler (its
// "workerd" condition comes first in package.json): in the deployed worker, in
// `wrangler dev`, and, for `vite dev`, in a second `wrangler dev` reached through
// the binding's script_name.
//
// The export names must match src/index.js.

export {
  getDB, createClient, DoSQLError, fromRpcError, encodeParams, encodeValue, decodeRow, decodeValue, eventStream, lastEventId,
} from './src/client/client.js';
export { toD1, DoSQLD1Database, DoSQLD1PreparedStatement } from './src/client/d1.js';

// Node's placeholders can also reach a worker: Vite bundles this file when it bundles
// dosql itself (a linked install) without dosql/vite's plugin. Harmless unless one is
// used there, so the error says which case it is.
const onWorkerd = globalThis.navigator?.userAgent === 'Cloudflare-Workers';

/** The error of a placeholder. @param {string} what */
function unavailable(what) {
  return new Error(
    onWorkerd
      ? `dosql: ${what} is Node's placeholder, which Vite bundled into this worker; add dosql() from 'dosql/vite' to the plugins in vite.config.ts`
      : `dosql: ${what} runs in the Durable Object on workerd, not in Node (vite dev, SvelteKit's build); ` +
          'serve the class with wrangler dev and reach it through its binding (getDB from dosql/client)',
  );
}

/** Placeholder of DB(): rejects (the real one resolves to the Database). @returns {Promise<never>} */
export function DB() {
  return Promise.reject(unavailable('DB()'));
}

/** Placeholder of the class: defining or extending it works, constructing it throws. */
export class DoSQLDatabase {
  constructor() {
    throw unavailable('DoSQLDatabase');
  }
}

/** Placeholder of defineDoSQL(): a top-level call still loads (the options are checked on workerd). */
export function defineDoSQL() {
  return class extends DoSQLDatabase {};
}

/** Placeholder of the standalone router. @returns {Promise<never>} */
export function route() {
  return Promise.reject(unavailable('route()'));
}
