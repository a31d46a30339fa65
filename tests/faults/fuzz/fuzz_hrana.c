/*
** fuzz_hrana.c — libFuzzer target: Hrana pipelines (src/hrana.c,
** src/hranastream.c) and plain requests over a cold, asynchronous store: page
** faults stop requests, the host fetches pages and calls again with
** DOSQL_REQUEST_RETRY, and a pipeline resumes from what hrana.c kept pending.
**
** An input is up to FUZZ_MAX_STEPS steps separated by lines "--"; each step's
** first line is a command, the rest its body:
**
**   P[ra][mode]  a pipeline (BODY, "$BATON" the last answer's baton), check then
**                run as the host does. ra: a digit, pages fetched after each
**                faulting one (read-ahead); mode: 'g' give up at the first
**                fault; 'i' another request between the fault and the retry;
**                'b' the retry carries a different body; else retry.
**   Q PATH       a plain request (body BODY) with the same fault loop
**   E            storage cold again (every page but 1 must be fetched)
**   W            storage warm (synchronous)
**   O            close and open again, cold (outside a transaction)
**   T<n>         the clock moves n seconds on (streams idle out)
**
** Checks: fuzz.h's on every answer but a fault; host and engine agree on the
** transaction; none left open; integrity_check ok at the end.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fuzz.h"
#include "handler.h"
#include "host_mem.h"

#define FUZZ_MAX_STEPS 24
#define FUZZ_RESET_EVERY 64
#define FUZZ_MAX_PAGES 1024
#define FUZZ_MAX_TRIES 40

static const char zMigration[] =
  "{\"migrations\":[{\"name\":\"001_fuzz.sql\",\"sql\":\""
  "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b TEXT, c BLOB);"
  "CREATE TABLE u(x);"
  "CREATE TABLE p(id INTEGER PRIMARY KEY, n TEXT UNIQUE);"
  "CREATE TABLE ch(id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id),"
  " d INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED, note TEXT CHECK(length(note) < 10));"
  "CREATE TABLE big(id INTEGER PRIMARY KEY, data BLOB);"
  "CREATE INDEX t_a ON t(a);"
  "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO u VALUES(new.id); END;"
  "INSERT INTO t(a, b, c) VALUES(1, 'one', x'01'), (2, 'two', NULL);"
  "INSERT INTO p(n) VALUES('a'), ('b');"
  "INSERT INTO ch(p_id, d, note) VALUES(1, 2, 'x');"
  "INSERT INTO big(data) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<300)"
  " SELECT randomblob(300) FROM n;"
  "\"}]}";

static Conn theConn;
static int nInputs;
static char zBaton[64] = "null";

static void fuzzReset(void){
  if( connIsOpen(&theConn) ) fuzzClose(&theConn);
  hostMemReset();
  if( fuzzOpen(&theConn, 1)!=200 ) fuzzFail(0, "a new database does not open");
  fuzzMigrate(&theConn, zMigration);
}

/* Close and open again on cold storage (page 1 at hand). */
static void reopenCold(void){
  int nTry;
  fuzzClose(&theConn);
  hostMemSetAsync(1);
  hostMemFetch(1);
  for(nTry=0; nTry<4; nTry++){
    if( fuzzOpen(&theConn, 1)==200 ) return;
    hostMemSetAsync(0);
  }
  fuzzFail(0, "the database does not open again");
}

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  (void)pArgc; (void)pArgv;
  fuzzInit();
  return 0;
}


/* Fetch the pages of a fault answer aResp (read-ahead nAhead); its final
** status (the request is over), or 0 (call again). Frees aResp. */
static int fetchFaulted(uint8_t *aResp, int nAhead){
  uint32_t n;
  cJSON *pJson, *pPage, *pFinal;
  int status = 0;
  memcpy(&n, aResp+DOSQL_RESPONSE_LENGTH, 4);
  pJson = cJSON_ParseWithLength((const char*)aResp+DOSQL_RESPONSE_BODY, n);
  if( pJson==0 ) fuzzFail("json", "a fault answer is not JSON: %.*s", (int)(n<300 ? n : 300),
                          (const char*)aResp+DOSQL_RESPONSE_BODY);
  cJSON_ArrayForEach(pPage, cJSON_GetObjectItemCaseSensitive(pJson, "pages")){
    int i;
    for(i=0; i<=nAhead; i++) hostMemFetch((uint32_t)pPage->valuedouble + (uint32_t)i);
  }
  pFinal = cJSON_GetObjectItemCaseSensitive(pJson, "status");
  if( pFinal ){
    const cJSON *pCode = cJSON_GetObjectItemCaseSensitive(pJson, "code");
    status = pFinal->valueint;
    if( !cJSON_IsString(pCode) || strcmp(pCode->valuestring, "TRANSACTION_ABORTED")!=0 ){
      fuzzFail("shape", "a final fault answer without TRANSACTION_ABORTED");
    }
  }
  cJSON_Delete(pJson);
  dosql_free(aResp);
  return status;
}

