/*
** test_guard.c — the authorizer: what user SQL may not do, and what it still may.
*/
#include "harness.h"

static void denied(Conn *pConn, const char *zSql, const char *zWhy){
  Answer a = postSql(pConn, "/run", zSql);
  CHECK(a.status==403);
  CHECK_STR(answerCode(&a), "SQLITE_AUTH");
  CHECK(answerError(&a) && strstr(answerError(&a), zWhy));
  if( a.status!=403 ) printf("  %s -> %d %s\n", zSql, a.status, a.zBody);
  answerFree(&a);
}

static void attach_and_detach_are_denied(void){
  Conn c;
  openConn(&c);
  denied(&c, "ATTACH 'other.db' AS o", "ATTACH and DETACH");
  denied(&c, "ATTACH ':memory:' AS m", "ATTACH and DETACH");
  denied(&c, "DETACH main", "ATTACH and DETACH");
  connClose(&c);
}

static void unsafe_pragmas_are_denied_and_safe_ones_work(void){
  Conn c;
  openConn(&c);
  denied(&c, "PRAGMA writable_schema=1", "PRAGMA writable_schema is not allowed: SQL may not write "
         "the schema itself. A sqlite3 .dump writes virtual tables (FTS5, R*Tree) that way: import "
         "the database file instead (dosql import");
  denied(&c, "PRAGMA journal_mode=WAL", "PRAGMA journal_mode is read-only here");
  denied(&c, "PRAGMA journal_mode=DELETE", "read-only");
  denied(&c, "PRAGMA synchronous=OFF", "read-only");
  denied(&c, "PRAGMA page_size=1024", "read-only");
  denied(&c, "PRAGMA locking_mode=NORMAL", "read-only");
  denied(&c, "PRAGMA trusted_schema=1", "read-only");
  denied(&c, "PRAGMA shrink_memory", "PRAGMA shrink_memory is not allowed");
  CHECK_STR(scalar(&c, "PRAGMA journal_mode"), "\"memory\"");
  allowed(&c, "PRAGMA user_version=7");
  CHECK_STR(scalar(&c, "PRAGMA user_version"), "7");
  allowed(&c, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM pragma_table_info('t')"), "2");
  CHECK_STR(scalar(&c, "PRAGMA foreign_keys"), "1");
  CHECK_STR(scalar(&c, "PRAGMA integrity_check"), "\"ok\"");
  connClose(&c);
}

/* SQLite applies most settings as it prepares the PRAGMA: explaining one would
** set it, so EXPLAIN of a setting is refused and changes nothing, while EXPLAIN
** of a PRAGMA that reports (with or without an argument) still works. */
static void explaining_a_setting_changes_nothing(void){
  static const char *const azSetting[] = {
    "EXPLAIN PRAGMA recursive_triggers=ON",
    "EXPLAIN QUERY PLAN PRAGMA main.secure_delete(1)",
    "explain /* a comment */ pragma automatic_index = off;",
    "EXPLAIN PRAGMA analysis_limit=77",
    "EXPLAIN PRAGMA writable_schema=ON",
  };
  Conn c;
  Answer a;
  int i;
  openConn(&c);
  allowed(&c, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)");
  for(i=0; i<(int)(sizeof(azSetting)/sizeof(azSetting[0])); i++){
    denied(&c, azSetting[i], "a PRAGMA that sets a value may not be explained or described");
  }
  CHECK_STR(scalar(&c, "PRAGMA recursive_triggers"), "0");
  CHECK_STR(scalar(&c, "PRAGMA secure_delete"), "0");
  CHECK_STR(scalar(&c, "PRAGMA automatic_index"), "1");
  CHECK_STR(scalar(&c, "PRAGMA analysis_limit"), "0");
  a = postSql(&c, "/query", "EXPLAIN PRAGMA table_info(t)");
  CHECK(a.status==200);
  answerFree(&a);
  a = postSql(&c, "/query", "EXPLAIN PRAGMA recursive_triggers");
  CHECK(a.status==200);
  answerFree(&a);
  /* Run, not explained, the same settings still apply (to the end of the request). */
  a = post(&c, "/batch", "{\"operations\":[{\"sql\":\"PRAGMA recursive_triggers=ON\"},"
                          "{\"sql\":\"PRAGMA recursive_triggers\"}]}");
  CHECK(a.status==200 && strstr(a.zBody, "\"recursive_triggers\":1"));
  answerFree(&a);
  /* A script prepares its statements as a single one is prepared: the same
  ** refusal, and the setting untouched (it would last to the request's end). */
  a = post(&c, "/exec", "{\"sql\":\"EXPLAIN PRAGMA foreign_keys=0; INSERT INTO t VALUES(1, 'x')\"}");
  CHECK(a.status==403);
  CHECK_STR(answerCode(&a), "SQLITE_AUTH");
  CHECK(answerError(&a) && strstr(answerError(&a), "may not be explained or described"));
  answerFree(&a);
  a = post(&c, "/exec", "{\"sql\":\"PRAGMA recursive_triggers=ON; EXPLAIN QUERY PLAN PRAGMA automatic_index=0\"}");
  CHECK(a.status==403);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
  CHECK_STR(scalar(&c, "PRAGMA automatic_index"), "1");
  connClose(&c);
}

static void internal_tables_are_read_only(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = migrate(&c, "{\"migrations\":[{\"name\":\"001_a.sql\",\"sql\":\"CREATE TABLE a(x)\"}]}");
  CHECK(a.status==200);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT name FROM _dosql_migrations"), "\"001_a.sql\"");
  denied(&c, "INSERT INTO _dosql_migrations(name, checksum) VALUES('x','y')", "_dosql_");
  denied(&c, "UPDATE _dosql_migrations SET checksum = 'x'", "_dosql_");
  denied(&c, "DELETE FROM _dosql_migrations", "_dosql_");
  denied(&c, "DROP TABLE _dosql_migrations", "_dosql_");
  denied(&c, "ALTER TABLE _dosql_migrations ADD COLUMN z", "_dosql_");
  denied(&c, "CREATE INDEX i ON _dosql_migrations(checksum)", "_dosql_");
  denied(&c, "CREATE TRIGGER tr AFTER INSERT ON _dosql_migrations BEGIN SELECT 1; END", "_dosql_");
  denied(&c, "CREATE TABLE _dosql_mine(x)", "_dosql_");
  connClose(&c);
}

