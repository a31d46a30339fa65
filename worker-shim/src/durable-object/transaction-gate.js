// durable-object/transaction-gate.js — the gate of interactive transactions (docs/transactions.md).
//
// C owns the mechanism (BEGIN IMMEDIATE, statements inside, COMMIT/ROLLBACK); this
// file owns the policy:
//
// - at most one open transaction per object, named by a txId (crypto.randomUUID());
// - every request not of it (readers, writers, another /begin) waits, first in first
//   out, until it ends: nobody sees uncommitted rows, and the engine never gets a
//   request without the flag while a transaction is open;
// - an idle timer, stopped while a request of the transaction runs: when it fires
//   the transaction is rolled back, so a client that went away never wedges the object;
// - 409 TRANSACTION_EXPIRED for ended transactions, naming why, from a bounded memory.
//
// A transaction is opened by /begin, or by a session: a libSQL (Hrana) pipeline whose
// stream runs its own BEGIN (durable-object/hrana.js), which holds the gate while it
// runs and keeps it as the open transaction when C's answer says the stream holds one.
//
// No workerd here: the engine is anything with request(method, path, body,
// {inTransaction, internal}), and timers and ids can be given, so tests run this in
// Node with a fake engine.

import { jsonResponse, valueOf } from './response.js';
import { hostError } from '../wasm/contract.js';
import { ENDED_MEMORY, IDLE_GRACE_MS, IDLE_LATE_MS, WAITING_MAX_BYTES, WAITING_MAX_REQUESTS } from '../config.js';

const decoder = new TextDecoder();

/** @typedef {import('./response.js').EngineResponse} EngineResponse */
/** @typedef {Uint8Array | {oversized: number}} Body */

/**
 * @typedef {object} GateEngine
 * @property {(method: string, path: string, body: Body, options?: {inTransaction?: boolean, internal?: boolean}) => EngineResponse | Promise<EngineResponse>} answer
 *   the response, or its promise (wasm/engine.js Engine.answer)
 * @property {import('../wasm/contract.js').Contract} contract
 */

/**
 * running: its requests in line or inside the engine now; last: settles when the last of them to
 * arrive has answered (null when none is in line), so each waits for the one before it.
 * @typedef {{id: string, timeoutMs: number, state: 'beginning' | 'open' | 'ended', running: number, timer: any,
 *   last: Promise<void> | null}} OpenTransaction
 */

export class TransactionGate {
  /** @type {() => GateEngine} */
  #engine;
  #setTimeout;
  #clearTimeout;
  #now;
  #randomUUID;
  #log;
  /** Holds the gate (beginning, open, or being rolled back). @type {OpenTransaction | null} */
  #tx = null;
  /** Requests not of the transaction admitted and not finished yet. */
  #active = 0;
  /** In arrival order. @type {{begin: boolean, admit: () => void}[]} */
  #waiting = [];
  /** Requests waiting their turn (in #waiting, or behind a request of their
   *  transaction), and the bytes of their bodies, which each holds while it waits. */
  #parked = { requests: 0, bytes: 0 };
  /** Ended txIds → why, oldest first (bounded). @type {Map<string, string>} */
  #ended = new Map();

  /**
   * @param {object} options
   * @param {() => GateEngine} options.engine  asked for on each call (it may be replaced after a failure)
   * @param {(fn: () => void, ms: number) => any} [options.setTimeout]
   * @param {(timer: any) => void} [options.clearTimeout]
   * @param {() => number} [options.now]  ms, for the idle timer's lateness
   * @param {() => string} [options.randomUUID]
   * @param {(...args: unknown[]) => void} [options.log]  for failures nobody awaits
   */
  constructor({ engine, setTimeout: set, clearTimeout: clear, now, randomUUID, log } = /** @type {any} */ ({})) {
    this.#engine = engine;
    this.#setTimeout = set ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
    this.#clearTimeout = clear ?? ((t) => globalThis.clearTimeout(t));
    this.#now = now ?? (() => Date.now());
    this.#randomUUID = randomUUID ?? (() => crypto.randomUUID());
    this.#log = log ?? ((...args) => console.error('[dosql]', ...args));
  }

