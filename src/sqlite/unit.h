/*
** unit.h — what our SQLite translation unit (unit.c) adds to SQLite's API: the
** few answers only SQLite's internals know. unit.c includes the amalgamation,
** so these are checked against the pinned SQLite at compile time.
*/
#ifndef DOSQL_SQLITE_UNIT_H
#define DOSQL_SQLITE_UNIT_H

#include "sqlite3.h"

/* Meter the built-in functions that can do much work in one call (budget.h).
** Call once after sqlite3_initialize(); later calls do nothing. SQLITE_OK, or
** SQLITE_INTERNAL when the list of metered functions outgrew its slots. */
int dosqlMeterBuiltins(void);

/* Whether pStmt is an INSERT, UPDATE or DELETE, whose row count
** sqlite3_changes() reports. Other statements may change rows through SQL
** run on their behalf (CREATE VIRTUAL TABLE fills its shadow tables), which
** no caller asked to count. */
int dosqlStmtCountsChanges(sqlite3_stmt *pStmt);

/* Whether zTable of schema zDb is a shadow table of a virtual table (FTS5's
** f_content, R*Tree's r_node): part of the virtual table's storage, never
** reported as a table of its own. Safe inside a preupdate hook (no SQL runs). */
int dosqlIsShadowTable(sqlite3 *db, const char *zDb, const char *zTable);

/*
** What sqlite3_preupdate_old() gives for column iIdx of the row a preupdate
** hook reports, read in place where its page holds the whole record: SQLite
** copies the record into a malloc of its own for every changed row. Elsewhere
** (a record on overflow pages, a WITHOUT ROWID table, the rowid, a REAL
** column, a column added after the record was written, an error) it is
** sqlite3_preupdate_old() itself. *ppValue is valid until the hook returns;
** read it as dosqlPreupdateNew()'s.
*/
int dosqlPreupdateOld(sqlite3 *db, int iIdx, sqlite3_value **ppValue);

/*
** What sqlite3_preupdate_new() gives for column iIdx of the row a preupdate
** hook reports, read in place where that is only a register of the UPDATE:
** SQLite copies the register at every call (and its text to NUL-terminate
** it), a malloc per text value of every updated row; and the rowid, held
** where SQLite would allocate copies of the row for it. Elsewhere (an INSERT,
** a zeroblob, an error) it is sqlite3_preupdate_new() itself. *ppValue is
** valid until the hook returns; read it with the accessors that convert
** nothing (sqlite3_value_type, _int64, _double, _bytes, dosqlValueBytes).
*/
int dosqlPreupdateNew(sqlite3 *db, int iIdx, sqlite3_value **ppValue);

/* The bytes of a TEXT or BLOB value as it holds them, without converting or
** copying it (sqlite3_value_blob() marks the value a blob, sqlite3_value_text()
** may copy it to NUL-terminate it); *pn of them. 0 for an empty value. A
** zeroblob in a register is never given in place (dosqlPreupdateNew). */
const void *dosqlValueBytes(sqlite3_value *pVal, int *pn);

#endif /* DOSQL_SQLITE_UNIT_H */
