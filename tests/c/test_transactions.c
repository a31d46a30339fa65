/*
** test_transactions.c — interactive transactions (/begin, /commit, /rollback
** and requests flagged DOSQL_REQUEST_IN_TRANSACTION) and /batch.
*/
#include "harness.h"
#include "vfs.h"

#define IN_TX DOSQL_REQUEST_IN_TRANSACTION

static Answer tx(Conn *pConn, const char *zPath, const char *zBody){
  return callFlags(pConn, "POST", zPath, zBody, IN_TX);
}


static void setup(Conn *pConn){
  openConn(pConn);
  okFree(pConn, "/run", "{\"sql\":\"CREATE TABLE t(x UNIQUE)\"}");
}

static void commit_keeps_and_rollback_drops(void){
  Conn c;
  int n;
  setup(&c);
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  {
    Answer a = tx(&c, "/query", "{\"sql\":\"SELECT count(*) AS n FROM t\"}");
    CHECK_STR(a.zBody, "{\"rows\":[{\"n\":1}]}");    /* it sees its own writes */
    answerFree(&a);
  }
  n = hostMemCommits();
  txOk(&c, "/commit", "{}");
  CHECK(hostMemCommits()==n+1);
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(2)\"}");
  txOk(&c, "/rollback", "{}");
  CHECK_STR(scalar(&c, "SELECT group_concat(x) FROM t"), "\"1\"");
  connClose(&c);
}

static void a_failed_statement_leaves_the_transaction_open(void){
  Conn c;
  Answer a;
  setup(&c);
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  a = tx(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  CHECK(a.status==409);
  CHECK_STR(answerCode(&a), "SQLITE_CONSTRAINT_UNIQUE");
  answerFree(&a);
  a = tx(&c, "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t VALUES(2)\"},{\"sql\":\"INSERT INTO t VALUES(1)\"}]}");
  CHECK(a.status==409);
  CHECK(cJSON_GetObjectItem(a.pJson, "operation")->valueint==1);
  answerFree(&a);
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(3)\"}");
  txOk(&c, "/commit", "{}");
  /* The batch was undone as a whole (2 is gone); the rest committed. */
  CHECK_STR(scalar(&c, "SELECT group_concat(x) FROM t ORDER BY x"), "\"1,3\"");
  connClose(&c);
}

static void requests_must_match_the_transaction_state(void){
  Conn c;
  Answer a;
  setup(&c);
  a = tx(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  CHECK(a.status==500);                         /* flagged, but nothing open */
  answerFree(&a);
  okFree(&c, "/begin", "{}");
  a = post(&c, "/query", "{\"sql\":\"SELECT 1\"}");
  CHECK(a.status==500);                         /* unflagged while open */
  CHECK(answerError(&a) && strstr(answerError(&a), "must wait"));
  answerFree(&a);
  a = tx(&c, "/begin", "{}");
  CHECK(a.status==500);                         /* no nesting */
  answerFree(&a);
  txOk(&c, "/rollback", "{}");
  okFree(&c, "/query", "{\"sql\":\"SELECT 1\"}");
  connClose(&c);
}

static void batch_returns_every_result_all_or_nothing(void){
  Conn c;
  Answer a;
  setup(&c);
  a = ok(&c, "/batch", "{\"operations\":["
      "{\"sql\":\"INSERT INTO t VALUES(?)\",\"params\":[5]},"
      "{\"sql\":\"SELECT x FROM t\"}]}");
  CHECK_STR(a.zBody, "{\"results\":["
      "{\"rows\":[],\"rowsAffected\":1,\"lastInsertRowId\":1},"
      "{\"rows\":[{\"x\":5}],\"rowsAffected\":0,\"lastInsertRowId\":0}]}");
  answerFree(&a);
  a = post(&c, "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t VALUES(6)\"},{\"sql\":\"INSERT INTO t VALUES(5)\"}]}");
  CHECK(a.status==409);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "1");
  connClose(&c);
}

/* A database of 2,000 rows in t (far more pages than one read-ahead), closed. */
static void writeBigTable(void){
  Conn c;
  setup(&c);
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
      "SELECT i+1 FROM n WHERE i<2000) SELECT randomblob(200) FROM n\"}");
  connClose(&c);
}

