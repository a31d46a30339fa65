// dosql-shell.mjs — the interactive shell of the dosql command: statements over
// @libsql/client, dot commands, output modes and line history, as sqlite3's shell has.
//
// Input is read line by line; each whole statement in it (up to a ";" outside quotes
// and comments; "END;" for CREATE TRIGGER) runs in turn, its rows printed. From a terminal it prompts and
// keeps history in ~/.dosql_history; from a pipe it runs what it reads and exits 1
// if any statement failed.

import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { withoutComments } from './sql-comments.mjs';

export const MODES = ['table', 'json', 'csv', 'line'];
const HISTORY_FILE = join(homedir(), '.dosql_history');
const HISTORY_LINES = 1000;
// A PATTERN is LIKE's, as in sqlite3's shell: case-insensitive, % and _ wildcards.
const TABLES_SQL = "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_dosql\\_%' ESCAPE '\\' AND (?1 IS NULL OR name LIKE ?1) ORDER BY name";
const SCHEMA_SQL = "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE '\\_dosql\\_%' ESCAPE '\\' AND (?1 IS NULL OR tbl_name LIKE ?1) ORDER BY tbl_name, type DESC, name";
const HELP = `.tables [PATTERN] tables and views (PATTERN as LIKE's: %, _)
.schema [PATTERN] their CREATE statements
.mode MODE        output as ${MODES.join(', ')}
.help             this
.quit             leave (also .exit, or end of input)`;

// sqlite3_complete()'s machine (SQLite's complete.c), which the sqlite3 shell splits its
// input with: tokens SEMI, WS (blanks, comments), OTHER, and five keywords; NEXT[state]
// [token] is the next state. State 1 lies between statements. A CREATE TRIGGER's body
// (states 5 to 7) holds ";"s: it ends only at an END right after one, so the END of a
// CASE inside it ends nothing.
const [SEMI, WS, OTHER, EXPLAIN, CREATE, TEMP, TRIGGER, END] = [0, 1, 2, 3, 4, 5, 6, 7];
const KEYWORDS = new Map([['explain', EXPLAIN], ['create', CREATE], ['temp', TEMP], ['temporary', TEMP], ['trigger', TRIGGER], ['end', END]]);
const NEXT = [
  [1, 0, 2, 3, 4, 2, 2, 2],
  [1, 1, 2, 3, 4, 2, 2, 2],
  [1, 2, 2, 2, 2, 2, 2, 2],
  [1, 3, 3, 2, 4, 2, 2, 2],
  [1, 4, 2, 2, 2, 4, 5, 2],
  [6, 5, 5, 5, 5, 5, 5, 5],
  [6, 6, 5, 5, 5, 5, 5, 7],
  [1, 7, 5, 5, 5, 5, 5, 5],
];
const ID_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

/**
 * Where the statements of sql end, as sqlite3_complete() finds them: the index after
 * each ";" that ends one. Text after the last is not yet a whole statement.
 * @param {string} sql
 * @returns {number[]}
 */
function statementEnds(sql) {
  /** @type {number[]} */
  const ends = [];
  let state = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    let token = OTHER;
    if (c === ';') {
      token = SEMI;
    } else if (/\s/.test(c)) {
      token = WS;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) break;
      i = end + 1;
      token = WS;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      if (end < 0) break;
      i = end;
      token = WS;
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      const end = sql.indexOf(c === '[' ? ']' : c, i + 1);
      if (end < 0) break;
      i = end;
    } else if (ID_CHAR.test(c)) {
      let j = i + 1;
      while (j < sql.length && ID_CHAR.test(sql[j])) j++;
      token = KEYWORDS.get(sql.slice(i, j).toLowerCase()) ?? OTHER;
      i = j - 1;
    }
    state = NEXT[state][token];
    if (token === SEMI && state === 1) ends.push(i + 1);
  }
  return ends;
}

/**
 * Whether a script leaves a transaction open: a BEGIN with no COMMIT, END or
 * ROLLBACK after it, which closing its stream rolls back.
 * @param {string} script
 */
