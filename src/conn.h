/*
** conn.h — the engine's one SQLite connection and what every endpoint does
** with it: open, run one statement, wrap work in a transaction, and turn a
** SQLite failure into the reply's error.
**
** A module instance serves one Durable Object, so it holds one Conn (api.c).
*/
#ifndef DOSQL_CONN_H
#define DOSQL_CONN_H

#include "sqlite3.h"
#include "config.h"
#include "budget.h"
#include "capture.h"
#include "reply.h"
#include "sqlite/unit.h"

/* Conn.eParseOnly: what the authorizer refuses while text is only parsed. */
#define CONN_PARSE_ALL      1
#define CONN_PARSE_SETTINGS 2

typedef struct Conn {
  sqlite3 *db;
  int bTrusted;              /* internal work: the authorizer allows everything */
  int bVacuum;               /* a VACUUM runs: its scratch database may attach */
  int eParseOnly;            /* text is prepared only to learn where a statement ends
                             ** (connPrepareOne), for SQLite applies a PRAGMA that sets a
                             ** value as it prepares it: the authorizer refuses every action
                             ** (CONN_PARSE_ALL) or leaves such a PRAGMA out (CONN_PARSE_SETTINGS) */
  int bSettingDeferred;      /* ...and CONN_PARSE_SETTINGS left one out */
  int bAltered;              /* a table was altered: guardCheckSchema() looks */
  int bInteractive;          /* an interactive transaction (/begin) is open */
  unsigned iTxStream;        /* ...begun by this Hrana stream (hrana.h), or 0 */
  int bReadOnlyTx;           /* ...read-only (query_only): libSQL's BEGIN TRANSACTION READONLY */
  int bScriptSql;            /* a statement of a script is being prepared
                             ** (connRunNextStatement): the authorizer words its refusals so */
  int bDescribeOnly;         /* the statement is prepared only to be described (Hrana's
                             ** describe): connPrepareOne refuses a setting, as under EXPLAIN */
  int bTxStatements;         /* the caller runs BEGIN/COMMIT/ROLLBACK itself (Hrana):
                             ** the authorizer records them instead of refusing */
  int bRetry;                /* the request is the host's call again after a fault
                             ** (DOSQL_REQUEST_RETRY) */
  int bView;                 /* a view of a past point (connOpenView): read-only */
  double lsnView;            /* the view's lsn */
  int bSavepoint;            /* connSavepoint() is open inside it */
  int rcEndedTx;             /* the error of the statement SQLite ended the interactive
                             ** transaction at (handler.c), 0 until one did */
  const char *zEndedTxCode;  /* what that statement answered: its code (static text) */
  char *zEndedTx;            /* and its message (sqlite3_malloc'd), for a Hrana
                             ** pipeline to fail with (connNoteEndedTransaction) */
  const char *zDenied;       /* why the authorizer last said no (static text, or zDenial) */
  char zDenial[256];         /* a reason that names what it refused (a PRAGMA's name) */
  /* What the user statement being prepared does, as the authorizer saw it
  ** (guardStartStatement() clears these; guard.h asks them). */
  const char *zTxControl;    /* refused BEGIN/COMMIT/ROLLBACK: "begin", "commit", "rollback" */
  const char *zTxExplained;  /* EXPLAIN of one of those (which runs none): the same names */
  int bSavepointSql;         /* SAVEPOINT, RELEASE or ROLLBACK TO */
  int bSchemaSql;            /* CREATE, DROP, ALTER or ANALYZE: may change the schema */
  int eForeignKeysSql;       /* PRAGMA foreign_keys = v: 1 + v as SQLite reads it (0 or 1); else 0 */
  int bDeferForeignKeysSql;  /* PRAGMA defer_foreign_keys = v */
  /* The rows that broke a foreign key when the running request first turned
  ** foreign keys off (guard.h): it answers only for the others it leaves. */
  struct UnmatchedRows *pFkBefore;
  int rcFkCounted;           /* why pFkBefore could not be found (it is 0 then) */
  Budget budget;             /* the CPU budget of the running request */
  int nCpuBudgetMs;          /* each request's budget (dosql_open) */
  sqlite3_stmt *pBegin;      /* cached BEGIN, COMMIT, ROLLBACK */
  sqlite3_stmt *pCommit;
  sqlite3_stmt *pRollback;
  sqlite3_stmt *pPageCount;  /* PRAGMA main.page_count and page_size, prepared when first */
  sqlite3_stmt *pPageSize;   /* asked (connDatabaseBytes) */
  Capture capture;           /* change data capture (capture.h) */
  sqlite3_int64 iChangeFloor; /* dosql_host_change_numbers() at open (host.h) */
  sqlite3_int64 iChangeKept;
  /* Statements of user SQL kept for the next request of the same text, most
  ** recently used first (connPrepareOne, connFinalize). */
  sqlite3_stmt *apCache[DOSQL_STATEMENT_CACHE];
  int nCache;
  sqlite3_stmt *pCacheable;  /* the statement connPrepareOne gave, when it may be kept */
  int bSchemaTouched;        /* a schema action was prepared: the kept statements go */
  DosqlSettings settings;    /* the settings every request starts with (connFinish) */
} Conn;

