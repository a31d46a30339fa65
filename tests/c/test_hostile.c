/*
** test_hostile.c — what a hostile tenant tried, as classes: reserved names in
** every schema, user SQL fired by trusted work, names the engine's own SQL
** uses, work done inside single function calls, bodies the two JSON readers
** could read differently, and forged internal tables in a database file.
*/
#include "harness.h"
#include "config.h"
#include "internal.h"
#include "sqlite/unit.h"

static void expectCode(Conn *pConn, const char *zPath, const char *zBody, int status, const char *zCode){
  Answer a = post(pConn, zPath, zBody);
  CHECK(a.status==status);
  if( zCode ) CHECK_STR(answerCode(&a), zCode);
  if( a.status!=status || (zCode && strcmp(answerCode(&a) ? answerCode(&a) : "", zCode)) ) printf("  %s %.200s -> %d %.300s\n", zPath, zBody, a.status, a.zBody);
  answerFree(&a);
}

/* The query zSql stops at CPU_LIMIT under a budget of 2 ms (60,000 units),
** which its steps alone would not spend, and answers under the default one. */
static void expectStoppedAtTwoMs(Conn *pConn, const char *zSql){
  char *zBody = sqlite3_mprintf("{\"sql\":\"%s\"}", zSql);
  pConn->nCpuBudgetMs = 2;
  expectCode(pConn, "/query", zBody, 400, "CPU_LIMIT");
  pConn->nCpuBudgetMs = DOSQL_CPU_BUDGET_MS;
  expectCode(pConn, "/query", zBody, 200, 0);
  sqlite3_free(zBody);
}

/* Each of the n bodies in az, posted to /query, answers status (and zCode). */
static void expectEach(Conn *pConn, const char *const *az, int n, int status, const char *zCode){
  int i;
  for(i=0; i<n; i++) expectCode(pConn, "/query", az[i], status, zCode);
}

/* status 4 means any 4xx. */
static void expectSql(Conn *pConn, const char *zSql, int status, const char *zCode){
  Answer a = postSql(pConn, "/run", zSql);
  if( status==4 ) CHECK(a.status>=400 && a.status<500);
  else CHECK(a.status==status);
  if( zCode ) CHECK_STR(answerCode(&a), zCode);
  if( a.status!=status && status!=4 ) printf("  %s -> %d %s\n", zSql, a.status, a.zBody);
  answerFree(&a);
}

static void reserved_names_are_refused_in_every_schema(void){
  static const char *const azName[] = { "_dosql_changes", "_DOSQL_MIGRATIONS", "_dosql_x" };
  Conn c;
  unsigned i;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  for(i=0; i<sizeof(azName)/sizeof(azName[0]); i++){
    char *z;
    z = sqlite3_mprintf("CREATE TEMP TABLE %s(x)", azName[i]); expectSql(&c, z, 403, "SQLITE_AUTH"); sqlite3_free(z);
    z = sqlite3_mprintf("CREATE TEMP VIEW %s AS SELECT 1", azName[i]); expectSql(&c, z, 403, "SQLITE_AUTH"); sqlite3_free(z);
    z = sqlite3_mprintf("CREATE VIRTUAL TABLE temp.%s USING fts5(a)", azName[i]); expectSql(&c, z, 403, "SQLITE_AUTH"); sqlite3_free(z);
    z = sqlite3_mprintf("CREATE TEMP TRIGGER tr AFTER INSERT ON main.%s BEGIN SELECT 1; END", azName[i]);
    expectSql(&c, z, 4, 0); sqlite3_free(z);
    /* The rename the authorizer cannot see: checked after the statement. */
    okFree(&c, "/run", "{\"sql\":\"CREATE TEMP TABLE x(lsn, tx_id, ts, type, tbl, data, old)\"}");
    z = sqlite3_mprintf("ALTER TABLE temp.x RENAME TO %s", azName[i]); expectSql(&c, z, 403, "SQLITE_AUTH"); sqlite3_free(z);
    z = sqlite3_mprintf("ALTER TABLE t RENAME TO %s", azName[i]); expectSql(&c, z, 4, 0); sqlite3_free(z);
    okFree(&c, "/run", "{\"sql\":\"DROP TABLE temp.x\"}");
  }
  /* A virtual table whose shadow tables would take reserved names. */
  expectSql(&c, "CREATE VIRTUAL TABLE _dosql USING fts5(a)", 403, "SQLITE_AUTH");
  /* Nothing of it stayed: the engine still captures into its own log. */
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM temp.sqlite_schema"), "0");
  CHECK_STR(scalar(&c, "SELECT json_extract(data,'$.x') FROM main._dosql_changes WHERE tbl='t'"), "1");
  connClose(&c);
}

static void triggers_fired_by_trusted_work_are_user_sql(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"CREATE TRIGGER wipe AFTER INSERT ON t BEGIN DELETE FROM _dosql_migrations; END\"}");
  /* A migration (trusted) inserting into t fires the user's trigger: denied. */
  a = migrate(&c, "{\"migrations\":[{\"name\":\"001.sql\",\"sql\":\"INSERT INTO t VALUES(1)\"}]}");
  CHECK(a.status==500);
  CHECK_STR(answerCode(&a), "MIGRATION_FAILED");
  CHECK(answerError(&a) && strstr(answerError(&a), "not authorized"));
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM _dosql_migrations"), "0");
  connClose(&c);
}

static void names_the_engine_uses_cannot_be_shadowed(void){
  Conn c;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE pragma_table_xinfo(name, hidden)\"}");
  okFree(&c, "/run", "{\"sql\":\"CREATE TEMP TABLE pragma_database_list(name)\"}");
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE a(x, y)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO a VALUES(1, 2)\"}");
  CHECK_STR(scalar(&c, "SELECT data FROM main._dosql_changes WHERE tbl='a'"), "\"{\\\"x\\\":1,\\\"y\\\":2}\"");
  /* The view reads through json_each(): no object may take that name, which
  ** would break the view and every ALTER TABLE that checks views. */
  expectSql(&c, "CREATE TABLE json_each(value)", 403, "SQLITE_AUTH");
  expectSql(&c, "CREATE TEMP TABLE JSON_EACH(value)", 403, "SQLITE_AUTH");
  expectSql(&c, "CREATE VIEW json_each AS SELECT 1", 403, "SQLITE_AUTH");
  expectSql(&c, "CREATE VIRTUAL TABLE json_each USING fts5(x)", 403, "SQLITE_AUTH");
  expectSql(&c, "ALTER TABLE a RENAME TO json_each", 4, 0);
  /* legacy_alter_table would let that rename skip SQLite's check of the views. */
  expectSql(&c, "PRAGMA legacy_alter_table=ON", 403, "SQLITE_AUTH");
  /* One that a file brings anyway hides it from the user's SQL only: the
  ** engine reads the log without SQL of that kind, and the table can go. */
  forge(&c, "CREATE TABLE json_each(value)");
  expectSql(&c, "SELECT data FROM _dosql_changes", 400, "SQLITE_ERROR");
  {
    Answer a = ok(&c, "/changes", "{\"tables\":[\"a\"]}");
    const cJSON *pEvents = cJSON_GetObjectItem(a.pJson, "events");
    CHECK(cJSON_GetArraySize(pEvents)==1);
    answerFree(&a);
  }
  okFree(&c, "/run", "{\"sql\":\"DROP TABLE json_each\"}");
  okFree(&c, "/run", "{\"sql\":\"ALTER TABLE a RENAME TO b\"}");
  /* The schema check after ALTER reads every schema, whatever the user named. */
  okFree(&c, "/run", "{\"sql\":\"CREATE TEMP TABLE y(x)\"}");
  expectSql(&c, "ALTER TABLE temp.y RENAME TO _dosql_changes", 403, "SQLITE_AUTH");
  connClose(&c);
}

