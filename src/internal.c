/*
** internal.c — the engine's own tables (contract in internal.h).
**
** SQLite keeps a table's CREATE text in sqlite_schema from its name on, so the
** text each definition leaves there is known exactly: "CREATE TABLE " then
** the definition. The definitions keep the spacing of the first release, whose
** databases must still pass the check.
*/
#include <string.h>

#include "changebatch.h"
#include "changelog.h"
#include "config.h"
#include "errors.h"
#include "internal.h"
#include "sqlite/unit.h"

typedef struct InternalTable {
  const char *zType;         /* "TABLE" or "VIEW" */
  const char *zName;
  const char *zDefinition;   /* after the name: "(columns)", or a view's "(columns) AS ..." */
} InternalTable;

/* The change log as SQL reads it: one row per event, expanded from the
** stored rows (changebatch.h) as changebatch.c expands them for /changes.
** Its table is named without "main.": SQLite binds a view's tables to the
** view's own schema, also when history.c attaches the file under another.
** A row's members are joined in column order by a subquery's ORDER BY, not
** an aggregate's (SQLite 3.44), so that an exported file opens in the SQLite
** of older tools too (3.38, for -> and ->>). */
#define INTERNAL_CHANGES_MEMBERS(VALUE) \
  "(SELECT '{' || group_concat(f.v, ',') || '}' FROM (SELECT (b.cols -> c.fullkey) || ':' || " VALUE \
  " AS v FROM json_each(b.cols) AS c WHERE c.type = 'text' ORDER BY c.key) AS f)"
#define INTERNAL_CHANGES_VIEW \
  "(lsn, tx_id, ts, type, tbl, data, old) AS SELECT b.first_lsn + e.key, b.tx_id, b.ts," \
  " CASE e.value ->> 0 WHEN 'i' THEN 'insert' WHEN 'u' THEN 'update' ELSE 'delete' END, b.tbl, " \
  INTERNAL_CHANGES_MEMBERS("(e.value -> ('$[1]' || substr(c.fullkey, 2)))") "," \
  " CASE e.value ->> 0 WHEN 'u' THEN " \
  INTERNAL_CHANGES_MEMBERS("coalesce(e.value -> ('$[2].\"' || c.key || '\"'), e.value -> ('$[1]' || substr(c.fullkey, 2)))") \
  " END FROM _dosql_change_log AS b, json_each(b.events) AS e"

/* The same view as releases before 2026-12-04 defined it, with an ordered
** aggregate that SQLite before 3.44 cannot parse; opening such a database
** defines it anew (internalUpgrade). */
#define INTERNAL_CHANGES_VIEW_AGGREGATE_ORDER \
  "(lsn, tx_id, ts, type, tbl, data, old) AS SELECT b.first_lsn + e.key, b.tx_id, b.ts," \
  " CASE e.value ->> 0 WHEN 'i' THEN 'insert' WHEN 'u' THEN 'update' ELSE 'delete' END, b.tbl," \
  " (SELECT '{' || group_concat((b.cols -> c.fullkey) || ':'" \
  " || (e.value -> ('$[1]' || substr(c.fullkey, 2))), ',' ORDER BY c.key) || '}'" \
  " FROM json_each(b.cols) AS c WHERE c.type = 'text')," \
  " CASE e.value ->> 0 WHEN 'u' THEN (SELECT '{' || group_concat((b.cols -> c.fullkey) || ':'" \
  " || coalesce(e.value -> ('$[2].\"' || c.key || '\"'), e.value -> ('$[1]' || substr(c.fullkey, 2)))," \
  " ',' ORDER BY c.key) || '}' FROM json_each(b.cols) AS c WHERE c.type = 'text') END" \
  " FROM _dosql_change_log AS b, json_each(b.events) AS e"

static const InternalTable aInternal[] = {
  { "TABLE", "_dosql_migrations",
    "(  name TEXT PRIMARY KEY,"
    "  checksum TEXT NOT NULL,"
    "  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
    ")" },
  { "TABLE", "_dosql_change_log",       /* changebatch.h, docs/changes.md */
    "(  last_lsn INTEGER PRIMARY KEY,"
    "  first_lsn INTEGER NOT NULL,"
    "  tx_id INTEGER NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  tbl TEXT NOT NULL COLLATE NOCASE,"
    "  cols TEXT NOT NULL,"
    "  events TEXT NOT NULL"
    ")" },
  { "VIEW", "_dosql_changes", INTERNAL_CHANGES_VIEW },
};
#define N_INTERNAL (int)(sizeof(aInternal)/sizeof(aInternal[0]))

