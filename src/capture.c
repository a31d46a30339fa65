/*
** capture.c — change data capture (contract in capture.h, docs/changes.md).
**
** While a statement runs, the preupdate hook writes each change straight into
** the stored form (changebatch.h): the JSON text of its values by position,
** at the end of the statement's events text, in batches of consecutive
** changes to one table. The hook may not run SQL, so it cannot look up column
** names; captureFlush() then reads them (PRAGMA table_xinfo) and inserts one
** _dosql_change_log row per batch, numbering the events after the newest.
*/
#include <string.h>

#include "capture.h"
#include "changebatch.h"
#include "changelog.h"
#include "config.h"
#include "conn.h"
#include "guard.h"
#include "host.h"
#include "json.h"
#include "internal.h"
#include "sqlite/unit.h"

/* A table whose changes the hook kept: its name as SQLite gives it, and its
** cols text (changebatch.h) once captureFlush() has read it. Kept between
** statements (up to CAPTURE_TABLES_KEPT of them), so that a statement that
** writes the same table as the one before reads no column names. */
struct CaptureTable {
  char *zName;
  char *zCols;             /* 0: not read, or the table no longer exists */
  int nCols;
  sqlite3_int64 iSchema;   /* dosqlSchemaStamp() when zCols was read; -1: not read */
};

#define CAPTURE_TABLES_KEPT 32

