/*
** reply.c — the response a call into the engine returns (layout in api.h).
*/
#include <stdarg.h>
#include <string.h>

#include "api.h"
#include "bytes.h"
#include "errors.h"
#include "json.h"
#include "reply.h"
#include "sqlite/unit.h"

/* The room a reply starts with: the answers of most requests (a few rows, an
** error) fit, so their bodies grow without one reallocation. */
#define REPLY_FIRST_BYTES 512

static void replyHead(sqlite3_str *pOut){
  dosqlStrReserve(pOut, REPLY_FIRST_BYTES);
  sqlite3_str_appendchar(pOut, DOSQL_RESPONSE_BODY, 0);
}

/* An empty 200 reply writing into pOut. */
static void replyStart(Reply *p, sqlite3_str *pOut){
  memset(p, 0, sizeof(*p));
  p->pOut = pOut;
  p->status = 200;
  p->iOperation = -1;
  p->iOffset = -1;
  p->iStatementOffset = -1;
}

void replyInit(Reply *p){
  replyStart(p, sqlite3_str_new(0));
  replyHead(p->pOut);
}

void replyInitSharing(Reply *p, Reply *pParent){
  replyStart(p, pParent->pOut);
}

void replyEndSharing(Reply *p){
  sqlite3_free(p->zError);
  memset(p, 0, sizeof(*p));
}

int replyCutLength(const char *z, int n, int nMax){
  if( n<0 ) n = (int)strlen(z);
  if( n>nMax ){
    for(n=nMax; n>0 && (z[n] & 0xc0)==0x80; n--){}
  }
  return n;
}

int replyEchoLength(const char *z, int n){
  return replyCutLength(z, n, REPLY_ECHO_BYTES);
}

sqlite3_str *replyBody(Reply *p){
  return p->pOut;
}

int replyFailed(const Reply *p){
  return p->zCode!=0 || p->status==DOSQL_STATUS_FAULT;
}

void replyFail(Reply *p, int status, const char *zCode, const char *zFmt, ...){
  va_list ap;
  if( replyFailed(p) ) return;
  p->status = status;
  p->zCode = zCode;
  va_start(ap, zFmt);
  p->zError = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
}

void replyAmend(Reply *p, int status, const char *zCode, const char *zSuffix){
  char *zNew;
  if( p->zCode==0 ) return;
  zNew = sqlite3_mprintf("%s%s", p->zError ? p->zError : "", zSuffix);
  sqlite3_free(p->zError);
  p->zError = zNew;
  p->status = status;
  if( p->zSqliteCode==0 && strcmp(zCode, p->zCode)!=0 && strncmp(p->zCode, "SQLITE_", 7)==0 ){
    p->zSqliteCode = p->zCode;
  }
  p->zCode = zCode;
}

void replyRestate(Reply *p, const char *zFmt, ...){
  va_list ap;
  char *zNew;
  if( p->zCode==0 ) return;
  va_start(ap, zFmt);
  zNew = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if( zNew==0 ) return;   /* out of memory: the general message stays */
  sqlite3_free(p->zError);
  p->zError = zNew;
}

void replyFault(Reply *p, const uint32_t *aPage, int nPage, int bFinal){
  int i;
  sqlite3_free(p->zError);      /* the fault explains the error */
  p->zError = 0;
  p->zCode = 0;
  sqlite3_str_truncate(p->pOut, DOSQL_RESPONSE_BODY);
  sqlite3_str_appendall(p->pOut, "{\"pages\":[");
  for(i=0; i<nPage; i++){
    sqlite3_str_appendf(p->pOut, i ? ",%u" : "%u", aPage[i]);
  }
  sqlite3_str_appendchar(p->pOut, 1, ']');
  if( bFinal ){
    sqlite3_str_appendall(p->pOut,
        ",\"status\":503,\"error\":\"a page of the database had to be fetched from"
        " storage, so the transaction was rolled back: retry the transaction\""
        ",\"code\":\"" DOSQL_TRANSACTION_ABORTED "\"");
  }
  sqlite3_str_appendchar(p->pOut, 1, '}');
  p->status = DOSQL_STATUS_FAULT;
}

