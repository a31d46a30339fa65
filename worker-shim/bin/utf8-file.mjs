// utf8-file.mjs — read a text file that must be UTF-8 (a migration, a script for dosql
// exec): one that is not (saved as Latin-1 or Windows-1252) is refused, naming its line.
// Read as UTF-8 anyway, its accented letters would become U+FFFD without a word, and the
// rows its SQL inserts would hold them.

import { readFileSync, statSync } from 'node:fs';
import { sqlComments } from './sql-comments.mjs';

/** Refuses what is not UTF-8, and keeps a BOM (a migration's checksum leaves it out, src/migrate.c). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text of the file at path; an Error naming path when it is a folder, cannot be
 * read, or is not UTF-8.
 * @param {string} path
 * @returns {string}
 */
export function readUtf8File(path) {
  /** @type {Buffer} */
  let bytes;
  try {
    if (statSync(path).isDirectory()) throw new Error('it is a folder (or a link to one), not a file');
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: ${err instanceof Error ? err.message : err}`);
  }
  return utf8Text(bytes, path);
}

/**
 * The text of bytes read from what `name` names (a file, standard input); an Error
 * naming it when they are a database or an archive (packedKind), hold a NUL or are not
 * UTF-8.
 * @param {Buffer} bytes @param {string} name
 * @param {string} [arg]  how a command names it (- for standard input)
 * @returns {string}
 */
export function utf8Text(bytes, name, arg = name) {
  // A NUL ends SQLite's text there (and a file saved as UTF-16 holds one in every other byte).
  const nul = bytes.indexOf(0);
  const kind = packedKind(bytes);
  if (kind !== null) throw new Error(`${name} is ${kind.what}, not SQL text: ${kind.asScript(arg)}`);
  if (nul >= 0) {
    const line = bytes.subarray(0, nul).filter((b) => b === 0x0a).length + 1;
    throw new Error(`${name} holds a NUL byte (line ${line}, byte ${nul}), which SQL text cannot: save it as UTF-8 text (not UTF-16)`);
  }
  /** @type {string} */
  let text;
  try {
    text = UTF8.decode(bytes);
  } catch {
    const bad = firstInvalidByte(bytes);
    const line = bytes.subarray(0, bad).filter((b) => b === 0x0a).length + 1;
    throw new Error(`${name} is not UTF-8 (line ${line}, byte ${bad}: 0x${bytes[bad].toString(16)}): save it as UTF-8, or its text would change on the way`);
  }
  const swallowed = commentPastCr(text);
  if (swallowed >= 0) {
    const line = text.slice(0, swallowed).split(/\r\n|\r|\n/).length;
    throw new Error(`${name} ends line ${line}, a -- comment, with a carriage return alone (old Mac line endings), where SQLite does not ` +
      'end the comment: the lines after it up to the next line feed would not run. Save it with LF (or CRLF) line endings');
  }
  return text;
}

/**
 * Where a -- comment reaches past a lone CR to more text before its line feed: SQLite
 * ends such a comment only at a line feed, so that text, which an editor shows on lines
 * of its own, would not run. The offset of that CR, or -1.
 * @param {string} text
 */
function commentPastCr(text) {
  for (const { start, end, line } of sqlComments(text)) {
    if (!line) continue;
    const comment = text.slice(start, end);
    const cr = comment.search(/\r(?!$)/);
    if (cr >= 0 && comment.slice(cr + 1).trim() !== '') return start + cr;
  }
  return -1;
}

/**
 * What a file that begins with these bytes is, when it is a database or an archive (a
 * backup, as docs/cli.md makes one: dosql export -o - | gzip), and what to do with it
 * instead, as a script (asScript) and as a database to import (asDatabase, null when it
 * is one); else null.
 * @param {Uint8Array} head  its first bytes (16 or more)
 * @returns {{what: string, asScript: (name: string) => string, asDatabase: ((name: string) => string) | null} | null}
 */
export function packedKind(head) {
  const starts = (/** @type {number[]} */ magic) => magic.every((b, i) => head[i] === b);
  if (Buffer.from(head.subarray(0, 16)).toString('latin1') === 'SQLite format 3\0') {
    return { what: 'a SQLite database file', asScript: (name) => `to replace a database with it, use dosql import ${name}`, asDatabase: null };
  }
  if (starts([0x1f, 0x8b])) {
    return {
      what: 'compressed with gzip',
      asScript: () => 'decompress it first (gunzip)',
      asDatabase: (name) => `decompress it first, as dosql import <(gunzip -c ${name}) does`,
    };
  }
  if (starts([0x50, 0x4b, 0x03, 0x04])) {
    const unzip = () => 'unzip it, and use the file in it';
    return { what: 'a zip archive', asScript: unzip, asDatabase: unzip };
  }
  return null;
}

/** The offset of the first byte that does not decode as UTF-8, in bytes that do not. @param {Buffer} bytes */
function firstInvalidByte(bytes) {
  // Up to the first bad byte, the lossy text is the bytes' exact decoding: its first
  // U+FFFD that the file did not spell itself (EF BF BD) is where they stop being UTF-8.
  let offset = 0;
  for (const ch of bytes.toString('utf8')) {
    if (ch === '\uFFFD' && !(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) return offset;
    offset += Buffer.byteLength(ch);
  }
  return offset;
}
