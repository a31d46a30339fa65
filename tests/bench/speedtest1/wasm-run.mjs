// wasm-run.mjs — run one speedtest1 wasm binary (built by `./build.sh speedtest`) in Node.
//
//   node tests/bench/speedtest1/wasm-run.mjs wasm/build/speedtest/speedtest1-oz.wasm [speedtest1 options...] DB
//
// stdio, argv and exit come from node:wasi (WASI preview1, only this benchmark binary
// imports it); the "dosql" imports are the real host of dosql.wasm (worker-shim/src/wasm/host.js)
// over an in-memory page store (tests/worker/fixtures/memory-storage.js), so every page
// SQLite's cache misses is one host call, as in the Durable Object.
// On exit it prints one line "-- host: {json}" with the host calls made.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { basename } from 'node:path';

import { createImports } from '../../../worker-shim/src/wasm/host.js';
import { MemoryPages } from '../../worker/fixtures/memory-storage.js';

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node wasm-run.mjs FILE.wasm [speedtest1 options...] DB');
  process.exit(2);
}

/** MemoryPages, counting the calls the VFS makes. */
class CountingPages extends MemoryPages {
  reads = 0;
  pagesCommitted = 0;
  /** @param {number} pgno */
  readPage(pgno) {
    this.reads++;
    return super.readPage(pgno);
  }
  /** @param {import('../../../worker-shim/src/wasm/host.js').CommitBatch} batch */
  commit(batch) {
    this.pagesCommitted += batch.pages.length;
    super.commit(batch);
  }
}

const storage = new CountingPages();
const wasi = new WASI({ version: 'preview1', args: [basename(file), ...args], env: {}, returnOnExit: true });
const module = new WebAssembly.Module(readFileSync(file));
/** @type {WebAssembly.Instance} */
let instance;
const imports = {
  ...wasi.getImportObject(),
  ...createImports({
    getMemory: () => /** @type {WebAssembly.Memory} */ (instance.exports.memory),
    storage,
    label: 'speedtest1',
  }),
};
// SPEEDTEST1_HOST_TIMES=1: also measure the time spent inside page_read and commit (each
// call then costs two performance.now() more).
let hostMs = null;
if (process.env.SPEEDTEST1_HOST_TIMES === '1') {
  hostMs = { page_read: 0, commit: 0 };
  for (const name of ['page_read', 'commit']) {
    const f = imports.dosql[name];
    imports.dosql[name] = (...a) => {
      const t0 = performance.now();
      try {
        return f(...a);
      } finally {
        hostMs[name] += performance.now() - t0;
      }
    };
  }
}
instance = new WebAssembly.Instance(module, imports);
const code = wasi.start(instance);
const host = { pageReads: storage.reads, commits: storage.commits, pagesCommitted: storage.pagesCommitted,
  memoryBytes: /** @type {WebAssembly.Memory} */ (instance.exports.memory).buffer.byteLength,
  ...(hostMs && { hostMs: { page_read: Math.round(hostMs.page_read), commit: Math.round(hostMs.commit) } }) };
process.stdout.write(`-- host: ${JSON.stringify(host)}\n`);
process.exitCode = code;