/* The events of one statement to one table, as they will be stored: the
** statement's events text from iStart to the next batch's start (or its end),
** "[event,...]". The newest batch's array is open until the next batch begins
** or the statement is flushed (captureCloseBatch). Every batch
** shares that one text and its table's entry, so that a statement that
** alternates tables (a trigger that writes an audit table) costs a few
** words per batch, not allocations of its own. */
struct CaptureBatch {
  int iTable;            /* in Capture.aTable */
  int nCol;              /* values per row, including virtual generated columns */
  int nEvent;
  int iStart;            /* where its "[" is in Capture.pEvents */
  const char *zSeen;     /* the table's name as SQLite passed it to the hook:
                         ** while the statement runs, the same pointer is the
                         ** same table, with no strcmp() */
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
  c->zUnreported = 0;             /* found so under the settings before */
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

/* Whether n bytes at a and at b are the same: memcmp() is a call in wasm,
** dearer than the loop for the short values of a row. */
static int captureSameBytes(const unsigned char *a, const unsigned char *b, int n){
  int i;
  for(i=0; i<n; i++){
    if( a[i]!=b[i] ) return 0;
  }
  return 1;
}

/* Whether two values of a column would be stored alike. */
static int captureSameValue(const DosqlField *pA, const DosqlField *pB){
  if( pA->eType!=pB->eType ) return 0;
  switch( pA->eType ){
    case SQLITE_NULL:    return 1;
    case SQLITE_INTEGER: return pA->u.i==pB->u.i;
    case SQLITE_FLOAT:   return memcmp(&pA->u.r, &pB->u.r, sizeof(double))==0;   /* -0.0 is not 0.0 */
    default:
      /* Text and blobs: the same bytes (the text as stored, UTF-8). */
      return pA->n==pB->n
          && (pA->n==0 || (pA->u.z && pB->u.z && captureSameBytes(pA->u.z, pB->u.z, pA->n)));   /* 0: out of memory */
  }
}

/*
** Where the hook writes an event: in place, at the end of its batch's text
** (dosqlStrReserve), so that a changed row costs no call and no copy per value
** and mark; an append for each was a sixth of a bulk UPDATE's time. A value it
** cannot write in place (a text that needs escapes or is long, a real, a blob)
** is appended by json.c after what is written.
*/
typedef struct CaptureOut {
  sqlite3_str *pStr;
  char *zStart;     /* the first byte written and not yet counted in pStr */
  char *z;          /* where the next byte goes */
  char *zEnd;       /* the end of the room reserved */
} CaptureOut;

/* Room reserved at a time: a row of small values fits. */
#define CAPTURE_OUT_ROOM 256
/* The room an events text is made with (captureNewBatch). */
#define CAPTURE_FIRST_BYTES 1024
/* The most room an events text keeps between statements (captureDiscard). */
#define CAPTURE_KEPT_BYTES 65536

/* Count in pStr what was written; nothing is reserved after. */
static void outSettle(CaptureOut *o){
  if( o->z!=o->zStart ) dosqlStrAdvance(o->pStr, (int)(o->z - o->zStart));
  o->zStart = o->z = o->zEnd = 0;
}

/* Whether there is room for n more bytes at o->z; not when out of memory
** (pStr's error says so). */
static int outRoom(CaptureOut *o, int n){
  int nReserve = n>CAPTURE_OUT_ROOM ? n : CAPTURE_OUT_ROOM;
  char *z;
  if( o->zEnd && o->zEnd - o->z >= n ) return 1;
  outSettle(o);
  z = dosqlStrReserve(o->pStr, nReserve);
  if( z==0 ) return 0;
  o->zStart = o->z = z;
  o->zEnd = z + nReserve;
  return 1;
}

static void outChar(CaptureOut *o, char c){
  if( outRoom(o, 1) ) *o->z++ = c;
}

static void outChars(CaptureOut *o, const char *z, int n){
  if( outRoom(o, n) ){
    memcpy(o->z, z, (size_t)n);
    o->z += n;
  }
}

static void outInteger(CaptureOut *o, sqlite3_int64 v){
  if( outRoom(o, JSON_INTEGER_MAX) ) o->z += jsonPutInteger(o->z, v);
}

/* A value as jsonAppendValue() writes it. A register or a record's field is
** read, never converted, so it keeps its value and type. */
static void outValue(CaptureOut *o, const DosqlField *f){
  int m;
  switch( f->eType ){
    case SQLITE_NULL:
      outChars(o, "null", 4);
      return;
    case SQLITE_INTEGER:
      outInteger(o, f->u.i);
      return;
    case SQLITE_TEXT:
      if( (f->u.z || f->n==0) && f->n<=CAPTURE_OUT_ROOM && outRoom(o, f->n+2)
       && (m = jsonPutPlainString(o->z, f->u.z, f->n))>0 ){
        o->z += m;
        return;
      }
      break;
  }
  outSettle(o);
  jsonAppendValue(o->pStr, f->pValue);
}

/*
** Append the change to batch b as changebatch.h stores an event: the row
** (for a delete, the deleted one) and, for an update, the old value of each
** column that changed. SQLITE_OK, or the error SQLite gave for a value.
*/
static int captureAppendEvent(Capture *c, CaptureBatch *b, sqlite3 *db, int op){
  char zHead[] = "[\"?\",[";
  DosqlField *aRow = c->aField, *aOld = &c->aField[b->nCol];
  CaptureOut out = { c->pEvents, 0, 0, 0 };
  int i, rc, nChanged = 0;
  rc = dosqlPreupdateRow(db, op==SQLITE_DELETE, aRow, b->nCol);
  if( rc==SQLITE_OK && op==SQLITE_UPDATE ) rc = dosqlPreupdateRow(db, 1, aOld, b->nCol);
  if( rc!=SQLITE_OK ) return rc;
  if( b->nEvent ) outChar(&out, ',');
  zHead[2] = op==SQLITE_INSERT ? CHANGE_INSERT : op==SQLITE_UPDATE ? CHANGE_UPDATE : CHANGE_DELETE;
  outChars(&out, zHead, (int)sizeof(zHead)-1);
  for(i=0; i<b->nCol; i++){
    if( i ) outChar(&out, ',');
    outValue(&out, &aRow[i]);
  }
  if( op==SQLITE_UPDATE ){
    /* The changed columns' old values: {"position":value,...}. */
    outChars(&out, "],{", 3);
    for(i=0; i<b->nCol; i++){
      if( aRow[i].pValue==0 || aOld[i].pValue==0 || captureSameValue(&aOld[i], &aRow[i]) ) continue;
      if( nChanged++ ) outChar(&out, ',');
      outChar(&out, '"');
      outInteger(&out, i);
      outChars(&out, "\":", 2);
      outValue(&out, &aOld[i]);
    }
    outChars(&out, "}]", 2);
  }else{
    outChars(&out, "]]", 2);
  }
  outSettle(&out);
  return SQLITE_OK;
}

/* The entry of zTable in c->aTable, added if need be; -1 when out of memory. */
static int captureTableOf(Capture *c, const char *zTable){
  CaptureTable *t;
  int i;
  for(i=0; i<c->nTable; i++){
    if( strcmp(c->aTable[i].zName, zTable)==0 ) return i;
  }
  if( c->nTable==c->nTableAlloc ){
    int nNew = c->nTableAlloc ? c->nTableAlloc*2 : 4;
    CaptureTable *aNew = sqlite3_realloc64(c->aTable, sizeof(CaptureTable)*(sqlite3_uint64)nNew);
    if( aNew==0 ) return -1;
    c->aTable = aNew;
    c->nTableAlloc = nNew;
  }
  t = &c->aTable[c->nTable];
  memset(t, 0, sizeof(*t));
  t->iSchema = -1;
  t->zName = sqlite3_mprintf("%s", zTable);
  if( t->zName==0 ) return -1;
  return c->nTable++;
}

/* Forget the tables kept, and their column names. */
static void captureForgetTables(Capture *c){
  int i;
  for(i=0; i<c->nTable; i++){
    sqlite3_free(c->aTable[i].zName);
    sqlite3_free(c->aTable[i].zCols);
  }
  c->nTable = 0;
}

/* Whether a change of zTable with nCol values may join batch b: of the same
** table, and not full. */
static int captureBatchTakes(const Capture *c, const CaptureBatch *b, const char *zTable, int nCol){
  return b->nCol==nCol && (b->zSeen==zTable || strcmp(c->aTable[b->iTable].zName, zTable)==0)
      && b->nEvent<DOSQL_CHANGE_BATCH_EVENTS
      && sqlite3_str_length(c->pEvents) - b->iStart<DOSQL_CHANGE_BATCH_BYTES;
}

/* Close the newest batch's array, the one still open. */
static void captureCloseBatch(Capture *c){
  if( c->nBatch ) sqlite3_str_appendchar(c->pEvents, 1, ']');
}

/* Where batch i's text ends, once closed. */
static int captureBatchEnd(const Capture *c, int i){
  return i+1<c->nBatch ? c->aBatch[i+1].iStart : sqlite3_str_length(c->pEvents);
}

/* A new batch, after the others, for changes of zTable with nCol values; 0
** when out of memory. */
static CaptureBatch *captureNewBatch(Capture *c, const char *zTable, int nCol){
  CaptureBatch *b;
  int iTable = captureTableOf(c, zTable);
  if( iTable<0 ) return 0;
  if( c->pEvents==0 ){
    /* Room for a few rows' events at once: growing the text from nothing
    ** took several reallocations. */
    c->pEvents = sqlite3_str_new(0);
    dosqlStrReserve(c->pEvents, CAPTURE_FIRST_BYTES);
  }
  if( c->nBatch==c->nAlloc ){
    int nNew = c->nAlloc ? c->nAlloc*2 : 8;
    CaptureBatch *aNew = sqlite3_realloc64(c->aBatch, sizeof(CaptureBatch)*(sqlite3_uint64)nNew);
    if( aNew==0 ) return 0;
    c->aBatch = aNew;
    c->nAlloc = nNew;
  }
  captureCloseBatch(c);
  b = &c->aBatch[c->nBatch++];
  b->iTable = iTable;
  b->nCol = nCol;
  b->nEvent = 0;
  b->iStart = sqlite3_str_length(c->pEvents);
  b->zSeen = zTable;
  sqlite3_str_appendchar(c->pEvents, 1, '[');
  return sqlite3_str_errcode(c->pEvents)==SQLITE_OK ? b : 0;
}

/* Room for a row of nCol values, new and old, in the hook's scratch, which
** is kept between rows and statements. SQLITE_OK or SQLITE_NOMEM. */
static int captureScratch(Capture *c, int nCol){
  if( c->nField<2*nCol ){
    DosqlField *aNew = sqlite3_realloc64(c->aField, sizeof(DosqlField)*2*(sqlite3_uint64)nCol);
    if( aNew==0 ) return SQLITE_NOMEM;
    c->aField = aNew;
    c->nField = 2*nCol;
  }
  return SQLITE_OK;
}

static void captureHook(void *pArg, sqlite3 *db, int op, const char *zDb,
                        const char *zTable, sqlite3_int64 iKey1, sqlite3_int64 iKey2){
  Capture *c = &((Conn*)pArg)->capture;
  CaptureBatch *b = c->nBatch ? &c->aBatch[c->nBatch-1] : 0;
  int nCol;
  (void)iKey1; (void)iKey2;
  if( c->bWatchInserts && op==SQLITE_INSERT && sqlite3_preupdate_depth(db)==0 ) c->bInserted = 1;
  if( !c->bEnabled || c->bNoMem ) return;
  /* The same name pointer in an unchanged schema is the same table: a bulk
  ** change to a table no one captures costs a comparison a row. */
  if( zTable==c->zUnreported && dosqlSchemaStamp(db)==c->iUnreported ) return;
  if( strcmp(zDb, "main")!=0 ) return;
  nCol = sqlite3_preupdate_count(db);
  if( b==0 || !captureBatchTakes(c, b, zTable, nCol) ){
    /* The newest batch's table was found reported when the batch began. */
    if( (b==0 || strcmp(c->aTable[b->iTable].zName, zTable)!=0) && !captureReports(c, db, zTable) ){
      c->zUnreported = zTable;
      c->iUnreported = dosqlSchemaStamp(db);
      return;
    }
    b = captureNewBatch(c, zTable, nCol);
  }
  if( b==0 || captureScratch(c, nCol)!=SQLITE_OK
   || captureAppendEvent(c, b, db, op)!=SQLITE_OK || sqlite3_str_errcode(c->pEvents)!=SQLITE_OK ){
    c->bNoMem = 1;
    return;
  }
  b->nEvent++;
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

/* zeroblob(N) with its zeros in memory. SQLite's own leaves them out until the
** row is written, and the preupdate hook's sqlite3_preupdate_new() then expands
** the row in place: when that does not fit in the heap, SQLite 3.52 leaves the
** row's register with no bytes but its old length, and OP_Insert copies the
** row from a null pointer (found by fuzzing: zeroblob(100000000) with the
** 64 MiB heap limit). Allocated here, a blob too large fails at once,
** cleanly, as out of memory. */
static void captureZeroblob(sqlite3_context *pCtx, int argc, sqlite3_value **argv){
  sqlite3_int64 n = sqlite3_value_int64(argv[0]);
  void *pZeros;
  (void)argc;
  if( n<0 ) n = 0;
  if( n>sqlite3_limit(sqlite3_context_db_handle(pCtx), SQLITE_LIMIT_LENGTH, -1) ){
    sqlite3_result_error_toobig(pCtx);
    return;
  }
  pZeros = sqlite3_malloc64(n ? (sqlite3_uint64)n : 1);
  if( pZeros==0 ){
    sqlite3_result_error_nomem(pCtx);
    return;
  }
  memset(pZeros, 0, (size_t)n);
  sqlite3_result_blob64(pCtx, pZeros, (sqlite3_uint64)n, sqlite3_free);
}

int captureInstall(Conn *p, int bEnabled){
  /* Whether or not capture is on: captureWatchInserts() may install the hook. */
  int rc = sqlite3_create_function_v2(p->db, "zeroblob", 1,
      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, 0, captureZeroblob, 0, 0, 0);
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_commit_hook(p->db, captureOnCommit, p);
  sqlite3_rollback_hook(p->db, captureOnRollback, p);
  if( bEnabled ){
    sqlite3_preupdate_hook(p->db, captureHook, p);
    p->capture.bEnabled = 1;
  }
  return SQLITE_OK;
}

void captureWatchInserts(Conn *p, int bOn){
  Capture *c = &p->capture;
  if( c->bWatchInserts==bOn ) return;
  c->bWatchInserts = bOn;
  if( bOn ) c->bInserted = 0;
  if( !c->bEnabled ) sqlite3_preupdate_hook(p->db, bOn ? captureHook : 0, p);
}

int captureInserted(const Conn *p){
  return p->capture.bInserted;
}

/* The cached statements, prepared when first used: an object that only reads
** never pays for them (connCheckInternal has checked the log's shape). */
static const char zInsertSql[] =
  "INSERT INTO main._dosql_change_log(last_lsn, first_lsn, tx_id, ts, tbl, cols, events)"
  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char zHeadSql[] = "SELECT coalesce(max(last_lsn), 0) FROM main._dosql_change_log";

/* *ppStmt, prepared from zSql unless it already is. */
static int captureStatement(Conn *p, sqlite3_stmt **ppStmt, const char *zSql){
  int rc, bTrusted;
  if( *ppStmt ) return SQLITE_OK;
  bTrusted = p->bTrusted;
  p->bTrusted = 1;                 /* the change log is read-only to user SQL */
  rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT, ppStmt, 0);
  p->bTrusted = bTrusted;
  return rc;
}

/* Free the events text. */
static void captureFreeEvents(Capture *c){
  sqlite3_free(sqlite3_str_finish(c->pEvents));
  c->pEvents = 0;
}

void captureDiscard(Conn *p){
  Capture *c = &p->capture;
  c->nBatch = 0;
  /* The events text is kept for the next statement unless it grew large:
  ** making it anew and freeing it were a sixth of what capture added to a
  ** single-row INSERT. */
  if( c->pEvents && !dosqlStrEmpty(c->pEvents, CAPTURE_KEPT_BYTES) ) captureFreeEvents(c);
  /* Names and columns are a cache: a statement that wrote many tables does
  ** not leave them all behind. */
  if( c->nTable>CAPTURE_TABLES_KEPT ) captureForgetTables(c);
  c->bNoMem = 0;
}

void captureClose(Conn *p){
  Capture *c = &p->capture;
  captureDiscard(p);
  captureFreeEvents(c);
  captureForgetTables(c);
  sqlite3_free(c->aTable);
  sqlite3_free(c->aBatch);
  sqlite3_free(c->aField);
  sqlite3_finalize(c->pInsert);
  sqlite3_finalize(c->pHead);
  captureFreeNames(c);
  memset(c, 0, sizeof(*c));
}

/*
** The cols text of zTable (changebatch.h): its column names as a JSON array
** in the positions the preupdate hook uses, null for a column SQLite does not
** store (a virtual generated one). *pzCols is 0 when the table no longer
** exists (the statement dropped it). Sets *pnCol to the column count.
*/
static int captureColumns(Conn *p, const char *zTable, char **pzCols, int *pnCol){
  sqlite3_str *pOut = sqlite3_str_new(0);
  sqlite3_stmt *pStmt = 0;
  /* The PRAGMA statement, not pragma_table_xinfo(): a user table of that name
  ** would answer in the table-valued function's place. */
  char *zSql = sqlite3_mprintf("PRAGMA main.table_xinfo(%Q)", zTable);
  int rc, n = 0;
  rc = zSql ? sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  sqlite3_str_appendchar(pOut, 1, '[');
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    if( n++ ) sqlite3_str_appendchar(pOut, 1, ',');
    if( sqlite3_column_int(pStmt, 6)==2 ){         /* hidden: 2 is virtual generated */
      sqlite3_str_appendall(pOut, "null");
    }else{
      jsonAppendString(pOut, (const char*)sqlite3_column_text(pStmt, 1),
                       sqlite3_column_bytes(pStmt, 1));
    }
  }
  sqlite3_str_appendchar(pOut, 1, ']');
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  else sqlite3_finalize(pStmt);
  if( rc==SQLITE_OK ) rc = sqlite3_str_errcode(pOut);
  *pzCols = sqlite3_str_finish(pOut);
  *pnCol = n;
  if( rc!=SQLITE_OK || n==0 ){
    sqlite3_free(*pzCols);
    *pzCols = 0;
  }
  return rc;
}

