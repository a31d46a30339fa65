// index.js — the public surface of the dosql package.
//
//   DoSQLDatabase   the Durable Object class, no migrations
//   defineDoSQL     the class with your migrations (and page size)
//   DB              the database inside your own Durable Object class (the guide's DB())
//   route           the standalone worker's router (bearer token, tenants)
//   getDB, createClient, DoSQLError   the client (interactive transactions, batches,
//                   subscribe); eventStream, lastEventId relay change streams as SSE
//   toD1            a D1Database facade (D1 code and ORMs' D1 drivers; BEGIN works)
//
// Importing this module needs the Workers runtime ('cloudflare:workers') and a
// bundler rule that turns dosql.wasm into a compiled module (wrangler's default).

export { DoSQLDatabase, defineDoSQL } from './durable-object/class.js';
export { DB } from './durable-object/embedded.js';
export { route } from './router.js';
export {
  getDB, createClient, DoSQLError, fromRpcError, encodeParams, encodeValue, decodeRow, decodeValue, eventStream, lastEventId,
} from './client/client.js';
export { toD1, DoSQLD1Database, DoSQLD1PreparedStatement } from './client/d1.js';
