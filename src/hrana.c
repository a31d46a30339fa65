/*
** hrana.c — libSQL's Hrana protocol over HTTP: the requests of a pipeline
** and the pipeline itself (hrana.h, docs/hrana.md); its streams, batons and
** stored SQL are hranastream.c's.
**
** Every request of a pipeline answers on its own: a statement that fails is
** that request's {"type":"error"} and the pipeline goes on, as sqld does. So
** each request runs on a Reply that shares the pipeline's body but keeps its
** own error (replyInitSharing), written in place of its partial output.
** Outside a transaction each statement commits by itself (autocommit).
*/
#include <string.h>

#include "config.h"
#include "errors.h"
#include "guard.h"
#include "handler.h"
#include "host.h"
#include "hrana.h"
#include "hranastream.h"
#include "json.h"
#include "sqlite/unit.h"
#include "sqltext.h"
#include "vfs.h"

/*
** A point inside a batch or a sequence, where one that a page fault stopped
** goes on: the first step not done (batch) or the byte of the first
** statement not done (sequence); for a batch also the outcomes of the steps
** before it, and the text of their step_results and step_errors.
*/
typedef struct Progress {
  int iInner;
  unsigned char *aOutcome;
  int nOutcome;
  char *zResults;
  char *zErrors;
} Progress;

/* The pipeline a page fault stopped: its body, its stream, the first request
** not done, the results of those before it and how far that one came. The
** host calls again at once with DOSQL_REQUEST_RETRY, holding the object, so
** there is at most one, and any other call drops it. pBody 0 with an id: it
** could not be kept (out of memory), and the retry fails. */
typedef struct Pending {
  cJSON *pBody;
  unsigned id;
  int iResume;
  char *zDone;
  Progress inner;
  int bForeignKeys;             /* as its PRAGMA foreign_keys left them (guard.h) */
  DosqlSettings settings;       /* ...and its other settings (connFinish puts them back) */
} Pending;
static Pending pending;

static void progressFree(Progress *p){
  sqlite3_free(p->aOutcome);
  sqlite3_free(p->zResults);
  sqlite3_free(p->zErrors);
  memset(p, 0, sizeof(*p));
}

static void pendingFree(Pending *p){
  cJSON_Delete(p->pBody);
  sqlite3_free(p->zDone);
  progressFree(&p->inner);
  memset(p, 0, sizeof(*p));
}

/* The requests of a pipeline's body, or 0 after failing the reply. */
static const cJSON *pipelineRequests(Reply *pReply, const cJSON *pBody){
  const cJSON *pRequests = cJSON_GetObjectItemCaseSensitive(pBody, "requests");
  if( !cJSON_IsObject(pBody) || !cJSON_IsArray(pRequests) ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "a Hrana pipeline is {\"baton\": string|null, \"requests\": [...]}");
    return 0;
  }
  return pRequests;
}

void hranaVersion(Conn *pConn, Reply *pReply, const cJSON *pBody){
  (void)pConn;
  (void)pBody;
  sqlite3_str_appendall(replyBody(pReply), "{\"version\":2}");
}

void hranaCheck(Conn *pConn, Reply *pReply, const cJSON *pBody){
  HranaStream *s;
  int bNew;
  if( pipelineRequests(pReply, pBody)==0 ) return;
  hranaStreamsExpire(pConn, dosql_host_now_ms());
  s = hranaStreamOfBaton(pConn, pReply, cJSON_GetObjectItemCaseSensitive(pBody, "baton"), &bNew);
  if( s==0 && !bNew ) return;
  sqlite3_str_appendf(replyBody(pReply), "{\"transaction\":%s}",
      s && hranaStreamHoldsTransaction(pConn, s) ? "true" : "false");
}

/******************************************************* statements ***/

int hranaAppendColumns(sqlite3_str *pOut, sqlite3_stmt *pStmt, int nCol){
  int i;
  sqlite3_str_appendchar(pOut, 1, '[');
  for(i=0; i<nCol; i++){
    const char *zName = sqlite3_column_name(pStmt, i);
    const char *zType = sqlite3_column_decltype(pStmt, i);
    if( zName==0 ) return 1;
    sqlite3_str_appendall(pOut, i ? ",{\"name\":" : "{\"name\":");
    jsonAppendString(pOut, zName, -1);
    sqlite3_str_appendall(pOut, ",\"decltype\":");
    if( zType ) jsonAppendString(pOut, zType, -1);
    else sqlite3_str_appendall(pOut, "null");
    sqlite3_str_appendchar(pOut, 1, '}');
  }
  sqlite3_str_appendchar(pOut, 1, ']');
  return 0;
}

void hranaAppendRow(sqlite3_str *pOut, sqlite3_stmt *pStmt, int nCol){
  int i;
  sqlite3_str_appendchar(pOut, 1, '[');
  for(i=0; i<nCol; i++){
    if( i ) sqlite3_str_appendchar(pOut, 1, ',');
    jsonAppendHranaColumn(pOut, pStmt, i);
  }
  sqlite3_str_appendchar(pOut, 1, ']');
}