/* A /query whose one function call would do O(n*m) work on big strings (the
** pattern stays under SQLite's LIKE pattern limit, 50,000 bytes). */
static void bomb(Conn *pConn, const char *zExpr){
  char *zBody = sqlite3_mprintf(
      "{\"sql\":\"WITH s(a, b) AS (SELECT replace(hex(zeroblob(4000000)),'0','a')||'b', "
      "replace(hex(zeroblob(20000)),'0','a')||'c') SELECT %s\"}", zExpr);
  expectCode(pConn, "/query", zBody, 400, "CPU_LIMIT");
  sqlite3_free(zBody);
}

static void cpu_bombs_inside_one_function_stop_at_the_budget(void){
  Conn c;
  openConn(&c);
  bomb(&c, "instr(a, b) FROM s");
  bomb(&c, "a LIKE '%' || b || '%' FROM s");
  bomb(&c, "a GLOB '*' || b || '*' FROM s");
  bomb(&c, "length(replace(a, b, 'x')) FROM s");
  bomb(&c, "length(trim(a, b)) FROM s");
  /* Linear work repeated: each call small, their sum over the budget. */
  expectCode(&c, "/query", "{\"sql\":\"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<2000)"
                           " SELECT sum(length(randomblob(8000000))) FROM n\"}", 400, "CPU_LIMIT");
  /* The object is healthy afterwards, and small calls cost little. */
  CHECK_STR(scalar(&c, "SELECT instr('hello', 'll') || (('abc' LIKE 'a%') + ('abc' GLOB 'a*'))"), "\"32\"");
  connClose(&c);
}

/* Work that copies or parses a large value inside one VM step, of no metered
** built-in: a concatenation, a CAST, json_each's parse, geopoly's. Its
** allocation is charged (budget.h), so a loop of them stops at the budget. */
static void cpu_bombs_that_copy_or_parse_in_one_step_stop_at_the_budget(void){
  static const char *const azLoop[] = {
    "SELECT count(b || 'x') FROM n, big",
    "SELECT count(CAST(b AS BLOB)) FROM n, big",
    "SELECT sum((SELECT count(*) FROM json_each(j))) FROM n, bigj",
    "SELECT sum(geopoly_contains_point(p, 1, 1)) FROM n, poly",
  };
  Conn c;
  char zBody[512];
  int i;
  openConn(&c);
  c.nCpuBudgetMs = 300;            /* each request's: the loops stop sooner */
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE big(b); INSERT INTO big VALUES (printf('%.*c', 1000000, 'x'));"
      " CREATE TABLE bigj(j); INSERT INTO bigj VALUES ('\\\"' || printf('%.*c', 1000000, 'x') || '\\\"');"
      " CREATE TABLE poly(p); INSERT INTO poly VALUES (x'01' || x'030D40' || zeroblob(1600000))\"}");
  for(i=0; i<(int)(sizeof(azLoop)/sizeof(azLoop[0])); i++){
    snprintf(zBody, sizeof(zBody), "{\"sql\":\"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n"
        " WHERE i<3000) %s\"}", azLoop[i]);
    expectCode(&c, "/query", zBody, 400, "CPU_LIMIT");
  }
  CHECK_STR(scalar(&c, "SELECT length(b || 'x') FROM big"), "1000001");   /* one of them is cheap */
  connClose(&c);
}

/* Whether pStmt, SELECT length('x'), runs, or is refused for want of budget. */
static int lengthRuns(sqlite3_stmt *pStmt){
  int rc = sqlite3_step(pStmt);
  CHECK(rc==SQLITE_ROW || (rc==SQLITE_INTERRUPT && strstr(sqlite3_errmsg(sqlite3_db_handle(pStmt)), "CPU budget")));
  sqlite3_reset(pStmt);
  return rc==SQLITE_ROW;
}

/* Both connections' SELECT length('x'), compiled before any budget is attached
** (compiling under a spent budget is refused: compiling_under_a_spent_budget_fails). */
static void openTwo(sqlite3 **pA, sqlite3 **pB, sqlite3_stmt **pStmtA, sqlite3_stmt **pStmtB){
  CHECK(sqlite3_open(":memory:", pA)==SQLITE_OK && sqlite3_open(":memory:", pB)==SQLITE_OK);
  CHECK(sqlite3_prepare_v2(*pA, "SELECT length('x')", -1, pStmtA, 0)==SQLITE_OK);
  CHECK(sqlite3_prepare_v2(*pB, "SELECT length('x')", -1, pStmtB, 0)==SQLITE_OK);
}

static void closeTwo(sqlite3 *a, sqlite3 *b, sqlite3_stmt *pStmtA, sqlite3_stmt *pStmtB){
  sqlite3_finalize(pStmtA);
  sqlite3_finalize(pStmtB);
  sqlite3_close(a);
  sqlite3_close(b);
}

/* A metered function charges the budget of its own connection, whichever
** connection asked last, and the one attached last (budget.c remembers the last
** connection it looked up). */
static void each_connection_charges_its_own_budget(void){
  sqlite3 *a = 0, *b = 0;
  sqlite3_stmt *pA = 0, *pB = 0;
  Budget full = {0}, spent = {0};
  CHECK(dosqlMeterBuiltins()==SQLITE_OK);
  budgetStart(&full, 1000000);
  budgetStart(&spent, 0);
  budgetCharge(&spent, 1);
  openTwo(&a, &b, &pA, &pB);
  CHECK(lengthRuns(pA));                 /* no budget: not metered */
  CHECK(budgetAttach(a, &full)==SQLITE_OK && budgetAttach(b, &spent)==SQLITE_OK);
  CHECK(lengthRuns(pA));
  CHECK(!lengthRuns(pB));
  CHECK(lengthRuns(pA));
  CHECK(budgetAttach(a, &spent)==SQLITE_OK);
  CHECK(!lengthRuns(pA));
  CHECK(budgetAttach(a, &full)==SQLITE_OK);
  CHECK(lengthRuns(pA));
  closeTwo(a, b, pA, pB);
  /* Connections opened after those closed (perhaps at their addresses) start
  ** with no budget. */
  openTwo(&a, &b, &pA, &pB);
  CHECK(lengthRuns(pB));
  CHECK(lengthRuns(pA));
  closeTwo(a, b, pA, pB);
}

