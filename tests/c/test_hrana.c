/*
** test_hrana.c — libSQL's Hrana pipelines (hrana.c) as the host drives them:
** the check, then the run with the transaction flag the check gives, pages
** fetched and the call made again on a fault. Streams and batons, every
** request type, values, transactions across pipelines, batches with
** conditions, and the pipeline a page fault stops, resumed without running
** anything twice.
*/
#include "harness.h"

static int nFaults;      /* fault answers pipeline() fetched pages for */

/* The host's side of one pipeline; the Hrana response, and in *pcState the
** byte before it ('T': the stream holds the transaction). A refused check or
** run answers its error. */
static Answer pipeline(Conn *pConn, const char *zBody, char *pcState){
  Answer check = callFlags(pConn, "POST", "/v2/pipeline", zBody, DOSQL_REQUEST_INTERNAL), a;
  uint32_t flags = DOSQL_REQUEST_INTERNAL;
  int nTry;
  *pcState = 0;
  if( check.status!=200 ) return check;
  if( cJSON_IsTrue(cJSON_GetObjectItem(check.pJson, "transaction")) ) flags |= DOSQL_REQUEST_IN_TRANSACTION;
  answerFree(&check);
  a = callFlags(pConn, "POST", "/hrana/pipeline", zBody, flags);
  for(nTry=0; a.status==DOSQL_STATUS_FAULT && nTry<64; nTry++){
    const cJSON *pPage;
    const cJSON *pFinal = cJSON_GetObjectItem(a.pJson, "status");
    uint32_t i;
    nFaults++;
    /* With read-ahead, as the host's storage does. */
    cJSON_ArrayForEach(pPage, cJSON_GetObjectItem(a.pJson, "pages")){
      for(i=0; i<32; i++) hostMemFetch((uint32_t)pPage->valuedouble + i);
    }
    if( pFinal ){                 /* the answer once the pages are fetched (api.h) */
      a.status = pFinal->valueint;
      break;
    }
    answerFree(&a);
    a = callFlags(pConn, "POST", "/hrana/pipeline", zBody, flags | DOSQL_REQUEST_RETRY);
  }
  if( a.status==200 ){
    *pcState = a.zBody[0];
    cJSON_Delete(a.pJson);
    a.pJson = cJSON_Parse(a.zBody+1);
  }
  return a;
}

/* The baton of a response ("null" when the stream ended), as JSON text. */
static void batonOf(const Answer *a, char *zOut, int n){
  const cJSON *p = cJSON_GetObjectItem(a->pJson, "baton");
  snprintf(zOut, (size_t)n, cJSON_IsString(p) ? "\"%s\"" : "null", cJSON_IsString(p) ? p->valuestring : "");
}

/* results[i] of a response. */
static const cJSON *result(const Answer *a, int i){
  return cJSON_GetArrayItem(cJSON_GetObjectItem(a->pJson, "results"), i);
}

static const char *resultType(const Answer *a, int i){
  return cJSON_GetObjectItem(result(a, i), "type")->valuestring;
}

static const char *errorMessage(const Answer *a, int i){
  const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(result(a, i), "error"), "message");
  return cJSON_IsString(p) ? p->valuestring : 0;
}

static const char *errorCode(const Answer *a, int i){
  const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(result(a, i), "error"), "code");
  return cJSON_IsString(p) ? p->valuestring : 0;
}

/* The StmtResult of an execute result. */
static const cJSON *stmtResult(const Answer *a, int i){
  return cJSON_GetObjectItem(cJSON_GetObjectItem(result(a, i), "response"), "result");
}

/* Row r, column c of an execute result, as compact JSON (free it). */
static char *cell(const Answer *a, int i, int r, int c){
  return cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetArrayItem(
      cJSON_GetObjectItem(stmtResult(a, i), "rows"), r), c));
}

static void checkCell(const Answer *a, int i, int r, int c, const char *zWant){
  char *z = cell(a, i, r, c);
  CHECK_STR(z, zWant);
  free(z);
}

/* A pipeline of one execute of zSql on the stream of zBaton; the answer. */
static Answer execute(Conn *pConn, const char *zBaton, const char *zSql, char *pcState){
  char zBody[1024];
  snprintf(zBody, sizeof(zBody), "{\"baton\":%s,\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"%s\"}}]}",
      zBaton, zSql);
  return pipeline(pConn, zBody, pcState);
}

/* A pipeline's answer holds zWant (printed when it does not). */
static void expectAnswerHolds(Conn *pConn, const char *zBody, const char *zWant){
  char cState;
  Answer a = pipeline(pConn, zBody, &cState);
  CHECK(a.zBody && strstr(a.zBody, zWant));
  if( !a.zBody || !strstr(a.zBody, zWant) ) printf("  %s -> %s\n", zBody, a.zBody);
  answerFree(&a);
}

static void setup(Conn *pConn){
  openConn(pConn);
  okFree(pConn, "/run", "{\"sql\":\"CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB)\"}");
}

static void every_value_type_goes_both_ways(void){
  Conn c;
  char cState;
  Answer a;
  const cJSON *pCol;
  setup(&c);
  a = pipeline(&c, "{\"baton\":null,\"requests\":[{\"type\":\"execute\",\"stmt\":{"
      "\"sql\":\"INSERT INTO t VALUES (?, ?, ?, ?)\",\"args\":["
      "{\"type\":\"integer\",\"value\":\"9007199254740993\"},{\"type\":\"text\",\"value\":\"ann\"},"
      "{\"type\":\"float\",\"value\":1.5},{\"type\":\"blob\",\"base64\":\"AAEC\"}]}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT id, name, score, data, NULL AS n, 1e999 AS inf FROM t\"}},"
      /* Without its padding, as sqld writes a blob. */
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT hex(?), hex(?)\",\"args\":["
      "{\"type\":\"blob\",\"base64\":\"AAE\"},{\"type\":\"blob\",\"base64\":\"AA\"}]}},"
      "{\"type\":\"close\"}]}", &cState);
  CHECK(a.status==200);
  CHECK(cState=='A');
  CHECK_STR(resultType(&a, 0), "ok");
  CHECK(cJSON_GetObjectItem(stmtResult(&a, 0), "affected_row_count")->valueint==1);
  CHECK_STR(cJSON_GetObjectItem(stmtResult(&a, 0), "last_insert_rowid")->valuestring, "9007199254740993");
  checkCell(&a, 1, 0, 0, "{\"type\":\"integer\",\"value\":\"9007199254740993\"}");
  checkCell(&a, 1, 0, 1, "{\"type\":\"text\",\"value\":\"ann\"}");
  checkCell(&a, 1, 0, 2, "{\"type\":\"float\",\"value\":1.5}");
  checkCell(&a, 1, 0, 3, "{\"type\":\"blob\",\"base64\":\"AAEC\"}");
  checkCell(&a, 1, 0, 4, "{\"type\":\"null\"}");
  checkCell(&a, 2, 0, 0, "{\"type\":\"text\",\"value\":\"0001\"}");
  checkCell(&a, 2, 0, 1, "{\"type\":\"text\",\"value\":\"00\"}");
  CHECK(strstr(a.zBody, "\"value\":1e999")!=0);
  pCol = cJSON_GetArrayItem(cJSON_GetObjectItem(stmtResult(&a, 1), "cols"), 1);
  CHECK_STR(cJSON_GetObjectItem(pCol, "name")->valuestring, "name");
  CHECK_STR(cJSON_GetObjectItem(pCol, "decltype")->valuestring, "TEXT");
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(a.pJson, "baton")));     /* closed */
  answerFree(&a);
  connClose(&c);
}

/* last_insert_rowid: the rowid this statement inserted, 0 included; null when
** it inserted none (as sqld answers for a statement that did not insert). */
static void last_insert_rowid_is_null_only_without_an_insert(void){
  Conn c;
  char cState;
  Answer a;
  setup(&c);
  a = pipeline(&c, "{\"baton\":null,\"requests\":["
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO t(id, name) VALUES (0, 'zero')\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"UPDATE t SET name = 'z'\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT OR IGNORE INTO t(id) VALUES (0)\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT last_insert_rowid()\"}}]}", &cState);
  CHECK(a.status==200);
  CHECK_STR(cJSON_GetObjectItem(stmtResult(&a, 0), "last_insert_rowid")->valuestring, "0");
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(stmtResult(&a, 1), "last_insert_rowid")));
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(stmtResult(&a, 2), "last_insert_rowid")));
  checkCell(&a, 3, 0, 0, "{\"type\":\"integer\",\"value\":\"0\"}");
  answerFree(&a);
  connClose(&c);
}

