// router.js — the standalone worker's public HTTP front door.
//
//   GET /health                      200 {"ok": true}, no token needed
//   /db/<tenant>/<endpoint>          with "Authorization: Bearer <DOSQL_TOKEN>":
//                                    forwarded to the tenant's Durable Object as
//                                    /<endpoint> (one object per tenant); a path
//                                    that is no endpoint (the engine's route table) is 404
//                                    without creating the object. An endpoint that
//                                    writes another database (/branch) goes by Workers
//                                    RPC, as objects serve it only so (src/api.h)
//   anything else                    404 JSON
//
// libSQL clients (@libsql/client over HTTP) are given http://<host>/db/<tenant>/ and
// add v2/pipeline to it (src/hrana.h); they read errors only as {message, code}, so
// the router answers their paths so (durable-object/hrana.js). Over WebSocket they
// open ws://<host>/db/<tenant> with the subprotocol hrana2 and send the token in
// their first message, not a header: the socket is served here (hrana-socket.js),
// and nothing reaches the database before its token matches.
//
// Every other answer is JSON {error, code} on failure. Nothing reaches a database
// without the token; a worker without DOSQL_TOKEN or DOSQL_DB refuses to serve
// and says how to fix it.

import { tenantNameError } from './tenant.js';
import { hostError, shippedContract, transactionIdOf } from './wasm/contract.js';
import { objectUnavailable } from './client/error.js';
import './wasm/module.js';
import { jsonResponse, toResponse, withoutBody } from './durable-object/response.js';
import { discardBody } from './durable-object/request-body.js';
import { hranaResponse } from './durable-object/hrana.js';
import { acceptHranaSocket, refuseHranaSocket, unservedSubprotocols, wantsHranaSocket } from './hrana-socket.js';

/** Tenant names: what idFromName receives; 1 to 128 of these characters. */

/** @param {string} code @param {string} error */
function fail(code, error) {
  return toResponse(hostError(code, error));
}

/** The paths libSQL's Hrana clients send under a database's URL. */
const HRANA_PATH = /^\/v[0-9]+(-protobuf)?(\/|$)/;
/** What a libSQL client asks for when its URL lacks the final slash: /db/v2/pipeline
 *  (tenant "v2", path "/pipeline"), /db/v3/cursor, or /db/v2 for its version check. A
 *  tenant may be named v2: only these paths are taken for a libSQL client's. */
const HRANA_WITHOUT_TENANT = /^v[0-9]+(-protobuf)?$/;
const HRANA_PATH_WITHOUT_TENANT = /^\/(pipeline|cursor)?$/;
/** What a libSQL client adds to a URL given with more after the tenant (a doubled
 *  slash, a sub-path): /db/<tenant>//v2/pipeline, /db/<tenant>/main/v2. */
const HRANA_TAIL = /.\/(v[0-9]+(-protobuf)?(\/(pipeline|cursor))?)$/;

/**
 * Whether a client may send path to a database: a route of the engine's table
 * (src/handler.c) that is not internal.
 * @param {string} path
 */
function isEndpoint(path) {
  return shippedContract().routes.some((r) => r.path === path && !r.internal);
}

/**
 * Send a request of the protocol to a database, from a Worker that may reach every
 * database of the class (this router, with the operator's token): by fetch, but a
 * route that writes another database (src/handler.c's route table: /branch) by Workers
 * RPC, as objects serve it only so: over HTTP, a Worker may forward it for one tenant.
 * RPC carries no method, so the object's fetch answers any but POST (405).
 * @param {any} stub @param {URL} url  the database's path in it @param {Request} request
 * @returns {Promise<Response>}
 */
export async function forwardTo(stub, url, request) {
  const otherDatabase = shippedContract().routes.some((r) => r.path === url.pathname && r.otherDatabase);
  if (!otherDatabase || request.method !== 'POST') return stub.fetch(new Request(url, request));
  const { status, text, bytes } = await stub.request(url.pathname, request.body, transactionIdOf(request.headers));
  return new Response(text ?? bytes, { status, headers: { 'content-type': 'application/json' } });
}

