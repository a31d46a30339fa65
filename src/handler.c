/*
** handler.c — all request dispatch of the wire protocol (README.md, "Protocol"):
**
**   POST /query        {sql, params?}       -> {rows:[{column: value}]}
**   POST /run          {sql, params?}       -> {rowsAffected, lastInsertRowId}
**   POST /transaction  {operations:[...]}   -> the last operation's result
**   POST /batch        {operations:[...]}   -> {results:[{rows, rowsAffected, lastInsertRowId}]}
**   POST /exec         {sql}                -> {count}  (a script of statements)
**   POST /begin, /commit, /rollback         -> {}   (an interactive transaction)
**   POST /changes      {since?, limit?, tables?} -> a page of the change log
**   POST /changes/prune  (the host's only)  -> retention (changelog.h)
**   POST /import/check   (the host's only)  -> {} when an imported file's
**                                             internal tables are the engine's
**
** Every endpoint runs one request to completion or rolls it back: a statement
** that writes runs inside a transaction, so a failure half way (an error, a
** limit, a page fault) leaves nothing behind. Inside an interactive transaction
** (docs/transactions.md) a failed statement undoes itself and the transaction
** stays open; the host decides which requests belong to it (the flags).
*/
#include <string.h>

#include "cJSON.h"
#include "config.h"
#include "errors.h"
#include "guard.h"
#include "handler.h"
#include "json.h"
#include "api.h"
#include "changelog.h"
#include "internal.h"
#include "request.h"
#include "sqlite/unit.h"

/* What a statement's result turns into. */
typedef enum Shape {
  SHAPE_NONE,          /* nothing: an operation before the last one */
  SHAPE_ROWS,          /* {"rows":[...]}, for /query */
  SHAPE_ROW_ARRAY,     /* [...], a query ending a /transaction */
  SHAPE_RUN,           /* {"rowsAffected":n,"lastInsertRowId":n} */
  SHAPE_RESULT         /* {"rows":[...],"rowsAffected":n,"lastInsertRowId":n}, for /batch */
} Shape;

typedef void (*Endpoint)(Conn*, Reply*, const cJSON*);

/************************************************************* helpers ***/

/* Whether the text of pStmt starts with the keyword VACUUM, which SQLite
** refuses to run inside a transaction. */
static int isVacuum(sqlite3_stmt *pStmt){
  const char *z = sqlite3_sql(pStmt);
  for(;;){
    while( *z==' ' || *z=='\t' || *z=='\n' || *z=='\r' || *z=='\f' ) z++;
    if( z[0]=='-' && z[1]=='-' ){
      while( *z && *z!='\n' ) z++;
    }else if( z[0]=='/' && z[1]=='*' ){
      const char *zEnd = strstr(z+2, "*/");
      if( zEnd==0 ) return 0;
      z = zEnd+2;
    }else{
      break;
    }
  }
  return sqlite3_strnicmp(z, "vacuum", 6)==0
      && !((z[6]>='a' && z[6]<='z') || (z[6]>='A' && z[6]<='Z')
           || (z[6]>='0' && z[6]<='9') || z[6]=='_');
}

/* Append one row as a JSON object keyed by column name. */
static void appendRow(sqlite3_str *pOut, sqlite3_stmt *pStmt, int nCol){
  int i;
  sqlite3_str_appendchar(pOut, 1, '{');
  for(i=0; i<nCol; i++){
    if( i ) sqlite3_str_appendchar(pOut, 1, ',');
    jsonAppendString(pOut, sqlite3_column_name(pStmt, i), -1);
    sqlite3_str_appendchar(pOut, 1, ':');
    jsonAppendColumn(pOut, pStmt, i);
  }
  sqlite3_str_appendchar(pOut, 1, '}');
}

