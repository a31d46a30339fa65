/*
** handler.h — one request of the wire protocol in, one response out.
*/
#ifndef DOSQL_HANDLER_H
#define DOSQL_HANDLER_H

#include <stdint.h>
#include "cJSON.h"
#include "sqlite3.h"
#include "conn.h"

/*
** Answer method + path + body (nBody bytes; aBody may be 0 when nBody is over
** the limit and was never read); flags as for dosql_request (api.h). Returns a
** response in the api.h layout, owned by the caller (dosql_free), never 0.
*/
uint8_t *handleRequest(Conn *pConn, const char *zMethod, uint32_t nMethod,
                       const char *zPath, uint32_t nPath,
                       const uint8_t *aBody, uint32_t nBody, uint32_t flags);

/*
** Run pStmt, prepared and bound by hrana.c, as every endpoint runs a statement
** (its own transaction when it writes outside one, change capture, the schema
** check) and append Hrana's StmtResult to the reply's body, its rows only
** with bWantRows. pStmt is given back (connFinalize). On failure the reply
** holds the error, and a transaction of the statement's own is still open:
** the caller rolls it back.
*/
void handlerRunHrana(Conn *pConn, Reply *pReply, sqlite3_stmt *pStmt, int bWantRows);

/* Append the route table as JSON: [{"path","methods":[...],"host","internal"}]
** (contract.h publishes it). */
void handlerAppendRoutes(sqlite3_str *pOut);

#endif /* DOSQL_HANDLER_H */
