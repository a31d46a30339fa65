// client/values.js — how values travel: the lossless encoding of the wire protocol.
//
// JSON cannot carry every SQLite value, so some travel tagged (docs/protocol.md, "Values"):
// BigInt ⇄ {$bigint: "<decimal>"}, bytes ⇄ {$blob: "<base64>"}, ±Infinity ⇄
// {$real: "Infinity"}; text with NUL characters is sent as {$text: "<base64>"}
// (encodeText); a Date is sent as its ISO string. The client decodes what
// the object answers, and the SSE relay (changes/sse.js) encodes it again for browsers.

import { DoSQLError } from './error.js';

const encoder = new TextEncoder();

const TOJSON_GAVE_PROMISE =
  "a parameter's toJSON() gave a promise (an object's methods called over Workers RPC run on the caller's side): call toJSON() yourself and bind what it gives";
const TOJSON_GAVE_NOTHING = "a parameter's toJSON() gave nothing JSON can write: bind a number, bigint, string, boolean, null, Date or bytes";

/**
 * Parameters for the wire: an array (positional) or an object (named), each value
 * encoded with encodeValue. undefined stays undefined (no parameters); anything else
 * goes as it is, for the object to refuse (400 BAD_PARAMS) as it refuses every
 * request it cannot take, over fetch and over Workers RPC alike.
 * @param {unknown} params
 * @returns {unknown}
 */
export function encodeParams(params) {
  if (params === undefined || params === null) return undefined;
  if (Array.isArray(params)) return params.map(encodeValue);
  if (typeof params === 'object') {
    return Object.fromEntries(Object.entries(/** @type {object} */ (params)).map(([k, v]) => [parameterName(k), encodeValue(v)]));
  }
  return params;
}

/**
 * A named parameter's name for the wire, sent as the SQL naming it is (encodeSql):
 * half a UTF-16 pair alone as U+FFFD, so that the two still match; a NUL, which no
 * name in SQL text can hold, refused.
 * @param {string} name
 */
function parameterName(name) {
  if (name.includes('\0')) throw badParameter(`the parameter name ${JSON.stringify(name)} holds a NUL character, which no name in SQL can hold`);
  return wellFormed(name);
}

/**
 * SQL text for the wire, as D1 sends it: half a UTF-16 pair alone (text cut inside an
 * emoji) becomes U+FFFD, as in a parameter. A NUL character is refused: SQLite ends a
 * statement's text there, so what follows would never run (and JSON cannot carry it).
 * A boxed string (new String(...)) is its text. An object JSON would turn into text
 * (a Date, anything with toJSON()) is refused here, where it is still an object; any
 * other value goes as it is, for the object to refuse (400 BAD_REQUEST).
 * @param {unknown} sql
 * @returns {unknown}
 */
export function encodeSql(sql) {
  if (sql instanceof String) return encodeSql(sql.valueOf());
  if (typeof sql === 'object' && sql !== null && typeof (/** @type {any} */ (sql).toJSON) === 'function') {
    throw new DoSQLError(`sql must be a string of SQL, not ${sql instanceof Date ? 'a Date' : 'an object with toJSON()'}`, { code: 'BAD_REQUEST', status: 400 });
  }
  if (typeof sql !== 'string') return sql;
  const nul = sql.indexOf('\0');
  if (nul >= 0) {
    throw new DoSQLError(
      `sql holds a NUL character (at character ${nul}): SQLite ends a statement's text there, so what follows would never run; remove it`,
      { code: 'BAD_REQUEST', status: 400 },
    );
  }
  return wellFormed(sql);
}

/**
 * One parameter value for the wire. A value that has no form there (a symbol, a
 * function, a Date that is not a time, a promise) is refused here with BAD_PARAMS:
 * JSON would send it as null or {} (or drop it), and Workers RPC would not send it
 * at all.
 * @param {unknown} value
 * @returns {unknown}
 */
