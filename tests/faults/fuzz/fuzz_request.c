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

/* Where the next separator starts in a[0..n), or n. */
static size_t nextSeparator(const uint8_t *a, size_t n){
  size_t i;
  for(i=0; i+4<=n; i++){
    if( a[i]=='\n' && a[i+1]=='-' && a[i+2]=='-' && a[i+3]=='\n' ) return i;
  }
  return n;
}

/* Whether the answer a ended the open transaction, as transactions.js decides. */
static int endsTransaction(const FuzzAnswer *a, int bEnding){
  if( bEnding && a->status==200 ) return 1;
  return a->zCode && strcmp(a->zCode, "TRANSACTION_ABORTED")==0;
}

/* One request: aReq[0..nReq) is "[!][METHOD ]PATH\nBODY". *pbInTx is the
** host's view of the transaction, updated from the answer. */
static void fuzzOne(const uint8_t *aReq, size_t nReq, int *pbInTx){
  const uint8_t *aLine = aReq, *aBody, *aSpace;
  const char *zMethod = "POST", *zPath;
  uint32_t nMethod = 4, nPath, flags = 0;
  size_t nLine;
  int bBegin, bEnding;
  FuzzAnswer a;

  aBody = memchr(aReq, '\n', nReq);
  nLine = aBody ? (size_t)(aBody - aReq) : nReq;
  aBody = aBody ? aBody+1 : aReq+nReq;
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

  bBegin = nPath==6 && memcmp(zPath, "/begin", 6)==0;
  bEnding = (nPath==7 && memcmp(zPath, "/commit", 7)==0)
         || (nPath==9 && memcmp(zPath, "/rollback", 9)==0);
  /* What the host answers itself, or holds until the transaction ends. */
  if( *pbInTx ? (bBegin || (flags & DOSQL_REQUEST_INTERNAL)) : bEnding ) return;
  if( *pbInTx ) flags |= DOSQL_REQUEST_IN_TRANSACTION;

  a = fuzzRequest(&theConn, zMethod, nMethod, zPath, nPath, aBody,
                  (uint32_t)(aReq + nReq - aBody), flags);
  if( *pbInTx ){
    if( endsTransaction(&a, bEnding) ) *pbInTx = 0;
  }else if( bBegin && a.status==200 ){
    *pbInTx = 1;
  }
  if( nPath>=8 && memcmp(zPath, "/changes", 8)==0 && a.status==200 ){
    fuzzCheckObjectKeys(&a, "/changes");
  }
  if( *pbInTx!=theConn.bInteractive ){
    fuzzFail("tx-state", "after %.*s answered %d %s, the host thinks a transaction is %s but the engine's is %s",
             (int)nPath, zPath, a.status, a.zCode ? a.zCode : "", *pbInTx ? "open" : "over",
             theConn.bInteractive ? "open" : "over");
    *pbInTx = theConn.bInteractive;      /* skipped (DOSQL_FUZZ_SKIP): go on in step */
  }
  fuzzAnswerFree(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  size_t i = 0;
  int nRequest = 0, bInTx = 0;
  if( nInputs++ % FUZZ_RESET_EVERY==0 || hostMemPageCount()>FUZZ_MAX_PAGES ) fuzzReset();
  while( i<=nData && nRequest++<FUZZ_MAX_REQUESTS ){
    size_t n = nextSeparator(aData+i, nData-i);
    fuzzOne(aData+i, n, &bInTx);
    i += n+4;
  }
  if( bInTx ){
    FuzzAnswer a = fuzzPost(&theConn, "/rollback", "{}", DOSQL_REQUEST_IN_TRANSACTION);
    if( a.status!=200 ) fuzzFail("tx-state", "/rollback of the open transaction answered %d %s", a.status, a.zBody);
    fuzzAnswerFree(&a);
  }
  if( theConn.bInteractive || !sqlite3_get_autocommit(theConn.db) ){
    fuzzFail("tx-open", "a transaction is still open after the input");
  }
  fuzzCheckIntegrity(&theConn, "after the input");
  return 0;
}
