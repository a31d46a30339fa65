/*
** migrate.c — the migration runner (contract in migrate.h).
**
** The table _dosql_migrations is created when the database opens (conn.c).
** Migrations are the application's own code, bundled at build time, so they run
** trusted: the authorizer does not apply to them (but does to the triggers
** they fire, internal.h), and each gets DOSQL_MIGRATION_CPU_MS of CPU. The
** checksum is FNV-1a (64-bit) of the file's bytes, written as 16 hex digits: it
** detects an edited file; it is not a security measure. It reads a CR before an
** LF as not there, so a checkout that turns line endings (git's autocrlf) is
** not an edit, and a UTF-8 byte-order mark at the start neither, which editors
** add or drop unseen; a record of the first releases, which read every byte, or
** of those that read the mark, still matches its file.
*/
#include <string.h>

#include "config.h"
#include "errors.h"
#include "guard.h"
#include "handler.h"
#include "host.h"
#include "json.h"
#include "migrate.h"
#include "request.h"
#include "sqlite/unit.h"
#include "sqltext.h"

/* A UTF-8 byte-order mark. */
static const char zBom[] = "\xef\xbb\xbf";

/* The checksum of z (its byte-order mark left out) into zOut; with bBom, of the
** mark and then z (as releases before 2026-12-07 read a file saved with one);
** with bEveryByte, of every byte (the first releases'), else without the CR of
** each CRLF. */
static void migrateChecksum(const char *z, int bBom, int bEveryByte, char zOut[17]){
  sqlite3_uint64 h = 0xcbf29ce484222325ull;
  const char *zMark;
  for(zMark=bBom ? zBom : ""; *zMark; zMark++){
    h ^= (unsigned char)*zMark;
    h *= 0x100000001b3ull;
  }
  for(; *z; z++){
    if( !bEveryByte && z[0]=='\r' && z[1]=='\n' ) continue;
    h ^= (unsigned char)*z;
    h *= 0x100000001b3ull;
  }
  sqlite3_snprintf(17, zOut, "%016llx", h);
}