/* The SQL text of an operation, or 0 after failing the reply. */
static const char *operationSql(Reply *pReply, const cJSON *pOp){
  const cJSON *pSql = cJSON_GetObjectItemCaseSensitive(pOp, "sql");
  if( !cJSON_IsString(pSql) || pSql->valuestring[0]==0 ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "sql must be a non-empty string");
    return 0;
  }
  return pSql->valuestring;
}

/*
** Run one statement of pOp ({sql, params?}) and write its result as eShape.
** A statement that writes while no transaction is open gets one of its own.
** On failure the reply holds the error; the caller rolls back (connFinish).
*/
static void runStatement(Conn *pConn, Reply *pReply, const cJSON *pOp, Shape eShape){
  sqlite3 *db = pConn->db;
  sqlite3_str *pOut = replyBody(pReply);
  const char *zSql = operationSql(pReply, pOp);
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 nChangeBefore, nChange;
  char *zErr = 0;
  int rc, nCol, nRow = 0;
  int bOwnTransaction = 0, bVacuum;

  if( zSql==0 || connPrepareOne(pConn, pReply, zSql, &pStmt)!=SQLITE_OK ) return;
  rc = jsonBindParams(pStmt, cJSON_GetObjectItemCaseSensitive(pOp, "params"), &zErr);
  if( rc!=SQLITE_OK ){
    if( zErr ) replyFail(pReply, 400, DOSQL_BAD_PARAMS, "%s", zErr);
    else connFail(pConn, pReply, rc);
    goto done;
  }
  bVacuum = isVacuum(pStmt);
  if( sqlite3_get_autocommit(db) && !sqlite3_stmt_readonly(pStmt) && !bVacuum ){
    if( connBegin(pConn, pReply)!=SQLITE_OK ) goto done;
    bOwnTransaction = 1;
  }

  pConn->bVacuum = bVacuum;
  nChangeBefore = sqlite3_total_changes64(db);
  /* lastInsertRowId speaks of this statement only, not an earlier request's. */
  sqlite3_set_last_insert_rowid(db, 0);
  nCol = sqlite3_column_count(pStmt);
  if( eShape==SHAPE_ROWS || eShape==SHAPE_RESULT ) sqlite3_str_appendall(pOut, "{\"rows\":[");
  if( eShape==SHAPE_ROW_ARRAY ) sqlite3_str_appendchar(pOut, 1, '[');
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    if( eShape==SHAPE_NONE || eShape==SHAPE_RUN ) continue;
    if( nRow++ ) sqlite3_str_appendchar(pOut, 1, ',');
    appendRow(pOut, pStmt, nCol);
    if( sqlite3_str_errcode(pOut)!=SQLITE_OK ){
      connFail(pConn, pReply, SQLITE_NOMEM);
      goto done;
    }
    if( sqlite3_str_length(pOut) > DOSQL_MAX_RESULT_BYTES ){
      replyFail(pReply, 400, DOSQL_RESULT_TOO_LARGE,
          "the result is larger than %d bytes: select fewer rows or columns "
          "(LIMIT and OFFSET, or keyset pagination)", DOSQL_MAX_RESULT_BYTES);
      goto done;
    }
  }
  pConn->bVacuum = 0;
  if( rc!=SQLITE_DONE ){
    captureDiscard(pConn);
    connFail(pConn, pReply, rc);
    goto done;
  }
  /* Counted before captureFlush(), whose own inserts would count too; and
  ** only for INSERT, UPDATE and DELETE (not the rows CREATE VIRTUAL TABLE
  ** writes into its shadow tables). */
  nChange = sqlite3_total_changes64(db)==nChangeBefore || !dosqlStmtCountsChanges(pStmt)
          ? 0 : sqlite3_changes64(db);
  rc = captureFlush(pConn);
  if( rc!=SQLITE_OK ) connFail(pConn, pReply, rc);
  else rc = guardCheckSchema(pConn, pReply);
  if( rc!=SQLITE_OK ){
    connUndoCompleted(pConn);
    goto done;
  }
  if( eShape==SHAPE_ROWS ) sqlite3_str_appendall(pOut, "]}");
  if( eShape==SHAPE_ROW_ARRAY ) sqlite3_str_appendchar(pOut, 1, ']');
  if( eShape==SHAPE_RUN || eShape==SHAPE_RESULT ){
    sqlite3_str_appendall(pOut, eShape==SHAPE_RUN ? "{\"rowsAffected\":" : "],\"rowsAffected\":");
    jsonAppendInteger(pOut, nChange);
    sqlite3_str_appendall(pOut, ",\"lastInsertRowId\":");
    jsonAppendInteger(pOut, sqlite3_last_insert_rowid(db));
    sqlite3_str_appendchar(pOut, 1, '}');
  }
  sqlite3_finalize(pStmt);
  pStmt = 0;
  if( bOwnTransaction ) connCommitIfAnswered(pConn, pReply);
