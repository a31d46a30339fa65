/*
** budget.c — the CPU budget of one request (contract in budget.h).
*/
#include "budget.h"
#include "config.h"
#include "sqlite/unit.h"

/* The client-data key under which a connection keeps its Budget. */
#define BUDGET_CLIENT_DATA "dosql.budget"

/* The budget of the request begun last on a connection, which large
** allocations charge: only while attached (a closed view's is freed). */
static Budget *pCharged;

/* The VM steps between two calls of the progress handler, which charges them:
** DOSQL_READ_PROGRESS_INTERVAL while a virtual table runs a statement of its
** own (budgetBeginStatementRead, nStatementReads deep), else
** DOSQL_PROGRESS_INTERVAL. */
static int nProgressSteps = DOSQL_PROGRESS_INTERVAL;
static int nStatementReads = 0;

void budgetStart(Budget *p, sqlite3_int64 nUnits){
  p->nLeft = nUnits;
  p->bSpent = 0;
  if( p->db ) pCharged = p;
}

void budgetResume(Budget *p){
  if( p->db ) pCharged = p;
}

void budgetCarry(Budget *pTo, const Budget *pFrom){
  pTo->nLeft = pFrom->nLeft;
  pTo->bSpent = pFrom->bSpent;
}

/* SQLite's own allocator, which the charging one wraps. */
static sqlite3_mem_methods memBase;

/* Charge p, attached, n units; when that spends it, interrupt its statement at
** once (the progress handler would only see it DOSQL_PROGRESS_INTERVAL steps
** later). Whether it is spent. */
static int budgetChargeAndStop(Budget *p, sqlite3_int64 n){
  if( !budgetCharge(p, n) ) return 0;
  sqlite3_interrupt(p->db);
  return 1;
}

/* Charge an allocation of n bytes, and say whether to refuse it. Work the VM's
** steps do not meter (sqlite/unit.h dosqlMeteredWork) pays for every allocation
** (compiling a statement, by the count; a virtual table's read, by the bytes);
** the VM's own, only for large ones. One that spends the budget interrupts the
** connection's statement at once (the progress handler would only see it
** DOSQL_PROGRESS_INTERVAL steps later, each of which may copy as much); after
** that, unmetered work is refused its allocations: compiling a statement and a
** virtual table's read check for an interrupt seldom or never, and stop at the
** first allocation that fails. Not the engine's own fixed SQL (nExempt), which
** undoes the request. */
static int budgetChargeAllocation(int n){
  Budget *p = pCharged;
  sqlite3_int64 nUnits;
  int eWork;
  if( p==0 || p->db==0 ) return 0;
  eWork = dosqlMeteredWork(p->db);
  if( !p->bSpent ){
    if( eWork==DOSQL_WORK_READING ) nUnits = n/DOSQL_CPU_READ_BYTES_PER_UNIT;
    else nUnits = n>=DOSQL_CPU_ALLOCATION_FLOOR ? n/DOSQL_CPU_BYTES_PER_UNIT : 0;
    if( eWork==DOSQL_WORK_PREPARING ) nUnits += DOSQL_CPU_UNITS_PER_PREPARED_ALLOCATION;
    if( nUnits==0 || !budgetChargeAndStop(p, nUnits) ) return 0;
  }
  return eWork!=DOSQL_WORK_OTHER && p->nExempt==0;
}

int budgetChargeInStep(sqlite3_int64 nUnits){
  Budget *p = pCharged;
  if( p==0 || p->db==0 ) return 0;
  return p->bSpent || budgetChargeAndStop(p, nUnits);
}

void budgetChargePageRead(int bFetched){
  budgetChargeInStep(DOSQL_CPU_UNITS_PER_PAGE_READ + (bFetched ? DOSQL_CPU_UNITS_PER_FETCH : 0));
}

