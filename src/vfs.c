/*
** vfs.c — the "dosql" VFS, the whole of it.
**
** The database is a set of fixed-size pages that the host stores under their
** page numbers (src/host.h). This file maps SQLite's byte-addressed file calls
** onto those pages:
**
**   xRead      the overlay first, then the host; a page the host cannot give
**              synchronously is a "fault": the read fails with SQLITE_IOERR_READ
**              and the page number is remembered for dosqlVfsTakeFaults().
**   xWrite     into the overlay, a hash table of dirty pages in wasm memory.
**   xTruncate  shrinks the logical size; the host drops the pages at the next
**              commit, or right after this one (SQLITE_FCNTL_COMMIT_PHASETWO).
**   xSync      the commit point: the whole overlay goes to the host in ONE call
**              (dosql_host_commit), which writes it atomically.
**
** A view (dosqlVfsViewName) is the database as of a past commit: read-only, its
** pages from dosql_host_page_read_at, its size from its own page 1.
**
** With journal_mode=MEMORY, SQLite syncs the database file exactly once per
** transaction, after it has written every page of that transaction, so storage
** only ever moves from one committed state to the next. A rollback puts the
** original pages back through xWrite (and, after a failed commit, syncs them:
** they are dropped, as storage holds them already); DOSQL_FCNTL_DISCARD drops
** whatever is left.
**
** The page count is never stored on its own: page 1's header holds the page size
** (bytes 16-17) and the database size in pages (bytes 28-31). With exclusive
** locking SQLite rewrites page 1 only when the size changes, so a commit that
** changes one row and its index entry writes two pages.
**
** Order of this file: types, the overlay, page I/O, file methods, VFS methods,
** registration.
*/
#include <string.h>
#include <stdlib.h>

#include "sqlite3.h"
#include "budget.h"
#include "bytes.h"
#include "fileformat.h"
#include "host.h"
#include "vfs.h"

/* Name under which the VFS registers. */
#define DOSQL_VFS_NAME "dosql"

/* Names of views: this prefix, then the lsn in decimal. */
#define DOSQL_VIEW_PREFIX "dosql-asof-"

/* Smallest overlay hash table (slots; a power of two). */
#define DOSQL_OVERLAY_MIN_SLOTS 64

/************************************************************** types ****/

/* One dirty page: its number and page-size bytes of data that follow. */
typedef struct DirtyPage {
  uint32_t pgno;
  uint8_t aData[];
} DirtyPage;

/* The open database file. */
typedef struct DosqlFile {
  sqlite3_file base;       /* must be first */
  int bMetaKnown;          /* szPage and nPageStored are loaded */
  uint32_t szPage;         /* page size; 0 while the database is empty */
  uint32_t nPageStored;    /* pages in storage as of the last commit */
  uint32_t nPage;          /* logical size in pages, overlay included */
  uint32_t nSlot;          /* overlay hash slots, 0 or a power of two */
  uint32_t nDirty;         /* overlay pages in use */
  DirtyPage **aSlot;       /* overlay: open addressing on pgno */
  int bCommitFailed;       /* the host refused a commit: storage still holds the
                           ** state SQLite's rollback is restoring */
  uint8_t *aScratch;       /* one page, for reads of part of a page */
  int bView;               /* a view: read-only, as of lsnView */
  double lsnView;
} DosqlFile;

/* Whether a main database is open: this VFS holds exactly one. */
static int vfsMainOpen = 0;

/* Pages that faulted since the last take. Kept outside the file because a fault
** while SQLite opens the database closes the file again. */
static DosqlFaults vfsFaults;

/************************************************************ helpers ****/

/* Whether a read faulted since the last take. SQLite may turn a failed read into
** result text and carry on (integrity_check does), so after a fault no sync may
** commit until the request is rolled back. Reads go on, so that one attempt
** reports as many missing pages as it can (up to DOSQL_MAX_FAULTS). */
static int vfsFaulted(void){
  return vfsFaults.nPage>0;
}

