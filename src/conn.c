/*
** conn.c — the one connection: opening it, running statements, transactions,
** and mapping failures to replies (see conn.h).
*/
#include <string.h>

#include "bytes.h"
#include "changelog.h"
#include "config.h"
#include "conn.h"
#include "errors.h"
#include "guard.h"
#include "internal.h"
#include "json.h"
#include "sqlite/unit.h"
#include "vfs.h"

/* The database's name inside the VFS (there is only one). */
#define DOSQL_DB_NAME "dosql.db"

int connIsOpen(const Conn *p){
  return p->db!=0;
}

/* Finalize every kept statement. */
static void connForgetStatements(Conn *p){
  while( p->nCache>0 ) sqlite3_finalize(p->apCache[--p->nCache]);
}

/* The stored size, or the reply says why: a fault of page 1, or the error. */
static int connStoredSize(Conn *p, Reply *pReply, uint32_t aSize[2]){
  int rc = sqlite3_file_control(p->db, "main", DOSQL_FCNTL_SIZE, aSize);
  if( rc!=SQLITE_OK ){
    DosqlFaults faults;
    dosqlVfsTakeFaults(&faults);
    if( faults.nPage>0 ) replyFault(pReply, faults.aPage, faults.nPage, 0);
    else connFail(p, pReply, rc);
  }
  return rc;
}

void connAnswerSize(Conn *p, Reply *pReply){
  uint32_t aSize[2] = { 0, 0 };
  if( connStoredSize(p, pReply, aSize)!=SQLITE_OK ) return;
  sqlite3_str_appendf(replyBody(pReply), "{\"pageSize\":%u,\"pageCount\":%u", aSize[0], aSize[1]);
  if( p->bView ) sqlite3_str_appendf(replyBody(pReply), ",\"lsn\":%lld", (sqlite3_int64)p->lsnView);
  sqlite3_str_appendchar(replyBody(pReply), 1, '}');
}

void connNoteEndedTransaction(Conn *p, int rc, const Reply *pReply){
  p->rcEndedTx = rc;
  p->zEndedTxCode = pReply->zCode;
  sqlite3_free(p->zEndedTx);
  p->zEndedTx = pReply->zError ? sqlite3_mprintf("%s", pReply->zError) : 0;
}

void connStartRequest(Conn *p, unsigned nCpuMs){
  p->zDenied = 0;
  if( p->bSchemaTouched && p->db && sqlite3_get_autocommit(p->db) ){
    /* The schema action's transaction has ended: statements may be kept again. */
    connForgetStatements(p);
    p->bSchemaTouched = 0;
  }
  if( p->bRetry ) budgetResume(&p->budget);
  else budgetStart(&p->budget, budgetUnitsForMs(nCpuMs ? nCpuMs : (unsigned)p->nCpuBudgetMs));
  if( p->db ) dosqlAllowFlattening(p->db);   /* guard.c may have stopped it for a statement */
}

void connFail(Conn *p, Reply *pReply, int rc){
  if( p->budget.bSpent ){
    replyFail(pReply, 400, DOSQL_CPU_LIMIT,
        "the request used up its CPU budget (%d ms) and was stopped: add an index or a "
        "LIMIT, work on smaller strings, or split the work", p->nCpuBudgetMs);
  }else if( (rc & 0xff)==SQLITE_NOMEM ){
    connForgetStatements(p);   /* their heap is the next request's */
    replyFail(pReply, 400, DOSQL_HEAP_LIMIT,
        "out of memory: the request needs more than the %d MiB SQLite may use",
        DOSQL_HEAP_LIMIT_BYTES/(1024*1024));
  }else if( (rc & 0xff)==SQLITE_FULL ){
    /* Storage running out is the host's commit failing (SQLITE_IOERR): SQLite's
    ** "database or disk is full" is a limit the database sets itself. */
    replyFail(pReply, dosqlResultStatus(rc), dosqlResultName(rc),
        "%s, but not storage: a limit of the database's own was reached, its "
        "PRAGMA max_page_count (which a request set), or the rowids of an "
        "AUTOINCREMENT table (past 9223372036854775807)", sqlite3_errmsg(p->db));
  }else if( p->zDenied && ((rc & 0xff)==SQLITE_AUTH
         || sqlite3_strglob("not authorized to use function: *", sqlite3_errmsg(p->db))==0) ){
    /* A function the guard refused fails as SQLite's compile errors do
    ** (SQLITE_ERROR): it is the same refusal as any other. */
    replyFail(pReply, dosqlResultStatus(SQLITE_AUTH), dosqlResultName(SQLITE_AUTH),
        "%s: %s", sqlite3_errmsg(p->db), p->zDenied);
  }else{
    /* SQLite's message is of its own last error; an error of ours (the
    ** capture's, a check's) that no SQLite call gave has SQLite's text. */
    int bSqlites = p->db && (sqlite3_errcode(p->db) & 0xff)==(rc & 0xff);
    const char *zMsg = bSqlites ? sqlite3_errmsg(p->db) : sqlite3_errstr(rc);
    int nMsg = replyCutLength(zMsg, -1, REPLY_MESSAGE_BYTES);
    replyFail(pReply, dosqlResultStatus(rc), dosqlResultName(rc), "%.*s%s",
        nMsg, zMsg, zMsg[nMsg] ? "..." : "");
  }
}

