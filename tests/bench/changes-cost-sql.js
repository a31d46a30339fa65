// changes-cost-sql.js — the SQL of changes-cost.mjs's workloads, shared by its two parts
// (the engine in Node, and changes-cost-worker.js in workerd), so that both measure the
// same statements on the same tables.

/** The tables, before any workload: users (written one row at a time), big (100,000 rows). */
export const SETUP = Object.freeze([
  'CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, email TEXT UNIQUE, n INT)',
  'CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, n INT)',
  "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v+1 FROM s WHERE v<100000) INSERT INTO big SELECT v, 'user ' || v, v FROM s",
]);

/** One user (name, unique email, n): the single-row INSERT, and each row of a transaction. */
export const INSERT_USER = 'INSERT INTO users(name, email, n) VALUES(?, ?, ?)';

/** Rows of one transaction. */
export const TX_ROWS = 1000;

/** Every row of big, in one statement. */
export const UPDATE_BIG = 'UPDATE big SET n = n + 1';

/** A point read of a user; ids 1..READ_IDS, which the single-row INSERTs made. */
export const READ_USER = 'SELECT * FROM users WHERE id = ?';
export const READ_IDS = 400;
