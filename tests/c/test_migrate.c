/*
** test_migrate.c — migrations apply once, in order, each all or nothing, and an
** edited applied migration stops the object with an error naming the file.
*/
#include "harness.h"

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

int main(void){
  RUN(migrations_apply_once_in_order);
  RUN(edited_applied_migration_is_refused);
  RUN(failing_migration_leaves_nothing_half_applied);
  RUN(migration_with_its_own_begin_fails_clearly);
  return HARNESS_END();
}
