/*
** test_fileformat.c — the SQLite file header as the engine reads it for the
** host (dosql_file_header, fileformat.h) and the size it reports of its own
** database (dosql_open's answer, GET /export's check).
*/
#include "harness.h"
#include "fileformat.h"

/* A header of a file of nPage pages of szPage bytes (page size field 1 for
** 65536), WAL format, with a valid page count when bValid. */
static void makeHeader(uint8_t *a, uint32_t szPage, uint32_t nPage, int bValid){
  uint32_t field = szPage==65536 ? 1 : szPage;
  memset(a, 0, FILE_HEADER_BYTES);
  memcpy(a, "SQLite format 3", 16);
  a[16] = (uint8_t)(field>>8); a[17] = (uint8_t)field;
  a[18] = 2; a[19] = 2;
  a[24+3] = 7;                                   /* change counter 7 */
  a[28] = (uint8_t)(nPage>>24); a[29] = (uint8_t)(nPage>>16); a[30] = (uint8_t)(nPage>>8); a[31] = (uint8_t)nPage;
  a[92+3] = bValid ? 7 : 6;                      /* version-valid-for */
}

/* dosql_file_header over a copy of a (n bytes) in module memory; the copy
** is written back to a, as the host reads it back. */
static Answer check(uint8_t *a, uint32_t n, double maxBytes, uint32_t nPage){
  uint8_t *p = dosql_alloc(n ? n : 1);
  Answer r;
  memcpy(p, a, n);
  r = answerFrom(dosql_file_header(p, n, maxBytes, nPage));
  memcpy(a, p, n);
  dosql_free(p);
  return r;
}

static void a_valid_header_gives_its_page_size_and_count(void){
  uint8_t a[FILE_HEADER_BYTES];
  Answer r;
  makeHeader(a, 65536, 3, 1);
  r = check(a, sizeof(a), 1e9, 0);
  CHECK(r.status==200);
  CHECK_STR(r.zBody, "{\"pageSize\":65536,\"pageCount\":3}");
  answerFree(&r);
  makeHeader(a, 4096, 3, 0);
  r = check(a, sizeof(a), 1e9, 0);
  CHECK_STR(r.zBody, "{\"pageSize\":4096,\"pageCount\":null}");
  answerFree(&r);
}

static void every_bad_header_has_its_code(void){
  static const struct { const char *zCase; int status; const char *zCode; } aCase[] = {
    { "empty",       400, "IMPORT_EMPTY" },
    { "magic",       400, "IMPORT_NOT_SQLITE" },
    { "short",       400, "IMPORT_TRUNCATED" },
    { "page size",   400, "IMPORT_BAD_PAGE_SIZE" },
    { "format",      400, "IMPORT_NOT_SQLITE" },
    { "too large",   413, "IMPORT_TOO_LARGE" },
    { "utf-16",      422, "IMPORT_UTF16" },
    { "utf-16 by the field's low bits", 422, "IMPORT_UTF16" },   /* 6: SQLite reads UTF-16le */
  };
  unsigned i;
  for(i=0; i<sizeof(aCase)/sizeof(aCase[0]); i++){
    uint8_t a[FILE_HEADER_BYTES];
    uint32_t n = sizeof(a);
    Answer r;
    makeHeader(a, 4096, 1000, 1);
    if( i==0 ) n = 0;
    if( i==1 ) a[3] = 'X';
    if( i==2 ) n = 40;
    if( i==3 ) a[17] = 0x11;
    if( i==4 ) a[19] = 3;
    if( i==6 ) a[59] = 2;
    if( i==7 ) a[59] = 6;
    r = check(a, n, i==5 ? 4096.0*999 : 1e12, 0);
    CHECK(r.status==aCase[i].status);
    CHECK_STR(answerCode(&r), aCase[i].zCode);
    if( r.status!=aCase[i].status ) printf("  case %s: %d %s\n", aCase[i].zCase, r.status, r.zBody);
    answerFree(&r);
  }
}

/* SQLite reads the text encoding's low two bits: 5, like 1, is UTF-8. */
static void a_text_encoding_field_sqlite_reads_as_utf8_passes(void){
  uint8_t a[FILE_HEADER_BYTES];
  Answer r;
  makeHeader(a, 4096, 3, 1);
  a[59] = 5;
  r = check(a, sizeof(a), 1e9, 0);
  CHECK(r.status==200);
  answerFree(&r);
}

static void a_page_count_normalises_the_header_for_storage(void){
  uint8_t a[FILE_HEADER_BYTES];
  Answer r;
  makeHeader(a, 4096, 0, 0);
  r = check(a, sizeof(a), 1e9, 42);
  CHECK(r.status==200);
  answerFree(&r);
  CHECK(a[18]==1 && a[19]==1);
  CHECK(fileHeaderPageSize(a)==4096);
  CHECK(fileHeaderPageCount(a)==42);
  CHECK(fileHeaderPageCountValid(a));
  CHECK(a[56]==0 && a[57]==0 && a[58]==0 && a[59]==0);   /* no schema: no encoding yet */
}

/* A text encoding SQLite reads as UTF-8 by its low bits is stored as 1, which
** SQLite compares with its own when it attaches the file. */
static void a_utf8_text_encoding_is_stored_as_1(void){
  static const uint8_t aField[] = { 1, 4, 5, 8 };
  unsigned i;
  for(i=0; i<sizeof(aField); i++){
    uint8_t a[FILE_HEADER_BYTES];
    Answer r;
    makeHeader(a, 4096, 0, 0);
    a[56] = 0x10; a[59] = aField[i];
    if( aField[i]==1 ) a[56] = 0;
    r = check(a, sizeof(a), 1e9, 42);
    CHECK(r.status==200);
    answerFree(&r);
    CHECK(a[56]==0 && a[57]==0 && a[58]==0 && a[59]==1);
  }
}

/* The "pageCount" of an answer. */
static int pageCountOf(const Answer *p){
  const cJSON *n = cJSON_GetObjectItem(p->pJson, "pageCount");
  return cJSON_IsNumber(n) ? n->valueint : -1;
}

static void open_and_export_report_the_stored_size(void){
  Answer a = answerFrom(dosql_open(8192, 0, 0));
  int nOpen = pageCountOf(&a);
  CHECK(a.status==200);
  CHECK(cJSON_GetObjectItem(a.pJson, "pageSize")->valueint==8192);
  CHECK(nOpen>=1);                               /* the engine's own tables */
  answerFree(&a);
  a = answerFrom(dosql_request("POST", 4, "/run", 4, (const uint8_t*)"{\"sql\":\"CREATE TABLE t(x)\"}", 27, 0));
  CHECK(a.status==200);
  answerFree(&a);
  a = answerFrom(dosql_request("GET", 3, "/export", 7, 0, 0, DOSQL_REQUEST_INTERNAL));
  CHECK(a.status==200);
  CHECK(pageCountOf(&a)==nOpen+1);               /* the new table's root page */
  answerFree(&a);
  a = answerFrom(dosql_request("POST", 4, "/export", 7, 0, 0, 0));
  CHECK(a.status==405);
  answerFree(&a);
}

int main(void){
  RUN(a_valid_header_gives_its_page_size_and_count);
  RUN(every_bad_header_has_its_code);
  RUN(a_text_encoding_field_sqlite_reads_as_utf8_passes);
  RUN(a_page_count_normalises_the_header_for_storage);
  RUN(a_utf8_text_encoding_is_stored_as_1);
  RUN(open_and_export_report_the_stored_size);
  return HARNESS_END();
}
