/*
** test_values.c — the lossless value encoding (json.c), both ways, for every
** SQLite type, and the errors for values that cannot be bound (or would not be:
** /exec binds none).
*/
#include <math.h>

#include "harness.h"
#include "json.h"

/* The body of /query {sql, params} as text, for exact comparison. */
static char *queryBody(Conn *pConn, const char *zSql, const char *zParams){
  cJSON *pSql = cJSON_CreateString(zSql);
  char *zSqlJson = cJSON_PrintUnformatted(pSql);
  char *zReq;
  Answer a;
  char *zOut;
  /* params go in as written: printing them with cJSON would round numbers */
  zReq = sqlite3_mprintf("{\"sql\":%s,\"params\":%s}", zSqlJson, zParams ? zParams : "null");
  cJSON_free(zSqlJson);
  cJSON_Delete(pSql);
  a = ok(pConn, "/query", zReq);
  sqlite3_free(zReq);
  zOut = strdup(a.zBody ? a.zBody : "");
  answerFree(&a);
  return zOut;
}

#define CHECK_QUERY(conn, sql, params, expect) do{ \
    char *z_ = queryBody(conn, sql, params); CHECK_STR(z_, expect); free(z_); }while(0)

/* Around the longest text json.c writes in one append (62 bytes): at it, past
** it, a character of two bytes across it, an escape after a long plain run. */
static void text_around_the_one_append_bound(Conn *pConn){
  char *zWant = sqlite3_mprintf(
      "{\"rows\":[{\"a\":\"%.62c\",\"b\":\"%.63c\",\"c\":\"%.61c\u00e9\",\"d\":\"%.70c\\tx\"}]}",
      'a', 'b', 'c', 'd');
  CHECK_QUERY(pConn, "SELECT printf('%.62c', 'a') AS a, printf('%.63c', 'b') AS b,"
      " printf('%.61c', 'c') || '\u00e9' AS c, printf('%.70c', 'd') || char(9) || 'x' AS d", 0, zWant);
  sqlite3_free(zWant);
}

static void results_encode_every_type(void){
  Conn c;
  openConn(&c);
  CHECK_QUERY(&c, "SELECT NULL AS n, 42 AS i, -7 AS neg, 1.5 AS r, 'héllo ☃' AS t", 0,
      "{\"rows\":[{\"n\":null,\"i\":42,\"neg\":-7,\"r\":1.5,\"t\":\"héllo ☃\"}]}");
  CHECK_QUERY(&c, "SELECT 9007199254740991 AS a, 9007199254740992 AS b, -9223372036854775808 AS c", 0,
      "{\"rows\":[{\"a\":9007199254740991,\"b\":{\"$bigint\":\"9007199254740992\"},"
      "\"c\":{\"$bigint\":\"-9223372036854775808\"}}]}");
  /* Every digit position and sign, at and past the bounds of exact doubles. */
  CHECK_QUERY(&c, "SELECT 0 AS z, -1 AS m, 10 AS t, -9007199254740991 AS lo, -9007199254740992 AS below,"
      " 9223372036854775807 AS top", 0,
      "{\"rows\":[{\"z\":0,\"m\":-1,\"t\":10,\"lo\":-9007199254740991,"
      "\"below\":{\"$bigint\":\"-9007199254740992\"},\"top\":{\"$bigint\":\"9223372036854775807\"}}]}");
  /* Where the formatting steps from 64-bit to 32-bit division, and by digit pairs. */
  CHECK_QUERY(&c, "SELECT 9 AS a, 99 AS b, 100 AS c, 4294967295 AS d, 4294967296 AS e, -4294967296 AS f,"
      " 1000000007 AS g, 123456789012 AS h", 0,
      "{\"rows\":[{\"a\":9,\"b\":99,\"c\":100,\"d\":4294967295,\"e\":4294967296,\"f\":-4294967296,"
      "\"g\":1000000007,\"h\":123456789012}]}");
  CHECK_QUERY(&c, "SELECT x'' AS e, x'00' AS one, x'0001' AS two, x'000102' AS three, x'fffefd7f' AS four", 0,
      "{\"rows\":[{\"e\":{\"$blob\":\"\"},\"one\":{\"$blob\":\"AA==\"},\"two\":{\"$blob\":\"AAE=\"},"
      "\"three\":{\"$blob\":\"AAEC\"},\"four\":{\"$blob\":\"//79fw==\"}}]}");
  CHECK_QUERY(&c, "SELECT 0.1 AS a, 1e300 AS b, -2.5e-300 AS c, 1.0 AS d, 9e999 AS inf, -9e999 AS ninf", 0,
      "{\"rows\":[{\"a\":0.1,\"b\":1e+300,\"c\":-2.5e-300,\"d\":1,"
      "\"inf\":{\"$real\":\"Infinity\"},\"ninf\":{\"$real\":\"-Infinity\"}}]}");
  CHECK_QUERY(&c, "SELECT -0.0 AS z, 0.0 AS p", 0, "{\"rows\":[{\"z\":-0,\"p\":0}]}");
  /* LIKE and GLOB read a blob as its text, and NULL stays NULL, as in Durable
  ** Object SQLite (SQLITE_LIKE_DOESNT_MATCH_BLOBS would answer 0 for all four). */
  CHECK_QUERY(&c, "SELECT x'616263' LIKE 'abc' AS l, 'abc' LIKE x'616263' AS r, x'616263' GLOB 'a*' AS g,"
      " x'00' LIKE NULL AS n", 0, "{\"rows\":[{\"l\":1,\"r\":1,\"g\":1,\"n\":null}]}");
  CHECK_QUERY(&c, "SELECT 'a\"b\\c' || char(10) || char(1) AS s", 0,
      "{\"rows\":[{\"s\":\"a\\\"b\\\\c\\n\\u0001\"}]}");
  /* Text that is not UTF-8 becomes U+FFFD rather than invalid JSON. */
  CHECK_QUERY(&c, "SELECT CAST(x'61ff62' AS TEXT) AS s", 0,
      "{\"rows\":[{\"s\":\"a\\ufffdb\"}]}");
  text_around_the_one_append_bound(&c);
  connClose(&c);
}

