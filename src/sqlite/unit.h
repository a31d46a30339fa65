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

#endif /* DOSQL_SQLITE_UNIT_H */
