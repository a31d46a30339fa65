/*
** test_vfs.c — the "dosql" VFS over the in-memory host: commits, rollbacks,
** truncation, restarts, faults and failing commits.
*/
#include "harness.h"

static uint32_t headerPageCount(void){
  const uint8_t *a = hostMemPage(1);
  return a ? ((uint32_t)a[28]<<24 | (uint32_t)a[29]<<16 | (uint32_t)a[30]<<8 | a[31]) : 0;
}

static void commit_writes_pages_once_per_transaction(void){
  Conn c;
  int n;
  openConn(&c);
  CHECK(hostMemCommits()==1);               /* a new database: internal tables */
  connClose(&c);
  openConn(&c);
  CHECK(hostMemCommits()==1);               /* opening it again writes nothing */
  n = hostMemCommits();
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  CHECK(hostMemCommits()==n+1);
  okFree(&c, "/transaction", "{\"operations\":["
      "{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(1)\"},"
      "{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(2)\"}]}");
  CHECK(hostMemCommits()==n+2);
  okFree(&c, "/query", "{\"sql\":\"SELECT * FROM t\"}");
  CHECK(hostMemCommits()==n+2);             /* reads commit nothing */
  CHECK(headerPageCount()==hostMemPageCount());
  connClose(&c);
}

static void page_size_setting_applies_to_new_database(void){
  Conn c;
  openConnSized(&c, 8192, 0);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  CHECK_STR(scalar(&c, "PRAGMA page_size"), "8192");
  connClose(&c);
}

/* The setting is the size of a new database only: VACUUM keeps an existing
** database's, smaller or larger, as storage keeps its pages. */
static void vacuum_keeps_the_page_size_of_the_database(void){
  static const unsigned aSize[] = { 1024, 16384 };
  unsigned i;
  for(i=0; i<sizeof(aSize)/sizeof(aSize[0]); i++){
    Conn c;
    hostMemReset();
    openConnSized(&c, aSize[i], 1);
    okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
    okFree(&c, "/run", "{\"sql\":\"INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<300) SELECT randomblob(300) FROM n\"}");
    connClose(&c);
    openConnSized(&c, 4096, 1);
    okFree(&c, "/run", "{\"sql\":\"VACUUM\"}");
    okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
    CHECK(atoi(scalar(&c, "PRAGMA page_size"))==(int)aSize[i]);
    connClose(&c);
    openConnSized(&c, 4096, 1);
    CHECK_STR(scalar(&c, "PRAGMA integrity_check"), "\"ok\"");
    CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "301");
    connClose(&c);
  }
}

static void invalid_page_size_is_a_config_error(void){
  Conn c;
  Reply r;
  Answer a;
  memset(&c, 0, sizeof(c));
  replyInit(&r);
  connOpen(&c, 1000, 0, 0, &r);
  a = answerFrom(replyFinish(&r));
  CHECK(a.status==500);
  CHECK_STR(answerCode(&a), "BAD_CONFIG");
  CHECK(!connIsOpen(&c));
  answerFree(&a);
}

static void data_survives_reopen(void){
  Conn c;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<5000) SELECT i FROM n\"}");
  connClose(&c);
  openConn(&c);
  CHECK_STR(scalar(&c, "SELECT sum(x) FROM t"), "12502500");
  CHECK_STR(scalar(&c, "PRAGMA integrity_check"), "\"ok\"");
  connClose(&c);
}

static void failed_statement_leaves_storage_unchanged(void){
  Conn c;
  Answer a;
  int nCommit;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x UNIQUE)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  nCommit = hostMemCommits();
  /* The second row collides after the first was written: all of it goes. */
  a = post(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(2),(1)\"}");
  CHECK(a.status==409);
  answerFree(&a);
  CHECK(hostMemCommits()==nCommit);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "1");
  connClose(&c);
}

