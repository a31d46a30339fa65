/*
** test_migrate.c — migrations apply once, in order, each all or nothing, and an
** edited applied migration stops the object with an error naming the file.
*/
#include "harness.h"
#include "host.h"

#define M1 "{\"name\":\"001_users.sql\",\"sql\":\"CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT UNIQUE);\"}"
#define M2 "{\"name\":\"002_posts.sql\",\"sql\":\"CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id)); CREATE INDEX posts_user ON posts(user_id);\"}"
#define M2_EDITED "{\"name\":\"002_posts.sql\",\"sql\":\"CREATE TABLE posts(id INTEGER PRIMARY KEY);\"}"
#define M3_BAD "{\"name\":\"003_bad.sql\",\"sql\":\"CREATE TABLE half(x); INSERT INTO nope VALUES(1);\"}"

static void migrations_apply_once_in_order(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = migrate(&c, "{\"migrations\":[" M1 "," M2 "]}");
  CHECK(a.status==200);
  CHECK_STR(a.zBody, "{\"applied\":[\"001_users.sql\",\"002_posts.sql\"]}");
  answerFree(&a);
  connClose(&c);
  openConn(&c);
  a = migrate(&c, "{\"migrations\":[" M1 "," M2 "]}");
  CHECK_STR(a.zBody, "{\"applied\":[]}");
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT group_concat(name) FROM _dosql_migrations"), "\"001_users.sql,002_posts.sql\"");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM sqlite_schema WHERE name='posts_user'"), "1");
  connClose(&c);
}

static void edited_applied_migration_is_refused(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = migrate(&c, "{\"migrations\":[" M1 "," M2 "]}");
  answerFree(&a);
  a = migrate(&c, "{\"migrations\":[" M1 "," M2_EDITED "]}");
  CHECK(a.status==500);
  CHECK_STR(answerCode(&a), "MIGRATION_CHANGED");
  CHECK(answerError(&a) && strstr(answerError(&a), "002_posts.sql"));
  answerFree(&a);
  connClose(&c);
}

#define M_CRLF "{\"name\":\"001_crlf.sql\",\"sql\":\"CREATE TABLE a(x);\\r\\nCREATE TABLE b(y);\\r\\n\"}"
#define M_LF "{\"name\":\"001_crlf.sql\",\"sql\":\"CREATE TABLE a(x);\\nCREATE TABLE b(y);\\n\"}"

/* FNV-1a of every byte of z, as the first releases recorded a migration. */
static void everyByteChecksum(const char *z, char zOut[17]){
  sqlite3_uint64 h = 0xcbf29ce484222325ull;
  for(; *z; z++){
    h ^= (unsigned char)*z;
    h *= 0x100000001b3ull;
  }
  sqlite3_snprintf(17, zOut, "%016llx", h);
}

/* Apply the migrations of zBody; the names it answers applied are zApplied. */
static void migrateApplies(Conn *pConn, const char *zBody, const char *zApplied){
  Answer a = migrate(pConn, zBody);
  CHECK_STR(a.zBody, zApplied);
  answerFree(&a);
}

/* Make the record of the applied migration the checksum of every byte of
** zText, as an older release wrote it: the CRLF file must still match it (nothing runs again). */
static void recordedByAnOlderRelease(Conn *pConn, const char *zText){
  char zSum[17], *zForge;
  everyByteChecksum(zText, zSum);
  zForge = sqlite3_mprintf("UPDATE _dosql_migrations SET checksum='%s'", zSum);
  forge(pConn, zForge);
  sqlite3_free(zForge);
  migrateApplies(pConn, "{\"migrations\":[" M_CRLF "]}", "{\"applied\":[]}");
}

static void line_endings_are_not_an_edit(void){
  Conn c;
  openConn(&c);
  migrateApplies(&c, "{\"migrations\":[" M_CRLF "]}", "{\"applied\":[\"001_crlf.sql\"]}");
  /* The same file checked out with LF line endings: applied, not changed. */
  migrateApplies(&c, "{\"migrations\":[" M_LF "]}", "{\"applied\":[]}");
  /* A record of a first release, the checksum of every byte of the CRLF file,
  ** still matches that file. */
  recordedByAnOlderRelease(&c, "CREATE TABLE a(x);\r\nCREATE TABLE b(y);\r\n");
  connClose(&c);
}

