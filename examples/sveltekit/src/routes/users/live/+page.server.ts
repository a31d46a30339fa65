import type { PageServerLoad } from './$types';
import type { User } from '$lib/server/db';

// The rows, and the last change-log position they include, read in one
// transaction: the browser's EventSource starts right after it (?since=lsn), so no
// insert between this load and the connection is lost or shown twice.
export const load: PageServerLoad = ({ locals }) =>
	locals.db.transaction(async (tx) => ({
		users: await tx.query<Pick<User, 'id' | 'name'>>('SELECT id, name FROM users ORDER BY id'),
		lsn: (await tx.queryOne<{ lsn: number }>('SELECT coalesce(max(last_lsn), 0) AS lsn FROM _dosql_change_log'))?.lsn ?? 0
	}));
