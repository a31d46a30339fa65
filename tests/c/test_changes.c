/*
** test_changes.c — change data capture (capture.c) and the change log
** endpoints (changelog.c): what is captured, what undo takes away, numbering,
** paging, gaps and pruning.
*/
#include "harness.h"
#include "host.h"

#define IN_TX DOSQL_REQUEST_IN_TRANSACTION
#define INTERNAL DOSQL_REQUEST_INTERNAL

/*
** The events of POST /changes zBody as one line, timestamps left out:
** "lsn/txId type table data[ old]" joined by " | ". Static buffer.
*/
static const char *events(Conn *pConn, const char *zBody){
  static char zOut[4096];
  Answer a = post(pConn, "/changes", zBody);
  const cJSON *pEvent;
  size_t n = 0;
  zOut[0] = 0;
  if( a.status!=200 ){
    printf("  /changes %s -> %d %s\n", zBody, a.status, a.zBody);
    harnessFailed++;
  }
  cJSON_ArrayForEach(pEvent, cJSON_GetObjectItem(a.pJson, "events")){
    char *zData = cJSON_PrintUnformatted(cJSON_GetObjectItem(pEvent, "data"));
    const cJSON *pOld = cJSON_GetObjectItem(pEvent, "old");
    char *zOld = pOld ? cJSON_PrintUnformatted(pOld) : 0;
    CHECK(cJSON_GetObjectItem(pEvent, "timestamp")->valuedouble > 1.7e12);
    n += (size_t)snprintf(zOut+n, sizeof(zOut)-n, "%s%d/%d %s %s %s%s%s", n ? " | " : "",
        cJSON_GetObjectItem(pEvent, "lsn")->valueint,
        cJSON_GetObjectItem(pEvent, "txId")->valueint,
        cJSON_GetObjectItem(pEvent, "type")->valuestring,
        cJSON_GetObjectItem(pEvent, "table")->valuestring,
        zData, zOld ? " " : "", zOld ? zOld : "");
    cJSON_free(zData);
    cJSON_free(zOld);
    if( n>=sizeof(zOut) ) break;
  }
  answerFree(&a);
  return zOut;
}

/* A whole-number field of the answer to POST /changes zBody. */
static int logField(Conn *pConn, const char *zBody, const char *zField){
  Answer a = post(pConn, "/changes", zBody);
  const cJSON *p = cJSON_GetObjectItem(a.pJson, zField);
  int v = cJSON_IsNumber(p) ? p->valueint : cJSON_IsTrue(p) ? 1 : cJSON_IsFalse(p) ? 0 : -1;
  CHECK(a.status==200);
  answerFree(&a);
  return v;
}

static void run(Conn *pConn, const char *zSql){
  Answer a = postSql(pConn, "/run", zSql);
  if( a.status!=200 ){
    printf("  %s -> %d %s\n", zSql, a.status, a.zBody);
    harnessFailed++;
  }
  answerFree(&a);
}

static void every_operation_and_value_type_is_an_event(void){
  Conn c;
  openConn(&c);
  run(&c, "CREATE TABLE t(id INTEGER PRIMARY KEY, i, r, s, b, n)");
  run(&c, "INSERT INTO t VALUES(1, 9007199254740993, 0.5, 'é', x'00ff', NULL)");
  run(&c, "UPDATE t SET s='x' WHERE id=1");
  run(&c, "DELETE FROM t");
  CHECK_STR(events(&c, "{}"),
    "1/1 insert t {\"id\":1,\"i\":{\"$bigint\":\"9007199254740993\"},\"r\":0.5,\"s\":\"é\",\"b\":{\"$blob\":\"AP8=\"},\"n\":null}"
    " | 2/2 update t {\"id\":1,\"i\":{\"$bigint\":\"9007199254740993\"},\"r\":0.5,\"s\":\"x\",\"b\":{\"$blob\":\"AP8=\"},\"n\":null}"
    " {\"id\":1,\"i\":{\"$bigint\":\"9007199254740993\"},\"r\":0.5,\"s\":\"é\",\"b\":{\"$blob\":\"AP8=\"},\"n\":null}"
    " | 3/3 delete t {\"id\":1,\"i\":{\"$bigint\":\"9007199254740993\"},\"r\":0.5,\"s\":\"x\",\"b\":{\"$blob\":\"AP8=\"},\"n\":null}");
  connClose(&c);
}

/* An UPDATE's new values are read in place from its registers
** (dosqlPreupdateRow), the rowid from the row's key, and a zeroblob as SQLite
** gives it: each kind reads as an INSERT of the same row would. */
static void updates_report_every_kind_of_new_value(void){
  Conn c;
  openConn(&c);
  run(&c, "CREATE TABLE k(id INTEGER PRIMARY KEY, r REAL, b BLOB, s TEXT, g AS (id*10) STORED)");
  run(&c, "INSERT INTO k(id, r, b, s) VALUES(1, 1.5, x'01', 'keep')");
  run(&c, "UPDATE k SET id=2, r=5, b=zeroblob(2) WHERE id=1");
  run(&c, "CREATE TABLE w(k TEXT PRIMARY KEY, v, t) WITHOUT ROWID");
  run(&c, "INSERT INTO w VALUES('a', 1, 'x')");
  run(&c, "UPDATE w SET v=v+1, t='y' || t WHERE k='a'");
  CHECK_STR(events(&c, "{}"),
    "1/1 insert k {\"id\":1,\"r\":1.5,\"b\":{\"$blob\":\"AQ==\"},\"s\":\"keep\",\"g\":10}"
    " | 2/2 update k {\"id\":2,\"r\":5,\"b\":{\"$blob\":\"AAA=\"},\"s\":\"keep\",\"g\":20}"
    " {\"id\":1,\"r\":1.5,\"b\":{\"$blob\":\"AQ==\"},\"s\":\"keep\",\"g\":10}"
    " | 3/3 insert w {\"k\":\"a\",\"v\":1,\"t\":\"x\"}"
    " | 4/4 update w {\"k\":\"a\",\"v\":2,\"t\":\"yx\"} {\"k\":\"a\",\"v\":1,\"t\":\"x\"}");
  connClose(&c);
}

/* Old values are read where the row's page holds them (dosqlPreupdateRow),
** except where SQLite must make them: a record that
** goes on to overflow pages, a column added after the row was written (its
** default), a whole number a REAL column stores as an integer (a real
** again, so that an UPDATE that leaves it keeps it out of the log's diff).
** Each reads as the INSERT of the row did. */
static void updates_and_deletes_report_every_kind_of_old_value(void){
  Conn c;
  openConn(&c);
  run(&c, "CREATE TABLE o(id INTEGER PRIMARY KEY, r REAL, i INT, s TEXT, b BLOB, n)");
  run(&c, "INSERT INTO o VALUES(1, 2, -7, 'h\u00e9', x'00ff', NULL)");
  run(&c, "INSERT INTO o VALUES(2, 3, 0, printf('%.*c', 6000, 'x'), x'', NULL)");
  run(&c, "UPDATE o SET i=i+1 WHERE id=1");
  CHECK_STR(scalar(&c, "SELECT events ->> '$[0][2]' FROM _dosql_change_log WHERE last_lsn = 3"), "\"{\\\"2\\\":-7}\"");
  run(&c, "ALTER TABLE o ADD COLUMN d DEFAULT 'dflt'");
  run(&c, "ALTER TABLE o ADD COLUMN e");
  run(&c, "UPDATE o SET r=r*2, i=i+1, s=substr(s, 1, 2), b=x'01', n=1, d=2, e=3");
  run(&c, "DELETE FROM o");
  CHECK_STR(events(&c, "{\"since\":3,\"limit\":1}"),
    "4/4 update o {\"id\":1,\"r\":4,\"i\":-5,\"s\":\"hé\",\"b\":{\"$blob\":\"AQ==\"},\"n\":1,\"d\":2,\"e\":3}"
    " {\"id\":1,\"r\":2,\"i\":-6,\"s\":\"hé\",\"b\":{\"$blob\":\"AP8=\"},\"n\":null,\"d\":\"dflt\",\"e\":null}");
  /* The row on overflow pages, its 6,000 bytes whole (too long for events()). */
  CHECK_STR(scalar(&c, "SELECT json_object('id', 2, 'r', 3, 'i', 0, 's', printf('%.*c', 6000, 'x'),"
                       " 'b', json('{\"$blob\":\"\"}'), 'n', NULL, 'd', 'dflt', 'e', NULL) = old"
                       " FROM _dosql_changes WHERE lsn = 5"), "1");
  CHECK_STR(events(&c, "{\"since\":5}"),
    "6/6 delete o {\"id\":1,\"r\":4,\"i\":-5,\"s\":\"hé\",\"b\":{\"$blob\":\"AQ==\"},\"n\":1,\"d\":2,\"e\":3}"
    " | 7/6 delete o {\"id\":2,\"r\":6,\"i\":1,\"s\":\"xx\",\"b\":{\"$blob\":\"AQ==\"},\"n\":1,\"d\":2,\"e\":3}");
  connClose(&c);
}

/* A row whose record header gives a value more bytes than the record holds
** (a forged file), read in place for its DELETE: SQLite's unpacking stops at
** the record's end and makes that value NULL, so the event reads no byte of
** the page after the record as the row's (the next cell here). */
static void a_forged_record_reads_no_bytes_past_its_end(void){
  static const uint8_t aCell[] = { 4, 0, 8*2+13, 1, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 5 };
  uint8_t aPage[DOSQL_DEFAULT_PAGE_SIZE];
  uint32_t pgno, nFound = 0;
  Conn c;
  openConn(&c);
  run(&c, "CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT, n INT)");
  run(&c, "INSERT INTO t VALUES(1, 'abcdefgh', 5), (2, printf('%.40c', 'z'), 6)");
  connClose(&c);
  for(pgno=1; pgno<=hostMemPageCount(); pgno++){
    const uint8_t *p = hostMemPage(pgno);
    uint32_t i;
    for(i=0; p && i+sizeof(aCell)<=sizeof(aPage); i++){
      if( memcmp(&p[i], aCell, sizeof(aCell))!=0 ) continue;
      memcpy(aPage, p, sizeof(aPage));
      aPage[i+2] = 127;                   /* text of 57 bytes, where the record holds 8 */
      hostMemPutPage(pgno, aPage, sizeof(aPage));
      nFound++;
    }
  }
  CHECK(nFound==1);
  openConn(&c);
  run(&c, "DELETE FROM t WHERE id = 1");
  CHECK_STR(events(&c, "{\"since\":2}"), "3/3 delete t {\"id\":1,\"s\":null,\"n\":null}");
  connClose(&c);
}

