/*
** unit.h — what our SQLite translation unit (unit.c) adds to SQLite's API: the
** few answers only SQLite's internals know. unit.c includes the amalgamation,
** so these are checked against the pinned SQLite at compile time.
*/
#ifndef DOSQL_SQLITE_UNIT_H
#define DOSQL_SQLITE_UNIT_H

#include "sqlite3.h"

#include "budget.h"

/* Meter the built-in functions that can do much work in one call (budget.h).
** Call once after sqlite3_initialize(); later calls do nothing. SQLITE_OK, or
** SQLITE_INTERNAL when the list of metered functions outgrew its slots. */
int dosqlMeterBuiltins(void);

/* Meter the functions of those that dosqlMeterBuiltins() meters which the
** extensions (geopoly, R-Tree, FTS5) register on each connection: after the
** open. SQLITE_OK, or SQLITE_INTERNAL when the slots ran out. */
int dosqlMeterFunctions(sqlite3 *db);

/* Whether the built-in SQL function zName is metered (its every overload). */
int dosqlIsMeteredFunction(const char *zName);

/* Wrap the read methods (xFilter, xNext, xColumn) of every module registered
** on db, so that dosqlMeteredWork() knows when one runs (a pragma's table-valued
** function's are charged by the statement it runs, budget.h
** budgetBeginStatementRead), and FTS5's ranking functions (xFindFunction) and
** rank column, charged by the row: after the open, before any virtual table is
** used. SQLITE_OK, or SQLITE_INTERNAL when the copies of modules ran out. */
int dosqlMeterModules(sqlite3 *db);

/* The same for the modules registered on db since it last did, when any were:
** SQLite registers the module of a pragma's table-valued function
** (pragma_table_info), and connects its table, as the first statement naming
** it compiles. The authorizer calls it at every question, which SQLite asks
** at each call of such a function too: it compiles the PRAGMA it runs. Cheap
** when none were registered. */
int dosqlMeterNewModules(sqlite3 *db);

/* Charge pBudget, db's, for each comparison under the collations NOCASE and
** RTRIM on db, by the bytes it may compare: after the open. (BINARY is SQLite's
** memcmp, which the record comparison inlines.) SQLITE_OK, or SQLITE_INTERNAL
** when SQLite has no such collation. */
int dosqlMeterCollations(sqlite3 *db, Budget *pBudget);

/* Stop SQLite flattening subqueries, views and CTEs into the queries that read
** them for the statement being compiled on db, when it holds more than
** nMaxCursors tables and subqueries (config.h DOSQL_FLATTEN_MAX_CURSORS); until
** dosqlAllowFlattening(), which a request's start calls. */
void dosqlLimitFlattening(sqlite3 *db, int nMaxCursors);
void dosqlAllowFlattening(sqlite3 *db);

/* What SQLite is doing on db that the VM's steps do not meter (budget.h):
** preparing a statement, or reading a virtual table; else DOSQL_WORK_OTHER. */
#define DOSQL_WORK_OTHER     0
#define DOSQL_WORK_PREPARING 1
#define DOSQL_WORK_READING   2
int dosqlMeteredWork(sqlite3 *db);

/* Whether pStmt is an INSERT, UPDATE or DELETE, whose row count
** sqlite3_changes() reports. Other statements may change rows through SQL
** run on their behalf (CREATE VIRTUAL TABLE fills its shadow tables), which
** no caller asked to count. */
int dosqlStmtCountsChanges(sqlite3_stmt *pStmt);

/* Whether running pStmt can set the connection's last insert rowid: it
** inserts into a rowid table (or a virtual table) itself, not only through
** triggers, whose inserts SQLite does not report. */
int dosqlStmtSetsLastRowid(sqlite3_stmt *pStmt);

/* Whether pStmt, an INSERT, may update a row instead of inserting one (an
** UPSERT's DO UPDATE): then a change counted is no insert. */
int dosqlStmtMayUpdateInstead(sqlite3_stmt *pStmt);

/* Whether zTable of schema zDb is a shadow table of a virtual table (FTS5's
** f_content, R*Tree's r_node): part of the virtual table's storage, never
** reported as a table of its own. Safe inside a preupdate hook (no SQL runs). */
int dosqlIsShadowTable(sqlite3 *db, const char *zDb, const char *zTable);

/* Whether zTable of schema zDb holds rows of its own: an ordinary table, or a
** virtual table whose module keeps them in shadow tables (FTS5, R*Tree); not
** one that reads another's (fts5vocab). 1 when there is no such table. */
int dosqlTableHoldsRows(sqlite3 *db, const char *zDb, const char *zTable);

/* Whether schema iDb (0 main, 1 temp, as sqlite3_db_name numbers them) can
** hold no object: its file was never opened. SQLite opens temp's when SQL
** first names it, so reading temp.sqlite_schema to find it empty makes it. */
int dosqlSchemaIsUnused(sqlite3 *db, int iDb);

/* A number that changes whenever the main schema does, while it is loaded:
** schema_version and how often the parsed schema was cleared, so it also
** tells apart two schemas that an undone change left with one schema_version.
** Read it where the schema is current (inside a statement's transaction).
** Never negative. */
sqlite3_int64 dosqlSchemaStamp(sqlite3 *db);

/* Whether the newest open savepoint named zName (case as SQLite ignores it)
** was opened after the newest named zOlder, or zOlder is not open: what a
** RELEASE or ROLLBACK TO of zName may undo without touching zOlder. */
int dosqlSavepointIsNewer(sqlite3 *db, const char *zName, const char *zOlder);

