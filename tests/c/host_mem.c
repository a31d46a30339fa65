/*
** host_mem.c — the in-memory native host (see host_mem.h). Every function of
** src/host.h is implemented here for the native build.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "host.h"
#include "host_mem.h"

typedef struct MemVersion MemVersion;

typedef struct MemPage {
  uint8_t *aData;       /* 0 if absent */
  uint32_t nData;
  int bFetched;         /* async mode: readable synchronously */
  MemVersion *pOld;     /* earlier versions, newest first */
} MemPage;

/* A version a commit replaced: what the page was (0: none) until lsn. */
struct MemVersion {
  uint8_t *aData;
  uint32_t nData;
  double lsnUntil;
  MemVersion *pNext;
};

static MemPage *aPage;         /* indexed by pgno; [0] unused */
static uint32_t nPageAlloc;
static uint32_t nPageStored;
static int bAsync;
static int nFailCommit;
static int nCommit;
static int nPagesWritten;
static double clockShiftMs;
static int iLogWorst = HOST_MEM_LOG_NONE;   /* DOSQL_LOG_ERROR is the most severe, 0 */
static double lsnNow;          /* commits since the reset: history keeps them all */
static double aChangeNumbers[2] = { 0, -1 };   /* dosql_host_change_numbers() */
static double *aCommitMs;      /* [lsn-1]: when commit lsn was made */

/* Forget pPage's earlier versions. */
static void memFreeVersions(MemPage *pPage){
  while( pPage->pOld ){
    MemVersion *p = pPage->pOld;
    pPage->pOld = p->pNext;
    free(p->aData);
    free(p);
  }
}

/* Keep pPage's current bytes as the version commit lsn replaces. */
static void memKeepVersion(MemPage *pPage, double lsn){
  MemVersion *p = malloc(sizeof(*p));
  p->aData = pPage->aData;
  p->nData = pPage->nData;
  p->lsnUntil = lsn;
  p->pNext = pPage->pOld;
  pPage->pOld = p;
  pPage->aData = 0;
}

void hostMemReset(void){
  uint32_t i;
  for(i=0; i<nPageAlloc; i++){
    free(aPage[i].aData);
    memFreeVersions(&aPage[i]);
  }
  free(aCommitMs);
  aCommitMs = 0;
  lsnNow = 0;
  free(aPage);
  aPage = 0;
  nPageAlloc = nPageStored = 0;
  bAsync = nFailCommit = nCommit = nPagesWritten = 0;
  clockShiftMs = 0;
  aChangeNumbers[0] = 0;
  aChangeNumbers[1] = -1;
}

void hostMemSetAsync(int b){
  uint32_t i;
  bAsync = b;
  for(i=0; i<nPageAlloc; i++) aPage[i].bFetched = 0;   /* a cold object */
}

void hostMemFetch(uint32_t pgno){
  if( pgno<nPageAlloc ) aPage[pgno].bFetched = 1;
}

void hostMemFailCommit(int n){ nFailCommit = n; }
uint32_t hostMemPageCount(void){ return nPageStored; }
int hostMemCommits(void){ return nCommit; }
int hostMemPagesWritten(void){ return nPagesWritten; }

const uint8_t *hostMemPage(uint32_t pgno){
  return pgno<nPageAlloc ? aPage[pgno].aData : 0;
}

int dosql_host_page_read(uint32_t pgno, uint8_t *buf, uint32_t n){
  MemPage *p;
  if( pgno>=nPageAlloc || aPage[pgno].aData==0 ) return DOSQL_PAGE_MISSING;
  p = &aPage[pgno];
  if( bAsync && !p->bFetched ) return DOSQL_PAGE_FAULT;
  memcpy(buf, p->aData, n<p->nData ? n : p->nData);
  if( n>p->nData ) memset(buf+p->nData, 0, n-p->nData);
  return DOSQL_PAGE_OK;
}

void hostMemPutPage(uint32_t pgno, const uint8_t *aData, uint32_t n){
  MemPage *pPage;
  if( pgno==0 ) return;
  if( pgno+1>nPageAlloc ){
    aPage = realloc(aPage, sizeof(MemPage)*(pgno+1));
    memset(&aPage[nPageAlloc], 0, sizeof(MemPage)*(pgno+1-nPageAlloc));
    nPageAlloc = pgno+1;
  }
  pPage = &aPage[pgno];
  free(pPage->aData);
  memFreeVersions(pPage);   /* a file of its own: no history before it */
  pPage->aData = malloc(n ? n : 1);
  memcpy(pPage->aData, aData, n);
  pPage->nData = n;
  pPage->bFetched = 1;
  if( pgno>nPageStored ) nPageStored = pgno;
}

static uint32_t get32le(const uint8_t *a){
  return a[0] | ((uint32_t)a[1]<<8) | ((uint32_t)a[2]<<16) | ((uint32_t)a[3]<<24);
}