/* Insert batch i, closed, as the events iLsn+1 .. iLsn+nEvent of its table. */
static int captureWrite(Capture *c, int i, sqlite3_int64 iLsn){
  const CaptureBatch *b = &c->aBatch[i];
  const CaptureTable *t = &c->aTable[b->iTable];
  sqlite3_stmt *pInsert = c->pInsert;
  int rc;
  sqlite3_bind_int64(pInsert, 1, iLsn + b->nEvent);
  sqlite3_bind_int64(pInsert, 2, iLsn + 1);
  sqlite3_bind_int64(pInsert, 3, c->iTxId);
  sqlite3_bind_int64(pInsert, 4, c->iTimestamp);
  sqlite3_bind_text(pInsert, 5, t->zName, -1, SQLITE_STATIC);
  sqlite3_bind_text(pInsert, 6, t->zCols, -1, SQLITE_STATIC);
  sqlite3_bind_text(pInsert, 7, sqlite3_str_value(c->pEvents) + b->iStart, captureBatchEnd(c, i) - b->iStart,
                    SQLITE_STATIC);
  rc = sqlite3_step(pInsert);
  rc = rc==SQLITE_DONE ? SQLITE_OK : sqlite3_reset(pInsert);
  sqlite3_reset(pInsert);
  sqlite3_clear_bindings(pInsert);
  return rc;
}

