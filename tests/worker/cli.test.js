// The dosql command (worker-shim/bin/dosql.mjs), run as a user runs it, against the
// standalone worker on SQLite-backed storage: the shell from a pipe (statements over
// several lines, dot commands, every output mode, an error that does not stop it),
// exec of a file, export and import of a .sqlite file, history, branch and restore,
// and the token found in .dev.vars.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createClient as createLibsqlClient } from '@libsql/client';
import { runShell } from '../../worker-shim/bin/dosql-shell.mjs';
import { REPO, TMP, startStandalone, tenant } from './harness.js';

const TOKEN = 'cli-test-token';
const BIN = join(REPO, 'worker-shim/bin/dosql.mjs');
/** @type {any} */
let mf;
/** @type {string} */
let server;
/** @type {string} */
let folder;

before(async () => {
  mkdirSync(TMP, { recursive: true });
  folder = mkdtempSync(join(TMP, 'cli-'));
  mf = await startStandalone({ DOSQL_TOKEN: TOKEN }, { persist: join(folder, 'objects') });
  server = String(await mf.ready);
});
after(() => mf?.dispose());

/**
 * Run dosql with args and stdin; its exit code and output.
 * @param {string[]} args @param {{input?: string, env?: Record<string, string>, cwd?: string}} [options]
 * @returns {Promise<{code: number | null, out: string, err: string}>}
 */
function dosql(args, { input = '', env = { DOSQL_TOKEN: TOKEN }, cwd = folder } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH ?? '', DOSQL_URL: server, ...env } });
    /** @type {Buffer[]} */
    const bytes = [];
    let err = '';
    child.stdout.on('data', (d) => bytes.push(d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const stdout = Buffer.concat(bytes);
      resolve({ code, out: stdout.toString(), stdout, err });
    });
    child.stdin.end(input);
  });
}

test('the shell runs statements, dot commands and every output mode; an error does not stop it', async () => {
  const db = tenant('cli');
  const r = await dosql(['shell', db], {
    input: [
      "CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT, photo BLOB);",
      "INSERT INTO pets (name, photo) VALUES ('Rex', x'00ff'),",
      "  ('semi;colon', NULL);",
      'SELECT id, name, photo FROM pets;',
      'SELEC oops;',
      'SELECT 1 AS a; SELECT 2 AS b;',
      '.mode json',
      'SELECT id, name FROM pets WHERE id = 1;',
      "SELECT 1e999 AS inf, -1e999 AS ninf, NULL AS nul, 9007199254740993 AS big, '9007199254740993' AS digits;",
      '.mode csv',
      "SELECT name, photo FROM pets ORDER BY id; -- a comment",
      '.mode line',
      'SELECT 9007199254740993 AS big;',
      '.tables',
      '.schema pets',
      '.mode nonsense',
    ].join('\n'),
  });
  assert.equal(r.code, 1, 'a failed statement makes the exit code 1');
  assert.ok(r.out.startsWith("id  name        photo\n--  ----------  -------\n1   Rex         x'00ff'\n2   semi;colon  NULL\n"), r.out);
  assert.match(r.out, /\[\n {2}\{\n {4}"id": 1,\n {4}"name": "Rex"\n {2}\}\n\]/);
  // ±Infinity and a 64-bit integer as sqlite3 -json writes them, not as null (NULL's
  // spelling) nor as a string (TEXT's).
  assert.match(r.out, /\[\n {2}\{\n {4}"inf": 1e999,\n {4}"ninf": -1e999,\n {4}"nul": null,\n {4}"big": 9007199254740993,\n {4}"digits": "9007199254740993"\n {2}\}\n\]/);
  assert.match(r.out, /^name,photo\nRex,x'00ff'\nsemi;colon,$/m);
  assert.match(r.out, /^a\n-\n1\nb\n-\n2$/m, 'each statement of a line prints its rows');
  assert.match(r.out, /^big = 9007199254740993$/m);
  assert.match(r.out, /^pets$/m);
  assert.match(r.out, /^CREATE TABLE pets \(id INTEGER PRIMARY KEY, name TEXT, photo BLOB\);$/m);
  assert.match(r.err, /Error: SQLITE_ERROR: near "SELEC": syntax error/);
  assert.match(r.err, /\.mode takes table, json, csv, line/);
});

test('BEGIN ... COMMIT typed in the shell is one transaction; ROLLBACK undoes it', async () => {
  const db = tenant('cli-tx');
  const r = await dosql(['shell', db, '--mode', 'csv'], {
    input: [
      'CREATE TABLE t (x INTEGER);',
      'BEGIN;', 'INSERT INTO t VALUES (1);', 'SELECT count(*) AS n FROM t;', 'ROLLBACK;',
      'SELECT count(*) AS n FROM t;',
      'BEGIN IMMEDIATE;', 'INSERT INTO t VALUES (2);', 'INSERT INTO t VALUES (3);', 'COMMIT;',
      'SELECT group_concat(x) AS xs FROM t;',
      'COMMIT;',
    ].join('\n'),
  });
  assert.equal(r.out, 'n\n1\nn\n0\nxs\n"2,3"\n');
  assert.match(r.err, /cannot commit - no transaction is active/);
  assert.equal(r.code, 1);
  // A dot command inside the transaction runs in it (not beside it, waiting for it).
  const dot = await dosql(['shell', db, '--mode', 'csv'], {
    input: ['BEGIN;', 'CREATE TABLE u (y);', 'INSERT INTO u VALUES (7);', '.tables', '.schema u', 'COMMIT;', 'SELECT y FROM u;'].join('\n'),
  });
  assert.equal(dot.err, '');
  assert.match(dot.out, /^(\w+\n)*u\n(\w+\n)*CREATE TABLE u \(y\);\ny\n7\n$/);
  // An error inside the transaction says its code once, as outside one.
  const failing = await dosql(['shell', db], { input: ['BEGIN;', 'SELECT * FROM nosuch;', 'ROLLBACK;', 'SELECT * FROM nosuch;'].join('\n') });
  assert.deepEqual(failing.err.trim().split('\n'), ['Error: SQLITE_ERROR: no such table: nosuch', 'Error: SQLITE_ERROR: no such table: nosuch']);
});