done:
  pConn->bVacuum = 0;
  sqlite3_free(zErr);
  sqlite3_finalize(pStmt);
}

/*********************************************************** endpoints ***/

static void doQuery(Conn *pConn, Reply *pReply, const cJSON *pBody){
  runStatement(pConn, pReply, pBody, SHAPE_ROWS);
}

static void doRun(Conn *pConn, Reply *pReply, const cJSON *pBody){
  runStatement(pConn, pReply, pBody, SHAPE_RUN);
}

/* The shape an operation asks for: /batch wants every result; /transaction
** the last one's, as "query" or "run". SHAPE_NONE if the operation is invalid. */
static Shape operationShape(const cJSON *pOp, int bEveryResult){
  const cJSON *pType = cJSON_GetObjectItemCaseSensitive(pOp, "type");
  if( !cJSON_IsObject(pOp) ) return SHAPE_NONE;
  if( bEveryResult && pType==0 ) return SHAPE_RESULT;
  if( !cJSON_IsString(pType) ) return SHAPE_NONE;
  if( strcmp(pType->valuestring, "query")==0 ) return bEveryResult ? SHAPE_RESULT : SHAPE_ROW_ARRAY;
  if( strcmp(pType->valuestring, "run")==0 ) return bEveryResult ? SHAPE_RESULT : SHAPE_RUN;
  return SHAPE_NONE;
}

/*
** Run every operation of the body, all or nothing. Outside an interactive
** transaction they get one of their own; inside one, a savepoint, so a failure
** undoes them and leaves the transaction open.
*/
static void runAtomically(Conn *pConn, Reply *pReply, const cJSON *pBody, int bEveryResult){
  const cJSON *pOps = cJSON_GetObjectItemCaseSensitive(pBody, "operations");
  sqlite3_str *pOut = replyBody(pReply);
  const cJSON *pOp;
  int i;
  if( !cJSON_IsArray(pOps) || pOps->child==0 ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "operations must be a non-empty array");
    return;
  }
  for(i=0, pOp=pOps->child; pOp; i++, pOp=pOp->next){
    if( operationShape(pOp, bEveryResult)==SHAPE_NONE ){
      replyFail(pReply, 400, DOSQL_BAD_REQUEST, bEveryResult
          ? "operation %d must be an object {sql, params?}"
          : "operation %d must be an object with type \"query\" or \"run\"", i);
      pReply->iOperation = i;
      return;
    }
  }
  if( (pConn->bInteractive ? connSavepoint(pConn, pReply) : connBegin(pConn, pReply))!=SQLITE_OK ){
    return;
  }
  if( bEveryResult ) sqlite3_str_appendall(pOut, "{\"results\":[");
  for(i=0, pOp=pOps->child; pOp; i++, pOp=pOp->next){
    if( bEveryResult && i ) sqlite3_str_appendchar(pOut, 1, ',');
    runStatement(pConn, pReply, pOp,
        bEveryResult ? SHAPE_RESULT : pOp->next ? SHAPE_NONE : operationShape(pOp, 0));
    if( replyFailed(pReply) ){
      pReply->iOperation = i;
      if( pConn->bInteractive ) connRelease(pConn, pReply, 1);
      return;
    }
  }
  if( bEveryResult ) sqlite3_str_appendall(pOut, "]}");
  if( pConn->bInteractive ) connRelease(pConn, pReply, 0);
  else connCommitIfAnswered(pConn, pReply);
}

