/*
** fuzz_changes.c — libFuzzer target: the change log's reader and pruner
** (src/changelog.c, src/changebatch.c) over whatever rows _dosql_change_log
** may hold, and capture (src/capture.c) numbering new events after them.
**
** An input is lines, each one step:
**
**   [lastLsn, firstLsn, txId, ts, tbl, cols, events]   a row written into
**        _dosql_change_log
**        as is, with the engine's own privileges (as an imported file brings
**        rows); the values are params as json.h reads them ({"$blob": ...},
**        {"$bigint": ...}); a row the table's constraints refuse is skipped
**   !BODY    POST /changes/prune BODY, the host's own request
**   +VALUE   POST /run INSERT INTO t(v) VALUES(VALUE): capture writes an event
**   BODY     POST /changes BODY, e.g. {"since":0,"limit":10,"tables":["t"]}
**
** Every answer passes fuzz.h's checks; the rows may be anything, so /changes
** may answer that the log is corrupt. But rows an import accepts are held to
** the contract in full: the fuzzer asks POST /import/check (the host's own)
** after writing rows, and when it answers 200 (or 404, from an engine without
** the route, whose import took any file integrity_check passed), /changes
** must not call the log corrupt, and its 200 answers must be valid UTF-8 and
** hold no object key twice.
**
** One database serves FUZZ_RESET_EVERY inputs; each input starts with an
** empty log and an empty table t.
*/
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fuzz.h"
#include "host_mem.h"
#include "json.h"

#define FUZZ_MAX_STEPS 64
#define FUZZ_RESET_EVERY 256

static const char zMigration[] =
  "{\"migrations\":[{\"name\":\"001_fuzz.sql\",\"sql\":\""
  "CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
  "CREATE TABLE other(x);"
  "\"}]}";

static Conn theConn;
static sqlite3_stmt *pInsert;    /* INSERT OR REPLACE INTO _dosql_change_log */
static int nInputs;

static void fuzzReset(void){
  sqlite3_finalize(pInsert);
  pInsert = 0;
  if( connIsOpen(&theConn) ) fuzzClose(&theConn);
  hostMemReset();
  if( fuzzOpen(&theConn, 1)!=200 ) fuzzFail(0, "a new database does not open");
  fuzzMigrate(&theConn, zMigration);
  theConn.bTrusted = 1;
  if( sqlite3_prepare_v2(theConn.db,
        "INSERT OR REPLACE INTO _dosql_change_log(last_lsn, first_lsn, tx_id, ts, tbl, cols, events)"
        " VALUES(?, ?, ?, ?, ?, ?, ?)", -1, &pInsert, 0)!=SQLITE_OK ){
    fuzzFail(0, "cannot prepare the row insert: %s", sqlite3_errmsg(theConn.db));
  }
  theConn.bTrusted = 0;
}

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  (void)pArgc; (void)pArgv;
  fuzzInit();
  fuzzSetTolerance(FUZZ_CORRUPT_OK);
  return 0;
}

/* Write one row: z[0..n) is a JSON array of its values. */
static void writeRow(const char *z, size_t n){
  cJSON *pRow = cJSON_ParseWithLength(z, n);
  char *zErr = 0;
  if( pRow && cJSON_IsArray(pRow)
   && jsonBindParams(pInsert, pRow, &zErr)==SQLITE_OK ){
    connStartRequest(&theConn, 1000);
    theConn.bTrusted = 1;
    sqlite3_step(pInsert);
    theConn.bTrusted = 0;
  }
  sqlite3_reset(pInsert);
  sqlite3_clear_bindings(pInsert);
  sqlite3_free(zErr);
  cJSON_Delete(pRow);
}

/* Whether the import check accepts the log as it is (or does not exist yet). */
static int importAccepts(void){
  FuzzAnswer a = fuzzPost(&theConn, "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
  int bOk = a.status==200 || a.status==404;
  fuzzAnswerFree(&a);
  return bOk;
}

/* POST zPath with the n bytes at z as its body. */
static void post(const char *zPath, const char *z, size_t n, uint32_t flags){
  FuzzAnswer a = fuzzRequest(&theConn, "POST", 4, zPath, (uint32_t)strlen(zPath),
                             (const uint8_t*)z, (uint32_t)n, flags);
  fuzzAnswerFree(&a);
}

/* POST /changes with the n bytes at z; bAccepted: the import check took the
** rows, so the contract holds in full. */
static void readChanges(const char *z, size_t n, int bAccepted){
  FuzzAnswer a;
  fuzzSetTolerance(bAccepted ? 0 : FUZZ_CORRUPT_OK|FUZZ_UNCHECKED_LOG);
  a = fuzzRequest(&theConn, "POST", 4, "/changes", 8, (const uint8_t*)z, (uint32_t)n, 0);
  if( a.status==200 && bAccepted ) fuzzCheckObjectKeys(&a, "/changes of accepted rows");
  fuzzAnswerFree(&a);
  fuzzSetTolerance(FUZZ_CORRUPT_OK);
}

/* +VALUE: one captured insert, VALUE spliced in as the only param. */
static void captureInsert(const char *z, size_t n){
  sqlite3_str *pBody = sqlite3_str_new(0);
  char *zBody;
  sqlite3_str_appendall(pBody, "{\"sql\":\"INSERT INTO t(v) VALUES(?)\",\"params\":[");
  sqlite3_str_append(pBody, z, (int)n);
  sqlite3_str_appendall(pBody, "]}");
  zBody = sqlite3_str_finish(pBody);
  if( zBody==0 ) fuzzFail(0, "out of memory building a request");
  post("/run", zBody, strlen(zBody), 0);
  sqlite3_free(zBody);
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  const char *z = (const char*)aData;
  size_t i = 0;
  int nStep = 0, bRowsWritten = 0, bAccepted = 1;
  if( nInputs++ % FUZZ_RESET_EVERY==0 ) fuzzReset();
  if( fuzzExecTrusted(&theConn, "DELETE FROM _dosql_change_log; DELETE FROM t;")!=SQLITE_OK ){
    fuzzFail(0, "cannot empty the log: %s", sqlite3_errmsg(theConn.db));
  }
  while( i<nData && nStep++<FUZZ_MAX_STEPS ){
    const char *zEnd = memchr(z+i, '\n', nData-i);
    size_t n = zEnd ? (size_t)(zEnd - (z+i)) : nData-i;
    const char *zLine = z+i;
    i += n+1;
    if( n>0 && zLine[0]=='[' ){
      writeRow(zLine, n);
      bRowsWritten = 1;
    }else if( n>0 && zLine[0]=='!' ){
      post("/changes/prune", zLine+1, n-1, DOSQL_REQUEST_INTERNAL);
    }else if( n>0 && zLine[0]=='+' ){
      captureInsert(zLine+1, n-1);
    }else{
      if( bRowsWritten ){
        bAccepted = importAccepts();
        bRowsWritten = 0;
      }
      readChanges(zLine, n, bAccepted);
    }
  }
  if( !sqlite3_get_autocommit(theConn.db) ) fuzzFail("tx-open", "a transaction is still open after the input");
  return 0;
}
