/*
** test_api.c — the exported surface of api.c, used as the host uses it: library
** set-up (heap limit, logging, cJSON's allocator), open, requests, migrations.
** It runs in its own process because the library is configured once.
*/
#include "harness.h"
#include "cJSON.h"
#include "config.h"
#include "host.h"

static Answer request(const char *zPath, const char *zBody){
  uint8_t *aBody = dosql_alloc((uint32_t)strlen(zBody));
  Answer a;
  memcpy(aBody, zBody, strlen(zBody));
  a = answerFrom(dosql_request("POST", 4, zPath, (uint32_t)strlen(zPath),
                               aBody, (uint32_t)strlen(zBody), 0));
  dosql_free(aBody);
  return a;
}

/* The contract is JSON that names the ABI, the limits and every route and
** error code; the JS side reads nothing else (tests/worker/contract.test.js). */
static void the_contract_is_published(void){
  const char *z = dosql_contract();
  cJSON *p = z ? cJSON_Parse(z) : 0;
  CHECK(p!=0);
  if( p==0 ) return;
  CHECK(cJSON_GetObjectItem(p, "abi")->valueint==DOSQL_ABI_VERSION);
  CHECK(cJSON_GetObjectItem(p, "maxRequestBytes")->valueint==DOSQL_MAX_REQUEST_BYTES);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(p, "routes"))>=13);
  CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "errors"), "CPU_LIMIT")!=0);
  CHECK(dosql_contract()==z);   /* built once */
  CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "requestFlags"), "internal")->valueint==DOSQL_REQUEST_INTERNAL);
  cJSON_Delete(p);
}

static void requests_before_open_are_refused(void){
  Answer a = request("/query", "{\"sql\":\"SELECT 1\"}");
  CHECK(a.status==500);
  CHECK_STR(answerCode(&a), "NOT_OPEN");
  answerFree(&a);
}

static void open_migrate_and_query(void){
  Answer a = answerFrom(dosql_open(0, DOSQL_OPEN_CAPTURE_CHANGES, 0));
  const char *zMig = "{\"migrations\":[{\"name\":\"001_t.sql\",\"sql\":\"CREATE TABLE t(x);\"}]}";
  CHECK(a.status==200);
  answerFree(&a);
  a = answerFrom(dosql_migrate((const uint8_t*)zMig, (uint32_t)strlen(zMig)));
  CHECK_STR(a.zBody, "{\"applied\":[\"001_t.sql\"]}");
  answerFree(&a);
  a = request("/run", "{\"sql\":\"INSERT INTO t VALUES(?)\",\"params\":[41]}");
  CHECK(a.status==200);
  answerFree(&a);
  a = request("/query", "{\"sql\":\"SELECT x+1 AS y FROM t\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"y\":42}]}");
  answerFree(&a);
}