/* The rows of the answer to /query zSql, printed by cJSON. */
static char *queriedRows(Conn *pConn, const char *zSql){
  Answer a = postSql(pConn, "/query", zSql);
  char *z;
  CHECK(a.status==200);
  z = cJSON_PrintUnformatted(cJSON_GetObjectItem(a.pJson, "rows"));
  answerFree(&a);
  return z;
}

/*
** Capture writes small values in place and hands the rest to json.c (long
** and escaped texts, reals, blobs, integers past 2^53), within one event and
** across the room it reserves: each event's row reads as /query read the row.
*/
static void an_event_reads_as_a_query_of_its_row(void){
  static const char *azValue[] = {
    "printf('%.*c', 256, 'a')", "printf('%.*c', 257, 'b')", "'say \"hi\"\\'", "char(10, 1, 127)",
    "CAST(x'ff41' AS TEXT)", "'\u00e9\u20ac\U0001d11e'", "''", "NULL", "0", "-1",
    "9007199254740991", "9007199254740992", "-9223372036854775808", "0.1", "-0.0", "1e300",
    "x''", "x'00ff'", "zeroblob(3)",
  };
  const int nValue = (int)(sizeof(azValue)/sizeof(azValue[0]));
  Conn c;
  char *zBefore[32], *zAfter[32];
  Answer a;
  const cJSON *pEvent;
  int i, nUpdate = 0, nDelete = 0;
  openConn(&c);
  /* 40 more integer columns: an event wider than the room reserved at a time. */
  run(&c, "CREATE TABLE v(id INTEGER PRIMARY KEY, x, y, c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14,"
          "c15,c16,c17,c18,c19,c20,c21,c22,c23,c24,c25,c26,c27,c28,c29,c30,c31,c32,c33,c34,c35,c36,c37,"
          "c38,c39,c40 DEFAULT 1234567890123)");
  for(i=0; i<nValue; i++){
    char *zSql = sqlite3_mprintf("INSERT INTO v(id, x, y) VALUES(%d, %s, %d)", i+1, azValue[i], -i);
    run(&c, zSql);
    sqlite3_free(zSql);
  }
  for(i=0; i<nValue; i++){
    char *zSql = sqlite3_mprintf("SELECT * FROM v WHERE id=%d", i+1);
    zBefore[i] = queriedRows(&c, zSql);
    sqlite3_free(zSql);
  }
  run(&c, "UPDATE v SET y=y-1, x=x");
  for(i=0; i<nValue; i++){
    char *zSql = sqlite3_mprintf("SELECT * FROM v WHERE id=%d", i+1);
    zAfter[i] = queriedRows(&c, zSql);
    sqlite3_free(zSql);
  }
  run(&c, "DELETE FROM v");
  a = post(&c, "/changes", "{}");
  CHECK(a.status==200);
  cJSON_ArrayForEach(pEvent, cJSON_GetObjectItem(a.pJson, "events")){
    const char *zType = cJSON_GetObjectItem(pEvent, "type")->valuestring;
    cJSON *pRows = cJSON_CreateArray();
    cJSON *pOldRows = cJSON_CreateArray();
    char *zData, *zOld = 0;
    cJSON_AddItemToArray(pRows, cJSON_Duplicate(cJSON_GetObjectItem(pEvent, "data"), 1));
    zData = cJSON_PrintUnformatted(pRows);
    if( cJSON_GetObjectItem(pEvent, "old") ){
      cJSON_AddItemToArray(pOldRows, cJSON_Duplicate(cJSON_GetObjectItem(pEvent, "old"), 1));
      zOld = cJSON_PrintUnformatted(pOldRows);
    }
    i = cJSON_GetObjectItem(cJSON_GetObjectItem(pEvent, "data"), "id")->valueint - 1;
    if( strcmp(zType, "insert")==0 ){
      CHECK_STR(zData, zBefore[i]);
    }else if( strcmp(zType, "update")==0 ){
      CHECK_STR(zData, zAfter[i]);
      CHECK_STR(zOld, zBefore[i]);
      nUpdate++;
    }else{
      CHECK_STR(zData, zAfter[i]);
      nDelete++;
    }
    cJSON_free(zData);
    cJSON_free(zOld);
    cJSON_Delete(pRows);
    cJSON_Delete(pOldRows);
  }
  CHECK(nUpdate==nValue && nDelete==nValue);
  answerFree(&a);
  for(i=0; i<nValue; i++){
    cJSON_free(zBefore[i]);
    cJSON_free(zAfter[i]);
  }
  connClose(&c);
}

/* A table of SQLite's most columns: the hook's scratch grows to its rows. */
static void a_table_of_the_most_columns_is_captured(void){
  sqlite3_str *pSql = sqlite3_str_new(0);
  Conn c;
  Answer a;
  const cJSON *pEvent;
  char *zSql;
  int i, nEvent = 0, nMost;
  openConn(&c);
  nMost = sqlite3_limit(c.db, SQLITE_LIMIT_COLUMN, -1);
  sqlite3_str_appendall(pSql, "CREATE TABLE w(id INTEGER PRIMARY KEY");
  for(i=1; i<nMost; i++) sqlite3_str_appendf(pSql, ", c%d DEFAULT %d", i, i);
  sqlite3_str_appendall(pSql, ")");
  zSql = sqlite3_str_finish(pSql);
  run(&c, zSql);
  sqlite3_free(zSql);
  run(&c, "INSERT INTO w(id) VALUES(1)");
  zSql = sqlite3_mprintf("UPDATE w SET c%d = 'changed'", nMost-1);
  run(&c, zSql);
  sqlite3_free(zSql);
  a = post(&c, "/changes", "{}");
  CHECK(a.status==200);
  cJSON_ArrayForEach(pEvent, cJSON_GetObjectItem(a.pJson, "events")){
    const cJSON *pData = cJSON_GetObjectItem(pEvent, "data");
    const cJSON *pOld = cJSON_GetObjectItem(pEvent, "old");
    CHECK(cJSON_GetArraySize(pData)==nMost);
    CHECK(cJSON_GetObjectItem(pData, "c1000")->valueint==1000);
    if( nEvent++ ){
      zSql = sqlite3_mprintf("c%d", nMost-1);
      CHECK_STR(cJSON_GetObjectItem(pData, zSql)->valuestring, "changed");
      CHECK(pOld && cJSON_GetObjectItem(pOld, zSql)->valueint==nMost-1);
      sqlite3_free(zSql);
    }
  }
  CHECK(nEvent==2);
  answerFree(&a);
  connClose(&c);
}

/* A statement that writes one table after another (here a chain of triggers
** through 40 tables, more than capture keeps the columns of between
** statements): each change is its own log row, in order, each with its own
** table's columns, also after one of them changed shape. */
static void a_statement_through_many_tables_logs_each_in_order(void){
  Conn c;
  Answer a;
  const cJSON *pEvent;
  char zSql[200];
  int i, nEvent = 0;
  openConn(&c);
  for(i=0; i<40; i++){
    snprintf(zSql, sizeof(zSql), "CREATE TABLE t%d(a, b)", i);
    run(&c, zSql);
  }
  for(i=0; i<39; i++){
    snprintf(zSql, sizeof(zSql),
             "CREATE TRIGGER g%d AFTER INSERT ON t%d BEGIN INSERT INTO t%d(a, b) VALUES(new.a + 1, %d); END",
             i, i, i+1, i);
    run(&c, zSql);
  }
  run(&c, "INSERT INTO t0(a, b) VALUES(0, -1)");
  run(&c, "ALTER TABLE t7 ADD COLUMN c DEFAULT 9");
  run(&c, "INSERT INTO t6(a, b) VALUES(100, -1)");
  CHECK_STR(scalar(&c, "SELECT count(*) || ':' || min(first_lsn) || ':' || max(last_lsn) FROM _dosql_change_log"),
            "\"74:1:74\"");
  a = post(&c, "/changes", "{\"since\":40}");
  CHECK(a.status==200);
  cJSON_ArrayForEach(pEvent, cJSON_GetObjectItem(a.pJson, "events")){
    const cJSON *pData = cJSON_GetObjectItem(pEvent, "data");
    char zTable[16];
    snprintf(zTable, sizeof(zTable), "t%d", 6+nEvent);
    CHECK_STR(cJSON_GetObjectItem(pEvent, "table")->valuestring, zTable);
    CHECK(cJSON_GetObjectItem(pData, "a")->valueint==100+nEvent);
    CHECK((cJSON_GetObjectItem(pData, "c")!=0)==(nEvent==1));
    nEvent++;
  }
  CHECK(nEvent==34);
  answerFree(&a);
  connClose(&c);
}

static void a_commit_shares_one_txid(void){
  Conn c;
  openConn(&c);
  run(&c, "CREATE TABLE t(x)");
  run(&c, "INSERT INTO t VALUES(1),(2)");
  okFree(&c, "/transaction", "{\"operations\":[{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(3)\"},"
                            "{\"type\":\"run\",\"sql\":\"DELETE FROM t WHERE x=1\"}]}");
  CHECK_STR(events(&c, "{}"),
    "1/1 insert t {\"x\":1} | 2/1 insert t {\"x\":2} | 3/3 insert t {\"x\":3} | 4/3 delete t {\"x\":1}");
  connClose(&c);
}

