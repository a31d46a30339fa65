/*
** diff.c — the changes between two points (diff.h). Both points are attached
** read-only to the connection ("to" is main when it is the present), and
** compared by SQL the engine writes: the authorizer lets it through, the CPU
** budget does not.
*/
#include <stdarg.h>
#include <string.h>

#include "config.h"
#include "diff.h"
#include "errors.h"
#include "history.h"
#include "internal.h"
#include "json.h"
#include "sqlite/unit.h"
#include "vfs.h"

/* Schema names of the attached points. */
#define DIFF_FROM "dosql_diff_from"
#define DIFF_TO   "dosql_diff_to"
/* The column numberedCopies() adds, or its stem when a column takes the name. */
#define DIFF_COPY "dosql_diff_copy"
/* Terms of a Chain in one pair of parentheses. */
#define DIFF_CHAIN_GROUP 32

/* One point's side of a table. */
typedef struct Side {
  int bExists;
  int bWithoutRowid;
  int nCol;
  char **azCol;           /* column names (sqlite3_malloc'd) */
  int nPk;
  char **azPk;            /* primary key columns in key order (WITHOUT ROWID) */
  char *zKeyRule;         /* how the key compares: each key column's collation and
                          ** affinity (WITHOUT ROWID; sqlite3_malloc'd) */
} Side;

/* A diff in progress. */
typedef struct Diff {
  Conn *pConn;
  Reply *pReply;
  const char *zTo;        /* the schema of "to": DIFF_TO or "main" */
  const cJSON *pTables;   /* the tables asked for, or 0 for all */
  int nLeft;              /* changes still to list */
  int bMore;              /* one more was found */
  int nChange;            /* changes listed */
  int rc;                 /* the first failure (the reply has it) */
} Diff;