export function endsInTransaction(script) {
  let open = false;
  let start = 0;
  for (const end of [...statementEnds(script), script.length]) {
    const control = transactionControl(script.slice(start, end));
    if (control) open = control === 'begin';
    start = end;
  }
  return open;
}

/**
 * A dot command's argument as sqlite3's shell reads it: the rest of the line, a
 * name quoted as SQL quotes one ("a b", [a b], `a b`, 'a b') unquoted.
 * @param {string} rest
 */
function dotArgument(rest) {
  const quoted = /^(["'`])([\s\S]*)\1$/.exec(rest);
  if (quoted) return quoted[2].replaceAll(quoted[1] + quoted[1], quoted[1]);
  const bracketed = /^\[([\s\S]*)\]$/.exec(rest);
  return bracketed ? bracketed[1] : rest;
}

/** Whether text holds more than blanks, comments and ";"s. @param {string} text */
const hasStatement = (text) => withoutComments(text).replace(/;/g, '').trim() !== '';

/**
 * Whether a statement begins or ends a transaction: "begin", "commit" (also END) or
 * "rollback" (not ROLLBACK TO, which stays inside it), else null.
 * @param {string} sql
 * @returns {'begin' | 'commit' | 'rollback' | null}
 */
export function transactionControl(sql) {
  const text = withoutComments(sql).trim().toLowerCase();
  if (/^begin\b/.test(text)) return 'begin';
  if (/^(commit|end)\b/.test(text)) return 'commit';
  if (/^rollback\b/.test(text) && !/^rollback(\s+transaction)?\s+to\b/.test(text)) return 'rollback';
  return null;
}

/**
 * Whether a statement sets PRAGMA foreign_keys, which in this shell would end with its
 * own request (docs/protocol.md): the shell sends each statement as one.
 * @param {string} sql
 */
export function setsForeignKeys(sql) {
  const text = withoutComments(sql).trim().toLowerCase();
  // The name as SQLite takes it: bare, or quoted as an identifier or a string.
  return /^pragma\s+(?:\S+\s*\.\s*)?[`"'[]?foreign_keys[`"'\]]?\s*[=(]/.test(text);
}

/** A value as the table, csv and line modes print it. @param {unknown} v */
function text(v) {
  if (v === null) return 'NULL';
  if (v instanceof ArrayBuffer) return `x'${Buffer.from(v).toString('hex')}'`;
  if (wholeReal(v)) return `${v}.0`;
  return String(v);
}

/**
 * Whether v is a REAL with no fraction, which sqlite3 prints as 2.0: with intMode
 * "bigint" an INTEGER comes as a bigint, so a number is always a REAL. (Past 1e15
 * JavaScript writes an exponent, as sqlite3 does.) @param {unknown} v
 */
function wholeReal(v) {
  return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 1e15;
}

/** @param {string} s */
const csvField = (s) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/**
 * A result set as text in a mode ('' for a statement without columns).
 * @param {{columns: string[], rows: any[]}} rs @param {string} mode
 */
export function format(rs, mode) {
  const { columns } = rs;
  if (columns.length === 0) return '';
  const rows = rs.rows.map((r) => columns.map((_, i) => r[i]));
  if (mode === 'json') {
    const objects = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] instanceof ArrayBuffer ? text(r[i]) : r[i]])));
    // Numbers JSON.stringify cannot write, as sqlite3 -json writes them: ±Infinity as
    // 1e999 (null is NULL's spelling; JSON.parse reads 1e999 back as Infinity), and an
    // integer past 2^53 as its digits (not a string, which TEXT of those digits is).
    // Each is put in after, in place of a mark no text of the rows can hold.
    const mark = `dosql-number-${randomUUID()}:`;
    const json = JSON.stringify(objects, (_, v) => {
      if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : `${mark}${v}`;
      if (v === Infinity || v === -Infinity) return `${mark}${v < 0 ? '-' : ''}1e999`;
      if (wholeReal(v)) return `${mark}${v}.0`;
      return v;
    }, 2);
    return json.replace(new RegExp(`"${mark}(-?[0-9e.]+)"`, 'g'), '$1');
  }
  if (mode === 'csv') return [columns, ...rows.map((r) => r.map((v) => (v === null ? '' : text(v))))].map((r) => r.map(csvField).join(',')).join('\n');
  // Widths by a loop, not Math.max(...list): a spread of many rows overflows the stack.
  const widest = (/** @type {string[]} */ list) => list.reduce((w, s) => Math.max(w, s.length), 0);
  if (mode === 'line') {
    const width = widest(columns);
    return rows.map((r) => columns.map((c, i) => `${c.padStart(width)} = ${text(r[i])}`).join('\n')).join('\n\n');
  }
  const cells = [columns, ...rows.map((r) => r.map(text))];
  const widths = columns.map((_, i) => widest(cells.map((r) => r[i])));
  const line = (/** @type {string[]} */ r) => r.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/**
 * Run the shell until its input ends or .quit. Resolves to the exit code.
 * @param {any} client  a @libsql/client Client (intMode "bigint")
 * @param {{input: NodeJS.ReadableStream & {isTTY?: boolean}, output: NodeJS.WritableStream, errors: NodeJS.WritableStream, mode?: string, banner?: string,
 *   describe?: (err: unknown) => string}} io  describe: an error's message
 * @returns {Promise<number>}
 */
