/*
** harness.h — the C unit tests' tiny harness: TEST functions, CHECK macros, and
** calls into the engine through the same entry points the wasm build exports.
** Each test binary ends with the line "N passed, N failed".
*/
#ifndef DOSQL_HARNESS_H
#define DOSQL_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "api.h"
#include "conn.h"
#include "handler.h"
#include "migrate.h"
#include "host_mem.h"

static int harnessFailed;      /* checks failed in the current test */
static int nPassed, nFailed;

#define CHECK(cond) do{ if(!(cond)){ \
    printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); harnessFailed++; } }while(0)
#define CHECK_STR(a, b) do{ const char *x_ = (a), *y_ = (b); \
    if( !x_ || !y_ || strcmp(x_, y_)!=0 ){ \
      printf("  %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, x_ ? x_ : "(null)", y_ ? y_ : "(null)"); \
      harnessFailed++; } }while(0)

#define RUN(fn) do{ setvbuf(stdout, NULL, _IOLBF, 0); harnessFailed = 0; hostMemReset(); fn(); \
    if( harnessFailed ){ nFailed++; printf("FAIL %s\n", #fn); } \
    else { nPassed++; printf("ok   %s\n", #fn); } }while(0)

#define HARNESS_END() (printf("%d passed, %d failed\n", nPassed, nFailed), nFailed ? 1 : 0)

/* One answer: status, the body text and its parse (0 if not JSON). */
typedef struct Answer {
  int status;
  char *zBody;
  cJSON *pJson;
} Answer;

static inline void answerFree(Answer *p){
  free(p->zBody);
  cJSON_Delete(p->pJson);
  memset(p, 0, sizeof(*p));
}

/* Take a response (api.h layout) apart; frees it. */
static inline Answer answerFrom(uint8_t *aResp){
  Answer a;
  uint32_t n;
  memset(&a, 0, sizeof(a));
  if( aResp==0 ){ a.status = -1; return a; }
  memcpy(&a.status, aResp+DOSQL_RESPONSE_STATUS, 4);
  memcpy(&n, aResp+DOSQL_RESPONSE_LENGTH, 4);
  a.zBody = malloc(n+1);
  memcpy(a.zBody, aResp+DOSQL_RESPONSE_BODY, n);
  a.zBody[n] = 0;
  a.pJson = cJSON_Parse(a.zBody);
  dosql_free(aResp);
  return a;
}

/* One request; flags as for dosql_request (DOSQL_REQUEST_IN_TRANSACTION). */
static inline Answer callFlags(Conn *pConn, const char *zMethod, const char *zPath,
                               const char *zBody, uint32_t flags){
  return answerFrom(handleRequest(pConn, zMethod, (uint32_t)strlen(zMethod),
      zPath, (uint32_t)strlen(zPath), (const uint8_t*)zBody, (uint32_t)strlen(zBody), flags));
}

static inline Answer call(Conn *pConn, const char *zMethod, const char *zPath, const char *zBody){
  return callFlags(pConn, zMethod, zPath, zBody, 0);
}

/* A request of the open interactive transaction; CHECKs that it worked. */
static inline void txOk(Conn *pConn, const char *zPath, const char *zBody){
  Answer a = callFlags(pConn, "POST", zPath, zBody, DOSQL_REQUEST_IN_TRANSACTION);
  CHECK(a.status==200);
  if( a.status!=200 ) printf("  %s %s -> %d %s\n", zPath, zBody, a.status, a.zBody);
  answerFree(&a);
}

static inline Answer migrate(Conn *pConn, const char *zBody){
  return answerFrom(migrateApply(pConn, (const uint8_t*)zBody, (uint32_t)strlen(zBody)));
}

static inline Answer post(Conn *pConn, const char *zPath, const char *zBody){
  return call(pConn, "POST", zPath, zBody);
}

/* POST as the host does on async storage: while the answer is a fault, fetch
** the pages it names and ask again. */
static inline Answer postFetching(Conn *pConn, const char *zPath, const char *zBody){
  Answer a = post(pConn, zPath, zBody);
  int nTry;
  for(nTry=0; a.status==DOSQL_STATUS_FAULT && nTry<64; nTry++){
    const cJSON *pPage;
    cJSON_ArrayForEach(pPage, cJSON_GetObjectItem(a.pJson, "pages")) hostMemFetch((uint32_t)pPage->valuedouble);
    answerFree(&a);
    a = post(pConn, zPath, zBody);
  }
  return a;
}

static inline const char *answerCode(const Answer *p){
  const cJSON *c = cJSON_GetObjectItem(p->pJson, "code");
  return cJSON_IsString(c) ? c->valuestring : 0;
}

static inline const char *answerError(const Answer *p){
  const cJSON *c = cJSON_GetObjectItem(p->pJson, "error");
  return cJSON_IsString(c) ? c->valuestring : 0;
}

/* Open a connection on the current host storage with the page size setting
** szPage (0: the default; as a start with a pageSize option), capturing changes
** or not (bCapture); CHECKs that it worked. */
static inline void openConnSized(Conn *pConn, unsigned szPage, int bCapture){
  Answer a;
  Reply r;
  memset(pConn, 0, sizeof(*pConn));
  replyInit(&r);
  connOpen(pConn, szPage, bCapture, 0, &r);
  a = answerFrom(replyFinish(&r));
  CHECK(a.status==200);
  answerFree(&a);
}

/* openConnSized at the default page size. */
static inline void openConnCapturing(Conn *pConn, int bCapture){
  openConnSized(pConn, 0, bCapture);
}

/* Run SQL with the engine's own privileges, as a forged file or a file of an
** earlier release would hold what it writes. */
static inline void forge(Conn *pConn, const char *zSql){
  int rc;
  pConn->bTrusted = 1;
  rc = sqlite3_exec(pConn->db, zSql, 0, 0, 0);
  pConn->bTrusted = 0;
  CHECK(rc==SQLITE_OK);
  if( rc!=SQLITE_OK ) printf("  forge %s: %s\n", zSql, sqlite3_errmsg(pConn->db));
}

/* Close pConn and open it again (capturing), expecting the open to fail with
** status 500, error code zCode and a message holding zWhy. */
static inline void reopenRefused(Conn *pConn, const char *zCode, const char *zWhy){
  Answer a;
  Reply r;
  connClose(pConn);
  memset(pConn, 0, sizeof(*pConn));
  replyInit(&r);
  connOpen(pConn, 0, 1, 0, &r);
  a = answerFrom(replyFinish(&r));
  CHECK(a.status==500);
  CHECK_STR(answerCode(&a), zCode);
  CHECK(answerError(&a) && strstr(answerError(&a), zWhy));
  answerFree(&a);
  CHECK(!connIsOpen(pConn));
}

/* Open a connection that captures changes, as the Durable Object does by default. */
static inline void openConn(Conn *pConn){
  openConnCapturing(pConn, 1);
}

/* POST and expect 200; returns the answer for more checks. */
static inline Answer ok(Conn *pConn, const char *zPath, const char *zBody){
  Answer a = post(pConn, zPath, zBody);
  if( a.status!=200 ){
    printf("  %s %s -> %d %s\n", zPath, zBody, a.status, a.zBody);
    harnessFailed++;
  }
  return a;
}

static inline void okFree(Conn *pConn, const char *zPath, const char *zBody){
  Answer a = ok(pConn, zPath, zBody);
  answerFree(&a);
}

/* POST zReq to zPath: it must answer 200 with exactly the body zWant. */
static inline void okBody(Conn *pConn, const char *zPath, const char *zReq, const char *zWant){
  Answer a = post(pConn, zPath, zReq);
  CHECK(a.status==200);
  CHECK_STR(a.zBody, zWant);
  answerFree(&a);
}

/* POST {"sql": zSql} to zPath (the SQL JSON-quoted for us). */
static inline Answer postSql(Conn *pConn, const char *zPath, const char *zSql){
  cJSON *pReq = cJSON_CreateObject();
  char *zBody;
  Answer a;
  cJSON_AddStringToObject(pReq, "sql", zSql);
  zBody = cJSON_PrintUnformatted(pReq);
  a = post(pConn, zPath, zBody);
  cJSON_free(zBody);
  cJSON_Delete(pReq);
  return a;
}

/* Run zSql through /run; CHECKs that it worked. */
static inline void allowed(Conn *pConn, const char *zSql){
  Answer a = postSql(pConn, "/run", zSql);
  CHECK(a.status==200);
  if( a.status!=200 ) printf("  %s -> %d %s\n", zSql, a.status, a.zBody);
  answerFree(&a);
}

/* The first row's first value of a /query as text (static buffer). */
static inline const char *scalar(Conn *pConn, const char *zSql){
  static char zOut[256];
  Answer a = postSql(pConn, "/query", zSql);
  const cJSON *pRows, *pVal;
  zOut[0] = 0;
  if( a.status!=200 ){
    printf("  %s -> %d %s\n", zSql, a.status, a.zBody);
    harnessFailed++;
  }
  pRows = cJSON_GetObjectItem(a.pJson, "rows");
  pVal = pRows && pRows->child ? pRows->child->child : 0;
  if( pVal ){
    char *z = cJSON_PrintUnformatted(pVal);
    snprintf(zOut, sizeof(zOut), "%s", z);
    cJSON_free(z);
  }
  answerFree(&a);
  return zOut;
}

#endif /* DOSQL_HARNESS_H */
