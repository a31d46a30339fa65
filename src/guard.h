/*
** guard.h — what user SQL may not do: the authorizer (ATTACH, transaction
** control, unsafe PRAGMAs, reserved names) and the VM's share of the CPU budget
** (budget.h). Limits on memory are set in connOpen.
*/
#ifndef DOSQL_GUARD_H
#define DOSQL_GUARD_H

#include "conn.h"

/* Install the authorizer, the progress handler and defensive settings. */
int guardInstall(Conn *p);

/*
** What a user statement does, as the authorizer saw it while the statement was
** prepared: SQLite's parser decides, so no other code reads SQL text for it.
** guardStartStatement() forgets what the last statement showed; call it before
** preparing, then ask the others after the prepare (it may have failed).
*/
void guardStartStatement(Conn *p);

/* "begin", "commit" or "rollback" (static text) when the authorizer refused
** the statement as transaction control (BEGIN, COMMIT / END, ROLLBACK), else 0. */
const char *guardTransactionStatement(const Conn *p);

/* Whether the statement is SAVEPOINT, RELEASE or ROLLBACK TO. */
int guardIsSavepoint(const Conn *p);

/* For PRAGMA foreign_keys = v: 1 or 0, v read as SQLite reads a boolean;
** else -1. Inside a transaction SQLite ignores that PRAGMA (migrate.c applies
** it in a migration). */
int guardForeignKeysSetting(const Conn *p);

/* Whether the statement may change the schema (CREATE, DROP, ALTER, ANALYZE):
** whether it did is the schema cookie's to say (handler.c). */
int guardMayChangeSchema(const Conn *p);

/*
** After a statement that altered a table: fail the reply with SQLITE_AUTH (the
** caller rolls back) if a table of any schema now has a reserved name
** (internal.h). The authorizer cannot see the new name of ALTER TABLE ...
** RENAME TO.
*/
int guardCheckSchema(Conn *p, Reply *pReply);

#endif /* DOSQL_GUARD_H */
