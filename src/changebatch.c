/*
** changebatch.c — reading the stored form of change events (changebatch.h).
**
** The texts were written by capture.c, or came in an imported file, so the
** reader trusts nothing: it finds the bounds of each value with a scanner
** that never reads past the text, and leaves the values' own validity to
** requestCheckStored() on the objects it assembles.
*/
#include <string.h>

#include "changebatch.h"

/* Whether z[*pi] is c; if so, step over it. */
static int scanByte(const char *z, int n, int *pi, char c){
  if( *pi>=n || z[*pi]!=c ) return 0;
  (*pi)++;
  return 1;
}

/* Step over the string whose opening quote is at z[*pi]: 0 when it is not closed. */
static int scanString(const char *z, int n, int *pi){
  int i = *pi + 1;
  while( i<n && z[i]!='"' ) i += z[i]=='\\' ? 2 : 1;
  if( i>=n ) return 0;
  *pi = i+1;
  return 1;
}

/*
** Step over one JSON value at z[*pi] into *pSpan: a string, an object or an
** array (brackets matched, strings inside skipped whole), or a run of the
** bytes numbers and literals are made of. 0 when there is none.
*/
static int scanValue(const char *z, int n, int *pi, ChangeSpan *pSpan){
  int i = *pi, nDepth = 0;
  do{
    if( i>=n ) return 0;
    if( z[i]=='"' ){
      if( !scanString(z, n, &i) ) return 0;
    }else if( z[i]=='{' || z[i]=='[' ){
      nDepth++;
      i++;
    }else if( z[i]=='}' || z[i]==']' ){
      if( nDepth==0 ) return 0;
      nDepth--;
      i++;
    }else if( z[i]==' ' || z[i]=='\t' || z[i]=='\n' || z[i]=='\r' ){
      return 0;                /* the writer writes none; SQL's view would drop it */
    }else if( nDepth>0 ){
      i++;
    }else{
      int j = i;
      while( j<n && strchr("-+.0123456789eEalnrstu", z[j]) && z[j] ) j++;
      if( j==i ) return 0;
      i = j;
    }
  }while( nDepth>0 );
  pSpan->z = z + *pi;
  pSpan->n = i - *pi;
  *pi = i;
  return 1;
}

/* Read the cols text: a JSON array of names (strings) and nulls. */
static int changeBatchNames(ChangeBatch *p, const char *z, int n){
  int i = 0, nAlloc = 0;
  if( !scanByte(z, n, &i, '[') ) return SQLITE_CORRUPT;
  while( !scanByte(z, n, &i, ']') ){
    ChangeSpan name;
    if( p->nCol>0 && !scanByte(z, n, &i, ',') ) return SQLITE_CORRUPT;
    if( !scanValue(z, n, &i, &name) ) return SQLITE_CORRUPT;
    if( name.n==4 && memcmp(name.z, "null", 4)==0 ) name.z = 0;
    else if( name.z[0]!='"' ) return SQLITE_CORRUPT;
    if( p->nCol==nAlloc ){
      ChangeSpan *a;
      nAlloc = nAlloc ? nAlloc*2 : 16;
      a = sqlite3_realloc64(p->aName, sizeof(ChangeSpan)*(sqlite3_uint64)nAlloc);
      if( a==0 ) return SQLITE_NOMEM;
      p->aName = a;
    }
    p->aName[p->nCol++] = name;
  }
  if( i!=n ) return SQLITE_CORRUPT;
  for(i=0; i<p->nCol && p->aName[i].z==0; i++){}
  return i<p->nCol ? SQLITE_OK : SQLITE_CORRUPT;     /* a row names a column */
}

int changeBatchOpen(ChangeBatch *p, const char *zCols, int nCols,
                    const char *zEvents, int nEvents){
  int rc;
  memset(p, 0, sizeof(*p));
  rc = changeBatchNames(p, zCols, nCols);
  if( rc!=SQLITE_OK ) return rc;
  p->aValue = sqlite3_malloc64(sizeof(ChangeSpan)*2*(sqlite3_uint64)p->nCol);
  if( p->aValue==0 ) return SQLITE_NOMEM;
  p->aOld = p->aValue + p->nCol;
  p->z = zEvents;
  p->n = nEvents;
  return scanByte(p->z, p->n, &p->i, '[') ? SQLITE_OK : SQLITE_CORRUPT;
}

void changeBatchClose(ChangeBatch *p){
  sqlite3_free(p->aName);
  sqlite3_free(p->aValue);
  memset(p, 0, sizeof(*p));
}

