/*
** decimal.c — decimal numbers to doubles, correctly rounded (contract in decimal.h).
*/
#include <stdlib.h>

#include "decimal.h"
#include "sqlite3.h"

/* 10^0 to 10^22: the powers of ten a double holds exactly. */
static const double aPow10Exact[DECIMAL_EXACT_POW10+1] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* The largest n decimalExact() takes. */
#define DECIMAL_EXACT_MAX ((long long)1<<53)

double decimalPow10(int k){
  return aPow10Exact[k];
}

double decimalExact(long long n, int k){
  return k>=0 ? (double)n*aPow10Exact[k] : (double)n/aPow10Exact[-k];
}

double decimalScaled(unsigned long long n, int k){
  char zText[48];
  if( n<=(unsigned long long)DECIMAL_EXACT_MAX && k>=-DECIMAL_EXACT_POW10 && k<=DECIMAL_EXACT_POW10 ){
    return decimalExact((long long)n, k);
  }
  sqlite3_snprintf(sizeof(zText), zText, "%llue%d", n, k);
  return strtod(zText, 0);
}

static int isDigit(char c){ return c>='0' && c<='9'; }
static int isSpace(char c){ return c==' ' || (c>='\t' && c<='\r'); }

double decimalValue(const char *z){
  const char *zStart = z;
  long long m = 0;
  int k = 0, e = 0, bPoint = 0, bNeg, bNegE;
  double v;
  while( isSpace(*z) ) z++;
  bNeg = *z=='-';
  if( *z=='-' || *z=='+' ) z++;
  for(;; z++){
    if( *z=='.' && !bPoint ){ bPoint = 1; continue; }
    if( !isDigit(*z) ) break;
    if( m>=DECIMAL_EXACT_MAX/10 ) return strtod(zStart, 0);
    m = m*10 + (*z-'0');
    k -= bPoint;
  }
  if( *z=='e' || *z=='E' ){
    z++;
    bNegE = *z=='-';
    if( *z=='-' || *z=='+' ) z++;
    for(; isDigit(*z); z++){
      if( e>DECIMAL_EXACT_POW10*2 ) return strtod(zStart, 0);
      e = e*10 + (*z-'0');
    }
    k += bNegE ? -e : e;
  }
  if( k<-DECIMAL_EXACT_POW10 || k>DECIMAL_EXACT_POW10 ) return strtod(zStart, 0);
  v = decimalExact(m, k);
  return bNeg ? -v : v;
}
