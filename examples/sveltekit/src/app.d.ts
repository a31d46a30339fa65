// See https://svelte.dev/docs/kit/types#app.d.ts
import type { DatabaseClient } from 'dosql/client';

declare global {
	namespace App {
		interface Platform {
			env: Env; // worker-configuration.d.ts (`wrangler types`): DOSQL_DB, ASSETS
			ctx: ExecutionContext;
			caches: CacheStorage;
			cf?: IncomingRequestCfProperties;
		}

		interface Locals {
			/** The tenant's slug: path /tenant/<slug>/…, else X-Tenant-ID, else a subdomain, else "default". */
			tenant: string;
			/** That tenant's database (one Durable Object per tenant). */
			db: DatabaseClient;
			/** The signed-in account, from the `session` cookie. */
			account: { id: number; email: string } | null;
			/** The random token in the `session` cookie (only when it names a live session). */
			sessionToken: string | null;
		}

		interface Error {
			message: string;
			code?: string;
		}
	}
}

export {};
