// cold-client.js — a client of one database of fixtures/cold-worker.js, with the
// fixture's routes (the object's stats, manifest, bucket listing, upkeep, a reopening
// and R2 failure injection), for the cold tier's tests.

import assert from 'node:assert/strict';
import { createClient } from './harness.js';

/**
 * @param {ReturnType<typeof import('./harness.js').fixtureRuntime>} runtime
 * @param {'sql' | 'kv'} backend
 * @param {string} name
 */
export function coldClient(runtime, backend, name) {
  const db = createClient((path, init) => runtime.fetch(`http://localhost/${backend}/${name}${path}`, init));
  /** @param {string} path */
  const get = async (path) => {
    const answer = await db.fetch(path);
    assert.equal(answer.status, 200, `${path}: ${answer.text}`);
    return answer.body;
  };
  return {
    ...db,
    name,
    /** @returns {Promise<any>} the object's stats() */
    stats: () => get('/__stats'),
    /** @returns {Promise<any>} stats().storage */
    storage: async () => (await get('/__stats')).storage,
    /** maintainStorage(), which must succeed. */
    maintain: () => get('/__maintain'),
    /** @returns {Promise<{hotPages: number, page1Hot: boolean, groups: {grp: number, object: string, pages: number, dirty: number}[], garbage: string[]}>} */
    manifest: () => get('/__manifest'),
    /** @returns {Promise<string[]>} the bucket's objects under this database's prefix */
    bucket: () => get('/__r2/list'),
    reopen: () => get('/__reopen'),
    /** Make R2 calls of these kinds fail until healR2(). @param {string} ops */
    failR2: (ops) => get(`/__r2/fail?ops=${ops}`),
    /** @returns {Promise<{failed: number}>} */
    healR2: () => get('/__r2/heal'),
    /** Make R2 calls of these kinds wait until releaseR2(). @param {string} ops */
    holdR2: (ops) => get(`/__r2/hold?ops=${ops}`),
    /** @returns {Promise<{held: number}>} how many R2 calls wait */
    heldR2: () => get('/__r2/held'),
    /** @returns {Promise<{released: number}>} */
    releaseR2: () => get('/__r2/release'),
    /** Delete one object from the bucket behind DoSQL's back. @param {string} key */
    deleteObject: (key) => get(`/__r2/delete?key=${encodeURIComponent(key)}`),
    /** Put one object back, its bytes, without R2's SHA-256 of it. @param {string} key */
    recopyObject: (key) => get(`/__r2/recopy?key=${encodeURIComponent(key)}`),
  };
}