static void a_fault_inside_a_transaction_ends_it(void){
  Conn c;
  Answer a;
  writeBigTable();
  openConn(&c);
  CHECK_STR(scalar(&c, "SELECT 1"), "1");
  hostMemSetAsync(1);
  hostMemFetch(1);
  a = postFetching(&c, "/begin", "{}");        /* it reads the change log's tail */
  CHECK(a.status==200);
  answerFree(&a);
  a = tx(&c, "/query", "{\"sql\":\"SELECT count(*) FROM t\"}");
  CHECK(a.status==DOSQL_STATUS_FAULT);
  answerFree(&a);
  CHECK(!c.bInteractive);                       /* rolled back: the host answers */
  a = tx(&c, "/commit", "{}");
  CHECK(a.status==500);
  answerFree(&a);
  connClose(&c);
}

/* A COMMIT that needs a page storage must fetch first ends the transaction as any
** fault inside it does: a final fault, 503 TRANSACTION_ABORTED. Answered as a
** fault to retry, the host ran /commit again with no transaction open: 409
** "cannot commit - no transaction is active". It happened when a rollback had made
** the VFS forget page 1's header (SQLite's cache keeping every page), so that the
** transaction's first write to the VFS, at COMMIT, read page 1 again, which the
** cold tier may have moved to R2 meanwhile. /begin now reads the header for its
** sizeAfter; here it is forgotten after it, as that rollback did. */
static void a_fault_at_commit_ends_the_transaction(void){
  Conn c;
  Answer a;
  writeBigTable();
  openConn(&c);
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(2)\"}");
  sqlite3_file_control(c.db, "main", DOSQL_FCNTL_DISCARD, 0);
  hostMemSetAsync(1);                           /* every stored page is in R2 now */
  a = tx(&c, "/commit", "{}");
  CHECK(a.status==DOSQL_STATUS_FAULT);
  CHECK_STR(answerCode(&a), "TRANSACTION_ABORTED");
  answerFree(&a);
  CHECK(!c.bInteractive && sqlite3_get_autocommit(c.db));
  a = postFetching(&c, "/query", "{\"sql\":\"SELECT count(*) AS n FROM t WHERE x=2\"}");
  CHECK_STR(a.zBody, "{\"rows\":[{\"n\":0}]}");      /* nothing of it was committed */
  answerFree(&a);
  connClose(&c);
}

/* Capture appends to the change log in every writing statement: /begin brings
** the log's tail into the cache, so on async storage it is /begin that faults
** (and is retried), not the transaction's first write. */
static void begin_warms_the_change_log(void){
  Conn c;
  Answer a;
  writeBigTable();
  hostMemSetAsync(1);
  hostMemFetch(1);
  openConn(&c);
  a = postFetching(&c, "/run", "{\"sql\":\"CREATE TABLE m(x)\"}");
  CHECK(a.status==200);
  answerFree(&a);
  a = post(&c, "/begin", "{}");
  CHECK(a.status==DOSQL_STATUS_FAULT);
  CHECK(!c.bInteractive && sqlite3_get_autocommit(c.db));
  answerFree(&a);
  a = postFetching(&c, "/begin", "{}");
  CHECK(a.status==200);
  answerFree(&a);
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO m VALUES(1)\"}");
  txOk(&c, "/commit", "{}");
  CHECK_STR(scalar(&c, "SELECT max(last_lsn) FROM _dosql_change_log"), "2001");
  connClose(&c);
}

