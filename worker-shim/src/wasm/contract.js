// wasm/contract.js — what the shim knows of the engine, read from the engine.
//
// dosql.wasm publishes its contract (src/contract.h): response layout, call flags,
// request limit, transaction header, value tags, routes and error codes with their
// HTTP status. The shim reads it instead of restating it, so the two cannot drift;
// tests/worker/contract.test.js checks the client's copy (client/) against it.
//
// The first Engine of a module reads the contract from its instance; later ones
// reuse it. Answers the host gives before any engine exists look their status up
// in the shipped module's contract, read once per isolate from a scratch instance
// if no engine has read it yet.

/** host: served by the shim (streams, file transfer); internal: the shim's own requests only;
 *  otherDatabase: writes another database of the class; wholeDatabase: never inside a transaction.
 *  @typedef {{path: string, methods: string[], host: boolean, internal: boolean, otherDatabase: boolean, wholeDatabase: boolean}} Route */

/**
 * @typedef {object} Contract
 * @property {number} abi
 * @property {{status: number, length: number, body: number, fault: number}} response
 * @property {{captureChanges: number}} openFlags
 * @property {{inTransaction: number, internal: number, retry: number, overRpc: number}} requestFlags
 * @property {number} maxRequestBytes
 * @property {number} fileHeaderBytes  the SQLite file header (Engine.fileHeader)
 * @property {number} heapGrowAheadBytes  at most this much of the memory's size is grown
 *   ahead of what malloc uses (src/heap.c), so not in use
 * @property {string} transactionHeader
 * @property {{transactionIdleMs: number, holdsTransaction: string}} hrana  libSQL's
 *   Hrana (src/hrana.h): a stream's transaction's idle timeout, and the byte before a
 *   pipeline's answer when its stream holds the transaction
 * @property {string[]} valueTags
 * @property {Route[]} routes
 * @property {Record<string, {status: number, host: boolean}>} errors
 */

/** Must match DOSQL_ABI_VERSION in src/api.h. */
export const ABI_VERSION = 9;

const encoder = new TextEncoder();

/** @type {WeakMap<WebAssembly.Module, Contract>} */
const published = new WeakMap();
/** @type {WebAssembly.Module | null} */
let shipped = null;
/** The last engine's (for Node tests, which ship no module). @type {Contract | null} */
let latest = null;

/** @param {Record<string, any>} exports  of an initialised instance @param {WebAssembly.Memory} memory @returns {Contract} */
function readContract(exports, memory) {
  const p = exports.dosql_contract() >>> 0;
  if (p === 0) throw new Error('dosql.wasm could not build its contract (out of memory at start)');
  const bytes = new Uint8Array(memory.buffer, p);
  const text = new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
  return deepFreeze(JSON.parse(text));
}

/**
 * The contract of module, read from exports (of an initialised instance of it)
 * the first time only: it is the module's, the same for every instance, and
 * reading it (C builds the JSON, JS parses and freezes it) is a measurable part
 * of an object's start.
 * @param {WebAssembly.Module} module @param {Record<string, any>} exports @param {WebAssembly.Memory} memory
 * @returns {Contract}
 */
export function contractOf(module, exports, memory) {
  latest = publishedContract(module, () => readContract(exports, memory));
  return latest;
}

/** module's contract: the one kept, else read() kept. @param {WebAssembly.Module} module @param {() => Contract} read */
function publishedContract(module, read) {
  let contract = published.get(module);
  if (!contract) {
    contract = read();
    published.set(module, contract);
  }
  return contract;
}

/** @param {WebAssembly.Module} module  the one the shim ships (wasm/module.js) */
export function ship(module) {
  shipped = module;
}

/** The shipped module's contract (where none was shipped, as in Node tests, the last engine's). @returns {Contract} */
export function shippedContract() {
  if (!shipped && latest) return latest;
  if (!shipped) throw new Error('no dosql.wasm module was shipped to the shim (wasm/module.js) and no engine has started');
  const module = shipped;
  return publishedContract(module, () => scratchContract(module));
}

/**
 * The transaction id a request's header names, or null. Without the whitespace
 * around it, which HTTP says is no part of a header's value and workerd passes
 * on at the end: an id copied with a trailing space or newline names its
 * transaction.
 * @param {Headers} headers @returns {string | null}
 */
export function transactionIdOf(headers) {
  return headers.get(shippedContract().transactionHeader)?.trim() ?? null;
}

/**
 * A host answer in the engine's format, its status from the contract (an unknown
 * code is the shim's bug, and throws).
 * @param {string} code @param {string} error  what went wrong and, where it helps, how to fix it
 * @param {Contract} [contract] @returns {import('../durable-object/response.js').EngineResponse}
 */
export function hostError(code, error, contract = shippedContract()) {
  const status = contract.errors[code]?.status;
  if (!status) throw new Error(`the shim answered with the error code ${code}, which src/errors.c does not list`);
  return { status, body: encoder.encode(JSON.stringify({ error, code })) };
}

/** From a throwaway instance whose imports all throw (dosql_contract calls none). @param {WebAssembly.Module} module @returns {Contract} */
function scratchContract(module) {
  /** @type {Record<string, Record<string, () => never>>} */
  const imports = {};
  for (const { module: name, name: field } of WebAssembly.Module.imports(module)) {
    imports[name] ??= {};
    imports[name][field] = () => {
      throw new Error(`dosql.wasm called ${name}.${field} while publishing its contract`);
    };
  }
  const { exports } = new WebAssembly.Instance(module, imports);
  /** @type {any} */ (exports)._initialize();
  return readContract(exports, /** @type {WebAssembly.Memory} */ (exports.memory));
}

/** @template T @param {T} value @returns {T} */
function deepFreeze(value) {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