/* Open the database over the "dosql" VFS with our settings and guards.
** pageSize applies to a database that has no pages yet; bCapture turns change
** data capture on (capture.h); nCpuBudgetMs is each request's CPU budget
** (budget.h; 0 picks DOSQL_CPU_BUDGET_MS). A database whose internal tables
** are not the engine's (internal.h) is refused with UNSAFE_SCHEMA. */
int connOpen(Conn *p, unsigned pageSize, int bCapture, unsigned nCpuBudgetMs, Reply *pReply);

/* Open a read-only connection to the database as of lsn (a point
** dosql_host_history_point() gave in this request), with the guards of
** connOpen and its CPU budget; no change capture. Close it with connClose(). */
int connOpenView(Conn *p, double lsn, unsigned nCpuBudgetMs, Reply *pReply);

/* Close the connection and forget all state; connOpen starts afresh. */
void connClose(Conn *p);

/* Whether connOpen succeeded. */
int connIsOpen(const Conn *p);

/* Append {"pageSize":n,"pageCount":n}, the database as stored (0 and 0 with
** no pages yet), and "lsn" for a view, to the reply; when page 1 faulted,
** answer the fault. */
void connAnswerSize(Conn *p, Reply *pReply);

/* The database's size in bytes into *pnBytes: with bStored, as stored (what a
** rollback leaves); else as this connection's transaction sees it (what its
** commit will store). On failure the reply says why (a page fault included)
** and the result is not SQLITE_OK. D1's meta.size_after (docs/d1.md). */
int connDatabaseBytes(Conn *p, Reply *pReply, int bStored, sqlite3_int64 *pnBytes);

/* SQLite ended the interactive transaction at a statement that failed with
** rc, whose answer pReply holds: keep why (rcEndedTx, zEndedTx) until the
** transaction is over. */
void connNoteEndedTransaction(Conn *p, int rc, const Reply *pReply);

/* Forget per-request state (denial reason) and give the request its CPU
** budget: nCpuMs milliseconds, or the connection's own when 0; the call
** again after a fault (bRetry) goes on with what its attempts left. */
void connStartRequest(Conn *p, unsigned nCpuMs);

/*
** Prepare exactly one statement from zSql. Fails the reply (and returns non-zero)
** for SQL errors, for more than one statement, and for text with no statement.
** The statement may be one kept from an earlier request of the same text (its
** bindings cleared): give it back with connFinalize(), never sqlite3_finalize().
*/
int connPrepareOne(Conn *p, Reply *pReply, const char *zSql, sqlite3_stmt **ppStmt);

/*
** Done with a statement of connPrepareOne (0 is a no-op): keep it, reset, for
** the next request of the same text, or finalize it. Kept are statements whose
** authorizer decisions depend on their text alone: not DDL, not savepoints
** (allowed only inside a transaction), not PRAGMA foreign_keys (whose setting
** the engine applies itself, guard.h, learning it from the authorizer). A prepare of a schema action (guard.c
** sets bSchemaTouched) drops them all, and none is kept or reused until its
** transaction has ended (committed or rolled back): a kept statement must never
** show the columns of another schema before its first step re-prepares it.
*/
void connFinalize(Conn *p, sqlite3_stmt *pStmt);

/* Fail the reply with RESULT_TOO_LARGE once its body has passed
** DOSQL_MAX_RESULT_BYTES; non-zero then (or when the body could not grow). */
int connResultTooLarge(Conn *p, Reply *pReply);

/* Write one row of a result into the reply's body: xWrite(pOut, pArg) writes
** it, from the first nCol columns of pStmt. Non-zero when the reply failed
** (connResultTooLarge). A row whose values' JSON takes the body past
** DOSQL_MAX_RESULT_BYTES is RESULT_TOO_LARGE before it is written: the body
** would grow for it first, to about twice its length, which the heap may not
** hold (out of memory, for a result that is too large). */
int connAppendRow(Conn *p, Reply *pReply, sqlite3_stmt *pStmt, int nCol,
                  void (*xWrite)(sqlite3_str *pOut, void *pArg), void *pArg);

