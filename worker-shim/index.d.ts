// Public types of the dosql package (hand-written; src/*.js carry JSDoc).

import type { DurableObject } from 'cloudflare:workers';

/** One migration: a file's name (e.g. "001_init.sql") and its SQL text. */
export interface Migration {
  name: string;
  sql: string;
}

export interface DoSQLOptions {
  /** Applied in order on each object's first request; each once, checksummed. */
  migrations?: Migration[];
  /** Page size (bytes) of a new database: a power of two from 512 to 65536. */
  pageSize?: number;
  /** Page cache budget (bytes) for legacy key-value backed objects. Default 32 MiB. */
  cacheBytes?: number;
}

/**
 * The Durable Object: one object is one SQLite database. It answers the wire
 * protocol over fetch: POST /query, /run, /transaction with JSON bodies.
 * Works on SQLite-backed (`new_sqlite_classes`) and key-value (`new_classes`)
 * classes. Environment: DOSQL_PAGE_SIZE (optional).
 */
export declare class DoSQLDatabase extends DurableObject {
  static migrations: readonly Migration[];
  static pageSize: number | undefined;
  static cacheBytes: number | undefined;
  fetch(request: Request): Promise<Response>;
  /** Over RPC: peak wasm memory, page faults served, and storage rows/keys read and written. */
  stats(): Promise<DoSQLStats>;
}

export interface DoSQLStats {
  wasmMemoryBytes: number;
  faults: number;
  /** SQLite-backed: rowsRead, rowsWritten, pagesRead, pagesWritten, commits;
   *  key-value: keysRead, keysWritten, keysDeleted, fetches, commits, cacheBytes. */
  storage: Record<string, number>;
}

/** A DoSQLDatabase class with these migrations; export it under your binding's class_name. */
export declare function defineDoSQL(options?: DoSQLOptions): typeof DoSQLDatabase;

/**
 * The standalone worker's router: GET /health, and /db/<tenant>/<endpoint> forwarded
 * to env.DOSQL_DB's object for that tenant when Authorization is "Bearer <env.DOSQL_TOKEN>".
 */
export declare function route(
  request: Request,
  env: { DOSQL_TOKEN?: string; DOSQL_DB?: DurableObjectNamespace },
): Promise<Response>;
