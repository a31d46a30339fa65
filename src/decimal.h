/*
** decimal.h — decimal text to a double, correctly rounded: as strtod() reads it,
** which SQLite 3.52's own parser does not always do (src/sqlite/unit.c).
*/
#ifndef DOSQL_DECIMAL_H
#define DOSQL_DECIMAL_H

/* The largest k for which 10^k is a double exactly. */
#define DECIMAL_EXACT_POW10 22

/* 10^k, exactly, for 0 <= k <= DECIMAL_EXACT_POW10. */
double decimalPow10(int k);

/* n*10^k as strtod() reads it, for 0 <= n <= 2^53 and |k| <= DECIMAL_EXACT_POW10:
** both operands are exact, so the one multiplication or division rounds once. */
double decimalExact(long long n, int k);

/*
** The double the first n bytes of z are, correctly rounded (ties to even), as a
** number is written in SQL and JSON: spaces, a sign, digits, a point and digits,
** an exponent; what follows that is not read (nor need z end at n). Exactly by
** decimalExact() when it can be (most decimals of 15 digits or fewer), else by
** strtod() over a copy of the bytes (which never sees a hexadecimal or "inf").
** 0.0 when out of memory for a copy of a long text (SQLite's malloc fails alike).
*/
double decimalValue(const char *z, long long n);

#endif /* DOSQL_DECIMAL_H */
