// dosql-target.mjs — which database the dosql command talks to, and with what token.
//
// A target is a URL (http(s)://host/db/<tenant>/, or ws(s)://..., libsql://...) or a
// tenant name, which means DOSQL_URL's database of that name (default
// http://localhost:8787: `./build.sh dev`). The token is --token, else DOSQL_TOKEN,
// else the DOSQL_TOKEN of the nearest .dev.vars, read as wrangler reads it (this folder or one above it:
// the one `./build.sh dev` writes).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tenantNameError } from '../src/tenant.js';

export const DEFAULT_SERVER = 'http://localhost:8787';

/**
 * The database's URLs: `hrana` for @libsql/client, `http` for DoSQL's own endpoints
 * (both end in "/").
 * @param {string | undefined} target  a URL or a tenant name (default "default")
 * @param {Record<string, string | undefined>} env
 * @returns {{hrana: string, http: string, tenant: string}}
 */
export function resolveTarget(target, env) {
  const given = target ?? 'default';
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(given)) {
    // Said here, not by a server: one may not be running at DOSQL_URL (localhost:8787/db/acme).
    const notTenant = tenantNameError(given);
    if (notTenant) throw new Error(`${given} is neither a database URL (one begins with http://, https://, ws://, wss:// or libsql://) nor a tenant name: ${notTenant}`);
    const server = serverOf(env.DOSQL_URL);
    const http = `${server}/db/${encodeURIComponent(given)}/`;
    return { hrana: http, http, tenant: given };
  }
  const url = new URL(given);
  // A path before /db is the server's (a proxy serving the worker under /dosql), as in DOSQL_URL.
  const [, base = '', tenant] = /^(\/(?:[^/]+\/)*?)?\/?db\/([^/]+)/.exec(url.pathname) ?? [];
  if (!tenant) throw new Error(`${given} is no database URL: DoSQL's are <server>/db/<tenant>/`);
  // libsql:// is HTTPS, or HTTP with ?tls=0, as @libsql/client reads it.
  const libsql = url.searchParams.get('tls') === '0' ? 'http:' : 'https:';
  const scheme = { 'ws:': 'http:', 'wss:': 'https:', 'libsql:': libsql }[url.protocol] ?? url.protocol;
  const http = `${scheme}//${url.host}${base.replace(/\/$/, '')}/db/${tenant}/`;
  return { hrana: url.protocol.startsWith('ws') ? given : http, http, tenant: decodeURIComponent(tenant) };
}

/**
 * DOSQL_URL as the server's URL, without its last "/": http(s), no query, and not a
 * database's URL (whose /db/<tenant> the tenant's would be put after). A path before
 * /db (a proxy serving the worker under /dosql) stays.
 * @param {string | undefined} value
 */
function serverOf(value) {
  if (value === undefined) return DEFAULT_SERVER;
  const wrong = (/** @type {string} */ why) =>
    new Error(`DOSQL_URL is ${JSON.stringify(value)}: ${why}. It is the server's URL, as ${DEFAULT_SERVER} (./build.sh dev) or https://dosql.<you>.workers.dev; a database's own URL goes where TARGET does`);
  let url;
  try {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim())) throw new Error('no scheme');
    url = new URL(value);
  } catch {
    throw wrong('no URL (it begins with http:// or https://)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw wrong(`${url.protocol}// is not served: it is http:// or https://`);
  if (url.search || url.hash) throw wrong('a server\'s URL has no ? or # part');
  if (/(^|\/)db(\/|$)/.test(url.pathname)) throw wrong('that names a database, or /db, not the server');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The token to send.
 * @param {string | undefined} flag  --token
 * @param {Record<string, string | undefined>} env
 * @param {string} from  the folder to look for .dev.vars from
 * @returns {string | undefined}
 */
export function resolveToken(flag, env, from) {
  if (flag) return flag;
  if (env.DOSQL_TOKEN) return env.DOSQL_TOKEN;
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const file = join(dir, '.dev.vars');
    if (existsSync(file)) {
      const token = devVar(readFileSync(file, 'utf8'), 'DOSQL_TOKEN');
      if (token !== undefined) return token;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** A line of a .dev.vars file as wrangler reads it (dotenv's parse): `export` or not,
 *  spaces around "=", a value in '', "" or `` quotes, or bare up to a # comment. */
const DEV_VARS_LINE = /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/mg;

/**
 * The value .dev.vars gives name, as wrangler gives it to the Worker (the last
 * assignment wins), so that the token sent is the one the worker checks.
 * @param {string} text @param {string} name @returns {string | undefined}
 */
export function devVar(text, name) {
  /** @type {string | undefined} */
  let found;
  for (const [, key, raw = ''] of text.replace(/\r\n?/g, '\n').matchAll(DEV_VARS_LINE)) {
    if (key !== name) continue;
    const value = raw.trim();
    const unquoted = value.replace(/^(['"`])([\s\S]*)\1$/, '$2');
    found = value[0] === '"' ? unquoted.replace(/\\n/g, '\n').replace(/\\r/g, '\r') : unquoted;
  }
  return found;
}
