#!/usr/bin/env node
// run.mjs — SQLite's speedtest1, native vs wasm, over our VFS "dosql" (issue 3, CPU benchmark).
//
//   node tests/bench/speedtest1/run.mjs [--rounds 3] [--size 250] [--json out.json]
//        [--variants oz,o2] [--variant 'NAME|CLANG FLAGS|WASM-OPT FLAGS']... [--no-build]
//        [-- extra speedtest1 options]
//
// Builds with `./build.sh speedtest` (unless --no-build), then runs the native binary and
// each wasm variant one after the other, --rounds times (the order rotates each round), in
// a fresh process each time. speedtest1 times each test itself (the clock is our VFS's
// xCurrentTimeInt64, i.e. the host's now_ms), so start-up and wasm compilation are outside
// the times; V8's tier-up from Liftoff to TurboFan is inside the first tests, as it would
// be in a Durable Object. Reports, per test and per group of tests (speedtest1 numbers its
// tests by hundreds: 1xx, 2xx, ... 9xx; a group is one hundred), the median time natively
// and in wasm and their ratio, plus the total (the sum of the per-test medians).
//
// --variant adds a wasm build for this run (see SPEEDTEST_WASM_VARIANTS in the Makefile), e.g.
//   --variant 'bulk|-O2 -mbulk-memory|-O2 --enable-bulk-memory'
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const OUT = join(ROOT, 'wasm/build/speedtest');

/** What each hundred of the "main" test set does (speedtest1.c, testset_main). */
const MAIN_GROUPS = {
  100: 'INSERTs, unindexed and indexed SELECTs, CREATE INDEX',
  200: 'VACUUM, ALTER TABLE, UPDATEs, DELETEs, REPLACE refill',
  300: 'INSERT…SELECT refill, 4-way joins, subqueries',
  400: 'INTEGER PRIMARY KEY: REPLACE, SELECT',
  500: 'TEXT PRIMARY KEY: REPLACE, SELECT, DISTINCT',
  900: 'integrity_check, ANALYZE',
};

function parseArgs(argv) {
  const o = { rounds: 3, size: 250, json: null, variants: ['oz', 'o2'], extra: [], build: true, pass: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--') { o.pass = argv.slice(i + 1); break; }
    else if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--size') o.size = Number(next());
    else if (a === '--json') o.json = next();
    else if (a === '--variants') o.variants = next().split(',').filter(Boolean);
    else if (a === '--variant') o.extra.push(next());
    else if (a === '--no-build') o.build = false;
    else if (a === '-h' || a === '--help') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 18).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!(o.rounds >= 1) || !(o.size >= 1)) throw new Error('--rounds and --size must be positive');
  for (const v of o.extra) {
    const name = v.split('|')[0];
    if (!/^[a-z0-9_-]+$/i.test(name) || v.split('|').length !== 3) throw new Error(`bad --variant ${v}`);
    if (!o.variants.includes(name)) o.variants.push(name);
  }
  return o;
}

