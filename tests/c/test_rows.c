/*
** test_rows.c — rowMode "array" (columns once, rows as arrays, the readOnly and
** schemaChanged flags), the object mode it leaves unchanged, and what SQLite's
** parser says about a statement: TRANSACTION_STATEMENT for BEGIN / COMMIT /
** ROLLBACK, a savepoint statement alone in a /batch, and the byte offset of a
** syntax error (handler.c, guard.c, reply.c).
*/
#include "harness.h"

/* The same inside the open interactive transaction. */
static void txBody(Conn *pConn, const char *zPath, const char *zReq, const char *zWant){
  Answer a = callFlags(pConn, "POST", zPath, zReq, DOSQL_REQUEST_IN_TRANSACTION);
  CHECK(a.status==200);
  CHECK_STR(a.zBody, zWant);
  answerFree(&a);
}

/* An integer member of the answer, or -1 when it is absent. */
static int answerInt(const Answer *p, const char *zKey){
  const cJSON *c = cJSON_GetObjectItem(p->pJson, zKey);
  return cJSON_IsNumber(c) ? c->valueint : -1;
}

static const char *answerStr(const Answer *p, const char *zKey){
  const cJSON *c = cJSON_GetObjectItem(p->pJson, zKey);
  return cJSON_IsString(c) ? c->valuestring : 0;
}

/* schemaChanged of the one-statement array-mode /query of zSql: 1, 0, or -1
** when the request failed. */
static int schemaChanged(Conn *pConn, const char *zSql){
  cJSON *pReq = cJSON_CreateObject();
  char *zBody;
  Answer a;
  int r;
  cJSON_AddStringToObject(pReq, "sql", zSql);
  cJSON_AddStringToObject(pReq, "rowMode", "array");
  zBody = cJSON_PrintUnformatted(pReq);
  a = post(pConn, "/query", zBody);
  if( a.status!=200 ) printf("  %s -> %d %s\n", zSql, a.status, a.zBody);
  r = a.status!=200 ? -1 : cJSON_IsTrue(cJSON_GetObjectItem(a.pJson, "schemaChanged"));
  answerFree(&a);
  cJSON_free(zBody);
  cJSON_Delete(pReq);
  return r;
}

/****************************************************** lastInsertRowId ***/

/* lastInsertRowId is the rowid this statement inserted (0 when it inserted
** none), while SQL's last_insert_rowid() keeps SQLite's meaning: the newest
** insert of the connection, whichever statement made it. */
static void last_insert_rowid_is_the_statements_and_sqls_is_sqlites(void){
  Conn c;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)\"}");
  okBody(&c, "/batch", "{\"operations\":["
       "{\"sql\":\"INSERT INTO t VALUES (7, 'a')\"},"
       "{\"sql\":\"SELECT last_insert_rowid() AS id\"},"
       "{\"sql\":\"UPDATE t SET v = 'b' WHERE id = 7\"},"
       "{\"sql\":\"INSERT OR IGNORE INTO t VALUES (8, 'b')\"},"
       "{\"sql\":\"INSERT OR REPLACE INTO t VALUES (7, 'c')\"},"
       "{\"sql\":\"INSERT INTO t VALUES (0, 'zero')\"}]}",
       "{\"results\":[{\"rows\":[],\"rowsAffected\":1,\"lastInsertRowId\":7},"
       "{\"rows\":[{\"id\":7}],\"rowsAffected\":0,\"lastInsertRowId\":0},"
       "{\"rows\":[],\"rowsAffected\":1,\"lastInsertRowId\":0},"
       "{\"rows\":[],\"rowsAffected\":0,\"lastInsertRowId\":0},"
       "{\"rows\":[],\"rowsAffected\":1,\"lastInsertRowId\":7},"
       "{\"rows\":[],\"rowsAffected\":1,\"lastInsertRowId\":0}]}");
  /* From one request to the next, as in SQLite. */
  okBody(&c, "/query", "{\"sql\":\"SELECT last_insert_rowid() AS id\"}", "{\"rows\":[{\"id\":0}]}");
  okBody(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES (9, 'd')\"}", "{\"rowsAffected\":1,\"lastInsertRowId\":9}");
  okBody(&c, "/query", "{\"sql\":\"SELECT last_insert_rowid() AS id\"}", "{\"rows\":[{\"id\":9}]}");
  connClose(&c);
}