/* BEGIN, COMMIT or ROLLBACK of stream s (zTx as guard.h names it): they open
** and end the object's interactive transaction; SQLite's messages when they
** cannot. Appends an empty StmtResult. */
static void runTransactionStatement(Conn *pConn, Reply *pSub, HranaStream *s, const char *zTx, const char *zSql){
  int bBegin = strcmp(zTx, "begin")==0;
  if( bBegin && pConn->budget.bSpent ){
    connFail(pConn, pSub, SQLITE_INTERRUPT);   /* CPU_LIMIT: nothing more starts */
    return;
  }
  if( bBegin && pConn->bInteractive ){
    replyFail(pSub, 400, dosqlResultName(SQLITE_ERROR), "cannot start a transaction within a transaction");
    return;
  }
  if( !bBegin && !hranaStreamHoldsTransaction(pConn, s) ){
    replyFail(pSub, 400, dosqlResultName(SQLITE_ERROR), "cannot %s - no transaction is active", zTx);
    return;
  }
  if( bBegin ){
    if( connBeginInteractive(pConn, pSub)!=SQLITE_OK ) return;
    pConn->iTxStream = s->id;
    s->bTx = 1;
    if( dosqlIsReadOnlyBegin(zSql) && connReadOnlyTransaction(pConn, pSub)!=SQLITE_OK ) return;
  }else{
    s->bTx = 0;
    if( connEndInteractive(pConn, pSub, strcmp(zTx, "rollback")==0)!=SQLITE_OK ) return;
  }
  sqlite3_str_appendall(replyBody(pSub), "{\"cols\":[],\"rows\":[],\"affected_row_count\":0,\"last_insert_rowid\":null}");
}

/* A statement failed: outside a transaction, roll back the one it began. */
static void endFailedStatement(Conn *pConn){
  if( !pConn->bInteractive && !sqlite3_get_autocommit(pConn->db) ) connRollback(pConn);
}

/* Prepare one statement of zSql, letting BEGIN, COMMIT and ROLLBACK through
** (their text is never run: runTransactionStatement acts for them). */
static int prepareOne(Conn *pConn, Reply *pSub, const char *zSql, sqlite3_stmt **ppStmt){
  int rc;
  guardStartStatement(pConn);
  pConn->bTxStatements = 1;
  rc = connPrepareOne(pConn, pSub, zSql, ppStmt);
  pConn->bTxStatements = 0;
  return rc;
}

/* Whether a Stmt gives args or named_args (any: they are read when bound). */
static int hranaStmtHasArgs(const cJSON *pStmt){
  return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pStmt, "args"))>0
      || cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pStmt, "named_args"))>0;
}

/* A Stmt {sql|sql_id, args?, named_args?, want_rows?}: append its StmtResult. */
static void runStmt(Conn *pConn, Reply *pSub, HranaStream *s, const cJSON *pStmt){
  const char *zSql = hranaSqlText(s, pSub, pStmt);
  const cJSON *pWant = cJSON_GetObjectItemCaseSensitive(pStmt, "want_rows");
  sqlite3_stmt *pPrepared = 0;
  const char *zTx;
  char *zErr = 0;
  int rc;
  if( zSql==0 || connResultTooLarge(pConn, pSub) ) return;   /* config.h: starts in room */
  /* A spent budget refuses compiling any statement, but ending the transaction
  ** costs nothing, and a client's guarded ROLLBACK is what frees the database. */
  if( pConn->budget.bSpent && !hranaStmtHasArgs(pStmt) && (zTx = dosqlTransactionEnd(zSql))!=0 ){
    runTransactionStatement(pConn, pSub, s, zTx, zSql);
    return;
  }
  if( prepareOne(pConn, pSub, zSql, &pPrepared)!=SQLITE_OK ) return;
  /* Transaction control too: it has no parameter for an argument. */
  rc = jsonBindHranaArgs(pPrepared, cJSON_GetObjectItemCaseSensitive(pStmt, "args"),
                         cJSON_GetObjectItemCaseSensitive(pStmt, "named_args"), &zErr);
  if( rc!=SQLITE_OK ){
    if( zErr ) replyFail(pSub, 400, DOSQL_BAD_PARAMS, "%s", zErr);
    else connFail(pConn, pSub, rc);
    sqlite3_free(zErr);
    connFinalize(pConn, pPrepared);
    return;
  }
  if( (zTx = guardTransactionStatement(pConn))!=0 ){
    connFinalize(pConn, pPrepared);
    runTransactionStatement(pConn, pSub, s, zTx, zSql);
    return;
  }
  handlerRunHrana(pConn, pSub, pPrepared, !cJSON_IsFalse(pWant));
  if( replyFailed(pSub) ) endFailedStatement(pConn);
}

