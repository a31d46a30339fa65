/*
** diff.h — POST /diff {from, to?, tables?, limit?}: the row-level changes
** between two points of history (history.h), for every table, with change
** capture or without.
**
**   -> {"from": point, "to": point,
**       "schema": [{"type", "name", "before": sql | null, "after": sql | null}],
**       "changes": [{"table", "type": "insert" | "update" | "delete",
**                    "data": row, "old": row (updates)}],
**       "more": bool}
**
** "to" defaults to the present. "tables" limits the tables compared; "limit"
** (1..DIFF_MAX_LIMIT, default DIFF_DEFAULT_LIMIT) the changes listed, after
** which "more" is true. Rows are keyed by rowid, or by primary key in a
** WITHOUT ROWID table; a row is updated when a column both points have
** differs, or a column only one has is not NULL. Change events (changes.h)
** have the same shape.
*/
#ifndef DOSQL_DIFF_H
#define DOSQL_DIFF_H

#include "cJSON.h"
#include "conn.h"
#include "reply.h"

#define DIFF_DEFAULT_LIMIT 10000
#define DIFF_MAX_LIMIT     100000

void diffEndpoint(Conn *pConn, Reply *pReply, const cJSON *pBody);

#endif /* DOSQL_DIFF_H */