/*
** Run a script: every statement of sql in order (rows are discarded), all or
** nothing, split by SQLite's own parser, so strings, comments and trigger
** bodies are never cut. Answers {"count": n}; a failure names its statement
** (0-based) as the operation. D1's exec() is this.
*/
static void doExec(Conn *pConn, Reply *pReply, const cJSON *pBody){
  const char *zSql = operationSql(pReply, pBody);
  sqlite3_stmt *pStmt = 0;
  int rc = SQLITE_OK, n = 0;
  if( zSql==0 ) return;
  if( (pConn->bInteractive ? connSavepoint(pConn, pReply) : connBegin(pConn, pReply))!=SQLITE_OK ){
    return;
  }
  while( *zSql ){
    const char *zTail = 0;
    rc = sqlite3_prepare_v3(pConn->db, zSql, -1, 0, &pStmt, &zTail);
    if( rc==SQLITE_OK && pStmt ){
      while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
      if( rc==SQLITE_DONE ) rc = captureFlush(pConn);
      else captureDiscard(pConn);
      if( rc==SQLITE_OK ) rc = guardCheckSchema(pConn, pReply);
      sqlite3_finalize(pStmt);
      if( rc==SQLITE_OK ) n++;
    }
    if( rc!=SQLITE_OK ) break;
    zSql = zTail;
  }
  if( rc!=SQLITE_OK ){
    connFail(pConn, pReply, rc);
    pReply->iOperation = n;
    if( pConn->bInteractive ) connRelease(pConn, pReply, 1);
    return;
  }
  sqlite3_str_appendf(replyBody(pReply), "{\"count\":%d}", n);
  if( pConn->bInteractive ) connRelease(pConn, pReply, 0);
  else connCommitIfAnswered(pConn, pReply);
}

static void doTransaction(Conn *pConn, Reply *pReply, const cJSON *pBody){
  runAtomically(pConn, pReply, pBody, 0);
}

static void doBatch(Conn *pConn, Reply *pReply, const cJSON *pBody){
  runAtomically(pConn, pReply, pBody, 1);
}

/* The answer of /begin, /commit and /rollback, written before they act: once
** the transaction has begun or ended, the answer must not fail to say so. */
static int answerEmpty(Conn *pConn, Reply *pReply){
  sqlite3_str_appendall(replyBody(pReply), "{}");
  if( sqlite3_str_errcode(replyBody(pReply))==SQLITE_OK ) return 1;
  connFail(pConn, pReply, SQLITE_NOMEM);
  return 0;
}

static void doBegin(Conn *pConn, Reply *pReply, const cJSON *pBody){
  (void)pBody;
  if( answerEmpty(pConn, pReply) ) connBeginInteractive(pConn, pReply);
}

static void doCommit(Conn *pConn, Reply *pReply, const cJSON *pBody){
  (void)pBody;
  if( answerEmpty(pConn, pReply) ) connEndInteractive(pConn, pReply, 0);
}

static void doRollback(Conn *pConn, Reply *pReply, const cJSON *pBody){
  (void)pBody;
  if( answerEmpty(pConn, pReply) ) connEndInteractive(pConn, pReply, 1);
}

