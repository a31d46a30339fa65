/*
** host.h — everything dosql.wasm imports from its host.
**
** This header is the ONE declaration of the C -> host boundary. In the wasm build
** every function below is imported from the module "dosql" and implemented in ONE
** JS module (worker-shim/src/host.js); in the native build (unit tests, fuzzing,
** speed ratios) it is implemented by a C host (tests/c/host_mem.c). A test
** compares the built module's import section with the DOSQL_IMPORT names here.
**
** Rules every implementation keeps:
**   - Calls are synchronous and never throw into C. Failures are return codes; the
**     host keeps any detail (the exception text) for its own logs.
**   - Only numbers and (pointer, length) pairs cross. Memory passed in is owned by
**     C and valid only for the duration of the call: a host must copy what it keeps.
**   - No WASI import is used: clock, randomness and logging are declared here.
*/
#ifndef DOSQL_HOST_H
#define DOSQL_HOST_H

#include <stdint.h>

#if defined(__wasm__)
# define DOSQL_IMPORT(name) \
    __attribute__((import_module("dosql"), import_name(#name)))
#else
# define DOSQL_IMPORT(name)
#endif

/* Results of dosql_host_page_read(). */
#define DOSQL_PAGE_OK       0  /* the first n bytes of the page were copied */
#define DOSQL_PAGE_MISSING  1  /* storage has no such page: it reads as zeros */
#define DOSQL_PAGE_FAULT    2  /* the page exists but cannot be had synchronously
                               ** (legacy async storage, cold tier): the request
                               ** is rolled back, the host fetches, and re-runs */
#define DOSQL_PAGE_ERROR    3  /* storage failed */
#define DOSQL_PAGE_FETCHED  4  /* as DOSQL_PAGE_OK, and the host read storage for
                               ** it (a row of its pages past its caches): the
                               ** read is charged as such (budget.h) */

/* Results of dosql_host_commit(). */
#define DOSQL_COMMIT_OK     0
#define DOSQL_COMMIT_ERROR  3  /* nothing was written */

/*
** Copy the first n bytes of page pgno (1-based) into buf. n is at most the page
** size; it is smaller only for the 100-byte header read that tells the VFS the
** database's page size. Returns one of DOSQL_PAGE_*.
*/
DOSQL_IMPORT(page_read)
int dosql_host_page_read(uint32_t pgno, uint8_t *buf, uint32_t n);

/* One page of a commit batch: its number and where its page_size bytes are. */
typedef struct DosqlPageRef {
  uint32_t pgno;
  const uint8_t *aData;
} DosqlPageRef;

/* Bytes of a commit batch's header, before its DosqlPageRef array. */
#define DOSQL_BATCH_HEADER 16

/*
** Write one commit batch atomically: after a crash, storage holds either all of
** it or none of it. The batch is n bytes (little-endian):
**
**     u32 page_size
**     u32 old_page_count   pages the database had before this commit
**     u32 new_page_count   pages it has after; the host drops pages above it
**     u32 n_pages          pages that follow
**     DosqlPageRef[n_pages]   ascending pgno, all <= new_page_count
**
** The pages are referenced, not copied, so a commit needs no second copy of its
** dirty set. In wasm32 a DosqlPageRef is 8 bytes: u32 pgno, then the u32
** address of the page's bytes in linear memory.
**
** Returns DOSQL_COMMIT_OK or DOSQL_COMMIT_ERROR.
*/
DOSQL_IMPORT(commit)
int dosql_host_commit(const uint8_t *batch, uint32_t n);

/* Kinds of point of dosql_host_history_point(). */
#define DOSQL_POINT_LSN   0  /* value is an lsn: the state its commit left */
#define DOSQL_POINT_TIME  1  /* value is ms since the Unix epoch: the newest commit
                             ** at or before it */

/* Failures of dosql_host_history_point() (an lsn is never negative). */
#define DOSQL_HISTORY_NONE   (-1)  /* this storage keeps no history */
#define DOSQL_HISTORY_BEFORE (-2)  /* older than the oldest point kept */
#define DOSQL_HISTORY_AFTER  (-3)  /* an lsn no commit has reached */
#define DOSQL_HISTORY_ERROR  (-4)  /* storage failed */

/*
** The lsn of a point of the database's history (the count of commits that made
** it), or one of DOSQL_HISTORY_*. An lsn it returns can be read with
** dosql_host_page_read_at() until the end of the request.
*/
DOSQL_IMPORT(history_point)
double dosql_host_history_point(int kind, double value);

/* As dosql_host_page_read(), but page pgno as it was at lsn (from
** dosql_host_history_point()): DOSQL_PAGE_MISSING for a page it did not have. */
DOSQL_IMPORT(page_read_at)
int dosql_host_page_read_at(double lsn, uint32_t pgno, uint8_t *buf, uint32_t n);

/* What dosql_host_history_info() fills, by index. */
#define DOSQL_HISTORY_LSN          0  /* the newest lsn */
#define DOSQL_HISTORY_OLDEST_LSN   1  /* the oldest lsn history can show */
#define DOSQL_HISTORY_OLDEST_TIME  2  /* the earliest time a point may name (ms), or -1 */
#define DOSQL_HISTORY_WINDOW_MS    3  /* how far back history reaches at most */
#define DOSQL_HISTORY_BYTES        4  /* bytes of storage history takes */
#define DOSQL_HISTORY_LOG_ROWS     5  /* log rows kept at most (commits, roughly) */
#define DOSQL_HISTORY_N            6

/* Fill a[0..DOSQL_HISTORY_N-1]. Returns 0, or DOSQL_HISTORY_NONE. */
DOSQL_IMPORT(history_info)
int dosql_host_history_info(double *a, uint32_t n);

/* What dosql_host_change_numbers() fills, by index: how change events are numbered
** after a restore or an import replaced the change log (changelog.h). */
#define DOSQL_CHANGES_FLOOR  0  /* the number the last replacement reserved (0: none): new
                                ** events are numbered above it */
#define DOSQL_CHANGES_KEPT   1  /* numbers up to it name the events readers saw before it;
                                ** those from there to the floor are gone, but for events
                                ** the log holds (-1: none kept, as after an import; 0 only
                                ** as releases before 2026-12-06 stored it, changelog.c) */
#define DOSQL_CHANGES_N      2
/* Fill a[0..DOSQL_CHANGES_N-1] from storage: 0, or -1 when storage failed. */
DOSQL_IMPORT(change_numbers)
int dosql_host_change_numbers(double *a, uint32_t n);

/* Milliseconds since the Unix epoch (wall clock, for SQLite's date functions). */
DOSQL_IMPORT(now_ms)
double dosql_host_now_ms(void);

/* Fill buf with n cryptographically random bytes (SQLite's PRNG seed). */
DOSQL_IMPORT(random)
void dosql_host_random(uint8_t *buf, uint32_t n);

/* Log levels of dosql_host_log(). */
#define DOSQL_LOG_ERROR 0
#define DOSQL_LOG_WARN  1
#define DOSQL_LOG_INFO  2

/* Write one line of UTF-8 text (no trailing newline) to the host's log. */
DOSQL_IMPORT(log)
void dosql_host_log(int level, const char *z, uint32_t n);

#endif /* DOSQL_HOST_H */
