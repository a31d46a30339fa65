/*
** conn.c — the one connection: opening it, running statements, transactions,
** and mapping failures to replies (see conn.h).
*/
#include <string.h>

#include "bytes.h"
#include "config.h"
#include "conn.h"
#include "errors.h"
#include "guard.h"
#include "vfs.h"

/* The database's name inside the VFS (there is only one). */
#define DOSQL_DB_NAME "dosql.db"

/* The engine's own tables (guard.h lists their names). They exist from the
** first open, so a user table can never be renamed into one of them. */
static const char zInternalSchema[] =
  "BEGIN;"                        /* one commit for all, on a new database */
  "CREATE TABLE IF NOT EXISTS _dosql_migrations("
  "  name TEXT PRIMARY KEY,"
  "  checksum TEXT NOT NULL,"
  "  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
  ");"
  "CREATE TABLE IF NOT EXISTS _dosql_changes("      /* capture.h, docs/changes.md */
  "  lsn INTEGER PRIMARY KEY,"
  "  tx_id INTEGER NOT NULL,"
  "  ts INTEGER NOT NULL,"
  "  type TEXT NOT NULL,"
  "  tbl TEXT NOT NULL COLLATE NOCASE,"
  "  data TEXT NOT NULL,"
  "  old TEXT"
  ");"
  "COMMIT;";

int connIsOpen(const Conn *p){
  return p->db!=0;
}

void connStartRequest(Conn *p){
  p->nProgress = 0;
  p->bStepLimit = 0;
  p->zDenied = 0;
}

void connFail(Conn *p, Reply *pReply, int rc){
  if( p->bStepLimit ){
    replyFail(pReply, 400, DOSQL_STEP_LIMIT,
        "the request ran more than %d virtual machine steps: add an index or a LIMIT, "
        "or split the work", DOSQL_MAX_VM_STEPS);
  }else if( (rc & 0xff)==SQLITE_NOMEM ){
    replyFail(pReply, 400, DOSQL_HEAP_LIMIT,
        "out of memory: the request needs more than the %d MiB SQLite may use",
        DOSQL_HEAP_LIMIT_BYTES/(1024*1024));
  }else if( (rc & 0xff)==SQLITE_AUTH && p->zDenied ){
    replyFail(pReply, dosqlResultStatus(rc), dosqlResultName(rc),
        "%s: %s", sqlite3_errmsg(p->db), p->zDenied);
  }else{
    replyFail(pReply, dosqlResultStatus(rc), dosqlResultName(rc), "%s",
        p->db ? sqlite3_errmsg(p->db) : sqlite3_errstr(rc));
  }
}

/* Step an internal statement to completion. */
static int connStepTrusted(Conn *p, sqlite3_stmt *pStmt){
  int rc;
  p->bTrusted = 1;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
  p->bTrusted = 0;
  sqlite3_reset(pStmt);
  return rc==SQLITE_DONE ? SQLITE_OK : rc;
}

