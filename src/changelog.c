/*
** changelog.c — the endpoints over the change log (contract in changelog.h).
**
** lsns are gap-free (capture.c numbers each event after the newest, and SQLite
** undoes rolled-back numbers with their rows), so the log's extent is two
** index lookups, and "events after since were pruned" is since < oldest-1.
** A restore or an import skips numbers (changelogLoadNumbers).
** A row holds the events first_lsn..last_lsn (changebatch.h), and is kept or
** pruned whole.
*/
#include <math.h>
#include <string.h>

#include "changebatch.h"
#include "changelog.h"
#include "capture.h"
#include "config.h"
#include "errors.h"
#include "guard.h"
#include "host.h"
#include "json.h"
#include "request.h"
#include "sqlite/unit.h"

/*
** Read the optional whole-number field zName of pBody into *pV (iDefault when
** absent). Fails the reply unless it is a whole number from iMin to iMax.
*/
static int changelogField(Reply *pReply, const cJSON *pBody, const char *zName,
                          sqlite3_int64 iDefault, sqlite3_int64 iMin, sqlite3_int64 iMax,
                          sqlite3_int64 *pV){
  const cJSON *pItem = cJSON_GetObjectItemCaseSensitive(pBody, zName);
  double r;
  if( pItem==0 || cJSON_IsNull(pItem) ){
    *pV = iDefault;
    return SQLITE_OK;
  }
  r = cJSON_IsNumber(pItem) ? pItem->valuedouble : NAN;
  if( !(r>=(double)iMin && r<=(double)iMax) || r!=floor(r) ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST,
        "%s must be a whole number from %lld to %lld", zName, iMin, iMax);
    return SQLITE_MISMATCH;
  }
  *pV = (sqlite3_int64)r;
  return SQLITE_OK;
}

/* The integer result of zSql (one row, one column) with ?1 bound to iArg;
** *pbNull says it was NULL (or there was no row). */
static int changelogScalar(Conn *p, const char *zSql, sqlite3_int64 iArg,
                           sqlite3_int64 *pV, int *pbNull){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  *pV = 0;
  *pbNull = 1;
  if( rc==SQLITE_OK && sqlite3_bind_parameter_count(pStmt)>0 ) rc = sqlite3_bind_int64(pStmt, 1, iArg);
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_ROW && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
      *pV = sqlite3_column_int64(pStmt, 0);
      *pbNull = 0;
    }
    rc = (rc==SQLITE_ROW || rc==SQLITE_DONE) ? SQLITE_OK : rc;
  }
  sqlite3_finalize(pStmt);
  return rc;
}

int changelogHead(Conn *p, sqlite3_int64 *piHead){
  int bNull;
  return changelogScalar(p, "SELECT max(last_lsn) FROM main._dosql_change_log", 0, piHead, &bNull);
}

void changelogHeadAt(Conn *pView, sqlite3_int64 *piHead){
  int bNull;
  if( changelogHead(pView, piHead)==SQLITE_OK ) return;
  if( changelogScalar(pView, "SELECT max(lsn) FROM main._dosql_changes", 0, piHead, &bNull)!=SQLITE_OK ){
    *piHead = 0;   /* no log at that point */
  }
}

/* The newest and the oldest lsn (0 and 0 while the log is empty); on failure
** the reply says why. */
/* Whether an lsn read from the log lies where capture.c numbers (1 to 2^53-1;
** 0 for none): only a forged log holds others, and the arithmetic on lsns here
** must not overflow on them. */
static int changelogLsnInRange(sqlite3_int64 iLsn){
  return iLsn>=0 && iLsn<=DOSQL_MAX_SAFE_INTEGER;
}

/* The same for a point the prune computes: an lsn of a row, or one past the head. */
static int changelogPointInRange(sqlite3_int64 iLsn){
  return iLsn>=0 && iLsn<=DOSQL_MAX_SAFE_INTEGER+1;
}

static int changelogExtent(Conn *p, Reply *pReply, sqlite3_int64 *piHead, sqlite3_int64 *piOldest){
  int bNull;
  int rc = changelogHead(p, piHead);
  if( rc==SQLITE_OK ){
    rc = changelogScalar(p, "SELECT first_lsn FROM main._dosql_change_log ORDER BY last_lsn LIMIT 1",
                         0, piOldest, &bNull);
  }
  if( rc!=SQLITE_OK ){
    connFail(p, pReply, rc);
  }else if( !changelogLsnInRange(*piOldest) || !changelogLsnInRange(*piHead) ){
    /* capture.c numbers from 1 and stops at 2^53-1; a log past that was forged
    ** (in a file imported before /import/check existed), and the arithmetic
    ** on lsns here must not overflow. */
    replyFail(pReply, 500, DOSQL_CHANGE_LOG_CORRUPT, "the change log's lsns are out of range");
    rc = SQLITE_CORRUPT;
  }
  return rc;
}

