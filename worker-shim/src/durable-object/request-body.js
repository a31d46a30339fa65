// durable-object/request-body.js — a request's body, read for the engine: never
// more than the engine takes (src/config.h, "maxRequestBytes" in the contract).
// Past that the body is not read on, and C answers 413 from its length alone.

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
    request.body?.cancel().catch(() => {});
    return { oversized: declared };
  }
  if (!request.body) return new Uint8Array(0);
  /** @type {Uint8Array[]} */
  const chunks = [];
  if (Number.isSafeInteger(declared) && declared >= 0) {
    // One read of the declared length, and a byte more to see a body longer
    // than it says (the header is not enforced on a body a Worker streams
    // itself): a third of the time of reading chunk by chunk. workerd's
    // readAtLeast gives fewer bytes only at the end of the body.
    const reader = request.body.getReader({ mode: 'byob' });
    const { value } = await reader.readAtLeast(declared + 1, new Uint8Array(declared + 1));
    reader.releaseLock();
    if (!value || value.byteLength <= declared) return value ?? new Uint8Array(0);
    chunks.push(value);
  }
  return readRest(request.body, chunks, max);
}

/**
 * Read the rest of a body after chunks, counting, never more than max bytes.
 * @param {ReadableStream<Uint8Array>} body
 * @param {Uint8Array[]} chunks  what was read already
 * @param {number} max
 * @returns {Promise<Uint8Array | {oversized: number}>}
 */
async function readRest(body, chunks, max) {
  const reader = body.getReader();
  let total = chunks.reduce((n, c) => n + c.byteLength, 0);
  for (;;) {
    if (total > max) {
      reader.cancel().catch(() => {});
      return { oversized: total };
    }
    const { done, value } = await reader.read();
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