/* Step an internal statement to completion. */
static int connStepTrusted(Conn *p, sqlite3_stmt *pStmt){
  int rc;
  p->bTrusted = 1;
  p->budget.nExempt++;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
  p->budget.nExempt--;
  p->bTrusted = 0;
  sqlite3_reset(pStmt);
  return rc==SQLITE_DONE ? SQLITE_OK : rc;
}

int connRefuseScriptParams(Reply *pReply, sqlite3_stmt *pStmt, const char *zInstead){
  int n = sqlite3_bind_parameter_count(pStmt);
  if( n==0 ) return 0;
  replyFail(pReply, 400, DOSQL_BAD_PARAMS, "a script binds no params, and a statement of it "
      "has %d (?, ?NNN, :name or @name): %s", n, zInstead);
  return 1;
}

int connExecTrusted(Conn *p, const char *zSql){
  int rc;
  p->bTrusted = 1;
  p->budget.nExempt++;
  rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  p->budget.nExempt--;
  p->bTrusted = 0;
  return rc;
}

static int connPrepareTrusted(Conn *p, const char *zSql, sqlite3_stmt **ppStmt){
  int rc;
  p->bTrusted = 1;
  rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT, ppStmt, 0);
  p->bTrusted = 0;
  return rc;
}

int connCheckTables(Conn *p, char **pzWhy){
  sqlite3_stmt *pList = 0;
  int rc;
  *pzWhy = 0;
  rc = connPrepareTrusted(p, "SELECT name FROM main.sqlite_schema WHERE type='table'", &pList);
  while( rc==SQLITE_OK && *pzWhy==0 ){
    const char *zName;
    char *zSql;
    sqlite3_stmt *pProbe = 0;
    /* A list cut short (the budget spent, a damaged page) fails the check:
    ** the tables after it are not known to read. */
    rc = sqlite3_step(pList);
    if( rc!=SQLITE_ROW ){
      if( rc==SQLITE_DONE ) rc = SQLITE_OK;
      break;
    }
    rc = SQLITE_OK;
    zName = (const char*)sqlite3_column_text(pList, 0);
    /* Every column: a generated one is computed by an expression of its own. */
    zSql = sqlite3_mprintf("SELECT * FROM main.\"%w\" LIMIT 0", zName ? zName : "");
    if( zSql==0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    /* Preparing connects a virtual table to its module. */
    p->bTrusted = 1;
    rc = sqlite3_prepare_v2(p->db, zSql, -1, &pProbe, 0);
    p->bTrusted = 0;
    if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM ){
      *pzWhy = sqlite3_mprintf("its table %s cannot be read here (%s)", zName, sqlite3_errmsg(p->db));
      rc = *pzWhy ? SQLITE_OK : SQLITE_NOMEM;
    }
    sqlite3_finalize(pProbe);
    sqlite3_free(zSql);
  }
  sqlite3_finalize(pList);
  return rc;
}

/* The value of a PRAGMA that answers one integer, its statement kept in *ppStmt.
** A PRAGMA, as no table or view of the user's can stand in for it (one named
** pragma_page_count would for the table-valued function, and run trusted). */
static int connPragmaValue(Conn *p, sqlite3_stmt **ppStmt, const char *zPragma, sqlite3_int64 *pnValue){
  int rc = *ppStmt ? SQLITE_OK : connPrepareTrusted(p, zPragma, ppStmt);
  if( rc!=SQLITE_OK ) return rc;
  p->bTrusted = 1;
  rc = sqlite3_step(*ppStmt);
  p->bTrusted = 0;
  *pnValue = rc==SQLITE_ROW ? sqlite3_column_int64(*ppStmt, 0) : 0;
  if( rc==SQLITE_ROW ) rc = SQLITE_OK;
  sqlite3_reset(*ppStmt);
  return rc;
}

