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

int budgetCharge(Budget *p, sqlite3_int64 n){
  if( p->bSpent ) return 1;
  p->nLeft -= n;
  if( p->nLeft<0 ) p->bSpent = 1;
  return p->bSpent;
}

int budgetAttach(sqlite3 *db, Budget *p){
  return sqlite3_set_clientdata(db, BUDGET_CLIENT_DATA, p, 0);
}

Budget *budgetOf(sqlite3 *db){
  return (Budget*)sqlite3_get_clientdata(db, BUDGET_CLIENT_DATA);
}

sqlite3_int64 budgetUnitsForMs(sqlite3_int64 ms){
  return ms * DOSQL_CPU_UNITS_PER_MS;
}
