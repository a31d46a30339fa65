/*
** test_oom.c — allocation failures, as SQLite's own malloc tests do them:
** SQLite's allocator (which cJSON and every part of the engine use) is wrapped
** so that the Nth allocation fails, and each representative request runs with
** N = 1, 2, ... until a run completes with no failure injected; once with only
** the Nth allocation failing, once with every allocation from the Nth on.
**
** After every run, with the allocator healthy again:
**   - each answer was 200, or an error that says "out of memory" (HEAP_LIMIT,
**     SQLITE_NOMEM, SQLITE_IOERR_NOMEM, TRANSACTION_ABORTED when it ended a
**     transaction, or no response at all, which api.h allows);
**   - the host's view of an interactive transaction (worker-shim/src/
**     transactions.js) still matches the engine's;
**   - what the request changes is all there after a 200 and not there after
**     an error; an answer that reads equals the answer of a run without faults;
**   - PRAGMA integrity_check answers ok and the data committed before is there;
**   - once the connection is closed, SQLite's heap is back where it started:
**     nothing leaked (LSan checks the rest at exit).
**
** Order of this file: the failing allocator, requests under it, the loop, the
** scenarios.
*/
#include "harness.h"

/* Kinds of failure told apart per scenario and mode; each is reported once
** (with the first N that showed it) and counted. */
#define OOM_MAX_KINDS 16

/* Page size of the scenarios' databases: small, so pages move often. */
#define OOM_PAGE_SIZE 1024

/************************************************** the failing allocator ***/

static sqlite3_mem_methods oomDefault;  /* SQLite's own methods */
static int oomArmed;                    /* only the engine's calls count */
static int oomCountdown;                /* allocations until the failing one; 0: none */
static int oomPersist;                  /* after the first failure, fail every one */
static int oomInjected;                 /* failures injected in this run */

static int oomFailNow(void){
  if( !oomArmed || oomCountdown<=0 ) return 0;
  if( --oomCountdown>0 ) return 0;
  oomInjected++;
  if( oomPersist ) oomCountdown = 1;
  return 1;
}

static void *oomMalloc(int n){
  return oomFailNow() ? 0 : oomDefault.xMalloc(n);
}

static void *oomRealloc(void *p, int n){
  return oomFailNow() ? 0 : oomDefault.xRealloc(p, n);
}

/* Install the wrapper before anything else runs, then set the library up as
** production does (api.c's first call: log, heap limit, cJSON hooks). */
static void oomInstall(void){
  sqlite3_mem_methods m;
  sqlite3_shutdown();
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &oomDefault);
  m = oomDefault;
  m.xMalloc = oomMalloc;
  m.xRealloc = oomRealloc;
  if( sqlite3_config(SQLITE_CONFIG_MALLOC, &m)!=SQLITE_OK ){
    printf("cannot install the failing allocator\n");
    exit(1);
  }
  dosql_free(dosql_alloc(1));
}

/********************************************* requests under the allocator ***/

/* One run's state: the connection and the host's view of its transaction. */
typedef struct Run {
  Conn c;
  int bInTx;               /* the host's view: an interactive transaction is open */
  int nFailures;           /* checks failed in this run */
  int n;                   /* the failing allocation */
  const char *zScenario;
} Run;

/* The kinds of failure seen in the current scenario and mode. */
static struct OomKind {
  char zKey[100];
  int nRuns;
} aKind[OOM_MAX_KINDS];
static int nKind;

static const char *oomMode(void){ return oomPersist ? "from the Nth on" : "the Nth only"; }

/* Report one failed check of run p: in full the first time its kind is seen. */
static void runFail(Run *p, const char *zWhat, const Answer *a){
  const char *zCode = a ? answerCode(a) : 0;
  char zKey[100];
  int i;
  p->nFailures++;
  snprintf(zKey, sizeof(zKey), "%s%s%s", zWhat, zCode ? " -> " : "", zCode ? zCode : "");
  for(i=0; i<nKind && strcmp(aKind[i].zKey, zKey)!=0; i++){}
  if( i<nKind ){
    aKind[i].nRuns++;
    return;
  }
  if( nKind<OOM_MAX_KINDS ){
    snprintf(aKind[nKind].zKey, sizeof(aKind[nKind].zKey), "%s", zKey);
    aKind[nKind++].nRuns = 1;
  }
  printf("  %s, allocation %d failing (%s): %s", p->zScenario, p->n, oomMode(), zWhat);
  if( a ) printf(": %d %.300s", a->status, a->zBody ? a->zBody : "");
  printf("\n");
}

