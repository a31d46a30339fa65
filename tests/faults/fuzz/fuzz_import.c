/*
** fuzz_import.c — libFuzzer target: an arbitrary database file, as POST
** /import brings one (docs/files.md, "Import").
**
** The input is the file. It reaches the host's storage as an import leaves
** it (worker-shim's file-import.js): a file whose header the engine refuses
** is never stored; otherwise its pages go in at the header's page size, the
** last one zero-filled to a whole page (the file the import accepts), and page
** 1's header rewritten by dosql_file_header for that page count. Storage never
** holds any other header, so one the import never writes is not a finding.
** Then the engine opens it as start-up does (change capture on) and the
** host's checks and a client's first requests follow:
**
**   POST /import/check (the host's own)   the import's verdict on the file
**   POST /query PRAGMA integrity_check
**   POST /changes {}                      the change log, as a subscriber reads it
**   POST /query SELECT * FROM each table (the first FUZZ_MAX_TABLES)
**   POST /exec a write to a table of its own and to the file's tables, which
**        capture turns into events after the file's newest lsn
**   POST /changes {}                      again
**
** Whatever the file holds, the engine must not crash, leak or hit undefined
** behaviour, and every answer passes fuzz.h's checks (a corrupt file may be
** answered SQLITE_CORRUPT). A file the import accepts is held to the contract
** in full: when /import/check answers 200 (or 404, from an engine without the
** route) and integrity_check answers ok, /changes must not call the log
** corrupt, and its 200 answers must be valid UTF-8 and hold no key twice.
**
** Seeds: tests/faults/fuzz/corpus/fuzz_import/, made by tests/faults/fuzz/make-import-seeds.sh.
*/
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fileformat.h"
#include "fuzz.h"
#include "host_mem.h"
#include "json.h"

/* Tables read, and written, per input. */
#define FUZZ_MAX_TABLES 8
#define FUZZ_MAX_WRITES 3

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  (void)pArgc; (void)pArgv;
  fuzzInit();
  fuzzSetTolerance(FUZZ_CORRUPT_OK);
  return 0;
}

/* Store the file as an import does (see above): its page size, or 0 when
** the import refuses its header and nothing is stored. */
static uint32_t storeAsImported(const uint8_t *aData, size_t nData){
  uint8_t *aPage = 0, *aResp;
  uint32_t szPage, nPage, pgno, status;
  if( nData<FILE_HEADER_BYTES ) return 0;
  szPage = fileHeaderPageSize(aData);
  if( szPage==0 ) return 0;
  nPage = (uint32_t)((nData + szPage - 1) / szPage);
  aPage = dosql_alloc(szPage);
  if( aPage==0 ) fuzzFail(0, "out of memory storing the file");
  memcpy(aPage, aData, szPage<nData ? szPage : nData);
  aResp = dosql_file_header(aPage, FILE_HEADER_BYTES, 1e12, nPage);
  if( aResp==0 ) fuzzFail(0, "out of memory checking the header");
  memcpy(&status, aResp+DOSQL_RESPONSE_STATUS, 4);   /* host byte order, as fuzz.c reads it */
  dosql_free(aResp);
  for(pgno=1; status==200 && pgno<=nPage; pgno++){
    size_t iOff = (size_t)(pgno-1)*szPage;
    if( pgno>1 ){
      memset(aPage, 0, szPage);
      memcpy(aPage, aData+iOff, nData-iOff<szPage ? nData-iOff : szPage);
    }
    hostMemPutPage(pgno, aPage, szPage);
  }
  dosql_free(aPage);
  return status==200 ? szPage : 0;
}

/* POST zPath {"sql": zSql} (zSql JSON-quoted here); frees nothing of the caller's. */
static FuzzAnswer postSql(Conn *p, const char *zPath, const char *zSql){
  sqlite3_str *pBody = sqlite3_str_new(0);
  FuzzAnswer a;
  char *zBody;
  sqlite3_str_appendall(pBody, "{\"sql\":");
  jsonAppendString(pBody, zSql, -1);
  sqlite3_str_appendchar(pBody, 1, '}');
  zBody = sqlite3_str_finish(pBody);
  if( zBody==0 ) fuzzFail(0, "out of memory building a request");
  a = fuzzPost(p, zPath, zBody, 0);
  sqlite3_free(zBody);
  return a;
}

