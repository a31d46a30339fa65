/*
** history.c — points of the database's history, and reads at them (history.h).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "changelog.h"
#include "errors.h"
#include "history.h"
#include "host.h"
#include "json.h"

/* A bookmark is an lsn as this many hex digits: they sort as lsns do. The engine
** writes them in lowercase and reads either case. */
#define BOOKMARK_DIGITS 16

/* Largest lsn: a double holds every whole number up to 2^53 exactly. */
#define MAX_LSN 9007199254740992.0

/* The lsn a string of decimal digits names (as a query string gives one), or -1;
** past MAX_LSN, some number past it (a point after every commit). */
static double digitsLsn(const char *z){
  double lsn = 0;
  if( *z==0 ) return -1;
  for(; *z; z++){
    if( *z<'0' || *z>'9' ) return -1;
    if( lsn<=MAX_LSN ) lsn = lsn*10 + (*z-'0');
  }
  return lsn;
}

/* Whether z is digits with a leading zero, but not a bookmark's 16: no lsn is
** written so, but a bookmark cut short (or lengthened) is, and read as an lsn it
** would name another point. */
static int paddedDigits(const char *z){
  size_t n = strlen(z), i;
  if( n<2 || n==BOOKMARK_DIGITS || z[0]!='0' ) return 0;
  for(i=0; i<n; i++){
    if( z[i]<'0' || z[i]>'9' ) return 0;
  }
  return 1;
}

/* The Julian day of 1970-01-01 00:00 UTC, where the epoch of times in ms begins. */
#define JULIAN_DAY_OF_EPOCH 2440587.5

/* Whether SQLite would read z as a number that names a day before 1970 ("2.0",
** " 4", "+2", "1e0", "1.5"): as a time it is a Julian day no commit can be at,
** and it is no lsn, which is digits alone; an lsn written oddly, then. A Julian
** day since 1970 ("2460000.5") is a time. */
static int oldDayText(const char *z){
  char *zEnd = 0;
  double v;
  while( *z==' ' || *z=='\t' || *z=='\n' || *z=='\r' ) z++;
  if( *z==0 || !(*z=='+' || *z=='-' || *z=='.' || (*z>='0' && *z<='9')) ) return 0;
  v = strtod(z, &zEnd);
  if( zEnd==z ) return 0;
  while( *zEnd==' ' || *zEnd=='\t' || *zEnd=='\n' || *zEnd=='\r' ) zEnd++;
  return *zEnd==0 && v<JULIAN_DAY_OF_EPOCH;
}

/* The lsn a bookmark names (past MAX_LSN for one after every commit), or -1 when
** z is not one. */
static double bookmarkLsn(const char *z){
  double lsn = 0;
  int i;
  if( strlen(z)!=BOOKMARK_DIGITS ) return -1;
  for(i=0; i<BOOKMARK_DIGITS; i++){
    char c = z[i];
    int d = c>='0' && c<='9' ? c-'0' : c>='a' && c<='f' ? c-'a'+10
          : c>='A' && c<='F' ? c-'A'+10 : -1;
    if( d<0 ) return -1;
    lsn = lsn*16 + d;
  }
  return lsn;
}

