/*
** test_history.c — reads as of a past point (history.c), over the native
** host's history (host_mem.c keeps every version): asOf by lsn, bookmark and
** time; the points that are refused; /history; the check of /restore.
*/
#include "harness.h"
#include "host.h"

/* The answer's rows as text, for comparing. */
static Answer asOf(Conn *pConn, const char *zPoint, const char *zSql){
  char zBody[512];
  snprintf(zBody, sizeof(zBody), "{\"sql\":\"%s\",\"asOf\":%s}", zSql, zPoint);
  return post(pConn, "/query", zBody);
}

static void expectRows(Conn *pConn, const char *zPoint, const char *zSql, const char *zWant){
  Answer a = asOf(pConn, zPoint, zSql);
  CHECK(a.status==200);
  CHECK_STR(a.zBody, zWant);
  answerFree(&a);
}

static void expectError(Conn *pConn, const char *zPoint, const char *zSql, int status, const char *zCode){
  Answer a = asOf(pConn, zPoint, zSql);
  CHECK(a.status==status);
  CHECK_STR(answerCode(&a), zCode);
  answerFree(&a);
}

/* The lsn /history calls current. */
static int currentLsn(Conn *pConn){
  Answer a = call(pConn, "GET", "/history", "");
  int lsn = cJSON_GetObjectItem(cJSON_GetObjectItem(a.pJson, "current"), "lsn")->valueint;
  answerFree(&a);
  return lsn;
}

static void reads_see_each_point(void){
  Conn c;
  int before, after;
  char zPoint[64];
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  before = currentLsn(&c);
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(2)\"}");
  okFree(&c, "/run", "{\"sql\":\"DROP TABLE t\"}");
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE u(y)\"}");
  after = currentLsn(&c);
  CHECK(after==before+3);
  snprintf(zPoint, sizeof(zPoint), "%d", before);
  expectRows(&c, zPoint, "SELECT x FROM t", "{\"rows\":[{\"x\":1}]}");
  snprintf(zPoint, sizeof(zPoint), "%d", before+1);
  expectRows(&c, zPoint, "SELECT x FROM t", "{\"rows\":[{\"x\":1},{\"x\":2}]}");
  /* The schema is the point's: t is gone now, u is not there yet. */
  snprintf(zPoint, sizeof(zPoint), "%d", before+2);
  expectError(&c, zPoint, "SELECT x FROM t", 400, "SQLITE_ERROR");
  snprintf(zPoint, sizeof(zPoint), "%d", before);
  expectError(&c, zPoint, "SELECT y FROM u", 400, "SQLITE_ERROR");
  /* A bookmark names the same lsn. */
  snprintf(zPoint, sizeof(zPoint), "\"%016x\"", before);
  expectRows(&c, zPoint, "SELECT x FROM t", "{\"rows\":[{\"x\":1}]}");
  /* A bookmark that reads as a number too ("…1e5") is a bookmark. */
  expectError(&c, "\"00000000000001e5\"", "SELECT 1", 400, "POINT_IN_FUTURE");
  /* A point object as text (a query string's asOf), as GET /history gives it. */
  {
    char zText[96];
    snprintf(zText, sizeof(zText), "\"{\\\"lsn\\\":%d,\\\"bookmark\\\":\\\"%016x\\\"}\"", before, before);
    expectRows(&c, zText, "SELECT x FROM t", "{\"rows\":[{\"x\":1}]}");
  }
  /* Lsn 0 is the empty database. */
  expectRows(&c, "0", "SELECT count(*) AS n FROM sqlite_schema", "{\"rows\":[{\"n\":0}]}");
  /* The present is what a plain read sees. */
  expectRows(&c, zPoint, "SELECT 1 AS one", "{\"rows\":[{\"one\":1}]}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM u"), "0");
  connClose(&c);
}

