// changes/subscribe-request.js — what a /subscribe request asks for (docs/changes.md,
// "Subscribing"), or the error to answer it with.
//
// The transport is the shim's: POST is NDJSON; a GET is Server-Sent Events (Accept:
// text/event-stream) or a WebSocket (Upgrade: websocket). The selection ({tables,
// since}) is C's: the POST body, or a GET's query as the same body (an SSE
// reconnect's Last-Event-ID wins over since), goes to the engine's /subscribe
// route, which checks it under the rules of /changes (src/changelog.h).

import { hostError } from '../wasm/contract.js';
import { valueOf } from '../durable-object/response.js';
import { queryBody } from '../durable-object/request-body.js';

const encoder = new TextEncoder();

/** @typedef {import('../durable-object/response.js').EngineResponse} EngineResponse */

/** tables null: every table; since null: start live, at the head.
 *  @typedef {{tables: string[] | null, since: number | null}} Selection */

/** @typedef {Selection & {transport: 'ndjson' | 'sse' | 'websocket'}} Subscription */

/**
 * @param {Request} request @param {() => Promise<Uint8Array | {oversized: number}>} readBody  of a POST
 * @param {(method: string, body: Uint8Array | {oversized: number}) => EngineResponse | Promise<EngineResponse>} ask  the engine's /subscribe
 * @returns {Promise<Subscription | EngineResponse>}
 */
export async function parseSubscribeRequest(request, readBody, ask) {
  if (request.method === 'POST') {
    const selection = selectionOf(await ask('POST', await readBody()));
    return 'status' in selection ? selection : { ...selection, transport: 'ndjson' };
  }
  const upgrade = (request.headers.get('upgrade') ?? '').toLowerCase();
  const sse = (request.headers.get('accept') ?? '').includes('text/event-stream');
  if (upgrade !== 'websocket' && !sse) {
    return hostError('BAD_REQUEST', 'GET /subscribe needs "Accept: text/event-stream" (Server-Sent Events) or "Upgrade: websocket"; POST gives NDJSON');
  }
  const websocket = upgrade === 'websocket';
  const query = queryBody(request.url);
  if (Array.isArray(query.tables)) {
    return hostError('BAD_REQUEST', 'tables is given more than once: name every table in one tables=, separated by commas (a name holding a comma as %2C)');
  }
  if (Array.isArray(query.since)) return hostError('BAD_REQUEST', 'since is given more than once: give one lsn');
  const list = query.tables === undefined ? null : tableList(request.url);
  const lastEventId = websocket ? null : request.headers.get('last-event-id');
  const given = lastEventId !== null && lastEventId !== '' ? lastEventId : (query.since ?? null);
  const body = { ...query, tables: list, since: given !== null && /^\d+$/.test(given) ? Number(given) : given };
  const selection = selectionOf(await ask('GET', encoder.encode(JSON.stringify(body))));
  return 'status' in selection ? selection : { ...selection, transport: websocket ? 'websocket' : 'sse' };
}

/**
 * The first tables parameter's names: split at its commas as written, each then
 * decoded, so that a name holding a comma is sent as %2C (a name, not two). A name
 * that does not decode is passed on as written, for C to refuse or not find.
 * @param {string} url @returns {string[]}
 */
function tableList(url) {
  // Its name read as URLSearchParams reads it (tabl%65s is tables), its value as written.
  const raw = new URL(url).search.slice(1).split('&').find((p) => decoded(p.split('=')[0]) === 'tables');
  const value = raw === undefined || !raw.includes('=') ? '' : raw.slice(raw.indexOf('=') + 1);
  return value.split(',').map(decoded);
}

/** A part of a query decoded, or as written when it does not decode. @param {string} part */
function decoded(part) {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

/** @param {EngineResponse} answer @returns {Selection | EngineResponse} */
function selectionOf(answer) {
  return answer.status === 200 ? valueOf(answer) : answer;
}
