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

/** Workers RPC carries 32 MiB as it serializes values, a string holding a character past
 *  Latin-1 at two bytes a character: past this many bytes of UTF-8 (as many characters
 *  at most) an answer's text could take more than that, with room for the envelope and
 *  the platform's own bytes, where its bytes take their length. */
const RPC_TEXT_MAX_BYTES = 16 * 1024 * 1024 - 64 * 1024;

/** An answer as Workers RPC carries it: the status and the JSON text, or its bytes.
 *  @typedef {{status: number, text?: string, bytes?: Uint8Array}} RpcAnswer */

/**
 * As the class's request() answers over Workers RPC (durable-object/class.js): the
 * status and the JSON text, or its bytes when large (client/client.js answerOfRpc).
 * @param {EngineResponse} answer @returns {RpcAnswer}
 */
export function requestAnswer({ status, body }) {
  return body.length > RPC_TEXT_MAX_BYTES ? { status, bytes: body } : rpcAnswer({ status, body });
}

/** As the class's other RPC methods answer (small answers): the status and the JSON
 *  text. @param {EngineResponse} answer @returns {{status: number, text: string}} */
export function rpcAnswer({ status, body }) {
  return { status, text: decoder.decode(body) };
}

/** @param {EngineResponse} response @returns {Response} */
export function toResponse({ status, body }) {
  if (!(status >= 200 && status <= 599)) {
    return toResponse(hostError('INTERNAL', `the engine answered with status ${status}`));
  }
  // A 405 names the methods its resource takes (RFC 9110): C's route says which.
  const allow = status === 405 ? valueOf({ status, body }).allow : undefined;
  return new Response(body, { status, headers: typeof allow === 'string' ? { ...JSON_HEADERS, allow } : JSON_HEADERS });
}

/**
 * The answer to a HEAD request: the GET's status and headers, without its body (RFC
 * 9110), which is cancelled: a stream (an export, a subscription) ends there. A
 * WebSocket's upgrade, which such a request asked for, stays as it is.
 * @param {Response} response @returns {Promise<Response>}
 */
export async function withoutBody(response) {
  if (response.webSocket) return response;
  await response.body?.cancel().catch(() => {});
  return new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** @param {unknown} err  anything thrown */
export function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}
