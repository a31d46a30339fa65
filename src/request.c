/*
** request.c — the one definition of a valid request body (contract in
** request.h): a strict scan of the bytes, then cJSON's parse, then a look for
** duplicate keys in the tree.
*/
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "json.h"
#include "request.h"

/* Deepest nesting of arrays and objects: cJSON's own limit, so that every
** body the scan accepts, cJSON parses. */
#define REQUEST_MAX_DEPTH CJSON_NESTING_LIMIT

typedef struct Scan {
  const uint8_t *a;     /* the body */
  uint32_t n;           /* its length */
  uint32_t i;           /* the next byte */
  int bNulEscape;       /* \u0000 is allowed (stored events, not requests) */
} Scan;

static int scanPeek(const Scan *s){
  return s->i<s->n ? s->a[s->i] : -1;
}

static void scanSpace(Scan *s){
  while( s->i<s->n && (s->a[s->i]==' ' || s->a[s->i]=='\t'
                       || s->a[s->i]=='\n' || s->a[s->i]=='\r') ) s->i++;
}

static int scanHex4(Scan *s, unsigned *pV){
  unsigned v = 0;
  int k;
  if( s->n - s->i < 4 ) return 0;
  for(k=0; k<4; k++){
    int c = s->a[s->i++];
    v <<= 4;
    if( c>='0' && c<='9' ) v |= (unsigned)(c-'0');
    else if( c>='a' && c<='f' ) v |= (unsigned)(c-'a'+10);
    else if( c>='A' && c<='F' ) v |= (unsigned)(c-'A'+10);
    else return 0;
  }
  *pV = v;
  return 1;
}

/* Half of a UTF-16 pair alone has no UTF-8: JavaScript's JSON.stringify
** writes it as an escape, the text it came from was cut inside a character. */
#define SCAN_LONE_SURROGATE "a string holds an unpaired surrogate escape (half of a UTF-16 " \
    "pair: in JavaScript, text.toWellFormed() makes it U+FFFD)"

/* A string, at its opening quote. 0, or why it is refused. */
static const char *scanString(Scan *s){
  s->i++;
  for(;;){
    int c = scanPeek(s);
    if( c<0 ) return "a string is not closed";
    if( c=='"' ){ s->i++; return 0; }
    if( c<0x20 ) return "strings may not hold raw control characters: escape them (\\n, \\u001f)";
    if( c=='\\' ){
      unsigned v, w;
      s->i++;
      c = scanPeek(s);
      if( c<0 ) return "a string is not closed";
      s->i++;
      if( strchr("\"\\/bfnrt", c) ) continue;
      if( c!='u' || !scanHex4(s, &v) ) return "a string holds an invalid escape";
      if( v==0 && !s->bNulEscape ){
        return "strings may not contain \\u0000 (valid JSON, but this engine's reader ends a "
               "string there): send a parameter holding NUL characters as {\"" JSON_TAG_TEXT
               "\":\"<base64 of its UTF-8>\"} (dosql/client does), or over libSQL as a blob; "
               "SQL text cannot hold one (SQLite ends a statement there)";
      }
      if( v>=0xdc00 && v<=0xdfff ) return SCAN_LONE_SURROGATE;
      if( v>=0xd800 && v<=0xdbff ){
        if( s->n - s->i < 2 || s->a[s->i]!='\\' || s->a[s->i+1]!='u' ) return SCAN_LONE_SURROGATE;
        s->i += 2;
        if( !scanHex4(s, &w) || w<0xdc00 || w>0xdfff ) return SCAN_LONE_SURROGATE;
      }
      continue;
    }
    if( c>=0x80 ){
      int len = jsonUtf8Length(&s->a[s->i], (int)(s->n - s->i < 4 ? s->n - s->i : 4));
      if( len==0 ) return "a string is not valid UTF-8";
      s->i += (uint32_t)len;
      continue;
    }
    s->i++;
  }
}

static int scanDigits(Scan *s){
  uint32_t i0 = s->i;
  while( s->i<s->n && s->a[s->i]>='0' && s->a[s->i]<='9' ) s->i++;
  return s->i>i0;
}

