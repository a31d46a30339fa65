/*
** unmatched.c — the rows whose foreign key finds no row (unmatched.h).
*/
#include <stdlib.h>
#include <string.h>

#include "unmatched.h"

/* A row that breaks a foreign key: its table, the parent table its key names,
** the values of the key's columns (as quote() writes them, comma-separated;
** empty when they cannot be read), and its rowid as text ("none"). */
typedef struct Unmatched {
  char *zChild;
  char *zParent;
  char *zKey;
  char *zRowid;
} Unmatched;

/* Sorted by table, parent and key (compareUnmatched). */
struct UnmatchedRows {
  Unmatched *a;
  int n;
};

void unmatchedFree(UnmatchedRows *p){
  int i;
  if( p==0 ) return;
  for(i=0; i<p->n; i++){
    sqlite3_free(p->a[i].zChild);
    sqlite3_free(p->a[i].zParent);
    sqlite3_free(p->a[i].zKey);
    sqlite3_free(p->a[i].zRowid);
  }
  sqlite3_free(p->a);
  sqlite3_free(p);
}

static int compareUnmatched(const void *pA, const void *pB){
  const Unmatched *a = pA, *b = pB;
  int c = strcmp(a->zChild, b->zChild);
  if( c==0 ) c = strcmp(a->zParent, b->zParent);
  if( c==0 ) c = strcmp(a->zKey, b->zKey);
  return c;
}

