// wasm/contract.js — what the shim knows of the engine, read from the engine.
//
// dosql.wasm publishes its contract (src/contract.h): the response layout and
// call flags, the request limit, the transaction header, the value tags, every
// route (the host's marked) and every error code with its HTTP status. The
// shim reads it from the module instead of restating it, so the two cannot
// drift; tests/worker/contract.test.js checks the shim's one copy of what
// clients need (client-protocol.js) against it.
//
// An Engine reads the contract of its own instance. Answers the host gives
// before any engine exists (a refused route, a misconfigured object) look
// their status up in the contract of the module the shim ships, read once per
// isolate from a scratch instance when no engine has published it yet.

/**
 * @typedef {object} Route
 * @property {string} path
 * @property {string[]} methods
 * @property {boolean} host  served by the shim (streams, file transfer)
 * @property {boolean} internal  the shim's own requests only
 */

/**
 * @typedef {object} Contract
 * @property {number} abi
 * @property {{status: number, length: number, body: number, fault: number}} response
 * @property {{captureChanges: number}} openFlags
 * @property {{inTransaction: number, internal: number}} requestFlags
 * @property {number} maxRequestBytes
 * @property {number} fileHeaderBytes  the SQLite file header (Engine.fileHeader)
 * @property {string} transactionHeader
 * @property {string[]} valueTags
 * @property {Route[]} routes
 * @property {Record<string, {status: number, host: boolean}>} errors
 */

/** The ABI this shim speaks. Must match DOSQL_ABI_VERSION in src/api.h. */
export const ABI_VERSION = 6;

const encoder = new TextEncoder();

/** @type {WeakMap<WebAssembly.Module, Contract>} */
const published = new WeakMap();
/** @type {WebAssembly.Module | null} */
let shipped = null;
/** The contract the last engine published (what Node tests, which ship no module, use). @type {Contract | null} */
let latest = null;

/**
 * Read the contract of an initialised instance's exports.
 * @param {Record<string, any>} exports
 * @param {WebAssembly.Memory} memory
 * @returns {Contract}
 */
export function readContract(exports, memory) {
  const p = exports.dosql_contract() >>> 0;
  if (p === 0) throw new Error('dosql.wasm could not build its contract (out of memory at start)');
  const bytes = new Uint8Array(memory.buffer, p);
  const text = new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
  return deepFreeze(JSON.parse(text));
}

/**
 * Remember the contract an engine read from its instance of module.
 * @param {WebAssembly.Module} module
 * @param {Contract} contract
 */
export function publish(module, contract) {
  if (!published.has(module)) published.set(module, contract);
  latest = contract;
}

/**
 * The module the shim ships (durable-object/instance.js names it at import).
 * @param {WebAssembly.Module} module
 */
export function ship(module) {
  shipped = module;
}

/**
 * The contract of the shipped module (or, where none was shipped, as in Node
 * tests that start engines themselves, the last engine's).
 * @returns {Contract}
 */
export function shippedContract() {
  if (!shipped && latest) return latest;
  if (!shipped) throw new Error('no dosql.wasm module was shipped to the shim (wasm/module.js) and no engine has started');
  let contract = published.get(shipped);
  if (!contract) {
    contract = scratchContract(shipped);
    published.set(shipped, contract);
  }
  return contract;
}

/**
 * An answer of the host in the engine's format, its status from the contract's
 * table of error codes (an unknown code is the shim's bug, and throws).
 * @param {string} code
 * @param {string} error  what went wrong and, where it helps, how to fix it
 * @param {Contract} [contract]
 * @returns {import('../durable-object/response.js').EngineResponse}
 */
export function hostError(code, error, contract = shippedContract()) {
  const status = contract.errors[code]?.status;
  if (!status) throw new Error(`the shim answered with the error code ${code}, which src/errors.c does not list`);
  return { status, body: encoder.encode(JSON.stringify({ error, code })) };
}

/**
 * Read a module's contract from a throwaway instance whose imports all throw
 * (dosql_contract calls none of them).
 * @param {WebAssembly.Module} module
 * @returns {Contract}
 */
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
