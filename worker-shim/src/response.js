// response.js — the shim's own answers, in the engine's format.
//
// The engine (C) builds every error of the wire protocol. The few the shim must
// answer itself (it failed, or the router refused a request) are built here and
// nowhere else, in the same {error, code} shape.

const encoder = new TextEncoder();

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json; charset=utf-8' });

/**
 * @typedef {object} EngineResponse
 * @property {number} status  an HTTP status
 * @property {Uint8Array} body  JSON text (a copy, safe to keep)
 */

/**
 * A JSON value as an engine response.
 * @param {number} status
 * @param {unknown} value
 * @returns {EngineResponse}
 */
export function jsonResponse(status, value) {
  return { status, body: encoder.encode(JSON.stringify(value)) };
}

/**
 * An error in the engine's format.
 * @param {number} status
 * @param {string} error  what went wrong and, where it helps, how to fix it
 * @param {string} code  stable (README.md lists them)
 * @returns {EngineResponse}
 */
export function errorResponse(status, error, code) {
  return jsonResponse(status, { error, code });
}

/**
 * The HTTP response for an engine response.
 * @param {EngineResponse} response
 * @returns {Response}
 */
export function toResponse({ status, body }) {
  if (!(status >= 200 && status <= 599)) {
    return toResponse(errorResponse(500, `the engine answered with status ${status}`, 'INTERNAL'));
  }
  return new Response(body, { status, headers: JSON_HEADERS });
}

/**
 * The message of anything thrown.
 * @param {unknown} err
 */
export function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}
