/*
** guard.h — what user SQL may not do: the authorizer (ATTACH, transaction
** control, unsafe PRAGMAs, writes to internal tables) and the per-request VM
** step budget. Limits on memory are set in connOpen from config.h.
*/
#ifndef DOSQL_GUARD_H
#define DOSQL_GUARD_H

#include "conn.h"

/* Names of the engine's own tables start with this (case-insensitive). */
#define DOSQL_INTERNAL_PREFIX "_dosql_"

/* Install the authorizer, the progress handler and defensive settings. */
int guardInstall(Conn *p);

#endif /* DOSQL_GUARD_H */