/* Compiling is metered by what it allocates, and refused memory once the
** budget is spent: SQLite checks for an interrupt seldom while it compiles
** (the flattener of a CTE chain, for one, never). Its caller reads CPU_LIMIT
** from the budget (connFail), whatever SQLite's code says. */
static void compiling_is_charged_and_stops_when_spent(void){
  static const char zChain[] = "WITH c0 AS (SELECT 1 AS v),"
      " c1 AS (SELECT a.v FROM c0 a JOIN c0 b ON a.v=b.v),"
      " c2 AS (SELECT a.v FROM c1 a JOIN c1 b ON a.v=b.v) SELECT count(*) FROM c2";
  sqlite3 *db = 0;
  Budget budget = {0};
  sqlite3_int64 nBefore;
  CHECK(sqlite3_open(":memory:", &db)==SQLITE_OK);
  budgetStart(&budget, 1000000);
  CHECK(budgetAttach(db, &budget)==SQLITE_OK);
  budgetStart(&budget, 1000000);
  nBefore = budget.nLeft;
  CHECK(sqlite3_exec(db, "SELECT 1", 0, 0, 0)==SQLITE_OK);
  CHECK(budget.nLeft<nBefore - DOSQL_CPU_UNITS_PER_PREPARED_ALLOCATION);
  budgetCharge(&budget, budget.nLeft + 1);
  /* Larger than what SQLite's lookaside slots (which no allocator sees) hold. */
  CHECK(sqlite3_exec(db, zChain, 0, 0, 0)==SQLITE_NOMEM);
  budgetStart(&budget, 1000000);
  CHECK(sqlite3_exec(db, zChain, 0, 0, 0)==SQLITE_OK);
  sqlite3_close(db);
}

static void many_named_parameters_bind_in_n_log_n(void){
  Conn c;
  sqlite3_str *pSql = sqlite3_str_new(0), *pBody = sqlite3_str_new(0);
  char *zSql, *zBody;
  cJSON *pReq = cJSON_CreateObject(), *pParams;
  int i;
  Answer a;
  openConn(&c);
  sqlite3_str_appendall(pSql, "SELECT 30000 WHERE 1 IN (:p0");
  for(i=1; i<30000; i++) sqlite3_str_appendf(pSql, ",:p%d", i);
  sqlite3_str_appendchar(pSql, 1, ')');
  zSql = sqlite3_str_finish(pSql);
  cJSON_AddStringToObject(pReq, "sql", zSql);
  pParams = cJSON_AddObjectToObject(pReq, "params");
  for(i=0; i<30000; i++){
    char zKey[16];
    snprintf(zKey, sizeof(zKey), "p%d", i);
    cJSON_AddNumberToObject(pParams, zKey, 1);
  }
  zBody = cJSON_PrintUnformatted(pReq);
  a = post(&c, "/query", zBody);
  CHECK(a.status==200);
  CHECK(a.zBody && strstr(a.zBody, "30000"));
  if( a.status!=200 ) printf("  -> %d %.300s\n", a.status, a.zBody);
  answerFree(&a);
  cJSON_free(zBody);
  cJSON_Delete(pReq);
  sqlite3_free(zSql);
  sqlite3_free(sqlite3_str_finish(pBody));
  connClose(&c);
}

static void ambiguous_bodies_are_refused(void){
  static const char *const azBad[] = {
    "{\"sql\":\"SELECT 1\",\"sql\":\"DROP TABLE t\"}",        /* duplicate key */
    "{\"sql\":\"SELECT ?\",\"params\":[{\"$blob\":\"AA==\",\"$blob\":\"AQ==\"}]}",
    "{\"sql\":\"SELECT 1\\u0000; DROP TABLE t\"}",            /* escaped NUL */
    "{\"sql\":\"SELECT '\\ud800'\"}",                           /* lone surrogate */
    "{\"sql\":\"SELECT '\\udc00'\"}",
    "{\"sql\":\"SELECT\t1\"}",                                  /* raw control char */
    "{\"sql\":\"SELECT 1\",\"params\":[01]}",                  /* number forms */
    "{\"sql\":\"SELECT 1\",\"params\":[1.]}",
    "{\"sql\":\"SELECT 1\",\"params\":[+1]}",
    "{\"sql\":\"SELECT 1\",\"params\":[.5]}",
    "{\"sql\":\"SELECT 1\",\"params\":[1e]}",
    "{\"sql\":\"SELECT 1\",}",                                  /* trailing comma */
    "\xef\xbb\xbf{\"sql\":\"SELECT 1\"}",                       /* BOM */
    "{\"sql\":\"SELECT 'a\xff'\"}",                             /* invalid UTF-8 */
    "{\"sql\":\"SELECT 'a\xc0\xaf'\"}",                         /* overlong */
    "{'sql':\"SELECT 1\"}",
    "{\"sql\":\"SELECT 1\"} x",
  };
  Conn c;
  unsigned i;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  for(i=0; i<sizeof(azBad)/sizeof(azBad[0]); i++) expectCode(&c, "/query", azBad[i], 400, "BAD_JSON");
  /* A raw NUL byte inside a string, which the JSON text carries as is. */
  {
    static const char aNul[] = "{\"sql\":\"SELECT 1\0; DROP TABLE t\"}";
    Answer a = answerFrom(handleRequest(&c, "POST", 4, "/run", 4, (const uint8_t*)aNul, sizeof(aNul)-1, 0));
    CHECK(a.status==400);
    CHECK_STR(answerCode(&a), "BAD_JSON");
    answerFree(&a);
  }
  CHECK_STR(scalar(&c, "SELECT count(*) FROM sqlite_schema WHERE name='t'"), "1");
  /* What both readers agree on still works: escapes, pairs, deep nesting. */
  CHECK_STR(scalar(&c, "SELECT 'é\xf0\x9f\x98\x80' = '\xc3\xa9' || char(128512)"), "1");
  expectCode(&c, "/query", "{\"sql\":\"SELECT ?\",\"params\":[\"\\ud83d\\ude00\"]}", 200, 0);
  /* Nesting to cJSON's limit is read (and then the field is refused, as any
  ** field /query does not take); one level more is not JSON we read. */
  {
    int nDepth;
    for(nDepth=999; nDepth<=1000; nDepth++){
      sqlite3_str *p = sqlite3_str_new(0);
      char *z;
      sqlite3_str_appendall(p, "{\"sql\":\"SELECT 1\",\"x\":");
      sqlite3_str_appendchar(p, nDepth, '[');
      sqlite3_str_appendchar(p, nDepth, ']');
      sqlite3_str_appendall(p, "}");
      z = sqlite3_str_finish(p);
      expectCode(&c, "/query", z, 400, nDepth==999 ? "BAD_REQUEST" : "BAD_JSON");
      sqlite3_free(z);
    }
  }
  connClose(&c);
}

static void virtual_tables_report_as_themselves(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = postSql(&c, "/run", "CREATE VIRTUAL TABLE f USING fts5(body)");
  CHECK(a.status==200);
  CHECK(a.zBody && strstr(a.zBody, "\"rowsAffected\":0"));
  answerFree(&a);
  a = postSql(&c, "/run", "CREATE VIRTUAL TABLE r USING rtree(id, x0, x1)");
  CHECK(a.zBody && strstr(a.zBody, "\"rowsAffected\":0"));
  answerFree(&a);
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO f VALUES('hello world')\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO r VALUES(1, 0, 1)\"}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM main._dosql_changes WHERE tbl GLOB 'f_*' OR tbl GLOB 'r_*'"), "0");
  connClose(&c);
}