test('.tables and .schema take a LIKE pattern, and a quoted name, as sqlite3\'s shell does', async () => {
  const db = tenant('cli-dots');
  const r = await dosql(['shell', db], {
    input: ['CREATE TABLE widgets2 (id);', 'CREATE TABLE [sp ace] (y);', 'CREATE TABLE gadgets (g);', '.tables widget%', '.tables nomatch', '.schema WIDGETS2', '.schema "sp ace"', '.schema [sp ace]', '.schema g%'].join('\n'),
  });
  assert.equal(r.err, '');
  assert.equal(r.out, ['widgets2', 'CREATE TABLE widgets2 (id);', 'CREATE TABLE [sp ace] (y);', 'CREATE TABLE [sp ace] (y);', 'CREATE TABLE gadgets (g);', ''].join('\n'));
});

test('Ctrl-C at the terminal drops the statement being typed, and the shell goes on', async () => {
  const db = tenant('cli-ctrl-c');
  await dosql(['shell', db], { input: 'CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);' });
  // The shell as a terminal runs it: keys typed into a TTY-like stream.
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
  const output = new PassThrough();
  let shown = '';
  output.on('data', (d) => (shown += d));
  const client = createLibsqlClient({ url: `${server}db/${db}/`, authToken: TOKEN, intMode: 'bigint' });
  try {
    const done = runShell(client, { input, output, errors: output, mode: 'csv' });
    input.write('DELETE FROM t\r');
    input.write('\x03');
    // A line being typed, not yet entered, goes too.
    input.write('DELETE FROM t');
    input.write('\x03');
    input.write('\r');
    input.write('SELECT count(*) AS n FROM t;\r');
    await new Promise((resolve) => setTimeout(resolve, 500));
    input.end();
    assert.equal(await done, 0, shown);
  } finally {
    client.close();
  }
  assert.match(shown, /\^C\n/);
  assert.match(shown, /n\n2\n/, shown);
  assert.equal((await dosql(['shell', db, '--mode', 'csv'], { input: 'SELECT count(*) AS n FROM t;' })).out, 'n\n2\n');
});

