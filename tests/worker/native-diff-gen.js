// native-diff-gen.js — a seeded generator of SQL expressions over edge values (NULL,
// blobs, text with NUL and invalid UTF-8, ±Infinity, -0.0, integers at ±2^53), for
// tests/worker/native-diff.test.js: the same seed gives the same expressions.
//
// Its REALs are those SQLite 3.52 and Durable Object SQL's older SQLite write alike as
// text (docs/d1.md: 3.52 writes up to 17 digits, the older one 15), and it calls no
// function with an irrational result, so a difference it finds is not that one again,
// carried into a length or a comparison where no rule can tell it apart.
// Its functions are those Durable Object SQL authorizes.

import { seededRandom } from './seeded-random.js';

const INTS = ['0', '1', '-1', '2', '7', '-7', '255', '100', '4294967296'];
const REALS = ['0.0', '-0.0', '0.5', '-2.5', '1.5', '2.0', '100.25', '(1e308*10)', '(-1e308*10)'];
const TEXTS = ["''", "'a'", "'abc'", "'ABC'", "'12'", "' 12 '", "'1e3'", "'-0'", "'0x1A'", "'é'", "'😀'", "'a%b'", "'_'", "'null'", "'[1,2]'", "'{\"a\":1}'", "'2024-01-31'", "'1.5'", 'char(0)', "'a'||char(0)||'b'", "CAST(x'ff' AS TEXT)", "CAST(x'c0' AS TEXT)"];
const BLOBS = ["x''", "x'00'", "x'41'", "x'ff00'", "x'616263'", 'zeroblob(3)', "x'3132'"];

const UNARY = ['-', '+', '~', 'NOT '];
const BINARY = ['+', '-', '*', '/', '%', '||', '=', '<>', '<', '<=', '>', '>=', 'IS', 'IS NOT', 'AND', 'OR', '&', '|', '<<', '>>', '==', '!=', 'LIKE', 'GLOB', 'NOT LIKE', '->', '->>'];
const F1 = ['abs', 'length', 'typeof', 'hex', 'quote', 'upper', 'lower', 'trim', 'ltrim', 'rtrim', 'unicode', 'round', 'sign', 'zeroblob', 'json_quote', 'json_type', 'json_valid', 'json_array_length', 'octet_length', 'unhex', 'likelihood', 'date', 'time', 'datetime', 'unixepoch', 'char', 'json', 'json_array', 'total'];
const F2 = ['round', 'substr', 'instr', 'coalesce', 'nullif', 'ifnull', 'max', 'min', 'printf', 'format', 'mod', 'json_extract', 'json_array', 'glob', 'like', 'trim', 'ltrim', 'rtrim', 'strftime', 'date', 'concat', 'concat_ws', 'iif'];
const CASTS = ['INTEGER', 'REAL', 'TEXT', 'BLOB', 'NUMERIC'];
const FORMATS = ["'%d'", "'%s'", "'%f'", "'%.3g'", "'%x'", "'%5.1f'", "'%q'", "'%e'", "'%c'", "'%!.15g'", "'%lld'"];
const PATHS = ["'$'", "'$[0]'", "'$.a'", "'$[#-1]'"];

/**
 * @param {number} seed
 * @returns {{expr: (depth: number) => string}}  an expression at most `depth` operators deep
 */
export function makeGenerator(seed) {
  const rnd = seededRandom(seed);
  /** @template T @param {T[]} list @returns {T} */
  const pick = (list) => list[Math.floor(rnd() * list.length)];

  function leaf() {
    const r = rnd();
    if (r < 0.35) return pick(INTS);
    if (r < 0.6) return pick(REALS);
    if (r < 0.85) return pick(TEXTS);
    if (r < 0.95) return pick(BLOBS);
    return 'NULL';
  }

  /** @param {number} depth @returns {string} */
  function expr(depth) {
    if (depth <= 0 || rnd() < 0.25) return leaf();
    const e = () => expr(depth - 1);
    const r = rnd();
    if (r < 0.1) return `${pick(UNARY)}(${e()})`;
    if (r < 0.4) return `(${e()} ${pick(BINARY)} ${e()})`;
    if (r < 0.6) {
      const f = pick(F1);
      if (f === 'likelihood') return `likelihood(${e()}, 0.5)`;
      if (f === 'total') return `(SELECT total(v) FROM (SELECT ${e()} AS v UNION ALL SELECT ${e()}))`;
      if (f === 'zeroblob') return `zeroblob(min(abs(CAST(${e()} AS INTEGER)) % 50, 40))`;
      return `${f}(${e()})`;
    }
    if (r < 0.78) {
      const f = pick(F2);
      if (f === 'printf' || f === 'format') return `${f}(${pick(FORMATS)}, ${e()})`;
      if (f === 'strftime') return `strftime('%Y-%m-%d %H:%M:%f %s %j', ${e()})`;
      if (f === 'iif') return `iif(${e()}, ${e()}, ${e()})`;
      if (f === 'substr') return `substr(${e()}, ${pick(INTS.slice(0, 6))}, ${pick(INTS.slice(0, 6))})`;
      if (f === 'json_extract') return `json_extract(${e()}, ${pick(PATHS)})`;
      return `${f}(${e()}, ${e()})`;
    }
    if (r < 0.86) return `CAST(${e()} AS ${pick(CASTS)})`;
    if (r < 0.9) return `CASE WHEN ${e()} THEN ${e()} ELSE ${e()} END`;
    if (r < 0.93) return `(${e()} BETWEEN ${e()} AND ${e()})`;
    if (r < 0.96) return `(${e()} IN (${e()}, ${e()}))`;
    return `(${e()} COLLATE ${pick(['NOCASE', 'RTRIM', 'BINARY'])})`;
  }

  return { expr };
}
