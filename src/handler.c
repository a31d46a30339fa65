/*
** handler.c — all request dispatch of the wire protocol (docs/protocol.md):
**
**   POST /query        {sql, params?, rowMode?} -> {rows:[{column: value}]}
**   POST /run          {sql, params?}       -> {rowsAffected, lastInsertRowId}
**   POST /transaction  {operations:[...]}   -> the last operation's result
**   POST /batch        {operations:[...], rowMode?}
**                                           -> {results:[{rows, rowsAffected, lastInsertRowId}]}
**
** With rowMode "array", a statement's result is {columns:[name...], rows:[[value...]],
** rowsAffected, lastInsertRowId, readOnly, schemaChanged, databaseChanged, sizeAfter} (/query: that
** object; /batch: one per operation): every column is kept, names come even without
** rows, the flags say what SQLite saw the statement do, and sizeAfter is the
** database's size in bytes as the statement left it (D1's meta.size_after); an
** EXPLAIN of BEGIN, COMMIT or ROLLBACK also has "explains" naming which (as
** TRANSACTION_STATEMENT's "statement" does).
**   POST /exec         {sql}                -> {count}  (a script of statements)
**   POST /begin, /commit                    -> {sizeAfter} (an interactive transaction;
**                                             /begin also {timeoutMs})
**   POST /rollback                          -> {}
**   POST /changes      {since?, limit?, tables?} -> a page of the change log
**   POST /changes/prune  (the host's only)  -> retention (changelog.h)
**   POST /changes/capture (the host's only) -> the tables captured (changelog.h)
**   POST /changes/replaced (the host's only) -> {floor, kept}: how events are
**                                             numbered after an import (changelog.h)
**   POST /changes/renumber {floor} (the host's only) -> {head}: an imported
**                                             file's events numbered past them
**   POST /restore/check {migrations} (the host's only, asOf) -> {}, or 409 when
**                                             the point would not start with them
**   POST /import/check   (the host's only)  -> {} when an imported file's
**                                             internal tables are the engine's
**   GET  /history  (or POST)                 -> the points history keeps (history.h)
**   POST /restore      {to}  (the host's)    -> {to: point, before: point, changes:
**                                             {floor, kept}}: what the host puts back,
**                                             the point that undoes it, and how events
**                                             are numbered after it (changelog.h)
**   POST /diff         {from, to?, tables?, limit?} -> the row changes between them (diff.h)
**   POST /branch       {name, from?}  (the host's) -> {name, from: point}: what the
**                                             host copies into a new object
**   GET  /v2, POST /v2/pipeline (the host's, which runs /hrana/pipeline)
**                                           -> libSQL's Hrana (hrana.h)
**
** /query and /batch take "asOf": a point of history, read on a read-only
** connection to it (history.h).
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
#include "diff.h"
#include "history.h"
#include "hrana.h"
#include "internal.h"
#include "migrate.h"
#include "request.h"
#include "sqlite/unit.h"

/* What a statement's result turns into. */
typedef enum Shape {
  SHAPE_NONE,          /* nothing: an operation before the last one */
  SHAPE_ROWS,          /* {"rows":[...]}, for /query */
  SHAPE_ROW_ARRAY,     /* [...], a query ending a /transaction */
  SHAPE_RUN,           /* {"rowsAffected":n,"lastInsertRowId":n} */
  SHAPE_RESULT,        /* {"rows":[...],"rowsAffected":n,"lastInsertRowId":n}, for /batch */
  SHAPE_COLUMNS,       /* {"columns":[...],"rows":[[...]],"rowsAffected":n,"lastInsertRowId":n,
                       ** "readOnly":b,"schemaChanged":b,"databaseChanged":b,"sizeAfter":n}:
                       ** /query and /batch, rowMode "array" */
  SHAPE_HRANA,         /* Hrana's StmtResult {"cols":[{"name","decltype"}],"rows":[[value...]],
                       ** "affected_row_count":n,"last_insert_rowid":"n"|null} (hrana.h) */
  SHAPE_HRANA_NO_ROWS  /* ... with "rows":[] (want_rows false) */
} Shape;

typedef void (*Endpoint)(Conn*, Reply*, const cJSON*);

/************************************************************* helpers ***/

/* The first byte of z that is not a blank, a comment or a ';': where the
** statement SQLite prepares from z begins (the end of z if there is none). */
static const char *skipBlanks(const char *z){
  for(;;){
    while( *z==' ' || *z=='\t' || *z=='\n' || *z=='\r' || *z=='\f' || *z==';' ) z++;
    if( z[0]=='-' && z[1]=='-' ){
      while( *z && *z!='\n' ) z++;
    }else if( z[0]=='/' && z[1]=='*' ){
      const char *zEnd = strstr(z+2, "*/");
      if( zEnd==0 ) return z + strlen(z);
      z = zEnd+2;
    }else{
      return z;
    }
  }
}