export function encodeValue(value) {
  if (value === undefined) return null;
  if (typeof value === 'symbol' || typeof value === 'function' || (value instanceof Date && Number.isNaN(value.getTime())) || isThenable(value)) {
    throw badParameter(`a parameter cannot be ${describe(value)}: bind a number, bigint, string, boolean, null, Date or bytes`);
  }
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (typeof value === 'number') {
    if (value === Infinity) return { $real: 'Infinity' };
    if (value === -Infinity) return { $real: '-Infinity' };
    if (Object.is(value, -0)) return { $real: '-0' }; // JSON.stringify(-0) is "0"
    return Number.isNaN(value) ? null : value;
  }
  if (typeof value === 'string') return encodeText(value);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof ArrayBuffer) return { $blob: toBase64(new Uint8Array(value)) };
  if (ArrayBuffer.isView(value)) return { $blob: toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  if (value !== null && typeof value === 'object') {
    const own = ownValue(value);
    return own !== null && typeof own === 'object' && !(own instanceof ArrayBuffer) && !ArrayBuffer.isView(own) ? asJSON(own) : encodeValue(own);
  }
  return value; // boolean, null
}

/**
 * The value an object given as a parameter stands for, as JSON.stringify takes it: a
 * boxed primitive's (new Number(5), Object(5n)), or what its toJSON() gives (then
 * encoded as that value is: Infinity as a REAL, bytes as a blob); else the object.
 * @param {object} value
 */
function ownValue(value) {
  if (value instanceof Number || value instanceof String || value instanceof Boolean || value instanceof BigInt) return value.valueOf();
  const toJSON = /** @type {any} */ (value).toJSON;
  if (typeof toJSON !== 'function') return value;
  const own = toJSON.call(value, '');
  if (isThenable(own)) {
    throw badParameter(TOJSON_GAVE_PROMISE);
  }
  if (own === undefined || typeof own === 'function' || typeof own === 'symbol') {
    throw badParameter(TOJSON_GAVE_NOTHING);
  }
  return own;
}

/**
 * Any other object (a tagged value, or one the database refuses: {a: 1}, an array, a
 * Map) as JSON carries it, which is what the database gets over fetch: so that over
 * Workers RPC too it is bound or refused (BAD_PARAMS) by the database, rather than
 * cloned as JSON cannot write it, or not cloned at all (a WeakMap: a DataCloneError).
 * Written by paramReplacer; one that JSON cannot write at all (a cycle), or writes
 * as nothing (a toJSON() that gives undefined), is refused here.
 * @param {object} value
 */
function asJSON(value) {
  let text;
  try {
    text = JSON.stringify(value, paramReplacer);
  } catch (err) {
    if (err instanceof DoSQLError) throw err;
    throw badParameter(`a parameter cannot be sent: ${String(/** @type {any} */ (err)?.message).split('\n')[0]}; bind a number, bigint, string, boolean, null, Date or bytes`);
  }
  if (text === undefined) throw badParameter(TOJSON_GAVE_NOTHING);
  return JSON.parse(text);
}

/**
 * A JSON.stringify replacer for objects sent as parameters, which the database
 * binds only when they are its tags: a bigint is written as its tag, where
 * JSON.stringify would throw; bytes as {}, as JSON writes an ArrayBuffer, not as
 * an object of one key per byte (a 16 MiB Uint8Array made 200 MB of text); and a
 * promise is refused: an object's toJSON() called over Workers RPC runs on the
 * caller's side and gives one (it would be written as nothing, and bind NULL).
 * @param {string} _key @param {unknown} value
 */
export function paramReplacer(_key, value) {
  if (typeof value === 'bigint') return { $bigint: String(value) };
  if (ArrayBuffer.isView(value)) return {};
  if (isThenable(value)) {
    throw badParameter(TOJSON_GAVE_PROMISE);
  }
  return value;
}

/**
 * Why a request body cannot be sent as it is, when a field of it (or of an object in
 * it, as asOf's {time}) is a number JSON cannot write: NaN or ±Infinity would go as
 * null, which reads as the field left out (asOf NaN would read the present); else
 * null. Parameters are encoded before (encodeValue), and not looked at.
 * @param {unknown} body @returns {string | null}
 */
export function unwritableNumber(body) {
  // Bytes are no body of fields (and a key per byte would be a long walk).
  if (body === null || typeof body !== 'object' || ArrayBuffer.isView(body)) return null;
  const fields = /** @type {Record<string, unknown>} */ (body);
  for (const key in fields) {
    const value = fields[key];
    if (typeof value === 'number' && !Number.isFinite(value)) return unwritable(key, value);
    if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value) || key === 'params') continue;
    const inner = /** @type {Record<string, unknown>} */ (value);
    for (const name in inner) {
      if (typeof inner[name] === 'number' && !Number.isFinite(inner[name])) return unwritable(`${key}.${name}`, inner[name]);
    }
  }
  return null;
}