static uint32_t statusOf(const uint8_t *aResp){
  uint32_t status;
  memcpy(&status, aResp+DOSQL_RESPONSE_STATUS, 4);
  return status;
}

/* A plain request with the host's fault loop; *pbInTx the host's view. */
static void plainRequest(const char *zPath, uint32_t nPath, const uint8_t *aBody, uint32_t nBody,
                         uint32_t flags, int nAhead, int *pbInTx){
  int bBegin = nPath==6 && memcmp(zPath, "/begin", 6)==0;
  int bEnding = (nPath==7 && memcmp(zPath, "/commit", 7)==0)
             || (nPath==9 && memcmp(zPath, "/rollback", 9)==0);
  uint8_t *aResp;
  FuzzAnswer a;
  int nTry, final = 0;
  if( *pbInTx ? (bBegin || (flags & DOSQL_REQUEST_INTERNAL)) : bEnding ) return;
  if( *pbInTx ) flags |= DOSQL_REQUEST_IN_TRANSACTION;
  for(nTry=0; ; nTry++){
    aResp = handleRequest(&theConn, "POST", 4, zPath, nPath, aBody, nBody, flags | (nTry ? DOSQL_REQUEST_RETRY : 0));
    if( aResp==0 || statusOf(aResp)!=DOSQL_STATUS_FAULT ) break;
    final = fetchFaulted(aResp, nAhead);
    if( final ){
      if( *pbInTx ) *pbInTx = 0;
      return;
    }
    if( nTry>=FUZZ_MAX_TRIES ) return;   /* the host gives up */
  }
  a = fuzzAnswerOf(aResp, zPath);
  if( *pbInTx ){
    if( (bEnding && a.status==200) || (a.zCode && strcmp(a.zCode, "TRANSACTION_ABORTED")==0) ) *pbInTx = 0;
  }else if( bBegin && a.status==200 ){
    *pbInTx = 1;
  }
  fuzzAnswerFree(&a);
}

/* The run of a pipeline: handleRequest, the fault loop, and the state byte. */
static void pipeline(const char *zBody, uint32_t nBody, int nAhead, char cMode, int *pbInTx){
  FuzzAnswer check, a;
  uint32_t flags = DOSQL_REQUEST_INTERNAL;
  uint8_t *aResp;
  int nTry, bTx;
  check = fuzzRequest(&theConn, "POST", 4, "/v2/pipeline", 12, (const uint8_t*)zBody, nBody, DOSQL_REQUEST_INTERNAL);
  bTx = check.status==200 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(check.pJson, "transaction"));
  if( check.status!=200 || (*pbInTx && !bTx) ){
    fuzzAnswerFree(&check);
    return;
  }
  fuzzAnswerFree(&check);
  if( bTx ) flags |= DOSQL_REQUEST_IN_TRANSACTION;
  for(nTry=0; ; nTry++){
    if( nTry && cMode=='b' ){
      aResp = handleRequest(&theConn, "POST", 4, "/hrana/pipeline", 15, (const uint8_t*)zBody, nBody>2 ? nBody-1 : nBody,
                            flags | DOSQL_REQUEST_RETRY);
      if( aResp && statusOf(aResp)==DOSQL_STATUS_FAULT ){ fetchFaulted(aResp, nAhead); }
      else if( aResp ){ dosql_free(aResp); }
      /* the engine's view may have changed: follow it */
      *pbInTx = theConn.bInteractive;
      return;
    }
    aResp = handleRequest(&theConn, "POST", 4, "/hrana/pipeline", 15, (const uint8_t*)zBody, nBody,
                          flags | (nTry ? DOSQL_REQUEST_RETRY : 0));
    if( aResp==0 || statusOf(aResp)!=DOSQL_STATUS_FAULT ) break;
    if( fetchFaulted(aResp, nAhead) ){
      *pbInTx = 0;
      return;
    }
    if( nTry>=FUZZ_MAX_TRIES || cMode=='g' ) return;
    if( cMode=='i' && !*pbInTx && !theConn.bInteractive ){
      static const char zQ[] = "{\"sql\":\"SELECT count(*) FROM big\"}";
      plainRequest("/query", 6, (const uint8_t*)zQ, sizeof(zQ)-1, 0, nAhead, pbInTx);
    }
  }
  if( aResp && statusOf(aResp)==200 ){
    uint32_t n;
    char cState;
    memcpy(&n, aResp+DOSQL_RESPONSE_LENGTH, 4);
    cState = n>0 ? (char)aResp[DOSQL_RESPONSE_BODY] : 0;
    if( cState!='T' && cState!='A' ) fuzzFail("shape", "a pipeline's 200 answer without the state byte");
    memmove(aResp+DOSQL_RESPONSE_BODY, aResp+DOSQL_RESPONSE_BODY+1, n-1);
    n--;
    memcpy(aResp+DOSQL_RESPONSE_LENGTH, &n, 4);
    a = fuzzAnswerOf(aResp, "POST /hrana/pipeline");
    *pbInTx = cState=='T';
    {
      const cJSON *pB = cJSON_GetObjectItemCaseSensitive(a.pJson, "baton");
      sqlite3_snprintf(sizeof(zBaton), zBaton, cJSON_IsString(pB) ? "\"%.40s\"" : "null",
                       cJSON_IsString(pB) ? pB->valuestring : "");
    }
    fuzzCheckObjectKeys(&a, "/hrana/pipeline");
  }else{
    a = fuzzAnswerOf(aResp, "POST /hrana/pipeline");
    if( bTx && a.zCode && strcmp(a.zCode, "TRANSACTION_ABORTED")==0 ) *pbInTx = 0;
  }
  fuzzAnswerFree(&a);
}

