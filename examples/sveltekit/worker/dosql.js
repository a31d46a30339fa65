// The Durable Object class: DoSQL with this app's migrations (bundled from
// .do/migrations by `npm run migrations`, which build and dev run first).
import { defineDoSQL } from 'dosql';
import migrations from '../src/lib/server/migrations.generated.js';

export class DoSQLDatabase extends defineDoSQL({ migrations }) {}

// A worker needs a fetch handler; this one only serves the class (npm run dev:db).
export default {
	fetch() {
		return new Response('DoSQLDatabase for the SvelteKit example: open the app, not this worker.\n', { status: 404 });
	}
};
