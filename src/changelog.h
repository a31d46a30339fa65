/*
** changelog.h — reading and pruning the change log, _dosql_changes
** (docs/changes.md; capture.h writes it).
*/
#ifndef DOSQL_CHANGELOG_H
#define DOSQL_CHANGELOG_H

#include "cJSON.h"
#include "conn.h"

/*
** POST /changes {since?, limit?, tables?} ->
**   {"events":[...], "next":n, "head":n, "oldest":n, "gap":bool}
** Events after since, oldest first, at most limit (and about
** DOSQL_CHANGES_PAGE_BYTES of JSON, but at least one).
*/
void changelogRead(Conn *p, Reply *pReply, const cJSON *pBody);

/*
** /subscribe {tables?, since?} (checked for the host, which serves the
** stream) -> {"tables":[...]|null, "since":n|null}: the selection of a
** subscription, under the rules of /changes; null since starts at the head.
*/
void changelogSelection(Conn *p, Reply *pReply, const cJSON *pBody);

/*
** POST /changes/prune {keepEvents, keepMs} (internal: the host's retention) ->
**   {"deleted":n, "remaining":n, "oldestTimestamp":ms|null, "more":bool}
** Deletes events beyond the newest keepEvents or older than keepMs, at most
** DOSQL_PRUNE_BATCH per call ("more" says another call has work), and never
** the newest event, so lsns keep counting up.
*/
void changelogPrune(Conn *p, Reply *pReply, const cJSON *pBody);

/*
** POST /changes/capture {tables} (internal: the host's settings, right after
** dosql_open) -> {"tables":n}
** Capture only these tables from now on (changes.tables, docs/changes.md);
** BAD_CONFIG for a list that is empty, too long, or names SQLite's or DoSQL's
** own tables. /changes and /subscribe then refuse tables outside the list.
*/
void changelogCapture(Conn *p, Reply *pReply, const cJSON *pBody);

/* Whether the data and old columns of a stored event (columns iData and
** iData+1 of pStmt) are as capture.c writes them: data a JSON object every
** reader reads alike (request.h), old NULL or one such object. SQLITE_OK,
** SQLITE_CORRUPT, or SQLITE_NOMEM. */
int changelogEventValid(sqlite3_stmt *pStmt, int iData);

#endif /* DOSQL_CHANGELOG_H */
