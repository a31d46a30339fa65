// vite.js — dosql/vite: the Vite plugin for apps whose server code imports dosql
// (SvelteKit with adapter-cloudflare, the class in src/lib/server/db.ts).
//
//   import { dosql } from 'dosql/vite';
//   export default defineConfig({ plugins: [sveltekit(), dosql()] });
//
// Why: dosql's worker entry imports dist/dosql.wasm as a compiled WebAssembly.Module,
// a rule only Workers bundlers have (wrangler's CompiledWasm); Vite has none (that
// was `"default" is not exported by ".../dosql.wasm"`). And SvelteKit runs the server
// code in Node too (vite dev, the build's analysis of the routes, prerendering).
// So for Vite and Node, 'dosql' resolves by its "node" export condition to node.js
// (the client, and placeholders for the Durable Object side); wrangler, with its
// "workerd" condition, bundles the real src/index.js into the worker.
//
// What the plugin adds:
// - dosql stays external in the server build, whether node_modules holds a copy or a
//   link (file:, npm link, a workspace: Vite bundles linked packages itself). The
//   output imports 'dosql' as written and wrangler bundles the one real copy; without
//   the plugin a linked dosql's Node placeholders end up in the worker (harmless
//   unless used: they say so, naming this plugin).
// - An import of 'cloudflare:workers' in SvelteKit's server code fails the build at
//   the import, naming the fix: Node refuses it, deep in SvelteKit's build or on a
//   vite dev request, and nothing can stand in for the runtime's own module.

/** @returns {import('vite').Plugin} */
export function dosql() {
  let sveltekit = false;
  return {
    name: 'dosql',
    // A list in ssr.external wins over ssr.noExternal (even `true`) and covers the
    // subpaths (dosql/client, dosql/d1).
    config: () => ({ ssr: { external: ['dosql'] } }),
    configResolved(config) {
      sveltekit = config.plugins.some((p) => p.name.startsWith('vite-plugin-sveltekit'));
    },
    resolveId(id, importer) {
      // SvelteKit's server code runs in Node too (dev, analysis, prerendering).
      if (sveltekit && id === 'cloudflare:workers' && this.environment?.name === 'ssr') {
        this.error(
          `${importer ?? id} imports 'cloudflare:workers', which Node cannot load (vite dev, SvelteKit's build): ` +
            'declare the class without it, `class DoSQLDatabase implements DurableObject` with constructor(ctx, env), as the guide does',
        );
      }
    },
  };
}