static void vacuum_works_but_vacuum_into_cannot_write_files(void){
  Conn c;
  Answer a;
  openConn(&c);
  allowed(&c, "CREATE TABLE t(x)");
  allowed(&c, "VACUUM");
  /* A batch of one VACUUM runs it as /run does (the D1 facade sends one so). */
  a = post(&c, "/batch", "{\"rowMode\":\"array\",\"operations\":[{\"sql\":\"VACUUM\"}]}");
  CHECK(a.status==200);
  answerFree(&a);
  a = post(&c, "/batch", "{\"operations\":[{\"sql\":\"VACUUM\"},{\"sql\":\"SELECT 1\"}]}");
  CHECK(a.status==400 && answerError(&a) && strstr(answerError(&a), "cannot VACUUM from within a transaction"));
  answerFree(&a);
  /* Refused as it is prepared, whichever way it comes: inside a transaction
  ** SQLite's own "cannot VACUUM from within a transaction" would answer first. */
  static const char *const azVacuumInto[] = {
    "{\"path\":\"/run\",\"body\":{\"sql\":\"VACUUM INTO 'copy.db'\"}}",
    "{\"path\":\"/batch\",\"body\":{\"operations\":[{\"sql\":\"VACUUM main INTO 'copy.db'\"}]}}",
    "{\"path\":\"/exec\",\"body\":{\"sql\":\"SELECT 1; vacuum /* c */ into ?1\"}}",
    "{\"path\":\"/transaction\",\"body\":{\"operations\":[{\"type\":\"run\",\"sql\":\"VACUUM INTO :f\",\"params\":{\":f\":\"x\"}}]}}",
  };
  int i;
  for(i=0; i<(int)(sizeof(azVacuumInto)/sizeof(azVacuumInto[0])); i++){
    cJSON *pCase = cJSON_Parse(azVacuumInto[i]);
    char *zBody = cJSON_PrintUnformatted(cJSON_GetObjectItem(pCase, "body"));
    a = post(&c, cJSON_GetObjectItem(pCase, "path")->valuestring, zBody);
    CHECK(a.status==403);
    CHECK_STR(answerCode(&a), "SQLITE_AUTH");
    CHECK(answerError(&a) && strstr(answerError(&a), "not authorized: VACUUM INTO is not allowed"));
    answerFree(&a);
    cJSON_free(zBody);
    cJSON_Delete(pCase);
  }
  CHECK_STR(scalar(&c, "PRAGMA integrity_check"), "\"ok\"");
  connClose(&c);
}