/* Prepare SQL the engine wrote; fails the diff. */
static sqlite3_stmt *diffPrepare(Diff *p, char *zSql){
  sqlite3_stmt *pStmt = 0;
  if( p->rc!=SQLITE_OK ){
    sqlite3_free(zSql);
    return 0;
  }
  p->pConn->bTrusted = 1;
  p->rc = zSql ? sqlite3_prepare_v2(p->pConn->db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  p->pConn->bTrusted = 0;
  sqlite3_free(zSql);
  if( p->rc!=SQLITE_OK ) connFail(p->pConn, p->pReply, p->rc);
  return pStmt;
}

/* Whether table zName is one the request asks for: 1 or 0, or -1 when the
** comparing spent the request's budget (the reply says so). */
static int diffWanted(Diff *p, const char *zName){
  const cJSON *pItem;
  sqlite3_int64 nUnits;
  if( zName==0 || internalIsReserved(zName) ) return 0;
  if( p->pTables==0 ) return 1;
  /* Every table against every name: the list may name one table a million times. */
  nUnits = 1 + (sqlite3_int64)strlen(zName)/DOSQL_CPU_BYTES_PER_UNIT;
  cJSON_ArrayForEach(pItem, p->pTables){
    if( budgetCharge(&p->pConn->budget, nUnits) ){
      p->rc = SQLITE_INTERRUPT;
      connFail(p->pConn, p->pReply, p->rc);
      return -1;
    }
    if( sqlite3_stricmp(pItem->valuestring, zName)==0 ) return 1;   /* as SQLite names tables */
  }
  return 0;
}

static void sideFree(Side *s){
  int i;
  for(i=0; i<s->nCol; i++) sqlite3_free(s->azCol[i]);
  for(i=0; i<s->nPk; i++) sqlite3_free(s->azPk[i]);
  sqlite3_free(s->azCol);
  sqlite3_free(s->azPk);
  sqlite3_free(s->zKeyRule);
  memset(s, 0, sizeof(*s));
}

/* Read table zTable's columns and key in schema zSchema. PRAGMA statements,
** not pragma_table_list() and pragma_table_xinfo(): a user's table (or temp
** table) of that name would answer in their place. */
static void sideLoad(Diff *p, Side *s, const char *zSchema, const char *zTable){
  sqlite3_stmt *pList = diffPrepare(p, sqlite3_mprintf("PRAGMA \"%w\".table_list(%Q)", zSchema, zTable));
  sqlite3_stmt *pStmt = diffPrepare(p, sqlite3_mprintf("PRAGMA \"%w\".table_xinfo(%Q)", zSchema, zTable));
  int bView = 0;
  memset(s, 0, sizeof(*s));
  /* table_list: schema, name, type, ncol, wr, strict. */
  if( pList && sqlite3_step(pList)==SQLITE_ROW ){
    s->bWithoutRowid = sqlite3_column_int(pList, 4);
    /* A view of the name holds no rows: at this point the table is not there. */
    bView = sqlite3_stricmp((const char*)sqlite3_column_text(pList, 2), "view")==0;
  }
  /* table_xinfo: cid, name, type, notnull, dflt_value, pk, hidden (0, 2, 3: stored or generated). */
  while( pStmt && !bView && sqlite3_step(pStmt)==SQLITE_ROW ){
    char *zCol;
    int iPk = sqlite3_column_int(pStmt, 5), iHidden = sqlite3_column_int(pStmt, 6);
    char **azCol, **azPk;
    if( iHidden==1 ) continue;   /* a virtual table's hidden column */
    zCol = sqlite3_mprintf("%s", (const char*)sqlite3_column_text(pStmt, 1));
    azCol = sqlite3_realloc64(s->azCol, sizeof(char*)*(s->nCol+1));
    azPk = sqlite3_realloc64(s->azPk, sizeof(char*)*(iPk>s->nPk ? iPk : s->nPk+1));
    if( zCol==0 || azCol==0 || azPk==0 ){
      sqlite3_free(zCol);
      if( azCol ) s->azCol = azCol;
      if( azPk ) s->azPk = azPk;
      p->rc = SQLITE_NOMEM;
      break;
    }
    s->bExists = 1;
    s->azCol = azCol;
    s->azPk = azPk;
    s->azCol[s->nCol++] = zCol;
    if( iPk>0 ){
      while( s->nPk<iPk ) s->azPk[s->nPk++] = 0;
      s->azPk[iPk-1] = sqlite3_mprintf("%s", zCol);
    }
  }
  sqlite3_finalize(pList);
  if( p->rc==SQLITE_OK && pStmt && (p->rc = sqlite3_finalize(pStmt))!=SQLITE_OK ){
    connFail(p->pConn, p->pReply, p->rc);
  }else if( p->rc!=SQLITE_OK ){
    sqlite3_finalize(pStmt);
    connFail(p->pConn, p->pReply, p->rc);
  }
}

/* The affinity of a column of declared type zType (SQLite's rules: datatype3.html). */
static char affinityOf(const char *zType){
  static const struct { const char *zLike; char c; } aRule[] = {
    { "%INT%", 'I' }, { "%CHAR%", 'T' }, { "%CLOB%", 'T' }, { "%TEXT%", 'T' },
    { "%BLOB%", 'B' }, { "%REAL%", 'R' }, { "%FLOA%", 'R' }, { "%DOUB%", 'R' },
  };
  int i;
  if( zType==0 || zType[0]==0 ) return 'B';
  for(i=0; i<(int)(sizeof(aRule)/sizeof(aRule[0])); i++){
    if( sqlite3_strlike(aRule[i].zLike, zType, 0)==0 ) return aRule[i].c;
  }
  return 'N';
}

/* s->zKeyRule of WITHOUT ROWID table zTable in zSchema: "collation affinity," for
** each key column in key order, from its primary key index. Two points' keys pair
** their rows one to one only when they compare alike (a key made NOCASE, or TEXT
** made INTEGER, would pair two rows of one point with one of the other). */
static void keyRuleLoad(Diff *p, Side *s, const char *zSchema, const char *zTable){
  sqlite3_stmt *pList = diffPrepare(p, sqlite3_mprintf("PRAGMA \"%w\".index_list(%Q)", zSchema, zTable));
  sqlite3_stmt *pTypes = diffPrepare(p, sqlite3_mprintf("PRAGMA \"%w\".table_xinfo(%Q)", zSchema, zTable));
  sqlite3_stmt *pKey = 0;
  sqlite3_str *pOut = sqlite3_str_new(0);
  /* index_list: seq, name, unique, origin, partial. */
  while( pList && sqlite3_step(pList)==SQLITE_ROW ){
    if( sqlite3_stricmp((const char*)sqlite3_column_text(pList, 3), "pk")==0 ){
      pKey = diffPrepare(p, sqlite3_mprintf("PRAGMA \"%w\".index_xinfo(%Q)", zSchema, (const char*)sqlite3_column_text(pList, 1)));
      break;
    }
  }
  /* index_xinfo: seqno, cid, name, desc, coll, key. */
  while( pKey && pTypes && sqlite3_step(pKey)==SQLITE_ROW ){
    int iCid = sqlite3_column_int(pKey, 1);
    const char *zType = 0;
    if( sqlite3_column_int(pKey, 5)==0 ) continue;
    sqlite3_reset(pTypes);
    /* table_xinfo: cid, name, type, ... */
    while( sqlite3_step(pTypes)==SQLITE_ROW ){
      if( sqlite3_column_int(pTypes, 0)==iCid ){
        zType = (const char*)sqlite3_column_text(pTypes, 2);
        break;
      }
    }
    sqlite3_str_appendf(pOut, "%s %c,", (const char*)sqlite3_column_text(pKey, 4), affinityOf(zType));
  }
  sqlite3_finalize(pList);
  sqlite3_finalize(pTypes);
  sqlite3_finalize(pKey);
  s->zKeyRule = sqlite3_str_finish(pOut);
  if( s->zKeyRule==0 && p->rc==SQLITE_OK ){
    p->rc = SQLITE_NOMEM;
    connFail(p->pConn, p->pReply, p->rc);
  }
}

/* Append columns iFirst..iFirst+n-1 of pStmt's row as an object. */
static void appendObject(sqlite3_str *pOut, sqlite3_stmt *pStmt, int iFirst, int n){
  int i;
  sqlite3_str_appendchar(pOut, 1, '{');
  for(i=0; i<n; i++){
    if( i ) sqlite3_str_appendchar(pOut, 1, ',');
    jsonAppendString(pOut, sqlite3_column_name(pStmt, iFirst+i), -1);
    sqlite3_str_appendchar(pOut, 1, ':');
    jsonAppendColumn(pOut, pStmt, iFirst+i);
  }
  sqlite3_str_appendchar(pOut, 1, '}');
}

/* A change on its way into the answer (connAppendRow): the row pStmt is on, of
** table zTable, type zType, "data" its first nData columns, "old" the nOld after. */
typedef struct DiffRow {
  sqlite3_stmt *pStmt;
  const char *zTable;
  const char *zType;
  int nData;
  int nOld;
  int bComma;
} DiffRow;

static void writeChange(sqlite3_str *pOut, void *pArg){
  const DiffRow *p = pArg;
  if( p->bComma ) sqlite3_str_appendchar(pOut, 1, ',');
  sqlite3_str_appendall(pOut, "{\"table\":");
  jsonAppendString(pOut, p->zTable, -1);
  sqlite3_str_appendf(pOut, ",\"type\":\"%s\",\"data\":", p->zType);
  appendObject(pOut, p->pStmt, 0, p->nData);
  if( p->nOld ){
    sqlite3_str_appendall(pOut, ",\"old\":");
    appendObject(pOut, p->pStmt, p->nData, p->nOld);
  }
  sqlite3_str_appendchar(pOut, 1, '}');
}

/* List the rows of zSql (built by the caller) as changes of type zType: the
** first nData columns are "data", the nOld after them "old". */
static void diffList(Diff *p, const char *zTable, const char *zType, char *zSql, int nData, int nOld){
  sqlite3_stmt *pStmt = diffPrepare(p, zSql);
  DiffRow row;
  int rc;
  if( pStmt==0 ) return;
  row.pStmt = pStmt;
  row.zTable = zTable;
  row.zType = zType;
  row.nData = nData;
  row.nOld = nOld;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    if( p->nLeft==0 ){
      p->bMore = 1;
      break;
    }
    p->nLeft--;
    row.bComma = p->nChange++>0;
    if( connAppendRow(p->pConn, p->pReply, pStmt, nData+nOld, writeChange, &row) ){
      p->rc = SQLITE_TOOBIG;
      break;
    }
  }
  if( rc!=SQLITE_ROW && rc!=SQLITE_DONE ){
    p->rc = rc;
    connFail(p->pConn, p->pReply, rc);
  }
  sqlite3_finalize(pStmt);
}