/* Whether the statement being prepared now is under EXPLAIN (or EXPLAIN QUERY
** PLAN): asked by the authorizer, which SQLite does not tell. */
int dosqlPreparingExplain(sqlite3 *db);

/* Whether pStmt is a VACUUM INTO (its program copies the database to a file):
** the authorizer sees it only as the statement runs, inside SQLite's own
** ATTACH, after checks of SQLite's that would answer first. */
int dosqlIsVacuumInto(sqlite3_stmt *pStmt);

/* What SQL's changes(), total_changes() and last_insert_rowid() answer (the
** first two SQLite's API can read but not set). Every write of the engine's own
** (the change log's rows and their pruning, a migration's record) saves them
** first and puts them back after, as SQLite's VACUUM does, so that they tell
** only of the user's statements. */
typedef struct DosqlChangeCounts {
  sqlite3_int64 nChange;
  sqlite3_int64 nTotalChange;
  sqlite3_int64 iLastRowid;
} DosqlChangeCounts;
void dosqlSaveChangeCounts(sqlite3 *db, DosqlChangeCounts *p);
void dosqlRestoreChangeCounts(sqlite3 *db, const DosqlChangeCounts *p);

/* Whether zSql begins with libSQL's BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE]
** TRANSACTION READONLY, which SQLite reads as a BEGIN of a transaction named
** READONLY: its tokens as SQLite's tokenizer reads them (comments and blanks
** anywhere between), then the text's end or a semicolon. */
int dosqlIsReadOnlyBegin(const char *zSql);

/* "commit" or "rollback" when zSql is COMMIT, END or ROLLBACK [TRANSACTION
** [name]] alone (but for semicolons, blanks and comments; not ROLLBACK TO,
** a savepoint's), read by SQLite's tokenizer without compiling it; else 0. */
const char *dosqlTransactionEnd(const char *zSql);

/* The connection's settings a user's PRAGMA may change (guard.c), but for
** foreign_keys and defer_foreign_keys (guard.h's own rules): recursive_triggers,
** reverse_unordered_selects, automatic_index, cell_size_check, analysis_limit,
** secure_delete and max_page_count, as SQLite holds them. (application_id,
** user_version and auto_vacuum are the file's.) */
typedef struct DosqlSettings {
  sqlite3_uint64 flags;     /* the flags of the first four */
  int nAnalysisLimit;
  int iSecureDelete;        /* main's (and every schema's) */
  unsigned mxPage;          /* main's max_page_count (and every schema's) */
} DosqlSettings;
void dosqlSaveSettings(sqlite3 *db, DosqlSettings *p);
/* Put them back in every schema, as a PRAGMA would (statements prepared under
** other flags are prepared again); nothing when none changed. */
void dosqlRestoreSettings(sqlite3 *db, const DosqlSettings *p);

/* A PRAGMA's boolean argument as SQLite reads it (on/yes/true, a number not
** 0): 1 or 0. */
int dosqlPragmaBoolean(const char *z);

/* One column of the row a preupdate hook reports, with its value read out. */
typedef struct DosqlField {
  sqlite3_value *pValue;   /* 0 where SQLite stores none (a virtual generated column) */
  int eType;               /* sqlite3_value_type() of pValue; SQLITE_NULL without one */
  int n;                   /* TEXT, BLOB: its bytes (dosqlValueBytes) */
  union {
    sqlite3_int64 i;       /* INTEGER */
    double r;              /* FLOAT */
    const void *z;         /* TEXT, BLOB: n bytes; 0 when n is 0, or out of memory */
  } u;
} DosqlField;

/*
** The old (bOld) or new values of the row a preupdate hook reports, the first
** nField columns (sqlite3_preupdate_count() is all of them) into aField: what
** sqlite3_preupdate_old() and _new() give, read in place where they can be.
** SQLite copies an old row's whole record into a malloc of its own for every
** changed row, and an UPDATE's new value out of its register at every call
** (and its text, to NUL-terminate it); here the old record is read where its
** page holds it, the new values in their registers, and the rowid (an
** INTEGER PRIMARY KEY) from the row's key. Elsewhere (a record on overflow
** pages, a WITHOUT ROWID table, a REAL column, a column added after the
** record was written, an INSERT's record, a zeroblob) it is SQLite's
** functions themselves. The
** values are valid until the hook returns; read pValue only with functions
** that convert nothing (jsonAppendValue). SQLITE_OK, or the error SQLite gave
** for a column.
*/
int dosqlPreupdateRow(sqlite3 *db, int bOld, DosqlField *aField, int nField);

/* Room for n more bytes at the end of p's text, to write in place and then
** count with dosqlStrAdvance(): what sqlite3_str_append() does, for a writer
** that makes its bytes where they go. 0 when p has failed or cannot grow (its
** error code says why). */
char *dosqlStrReserve(sqlite3_str *p, int n);

/* Count n bytes written at dosqlStrReserve()'s pointer, no more than it made room for. */
void dosqlStrAdvance(sqlite3_str *p, int n);

/* Empty p's text and keep its memory for what is written next, when p has
** not failed and holds at most nMax bytes: 1 then, else 0 (p unchanged).
** sqlite3_str_reset() would free the memory. */
int dosqlStrEmpty(sqlite3_str *p, int nMax);

/* The bytes of a TEXT or BLOB value as it holds them, without converting or
** copying it (sqlite3_value_blob() marks the value a blob, sqlite3_value_text()
** may copy it to NUL-terminate it); *pn of them. 0 for an empty value. A
** zeroblob in a register is never given in place (dosqlPreupdateRow). */
const void *dosqlValueBytes(sqlite3_value *pVal, int *pn);

#endif /* DOSQL_SQLITE_UNIT_H */
