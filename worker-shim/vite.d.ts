// Types of dosql/vite (vite.js).
import type { Plugin } from 'vite';

/**
 * Keeps dosql out of Vite's server build, so that wrangler bundles it with the
 * worker (its dist/dosql.wasm needs wrangler's CompiledWasm rule), and stops a
 * SvelteKit build at an import of 'cloudflare:workers' (Node cannot load it),
 * naming the fix. Add it to the plugins in vite.config.ts.
 */
export declare function dosql(): Plugin;