/**
 * Route one request of the public API.
 * @param {Request} request
 * @param {Record<string, any>} env  DOSQL_TOKEN (secret) and DOSQL_DB (binding)
 * @param {{waitUntil: (p: Promise<unknown>) => void}} [ctx]  the Worker's ExecutionContext: a
 *   libSQL socket's streams are closed after the socket, within it
 * @returns {Promise<Response>}
 */
/**
 * Why the DOSQL_TOKEN var cannot be the bearer token, or null when it can. HTTP
 * trims whitespace around a header's value, so a token that starts or ends with it
 * (a newline left by `echo ... | wrangler secret put`) could never be sent; nor one
 * holding a control character or anything past ASCII (a fetch refuses such a header
 * value, and the bytes of one that arrives read as other characters).
 * @param {unknown} token
 */
function tokenError(token) {
  if (token === undefined || token === '') {
    return 'DOSQL_TOKEN is not set: put DOSQL_TOKEN=... in .dev.vars for wrangler dev, or run wrangler secret put DOSQL_TOKEN';
  }
  if (typeof token !== 'string') return `DOSQL_TOKEN must be a string (a secret or a quoted var); it is a ${typeof token}`;
  if (token.trim() !== token) {
    return 'DOSQL_TOKEN starts or ends with whitespace (a newline?), which no Authorization header can carry: set it again without it (printf %s TOKEN | wrangler secret put DOSQL_TOKEN)';
  }
  const unsendable = /[^\x20-\x7e]/.exec(token);
  if (unsendable) {
    const code = /** @type {number} */ (unsendable[0].codePointAt(0)).toString(16).toUpperCase().padStart(4, '0');
    return `DOSQL_TOKEN holds U+${code} at character ${unsendable.index}, which no Authorization header can carry (only ASCII letters, digits, punctuation and spaces): set it again without it`;
  }
  return null;
}

/**
 * The standalone worker's answer to a request. One the router answers itself (a
 * refusal) has its body drained first, as the database's own 413 is: answered while
 * the client still sends, the connection would be reset, and the client would read
 * ECONNRESET instead of the answer. A body passed on to the database is its.
 * @param {Request} request @param {any} env @param {any} ctx @returns {Promise<Response>}
 */
export async function route(request, env, ctx) {
  const passed = { body: false };
  const response = await answer(request, env, ctx, passed);
  if (!passed.body) await discardBody(request.body);
  return response;
}

/**
 * @param {Request} request @param {any} env @param {any} ctx
 * @param {{body: boolean}} passed  set once the body is handed to the database
 * @returns {Promise<Response>}
 */