int connDatabaseBytes(Conn *p, Reply *pReply, int bStored, sqlite3_int64 *pnBytes){
  sqlite3_int64 nPages = 0, szPage = 0;
  int rc;
  if( bStored ){
    uint32_t aSize[2] = { 0, 0 };
    rc = connStoredSize(p, pReply, aSize);
    *pnBytes = (sqlite3_int64)aSize[0]*aSize[1];
    return rc;
  }
  rc = connPragmaValue(p, &p->pPageCount, "PRAGMA main.page_count", &nPages);
  if( rc==SQLITE_OK ) rc = connPragmaValue(p, &p->pPageSize, "PRAGMA main.page_size", &szPage);
  *pnBytes = nPages*szPage;
  if( rc!=SQLITE_OK ) connFail(p, pReply, rc);
  return rc;
}

/* Take the kept statement of exactly zSql out of the cache, or 0. After a
** schema action, nothing is kept or reused until a request starts with its
** transaction ended (connStartRequest): a rollback can still bring the older
** schema back. */
static sqlite3_stmt *connTakeKept(Conn *p, const char *zSql){
  int i;
  if( p->bSchemaTouched ){
    connForgetStatements(p);
    return 0;
  }
  for(i=0; i<p->nCache; i++){
    sqlite3_stmt *pStmt = p->apCache[i];
    if( strcmp(sqlite3_sql(pStmt), zSql)==0 ){
      p->nCache--;
      memmove(&p->apCache[i], &p->apCache[i+1], (size_t)(p->nCache-i)*sizeof(pStmt));
      return pStmt;
    }
  }
  return 0;
}

/* Whether pStmt, just prepared from zSql, may be kept (conn.h). Only a text
** that is the statement's whole text can ever be asked for again; a large one
** (big literals) would hold heap that later requests need. */
static int connMayKeep(Conn *p, sqlite3_stmt *pStmt, const char *zSql){
  return DOSQL_STATEMENT_CACHE>0
      && !p->bSchemaTouched && !guardMayChangeSchema(p) && !guardIsSavepoint(p)
      && !guardTransactionStatement(p) && !guardExplainedTransactionStatement(p)
      && !guardSetsForeignKeys(p)
      && sqlite3_stmt_status(pStmt, SQLITE_STMTSTATUS_MEMUSED, 0)<=DOSQL_STATEMENT_MAX_BYTES
      && strcmp(sqlite3_sql(pStmt), zSql)==0;
}

void connFinalize(Conn *p, sqlite3_stmt *pStmt){
  if( pStmt==0 ) return;
  if( pStmt!=p->pCacheable || p->bSchemaTouched ){
    if( pStmt==p->pCacheable ) p->pCacheable = 0;
    sqlite3_finalize(pStmt);
    return;
  }
  p->pCacheable = 0;
  sqlite3_reset(pStmt);
  sqlite3_clear_bindings(pStmt);
  if( p->nCache==DOSQL_STATEMENT_CACHE ) sqlite3_finalize(p->apCache[--p->nCache]);
  memmove(&p->apCache[1], &p->apCache[0], (size_t)p->nCache*sizeof(pStmt));
  p->apCache[0] = pStmt;
  p->nCache++;
}

void connClose(Conn *p){
  connForgetStatements(p);
  p->bSchemaTouched = 0;
  captureClose(p);
  sqlite3_finalize(p->pBegin);
  sqlite3_finalize(p->pCommit);
  sqlite3_finalize(p->pRollback);
  sqlite3_finalize(p->pPageCount);
  sqlite3_finalize(p->pPageSize);
  sqlite3_close(p->db);
  p->db = 0;
  guardEndForeignKeys(p, 1);   /* a request it ended: what it counted */
  sqlite3_free(p->zEndedTx);
  memset(p, 0, sizeof(*p));
}

