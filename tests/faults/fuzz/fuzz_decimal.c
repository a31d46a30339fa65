/*
** fuzz_decimal.c — libFuzzer target: decimal text to a double (src/decimal.c),
** which SQL's text-to-REAL conversions take their value from (src/sqlite/unit.c),
** against the C library's strtod() (glibc's, correctly rounded).
**
** An input is any bytes, read as decimalValue() reads them: spaces, a sign,
** digits, a point and digits, an exponent. The reference is strtod() of that span
** alone, copied, so that it sees no hexadecimal or "inf" after it. The two must be
** the same double (a zero of either sign is a zero: SQL never takes a zero's value
** from this). And SQL must read it so too: CAST of the span, when it holds a digit,
** answers that double (a finding of the check "decimal").
*/
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "fuzz.h"
#include "sqlite3.h"

#define FUZZ_MAX_TEXT 400

/* The bytes of z (n of them) a number may be: as decimalValue() reads one. */
static size_t numberLength(const char *z, size_t n){
  size_t i = 0;
  while( i<n && (z[i]==' ' || (z[i]>='\t' && z[i]<='\r')) ) i++;
  if( i<n && (z[i]=='+' || z[i]=='-') ) i++;
  while( i<n && z[i]>='0' && z[i]<='9' ) i++;
  if( i<n && z[i]=='.' ) i++;
  while( i<n && z[i]>='0' && z[i]<='9' ) i++;
  if( i<n && (z[i]=='e' || z[i]=='E') ){
    i++;
    if( i<n && (z[i]=='+' || z[i]=='-') ) i++;
    while( i<n && z[i]>='0' && z[i]<='9' ) i++;
  }
  return i;
}

/* A connection whose one statement reads a text as SQL reads it into a REAL. */
static sqlite3_stmt *pCast = 0;

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  sqlite3 *db = 0;
  (void)pArgc; (void)pArgv;
  fuzzInit();
  if( sqlite3_open(":memory:", &db)!=SQLITE_OK
   || sqlite3_prepare_v2(db, "SELECT CAST(?1 AS REAL)", -1, &pCast, 0)!=SQLITE_OK ){
    fuzzFail(0, "cannot prepare the CAST: %s", sqlite3_errmsg(db));
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  char zText[FUZZ_MAX_TEXT+1];
  size_t n = numberLength((const char*)aData, nData < FUZZ_MAX_TEXT ? nData : FUZZ_MAX_TEXT);
  double got, want;
  memcpy(zText, aData, n);
  zText[n] = 0;
  got = decimalValue(zText);
  want = strtod(zText, 0);
  if( got!=want ) fuzzFail("decimal", "\"%s\": %.17g, strtod() %.17g", zText, got, want);
  if( strpbrk(zText, "0123456789") ){
    double cast;
    sqlite3_bind_text(pCast, 1, zText, (int)n, SQLITE_STATIC);
    if( sqlite3_step(pCast)!=SQLITE_ROW ) fuzzFail(0, "the CAST did not answer");
    cast = sqlite3_column_double(pCast, 0);
    sqlite3_reset(pCast);
    if( cast!=want ) fuzzFail("decimal", "CAST('%s' AS REAL): %.17g, strtod() %.17g", zText, cast, want);
  }
  return 0;
}
