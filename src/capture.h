/*
** capture.h — change data capture (docs/changes.md): every row change of a
** user table becomes an event of the change log, _dosql_change_log, written
** inside the transaction that made the change (changebatch.h: its form).
**
** SQLite's preupdate hook sees each change while a statement runs, but may not
** touch the connection; so the hook only keeps the change in memory, and once
** the statement has succeeded captureFlush() writes what it kept. Because the
** log is ordinary rows of the same database, SQLite's own undo (a failed
** statement, ROLLBACK TO, a rolled-back transaction) takes the events with it,
** and the commit that makes the data durable makes its events durable too.
*/
#ifndef DOSQL_CAPTURE_H
#define DOSQL_CAPTURE_H

#include "sqlite3.h"

struct Conn;
struct DosqlField;
typedef struct CaptureBatch CaptureBatch;
typedef struct CaptureTable CaptureTable;

typedef struct Capture {
  int bEnabled;               /* the preupdate hook is installed */
  CaptureBatch *aBatch;       /* changes of the running statement, in order */
  int nBatch, nAlloc;
  sqlite3_str *pEvents;       /* their events texts, one after another */
  CaptureTable *aTable;       /* the tables batches are of, with their columns */
  int nTable, nTableAlloc;
  struct DosqlField *aField;  /* scratch: a row's values, new then old */
  int nField;
  int bNoMem;                 /* the hook could not keep a change */
  sqlite3_int64 iTxId;        /* lsn of this transaction's first event; 0: none yet */
  sqlite3_int64 iTimestamp;   /* ms since the epoch of that first event */
  sqlite3_stmt *pInsert;      /* cached once used: INSERT INTO _dosql_change_log */
  sqlite3_stmt *pHead;        /* cached once used: the newest lsn */
  char **azOnly;              /* the settings' changes.tables: only these are */
  int nOnly;                  /* captured; 0 for every user table */
  const char *zUnreported;    /* the table the hook last found unreported, as */
  sqlite3_int64 iUnreported;  /* SQLite named it, and dosqlSchemaStamp() then */
  int bWatchInserts;          /* captureWatchInserts() is on: the hook notes */
  int bInserted;              /* ... whether the statement inserted a row itself */
} Capture;

/* Install the transaction hooks, the preupdate hook when bEnabled, and the
** zeroblob() that hook needs (capture.c); SQLITE_OK or an error. */
int captureInstall(struct Conn *p, int bEnabled);

/*
** While bOn, note whether the running statement inserts a row itself (not
** through a trigger), which captureInserted() then tells: of an UPSERT, whose
** DO UPDATE counts as a change too, nothing else tells whether it inserted
** when the row it inserted has the rowid last_insert_rowid() had. The
** preupdate hook watches (installed for that while, when capture is off).
*/
void captureWatchInserts(struct Conn *p, int bOn);
int captureInserted(const struct Conn *p);

/*
** Capture only the nTable tables named (the settings' changes.tables), not
** every user table; changes to others cost a name lookup, then, while they
** are to the same table, a comparison a row.
** SQLITE_OK or SQLITE_NOMEM.
*/
int captureOnly(struct Conn *p, const char *const *azTable, int nTable);

/* Whether zTable is SQLite's or DoSQL's own (sqlite_*, _dosql_*): never captured. */
int captureIsOwnTable(const char *zTable);

/* Whether the settings leave zTable in: true unless captureOnly() named
** other tables (the table need not exist). */
int captureCovers(const struct Conn *p, const char *zTable);

/* Forget every change kept and finalize cached statements (before close). */
void captureClose(struct Conn *p);

/*
** After a statement succeeded, inside its transaction: write the changes it
** made to _dosql_change_log. Leaves the connection's last insert rowid and change
** counts as the statement left them. SQLITE_OK or an error code; on error the
** caller fails the statement (and its partial log rows go with its undo).
*/
int captureFlush(struct Conn *p);

/*
** Read the log's newest entry, which brings the pages captureFlush() appends to
** into the page cache. /begin calls this: a page fault inside an interactive
** transaction aborts it, while one during /begin is simply retried.
*/
int captureWarm(struct Conn *p);

/* The statement failed: drop the changes it made (SQLite undoes the rows). */
void captureDiscard(struct Conn *p);

#endif /* DOSQL_CAPTURE_H */