/* The column list of a side, each prefixed with zAlias. */
static char *columnList(const Side *s, const char *zAlias){
  sqlite3_str *pOut = sqlite3_str_new(0);
  int i;
  for(i=0; i<s->nCol; i++) sqlite3_str_appendf(pOut, "%s%s.\"%w\"", i ? "," : "", zAlias, s->azCol[i]);
  if( s->nCol==0 ) sqlite3_str_appendall(pOut, "NULL");
  return sqlite3_str_finish(pOut);
}

/* Whether side s has column zCol. */
static int hasColumn(const Side *s, const char *zCol){
  int i;
  for(i=0; i<s->nCol; i++) if( sqlite3_stricmp(s->azCol[i], zCol)==0 ) return 1;
  return 0;
}

/* Terms joined by one operator (" OR ", " AND "), a term for each column.
** SQLite nests a chain of N terms N deep, and refuses past 1,000
** (SQLITE_MAX_EXPR_DEPTH: a table of about 500 columns), so the terms go in
** groups of DIFF_CHAIN_GROUP in parentheses: 2,000 columns nest about 100 deep. */
typedef struct Chain {
  sqlite3_str *pOut;
  const char *zOp;
  int nTerm;
} Chain;

static void chainAdd(Chain *c, const char *zFormat, ...){
  va_list ap;
  if( c->nTerm==0 ) sqlite3_str_appendchar(c->pOut, 1, '(');
  else if( c->nTerm % DIFF_CHAIN_GROUP ) sqlite3_str_appendall(c->pOut, c->zOp);
  else sqlite3_str_appendf(c->pOut, ")%s(", c->zOp);
  va_start(ap, zFormat);
  sqlite3_str_vappendf(c->pOut, zFormat, ap);
  va_end(ap);
  c->nTerm++;
}

