/*
** test_fuzz_findings.c — what the fuzz_hrana and fuzz_forge targets
** (tests/faults/fuzz/) found, each a test that failed until it was fixed:
**
** 1. PRAGMA ignore_check_constraints let a client commit rows that break a CHECK
**    constraint, after which PRAGMA integrity_check was no longer "ok" and the
**    database's export no longer imported: it is refused (guard.c).
** 2. Signed overflow in changelog.c over a forged change log whose rows' lsns
**    lie outside 1..2^53-1 (only the oldest and newest were checked): any such
**    row is CHANGE_LOG_CORRUPT before the arithmetic.
** (A third, a libSQL pipeline that committed and then faulted, is in
** test_hrana.c: a_fault_after_commit_in_a_pipeline_resumes.)
*/
#include "harness.h"

static const char zSchema[] = "{\"migrations\":[{\"name\":\"001.sql\",\"sql\":"
    "\"CREATE TABLE ch(id INTEGER PRIMARY KEY, note TEXT CHECK(length(note) < 10));\"}]}";

/* integrity_check must stay "ok" whatever a client's request did. */
static void integrityOk(Conn *pConn, const char *zWhen){
  const char *z = scalar(pConn, "PRAGMA integrity_check");
  CHECK_STR(z, "\"ok\"");
  if( !z || strcmp(z, "\"ok\"")!=0 ) printf("  after %s\n", zWhen);
}

static void setup(Conn *pConn){
  Answer a;
  openConn(pConn);
  a = migrate(pConn, zSchema);
  CHECK(a.status==200);
  answerFree(&a);
}

/* zBody to zPath turns CHECK constraints off and inserts a row one refuses: it
** is refused whole (were it to answer 200, integrity_check would have to hold). */
static void checksStay(const char *zPath, const char *zBody){
  Conn c;
  Answer a;
  setup(&c);
  a = post(&c, zPath, zBody);
  CHECK(a.status==403);
  if( a.status==200 ) integrityOk(&c, zPath);
  answerFree(&a);
  connClose(&c);
}

static void ignore_check_constraints_in_exec_keeps_integrity(void){
  checksStay("/exec", "{\"sql\":\"PRAGMA ignore_check_constraints=1; INSERT INTO ch(note) VALUES ('far too long a note')\"}");
}

static void ignore_check_constraints_in_batch_keeps_integrity(void){
  checksStay("/batch", "{\"operations\":[{\"sql\":\"PRAGMA ignore_check_constraints=ON\"},"
             "{\"sql\":\"INSERT INTO ch(note) VALUES ('far too long a note')\"}]}");
}

static void ignore_check_constraints_in_hrana_keeps_integrity(void){
  Conn c;
  Answer a;
  setup(&c);
  a = callFlags(&c, "POST", "/hrana/pipeline", "{\"baton\":null,\"requests\":["
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"PRAGMA ignore_check_constraints=1\"}},"
      "{\"type\":\"execute\",\"stmt\":{\"sql\":\"INSERT INTO ch(note) VALUES ('far too long a note')\"}}]}",
      DOSQL_REQUEST_INTERNAL);
  CHECK(a.status==200);
  /* The insert's own result may be an error: then nothing was written. */
  integrityOk(&c, "a Hrana pipeline");
  answerFree(&a);
  connClose(&c);
}

/* A forged log (rows no capture writes, as a file imported before
** /import/check existed may hold), then zPath zBody: lsns outside 1..2^53-1
** are a corrupt log (tests/faults/fuzz/README.md), so the answer is 500
** CHANGE_LOG_CORRUPT, with no undefined behaviour on the way. (gcc folds the
** overflow of changelog.c:452 away; clang's UBSan, as in the fuzz build, reports it.) */
static void forgedLog(const char *zRows, const char *zPath, const char *zBody, uint32_t flags){
  Conn c;
  Answer a;
  setup(&c);
  forge(&c, "DELETE FROM _dosql_change_log");
  forge(&c, zRows);
  a = callFlags(&c, "POST", zPath, zBody, flags);
  CHECK(a.status==500);
  CHECK_STR(answerCode(&a), "CHANGE_LOG_CORRUPT");
  if( a.status!=500 ) printf("  %s -> %d %s\n", zPath, a.status, a.zBody);
  answerFree(&a);
  connClose(&c);
}

/* changelog.c:452: iFresh-1 with a later row's first_lsn -2^63 (that row's ts is
** in the future, so it is the first young enough to keep; iKeepFrom-1 likewise). */
static void prune_over_a_first_lsn_of_int64_min(void){
  forgedLog("INSERT INTO _dosql_change_log VALUES"
            "(2, 1, 1, 1767225600000, 't', '[\"id\"]', '[[\"i\",[1]],[\"i\",[2]]]'),"
            "(5, -9223372036854775807-1, 1, 9007199254740991, 't', '[\"id\"]', '[[\"i\",[1]]]')",
            "/changes/prune", "{\"keepEvents\":1,\"keepMs\":0}", DOSQL_REQUEST_INTERNAL);
}

/* changelog.c:456: iOldest+DOSQL_PRUNE_BATCH-1 with the oldest row's first_lsn 2^63-1. */
static void prune_over_an_oldest_first_lsn_of_int64_max(void){
  forgedLog("INSERT INTO _dosql_change_log VALUES"
            "(1, 9223372036854775807, 1, 1, 't', '[\"id\"]', '[[\"i\",[1]]]')",
            "/changes/prune", "{\"keepEvents\":0,\"keepMs\":0}", DOSQL_REQUEST_INTERNAL);
}

/* changelog.c:264: first_lsn - 1 with a later row's first_lsn -2^63. */
static void read_over_a_first_lsn_of_int64_min(void){
  forgedLog("INSERT INTO _dosql_change_log VALUES"
            "(2, 1, 1, 1767225600000, 't', '[\"id\"]', '[[\"i\",[1]],[\"i\",[2]]]'),"
            "(5, -9223372036854775807-1, 1, 9007199254740991, 't', '[\"id\"]', '[[\"i\",[1]]]')",
            "/changes", "{\"since\":2}", 0);
}

/* changelog.c:270: ++iLsn past 2^63-1 with a later row's first_lsn 2^63-1. */
static void read_over_a_first_lsn_of_int64_max(void){
  forgedLog("INSERT INTO _dosql_change_log VALUES"
            "(2, 1, 1, 1767225600000, 't', '[\"id\"]', '[[\"i\",[1]],[\"i\",[2]]]'),"
            "(5, 9223372036854775807, 1, 9007199254740991, 't', '[\"id\"]', '[[\"i\",[1]],[\"i\",[2]]]')",
            "/changes", "{\"since\":2}", 0);
}

int main(void){
  RUN(ignore_check_constraints_in_exec_keeps_integrity);
  RUN(ignore_check_constraints_in_batch_keeps_integrity);
  RUN(ignore_check_constraints_in_hrana_keeps_integrity);
  RUN(prune_over_a_first_lsn_of_int64_min);
  RUN(prune_over_an_oldest_first_lsn_of_int64_max);
  RUN(read_over_a_first_lsn_of_int64_min);
  RUN(read_over_a_first_lsn_of_int64_max);
  return HARNESS_END();
}