/* Whether an answer is one an allocation failure may give. */
static int oomAllowed(const Answer *a){
  const char *zCode = answerCode(a);
  if( a->status==200 || a->status==-1 ) return 1;
  if( zCode==0 ) return 0;
  return strcmp(zCode, "HEAP_LIMIT")==0
      || strncmp(zCode, "SQLITE_NOMEM", 12)==0
      || strcmp(zCode, "SQLITE_IOERR_NOMEM")==0
      || strcmp(zCode, "TRANSACTION_ABORTED")==0;
}

/* A request with the allocator armed; the answer is taken apart disarmed. The
** host's view of the transaction follows the answer as transactions.js does. */
static Answer runRequest(Run *p, const char *zPath, const char *zBody, uint32_t flags){
  int bBegin = strcmp(zPath, "/begin")==0;
  int bEnding = strcmp(zPath, "/commit")==0 || strcmp(zPath, "/rollback")==0;
  uint8_t *aResp;
  Answer a;
  if( p->bInTx ) flags |= DOSQL_REQUEST_IN_TRANSACTION;
  oomArmed = 1;
  aResp = handleRequest(&p->c, "POST", 4, zPath, (uint32_t)strlen(zPath),
                        (const uint8_t*)zBody, (uint32_t)strlen(zBody), flags);
  oomArmed = 0;
  a = answerFrom(aResp);
  if( !oomAllowed(&a) ) runFail(p, zPath, &a);
  if( p->bInTx ){
    const char *zCode = answerCode(&a);
    if( (bEnding && a.status==200) || (zCode && strcmp(zCode, "TRANSACTION_ABORTED")==0) ) p->bInTx = 0;
  }else if( bBegin && a.status==200 ){
    p->bInTx = 1;
  }
  if( p->bInTx!=p->c.bInteractive ){
    char zWhat[160];
    snprintf(zWhat, sizeof(zWhat), "%s: %s", zPath, p->bInTx
             ? "the host thinks the transaction is open, the engine ended it"
             : "the engine keeps a transaction the host thinks is over");
    runFail(p, zWhat, &a);
    p->bInTx = p->c.bInteractive;
  }
  return a;
}

/* Open the connection (capturing changes) with the allocator armed; the
** answer's status, which must be 200 or allowed. */
static int runOpen(Run *p){
  Reply r;
  Answer a;
  uint8_t *aResp;
  int status;
  memset(&p->c, 0, sizeof(p->c));
  oomArmed = 1;
  replyInit(&r);
  connOpen(&p->c, OOM_PAGE_SIZE, 1, 0, &r);
  if( !replyFailed(&r) ) sqlite3_str_appendall(replyBody(&r), "{}");   /* as dosql_open */
  aResp = replyFinish(&r);
  oomArmed = 0;
  a = answerFrom(aResp);
  if( !oomAllowed(&a) ) runFail(p, "open", &a);
  if( a.status==200 && !connIsOpen(&p->c) ) runFail(p, "open answered 200 but the connection is closed", &a);
  if( a.status!=200 && connIsOpen(&p->c) ){
    /* The answer could not be built, but the database opened: the host's
    ** retry must then succeed (connOpen of an open connection is a no-op). */
    Reply r2;
    Answer a2;
    replyInit(&r2);
    connOpen(&p->c, OOM_PAGE_SIZE, 1, 0, &r2);
    if( !replyFailed(&r2) ) sqlite3_str_appendall(replyBody(&r2), "{}");
    a2 = answerFrom(replyFinish(&r2));
    if( a2.status!=200 ) runFail(p, "open answered an error, stayed open, and a retry fails", &a2);
    answerFree(&a2);
  }
  status = a.status;
  answerFree(&a);
  return status;
}

/* Apply migrations with the allocator armed; the answer's status. */
static int runMigrate(Run *p, const char *zBody){
  Answer a;
  uint8_t *aResp;
  int status;
  oomArmed = 1;
  aResp = migrateApply(&p->c, (const uint8_t*)zBody, (uint32_t)strlen(zBody));
  oomArmed = 0;
  a = answerFrom(aResp);
  /* A migration that failed for want of memory says so in its message. */
  if( !oomAllowed(&a) && !(answerCode(&a) && strcmp(answerCode(&a), "MIGRATION_FAILED")==0
                           && answerError(&a) && strstr(answerError(&a), "out of memory")) ){
    runFail(p, "migrate", &a);
  }
  status = a.status;
  answerFree(&a);
  return status;
}

