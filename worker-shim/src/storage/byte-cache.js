// storage/byte-cache.js — values kept by key within a byte budget, least recently used first out.

/** @template K, V */
export class ByteCache {
  /** Least recently used first. @type {Map<K, {value: V, bytes: number}>} */
  #entries = new Map();
  #bytes = 0;
  #limit;

  /** @param {number} limit  bytes the values may take together */
  constructor(limit) {
    this.#limit = limit;
  }

  /** key's value, now the most recently used. @param {K} key @returns {V | undefined} */
  get(key) {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** key's value, its place in the order unchanged. @param {K} key @returns {V | undefined} */
  peek(key) {
    return this.#entries.get(key)?.value;
  }

  /**
   * Keep value as key's, the most recently used, after the least recently used
   * values it needs room from. One larger than the whole budget is not kept.
   * @param {K} key @param {V} value @param {number} bytes
   */
  set(key, value, bytes) {
    this.delete(key);
    if (bytes > this.#limit) return;
    for (const [oldest, { bytes: oldestBytes }] of this.#entries) {
      if (this.#bytes + bytes <= this.#limit) break;
      this.#entries.delete(oldest);
      this.#bytes -= oldestBytes;
    }
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
  }

  /** @param {K} key */
  delete(key) {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }

  clear() {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /** The keys, least recently used first (a copy: the cache may change meanwhile). */
  keys() {
    return [...this.#entries.keys()];
  }
}
