/*
** hranastream.c — Hrana's streams (hranastream.h): the table of them, their
** batons, and the SQL texts each stores.
*/
#include <string.h>

#include "config.h"
#include "errors.h"
#include "host.h"
#include "hranastream.h"

/* One stream may hold the transaction; a new one needs another slot. */
#if DOSQL_HRANA_MAX_STREAMS<2
# error "DOSQL_HRANA_MAX_STREAMS must be 2 or more"
#endif
static HranaStream aStream[DOSQL_HRANA_MAX_STREAMS];
/* Stream ids go up from a random start, so a baton from before the engine
** restarted names no stream (STREAM_EXPIRED) rather than a new one. */
static unsigned iLastStream;

#define BATON_CHARS 32             /* id, seq: 8 hex digits each; key: 16 */

int hranaStreamHoldsTransaction(const Conn *pConn, const HranaStream *s){
  return pConn->bInteractive && pConn->iTxStream==s->id;
}

void hranaSqlFree(HranaSql *p){
  while( p ){
    HranaSql *pNext = p->pNext;
    sqlite3_free(p->zSql);
    sqlite3_free(p);
    p = pNext;
  }
}

void hranaStreamFree(HranaStream *s){
  hranaSqlFree(s->pSql);
  memset(s, 0, sizeof(*s));
}

HranaSql *hranaSqlSnapshot(const HranaStream *s, int *pRc){
  HranaSql *pFirst = 0, **ppEnd = &pFirst;
  const HranaSql *p;
  *pRc = SQLITE_OK;
  for(p=s->pSql; p; p=p->pNext){
    HranaSql *pCopy = sqlite3_malloc(sizeof(*pCopy));
    char *zSql = sqlite3_mprintf("%s", p->zSql);
    if( pCopy==0 || zSql==0 ){
      sqlite3_free(pCopy);
      sqlite3_free(zSql);
      hranaSqlFree(pFirst);
      *pRc = SQLITE_NOMEM;
      return 0;
    }
    *pCopy = *p;
    pCopy->zSql = zSql;
    pCopy->pNext = 0;
    *ppEnd = pCopy;
    ppEnd = &pCopy->pNext;
  }
  return pFirst;
}

void hranaSqlRestore(HranaStream *s, HranaSql *pSnapshot){
  const HranaSql *p;
  hranaSqlFree(s->pSql);
  s->pSql = pSnapshot;
  s->nSql = s->nSqlBytes = 0;
  for(p=pSnapshot; p; p=p->pNext){
    s->nSql++;
    s->nSqlBytes += p->nSql;
  }
}

HranaStream *hranaStreamOfId(unsigned id){
  int i;
  for(i=0; i<DOSQL_HRANA_MAX_STREAMS; i++) if( id && aStream[i].id==id ) return &aStream[i];
  return 0;
}

void hranaStreamsExpire(const Conn *pConn, double msNow){
  int i;
  for(i=0; i<DOSQL_HRANA_MAX_STREAMS; i++){
    HranaStream *s = &aStream[i];
    if( s->id && !hranaStreamHoldsTransaction(pConn, s) && msNow - s->msUsed > DOSQL_HRANA_STREAM_IDLE_MS ){
      hranaStreamFree(s);
    }
  }
}

HranaStream *hranaStreamNew(const Conn *pConn, double msNow){
  HranaStream *pOldest = 0;
  int i;
  for(i=0; i<DOSQL_HRANA_MAX_STREAMS; i++){
    HranaStream *s = &aStream[i];
    if( s->id==0 ){
      pOldest = s;
      break;
    }
    if( !hranaStreamHoldsTransaction(pConn, s) && (pOldest==0 || s->msUsed < pOldest->msUsed) ) pOldest = s;
  }
  hranaStreamFree(pOldest);
  if( iLastStream==0 ){
    dosql_host_random((unsigned char*)&iLastStream, sizeof(iLastStream));
    iLastStream = (iLastStream & 0x3fffffff) + 1;
  }
  pOldest->id = ++iLastStream;
  pOldest->msUsed = msNow;
  dosql_host_random(pOldest->aKey, sizeof(pOldest->aKey));
  return pOldest;
}

