/*
** config.h — every tunable of the engine, in one place. Each is a macro that a
** build may override (-DNAME=value); the unit and the reason stand beside it.
*/
#ifndef DOSQL_CONFIG_H
#define DOSQL_CONFIG_H

/* Page size (bytes) of a new database. One page is one row in Durable Object
** storage, so it sets both the bill (rows written per commit) and the bytes moved
** per row. Measured in tests/bench/page-size.md: a one-row write costs ~2 rows at
** every size, and larger pages only add bytes per commit and memory per
** transaction. Must be a power of two from 512 to 65536 (65536 still fits the
** legacy 128 KiB value limit). */
#ifndef DOSQL_DEFAULT_PAGE_SIZE
# define DOSQL_DEFAULT_PAGE_SIZE 4096
#endif

/* SQLite's page cache (KiB). Pages stay cached across requests (exclusive
** locking), so a warm object reads storage only for pages it never saw. Each
** page read from storage costs a statement and a copy (~7 us on SQLite-backed
** objects), so a scan of a table larger than the cache pays that for every page,
** every time: at 8 MiB, a GROUP BY over a 10.6 MiB table ran 1.8x native Durable
** Object SQL (BENCHMARKS.md). 16 MiB keeps tables of 100k small rows resident
** while an object stays far below the isolate's 128 MB. */
#ifndef DOSQL_CACHE_KIB
# define DOSQL_CACHE_KIB 16384
#endif

/* Prepared statements of user SQL kept between requests (conn.h). Preparing is
** about half of a point SELECT's time in the engine (tests/bench/request-path.md);
** an app sends a few statement texts over and over, as native DO SQL, which
** caches by text too, assumes. */
#ifndef DOSQL_STATEMENT_CACHE
# define DOSQL_STATEMENT_CACHE 32
#endif
/* ...each at most this large (SQLite's own count of its memory): a statement
** with big literals is prepared afresh rather than holding the heap. */
#ifndef DOSQL_STATEMENT_MAX_BYTES
# define DOSQL_STATEMENT_MAX_BYTES (64*1024)
#endif

/* Largest request body (bytes). Durable Objects allow far more; the engine has
** to hold the body, its parse tree and the statement at once inside 128 MB. */
#ifndef DOSQL_MAX_REQUEST_BYTES
# define DOSQL_MAX_REQUEST_BYTES (8 * 1024 * 1024)
#endif

/* Largest response body (bytes of JSON): 64 KiB under 32 MiB, as Workers RPC
** carries 32 MiB, the answer's bytes and what wraps them
** (worker-shim/src/durable-object/response.js requestAnswer). */
#ifndef DOSQL_MAX_ANSWER_BYTES
# define DOSQL_MAX_ANSWER_BYTES (32 * 1024 * 1024 - 64 * 1024)
#endif

/* Largest answer a statement may write rows into, or start in: past it the
** statement fails with RESULT_TOO_LARGE, before its work can commit, rather
** than building a response the isolate cannot hold. 64 KiB under the answer's
** limit, which is room for what a request writes after its rows (a statement's
** counts, a batch's COMMIT, the errors of the steps refused after them): a
** request is refused for the whole answer's size only past that room, when
** what it ran before may have committed (hrana.c runRequest). */
#ifndef DOSQL_MAX_RESULT_BYTES
# define DOSQL_MAX_RESULT_BYTES (DOSQL_MAX_ANSWER_BYTES - 64 * 1024)
#endif

/* The CPU budget of one request (budget.h), in milliseconds; the host may set
** another per database (dosql_open). A request over it stops with CPU_LIMIT
** long before the platform's own limit (30 s by default) would reset the whole
** object and every request in it. Migrations, the application's own code, get
** DOSQL_MIGRATION_CPU_MS each: well under that 30 s, which the request applying
** them is held to, so that one running away is reported (MIGRATION_FAILED), not
** the object reset first (a budget of 30 s ran 34 s here). */
#ifndef DOSQL_CPU_BUDGET_MS
# define DOSQL_CPU_BUDGET_MS 3000
#endif
#ifndef DOSQL_MAX_CPU_BUDGET_MS
# define DOSQL_MAX_CPU_BUDGET_MS 300000
#endif
#ifndef DOSQL_MIGRATION_CPU_MS
# define DOSQL_MIGRATION_CPU_MS 20000
#endif