/* A statement that rolls its own transaction back (ON CONFLICT ROLLBACK,
** RAISE(ROLLBACK)) fails alone, with its own error, and the pipeline goes on
** outside the transaction (as sqld): not a TRANSACTION_ABORTED of the whole,
** which would hide that earlier requests committed. */
static void a_statement_that_rolls_back_its_transaction_fails_alone(void){
  Conn c;
  char cState, zBaton[80];
  Answer a;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE t(x UNIQUE); INSERT INTO t VALUES(1);"
      " CREATE TRIGGER no_neg BEFORE INSERT ON t WHEN new.x < 0 BEGIN SELECT RAISE(ROLLBACK, 'x must be positive'); END\"}");
  a = pipeline(&c, "{\"baton\":null,\"requests\":["
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO t VALUES (100)\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"BEGIN\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO t VALUES (2)\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT OR ROLLBACK INTO t VALUES (1)\"}},"
      "{\"type\":\"get_autocommit\"},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"BEGIN\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO t VALUES (-1)\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT group_concat(x) FROM t\"}},"
      "{\"type\":\"close\"}]}", &cState);
  CHECK(a.status==200);
  CHECK(cState=='A');
  CHECK_STR(resultType(&a, 2), "ok");
  CHECK_STR(errorCode(&a, 3), "SQLITE_CONSTRAINT");
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 4), "response"), "is_autocommit")));
  CHECK_STR(errorCode(&a, 6), "SQLITE_CONSTRAINT");
  CHECK(strstr(a.zBody, "x must be positive")!=0);
  checkCell(&a, 7, 0, 0, "{\"type\":\"text\",\"value\":\"1,100\"}");
  answerFree(&a);
  /* Begun by an earlier pipeline (a client's transaction()): the same. */
  a = execute(&c, "null", "BEGIN", &cState);
  CHECK(cState=='T');
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  a = execute(&c, zBaton, "INSERT INTO t VALUES (-2)", &cState);
  CHECK(a.status==200);
  CHECK(cState=='A');
  CHECK_STR(errorCode(&a, 0), "SQLITE_CONSTRAINT");
  CHECK(!c.bInteractive);
  answerFree(&a);
  connClose(&c);
}

/* Inside a batch, a step that rolls the transaction back by design ends it
** for the steps after it: is_autocommit is true there, a step guarded by
** not(is_autocommit) (@libsql/client's transactional batch) does not run, and
** a later BEGIN opens a transaction that a later ROLLBACK undoes. */
static void a_batch_step_after_a_rollback_by_design_runs_outside_the_transaction(void){
  Conn c;
  char cState;
  Answer a;
  const cJSON *pResult, *pSteps;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE t(x UNIQUE); INSERT INTO t VALUES('a');"
      " CREATE TRIGGER no_bad BEFORE INSERT ON t WHEN new.x = 'bad' BEGIN SELECT RAISE(ROLLBACK, 'nope'); END\"}");
  a = pipeline(&c, "{\"baton\":null,\"requests\":[{\"type\":\"batch\",\"batch\":{\"steps\":["
      "{\"stmt\":{\"sql\":\"BEGIN\"}},"
      "{\"condition\":{\"type\":\"not\",\"cond\":{\"type\":\"is_autocommit\"}},\"stmt\":{\"sql\":\"INSERT INTO t VALUES('in tx')\"}},"
      "{\"condition\":{\"type\":\"not\",\"cond\":{\"type\":\"is_autocommit\"}},\"stmt\":{\"sql\":\"INSERT OR ROLLBACK INTO t VALUES('a')\"}},"
      "{\"condition\":{\"type\":\"not\",\"cond\":{\"type\":\"is_autocommit\"}},\"stmt\":{\"sql\":\"INSERT INTO t VALUES('guarded')\"}},"
      "{\"condition\":{\"type\":\"is_autocommit\"},\"stmt\":{\"sql\":\"BEGIN\"}},"
      "{\"stmt\":{\"sql\":\"INSERT INTO t VALUES('z')\"}},"
      "{\"stmt\":{\"sql\":\"INSERT INTO t VALUES('bad')\"}},"
      "{\"condition\":{\"type\":\"not\",\"cond\":{\"type\":\"is_autocommit\"}},\"stmt\":{\"sql\":\"INSERT INTO t VALUES('after')\"}},"
      "{\"stmt\":{\"sql\":\"SELECT group_concat(x) FROM t\"}}"
      "]}},{\"type\":\"get_autocommit\"},{\"type\":\"close\"}]}", &cState);
  CHECK(a.status==200);
  CHECK(cState=='A');
  pResult = cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 0), "response"), "result");
  pSteps = cJSON_GetObjectItem(pResult, "step_results");
  CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(pResult, "step_errors"), 2), "code")->valuestring,
            "SQLITE_CONSTRAINT");
  CHECK(cJSON_IsNull(cJSON_GetArrayItem(pSteps, 3)));          /* not run: the transaction was over */
  CHECK(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(pResult, "step_errors"), 3)));
  CHECK(!cJSON_IsNull(cJSON_GetArrayItem(pSteps, 4)));         /* its BEGIN ran */
  CHECK(cJSON_IsNull(cJSON_GetArrayItem(pSteps, 7)));          /* the trigger's ROLLBACK ended it */
  CHECK(strstr(a.zBody, "nope")!=0);
  CHECK(strstr(a.zBody, "\"value\":\"a\"")!=0);               /* 'in tx' and 'z' undone */
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 1), "response"), "is_autocommit")));
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT group_concat(x) FROM t"), "\"a\"");
  CHECK(!c.bInteractive);
  connClose(&c);
}

/* A COMMIT that fails on a deferred foreign key: TRANSACTION_ABORTED, with
** SQLite's code as extended_code; a sequence refuses what a statement does. */
static void a_failed_commit_says_sqlites_code(void){
  Conn c;
  char cState, zBaton[80];
  Answer a;
  const cJSON *pError;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE p(id INTEGER PRIMARY KEY);"
      " CREATE TABLE k(pid REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)\"}");
  a = execute(&c, "null", "BEGIN", &cState);
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  a = execute(&c, zBaton, "INSERT INTO k VALUES (7)", &cState);
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  a = execute(&c, zBaton, "COMMIT", &cState);
  CHECK(a.status==200);
  pError = cJSON_GetObjectItem(result(&a, 0), "error");
  CHECK_STR(cJSON_GetObjectItem(pError, "code")->valuestring, "TRANSACTION_ABORTED");
  CHECK_STR(cJSON_GetObjectItem(pError, "extended_code")->valuestring, "SQLITE_CONSTRAINT_FOREIGNKEY");
  answerFree(&a);
  a = pipeline(&c, "{\"baton\":null,\"requests\":[{\"type\":\"sequence\",\"sql\":"
      "\"EXPLAIN PRAGMA foreign_keys=0; VACUUM INTO 'x.db'\"},{\"type\":\"sequence\",\"sql\":\"VACUUM INTO 'x.db'\"}]}", &cState);
  CHECK(a.status==200);
  CHECK_STR(errorCode(&a, 0), "SQLITE_AUTH");
  CHECK(strstr(a.zBody, "may not be explained or described")!=0);
  CHECK_STR(errorCode(&a, 1), "SQLITE_AUTH");
  CHECK(strstr(a.zBody, "VACUUM INTO is not allowed")!=0);
  answerFree(&a);
  CHECK_STR(scalar(&c, "PRAGMA foreign_keys"), "1");
  connClose(&c);
}

static void named_args_find_every_prefix(void){
  Conn c;
  char cState;
  Answer a;
  setup(&c);
  a = pipeline(&c, "{\"baton\":null,\"requests\":[{\"type\":\"execute\",\"stmt\":{"
      "\"sql\":\"SELECT :a, @b, $c, ?4\",\"args\":[{\"type\":\"integer\",\"value\":\"1\"}],\"named_args\":["
      "{\"name\":\"?4\",\"value\":{\"type\":\"integer\",\"value\":\"5\"}},"
      "{\"name\":\"b\",\"value\":{\"type\":\"integer\",\"value\":\"2\"}},"
      "{\"name\":\"$c\",\"value\":{\"type\":\"integer\",\"value\":\"3\"}},"
      "{\"name\":\"a\",\"value\":{\"type\":\"integer\",\"value\":\"4\"}}]}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT :x\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT 1\",\"named_args\":[{\"name\":\"y\",\"value\":{\"type\":\"null\"}}]}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT ?\",\"args\":[{\"type\":\"integer\",\"value\":\"1x\"}]}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT ?\",\"args\":[{\"type\":\"date\"}]}},"
      /* One name spelt three ways: the bare name binds each (as sqld); a name
      ** spelt as the statement spells it wins there, whatever the order. */
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT :k, @k, $k\",\"named_args\":["
      "{\"name\":\"@k\",\"value\":{\"type\":\"integer\",\"value\":\"7\"}},"
      "{\"name\":\"k\",\"value\":{\"type\":\"integer\",\"value\":\"6\"}}]}}]}", &cState);
  CHECK(a.status==200);
  checkCell(&a, 5, 0, 0, "{\"type\":\"integer\",\"value\":\"6\"}");
  checkCell(&a, 5, 0, 1, "{\"type\":\"integer\",\"value\":\"7\"}");
  checkCell(&a, 5, 0, 2, "{\"type\":\"integer\",\"value\":\"6\"}");
  checkCell(&a, 0, 0, 0, "{\"type\":\"integer\",\"value\":\"4\"}");
  checkCell(&a, 0, 0, 1, "{\"type\":\"integer\",\"value\":\"2\"}");
  checkCell(&a, 0, 0, 2, "{\"type\":\"integer\",\"value\":\"3\"}");
  checkCell(&a, 0, 0, 3, "{\"type\":\"integer\",\"value\":\"5\"}");
  /* The first positional arg bound ?1, which is :a; named "a" bound it again. */
  CHECK_STR(errorCode(&a, 1), "BAD_PARAMS");
  CHECK_STR(errorCode(&a, 2), "BAD_PARAMS");
  CHECK_STR(errorCode(&a, 3), "BAD_PARAMS");
  CHECK_STR(errorCode(&a, 4), "BAD_PARAMS");
  answerFree(&a);
  connClose(&c);
}