/* Whether a restore or an import replaced the log: numbers below the floor
** were then issued to readers of events that may be gone. */
static int changelogReplacedBefore(const Conn *p){
  return p->iChangeFloor>0;
}

/* Whether the events this log holds name points its readers saw: each number
** issued once. Not so after an import by a release before 2026-12-06, which
** left kept 0 (no release since stores it: changelogReplaced) and the file's
** events at the file's numbers, which readers of the replaced database hold
** for other events. */
static int changelogNumbersUnique(const Conn *p){
  return p->iChangeKept!=0;
}

/* Whether since names a point of this log's history: one of its events, or
** the point right before one (a restore's floor, where the events after it
** begin). Each number is issued once, so a reader there saw that very event
** and the history that led to it, which is this log's. */
static int changelogHolds(Conn *p, sqlite3_int64 iSince, int *pbHolds){
  sqlite3_int64 v;
  int bNull;
  int rc = changelogScalar(p, "SELECT first_lsn<=?1+1 FROM main._dosql_change_log"
                           " WHERE last_lsn>=?1 ORDER BY last_lsn LIMIT 1", iSince, &v, &bNull);
  *pbHolds = rc==SQLITE_OK && !bNull && v;
  return rc;
}

sqlite3_int64 changelogIssued(const Conn *p, sqlite3_int64 iHead){
  return iHead<p->iChangeFloor ? p->iChangeFloor : iHead;
}

int changelogLoadNumbers(Conn *p){
  double a[DOSQL_CHANGES_N];
  if( dosql_host_change_numbers(a, DOSQL_CHANGES_N)!=0 ) return SQLITE_IOERR;
  if( !(a[DOSQL_CHANGES_FLOOR]>=0 && a[DOSQL_CHANGES_FLOOR]<=DOSQL_MAX_SAFE_INTEGER
        && a[DOSQL_CHANGES_KEPT]>=-1 && a[DOSQL_CHANGES_KEPT]<=a[DOSQL_CHANGES_FLOOR]) ){
    return SQLITE_CORRUPT;
  }
  p->iChangeFloor = (sqlite3_int64)a[DOSQL_CHANGES_FLOOR];
  p->iChangeKept = (sqlite3_int64)a[DOSQL_CHANGES_KEPT];
  return SQLITE_OK;
}

int changelogReplaced(Conn *p, sqlite3_int64 iKept, sqlite3_str *pOut){
  sqlite3_int64 iHead;
  int rc = changelogHead(p, &iHead);
  if( rc!=SQLITE_OK ) return rc;
  iHead = changelogIssued(p, iHead);
  if( iHead>=DOSQL_MAX_SAFE_INTEGER ) return SQLITE_FULL;
  /* A point whose log is empty kept no event: 0 is no number to keep (before
  ** the clamp below, which keeps an earlier release's 0). */
  if( iKept==0 ) iKept = CHANGELOG_KEPT_NONE;
  /* What readers saw before an earlier replacement may be gone already (the
  ** events this log holds still read as theirs: changelogHolds). */
  if( changelogReplacedBefore(p) && p->iChangeKept<iKept ) iKept = p->iChangeKept;
  if( iKept>iHead ) iKept = iHead;
  sqlite3_str_appendall(pOut, "{\"floor\":");
  /* A log that never numbered an event gave its readers no number to keep
  ** apart: as if nothing was replaced (an imported file's events keep their
  ** numbers, so an export imported into a new database is the same file). */
  jsonAppendInteger(pOut, iHead==0 ? 0 : iHead+1);
  sqlite3_str_appendall(pOut, ",\"kept\":");
  jsonAppendInteger(pOut, iKept);
  sqlite3_str_appendchar(pOut, 1, '}');
  return SQLITE_OK;
}

void changelogReplacedEndpoint(Conn *p, Reply *pReply, const cJSON *pBody){
  int rc;
  (void)pBody;
  rc = changelogReplaced(p, CHANGELOG_KEPT_NONE, replyBody(pReply));
  if( rc!=SQLITE_OK ) connFail(p, pReply, rc);
}

/* The log's own upkeep (xUpkeep: a prune, an import's renumbering) with
** foreign keys off: a user's table may name the log in a foreign key, whose
** rows must neither stop it nor be changed by a cascade no event reports. */
static void changelogUpkeep(Conn *p, Reply *pReply, const cJSON *pBody,
                            void (*xUpkeep)(Conn*, Reply*, const cJSON*)){
  int bForeignKeys = guardForeignKeysOn(p);
  guardSetForeignKeys(p, 0);
  xUpkeep(p, pReply, pBody);
  guardSetForeignKeys(p, bForeignKeys);
}