#define M_BOM "{\"name\":\"001_crlf.sql\",\"sql\":\"\xef\xbb\xbf" "CREATE TABLE a(x);\\r\\nCREATE TABLE b(y);\\r\\n\"}"

/* A UTF-8 byte-order mark is not an edit either, whichever way: a file saved
** with one runs and matches itself without it; and a record of a release that
** read the mark (its CRLF stripped, or every byte) matches the file without it. */
static void a_byte_order_mark_is_not_an_edit(void){
  Conn c;
  openConn(&c);
  migrateApplies(&c, "{\"migrations\":[" M_BOM "]}", "{\"applied\":[\"001_crlf.sql\"]}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM sqlite_schema WHERE name IN ('a','b')"), "2");
  migrateApplies(&c, "{\"migrations\":[" M_LF "]}", "{\"applied\":[]}");
  recordedByAnOlderRelease(&c, "\xef\xbb\xbf" "CREATE TABLE a(x);\nCREATE TABLE b(y);\n");
  recordedByAnOlderRelease(&c, "\xef\xbb\xbf" "CREATE TABLE a(x);\r\nCREATE TABLE b(y);\r\n");
  connClose(&c);
}

/* A TEMP object made by a migration would last until the engine restarts, and
** the migration never runs again: it fails, and nothing of it stays. */
static void a_migration_makes_no_temp_object(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = migrate(&c, "{\"migrations\":[{\"name\":\"001_temp.sql\",\"sql\":"
                  "\"CREATE TABLE kept(x);\\nCREATE TEMP TRIGGER t AFTER INSERT ON kept BEGIN SELECT 1; END;\"}]}");
  CHECK(a.status==500);
  CHECK_STR(answerCode(&a), "MIGRATION_FAILED");
  CHECK(answerError(&a) && strstr(answerError(&a), "migration 001_temp.sql failed at line 2: it creates a TEMP"));
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM sqlite_schema WHERE name='kept'"), "0");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM temp.sqlite_schema"), "0");
  connClose(&c);
}

static void failing_migration_leaves_nothing_half_applied(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = migrate(&c, "{\"migrations\":[" M1 "," M3_BAD "," M2 "]}");
  CHECK(a.status==500);
  CHECK_STR(answerCode(&a), "MIGRATION_FAILED");
  CHECK(answerError(&a) && strstr(answerError(&a), "003_bad.sql") && strstr(answerError(&a), "no such table: nope"));
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM sqlite_schema WHERE name IN ('half','posts')"), "0");
  CHECK_STR(scalar(&c, "SELECT group_concat(name) FROM _dosql_migrations"), "\"001_users.sql\"");
  connClose(&c);
}

/* POST /restore/check (the host's, before a restore): a point is checked against
** the migrations a deployment ships, with the rule the start applies. */
static Answer restoreCheck(Conn *pConn, const char *zList){
  char *zBody = sqlite3_mprintf("{\"migrations\":[%s]}", zList);
  Answer a = callFlags(pConn, "POST", "/restore/check", zBody, DOSQL_REQUEST_INTERNAL);
  sqlite3_free(zBody);
  return a;
}

