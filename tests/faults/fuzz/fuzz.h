/*
** fuzz.h — what the libFuzzer targets of tests/faults/fuzz/ share: the engine over the
** in-memory host (tests/c/host_mem.c), one request in and its answer out, and
** the checks every answer must pass.
**
** A failed check is a finding, like a sanitizer report: fuzzFail() prints what
** was seen and calls abort(), so libFuzzer saves the input (crash-<sha1>) and
** stops. The checks:
**   - the status is 200 or 4xx/5xx (never a fault: this host is synchronous);
**   - the body is strict JSON (RFC 8259, not cJSON's leniency) in valid UTF-8,
**     an object (or an array: /transaction's rows), and an error body is an
**     object with "error" and "code" strings;
**   - the code is not one that means a bug of ours (INTERNAL, SQLITE_INTERNAL,
**     SQLITE_MISUSE) nor, where a target's database was built only by the
**     engine, a corrupt database (SQLITE_CORRUPT but the _VTAB kind, which user
**     SQL can cause through an external-content FTS5 table).
** fuzzCheckObjectKeys() adds: no object holds the same key twice.
**
** Ownership: a FuzzAnswer owns its body and parse; fuzzAnswerFree() frees both.
*/
#ifndef DOSQL_FUZZ_H
#define DOSQL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "cJSON.h"
#include "conn.h"

/* Each request's CPU budget in the targets (ms): far below the production
** default, so a slow input costs the fuzzer milliseconds, not seconds. */
#ifndef FUZZ_CPU_BUDGET_MS
# define FUZZ_CPU_BUDGET_MS 20
#endif

/* One answer, taken apart. */
typedef struct FuzzAnswer {
  int status;              /* HTTP status; -1 when the engine returned 0 (no memory) */
  char *zBody;             /* the body, NUL-terminated (malloc'd) */
  uint32_t nBody;
  cJSON *pJson;            /* its parse */
  const char *zCode;       /* the error code of a 4xx/5xx answer, else 0 */
} FuzzAnswer;

/* What a target tolerates beyond the common checks (fuzzSetTolerance). */
#define FUZZ_CORRUPT_OK   1  /* the database came from the input: SQLITE_CORRUPT is an answer */
#define FUZZ_UNCHECKED_LOG 2 /* the change log holds rows no import check accepted, which
                             ** /changes copies: its answers' UTF-8 is not checked */

/*
** Print a finding of check zCheck and abort(); printf-style. The checks are
** "status", "json", "utf8", "shape", "code", "keys" (above), "tx-state" (the
** host's and the engine's view of the transaction differ), "tx-open" (one is
** left open), "integrity"; 0 is the fuzzer's own trouble. To look past a
** known finding, list its check in the environment: DOSQL_FUZZ_SKIP=utf8,keys
** (then fuzzFail returns).
*/
void fuzzFail(const char *zCheck, const char *zFmt, ...);

/* Set the library up as dosql.wasm does (api.c: log, heap limit, cJSON hooks).
** Call once, from LLVMFuzzerInitialize. */
void fuzzInit(void);

/* Set the flags (FUZZ_*_OK, FUZZ_UNCHECKED_LOG) later answers are checked with. */
void fuzzSetTolerance(int flags);

/*
** Open *p over the host's current pages, capturing changes or not; returns
** the status of the answer (200, or the error's, which passed the checks).
** On failure *p is closed.
*/
int fuzzOpen(Conn *p, int bCapture);

/* Apply the migrations of zBody ({"migrations":[...]}); anything but 200 is a finding. */
void fuzzMigrate(Conn *p, const char *zBody);

/*
** Send one request through handleRequest() and check its answer. zWhat names
** the request in a finding. The caller frees the answer.
*/
FuzzAnswer fuzzRequest(Conn *p, const char *zMethod, uint32_t nMethod,
                       const char *zPath, uint32_t nPath,
                       const uint8_t *aBody, uint32_t nBody, uint32_t flags);

/*
** The run of a Hrana pipeline (POST /hrana/pipeline, src/hrana.h): a 200
** answer starts with the byte saying whether the stream now holds the
** transaction ('T' or 'A': anything else is a finding), put in *pcState (0
** for an error) and taken off before the answer's checks.
*/
FuzzAnswer fuzzHranaRun(Conn *p, const uint8_t *aBody, uint32_t nBody, uint32_t flags, char *pcState);

/* fuzzRequest() of a POST with NUL-terminated path and body. */
FuzzAnswer fuzzPost(Conn *p, const char *zPath, const char *zBody, uint32_t flags);

void fuzzAnswerFree(FuzzAnswer *a);

/* The end of an input of several steps: roll back the transaction it left open
** (bInTx), as the host's idle timer would; a finding unless none is then open
** and integrity_check says ok. */
void fuzzEndInput(Conn *p, int bInTx);

/* Where the next step separator (a line "--") starts in a[0..n), or n: the
** targets that take several steps split their input so. */
size_t fuzzNextSeparator(const uint8_t *a, size_t n);

/* Take a response apart (freeing it) and check it, as fuzzRequest does. */
FuzzAnswer fuzzAnswerOf(uint8_t *aResp, const char *zWhat);

/* A finding unless no object anywhere in the answer holds the same key twice. */
void fuzzCheckObjectKeys(const FuzzAnswer *a, const char *zWhat);

/* Run trusted SQL (the engine's own privileges, as migrations have); returns
** SQLite's result code. */
int fuzzExecTrusted(Conn *p, const char *zSql);

/* A finding unless PRAGMA integrity_check (run trusted, with time to spare)
** answers exactly "ok". zWhen says at which point of the input. */
void fuzzCheckIntegrity(Conn *p, const char *zWhen);

/* Close *p, and the transaction the fuzzer may have left open must not exist. */
void fuzzClose(Conn *p);

/*
** Check n bytes of JSON text: one strict RFC 8259 value, with bUtf8 in valid
** UTF-8, with bNoDupKeys no object with a key twice. Returns 0, or a static
** message.
*/
const char *fuzzJsonProblem(const char *z, size_t n, int bUtf8, int bNoDupKeys);

#endif /* DOSQL_FUZZ_H */
