import { createUserAction } from '$lib/server/users';
import type { Actions } from './$types';

export const actions: Actions = {
	default: (event) => createUserAction(event, () => `/tenant/${event.locals.tenant}/users`)
};