static void a_time_names_the_newest_commit_at_or_before_it(void){
  Conn c;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES('old')\"}");
  hostMemShiftClock(3600000.0);     /* an hour passes */
  okFree(&c, "/run", "{\"sql\":\"UPDATE t SET x = 'new'\"}");
  {
    char zPoint[96];
    /* Half an hour ago, by the host's clock. */
    double ms = dosql_host_now_ms() - 1800000.0;
    snprintf(zPoint, sizeof(zPoint), "{\"time\":%.0f}", ms);
    expectRows(&c, zPoint, "SELECT x FROM t", "{\"rows\":[{\"x\":\"old\"}]}");
    snprintf(zPoint, sizeof(zPoint), "\"{\\\"time\\\":%.0f}\"", ms);
    expectRows(&c, zPoint, "SELECT x FROM t", "{\"rows\":[{\"x\":\"old\"}]}");
    expectRows(&c, "\"2999-01-01 00:00:00\"", "SELECT x FROM t", "{\"rows\":[{\"x\":\"new\"}]}");
    /* Before the first commit: the empty database. */
    expectRows(&c, "\"1970-01-02T00:00:00Z\"", "SELECT count(*) AS n FROM sqlite_schema", "{\"rows\":[{\"n\":0}]}");
  }
  connClose(&c);
}

