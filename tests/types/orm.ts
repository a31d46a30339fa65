// orm.ts — docs/d1.md's ORM lines as a TypeScript user writes them: the facade is
// accepted where drizzle and kysely ask for D1's D1Database (workers-types).
// Checked by tsconfig.orm.json with skipLibCheck, as SvelteKit's own tsconfig
// has it (the ORMs' declarations need types of their other drivers otherwise).

import { drizzle } from 'drizzle-orm/d1';
import { Kysely } from 'kysely';
import { D1Dialect } from 'kysely-d1';
import { toD1 } from 'dosql/d1';

interface Env {
  DOSQL_DB: DurableObjectNamespace;
}

interface Database {
  users: { id: number; name: string };
}

export function orms(env: Env) {
  const viaDrizzle = drizzle(toD1(env.DOSQL_DB, 'acme'));
  const viaKysely = new Kysely<Database>({ dialect: new D1Dialect({ database: toD1(env.DOSQL_DB, 'acme') }) });
  const d1: D1Database = toD1(env.DOSQL_DB, 'acme');
  return { viaDrizzle, viaKysely, d1 };
}