static void results_are_not_disturbed_by_capture(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE t(id INTEGER PRIMARY KEY, x)");
  a = post(&c, "/run", "{\"sql\":\"INSERT INTO t(id, x) VALUES(41, 1),(42, 2)\"}");
  CHECK_STR(a.zBody, "{\"rowsAffected\":2,\"lastInsertRowId\":42}");
  answerFree(&a);
  a = post(&c, "/run", "{\"sql\":\"UPDATE t SET x=x+1\"}");
  CHECK_STR(a.zBody, "{\"rowsAffected\":2,\"lastInsertRowId\":0}");
  answerFree(&a);
  /* An UPSERT that updates inserted nothing; one that inserts reports its row. */
  run(&c, "CREATE UNIQUE INDEX t_x ON t(x)");
  a = post(&c, "/run", "{\"sql\":\"INSERT INTO t(x) VALUES(2) ON CONFLICT(x) DO UPDATE SET x=x+10\"}");
  CHECK_STR(a.zBody, "{\"rowsAffected\":1,\"lastInsertRowId\":0}");
  answerFree(&a);
  a = post(&c, "/run", "{\"sql\":\"INSERT INTO t(id, x) VALUES(50, 7) ON CONFLICT(x) DO UPDATE SET x=x+10\"}");
  CHECK_STR(a.zBody, "{\"rowsAffected\":1,\"lastInsertRowId\":50}");
  answerFree(&a);
  run(&c, "DELETE FROM t WHERE id=50");
  /* SQL's own counters count the user's rows, not the log's: as SQLite answers. */
  CHECK_STR(scalar(&c, "SELECT changes() || ' ' || total_changes() || ' ' || last_insert_rowid()"), "\"1 7 50\"");
  a = post(&c, "/batch", "{\"operations\":[{\"sql\":\"DELETE FROM t\"},"
                          "{\"sql\":\"SELECT changes() AS c, total_changes() AS t\"}]}");
  CHECK(strstr(a.zBody, "{\"c\":2,\"t\":9}")!=0);
  answerFree(&a);
  connClose(&c);
}

/* POST /changes/prune (as the host) zBody answers 200, nDeleted (unless < 0)
** events deleted and nRemaining left. */
static void pruneAnswers(Conn *pConn, const char *zBody, int nDeleted, int nRemaining){
  Answer a = callFlags(pConn, "POST", "/changes/prune", zBody, INTERNAL);
  CHECK(a.status==200);
  if( nDeleted>=0 ) CHECK(cJSON_GetObjectItem(a.pJson, "deleted")->valueint==nDeleted);
  CHECK(cJSON_GetObjectItem(a.pJson, "remaining")->valueint==nRemaining);
  if( a.status!=200 ) printf("  %s -> %d %s\n", zBody, a.status, a.zBody);
  answerFree(&a);
}

/* retainEvents keeps the newest events by count, though their numbers jump
** past a restore or an import (here, a gap from 3 to 100); retainBytes the
** newest rows that hold that many bytes of events. */
static void prune_keeps_the_newest_events_across_a_gap(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE t(x)");
  forge(&c, "INSERT INTO main._dosql_change_log VALUES"
            "(1, 1, 1, 0, 't', '[\"x\"]', '[[\"i\",[1]]]'), (2, 2, 2, 0, 't', '[\"x\"]', '[[\"i\",[2]]]'),"
            "(3, 3, 3, 0, 't', '[\"x\"]', '[[\"i\",[3]]]'), (100, 100, 100, 0, 't', '[\"x\"]', '[[\"i\",[4]]]'),"
            "(101, 101, 100, 0, 't', '[\"x\"]', '[[\"i\",[5]]]')");
  pruneAnswers(&c, "{\"keepEvents\":4,\"keepMs\":9007199254740991}", 1, 4);
  CHECK(logField(&c, "{}", "oldest")==2);
  /* keepBytes: rows of 16 bytes of events (cols and events), newest first; the
  ** newest stays even when it alone is more. */
  pruneAnswers(&c, "{\"keepEvents\":100,\"keepMs\":9007199254740991,\"keepBytes\":40}", 2, 2);
  CHECK(logField(&c, "{}", "oldest")==100);
  pruneAnswers(&c, "{\"keepEvents\":100,\"keepMs\":9007199254740991,\"keepBytes\":0}", -1, 1);
  a = callFlags(&c, "POST", "/changes/prune", "{\"keepEvents\":1,\"keepMs\":1,\"keepBytes\":-1}", INTERNAL);
  CHECK(a.status==400 && strstr(answerError(&a), "keepBytes must be a whole number"));
  answerFree(&a);
  connClose(&c);
}

/* An UPSERT that inserts the rowid last_insert_rowid() already had (the first
** row of a second table) reports it; one that updates, through a trigger that
** inserts, reports none. With capture on and off (the hook watches either way). */
static void an_upsert_reports_the_row_it_inserted(void){
  int bCapture;
  for(bCapture=0; bCapture<=1; bCapture++){
    Conn c;
    Answer a;
    hostMemReset();
    openConnCapturing(&c, bCapture);
    run(&c, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT)");
    run(&c, "CREATE TABLE hits(id INTEGER PRIMARY KEY, k TEXT UNIQUE, n INTEGER)");
    run(&c, "CREATE TABLE audit(id INTEGER PRIMARY KEY, what TEXT)");
    run(&c, "CREATE TRIGGER hits_up AFTER UPDATE ON hits BEGIN INSERT INTO audit(what) VALUES('up'); END");
    a = post(&c, "/run", "{\"sql\":\"INSERT INTO users(name) VALUES('a')\"}");
    CHECK_STR(a.zBody, "{\"rowsAffected\":1,\"lastInsertRowId\":1}");
    answerFree(&a);
    a = post(&c, "/run", "{\"sql\":\"INSERT INTO hits(k, n) VALUES('x', 1) ON CONFLICT(k) DO UPDATE SET n=n+1\"}");
    CHECK_STR(a.zBody, "{\"rowsAffected\":1,\"lastInsertRowId\":1}");
    answerFree(&a);
    a = post(&c, "/run", "{\"sql\":\"INSERT INTO hits(k, n) VALUES('x', 1) ON CONFLICT(k) DO UPDATE SET n=n+1\"}");
    CHECK_STR(a.zBody, "{\"rowsAffected\":1,\"lastInsertRowId\":0}");
    answerFree(&a);
    CHECK_STR(scalar(&c, "SELECT count(*) FROM audit"), "1");
    connClose(&c);
  }
}

/* The engine's own writes leave SQL's counters as the user's statements did:
** pruning the change log, and a migration's record. */
static void the_engines_own_writes_are_not_counted(void){
  Conn c;
  Answer a;
  int i;
  openConn(&c);
  run(&c, "CREATE TABLE t(x)");
  for(i=0; i<5; i++) run(&c, "INSERT INTO t VALUES(1),(2)");
  a = callFlags(&c, "POST", "/changes/prune", "{\"keepEvents\":1,\"keepMs\":0}", INTERNAL);
  CHECK(a.status==200 && cJSON_GetObjectItem(a.pJson, "deleted")->valueint>0);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT changes() || ' ' || total_changes() || ' ' || last_insert_rowid()"), "\"2 10 10\"");
  connClose(&c);
}

static void undone_work_leaves_no_event(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE t(x UNIQUE)");
  run(&c, "INSERT INTO t VALUES(1)");
  /* A statement that fails half way: its first rows were changed, then undone. */
  a = post(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(5),(6),(1)\"}");
  CHECK(a.status==409);
  answerFree(&a);
  /* A /transaction whose second operation fails. */
  a = post(&c, "/transaction", "{\"operations\":[{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(7)\"},"
                              "{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(1)\"}]}");
  CHECK(a.status==409);
  answerFree(&a);
  /* Inside an interactive transaction: a failed statement, a savepoint rolled
  ** back to, a failed batch; what survives commits with one txId. */
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(2)\"}");
  a = callFlags(&c, "POST", "/run", "{\"sql\":\"INSERT INTO t VALUES(8),(1)\"}", IN_TX);
  CHECK(a.status==409);
  answerFree(&a);
  a = callFlags(&c, "POST", "/transaction", "{\"operations\":["
      "{\"type\":\"run\",\"sql\":\"SAVEPOINT s\"},{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(9)\"},"
      "{\"type\":\"run\",\"sql\":\"ROLLBACK TO s\"},{\"type\":\"run\",\"sql\":\"INSERT INTO t VALUES(3)\"},"
      "{\"type\":\"run\",\"sql\":\"RELEASE s\"}]}", IN_TX);
  CHECK(a.status==200);
  answerFree(&a);
  a = callFlags(&c, "POST", "/batch", "{\"operations\":[{\"sql\":\"INSERT INTO t VALUES(10)\"},"
                                     "{\"sql\":\"INSERT INTO t VALUES(1)\"}]}", IN_TX);
  CHECK(a.status==409);
  answerFree(&a);
  txOk(&c, "/commit", "{}");
  /* And an interactive transaction rolled back. */
  okFree(&c, "/begin", "{}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(11)\"}");
  txOk(&c, "/rollback", "{}");
  run(&c, "INSERT INTO t VALUES(4)");
  CHECK_STR(events(&c, "{}"),
    "1/1 insert t {\"x\":1} | 2/2 insert t {\"x\":2} | 3/2 insert t {\"x\":3} | 4/4 insert t {\"x\":4}");
  connClose(&c);
}

static void a_failed_commit_leaves_no_event(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE t(x)");
  hostMemFailCommit(1);
  a = post(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1)\"}");
  CHECK(a.status==503);
  answerFree(&a);
  run(&c, "INSERT INTO t VALUES(2)");
  connClose(&c);
  openConn(&c);
  CHECK_STR(events(&c, "{}"), "1/1 insert t {\"x\":2}");
  connClose(&c);
}

