/*
** internal.c — the engine's own tables (contract in internal.h).
**
** SQLite keeps a table's CREATE text in sqlite_schema from its name on, so the
** text each definition leaves there is known exactly: "CREATE TABLE " then
** the definition. The definitions keep the spacing of the first release, whose
** databases must still pass the check.
*/
#include <string.h>

#include "errors.h"
#include "internal.h"
#include "json.h"
#include "changelog.h"

typedef struct InternalTable {
  const char *zName;
  const char *zDefinition;   /* after the name: "(columns)" */
} InternalTable;

static const InternalTable aInternal[] = {
  { "_dosql_migrations",
    "(  name TEXT PRIMARY KEY,"
    "  checksum TEXT NOT NULL,"
    "  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
    ")" },
  { "_dosql_changes",                   /* capture.h, docs/changes.md */
    "(  lsn INTEGER PRIMARY KEY,"
    "  tx_id INTEGER NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  tbl TEXT NOT NULL COLLATE NOCASE,"
    "  data TEXT NOT NULL,"
    "  old TEXT"
    ")" },
};
#define N_INTERNAL (int)(sizeof(aInternal)/sizeof(aInternal[0]))

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
    sqlite3_str_appendf(pSql, "CREATE TABLE IF NOT EXISTS main.%s%s;",
                        aInternal[i].zName, aInternal[i].zDefinition);
  }
  sqlite3_str_appendall(pSql, "COMMIT;");
  return internalExec(p, sqlite3_str_finish(pSql));
}

/* Whether one sqlite_schema row of schema zDb is the engine's own. */
static int internalIsOurs(const char *zDb, const char *zType, const char *zName,
                          const char *zTable, const char *zSql){
  int i;
  if( strcmp(zDb, "main")!=0 ) return 0;
  for(i=0; i<N_INTERNAL; i++){
    const InternalTable *t = &aInternal[i];
    if( strcmp(zTable, t->zName)!=0 ) continue;
    if( strcmp(zType, "table")==0 ){
      size_t n = strlen(t->zName);
      return strcmp(zName, t->zName)==0 && zSql
          && strncmp(zSql, "CREATE TABLE ", 13)==0
          && strncmp(zSql+13, t->zName, n)==0
          && strcmp(zSql+13+n, t->zDefinition)==0;
    }
    if( strcmp(zType, "index")==0 ){   /* a PRIMARY KEY's own index */
      return zSql==0 && strncmp(zName, "sqlite_autoindex_", 17)==0
          && strncmp(zName+17, t->zName, strlen(t->zName))==0;
    }
  }
  return 0;
}

/* Check the schema zDb (see internalCheckSchema). */
static int internalCheckOneSchema(Conn *p, const char *zDb, char **pzWhy){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf(
      "SELECT type, name, tbl_name, sql FROM \"%w\".sqlite_schema"
      " WHERE name LIKE '\\_dosql\\_%%' ESCAPE '\\' OR tbl_name LIKE '\\_dosql\\_%%' ESCAPE '\\'",
      zDb);
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
    if( internalIsOurs(zDb, zType ? zType : "", zName ? zName : "", zTable ? zTable : "", zText) ){
      rc = SQLITE_OK;
      continue;
    }
    *pzWhy = sqlite3_mprintf("%s %s.%s (on %s) uses a name reserved for DoSQL's own tables",
                             zType ? zType : "object", zDb, zName ? zName : "", zTable ? zTable : "");
    rc = *pzWhy ? SQLITE_DONE : SQLITE_NOMEM;
    break;
  }
  p->bTrusted = 0;
  sqlite3_finalize(pStmt);
  return rc==SQLITE_DONE ? SQLITE_OK : rc;
}

int internalCheckSchema(Conn *p, char **pzWhy){
  const char *zDb;
  int i, rc = SQLITE_OK;
  *pzWhy = 0;
  /* sqlite3_db_name, not pragma_database_list: a user table of that name
  ** would answer in the pragma's place. */
  for(i=0; rc==SQLITE_OK && *pzWhy==0 && (zDb = sqlite3_db_name(p->db, i))!=0; i++){
    rc = internalCheckOneSchema(p, zDb, pzWhy);
  }
  return rc;
}

