// exact-json.js — JSON text of a value that was parsed from JSON, with the numbers
// JSON.stringify cannot write: −0 (it writes 0) and ±Infinity, which a number too large
// for a double parses to (it writes null, which libSQL clients refuse). The engine writes
// them as -0 and, in libSQL's Hrana, whose floats are plain numbers, ±1e999 (src/json.c);
// a client may write them in any form JSON allows (-0.0, -1e-400, 400 digits), all of
// which parse to those values, so it is the parsed values that are looked at.

/**
 * JSON text of value: JSON.stringify's, unless value holds −0 or ±Infinity, which are
 * written -0 and ±1e999.
 * @param {unknown} value  what JSON.parse made (arrays, plain objects, strings, numbers, booleans, null)
 * @returns {string}
 */
export function exactJson(value) {
  return holdsInexact(value) ? write(value) : JSON.stringify(value);
}

/** Whether a number is one JSON.stringify changes. @param {number} n */
function inexact(n) {
  return Object.is(n, -0) || n === Infinity || n === -Infinity;
}

/** @param {unknown} value @returns {boolean} */
function holdsInexact(value) {
  if (typeof value === 'number') return inexact(value);
  if (value === null || typeof value !== 'object') return false;
  return (Array.isArray(value) ? value : Object.values(value)).some(holdsInexact);
}

/** @param {unknown} value @returns {string} */
function write(value) {
  if (typeof value === 'number' && inexact(value)) return Object.is(value, -0) ? '-0' : value > 0 ? '1e999' : '-1e999';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : write(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${members.map(([k, v]) => `${JSON.stringify(k)}:${write(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