/*************************************************************** rowMode ***/

static void object_mode_answers_as_before(void){
  Conn c;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)\"}");
  okBody(&c, "/query", "{\"sql\":\"INSERT INTO t(b) VALUES('x') RETURNING a, b\"}",
       "{\"rows\":[{\"a\":1,\"b\":\"x\"}]}");
  okBody(&c, "/query", "{\"sql\":\"SELECT a, b FROM t\",\"rowMode\":\"object\"}",
       "{\"rows\":[{\"a\":1,\"b\":\"x\"}]}");
  okBody(&c, "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t(b) VALUES('y')\"},"
       "{\"sql\":\"SELECT 1 AS v, 2 AS v\"}]}",
       "{\"results\":[{\"rows\":[],\"rowsAffected\":1,\"lastInsertRowId\":2},"
       "{\"rows\":[{\"v\":1,\"v\":2}],\"rowsAffected\":0,\"lastInsertRowId\":0}]}");
  okBody(&c, "/batch", "{\"rowMode\":\"object\",\"operations\":[{\"sql\":\"SELECT count(*) AS n FROM t\"}]}",
       "{\"results\":[{\"rows\":[{\"n\":2}],\"rowsAffected\":0,\"lastInsertRowId\":0}]}");
  connClose(&c);
}

static void array_mode_keeps_every_column_in_order(void){
  Conn c;
  openConn(&c);
  okBody(&c, "/query", "{\"sql\":\"SELECT 1 AS a, 'x' AS a, NULL AS c, 2.5 AS \\\"0\\\"\",\"rowMode\":\"array\"}",
       "{\"columns\":[\"a\",\"a\",\"c\",\"0\"],\"rows\":[[1,\"x\",null,2.5]],"
       "\"rowsAffected\":0,\"lastInsertRowId\":0,\"readOnly\":true,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":16384}");
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)\"}");
  okBody(&c, "/query", "{\"sql\":\"SELECT id, name FROM t WHERE 0\",\"rowMode\":\"array\"}",
       "{\"columns\":[\"id\",\"name\"],\"rows\":[],"
       "\"rowsAffected\":0,\"lastInsertRowId\":0,\"readOnly\":true,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":20480}");
  okBody(&c, "/batch", "{\"rowMode\":\"array\",\"operations\":["
       "{\"sql\":\"INSERT INTO t(name) VALUES(?),(?)\",\"params\":[\"Ann\",\"Bob\"]},"
       "{\"sql\":\"SELECT id, name FROM t ORDER BY id\"},"
       "{\"sql\":\"UPDATE t SET name = upper(name) WHERE id = 2 RETURNING name\"}]}",
       "{\"results\":["
       "{\"columns\":[],\"rows\":[],\"rowsAffected\":2,\"lastInsertRowId\":2,\"readOnly\":false,\"schemaChanged\":false,\"databaseChanged\":true,\"sizeAfter\":20480},"
       "{\"columns\":[\"id\",\"name\"],\"rows\":[[1,\"Ann\"],[2,\"Bob\"]],\"rowsAffected\":0,\"lastInsertRowId\":0,"
       "\"readOnly\":true,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":20480},"
       "{\"columns\":[\"name\"],\"rows\":[[\"BOB\"]],\"rowsAffected\":1,\"lastInsertRowId\":0,"
       "\"readOnly\":false,\"schemaChanged\":false,\"databaseChanged\":true,\"sizeAfter\":20480}]}");
  connClose(&c);
}