/* A number, at its first byte: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static const char *scanNumber(Scan *s){
  if( scanPeek(s)=='-' ) s->i++;
  if( scanPeek(s)=='0' ) s->i++;
  else if( !scanDigits(s) ) return "a number is malformed";
  if( scanPeek(s)=='.' ){
    s->i++;
    if( !scanDigits(s) ) return "a number is malformed";
  }
  if( scanPeek(s)=='e' || scanPeek(s)=='E' ){
    s->i++;
    if( scanPeek(s)=='+' || scanPeek(s)=='-' ) s->i++;
    if( !scanDigits(s) ) return "a number is malformed";
  }
  return 0;
}

static const char *scanWord(Scan *s, const char *zWord){
  size_t n = strlen(zWord);
  if( s->n - s->i < n || memcmp(&s->a[s->i], zWord, n)!=0 ) return "unexpected characters";
  s->i += (uint32_t)n;
  return 0;
}

/* An object's key and its colon, at the key's quote. */
static const char *scanKey(Scan *s){
  const char *zWhy;
  if( scanPeek(s)!='"' ) return "an object key must be a string";
  if( (zWhy = scanString(s))!=0 ) return zWhy;
  scanSpace(s);
  if( scanPeek(s)!=':' ) return "a ':' must follow an object key";
  s->i++;
  return 0;
}

/* Scan the whole body. 0, or why it is refused (s->i is where). */
static const char *scanBody(Scan *s){
  char aOpen[REQUEST_MAX_DEPTH];   /* the open containers: '{' or '[' */
  int nOpen = 0;
  const char *zWhy;
  for(;;){
    int c;
    /* A value. */
    scanSpace(s);
    c = scanPeek(s);
    if( c=='{' || c=='[' ){
      if( nOpen==REQUEST_MAX_DEPTH ) return "arrays and objects are nested too deeply";
      aOpen[nOpen++] = (char)c;
      s->i++;
      scanSpace(s);
      if( scanPeek(s)==(c=='{' ? '}' : ']') ){
        s->i++;
        nOpen--;
      }else{
        if( c=='{' && (zWhy = scanKey(s))!=0 ) return zWhy;
        continue;
      }
    }else if( c=='"' ){
      if( (zWhy = scanString(s))!=0 ) return zWhy;
    }else if( c=='-' || (c>='0' && c<='9') ){
      if( (zWhy = scanNumber(s))!=0 ) return zWhy;
    }else if( c=='t' || c=='f' || c=='n' ){
      if( (zWhy = scanWord(s, c=='t' ? "true" : c=='f' ? "false" : "null"))!=0 ) return zWhy;
    }else{
      return c<0 ? "the body ends where a value should be" : "a value should be here";
    }
    /* After a value: close containers, or go on to the next member. */
    for(;;){
      scanSpace(s);
      if( nOpen==0 ) return s->i==s->n ? 0 : "the body has bytes after its JSON value";
      c = scanPeek(s);
      if( c==',' ){
        s->i++;
        if( aOpen[nOpen-1]=='{' ){
          scanSpace(s);
          if( (zWhy = scanKey(s))!=0 ) return zWhy;
        }
        break;
      }
      if( c!=(aOpen[nOpen-1]=='{' ? '}' : ']') ) return "a ',' or a closing bracket should be here";
      s->i++;
      nOpen--;
    }
  }
}

static int requestCompareKeys(const void *a, const void *b){
  return strcmp((*(const cJSON *const*)a)->string, (*(const cJSON *const*)b)->string);
}

/* Objects with at most this many keys are checked pair by pair, without an
** allocation: every request body is one ({sql, params}). */
#define REQUEST_SMALL_OBJECT 8