/* The chain's text (sqlite3_malloc'd; 0 when out of memory); zNone when it has no term. */
static char *chainFinish(Chain *c, const char *zNone){
  if( c->nTerm ) sqlite3_str_appendchar(c->pOut, 1, ')');
  else sqlite3_str_appendall(c->pOut, zNone);
  return sqlite3_str_finish(c->pOut);
}

/* The name of the rowid of a table whose sides are f and x: the first of
** SQLite's three that no column of either side takes; 0 if they take all. */
static const char *rowidName(const Side *f, const Side *x){
  static const char *const azName[] = { "rowid", "_rowid_", "oid" };
  int i;
  for(i=0; i<3; i++){
    if( !hasColumn(f, azName[i]) && !hasColumn(x, azName[i]) ) return azName[i];
  }
  return 0;
}

/* Whether WITHOUT ROWID sides f and x have one key: the same columns, in order,
** compared alike. */
static int sameKey(const Side *f, const Side *x){
  int i;
  if( f->nPk!=x->nPk ) return 0;
  if( f->zKeyRule==0 || x->zKeyRule==0 || sqlite3_stricmp(f->zKeyRule, x->zKeyRule)!=0 ) return 0;
  for(i=0; i<f->nPk; i++){
    if( f->azPk[i]==0 || x->azPk[i]==0 || sqlite3_stricmp(f->azPk[i], x->azPk[i])!=0 ) return 0;
  }
  return 1;
}

/* The condition that pairs a row of f with its row of x, and the key to order
** by: a rowid table's rowid (zRowid names it), a WITHOUT ROWID table's key. */
static void keyOf(const Side *f, const char *zRowid, char **pzJoin, char **pzOrderF, char **pzOrderX){
  Chain join = { sqlite3_str_new(0), " AND ", 0 };
  sqlite3_str *pF = sqlite3_str_new(0), *pX = sqlite3_str_new(0);
  int i;
  if( !f->bWithoutRowid ){
    chainAdd(&join, "x.%s = f.%s", zRowid, zRowid);
    sqlite3_str_appendf(pF, "f.%s", zRowid);
    sqlite3_str_appendf(pX, "x.%s", zRowid);
  }
  for(i=0; f->bWithoutRowid && i<f->nPk; i++){
    chainAdd(&join, "x.\"%w\" IS f.\"%w\"", f->azPk[i], f->azPk[i]);
    sqlite3_str_appendf(pF, "%sf.\"%w\"", i ? "," : "", f->azPk[i]);
    sqlite3_str_appendf(pX, "%sx.\"%w\"", i ? "," : "", f->azPk[i]);
  }
  *pzJoin = chainFinish(&join, "1");
  *pzOrderF = sqlite3_str_finish(pF);
  *pzOrderX = sqlite3_str_finish(pX);
}

/* When a row of f and its row of x differ (diff.h): byte for byte and type for
** type, not as the column compares (a NOCASE or RTRIM collation, or 1 = 1.0,
** would hide a change the row holds). REAL -0.0 and 0.0 are equal to SQL, and
** so is everything printed of them but their sign, which atan2(0, v) reads (pi
** for -0.0). */
static char *differs(const Side *f, const Side *x){
  Chain any = { sqlite3_str_new(0), " OR ", 0 };
  int i;
  for(i=0; i<f->nCol; i++){
    const char *z = f->azCol[i];
    if( hasColumn(x, z) ){
      chainAdd(&any, "f.\"%w\" IS NOT x.\"%w\" COLLATE BINARY"
                     " OR typeof(f.\"%w\") IS NOT typeof(x.\"%w\")"
                     " OR (f.\"%w\" = 0 AND typeof(f.\"%w\") = 'real'"
                     " AND atan2(0, f.\"%w\") IS NOT atan2(0, x.\"%w\"))", z, z, z, z, z, z, z, z);
    }else{
      chainAdd(&any, "f.\"%w\" IS NOT NULL", z);
    }
  }
  for(i=0; i<x->nCol; i++){
    if( !hasColumn(f, x->azCol[i]) ) chainAdd(&any, "x.\"%w\" IS NOT NULL", x->azCol[i]);
  }
  return chainFinish(&any, "0");
}