/* Into a new database with an empty table u(v): the pipeline zHead, n times
** zItem, zTail, run with SQLite's heap held to 16 MiB (as ~139,000 small requests
** in 64 MiB); its answer. */
static Answer pipelineInSmallHeap(Conn *pConn, const char *zHead, const char *zItem, int n,
                                  const char *zTail){
  sqlite3_str *pBody = sqlite3_str_new(0);
  char *zBody, cState;
  sqlite3_int64 nLimitWas;
  Answer a;
  int i;
  setup(pConn);
  okFree(pConn, "/run", "{\"sql\":\"CREATE TABLE u(v)\"}");
  sqlite3_str_appendall(pBody, zHead);
  for(i=0; i<n; i++) sqlite3_str_appendall(pBody, zItem);
  sqlite3_str_appendall(pBody, zTail);
  zBody = sqlite3_str_finish(pBody);
  nLimitWas = sqlite3_hard_heap_limit64(16 * 1024 * 1024);
  a = pipeline(pConn, zBody, &cState);
  sqlite3_hard_heap_limit64(nLimitWas);
  sqlite3_free(zBody);
  return a;
}

/* The number after zAfter in z (-1 without it), plus nMore. */
static long numberAfter(const char *z, const char *zAfter, long nMore){
  const char *zAt = z ? strstr(z, zAfter) : 0;
  return zAt ? strtol(zAt + strlen(zAfter), 0, 10) + nMore : -1;
}

/* Whether table u holds n rows, n from 1 to below nMost. */
static void checkRowsRan(Conn *pConn, long n, long nMost){
  char zWant[32];
  CHECK(n>0 && n<nMost);
  snprintf(zWant, sizeof(zWant), "%ld", n);
  CHECK_STR(scalar(pConn, "SELECT count(*) FROM u"), zWant);
}

/* A pipeline whose answer would outgrow SQLite's heap (many small requests:
** their parsed body and their answer) stops between requests, and its error
** says which ran: their rows are there, and no other. */
static void a_pipeline_past_the_heap_says_which_requests_ran(void){
  const int nRequests = 80000;
  char cState;
  long nRan;
  Conn c;
  Answer a = pipelineInSmallHeap(&c, "{\"baton\":null,\"requests\":[",
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO u VALUES(1)\"}},", nRequests,
      "{\"type\":\"close\"}]}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "HEAP_LIMIT");
  nRan = numberAfter(answerError(&a), "before request ", 0);
  if( nRan<0 ) nRan = numberAfter(answerError(&a), "at request ", 1);
  checkRowsRan(&c, nRan, nRequests);
  answerFree(&a);
  /* The object goes on. */
  a = execute(&c, "null", "SELECT 1", &cState);
  CHECK(a.status==200);
  answerFree(&a);
  connClose(&c);
}

/* So does a batch whose own answer would outgrow the heap: its error names the
** first step that did not run, and the steps before it committed (outside a
** transaction), so a client that retries knows what it would write twice; the
** pipeline goes on with its next request. */
static void a_batch_past_the_heap_says_which_steps_ran(void){
  const int nSteps = 80000;
  Conn c;
  Answer a = pipelineInSmallHeap(&c, "{\"baton\":null,\"requests\":[{\"type\":\"batch\",\"batch\":{\"steps\":[",
      "{\"stmt\":{\"sql\":\"INSERT INTO u VALUES(1) RETURNING 1, 2, 3\"}},", nSteps,
      "{\"stmt\":{\"sql\":\"SELECT 1\"}}]}},{\"type\":\"close\"}]}");
  CHECK(a.status==200);
  CHECK_STR(errorCode(&a, 0), "HEAP_LIMIT");
  CHECK_STR(resultType(&a, 1), "ok");
  checkRowsRan(&c, numberAfter(a.zBody, "its steps before step ", 0), nSteps);
  answerFree(&a);
  connClose(&c);
}

/* The pipeline zHead, then that batch of many steps and a COMMIT, then get_autocommit:
** the batch (request iBatch) is HEAP_LIMIT, saying it rolled back the transaction it
** began, and nothing of it stays. */
static void expectBatchRolledBack(const char *zHead, int iBatch){
  Conn c;
  Answer a = pipelineInSmallHeap(&c, zHead, "{\"stmt\":{\"sql\":\"INSERT INTO u VALUES(1) RETURNING 1, 2, 3\"}},", 80000,
      "{\"stmt\":{\"sql\":\"COMMIT\"}}]}},{\"type\":\"get_autocommit\"}]}");
  CHECK(a.status==200);
  CHECK_STR(errorCode(&a, iBatch), "HEAP_LIMIT");
  CHECK(errorMessage(&a, iBatch) && strstr(errorMessage(&a, iBatch), "; the transaction the batch began was rolled back"));
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, iBatch + 1), "response"), "is_autocommit")));
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM u"), "0");
  connClose(&c);
}

/* A batch stopped so inside the transaction its own BEGIN step began will run
** neither its COMMIT nor the guarded ROLLBACK after it: the transaction is rolled
** back, not left to the stream (everyone else waiting) with part of the batch. */
static void a_batch_past_the_heap_rolls_back_the_transaction_it_began(void){
  expectBatchRolledBack("{\"baton\":null,\"requests\":[{\"type\":\"batch\",\"batch\":{\"steps\":["
      "{\"stmt\":{\"sql\":\"BEGIN\"}},", 0);
}

/* So is one it began after committing the one the stream held. */
static void a_batch_past_the_heap_rolls_back_a_transaction_begun_after_a_commit(void){
  expectBatchRolledBack("{\"baton\":null,\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"BEGIN\"}},"
      "{\"type\":\"batch\",\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"COMMIT\"}},{\"stmt\":{\"sql\":\"BEGIN\"}},", 1);
}

static void batons_are_single_use_and_unforgeable(void){
  Conn c;
  char cState, zBaton[80], zOld[80], zForged[80];
  Answer a;
  setup(&c);
  a = execute(&c, "null", "SELECT 1", &cState);
  batonOf(&a, zBaton, sizeof(zBaton));
  CHECK(strlen(zBaton)==34);
  answerFree(&a);
  a = execute(&c, zBaton, "SELECT 2", &cState);
  CHECK(a.status==200);
  strcpy(zOld, zBaton);
  batonOf(&a, zBaton, sizeof(zBaton));
  CHECK(strcmp(zOld, zBaton)!=0);
  answerFree(&a);
  a = execute(&c, zOld, "SELECT 3", &cState);             /* used already */
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "BAD_BATON");
  answerFree(&a);
  strcpy(zForged, zBaton);
  zForged[30] = zForged[30]=='0' ? '1' : '0';              /* the key is wrong */
  a = execute(&c, zForged, "SELECT 3", &cState);
  CHECK_STR(answerCode(&a), "BAD_BATON");
  answerFree(&a);
  a = execute(&c, "\"x\"", "SELECT 3", &cState);
  CHECK_STR(answerCode(&a), "BAD_BATON");
  answerFree(&a);
  a = execute(&c, "\"7fffffff0000000000000000000000000\"", "SELECT 3", &cState);
  CHECK_STR(answerCode(&a), "BAD_BATON");                  /* 33 characters */
  answerFree(&a);
  a = execute(&c, "\"7fffffff000000000000000000000000\"", "SELECT 3", &cState);
  CHECK_STR(answerCode(&a), "STREAM_EXPIRED");             /* no such stream */
  answerFree(&a);
  a = execute(&c, zBaton, "SELECT 4", &cState);            /* the current one still works */
  CHECK(a.status==200);
  answerFree(&a);
  /* Idle past the limit: the stream is gone. */
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  a = execute(&c, "null", "SELECT 5", &cState);
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  hostMemShiftClock(DOSQL_HRANA_STREAM_IDLE_MS + 1);
  a = execute(&c, zBaton, "SELECT 6", &cState);
  CHECK_STR(answerCode(&a), "STREAM_EXPIRED");
  answerFree(&a);
  connClose(&c);
}

