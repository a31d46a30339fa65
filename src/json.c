/*
** json.c — all value encoding between JSON and SQLite (the contract is in
** json.h), in DoSQL's encoding and in Hrana's. Writing goes straight into a
** sqlite3_str; reading binds from a cJSON tree.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "config.h"
#include "decimal.h"
#include "json.h"
#include "sqlite/unit.h"

/************************************************************** base64 ***/

static const char aB64[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64Append(sqlite3_str *pOut, const unsigned char *a, int n){
  char aChunk[4];
  int i;
  for(i=0; i+2<n; i+=3){
    aChunk[0] = aB64[a[i]>>2];
    aChunk[1] = aB64[((a[i]&3)<<4) | (a[i+1]>>4)];
    aChunk[2] = aB64[((a[i+1]&15)<<2) | (a[i+2]>>6)];
    aChunk[3] = aB64[a[i+2]&63];
    sqlite3_str_append(pOut, aChunk, 4);
  }
  if( i<n ){
    aChunk[0] = aB64[a[i]>>2];
    if( i+1<n ){
      aChunk[1] = aB64[((a[i]&3)<<4) | (a[i+1]>>4)];
      aChunk[2] = aB64[(a[i+1]&15)<<2];
    }else{
      aChunk[1] = aB64[(a[i]&3)<<4];
      aChunk[2] = '=';
    }
    aChunk[3] = '=';
    sqlite3_str_append(pOut, aChunk, 4);
  }
}

static int base64Digit(char c){
  if( c>='A' && c<='Z' ) return c-'A';
  if( c>='a' && c<='z' ) return c-'a'+26;
  if( c>='0' && c<='9' ) return c-'0'+52;
  if( c=='+' ) return 62;
  if( c=='/' ) return 63;
  return -1;
}

/*
** Decode canonical base64, padded or not (sqld writes a blob without its "="s).
** Returns the decoded length and the bytes in *paOut (sqlite3_malloc'd; a 1-byte
** allocation for empty input), -1 for text that is not base64, or -2 when out
** of memory. With paOut 0 it only checks the text (and allocates nothing).
*/
static int base64Decode(const char *z, unsigned char **paOut){
  size_t n = strlen(z), i, j = 0;
  unsigned char *a = 0;
  if( n%4==2 || n%4==3 ){
    char *zPadded = sqlite3_mprintf("%s%s", z, n%4==2 ? "==" : "=");
    int rc = zPadded ? base64Decode(zPadded, paOut) : -2;
    sqlite3_free(zPadded);
    return rc;
  }
  if( n%4 ) return -1;
  if( paOut && (a = sqlite3_malloc64(n/4*3 + 1))==0 ) return -2;
  for(i=0; i<n; i+=4){
    int d0 = base64Digit(z[i]), d1 = base64Digit(z[i+1]);
    int d2 = base64Digit(z[i+2]), d3 = base64Digit(z[i+3]);
    int bLast = i+4==n;
    if( d0<0 || d1<0 ) goto bad;
    if( a ) a[j] = (unsigned char)((d0<<2) | (d1>>4));
    j++;
    if( z[i+2]=='=' ){
      if( !bLast || z[i+3]!='=' || (d1&15) ) goto bad;
      break;
    }
    if( d2<0 ) goto bad;
    if( a ) a[j] = (unsigned char)(((d1&15)<<4) | (d2>>2));
    j++;
    if( z[i+3]=='=' ){
      if( !bLast || (d2&3) ) goto bad;
      break;
    }
    if( d3<0 ) goto bad;
    if( a ) a[j] = (unsigned char)(((d2&3)<<6) | d3);
    j++;
  }
  if( paOut ) *paOut = a;
  return (int)j;
bad:
  sqlite3_free(a);
  return -1;
}

/************************************************************* writing ***/

int jsonUtf8Length(const unsigned char *z, int n){
  int len, i;
  unsigned c = z[0];
  unsigned cp;
  if( c<0xc2 ) return 0;
  if( c<0xe0 ){ len = 2; cp = c & 0x1f; }
  else if( c<0xf0 ){ len = 3; cp = c & 0x0f; }
  else if( c<0xf5 ){ len = 4; cp = c & 0x07; }
  else return 0;
  if( n<len ) return 0;
  for(i=1; i<len; i++){
    if( (z[i] & 0xc0)!=0x80 ) return 0;
    cp = (cp<<6) | (z[i] & 0x3f);
  }
  if( (len==3 && (cp<0x800 || (cp>=0xd800 && cp<=0xdfff))) || (len==4 && (cp<0x10000 || cp>0x10ffff)) ){
    return 0;
  }
  return len;
}

/* The bytes of z's first character (n bytes remain) if JSON holds it as it
** is, else 0: a control character, '"', '\\', or invalid UTF-8. */
static int jsonPlainChar(const unsigned char *z, int n){
  unsigned char c = z[0];
  if( c<0x80 ) return c>=0x20 && c!='"' && c!='\\';
  return jsonUtf8Length(z, n);
}

/* The length of z's first run of bytes that JSON holds as they are. */
static int jsonPlainLength(const unsigned char *z, int n){
  int i = 0, len;
  while( i<n && (len = jsonPlainChar(&z[i], n-i))>0 ) i += len;
  return i;
}

int jsonPutPlainString(char *z, const char *zIn, int n){
  const unsigned char *zU = (const unsigned char*)zIn;
  int i = 0;
  /* Copied as it is scanned: one pass over the bytes, not a scan and a copy. */
  z[0] = '"';
  while( i<n ){
    int len = jsonPlainChar(&zU[i], n-i);
    if( len==0 ) return 0;
    do{ z[i+1] = (char)zU[i]; i++; }while( --len );
  }
  z[n+1] = '"';
  return n+2;
}

/* Most bytes jsonEscape() writes: \\u001f. */
#define JSON_ESCAPE_MAX 6

/* Write byte c, which is not plain (jsonPlainChar), as JSON writes it in a
** string, to z (room for JSON_ESCAPE_MAX+1 bytes); return the length. */
static int jsonEscape(unsigned char c, char *z){
  const char *zFixed;
  switch( c ){
    case '"':  zFixed = "\\\""; break;
    case '\\': zFixed = "\\\\"; break;
    case '\n': zFixed = "\\n"; break;
    case '\r': zFixed = "\\r"; break;
    case '\t': zFixed = "\\t"; break;
    default:
      if( c<0x20 ){
        sqlite3_snprintf(JSON_ESCAPE_MAX+1, z, "\\u%04x", c);
        return JSON_ESCAPE_MAX;
      }
      zFixed = "\\ufffd";   /* a byte of invalid UTF-8 */
  }
  memcpy(z, zFixed, strlen(zFixed));
  return (int)strlen(zFixed);
}

sqlite3_int64 jsonStringLength(const char *zIn, int n){
  const unsigned char *z = (const unsigned char*)zIn;
  sqlite3_int64 nOut = 2;
  int i = 0;
  while( i<n ){
    char zEscape[JSON_ESCAPE_MAX+1];
    int nPlain = jsonPlainLength(&z[i], n-i);
    nOut += nPlain;
    i += nPlain;
    if( i<n ) nOut += jsonEscape(z[i++], zEscape);
  }
  return nOut;
}

void jsonAppendString(sqlite3_str *pOut, const char *zIn, int n){
  const unsigned char *z = (const unsigned char*)zIn;
  char zShort[64];
  int i, m, iRun = 0;
  if( n<0 ) n = (int)strlen(zIn);
  /* Most strings: short, nothing to escape, one append (a result's every
  ** text value comes through here). A short one with escapes is scanned
  ** again below. */
  if( n<=(int)sizeof(zShort)-2 && (m = jsonPutPlainString(zShort, zIn, n))>0 ){
    sqlite3_str_append(pOut, zShort, m);
    return;
  }
  i = jsonPlainLength(z, n);
  sqlite3_str_appendchar(pOut, 1, '"');
  while( i<n ){
    char zEscape[JSON_ESCAPE_MAX+1];
    /* Flush the plain run, then write z[i] escaped. */
    sqlite3_str_append(pOut, (const char*)&z[iRun], i-iRun);
    sqlite3_str_append(pOut, zEscape, jsonEscape(z[i], zEscape));
    iRun = ++i;
    i += jsonPlainLength(&z[i], n-i);
  }
  sqlite3_str_append(pOut, (const char*)&z[iRun], i-iRun);
  sqlite3_str_appendchar(pOut, 1, '"');
}

/* v in decimal into z (room for 20 bytes), unterminated; returns its length.
** What "%lld" writes, without SQLite's whole printf behind it: that was 3% of
** a bulk UPDATE with change capture, and every integer of a result pays it.
** Two digits a step, in 32 bits once the value fits: wasm divides 64-bit
** integers several times slower. */
static int jsonFormatInteger(char *z, sqlite3_int64 v){
  static const char aPair[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";
  static const sqlite3_uint64 aPower[] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull
  };
  sqlite3_uint64 u = v<0 ? (sqlite3_uint64)0 - (sqlite3_uint64)v : (sqlite3_uint64)v;
  unsigned w;
  int n = v<0, nDigit = 1;
  if( v<0 ) z[0] = '-';
  while( nDigit<20 && u>=aPower[nDigit] ) nDigit++;
  n += nDigit;
  /* Written from the last digit back, in place. */
  while( u>0xffffffffu ){
    z[--n] = (char)('0' + u%10);
    u /= 10;
  }
  for(w=(unsigned)u; w>=100; w/=100){
    unsigned r = w%100;
    z[--n] = aPair[2*r+1];
    z[--n] = aPair[2*r];
  }
  if( w>=10 ){
    z[--n] = aPair[2*w+1];
    z[--n] = aPair[2*w];
  }else{
    z[--n] = (char)('0' + w);
  }
  return (v<0) + nDigit;
}

int jsonPutInteger(char *z, sqlite3_int64 v){
  static const char zOpen[] = "{\"" JSON_TAG_BIGINT "\":\"";
  int n;
  if( v>=-DOSQL_MAX_SAFE_INTEGER && v<=DOSQL_MAX_SAFE_INTEGER ) return jsonFormatInteger(z, v);
  memcpy(z, zOpen, sizeof(zOpen)-1);
  n = (int)sizeof(zOpen)-1;
  n += jsonFormatInteger(&z[n], v);
  memcpy(&z[n], "\"}", 2);
  return n+2;
}

void jsonAppendInteger(sqlite3_str *pOut, sqlite3_int64 v){
  char z[JSON_INTEGER_MAX];
  sqlite3_str_append(pOut, z, jsonPutInteger(z, v));
}

/* Drop SQLite's forced ".0" ("1.0" -> "1", "1.0e+300" -> "1e+300"). */
static void trimPointZero(char *z){
  char *zDot = strstr(z, ".0");
  if( zDot && (zDot[2]==0 || zDot[2]=='e') ) memmove(zDot, zDot+2, strlen(zDot+2)+1);
}

/*
** Most stored reals are short decimals (7.5, 19.99): written here without
** printf and strtod, as N/10^d with the fewest fractional digits d that read
** back as exactly r. Only for 1e-4 <= |r| < 1e15 and N < 10^15: such a
** decimal is then the one of at most 15 significant digits within half a unit
** in the last place of r, so it is the text "%!.15g" gives, trimmed (below),
** and a real answers the same either way. Its length in z (28 bytes or more),
** or 0 for any other r.
*/
static int jsonPutShortReal(char *z, double r){
  double a = fabs(r);
  int d;
  if( !(a>=1e-4 && a<1e15) ) return 0;
  for(d=0; d<=DECIMAL_EXACT_POW10; d++){
    double s = a*decimalPow10(d);
    sqlite3_int64 n;
    int nInt, nAll, i;
    if( s>=1e15 ) return 0;
    if( s!=(double)(sqlite3_int64)s ) continue;
    n = (sqlite3_int64)s;
    if( decimalExact(n, -d)!=a ) return 0;   /* the real the text reads back as */
    for(; d>0 && n%10==0; d--) n /= 10;
    /* The digits of n, then the point moved d places in from the right. */
    i = r<0;
    if( i ) z[0] = '-';
    nInt = jsonFormatInteger(&z[i], n);
    if( d==0 ) return i+nInt;
    if( nInt<=d ){
      /* 0.0075: zeros before the digits. */
      memmove(&z[i+2+d-nInt], &z[i], (size_t)nInt);
      memset(&z[i], '0', (size_t)(2+d-nInt));
      z[i+1] = '.';
      return i+2+d;
    }
    nAll = i+nInt;
    memmove(&z[nAll-d+1], &z[nAll-d], (size_t)d);
    z[nAll-d] = '.';
    return nAll+1;
  }
  return 0;
}

/* The shortest decimal (15 to 17 significant digits) that strtod() reads back
** as exactly r. The "!" flag lifts SQLite's printf past 16 digits. */
static void jsonAppendReal(sqlite3_str *pOut, double r){
  char zBuf[48];
  int nDigit;
  if( isinf(r) ){
    sqlite3_str_appendall(pOut, r>0 ? "{\"" JSON_TAG_REAL "\":\"Infinity\"}" : "{\"" JSON_TAG_REAL "\":\"-Infinity\"}");
    return;
  }
  if( isnan(r) ){                     /* SQLite stores NaN as NULL; be safe */
    sqlite3_str_appendall(pOut, "null");
    return;
  }
  if( r==0.0 ){                       /* keep the sign of -0.0 */
    sqlite3_str_appendall(pOut, signbit(r) ? "-0" : "0");
    return;
  }
  if( (nDigit = jsonPutShortReal(zBuf, r))>0 ){
    sqlite3_str_append(pOut, zBuf, nDigit);
    return;
  }
  for(nDigit=15; nDigit<=17; nDigit++){
    sqlite3_snprintf(sizeof(zBuf), zBuf, "%!.*g", nDigit, r);
    if( decimalValue(zBuf)==r ) break;
  }
  trimPointZero(zBuf);
  sqlite3_str_appendall(pOut, zBuf);
}

void jsonAppendValue(sqlite3_str *pOut, sqlite3_value *pVal){
  switch( sqlite3_value_type(pVal) ){
    case SQLITE_INTEGER:
      jsonAppendInteger(pOut, sqlite3_value_int64(pVal));
      break;
    case SQLITE_FLOAT:
      jsonAppendReal(pOut, sqlite3_value_double(pVal));
      break;
    case SQLITE_TEXT: {
      /* The bytes as the value holds them: sqlite3_value_text() would copy a
      ** value that is not NUL-terminated (a record's, a register's), and the
      ** text is UTF-8 already (SQLITE_OMIT_UTF16). */
      int n;
      const char *z = dosqlValueBytes(pVal, &n);
      jsonAppendString(pOut, z ? z : "", z ? n : 0);
      break;
    }
    case SQLITE_BLOB: {
      const unsigned char *a = sqlite3_value_blob(pVal);
      sqlite3_str_appendall(pOut, "{\"" JSON_TAG_BLOB "\":\"");
      base64Append(pOut, a, sqlite3_value_bytes(pVal));
      sqlite3_str_appendall(pOut, "\"}");
      break;
    }
    default:
      sqlite3_str_appendall(pOut, "null");
  }
}

sqlite3_int64 jsonValueLength(sqlite3_value *pVal){
  int n;
  const char *z;
  switch( sqlite3_value_type(pVal) ){
    case SQLITE_TEXT:
      z = dosqlValueBytes(pVal, &n);
      return jsonStringLength(z ? z : "", z ? n : 0);
    case SQLITE_BLOB:
      return 4*(((sqlite3_int64)sqlite3_value_bytes(pVal)+2)/3) + 2;
    default:
      return 0;
  }
}

void jsonAppendColumn(sqlite3_str *pOut, sqlite3_stmt *pStmt, int i){
  jsonAppendValue(pOut, sqlite3_column_value(pStmt, i));
}

void jsonAppendHranaColumn(sqlite3_str *pOut, sqlite3_stmt *pStmt, int i){
  switch( sqlite3_column_type(pStmt, i) ){
    case SQLITE_INTEGER:
      sqlite3_str_appendf(pOut, "{\"type\":\"integer\",\"value\":\"%lld\"}", sqlite3_column_int64(pStmt, i));
      break;
    case SQLITE_FLOAT: {
      double r = sqlite3_column_double(pStmt, i);
      sqlite3_str_appendall(pOut, "{\"type\":\"float\",\"value\":");
      /* JSON has no infinity; 1e999 is the number every JSON reader rounds to it. */
      if( isinf(r) ) sqlite3_str_appendall(pOut, r>0 ? "1e999" : "-1e999");
      else jsonAppendReal(pOut, r);
      sqlite3_str_appendchar(pOut, 1, '}');
      break;
    }
    case SQLITE_TEXT: {
      const char *z = (const char*)sqlite3_column_text(pStmt, i);
      sqlite3_str_appendall(pOut, "{\"type\":\"text\",\"value\":");
      jsonAppendString(pOut, z ? z : "", sqlite3_column_bytes(pStmt, i));
      sqlite3_str_appendchar(pOut, 1, '}');
      break;
    }
    case SQLITE_BLOB: {
      const unsigned char *a = sqlite3_column_blob(pStmt, i);
      sqlite3_str_appendall(pOut, "{\"type\":\"blob\",\"base64\":\"");
      base64Append(pOut, a, sqlite3_column_bytes(pStmt, i));
      sqlite3_str_appendall(pOut, "\"}");
      break;
    }
    default:
      sqlite3_str_appendall(pOut, "{\"type\":\"null\"}");
  }
}

/************************************************************* binding ***/

/* Parse a whole decimal int64 ("-9223372036854775808" .. max). */
static int parseInt64(const char *z, sqlite3_int64 *pV){
  sqlite3_uint64 u = 0, lim;
  int bNeg = 0;
  if( *z=='-' ){ bNeg = 1; z++; }
  if( *z==0 ) return 0;
  lim = bNeg ? (sqlite3_uint64)1<<63 : ((sqlite3_uint64)1<<63) - 1;
  for(; *z; z++){
    if( *z<'0' || *z>'9' ) return 0;
    if( u > (lim - (sqlite3_uint64)(*z-'0'))/10 ) return 0;
    u = u*10 + (sqlite3_uint64)(*z-'0');
  }
  *pV = bNeg ? (sqlite3_int64)(0 - u) : (sqlite3_int64)u;
  return 1;
}

/* The REAL a $real tag's text z says (what JSON's numbers cannot: ±Infinity,
** -0) in *pR: 1, or 0 for any other text. */
static int realTagValue(const char *z, double *pR){
  if( strcmp(z, "Infinity")==0 ) *pR = INFINITY;
  else if( strcmp(z, "-Infinity")==0 ) *pR = -INFINITY;
  else if( strcmp(z, "-0")==0 ) *pR = -0.0;
  else return 0;
  return 1;
}

int jsonIsWrittenValue(const cJSON *p){
  const cJSON *pTag;
  sqlite3_int64 v;
  double r;
  if( cJSON_IsNull(p) || cJSON_IsString(p) ) return 1;
  if( cJSON_IsNumber(p) ) return isfinite(p->valuedouble);
  pTag = cJSON_IsObject(p) ? p->child : 0;
  if( pTag==0 || pTag->next || !cJSON_IsString(pTag) ) return 0;
  if( strcmp(pTag->string, JSON_TAG_BIGINT)==0 ) return parseInt64(pTag->valuestring, &v);
  if( strcmp(pTag->string, JSON_TAG_BLOB)==0 ) return base64Decode(pTag->valuestring, 0)>=0;
  if( strcmp(pTag->string, JSON_TAG_REAL)==0 ) return realTagValue(pTag->valuestring, &r);
  return 0;
}

/* Bind a tagged object {"$bigint"|"$blob"|"$real"|"$text": string}. */
static int bindTagged(sqlite3_stmt *pStmt, int i, const cJSON *p, char **pzErr){
  const cJSON *pTag = p->child;
  const char *zTag, *zVal;
  int bText;
  if( pTag==0 || pTag->next || !cJSON_IsString(pTag) ) goto bad;
  zTag = pTag->string;
  zVal = pTag->valuestring;
  if( strcmp(zTag, JSON_TAG_BIGINT)==0 ){
    sqlite3_int64 v;
    if( !parseInt64(zVal, &v) ){
      *pzErr = sqlite3_mprintf("parameter %d: \"%s\" is not a 64-bit integer", i, zVal);
      return SQLITE_MISMATCH;
    }
    return sqlite3_bind_int64(pStmt, i, v);
  }
  bText = strcmp(zTag, JSON_TAG_TEXT)==0;
  if( bText || strcmp(zTag, JSON_TAG_BLOB)==0 ){
    unsigned char *a;
    int n = base64Decode(zVal, &a);   /* a is allocated even for no bytes */
    if( n==-2 ) return SQLITE_NOMEM;
    if( n<0 ){
      *pzErr = sqlite3_mprintf("parameter %d: %s is not valid base64", i, zTag);
      return SQLITE_MISMATCH;
    }
    if( bText ) return sqlite3_bind_text(pStmt, i, (const char*)a, n, sqlite3_free);
    return sqlite3_bind_blob(pStmt, i, a, n, sqlite3_free);
  }
  if( strcmp(zTag, JSON_TAG_REAL)==0 ){
    double r;
    if( realTagValue(zVal, &r) ) return sqlite3_bind_double(pStmt, i, r);
    *pzErr = sqlite3_mprintf("parameter %d: $real must be \"Infinity\", \"-Infinity\" or \"-0\"", i);
    return SQLITE_MISMATCH;
  }
bad:
  *pzErr = sqlite3_mprintf("parameter %d is an object, which SQLite cannot store: to store "
                           "it as JSON text, bind JSON.stringify(value) (the only objects a "
                           "parameter may be are the protocol's tagged values: "
                           "{\"$bigint\":\"...\"}, {\"$blob\":\"<base64>\"}, "
                           "{\"$real\":\"Infinity\"}, {\"$text\":\"<base64 of UTF-8>\"})", i);
  return SQLITE_MISMATCH;
}

/* Bind one JSON value to parameter i, charging the request's CPU budget
** (budget.h) for it: a unit, and one per DOSQL_CPU_BYTES_PER_UNIT bytes. */
static int bindValue(sqlite3_stmt *pStmt, Budget *pBudget, int i, const cJSON *p, char **pzErr){
  sqlite3_int64 nBytes = cJSON_IsString(p) ? (sqlite3_int64)strlen(p->valuestring)
                       : cJSON_IsObject(p) && p->child && cJSON_IsString(p->child)
                       ? (sqlite3_int64)strlen(p->child->valuestring) : 0;
  if( pBudget && budgetCharge(pBudget, 1 + nBytes/DOSQL_CPU_BYTES_PER_UNIT) ){
    return SQLITE_INTERRUPT;
  }
  if( cJSON_IsNull(p) ) return sqlite3_bind_null(pStmt, i);
  if( cJSON_IsTrue(p) ) return sqlite3_bind_int(pStmt, i, 1);
  if( cJSON_IsFalse(p) ) return sqlite3_bind_int(pStmt, i, 0);
  if( cJSON_IsString(p) ) return sqlite3_bind_text(pStmt, i, p->valuestring, -1, SQLITE_TRANSIENT);
  if( cJSON_IsNumber(p) ){
    double r = p->valuedouble;
    /* -0 is REAL -0.0, as results write it: no integer has its sign. */
    if( r==floor(r) && fabs(r)<=(double)DOSQL_MAX_SAFE_INTEGER && !(r==0.0 && signbit(r)) ){
      return sqlite3_bind_int64(pStmt, i, (sqlite3_int64)r);
    }
    return sqlite3_bind_double(pStmt, i, r);
  }
  if( cJSON_IsObject(p) ) return bindTagged(pStmt, i, p, pzErr);
  *pzErr = sqlite3_mprintf("parameter %d: arrays cannot be bound "
                           "(pass JSON text as a string and use json())", i);
  return SQLITE_MISMATCH;
}

/* Order of the members of a params object: by key. */
static int compareMembers(const void *a, const void *b){
  return strcmp((*(const cJSON *const*)a)->string, (*(const cJSON *const*)b)->string);
}

/* The index in aMember (n members sorted by key) of the member keyed zKey, or -1. */
static int findMember(const cJSON **aMember, int n, const char *zKey){
  int lo = 0, hi = n-1;
  while( lo<=hi ){
    int mid = lo + (hi-lo)/2;
    int c = strcmp(aMember[mid]->string, zKey);
    if( c==0 ) return mid;
    if( c<0 ) lo = mid+1; else hi = mid-1;
  }
  return -1;
}

/* Whether a parameter of pStmt is numbered (?NNN): then the unnamed slots below
** it are its numbering, not '?' the SQL wrote. */
static int numbersParams(sqlite3_stmt *pStmt, int nParam){
  int i;
  for(i=1; i<=nParam; i++){
    const char *zName = sqlite3_bind_parameter_name(pStmt, i);
    if( zName && zName[0]=='?' ) return 1;
  }
  return 0;
}

/* The statement's parameter that the bare name zName also names (":x", "@x" or
** "$x" for "x"), or 0. */
static const char *prefixedParameter(sqlite3_stmt *pStmt, const char *zName){
  static const char azPrefix[] = ":@$";
  int i;
  for(i=0; i<3; i++){
    char *zFull = sqlite3_mprintf("%c%s", azPrefix[i], zName);
    int iParam = zFull ? sqlite3_bind_parameter_index(pStmt, zFull) : 0;
    sqlite3_free(zFull);
    if( iParam>0 ) return sqlite3_bind_parameter_name(pStmt, iParam);
  }
  return 0;
}

/*
** Bind named parameters from an object. A parameter ":x" (or "@x", "$x") takes
** the member keyed ":x", else the one keyed "x". The members are sorted once,
** so binding n parameters costs O(n log n), not a lookup of O(n) each.
*/
static int bindNamed(sqlite3_stmt *pStmt, Budget *pBudget, const cJSON *pParams, char **pzErr){
  int nParam = sqlite3_bind_parameter_count(pStmt);
  int nMember = cJSON_GetArraySize(pParams), nUsed = 0, i, rc = SQLITE_OK;
  const cJSON **aMember = sqlite3_malloc64(sizeof(*aMember) * (sqlite3_uint64)(nMember+1));
  unsigned char *aUsed = sqlite3_malloc64((sqlite3_uint64)nMember + 1);
  const cJSON *p;
  if( aMember==0 || aUsed==0 ){
    rc = SQLITE_NOMEM;
    goto done;
  }
  for(i=0, p=pParams->child; p; p=p->next) aMember[i++] = p;
  qsort((void*)aMember, (size_t)nMember, sizeof(*aMember), compareMembers);
  memset(aUsed, 0, (size_t)nMember + 1);
  for(i=1; i<=nParam && rc==SQLITE_OK; i++){
    const char *zName = sqlite3_bind_parameter_name(pStmt, i);
    int iMember;
    if( zName==0 ){
      *pzErr = numbersParams(pStmt, nParam)
          ? sqlite3_mprintf("the statement numbers its parameters (?NNN) but params is an object: "
                            "give an array, ?NNN taking its NNN-th value")
          : sqlite3_mprintf("parameter %d is positional (?) but params is an object", i);
      rc = SQLITE_MISMATCH;
      break;
    }
    iMember = findMember(aMember, nMember, zName);
    if( iMember<0 ) iMember = findMember(aMember, nMember, zName+1);
    if( iMember<0 ){
      *pzErr = sqlite3_mprintf("no value for parameter %s", zName);
      rc = SQLITE_MISMATCH;
      break;
    }
    if( !aUsed[iMember] ) nUsed++;
    aUsed[iMember] = 1;
    rc = bindValue(pStmt, pBudget, i, aMember[iMember], pzErr);
  }
  if( rc==SQLITE_OK && nUsed!=nMember ){
    const char *zUnused, *zAlso;
    for(i=0; i<nMember && aUsed[i]; i++){}
    zUnused = i<nMember ? aMember[i]->string : "";
    zAlso = prefixedParameter(pStmt, zUnused);
    *pzErr = zAlso
        ? sqlite3_mprintf("params gives the parameter %.200s twice, as %.200s and as %.200s: give it once",
                          zAlso, zUnused, zAlso)
        : sqlite3_mprintf("params names a parameter the statement does not have: %.200s", zUnused);
    rc = SQLITE_MISMATCH;
  }
done:
  sqlite3_free((void*)aMember);
  sqlite3_free(aUsed);
  return rc;
}

int jsonBindParams(sqlite3_stmt *pStmt, const cJSON *pParams, char **pzErr){
  Budget *pBudget = budgetOf(sqlite3_db_handle(pStmt));
  int nParam = sqlite3_bind_parameter_count(pStmt);
  int i, rc = SQLITE_OK;
  *pzErr = 0;
  if( pParams==0 || cJSON_IsNull(pParams) ){
    if( nParam==0 ) return SQLITE_OK;
    *pzErr = sqlite3_mprintf("the statement has %d parameter%s but no params were given",
                             nParam, nParam==1 ? "" : "s");
    return SQLITE_MISMATCH;
  }
  if( cJSON_IsArray(pParams) ){
    int nGiven = cJSON_GetArraySize(pParams);
    const cJSON *p;
    if( nGiven!=nParam ){
      *pzErr = sqlite3_mprintf("%d param%s given but the statement has %d parameter%s",
                               nGiven, nGiven==1 ? "" : "s", nParam, nParam==1 ? "" : "s");
      return SQLITE_MISMATCH;
    }
    for(i=1, p=pParams->child; p && rc==SQLITE_OK; i++, p=p->next){
      rc = bindValue(pStmt, pBudget, i, p, pzErr);
    }
    return rc;
  }
  if( cJSON_IsObject(pParams) ) return bindNamed(pStmt, pBudget, pParams, pzErr);
  *pzErr = sqlite3_mprintf("params must be an array or an object");
  return SQLITE_MISMATCH;
}

/************************************************************** Hrana ***/

/* Bind one Hrana value ({"type": ..., "value"|"base64": ...}) to parameter i,
** charging the CPU budget as bindValue() does. zWhat names the argument. */
static int bindHranaValue(sqlite3_stmt *pStmt, Budget *pBudget, int i, const cJSON *p,
                          const char *zWhat, char **pzErr){
  const cJSON *pType = cJSON_GetObjectItemCaseSensitive(p, "type");
  const cJSON *pValue = cJSON_GetObjectItemCaseSensitive(p, "value");
  const char *zType = cJSON_IsString(pType) ? pType->valuestring : "";
  if( strcmp(zType, "blob")==0 ) pValue = cJSON_GetObjectItemCaseSensitive(p, "base64");
  if( pBudget && budgetCharge(pBudget, 1 + (cJSON_IsString(pValue)
        ? (sqlite3_int64)strlen(pValue->valuestring)/DOSQL_CPU_BYTES_PER_UNIT : 0)) ){
    return SQLITE_INTERRUPT;
  }
  if( strcmp(zType, "null")==0 ) return sqlite3_bind_null(pStmt, i);
  if( strcmp(zType, "integer")==0 ){
    sqlite3_int64 v;
    if( cJSON_IsString(pValue) && parseInt64(pValue->valuestring, &v) ) return sqlite3_bind_int64(pStmt, i, v);
    if( cJSON_IsNumber(pValue) && pValue->valuedouble==floor(pValue->valuedouble)
     && fabs(pValue->valuedouble)<=(double)DOSQL_MAX_SAFE_INTEGER ){
      return sqlite3_bind_int64(pStmt, i, (sqlite3_int64)pValue->valuedouble);
    }
    *pzErr = sqlite3_mprintf("%s: an integer's value must be a decimal string of a 64-bit integer", zWhat);
    return SQLITE_MISMATCH;
  }
  if( strcmp(zType, "float")==0 && cJSON_IsNumber(pValue) ){
    return sqlite3_bind_double(pStmt, i, pValue->valuedouble);
  }
  if( strcmp(zType, "text")==0 && cJSON_IsString(pValue) ){
    return sqlite3_bind_text(pStmt, i, pValue->valuestring, -1, SQLITE_TRANSIENT);
  }
  if( strcmp(zType, "blob")==0 && cJSON_IsString(pValue) ){
    unsigned char *a;
    int n = base64Decode(pValue->valuestring, &a);
    if( n==-2 ) return SQLITE_NOMEM;
    if( n>=0 ) return sqlite3_bind_blob(pStmt, i, a, n, sqlite3_free);
    *pzErr = sqlite3_mprintf("%s: a blob's base64 is not valid base64", zWhat);
    return SQLITE_MISMATCH;
  }
  *pzErr = sqlite3_mprintf("%s must be {\"type\":\"null\"}, or of type integer, float or text "
                           "with a \"value\", or blob with \"base64\"", zWhat);
  return SQLITE_MISMATCH;
}

/* Whether a Hrana argument's name is written without a parameter's prefix. */
static int hranaNameIsBare(const char *zName){
  return zName[0]!=0 && strchr(":@$?", zName[0])==0;
}

/* Bind the Hrana named argument p (bind its value) to every parameter its name
** names, marking each in aBound: the one spelt so, or for a name without a
** prefix each of ":name", "@name" and "$name" the statement has (as sqld does:
** a statement may spell one name several ways). 0 parameters: SQLITE_MISMATCH. */
static int bindHranaNamed(sqlite3_stmt *pStmt, Budget *pBudget, const cJSON *p,
                          unsigned char *aBound, char **pzErr){
  static const char aPrefix[] = ":@$";
  const char *zName = cJSON_GetObjectItemCaseSensitive(p, "name")->valuestring;
  const cJSON *pValue = cJSON_GetObjectItemCaseSensitive(p, "value");
  int bBare = hranaNameIsBare(zName);
  int i, nBound = 0, rc = SQLITE_OK;
  char *zWhat = sqlite3_mprintf("named arg %s", zName);
  if( zWhat==0 ) return SQLITE_NOMEM;
  for(i=0; rc==SQLITE_OK && i<(bBare ? 3 : 1); i++){
    char *zSpelt = bBare ? sqlite3_mprintf("%c%s", aPrefix[i], zName) : sqlite3_mprintf("%s", zName);
    int iParam = zSpelt ? sqlite3_bind_parameter_index(pStmt, zSpelt) : 0;
    if( zSpelt==0 ) rc = SQLITE_NOMEM;
    sqlite3_free(zSpelt);
    if( iParam==0 ) continue;
    rc = bindHranaValue(pStmt, pBudget, iParam, pValue, zWhat, pzErr);
    aBound[iParam] = 1;
    nBound++;
  }
  sqlite3_free(zWhat);
  if( rc==SQLITE_OK && nBound==0 ){
    *pzErr = sqlite3_mprintf("the statement has no parameter named %s", zName);
    rc = SQLITE_MISMATCH;
  }
  return rc;
}

int jsonBindHranaArgs(sqlite3_stmt *pStmt, const cJSON *pArgs, const cJSON *pNamed, char **pzErr){
  Budget *pBudget = budgetOf(sqlite3_db_handle(pStmt));
  int nParam = sqlite3_bind_parameter_count(pStmt);
  int i, bPrefixed, rc = SQLITE_OK;
  unsigned char *aBound;
  const cJSON *p;
  *pzErr = 0;
  if( (pArgs && !cJSON_IsNull(pArgs) && !cJSON_IsArray(pArgs))
   || (pNamed && !cJSON_IsNull(pNamed) && !cJSON_IsArray(pNamed)) ){
    *pzErr = sqlite3_mprintf("args and named_args must be arrays");
    return SQLITE_MISMATCH;
  }
  if( cJSON_GetArraySize(pArgs)>nParam ){
    *pzErr = sqlite3_mprintf("%d args given but the statement has %d parameter%s",
                             cJSON_GetArraySize(pArgs), nParam, nParam==1 ? "" : "s");
    return SQLITE_MISMATCH;
  }
  for(p=pNamed ? pNamed->child : 0; p; p=p->next){
    if( !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p, "name")) ){
      *pzErr = sqlite3_mprintf("each of named_args must be {\"name\": string, \"value\": value}");
      return SQLITE_MISMATCH;
    }
  }
  aBound = sqlite3_malloc64((sqlite3_uint64)nParam + 1);
  if( aBound==0 ) return SQLITE_NOMEM;
  memset(aBound, 0, (size_t)nParam + 1);
  for(i=1, p=pArgs ? pArgs->child : 0; p && rc==SQLITE_OK; i++, p=p->next){
    char zWhat[32];
    sqlite3_snprintf(sizeof(zWhat), zWhat, "arg %d", i-1);
    rc = bindHranaValue(pStmt, pBudget, i, p, zWhat, pzErr);
    aBound[i] = 1;
  }
  /* Names without a prefix first: a name spelt as the statement spells it
  ** (":a") wins over the bare one ("a") for that parameter, as in sqld. */
  for(bPrefixed=0; bPrefixed<2; bPrefixed++){
    for(p=pNamed ? pNamed->child : 0; p && rc==SQLITE_OK; p=p->next){
      if( hranaNameIsBare(cJSON_GetObjectItemCaseSensitive(p, "name")->valuestring)!=bPrefixed ){
        rc = bindHranaNamed(pStmt, pBudget, p, aBound, pzErr);
      }
    }
  }
  for(i=1; i<=nParam && rc==SQLITE_OK; i++){
    if( aBound[i] ) continue;
    if( sqlite3_bind_parameter_name(pStmt, i) ){
      *pzErr = sqlite3_mprintf("no value for parameter %s", sqlite3_bind_parameter_name(pStmt, i));
    }else{
      *pzErr = sqlite3_mprintf("no value for parameter %d: the statement has %d", i, nParam);
    }
    rc = SQLITE_MISMATCH;
  }
  sqlite3_free(aBound);
  return rc;
}
