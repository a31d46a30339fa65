/*
** test_errors.c — every failure answers with a status, a stable code and a
** message that says what went wrong (errors.c, handler.c, conn.c).
*/
#include "harness.h"
#include "config.h"
#include "errors.h"

static void every_result_code_has_a_name_and_status(void){
  int rc;
  for(rc=1; rc<=SQLITE_WARNING; rc++){
    int status = dosqlResultStatus(rc);
    CHECK(strncmp(dosqlResultName(rc), "SQLITE_", 7)==0);
    CHECK(status>=400 && status<600);
  }
  CHECK_STR(dosqlResultName(SQLITE_CONSTRAINT_UNIQUE), "SQLITE_CONSTRAINT_UNIQUE");
  CHECK_STR(dosqlResultName(SQLITE_IOERR_FSYNC), "SQLITE_IOERR_FSYNC");
  CHECK_STR(dosqlResultName(SQLITE_CONSTRAINT | (99<<8)), "SQLITE_CONSTRAINT");
  CHECK(dosqlResultStatus(SQLITE_CONSTRAINT_FOREIGNKEY)==409);
  CHECK(dosqlResultStatus(SQLITE_AUTH)==403);
  CHECK(dosqlResultStatus(SQLITE_ERROR)==400);
  CHECK(dosqlResultStatus(SQLITE_CORRUPT)==500);
}

/* POST and check status, code and that the message contains zMsg. */
static void expect(Conn *pConn, const char *zMethod, const char *zPath, const char *zBody,
                   int status, const char *zCode, const char *zMsg){
  Answer a = call(pConn, zMethod, zPath, zBody);
  CHECK(a.status==status);
  CHECK_STR(answerCode(&a), zCode);
  CHECK(answerError(&a) && strstr(answerError(&a), zMsg));
  if( a.status!=status || !answerError(&a) || !strstr(answerError(&a), zMsg) ){
    printf("  %s %s -> %d %s\n", zPath, zBody, a.status, a.zBody);
  }
  answerFree(&a);
}

static void caller_mistakes_are_4xx(void){
  Conn c;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO users(email) VALUES('a@x')\"}");
  expect(&c, "POST", "/query", "{\"sql\":", 400, "BAD_JSON", "not valid JSON");
  expect(&c, "POST", "/query", "[1]", 400, "BAD_REQUEST", "JSON object");
  expect(&c, "POST", "/query", "{\"sql\":\"SELECT 1\"} {\"sql\":\"DROP TABLE users\"}",
         400, "BAD_JSON", "bytes after");
  expect(&c, "POST", "/query", "{\"sql\":\"SELECT ?\",\"params\":[\"a\\u0000b\"]}",
         400, "BAD_JSON", "\\u0000");
  expect(&c, "POST", "/query", "{\"params\":[]}", 400, "BAD_REQUEST", "sql must be");
  expect(&c, "POST", "/query", "{\"sql\":7}", 400, "BAD_REQUEST", "sql must be");
  expect(&c, "POST", "/query", "{\"sql\":\"-- nothing\"}", 400, "BAD_REQUEST", "no statement");
  expect(&c, "POST", "/query", "{\"sql\":\"SELECT 1; SELECT 2\"}", 400, "MULTIPLE_STATEMENTS", "more than one");
  expect(&c, "POST", "/nope", "{}", 404, "NOT_FOUND", "no endpoint /nope");
  {
    /* A path may be megabytes: the message repeats its start. */
    char zLong[4001];
    Answer a;
    memset(zLong, 'k', 4000);
    zLong[0] = '/';
    zLong[4000] = 0;
    a = call(&c, "POST", zLong, "{}");
    CHECK(a.status==404);
    CHECK(answerError(&a) && strlen(answerError(&a))<300 && strstr(answerError(&a), "kkk...: use POST"));
    answerFree(&a);
  }
  {
    /* SQLite's own message repeats a name as given: cut short too. */
    char *zBody = sqlite3_mprintf("{\"sql\":\"SELECT * FROM %.*c\"}", 60000, 'k');
    Answer a = call(&c, "POST", "/query", zBody);
    CHECK(a.status==400);
    CHECK(answerError(&a) && strlen(answerError(&a))<=REPLY_MESSAGE_BYTES+3
          && strncmp(answerError(&a), "no such table: kkk", 18)==0
          && strcmp(answerError(&a)+strlen(answerError(&a))-6, "kkk...")==0);
    answerFree(&a);
    sqlite3_free(zBody);
  }
  expect(&c, "GET", "/query", "", 405, "METHOD_NOT_ALLOWED", "only POST");
  expect(&c, "POST", "/query", "{\"sql\":\"SELEC 1\"}", 400, "SQLITE_ERROR", "syntax error");
  expect(&c, "POST", "/query", "{\"sql\":\"SELECT * FROM nope\"}", 400, "SQLITE_ERROR", "no such table: nope");
  expect(&c, "POST", "/run", "{\"sql\":\"INSERT INTO users(email) VALUES('a@x')\"}",
         409, "SQLITE_CONSTRAINT_UNIQUE", "UNIQUE constraint failed: users.email");
  expect(&c, "POST", "/run", "{\"sql\":\"INSERT INTO users(email) VALUES(NULL)\"}",
         409, "SQLITE_CONSTRAINT_NOTNULL", "NOT NULL constraint failed: users.email");
  /* A limit of the database's own, not storage: the caller's, and said so. */
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE ai(id INTEGER PRIMARY KEY AUTOINCREMENT, v);"
      " INSERT INTO ai VALUES (9223372036854775807, 1)\"}");
  expect(&c, "POST", "/run", "{\"sql\":\"INSERT INTO ai(v) VALUES (2)\"}",
         400, "SQLITE_FULL", "not storage: a limit of the database's own");
  expect(&c, "POST", "/batch", "{\"operations\":[{\"sql\":\"PRAGMA max_page_count=1\"},"
      "{\"sql\":\"INSERT INTO users(email) SELECT hex(randomblob(900)) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5)\"}]}",
         400, "SQLITE_FULL", "PRAGMA max_page_count");
  expect(&c, "POST", "/transaction", "{\"operations\":[]}", 400, "BAD_REQUEST", "non-empty array");
  expect(&c, "POST", "/transaction", "{\"operations\":[{\"type\":\"exec\",\"sql\":\"SELECT 1\"}]}",
         400, "BAD_REQUEST", "operation 0");
  connClose(&c);
}