static void forged_internal_tables_are_refused(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  a = callFlags(&c, "POST", "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==200);
  answerFree(&a);
  /* Not for clients. */
  expectCode(&c, "/import/check", "{}", 404, "NOT_FOUND");

  /* Rows capture would never write: each is refused. */
  forge(&c, "INSERT INTO main._dosql_change_log VALUES(2, 2, 2, 0, 't', '[\"x\"]', '[[\"i\",[not json]]]')");
  a = callFlags(&c, "POST", "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==422);
  CHECK_STR(answerCode(&a), "IMPORT_UNSAFE");
  answerFree(&a);
  /* ... and a log that holds one anyway never answers invalid JSON. */
  expectCode(&c, "/changes", "{}", 500, "CHANGE_LOG_CORRUPT");
  forge(&c, "UPDATE main._dosql_change_log SET events='[[\"i\",[1]]]',"
            " last_lsn=9007199254740993, first_lsn=9007199254740993 WHERE last_lsn=2");
  a = callFlags(&c, "POST", "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==422);
  answerFree(&a);
  /* lsns past 2^53-1 would lose precision in every JSON reader. */
  expectCode(&c, "/changes", "{}", 500, "CHANGE_LOG_CORRUPT");
  /* An imported log near 2^53 would leave no numbers for the events after it
  ** (config.h DOSQL_MAX_IMPORTED_LSN): refused, though the log reads. */
  forge(&c, "UPDATE main._dosql_change_log SET last_lsn=9007199254740991, first_lsn=9007199254740991 WHERE last_lsn>1");
  a = callFlags(&c, "POST", "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==422);
  CHECK_STR(answerCode(&a), "IMPORT_UNSAFE");
  answerFree(&a);
  forge(&c, "UPDATE main._dosql_change_log SET last_lsn=" DOSQL_STR(DOSQL_MAX_IMPORTED_LSN) ","
            " first_lsn=" DOSQL_STR(DOSQL_MAX_IMPORTED_LSN) " WHERE last_lsn>1");
  a = callFlags(&c, "POST", "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==200);
  answerFree(&a);
  forge(&c, "DELETE FROM main._dosql_change_log WHERE last_lsn>1");
  /* Rows the view would read otherwise than /changes: refused, and never answered. */
  {
    static const char *const azRow[] = {
      "'[\"x\",\"y\"]', '[[\"u\",[1,2],{\"01\":3}]]'",     /* a position spelled twice */
      "'[null]', '[[\"i\",[1]]]'",                            /* no named column */
      "'[\"x\",null]', '[[\"i\",[1,{]]]'",                    /* an unnamed column's value */
      "'[\"x\"]', '[[\"i\",[{\"a\": 1}]]]'",                 /* whitespace */
      "'[\"x\", \"y\"]', '[[\"i\",[1,2]]]'",
      /* Values results never hold, which every reader would decode otherwise. */
      "'[\"x\"]', '[[\"i\",[{\"$bigint\":\"abc\"}]]]'",
      "'[\"x\"]', '[[\"i\",[{\"$bigint\":\"9223372036854775808\"}]]]'",
      "'[\"x\"]', '[[\"i\",[{\"$blob\":\"!!\"}]]]'",
      "'[\"x\"]', '[[\"i\",[{\"$real\":\"NaN\"}]]]'",
      "'[\"x\"]', '[[\"i\",[{\"$text\":\"AA==\"}]]]'",
      "'[\"x\"]', '[[\"i\",[1e999]]]'",
      "'[\"x\"]', '[[\"i\",[{\"x\":[1]}]]]'",
      "'[\"x\"]', '[[\"i\",[[1]]]]'",
      "'[\"x\"]', '[[\"i\",[true]]]'",
      "'[\"x\"]', '[[\"u\",[1],[{\"$bigint\":\"1.5\"}]]]'",
    };
    unsigned i;
    for(i=0; i<sizeof(azRow)/sizeof(azRow[0]); i++){
      char *zSql = sqlite3_mprintf("INSERT INTO main._dosql_change_log VALUES(2, 2, 2, 0, 't', %s)", azRow[i]);
      forge(&c, zSql);
      sqlite3_free(zSql);
      a = callFlags(&c, "POST", "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
      CHECK(a.status==422);
      if( a.status!=422 ) printf("  accepted: %s\n", azRow[i]);
      answerFree(&a);
      expectCode(&c, "/changes", "{}", 500, "CHANGE_LOG_CORRUPT");
      forge(&c, "DELETE FROM main._dosql_change_log WHERE last_lsn>1");
    }
    /* Every value as results write it reads. */
    forge(&c, "INSERT INTO main._dosql_change_log VALUES(2, 2, 2, 0, 't', '[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]',"
              " '[[\"i\",[{\"$bigint\":\"-9223372036854775808\"},{\"$blob\":\"AQI=\"},{\"$real\":\"-Infinity\"},"
              "{\"$real\":\"-0\"},\"a\\\\u0000b\",-1.5e300]]]')");
    a = callFlags(&c, "POST", "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
    CHECK(a.status==200);
    answerFree(&a);
    forge(&c, "DELETE FROM main._dosql_change_log WHERE last_lsn>1");
  }
  /* Events that are not one per lsn, or rows that overlap. */
  forge(&c, "INSERT INTO main._dosql_change_log VALUES(3, 2, 2, 0, 't', '[\"x\"]', '[[\"i\",[2]]]')");
  a = callFlags(&c, "POST", "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==422);
  answerFree(&a);
  forge(&c, "UPDATE main._dosql_change_log SET first_lsn=1, tx_id=1 WHERE last_lsn=3");
  a = callFlags(&c, "POST", "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==422);
  CHECK(answerError(&a) && strstr(answerError(&a), "overlap before lsn 3"));
  answerFree(&a);
  forge(&c, "DELETE FROM main._dosql_change_log WHERE last_lsn>1");
  /* A gap is what a restore or an import leaves (numbers go on past them). */
  forge(&c, "INSERT INTO main._dosql_change_log VALUES(9, 9, 9, 0, 't', '[\"x\"]', '[[\"i\",[2]]]')");
  a = callFlags(&c, "POST", "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==200);
  answerFree(&a);
  forge(&c, "DELETE FROM main._dosql_change_log WHERE last_lsn>1");

  /* A trigger on the change log: the database does not open. */
  forge(&c, "CREATE TRIGGER evil AFTER INSERT ON _dosql_change_log BEGIN DELETE FROM _dosql_migrations; END");
  reopenRefused(&c, "UNSAFE_SCHEMA", "evil");
}

/* An index a user names, on one of the engine's tables (only a forged file
** holds one: SQL cannot make it): the database does not open. */
static void indexes_on_internal_tables_are_refused(void){
  Conn c;
  openConn(&c);
  forge(&c, "CREATE INDEX evil_idx ON _dosql_change_log(ts)");
  reopenRefused(&c, "UNSAFE_SCHEMA", "index main.evil_idx (on _dosql_change_log)");
}

/* The check that every table of a file reads (connCheckTables) fails when it
** cannot finish, here its budget spent as the change log's check before it may
** spend it: it never passes with tables unread. */
static void a_table_check_cut_short_fails(void){
  Conn c;
  char *zWhy = 0;
  sqlite3_str *pScript = sqlite3_str_new(0);
  char *zBody;
  int i;
  openConn(&c);
  /* Enough schema rows that reading them takes more VM steps than one charge. */
  sqlite3_str_appendall(pScript, "{\"sql\":\"");
  for(i=0; i<3000; i++) sqlite3_str_appendf(pScript, "CREATE TABLE t%d(x);", i);
  sqlite3_str_appendall(pScript, "\"}");
  zBody = sqlite3_str_finish(pScript);
  okFree(&c, "/exec", zBody);
  sqlite3_free(zBody);
  CHECK(connCheckTables(&c, &zWhy)==SQLITE_OK && zWhy==0);
  budgetStart(&c.budget, 0);
  budgetCharge(&c.budget, 1);
  CHECK(connCheckTables(&c, &zWhy)!=SQLITE_OK);   /* its compiling refused memory */
  CHECK(zWhy==0);
  sqlite3_free(zWhy);
  connClose(&c);
}

/* A body of zBefore, a chain of nDepth CTEs each joining the one before to
** itself (whose references double at each), and zAfter. */
static char *cteChainBody(int nDepth, const char *zBefore, const char *zAfter){
  sqlite3_str *pSql = sqlite3_str_new(0);
  int i;
  sqlite3_str_appendf(pSql, "%sWITH c0 AS (SELECT v FROM kept)", zBefore);
  for(i=1; i<=nDepth; i++) sqlite3_str_appendf(pSql, ", c%d AS (SELECT a.v FROM c%d a JOIN c%d b ON a.v=b.v)", i, i-1, i-1);
  sqlite3_str_appendf(pSql, " SELECT count(*) FROM c%d%s", nDepth, zAfter);
  return sqlite3_str_finish(pSql);
}

/* Work no VM step meters: compiling a statement, and an FTS5 phrase matched
** against every document inside one step. Both stop at the budget, and the
** object answers afterwards. A chain of CTEs whose references double at each
** compiles in time linear in its size (flattening stops past
** DOSQL_FLATTEN_MAX_CURSORS), and views on views that do not flatten are
** charged only what compiling them costs. */
static void work_outside_the_steps_stops_at_the_budget(void){
  Conn c;
  sqlite3_str *pSql;
  char *zBody, *zMatch;
  int i;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE kept(v); INSERT INTO kept VALUES (1), (2);"
      " CREATE VIRTUAL TABLE docs USING fts5(body);"
      " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<2000)"
      " INSERT INTO docs SELECT replace(printf('%.*c', 200, 'x'), 'x', 'aaa ') FROM n\"}");
  zBody = cteChainBody(13, "", "");
  CHECK_STR(scalar(&c, zBody), "2");
  sqlite3_free(zBody);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
      " INSERT INTO t SELECT value, value FROM json_each('[1,2,3,4,5,6,7,8,9,10]');"
      " CREATE VIEW q0 AS SELECT id, v FROM t\"}");
  for(i=1; i<=10; i++){
    char *zView = sqlite3_mprintf("{\"sql\":\"CREATE VIEW q%d AS SELECT * FROM (SELECT id, sum(v) v FROM q%d GROUP BY id)"
        " UNION ALL SELECT * FROM (SELECT id, max(v) v FROM q%d GROUP BY id LIMIT 1)\"}", i, i-1, i-1);
    okFree(&c, "/exec", zView);
    sqlite3_free(zView);
  }
  CHECK_STR(scalar(&c, "SELECT count(*) FROM q10"), "11");
  c.nCpuBudgetMs = 1;
  zBody = cteChainBody(10, "{\"sql\":\"", "\"}");
  expectCode(&c, "/query", zBody, 400, "CPU_LIMIT");
  sqlite3_free(zBody);
  /* After it, the request is undone though its budget is spent: the engine's
  ** ROLLBACK TO is compiled with memory (no lookaside here: main). */
  zBody = cteChainBody(10, "{\"operations\":[{\"sql\":\"INSERT INTO kept VALUES (3)\"},{\"sql\":\"", "\"}]}");
  expectCode(&c, "/batch", zBody, 400, "CPU_LIMIT");
  sqlite3_free(zBody);
  c.nCpuBudgetMs = DOSQL_CPU_BUDGET_MS;
  CHECK_STR(scalar(&c, "SELECT count(*) FROM kept"), "2");
  pSql = sqlite3_str_new(0);
  sqlite3_str_appendall(pSql, "{\"sql\":\"SELECT count(*) FROM docs WHERE docs MATCH '\\\"");
  for(i=0; i<60; i++) sqlite3_str_appendall(pSql, "aaa ");
  sqlite3_str_appendall(pSql, "ccc\\\"'\"}");
  zBody = sqlite3_str_finish(pSql);
  c.nCpuBudgetMs = 1;              /* some 60 of its pages */
  expectCode(&c, "/query", zBody, 400, "CPU_LIMIT");
  sqlite3_free(zBody);
  /* Ranking: each row's phrases against its instances, by bm25() or the rank
  ** column, in a budget that pays for reading the index. */
  c.nCpuBudgetMs = 200;
  pSql = sqlite3_str_new(0);
  for(i=0; i<30; i++) sqlite3_str_appendall(pSql, i ? " OR aaa" : "aaa");
  zMatch = sqlite3_str_finish(pSql);
  zBody = sqlite3_mprintf("{\"sql\":\"SELECT rowid FROM docs WHERE docs MATCH '%s' ORDER BY bm25(docs) LIMIT 5\"}", zMatch);
  expectCode(&c, "/query", zBody, 400, "CPU_LIMIT");
  sqlite3_free(zBody);
  zBody = sqlite3_mprintf("{\"sql\":\"SELECT sum(rank) FROM docs WHERE docs MATCH '%s'\"}", zMatch);
  expectCode(&c, "/query", zBody, 400, "CPU_LIMIT");
  sqlite3_free(zBody);
  sqlite3_free(zMatch);
  c.nCpuBudgetMs = DOSQL_CPU_BUDGET_MS;
  CHECK_STR(scalar(&c, "SELECT count(*) FROM docs WHERE docs MATCH 'aaa'"), "2000");
  CHECK_STR(scalar(&c, "SELECT rowid FROM docs WHERE docs MATCH 'aaa' ORDER BY rank LIMIT 1"), "1");
  connClose(&c);
}

/* Pages read from storage are charged: a scan of a database SQLite has not
** cached stops at a budget its few VM steps alone would not spend. */
static void pages_read_from_storage_are_charged(void){
  Conn c;
  openConn(&c);
  /* 2,000 rows of a page each: 2,000 reads from storage once the cache is cold. */
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE wide(b); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<2000)"
      " INSERT INTO wide SELECT randomblob(3500) FROM n\"}");
  connClose(&c);
  openConn(&c);
  c.nCpuBudgetMs = 10;             /* 300,000 units: 1,000 pages */
  expectCode(&c, "/query", "{\"sql\":\"SELECT count(*) FROM wide WHERE b IS NOT NULL\"}", 400, "CPU_LIMIT");
  c.nCpuBudgetMs = DOSQL_CPU_BUDGET_MS;
  CHECK_STR(scalar(&c, "SELECT count(*) FROM wide"), "2000");
  connClose(&c);
}

/* A pragma's table-valued function compiles and runs a statement of its own at
** each call, whose steps SQLite counts from zero: joined to tables, it is
** charged for each call begun and for every step, however few each call runs.
** SQLite registers its module as the first statement naming it compiles, so
** each shape runs first on a connection of its own. */
static void pragma_functions_are_charged_by_the_call(void){
  static const char *const azShape[] = {
    /* 2,500 calls of a few steps each: no column named, a column named, in a
    ** CTE, in a correlated subquery, schema-qualified, joined by USING or
    ** NATURAL, which name its columns without the authorizer (views and
    ** triggers may not name them: SQLITE_DBCONFIG_TRUSTED_SCHEMA is off) */
    "SELECT count(*) FROM a CROSS JOIN a AS b CROSS JOIN pragma_index_list('child')",
    "SELECT count(*) FROM a CROSS JOIN a AS b CROSS JOIN pragma_index_list('child') USING (seq)",
    "SELECT count(*) FROM a CROSS JOIN a AS b NATURAL CROSS JOIN pragma_index_list('child')",
    "SELECT count(name) FROM a CROSS JOIN a AS b CROSS JOIN pragma_index_list('child')",
    "WITH p AS (SELECT * FROM pragma_index_list('child')) SELECT count(*) FROM a CROSS JOIN a AS b CROSS JOIN p",
    "SELECT sum((SELECT count(*) FROM pragma_index_list(a.i || b.i))) FROM a CROSS JOIN a AS b",
    "SELECT count(*) FROM a CROSS JOIN a AS b CROSS JOIN main.pragma_index_list('child')",
    /* 100 calls of a few thousand steps each */
    "SELECT count(*) FROM (SELECT i FROM n LIMIT 100) CROSS JOIN pragma_foreign_key_check('child')",
  };
  Conn c;
  int i;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE parent(id INTEGER PRIMARY KEY);"
      " CREATE TABLE child(p REFERENCES parent(id)); CREATE TABLE n(i);"
      " WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM k WHERE i<500)"
      " INSERT INTO n SELECT i FROM k; INSERT INTO parent SELECT i FROM n; INSERT INTO child SELECT i FROM n;"
      " CREATE VIEW a AS SELECT i, i AS seq FROM n LIMIT 50\"}");
  connClose(&c);
  for(i=0; i<(int)(sizeof(azShape)/sizeof(azShape[0])); i++){
    char *zBody;
    openConn(&c);
    /* Compiling on lookaside, as dosql.wasm's connections do (SQLite's
    ** default): the allocations served there are not the budget's to count. */
    CHECK(sqlite3_db_config(c.db, SQLITE_DBCONFIG_LOOKASIDE, (void*)0, 1200, 40)==SQLITE_OK);
    c.nCpuBudgetMs = 5;            /* 150,000 units */
    zBody = sqlite3_mprintf("{\"sql\":\"%s\"}", azShape[i]);
    expectCode(&c, "/query", zBody, 400, "CPU_LIMIT");
    sqlite3_free(zBody);
    c.nCpuBudgetMs = DOSQL_CPU_BUDGET_MS;
    CHECK_STR(scalar(&c, "SELECT count(*) FROM (SELECT i FROM n LIMIT 100)"
        " CROSS JOIN pragma_foreign_key_check('child')"), "0");
    CHECK_STR(scalar(&c, "SELECT group_concat(name) FROM pragma_table_info('child')"), "\"p\"");
    connClose(&c);
  }
}

/* A comparison reads both keys inside the step that compares: a sort compares
** N log N times in one step, an index's search (DISTINCT, building an index) a
** key per level. Charged by the bytes (BINARY's memcmp() by the equal prefix
** it finds), they stop at the budget their rows alone would not spend. */
static void comparisons_are_charged_by_the_bytes(void){
  static const char *const azSql[] = {
    "{\"sql\":\"SELECT v FROM s ORDER BY v COLLATE NOCASE LIMIT 1\"}",
    "{\"sql\":\"SELECT count(DISTINCT v COLLATE NOCASE) FROM s\"}",
    "{\"sql\":\"SELECT v FROM s ORDER BY v COLLATE RTRIM LIMIT 1\"}",
    "{\"sql\":\"SELECT v FROM s ORDER BY v LIMIT 1 OFFSET 999\"}",
    "{\"sql\":\"SELECT count(DISTINCT v) FROM s\"}",
    "{\"sql\":\"SELECT count(*) FROM s GROUP BY v || 'x' LIMIT 1\"}",
  };
  Conn c;
  openConn(&c);
  /* 1,000 strings of 4,000 bytes that differ in their last few */
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE s(v);"
      " WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM k WHERE i<1000)"
      " INSERT INTO s SELECT printf('%.*c%05d', 3995, 'a', (i * 7919) % 1000) FROM k\"}");
  c.nCpuBudgetMs = 2;              /* 60,000 units */
  expectEach(&c, azSql, (int)(sizeof(azSql)/sizeof(azSql[0])), 400, "CPU_LIMIT");
  /* = of equal 60 KB texts, 300 times: a memcmp() in one step each. */
  c.nCpuBudgetMs = 4;              /* 120,000 units */
  expectCode(&c, "/query", "{\"sql\":\"WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM k WHERE i<300),"
      " t(a, b) AS MATERIALIZED (SELECT printf('%.60000c', 'x'), printf('%.60000c', 'x'))"
      " SELECT count(*) FROM k, t WHERE CASE WHEN i THEN a END = b\"}", 400, "CPU_LIMIT");
  c.nCpuBudgetMs = 2;
  expectCode(&c, "/exec", "{\"sql\":\"CREATE INDEX s_nocase ON s(v COLLATE NOCASE)\"}", 400, "CPU_LIMIT");
  expectCode(&c, "/exec", "{\"sql\":\"CREATE INDEX s_binary ON s(v)\"}", 400, "CPU_LIMIT");
  c.nCpuBudgetMs = DOSQL_CPU_BUDGET_MS;
  CHECK_STR(scalar(&c, "SELECT count(DISTINCT v COLLATE NOCASE) FROM s"), "1000");
  CHECK_STR(scalar(&c, "SELECT count(DISTINCT v) FROM s"), "1000");
  connClose(&c);
}

/* A number parsed from a text scans all its digits inside the step that
** parses it: arithmetic, CAST, a math or date function, a numeric affinity.
** Charged by the text's bytes, 100 parses of a 60,000-digit text stop at a
** budget their steps alone would not spend; short numbers cost their steps. */
static void numbers_parsed_from_long_text_are_charged(void){
  static const char *const azSql[] = {
    "SELECT sum(v + 0) FROM d, k",
    "SELECT sum(v & 1) FROM d, k",
    "SELECT sum(abs(v)) FROM d, k",
    "SELECT sum(round(v)) FROM d, k",
    "SELECT sum(sqrt(v)) FROM d, k",
    "SELECT sum(julianday(v)) FROM d, k",
    "SELECT count(printf('%d', v)) FROM d, k",
    "SELECT count(CAST(v AS REAL)) FROM d, k",
    "SELECT count(CAST(v AS INTEGER)) FROM d, k",
    "SELECT count(CAST(v AS NUMERIC)) FROM d, k",
  };
  Conn c;
  int i;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE d(v); CREATE TABLE k(i); CREATE TABLE n(x NUMERIC);"
      " INSERT INTO d VALUES (printf('%.*c', 60000, '7'));"
      " WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r WHERE i<100) INSERT INTO k SELECT i FROM r\"}");
  c.nCpuBudgetMs = 2;              /* 60,000 units */
  for(i=0; i<(int)(sizeof(azSql)/sizeof(azSql[0])); i++){
    char *zBody = sqlite3_mprintf("{\"sql\":\"%s\"}", azSql[i]);
    expectCode(&c, "/query", zBody, 400, "CPU_LIMIT");
    sqlite3_free(zBody);
  }
  expectCode(&c, "/run", "{\"sql\":\"INSERT INTO n SELECT v FROM d, k\"}", 400, "CPU_LIMIT");
  /* A parse stops at the first byte past a number: the rest is not charged. */
  CHECK_STR(scalar(&c, "SELECT sum(CAST(replace(printf('%.60000c', '1'), '11', '1 ') AS INTEGER)) FROM k"), "100");
  CHECK_STR(scalar(&c, "SELECT sum(CAST(i || '.5' AS REAL) + i) FROM k"), "10150");
  c.nCpuBudgetMs = DOSQL_CPU_BUDGET_MS;
  CHECK_STR(scalar(&c, "SELECT count(CAST(v AS REAL)) FROM d, k"), "100");
  connClose(&c);
}

/* Date and time functions parse their text arguments inside one step: a time
** padded to 60,000 bytes (spaces, digits of a fraction, a run of T) costs its
** bytes at each call, and is charged so. sqlite_log() writes the operator's log:
** refused. */
static void date_functions_are_charged_by_their_text(void){
  static const char *const azSql[] = {
    "SELECT count(date(v)) FROM t, k", "SELECT count(time(v)) FROM t, k",
    "SELECT count(datetime(v)) FROM t, k", "SELECT count(julianday(v)) FROM t, k",
    "SELECT count(unixepoch(v)) FROM t, k", "SELECT count(strftime('%s', v)) FROM t, k",
    "SELECT count(sqlite_compileoption_used(v)) FROM t, k",
  };
  static const char *const azPadded[] = {
    "'2000-01-01' || printf('%.60000c', ' ')", "'12:00:00.' || printf('%.60000c', '1')",
    "printf('%.60000c', 'T')",
  };
  Conn c;
  int i, j;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE t(v); CREATE TABLE k(i);"
      " WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r WHERE i<100) INSERT INTO k SELECT i FROM r\"}");
  for(j=0; j<(int)(sizeof(azPadded)/sizeof(azPadded[0])); j++){
    char *zFill = sqlite3_mprintf("{\"sql\":\"DELETE FROM t; INSERT INTO t VALUES (%s)\"}", azPadded[j]);
    okFree(&c, "/exec", zFill);
    sqlite3_free(zFill);
    c.nCpuBudgetMs = 2;              /* 60,000 units */
    for(i=0; i<(int)(sizeof(azSql)/sizeof(azSql[0])); i++){
      char *zBody = sqlite3_mprintf("{\"sql\":\"%s\"}", azSql[i]);
      expectCode(&c, "/query", zBody, 400, "CPU_LIMIT");
      sqlite3_free(zBody);
    }
    c.nCpuBudgetMs = DOSQL_CPU_BUDGET_MS;
  }
  CHECK_STR(scalar(&c, "SELECT date('2000-01-01 12:00:00')"), "\"2000-01-01\"");
  expectCode(&c, "/query", "{\"sql\":\"SELECT sqlite_log(1, 'a line in the operator''s log')\"}", 403, 0);
  connClose(&c);
}

/* Functions whose one call does much work on a few arguments, registered by
** the extensions: geopoly_overlap() and geopoly_within() sweep every edge of
** their polygons against the edges active at each vertex (a 32,000-vertex
** zigzag took 10 s), as functions and as the geopoly table's constraints;
** FTS5's snippet() and highlight() tokenize the row's text at each call. */
static void extension_functions_are_charged_by_their_work(void){
  static const char *const azSql[] = {
    "SELECT geopoly_overlap(v, '[[0,0],[1,0],[0,1],[0,0]]') FROM p",
    "SELECT geopoly_within('[[0,0],[1,0],[0,1],[0,0]]', v) FROM p",
    "SELECT count(*) FROM g WHERE geopoly_overlap(_shape, '[[0,0],[1,0],[0,1],[0,0]]')",
    "SELECT length(snippet(f, 0, '[', ']', '', 10)) + length(snippet(f, 0, '[', ']', '', 9))"
    " + length(snippet(f, 0, '[', ']', '', 8)) FROM f WHERE f MATCH 'x'",
    "SELECT length(highlight(f, 0, '[', ']')) FROM f WHERE f MATCH 'x'",
    /* 3,000 instances in a row: snippet() scores each against every other,
    ** highlight() prints its answer again at each. */
    "SELECT length(snippet(f, 0, '[', ']', '', 10)) FROM f WHERE f MATCH 'b'",
    "SELECT length(highlight(f, 0, '[', ']')) FROM f WHERE f MATCH 'b'",
  };
  Conn c;
  int i;
  openConn(&c);
  /* A comb of 2,000 vertices (about 30 KB as JSON) whose teeth span it. */
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE p(v); CREATE VIRTUAL TABLE g USING geopoly();"
      " CREATE VIRTUAL TABLE f USING fts5(body);"
      " INSERT INTO p SELECT '[' || group_concat('[' || ((i % 2) * 1000) || ',' || i || ']', ',')"
      " || ',[0,2000],[0,0]]' FROM (WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM r WHERE i<1999) SELECT i FROM r);"
      " INSERT INTO g(_shape) SELECT v FROM p;"
      " INSERT INTO f VALUES ('x ' || replace(printf('%.100000c', 'a'), 'aa', 'a '));"
      " INSERT INTO f VALUES (replace(printf('%.6000c', 'b'), 'bb', 'b '));"
      " CREATE VIRTUAL TABLE f2 USING fts5(title, body);"
      " INSERT INTO f2 VALUES ('c', replace(printf('%.100000c', 'd'), 'dd', 'd '));"
      " INSERT INTO g(_shape) SELECT geopoly_regular(i % 100, i / 100, 0.5, 50)"
      " FROM (WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM r WHERE i<1999) SELECT i FROM r)\"}");
  for(i=0; i<(int)(sizeof(azSql)/sizeof(azSql[0])); i++) expectStoppedAtTwoMs(&c, azSql[i]);
  /* The sweep of convex polygons walks a few edges at each event: a query of a
  ** 1,000-vertex area over 2,000 regions of 50 answers (charged by the square
  ** of its bytes, it was refused). */
  CHECK_STR(scalar(&c, "SELECT count(*) > 0 FROM g WHERE geopoly_overlap(_shape, geopoly_regular(50, 10, 8, 1000))"), "1");
  /* highlight() and snippet() of a short column are charged that column's text,
  ** not the long one beside it. */
  c.nCpuBudgetMs = 2;
  CHECK_STR(scalar(&c, "SELECT highlight(f2, 0, '[', ']') || snippet(f2, 0, '[', ']', '', 4) FROM f2 WHERE f2 MATCH 'c'"),
            "\"[c][c]\"");
  c.nCpuBudgetMs = DOSQL_CPU_BUDGET_MS;
  connClose(&c);
}

/* Extractions from one JSON document parse it once: SQLite caches the parse
** for the statement, and the calls that find it there are not charged as
** parses (80 fields of 100 documents of 20 KB were refused at a tenth of the
** budget they used). */
static void json_extractions_share_their_parse(void){
  sqlite3_str *pSql = sqlite3_str_new(0);
  char *zBody;
  Conn c;
  int i;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE j(doc);"
      " INSERT INTO j SELECT json_object('k', i, 'pad', printf('%.20000c', 'x'))"
      " FROM (WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r WHERE i<100) SELECT i FROM r)\"}");
  sqlite3_str_appendall(pSql, "{\"sql\":\"SELECT sum(0");
  for(i=0; i<80; i++) sqlite3_str_appendall(pSql, " + (doc ->> '$.k')");
  sqlite3_str_appendall(pSql, ") AS s FROM j\"}");
  zBody = sqlite3_str_finish(pSql);
  c.nCpuBudgetMs = 100;              /* 3,000,000 units: 10,000,000 if each were a parse */
  expectCode(&c, "/query", zBody, 200, 0);
  sqlite3_free(zBody);
  connClose(&c);
}

