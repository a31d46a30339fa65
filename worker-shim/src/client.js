// client.js — the guide's getDB() client, with real interactive transactions.
//
// It speaks the wire protocol of DoSQLDatabase to a Durable Object stub (anything
// with fetch(url, init)), exactly as the SvelteKit guide's client does: POST
// http://internal/<endpoint> with a JSON body. Beyond the guide:
//
// - transaction(fn) is interactive: /begin, then tx.query/run/... inside fn return
//   real results (their requests carry X-DoSQL-Transaction), then /commit — or
//   /rollback and rethrow when fn throws;
// - failures are DoSQLError with SQLite's message, a stable code and the status;
// - values that JSON cannot carry travel tagged: BigInt ⇄ {$bigint}, bytes ⇄
//   {$blob: base64}, ±Infinity ⇄ {$real}; a Date is sent as its ISO string.
//
// No workerd needed: this module runs wherever fetch-like stubs do (and in Node).

/** The header that puts a request inside a transaction (transactions.js). */
const TRANSACTION_HEADER = 'X-DoSQL-Transaction';
const BASE_URL = 'http://internal';

/** A failure answered by the database (or of the exchange with it). */
export class DoSQLError extends Error {
  /**
   * @param {string} message  SQLite's own text where SQLite failed
   * @param {{code?: string, status?: number, operation?: number, cause?: unknown}} [details]
   */
  constructor(message, { code = 'UNKNOWN', status = 0, operation, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DoSQLError';
    /** Stable code, e.g. "SQLITE_CONSTRAINT_UNIQUE", "TRANSACTION_EXPIRED". */
    this.code = code;
    /** The HTTP status of the answer. */
    this.status = status;
    /** Index of the failing operation of a /batch or /transaction. @type {number | undefined} */
    this.operation = operation;
    if (operation === undefined) delete this.operation;
  }
}

/**
 * The client of one tenant's database: `platform` (SvelteKit: platform.env.DOSQL_DB),
 * an `env` with DOSQL_DB, or the DurableObjectNamespace itself.
 * @param {any} platformOrNamespace
 * @param {string} [tenantId]
 */
export function getDB(platformOrNamespace, tenantId = 'default') {
  const namespace = findNamespace(platformOrNamespace);
  return createClient(namespace.get(namespace.idFromName(tenantId)));
}

/** @param {any} x */
function findNamespace(x) {
  const isNamespace = (/** @type {any} */ n) => n && typeof n.idFromName === 'function' && typeof n.get === 'function';
  if (isNamespace(x?.env?.DOSQL_DB)) return x.env.DOSQL_DB;
  if (isNamespace(x?.DOSQL_DB)) return x.DOSQL_DB;
  if (isNamespace(x)) return x;
  throw new TypeError(
    'getDB needs platform (with platform.env.DOSQL_DB), an env with DOSQL_DB, or a DurableObjectNamespace: is the DOSQL_DB binding configured?',
  );
}

/**
 * A DatabaseClient over a stub.
 * @param {{fetch: (url: string, init?: any) => Promise<Response>}} stub
 */
export function createClient(stub) {
  if (!stub || typeof stub.fetch !== 'function') throw new TypeError('createClient needs a stub with fetch(url, init)');
  const db = statements(stub, null);
  return Object.freeze({
    ...db,

    /**
     * Run fn inside one transaction; commit when it resolves, roll back and
     * rethrow when it throws. Other requests to the database wait meanwhile, so
     * keep fn short; the transaction is rolled back when idle for timeoutMs.
     * @template T
     * @param {(tx: any) => Promise<T>} fn
     * @param {{timeoutMs?: number}} [options]
     * @returns {Promise<T>}
     */
    async transaction(fn, options = {}) {
      const begun = await send(stub, '/begin', options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }, null);
      const txId = /** @type {string} */ (begun.txId);
      const tx = Object.freeze({ txId, ...statements(stub, txId) });
      /** @type {T} */
      let result;
      try {
        result = await fn(tx);
      } catch (err) {
        await send(stub, '/rollback', {}, txId).catch(() => {}); // ended already, or gone: it was not kept
        throw err;
      }
      try {
        await send(stub, '/commit', {}, txId);
      } catch (err) {
        // A failed COMMIT can leave the transaction open (deferred foreign keys):
        // do not leave it to the idle timer.
        await send(stub, '/rollback', {}, txId).catch(() => {});
        throw err;
      }
      return result;
    },
  });
}

/**
 * query/queryOne/run/batch, inside the transaction txId or outside any.
 * @param {{fetch: (url: string, init?: any) => Promise<Response>}} stub
 * @param {string | null} txId
 */