/* A field a route does not take is refused before anything runs, naming it and
** the fields the route takes: a misspelt one must not be dropped without a word
** ({"asof"} would read the present, {"timeout"} keep the default). */
static void fields_a_route_does_not_take_are_refused(void){
  static const struct { const char *zPath, *zBody, *zMsg; } aCase[] = {
    { "/query", "{\"sql\":\"SELECT 1\",\"asof\":1}",
      "/query does not take the field \"asof\": it takes sql, params, rowMode and asOf (names are case-sensitive: did you mean asOf?)" },
    { "/query", "{\"SQL\":\"SELECT 1\"}", "did you mean sql?" },
    { "/query", "{\"sql\":\"SELECT ?\",\"param\":[1]}", "\"param\": it takes sql, params, rowMode and asOf" },
    { "/run", "{\"sql\":\"DELETE FROM t\",\"rowMode\":\"array\"}", "/run does not take the field \"rowMode\": it takes sql and params" },
    { "/batch", "{\"statements\":[{\"sql\":\"SELECT 1\"}]}", "it takes operations, rowMode and asOf" },
    { "/transaction", "{\"operations\":[{\"type\":\"run\",\"sql\":\"DELETE FROM t\"}],\"rowMode\":\"array\"}",
      "/transaction does not take the field \"rowMode\": it takes operations" },
    { "/exec", "{\"sql\":\"DELETE FROM t\",\"script\":1}", "it takes sql and params" },
    { "/begin", "{\"timeout\":5000}", "/begin does not take the field \"timeout\": it takes timeoutMs" },
    { "/commit", "{\"txId\":\"x\"}", "/commit does not take the field \"txId\": it takes no fields" },
    { "/history", "{\"since\":1}", "/history does not take the field \"since\": it takes no fields" },
    { "/changes", "{\"tabels\":[\"t\"]}", "it takes since, limit and tables" },
    { "/diff", "{\"from\":1,\"tabels\":[\"t\"]}", "it takes from, to, tables and limit" },
  };
  Conn c;
  unsigned i;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  for(i=0; i<sizeof(aCase)/sizeof(aCase[0]); i++){
    expect(&c, "POST", aCase[i].zPath, aCase[i].zBody, 400, "BAD_REQUEST", aCase[i].zMsg);
  }
  /* Nothing ran: the row every DELETE above would have taken is there. */
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "1");
  /* In an operation: named by its index, as any operation's error is. */
  {
    Answer a = post(&c, "/batch", "{\"operations\":[{\"sql\":\"SELECT 1\"},{\"sql\":\"SELECT ?\",\"parms\":[1]}]}");
    const cJSON *pOp = cJSON_GetObjectItem(a.pJson, "operation");
    CHECK(a.status==400);
    CHECK_STR(answerCode(&a), "BAD_REQUEST");
    CHECK(answerError(&a) && strstr(answerError(&a), "operation 1 does not take the field \"parms\": it takes sql, params and type"));
    CHECK(cJSON_IsNumber(pOp) && pOp->valueint==1);
    answerFree(&a);
  }
  expect(&c, "POST", "/transaction", "{\"operations\":[{\"type\":\"run\",\"sql\":\"DELETE FROM t\",\"params\":[],\"sq\":1}]}",
         400, "BAD_REQUEST", "operation 0 does not take the field \"sq\"");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "1");
  /* A long name is cut where a character starts, so the message stays UTF-8. */
  {
    sqlite3_str *p = sqlite3_str_new(0);
    char *z;
    Answer a;
    sqlite3_str_appendall(p, "{\"sql\":\"SELECT 1\",\"");
    sqlite3_str_appendchar(p, 63, 'a');
    sqlite3_str_appendall(p, "\xc3\xa9\xc3\xa9\":1}");      /* 'é' across byte 64 */
    z = sqlite3_str_finish(p);
    a = post(&c, "/query", z);
    CHECK(a.status==400);
    CHECK(a.pJson!=0);
    CHECK(answerError(&a) && strstr(answerError(&a), "aaa...\": it takes") && !strstr(answerError(&a), "\xc3"));
    answerFree(&a);
    sqlite3_free(z);
  }
  /* A GET's query, which the host sends as the body: a parameter of the page's
  ** own is left alone, one that differs from a field in case alone is refused. */
  {
    Answer a = callFlags(&c, "GET", "/export", "{\"cb\":\"1\"}", DOSQL_REQUEST_INTERNAL);
    CHECK(a.status==200);
    answerFree(&a);
    a = callFlags(&c, "GET", "/export", "{\"cb\":\"1\",\"asof\":\"1\"}", DOSQL_REQUEST_INTERNAL);
    CHECK(a.status==400);
    CHECK(answerError(&a) && strstr(answerError(&a), "/export does not take the query parameter \"asof\": it takes asOf (names are case-sensitive: did you mean asOf?)"));
    answerFree(&a);
    a = callFlags(&c, "POST", "/subscribe", "{\"cb\":\"1\"}", DOSQL_REQUEST_INTERNAL);
    CHECK(a.status==400);
    CHECK(answerError(&a) && strstr(answerError(&a), "/subscribe does not take the field \"cb\""));
    answerFree(&a);
  }
  /* What a route knows only to refuse keeps its own message. */
  expect(&c, "POST", "/exec", "{\"sql\":\"SELECT 1\",\"params\":[1]}", 400, "BAD_PARAMS", "binds no params");
  connClose(&c);
}

