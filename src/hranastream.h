/*
** hranastream.h — Hrana's streams (hrana.h): a table of DOSQL_HRANA_MAX_STREAMS
** slots in the engine, each stream named by a baton that is unforgeable (a
** random key) and good once (a sequence number), with the SQL texts it
** stores. A stream holds the object's interactive transaction when it began
** it (Conn.iTxStream); one whose transaction ended another way (the host's
** idle timer, a restart) is over.
*/
#ifndef DOSQL_HRANASTREAM_H
#define DOSQL_HRANASTREAM_H

#include "cJSON.h"
#include "conn.h"

/* A SQL text store_sql keeps for its stream. */
typedef struct HranaSql HranaSql;
struct HranaSql {
  int iId;
  char *zSql;
  int nSql;
  HranaSql *pNext;
};

typedef struct HranaStream {
  unsigned id;                /* never reused; 0: a free slot */
  unsigned seq;               /* of the only baton its next pipeline may bring */
  unsigned char aKey[8];      /* random: nobody else can name the stream */
  double msUsed;              /* when its last pipeline began */
  int bTx;                    /* it began the open transaction (Conn.iTxStream) */
  HranaSql *pSql;
  int nSql;
  int nSqlBytes;
} HranaStream;


/* Whether s holds the open interactive transaction. */
int hranaStreamHoldsTransaction(const Conn *pConn, const HranaStream *s);

/* The stream named id, or 0. */
HranaStream *hranaStreamOfId(unsigned id);

/* A new stream, in a free slot or in that of the stream idle longest. */
HranaStream *hranaStreamNew(const Conn *pConn, double msNow);

/* End s: its stored SQL goes and its slot is free. */
void hranaStreamFree(HranaStream *s);

/* Drop the streams idle past DOSQL_HRANA_STREAM_IDLE_MS (not one that holds
** the transaction: the host's timer ends that first). */
void hranaStreamsExpire(const Conn *pConn, double msNow);

/* The stream a pipeline's baton names, or 0 after failing the reply: a baton
** this object never gave, or gave for an earlier pipeline, is BAD_BATON; the
** baton of a stream that is gone, STREAM_EXPIRED. A null baton: *pbNew, and 0. */
HranaStream *hranaStreamOfBaton(Conn *pConn, Reply *pReply, const cJSON *pBaton, int *pbNew);

/* Append the baton of s's next pipeline, as a JSON string. */
void hranaAppendBaton(sqlite3_str *pOut, const HranaStream *s);

/* store_sql {sql_id, sql} and close_sql {sql_id}; the SQL text of a request
** or Stmt ({sql} or {sql_id}), or 0 after failing pSub. */
void hranaStoreSql(HranaStream *s, Reply *pSub, const cJSON *pReq);
void hranaCloseSql(HranaStream *s, Reply *pSub, const cJSON *pReq);
const char *hranaSqlText(HranaStream *s, Reply *pSub, const cJSON *pObj);

/* A copy of s's stored SQL (0 when it stores none; SQLITE_NOMEM in *pRc when
** the copy failed), for hranaSqlRestore() to put back: a transaction undone
** to run again from its BEGIN (hrana.c) runs the store_sql and close_sql
** after it again too. */
HranaSql *hranaSqlSnapshot(const HranaStream *s, int *pRc);

/* s stores what pSnapshot holds again, which it takes; its own list goes. */
void hranaSqlRestore(HranaStream *s, HranaSql *pSnapshot);

/* Free a list of stored SQL (a snapshot not restored). */
void hranaSqlFree(HranaSql *p);

#endif /* DOSQL_HRANASTREAM_H */