static void bad_points_and_writes_are_refused(void){
  Conn c;
  Answer a;
  char zPoint[32], zBody[256];
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  snprintf(zPoint, sizeof(zPoint), "%d", currentLsn(&c));
  expectError(&c, "-1", "SELECT 1", 400, "BAD_POINT");
  expectError(&c, "1.5", "SELECT 1", 400, "BAD_POINT");
  expectError(&c, "true", "SELECT 1", 400, "BAD_POINT");
  expectError(&c, "\"yesterday-ish\"", "SELECT 1", 400, "BAD_POINT");
  expectError(&c, "{\"time\":\"x\"}", "SELECT 1", 400, "BAD_POINT");
  expectError(&c, "{\"time\":1,\"lsn\":2}", "SELECT 1", 400, "BAD_POINT");
  /* A point as GET /history gives one: its lsn and bookmark must agree, and it holds no more. */
  expectError(&c, "{\"lsn\":1,\"bookmark\":\"0000000000000002\"}", "SELECT 1", 400, "BAD_POINT");
  expectError(&c, "{\"lsn\":1,\"note\":1}", "SELECT 1", 400, "BAD_POINT");
  expectError(&c, "{\"lsn\":1.5}", "SELECT 1", 400, "BAD_POINT");
  expectError(&c, "{}", "SELECT 1", 400, "BAD_POINT");
  /* A number written as text that is no lsn: SQLite would read it as a Julian day
  ** (before 4713 BC), which no point can be, so no point, not a point too old. */
  {
    static const char *azNumber[] = { "\" 4\"", "\"4 \"", "\"2.0\"", "\"+2\"", "\"1e0\"", "\"1.5\"", "\"-3\"", "\".5\"" };
    int i;
    for(i=0; i<(int)(sizeof(azNumber)/sizeof(azNumber[0])); i++){
      expectError(&c, azNumber[i], "SELECT 1", 400, "BAD_POINT");
    }
    /* A Julian day since 1970 is a time (2023, before the first commit: the empty database). */
    expectRows(&c, "\"2460000.5\"", "SELECT count(*) AS n FROM sqlite_schema", "{\"rows\":[{\"n\":0}]}");
  }
  expectError(&c, "1000000", "SELECT 1", 400, "POINT_IN_FUTURE");
  expectError(&c, "\"00000000000f4240\"", "SELECT 1", 400, "POINT_IN_FUTURE");
  /* Past 2^53, where no lsn reaches, the same: as a number, digits or a bookmark. */
  expectError(&c, "9007199254740994", "SELECT 1", 400, "POINT_IN_FUTURE");
  expectError(&c, "1e300", "SELECT 1", 400, "POINT_IN_FUTURE");
  expectError(&c, "\"90071992547409930000\"", "SELECT 1", 400, "POINT_IN_FUTURE");
  expectError(&c, "\"0020000000000001\"", "SELECT 1", 400, "POINT_IN_FUTURE");
  expectError(&c, "\"ffffffffffffffff\"", "SELECT 1", 400, "POINT_IN_FUTURE");
  /* A time after every commit names the newest. */
  expectRows(&c, "{\"time\":1e16}", "SELECT 1 AS one", "{\"rows\":[{\"one\":1}]}");
  /* A point is read-only: a write fails and changes nothing. */
  expectError(&c, zPoint, "INSERT INTO t VALUES(1)", 400, "SQLITE_READONLY");
  snprintf(zBody, sizeof(zBody), "{\"asOf\":%s,\"operations\":[{\"sql\":\"SELECT 1\"},{\"sql\":\"DELETE FROM t\"}]}", zPoint);
  a = post(&c, "/batch", zBody);
  CHECK(a.status==400);
  CHECK(strstr(answerError(&a), "read-only")!=0);
  answerFree(&a);
  /* Endpoints that write do not take asOf. */
  a = post(&c, "/run", "{\"sql\":\"SELECT 1\",\"asOf\":1}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "BAD_REQUEST");
  answerFree(&a);
  /* The guards hold there too. */
  expectError(&c, "1", "ATTACH 'x' AS y", 403, "SQLITE_AUTH");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
  connClose(&c);
}

static void history_and_restore_name_points(void){
  Conn c;
  Answer a;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  a = call(&c, "GET", "/history", "");
  CHECK(a.status==200);
  CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(a.pJson, "current"), "lsn")->valueint>=1);
  CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(a.pJson, "oldest"), "bookmark")->valuestring, "0000000000000000");
  answerFree(&a);
  /* A route the host serves answers its check to the host only. */
  a = post(&c, "/restore", "{\"to\":0}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "BAD_REQUEST");
  answerFree(&a);
  a = callFlags(&c, "POST", "/restore", "{\"to\":0}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==200);
  CHECK_STR(a.zBody, "{\"to\":{\"lsn\":0,\"bookmark\":\"0000000000000000\"},"
                     "\"before\":{\"lsn\":2,\"bookmark\":\"0000000000000002\"},\"changes\":{\"floor\":0,\"kept\":-1}}");
  answerFree(&a);
  a = callFlags(&c, "POST", "/restore", "{}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "BAD_REQUEST");
  answerFree(&a);
  a = callFlags(&c, "POST", "/restore", "{\"to\":99999}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "POINT_IN_FUTURE");
  answerFree(&a);
  connClose(&c);
}

static void diff_lists_row_changes_between_points(void){
  Conn c;
  Answer a;
  char zBody[256];
  int from;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE t(id INTEGER PRIMARY KEY, v); CREATE TABLE w(k TEXT PRIMARY KEY, n) WITHOUT ROWID;"
      " INSERT INTO t VALUES(1,'a'),(2,'b'),(3,'c'); INSERT INTO w VALUES('x',1),('y',2)\"}");
  from = currentLsn(&c);
  okFree(&c, "/exec", "{\"sql\":\"DELETE FROM t WHERE id=1; UPDATE t SET v='B' WHERE id=2; INSERT INTO t VALUES(4,'d');"
      " UPDATE w SET n=20 WHERE k='y'; CREATE TABLE z(q); INSERT INTO z VALUES(7)\"}");
  snprintf(zBody, sizeof(zBody), "{\"from\":%d}", from);
  a = post(&c, "/diff", zBody);
  CHECK(a.status==200);
  CHECK(strstr(a.zBody, "\"changes\":[{\"table\":\"t\",\"type\":\"delete\",\"data\":{\"id\":1,\"v\":\"a\"}},"
      "{\"table\":\"t\",\"type\":\"update\",\"data\":{\"id\":2,\"v\":\"B\"},\"old\":{\"id\":2,\"v\":\"b\"}},"
      "{\"table\":\"t\",\"type\":\"insert\",\"data\":{\"id\":4,\"v\":\"d\"}},"
      "{\"table\":\"w\",\"type\":\"update\",\"data\":{\"k\":\"y\",\"n\":20},\"old\":{\"k\":\"y\",\"n\":2}},"
      "{\"table\":\"z\",\"type\":\"insert\",\"data\":{\"q\":7}}],\"more\":false}")!=0);
  CHECK(strstr(a.zBody, "\"schema\":[{\"type\":\"table\",\"name\":\"z\",\"before\":null,\"after\":\"CREATE TABLE z(q)\"}]")!=0);
  if( !harnessFailed ) {} else printf("  %s\n", a.zBody);
  answerFree(&a);
  /* Backwards, only table w, limited: the same change the other way, then more. */
  snprintf(zBody, sizeof(zBody), "{\"from\":%d,\"to\":%d,\"tables\":[\"t\"],\"limit\":1}", currentLsn(&c), from);
  a = post(&c, "/diff", zBody);
  CHECK(a.status==200);
  CHECK(strstr(a.zBody, "\"changes\":[{\"table\":\"t\",\"type\":\"delete\",\"data\":{\"id\":4,\"v\":\"d\"}}],\"more\":true}")!=0);
  answerFree(&a);
  a = post(&c, "/diff", "{\"from\":0,\"limit\":0}");
  CHECK(a.status==400);
  answerFree(&a);
  a = post(&c, "/diff", "{}");
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "BAD_REQUEST");
  answerFree(&a);
  /* Nothing stays attached: the next diff and plain reads work. */
  snprintf(zBody, sizeof(zBody), "{\"from\":%d,\"tables\":[\"w\"]}", from);
  a = post(&c, "/diff", zBody);
  CHECK(a.status==200);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM pragma_database_list WHERE name LIKE 'dosql%'"), "0");
  connClose(&c);
}

/* The changes a /diff from point `from` lists, as its JSON text. */
static char *diffChanges(Conn *pConn, const char *zExtra, int from){
  char zBody[256];
  Answer a;
  char *z, *zOut;
  snprintf(zBody, sizeof(zBody), "{\"from\":%d%s}", from, zExtra);
  a = post(pConn, "/diff", zBody);
  z = a.status==200 ? strstr(a.zBody, "\"changes\":") : 0;
  zOut = sqlite3_mprintf("%d %s", a.status, z ? z : (answerCode(&a) ? answerCode(&a) : ""));
  answerFree(&a);
  return zOut;
}

/* A user's tables (or temp tables) named as SQLite's table-valued pragmas,
** columns that take the rowid's names, and a table asked for in another
** case: the diff reads SQLite's own answers and pairs rows by their rowid. */
static void diff_is_not_fooled_by_names(void){
  Conn c;
  char *z;
  int from;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE t(id INTEGER PRIMARY KEY, v); CREATE TABLE r(rowid TEXT, v);"
      " CREATE TABLE o(rowid, _rowid_, oid); INSERT INTO r VALUES('a', 1); INSERT INTO o VALUES(1, 2, 3)\"}");
  from = currentLsn(&c);
  okFree(&c, "/exec", "{\"sql\":\"INSERT INTO t VALUES(2, 'b'); INSERT INTO r VALUES('a', 2);"
      " CREATE TABLE pragma_table_list(schema, name, type, ncol, wr, strict);"
      " CREATE TEMP TABLE pragma_table_xinfo(name, hidden)\"}");
  z = diffChanges(&c, ",\"tables\":[\"T\",\"R\"]", from);
  CHECK_STR(z, "200 \"changes\":[{\"table\":\"r\",\"type\":\"insert\",\"data\":{\"rowid\":\"a\",\"v\":2}},"
               "{\"table\":\"t\",\"type\":\"insert\",\"data\":{\"id\":2,\"v\":\"b\"}}],\"more\":false}");
  sqlite3_free(z);
  /* Every name of the rowid taken: rows pair by their content. */
  z = diffChanges(&c, ",\"tables\":[\"o\"]", from);
  CHECK_STR(z, "200 \"changes\":[],\"more\":false}");
  sqlite3_free(z);
  okFree(&c, "/run", "{\"sql\":\"UPDATE o SET oid = 4\"}");
  z = diffChanges(&c, ",\"tables\":[\"o\"]", from);
  CHECK_STR(z, "200 \"changes\":[{\"table\":\"o\",\"type\":\"delete\",\"data\":{\"rowid\":1,\"_rowid_\":2,\"oid\":3}},"
               "{\"table\":\"o\",\"type\":\"insert\",\"data\":{\"rowid\":1,\"_rowid_\":2,\"oid\":4}}],\"more\":false}");
  sqlite3_free(z);
  connClose(&c);
}

