// client/stub-link.js — the stub a client calls, made anew when a client is kept across
// requests. workerd lets a Durable Object stub do I/O only in the request that made it:
// in another it throws "Cannot perform I/O on behalf of a different request" before
// sending anything. A client getDB() or toD1() made from a namespace (kept in a module
// variable, as `db ??= getDB(env, tenant)` does) then gets its object's stub again from
// the namespace, which every request may use, and makes the call with it.

import { DoSQLError } from './error.js';

/** Where each stub stubFor() made came from. @type {WeakMap<object, {namespace: any, name: string}>} */
const origins = new WeakMap();

/**
 * Record that stub is namespace's object of this name.
 * @param {object} stub @param {any} namespace @param {string} name
 */
export function rememberOrigin(stub, namespace, name) {
  origins.set(stub, { namespace, name });
}

/** The namespace stubFor() took stub from, or undefined. @param {object} stub */
export function namespaceOf(stub) {
  return origins.get(stub)?.namespace;
}

/**
 * The stub to call, renewable.
 * @param {any} stub
 */
export function stubLink(stub) {
  let current = stub;
  return {
    get stub() {
      return current;
    },
    /**
     * After a call failed with err: a new stub to retry with, when err is workerd
     * refusing the stub in another request (nothing was sent) and it came from a
     * namespace; a coded error for a stub of the caller's own; else false.
     * @param {unknown} err @returns {boolean}
     */
    renew(err) {
      if (!ofAnotherRequest(err)) return false;
      const origin = origins.get(stub);
      if (!origin) {
        throw new DoSQLError(
          `this stub was made in another request, and workerd lets a stub do I/O only in the request that made it: ` +
            `get it in each request, or pass getDB()/toD1() the namespace, whose clients may be kept (${/** @type {Error} */ (err).message})`,
          { code: 'STUB_OF_OTHER_REQUEST', status: 500, cause: err },
        );
      }
      current = origin.namespace.get(origin.namespace.idFromName(origin.name));
      return true;
    },
  };
}

/**
 * call(stub), once more with a new stub when the first was of another request.
 * @template T
 * @param {ReturnType<typeof stubLink>} link @param {(stub: any) => Promise<T>} call
 * @returns {Promise<T>}
 */
export async function viaLink(link, call) {
  try {
    return await call(link.stub);
  } catch (err) {
    if (!link.renew(err)) throw err;
    return call(link.stub);
  }
}

/** @param {unknown} err */
function ofAnotherRequest(err) {
  return err instanceof Error && /^Cannot perform I\/O on behalf of a different request/.test(err.message);
}