static void array_mode_values_are_tagged_as_in_object_mode(void){
  Conn c;
  openConn(&c);
  okBody(&c, "/query", "{\"rowMode\":\"array\",\"sql\":\"SELECT ?, ?, 1e999, -1e999, 9007199254740991\","
       "\"params\":[{\"$bigint\":\"9007199254740993\"},{\"$blob\":\"AAH/\"}]}",
       "{\"columns\":[\"?\",\"?\",\"1e999\",\"-1e999\",\"9007199254740991\"],"
       "\"rows\":[[{\"$bigint\":\"9007199254740993\"},{\"$blob\":\"AAH/\"},{\"$real\":\"Infinity\"},"
       "{\"$real\":\"-Infinity\"},9007199254740991]],"
       "\"rowsAffected\":0,\"lastInsertRowId\":0,\"readOnly\":true,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":16384}");
  connClose(&c);
}

static void row_mode_must_be_object_or_array(void){
  Conn c;
  const char *azBad[] = {
    "{\"sql\":\"SELECT 1\",\"rowMode\":\"arrays\"}",
    "{\"sql\":\"SELECT 1\",\"rowMode\":1}",
    "{\"sql\":\"SELECT 1\",\"rowMode\":null}",
    "{\"sql\":\"SELECT 1\",\"rowMode\":\"ARRAY\"}",
  };
  unsigned i;
  openConn(&c);
  for(i=0; i<sizeof(azBad)/sizeof(azBad[0]); i++){
    Answer a = post(&c, "/query", azBad[i]);
    CHECK(a.status==400);
    CHECK_STR(answerCode(&a), "BAD_REQUEST");
    CHECK(answerError(&a) && strstr(answerError(&a), "rowMode must be \"object\""));
    answerFree(&a);
  }
  {
    Answer a = post(&c, "/batch", "{\"rowMode\":\"rows\",\"operations\":[{\"sql\":\"CREATE TABLE never(x)\"}]}");
    CHECK(a.status==400);
    CHECK_STR(answerCode(&a), "BAD_REQUEST");
    answerFree(&a);
  }
  CHECK_STR(scalar(&c, "SELECT count(*) FROM sqlite_schema WHERE name = 'never'"), "0");
  connClose(&c);
}