/* Virtual tables: a TEMP one does not take a main table of a shadow's name for
** its own, and one that holds no rows of its own (fts5vocab reads an FTS5
** table's index, and cannot find a row by rowid) is left out. */
static void diff_lists_the_rows_of_tables_that_hold_them(void){
  Conn c;
  char *z;
  int from;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE notes_data(id INTEGER PRIMARY KEY, v);"
      " CREATE VIRTUAL TABLE f USING fts5(x); CREATE VIRTUAL TABLE v USING fts5vocab(f, 'row')\"}");
  from = currentLsn(&c);
  okFree(&c, "/exec", "{\"sql\":\"INSERT INTO notes_data VALUES(1, 'kept'); INSERT INTO f VALUES('alpha beta');"
      " CREATE VIRTUAL TABLE temp.notes USING fts5(x)\"}");
  z = diffChanges(&c, "", from);
  CHECK_STR(z, "200 \"changes\":[{\"table\":\"f\",\"type\":\"insert\",\"data\":{\"x\":\"alpha beta\"}},"
               "{\"table\":\"notes_data\",\"type\":\"insert\",\"data\":{\"id\":1,\"v\":\"kept\"}}],\"more\":false}");
  sqlite3_free(z);
  z = diffChanges(&c, ",\"tables\":[\"v\"]", from);
  CHECK_STR(z, "200 \"changes\":[],\"more\":false}");
  sqlite3_free(z);
  connClose(&c);
}

