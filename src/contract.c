/*
** contract.c — the engine's contract with its host, as JSON (contract.h).
** Every value comes from the header that owns it; nothing is restated here.
*/
#include "api.h"
#include "config.h"
#include "contract.h"
#include "errors.h"
#include "fileformat.h"
#include "handler.h"
#include "hrana.h"
#include "json.h"
#include "sqlite/unit.h"

static void contractErrors(sqlite3_str *pOut){
  int i;
  sqlite3_str_appendall(pOut, "{");
  for(i=0; i<nDosqlError; i++){
    if( i ) sqlite3_str_appendchar(pOut, 1, ',');
    jsonAppendString(pOut, aDosqlError[i].zCode, -1);
    sqlite3_str_appendf(pOut, ":{\"status\":%d,\"host\":%s}",
        aDosqlError[i].status, aDosqlError[i].bHost ? "true" : "false");
  }
  sqlite3_str_appendall(pOut, "}");
}

static char *contractBuild(void){
  sqlite3_str *pOut = sqlite3_str_new(0);
  sqlite3_str_appendf(pOut,
      "{\"abi\":%d"
      ",\"response\":{\"status\":%d,\"length\":%d,\"body\":%d,\"fault\":%d}"
      ",\"openFlags\":{\"captureChanges\":%d}"
      ",\"requestFlags\":{\"inTransaction\":%d,\"internal\":%d,\"retry\":%d,\"overRpc\":%d}"
      ",\"maxRequestBytes\":%d"
      ",\"fileHeaderBytes\":%d"
      ",\"heapGrowAheadBytes\":%d"
      ",\"transactionHeader\":\"" DOSQL_TRANSACTION_HEADER "\""
      ",\"hrana\":{\"transactionIdleMs\":%d,\"holdsTransaction\":\"%c\"}"
      ",\"valueTags\":[\"" JSON_TAG_BIGINT "\",\"" JSON_TAG_BLOB "\",\"" JSON_TAG_REAL "\",\"" JSON_TAG_TEXT "\"]"
      ",\"routes\":",
      DOSQL_ABI_VERSION,
      DOSQL_RESPONSE_STATUS, DOSQL_RESPONSE_LENGTH, DOSQL_RESPONSE_BODY, DOSQL_STATUS_FAULT,
      DOSQL_OPEN_CAPTURE_CHANGES,
      DOSQL_REQUEST_IN_TRANSACTION, DOSQL_REQUEST_INTERNAL, DOSQL_REQUEST_RETRY, DOSQL_REQUEST_OVER_RPC,
      DOSQL_MAX_REQUEST_BYTES, FILE_HEADER_BYTES, DOSQL_HEAP_GROW_MAX_BYTES,
      DOSQL_HRANA_TRANSACTION_IDLE_MS, HRANA_HOLDS_TRANSACTION);
  handlerAppendRoutes(pOut);
  sqlite3_str_appendall(pOut, ",\"errors\":");
  contractErrors(pOut);
  sqlite3_str_appendchar(pOut, 1, '}');
  if( sqlite3_str_errcode(pOut)!=SQLITE_OK ){
    sqlite3_free(sqlite3_str_finish(pOut));
    return 0;
  }
  return sqlite3_str_finish(pOut);
}

const char *contractJson(void){
  static char *zContract = 0;
  if( zContract==0 ) zContract = contractBuild();
  return zContract;
}