static void fuzzStep(const uint8_t *aStep, size_t nStep, int *pbInTx){
  const uint8_t *aBody = memchr(aStep, '\n', nStep);
  size_t nLine = aBody ? (size_t)(aBody - aStep) : nStep;
  uint32_t nBody;
  aBody = aBody ? aBody+1 : aStep+nStep;
  nBody = (uint32_t)(aStep + nStep - aBody);
  if( nLine==0 ) return;
  switch( aStep[0] ){
    case 'P': {
      int nAhead = nLine>1 && aStep[1]>='0' && aStep[1]<='9' ? aStep[1]-'0' : 31;
      char cMode = nLine>2 ? (char)aStep[2] : 0;
      sqlite3_str *pBody = sqlite3_str_new(0);
      uint32_t i;
      for(i=0; i<nBody; i++){
        if( i+6<=nBody && memcmp(aBody+i, "$BATON", 6)==0 ){
          sqlite3_str_appendall(pBody, zBaton);
          i += 5;
        }else{
          sqlite3_str_appendchar(pBody, 1, (char)aBody[i]);
        }
      }
      if( sqlite3_str_errcode(pBody) ) fuzzFail(0, "out of memory building a pipeline");
      pipeline(sqlite3_str_value(pBody) ? sqlite3_str_value(pBody) : "", (uint32_t)sqlite3_str_length(pBody),
               nAhead, cMode, pbInTx);
      sqlite3_free(sqlite3_str_finish(pBody));
      break;
    }
    case 'Q': {
      const char *zPath = (const char*)aStep + 1;
      uint32_t nPath = (uint32_t)nLine - 1, flags = 0;
      while( nPath>0 && zPath[0]==' ' ){ zPath++; nPath--; }
      if( nPath>0 && zPath[0]=='!' ){ flags = DOSQL_REQUEST_INTERNAL; zPath++; nPath--; }
      plainRequest(zPath, nPath, aBody, nBody, flags, 31, pbInTx);
      break;
    }
    case 'E':
      hostMemSetAsync(1);
      hostMemFetch(1);
      break;
    case 'W':
      hostMemSetAsync(0);
      break;
    case 'O':
      if( !*pbInTx && !theConn.bInteractive ) reopenCold();
      break;
    case 'T': {
      double s = 0;
      size_t i;
      for(i=1; i<nLine && i<8 && aStep[i]>='0' && aStep[i]<='9'; i++) s = s*10 + (aStep[i]-'0');
      hostMemShiftClock(s*1000.0);
      break;
    }
    default:
      break;
  }
  if( *pbInTx!=theConn.bInteractive ){
    fuzzFail("tx-state", "after step %c, the host thinks a transaction is %s but the engine's is %s",
             aStep[0], *pbInTx ? "open" : "over", theConn.bInteractive ? "open" : "over");
    *pbInTx = theConn.bInteractive;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  size_t i = 0;
  int nStep = 0, bInTx = 0;
  if( nInputs++ % FUZZ_RESET_EVERY==0 || hostMemPageCount()>FUZZ_MAX_PAGES ) fuzzReset();
  strcpy(zBaton, "null");
  reopenCold();
  while( i<=nData && nStep++<FUZZ_MAX_STEPS ){
    size_t n = fuzzNextSeparator(aData+i, nData-i);
    fuzzStep(aData+i, n, &bInTx);
    i += n+4;
  }
  hostMemSetAsync(0);
  fuzzEndInput(&theConn, bInTx);
  return 0;
}