void budgetChargeCompared(sqlite3_int64 nBytes){
  budgetChargeInStep(1 + nBytes/DOSQL_CPU_COMPARE_BYTES_PER_UNIT);
}

void budgetChargeParsed(sqlite3_int64 nBytes){
  if( nBytes>=DOSQL_CPU_PARSE_BYTES_PER_UNIT ) budgetChargeInStep(nBytes/DOSQL_CPU_PARSE_BYTES_PER_UNIT);
}

/* Called every nProgressSteps VM steps: charge them; non-zero interrupts. */
static int budgetProgress(void *pArg){
  return budgetCharge((Budget*)pArg, nProgressSteps);
}

/* Have the progress handler of p's connection called every nSteps steps. */
static void budgetCountSteps(Budget *p, int nSteps){
  nProgressSteps = nSteps;
  sqlite3_progress_handler(p->db, nSteps, budgetProgress, p);
}

int budgetBeginStatementRead(sqlite3_int64 nUnits){
  Budget *p = pCharged;
  if( p==0 || p->db==0 ) return 0;
  if( nStatementReads++==0 ) budgetCountSteps(p, DOSQL_READ_PROGRESS_INTERVAL);
  return budgetCharge(p, nUnits) && p->nExempt==0;
}

void budgetEndStatementRead(void){
  Budget *p = pCharged;
  if( p==0 || p->db==0 ) return;
  if( --nStatementReads==0 ) budgetCountSteps(p, DOSQL_PROGRESS_INTERVAL);
}

static void *budgetMalloc(int n){
  if( budgetChargeAllocation(n) ) return 0;
  return memBase.xMalloc(n);
}

static void *budgetRealloc(void *pOld, int n){
  if( budgetChargeAllocation(n) ) return 0;
  return memBase.xRealloc(pOld, n);
}

int budgetInstallAllocator(void){
  sqlite3_mem_methods charging;
  int rc = sqlite3_config(SQLITE_CONFIG_GETMALLOC, &memBase);
  if( rc!=SQLITE_OK ) return rc;
  charging = memBase;
  charging.xMalloc = budgetMalloc;
  charging.xRealloc = budgetRealloc;
  return sqlite3_config(SQLITE_CONFIG_MALLOC, &charging);
}

/* The connection budgetOf() answered last, and its budget: a metered function
** asks once a call, so once a row of a scan, and SQLite's client data is a
** list searched by name (a third of what metering cost a call). */
static sqlite3 *pLastDb;
static Budget *pLastBudget;

/* SQLite drops db's budget (db closes, or another replaces it): forget it. */
static void budgetDetached(void *p){
  ((Budget*)p)->db = 0;
  if( p==pCharged ) pCharged = 0;
  if( p==pLastBudget ){
    pLastDb = 0;
    pLastBudget = 0;
  }
}

int budgetAttach(sqlite3 *db, Budget *p){
  int rc = dosqlMeterModules(db);
  if( rc==SQLITE_OK ) rc = dosqlMeterFunctions(db);
  if( rc==SQLITE_OK ) rc = dosqlMeterCollations(db, p);
  if( rc==SQLITE_OK ) rc = sqlite3_set_clientdata(db, BUDGET_CLIENT_DATA, p, budgetDetached);
  if( rc==SQLITE_OK ){
    p->db = db;
    pCharged = p;
    budgetCountSteps(p, DOSQL_PROGRESS_INTERVAL);
  }
  /* A closed connection's address may come back as a new one's. */
  if( db==pLastDb ) pLastDb = 0;
  return rc;
}

Budget *budgetOf(sqlite3 *db){
  if( db!=pLastDb ){
    pLastBudget = (Budget*)sqlite3_get_clientdata(db, BUDGET_CLIENT_DATA);
    pLastDb = db;
  }
  return pLastBudget;
}

sqlite3_int64 budgetUnitsForMs(sqlite3_int64 ms){
  return ms * DOSQL_CPU_UNITS_PER_MS;
}
