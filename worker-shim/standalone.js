// standalone.js — the default worker (`main` of the root wrangler.toml).
//
// One Durable Object per tenant behind a bearer token (src/router.js), each
// database migrated with this repository's migrations/ folder. Workers have no
// file system, so the folder is bundled at build time: wrangler's [build] command
// runs bin/bundle-migrations.mjs, which writes wasm/build/migrations.js.

import migrations from '../wasm/build/migrations.js';
import { defineDoSQL } from './src/durable-object/class.js';
import { route } from './src/router.js';

/** The class the DOSQL_DB binding names, with the bundled migrations. */
export const DoSQLDatabase = defineDoSQL({ migrations });

export default {
  /**
   * @param {Request} request
   * @param {Record<string, any>} env
   * @param {ExecutionContext} ctx
   */
  fetch(request, env, ctx) {
    return route(request, env, ctx);
  },
};