async function answer(request, env, ctx, passed) {
  // A libSQL client reads an error only as {message, code}: so is every answer to one,
  // a failure no check foresaw (the object reset under the request) too.
  let libsql = false;
  try {
    const url = new URL(request.url);
    if (url.pathname === '/health') {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        const refused = toResponse(jsonResponse(405, { error: `${request.method} is not allowed on /health; use GET`, code: 'METHOD_NOT_ALLOWED', allow: 'GET, HEAD' }));
        refused.headers.set('allow', 'GET, HEAD');
        return refused;
      }
      const ok = toResponse(jsonResponse(200, { ok: true }));
      return request.method === 'HEAD' ? withoutBody(ok) : ok;
    }

    const match = /^\/db\/([^/]*)(\/.*)?$/.exec(url.pathname);
    // A libSQL WebSocket is refused in its hello, which its client reads as an error.
    const socket = wantsHranaSocket(request);
    if (!match && (HRANA_PATH.test(url.pathname) || socket)) {
      // A libSQL client given the host alone, as a Turso URL is: say so as it reads errors.
      // libsql:// is HTTPS to @libsql/client: over plain HTTP (wrangler dev), the http:// URL or ?tls=0.
      const named = url.protocol === 'https:' ? `libsql://${url.host}/db/<tenant>/` : `${url.origin}/db/<tenant>/ (or libsql://${url.host}/db/<tenant>/?tls=0)`;
      const error = `no database at ${url.origin}/: a libSQL URL names one, ${named} (docs/hrana.md)`;
      return socket ? refuseHranaSocket({ message: error, code: 'NOT_FOUND' }) : hranaResponse(hostError('NOT_FOUND', error), { pipeline: false });
    }
    if (!match) return fail('NOT_FOUND', `no route for ${url.pathname}: use /db/<tenant>/ followed by ${endpointNames()}`);
    const path = match[2] ?? '/';
    const withoutTenant = HRANA_WITHOUT_TENANT.test(match[1]) && HRANA_PATH_WITHOUT_TENANT.test(path);
    const tail = HRANA_PATH.test(path) ? null : HRANA_TAIL.exec(path);
    libsql = HRANA_PATH.test(path) || withoutTenant || tail !== null;
    const refuse = socket
      ? (/** @type {string} */ code, /** @type {string} */ error) => refuseHranaSocket({ message: error, code })
      : libsql ? (/** @type {string} */ code, /** @type {string} */ error) => hranaResponse(hostError(code, error), { pipeline: false }) : fail;

    const token = env.DOSQL_TOKEN;
    const tokenProblem = tokenError(token);
    if (tokenProblem) return refuse('BAD_CONFIG', tokenProblem);
    if (socket && path === '/') return await hranaSocket(env, match[1], token, ctx);
    if (socket) {
      // Before the token: the upgrade carries none (it comes in the hello).
      return refuse('NOT_FOUND', `no libSQL WebSocket at ${path}: a libSQL client connects to the database's URL itself, with nothing after its one final slash: ${url.origin.replace(/^http/, 'ws')}/db/${match[1]}/`);
    }
    const unserved = path === '/' ? unservedSubprotocols(request) : null;
    if (unserved !== null) return hranaResponse(hostError('BAD_REQUEST', unserved), { pipeline: false });
    if (!(await bearerMatches(request.headers.get('authorization'), token))) {
      return refuse('UNAUTHORIZED', 'missing or wrong bearer token: send Authorization: Bearer <DOSQL_TOKEN>');
    }
    if (!isEndpoint(path)) {
      if (match[1] === '') return refuse('BAD_TENANT', `the URL names no database: a database's URL is ${url.origin}/db/<tenant>/, followed by its endpoint (query, run, ...)`);
      if (withoutTenant) {
        return refuse('NOT_FOUND', `no database is named ${match[1]}: libSQL clients add ${match[1]}${path} to the URL they are given, so give them the database's URL ending in a slash: ${url.origin}/db/<tenant>/`);
      }
      if (tail) {
        return refuse('NOT_FOUND', `no endpoint ${path}: libSQL clients add ${tail[1]} to the URL they are given, so give them the database's URL with nothing after its one final slash: ${url.origin}/db/${match[1]}/`);
      }
      return refuse('NOT_FOUND', `no endpoint ${path}: use /db/<tenant>/ followed by ${endpointNames()}`);
    }
    const object = objectOf(env, match[1]);
    if (object.refused) return refuse(...object.refused);
    const target = new URL(url);
    target.pathname = path;
    const headers = new Headers(request.headers);
    headers.delete('authorization'); // the object needs no credentials
    // GET and HEAD carry no body (the platform refuses to build such a request):
    // one that came with a body has it dropped, as HTTP leaves its meaning undefined.
    const bodyless = request.method === 'GET' || request.method === 'HEAD';
    if (bodyless) await request.body?.cancel().catch(() => {});
    const forwarded = new Request(target, {
      method: request.method,
      headers,
      body: bodyless ? null : request.body,
      redirect: 'manual',
    });
    passed.body = !bodyless;
    return await forwardTo(object.stub, target, forwarded);
  } catch (err) {
    const unavailable = objectUnavailable(err);
    if (unavailable === null) console.error('[dosql] router:', err);
    const [code, error] = unavailable === null ? ['INTERNAL', err instanceof Error ? err.message : String(err)] : ['OBJECT_UNAVAILABLE', unavailable];
    return libsql ? hranaResponse(hostError(code, error), { pipeline: false }) : fail(code, error);
  }
}

