/*
** capture.c — change data capture (contract in capture.h, docs/changes.md).
**
** While a statement runs, the preupdate hook keeps each change as the JSON text
** of its values, by position: the hook may not run SQL, so it cannot look up
** column names. captureFlush() then names the values (PRAGMA table_xinfo) and
** inserts one _dosql_changes row per change, numbering them after the newest.
**
** Values are kept back to back, each followed by CAPTURE_SEP. JSON text never
** holds that byte (jsonAppendString escapes every control character), so the
** values split again without a parse.
*/
#include <string.h>

#include "capture.h"
#include "conn.h"
#include "guard.h"
#include "host.h"
#include "json.h"
#include "internal.h"
#include "sqlite/unit.h"

#define CAPTURE_SEP '\x1f'

struct CaptureEvent {
  int op;                /* SQLITE_INSERT, SQLITE_UPDATE or SQLITE_DELETE */
  int nCol;              /* values per row, including virtual generated columns */
  char *zTable;
  char *zOld;            /* the row before (0 for an insert), CAPTURE_SEP-separated */
  char *zNew;            /* the row after (0 for a delete) */
};

/* Whether the settings name zTable, or name no table (every one is captured). */
static int captureNamed(const Capture *c, const char *zTable){
  int i;
  if( c->nOnly==0 ) return 1;
  for(i=0; i<c->nOnly; i++){
    if( sqlite3_stricmp(c->azOnly[i], zTable)==0 ) return 1;
  }
  return 0;
}

int captureIsOwnTable(const char *zTable){
  return sqlite3_strnicmp(zTable, "sqlite_", 7)==0 || internalIsReserved(zTable);
}

/* Whether changes to zTable are reported: named by the settings (if they
** name any), not SQLite's, not ours, and not a virtual table's storage
** (FTS5's and R*Tree's shadow tables). */
static int captureReports(const Capture *c, sqlite3 *db, const char *zTable){
  return captureNamed(c, zTable)
      && !captureIsOwnTable(zTable)
      && !dosqlIsShadowTable(db, "main", zTable);
}

int captureCovers(const Conn *p, const char *zTable){
  return captureNamed(&p->capture, zTable);
}

static void captureFreeNames(Capture *c){
  int i;
  for(i=0; i<c->nOnly; i++) sqlite3_free(c->azOnly[i]);
  sqlite3_free(c->azOnly);
  c->azOnly = 0;
  c->nOnly = 0;
}

int captureOnly(Conn *p, const char *const *azTable, int nTable){
  Capture *c = &p->capture;
  char **az;
  int i;
  captureFreeNames(c);
  if( nTable==0 ) return SQLITE_OK;
  az = sqlite3_malloc64(sizeof(char*) * (sqlite3_uint64)nTable);
  if( az==0 ) return SQLITE_NOMEM;
  for(i=0; i<nTable; i++){
    az[i] = sqlite3_mprintf("%s", azTable[i]);
    if( az[i]==0 ){
      while( i>0 ) sqlite3_free(az[--i]);
      sqlite3_free(az);
      return SQLITE_NOMEM;
    }
  }
  c->azOnly = az;
  c->nOnly = nTable;
  return SQLITE_OK;
}

/* The old or new row's values, each followed by CAPTURE_SEP, or 0 when out of
** memory. A value SQLite does not have (a virtual generated column) is empty. */
static char *captureRow(sqlite3 *db, int bOld, int nCol){
  sqlite3_str *pOut = sqlite3_str_new(0);
  int i;
  for(i=0; i<nCol; i++){
    sqlite3_value *pVal = 0;
    int rc = bOld ? sqlite3_preupdate_old(db, i, &pVal) : sqlite3_preupdate_new(db, i, &pVal);
    if( rc==SQLITE_OK && pVal ) jsonAppendValue(pOut, pVal);
    sqlite3_str_appendchar(pOut, 1, CAPTURE_SEP);
  }
  if( sqlite3_str_errcode(pOut)!=SQLITE_OK ){
    sqlite3_free(sqlite3_str_finish(pOut));
    return 0;
  }
  return sqlite3_str_finish(pOut);
}

