/*
** api.c — the one file that owns the wasm surface (contract in api.h; the
** linker's list is wasm/exports.txt). A module instance serves one Durable
** Object, so it holds one connection.
*/
#include <string.h>

#include "cJSON.h"
#include "api.h"
#include "config.h"
#include "conn.h"
#include "contract.h"
#include "errors.h"
#include "fileformat.h"
#include "handler.h"
#include "host.h"
#include "migrate.h"
#include "sqlite/unit.h"

static Conn theConn;

/* Whether SQLite's log message for rc says something about us rather than about
** the caller's SQL. The caller's mistakes (syntax, constraints, denials, limits)
** are answered to the caller and would only be noise in the object's log, as
** would an automatic index, a missing index in the caller's schema logged on
** every statement that builds one; a failed read is a page fault on async
** storage, retried as a matter of course, and a real storage failure is logged
** by the host where it happens. */
static int apiLogWorthy(int rc){
  if( rc==SQLITE_IOERR_READ || rc==SQLITE_WARNING_AUTOINDEX ) return 0;
  switch( rc & 0xff ){
    case SQLITE_ERROR: case SQLITE_CONSTRAINT: case SQLITE_AUTH: case SQLITE_INTERRUPT:
    case SQLITE_RANGE: case SQLITE_MISMATCH: case SQLITE_TOOBIG: case SQLITE_ABORT:
    case SQLITE_READONLY: case SQLITE_SCHEMA:
      return 0;
  }
  return 1;
}

/* SQLite's log goes to the host's log, one line per message: a warning for
** out of memory, which is mostly a request that needed more than the heap
** limit allows (answered HEAP_LIMIT), an error for the rest. */
static void apiLog(void *pArg, int rc, const char *zMsg){
  char *zLine;
  int level = (rc & 0xff)==SQLITE_WARNING || (rc & 0xff)==SQLITE_NOTICE || (rc & 0xff)==SQLITE_NOMEM
            ? DOSQL_LOG_WARN : DOSQL_LOG_ERROR;
  (void)pArg;
  if( !apiLogWorthy(rc) ) return;
  zLine = sqlite3_mprintf("sqlite (%d): %s", rc, zMsg);
  if( zLine ) dosql_host_log(level, zLine, (uint32_t)strlen(zLine));
  sqlite3_free(zLine);
}

/* cJSON allocates through SQLite, so the heap limit covers parse trees too. */
static void *apiJsonMalloc(size_t n){ return sqlite3_malloc64(n); }

/* One-time library setup; SQLITE_OK or the error. */
static int apiInitialize(void){
  static int bDone = 0;
  cJSON_Hooks hooks = { apiJsonMalloc, sqlite3_free };
  int rc;
  if( bDone ) return SQLITE_OK;
  rc = sqlite3_config(SQLITE_CONFIG_LOG, apiLog, (void*)0);
  if( rc==SQLITE_OK ) rc = budgetInstallAllocator();
  if( rc==SQLITE_OK ) rc = sqlite3_initialize();
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_hard_heap_limit64(DOSQL_HEAP_LIMIT_BYTES);
  cJSON_InitHooks(&hooks);
  bDone = 1;
  return SQLITE_OK;
}

#if defined(DOSQL_INIT_AT_INSTANTIATION)
/* In dosql.wasm (the Makefile defines this for it), the library's setup and
** connOpen's metering of the built-in functions (once per instance) run when an
** instance is made (_initialize runs C constructors), so an instance the host
** makes ahead of need (engine.js's spare) starts its object's first request
** with them done. A failure here is reported by the first export that needs the
** library, which tries again. Other builds (the native tests, speedtest1, which
** runs SQLite without our heap limit) leave both to that first call, so they
** can configure SQLite before. */
__attribute__((constructor)) static void apiInitializeAtStart(void){
  if( apiInitialize()==SQLITE_OK ) (void)dosqlMeterBuiltins();
}
#endif

DOSQL_EXPORT(dosql_contract)
const char *dosql_contract(void){
  return apiInitialize()==SQLITE_OK ? contractJson() : 0;
}

DOSQL_EXPORT(dosql_alloc)
uint8_t *dosql_alloc(uint32_t n){
  if( apiInitialize()!=SQLITE_OK ) return 0;
  return sqlite3_malloc64(n ? n : 1);
}

DOSQL_EXPORT(dosql_free)
void dosql_free(void *p){
  if( !replyIsStatic(p) ) sqlite3_free(p);
}

DOSQL_EXPORT(dosql_open)
uint8_t *dosql_open(uint32_t page_size, uint32_t flags, uint32_t cpu_budget_ms){
  Reply reply;
  int rc = apiInitialize();
  replyInit(&reply);
  if( rc!=SQLITE_OK ){
    connFail(&theConn, &reply, rc);
  }else{
    connOpen(&theConn, page_size, (flags & DOSQL_OPEN_CAPTURE_CHANGES)!=0, cpu_budget_ms, &reply);
    if( !replyFailed(&reply) ) connAnswerSize(&theConn, &reply);
  }
  return replyFinish(&reply);
}

DOSQL_EXPORT(dosql_migrate)
uint8_t *dosql_migrate(const uint8_t *body, uint32_t n){
  return migrateApply(&theConn, body, n);
}

DOSQL_EXPORT(dosql_request)
uint8_t *dosql_request(const char *method, uint32_t method_len,
                       const char *path, uint32_t path_len,
                       const uint8_t *body, uint32_t n, uint32_t flags){
  return handleRequest(&theConn, method, method_len, path, path_len, body, n, flags);
}

DOSQL_EXPORT(dosql_file_header)
uint8_t *dosql_file_header(uint8_t *header, uint32_t n, double max_bytes, uint32_t page_count){
  Reply reply;
  replyInit(&reply);
  if( apiInitialize()!=SQLITE_OK ){
    replyFail(&reply, 500, DOSQL_INTERNAL, "the engine could not start");
  }else{
    fileCheckHeader(&reply, header, n, max_bytes, page_count);
  }
  return replyFinish(&reply);
}