static void failed_commit_is_retryable_and_loses_nothing(void){
  Conn c;
  Answer a;
  int nCommit, nWritten;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  hostMemFailCommit(1);
  nCommit = hostMemCommits();
  nWritten = hostMemPagesWritten();
  a = post(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(2)\"}");
  CHECK(a.status==503);
  /* The rollback's restored pages are not written back: storage has them. */
  CHECK(hostMemCommits()==nCommit && hostMemPagesWritten()==nWritten);
  CHECK(answerCode(&a) && strncmp(answerCode(&a), "SQLITE_IOERR", 12)==0);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT group_concat(x) FROM t"), "\"1\"");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(3)\"}");
  connClose(&c);
  openConn(&c);
  CHECK_STR(scalar(&c, "SELECT group_concat(x) FROM t"), "\"1,3\"");
  CHECK_STR(scalar(&c, "PRAGMA integrity_check"), "\"ok\"");
  connClose(&c);
}

static void vacuum_truncates_storage(void){
  Conn c;
  uint32_t nBig;
  openConnCapturing(&c, 0);      /* else the change log keeps the deleted rows */
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<2000) SELECT randomblob(1000) FROM n\"}");
  nBig = hostMemPageCount();
  okFree(&c, "/run", "{\"sql\":\"DELETE FROM t\"}");
  okFree(&c, "/run", "{\"sql\":\"VACUUM\"}");
  CHECK(hostMemPageCount() < nBig/10);
  CHECK(hostMemPage(nBig)==0);              /* the host dropped the tail */
  CHECK(headerPageCount()==hostMemPageCount());
  connClose(&c);
  openConn(&c);
  CHECK_STR(scalar(&c, "PRAGMA integrity_check"), "\"ok\"");
  connClose(&c);
}

static void single_insert_with_one_index_writes_at_most_three_pages(void){
  Conn c;
  int nBefore;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(id INTEGER PRIMARY KEY, email TEXT UNIQUE)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t(email) VALUES('a@x')\"}");
  nBefore = hostMemPagesWritten();
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t(email) VALUES('b@x')\"}");
  /* The table leaf and the index leaf; page 1 only when the file grows
  ** (exclusive locking skips the change counter). */
  CHECK(hostMemPagesWritten()-nBefore<=3);
  connClose(&c);
}

/* Drive a request the way the shim does: on a fault, fetch and call again. */
static Answer postWithFaults(Conn *pConn, const char *zPath, const char *zBody, int *pnFault){
  for(;;){
    Answer a = post(pConn, zPath, zBody);
    const cJSON *pPage;
    if( a.status!=DOSQL_STATUS_FAULT ) return a;
    (*pnFault)++;
    cJSON_ArrayForEach(pPage, cJSON_GetObjectItem(a.pJson, "pages")){
      uint32_t i, pgno = (uint32_t)pPage->valuedouble;
      for(i=0; i<8; i++) hostMemFetch(pgno+i);    /* a little read-ahead */
    }
    answerFree(&a);
  }
}

static void faults_roll_back_and_retry_to_the_same_answer(void){
  Conn c;
  Answer a;
  int nFault = 0, nCommit;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<3000) SELECT i FROM n\"}");
  connClose(&c);

  hostMemSetAsync(1);                        /* a cold object: nothing cached */
  memset(&c, 0, sizeof(c));
  {
    Reply r;
    for(;;){                                 /* opening may fault too */
      replyInit(&r);
      connOpen(&c, 0, 0, 0, &r);
      a = answerFrom(replyFinish(&r));
      if( a.status!=DOSQL_STATUS_FAULT ) break;
      hostMemFetch(1);
      answerFree(&a);
    }
    CHECK(a.status==200);
    if( a.status!=200 ) printf("  open: %d %s\n", a.status, a.zBody);
    answerFree(&a);
  }
  nCommit = hostMemCommits();
  a = postWithFaults(&c, "/run", "{\"sql\":\"UPDATE t SET x = x + 1\"}", &nFault);
  CHECK(a.status==200);
  CHECK(nFault>0);
  CHECK(hostMemCommits()==nCommit+1);        /* retries never committed halves */
  answerFree(&a);
  a = postWithFaults(&c, "/query", "{\"sql\":\"SELECT sum(x) AS s FROM t\"}", &nFault);
  CHECK(a.status==200);
  CHECK(strstr(a.zBody, "4504500")!=0);
  answerFree(&a);
  connClose(&c);
}