/* Rows pair by what both points have: copies of one content by their count,
** a WITHOUT ROWID table whose key changed not at all (it was rebuilt), and a
** virtual table's shadow tables are the virtual table's, in no list. */
static void diff_pairs_rows_by_what_both_points_have(void){
  Conn c;
  char *z;
  Answer a;
  int from;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE d(rowid, _rowid_, oid); INSERT INTO d VALUES(1, 2, 3), (1, 2, 3);"
      " CREATE TABLE w(a TEXT PRIMARY KEY, b) WITHOUT ROWID; INSERT INTO w VALUES('k', 1)\"}");
  from = currentLsn(&c);
  okFree(&c, "/exec", "{\"sql\":\"INSERT INTO d VALUES(1, 2, 3); ALTER TABLE w RENAME COLUMN a TO c;"
      " CREATE VIRTUAL TABLE f USING fts5(body); INSERT INTO f VALUES('hello')\"}");
  z = diffChanges(&c, ",\"tables\":[\"d\",\"w\"]", from);
  CHECK_STR(z, "200 \"changes\":[{\"table\":\"d\",\"type\":\"insert\",\"data\":{\"rowid\":1,\"_rowid_\":2,\"oid\":3}},"
               "{\"table\":\"w\",\"type\":\"delete\",\"data\":{\"a\":\"k\",\"b\":1}},"
               "{\"table\":\"w\",\"type\":\"insert\",\"data\":{\"c\":\"k\",\"b\":1}}],\"more\":false}");
  sqlite3_free(z);
  a = post(&c, "/diff", "{\"from\":0}");
  CHECK(a.status==200);
  CHECK(strstr(a.zBody, "\"name\":\"f\"")!=0);
  CHECK(strstr(a.zBody, "f_config")==0 && strstr(a.zBody, "f_content")==0 && strstr(a.zBody, "f_data")==0);
  answerFree(&a);
  /* Named, a shadow table is refused as any name that would list nothing. */
  z = diffChanges(&c, ",\"tables\":[\"f_data\"]", from);
  CHECK_STR(z, "400 BAD_REQUEST");
  sqlite3_free(z);
  connClose(&c);
}

