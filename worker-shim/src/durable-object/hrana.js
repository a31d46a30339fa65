// durable-object/hrana.js — the host's half of libSQL's Hrana over HTTP (src/hrana.h).
//
// C owns the protocol: streams, batons, SQL stored per stream, every stream
// request. A pipeline is up to two calls into it: the check (POST /v2/pipeline, a
// host route) says whether the pipeline belongs to the open transaction (only asked
// while one is open); the run (POST /hrana/pipeline, internal) goes through the gate's
// session(), in that transaction or alone, and its answer starts with one byte saying
// whether the stream holds the transaction now. This file reads that byte and turns every
// answer into what @libsql/client reads: the Hrana response, or an error as
// {message, code} with a Content-Type of exactly application/json (the client
// reads no other error body).

import { valueOf } from './response.js';

/** @typedef {import('./response.js').EngineResponse} EngineResponse */

const HRANA_HEADERS = Object.freeze({ 'content-type': 'application/json' });

/** Whether path is one of the object's Hrana routes (src/handler.c: /v2, /v2/pipeline),
 *  whose every answer, a failed start's too, the client must be able to read. @param {string} path */
export function isHranaPath(path) {
  return path === '/v2' || path === '/v2/pipeline';
}

/**
 * Run one pipeline: the check, then the run through the gate. While no transaction
 * is open no stream holds one, so a POST goes straight to the run (which reads and
 * refuses a bad body or baton just as the check would).
 * @param {{engine: import('../wasm/engine.js').Engine, gate: import('./transaction-gate.js').TransactionGate,
 *   body: Uint8Array | {oversized: number}, method: string}} options
 * @returns {Promise<EngineResponse>}
 */
export async function runPipeline({ engine, gate, body, method }) {
  /** @type {string | null} */
  let txId = null;
  if (gate.openTransaction !== null || method !== 'POST') {
    const check = engine.hostRequest(method, '/v2/pipeline', body);
    if (check.status !== 200) return check;
    // C says the stream holds the transaction: it is the gate's open one. When the
    // gate has none by now (its idle timer is rolling it back), the pipeline waits
    // its turn alone and C then answers that the stream's transaction is gone.
    txId = valueOf(check).transaction ? gate.openTransaction : null;
  }
  const { holdsTransaction, transactionIdleMs } = engine.contract.hrana;
  const marker = holdsTransaction.charCodeAt(0);
  return gate.session('POST', '/hrana/pipeline', body, txId, {
    holds: (answer) => answer.body[0] === marker,
    timeoutMs: transactionIdleMs,
  });
}

/**
 * An answer of the Hrana routes as the client reads it: a pipeline's response
 * without C's byte before it, any other 200 as it is, an error as {message, code,
 * extended_code?}.
 * @param {EngineResponse} answer @param {{pipeline: boolean}} options
 * @returns {Response}
 */
export function hranaResponse(answer, { pipeline }) {
  if (answer.status === 200) {
    return new Response(pipeline ? answer.body.subarray(1) : answer.body, { status: 200, headers: HRANA_HEADERS });
  }
  const { error, code, sqliteCode, allow } = valueOf(answer);
  // SQLite's code of a TRANSACTION_ABORTED it caused, where C's statement errors put it.
  const body = sqliteCode ? { message: error, code, extended_code: sqliteCode } : { message: error, code };
  // A 405 names the methods its route takes (RFC 9110), as toResponse's answers do.
  const headers = answer.status === 405 && typeof allow === 'string' ? { ...HRANA_HEADERS, allow } : HRANA_HEADERS;
  return new Response(JSON.stringify(body), { status: answer.status, headers });
}