/* A sort compares its records N log N times inside one step: charged by the
** comparison and the records' bytes, sorting 10,000 rows of 400 bytes (as
** ORDER BY, DISTINCT, GROUP BY or CREATE INDEX) stops at a budget its steps
** alone would not spend. */
static void sorts_are_charged_by_their_comparisons(void){
  static const char *const azSql[] = {
    "{\"sql\":\"SELECT v FROM s ORDER BY v LIMIT 1 OFFSET 9999\"}",
    "{\"sql\":\"SELECT v FROM s ORDER BY v DESC, rowid LIMIT 1 OFFSET 9999\"}",
    "{\"sql\":\"SELECT count(*) FROM (SELECT DISTINCT v FROM s)\"}",
    "{\"sql\":\"SELECT count(*) FROM (SELECT v FROM s GROUP BY v)\"}",
  };
  Conn c;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE s(v);"
      " WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r WHERE i<10000)"
      " INSERT INTO s SELECT hex(randomblob(200)) FROM r\"}");
  c.nCpuBudgetMs = 6;                /* 180,000 units */
  expectEach(&c, azSql, (int)(sizeof(azSql)/sizeof(azSql[0])), 400, "CPU_LIMIT");
  expectCode(&c, "/exec", "{\"sql\":\"CREATE INDEX s_v ON s(v)\"}", 400, "CPU_LIMIT");
  c.nCpuBudgetMs = DOSQL_CPU_BUDGET_MS;
  expectEach(&c, azSql, (int)(sizeof(azSql)/sizeof(azSql[0])), 200, 0);
  expectCode(&c, "/exec", "{\"sql\":\"CREATE INDEX s_v ON s(v)\"}", 200, 0);
  connClose(&c);
}

