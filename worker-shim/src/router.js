// router.js — the standalone worker's public HTTP front door.
//
//   GET /health                      200 {"ok": true}, no token needed
//   /db/<tenant>/<endpoint>          with "Authorization: Bearer <DOSQL_TOKEN>":
//                                    forwarded to the tenant's Durable Object as
//                                    /<endpoint> (one object per tenant); a path
//                                    that is no endpoint (endpoints.js) is 404
//                                    without creating the object
//   anything else                    404 JSON
//
// Every answer is JSON {error, code} on failure. Nothing reaches a database
// without the token; a worker without DOSQL_TOKEN or DOSQL_DB refuses to serve
// and says how to fix it.

import { isEndpoint } from './endpoints.js';
import { errorResponse, jsonResponse, toResponse } from './response.js';

/** Tenant names: what idFromName receives; 1 to 128 of these characters. */
const TENANT_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** @param {number} status @param {string} error @param {string} code */
function fail(status, error, code) {
  return toResponse(errorResponse(status, error, code));
}

/**
 * Route one request of the public API.
 * @param {Request} request
 * @param {Record<string, any>} env  DOSQL_TOKEN (secret) and DOSQL_DB (binding)
 * @returns {Promise<Response>}
 */
export async function route(request, env) {
  try {
    const url = new URL(request.url);
    if (url.pathname === '/health') {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return fail(405, `${request.method} is not allowed on /health; use GET`, 'METHOD_NOT_ALLOWED');
      }
      return toResponse(jsonResponse(200, { ok: true }));
    }

    const match = /^\/db\/([^/]*)(\/.*)?$/.exec(url.pathname);
    if (!match) return fail(404, `no route for ${url.pathname}; the API is /db/<tenant>/query|run|transaction`, 'NOT_FOUND');

    const token = env.DOSQL_TOKEN;
    if (typeof token !== 'string' || token === '') {
      return fail(500, 'DOSQL_TOKEN is not set: put DOSQL_TOKEN=... in .dev.vars for wrangler dev, or run wrangler secret put DOSQL_TOKEN', 'MISCONFIGURED');
    }
    if (!(await bearerMatches(request.headers.get('authorization'), token))) {
      return fail(401, 'missing or wrong bearer token: send Authorization: Bearer <DOSQL_TOKEN>', 'UNAUTHORIZED');
    }
    const path = match[2] ?? '/';
    if (!isEndpoint(path)) {
      await request.body?.cancel().catch(() => {});
      return fail(404, `no endpoint ${path}: use /db/<tenant>/query, run, transaction, batch, exec, begin, commit, rollback, changes, subscribe, export, import or stats`, 'NOT_FOUND');
    }
    const namespace = env.DOSQL_DB;
    if (!namespace || typeof namespace.idFromName !== 'function') {
      return fail(500, 'the Durable Object binding DOSQL_DB is missing: add [[durable_objects.bindings]] name = "DOSQL_DB", class_name = "DoSQLDatabase" to wrangler.toml', 'MISCONFIGURED');
    }

    const tenant = match[1];
    if (!TENANT_PATTERN.test(tenant)) {
      return fail(400, 'tenant names are 1 to 128 characters of A-Z a-z 0-9 . _ -', 'BAD_TENANT');
    }
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
    const stub = namespace.get(namespace.idFromName(tenant));
    return await stub.fetch(forwarded);
  } catch (err) {
    console.error('[dosql] router:', err);
    return fail(500, err instanceof Error ? err.message : String(err), 'INTERNAL');
  }
}

/**
 * Whether an Authorization header carries exactly "Bearer <token>". Compares
 * SHA-256 digests byte by byte without an early exit, so the time taken does not
 * depend on where (or whether) the strings differ, nor on the token's length.
 * @param {string | null} header
 * @param {string} token
 */
export async function bearerMatches(header, token) {
  // The scheme name is case-insensitive (RFC 7235); the token is not.
  const given = /^bearer /i.test(header ?? '') ? /** @type {string} */ (header).slice('Bearer '.length) : '';
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