/* The first value of the first row of zSql, as JSON text (static buffer), read
** with the allocator disarmed; "?" when the query fails. */
static const char *runScalar(Run *p, const char *zSql){
  static char zOut[512];
  Answer a = postSql(&p->c, "/query", zSql);
  const cJSON *pRows = cJSON_GetObjectItem(a.pJson, "rows");
  const cJSON *pVal = pRows && pRows->child ? pRows->child->child : 0;
  snprintf(zOut, sizeof(zOut), "?");
  if( a.status==200 && pVal ){
    char *z = cJSON_PrintUnformatted(pVal);
    snprintf(zOut, sizeof(zOut), "%s", z);
    cJSON_free(z);
  }else if( a.status!=200 ){
    runFail(p, zSql, &a);
  }
  answerFree(&a);
  return zOut;
}

/*********************************************************** the loop ****/

/*
** One scenario. Its database is made once, without faults; each run starts
** from a copy of its pages, opens it (unless the run opens it itself), and
** calls xRun, whose requests go to the engine under the failing allocator.
** xRun returns the status of the answer that decides whether the work was
** done (-1: no response at all, so it may or may not have been).
*/
typedef struct Scenario {
  const char *zName;
  int (*xRun)(Run*, const struct Scenario*);
  int bNewDatabase;        /* start from no database at all */
  int bRunOpens;           /* xRun opens the connection itself */
  const char *zPath;       /* the request of a runOne scenario ... */
  const char *zBody;
  uint32_t flags;
  int bRead;               /* ... whose 200 must equal the answer without faults */
  int bMigrates;           /* after the run, the migrations must apply without faults */
  const char *zEffect;     /* a query for what the run changes: after a 200 it is
                           ** what a run without faults leaves, after an error
                           ** what was there before */
  const char *zForge;      /* SQL run on the seeded database with the engine's rights */
} Scenario;

/* Every scenario's tables: rows of every type, a trigger, captured changes. */
#define OOM_MIGRATION_1 \
  "{\"name\":\"001_oom.sql\",\"sql\":\"" \
  "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b TEXT, c BLOB);" \
  "CREATE INDEX t_b ON t(b);" \
  "CREATE TABLE keep(x);" \
  "CREATE TABLE counts(n INTEGER);" \
  "INSERT INTO counts VALUES(0);" \
  "CREATE TRIGGER t_count AFTER INSERT ON t BEGIN UPDATE counts SET n = n + 1; END;" \
  "INSERT INTO keep VALUES(42);\"}"
#define OOM_MIGRATION_2 \
  "{\"name\":\"002_more.sql\",\"sql\":\"" \
  "CREATE TABLE more(id INTEGER PRIMARY KEY, v TEXT UNIQUE);" \
  "INSERT INTO more(v) VALUES('a'), ('b');\"}"

/* Rows with blobs, big integers, reals, long text; their changes captured. */
static const char zSeedRows[] =
  "{\"sql\":\"INSERT INTO t(a, b, c) VALUES"
  " (9223372036854775807, 'big', x'00ff10'),"
  " (-9007199254740993, 'negative', zeroblob(300)),"
  " (0.1, 'caf\\u00e9', randomblob(2000)),"
  " (NULL, printf('%.1500c', 'x'), x'');"
  " UPDATE t SET a = a WHERE b = 'big';"
  " DELETE FROM t WHERE b = 'negative';\"}";

/* The database every run starts from: its pages. */
typedef struct Snapshot {
  uint32_t nPage;
  uint8_t **aPage;
} Snapshot;

static void snapshotTake(Snapshot *s){
  uint32_t i;
  s->nPage = hostMemPageCount();
  s->aPage = calloc(s->nPage+1, sizeof(uint8_t*));
  for(i=1; i<=s->nPage; i++){
    const uint8_t *a = hostMemPage(i);
    if( a ){
      s->aPage[i] = malloc(OOM_PAGE_SIZE);
      memcpy(s->aPage[i], a, OOM_PAGE_SIZE);
    }
  }
}