static void array_mode_keeps_the_result_limit(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  a = post(&c, "/query", "{\"rowMode\":\"array\",\"sql\":\"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
      "SELECT i+1 FROM n WHERE i<40) SELECT zeroblob(1000000) FROM n\"}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "RESULT_TOO_LARGE");
  answerFree(&a);
  a = post(&c, "/batch", "{\"rowMode\":\"array\",\"operations\":[{\"sql\":\"INSERT INTO t VALUES(1)\"},"
      "{\"sql\":\"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<40) "
      "SELECT zeroblob(1000000) FROM n\"}]}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "RESULT_TOO_LARGE");
  CHECK(answerInt(&a, "operation")==1);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
  connClose(&c);
}

/* The row that crosses the limit is refused before the body grows for it (to
** about twice its length, more than the heap holds): RESULT_TOO_LARGE, not an
** out-of-memory error, whatever the size of the rows; one just under it fits. */
static void the_row_that_crosses_the_result_limit_is_refused_as_too_large(void){
  static const char *azRows[] = { "31", "32", "33" };
  Conn c;
  int i;
  openConn(&c);
  for(i=0; i<3; i++){
    char zBody[256];
    Answer a;
    snprintf(zBody, sizeof(zBody), "{\"sql\":\"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
        "SELECT i+1 FROM n WHERE i<%s) SELECT printf('%%.*c', 1048576, 'a') FROM n\"}", azRows[i]);
    a = post(&c, "/query", zBody);
    CHECK(a.status==(i==0 ? 200 : 400));
    if( i>0 ) CHECK_STR(answerCode(&a), "RESULT_TOO_LARGE");
    answerFree(&a);
  }
  connClose(&c);
}

/**************************************************************** flags ***/

static void schema_changed_is_what_the_schema_cookie_says(void){
  Conn c;
  openConn(&c);
  CHECK(schemaChanged(&c, "CREATE TABLE t(a INTEGER PRIMARY KEY, b)")==1);
  CHECK(schemaChanged(&c, "CREATE TABLE IF NOT EXISTS t(x)")==0);   /* exists: nothing changed */
  CHECK(schemaChanged(&c, "DROP TABLE IF EXISTS nope")==0);
  CHECK(schemaChanged(&c, "CREATE INDEX i ON t(b)")==1);
  CHECK(schemaChanged(&c, "CREATE INDEX IF NOT EXISTS i ON t(b)")==0);
  CHECK(schemaChanged(&c, "CREATE VIEW v AS SELECT a FROM t")==1);
  CHECK(schemaChanged(&c, "DROP VIEW v")==1);
  CHECK(schemaChanged(&c, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END")==1);
  CHECK(schemaChanged(&c, "ALTER TABLE t ADD COLUMN c")==1);
  CHECK(schemaChanged(&c, "ALTER TABLE t RENAME TO u")==1);
  CHECK(schemaChanged(&c, "INSERT INTO u(b) VALUES(1)")==0);
  CHECK(schemaChanged(&c, "UPDATE u SET b = 2")==0);
  CHECK(schemaChanged(&c, "PRAGMA user_version = 3")==0);
  CHECK(schemaChanged(&c, "CREATE TEMP TABLE scratch(x)")==0);     /* main's schema only */
  CHECK(schemaChanged(&c, "DROP TABLE u")==1);
  connClose(&c);
}

static void read_only_is_sqlite3_stmt_readonly(void){
  Conn c;
  openConn(&c);
  okBody(&c, "/batch", "{\"rowMode\":\"array\",\"operations\":["
       "{\"sql\":\"CREATE TABLE t(x)\"},{\"sql\":\"SELECT * FROM t\"},"
       "{\"sql\":\"INSERT OR IGNORE INTO t VALUES(1)\"},{\"sql\":\"PRAGMA user_version = 1\"},"
       "{\"sql\":\"PRAGMA user_version\"}]}",
       "{\"results\":["
       "{\"columns\":[],\"rows\":[],\"rowsAffected\":0,\"lastInsertRowId\":0,\"readOnly\":false,\"schemaChanged\":true,\"databaseChanged\":true,\"sizeAfter\":20480},"
       "{\"columns\":[\"x\"],\"rows\":[],\"rowsAffected\":0,\"lastInsertRowId\":0,\"readOnly\":true,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":20480},"
       "{\"columns\":[],\"rows\":[],\"rowsAffected\":1,\"lastInsertRowId\":1,\"readOnly\":false,\"schemaChanged\":false,\"databaseChanged\":true,\"sizeAfter\":20480},"
       "{\"columns\":[],\"rows\":[],\"rowsAffected\":0,\"lastInsertRowId\":0,\"readOnly\":false,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":20480},"
       "{\"columns\":[\"user_version\"],\"rows\":[[1]],\"rowsAffected\":0,\"lastInsertRowId\":0,"
       "\"readOnly\":true,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":20480}]}");
  /* Inside an interactive transaction too. */
  okFree(&c, "/begin", "{}");
  txBody(&c, "/query", "{\"rowMode\":\"array\",\"sql\":\"CREATE TABLE u(y)\"}",
         "{\"columns\":[],\"rows\":[],\"rowsAffected\":0,\"lastInsertRowId\":0,\"readOnly\":false,\"schemaChanged\":true,\"databaseChanged\":true,\"sizeAfter\":24576}");
  txOk(&c, "/rollback", "{}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM sqlite_schema WHERE name = 'u'"), "0");
  connClose(&c);
}

/************************************************** transaction control ***/

