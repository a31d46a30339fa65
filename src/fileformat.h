/*
** fileformat.h — the 100-byte header at the start of a SQLite database file
** (https://www.sqlite.org/fileformat2.html#the_database_header), as far as
** DoSQL reads it: the VFS for the page size and count of the stored database,
** and the host, through dosql_file_header (api.h), for a file it is given.
*/
#ifndef DOSQL_FILEFORMAT_H
#define DOSQL_FILEFORMAT_H

#include <stdint.h>

#include "reply.h"

/* Bytes of the header. */
#define FILE_HEADER_BYTES 100

/* The page size the header gives (bytes 16-17, 1 meaning 65536), or 0 when it
** is not a power of two from 512 to 65536. */
uint32_t fileHeaderPageSize(const uint8_t *aHdr);

/* The database size in pages (bytes 28-31): right only when
** fileHeaderPageCountValid. */
uint32_t fileHeaderPageCount(const uint8_t *aHdr);

/* Whether that page count can be trusted: non-zero, and written with the
** change counter (bytes 92-95 equal 24-27; SQLite before 3.7.0 did not). */
int fileHeaderPageCountValid(const uint8_t *aHdr);

/*
** Check the first n bytes of a file someone wants to import (all of it when
** n < FILE_HEADER_BYTES) and answer {"pageSize":n,"pageCount":n|null} (null
** when the header's count is not valid), or fail the reply: 400
** IMPORT_EMPTY, IMPORT_NOT_SQLITE (wrong magic, or file format versions other
** than 1 and 2), IMPORT_TRUNCATED (shorter than the header),
** IMPORT_BAD_PAGE_SIZE, or 413 IMPORT_TOO_LARGE when the header's page count
** makes it larger than maxBytes. With nPage > 0 (the file turned out to have
** nPage pages) the header is also rewritten in place for storage: the
** rollback-journal format (what a WAL file is once its WAL is gone), a
** valid page count of nPage, and a text encoding other than 0 written as 1
** (SQLite reads the field's low two bits, so 4, 5, ... are UTF-8 too).
*/
void fileCheckHeader(Reply *pReply, uint8_t *aHdr, uint32_t n, double maxBytes, uint32_t nPage);

#endif /* DOSQL_FILEFORMAT_H */
