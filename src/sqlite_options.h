/*
** sqlite_options.h — the one list of SQLite compile-time options, each on purpose.
** build.sh force-includes this file (-include) into every translation unit, the
** amalgamation and ours, for both the wasm and the native build, so the header
** and the library always agree.
*/
#ifndef DOSQL_SQLITE_OPTIONS_H
#define DOSQL_SQLITE_OPTIONS_H

/* Features users expect of "every SQLite feature". JSON is built in since 3.38. */
#define SQLITE_ENABLE_FTS5 1
#define SQLITE_ENABLE_RTREE 1
#define SQLITE_ENABLE_GEOPOLY 1
#define SQLITE_ENABLE_MATH_FUNCTIONS 1
#define SQLITE_ENABLE_DBSTAT_VTAB 1          /* page-level stats for /stats */

/* Change data capture (preupdate hook) needs this. */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1

/* The platform: one thread, no OS layer of SQLite's own. vfs.c supplies
** sqlite3_os_init() and the "dosql" VFS; temp files and journals stay in memory. */
#define SQLITE_THREADSAFE 0
#define SQLITE_OS_OTHER 1
#define SQLITE_TEMP_STORE 3
#define SQLITE_OMIT_WAL 1                    /* rollback journal in memory only */
#define SQLITE_OMIT_LOAD_EXTENSION 1         /* no code from outside the module */
#define SQLITE_OMIT_SHARED_CACHE 1
#define SQLITE_DEFAULT_LOCKING_MODE 1        /* exclusive: the cache survives commits */

/* Behaviour D1 and Durable Object SQLite users rely on. (LIKE and GLOB match a
** blob as SQLite's default does, and as Durable Object SQLite does: its text.) */
#define SQLITE_DEFAULT_FOREIGN_KEYS 1

/* Smaller and faster: what nobody can reach from SQL over our protocol. (Not
** SQLITE_OMIT_TCL_VARIABLE: parameter names such as $a::b and $a(x) are SQL, which
** D1 and Durable Object SQL take.) */
#define SQLITE_OMIT_DEPRECATED 1
#define SQLITE_OMIT_UTF16 1
#define SQLITE_OMIT_GET_TABLE 1
/* Deprecated, and it would re-register LIKE past the CPU meter (sqlite/unit.c). */
#define SQLITE_OMIT_CASE_SENSITIVE_LIKE_PRAGMA 1
#define SQLITE_DEFAULT_MEMSTATUS 1           /* needed by the hard heap limit */
#define SQLITE_USE_ALLOCA 1

#endif /* DOSQL_SQLITE_OPTIONS_H */