/* Remember that pgno faulted, once. */
static void vfsNoteFault(uint32_t pgno){
  int i;
  for(i=0; i<vfsFaults.nPage; i++){
    if( vfsFaults.aPage[i]==pgno ) return;
  }
  if( vfsFaults.nPage<DOSQL_MAX_FAULTS ) vfsFaults.aPage[vfsFaults.nPage++] = pgno;
}

/************************************************************ overlay ****/

/* The slot that holds pgno, or the empty slot where it belongs. nSlot>0. */
static uint32_t overlaySlot(const DosqlFile *p, uint32_t pgno){
  uint32_t mask = p->nSlot - 1;
  uint32_t i = (pgno * 2654435761u) & mask;
  while( p->aSlot[i] && p->aSlot[i]->pgno!=pgno ) i = (i+1) & mask;
  return i;
}

/* The dirty copy of pgno, or NULL. */
static DirtyPage *overlayFind(const DosqlFile *p, uint32_t pgno){
  if( p->nSlot==0 ) return 0;
  return p->aSlot[overlaySlot(p, pgno)];
}

/* Double the table (or create it). SQLITE_OK or SQLITE_NOMEM. */
static int overlayGrow(DosqlFile *p){
  uint32_t nOld = p->nSlot;
  DirtyPage **aOld = p->aSlot;
  uint32_t nNew = nOld ? nOld*2 : DOSQL_OVERLAY_MIN_SLOTS;
  uint32_t i;
  DirtyPage **aNew = sqlite3_malloc64(sizeof(DirtyPage*) * (sqlite3_uint64)nNew);
  if( aNew==0 ) return SQLITE_NOMEM;
  memset(aNew, 0, sizeof(DirtyPage*) * nNew);
  p->aSlot = aNew;
  p->nSlot = nNew;
  for(i=0; i<nOld; i++){
    if( aOld[i] ) p->aSlot[overlaySlot(p, aOld[i]->pgno)] = aOld[i];
  }
  sqlite3_free(aOld);
  return SQLITE_OK;
}

/* Store a copy of one page. SQLITE_OK or SQLITE_NOMEM. */
static int overlayPut(DosqlFile *p, uint32_t pgno, const void *aData){
  DirtyPage *pPage = overlayFind(p, pgno);
  if( pPage==0 ){
    uint32_t i;
    if( (p->nDirty+1)*4 > p->nSlot*3 && overlayGrow(p)!=SQLITE_OK ) return SQLITE_NOMEM;
    pPage = sqlite3_malloc64(sizeof(DirtyPage) + p->szPage);
    if( pPage==0 ) return SQLITE_NOMEM;
    pPage->pgno = pgno;
    i = overlaySlot(p, pgno);
    p->aSlot[i] = pPage;
    p->nDirty++;
  }
  memcpy(pPage->aData, aData, p->szPage);
  return SQLITE_OK;
}

/* Remove every page above nKeep. Deleting from open addressing would break
** probe chains, so survivors move to a fresh table. SQLITE_OK or SQLITE_NOMEM
** (then nothing changed). */
static int overlayDropAbove(DosqlFile *p, uint32_t nKeep){
  uint32_t i, nSurvive = 0, nNew = DOSQL_OVERLAY_MIN_SLOTS;
  DirtyPage **aOld = p->aSlot, **aNew;
  uint32_t nOld = p->nSlot;
  for(i=0; i<nOld; i++){
    if( aOld[i] && aOld[i]->pgno<=nKeep ) nSurvive++;
  }
  if( nSurvive==p->nDirty ) return SQLITE_OK;
  while( nSurvive*4 > nNew*3 ) nNew *= 2;
  aNew = sqlite3_malloc64(sizeof(DirtyPage*) * (sqlite3_uint64)nNew);
  if( aNew==0 ) return SQLITE_NOMEM;
  memset(aNew, 0, sizeof(DirtyPage*) * nNew);
  p->aSlot = aNew;
  p->nSlot = nNew;
  p->nDirty = nSurvive;
  for(i=0; i<nOld; i++){
    if( aOld[i]==0 ) continue;
    if( aOld[i]->pgno<=nKeep ){
      p->aSlot[overlaySlot(p, aOld[i]->pgno)] = aOld[i];
    }else{
      sqlite3_free(aOld[i]);
    }
  }
  sqlite3_free(aOld);
  return SQLITE_OK;
}

