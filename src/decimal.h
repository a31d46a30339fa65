/*
** decimal.h — decimal numbers to doubles, correctly rounded: as strtod() reads
** them, nearest and ties to even, which SQLite 3.52's own conversion does not
** always do (src/sqlite/unit.c takes its values from here).
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

/* n*10^k, correctly rounded, for any n and k: by decimalExact() when it can be,
** else by strtod() of its digits (no allocation: at most 20 digits and an exponent;
** no stdio either, which the module does not link). */
double decimalScaled(unsigned long long n, int k);

/*
** The double that the number at the start of the NUL-terminated text z is,
** correctly rounded, as a number is written in SQL and JSON: spaces, a sign,
** digits, a point and digits, an exponent; what follows is not read. Exactly by
** decimalExact() when it can be (most decimals of 15 digits or fewer), else by
** strtod(), which then reads the same bytes (a text "0x..." is the number 0 here
** and never reaches it).
*/
double decimalValue(const char *z);

#endif /* DOSQL_DECIMAL_H */