static void defensive_mode_is_on(void){
  Conn c;
  openConn(&c);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM pragma_compile_options WHERE compile_options = 'OMIT_LOAD_EXTENSION'"), "1");
  denied(&c, "PRAGMA writable_schema=ON", "not allowed");
  connClose(&c);
}

static void savepoint_only_inside_a_transaction(void){
  Conn c;
  Answer a;
  openConn(&c);
  allowed(&c, "CREATE TABLE t(x)");
  denied(&c, "SAVEPOINT a", "only inside a transaction");
  denied(&c, "RELEASE a", "only inside a transaction");
  a = ok(&c, "/transaction", "{\"operations\":["
      "{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(1)\"},"
      "{\"type\":\"run\",\"sql\":\"SAVEPOINT s\"},"
      "{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(2)\"},"
      "{\"type\":\"run\",\"sql\":\"ROLLBACK TO s\"},"
      "{\"type\":\"query\",\"sql\":\"SELECT group_concat(x) AS v FROM t\"}]}");
  CHECK_STR(a.zBody, "[{\"v\":\"1\"}]");
  answerFree(&a);
  CHECK(sqlite3_get_autocommit(c.db));      /* nothing outlives the request */
  connClose(&c);
}

static void no_table_can_be_renamed_into_an_internal_name(void){
  Conn c;
  Answer a;
  openConn(&c);
  allowed(&c, "CREATE TABLE foo(name, checksum, applied_at)");
  denied(&c, "ALTER TABLE foo RENAME TO _dosql_shadow", "_dosql_");
  a = post(&c, "/run", "{\"sql\":\"ALTER TABLE foo RENAME TO _dosql_migrations\"}");
  CHECK(a.status==400);                      /* the real one exists already */
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name)"),
            "\"_dosql_change_log,_dosql_migrations,foo\"");
  allowed(&c, "ALTER TABLE foo RENAME TO bar");
  connClose(&c);
}

/* PRAGMA foreign_keys lasts to the end of its request, kept statements
** included; ignore_check_constraints, which D1 allows, is refused (a row it let
** in would fail integrity_check, and the export would not import); so is
** case_sensitive_like, which is not built in. */
static void integrity_settings_last_to_the_end_of_their_request(void){
  Conn c;
  Answer a;
  openConn(&c);
  allowed(&c, "CREATE TABLE t(x CHECK (x > 0))");
  denied(&c, "PRAGMA case_sensitive_like=ON", "PRAGMA case_sensitive_like is deprecated by SQLite and not built in: for a case-sensitive match use GLOB");
  a = post(&c, "/batch", "{\"operations\":[{\"sql\":\"PRAGMA ignore_check_constraints=ON\"},"
                          "{\"sql\":\"INSERT INTO t VALUES(-1)\"}]}");
  CHECK(a.status==403);
  CHECK(answerError(&a) && strstr(answerError(&a), "PRAGMA ignore_check_constraints is not allowed: a row it let in"));
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
  allowed(&c, "PRAGMA foreign_keys=OFF");
  CHECK_STR(scalar(&c, "PRAGMA foreign_keys"), "1");
  connClose(&c);
}