/* zSql sent to zPath is refused as TRANSACTION_STATEMENT naming zWhich. */
static void refusedAs(Conn *pConn, const char *zPath, const char *zSql, const char *zWhich, uint32_t flags){
  cJSON *pReq = cJSON_CreateObject();
  char *zBody;
  Answer a;
  if( strcmp(zPath, "/batch")==0 ){
    cJSON *pOp = cJSON_CreateObject();
    cJSON_AddStringToObject(pOp, "sql", zSql);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(pReq, "operations"), pOp);
  }else{
    cJSON_AddStringToObject(pReq, "sql", zSql);
  }
  zBody = cJSON_PrintUnformatted(pReq);
  a = callFlags(pConn, "POST", zPath, zBody, flags);
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "TRANSACTION_STATEMENT");
  CHECK_STR(answerStr(&a, "statement"), zWhich);
  /* Where a transaction is open, how to end it; elsewhere, how to open one. */
  CHECK(answerError(&a) && strstr(answerError(&a), (flags & DOSQL_REQUEST_IN_TRANSACTION) ? "/commit and /rollback end" : "/begin"));
  if( a.status!=400 ) printf("  %s %s -> %d %s\n", zPath, zSql, a.status, a.zBody);
  answerFree(&a);
  cJSON_free(zBody);
  cJSON_Delete(pReq);
}