static void snapshotRestore(const Snapshot *s){
  uint32_t i;
  hostMemReset();
  for(i=1; i<=s->nPage; i++){
    if( s->aPage[i] ) hostMemPutPage(i, s->aPage[i], OOM_PAGE_SIZE);
  }
}

static void snapshotFree(Snapshot *s){
  uint32_t i;
  for(i=0; i<=s->nPage; i++) free(s->aPage[i]);
  free(s->aPage);
  memset(s, 0, sizeof(*s));
}

/* Open c over the host's pages at the scenarios' page size, without faults. */
static void openClean(Conn *c){
  openConnSized(c, OOM_PAGE_SIZE, 1);
}

/* A scenario's database, made without faults, into *pSnap. */
static void scenarioDatabase(const Scenario *sc, Snapshot *pSnap){
  hostMemReset();
  if( !sc->bNewDatabase ){
    Conn c;
    Answer a;
    openClean(&c);
    a = migrate(&c, "{\"migrations\":[" OOM_MIGRATION_1 "]}");
    CHECK(a.status==200);
    answerFree(&a);
    a = post(&c, "/exec", zSeedRows);
    CHECK(a.status==200);
    if( a.status!=200 ) printf("  seeding %s: %d %s\n", sc->zName, a.status, a.zBody);
    answerFree(&a);
    if( sc->zForge ) forge(&c, sc->zForge);
    connClose(&c);
  }
  snapshotTake(pSnap);
}

/* What a run without faults answers (runOne keeps its body there) and leaves. */
static int bReferenceRun;
static char *zReferenceBody;

/* The scenario's effect before any run, and after a run without faults. */
static void scenarioReference(const Scenario *sc, const Snapshot *pSnap,
                              char **pzBefore, char **pzDone){
  Run run;
  memset(&run, 0, sizeof(run));
  run.zScenario = sc->zName;
  snapshotRestore(pSnap);
  openClean(&run.c);
  *pzBefore = strdup(sc->zEffect ? runScalar(&run, sc->zEffect) : "");
  if( sc->bRunOpens ){
    connClose(&run.c);
    snapshotRestore(pSnap);
  }
  bReferenceRun = 1;
  oomCountdown = 0;
  if( sc->xRun(&run, sc)!=200 ) runFail(&run, "the run without faults did not answer 200", 0);
  bReferenceRun = 0;
  if( run.nFailures ) harnessFailed++;
  *pzDone = strdup(sc->zEffect ? runScalar(&run, sc->zEffect) : "");
  connClose(&run.c);
}