static void trailing_semicolons_and_comments_are_one_statement(void){
  Conn c;
  openConn(&c);
  CHECK_STR(scalar(&c, "SELECT 1; ;  -- done\n /* really */"), "1");
  connClose(&c);
}

/* SQLite applies a setting PRAGMA as it prepares it: a statement after the first,
** prepared only to refuse the text, must not change the connection. */
static void a_refused_second_statement_changes_no_setting(void){
  Conn c;
  openConn(&c);
  expect(&c, "POST", "/query", "{\"sql\":\"SELECT 1; PRAGMA recursive_triggers=ON\"}",
         400, "MULTIPLE_STATEMENTS", "more than one");
  expect(&c, "POST", "/query", "{\"sql\":\"BEGIN; PRAGMA reverse_unordered_selects=ON\"}",
         400, "MULTIPLE_STATEMENTS", "more than one");
  expect(&c, "POST", "/query", "{\"sql\":\"SELECT 1; PRAGMA secure_delete=ON; SELECT 2\"}",
         400, "MULTIPLE_STATEMENTS", "more than one");
  CHECK_STR(scalar(&c, "PRAGMA recursive_triggers"), "0");
  CHECK_STR(scalar(&c, "PRAGMA reverse_unordered_selects"), "0");
  CHECK_STR(scalar(&c, "PRAGMA secure_delete"), "0");
  expect(&c, "POST", "/query", "{\"sql\":\"PRAGMA recursive_triggers=ON; SELECT 1\"}",
         400, "MULTIPLE_STATEMENTS", "more than one");
  CHECK_STR(scalar(&c, "PRAGMA recursive_triggers"), "0");
  connClose(&c);
}