/* The connection's settings last to the end of the request that makes them,
** or of the interactive transaction it runs in: the next request, whoever sends
** it, starts with the database's own (max_page_count=1 would stop every later
** write; reverse_unordered_selects would reorder another client's rows). */
static void connection_settings_last_to_the_end_of_their_request(void){
  static const char *const azSet[] = {
    "PRAGMA recursive_triggers=ON", "PRAGMA reverse_unordered_selects=1", "PRAGMA automatic_index=OFF",
    "PRAGMA cell_size_check=ON", "PRAGMA analysis_limit=9", "PRAGMA secure_delete=FAST",
    "PRAGMA max_page_count=1", "PRAGMA temp.max_page_count=1", "PRAGMA temp.secure_delete=1",
    "PRAGMA defer_foreign_keys=ON",
  };
  static const char zRead[] = "SELECT (SELECT * FROM pragma_recursive_triggers) || (SELECT * FROM pragma_reverse_unordered_selects)"
      " || (SELECT * FROM pragma_automatic_index) || (SELECT * FROM pragma_cell_size_check)"
      " || (SELECT * FROM pragma_defer_foreign_keys) || '/'"
      " || (SELECT * FROM pragma_analysis_limit) || '/' || (SELECT * FROM pragma_secure_delete)"
      " || '/' || (SELECT max_page_count > 1000 FROM pragma_max_page_count)";
  Conn c;
  Answer a;
  char zBefore[64], zBody[1024];
  int i;
  openConn(&c);
  allowed(&c, "CREATE TEMP TABLE scratch(x)");
  sqlite3_snprintf(sizeof(zBefore), zBefore, "%s", scalar(&c, zRead));
  CHECK_STR(zBefore, "\"00100/0/0/1\"");
  for(i=0; i<(int)(sizeof(azSet)/sizeof(azSet[0])); i++){
    allowed(&c, azSet[i]);
    CHECK_STR(scalar(&c, zRead), zBefore);
  }
  allowed(&c, "CREATE TABLE t(x)");
  allowed(&c, "INSERT INTO t VALUES(zeroblob(20000))");              /* max_page_count is gone */
  allowed(&c, "INSERT INTO temp.scratch VALUES(zeroblob(20000))");
  CHECK_STR(scalar(&c, "PRAGMA temp.secure_delete"), "0");
  /* In one request, and across an interactive transaction, they hold. */
  sqlite3_snprintf(sizeof(zBody), zBody, "{\"operations\":[{\"sql\":\"%s\"},{\"sql\":\"%s\"}]}", azSet[0], zRead);
  a = post(&c, "/batch", zBody);
  CHECK(a.status==200 && strstr(a.zBody, "\"10100/0/0/1\""));
  answerFree(&a);
  okFree(&c, "/begin", "{}");
  a = callFlags(&c, "POST", "/run", "{\"sql\":\"PRAGMA reverse_unordered_selects=1\"}", DOSQL_REQUEST_IN_TRANSACTION);
  CHECK(a.status==200);
  answerFree(&a);
  a = callFlags(&c, "POST", "/query", "{\"sql\":\"PRAGMA reverse_unordered_selects\"}", DOSQL_REQUEST_IN_TRANSACTION);
  CHECK(a.status==200 && a.zBody && strstr(a.zBody, ":1}"));
  answerFree(&a);
  a = callFlags(&c, "POST", "/commit", "{}", DOSQL_REQUEST_IN_TRANSACTION);
  CHECK(a.status==200);
  answerFree(&a);
  CHECK_STR(scalar(&c, zRead), zBefore);
  connClose(&c);
}