/* Run internal SQL (settings, ATTACH of a view, a rollback), past the authorizer
** and never refused memory by a spent budget (budget.h nExempt). */
int connExecTrusted(Conn *p, const char *zSql);

/* Whether every table of the schema can be read: a file made elsewhere may
** hold a virtual table of a module this build lacks, which could then be
** neither read nor dropped. The first that cannot, and why, in *pzWhy (0 when
** all can); SQLite's result code. */
int connCheckTables(Conn *p, char **pzWhy);

/* Run the first statement of *pzSql (SQLite's parser splits it) to its end,
** its rows discarded, and write the changes it made to the change log; *pzSql
** then points past it. *pbPrepared: whether it compiled (if not, the error is
** the parser's or the authorizer's); *pbStatement: whether there was one, not
** only blanks and comments. A statement with parameters is not run: a script
** binds none, and it would run with NULLs (pReply fails with BAD_PARAMS,
** zNoParams saying what to do instead). SQLITE_OK or the error. */
int connRunNextStatement(Conn *p, Reply *pReply, const char **pzSql, const char *zNoParams,
                         int *pbPrepared, int *pbStatement);

/* Prepare the first statement of a script's zSql as connRunNextStatement()
** does, for a caller that runs it itself (Hrana's sequence): SQLITE_OK with
** *ppStmt (0 when only blanks and comments came first) and *pzTail past it, or
** the error, which pReply says when the engine refused the statement itself (a
** setting explained, VACUUM INTO) and connFail() would say otherwise. */
int connPrepareNext(Conn *p, Reply *pReply, const char *zSql, sqlite3_stmt **ppStmt, const char **pzTail);

/* 1, failing pReply with BAD_PARAMS, when pStmt (a statement of a script, which
** binds no params) has parameters, saying zInstead (how to send it); else 0. */
int connRefuseScriptParams(Reply *pReply, sqlite3_stmt *pStmt, const char *zInstead);

/* BEGIN (deferred) / COMMIT. On failure the reply has the error. */
int connBegin(Conn *p, Reply *pReply);
int connCommit(Conn *p, Reply *pReply);

/* Commit, but only once the answer is whole: a commit must never be followed
** by an error (out of memory while writing the body) that says it failed. */
int connCommitIfAnswered(Conn *p, Reply *pReply);

/* Open an interactive transaction (BEGIN IMMEDIATE: it holds the write lock),
** or end it: commit, or roll back when bRollback. A failed commit rolls back
** and answers TRANSACTION_ABORTED. Either way the transaction is over when
** these return. */
int connBeginInteractive(Conn *p, Reply *pReply);
int connEndInteractive(Conn *p, Reply *pReply, int bRollback);

/* Make the open interactive transaction read-only until it ends: a write in
** it fails with SQLITE_READONLY (PRAGMA query_only). */
int connReadOnlyTransaction(Conn *p, Reply *pReply);

/* The name of connSavepoint()'s savepoint; user SQL may not use it, nor
** release or roll back to a savepoint older than it (guard.c). */
#define CONN_SAVEPOINT "dosql_batch"

/* A savepoint around work inside an interactive transaction, and its end:
** released, or (bRollback) undone and released. */
int connSavepoint(Conn *p, Reply *pReply);
void connRelease(Conn *p, Reply *pReply, int bRollback);

/* Roll back whatever is open, an interactive transaction included, and drop
** uncommitted pages: what SQLite's rollback wrote back equals what storage
** holds. */
void connRollback(Conn *p);

/*
** End every request with this. If it failed, or any page faulted (even in a
** statement that "succeeded": integrity_check reports failed reads as text),
** roll back, drop uncommitted pages, and turn a fault into the reply's
** DOSQL_STATUS_FAULT. Inside an interactive transaction a failed statement has
** undone itself and the transaction stays open; but a fault, or an error after
** which SQLite rolled the whole transaction back, ends it (TRANSACTION_ABORTED).
*/
void connFinish(Conn *p, Reply *pReply);

/* Record rc (the connection's last error) in the reply: SQLite's message and
** name, or CPU_LIMIT / HEAP_LIMIT / SQLITE_AUTH with the reason. */
void connFail(Conn *p, Reply *pReply, int rc);

#endif /* DOSQL_CONN_H */