static void what_is_and_is_not_captured(void){
  Conn c;
  openConn(&c);
  run(&c, "CREATE TABLE g(a, v AS (a*2) VIRTUAL, s AS (a+1) STORED)");
  run(&c, "INSERT INTO g(a) VALUES(1)");
  run(&c, "CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID");
  run(&c, "INSERT INTO w VALUES('a', 1)");
  run(&c, "CREATE TABLE u(k UNIQUE, v)");
  run(&c, "INSERT INTO u VALUES(1, 'old')");
  run(&c, "INSERT OR REPLACE INTO u VALUES(1, 'new')");
  run(&c, "CREATE TEMP TABLE tmp(x)");
  run(&c, "INSERT INTO tmp VALUES(1)");
  run(&c, "CREATE TABLE log(m)");
  run(&c, "CREATE TRIGGER tr AFTER INSERT ON w BEGIN INSERT INTO log VALUES(new.k); END");
  run(&c, "INSERT INTO w VALUES('b', 2)");
  CHECK_STR(events(&c, "{}"),
    "1/1 insert g {\"a\":1,\"s\":2}"
    " | 2/2 insert w {\"k\":\"a\",\"v\":1}"
    " | 3/3 insert u {\"k\":1,\"v\":\"old\"}"
    " | 4/4 delete u {\"k\":1,\"v\":\"old\"} | 5/4 insert u {\"k\":1,\"v\":\"new\"}"
    " | 6/6 insert w {\"k\":\"b\",\"v\":2} | 7/6 insert log {\"m\":\"b\"}");
  connClose(&c);
}

static void drop_table_reports_cascades_but_not_its_own_rows(void){
  Conn c;
  openConn(&c);
  run(&c, "CREATE TABLE p(id INTEGER PRIMARY KEY)");
  run(&c, "CREATE TABLE k(id INTEGER PRIMARY KEY, pid REFERENCES p(id) ON DELETE CASCADE)");
  run(&c, "INSERT INTO p VALUES(1)");
  run(&c, "INSERT INTO k VALUES(5, 1)");
  run(&c, "DROP TABLE p");
  CHECK_STR(events(&c, "{\"since\":2}"), "3/3 delete k {\"id\":5,\"pid\":1}");
  /* Rows written before ALTER TABLE ADD COLUMN read with its default. */
  run(&c, "CREATE TABLE a(id INTEGER PRIMARY KEY)");
  run(&c, "INSERT INTO a VALUES(6)");
  run(&c, "ALTER TABLE a ADD COLUMN z DEFAULT 7");
  run(&c, "DELETE FROM a");
  CHECK_STR(events(&c, "{\"since\":4}"), "5/5 delete a {\"id\":6,\"z\":7}");
  /* A table made again under a dropped one's name is named by its new columns;
  ** so is one whose column was renamed. */
  run(&c, "CREATE TABLE p(x, y)");
  run(&c, "INSERT INTO p VALUES(1, 2)");
  run(&c, "ALTER TABLE p RENAME COLUMN y TO why");
  run(&c, "INSERT INTO p VALUES(3, 4)");
  CHECK_STR(events(&c, "{\"since\":5}"), "6/6 insert p {\"x\":1,\"y\":2} | 7/7 insert p {\"x\":3,\"why\":4}");
  connClose(&c);
}

static void migrations_are_captured(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = migrate(&c, "{\"migrations\":[{\"name\":\"001\",\"sql\":"
                  "\"CREATE TABLE t(x); INSERT INTO t VALUES(1); INSERT INTO t VALUES(2);\"}]}");
  CHECK(a.status==200);
  answerFree(&a);
  CHECK_STR(events(&c, "{}"), "1/1 insert t {\"x\":1} | 2/1 insert t {\"x\":2}");
  connClose(&c);
}

static void capture_can_be_off(void){
  Conn c;
  openConnCapturing(&c, 0);
  run(&c, "CREATE TABLE t(x)");
  run(&c, "INSERT INTO t VALUES(1)");
  CHECK_STR(events(&c, "{}"), "");
  CHECK(logField(&c, "{}", "head")==0);
  connClose(&c);
}

static void the_log_is_read_only_to_users(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE t(x)");
  run(&c, "INSERT INTO t VALUES(1)");
  a = post(&c, "/run", "{\"sql\":\"DELETE FROM _dosql_change_log\"}");
  CHECK(a.status==403);
  answerFree(&a);
  a = post(&c, "/run", "{\"sql\":\"UPDATE _dosql_change_log SET events='[]'\"}");
  CHECK(a.status==403);
  answerFree(&a);
  /* The view: SQLite refuses writes to a view, and dropping it is ours to do. */
  a = post(&c, "/run", "{\"sql\":\"DELETE FROM _dosql_changes\"}");
  CHECK(a.status==400 && strstr(answerError(&a), "view"));
  answerFree(&a);
  a = post(&c, "/run", "{\"sql\":\"DROP VIEW _dosql_changes\"}");
  CHECK(a.status==403);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT count(*) FROM _dosql_changes"), "1");   /* readable */
  CHECK_STR(scalar(&c, "SELECT count(*) FROM _dosql_change_log"), "1");
  connClose(&c);
}

static void pages_follow_since_limit_and_tables(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE a(x)");
  run(&c, "CREATE TABLE b(x)");
  run(&c, "INSERT INTO a VALUES(1)");
  run(&c, "INSERT INTO b VALUES(2)");
  run(&c, "INSERT INTO a VALUES(3)");
  CHECK_STR(events(&c, "{\"since\":1,\"limit\":1}"), "2/2 insert b {\"x\":2}");
  CHECK(logField(&c, "{\"since\":1,\"limit\":1}", "next")==2);
  CHECK(logField(&c, "{\"since\":1,\"limit\":5}", "next")==3);
  CHECK(logField(&c, "{\"since\":1}", "head")==3);
  CHECK(logField(&c, "{\"since\":1}", "oldest")==1);
  CHECK_STR(events(&c, "{\"tables\":[\"A\"]}"), "1/1 insert a {\"x\":1} | 3/3 insert a {\"x\":3}");
  CHECK(logField(&c, "{\"tables\":[\"a\"],\"limit\":1}", "next")==1);
  CHECK(logField(&c, "{\"tables\":[\"b\"],\"since\":2}", "next")==3);
  CHECK_STR(events(&c, "{\"since\":3}"), "");
  a = post(&c, "/changes", "{\"since\":-1}");
  CHECK(a.status==400 && strcmp(answerCode(&a), "BAD_REQUEST")==0);
  answerFree(&a);
  a = post(&c, "/changes", "{\"since\":1.5}");
  CHECK(a.status==400);
  answerFree(&a);
  a = post(&c, "/changes", "{\"limit\":1001}");
  CHECK(a.status==400);
  answerFree(&a);
  a = post(&c, "/changes", "{\"tables\":[\"a\",3]}");
  CHECK(a.status==400);
  answerFree(&a);
  a = post(&c, "/changes", "{\"tables\":\"a\"}");
  CHECK(a.status==400);
  answerFree(&a);
  /* A selection that could never match: nothing, or tables never captured. */
  a = post(&c, "/changes", "{\"tables\":[]}");
  CHECK(a.status==400 && strstr(a.zBody, "1 to 500 table names")!=0);
  answerFree(&a);
  {
    /* Names of 16 KiB together are taken (none matches a table: 200, nothing);
    ** a byte more is not, whatever the count. */
    char *zBody = malloc(DOSQL_CHANGES_MAX_TABLE_BYTES + 64);
    int n = sprintf(zBody, "{\"tables\":[\"");
    memset(zBody + n, 'n', DOSQL_CHANGES_MAX_TABLE_BYTES/2);
    n += DOSQL_CHANGES_MAX_TABLE_BYTES/2;
    n += sprintf(zBody + n, "\",\"");
    memset(zBody + n, 'm', DOSQL_CHANGES_MAX_TABLE_BYTES/2);
    n += DOSQL_CHANGES_MAX_TABLE_BYTES/2;
    strcpy(zBody + n, "\"]}");
    a = post(&c, "/changes", zBody);
    CHECK(a.status==200);
    answerFree(&a);
    strcpy(zBody + n, "x\"]}");
    a = post(&c, "/changes", zBody);
    CHECK(a.status==400 && strstr(a.zBody, "16384 bytes together")!=0);
    answerFree(&a);
    free(zBody);
  }
  a = post(&c, "/changes", "{\"tables\":[\"a\",\"_dosql_change_log\"]}");
  CHECK(a.status==400 && strstr(a.zBody, "changes to _dosql_change_log are never captured")!=0);
  answerFree(&a);
  a = post(&c, "/changes", "{\"tables\":[\"sqlite_schema\"]}");
  CHECK(a.status==400 && strstr(a.zBody, "never captured")!=0);
  answerFree(&a);
  connClose(&c);
}

