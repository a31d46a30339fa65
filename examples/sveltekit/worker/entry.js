// One worker for the app and its database: the adapter's generated worker
// (npm run build) plus the Durable Object class it binds as DOSQL_DB.
export { default } from '../.svelte-kit/cloudflare/_worker.js';
export { DoSQLDatabase } from './dosql.js';