/* Copies of a row, in a table whose columns take every name of the rowid, are
** copies byte for byte: a column the user named as the diff's copy number does
** not stand in for it, and rows a NOCASE column or 1 = 1.0 makes equal are two. */
static void diff_counts_copies_as_they_are_stored(void){
  Conn c;
  char *z;
  int from;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE d(rowid, _rowid_, oid, dosql_diff_copy, dosql_diff_copy_1);"
      " INSERT INTO d VALUES(1, 1, 1, 5, 6), (1, 1, 1, 5, 6);"
      " CREATE TABLE n(rowid, _rowid_, oid COLLATE NOCASE); INSERT INTO n VALUES(1, 1, 'a'), (1, 1, 'A'), (1, 1, 2), (1, 1, 2.0),"
      " (1, 1, 0.0), (1, 1, -0.0)\"}");
  from = currentLsn(&c);
  okFree(&c, "/exec", "{\"sql\":\"INSERT INTO d VALUES(1, 1, 1, 5, 6); DELETE FROM n WHERE oid = 'a' COLLATE BINARY;"
      " DELETE FROM n WHERE typeof(oid) = 'real' AND oid <> 0; DELETE FROM n WHERE atan2(0, oid) > 0\"}");
  z = diffChanges(&c, ",\"tables\":[\"d\",\"n\"]", from);
  CHECK_STR(z, "200 \"changes\":[{\"table\":\"d\",\"type\":\"insert\",\"data\":{\"rowid\":1,\"_rowid_\":1,\"oid\":1,"
               "\"dosql_diff_copy\":5,\"dosql_diff_copy_1\":6}},"
               "{\"table\":\"n\",\"type\":\"delete\",\"data\":{\"rowid\":1,\"_rowid_\":1,\"oid\":-0}},"
               "{\"table\":\"n\",\"type\":\"delete\",\"data\":{\"rowid\":1,\"_rowid_\":1,\"oid\":2}},"
               "{\"table\":\"n\",\"type\":\"delete\",\"data\":{\"rowid\":1,\"_rowid_\":1,\"oid\":\"a\"}}],\"more\":false}");
  sqlite3_free(z);
  connClose(&c);
}

/* A change the column's comparison would not see is a change: a NOCASE or
** RTRIM collation, an integer become a real, a zero's sign; in a WITHOUT ROWID table, a key
** that changed only in case is still its row, updated. */
static void diff_sees_what_collations_and_numbers_hide(void){
  Conn c;
  char *z;
  int from;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT COLLATE NOCASE, note TEXT COLLATE RTRIM, n);"
      " CREATE TABLE k(email TEXT COLLATE NOCASE PRIMARY KEY, n) WITHOUT ROWID;"
      " INSERT INTO u VALUES(1, 'ada@x.io', 'hi', 1); INSERT INTO k VALUES('bob@x.io', 1);"
      " CREATE TABLE z(id INTEGER PRIMARY KEY, r); INSERT INTO z VALUES(1, -0.0), (2, 0.0), (3, 0.0)\"}");
  from = currentLsn(&c);
  okFree(&c, "/exec", "{\"sql\":\"UPDATE u SET email = 'ADA@X.IO', note = 'hi   ', n = 1.0; UPDATE k SET email = 'BOB@X.IO';"
      " UPDATE z SET r = 0.0 WHERE id = 1; UPDATE z SET r = -0.0 WHERE id = 2\"}");
  z = diffChanges(&c, ",\"tables\":[\"u\",\"k\",\"z\"]", from);
  CHECK_STR(z, "200 \"changes\":[{\"table\":\"k\",\"type\":\"update\",\"data\":{\"email\":\"BOB@X.IO\",\"n\":1},"
               "\"old\":{\"email\":\"bob@x.io\",\"n\":1}},"
               "{\"table\":\"u\",\"type\":\"update\",\"data\":{\"id\":1,\"email\":\"ADA@X.IO\",\"note\":\"hi   \",\"n\":1},"
               "\"old\":{\"id\":1,\"email\":\"ada@x.io\",\"note\":\"hi\",\"n\":1}},"
               "{\"table\":\"z\",\"type\":\"update\",\"data\":{\"id\":1,\"r\":0},\"old\":{\"id\":1,\"r\":-0}},"
               "{\"table\":\"z\",\"type\":\"update\",\"data\":{\"id\":2,\"r\":-0},\"old\":{\"id\":2,\"r\":0}}],\"more\":false}");
  sqlite3_free(z);
  connClose(&c);
}

