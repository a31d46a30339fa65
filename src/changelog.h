/*
** changelog.h — reading and pruning the change log, _dosql_changes
** (docs/changes.md; capture.h writes it).
*/
#ifndef DOSQL_CHANGELOG_H
#define DOSQL_CHANGELOG_H

#include "cJSON.h"
#include "changebatch.h"
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
** POST /changes/prune {keepEvents, keepMs, keepBytes?} (internal: the host's
** retention) -> {"deleted":n, "remaining":n, "oldestTimestamp":ms|null, "more":bool}
** Deletes events beyond the newest keepEvents, older than keepMs, or in rows
** past the newest keepBytes of events (no limit when absent), at most
** DOSQL_PRUNE_BATCH per call ("more" says another call has work), and never
** the newest event, so lsns keep counting up. Rows of the log go whole, so an
** event may stay while another of its row is kept.
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

/*
** How events are numbered once a restore or an import replaced the log (its
** events up to some number stay readers' history, the rest are gone):
** dosql_host_change_numbers() keeps floor and kept (host.h). New events are
** numbered above the floor; /changes reports a head of at least the floor, and
** a gap to a reader whose since is past kept and below the floor (it saw
** events that are gone), unless since is an event the log holds, or the
** point right before one (numbers are issued once: the reader saw that
** event, and the history that led to it). changelogLoadNumbers() reads them
** at open.
*/
int changelogLoadNumbers(Conn *p);

/* The newest event's number in the log itself (0 when empty), floor aside. */
int changelogHead(Conn *p, sqlite3_int64 *piHead);

/* The same in a view of a past point, whichever release wrote its log: there,
** before the open converted it (internalUpgrade), the first release's log may
** be the table _dosql_changes, one row per event. 0 without a log. */
void changelogHeadAt(Conn *pView, sqlite3_int64 *piHead);

/* The newest number issued, given the log's head: the head, or the floor a
** replacement reserved when that is above it. */
sqlite3_int64 changelogIssued(const Conn *p, sqlite3_int64 iHead);

/* kept for a log whose events no reader saw: an import's. */
#define CHANGELOG_KEPT_NONE (-1)

/*
** The numbers the next replacement keeps, when the log it brings holds the
** events readers saw up to iKept (a restored point's log head, 0 when it is
** empty; CHANGELOG_KEPT_NONE for an import): appended to pOut as
** {"floor":n,"kept":n}. The new floor is a number no event took, above every
** one this log issued, so a reader starting at it after the replacement reads
** no gap.
*/
int changelogReplaced(Conn *p, sqlite3_int64 iKept, sqlite3_str *pOut);

/*
** POST /changes/replaced (internal: an import, before its swap) ->
**   {"floor":n,"kept":-1}: changelogReplaced() for a log replaced whole. Both
**   answer floor 0 and kept -1 (as if nothing was replaced) when this log never
**   numbered an event: no reader holds a number.
*/
void changelogReplacedEndpoint(Conn *p, Reply *pReply, const cJSON *pBody);

/*
** POST /changes/renumber {floor} (internal: an imported file's engine, once
** the floor of the database it replaces is known) -> {"head":n}
** Moves every event of the log, and its txId, past floor, the oldest txId to
** the number after it: as the file numbered them they are numbers that
** database gave its readers, who would read them as the events they saw (or
** as gone, for ever, from the newest lsn SQL reads). The numbers keep their
** distances. Nothing moves when floor is 0 (that database numbered no event).
*/
void changelogRenumber(Conn *p, Reply *pReply, const cJSON *pBody);

/*
** The next event of a stored row (changebatch.h), its objects checked as
** valid in every reader (request.h): pData and pOld are reset and get them.
** SQLITE_ROW, SQLITE_DONE, SQLITE_CORRUPT or SQLITE_NOMEM.
*/
int changelogNextEvent(ChangeBatch *pBatch, int *pType, sqlite3_str *pData, sqlite3_str *pOld);

/* Read every event of the log as /changes would (an imported file's check):
** SQLITE_OK with *pzWhy set (sqlite3_malloc'd) at the first row that is not
** as capture.c writes it, or holds another count of events than its lsns. */
int changelogCheckEvents(Conn *p, char **pzWhy);

#endif /* DOSQL_CHANGELOG_H */