/* What earlier releases made, which opening brings up to date (internalUpgrade):
** the first release's change log, one row per event, that becomes rows of
** _dosql_change_log; the view with an ordered aggregate. */
static const InternalTable aLegacy[] = {
  { "TABLE", "_dosql_changes",
    "(  lsn INTEGER PRIMARY KEY,"
    "  tx_id INTEGER NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  tbl TEXT NOT NULL COLLATE NOCASE,"
    "  data TEXT NOT NULL,"
    "  old TEXT"
    ")" },
  { "VIEW", "_dosql_changes", INTERNAL_CHANGES_VIEW_AGGREGATE_ORDER },
};
#define N_LEGACY (int)(sizeof(aLegacy)/sizeof(aLegacy[0]))
#define LEGACY_CHANGES_VIEW (&aLegacy[1])

int internalHidesViewFunction(const char *zName){
  return zName && sqlite3_stricmp(zName, "json_each")==0;   /* INTERNAL_CHANGES_VIEW */
}

int internalIsReserved(const char *zName){
  return zName && sqlite3_strnicmp(zName, DOSQL_INTERNAL_PREFIX,
                                   (int)sizeof(DOSQL_INTERNAL_PREFIX)-1)==0;
}

/* Run zSql (sqlite3_malloc'd, freed here) as trusted SQL. */
static int internalExec(Conn *p, char *zSql){
  int rc;
  if( zSql==0 ) return SQLITE_NOMEM;
  p->bTrusted = 1;
  rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  p->bTrusted = 0;
  sqlite3_free(zSql);
  return rc;
}

int internalCreate(Conn *p){
  sqlite3_str *pSql = sqlite3_str_new(p->db);
  int i;
  sqlite3_str_appendall(pSql, "BEGIN;");            /* one commit for all */
  for(i=0; i<N_INTERNAL; i++){
    sqlite3_str_appendf(pSql, "CREATE %s IF NOT EXISTS main.%s%s;",
                        aInternal[i].zType, aInternal[i].zName, aInternal[i].zDefinition);
  }
  sqlite3_str_appendall(pSql, "COMMIT;");
  return internalExec(p, sqlite3_str_finish(pSql));
}

/* Whether sqlite_schema's text zSql creates t as internalCreate does. */
static int internalIsDefinition(const InternalTable *t, const char *zType, const char *zSql){
  size_t nType = strlen(t->zType), nName = strlen(t->zName);
  return zSql && sqlite3_stricmp(zType, t->zType)==0
      && strncmp(zSql, "CREATE ", 7)==0
      && strncmp(zSql+7, t->zType, nType)==0 && zSql[7+nType]==' '
      && strncmp(zSql+8+nType, t->zName, nName)==0
      && strcmp(zSql+8+nType+nName, t->zDefinition)==0;
}

/* Whether one sqlite_schema row of schema zDb is the engine's own; *pbCurrent
** says whether it is one of aInternal exactly (not an index, nor what an
** earlier release defined). */
static int internalIsOurs(const char *zDb, const char *zType, const char *zName,
                          const char *zTable, const char *zSql, int *pbCurrent){
  int i;
  *pbCurrent = 0;
  if( strcmp(zDb, "main")!=0 ) return 0;
  for(i=0; i<N_INTERNAL+N_LEGACY; i++){
    const InternalTable *t = i<N_INTERNAL ? &aInternal[i] : &aLegacy[i-N_INTERNAL];
    if( strcmp(zTable, t->zName)!=0 ) continue;
    if( strcmp(zName, t->zName)==0 && internalIsDefinition(t, zType, zSql) ){
      *pbCurrent = i<N_INTERNAL;
      return 1;
    }
    if( strcmp(zType, "index")==0 && strcmp(t->zType, "TABLE")==0 ){
      /* a PRIMARY KEY's own index */
      return zSql==0 && strncmp(zName, "sqlite_autoindex_", 17)==0
          && strncmp(zName+17, t->zName, strlen(t->zName))==0;
    }
  }
  return 0;
}