/* sequence {sql|sql_id}: every statement in turn, each committing by itself
** outside a transaction; the first failure ends it (those before it stay).
** From pFrom's byte on when resumed; a fault leaves where it stopped in
** pStopped. */
static void runSequence(Conn *pConn, Reply *pSub, HranaStream *s, const cJSON *pReq,
                        const Progress *pFrom, Progress *pStopped, Progress *pBegun){
  sqlite3_str *pOut = replyBody(pSub);
  const char *zText = hranaSqlText(s, pSub, pReq);
  const char *zSql = zText;
  const char *zStart = 0;
  if( zText && pFrom && pFrom->iInner>0 && pFrom->iInner<=(int)strlen(zText) ) zSql = zText + pFrom->iInner;
  while( zSql && *zSql && !replyFailed(pSub) ){
    sqlite3_stmt *pStmt = 0;
    const char *zTail = 0, *zTx;
    int rc, iMark = sqlite3_str_length(pOut), bHeld = hranaStreamHoldsTransaction(pConn, s);
    zStart = zSql;
    if( connResultTooLarge(pConn, pSub) ) break;
    guardStartStatement(pConn);
    pConn->bTxStatements = 1;
    rc = connPrepareNext(pConn, pSub, zSql, &pStmt, &zTail);
    pConn->bTxStatements = 0;
    if( rc!=SQLITE_OK ){
      connFail(pConn, pSub, rc);
      break;
    }
    zSql = zTail;
    if( pStmt==0 ) continue;
    if( connRefuseScriptParams(pSub, pStmt, "send it as an execute, or a step of a batch, with its args") ){
      sqlite3_finalize(pStmt);
      break;
    }
    if( (zTx = guardTransactionStatement(pConn))!=0 ){
      sqlite3_finalize(pStmt);
      runTransactionStatement(pConn, pSub, s, zTx, zStart);
    }else{
      handlerRunHrana(pConn, pSub, pStmt, 0);
      if( replyFailed(pSub) ) endFailedStatement(pConn);
    }
    sqlite3_str_truncate(pOut, iMark);      /* a sequence answers no results */
    if( !bHeld && hranaStreamHoldsTransaction(pConn, s) ) pBegun->iInner = (int)(zStart - zText);
    if( dosqlVfsFaulted() ){
      pStopped->iInner = (int)(zStart - zText);
      return;
    }
  }
  /* A long script's error says where (the statements before it have run), and
  ** whether a transaction of the stream is still open: what ran in it is kept
  ** only if the stream goes on to commit it. */
  if( zStart && replyFailed(pSub) ){
    char zWhere[96];
    sqlite3_snprintf(sizeof(zWhere), zWhere, " (the sequence's statement on line %d%s)",
                     dosqlLineOf(zText, dosqlFirstToken(zStart)),
                     /* Not one the statement itself rolled back (INSERT OR ROLLBACK). */
                     hranaStreamHoldsTransaction(pConn, s) && !sqlite3_get_autocommit(pConn->db)
                       ? ", inside a transaction the stream still holds" : "");
    replyAmend(pSub, pSub->status, pSub->zCode, zWhere);
  }
}

/* describe {sql|sql_id}: the statement's parameters and columns, unrun. */
static void describe(Conn *pConn, Reply *pSub, HranaStream *s, const cJSON *pReq){
  sqlite3_str *pOut = replyBody(pSub);
  const char *zSql = hranaSqlText(s, pSub, pReq);
  sqlite3_stmt *pStmt = 0;
  int i, n, rc;
  if( zSql==0 ) return;
  pConn->bDescribeOnly = 1;
  rc = prepareOne(pConn, pSub, zSql, &pStmt);
  pConn->bDescribeOnly = 0;
  if( rc!=SQLITE_OK ) return;
  sqlite3_str_appendall(pOut, "{\"params\":[");
  n = sqlite3_bind_parameter_count(pStmt);
  for(i=1; i<=n; i++){
    const char *zName = sqlite3_bind_parameter_name(pStmt, i);
    sqlite3_str_appendall(pOut, i>1 ? ",{\"name\":" : "{\"name\":");
    if( zName ) jsonAppendString(pOut, zName, -1);
    else sqlite3_str_appendall(pOut, "null");
    sqlite3_str_appendchar(pOut, 1, '}');
  }
  sqlite3_str_appendall(pOut, "],\"cols\":");
  if( hranaAppendColumns(pOut, pStmt, sqlite3_column_count(pStmt)) ) connFail(pConn, pSub, SQLITE_NOMEM);
  sqlite3_str_appendf(pOut, ",\"is_explain\":%s,\"is_readonly\":%s}",
      sqlite3_stmt_isexplain(pStmt) ? "true" : "false",
      sqlite3_stmt_readonly(pStmt) ? "true" : "false");
  connFinalize(pConn, pStmt);
}

/************************************************************ batches ***/

/* Outcome of the steps of a batch so far: 0 not run, 1 ok, 2 failed. */
#define STEP_NOT_RUN 0
#define STEP_OK      1
#define STEP_FAILED  2