static void oversized_body_is_413_without_reading_it(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = answerFrom(handleRequest(&c, "POST", 4, "/query", 6, 0, DOSQL_MAX_REQUEST_BYTES+1, 0));
  CHECK(a.status==413);
  CHECK_STR(answerCode(&a), "PAYLOAD_TOO_LARGE");
  answerFree(&a);
  connClose(&c);
}

static void transaction_failure_names_the_operation_and_keeps_nothing(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x UNIQUE)\"}");
  a = post(&c, "/transaction", "{\"operations\":["
      "{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(1)\"},"
      "{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(1)\"}]}");
  CHECK(a.status==409);
  CHECK(cJSON_GetObjectItem(a.pJson, "operation") && cJSON_GetObjectItem(a.pJson, "operation")->valueint==1);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
  a = ok(&c, "/transaction", "{\"operations\":["
      "{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(1)\"},"
      "{\"type\":\"query\",\"sql\":\"SELECT x FROM t\"}]}");
  CHECK_STR(a.zBody, "[{\"x\":1}]");
  answerFree(&a);
  a = ok(&c, "/transaction", "{\"operations\":[{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(2)\"}]}");
  CHECK_STR(a.zBody, "{\"rowsAffected\":1,\"lastInsertRowId\":2}");
  answerFree(&a);
  connClose(&c);
}

static void run_and_query_shapes(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = ok(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  CHECK_STR(a.zBody, "{\"rowsAffected\":0,\"lastInsertRowId\":0}");
  answerFree(&a);
  a = ok(&c, "/query", "{\"sql\":\"INSERT INTO t VALUES(5),(6) RETURNING x\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"x\":5},{\"x\":6}]}");
  answerFree(&a);
  /* lastInsertRowId is this statement's: 0 when it inserted nothing */
  a = ok(&c, "/run", "{\"sql\":\"SELECT * FROM t\"}");
  CHECK_STR(a.zBody, "{\"rowsAffected\":0,\"lastInsertRowId\":0}");
  answerFree(&a);
  a = ok(&c, "/run", "{\"sql\":\"UPDATE t SET x = x + 1\"}");
  CHECK_STR(a.zBody, "{\"rowsAffected\":2,\"lastInsertRowId\":0}");
  answerFree(&a);
  a = ok(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(9)\"}");
  CHECK_STR(a.zBody, "{\"rowsAffected\":1,\"lastInsertRowId\":3}");
  answerFree(&a);
  connClose(&c);
}

static void runaway_query_hits_the_cpu_budget_and_the_object_recovers(void){
  Conn c;
  openConn(&c);
  expect(&c, "POST", "/query",
         "{\"sql\":\"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n) SELECT count(*) FROM n\"}",
         400, "CPU_LIMIT", "CPU budget");
  CHECK_STR(scalar(&c, "SELECT 2"), "2");
  connClose(&c);
}

static void huge_result_is_refused(void){
  Conn c;
  openConn(&c);
  expect(&c, "POST", "/query",
         "{\"sql\":\"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<40) "
         "SELECT zeroblob(1000000) FROM n\"}",
         400, "RESULT_TOO_LARGE", "LIMIT");
  connClose(&c);
}

int main(void){
  RUN(every_result_code_has_a_name_and_status);
  RUN(caller_mistakes_are_4xx);
  RUN(fields_a_route_does_not_take_are_refused);
  RUN(trailing_semicolons_and_comments_are_one_statement);
  RUN(a_refused_second_statement_changes_no_setting);
  RUN(oversized_body_is_413_without_reading_it);
  RUN(transaction_failure_names_the_operation_and_keeps_nothing);
  RUN(run_and_query_shapes);
  RUN(runaway_query_hits_the_cpu_budget_and_the_object_recovers);
  RUN(huge_result_is_refused);
  return HARNESS_END();
}
