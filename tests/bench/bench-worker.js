// bench-worker.js — the test worker of tests/worker/fixtures/dosql-worker.js (the
// DoSQL class bound SQLite-backed as SQL_DB and key-value backed as KV_DB, routed
// by /<sql|kv>/<tenant>/<endpoint...>), with each class wrapped to count what it
// costs in Durable Object storage.
//
// The package keeps its storage adapter private, so the subclass counts at the
// platform boundary instead: before the adapter exists (it is created lazily on
// the first request), it wraps this object's ctx.storage.sql.exec (SQLite-backed)
// or ctx.storage.get/put/delete (key-value). Nothing about the calls changes: the
// wrappers return what the real methods return, synchronously where they are
// synchronous (the key-value commit relies on no await between its puts).
//
// Counts, per object since it was constructed:
//   reads / writes   SQLite-backed: the cursors' rowsRead / rowsWritten (what the
//                    platform bills); key-value: keys asked for by get / keys put
//                    plus keys deleted
//   readUnits / writeUnits  key-value billing: one unit per started 4 KB of each
//                    value read or written, one per delete (0 on SQLite-backed)
//   bytesRead / bytesWritten  bytes of the values (pages) that crossed
//   calls            storage calls made (exec, or get/put/delete)
//   storageGets      key-value get calls (round trips; faults on the cold path)
// The object answers POST /_bench/stats with them; every other path goes to DoSQL.

import { makeClasses, handle } from '../worker/fixtures/dosql-worker.js';

export { handle };

const KV_UNIT_BYTES = 4096;
export const STATS_PATH = '/_bench/stats';

/**
 * @param {{name: string, sql: string}[]} migrations
 * @param {{pageSize?: number, cacheBytes?: number}} options
 */
export function makeBenchClasses(migrations, options) {
  const { Sql, Kv } = makeClasses(migrations, options);
  return { Sql: counted(Sql), Kv: counted(Kv) };
}

/** @param {any} Base  a DoSQLDatabase class */
function counted(Base) {
  return class Counted extends Base {
    #counts = newCounts();

    /** @param {any} ctx @param {any} env */
    constructor(ctx, env) {
      super(ctx, env);
      if (ctx.storage !== ctx.storage) throw new Error('bench: ctx.storage is not one object; wrappers would be bypassed');
      this.#counts.backend = instrument(ctx.storage, this.#counts);
    }

    /** @param {Request} request */
    async fetch(request) {
      if (new URL(request.url).pathname === STATS_PATH) {
        settle(this.#counts);
        const { pending, ...snapshot } = this.#counts;
        return Response.json(snapshot);
      }
      return super.fetch(request);
    }
  };
}

function newCounts() {
  return {
    backend: '',
    reads: 0,
    writes: 0,
    readUnits: 0,
    writeUnits: 0,
    bytesRead: 0,
    bytesWritten: 0,
    calls: 0,
    storageGets: 0,
    /** SQL cursors whose row counts are not added yet. @type {any[]} */
    pending: [],
  };
}

/** Add the row counts of finished cursors. @param {ReturnType<typeof newCounts>} c */
function settle(c) {
  for (const cursor of c.pending) {
    c.reads += cursor.rowsRead;
    c.writes += cursor.rowsWritten;
  }
  c.pending = [];
}

/**
 * Wrap the storage methods DoSQL's adapters call. Same probe as the package's
 * hasSql(): on key-value classes storage.sql exists but throws when used.
 * @param {any} storage
 * @param {ReturnType<typeof newCounts>} c
 * @returns {'sql' | 'kv'}
 */
function instrument(storage, c) {
  let sql = null;
  try {
    if (typeof storage.sql?.exec === 'function' && typeof storage.sql.databaseSize === 'number') sql = storage.sql;
  } catch {
    sql = null;
  }
  if (sql) {
    if (storage.sql !== sql) throw new Error('bench: ctx.storage.sql is not one object; the exec wrapper would be bypassed');
    const exec = sql.exec;
    sql.exec = function benchExec(/** @type {string} */ query, /** @type {any[]} */ ...bindings) {
      c.calls++;
      for (const b of bindings) c.bytesWritten += byteLength(b);
      const cursor = exec.call(sql, query, ...bindings);
      c.pending.push(cursor);
      if (c.pending.length > 4096) settle(c); // the adapter drains each cursor at once
      return countingCursor(cursor, c);
    };
    if (storage.sql.exec.name !== 'benchExec') throw new Error('bench: could not wrap ctx.storage.sql.exec');
    return 'sql';
  }

  const { get, put, delete: del } = storage;
  storage.get = function benchGet(/** @type {any} */ keys, /** @type {any[]} */ ...rest) {
    c.calls++;
    c.storageGets++;
    c.reads += Array.isArray(keys) ? keys.length : 1;
    return get.call(storage, keys, ...rest).then((/** @type {any} */ result) => {
      const values = result instanceof Map ? [...result.values()] : result === undefined ? [] : [result];
      for (const v of values) {
        const n = byteLength(v);
        c.bytesRead += n;
        c.readUnits += Math.max(1, Math.ceil(n / KV_UNIT_BYTES));
      }
      // A key asked for and not found still costs one read unit.
      if (Array.isArray(keys)) c.readUnits += keys.length - values.length;
      else if (result === undefined) c.readUnits += 1;
      return result;
    });
  };
  storage.put = function benchPut(/** @type {any} */ keyOrEntries, /** @type {any[]} */ ...rest) {
    c.calls++;
    /** @type {unknown[]} */
    const values = typeof keyOrEntries === 'string' ? [rest[0]] : Object.values(keyOrEntries);
    for (const v of values) {
      const n = byteLength(v);
      c.writes++;
      c.bytesWritten += n;
      c.writeUnits += Math.max(1, Math.ceil(n / KV_UNIT_BYTES));
    }
    return put.call(storage, keyOrEntries, ...rest);
  };
  storage.delete = function benchDelete(/** @type {any} */ keys, /** @type {any[]} */ ...rest) {
    c.calls++;
    const n = Array.isArray(keys) ? keys.length : 1;
    c.writes += n;
    c.writeUnits += n;
    return del.call(storage, keys, ...rest);
  };
  if (storage.put.name !== 'benchPut' || storage.get.name !== 'benchGet') {
    throw new Error('bench: could not wrap ctx.storage.get/put');
  }
  return 'kv';
}

/**
 * The cursor, with the bytes of BLOB cells read through raw() counted.
 * @param {any} cursor  SqlStorageCursor
 * @param {ReturnType<typeof newCounts>} c
 */
function countingCursor(cursor, c) {
  return new Proxy(cursor, {
    get(target, prop) {
      if (prop === 'raw') {
        return function raw() {
          const it = target.raw();
          return (function* counting() {
            for (const row of it) {
              for (const cell of row) if (cell instanceof ArrayBuffer) c.bytesRead += cell.byteLength;
              yield row;
            }
          })();
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** @param {unknown} v */
function byteLength(v) {
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  return 0;
}