static void prune_is_internal_and_keeps_the_newest(void){
  Conn c;
  Answer a;
  int i;
  openConn(&c);
  run(&c, "CREATE TABLE t(x)");
  for(i=1; i<=10; i++){                     /* ten statements: ten rows of the log */
    char zSql[64];
    snprintf(zSql, sizeof(zSql), "INSERT INTO t VALUES(%d)", i);
    run(&c, zSql);
  }
  a = post(&c, "/changes/prune", "{\"keepEvents\":0,\"keepMs\":0}");
  CHECK(a.status==404);
  answerFree(&a);
  a = callFlags(&c, "POST", "/changes/prune", "{\"keepEvents\":4,\"keepMs\":3600000}", INTERNAL);
  CHECK(a.status==200);
  CHECK(cJSON_GetObjectItem(a.pJson, "deleted")->valueint==6);
  CHECK(cJSON_GetObjectItem(a.pJson, "remaining")->valueint==4);
  CHECK(cJSON_IsFalse(cJSON_GetObjectItem(a.pJson, "more")));
  CHECK(cJSON_GetObjectItem(a.pJson, "oldestTimestamp")->valuedouble > 1.7e12);
  answerFree(&a);
  CHECK(logField(&c, "{}", "oldest")==7);
  /* Reading from before the oldest kept event is a gap: reload, go on from head. */
  CHECK(logField(&c, "{\"since\":5}", "gap")==1);
  CHECK(logField(&c, "{\"since\":5}", "next")==10);
  CHECK_STR(events(&c, "{\"since\":5}"), "");
  CHECK(logField(&c, "{\"since\":6}", "gap")==0);
  CHECK(logField(&c, "{\"since\":11}", "gap")==1);  /* ahead of the log */
  /* Age: everything is old an hour later, but the newest stays. */
  hostMemShiftClock(3600001.0);
  a = callFlags(&c, "POST", "/changes/prune", "{\"keepEvents\":100,\"keepMs\":3600000}", INTERNAL);
  CHECK(cJSON_GetObjectItem(a.pJson, "deleted")->valueint==3);
  CHECK(cJSON_GetObjectItem(a.pJson, "remaining")->valueint==1);
  answerFree(&a);
  CHECK(logField(&c, "{}", "oldest")==10);
  /* So numbering goes on, also after a reopen. */
  connClose(&c);
  openConn(&c);
  run(&c, "INSERT INTO t VALUES(11)");
  CHECK_STR(events(&c, "{\"since\":10}"), "11/11 insert t {\"x\":11}");
  a = callFlags(&c, "POST", "/changes/prune", "{\"keepEvents\":1}", INTERNAL);
  CHECK(a.status==400);
  answerFree(&a);
  connClose(&c);
}

static void an_empty_log_prunes_and_reads_cleanly(void){
  Conn c;
  Answer a;
  openConn(&c);
  a = callFlags(&c, "POST", "/changes/prune", "{\"keepEvents\":0,\"keepMs\":0}", INTERNAL);
  CHECK_STR(a.zBody, "{\"deleted\":0,\"remaining\":0,\"oldestTimestamp\":null,\"more\":false}");
  answerFree(&a);
  a = post(&c, "/changes", "{}");
  CHECK_STR(a.zBody, "{\"events\":[],\"next\":0,\"head\":0,\"oldest\":0,\"gap\":false}");
  answerFree(&a);
  connClose(&c);
}

/* changes.tables: the host's POST /changes/capture right after the open. */
static void capture_of_named_tables_only(void){
  static const struct { const char *zBody; const char *zSays; } aBad[] = {
    { "{}",                                  "must be an array of 1 to 500" },
    { "{\"tables\":[]}",                     "must be an array of 1 to 500" },
    { "{\"tables\":\"a\"}",                  "must be an array of 1 to 500" },
    { "{\"tables\":[\"a\",\"\"]}",            "must be an array of 1 to 500" },
    { "{\"tables\":[\"a\",7]}",               "must be an array of 1 to 500" },
    { "{\"tables\":[\"SQLITE_sequence\"]}",    "SQLITE_sequence, whose changes are never captured" },
    { "{\"tables\":[\"_dosql_changes\"]}",     "_dosql_changes, whose changes are never captured" },
  };
  Conn c;
  Answer a;
  int i;
  openConn(&c);
  a = post(&c, "/changes/capture", "{\"tables\":[\"a\"]}");
  CHECK(a.status==404);                                  /* the host's only */
  answerFree(&a);
  for(i=0; i<(int)(sizeof(aBad)/sizeof(aBad[0])); i++){
    a = callFlags(&c, "POST", "/changes/capture", aBad[i].zBody, INTERNAL);
    CHECK(a.status==500 && strcmp(answerCode(&a), "BAD_CONFIG")==0);
    CHECK(strstr(a.zBody, aBad[i].zSays)!=0);
    answerFree(&a);
  }
  a = callFlags(&c, "POST", "/changes/capture", "{\"tables\":[\"A\",\"later\"]}", INTERNAL);
  CHECK_STR(a.zBody, "{\"tables\":2}");
  answerFree(&a);
  run(&c, "CREATE TABLE a(x)");
  run(&c, "CREATE TABLE b(x)");
  run(&c, "INSERT INTO a VALUES(1)");
  run(&c, "INSERT INTO b VALUES(2)");
  run(&c, "UPDATE b SET x=3");
  run(&c, "UPDATE a SET x=4");
  run(&c, "CREATE TABLE later(y)");                      /* named before it existed */
  run(&c, "INSERT INTO later VALUES('z')");
  CHECK_STR(events(&c, "{}"), "1/1 insert a {\"x\":1} | 2/2 update a {\"x\":4} {\"x\":1}"
                              " | 3/3 insert later {\"y\":\"z\"}");
  CHECK_STR(events(&c, "{\"tables\":[\"LATER\"]}"), "3/3 insert later {\"y\":\"z\"}");
  /* Nothing of b was kept, so reading or subscribing to it says why. */
  a = post(&c, "/changes", "{\"tables\":[\"a\",\"b\"]}");
  CHECK(a.status==400 && strstr(a.zBody, "changes to b are not captured")!=0);
  answerFree(&a);
  a = callFlags(&c, "POST", "/subscribe", "{\"tables\":[\"b\"]}", INTERNAL);
  CHECK(a.status==400 && strstr(a.zBody, "changes.tables setting leaves it out")!=0);
  answerFree(&a);
  /* A reopen captures every table again until the host says otherwise. */
  connClose(&c);
  openConn(&c);
  run(&c, "INSERT INTO b VALUES(5)");
  CHECK_STR(events(&c, "{\"since\":3}"), "4/4 insert b {\"x\":5}");
  connClose(&c);
  /* With capture off there is nothing to limit. */
  openConnCapturing(&c, 0);
  a = callFlags(&c, "POST", "/changes/capture", "{\"tables\":[\"a\"]}", INTERNAL);
  CHECK(a.status==500 && strstr(a.zBody, "needs change capture on")!=0);
  answerFree(&a);
  connClose(&c);
}

static void a_statement_is_stored_in_few_rows(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE big(id INTEGER PRIMARY KEY, v)");
  run(&c, "INSERT INTO big WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<2500) SELECT i, i FROM n");
  /* DOSQL_CHANGE_BATCH_EVENTS (1000) to a row. */
  CHECK_STR(scalar(&c, "SELECT group_concat(first_lsn || '-' || last_lsn) FROM _dosql_change_log"),
            "\"1-1000,1001-2000,2001-2500\"");
  CHECK_STR(events(&c, "{\"since\":999,\"limit\":2}"),
            "1000/1 insert big {\"id\":1000,\"v\":1000} | 1001/1 insert big {\"id\":1001,\"v\":1001}");
  CHECK(logField(&c, "{\"since\":999,\"limit\":2}", "next")==1001);
  CHECK(logField(&c, "{\"since\":1500}", "next")==2500);
  /* An update keeps what changed; the event still has both whole rows. */
  run(&c, "UPDATE big SET v=-v WHERE id<=2");
  CHECK_STR(scalar(&c, "SELECT events FROM _dosql_change_log WHERE last_lsn=2502"),
            "\"[[\\\"u\\\",[1,-1],{\\\"1\\\":1}],[\\\"u\\\",[2,-2],{\\\"1\\\":2}]]\"");
  CHECK_STR(events(&c, "{\"since\":2501}"), "2502/2501 update big {\"id\":2,\"v\":-2} {\"id\":2,\"v\":2}");
  run(&c, "UPDATE big SET v=v WHERE id=1");
  CHECK_STR(events(&c, "{\"since\":2502}"), "2503/2503 update big {\"id\":1,\"v\":-1} {\"id\":1,\"v\":-1}");
  /* A statement that changes two tables (a trigger) alternates rows. */
  run(&c, "CREATE TABLE audit(n)");
  run(&c, "CREATE TRIGGER a AFTER DELETE ON big BEGIN INSERT INTO audit VALUES(old.id); END");
  run(&c, "DELETE FROM big WHERE id IN (1, 2)");
  CHECK_STR(scalar(&c, "SELECT group_concat(tbl || ':' || first_lsn || '-' || last_lsn) FROM _dosql_change_log WHERE last_lsn>2503"),
            "\"big:2504-2504,audit:2505-2505,big:2506-2506,audit:2507-2507\"");
  /* Rows are pruned whole: 2,000 to keep of 2,507 keeps the row 1-1000,
  ** 1,200 to keep deletes it (and leaves 1001-2000). */
  {
    a = callFlags(&c, "POST", "/changes/prune", "{\"keepEvents\":2000,\"keepMs\":3600000}", INTERNAL);
    CHECK(a.status==200 && cJSON_GetObjectItem(a.pJson, "deleted")->valueint==0);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(a.pJson, "more")));
    answerFree(&a);
    a = callFlags(&c, "POST", "/changes/prune", "{\"keepEvents\":1200,\"keepMs\":3600000}", INTERNAL);
    CHECK(a.status==200 && cJSON_GetObjectItem(a.pJson, "deleted")->valueint==1000);
    CHECK(cJSON_GetObjectItem(a.pJson, "remaining")->valueint==1507);
    answerFree(&a);
  }
  CHECK(logField(&c, "{}", "oldest")==1001);
  connClose(&c);
}

