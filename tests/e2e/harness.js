// harness.js — the SvelteKit example (examples/sveltekit) served by one real
// `wrangler dev` process, driven by a real Chromium through playwright-core.
//
// One server and one browser per test file (node runs each file in a process of
// its own), each test in a fresh browser context (own cookies, own tenant):
//
//   import { test, before, after } from 'node:test';
//   import { startApp, open } from './harness.js';
//   let app;
//   before(async () => { app = await startApp('users'); });
//   after(() => app?.stop());
//   test('...', async (t) => {
//     const page = await app.newPage(t, { tenant: 'acme' });
//     await open(page, '/users/new'); // hydrated when it runs JavaScript: then fill it in
//     ...
//   });
//
// The build. `./build.sh test` builds the app (npm ci, npm run build) before it runs
// this suite. Run alone (`node --test tests/e2e/`), the harness builds it when the
// build output is missing or older than any of its inputs (the app's sources, its
// migrations, the worker shim, dosql.wasm), once, under a lock: test files may run in
// parallel. E2E_BUILD=0 skips that check, E2E_BUILD=1 always builds.
//
// The server: `npm run preview:worker -- --inspector-port N` in examples/sveltekit,
// with PORT (a free port) and PERSIST_DIR (a fresh folder under tests/.tmp/, removed
// at the end unless E2E_KEEP=1). It runs in a process group of its own: stop() kills
// the whole group (npm, wrangler's node, workerd), and so does an exit handler if the
// test process ends any other way (SIGTERM from node's runner included; only a
// SIGKILL of the test process would leave it behind). Its output goes to server.log in
// that folder; the errors it logged are printed when the file's tests end.
//
// The browser: Debian's /usr/bin/chromium (E2E_CHROMIUM overrides it), never a
// Playwright download. Screenshots go to tests/e2e/artifacts/ (ignored by git but
// for users.png, which examples/sveltekit/README.md embeds: its content is fixed, so
// a run rewrites it byte for byte).

import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import {
  closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const APP_DIR = join(REPO, 'examples/sveltekit');
export const TMP = join(REPO, 'tests/.tmp');
export const ARTIFACTS = join(REPO, 'tests/e2e/artifacts');
export const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';

/** What the adapter writes last; its age against the inputs decides a rebuild. */
const BUILD_OUTPUT = join(APP_DIR, '.svelte-kit/cloudflare/_worker.js');
/** Everything the build reads (folders are walked, missing ones skipped). */
const BUILD_INPUTS = [
  'examples/sveltekit/src', 'examples/sveltekit/static', 'examples/sveltekit/.do/migrations',
  'examples/sveltekit/package.json', 'examples/sveltekit/package-lock.json',
  'examples/sveltekit/svelte.config.js', 'examples/sveltekit/vite.config.ts', 'examples/sveltekit/vite.config.js',
  'worker-shim/src', 'worker-shim/dist/dosql.wasm',
];

/** Launch flags for Chromium on these machines (shared/ENVIRONMENT.md): no sandbox as
 * root, no GPU, and no network but localhost — nothing leaves the machine. The names
 * under localhost (acme.localhost, a tenant's subdomain) are excluded from the mapping
 * too: Chromium resolves them to the loopback address itself. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost, EXCLUDE 127.0.0.1',
];

/** wrangler offline and quiet (the contract's environment). */
export const QUIET_ENV = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  CI: 'true',
  NPM_CONFIG_UPDATE_NOTIFIER: 'false',
};

const READY_TIMEOUT_MS = Number(process.env.E2E_READY_TIMEOUT_MS ?? 90_000);
const VIEWPORT = { width: 1024, height: 640 };

// ---- build ----------------------------------------------------------------------------

