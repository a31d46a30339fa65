// subscribe-request.js — what a /subscribe request asks for (docs/changes.md,
// "Subscribing"), or the error to answer it with.
//
// The transport comes from the method and headers: POST is NDJSON; a GET is
// Server-Sent Events (Accept: text/event-stream) or a WebSocket (Upgrade:
// websocket). The selection ({tables, since}) comes from the POST body, or from
// the query of a GET, where an SSE reconnect's Last-Event-ID wins over since. Every
// check a client can fail before its stream starts is made here, so the change
// feed (changes.js) is handed only subscriptions it can serve.

import { errorResponse, messageOf } from './response.js';

/** The largest /subscribe body read (it holds only tables and since). */
export const MAX_SUBSCRIBE_BYTES = 64 * 1024;

const decoder = new TextDecoder();

/** @typedef {import('./response.js').EngineResponse} EngineResponse */

/**
 * @typedef {object} Selection
 * @property {string[] | null} tables  null: every table
 * @property {number | null} since  null: start live, at the head
 */

/** @typedef {Selection & {transport: 'ndjson' | 'sse' | 'websocket'}} Subscription */

/**
 * The subscription a GET or POST /subscribe asks for, or the error to answer.
 * @param {Request} request
 * @param {() => Promise<Uint8Array | {oversized: number}>} readBody  the body
 *   of a POST, read up to MAX_SUBSCRIBE_BYTES
 * @param {(bytes: Uint8Array) => EngineResponse | null} checkJson  whether C
 *   accepts a body (src/request.h): null, or the error to answer
 * @returns {Promise<Subscription | EngineResponse>}
 */
export async function parseSubscribeRequest(request, readBody, checkJson) {
  const upgrade = (request.headers.get('upgrade') ?? '').toLowerCase();
  const sse = (request.headers.get('accept') ?? '').includes('text/event-stream');
  if (request.method === 'POST') {
    const selection = parseBody(await readBody(), checkJson);
    return 'status' in selection ? selection : { ...selection, transport: 'ndjson' };
  }
  if (request.method !== 'GET') {
    return errorResponse(405, `${request.method} is not allowed on /subscribe: POST for NDJSON, GET for Server-Sent Events or a WebSocket`, 'METHOD_NOT_ALLOWED');
  }
  if (upgrade !== 'websocket' && !sse) {
    return errorResponse(400, 'GET /subscribe needs "Accept: text/event-stream" (Server-Sent Events) or "Upgrade: websocket"; POST gives NDJSON', 'BAD_REQUEST');
  }
  const websocket = upgrade === 'websocket';
  const selection = parseQuery(new URL(request.url).searchParams, websocket ? null : request.headers.get('last-event-id'));
  return 'status' in selection ? selection : { ...selection, transport: websocket ? 'websocket' : 'sse' };
}

/**
 * The selection of a POST body {tables?, since?}, or the error to answer.
 * @param {Uint8Array | {oversized: number}} body
 * @param {(bytes: Uint8Array) => EngineResponse | null} checkJson
 * @returns {Selection | EngineResponse}
 */
function parseBody(body, checkJson) {
  if (!(body instanceof Uint8Array)) {
    return errorResponse(413, `the body of /subscribe is ${body.oversized} bytes; it holds only {tables, since}`, 'PAYLOAD_TOO_LARGE');
  }
  const text = decoder.decode(body).trim();
  /** @type {any} */
  let value = {};
  if (text !== '') {
    const refused = checkJson(body);
    if (refused) return refused;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return errorResponse(400, `the body of /subscribe is not JSON: ${messageOf(err)}`, 'BAD_JSON');
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return errorResponse(400, 'the body of /subscribe must be an object: {"tables"?: string[], "since"?: number}', 'BAD_REQUEST');
  }
  const { tables = null, since = null } = value;
  return checkSelection(tables, since, JSON.stringify(since));
}

/**
 * The selection of GET ?tables=a,b&since=n; lastEventId (SSE), when given, wins
 * over since.
 * @param {URLSearchParams} query
 * @param {string | null} lastEventId
 * @returns {Selection | EngineResponse}
 */
function parseQuery(query, lastEventId) {
  const list = query.get('tables');
  const given = lastEventId !== null && lastEventId !== '' ? lastEventId : query.get('since');
  const since = given === null ? null : /^\d+$/.test(given) ? Number(given) : NaN;
  return checkSelection(list === null ? null : list.split(','), since, JSON.stringify(given));
}

/**
 * @param {unknown} tables
 * @param {unknown} since
 * @param {string} shown  since as the client wrote it, for the message
 * @returns {Selection | EngineResponse}
 */
function checkSelection(tables, since, shown) {
  if (tables !== null && !(Array.isArray(tables) && tables.every((t) => typeof t === 'string' && t !== ''))) {
    return errorResponse(400, 'tables must be an array of table names (non-empty strings); leave it out for every table', 'BAD_REQUEST');
  }
  if (since !== null && !(Number.isSafeInteger(since) && /** @type {number} */ (since) >= 0)) {
    return errorResponse(400, `since must be a whole number >= 0 (the last lsn seen); got ${shown}`, 'BAD_REQUEST');
  }
  return { tables: /** @type {string[] | null} */ (tables), since: /** @type {number | null} */ (since) };
}
