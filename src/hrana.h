/*
** hrana.h — libSQL's Hrana protocol over HTTP (version 2, JSON), what
** @libsql/client and the ORMs built on it speak (docs/hrana.md).
**
**   POST /v2/pipeline  {baton, requests:[...]} -> {baton, base_url, results:[...]}
**   GET  /v2           200: the version probe
**
** A stream is a sequence of pipelines tied together by batons; this file owns
** all of it: streams, batons (unforgeable, single-use), the SQL texts a
** stream stores, and every stream request (execute, batch, sequence,
** describe, store_sql, close_sql, get_autocommit, close). A stream's BEGIN,
** COMMIT and ROLLBACK open and end the object's interactive transaction
** (docs/transactions.md): while a stream's transaction is open, every other
** request waits. The host owns the waiting and the transaction's idle timer,
** so it serves the route in up to two calls:
**
**   1. POST /v2/pipeline (a host route): the check, asked while a transaction
**      is open (else no stream holds one). Answers 200 {"transaction": true}
**      when the pipeline belongs to the open transaction (its stream began
**      it), else {"transaction": false}; or the error of a bad body or baton
**      (BAD_BATON, STREAM_EXPIRED).
**   2. POST /hrana/pipeline (internal), the same body, with the flag
**      DOSQL_REQUEST_IN_TRANSACTION exactly when the check said so, and
**      holding the object alone otherwise. Answers the Hrana response after
**      one byte for the host: 'T' when the stream holds the transaction now
**      (the host keeps waiting requests out and arms the idle timer,
**      DOSQL_HRANA_TRANSACTION_IDLE_MS), 'A' when it does not. Any other
**      answer holds no transaction: a pipeline that fails as a whole once its
**      requests ran ends its stream, and a transaction it held or ran in
**      (TRANSACTION_ABORTED).
**
** A page fault mid-pipeline (key-value storage, the cold tier) stops it; the
** stream keeps the results so far and how far a batch or sequence came, and
** the host's call again (DOSQL_REQUEST_RETRY) resumes there, so nothing that
** committed runs twice. A transaction begun in the same pipeline is undone
** and resumed at its BEGIN; one begun before ends (TRANSACTION_ABORTED), as
** /begin's does.
*/
#ifndef DOSQL_HRANA_H
#define DOSQL_HRANA_H

#include "cJSON.h"
#include "conn.h"

/* The byte before a pipeline's answer when its stream holds the transaction
** ("holdsTransaction" in the contract). */
#define HRANA_HOLDS_TRANSACTION 'T'

/* GET /v2, the check and the run of a pipeline (above): endpoints of handler.c. */
void hranaVersion(Conn *pConn, Reply *pReply, const cJSON *pBody);
void hranaCheck(Conn *pConn, Reply *pReply, const cJSON *pBody);
void hranaPipeline(Conn *pConn, Reply *pReply, const cJSON *pBody);

/* Append the columns of pStmt as Hrana's [{"name","decltype"}]; non-zero
** when a name is missing (SQLite could not allocate it). And one row as
** Hrana's [value, ...]. */
int hranaAppendColumns(sqlite3_str *pOut, sqlite3_stmt *pStmt, int nCol);
void hranaAppendRow(sqlite3_str *pOut, sqlite3_stmt *pStmt, int nCol);

#endif /* DOSQL_HRANA_H */
