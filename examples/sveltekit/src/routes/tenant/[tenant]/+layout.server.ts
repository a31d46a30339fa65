// The guide's tenant layout: every page under /tenant/[tenant]/ reads and writes that
// tenant's database (one Durable Object per tenant).
import { error } from '@sveltejs/kit';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async ({ params, locals, url }) => {
	// Which database that is, hooks.server.ts picked from this same path segment
	// (resolveTenant: the path before X-Tenant-ID and the subdomain). It has to be the
	// hook: the handle hook runs before every load, form action and endpoint of a
	// request, while a layout load runs after the form actions and beside its pages'
	// loads, and its data has to serialize, so it cannot hand them a database. The
	// layout holds the hook to it: below here, locals.db is params.tenant's database.
	// (With the guide's hook, which put the subdomain first, /tenant/acme/… on
	// globex.example.com read globex's data under acme's name.)
	if (locals.tenant !== params.tenant.toLowerCase()) error(500, `This page is tenant ${params.tenant}'s, but the request's database is ${locals.tenant}'s`);

	// Differs from the guide: no `tenants` table to check the tenant against. Here every
	// tenant is created (and migrated) on first use, so there is no registry to ask; an
	// app with a list of tenants and of who may use them would check it here, in a
	// database of its own (a tenant's own database cannot vouch for itself).

	// The tenant's figures, on every page below. Reading url.pathname makes SvelteKit run
	// this load again on each navigation between them, so the figures stay current.
	void url.pathname;
	const stats = await locals.db.queryOne<{ users: number; posts: number; orders: number }>(
		'SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM posts) AS posts, (SELECT count(*) FROM orders) AS orders'
	);
	return { tenant: locals.tenant, tenantStats: stats ?? { users: 0, posts: 0, orders: 0 } };
};
