/*
** fuzz_forge.c — libFuzzer target: the engine's own tables forged with trusted
** SQL (as an imported file, or a file of an earlier release, would hold them),
** then the engine opened again over them (internal.c's checks and the legacy
** log's upgrade), /import/check, /changes, /changes/prune with keepEvents,
** keepMs and keepBytes, /diff and reads of the past.
**
** An input is lines, each one step:
**
**   S SQL        run SQL trusted (the engine's privileges)
**   R            close and open again (capture on); a refused open ends the input
**   ! PATH BODY  the host's own request (DOSQL_REQUEST_INTERNAL)
**   > PATH BODY  a client's request
**   C            POST /changes {} then /import/check then /changes/prune (big keeps)
**
** Each input starts from a fresh database with the fuzzer's tables.
** Checks: fuzz.h's (a forged database may be corrupt and its log unchecked).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fuzz.h"
#include "host_mem.h"

#define FUZZ_MAX_STEPS 48

static const char zMigration[] =
  "{\"migrations\":[{\"name\":\"001_fuzz.sql\",\"sql\":\""
  "CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
  "CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
  "CREATE TABLE p(id INTEGER PRIMARY KEY, n TEXT UNIQUE);"
  "CREATE TABLE ch(id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id), note TEXT CHECK(length(note) < 10));"
  "INSERT INTO t(v) VALUES(1), ('two'), (x'03');"
  "INSERT INTO p(n) VALUES('a');"
  "\"}]}";

static Conn theConn;

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  (void)pArgc; (void)pArgv;
  fuzzInit();
  fuzzSetTolerance(FUZZ_CORRUPT_OK | FUZZ_UNCHECKED_LOG);
  return 0;
}

static void request(const char *z, size_t n, uint32_t flags){
  const char *zSp = memchr(z, ' ', n);
  size_t nPath = zSp ? (size_t)(zSp - z) : n;
  const char *zBody = zSp ? zSp+1 : z+n;
  FuzzAnswer a;
  int bBegin = nPath==6 && memcmp(z, "/begin", 6)==0;
  int bEnding = (nPath==7 && memcmp(z, "/commit", 7)==0) || (nPath==9 && memcmp(z, "/rollback", 9)==0);
  /* What the host answers itself, or holds until the transaction ends. */
  if( theConn.bInteractive ? (bBegin || (flags & DOSQL_REQUEST_INTERNAL)) : bEnding ) return;
  if( theConn.bInteractive ) flags |= DOSQL_REQUEST_IN_TRANSACTION;
  if( nPath==15 && memcmp(z, "/hrana/pipeline", 15)==0 ){
    char cState;
    if( theConn.bInteractive ) return;      /* the harness keeps no baton: the host would wait */
    a = fuzzHranaRun(&theConn, (const uint8_t*)zBody, (uint32_t)(z + n - zBody), flags, &cState);
    fuzzAnswerFree(&a);
    if( theConn.bInteractive ){             /* end it as the host's idle timer would */
      a = fuzzPost(&theConn, "/rollback", "{}", DOSQL_REQUEST_IN_TRANSACTION);
      fuzzAnswerFree(&a);
    }
    return;
  }
  a = fuzzRequest(&theConn, "POST", 4, z, (uint32_t)nPath, (const uint8_t*)zBody,
                  (uint32_t)(z + n - zBody), flags);
  fuzzAnswerFree(&a);
}

static void requestZ(const char *z, uint32_t flags){
  request(z, strlen(z), flags);
}

static int reopen(void){
  fuzzClose(&theConn);
  return fuzzOpen(&theConn, 1)==200;
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  const char *z = (const char*)aData;
  size_t i = 0;
  int nStep = 0;
  if( connIsOpen(&theConn) ) fuzzClose(&theConn);
  hostMemReset();
  if( fuzzOpen(&theConn, 1)!=200 ) fuzzFail(0, "a new database does not open");
  fuzzMigrate(&theConn, zMigration);
  while( i<nData && nStep++<FUZZ_MAX_STEPS ){
    const char *zEnd = memchr(z+i, '\n', nData-i);
    size_t n = zEnd ? (size_t)(zEnd - (z+i)) : nData-i;
    const char *zLine = z+i;
    i += n+1;
    if( n==0 ) continue;
    switch( zLine[0] ){
      case 'S': {
        char *zSql = malloc(n);
        memcpy(zSql, zLine+1, n-1);
        zSql[n-1] = 0;
        fuzzExecTrusted(&theConn, zSql);
        free(zSql);
        if( !sqlite3_get_autocommit(theConn.db) && !theConn.bInteractive ) fuzzExecTrusted(&theConn, "ROLLBACK");
        break;
      }
      case 'R':
        if( theConn.bInteractive ) break;
        if( !reopen() ) return 0;
        break;
      case '!':
        if( n>1 ) request(zLine+1, n-1, DOSQL_REQUEST_INTERNAL);
        break;
      case '>':
        if( n>1 ) request(zLine+1, n-1, 0);
        break;
      case 'C':
        if( theConn.bInteractive ) break;
        requestZ("/changes {}", 0);
        requestZ("/import/check {}", DOSQL_REQUEST_INTERNAL);
        requestZ("/changes/prune {\"keepEvents\":1,\"keepMs\":0,\"keepBytes\":10}", DOSQL_REQUEST_INTERNAL);
        requestZ("/changes {\"since\":1}", 0);
        break;
      default:
        break;
    }
  }
  if( theConn.bInteractive ){
    FuzzAnswer a = fuzzPost(&theConn, "/rollback", "{}", DOSQL_REQUEST_IN_TRANSACTION);
    fuzzAnswerFree(&a);
  }
  if( !theConn.bInteractive && !sqlite3_get_autocommit(theConn.db) ) fuzzExecTrusted(&theConn, "ROLLBACK");
  return 0;
}