  get #header() {
    return this.#engine().contract.transactionHeader;
  }

  /** No transaction holds the gate and nobody waits: a request may go at once. */
  get #free() {
    return this.#tx === null && this.#waiting.length === 0;
  }

  /** For tests and logs. */
  get openTransaction() {
    return this.#tx && this.#tx.state === 'open' ? this.#tx.id : null;
  }

  get waiting() {
    return this.#waiting.length;
  }

  /**
   * A request takes its place in the queue once its body is in, so an upload that
   * stalls holds up only itself, never the requests behind it (nor, for a /begin,
   * the whole object).
   * @param {string} method @param {string} path @param {Body | Promise<Body>} body
   * @param {string | null} txId  the X-DoSQL-Transaction header
   * @param {{internal?: boolean}} [options]  the shim's own request (the log's prune, a subscriber's read), which waits its turn too
   * @returns {EngineResponse | Promise<EngineResponse>}  the response itself when the gate is free
   *   and the engine answers at once (#outside)
   */
  request(method, path, body, txId, options = {}) {
    if (body instanceof Promise) return body.then((ready) => this.request(method, path, ready, txId, options));
    const { internal = false } = options;
    if (internal) return this.#outside(method, path, body, { internal });
    if (txId !== null && txId !== undefined) return this.#inTransaction(method, path, body, txId);
    // Another method is C's 405, whatever the header.
    if ((path === '/commit' || path === '/rollback') && method === 'POST') {
      return Promise.resolve(
        hostError('BAD_REQUEST', `${path} needs the ${this.#header} header naming the transaction to end`, this.#engine().contract),
      );
    }
    if (path === '/begin') return this.#begin(method, body);
    return this.#outside(method, path, body);
  }

  /**
   * A request that may begin the transaction or end it, as its answer says: a Hrana
   * pipeline (src/hrana.h), whose stream opens and ends the transaction with its own
   * BEGIN and COMMIT. With txId (the open transaction, its stream's) it runs in it,
   * and ends it when its answer no longer holds(); without, it runs alone, as a
   * /begin does, and when its answer holds() the gate stays closed as the open
   * transaction, with an idle timer of timeoutMs. Sent with the internal flag.
   * @param {string} method @param {string} path @param {Body} body @param {string | null} txId
   * @param {{holds: (answer: EngineResponse) => boolean, timeoutMs: number}} options
   * @returns {Promise<EngineResponse>}
   */
  async session(method, path, body, txId, { holds, timeoutMs }) {
    const options = { internal: true };
    if (txId !== null) {
      return this.#inTransaction(method, path, body, txId, { ...options, ends: (a) => (a.status === 200 && !holds(a) ? 'ended by its stream' : null) });
    }
    const { answer } = await this.#alone(method, path, body, options, (a) => (holds(a) ? timeoutMs : null));
    return answer;
  }

  /** The engine broke (and will be started again): C's transaction went with it. @param {string} why */
  abort(why) {
    const tx = this.#tx;
    if (tx && tx.state !== 'ended') this.#end(tx, `aborted: ${why}`);
  }

  /**
   * Hold the gate alone, as a transaction does, for work outside the engine that
   * must see one committed state (an export). Waits its turn like a /begin.
   * @returns {Promise<() => void>}  releases the gate (idempotent)
   */
  async hold() {
    await this.#turn(true);
    const held = this.#tx;
    return () => {
      if (this.#tx !== held) return;
      this.#tx = null;
      this.#pump();
    };
  }

  // ---- requests outside the transaction ----------------------------------------

  /**
   * A request outside the transaction: in turn when the gate is held or others wait,
   * else straight to the engine, answered at once when the engine answers at once
   * (Engine.answer).
   * @param {string} method @param {string} path @param {Body} body @param {{internal?: boolean}} [options]
   * @returns {EngineResponse | Promise<EngineResponse>}
   */
  #outside(method, path, body, options) {
    if (!this.#free) return this.#outsideInTurn(method, path, body, options);
    this.#active++;
    /** @type {EngineResponse | Promise<EngineResponse>} */
    let answer;
    try {
      answer = this.#engine().answer(method, path, body, options);
    } catch (err) {
      this.#leave();
      throw err;
    }
    if (answer instanceof Promise) return answer.finally(() => this.#leave());
    this.#leave();
    return answer;
  }

  /** @param {string} method @param {string} path @param {Body} body @param {{internal?: boolean}} [options] */
  async #outsideInTurn(method, path, body, options) {
    const refused = await this.#waitCounted(body, options?.internal ?? false, () => this.#turn(false));
    if (refused) return refused;
    try {
      return await this.#engine().answer(method, path, body, options);
    } finally {
      this.#leave();
    }
  }

  /**
   * Wait (wait()) as a request holding body, counted among those waiting, unless that
   * passes WAITING_MAX_REQUESTS or WAITING_MAX_BYTES (config.js): then the answer that
   * refuses it, having waited for nothing; else null. The isolate's memory is shared
   * with other objects, and a client holding a transaction open must not be able to
   * pile up bodies behind it. The shim's own requests always wait.
   * @param {Body} body @param {boolean} internal @param {() => Promise<void>} wait
   * @returns {Promise<EngineResponse | null>}
   */
  async #waitCounted(body, internal, wait) {
    const bytes = body instanceof Uint8Array ? body.length : 0;
    const parked = this.#parked;
    if (!internal && (parked.requests >= WAITING_MAX_REQUESTS || parked.bytes + bytes > WAITING_MAX_BYTES)) {
      return hostError('TOO_MANY_REQUESTS', `too many requests are waiting for this database (${WAITING_MAX_REQUESTS}, or ${WAITING_MAX_BYTES} bytes of their bodies), ` +
        'behind its open transaction or the requests before them: retry when fewer wait', this.#engine().contract);
    }
    parked.requests++;
    parked.bytes += bytes;
    try {
      await wait();
    } finally {
      parked.requests--;
      parked.bytes -= bytes;
    }
    return null;
  }

  /** A request admitted by #turn(false) has ended. */
  #leave() {
    this.#active--;
    this.#pump();
  }

  /**
   * POST /begin {timeoutMs?}: C checks the body and answers the idle timeout (and the
   * database's size); the gate keeps the timer and adds the transaction's id.
   * @param {string} method @param {Body} body @returns {Promise<EngineResponse>}
   */
  async #begin(method, body) {
    const { answer, tx } = await this.#alone(method, '/begin', body, undefined, (a) => valueOf(a).timeoutMs);
    return tx ? jsonResponse(200, { txId: tx.id, ...valueOf(answer) }) : answer;
  }

  /**
   * Run a request alone, after those admitted before it: the gate is ours (a
   * 'beginning' #tx) until it answers; then it stays closed as the open transaction
   * when opens(answer) gives its idle timeout, and is released on every other way out.
   * @param {string} method @param {string} path @param {Body} body
   * @param {{internal?: boolean} | undefined} options
   * @param {(answer: EngineResponse) => number | null} opens  asked of a 200 answer
   * @returns {Promise<{answer: EngineResponse, tx: OpenTransaction | null}>}
   */
  async #alone(method, path, body, options, opens) {
    const refused = await this.#waitCounted(body, false, () => this.#turn(true));
    if (refused) return { answer: refused, tx: null };
    const tx = /** @type {OpenTransaction} */ (this.#tx);
    let opened = false;
    try {
      const answer = await this.#engine().answer(method, path, body, options);
      const timeoutMs = answer.status === 200 ? opens(answer) : null;
      if (timeoutMs === null) return { answer, tx: null };
      tx.timeoutMs = timeoutMs;
      opened = true;
      tx.state = 'open';
      this.#arm(tx);
      return { answer, tx };
    } finally {
      if (!opened) {
        this.#tx = null;
        this.#pump();
      }
    }
  }

  /**
   * Ordinary requests go when no transaction holds the gate and nobody waits before
   * them; a /begin also waits until the requests admitted before it have finished,
   * so none of them reaches the engine after its BEGIN.
   * @param {boolean} begin @returns {Promise<void>}
   */
  #turn(begin) {
    if (!begin && this.#free) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#waiting.push({ begin, admit: resolve });
      this.#pump();
    });
  }

  /** Admit waiting requests in order, up to (and including) the next /begin. */
  #pump() {
    while (this.#tx === null && this.#waiting.length > 0) {
      const next = this.#waiting[0];
      if (next.begin) {
        if (this.#active > 0) return;
        this.#waiting.shift();
        this.#tx = { id: this.#newId(), timeoutMs: 0, state: 'beginning', running: 0, timer: null, last: null };
        next.admit();
        return;
      }
      this.#waiting.shift();
      this.#active++;
      next.admit();
    }
  }

  #newId() {
    let id = this.#randomUUID();
    while (this.#ended.has(id)) id = this.#randomUUID();
    return id;
  }

  // ---- requests of the transaction ---------------------------------------------

  /**
   * ends: why the answer ended the transaction, or null (default: a /commit or
   * /rollback that succeeded).
   * @param {string} method @param {string} path @param {Body} body @param {string} txId
   * @param {{internal?: boolean, ends?: (answer: EngineResponse) => string | null}} [options]
   * @returns {Promise<EngineResponse>}
   */
  async #inTransaction(method, path, body, txId, { internal = false, ends } = {}) {
    if (path === '/begin') {
      const why = this.#current(txId)
        ? `a transaction is open on this request (${this.#header}): /begin cannot be nested; use /batch or /transaction for atomic groups inside it`
        : `${this.#expiredMessage(txId)}; send /begin without the ${this.#header} header to begin a new one`;
      return hostError('BAD_REQUEST', why, this.#engine().contract);
    }
    // The body came first (request), with the idle timer running: a client that
    // stops sending half way does not hold the transaction open.
    const tx = this.#current(txId);
    if (!tx) return this.#expired(txId);

    const ending = !ends && (path === '/commit' || path === '/rollback');
    const endedBy = ends ?? ((/** @type {EngineResponse} */ a) => (ending && a.status === 200 ? (path === '/commit' ? 'committed' : 'rolled back') : null));
    tx.running++;
    this.#disarm(tx);
    // One request of the transaction in the engine at a time, in arrival order: an
    // answer may end the transaction (a commit, a rollback, an abort that was fetching
    // pages from R2 meanwhile), and a request let in beside it would then reach C with
    // no transaction open (500 INTERNAL) rather than be told it ended. Each waits for the
    // one that arrived before it, never for "none busy", which all waiters see at once.
    const before = tx.last;
    /** @type {() => void} */
    let answered = () => {};
    const mine = new Promise((resolve) => (answered = () => resolve(undefined)));
    tx.last = mine;
    try {
      const refused = before && (await this.#waitCounted(body, internal, () => before));
      if (refused) return refused;
      if (this.#current(txId) !== tx) return this.#expired(txId);
      try {
        const answer = await this.#engine().answer(method, path, body, { inTransaction: true, internal });
        const reason = endedBy(answer);
        if (reason !== null) {
          this.#end(tx, reason);
        } else if (answer.status < 200 || answer.status > 299) {
          const aborted = abortedBy(answer);
          if (aborted !== null) this.#end(tx, `aborted: ${aborted}`);
        }
        return answer;
      } catch (err) {
        // The engine failed under the transaction: its state is gone with it.
        this.#end(tx, `aborted: ${err instanceof Error ? err.message : String(err)}`);
        throw err;
      }
    } finally {
      // A request refused while waiting (429) leaves before still running: the next
      // one waits for that too.
      const settle = () => {
        answered();
        if (tx.last === mine) tx.last = null;
      };
      if (before) void before.then(settle);
      else settle();
      tx.running--;
      if (tx.state === 'open' && tx.running === 0) this.#arm(tx);
    }
  }

  /** @param {string} txId */
  #current(txId) {
    const tx = this.#tx;
    return tx && tx.id === txId && tx.state === 'open' ? tx : null;
  }

  /** @param {string} txId @returns {EngineResponse} */
  #expired(txId) {
    return hostError('TRANSACTION_EXPIRED', this.#expiredMessage(txId), this.#engine().contract);
  }

  /** Why txId names no open transaction. @param {string} txId */
  #expiredMessage(txId) {
    const reason = this.#ended.get(txId);
    return reason === undefined
      ? `no transaction ${JSON.stringify(txId.length > 64 ? `${txId.slice(0, 64)}…` : txId)} is open on this database: the id is unknown to it (never given by it, ended more than ${ENDED_MEMORY} transactions ago, or lost when the object restarted, as a deploy or an eviction restarts it: then its writes were rolled back)`
      : reason === 'committed' || reason === 'rolled back'
        ? `transaction ${txId} has ended: it was already ${reason}`
        : reason.startsWith('idled out')
          ? `transaction ${txId} has ended: it ${reason} without a request, so it was rolled back`
          : `transaction ${txId} has ended: it was ${reason}`;
  }

  /** (Re)start the idle timer of an open transaction. @param {OpenTransaction} tx */
  #arm(tx) {
    this.#disarm(tx);
    const due = this.#now() + tx.timeoutMs;
    const fire = (/** @type {boolean} */ graced) => {
      tx.timer = null;
      if (!(tx.state === 'open' && tx.running === 0 && this.#tx === tx)) return;
      // Late, the isolate was busy: a request sent in time may wait to be delivered.
      if (!graced && this.#now() - due > IDLE_LATE_MS) tx.timer = this.#setTimeout(() => fire(true), IDLE_GRACE_MS);
      else void this.#idleOut(tx);
    };
    tx.timer = this.#setTimeout(() => fire(false), tx.timeoutMs);
  }

  /** @param {OpenTransaction} tx */
  #disarm(tx) {
    if (tx.timer !== null) {
      this.#clearTimeout(tx.timer);
      tx.timer = null;
    }
  }

  /** The idle timer fired: the id ends now (later requests get 409); the gate stays
   *  closed until the engine has rolled back, or, failing that, is retired: the
   *  requests let in next would find the transaction still open in C, and a fresh
   *  engine (the host starts one) holds none of it. @param {OpenTransaction} tx */
  async #idleOut(tx) {
    tx.state = 'ended';
    this.#remember(tx.id, `idled out after ${tx.timeoutMs} ms`);
    /** @type {any} */
    let engine = null;
    /** @type {string | null} */
    let failure = null;
    try {
      engine = this.#engine(); // may throw: no engine to roll back in, and the gate must still open
      const answer = await engine.answer('POST', '/rollback', new Uint8Array(0), { inTransaction: true });
      if (answer.status !== 200 && abortedBy(answer) === null) failure = decoder.decode(answer.body);
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    } finally {
      if (failure !== null) {
        this.#log(`rolling back transaction ${tx.id} after its idle timeout failed (a fresh engine takes the next request): ${failure}`);
        engine?.retire(`transaction ${tx.id} could not be rolled back after its idle timeout: ${failure}`);
      }
      this.#release(tx);
    }
  }

  /** @param {OpenTransaction} tx @param {string} reason */
  #end(tx, reason) {
    if (tx.state === 'ended') return;
    tx.state = 'ended';
    this.#remember(tx.id, reason);
    this.#release(tx);
  }

  /** @param {OpenTransaction} tx */
  #release(tx) {
    this.#disarm(tx);
    if (this.#tx === tx) {
      this.#tx = null;
      this.#pump();
    }
  }

  /** @param {string} id @param {string} reason */
  #remember(id, reason) {
    this.#ended.delete(id);
    this.#ended.set(id, reason);
    while (this.#ended.size > ENDED_MEMORY) {
      this.#ended.delete(/** @type {string} */ (this.#ended.keys().next().value));
    }
  }
}

/** When an answer says SQLite rolled the whole transaction back, its message. @param {EngineResponse} answer @returns {string | null} */
function abortedBy(answer) {
  if (answer.status === 200) return null;
  const { error, code } = valueOf(answer);
  return code === 'TRANSACTION_ABORTED' ? error : null;
}
