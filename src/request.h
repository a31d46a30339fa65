/*
** request.h — the one definition of a valid request body, for C and the host.
**
** A body is strict RFC 8259 JSON with an object at the top, and nothing the
** two sides could read differently: JavaScript's JSON.parse (the host, the
** client) and cJSON (here) agree on every body this accepts. So it refuses
** raw control characters and invalid UTF-8 in strings (cJSON would keep the
** bytes, JSON.parse would refuse or replace them), the escape \u0000 (cJSON's
** strings end at NUL), unpaired surrogates (JSON.parse keeps them, cJSON
** refuses), duplicate keys (cJSON takes the first, JSON.parse the last),
** nesting deeper than CJSON_NESTING_LIMIT, a byte-order mark, and bytes after
** the value. The host never reads a body itself: C answers what it holds.
*/
#ifndef DOSQL_REQUEST_H
#define DOSQL_REQUEST_H

#include <stdint.h>

#include "cJSON.h"
#include "reply.h"

/*
** Parse a request body: its JSON object, or 0 after failing the reply with 413
** PAYLOAD_TOO_LARGE (over DOSQL_MAX_REQUEST_BYTES), 400 BAD_JSON (not a valid
** body, as above, with the byte offset) or 400 BAD_REQUEST (not an object).
** No body at all (0 bytes) reads as {}. The caller frees the tree with
** cJSON_Delete.
*/
cJSON *requestParse(Reply *pReply, const uint8_t *aBody, uint32_t nBody);

/* Whether stored JSON text (z, n bytes) is an object as capture.c writes
** one: valid as a body is, except that \u0000 may stand for a NUL character
** of a text value, and each member a value as results write one
** (jsonIsWrittenValue). 1 when it is, 0 when not, -1 when out of memory. */
int requestCheckStored(const char *z, int n);

#endif /* DOSQL_REQUEST_H */