/** speedtest1's output: "NNN - name....   S.MMMs" per test, "TOTAL....  S.MMMs" at the end. */
export function parseOutput(text) {
  const tests = [];
  const seen = new Map();
  let total = null;
  let host = null;
  for (const line of text.split('\n')) {
    let m = /^\s*(\d+) - (.*?)\.*\s+(\d+\.\d{3})s\s*$/.exec(line);
    if (m) {
      const num = Number(m[1]);
      const n = (seen.get(num) ?? 0) + 1;   // a test set may reuse a number
      seen.set(num, n);
      tests.push({ id: n === 1 ? String(num) : `${num}#${n}`, num, name: m[2].trim(), seconds: Number(m[3]) });
      continue;
    }
    m = /^\s*TOTAL\.*\s+(\d+\.\d{3})s\s*$/.exec(line);
    if (m) { total = Number(m[1]); continue; }
    m = /^-- host: (\{.*\})\s*$/.exec(line);
    if (m) host = JSON.parse(m[1]);
  }
  return { tests, total, host };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

function runOne(binary, stArgs, cwd) {
  const isWasm = binary !== 'native';
  const cmd = isWasm ? process.execPath : join(OUT, 'speedtest1-native');
  const args = isWasm
    ? ['--no-warnings', join(HERE, 'wasm-run.mjs'), join(OUT, `speedtest1-${binary}.wasm`), ...stArgs]
    : stArgs;
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 900_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`${binary} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  }
  const out = parseOutput(r.stdout);
  if (out.tests.length === 0 || out.total === null) throw new Error(`${binary}: no results in:\n${r.stdout}`);
  return out;
}

const fmt = (x) => x.toFixed(3);
const ratio = (w, n) => (n > 0 ? w / n : NaN);
const fmtR = (r) => (Number.isFinite(r) ? r.toFixed(2) : '–');

function main() {
  const o = parseArgs(process.argv.slice(2));
  const env = { ...process.env };
  if (o.extra.length) env.SPEEDTEST_WASM_VARIANTS = o.extra.join(';');
  if (o.build) {
    const b = spawnSync(join(ROOT, 'build.sh'), ['speedtest'], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (b.status !== 0) throw new Error(`./build.sh speedtest failed (${b.status ?? b.signal})`);
  }
  const stArgs = ['--journal', 'memory', '--size', String(o.size), ...o.pass, 'speedtest.db'];
  const binaries = ['native', ...o.variants];
  const cwd = mkdtempSync(join(tmpdir(), 'speedtest1-'));   // nothing is written, but unlink() is tried
  /** @type {Record<string, ReturnType<typeof parseOutput>[]>} */
  const runs = Object.fromEntries(binaries.map((b) => [b, []]));
  try {
    for (let r = 0; r < o.rounds; r++) {
      const order = binaries.map((_, i) => binaries[(i + r) % binaries.length]);
      for (const b of order) {
        const t0 = Date.now();
        const res = runOne(b, stArgs, cwd);
        runs[b].push(res);
        console.error(`round ${r + 1}/${o.rounds} ${b.padEnd(8)} total ${fmt(res.total)} s (wall ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }

  // Per test: the median over rounds, for each binary.
  const ref = runs.native[0].tests;
  for (const b of binaries) {
    for (const res of runs[b]) {
      const ids = res.tests.map((t) => t.id).join(',');
      if (ids !== ref.map((t) => t.id).join(',')) throw new Error(`${b} ran other tests than native`);
    }
  }
  const tests = ref.map((t, i) => {
    const row = { id: t.id, num: t.num, group: Math.floor(t.num / 100) * 100, name: t.name };
    for (const b of binaries) {
      const secs = runs[b].map((res) => res.tests[i].seconds);
      row[b] = { median: median(secs), runs: secs };
    }
    return row;
  });
  const groupIds = [...new Set(tests.map((t) => t.group))];
  const testset = (o.pass.includes('--testset') ? o.pass[o.pass.indexOf('--testset') + 1] : 'main');
  const sum = (rows, b) => rows.reduce((s, t) => s + t[b].median, 0);
  const groups = groupIds.map((g) => {
    const rows = tests.filter((t) => t.group === g);
    const row = { group: g, label: `${g / 100}xx`, what: testset === 'main' ? (MAIN_GROUPS[g] ?? '') : '', tests: rows.map((t) => t.id) };
    for (const b of binaries) row[b] = sum(rows, b);
    for (const b of o.variants) row[`${b}_ratio`] = ratio(row[b], row.native);
    return row;
  });
  const total = {};
  for (const b of binaries) total[b] = sum(tests, b);
  for (const b of o.variants) total[`${b}_ratio`] = ratio(total[b], total.native);
  const reportedTotal = Object.fromEntries(binaries.map((b) => [b, median(runs[b].map((r) => r.total))]));

  const pins = readFileSync(join(ROOT, 'build.sh'), 'utf8');
  const pin = (name) => new RegExp(`readonly ${name}=(\\S+)`).exec(pins)?.[1] ?? null;
  // The variants' flags are the Makefile's (SPEEDTEST_WASM_DEFAULT, name|clang|wasm-opt;...).
  const makefile = readFileSync(join(ROOT, 'Makefile'), 'utf8');
  /** A Makefile variable's value, its $(NAME)s expanded. */
  const makeVar = (name) => (new RegExp(`^${name}\\s*:= (.*)$`, 'm').exec(makefile)?.[1].trim() ?? '')
    .replace(/\$\((\w+)\)/g, (_, inner) => makeVar(inner));
  const features = makeVar('WASM_FEATURES');
  const variantFlags = {};
  for (const v of makeVar('SPEEDTEST_WASM_DEFAULT').split(';').filter(Boolean).concat(o.extra)) {
    const [name, cflags, wopt] = v.split('|');
    variantFlags[name] = { clang: `${features} ${cflags}`, wasmOpt: wopt };
  }
  const result = {
    speedtest1: {
      source: `Debian sqlite3 source package (${pin('SPEEDTEST1_SUITE')}), test/speedtest1.c`,
      version: pin('SPEEDTEST1_SQLITE_VERSION'),
      sha256: pin('SPEEDTEST1_SHA256'),
      compiledAgainst: /Speedtest1 for SQLite (\S+)/.exec(spawnSync(join(OUT, 'speedtest1-native'), ['--help'], { encoding: 'utf8' }).stdout)?.[1] ?? null,
    },
    options: stArgs,
    rounds: o.rounds,
    machine: { node: process.version, cpu: cpus()[0]?.model, cores: cpus().length },
    binaries: { native: { cflags: '-O2 -DNDEBUG (no sanitizers)' }, ...Object.fromEntries(o.variants.map((v) => [v, variantFlags[v] ?? {}])) },
    host: Object.fromEntries(o.variants.map((v) => [v, runs[v][0].host])),
    grouping: 'by hundreds of speedtest1\'s test number (100-199 is group 1xx, ...)',
    tests,
    groups,
    total,
    reportedTotalMedian: reportedTotal,
  };
  if (o.json) writeFileSync(o.json, JSON.stringify(result, null, 2) + '\n');

  // Markdown.
  const head = (first) => {
    const cols = [...first, 'native s', ...o.variants.flatMap((v) => [`${v} s`, `${v}/native`])];
    return `| ${cols.join(' | ')} |\n|${cols.map(() => ' --- ').join('|')}|`;
  };
  const cells = (row) => [fmt(row.native), ...o.variants.flatMap((v) => [fmt(row[v]), fmtR(ratio(row[v], row.native))])];
  const lines = [];
  lines.push(`speedtest1 ${result.speedtest1.version} (sha256 ${result.speedtest1.sha256.slice(0, 12)}…) on SQLite ${result.speedtest1.compiledAgainst}; options: ${stArgs.join(' ')}; median of ${o.rounds} rounds`);
  lines.push('', head(['group', 'what']));
  for (const g of groups) lines.push(`| ${g.label} | ${g.what} | ${cells(g).join(' | ')} |`);
  lines.push(`| **TOTAL** | | ${cells(total).map((c) => `**${c}**`).join(' | ')} |`);
  lines.push('', head(['test', 'name']));
  for (const t of tests) {
    const row = { native: t.native.median, ...Object.fromEntries(o.variants.map((v) => [v, t[v].median])) };
    lines.push(`| ${t.id} | ${t.name} | ${cells(row).join(' | ')} |`);
  }
  console.log(lines.join('\n'));
}

try {
  main();
} catch (err) {
  console.error(`run.mjs: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
