/*
** unmatched.c — the rows whose foreign key finds no row (unmatched.h).
*/
#include <stdlib.h>
#include <string.h>

#include "unmatched.h"

/* One foreign key of one table: what tells it apart (its schema and table, its
** columns and the parent's, each a list of quoted names: the parent's is empty
** when the key names the parent's primary key); the parent's name, for
** messages; and the key's columns as text, for reading its values. */
typedef struct UnmatchedKey {
  char *zSchema;
  char *zChild;
  char *zFrom;
  char *zTo;
  char *zParent;
  char *zSelect;
  int bShared;     /* another key of the table has these columns and the parent's:
                   ** then the parent's name tells them apart too */
} UnmatchedKey;

/* A row that breaks a foreign key: which key (an index into the keys), a digest
** of the key's values as text (0 when they cannot be read back), and its rowid
** as text, for messages. */
typedef struct Unmatched {
  int iKey;
  sqlite3_uint64 hValues;
  char zRowid[24];
} Unmatched;

/* The keys sorted by what tells them apart, the rows by key and digest. */
struct UnmatchedRows {
  UnmatchedKey *aKey;
  int nKey;
  Unmatched *a;
  int n;
};

/* While rows are found: for each key, the statement that reads its values by
** rowid (0: none can, the table is WITHOUT ROWID or every rowid name is a
** column's); and the key of the last row, which the next one most often has. */
typedef struct Finder {
  sqlite3 *db;
  UnmatchedRows *pRows;
  sqlite3_stmt **apRead;
  int nRead;
  const char *zLastSchema;
  char *zLastChild;
  int iLastFk;
  int iLastKey;
} Finder;

void unmatchedFree(UnmatchedRows *p){
  int i;
  if( p==0 ) return;
  for(i=0; i<p->nKey; i++){
    sqlite3_free(p->aKey[i].zSchema);
    sqlite3_free(p->aKey[i].zChild);
    sqlite3_free(p->aKey[i].zFrom);
    sqlite3_free(p->aKey[i].zTo);
    sqlite3_free(p->aKey[i].zParent);
    sqlite3_free(p->aKey[i].zSelect);
  }
  sqlite3_free(p->aKey);
  sqlite3_free(p->a);
  sqlite3_free(p);
}

static int compareKeys(const UnmatchedKey *a, const UnmatchedKey *b){
  int c = sqlite3_stricmp(a->zSchema, b->zSchema);
  if( c==0 ) c = sqlite3_stricmp(a->zChild, b->zChild);
  if( c==0 ) c = sqlite3_stricmp(a->zFrom, b->zFrom);
  if( c==0 ) c = sqlite3_stricmp(a->zTo, b->zTo);
  if( c==0 && (a->bShared || b->bShared) ) c = sqlite3_stricmp(a->zParent, b->zParent);
  return c;
}

/* The index of a key of p told apart as pKey is, or -1. */
static int findKey(const UnmatchedRows *p, const UnmatchedKey *pKey){
  int i;
  for(i=0; p && i<p->nKey; i++){
    if( compareKeys(&p->aKey[i], pKey)==0 ) return i;
  }
  return -1;
}

/* Whether a key of pList (PRAGMA foreign_key_list, run again) other than iFk
** has columns zFrom and the parent's zTo, as describeKey() writes them. */
static int sharedColumns(sqlite3 *db, sqlite3_stmt *pList, int iFk, const char *zFrom, const char *zTo, int *pRc){
  sqlite3_str *pFrom = 0, *pTo = 0;
  int iId = -1, bShared = 0, rc, rcMemory = SQLITE_OK;
  sqlite3_reset(pList);
  for(;;){
    int bRow = (rc = sqlite3_step(pList))==SQLITE_ROW;
    if( !bRow || sqlite3_column_int(pList, 0)!=iId ){   /* a key ends */
      if( pFrom ){
        char *zF = sqlite3_str_finish(pFrom), *zT = sqlite3_str_finish(pTo);
        if( zF==0 || zT==0 ) rcMemory = SQLITE_NOMEM;
        else if( iId!=iFk && sqlite3_stricmp(zF, zFrom)==0 && sqlite3_stricmp(zT, zTo)==0 ) bShared = 1;
        sqlite3_free(zF);
        sqlite3_free(zT);
        pFrom = pTo = 0;
      }
      if( !bRow ) break;
      iId = sqlite3_column_int(pList, 0);
      pFrom = sqlite3_str_new(db);
      pTo = sqlite3_str_new(db);
      sqlite3_str_appendchar(pFrom, 1, ' ');
      sqlite3_str_appendchar(pTo, 1, ' ');
    }
    sqlite3_str_appendf(pFrom, "\"%w\",", (const char*)sqlite3_column_text(pList, 3));
    if( sqlite3_column_type(pList, 4)!=SQLITE_NULL ){
      sqlite3_str_appendf(pTo, "\"%w\",", (const char*)sqlite3_column_text(pList, 4));
    }
  }
  *pRc = rc!=SQLITE_DONE ? rc : rcMemory;
  return bShared;
}

