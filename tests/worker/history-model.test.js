// history-model.test.js — a model-based differential test of history (docs/history.md).
//
// A seeded random workload runs against one database: writes of one row and of many
// (rows that span overflow pages, values of every type), schema changes, interactive
// transactions committed and rolled back, batches that fail half way, restores to
// earlier points and their undoing, an import of an earlier point's export, restarts,
// and enough commits for checkpoints. After every step the model records the lsn it
// left and a logical dump of the whole database (history-model-dump.js). Then, for a
// sample of points as it goes and for every point still in the window at the end, it
// asks the database for the past and compares with what it recorded
// (history-model-checks.js). It runs once on the hot tier alone and once with the R2
// cold tier under a small hot budget, so that old points read pages from R2.
//
// The suite runs seed 1, so that its result is the code's, not the draw's;
// HISTORY_MODEL_SEED=<n> runs another (a failure prints its seed), =random draws one;
// HISTORY_MODEL_STEPS=<n> makes it longer (the cold run takes half as many: each of
// its steps reads a database larger than the hot budget).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureRuntime, createClient, tenant, seededRandom } from './harness.js';
import { tag, untag } from './fixtures/tagged.js';
import { dumpAt, mustDump, userView, firstDifference, BALLAST } from './history-model-dump.js';
import { randomWrite, createBallast, ballastWrite, below, pick } from './history-model-workload.js';
import { CHECKPOINT_ROWS } from '../../worker-shim/src/config.js';
import { assertSameDump, checkReadAsOf, checkExport, checkBranch, checkDiff, checkTooOld } from './history-model-checks.js';

const SEED = process.env.HISTORY_MODEL_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.HISTORY_MODEL_SEED ?? 1);
const STEPS = Number(process.env.HISTORY_MODEL_STEPS ?? 180);

/** @type {string[]} */
const recent = [];

/**
 * A database of the runtime, as history-model-checks.js's Target.
 * @param {ReturnType<typeof fixtureRuntime>} runtime @param {string} name
 * @returns {import('./history-model-checks.js').Target}
 */
function target(runtime, name) {
  const base = `http://localhost/sql/${name}`;
  const client = createClient((path, init) => runtime.fetch(`${base}${path}`, init));
  return {
    name,
    async post(path, body, init) {
      const a = await client.post(path, body, init);
      // The last requests, for a failure's message.
      recent.push(`${name} ${path} ${body instanceof Uint8Array ? `${body.length} bytes` : JSON.stringify(body).slice(0, 160)}${init?.headers?.['X-DoSQL-Transaction'] ? ' (in tx)' : ''} -> ${a.status} ${a.text.slice(0, 160)}`);
      if (recent.length > 12) recent.shift();
      return a;
    },
    async exportFile(asOf) {
      const r = await runtime.fetch(`${base}/export?asOf=${encodeURIComponent(String(asOf))}`);
      const bytes = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, bytes, text: r.status === 200 ? `${bytes.length} bytes` : new TextDecoder().decode(bytes) };
    },
    async rpc(method, args) {
      const r = await runtime.fetch(`${base}/__rpc`, { method: 'POST', body: JSON.stringify(tag({ method, args })) });
      const answer = await r.json();
      if (answer.error) throw Object.assign(new Error(`${method}: ${answer.error.message}`), answer.error);
      return untag(answer.value);
    },
    other: (other) => target(runtime, other),
  };
}

/**
 * The workload and its checks on one runtime.
 * @param {ReturnType<typeof fixtureRuntime>} runtime
 * @param {{cold: boolean, seed: number, steps: number, log: (line: string) => void}} options
 */