static void changelogRenumberIn(Conn *p, Reply *pReply, const cJSON *pBody){
  sqlite3_int64 iFloor, iHead, iFirst = 0, iBy = 0;
  DosqlChangeCounts counts;
  char *zSql;
  int rc, bNull;
  if( changelogField(pReply, pBody, "floor", -1, 0, DOSQL_MAX_SAFE_INTEGER, &iFloor) ) return;
  if( iFloor<0 ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "floor is required");
    return;
  }
  if( connBegin(p, pReply)!=SQLITE_OK ) return;
  /* From the oldest number a row names (a txId may be older than its row's
  ** first event), which becomes the one after the floor: each import adds the
  ** span of the file's log to the numbers, not the file's numbers themselves
  ** (databases imported back and forth would otherwise double them). */
  rc = changelogHead(p, &iHead);
  if( rc==SQLITE_OK ){
    rc = changelogScalar(p, "SELECT min(tx_id) FROM main._dosql_change_log", 0, &iFirst, &bNull);
  }
  if( rc==SQLITE_OK && iFloor>0 && iHead>0 ){
    iBy = iFloor + 1 - iFirst;
    if( iHead>DOSQL_MAX_SAFE_INTEGER-iBy ) rc = SQLITE_FULL;
  }
  if( rc!=SQLITE_OK ){
    connFail(p, pReply, rc);
    return;
  }
  if( iBy!=0 ){
    /* last_lsn is the key: negated first, so that no row moves onto one not
    ** moved yet (every lsn is at least 1, internalCheckRows). tx_id is the
    ** lsn of its transaction's first event, and moves with it. */
    zSql = sqlite3_mprintf(
        "UPDATE main._dosql_change_log SET last_lsn=-last_lsn;"
        "UPDATE main._dosql_change_log SET last_lsn=%lld-last_lsn, first_lsn=first_lsn+%lld,"
        " tx_id=tx_id+%lld;", iBy, iBy, iBy);
    dosqlSaveChangeCounts(p->db, &counts);   /* the log's rows are not the user's */
    rc = zSql ? connExecTrusted(p, zSql) : SQLITE_NOMEM;
    dosqlRestoreChangeCounts(p->db, &counts);
    sqlite3_free(zSql);
    if( rc!=SQLITE_OK ){
      connFail(p, pReply, rc);
      return;
    }
  }
  sqlite3_str_appendf(replyBody(pReply), "{\"head\":%lld}", iHead+iBy);
  connCommitIfAnswered(p, pReply);
}

void changelogRenumber(Conn *p, Reply *pReply, const cJSON *pBody){
  changelogUpkeep(p, pReply, pBody, changelogRenumberIn);
}

/* Whether tables is absent, or an array of 1 to DOSQL_CHANGES_MAX_TABLES
** non-empty strings of DOSQL_CHANGES_MAX_TABLE_BYTES together (an empty list
** would select nothing, forever). */
static int changelogTablesValid(const cJSON *pTables){
  const cJSON *pItem;
  int n = 0;
  size_t nByte = 0;
  if( pTables==0 || cJSON_IsNull(pTables) ) return 1;
  if( !cJSON_IsArray(pTables) ) return 0;
  cJSON_ArrayForEach(pItem, pTables){
    if( !cJSON_IsString(pItem) || pItem->valuestring[0]==0 ) return 0;
    nByte += strlen(pItem->valuestring);
    n++;
  }
  return n>=1 && n<=DOSQL_CHANGES_MAX_TABLES && nByte<=DOSQL_CHANGES_MAX_TABLE_BYTES;
}

/* The page's query: the rows holding events after ?1, of the tables bound
** from ?2 on (nTables of them; -1 for every table). The names are bound, not
** read through json_each(): a user table of that name would answer in its
** place. */
static char *changelogQuery(int nTables){
  sqlite3_str *pSql = sqlite3_str_new(0);
  int i;
  sqlite3_str_appendall(pSql,
      "SELECT last_lsn, first_lsn, tx_id, ts, tbl, cols, events"
      " FROM main._dosql_change_log WHERE last_lsn>?1");
  if( nTables>=0 ){
    sqlite3_str_appendall(pSql, " AND tbl IN (");
    for(i=0; i<nTables; i++) sqlite3_str_appendf(pSql, i ? ",?%d" : "?%d", i+2);
    sqlite3_str_appendchar(pSql, 1, ')');
  }
  sqlite3_str_appendall(pSql, " ORDER BY last_lsn");
  if( sqlite3_str_errcode(pSql)!=SQLITE_OK ){
    sqlite3_free(sqlite3_str_finish(pSql));
    return 0;
  }
  return sqlite3_str_finish(pSql);
}