static void a_restore_is_checked_as_a_start_would_be(void){
  Conn c;
  Answer a;
  openConn(&c);
  migrateApplies(&c, "{\"migrations\":[" M1 "," M2 "]}", "{\"applied\":[\"001_users.sql\",\"002_posts.sql\"]}");
  a = restoreCheck(&c, M1 "," M2);
  CHECK(a.status==200);
  CHECK_STR(a.zBody, "{}");
  answerFree(&a);
  a = restoreCheck(&c, M1 "," M2 "," M3_BAD);
  CHECK(a.status==409);
  CHECK_STR(answerCode(&a), "RESTORE_WOULD_MIGRATE");
  CHECK(answerError(&a) && strstr(answerError(&a), "before the migration 003_bad.sql,"));
  answerFree(&a);
  a = restoreCheck(&c, M1 "," M2_EDITED);
  CHECK(a.status==409);
  CHECK_STR(answerCode(&a), "RESTORE_WOULD_MIGRATE");
  CHECK(answerError(&a) && strstr(answerError(&a), "002_posts.sql with another text"));
  answerFree(&a);
  a = restoreCheck(&c, "{\"name\":1}");
  CHECK(a.status==400);
  answerFree(&a);
  /* A branch runs the migrations it lacks at its start, as a new database does; one
  ** applied with another text would fail it. */
  a = callFlags(&c, "POST", "/restore/check", "{\"branch\":true,\"migrations\":[" M1 "," M2 "," M3_BAD "]}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==200);
  answerFree(&a);
  a = callFlags(&c, "POST", "/restore/check", "{\"branch\":true,\"migrations\":[" M1 "," M2_EDITED "]}", DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==409);
  CHECK_STR(answerCode(&a), "BRANCH_MIGRATION_CHANGED");
  CHECK(answerError(&a) && strstr(answerError(&a), "002_posts.sql with another text than this deployment ships: a branch of it would not start"));
  answerFree(&a);
  connClose(&c);
}

/* A statement with a parameter cannot run in a migration: it says so, not what /exec's would. */
static void a_migration_parameter_says_to_write_the_value(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = migrate(&c, "{\"migrations\":[{\"name\":\"001_p.sql\",\"sql\":\"CREATE TABLE t(x);\\nINSERT INTO t VALUES(?);\"}]}");
  CHECK(a.status==500);
  CHECK_STR(answerCode(&a), "MIGRATION_FAILED");
  CHECK(answerError(&a) && strstr(answerError(&a), "001_p.sql failed at line 2")
        && strstr(answerError(&a), "write the values into the statement")
        && !strstr(answerError(&a), "/run"));
  answerFree(&a);
  connClose(&c);
}

/* A migration listed before one the database applied already runs after it
** here: it runs, and the host's log gets a warning. In order, no warning. */
static void a_migration_below_an_applied_one_runs_with_a_warning(void){
  Conn c;
  openConn(&c);
  migrateApplies(&c, "{\"migrations\":[" M1 "]}", "{\"applied\":[\"001_users.sql\"]}");
  hostMemLogWorst();
  migrateApplies(&c, "{\"migrations\":[" M1 "," M2 "]}", "{\"applied\":[\"002_posts.sql\"]}");
  CHECK(hostMemLogWorst()==HOST_MEM_LOG_NONE);
  migrateApplies(&c, "{\"migrations\":[{\"name\":\"0015_late.sql\",\"sql\":\"CREATE TABLE late(x);\"}," M1 "," M2 "]}",
                 "{\"applied\":[\"0015_late.sql\"]}");
  CHECK(hostMemLogWorst()==DOSQL_LOG_WARN);
  connClose(&c);
}

static void migration_with_its_own_begin_fails_clearly(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = migrate(&c, "{\"migrations\":[{\"name\":\"001_tx.sql\",\"sql\":\"BEGIN; CREATE TABLE x(a); COMMIT;\"}]}");
  CHECK(a.status==500);
  CHECK_STR(answerCode(&a), "MIGRATION_FAILED");
  CHECK(answerError(&a) && strstr(answerError(&a), "001_tx.sql"));
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM sqlite_schema WHERE name='x'"), "0");
  connClose(&c);
}

/* A failing migration names the line of its file: SQLite's token for a syntax
** error, else the first line of the statement that failed (past comments). */
static void failing_migration_names_its_line(void){
  static const struct { const char *zSql, *zLine; } aCase[] = {
    { "CREATE TABLE a(x);\\n-- the next one is wrong\\nCREATE TABL b(y);", "failed at line 3: near \"TABL\": syntax error" },
    { "CREATE TABLE a(x);\\n\\nCREATE TABLE b(\\n  y,\\n  z,,\\n);", "failed at line 5: " },
    { "CREATE TABLE a(x UNIQUE);\\n/* two rows,\\n one value */\\n-- twice\\nINSERT INTO a VALUES(1),\\n(1);", "failed at line 5: UNIQUE constraint failed: a.x" },
    { "CREATE TABLE a(x);\\nSELECT * FROM nope;", "failed at line 2: no such table: nope" },
    { "CREATE TABLE a(x);\\rCREATE TABLE b(x);\\rINSERT INTO nope VALUES(1);", "failed at line 3: no such table: nope" },
  };
  int i;
  for(i=0; i<(int)(sizeof(aCase)/sizeof(aCase[0])); i++){
    Conn c;
    Answer a;
    char *zBody = sqlite3_mprintf("{\"migrations\":[{\"name\":\"001_x.sql\",\"sql\":\"%s\"}]}", aCase[i].zSql);
    openConn(&c);
    a = migrate(&c, zBody);
    CHECK(a.status==500);
    CHECK_STR(answerCode(&a), "MIGRATION_FAILED");
    if( !(answerError(&a) && strstr(answerError(&a), aCase[i].zLine)) ){
      printf("  case %d: %s\n", i, answerError(&a) ? answerError(&a) : "(no error)");
      CHECK(0);
    }
    answerFree(&a);
    connClose(&c);
    sqlite3_free(zBody);
  }
}

/* A migration that writes a table and then alters, drops or re-creates it: each
** statement's rows are logged with the columns the table had then (a DROP
** TABLE reports no rows of its own, docs/changes.md). */
static void a_migration_logs_each_statement_with_its_columns(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = migrate(&c, "{\"migrations\":[{\"name\":\"1\",\"sql\":\"CREATE TABLE t(a); INSERT INTO t VALUES(1);"
                  " ALTER TABLE t ADD COLUMN b; INSERT INTO t VALUES(2, 3);"
                  " CREATE TABLE u(a, b); INSERT INTO u VALUES(4, 5); DROP TABLE u;"
                  " CREATE TABLE u(p, q); INSERT INTO u VALUES(6, 7);"
                  " CREATE TABLE gone(x); INSERT INTO gone VALUES(8); DROP TABLE gone;\"}]}");
  CHECK(a.status==200);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT group_concat(tbl || ' ' || type || ' ' || data || coalesce(' ' || old, ''), ' | ')"
                       " FROM _dosql_changes"),
    "\"t insert {\\\"a\\\":1} | t insert {\\\"a\\\":2,\\\"b\\\":3} | u insert {\\\"a\\\":4,\\\"b\\\":5}"
    " | u insert {\\\"p\\\":6,\\\"q\\\":7} | gone insert {\\\"x\\\":8}\"");
  connClose(&c);
}

