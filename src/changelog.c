/*
** changelog.c — the endpoints over the change log (contract in changelog.h).
**
** lsns are gap-free (capture.c numbers each event after the newest, and SQLite
** undoes rolled-back numbers with their rows), so the log's extent is two
** index lookups, and "events after since were pruned" is since < oldest-1.
*/
#include <math.h>

#include "changelog.h"
#include "config.h"
#include "errors.h"
#include "host.h"
#include "json.h"

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

/* The newest and the oldest lsn (0 and 0 while the log is empty). */
static int changelogExtent(Conn *p, sqlite3_int64 *piHead, sqlite3_int64 *piOldest){
  int bNull;
  int rc = changelogScalar(p, "SELECT max(lsn) FROM _dosql_changes", 0, piHead, &bNull);
  if( rc==SQLITE_OK ) rc = changelogScalar(p, "SELECT min(lsn) FROM _dosql_changes", 0, piOldest, &bNull);
  return rc;
}

/* Whether tables is absent, or an array of non-empty strings. */
static int changelogTablesValid(const cJSON *pTables){
  const cJSON *pItem;
  if( pTables==0 || cJSON_IsNull(pTables) ) return 1;
  if( !cJSON_IsArray(pTables) ) return 0;
  cJSON_ArrayForEach(pItem, pTables){
    if( !cJSON_IsString(pItem) || pItem->valuestring[0]==0 ) return 0;
  }
  return 1;
}

/* The names of a valid tables array as a JSON array for json_each()
** (sqlite3_malloc'd), or 0 when out of memory. Written here rather than by
** cJSON's printer, which would pull stdio into the module. */
static char *changelogNames(const cJSON *pTables){
  sqlite3_str *pOut = sqlite3_str_new(0);
  const cJSON *pItem;
  sqlite3_str_appendchar(pOut, 1, '[');
  cJSON_ArrayForEach(pItem, pTables){
    if( pItem!=pTables->child ) sqlite3_str_appendchar(pOut, 1, ',');
    jsonAppendString(pOut, pItem->valuestring, -1);
  }
  sqlite3_str_appendchar(pOut, 1, ']');
  if( sqlite3_str_errcode(pOut)!=SQLITE_OK ){
    sqlite3_free(sqlite3_str_finish(pOut));
    return 0;
  }
  return sqlite3_str_finish(pOut);
}

/* Append one stored event (a row of the read in changelogRead) as JSON. */
static void changelogAppendEvent(sqlite3_str *pOut, sqlite3_stmt *pStmt){
  sqlite3_str_appendall(pOut, "{\"lsn\":");
  jsonAppendInteger(pOut, sqlite3_column_int64(pStmt, 0));
  sqlite3_str_appendall(pOut, ",\"txId\":");
  jsonAppendInteger(pOut, sqlite3_column_int64(pStmt, 1));
  sqlite3_str_appendall(pOut, ",\"timestamp\":");
  jsonAppendInteger(pOut, sqlite3_column_int64(pStmt, 2));
  sqlite3_str_appendall(pOut, ",\"type\":");
  jsonAppendColumn(pOut, pStmt, 3);
  sqlite3_str_appendall(pOut, ",\"table\":");
  jsonAppendColumn(pOut, pStmt, 4);
  /* data and old were written as JSON by capture.c: copy them as they are. */
  sqlite3_str_appendall(pOut, ",\"data\":");
  sqlite3_str_appendall(pOut, (const char*)sqlite3_column_text(pStmt, 5));
  if( sqlite3_column_type(pStmt, 6)!=SQLITE_NULL ){
    sqlite3_str_appendall(pOut, ",\"old\":");
    sqlite3_str_appendall(pOut, (const char*)sqlite3_column_text(pStmt, 6));
  }
  sqlite3_str_appendchar(pOut, 1, '}');
}