/* Each check of internalCheckRows: a query that answers one row when the
** rows break a rule, and what to say then. */
typedef struct RowRule {
  const char *zSql;
  const char *zWhy;
} RowRule;

#define MAX_SAFE_TEXT "9007199254740991"
static const RowRule aRowRule[] = {
  { "SELECT lsn FROM main._dosql_changes WHERE NOT ("
    " lsn BETWEEN 1 AND " MAX_SAFE_TEXT
    " AND typeof(tx_id)='integer' AND tx_id BETWEEN 1 AND lsn"
    " AND typeof(ts)='integer' AND ts BETWEEN 0 AND " MAX_SAFE_TEXT
    " AND typeof(type)='text' AND type IN ('insert','update','delete')"
    " AND typeof(tbl)='text' AND typeof(data)='text'"
    " AND json_valid(data) AND json_type(data)='object'"
    " AND (old IS NULL OR (typeof(old)='text' AND json_valid(old) AND json_type(old)='object'))"
    " AND (type='update')=(old IS NOT NULL)) LIMIT 1",
    "a change-log row (lsn %s) is not one DoSQL writes: lsn, tx_id and ts are whole numbers "
    "up to 2^53-1, type is insert, update or delete, data and old are JSON objects" },
  { "SELECT max(lsn) FROM main._dosql_changes HAVING max(lsn)-min(lsn)+1<>count(*)",
    "the change log has gaps (its newest lsn is %s): DoSQL numbers events without gaps" },
  { "SELECT quote(name) FROM main._dosql_migrations WHERE NOT ("
    " typeof(name)='text' AND typeof(checksum)='text' AND length(checksum)=16"
    " AND checksum NOT GLOB '*[^0-9a-f]*' AND typeof(applied_at)='text') LIMIT 1",
    "the migration log's row %s is not one DoSQL writes (a name, a 16-digit hex checksum, a time)" },
};

/* Every event's data and old as /changes will copy them: JSON objects valid
** in every reader (request.h), as capture.c writes them. */
static int internalCheckEvents(Conn *p, char **pzWhy){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(p->db,
      "SELECT lsn, data, old FROM main._dosql_changes ORDER BY lsn", -1, &pStmt, 0);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    int rcEvent = changelogEventValid(pStmt, 1);
    if( rcEvent==SQLITE_NOMEM ) rc = SQLITE_NOMEM;
    else if( rcEvent==SQLITE_CORRUPT ){
      *pzWhy = sqlite3_mprintf("the change-log row of lsn %lld holds JSON that readers would "
                               "read differently (invalid UTF-8, a key twice, not an object)",
                               sqlite3_column_int64(pStmt, 0));
      if( *pzWhy==0 ) rc = SQLITE_NOMEM;
      break;
    }
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  else sqlite3_finalize(pStmt);
  return rc;
}

int internalCheckRows(Conn *p, char **pzWhy){
  unsigned i;
  int rc = SQLITE_OK;
  *pzWhy = 0;
  p->bTrusted = 1;
  for(i=0; rc==SQLITE_OK && *pzWhy==0 && i<sizeof(aRowRule)/sizeof(aRowRule[0]); i++){
    sqlite3_stmt *pStmt = 0;
    rc = sqlite3_prepare_v2(p->db, aRowRule[i].zSql, -1, &pStmt, 0);
    if( rc==SQLITE_OK ){
      rc = sqlite3_step(pStmt);
      if( rc==SQLITE_ROW ){
        *pzWhy = sqlite3_mprintf(aRowRule[i].zWhy, (const char*)sqlite3_column_text(pStmt, 0));
        rc = *pzWhy ? SQLITE_OK : SQLITE_NOMEM;
      }else if( rc==SQLITE_DONE ){
        rc = SQLITE_OK;
      }
    }
    sqlite3_finalize(pStmt);
  }
  if( rc==SQLITE_OK && *pzWhy==0 ) rc = internalCheckEvents(p, pzWhy);
  p->bTrusted = 0;
  return rc;
}