/* Whether the text of pStmt starts with the keyword VACUUM, which SQLite
** refuses to run inside a transaction. */
static int isVacuum(sqlite3_stmt *pStmt){
  const char *z = skipBlanks(sqlite3_sql(pStmt));
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

/* Append one row as a JSON array of its values, in column order: every
** column is kept, also two of one name (SELECT a.id, b.id). */
static void appendRowArray(sqlite3_str *pOut, sqlite3_stmt *pStmt, int nCol){
  int i;
  sqlite3_str_appendchar(pOut, 1, '[');
  for(i=0; i<nCol; i++){
    if( i ) sqlite3_str_appendchar(pOut, 1, ',');
    jsonAppendColumn(pOut, pStmt, i);
  }
  sqlite3_str_appendchar(pOut, 1, ']');
}

/* A row of a result on its way into the answer (connAppendRow): after a comma
** unless it is the first, in its shape. */
typedef struct ResultRow {
  sqlite3_stmt *pStmt;
  int nCol;
  Shape eShape;
  int bComma;
} ResultRow;

static void writeRow(sqlite3_str *pOut, void *pArg){
  const ResultRow *p = pArg;
  if( p->bComma ) sqlite3_str_appendchar(pOut, 1, ',');
  if( p->eShape==SHAPE_COLUMNS ) appendRowArray(pOut, p->pStmt, p->nCol);
  else if( p->eShape==SHAPE_HRANA ) hranaAppendRow(pOut, p->pStmt, p->nCol);
  else appendRow(pOut, p->pStmt, p->nCol);
}

/* Append the column names as a JSON array. Non-zero when a name is missing
** (SQLite could not allocate it). */
static int appendColumns(sqlite3_str *pOut, sqlite3_stmt *pStmt, int nCol){
  int i;
  sqlite3_str_appendchar(pOut, 1, '[');
  for(i=0; i<nCol; i++){
    const char *zName = sqlite3_column_name(pStmt, i);
    if( zName==0 ) return 1;
    if( i ) sqlite3_str_appendchar(pOut, 1, ',');
    jsonAppendString(pOut, zName, -1);
  }
  sqlite3_str_appendchar(pOut, 1, ']');
  return 0;
}

/*
** The fields a body may hold, 0-terminated. A field a route does not take is
** refused, never ignored: a misspelt one ({"asof": ...}, {"timeout": ...})
** would otherwise leave the request to run without it, reading the present or
** keeping the default.
*/
static const char *const azNoFields[] = { 0 };
static const char *const azQueryFields[] = { "sql", "params", "rowMode", "asOf", 0 };
/* /run's, and /exec's, which knows params only to refuse them with a message
** of its own. */
static const char *const azSqlFields[] = { "sql", "params", 0 };
static const char *const azTransactionFields[] = { "operations", 0 };
static const char *const azBatchFields[] = { "operations", "rowMode", "asOf", 0 };
static const char *const azOperationFields[] = { "sql", "params", "type", 0 };
static const char *const azBeginFields[] = { "timeoutMs", 0 };
static const char *const azChangesFields[] = { "since", "limit", "tables", 0 };
static const char *const azSubscribeFields[] = { "tables", "since", 0 };
static const char *const azAsOfFields[] = { "asOf", 0 };
static const char *const azRestoreCheckFields[] = { "migrations", "asOf", "branch", 0 };
static const char *const azRestoreFields[] = { "to", 0 };
static const char *const azDiffFields[] = { "from", "to", "tables", "limit", 0 };
static const char *const azBranchFields[] = { "name", "from", 0 };
static const char *const azPruneFields[] = { "keepEvents", "keepMs", "keepBytes", 0 };
static const char *const azCaptureFields[] = { "tables", 0 };
static const char *const azRenumberFields[] = { "floor", 0 };

/*
** Fail the reply with 400 BAD_REQUEST if the object pObj has a field not in
** azField, naming zWhat ("/query", "operation 2"), the field and the fields
** zWhat takes. Non-zero when it did. With bQuery, pObj is a GET's query
** parameters (the host sends them as the body), which a page may also use for
** its own (a cache buster): only one that differs from a field in case alone
** (?asof=) is refused.
*/
static int refuseUnknownField(Reply *pReply, const char *zWhat, const cJSON *pObj,
                              const char *const *azField, int bQuery){
  const cJSON *pItem;
  cJSON_ArrayForEach(pItem, pObj){
    const char *zName = pItem->string;
    const char *zLike = 0;       /* a field that differs only in case */
    sqlite3_str *pMsg;
    char *zMsg;
    int i, n = replyEchoLength(zName, -1);
    for(i=0; azField[i] && strcmp(azField[i], zName)!=0; i++){
      if( sqlite3_stricmp(azField[i], zName)==0 ) zLike = azField[i];
    }
    if( azField[i] || (bQuery && zLike==0) ) continue;
    pMsg = sqlite3_str_new(0);
    sqlite3_str_appendf(pMsg, "%s does not take the %s \"%.*s%s\": it takes ",
        zWhat, bQuery ? "query parameter" : "field", n, zName, zName[n] ? "..." : "");
    if( azField[0]==0 ) sqlite3_str_appendall(pMsg, "no fields");
    for(i=0; azField[i]; i++){
      sqlite3_str_appendf(pMsg, "%s%s", i==0 ? "" : azField[i+1] ? ", " : " and ", azField[i]);
    }
    if( zLike ) sqlite3_str_appendf(pMsg, " (names are case-sensitive: did you mean %s?)", zLike);
    zMsg = sqlite3_str_finish(pMsg);
    if( zMsg ) replyFail(pReply, 400, DOSQL_BAD_REQUEST, "%s", zMsg);
    else replyFail(pReply, 400, DOSQL_HEAP_LIMIT, "out of memory reading the request body");
    sqlite3_free(zMsg);
    return 1;
  }
  return 0;
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

/* The rowMode of a /query or /batch body: 0 for "object" (the default), 1
** for "array", -1 after failing the reply. */
static int requestArrayRows(Reply *pReply, const cJSON *pBody){
  const cJSON *pMode = cJSON_GetObjectItemCaseSensitive(pBody, "rowMode");
  if( pMode==0 ) return 0;
  if( cJSON_IsString(pMode) && strcmp(pMode->valuestring, "object")==0 ) return 0;
  if( cJSON_IsString(pMode) && strcmp(pMode->valuestring, "array")==0 ) return 1;
  replyFail(pReply, 400, DOSQL_BAD_REQUEST,
      "rowMode must be \"object\" (rows as {column: value}, the default) or "
      "\"array\" (the column names once, each row as [value, ...])");
  return -1;
}

/*
** A prepare of user SQL failed and the reply holds the error. Say more where
** SQLite knows more: a BEGIN, COMMIT or ROLLBACK the authorizer refused
** answers 400 TRANSACTION_STATEMENT with "statement" naming it (the message
** stays); an error SQLite ties to one token of the text gets that token's
** byte "offset" (sqlite3_error_offset), iBase being where the prepared text
** starts in the request's sql. Not for MULTIPLE_STATEMENTS: its error is
** about the second statement.
*/
static void explainPrepareFailure(Conn *pConn, Reply *pReply, int iBase){
  const char *zTx = guardTransactionStatement(pConn);
  int iOffset;
  if( pReply->zCode==0 || strncmp(pReply->zCode, "SQLITE_", 7)!=0 ) return;
  if( zTx && strcmp(pReply->zCode, "SQLITE_AUTH")==0 ){
    replyAmend(pReply, 400, DOSQL_TRANSACTION_STATEMENT, "");
    pReply->zSqliteCode = 0;   /* our authorizer's refusal (SQLITE_AUTH), not SQLite's failure */
    pReply->zStatement = zTx;
    return;
  }
  iOffset = sqlite3_error_offset(pConn->db);
  if( iOffset>=0 ) pReply->iOffset = iBase + iOffset;
}

/*
** The main database's schema cookie (PRAGMA schema_version), which SQLite
** moves on every change of the schema and on nothing else but VACUUM.
** schemaChanged compares it around a statement the authorizer saw as DDL
** (guardMayChangeSchema): the authorizer alone would also count CREATE TABLE
** IF NOT EXISTS of a table that exists, which changes nothing, and the cookie
** alone would cost two statements around every write.
*/
static int schemaCookie(Conn *pConn, int *piCookie){
  sqlite3_stmt *pStmt = 0;
  int rc;
  pConn->bTrusted = 1;
  rc = sqlite3_prepare_v3(pConn->db, "PRAGMA main.schema_version", -1, 0, &pStmt, 0);
  if( rc==SQLITE_OK && (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    *piCookie = sqlite3_column_int(pStmt, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(pStmt);
  pConn->bTrusted = 0;
  return rc;
}

/*
** Prepare the statement of pOp ({sql, params?}) and bind its params: the
** statement, or 0 after failing the reply (explainPrepareFailure). What the
** authorizer saw of it stays in pConn (guard.h) until the next prepare of
** user SQL: runPrepared() and the caller ask it.
*/
static sqlite3_stmt *prepareOperation(Conn *pConn, Reply *pReply, const cJSON *pOp){
  const char *zSql = operationSql(pReply, pOp);
  sqlite3_stmt *pStmt = 0;
  char *zErr = 0;
  int rc;
  if( zSql==0 ) return 0;
  guardStartStatement(pConn);
  if( connPrepareOne(pConn, pReply, zSql, &pStmt)!=SQLITE_OK ){
    explainPrepareFailure(pConn, pReply, 0);
    return 0;
  }
  rc = jsonBindParams(pStmt, cJSON_GetObjectItemCaseSensitive(pOp, "params"), &zErr);
  if( rc!=SQLITE_OK ){
    if( zErr ) replyFail(pReply, 400, DOSQL_BAD_PARAMS, "%s", zErr);
    else connFail(pConn, pReply, rc);
    sqlite3_free(zErr);
    connFinalize(pConn, pStmt);
    return 0;
  }
  return pStmt;
}

/*
** Run pStmt, just prepared by prepareOperation(), and write its result as
** eShape; pStmt is given back (connFinalize). A statement that writes while
** no transaction is open gets one of its own, and one that writes in the
** interactive transaction (outside a batch's savepoint) a savepoint of its
** own, so that when it fails nothing of it stays: not the rows an OR FAIL
** keeps, nor those a RETURNING wrote before its answer grew too large, nor
** a completed statement the request then refuses. On failure the reply holds
** the error; the caller rolls back (connFinish).
*/
static void runPrepared(Conn *pConn, Reply *pReply, sqlite3_stmt *pStmt, Shape eShape){
  sqlite3 *db = pConn->db;
  sqlite3_str *pOut = replyBody(pReply);
  sqlite3_int64 nChangeBefore, nChange, iRowidBefore;
  ResultRow row;
  int rc, nCol, nRow = 0;
  int bOwnTransaction = 0, bOwnSavepoint = 0, bVacuum, bInserted, bRowsChanged;
  int bUpsert = dosqlStmtMayUpdateInstead(pStmt);
  int bCookie = eShape==SHAPE_COLUMNS && guardMayChangeSchema(pConn);
  int iCookieBefore = 0, iCookieAfter = 0;

  bVacuum = isVacuum(pStmt);
  if( sqlite3_get_autocommit(db) && !sqlite3_stmt_readonly(pStmt) && !bVacuum ){
    if( connBegin(pConn, pReply)!=SQLITE_OK ) goto done;
    bOwnTransaction = 1;
  }else if( pConn->bInteractive && !pConn->bSavepoint && !sqlite3_stmt_readonly(pStmt) ){
    if( connSavepoint(pConn, pReply)!=SQLITE_OK ) goto done;
    bOwnSavepoint = 1;
  }
  if( bCookie && (rc = schemaCookie(pConn, &iCookieBefore))!=SQLITE_OK ){
    connFail(pConn, pReply, rc);
    goto done;
  }

  pConn->bVacuum = bVacuum;
  nChangeBefore = sqlite3_total_changes64(db);
  /* lastInsertRowId speaks of this statement only (bInserted, below); SQL's
  ** last_insert_rowid() keeps SQLite's meaning across statements. */
  iRowidBefore = sqlite3_last_insert_rowid(db);
  nCol = sqlite3_column_count(pStmt);
  if( eShape==SHAPE_ROWS || eShape==SHAPE_RESULT ) sqlite3_str_appendall(pOut, "{\"rows\":[");
  if( eShape==SHAPE_ROW_ARRAY ) sqlite3_str_appendchar(pOut, 1, '[');
  if( eShape==SHAPE_COLUMNS ){
    /* The names come first, so that a result without rows has them too. */
    sqlite3_str_appendall(pOut, "{\"columns\":");
    if( appendColumns(pOut, pStmt, nCol) ){
      connFail(pConn, pReply, SQLITE_NOMEM);
      goto done;
    }
    sqlite3_str_appendall(pOut, ",\"rows\":[");
    if( connResultTooLarge(pConn, pReply) ) goto done;
  }
  if( eShape==SHAPE_HRANA || eShape==SHAPE_HRANA_NO_ROWS ){
    sqlite3_str_appendall(pOut, "{\"cols\":");
    if( hranaAppendColumns(pOut, pStmt, nCol) ){
      connFail(pConn, pReply, SQLITE_NOMEM);
      goto done;
    }
    sqlite3_str_appendall(pOut, ",\"rows\":[");
  }
  captureWatchInserts(pConn, bUpsert);
  row.pStmt = pStmt;
  row.nCol = nCol;
  row.eShape = eShape;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    if( eShape==SHAPE_NONE || eShape==SHAPE_RUN || eShape==SHAPE_HRANA_NO_ROWS ) continue;
    row.bComma = nRow++>0;
    if( connAppendRow(pConn, pReply, pStmt, nCol, writeRow, &row) ) goto done;
  }
  pConn->bVacuum = 0;
  if( rc!=SQLITE_DONE ){
    int bEndedTx = pConn->bInteractive && sqlite3_get_autocommit(db);
    int rcEnded = sqlite3_extended_errcode(db);
    captureDiscard(pConn);
    connFail(pConn, pReply, rc);
    if( bEndedTx ) connNoteEndedTransaction(pConn, rcEnded, pReply);
    goto done;
  }
  /* Counted before captureFlush(), whose own inserts would count too; and
  ** only for INSERT, UPDATE and DELETE (not the rows CREATE VIRTUAL TABLE
  ** writes into its shadow tables). */
  bRowsChanged = sqlite3_total_changes64(db)!=nChangeBefore;   /* its triggers' rows too */
  nChange = !bRowsChanged || !dosqlStmtCountsChanges(pStmt) ? 0 : sqlite3_changes64(db);
  /* An INSERT of the rowid the connection already had changes nothing that
  ** can be seen, but counts; an ignored one does neither; an UPSERT's DO
  ** UPDATE counts too, so for an UPSERT the preupdate hook says. */
  bInserted = dosqlStmtSetsLastRowid(pStmt)
           && (bUpsert ? captureInserted(pConn)
                       : sqlite3_last_insert_rowid(db)!=iRowidBefore || nChange>0);
  rc = captureFlush(pConn);
  if( rc!=SQLITE_OK ) connFail(pConn, pReply, rc);
  else rc = guardCheckSchema(pConn, pReply);
  if( rc==SQLITE_OK && bCookie && (rc = schemaCookie(pConn, &iCookieAfter))!=SQLITE_OK ){
    connFail(pConn, pReply, rc);
  }
  if( rc!=SQLITE_OK ) goto done;
  if( eShape==SHAPE_ROWS ) sqlite3_str_appendall(pOut, "]}");
  if( eShape==SHAPE_ROW_ARRAY ) sqlite3_str_appendchar(pOut, 1, ']');
  if( eShape==SHAPE_RUN || eShape==SHAPE_RESULT || eShape==SHAPE_COLUMNS ){
    sqlite3_str_appendall(pOut, eShape==SHAPE_RUN ? "{\"rowsAffected\":" : "],\"rowsAffected\":");
    jsonAppendInteger(pOut, nChange);
    sqlite3_str_appendall(pOut, ",\"lastInsertRowId\":");
    jsonAppendInteger(pOut, bInserted ? sqlite3_last_insert_rowid(db) : 0);
    if( eShape==SHAPE_COLUMNS ){
      sqlite3_int64 nBytes;
      if( connDatabaseBytes(pConn, pReply, 0, &nBytes)!=SQLITE_OK ) goto done;
      sqlite3_str_appendf(pOut, ",\"readOnly\":%s,\"schemaChanged\":%s,\"databaseChanged\":%s,\"sizeAfter\":%lld",
          sqlite3_stmt_readonly(pStmt) ? "true" : "false",
          iCookieAfter!=iCookieBefore ? "true" : "false",
          bRowsChanged || iCookieAfter!=iCookieBefore ? "true" : "false", nBytes);
      if( guardExplainedTransactionStatement(pConn) ){
        sqlite3_str_appendf(pOut, ",\"explains\":\"%s\"", guardExplainedTransactionStatement(pConn));
      }
    }
    sqlite3_str_appendchar(pOut, 1, '}');
  }
  if( eShape==SHAPE_HRANA || eShape==SHAPE_HRANA_NO_ROWS ){
    sqlite3_str_appendf(pOut, "],\"affected_row_count\":%lld,\"last_insert_rowid\":", nChange);
    if( bInserted ){
      sqlite3_str_appendf(pOut, "\"%lld\"}", sqlite3_last_insert_rowid(db));
    }else{
      sqlite3_str_appendall(pOut, "null}");
    }
  }
  connFinalize(pConn, pStmt);
  pStmt = 0;
  if( bOwnTransaction ) connCommitIfAnswered(pConn, pReply);
done:
  pConn->bVacuum = 0;
  captureWatchInserts(pConn, 0);
  connFinalize(pConn, pStmt);   /* before a ROLLBACK TO: a RETURNING may be mid-answer */
  if( bOwnSavepoint ){
    if( replyFailed(pReply) ) captureDiscard(pConn);
    connRelease(pConn, pReply, replyFailed(pReply));
  }
}

void handlerRunHrana(Conn *pConn, Reply *pReply, sqlite3_stmt *pStmt, int bWantRows){
  runPrepared(pConn, pReply, pStmt, bWantRows ? SHAPE_HRANA : SHAPE_HRANA_NO_ROWS);
}

/* Prepare and run one statement of pOp ({sql, params?}) as eShape. */
static void runStatement(Conn *pConn, Reply *pReply, const cJSON *pOp, Shape eShape){
  sqlite3_stmt *pStmt = prepareOperation(pConn, pReply, pOp);
  if( pStmt ) runPrepared(pConn, pReply, pStmt, eShape);
}

/*********************************************************** endpoints ***/

static void doQuery(Conn *pConn, Reply *pReply, const cJSON *pBody){
  int bArray = requestArrayRows(pReply, pBody);
  if( bArray>=0 ) runStatement(pConn, pReply, pBody, bArray ? SHAPE_COLUMNS : SHAPE_ROWS);
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

/* Before the commit of a request that turned foreign keys off: it must leave
** every foreign key matched, as a migration must (and as D1, where they are
** never off, always does). Failing, the reply fails; connFinish rolls back. */
static int checkForeignKeys(Conn *pConn, Reply *pReply){
  return guardCheckForeignKeys(pConn, pReply, dosqlResultStatus(SQLITE_CONSTRAINT_FOREIGNKEY),
      dosqlResultName(SQLITE_CONSTRAINT_FOREIGNKEY), "the request", "a request that does so");
}

/*
** Run every operation of the body, all or nothing. Outside an interactive
** transaction they get one of their own; inside one, a savepoint, so a failure
** undoes them and leaves the transaction open.
**
** A single operation is prepared first, before that transaction or savepoint,
** so that SQLite's parser says whether it is SAVEPOINT, RELEASE or ROLLBACK
** TO. Inside an interactive transaction such a statement runs as it is: the
** request's own savepoint would end it again (a RELEASE of the request's
** savepoint releases the caller's savepoint taken inside it). Outside one the
** authorizer refuses it, as for /run: there is no transaction for it to nest in;
** and a VACUUM runs as it is, as for /run.
*/
static void runAtomically(Conn *pConn, Reply *pReply, const cJSON *pBody, int bEveryResult){
  const cJSON *pOps = cJSON_GetObjectItemCaseSensitive(pBody, "operations");
  sqlite3_str *pOut = replyBody(pReply);
  const cJSON *pOp;
  sqlite3_stmt *pFirst = 0;     /* the single operation, prepared */
  char zOperation[32];          /* "operation <i>", for an error naming it */
  int i, bArray = 0, bBare = 0, bForeignKeysOff = 0;
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
    sqlite3_snprintf((int)sizeof(zOperation), zOperation, "operation %d", i);
    if( refuseUnknownField(pReply, zOperation, pOp, azOperationFields, 0) ){
      pReply->iOperation = i;
      return;
    }
  }
  if( bEveryResult && (bArray = requestArrayRows(pReply, pBody))<0 ) return;
  if( pOps->child->next==0 ){
    pFirst = prepareOperation(pConn, pReply, pOps->child);
    if( pFirst==0 ){
      pReply->iOperation = 0;
      return;
    }
    /* VACUUM too, outside one: it runs in no transaction (as for /run), and
    ** the D1 facade sends each statement as a batch of one. */
    bBare = pConn->bInteractive ? guardIsSavepoint(pConn) : isVacuum(pFirst);
  }
  if( !bBare
   && (pConn->bInteractive ? connSavepoint(pConn, pReply) : connBegin(pConn, pReply))!=SQLITE_OK ){
    connFinalize(pConn, pFirst);
    return;
  }
  if( bEveryResult ) sqlite3_str_appendall(pOut, "{\"results\":[");
  for(i=0, pOp=pOps->child; pOp; i++, pOp=pOp->next){
    Shape eShape = bEveryResult ? (bArray ? SHAPE_COLUMNS : SHAPE_RESULT)
                 : pOp->next ? SHAPE_NONE : operationShape(pOp, 0);
    if( bEveryResult && i ) sqlite3_str_appendchar(pOut, 1, ',');
    if( pFirst ){
      runPrepared(pConn, pReply, pFirst, eShape);
      pFirst = 0;
    }else{
      runStatement(pConn, pReply, pOp, eShape);
    }
    if( replyFailed(pReply) ){
      pReply->iOperation = i;
      if( pConn->bInteractive && !bBare ) connRelease(pConn, pReply, 1);
      return;
    }
    if( !pConn->bInteractive ) bForeignKeysOff |= guardApplyForeignKeys(pConn);
  }
  if( bEveryResult ) sqlite3_str_appendall(pOut, "]}");
  if( bForeignKeysOff && checkForeignKeys(pConn, pReply)!=SQLITE_OK ) return;
  if( bBare ) return;
  if( pConn->bInteractive ) connRelease(pConn, pReply, 0);
  else connCommitIfAnswered(pConn, pReply);
}

/*
** Run a script: every statement of sql in order (rows are discarded), all or
** nothing, split by SQLite's own parser, so strings, comments and trigger
** bodies are never cut. Answers {"count": n, "databaseChanged": b}, b whether a
** statement changed a row or the schema (the D1 facade's COMMIT says so); a
** failure names its statement: "operation" (0-based) and "statementOffset" (the
** byte in sql where it begins), and "offset" in sql as explainPrepareFailure()
** gives it. A script of no statement (blanks, comments, semicolons) is refused,
** as /query refuses one. D1's exec() is this.
*/
static void doExec(Conn *pConn, Reply *pReply, const cJSON *pBody){
  const char *zScript, *zSql, *zNext;
  int rc = SQLITE_OK, n = 0, bPrepared = 0, bStatement = 0, bForeignKeysOff = 0;
  sqlite3_int64 nChangesBefore, iSchemaBefore;
  /* Refused, not ignored: a script's statements would run with NULLs in place of
  ** the values sent. */
  if( cJSON_GetObjectItemCaseSensitive(pBody, "params") ){
    replyFail(pReply, 400, DOSQL_BAD_PARAMS,
        "/exec runs a script and binds no params: send statements with parameters to /run, /query or /batch");
    return;
  }
  zScript = zSql = zNext = operationSql(pReply, pBody);
  if( zSql==0 ) return;
  if( (pConn->bInteractive ? connSavepoint(pConn, pReply) : connBegin(pConn, pReply))!=SQLITE_OK ){
    return;
  }
  nChangesBefore = sqlite3_total_changes64(pConn->db);
  iSchemaBefore = dosqlSchemaStamp(pConn->db);
  while( *zSql ){
    guardStartStatement(pConn);
    rc = connRunNextStatement(pConn, pReply, &zNext, "send it with its params to /run, /query or /batch",
                              &bPrepared, &bStatement);
    if( rc==SQLITE_OK && bStatement ) rc = guardCheckSchema(pConn, pReply);
    if( rc!=SQLITE_OK ) break;
    if( !pConn->bInteractive ) bForeignKeysOff |= guardApplyForeignKeys(pConn);
    n += bStatement;
    zSql = zNext;
  }
  if( rc!=SQLITE_OK ){
    connFail(pConn, pReply, rc);
    if( !bPrepared ) explainPrepareFailure(pConn, pReply, (int)(zSql - zScript));
    pReply->iOperation = n;
    pReply->iStatementOffset = (int)(skipBlanks(zSql) - zScript);
    if( pConn->bInteractive ) connRelease(pConn, pReply, 1);
    return;
  }
  if( n==0 ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "sql holds no statement");
    pReply->iOperation = 0;          /* the statement that is not there, at the start */
    pReply->iStatementOffset = 0;
    if( pConn->bInteractive ) connRelease(pConn, pReply, 1);
    return;
  }
  if( bForeignKeysOff && checkForeignKeys(pConn, pReply)!=SQLITE_OK ) return;
  sqlite3_str_appendf(replyBody(pReply), "{\"count\":%d,\"databaseChanged\":%s}", n,
      sqlite3_total_changes64(pConn->db)!=nChangesBefore
      || dosqlSchemaStamp(pConn->db)!=iSchemaBefore ? "true" : "false");
  if( pConn->bInteractive ) connRelease(pConn, pReply, 0);
  else connCommitIfAnswered(pConn, pReply);
}

static void doTransaction(Conn *pConn, Reply *pReply, const cJSON *pBody){
  runAtomically(pConn, pReply, pBody, 0);
}

static void doBatch(Conn *pConn, Reply *pReply, const cJSON *pBody){
  runAtomically(pConn, pReply, pBody, 1);
}

/* Whether the answer so far was written whole; if not, the request fails. */
static int answerWritten(Conn *pConn, Reply *pReply){
  if( sqlite3_str_errcode(replyBody(pReply))==SQLITE_OK ) return 1;
  connFail(pConn, pReply, SQLITE_NOMEM);
  return 0;
}

/* The answer of /begin and /commit, written before they act: once the
** transaction has begun or ended, the answer must not fail to say so. sizeAfter
** is the size the database will have: a begin's the size as stored, a commit's
** the size as its transaction sees it; /begin also says its idle timeout
** (nTimeoutMs, else 0). /rollback reads nothing (it must not fail, and the size
** it goes back to is the one its /begin said: nobody else writes meanwhile). */
static int answerTransaction(Conn *pConn, Reply *pReply, int bStored, int nTimeoutMs){
  sqlite3_int64 nBytes;
  if( connDatabaseBytes(pConn, pReply, bStored, &nBytes)!=SQLITE_OK ) return 0;
  sqlite3_str_appendf(replyBody(pReply), "{\"sizeAfter\":%lld", nBytes);
  if( nTimeoutMs ) sqlite3_str_appendf(replyBody(pReply), ",\"timeoutMs\":%d", nTimeoutMs);
  sqlite3_str_appendchar(replyBody(pReply), 1, '}');
  return answerWritten(pConn, pReply);
}

/*
** /begin {timeoutMs?} -> {"sizeAfter": n, "timeoutMs": n}: the transaction's idle timeout,
** checked here and enforced by the host, which owns the timers.
*/
static void doBegin(Conn *pConn, Reply *pReply, const cJSON *pBody){
  const cJSON *pTimeout = cJSON_GetObjectItemCaseSensitive(pBody, "timeoutMs");
  double r = DOSQL_TRANSACTION_TIMEOUT_MS;
  if( pTimeout && !cJSON_IsNull(pTimeout) ){
    r = cJSON_IsNumber(pTimeout) ? pTimeout->valuedouble : -1;
    if( !(r>=DOSQL_MIN_TRANSACTION_TIMEOUT_MS && r<=DOSQL_MAX_TRANSACTION_TIMEOUT_MS) || r!=(double)(int)r ){
      replyFail(pReply, 400, DOSQL_BAD_REQUEST,
          "timeoutMs must be a whole number of milliseconds from %d to %d",
          DOSQL_MIN_TRANSACTION_TIMEOUT_MS, DOSQL_MAX_TRANSACTION_TIMEOUT_MS);
      return;
    }
  }
  if( answerTransaction(pConn, pReply, 1, (int)r) ) connBeginInteractive(pConn, pReply);
}

static void doCommit(Conn *pConn, Reply *pReply, const cJSON *pBody){
  (void)pBody;
  if( answerTransaction(pConn, pReply, 0, 0) ) connEndInteractive(pConn, pReply, 0);
}

static void doRollback(Conn *pConn, Reply *pReply, const cJSON *pBody){
  (void)pBody;
  sqlite3_str_appendall(replyBody(pReply), "{}");
  if( answerWritten(pConn, pReply) ) connEndInteractive(pConn, pReply, 1);
}

/*
** An imported file, opened by a second engine (connOpen has checked its
** schema): are the rows of its internal tables what the engine writes, and
** can every table be read? A file that carries forged change events or
** migration records, or a virtual table of a module this build lacks, is
** refused whole.
*/
static void doImportCheck(Conn *pConn, Reply *pReply, const cJSON *pBody){
  char *zWhy = 0;
  int rc = internalCheckRows(pConn, &zWhy);
  (void)pBody;
  if( rc==SQLITE_OK && zWhy==0 ) rc = connCheckTables(pConn, &zWhy);
  if( rc!=SQLITE_OK ){
    connFail(pConn, pReply, rc);
  }else if( zWhy ){
    replyFail(pReply, 422, DOSQL_IMPORT_UNSAFE, "the file cannot be imported: %s", zWhy);
  }else{
    sqlite3_str_appendall(replyBody(pReply), "{}");
  }
  sqlite3_free(zWhy);
}

/* GET /export asks first how large the file is: {"pageSize","pageCount"}. */
/* GET /export's check: the file's size, now or as of "asOf" (history.h). */
static void doExportSize(Conn *pConn, Reply *pReply, const cJSON *pBody){
  if( !connIsOpen(pConn) ){
    replyFail(pReply, 500, DOSQL_NOT_OPEN, "the database is not open");
    return;
  }
  if( historyRunAsOf(pConn, pReply, pBody, doExportSize) ) return;
  connAnswerSize(pConn, pReply);
}

/************************************************************ dispatch ***/

/* The methods a route takes. */
#define METHOD_GET  1
#define METHOD_POST 2

typedef struct Route {
  const char *zPath;
  Endpoint xEndpoint;    /* the answer (of a host route: its check, or 0) */
  int mMethods;          /* METHOD_* */
  int bHost;             /* the host serves it (streams, file transfer) */
  int bInternal;         /* only for the host (DOSQL_REQUEST_INTERNAL) */
  int bAsOf;             /* reads that take "asOf" (history.h) */
  int bOtherDatabase;    /* writes another database of the class: asked only over
                         ** Workers RPC (DOSQL_REQUEST_OVER_RPC, api.h) */
  int bWholeDatabase;    /* takes the whole database, after any open transaction:
                         ** never sent inside one (it would wait for it to idle out;
                         ** /changes and /subscribe would read events that may yet be
                         ** rolled back;
                         ** a libSQL pipeline holds its transaction by its baton) */
  const char *const *azField;  /* the fields its body may hold; 0: C reads no
                               ** body (/import, /stats) or the protocol has its
                               ** own rules (Hrana) */
} Route;

/* Every endpoint of a database, the host's included, so that every 404 and
** 405 is decided here (docs/protocol.md). */
static const Route aRoute[] = {
  { "/query",         doQuery,            METHOD_POST, 0, 0, 1, 0, 0, azQueryFields },
  { "/run",           doRun,              METHOD_POST, 0, 0, 0, 0, 0, azSqlFields },
  { "/transaction",   doTransaction,      METHOD_POST, 0, 0, 0, 0, 0, azTransactionFields },
  { "/batch",         doBatch,            METHOD_POST, 0, 0, 1, 0, 0, azBatchFields },
  { "/exec",          doExec,             METHOD_POST, 0, 0, 0, 0, 0, azSqlFields },
  { "/begin",         doBegin,            METHOD_POST, 0, 0, 0, 0, 0, azBeginFields },
  { "/commit",        doCommit,           METHOD_POST, 0, 0, 0, 0, 0, azNoFields },
  { "/rollback",      doRollback,         METHOD_POST, 0, 0, 0, 0, 0, azNoFields },
  { "/changes",       changelogRead,      METHOD_POST, 0, 0, 0, 0, 1, azChangesFields },
  { "/subscribe",     changelogSelection, METHOD_GET|METHOD_POST, 1, 0, 0, 0, 1, azSubscribeFields },
  { "/export",        doExportSize,       METHOD_GET,  1, 0, 0, 0, 1, azAsOfFields },
  { "/import",        0,                  METHOD_POST, 1, 0, 0, 0, 1, 0 },
  { "/stats",         0,                  METHOD_GET,  1, 0, 0, 0, 0, 0 },
  { "/history",       historyInfo,        METHOD_GET|METHOD_POST, 0, 0, 0, 0, 0, azNoFields },
  { "/restore",       historyRestoreCheck, METHOD_POST, 1, 0, 0, 0, 1, azRestoreFields },
  { "/diff",          diffEndpoint,       METHOD_POST, 0, 0, 0, 0, 0, azDiffFields },
  { "/branch",        historyBranchCheck, METHOD_POST, 1, 0, 0, 1, 1, azBranchFields },
  { "/v2",            hranaVersion,       METHOD_GET,  0, 0, 0, 0, 0, 0 },
  { "/v2/pipeline",   hranaCheck,         METHOD_POST, 1, 0, 0, 0, 1, 0 },
  { "/hrana/pipeline", hranaPipeline,     METHOD_POST, 0, 1, 0, 0, 0, 0 },
  { "/changes/prune", changelogPrune,     METHOD_POST, 0, 1, 0, 0, 0, azPruneFields },
  { "/changes/capture", changelogCapture, METHOD_POST, 0, 1, 0, 0, 0, azCaptureFields },
  { "/changes/replaced", changelogReplacedEndpoint, METHOD_POST, 0, 1, 0, 0, 0, azNoFields },
  { "/changes/renumber", changelogRenumber, METHOD_POST, 0, 1, 0, 0, 0, azRenumberFields },
  { "/restore/check", migrateCheckRestore, METHOD_POST, 0, 1, 1, 0, 0, azRestoreCheckFields },
  { "/import/check",  doImportCheck,      METHOD_POST, 0, 1, 0, 0, 0, azNoFields },
};
#define N_ROUTE ((int)(sizeof(aRoute)/sizeof(aRoute[0])))

static const Route *findRoute(const char *zPath, uint32_t nPath, int bInternal){
  int i;
  for(i=0; i<N_ROUTE; i++){
    if( aRoute[i].bInternal && !bInternal ) continue;
    if( strlen(aRoute[i].zPath)==nPath && memcmp(aRoute[i].zPath, zPath, nPath)==0 ){
      return &aRoute[i];
    }
  }
  return 0;
}

/* The METHOD_* bit of a method, 0 for any other. HEAD is GET whose answer the
** host sends without its body (RFC 9110). */
static int methodBit(const char *zMethod, uint32_t nMethod){
  if( nMethod==3 && memcmp(zMethod, "GET", 3)==0 ) return METHOD_GET;
  if( nMethod==4 && memcmp(zMethod, "HEAD", 4)==0 ) return METHOD_GET;
  if( nMethod==4 && memcmp(zMethod, "POST", 4)==0 ) return METHOD_POST;
  return 0;
}

static const char *methodsText(int mMethods){
  switch( mMethods ){
    case METHOD_GET:  return "only GET (and HEAD) is allowed";
    case METHOD_POST: return "only POST is allowed";
    default:          return "only GET (and HEAD) and POST are allowed";
  }
}

/* The methods, as a 405's Allow header lists them (RFC 9110). */
static const char *methodsAllowed(int mMethods){
  switch( mMethods ){
    case METHOD_GET:  return "GET, HEAD";
    case METHOD_POST: return "POST";
    default:          return "GET, HEAD, POST";
  }
}

void handlerAppendRoutes(sqlite3_str *pOut){
  int i;
  sqlite3_str_appendchar(pOut, 1, '[');
  for(i=0; i<N_ROUTE; i++){
    const Route *p = &aRoute[i];
    sqlite3_str_appendf(pOut, "%s{\"path\":\"%s\",\"methods\":[%s%s%s],\"host\":%s,\"internal\":%s,"
        "\"otherDatabase\":%s,\"wholeDatabase\":%s}",
        i ? "," : "", p->zPath,
        (p->mMethods & METHOD_GET) ? "\"GET\"" : "",
        (p->mMethods & METHOD_GET) && (p->mMethods & METHOD_POST) ? "," : "",
        (p->mMethods & METHOD_POST) ? "\"POST\"" : "",
        p->bHost ? "true" : "false", p->bInternal ? "true" : "false",
        p->bOtherDatabase ? "true" : "false", p->bWholeDatabase ? "true" : "false");
  }
  sqlite3_str_appendchar(pOut, 1, ']');
}

uint8_t *handleRequest(Conn *pConn, const char *zMethod, uint32_t nMethod,
                       const char *zPath, uint32_t nPath,
                       const uint8_t *aBody, uint32_t nBody, uint32_t flags){
  Reply reply;
  const Route *pRoute = findRoute(zPath, nPath, (flags & DOSQL_REQUEST_INTERNAL)!=0);
  int bInTransaction = (flags & DOSQL_REQUEST_IN_TRANSACTION)!=0;
  int mMethod = methodBit(zMethod, nMethod);
  cJSON *pBody;

  replyInit(&reply);
  pConn->bRetry = (flags & DOSQL_REQUEST_RETRY)!=0;
  if( pRoute==0 ){
    int nEcho = replyEchoLength(zPath, (int)nPath);
    replyFail(&reply, 404, DOSQL_NOT_FOUND,
        "no endpoint %.*s%s: use POST /query, /run, /transaction, /batch, /exec or /changes",
        nEcho, zPath, nEcho<(int)nPath ? "..." : "");
  }else if( (mMethod & pRoute->mMethods)==0 ){
    replyFail(&reply, 405, DOSQL_METHOD_NOT_ALLOWED,
        "%.*s %s: %s", (int)nMethod, zMethod, pRoute->zPath, methodsText(pRoute->mMethods));
    reply.zAllow = methodsAllowed(pRoute->mMethods);
  }else if( pRoute->bHost ){
    /* The host serves it and asks first: may it, and with what body. Asked
    ** by anyone else (a Workers RPC request()), the check is no answer. */
    if( (flags & DOSQL_REQUEST_INTERNAL)==0 ){
      replyFail(&reply, 400, DOSQL_BAD_REQUEST,
          "%s streams or is served by the object itself: send it as an HTTP request (fetch)", pRoute->zPath);
    }else if( pRoute->bOtherDatabase && (flags & DOSQL_REQUEST_OVER_RPC)==0 ){
      replyFail(&reply, 403, DOSQL_RPC_ONLY, "%s writes another database (the one it names), so "
          "a database does not serve it over HTTP, which a Worker may forward for one tenant: "
          "call the stub's %s() over Workers RPC, from code that may write any tenant "
          "(docs/security.md)", pRoute->zPath, pRoute->zPath+1);
    }else if( pRoute->xEndpoint==0 ){
      sqlite3_str_appendall(replyBody(&reply), "{}");
    }else if( (pBody = requestParse(&reply, aBody, nBody))!=0 ){
      if( !pRoute->azField
       || !refuseUnknownField(&reply, pRoute->zPath, pBody, pRoute->azField, mMethod==METHOD_GET) ){
        pRoute->xEndpoint(pConn, &reply, pBody);
      }
      cJSON_Delete(pBody);
    }
  }else if( !connIsOpen(pConn) ){
    replyFail(&reply, 500, DOSQL_NOT_OPEN, "the database is not open");
  }else if( bInTransaction!=pConn->bInteractive
         && !(bInTransaction && (flags & DOSQL_REQUEST_RETRY)!=0) ){
    /* The host queues requests around an open transaction; this is its bug.
    ** But the call again after a fault may find the transaction its first
    ** call ended (a libSQL pipeline's COMMIT, before the statement that
    ** faulted): it goes on outside it, and its answer tells the host so. */
    replyFail(&reply, 500, DOSQL_INTERNAL, bInTransaction
        ? "the request belongs to a transaction, but none is open"
        : "a transaction is open: other requests must wait for it to end");
  }else if( sqlite3_str_errcode(replyBody(&reply))!=SQLITE_OK ){
    /* Not even the answer's head fits: do nothing that would need telling. */
    replyFail(&reply, 400, DOSQL_HEAP_LIMIT, "out of memory before the request began");
  }else if( (pBody = requestParse(&reply, aBody, nBody))!=0 ){
    connStartRequest(pConn, 0);
    if( !pRoute->bAsOf && cJSON_GetObjectItemCaseSensitive(pBody, "asOf") ){
      /* The host's libSQL route runs as /hrana/pipeline: the client sent /v2/pipeline. */
      replyFail(&reply, 400, DOSQL_BAD_REQUEST,
          "%s does not take asOf: reads of a past point go to /query or /batch",
          pRoute->xEndpoint==hranaPipeline ? "a libSQL pipeline (/v2/pipeline)" : pRoute->zPath);
    }else if( pRoute->azField && refuseUnknownField(&reply, pRoute->zPath, pBody, pRoute->azField, 0) ){
      /* the reply says which */
    }else if( !pRoute->bAsOf || !historyRunAsOf(pConn, &reply, pBody, pRoute->xEndpoint) ){
      pRoute->xEndpoint(pConn, &reply, pBody);
    }
    connFinish(pConn, &reply);
    cJSON_Delete(pBody);
  }
  return replyFinish(&reply);
}