static void a_transaction_spans_pipelines_and_keeps_others_out(void){
  Conn c;
  char cState, zBaton[80], zOther[80];
  Answer a;
  setup(&c);
  a = execute(&c, "null", "BEGIN", &cState);
  CHECK(a.status==200);
  CHECK(cState=='T');
  CHECK(c.bInteractive);
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  /* Another stream is not in it: its check says so (the host makes it wait). */
  a = callFlags(&c, "POST", "/v2/pipeline", "{\"baton\":null,\"requests\":[]}", DOSQL_REQUEST_INTERNAL);
  CHECK_STR(a.zBody, "{\"transaction\":false}");
  answerFree(&a);
  a = execute(&c, zBaton, "INSERT INTO t(name) VALUES ('in')", &cState);
  CHECK(cState=='T');
  CHECK_STR(resultType(&a, 0), "ok");
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  a = execute(&c, zBaton, "BEGIN", &cState);               /* nested: that request fails */
  CHECK_STR(errorCode(&a, 0), "SQLITE_ERROR");
  CHECK(cState=='T');
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  a = execute(&c, zBaton, "ROLLBACK", &cState);
  CHECK(cState=='A');
  CHECK(!c.bInteractive);
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
  a = execute(&c, zBaton, "COMMIT", &cState);              /* none is open */
  CHECK_STR(errorCode(&a, 0), "SQLITE_ERROR");
  answerFree(&a);
  /* END commits, as in SQLite. */
  a = execute(&c, "null", "BEGIN IMMEDIATE", &cState);
  batonOf(&a, zOther, sizeof(zOther));
  answerFree(&a);
  a = execute(&c, zOther, "INSERT INTO t(name) VALUES ('kept')", &cState);
  batonOf(&a, zOther, sizeof(zOther));
  answerFree(&a);
  a = execute(&c, zOther, "END", &cState);
  CHECK(cState=='A');
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT name FROM t"), "\"kept\"");
  connClose(&c);
}

static void a_transaction_ended_by_the_host_ends_its_stream(void){
  Conn c;
  char cState, zBaton[80];
  Answer a;
  setup(&c);
  a = execute(&c, "null", "BEGIN", &cState);
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  txOk(&c, "/rollback", "{}");                              /* the host's idle timer */
  a = execute(&c, zBaton, "INSERT INTO t(name) VALUES ('lost')", &cState);
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "STREAM_EXPIRED");
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
  /* Closing a stream rolls its transaction back. */
  a = pipeline(&c, "{\"baton\":null,\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"BEGIN\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO t(name) VALUES ('x')\"}},{\"type\":\"close\"},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT 1\"}}]}", &cState);
  CHECK(cState=='A');
  CHECK(!c.bInteractive);
  CHECK_STR(errorCode(&a, 3), "STREAM_EXPIRED");
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
  connClose(&c);
}

/* What @libsql/client's batch(stmts, "write") sends, with a failing step. */
static void a_batch_runs_its_conditions(void){
  Conn c;
  char cState;
  Answer a;
  const cJSON *pResult;
  setup(&c);
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t(id, name) VALUES (1, 'one')\"}");
  a = pipeline(&c, "{\"baton\":null,\"requests\":["
      "{\"type\":\"store_sql\",\"sql_id\":1,\"sql\":\"INSERT INTO t(id, name) VALUES (?, ?)\"},"
      "{\"type\":\"batch\",\"batch\":{\"steps\":["
        "{\"stmt\":{\"sql\":\"BEGIN IMMEDIATE\"}},"
        "{\"condition\":{\"type\":\"ok\",\"step\":0},\"stmt\":{\"sql_id\":1,\"args\":[{\"type\":\"integer\",\"value\":\"2\"},{\"type\":\"text\",\"value\":\"two\"}]}},"
        "{\"condition\":{\"type\":\"ok\",\"step\":1},\"stmt\":{\"sql_id\":1,\"args\":[{\"type\":\"integer\",\"value\":\"1\"},{\"type\":\"text\",\"value\":\"dup\"}]}},"
        "{\"condition\":{\"type\":\"ok\",\"step\":2},\"stmt\":{\"sql\":\"COMMIT\"}},"
        "{\"condition\":{\"type\":\"not\",\"cond\":{\"type\":\"ok\",\"step\":3}},\"stmt\":{\"sql\":\"ROLLBACK\"}},"
        "{\"condition\":{\"type\":\"and\",\"conds\":[{\"type\":\"is_autocommit\"},{\"type\":\"error\",\"step\":2}]},\"stmt\":{\"sql\":\"SELECT count(*) FROM t\"}},"
        "{\"condition\":{\"type\":\"ok\",\"step\":9},\"stmt\":{\"sql\":\"SELECT 1\"}}"
      "]}},{\"type\":\"close_sql\",\"sql_id\":1},"
      "{\"type\":\"execute\",\"stmt\":{\"sql_id\":1}},{\"type\":\"close\"}]}", &cState);
  CHECK(a.status==200);
  CHECK(cState=='A');
  CHECK_STR(resultType(&a, 0), "ok");
  pResult = cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 1), "response"), "result");
  CHECK(!cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(pResult, "step_results"), 1)));
  CHECK(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(pResult, "step_results"), 2)));
  CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(pResult, "step_errors"), 2), "code")->valuestring,
            "SQLITE_CONSTRAINT");
  CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(pResult, "step_errors"), 2), "extended_code")->valuestring,
            "SQLITE_CONSTRAINT_PRIMARYKEY");
  CHECK(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(pResult, "step_results"), 3)));   /* not run */
  CHECK(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(pResult, "step_errors"), 3)));
  CHECK(!cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(pResult, "step_results"), 4)));  /* ROLLBACK ran */
  CHECK(!cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(pResult, "step_results"), 5)));
  CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(pResult, "step_errors"), 6), "code")->valuestring,
            "BAD_REQUEST");                                               /* names a later step */
  CHECK_STR(errorCode(&a, 3), "BAD_REQUEST");                             /* sql_id 1 was closed */
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT group_concat(name) FROM t"), "\"one\"");       /* all rolled back */
  CHECK(!c.bInteractive);
  connClose(&c);
}

/* A condition missing its operands says which, whatever its type. */
static void a_condition_without_its_operands_says_so(void){
  static const struct { const char *zCond, *zWant; } aCase[] = {
    { "{\"type\":\"not\"}", "\\\"not\\\" needs cond, a condition" },
    { "{\"type\":\"not\",\"cond\":1}", "\\\"not\\\" needs cond, a condition" },
    { "{\"type\":\"and\"}", "\\\"and\\\" needs conds, an array" },
  };
  Conn c;
  char zBody[512];
  int i;
  setup(&c);
  for(i=0; i<(int)(sizeof(aCase)/sizeof(aCase[0])); i++){
    snprintf(zBody, sizeof(zBody), "{\"baton\":null,\"requests\":[{\"type\":\"batch\",\"batch\":{\"steps\":["
        "{\"condition\":%s,\"stmt\":{\"sql\":\"SELECT 1\"}}]}}]}", aCase[i].zCond);
    expectAnswerHolds(&c, zBody, aCase[i].zWant);
  }
  connClose(&c);
}

static void sequence_describe_and_autocommit(void){
  Conn c;
  char cState;
  Answer a;
  const cJSON *pDescribe;
  setup(&c);
  a = pipeline(&c, "{\"baton\":null,\"requests\":["
      "{\"type\":\"sequence\",\"sql\":\"INSERT INTO t(name) VALUES ('a'); BEGIN; INSERT INTO t(name) VALUES ('b');\"},"
      "{\"type\":\"get_autocommit\"},"
      "{\"type\":\"sequence\",\"sql\":\"COMMIT; INSERT INTO t(id) VALUES (1); INSERT INTO t(name) VALUES ('never')\"},"
      "{\"type\":\"describe\",\"sql\":\"SELECT name AS n, :p FROM t WHERE id = ?\"},"
      "{\"type\":\"get_autocommit\"},{\"type\":\"ping\"}]}", &cState);
  CHECK(a.status==200);
  CHECK_STR(resultType(&a, 0), "ok");
  CHECK(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 1), "response"), "is_autocommit")));
  CHECK_STR(errorCode(&a, 2), "SQLITE_CONSTRAINT");                      /* COMMIT ran, then id 1 failed */
  pDescribe = cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 3), "response"), "result");
  CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(pDescribe, "params"), 0), "name")->valuestring, ":p");
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(pDescribe, "params"), 1), "name")));
  CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(pDescribe, "cols"), 0), "name")->valuestring, "n");
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(pDescribe, "is_readonly")));
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 4), "response"), "is_autocommit")));
  CHECK_STR(errorCode(&a, 5), "BAD_REQUEST");
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT group_concat(name) FROM t"), "\"a,b\"");
  connClose(&c);
}