/* Every PRAGMA user SQL may run with a value only reports, or sets what the
** database file keeps (as in SQLite), or sets what the test above checks is
** undone at the end of its request. One that guard.c comes to allow must be
** placed here, and a setting restored (sqlite/unit.c DosqlSettings). */
static void every_pragma_allowed_with_a_value_is_one_of_three_kinds(void){
  static const char zKnown[] =
      /* reports */
      " collation_list compile_options data_version database_list foreign_key_check"
      " foreign_key_list freelist_count function_list index_info index_list index_xinfo"
      " integrity_check module_list optimize page_count pragma_list quick_check table_info"
      " table_list table_xinfo"
      /* kept by the file */
      " application_id auto_vacuum incremental_vacuum user_version"
      /* undone at the end of the request */
      " analysis_limit automatic_index cell_size_check defer_foreign_keys foreign_keys"
      " max_page_count recursive_triggers reverse_unordered_selects secure_delete ";
  Conn c;
  sqlite3_stmt *pList = 0;
  char zSql[128], zName[80];
  int nAllowed = 0;
  openConn(&c);
  CHECK(sqlite3_prepare_v2(c.db, "SELECT name FROM pragma_pragma_list", -1, &pList, 0)==SQLITE_OK);
  while( pList && sqlite3_step(pList)==SQLITE_ROW ){
    const char *z = (const char*)sqlite3_column_text(pList, 0);
    Answer a;
    sqlite3_snprintf(sizeof(zSql), zSql, "PRAGMA %s=1", z);
    a = postSql(&c, "/run", zSql);
    if( a.status!=403 ){
      nAllowed++;
      sqlite3_snprintf(sizeof(zName), zName, " %s ", z);
      CHECK(strstr(zKnown, zName)!=0);
      if( strstr(zKnown, zName)==0 ) printf("  %s is allowed (%d) and of no known kind\n", zSql, a.status);
    }
    answerFree(&a);
  }
  sqlite3_finalize(pList);
  CHECK(nAllowed>=30);
  connClose(&c);
}