static void transaction_statements_are_named_by_sqlite(void){
  Conn c;
  Answer a;
  openConn(&c);
  refusedAs(&c, "/run", "BEGIN", "begin", 0);
  refusedAs(&c, "/query", "begin immediate transaction;", "begin", 0);
  refusedAs(&c, "/batch", " /* a comment */ BEGIN EXCLUSIVE", "begin", 0);
  refusedAs(&c, "/batch", "COMMIT", "commit", 0);
  refusedAs(&c, "/batch", "end transaction", "commit", 0);
  refusedAs(&c, "/batch", "-- why\nROLLBACK;", "rollback", 0);
  refusedAs(&c, "/run", "ROLLBACK TRANSACTION", "rollback", 0);
  /* Not transaction control: a savepoint statement, a string, two statements. */
  a = postSql(&c, "/run", "ROLLBACK TO sp");
  CHECK(a.status==403);
  CHECK_STR(answerCode(&a), "SQLITE_AUTH");
  CHECK(answerStr(&a, "statement")==0);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT 'BEGIN'"), "\"BEGIN\"");
  /* Explained, it is a program listed and never run: its rows, and no transaction. */
  a = postSql(&c, "/query", "EXPLAIN BEGIN");
  CHECK(a.status==200 && strstr(a.zBody, "\"AutoCommit\""));
  answerFree(&a);
  a = post(&c, "/query", "{\"sql\":\"EXPLAIN QUERY PLAN ROLLBACK\",\"rowMode\":\"array\"}");
  CHECK(a.status==200 && strstr(a.zBody, ",\"explains\":\"rollback\"}"));
  answerFree(&a);
  a = post(&c, "/query", "{\"sql\":\"EXPLAIN SELECT 1\",\"rowMode\":\"array\"}");
  CHECK(a.status==200 && strstr(a.zBody, "explains")==0);
  answerFree(&a);
  CHECK(sqlite3_get_autocommit(c.db));
  a = postSql(&c, "/run", "SELECT 1; BEGIN");
  CHECK_STR(answerCode(&a), "MULTIPLE_STATEMENTS");
  CHECK(answerStr(&a, "statement")==0);
  answerFree(&a);
  /* Followed by another statement: not named as transaction control, which a client
  ** would run as /begin or /commit and drop the rest unrun. Followed by nothing but
  ** comments and semicolons: named. */
  {
    static const char *azTwo[] = {
      "BEGIN; SELECT 1", "COMMIT; DELETE FROM nowhere", "ROLLBACK;\n-- x\nSELECT 2",
      "END TRANSACTION /* c */ ; BEGIN", "BEGIN; SELEC",
    };
    int i;
    for(i=0; i<(int)(sizeof(azTwo)/sizeof(azTwo[0])); i++){
      a = postSql(&c, "/run", azTwo[i]);
      CHECK(a.status==400);
      CHECK_STR(answerCode(&a), "MULTIPLE_STATEMENTS");
      CHECK(answerStr(&a, "statement")==0);
      answerFree(&a);
    }
  }
  refusedAs(&c, "/batch", "BEGIN;;", "begin", 0);
  refusedAs(&c, "/run", "COMMIT; -- done\n /* really */ ;", "commit", 0);
  /* In a script: the statement, its index and where it begins. */
  a = post(&c, "/exec", "{\"sql\":\"CREATE TABLE t(x);\\n  BEGIN; INSERT INTO t VALUES(1); COMMIT;\"}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "TRANSACTION_STATEMENT");
  CHECK_STR(answerStr(&a, "statement"), "begin");
  CHECK(answerInt(&a, "operation")==1);
  CHECK(answerInt(&a, "statementOffset")==21);
  CHECK(answerError(&a) && strstr(answerError(&a), "not allowed in a script, which runs as one "
        "transaction already: leave them out (a sqlite3 .dump holds them)"));
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM sqlite_schema WHERE name = 't'"), "0");
  /* Inside an interactive transaction: refused, and the transaction stays. */
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  refusedAs(&c, "/batch", "BEGIN", "begin", DOSQL_REQUEST_IN_TRANSACTION);
  refusedAs(&c, "/batch", "COMMIT", "commit", DOSQL_REQUEST_IN_TRANSACTION);
  CHECK(c.bInteractive);
  txOk(&c, "/commit", "{}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "1");
  connClose(&c);
}

static void a_savepoint_alone_in_a_batch_nests_in_the_interactive_transaction(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/begin", "{}");
  txOk(&c, "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t VALUES(1)\"}]}");
  txOk(&c, "/batch", "{\"operations\":[{\"sql\":\"SAVEPOINT sp\"}]}");
  txOk(&c, "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t VALUES(2)\"}]}");
  txOk(&c, "/batch", "{\"operations\":[{\"sql\":\"ROLLBACK TO sp\"}]}");
  txOk(&c, "/transaction", "{\"operations\":[{\"type\":\"run\",\"sql\":\"RELEASE SAVEPOINT sp\"}]}");
  /* The savepoint is gone: the request's own savepoint did not swallow it. */
  a = callFlags(&c, "POST", "/batch", "{\"operations\":[{\"sql\":\"RELEASE sp\"}]}", DOSQL_REQUEST_IN_TRANSACTION);
  CHECK(a.status==400);
  CHECK(answerError(&a) && strstr(answerError(&a), "no such savepoint: sp"));
  answerFree(&a);
  txBody(&c, "/batch", "{\"rowMode\":\"array\",\"operations\":[{\"sql\":\"SAVEPOINT sp2\"}]}",
         "{\"results\":[{\"columns\":[],\"rows\":[],\"rowsAffected\":0,\"lastInsertRowId\":0,"
         "\"readOnly\":true,\"schemaChanged\":false,\"databaseChanged\":false,\"sizeAfter\":20480}]}");
  txOk(&c, "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t VALUES(3)\"}]}");
  txOk(&c, "/commit", "{}");
  CHECK_STR(scalar(&c, "SELECT group_concat(x) FROM t"), "\"1,3\"");
  /* Outside a transaction a savepoint statement alone has nothing to nest in. */
  a = post(&c, "/batch", "{\"operations\":[{\"sql\":\"SAVEPOINT sp\"}]}");
  CHECK(a.status==403);
  CHECK(answerError(&a) && strstr(answerError(&a), "only inside a transaction"));
  CHECK(answerInt(&a, "operation")==0);
  answerFree(&a);
  CHECK(sqlite3_get_autocommit(c.db));
  connClose(&c);
}

/*************************************************************** offset ***/

static void sqlite_errors_about_a_token_give_its_offset(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  a = postSql(&c, "/query", "SELEC 1");
  CHECK_STR(answerCode(&a), "SQLITE_ERROR");
  CHECK(answerInt(&a, "offset")==0);
  answerFree(&a);
  a = postSql(&c, "/run", "SELECT nope FROM t");
  CHECK(answerError(&a) && strstr(answerError(&a), "no such column: nope"));
  CHECK(answerInt(&a, "offset")==7);
  answerFree(&a);
  a = postSql(&c, "/run", "SELECT 1 WHERE");       /* incomplete input: no token */
  CHECK_STR(answerCode(&a), "SQLITE_ERROR");
  CHECK(answerInt(&a, "offset")==-1);
  answerFree(&a);
  a = postSql(&c, "/run", "SELECT 1; SELEC 2");    /* the second statement's error is not given */
  CHECK_STR(answerCode(&a), "MULTIPLE_STATEMENTS");
  CHECK(answerInt(&a, "offset")==-1);
  answerFree(&a);
  a = post(&c, "/batch", "{\"operations\":[{\"sql\":\"SELECT 1\"},{\"sql\":\"SELECT x FROM t WHERE y = 1\"}]}");
  CHECK(answerInt(&a, "operation")==1);
  CHECK(answerInt(&a, "offset")==22);       /* y: t has no such column */
  answerFree(&a);
  a = post(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1, 2)\"}"); /* not about one token */
  CHECK_STR(answerCode(&a), "SQLITE_ERROR");
  CHECK(answerInt(&a, "offset")==-1);
  answerFree(&a);
  /* A script: offsets count from the start of sql. */
  a = post(&c, "/exec", "{\"sql\":\"INSERT INTO t VALUES(1);\\n  SELEC 2;\"}");
  CHECK(answerInt(&a, "operation")==1);
  CHECK(answerInt(&a, "statementOffset")==27);
  CHECK(answerInt(&a, "offset")==27);
  answerFree(&a);
  a = post(&c, "/exec", "{\"sql\":\"SELECT 1; -- one\\n/* two */ SELECT nope FROM t;\"}");
  CHECK(answerInt(&a, "operation")==1);
  CHECK(answerInt(&a, "statementOffset")==27);
  CHECK(answerInt(&a, "offset")==34);
  answerFree(&a);
  /* A failure while running: the statement, no token. */
  okFree(&c, "/run", "{\"sql\":\"CREATE UNIQUE INDEX u ON t(x)\"}");
  a = post(&c, "/exec", "{\"sql\":\"INSERT INTO t VALUES(5);INSERT INTO t VALUES(5);\"}");
  CHECK_STR(answerCode(&a), "SQLITE_CONSTRAINT_UNIQUE");
  CHECK(answerInt(&a, "operation")==1);
  CHECK(answerInt(&a, "statementOffset")==24);
  CHECK(answerInt(&a, "offset")==-1);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
  connClose(&c);
}

int main(void){
  RUN(last_insert_rowid_is_the_statements_and_sqls_is_sqlites);
  RUN(object_mode_answers_as_before);
  RUN(array_mode_keeps_every_column_in_order);
  RUN(array_mode_values_are_tagged_as_in_object_mode);
  RUN(row_mode_must_be_object_or_array);
  RUN(array_mode_keeps_the_result_limit);
  RUN(the_row_that_crosses_the_result_limit_is_refused_as_too_large);
  RUN(schema_changed_is_what_the_schema_cookie_says);
  RUN(read_only_is_sqlite3_stmt_readonly);
  RUN(transaction_statements_are_named_by_sqlite);
  RUN(a_savepoint_alone_in_a_batch_nests_in_the_interactive_transaction);
  RUN(sqlite_errors_about_a_token_give_its_offset);
  return HARNESS_END();
}