/*
** Run scenario sc with allocation N failing (bPersist: and every one after
** it), for N = 1, 2, ... until a run has nothing injected. The checks of the
** file's header after each run; a failure counts against the current test.
*/
static void oomLoop(const Scenario *sc, int bPersist){
  Snapshot snap;
  char *zBefore = 0, *zDone = 0;
  sqlite3_int64 nBaseline;
  int n, i, nFailedRuns = 0;
  nKind = 0;
  scenarioDatabase(sc, &snap);
  oomPersist = bPersist;
  scenarioReference(sc, &snap, &zBefore, &zDone);
  nBaseline = sqlite3_memory_used();
  for(n=1; ; n++){
    Run run;
    int status, bClean;
    memset(&run, 0, sizeof(run));
    run.zScenario = sc->zName;
    run.n = n;
    snapshotRestore(&snap);
    if( !sc->bRunOpens ) openClean(&run.c);
    oomInjected = 0;
    oomCountdown = n;
    status = sc->xRun(&run, sc);
    oomCountdown = 0;
    bClean = oomInjected==0;
    if( bClean && status!=200 ) runFail(&run, "a run without faults did not answer 200", 0);

    /* The allocator is healthy again: nothing the host did not begin is
    ** open, the host ends what it began, and the database must be whole,
    ** with what was committed before. */
    if( connIsOpen(&run.c) && !run.c.bInteractive && !sqlite3_get_autocommit(run.c.db) ){
      runFail(&run, "a transaction is left open after the request ended", 0);
    }
    if( !connIsOpen(&run.c) ) openClean(&run.c);
    if( run.bInTx ){
      Answer a = callFlags(&run.c, "POST", "/rollback", "{}", DOSQL_REQUEST_IN_TRANSACTION);
      if( a.status!=200 ) runFail(&run, "/rollback after the run", &a);
      answerFree(&a);
    }
    if( strcmp(runScalar(&run, "PRAGMA integrity_check"), "\"ok\"")!=0 ){
      runFail(&run, "integrity_check is not ok", 0);
    }
    if( sc->bMigrates ){
      Answer a = migrate(&run.c, "{\"migrations\":[" OOM_MIGRATION_1 "," OOM_MIGRATION_2 "]}");
      if( a.status!=200 ) runFail(&run, "the migrations do not apply after the run", &a);
      answerFree(&a);
      if( strcmp(runScalar(&run, "SELECT (SELECT group_concat(v) FROM more) || '/' || "
                                 "(SELECT count(*) FROM _dosql_migrations)"), "\"a,b/2\"")!=0 ){
        runFail(&run, "the migrations' tables are not whole", 0);
      }
    }
    if( strcmp(runScalar(&run, "SELECT x FROM keep"), "42")!=0 ){
      runFail(&run, "the data committed before is gone", 0);
    }
    if( sc->zEffect && status!=-1 ){
      const char *zWant = status==200 ? zDone : zBefore;
      const char *zNow = runScalar(&run, sc->zEffect);
      if( strcmp(zNow, zWant)!=0 ){
        char zWhat[400];
        snprintf(zWhat, sizeof(zWhat), "after a %d answer, %s is %s, not %s",
                 status, sc->zEffect, zNow, zWant);
        runFail(&run, zWhat, 0);
      }
    }
    connClose(&run.c);
    if( sqlite3_memory_used()!=nBaseline ){
      char zWhat[120];
      snprintf(zWhat, sizeof(zWhat), "%lld bytes of SQLite's heap are still in use after close",
               (long long)(sqlite3_memory_used() - nBaseline));
      runFail(&run, zWhat, 0);
      nBaseline = sqlite3_memory_used();
    }
    if( run.nFailures ){
      harnessFailed++;
      nFailedRuns++;
    }
    if( bClean ) break;
  }
  printf("       %-14s %-16s %5d runs, %d failed\n", sc->zName, oomMode(), n, nFailedRuns);
  for(i=0; i<nKind; i++){
    if( aKind[i].nRuns>1 ) printf("         %4d runs: %s\n", aKind[i].nRuns, aKind[i].zKey);
  }
  free(zBefore);
  free(zDone);
  free(zReferenceBody);
  zReferenceBody = 0;
  snapshotFree(&snap);
}

static void oomScenario(const Scenario *sc){
  oomLoop(sc, 0);
  oomLoop(sc, 1);
}

/********************************************************** the runs ****/

/* One request (sc->zPath, sc->zBody). */
static int runOne(Run *p, const Scenario *sc){
  Answer a = runRequest(p, sc->zPath, sc->zBody, sc->flags);
  int status = a.status;
  if( bReferenceRun ){
    free(zReferenceBody);
    zReferenceBody = strdup(a.zBody ? a.zBody : "");
  }else if( sc->bRead && status==200 && strcmp(a.zBody, zReferenceBody)!=0 ){
    runFail(p, "the answer differs from the answer without faults", &a);
  }
  answerFree(&a);
  return status;
}

/* runOne a second later by the host's clock: every event is then older than
** keepMs 0, whatever millisecond the events were written in. */
static int runOneLater(Run *p, const Scenario *sc){
  hostMemShiftClock(1000);
  return runOne(p, sc);
}

/* Open, then apply both migrations (the first may be applied already). */
static int runOpenMigrate(Run *p, const Scenario *sc){
  int status = runOpen(p);
  (void)sc;
  if( status!=200 ) return status;
  return runMigrate(p, "{\"migrations\":[" OOM_MIGRATION_1 "," OOM_MIGRATION_2 "]}");
}

