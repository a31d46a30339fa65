// Server-Sent Events relay of the users table's change stream: our eventStream()
// (one SSE message per event, `id: <lsn>`, keepalives, cancel on disconnect) and
// lastEventId() (Last-Event-ID on reconnect, else ?since= for the first connection).
import { eventStream, lastEventId } from 'dosql/client';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = ({ locals, request }) =>
	eventStream(locals.db.subscribe(['users'], { since: lastEventId(request), signal: request.signal }), { signal: request.signal });
