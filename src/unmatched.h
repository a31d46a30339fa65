/*
** unmatched.h — the rows whose foreign key finds no row (PRAGMA
** foreign_key_check, in main and temp), told apart by what they hold, so that
** a request that turns foreign keys off answers for the rows it leaves so
** (guard.h), not for those it found so. SQLite's own table rebuild (copy the
** table into a new one, drop it, rename the copy) renumbers rowids and keys and
** may change a column's type, so a row is known by: its schema and table, the
** key's own columns and the parent's (not the parent's name, which a rename
** changes), and the key's values as text; names compared as SQLite compares
** them, without case. Rows of one such key with the same values are counted: a
** request may leave as many of them unmatched as it found. A WITHOUT ROWID
** table's rows cannot be read back by rowid: they are counted by key alone.
*/
#ifndef DOSQL_UNMATCHED_H
#define DOSQL_UNMATCHED_H

#include "sqlite/unit.h"

typedef struct UnmatchedRows UnmatchedRows;

/* The rows that break a foreign key, into *pp: SQLITE_OK, or the error that
** kept SQLite from finding them (then *pp is 0). Statements only, never their
** table-valued functions, and rows read by a rowid name no column takes: no
** name a user chose can stand in for what is read. */
int unmatchedFind(sqlite3 *db, UnmatchedRows **pp);

/* The first row of pNow that pBefore (0: none) does not account for:
** non-zero, with its table, its rowid ("none" WITHOUT ROWID) and its parent
** table, texts of pNow's; or 0. */
int unmatchedFirstNew(const UnmatchedRows *pNow, const UnmatchedRows *pBefore,
                      const char **pzChild, const char **pzRowid, const char **pzParent);

void unmatchedFree(UnmatchedRows *p);

#endif
