#!/usr/bin/env node
// libsql.mjs — what libSQL's protocol costs over DoSQL's own (docs/hrana.md).
//
//   nice -n -10 node tests/bench/libsql.mjs          # writes tests/bench/libsql.md
//   node tests/bench/libsql.mjs --rounds 5 --calls 100 --no-write
//
// The standalone worker in workerd (what `./build.sh dev` serves), SQLite-backed, over a
// real socket from Node with keep-alive, one call at a time. For each statement, in
// rounds that alternate the order:
//   query    fetch POST /db/<t>/query {sql, params} (DoSQL's JSON protocol)
//   libsql   @libsql/client's execute() over HTTP (one v2/pipeline: execute + close)
//   ws       @libsql/client's execute() over one WebSocket
// Each figure is the median over rounds of a round's mean µs per call; the ratio
// libsql/query is the target (≤ 1.3). Both include the same HTTP hop, so the
// ratio is of whole calls as a client outside Cloudflare sees them.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { execSync } from 'node:child_process';
import { createClient as createHttpClient } from '@libsql/client/http';
import { createClient as createWsClient } from '@libsql/client/ws';
import { REPO, TMP, startStandalone } from '../worker/harness.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '11' }, calls: { type: 'string', default: '300' }, 'no-write': { type: 'boolean' } },
});
const ROUNDS = Number(args.rounds);
const CALLS = Number(args.calls);
const TOKEN = 'bench-token';
const REPORT = join(REPO, 'tests/bench/libsql.md');
const ROWS = 10_000;

const STATEMENTS = [
  { name: 'SELECT 1', sql: 'SELECT 1 AS one', args: () => [] },
  { name: 'point SELECT by key (10k rows)', sql: 'SELECT id, k, body FROM t WHERE id = ?', args: (/** @type {number} */ i) => [1 + ((i * 7919) % ROWS)] },
  { name: 'single-row INSERT', sql: 'INSERT INTO t (k, body) VALUES (?, ?)', args: (/** @type {number} */ i) => [i, 'x'.repeat(40)] },
];

const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

mkdirSync(TMP, { recursive: true });
const mf = await startStandalone({ DOSQL_TOKEN: TOKEN }, { persist: mkdtempSync(join(TMP, 'bench-libsql-')) });
const origin = String(await mf.ready);
const base = `${origin}db/bench/`;
const http = createHttpClient({ url: base, authToken: TOKEN });
const ws = createWsClient({ url: `${origin.replace(/^http/, 'ws')}db/bench`, authToken: TOKEN });
try {
  await http.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, body TEXT NOT NULL)');
  await http.execute({ sql: `INSERT INTO t (k, body) SELECT value, printf('%040d', value) FROM generate_series(1, ${ROWS})`, args: [] })
    .catch(() => http.executeMultiple(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS}) INSERT INTO t (k, body) SELECT i, printf('%040d', i) FROM n;`));

  /** @type {Record<string, (sql: string, params: unknown[]) => Promise<unknown>>} */
  const modes = {
    query: async (sql, params) => {
      const r = await fetch(`${base}query`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ sql, params }) });
      if (!r.ok) throw new Error(await r.text());
      return r.json();
    },
    libsql: (sql, params) => http.execute({ sql, args: /** @type {any} */ (params) }),
    ws: (sql, params) => ws.execute({ sql, args: /** @type {any} */ (params) }),
  };
  /** @type {{statement: string, mode: string, us: number}[]} */
  const results = [];
  for (const statement of STATEMENTS) {
    /** @type {Record<string, number[]>} */
    const perRound = { query: [], libsql: [], ws: [] };
    for (const mode of Object.keys(modes)) await modes[mode](statement.sql, statement.args(0)); // warm
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? Object.keys(modes).reverse() : Object.keys(modes);
      for (const mode of order) {
        const start = performance.now();
        for (let i = 0; i < CALLS; i++) await modes[mode](statement.sql, statement.args(round * CALLS + i));
        perRound[mode].push(((performance.now() - start) * 1000) / CALLS);
      }
    }
    for (const mode of Object.keys(modes)) results.push({ statement: statement.name, mode, us: median(perRound[mode]) });
  }

  const us = (/** @type {string} */ s, /** @type {string} */ m) => /** @type {{us: number}} */ (results.find((r) => r.statement === s && r.mode === m)).us;
  const rows = STATEMENTS.map(({ name }) => `| ${name} | ${us(name, 'query').toFixed(0)} | ${us(name, 'libsql').toFixed(0)} | ${us(name, 'ws').toFixed(0)} | **${(us(name, 'libsql') / us(name, 'query')).toFixed(2)}** | ${(us(name, 'ws') / us(name, 'query')).toFixed(2)} |`);
  const commit = execSync('git rev-parse --short HEAD', { cwd: REPO, encoding: 'utf8' }).trim();
  const table = [
    `Generated by \`node tests/bench/libsql.mjs\` on ${new Date().toISOString()} (git ${commit}; node ${process.version}; ${ROUNDS} rounds × ${CALLS} calls per mode, one at a time).`,
    '',
    '| statement | `/query` µs | `@libsql/client` HTTP µs | WebSocket µs | HTTP / `/query` | WebSocket / `/query` |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
  process.stdout.write(`${table}\n`);
  if (!args['no-write']) {
    writeFileSync(REPORT, `# libSQL's protocol against DoSQL's own\n\nWhat one call costs through \`@libsql/client\` (docs/hrana.md) beside the same statement sent to\n\`/query\`, from Node over a real socket to the standalone worker in workerd (SQLite-backed,\nas \`./build.sh dev\` serves it). The issue's target: HTTP / \`/query\` ≤ 1.3.\n\n<!-- generated by libsql.mjs: begin -->\n${table}\n<!-- generated by libsql.mjs: end -->\n`);
  }
} finally {
  http.close();
  ws.close();
  await mf.dispose();
}
