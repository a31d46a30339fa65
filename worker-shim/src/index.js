// index.js — the public surface of the dosql package.
//
//   DoSQLDatabase   the Durable Object class, no migrations
//   defineDoSQL     the class with your migrations (and page size)
//   route           the standalone worker's router (bearer token, tenants)
//
// Importing this module needs the Workers runtime ('cloudflare:workers') and a
// bundler rule that turns dosql.wasm into a compiled module (wrangler's default).

export { DoSQLDatabase, defineDoSQL } from './database.js';
export { route } from './router.js';
