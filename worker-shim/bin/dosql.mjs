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
import { closeSync, createReadStream, createWriteStream, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createClient as createLibsqlClient } from '@libsql/client';
import { createClient } from '../src/client/client.js';
import { resolveTarget, resolveToken, DEFAULT_SERVER } from './dosql-target.mjs';
import { MODES, runShell } from './dosql-shell.mjs';

const USAGE = `usage: dosql COMMAND [ARGS] [--token TOKEN]

  shell   [TARGET] [--mode ${MODES.join('|')}]   an interactive SQL shell (.help inside)
  exec    FILE.sql [TARGET]                 run a script, statement by statement
  export  [TARGET] [-o FILE.sqlite]         the database as a SQLite file
  import  FILE.sqlite [TARGET]              replace the database with a SQLite file
  history [TARGET]                          the points history keeps
  restore POINT [TARGET]                    the database back as it was at POINT
  branch  NAME [TARGET] [--from POINT]      a new database NAME, as this one was at POINT

POINT: an lsn (digits), a bookmark, or a time ("2026-12-05 07:00:00", UTC unless it
says otherwise); dosql history shows the points kept.

TARGET: a database URL (http://host/db/TENANT/, ws://...) or a tenant name on
DOSQL_URL (default ${DEFAULT_SERVER}, ./build.sh dev). The token: --token, else
DOSQL_TOKEN, else the DOSQL_TOKEN of the nearest .dev.vars.`;

/** @param {string[]} argv @returns {Promise<number>} the exit code */
/** Whether the file at path begins as a SQLite database does. @param {string} path */
function isSqliteFile(path) {
  const head = Buffer.alloc(16);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, head, 0, 16, 0) === 16 && head.toString('latin1') === 'SQLite format 3\0';
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
  if (!isSqliteFile(path)) throw new Error(`${path} is not a SQLite database file: to run the SQL in it, use dosql exec ${path}`);
  const beside = (/** @type {string} */ suffix) => {
    try {
      return statSync(path + suffix).size > 0;
    } catch {
      return false;
    }
  };
  if (beside('-wal')) {
    throw new Error(`${path}-wal is beside it and holds its newest pages, which an import of ${path} alone would leave out: ` +
      `first run sqlite3 ${path} 'PRAGMA wal_checkpoint(TRUNCATE)' (with nothing else using it)`);
  }
  if (beside('-journal')) {
    throw new Error(`${path}-journal is beside it: a transaction on it did not finish. Open it once with sqlite3 ${path} ` +
      `(which rolls that transaction back), then import it`);
  }
}

export async function main(argv, { env = process.env, cwd = process.cwd(), stdin = process.stdin, stdout = process.stdout, stderr = process.stderr } = {}) {
  const { values, positionals } = parsed(argv);
  const [command, ...args] = positionals;
  if (values.help || !command) {
    stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const needs = { exec: 1, import: 1, restore: 1, branch: 1 }[command] ?? 0;
  if (args.length < needs) throw new UsageError(`dosql ${command} needs ${needs === 1 ? 'an argument' : 'arguments'}`);
  const target = resolveTarget(args[needs], env);
  const token = resolveToken(values.token, env, cwd);
  if (!token) throw new UsageError('no token: pass --token, set DOSQL_TOKEN, or run in the folder of ./build.sh dev (its .dev.vars)', { usage: false });
  const sql = () => createLibsqlClient({ url: target.hrana, authToken: token, intMode: 'bigint' });
  const db = () => createClient({ fetch: (/** @type {string} */ url, /** @type {any} */ init = {}) => endpoint(target.http, token, new URL(url).pathname, init) });
  const json = (/** @type {unknown} */ v) => stdout.write(`${JSON.stringify(v, null, 2)}\n`);

  switch (command) {
    case 'shell': {
      if (!MODES.includes(/** @type {string} */ (values.mode))) throw new UsageError(`--mode takes ${MODES.join(', ')}`);
      const client = sql();
      try {
        return await runShell(client, {
          input: stdin, output: stdout, errors: stderr, mode: values.mode,
          banner: `dosql shell: ${target.hrana} (.help for commands)`,
          describe: (err) => messageOf(err, target.hrana),
        });
      } finally {
        client.close();
      }
    }
    case 'exec': {
      if (isSqliteFile(args[0])) throw new Error(`${args[0]} is a SQLite database file, not SQL: to make it the database, run dosql import ${args[0]}`);
      const client = sql();
      const script = readFileSync(args[0], 'utf8');
      try {
        await client.executeMultiple(script);
      } catch (err) {
        throw new Error(messageOf(err, target.hrana), { cause: err });
      } finally {
        client.close();
      }
      stdout.write(`ran ${args[0]} on ${target.tenant}\n`);
      return 0;
    }
    case 'export': {
      const file = values.output ?? `${target.tenant}.sqlite`;
      const answer = await endpoint(target.http, token, '/export', { method: 'GET' });
      if (!answer.ok) throw await answerError(answer);
      await pipeline(Readable.fromWeb(/** @type {any} */ (answer.body)), createWriteStream(file));
      stdout.write(`wrote ${file} (${statSync(file).size} bytes)\n`);
      return 0;
    }
    case 'import': {
      statSync(args[0]); // a missing file fails here, naming it, not as the upload's "fetch failed"
      checkImportable(args[0]);
      const body = /** @type {any} */ (Readable.toWeb(createReadStream(args[0])));
      const answer = await endpoint(target.http, token, '/import', { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'application/vnd.sqlite3' } });
      if (!answer.ok) throw await answerError(answer);
      json(await answer.json());
      return 0;
    }
    case 'history':
      json(await db().history());
      return 0;
    case 'restore':
      json(await db().restore(pointOf(args[0])));
      return 0;
    case 'branch':
      json(await db().branch(args[0], values.from === undefined ? undefined : pointOf(values.from)));
      return 0;
    default:
      throw new UsageError(`no command ${command}`);
  }
}

/** A point as typed: digits are an lsn; other text goes as it is, for the database to read
 *  as a bookmark or a time (docs/history.md). @param {string} text */
function pointOf(text) {
  return /^\d+$/.test(text) ? Number(text) : text;
}

/** The command line's options and arguments; an unknown or incomplete option is a UsageError. @param {string[]} argv */
function parsed(argv) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        token: { type: 'string' },
        mode: { type: 'string', default: 'table' },
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
  if (!(err instanceof TypeError && err.message === 'fetch failed')) return err instanceof Error ? err.message : String(err);
  const cause = /** @type {any} */ (err).cause;
  return `${new URL(url).origin} did not answer (${cause?.code ?? cause?.message ?? err.message}): is the server running there (./build.sh dev), and is DOSQL_URL or the URL right?`;
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
      process.stderr.write(`dosql: ${err instanceof UsageError && err.usage ? `${err.message}\n\n${USAGE}` : err?.message ?? err}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}