/* Over a sliding frame, an aggregate that accumulates text moves all it holds
** as each row leaves (xInverse) and copies it for each row (xValue): charged
** by those bytes, 1,000 rows of 60 bytes in a 1,000-row frame stop at a budget
** their steps alone would not spend. */
static void window_aggregates_are_charged_by_what_they_hold(void){
  static const char *const azAggregate[] = {
    "group_concat(v)", "string_agg(v, ',')", "json_group_array(v)", "jsonb_group_array(v)",
    "json_group_object(i, v)", "jsonb_group_object(i, v)",
  };
  static const char *const azFrame[] = {
    "ROWS 999 PRECEDING",
    "ORDER BY i / 500 RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING",
  };
  Conn c;
  int i, j;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE w(i, v);"
      " WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r WHERE i<1000)"
      " INSERT INTO w SELECT i, printf('%.60c', 'x') FROM r\"}");
  for(i=0; i<(int)(sizeof(azAggregate)/sizeof(azAggregate[0])); i++){
    for(j=0; j<(int)(sizeof(azFrame)/sizeof(azFrame[0])); j++){
      char *zSql = sqlite3_mprintf("SELECT count(g) FROM (SELECT %s OVER (%s) AS g FROM w)",
                                   azAggregate[i], azFrame[j]);
      expectStoppedAtTwoMs(&c, zSql);
      sqlite3_free(zSql);
    }
  }
  connClose(&c);
}

