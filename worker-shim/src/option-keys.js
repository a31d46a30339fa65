// option-keys.js — the one check that an options object names only options that
// exist: a misspelt one (hotbytes, cpuBudgetMS) would otherwise be dropped without
// a word, and its default used.

/**
 * Throw a TypeError naming value's keys that are not in allowed.
 * @param {object} value @param {readonly string[]} allowed
 * @param {string} label  what takes them, e.g. "changes", "defineDoSQL()"
 */
export function checkKeys(value, allowed, label) {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length === 0) return;
  const names = unknown.map((key) => JSON.stringify(key)).join(', ');
  throw new TypeError(`${label} takes {${allowed.map((key) => `${key}?`).join(', ')}}; ${names} ${unknown.length === 1 ? 'is' : 'are'} not one of them`);
}
