/*
** unmatched.h — the rows whose foreign key finds no row (PRAGMA
** foreign_key_check), told apart by what they hold: their table, the parent
** table their key names, and the values of that key. A request that turns
** foreign keys off answers for the rows it leaves so (guard.h), not for those
** it found so; and SQLite's own table rebuild, which copies a table with its
** keys into a new one and renames it, renumbers rowids and may renumber keys,
** so neither can tell a row found so from one the request made.
*/
#ifndef DOSQL_UNMATCHED_H
#define DOSQL_UNMATCHED_H

#include "sqlite/unit.h"

typedef struct UnmatchedRows UnmatchedRows;

/* The rows of main that break a foreign key, into *pp: SQLITE_OK, or the error
** that kept SQLite from finding them (then *pp is 0). The statements, never
** their table-valued functions, which a table the user named so would shadow.
** A row of a WITHOUT ROWID table is told apart by its tables only. */
int unmatchedFind(sqlite3 *db, UnmatchedRows **pp);

/* The first row of pNow that pBefore (0: none) does not account for, by table,
** parent table and key values, counted: non-zero, with its table, its rowid
** ("none" WITHOUT ROWID) and its parent table; or 0. The texts are pNow's. */
int unmatchedFirstNew(const UnmatchedRows *pNow, const UnmatchedRows *pBefore,
                      const char **pzChild, const char **pzRowid, const char **pzParent);

void unmatchedFree(UnmatchedRows *p);

#endif