/* Check the schema zDb (see internalCheckSchema); *pnFound counts main's
** rows that are one of aInternal. */
static int internalCheckOneSchema(Conn *p, const char *zDb, char **pzWhy, int *pnFound){
  sqlite3_stmt *pStmt = 0;
  /* Every row, sorted out here by the rules below rather than by a WHERE:
  ** the statement is prepared at every start, and this one costs half. */
  char *zSql = sqlite3_mprintf("SELECT type, name, tbl_name, sql FROM \"%w\".sqlite_schema", zDb);
  int rc;
  if( zSql==0 ) return SQLITE_NOMEM;
  p->bTrusted = 1;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    const char *zType = (const char*)sqlite3_column_text(pStmt, 0);
    const char *zName = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zTable = (const char*)sqlite3_column_text(pStmt, 2);
    const char *zText = (const char*)sqlite3_column_text(pStmt, 3);
    int bCurrent;
    int bNamedAsOurs = internalIsReserved(zName) || internalIsReserved(zTable);
    int bHidesView = internalHidesViewFunction(zName) && zType
                  && (strcmp(zType, "table")==0 || strcmp(zType, "view")==0);
    rc = SQLITE_OK;
    if( !bNamedAsOurs && !bHidesView ) continue;
    if( internalIsOurs(zDb, zType ? zType : "", zName ? zName : "", zTable ? zTable : "", zText, &bCurrent) ){
      *pnFound += bCurrent;
      continue;
    }
    if( bHidesView ){
      *pzWhy = sqlite3_mprintf("%s %s.%s takes the name of SQLite's JSON function that the change log's "
                               "view (_dosql_changes) reads: choose another name", zType ? zType : "object", zDb, zName);
    }else{
      *pzWhy = sqlite3_mprintf("%s %s.%s (on %s) uses a name reserved for DoSQL's own tables",
                               zType ? zType : "object", zDb, zName ? zName : "", zTable ? zTable : "");
    }
    rc = *pzWhy ? SQLITE_DONE : SQLITE_NOMEM;
    break;
  }
  p->bTrusted = 0;
  sqlite3_finalize(pStmt);
  return rc==SQLITE_DONE ? SQLITE_OK : rc;
}

int internalCheckSchema(Conn *p, char **pzWhy, int *pbComplete){
  const char *zDb;
  int i, nFound = 0, rc = SQLITE_OK;
  *pzWhy = 0;
  /* sqlite3_db_name, not pragma_database_list: a user table of that name
  ** would answer in the pragma's place. */
  for(i=0; rc==SQLITE_OK && *pzWhy==0 && (zDb = sqlite3_db_name(p->db, i))!=0; i++){
    /* An unused temp schema is not read: reading it would open its file, a
    ** statement's preparation at every start. */
    if( !dosqlSchemaIsUnused(p->db, i) ) rc = internalCheckOneSchema(p, zDb, pzWhy, &nFound);
  }
  if( pbComplete ) *pbComplete = nFound==N_INTERNAL;
  return rc;
}

/* Each check of internalCheckRows: a query that answers one row when the
** rows break a rule, and what to say then. */
typedef struct RowRule {
  const char *zSql;
  const char *zWhy;
} RowRule;

#define MAX_SAFE_TEXT "9007199254740991"