/** @param {string} field @param {unknown} value */
function unwritable(field, value) {
  return `${field} is ${value}, which JSON cannot carry (it would be sent as null, as if left out): give a finite number`;
}

/** A promise, or what acts as one: Workers RPC's answer to a call is a function too. @param {unknown} value */
function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (/** @type {any} */ (value).then) === 'function';
}

/** @param {string} message */
function badParameter(message) {
  return new DoSQLError(message, { code: 'BAD_PARAMS', status: 400 });
}

/** @param {unknown} value */
function describe(value) {
  if (typeof value === 'symbol') return `a symbol, ${String(value)}`;
  if (typeof value === 'function') return 'a function';
  return isThenable(value) ? 'a promise (await it first)' : 'an invalid Date';
}

/** Text with half a UTF-16 pair alone (which has no UTF-8) as U+FFFD, as D1 sends it. @param {string} text */
function wellFormed(text) {
  return text.isWellFormed() ? text : text.toWellFormed();
}

/**
 * A string for the wire. JSON carries any text but two kinds, which D1 binds
 * anyway: NUL characters (the engine's JSON reader cannot keep them), sent as
 * {$text: base64 of the UTF-8}; and half a UTF-16 pair alone (text cut inside an
 * emoji), which has no UTF-8 and becomes U+FFFD (local D1 stores its WTF-8 bytes:
 * docs/d1.md).
 * @param {string} text
 */
function encodeText(text) {
  if (text.includes('\0')) return { $text: toBase64(encoder.encode(text)) };
  return wellFormed(text);
}

/**
 * A row of results as the database sends it: decodeRow undone. Its text stays as
 * it is (parameters send text holding NUL as {$text}; results never do).
 * @param {Record<string, unknown>} row
 * @returns {Record<string, unknown>}
 */
export function encodeRow(row) {
  if (row === null || typeof row !== 'object') return row;
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const key of Object.keys(row)) {
    const value = row[key];
    setColumn(out, key, typeof value === 'string' ? value : encodeValue(value));
  }
  return out;
}

/**
 * A row with every value decoded.
 * @param {Record<string, unknown>} row
 * @returns {Record<string, unknown>}
 */
export function decodeRow(row) {
  if (row === null || typeof row !== 'object') return row;
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const key of Object.keys(row)) setColumn(out, key, decodeValue(row[key]));
  return out;
}

/**
 * row[key] = value as an own property, also for a column named `__proto__`, which
 * plain assignment would take for the row's prototype.
 * @param {Record<string, unknown>} row @param {string} key @param {unknown} value
 */
function setColumn(row, key, value) {
  if (key === '__proto__') Object.defineProperty(row, key, { value, enumerable: true, writable: true, configurable: true });
  else row[key] = value;
}

/**
 * The rows of an answer, fresh from JSON.parse: a row with no tagged value (no
 * object among its values) is its own decoding and is not copied.
 * @param {unknown} rows @returns {Record<string, unknown>[]}
 */
export function decodeRows(rows) {
  return Array.isArray(rows) ? rows.map((row) => (holdsObject(row) ? decodeRow(row) : row)) : [];
}

/** Whether one of a row's values is an object (a tag: decodeValue). @param {unknown} row */
function holdsObject(row) {
  if (row === null || typeof row !== 'object') return false;
  for (const key in row) {
    const value = /** @type {Record<string, unknown>} */ (row)[key];
    if (value !== null && typeof value === 'object') return true;
  }
  return false;
}

/**
 * One value from the wire: {$bigint} → BigInt, {$blob} → Uint8Array, {$real} → number.
 * @param {unknown} value
 * @returns {unknown}
 */
export function decodeValue(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const tagged = /** @type {Record<string, unknown>} */ (value);
  const keys = Object.keys(tagged);
  if (keys.length !== 1) return value;
  const v = tagged[keys[0]];
  if (typeof v !== 'string') return value;
  switch (keys[0]) {
    case '$bigint':
      return BigInt(v);
    case '$blob':
      return fromBase64(v);
    case '$real':
      return Number(v);
    default:
      return value;
  }
}

/** @param {Uint8Array} bytes */
function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, /** @type {any} */ (bytes.subarray(i, i + 0x8000)));
  }
  return btoa(binary);
}

/** @param {string} text */
function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
