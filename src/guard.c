/*
** guard.c — the authorizer for user SQL.
**
** User SQL may read anything and write its own tables. It may not attach other
** databases, control transactions itself (the endpoint owns the transaction),
** change settings that the storage contract depends on (journal, locking, page
** size, schema writes), or create, write, rename to or trigger on a name
** reserved for the engine's own tables, in any schema (internal.h).
**
** Internal work runs with Conn.bTrusted set and passes untouched, but only the
** engine's own statements: whatever a trigger or a view runs is user SQL, and
** the authorizer judges it so even while trusted work fired it. The CPU budget
** (budget.h, which counts the VM's steps) holds for all of it.
*/
#include <string.h>

#include "config.h"
#include "errors.h"
#include "guard.h"
#include "internal.h"
#include "sqlite/unit.h"
#include "unmatched.h"

/* PRAGMAs that only report, whatever their argument. */
static const char *const azQueryPragma[] = {
  "collation_list", "compile_options", "data_version", "database_list",
  "foreign_key_check", "foreign_key_list", "freelist_count", "function_list",
  "index_info", "index_list", "index_xinfo", "integrity_check", "module_list",
  "optimize", "page_count", "pragma_list", "quick_check", "table_info",
  "table_list", "table_xinfo", "incremental_vacuum",
};

/* Settings a user may read and change: they affect only the user's own SQL. */
static const char *const azSettablePragma[] = {
  "analysis_limit", "application_id", "automatic_index", "auto_vacuum",
  "cell_size_check", "defer_foreign_keys", "foreign_keys",
  "max_page_count", "recursive_triggers",
  "reverse_unordered_selects", "secure_delete", "user_version",
};

/* Settings a user may read but not change: the engine depends on them. */
static const char *const azReadOnlyPragma[] = {
  "busy_timeout", "cache_size", "cache_spill", "encoding", "hard_heap_limit",
  "journal_mode", "journal_size_limit",
  "legacy_alter_table",   /* on, a rename skips the check that keeps _dosql_changes whole */
  "locking_mode", "mmap_size", "page_size",
  "query_only", "schema_version", "soft_heap_limit", "synchronous", "temp_store",
  "threads", "trusted_schema",
};

/* Why an internal name is refused. */
#define GUARD_RESERVED "names starting _dosql_ belong to DoSQL's own tables, in every schema"
#define GUARD_HIDES_FUNCTION "json_each names SQLite's JSON function that the change log's view " \
  "(_dosql_changes) reads: an object of that name would break the view and every ALTER TABLE; " \
  "choose another name"

/* Whether authorizer action op creates a table, view or virtual table. */
static int guardIsCreate(int op){
  return op==SQLITE_CREATE_TABLE || op==SQLITE_CREATE_TEMP_TABLE || op==SQLITE_CREATE_VIEW
      || op==SQLITE_CREATE_TEMP_VIEW || op==SQLITE_CREATE_VTABLE;
}

static int inList(const char *const *az, int n, const char *z){
  int i;
  for(i=0; i<n; i++){
    if( sqlite3_stricmp(az[i], z)==0 ) return 1;
  }
  return 0;
}
#define IN_LIST(a, z) inList(a, (int)(sizeof(a)/sizeof(a[0])), z)

/* Why a PRAGMA is refused, or 0 if it is allowed: "is ...", said of the PRAGMA. */
static const char *pragmaDenial(const char *zPragma, const char *zArg){
  if( IN_LIST(azQueryPragma, zPragma) || IN_LIST(azSettablePragma, zPragma) ) return 0;
  if( IN_LIST(azReadOnlyPragma, zPragma) ){
    return zArg ? "is read-only here: the storage engine depends on its value" : 0;
  }
  if( sqlite3_stricmp(zPragma, "case_sensitive_like")==0 ){
    /* Omitted from the build (sqlite_options.h): SQLite deprecates it. */
    return "is deprecated by SQLite and not built in: for a case-sensitive match use GLOB, "
           "or compare with instr()";
  }
  if( sqlite3_stricmp(zPragma, "ignore_check_constraints")==0 ){
    /* D1 allows it; but a row it lets in fails PRAGMA integrity_check, so the
    ** database's own export would no longer import (IMPORT_CORRUPT). */
    return "is not allowed: a row it let in would break the CHECK constraint, which "
           "PRAGMA integrity_check reports, and the database's export would no longer import";
  }
  if( sqlite3_stricmp(zPragma, "writable_schema")==0 ){
    return "is not allowed: SQL may not write the schema itself. A sqlite3 .dump writes "
           "virtual tables (FTS5, R*Tree) that way: import the database file instead "
           "(dosql import, POST /import), or create them with CREATE VIRTUAL TABLE";
  }
  return "is not allowed";
}