/* Free every dirty page and the table. */
static void overlayClear(DosqlFile *p){
  uint32_t i;
  for(i=0; i<p->nSlot; i++) sqlite3_free(p->aSlot[i]);
  sqlite3_free(p->aSlot);
  p->aSlot = 0;
  p->nSlot = 0;
  p->nDirty = 0;
}

static int overlayCompare(const void *a, const void *b){
  uint32_t x = (*(DirtyPage*const*)a)->pgno, y = (*(DirtyPage*const*)b)->pgno;
  return x<y ? -1 : x>y;
}

/*********************************************************** page I/O ****/

/* The first n bytes of page pgno from the host: as stored, or as of the view's lsn.
** Charged to the request's budget: a read past SQLite's cache costs far more than
** the VM step that asks for it (an integrity check or index lookups over a database
** larger than the cache ran for 30 s), and one for which the host read storage
** more again (random lookups fetch a row of pages each: 250,000 ran 16.6 s). */
static int vfsHostRead(const DosqlFile *p, uint32_t pgno, uint8_t *buf, uint32_t n){
  int rc = p->bView ? dosql_host_page_read_at(p->lsnView, pgno, buf, n)
                    : dosql_host_page_read(pgno, buf, n);
  budgetChargePageRead(rc==DOSQL_PAGE_FETCHED);
  return rc==DOSQL_PAGE_FETCHED ? DOSQL_PAGE_OK : rc;
}

/*
** Load the page size and stored page count from page 1's header, once.
** SQLITE_OK (an absent page 1 is an empty database), or SQLITE_IOERR_READ when
** the host faulted or failed.
*/
static int vfsLoadMeta(DosqlFile *p){
  uint8_t aHdr[FILE_HEADER_BYTES];
  int rc;
  if( p->bMetaKnown ) return SQLITE_OK;
  rc = vfsHostRead(p, 1, aHdr, sizeof(aHdr));
  if( rc==DOSQL_PAGE_FAULT ){ vfsNoteFault(1); return SQLITE_IOERR_READ; }
  if( rc==DOSQL_PAGE_ERROR ) return SQLITE_IOERR_READ;
  if( rc==DOSQL_PAGE_MISSING ){
    p->szPage = 0;
    p->nPageStored = 0;
  }else{
    /* Storage holds what our commits wrote, or an import whose header
    ** fileCheckHeader rewrote: its page count is always valid. One that is not
    ** would be believed by SQLite here (it asks xFileSize), however large. */
    p->szPage = fileHeaderPageSize(aHdr);
    p->nPageStored = fileHeaderPageCount(aHdr);
    if( p->szPage==0 || !fileHeaderPageCountValid(aHdr) ) return SQLITE_CORRUPT;
  }
  p->nPage = p->nPageStored;
  p->bMetaKnown = 1;
  return SQLITE_OK;
}

/*
** Copy bytes [iOff, iOff+n) of page pgno into aOut. SQLITE_OK,
** SQLITE_IOERR_SHORT_READ after zero-filling a page that storage lacks, or
** SQLITE_IOERR_READ (a fault is remembered).
*/
static int vfsReadPage(DosqlFile *p, uint32_t pgno, uint32_t iOff, uint8_t *aOut, uint32_t n){
  DirtyPage *pDirty;
  uint8_t *aPage;
  int rc;
  if( pgno>p->nPage ){
    memset(aOut, 0, n);
    return SQLITE_IOERR_SHORT_READ;
  }
  pDirty = overlayFind(p, pgno);
  if( pDirty ){
    memcpy(aOut, &pDirty->aData[iOff], n);
    return SQLITE_OK;
  }
  /* Whole pages go straight to the caller; parts go through the scratch page. */
  aPage = (iOff==0 && n==p->szPage) ? aOut : p->aScratch;
  rc = vfsHostRead(p, pgno, aPage, p->szPage);
  switch( rc ){
    case DOSQL_PAGE_OK:
      if( aPage!=aOut ) memcpy(aOut, &aPage[iOff], n);
      return SQLITE_OK;
    case DOSQL_PAGE_MISSING:
      memset(aOut, 0, n);
      return SQLITE_IOERR_SHORT_READ;
    case DOSQL_PAGE_FAULT:
      vfsNoteFault(pgno);
      return SQLITE_IOERR_READ;
    default:
      return SQLITE_IOERR_READ;
  }
}

