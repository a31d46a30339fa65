/*
** vfs.h — the "dosql" VFS: a database kept as numbered pages by the host.
**
** sqlite3_os_init() (in vfs.c) registers it as the default VFS, so every
** connection of this build uses it. It holds exactly one main database file; the
** rollback journal and temp files stay in SQLite's memory (journal_mode=MEMORY,
** SQLITE_TEMP_STORE=3), so opening any other file fails with SQLITE_CANTOPEN.
** The exception: read-only views of the database as of a past commit, named by
** dosqlVfsViewName(), as many as wanted (history.c opens them).
**
** The connection learns about faults from dosqlVfsTakeFaults() and talks to the
** open file through sqlite3_file_control() with the opcode below.
*/
#ifndef DOSQL_VFS_H
#define DOSQL_VFS_H

#include <stdint.h>

/* Most distinct faulting pages remembered per request (more are dropped: the
** host fetches these with read-ahead and the retry reports the rest). */
#define DOSQL_MAX_FAULTS 16

/* Pages the host could not give synchronously since the last take. */
typedef struct DosqlFaults {
  int nPage;
  uint32_t aPage[DOSQL_MAX_FAULTS];
} DosqlFaults;

/* Copy out, and clear, the pages that faulted since the last call. */
void dosqlVfsTakeFaults(DosqlFaults *pOut);

/* Whether a page faulted since the last take (a request that goes on after a
** failed statement, as a Hrana pipeline does, asks after each). */
int dosqlVfsFaulted(void);

/* The file name of the database as of lsn (an lsn dosql_host_history_point()
** gave), for sqlite3_open_v2() read-only or ATTACH; from sqlite3_malloc, 0 when
** out of memory. */
char *dosqlVfsViewName(double lsn);

/* Opcodes for sqlite3_file_control(db, "main", op, pArg), far above SQLite's
** own. DISCARD (pArg 0): drop uncommitted pages and forget the cached page
** count. SIZE (pArg a uint32_t[2]): the page size and page count of the
** database as stored (0 and 0 while it has no pages); SQLITE_IOERR_READ when
** page 1 faulted (dosqlVfsTakeFaults names it). */
#define DOSQL_FCNTL_DISCARD 0x44510001
#define DOSQL_FCNTL_SIZE    0x44510002

#endif /* DOSQL_VFS_H */