/* Milliseconds since the epoch of a time SQLite reads (negative before 1970),
** or NAN when it reads none. */
static double timeMs(Conn *pConn, const char *z){
  sqlite3_stmt *pStmt = 0;
  double ms = NAN;
  pConn->bTrusted = 1;
  if( sqlite3_prepare_v2(pConn->db, "SELECT unixepoch(?1, 'subsec')", -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_bind_text(pStmt, 1, z, -1, SQLITE_STATIC)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW
   && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
    ms = sqlite3_column_double(pStmt, 0)*1000.0;
  }
  sqlite3_finalize(pStmt);
  pConn->bTrusted = 0;
  return ms;
}

/* The answer of a storage that keeps no history. */
static void failUnsupported(Reply *pReply){
  replyFail(pReply, 501, DOSQL_HISTORY_UNSUPPORTED,
      "this object keeps no history: its pages are in key-value storage; history needs a "
      "SQLite-backed Durable Object (new_sqlite_classes in wrangler.toml)");
}

int historyUnsupported(Reply *pReply){
  double a[DOSQL_HISTORY_N];
  if( dosql_host_history_info(a, DOSQL_HISTORY_N)==0 ) return 0;
  failUnsupported(pReply);
  return 1;
}

/* An lsn from here up is taken for a time in ms meant as an lsn (1973 and on): no
** database commits 10^11 times. */
#define HISTORY_LSN_LIKE_TIME 1e11

/* How a point older than history was read, for its error: " (the time ...)" or
** " (lsn N)", so that text read as a time it did not mean ("1.5", a Julian day)
** says so. sqlite3_free() it. */
static char *pointAsRead(Conn *pConn, int kind, double value){
  /* A time is printed to the millisecond it falls in (strftime would round it up
  ** to the next, which may be oldestTime: a refused time would read as one allowed). */
  sqlite3_stmt *pStmt = 0;
  char *z = 0;
  if( kind==DOSQL_POINT_LSN ) return sqlite3_mprintf(" (lsn %lld)", (sqlite3_int64)value);
  pConn->bTrusted = 1;
  if( sqlite3_prepare_v2(pConn->db, "SELECT strftime('%Y-%m-%d %H:%M:%f', ?1 / 1000.0, 'unixepoch')", -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_bind_double(pStmt, 1, floor(value))==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW
   && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
    z = sqlite3_mprintf(" (the time %s UTC)", (const char*)sqlite3_column_text(pStmt, 0));
  }
  sqlite3_finalize(pStmt);
  pConn->bTrusted = 0;
  /* Past the years SQLite's dates reach: the number as it came. */
  return z ? z : sqlite3_mprintf(" (the time %g ms since the epoch)", value);
}

/* Whether the host's answer lsn for the point zField (value, of kind) is a
** failure: then the reply says which. */
static int lookupFailed(Conn *pConn, Reply *pReply, double lsn, const char *zField, int kind, double value){
  if( lsn>=0 ) return 0;
  if( lsn==DOSQL_HISTORY_NONE ){
    failUnsupported(pReply);
  }else if( lsn==DOSQL_HISTORY_BEFORE ){
    char *zAsRead = pointAsRead(pConn, kind, value);
    double a[DOSQL_HISTORY_N];
    if( dosql_host_history_info(a, DOSQL_HISTORY_N)==0 ){
      replyFail(pReply, 410, DOSQL_POINT_TOO_OLD, "%s%s is older than the oldest point history keeps, "
          "lsn %lld (GET /history gives it, and as oldestTime the earliest time that names a point)",
          zField, zAsRead ? zAsRead : "", (sqlite3_int64)a[DOSQL_HISTORY_OLDEST_LSN]);
    }else{
      replyFail(pReply, 410, DOSQL_POINT_TOO_OLD,
          "%s%s is older than the oldest point history keeps (GET /history says which)", zField, zAsRead ? zAsRead : "");
    }
    sqlite3_free(zAsRead);
  }else if( lsn==DOSQL_HISTORY_AFTER ){
    /* A number is an lsn; one the size of a time in ms (Date.now()) was meant as one. */
    replyFail(pReply, 400, DOSQL_POINT_IN_FUTURE,
        "%s names lsn %lld, which no commit has reached (GET /history gives the newest)%s",
        zField, (sqlite3_int64)value, kind==DOSQL_POINT_LSN && value>=HISTORY_LSN_LIKE_TIME
        ? ": a number is an lsn, a count of commits; name a time as {\"time\": ms since the epoch}"
          " or as a date string" : "");
  }else{
    replyFail(pReply, dosqlResultStatus(SQLITE_IOERR), dosqlResultName(SQLITE_IOERR),
        "storage failed to find the point %s names", zField);
  }
  return 1;
}

/* The lsn of a point object as GET /history and /restore answer one, {lsn,
** bookmark} (either alone too, agreeing when both are there); NAN if pPoint is
** none: another field, or a value that names no lsn. */
static double pointObjectLsn(const cJSON *pPoint){
  const cJSON *p;
  double lsn = NAN;
  for(p=pPoint->child; p; p=p->next){
    double v;
    if( strcmp(p->string, "lsn")==0 && cJSON_IsNumber(p) && p->valuedouble>=0
     && p->valuedouble==floor(p->valuedouble) ){
      v = p->valuedouble;
    }else if( strcmp(p->string, "bookmark")==0 && cJSON_IsString(p) && bookmarkLsn(p->valuestring)>=0 ){
      v = bookmarkLsn(p->valuestring);
    }else{
      return NAN;
    }
    if( !isnan(lsn) && lsn!=v ) return NAN;
    lsn = v;
  }
  return lsn;
}

int historyResolve(Conn *pConn, Reply *pReply, const cJSON *pPoint, const char *zField, double *pLsn){
  const cJSON *pTime = cJSON_GetObjectItemCaseSensitive(pPoint, "time");
  int kind = DOSQL_POINT_LSN, bPadded = 0;
  double value = NAN, asRead, lsn;
  /* A point object as text (GET /export?asOf=, a query string, holds only text). */
  if( cJSON_IsString(pPoint) && pPoint->valuestring[0]=='{' ){
    cJSON *pParsed = cJSON_Parse(pPoint->valuestring);
    if( cJSON_IsObject(pParsed) ){
      int rc = historyResolve(pConn, pReply, pParsed, zField, pLsn);
      cJSON_Delete(pParsed);
      return rc;
    }
    cJSON_Delete(pParsed);
  }
  if( cJSON_IsString(pPoint) && oldDayText(pPoint->valuestring) && digitsLsn(pPoint->valuestring)<0
   && bookmarkLsn(pPoint->valuestring)<0 ){
    replyFail(pReply, 400, DOSQL_BAD_POINT,
        "%s \"%.32s%s\" is a number written as text, but no lsn (digits alone: no sign, point, exponent "
        "or blank) nor a time (SQLite would read it as a Julian day before 1970, when no commit was): "
        "write an lsn as digits, a time as a date (\"2026-12-01 12:00:00\")",
        zField, pPoint->valuestring, strlen(pPoint->valuestring)>32 ? "..." : "");
    return SQLITE_MISUSE;
  }
  if( cJSON_IsNumber(pPoint) ){
    value = pPoint->valuedouble;
    if( !(value>=0 && value==floor(value)) ) value = NAN;
  }else if( cJSON_IsString(pPoint) ){
    value = bookmarkLsn(pPoint->valuestring);
    bPadded = value<0 && paddedDigits(pPoint->valuestring);
    if( bPadded ) value = NAN;
    else if( value<0 ) value = digitsLsn(pPoint->valuestring);
    if( value<0 ){
      kind = DOSQL_POINT_TIME;
      value = timeMs(pConn, pPoint->valuestring);
    }
  }else if( cJSON_IsObject(pPoint) && cJSON_IsNumber(pTime) && pPoint->child->next==0 ){
    kind = DOSQL_POINT_TIME;
    /* A time after every commit names the newest, one before 1970 none (below). */
    value = pTime->valuedouble>MAX_LSN ? MAX_LSN : pTime->valuedouble;
  }else if( cJSON_IsObject(pPoint) ){
    value = pointObjectLsn(pPoint);
  }
  /* A time before 1970 is a time: older than any point history keeps. */
  asRead = value;
  if( kind==DOSQL_POINT_TIME && value<0 ) value = -1.0;
  /* A storage without history says so whatever the point (asked only here, where
  ** no lookup would): a key-value object answers 501 to every history request. */
  if( isnan(value) && dosql_host_history_point(DOSQL_POINT_LSN, 0)==DOSQL_HISTORY_NONE ){
    failUnsupported(pReply);
    return SQLITE_ERROR;
  }
  if( bPadded ){
    /* Named by its first digits: the text may be as long as the request. */
    replyFail(pReply, 400, DOSQL_BAD_POINT,
        "%s \"%.32s%s\" (%d digits) is neither an lsn (written without leading zeros) nor a "
        "bookmark (16 hex digits, as GET /history gives): a bookmark cut short, or lengthened?",
        zField, pPoint->valuestring, strlen(pPoint->valuestring)>32 ? "..." : "",
        (int)strlen(pPoint->valuestring));
    return SQLITE_MISUSE;
  }
  if( isnan(value) ){
    replyFail(pReply, 400, DOSQL_BAD_POINT,
        "%s must name a point: an lsn (a whole number), a bookmark (16 hex digits, as GET /history "
        "gives), a point as GET /history gives it ({\"lsn\", \"bookmark\"}), a time SQLite reads "
        "(\"2026-12-01 12:00:00\", ISO 8601) or {\"time\": ms since the epoch}",
        zField);
    return SQLITE_MISUSE;
  }
  if( kind==DOSQL_POINT_LSN && value>=MAX_LSN ){
    replyFail(pReply, 400, DOSQL_POINT_IN_FUTURE,
        "%s names a point past every commit: lsns stay below 2^53 (GET /history gives the newest)", zField);
    return SQLITE_ERROR;
  }
  lsn = dosql_host_history_point(kind, value);
  if( lookupFailed(pConn, pReply, lsn, zField, kind, asRead) ) return SQLITE_ERROR;
  *pLsn = lsn;
  return SQLITE_OK;
}

/* A read-only connection to the database as of lsn (connOpenView), or 0 with
** the reply saying why. viewClose() ends it. */
static Conn *viewOpen(Conn *pConn, Reply *pReply, double lsn){
  Conn *pView = sqlite3_malloc64(sizeof(*pView));
  if( pView==0 ){
    connFail(pConn, pReply, SQLITE_NOMEM);
    return 0;
  }
  memset(pView, 0, sizeof(*pView));
  if( connOpenView(pView, lsn, (unsigned)pConn->nCpuBudgetMs, pReply)!=SQLITE_OK ){
    sqlite3_free(pView);
    return 0;
  }
  return pView;
}

static void viewClose(Conn *pView){
  connClose(pView);
  sqlite3_free(pView);
}

int historyRunAsOf(Conn *pConn, Reply *pReply, const cJSON *pBody, HistoryEndpoint xEndpoint){
  const cJSON *pPoint = cJSON_GetObjectItemCaseSensitive(pBody, "asOf");
  Conn *pView;
  double lsn;
  if( pPoint==0 || pConn->bView ) return 0;
  if( pConn->bInteractive ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "a transaction reads its own state: asOf is read "
        "outside it (send the read without the transaction header)");
    return 1;
  }
  if( historyResolve(pConn, pReply, pPoint, "asOf", &lsn)!=SQLITE_OK ) return 1;
  if( (pView = viewOpen(pConn, pReply, lsn))!=0 ){
    connStartRequest(pView, 0);
    budgetCarry(&pView->budget, &pConn->budget);
    xEndpoint(pView, pReply, pBody);
    if( pReply->zCode && strncmp(pReply->zCode, "SQLITE_READONLY", 15)==0 ){
      replyAmend(pReply, 400, pReply->zCode, ": a point in history (asOf) is read-only");
    }
    connFinish(pView, pReply);
    budgetCarry(&pConn->budget, &pView->budget);   /* what a retry after a fault goes on with */
    viewClose(pView);
  }
  return 1;
}

void historyAppendPoint(sqlite3_str *pOut, double lsn){
  sqlite3_str_appendf(pOut, "{\"lsn\":%lld,\"bookmark\":\"%0*llx\"}",
      (sqlite3_int64)lsn, BOOKMARK_DIGITS, (sqlite3_uint64)lsn);
}

void historyInfo(Conn *pConn, Reply *pReply, const cJSON *pBody){
  double a[DOSQL_HISTORY_N];
  sqlite3_str *pOut = replyBody(pReply);
  (void)pConn; (void)pBody;
  if( dosql_host_history_info(a, DOSQL_HISTORY_N)!=0 ){
    failUnsupported(pReply);
    return;
  }
  sqlite3_str_appendall(pOut, "{\"current\":");
  historyAppendPoint(pOut, a[DOSQL_HISTORY_LSN]);
  sqlite3_str_appendall(pOut, ",\"oldest\":");
  historyAppendPoint(pOut, a[DOSQL_HISTORY_OLDEST_LSN]);
  sqlite3_str_appendall(pOut, ",\"oldestTime\":");
  if( a[DOSQL_HISTORY_OLDEST_TIME]<0 ) sqlite3_str_appendall(pOut, "null");
  else jsonAppendInteger(pOut, (sqlite3_int64)a[DOSQL_HISTORY_OLDEST_TIME]);
  sqlite3_str_appendf(pOut, ",\"windowMs\":%lld,\"bytes\":%lld,\"logRows\":%lld}",
      (sqlite3_int64)a[DOSQL_HISTORY_WINDOW_MS], (sqlite3_int64)a[DOSQL_HISTORY_BYTES],
      (sqlite3_int64)a[DOSQL_HISTORY_LOG_ROWS]);
}

/* The newest change event in the log as of lsn (0 without one, or without a
** log then); SQLITE_OK, or an error the reply says. */
static int changeHeadAt(Conn *pConn, Reply *pReply, double lsn, sqlite3_int64 *piHead){
  Conn *pView = viewOpen(pConn, pReply, lsn);
  *piHead = 0;
  if( pView==0 ) return SQLITE_ERROR;
  pView->bTrusted = 1;
  changelogHeadAt(pView, piHead);
  viewClose(pView);
  return SQLITE_OK;
}

void historyRestoreCheck(Conn *pConn, Reply *pReply, const cJSON *pBody){
  const cJSON *pTo = cJSON_GetObjectItemCaseSensitive(pBody, "to");
  sqlite3_str *pOut = replyBody(pReply);
  sqlite3_int64 iKept;
  double lsn, a[DOSQL_HISTORY_N];
  int rc;
  if( !connIsOpen(pConn) ){
    replyFail(pReply, 500, DOSQL_NOT_OPEN, "the database is not open");
  }else if( dosql_host_history_info(a, DOSQL_HISTORY_N)!=0 ){
    failUnsupported(pReply);
  }else if( pTo==0 ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST,
        "POST /restore needs {\"to\": point}: an lsn, a bookmark or a time (GET /history)");
  }else if( historyResolve(pConn, pReply, pTo, "to", &lsn)==SQLITE_OK
         && changeHeadAt(pConn, pReply, lsn, &iKept)==SQLITE_OK ){
    /* The point's change log comes back with it: its events stay readers'
    ** history, those after it are gone (changelog.h). */
    sqlite3_str_appendall(pOut, "{\"to\":");
    historyAppendPoint(pOut, lsn);
    /* The point to restore to undo it: the restore may be more than one commit
    ** (a database restored to before its first one has its internal tables made
    ** again when it opens). */
    sqlite3_str_appendall(pOut, ",\"before\":");
    historyAppendPoint(pOut, a[DOSQL_HISTORY_LSN]);
    sqlite3_str_appendall(pOut, ",\"changes\":");
    rc = changelogReplaced(pConn, iKept, pOut);
    if( rc!=SQLITE_OK ){
      connFail(pConn, pReply, rc);
      return;
    }
    sqlite3_str_appendchar(pOut, 1, '}');
  }
}