static void heap_limit_is_a_clear_error_and_the_object_recovers(void){
  Answer a;
  hostMemLogWorst();
  a = request("/query", "{\"sql\":\"SELECT length(randomblob(100000000)) AS n\"}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "HEAP_LIMIT");
  CHECK(answerError(&a) && strstr(answerError(&a), "MiB"));
  /* The caller's limit, answered to the caller: no error in the object's log. */
  CHECK(hostMemLogWorst()!=DOSQL_LOG_ERROR);
  answerFree(&a);
  a = request("/query", "{\"sql\":\"SELECT count(*) AS n FROM t\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"n\":1}]}");
  answerFree(&a);
}

/* An automatic index (SQLITE_WARNING_AUTOINDEX) says the caller's schema lacks
** one: SQLite logs it on every such statement, which made a line in the object's
** log per request (our own /diff's joins too). */
static void an_automatic_index_is_not_logged(void){
  Answer a = request("/exec", "{\"sql\":\"CREATE TABLE ai_a(x); CREATE TABLE ai_b(y);"
                              " INSERT INTO ai_a VALUES(1),(2),(3); INSERT INTO ai_b VALUES(2),(3),(4)\"}");
  CHECK(a.status==200);
  answerFree(&a);
  hostMemLogWorst();
  a = request("/query", "{\"sql\":\"SELECT count(*) AS n FROM ai_a JOIN ai_b ON ai_a.x = ai_b.y\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"n\":2}]}");
  answerFree(&a);
  CHECK(hostMemLogWorst()==HOST_MEM_LOG_NONE);
  a = request("/exec", "{\"sql\":\"DROP TABLE ai_a; DROP TABLE ai_b\"}");
  CHECK(a.status==200);
  answerFree(&a);
}

/* zeroblob() keeps SQLite's answers, but its zeros are in memory when it
** returns: a deferred one too large for the heap once broke the row written
** (capture.c captureZeroblob), which ASan and UBSan here would report. */
static void zeroblob_past_the_heap_fails_cleanly(void){
  Answer a = request("/run", "{\"sql\":\"INSERT INTO t VALUES(zeroblob(100000000))\"}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "HEAP_LIMIT");
  answerFree(&a);
  a = request("/run", "{\"sql\":\"INSERT INTO t VALUES(zeroblob(2000000000))\"}");
  CHECK_STR(answerCode(&a), "SQLITE_TOOBIG");
  answerFree(&a);
  a = request("/query", "{\"sql\":\"SELECT length(zeroblob(10)) AS n, hex(zeroblob(3)) AS h, "
              "typeof(zeroblob(0)) AS t, zeroblob(-5) = x'' AS e, length(zeroblob(2.9)) AS f\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"n\":10,\"h\":\"000000\",\"t\":\"blob\",\"e\":1,\"f\":2}]}");
  answerFree(&a);
  a = request("/run", "{\"sql\":\"INSERT INTO t VALUES(zeroblob(5000000))\"}");
  CHECK(a.status==200);
  answerFree(&a);
  a = request("/query", "{\"sql\":\"SELECT count(*) AS n FROM t WHERE x = zeroblob(5000000)\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"n\":1}]}");
  answerFree(&a);
  a = request("/run", "{\"sql\":\"DELETE FROM t WHERE typeof(x) = 'blob'\"}");
  answerFree(&a);
}

/* Whatever stops a large answer (the heap or the result limit), the transaction
** it belongs to must not commit while the request reports failure. */
static void an_answer_too_big_to_build_commits_nothing(void){
  Answer a = request("/transaction", "{\"operations\":["
      "{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES('marker')\"},"
      "{\"type\":\"query\",\"sql\":\"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 "
      "FROM n WHERE i<24) SELECT randomblob(1500000) AS b FROM n\"}]}");
  CHECK(a.status==400);
  CHECK(answerCode(&a) && (strcmp(answerCode(&a), "HEAP_LIMIT")==0
                           || strcmp(answerCode(&a), "RESULT_TOO_LARGE")==0));
  answerFree(&a);
  a = request("/query", "{\"sql\":\"SELECT count(*) AS n FROM t WHERE x='marker'\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"n\":0}]}");
  answerFree(&a);
}

static void a_huge_json_body_is_a_clear_error(void){
  /* Deeper than cJSON's nesting limit: refused, not a stack overflow. */
  char *z = malloc(4000);
  int i;
  for(i=0; i<1990; i++) z[i] = '[';
  strcpy(&z[1990], "]");
  {
    Answer a = request("/query", z);
    CHECK(a.status==400);
    CHECK_STR(answerCode(&a), "BAD_JSON");
    answerFree(&a);
  }
  free(z);
}

int main(void){
  RUN(the_contract_is_published);
  RUN(requests_before_open_are_refused);
  RUN(open_migrate_and_query);
  RUN(heap_limit_is_a_clear_error_and_the_object_recovers);
  RUN(an_automatic_index_is_not_logged);
  RUN(zeroblob_past_the_heap_fails_cleanly);
  RUN(an_answer_too_big_to_build_commits_nothing);
  RUN(a_huge_json_body_is_a_clear_error);
  return HARNESS_END();
}
