/*
** fileformat.c — the SQLite file header (contract in fileformat.h).
*/
#include <string.h>

#include "bytes.h"
#include "errors.h"
#include "fileformat.h"
#include "sqlite3.h"

/* Offsets of the fields read or written (all big-endian). */
#define HDR_PAGE_SIZE         16   /* u16; 1 means 65536 */
#define HDR_WRITE_VERSION     18   /* u8: 1 rollback journal, 2 WAL */
#define HDR_READ_VERSION      19   /* u8: likewise */
#define HDR_CHANGE_COUNTER    24   /* u32 */
#define HDR_PAGE_COUNT        28   /* u32 */
#define HDR_TEXT_ENCODING     56   /* u32: 1 UTF-8, 2 UTF-16le, 3 UTF-16be (0 before any schema); SQLite reads its low two bits */
#define HDR_VERSION_VALID_FOR 92   /* u32: the change counter when the count was last right */

#define ENCODING_UTF8    1
#define ENCODING_UTF16LE 2
#define ENCODING_UTF16BE 3

#define FORMAT_LEGACY 1
#define FORMAT_WAL    2

static const char aMagic[16] = "SQLite format 3";   /* and its NUL */

static void put32be(uint8_t *a, uint32_t v){
  a[0] = (uint8_t)(v>>24); a[1] = (uint8_t)(v>>16); a[2] = (uint8_t)(v>>8); a[3] = (uint8_t)v;
}

static uint32_t pageSizeField(const uint8_t *aHdr){
  return ((uint32_t)aHdr[HDR_PAGE_SIZE]<<8) | aHdr[HDR_PAGE_SIZE+1];
}

uint32_t fileHeaderPageSize(const uint8_t *aHdr){
  uint32_t sz = pageSizeField(aHdr);
  if( sz==1 ) sz = 65536;
  return dosqlValidPageSize(sz) ? sz : 0;
}

uint32_t fileHeaderPageCount(const uint8_t *aHdr){
  return dosqlGet32be(&aHdr[HDR_PAGE_COUNT]);
}

int fileHeaderPageCountValid(const uint8_t *aHdr){
  return fileHeaderPageCount(aHdr)!=0
      && dosqlGet32be(&aHdr[HDR_VERSION_VALID_FOR])==dosqlGet32be(&aHdr[HDR_CHANGE_COUNTER]);
}

/* The text encoding as SQLite reads the field: its low two bits, so that 6 is
** UTF-16le as 2 is (and 4, like 0, UTF-8). */
static uint32_t textEncoding(const uint8_t *aHdr){
  return dosqlGet32be(&aHdr[HDR_TEXT_ENCODING]) & 3;
}

static int formatKnown(uint8_t v){
  return v==FORMAT_LEGACY || v==FORMAT_WAL;
}

void fileCheckHeader(Reply *pReply, uint8_t *aHdr, uint32_t n, double maxBytes, uint32_t nPage){
  uint32_t szPage;
  if( n==0 ){
    replyFail(pReply, 400, DOSQL_IMPORT_EMPTY,
        "the body is empty: send the SQLite file as the body of POST /import");
    return;
  }
  if( memcmp(aHdr, aMagic, n<sizeof(aMagic) ? n : sizeof(aMagic))!=0 ){
    replyFail(pReply, 400, DOSQL_IMPORT_NOT_SQLITE,
        "the body is not a SQLite database file: it does not start with \"SQLite format 3\\0\"");
    return;
  }
  if( n<FILE_HEADER_BYTES ){
    replyFail(pReply, 400, DOSQL_IMPORT_TRUNCATED,
        "the file is truncated: its %u bytes are shorter than the %d-byte header", n, FILE_HEADER_BYTES);
    return;
  }
  szPage = fileHeaderPageSize(aHdr);
  if( szPage==0 ){
    replyFail(pReply, 400, DOSQL_IMPORT_BAD_PAGE_SIZE,
        "the file's header gives the page size %u, not a power of two from 512 to 65536",
        pageSizeField(aHdr));
    return;
  }
  if( !formatKnown(aHdr[HDR_WRITE_VERSION]) || !formatKnown(aHdr[HDR_READ_VERSION]) ){
    replyFail(pReply, 400, DOSQL_IMPORT_NOT_SQLITE,
        "the file's format versions (header bytes 18 and 19) are %d and %d; "
        "SQLite 3 reads 1 (rollback journal) or 2 (WAL)",
        aHdr[HDR_WRITE_VERSION], aHdr[HDR_READ_VERSION]);
    return;
  }
  if( textEncoding(aHdr)==ENCODING_UTF16LE || textEncoding(aHdr)==ENCODING_UTF16BE ){
    /* SQLITE_OMIT_UTF16 (sqlite_options.h): such a file reads as corrupt. */
    replyFail(pReply, 422, DOSQL_IMPORT_UTF16,
        "the file keeps its text as UTF-16 (%s: header bytes 56-59 are %u); DoSQL's databases "
        "are UTF-8: convert it first, e.g. sqlite3 in.db .dump | sqlite3 out.db",
        textEncoding(aHdr)==ENCODING_UTF16LE ? "little-endian" : "big-endian",
        dosqlGet32be(&aHdr[HDR_TEXT_ENCODING]));
    return;
  }
  if( fileHeaderPageCountValid(aHdr) && (double)fileHeaderPageCount(aHdr)*szPage > maxBytes ){
    replyFail(pReply, 413, DOSQL_IMPORT_TOO_LARGE,
        "the file is %.0f bytes, as its header says; this database takes files of up to %.0f bytes",
        (double)fileHeaderPageCount(aHdr)*szPage, maxBytes);
    return;
  }
  sqlite3_str_appendf(replyBody(pReply), "{\"pageSize\":%u,\"pageCount\":", szPage);
  if( fileHeaderPageCountValid(aHdr) ){
    sqlite3_str_appendf(replyBody(pReply), "%u}", fileHeaderPageCount(aHdr));
  }else{
    sqlite3_str_appendall(replyBody(pReply), "null}");
  }
  if( nPage>0 ){
    aHdr[HDR_WRITE_VERSION] = FORMAT_LEGACY;
    aHdr[HDR_READ_VERSION] = FORMAT_LEGACY;
    put32be(&aHdr[HDR_PAGE_COUNT], nPage);
    memcpy(&aHdr[HDR_VERSION_VALID_FOR], &aHdr[HDR_CHANGE_COUNTER], 4);
    /* UTF-8 by its low bits, spelled 1: SQLite attaching the file (history's
    ** restore and diff do) compares those bits with its own UTF-8, 1, and
    ** refuses a 4. A 0 stays: no schema has set it yet. */
    if( dosqlGet32be(&aHdr[HDR_TEXT_ENCODING])!=0 ) put32be(&aHdr[HDR_TEXT_ENCODING], ENCODING_UTF8);
  }
}