static void captureFreeEvent(CaptureEvent *e){
  sqlite3_free(e->zTable);
  sqlite3_free(e->zOld);
  sqlite3_free(e->zNew);
}

static void captureHook(void *pArg, sqlite3 *db, int op, const char *zDb,
                        const char *zTable, sqlite3_int64 iKey1, sqlite3_int64 iKey2){
  Capture *c = &((Conn*)pArg)->capture;
  CaptureEvent *e;
  (void)iKey1; (void)iKey2;
  if( strcmp(zDb, "main")!=0 || c->bNoMem || !captureReports(c, db, zTable) ) return;
  if( c->nEvent==c->nAlloc ){
    int nNew = c->nAlloc ? c->nAlloc*2 : 16;
    CaptureEvent *aNew = sqlite3_realloc64(c->aEvent, sizeof(CaptureEvent)*(sqlite3_uint64)nNew);
    if( aNew==0 ){
      c->bNoMem = 1;
      return;
    }
    c->aEvent = aNew;
    c->nAlloc = nNew;
  }
  e = &c->aEvent[c->nEvent];
  memset(e, 0, sizeof(*e));
  e->op = op;
  e->nCol = sqlite3_preupdate_count(db);
  e->zTable = sqlite3_mprintf("%s", zTable);
  if( op!=SQLITE_INSERT ) e->zOld = captureRow(db, 1, e->nCol);
  if( op!=SQLITE_DELETE ) e->zNew = captureRow(db, 0, e->nCol);
  if( e->zTable==0 || (op!=SQLITE_INSERT && e->zOld==0) || (op!=SQLITE_DELETE && e->zNew==0) ){
    captureFreeEvent(e);
    c->bNoMem = 1;
    return;
  }
  c->nEvent++;
}

/* A transaction ended (committed or rolled back): the next change starts a new one. */
static void captureTransactionEnded(Capture *c){
  c->iTxId = 0;
  c->iTimestamp = 0;
}

static int captureOnCommit(void *pArg){
  captureTransactionEnded(&((Conn*)pArg)->capture);
  return 0;                       /* never turn the commit into a rollback */
}

static void captureOnRollback(void *pArg){
  captureDiscard((Conn*)pArg);
  captureTransactionEnded(&((Conn*)pArg)->capture);
}

