/*
** host_mem.h — a native host for src/host.h that keeps pages in memory, with
** the knobs tests need: async faults, failing commits, and counters.
*/
#ifndef DOSQL_HOST_MEM_H
#define DOSQL_HOST_MEM_H

#include <stdint.h>

/* Forget every page and reset every knob and counter. */
void hostMemReset(void);

/* Async mode: a stored page reads as DOSQL_PAGE_FAULT until hostMemFetch()
** brings it in, as the legacy key-value backend does. */
void hostMemSetAsync(int bAsync);
void hostMemFetch(uint32_t pgno);

/* Make the nth commit from now (1 = the next one) fail. 0 disables. */
void hostMemFailCommit(int n);

/* Store n bytes as page pgno (1-based), as a committed write would; a page
** shorter than the database's page size reads with zeros after its n bytes.
** For tests and fuzzers that bring a database file of their own. */
void hostMemPutPage(uint32_t pgno, const uint8_t *aData, uint32_t n);

/* Pages in storage, and a stored page's bytes (0 if absent). */
uint32_t hostMemPageCount(void);
const uint8_t *hostMemPage(uint32_t pgno);

/* Move the host's clock (now_ms) forward by ms, until the next reset. */
void hostMemShiftClock(double ms);

/* What dosql_host_change_numbers() answers from now on (a restore or import
** the storage recorded): floor, and kept (-1: none). */
void hostMemSetChangeNumbers(double floor, double kept);

/* The most severe level (DOSQL_LOG_*, the smallest) logged since the last
** call, or HOST_MEM_LOG_NONE. */
#define HOST_MEM_LOG_NONE 99
int hostMemLogWorst(void);

/* Counters since the last reset. */
int hostMemCommits(void);
int hostMemPagesWritten(void);

#endif /* DOSQL_HOST_MEM_H */
