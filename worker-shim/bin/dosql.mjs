#!/usr/bin/env node
// dosql.mjs — the dosql command: a database from the terminal (docs/cli.md).
//
//   dosql shell   [TARGET] [--mode table|json|csv|line]   an interactive SQL shell
//   dosql exec    FILE.sql [TARGET]                        run a script, statement by statement
//   dosql export  [TARGET] [-o FILE.sqlite]                the database as a SQLite file
//   dosql import  FILE.sqlite [TARGET]                     replace the database with a file
//   dosql history [TARGET]                                 the points history keeps
//   dosql restore POINT [TARGET]                           the database back to a point
//   dosql branch  NAME [TARGET] [--from POINT]             a new database as of a point
//
// TARGET is a database URL or a tenant name of DOSQL_URL (default: `./build.sh dev`
// on http://localhost:8787); the token is --token, DOSQL_TOKEN or .dev.vars
// (dosql-target.mjs). SQL goes over libSQL's protocol with @libsql/client; the other
// commands use DoSQL's own endpoints through its client.

import { parseArgs } from 'node:util';
import { closeSync, createReadStream, createWriteStream, openSync, readSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SQLITE_FILE_TYPE, answerOf, createClient } from '../src/client/client.js';
import { resolveTarget, resolveToken, DEFAULT_SERVER } from './dosql-target.mjs';
import { MODES, endsInTransaction, runShell } from './dosql-shell.mjs';
import { packedKind, readUtf8File, utf8Text } from './utf8-file.mjs';

/**
 * The commands: their arguments (the first `needs` of them required), the options each
 * takes beside --token, and what they do. The usage is written from this table, and an
 * argument or option a command does not take is a usage error, never dropped: a
 * `dosql export acme backup.sqlite` that wrote acme.sqlite would look like a backup made.
 * @type {Record<string, {args: string[], needs: number, options: string[], synopsis: string, what: string}>}
 */
const COMMANDS = {
  shell: { args: ['TARGET'], needs: 0, options: ['mode'], synopsis: `[TARGET] [--mode ${MODES.join('|')}]`, what: 'an interactive SQL shell (.help inside)' },
  exec: { args: ['FILE.sql', 'TARGET'], needs: 1, options: [], synopsis: 'FILE.sql [TARGET]', what: 'run a script, statement by statement' },
  export: { args: ['TARGET'], needs: 0, options: ['output'], synopsis: '[TARGET] [-o FILE.sqlite]', what: 'the database as a SQLite file' },
  import: { args: ['FILE.sqlite', 'TARGET'], needs: 1, options: [], synopsis: 'FILE.sqlite [TARGET]', what: 'replace the database with a SQLite file' },
  history: { args: ['TARGET'], needs: 0, options: [], synopsis: '[TARGET]', what: 'the points history keeps' },
  restore: { args: ['POINT', 'TARGET'], needs: 1, options: [], synopsis: 'POINT [TARGET]', what: 'the database back as it was at POINT' },
  branch: { args: ['NAME', 'TARGET'], needs: 1, options: ['from'], synopsis: 'NAME [TARGET] [--from POINT]', what: 'a new database NAME, as this one was at POINT' },
};

/** How each option is typed. */
const FLAGS = { mode: '--mode', output: '-o', from: '--from' };

const USAGE = `usage: dosql COMMAND [ARGS] [--token TOKEN]

${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(7)} ${c.synopsis.padEnd(40)} ${c.what}`).join('\n')}

POINT: an lsn (digits), a bookmark, or a time ("2026-12-05 07:00:00", UTC unless it
says otherwise); dosql history shows the points kept.