/* Every built-in SQL function is metered, or named here as one whose call does
** work bounded by the VM steps around it: a function a new SQLite adds
** (json_array_insert came in 3.50) fails this test until it is placed. */
static void every_builtin_function_is_metered_or_bounded(void){
  static const char *const azBounded[] = {
    "abs", "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "avg", "ceil",
    "ceiling", "changes", "coalesce", "cos", "cosh", "count", "cume_dist", "current_date",
    "current_time", "current_timestamp", "degrees", "dense_rank", "exp",
    "first_value", "floor", "if", "ifnull", "iif", "lag", "last_insert_rowid",
    "last_value", "lead", "likelihood", "likely", "ln", "log", "log10", "log2", "max", "min",
    "mod", "nth_value", "ntile", "nullif", "octet_length", "percent_rank", "pi", "pow",
    "power", "radians", "random", "rank", "round", "row_number", "sign", "sin", "sinh",
    "sqlite_compileoption_get", "sqlite_log",   /* sqlite_log() is refused (guard.c) */
    "sqlite_source_id", "sqlite_version", "sqrt", "subtype", "sum", "tan", "tanh",
    "total", "total_changes", "trunc", "typeof", "unlikely",
    /* The extensions': geopoly_regular() makes at most 1,000 vertices; FTS5's
    ** auxiliary functions are stubs but on an FTS5 table, whose module meters
    ** them (fts5RowCharged). */
    "geopoly_regular", "geopoly_debug", "rtreedepth", "fts5", "fts5_source_id",
    "fts5_get_locale", "match", "snippet", "highlight", "bm25",
  };
  Conn c;
  sqlite3_stmt *pStmt;
  openConn(&c);
  /* Built in, and registered on the connection by the extensions (geopoly, R-Tree, FTS5). */
  CHECK(sqlite3_prepare_v2(c.db, "SELECT DISTINCT name FROM pragma_function_list", -1, &pStmt, 0)==SQLITE_OK);
  while( sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zName = (const char*)sqlite3_column_text(pStmt, 0);
    int i, bBounded = 0;
    for(i=0; i<(int)(sizeof(azBounded)/sizeof(azBounded[0])); i++){
      if( strcmp(azBounded[i], zName)==0 ) bBounded = 1;
    }
    if( !bBounded && !dosqlIsMeteredFunction(zName) ){
      printf("  %s is neither metered (sqlite/unit.c) nor bounded\n", zName);
      harnessFailed++;
    }
  }
  sqlite3_finalize(pStmt);
  connClose(&c);
}