/* Whether the answer to /changes holds, for each event the view shows, the
** same text: the view and the engine's reader expand the log alike. */
static void the_view_reads_as_changes_does(void){
  Conn c;
  Answer a;
  sqlite3_stmt *pStmt = 0;
  int n = 0;
  openConn(&c);
  run(&c, "CREATE TABLE t(id INTEGER PRIMARY KEY, \"we\"\"ird\\u001f\" TEXT, r REAL, b BLOB, g AS (id*2), s AS (id*3) STORED)");
  run(&c, "INSERT INTO t(id, \"we\"\"ird\\u001f\", r, b) VALUES(1, 'a\"\\\\\\u0001é', 0.1+0.2, x'00ff'),"
          " (2, NULL, -0.0, NULL), (4611686018427387904, 'x', 1e300, zeroblob(3))");
  run(&c, "UPDATE t SET r=NULL, b=x'01', \"we\"\"ird\\u001f\"='b' WHERE id=1");
  run(&c, "UPDATE t SET r=0.0 WHERE id=2");
  run(&c, "DELETE FROM t WHERE id=4611686018427387904");
  a = post(&c, "/changes", "{}");
  CHECK(a.status==200);
  CHECK(sqlite3_prepare_v2(c.db, "SELECT type, data, old FROM _dosql_changes ORDER BY lsn", -1, &pStmt, 0)==SQLITE_OK);
  while( sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zOld = (const char*)sqlite3_column_text(pStmt, 2);
    char *zWant = sqlite3_mprintf("\"type\":\"%s\",\"table\":\"t\",\"data\":%s%s%s}",
        sqlite3_column_text(pStmt, 0), sqlite3_column_text(pStmt, 1),
        zOld ? ",\"old\":" : "", zOld ? zOld : "");
    CHECK(strstr(a.zBody, zWant)!=0);
    if( strstr(a.zBody, zWant)==0 ) printf("  not in /changes: %s\n", zWant);
    sqlite3_free(zWant);
    n++;
  }
  sqlite3_finalize(pStmt);
  CHECK(n==6);
  answerFree(&a);
  connClose(&c);
}

/* The first release kept one row per event in the table _dosql_changes. */
#define LEGACY_TABLE "CREATE TABLE _dosql_changes(  lsn INTEGER PRIMARY KEY,  tx_id INTEGER NOT NULL," \
  "  ts INTEGER NOT NULL,  type TEXT NOT NULL,  tbl TEXT NOT NULL COLLATE NOCASE,  data TEXT NOT NULL,  old TEXT)"

static void a_log_of_the_first_release_is_upgraded(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE t(a, b)");
  forge(&c, "DROP VIEW main._dosql_changes; DROP TABLE main._dosql_change_log; " LEGACY_TABLE ";"
              "INSERT INTO _dosql_changes VALUES(1, 1, 1795000000000, 'insert', 't', '{\"a\":1,\"b\":\"x\"}', NULL),"
              " (2, 2, 1795000000001, 'update', 't', '{\"a\":1.50,\"b\":{\"$blob\":\"AA==\"}}', '{\"a\":1,\"b\":\"x\"}'),"
              " (3, 2, 1795000000001, 'delete', 't', '{\"a\":1,\"b\":null}', NULL)");
  connClose(&c);
  openConn(&c);
  CHECK_STR(events(&c, "{}"), "1/1 insert t {\"a\":1,\"b\":\"x\"} | 2/2 update t {\"a\":1.5,\"b\":{\"$blob\":\"AA==\"}} {\"a\":1,\"b\":\"x\"}"
                              " | 3/2 delete t {\"a\":1,\"b\":null}");
  CHECK_STR(scalar(&c, "SELECT data FROM _dosql_changes WHERE lsn=2"), "\"{\\\"a\\\":1.50,\\\"b\\\":{\\\"$blob\\\":\\\"AA==\\\"}}\"");
  CHECK_STR(scalar(&c, "SELECT type FROM sqlite_schema WHERE name='_dosql_changes'"), "\"view\"");
  run(&c, "INSERT INTO t VALUES(2, 2)");
  CHECK(logField(&c, "{}", "head")==4);
  a = callFlags(&c, "POST", "/import/check", "{}", INTERNAL);
  CHECK(a.status==200);
  answerFree(&a);
  /* A row that release would not have written: the database does not open, unchanged. */
  forge(&c, "DROP VIEW main._dosql_changes; DROP TABLE main._dosql_change_log; " LEGACY_TABLE ";"
              "INSERT INTO _dosql_changes VALUES(1, 1, 0, 'insert', 't', '{\"a\":1} ', NULL)");
  reopenRefused(&c, "UNSAFE_SCHEMA", "lsn 1");
}

/* A restore to a point before the open upgraded the first release's log keeps
** that log's events readers' history (the restore check's kept), so a reader
** among them goes on instead of reading a gap. */
static void a_restore_before_the_log_upgrade_keeps_its_events(void){
  Conn c;
  Answer a;
  char zBody[64];
  int point;
  openConn(&c);
  run(&c, "CREATE TABLE t(a, b)");
  forge(&c, "DROP VIEW main._dosql_changes; DROP TABLE main._dosql_change_log; " LEGACY_TABLE ";"
              "INSERT INTO _dosql_changes VALUES(1, 1, 1795000000000, 'insert', 't', '{\"a\":1,\"b\":\"x\"}', NULL),"
              " (2, 2, 1795000000001, 'insert', 't', '{\"a\":2,\"b\":\"y\"}', NULL)");
  a = call(&c, "GET", "/history", "");
  point = cJSON_GetObjectItem(cJSON_GetObjectItem(a.pJson, "current"), "lsn")->valueint;
  answerFree(&a);
  connClose(&c);
  openConn(&c);                         /* the log becomes _dosql_change_log */
  run(&c, "INSERT INTO t VALUES(3, 'z')");
  snprintf(zBody, sizeof(zBody), "{\"to\":%d}", point);
  a = callFlags(&c, "POST", "/restore", zBody, INTERNAL);
  CHECK(a.status==200);
  CHECK(strstr(a.zBody, "\"changes\":{\"floor\":4,\"kept\":2}")!=0);
  if( strstr(a.zBody, "\"kept\":2}")==0 ) printf("  restore check: %s\n", a.zBody);
  answerFree(&a);
  connClose(&c);
}

/* Releases before 2026-12-04 defined the view with an ordered aggregate, which
** SQLite before 3.44 cannot parse (an exported file failed in Debian 12's CLI). */
#define AGGREGATE_ORDER_VIEW "CREATE VIEW _dosql_changes(lsn, tx_id, ts, type, tbl, data, old) AS" \
  " SELECT b.first_lsn + e.key, b.tx_id, b.ts," \
  " CASE e.value ->> 0 WHEN 'i' THEN 'insert' WHEN 'u' THEN 'update' ELSE 'delete' END, b.tbl," \
  " (SELECT '{' || group_concat((b.cols -> c.fullkey) || ':'" \
  " || (e.value -> ('$[1]' || substr(c.fullkey, 2))), ',' ORDER BY c.key) || '}'" \
  " FROM json_each(b.cols) AS c WHERE c.type = 'text')," \
  " CASE e.value ->> 0 WHEN 'u' THEN (SELECT '{' || group_concat((b.cols -> c.fullkey) || ':'" \
  " || coalesce(e.value -> ('$[2].\"' || c.key || '\"'), e.value -> ('$[1]' || substr(c.fullkey, 2)))," \
  " ',' ORDER BY c.key) || '}' FROM json_each(b.cols) AS c WHERE c.type = 'text') END" \
  " FROM _dosql_change_log AS b, json_each(b.events) AS e"

static void a_view_of_an_earlier_release_is_defined_anew(void){
  Conn c;
  openConn(&c);
  run(&c, "CREATE TABLE t(a, b)");
  run(&c, "INSERT INTO t VALUES(1, 'x')");
  run(&c, "UPDATE t SET b=2.5");
  forge(&c, "DROP VIEW main._dosql_changes; " AGGREGATE_ORDER_VIEW);
  connClose(&c);
  openConn(&c);
  CHECK_STR(scalar(&c, "SELECT instr(sql, 'ORDER BY c.key) ||') FROM sqlite_schema WHERE name='_dosql_changes'"), "0");
  CHECK_STR(scalar(&c, "SELECT group_concat(lsn || ' ' || type || ' ' || data || ' ' || ifnull(old, '-'), ' | ')"
                       " FROM _dosql_changes"),
            "\"1 insert {\\\"a\\\":1,\\\"b\\\":\\\"x\\\"} - | 2 update {\\\"a\\\":1,\\\"b\\\":2.5} {\\\"a\\\":1,\\\"b\\\":\\\"x\\\"}\"");
  connClose(&c);
}

/* A row of more events than one prune call deletes (only a forged file holds
** one: the import check refuses it) is still pruned, whole, and "more" ends. */
static void a_row_larger_than_a_prune_batch_goes_whole(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE t(x)");
  forge(&c, "DELETE FROM main._dosql_change_log;"
            "INSERT INTO main._dosql_change_log SELECT 25000, 1, 1, 0, 't', '[\"x\"]',"
            " '[' || (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<25000)"
            " SELECT group_concat('[\"i\",[' || i || ']]') FROM n) || ']';"
            "INSERT INTO main._dosql_change_log VALUES(25001, 25001, 25001, 0, 't', '[\"x\"]', '[[\"i\",[0]]]')");
  a = callFlags(&c, "POST", "/import/check", "{}", INTERNAL);
  CHECK(a.status==422 && strstr(a.zBody, "at most 1000 events"));
  answerFree(&a);
  a = callFlags(&c, "POST", "/changes/prune", "{\"keepEvents\":1,\"keepMs\":3600000}", INTERNAL);
  CHECK(a.status==200);
  CHECK(cJSON_GetObjectItem(a.pJson, "deleted")->valueint==25000);
  CHECK(cJSON_IsFalse(cJSON_GetObjectItem(a.pJson, "more")));
  answerFree(&a);
  CHECK(logField(&c, "{}", "oldest")==25001);
  connClose(&c);
}

/* Column names are read again when the schema moved, also back: after a
** rolled-back ALTER the table has its old columns. */
static void columns_follow_the_schema_through_a_rollback(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE t(x)");
  run(&c, "INSERT INTO t VALUES(1)");
  a = post(&c, "/begin", "{}");
  CHECK(a.status==200);
  answerFree(&a);
  txOk(&c, "/run", "{\"sql\":\"ALTER TABLE t ADD COLUMN y\"}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(2, 3)\"}");
  txOk(&c, "/rollback", "{}");
  run(&c, "INSERT INTO t VALUES(4)");
  a = post(&c, "/begin", "{}");
  answerFree(&a);
  txOk(&c, "/run", "{\"sql\":\"ALTER TABLE t RENAME COLUMN x TO z\"}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(5)\"}");
  txOk(&c, "/rollback", "{}");
  run(&c, "INSERT INTO t VALUES(6)");
  CHECK_STR(events(&c, "{}"), "1/1 insert t {\"x\":1} | 2/2 insert t {\"x\":4} | 3/3 insert t {\"x\":6}");
  connClose(&c);
}