/* What the budget counts, calibrated on dosql.wasm in V8 (docs/limits.md has
** the measurements): a work unit is about one VM step, some 33 ns, so a
** millisecond buys 30,000. Built-in functions are charged a unit per
** DOSQL_CPU_BYTES_PER_UNIT bytes they read or write (randomblob() makes about
** 16 bytes in 33 ns), and the O(n*m) ones (instr, LIKE, GLOB, replace, trim) a
** unit per DOSQL_CPU_PAIRS_PER_UNIT byte pairs they may compare (GLOB, the
** slowest, compares about 11 pairs in 33 ns at worst). */
#ifndef DOSQL_CPU_UNITS_PER_MS
# define DOSQL_CPU_UNITS_PER_MS 30000
#endif
#ifndef DOSQL_CPU_BYTES_PER_UNIT
# define DOSQL_CPU_BYTES_PER_UNIT 16
#endif
#ifndef DOSQL_CPU_PAIRS_PER_UNIT
# define DOSQL_CPU_PAIRS_PER_UNIT 8
#endif
/* An allocation of SQLite's of at least this many bytes is charged as what fills
** it (a unit per DOSQL_CPU_BYTES_PER_UNIT bytes): what copies or parses a large
** value inside one VM step (||, CAST, json_each's parse, geopoly's) allocates
** for it. Below it, allocations are the VM's own, paid for by its steps. */
#ifndef DOSQL_CPU_ALLOCATION_FLOOR
# define DOSQL_CPU_ALLOCATION_FLOOR (64 * 1024)
#endif
/* What compiling a statement is charged for each allocation it makes, besides
** its bytes: SQLite allocates a node for about every 350 ns of its parsing,
** name resolution and planning natively (8-way joins), 550 ns in wasm. */
#ifndef DOSQL_CPU_UNITS_PER_PREPARED_ALLOCATION
# define DOSQL_CPU_UNITS_PER_PREPARED_ALLOCATION 16
#endif
/* What a page read from storage is charged (vfs.c): the host's call, and on
** SQLite-backed objects a group of pages read and cached in JavaScript. A cold
** scan reads a page in 7-12 us in workerd (tests/bench: 200 MB in 0.37-0.59 s),
** scattered reads more. */
#ifndef DOSQL_CPU_UNITS_PER_PAGE_READ
# define DOSQL_CPU_UNITS_PER_PAGE_READ 300
#endif
/* What a page read is charged more when the host read storage for it (host.h
** DOSQL_PAGE_FETCHED): a row of 32 pages fetched and decoded. Lookups in random
** order over 176 MB, each page's row fetched alone, took about 64 us a page. */
#ifndef DOSQL_CPU_UNITS_PER_FETCH
# define DOSQL_CPU_UNITS_PER_FETCH 1600
#endif
/* What a virtual table's read is charged: a unit per this many bytes it
** allocates. FTS5 allocates each page of its index it reads, then matches the
** positions on it: 14-21 us a 4 KiB page in wasm (phrases of 200-500 terms
** over 16,000 documents), about 500 units. */
#ifndef DOSQL_CPU_READ_BYTES_PER_UNIT
# define DOSQL_CPU_READ_BYTES_PER_UNIT 8
#endif
/* The equal prefix SQLite's memcmp() finds (sqlite/unit.c dosqlMemcmp) is charged
** a unit per DOSQL_CPU_COMPARE_BYTES_PER_UNIT when it is DOSQL_CPU_COMPARE_BLOCK
** bytes or more; a shorter one is paid for by the VM steps around the comparison.
** dosqlMemcmp compares eight bytes at a time: 100,000 comparisons of equal 60 KB
** texts took 1.9 s on a loaded machine (4.4 s byte by byte, wasi-libc's memcmp),
** some 100 bytes in 33 ns. */
#ifndef DOSQL_CPU_COMPARE_BLOCK
# define DOSQL_CPU_COMPARE_BLOCK 64
#endif
#ifndef DOSQL_CPU_COMPARE_BYTES_PER_UNIT
# define DOSQL_CPU_COMPARE_BYTES_PER_UNIT 128
#endif
/* What FTS5's highlight() and snippet() are charged for the text they tokenize at
** each call (sqlite/unit.c): a unit per this many bytes of the row's columns.
** 1,800 snippets of 600 KB documents took 16.7 s, 15 ns a byte. */
#ifndef DOSQL_CPU_TOKENIZE_BYTES_PER_UNIT
# define DOSQL_CPU_TOKENIZE_BYTES_PER_UNIT 2
#endif
/* What FTS5's snippet() is charged for scoring each instance of its row against
** every other (sqlite/unit.c): a unit per this many pairs of instances. One
** snippet of a document of 80,000 instances took 71 s, 11 ns a pair. */
#ifndef DOSQL_CPU_SNIPPET_PAIRS_PER_UNIT
# define DOSQL_CPU_SNIPPET_PAIRS_PER_UNIT 3
#endif
/* What a window aggregate's move or copy of what it holds is charged
** (sqlite/unit.c): a unit per this many bytes. group_concat() of 64-byte values
** OVER (ROWS 999 PRECEDING) moves and copies 64 KB a row, 8.3 us a row in wasm
** with its steps (1,000,000 rows in 8.3 s): about 15 GB/s. */
#ifndef DOSQL_CPU_COPY_BYTES_PER_UNIT
# define DOSQL_CPU_COPY_BYTES_PER_UNIT 256
#endif
/* What a comparison of records by a sort or an index's search is charged
** (sqlite/unit.c): these units, and one per DOSQL_CPU_RECORD_BYTES_PER_UNIT bytes
** compared. Sorting 60,000 rows in workerd (about 900,000 comparisons), beyond
** the same rows read unsorted: integers 68 ns a comparison, 16-byte texts 90 ns,
** 400-byte texts 245 ns (a unit is 33 ns). */
#ifndef DOSQL_CPU_UNITS_PER_RECORD_COMPARE
# define DOSQL_CPU_UNITS_PER_RECORD_COMPARE 2
#endif
#ifndef DOSQL_CPU_RECORD_BYTES_PER_UNIT
# define DOSQL_CPU_RECORD_BYTES_PER_UNIT 128
#endif
/* What a number parsed from text is charged (sqlite/unit.c): a unit per this
** many bytes the parse may read. A parse of a 60,000-digit text, with the scan
** that bounds it, took 20-30 us in wasm: 150,000 of them stopped after 3.0-4.4 s
** at 16 bytes a unit, 1.6-2.3 s at 8. */
#ifndef DOSQL_CPU_PARSE_BYTES_PER_UNIT
# define DOSQL_CPU_PARSE_BYTES_PER_UNIT 8
#endif
/* Tables and subqueries (cursors) a statement may hold before SQLite stops
** flattening subqueries, views and CTEs into the queries that read them: each
** flattening walks the whole query, so a statement whose references multiply
** (a chain of CTEs or views each joining the one before to itself) took 15 s to
** compile from 842 bytes, with no step to meter; unflattened, it compiles as
** subqueries in time linear in its size (the same chain: 0.4 s natively). No
** query written by hand or by an ORM comes near (a compound SELECT has 500 terms
** at most, a FROM 200 tables). */
#ifndef DOSQL_FLATTEN_MAX_CURSORS
# define DOSQL_FLATTEN_MAX_CURSORS 1000
#endif
/* VM steps between two charges of the budget (the progress handler). */
#ifndef DOSQL_PROGRESS_INTERVAL
# define DOSQL_PROGRESS_INTERVAL 10000
#endif
/* The same while a virtual table reads. SQLite counts each statement's steps
** from zero, and a read may compile and run a statement of its own: a pragma's
** table-valued function does at each call (pragma_index_list(name), joined to
** the schema twice, ran 8 M statements of 15 steps each in 17 s, none of them
** reaching the interval). At most this many of its steps go uncounted, which
** DOSQL_CPU_UNITS_PER_FILTER pays for. */
#ifndef DOSQL_READ_PROGRESS_INTERVAL
# define DOSQL_READ_PROGRESS_INTERVAL 100
#endif
/* What each call of a pragma's table-valued function (its xFilter) is charged
** as it begins: what compiling and starting its statement costs
** (pragma_index_list(name) about 1.7 us a call in wasm, 50 units), and the
** steps of it that the progress handler may not count
** (DOSQL_READ_PROGRESS_INTERVAL). */
#ifndef DOSQL_CPU_UNITS_PER_FILTER
# define DOSQL_CPU_UNITS_PER_FILTER 100
#endif