/* The body of a failed reply. */
static void replyErrorBody(Reply *p){
  sqlite3_str *pOut = p->pOut;
  sqlite3_str_truncate(pOut, DOSQL_RESPONSE_BODY);
  sqlite3_str_appendall(pOut, "{\"error\":");
  jsonAppendString(pOut, p->zError ? p->zError : "out of memory", -1);
  sqlite3_str_appendall(pOut, ",\"code\":");
  jsonAppendString(pOut, p->zCode, -1);
  if( p->iOperation>=0 ) sqlite3_str_appendf(pOut, ",\"operation\":%d", p->iOperation);
  if( p->zStatement ){
    sqlite3_str_appendall(pOut, ",\"statement\":");
    jsonAppendString(pOut, p->zStatement, -1);
  }
  if( p->iOffset>=0 ) sqlite3_str_appendf(pOut, ",\"offset\":%d", p->iOffset);
  if( p->iStatementOffset>=0 ) sqlite3_str_appendf(pOut, ",\"statementOffset\":%d", p->iStatementOffset);
  if( p->zAllow ){
    sqlite3_str_appendall(pOut, ",\"allow\":");
    jsonAppendString(pOut, p->zAllow, -1);
  }
  if( p->zSqliteCode ){
    sqlite3_str_appendall(pOut, ",\"sqliteCode\":");
    jsonAppendString(pOut, p->zSqliteCode, -1);
  }
  sqlite3_str_appendchar(pOut, 1, '}');
}

/* The answers that need no memory, for when not even a small error could be
** allocated: HEAP_LIMIT, or TRANSACTION_ABORTED when the request's failure
** ended the open transaction (the host must learn that above all). */
static const char zNoMemory[] =
  "{\"error\":\"out of memory\",\"code\":\"" DOSQL_HEAP_LIMIT "\"}";
static const char zNoMemoryAborted[] =
  "{\"error\":\"out of memory; the transaction was rolled back\",\"code\":\""
  DOSQL_TRANSACTION_ABORTED "\"}";
static uint8_t aStaticNoMemory[DOSQL_RESPONSE_BODY + sizeof(zNoMemory)];
static uint8_t aStaticAborted[DOSQL_RESPONSE_BODY + sizeof(zNoMemoryAborted)];

static uint8_t *replyStatic(uint8_t *a, int status, const char *zBody, size_t nBody){
  dosqlPut32le(&a[DOSQL_RESPONSE_STATUS], (uint32_t)status);
  dosqlPut32le(&a[DOSQL_RESPONSE_LENGTH], (uint32_t)nBody);
  memcpy(&a[DOSQL_RESPONSE_BODY], zBody, nBody);
  return a;
}

int replyIsStatic(const void *p){
  return p==aStaticNoMemory || p==aStaticAborted;
}

uint8_t *replyFinish(Reply *p){
  uint8_t *aResp;
  int n;
  int bAborted = p->zCode && strcmp(p->zCode, DOSQL_TRANSACTION_ABORTED)==0;
  if( p->zCode ) replyErrorBody(p);
  if( sqlite3_str_errcode(p->pOut)!=SQLITE_OK ){
    /* The body could not be built: answer with a fresh, small error, the one
    ** the reply was failed with when it says more than that (which requests
    ** of a pipeline ran, hrana.c). */
    sqlite3_free(sqlite3_str_finish(p->pOut));
    p->pOut = sqlite3_str_new(0);
    if( p->zCode==0 || p->zError==0 ){
      sqlite3_free(p->zError);
      p->zError = sqlite3_mprintf("the response did not fit in memory");
      p->zCode = DOSQL_HEAP_LIMIT;
      p->status = 400;
    }
    p->zStatement = 0;         /* details of the error this one replaces */
    p->zAllow = 0;
    p->zSqliteCode = 0;
    p->iOffset = p->iStatementOffset = -1;
    replyHead(p->pOut);
    replyErrorBody(p);
  }
  n = sqlite3_str_length(p->pOut);
  aResp = (uint8_t*)sqlite3_str_finish(p->pOut);
  if( aResp ){
    dosqlPut32le(&aResp[DOSQL_RESPONSE_STATUS], (uint32_t)p->status);
    dosqlPut32le(&aResp[DOSQL_RESPONSE_LENGTH], (uint32_t)(n - DOSQL_RESPONSE_BODY));
  }else if( bAborted ){
    aResp = replyStatic(aStaticAborted, 409, zNoMemoryAborted, sizeof(zNoMemoryAborted)-1);
  }else{
    aResp = replyStatic(aStaticNoMemory, 400, zNoMemory, sizeof(zNoMemory)-1);
  }
  sqlite3_free(p->zError);
  memset(p, 0, sizeof(*p));
  return aResp;
}