function statements(stub, txId) {
  return {
    /**
     * @param {string} sql
     * @param {unknown} [params]
     * @returns {Promise<any[]>}
     */
    async query(sql, params) {
      const { rows } = await send(stub, '/query', { sql, params: encodeParams(params) }, txId);
      return decodeRows(rows);
    },
    /**
     * @param {string} sql
     * @param {unknown} [params]
     */
    async queryOne(sql, params) {
      const { rows } = await send(stub, '/query', { sql, params: encodeParams(params) }, txId);
      return Array.isArray(rows) && rows.length > 0 ? decodeRow(rows[0]) : null;
    },
    /**
     * @param {string} sql
     * @param {unknown} [params]
     * @returns {Promise<{rowsAffected: number, lastInsertRowId: number}>}
     */
    async run(sql, params) {
      const { rowsAffected, lastInsertRowId } = await send(stub, '/run', { sql, params: encodeParams(params) }, txId);
      return { rowsAffected: decodeValue(rowsAffected), lastInsertRowId: decodeValue(lastInsertRowId) };
    },
    /**
     * Several statements, all or nothing; one result per statement.
     * @param {(string | {sql: string, params?: unknown})[]} list
     */
    async batch(list) {
      if (!Array.isArray(list)) throw new TypeError('batch needs an array of statements ({sql, params?} or strings)');
      const operations = list.map((s) => (typeof s === 'string' ? { sql: s } : { sql: s?.sql, params: encodeParams(s?.params) }));
      const { results } = await send(stub, '/batch', { operations }, txId);
      return (Array.isArray(results) ? results : []).map((r) => ({
        rows: decodeRows(r?.rows ?? []),
        rowsAffected: decodeValue(r?.rowsAffected),
        lastInsertRowId: decodeValue(r?.lastInsertRowId),
      }));
    },
  };
}

/**
 * POST one request; the parsed answer, or a DoSQLError.
 * @param {{fetch: (url: string, init?: any) => Promise<Response>}} stub
 * @param {string} path
 * @param {unknown} body
 * @param {string | null} txId
 * @returns {Promise<any>}
 */
async function send(stub, path, body, txId) {
  /** @type {Record<string, string>} */
  const headers = { 'Content-Type': 'application/json' };
  if (txId !== null) headers[TRANSACTION_HEADER] = txId;
  const response = await stub.fetch(`${BASE_URL}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await response.text();
  /** @type {any} */
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!response.ok) {
    const message = typeof value?.error === 'string' ? value.error : text || `the database answered ${response.status}`;
    throw new DoSQLError(message, {
      code: typeof value?.code === 'string' ? value.code : `HTTP_${response.status}`,
      status: response.status,
      operation: Number.isInteger(value?.operation) ? value.operation : undefined,
    });
  }
  if (value === undefined || value === null || typeof value !== 'object') {
    throw new DoSQLError(`the database answered ${path} with something that is not a JSON object: ${text.slice(0, 200)}`, {
      code: 'BAD_RESPONSE',
      status: response.status,
    });
  }
  return value;
}

// ---- values ---------------------------------------------------------------------

/**
 * Parameters for the wire: an array (positional) or an object (named), each value
 * encoded with encodeValue. undefined stays undefined (no parameters).
 * @param {unknown} params
 * @returns {unknown}
 */
export function encodeParams(params) {
  if (params === undefined || params === null) return undefined;
  if (Array.isArray(params)) return params.map(encodeValue);
  if (typeof params === 'object') {
    return Object.fromEntries(Object.entries(/** @type {object} */ (params)).map(([k, v]) => [k, encodeValue(v)]));
  }
  throw new TypeError(`params must be an array or an object of named parameters; got ${typeof params}`);
}

/**
 * One parameter value for the wire.
 * @param {unknown} value
 * @returns {unknown}
 */
export function encodeValue(value) {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (typeof value === 'number') {
    if (value === Infinity) return { $real: 'Infinity' };
    if (value === -Infinity) return { $real: '-Infinity' };
    return Number.isNaN(value) ? null : value;
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof ArrayBuffer) return { $blob: toBase64(new Uint8Array(value)) };
  if (ArrayBuffer.isView(value)) return { $blob: toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  return value; // string, boolean, null, or an already tagged value
}

/**
 * A row with every value decoded.
 * @param {Record<string, unknown>} row
 * @returns {Record<string, unknown>}
 */
export function decodeRow(row) {
  if (row === null || typeof row !== 'object') return row;
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const key of Object.keys(row)) out[key] = decodeValue(row[key]);
  return out;
}

/** @param {unknown} rows */
function decodeRows(rows) {
  return Array.isArray(rows) ? rows.map(decodeRow) : [];
}

/**
 * One value from the wire: {$bigint} → BigInt, {$blob} → Uint8Array, {$real} → number.
 * @param {unknown} value
 * @returns {unknown}
 */
export function decodeValue(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const tagged = /** @type {Record<string, unknown>} */ (value);
  const keys = Object.keys(tagged);
  if (keys.length !== 1) return value;
  const v = tagged[keys[0]];
  if (typeof v !== 'string') return value;
  switch (keys[0]) {
    case '$bigint':
      return BigInt(v);
    case '$blob':
      return fromBase64(v);
    case '$real':
      return Number(v);
    default:
      return value;
  }
}

/** @param {Uint8Array} bytes */
function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, /** @type {any} */ (bytes.subarray(i, i + 0x8000)));
  }
  return btoa(binary);
}

/** @param {string} text */
function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
