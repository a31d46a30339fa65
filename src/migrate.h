/*
** migrate.h — applying the bundled NNN_name.sql migrations, once each.
*/
#ifndef DOSQL_MIGRATE_H
#define DOSQL_MIGRATE_H

#include <stdint.h>
#include "cJSON.h"
#include "conn.h"

/*
** Apply {"migrations":[{"name","sql"},...]} in order: each one not yet applied
** runs in its own transaction and is recorded in _dosql_migrations with the
** checksum of its text. An applied migration whose text changed fails with
** MIGRATION_CHANGED, a failing one with MIGRATION_FAILED (it is rolled back);
** both name the file and stop before later migrations. Returns a response in the
** api.h layout: 200 {"applied":[names applied now]}.
*/
uint8_t *migrateApply(Conn *pConn, const uint8_t *aBody, uint32_t nBody);

/*
** POST /restore/check {migrations, asOf, branch?} (internal: before a restore
** puts a point back, the migrations a deployment ships, as for migrateApply) ->
** {} when the database would start on that point; else 409 RESTORE_WOULD_MIGRATE
** naming those it has no record of (its start would run them on what was
** restored) or those it applied with another text (its start would fail,
** MIGRATION_CHANGED). With branch true, for a branch of the point: only the
** latter fail it (409 BRANCH_MIGRATION_CHANGED), as a branch runs the others at
** its start, as a new database does.
*/
void migrateCheckRestore(Conn *pConn, Reply *pReply, const cJSON *pBody);

#endif /* DOSQL_MIGRATE_H */
