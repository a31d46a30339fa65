/*
** test_kept_statements.c — prepared statements kept between requests (conn.c
** connPrepareOne / connFinalize): a kept statement answers exactly as a fresh
** one would, after schema changes, with other parameters, inside and outside
** transactions, and the guard's decisions that depend on more than the text
** (savepoints) are never taken from the cache.
*/
#include "harness.h"

/* Whether a statement of exactly zSql is kept. */
static int isKept(const Conn *pConn, const char *zSql){
  int i;
  for(i=0; i<pConn->nCache; i++){
    if( strcmp(sqlite3_sql(pConn->apCache[i]), zSql)==0 ) return 1;
  }
  return 0;
}

static void a_repeated_statement_is_kept_and_takes_new_params(void){
  Conn c;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t(b) VALUES (?)\",\"params\":[\"x\"]}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t(b) VALUES (?)\",\"params\":[\"y\"]}");
  CHECK(isKept(&c, "INSERT INTO t(b) VALUES (?)"));
  okBody(&c, "/query", "{\"sql\":\"SELECT b FROM t WHERE a = ?\",\"params\":[1]}", "{\"rows\":[{\"b\":\"x\"}]}");
  okBody(&c, "/query", "{\"sql\":\"SELECT b FROM t WHERE a = ?\",\"params\":[2]}", "{\"rows\":[{\"b\":\"y\"}]}");
  CHECK(isKept(&c, "SELECT b FROM t WHERE a = ?"));
  /* The same text in a batch and in array mode uses the same statement. */
  okBody(&c, "/batch", "{\"rowMode\":\"array\",\"operations\":[{\"sql\":\"SELECT b FROM t WHERE a = ?\",\"params\":[1]},"
       "{\"sql\":\"SELECT b FROM t WHERE a = ?\",\"params\":[2]}]}",
       "{\"results\":[{\"columns\":[\"b\"],\"rows\":[[\"x\"]],\"rowsAffected\":0,\"lastInsertRowId\":0,"
       "\"readOnly\":true,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":20480},{\"columns\":[\"b\"],\"rows\":[[\"y\"]],"
       "\"rowsAffected\":0,\"lastInsertRowId\":0,\"readOnly\":true,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":20480}]}");
  connClose(&c);
}

static void a_kept_statement_needs_its_params_again(void){
  Conn c;
  Answer a;
  openConn(&c);
  okBody(&c, "/query", "{\"sql\":\"SELECT ?1 AS v\",\"params\":[5]}", "{\"rows\":[{\"v\":5}]}");
  CHECK(isKept(&c, "SELECT ?1 AS v"));
  a = post(&c, "/query", "{\"sql\":\"SELECT ?1 AS v\"}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "BAD_PARAMS");
  answerFree(&a);
  okBody(&c, "/query", "{\"sql\":\"SELECT ?1 AS v\",\"params\":[6]}", "{\"rows\":[{\"v\":6}]}");
  connClose(&c);
}

static void a_large_statement_is_not_kept(void){
  Conn c;
  sqlite3_str *pReq = sqlite3_str_new(0);
  char *zReq, *zSql;
  openConn(&c);
  sqlite3_str_appendall(pReq, "{\"sql\":\"SELECT length('");
  sqlite3_str_appendchar(pReq, DOSQL_STATEMENT_MAX_BYTES, 'x');
  sqlite3_str_appendall(pReq, "') AS n\"}");
  zReq = sqlite3_str_finish(pReq);
  okFree(&c, "/query", zReq);
  zSql = sqlite3_mprintf("SELECT length('%.*c') AS n", DOSQL_STATEMENT_MAX_BYTES, 'x');
  CHECK(zSql && !isKept(&c, zSql));
  CHECK(c.nCache==0);
  sqlite3_free(zSql);
  sqlite3_free(zReq);
  connClose(&c);
}

static void statements_are_kept_again_once_the_schema_action_has_committed(void){
  Conn c;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(a)\"}");
  /* Only batches and interactive transactions after it, as the D1 facade sends. */
  okFree(&c, "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t VALUES (1)\"},{\"sql\":\"SELECT a FROM t\"}]}");
  okFree(&c, "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t VALUES (1)\"},{\"sql\":\"SELECT a FROM t\"}]}");
  CHECK(isKept(&c, "INSERT INTO t VALUES (1)") && isKept(&c, "SELECT a FROM t"));
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"CREATE INDEX ta ON t(a)\"}");
  txOk(&c, "/query", "{\"sql\":\"SELECT count(*) FROM t\"}");
  CHECK(c.nCache==0 && !isKept(&c, "SELECT count(*) FROM t"));   /* the index may yet roll back */
  txOk(&c, "/commit", "{}");
  okFree(&c, "/query", "{\"sql\":\"SELECT count(*) FROM t\"}");
  CHECK(isKept(&c, "SELECT count(*) FROM t"));
  connClose(&c);
}