TARGET: a database URL (http://host/db/TENANT/, ws://..., libsql://...) or a tenant
name on DOSQL_URL (default ${DEFAULT_SERVER}, ./build.sh dev). The token: --token,
else DOSQL_TOKEN, else the DOSQL_TOKEN of the nearest .dev.vars.`;

/** The first 16 bytes of the file at path (fewer when it is shorter). @param {string} path */
function headOf(path) {
  const head = Buffer.alloc(16);
  const fd = openSync(path, 'r');
  try {
    return head.subarray(0, readSync(fd, head, 0, 16, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuse a file whose upload would not be the database its user sees: SQL text (run
 * it with exec), or one whose newest pages lie in a -wal beside it (WAL mode, as local
 * D1 leaves its files), or whose last transaction a -journal beside it would undo.
 * @param {string} path
 */
function checkImportable(path) {
  // A pipe (<(gunzip -c backup.gz), /dev/stdin) cannot be read twice: the server checks
  // the header of what it is sent.
  if (!statSync(path).isFile()) return;
  const kind = packedKind(headOf(path));
  if (kind === null) throw new Error(`${path} is not a SQLite database file: to run the SQL in it, use dosql exec ${path}`);
  if (kind.asDatabase) throw new Error(`${path} is ${kind.what}, not a SQLite database file: ${kind.asDatabase(path)}`);
  if (beside(path, '-wal')) {
    throw new Error(`${path}-wal is beside it and holds its newest pages, which an import of ${path} alone would leave out: ` +
      `first run sqlite3 ${path} 'PRAGMA wal_checkpoint(TRUNCATE)' (with nothing else using it)`);
  }
  if (beside(path, '-journal')) {
    throw new Error(`${path}-journal is beside it: a transaction on it did not finish. Open it once with sqlite3 ${path} ` +
      `(which rolls that transaction back), then import it`);
  }
}

/**
 * Refuse to write an export over a file whose -wal or -journal beside it SQLite would
 * read onto the new file when it opens it (a tool has it open, or left them there):
 * the pages of the old file over the new one.
 * @param {string} file
 */
function checkExportable(file) {
  const companion = ['-wal', '-journal'].find((suffix) => beside(file, suffix));
  if (companion === undefined) return;
  throw new Error(`${file}${companion} is beside ${file}: SQLite would read it onto the new export when it opens it ` +
    `(a tool has ${file} open, or left it there). Close that tool, or export to another file`);
}

/** Whether a non-empty file path + suffix is there. @param {string} path @param {string} suffix */
function beside(path, suffix) {
  return (statOf(path + suffix)?.size ?? 0) > 0;
}

/** @param {string[]} argv @returns {Promise<number>} the exit code */
export async function main(argv, { env = process.env, cwd = process.cwd(), stdin = process.stdin, stdout = process.stdout, stderr = process.stderr } = {}) {
  const { values, positionals } = parsed(argv);
  const [command, ...args] = positionals;
  if (values.help || !command || command === 'help') {
    stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const spec = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!spec) throw new UsageError(`no command ${command}`);
  const form = `dosql ${command} ${spec.synopsis}`;
  if (args.length < spec.needs) throw new UsageError(`${form}: ${spec.args[args.length]} is missing`);
  if (args.length > spec.args.length) {
    throw new UsageError(`${form}: ${args.slice(spec.args.length).map((a) => JSON.stringify(a)).join(' ')} ${args.length - spec.args.length === 1 ? 'is one argument' : 'are arguments'} too many`);
  }
  for (const [option, flag] of Object.entries(FLAGS)) {
    if (/** @type {Record<string, unknown>} */ (values)[option] !== undefined && !spec.options.includes(option)) {
      throw new UsageError(`${form}: ${flag} is not an option of ${command}`);
    }
  }
  const needs = spec.needs;
  const target = resolveTarget(args[needs], env);
  const token = resolveToken(values.token, env, cwd);
  if (!token) throw new UsageError('no token: pass --token, set DOSQL_TOKEN, or run in the folder of ./build.sh dev (its .dev.vars)', { usage: false });
  const sql = async () => (await libsqlClient()).createClient({ url: target.hrana, authToken: token, intMode: 'bigint' });
  const db = () => createClient({ fetch: (/** @type {string} */ url, /** @type {any} */ init = {}) => endpoint(target.http, token, new URL(url).pathname, init) });
  const json = (/** @type {unknown} */ v) => stdout.write(`${JSON.stringify(v, null, 2)}\n`);

  switch (command) {
    case 'shell': {
      const mode = values.mode ?? 'table';
      if (!MODES.includes(mode)) throw new UsageError(`--mode takes ${MODES.join(', ')}`);
      const client = await sql();
      try {
        return await runShell(client, {
          input: stdin, output: stdout, errors: stderr, mode,
          banner: `dosql shell: ${target.hrana} (.help for commands)`,
          describe: (err) => messageOf(err, target.hrana),
        });
      } finally {
        client.close();
      }
    }
    case 'exec': {
      const script = isStdin(args[0]) ? await stdinScript(stdin) : fileScript(args[0]);
      const client = await sql();
      try {
        await client.executeMultiple(script);
      } catch (err) {
        throw new Error(`${messageOf(err, target.hrana)}${undoneWith(messageOf(err, target.hrana))}`, { cause: err });
      } finally {
        client.close();
      }
      // As the shell says of its input: what ran after the BEGIN was not kept.
      if (endsInTransaction(script)) throw new Error(`${args[0]} ended inside a transaction (a BEGIN with no COMMIT after it): it was rolled back`);
      stdout.write(`ran ${args[0]} on ${target.tenant}\n`);
      return 0;
    }
    case 'export': {
      const file = values.output ?? `${target.tenant}.sqlite`;
      // Standard output (-o - or -o /dev/stdout, which a socket cannot be opened as) is written as it is.
      const toStdout = file === '-' || file === '/dev/stdout';
      if (!toStdout && statOf(file)?.isDirectory()) throw new Error(`${file} is a folder: name the file to write, as -o ${join(file, `${target.tenant}.sqlite`)}`);
      if (!toStdout && !statOf(dirname(file))?.isDirectory()) throw new Error(`${dirname(file)}, the folder of ${file}, does not exist`);
      if (!toStdout) checkExportable(file);
      const answer = await endpoint(target.http, token, '/export', { method: 'GET' });
      if (!answer.ok) throw await answerError(answer);
      // Another server's 200 (a wrong URL, a sign-in page it was sent on to) must not
      // replace an earlier export.
      const type = answer.headers.get('content-type');
      if (type !== SQLITE_FILE_TYPE) {
        const text = (await answer.text()).slice(0, 200);
        throw new Error(`BAD_RESPONSE: ${answer.url} answered with ${type ?? 'no content type'} (${JSON.stringify(text)}), not a SQLite file: not DoSQL's answer, ` +
          `so ${toStdout ? 'nothing was written' : `${file} was not written`}. Is the URL <server>/db/<tenant>/ of a server running DoSQL?`);
      }
      const size = await download(answer, toStdout ? stdout : file);
      // On stderr: the file may be stdout itself (-o - | gzip), which this would end.
      stderr.write(`wrote ${toStdout ? 'standard output' : file} (${size} bytes)\n`);
      return 0;
    }
    case 'import': {
      // Standard input (- or /dev/stdin, which a socket cannot be opened as) is sent as it
      // comes; the server checks its header, which a pipe cannot be read for twice.
      const fromStdin = isStdin(args[0]);
      if (!fromStdin) {
        checkFile(args[0]); // before the upload, whose failure would be fetch's "fetch failed"
        checkImportable(args[0]);
      }
      const body = /** @type {any} */ (Readable.toWeb(fromStdin ? /** @type {any} */ (stdin) : createReadStream(args[0])));
      const answer = await endpoint(target.http, token, '/import', { method: 'POST', body, duplex: 'half', headers: { 'content-type': SQLITE_FILE_TYPE } });
      if (!answer.ok) throw await answerError(answer);
      // Another server's 200 (a wrong URL) is no import.
      json(answerOf('/import', answer.status, await answer.text()));
      return 0;
    }
    case 'history':
      json(await db().history());
      return 0;
    case 'restore':
      json(await db().restore(args[0])); // the database reads the text: an lsn, a bookmark or a time
      return 0;
    case 'branch':
      json(await db().branch(args[0], values.from));
      return 0;
    default:
      throw new Error(`dosql ${command} is in COMMANDS but not run`);
  }
}

