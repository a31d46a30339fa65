/*
** changebatch.h — the stored form of change events (docs/changes.md,
** "How the log is stored"): one row of _dosql_change_log holds the events a
** statement made to one table, numbered first_lsn..last_lsn, as two JSON texts.
**
**   cols    the table's columns by position: ["id","name",null], a name for
**           each column the event's rows carry, null for one SQLite does not
**           store (a virtual generated column)
**   events  [event, ...], where an event is
**             ["i",[values]]                 an insert: the new row
**             ["d",[values]]                 a delete: the deleted row
**             ["u",[values],{"k":old, ...}]  an update: the new row, and the
**                                            old value of each column k
**                                            (a position) that changed
**           and each value is as json.h encodes it (null for a column
**           SQLite does not store).
**
** Names are kept once per row and an update keeps only what changed, so a
** bulk statement costs a fraction of one row of JSON objects per event. The
** view _dosql_changes (internal.c) expands the rows for SQL; the engine reads
** them here, without SQL, so no user object (a table named json_each) stands
** between the log and what /changes answers.
*/
#ifndef DOSQL_CHANGEBATCH_H
#define DOSQL_CHANGEBATCH_H

#include "sqlite3.h"

/* An event's type as stored, and as events and the view name it. */
#define CHANGE_INSERT 'i'
#define CHANGE_UPDATE 'u'
#define CHANGE_DELETE 'd'

/* Bytes [z, z+n) of a stored JSON text. */
typedef struct ChangeSpan {
  const char *z;
  int n;
} ChangeSpan;

/* A reader of one row's events, in order. */
typedef struct ChangeBatch {
  const char *z;          /* the events text, and the read position in it */
  int n, i;
  ChangeSpan *aName;      /* nCol names (JSON strings, with their quotes); z==0: null */
  ChangeSpan *aValue;     /* scratch: the current event's values */
  ChangeSpan *aOld;       /* scratch: an update's old values (z==0: unchanged) */
  int nCol;
} ChangeBatch;

/*
** Start reading the events text zEvents (nEvents bytes) of a row whose cols
** text is zCols (nCols bytes). SQLITE_OK, SQLITE_CORRUPT when cols is not
** an array of strings and nulls, or SQLITE_NOMEM. Close it in every case.
*/
int changeBatchOpen(ChangeBatch *p, const char *zCols, int nCols,
                    const char *zEvents, int nEvents);

/*
** The next event: its type in *pType (CHANGE_*), its row as a JSON object
** appended to pData (the new row, or the deleted one), and for an update the
** old row appended to pOld. SQLITE_ROW, SQLITE_DONE after the last, or
** SQLITE_CORRUPT when the text is not as the writer writes it. The objects
** still need requestCheckStored() before they are trusted as JSON.
*/
int changeBatchNext(ChangeBatch *p, int *pType, sqlite3_str *pData, sqlite3_str *pOld);

void changeBatchClose(ChangeBatch *p);

/*
** A stored JSON object of the first release's log (one row per event): its
** nPair keys (JSON strings, with their quotes) and values, in order, into
** arrays of at most nMax. SQLITE_OK, or SQLITE_CORRUPT when z is not a flat
** object of at most nMax members as that release wrote.
*/
int changeBatchObject(const char *z, int n, ChangeSpan *aKey, ChangeSpan *aValue,
                      int nMax, int *pnPair);

/* The view's name for a stored type: "insert", "update" or "delete". */
const char *changeTypeName(int type);

#endif /* DOSQL_CHANGEBATCH_H */