/** The newest mtime (ms) under PATH, 0 when it does not exist. */
function newestMtime(path) {
  let st;
  try { st = statSync(path); } catch { return 0; }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

function buildIsStale() {
  if (!existsSync(BUILD_OUTPUT)) return true;
  const built = statSync(BUILD_OUTPUT).mtimeMs;
  return BUILD_INPUTS.some((p) => newestMtime(join(REPO, p)) > built);
}

/**
 * Build the app when needed (see the header), holding tests/.tmp/e2e-build.lock so that
 * test files started together build it once. Throws with the build's output on failure.
 */
export async function ensureBuilt() {
  if (!existsSync(join(APP_DIR, 'package.json'))) {
    throw new Error('examples/sveltekit/package.json is missing: the example app is not there');
  }
  if (!existsSync(join(APP_DIR, 'node_modules'))) {
    throw new Error('examples/sveltekit/node_modules is missing: run `npm ci` in examples/sveltekit (./build.sh test does)');
  }
  const mode = process.env.E2E_BUILD;
  if (mode === '0') return;
  mkdirSync(TMP, { recursive: true });
  const lock = join(TMP, 'e2e-build.lock');
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (e) {
      if (/** @type {any} */ (e).code !== 'EEXIST') throw e;
      // A lock older than the longest build is left over from a killed run.
      try { if (Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { force: true }); } catch { /* gone */ }
      if (Date.now() > deadline) throw new Error(`waited 300 s for ${lock}`);
      await sleep(500);
    }
  }
  try {
    if (mode !== '1' && !buildIsStale()) return;
    const started = Date.now();
    try {
      execFileSync('npm', ['run', 'build'], {
        cwd: APP_DIR, env: { ...process.env, ...QUIET_ENV }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (e) {
      const err = /** @type {any} */ (e);
      throw new Error(`npm run build in examples/sveltekit failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    }
    process.stderr.write(`# e2e: built examples/sveltekit in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } finally {
    rmSync(lock, { force: true });
  }
}

// ---- server ---------------------------------------------------------------------------

/** A TCP port that was free a moment ago (the server binds it right after). */
export async function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolvePort(port));
    });
  });
}

/** Process groups this process started and has not stopped yet. */
const liveGroups = new Set();
process.on('exit', () => {
  for (const pgid of liveGroups) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
  }
});
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => process.exit(130));
}

/** Is the process group PGID still there? */
function groupAlive(pgid) {
  try { process.kill(-pgid, 0); return true; } catch { return false; }
}

/** SIGTERM the group, SIGKILL what is left after a grace period. */
async function killGroup(pgid) {
  if (!liveGroups.has(pgid)) return;
  try { process.kill(-pgid, 'SIGTERM'); } catch { /* gone */ }
  for (let i = 0; i < 50 && groupAlive(pgid); i++) await sleep(100);
  if (groupAlive(pgid)) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
    for (let i = 0; i < 20 && groupAlive(pgid); i++) await sleep(100);
  }
  liveGroups.delete(pgid);
}

/**
 * @typedef {object} ServerOptions
 * @property {string} [cwd]  the app's folder (default examples/sveltekit)
 * @property {string} [script]  the npm script that runs `wrangler dev` (default preview:worker,
 *   which takes PORT and PERSIST_DIR from the environment; any other is given --port and
 *   --persist-to)
 */

/**
 * Start the app's `wrangler dev` on a free port with a fresh persistence folder and wait
 * until it answers HTTP. Rejects (after killing it, with the tail of its log; the folder
 * stays for the whole log) when it exits or does not answer in time.
 * @param {string} name  a readable prefix for the folder under tests/.tmp/
 * @param {ServerOptions} [options]
 */
export async function startServer(name, options = {}) {
  // Ports are picked free and bound a moment later by wrangler: should another process
  // take one in between, the server exits at once and a second try picks new ones.
  try {
    return await startServerOnce(name, options);
  } catch (e) {
    if (!/Address already in use|EADDRINUSE/.test(/** @type {Error} */ (e).message)) throw e;
    return startServerOnce(name, options);
  }
}

