/*
** guard.h — what user SQL may not do: the authorizer (ATTACH, transaction
** control, unsafe PRAGMAs, reserved names). The CPU budget is budget.h's;
** limits on memory are set in connOpen.
*/
#ifndef DOSQL_GUARD_H
#define DOSQL_GUARD_H

#include "conn.h"

/* Why VACUUM INTO is refused (connPrepareOne refuses it as it is prepared; the
** authorizer again where VACUUM attaches its copy). */
#define GUARD_VACUUM_INTO "VACUUM INTO is not allowed: a Durable Object has no files; use /export"

/* Install the authorizer and defensive settings. */
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

/* The same for an EXPLAIN (or EXPLAIN QUERY PLAN) of transaction control, which
** is allowed: it lists the program and runs none of it. */
const char *guardExplainedTransactionStatement(const Conn *p);

/* Whether the statement is SAVEPOINT, RELEASE or ROLLBACK TO. */
int guardIsSavepoint(const Conn *p);

/* For PRAGMA foreign_keys = v: 1 or 0, v read as SQLite reads a boolean;
** else -1. */
int guardForeignKeysSetting(const Conn *p);

/* Whether the statement sets PRAGMA foreign_keys or defer_foreign_keys, which
** the authorizer must see each time they run (never a kept statement). */
int guardSetsForeignKeys(const Conn *p);

/* After a statement that ran in a transaction the engine opened itself (a
** migration; /exec, /batch or /transaction outside an interactive one): if it
** was PRAGMA foreign_keys = v, apply it through the connection's flag, as it
** would have applied had the statement run alone. Inside a transaction SQLite
** ignores that PRAGMA, and then the table rebuild that SQLite documents (and
** drizzle-kit writes) deletes the children of the old table's rows. The first
** time in a request that it turns them off, it takes the rows that already
** break a foreign key, for guardCheckForeignKeys. 1 if that turned foreign keys
** off, else 0. */
int guardApplyForeignKeys(Conn *p);

/* After work that turned foreign keys off (guardApplyForeignKeys), the last
** step of SQLite's table rebuild procedure, PRAGMA foreign_key_check, held to the
** rows the work made: rows that broke a foreign key before it (left by a libSQL
** pipeline, which may turn foreign keys off without a check, or in an imported
** file) are not its to answer for. SQLITE_OK when every row it finds unmatched
** was found so when foreign keys went off (unmatched.h tells them apart by
** table, parent and key values); else SQLITE_CONSTRAINT_FOREIGNKEY, failing
** pReply with status and zCode naming the first other row ("<zSubject> turns
** foreign keys off ... <zRule> must leave every foreign key matched"); or the
** error that kept the check from running (a foreign key naming no unique key,
** the CPU budget), failing pReply as any statement's. */
int guardCheckForeignKeys(Conn *p, Reply *pReply, int status, const char *zCode,
                          const char *zSubject, const char *zRule);

/* Whether foreign keys are on (the connection's flag), and setting it: work of
** the engine's own that turns them off puts them back as it found them, and
** after every request outside a transaction they are on again (conn.c): PRAGMA
** foreign_keys lasts to the end of its request, so another client's next
** request never finds them off. */
int guardForeignKeysOn(Conn *p);
void guardSetForeignKeys(Conn *p, int bOn);

/* The end of work that may have turned foreign keys off (a request, a
** migration): foreign keys as bOn, and the rows counted when they went off
** (guardApplyForeignKeys) forgotten. */
void guardEndForeignKeys(Conn *p, int bOn);

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
