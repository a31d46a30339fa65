// option-keys.js — the one check that an options object names only options that
// exist: a misspelt one (hotbytes, cpuBudgetMS) would otherwise be dropped without
// a word, and its default used.

/**
 * Throw a TypeError naming value's keys that are not in allowed, or saying that value is
 * no object of options at all.
 * @param {object} value @param {readonly string[]} allowed
 * @param {string} label  what takes them, e.g. "changes", "defineDoSQL()"
 */
export function checkKeys(value, allowed, label) {
  // Written only when thrown: the statements' options are checked on every call.
  const takes = () => `${label} takes {${allowed.map((key) => `${key}?`).join(', ')}}`;
  // null, an array or a string is no options object (Object.keys would crash or list indexes).
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${takes()}; got ${brief(value)}`);
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length === 0) return;
  // A key may be megabytes, and there may be thousands: a few, each cut short.
  const shown = unknown.slice(0, SHOWN_KEYS).map((key) => JSON.stringify(key.length > KEY_ECHO ? `${key.slice(0, KEY_ECHO)}…` : key));
  const more = unknown.length > SHOWN_KEYS ? ` and ${unknown.length - SHOWN_KEYS} more` : '';
  throw new TypeError(`${takes()}; ${shown.join(', ')}${more} ${unknown.length === 1 ? 'is' : 'are'} not one of them`);
}

/** Unknown keys an error names, and the characters it repeats of each. */
const SHOWN_KEYS = 5;
const KEY_ECHO = 64;

/** value as JSON, cut short: a list of migrations given in their place would be all of their SQL. @param {unknown} value */
function brief(value) {
  const text = Array.isArray(value) ? `an array of ${value.length}: ${JSON.stringify(value)}` : String(JSON.stringify(value));
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