void hranaAppendBaton(sqlite3_str *pOut, const HranaStream *s){
  int i;
  sqlite3_str_appendf(pOut, "\"%08x%08x", s->id, s->seq);
  for(i=0; i<(int)sizeof(s->aKey); i++) sqlite3_str_appendf(pOut, "%02x", s->aKey[i]);
  sqlite3_str_appendchar(pOut, 1, '"');
}

/* Read n hex digits of z into *pV; 0 when one is not a hex digit. */
static int readHex(const char *z, int n, unsigned *pV){
  unsigned v = 0;
  int i;
  for(i=0; i<n; i++){
    char c = z[i];
    int d = c>='0' && c<='9' ? c-'0' : c>='a' && c<='f' ? c-'a'+10 : -1;
    if( d<0 ) return 0;
    v = v*16 + (unsigned)d;
  }
  *pV = v;
  return 1;
}

/*
** The stream a pipeline's baton names, or 0 after failing the reply: a baton
** this object never gave, or gave for an earlier pipeline, is BAD_BATON; the
** baton of a stream that is gone, STREAM_EXPIRED. A null baton: *pbNew, and 0.
*/
HranaStream *hranaStreamOfBaton(Conn *pConn, Reply *pReply, const cJSON *pBaton, int *pbNew){
  const char *z;
  unsigned id, seq, key, diff;
  HranaStream *s;
  int k;
  *pbNew = pBaton==0 || cJSON_IsNull(pBaton);
  if( *pbNew ) return 0;
  z = cJSON_IsString(pBaton) ? pBaton->valuestring : "";
  if( strlen(z)!=BATON_CHARS || !readHex(z, 8, &id) || !readHex(z+8, 8, &seq) || id==0 ){
    replyFail(pReply, 400, DOSQL_BAD_BATON, "the baton is not one this database gave: "
        "send the baton of the last response of the stream, or null to open a stream");
    return 0;
  }
  s = hranaStreamOfId(id);
  if( s==0 ){
    replyFail(pReply, 400, DOSQL_STREAM_EXPIRED, "the stream has expired: it idled past its "
        "limit (%d s, or %d ms while it held a transaction, which was rolled back), ended "
        "with a pipeline that failed whole (whose error said why; a transaction it held was "
        "rolled back), was dropped for newer streams, or the database restarted; open a new stream",
        DOSQL_HRANA_STREAM_IDLE_MS/1000, DOSQL_HRANA_TRANSACTION_IDLE_MS);
    return 0;
  }
  for(k=0, diff=0; k<(int)sizeof(s->aKey); k++){   /* the whole key, whatever differs */
    diff |= readHex(z+16+2*k, 2, &key) ? key ^ s->aKey[k] : 1;
  }
  if( diff || seq!=s->seq ){
    replyFail(pReply, 400, DOSQL_BAD_BATON, "the baton is not the stream's current one: each "
        "baton is good for one pipeline, the one after the response that gave it");
    return 0;
  }
  if( s->bTx && !hranaStreamHoldsTransaction(pConn, s) ){
    hranaStreamFree(s);
    replyFail(pReply, 400, DOSQL_STREAM_EXPIRED, "the stream's transaction was rolled back "
        "(it idled for more than %d ms, a pipeline of it failed with TRANSACTION_ABORTED, "
        "or the database restarted): the stream has ended", DOSQL_HRANA_TRANSACTION_IDLE_MS);
    return 0;
  }
  return s;
}
/******************************************************* stored SQL ***/

static HranaSql *storedSql(HranaStream *s, int iId){
  HranaSql *p;
  for(p=s->pSql; p && p->iId!=iId; p=p->pNext){}
  return p;
}

/* The integer sql_id of pReq, or -1 after failing pSub. */
static int sqlIdOf(Reply *pSub, const cJSON *pId){
  if( !cJSON_IsNumber(pId) || !(pId->valuedouble>=0 && pId->valuedouble<=0x7fffffff)
   || pId->valuedouble!=(double)(int)pId->valuedouble ){
    replyFail(pSub, 400, DOSQL_BAD_REQUEST, "sql_id must be a whole number, 0 or more");
    return -1;
  }
  return (int)pId->valuedouble;
}