/* An update's {"k":old, ...}: positions in increasing order, each below nCol. */
static int changeBatchOld(ChangeBatch *p){
  int k = -1;
  memset(p->aOld, 0, sizeof(ChangeSpan)*(size_t)p->nCol);
  if( !scanByte(p->z, p->n, &p->i, '{') ) return 0;
  while( !scanByte(p->z, p->n, &p->i, '}') ){
    int iKey = 0, nDigit = 0;
    if( k>=0 && !scanByte(p->z, p->n, &p->i, ',') ) return 0;
    if( !scanByte(p->z, p->n, &p->i, '"') ) return 0;
    while( p->i<p->n && p->z[p->i]>='0' && p->z[p->i]<='9' && nDigit<6 ){
      iKey = iKey*10 + (p->z[p->i++]-'0');
      nDigit++;
    }
    if( nDigit==0 || iKey<=k || iKey>=p->nCol ) return 0;
    if( nDigit>1 && p->z[p->i-nDigit]=='0' ) return 0;     /* one spelling per position */
    if( !scanByte(p->z, p->n, &p->i, '"') || !scanByte(p->z, p->n, &p->i, ':') ) return 0;
    if( !scanValue(p->z, p->n, &p->i, &p->aOld[iKey]) ) return 0;
    k = iKey;
  }
  return 1;
}

/* Append {name:value, ...} for each named column; aOld's values win where set. */
static void changeBatchAppendRow(const ChangeBatch *p, sqlite3_str *pOut, const ChangeSpan *aOld){
  int i, bFirst = 1;
  sqlite3_str_appendchar(pOut, 1, '{');
  for(i=0; i<p->nCol; i++){
    const ChangeSpan *v = aOld && aOld[i].z ? &aOld[i] : &p->aValue[i];
    if( p->aName[i].z==0 ) continue;
    if( !bFirst ) sqlite3_str_appendchar(pOut, 1, ',');
    bFirst = 0;
    sqlite3_str_append(pOut, p->aName[i].z, p->aName[i].n);
    sqlite3_str_appendchar(pOut, 1, ':');
    sqlite3_str_append(pOut, v->z, v->n);
  }
  sqlite3_str_appendchar(pOut, 1, '}');
}

int changeBatchNext(ChangeBatch *p, int *pType, sqlite3_str *pData, sqlite3_str *pOld){
  int i, type;
  if( scanByte(p->z, p->n, &p->i, ']') ){
    return p->i==p->n ? SQLITE_DONE : SQLITE_CORRUPT;
  }
  if( p->z[p->i-1]!='[' && !scanByte(p->z, p->n, &p->i, ',') ) return SQLITE_CORRUPT;
  if( !scanByte(p->z, p->n, &p->i, '[') || !scanByte(p->z, p->n, &p->i, '"')
   || p->i>=p->n ){
    return SQLITE_CORRUPT;
  }
  type = p->z[p->i++];
  if( type!=CHANGE_INSERT && type!=CHANGE_UPDATE && type!=CHANGE_DELETE ) return SQLITE_CORRUPT;
  if( !scanByte(p->z, p->n, &p->i, '"') || !scanByte(p->z, p->n, &p->i, ',')
   || !scanByte(p->z, p->n, &p->i, '[') ){
    return SQLITE_CORRUPT;
  }
  for(i=0; i<p->nCol; i++){
    if( i>0 && !scanByte(p->z, p->n, &p->i, ',') ) return SQLITE_CORRUPT;
    if( !scanValue(p->z, p->n, &p->i, &p->aValue[i]) ) return SQLITE_CORRUPT;
    /* A column SQLite does not store has no value; the view skips it unread. */
    if( p->aName[i].z==0 && (p->aValue[i].n!=4 || memcmp(p->aValue[i].z, "null", 4)!=0) ){
      return SQLITE_CORRUPT;
    }
  }
  if( !scanByte(p->z, p->n, &p->i, ']') ) return SQLITE_CORRUPT;
  if( type==CHANGE_UPDATE
   && (!scanByte(p->z, p->n, &p->i, ',') || !changeBatchOld(p)) ){
    return SQLITE_CORRUPT;
  }
  if( !scanByte(p->z, p->n, &p->i, ']') ) return SQLITE_CORRUPT;
  *pType = type;
  changeBatchAppendRow(p, pData, 0);
  if( type==CHANGE_UPDATE ) changeBatchAppendRow(p, pOld, p->aOld);
  return SQLITE_ROW;
}

int changeBatchObject(const char *z, int n, ChangeSpan *aKey, ChangeSpan *aValue,
                      int nMax, int *pnPair){
  int i = 0, nPair = 0;
  if( !scanByte(z, n, &i, '{') ) return SQLITE_CORRUPT;
  while( !scanByte(z, n, &i, '}') ){
    if( nPair>=nMax ) return SQLITE_CORRUPT;
    if( nPair>0 && !scanByte(z, n, &i, ',') ) return SQLITE_CORRUPT;
    if( i>=n || z[i]!='"' || !scanValue(z, n, &i, &aKey[nPair]) ) return SQLITE_CORRUPT;
    if( !scanByte(z, n, &i, ':') || !scanValue(z, n, &i, &aValue[nPair]) ) return SQLITE_CORRUPT;
    nPair++;
  }
  *pnPair = nPair;
  return i==n ? SQLITE_OK : SQLITE_CORRUPT;
}

const char *changeTypeName(int type){
  return type==CHANGE_INSERT ? "insert" : type==CHANGE_UPDATE ? "update" : "delete";
}