/* Run internal SQL (settings at open). */
static int connExecTrusted(Conn *p, const char *zSql){
  int rc;
  p->bTrusted = 1;
  rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
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

void connClose(Conn *p){
  captureClose(p);
  sqlite3_finalize(p->pBegin);
  sqlite3_finalize(p->pCommit);
  sqlite3_finalize(p->pRollback);
  sqlite3_close(p->db);
  memset(p, 0, sizeof(*p));
}

int connOpen(Conn *p, unsigned pageSize, int bCapture, Reply *pReply){
  char *zSettings;
  int rc;
  if( p->db ) return SQLITE_OK;
  if( pageSize==0 ) pageSize = DOSQL_DEFAULT_PAGE_SIZE;
  if( !dosqlValidPageSize(pageSize) ){
    replyFail(pReply, 500, DOSQL_BAD_CONFIG,
        "page size %u is not a power of two from 512 to 65536 (DOSQL_PAGE_SIZE)", pageSize);
    return SQLITE_MISUSE;
  }
  rc = sqlite3_open_v2(DOSQL_DB_NAME, &p->db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_extended_result_codes(p->db, 1);
  if( rc==SQLITE_OK ) rc = guardInstall(p);
  if( rc==SQLITE_OK ){
    /* journal_mode=MEMORY: vfs.c commits in xSync, once per transaction.
    ** page_size matters only to a database with no pages yet. */
    zSettings = sqlite3_mprintf(
        "PRAGMA page_size=%u; PRAGMA cache_size=-%d; PRAGMA journal_mode=MEMORY;",
        pageSize, DOSQL_CACHE_KIB);
    rc = zSettings ? connExecTrusted(p, zSettings) : SQLITE_NOMEM;
    sqlite3_free(zSettings);
  }
  if( rc==SQLITE_OK ) rc = connExecTrusted(p, zInternalSchema);
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

int connPrepareOne(Conn *p, Reply *pReply, const char *zSql, sqlite3_stmt **ppStmt){
  const char *zTail = 0;
  sqlite3_stmt *pNext = 0;
  int rc = sqlite3_prepare_v3(p->db, zSql, -1, 0, ppStmt, &zTail);
  if( rc!=SQLITE_OK ){
    connFail(p, pReply, rc);
    return rc;
  }
  if( *ppStmt==0 ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "sql holds no statement");
    return SQLITE_MISUSE;
  }
  /* Only comments, blanks and semicolons may follow. */
  while( zTail && *zTail ){
    rc = sqlite3_prepare_v3(p->db, zTail, -1, 0, &pNext, &zTail);
    if( rc!=SQLITE_OK || pNext ){
      sqlite3_finalize(pNext);
      sqlite3_finalize(*ppStmt);
      *ppStmt = 0;
      replyFail(pReply, 400, DOSQL_MULTIPLE_STATEMENTS,
          "sql holds more than one statement: send one per operation "
          "(or several operations to /transaction)");
      return SQLITE_MISUSE;
    }
  }
  return SQLITE_OK;
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

/* Roll back whatever is open and drop uncommitted pages: what SQLite's
** rollback wrote back equals what storage holds. */
static void connRollback(Conn *p){
  if( p->db==0 ) return;
  if( !sqlite3_get_autocommit(p->db) && p->pRollback ) connStepTrusted(p, p->pRollback);
  sqlite3_file_control(p->db, "main", DOSQL_FCNTL_DISCARD, 0);
  p->bInteractive = 0;
  p->bSavepoint = 0;
}

void connFinish(Conn *p, Reply *pReply){
  DosqlFaults faults;
  dosqlVfsTakeFaults(&faults);
  captureDiscard(p);       /* changes of a statement that never finished */
  if( p->bInteractive ){
    if( faults.nPage>0 ){
      connRollback(p);
      replyFault(pReply, faults.aPage, faults.nPage);
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
  if( faults.nPage>0 ) replyFault(pReply, faults.aPage, faults.nPage);
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
      p->bInteractive = 0;
      return SQLITE_OK;
    }
    connFail(p, pReply, rc);
  }
  connRollback(p);
  return rc;
}

int connSavepoint(Conn *p, Reply *pReply){
  int rc = connExecTrusted(p, "SAVEPOINT dosql_batch");
  if( rc!=SQLITE_OK ) connFail(p, pReply, rc);
  p->bSavepoint = rc==SQLITE_OK;
  return rc;
}

void connRelease(Conn *p, Reply *pReply, int bRollback){
  int rc = connExecTrusted(p, bRollback
      ? "ROLLBACK TO dosql_batch; RELEASE dosql_batch" : "RELEASE dosql_batch");
  if( rc!=SQLITE_OK ) connFail(p, pReply, rc);
  p->bSavepoint = 0;
}

void connUndoCompleted(Conn *p){
  if( p->bInteractive && !p->bSavepoint && !sqlite3_get_autocommit(p->db) ){
    connStepTrusted(p, p->pRollback);
  }
}