test('a table of many rows prints (no stack overflow); a reader that goes away ends the command quietly', async () => {
  const many = await dosql(['shell', tenant('cli-many')], { input: 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150000) SELECT i FROM n;' });
  assert.equal(many.code, 0, many.err);
  assert.equal(many.out.split('\n').length, 150003, 'the header, its rule, the rows and the last newline');
  const head = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" shell ${tenant('cli-pipe')} | head -1`], { env: { PATH: process.env.PATH ?? '', DOSQL_URL: server, DOSQL_TOKEN: TOKEN } });
  let err = '';
  head.stderr.on('data', (d) => (err += d));
  head.stdin.end('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) SELECT i FROM n;');
  await new Promise((resolve) => head.on('close', resolve));
  assert.equal(err, '');
});

test('a server that does not answer is named, with why; flag mistakes are usage errors (exit 2)', async () => {
  // A port nothing listens on: one the system just gave and took back.
  const spare = createServer();
  await new Promise((resolve) => spare.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (spare.address());
  await new Promise((resolve) => spare.close(resolve));
  const down = `http://127.0.0.1:${port}/`;
  for (const args of [['history', 'x'], ['shell', 'x']]) {
    const r = await dosql(args, { input: 'SELECT 1;', env: { DOSQL_TOKEN: TOKEN, DOSQL_URL: down } });
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`http://127\\.0\\.0\\.1:${port} did not answer \\(ECONNREFUSED\\): is the server running there`), args[0]);
  }
  for (const command of ['import', 'exec']) {
    const missing = await dosql([command, 'nope.sqlite', 'x']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^dosql: nope\.sqlite does not exist \(from the folder .*\)\n$/, command);
  }
  // TLS to a server that speaks plain HTTP (as ./build.sh dev does) says to use http://.
  const plain = createHttpServer((_req, res) => res.end('plain'));
  await new Promise((resolve) => plain.listen(0, '127.0.0.1', () => resolve(undefined)));
  try {
    const { port: plainPort } = /** @type {import('node:net').AddressInfo} */ (plain.address());
    for (const args of [['history', `https://127.0.0.1:${plainPort}/db/x/`], ['export', `https://127.0.0.1:${plainPort}/db/x/`, '-o', '-']]) {
      const r = await dosql(args);
      assert.equal(r.code, 1);
      assert.match(r.err, /did not answer over TLS \(ERR_SSL_[A-Z_]+\): a server that speaks plain HTTP, as \.\/build\.sh dev and wrangler dev do, is reached with http:\/\//, args[0]);
    }
  } finally {
    plain.close();
  }
  for (const args of [['history', '--bogus'], ['export', 'x', '-o'], ['history', '--token']]) {
    const r = await dosql(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, /usage: dosql/);
  }
});

test('arguments or options a command does not take are usage errors, not dropped: export acme backup.sqlite writes nothing', async () => {
  for (const [args, said] of [
    [['export', 'x', 'backup.sqlite'], /dosql export \[TARGET\] \[-o FILE\.sqlite\]: "backup\.sqlite" is one argument too many/],
    [['history', 'x', 'y', 'z'], /"y" "z" are arguments too many/],
    [['import', 'f.sqlite', 'x', '-o', 'g.sqlite'], /-o is not an option of import/],
    [['export', 'x', '--mode', 'json'], /--mode is not an option of export/],
    [['restore'], /dosql restore POINT \[TARGET\]: POINT is missing/],
  ]) {
    const r = await dosql(/** @type {string[]} */ (args));
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, /** @type {RegExp} */ (said));
    assert.match(r.err, /usage: dosql/);
  }
  assert.ok(!readdirSync(folder).includes('x.sqlite'), 'nothing was exported');
  const help = await dosql(['help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /^usage: dosql/);
  // A folder where a file is wanted is named, before anything is sent.
  for (const args of [['exec', folder, 'x'], ['import', folder, 'x']]) {
    const r = await dosql(args);
    assert.equal(r.code, 1);
    assert.equal(r.err, `dosql: ${folder} is a folder: name a file in it\n`);
  }
  const into = await dosql(['export', 'x', '-o', folder]);
  assert.match(into.err, /is a folder: name the file to write, as -o .*x\.sqlite/);
  const nowhere = await dosql(['export', 'x', '-o', join(folder, 'no-such-folder', 'x.sqlite')]);
  assert.match(nowhere.err, /no-such-folder, the folder of .* does not exist/);
});

test('a DOSQL_URL that is no server\'s URL is refused, saying what it should be, before anything is sent', async () => {
  for (const [url, why] of [
    ['localhost:8787', /no URL \(it begins with http:\/\/ or https:\/\/\)/],
    [`${server}db/acme/`, /that names a database, or \/db, not the server/],
    [`${server}?tls=0`, /a server's URL has no \? or # part/],
    ['ws://localhost:8787', /ws:\/\/ is not served: it is http:\/\/ or https:\/\//],
  ]) {
    for (const args of [['history', 'x'], ['shell', 'x']]) {
      const r = await dosql(args, { input: 'SELECT 1;', env: { DOSQL_TOKEN: TOKEN, DOSQL_URL: url } });
      assert.equal(r.code, 1, `${url} ${args[0]}`);
      assert.match(r.err, why, `${url} ${args[0]}`);
      assert.match(r.err, /It is the server's URL, as http:\/\/localhost:8787/);
    }
  }
  // Spaces around it and a last slash are the server all the same.
  const spaced = await dosql(['shell', 'x', '--mode', 'csv'], { input: 'SELECT 1 AS n;', env: { DOSQL_TOKEN: TOKEN, DOSQL_URL: ` ${server}/ ` } });
  assert.equal(spaced.out, 'n\n1\n', spaced.err);
});

test('a target that is neither a URL nor a tenant name is refused as such, before anything is sent', async () => {
  for (const target of ['localhost:8787/db/acme', 'acme/', '..']) {
    const r = await dosql(['history', target], { env: { DOSQL_TOKEN: TOKEN, DOSQL_URL: 'http://127.0.0.1:9' } });
    assert.equal(r.code, 1, target);
    assert.match(r.err, /is neither a database URL \(one begins with http:\/\/.*\) nor a tenant name: tenant names are/, target);
  }
});

test('an export cut short leaves the earlier file of that name as it was, and no part of a database', async () => {
  // A server that sends the start of a database file, then drops the connection.
  const cut = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/vnd.sqlite3', 'content-length': '65536' });
    res.write(Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4080)]), () => res.socket?.destroy());
  });
  await new Promise((resolve) => cut.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (cut.address());
  try {
    const dir = mkdtempSync(join(folder, 'cut-'));
    writeFileSync(join(dir, 'acme.sqlite'), 'the backup of yesterday');
    const r = await dosql(['export', 'acme'], { cwd: dir, env: { DOSQL_TOKEN: TOKEN, DOSQL_URL: `http://127.0.0.1:${port}` } });
    assert.equal(r.code, 1);
    assert.match(r.err, /the export failed after 4096 of 65536 bytes came \(terminated.*\); acme\.sqlite was not written/);
    assert.equal(readFileSync(join(dir, 'acme.sqlite'), 'utf8'), 'the backup of yesterday');
    assert.deepEqual(readdirSync(dir), ['acme.sqlite'], 'no part file is left');
  } finally {
    cut.close();
  }
});

test('exec runs a file; export and import move the database as a .sqlite file', async () => {
  const db = tenant('cli-file');
  const script = join(folder, 'seed.sql');
  writeFileSync(script, `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
CREATE TRIGGER stamp AFTER INSERT ON notes BEGIN UPDATE notes SET body = body || '!' WHERE id = new.id; END;
INSERT INTO notes (body) VALUES ('one'), ('two');\n`);
  const ran = await dosql(['exec', script, db]);
  assert.equal(ran.code, 0, ran.err);
  const file = join(folder, 'copy.sqlite');
  const exported = await dosql(['export', db, '-o', file]);
  assert.equal(exported.code, 0, exported.err);
  assert.equal(readFileSync(file).subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
  const other = tenant('cli-copy');
  const imported = await dosql(['import', file, other]);
  assert.equal(imported.code, 0, imported.err);
  assert.equal(JSON.parse(imported.out).pageSize, 4096);
  const read = await dosql(['shell', `${server}db/${other}/`, '--mode', 'csv'], { input: 'SELECT body FROM notes ORDER BY id;' });
  assert.equal(read.out, 'body\none!\ntwo!\n');

  // The wrong command for a file, or a file whose upload would not be the database
  // its user sees, is refused before anything is sent, saying what to do.
  const mixedUp = await dosql(['exec', file, other]);
  assert.equal(mixedUp.code, 1);
  assert.match(mixedUp.err, /copy\.sqlite is a SQLite database file, not SQL text: to replace a database with it, use dosql import \S*copy\.sqlite\n/);
  const notSqlite = await dosql(['import', script, other]);
  assert.match(notSqlite.err, /seed\.sql is not a SQLite database file: to run the SQL in it, use dosql exec/);
  writeFileSync(`${file}-wal`, 'pages of a WAL-mode database');
  const walLeft = await dosql(['import', file, other]);
  assert.match(walLeft.err, /copy\.sqlite-wal is beside it and holds its newest pages.*PRAGMA wal_checkpoint\(TRUNCATE\)/);
  writeFileSync(`${file}-wal`, '');
  assert.equal((await dosql(['import', file, other])).code, 0, 'an empty -wal is no obstacle');

  // Through pipes: export to stdout (its bytes alone: what it says goes to stderr), and
  // import from stdin, whose header cannot be read twice (the server checks it).
  for (const out of ['-', '/dev/stdout']) {
    const piped = await dosql(['export', db, '-o', out]);
    assert.equal(piped.code, 0, piped.err);
    assert.ok(piped.stdout.equals(readFileSync(file)), `stdout holds the file and nothing else (${piped.stdout.length} bytes)`);
    assert.match(piped.err, /^wrote standard output \(\d+ bytes\)\n$/);
  }
  const pipeDb = tenant('cli-pipe');
  const fromPipe = await dosql(['import', '/dev/stdin', pipeDb], { input: readFileSync(file) });
  assert.equal(fromPipe.code, 0, fromPipe.err);
  const stdinScript = await dosql(['exec', '-', pipeDb], { input: "INSERT INTO notes (body) VALUES ('three');\n" });
  assert.equal(stdinScript.code, 0, stdinScript.err);
  assert.equal((await dosql(['shell', pipeDb, '--mode', 'csv'], { input: 'SELECT count(*) AS n FROM notes;' })).out, 'n\n3\n');
  const fileAsScript = await dosql(['exec', '-', pipeDb], { input: readFileSync(file) });
  assert.match(fileAsScript.err, /standard input is a SQLite database file, not SQL text: to replace a database with it, use dosql import -\n/);
  const notAFile = await dosql(['import', '/dev/stdin', tenant('cli-pipe-text')], { input: 'SELECT 1;' });
  assert.equal(notAFile.code, 1);
  assert.match(notAFile.err, /IMPORT_/, 'the server refuses what is no database file');

  // A script not in UTF-8 is refused before any of it runs, not sent with U+FFFD for its letters.
  const latin1 = join(folder, 'latin1.sql');
  writeFileSync(latin1, Buffer.from("CREATE TABLE towns (name TEXT);\nINSERT INTO towns VALUES ('Z\xfcrich');\n", 'latin1'));
  const refused = await dosql(['exec', latin1, other]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /latin1\.sql is not UTF-8 \(line 2, byte 60: 0xfc\): save it as UTF-8/);
  assert.doesNotMatch((await dosql(['shell', other], { input: '.tables' })).out, /towns/, 'none of it ran');
  // Nor is one holding a NUL byte (saved as UTF-16), whose text SQLite would end there.
  const utf16 = join(folder, 'utf16.sql');
  writeFileSync(utf16, Buffer.from('CREATE TABLE towns (name TEXT);\n', 'utf16le'));
  const halved = await dosql(['exec', utf16, other]);
  assert.equal(halved.code, 1);
  assert.match(halved.err, /utf16\.sql holds a NUL byte \(line 1, byte 1\), which SQL text cannot: save it as UTF-8 text \(not UTF-16\)/);

  // A script that fails says on which line its failing statement begins (those before it ran).
  const broken = join(folder, 'broken.sql');
  writeFileSync(broken, 'CREATE TABLE later (x);\nINSERT INTO later VALUES (1);\n\n  INSERT INTO nowhere VALUES (2);\n');
  const failed = await dosql(['exec', broken, other]);
  assert.equal(failed.code, 1);
  assert.match(failed.err, /no such table: nowhere \(the sequence's statement on line 4\)\n/);
  // Inside the script's own BEGIN ... COMMIT, what ran since the BEGIN went with it, and it says so.
  const inTx = join(folder, 'in-tx.sql');
  writeFileSync(inTx, 'CREATE TABLE undone (x);\nBEGIN;\nINSERT INTO undone VALUES (1);\nINSERT INTO nowhere VALUES (2);\nCOMMIT;\n');
  const undone = await dosql(['exec', inTx, other]);
  assert.equal(undone.code, 1);
  assert.match(undone.err, /no such table: nowhere \(the sequence's statement on line 4, inside a transaction the stream still holds\); it was inside the script's own BEGIN \.\.\. COMMIT, so that transaction was rolled back: what ran since its BEGIN was not kept either/);
  assert.equal((await dosql(['shell', other, '--mode', 'csv'], { input: 'SELECT count(*) AS n FROM undone;' })).out, 'n\n0\n');
  // The line is the statement's own, past the comments above it; a COMMIT that ran is not said to be rolled back.
  const commented = join(folder, 'commented.sql');
  writeFileSync(commented, 'CREATE TABLE done (x);\nBEGIN;\nINSERT INTO done VALUES (1);\nCOMMIT; -- batch 1 done\n-- now the next\n/* one */\nINSERT INTO nowhere VALUES (2);\n');
  const afterCommit = await dosql(['exec', commented, other]);
  assert.equal(afterCommit.code, 1);
  assert.match(afterCommit.err, /no such table: nowhere \(the sequence's statement on line 7\)\n/);
  assert.equal((await dosql(['shell', other, '--mode', 'csv'], { input: 'SELECT count(*) AS n FROM done;' })).out, 'n\n1\n');
  // The engine says whether the failure was inside the transaction, however the statements share lines.
  const sameLine = join(folder, 'same-line.sql');
  writeFileSync(sameLine, 'CREATE TABLE kept1 (x);\nBEGIN;\nINSERT INTO kept1 VALUES (1);\nCOMMIT; INSERT INTO nowhere VALUES (2);\n');
  const keptOnLine = await dosql(['exec', sameLine, other]);
  assert.match(keptOnLine.err, /no such table: nowhere \(the sequence's statement on line 4\)\n/);
  writeFileSync(sameLine, 'CREATE TABLE undone1 (x);\nBEGIN; INSERT INTO undone1 VALUES (1); INSERT INTO nowhere VALUES (2); COMMIT;\n');
  const undoneOnLine = await dosql(['exec', sameLine, other]);
  assert.match(undoneOnLine.err, /\(the sequence's statement on line 2, inside a transaction the stream still holds\); it was inside the script's own BEGIN/);
  assert.equal((await dosql(['shell', other, '--mode', 'csv'], { input: 'SELECT (SELECT count(*) FROM kept1) AS kept, (SELECT count(*) FROM undone1) AS undone;' })).out, 'kept,undone\n1,0\n');
  // A script with old Mac line endings would run nothing after a -- comment (SQLite ends one only at a line feed): refused.
  const oldMac = join(folder, 'old-mac.sql');
  writeFileSync(oldMac, 'CREATE TABLE mac (x);\r-- a comment\rINSERT INTO mac VALUES (1);\r');
  const mac = await dosql(['exec', oldMac, other]);
  assert.equal(mac.code, 1);
  assert.match(mac.err, /old-mac\.sql ends line 2, a -- comment, with a carriage return alone \(old Mac line endings\), where SQLite does not end the comment/);
  // A CR in a string, or lines ended by CRs with no -- comment among them, run as written.
  writeFileSync(oldMac, "CREATE TABLE mac (x);\rINSERT INTO mac VALUES ('one\rtwo');\r/* a comment */ INSERT INTO mac VALUES ('-- \r no comment');\r");
  assert.equal((await dosql(['exec', oldMac, other])).code, 0);
  assert.equal((await dosql(['shell', other, '--mode', 'csv'], { input: "SELECT count(*) AS n FROM mac WHERE x LIKE '%' || char(13) || '%';" })).out, 'n\n2\n');

  // A script whose last BEGIN has no COMMIT: what ran after it was rolled back, and it says so.
  const open = join(folder, 'open.sql');
  writeFileSync(open, 'CREATE TABLE kept (x);\nBEGIN; INSERT INTO kept VALUES (1); COMMIT;\nBEGIN;\nINSERT INTO kept VALUES (2);\n-- no COMMIT\n');
  const unended = await dosql(['exec', open, other]);
  assert.equal(unended.code, 1);
  assert.match(unended.err, /open\.sql ended inside a transaction \(a BEGIN with no COMMIT after it\): it was rolled back/);
  assert.equal((await dosql(['shell', other, '--mode', 'csv'], { input: 'SELECT group_concat(x) AS xs FROM kept;' })).out, 'xs\n1\n');
});

test('shell: a statement ends where SQLite says, so a CASE ... END; inside a trigger\'s body ends nothing', async () => {
  const db = tenant('cli-trigger-case');
  const input = `CREATE TABLE t (x, flag);
CREATE TRIGGER t_flag AFTER INSERT ON t BEGIN
  UPDATE t SET flag = CASE WHEN new.x > 0 THEN 1 ELSE 0 END;
  UPDATE t SET flag = flag + 10 -- a comment; END;
  WHERE rowid = new.rowid;
END;
BEGIN;
INSERT INTO t (x) VALUES (5);
END;
SELECT x, flag FROM t;
`;
  const r = await dosql(['shell', db, '--mode', 'csv'], { input });
  assert.equal(r.err, '');
  assert.equal(r.out, 'x,flag\n5,11\n');
});

test('the shell stops at a piped line that is not UTF-8 text, naming it: the lines before it ran, none after', async () => {
  const db = tenant('cli-latin1');
  // Saved as Windows-1252: read lossily, 'José' would be stored as 'Jos\uFFFD'.
  const script = Buffer.concat([Buffer.from("CREATE TABLE p (n TEXT);\nINSERT INTO p VALUES ('ok');\nINSERT INTO p VALUES ('Jos"), Buffer.from([0xe9]), Buffer.from("');\nINSERT INTO p VALUES ('after');\n")]);
  const r = await dosql(['shell', db], { input: script });
  assert.equal(r.code, 1);
  assert.match(r.err, /standard input is not UTF-8 at line 3, so the shell stopped there/);
  assert.equal((await dosql(['shell', db, '--mode', 'csv'], { input: 'SELECT n FROM p;' })).out, 'n\nok\n');
  const utf16 = await dosql(['shell', db], { input: Buffer.from('SELECT 1;\n', 'utf16le') });
  assert.equal(utf16.code, 1);
  assert.match(utf16.err, /holds a NUL byte \(is it UTF-16\?\) at line 1/);
});

test('without @libsql/client installed (dosql linked from a folder), --help works and shell says what to install', () => {
  // Outside the repository, whose node_modules would be found from inside it.
  const copy = mkdtempSync(join(tmpdir(), 'dosql-alone-'));
  try {
    for (const part of ['bin', 'src', 'package.json']) cpSync(join(REPO, 'worker-shim', part), join(copy, part), { recursive: true });
    const run = (/** @type {string[]} */ args) => spawnSync(process.execPath, [join(copy, 'bin/dosql.mjs'), ...args], { input: 'SELECT 1;', encoding: 'utf8', env: { PATH: process.env.PATH ?? '', DOSQL_URL: server, DOSQL_TOKEN: TOKEN } });
    assert.equal(run(['--help']).status, 0);
    const shell = run(['shell', tenant('cli-alone')]);
    assert.equal(shell.status, 1);
    assert.match(shell.stderr, /^dosql: dosql shell and exec need the package @libsql\/client, which is not installed: .*--install-links, or add it to the project: npm i @libsql\/client/);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test('the shell refuses PRAGMA foreign_keys, which would not last to its next statement: piped input stops there, nothing after it runs', async () => {
  const db = tenant('cli-fk');
  const setup = await dosql(['shell', db], {
    input: 'CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE);\n' +
      "INSERT INTO parent VALUES (1, 'p');\nINSERT INTO child VALUES (10, 1), (11, 1);\n",
  });
  assert.equal(setup.code, 0, setup.err);
  // SQLite's procedure to rebuild a table: with foreign keys on, DROP TABLE parent would delete the children.
  const rebuild = await dosql(['shell', db], {
    input: 'SELECT 1 AS before;\n/* rebuild */ pragma Foreign_Keys = off;\nBEGIN;\nCREATE TABLE new_parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT \'\');\n' +
      "INSERT INTO new_parent SELECT id, coalesce(name, '') FROM parent;\nDROP TABLE parent;\nALTER TABLE new_parent RENAME TO parent;\nCOMMIT;\nPRAGMA foreign_keys = ON;\n",
  });
  assert.equal(rebuild.code, 1);
  assert.match(rebuild.out, /before/, 'the statements before it ran');
  assert.match(rebuild.err, /^Error: PRAGMA foreign_keys cannot be set in dosql shell: each statement is a request of its own.*Run a script that needs it with dosql exec FILE.*; the shell stopped there \(the statements before it ran\)\n$/);
  const left = await dosql(['shell', db, '--mode', 'csv'], { input: "SELECT (SELECT count(*) FROM child) AS children, (SELECT count(*) FROM sqlite_schema WHERE name = 'new_parent') AS rebuilt;" });
  assert.equal(left.out, 'children,rebuilt\n2,0\n');
  // Every spelling SQLite reads as the setting.
  for (const spelling of ["PRAGMA 'foreign_keys' = OFF;", 'PRAGMA/**/foreign_keys=OFF;', 'pragma main."foreign_keys"(0);', 'PRAGMA --\n foreign_keys = no;']) {
    const r = await dosql(['shell', db], { input: `${spelling}\nSELECT 1;\n` });
    assert.equal(r.code, 1, spelling);
    assert.match(r.err, /^Error: PRAGMA foreign_keys cannot be set in dosql shell/, spelling);
    assert.equal(r.out, '', `${spelling}: nothing after it ran`);
  }
  // Reading it is no setting.
  assert.equal((await dosql(['shell', db, '--mode', 'csv'], { input: 'PRAGMA foreign_keys;' })).out, 'foreign_keys\n1\n');
});

test('the shell prints a REAL with no fraction as sqlite3 does (2.0), an INTEGER without one', async () => {
  const db = tenant('cli-real');
  const sql = 'SELECT 2.0 AS r, 2 AS i, 1.5 AS f, -3e0 AS n;';
  assert.equal((await dosql(['shell', db, '--mode', 'csv'], { input: sql })).out, 'r,i,f,n\n2.0,2,1.5,-3.0\n');
  assert.deepEqual((await dosql(['shell', db, '--mode', 'json'], { input: sql })).out.replace(/\s+/g, ''), '[{"r":2.0,"i":2,"f":1.5,"n":-3.0}]');
});

test('history, branch and restore', async () => {
  const db = tenant('cli-history');
  // Commits enough that the point's bookmark, all digits, is not its lsn written in decimal.
  await dosql(['shell', db], { input: `CREATE TABLE t (x); ${'INSERT INTO t VALUES (0); '.repeat(12)}DELETE FROM t WHERE x = 0; INSERT INTO t VALUES (1);` });
  const { lsn: before, bookmark } = JSON.parse((await dosql(['history', db])).out).current;
  assert.match(bookmark, /^\d{16}$/);
  await dosql(['shell', db], { input: 'DELETE FROM t;' });
  const branched = await dosql(['branch', tenant('cli-branch'), db, '--from', String(before)]);
  assert.equal(branched.code, 0, branched.err);
  const name = JSON.parse(branched.out).name;
  assert.equal((await dosql(['shell', name, '--mode', 'csv'], { input: 'SELECT x FROM t;' })).out, 'x\n1\n');
  const restored = await dosql(['restore', String(before), db]);
  assert.equal(restored.code, 0, restored.err);
  assert.equal(JSON.parse(restored.out).restoredTo.lsn, before);
  assert.equal((await dosql(['shell', db, '--mode', 'csv'], { input: 'SELECT x FROM t;' })).out, 'x\n1\n');
  // A bookmark as history printed it names its point, though it is all digits.
  await dosql(['shell', db], { input: 'INSERT INTO t VALUES (2);' });
  const byBookmark = await dosql(['restore', bookmark, db]);
  assert.equal(byBookmark.code, 0, byBookmark.err);
  assert.equal(JSON.parse(byBookmark.out).restoredTo.lsn, before);
  assert.equal((await dosql(['shell', db, '--mode', 'csv'], { input: 'SELECT x FROM t;' })).out, 'x\n1\n');
  // A time as typed: now is after every commit, so the restore keeps the rows as they are.
  const atTime = await dosql(['restore', new Date(Date.now() + 1000).toISOString(), db]);
  assert.equal(atTime.code, 0, atTime.err);
  assert.equal((await dosql(['shell', db, '--mode', 'csv'], { input: 'SELECT x FROM t;' })).out, 'x\n1\n');
  // Their errors say the code, as import's and exec's do.
  const used = await dosql(['branch', name, db]);
  assert.equal(used.code, 1);
  assert.match(used.err, /^dosql: BRANCH_EXISTS: /);
  const future = await dosql(['restore', String(before + 1000), db]);
  assert.match(future.err, /^dosql: POINT_IN_FUTURE: /);
});

test('a target may be any URL form @libsql/client takes: http, ws, and libsql:// with ?tls=0', async () => {
  const host = new URL(server).host;
  const name = tenant('cli-urls');
  for (const url of [`http://${host}/db/${name}/`, `ws://${host}/db/${name}`, `libsql://${host}/db/${name}/?tls=0`]) {
    const r = await dosql(['shell', url, '--mode', 'csv'], { input: 'SELECT 42 AS n;' });
    assert.equal(r.out, 'n\n42\n', `${url}: ${r.err}`);
  }
});

test('the token comes from .dev.vars when nothing else gives it; without one, a clear usage error', async () => {
  const project = join(folder, 'project');
  mkdirSync(join(project, 'src'), { recursive: true });
  writeFileSync(join(project, '.dev.vars'), `OTHER=1\nDOSQL_TOKEN=${TOKEN}\n`);
  const found = await dosql(['shell', tenant('cli-vars')], { input: 'SELECT 1 AS one;', env: {}, cwd: join(project, 'src') });
  assert.equal(found.code, 0, found.err);
  assert.match(found.out, /^one\n---\n1$/m);
  // Read as wrangler reads it, so the token sent is the one the worker checks: quoted,
  // spaced, commented, CRLF, exported, the last of two.
  for (const vars of [`DOSQL_TOKEN='${TOKEN}'\n`, `export DOSQL_TOKEN = ${TOKEN} # mine\r\n`, `DOSQL_TOKEN=old\nDOSQL_TOKEN="${TOKEN}"\n`]) {
    writeFileSync(join(project, '.dev.vars'), vars);
    const read = await dosql(['shell', tenant('cli-vars')], { input: 'SELECT 1 AS one;', env: {}, cwd: join(project, 'src') });
    assert.equal(read.code, 0, `${JSON.stringify(vars)}: ${read.err}`);
  }
  const none = await dosql(['history', 'x'], { env: {}, cwd: '/' });
  assert.equal(none.code, 2);
  assert.match(none.err, /no token/);
  const wrong = await dosql(['shell', 'x'], { input: 'SELECT 1;', env: { DOSQL_TOKEN: 'wrong' } });
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /UNAUTHORIZED/);
  const unknown = await dosql(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /no command frobnicate/);
});

test('a database URL under a path (a proxy serving the worker under /dosql) is the database there, as DOSQL_URL with that path names it', async () => {
  const { resolveTarget } = await import('../../worker-shim/bin/dosql-target.mjs');
  const viaEnv = resolveTarget('acme', { DOSQL_URL: 'https://proxy.example/dosql' });
  assert.deepEqual(resolveTarget('https://proxy.example/dosql/db/acme/', {}), viaEnv);
  assert.deepEqual(resolveTarget('wss://proxy.example/dosql/db/acme/', {}).http, viaEnv.http);
  assert.equal(resolveTarget('http://127.0.0.1:8787/db/acme', {}).http, 'http://127.0.0.1:8787/db/acme/');
  for (const notOne of ['https://proxy.example/dosql/dbx/acme/', 'https://proxy.example/db/']) {
    assert.throws(() => resolveTarget(notOne, {}), /is no database URL: DoSQL's are <server>\/db\/<tenant>\//);
  }
});

test('export and import against a server that is no DoSQL database (a sign-in page, an app) fail and keep the earlier file', async () => {
  const other = createHttpServer((req, res) => {
    if (req.url?.startsWith('/login')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>Sign in</title>');
    } else if (req.method === 'POST') {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":1,"hits":1}');
    } else {
      res.writeHead(302, { location: '/login' });
      res.end();
    }
  });
  await new Promise((resolve) => other.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (other.address());
  try {
    const dir = mkdtempSync(join(folder, 'other-'));
    writeFileSync(join(dir, 'acme.sqlite'), 'the backup of yesterday');
    const env = { DOSQL_TOKEN: TOKEN, DOSQL_URL: `http://127.0.0.1:${port}` };
    const exported = await dosql(['export', 'acme'], { cwd: dir, env });
    assert.equal(exported.code, 1);
    assert.match(exported.err, /^dosql: BAD_RESPONSE: http:\/\/127\.0\.0\.1:\d+\/login answered with text\/html \("<!doctype html>.*"\), not a SQLite file: not DoSQL's answer, so acme\.sqlite was not written/);
    assert.equal(readFileSync(join(dir, 'acme.sqlite'), 'utf8'), 'the backup of yesterday');
    assert.deepEqual(readdirSync(dir), ['acme.sqlite']);
    const database = Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(496)]);
    writeFileSync(join(dir, 'db.sqlite'), database);
    const imported = await dosql(['import', 'db.sqlite', 'acme'], { cwd: dir, env });
    assert.equal(imported.code, 1);
    assert.match(imported.err, /BAD_RESPONSE.*the database answered \/import with \{"id":1,"hits":1\}, which has no pages: not DoSQL's answer/);
    assert.equal(imported.out, '');
    // The shell, whose libSQL client reads that JSON as a broken answer, says so too.
    const shell = await dosql(['shell', 'acme'], { cwd: dir, env, input: 'SELECT 1;' });
    assert.equal(shell.code, 1);
    assert.match(shell.err, /answered, but not as a DoSQL database does: is the URL <server>\/db\/<tenant>\/ of a server running DoSQL \(DOSQL_URL: the standalone worker, not your app's\)\?/);
  } finally {
    other.close();
  }
});

test('export refuses a file that has a -wal or -journal beside it, which SQLite would read onto the new file', async () => {
  const db = tenant('cli-wal');
  assert.equal((await dosql(['shell', db], { input: 'CREATE TABLE t (x); INSERT INTO t VALUES (1);' })).code, 0);
  const dir = mkdtempSync(join(folder, 'wal-'));
  for (const companion of ['-wal', '-journal']) {
    writeFileSync(join(dir, 'copy.sqlite'), 'an older export');
    writeFileSync(join(dir, `copy.sqlite${companion}`), 'pages of the older export');
    const r = await dosql(['export', db, '-o', 'copy.sqlite'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`copy\\.sqlite${companion} is beside copy\\.sqlite: SQLite would read it onto the new export when it opens it`));
    assert.equal(readFileSync(join(dir, 'copy.sqlite'), 'utf8'), 'an older export');
    rmSync(join(dir, `copy.sqlite${companion}`));
  }
  assert.equal((await dosql(['export', db, '-o', 'copy.sqlite'], { cwd: dir })).code, 0);
});

test('a compressed backup is named as such: import and exec say to decompress it, not that it is SQL or UTF-16', async () => {
  const dir = mkdtempSync(join(folder, 'gz-'));
  writeFileSync(join(dir, 'backup.sqlite.gz'), gzipSync(Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(496)])));
  writeFileSync(join(dir, 'backup.zip'), Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  const imported = await dosql(['import', 'backup.sqlite.gz', tenant('cli-gz')], { cwd: dir });
  assert.equal(imported.code, 1);
  assert.match(imported.err, /backup\.sqlite\.gz is compressed with gzip, not a SQLite database file: decompress it first, as dosql import <\(gunzip -c backup\.sqlite\.gz\)/);
  const ran = await dosql(['exec', 'backup.sqlite.gz', tenant('cli-gz')], { cwd: dir });
  assert.equal(ran.code, 1);
  assert.match(ran.err, /backup\.sqlite\.gz is compressed with gzip, not SQL text: decompress it first \(gunzip\)\n/);
  const zipped = await dosql(['import', 'backup.zip', tenant('cli-gz')], { cwd: dir });
  assert.match(zipped.err, /backup\.zip is a zip archive, not a SQLite database file: unzip it, and use the file in it/);
});

test('a URL that is no DoSQL database (another server, a wrong path) is named, with what it answered', async () => {
  const other = createHttpServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/html' });
    res.end('<html>Not Found</html>');
  });
  await new Promise((resolve) => other.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (other.address());
  try {
    const script = join(folder, 'one.sql');
    writeFileSync(script, 'SELECT 1;\n');
    const url = `http://127.0.0.1:${port}/db/acme/`;
    for (const args of [['exec', script, url], ['shell', url]]) {
      const r = await dosql(args, { input: 'SELECT 1;' });
      assert.equal(r.code, 1);
      assert.match(r.err, new RegExp(`${url.replaceAll('.', '\\.')} answered HTTP 404, not as a DoSQL database does: is the URL <server>/db/<tenant>/ of a server running DoSQL\\?`));
    }
  } finally {
    other.close();
  }
});