/* The first key that appears twice in one object of the tree, or 0 (also when
** out of memory: *pbNoMem is set). Larger objects are sorted: O(n log n). */
static const char *requestDuplicateKey(const cJSON *p, int *pbNoMem){
  const cJSON *pChild;
  const char *zDup = 0;
  int n = 0, i;
  for(pChild=p->child; pChild && zDup==0; pChild=pChild->next){
    zDup = requestDuplicateKey(pChild, pbNoMem);
    n++;
  }
  if( zDup==0 && cJSON_IsObject(p) && n>1 && n<=REQUEST_SMALL_OBJECT ){
    const cJSON *pOther;
    for(pChild=p->child; pChild && zDup==0; pChild=pChild->next){
      for(pOther=pChild->next; pOther && zDup==0; pOther=pOther->next){
        if( strcmp(pChild->string, pOther->string)==0 ) zDup = pOther->string;
      }
    }
  }else if( zDup==0 && cJSON_IsObject(p) && n>1 ){
    const cJSON **aKey = sqlite3_malloc64(sizeof(*aKey) * (sqlite3_uint64)n);
    if( aKey==0 ){
      *pbNoMem = 1;
      return 0;
    }
    for(i=0, pChild=p->child; pChild; pChild=pChild->next) aKey[i++] = pChild;
    qsort((void*)aKey, (size_t)n, sizeof(*aKey), requestCompareKeys);
    for(i=1; i<n && zDup==0; i++){
      if( strcmp(aKey[i-1]->string, aKey[i]->string)==0 ) zDup = aKey[i]->string;
    }
    sqlite3_free((void*)aKey);
  }
  return zDup;
}

cJSON *requestParse(Reply *pReply, const uint8_t *aBody, uint32_t nBody){
  Scan scan = { aBody, aBody ? nBody : 0, 0, 0 };
  const char *zWhy;
  cJSON *pBody;
  int bNoMem = 0;
  if( nBody>DOSQL_MAX_REQUEST_BYTES ){
    /* nBody is the declared length, or what was read before reading stopped. */
    replyFail(pReply, 413, DOSQL_PAYLOAD_TOO_LARGE,
        "the request body is %u bytes or more; the limit is %d (over Workers RPC, the call's "
        "SQL and parameters as the JSON the object runs: a BLOB counts 4/3 of its size, a quote "
        "or a backslash 2 bytes, a control character 6)", nBody, DOSQL_MAX_REQUEST_BYTES);
    return 0;
  }
  if( nBody==0 ){
    /* No body at all is the empty object: every field of /begin, /commit,
    ** /rollback and /changes is optional. */
    aBody = (const uint8_t*)"{}";
    nBody = 2;
    scan.a = aBody;
    scan.n = nBody;
  }
  if( (zWhy = scanBody(&scan))!=0 ){
    replyFail(pReply, 400, DOSQL_BAD_JSON, "the body is not valid JSON: %s (at byte %u)", zWhy, scan.i);
    return 0;
  }
  pBody = cJSON_ParseWithLength((const char*)aBody, nBody);
  if( pBody==0 ){
    /* The scan accepted it, so only memory can have failed. */
    replyFail(pReply, 400, DOSQL_HEAP_LIMIT, "out of memory reading the request body");
    return 0;
  }
  if( !cJSON_IsObject(pBody) ){
    cJSON_Delete(pBody);
    replyFail(pReply, 400, DOSQL_BAD_REQUEST, "the body must be a JSON object");
    return 0;
  }
  if( (zWhy = requestDuplicateKey(pBody, &bNoMem))!=0 || bNoMem ){
    if( bNoMem ) replyFail(pReply, 400, DOSQL_HEAP_LIMIT, "out of memory reading the request body");
    else replyFail(pReply, 400, DOSQL_BAD_JSON, "the body is ambiguous: an object has the key \"%s\" twice", zWhy);
    cJSON_Delete(pBody);
    return 0;
  }
  return pBody;
}

int requestCheckStored(const char *z, int n){
  Scan scan = { (const uint8_t*)z, (uint32_t)n, 0, 1 };
  cJSON *pValue;
  const cJSON *pMember;
  int bNoMem = 0, bValid;
  if( scanBody(&scan)!=0 || n<1 || z[0]!='{' ) return 0;
  pValue = cJSON_ParseWithLength(z, (size_t)n);
  if( pValue==0 ) return -1;     /* the scan accepted it: out of memory */
  bValid = requestDuplicateKey(pValue, &bNoMem)==0;
  for(pMember=pValue->child; bValid && pMember; pMember=pMember->next){
    bValid = jsonIsWrittenValue(pMember);
  }
  cJSON_Delete(pValue);
  return bNoMem ? -1 : bValid;
}