/* A statement that fails inside the transaction leaves nothing of itself, rows
** or events, and the transaction stays open: also where SQLite would keep part
** of it (OR FAIL, a trigger's RAISE(FAIL)), where it wrote every row before
** its answer grew too large (RETURNING), and where SQLite completed it but the
** request then refuses it (a rename into _dosql_*). */
static void a_failed_statement_leaves_nothing_of_itself(void){
  static const char *azFailing[] = {
    "{\"sql\":\"INSERT OR FAIL INTO t VALUES(10),(11),(1)\"}",
    "{\"sql\":\"INSERT INTO t VALUES(12),(13),(14)\"}",   /* the trigger fails at 14 */
    "{\"sql\":\"WITH RECURSIVE s(v) AS (SELECT 100 UNION ALL SELECT v+1 FROM s WHERE v<160)"
    " INSERT INTO t SELECT v FROM s RETURNING x, replace(zeroblob(1000000), x'00', 'a') AS pad\"}",
    "{\"sql\":\"ALTER TABLE t RENAME TO _dosql_t\"}",
  };
  static const char *azCode[] = { "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_TRIGGER",
                                  "RESULT_TOO_LARGE", "SQLITE_AUTH" };
  Conn c;
  Answer a;
  int i;
  setup(&c);
  okFree(&c, "/run", "{\"sql\":\"CREATE TRIGGER no14 BEFORE INSERT ON t WHEN new.x=14"
                     " BEGIN SELECT RAISE(FAIL, 'not 14'); END\"}");
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  for(i=0; i<(int)(sizeof(azFailing)/sizeof(azFailing[0])); i++){
    a = tx(&c, strstr(azFailing[i], "RETURNING") ? "/query" : "/run", azFailing[i]);
    CHECK_STR(answerCode(&a), azCode[i]);
    answerFree(&a);
    CHECK(c.bInteractive);
  }
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(2)\"}");
  txOk(&c, "/commit", "{}");
  CHECK_STR(scalar(&c, "SELECT group_concat(x) FROM t ORDER BY x"), "\"1,2\"");
  CHECK_STR(scalar(&c, "SELECT group_concat(data ->> 'x') FROM _dosql_changes WHERE tbl='t'"), "\"1,2\"");
  CHECK_STR(scalar(&c, "SELECT count(*) FROM sqlite_schema WHERE name='_dosql_t'"), "0");
  /* Inside a /batch of the transaction, the batch's savepoint undoes it. */
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(3)\"}");
  a = tx(&c, "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t VALUES(4)\"},"
                       "{\"sql\":\"INSERT OR FAIL INTO t VALUES(5),(1)\"}]}");
  CHECK(a.status==409);
  answerFree(&a);
  txOk(&c, "/commit", "{}");
  CHECK_STR(scalar(&c, "SELECT group_concat(x) FROM t ORDER BY x"), "\"1,2,3\"");
  CHECK_STR(scalar(&c, "SELECT group_concat(data ->> 'x') FROM _dosql_changes WHERE tbl='t'"), "\"1,2,3\"");
  connClose(&c);
}

static void a_failed_commit_ends_the_transaction(void){
  Conn c;
  Answer a;
  setup(&c);
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  hostMemFailCommit(1);
  a = tx(&c, "/commit", "{}");
  CHECK(a.status==503);
  answerFree(&a);
  CHECK(!c.bInteractive);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM t"), "0");
  connClose(&c);
}

static void exec_runs_a_script_as_sqlite_splits_it(void){
  Conn c;
  Answer a;
  setup(&c);
  a = ok(&c, "/exec", "{\"sql\":\"-- a comment; with a semicolon\\n"
      "CREATE TABLE a(x TEXT); /* ; */ ;;"
      "CREATE TABLE log(x);"
      "CREATE TRIGGER tr AFTER INSERT ON a BEGIN INSERT INTO log VALUES('end;'); END;"
      "INSERT INTO a VALUES ('it''s; fine')\"}");
  CHECK_STR(a.zBody, "{\"count\":4,\"databaseChanged\":true}");
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT x FROM a"), "\"it's; fine\"");
  CHECK_STR(scalar(&c, "SELECT x FROM log"), "\"end;\"");
  a = post(&c, "/exec", "{\"sql\":\"INSERT INTO a VALUES('two'); INSERT INTO t VALUES(1); INSERT INTO t VALUES(1)\"}");
  CHECK(a.status==409);
  CHECK(cJSON_GetObjectItem(a.pJson, "operation")->valueint==2);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM a"), "1");       /* all or nothing */
  okFree(&c, "/begin", "{}");
  a = tx(&c, "/exec", "{\"sql\":\"INSERT INTO a VALUES('x'); SELEC 1\"}");
  CHECK(a.status==400);
  answerFree(&a);
  txOk(&c, "/exec", "{\"sql\":\"INSERT INTO a VALUES('three')\"}");
  txOk(&c, "/commit", "{}");
  CHECK_STR(scalar(&c, "SELECT group_concat(x, '|') FROM a"), "\"it's; fine|three\"");
  connClose(&c);
}

