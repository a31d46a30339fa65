/*
** history.h — the database as it was (docs/history.md): reads as of a past
** point, GET /history, and the check of POST /restore.
**
** A point names a commit, by
**   - its lsn, a JSON number (the count of commits that made it), or a string
**     of its decimal digits (as a query string gives it);
**   - a bookmark, the 16 lowercase hex digits of an lsn (as /history gives);
**   - a time, a string SQLite's date functions read ("2026-12-01 12:00:00",
**     ISO 8601 with "Z" or an offset; UTC without one), or {"time": ms since
**     the epoch}: the newest commit at or before it.
** The host keeps the history (host.h) and says which lsns it still holds.
*/
#ifndef DOSQL_HISTORY_H
#define DOSQL_HISTORY_H

#include "cJSON.h"
#include "conn.h"
#include "reply.h"

/* An endpoint's answer, as handler.c runs it. */
typedef void (*HistoryEndpoint)(Conn*, Reply*, const cJSON*);

/*
** The lsn of the point pPoint (the field zField of the request): SQLITE_OK, or
** an error after failing the reply: 400 BAD_POINT (not a point), 410
** POINT_TOO_OLD, 400 POINT_IN_FUTURE, 501 HISTORY_UNSUPPORTED.
*/
int historyResolve(Conn *pConn, Reply *pReply, const cJSON *pPoint, const char *zField, double *pLsn);

/*
** When pBody has "asOf", answer it with xEndpoint run on a read-only
** connection to that point, and return 1; else return 0 (the caller answers).
** A write there fails with SQLITE_READONLY.
*/
int historyRunAsOf(Conn *pConn, Reply *pReply, const cJSON *pBody, HistoryEndpoint xEndpoint);

/* GET /history: {lsn, bookmark, oldest: {lsn, bookmark, time}, windowMs, bytes, logRows}. */
void historyInfo(Conn *pConn, Reply *pReply, const cJSON *pBody);

/* POST /restore {to}, the host's route: {"to": point, "changes": {"floor", "kept"}}:
** the point the host puts back, and the change numbers (changelog.h) the host
** keeps in the same write. */
void historyRestoreCheck(Conn *pConn, Reply *pReply, const cJSON *pBody);

/* POST /branch {name, from?}, the host's route: {"name": ..., "from": point},
** the point (the present by default) the host copies into the object name. */
void historyBranchCheck(Conn *pConn, Reply *pReply, const cJSON *pBody);

/* Whether this storage keeps no history: then pReply says so (501
** HISTORY_UNSUPPORTED), which every history endpoint answers first, whatever
** its body. */
int historyUnsupported(Reply *pReply);

/* The newest lsn, or a DOSQL_HISTORY_* failure (host.h). */
double historyCurrentLsn(void);

/* Append {"lsn":n,"bookmark":"..."} for lsn. */
void historyAppendPoint(sqlite3_str *pOut, double lsn);

#endif /* DOSQL_HISTORY_H */