/* A table rebuild with foreign keys off answers for the rows it leaves
** unmatched, not for one that was so before it: the object, whose every request
** waits on its migrations, would answer none. */
static void a_rebuild_migration_is_not_failed_by_an_old_unmatched_row(void){
  Conn c;
  Answer a;
  openConn(&c);
  forge(&c, "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE k(id INTEGER PRIMARY KEY, pid REFERENCES p(id));"
            " CREATE TABLE o(id INTEGER PRIMARY KEY); PRAGMA foreign_keys=OFF; INSERT INTO k VALUES(10, 1);"
            " PRAGMA foreign_keys=ON");
  a = migrate(&c, "{\"migrations\":[{\"name\":\"002_rebuild.sql\",\"sql\":\"PRAGMA foreign_keys=OFF;"
                  " CREATE TABLE o2(id INTEGER PRIMARY KEY, w); INSERT INTO o2(id) SELECT id FROM o;"
                  " DROP TABLE o; ALTER TABLE o2 RENAME TO o; PRAGMA foreign_keys=ON;\"}]}");
  CHECK(a.status==200);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM _dosql_migrations"), "1");
  connClose(&c);
}

int main(void){
  RUN(a_rebuild_migration_is_not_failed_by_an_old_unmatched_row);
  RUN(migrations_apply_once_in_order);
  RUN(edited_applied_migration_is_refused);
  RUN(line_endings_are_not_an_edit);
  RUN(a_byte_order_mark_is_not_an_edit);
  RUN(a_migration_makes_no_temp_object);
  RUN(failing_migration_leaves_nothing_half_applied);
  RUN(a_restore_is_checked_as_a_start_would_be);
  RUN(a_migration_parameter_says_to_write_the_value);
  RUN(a_migration_below_an_applied_one_runs_with_a_warning);
  RUN(migration_with_its_own_begin_fails_clearly);
  RUN(failing_migration_names_its_line);
  RUN(a_migration_logs_each_statement_with_its_columns);
  return HARNESS_END();
}
