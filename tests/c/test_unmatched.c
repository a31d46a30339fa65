/*
** test_unmatched.c — the rows whose foreign key finds no row (unmatched.h): a
** request that turns foreign keys off answers for those it leaves, not for
** those it found, however SQLite's table rebuild renumbers, retypes or renames
** around them, and whatever names the user chose.
*/
#include "harness.h"

/* The request must answer status, and its error (if any) say zError. */
static void answers(Conn *pConn, const char *zPath, const char *zBody, int status, const char *zError){
  Answer a = post(pConn, zPath, zBody);
  CHECK(a.status==status && (!zError || (answerError(&a) && strstr(answerError(&a), zError))));
  if( a.status!=status ) printf("  %s %s -> %d %.300s\n", zPath, zBody, a.status, a.zBody);
  answerFree(&a);
}
#define refused(c, zPath, zBody) answers(c, zPath, zBody, 409, 0)
#define works(c, zPath, zBody) answers(c, zPath, zBody, 200, 0)
/* The script is refused by the authorizer, naming defer_foreign_keys. */
#define forbidden(c, zBody) answers(c, "/exec", zBody, 403, "defer_foreign_keys=OFF is not allowed")

static void setup(Conn *c, const char *zChild, const char *zOrphans){
  hostMemReset();
  openConn(c);
  allowed(c, "CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT UNIQUE)");
  allowed(c, "INSERT INTO p VALUES(1, 'one'), (2, 'two'), (3, 'three')");
  allowed(c, zChild);
  forge(c, zOrphans);
}

/* A column the user named rowid would stand in for the rowid a key is read by:
** another row's key, or none, and a new orphan would pass for an old one. */
static void a_column_named_rowid_does_not_blur_the_key(void){
  Conn c;
  setup(&c, "CREATE TABLE c(rowid TEXT, pid REFERENCES p(id))",
        "PRAGMA foreign_keys=OFF; INSERT INTO c VALUES('x', 7); PRAGMA foreign_keys=ON");
  /* A new row unmatched by another value, the old one fixed: refused for a
  ** table without such a column (the next test), so here too. */
  refused(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; UPDATE c SET pid=1 WHERE pid=7; INSERT INTO c VALUES('y', 99)\"}");
  CHECK_STR(scalar(&c, "SELECT group_concat(pid) FROM c"), "\"7\"");
  connClose(&c);
  /* The other way: changing that column makes no orphan. */
  setup(&c, "CREATE TABLE c(rowid INT, pid REFERENCES p(id), note)",
        "PRAGMA foreign_keys=OFF; INSERT INTO c VALUES(1, 7, 'a'); PRAGMA foreign_keys=ON");
  works(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; UPDATE c SET rowid=5\"}");
  connClose(&c);
}

/* The same request without the shadowing column: refused. */
static void control_without_a_rowid_column(void){
  Conn c;
  setup(&c, "CREATE TABLE c(name TEXT, pid REFERENCES p(id))",
        "PRAGMA foreign_keys=OFF; INSERT INTO c VALUES('x', 7); PRAGMA foreign_keys=ON");
  refused(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; UPDATE c SET pid=1 WHERE pid=7; INSERT INTO c VALUES('y', 99)\"}");
  connClose(&c);
}

/* Names are SQLite's, without case: a rebuild that spells the parent or the
** child otherwise keeps the old orphan. */
static void a_rebuild_that_spells_a_name_otherwise_keeps_the_old_row(void){
  Conn c;
  setup(&c, "CREATE TABLE c(id INTEGER PRIMARY KEY, pid REFERENCES p(id))",
        "PRAGMA foreign_keys=OFF; INSERT INTO c VALUES(1, 7); PRAGMA foreign_keys=ON");
  works(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; CREATE TABLE c2(id INTEGER PRIMARY KEY, pid REFERENCES P(id), extra);"
        " INSERT INTO c2(id, pid) SELECT id, pid FROM c; DROP TABLE c; ALTER TABLE c2 RENAME TO c; PRAGMA foreign_keys=ON\"}");
  connClose(&c);
  setup(&c, "CREATE TABLE Users(id INTEGER PRIMARY KEY, pid REFERENCES p(id))",
        "PRAGMA foreign_keys=OFF; INSERT INTO Users VALUES(1, 7); PRAGMA foreign_keys=ON");
  works(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; CREATE TABLE new_users(id INTEGER PRIMARY KEY, pid REFERENCES p(id), extra);"
        " INSERT INTO new_users(id, pid) SELECT id, pid FROM Users; DROP TABLE Users; ALTER TABLE new_users RENAME TO users\"}");
  connClose(&c);
}