/* Evaluate a batch step's condition: 1 true, 0 false, -1 after failing pSub.
** (Recursion is as deep as the body's JSON, which request.h bounds.) */
static int condition(Conn *pConn, Reply *pSub, HranaStream *s, const cJSON *pCond,
                     const unsigned char *aOutcome, int iStep){
  const cJSON *pType = cJSON_GetObjectItemCaseSensitive(pCond, "type");
  const char *zType = cJSON_IsString(pType) ? pType->valuestring : "";
  if( strcmp(zType, "ok")==0 || strcmp(zType, "error")==0 ){
    const cJSON *pStep = cJSON_GetObjectItemCaseSensitive(pCond, "step");
    int i = cJSON_IsNumber(pStep) && pStep->valuedouble>=0 && pStep->valuedouble<iStep ? (int)pStep->valuedouble : -1;
    if( i<0 || pStep->valuedouble!=(double)i ){
      replyFail(pSub, 400, DOSQL_BAD_REQUEST, "step %d's condition must name an earlier step", iStep);
      return -1;
    }
    return aOutcome[i]==(zType[0]=='o' ? STEP_OK : STEP_FAILED);
  }
  if( strcmp(zType, "not")==0 ){
    const cJSON *pInner = cJSON_GetObjectItemCaseSensitive(pCond, "cond");
    int b;
    if( !cJSON_IsObject(pInner) ){
      replyFail(pSub, 400, DOSQL_BAD_REQUEST, "step %d: \"not\" needs cond, a condition", iStep);
      return -1;
    }
    b = condition(pConn, pSub, s, pInner, aOutcome, iStep);
    return b<0 ? b : !b;
  }
  if( strcmp(zType, "and")==0 || strcmp(zType, "or")==0 ){
    const cJSON *pConds = cJSON_GetObjectItemCaseSensitive(pCond, "conds");
    const cJSON *p;
    int bAnd = zType[0]=='a';
    if( !cJSON_IsArray(pConds) ){
      replyFail(pSub, 400, DOSQL_BAD_REQUEST, "step %d: \"%s\" needs conds, an array", iStep, zType);
      return -1;
    }
    for(p=pConds->child; p; p=p->next){
      int b = condition(pConn, pSub, s, p, aOutcome, iStep);
      if( b<0 ) return b;
      if( b!=bAnd ) return b;
    }
    return bAnd;
  }
  if( strcmp(zType, "is_autocommit")==0 ) return !hranaStreamHoldsTransaction(pConn, s);
  replyFail(pSub, 400, DOSQL_BAD_REQUEST, "step %d: a condition's type is ok, error, not, and, or or is_autocommit", iStep);
  return -1;
}

/* Append an error as Hrana's {"message","code"}. As in sqld, the code of a
** SQLite error is its primary result code (SQLITE_CONSTRAINT); the extended
** one (SQLITE_CONSTRAINT_PRIMARYKEY) is "extended_code". */
static void appendError(sqlite3_str *pOut, const Reply *pFailed){
  const char *zCode = pFailed->zCode ? pFailed->zCode : DOSQL_HEAP_LIMIT;
  const char *zExtension = strncmp(zCode, "SQLITE_", 7)==0 ? strchr(zCode+7, '_') : 0;
  sqlite3_str_appendall(pOut, "{\"message\":");
  jsonAppendString(pOut, pFailed->zError ? pFailed->zError : "out of memory", -1);
  sqlite3_str_appendall(pOut, ",\"code\":");
  jsonAppendString(pOut, zCode, zExtension ? (int)(zExtension - zCode) : -1);
  if( zExtension ){
    sqlite3_str_appendall(pOut, ",\"extended_code\":");
    jsonAppendString(pOut, zCode, -1);
  }else if( pFailed->zSqliteCode ){
    /* TRANSACTION_ABORTED by SQLite's failure (a deferred foreign key at COMMIT). */
    sqlite3_str_appendall(pOut, ",\"extended_code\":");
    jsonAppendString(pOut, pFailed->zSqliteCode, -1);
  }
  sqlite3_str_appendchar(pOut, 1, '}');
}

/* A copy of n bytes of z at i, or 0 (out of memory, or z is 0). */
static char *textAt(const char *z, int i, int n){
  return z ? sqlite3_mprintf("%.*s", n, z + i) : 0;
}

/* The point of a batch before step i (Progress): the outcomes of the steps
** before it, and their text in pOut (from iResults to iResultEnd) and in
** pErrors (up to iErrorEnd). Out of memory, the copies are 0 (keepPending). */
static void takeBatchPoint(Progress *p, int i, const unsigned char *aOutcome, sqlite3_str *pOut, int iResults,
                           int iResultEnd, sqlite3_str *pErrors, int iErrorEnd){
  p->iInner = i;
  p->nOutcome = i;
  p->aOutcome = sqlite3_malloc(i + 1);
  if( p->aOutcome ) memcpy(p->aOutcome, aOutcome, (size_t)i);
  p->zResults = textAt(sqlite3_str_value(pOut), iResults, iResultEnd - iResults);
  p->zErrors = iErrorEnd ? textAt(sqlite3_str_value(pErrors), 0, iErrorEnd) : sqlite3_mprintf("");
}