/* The checksum recorded for zName into zOut; 1 if found, 0 if not, <0 on error. */
static int migrateRecorded(Conn *pConn, const char *zName, char zOut[17]){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(pConn->db,
      "SELECT checksum FROM main._dosql_migrations WHERE name=?", -1, &pStmt, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  if( rc==SQLITE_OK ) rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    sqlite3_snprintf(17, zOut, "%s", (const char*)sqlite3_column_text(pStmt, 0));
    rc = 1;
  }else if( rc==SQLITE_DONE ){
    rc = 0;
  }else{
    rc = -1;
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Whether the checksum zRecorded is of zText (its mark already left out), as
** this release or an earlier one wrote it. */
static int migrateMatches(const char *zRecorded, const char *zText){
  int i;
  for(i=0; i<4; i++){
    char zSum[17];
    migrateChecksum(zText, i&1, i>>1, zSum);
    if( strcmp(zRecorded, zSum)==0 ) return 1;
  }
  return 0;
}

/* zSql less its byte-order mark. */
static const char *migrateText(const char *zSql){
  return strncmp(zSql, zBom, 3)==0 ? zSql+3 : zSql;
}

/* Whether pItem is a migration {name, sql}; else the reply fails. */
static int migrateIsEntry(Reply *pReply, const cJSON *pItem){
  if( cJSON_IsString(cJSON_GetObjectItemCaseSensitive(pItem, "name"))
   && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(pItem, "sql")) ){
    return 1;
  }
  replyFail(pReply, 400, DOSQL_BAD_REQUEST, "each migration needs a name and sql (strings)");
  return 0;
}

/* Whether the database has the table of applied migrations: a point from
** before the engine's first open has none (nothing was applied). */
static int migrateHasRecords(Conn *pConn){
  sqlite3_stmt *pStmt = 0;
  int bHas = sqlite3_prepare_v2(pConn->db,
      "SELECT 1 FROM main.sqlite_schema WHERE type='table' AND name='_dosql_migrations'",
      -1, &pStmt, 0)==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW;
  sqlite3_finalize(pStmt);
  return bHas;
}

/* Append the name to pOut, ", " between, counting it in *pnFound. */
static void migrateListName(sqlite3_str *pOut, int *pnFound, const char *zName){
  if( (*pnFound)++ ) sqlite3_str_appendall(pOut, ", ");
  sqlite3_str_appendall(pOut, zName);
}

/* List the names of pList's migrations the database has no record of in
** pMissing, those it applied with another text in pChanged, counted in
** *pnMissing and *pnChanged. Non-zero on error, the reply failed. */
static int migrateListUnmatched(Conn *pConn, Reply *pReply, const cJSON *pList,
                                sqlite3_str *pMissing, int *pnMissing,
                                sqlite3_str *pChanged, int *pnChanged){
  const cJSON *pItem;
  int bRecords = migrateHasRecords(pConn);
  for(pItem=pList->child; pItem; pItem=pItem->next){
    const char *zName = cJSON_GetObjectItemCaseSensitive(pItem, "name")->valuestring;
    const char *zText = migrateText(cJSON_GetObjectItemCaseSensitive(pItem, "sql")->valuestring);
    char zRecorded[17];
    int rc = bRecords ? migrateRecorded(pConn, zName, zRecorded) : 0;
    if( rc<0 ){
      connFail(pConn, pReply, sqlite3_extended_errcode(pConn->db));
      return 1;
    }
    if( rc==0 ){
      migrateListName(pMissing, pnMissing, zName);
    }else if( !migrateMatches(zRecorded, zText) ){
      migrateListName(pChanged, pnChanged, zName);
    }
  }
  return 0;
}

void migrateCheckRestore(Conn *pConn, Reply *pReply, const cJSON *pBody){
  const cJSON *pList = cJSON_GetObjectItemCaseSensitive(pBody, "migrations");
  const cJSON *pAsOf = cJSON_GetObjectItemCaseSensitive(pBody, "asOf");
  int bBranch = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pBody, "branch"));
  const cJSON *pItem;
  sqlite3_str *pMissing, *pChanged;
  sqlite3_int64 iLsn = cJSON_IsNumber(pAsOf) ? (sqlite3_int64)pAsOf->valuedouble : 0;
  int nMissing = 0, nChanged = 0;
  char *zMissing, *zChanged;
  if( !cJSON_IsArray(pList) ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "migrations must be an array");
    return;
  }
  for(pItem=pList->child; pItem; pItem=pItem->next){
    if( !migrateIsEntry(pReply, pItem) ) return;
  }
  pMissing = sqlite3_str_new(pConn->db);
  pChanged = sqlite3_str_new(pConn->db);
  if( migrateListUnmatched(pConn, pReply, pList, pMissing, &nMissing, pChanged, &nChanged)==0 ){
    if( sqlite3_str_errcode(pMissing) || sqlite3_str_errcode(pChanged) ){
      connFail(pConn, pReply, SQLITE_NOMEM);
    }else if( nMissing && !bBranch ){
      replyFail(pReply, 409, DOSQL_RESTORE_WOULD_MIGRATE,
          "lsn %lld is before the migration%s %s, which this deployment ships: the database "
          "would start again by running %s on what was restored. Deploy without %s first, "
          "or restore a point after %s", iLsn, nMissing>1 ? "s" : "", sqlite3_str_value(pMissing),
          nMissing>1 ? "them" : "it", nMissing>1 ? "them" : "it", nMissing>1 ? "them" : "it");
    }else if( nChanged ){
      replyFail(pReply, 409, bBranch ? DOSQL_BRANCH_MIGRATION_CHANGED : DOSQL_RESTORE_WOULD_MIGRATE,
          "lsn %lld applied the migration%s %s with another text than this deployment ships: "
          "%s (MIGRATION_CHANGED). Deploy %s as %s then was, or %s another point", iLsn,
          nChanged>1 ? "s" : "", sqlite3_str_value(pChanged),
          bBranch ? "a branch of it would not start" : "the database would not start on what was restored",
          nChanged>1 ? "them" : "it", nChanged>1 ? "they" : "it", bBranch ? "branch" : "restore");
    }else{
      sqlite3_str_appendall(replyBody(pReply), "{}");
    }
  }
  zMissing = sqlite3_str_finish(pMissing);
  zChanged = sqlite3_str_finish(pChanged);
  sqlite3_free(zMissing);
  sqlite3_free(zChanged);
}

