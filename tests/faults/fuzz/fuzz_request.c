/*
** fuzz_request.c — libFuzzer target: the request handler (src/handler.c and
** everything under it), every route, as a client and the host drive it.
**
** An input is up to FUZZ_MAX_REQUESTS requests separated by lines "--":
**
**     [!][METHOD ]PATH '\n' BODY  ( '\n--\n' [!][METHOD ]PATH '\n' BODY )*
**
** METHOD is POST unless given; "!" marks the host's own request
** (DOSQL_REQUEST_INTERNAL). The body is everything up to the next separator,
** bytes as they are. tests/faults/fuzz/corpus/fuzz_request/ has one of each route.
**
** POST /v2/pipeline (libSQL's Hrana, src/hrana.h) goes as the host sends it:
** the check, then /hrana/pipeline with the flag the check gives, skipped when
** the host would make it wait (another's transaction is open); "$BATON" in its
** body stands for the baton of the last pipeline's answer, so inputs can
** carry a stream, and its transaction, across pipelines.
**
** The flag DOSQL_REQUEST_IN_TRANSACTION is set as the host sets it
** (worker-shim/src/transactions.js): from a /begin answered 200 until a /commit
** or /rollback answered 200, or an answer TRANSACTION_ABORTED. Requests the
** host answers itself never reach the engine: /begin inside a transaction,
** /commit and /rollback outside one, and its own requests while one is open
** (they wait). The host's view and the engine's must agree after every answer.
**
** One database serves FUZZ_RESET_EVERY inputs (or until it grows past
** FUZZ_MAX_PAGES pages), then starts afresh; it captures changes and holds the
** tables of zMigration. After every input no transaction is left open
** (the fuzzer rolls back what it began) and PRAGMA integrity_check answers ok.
*/
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fuzz.h"
#include "host_mem.h"

#define FUZZ_MAX_REQUESTS 16
#define FUZZ_RESET_EVERY 256
#define FUZZ_MAX_PAGES 2048

/* Every kind of table the engine must capture and answer from. */
static const char zMigration[] =
  "{\"migrations\":[{\"name\":\"001_fuzz.sql\",\"sql\":\""
  "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b TEXT, c BLOB);"
  "CREATE TABLE kv(k TEXT PRIMARY KEY, v REAL NOT NULL DEFAULT 0) WITHOUT ROWID;"
  "CREATE TABLE child(id INTEGER PRIMARY KEY,"
  " t_id INTEGER REFERENCES t(id) DEFERRABLE INITIALLY DEFERRED,"
  " note TEXT CHECK(length(note) < 100));"
  "CREATE TABLE g(x, y AS (x * 2) VIRTUAL, z AS (x + 1) STORED);"
  "CREATE INDEX t_a ON t(a);"
  "CREATE TRIGGER t_count AFTER INSERT ON t BEGIN"
  " INSERT INTO kv(k, v) VALUES('rows', 1) ON CONFLICT(k) DO UPDATE SET v = v + 1; END;"
  "CREATE VIEW t_view AS SELECT id, a, b FROM t;"
  "CREATE VIRTUAL TABLE doc USING fts5(title, body);"
  "CREATE VIRTUAL TABLE box USING rtree(id, x0, x1, y0, y1);"
  "INSERT INTO t(a, b, c) VALUES(1, 'one', x'01'), (9007199254740993, 'big', NULL), (0.5, NULL, x'');"
  "INSERT INTO child(t_id, note) VALUES(1, 'first');"
  "INSERT INTO g(x) VALUES(21);"
  "INSERT INTO doc VALUES('hello', 'hello world');"
  "INSERT INTO box VALUES(1, 0, 1, 0, 1);"
  "\"}]}";

static Conn theConn;
static int nInputs;
static char zBaton[64] = "null";    /* JSON: the last Hrana answer's baton */

/* A fresh database with the fuzzer's tables. */
static void fuzzReset(void){
  if( connIsOpen(&theConn) ) fuzzClose(&theConn);
  hostMemReset();
  if( fuzzOpen(&theConn, 1)!=200 ) fuzzFail(0, "a new database does not open");
  fuzzMigrate(&theConn, zMigration);
}

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  (void)pArgc; (void)pArgv;
  fuzzInit();
  return 0;
}


/* Whether the answer a ended the open transaction, as transactions.js decides. */
static int endsTransaction(const FuzzAnswer *a, int bEnding){
  if( bEnding && a->status==200 ) return 1;
  return a->zCode && strcmp(a->zCode, "TRANSACTION_ABORTED")==0;
}