/* integrity_check reports a failed read as text, not as an error: the fault
** must still be noticed, and the check answered only once every page is there. */
static void fault_inside_integrity_check_is_retried_not_reported(void){
  Conn c;
  Answer a;
  int nFault = 0;
  openConn(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
      "SELECT i+1 FROM n WHERE i<3000) SELECT randomblob(100) FROM n\"}");
  connClose(&c);
  openConn(&c);
  CHECK_STR(scalar(&c, "SELECT 1"), "1");         /* page 1 and the schema are in */
  hostMemSetAsync(1);
  hostMemFetch(1);
  a = postWithFaults(&c, "/query", "{\"sql\":\"PRAGMA integrity_check\"}", &nFault);
  CHECK(nFault>0);
  CHECK_STR(a.zBody, "{\"rows\":[{\"integrity_check\":\"ok\"}]}");
  answerFree(&a);
  connClose(&c);
}

static void first_transaction_larger_than_the_cache_commits(void){
  Conn c;
  openConn(&c);
  /* 12 MB of rows: the 8 MiB cache spills pages before page 1 is written. */
  okFree(&c, "/transaction", "{\"operations\":["
      "{\"type\":\"run\",\"sql\":\"CREATE TABLE big(b)\"},"
      "{\"type\":\"run\",\"sql\":\"INSERT INTO big WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
      "SELECT i+1 FROM n WHERE i<3000) SELECT randomblob(4000) FROM n\"}]}");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM big"), "3000");
  connClose(&c);
  openConn(&c);
  CHECK_STR(scalar(&c, "PRAGMA integrity_check"), "\"ok\"");
  connClose(&c);
}

/* VACUUM's shrink is stored after SQLite's commit point: when storage refuses
** it, the transaction is still committed, and nothing rolls back. The writes
** after it are stored (they were taken for the rollback of a failed commit,
** acknowledged and lost), and the next commit stores the shrink as well. */
static void a_refused_shrink_loses_no_later_write(void){
  Conn c;
  uint32_t nBig;
  openConnCapturing(&c, 0);
  okFree(&c, "/run", "{\"sql\":\"CREATE TABLE t(x)\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<2000) SELECT randomblob(500) FROM n\"}");
  okFree(&c, "/run", "{\"sql\":\"DELETE FROM t WHERE rowid % 2 = 0\"}");
  nBig = hostMemPageCount();
  hostMemFailCommit(2);                    /* VACUUM's pages, then its shrink */
  okFree(&c, "/run", "{\"sql\":\"VACUUM\"}");
  CHECK(hostMemPageCount()==nBig);
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES('after 1')\"}");
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES('after 2')\"}");
  CHECK(hostMemPageCount() < nBig);
  connClose(&c);
  openConnCapturing(&c, 0);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t WHERE x LIKE 'after%'"), "2");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "1002");
  CHECK_STR(scalar(&c, "PRAGMA integrity_check"), "\"ok\"");
  connClose(&c);
}

int main(void){
  RUN(commit_writes_pages_once_per_transaction);
  RUN(page_size_setting_applies_to_new_database);
  RUN(invalid_page_size_is_a_config_error);
  RUN(data_survives_reopen);
  RUN(failed_statement_leaves_storage_unchanged);
  RUN(failed_commit_is_retryable_and_loses_nothing);
  RUN(vacuum_truncates_storage);
  RUN(a_refused_shrink_loses_no_later_write);
  RUN(single_insert_with_one_index_writes_at_most_three_pages);
  RUN(faults_roll_back_and_retry_to_the_same_answer);
  RUN(fault_inside_integrity_check_is_retried_not_reported);
  RUN(first_transaction_larger_than_the_cache_commits);
  RUN(vacuum_keeps_the_page_size_of_the_database);
  return HARNESS_END();
}