/* Hard limit on SQLite's heap (bytes). The isolate has 128 MB for everything; a
** query that needs more (a huge sort, a huge transaction's dirty pages) fails
** with HEAP_LIMIT instead of killing the object. */
#ifndef DOSQL_HEAP_LIMIT_BYTES
# define DOSQL_HEAP_LIMIT_BYTES (64 * 1024 * 1024)
#endif

/* A libSQL pipeline runs its next request only while SQLite's heap has room to
** double its answer's buffer and this much more, once the answer's buffer has less than
** this much left (hrana.c): a growth that fails loses the whole answer. */
#ifndef DOSQL_PIPELINE_HEADROOM_BYTES
# define DOSQL_PIPELINE_HEADROOM_BYTES (1024 * 1024)
#endif

/* How far ahead of malloc the wasm memory grows (heap.c): an eighth of its
** size, at least MIN and at most MAX bytes (or what malloc asked for). The
** contract publishes MAX: the host's measure of memory (the size, which never
** shrinks) counts up to that much not yet used. 2 MiB instead of 8 cost
** speedtest1 3% (tests/bench/speedtest1/README.md). */
#ifndef DOSQL_HEAP_GROW_MIN_BYTES
# define DOSQL_HEAP_GROW_MIN_BYTES (1024 * 1024)
#endif
#ifndef DOSQL_HEAP_GROW_MAX_BYTES
# define DOSQL_HEAP_GROW_MAX_BYTES (8 * 1024 * 1024)
#endif

