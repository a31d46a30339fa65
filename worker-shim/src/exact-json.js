// exact-json.js — writing back JSON the engine wrote, with the numbers JSON.stringify
// cannot write: the engine writes −0.0 as -0 (JSON.stringify writes 0), and in libSQL's
// Hrana, whose floats are plain numbers, ±Infinity as ±1e999 (JSON.stringify writes
// null, which libSQL clients refuse). src/json.c owns those forms.

/** Whether JSON text may hold one of those numbers as a value. A string holding the
 *  same characters only makes exactJson write what JSON.stringify would. */
const EXACT_NUMBER = /[:[,](?:-?1e999|-0)[,}\]]/;

/**
 * JSON text of value, parsed from the engine's text: its numbers as the engine wrote
 * them where JSON.stringify would change them, and otherwise JSON.stringify's text.
 * @param {unknown} value
 * @param {string} text  the JSON text value was parsed from (or one holding it)
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
