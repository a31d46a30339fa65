/*
** reply.h — building the one response a call into the engine returns.
**
** A Reply collects a JSON body, or the first error of the request. The error
** body {"error","code"[,"operation"][,"statement"][,"offset"][,"statementOffset"]
** [,"allow"][,"sqliteCode"]}
** is built here and nowhere else.
** replyFinish() hands the caller one allocation in the layout of api.h.
*/
#ifndef DOSQL_REPLY_H
#define DOSQL_REPLY_H

#include <stdint.h>
#include "sqlite3.h"

typedef struct Reply {
  sqlite3_str *pOut;     /* the response head, then the JSON body */
  int status;            /* HTTP status (or DOSQL_STATUS_FAULT) */
  const char *zCode;     /* error code (static text); 0 while all is well */
  char *zError;          /* error message (sqlite3_malloc'd) */
  int iOperation;        /* failing operation of a batch, or -1 */
  const char *zStatement;/* a refused transaction statement: "begin", "commit",
                         ** "rollback" (static text; TRANSACTION_STATEMENT), or 0 */
  int iOffset;           /* byte offset in sql of the token SQLite's error is
                         ** about (sqlite3_error_offset), or -1 */
  int iStatementOffset;  /* byte offset in sql where the failing statement of
                         ** a script (/exec) begins, or -1 */
  const char *zAllow;    /* a 405's methods, as its Allow header lists them
                         ** (static text), or 0 */
  const char *zSqliteCode;/* SQLite's code of an error replyAmend() gave another
                         ** code (static text), or 0 */
} Reply;

/* How many bytes of a caller's text z (n bytes; n<0: up to its NUL) an error
** message repeats: all of it up to REPLY_ECHO_BYTES, else that many cut where a
** character starts (the message stays UTF-8), to be followed by "...". A name
** may be megabytes. */
#define REPLY_ECHO_BYTES 64
int replyEchoLength(const char *z, int n);

/* The same for a whole message of SQLite's, which repeats names as the SQL gave
** them: at most REPLY_MESSAGE_BYTES (nMax: replyCutLength's limit). */
#define REPLY_MESSAGE_BYTES 4096
int replyCutLength(const char *z, int n, int nMax);

/* Start an empty 200 reply. */
void replyInit(Reply *p);

/*
** Start a reply that writes into pParent's body but keeps its own error: one
** part of a larger answer (a request of a Hrana pipeline), whose failure the
** caller writes in its place. End it with replyEndSharing(), never replyFinish().
*/
void replyInitSharing(Reply *p, Reply *pParent);
void replyEndSharing(Reply *p);

/* The body writer; callers append JSON to it. */
sqlite3_str *replyBody(Reply *p);

/* Record an error with a printf-style message. The first error, or a fault,
** wins: later calls change nothing. */
void replyFail(Reply *p, int status, const char *zCode, const char *zFmt, ...);

/* Change a recorded error's status and code and add zSuffix to its message
** (an error that turned out to end more than its statement); SQLite's code, if
** it was one and the code changes, stays as "sqliteCode". No error, no change. */
void replyAmend(Reply *p, int status, const char *zCode, const char *zSuffix);

/* Replace a recorded error's message with a printf-style one, keeping its status
** and code (an endpoint whose own options fix it better than the general advice
** does). No error, no change. */
void replyRestate(Reply *p, const char *zFmt, ...);

/* Whether an error or a fault has been recorded. */
int replyFailed(const Reply *p);

/*
** Drop the body and any error; answer DOSQL_STATUS_FAULT with {"pages":[...]}:
** the host fetches the pages and calls again. With bFinal (a fault inside an
** interactive transaction, which was rolled back, api.h) the body also holds
** the answer to give once the pages are fetched, instead of calling again:
** {"pages":[...],"status":503,"error":"...","code":"TRANSACTION_ABORTED"}.
*/
void replyFault(Reply *p, const uint32_t *aPage, int nPage, int bFinal);

/*
** The finished response (api.h layout), owned by the caller, who frees it with
** dosql_free. A failed reply gets the error body. Never 0: when not even the
** error body can be allocated, a static answer (replyIsStatic) says HEAP_LIMIT,
** or TRANSACTION_ABORTED if that was the failure. p is reset either way.
*/
uint8_t *replyFinish(Reply *p);

/* Whether p is one of replyFinish's static answers, which are never freed. */
int replyIsStatic(const void *p);

#endif /* DOSQL_REPLY_H */
