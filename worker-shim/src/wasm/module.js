// wasm/module.js — the compiled dosql.wasm the shim ships, named once: every engine
// the Durable Object starts is an instance of it, and wasm/contract.js reads the
// contract of it for answers given before any engine exists.
//
// Its import is its side effect (ship), so package.json names it in sideEffects
// and bundlers keep it. Importing it needs a bundler rule that turns dosql.wasm into a compiled
// module (wrangler's default CompiledWasm rule), so Node tests never import it.

import wasmModule from '../../dist/dosql.wasm';
import { ship } from './contract.js';

ship(wasmModule);

export default wasmModule;