/* Whether a JSON object changebatch.c assembled is valid in every reader. */
static int changelogObjectValid(sqlite3_str *pObject){
  int bValid;
  if( sqlite3_str_errcode(pObject)!=SQLITE_OK ) return SQLITE_NOMEM;
  bValid = requestCheckStored(sqlite3_str_value(pObject), sqlite3_str_length(pObject));
  return bValid<0 ? SQLITE_NOMEM : bValid ? SQLITE_OK : SQLITE_CORRUPT;
}

int changelogNextEvent(ChangeBatch *pBatch, int *pType, sqlite3_str *pData, sqlite3_str *pOld){
  int rc;
  sqlite3_str_reset(pData);
  sqlite3_str_reset(pOld);
  rc = changeBatchNext(pBatch, pType, pData, pOld);
  if( rc!=SQLITE_ROW ) return rc;
  rc = changelogObjectValid(pData);
  if( rc==SQLITE_OK && *pType==CHANGE_UPDATE ) rc = changelogObjectValid(pOld);
  return rc==SQLITE_OK ? SQLITE_ROW : rc;
}

/* Open a reader of the row pStmt is on (cols and events at iCols, iCols+1). */
static int changelogOpenRow(ChangeBatch *pBatch, sqlite3_stmt *pStmt, int iCols){
  const char *zCols = (const char*)sqlite3_column_text(pStmt, iCols);
  int nCols = sqlite3_column_bytes(pStmt, iCols);
  const char *zEvents = (const char*)sqlite3_column_text(pStmt, iCols+1);
  int nEvents = sqlite3_column_bytes(pStmt, iCols+1);
  if( zCols==0 || zEvents==0 ){
    memset(pBatch, 0, sizeof(*pBatch));
    return SQLITE_NOMEM;
  }
  return changeBatchOpen(pBatch, zCols, nCols, zEvents, nEvents);
}

int changelogCheckEvents(Conn *p, char **pzWhy){
  sqlite3_stmt *pStmt = 0;
  sqlite3_str *pData = sqlite3_str_new(0), *pOld = sqlite3_str_new(0);
  int rc = sqlite3_prepare_v2(p->db, "SELECT last_lsn, first_lsn, cols, events"
                              " FROM main._dosql_change_log ORDER BY last_lsn", -1, &pStmt, 0);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    sqlite3_int64 iLast = sqlite3_column_int64(pStmt, 0), n = 0;
    ChangeBatch batch;
    int type;
    rc = changelogOpenRow(&batch, pStmt, 2);
    while( rc==SQLITE_OK && (rc = changelogNextEvent(&batch, &type, pData, pOld))==SQLITE_ROW ){
      n++;
      rc = SQLITE_OK;
    }
    changeBatchClose(&batch);
    if( rc==SQLITE_DONE ) rc = n==iLast - sqlite3_column_int64(pStmt, 1) + 1 ? SQLITE_OK : SQLITE_CORRUPT;
    if( rc==SQLITE_CORRUPT ){
      *pzWhy = sqlite3_mprintf("the change-log row of last lsn %lld does not hold its events as "
                               "DoSQL writes them (one per lsn, rows as JSON objects every reader "
                               "reads alike)", iLast);
      rc = *pzWhy ? SQLITE_OK : SQLITE_NOMEM;
      break;
    }
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  else sqlite3_finalize(pStmt);
  sqlite3_free(sqlite3_str_finish(pData));
  sqlite3_free(sqlite3_str_finish(pOld));
  return rc;
}

/* Append event lsn iLsn of the row pStmt is on (a row of changelogQuery). */
static void changelogAppendEvent(sqlite3_str *pOut, sqlite3_stmt *pStmt, sqlite3_int64 iLsn,
                                 int type, sqlite3_str *pData, sqlite3_str *pOld){
  sqlite3_str_appendall(pOut, "{\"lsn\":");
  jsonAppendInteger(pOut, iLsn);
  sqlite3_str_appendall(pOut, ",\"txId\":");
  jsonAppendInteger(pOut, sqlite3_column_int64(pStmt, 2));
  sqlite3_str_appendall(pOut, ",\"timestamp\":");
  jsonAppendInteger(pOut, sqlite3_column_int64(pStmt, 3));
  sqlite3_str_appendf(pOut, ",\"type\":\"%s\",\"table\":", changeTypeName(type));
  jsonAppendColumn(pOut, pStmt, 4);
  sqlite3_str_appendall(pOut, ",\"data\":");
  sqlite3_str_append(pOut, sqlite3_str_value(pData), sqlite3_str_length(pData));
  if( type==CHANGE_UPDATE ){
    sqlite3_str_appendall(pOut, ",\"old\":");
    sqlite3_str_append(pOut, sqlite3_str_value(pOld), sqlite3_str_length(pOld));
  }
  sqlite3_str_appendchar(pOut, 1, '}');
}