/* The names of the file's first FUZZ_MAX_TABLES ordinary tables (trusted read
** of sqlite_schema); *pn of them, each sqlite3_malloc'd. */
static void tableNames(Conn *p, char **azName, int *pn){
  sqlite3_stmt *pStmt = 0;
  *pn = 0;
  connStartRequest(p, 1000);
  p->bTrusted = 1;
  if( sqlite3_prepare_v2(p->db, "SELECT name FROM sqlite_schema WHERE type='table'"
                         " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
                         -1, &pStmt, 0)==SQLITE_OK ){
    while( *pn<FUZZ_MAX_TABLES && sqlite3_step(pStmt)==SQLITE_ROW ){
      const char *zName = (const char*)sqlite3_column_text(pStmt, 0);
      if( zName ) azName[(*pn)++] = sqlite3_mprintf("%s", zName);
    }
  }
  sqlite3_finalize(pStmt);
  p->bTrusted = 0;
}

/* /changes {} and its checks; bAccepted: the import accepts the file. */
static void readChanges(Conn *p, int bAccepted){
  FuzzAnswer a;
  fuzzSetTolerance(bAccepted ? 0 : FUZZ_CORRUPT_OK|FUZZ_UNCHECKED_LOG);
  a = fuzzPost(p, "/changes", "{}", 0);
  if( a.status==200 && bAccepted ) fuzzCheckObjectKeys(&a, "/changes of an accepted file");
  fuzzAnswerFree(&a);
  fuzzSetTolerance(FUZZ_CORRUPT_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  char *azName[FUZZ_MAX_TABLES];
  int nName = 0, bAccepted, i;
  FuzzAnswer a;
  Conn c;

  hostMemReset();
  if( storeAsImported(aData, nData)==0 ) return 0;
  if( fuzzOpen(&c, 1)!=200 ) return 0;

  a = fuzzPost(&c, "/import/check", "{}", DOSQL_REQUEST_INTERNAL);
  bAccepted = a.status==200 || a.status==404;
  fuzzAnswerFree(&a);
  a = postSql(&c, "/query", "PRAGMA integrity_check");
  bAccepted = bAccepted && a.status==200
           && strcmp(a.zBody, "{\"rows\":[{\"integrity_check\":\"ok\"}]}")==0;
  fuzzAnswerFree(&a);
  readChanges(&c, bAccepted);

  tableNames(&c, azName, &nName);
  for(i=0; i<nName; i++){
    char *zSql = sqlite3_mprintf("SELECT * FROM \"%w\" LIMIT 20", azName[i]);
    a = postSql(&c, "/query", zSql);
    fuzzAnswerFree(&a);
    sqlite3_free(zSql);
  }

  /* A table of the fuzzer's own, then a row out of and back into each of the
  ** file's first tables: one script each, so that one's failure keeps the others. */
  a = postSql(&c, "/exec",
      "CREATE TABLE IF NOT EXISTS fuzz_w(x);"
      "INSERT INTO fuzz_w VALUES(randomblob(700)), (1), ('text');"
      "DELETE FROM fuzz_w WHERE rowid % 2;");
  fuzzAnswerFree(&a);
  for(i=0; i<nName && i<FUZZ_MAX_WRITES; i++){
    char *zSql = sqlite3_mprintf(
        "CREATE TEMP TABLE fuzz_keep AS SELECT * FROM \"%w\" LIMIT 2;"
        "DELETE FROM \"%w\" WHERE rowid IN (SELECT rowid FROM \"%w\" LIMIT 2);"
        "INSERT INTO \"%w\" SELECT * FROM temp.fuzz_keep;"
        "DROP TABLE temp.fuzz_keep;",
        azName[i], azName[i], azName[i], azName[i]);
    a = postSql(&c, "/exec", zSql);
    fuzzAnswerFree(&a);
    sqlite3_free(zSql);
  }
  readChanges(&c, bAccepted);

  for(i=0; i<nName; i++) sqlite3_free(azName[i]);
  fuzzClose(&c);
  return 0;
}