/* A rebuild that changes the child column's type (drizzle-kit does it for a
** type change) turns the old orphan's '7' into 7: still the row found so. */
static void a_rebuild_that_changes_affinity_keeps_the_old_row(void){
  Conn c;
  setup(&c, "CREATE TABLE c(id INTEGER PRIMARY KEY, pid TEXT REFERENCES p(id))",
        "PRAGMA foreign_keys=OFF; INSERT INTO c VALUES(1, '7'); PRAGMA foreign_keys=ON");
  works(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; CREATE TABLE c2(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id));"
        " INSERT INTO c2 SELECT * FROM c; DROP TABLE c; ALTER TABLE c2 RENAME TO c; PRAGMA foreign_keys=ON\"}");
  connClose(&c);
}

/* Renaming a parent that has an orphan (SQLite rewrites the children's
** REFERENCES): the row found unmatched is the same one. */
static void renaming_a_parent_keeps_the_old_row(void){
  Conn c;
  setup(&c, "CREATE TABLE c(id INTEGER PRIMARY KEY, pid REFERENCES p(id))",
        "PRAGMA foreign_keys=OFF; INSERT INTO c VALUES(1, 7); PRAGMA foreign_keys=ON");
  works(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; ALTER TABLE p RENAME TO parents; PRAGMA foreign_keys=ON\"}");
  connClose(&c);
}

/* Two keys of one child to one parent, on different columns (p.id and the
** UNIQUE p.code): fixing the old orphan of one pays for no new one of the other. */
static void another_key_to_the_same_parent_is_another_row(void){
  Conn c;
  setup(&c, "CREATE TABLE c(id INTEGER PRIMARY KEY, pid REFERENCES p(id), pcode REFERENCES p(code))",
        "PRAGMA foreign_keys=OFF; INSERT INTO c VALUES(10, 7, NULL), (20, 1, 'one'); PRAGMA foreign_keys=ON");
  /* p has no code '7' either: row 20 now points at nothing through pcode. */
  refused(&c, "/batch", "{\"operations\":[{\"sql\":\"PRAGMA foreign_keys=OFF\"},"
      "{\"sql\":\"UPDATE c SET pid=1 WHERE id=10\"},{\"sql\":\"UPDATE c SET pcode=7 WHERE id=20\"}]}");
  CHECK_STR(scalar(&c, "SELECT group_concat(id || ':' || pid || ':' || coalesce(pcode, '-')) FROM c"), "\"10:7:-,20:1:one\"");
  connClose(&c);
  setup(&c, "CREATE TABLE c(id INTEGER PRIMARY KEY, pid REFERENCES p(id), pcode REFERENCES p(code))",
        "PRAGMA foreign_keys=OFF; INSERT INTO c VALUES(10, 7, NULL), (20, 1, 'one'); PRAGMA foreign_keys=ON");
  /* The same key unmatched by the same value on another row is the same
  ** unmatched reference, counted: no more of them than before (unmatched.h). */
  works(&c, "/batch", "{\"operations\":[{\"sql\":\"PRAGMA foreign_keys=OFF\"},"
      "{\"sql\":\"UPDATE c SET pid=1 WHERE id=10\"},{\"sql\":\"UPDATE c SET pid=7 WHERE id=20\"}]}");
  connClose(&c);
}

/* A WITHOUT ROWID child's rows cannot be read back by rowid: they are counted
** by key (unmatched.h), so one more is refused. */
static void a_without_rowid_child_is_counted_by_key(void){
  Conn c;
  setup(&c, "CREATE TABLE c(id INTEGER PRIMARY KEY, pid REFERENCES p(id)) WITHOUT ROWID",
        "PRAGMA foreign_keys=OFF; INSERT INTO c VALUES(10, 7); PRAGMA foreign_keys=ON");
  refused(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; INSERT INTO c VALUES(11, 123456)\"}");
  works(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; UPDATE c SET pid=1 WHERE id=10\"}");
  connClose(&c);
}

/* TEMP tables last for later requests of the tenant: they are checked too. */
static void temp_tables_are_checked_too(void){
  Conn c;
  openConn(&c);
  allowed(&c, "CREATE TEMP TABLE tp(id INTEGER PRIMARY KEY)");
  allowed(&c, "CREATE TEMP TABLE tc(pid REFERENCES tp(id))");
  allowed(&c, "INSERT INTO tp VALUES(1)");
  allowed(&c, "INSERT INTO tc VALUES(1)");
  refused(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; DELETE FROM tp\"}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM temp.tp"), "1");
  connClose(&c);
}