/* Whether the pipeline's answer pOut, about to grow, leaves SQLite's heap too
** little room to: a growth doubles its buffer (SQLite's heap limit counts the
** bytes added), and one that fails loses all of it (sqlite3_str), with it the
** results of requests that committed. Checked between requests, when less
** than DOSQL_PIPELINE_HEADROOM_BYTES of the buffer is left. */
static int answerCrowdsHeap(sqlite3_str *pOut){
  char *z = sqlite3_str_value(pOut);
  sqlite3_int64 nAlloc = z ? sqlite3_msize(z) : 0;
  sqlite3_int64 nLimit = sqlite3_hard_heap_limit64(-1);   /* 0: none */
  if( nLimit<=0 || nAlloc - sqlite3_str_length(pOut) >= DOSQL_PIPELINE_HEADROOM_BYTES ) return 0;
  return sqlite3_memory_used() + nAlloc + DOSQL_PIPELINE_HEADROOM_BYTES > nLimit;
}

/*
** Whether SQLite ended the stream's transaction at the statement just run, for
** a reason that fails the pipeline (the CPU budget, memory, an I/O error:
** hranaPipeline says which). One that rolls its transaction back by design
** (ON CONFLICT ROLLBACK, RAISE(ROLLBACK)) failed alone, as in SQLite and sqld:
** the transaction is over, and what follows (the next step of a batch, whose
** is_autocommit is then true) runs outside it.
*/
static int transactionLost(Conn *pConn, HranaStream *s){
  if( !pConn->bInteractive || !sqlite3_get_autocommit(pConn->db) ) return 0;
  if( (pConn->rcEndedTx & 0xff)!=SQLITE_CONSTRAINT ) return 1;
  connRollback(pConn);
  s->bTx = 0;
  return 0;
}

/* batch {batch: {steps: [{condition?, stmt}]}}: a BatchResult. From pFrom's
** step on when resumed; a fault leaves where it stopped in pStopped, and a
** step that begins a transaction its own point in pBegun. */
static void runBatch(Conn *pConn, Reply *pSub, HranaStream *s, const cJSON *pReq,
                     const Progress *pFrom, Progress *pStopped, Progress *pBegun){
  sqlite3_str *pOut = replyBody(pSub);
  const cJSON *pSteps = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pReq, "batch"), "steps");
  const cJSON *pStep;
  sqlite3_str *pErrors;
  unsigned char *aOutcome;
  int i, iResults, iFirst = 0, n = cJSON_GetArraySize(pSteps);
  int bBegan = 0;   /* a step began the stream's transaction */
  if( !cJSON_IsArray(pSteps) ){
    replyFail(pSub, 400, DOSQL_BAD_REQUEST, "a batch request is {\"batch\": {\"steps\": [...]}}");
    return;
  }
  aOutcome = sqlite3_malloc(n + 1);
  pErrors = sqlite3_str_new(0);
  if( aOutcome==0 ){
    sqlite3_free(sqlite3_str_finish(pErrors));
    connFail(pConn, pSub, SQLITE_NOMEM);
    return;
  }
  memset(aOutcome, STEP_NOT_RUN, (size_t)n + 1);
  sqlite3_str_appendall(pOut, "{\"step_results\":[");
  iResults = sqlite3_str_length(pOut);
  if( pFrom && pFrom->aOutcome && pFrom->iInner<=n ){
    iFirst = pFrom->iInner;
    memcpy(aOutcome, pFrom->aOutcome, (size_t)iFirst);
    sqlite3_str_appendall(pOut, pFrom->zResults);
    sqlite3_str_appendall(pErrors, pFrom->zErrors);
  }
  for(i=0, pStep=pSteps->child; pStep; i++, pStep=pStep->next){
    const cJSON *pCond = cJSON_GetObjectItemCaseSensitive(pStep, "condition");
    Reply step;
    int iMark, iResultEnd = sqlite3_str_length(pOut), iErrorEnd = sqlite3_str_length(pErrors), bRun = 1;
    int bHeld = hranaStreamHoldsTransaction(pConn, s);
    if( i<iFirst ) continue;
    if( answerCrowdsHeap(pOut) ){
      /* As between a pipeline's requests: a failed growth would lose the answer,
      ** and with it which steps committed. */
      replyFail(pSub, 400, DOSQL_HEAP_LIMIT, "the batch's answer would not fit in memory: its steps "
          "before step %d ran (what they committed outside a transaction stays), that one and those "
          "after it did not: send fewer steps per batch, or select fewer rows", i);
      /* Its COMMIT and the guarded ROLLBACK after it will not run: a transaction the
      ** batch began is rolled back, or the stream would hold part of the batch,
      ** everyone else waiting, for any later COMMIT to keep. */
      if( bBegan && hranaStreamHoldsTransaction(pConn, s) ){
        connRollback(pConn);
        s->bTx = 0;
        replyAmend(pSub, pSub->status, pSub->zCode, "; the transaction the batch began was rolled back");
      }
      break;
    }
    if( i ) sqlite3_str_appendchar(pOut, 1, ',');
    if( i ) sqlite3_str_appendchar(pErrors, 1, ',');
    iMark = sqlite3_str_length(pOut);
    replyInitSharing(&step, pSub);
    if( pCond && !cJSON_IsNull(pCond) ) bRun = condition(pConn, &step, s, pCond, aOutcome, i);
    if( bRun>0 ) runStmt(pConn, &step, s, cJSON_GetObjectItemCaseSensitive(pStep, "stmt"));
    if( replyFailed(&step) ){
      sqlite3_str_truncate(pOut, iMark);
      sqlite3_str_appendall(pOut, "null");
      appendError(pErrors, &step);
      aOutcome[i] = STEP_FAILED;
    }else{
      if( bRun==0 ) sqlite3_str_appendall(pOut, "null");
      sqlite3_str_appendall(pErrors, "null");
      aOutcome[i] = bRun ? STEP_OK : STEP_NOT_RUN;
    }
    replyEndSharing(&step);
    if( !bHeld && hranaStreamHoldsTransaction(pConn, s) ){
      /* Its BEGIN: where a fault inside the transaction resumes (hranaPipeline). */
      bBegan = 1;
      progressFree(pBegun);
      takeBatchPoint(pBegun, i, aOutcome, pOut, iResults, iResultEnd, pErrors, iErrorEnd);
    }
    if( dosqlVfsFaulted() ){
      /* The steps before this one stay done: the call again resumes here. */
      takeBatchPoint(pStopped, i, aOutcome, pOut, iResults, iResultEnd, pErrors, iErrorEnd);
      break;
    }
    if( transactionLost(pConn, s) ) break;   /* no later step runs: the pipeline fails */
  }
  sqlite3_str_appendall(pOut, "],\"step_errors\":[");
  if( sqlite3_str_errcode(pErrors)!=SQLITE_OK ) connFail(pConn, pSub, SQLITE_NOMEM);
  else sqlite3_str_append(pOut, sqlite3_str_value(pErrors), sqlite3_str_length(pErrors));
  sqlite3_str_appendall(pOut, "]}");
  sqlite3_free(sqlite3_str_finish(pErrors));
  sqlite3_free(aOutcome);
}