/* The change log's rows as capture.c writes them; changelogCheckEvents()
** then reads every event. */
static const RowRule aRowRule[] = {
  { "SELECT last_lsn FROM main._dosql_change_log WHERE NOT ("
    " last_lsn BETWEEN 1 AND " DOSQL_STR(DOSQL_MAX_IMPORTED_LSN)
    " AND typeof(first_lsn)='integer' AND first_lsn BETWEEN 1 AND last_lsn"
    " AND last_lsn-first_lsn < " DOSQL_STR(DOSQL_CHANGE_BATCH_EVENTS)
    " AND typeof(tx_id)='integer' AND tx_id BETWEEN 1 AND first_lsn"
    " AND typeof(ts)='integer' AND ts BETWEEN 0 AND " MAX_SAFE_TEXT
    " AND typeof(tbl)='text' AND typeof(cols)='text' AND typeof(events)='text') LIMIT 1",
    "a change-log row (last lsn %s) is not one DoSQL writes: lsns and tx_id are whole numbers "
    "up to 2^52 (new events are numbered after them), ts up to 2^53-1, first_lsn <= last_lsn, at most "
    DOSQL_STR(DOSQL_CHANGE_BATCH_EVENTS) " events, cols and events are text" },
  { "SELECT last_lsn FROM (SELECT last_lsn, first_lsn,"
    " lag(last_lsn) OVER (ORDER BY last_lsn) AS prev FROM main._dosql_change_log)"
    " WHERE first_lsn<=prev LIMIT 1",
    "the change log's rows overlap before lsn %s: DoSQL numbers each event once (a gap is "
    "allowed: numbers go on past a restore or an import)" },
  { "SELECT quote(name) FROM main._dosql_migrations WHERE NOT ("
    " typeof(name)='text' AND typeof(checksum)='text' AND length(checksum)=16"
    " AND checksum NOT GLOB '*[^0-9a-f]*' AND typeof(applied_at)='text') LIMIT 1",
    "the migration log's row %s is not one DoSQL writes (a name, a 16-digit hex checksum, a time)" },
};

/* The first release's change log, checked before internalUpgrade() turns it
** into rows of the new form. */
static const RowRule aLegacyRule[] = {
  { "SELECT lsn FROM main._dosql_changes WHERE NOT ("
    " lsn BETWEEN 1 AND " DOSQL_STR(DOSQL_MAX_IMPORTED_LSN)
    " AND typeof(tx_id)='integer' AND tx_id BETWEEN 1 AND lsn"
    " AND typeof(ts)='integer' AND ts BETWEEN 0 AND " MAX_SAFE_TEXT
    " AND typeof(type)='text' AND type IN ('insert','update','delete')"
    " AND typeof(tbl)='text' AND typeof(data)='text'"
    " AND (old IS NULL OR typeof(old)='text')"
    " AND (type='update')=(old IS NOT NULL)) LIMIT 1",
    "a change-log row (lsn %s) is not one DoSQL writes: lsn and tx_id are whole numbers up to "
    "2^52 (new events are numbered after them), ts up to 2^53-1, type is insert, update or delete, data and old are JSON objects" },
};

/* Run nRule rules as trusted SQL; the first broken one sets *pzWhy. */
static int internalRunRules(Conn *p, const RowRule *aRule, int nRule, char **pzWhy){
  int i, rc = SQLITE_OK;
  p->bTrusted = 1;
  for(i=0; rc==SQLITE_OK && *pzWhy==0 && i<nRule; i++){
    sqlite3_stmt *pStmt = 0;
    rc = sqlite3_prepare_v2(p->db, aRule[i].zSql, -1, &pStmt, 0);
    if( rc==SQLITE_OK ){
      rc = sqlite3_step(pStmt);
      if( rc==SQLITE_ROW ){
        *pzWhy = sqlite3_mprintf(aRule[i].zWhy, (const char*)sqlite3_column_text(pStmt, 0));
        rc = *pzWhy ? SQLITE_OK : SQLITE_NOMEM;
      }else if( rc==SQLITE_DONE ){
        rc = SQLITE_OK;
      }
    }
    sqlite3_finalize(pStmt);
  }
  p->bTrusted = 0;
  return rc;
}

int internalCheckRows(Conn *p, char **pzWhy){
  int rc;
  *pzWhy = 0;
  rc = internalRunRules(p, aRowRule, (int)(sizeof(aRowRule)/sizeof(aRowRule[0])), pzWhy);
  if( rc==SQLITE_OK && *pzWhy==0 ) rc = changelogCheckEvents(p, pzWhy);
  return rc;
}

/* Most members a legacy event's object may have: SQLite's most columns. */
#define LEGACY_MAX_COLUMNS 32767

