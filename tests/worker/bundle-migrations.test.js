// bin/bundle-migrations.mjs: a folder of NNN_name.sql files becomes a module of
// {name, sql} sorted by number; bad names and duplicate numbers are refused.
// Also: wrangler bundles the standalone worker with the root wrangler.toml.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync, readFileSync, existsSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { REPO, TMP } from './harness.js';
import { readMigrations, bundleMigrations } from '../../worker-shim/bin/bundle-migrations.mjs';
import { checkMigrations } from '../../worker-shim/src/durable-object/migration-list.js';

const root = join(TMP, `bundle-${randomUUID().slice(0, 8)}`);
after(() => rmSync(root, { recursive: true, force: true }));

/** A folder holding these files. @param {Record<string, string>} files */
function folder(files) {
  const dir = join(root, randomUUID().slice(0, 8));
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('migrations are sorted by number, not by name, and other files are ignored', () => {
  const dir = folder({ '10_ten.sql': 'SELECT 10;', '2_two.sql': 'SELECT 2;', '001_one.sql': 'SELECT 1;', 'README.md': 'no', '2_two.sql~': 'an editor\'s backup' });
  assert.deepEqual(readMigrations(dir), [
    { name: '001_one.sql', sql: 'SELECT 1;' },
    { name: '2_two.sql', sql: 'SELECT 2;' },
    { name: '10_ten.sql', sql: 'SELECT 10;' },
  ]);
});

test('a file holding a NUL character is refused, naming it', () => {
  const dir = folder({ '001_a.sql': 'CREATE TABLE a (x);', '002_b.sql': 'CREATE TABLE b (x); -- \u0000' });
  assert.throws(() => readMigrations(dir), /002_b\.sql holds a NUL byte \(line 1, byte 23\), which SQL text cannot/);
});

test('a name or text no request could carry (a NUL, a lone surrogate) is refused where the list is given, naming it', () => {
  for (const [migration, message] of /** @type {[{name: string, sql: string}, RegExp][]} */ ([
    [{ name: '001_a\u0000b.sql', sql: 'SELECT 1' }, /its name holds a NUL character \(at character 5\)/],
    [{ name: '001_a.sql', sql: 'SELECT 1 -- \ud800' }, /"001_a\.sql": its sql holds a lone surrogate \(at code point 12\)/],
    [{ name: '001_\udc00.sql', sql: 'SELECT 1' }, /its name holds a lone surrogate \(at code point 4\)/],
  ])) {
    assert.throws(() => checkMigrations([migration]), (/** @type {any} */ err) => err instanceof TypeError && message.test(err.message));
  }
  assert.equal(checkMigrations([{ name: '001_ok.sql', sql: 'SELECT \u{1F600}' }]).length, 1, 'a character past the BMP is whole');
});

test('a file that is not UTF-8 is refused, naming it and the line, not bundled with U+FFFD in its text; a BOM is kept', () => {
  // Windows-1252 "Côte", as an editor set to it saves the file.
  const dir = folder({});
  writeFileSync(join(dir, '001_countries.sql'), Buffer.from("CREATE TABLE c (name TEXT);\nINSERT INTO c VALUES ('C\xf4te');\n", 'latin1'));
  assert.throws(() => readMigrations(dir), /001_countries\.sql is not UTF-8 \(line 2, byte 52: 0xf4\): save it as UTF-8/);
  // A BOM stays in the text: the checksums of migrations applied with one count it.
  const bom = folder({ '001_a.sql': '\uFEFFCREATE TABLE a (x); -- \uFFFD as itself' });
  assert.deepEqual(readMigrations(bom), [{ name: '001_a.sql', sql: '\uFEFFCREATE TABLE a (x); -- \uFFFD as itself' }]);
});

test('a link to a folder, or one to nothing, among the migrations is named', () => {
  const dir = folder({ '001_a.sql': 'SELECT 1;' });
  mkdirSync(join(dir, '..', 'elsewhere'), { recursive: true });
  symlinkSync(join(dir, '..', 'elsewhere'), join(dir, '002_b.sql'));
  assert.throws(() => readMigrations(dir), /002_b\.sql: it is a folder \(or a link to one\), not a file/);
  const dangling = folder({ '001_a.sql': 'SELECT 1;' });
  symlinkSync(join(dangling, 'gone.sql'), join(dangling, '002_b.sql'));
  assert.throws(() => readMigrations(dangling), /002_b\.sql: ENOENT/);
});

test('badly named .sql files are refused, naming them', () => {
  // And the near misses that would be left out without a word: a trailing space, a hidden .txt.
  for (const name of ['init.sql', '001-init.sql', '001_.sql', '001_in it.sql', '011_c.SQL', '1_a.sql ', '2_b.sql.txt']) {
    const dir = folder({ [name]: 'SELECT 1;' });
    assert.throws(() => readMigrations(dir), (err) => err instanceof Error && err.message.includes(name), name);
  }
});

test('two migrations with the same number are refused, naming both', () => {
  const dir = folder({ '001_a.sql': '', '1_b.sql': '' });
  assert.throws(() => readMigrations(dir), /001_a\.sql and 1_b\.sql|1_b\.sql and 001_a\.sql/);
});

test('a missing folder is an error', () => {
  assert.throws(() => readMigrations(join(root, 'nope')), /does not exist/);
});

test('a file for the folder, a folder of .sql files inside it, or a folder for the output is refused, saying so; editors\' hidden files are not migrations', () => {
  const dir = folder({ '001_a.sql': 'SELECT 1;', '.#002_b.sql': 'root@host.1234' });
  assert.deepEqual(readMigrations(dir).map((m) => m.name), ['001_a.sql']);
  assert.throws(() => readMigrations(join(dir, '001_a.sql')), /001_a\.sql is a file: name the folder/);
  mkdirSync(join(dir, 'more'));
  writeFileSync(join(dir, 'more', '002_b.sql'), 'SELECT 2;');
  assert.throws(() => readMigrations(dir), /more: a folder inside the migrations folder, named \.sql or holding \.sql files/);
  const other = folder({ '001_a.sql': 'SELECT 1;' });
  mkdirSync(join(other, '002_b.sql'));
  assert.throws(() => readMigrations(other), /002_b\.sql: a folder inside the migrations folder/);
  assert.throws(() => bundleMigrations(folder({ '001_a.sql': 'SELECT 1;' }), root), /is a folder: name the \.js file/);
});

test('the CLI writes an importable module equal to the folder, and fails with a message', async () => {
  const dir = folder({ '001_a.sql': "CREATE TABLE a (x TEXT DEFAULT 'it''s \\ \"q\" ü');\n", '002_b.sql': 'CREATE TABLE b (y);' });
  const out = join(root, 'out', 'migrations.js');
  execFileSync(process.execPath, [join(REPO, 'worker-shim/bin/bundle-migrations.mjs'), dir, out]);
  const mod = await import(pathToFileURL(out).href);
  assert.deepEqual(mod.default, readMigrations(dir));

  const broken = folder({ 'bad.sql': '' });
  const r = spawnSync(process.execPath, [join(REPO, 'worker-shim/bin/bundle-migrations.mjs'), broken, out], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.sql/);
  // An argument too many is a usage error, not dropped.
  const extra = spawnSync(process.execPath, [join(REPO, 'worker-shim/bin/bundle-migrations.mjs'), dir, out, 'more'], { encoding: 'utf8' });
  assert.equal(extra.status, 2);
  assert.match(extra.stderr, /^usage: bundle-migrations\.mjs <folder> <out\.js>/);
});

test('the CLI run through a symlink (node_modules/dosql from a file: install, node_modules/.bin) still writes the module', () => {
  const dir = folder({ '001_a.sql': 'CREATE TABLE a (x);' });
  const link = join(root, 'linked-bin');
  mkdirSync(link, { recursive: true });
  symlinkSync(join(REPO, 'worker-shim/bin'), join(link, 'bin'));
  const out = join(root, 'linked-out', 'migrations.js');
  execFileSync(process.execPath, [join(link, 'bin/bundle-migrations.mjs'), dir, out]);
  assert.ok(existsSync(out), 'the module was written');
});

test('the repository\'s migrations/ folder bundles', () => {
  const out = join(root, 'repo-migrations.js');
  const list = bundleMigrations(join(REPO, 'migrations'), out);
  assert.ok(list.length >= 1);
  assert.equal(list[0].name, '001_init.sql');
  assert.match(list[0].sql, /CREATE TABLE users/);
  assert.match(readFileSync(out, 'utf8'), /^\/\/ Generated/);
});

test('the module has a declaration beside it: TypeScript imports it without allowJs', () => {
  const dir = join(root, 'typed');
  const out = join(dir, 'src', 'migrations.generated.js');
  bundleMigrations(folder({ '001_a.sql': 'CREATE TABLE a (x);' }), out);
  writeFileSync(join(dir, 'src', 'worker.ts'), [
    "import migrations from './migrations.generated.js';",
    'const names: string[] = migrations.map((m) => m.name + m.sql.length);',
    'export default names;',
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'es2022', moduleResolution: 'bundler', target: 'es2022', types: [] },
    include: ['src/*.ts'],
  }));
  const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
  assert.match(readFileSync(join(dir, 'src', 'migrations.generated.d.ts'), 'utf8'), /export default migrations/);
});

test('wrangler bundles the standalone worker from the root wrangler.toml', { timeout: 120_000 }, () => {
  const wrangler = join(REPO, 'node_modules/wrangler/bin/wrangler.js');
  assert.ok(existsSync(wrangler), 'node_modules/wrangler is installed (npm ci)');
  const outdir = join(root, 'wrangler-out');
  const r = spawnSync(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: REPO,
    encoding: 'utf8',
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_SEND_ERROR_REPORTS: 'false',
      WRANGLER_HIDE_BANNER: 'true',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      CI: 'true',
    },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /env\.DOSQL_DB \(DoSQLDatabase\)/);
  const files = readdirSync(outdir);
  assert.ok(files.includes('standalone.js'), files.join(', '));
  assert.ok(files.some((f) => f.endsWith('dosql.wasm')), 'the module ships as a .wasm file');
});
