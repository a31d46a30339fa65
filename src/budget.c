/*
** budget.c — the CPU budget of one request (contract in budget.h).
*/
#include "budget.h"
#include "config.h"

/* The client-data key under which a connection keeps its Budget. */
#define BUDGET_CLIENT_DATA "dosql.budget"

void budgetStart(Budget *p, sqlite3_int64 nUnits){
  p->nLeft = nUnits;
  p->bSpent = 0;
}

/* The connection budgetOf() answered last, and its budget: a metered function
** asks once a call, so once a row of a scan, and SQLite's client data is a
** list searched by name (a third of what metering cost a call). */
static sqlite3 *pLastDb;
static Budget *pLastBudget;

/* SQLite drops db's budget (db closes, or another replaces it): forget it. */
static void budgetDetached(void *p){
  if( p==pLastBudget ){
    pLastDb = 0;
    pLastBudget = 0;
  }
}

int budgetAttach(sqlite3 *db, Budget *p){
  int rc = sqlite3_set_clientdata(db, BUDGET_CLIENT_DATA, p, budgetDetached);
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