/**
 * The answer's body into file, whole or not at all: a file (or a new name) is written
 * beside it and renamed over it once every byte came, so a download cut short (the
 * connection lost, the disk full) leaves an earlier file of that name as it was, and no
 * part of a database that opens as if it were whole. A device or pipe (/dev/stdout) is
 * written as it is; a symlink, through to its file. The bytes written.
 * @param {Response} answer @param {string | NodeJS.WritableStream} file  a path, or a stream (standard output)
 */
async function download(answer, file) {
  const expected = Number(answer.headers.get('content-length') ?? NaN);
  if (typeof file !== 'string') return downloadTo(answer, file, expected);
  const existing = statOf(file);
  const direct = existing !== null && !existing.isFile();
  const path = existing?.isFile() ? realpathSync(file) : file;
  const partial = direct ? file : join(dirname(path), `.${basename(path)}.${process.pid}.part`);
  let written = 0;
  const out = createWriteStream(partial, { flags: direct ? 'w' : 'wx' });
  try {
    const body = Readable.fromWeb(/** @type {any} */ (answer.body));
    body.on('data', (/** @type {Buffer} */ chunk) => (written += chunk.length));
    await pipeline(body, out);
    if (!direct) renameSync(partial, path);
    return written;
  } catch (err) {
    // The file may be opened after the body failed: removed once the stream is closed.
    if (!out.closed) await new Promise((resolve) => out.once('close', resolve));
    if (!direct) rmSync(partial, { force: true });
    const cause = /** @type {any} */ (err)?.cause;
    const why = [err instanceof Error ? err.message : String(err), cause?.message ?? cause?.code].filter(Boolean).join(': ');
    const of = Number.isFinite(expected) ? ` of ${expected}` : '';
    const kept = direct ? '' : `; ${file} was not written`;
    throw new Error(`the export failed after ${written}${of} bytes came (${why.split(partial).join(file)})${kept}`, { cause: err });
  }
}