/* What a script changed, the D1 facade's COMMIT says (meta.changed_db): rows or
** the schema; reads, and a CREATE ... IF NOT EXISTS of what exists, change
** nothing. A script of no statement is refused as /query refuses one. */
static void exec_says_whether_it_changed_the_database(void){
  static const char *azScript[] = {
    "{\"sql\":\"SELECT 1; SELECT count(*) FROM t\"}", "false",
    "{\"sql\":\"CREATE TABLE IF NOT EXISTS t(x)\"}", "false",
    "{\"sql\":\"UPDATE t SET x = x WHERE 0\"}", "false",
    "{\"sql\":\"INSERT INTO t VALUES (1)\"}", "true",
    "{\"sql\":\"SELECT 1; CREATE INDEX tx ON t(x)\"}", "true",
  };
  static const char *azEmpty[] = { ";", " ;\\n; ", "-- only a comment", "/* and */ ;" };
  Conn c;
  Answer a;
  int i;
  setup(&c);
  for(i=0; i<(int)(sizeof(azScript)/sizeof(azScript[0])); i+=2){
    a = ok(&c, "/exec", azScript[i]);
    CHECK_STR(cJSON_IsTrue(cJSON_GetObjectItem(a.pJson, "databaseChanged")) ? "true" : "false", azScript[i+1]);
    answerFree(&a);
  }
  for(i=0; i<(int)(sizeof(azEmpty)/sizeof(azEmpty[0])); i++){
    char *zBody = sqlite3_mprintf("{\"sql\":\"%s\"}", azEmpty[i]);
    a = post(&c, "/exec", zBody);
    CHECK(a.status==400);
    CHECK_STR(answerCode(&a), "BAD_REQUEST");
    CHECK_STR(answerError(&a), "sql holds no statement");
    answerFree(&a);
    sqlite3_free(zBody);
  }
  /* Inside a transaction too, which stays open. */
  okFree(&c, "/begin", "{}");
  a = tx(&c, "/exec", "{\"sql\":\";\"}");
  CHECK(a.status==400);
  answerFree(&a);
  CHECK(c.bInteractive);
  txOk(&c, "/commit", "{}");
  connClose(&c);
}

/* An error that rolled the whole transaction back answers TRANSACTION_ABORTED,
** and keeps SQLite's code as "sqliteCode": what failed is still a UNIQUE or a
** foreign key constraint. */
static void an_aborted_transaction_keeps_sqlites_code(void){
  Conn c;
  Answer a;
  setup(&c);
  okFree(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  okFree(&c, "/begin", "{}");
  a = tx(&c, "/run", "{\"sql\":\"INSERT OR ROLLBACK INTO t VALUES(1)\"}");
  CHECK_STR(answerCode(&a), "TRANSACTION_ABORTED");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(a.pJson, "sqliteCode")), "SQLITE_CONSTRAINT_UNIQUE");
  answerFree(&a);
  CHECK(!c.bInteractive);
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE p(id INTEGER PRIMARY KEY);"
                     " CREATE TABLE ch(p REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)\"}");
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO ch VALUES(7)\"}");
  a = tx(&c, "/commit", "{}");
  CHECK_STR(answerCode(&a), "TRANSACTION_ABORTED");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(a.pJson, "sqliteCode")), "SQLITE_CONSTRAINT_FOREIGNKEY");
  answerFree(&a);
  /* A code that was ours to begin with gets none. */
  okFree(&c, "/begin", "{}");
  a = tx(&c, "/run", "{\"sql\":\"BEGIN\"}");
  CHECK_STR(answerCode(&a), "TRANSACTION_STATEMENT");
  CHECK(cJSON_GetObjectItem(a.pJson, "sqliteCode")==0);
  answerFree(&a);
  txOk(&c, "/rollback", "{}");
  connClose(&c);
}

/* A /batch, /transaction or /exec of an interactive transaction runs in a
** savepoint of its own: its statements may not release or roll back to one
** opened before it (nor use its name), which would leave its failure nothing
** to undo. Savepoints it opens itself work. */
static void a_request_keeps_its_savepoint(void){
  static const char *azRequest[] = {
    "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t VALUES(1)\"},{\"sql\":\"RELEASE dosql_batch\"},"
              "{\"sql\":\"INSERT INTO nope VALUES(1)\"}]}",
    "/transaction", "{\"operations\":[{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(2)\"},"
              "{\"type\":\"run\",\"sql\":\"RELEASE outer\"},{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(3)\"}]}",
    "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t VALUES(4)\"},{\"sql\":\"ROLLBACK TO outer\"}]}",
    "/exec", "{\"sql\":\"INSERT INTO t VALUES(5); RELEASE OUTER; INSERT INTO nope VALUES(1)\"}",
    "/exec", "{\"sql\":\"SAVEPOINT dosql_batch; INSERT INTO t VALUES(6)\"}",
  };
  Conn c;
  Answer a;
  int i;
  setup(&c);
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"SAVEPOINT outer\"}");
  for(i=0; i<(int)(sizeof(azRequest)/sizeof(azRequest[0])); i+=2){
    a = tx(&c, azRequest[i], azRequest[i+1]);
    CHECK(a.status>=400 && a.status<500);
    answerFree(&a);
    CHECK(c.bInteractive);
  }
  /* Its own savepoints, released or rolled back to, are its business. */
  txOk(&c, "/exec", "{\"sql\":\"SAVEPOINT a; INSERT INTO t VALUES(7); ROLLBACK TO a; INSERT INTO t VALUES(8); RELEASE a\"}");
  txOk(&c, "/run", "{\"sql\":\"RELEASE outer\"}");
  txOk(&c, "/commit", "{}");
  CHECK_STR(scalar(&c, "SELECT group_concat(x) FROM t ORDER BY x"), "\"8\"");
  CHECK_STR(scalar(&c, "SELECT group_concat(data ->> 'x') FROM _dosql_changes WHERE tbl='t'"), "\"8\"");
  connClose(&c);
}