/* One page of POST /changes: at most this many events, and about this many
** bytes of JSON (a larger single event still goes out alone). Small enough that
** a subscriber's catch-up never holds the engine for long. */
#ifndef DOSQL_CHANGES_PAGE_EVENTS
# define DOSQL_CHANGES_PAGE_EVENTS 1000
#endif
#ifndef DOSQL_CHANGES_PAGE_BYTES
# define DOSQL_CHANGES_PAGE_BYTES (4 * 1024 * 1024)
#endif

/* A row of the change log (changebatch.h) holds at most this many events of
** one statement to one table, and stops taking more past this many bytes: a
** /changes page reads one or two rows, not a statement's whole log. */
#ifndef DOSQL_CHANGE_BATCH_EVENTS
# define DOSQL_CHANGE_BATCH_EVENTS 1000
#endif
#ifndef DOSQL_CHANGE_BATCH_BYTES
# define DOSQL_CHANGE_BATCH_BYTES (64 * 1024)
#endif

/* The highest lsn (and txId) an imported file's change log may hold: 2^52, half
** of what capture numbers up to (2^53-1, the largest integer every JSON reader
** keeps exact). Events after an import are numbered past the file's, and numbers
** never go back, so a log forged near 2^53 would leave none: every captured
** write, and every later import, would fail for good. Past 2^52 remain 2^52
** numbers, 142 years at a million events a second. A plain number: it is pasted
** into SQL text (internal.c). */
#ifndef DOSQL_MAX_IMPORTED_LSN
# define DOSQL_MAX_IMPORTED_LSN 4503599627370496
#endif

/* Tables one change-log read (or subscription) may name, and their names' bytes
** together: a subscriber keeps its list for as long as it is open, and a thousand
** of them share one isolate's 128 MB. */
#ifndef DOSQL_CHANGES_MAX_TABLES
# define DOSQL_CHANGES_MAX_TABLES 500
#endif
#ifndef DOSQL_CHANGES_MAX_TABLE_BYTES
# define DOSQL_CHANGES_MAX_TABLE_BYTES (16 * 1024)
#endif

/* Events one prune call deletes at most. Deleting is a transaction whose
** journal lives in wasm memory; this keeps it to a few MiB. */
#ifndef DOSQL_PRUNE_BATCH
# define DOSQL_PRUNE_BATCH 20000
#endif

/* The header naming the interactive transaction a request belongs to
** (docs/transactions.md), and a transaction's idle timeout: /begin's
** timeoutMs, its default and its range (ms). */
#define DOSQL_TRANSACTION_HEADER "X-DoSQL-Transaction"
#ifndef DOSQL_TRANSACTION_TIMEOUT_MS
# define DOSQL_TRANSACTION_TIMEOUT_MS 5000
#endif
#define DOSQL_MIN_TRANSACTION_TIMEOUT_MS 100
#define DOSQL_MAX_TRANSACTION_TIMEOUT_MS 60000

/* Hrana, libSQL's protocol (hrana.h): streams open at once (past it the one
** idle longest is dropped), how long a stream outside a transaction lives
** without a request (sqld: 10 s), and the idle timeout of a transaction a
** stream began (the host's timer, as /begin's timeoutMs; sqld: 5 s). While a
** stream's transaction is open every other request waits, as for /begin. The
** SQL texts store_sql keeps per stream, by count and bytes: @libsql/client
** stores up to 30 texts of under 5,000 characters; all streams together hold
** at most DOSQL_HRANA_MAX_STREAMS times DOSQL_HRANA_SQL_BYTES. */
#ifndef DOSQL_HRANA_MAX_STREAMS
# define DOSQL_HRANA_MAX_STREAMS 64
#endif
#ifndef DOSQL_HRANA_STREAM_IDLE_MS
# define DOSQL_HRANA_STREAM_IDLE_MS 300000
#endif
#ifndef DOSQL_HRANA_TRANSACTION_IDLE_MS
# define DOSQL_HRANA_TRANSACTION_IDLE_MS 15000
#endif
#ifndef DOSQL_HRANA_MAX_SQL
# define DOSQL_HRANA_MAX_SQL 128
#endif
#ifndef DOSQL_HRANA_SQL_BYTES
# define DOSQL_HRANA_SQL_BYTES (256 * 1024)
#endif

/* A macro's value as a string literal. */
#define DOSQL_STR_(x) #x
#define DOSQL_STR(x) DOSQL_STR_(x)

#endif /* DOSQL_CONFIG_H */