/**
 * The export's bytes onto a stream (standard output), as they come; its size.
 * @param {Response} answer @param {NodeJS.WritableStream} out @param {number} expected
 */
async function downloadTo(answer, out, expected) {
  let written = 0;
  const body = Readable.fromWeb(/** @type {any} */ (answer.body));
  body.on('data', (/** @type {Buffer} */ chunk) => (written += chunk.length));
  try {
    await pipeline(body, out, { end: false });
    return written;
  } catch (err) {
    const of = Number.isFinite(expected) ? ` of ${expected}` : '';
    throw new Error(`the export failed after ${written}${of} bytes came (${err instanceof Error ? err.message : err})`, { cause: err });
  }
}

/**
 * @libsql/client, which shell and exec speak libSQL's protocol with: imported when one
 * runs, so that the rest of the command works without it, and its absence is said in
 * words (npm links a dosql installed from a folder without installing its dependencies).
 */
async function libsqlClient() {
  try {
    return await import('@libsql/client');
  } catch (err) {
    if (/** @type {any} */ (err)?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new Error('dosql shell and exec need the package @libsql/client, which is not installed: npm does not install the dependencies of a package linked from a folder (npm i dosql@file:...); install it with --install-links, or add it to the project: npm i @libsql/client (docs/cli.md)', { cause: err });
  }
}

/** Whether a FILE argument names standard input: - or /dev/stdin (which a socket, as a
 *  spawned process's may be, cannot be opened as). @param {string} path */
function isStdin(path) {
  return path === '-' || path === '/dev/stdin';
}

/** The script of the file at path: SQL text in UTF-8, not a database file nor an archive (utf8Text). @param {string} path */
function fileScript(path) {
  checkFile(path);
  return readUtf8File(path);
}

/** The script standard input holds, read whole. @param {NodeJS.ReadableStream} stdin */
async function stdinScript(stdin) {
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk));
  return utf8Text(Buffer.concat(chunks), 'standard input', '-');
}

/** Throw, naming path, when it is missing or a folder: a file to read is wanted. @param {string} path */
function checkFile(path) {
  const stat = statOf(path);
  if (stat === null) throw new Error(`${path} does not exist (from the folder ${process.cwd()})`);
  if (stat.isDirectory()) throw new Error(`${path} is a folder: name a file in it`);
}

/** The stat of path, null when nothing is there. @param {string} path */
function statOf(path) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** The command line's options and arguments; an unknown or incomplete option is a UsageError. @param {string[]} argv */
function parsed(argv) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        token: { type: 'string' },
        mode: { type: 'string' },
        output: { type: 'string', short: 'o' },
        from: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** A mistake in the command line: exit code 2, with the usage unless it would not help. */
class UsageError extends Error {
  /** @param {string} message @param {{usage?: boolean}} [options] */
  constructor(message, { usage = true } = {}) {
    super(message);
    this.usage = usage;
  }
}

