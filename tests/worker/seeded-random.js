// seeded-random.js — a seeded PRNG with no imports, so Node tests and fixtures inside
// workerd share it.

/**
 * A seeded PRNG (mulberry32) returning floats in [0, 1): the same sequence for
 * the same seed, so benchmark data repeats and a failing test timing replays.
 * @param {number} seed
 */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