/* PRAGMA defer_foreign_keys=OFF zeroes SQLite's count of the deferred keys
** left unmatched, which would then commit: it is refused while any is. */
static void defer_foreign_keys_off_does_not_forget_a_violation(void){
  Conn c;
  openConn(&c);
  allowed(&c, "CREATE TABLE p(id INTEGER PRIMARY KEY)");
  allowed(&c, "CREATE TABLE c(pid REFERENCES p(id))");
  forbidden(&c, "{\"sql\":\"PRAGMA defer_foreign_keys=ON; INSERT INTO c VALUES(99); PRAGMA defer_foreign_keys=OFF\"}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM c"), "0");
  allowed(&c, "CREATE TABLE d(pid REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)");
  forbidden(&c, "{\"sql\":\"INSERT INTO d VALUES(99); PRAGMA defer_foreign_keys=OFF\"}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM d"), "0");
  /* With none unmatched, it is allowed (and it is never a kept statement). */
  works(&c, "/exec", "{\"sql\":\"PRAGMA defer_foreign_keys=ON; INSERT INTO p VALUES(5); INSERT INTO c VALUES(5); PRAGMA defer_foreign_keys=OFF\"}");
  connClose(&c);
}

/* One column with keys to two parents: the old row's match in one pays for no
** new row's loss of the other (the parent's name tells such keys apart). */
static void one_column_with_keys_to_two_parents(void){
  Conn c;
  hostMemReset();
  openConn(&c);
  allowed(&c, "CREATE TABLE p(id INTEGER PRIMARY KEY)");
  allowed(&c, "CREATE TABLE q(id INTEGER PRIMARY KEY)");
  allowed(&c, "INSERT INTO q VALUES(7)");
  allowed(&c, "CREATE TABLE c(id INTEGER PRIMARY KEY, pid, FOREIGN KEY(pid) REFERENCES p(id), FOREIGN KEY(pid) REFERENCES q(id))");
  forge(&c, "PRAGMA foreign_keys=OFF; INSERT INTO c VALUES(1, 7); PRAGMA foreign_keys=ON");
  refused(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; INSERT INTO p VALUES(7); DELETE FROM q WHERE id=7; PRAGMA foreign_keys=ON\"}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM q"), "1");
  connClose(&c);
}

/* A rebuild that mends a foreign key naming no unique key (the check cannot run
** when foreign keys go off, and can at the end), and one that makes a key column
** REAL (7 becomes 7.0), keep the rows found unmatched. */
static void a_rebuild_that_mends_a_key_or_makes_it_real_keeps_the_old_row(void){
  Conn c;
  hostMemReset();
  openConn(&c);
  allowed(&c, "CREATE TABLE p(id INTEGER, name TEXT)");
  allowed(&c, "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id))");
  works(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; CREATE TABLE __new_p(id INTEGER PRIMARY KEY, name TEXT);"
     " INSERT INTO __new_p(id, name) SELECT id, name FROM p; DROP TABLE p; ALTER TABLE __new_p RENAME TO p; PRAGMA foreign_keys=ON\"}");
  forge(&c, "PRAGMA foreign_keys=OFF; INSERT INTO c VALUES(1, 7); PRAGMA foreign_keys=ON");
  works(&c, "/exec", "{\"sql\":\"PRAGMA foreign_keys=OFF; CREATE TABLE __new_c(id INTEGER PRIMARY KEY, pid REAL REFERENCES p(id));"
     " INSERT INTO __new_c(id, pid) SELECT id, pid FROM c; DROP TABLE c; ALTER TABLE __new_c RENAME TO c; PRAGMA foreign_keys=ON\"}");
  connClose(&c);
}

int main(void){
  RUN(control_without_a_rowid_column);
  RUN(a_column_named_rowid_does_not_blur_the_key);
  RUN(a_rebuild_that_spells_a_name_otherwise_keeps_the_old_row);
  RUN(a_rebuild_that_changes_affinity_keeps_the_old_row);
  RUN(renaming_a_parent_keeps_the_old_row);
  RUN(another_key_to_the_same_parent_is_another_row);
  RUN(a_without_rowid_child_is_counted_by_key);
  RUN(temp_tables_are_checked_too);
  RUN(defer_foreign_keys_off_does_not_forget_a_violation);
  RUN(one_column_with_keys_to_two_parents);
  RUN(a_rebuild_that_mends_a_key_or_makes_it_real_keeps_the_old_row);
  return HARNESS_END();
}