/* A view that became a table of its name (or the other way round) was no
** table at the point it was a view: the table's rows come or go. */
static void diff_takes_a_view_for_no_table(void){
  Conn c;
  char *z;
  int from, to;
  char zExtra[64];
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE base(id INTEGER PRIMARY KEY, v); INSERT INTO base VALUES (1, 'a');"
      " CREATE VIEW vt AS SELECT id, v FROM base\"}");
  from = currentLsn(&c);
  okFree(&c, "/exec", "{\"sql\":\"DROP VIEW vt; CREATE TABLE vt(id INTEGER PRIMARY KEY, v); INSERT INTO vt VALUES (3, 'c')\"}");
  to = currentLsn(&c);
  z = diffChanges(&c, ",\"tables\":[\"vt\"]", from);
  CHECK_STR(z, "200 \"changes\":[{\"table\":\"vt\",\"type\":\"insert\",\"data\":{\"id\":3,\"v\":\"c\"}}],\"more\":false}");
  sqlite3_free(z);
  snprintf(zExtra, sizeof(zExtra), ",\"to\":%d", from);
  z = diffChanges(&c, zExtra, to);
  CHECK_STR(z, "200 \"changes\":[{\"table\":\"vt\",\"type\":\"delete\",\"data\":{\"id\":3,\"v\":\"c\"}}],\"more\":false}");
  sqlite3_free(z);
  connClose(&c);
}

/* A name whose kind changed is one object gone and another new, each with its
** type; "tables" is charged against the budget as it is matched (one name a
** thousand times, against every table), and a name that is no table is
** repeated cut short. */
static void diff_names_objects_by_their_kind_and_charges_the_list(void){
  Conn c;
  Answer a;
  sqlite3_str *pBody;
  char *zBody;
  int from, i;
  openConn(&c);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE base(id INTEGER PRIMARY KEY, v); CREATE TABLE k(x)\"}");
  from = currentLsn(&c);
  okFree(&c, "/exec", "{\"sql\":\"DROP TABLE k; CREATE VIEW k AS SELECT 1 AS x\"}");
  pBody = sqlite3_str_new(0);
  sqlite3_str_appendf(pBody, "{\"from\":%d}", from);
  zBody = sqlite3_str_finish(pBody);
  a = post(&c, "/diff", zBody);
  sqlite3_free(zBody);
  CHECK(a.status==200);
  CHECK(strstr(a.zBody, "\"schema\":[{\"type\":\"table\",\"name\":\"k\",\"before\":\"CREATE TABLE k(x)\",\"after\":null},"
      "{\"type\":\"view\",\"name\":\"k\",\"before\":null,\"after\":\"CREATE VIEW k AS SELECT 1 AS x\"}]")!=0);
  answerFree(&a);

  pBody = sqlite3_str_new(0);
  sqlite3_str_appendall(pBody, "{\"sql\":\"");
  for(i=0; i<2000; i++) sqlite3_str_appendf(pBody, "CREATE TABLE t%d(x);", i);
  sqlite3_str_appendall(pBody, "\"}");
  zBody = sqlite3_str_finish(pBody);
  okFree(&c, "/exec", zBody);
  sqlite3_free(zBody);
  pBody = sqlite3_str_new(0);
  sqlite3_str_appendf(pBody, "{\"from\":%d,\"tables\":[", currentLsn(&c));
  for(i=0; i<100000; i++) sqlite3_str_appendf(pBody, "%s\"t1\"", i ? "," : "");
  sqlite3_str_appendall(pBody, "]}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t1 VALUES(1)\"}");
  zBody = sqlite3_str_finish(pBody);
  a = post(&c, "/diff", zBody);
  sqlite3_free(zBody);
  CHECK(a.status==400);
  CHECK_STR(answerCode(&a), "CPU_LIMIT");
  answerFree(&a);

  pBody = sqlite3_str_new(0);
  sqlite3_str_appendf(pBody, "{\"from\":%d,\"tables\":[\"", from);
  for(i=0; i<5000; i++) sqlite3_str_appendchar(pBody, 1, 'n');
  sqlite3_str_appendall(pBody, "\"]}");
  zBody = sqlite3_str_finish(pBody);
  a = post(&c, "/diff", zBody);
  sqlite3_free(zBody);
  CHECK(a.status==400);
  CHECK(answerError(&a) && strlen(answerError(&a))<1000 && strstr(answerError(&a), "nnnn...\", which is no table"));
  answerFree(&a);
  connClose(&c);
}