/* EXPLAIN of BEGIN, COMMIT, ROLLBACK or SAVEPOINT lists a program and runs
** none of it, in every request type: no transaction opens or ends. */
static void explaining_transaction_control_runs_none(void){
  static const char *const azExplained[] = {
    "EXPLAIN BEGIN", "EXPLAIN BEGIN IMMEDIATE", "EXPLAIN QUERY PLAN BEGIN", "EXPLAIN COMMIT",
    "EXPLAIN END", "EXPLAIN ROLLBACK", "EXPLAIN SAVEPOINT s", "EXPLAIN RELEASE s",
  };
  Conn c;
  char cState, zBody[1024], zBaton[128];
  Answer a;
  int i;
  setup(&c);
  for(i=0; i<(int)(sizeof(azExplained)/sizeof(azExplained[0])); i++){
    snprintf(zBody, sizeof(zBody), "{\"baton\":null,\"requests\":["
        "{\"type\":\"execute\",\"stmt\":{\"sql\":\"%s\"}},"
        "{\"type\":\"sequence\",\"sql\":\"%s\"},"
        "{\"type\":\"batch\",\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"%s\"}}]}},"
        "{\"type\":\"get_autocommit\"}]}", azExplained[i], azExplained[i], azExplained[i]);
    a = pipeline(&c, zBody, &cState);
    CHECK(a.status==200);
    CHECK_STR(resultType(&a, 0), "ok");
    /* The program's rows (a query plan has none of these). */
    CHECK(strstr(azExplained[i], "QUERY PLAN") || cJSON_GetArraySize(cJSON_GetObjectItem(stmtResult(&a, 0), "rows"))>0);
    CHECK_STR(resultType(&a, 1), "ok");
    CHECK_STR(resultType(&a, 2), "ok");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 3), "response"), "is_autocommit")));
    if( a.status!=200 || !cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 3), "response"), "is_autocommit")) ){
      printf("  %s -> %s\n", azExplained[i], a.zBody);
    }
    answerFree(&a);
  }
  /* Inside a transaction, an explained ROLLBACK keeps its rows. */
  a = execute(&c, "null", "BEGIN", &cState);
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  snprintf(zBody, sizeof(zBody), "{\"baton\":%s,\"requests\":["
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO t(name) VALUES ('kept')\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"EXPLAIN ROLLBACK\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"COMMIT\"}}]}", zBaton);
  a = pipeline(&c, zBody, &cState);
  CHECK(a.status==200);
  CHECK_STR(resultType(&a, 2), "ok");
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT group_concat(name) FROM t"), "\"kept\"");
  connClose(&c);
}

/* A failing statement of a sequence is named by the line it begins on: past the
** comments above it (a script with a comment over each statement named the
** comment's line), with lines ended by a lone CR counted too. */
static void a_failing_sequence_statement_names_its_own_line(void){
  static const struct { const char *zSql; const char *zLine; } aCase[] = {
    { "SELECT 1;\\n-- a\\n-- b\\n-- c\\nINSERT INTO nope VALUES (1);", "line 5)" },
    { "SELECT 1;\\n\\n/* c\\n */\\nINSERT INTO nope VALUES (1);", "line 5)" },
    { "SELECT 1; -- done\\nINSERT INTO nope VALUES (1);", "line 2)" },
    { "SELECT 1;\\rSELECT 2;\\rINSERT INTO nope VALUES (1);\\r", "line 3)" },
    { "SELECT 1;\\r\\nSELECT 2; /* x */ INSERT INTO nope VALUES (1);", "line 2)" },
  };
  Conn c;
  char cState, zBody[512];
  int i;
  setup(&c);
  for(i=0; i<(int)(sizeof(aCase)/sizeof(aCase[0])); i++){
    snprintf(zBody, sizeof(zBody), "{\"baton\":null,\"requests\":[{\"type\":\"sequence\",\"sql\":\"%s\"}]}", aCase[i].zSql);
    expectAnswerHolds(&c, zBody, aCase[i].zLine);
  }
  /* Inside a transaction the sequence began, it says the stream still holds it (what
  ** ran since its BEGIN is kept only if the stream commits it); the close rolls it back. */
  {
    Answer a = pipeline(&c, "{\"baton\":null,\"requests\":[{\"type\":\"sequence\",\"sql\":"
        "\"BEGIN; INSERT INTO t(name) VALUES ('x'); INSERT INTO nope VALUES (1)\"},{\"type\":\"close\"}]}", &cState);
    CHECK(errorMessage(&a, 0) && strstr(errorMessage(&a, 0), "(the sequence's statement on line 1, inside a transaction the stream still holds)"));
    answerFree(&a);
    CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
    /* Not when the failing statement rolled the transaction back itself. */
    a = pipeline(&c, "{\"baton\":null,\"requests\":[{\"type\":\"sequence\",\"sql\":"
        "\"BEGIN; INSERT INTO t(id, name) VALUES (1, 'a'); INSERT OR ROLLBACK INTO t(id, name) VALUES (1, 'b')\"},"
        "{\"type\":\"get_autocommit\"},{\"type\":\"close\"}]}", &cState);
    CHECK(errorMessage(&a, 0) && strstr(errorMessage(&a, 0), "(the sequence's statement on line 1)"));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 1), "response"), "is_autocommit")));
    answerFree(&a);
  }
  connClose(&c);
}

/* Describing a PRAGMA that sets a value would apply it (SQLite does as it
** prepares it): refused, and nothing changes; one that reports is described. */
static void describing_a_setting_changes_nothing(void){
  Conn c;
  char cState;
  Answer a;
  setup(&c);
  a = pipeline(&c, "{\"baton\":null,\"requests\":["
      "{\"type\":\"describe\",\"sql\":\"PRAGMA recursive_triggers = ON\"},"
      "{\"type\":\"describe\",\"sql\":\"pragma main.secure_delete(1);\"},"
      "{\"type\":\"describe\",\"sql\":\"PRAGMA table_info(t)\"},"
      "{\"type\":\"describe\",\"sql\":\"PRAGMA recursive_triggers\"}]}", &cState);
  CHECK(a.status==200);
  CHECK_STR(errorCode(&a, 0), "SQLITE_AUTH");
  CHECK_STR(errorCode(&a, 1), "SQLITE_AUTH");
  CHECK_STR(resultType(&a, 2), "ok");
  CHECK_STR(resultType(&a, 3), "ok");
  answerFree(&a);
  CHECK_STR(scalar(&c, "PRAGMA recursive_triggers"), "0");
  CHECK_STR(scalar(&c, "PRAGMA secure_delete"), "0");
  /* Run twice, the setting is a kept statement: a describe still prepares anew. */
  okFree(&c, "/run", "{\"sql\":\"PRAGMA recursive_triggers = ON\"}");
  okFree(&c, "/run", "{\"sql\":\"PRAGMA recursive_triggers = ON\"}");
  a = pipeline(&c, "{\"baton\":null,\"requests\":[{\"type\":\"describe\",\"sql\":\"PRAGMA recursive_triggers = ON\"}]}", &cState);
  CHECK(a.status==200);
  CHECK_STR(errorCode(&a, 0), "SQLITE_AUTH");
  answerFree(&a);
  connClose(&c);
}

