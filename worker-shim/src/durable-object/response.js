// durable-object/response.js — engine answers as HTTP responses. The engine builds
// every answer; the shim's own errors come from hostError (wasm/contract.js).

import { hostError } from '../wasm/contract.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json; charset=utf-8' });

/** body: JSON text (a copy, safe to keep). @typedef {{status: number, body: Uint8Array}} EngineResponse */

/** The engine writes nothing but JSON. @param {EngineResponse} response @returns {any} */
export function valueOf(response) {
  return JSON.parse(decoder.decode(response.body));
}

/** @param {number} status @param {unknown} value @returns {EngineResponse} */
export function jsonResponse(status, value) {
  return { status, body: encoder.encode(JSON.stringify(value)) };
}

/** As the class's RPC methods answer (durable-object/class.js request()): the status and
 *  the JSON text. @param {EngineResponse} answer @returns {{status: number, text: string}} */
export function rpcAnswer({ status, body }) {
  return { status, text: decoder.decode(body) };
}

/** @param {EngineResponse} response @returns {Response} */
export function toResponse({ status, body }) {
  if (!(status >= 200 && status <= 599)) {
    return toResponse(hostError('INTERNAL', `the engine answered with status ${status}`));
  }
  return new Response(body, { status, headers: JSON_HEADERS });
}

/** @param {unknown} err  anything thrown */
export function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}