/* A rollback moves the schema's version back, so that a later ALTER reaches
** the version an undone one had: the columns kept from then are not its. */
static void columns_are_not_kept_from_an_undone_schema(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE t(x)");
  a = post(&c, "/begin", "{}");
  CHECK(a.status==200);
  answerFree(&a);
  txOk(&c, "/run", "{\"sql\":\"ALTER TABLE t ADD COLUMN y\"}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(1, 2)\"}");
  txOk(&c, "/rollback", "{}");
  run(&c, "ALTER TABLE t ADD COLUMN w");
  run(&c, "INSERT INTO t VALUES(3, 4)");
  run(&c, "ALTER TABLE t RENAME COLUMN x TO z");
  a = post(&c, "/begin", "{}");
  answerFree(&a);
  txOk(&c, "/run", "{\"sql\":\"ALTER TABLE t DROP COLUMN w\"}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(5)\"}");
  txOk(&c, "/rollback", "{}");
  run(&c, "ALTER TABLE t RENAME COLUMN w TO v");
  run(&c, "INSERT INTO t VALUES(6, 7)");
  a = post(&c, "/begin", "{}");
  answerFree(&a);
  txOk(&c, "/run", "{\"sql\":\"SAVEPOINT s\"}");
  txOk(&c, "/run", "{\"sql\":\"ALTER TABLE t RENAME COLUMN v TO u\"}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(8, 9)\"}");
  txOk(&c, "/run", "{\"sql\":\"ROLLBACK TO s\"}");
  txOk(&c, "/run", "{\"sql\":\"ALTER TABLE t RENAME COLUMN v TO s\"}");
  txOk(&c, "/run", "{\"sql\":\"INSERT INTO t VALUES(10, 11)\"}");
  txOk(&c, "/commit", "{}");
  CHECK_STR(events(&c, "{}"), "1/1 insert t {\"x\":3,\"w\":4} | 2/2 insert t {\"z\":6,\"v\":7}"
                              " | 3/3 insert t {\"z\":10,\"s\":11}");
  connClose(&c);
}

/* A user's foreign keys that name the log neither stop the prune nor lose
** their rows to a cascade that no event would report. */
static void a_foreign_key_to_the_log_does_not_bind_the_prune(void){
  Conn c;
  Answer a;
  int i;
  openConn(&c);
  run(&c, "PRAGMA foreign_keys=ON");
  run(&c, "CREATE TABLE t(x)");
  run(&c, "CREATE TABLE pin(l REFERENCES _dosql_change_log(last_lsn))");
  run(&c, "CREATE TABLE follow(l REFERENCES _dosql_change_log(last_lsn) ON DELETE CASCADE)");
  for(i=1; i<=3; i++) run(&c, "INSERT INTO t VALUES(1)");
  run(&c, "INSERT INTO pin VALUES(1)");
  run(&c, "INSERT INTO follow VALUES(2)");
  a = callFlags(&c, "POST", "/changes/prune", "{\"keepEvents\":0,\"keepMs\":0}", INTERNAL);
  CHECK(a.status==200);
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT (SELECT count(*) FROM pin) || ',' || (SELECT count(*) FROM follow)"), "\"1,1\"");
  CHECK_STR(scalar(&c, "SELECT foreign_keys FROM pragma_foreign_keys"), "1");   /* as the user set it */
  connClose(&c);
}

/* Nor does it bind the move of an imported file's events past the floor,
** or have a cascade change the user's rows. */
static void a_foreign_key_to_the_log_does_not_bind_its_renumbering(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "PRAGMA foreign_keys=ON");
  run(&c, "CREATE TABLE t(x)");
  run(&c, "CREATE TABLE pin(l REFERENCES _dosql_change_log(last_lsn))");
  run(&c, "CREATE TABLE follow(l REFERENCES _dosql_change_log(last_lsn) ON UPDATE CASCADE)");
  run(&c, "INSERT INTO t VALUES(1)");
  run(&c, "INSERT INTO pin VALUES(1)");
  run(&c, "INSERT INTO follow VALUES(2)");
  a = callFlags(&c, "POST", "/changes/renumber", "{\"floor\":10}", INTERNAL);
  CHECK_STR(a.zBody, "{\"head\":13}");
  answerFree(&a);
  CHECK_STR(scalar(&c, "SELECT (SELECT l FROM pin) || ',' || (SELECT l FROM follow)"), "\"1,2\"");
  CHECK_STR(scalar(&c, "SELECT foreign_keys FROM pragma_foreign_keys"), "1");   /* as the user set it */
  connClose(&c);
}

/* The host's side of a restore: every page as it was at lsn, and the numbers
** the restore check gave. */
static void restoreTo(Conn *pConn, int lsn, const char *zChanges){
  uint8_t aPage[DOSQL_DEFAULT_PAGE_SIZE];
  uint32_t pgno, n = hostMemPageCount();
  char zTo[64];
  Answer a;
  snprintf(zTo, sizeof(zTo), "{\"to\":%d}", lsn);
  a = callFlags(pConn, "POST", "/restore", zTo, INTERNAL);
  CHECK(a.status==200);
  if( strstr(a.zBody, zChanges)==0 ){
    printf("  restore check: %s, not %s\n", a.zBody, zChanges);
    harnessFailed++;
  }
  answerFree(&a);
  connClose(pConn);
  for(pgno=1; pgno<=n; pgno++){
    if( dosql_host_page_read_at(lsn, pgno, aPage, sizeof(aPage))==DOSQL_PAGE_OK ){
      hostMemPutPage(pgno, aPage, sizeof(aPage));
    }
  }
}

static int currentLsn(Conn *pConn){
  Answer a = call(pConn, "GET", "/history", "");
  int lsn = cJSON_GetObjectItem(cJSON_GetObjectItem(a.pJson, "current"), "lsn")->valueint;
  answerFree(&a);
  return lsn;
}

/* After a restore or an import (the host keeps the numbers C gave it), events
** are numbered above the floor, and a reader that saw events the replacement
** took away reads a gap, not new events under numbers it already had. */
static void numbers_go_on_past_a_restore_or_an_import(void){
  Conn c;
  Answer a;
  int point;
  openConn(&c);
  run(&c, "CREATE TABLE a(x)");
  run(&c, "INSERT INTO a VALUES(1)");            /* event 1: the point restored */
  point = currentLsn(&c);
  run(&c, "INSERT INTO a VALUES(2)");
  run(&c, "INSERT INTO a VALUES(3)");            /* event 3 */
  /* The host keeps the numbers with the restore and starts the engine again. */
  restoreTo(&c, point, ",\"changes\":{\"floor\":4,\"kept\":1}}");
  hostMemSetChangeNumbers(4, 1);
  openConn(&c);
  CHECK(logField(&c, "{\"since\":2}", "gap")==1);
  CHECK(logField(&c, "{\"since\":2}", "next")==4);
  CHECK(logField(&c, "{\"since\":3}", "gap")==1);
  CHECK(logField(&c, "{\"since\":1}", "gap")==0);
  CHECK(logField(&c, "{\"since\":4}", "gap")==0);
  CHECK(logField(&c, "{\"since\":0}", "head")==4);
  run(&c, "INSERT INTO a VALUES(4)");
  CHECK_STR(events(&c, "{\"since\":4}"), "5/5 insert a {\"x\":4}");
  /* An import replaces the whole log: nothing readers saw stays. */
  a = post(&c, "/changes/replaced", "{}");
  CHECK(a.status==404);
  answerFree(&a);
  a = callFlags(&c, "POST", "/changes/replaced", "{}", INTERNAL);
  CHECK_STR(a.zBody, "{\"floor\":6,\"kept\":-1}");
  answerFree(&a);
  connClose(&c);
}

/* A second restore keeps only the numbers both kept (those between are gone),
** but the events its log holds stay readers' history: a reader at one of
** them, or right before one, reads on; the newest lsn as SQL reads it (the
** guide's snapshot) is one of them. */
static void a_reader_at_an_event_the_log_holds_reads_on(void){
  Conn c;
  int first, second;
  openConn(&c);
  run(&c, "CREATE TABLE a(x)");
  run(&c, "INSERT INTO a VALUES(1)");            /* event 1 */
  first = currentLsn(&c);
  run(&c, "INSERT INTO a VALUES(2)");
  run(&c, "INSERT INTO a VALUES(3)");            /* event 3 */
  restoreTo(&c, first, "\"changes\":{\"floor\":4,\"kept\":1}");
  hostMemSetChangeNumbers(4, 1);
  openConn(&c);
  run(&c, "INSERT INTO a VALUES(5)");            /* event 5 */
  second = currentLsn(&c);
  run(&c, "INSERT INTO a VALUES(6)");            /* event 6 */
  restoreTo(&c, second, "\"changes\":{\"floor\":7,\"kept\":1}");
  hostMemSetChangeNumbers(7, 1);
  openConn(&c);
  CHECK_STR(scalar(&c, "SELECT group_concat(lsn) FROM _dosql_changes"), "\"1,5\"");
  CHECK_STR(scalar(&c, "SELECT max(last_lsn) FROM _dosql_change_log"), "5");
  CHECK(logField(&c, "{\"since\":5}", "gap")==0);
  CHECK(logField(&c, "{\"since\":5}", "head")==7);
  CHECK(logField(&c, "{\"since\":4}", "gap")==0);          /* the first restore's floor */
  CHECK_STR(events(&c, "{\"since\":4}"), "5/5 insert a {\"x\":5}");
  CHECK(logField(&c, "{\"since\":1}", "gap")==0);
  CHECK(logField(&c, "{\"since\":2}", "gap")==1);          /* gone at the first restore */
  CHECK(logField(&c, "{\"since\":3}", "gap")==1);
  CHECK(logField(&c, "{\"since\":6}", "gap")==1);          /* gone at the second */
  run(&c, "INSERT INTO a VALUES(8)");
  CHECK_STR(events(&c, "{\"since\":5}"), "8/8 insert a {\"x\":8}");
  CHECK(logField(&c, "{\"since\":7}", "gap")==0);
  connClose(&c);
}