/* Refuse a database whose internal tables are not the engine's, create those
** missing and bring those of an earlier release up to date (internal.h): writes
** of the engine's own, which no user's changes() or total_changes() counts. */
static int connCheckInternal(Conn *p, Reply *pReply){
  char *zWhy = 0;
  int bComplete = 0;
  int rc = internalCheckSchema(p, &zWhy, &bComplete);
  /* A database opened before has them all, and no first-release log. */
  if( rc==SQLITE_OK && zWhy==0 && !bComplete ){
    DosqlChangeCounts counts;
    dosqlSaveChangeCounts(p->db, &counts);
    rc = internalCreate(p);
    if( rc==SQLITE_OK ) rc = internalUpgrade(p, &zWhy);
    dosqlRestoreChangeCounts(p->db, &counts);
  }
  if( rc==SQLITE_OK && zWhy ){
    replyFail(pReply, 500, DOSQL_UNSAFE_SCHEMA, "the database cannot be opened: %s", zWhy);
    rc = SQLITE_AUTH;
  }
  sqlite3_free(zWhy);
  return rc;
}

int connOpen(Conn *p, unsigned pageSize, int bCapture, unsigned nCpuBudgetMs, Reply *pReply){
  char *zSettings;
  int rc;
  if( p->db ) return SQLITE_OK;
  if( pageSize==0 ) pageSize = DOSQL_DEFAULT_PAGE_SIZE;
  if( nCpuBudgetMs==0 ) nCpuBudgetMs = DOSQL_CPU_BUDGET_MS;
  if( !dosqlValidPageSize(pageSize) ){
    replyFail(pReply, 500, DOSQL_BAD_CONFIG,
        "page size %u (the pageSize option, or DOSQL_PAGE_SIZE) is not a power of two "
        "from 512 to 65536", pageSize);
    return SQLITE_MISUSE;
  }
  if( nCpuBudgetMs>DOSQL_MAX_CPU_BUDGET_MS ){
    replyFail(pReply, 500, DOSQL_BAD_CONFIG,
        "a CPU budget of %u ms (the cpuBudgetMs option, or DOSQL_CPU_BUDGET_MS) is more "
        "than the most allowed, %d ms", nCpuBudgetMs,
        DOSQL_MAX_CPU_BUDGET_MS);
    return SQLITE_MISUSE;
  }
  p->nCpuBudgetMs = (int)nCpuBudgetMs;
  /* Opening reads the schema and runs trusted SQL: migrations' allowance. */
  budgetStart(&p->budget, budgetUnitsForMs(DOSQL_MIGRATION_CPU_MS));
  rc = sqlite3_open_v2(DOSQL_DB_NAME, &p->db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE, 0);
  if( rc==SQLITE_OK ) dosqlSaveSettings(p->db, &p->settings);
  if( rc==SQLITE_OK ) rc = sqlite3_extended_result_codes(p->db, 1);
  if( rc==SQLITE_OK ) rc = dosqlMeterBuiltins();   /* once, after SQLite's initialize */
  if( rc==SQLITE_OK ) rc = budgetAttach(p->db, &p->budget);
  if( rc==SQLITE_OK ) rc = guardInstall(p);
  if( rc==SQLITE_OK ){
    /* journal_mode=MEMORY: vfs.c commits in xSync, once per transaction.
    ** page_size matters only to a database with no pages yet; page_size=0
    ** then forgets it as the size VACUUM rebuilds at, so that VACUUM keeps the
    ** database's own (an imported file's, or the pageSize of the database's
    ** first start): storage keeps pages of one size for good. */
    zSettings = sqlite3_mprintf(
        "PRAGMA page_size=%u; PRAGMA page_size=0; PRAGMA cache_size=-%d; PRAGMA journal_mode=MEMORY;",
        pageSize, DOSQL_CACHE_KIB);
    rc = zSettings ? connExecTrusted(p, zSettings) : SQLITE_NOMEM;
    sqlite3_free(zSettings);
  }
  if( rc==SQLITE_OK ) rc = connCheckInternal(p, pReply);
  if( rc==SQLITE_OK ) rc = changelogLoadNumbers(p);
  if( rc==SQLITE_OK ) rc = captureInstall(p, bCapture);
  if( rc==SQLITE_OK ) rc = connPrepareTrusted(p, "BEGIN", &p->pBegin);
  if( rc==SQLITE_OK ) rc = connPrepareTrusted(p, "COMMIT", &p->pCommit);
  if( rc==SQLITE_OK ) rc = connPrepareTrusted(p, "ROLLBACK", &p->pRollback);
  if( rc!=SQLITE_OK ){
    if( !replyFailed(pReply) ) connFail(p, pReply, rc);
    connFinish(p, pReply);
    connClose(p);
  }
  return rc;
}