void historyBranchCheck(Conn *pConn, Reply *pReply, const cJSON *pBody){
  const cJSON *pName = cJSON_GetObjectItemCaseSensitive(pBody, "name");
  const cJSON *pFrom = cJSON_GetObjectItemCaseSensitive(pBody, "from");
  double lsn;
  if( !connIsOpen(pConn) ){
    replyFail(pReply, 500, DOSQL_NOT_OPEN, "the database is not open");
    return;
  }
  if( historyUnsupported(pReply) ) return;
  if( !cJSON_IsString(pName) ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST,
        "POST /branch needs {\"name\": the new database's tenant name, \"from\"?: point}");
    return;
  }
  if( pFrom ){
    if( historyResolve(pConn, pReply, pFrom, "from", &lsn)!=SQLITE_OK ) return;
  }else{
    lsn = historyCurrentLsn();
    if( lookupFailed(pConn, pReply, lsn, "from", DOSQL_POINT_LSN, 0) ) return;
  }
  sqlite3_str_appendall(replyBody(pReply), "{\"name\":");
  jsonAppendString(replyBody(pReply), pName->valuestring, -1);
  sqlite3_str_appendall(replyBody(pReply), ",\"from\":");
  historyAppendPoint(replyBody(pReply), lsn);
  sqlite3_str_appendchar(replyBody(pReply), 1, '}');
}

double historyCurrentLsn(void){
  /* Not the newest commit at or before the end of time: history that keeps no
  ** time (windowMs or maxBytes 0, a checkpoint just made) has none, yet the
  ** present is a point. */
  double a[DOSQL_HISTORY_N];
  if( dosql_host_history_info(a, DOSQL_HISTORY_N)!=0 ) return DOSQL_HISTORY_NONE;
  return a[DOSQL_HISTORY_LSN];
}