static void hostile_pipelines_get_clear_errors(void){
  Conn c;
  char cState;
  Answer a;
  static const char *azBad[] = {
    "[]", "{\"baton\":null}", "{\"baton\":null,\"requests\":{}}", "{\"baton\":5,\"requests\":[]}",
  };
  int i;
  setup(&c);
  /* Named as the client sent it, not as the host runs it. */
  a = pipeline(&c, "{\"baton\":null,\"requests\":[],\"asOf\":1}", &cState);
  CHECK(a.status==400 && answerError(&a) && strstr(answerError(&a), "a libSQL pipeline (/v2/pipeline) does not take asOf"));
  answerFree(&a);
  for(i=0; i<(int)(sizeof(azBad)/sizeof(azBad[0])); i++){
    a = pipeline(&c, azBad[i], &cState);
    CHECK(a.status==400);
    CHECK(answerCode(&a)!=0);
    answerFree(&a);
  }
  /* The run route is the host's alone. */
  a = post(&c, "/hrana/pipeline", "{\"baton\":null,\"requests\":[]}");
  CHECK(a.status==404);
  answerFree(&a);
  a = pipeline(&c, "{\"baton\":null,\"requests\":[5,{\"type\":\"execute\"},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"ATTACH 'x' AS y\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT 1; SELECT 2\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SAVEPOINT s\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"PRAGMA writable_schema=1\"}},"
      "{\"type\":\"store_sql\",\"sql_id\":-1,\"sql\":\"SELECT 1\"},"
      "{\"type\":\"batch\",\"batch\":{\"steps\":[{\"condition\":{\"type\":\"xor\"},\"stmt\":{\"sql\":\"SELECT 1\"}}]}}]}",
      &cState);
  CHECK(a.status==200);
  CHECK_STR(errorCode(&a, 0), "BAD_REQUEST");
  CHECK_STR(errorCode(&a, 1), "BAD_REQUEST");
  CHECK_STR(errorCode(&a, 2), "SQLITE_AUTH");
  CHECK_STR(errorCode(&a, 3), "MULTIPLE_STATEMENTS");
  CHECK_STR(errorCode(&a, 4), "SQLITE_AUTH");
  CHECK_STR(errorCode(&a, 5), "SQLITE_AUTH");
  CHECK_STR(errorCode(&a, 6), "BAD_REQUEST");
  CHECK_STR(resultType(&a, 7), "ok");         /* the step's error is in step_errors */
  answerFree(&a);
  /* A BEGIN's text is never kept and run as a statement by another route. */
  a = post(&c, "/query", "{\"sql\":\"BEGIN\"}");
  CHECK_STR(answerCode(&a), "TRANSACTION_STATEMENT");
  answerFree(&a);
  CHECK(sqlite3_get_autocommit(c.db));
  connClose(&c);
}

/* On async storage a pipeline stops at a fault; the host's call again resumes
** after what ran: every INSERT lands once, and each result is there once. */
static void a_fault_resumes_without_running_anything_twice(void){
  Conn c;
  char cState;
  Answer a;
  setup(&c);
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t(data) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
      "SELECT i+1 FROM n WHERE i<2000) SELECT randomblob(200) FROM n\"}");
  connClose(&c);
  hostMemSetAsync(1);
  hostMemFetch(1);
  openConn(&c);
  a = pipeline(&c, "{\"baton\":null,\"requests\":["
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO t(name) VALUES ('first')\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT count(*) FROM t\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO t(name) VALUES ('second')\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT count(*), sum(length(data)) FROM t\"}}]}", &cState);
  CHECK(a.status==200);
  if( a.status!=200 ) printf("  %d %s\n", a.status, a.zBody);
  CHECK(nFaults>1);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(a.pJson, "results"))==4);
  checkCell(&a, 1, 0, 0, "{\"type\":\"integer\",\"value\":\"2001\"}");
  checkCell(&a, 3, 0, 0, "{\"type\":\"integer\",\"value\":\"2002\"}");
  answerFree(&a);
  a = post(&c, "/query", "{\"sql\":\"SELECT count(*) AS n FROM t WHERE name IS NOT NULL\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"n\":2}]}");
  answerFree(&a);
  connClose(&c);
}

/* The async host's database of writeBigTable(): t holds 2000 rows of 200 bytes,
** and only page 1 is in memory. */
static void openCold(Conn *pConn){
  setup(pConn);
  okFree(pConn, "/run", "{\"sql\":\"INSERT INTO t(data) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
      "SELECT i+1 FROM n WHERE i<2000) SELECT randomblob(200) FROM n\"}");
  okFree(pConn, "/run", "{\"sql\":\"CREATE TABLE u(x)\"}");
  connClose(pConn);
  hostMemSetAsync(1);
  hostMemFetch(1);
  openConn(pConn);
}

/* Within a batch and a sequence too, a fault resumes at the step or statement
** it stopped at: what committed before it is not run again. */
static void a_fault_resumes_inside_a_batch_and_a_sequence(void){
  Conn c;
  char cState;
  Answer a;
  const cJSON *pSteps;
  openCold(&c);
  nFaults = 0;
  a = pipeline(&c, "{\"baton\":null,\"requests\":["
      "{\"type\":\"batch\",\"batch\":{\"steps\":["
        "{\"stmt\":{\"sql\":\"INSERT INTO u VALUES (1)\"}},"
        "{\"condition\":{\"type\":\"ok\",\"step\":0},\"stmt\":{\"sql\":\"SELECT count(*) FROM t\"}},"
        "{\"condition\":{\"type\":\"ok\",\"step\":1},\"stmt\":{\"sql\":\"INSERT INTO u VALUES (2)\"}},"
        "{\"condition\":{\"type\":\"error\",\"step\":1},\"stmt\":{\"sql\":\"INSERT INTO u VALUES (-1)\"}}]}},"
      "{\"type\":\"sequence\",\"sql\":\"INSERT INTO u VALUES (3); SELECT sum(length(data)) FROM t; INSERT INTO u VALUES (4);\"}]}",
      &cState);
  CHECK(a.status==200);
  CHECK(nFaults>1);
  pSteps = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 0), "response"), "result"), "step_results");
  CHECK(cJSON_GetArraySize(pSteps)==4);
  CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(pSteps, 1), "rows"), 0), 0), "value")->valuestring, "2000");
  CHECK(cJSON_IsNull(cJSON_GetArrayItem(pSteps, 3)));
  CHECK_STR(resultType(&a, 1), "ok");
  answerFree(&a);
  a = post(&c, "/query", "{\"sql\":\"SELECT group_concat(x) AS x FROM u\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"x\":\"1,2,3,4\"}]}");
  answerFree(&a);
  connClose(&c);
}

/* What a fault left behind is for the host's call again alone: another call of
** the same body (another client's) runs from its start, on a stream of its own. */
static void only_the_retry_resumes(void){
  static const char zBody[] = "{\"baton\":null,\"requests\":["
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO u VALUES (1)\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT count(*) FROM t\"}}]}";
  Conn c;
  char cState;
  Answer a;
  openCold(&c);
  a = postFetching(&c, "/run", "{\"sql\":\"INSERT INTO u VALUES (0)\"}");    /* u and the change log at hand, t not */
  answerFree(&a);
  a = postFetching(&c, "/run", "{\"sql\":\"DELETE FROM u\"}");
  answerFree(&a);
  a = callFlags(&c, "POST", "/hrana/pipeline", zBody, DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==DOSQL_STATUS_FAULT);                       /* the first client gives up */
  answerFree(&a);
  a = pipeline(&c, zBody, &cState);                          /* a second one, and its retries */
  CHECK(a.status==200);
  checkCell(&a, 1, 0, 0, "{\"type\":\"integer\",\"value\":\"2000\"}");
  answerFree(&a);
  a = postFetching(&c, "/query", "{\"sql\":\"SELECT count(*) AS n FROM u\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"n\":2}]}");          /* one row each: nothing skipped */
  answerFree(&a);
  connClose(&c);
}

/* A result past the limit fails its own request, not the pipeline: a
** transaction begun before it stays, and host and engine agree on it. */
static void a_result_too_large_fails_its_request_only(void){
  Conn c;
  char cState, zBaton[80];
  Answer a;
  setup(&c);
  a = pipeline(&c, "{\"baton\":null,\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"BEGIN\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO t(name) VALUES ('kept')\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT zeroblob(30000000)\"}},"
      "{\"type\":\"get_autocommit\"}]}", &cState);
  CHECK(a.status==200);
  CHECK(cState=='T');
  CHECK(c.bInteractive);
  CHECK_STR(errorCode(&a, 2), "RESULT_TOO_LARGE");
  CHECK(a.zBody && strlen(a.zBody)<4096);
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  a = execute(&c, zBaton, "COMMIT", &cState);
  CHECK(cState=='A');
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT name FROM t"), "\"kept\"");
  connClose(&c);
}

/* The batch @libsql/client sends for db.batch(): BEGIN, the statements, COMMIT if
** they all succeeded, else ROLLBACK; here an INSERT of id and rows of about 31 MB
** whose last one is nLast bytes. */
static Answer clientBatch(Conn *pConn, int id, int nLast){
  char zBody[1024];
  char cState;
  snprintf(zBody, sizeof(zBody), "{\"baton\":null,\"requests\":[{\"type\":\"batch\",\"batch\":{\"steps\":["
      "{\"stmt\":{\"sql\":\"BEGIN IMMEDIATE\"}},"
      "{\"condition\":{\"type\":\"ok\",\"step\":0},\"stmt\":{\"sql\":\"INSERT INTO t(id) VALUES (%d)\"}},"
      "{\"condition\":{\"type\":\"ok\",\"step\":1},\"stmt\":{\"sql\":\"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
      "SELECT i+1 FROM c WHERE i<32) SELECT printf('%%.*c', CASE WHEN i<32 THEN 1000000 ELSE %d END, 'x') FROM c\"}},"
      "{\"condition\":{\"type\":\"ok\",\"step\":2},\"stmt\":{\"sql\":\"COMMIT\"}},"
      "{\"condition\":{\"type\":\"not\",\"cond\":{\"type\":\"ok\",\"step\":3}},\"stmt\":{\"sql\":\"ROLLBACK\"}}]}}]}",
      id, nLast);
  return pipeline(pConn, zBody, &cState);
}