/* A request that turns foreign keys off answers for each row it leaves
** unmatched, not for those that were so before it (a libSQL pipeline may leave
** some; a file may arrive with them): fixing one of those pays for no other, of
** the same table and key or another key to the same parent. A check that cannot
** run says why. */
static void the_foreign_key_check_holds_a_request_to_its_own_rows(void){
  static const char zRebuild[] = "{\"sql\":\"PRAGMA foreign_keys=OFF;"
      " CREATE TABLE o2(id INTEGER PRIMARY KEY, v); INSERT INTO o2 SELECT * FROM o;"
      " DROP TABLE o; ALTER TABLE o2 RENAME TO o; PRAGMA foreign_keys=ON\"}";
  Conn c;
  Answer a;
  openConn(&c);
  allowed(&c, "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT)");
  allowed(&c, "CREATE TABLE k(id INTEGER PRIMARY KEY, pid REFERENCES p(id), qid REFERENCES p(id))");
  allowed(&c, "CREATE TABLE o(id INTEGER PRIMARY KEY, v)");
  allowed(&c, "INSERT INTO p VALUES(1, 'a'), (2, 'b'), (3, 'c')");
  allowed(&c, "INSERT INTO k VALUES(10, 1, 3), (20, 2, 3), (30, 3, 3)");
  forge(&c, "PRAGMA foreign_keys=OFF; DELETE FROM p WHERE id=1; PRAGMA foreign_keys=ON");
  allowed(&c, "CREATE TEMP TABLE pragma_foreign_key_check(x)");   /* would shadow the function */
  a = post(&c, "/exec", zRebuild);                /* k's row 10 was unmatched before */
  CHECK(a.status==200);
  answerFree(&a);
  a = post(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; DELETE FROM p WHERE id=2\"}");
  CHECK(a.status==409);
  CHECK(answerError(&a) && strstr(answerError(&a), "leaves a row of k (rowid 20) whose foreign key "
                                  "finds no row in p"));
  answerFree(&a);
  a = post(&c, "/batch", "{\"operations\":[{\"sql\":\"PRAGMA foreign_keys=OFF\"},"
      "{\"sql\":\"UPDATE k SET pid=3 WHERE id=10\"},{\"sql\":\"UPDATE k SET qid=9 WHERE id=30\"}]}");
  CHECK(a.status==409);                           /* fixed 10's pid, broke 30's qid */
  CHECK(answerError(&a) && strstr(answerError(&a), "leaves a row of k (rowid 30)"));
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT group_concat(id || ':' || pid || ':' || qid) FROM k"), "\"10:1:3,20:2:3,30:3:3\"");
  /* SQLite's rebuild of the child table itself renumbers its rowids (no INTEGER
  ** PRIMARY KEY) and its keys: the row found unmatched is still the one. */
  allowed(&c, "CREATE TABLE t(name, qid REFERENCES p(id), pid REFERENCES p(id))");
  forge(&c, "PRAGMA foreign_keys=OFF; INSERT INTO t VALUES('a', 1, 1), ('b', 1, 1), ('c', 3, 3), ('d', 3, 99);"
            " DELETE FROM t WHERE name IN ('a', 'b'); PRAGMA foreign_keys=ON");
  a = post(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; CREATE TABLE t2(name, pid REFERENCES p(id), qid REFERENCES p(id));"
      " INSERT INTO t2 SELECT name, pid, qid FROM t; DROP TABLE t; ALTER TABLE t2 RENAME TO t; PRAGMA foreign_keys=ON\"}");
  CHECK(a.status==200);
  answerFree(&a);
  /* A key SQLite cannot check (p.name has no unique index: "foreign key
  ** mismatch"), in main or temp, tells nothing of what a request left: the
  ** others are still checked, as native SQLite runs the rebuild. */
  allowed(&c, "CREATE TABLE named(id INTEGER PRIMARY KEY, pname REFERENCES p(name))");
  allowed(&c, "CREATE TEMP TABLE tq(x)");
  allowed(&c, "CREATE TEMP TABLE td(qx REFERENCES tq(x))");
  a = post(&c, "/exec", zRebuild);
  CHECK(a.status==200);
  answerFree(&a);
  a = post(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; UPDATE k SET qid=7 WHERE id=20; PRAGMA foreign_keys=ON\"}");
  CHECK(a.status==409);
  CHECK(answerError(&a) && strstr(answerError(&a), "leaves a row of k (rowid 20)"));
  answerFree(&a);
  /* Such a table that holds rows cannot be checked, its good keys neither: the
  ** request fails, SQLite saying why. */
  allowed(&c, "CREATE TABLE both(id INTEGER PRIMARY KEY, pid REFERENCES p(id), pname REFERENCES p(name))");
  forge(&c, "PRAGMA foreign_keys=OFF; INSERT INTO both VALUES(1, 2, 'b'); PRAGMA foreign_keys=ON");
  a = post(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; UPDATE both SET pid=99; PRAGMA foreign_keys=ON\"}");
  CHECK(a.status==400 && answerCode(&a) && strcmp(answerCode(&a), "SQLITE_ERROR")==0);
  CHECK(answerError(&a) && strstr(answerError(&a), "foreign key mismatch - \"both\" referencing \"p\""));
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT pid FROM both"), "2");
  CHECK_STR(scalar(&c, "PRAGMA foreign_keys"), "1");
  connClose(&c);
}

int main(void){
  RUN(the_foreign_key_check_holds_a_request_to_its_own_rows);
  RUN(integrity_settings_last_to_the_end_of_their_request);
  RUN(connection_settings_last_to_the_end_of_their_request);
  RUN(every_pragma_allowed_with_a_value_is_one_of_three_kinds);
  RUN(attach_and_detach_are_denied);
  RUN(unsafe_pragmas_are_denied_and_safe_ones_work);
  RUN(explaining_a_setting_changes_nothing);
  RUN(internal_tables_are_read_only);
  RUN(vacuum_works_but_vacuum_into_cannot_write_files);
  RUN(defensive_mode_is_on);
  RUN(savepoint_only_inside_a_transaction);
  RUN(no_table_can_be_renamed_into_an_internal_name);
  return HARNESS_END();
}
