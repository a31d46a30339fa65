import adapter from '@sveltejs/adapter-cloudflare';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
	plugins: [
		sveltekit({
			compilerOptions: {
				// Runes everywhere except in libraries.
				runes: ({ filename }) => (filename.split(/[/\\]/).includes('node_modules') ? undefined : true)
			},
			adapter: adapter({
				// `vite dev`: platform.env.DOSQL_DB comes from wrangler.jsonc, whose binding
				// points (script_name) at the class served by `npm run dev:db`.
				platformProxy: { configPath: 'wrangler.jsonc', persist: { path: '.wrangler/state/v3' } }
			})
		})
	]
});