/** @param {string} name @param {ServerOptions} options */
async function startServerOnce(name, { cwd = APP_DIR, script = 'preview:worker' }) {
  const dir = join(TMP, `e2e-${name}-${randomUUID().slice(0, 8)}`);
  const persist = join(dir, 'state');
  mkdirSync(persist, { recursive: true });
  const logPath = join(dir, 'server.log');
  const logFd = openSync(logPath, 'a');
  const port = await freePort();
  const baseURL = `http://localhost:${port}`;
  // wrangler's inspector defaults to port 9229: servers of test files running in
  // parallel would collide there, so each gets a free one (npm appends the argument).
  const inspectorPort = await freePort();
  const place = script === 'preview:worker' ? [] : ['--port', String(port), '--persist-to', persist];
  const child = spawn('npm', ['run', '--silent', script, '--', ...place, '--inspector-port', String(inspectorPort)], {
    cwd,
    env: { ...process.env, ...QUIET_ENV, PORT: String(port), PERSIST_DIR: persist },
    stdio: ['ignore', logFd, logFd],
    detached: true, // a process group of its own: killed as a whole
  });
  closeSync(logFd);
  const pgid = /** @type {number} */ (child.pid);
  liveGroups.add(pgid);
  let exited = /** @type {string | null} */ (null);
  child.on('exit', (code, signal) => { exited = `exited (${signal ?? code})`; });

  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  const server = {
    dir, port, baseURL, logPath, log,
    /** Kill the process group; remove the folder unless E2E_KEEP=1. Idempotent. */
    async stop() {
      await killGroup(pgid);
      if (process.env.E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };

  const started = Date.now();
  try {
    for (;;) {
      if (exited) throw new Error(`${script} ${exited} before it was ready`);
      if (Date.now() - started > READY_TIMEOUT_MS) throw new Error(`${script} not ready after ${READY_TIMEOUT_MS} ms`);
      try {
        const res = await fetch(`${baseURL}/`, { signal: AbortSignal.timeout(5000), redirect: 'manual' });
        await res.arrayBuffer();
        if (res.status < 500) break;
      } catch { /* not listening yet */ }
      await sleep(200);
    }
  } catch (e) {
    const tail = log().split('\n').slice(-40).join('\n');
    await killGroup(pgid);
    throw new Error(`${/** @type {Error} */ (e).message}; server.log (${logPath}):\n${tail}`);
  }
  process.stderr.write(`# e2e: ${name}: server ready on ${baseURL} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return server;
}

// ---- browser --------------------------------------------------------------------------

async function loadChromium() {
  const path = join(REPO, 'node_modules/playwright-core/index.mjs');
  if (!existsSync(path)) throw new Error('node_modules/playwright-core is missing: run npm ci at the repository root');
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (./build.sh test does, as root)`);
  }
  return (await import(path)).chromium;
}

/**
 * @typedef {object} PageOptions
 * @property {boolean} [js]  JavaScript enabled (default true)
 * @property {string} [tenant]  sent as X-Tenant-ID with every request of the context
 * @property {Record<string, string>} [headers]  more extra HTTP headers
 */

/**
 * The app served and a browser to drive it. Call stop() in after().
 * @param {string} name  names the server's folder
 */
export async function startApp(name) {
  await ensureBuilt();
  const chromium = await loadChromium();
  const server = await startServer(name);
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  } catch (e) {
    await server.stop();
    throw e;
  }
  const contexts = new Set();

  const app = {
    server,
    baseURL: server.baseURL,
    browser,

    /**
     * A fresh browser context (own cookies and storage), closed when test T ends.
     * Uncaught errors of its pages fail the test at that point.
     * @param {import('node:test').TestContext} t
     * @param {PageOptions} [options]
     */
    async newContext(t, { js = true, tenant, headers = {} } = {}) {
      const extraHTTPHeaders = { ...headers };
      if (tenant) extraHTTPHeaders['X-Tenant-ID'] = tenant;
      const context = await browser.newContext({
        baseURL: server.baseURL,
        javaScriptEnabled: js,
        extraHTTPHeaders,
        viewport: VIEWPORT,
        deviceScaleFactor: 1,
        acceptDownloads: true,
        locale: 'en-US',
        timezoneId: 'UTC',
      });
      context.setDefaultTimeout(15_000);
      context.setDefaultNavigationTimeout(20_000);
      const pageErrors = [];
      context.on('page', (page) => {
        page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`));
        track(page);
      });
      contexts.add(context);
      runsJavaScript.set(context, js);
      t.after(async () => {
        contexts.delete(context);
        await context.close().catch(() => {});
        if (pageErrors.length) throw new Error(`uncaught errors in the page:\n${pageErrors.join('\n')}`);
      });
      return context;
    },

    /**
     * A page in a fresh context (see newContext).
     * @param {import('node:test').TestContext} t
     * @param {PageOptions} [options]
     */
    async newPage(t, options) {
      const context = await app.newContext(t, options);
      return context.newPage();
    },

    /** Stop the browser and the server; print the request errors the server logged. */
    async stop() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close().catch(() => {});
      const errors = serverErrors(server.log());
      if (errors) process.stderr.write(`# e2e: ${name}: the server logged errors:\n${errors}\n`);
      await server.stop();
    },
  };
  return app;
}

/**
 * The errors of a wrangler log, a few lines of context each, or ''. Left out as the tests'
 * own doing: the 404s SvelteKit logs as errors ("[404] GET /users/999"), and workerd's
 * "Broken pipe" when a closing browser context drops a connection mid-response.
 */
function serverErrors(log) {
  // eslint-disable-next-line no-control-regex
  const lines = log.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/\[ERROR\]|Uncaught|Error:/.test(lines[i])) continue;
    const block = lines.slice(i, i + 8).filter((l) => l.trim() !== '');
    if (/^\s*\[404\] /.test(block[1] ?? '') || /Broken pipe/.test(block[0])) continue;
    out.push(...block.map((l) => `#   ${l}`));
    i += 7;
  }
  return out.join('\n');
}