int connOpenView(Conn *p, double lsn, unsigned nCpuBudgetMs, Reply *pReply){
  char *zName = dosqlVfsViewName(lsn);
  char *zSettings = sqlite3_mprintf("PRAGMA query_only=1; PRAGMA cache_size=-%d;", DOSQL_CACHE_KIB);
  int rc = zName && zSettings ? SQLITE_OK : SQLITE_NOMEM;
  p->bView = 1;
  p->lsnView = lsn;
  p->nCpuBudgetMs = (int)(nCpuBudgetMs ? nCpuBudgetMs : DOSQL_CPU_BUDGET_MS);
  budgetStart(&p->budget, budgetUnitsForMs((unsigned)p->nCpuBudgetMs));
  if( rc==SQLITE_OK ) rc = sqlite3_open_v2(zName, &p->db, SQLITE_OPEN_READONLY, 0);
  if( rc==SQLITE_OK ) dosqlSaveSettings(p->db, &p->settings);
  if( rc==SQLITE_OK ) rc = sqlite3_extended_result_codes(p->db, 1);
  if( rc==SQLITE_OK ) rc = budgetAttach(p->db, &p->budget);
  if( rc==SQLITE_OK ) rc = guardInstall(p);
  if( rc==SQLITE_OK ) rc = connExecTrusted(p, zSettings);
  if( rc==SQLITE_OK ) rc = connPrepareTrusted(p, "BEGIN", &p->pBegin);
  if( rc==SQLITE_OK ) rc = connPrepareTrusted(p, "COMMIT", &p->pCommit);
  if( rc==SQLITE_OK ) rc = connPrepareTrusted(p, "ROLLBACK", &p->pRollback);
  sqlite3_free(zName);
  sqlite3_free(zSettings);
  if( rc!=SQLITE_OK ){
    connFail(p, pReply, rc);
    connFinish(p, pReply);
    connClose(p);
  }
  return rc;
}

/* Whether zTail, the text after a statement, holds another one: anything but
** blanks, comments and semicolons (a tail SQLite fails to prepare counts). The
** authorizer refuses whatever it holds (CONN_PARSE_ALL): the request is refused,
** and a PRAGMA, which SQLite applies as it prepares it, must change nothing. */
static int tailHoldsStatement(Conn *p, const char *zTail){
  sqlite3_stmt *pNext = 0;
  int bHolds = 0;
  p->eParseOnly = CONN_PARSE_ALL;
  while( !bHolds && zTail && *zTail ){
    int rc = sqlite3_prepare_v3(p->db, zTail, -1, 0, &pNext, &zTail);
    sqlite3_finalize(pNext);
    bHolds = rc!=SQLITE_OK || pNext!=0;
  }
  p->eParseOnly = 0;
  return bHolds;
}

static int failMultipleStatements(Reply *pReply){
  replyFail(pReply, 400, DOSQL_MULTIPLE_STATEMENTS,
      "sql holds more than one statement: send one per query, or several as a "
      "batch (db.batch(), /batch) or a script (db.exec(), /exec; a libSQL client's "
      "executeMultiple())");
  return SQLITE_MISUSE;
}

/* A PRAGMA that sets a value, explained (EXPLAIN, EXPLAIN QUERY PLAN) or only
** described: SQLite would apply the setting as it prepared the statement, which
** neither runs. */
static int failUnrunSetting(Reply *pReply){
  replyFail(pReply, dosqlResultStatus(SQLITE_AUTH), dosqlResultName(SQLITE_AUTH),
      "not authorized: a PRAGMA that sets a value may not be explained or described: "
      "SQLite applies the setting as it prepares the statement, so doing so would change "
      "it; explain or describe the PRAGMA that reads it, or run the PRAGMA itself");
  return SQLITE_AUTH;
}