/* Whatever the size of a batch's rows, its answer says what it did: a COMMIT
** that ran is never answered as a failure (the caller would send it again),
** nor one that did not as done. The rows end, and the request's answer ends,
** on either side of each limit. */
static void a_batch_near_the_answer_limit_answers_what_it_did(void){
  static const int aLimit[] = { DOSQL_MAX_RESULT_BYTES, DOSQL_MAX_ANSWER_BYTES };
  Conn c;
  Answer a;
  int i, iEnd, nRows = 0, nRequest = 0, id = 100;
  char zSql[64];
  setup(&c);
  /* Where the rows end, and where the request's answer ends, with a last row
  ** of 1,000 bytes (the state byte counts, as in the engine). */
  a = clientBatch(&c, 1, 1000);
  CHECK(a.status==200 && a.zBody);
  if( a.zBody && strstr(a.zBody, "x\"}]]") && strstr(a.zBody, "}}],\"baton\"") ){
    nRows = (int)(strstr(a.zBody, "x\"}]]") - a.zBody) + 4;
    nRequest = (int)(strstr(a.zBody, "}}],\"baton\"") - a.zBody) + 2;
  }
  CHECK(nRows>0 && nRequest>nRows);
  answerFree(&a);
  for(i=0; i<12; i++){
    const cJSON *pCommit;
    int bCommitted, bAnswered;
    int nEnd = i<6 ? nRows : nRequest;           /* which end lands next to a limit */
    iEnd = aLimit[(i/3)%2] + i%3 - 1;
    a = clientBatch(&c, ++id, 1000 + iEnd - nEnd);
    CHECK(a.status==200);
    pCommit = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
        result(&a, 0), "response"), "result"), "step_results"), 3);
    bAnswered = strcmp(resultType(&a, 0), "ok")==0 && cJSON_IsObject(pCommit);
    snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM t WHERE id = %d", id);
    bCommitted = strcmp(scalar(&c, zSql), "1")==0;
    if( bCommitted!=bAnswered ){
      printf("  %s ending at %d: committed %d, answered so %d\n", i<6 ? "rows" : "answer", iEnd, bCommitted, bAnswered);
    }
    CHECK(bCommitted==bAnswered);
    CHECK(!c.bInteractive);
    answerFree(&a);
  }
  connClose(&c);
}

/* libSQL's BEGIN TRANSACTION READONLY: writes in it fail; after it, they work. */
static void a_readonly_transaction_refuses_writes(void){
  Conn c;
  char cState;
  Answer a;
  setup(&c);
  a = pipeline(&c, "{\"baton\":null,\"requests\":["
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"BEGIN TRANSACTION READONLY\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO t(name) VALUES ('no')\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT count(*) FROM t\"}},"
      "{\"type\":\"close\"},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT 1\"}}]}", &cState);
  CHECK_STR(errorCode(&a, 1), "SQLITE_READONLY");
  CHECK_STR(resultType(&a, 2), "ok");
  answerFree(&a);
  CHECK(!c.bInteractive && !c.bReadOnlyTx);
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t(name) VALUES ('yes')\"}");
  CHECK_STR(scalar(&c, "SELECT group_concat(name) FROM t"), "\"yes\"");
  connClose(&c);
}

/* Read-only is told by SQLite's tokens, as libSQL's parser tells it: comments
** and blanks anywhere, any case, a kind of BEGIN, a statement of a sequence
** after others. A quoted "READONLY" is the transaction's name; a word after
** READONLY makes it no such BEGIN. */
/* BEGIN, COMMIT and ROLLBACK have no parameter: an argument is BAD_PARAMS, as
** for any statement, and nothing begins or ends. */
static void transaction_control_takes_no_arguments(void){
  Conn c;
  char cState;
  Answer a;
  setup(&c);
  a = pipeline(&c, "{\"baton\":null,\"requests\":["
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"BEGIN\",\"args\":[{\"type\":\"integer\",\"value\":\"1\"}]}},"
      "{\"type\":\"get_autocommit\"},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"BEGIN\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"COMMIT\",\"named_args\":[{\"name\":\"x\",\"value\":{\"type\":\"bad\"}}]}},"
      "{\"type\":\"get_autocommit\"},{\"type\":\"close\"}]}", &cState);
  CHECK_STR(errorCode(&a, 0), "BAD_PARAMS");
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 1), "response"), "is_autocommit")));
  CHECK_STR(resultType(&a, 2), "ok");
  CHECK_STR(errorCode(&a, 3), "BAD_PARAMS");
  CHECK(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 4), "response"), "is_autocommit")));
  answerFree(&a);
  connClose(&c);
}

/* Errors in libSQL's words: a savepoint outside a transaction, an sql_id never
** stored (not DoSQL's own endpoints, nor a stream where a socket keeps them). */
static void errors_say_what_a_libsql_client_can_do(void){
  Conn c;
  char cState;
  Answer a;
  const char *zMsg;
  setup(&c);
  a = pipeline(&c, "{\"baton\":null,\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"SAVEPOINT a\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql_id\":99}},{\"type\":\"close\"}]}", &cState);
  zMsg = errorMessage(&a, 0);
  CHECK(zMsg && strstr(zMsg, "after a BEGIN") && !strstr(zMsg, "/begin"));
  zMsg = errorMessage(&a, 1);
  CHECK(zMsg && strstr(zMsg, "over a WebSocket"));
  answerFree(&a);
  connClose(&c);
}

static void a_readonly_begin_is_read_as_sqlite_tokens_it(void){
  static const struct { const char *zRequest; int bReadOnly; } aCase[] = {
    { "\"execute\",\"stmt\":{\"sql\":\"/* c */ BEGIN TRANSACTION READONLY\"}", 1 },
    { "\"execute\",\"stmt\":{\"sql\":\"-- c\\nbegin deferred transaction readonly;\"}", 1 },
    { "\"execute\",\"stmt\":{\"sql\":\"BEGIN/**/IMMEDIATE\\tTRANSACTION --x\\n ReadOnly -- y\"}", 1 },
    { "\"sequence\",\"sql\":\"SELECT 1; -- now read only\\nBEGIN TRANSACTION READONLY; SELECT 2\"", 1 },
    { "\"execute\",\"stmt\":{\"sql\":\"BEGIN TRANSACTION \\\"READONLY\\\"\"}", 0 },
    { "\"execute\",\"stmt\":{\"sql\":\"BEGIN TRANSACTION [READONLY]\"}", 0 },
    { "\"execute\",\"stmt\":{\"sql\":\"BEGIN READONLY\"}", -1 },
  };
  Conn c;
  char cState, zBody[512];
  Answer a;
  int i;
  setup(&c);
  for(i=0; i<(int)(sizeof(aCase)/sizeof(aCase[0])); i++){
    snprintf(zBody, sizeof(zBody), "{\"baton\":null,\"requests\":[{\"type\":%s},"
        "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO t(name) VALUES ('x')\"}},"
        "{\"type\":\"get_autocommit\"},{\"type\":\"close\"}]}", aCase[i].zRequest);
    a = pipeline(&c, zBody, &cState);
    if( aCase[i].bReadOnly<0 ){
      CHECK_STR(errorCode(&a, 0), "SQLITE_ERROR");                    /* no BEGIN at all */
    }else{
      CHECK_STR(resultType(&a, 0), "ok");
      CHECK(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 2), "response"), "is_autocommit")));
      if( aCase[i].bReadOnly ) CHECK_STR(errorCode(&a, 1), "SQLITE_READONLY");
      else CHECK_STR(resultType(&a, 1), "ok");
    }
    if( aCase[i].bReadOnly>0 && errorCode(&a, 1)==0 ) printf("  case %d wrote\n", i);
    answerFree(&a);
    CHECK(!c.bInteractive && !c.bReadOnlyTx);
  }
  /* Each close rolled its transaction back; only the INSERT after the failed BEGIN stays. */
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "1");
  connClose(&c);
}