/*
** One legacy event (data, and old for an update) as a new row's cols and
** events texts, appended to pCols and pEvents: the values' own text is kept.
** SQLITE_OK, SQLITE_CORRUPT (not the objects the first release wrote: old
** with other keys than data), or SQLITE_NOMEM.
*/
static int internalLegacyEvent(const char *zType, const char *zData, int nData,
                               const char *zOld, int nOld, ChangeSpan *aSpan,
                               sqlite3_str *pCols, sqlite3_str *pEvents){
  ChangeSpan *aKey = aSpan, *aValue = aSpan + LEGACY_MAX_COLUMNS;
  ChangeSpan *aOldKey = aSpan + 2*LEGACY_MAX_COLUMNS, *aOldValue = aSpan + 3*LEGACY_MAX_COLUMNS;
  int i, n = 0, nOldPair = 0, nDiff = 0;
  int rc = changeBatchObject(zData, nData, aKey, aValue, LEGACY_MAX_COLUMNS, &n);
  if( rc==SQLITE_OK && n==0 ) rc = SQLITE_CORRUPT;
  if( rc==SQLITE_OK && zOld ){
    rc = changeBatchObject(zOld, nOld, aOldKey, aOldValue, LEGACY_MAX_COLUMNS, &nOldPair);
    for(i=0; rc==SQLITE_OK && i<n; i++){
      if( nOldPair!=n || aOldKey[i].n!=aKey[i].n
       || memcmp(aOldKey[i].z, aKey[i].z, (size_t)aKey[i].n)!=0 ){
        rc = SQLITE_CORRUPT;
      }
    }
  }
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_str_appendchar(pCols, 1, '[');
  sqlite3_str_appendf(pEvents, "[[\"%c\",[", zType[0]);
  for(i=0; i<n; i++){
    if( i ){
      sqlite3_str_appendchar(pCols, 1, ',');
      sqlite3_str_appendchar(pEvents, 1, ',');
    }
    sqlite3_str_append(pCols, aKey[i].z, aKey[i].n);
    sqlite3_str_append(pEvents, aValue[i].z, aValue[i].n);
  }
  sqlite3_str_appendchar(pCols, 1, ']');
  sqlite3_str_appendchar(pEvents, 1, ']');
  if( zOld ){
    sqlite3_str_appendall(pEvents, ",{");
    for(i=0; i<n; i++){
      if( aOldValue[i].n==aValue[i].n && memcmp(aOldValue[i].z, aValue[i].z, (size_t)aValue[i].n)==0 ){
        continue;
      }
      sqlite3_str_appendf(pEvents, nDiff++ ? ",\"%d\":" : "\"%d\":", i);
      sqlite3_str_append(pEvents, aOldValue[i].z, aOldValue[i].n);
    }
    sqlite3_str_appendchar(pEvents, 1, '}');
  }
  sqlite3_str_appendall(pEvents, "]]");
  return sqlite3_str_errcode(pEvents)!=SQLITE_OK || sqlite3_str_errcode(pCols)!=SQLITE_OK
       ? SQLITE_NOMEM : SQLITE_OK;
}