void changelogRead(Conn *p, Reply *pReply, const cJSON *pBody){
  const cJSON *pTables = cJSON_GetObjectItemCaseSensitive(pBody, "tables");
  sqlite3_str *pOut = replyBody(pReply);
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 iSince, nLimit, iHead, iOldest, iNext, nEvent = 0;
  char *zTables = 0;
  int rc, bGap;

  if( changelogField(pReply, pBody, "since", 0, 0, DOSQL_MAX_SAFE_INTEGER, &iSince)
   || changelogField(pReply, pBody, "limit", DOSQL_CHANGES_PAGE_EVENTS, 1,
                     DOSQL_CHANGES_PAGE_EVENTS, &nLimit) ){
    return;
  }
  if( !changelogTablesValid(pTables) ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "tables must be an array of table names");
    return;
  }
  rc = changelogExtent(p, &iHead, &iOldest);
  if( rc!=SQLITE_OK ){
    connFail(p, pReply, rc);
    return;
  }
  /* Pruned past since, or since is ahead of the log (an imported database). */
  bGap = iSince>iHead || (iOldest>0 && iSince<iOldest-1);
  iNext = bGap ? iHead : iSince;
  sqlite3_str_appendall(pOut, "{\"events\":[");
  if( !bGap ){
    if( pTables && cJSON_IsArray(pTables) ){
      zTables = changelogNames(pTables);
      if( zTables==0 ){
        connFail(p, pReply, SQLITE_NOMEM);
        return;
      }
    }
    rc = sqlite3_prepare_v2(p->db,
        "SELECT lsn, tx_id, ts, type, tbl, data, old FROM _dosql_changes"
        " WHERE lsn>?1 AND (?2 IS NULL OR tbl IN (SELECT value FROM json_each(?2)))"
        " ORDER BY lsn LIMIT ?3", -1, &pStmt, 0);
    if( rc==SQLITE_OK ){
      sqlite3_bind_int64(pStmt, 1, iSince);
      if( zTables ) sqlite3_bind_text(pStmt, 2, zTables, -1, SQLITE_STATIC);
      sqlite3_bind_int64(pStmt, 3, nLimit);
      while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
        if( nEvent++ ) sqlite3_str_appendchar(pOut, 1, ',');
        changelogAppendEvent(pOut, pStmt);
        iNext = sqlite3_column_int64(pStmt, 0);
        if( sqlite3_str_length(pOut)>DOSQL_CHANGES_PAGE_BYTES ) break;
      }
      /* A page cut short by the limits continues after its last event; one
      ** that ran out of events has seen everything up to the head. */
      if( rc==SQLITE_DONE ){
        rc = SQLITE_OK;
        if( nEvent<nLimit ) iNext = iHead;
      }else if( rc==SQLITE_ROW ){
        rc = SQLITE_OK;
      }
    }
    sqlite3_finalize(pStmt);
    sqlite3_free(zTables);
    if( rc!=SQLITE_OK ){
      connFail(p, pReply, rc);
      return;
    }
  }
  sqlite3_str_appendf(pOut, "],\"next\":%lld,\"head\":%lld,\"oldest\":%lld,\"gap\":%s}",
                      iNext, iHead, iOldest, bGap ? "true" : "false");
}

void changelogPrune(Conn *p, Reply *pReply, const cJSON *pBody){
  sqlite3_int64 nKeep, nKeepMs, iHead = 0, iOldest = 0, iFresh = 0, iTarget, iUpto, iTs = 0;
  int rc, bNull = 1;
  if( changelogField(pReply, pBody, "keepEvents", -1, 0, DOSQL_MAX_SAFE_INTEGER, &nKeep)
   || changelogField(pReply, pBody, "keepMs", -1, 0, DOSQL_MAX_SAFE_INTEGER, &nKeepMs) ){
    return;
  }
  if( nKeep<0 || nKeepMs<0 ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "keepEvents and keepMs are required");
    return;
  }
  if( connBegin(p, pReply)!=SQLITE_OK ) return;
  rc = changelogExtent(p, &iHead, &iOldest);
  /* The first event young enough to keep (ts grows with lsn): the scan from
  ** the oldest visits only the events about to go. */
  if( rc==SQLITE_OK ){
    rc = changelogScalar(p, "SELECT lsn FROM _dosql_changes WHERE ts>=?1 ORDER BY lsn LIMIT 1",
                         (sqlite3_int64)dosql_host_now_ms() - nKeepMs, &iFresh, &bNull);
    if( bNull ) iFresh = iHead+1;
  }
  iTarget = iHead-nKeep > iFresh-1 ? iHead-nKeep : iFresh-1;
  if( iTarget>iHead-1 ) iTarget = iHead-1;             /* keep the newest */
  iUpto = iTarget;
  if( iUpto>iOldest+DOSQL_PRUNE_BATCH-1 ) iUpto = iOldest+DOSQL_PRUNE_BATCH-1;
  if( rc==SQLITE_OK && iUpto>=iOldest && iOldest>0 ){
    sqlite3_stmt *pDelete = 0;
    p->bTrusted = 1;                   /* _dosql_changes is read-only to user SQL */
    rc = sqlite3_prepare_v2(p->db, "DELETE FROM _dosql_changes WHERE lsn<=?1", -1, &pDelete, 0);
    if( rc==SQLITE_OK ){
      sqlite3_bind_int64(pDelete, 1, iUpto);
      rc = sqlite3_step(pDelete)==SQLITE_DONE ? SQLITE_OK : sqlite3_reset(pDelete);
    }
    sqlite3_finalize(pDelete);
    p->bTrusted = 0;
  }else{
    iUpto = iOldest>0 ? iOldest-1 : 0;                 /* nothing to delete */
  }
  if( rc==SQLITE_OK ){
    rc = changelogScalar(p, "SELECT ts FROM _dosql_changes WHERE lsn=?1", iUpto+1, &iTs, &bNull);
  }
  if( rc!=SQLITE_OK ){
    connFail(p, pReply, rc);
    return;
  }
  sqlite3_str_appendf(replyBody(pReply), "{\"deleted\":%lld,\"remaining\":%lld,\"oldestTimestamp\":",
                      iOldest>0 ? iUpto-iOldest+1 : 0, iHead>0 ? iHead-iUpto : 0);
  if( bNull ) sqlite3_str_appendall(replyBody(pReply), "null");
  else jsonAppendInteger(replyBody(pReply), iTs);
  sqlite3_str_appendf(replyBody(pReply), ",\"more\":%s}", iUpto<iTarget ? "true" : "false");
  connCommitIfAnswered(p, pReply);
}