static void reals_read_back_exactly(void){
  Conn c;
  static const char *az[] = { "0.30000000000000004", "1.7976931348623157e+308",
                              "5e-324", "123456789.12345678", "-0.000001" };
  unsigned i;
  openConn(&c);
  for(i=0; i<sizeof(az)/sizeof(az[0]); i++){
    char zSql[100];
    char *zBody;
    cJSON *pBody, *pRow;
    snprintf(zSql, sizeof(zSql), "SELECT %s AS r", az[i]);
    zBody = queryBody(&c, zSql, 0);
    pBody = cJSON_Parse(zBody);
    pRow = cJSON_GetArrayItem(cJSON_GetObjectItem(pBody, "rows"), 0);
    CHECK(pRow && cJSON_GetObjectItem(pRow, "r")->valuedouble==strtod(az[i], 0));
    if( strlen(zBody)>40 ) printf("  not the shortest form: %s\n", zBody);
    cJSON_Delete(pBody);
    free(zBody);
  }
  connClose(&c);
}

/* What reals were written as before the short path (json.c jsonPutShortReal):
** the shortest of "%!.15g" to "%!.17g" that strtod() reads back as r, ".0" cut. */
static void referenceReal(char *z, int n, double r){
  int nDigit;
  char *zDot;
  for(nDigit=15; nDigit<=17; nDigit++){
    sqlite3_snprintf(n, z, "%!.*g", nDigit, r);
    if( strtod(z, 0)==r ) break;
  }
  zDot = strstr(z, ".0");
  if( zDot && (zDot[2]==0 || zDot[2]=='e') ) memmove(zDot, zDot+2, strlen(zDot+2)+1);
}

/* xorshift64*: the same values on every run. */
static sqlite3_uint64 nextRandom(sqlite3_uint64 *pState){
  sqlite3_uint64 x = *pState;
  x ^= x>>12; x ^= x<<25; x ^= x>>27;
  *pState = x;
  return x*0x2545F4914F6CDD1DULL;
}