/* The refusal of PRAGMA zPragma, naming it (in p->zDenial). */
/* Whether rows of the open transaction leave a deferred foreign key unmatched,
** which PRAGMA defer_foreign_keys=OFF would forget (SQLite clears the count). */
static int deferredForeignKeysPending(sqlite3 *db){
  int nNow = 0, nHigh = 0;
  return sqlite3_db_status(db, SQLITE_DBSTATUS_DEFERRED_FKS, &nNow, &nHigh, 0)==SQLITE_OK && nNow>0;
}

static const char *pragmaRefusal(Conn *p, const char *zPragma, const char *zWhy){
  int i;
  for(i=0; zPragma[i]; i++){
    /* A PRAGMA's name is an identifier; one that is not plain ASCII is not named. */
    if( i>=64 || (unsigned char)zPragma[i]>0x7e || zPragma[i]<0x21 ) return "this PRAGMA is not allowed";
  }
  sqlite3_snprintf(sizeof(p->zDenial), p->zDenial, "PRAGMA %s %s", zPragma, zWhy);
  return p->zDenial;
}

/* The authorizer's actions that change the schema when their statement runs:
** what makes a statement a candidate for schemaChanged (handler.c checks the
** schema cookie to be sure: CREATE TABLE IF NOT EXISTS of a table that exists
** is authorized as CREATE TABLE and changes nothing). ANALYZE may create
** sqlite_stat1. */
static int guardIsSchemaAction(int op){
  switch( op ){
    case SQLITE_CREATE_INDEX:       case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_INDEX:  case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_TRIGGER:     case SQLITE_CREATE_VIEW:
    case SQLITE_DROP_INDEX:         case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_INDEX:    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER:  case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_TRIGGER:       case SQLITE_DROP_VIEW:
    case SQLITE_ALTER_TABLE:        case SQLITE_ANALYZE:
    case SQLITE_CREATE_VTABLE:      case SQLITE_DROP_VTABLE:
      return 1;
  }
  return 0;
}

/* The wire name of a transaction operation the authorizer reports. */
static const char *guardTransactionName(const char *zOp){
  if( zOp && sqlite3_stricmp(zOp, "BEGIN")==0 ) return "begin";
  if( zOp && sqlite3_stricmp(zOp, "COMMIT")==0 ) return "commit";
  return "rollback";
}