export async function runShell(client, { input, output, errors, mode = 'table', banner, describe = (err) => /** @type {any} */ (err)?.message ?? String(err) }) {
  const tty = Boolean(input.isTTY);
  const history = tty && existsSync(HISTORY_FILE) ? readFileSync(HISTORY_FILE, 'utf8').split('\n').filter(Boolean).reverse().slice(0, HISTORY_LINES) : [];
  const lines = createInterface({ input: tty ? input : strictText(input), output: tty ? output : undefined, terminal: tty, history, historySize: HISTORY_LINES });
  const say = (/** @type {string} */ s) => s && output.write(`${s}\n`);
  const complain = (/** @type {string} */ s) => errors.write(`${s}\n`);
  let failed = false;
  let buffer = '';
  if (tty && banner) say(banner);
  const prompt = () => tty && lines.setPrompt(buffer ? '   ...> ' : 'dosql> ');

  // Each statement goes on a stream of its own, so BEGIN ... COMMIT typed here
  // holds one: a client transaction, which the statements in between run on.
  /** @type {any} */
  let tx = null;
  /** @param {string} sql */
  const run = async (sql) => {
    try {
      const control = transactionControl(sql);
      if (control === 'begin') {
        if (tx) throw new Error('cannot start a transaction within a transaction');
        tx = await client.transaction('write');
      } else if (control) {
        if (!tx) throw new Error(`cannot ${control} - no transaction is active`);
        const ending = tx;
        tx = null;
        await (control === 'commit' ? ending.commit() : ending.rollback());
      } else if (!tx && setsForeignKeys(sql)) {
        // It would do nothing for the statements after it, and a script (a table
        // rebuilt, a sqlite3 .dump) that goes on without it loses rows: piped input stops.
        const why = 'PRAGMA foreign_keys cannot be set in dosql shell: each statement is a request of its own, and the setting ' +
          'lasts to the end of its request (docs/protocol.md). Run a script that needs it with dosql exec FILE, where it lasts to ' +
          "the end of the script (up to 8 MiB; a larger sqlite3 .dump: sqlite3 new.db < dump.sql, then dosql import new.db)";
        if (!tty) throw new Stopped(`${why}; the shell stopped there (the statements before it ran)`);
        throw new Error(why);
      } else {
        say(format(await (tx ?? client).execute(sql), mode));
      }
    } catch (err) {
      if (err instanceof Stopped) throw err;
      failed = true;
      complain(`Error: ${describe(err)}`);
    }
  };

  /** @param {string} line @returns {Promise<boolean>} false to stop */
  const dot = async (line) => {
    const [command] = line.trim().split(/\s+/, 1);
    const arg = dotArgument(line.trim().slice(command.length).trim()) || undefined;
    if (command === '.quit' || command === '.exit') return false;
    // Inside a transaction, on its stream: the database waits for it.
    const on = tx ?? client;
    if (command === '.help') say(HELP);
    else if (command === '.tables') say((await on.execute({ sql: TABLES_SQL, args: [arg ?? null] })).rows.map((r) => r.name).join('\n'));
    else if (command === '.schema') say((await on.execute({ sql: SCHEMA_SQL, args: [arg ?? null] })).rows.map((r) => `${r.sql};`).join('\n'));
    else if (command === '.mode' && MODES.includes(arg)) mode = arg;
    else {
      failed = true;
      complain(command === '.mode' ? `Error: .mode takes ${MODES.join(', ')}` : `Error: unknown command ${command}: .help lists them`);
    }
    return true;
  };

  // Ctrl-C drops the statement being typed, as sqlite3's shell does (without a
  // listener readline would end the input, and the statement would run): every
  // line given before it, also those the loop below has not taken yet.
  let given = 0;
  let droppedThrough = 0;
  lines.on('line', () => given++);
  lines.on('SIGINT', () => {
    droppedThrough = given;
    buffer = '';
    // The line being typed too: readline keeps it, and the next Enter would send it.
    lines.write(null, { ctrl: true, name: 'e' });
    lines.write(null, { ctrl: true, name: 'u' });
    output.write('^C\n');
    prompt();
    lines.prompt();
  });
  prompt();
  if (tty) lines.prompt();
  let taken = 0;
  try {
    await readLines();
  } catch (err) {
    if (!(err instanceof Stopped)) throw err;
    complain(`Error: ${err.message}`);
    failed = true;
  }
  lines.close();
  if (!failed && hasStatement(buffer)) await run(buffer);
  if (tx) {
    complain('Error: the input ended inside a transaction: it was rolled back');
    tx.close();
    failed = true;
  }
  return failed ? 1 : 0;

  async function readLines() {
  for await (const line of lines) {
    if (++taken <= droppedThrough) {
      buffer = '';
      continue;
    }
    if (tty && line.trim()) appendFileSync(HISTORY_FILE, `${line}\n`);
    if (!buffer && line.trim().startsWith('.')) {
      let go = true;
      try {
        go = await dot(line);
      } catch (err) {
        failed = true;
        complain(`Error: ${describe(err)}`);
      }
      if (!go) break;
    } else {
      buffer += `${line}\n`;
      const ends = statementEnds(buffer);
      for (let i = 0, start = 0; i < ends.length; start = ends[i++]) {
        const sql = buffer.slice(start, ends[i]);
        if (hasStatement(sql)) await run(sql);
      }
      if (ends.length) {
        const rest = buffer.slice(/** @type {number} */ (ends.at(-1)));
        buffer = hasStatement(rest) ? rest : '';     // a comment after the last ";" ends with it
      }
    }
    prompt();
    if (tty) lines.prompt();
  }
  }
}