/*
** Prepare the first statement of zSql as user SQL, with prepFlags; bWhole: it
** must be all of zSql (else MULTIPLE_STATEMENTS). A PRAGMA that sets a value
** (SQLite applies it as it prepares it) is left out the first time, which tells
** where it ends and whether it is explained: it is prepared again, and takes
** effect, only when it is to run (neither explained nor only described). A
** statement the engine refuses whole (a setting that would not run, VACUUM INTO)
** fails the reply itself and sets *pbAnswered; else SQLite's result.
*/
static int prepareUserStatement(Conn *p, Reply *pReply, const char *zSql, unsigned prepFlags,
                                int bWhole, sqlite3_stmt **ppStmt, const char **pzTail, int *pbAnswered){
  int rc;
  p->eParseOnly = CONN_PARSE_SETTINGS;
  p->bSettingDeferred = 0;
  rc = sqlite3_prepare_v3(p->db, zSql, -1, prepFlags, ppStmt, pzTail);
  p->eParseOnly = 0;
  if( p->bSettingDeferred ){
    int bExplained = *ppStmt && sqlite3_stmt_isexplain(*ppStmt);
    sqlite3_finalize(*ppStmt);
    *ppStmt = 0;
    *pbAnswered = 1;
    if( bWhole && tailHoldsStatement(p, *pzTail) ) return failMultipleStatements(pReply);
    if( bExplained || p->bDescribeOnly ) return failUnrunSetting(pReply);
    *pbAnswered = 0;
    rc = sqlite3_prepare_v3(p->db, zSql, -1, prepFlags, ppStmt, pzTail);
  }
  if( rc==SQLITE_OK && *ppStmt && dosqlIsVacuumInto(*ppStmt) ){
    /* Refused as it is prepared, as any other: SQLite's own check of where it
    ** runs (not inside a transaction) would answer before the guard saw it. */
    sqlite3_finalize(*ppStmt);
    *ppStmt = 0;
    *pbAnswered = 1;
    replyFail(pReply, dosqlResultStatus(SQLITE_AUTH), dosqlResultName(SQLITE_AUTH),
        "not authorized: %s", GUARD_VACUUM_INTO);
    return SQLITE_AUTH;
  }
  return rc;
}

int connRunNextStatement(Conn *p, Reply *pReply, const char **pzSql, const char *zNoParams,
                         int *pbPrepared, int *pbStatement){
  sqlite3_stmt *pStmt = 0;
  const char *zTail = 0;
  int rc;
  int bAnswered = 0;
  p->bScriptSql = 1;
  rc = prepareUserStatement(p, pReply, *pzSql, 0, 0, &pStmt, &zTail, &bAnswered);
  p->bScriptSql = 0;
  *pbPrepared = rc==SQLITE_OK || bAnswered;
  *pbStatement = pStmt!=0;
  if( pStmt && connRefuseScriptParams(pReply, pStmt, zNoParams) ){
    sqlite3_finalize(pStmt);
    return SQLITE_RANGE;
  }
  if( pStmt ){
    while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
    /* Each statement's changes are logged with the columns its table has
    ** when it ends: a later statement of the script may alter the table. */
    if( rc==SQLITE_DONE ) rc = captureFlush(p);
    else captureDiscard(p);
    sqlite3_finalize(pStmt);
  }
  if( rc==SQLITE_OK ) *pzSql = zTail;
  return rc;
}

int connPrepareNext(Conn *p, Reply *pReply, const char *zSql, sqlite3_stmt **ppStmt, const char **pzTail){
  int bAnswered = 0;
  return prepareUserStatement(p, pReply, zSql, 0, 0, ppStmt, pzTail, &bAnswered);
}

int connPrepareOne(Conn *p, Reply *pReply, const char *zSql, sqlite3_stmt **ppStmt){
  const char *zTail = 0;
  int rc;
  int bAnswered = 0;
  /* A statement only described is prepared anew: a kept one was checked as one to run. */
  p->pCacheable = *ppStmt = p->bDescribeOnly ? 0 : connTakeKept(p, zSql);
  if( *ppStmt ) return SQLITE_OK;
  rc = prepareUserStatement(p, pReply, zSql, SQLITE_PREPARE_PERSISTENT, 1, ppStmt, &zTail, &bAnswered);
  if( bAnswered ) return rc;
  if( rc!=SQLITE_OK ){
    connFail(p, pReply, rc);
    /* A BEGIN, COMMIT or ROLLBACK refused is answered TRANSACTION_STATEMENT, and a
    ** client acts on that answer (the D1 facade sends /begin for it): it must be the
    ** whole text, or the statements after it would be dropped unrun. */
    if( guardTransactionStatement(p) && tailHoldsStatement(p, zTail) ){
      sqlite3_free(pReply->zError);
      pReply->zError = 0;
      pReply->zCode = 0;
      return failMultipleStatements(pReply);
    }
    return rc;
  }
  if( *ppStmt==0 ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "sql holds no statement");
    return SQLITE_MISUSE;
  }
  /* Only comments, blanks and semicolons may follow. */
  if( tailHoldsStatement(p, zTail) ){
    sqlite3_finalize(*ppStmt);
    *ppStmt = 0;
    return failMultipleStatements(pReply);
  }
  if( connMayKeep(p, *ppStmt, zSql) ) p->pCacheable = *ppStmt;
  return SQLITE_OK;
}