/********************************************************** pipelines ***/

/*
** One stream request: append its StreamResult, {"type":"ok","response":...}
** or {"type":"error","error":{...}}. *pbClosed once the stream is closed.
** A batch or sequence resumes from pFrom (0: from its start), and says in
** pStopped where a page fault stopped it, and in pBegun where a transaction
** began in it. A statement whose rows would take the answer past
** DOSQL_MAX_RESULT_BYTES fails with RESULT_TOO_LARGE (config.h); a request
** whose answer still passes DOSQL_MAX_ANSWER_BYTES is that request's
** RESULT_TOO_LARGE, so the pipeline as a whole never fails for it.
*/
static void runRequest(Conn *pConn, Reply *pReply, HranaStream *s, const cJSON *pReq, int *pbClosed,
                       const Progress *pFrom, Progress *pStopped, Progress *pBegun){
  sqlite3_str *pOut = replyBody(pReply);
  const cJSON *pType = cJSON_GetObjectItemCaseSensitive(pReq, "type");
  const char *zType = cJSON_IsString(pType) ? pType->valuestring : "";
  int iMark = sqlite3_str_length(pOut);
  Reply sub;
  replyInitSharing(&sub, pReply);
  sqlite3_str_appendall(pOut, "{\"type\":\"ok\",\"response\":{\"type\":");
  jsonAppendString(pOut, zType, -1);
  if( *pbClosed ){
    replyFail(&sub, 400, DOSQL_STREAM_EXPIRED, "the stream was closed by an earlier request of this pipeline");
  }else if( strcmp(zType, "execute")==0 ){
    sqlite3_str_appendall(pOut, ",\"result\":");
    runStmt(pConn, &sub, s, cJSON_GetObjectItemCaseSensitive(pReq, "stmt"));
  }else if( strcmp(zType, "batch")==0 ){
    sqlite3_str_appendall(pOut, ",\"result\":");
    runBatch(pConn, &sub, s, pReq, pFrom, pStopped, pBegun);
  }else if( strcmp(zType, "sequence")==0 ){
    runSequence(pConn, &sub, s, pReq, pFrom, pStopped, pBegun);
  }else if( strcmp(zType, "describe")==0 ){
    sqlite3_str_appendall(pOut, ",\"result\":");
    describe(pConn, &sub, s, pReq);
  }else if( strcmp(zType, "store_sql")==0 ){
    hranaStoreSql(s, &sub, pReq);
  }else if( strcmp(zType, "close_sql")==0 ){
    hranaCloseSql(s, &sub, pReq);
  }else if( strcmp(zType, "get_autocommit")==0 ){
    sqlite3_str_appendf(pOut, ",\"is_autocommit\":%s", hranaStreamHoldsTransaction(pConn, s) ? "false" : "true");
  }else if( strcmp(zType, "close")==0 ){
    if( hranaStreamHoldsTransaction(pConn, s) ){
      s->bTx = 0;
      connEndInteractive(pConn, &sub, 1);
    }
    *pbClosed = 1;
  }else{
    replyFail(&sub, 400, DOSQL_BAD_REQUEST, "a stream request's type is execute, batch, sequence, "
        "describe, store_sql, close_sql, get_autocommit or close");
  }
  if( !replyFailed(&sub) && sqlite3_str_errcode(pOut)==SQLITE_OK
   && sqlite3_str_length(pOut)>DOSQL_MAX_ANSWER_BYTES ){
    replyFail(&sub, 400, DOSQL_RESULT_TOO_LARGE, "the answer would be larger than %d bytes, "
        "so its results are lost; what its statements committed stays: send fewer requests "
        "per pipeline or steps per batch, or select fewer rows", DOSQL_MAX_ANSWER_BYTES);
  }
  if( replyFailed(&sub) ){
    sqlite3_str_truncate(pOut, iMark);
    sqlite3_str_appendall(pOut, "{\"type\":\"error\",\"error\":");
    appendError(pOut, &sub);
    sqlite3_str_appendchar(pOut, 1, '}');
  }else{
    sqlite3_str_appendall(pOut, "}}");
  }
  replyEndSharing(&sub);
}