/* A name for the copy number that no column of f or x has (zOut, 40 bytes):
** a column of the user's so named would stand in for it. */
static void copyColumnName(const Side *f, const Side *x, char *zOut){
  int i;
  sqlite3_snprintf(40, zOut, "%s", DIFF_COPY);
  for(i=1; hasColumn(f, zOut) || hasColumn(x, zOut); i++) sqlite3_snprintf(40, zOut, "%s_%d", DIFF_COPY, i);
}

/* A side's rows, each with its number (as zCopy) among the copies of its
** content: a table without a rowid name to pair by holds copies alike. Copies
** are alike as differs() sees rows: byte for byte and type for type, not as the
** columns compare ('a' and 'A' under NOCASE are two rows, not two copies; nor are
** -0.0 and 0.0). */
static char *numberedCopies(const Side *s, const char *zSchema, const char *zTable, const char *zCopy){
  sqlite3_str *pBy = sqlite3_str_new(0);
  char *zBy, *z;
  int i;
  for(i=0; i<s->nCol; i++){
    const char *z = s->azCol[i];
    sqlite3_str_appendf(pBy, "%st.\"%w\" COLLATE BINARY,typeof(t.\"%w\"),"
        "iif(t.\"%w\" = 0 AND typeof(t.\"%w\") = 'real', atan2(0, t.\"%w\"), NULL)", i ? "," : "", z, z, z, z, z);
  }
  if( s->nCol==0 ) sqlite3_str_appendall(pBy, "NULL");
  zBy = sqlite3_str_finish(pBy);
  z = zBy ? sqlite3_mprintf("(SELECT *, row_number() OVER (PARTITION BY %s) AS \"%w\" FROM \"%w\".\"%w\" AS t)",
                            zBy, zCopy, zSchema, zTable) : 0;
  sqlite3_free(zBy);
  return z;
}

/* List the changes of one table. */
static void diffTable(Diff *p, const char *zTable){
  Side f, x;
  char *zF = 0, *zX = 0, *zJoin = 0, *zOrderF = 0, *zOrderX = 0, *zDiffers = 0;
  char *zSrcF = 0, *zSrcX = 0;
  const char *zRowid = 0;
  int bUpdates = 1;
  sideLoad(p, &f, DIFF_FROM, zTable);
  sideLoad(p, &x, p->zTo, zTable);
  if( p->rc==SQLITE_OK && f.bExists && x.bExists && f.bWithoutRowid && x.bWithoutRowid ){
    keyRuleLoad(p, &f, DIFF_FROM, zTable);
    keyRuleLoad(p, &x, p->zTo, zTable);
  }
  if( p->rc!=SQLITE_OK ) goto done;
  zF = columnList(&f, "f");
  zX = columnList(&x, "x");
  if( !f.bExists || !x.bExists || f.bWithoutRowid!=x.bWithoutRowid
   || (f.bWithoutRowid && !sameKey(&f, &x)) ){
    /* Created, dropped, or rebuilt with another key: every row goes and comes. */
    if( f.bExists ){
      diffList(p, zTable, "delete", sqlite3_mprintf("SELECT %s FROM \"%w\".\"%w\" AS f", zF, DIFF_FROM, zTable), f.nCol, 0);
    }
    if( x.bExists ){
      diffList(p, zTable, "insert", sqlite3_mprintf("SELECT %s FROM \"%w\".\"%w\" AS x", zX, p->zTo, zTable), x.nCol, 0);
    }
    goto done;
  }
  zDiffers = differs(&f, &x);
  if( !f.bWithoutRowid && (zRowid = rowidName(&f, &x))==0 ){
    /* Columns take every name of the rowid: rows pair by their whole
    ** content, copies of one row by their number among them, and a changed
    ** row is listed as deleted and inserted. */
    char zCopy[40];
    copyColumnName(&f, &x, zCopy);
    zSrcF = numberedCopies(&f, DIFF_FROM, zTable, zCopy);
    zSrcX = numberedCopies(&x, p->zTo, zTable, zCopy);
    zJoin = sqlite3_mprintf("NOT (%s) AND x.\"%w\" = f.\"%w\"", zDiffers, zCopy, zCopy);
    zOrderF = sqlite3_mprintf("%s", zF);
    zOrderX = sqlite3_mprintf("%s", zX);
  }else{
    zSrcF = sqlite3_mprintf("\"%w\".\"%w\"", DIFF_FROM, zTable);
    zSrcX = sqlite3_mprintf("\"%w\".\"%w\"", p->zTo, zTable);
    keyOf(&f, zRowid, &zJoin, &zOrderF, &zOrderX);
    if( f.nCol + x.nCol > sqlite3_limit(p->pConn->db, SQLITE_LIMIT_COLUMN, -1) ){
      /* An update's row holds both sides' columns, past the most SQLite
      ** answers in a row: a changed row is listed as deleted and inserted. */
      char *zSame = zJoin ? sqlite3_mprintf("%s AND NOT (%s)", zJoin, zDiffers) : 0;
      sqlite3_free(zJoin);
      zJoin = zSame;
      bUpdates = 0;
    }
  }
  diffList(p, zTable, "delete", sqlite3_mprintf(
      "SELECT %s FROM %s AS f WHERE NOT EXISTS (SELECT 1 FROM %s AS x WHERE %s) ORDER BY %s",
      zF, zSrcF, zSrcX, zJoin, zOrderF), f.nCol, 0);
  if( (f.bWithoutRowid || zRowid) && bUpdates ){
    diffList(p, zTable, "update", sqlite3_mprintf(
        "SELECT %s, %s FROM %s AS f JOIN %s AS x ON %s WHERE %s ORDER BY %s",
        zX, zF, zSrcF, zSrcX, zJoin, zDiffers, zOrderF), x.nCol, f.nCol);
  }
  diffList(p, zTable, "insert", sqlite3_mprintf(
      "SELECT %s FROM %s AS x WHERE NOT EXISTS (SELECT 1 FROM %s AS f WHERE %s) ORDER BY %s",
      zX, zSrcX, zSrcF, zJoin, zOrderX), x.nCol, 0);
done:
  sqlite3_free(zSrcF);
  sqlite3_free(zSrcX);
  sqlite3_free(zF);
  sqlite3_free(zX);
  sqlite3_free(zJoin);
  sqlite3_free(zOrderF);
  sqlite3_free(zOrderX);
  sqlite3_free(zDiffers);
  sideFree(&f);
  sideFree(&x);
}