/*
** An imported file, opened by a second engine (connOpen has checked its
** schema): are the rows of its internal tables what the engine writes? A file
** that carries forged change events or migration records is refused whole.
*/
static void doImportCheck(Conn *pConn, Reply *pReply, const cJSON *pBody){
  char *zWhy = 0;
  int rc = internalCheckRows(pConn, &zWhy);
  (void)pBody;
  if( rc!=SQLITE_OK ){
    connFail(pConn, pReply, rc);
  }else if( zWhy ){
    replyFail(pReply, 422, DOSQL_IMPORT_UNSAFE, "the file cannot be imported: %s", zWhy);
  }else{
    sqlite3_str_appendall(replyBody(pReply), "{}");
  }
  sqlite3_free(zWhy);
}

/************************************************************ dispatch ***/

typedef struct Route {
  const char *zPath;
  Endpoint xEndpoint;
  int bInternal;         /* only for the host (DOSQL_REQUEST_INTERNAL) */
} Route;

static const Route aRoute[] = {
  { "/query",         doQuery,        0 },
  { "/run",           doRun,          0 },
  { "/transaction",   doTransaction,  0 },
  { "/batch",         doBatch,        0 },
  { "/exec",          doExec,         0 },
  { "/begin",         doBegin,        0 },
  { "/commit",        doCommit,       0 },
  { "/rollback",      doRollback,     0 },
  { "/changes",       changelogRead,  0 },
  { "/changes/prune", changelogPrune, 1 },
  { "/import/check",  doImportCheck,  1 },
};

static const Route *findRoute(const char *zPath, uint32_t nPath, int bInternal){
  unsigned i;
  for(i=0; i<sizeof(aRoute)/sizeof(aRoute[0]); i++){
    if( aRoute[i].bInternal && !bInternal ) continue;
    if( strlen(aRoute[i].zPath)==nPath && memcmp(aRoute[i].zPath, zPath, nPath)==0 ){
      return &aRoute[i];
    }
  }
  return 0;
}

uint8_t *handleRequest(Conn *pConn, const char *zMethod, uint32_t nMethod,
                       const char *zPath, uint32_t nPath,
                       const uint8_t *aBody, uint32_t nBody, uint32_t flags){
  Reply reply;
  const Route *pRoute = findRoute(zPath, nPath, (flags & DOSQL_REQUEST_INTERNAL)!=0);
  int bInTransaction = (flags & DOSQL_REQUEST_IN_TRANSACTION)!=0;
  cJSON *pBody;

  replyInit(&reply);
  if( pRoute==0 ){
    replyFail(&reply, 404, DOSQL_NOT_FOUND,
        "no endpoint %.*s: use POST /query, /run, /transaction, /batch, /exec or /changes", (int)nPath, zPath);
  }else if( nMethod!=4 || memcmp(zMethod, "POST", 4)!=0 ){
    replyFail(&reply, 405, DOSQL_METHOD_NOT_ALLOWED,
        "%.*s %s: only POST is allowed", (int)nMethod, zMethod, pRoute->zPath);
  }else if( !connIsOpen(pConn) ){
    replyFail(&reply, 500, DOSQL_NOT_OPEN, "the database is not open");
  }else if( bInTransaction!=pConn->bInteractive ){
    /* The host queues requests around an open transaction; this is its bug. */
    replyFail(&reply, 500, DOSQL_INTERNAL, bInTransaction
        ? "the request belongs to a transaction, but none is open"
        : "a transaction is open: other requests must wait for it to end");
  }else if( sqlite3_str_errcode(replyBody(&reply))!=SQLITE_OK ){
    /* Not even the answer's head fits: do nothing that would need telling. */
    replyFail(&reply, 400, DOSQL_HEAP_LIMIT, "out of memory before the request began");
  }else if( (pBody = requestParse(&reply, aBody, nBody))!=0 ){
    connStartRequest(pConn, 0);
    pRoute->xEndpoint(pConn, &reply, pBody);
    connFinish(pConn, &reply);
    cJSON_Delete(pBody);
  }
  return replyFinish(&reply);
}
