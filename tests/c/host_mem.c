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

typedef struct MemPage {
  uint8_t *aData;       /* 0 if absent */
  uint32_t nData;
  int bFetched;         /* async mode: readable synchronously */
} MemPage;

static MemPage *aPage;         /* indexed by pgno; [0] unused */
static uint32_t nPageAlloc;
static uint32_t nPageStored;
static int bAsync;
static int nFailCommit;
static int nCommit;
static int nPagesWritten;
static double clockShiftMs;

void hostMemReset(void){
  uint32_t i;
  for(i=0; i<nPageAlloc; i++) free(aPage[i].aData);
  free(aPage);
  aPage = 0;
  nPageAlloc = nPageStored = 0;
  bAsync = nFailCommit = nCommit = nPagesWritten = 0;
  clockShiftMs = 0;
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
    uint32_t pgno = aRef[i].pgno;
    MemPage *pPage = &aPage[pgno];
    if( pgno==0 || pgno>nNew ) return DOSQL_COMMIT_ERROR;
    free(pPage->aData);
    pPage->aData = malloc(szPage);
    memcpy(pPage->aData, aRef[i].aData, szPage);
    pPage->nData = szPage;
    pPage->bFetched = 1;
    nPagesWritten++;
  }
  for(i=nNew+1; i<nPageAlloc; i++){
    free(aPage[i].aData);
    aPage[i].aData = 0;
  }
  nPageStored = nNew;
  nCommit++;
  return DOSQL_COMMIT_OK;
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
}
