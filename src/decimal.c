/*
** decimal.c — decimal text to a double, correctly rounded (contract in decimal.h).
*/
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "sqlite3.h"

/* 10^0 to 10^22: the powers of ten a double holds exactly. */
static const double aPow10Exact[DECIMAL_EXACT_POW10+1] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

double decimalPow10(int k){
  return aPow10Exact[k];
}

double decimalExact(long long n, int k){
  return k>=0 ? (double)n*aPow10Exact[k] : (double)n/aPow10Exact[-k];
}

static int isDigit(char c){ return c>='0' && c<='9'; }
static int isSpace(char c){ return c==' ' || (c>='\t' && c<='\r'); }

/* strtod() of z's first n bytes, copied so that it reads nothing past them. */
static double strtodOf(const char *z, long long n){
  char aBuf[64];
  char *zCopy = n<(long long)sizeof(aBuf) ? aBuf : sqlite3_malloc64((sqlite3_uint64)n+1);
  double r;
  if( zCopy==0 ) return 0.0;
  memcpy(zCopy, z, (size_t)n);
  zCopy[n] = 0;
  r = strtod(zCopy, 0);
  if( zCopy!=aBuf ) sqlite3_free(zCopy);
  return r;
}

double decimalValue(const char *z, long long n){
  long long i = 0, m = 0;
  int k = 0, bPoint = 0, bNeg;
  double v;
  while( i<n && isSpace(z[i]) ) i++;
  bNeg = i<n && z[i]=='-';
  if( i<n && (z[i]=='-' || z[i]=='+') ) i++;
  for(; i<n; i++){
    if( z[i]=='.' && !bPoint ){ bPoint = 1; continue; }
    if( !isDigit(z[i]) ) break;
    if( m>=((long long)1<<53)/10 ) return strtodOf(z, n);
    m = m*10 + (z[i]-'0');
    k -= bPoint;
  }
  if( i<n && (z[i]=='e' || z[i]=='E') ){
    int e = 0, bNegE;
    i++;
    bNegE = i<n && z[i]=='-';
    if( i<n && (z[i]=='-' || z[i]=='+') ) i++;
    for(; i<n && isDigit(z[i]); i++){
      if( e>DECIMAL_EXACT_POW10*2 ) return strtodOf(z, n);
      e = e*10 + (z[i]-'0');
    }
    k += bNegE ? -e : e;
  }
  if( k<-DECIMAL_EXACT_POW10 || k>DECIMAL_EXACT_POW10 ) return strtodOf(z, n);
  v = decimalExact(m, k);
  return bNeg ? -v : v;
}