/* An interactive transaction: /begin, statements, /commit; a client that
** sees a statement fail rolls back. */
static int runInteractive(Run *p, const Scenario *sc){
  static const char *const azStep[][2] = {
    { "/run",   "{\"sql\":\"INSERT INTO t(a, b, c) VALUES(?, 'tx', ?)\",\"params\":[{\"$bigint\":\"-9223372036854775808\"},{\"$blob\":\"AAEC\"}]}" },
    { "/query", "{\"sql\":\"SELECT count(*) AS n, sum(length(c)) AS bytes FROM t\"}" },
    { "/exec",  "{\"sql\":\"UPDATE t SET a = 7 WHERE b = 'tx'; DELETE FROM t WHERE b = 'big';\"}" },
  };
  Answer a;
  unsigned i;
  int status;
  (void)sc;
  a = runRequest(p, "/begin", "{}", 0);
  status = a.status;
  answerFree(&a);
  if( status!=200 ) return status;
  for(i=0; i<sizeof(azStep)/sizeof(azStep[0]); i++){
    a = runRequest(p, azStep[i][0], azStep[i][1], 0);
    status = a.status;
    answerFree(&a);
    if( status!=200 ){
      if( p->bInTx ){
        a = runRequest(p, "/rollback", "{}", 0);
        answerFree(&a);
      }
      return status==-1 ? -1 : status;
    }
  }
  a = runRequest(p, "/commit", "{}", 0);
  status = a.status;
  answerFree(&a);
  return status;
}

/******************************************************** the scenarios ***/

/* What the writes change: the rows, the trigger's count, the change log. */
#define OOM_EFFECT "SELECT (SELECT group_concat(id || ':' || substr(b, 1, 8) || ':' || coalesce(a, '') || ':' || length(c), ',') FROM t)" \
                   " || '/' || (SELECT n FROM counts) || '/' || (SELECT count(*) || ':' || coalesce(max(lsn), 0) FROM _dosql_changes)"

static void oom_open_new_database_and_migrate(void){
  static const Scenario sc = { .zName = "open new", .xRun = runOpenMigrate,
    .bNewDatabase = 1, .bRunOpens = 1, .bMigrates = 1 };
  oomScenario(&sc);
}

static void oom_open_existing_and_migrate(void){
  static const Scenario sc = { .zName = "open existing", .xRun = runOpenMigrate,
    .bRunOpens = 1, .bMigrates = 1 };
  oomScenario(&sc);
}

static void oom_run_insert(void){
  static const Scenario sc = { .zName = "run insert", .xRun = runOne, .zPath = "/run",
    .zBody = "{\"sql\":\"INSERT INTO t(a, b, c) VALUES(?, ?, ?) RETURNING id\",\"params\":"
             "[{\"$bigint\":\"-9223372036854775808\"},\"oom\",{\"$blob\":\"AAECAwQ=\"}]}",
    .zEffect = OOM_EFFECT };
  oomScenario(&sc);
}

static void oom_query_rows(void){
  static const Scenario sc = { .zName = "query rows", .xRun = runOne, .zPath = "/query",
    .zBody = "{\"sql\":\"SELECT id, a, b, c, a * 1.5 AS r, json_object('b', b) AS j FROM t ORDER BY id\"}",
    .bRead = 1 };
  oomScenario(&sc);
}

static void oom_transaction(void){
  static const Scenario sc = { .zName = "transaction", .xRun = runOne, .zPath = "/transaction",
    .zBody = "{\"operations\":[{\"type\":\"run\",\"sql\":\"INSERT INTO t(b, c) VALUES('one', zeroblob(900))\"},"
             "{\"type\":\"run\",\"sql\":\"UPDATE t SET b = upper(b) WHERE b = 'one'\"},"
             "{\"type\":\"query\",\"sql\":\"SELECT id, b FROM t ORDER BY id\"}]}",
    .zEffect = OOM_EFFECT };
  oomScenario(&sc);
}

static void oom_batch(void){
  static const Scenario sc = { .zName = "batch", .xRun = runOne, .zPath = "/batch",
    .zBody = "{\"operations\":[{\"sql\":\"INSERT INTO t(a, b) VALUES(?, ?)\",\"params\":[1, \"b1\"]},"
             "{\"sql\":\"INSERT INTO t(a, b) VALUES(?, ?)\",\"params\":[{\"$bigint\":\"9007199254740993\"}, \"b2\"]},"
             "{\"sql\":\"SELECT b, c FROM t WHERE b LIKE 'b%' ORDER BY id\"},"
             "{\"sql\":\"DELETE FROM t WHERE b = 'big'\"}]}",
    .zEffect = OOM_EFFECT };
  oomScenario(&sc);
}

