// client/watched-calls.js — the calls fn makes on tx inside transaction(fn)
// (client/client.js), watched: a call fn did not await that failed with no rejection
// handler must roll the transaction back, not be committed past (docs/client.md).

/**
 * The promise of a call, which knows whether its rejection is handled: a rejection
 * handler attached to it or to a promise chained from it (await, catch, then with two
 * functions), where finally's passes the rejection on.
 * @template T
 * @extends {Promise<T>}
 */
class Watched extends Promise {
  /** The call's own promise, for one chained from it. @type {Watched<unknown> | undefined} */
  root;
  handled = false;

  /** @type {Promise<T>['then']} */
  then(onFulfilled, onRejected) {
    const root = this.root ?? this;
    if (typeof onRejected === 'function') root.handled = true;
    const derived = /** @type {Watched<any>} */ (super.then(onFulfilled, onRejected));
    derived.root = root;
    return derived;
  }

  /** @type {Promise<T>['finally']} */
  finally(onFinally) {
    const root = this.root ?? this;
    const { handled } = root;
    const derived = super.finally(onFinally);
    root.handled = handled;
    return derived;
  }
}

/**
 * methods, each call's promise watched; unseenFailure() waits for every call made
 * (those made while it waits too), and answers the error of the first that failed
 * with no handler (or undefined). A handler may only pass the rejection on, as an
 * async helper fn did not await does with its own await, or a then() callback that
 * returns the call: where the runtime reports rejections nobody handled (workerd's
 * unhandledrejection event), a failure it reports in the end is unseen too. stop()
 * ends the watch.
 * @template {Record<string, (...args: any[]) => Promise<unknown>>} M
 * @param {M} methods
 * @returns {{methods: M, unseenFailure: () => Promise<unknown>, stop: () => void}}
 */
export function watchCalls(methods) {
  /** @type {{call: Watched<unknown>, outcome: Promise<{err: unknown} | undefined>}[]} */
  const calls = [];
  /** The reasons of rejections the runtime reported nobody handled. @type {Set<unknown>} */
  const unhandled = new Set();
  const listener = (/** @type {any} */ event) => void unhandled.add(event.reason);
  const reports = typeof globalThis.addEventListener === 'function';
  if (reports) globalThis.addEventListener('unhandledrejection', listener);
  const watched = Object.fromEntries(Object.entries(methods).map(([name, method]) => [
    name,
    (/** @type {unknown[]} */ ...args) => {
      const call = new Watched((resolve, reject) => method(...args).then(resolve, reject));
      // Promise's own then: not a handler of fn's (and no unhandled rejection while fn runs).
      const outcome = /** @type {Promise<{err: unknown} | undefined>} */ (Promise.prototype.then.call(call, () => undefined, (err) => ({ err })));
      calls.push({ call, outcome });
      return call;
    },
  ]));
  const unseenFailure = async () => {
    for (let settled = 0; settled < calls.length; ) {
      const waiting = calls.slice(settled);
      settled = calls.length;
      await Promise.all(waiting.map((c) => c.outcome));
    }
    /** @type {{call: Watched<unknown>, err: unknown}[]} */
    const failures = [];
    for (const { call, outcome } of calls) {
      const failed = await outcome;
      if (failed) failures.push({ call, err: failed.err });
    }
    // The runtime reports a rejection left unhandled once the microtasks have run.
    if (reports && failures.some((f) => f.call.handled)) await new Promise((resolve) => setTimeout(resolve, 0));
    return failures.find((f) => !f.call.handled || unhandled.has(f.err))?.err;
  };
  const stop = () => {
    if (reports) globalThis.removeEventListener('unhandledrejection', listener);
  };
  return { methods: /** @type {M} */ (/** @type {unknown} */ (watched)), unseenFailure, stop };
}
