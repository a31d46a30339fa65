/*
** guard.h — what user SQL may not do: the authorizer (ATTACH, transaction
** control, unsafe PRAGMAs, writes to internal tables) and the per-request VM
** step budget. Limits on memory are set in connOpen from config.h.
*/
#ifndef DOSQL_GUARD_H
#define DOSQL_GUARD_H

#include "conn.h"

/* Names of the engine's own tables start with this (case-insensitive). */
#define DOSQL_INTERNAL_PREFIX "_dosql_"

/* Every internal table, as an SQL list of names. Each exists from the moment
** the database is opened, so no user table can be renamed to one of them. */
#define DOSQL_INTERNAL_TABLES "'_dosql_migrations', '_dosql_changes'"

/* Install the authorizer, the progress handler and defensive settings. */
int guardInstall(Conn *p);

/*
** After a statement that altered a table: fail the reply with SQLITE_AUTH (the
** caller rolls back) if a user table now has an internal name. The authorizer
** cannot see the new name of ALTER TABLE ... RENAME TO.
*/
int guardCheckSchema(Conn *p, Reply *pReply);

#endif /* DOSQL_GUARD_H */