/* Every real is written as the text it was before the short path for decimals:
** short decimals of every size and sign, the edges of the path's range,
** computed reals (the long path, checked without strtod) and reals of random
** bits (mostly far outside that range: strtod). */
static void reals_are_written_as_before_the_short_path(void){
  static const double aEdge[] = {
    1e-4, 1.5e-4, 9.99e14, 999999999999999.0, 99999999999999.9, 123456789012345.6,
    12345678901234.56, 0.1, 0.2, 0.3, 0.30000000000000004, 7.5, 19.99, 1e15, 1e16, 1e-5,
    0.00009999999999999999, 100, 1e14, 0.0075, 2.5e-4, 4503599627370495.5,
  };
  Conn c;
  sqlite3_stmt *pStmt = 0;
  sqlite3_uint64 state = 0x9E3779B97F4A7C15ULL;
  int i, nDiffer = 0;
  openConn(&c);
  CHECK(sqlite3_prepare_v2(c.db, "SELECT ?", -1, &pStmt, 0)==SQLITE_OK);
  for(i=0; pStmt && i<300000; i++){
    double r;
    char zWant[64];
    char *zGot;
    sqlite3_str *pOut;
    if( i<(int)(sizeof(aEdge)/sizeof(aEdge[0])) ){
      r = aEdge[i];
    }else if( i%5==1 ){
      /* A computed real in the range most answers hold: 1/3, a square root, a tenth times three. */
      sqlite3_uint64 u = nextRandom(&state);
      double x = (double)(u % 2000000) / 64.0 + 1.0;
      r = (u>>40)%3==0 ? x/3.0 : (u>>40)%3==1 ? sqrt(x) : x*0.1*3;
    }else if( i%3!=0 ){
      /* A decimal of 1 to 17 digits with 0 to 9 after the point. */
      sqlite3_uint64 u = nextRandom(&state);
      static const double aScale[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
      sqlite3_int64 m = (sqlite3_int64)(u % 100000000000000000ULL) / (sqlite3_int64)aScale[(u>>60) % 10];
      r = (double)m / aScale[(u>>56) % 10];
    }else{
      sqlite3_uint64 u = nextRandom(&state);
      memcpy(&r, &u, sizeof(r));
      if( isnan(r) || isinf(r) ) continue;
    }
    if( i%2 ) r = -r;
    if( r==0.0 ) continue;
    referenceReal(zWant, (int)sizeof(zWant), r);
    sqlite3_bind_double(pStmt, 1, r);
    sqlite3_step(pStmt);
    pOut = sqlite3_str_new(0);
    jsonAppendValue(pOut, sqlite3_column_value(pStmt, 0));
    zGot = sqlite3_str_finish(pOut);
    sqlite3_reset(pStmt);
    if( zGot==0 || strcmp(zGot, zWant)!=0 ){
      if( nDiffer++<5 ) printf("  %.17g: written %s, before %s\n", r, zGot ? zGot : "(null)", zWant);
    }
    sqlite3_free(zGot);
  }
  CHECK(nDiffer==0);
  sqlite3_finalize(pStmt);
  connClose(&c);
}

/* The REAL of one SQL expression's result. */
static double realOf(Conn *pConn, const char *zSql){
  char *zBody = queryBody(pConn, zSql, 0);
  cJSON *pBody = cJSON_Parse(zBody);
  cJSON *pRow = cJSON_GetArrayItem(cJSON_GetObjectItem(pBody, "rows"), 0);
  double r = pRow && cJSON_IsNumber(pRow->child) ? pRow->child->valuedouble : -1.0;
  cJSON_Delete(pBody);
  free(zBody);
  return r;
}

/* A decimal reads as strtod() reads it, rounded to even at a tie, however SQL
** reads it (a literal, CAST, an affinity, a JSON number): SQLite 3.52's own
** parser rounds a tie up, and JavaScript writes whole doubles past 2^54 as
** such ties. What SQLite answers of a text that is not all a number stays. */
static void decimals_read_as_strtod_reads_them(void){
  static const char *az[] = {
    "9007199254740993", "9007199254740993.0", "25014204380734210", "-25014204380734210",
    "2.5014204380734210e16", "1e23", "8.589973e9", "123456789012345678901234567890",
    "0.1000000000000000055511151231257827", "4.9406564584124654e-324", "2.2250738585072011e-308",
    "1.7976931348623157e308", "3.14", "-0.000001", "1e-400",
    "2.4703282292062327209e-324",  /* more than 19 digits, just past half the least subnormal */
  };
  static const char *azForm[] = {
    "SELECT %s", "SELECT CAST('%s' AS REAL)", "SELECT json_extract('[%s]', '$[0]')", "SELECT '%s' * 1.0",
  };
  Conn c;
  unsigned i, j;
  sqlite3_uint64 state = 0x9e3779b97f4a7c15ULL;
  openConn(&c);
  for(i=0; i<sizeof(az)/sizeof(az[0]); i++){
    /* A literal or JSON number without a point or exponent that fits 64 bits is an INTEGER. */
    int bInteger = strpbrk(az[i], ".eE")==0 && strlen(az[i])<=19;
    for(j=bInteger ? 1 : 0; j<sizeof(azForm)/sizeof(azForm[0]); j++){
      char zSql[200];
      double r;
      if( bInteger && j==2 ) continue;
      snprintf(zSql, sizeof(zSql), azForm[j], az[i]);
      r = realOf(&c, zSql);
      if( r!=strtod(az[i], 0) ) printf("  %s: %.17g, not %.17g\n", zSql, r, strtod(az[i], 0));
      CHECK(r==strtod(az[i], 0));
    }
  }
  /* The shortest text of random doubles past 2^53, where ties are. */
  for(i=0; i<300; i++){
    char zText[40], zSql[80];
    double v = (double)(nextRandom(&state)>>11) * 64.0 * (double)(1 + i%1000);
    int n;
    for(n=15; n<=17; n++){
      snprintf(zText, sizeof(zText), "%.*g", n, v);
      if( strtod(zText, 0)==v ) break;
    }
    snprintf(zSql, sizeof(zSql), "SELECT CAST('%s' AS REAL)", zText);
    if( realOf(&c, zSql)!=v ) printf("  %s read as %.17g, not %.17g\n", zText, realOf(&c, zSql), v);
    CHECK(realOf(&c, zSql)==v);
  }
  /* What SQLite writes of a REAL as text reads back as it: printf's "%!.17g"
  ** shortens its text only when the shorter one reads back (2510231733300000256
  ** is not 2.5102317333e+18, a tie that reads as the even neighbour), and quote()
  ** checks its own. (JSON functions write 15 digits, which SQLite never made exact.) */
  for(i=0; i<3000; i++){
    char zSql[200];
    double v = i==0 ? 2510231733300000256.0 : (double)(nextRandom(&state)>>11) * (double)(1 + i%2000);
    int k;
    for(k=0; k<2; k++){
      sqlite3_snprintf(sizeof(zSql), zSql, k==0 ? "SELECT CAST(CAST(%!.17g AS TEXT) AS REAL)"
                                                 : "SELECT CAST(quote(%!.17g) AS REAL)", v);
      if( realOf(&c, zSql)!=v ) printf("  %s: %.17g\n", zSql, realOf(&c, zSql));
      CHECK(realOf(&c, zSql)==v);
    }
  }
  /* A text that is not all a number: its prefix, as SQLite reads it; no hexadecimal. */
  CHECK(realOf(&c, "SELECT CAST('1.5abc' AS REAL)")==1.5);
  CHECK(realOf(&c, "SELECT CAST(' 25014204380734210e0 x' AS REAL)")==strtod("25014204380734210", 0));
  CHECK(realOf(&c, "SELECT CAST('0x10' AS REAL)")==0.0);
  CHECK(realOf(&c, "SELECT CAST('1e' AS REAL)")==1.0);
  CHECK_QUERY(&c, "SELECT typeof(CAST('1.5abc' AS NUMERIC)) AS t, '12 ' + 0 AS n", 0, "{\"rows\":[{\"t\":\"real\",\"n\":12}]}");
  connClose(&c);
}

static void params_bind_every_type(void){
  Conn c;
  openConn(&c);
  CHECK_QUERY(&c, "SELECT typeof(?1) AS a, typeof(?2) AS b, ?2 AS bv, typeof(?3) AS c, ?3 AS cv,"
      " typeof(?4) AS d, typeof(?5) AS e, typeof(?6) AS f, ?6 AS fv",
      "[null, true, false, 3, 3.25, \"x\"]",
      "{\"rows\":[{\"a\":\"null\",\"b\":\"integer\",\"bv\":1,\"c\":\"integer\",\"cv\":0,"
      "\"d\":\"integer\",\"e\":\"real\",\"f\":\"text\",\"fv\":\"x\"}]}");
  CHECK_QUERY(&c, "SELECT ? AS big, typeof(?) AS t, ? AS neg",
      "[{\"$bigint\":\"9223372036854775807\"}, {\"$bigint\":\"1\"}, {\"$bigint\":\"-9223372036854775808\"}]",
      "{\"rows\":[{\"big\":{\"$bigint\":\"9223372036854775807\"},\"t\":\"integer\","
      "\"neg\":{\"$bigint\":\"-9223372036854775808\"}}]}");
  CHECK_QUERY(&c, "SELECT hex(?) AS h, typeof(?) AS t, length(?) AS n",
      "[{\"$blob\":\"AAEC/w==\"}, {\"$blob\":\"\"}, {\"$blob\":\"AAE=\"}]",
      "{\"rows\":[{\"h\":\"000102FF\",\"t\":\"blob\",\"n\":2}]}");
  CHECK_QUERY(&c, "SELECT ? > 1e308 AS pos, ? < -1e308 AS neg",
      "[{\"$real\":\"Infinity\"}, {\"$real\":\"-Infinity\"}]",
      "{\"rows\":[{\"pos\":1,\"neg\":1}]}");
  /* -0 is REAL -0.0, as results write it, plain or tagged (JSON.stringify(-0) is "0"). */
  CHECK_QUERY(&c, "SELECT ? AS a, typeof(?) AS t, ? AS b, typeof(?) AS u, ? AS z",
      "[-0, -0.0, {\"$real\":\"-0\"}, {\"$real\":\"-0\"}, 0]",
      "{\"rows\":[{\"a\":-0,\"t\":\"real\",\"b\":-0,\"u\":\"real\",\"z\":0}]}");
  /* Past 2^53 a plain JSON number is a real: exact integers need $bigint. */
  CHECK_QUERY(&c, "SELECT typeof(?) AS t", "[9007199254740993]", "{\"rows\":[{\"t\":\"real\"}]}");
  CHECK_QUERY(&c, "SELECT :a || @b || $c AS s", "{\":a\":\"x\",\"b\":\"y\",\"$c\":\"z\"}",
      "{\"rows\":[{\"s\":\"xyz\"}]}");
  connClose(&c);
}

static void values_round_trip_through_a_table(void){
  Conn c;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE v(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO v VALUES(?),(?),(?),(?),(?),(?)\",\"params\":"
      "[null, 12, -0.5, \"t\", {\"$bigint\":\"-9007199254740993\"}, {\"$blob\":\"3q2+7w==\"}]}");
  CHECK_QUERY(&c, "SELECT x FROM v ORDER BY rowid", 0,
      "{\"rows\":[{\"x\":null},{\"x\":12},{\"x\":-0.5},{\"x\":\"t\"},"
      "{\"x\":{\"$bigint\":\"-9007199254740993\"}},{\"x\":{\"$blob\":\"3q2+7w==\"}}]}");
  connClose(&c);
}

static void bad_params_are_rejected_with_reasons(void){
  static const char *az[] = {
    "{\"sql\":\"SELECT ?\",\"params\":[[1]]}",
    "{\"sql\":\"SELECT ?\",\"params\":[{\"a\":1}]}",
    "{\"sql\":\"SELECT ?\",\"params\":[{\"$bigint\":\"12x\"}]}",
    "{\"sql\":\"SELECT ?\",\"params\":[{\"$bigint\":\"9223372036854775808\"}]}",
    "{\"sql\":\"SELECT ?\",\"params\":[{\"$blob\":\"abd\"}]}",   /* not canonical: bits past the bytes */
    "{\"sql\":\"SELECT ?\",\"params\":[{\"$blob\":\"a\"}]}",
    "{\"sql\":\"SELECT ?\",\"params\":[{\"$real\":\"NaN\"}]}",
    "{\"sql\":\"SELECT ?\",\"params\":[1,2]}",
    "{\"sql\":\"SELECT ?\"}",
    "{\"sql\":\"SELECT ?\",\"params\":\"x\"}",
    "{\"sql\":\"SELECT :a\",\"params\":{\"b\":1}}",
    "{\"sql\":\"SELECT :a\",\"params\":{\"a\":1,\"b\":2}}",
    "{\"sql\":\"SELECT ?\",\"params\":{\"a\":1}}",
  };
  unsigned i;
  Conn c;
  openConn(&c);
  for(i=0; i<sizeof(az)/sizeof(az[0]); i++){
    Answer a = post(&c, "/query", az[i]);
    CHECK(a.status==400);
    CHECK_STR(answerCode(&a), "BAD_PARAMS");
    if( a.status!=400 ) printf("  %s -> %s\n", az[i], a.zBody);
    answerFree(&a);
  }
  {
    /* A name the statement does not have is named. */
    Answer a = post(&c, "/query", "{\"sql\":\"SELECT :a\",\"params\":{\"a\":1,\"zz\":2}}");
    CHECK(answerError(&a) && strstr(answerError(&a), "does not have: zz"));
    answerFree(&a);
    /* One it has, named both bare and with its prefix: it is given twice. */
    a = post(&c, "/query", "{\"sql\":\"SELECT @a\",\"params\":{\"a\":1,\"@a\":2}}");
    CHECK_STR(answerCode(&a), "BAD_PARAMS");
    CHECK(answerError(&a) && strstr(answerError(&a), "params gives the parameter @a twice, as a and as @a: give it once"));
    answerFree(&a);
  }
  {
    /* A plain object (JSON the caller meant to store): the message says how. */
    Answer a = post(&c, "/query", "{\"sql\":\"SELECT ?\",\"params\":[{\"a\":1}]}");
    CHECK_STR(answerCode(&a), "BAD_PARAMS");
    CHECK(answerError(&a) && strstr(answerError(&a), "parameter 1 is an object")
          && strstr(answerError(&a), "bind JSON.stringify(value)"));
    answerFree(&a);
  }
  {
    /* ?5 makes slots 1 to 4 without names: the message says why, not "positional". */
    Answer a = post(&c, "/query", "{\"sql\":\"SELECT ?5\",\"params\":{\"5\":1}}");
    CHECK_STR(answerCode(&a), "BAD_PARAMS");
    CHECK(answerError(&a) && strstr(answerError(&a), "numbers its parameters (?NNN)"));
    answerFree(&a);
  }
  connClose(&c);
}

static void exec_refuses_params_it_would_not_bind(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE t(v)\"}");
  a = post(&c, "/exec", "{\"sql\":\"INSERT INTO t VALUES(?)\",\"params\":[1]}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "BAD_PARAMS");
  CHECK(answerError(&a) && strstr(answerError(&a), "/exec runs a script and binds no params"));
  answerFree(&a);
  /* Nor does a statement of the script that has parameters run with NULLs: the
  ** script fails at it, whole, naming where. */
  a = post(&c, "/exec", "{\"sql\":\"INSERT INTO t VALUES(1); INSERT INTO t VALUES(:v)\"}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "BAD_PARAMS");
  CHECK(answerError(&a) && strstr(answerError(&a), "a statement of it has 1 (?, ?NNN, :name or @name)"));
  CHECK(cJSON_GetObjectItem(a.pJson, "operation")->valueint==1);
  answerFree(&a);
  a = post(&c, "/query", "{\"sql\":\"SELECT count(*) AS n FROM t\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"n\":0}]}");
  answerFree(&a);
  connClose(&c);
}

/* The length the result limit is judged by (conn.c) is what jsonAppendString
** writes, for every kind of byte it escapes. */
static void a_json_string_is_as_long_as_its_length_says(void){
#define CASE(s) { s, (int)sizeof(s)-1 }
  static const struct { const char *z; int n; } aCase[] = {
    CASE(""), CASE("plain"), CASE("q\"b\\n\nr\rt\t"), CASE("\x01\x1f\x00z"), CASE("\xff\xfe"),
    CASE("\xc3"), CASE("\xe2\x82\xac \xf0\x9f\x98\x80"), CASE("\xed\xa0\x80"),
    CASE("0123456789012345678901234567890123456789012345678901234567890123\x02"),
  };
#undef CASE
  int i;
  for(i=0; i<(int)(sizeof(aCase)/sizeof(aCase[0])); i++){
    sqlite3_str *pOut = sqlite3_str_new(0);
    int n;
    jsonAppendString(pOut, aCase[i].z, aCase[i].n);
    n = sqlite3_str_length(pOut);
    if( jsonStringLength(aCase[i].z, aCase[i].n)!=n ) printf("  case %d: %lld != %d\n", i, jsonStringLength(aCase[i].z, aCase[i].n), n);
    CHECK(jsonStringLength(aCase[i].z, aCase[i].n)==n);
    sqlite3_free(sqlite3_str_finish(pOut));
  }
}

int main(void){
  RUN(a_json_string_is_as_long_as_its_length_says);
  RUN(results_encode_every_type);
  RUN(reals_read_back_exactly);
  RUN(decimals_read_as_strtod_reads_them);
  RUN(reals_are_written_as_before_the_short_path);
  RUN(params_bind_every_type);
  RUN(values_round_trip_through_a_table);
  RUN(bad_params_are_rejected_with_reasons);
  RUN(exec_refuses_params_it_would_not_bind);
  return HARNESS_END();
}