static int failResultTooLarge(Reply *pReply){
  replyFail(pReply, 400, DOSQL_RESULT_TOO_LARGE,
      "the result is larger than %d bytes: select fewer rows or columns "
      "(LIMIT and OFFSET, or keyset pagination)", DOSQL_MAX_RESULT_BYTES);
  return 1;
}

int connResultTooLarge(Conn *p, Reply *pReply){
  sqlite3_str *pOut = replyBody(pReply);
  if( sqlite3_str_errcode(pOut)!=SQLITE_OK ){
    connFail(p, pReply, SQLITE_NOMEM);
    return 1;
  }
  if( sqlite3_str_length(pOut) > DOSQL_MAX_RESULT_BYTES ) return failResultTooLarge(pReply);
  return 0;
}

/* Whether the first nCol columns of pStmt's row take a body of nBefore bytes
** past DOSQL_MAX_RESULT_BYTES, by what any answer writes of them at the least
** (jsonValueLength): looked at only when their bytes, written six for one, would. */
static int rowPastResultLimit(sqlite3_stmt *pStmt, int nCol, sqlite3_int64 nBefore){
  sqlite3_int64 nBytes = 0, nJson = 0;
  int i;
  for(i=0; i<nCol; i++){
    /* Only these: sqlite3_column_bytes() would turn a number into text. */
    int eType = sqlite3_column_type(pStmt, i);
    if( eType==SQLITE_TEXT || eType==SQLITE_BLOB ) nBytes += sqlite3_column_bytes(pStmt, i);
  }
  if( nBefore + 6*nBytes + 2*nCol <= DOSQL_MAX_RESULT_BYTES ) return 0;
  for(i=0; i<nCol; i++) nJson += jsonValueLength(sqlite3_column_value(pStmt, i));
  return nBefore + nJson > DOSQL_MAX_RESULT_BYTES;
}

int connAppendRow(Conn *p, Reply *pReply, sqlite3_stmt *pStmt, int nCol,
                  void (*xWrite)(sqlite3_str *pOut, void *pArg), void *pArg){
  sqlite3_str *pOut = replyBody(pReply);
  if( rowPastResultLimit(pStmt, nCol, sqlite3_str_length(pOut)) ) return failResultTooLarge(pReply);
  xWrite(pOut, pArg);
  return connResultTooLarge(p, pReply);
}

int connBegin(Conn *p, Reply *pReply){
  int rc = connStepTrusted(p, p->pBegin);
  if( rc!=SQLITE_OK ) connFail(p, pReply, rc);
  return rc;
}

int connCommit(Conn *p, Reply *pReply){
  int rc = connStepTrusted(p, p->pCommit);
  if( rc!=SQLITE_OK ) connFail(p, pReply, rc);
  return rc;
}

int connCommitIfAnswered(Conn *p, Reply *pReply){
  if( sqlite3_str_errcode(replyBody(pReply))!=SQLITE_OK ){
    connFail(p, pReply, SQLITE_NOMEM);
    return SQLITE_NOMEM;
  }
  return connCommit(p, pReply);
}

/* The interactive transaction is over: a read-only one makes the connection
** writable again. */
static void connEndTransaction(Conn *p){
  if( p->bReadOnlyTx ) connExecTrusted(p, "PRAGMA query_only=0");
  p->bReadOnlyTx = 0;
  p->rcEndedTx = 0;
  p->zEndedTxCode = 0;
  sqlite3_free(p->zEndedTx);
  p->zEndedTx = 0;
  p->bInteractive = 0;
  p->iTxStream = 0;
}

int connReadOnlyTransaction(Conn *p, Reply *pReply){
  int rc = connExecTrusted(p, "PRAGMA query_only=1");
  if( rc!=SQLITE_OK ) connFail(p, pReply, rc);
  else p->bReadOnlyTx = 1;
  return rc;
}

void connRollback(Conn *p){
  if( p->db==0 ) return;
  if( !sqlite3_get_autocommit(p->db) && p->pRollback ) connStepTrusted(p, p->pRollback);
  /* The cached ROLLBACK may need preparing again (the schema changed), which
  ** can fail for want of memory: then once more, afresh. */
  if( !sqlite3_get_autocommit(p->db) ) connExecTrusted(p, "ROLLBACK");
  sqlite3_file_control(p->db, "main", DOSQL_FCNTL_DISCARD, 0);
  connEndTransaction(p);
  p->bSavepoint = 0;
}

