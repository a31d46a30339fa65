// src/hooks.server.ts
import { getDB } from '$lib/server/db';
import type { Handle } from '@sveltejs/kit';

export const handle: Handle = async ({ event, resolve }) => {
  // Make database available in all server-side code
  if (event.platform) {
    event.locals.db = getDB(event.platform);
    event.locals.tenantId = 'default';
  }

  return resolve(event);
};