/*
** Hand the overlay and the new size to the host in one batch. On success the
** overlay is empty and the new size is the stored one; on failure nothing changed
** in storage and the overlay is kept for SQLite's rollback.
*/
static int vfsCommit(DosqlFile *p){
  uint8_t *aBatch;
  DosqlPageRef *aRef;
  DirtyPage **aSorted;
  uint32_t i, n = 0;
  int rc;

  if( p->nDirty==0 && p->nPage==p->nPageStored ) return SQLITE_OK;
  aSorted = sqlite3_malloc64(sizeof(DirtyPage*) * (sqlite3_uint64)(p->nDirty+1));
  aBatch = sqlite3_malloc64(DOSQL_BATCH_HEADER + sizeof(DosqlPageRef) * (sqlite3_uint64)(p->nDirty+1));
  if( aSorted==0 || aBatch==0 ){
    sqlite3_free(aSorted);
    sqlite3_free(aBatch);
    return SQLITE_IOERR_NOMEM;
  }
  for(i=0; i<p->nSlot; i++){
    if( p->aSlot[i] && p->aSlot[i]->pgno<=p->nPage ) aSorted[n++] = p->aSlot[i];
  }
  qsort(aSorted, n, sizeof(DirtyPage*), overlayCompare);

  dosqlPut32le(&aBatch[0], p->szPage);
  dosqlPut32le(&aBatch[4], p->nPageStored);
  dosqlPut32le(&aBatch[8], p->nPage);
  dosqlPut32le(&aBatch[12], n);
  aRef = (DosqlPageRef*)&aBatch[DOSQL_BATCH_HEADER];
  for(i=0; i<n; i++){
    aRef[i].pgno = aSorted[i]->pgno;
    aRef[i].aData = aSorted[i]->aData;
  }
  rc = dosql_host_commit(aBatch, (uint32_t)(DOSQL_BATCH_HEADER + n*sizeof(DosqlPageRef)));
  sqlite3_free(aSorted);
  sqlite3_free(aBatch);
  if( rc!=DOSQL_COMMIT_OK ){
    p->bCommitFailed = 1;
    return SQLITE_IOERR_FSYNC;
  }
  overlayClear(p);
  p->nPageStored = p->nPage;
  return SQLITE_OK;
}

/******************************************************* file methods ****/

static int dosqlClose(sqlite3_file *pFile){
  DosqlFile *p = (DosqlFile*)pFile;
  overlayClear(p);
  sqlite3_free(p->aScratch);
  p->aScratch = 0;
  if( !p->bView ) vfsMainOpen = 0;
  return SQLITE_OK;
}

