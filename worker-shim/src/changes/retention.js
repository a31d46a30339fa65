// changes/retention.js — how long the change log keeps events, and the alarm that prunes
// it (docs/changes.md, "Retention").
//
// C prunes (internal POST /changes/prune: the newest keepEvents events younger than
// keepMs stay, and always the newest one; at most DOSQL_PRUNE_BATCH per call). This
// file decides when:
//
// - after a commit, an alarm is due at most ALARM_DELAY_MS ahead. Where it stands is
//   remembered, so a commit costs a storage call only when it is not known to be
//   near enough (a run's first commit, or the first after the alarm ran);
// - the alarm prunes until C has no more to delete, then, only while the log holds
//   more than one event, sets the next for when the oldest turns retainMs old (not
//   sooner than ALARM_DELAY_MS). An idle object with a small log costs no alarms.
//
// An alarm is only ever moved earlier, so one the class's own code set earlier
// stays (its alarm() calls ours). A class without alarm() (one's own around DB())
// cannot set one: pruning then runs after commits, at most once per ALARM_DELAY_MS.

import { messageOf, valueOf } from '../durable-object/response.js';
import { DEFAULT_RETAIN_EVENTS, DEFAULT_RETAIN_MS, DEFAULT_RETAIN_BYTES, ALARM_DELAY_MS } from '../config.js';
import { checkKeys } from '../option-keys.js';

const encoder = new TextEncoder();
/** The furthest ahead an alarm is set: a year. */
const MAX_ALARM_AHEAD_MS = 365 * 24 * 60 * 60 * 1000;

/** @typedef {import('../durable-object/response.js').EngineResponse} EngineResponse */

/** @typedef {{retainEvents: number, retainMs: number, retainBytes: number, tables?: unknown}} RetentionSettings  tables: C checks it (POST /changes/capture) */
/** @typedef {{deleted: number, remaining: number, oldestTimestamp: number | null, more: boolean}} PruneResult */

/**
 * The `changes` setting, checked: false (no capture), or retention with defaults
 * filled in, and `tables` as given (the engine checks it, src/changelog.h).
 * Throws a TypeError saying what is wrong.
 * @param {unknown} value  undefined, false, or {retainEvents?, retainMs?, retainBytes?, tables?}
 * @returns {false | RetentionSettings}
 */
export function checkChanges(value) {
  if (value === false) return false;
  if (value === undefined || value === null || value === true) {
    return Object.freeze({ retainEvents: DEFAULT_RETAIN_EVENTS, retainMs: DEFAULT_RETAIN_MS, retainBytes: DEFAULT_RETAIN_BYTES });
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`changes must be false or {retainEvents?, retainMs?, retainBytes?, tables?}; got ${JSON.stringify(value)}`);
  }
  checkKeys(value, ['retainEvents', 'retainMs', 'retainBytes', 'tables'], 'changes');
  const { retainEvents = DEFAULT_RETAIN_EVENTS, retainMs = DEFAULT_RETAIN_MS, retainBytes = DEFAULT_RETAIN_BYTES, tables } = /** @type {any} */ (value);
  for (const [name, n] of [['retainEvents', retainEvents], ['retainMs', retainMs], ['retainBytes', retainBytes]]) {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new TypeError(`changes.${name} must be a whole number >= 0; got ${JSON.stringify(n)}`);
    }
  }
  return Object.freeze({ retainEvents, retainMs, retainBytes, ...(tables !== undefined && { tables }) });
}

export class Retention {
  #settings;
  #storage;
  #prune;
  #log;
  /** When the alarm is set for (ms); null: none; undefined: not known yet. @type {number | null | undefined} */
  #alarmAt = undefined;
  /** Alarm changes, one at a time. @type {Promise<void>} */
  #tail = Promise.resolve();
  /** Set when no alarm can be set: prune after commits, not before this time (ms). @type {number | null} */
  #pruneInlineAfter = null;

  /**
   * @param {{settings: RetentionSettings, storage: any, prune: (body: Uint8Array) => Promise<EngineResponse>,
   *   log: (...args: unknown[]) => void}} options  storage: ctx.storage; prune: POST /changes/prune through the gate
   */
  constructor({ settings, storage, prune, log }) {
    this.#settings = settings;
    this.#storage = storage;
    this.#prune = prune;
    this.#log = log;
  }

  /** A request committed: make sure the log is pruned within ALARM_DELAY_MS. Never waits, never throws. */
  committed() {
    const now = Date.now();
    const soon = now + ALARM_DELAY_MS;
    if (this.#pruneInlineAfter !== null) {
      if (now < this.#pruneInlineAfter) return;
      this.#pruneInlineAfter = soon;
      this.#pruneAll().catch((err) => this.#log('pruning the change log failed:', err));
      return;
    }
    if (typeof this.#alarmAt === 'number' && this.#alarmAt <= soon) return;
    this.#schedule(soon).catch((err) => {
      this.#pruneInlineAfter = now; // the next commit prunes
      this.#log(
        `could not set the alarm that prunes the change log (${messageOf(err)}), so it is pruned after ` +
          'commits instead. A class of your own can give it an alarm: alarm() { return db.alarm(); } (docs/changes.md, "Retention").',
      );
    });
  }

  /** Prune, then set the next alarm if the log will need one. @returns {Promise<PruneResult>}  the last prune's answer */
  async alarm() {
    // It fired; but the class's own alarm() may have set the next one already.
    this.#alarmAt = undefined;
    const result = await this.#pruneAll();
    if (result.remaining > 1 && result.oldestTimestamp !== null) {
      await this.#schedule(Math.max(result.oldestTimestamp + this.#settings.retainMs, Date.now() + ALARM_DELAY_MS));
    }
    return result;
  }

  /** Prune until C has no more to delete. @returns {Promise<PruneResult>} the last answer */
  async #pruneAll() {
    let result;
    do result = await this.prune();
    while (result.more);
    return result;
  }

  /** One prune call (at most DOSQL_PRUNE_BATCH events); throws when it fails. @returns {Promise<PruneResult>} */
  async prune() {
    const { retainEvents, retainMs, retainBytes } = this.#settings;
    const answer = await this.#prune(encoder.encode(JSON.stringify({ keepEvents: retainEvents, keepMs: retainMs, keepBytes: retainBytes })));
    const value = valueOf(answer);
    if (answer.status !== 200) throw new Error(`pruning the change log failed (${answer.status}): ${value.error} (${value.code})`);
    return { deleted: value.deleted, remaining: value.remaining, oldestTimestamp: value.oldestTimestamp ?? null, more: value.more === true };
  }

  /**
   * Have the alarm go off at `at` or sooner: at most MAX_ALARM_AHEAD_MS ahead (a
   * retainMs of centuries names a date the runtime refuses; an alarm that fires
   * early prunes nothing and sets the next).
   * @param {number} at
   */
  #schedule(at) {
    at = Math.min(at, Date.now() + MAX_ALARM_AHEAD_MS);
    const run = this.#tail.then(async () => {
      if (this.#alarmAt === undefined) this.#alarmAt = await this.#storage.getAlarm();
      if (typeof this.#alarmAt === 'number' && this.#alarmAt <= at) return;
      await this.#storage.setAlarm(at);
      this.#alarmAt = at;
    });
    this.#tail = run.catch(() => {});
    return run;
  }
}