/* sizeAfter of an answer, or -1 when it has none. */
static double sizeAfter(const Answer *p){
  const cJSON *c = cJSON_GetObjectItem(p->pJson, "sizeAfter");
  return cJSON_IsNumber(c) ? c->valuedouble : -1;
}

/* D1's meta.size_after (docs/d1.md): /begin says the size as stored, a
** statement and /commit the size as the transaction sees it; /rollback reads
** nothing (it must not fail), and goes back to the size /begin said. */
static void the_answers_say_the_size_the_database_will_have(void){
  Conn c;
  Answer a;
  double stored, grown;
  setup(&c);
  a = ok(&c, "/begin", "{}");
  stored = sizeAfter(&a);
  CHECK(stored>0 && (long long)stored%4096==0);
  answerFree(&a);
  a = tx(&c, "/query", "{\"sql\":\"INSERT INTO t VALUES(zeroblob(100000))\",\"rowMode\":\"array\"}");
  grown = sizeAfter(&a);
  CHECK(grown>=stored+100000);
  answerFree(&a);
  a = tx(&c, "/rollback", "{}");
  CHECK(a.status==200 && sizeAfter(&a)==-1);
  answerFree(&a);
  a = ok(&c, "/query", "{\"sql\":\"SELECT 1\",\"rowMode\":\"array\"}");
  CHECK(sizeAfter(&a)==stored);
  answerFree(&a);
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(zeroblob(100000))\"}");
  a = tx(&c, "/commit", "{}");
  CHECK(a.status==200 && sizeAfter(&a)==grown);
  answerFree(&a);
  a = ok(&c, "/begin", "{\"timeoutMs\":1000}");
  CHECK(sizeAfter(&a)==grown);
  CHECK(cJSON_GetObjectItem(a.pJson, "timeoutMs")->valueint==1000);
  answerFree(&a);
  txOk(&c, "/rollback", "{}");
  /* Names a tenant may take do not stand in for the pragmas the size is read by. */
  okFree(&c, "/exec", "{\"sql\":\"CREATE TABLE pragma_page_count(page_count); INSERT INTO pragma_page_count VALUES(7);"
                      " CREATE TEMP VIEW pragma_page_size AS SELECT 3 AS page_size\"}");
  a = ok(&c, "/query", "{\"sql\":\"SELECT 1\",\"rowMode\":\"array\"}");
  CHECK(sizeAfter(&a)>grown && (long long)sizeAfter(&a)%4096==0);
  answerFree(&a);
  connClose(&c);
}

int main(void){
  RUN(commit_keeps_and_rollback_drops);
  RUN(a_failed_statement_leaves_the_transaction_open);
  RUN(requests_must_match_the_transaction_state);
  RUN(batch_returns_every_result_all_or_nothing);
  RUN(a_fault_inside_a_transaction_ends_it);
  RUN(a_fault_at_commit_ends_the_transaction);
  RUN(begin_warms_the_change_log);
  RUN(a_failed_statement_leaves_nothing_of_itself);
  RUN(a_request_keeps_its_savepoint);
  RUN(a_failed_commit_ends_the_transaction);
  RUN(exec_runs_a_script_as_sqlite_splits_it);
  RUN(exec_says_whether_it_changed_the_database);
  RUN(an_aborted_transaction_keeps_sqlites_code);
  RUN(the_answers_say_the_size_the_database_will_have);
  return HARNESS_END();
}
