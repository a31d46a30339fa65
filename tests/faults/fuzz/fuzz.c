/*
** fuzz.c — what the fuzz targets share (contract in fuzz.h).
**
** Order of this file: the JSON checker, answers, the engine.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fuzz.h"
#include "handler.h"
#include "migrate.h"

/* Deepest nesting the JSON checker follows; the engine's answers nest a few
** levels (rows in an array in an object), so anything near this is a finding. */
#define FUZZ_JSON_MAX_DEPTH 64

static int fuzzTolerance;

/* Whether check zCheck is listed in DOSQL_FUZZ_SKIP (comma-separated). */
static int fuzzSkipped(const char *zCheck){
  const char *zList = getenv("DOSQL_FUZZ_SKIP");
  size_t n = strlen(zCheck);
  while( zList && *zList ){
    size_t nItem = strcspn(zList, ",");
    if( nItem==n && memcmp(zList, zCheck, n)==0 ) return 1;
    zList += nItem + (zList[nItem]==',');
  }
  return 0;
}

void fuzzFail(const char *zCheck, const char *zFmt, ...){
  va_list ap;
  if( zCheck && fuzzSkipped(zCheck) ) return;
  fprintf(stderr, "\n==== FUZZ FINDING [%s]: ", zCheck ? zCheck : "fuzzer");
  va_start(ap, zFmt);
  vfprintf(stderr, zFmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  fflush(stderr);
  abort();
}

/******************************************************** JSON checker ***/

/* Whether z[0..n) is valid UTF-8: shortest forms, no surrogates, <= U+10FFFF. */
static int fuzzUtf8Valid(const unsigned char *z, size_t n){
  size_t i = 0;
  while( i<n ){
    unsigned c = z[i], cp, len, k;
    if( c<0x80 ){ i++; continue; }
    if( c<0xc2 ) return 0;
    if( c<0xe0 ){ len = 2; cp = c & 0x1f; }
    else if( c<0xf0 ){ len = 3; cp = c & 0x0f; }
    else if( c<0xf5 ){ len = 4; cp = c & 0x07; }
    else return 0;
    if( n-i<len ) return 0;
    for(k=1; k<len; k++){
      if( (z[i+k] & 0xc0)!=0x80 ) return 0;
      cp = (cp<<6) | (z[i+k] & 0x3f);
    }
    if( len==3 && (cp<0x800 || (cp>=0xd800 && cp<=0xdfff)) ) return 0;
    if( len==4 && (cp<0x10000 || cp>0x10ffff) ) return 0;
    i += len;
  }
  return 1;
}

/* One key of an object: its decoded bytes. */
typedef struct JsonKey {
  char *z;
  size_t n;
} JsonKey;

typedef struct JsonScan {
  const unsigned char *z;
  size_t n, i;
  int bNoDupKeys;
  const char *zProblem;    /* the first problem, or 0 */
} JsonScan;

static int jsonProblem(JsonScan *p, const char *zWhy){
  if( p->zProblem==0 ) p->zProblem = zWhy;
  return 0;
}

static void jsonSkipSpace(JsonScan *p){
  while( p->i<p->n && (p->z[p->i]==' ' || p->z[p->i]=='\t' || p->z[p->i]=='\n' || p->z[p->i]=='\r') ){
    p->i++;
  }
}

static int jsonHex(int c){
  if( c>='0' && c<='9' ) return c-'0';
  if( c>='a' && c<='f' ) return c-'a'+10;
  if( c>='A' && c<='F' ) return c-'A'+10;
  return -1;
}

/* Append code point cp to pK as UTF-8 (lone surrogates too: only compared). */
static void jsonKeyPut(JsonKey *pK, unsigned cp){
  char *z = pK->z + pK->n;
  if( cp<0x80 ){ z[0] = (char)cp; pK->n += 1; }
  else if( cp<0x800 ){ z[0] = (char)(0xc0|(cp>>6)); z[1] = (char)(0x80|(cp&0x3f)); pK->n += 2; }
  else if( cp<0x10000 ){
    z[0] = (char)(0xe0|(cp>>12)); z[1] = (char)(0x80|((cp>>6)&0x3f)); z[2] = (char)(0x80|(cp&0x3f));
    pK->n += 3;
  }else{
    z[0] = (char)(0xf0|(cp>>18)); z[1] = (char)(0x80|((cp>>12)&0x3f));
    z[2] = (char)(0x80|((cp>>6)&0x3f)); z[3] = (char)(0x80|(cp&0x3f));
    pK->n += 4;
  }
}

/* A string at p->i (the opening quote). With pKey, its decoded bytes too
** (malloc'd into pKey->z). */
static int jsonString(JsonScan *p, JsonKey *pKey){
  size_t iStart = ++p->i;
  if( pKey ){
    pKey->n = 0;
    pKey->z = malloc(p->n - iStart + 1);
    if( pKey->z==0 ) fuzzFail(0, "out of memory in the JSON checker");
  }
  while( p->i<p->n ){
    unsigned c = p->z[p->i];
    if( c=='"' ){ p->i++; return 1; }
    if( c<0x20 ) return jsonProblem(p, "a control character inside a string");
    if( c!='\\' ){
      if( pKey ) pKey->z[pKey->n++] = (char)c;
      p->i++;
      continue;
    }
    if( p->i+1>=p->n ) return jsonProblem(p, "a string ends in a backslash");
    c = p->z[p->i+1];
    if( c=='u' ){
      unsigned cp = 0;
      int k;
      if( p->i+6>p->n ) return jsonProblem(p, "a short \\u escape");
      for(k=2; k<6; k++){
        int h = jsonHex(p->z[p->i+k]);
        if( h<0 ) return jsonProblem(p, "a \\u escape with a non-hex digit");
        cp = cp*16 + (unsigned)h;
      }
      if( pKey ) jsonKeyPut(pKey, cp);
      p->i += 6;
      continue;
    }
    if( strchr("\"\\/bfnrt", (int)c)==0 || c==0 ) return jsonProblem(p, "an invalid escape");
    if( pKey ) pKey->z[pKey->n++] = (char)c;
    p->i += 2;
  }
  return jsonProblem(p, "an unterminated string");
}

static int jsonNumber(JsonScan *p){
  const unsigned char *z = p->z;
  size_t n = p->n;
  if( p->i<n && z[p->i]=='-' ) p->i++;
  if( p->i>=n ) return jsonProblem(p, "a number without digits");
  if( z[p->i]=='0' ){
    p->i++;
  }else if( z[p->i]>='1' && z[p->i]<='9' ){
    while( p->i<n && z[p->i]>='0' && z[p->i]<='9' ) p->i++;
  }else{
    return jsonProblem(p, "a number without digits");
  }
  if( p->i<n && z[p->i]=='.' ){
    p->i++;
    if( p->i>=n || z[p->i]<'0' || z[p->i]>'9' ) return jsonProblem(p, "a number with no digit after '.'");
    while( p->i<n && z[p->i]>='0' && z[p->i]<='9' ) p->i++;
  }
  if( p->i<n && (z[p->i]=='e' || z[p->i]=='E') ){
    p->i++;
    if( p->i<n && (z[p->i]=='+' || z[p->i]=='-') ) p->i++;
    if( p->i>=n || z[p->i]<'0' || z[p->i]>'9' ) return jsonProblem(p, "a number with an empty exponent");
    while( p->i<n && z[p->i]>='0' && z[p->i]<='9' ) p->i++;
  }
  return 1;
}

static int jsonKeyCompare(const void *a, const void *b){
  const JsonKey *x = a, *y = b;
  size_t n = x->n<y->n ? x->n : y->n;
  int c = memcmp(x->z, y->z, n);
  return c ? c : (x->n<y->n ? -1 : x->n>y->n);
}

static int jsonValue(JsonScan *p, int depth);

static int jsonObject(JsonScan *p, int depth){
  JsonKey *aKey = 0;
  int nKey = 0, nAlloc = 0, ok = 0, i;
  p->i++;
  jsonSkipSpace(p);
  if( p->i<p->n && p->z[p->i]=='}' ){ p->i++; return 1; }
  for(;;){
    JsonKey key = {0, 0};
    jsonSkipSpace(p);
    if( p->i>=p->n || p->z[p->i]!='"' ){ jsonProblem(p, "an object key that is not a string"); goto done; }
    if( !jsonString(p, p->bNoDupKeys ? &key : 0) ){ free(key.z); goto done; }
    if( p->bNoDupKeys ){
      if( nKey==nAlloc ){
        nAlloc = nAlloc ? nAlloc*2 : 16;
        aKey = realloc(aKey, sizeof(JsonKey)*(size_t)nAlloc);
        if( aKey==0 ) fuzzFail(0, "out of memory in the JSON checker");
      }
      aKey[nKey++] = key;
    }
    jsonSkipSpace(p);
    if( p->i>=p->n || p->z[p->i]!=':' ){ jsonProblem(p, "no ':' after an object key"); goto done; }
    p->i++;
    if( !jsonValue(p, depth+1) ) goto done;
    jsonSkipSpace(p);
    if( p->i<p->n && p->z[p->i]==',' ){ p->i++; continue; }
    if( p->i<p->n && p->z[p->i]=='}' ){ p->i++; break; }
    jsonProblem(p, "no ',' or '}' after an object member");
    goto done;
  }
  ok = 1;
  if( nKey>1 ){
    qsort(aKey, (size_t)nKey, sizeof(JsonKey), jsonKeyCompare);
    for(i=1; i<nKey; i++){
      if( jsonKeyCompare(&aKey[i-1], &aKey[i])==0 ){
        ok = jsonProblem(p, "an object holds the same key twice");
        break;
      }
    }
  }
done:
  for(i=0; i<nKey; i++) free(aKey[i].z);
  free(aKey);
  return ok;
}

static int jsonArray(JsonScan *p, int depth){
  p->i++;
  jsonSkipSpace(p);
  if( p->i<p->n && p->z[p->i]==']' ){ p->i++; return 1; }
  for(;;){
    if( !jsonValue(p, depth+1) ) return 0;
    jsonSkipSpace(p);
    if( p->i<p->n && p->z[p->i]==',' ){ p->i++; continue; }
    if( p->i<p->n && p->z[p->i]==']' ){ p->i++; return 1; }
    return jsonProblem(p, "no ',' or ']' after an array element");
  }
}

static int jsonLiteral(JsonScan *p, const char *zWord){
  size_t n = strlen(zWord);
  if( p->n-p->i<n || memcmp(p->z+p->i, zWord, n)!=0 ) return jsonProblem(p, "an invalid literal");
  p->i += n;
  return 1;
}

static int jsonValue(JsonScan *p, int depth){
  if( depth>FUZZ_JSON_MAX_DEPTH ) return jsonProblem(p, "nesting deeper than an answer ever needs");
  jsonSkipSpace(p);
  if( p->i>=p->n ) return jsonProblem(p, "a value is missing");
  switch( p->z[p->i] ){
    case '{': return jsonObject(p, depth);
    case '[': return jsonArray(p, depth);
    case '"': return jsonString(p, 0);
    case 't': return jsonLiteral(p, "true");
    case 'f': return jsonLiteral(p, "false");
    case 'n': return jsonLiteral(p, "null");
    default:  return jsonNumber(p);
  }
}

const char *fuzzJsonProblem(const char *z, size_t n, int bUtf8, int bNoDupKeys){
  JsonScan s;
  if( bUtf8 && !fuzzUtf8Valid((const unsigned char*)z, n) ) return "the text is not valid UTF-8";
  memset(&s, 0, sizeof(s));
  s.z = (const unsigned char*)z;
  s.n = n;
  s.bNoDupKeys = bNoDupKeys;
  if( jsonValue(&s, 0) ){
    jsonSkipSpace(&s);
    if( s.i!=s.n ) jsonProblem(&s, "bytes after the JSON value");
  }
  return s.zProblem;
}

/************************************************************* answers ***/

/* Codes that mean a bug of ours, whatever the input. */
static int fuzzCodeIsBug(const char *zCode){
  if( strcmp(zCode, "INTERNAL")==0 ) return 1;
  if( strncmp(zCode, "SQLITE_INTERNAL", 15)==0 ) return 1;
  if( strncmp(zCode, "SQLITE_MISUSE", 13)==0 ) return 1;
  if( (fuzzTolerance & FUZZ_CORRUPT_OK)==0 && strncmp(zCode, "SQLITE_CORRUPT", 14)==0
   && strcmp(zCode, "SQLITE_CORRUPT_VTAB")!=0 ){
    return 1;
  }
  return 0;
}

/* The check a problem of fuzzJsonProblem belongs to. */
static const char *fuzzProblemCheck(const char *zProblem){
  if( strstr(zProblem, "UTF-8") ) return "utf8";
  if( strstr(zProblem, "twice") ) return "keys";
  return "json";
}

/* Take a response apart (freeing it) and check it; zWhat names the request. */
static FuzzAnswer fuzzAnswerFrom(uint8_t *aResp, const char *zWhat){
  FuzzAnswer a;
  const char *zProblem;
  uint32_t status, n;
  memset(&a, 0, sizeof(a));
  if( aResp==0 ){               /* allowed: out of memory (api.h) */
    a.status = -1;
    a.zBody = calloc(1, 1);
    return a;
  }
  memcpy(&status, aResp+DOSQL_RESPONSE_STATUS, 4);
  memcpy(&n, aResp+DOSQL_RESPONSE_LENGTH, 4);
  a.status = (int)status;
  a.nBody = n;
  a.zBody = malloc((size_t)n+1);
  if( a.zBody==0 ) fuzzFail(0, "out of memory copying an answer");
  memcpy(a.zBody, aResp+DOSQL_RESPONSE_BODY, n);
  a.zBody[n] = 0;
  dosql_free(aResp);

  if( a.status!=200 && (a.status<400 || a.status>599) ){
    fuzzFail("status", "%s: status %d is neither 200 nor an error: %.500s", zWhat, a.status, a.zBody);
  }
  if( memchr(a.zBody, 0, n) ) fuzzFail("json", "%s: the body holds a NUL byte", zWhat);
  zProblem = fuzzJsonProblem(a.zBody, n, (fuzzTolerance & FUZZ_UNCHECKED_LOG)==0, 0);
  if( zProblem ){
    fuzzFail(fuzzProblemCheck(zProblem), "%s: %d answer is not valid JSON (%s): %.500s",
             zWhat, a.status, zProblem, a.zBody);
  }
  a.pJson = cJSON_ParseWithLength(a.zBody, n);
  if( a.pJson==0 ){
    /* Valid JSON that cJSON cannot hold (out of memory under the heap limit). */
    return a;
  }
  /* An object; /transaction answers its last query's rows, an array. */
  if( !cJSON_IsObject(a.pJson) && !(a.status==200 && cJSON_IsArray(a.pJson)) ){
    fuzzFail("shape", "%s: the body is not an object: %.500s", zWhat, a.zBody);
  }
  if( a.status>=400 ){
    const cJSON *pCode = cJSON_GetObjectItemCaseSensitive(a.pJson, "code");
    const cJSON *pError = cJSON_GetObjectItemCaseSensitive(a.pJson, "error");
    if( !cJSON_IsString(pCode) || pCode->valuestring[0]==0 || !cJSON_IsString(pError) ){
      fuzzFail("shape", "%s: a %d answer without error and code: %.500s", zWhat, a.status, a.zBody);
      return a;
    }
    a.zCode = pCode->valuestring;
    if( fuzzCodeIsBug(a.zCode) ) fuzzFail("code", "%s: answered %d %s: %.500s", zWhat, a.status, a.zCode, a.zBody);
  }
  return a;
}

void fuzzEndInput(Conn *p, int bInTx){
  if( bInTx ){
    FuzzAnswer a = fuzzPost(p, "/rollback", "{}", DOSQL_REQUEST_IN_TRANSACTION);
    if( a.status!=200 ) fuzzFail("tx-state", "/rollback of the open transaction answered %d %s", a.status, a.zBody);
    fuzzAnswerFree(&a);
  }
  if( p->bInteractive || !sqlite3_get_autocommit(p->db) ){
    fuzzFail("tx-open", "a transaction is still open after the input");
  }
  fuzzCheckIntegrity(p, "after the input");
}

size_t fuzzNextSeparator(const uint8_t *a, size_t n){
  size_t i;
  for(i=0; i+4<=n; i++){
    if( a[i]=='\n' && a[i+1]=='-' && a[i+2]=='-' && a[i+3]=='\n' ) return i;
  }
  return n;
}

FuzzAnswer fuzzAnswerOf(uint8_t *aResp, const char *zWhat){
  return fuzzAnswerFrom(aResp, zWhat);
}

void fuzzAnswerFree(FuzzAnswer *a){
  free(a->zBody);
  cJSON_Delete(a->pJson);
  memset(a, 0, sizeof(*a));
}

void fuzzCheckObjectKeys(const FuzzAnswer *a, const char *zWhat){
  const char *zProblem = fuzzJsonProblem(a->zBody, a->nBody, 1, 1);
  if( zProblem ) fuzzFail(fuzzProblemCheck(zProblem), "%s: %s: %.500s", zWhat, zProblem, a->zBody);
}

/************************************************************* engine ****/

void fuzzInit(void){
  /* The first call into api.c sets the library up exactly as in production. */
  dosql_free(dosql_alloc(1));
}

void fuzzSetTolerance(int flags){
  fuzzTolerance = flags;
}

int fuzzOpen(Conn *p, int bCapture){
  Reply r;
  FuzzAnswer a;
  int status;
  memset(p, 0, sizeof(*p));
  replyInit(&r);
  connOpen(p, 0, bCapture, FUZZ_CPU_BUDGET_MS, &r);
  if( !replyFailed(&r) ) sqlite3_str_appendall(replyBody(&r), "{}");   /* as dosql_open */
  a = fuzzAnswerFrom(replyFinish(&r), "open");
  status = a.status;
  if( (status==200)!=connIsOpen(p) ) fuzzFail(0, "open answered %d but the connection is %s", status,
                                              connIsOpen(p) ? "open" : "closed");
  fuzzAnswerFree(&a);
  return status;
}

void fuzzMigrate(Conn *p, const char *zBody){
  FuzzAnswer a = fuzzAnswerFrom(migrateApply(p, (const uint8_t*)zBody, (uint32_t)strlen(zBody)), "migrate");
  if( a.status!=200 ) fuzzFail(0, "the fuzzer's own migration failed: %s", a.zBody);
  fuzzAnswerFree(&a);
}

FuzzAnswer fuzzRequest(Conn *p, const char *zMethod, uint32_t nMethod,
                       const char *zPath, uint32_t nPath,
                       const uint8_t *aBody, uint32_t nBody, uint32_t flags){
  char zWhat[120];
  snprintf(zWhat, sizeof(zWhat), "%.*s %.*s (flags %u)",
           (int)(nMethod<16 ? nMethod : 16), zMethod, (int)(nPath<64 ? nPath : 64), zPath, flags);
  return fuzzAnswerFrom(handleRequest(p, zMethod, nMethod, zPath, nPath, aBody, nBody, flags), zWhat);
}

FuzzAnswer fuzzHranaRun(Conn *p, const uint8_t *aBody, uint32_t nBody, uint32_t flags, char *pcState){
  static const char zPath[] = "/hrana/pipeline";
  uint8_t *aResp = handleRequest(p, "POST", 4, zPath, (uint32_t)strlen(zPath), aBody, nBody, flags);
  uint32_t status, n;
  *pcState = 0;
  if( aResp ){
    memcpy(&status, aResp+DOSQL_RESPONSE_STATUS, 4);
    memcpy(&n, aResp+DOSQL_RESPONSE_LENGTH, 4);
    if( status==200 ){
      *pcState = n>0 ? (char)aResp[DOSQL_RESPONSE_BODY] : 0;
      if( *pcState!='T' && *pcState!='A' ){
        fuzzFail("shape", "POST /hrana/pipeline: a 200 answer without the state byte: %.*s", (int)(n<500 ? n : 500),
                 (const char*)aResp+DOSQL_RESPONSE_BODY);
      }
      if( n>0 ){
        memmove(aResp+DOSQL_RESPONSE_BODY, aResp+DOSQL_RESPONSE_BODY+1, n-1);
        n--;
        memcpy(aResp+DOSQL_RESPONSE_LENGTH, &n, 4);
      }
    }
  }
  return fuzzAnswerFrom(aResp, "POST /hrana/pipeline");
}

FuzzAnswer fuzzPost(Conn *p, const char *zPath, const char *zBody, uint32_t flags){
  return fuzzRequest(p, "POST", 4, zPath, (uint32_t)strlen(zPath),
                     (const uint8_t*)zBody, (uint32_t)strlen(zBody), flags);
}

int fuzzExecTrusted(Conn *p, const char *zSql){
  int rc;
  connStartRequest(p, 1000);
  p->bTrusted = 1;
  rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  p->bTrusted = 0;
  return rc;
}

void fuzzCheckIntegrity(Conn *p, const char *zWhen){
  sqlite3_stmt *pStmt = 0;
  sqlite3_str *pOut = sqlite3_str_new(0);
  char *zResult;
  int rc;
  connStartRequest(p, 1000);
  p->bTrusted = 1;
  rc = sqlite3_prepare_v2(p->db, "PRAGMA integrity_check", -1, &pStmt, 0);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    sqlite3_str_appendf(pOut, "%s%s", sqlite3_str_length(pOut) ? "\n" : "",
                        (const char*)sqlite3_column_text(pStmt, 0));
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  p->bTrusted = 0;
  zResult = sqlite3_str_finish(pOut);
  if( rc!=SQLITE_OK || zResult==0 || strcmp(zResult, "ok")!=0 ){
    fuzzFail("integrity", "%s: integrity_check failed (rc %d): %.1000s", zWhen, rc, zResult ? zResult : "");
  }
  sqlite3_free(zResult);
}

void fuzzClose(Conn *p){
  if( p->db && (p->bInteractive || !sqlite3_get_autocommit(p->db)) ){
    fuzzFail("tx-open", "a transaction is still open after the input");
  }
  connClose(p);
}