/* store_sql {sql_id, sql} */
void hranaStoreSql(HranaStream *s, Reply *pSub, const cJSON *pReq){
  const cJSON *pSql = cJSON_GetObjectItemCaseSensitive(pReq, "sql");
  int iId = sqlIdOf(pSub, cJSON_GetObjectItemCaseSensitive(pReq, "sql_id"));
  HranaSql *p;
  int n;
  if( iId<0 ) return;
  if( !cJSON_IsString(pSql) ){
    replyFail(pSub, 400, DOSQL_BAD_REQUEST, "store_sql needs sql, a string");
    return;
  }
  if( storedSql(s, iId) ){
    replyFail(pSub, 400, DOSQL_BAD_REQUEST, "sql_id %d is already stored on this stream: close_sql it first", iId);
    return;
  }
  n = (int)strlen(pSql->valuestring);
  if( s->nSql>=DOSQL_HRANA_MAX_SQL || s->nSqlBytes + n > DOSQL_HRANA_SQL_BYTES ){
    replyFail(pSub, 400, DOSQL_BAD_REQUEST, "too much stored SQL: a stream keeps at most %d texts "
        "of %d bytes in all; close_sql what is no longer needed", DOSQL_HRANA_MAX_SQL, DOSQL_HRANA_SQL_BYTES);
    return;
  }
  p = sqlite3_malloc(sizeof(*p));
  if( p ) p->zSql = sqlite3_mprintf("%s", pSql->valuestring);
  if( p==0 || p->zSql==0 ){
    sqlite3_free(p);
    replyFail(pSub, 400, DOSQL_HEAP_LIMIT, "out of memory storing SQL");
    return;
  }
  p->iId = iId;
  p->nSql = n;
  p->pNext = s->pSql;
  s->pSql = p;
  s->nSql++;
  s->nSqlBytes += n;
}

/* close_sql {sql_id}: no error when it is not stored, as in sqld. */
void hranaCloseSql(HranaStream *s, Reply *pSub, const cJSON *pReq){
  int iId = sqlIdOf(pSub, cJSON_GetObjectItemCaseSensitive(pReq, "sql_id"));
  HranaSql **pp;
  if( iId<0 ) return;
  for(pp=&s->pSql; *pp && (*pp)->iId!=iId; pp=&(*pp)->pNext){}
  if( *pp ){
    HranaSql *p = *pp;
    *pp = p->pNext;
    s->nSql--;
    s->nSqlBytes -= p->nSql;
    sqlite3_free(p->zSql);
    sqlite3_free(p);
  }
}

/* The SQL text of pObj ({sql} or {sql_id}), or 0 after failing pSub. */
const char *hranaSqlText(HranaStream *s, Reply *pSub, const cJSON *pObj){
  const cJSON *pSql = cJSON_GetObjectItemCaseSensitive(pObj, "sql");
  const cJSON *pId = cJSON_GetObjectItemCaseSensitive(pObj, "sql_id");
  HranaSql *p;
  int iId;
  if( pSql && !cJSON_IsNull(pSql) ){
    if( pId && !cJSON_IsNull(pId) ){
      replyFail(pSub, 400, DOSQL_BAD_REQUEST, "give sql or sql_id, not both");
      return 0;
    }
    if( !cJSON_IsString(pSql) ){
      replyFail(pSub, 400, DOSQL_BAD_REQUEST, "sql must be a string");
      return 0;
    }
    return pSql->valuestring;
  }
  if( pId==0 || cJSON_IsNull(pId) ){
    replyFail(pSub, 400, DOSQL_BAD_REQUEST, "give sql (a string) or sql_id (from store_sql)");
    return 0;
  }
  if( (iId = sqlIdOf(pSub, pId))<0 ) return 0;
  if( (p = storedSql(s, iId))==0 ){
    replyFail(pSub, 400, DOSQL_BAD_REQUEST, "sql_id %d is not stored: store_sql keeps a text for "
        "its stream over HTTP, for its connection over a WebSocket, until close_sql", iId);
    return 0;
  }
  return p->zSql;
}