async function runModel(runtime, { cold, seed, steps, log }) {
  const rnd = seededRandom(seed);
  const db = target(runtime, tenant('model'));
  const scratch = target(runtime, tenant('scratch'));
  const names = { next: 1 };
  /** @type {string[]} what each step did, for a failure's message */
  const trail = [];
  /** @type {import('./history-model-checks.js').Point[]} points of the present history (since the last import) */
  let points = [];
  const history = async () => {
    const h = await db.post('/history', {});
    assert.equal(h.status, 200, h.text);
    return h.body;
  };
  /** Points to restore or import: in the cold run, not one before the ballast, which keeps pages in R2. */
  const targets = (/** @type {import('./history-model-checks.js').Point[]} */ kept) => {
    const some = cold ? kept.filter((p) => BALLAST in p.dump.tables) : kept;
    return some.length > 0 ? some : kept;
  };
  let branches = 0;
  const branchName = () => `${db.name}-b${++branches}`;

  /**
   * Record the step's commit, or check that a step that made none changed nothing.
   * DoSQL commits on its own too (the change log's pruning, docs/changes.md): such a
   * commit is a point like any other, and may change only DoSQL's own tables.
   */
  const record = async (/** @type {number} */ step, /** @type {boolean} */ committed) => {
    const { current } = await history();
    const dump = await mustDump(db.post);
    const last = points[points.length - 1];
    if (last && current.lsn === last.lsn) {
      assertSameDump(dump, last.dump, `step ${step} changed the database without a commit (lsn ${current.lsn})`);
      return;
    }
    if (last && !committed) {
      assertSameDump(userView(dump), userView(last.dump), `step ${step} made no commit of its own, yet lsn went ${last.lsn} -> ${current.lsn} and the user's tables changed`);
      trail.push(`   a commit of DoSQL's own: lsn ${last.lsn} -> ${current.lsn}`);
      log(`step ${step}: a commit of DoSQL's own, lsn ${last.lsn} -> ${current.lsn}: ${firstDifference(dump, last.dump)?.slice(0, 300)}`);
    }
    points.push({ step, lsn: current.lsn, bookmark: current.bookmark, dump });
  };

  /** The points history still keeps, and those it no longer does. */
  const windowed = async () => {
    await record(-1, false);
    const { oldest } = await history();
    return { kept: points.filter((p) => p.lsn >= oldest.lsn), gone: points.filter((p) => p.lsn < oldest.lsn) };
  };

  /** Check `n` random points, a diff with and without tables, and (now and then) a branch. */
  const sample = async (/** @type {number} */ n) => {
    const { kept, gone } = await windowed();
    for (let i = 0; i < n && kept.length; i++) {
      const p = pick(rnd, kept);
      await checkReadAsOf(db, p);
      if (i === 0) await checkExport(db, scratch, p);
    }
    if (kept.length > 1) {
      const [a, b] = [pick(rnd, kept), pick(rnd, kept)].sort((x, y) => x.lsn - y.lsn);
      await checkDiff(db, a, b, undefined);
      const names = [...new Set([...Object.keys(userView(a.dump).tables), ...Object.keys(userView(b.dump).tables)])];
      const some = names.filter(() => rnd() < 0.5);
      if (some.length) await checkDiff(db, a, b, some.map((s) => (rnd() < 0.5 ? s.toUpperCase() : s)));
    }
    if (kept.length && rnd() < 0.5) await checkBranch(db, pick(rnd, kept), branchName());
    if (gone.length) await checkTooOld(db, pick(rnd, gone), branchName());
  };

  let imports = 0;
  await record(0, true);
  const ballastRows = 2400;
  let ballastVersion = 0;
  if (cold) {
    // Megabytes under a 1 MiB hot budget: most pages move to R2 at the next upkeep.
    const made = await db.post('/transaction', { operations: createBallast(ballastRows).map((s) => ({ type: 'run', ...s })) });
    assert.equal(made.status, 200, made.text);
    await record(0, true);
    const m = await runtime.fetch(`http://localhost/sql/${db.name}/__maintain`);
    assert.equal(m.status, 200, await m.text());
  }
  /** One step of the workload, and the record of what it left. @param {number} step */
  const runStep = async (step) => {
    const roll = rnd();
    const present = points[points.length - 1].dump;
    let committed = true;
    if (roll < 0.66) {
      const statements = cold && rnd() < 0.3 ? [ballastWrite(rnd, ballastRows, ++ballastVersion)] : randomWrite(rnd, present, names);
      trail.push(`${step}: write ${JSON.stringify(statements).slice(0, 200)}`);
      const a = statements.length === 1
        ? await db.post('/run', statements[0])
        : await db.post('/transaction', { operations: statements.map((s) => ({ type: 'run', ...s })) });
      if (a.status !== 200) {
        trail.push(`   refused ${a.text.slice(0, 200)}`);
        committed = false;
      }
    } else if (roll < 0.76) {
      const rollback = rnd() < 0.4;
      trail.push(`${step}: interactive transaction, ${rollback ? 'rolled back' : 'committed'}`);
      const begun = await db.post('/begin', {});
      assert.equal(begun.status, 200, begun.text);
      const inTx = { headers: { 'Content-Type': 'application/json', 'X-DoSQL-Transaction': begun.body.txId } };
      // With the cold tier a page fault inside the transaction rolls it back:
      // 503 TRANSACTION_ABORTED, retry it (docs/storage.md). Then it committed nothing.
      const aborted = (/** @type {{body: any}} */ a) => a.body?.code === 'TRANSACTION_ABORTED';
      let seen = present;
      let ended = false;
      for (let i = 0, n = 1 + below(rnd, 3); i < n && !ended; i++) {
        for (const s of randomWrite(rnd, seen, names)) {
          const a = await db.post('/run', s, inTx);
          trail.push(`   ${JSON.stringify(s).slice(0, 200)}: ${a.status} ${a.text.slice(0, 200)}`);
          if (aborted(a)) ended = true;
          if (ended) break;
        }
        if (ended) break;
        const inside = await dumpAt((path, body) => db.post(path, body, inTx));
        if ('refused' in inside) {
          assert.equal(inside.refused.code, 'TRANSACTION_ABORTED', inside.refused.text);
          ended = true;
        } else seen = inside.dump;
      }
      if (ended) {
        trail.push('   aborted by a page fault');
        committed = false;
      } else {
        const end = await db.post(rollback ? '/rollback' : '/commit', {}, inTx);
        if (!rollback && aborted(end)) trail.push(`   commit aborted: ${end.text}`);
        else assert.equal(end.status, 200, end.text);
        committed = !rollback && end.status === 200;
      }
    } else if (roll < 0.84) {
      const statements = randomWrite(rnd, present, names);
      const failing = { sql: 'INSERT INTO no_such_table VALUES (1)' };
      const viaBatch = rnd() < 0.5;
      trail.push(`${step}: ${viaBatch ? '/batch' : '/transaction'} failing after ${statements.length} statements`);
      const a = viaBatch
        ? await db.post('/batch', { operations: [...statements, failing] })
        : await db.post('/transaction', { operations: [...statements, failing].map((s) => ({ type: 'run', ...s })) });
      assert.equal(a.status, 400, a.text);
      committed = false;
    } else if (roll < 0.92) {
      const { kept } = await windowed();
      const to = pick(rnd, targets(kept));
      trail.push(`${step}: restore to ${to.lsn} (step ${to.step})`);
      const restored = await db.post('/restore', { to: to.lsn });
      assert.equal(restored.status, 200, restored.text);
      await record(step, true);
      assertSameDump(userView(points[points.length - 1].dump), userView(to.dump), `restore to ${to.lsn} (step ${to.step}) at step ${step}`);
      if (rnd() < 0.3) {
        const undone = points[points.length - 2];
        trail.push(`${step}: undo the restore: restore to ${restored.body.before.lsn}`);
        assert.equal(restored.body.before.lsn, undone.lsn, 'the restore\'s before is the point it left');
        const undo = await db.post('/restore', { to: restored.body.before.lsn });
        // With the cold tier, a restore that shrank the database past pages R2 holds raised
        // history's floor to itself (docs/storage-format.md): the point before it is gone.
        const { oldest } = await history();
        if (cold && oldest.lsn > undone.lsn) {
          trail.push(`${step}:   gone: the restore raised the floor to ${oldest.lsn}`);
          assert.equal(undo.body.code, 'POINT_TOO_OLD', undo.text);
          return;
        }
        assert.equal(undo.status, 200, undo.text);
        await record(step, true);
        assertSameDump(userView(points[points.length - 1].dump), userView(undone.dump), `undoing the restore at step ${step}`);
      }
      return;
    } else if (roll < 0.935 && imports < 1 && step > steps * 0.6) {
      imports++;
      const { kept } = await windowed();
      // Every point the import will make unnameable, read back first.
      for (const p of kept) await checkReadAsOf(db, p);
      const from = pick(rnd, targets(kept).filter((p) => Object.keys(userView(p.dump).tables).length > 0)) ?? kept[kept.length - 1];
      trail.push(`${step}: import the export of ${from.lsn} (step ${from.step})`);
      const file = await db.exportFile(from.lsn);
      assert.equal(file.status, 200, file.text);
      const imported = await db.post('/import', file.bytes);
      assert.equal(imported.status, 200, imported.text);
      // History starts again at an import, numbered after it: the earlier points are too old.
      const replaced = points;
      points = [];
      await record(step, true);
      assertSameDump(userView(points[0].dump), userView(from.dump), `import of the export of ${from.lsn}`);
      assert.ok(points[0].lsn > replaced[replaced.length - 1].lsn, `the import's lsn ${points[0].lsn} follows the replaced database's`);
      await checkTooOld(db, replaced[replaced.length - 1], branchName());
      return;
    } else if (roll < 0.95) {
      trail.push(`${step}: restart`);
      await runtime.restart();
      committed = false;
    } else {
      trail.push(`${step}: commits until a checkpoint`);
      // Enough one-row commits that the log folds (CHECKPOINT_ROWS) and is indexed (LOG_INDEX_ROWS) without a step each.
      const t = Object.keys(userView(present).tables)[0];
      if (t) {
        for (let i = 0; i < CHECKPOINT_ROWS / 4; i++) await db.post('/run', { sql: `UPDATE "${t}" SET _rowid_ = _rowid_ WHERE _rowid_ = ${i % 50}` });
        await db.post('/run', { sql: `DELETE FROM "${t}" WHERE _rowid_ = ${below(rnd, 50)}` });
      }
    }
    await record(step, committed);
    if (cold && step % 25 === 0) {
      const m = await runtime.fetch(`http://localhost/sql/${db.name}/__maintain`);
      assert.equal(m.status, 200, await m.text());
    }
    if (step % 40 === 0) await sample(3);
  };
  for (let step = 1; step <= steps; step++) {
    try {
      await runStep(step);
    } catch (err) {
      /** @type {Error} */ (err).message += `\n  at step ${step}, after:\n  ${trail.slice(-10).join('\n  ')}\n  the last requests:\n  ${recent.join('\n  ')}`;
      throw err;
    }
  }

  // Every point still in the window, read back; a sample of the rest.
  const { kept, gone } = await windowed();
  const { storage } = await (await runtime.fetch(`http://localhost/sql/${db.name}/stats`)).json();
  log(`checkpoints ${storage?.checkpoints}, R2 reads ${storage?.r2Reads ?? 0}, groups in R2 ${storage?.coldGroups ?? 0}`);
  log(`${points.length} points since the last import, ${kept.length} in the window (lsn ${kept[0]?.lsn}..${points[points.length - 1].lsn}), ${gone.length} before it`);
  // Each phase says when it is done: a run that times out shows the last one that finished.
  for (const p of kept) await checkReadAsOf(db, p);
  log('read back: every point in the window');
  for (let i = 0; i < 4 && kept.length; i++) await checkExport(db, scratch, pick(rnd, kept));
  log('read back: exports');
  for (let i = 0; i < 3 && kept.length; i++) await checkBranch(db, pick(rnd, kept), branchName());
  log('read back: branches');
  for (let i = 0; i < 12 && kept.length > 1; i++) {
    const [a, b] = [pick(rnd, kept), pick(rnd, kept)].sort((x, y) => x.lsn - y.lsn);
    await checkDiff(db, a, b, undefined);
  }
  log('read back: diffs');
  for (let i = 0; i < 3 && gone.length; i++) await checkTooOld(db, pick(rnd, gone), branchName());
}

describe(`history against a model (HISTORY_MODEL_SEED=${SEED})`, () => {
  for (const cold of [false, true]) {
    describe(cold ? 'with the R2 cold tier' : 'on the hot tier', () => {
      const runtime = cold
        ? fixtureRuntime('history-model-cold', 'cold-worker.js', 'makeColdClasses', [[], { hotBytes: 1024 * 1024, groupPages: 16 }, {}], {}, { r2Buckets: ['COLD'] })
        : fixtureRuntime('history-model', 'dosql-worker.js', 'makeClasses', [[], { history: { maxBytes: 256 * 1024 } }]);
      before(() => runtime.start());
      after(() => runtime.destroy());

      test('every point reads, exports, branches and diffs as the model recorded it', { timeout: 300_000 }, async (t) => {
        try {
          await runModel(runtime, { cold, seed: SEED, steps: cold ? Math.ceil(STEPS / 2) : STEPS, log: (line) => t.diagnostic(line) });
        } catch (err) {
          /** @type {Error} */ (err).message = `HISTORY_MODEL_SEED=${SEED}${cold ? ' (cold tier)' : ''}: ${/** @type {Error} */ (err).message}`;
          throw err;
        }
      });
    });
  }
});