/* Whether table zTable is a virtual table's shadow at either point: its rows
** and schema are the virtual table's, listed as that table's. */
static int isShadow(const Diff *p, const char *zTable){
  sqlite3 *db = p->pConn->db;
  return dosqlIsShadowTable(db, DIFF_FROM, zTable) || dosqlIsShadowTable(db, p->zTo, zTable);
}

/* The schema objects whose SQL differs, matched by name and type: a name whose
** kind changed (a table now a view) is one object gone and another new. */
static void diffSchema(Diff *p){
  sqlite3_str *pOut = replyBody(p->pReply);
  sqlite3_stmt *pStmt = diffPrepare(p, sqlite3_mprintf(
      "SELECT coalesce(f.type, x.type), coalesce(f.name, x.name), coalesce(f.tbl_name, x.tbl_name), f.sql, x.sql "
      "FROM \"%w\".sqlite_schema AS f FULL JOIN \"%w\".sqlite_schema AS x ON x.name = f.name AND x.type = f.type "
      "WHERE f.sql IS NOT x.sql ORDER BY 2, 5 NULLS FIRST", DIFF_FROM, p->zTo));
  int n = 0;
  if( pStmt==0 ) return;
  while( sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zName = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zTbl = (const char*)sqlite3_column_text(pStmt, 2);
    int bWanted = diffWanted(p, zTbl);
    if( bWanted<0 ) break;
    if( !bWanted || internalIsReserved(zName) || isShadow(p, zTbl) ) continue;
    sqlite3_str_appendf(pOut, "%s{\"type\":", n++ ? "," : "");
    jsonAppendColumn(pOut, pStmt, 0);
    sqlite3_str_appendall(pOut, ",\"name\":");
    jsonAppendColumn(pOut, pStmt, 1);
    sqlite3_str_appendall(pOut, ",\"before\":");
    jsonAppendColumn(pOut, pStmt, 3);
    sqlite3_str_appendall(pOut, ",\"after\":");
    jsonAppendColumn(pOut, pStmt, 4);
    sqlite3_str_appendchar(pOut, 1, '}');
  }
  if( p->rc!=SQLITE_OK ){
    sqlite3_finalize(pStmt);
    return;
  }
  p->rc = sqlite3_finalize(pStmt);
  if( p->rc!=SQLITE_OK ) connFail(p->pConn, p->pReply, p->rc);
}