/*
** Append to pOut the events after iSince of the row pStmt is on, while
** *pnEvent < nLimit and pOut is under DOSQL_CHANGES_PAGE_BYTES; *piNext is
** the lsn of the last one appended. SQLITE_OK when the row ran out, SQLITE_ROW
** when the page is full, else an error (SQLITE_CORRUPT: not as stored).
*/
static int changelogAppendRow(sqlite3_str *pOut, sqlite3_stmt *pStmt, sqlite3_int64 iSince,
                              sqlite3_int64 nLimit, sqlite3_int64 *pnEvent, sqlite3_int64 *piNext,
                              sqlite3_str *pData, sqlite3_str *pOld){
  sqlite3_int64 iFirst = sqlite3_column_int64(pStmt, 1), iLsn;
  ChangeBatch batch;
  int type;
  int rc;
  if( iFirst<1 || iFirst>sqlite3_column_int64(pStmt, 0) || !changelogLsnInRange(sqlite3_column_int64(pStmt, 0)) ){
    return SQLITE_CORRUPT;
  }
  iLsn = iFirst - 1;
  rc = changelogOpenRow(&batch, pStmt, 5);
  while( rc==SQLITE_OK && (rc = changelogNextEvent(&batch, &type, pData, pOld))==SQLITE_ROW ){
    rc = SQLITE_OK;
    if( ++iLsn<=iSince ) continue;
    if( (*pnEvent)++ ) sqlite3_str_appendchar(pOut, 1, ',');
    changelogAppendEvent(pOut, pStmt, iLsn, type, pData, pOld);
    *piNext = iLsn;
    if( *pnEvent>=nLimit || sqlite3_str_length(pOut)>DOSQL_CHANGES_PAGE_BYTES ) rc = SQLITE_ROW;
  }
  changeBatchClose(&batch);
  if( rc==SQLITE_DONE ) rc = iLsn==sqlite3_column_int64(pStmt, 0) ? SQLITE_OK : SQLITE_CORRUPT;
  return rc;
}

/* Fail the reply unless tables is absent or valid (changelogTablesValid) and
** names only tables whose changes are captured (a selection of others would
** never receive an event: a mistake to report, not to serve). */
static int changelogTables(Conn *p, Reply *pReply, const cJSON *pTables){
  const cJSON *pItem;
  if( !changelogTablesValid(pTables) ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST,
        "tables must be an array of 1 to %d table names (non-empty strings, "
        "%d bytes together); leave it out for every table",
        DOSQL_CHANGES_MAX_TABLES, DOSQL_CHANGES_MAX_TABLE_BYTES);
    return SQLITE_MISMATCH;
  }
  if( !cJSON_IsArray(pTables) ) return SQLITE_OK;
  cJSON_ArrayForEach(pItem, pTables){
    if( captureIsOwnTable(pItem->valuestring) ){
      replyFail(pReply, 400, DOSQL_BAD_REQUEST,
          "changes to %s are never captured (SQLite's and DoSQL's own tables)", pItem->valuestring);
      return SQLITE_MISMATCH;
    }
    if( !captureCovers(p, pItem->valuestring) ){
      replyFail(pReply, 400, DOSQL_BAD_REQUEST,
          "changes to %s are not captured: this database's changes.tables setting "
          "leaves it out (events logged before it did are read without a tables filter)",
          pItem->valuestring);
      return SQLITE_MISMATCH;
    }
  }
  return SQLITE_OK;
}

void changelogSelection(Conn *p, Reply *pReply, const cJSON *pBody){
  const cJSON *pTables = cJSON_GetObjectItemCaseSensitive(pBody, "tables");
  const cJSON *pSince = cJSON_GetObjectItemCaseSensitive(pBody, "since");
  sqlite3_str *pOut = replyBody(pReply);
  sqlite3_int64 iSince;
  int i = 0;
  const cJSON *pItem;
  if( changelogField(pReply, pBody, "since", 0, 0, DOSQL_MAX_SAFE_INTEGER, &iSince)
   || changelogTables(p, pReply, pTables) ){
    return;
  }
  sqlite3_str_appendall(pOut, "{\"tables\":");
  if( cJSON_IsArray(pTables) ){
    sqlite3_str_appendchar(pOut, 1, '[');
    cJSON_ArrayForEach(pItem, pTables){
      if( i++ ) sqlite3_str_appendchar(pOut, 1, ',');
      jsonAppendString(pOut, pItem->valuestring, -1);
    }
    sqlite3_str_appendchar(pOut, 1, ']');
  }else{
    sqlite3_str_appendall(pOut, "null");
  }
  sqlite3_str_appendall(pOut, ",\"since\":");
  if( pSince==0 || cJSON_IsNull(pSince) ) sqlite3_str_appendall(pOut, "null");
  else jsonAppendInteger(pOut, iSince);
  sqlite3_str_appendchar(pOut, 1, '}');
}