int main(void){
  if( budgetInstallAllocator()!=SQLITE_OK ) return 1;   /* as dosql.wasm's setup does */
  /* Every allocation reaches the budget's allocator: none from a connection's slots. */
  if( sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0)!=SQLITE_OK ) return 1;
  RUN(reserved_names_are_refused_in_every_schema);
  RUN(triggers_fired_by_trusted_work_are_user_sql);
  RUN(names_the_engine_uses_cannot_be_shadowed);
  RUN(cpu_bombs_inside_one_function_stop_at_the_budget);
  RUN(cpu_bombs_that_copy_or_parse_in_one_step_stop_at_the_budget);
  RUN(each_connection_charges_its_own_budget);
  RUN(compiling_is_charged_and_stops_when_spent);
  RUN(work_outside_the_steps_stops_at_the_budget);
  RUN(pages_read_from_storage_are_charged);
  RUN(pragma_functions_are_charged_by_the_call);
  RUN(comparisons_are_charged_by_the_bytes);
  RUN(numbers_parsed_from_long_text_are_charged);
  RUN(window_aggregates_are_charged_by_what_they_hold);
  RUN(sorts_are_charged_by_their_comparisons);
  RUN(date_functions_are_charged_by_their_text);
  RUN(extension_functions_are_charged_by_their_work);
  RUN(json_extractions_share_their_parse);
  RUN(every_builtin_function_is_metered_or_bounded);
  RUN(many_named_parameters_bind_in_n_log_n);
  RUN(ambiguous_bodies_are_refused);
  RUN(virtual_tables_report_as_themselves);
  RUN(forged_internal_tables_are_refused);
  RUN(indexes_on_internal_tables_are_refused);
  RUN(a_table_check_cut_short_fails);
  return HARNESS_END();
}
