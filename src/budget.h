/*
** budget.h — the CPU budget of one request.
**
** Every call into the engine runs synchronously inside the Durable Object, so a
** request that computes for long blocks every other request of the runtime.
** The budget bounds it. It is counted in work units, not measured in time:
** workerd does not advance its clocks while JavaScript or wasm runs, so no
** clock inside a request can tell how long it has run. A unit is about one VM
** step; config.h says how many units a millisecond is worth, as measured.
**
** What charges the budget:
**   - the VM, a unit a step, counted by the progress handler every
**     DOSQL_PROGRESS_INTERVAL steps (DOSQL_READ_PROGRESS_INTERVAL while a
**     virtual table runs a statement of its own, budgetBeginStatementRead);
**   - built-in SQL functions, before each call an upper bound of its work from
**     its arguments' sizes, after it the bytes of its result (sqlite/unit.c):
**     instr(), LIKE or replace() can do O(n*m) work inside one VM step;
**   - binding parameters (json.c);
**   - pages read from storage, past SQLite's cache (vfs.c);
**   - SQLite's large allocations (DOSQL_CPU_ALLOCATION_FLOOR), charged to the
**     budget of the request begun last: work that fills one inside a VM step
**     (a concatenation, a JSON or geopoly parse) is no built-in function's;
**   - every allocation of work no VM step meters (sqlite/unit.h
**     dosqlMeteredWork): compiling a statement
**     (DOSQL_CPU_UNITS_PER_PREPARED_ALLOCATION each), and a virtual
**     table's read, which may do a whole search in one step (a unit per
**     DOSQL_CPU_READ_BYTES_PER_UNIT bytes: FTS5 allocates each page of its
**     index it reads);
**   - each statement a pragma's table-valued function compiles
**     (DOSQL_CPU_UNITS_PER_FILTER);
**   - each comparison under the NOCASE or RTRIM collation, by the bytes it
**     may compare, and the equal prefixes memcmp() finds (a sort compares
**     N log N times inside one step);
**   - each number parsed from a text, by the text's bytes (a CAST or `v + 0`
**     scans every digit inside one step);
**   - each comparison of records by a sort or an index's search, by their
**     bytes (a sort compares N log N times inside one step, an insert into
**     an index log N times).
** Compiling is linear in what it allocates but for SQLite's flattening of
** subqueries, which walks the whole query for each: guard.c stops it in a
** statement past DOSQL_FLATTEN_MAX_CURSORS tables and subqueries.
** Once spent, a budget stays spent until the next request (a retry after a
** page fault is the same request: budgetResume): the VM is
** interrupted, metered functions fail, compiling and virtual tables' reads
** are refused memory, and the request answers CPU_LIMIT.
** Internal work (change capture, migrations) is charged like any other.
*/
#ifndef DOSQL_BUDGET_H
#define DOSQL_BUDGET_H

#include "sqlite3.h"

typedef struct Budget {
  sqlite3_int64 nLeft;   /* units this request may still use */
  int bSpent;            /* nLeft fell below zero: the work was stopped */
  sqlite3 *db;           /* the connection it is attached to (budgetAttach) */
  int nExempt;           /* the engine's own fixed SQL runs (a rollback, a RELEASE,
                         ** a DETACH): charged, but never refused memory, so that
                         ** undoing a request never fails for want of budget */
} Budget;

/* The error text of a metered function refused for want of budget. */
#define DOSQL_CPU_SPENT_MESSAGE "interrupted: the request used up its CPU budget"

/* A request with nUnits to spend begins. */
void budgetStart(Budget *p, sqlite3_int64 nUnits);

/* The host's call again after a page fault (DOSQL_REQUEST_RETRY) goes on with
** what the request's earlier attempts left: it is the same request, and a
** fresh budget per attempt would let one request run its budget once per
** fault (64 of them on a key-value object). */
void budgetResume(Budget *p);

/* What pFrom has left becomes pTo's: work one request does on another
** connection (a view of a past point) spends the request's budget. */
void budgetCarry(Budget *pTo, const Budget *pFrom);

/* Charge n units. Returns non-zero when the budget is spent (now or before).
** Inline: every metered function call charges, so every row of a scan. */
static inline int budgetCharge(Budget *p, sqlite3_int64 n){
  if( p->bSpent ) return 1;
  p->nLeft -= n;
  if( p->nLeft<0 ) p->bSpent = 1;
  return p->bSpent;
}

/* Charge the budget of the request begun last for a page read from storage
** (vfs.c): DOSQL_CPU_UNITS_PER_PAGE_READ, and DOSQL_CPU_UNITS_PER_FETCH more
** when the host read storage for it (bFetched: host.h DOSQL_PAGE_FETCHED); one
** that spends it interrupts the statement, as a large allocation does. */
void budgetChargePageRead(int bFetched);

/* Charge the budget of the request begun last for nBytes SQLite's memcmp()
** found equal inside one step (sqlite/unit.c dosqlMemcmp: a sort's keys), a
** unit per DOSQL_CPU_COMPARE_BYTES_PER_UNIT; one that spends it interrupts the
** statement, which stops at its next step. */
void budgetChargeCompared(sqlite3_int64 nBytes);

/* Charge the budget of the request begun last for a number parsed from nBytes
** of text inside one step (sqlite/unit.c: SQLite scans every digit), a unit per
** DOSQL_CPU_PARSE_BYTES_PER_UNIT; one that spends it interrupts the statement, which
** stops at its next step. */
void budgetChargeParsed(sqlite3_int64 nBytes);

/* Charge the budget of the request begun last nUnits for work SQLite does inside
** one step (sqlite/unit.c: record comparisons by a sort or an index's search,
** geopoly's overlap sweep); a charge that spends it interrupts the statement at
** its next step. Non-zero when the budget is spent (now or before). */
int budgetChargeInStep(sqlite3_int64 nUnits);

/* A virtual table's read (xFilter or xNext: sqlite/unit.c) runs a statement
** compiled for it, as a pragma's table-valued function does at each search:
** charge nUnits, then until budgetEndStatementRead() count the VM's steps
** every DOSQL_READ_PROGRESS_INTERVAL. SQLite counts each statement's steps
** from zero, so those of one shorter than DOSQL_PROGRESS_INTERVAL would never
** be counted. Non-zero when the budget is spent (but for the engine's own
** fixed SQL, nExempt): do not read then. End every read begun. */
int budgetBeginStatementRead(sqlite3_int64 nUnits);
void budgetEndStatementRead(void);

/* Make p the budget that db's VM steps (the progress handler) and metered
** functions charge (sqlite/unit.c finds it with budgetOf), its virtual tables'
** reads metered (dosqlMeterModules). p must outlive the connection's use of it. */
int budgetAttach(sqlite3 *db, Budget *p);

/* Have SQLite's allocator charge large allocations: before sqlite3_initialize(). */
int budgetInstallAllocator(void);

/* The budget attached to db, or 0: a connection without one is not metered. */
Budget *budgetOf(sqlite3 *db);

/* Units for a whole number of milliseconds (DOSQL_CPU_UNITS_PER_MS). */
sqlite3_int64 budgetUnitsForMs(sqlite3_int64 ms);

#endif /* DOSQL_BUDGET_H */