static void a_schema_change_is_seen_by_the_next_request(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(a, b)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES (1, 2)\"}");
  okFree(&c, "/run", "{\"sql\":\"CREATE VIEW v AS SELECT a FROM t\"}");
  okBody(&c, "/query", "{\"sql\":\"SELECT * FROM t\",\"rowMode\":\"array\"}",
       "{\"columns\":[\"a\",\"b\"],\"rows\":[[1,2]],\"rowsAffected\":0,\"lastInsertRowId\":0,"
       "\"readOnly\":true,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":20480}");
  okBody(&c, "/query", "{\"sql\":\"SELECT * FROM v\"}", "{\"rows\":[{\"a\":1}]}");
  CHECK(isKept(&c, "SELECT * FROM t") && isKept(&c, "SELECT * FROM v"));

  /* By a request: the column names come before the first step. */
  okFree(&c, "/run", "{\"sql\":\"ALTER TABLE t ADD COLUMN c DEFAULT 3\"}");
  okBody(&c, "/query", "{\"sql\":\"SELECT * FROM t\",\"rowMode\":\"array\"}",
       "{\"columns\":[\"a\",\"b\",\"c\"],\"rows\":[[1,2,3]],\"rowsAffected\":0,\"lastInsertRowId\":0,"
       "\"readOnly\":true,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":20480}");

  /* By a script, and by a migration (trusted SQL). */
  okFree(&c, "/exec", "{\"sql\":\"DROP VIEW v; CREATE VIEW v AS SELECT b, a FROM t\"}");
  okBody(&c, "/query", "{\"sql\":\"SELECT * FROM v\"}", "{\"rows\":[{\"b\":2,\"a\":1}]}");
  a = migrate(&c, "{\"migrations\":[{\"name\":\"001_v.sql\",\"sql\":"
              "\"DROP VIEW v; CREATE VIEW v AS SELECT c FROM t;\"}]}");
  CHECK(a.status==200);
  answerFree(&a);
  okBody(&c, "/query", "{\"sql\":\"SELECT * FROM v\"}", "{\"rows\":[{\"c\":3}]}");

  /* By a statement that was rolled back with its batch: the old shape again. */
  a = post(&c, "/batch", "{\"operations\":[{\"sql\":\"ALTER TABLE t ADD COLUMN d\"},"
           "{\"sql\":\"SELECT * FROM t\"},{\"sql\":\"SELECT nope\"}]}");
  CHECK(a.status==400);
  answerFree(&a);
  okBody(&c, "/query", "{\"sql\":\"SELECT * FROM t\"}", "{\"rows\":[{\"a\":1,\"b\":2,\"c\":3}]}");

  /* A dropped table: the kept statement fails as a fresh prepare would. */
  okFree(&c, "/run", "{\"sql\":\"DROP VIEW v\"}");
  a = post(&c, "/query", "{\"sql\":\"SELECT * FROM v\"}");
  CHECK(a.status==400);
  CHECK(a.zBody && strstr(a.zBody, "no such table: v"));
  answerFree(&a);
  connClose(&c);
}

