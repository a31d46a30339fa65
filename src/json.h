/*
** json.h — the lossless value encoding between JSON and SQLite.
**
** Results:  NULL -> null; INTEGER -> a number when |v| <= 2^53-1, else
**           {"$bigint":"<decimal>"}; REAL -> the shortest number that reads back
**           as the same double, ±Infinity as {"$real":"Infinity"|"-Infinity"};
**           TEXT -> a string (invalid UTF-8 becomes U+FFFD); BLOB -> {"$blob":"<base64>"}.
** Params:   null, true/false (1/0), numbers (an integral number with
**           |v| <= 2^53-1 binds as INTEGER, any other as REAL), strings, the
**           tagged objects above, which bind losslessly, and {"$text":"<base64>"}
**           for TEXT a JSON string cannot carry here (NUL characters).
**
** Hrana (libSQL's protocol, hrana.h) types every value: {"type":"null"},
** {"type":"integer","value":"<decimal>"}, {"type":"float","value":n} (±1e999
** for ±Infinity), {"type":"text","value":s}, {"type":"blob","base64":s}.
*/
#ifndef DOSQL_JSON_H
#define DOSQL_JSON_H

#include "sqlite3.h"
#include "cJSON.h"

/* The tags of values JSON cannot carry as they are. */
#define JSON_TAG_BIGINT "$bigint"
#define JSON_TAG_BLOB   "$blob"
#define JSON_TAG_REAL   "$real"
#define JSON_TAG_TEXT   "$text"   /* parameters only: UTF-8 bytes, in base64 */

/* Largest integer a JSON number carries exactly (2^53 - 1). */
#define DOSQL_MAX_SAFE_INTEGER 9007199254740991LL

/* Length of the valid UTF-8 sequence at z (n bytes left, n>=1), or 0 when
** invalid (overlong, a surrogate, past U+10FFFF, cut short) or plain ASCII. */
int jsonUtf8Length(const unsigned char *z, int n);

/* Append n bytes of z (n<0: up to its NUL) as a JSON string. */
void jsonAppendString(sqlite3_str *pOut, const char *z, int n);

/* The bytes jsonAppendString() appends for the n bytes of z. */
sqlite3_int64 jsonStringLength(const char *z, int n);

/* Write the n bytes of zIn (0 where n is 0) to z as a JSON string, n+2 bytes,
** and return n+2; or return 0 where a byte needs escaping (jsonAppendString()
** writes those), having written up to n+2 bytes that are not to be kept. For
** writers that build text in a buffer of their own. */
int jsonPutPlainString(char *z, const char *zIn, int n);

/* Append an integer: a number, or {"$bigint":...} outside the safe range. */
void jsonAppendInteger(sqlite3_str *pOut, sqlite3_int64 v);

/* Most bytes jsonPutInteger() writes: {"$bigint":"-9223372036854775808"}. */
#define JSON_INTEGER_MAX 34

/* Write v to z as jsonAppendInteger() appends it, at most JSON_INTEGER_MAX
** bytes, unterminated; return the length. */
int jsonPutInteger(char *z, sqlite3_int64 v);

/* Append one value (a column of a row, or a value the preupdate hook gives). */
void jsonAppendValue(sqlite3_str *pOut, sqlite3_value *pVal);

/* Append column i of the current row of pStmt. */
void jsonAppendColumn(sqlite3_str *pOut, sqlite3_stmt *pStmt, int i);

/* What every answer writes for a value, at the least: a text's JSON string and
** a blob's base64 in quotes; 0 for a number or NULL, which take little. */
sqlite3_int64 jsonValueLength(sqlite3_value *pVal);

/* Whether p is a value as jsonAppendValue() writes one: null, a finite number, a
** string, or a tag whose text its tag reads ($bigint a 64-bit integer, $blob
** base64, $real ±Infinity or -0). An imported change log is trusted no further. */
int jsonIsWrittenValue(const cJSON *p);

/*
** Bind params (NULL, a JSON array for positional or an object for named
** parameters) to every parameter of pStmt. Returns SQLITE_OK, SQLITE_NOMEM,
** SQLITE_INTERRUPT when the request's CPU budget (budget.h) ran out, or
** SQLITE_MISMATCH with *pzErr set (sqlite3_malloc'd) to say which parameter
** and why.
*/
int jsonBindParams(sqlite3_stmt *pStmt, const cJSON *pParams, char **pzErr);

/* Append column i of the current row of pStmt as a Hrana value. */
void jsonAppendHranaColumn(sqlite3_str *pOut, sqlite3_stmt *pStmt, int i);

/*
** Bind Hrana's args (positional, from parameter 1) and named_args ([{name,
** value}]: a name without a prefix also finds :name, @name and $name); either
** may be 0. Every parameter must get a value. Returns as jsonBindParams().
*/
int jsonBindHranaArgs(sqlite3_stmt *pStmt, const cJSON *pArgs, const cJSON *pNamed, char **pzErr);

#endif /* DOSQL_JSON_H */
