import { error, type Handle } from '@sveltejs/kit';
import { accountOfSession, SESSION_COOKIE } from '$lib/server/auth';
import { dbFor, resolveTenant } from '$lib/server/db';

export const handle: Handle = async ({ event, resolve }) => {
	const env = event.platform?.env as (Env & { TENANT_DOMAIN?: string }) | undefined;
	const tenant = resolveTenant(event.url, event.request.headers, env?.TENANT_DOMAIN);
	if (tenant === null) {
		if (event.url.pathname.startsWith('/api/')) {
			return Response.json({ error: 'Invalid tenant' }, { status: 400 });
		}
		error(400, 'Invalid tenant');
	}
	event.locals.tenant = tenant;
	event.locals.db = dbFor(event.platform, tenant);

	// The session: the cookie's token names a row of this tenant's sessions table.
	event.locals.account = null;
	event.locals.sessionToken = null;
	const token = event.cookies.get(SESSION_COOKIE);
	if (token) {
		const account = await accountOfSession(event.locals.db, token);
		if (account) {
			event.locals.account = account;
			event.locals.sessionToken = token;
		} else {
			event.cookies.delete(SESSION_COOKIE, { path: '/' });
		}
	}

	return resolve(event);
};
