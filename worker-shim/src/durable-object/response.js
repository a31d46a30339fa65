// durable-object/response.js — engine answers as HTTP responses.
//
// The engine (C) builds every answer of the wire protocol; the few errors the
// shim answers itself are built by wasm/contract.js's hostError, in the same
// {error, code} shape, with their status from the engine's table.

import { hostError } from '../wasm/contract.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json; charset=utf-8' });

/**
 * @typedef {object} EngineResponse
 * @property {number} status  an HTTP status
 * @property {Uint8Array} body  JSON text (a copy, safe to keep)
 */

/**
 * The JSON value of an engine response (the engine writes nothing else).
 * @param {EngineResponse} response
 * @returns {any}
 */
export function valueOf(response) {
  return JSON.parse(decoder.decode(response.body));
}

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
 * The HTTP response for an engine response.
 * @param {EngineResponse} response
 * @returns {Response}
 */
export function toResponse({ status, body }) {
  if (!(status >= 200 && status <= 599)) {
    return toResponse(hostError('INTERNAL', `the engine answered with status ${status}`));
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