/* Foreign key iFk of zSchema.zChild as an UnmatchedKey, from PRAGMA
** foreign_key_list (id, seq, table, from, to, ...; its rows in seq order). */
static int describeKey(sqlite3 *db, const char *zSchema, const char *zChild, int iFk, UnmatchedKey *pKey){
  sqlite3_stmt *pList = 0;
  sqlite3_str *pFrom = sqlite3_str_new(db), *pTo = sqlite3_str_new(db), *pSelect = sqlite3_str_new(db);
  char *zList = sqlite3_mprintf("PRAGMA \"%w\".foreign_key_list(\"%w\")", zSchema, zChild);
  int n = 0, rc = zList ? sqlite3_prepare_v2(db, zList, -1, &pList, 0) : SQLITE_NOMEM;
  sqlite3_free(zList);
  memset(pKey, 0, sizeof(*pKey));
  /* Each list starts with a space, so that none is empty (an empty str is 0). */
  sqlite3_str_appendchar(pFrom, 1, ' ');
  sqlite3_str_appendchar(pTo, 1, ' ');
  while( rc==SQLITE_OK && (rc = sqlite3_step(pList))==SQLITE_ROW ){
    const char *zTo = (const char*)sqlite3_column_text(pList, 4);
    rc = SQLITE_OK;
    if( sqlite3_column_int(pList, 0)!=iFk ) continue;
    if( pKey->zParent==0 ) pKey->zParent = sqlite3_mprintf("%s", (const char*)sqlite3_column_text(pList, 2));
    sqlite3_str_appendf(pFrom, "\"%w\",", (const char*)sqlite3_column_text(pList, 3));
    if( zTo ) sqlite3_str_appendf(pTo, "\"%w\",", zTo);
    sqlite3_str_appendf(pSelect, "%s\"%w\"", n++ ? "," : "", (const char*)sqlite3_column_text(pList, 3));
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  if( rc==SQLITE_OK && n>0 && sqlite3_str_value(pFrom) && sqlite3_str_value(pTo) ){
    pKey->bShared = sharedColumns(db, pList, iFk, sqlite3_str_value(pFrom), sqlite3_str_value(pTo), &rc);
  }
  sqlite3_finalize(pList);
  pKey->zSchema = sqlite3_mprintf("%s", zSchema);
  pKey->zChild = sqlite3_mprintf("%s", zChild);
  pKey->zFrom = sqlite3_str_finish(pFrom);
  pKey->zTo = sqlite3_str_finish(pTo);
  pKey->zSelect = sqlite3_str_finish(pSelect);
  if( pKey->zParent==0 ) pKey->zParent = sqlite3_mprintf("");
  if( rc==SQLITE_OK && (!pKey->zSchema || !pKey->zChild || !pKey->zFrom || !pKey->zTo || !pKey->zParent
                     || (n>0 && !pKey->zSelect)) ){
    rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK && n==0 ) rc = SQLITE_CORRUPT;   /* foreign_key_check named a key the list lacks */
  return rc;
}

/* The first of SQLite's names for the rowid that no column of zSchema.zChild
** takes, or 0 (a user's column named rowid would read as itself). */
static const char *rowidName(sqlite3 *db, const char *zSchema, const char *zChild, int *pRc){
  static const char *azName[] = { "rowid", "_rowid_", "oid" };
  int abTaken[3] = { 0, 0, 0 }, i;
  sqlite3_stmt *pInfo = 0;
  char *zInfo = sqlite3_mprintf("PRAGMA \"%w\".table_xinfo(\"%w\")", zSchema, zChild);
  int rc = zInfo ? sqlite3_prepare_v2(db, zInfo, -1, &pInfo, 0) : SQLITE_NOMEM;
  sqlite3_free(zInfo);
  while( rc==SQLITE_OK && (rc = sqlite3_step(pInfo))==SQLITE_ROW ){
    const char *zName = (const char*)sqlite3_column_text(pInfo, 1);
    rc = SQLITE_OK;
    for(i=0; i<3; i++) abTaken[i] |= zName && sqlite3_stricmp(zName, azName[i])==0;
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  sqlite3_finalize(pInfo);
  *pRc = rc;
  for(i=0; i<3; i++) if( !abTaken[i] ) return azName[i];
  return 0;
}

/* The statement that reads key pKey's values, as text, from the row of rowid
** ?1, into *ppStmt; 0 there when no rowid name is free. */
static int prepareKeyRead(sqlite3 *db, const UnmatchedKey *pKey, sqlite3_stmt **ppStmt){
  const char *zRowid;
  char *zSql;
  int rc = SQLITE_OK;
  *ppStmt = 0;
  zRowid = rowidName(db, pKey->zSchema, pKey->zChild, &rc);
  if( rc!=SQLITE_OK || zRowid==0 ) return rc;
  zSql = sqlite3_mprintf("SELECT %s FROM \"%w\".\"%w\" WHERE %s=?1",
                         pKey->zSelect, pKey->zSchema, pKey->zChild, zRowid);
  rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, ppStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  return rc;
}

/* A digest of the values the statement pRead is on (FNV-1a over each as text,
** its length first; NULL apart). A number is its decimal text, a whole REAL as
** the integer it equals: a rebuild that changes the column's type (TEXT '7',
** INTEGER 7, REAL 7.0) keeps the row's digest. */
static sqlite3_uint64 digestValues(sqlite3_stmt *pRead){
  sqlite3_uint64 h = 14695981039346656037ULL;
  int i, j, n = sqlite3_column_count(pRead);
  for(i=0; i<n; i++){
    char zNum[32];
    const unsigned char *z = (const unsigned char*)zNum;
    int nByte;
    double r;
    switch( sqlite3_column_type(pRead, i) ){
      case SQLITE_INTEGER:
        sqlite3_snprintf(sizeof(zNum), zNum, "%lld", sqlite3_column_int64(pRead, i));
        break;
      case SQLITE_FLOAT:
        r = sqlite3_column_double(pRead, i);
        if( r>-9.2e18 && r<9.2e18 && r==(double)(sqlite3_int64)r ){
          sqlite3_snprintf(sizeof(zNum), zNum, "%lld", (sqlite3_int64)r);
        }else{
          sqlite3_snprintf(sizeof(zNum), zNum, "%!.17g", r);
        }
        break;
      default:
        z = sqlite3_column_text(pRead, i);
    }
    nByte = z==(const unsigned char*)zNum ? (int)strlen(zNum) : z ? sqlite3_column_bytes(pRead, i) : -1;
    for(j=0; j<4; j++) h = (h ^ (unsigned char)(nByte >> (8*j))) * 1099511628211ULL;
    for(j=0; j<nByte; j++) h = (h ^ z[j]) * 1099511628211ULL;
  }
  return h;
}

/* The index of pFinder's key for foreign key iFk of zSchema.zChild, added when it
** is new, with the statement that reads its values when its rows have rowids
** (bRowid: all rows of a table have, or none, WITHOUT ROWID); -1 on an error, in
** *pRc. */
static int finderKey(Finder *p, const char *zSchema, const char *zChild, int iFk, int bRowid, int *pRc){
  UnmatchedRows *pRows = p->pRows;
  UnmatchedKey key;
  int i;
  *pRc = describeKey(p->db, zSchema, zChild, iFk, &key);
  i = *pRc==SQLITE_OK ? findKey(pRows, &key) : -1;
  if( *pRc==SQLITE_OK && i<0 ){
    UnmatchedKey *aKey = sqlite3_realloc64(pRows->aKey, (pRows->nKey+1)*sizeof(UnmatchedKey));
    sqlite3_stmt **apRead = sqlite3_realloc64(p->apRead, (p->nRead+1)*sizeof(sqlite3_stmt*));
    if( aKey ) pRows->aKey = aKey;
    if( apRead ) p->apRead = apRead;
    if( aKey==0 || apRead==0 ){
      *pRc = SQLITE_NOMEM;
    }else{
      i = pRows->nKey++;
      aKey[i] = key;
      memset(&key, 0, sizeof(key));   /* the list owns its texts now */
      apRead[p->nRead] = 0;
      if( bRowid ) *pRc = prepareKeyRead(p->db, &aKey[i], &apRead[p->nRead]);
      p->nRead++;
    }
  }
  sqlite3_free(key.zSchema);
  sqlite3_free(key.zChild);
  sqlite3_free(key.zFrom);
  sqlite3_free(key.zTo);
  sqlite3_free(key.zParent);
  sqlite3_free(key.zSelect);
  return *pRc==SQLITE_OK ? i : -1;
}

/* Add the row pCheck (PRAGMA foreign_key_check of zSchema) is on. */
static int finderAddRow(Finder *p, const char *zSchema, sqlite3_stmt *pCheck){
  UnmatchedRows *pRows = p->pRows;
  const char *zChild = (const char*)sqlite3_column_text(pCheck, 0);
  int bRowid = sqlite3_column_type(pCheck, 1)!=SQLITE_NULL;
  int iFk = sqlite3_column_int(pCheck, 3);
  sqlite3_stmt *pRead;
  Unmatched *pRow;
  int rc = SQLITE_OK, iKey = p->iLastKey;
  if( !zChild ) zChild = "";
  /* Rows come table by table: one key's description serves many. */
  if( p->zLastChild==0 || p->zLastSchema!=zSchema || p->iLastFk!=iFk || strcmp(p->zLastChild, zChild)!=0 ){
    iKey = finderKey(p, zSchema, zChild, iFk, bRowid, &rc);
    if( iKey<0 ) return rc;
    sqlite3_free(p->zLastChild);
    if( (p->zLastChild = sqlite3_mprintf("%s", zChild))==0 ) return SQLITE_NOMEM;
    p->zLastSchema = zSchema;
    p->iLastFk = iFk;
    p->iLastKey = iKey;
  }
  if( (pRows->n & (pRows->n-1))==0 ){   /* grown at each power of two */
    Unmatched *a = sqlite3_realloc64(pRows->a, (pRows->n ? 2*pRows->n : 1)*sizeof(Unmatched));
    if( a==0 ) return SQLITE_NOMEM;
    pRows->a = a;
  }
  pRow = &pRows->a[pRows->n++];
  pRow->iKey = iKey;
  pRow->hValues = 0;
  sqlite3_snprintf(sizeof(pRow->zRowid), pRow->zRowid, "%s",
                   bRowid ? (const char*)sqlite3_column_text(pCheck, 1) : "none");
  pRead = p->apRead[iKey];
  if( bRowid && pRead ){
    sqlite3_bind_int64(pRead, 1, sqlite3_column_int64(pCheck, 1));
    rc = sqlite3_step(pRead);
    if( rc==SQLITE_ROW ) pRow->hValues = digestValues(pRead);
    rc = rc==SQLITE_ROW || rc==SQLITE_DONE ? SQLITE_OK : rc;
    sqlite3_reset(pRead);
  }
  return rc;
}

static int compareRows(const void *pA, const void *pB){
  const Unmatched *a = pA, *b = pB;
  if( a->iKey!=b->iKey ) return a->iKey < b->iKey ? -1 : 1;
  return a->hValues < b->hValues ? -1 : a->hValues > b->hValues;
}

/* Add the rows PRAGMA zSchema.foreign_key_check finds, of table zTable (0:
** every table). SQLite fails the check with "foreign key mismatch" when a key
** names a parent it cannot search by (no UNIQUE index on its columns). */
static int finderCheck(Finder *p, const char *zSchema, const char *zTable){
  sqlite3_stmt *pCheck = 0;
  char *zCheck = zTable ? sqlite3_mprintf("PRAGMA %s.foreign_key_check(\"%w\")", zSchema, zTable)
                        : sqlite3_mprintf("PRAGMA %s.foreign_key_check", zSchema);
  int rc = zCheck ? sqlite3_prepare_v2(p->db, zCheck, -1, &pCheck, 0) : SQLITE_NOMEM;
  sqlite3_free(zCheck);
  while( rc==SQLITE_OK && (rc = sqlite3_step(pCheck))==SQLITE_ROW ) rc = finderAddRow(p, zSchema, pCheck);
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  sqlite3_finalize(pCheck);
  return rc;
}

static int isKeyMismatch(sqlite3 *db, int rc){
  return rc==SQLITE_ERROR && sqlite3_strglob("foreign key mismatch*", sqlite3_errmsg(db))==0;
}

/* Whether table zTable of zSchema holds no row. */
static int tableIsEmpty(sqlite3 *db, const char *zSchema, const char *zTable){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("SELECT 1 FROM %s.\"%w\" LIMIT 1", zSchema, zTable);
  int bEmpty = zSql && sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK
            && sqlite3_step(pStmt)==SQLITE_DONE;
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
  return bEmpty;
}

/* One table at a time, those that hold rows (no row of an empty one can be
** unmatched): a table SQLite cannot check (a key names a parent it cannot
** search by) is so left out while it holds none; one that holds rows still
** fails the check ("foreign key mismatch"), as its other keys cannot be
** checked either. The rows found before are found again. */
static int finderCheckTables(Finder *p, const char *zSchema){
  sqlite3_stmt *pList = 0;
  sqlite3_str *pNames = sqlite3_str_new(p->db);   /* each name and its NUL */
  char *zList = sqlite3_mprintf("SELECT name FROM %s.sqlite_schema WHERE type = 'table'", zSchema);
  const char *zTable, *zEnd;
  char *zNames;
  int rc = zList ? sqlite3_prepare_v2(p->db, zList, -1, &pList, 0) : SQLITE_NOMEM;
  sqlite3_free(zList);
  /* Listed first: a failing check's message is SQLite's last error, which
  ** finishing another statement after it would clear. */
  while( rc==SQLITE_OK && (rc = sqlite3_step(pList))==SQLITE_ROW ){
    rc = SQLITE_OK;
    sqlite3_str_appendall(pNames, (const char*)sqlite3_column_text(pList, 0));
    sqlite3_str_appendchar(pNames, 1, 0);
  }
  if( rc==SQLITE_DONE ) rc = sqlite3_str_errcode(pNames);
  sqlite3_finalize(pList);
  zEnd = (zNames = sqlite3_str_value(pNames)) + sqlite3_str_length(pNames);
  for(zTable=zNames; rc==SQLITE_OK && zTable && zTable<zEnd; zTable+=strlen(zTable)+1){
    if( !tableIsEmpty(p->db, zSchema, zTable) ) rc = finderCheck(p, zSchema, zTable);
  }
  sqlite3_free(sqlite3_str_finish(pNames));
  return rc;
}

int unmatchedFind(sqlite3 *db, UnmatchedRows **pp){
  static const char *azSchema[] = { "main", "temp" };
  Finder f;
  int i, rc = SQLITE_OK;
  memset(&f, 0, sizeof(f));
  f.db = db;
  f.pRows = sqlite3_malloc64(sizeof(UnmatchedRows));
  if( f.pRows==0 ) rc = SQLITE_NOMEM;
  else memset(f.pRows, 0, sizeof(UnmatchedRows));
  for(i=0; rc==SQLITE_OK && i<2; i++){
    int nBefore = f.pRows->n;
    rc = finderCheck(&f, azSchema[i], 0);
    if( isKeyMismatch(db, rc) ){
      f.pRows->n = nBefore;
      rc = finderCheckTables(&f, azSchema[i]);
    }
  }
  for(i=0; i<f.nRead; i++) sqlite3_finalize(f.apRead[i]);
  sqlite3_free(f.apRead);
  sqlite3_free(f.zLastChild);
  if( rc!=SQLITE_OK ){
    unmatchedFree(f.pRows);
    f.pRows = 0;
  }else if( f.pRows->n>1 ){   /* a is 0 without rows, which qsort() may not take */
    qsort(f.pRows->a, f.pRows->n, sizeof(Unmatched), compareRows);
  }
  *pp = f.pRows;
  return rc;
}

/* How many of p's rows are of key iKey with digest h. */
static int rowsLike(const UnmatchedRows *p, int iKey, sqlite3_uint64 h){
  Unmatched key;
  int lo = 0, hi = p->n, n = 0;
  key.iKey = iKey;
  key.hValues = h;
  while( lo<hi ){                  /* the first row not before key */
    int mid = (lo+hi)/2;
    if( compareRows(&p->a[mid], &key)<0 ) lo = mid+1; else hi = mid;
  }
  while( lo+n<p->n && compareRows(&p->a[lo+n], &key)==0 ) n++;
  return n;
}

int unmatchedFirstNew(const UnmatchedRows *pNow, const UnmatchedRows *pBefore,
                      const char **pzChild, const char **pzRowid, const char **pzParent){
  int i, n;
  for(i=0; i<pNow->n; i+=n){
    const Unmatched *pRow = &pNow->a[i];
    int iBefore = findKey(pBefore, &pNow->aKey[pRow->iKey]);
    n = rowsLike(pNow, pRow->iKey, pRow->hValues);
    if( iBefore<0 || n>rowsLike(pBefore, iBefore, pRow->hValues) ){
      *pzChild = pNow->aKey[pRow->iKey].zChild;
      *pzRowid = pRow->zRowid;
      *pzParent = pNow->aKey[pRow->iKey].zParent;
      return 1;
    }
  }
  return 0;
}