int captureWarm(Conn *p){
  Capture *c = &p->capture;
  int rc;
  if( !c->bEnabled ) return SQLITE_OK;
  rc = captureStatement(p, &c->pHead, zHeadSql);
  if( rc!=SQLITE_OK ) return rc;
  rc = sqlite3_step(c->pHead);
  sqlite3_reset(c->pHead);
  return rc==SQLITE_ROW ? SQLITE_OK : rc;
}

/* Step the cached one-row statement pStmt into *pV (its first column). */
static int captureStepInt(sqlite3_stmt *pStmt, sqlite3_int64 *pV){
  int rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    *pV = sqlite3_column_int64(pStmt, 0);
    rc = SQLITE_OK;
  }
  sqlite3_reset(pStmt);
  return rc;
}

/* Make t's cols text that of the schema stamped iSchema (dosqlSchemaStamp):
** kept from the statement that last wrote the table unless the schema changed
** since, else read. */
static int captureColumnsOf(Conn *p, CaptureTable *t, sqlite3_int64 iSchema){
  int rc;
  if( t->iSchema==iSchema ) return SQLITE_OK;
  sqlite3_free(t->zCols);
  t->zCols = 0;
  t->iSchema = -1;
  rc = captureColumns(p, t->zName, &t->zCols, &t->nCols);
  if( rc==SQLITE_OK ) t->iSchema = iSchema;
  return rc;
}