void changelogRead(Conn *p, Reply *pReply, const cJSON *pBody){
  const cJSON *pTables = cJSON_GetObjectItemCaseSensitive(pBody, "tables");
  sqlite3_str *pOut = replyBody(pReply);
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 iSince, nLimit, iHead, iOldest, iNext, nEvent = 0;
  int rc, bGap;

  if( changelogField(pReply, pBody, "since", 0, 0, DOSQL_MAX_SAFE_INTEGER, &iSince)
   || changelogField(pReply, pBody, "limit", DOSQL_CHANGES_PAGE_EVENTS, 1,
                     DOSQL_CHANGES_PAGE_EVENTS, &nLimit)
   || changelogTables(p, pReply, pTables) ){
    return;
  }
  if( changelogExtent(p, pReply, &iHead, &iOldest)!=SQLITE_OK ) return;
  /* No event is numbered at or below a replacement's floor (changelogLoadNumbers). */
  iHead = changelogIssued(p, iHead);
  /* Pruned past since, since ahead of the log, or since past the events a
  ** restore or an import kept and no point of this log: the reader saw
  ** events that are gone. */
  bGap = iSince>iHead || (iOldest>0 && iSince<iOldest-1);
  if( !bGap && iSince>p->iChangeKept && iSince<p->iChangeFloor ){
    int bHolds = 0;
    rc = changelogNumbersUnique(p) ? changelogHolds(p, iSince, &bHolds) : SQLITE_OK;
    if( rc!=SQLITE_OK ){
      connFail(p, pReply, rc);
      return;
    }
    bGap = !bHolds;
  }
  iNext = bGap ? iHead : iSince;
  sqlite3_str_appendall(pOut, "{\"events\":[");
  if( !bGap ){
    int nTables = cJSON_IsArray(pTables) ? cJSON_GetArraySize(pTables) : -1;
    char *zSql = changelogQuery(nTables);
    rc = zSql ? sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
    sqlite3_free(zSql);
    if( rc==SQLITE_OK ){
      sqlite3_str *pData = sqlite3_str_new(0), *pOld = sqlite3_str_new(0);
      const cJSON *pItem;
      int i = 2;
      sqlite3_bind_int64(pStmt, 1, iSince);
      if( nTables>0 ){
        cJSON_ArrayForEach(pItem, pTables){
          sqlite3_bind_text(pStmt, i++, pItem->valuestring, -1, SQLITE_STATIC);
        }
      }
      while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
        rc = changelogAppendRow(pOut, pStmt, iSince, nLimit, &nEvent, &iNext, pData, pOld);
        if( rc!=SQLITE_OK ) break;
      }
      sqlite3_free(sqlite3_str_finish(pData));
      sqlite3_free(sqlite3_str_finish(pOld));
      /* A page cut short by the limits continues after its last event; one
      ** that ran out of events has seen everything up to the head. */
      if( rc==SQLITE_DONE ){
        rc = SQLITE_OK;
        iNext = iHead;
      }else if( rc==SQLITE_ROW ){
        rc = SQLITE_OK;
      }
    }
    sqlite3_finalize(pStmt);
    if( rc==SQLITE_CORRUPT ){
      replyFail(pReply, 500, DOSQL_CHANGE_LOG_CORRUPT,
          "the change log holds an event that is not as DoSQL writes it, after lsn %lld", iNext);
      return;
    }
    if( rc!=SQLITE_OK ){
      connFail(p, pReply, rc);
      return;
    }
  }
  /* Every lsn as jsonAppendInteger writes integers: exact in any reader. */
  sqlite3_str_appendall(pOut, "],\"next\":");
  jsonAppendInteger(pOut, iNext);
  sqlite3_str_appendall(pOut, ",\"head\":");
  jsonAppendInteger(pOut, iHead);
  sqlite3_str_appendall(pOut, ",\"oldest\":");
  jsonAppendInteger(pOut, iOldest);
  sqlite3_str_appendf(pOut, ",\"gap\":%s}", bGap ? "true" : "false");
}