/*
** A page fault stopped the pipeline at request iResume (inner: how far that
** one came, whose allocations pending takes): keep its body, its stream and
** the results before that request (text from iFrom to iTo of pOut), to
** resume when the host calls again (hrana.h).
*/
static void keepPending(Conn *pConn, const cJSON *pBody, const HranaStream *s, int iResume,
                        Progress *pInner, sqlite3_str *pOut, int iFrom, int iTo){
  pendingFree(&pending);
  pending.bForeignKeys = guardForeignKeysOn(pConn);
  dosqlSaveSettings(pConn->db, &pending.settings);
  pending.id = s->id;
  pending.iResume = iResume;
  pending.inner = *pInner;
  memset(pInner, 0, sizeof(*pInner));
  pending.pBody = cJSON_Duplicate(pBody, 1);
  pending.zDone = textAt(sqlite3_str_value(pOut), iFrom, iTo - iFrom);
  if( pending.pBody==0 || pending.zDone==0
   || (pending.inner.nOutcome>0 && (pending.inner.aOutcome==0 || pending.inner.zResults==0 || pending.inner.zErrors==0)) ){
    unsigned id = pending.id;
    int i = pending.iResume;
    pendingFree(&pending);
    pending.id = id;              /* the retry fails (hranaPipeline) */
    pending.iResume = i;
  }
}

/*
** The pipeline failed as a whole after its requests began to run: the client
** gets no results, so the stream ends (a replay of its baton must not run
** anything again), and so does a transaction it held or ran in, so that the
** host's gate, which ends the transaction on TRANSACTION_ABORTED, and C agree.
*/
static void failPipeline(Conn *pConn, Reply *pReply, HranaStream *s, int bInTransaction){
  if( pConn->bInteractive ) connRollback(pConn);
  if( bInTransaction || s->bTx ){
    replyAmend(pReply, pReply->status>=500 ? pReply->status : 409, DOSQL_TRANSACTION_ABORTED,
               "; the stream's transaction was rolled back");
  }
  hranaStreamFree(s);
}