/* Write every kept batch, its events numbered after the newest lsn. */
static int captureWriteAll(Conn *p){
  Capture *c = &p->capture;
  sqlite3_int64 iLsn = 0, nEvent = 0, iSchema = 0;
  int i;
  int rc = captureStatement(p, &c->pHead, zHeadSql);
  if( rc==SQLITE_OK ) rc = captureStatement(p, &c->pInsert, zInsertSql);
  if( rc==SQLITE_OK ) rc = captureStepInt(c->pHead, &iLsn);
  if( rc!=SQLITE_OK ) return rc;
  iLsn = changelogIssued(p, iLsn);   /* past a restore's or an import's floor */
  iSchema = dosqlSchemaStamp(p->db);   /* once a flush */
  captureCloseBatch(c);
  if( sqlite3_str_errcode(c->pEvents)!=SQLITE_OK ) return SQLITE_NOMEM;
  for(i=0; i<c->nBatch; i++) nEvent += c->aBatch[i].nEvent;
  /* lsns stay exact in every JSON reader: past 2^53-1 the log is full. */
  if( iLsn > DOSQL_MAX_SAFE_INTEGER - nEvent ) return SQLITE_FULL;
  if( c->iTxId==0 ){
    c->iTxId = iLsn+1;
    c->iTimestamp = (sqlite3_int64)dosql_host_now_ms();
  }
  for(i=0; rc==SQLITE_OK && i<c->nBatch; i++){
    const CaptureBatch *b = &c->aBatch[i];
    CaptureTable *t = &c->aTable[b->iTable];
    rc = captureColumnsOf(p, t, iSchema);
    if( rc!=SQLITE_OK ) break;
    /* Rows the statement deleted from a table it then dropped are not reported. */
    if( t->nCols==0 ) continue;
    if( t->nCols!=b->nCol ){
      rc = SQLITE_INTERNAL;   /* the table changed shape inside one statement */
      break;
    }
    rc = captureWrite(c, i, iLsn);
    iLsn += b->nEvent;
  }
  return rc;
}

int captureFlush(Conn *p){
  Capture *c = &p->capture;
  DosqlChangeCounts counts;
  int rc, bTrusted;
  if( c->bNoMem ){
    captureDiscard(p);
    return SQLITE_NOMEM;
  }
  if( c->nBatch==0 ) return SQLITE_OK;
  /* The log's row is not the user's. */
  dosqlSaveChangeCounts(p->db, &counts);
  bTrusted = p->bTrusted;
  p->bTrusted = 1;               /* the change log is read-only to user SQL */
  rc = captureWriteAll(p);
  p->bTrusted = bTrusted;
  dosqlRestoreChangeCounts(p->db, &counts);
  captureDiscard(p);
  return rc;
}
