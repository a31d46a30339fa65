// durable-object/request-body.js — a request's body, read for the engine: never
// more than the engine takes (src/config.h, "maxRequestBytes" in the contract).
// Past that the body is not read on, and C answers 413 from its length alone; a
// body that will not be read is drained a little first (DRAIN_BYTES), so a client
// still sending it gets the answer rather than a reset connection.

import { DRAIN_BYTES } from '../config.js';

/** A request body that failed as it was read (its sender went away, its stream broke):
 *  the caller's, answered 400 BAD_REQUEST, not a failure of DoSQL's. */
export class BodyReadError extends Error {
  name = 'BodyReadError';
}

/** read(), whose failure is a BodyReadError. @template T @param {() => Promise<T>} read @returns {Promise<T>} */
export async function reading(read) {
  try {
    return await read();
  } catch (err) {
    throw new BodyReadError(`the request's body could not be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * Read a request body, but never more than max bytes of it: past that (by the
 * declared Content-Length or by counting), answer {oversized: n} so C says 413.
 * @param {Request} request
 * @param {number} max
 * @returns {Promise<Uint8Array | {oversized: number}>}
 */
export async function readBody(request, max) {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await discardBody(request.body);
    return { oversized: declared };
  }
  if (!request.body) return new Uint8Array(0);
  if (Number.isSafeInteger(declared) && declared >= 0) {
    // Read whole: the cheapest read there is (a reader costs 10 µs more per
    // request, tests/bench/request-path.md). The length is the HTTP layer's for
    // every request from the network; only a Worker streaming a body of its own
    // can send more than it declares, and then what it sent is read and counted.
    const bytes = new Uint8Array(await reading(() => request.arrayBuffer()));
    return bytes.byteLength > max ? { oversized: bytes.byteLength } : bytes;
  }
  return readStream(request.body, max);
}

/**
 * Read a body of no declared length, counting, never more than max bytes.
 * @param {ReadableStream<Uint8Array>} body
 * @param {number} max
 * @returns {Promise<Uint8Array | {oversized: number}>}
 */
export async function readStream(body, max) {
  const reader = body.getReader();
  /** @type {Uint8Array[]} */
  const chunks = [];
  let total = 0;
  for (;;) {
    if (total > max) {
      await drain(reader);
      return { oversized: total };
    }
    const { done, value } = await reading(() => reader.read());
    if (done) break;
    total += value.byteLength;
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return bytes;
}

/** A body that will not be read, drained first (DRAIN_BYTES). @param {ReadableStream<Uint8Array> | null} body */
export async function discardBody(body) {
  if (body) await drain(body.getReader());
}

/** Read up to DRAIN_BYTES more, then cancel the rest. @param {ReadableStreamDefaultReader<Uint8Array>} reader */
export async function drain(reader) {
  try {
    for (let drained = 0; drained <= DRAIN_BYTES; ) {
      const { done, value } = await reader.read();
      if (done) return;
      drained += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // a body that breaks while it is thrown away is no loss
  }
}

/**
 * A GET's query as the body the engine reads for it: each parameter's value by name,
 * a list of them when it is given more than once, which a field the endpoint takes
 * refuses as no value of its type (one value was not chosen over the others without a
 * word). C refuses a name that differs from a field the endpoint takes in case alone
 * (?asof=); others are left to the page (a cache buster).
 * @param {string} url
 * @returns {Record<string, string | string[]>}
 */
export function queryBody(url) {
  /** @type {Map<string, string | string[]>} */
  const values = new Map();
  for (const [name, value] of new URL(url).searchParams) {
    const before = values.get(name);
    values.set(name, before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value]);
  }
  // fromEntries makes own properties, also of a parameter named __proto__.
  return Object.fromEntries(values);
}
