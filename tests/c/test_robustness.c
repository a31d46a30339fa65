/*
** test_robustness.c — hostile and malformed input never crashes the engine or
** damages the database: thousands of mutated requests (under ASan+UBSan), each
** answered with a real HTTP status, then integrity_check and the data intact.
*/
#include "harness.h"

static const char *const azSeed[] = {
  "{\"sql\":\"INSERT INTO t(a,b) VALUES(?,?)\",\"params\":[1,\"x\"]}",
  "{\"sql\":\"SELECT * FROM t WHERE a > :a\",\"params\":{\"a\":{\"$bigint\":\"5\"}}}",
  "{\"operations\":[{\"type\":\"run\",\"sql\":\"UPDATE t SET b = ?\",\"params\":[{\"$blob\":\"AAEC\"}]},"
  "{\"type\":\"query\",\"sql\":\"SELECT count(*) FROM t\"}]}",
  "{\"sql\":\"SELECT json_extract(?, '$.a') AS v\",\"params\":[\"{\\\"a\\\":[1,2]}\"]}",
  "{\"since\":1,\"limit\":10,\"tables\":[\"t\",\"keep\"]}",
};
static const char *const azPath[] = { "/query", "/run", "/transaction", "/changes" };

/* A small deterministic PRNG, so a failure reproduces. */
static unsigned rngState = 12345;
static unsigned rng(void){
  rngState = rngState*1103515245u + 12345u;
  return (rngState>>16) & 0x7fff;
}

static void mutate(char *z, size_t *pn){
  static const char aChar[] = "{}[]\",:\\0123456789-.eE tfnul$?;'()*";
  int nEdit = 1 + (int)(rng() % 4), i;
  for(i=0; i<nEdit && *pn>0; i++){
    size_t at = rng() % *pn;
    switch( rng() % 4 ){
      case 0: z[at] = aChar[rng() % (sizeof(aChar)-1)]; break;          /* replace */
      case 1: *pn = at; break;                                          /* truncate */
      case 2: memmove(&z[at], &z[at+1], *pn-at-1); (*pn)--; break;      /* delete */
      default: z[at] = (char)(rng() & 0xff); break;                     /* any byte */
    }
  }
}

static void mutated_requests_never_crash_or_corrupt(void){
  Conn c;
  int i, nOk = 0;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(a, b)\"}");
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE keep(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO keep VALUES(42)\"}");
  for(i=0; i<20000; i++){
    const char *zSeed = azSeed[rng() % (sizeof(azSeed)/sizeof(azSeed[0]))];
    size_t n = strlen(zSeed);
    char *z = malloc(n+1);
    Answer a;
    const char *zPath;
    memcpy(z, zSeed, n+1);
    mutate(z, &n);
    zPath = azPath[rng() % (sizeof(azPath)/sizeof(azPath[0]))];
    a = answerFrom(handleRequest(&c, "POST", 4, zPath, (uint32_t)strlen(zPath),
                                 (const uint8_t*)z, (uint32_t)n, 0));
    CHECK(a.status==200 || (a.status>=400 && a.status<600));
    CHECK(a.pJson!=0);                      /* every answer is JSON */
    if( a.status==200 ) nOk++;
    answerFree(&a);
    free(z);
  }
  CHECK(nOk>0);
  CHECK_STR(scalar(&c, "PRAGMA integrity_check"), "\"ok\"");
  CHECK_STR(scalar(&c, "SELECT x FROM keep"), "42");
  connClose(&c);
}

static void hostile_sql_is_refused_or_harmless(void){
  static const char *const az[] = {
    "{\"sql\":\"PRAGMA writable_schema=ON\"}",
    "{\"sql\":\"UPDATE sqlite_schema SET sql='x'\"}",
    "{\"sql\":\"ATTACH 'file:x?mode=memory' AS x\"}",
    "{\"sql\":\"VACUUM INTO '/tmp/stolen.db'\"}",
    "{\"sql\":\"PRAGMA journal_mode=OFF\"}",
    "{\"sql\":\"PRAGMA locking_mode=NORMAL\"}",
    "{\"sql\":\"SELECT load_extension('x')\"}",
  };
  unsigned i;
  Conn c;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE keep(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO keep VALUES(1)\"}");
  for(i=0; i<sizeof(az)/sizeof(az[0]); i++){
    Answer a = post(&c, "/run", az[i]);
    CHECK(a.status>=400 && a.status<500);
    if( a.status<400 || a.status>=500 ) printf("  %s -> %d %s\n", az[i], a.status, a.zBody);
    answerFree(&a);
  }
  CHECK_STR(scalar(&c, "PRAGMA integrity_check"), "\"ok\"");
  CHECK_STR(scalar(&c, "PRAGMA journal_mode"), "\"memory\"");
  connClose(&c);
}

int main(void){
  RUN(mutated_requests_never_crash_or_corrupt);
  RUN(hostile_sql_is_refused_or_harmless);
  return HARNESS_END();
}
