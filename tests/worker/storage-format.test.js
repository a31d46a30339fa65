// storage-format.test.js — the page log over packed groups (worker-shim/src/storage/sql.js,
// docs/storage-format.md), alone in a real SQLite-backed Durable Object
// (fixtures/page-store-worker.js): against a model under random commits, reopenings
// and failing transactions; the upgrade from the first format, also when a write of it
// fails, and the fence that keeps first-format releases out after it; and the rows a
// commit writes.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fixtureRuntime } from './harness.js';
import { CHECKPOINT_ROWS, LOG_INDEX_ROWS, LOG_SLOTS } from '../../worker-shim/src/config.js';

describe('storage format: a page log over packed groups', () => {
  const runtime = fixtureRuntime('page-store', 'page-store-worker.js', 'makePageStoreClasses', []);
  before(() => runtime.start());
  after(() => runtime.destroy());

  /** @param {string} method @param {unknown[]} args */
  const call = async (method, ...args) => {
    const answer = await runtime.fetch(`http://localhost/sql/${randomUUID()}/${method}`, { method: 'POST', body: JSON.stringify(args) });
    const body = await answer.json();
    assert.equal(answer.status, 200, body.error);
    return body;
  };

  // Seeds 5..8 keep no group in memory, so that a checkpoint's groups are read from
  // storage (whole, or only the pages it replaces in place); 5 and 6 keep no log row
  // either, 7 and 8 a few (rows leave the cache and come back, slots are reused).
  const caches = { cached: {}, 'nothing kept': { cacheBytes: 0, logCacheBytes: 0 }, 'a few log rows kept': { cacheBytes: 0, logCacheBytes: 6000 } };
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const caching = seed <= 4 ? 'cached' : seed <= 6 ? 'nothing kept' : 'a few log rows kept';
    test(`every page reads as the model says, now and as of past lsns, through checkpoints, log wrap-around, large commits, truncation, failed commits, restores, reopening and page deltas (seed ${seed}, ${caching})`, async () => {
      const { problems, kinds, deltaPages, oldestLsn, lsn } = await call('modelRun', seed, 1000, caches[caching]);
      assert.deepEqual(problems, []);
      assert.ok(deltaPages > 100, `log rows kept many pages as deltas (${deltaPages})`);
      for (const [kind, n] of Object.entries(kinds)) assert.ok(n > 0, `the run had no ${kind} step`);
      assert.ok(oldestLsn > 0 && lsn - oldestLsn >= 10, `history moved on with the ring and kept some (${oldestLsn}..${lsn})`);
    });
  }

  test('a database of the first format is upgraded on open, holes included', async () => {
    const result = await call('upgradeRun', 300, 0);
    assert.deepEqual(result, { failed: false, writes: result.writes, problems: [], oldTableLeft: false, pageSize: 1024 });
    assert.ok(result.writes > 5, `the upgrade took several steps (${result.writes} writes)`);
  });

  for (const how of ['upgraded', 'new', 'imported']) {
    test(`a first-format release cannot read or write a database this format ${how === 'upgraded' ? 'upgraded' : how === 'new' ? 'made' : 'imported'}`, async () => {
      const { firstFormat } = await call('fenceRun', how, false);
      const [open, ...rest] = firstFormat;
      assert.equal(open, null, 'its CREATE TABLE IF NOT EXISTS passes');
      for (const read of rest.slice(0, 3)) assert.match(String(read), /a later release has upgraded this database; deploy it again/);
      assert.match(String(rest[3]), /cannot modify dosql_pages because it is a view/);
    });
  }

  for (const commitAfter of [false, true]) {
    test(`pages a first-format release wrote after an upgrade are refused, not upgraded over (${commitAfter ? 'a commit' : 'no commit'} after the upgrade)`, async () => {
      const { refusals, problems } = await call('fenceRun', 'upgraded', commitAfter);
      for (const refusal of refusals) assert.match(String(refusal), /dosql_pages holds pages a first-format release wrote after a later one had upgraded/);
      assert.deepEqual(problems, [], 'the upgraded pages are as they were');
    });
  }

  test('a database of format 2 (whole pages only) opens, reads as written now and in the past, takes deltas, and is fenced from releases before deltas', async () => {
    const { problems, fenced, format, deltaPages, oldestLsn, lsn } = await call('formatTwoRun', 5);
    assert.deepEqual(problems, []);
    assert.equal(fenced, true, "a release before deltas reads page_size: it must find no such column");
    assert.equal(format, 3);
    assert.ok(deltaPages > 0, 'commits after the upgrade wrote deltas');
    assert.ok(oldestLsn <= 5 && lsn === 25, `history still reaches the format-2 rows (${oldestLsn}..${lsn})`);
  });

  test('a database of this format from before history (no ring size, no floor, no history table) opens and keeps working', async () => {
    const { problems, logSlots, historyBack, lsn } = await call('preHistoryRun', 100);
    assert.deepEqual({ problems, logSlots, lsn }, { problems: [], logSlots: 1024, lsn: 100 });
    assert.ok(historyBack > 0 && historyBack < 100, `history reaches back to the last checkpoint only (${historyBack} commits)`);
  });

  test('an upgrade whose write fails resumes on the next open and loses nothing', async () => {
    const { writes } = await call('upgradeRun', 300, 0);
    for (let failAt = 1; failAt <= writes; failAt++) {
      const result = await call('upgradeRun', 300, failAt);
      assert.equal(result.failed, true, `write ${failAt} of ${writes} failed the open`);
      assert.deepEqual(result.problems, [], `write ${failAt} failed`);
      assert.equal(result.oldTableLeft, false);
    }
  });

  test('a one-page commit writes one row; every LOG_INDEX_ROWS rows one more, the log index; a checkpoint adds a row per group it rewrites, the history segment and the state row', async () => {
    const commits = 2 * CHECKPOINT_ROWS + LOG_INDEX_ROWS + 10;
    const { rowsWritten, checkpoints } = await call('rowsPerCommit', commits, 3);
    assert.equal(checkpoints, 2, `one checkpoint per ${CHECKPOINT_ROWS} commits`);
    // The index at each multiple of LOG_INDEX_ROWS rows into a span, but where a checkpoint is.
    const indexes = 2 * (CHECKPOINT_ROWS / LOG_INDEX_ROWS - 1) + 1;
    // The log rows; per checkpoint one group row, one segment row and the state row; the first commit's state row.
    assert.equal(rowsWritten, commits + indexes + checkpoints * 3 + 1);
  });

  test('a commit whose log index would pass the 2 MB a value may hold (512-byte pages, 16,000 of them, long delta chains) folds the log instead of failing', async () => {
    const { errors, problems, lsn, checkpoints } = await call('wideDeltaRun', 512, 16000, 40);
    assert.deepEqual(errors, []);
    assert.deepEqual(problems, []);
    assert.equal(lsn, 40);
    assert.ok(checkpoints > 0, 'the log was folded where its index would have been too large');
  });

  for (const indexed of [false, true]) {
    test(`a truncation that raised history's floor in its commit, the first after a checkpoint, is still one after reopening (${indexed ? 'with' : 'without'} a log index)`, async () => {
      const { problems } = await call('floorTruncateRun', indexed);
      assert.deepEqual(problems, []);
    });
  }

  test('reading the pages of a commit of many pages reads each of its log rows once, and each history row that keeps them once', async () => {
    const { problems, logRows, nowRows, historyRows, pastRows } = await call('wholeRowReads', 20);
    assert.deepEqual(problems, []);
    assert.ok(logRows >= 5, `the commit took several log rows (${logRows})`);
    assert.equal(nowRows, logRows, 'a read of all its pages read each log row once');
    assert.ok(historyRows >= 5 && pastRows <= historyRows, `a read of all its pages as of then read ${pastRows} rows, of the ${historyRows} history holds`);
  });

  test('an open reads the log index and the log rows after it, not every row since the checkpoint', async () => {
    const near = await call('openReads', LOG_INDEX_ROWS + 10, 3);
    const far = await call('openReads', 3 * LOG_INDEX_ROWS + 10, 3);
    assert.ok(3 * LOG_INDEX_ROWS + 10 < CHECKPOINT_ROWS, 'no checkpoint in either');
    assert.equal(far.openRows, near.openRows, `an open read ${near.openRows} rows ${LOG_INDEX_ROWS + 10} rows after a checkpoint and ${far.openRows} ${3 * LOG_INDEX_ROWS + 10} rows after`);
  });

  test('an open of a database whose log ring has come round reads no more log rows than one whose ring has not', async () => {
    const fresh = await call('openReads', LOG_INDEX_ROWS + 10, 3);
    // As many rows after the last index, after the ring's slots were all written.
    const wrapped = await call('openReads', LOG_SLOTS + 2 * CHECKPOINT_ROWS + LOG_INDEX_ROWS + 10, 3);
    // The slots after the span's last row hold older rows: a read of them stops at the first, but
    // its query has read them all. As many as LOG_INDEX_ROWS, as before the index (256 then).
    assert.ok(wrapped.openRows - fresh.openRows <= LOG_INDEX_ROWS, `an open read ${fresh.openRows} rows of a fresh ring, ${wrapped.openRows} of one come round`);
  });

  test('history no point can read (below the floor the cold tier raised) is deleted at the checkpoint, not kept to its window', async () => {
    const kept = await call('floorPruneRun', false);
    const raised = await call('floorPruneRun', true);
    assert.ok(kept.checkpoints >= 4 && raised.checkpoints === kept.checkpoints, `checkpoints ${kept.checkpoints}, ${raised.checkpoints}`);
    assert.ok(kept.historyRows >= 4 && kept.historyBack > 0, `history kept as usual: ${JSON.stringify(kept)}`);
    // At most the rows of the span checkpointed in the commit that raised the floor past it.
    assert.equal(raised.historyBack, 0);
    assert.ok(raised.historyRows <= 2 && raised.historyRows < kept.historyRows / 2, `history rows kept below the floor: ${JSON.stringify({ kept, raised })}`);
  });

  test('a ring holds at least four spans: history keeps three before the current one, whatever checkpoint interval is asked for', async () => {
    // A ring of 40 rows: a checkpoint every 10, though 100 is asked for.
    const { checkpoints, historyBack } = await call('smallRingRun', 65);
    assert.equal(checkpoints, 6);
    assert.ok(historyBack >= 30, `history reaches ${historyBack} commits back`);
  });

  test('an instance opened from the log index writes the log, groups, state and history as one that never reopened', async () => {
    const { problems, checkpoints } = await call('reopenedWritesRun', 7, 300);
    assert.deepEqual(problems, []);
    assert.ok(checkpoints > 10, `the commits passed many checkpoints (${checkpoints})`);
  });

  test('an index that is not of the log (another log\'s commit, or one checkpointed since), or cannot be read, is passed over, and the log read whole', async () => {
    const { problems, opens } = await call('foreignIndexRun');
    assert.deepEqual(problems, []);
    assert.equal(opens, 4);
  });

  test('an open reads no history: its rows do not grow with the checkpoints kept, and history reads them when first asked', async () => {
    // 10 log rows since the last checkpoint either way; 5 history segments, then 10.
    const five = await call('openReads', 5 * CHECKPOINT_ROWS + 10, 3);
    const ten = await call('openReads', 10 * CHECKPOINT_ROWS + 10, 3);
    assert.equal(ten.openRows, five.openRows, `an open read ${five.openRows} rows after 5 checkpoints and ${ten.openRows} after 10`);
    assert.equal(ten.historyRows - five.historyRows, 5, 'history read one row per segment');
  });
});