/** Piped input the shell stops at, saying why. */
class Stopped extends Error {}

/**
 * Piped input as text, stopped at the first line that is not UTF-8 (or holds a NUL, as
 * a file saved as UTF-16 does): read lossily, its accented letters would become U+FFFD
 * in the rows it writes, without a word. The statements before that line have run.
 * @param {NodeJS.ReadableStream} input @returns {Readable}
 */
function strictText(input) {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 0;
  /** One line's text (0x0A never starts or ends a UTF-8 sequence). @param {Buffer} bytes */
  const text = (bytes) => {
    line++;
    const stop = (/** @type {string} */ why) => new Stopped(`standard input ${why} at line ${line}, so the shell stopped there (the statements before it ran): save the script as UTF-8 text`);
    if (bytes.includes(0)) throw stop('holds a NUL byte (is it UTF-16?)');
    try {
      return decoder.decode(bytes);
    } catch {
      throw stop('is not UTF-8');
    }
  };
  return Readable.from((async function* () {
    let pending = Buffer.alloc(0);
    for await (const chunk of input) {
      pending = Buffer.concat([pending, Buffer.from(chunk)]);
      for (let end = pending.indexOf(0x0a); end >= 0; end = pending.indexOf(0x0a)) {
        yield text(pending.subarray(0, end + 1));
        pending = pending.subarray(end + 1);
      }
    }
    if (pending.length > 0) yield text(pending);
  })());
}
