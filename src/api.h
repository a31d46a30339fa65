/*
** api.h — everything dosql.wasm exports to its host.
**
** api.c is the one file that defines these; each definition carries DOSQL_EXPORT,
** and wasm/exports.txt lists the same names for the linker (a test checks that
** the built module exports exactly that list, with its memory and the stack
** pointer that wasm/link.flags exports for the host to read after a trap). The JS side wraps them in one
** module, worker-shim/src/engine.js.
**
** Ownership: C allocates all memory that C reads (dosql_alloc) and frees what it
** returns when the host calls dosql_free. The host never uses a view of linear
** memory made before a call into C without checking that its buffer is still
** the memory's, because memory growth detaches it.
**
** A response is one allocation laid out (little-endian) as
**     u32 status      an HTTP status, or DOSQL_STATUS_FAULT
**     u32 body_len
**     u8  body[body_len]   JSON text
** For DOSQL_STATUS_FAULT the body is {"pages":[pgno,...]}: the request was rolled
** back because those pages could not be read synchronously; the host fetches them
** and calls again with the same arguments.
*/
#ifndef DOSQL_API_H
#define DOSQL_API_H

#include <stdint.h>

#if defined(__wasm__)
# define DOSQL_EXPORT(name) __attribute__((export_name(#name)))
#else
# define DOSQL_EXPORT(name)
#endif

/* Bumped whenever anything in host.h or this header changes meaning. */
#define DOSQL_ABI_VERSION 9

#define DOSQL_STATUS_FAULT 0

/* Byte offsets in a response. */
#define DOSQL_RESPONSE_STATUS 0
#define DOSQL_RESPONSE_LENGTH 4
#define DOSQL_RESPONSE_BODY   8

/* The contract (contract.h): NUL-terminated JSON the module keeps, holding
** among others "abi" (DOSQL_ABI_VERSION) and the offsets below; 0 when out
** of memory. The host reads it first, and never frees it. */
const char *dosql_contract(void);

/* n bytes of linear memory for the host to fill, or 0 when out of memory. */
uint8_t *dosql_alloc(uint32_t n);
void dosql_free(void *p);

/* flags of dosql_open(): capture every row change into the change log
** (docs/changes.md). */
#define DOSQL_OPEN_CAPTURE_CHANGES 1

/*
** Open the database. page_size applies only to a database that has no pages
** yet (0 picks DOSQL_DEFAULT_PAGE_SIZE); cpu_budget_ms is each request's CPU
** budget (budget.h; 0 picks DOSQL_CPU_BUDGET_MS). Returns a response: 200
** {"pageSize":n,"pageCount":n} (the database as stored: the host's storage
** sizes its read-ahead by it), or an error (UNSAFE_SCHEMA: the database holds
** objects under names reserved for the engine's own tables, internal.h).
*/
uint8_t *dosql_open(uint32_t page_size, uint32_t flags, uint32_t cpu_budget_ms);

/*
** Apply bundled migrations: body is {"migrations":[{"name","sql"},...]} in order.
** Returns a response: 200 {"applied":[names]} or an error naming the file.
*/
uint8_t *dosql_migrate(const uint8_t *body, uint32_t n);

/* flags of dosql_request(): the request belongs to the open interactive
** transaction (docs/transactions.md). The host decides which requests do and
** makes every other request wait while one is open. */
#define DOSQL_REQUEST_IN_TRANSACTION 1
/* ... and: the host's own request, which may use internal endpoints
** (/changes/prune) and asks a host route's check (/import: may it, and with
** what). Requests from clients never carry it. */
#define DOSQL_REQUEST_INTERNAL 2
/* ... and: the host's call again, with the same arguments, after it fetched
** the pages of a fault (a Hrana pipeline resumes after what ran, hrana.h). */
#define DOSQL_REQUEST_RETRY 4
/* ... and: the request came by Workers RPC (or a call inside the object), from
** code that holds the class's binding and so may reach any of its databases,
** not over the object's HTTP protocol, which a Worker may forward for one
** tenant. Only such a request may ask for a route that writes another database
** of the class (/branch). */
#define DOSQL_REQUEST_OVER_RPC 8

/*
** Answer one request of the wire protocol. body may be 0 with n larger than
** DOSQL_MAX_REQUEST_BYTES ("maxRequestBytes" in the contract): the host did
** not read an oversized body, and the answer is 413. A route the host serves
** itself (streams, file transfer: "host" in the contract's routes) is asked
** first, and answers 404, 405 or a refused body, else 200 with what C read:
** the selection of /subscribe, the size of the file /export will stream, {}.
** One answer is not JSON alone: the internal /hrana/pipeline's 200 body starts
** with a byte saying whether the stream now holds the transaction (hrana.h).
*/
uint8_t *dosql_request(const char *method, uint32_t method_len,
                       const char *path, uint32_t path_len,
                       const uint8_t *body, uint32_t n, uint32_t flags);

/*
** Check the header of a SQLite file the host was given to import: the first
** n bytes of it, in memory from dosql_alloc (fileformat.h). Returns a
** response: 200 {"pageSize":n,"pageCount":n|null} or the IMPORT_* error.
** With page_count > 0 the header is rewritten in place, as storage keeps it.
*/
uint8_t *dosql_file_header(uint8_t *header, uint32_t n, double max_bytes, uint32_t page_count);

#endif /* DOSQL_API_H */
