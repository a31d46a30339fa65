// engine-call.js — one request to an Engine running in Node, for the benches that
// drive the engine directly (changes-cost.mjs, values.mjs): a failure throws with
// the engine's answer, so a bench never times an error.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * POST body as JSON to path; throws unless the engine answers 200.
 * @param {import('../../worker-shim/src/wasm/engine.js').Engine} engine
 * @param {string} path @param {unknown} body
 */
export async function postOk(engine, path, body) {
  const r = await engine.request('POST', path, encoder.encode(JSON.stringify(body)));
  if (r.status !== 200) throw new Error(`${path} ${JSON.stringify(body).slice(0, 80)}: ${r.status} ${decoder.decode(r.body)}`);
}