/* An imported file's log, numbered as in the file (1, 2, 3: numbers the
** database it replaced gave its readers), moves past the floor with its
** txIds: a reader of the replaced database reads a gap, and one at the
** newest lsn SQL reads, or at the floor, reads on. */
static void an_imported_log_moves_past_the_floor(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE a(x)");
  run(&c, "INSERT INTO a VALUES(1)");
  run(&c, "INSERT INTO a VALUES(2), (3)");       /* events 1, 2, 3: the file's */
  a = post(&c, "/changes/renumber", "{\"floor\":10}");
  CHECK(a.status==404);
  answerFree(&a);
  a = callFlags(&c, "POST", "/changes/renumber", "{}", INTERNAL);
  CHECK(a.status==400);
  answerFree(&a);
  a = callFlags(&c, "POST", "/changes/renumber", "{\"floor\":9007199254740990}", INTERNAL);
  CHECK(a.status>=400);
  answerFree(&a);
  a = callFlags(&c, "POST", "/changes/renumber", "{\"floor\":10}", INTERNAL);
  CHECK_STR(a.zBody, "{\"head\":13}");
  answerFree(&a);
  connClose(&c);
  hostMemSetChangeNumbers(10, -1);               /* the replaced database's head was 9 */
  openConn(&c);
  CHECK_STR(scalar(&c, "SELECT group_concat(lsn || '/' || tx_id) FROM _dosql_changes"), "\"11/11,12/12,13/12\"");
  CHECK(logField(&c, "{\"since\":0}", "gap")==1);          /* nothing read before counts */
  CHECK(logField(&c, "{\"since\":2}", "gap")==1);
  CHECK(logField(&c, "{\"since\":9}", "gap")==1);
  CHECK(logField(&c, "{\"since\":9}", "next")==13);
  CHECK(logField(&c, "{\"since\":13}", "gap")==0);
  CHECK(logField(&c, "{\"since\":10}", "gap")==0);
  CHECK_STR(events(&c, "{\"since\":11}"), "12/12 insert a {\"x\":2} | 13/12 insert a {\"x\":3}");
  run(&c, "INSERT INTO a VALUES(4)");
  CHECK_STR(events(&c, "{\"since\":13}"), "14/14 insert a {\"x\":4}");
  a = callFlags(&c, "POST", "/changes/replaced", "{}", INTERNAL);
  CHECK_STR(a.zBody, "{\"floor\":15,\"kept\":-1}");
  answerFree(&a);
  connClose(&c);
}

/* A database an earlier release imported: kept 0, and the file's events at
** the file's numbers, which readers of the replaced database hold for other
** events. Those numbers are not taken for the events a reader saw: it reads a
** gap, as then; and a restore keeps that 0. A point whose log is empty keeps
** no number (-1) instead. */
static void an_import_by_an_earlier_release_reads_as_gone(void){
  Conn c;
  Answer a;
  char zTo[64];
  int point;
  openConn(&c);
  run(&c, "CREATE TABLE a(x)");
  point = currentLsn(&c);                        /* no event yet */
  run(&c, "INSERT INTO a VALUES(1)");
  run(&c, "INSERT INTO a VALUES(2), (3)");       /* events 1, 2, 3: the file's, not moved */
  connClose(&c);
  hostMemSetChangeNumbers(11, 0);
  openConn(&c);
  CHECK(logField(&c, "{\"since\":2}", "gap")==1);
  CHECK(logField(&c, "{\"since\":3}", "gap")==1);
  run(&c, "INSERT INTO a VALUES(4)");            /* event 12 */
  CHECK(logField(&c, "{\"since\":12}", "gap")==0);
  CHECK(logField(&c, "{\"since\":11}", "gap")==0);
  snprintf(zTo, sizeof(zTo), "{\"to\":%d}", point);
  a = callFlags(&c, "POST", "/restore", zTo, INTERNAL);
  CHECK(strstr(a.zBody, "\"changes\":{\"floor\":13,\"kept\":-1}")!=0);
  answerFree(&a);
  restoreTo(&c, currentLsn(&c), "\"changes\":{\"floor\":13,\"kept\":0}");
  hostMemSetChangeNumbers(13, 0);
  openConn(&c);
  CHECK(logField(&c, "{\"since\":2}", "gap")==1);
  connClose(&c);
}

/* A file whose log was pruned moves from its oldest number, so that each
** import adds the span of the file's log to the numbers, not its numbers. */
static void an_imported_pruned_log_moves_from_its_oldest(void){
  Conn c;
  Answer a;
  openConn(&c);
  run(&c, "CREATE TABLE a(x)");
  run(&c, "INSERT INTO a VALUES(1)");
  run(&c, "INSERT INTO a VALUES(2)");
  run(&c, "INSERT INTO a VALUES(3), (4)");       /* events 3 and 4, one row */
  a = callFlags(&c, "POST", "/changes/prune", "{\"keepEvents\":1,\"keepMs\":0}", INTERNAL);
  CHECK(a.status==200);
  answerFree(&a);
  a = callFlags(&c, "POST", "/changes/renumber", "{\"floor\":100}", INTERNAL);
  CHECK_STR(a.zBody, "{\"head\":102}");
  answerFree(&a);
  connClose(&c);
  hostMemSetChangeNumbers(100, -1);
  openConn(&c);
  CHECK_STR(scalar(&c, "SELECT group_concat(lsn || '/' || tx_id) FROM _dosql_changes"), "\"101/101,102/101\"");
  CHECK(logField(&c, "{\"since\":0}", "gap")==1);
  CHECK_STR(events(&c, "{\"since\":100}"), "101/101 insert a {\"x\":3} | 102/101 insert a {\"x\":4}");
  connClose(&c);
}

/* A file whose log is empty: a reader from 0 (who saw none of it) still
** reads a gap, as the whole database changed. */
static void an_import_without_events_is_a_gap_from_0(void){
  Conn c;
  Answer a;
  openConn(&c);
  /* This log numbered no event: the file's keep their numbers. */
  a = callFlags(&c, "POST", "/changes/replaced", "{}", INTERNAL);
  CHECK_STR(a.zBody, "{\"floor\":0,\"kept\":-1}");
  answerFree(&a);
  run(&c, "CREATE TABLE a(x)");
  a = callFlags(&c, "POST", "/changes/renumber", "{\"floor\":0}", INTERNAL);
  CHECK_STR(a.zBody, "{\"head\":0}");
  answerFree(&a);
  a = callFlags(&c, "POST", "/changes/renumber", "{\"floor\":10}", INTERNAL);
  CHECK_STR(a.zBody, "{\"head\":0}");
  answerFree(&a);
  connClose(&c);
  hostMemSetChangeNumbers(10, -1);
  openConn(&c);
  CHECK(logField(&c, "{\"since\":0}", "gap")==1);
  CHECK(logField(&c, "{\"since\":0}", "next")==10);
  CHECK(logField(&c, "{\"since\":10}", "gap")==0);
  connClose(&c);
}

int main(void){
  RUN(numbers_go_on_past_a_restore_or_an_import);
  RUN(a_reader_at_an_event_the_log_holds_reads_on);
  RUN(an_imported_log_moves_past_the_floor);
  RUN(an_import_without_events_is_a_gap_from_0);
  RUN(an_imported_pruned_log_moves_from_its_oldest);
  RUN(an_import_by_an_earlier_release_reads_as_gone);
  RUN(every_operation_and_value_type_is_an_event);
  RUN(updates_report_every_kind_of_new_value);
  RUN(updates_and_deletes_report_every_kind_of_old_value);
  RUN(an_event_reads_as_a_query_of_its_row);
  RUN(a_table_of_the_most_columns_is_captured);
  RUN(a_statement_through_many_tables_logs_each_in_order);
  RUN(a_forged_record_reads_no_bytes_past_its_end);
  RUN(a_commit_shares_one_txid);
  RUN(results_are_not_disturbed_by_capture);
  RUN(an_upsert_reports_the_row_it_inserted);
  RUN(the_engines_own_writes_are_not_counted);
  RUN(undone_work_leaves_no_event);
  RUN(a_failed_commit_leaves_no_event);
  RUN(what_is_and_is_not_captured);
  RUN(drop_table_reports_cascades_but_not_its_own_rows);
  RUN(migrations_are_captured);
  RUN(capture_can_be_off);
  RUN(the_log_is_read_only_to_users);
  RUN(pages_follow_since_limit_and_tables);
  RUN(prune_is_internal_and_keeps_the_newest);
  RUN(prune_keeps_the_newest_events_across_a_gap);
  RUN(a_foreign_key_to_the_log_does_not_bind_the_prune);
  RUN(a_foreign_key_to_the_log_does_not_bind_its_renumbering);
  RUN(an_empty_log_prunes_and_reads_cleanly);
  RUN(capture_of_named_tables_only);
  RUN(a_statement_is_stored_in_few_rows);
  RUN(the_view_reads_as_changes_does);
  RUN(a_log_of_the_first_release_is_upgraded);
  RUN(a_restore_before_the_log_upgrade_keeps_its_events);
  RUN(a_view_of_an_earlier_release_is_defined_anew);
  RUN(a_row_larger_than_a_prune_batch_goes_whole);
  RUN(columns_follow_the_schema_through_a_rollback);
  RUN(columns_are_not_kept_from_an_undone_schema);
  return HARNESS_END();
}