/** One request to the database's own endpoint path, with the token. @param {string} base @param {string} token @param {string} path @param {any} init */
async function endpoint(base, token, path, init) {
  const url = new URL(path.slice(1), base);
  try {
    return await fetch(url, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
  } catch (err) {
    throw new Error(messageOf(err, url.href), { cause: err });
  }
}

/**
 * err's message; for a request that reached no server (fetch's own "fetch failed",
 * which names neither the server nor why), which one, why, and what to check.
 * @param {unknown} err @param {string} url
 */
function messageOf(err, url) {
  if (!(err instanceof TypeError && err.message === 'fetch failed')) {
    const message = err instanceof Error ? err.message : String(err);
    // @libsql/client prefixes the code once more to an error of a statement inside a
    // transaction ("SQLITE_ERROR: SQLITE_ERROR: ..."): say it once, as elsewhere.
    const code = /** @type {any} */ (err)?.code;
    // An HTTP status and no answer of DoSQL's (a 404 of another server or path): the URL.
    const status = code === 'SERVER_ERROR' ? /HTTP status (\d+)/.exec(message)?.[1] : undefined;
    if (status) return `${message}: ${url} answered HTTP ${status}, not as a DoSQL database does: is the URL <server>/db/<tenant>/ of a server running DoSQL?`;
    // A 200 that is not libSQL's answer: another app (a project's own worker on :8787).
    if (code === 'HRANA_PROTO_ERROR') return `${message}: ${url} answered, but not as a DoSQL database does: is the URL <server>/db/<tenant>/ of a server running DoSQL (DOSQL_URL: the standalone worker, not your app's)?`;
    return typeof code === 'string' && message.startsWith(`${code}: ${code}: `) ? message.slice(code.length + 2) : message;
  }
  const cause = /** @type {any} */ (err).cause;
  const { origin, protocol, hostname } = new URL(url);
  const why = cause?.code ?? cause?.message ?? err.message;
  // TLS to a server that speaks plain HTTP fails at once (or, at workerd, after the connect timeout).
  const local = ['localhost', '127.0.0.1', '[::1]', '0.0.0.0'].includes(hostname);
  if (/^(https|wss):$/.test(protocol) && (/SSL|TLS/.test(String(why)) || (local && why === 'UND_ERR_CONNECT_TIMEOUT'))) {
    return `${origin} did not answer over TLS (${why}): a server that speaks plain HTTP, as ./build.sh dev and wrangler dev do, is reached with http:// (or libsql://...?tls=0)`;
  }
  return `${origin} did not answer (${why}): is the server running there (./build.sh dev), and is DOSQL_URL or the URL right?`;
}

/**
 * What a failed script's message adds when the engine says its failing statement
 * was inside a transaction (the script's own BEGIN ... COMMIT, src/hrana.c): closing
 * the stream rolled it back, so what ran since its BEGIN was not kept either (else '').
 * @param {string} message
 */
function undoneWith(message) {
  return /, inside a transaction the stream still holds\)/.test(message)
    ? '; it was inside the script\'s own BEGIN ... COMMIT, so that transaction was rolled back: what ran since its BEGIN was not kept either'
    : '';
}

/** err's message, after its code when it has one the message does not start with (a
 *  DoSQLError of history, restore or branch: RESTORE_WOULD_MIGRATE, BRANCH_EXISTS), so
 *  every command says it as import and exec do. @param {any} err */
function withCode(err) {
  const message = err?.message ?? String(err);
  return typeof err?.code === 'string' && !message.startsWith(err.code) ? `${err.code}: ${message}` : message;
}

/** @param {Response} answer */
async function answerError(answer) {
  const text = await answer.text();
  try {
    const { error, code } = JSON.parse(text);
    return new Error(`${code}: ${error}`);
  } catch {
    return new Error(`HTTP ${answer.status}: ${text}`);
  }
}

// Run as a command (also through node_modules/.bin's link), not when imported by a test.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // A reader that went away (| head) ends the command quietly.
  process.stdout.on('error', (err) => {
    if (/** @type {any} */ (err).code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => {
      process.stderr.write(`dosql: ${err instanceof UsageError && err.usage ? `${err.message}\n\n${USAGE}` : withCode(err)}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}