/* The objects of the temp schema, counted as trusted SQL (0 when it cannot say,
** which the statements that follow will). */
static int migrateTempObjects(Conn *pConn){
  sqlite3_stmt *pStmt = 0;
  int n = 0;
  if( sqlite3_prepare_v2(pConn->db, "SELECT count(*) FROM temp.sqlite_schema", -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    n = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  return n;
}

/* Run one migration and record it, all in one transaction. Its statements run
** as a user's do: the guard's rules hold (no BEGIN, COMMIT or ROLLBACK, which
** would end the migration's transaction half way; nothing of the engine's own,
** which would leave a database that no longer opens), and PRAGMA foreign_keys
** applies (above). The record and the transaction are the engine's (the caller
** runs trusted). SQLITE_OK, or an error with pWhy saying why and *piLine the
** line of the migration it is on (0 when no one statement failed); the
** transaction is left for the caller to roll back. */
static int migrateRun(Conn *pConn, Reply *pWhy, const char *zName, const char *zSql,
                      const char *zSum, int *piLine){
  sqlite3_stmt *pStmt = 0;
  DosqlChangeCounts counts;
  const char *zStart = zSql;
  int rc, bPrepared, bStatement, bForeignKeys = guardForeignKeysOn(pConn), bTurnedOff = 0;
  int nTemp = migrateTempObjects(pConn);
  *piLine = 0;
  budgetStart(&pConn->budget, budgetUnitsForMs(DOSQL_MIGRATION_CPU_MS));
  rc = sqlite3_exec(pConn->db, "BEGIN", 0, 0, 0);
  /* Statement by statement, as /exec: a migration's rows are changes too. */
  pConn->bTrusted = 0;
  while( rc==SQLITE_OK && *zSql ){
    const char *zStatement = zSql;
    guardStartStatement(pConn);
    rc = connRunNextStatement(pConn, pWhy, &zSql, "a migration runs as it is written: "
                              "write the values into the statement", &bPrepared, &bStatement);
    if( rc==SQLITE_OK && bStatement ){
      rc = guardCheckSchema(pConn, pWhy);
      bTurnedOff |= guardApplyForeignKeys(pConn);
      /* A TEMP object lasts until the engine restarts, and a migration runs once. */
      if( rc==SQLITE_OK && migrateTempObjects(pConn)>nTemp ){
        replyFail(pWhy, 500, DOSQL_MIGRATION_FAILED, "it creates a TEMP table, view, index or trigger, "
            "which lasts only until the object restarts, and a migration runs once: leave out TEMP, "
            "or create it where it is used (CREATE TEMP ... IF NOT EXISTS)");
        rc = SQLITE_ERROR;
      }
    }else if( rc!=SQLITE_OK && guardTransactionStatement(pConn) ){
      replyFail(pWhy, 500, DOSQL_MIGRATION_FAILED, "it holds a %s statement: a migration runs "
          "in a transaction of its own, so leave out BEGIN, COMMIT and ROLLBACK",
          guardTransactionStatement(pConn));
    }
    if( rc!=SQLITE_OK ){
      /* Where SQLite points (a syntax error's token), else where the statement starts. */
      int iOffset = bPrepared ? -1 : sqlite3_error_offset(pConn->db);
      *piLine = dosqlLineOf(zStart, iOffset>=0 ? zStatement+iOffset : dosqlFirstToken(zStatement));
    }
  }
  pConn->bTrusted = 1;
  if( rc==SQLITE_OK && bTurnedOff ){
    rc = guardCheckForeignKeys(pConn, pWhy, 500, DOSQL_MIGRATION_FAILED, "it", "a migration");
  }
  guardEndForeignKeys(pConn, bForeignKeys);
  dosqlSaveChangeCounts(pConn->db, &counts);   /* the record is not the migration's row */
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(pConn->db,
        "INSERT INTO main._dosql_migrations(name, checksum) VALUES(?, ?)", -1, &pStmt, 0);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  if( rc==SQLITE_OK ) rc = sqlite3_bind_text(pStmt, 2, zSum, -1, SQLITE_STATIC);
  if( rc==SQLITE_OK && (rc = sqlite3_step(pStmt))==SQLITE_DONE ) rc = SQLITE_OK;
  sqlite3_finalize(pStmt);
  dosqlRestoreChangeCounts(pConn->db, &counts);
  if( rc==SQLITE_OK ) rc = sqlite3_exec(pConn->db, "COMMIT", 0, 0, 0);
  if( rc!=SQLITE_OK ) connFail(pConn, pWhy, rc);   /* the first error stays */
  return rc;
}

/* Warn that zRanNow, which this call applied, ran after zEarlier, which the
** database applied before it though the list has it later: a new database runs
** them in the list's order (one merged with a number below a deployed one). */
static void migrateWarnOutOfOrder(const char *zRanNow, const char *zEarlier){
  char *zLine = sqlite3_mprintf("migration %s ran now, after %s, which this database applied "
      "before it: a new database runs them in the other order (number a migration after those "
      "deployed already, docs/setup.md#migrations)", zRanNow, zEarlier);
  if( zLine ) dosql_host_log(DOSQL_LOG_WARN, zLine, (uint32_t)strlen(zLine));
  sqlite3_free(zLine);
}

/* Apply every migration of the list; the reply gets the result or the error. */
static void migrateAll(Conn *pConn, Reply *pReply, const cJSON *pList){
  sqlite3_str *pOut = replyBody(pReply);
  const cJSON *pItem;
  const char *zFirstRanNow = 0;   /* the first migration this call applied */
  int nApplied = 0, rc, bWarned = 0;

  if( !cJSON_IsArray(pList) ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "migrations must be an array");
    return;
  }
  sqlite3_str_appendall(pOut, "{\"applied\":[");
  for(pItem=pList->child; pItem; pItem=pItem->next){
    const cJSON *pName = cJSON_GetObjectItemCaseSensitive(pItem, "name");
    char zSum[17], zRecorded[17];
    const char *zText;
    Reply why;
    int iLine;
    if( !migrateIsEntry(pReply, pItem) ) return;
    zText = migrateText(cJSON_GetObjectItemCaseSensitive(pItem, "sql")->valuestring);
    migrateChecksum(zText, 0, 0, zSum);
    rc = migrateRecorded(pConn, pName->valuestring, zRecorded);
    if( rc<0 ){
      connFail(pConn, pReply, sqlite3_extended_errcode(pConn->db));
      return;
    }
    if( rc==1 ){
      /* Applied before, and listed after one this call applied: found without a
      ** lookup ahead of each migration, which a new database's start would pay. */
      if( zFirstRanNow && !bWarned ){
        migrateWarnOutOfOrder(zFirstRanNow, pName->valuestring);
        bWarned = 1;
      }
      if( !migrateMatches(zRecorded, zText) ){
        replyFail(pReply, 500, DOSQL_MIGRATION_CHANGED,
            "migration %s was changed after it was applied (checksum %s, now %s): "
            "restore it and put the change in a new migration",
            pName->valuestring, zRecorded, zSum);
        return;
      }
      continue;
    }
    replyInitSharing(&why, pReply);
    rc = migrateRun(pConn, &why, pName->valuestring, zText, zSum, &iLine);
    if( rc!=SQLITE_OK ){
      char zAt[32] = "";
      if( iLine>0 ) sqlite3_snprintf(sizeof(zAt), zAt, " at line %d", iLine);
      replyFail(pReply, 500, DOSQL_MIGRATION_FAILED, "migration %s failed%s: %s",
                pName->valuestring, zAt, pConn->budget.bSpent
                ? "it ran longer than the " DOSQL_STR(DOSQL_MIGRATION_CPU_MS) " ms one migration may"
                : why.zError ? why.zError : sqlite3_errstr(rc));
    }
    replyEndSharing(&why);
    if( rc!=SQLITE_OK ) return;
    if( !zFirstRanNow ) zFirstRanNow = pName->valuestring;
    if( nApplied++ ) sqlite3_str_appendchar(pOut, 1, ',');
    jsonAppendString(pOut, pName->valuestring, -1);
  }
  sqlite3_str_appendall(pOut, "]}");
}

uint8_t *migrateApply(Conn *pConn, const uint8_t *aBody, uint32_t nBody){
  Reply reply;
  cJSON *pBody;
  replyInit(&reply);
  if( !connIsOpen(pConn) ){
    replyFail(&reply, 500, DOSQL_NOT_OPEN, "the database is not open");
  }else if( (pBody = requestParse(&reply, aBody, nBody))!=0 ){
    connStartRequest(pConn, DOSQL_MIGRATION_CPU_MS);
    pConn->bTrusted = 1;
    migrateAll(pConn, &reply, cJSON_GetObjectItemCaseSensitive(pBody, "migrations"));
    pConn->bTrusted = 0;
    connFinish(pConn, &reply);
    cJSON_Delete(pBody);
  }
  return replyFinish(&reply);
}