/* A Hrana pipeline as the host runs it (above); *pbInTx as for fuzzOne. */
static void fuzzHrana(const uint8_t *aBody, size_t nBody, int *pbInTx){
  sqlite3_str *pBody = sqlite3_str_new(0);
  const char *zMark = "$BATON";
  const cJSON *pBaton;
  FuzzAnswer check, a;
  char cState;
  size_t i;
  int bTx;
  for(i=0; i<nBody; i++){
    if( i+6<=nBody && memcmp(aBody+i, zMark, 6)==0 ){
      sqlite3_str_appendall(pBody, zBaton);
      i += 5;
    }else{
      sqlite3_str_appendchar(pBody, 1, (char)aBody[i]);
    }
  }
  if( sqlite3_str_errcode(pBody) ) fuzzFail(0, "out of memory building a pipeline");
  check = fuzzRequest(&theConn, "POST", 4, "/v2/pipeline", 12, (const uint8_t*)sqlite3_str_value(pBody),
                      (uint32_t)sqlite3_str_length(pBody), DOSQL_REQUEST_INTERNAL);   /* a host route: the host asks */
  bTx = check.status==200 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(check.pJson, "transaction"));
  if( check.status!=200 || (*pbInTx && !bTx) ){       /* refused, or it would wait */
    fuzzAnswerFree(&check);
    sqlite3_free(sqlite3_str_finish(pBody));
    return;
  }
  fuzzAnswerFree(&check);
  a = fuzzHranaRun(&theConn, (const uint8_t*)sqlite3_str_value(pBody), (uint32_t)sqlite3_str_length(pBody),
                   DOSQL_REQUEST_INTERNAL | (bTx ? DOSQL_REQUEST_IN_TRANSACTION : 0), &cState);
  if( a.status==200 ){
    *pbInTx = cState=='T';
    pBaton = cJSON_GetObjectItemCaseSensitive(a.pJson, "baton");
    sqlite3_snprintf(sizeof(zBaton), zBaton, cJSON_IsString(pBaton) ? "\"%.40s\"" : "null",
                     cJSON_IsString(pBaton) ? pBaton->valuestring : "");
    fuzzCheckObjectKeys(&a, "/hrana/pipeline");
  }else if( bTx && endsTransaction(&a, 0) ){
    *pbInTx = 0;
  }
  fuzzAnswerFree(&a);
  sqlite3_free(sqlite3_str_finish(pBody));
}

/* Any request but a Hrana pipeline, as the host sends it; *pbInTx as for fuzzOne. */
static void fuzzPlain(const char *zMethod, uint32_t nMethod, const char *zPath, uint32_t nPath,
                      const uint8_t *aBody, uint32_t nBody, uint32_t flags, int *pbInTx){
  int bBegin = nPath==6 && memcmp(zPath, "/begin", 6)==0;
  int bEnding = (nPath==7 && memcmp(zPath, "/commit", 7)==0)
             || (nPath==9 && memcmp(zPath, "/rollback", 9)==0);
  FuzzAnswer a;
  /* What the host answers itself, or holds until the transaction ends. */
  if( *pbInTx ? (bBegin || (flags & DOSQL_REQUEST_INTERNAL)) : bEnding ) return;
  if( *pbInTx ) flags |= DOSQL_REQUEST_IN_TRANSACTION;

  a = fuzzRequest(&theConn, zMethod, nMethod, zPath, nPath, aBody, nBody, flags);
  if( *pbInTx ){
    if( endsTransaction(&a, bEnding) ) *pbInTx = 0;
  }else if( bBegin && a.status==200 ){
    *pbInTx = 1;
  }
  if( nPath>=8 && memcmp(zPath, "/changes", 8)==0 && a.status==200 ){
    fuzzCheckObjectKeys(&a, "/changes");
  }
  fuzzAnswerFree(&a);
}

/* One request: aReq[0..nReq) is "[!][METHOD ]PATH\nBODY". *pbInTx is the
** host's view of the transaction, updated from the answer; it must agree
** with the engine's after every request. */
static void fuzzOne(const uint8_t *aReq, size_t nReq, int *pbInTx){
  const uint8_t *aLine = aReq, *aBody, *aSpace;
  const char *zMethod = "POST", *zPath;
  uint32_t nMethod = 4, nPath, nBody, flags = 0;
  size_t nLine;

  aBody = memchr(aReq, '\n', nReq);
  nLine = aBody ? (size_t)(aBody - aReq) : nReq;
  aBody = aBody ? aBody+1 : aReq+nReq;
  nBody = (uint32_t)(aReq + nReq - aBody);
  if( nLine>0 && aLine[0]=='!' ){
    flags |= DOSQL_REQUEST_INTERNAL;
    aLine++; nLine--;
  }
  aSpace = memchr(aLine, ' ', nLine);
  if( aSpace ){
    zMethod = (const char*)aLine;
    nMethod = (uint32_t)(aSpace - aLine);
    nLine -= (size_t)nMethod + 1;
    aLine = aSpace+1;
  }
  zPath = (const char*)aLine;
  nPath = (uint32_t)nLine;

  if( flags==0 && nMethod==4 && memcmp(zMethod, "POST", 4)==0 && nPath==12 && memcmp(zPath, "/v2/pipeline", 12)==0 ){
    fuzzHrana(aBody, nBody, pbInTx);
  }else{
    fuzzPlain(zMethod, nMethod, zPath, nPath, aBody, nBody, flags, pbInTx);
  }
  if( *pbInTx!=theConn.bInteractive ){
    fuzzFail("tx-state", "after %.*s, the host thinks a transaction is %s but the engine's is %s",
             (int)nPath, zPath, *pbInTx ? "open" : "over", theConn.bInteractive ? "open" : "over");
    *pbInTx = theConn.bInteractive;      /* skipped (DOSQL_FUZZ_SKIP): go on in step */
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  size_t i = 0;
  int nRequest = 0, bInTx = 0;
  if( nInputs++ % FUZZ_RESET_EVERY==0 || hostMemPageCount()>FUZZ_MAX_PAGES ) fuzzReset();
  while( i<=nData && nRequest++<FUZZ_MAX_REQUESTS ){
    size_t n = fuzzNextSeparator(aData+i, nData-i);
    fuzzOne(aData+i, n, &bInTx);
    i += n+4;
  }
  fuzzEndInput(&theConn, bInTx);
  return 0;
}
