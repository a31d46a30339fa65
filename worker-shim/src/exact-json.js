// exact-json.js — writing back JSON that was parsed, with the numbers JSON.stringify
// cannot write: −0 (JSON.stringify writes 0) and ±Infinity, which a number too large
// for a double reads as (JSON.stringify writes null, which libSQL clients refuse).
// The engine writes −0.0 as -0, and in libSQL's Hrana, whose floats are plain numbers,
// ±Infinity as ±1e999 (src/json.c); a client may write them in any form JSON allows.

/** Whether JSON text may hold such a number as a value: a zero with a minus sign, an
 *  exponent of three digits or more, 309 digits in a row. A string holding the same
 *  characters only makes exactJson write what JSON.stringify would. */
const EXACT_NUMBER = /[:[,]\s*-0(?:\.0*)?(?:[eE][+-]?\d+)?\s*[,}\]]|\d[eE]\+?\d{3}|\d{309}/;

/**
 * JSON text of value, parsed from text (or built around what was): −0 as -0 and
 * ±Infinity as ±1e999 where it may hold them, and otherwise JSON.stringify's text.
 * @param {unknown} value
 * @param {string} text  the JSON text value was parsed from, or the texts it holds parts of
 * @returns {string}
 */
export function exactJson(value, text) {
  return EXACT_NUMBER.test(text) ? write(value) : JSON.stringify(value);
}

/** @param {unknown} value @returns {string} */
function write(value) {
  if (typeof value === 'number') {
    if (Object.is(value, -0)) return '-0';
    if (value === Infinity || value === -Infinity) return value > 0 ? '1e999' : '-1e999';
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : write(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${members.map(([k, v]) => `${JSON.stringify(k)}:${write(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