/* rowMode "array": column names, rows as arrays, and a DDL statement whose
** schemaChanged reads the schema cookie around it. */
static void oom_batch_array_rows(void){
  static const Scenario sc = { .zName = "batch array", .xRun = runOne, .zPath = "/batch",
    .zBody = "{\"rowMode\":\"array\",\"operations\":["
             "{\"sql\":\"CREATE TABLE arr(x)\"},"
             "{\"sql\":\"INSERT INTO t(a, b) VALUES(?, 'arr')\",\"params\":[{\"$bigint\":\"9007199254740993\"}]},"
             "{\"sql\":\"SELECT id, a, b, c, b AS id FROM t ORDER BY id\"}]}",
    .zEffect = OOM_EFFECT " || '/' || (SELECT count(*) FROM sqlite_schema WHERE name = 'arr')" };
  oomScenario(&sc);
}

static void oom_exec_script_with_trigger(void){
  static const Scenario sc = { .zName = "exec trigger", .xRun = runOne, .zPath = "/exec",
    .zBody = "{\"sql\":\"CREATE TABLE audit(id, what); "
             "CREATE TRIGGER t_audit AFTER UPDATE ON t BEGIN INSERT INTO audit VALUES(new.id, old.b); END; "
             "UPDATE t SET b = b || '!'; INSERT INTO t(b) VALUES('exec');\"}",
    .zEffect = OOM_EFFECT " || '/' || (SELECT count(*) FROM sqlite_schema WHERE name IN ('audit', 't_audit'))" };
  oomScenario(&sc);
}

/* Events wider than the room capture reserves at a time, mixing what it
** writes in place with what json.c appends (long text, blobs, a bigint). */
static void oom_update_wide_events(void){
  static const Scenario sc = { .zName = "update wide", .xRun = runOne, .zPath = "/run",
    .zBody = "{\"sql\":\"UPDATE t SET b = b || printf('%.200c', 'w'), a = a\"}",
    .zEffect = OOM_EFFECT };
  oomScenario(&sc);
}

static void oom_interactive_transaction(void){
  static const Scenario sc = { .zName = "interactive", .xRun = runInteractive, .zEffect = OOM_EFFECT };
  oomScenario(&sc);
}

static void oom_changes_read(void){
  static const Scenario sc = { .zName = "changes read", .xRun = runOne, .zPath = "/changes",
    .zBody = "{\"since\":1,\"limit\":100,\"tables\":[\"t\",\"counts\"]}", .bRead = 1 };
  oomScenario(&sc);
}

static void oom_changes_prune(void){
  static const Scenario sc = { .zName = "changes prune", .xRun = runOneLater, .zPath = "/changes/prune",
    .zBody = "{\"keepEvents\":2,\"keepMs\":0}", .flags = DOSQL_REQUEST_INTERNAL,
    .zEffect = "SELECT count(*) || ':' || min(lsn) FROM _dosql_changes" };
  oomScenario(&sc);
}

/* A request that turns foreign keys off, over a row unmatched before it (a
** libSQL pipeline may leave one): out of memory, never the old row blamed. */
static void oom_foreign_keys_off_with_an_old_unmatched_row(void){
  static const Scenario sc = { .zName = "foreign keys off", .xRun = runOne, .zPath = "/exec",
    .zBody = "{\"sql\":\"PRAGMA foreign_keys=OFF; INSERT INTO t(b) VALUES('fk'); PRAGMA foreign_keys=ON\"}",
    .zEffect = OOM_EFFECT,
    .zForge = "CREATE TABLE fp(id INTEGER PRIMARY KEY); CREATE TABLE fc(id INTEGER PRIMARY KEY, pid REFERENCES fp(id));"
              " PRAGMA foreign_keys=OFF; INSERT INTO fc VALUES(1, 7); PRAGMA foreign_keys=ON" };
  oomScenario(&sc);
}

int main(void){
  oomInstall();
  RUN(oom_open_new_database_and_migrate);
  RUN(oom_open_existing_and_migrate);
  RUN(oom_run_insert);
  RUN(oom_query_rows);
  RUN(oom_transaction);
  RUN(oom_batch);
  RUN(oom_batch_array_rows);
  RUN(oom_exec_script_with_trigger);
  RUN(oom_update_wide_events);
  RUN(oom_interactive_transaction);
  RUN(oom_changes_read);
  RUN(oom_changes_prune);
  RUN(oom_foreign_keys_off_with_an_old_unmatched_row);
  return HARNESS_END();
}