/* Bytes [iOfst, iOfst+iAmt), page by page. */
static int dosqlRead(sqlite3_file *pFile, void *zBuf, int iAmt, sqlite3_int64 iOfst){
  DosqlFile *p = (DosqlFile*)pFile;
  uint8_t *aOut = zBuf;
  int rc, bShort = 0;
  rc = vfsLoadMeta(p);
  if( rc!=SQLITE_OK ) return rc;
  if( p->szPage==0 ){
    memset(zBuf, 0, iAmt);
    return SQLITE_IOERR_SHORT_READ;
  }
  if( p->aScratch==0 ){
    p->aScratch = sqlite3_malloc64(p->szPage);
    if( p->aScratch==0 ) return SQLITE_IOERR_NOMEM;
  }
  while( iAmt>0 ){
    uint32_t pgno = (uint32_t)(iOfst / p->szPage) + 1;
    uint32_t iOff = (uint32_t)(iOfst % p->szPage);
    uint32_t n = p->szPage - iOff;
    if( n>(uint32_t)iAmt ) n = (uint32_t)iAmt;
    rc = vfsReadPage(p, pgno, iOff, aOut, n);
    if( rc==SQLITE_IOERR_SHORT_READ ) bShort = 1;
    else if( rc!=SQLITE_OK ) return rc;
    aOut += n; iOfst += n; iAmt -= (int)n;
  }
  return bShort ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

/* Whole, aligned pages only: that is all SQLite writes to a main database. The
** first write to an empty database sets the page size; it need not be page 1
** (a transaction larger than the cache spills whichever page it likes). */
static int dosqlWrite(sqlite3_file *pFile, const void *zBuf, int iAmt, sqlite3_int64 iOfst){
  DosqlFile *p = (DosqlFile*)pFile;
  uint32_t pgno;
  int rc;
  if( p->bView ) return SQLITE_READONLY;
  rc = vfsLoadMeta(p);
  if( rc!=SQLITE_OK ) return rc;
  if( p->szPage==0 || (p->nPage==0 && p->nDirty==0) ){
    if( !dosqlValidPageSize(iAmt) || iOfst % iAmt ) return SQLITE_IOERR_WRITE;
    if( p->szPage!=(uint32_t)iAmt ){
      sqlite3_free(p->aScratch);
      p->aScratch = 0;
      p->szPage = (uint32_t)iAmt;
    }
  }
  if( (uint32_t)iAmt!=p->szPage || iOfst % p->szPage ) return SQLITE_IOERR_WRITE;
  pgno = (uint32_t)(iOfst / p->szPage) + 1;
  if( overlayPut(p, pgno, zBuf)!=SQLITE_OK ) return SQLITE_IOERR_NOMEM;
  if( pgno>p->nPage ) p->nPage = pgno;
  return SQLITE_OK;
}

static int dosqlTruncate(sqlite3_file *pFile, sqlite3_int64 size){
  DosqlFile *p = (DosqlFile*)pFile;
  int rc;
  if( p->bView ) return SQLITE_READONLY;
  rc = vfsLoadMeta(p);
  if( rc!=SQLITE_OK ) return rc;
  if( p->szPage==0 ){
    return size==0 ? SQLITE_OK : SQLITE_IOERR_TRUNCATE;
  }
  if( size % p->szPage ) return SQLITE_IOERR_TRUNCATE;
  if( (sqlite3_uint64)(size / p->szPage) < p->nPage ){
    if( overlayDropAbove(p, (uint32_t)(size / p->szPage))!=SQLITE_OK ){
      return SQLITE_IOERR_NOMEM;
    }
    p->nPage = (uint32_t)(size / p->szPage);
  }
  return SQLITE_OK;
}

static int dosqlSync(sqlite3_file *pFile, int flags){
  DosqlFile *p = (DosqlFile*)pFile;
  (void)flags;
  if( p->bView ) return SQLITE_OK;
  if( vfsFaulted() ) return SQLITE_IOERR_FSYNC;
  if( p->bCommitFailed ){
    /* SQLite syncs after rolling a failed commit back. What it wrote back is
    ** what storage already holds: drop it rather than write it all again. */
    overlayClear(p);
    p->nPage = p->nPageStored;
    return SQLITE_OK;
  }
  return vfsCommit(p);
}

static int dosqlFileSize(sqlite3_file *pFile, sqlite3_int64 *pSize){
  DosqlFile *p = (DosqlFile*)pFile;
  int rc = vfsLoadMeta(p);
  if( rc!=SQLITE_OK ) return rc==SQLITE_IOERR_READ ? SQLITE_IOERR_FSTAT : rc;
  *pSize = (sqlite3_int64)p->nPage * p->szPage;
  return SQLITE_OK;
}

/* One connection owns the only file: locks have nothing to exclude. */
static int dosqlLock(sqlite3_file *pFile, int eLock){
  (void)pFile; (void)eLock;
  return SQLITE_OK;
}
static int dosqlCheckReservedLock(sqlite3_file *pFile, int *pResOut){
  (void)pFile;
  *pResOut = 0;
  return SQLITE_OK;
}

static int dosqlFileControl(sqlite3_file *pFile, int op, void *pArg){
  DosqlFile *p = (DosqlFile*)pFile;
  switch( op ){
    case SQLITE_FCNTL_COMMIT_PHASETWO:
      /* In rollback-journal mode SQLite shrinks the file after the commit
      ** point (xSync). Store the new size now; if that fails, the transaction
      ** is still committed and the next commit drops the pages. Nothing rolls
      ** back, so the failure must not read as a commit SQLite is undoing
      ** (bCommitFailed): the next transactions' syncs would drop their pages. */
      if( !vfsFaulted() && !p->bView ){
        int bCommitFailed = p->bCommitFailed;
        vfsCommit(p);
        p->bCommitFailed = bCommitFailed;
      }
      return SQLITE_OK;
    case DOSQL_FCNTL_DISCARD:
      overlayClear(p);
      p->bMetaKnown = 0;
      p->bCommitFailed = 0;
      return SQLITE_OK;
    case DOSQL_FCNTL_SIZE: {
      uint32_t *aSize = (uint32_t*)pArg;
      int rc = vfsLoadMeta(p);
      aSize[0] = rc==SQLITE_OK ? p->szPage : 0;
      aSize[1] = rc==SQLITE_OK ? p->nPageStored : 0;
      return rc;
    }
  }
  return SQLITE_NOTFOUND;
}

static int dosqlSectorSize(sqlite3_file *pFile){
  (void)pFile;
  return 512;
}

static int dosqlDeviceCharacteristics(sqlite3_file *pFile){
  (void)pFile;
  return SQLITE_IOCAP_SAFE_APPEND | SQLITE_IOCAP_SEQUENTIAL
       | SQLITE_IOCAP_POWERSAFE_OVERWRITE | SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN;
}

static const sqlite3_io_methods dosqlIoMethods = {
  1,                            /* iVersion */
  dosqlClose,
  dosqlRead,
  dosqlWrite,
  dosqlTruncate,
  dosqlSync,
  dosqlFileSize,
  dosqlLock,
  dosqlLock,                    /* xUnlock */
  dosqlCheckReservedLock,
  dosqlFileControl,
  dosqlSectorSize,
  dosqlDeviceCharacteristics,
  0, 0, 0, 0,                   /* xShmMap, xShmLock, xShmBarrier, xShmUnmap */
  0, 0                          /* xFetch, xUnfetch */
};

/******************************************************** VFS methods ****/

/* The lsn a view's name gives, or -1 when zName names no view. */
static double vfsViewLsn(const char *zName){
  size_t nPrefix = sizeof(DOSQL_VIEW_PREFIX)-1;
  double lsn = 0;
  const char *z;
  if( zName==0 || strncmp(zName, DOSQL_VIEW_PREFIX, nPrefix)!=0 ) return -1;
  z = zName + nPrefix;
  if( *z==0 ) return -1;
  for(; *z; z++){
    if( *z<'0' || *z>'9' || lsn>=9007199254740992.0/10 ) return -1;
    lsn = lsn*10 + (*z-'0');
  }
  return lsn;
}

char *dosqlVfsViewName(double lsn){
  return sqlite3_mprintf("%s%lld", DOSQL_VIEW_PREFIX, (sqlite3_int64)lsn);
}

/* The one main database, and views of it; anything else (a second database, a
** journal, a temp file) cannot be opened, because it has nowhere to live. */
static int dosqlOpen(sqlite3_vfs *pVfs, sqlite3_filename zName, sqlite3_file *pFile,
                     int flags, int *pOutFlags){
  DosqlFile *p = (DosqlFile*)pFile;
  double lsn = vfsViewLsn(zName);
  (void)pVfs;
  memset(p, 0, sizeof(*p));
  if( (flags & SQLITE_OPEN_MAIN_DB)==0 ) return SQLITE_CANTOPEN;
  if( lsn>=0 ){
    /* Read-only however it was asked for (ATTACH asks as the main database
    ** was opened): SQLite's pager then refuses every write to it. */
    flags = (flags & ~(SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE)) | SQLITE_OPEN_READONLY;
    p->bView = 1;
    p->lsnView = lsn;
  }else{
    if( vfsMainOpen ) return SQLITE_CANTOPEN;
    vfsMainOpen = 1;
  }
  p->base.pMethods = &dosqlIoMethods;
  if( pOutFlags ) *pOutFlags = flags;
  return SQLITE_OK;
}

static int dosqlDelete(sqlite3_vfs *pVfs, const char *zName, int syncDir){
  (void)pVfs; (void)zName; (void)syncDir;
  return SQLITE_OK;
}

/* No file but the open database exists: no journal is ever hot. */
static int dosqlAccess(sqlite3_vfs *pVfs, const char *zName, int flags, int *pResOut){
  (void)pVfs; (void)zName; (void)flags;
  *pResOut = 0;
  return SQLITE_OK;
}

static int dosqlFullPathname(sqlite3_vfs *pVfs, const char *zName, int nOut, char *zOut){
  (void)pVfs;
  sqlite3_snprintf(nOut, zOut, "%s", zName);
  return SQLITE_OK;
}

static int dosqlRandomness(sqlite3_vfs *pVfs, int nByte, char *zOut){
  (void)pVfs;
  dosql_host_random((uint8_t*)zOut, (uint32_t)nByte);
  return nByte;
}

/* Nothing to wait for: there is never a second connection. */
static int dosqlSleep(sqlite3_vfs *pVfs, int nMicro){
  (void)pVfs;
  return nMicro;
}

/* Julian day in milliseconds, as SQLite's date functions want it. */
static int dosqlCurrentTimeInt64(sqlite3_vfs *pVfs, sqlite3_int64 *pNow){
  static const sqlite3_int64 unixEpoch = 24405875*(sqlite3_int64)8640000;
  (void)pVfs;
  *pNow = unixEpoch + (sqlite3_int64)dosql_host_now_ms();
  return SQLITE_OK;
}

static int dosqlCurrentTime(sqlite3_vfs *pVfs, double *pNow){
  sqlite3_int64 i;
  int rc = dosqlCurrentTimeInt64(pVfs, &i);
  *pNow = i/86400000.0;
  return rc;
}

static int dosqlGetLastError(sqlite3_vfs *pVfs, int nBuf, char *zBuf){
  (void)pVfs;
  if( nBuf>0 ) zBuf[0] = 0;
  return 0;
}

static sqlite3_vfs dosqlVfs = {
  2,                            /* iVersion */
  sizeof(DosqlFile),            /* szOsFile */
  512,                          /* mxPathname */
  0,                            /* pNext */
  DOSQL_VFS_NAME,               /* zName */
  0,                            /* pAppData */
  dosqlOpen,
  dosqlDelete,
  dosqlAccess,
  dosqlFullPathname,
  0, 0, 0, 0,                   /* xDlOpen, xDlError, xDlSym, xDlClose */
  dosqlRandomness,
  dosqlSleep,
  dosqlCurrentTime,
  dosqlGetLastError,
  dosqlCurrentTimeInt64,
  0, 0, 0                       /* xSetSystemCall, xGetSystemCall, xNextSystemCall */
};

/******************************************************* registration ****/

void dosqlVfsTakeFaults(DosqlFaults *pOut){
  *pOut = vfsFaults;
  vfsFaults.nPage = 0;
}

int dosqlVfsFaulted(void){
  return vfsFaults.nPage>0;
}

/* With SQLITE_OS_OTHER, SQLite calls these from sqlite3_initialize() and
** sqlite3_shutdown(). */
int sqlite3_os_init(void){
  return sqlite3_vfs_register(&dosqlVfs, 1);
}

int sqlite3_os_end(void){
  return SQLITE_OK;
}