int dosql_host_commit(const uint8_t *batch, uint32_t n){
  uint32_t szPage = get32le(batch), nNew = get32le(batch+8), nDirty = get32le(batch+12);
  uint32_t i;
  const DosqlPageRef *aRef = (const DosqlPageRef*)(batch + DOSQL_BATCH_HEADER);
  if( nFailCommit>0 && --nFailCommit==0 ) return DOSQL_COMMIT_ERROR;
  if( n!=DOSQL_BATCH_HEADER + nDirty*sizeof(DosqlPageRef) ) return DOSQL_COMMIT_ERROR;
  if( nNew+1>nPageAlloc ){
    aPage = realloc(aPage, sizeof(MemPage)*(nNew+1));
    memset(&aPage[nPageAlloc], 0, sizeof(MemPage)*(nNew+1-nPageAlloc));
    nPageAlloc = nNew+1;
  }
  for(i=0; i<nDirty; i++){
    if( aRef[i].pgno==0 || aRef[i].pgno>nNew ) return DOSQL_COMMIT_ERROR;
  }
  lsnNow++;
  aCommitMs = realloc(aCommitMs, sizeof(double)*(size_t)lsnNow);
  aCommitMs[(size_t)lsnNow-1] = dosql_host_now_ms();
  for(i=0; i<nDirty; i++){
    uint32_t pgno = aRef[i].pgno;
    MemPage *pPage = &aPage[pgno];
    memKeepVersion(pPage, lsnNow);
    pPage->aData = malloc(szPage);
    memcpy(pPage->aData, aRef[i].aData, szPage);
    pPage->nData = szPage;
    pPage->bFetched = 1;
    nPagesWritten++;
  }
  for(i=nNew+1; i<nPageAlloc; i++){
    if( aPage[i].aData ) memKeepVersion(&aPage[i], lsnNow);
  }
  nPageStored = nNew;
  nCommit++;
  return DOSQL_COMMIT_OK;
}

double dosql_host_history_point(int kind, double value){
  double lsn = value;
  if( kind==DOSQL_POINT_TIME ){
    for(lsn=lsnNow; lsn>0 && aCommitMs[(size_t)lsn-1]>value; lsn--){}
  }
  return lsn>lsnNow ? DOSQL_HISTORY_AFTER : lsn;
}

int dosql_host_page_read_at(double lsn, uint32_t pgno, uint8_t *buf, uint32_t n){
  const uint8_t *aData;
  uint32_t nData;
  MemVersion *pVersion;
  if( pgno>=nPageAlloc ) return DOSQL_PAGE_MISSING;
  aData = aPage[pgno].aData;
  nData = aPage[pgno].nData;
  /* The oldest version replaced after lsn is the one lsn saw. */
  for(pVersion=aPage[pgno].pOld; pVersion && pVersion->lsnUntil>lsn; pVersion=pVersion->pNext){
    aData = pVersion->aData;
    nData = pVersion->nData;
  }
  if( aData==0 ) return DOSQL_PAGE_MISSING;
  memcpy(buf, aData, n<nData ? n : nData);
  if( n>nData ) memset(buf+nData, 0, n-nData);
  return DOSQL_PAGE_OK;
}

int dosql_host_history_info(double *a, uint32_t n){
  if( n<DOSQL_HISTORY_N ) return DOSQL_HISTORY_NONE;
  a[DOSQL_HISTORY_LSN] = lsnNow;
  a[DOSQL_HISTORY_OLDEST_LSN] = 0;
  a[DOSQL_HISTORY_OLDEST_TIME] = lsnNow>0 ? aCommitMs[0] : -1;
  a[DOSQL_HISTORY_WINDOW_MS] = 0;
  a[DOSQL_HISTORY_BYTES] = 0;
  a[DOSQL_HISTORY_LOG_ROWS] = 0;
  return 0;
}

int dosql_host_change_numbers(double *a, uint32_t n){
  if( n<DOSQL_CHANGES_N ) return -1;
  a[DOSQL_CHANGES_FLOOR] = aChangeNumbers[0];
  a[DOSQL_CHANGES_KEPT] = aChangeNumbers[1];
  return 0;
}

void hostMemSetChangeNumbers(double floor, double kept){
  aChangeNumbers[0] = floor;
  aChangeNumbers[1] = kept;
}

double dosql_host_now_ms(void){
  struct timeval tv;
  gettimeofday(&tv, 0);
  return (double)tv.tv_sec*1000.0 + tv.tv_usec/1000 + clockShiftMs;
}

void hostMemShiftClock(double ms){
  clockShiftMs += ms;
}

void dosql_host_random(uint8_t *buf, uint32_t n){
  uint32_t i;
  for(i=0; i<n; i++) buf[i] = (uint8_t)rand();
}

void dosql_host_log(int level, const char *z, uint32_t n){
  if( getenv("DOSQL_TEST_LOG") ) fprintf(stderr, "[host %d] %.*s\n", level, (int)n, z);
  if( level<iLogWorst ) iLogWorst = level;
}

int hostMemLogWorst(void){
  int worst = iLogWorst;
  iLogWorst = HOST_MEM_LOG_NONE;
  return worst;
}
