// The database of a request's tenant, through DoSQL's client (dosql/client): the
// guide's getDB() protocol, with real interactive transactions and DoSQLError.
import { error } from '@sveltejs/kit';
import { getDB, DoSQLError, type DatabaseClient } from 'dosql/client';

export { DoSQLError };
export type { DatabaseClient, TransactionClient } from 'dosql/client';

export interface User {
	id: number;
	name: string;
	email: string;
	created_at: string;
}

export interface Post {
	id: number;
	user_id: number;
	title: string;
	content: string;
	published: number;
	created_at: string;
}

export interface Product {
	id: number;
	name: string;
	price_cents: number;
	stock: number;
}

/** The client of one tenant's database (each tenant: its own Durable Object). */
export function dbFor(platform: App.Platform | undefined, tenant: string): DatabaseClient {
	if (!platform?.env?.DOSQL_DB) {
		error(500, 'The DOSQL_DB binding is missing: run with `npm run dev` + `npm run dev:db`, or `npm run preview:worker`');
	}
	return getDB(platform, tenant);
}

/** A tenant slug: what the DoSQL router accepts too (1–128 of a-z, 0-9, ".", "_", "-"; lower-cased first). */
export const TENANT = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/**
 * The tenant of a request. Precedence: the path prefix /tenant/<slug>/…, then the
 * X-Tenant-ID header, then a subdomain (acme.localhost, or acme.<TENANT_DOMAIN>),
 * else "default". Plain `localhost`, IP addresses and hosts outside TENANT_DOMAIN
 * are the default tenant (the guide took the first label of any host, so
 * `localhost` or `www.example.com` became tenants of their own).
 * Returns null for a slug that is not valid.
 */
export function resolveTenant(url: URL, headers: Headers, tenantDomain?: string): string | null {
	const path = /^\/tenant\/([^/]+)(?:\/|$)/.exec(url.pathname);
	const header = headers.get('x-tenant-id');
	const candidate = path ? decodeURIComponent(path[1]) : header !== null ? header.trim() : subdomain(url.hostname, tenantDomain);
	if (candidate === undefined) return 'default';
	const slug = candidate.toLowerCase();
	return TENANT.test(slug) ? slug : null;
}

function subdomain(hostname: string, tenantDomain?: string): string | undefined {
	const host = hostname.toLowerCase();
	for (const root of ['localhost', ...(tenantDomain ? [tenantDomain.toLowerCase()] : [])]) {
		if (host.endsWith(`.${root}`)) {
			const label = host.slice(0, -(root.length + 1));
			if (label && !label.includes('.') && label !== 'www' && label !== 'app') return label;
		}
	}
	return undefined;
}

/** The error of a violated UNIQUE constraint (SQLite's "UNIQUE constraint failed: …"). */
export function isUniqueViolation(err: unknown): err is DoSQLError {
	return err instanceof DoSQLError && err.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Checks a user's fields; the contract's messages. */
export function validateUser(name: string, email: string): string | null {
	if (!name.trim()) return 'Name is required';
	if (name.length > 200) return 'Name is too long';
	if (!EMAIL.test(email.trim()) || email.length > 254) return 'Email is invalid';
	return null;
}

export const DUPLICATE_USER = 'A user with this email already exists';