int captureInstall(Conn *p, int bEnabled){
  static const char zInsert[] =
    "INSERT INTO main._dosql_changes(lsn, tx_id, ts, type, tbl, data, old)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
  static const char zHead[] = "SELECT coalesce(max(lsn), 0) FROM main._dosql_changes";
  Capture *c = &p->capture;
  int rc;
  sqlite3_commit_hook(p->db, captureOnCommit, p);
  sqlite3_rollback_hook(p->db, captureOnRollback, p);
  if( !bEnabled ) return SQLITE_OK;
  p->bTrusted = 1;                 /* _dosql_changes is read-only to user SQL */
  rc = sqlite3_prepare_v3(p->db, zInsert, -1, SQLITE_PREPARE_PERSISTENT, &c->pInsert, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_prepare_v3(p->db, zHead, -1, SQLITE_PREPARE_PERSISTENT, &c->pHead, 0);
  p->bTrusted = 0;
  if( rc==SQLITE_OK ){
    sqlite3_preupdate_hook(p->db, captureHook, p);
    c->bEnabled = 1;
  }
  return rc;
}

void captureDiscard(Conn *p){
  Capture *c = &p->capture;
  int i;
  for(i=0; i<c->nEvent; i++) captureFreeEvent(&c->aEvent[i]);
  c->nEvent = 0;
  c->bNoMem = 0;
}

void captureSchemaChanged(Conn *p){
  Capture *c = &p->capture;
  sqlite3_free(c->zColumnsOf);
  sqlite3_free(c->zColumns);
  c->zColumnsOf = c->zColumns = 0;
  c->nColumns = 0;
}

void captureClose(Conn *p){
  Capture *c = &p->capture;
  captureDiscard(p);
  captureSchemaChanged(p);
  sqlite3_free(c->aEvent);
  sqlite3_finalize(c->pInsert);
  sqlite3_finalize(c->pHead);
  captureFreeNames(c);
  memset(c, 0, sizeof(*c));
}

/*
** The column names of zTable as JSON strings, each followed by CAPTURE_SEP, in
** the positions the preupdate hook uses; a column SQLite does not store (a
** virtual generated one) is an empty name. *pzNames is 0 when the table no
** longer exists (the statement dropped it). Sets *pnCol to the column count.
*/
static int captureColumns(Conn *p, const char *zTable, char **pzNames, int *pnCol){
  sqlite3_str *pOut = sqlite3_str_new(0);
  sqlite3_stmt *pStmt = 0;
  /* The PRAGMA statement, not pragma_table_xinfo(): a user table of that name
  ** would answer in the table-valued function's place. */
  char *zSql = sqlite3_mprintf("PRAGMA main.table_xinfo(%Q)", zTable);
  int rc, n = 0;
  rc = zSql ? sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    if( sqlite3_column_int(pStmt, 6)!=2 ){        /* hidden: 2 is virtual generated */
      jsonAppendString(pOut, (const char*)sqlite3_column_text(pStmt, 1),
                       sqlite3_column_bytes(pStmt, 1));
    }
    sqlite3_str_appendchar(pOut, 1, CAPTURE_SEP);
    n++;
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  else sqlite3_finalize(pStmt);
  if( rc==SQLITE_OK ) rc = sqlite3_str_errcode(pOut);
  *pzNames = sqlite3_str_finish(pOut);
  *pnCol = n;
  if( rc!=SQLITE_OK ){
    sqlite3_free(*pzNames);
    *pzNames = 0;
  }
  return rc;
}

/* Append {"name":value,...} zipping names and values (both CAPTURE_SEP-separated). */
static void captureAppendObject(sqlite3_str *pOut, const char *zNames, const char *zValues){
  int bFirst = 1;
  sqlite3_str_appendchar(pOut, 1, '{');
  while( *zNames ){
    const char *zNameEnd = strchr(zNames, CAPTURE_SEP);
    const char *zValueEnd = strchr(zValues, CAPTURE_SEP);
    if( zNameEnd>zNames ){
      if( !bFirst ) sqlite3_str_appendchar(pOut, 1, ',');
      bFirst = 0;
      sqlite3_str_append(pOut, zNames, (int)(zNameEnd-zNames));
      sqlite3_str_appendchar(pOut, 1, ':');
      if( zValueEnd>zValues ) sqlite3_str_append(pOut, zValues, (int)(zValueEnd-zValues));
      else sqlite3_str_appendall(pOut, "null");
    }
    zNames = zNameEnd+1;
    zValues = zValueEnd+1;
  }
  sqlite3_str_appendchar(pOut, 1, '}');
}

/* A row as a JSON object (sqlite3_malloc'd), or 0 when zValues is 0 or out of memory. */
static char *captureObject(const char *zNames, const char *zValues){
  sqlite3_str *pOut;
  if( zValues==0 ) return 0;
  pOut = sqlite3_str_new(0);
  captureAppendObject(pOut, zNames, zValues);
  if( sqlite3_str_errcode(pOut)!=SQLITE_OK ){
    sqlite3_free(sqlite3_str_finish(pOut));
    return 0;
  }
  return sqlite3_str_finish(pOut);
}

static const char *captureTypeName(int op){
  return op==SQLITE_INSERT ? "insert" : op==SQLITE_UPDATE ? "update" : "delete";
}

/* Insert event e as lsn iLsn. */
static int captureWrite(Capture *c, const CaptureEvent *e, const char *zNames, sqlite3_int64 iLsn){
  sqlite3_stmt *pInsert = c->pInsert;
  char *zData = captureObject(zNames, e->op==SQLITE_DELETE ? e->zOld : e->zNew);
  char *zOld = e->op==SQLITE_UPDATE ? captureObject(zNames, e->zOld) : 0;
  int rc = SQLITE_NOMEM;
  if( zData && (zOld || e->op!=SQLITE_UPDATE) ){
    sqlite3_bind_int64(pInsert, 1, iLsn);
    sqlite3_bind_int64(pInsert, 2, c->iTxId);
    sqlite3_bind_int64(pInsert, 3, c->iTimestamp);
    sqlite3_bind_text(pInsert, 4, captureTypeName(e->op), -1, SQLITE_STATIC);
    sqlite3_bind_text(pInsert, 5, e->zTable, -1, SQLITE_STATIC);
    sqlite3_bind_text(pInsert, 6, zData, -1, SQLITE_STATIC);
    if( zOld ) sqlite3_bind_text(pInsert, 7, zOld, -1, SQLITE_STATIC);
    else sqlite3_bind_null(pInsert, 7);
    rc = sqlite3_step(pInsert);
    rc = rc==SQLITE_DONE ? SQLITE_OK : sqlite3_reset(pInsert);
    sqlite3_reset(pInsert);
    sqlite3_clear_bindings(pInsert);
  }
  sqlite3_free(zData);
  sqlite3_free(zOld);
  return rc;
}

int captureWarm(Conn *p){
  Capture *c = &p->capture;
  int rc;
  if( !c->bEnabled ) return SQLITE_OK;
  rc = sqlite3_step(c->pHead);
  sqlite3_reset(c->pHead);
  return rc==SQLITE_ROW ? SQLITE_OK : rc;
}

/* Make c->zColumns the names of zTable: kept from the last statement that
** wrote it unless the schema changed since, else read (captureColumns). */
static int captureColumnsOf(Conn *p, const char *zTable){
  Capture *c = &p->capture;
  int rc;
  if( c->zColumnsOf && sqlite3_stricmp(c->zColumnsOf, zTable)==0 ) return SQLITE_OK;
  sqlite3_free(c->zColumnsOf);
  sqlite3_free(c->zColumns);
  c->zColumns = 0;
  c->zColumnsOf = sqlite3_mprintf("%s", zTable);
  if( c->zColumnsOf==0 ) return SQLITE_NOMEM;
  rc = captureColumns(p, zTable, &c->zColumns, &c->nColumns);
  if( rc!=SQLITE_OK ){
    sqlite3_free(c->zColumnsOf);
    c->zColumnsOf = 0;
  }
  return rc;
}

/* Write every kept event, numbered after the newest lsn. */
static int captureWriteAll(Conn *p){
  Capture *c = &p->capture;
  sqlite3_int64 iLsn = 0;
  int i, rc;
  rc = sqlite3_step(c->pHead);
  if( rc==SQLITE_ROW ){
    iLsn = sqlite3_column_int64(c->pHead, 0);
    rc = SQLITE_OK;
  }
  sqlite3_reset(c->pHead);
  if( rc!=SQLITE_OK ) return rc;
  /* lsns stay exact in every JSON reader: past 2^53-1 the log is full. */
  if( iLsn > DOSQL_MAX_SAFE_INTEGER - c->nEvent ) return SQLITE_FULL;
  if( c->iTxId==0 ){
    c->iTxId = iLsn+1;
    c->iTimestamp = (sqlite3_int64)dosql_host_now_ms();
  }
  for(i=0; rc==SQLITE_OK && i<c->nEvent; i++){
    const CaptureEvent *e = &c->aEvent[i];
    rc = captureColumnsOf(p, e->zTable);
    if( rc!=SQLITE_OK ) break;
    /* Rows the statement deleted from a table it then dropped are not reported. */
    if( c->nColumns==0 ) continue;
    if( c->nColumns!=e->nCol ){
      rc = SQLITE_INTERNAL;   /* the table changed shape inside one statement */
      break;
    }
    rc = captureWrite(c, e, c->zColumns, ++iLsn);
  }
  return rc;
}

int captureFlush(Conn *p){
  Capture *c = &p->capture;
  sqlite3_int64 iRowid;
  int rc, bTrusted;
  if( c->bNoMem ){
    captureDiscard(p);
    return SQLITE_NOMEM;
  }
  if( c->nEvent==0 ) return SQLITE_OK;
  iRowid = sqlite3_last_insert_rowid(p->db);
  bTrusted = p->bTrusted;
  p->bTrusted = 1;               /* _dosql_changes is read-only to user SQL */
  rc = captureWriteAll(p);
  p->bTrusted = bTrusted;
  sqlite3_set_last_insert_rowid(p->db, iRowid);
  captureDiscard(p);
  return rc;
}