/* connFinish's work on the request's transaction. */
static void connFinishTransaction(Conn *p, Reply *pReply){
  DosqlFaults faults;
  dosqlVfsTakeFaults(&faults);
  captureDiscard(p);       /* changes of a statement that never finished */
  if( p->bInteractive ){
    if( faults.nPage>0 ){
      connRollback(p);
      replyFault(pReply, faults.aPage, faults.nPage, 1);
    }else if( sqlite3_get_autocommit(p->db) ){
      /* SQLite rolled the whole transaction back (a full disk, an I/O error). */
      connRollback(p);
      replyAmend(pReply, 409, DOSQL_TRANSACTION_ABORTED, "; the transaction was rolled back");
    }
    return;
  }
  if( p->db && !replyFailed(pReply) && !sqlite3_get_autocommit(p->db) ){
    /* Every endpoint ends its transactions; one left open is our bug, and
    ** keeping it would let later requests' writes go uncommitted. */
    replyFail(pReply, 500, DOSQL_INTERNAL, "a transaction was left open; it was rolled back");
  }
  if( faults.nPage==0 && !replyFailed(pReply) ) return;
  connRollback(p);
  if( faults.nPage>0 ) replyFault(pReply, faults.aPage, faults.nPage, 0);
}

void connFinish(Conn *p, Reply *pReply){
  connFinishTransaction(p, pReply);
  if( p->db && sqlite3_get_autocommit(p->db) ){
    /* A setting lasts to the end of its request, or of the interactive
    ** transaction it was made in: every other client's request, whichever comes
    ** next, starts with the database's own. */
    guardEndForeignKeys(p, 1);   /* guard.h */
    dosqlRestoreSettings(p->db, &p->settings);
  }
}

int connBeginInteractive(Conn *p, Reply *pReply){
  int rc;
  if( p->bInteractive || !sqlite3_get_autocommit(p->db) ){
    replyFail(pReply, 500, DOSQL_INTERNAL, "a transaction is already open");
    return SQLITE_MISUSE;
  }
  rc = connExecTrusted(p, "BEGIN IMMEDIATE");
  if( rc==SQLITE_OK ){
    rc = captureWarm(p);
    /* A fault here is answered by connFinish (the host retries /begin). */
    if( rc!=SQLITE_OK ) connRollback(p);
  }
  if( rc!=SQLITE_OK ){
    connFail(p, pReply, rc);
    return rc;
  }
  p->bInteractive = 1;
  return SQLITE_OK;
}

int connEndInteractive(Conn *p, Reply *pReply, int bRollback){
  int rc = SQLITE_OK;
  if( !bRollback ){
    rc = connStepTrusted(p, p->pCommit);
    if( rc==SQLITE_OK ){
      connEndTransaction(p);
      return SQLITE_OK;
    }
    /* A COMMIT that faulted (its first write to the VFS rereads page 1, which
    ** the cold tier may hold) is a fault inside the transaction: roll back and
    ** keep bInteractive, so that connFinish answers the final fault that ends
    ** it (503 TRANSACTION_ABORTED). Ended here, the fault would read as one to
    ** retry, and the retried COMMIT would find no transaction open. */
    if( dosqlVfsFaulted() ){
      if( !sqlite3_get_autocommit(p->db) ) connExecTrusted(p, "ROLLBACK");
      return rc;
    }
    /* A COMMIT that fails (a deferred foreign key) ends the transaction too:
    ** say so, so that the host ends it as well. */
    connFail(p, pReply, rc);
    replyAmend(pReply, pReply->status>=500 ? pReply->status : 409, DOSQL_TRANSACTION_ABORTED,
               "; the transaction was rolled back");
  }
  connRollback(p);
  return rc;
}

int connSavepoint(Conn *p, Reply *pReply){
  int rc = connExecTrusted(p, "SAVEPOINT " CONN_SAVEPOINT);
  if( rc!=SQLITE_OK ) connFail(p, pReply, rc);
  p->bSavepoint = rc==SQLITE_OK;
  return rc;
}

void connRelease(Conn *p, Reply *pReply, int bRollback){
  int rc = connExecTrusted(p, bRollback
      ? "ROLLBACK TO " CONN_SAVEPOINT "; RELEASE " CONN_SAVEPOINT : "RELEASE " CONN_SAVEPOINT);
  if( rc!=SQLITE_OK ) connFail(p, pReply, rc);
  p->bSavepoint = 0;
}