static void savepoints_and_ddl_are_never_kept(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(a)\"}");
  CHECK(!isKept(&c, "CREATE TABLE t(a)"));
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"SAVEPOINT s\"}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES (1)\"}");
  txOk(&c, "/run", "{\"sql\":\"RELEASE s\"}");
  txOk(&c, "/run", "{\"sql\":\"SAVEPOINT s\"}");
  CHECK(!isKept(&c, "SAVEPOINT s") && !isKept(&c, "RELEASE s"));
  txOk(&c, "/run", "{\"sql\":\"RELEASE s\"}");
  txOk(&c, "/commit", "{}");
  /* Allowed inside the transaction, refused outside it: a kept statement
  ** would have skipped the authorizer. */
  a = post(&c, "/run", "{\"sql\":\"SAVEPOINT s\"}");
  CHECK(a.status==403);
  CHECK_STR(answerCode(&a), "SQLITE_AUTH");
  answerFree(&a);
  CHECK(sqlite3_get_autocommit(c.db));
  /* A statement kept inside the transaction works outside it. */
  okBody(&c, "/query", "{\"sql\":\"INSERT INTO t VALUES (1)\"}", "{\"rows\":[]}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "2");
  connClose(&c);
}

static void only_the_exact_text_of_one_statement_is_reused(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(a)\"}");
  okBody(&c, "/query", "{\"sql\":\"SELECT 1 AS one\"}", "{\"rows\":[{\"one\":1}]}");
  okBody(&c, "/query", "{\"sql\":\"SELECT 1 AS one;\"}", "{\"rows\":[{\"one\":1}]}");
  CHECK(isKept(&c, "SELECT 1 AS one") && isKept(&c, "SELECT 1 AS one;"));
  a = post(&c, "/query", "{\"sql\":\"SELECT 1 AS one; DROP TABLE t\"}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "MULTIPLE_STATEMENTS");
  answerFree(&a);
  okBody(&c, "/query", "{\"sql\":\"SELECT 2 AS two /* a comment */\"}", "{\"rows\":[{\"two\":2}]}");
  okBody(&c, "/query", "{\"sql\":\"SELECT 2 AS two /* a comment */\"}", "{\"rows\":[{\"two\":2}]}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM sqlite_schema WHERE name = 't'"), "1");
  connClose(&c);
}

static void a_statement_that_failed_runs_again(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(a INTEGER PRIMARY KEY)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES (?)\",\"params\":[1]}");
  a = post(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES (?)\",\"params\":[1]}");
  CHECK(a.status==409);
  answerFree(&a);
  a = post(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES (?)\",\"params\":[1, 2]}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "BAD_PARAMS");
  answerFree(&a);
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES (?)\",\"params\":[2]}");
  CHECK_STR(scalar(&c, "SELECT group_concat(a) FROM t"), "\"1,2\"");
  connClose(&c);
}

static void the_cache_keeps_the_most_recently_used(void){
  Conn c;
  char zReq[128], zSql[64], zWant[64];
  int i;
  openConn(&c);
  for(i=0; i<DOSQL_STATEMENT_CACHE+8; i++){
    snprintf(zReq, sizeof(zReq), "{\"sql\":\"SELECT %d AS n\"}", i);
    snprintf(zWant, sizeof(zWant), "{\"rows\":[{\"n\":%d}]}", i);
    okBody(&c, "/query", zReq, zWant);
    okBody(&c, "/query", "{\"sql\":\"SELECT 'hot' AS n\"}", "{\"rows\":[{\"n\":\"hot\"}]}");
  }
  CHECK(c.nCache==DOSQL_STATEMENT_CACHE);
  CHECK(isKept(&c, "SELECT 'hot' AS n"));
  CHECK(!isKept(&c, "SELECT 0 AS n"));
  snprintf(zSql, sizeof(zSql), "SELECT %d AS n", DOSQL_STATEMENT_CACHE+7);
  CHECK(isKept(&c, zSql));
  okBody(&c, "/query", "{\"sql\":\"SELECT 0 AS n\"}", "{\"rows\":[{\"n\":0}]}");
  connClose(&c);
}

int main(void){
  RUN(a_repeated_statement_is_kept_and_takes_new_params);
  RUN(a_kept_statement_needs_its_params_again);
  RUN(a_large_statement_is_not_kept);
  RUN(statements_are_kept_again_once_the_schema_action_has_committed);
  RUN(a_schema_change_is_seen_by_the_next_request);
  RUN(savepoints_and_ddl_are_never_kept);
  RUN(only_the_exact_text_of_one_statement_is_reused);
  RUN(a_statement_that_failed_runs_again);
  RUN(the_cache_keeps_the_most_recently_used);
  return HARNESS_END();
}