/* Copy every legacy event into _dosql_change_log, one row each. */
static int internalCopyLegacy(Conn *p, char **pzWhy){
  sqlite3_stmt *pRead = 0, *pWrite = 0;
  ChangeSpan *aSpan = sqlite3_malloc64(sizeof(ChangeSpan)*4*LEGACY_MAX_COLUMNS);
  int rc = aSpan ? SQLITE_OK : SQLITE_NOMEM, rcStep = SQLITE_DONE;
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(p->db, "SELECT lsn, tx_id, ts, type, tbl, data, old"
                            " FROM main._dosql_changes ORDER BY lsn", -1, &pRead, 0);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(p->db, "INSERT INTO main._dosql_change_log"
                            "(last_lsn, first_lsn, tx_id, ts, tbl, cols, events)"
                            " VALUES(?1, ?1, ?2, ?3, ?4, ?5, ?6)", -1, &pWrite, 0);
  }
  while( rc==SQLITE_OK && (rcStep = sqlite3_step(pRead))==SQLITE_ROW ){
    sqlite3_str *pCols = sqlite3_str_new(0), *pEvents = sqlite3_str_new(0);
    rc = internalLegacyEvent((const char*)sqlite3_column_text(pRead, 3),
                             (const char*)sqlite3_column_text(pRead, 5), sqlite3_column_bytes(pRead, 5),
                             (const char*)sqlite3_column_text(pRead, 6), sqlite3_column_bytes(pRead, 6),
                             aSpan, pCols, pEvents);
    if( rc==SQLITE_CORRUPT ){
      *pzWhy = sqlite3_mprintf("the change-log row of lsn %lld holds data or old that is not "
                               "a JSON object as DoSQL writes one", sqlite3_column_int64(pRead, 0));
      rc = *pzWhy ? SQLITE_OK : SQLITE_NOMEM;
    }else if( rc==SQLITE_OK ){
      sqlite3_bind_int64(pWrite, 1, sqlite3_column_int64(pRead, 0));
      sqlite3_bind_int64(pWrite, 2, sqlite3_column_int64(pRead, 1));
      sqlite3_bind_int64(pWrite, 3, sqlite3_column_int64(pRead, 2));
      sqlite3_bind_value(pWrite, 4, sqlite3_column_value(pRead, 4));
      sqlite3_bind_text(pWrite, 5, sqlite3_str_value(pCols), sqlite3_str_length(pCols), SQLITE_TRANSIENT);
      sqlite3_bind_text(pWrite, 6, sqlite3_str_value(pEvents), sqlite3_str_length(pEvents), SQLITE_TRANSIENT);
      rc = sqlite3_step(pWrite)==SQLITE_DONE ? SQLITE_OK : sqlite3_reset(pWrite);
      sqlite3_reset(pWrite);
    }
    sqlite3_free(sqlite3_str_finish(pCols));
    sqlite3_free(sqlite3_str_finish(pEvents));
    if( *pzWhy ) break;
  }
  /* A read that stopped early must not drop the table's remaining events. */
  if( rc==SQLITE_OK && *pzWhy==0 && rcStep!=SQLITE_DONE ) rc = sqlite3_finalize(pRead);
  else sqlite3_finalize(pRead);
  if( rc==SQLITE_OK && *pzWhy==0 && rcStep!=SQLITE_DONE ) rc = SQLITE_ERROR;
  sqlite3_finalize(pWrite);
  sqlite3_free(aSpan);
  return rc;
}

/* Turn the first release's change log into rows of _dosql_change_log, and its
** table into the view, in one transaction. */
static int internalUpgradeLog(Conn *p, char **pzWhy){
  char *zView;
  int rc = internalRunRules(p, aLegacyRule, (int)(sizeof(aLegacyRule)/sizeof(aLegacyRule[0])), pzWhy);
  if( rc!=SQLITE_OK || *pzWhy ) return rc;
  rc = internalExec(p, sqlite3_mprintf("BEGIN"));
  p->bTrusted = 1;
  if( rc==SQLITE_OK ) rc = internalCopyLegacy(p, pzWhy);
  p->bTrusted = 0;
  zView = sqlite3_mprintf("DROP TABLE main._dosql_changes; CREATE VIEW main._dosql_changes%s;",
                          INTERNAL_CHANGES_VIEW);
  if( rc==SQLITE_OK && *pzWhy==0 ) rc = internalExec(p, zView);
  else sqlite3_free(zView);
  if( rc==SQLITE_OK && *pzWhy==0 ) return internalExec(p, sqlite3_mprintf("COMMIT"));
  internalExec(p, sqlite3_mprintf("ROLLBACK"));
  return rc;
}

int internalUpgrade(Conn *p, char **pzWhy){
  sqlite3_stmt *pStmt = 0;
  int rc, bTable = 0, bView = 0;
  *pzWhy = 0;
  rc = sqlite3_prepare_v2(p->db, "SELECT type, sql FROM main.sqlite_schema"
                          " WHERE name='_dosql_changes'", -1, &pStmt, 0);
  if( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zType = (const char*)sqlite3_column_text(pStmt, 0);
    bTable = zType && strcmp(zType, "table")==0;
    bView = zType && internalIsDefinition(LEGACY_CHANGES_VIEW, zType,
                                          (const char*)sqlite3_column_text(pStmt, 1));
  }
  rc = sqlite3_finalize(pStmt);
  if( rc!=SQLITE_OK ) return rc;
  if( bTable ) return internalUpgradeLog(p, pzWhy);
  if( !bView ) return SQLITE_OK;
  rc = internalExec(p, sqlite3_mprintf("BEGIN; DROP VIEW main._dosql_changes;"
                                       " CREATE VIEW main._dosql_changes%s; COMMIT;", INTERNAL_CHANGES_VIEW));
  if( rc!=SQLITE_OK ) internalExec(p, sqlite3_mprintf("ROLLBACK"));
  return rc;
}
