// client/error.js — DoSQLError, what every failure of the client is: the database's
// answer (its code, status and details, docs/errors.md) or a value the client cannot
// send. Its own module so that values.js, which refuses such values, and client.js
// share it.

/** What an error answer may say beside its message (docs/errors.md). */
export const ERROR_DETAILS = /** @type {const} */ (['operation', 'statement', 'offset', 'statementOffset', 'sqliteCode']);

/**
 * Why a call to a Durable Object stub threw without an answer, when the platform
 * says (docs/errors.md OBJECT_UNAVAILABLE): the object was reset (a deploy, an
 * abort, a limit) or is overloaded. Null for any other error, which stays as it is.
 * @param {unknown} err  what the stub's fetch() or RPC call threw
 * @returns {string | null}
 */
export function objectUnavailable(err) {
  const e = /** @type {any} */ (err);
  if (!(err instanceof Error)) return null;
  if (e.overloaded === true) {
    return `the database's Durable Object is overloaded (${err.message}): do not retry at once; send fewer requests to it`;
  }
  if (e.durableObjectReset === true || e.retryable === true) {
    return `the database's Durable Object was reset or could not be reached before it answered (${err.message}): `
      + 'a request that wrote may or may not have committed; retry one that can run twice';
  }
  return null;
}

/**
 * The message for an exception the object threw instead of answering (workerd marks
 * those it carries from the object `remote`): a class of one's own that failed before
 * it passed the request to DoSQL (docs/errors.md OBJECT_THREW). Null for any other error.
 * @param {unknown} err
 * @returns {string | null}
 */
export function objectThrew(err) {
  if (!(err instanceof Error) || /** @type {any} */ (err).remote !== true || err instanceof DoSQLError) return null;
  return `the database's Durable Object threw instead of answering: ${err.message}`;
}

/**
 * Whether a Workers RPC call threw because the platform refused its arguments or its
 * answer for their size (32 MiB as the runtime serializes them: a string holding a
 * character past Latin-1 takes two bytes a character).
 * @param {unknown} err
 * @returns {err is Error}
 */
export function rpcTooLarge(err) {
  return err instanceof Error && /^Serialized RPC arguments or return values are limited/.test(err.message);
}

/** A failure answered by the database (or of the exchange with it). */
export class DoSQLError extends Error {
  /**
   * @param {string} message  SQLite's own text where SQLite failed
   * @param {{code?: string, status?: number, operation?: number, statement?: string,
   *   offset?: number, statementOffset?: number, sqliteCode?: string, cause?: unknown}} [details]
   *   beside code and status, each only when the answer said it: the failing operation
   *   of a /batch or /transaction, the transaction statement refused
   *   (TRANSACTION_STATEMENT), the byte offsets of the error and of its statement,
   *   SQLite's code of a failure that ended more than its statement (TRANSACTION_ABORTED)
   */
  constructor(message, { code = 'UNKNOWN', status = 0, cause, ...details } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DoSQLError';
    /** Stable code, e.g. "SQLITE_CONSTRAINT_UNIQUE", "TRANSACTION_EXPIRED". */
    this.code = code;
    /** The HTTP status of the answer. */
    this.status = status;
    for (const key of ERROR_DETAILS) {
      if (details[key] !== undefined) /** @type {any} */ (this)[key] = details[key];
    }
  }
}