/** Whether each context made by newContext() runs JavaScript (its `js` option). */
const runsJavaScript = new WeakMap();
/** @param {import('playwright-core').Page} page */
function runsJs(page) {
  return runsJavaScript.get(page.context()) ?? true; // Chromium's default
}

/** The requests in flight of each page (an EventSource's never ends: not counted). */
const inFlight = new WeakMap();
/** @param {import('playwright-core').Page} page */
function track(page) {
  const requests = new Set();
  inFlight.set(page, requests);
  page.on('request', (r) => { if (r.resourceType() !== 'eventsource') requests.add(r); });
  page.on('requestfinished', (r) => requests.delete(r));
  page.on('requestfailed', (r) => requests.delete(r));
}

// ---- helpers for tests ----------------------------------------------------------------

/**
 * Wait until SvelteKit has hydrated the page and started its router, so that forms are
 * enhanced and links are client-side. kit's start() sets history.scrollRestoration to
 * 'manual' as its last step (_start_router), after hydration; a fresh page has 'auto'.
 * (Not after page.reload() or goBack(): there kit sets it before hydrating, to restore
 * the scroll position.) The document is marked as waited for: submit() refuses a
 * document without the mark.
 * @param {import('playwright-core').Page} page
 */
export async function hydrated(page) {
  await page.waitForFunction(() => history.scrollRestoration === 'manual' && (/** @type {any} */ (window).__e2eHydrated = true));
}

/**
 * Load URL in PAGE (page.goto) and, when the page runs JavaScript, wait until it is
 * hydrated (see hydrated()); returns the navigation's response. Load a page this way
 * before typing into it or submitting it. The server's HTML shows the fields before
 * SvelteKit starts (page.goto's 'load' does not wait for it): hydration sets a field
 * whose value the page controls (`value={...}`) again, wiping what was typed, and a
 * form submitted before use:enhance is attached posts natively, a full page load.
 * @param {import('playwright-core').Page} page
 * @param {string} url
 */
export async function open(page, url) {
  const res = await page.goto(url);
  if (runsJs(page)) await hydrated(page);
  return res;
}

/**
 * Mark the document, so that a later check can tell a client-side update (mark kept)
 * from a full page load (mark gone).
 * @param {import('playwright-core').Page} page
 */