void hranaPipeline(Conn *pConn, Reply *pReply, const cJSON *pBody){
  const cJSON *pRequests = pipelineRequests(pReply, pBody);
  sqlite3_str *pOut = replyBody(pReply);
  double msNow = dosql_host_now_ms();
  int bInTransaction = pConn->bInteractive;
  const cJSON *pReq;
  HranaStream *s;
  Pending resume;
  Progress stopped, begun;      /* where a fault stopped; where this pipeline's BEGIN is */
  HranaSql *pSqlAtBegin = 0;    /* the stream's stored SQL at that BEGIN */
  int i, bNew, bClosed = 0, iState, iResults, iBegin = -1, iBeginMark = 0;
  char *zBody;
  memset(&resume, 0, sizeof(resume));
  memset(&stopped, 0, sizeof(stopped));
  memset(&begun, 0, sizeof(begun));
  if( pConn->bRetry ){
    resume = pending;           /* ours now; freed below */
    memset(&pending, 0, sizeof(pending));
  }
  pendingFree(&pending);
  if( pRequests==0 ) goto done;
  hranaStreamsExpire(pConn, msNow);
  s = hranaStreamOfBaton(pConn, pReply, cJSON_GetObjectItemCaseSensitive(pBody, "baton"), &bNew);
  if( s==0 && !bNew ) goto done;
  if( resume.id && resume.pBody==0 ){
    HranaStream *pLost = hranaStreamOfId(resume.id);
    if( pLost ) hranaStreamFree(pLost);
    replyFail(pReply, 400, DOSQL_HEAP_LIMIT, "out of memory keeping a pipeline that a page fault "
        "stopped: its stream has ended, and its requests before request %d may have run", resume.iResume);
    goto done;
  }
  if( resume.id && !cJSON_Compare(resume.pBody, pBody, 1) ) pendingFree(&resume);   /* not the same call */
  if( resume.id ){
    s = hranaStreamOfId(resume.id);
    guardSetForeignKeys(pConn, resume.bForeignKeys);
    dosqlRestoreSettings(pConn->db, &resume.settings);
  }
  if( s==0 ) s = hranaStreamNew(pConn, msNow);

  iState = sqlite3_str_length(pOut);
  sqlite3_str_appendall(pOut, "A{\"results\":[");   /* the state byte is set below */
  iResults = sqlite3_str_length(pOut);
  if( resume.zDone ) sqlite3_str_appendall(pOut, resume.zDone);
  for(i=0, pReq=pRequests->child; pReq; i++, pReq=pReq->next){
    int iMark = sqlite3_str_length(pOut), bHeld = hranaStreamHoldsTransaction(pConn, s);
    Progress begunHere;
    if( i<resume.iResume ) continue;
    memset(&begunHere, 0, sizeof(begunHere));
    if( answerCrowdsHeap(pOut) ){
      replyFail(pReply, 400, DOSQL_HEAP_LIMIT, "the pipeline's answer would not fit in memory: "
          "its requests before request %d ran (what they committed outside a transaction stays), "
          "that one and those after it did not; the stream has ended: send fewer requests per pipeline", i);
      failPipeline(pConn, pReply, s, bInTransaction);
      goto done;
    }
    if( i ) sqlite3_str_appendchar(pOut, 1, ',');
    runRequest(pConn, pReply, s, pReq, &bClosed, i==resume.iResume ? &resume.inner : 0, &stopped, &begunHere);
    if( !bHeld && hranaStreamHoldsTransaction(pConn, s) ){
      int rc;
      progressFree(&begun);
      begun = begunHere;
      iBegin = i;
      iBeginMark = iMark;
      /* A request that began a transaction is never a store_sql or close_sql. */
      hranaSqlFree(pSqlAtBegin);
      pSqlAtBegin = hranaSqlSnapshot(s, &rc);
      if( rc!=SQLITE_OK ){
        replyFail(pReply, 400, DOSQL_HEAP_LIMIT, "out of memory keeping the stream's stored SQL");
        failPipeline(pConn, pReply, s, bInTransaction);
        goto done;
      }
    }else{
      progressFree(&begunHere);
    }
    if( dosqlVfsFaulted() ){
      /* connFinish answers the fault. Outside a transaction the call again
      ** resumes where it stopped. Inside one begun in this pipeline, all of it
      ** is undone and the call again resumes at its BEGIN. Inside one begun
      ** before, connFinish ends it, and the stream with it (TRANSACTION_ABORTED). */
      if( !pConn->bInteractive ){
        keepPending(pConn, pBody, s, i, &stopped, pOut, iResults, iMark);
      }else if( iBegin>=0 ){
        connRollback(pConn);
        s->bTx = 0;
        hranaSqlRestore(s, pSqlAtBegin);
        pSqlAtBegin = 0;
        keepPending(pConn, pBody, s, iBegin, &begun, pOut, iResults, iBeginMark);
      }
      goto done;
    }
    if( sqlite3_str_errcode(pOut)!=SQLITE_OK ){
      /* The answer so far is lost (sqlite3_str frees it): say which requests ran. */
      replyFail(pReply, 400, DOSQL_HEAP_LIMIT, "the pipeline's answer did not fit in memory at request %d: "
          "it and the requests before it ran (what they committed outside a transaction stays), those "
          "after it did not; the stream has ended: send fewer requests per pipeline", i);
      failPipeline(pConn, pReply, s, bInTransaction);
      goto done;
    }
    if( transactionLost(pConn, s) ){
      /* As its statement failed (the CPU budget, memory, an I/O error). */
      if( pConn->zEndedTx ){
        replyFail(pReply, 409, pConn->zEndedTxCode, "%s", pConn->zEndedTx);
      }else{
        replyFail(pReply, 409, DOSQL_TRANSACTION_ABORTED, "SQLite rolled the stream's transaction back");
      }
      failPipeline(pConn, pReply, s, bInTransaction);
      goto done;
    }
  }
  sqlite3_str_appendall(pOut, "],\"baton\":");
  if( bClosed ){
    sqlite3_str_appendall(pOut, "null");
  }else{
    s->seq++;                   /* the baton below is the only one good next */
    hranaAppendBaton(pOut, s);
  }
  sqlite3_str_appendall(pOut, ",\"base_url\":null}");
  if( sqlite3_str_errcode(pOut)!=SQLITE_OK ){
    connFail(pConn, pReply, SQLITE_NOMEM);
    failPipeline(pConn, pReply, s, bInTransaction);
    goto done;
  }
  zBody = sqlite3_str_value(pOut);
  zBody[iState] = hranaStreamHoldsTransaction(pConn, s) ? HRANA_HOLDS_TRANSACTION : 'A';
  s->msUsed = msNow;
  if( bClosed ) hranaStreamFree(s);
done:
  hranaSqlFree(pSqlAtBegin);
  pendingFree(&resume);
  progressFree(&stopped);
  progressFree(&begun);
}
