/*
** errors.h — every error the engine answers with: a stable code string and an
** HTTP status. The message is SQLite's own text where SQLite produced it.
**
** SQLite's result codes keep their names (SQLITE_CONSTRAINT_UNIQUE); the engine's
** own conditions have the names below. docs/errors.md lists them all with a meaning.
** 4xx is the caller's mistake; 5xx is ours or the platform's.
*/
#ifndef DOSQL_ERRORS_H
#define DOSQL_ERRORS_H

/* The engine's own codes. */
#define DOSQL_BAD_JSON            "BAD_JSON"             /* 400: body is not JSON */
#define DOSQL_BAD_REQUEST         "BAD_REQUEST"          /* 400: a field is missing or of the wrong type */
#define DOSQL_BAD_PARAMS          "BAD_PARAMS"           /* 400: a parameter cannot be bound */
#define DOSQL_MULTIPLE_STATEMENTS "MULTIPLE_STATEMENTS"  /* 400: more than one statement in sql */
#define DOSQL_TRANSACTION_STATEMENT "TRANSACTION_STATEMENT" /* 400: sql is BEGIN/COMMIT/ROLLBACK; "statement" says which */
#define DOSQL_NOT_FOUND           "NOT_FOUND"            /* 404: no such endpoint */
#define DOSQL_RPC_ONLY            "RPC_ONLY"             /* 403: writes another database: Workers RPC only */
#define DOSQL_METHOD_NOT_ALLOWED  "METHOD_NOT_ALLOWED"   /* 405 */
#define DOSQL_PAYLOAD_TOO_LARGE   "PAYLOAD_TOO_LARGE"    /* 413: body over DOSQL_MAX_REQUEST_BYTES */
#define DOSQL_RESULT_TOO_LARGE    "RESULT_TOO_LARGE"     /* 400: response over DOSQL_MAX_RESULT_BYTES */
#define DOSQL_CPU_LIMIT           "CPU_LIMIT"            /* 400: over the request's CPU budget (budget.h) */
#define DOSQL_HEAP_LIMIT          "HEAP_LIMIT"           /* 400: over DOSQL_HEAP_LIMIT_BYTES */
#define DOSQL_MIGRATION_CHANGED   "MIGRATION_CHANGED"    /* 500: an applied migration's text changed */
#define DOSQL_RESTORE_WOULD_MIGRATE "RESTORE_WOULD_MIGRATE" /* 409: a point the shipped migrations do not match */
#define DOSQL_BRANCH_MIGRATION_CHANGED "BRANCH_MIGRATION_CHANGED" /* 409: a branch's point applied a shipped migration's other text */
#define DOSQL_MIGRATION_FAILED    "MIGRATION_FAILED"     /* 500: a migration did not apply */
#define DOSQL_UNSAFE_SCHEMA       "UNSAFE_SCHEMA"        /* 500: objects under names reserved for DoSQL (internal.h) */
#define DOSQL_IMPORT_UNSAFE       "IMPORT_UNSAFE"        /* 422: an imported file's internal tables are not DoSQL's */
#define DOSQL_IMPORT_EMPTY        "IMPORT_EMPTY"         /* 400: an imported file is empty (fileformat.h) */
#define DOSQL_IMPORT_NOT_SQLITE   "IMPORT_NOT_SQLITE"    /* 400: ... is no SQLite 3 file */
#define DOSQL_IMPORT_TRUNCATED    "IMPORT_TRUNCATED"     /* 400: ... is shorter than its header or pages */
#define DOSQL_IMPORT_BAD_PAGE_SIZE "IMPORT_BAD_PAGE_SIZE" /* 400: ... gives an invalid page size */
#define DOSQL_IMPORT_TOO_LARGE    "IMPORT_TOO_LARGE"     /* 413: ... is larger than the storage takes */
#define DOSQL_IMPORT_UTF16        "IMPORT_UTF16"         /* 422: ... keeps its text as UTF-16 (compiled out) */
#define DOSQL_CHANGE_LOG_CORRUPT  "CHANGE_LOG_CORRUPT"   /* 500: a stored change event is not what capture writes */
#define DOSQL_BAD_CONFIG          "BAD_CONFIG"           /* 500: the object's settings or bindings are invalid */
#define DOSQL_TRANSACTION_ABORTED "TRANSACTION_ABORTED"  /* 409/503: the transaction was rolled back; retry it */
#define DOSQL_INTERNAL            "INTERNAL"             /* 500: a bug of ours */
#define DOSQL_NOT_OPEN            "NOT_OPEN"             /* 500: a request before dosql_open */
#define DOSQL_BAD_POINT           "BAD_POINT"            /* 400: a point of history is not an lsn, bookmark or time (history.h) */
#define DOSQL_POINT_TOO_OLD       "POINT_TOO_OLD"        /* 410: older than the oldest point history keeps */
#define DOSQL_POINT_IN_FUTURE     "POINT_IN_FUTURE"      /* 400: an lsn no commit has reached */
#define DOSQL_HISTORY_UNSUPPORTED "HISTORY_UNSUPPORTED"  /* 501: the storage keeps no history (key-value) */
#define DOSQL_BAD_BATON           "BAD_BATON"            /* 400: a Hrana baton this object did not give, or gave for an earlier request (hrana.h) */
#define DOSQL_STREAM_EXPIRED      "STREAM_EXPIRED"       /* 400: a Hrana stream that idled out, was dropped, or lost its transaction */

/*
** Every code an object answers with, the engine's above and the host's (the
** JS shim's: storage, streams, file transfer, the standalone router), with its
** HTTP status: the one table of them. The module publishes it (contract.h),
** the host looks statuses up in it, and a test checks docs/errors.md against
** it. Status 0: only ever the code of a change stream's end event.
*/
typedef struct DosqlError {
  const char *zCode;
  int status;
  int bHost;             /* answered by the host, never by C */
} DosqlError;

/* The table, and its length. */
extern const DosqlError aDosqlError[];
extern const int nDosqlError;

/* SQLite's name for a (possibly extended) result code: "SQLITE_CONSTRAINT_UNIQUE".
** An unknown extended code falls back to its primary code's name. */
const char *dosqlResultName(int rc);

/* The HTTP status for a SQLite result code (decided by its primary code). */
int dosqlResultStatus(int rc);

#endif /* DOSQL_ERRORS_H */