static int guardAuthorize(void *pArg, int op, const char *z3, const char *z4,
                          const char *zDb, const char *zTrigger){
  Conn *p = (Conn*)pArg;
  const char *zWhy = 0;
  (void)zDb;
  if( p->eParseOnly==CONN_PARSE_ALL ) return SQLITE_DENY;
  if( p->eParseOnly==CONN_PARSE_SETTINGS && op==SQLITE_PRAGMA && z4 && !IN_LIST(azQueryPragma, z3) ){
    /* Left out, the PRAGMA prepares as a program that does nothing, which
    ** still says whether it is under EXPLAIN (connPrepareOne). */
    p->bSettingDeferred = 1;
    return SQLITE_IGNORE;
  }
  if( guardIsSchemaAction(op) ) p->bSchemaTouched = 1;   /* conn.h: kept statements */
  if( dosqlMeterNewModules(p->db)!=SQLITE_OK ){
    p->zDenied = "the engine could not meter a virtual table's reads";
    return SQLITE_DENY;
  }
  /* SQLite asks before it compiles each SELECT, and before it flattens one. */
  if( op==SQLITE_SELECT ) dosqlLimitFlattening(p->db, DOSQL_FLATTEN_MAX_CURSORS);
  if( p->bTrusted && zTrigger==0 ) return SQLITE_OK;
  if( p->bVacuum ){
    /* VACUUM runs SQL of its own (BEGIN, an ATTACH of an unnamed scratch
    ** database, copies of every table): allow it, but not VACUUM INTO, whose
    ** ATTACH names a file. */
    if( op==SQLITE_ATTACH && z3 && z3[0] ){
      p->zDenied = GUARD_VACUUM_INTO;
      return SQLITE_DENY;
    }
    return SQLITE_OK;
  }
  if( guardIsSchemaAction(op) ) p->bSchemaSql = 1;
  if( (op==SQLITE_TRANSACTION || op==SQLITE_SAVEPOINT) && dosqlPreparingExplain(p->db) ){
    /* EXPLAIN BEGIN lists a program it never runs: no transaction statement. */
    if( op==SQLITE_TRANSACTION ) p->zTxExplained = guardTransactionName(z3);
    return SQLITE_OK;
  }
  switch( op ){
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      zWhy = "ATTACH and DETACH are not allowed: each Durable Object holds one database";
      break;
    case SQLITE_FUNCTION:
      /* z4 is the function's name. sqlite_log() writes SQLite's log, which is the
      ** operator's (the host's log): a tenant may not write lines there. */
      if( z4 && sqlite3_stricmp(z4, "sqlite_log")==0 ){
        zWhy = "sqlite_log() is not allowed: SQLite's log is the operator's";
      }
      break;
    case SQLITE_TRANSACTION:
      /* z3 is the operation: "BEGIN", "COMMIT" (also for END) or "ROLLBACK".
      ** The handler answers TRANSACTION_STATEMENT naming it, so a client that
      ** maps such statements to /begin, /commit and /rollback (the D1 facade)
      ** learns what the statement was from SQLite's parser. */
      p->zTxControl = guardTransactionName(z3);
      if( p->bTxStatements ) break;
      zWhy = p->bScriptSql
           ? "BEGIN, COMMIT and ROLLBACK are not allowed in a script, which runs as one "
             "transaction already: leave them out (a sqlite3 .dump holds them)"
           : p->bInteractive
           ? "BEGIN, COMMIT and ROLLBACK are not allowed in a statement: this one runs in "
             "an interactive transaction, which /commit and /rollback end (in getDB()'s "
             "transaction(fn): return from fn, or throw)"
           : "BEGIN, COMMIT and ROLLBACK are not allowed in a statement: "
             "send the statements together to /transaction or /batch, or use "
             "an interactive transaction (/begin, /commit, /rollback; in getDB(): "
             "db.batch() or db.transaction(fn))";
      break;
    case SQLITE_SAVEPOINT:
      /* Inside a transaction a savepoint nests in it; outside one it would
      ** open a transaction that outlives the request. */
      p->bSavepointSql = 1;
      if( sqlite3_get_autocommit(p->db) ){
        /* In libSQL's words where its statements run (bTxStatements: hrana.c). */
        zWhy = p->bTxStatements
             ? "SAVEPOINT, RELEASE and ROLLBACK TO are allowed only inside a transaction: "
               "after a BEGIN (a client's transaction(), or the statements of a batch)"
             : "SAVEPOINT, RELEASE and ROLLBACK TO are allowed only inside a transaction: "
               "among the operations of one /transaction or /batch, or in an "
               "interactive transaction (/begin)";
      }else if( z4 && sqlite3_stricmp(z4, CONN_SAVEPOINT)==0 ){
        zWhy = "the savepoint name " CONN_SAVEPOINT " is DoSQL's own";
      }else if( p->bSavepoint && strcmp(z3 ? z3 : "", "BEGIN")!=0
             && !dosqlSavepointIsNewer(p->db, z4 ? z4 : "", CONN_SAVEPOINT) ){
        /* The request runs in a savepoint of its own (a /batch, /transaction
        ** or /exec of an interactive transaction): undoing or releasing one
        ** opened before it would take the request's savepoint along, and
        ** then a failure could no longer undo the request. */
        zWhy = "inside /batch, /transaction or /exec of an interactive transaction, RELEASE and "
               "ROLLBACK TO may name only a savepoint opened in the same request";
      }
      break;
    case SQLITE_PRAGMA:
      zWhy = pragmaDenial(z3, z4);
      if( zWhy ) zWhy = pragmaRefusal(p, z3, zWhy);
      if( z4 && sqlite3_stricmp(z3, "foreign_keys")==0 ) p->eForeignKeysSql = 1 + dosqlPragmaBoolean(z4);
      if( z4 && sqlite3_stricmp(z3, "defer_foreign_keys")==0 ){
        p->bDeferForeignKeysSql = 1;
        if( !zWhy && !dosqlPragmaBoolean(z4) && deferredForeignKeysPending(p->db) ){
          zWhy = "PRAGMA defer_foreign_keys=OFF is not allowed while rows this transaction wrote "
                 "leave a deferred foreign key unmatched: SQLite would forget them, and they would "
                 "commit; match them first, or leave the check to the commit";
        }
      }
      break;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_CREATE_VTABLE:
      if( internalIsReserved(z3) ) zWhy = GUARD_RESERVED;
      else if( internalHidesViewFunction(z3) && guardIsCreate(op) ) zWhy = GUARD_HIDES_FUNCTION;
      break;
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_TEMP_TRIGGER:
      if( internalIsReserved(z3) || internalIsReserved(z4) ){
        zWhy = GUARD_RESERVED;
      }
      break;
    case SQLITE_ALTER_TABLE:
      /* The new name of a RENAME is not shown here: guardCheckSchema() looks
      ** after the statement has run. */
      if( internalIsReserved(z4) ) zWhy = GUARD_RESERVED;
      p->bAltered = 1;
      break;
  }
  if( zWhy ){
    p->zDenied = zWhy;
    return SQLITE_DENY;
  }
  return SQLITE_OK;
}

