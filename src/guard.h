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
** After a statement that altered a table: fail the reply with SQLITE_AUTH (the
** caller rolls back) if a table of any schema now has a reserved name
** (internal.h). The authorizer cannot see the new name of ALTER TABLE ...
** RENAME TO.
*/
int guardCheckSchema(Conn *p, Reply *pReply);

#endif /* DOSQL_GUARD_H */