/* A transaction begun in the pipeline that faults is undone and resumed at its
** BEGIN, whether the BEGIN is a request or a batch's step (@libsql/client's
** batches). (One begun in an earlier pipeline ends: TRANSACTION_ABORTED.) */
static void a_fault_in_a_transaction_begun_in_the_pipeline_resumes_at_its_begin(void){
  Conn c;
  char cState;
  Answer a;
  const cJSON *pSteps;
  openCold(&c);
  nFaults = 0;
  a = pipeline(&c, "{\"baton\":null,\"requests\":["
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO u VALUES (0)\"}},"
      "{\"type\":\"batch\",\"batch\":{\"steps\":["
        "{\"stmt\":{\"sql\":\"BEGIN IMMEDIATE\"}},"
        "{\"condition\":{\"type\":\"ok\",\"step\":0},\"stmt\":{\"sql\":\"INSERT INTO u VALUES (1)\"}},"
        "{\"condition\":{\"type\":\"ok\",\"step\":1},\"stmt\":{\"sql\":\"SELECT count(*) FROM t\"}},"
        "{\"condition\":{\"type\":\"ok\",\"step\":2},\"stmt\":{\"sql\":\"COMMIT\"}}]}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"BEGIN\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO u VALUES (2)\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT sum(length(data)) FROM t WHERE rowid % 2 = 0\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"COMMIT\"}}]}", &cState);
  CHECK(a.status==200);
  CHECK(nFaults>0);
  CHECK(cState=='A');
  pSteps = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&a, 1), "response"), "result"), "step_results");
  CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(pSteps, 2), "rows"), 0), 0), "value")->valuestring, "2000");
  CHECK_STR(resultType(&a, 5), "ok");
  answerFree(&a);
  a = post(&c, "/query", "{\"sql\":\"SELECT group_concat(x) AS x FROM u\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"x\":\"0,1,2\"}]}");
  answerFree(&a);
  connClose(&c);
}

/* Run again from its BEGIN after a fault, a transaction's store_sql and
** close_sql run again on the stored SQL they first saw. */
static void a_transaction_run_again_stores_its_sql_again(void){
  Conn c;
  char cState;
  Answer a;
  int i;
  openCold(&c);
  nFaults = 0;
  a = pipeline(&c, "{\"baton\":null,\"requests\":["
      "{\"type\":\"store_sql\",\"sql_id\":1,\"sql\":\"INSERT INTO u VALUES (1)\"},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"BEGIN\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql_id\":1}},"
      "{\"type\":\"close_sql\",\"sql_id\":1},"
      "{\"type\":\"store_sql\",\"sql_id\":2,\"sql\":\"INSERT INTO u VALUES (2)\"},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT sum(length(data)) FROM t\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql_id\":2}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"COMMIT\"}}]}", &cState);
  CHECK(a.status==200);
  CHECK(nFaults>0);
  for(i=1; i<8; i++) CHECK_STR(resultType(&a, i), "ok");
  answerFree(&a);
  a = post(&c, "/query", "{\"sql\":\"SELECT group_concat(x) AS x FROM u\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"x\":\"1,2\"}]}");
  answerFree(&a);
  connClose(&c);
}

/* A pipeline that ends its stream's transaction (COMMIT) and then faults: the
** host's call again still says "in a transaction" (it learns the end from the
** answer), and goes on outside it (found by fuzz_hrana: it was 500 INTERNAL). */
static void a_fault_after_commit_in_a_pipeline_resumes(void){
  Conn c;
  Answer a;
  char cState, zBody[512];
  const cJSON *pBaton;
  openConn(&c);
  a = migrate(&c, "{\"migrations\":[{\"name\":\"001.sql\",\"sql\":\"CREATE TABLE u(x);"
      " CREATE TABLE big(data); INSERT INTO big WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
      " SELECT i+1 FROM n WHERE i<300) SELECT randomblob(300) FROM n;\"}]}");
  CHECK(a.status==200);
  answerFree(&a);
  connClose(&c);
  hostMemSetAsync(1);            /* a cold object: pages come as they are fetched */
  hostMemFetch(1);
  openConn(&c);
  a = pipeline(&c, "{\"baton\":null,\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"BEGIN\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO u VALUES (1)\"}}]}", &cState);
  CHECK(a.status==200);
  CHECK(cState=='T');
  pBaton = cJSON_GetObjectItem(a.pJson, "baton");
  snprintf(zBody, sizeof(zBody), "{\"baton\":\"%s\",\"requests\":["
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"COMMIT\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT count(*), sum(length(data)) FROM big\"}}]}",
      cJSON_IsString(pBaton) ? pBaton->valuestring : "");
  answerFree(&a);
  /* The SELECT after the COMMIT faults: the call again must resume after it. */
  a = pipeline(&c, zBody, &cState);
  CHECK(a.status==200);
  if( a.status!=200 ) printf("  the pipeline -> %d %s\n", a.status, a.zBody);
  CHECK(cState=='A');
  answerFree(&a);
  CHECK(!c.bInteractive);
  hostMemSetAsync(0);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM u"), "1");
  connClose(&c);
}

/* The host's idle timer ends a stream's transaction with /rollback (the gate's
** idle timeout), and a rollback must not fail: the gate then lets others in,
** and a transaction left open in C refuses every later request (500 "a
** transaction is open"). /rollback once read the stored size for a sizeAfter; a
** stream's BEGIN never read it (page 1 comes from SQLite's cache), so after a
** rollback had made the VFS forget it, /rollback needed page 1 from storage,
** which the cold tier may hold (and fail to give). It reads nothing now. */
static void the_host_rolls_back_a_streams_transaction_without_reading_storage(void){
  Conn c;
  char cState, zBaton[80];
  Answer a;
  setup(&c);
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t(id, name) VALUES (1, 'a')\"}");
  a = post(&c, "/run", "{\"sql\":\"INSERT INTO t(id, name) VALUES (2, 'b'), (1, 'dup')\"}");
  CHECK(a.status==409);                          /* rolled back: page 1 is forgotten */
  answerFree(&a);
  a = execute(&c, "null", "BEGIN", &cState);
  batonOf(&a, zBaton, sizeof(zBaton));
  answerFree(&a);
  a = execute(&c, zBaton, "INSERT INTO t(id, name, data) VALUES (3, 'c', zeroblob(50000))", &cState);
  CHECK(a.status==200 && cState=='T');
  answerFree(&a);
  hostMemSetAsync(1);                            /* every stored page is in R2 now */
  a = callFlags(&c, "POST", "/rollback", "{}", DOSQL_REQUEST_IN_TRANSACTION);
  CHECK(a.status==200);
  if( a.status!=200 ) printf("  /rollback -> %d %s\n", a.status, a.zBody);
  answerFree(&a);
  CHECK(!c.bInteractive && sqlite3_get_autocommit(c.db));
  hostMemSetAsync(0);
  CHECK_STR(scalar(&c, "SELECT group_concat(id) FROM t"), "\"1\"");
  connClose(&c);
}

int main(void){
  RUN(every_value_type_goes_both_ways);
  RUN(last_insert_rowid_is_null_only_without_an_insert);
  RUN(a_statement_that_rolls_back_its_transaction_fails_alone);
  RUN(a_batch_step_after_a_rollback_by_design_runs_outside_the_transaction);
  RUN(a_failed_commit_says_sqlites_code);
  RUN(named_args_find_every_prefix);
  RUN(a_pipeline_past_the_heap_says_which_requests_ran);
  RUN(a_batch_past_the_heap_says_which_steps_ran);
  RUN(a_batch_past_the_heap_rolls_back_the_transaction_it_began);
  RUN(a_batch_past_the_heap_rolls_back_a_transaction_begun_after_a_commit);
  RUN(batons_are_single_use_and_unforgeable);
  RUN(a_transaction_spans_pipelines_and_keeps_others_out);
  RUN(a_transaction_ended_by_the_host_ends_its_stream);
  RUN(a_batch_runs_its_conditions);
  RUN(sequence_describe_and_autocommit);
  RUN(a_condition_without_its_operands_says_so);
  RUN(a_failing_sequence_statement_names_its_own_line);
  RUN(describing_a_setting_changes_nothing);
  RUN(explaining_transaction_control_runs_none);
  RUN(hostile_pipelines_get_clear_errors);
  RUN(a_fault_resumes_without_running_anything_twice);
  RUN(a_fault_resumes_inside_a_batch_and_a_sequence);
  RUN(only_the_retry_resumes);
  RUN(a_result_too_large_fails_its_request_only);
  RUN(a_batch_near_the_answer_limit_answers_what_it_did);
  RUN(a_readonly_transaction_refuses_writes);
  RUN(a_readonly_begin_is_read_as_sqlite_tokens_it);
  RUN(transaction_control_takes_no_arguments);
  RUN(errors_say_what_a_libsql_client_can_do);
  RUN(a_fault_in_a_transaction_begun_in_the_pipeline_resumes_at_its_begin);
  RUN(a_transaction_run_again_stores_its_sql_again);
  RUN(a_fault_after_commit_in_a_pipeline_resumes);
  RUN(the_host_rolls_back_a_streams_transaction_without_reading_storage);
  return HARNESS_END();
}