int guardCheckSchema(Conn *p, Reply *pReply){
  char *zWhy = 0;
  int rc;
  if( !p->bAltered ) return SQLITE_OK;
  p->bAltered = 0;
  rc = internalCheckSchema(p, &zWhy, 0);
  if( rc!=SQLITE_OK ){
    connFail(p, pReply, rc);
  }else if( zWhy ){
    replyFail(pReply, dosqlResultStatus(SQLITE_AUTH), dosqlResultName(SQLITE_AUTH),
        "not authorized: %s", zWhy);
    rc = SQLITE_AUTH;
  }
  sqlite3_free(zWhy);
  return rc;
}

int guardSetsForeignKeys(const Conn *p){
  return p->eForeignKeysSql!=0 || p->bDeferForeignKeysSql;
}

void guardStartStatement(Conn *p){
  p->zTxControl = 0;
  p->zTxExplained = 0;
  p->bSavepointSql = 0;
  p->bSchemaSql = 0;
  p->eForeignKeysSql = 0;
  p->bDeferForeignKeysSql = 0;
}

const char *guardTransactionStatement(const Conn *p){
  return p->zTxControl;
}

const char *guardExplainedTransactionStatement(const Conn *p){
  return p->zTxExplained;
}

int guardIsSavepoint(const Conn *p){
  return p->bSavepointSql;
}

int guardForeignKeysSetting(const Conn *p){
  return p->eForeignKeysSql - 1;
}

static void forgetUnmatched(Conn *p){
  unmatchedFree(p->pFkBefore);
  p->pFkBefore = 0;
  p->rcFkCounted = SQLITE_OK;
}

int guardCheckForeignKeys(Conn *p, Reply *pReply, int status, const char *zCode,
                          const char *zSubject, const char *zRule){
  UnmatchedRows *pNow = 0;
  const char *zChild, *zRowid, *zParent;
  int rc = unmatchedFind(p->db, &pNow);
  /* The rows found when foreign keys went off could not be told for want of
  ** memory: every row now would be blamed on the request, which fails as that
  ** did. (Another error, a foreign key naming no unique key, the request may
  ** have mended since: then every row it leaves counts.) */
  if( rc==SQLITE_OK && p->rcFkCounted==SQLITE_NOMEM ) rc = SQLITE_NOMEM;
  if( rc!=SQLITE_OK ){
    connFail(p, pReply, rc);   /* the check could not run: SQLite says why */
  }else if( unmatchedFirstNew(pNow, p->pFkBefore, &zChild, &zRowid, &zParent) ){
    replyFail(pReply, status, zCode, "%s turns foreign keys off (PRAGMA foreign_keys) "
        "and leaves a row of %s (rowid %s) whose foreign key finds no row in %s "
        "(PRAGMA foreign_key_check): %s must leave every foreign key matched", zSubject,
        zChild, zRowid, zParent, zRule);
    rc = SQLITE_CONSTRAINT_FOREIGNKEY;
  }
  unmatchedFree(pNow);
  forgetUnmatched(p);
  return rc;
}

int guardForeignKeysOn(Conn *p){
  int bOn = 1;
  sqlite3_db_config(p->db, SQLITE_DBCONFIG_ENABLE_FKEY, -1, &bOn);
  return bOn;
}

void guardSetForeignKeys(Conn *p, int bOn){
  sqlite3_db_config(p->db, SQLITE_DBCONFIG_ENABLE_FKEY, bOn, (int*)0);
}

void guardEndForeignKeys(Conn *p, int bOn){
  if( p->db ) guardSetForeignKeys(p, bOn);
  forgetUnmatched(p);
}

int guardApplyForeignKeys(Conn *p){
  int bOn = guardForeignKeysSetting(p);
  if( bOn<0 ) return 0;
  if( !bOn && p->pFkBefore==0 && p->rcFkCounted==SQLITE_OK ){
    /* Once a request; failing, it keeps why (guardCheckForeignKeys). */
    p->rcFkCounted = unmatchedFind(p->db, &p->pFkBefore);
  }
  guardSetForeignKeys(p, bOn);
  return !bOn;
}

int guardMayChangeSchema(const Conn *p){
  return p->bSchemaSql;
}

int guardInstall(Conn *p){
  sqlite3 *db = p->db;
  int rc = sqlite3_set_authorizer(db, guardAuthorize, p);
  if( rc==SQLITE_OK ) rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int*)0);
  if( rc==SQLITE_OK ) rc = sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int*)0);
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 1);    /* VACUUM's scratch database */
  sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, DOSQL_MAX_REQUEST_BYTES);
  return rc;
}