/* Whether table zTable holds rows of its own at both points (not a virtual
** table that reads another's, as fts5vocab does: its rows are that table's, and
** it cannot find one by rowid, so comparing it would take time squared). */
static int holdsRows(const Diff *p, const char *zTable){
  sqlite3 *db = p->pConn->db;
  return dosqlTableHoldsRows(db, DIFF_FROM, zTable) && dosqlTableHoldsRows(db, p->zTo, zTable);
}

/* Every table either point has (not SQLite's, not the engine's, not a virtual
** table's shadow, nor one that holds no rows), by name, once whatever its case. From sqlite_schema, which
** no user table can stand in for (not pragma_table_list, see sideLoad). */
static void diffTables(Diff *p){
  sqlite3_stmt *pStmt = diffPrepare(p, sqlite3_mprintf(
      "SELECT min(name) FROM (SELECT name FROM \"%w\".sqlite_schema WHERE type = 'table'"
      " UNION ALL SELECT name FROM \"%w\".sqlite_schema WHERE type = 'table')"
      " WHERE lower(name) NOT GLOB 'sqlite_*' GROUP BY name COLLATE NOCASE ORDER BY 1 COLLATE NOCASE",
      DIFF_FROM, p->zTo));
  if( pStmt==0 ) return;
  while( p->rc==SQLITE_OK && !p->bMore && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zName = (const char*)sqlite3_column_text(pStmt, 0);
    if( zName==0 || isShadow(p, zName) || !holdsRows(p, zName) ) continue;
    if( diffWanted(p, zName)>0 ) diffTable(p, zName);
  }
  sqlite3_finalize(pStmt);
}

/* Whether every name of "tables" is a table of the caller's at either point
** (a name that is none would list nothing, as if its table had not changed):
** SQLITE_OK, or a failed reply naming it. */
static int diffCheckTables(Diff *p, double lsnFrom, double lsnTo){
  const cJSON *pItem;
  sqlite3_stmt *pStmt;
  if( p->pTables==0 ) return SQLITE_OK;
  pStmt = diffPrepare(p, sqlite3_mprintf(
      "SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE"
      " UNION ALL SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
      DIFF_FROM, p->zTo));
  if( pStmt==0 ) return p->rc;
  cJSON_ArrayForEach(pItem, p->pTables){
    const char *zName = pItem->valuestring;
    int rc;
    sqlite3_reset(pStmt);
    sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    if( rc!=SQLITE_ROW && rc!=SQLITE_DONE ){
      p->rc = rc;
      connFail(p->pConn, p->pReply, rc);
      break;
    }
    if( rc==SQLITE_DONE || internalIsReserved(zName) || sqlite3_strnicmp(zName, "sqlite_", 7)==0
     || isShadow(p, zName) ){
      replyFail(p->pReply, 400, DOSQL_BAD_REQUEST,
          "tables names \"%.*s%s\", which is no table of yours at lsn %lld nor at lsn %lld: name tables "
          "as they were at either point (in any case); SQLite's own (sqlite_*), the engine's "
          "(_dosql_*) and a virtual table's shadow tables (listed as the virtual table) are left out",
          replyEchoLength(zName, -1), zName, zName[replyEchoLength(zName, -1)] ? "..." : "",
          (sqlite3_int64)lsnFrom, (sqlite3_int64)lsnTo);
      p->rc = SQLITE_MISUSE;
      break;
    }
  }
  sqlite3_finalize(pStmt);
  return p->rc;
}

/* Attach the view of lsn as zSchema. */
static int diffAttach(Diff *p, double lsn, const char *zSchema){
  char *zName = dosqlVfsViewName(lsn);
  char *zSql = zName ? sqlite3_mprintf("ATTACH %Q AS %s", zName, zSchema) : 0;
  int rc = zSql ? connExecTrusted(p->pConn, zSql) : SQLITE_NOMEM;
  sqlite3_free(zName);
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK ) connFail(p->pConn, p->pReply, rc);
  return rc;
}