static void changelogPruneIn(Conn *p, Reply *pReply, const cJSON *pBody){
  sqlite3_int64 nKeep, nKeepMs, iHead = 0, iOldest = 0, iFresh = 0, iKeepFrom = 0, iTarget, iUpto, iTs = 0, iMore;
  sqlite3_int64 nDeleted = 0, nRemaining = 0, nKeepBytes, iBytesFrom = 0;
  int rc, bNull = 1, bMoreNull = 1;
  if( changelogField(pReply, pBody, "keepEvents", -1, 0, DOSQL_MAX_SAFE_INTEGER, &nKeep)
   || changelogField(pReply, pBody, "keepMs", -1, 0, DOSQL_MAX_SAFE_INTEGER, &nKeepMs)
   || changelogField(pReply, pBody, "keepBytes", DOSQL_MAX_SAFE_INTEGER, 0, DOSQL_MAX_SAFE_INTEGER, &nKeepBytes) ){
    return;
  }
  if( nKeep<0 || nKeepMs<0 ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "keepEvents and keepMs are required");
    return;
  }
  if( connBegin(p, pReply)!=SQLITE_OK ) return;
  if( changelogExtent(p, pReply, &iHead, &iOldest)!=SQLITE_OK ) return;
  /* The first event young enough to keep (ts grows with lsn): the scan from
  ** the oldest visits only the rows about to go. */
  rc = changelogScalar(p, "SELECT first_lsn FROM main._dosql_change_log WHERE ts>=?1"
                       " ORDER BY last_lsn LIMIT 1",
                       (sqlite3_int64)dosql_host_now_ms() - nKeepMs, &iFresh, &bNull);
  if( bNull ) iFresh = iHead+1;
  /* The oldest of the newest nKeep events, counted row by row from the newest:
  ** not head-nKeep, as numbers jump past a restore or an import. */
  if( rc==SQLITE_OK ){
    rc = changelogScalar(p, "SELECT first_lsn + (n - ?1) FROM (SELECT first_lsn,"
                         " sum(last_lsn - first_lsn + 1) OVER (ORDER BY last_lsn DESC) AS n"
                         " FROM main._dosql_change_log) WHERE n>=?1 ORDER BY n LIMIT 1",
                         nKeep, &iKeepFrom, &bNull);
    if( bNull ) iKeepFrom = iOldest;                   /* fewer than nKeep: keep them all */
  }
  /* The first row of the newest that together hold at most nKeepBytes of
  ** events (a row whose values are large holds them all, every column of
  ** every event: without this, a few hundred updates of a large row keep
  ** gigabytes). octet_length() reads the sizes, not the values. */
  if( rc==SQLITE_OK ){
    rc = changelogScalar(p, "SELECT first_lsn FROM (SELECT first_lsn, sum(octet_length(events)"
                         " + octet_length(cols)) OVER (ORDER BY last_lsn DESC) AS n"
                         " FROM main._dosql_change_log) WHERE n<=?1 ORDER BY n DESC LIMIT 1",
                         nKeepBytes, &iBytesFrom, &bNull);
    if( bNull ) iBytesFrom = iHead;                    /* the newest row alone is more */
  }
  /* A forged row's lsns could overflow below. */
  if( rc==SQLITE_OK && !(changelogPointInRange(iFresh) && changelogPointInRange(iKeepFrom)
                        && changelogPointInRange(iBytesFrom)) ){
    replyFail(pReply, 500, DOSQL_CHANGE_LOG_CORRUPT, "the change log's lsns are out of range");
    return;
  }
  iTarget = iKeepFrom-1 > iFresh-1 ? iKeepFrom-1 : iFresh-1;
  if( iBytesFrom-1 > iTarget ) iTarget = iBytesFrom-1;
  if( iTarget>iHead-1 ) iTarget = iHead-1;             /* keep the newest */
  iUpto = iTarget;
  if( iUpto>iOldest+DOSQL_PRUNE_BATCH-1 ) iUpto = iOldest+DOSQL_PRUNE_BATCH-1;
  /* Rows go whole: up to the last one that ends by iUpto, and at least the
  ** oldest when it ends by iTarget, so that every call that says "more" has
  ** deleted something (a row of an imported file may hold more events than
  ** DOSQL_PRUNE_BATCH). */
  if( rc==SQLITE_OK ){
    rc = changelogScalar(p, "SELECT max(last_lsn) FROM main._dosql_change_log WHERE last_lsn<=?1",
                         iUpto, &iUpto, &bNull);
    if( bNull ) iUpto = iOldest>0 ? iOldest-1 : 0;
  }
  if( rc==SQLITE_OK && iUpto<iOldest && iOldest>0 ){
    sqlite3_int64 iFirstEnd;
    rc = changelogScalar(p, "SELECT last_lsn FROM main._dosql_change_log ORDER BY last_lsn LIMIT 1",
                         0, &iFirstEnd, &bNull);
    if( !bNull && iFirstEnd<=iTarget ) iUpto = iFirstEnd;
  }
  if( rc==SQLITE_OK && iUpto>=iOldest && iOldest>0 ){
    rc = changelogScalar(p, "SELECT total(last_lsn - first_lsn + 1) FROM main._dosql_change_log"
                         " WHERE last_lsn<=?1", iUpto, &nDeleted, &bNull);
  }
  if( rc==SQLITE_OK && nDeleted>0 ){
    sqlite3_stmt *pDelete = 0;
    DosqlChangeCounts counts;
    dosqlSaveChangeCounts(p->db, &counts);   /* the log's rows are not the user's */
    p->bTrusted = 1;                   /* the change log is read-only to user SQL */
    rc = sqlite3_prepare_v2(p->db, "DELETE FROM main._dosql_change_log WHERE last_lsn<=?1",
                            -1, &pDelete, 0);
    if( rc==SQLITE_OK ){
      sqlite3_bind_int64(pDelete, 1, iUpto);
      rc = sqlite3_step(pDelete)==SQLITE_DONE ? SQLITE_OK : sqlite3_reset(pDelete);
    }
    sqlite3_finalize(pDelete);
    p->bTrusted = 0;
    dosqlRestoreChangeCounts(p->db, &counts);
  }
  /* More to do when a row that ends by iTarget is left (DOSQL_PRUNE_BATCH). */
  if( rc==SQLITE_OK ){
    rc = changelogScalar(p, "SELECT last_lsn FROM main._dosql_change_log WHERE last_lsn<=?1 LIMIT 1",
                         iTarget, &iMore, &bMoreNull);
  }
  if( rc==SQLITE_OK ){
    rc = changelogScalar(p, "SELECT total(last_lsn - first_lsn + 1) FROM main._dosql_change_log"
                         " WHERE last_lsn>?1", iUpto, &nRemaining, &bNull);
  }
  if( rc==SQLITE_OK ){
    rc = changelogScalar(p, "SELECT ts FROM main._dosql_change_log WHERE last_lsn>?1"
                         " ORDER BY last_lsn LIMIT 1", iUpto, &iTs, &bNull);
  }
  if( rc!=SQLITE_OK ){
    connFail(p, pReply, rc);
    return;
  }
  /* Counted, not taken from lsns: numbers jump past a restore or an import. */
  sqlite3_str_appendf(replyBody(pReply), "{\"deleted\":%lld,\"remaining\":%lld,\"oldestTimestamp\":",
                      nDeleted, nRemaining);
  if( bNull ) sqlite3_str_appendall(replyBody(pReply), "null");
  else jsonAppendInteger(replyBody(pReply), iTs);
  sqlite3_str_appendf(replyBody(pReply), ",\"more\":%s}", bMoreNull ? "false" : "true");
  connCommitIfAnswered(p, pReply);
}