export async function markDocument(page) {
  await page.evaluate(() => { /** @type {any} */ (window).__e2eMark = 'kept'; });
}

/** @param {import('playwright-core').Page} page @returns {Promise<boolean>} */
export async function documentKept(page) {
  return page.evaluate(() => /** @type {any} */ (window).__e2eMark === 'kept');
}

/**
 * Turn off the browser's own form validation (required, type=email), so that a test
 * reaches the server's. Works with JavaScript disabled too (it runs in Playwright's world).
 * @param {import('playwright-core').Page} page
 */
export async function noValidate(page) {
  await page.locator('form').evaluateAll((forms) => forms.forEach((f) => { /** @type {HTMLFormElement} */ (f).noValidate = true; }));
}

/**
 * Save a screenshot to tests/e2e/artifacts/NAME.png (the whole page).
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const png = await page.screenshot({ fullPage: true, animations: 'disabled', caret: 'hide' });
  const path = join(ARTIFACTS, `${name}.png`);
  // Same pixels, same bytes: leave an unchanged file alone (users.png is committed).
  if (!existsSync(path) || !readFileSync(path).equals(png)) writeFileSync(path, png);
  return path;
}

/** The texts of LOCATOR's elements, trimmed and with runs of spaces collapsed. */
export async function texts(locator) {
  return (await locator.allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
}

/**
 * Run CHECK (assertions) until it passes, or rethrow its last failure after TIMEOUT ms.
 * playwright-core has no auto-retrying expect(); this is ours, for use with node:assert.
 * @template T
 * @param {() => Promise<T>} check
 * @param {number} [timeout]
 * @returns {Promise<T>}
 */
export async function eventually(check, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

/**
 * The text of LOCATOR's first element, whitespace collapsed; waits at most a second for
 * it to exist (use inside eventually()).
 * @param {import('playwright-core').Locator} locator
 */
export async function textOf(locator) {
  return (await locator.first().innerText({ timeout: 1000 })).replace(/\s+/g, ' ').trim();
}

/**
 * Wait until PAGE is quiet: loaded, no request in flight for 100 ms (an enhanced form's
 * follow-up loads: invalidateAll, a client-side redirect's data), and the DOM updated.
 * @param {import('playwright-core').Page} page
 */
export async function settle(page, timeout = 10_000) {
  await page.waitForLoadState('load');
  const requests = inFlight.get(page) ?? new Set();
  const deadline = Date.now() + timeout;
  let quietSince = Date.now();
  while (Date.now() - quietSince < 100) {
    if (requests.size) quietSince = Date.now();
    if (Date.now() > deadline) {
      throw new Error(`still loading after ${timeout} ms: ${[...requests].map((r) => r.url()).join(', ')}`);
    }
    await sleep(20);
  }
  await page.waitForLoadState('load');
}

/**
 * Submit a form by clicking its button NAME (exact), as a person would, and wait for
 * the POST's response and for the page to settle (see settle()): the next step then sees
 * the result, not a form that an update still in flight would overwrite. On a page that
 * runs JavaScript, the test must have waited for its hydration (open(), hydrated()).
 * @param {import('playwright-core').Page} page
 * @param {string} name
 * @returns {Promise<import('playwright-core').Response>} the POST's response
 */
export async function submit(page, name) {
  // Every time, not only when hydration happens to come late: a test that typed into a
  // page whose hydration it did not wait for fails here, not once in a while later.
  if (runsJs(page) && !(await page.evaluate(() => /** @type {any} */ (window).__e2eHydrated === true))) {
    throw new Error(`submit(${JSON.stringify(name)}): ${page.url()} runs JavaScript but the test did not wait for its hydration: load it with open(), or await hydrated(page), before filling it in`);
  }
  const posted = page.waitForResponse((r) => r.request().method() === 'POST');
  await page.getByRole('button', { name, exact: true }).click();
  const res = await posted;
  await res.finished();
  await settle(page);
  return res;
}