/* "tables" and "limit", checked: SQLITE_OK or a failed reply. */
static int diffOptions(Diff *p, const cJSON *pBody){
  const cJSON *pLimit = cJSON_GetObjectItemCaseSensitive(pBody, "limit");
  const cJSON *pItem;
  p->pTables = cJSON_GetObjectItemCaseSensitive(pBody, "tables");
  p->nLeft = DIFF_DEFAULT_LIMIT;
  if( pLimit ){
    if( !cJSON_IsNumber(pLimit) || pLimit->valuedouble<1 || pLimit->valuedouble>DIFF_MAX_LIMIT
     || pLimit->valuedouble!=(double)(int)pLimit->valuedouble ){
      replyFail(p->pReply, 400, DOSQL_BAD_REQUEST, "limit must be a whole number from 1 to %d", DIFF_MAX_LIMIT);
      return SQLITE_MISUSE;
    }
    p->nLeft = (int)pLimit->valuedouble;
  }
  if( p->pTables && !cJSON_IsArray(p->pTables) ){
    replyFail(p->pReply, 400, DOSQL_BAD_REQUEST, "tables must be an array of table names");
    return SQLITE_MISUSE;
  }
  cJSON_ArrayForEach(pItem, p->pTables){
    if( !cJSON_IsString(pItem) ){
      replyFail(p->pReply, 400, DOSQL_BAD_REQUEST, "tables must be an array of table names");
      return SQLITE_MISUSE;
    }
  }
  return SQLITE_OK;
}

/* A diff that outgrew the answer or the CPU budget: the general advice speaks of
** SQL the caller wrote (an index, LIMIT and OFFSET); a diff is narrowed by its
** own options. */
static void diffAdvise(Conn *pConn, Reply *pReply){
  if( pReply->zCode==0 ) return;
  if( strcmp(pReply->zCode, DOSQL_RESULT_TOO_LARGE)==0 ){
    replyRestate(pReply, "the changes are more than the %d bytes an answer may hold: list fewer "
        "with a smaller \"limit\", name fewer \"tables\", or compare closer points", DOSQL_MAX_RESULT_BYTES);
  }else if( strcmp(pReply->zCode, DOSQL_CPU_LIMIT)==0 ){
    replyRestate(pReply, "comparing the two points used up the request's CPU budget (%d ms) and "
        "was stopped: name fewer \"tables\", or compare closer points", pConn->nCpuBudgetMs);
  }
}

void diffEndpoint(Conn *pConn, Reply *pReply, const cJSON *pBody){
  const cJSON *pFrom = cJSON_GetObjectItemCaseSensitive(pBody, "from");
  const cJSON *pTo = cJSON_GetObjectItemCaseSensitive(pBody, "to");
  sqlite3_str *pOut = replyBody(pReply);
  double lsnFrom, lsnTo = -1;
  int bFrom = 0, bTo = 0;
  Diff d;
  memset(&d, 0, sizeof(d));
  d.pConn = pConn;
  d.pReply = pReply;
  d.zTo = "main";
  if( pConn->bInteractive ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "/diff compares committed points: it cannot run inside a transaction");
    return;
  }
  if( historyUnsupported(pReply) ) return;
  if( pFrom==0 ){
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "/diff needs {\"from\": point} (and \"to\", or the present)");
    return;
  }
  if( diffOptions(&d, pBody)!=SQLITE_OK ) return;
  if( historyResolve(pConn, pReply, pFrom, "from", &lsnFrom)!=SQLITE_OK ) return;
  if( pTo && historyResolve(pConn, pReply, pTo, "to", &lsnTo)!=SQLITE_OK ) return;
  /* The present is main; its lsn is the newest commit's. */
  if( pTo==0 ) lsnTo = historyCurrentLsn();
  sqlite3_limit(pConn->db, SQLITE_LIMIT_ATTACHED, 2);
  bFrom = diffAttach(&d, lsnFrom, DIFF_FROM)==SQLITE_OK;
  if( bFrom && pTo ){
    bTo = diffAttach(&d, lsnTo, DIFF_TO)==SQLITE_OK;
    d.zTo = DIFF_TO;
  }
  if( bFrom && (bTo || !pTo) && diffCheckTables(&d, lsnFrom, lsnTo)==SQLITE_OK ){
    sqlite3_str_appendall(pOut, "{\"from\":");
    historyAppendPoint(pOut, lsnFrom);
    sqlite3_str_appendall(pOut, ",\"to\":");
    historyAppendPoint(pOut, lsnTo);
    sqlite3_str_appendall(pOut, ",\"schema\":[");
    diffSchema(&d);
    sqlite3_str_appendall(pOut, "],\"changes\":[");
    diffTables(&d);
    sqlite3_str_appendf(pOut, "],\"more\":%s}", d.bMore ? "true" : "false");
  }
  diffAdvise(pConn, pReply);
  if( bTo ) connExecTrusted(pConn, "DETACH " DIFF_TO);
  if( bFrom ) connExecTrusted(pConn, "DETACH " DIFF_FROM);
  sqlite3_limit(pConn->db, SQLITE_LIMIT_ATTACHED, 1);
}
