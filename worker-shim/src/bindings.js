// bindings.js — telling a binding from a Workers RPC stub where DoSQL takes one by the
// methods it has. A stub (a service binding, another Worker's entrypoint, a Durable
// Object's stub) answers every property name with a function, so it has every method
// any check asks for: a service binding passed where a namespace, a bucket or the
// object's storage belongs would pass, and the calls made on it would go to another
// Worker.

/** A name no binding DoSQL takes has as a member. */
const NO_SUCH_MEMBER = 'dosqlNoSuchMember';

/** Whether value answers any property name with a function: a Workers RPC stub. @param {unknown} value */
export function answersEveryName(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (/** @type {any} */ (value))[NO_SUCH_MEMBER] === 'function';
}

/** Whether value is a service binding (or another Worker's entrypoint): a stub, but not a
 *  Durable Object's, which has its id. @param {unknown} value */
export function isServiceBinding(value) {
  return answersEveryName(value) && typeof (/** @type {any} */ (value)).id !== 'object';
}

/** Whether value has every one of these methods, and is no stub (which has them all). @param {unknown} value @param {readonly string[]} methods */
export function hasMethods(value, methods) {
  return value !== null && typeof value === 'object' && !answersEveryName(value) && methods.every((m) => typeof (/** @type {any} */ (value))[m] === 'function');
}
