/*
** internal.h — the engine's own tables (_dosql_*): their one definition, and
** the checks that a database's copy of them is the engine's.
**
** Every name starting with DOSQL_INTERNAL_PREFIX is reserved in every schema
** (main, temp, any other): the engine's SQL names its schema ("main.") and
** reads only what it wrote. A database that holds anything else under such a
** name (a user's TEMP table renamed to one, an imported file with a trigger
** on the change log) is refused, at open, after every ALTER, and on import.
*/
#ifndef DOSQL_INTERNAL_H
#define DOSQL_INTERNAL_H

#include "conn.h"

/* Names of the engine's own tables start with this (case-insensitive). */
#define DOSQL_INTERNAL_PREFIX "_dosql_"

/* Whether zName (may be 0) is reserved for the engine. */
int internalIsReserved(const char *zName);

/* Whether an object named zName (may be 0) would hide a table-valued function
** the view _dosql_changes reads, breaking the view and, with it, every ALTER
** TABLE that SQLite checks views after. */
int internalHidesViewFunction(const char *zName);

/* Create the internal tables in main where missing (trusted SQL, one commit).
** Opening calls it only when internalCheckSchema found some missing: parsing
** the CREATE statements again at every start is a measurable part of it. */
int internalCreate(Conn *p);

/*
** Check every schema of the connection: an object named _dosql_*, or an index
** or trigger on such a table, must be one of the engine's tables in main,
** exactly as internalCreate defines it, or its primary-key index; no table or
** view may be named as internalHidesViewFunction says (an ALTER TABLE ... RENAME
** TO reaches names no CREATE could, so this is checked after it). SQLITE_OK
** with *pzWhy 0 when all is well; SQLITE_OK with *pzWhy naming the first
** stranger (sqlite3_malloc'd) when not; another code when SQL failed. When
** pbComplete is not 0, *pbComplete says whether main holds every one of them.
*/
int internalCheckSchema(Conn *p, char **pzWhy, int *pbComplete);

/*
** Check the rows of the internal tables as an imported file brings them: the
** change log holds what capture.c writes (lsns gap-free from 1 to 2^53-1,
** whole-number ids and times, events as changebatch.h stores them) and the
** migration log names and checksums. Same results as internalCheckSchema.
*/
int internalCheckRows(Conn *p, char **pzWhy);

/*
** After internalCheckSchema and internalCreate, bring what an earlier release
** made up to date, each in one transaction: the first release's change log
** (the table _dosql_changes, one row per event) becomes rows of
** _dosql_change_log and the view of that name (a database that has it lacks
** the view); the view as releases before 2026-12-04 defined it, which SQLite
** before 3.44 cannot parse, is defined anew. Nothing to do for a database that
** has neither. Same results as internalCheckSchema: *pzWhy says which row is
** not one the first release wrote, and nothing changes then.
*/
int internalUpgrade(Conn *p, char **pzWhy);

#endif /* DOSQL_INTERNAL_H */