/* The statement that reads the values of foreign key iFk of table zChild from
** the row of rowid ?1, into *ppStmt: SELECT quote("a")||','||quote("b") FROM
** main."child" WHERE rowid=?1. */
static int prepareKeyRead(sqlite3 *db, const char *zChild, int iFk, sqlite3_stmt **ppStmt){
  sqlite3_stmt *pList = 0;
  sqlite3_str *pSql = sqlite3_str_new(db);
  char *zList = sqlite3_mprintf("PRAGMA main.foreign_key_list(\"%w\")", zChild);
  char *zSql;
  int nCol = 0, rc = zList ? sqlite3_prepare_v2(db, zList, -1, &pList, 0) : SQLITE_NOMEM;
  sqlite3_free(zList);
  sqlite3_str_appendall(pSql, "SELECT ''");
  while( rc==SQLITE_OK && (rc = sqlite3_step(pList))==SQLITE_ROW ){
    rc = SQLITE_OK;
    if( sqlite3_column_int(pList, 0)!=iFk ) continue;   /* id, seq, table, from, ... */
    sqlite3_str_appendf(pSql, "%s||quote(\"%w\")", nCol++ ? "||','" : "",
                        (const char*)sqlite3_column_text(pList, 3));
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  sqlite3_finalize(pList);
  sqlite3_str_appendf(pSql, " FROM main.\"%w\" WHERE rowid=?1", zChild);
  zSql = sqlite3_str_finish(pSql);
  if( rc==SQLITE_OK ) rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, ppStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  return rc;
}

/* Add the row pCheck (PRAGMA foreign_key_check) is on to p, its key read by
** pKey (0: none to read, WITHOUT ROWID). SQLITE_OK or an error. */
static int addUnmatched(UnmatchedRows *p, sqlite3_stmt *pCheck, sqlite3_stmt *pKey){
  const char *zChild = (const char*)sqlite3_column_text(pCheck, 0);
  const char *zParent = (const char*)sqlite3_column_text(pCheck, 2);
  const char *zRowid = (const char*)sqlite3_column_text(pCheck, 1);
  Unmatched *pRow;
  int rc = SQLITE_OK;
  if( (p->n & (p->n-1))==0 ){   /* grown at each power of two */
    Unmatched *a = sqlite3_realloc64(p->a, (p->n ? 2*p->n : 1)*sizeof(Unmatched));
    if( a==0 ) return SQLITE_NOMEM;
    p->a = a;
  }
  pRow = &p->a[p->n++];
  memset(pRow, 0, sizeof(*pRow));
  if( pKey ){
    sqlite3_bind_int64(pKey, 1, sqlite3_column_int64(pCheck, 1));
    rc = sqlite3_step(pKey);
    pRow->zKey = sqlite3_mprintf("%s", rc==SQLITE_ROW ? (const char*)sqlite3_column_text(pKey, 0) : "");
    rc = rc==SQLITE_ROW || rc==SQLITE_DONE ? SQLITE_OK : rc;
    sqlite3_reset(pKey);
  }else{
    pRow->zKey = sqlite3_mprintf("");
  }
  pRow->zChild = sqlite3_mprintf("%s", zChild ? zChild : "");
  pRow->zParent = sqlite3_mprintf("%s", zParent ? zParent : "");
  pRow->zRowid = sqlite3_mprintf("%s", zRowid ? zRowid : "none");
  if( rc==SQLITE_OK && (!pRow->zKey || !pRow->zChild || !pRow->zParent || !pRow->zRowid) ){
    rc = SQLITE_NOMEM;
  }
  return rc;
}

int unmatchedFind(sqlite3 *db, UnmatchedRows **pp){
  sqlite3_stmt *pCheck = 0, *pKey = 0;
  char *zKeyChild = 0;        /* the table and key pKey reads */
  int iKeyFk = -1;
  UnmatchedRows *p = sqlite3_malloc64(sizeof(*p));
  int rc = p ? sqlite3_prepare_v2(db, "PRAGMA main.foreign_key_check", -1, &pCheck, 0) : SQLITE_NOMEM;
  if( p ) memset(p, 0, sizeof(*p));
  while( rc==SQLITE_OK && (rc = sqlite3_step(pCheck))==SQLITE_ROW ){
    const char *zChild = (const char*)sqlite3_column_text(pCheck, 0);
    int iFk = sqlite3_column_int(pCheck, 3);
    int bRowid = sqlite3_column_type(pCheck, 1)!=SQLITE_NULL;
    rc = SQLITE_OK;
    /* Rows come table by table, so one key's statement serves many. */
    if( bRowid && zChild && (zKeyChild==0 || strcmp(zKeyChild, zChild)!=0 || iKeyFk!=iFk) ){
      sqlite3_finalize(pKey);
      pKey = 0;
      sqlite3_free(zKeyChild);
      zKeyChild = sqlite3_mprintf("%s", zChild);
      iKeyFk = iFk;
      rc = zKeyChild ? prepareKeyRead(db, zChild, iFk, &pKey) : SQLITE_NOMEM;
    }
    if( rc==SQLITE_OK ) rc = addUnmatched(p, pCheck, bRowid ? pKey : 0);
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  sqlite3_finalize(pKey);
  sqlite3_finalize(pCheck);
  sqlite3_free(zKeyChild);
  if( rc!=SQLITE_OK ){
    unmatchedFree(p);
    p = 0;
  }else if( p->n>1 ){         /* p->a is 0 without rows, which qsort() may not take */
    qsort(p->a, p->n, sizeof(Unmatched), compareUnmatched);
  }
  *pp = p;
  return rc;
}

/* How many of p's rows hold what pRow holds. */
static int unmatchedLike(const UnmatchedRows *p, const Unmatched *pRow){
  int lo = 0, hi = p ? p->n : 0, n = 0;
  while( lo<hi ){                  /* the first row not before pRow */
    int mid = (lo+hi)/2;
    if( compareUnmatched(&p->a[mid], pRow)<0 ) lo = mid+1; else hi = mid;
  }
  while( lo+n<(p ? p->n : 0) && compareUnmatched(&p->a[lo+n], pRow)==0 ) n++;
  return n;
}

int unmatchedFirstNew(const UnmatchedRows *pNow, const UnmatchedRows *pBefore,
                      const char **pzChild, const char **pzRowid, const char **pzParent){
  int i, n;
  for(i=0; i<pNow->n; i+=n){
    n = unmatchedLike(pNow, &pNow->a[i]);
    if( n>unmatchedLike(pBefore, &pNow->a[i]) ){
      *pzChild = pNow->a[i].zChild;
      *pzRowid = pNow->a[i].zRowid;
      *pzParent = pNow->a[i].zParent;
      return 1;
    }
  }
  return 0;
}