/* A table of 1,500 columns is compared as any other: a row's columns are not
** one chain of terms, which SQLite refuses past 1,000 deep; one of 700 keeps
** its updates (both sides' columns fit in a row). */
static void diff_compares_wide_tables(void){
  sqlite3_str *pSql = sqlite3_str_new(0);
  char *zSql, *z;
  Conn c;
  int i, from;
  openConn(&c);
  sqlite3_str_appendall(pSql, "{\"sql\":\"CREATE TABLE w(id INTEGER PRIMARY KEY");
  for(i=1; i<=1500; i++) sqlite3_str_appendf(pSql, ", c%d", i);
  /* The other path: columns taking every name of the rowid pair rows by their content. */
  sqlite3_str_appendall(pSql, "); CREATE TABLE d(rowid, _rowid_, oid");
  for(i=1; i<=600; i++) sqlite3_str_appendf(pSql, ", c%d", i);
  sqlite3_str_appendall(pSql, "); CREATE TABLE m(id INTEGER PRIMARY KEY");
  for(i=1; i<=700; i++) sqlite3_str_appendf(pSql, ", c%d", i);
  sqlite3_str_appendall(pSql, "); INSERT INTO w(id, c1500) VALUES(1, 'a'); INSERT INTO d(c600) VALUES(1);"
                              " INSERT INTO m(id, c700) VALUES(1, 'a')\"}");
  zSql = sqlite3_str_finish(pSql);
  okFree(&c, "/exec", zSql);
  sqlite3_free(zSql);
  from = currentLsn(&c);
  okFree(&c, "/exec", "{\"sql\":\"UPDATE w SET c1500 = 'b'; INSERT INTO d(c600) VALUES(1); UPDATE m SET c700 = 'b'\"}");
  z = diffChanges(&c, "", from);
  CHECK(z && strncmp(z, "200 \"changes\":[{\"table\":\"d\",\"type\":\"insert\"", 37)==0);
  /* Its new and old values would pass the most columns SQLite answers in a row:
  ** the changed row is listed as deleted and inserted. */
  CHECK(z && strstr(z, "{\"table\":\"w\",\"type\":\"delete\"") && strstr(z, "\"c1500\":\"a\"}")
          && strstr(z, "{\"table\":\"w\",\"type\":\"insert\"") && strstr(z, "\"c1500\":\"b\"}")
          && strstr(z, "{\"table\":\"w\",\"type\":\"update\"")==0 && strstr(z, "\"more\":false"));
  CHECK(z && strstr(z, "{\"table\":\"m\",\"type\":\"update\""));
  if( z && strncmp(z, "200", 3)!=0 ) printf("  %.300s\n", z);
  sqlite3_free(z);
  connClose(&c);
}

int main(void){
  RUN(reads_see_each_point);
  RUN(a_time_names_the_newest_commit_at_or_before_it);
  RUN(bad_points_and_writes_are_refused);
  RUN(history_and_restore_name_points);
  RUN(diff_lists_row_changes_between_points);
  RUN(diff_is_not_fooled_by_names);
  RUN(diff_lists_the_rows_of_tables_that_hold_them);
  RUN(diff_pairs_rows_by_what_both_points_have);
  RUN(diff_compares_wide_tables);
  RUN(diff_takes_a_view_for_no_table);
  RUN(diff_names_objects_by_their_kind_and_charges_the_list);
  RUN(diff_counts_copies_as_they_are_stored);
  RUN(diff_sees_what_collations_and_numbers_hide);
  return HARNESS_END();
}