void changelogPrune(Conn *p, Reply *pReply, const cJSON *pBody){
  changelogUpkeep(p, pReply, pBody, changelogPruneIn);
}

void changelogCapture(Conn *p, Reply *pReply, const cJSON *pBody){
  const cJSON *pTables = cJSON_GetObjectItemCaseSensitive(pBody, "tables");
  const char *azTable[DOSQL_CHANGES_MAX_TABLES];
  const cJSON *pItem;
  int n = 0;
  if( !p->capture.bEnabled ){
    replyFail(pReply, 500, DOSQL_BAD_CONFIG,
        "changes.tables needs change capture on (the settings say changes: false)");
    return;
  }
  if( !cJSON_IsArray(pTables) || !changelogTablesValid(pTables) ){
    replyFail(pReply, 500, DOSQL_BAD_CONFIG,
        "changes.tables must be an array of 1 to %d table names (non-empty strings); "
        "leave it out to capture every table, or set changes: false to capture none",
        DOSQL_CHANGES_MAX_TABLES);
    return;
  }
  cJSON_ArrayForEach(pItem, pTables){
    const char *zName = pItem->valuestring;
    if( captureIsOwnTable(zName) ){
      replyFail(pReply, 500, DOSQL_BAD_CONFIG,
          "changes.tables names %s, whose changes are never captured "
          "(SQLite's and DoSQL's own tables)", zName);
      return;
    }
    azTable[n++] = zName;
  }
  if( captureOnly(p, azTable, n)!=SQLITE_OK ){
    connFail(p, pReply, SQLITE_NOMEM);
    return;
  }
  sqlite3_str_appendf(replyBody(pReply), "{\"tables\":%d}", n);
}