/**
 * The Durable Object of a tenant's database, or why there is none: [code, error].
 * @param {Record<string, any>} env @param {string} tenant
 * @returns {{stub: any, newStub: () => any, refused?: undefined} | {refused: [string, string]}}
 *   newStub: another stub of it (one whose call threw for a reset stays broken)
 */
function objectOf(env, tenant) {
  const namespace = env.DOSQL_DB;
  if (!namespace || typeof namespace.idFromName !== 'function') {
    return { refused: ['BAD_CONFIG', 'the Durable Object binding DOSQL_DB is missing: add [[durable_objects.bindings]] name = "DOSQL_DB", class_name = "DoSQLDatabase" to wrangler.toml'] };
  }
  const badTenant = tenantNameError(tenant);
  if (badTenant) return { refused: ['BAD_TENANT', badTenant] };
  const id = namespace.idFromName(tenant);
  const newStub = () => namespace.get(id);
  return { stub: newStub(), newStub };
}

/**
 * A libSQL WebSocket for a tenant's database (hrana-socket.js): its hello's token
 * is checked as a bearer token, and its requests go to the database as pipelines.
 * @param {Record<string, any>} env @param {string} tenant @param {string} token
 * @param {{waitUntil: (p: Promise<unknown>) => void} | undefined} ctx
 * @returns {Promise<Response>}
 */
async function hranaSocket(env, tenant, token, ctx) {
  const object = objectOf(env, tenant);
  if (object.refused) return refuseHranaSocket({ code: object.refused[0], message: object.refused[1] });
  // A stub of its own for each pipeline, as each HTTP request has: a stub whose call
  // threw (the object was reset: a deploy, an abort, a limit) is broken for good, and
  // the socket outlives it, so a pipeline sent after the restart must reach the new
  // object (whose streams are gone: STREAM_EXPIRED, docs/hrana.md).
  const { newStub } = object;
  return acceptHranaSocket({
    waitUntil: (promise) => ctx?.waitUntil(promise),
    authenticate: (jwt) => (typeof jwt === 'string' ? bearerMatches(`Bearer ${jwt}`, token) : Promise.resolve(false)),
    pipeline: async (body) => {
      const answer = await newStub().fetch('http://dosql/v2/pipeline', { method: 'POST', body });
      return { status: answer.status, value: await answer.json() };
    },
  });
}

/**
 * Whether an Authorization header carries exactly "Bearer <token>". Compares
 * SHA-256 digests byte by byte without an early exit, so the time taken does not
 * depend on where (or whether) the strings differ, nor on the token's length.
 * @param {string | null} header
 * @param {string} token
 */
async function bearerMatches(header, token) {
  // The scheme name is case-insensitive (RFC 7235), the token is not; spaces or tabs
  // part them, and those at the end are none of the token (HTTP's optional whitespace,
  // which workerd passes on): a token holds none at either end (tokenError).
  const given = /^bearer[ \t]+(.*)$/is.exec(header ?? '')?.[1].replace(/[ \t]+$/, '') ?? '';
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(given)),
    crypto.subtle.digest('SHA-256', encoder.encode(token)),
  ]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = given === '' ? 1 : 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

/** The endpoints a client may call after /db/<tenant>/, as C's route table lists them. */
function endpointNames() {
  return shippedContract().routes.filter((r) => !r.internal).map((r) => r.path.slice(1)).join(', ');
}
