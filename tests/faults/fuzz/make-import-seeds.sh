#!/usr/bin/env bash
# make-import-seeds.sh — writes the seeds of the fuzz_import target,
# tests/faults/fuzz/corpus/fuzz_import/*.db: small database files (512-byte pages, a few KiB) of the
# kinds POST /import brings, made by the sqlite3 CLI that `./build.sh native` builds; and the
# files of its findings, tests/faults/fuzz/findings/fuzz_import/*.db. The files are committed; run
# this from anywhere after changing what they hold, and commit them.
#
# Most hold the engine's own tables exactly as src/internal.c defines them (else the engine
# refuses the file at open, and the fuzzer learns nothing past that); a few break a rule on
# purpose (a stranger's _dosql_changes, log rows no capture writes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
readonly CLI=wasm/build/native/sqlite3
OUT=tests/faults/fuzz/corpus/fuzz_import
[[ -x $CLI ]] || { echo "make-import-seeds.sh: $CLI is missing: run ./build.sh native" >&2; exit 1; }
mkdir -p "$OUT" tests/faults/fuzz/findings/fuzz_import

# The engine's tables, text for text as src/internal.c writes them.
readonly INTERNAL="CREATE TABLE _dosql_migrations(  name TEXT PRIMARY KEY,  checksum TEXT NOT NULL,  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE TABLE _dosql_changes(  lsn INTEGER PRIMARY KEY,  tx_id INTEGER NOT NULL,  ts INTEGER NOT NULL,  type TEXT NOT NULL,  tbl TEXT NOT NULL COLLATE NOCASE,  data TEXT NOT NULL,  old TEXT);
INSERT INTO _dosql_migrations(name, checksum, applied_at) VALUES('001_init.sql', '0123456789abcdef', '2026-01-01T00:00:00.000Z');"

# seed NAME [PAGE_SIZE] < SQL: one database file NAME.db.
seed() {
  local db=$OUT/$1.db
  rm -f "$db"
  { printf 'PRAGMA page_size=%s;\n' "${2:-512}"; cat; } | "$CLI" -bail "$db" >/dev/null
  printf '  %-50s %6d bytes\n' "$db" "$(wc -c < "$db")"
}

seed plain-file <<'SQL'
CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT, at REAL);
INSERT INTO notes(body, at) VALUES('a file that never saw DoSQL', 1.5), ('second', NULL);
SQL

seed empty-dosql <<SQL
$INTERNAL
SQL

seed change-log <<SQL
$INTERNAL
CREATE TABLE t(id INTEGER PRIMARY KEY, v);
INSERT INTO t VALUES(1, 'b');
INSERT INTO _dosql_changes VALUES
  (1, 1, 1767225600000, 'insert', 't', '{"id":1,"v":"a"}', NULL),
  (2, 2, 1767225600001, 'update', 't', '{"id":1,"v":"b"}', '{"id":1,"v":"a"}'),
  (3, 3, 1767225600002, 'insert', 't', '{"id":2,"v":{"\$blob":"AP8="}}', NULL),
  (4, 3, 1767225600002, 'delete', 't', '{"id":2,"v":{"\$blob":"AP8="}}', NULL);
SQL

seed triggers-views <<SQL
$INTERNAL
CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, n INTEGER DEFAULT 0);
CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE, title TEXT);
CREATE INDEX posts_user ON posts(user_id);
CREATE TABLE audit(at INTEGER, what TEXT);
CREATE TRIGGER posts_count AFTER INSERT ON posts BEGIN
  UPDATE users SET n = n + 1 WHERE id = new.user_id;
  INSERT INTO audit VALUES(unixepoch(), 'post ' || new.id);
END;
CREATE TRIGGER users_gone BEFORE DELETE ON users BEGIN
  INSERT INTO audit VALUES(unixepoch(), 'user ' || old.id);
END;
CREATE VIEW user_posts AS SELECT u.email, p.title FROM users u JOIN posts p ON p.user_id = u.id;
INSERT INTO users(email) VALUES('a@example.com'), ('b@example.com');
INSERT INTO posts(user_id, title) VALUES(1, 'hello'), (1, 'again'), (2, 'hi');
INSERT INTO _dosql_changes VALUES
  (1, 1, 1767225600000, 'insert', 'users', '{"id":1,"email":"a@example.com","n":0}', NULL),
  (2, 2, 1767225600000, 'insert', 'posts', '{"id":1,"user_id":1,"title":"hello"}', NULL);
SQL

seed fts5 <<SQL
$INTERNAL
CREATE VIRTUAL TABLE doc USING fts5(title, body, tokenize='porter unicode61');
INSERT INTO doc VALUES('one', 'the quick brown fox'), ('two', 'jumps over the lazy dog'),
  ('three', 'pack my box with five dozen liquor jugs');
CREATE TABLE src(id INTEGER PRIMARY KEY, body TEXT);
CREATE VIRTUAL TABLE ext USING fts5(body, content='src', content_rowid='id');
INSERT INTO src VALUES(1, 'external content'), (2, 'more content');
INSERT INTO ext(ext) VALUES('rebuild');
SQL

seed rtree-geopoly <<SQL
$INTERNAL
CREATE VIRTUAL TABLE box USING rtree(id, x0, x1, y0, y1, +label);
INSERT INTO box VALUES(1, 0, 1, 0, 1, 'unit'), (2, -5, 5, -5, 5, 'big'), (3, 2, 3, 2, 3, 'far');
CREATE VIRTUAL TABLE shape USING geopoly(name);
INSERT INTO shape(_shape, name) VALUES('[[0,0],[1,0],[0.5,1],[0,0]]', 'triangle');
SQL

seed rowid-kinds <<SQL
$INTERNAL
CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
CREATE TABLE g(x INTEGER, y AS (x * 2) VIRTUAL, z TEXT AS ('#' || x) STORED);
CREATE TABLE s(id INTEGER PRIMARY KEY, n INT, r REAL, t TEXT, b BLOB, a ANY) STRICT;
INSERT INTO kv VALUES('a', x'00'), ('b', zeroblob(40)), ('c', NULL);
INSERT INTO g(x) VALUES(1), (2), (9007199254740993);
INSERT INTO s VALUES(1, 2, 0.5, 'é', x'ff', 'any'), (2, -9223372036854775808, 1e308, '', x'', NULL);
SQL

seed overflow <<SQL
$INTERNAL
CREATE TABLE big(id INTEGER PRIMARY KEY, body TEXT, pic BLOB);
INSERT INTO big(body, pic) VALUES(printf('%.3000c', 'x'), randomblob(2500)), ('short', zeroblob(1200));
CREATE INDEX big_body ON big(substr(body, 1, 300));
SQL

seed freelist-autovacuum <<SQL
PRAGMA auto_vacuum=FULL;
$INTERNAL
CREATE TABLE t(id INTEGER PRIMARY KEY, v);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
  INSERT INTO t(v) SELECT printf('%.40c', 'v') FROM n;
DELETE FROM t WHERE id % 3;
SQL

seed freelist <<SQL
$INTERNAL
CREATE TABLE t(id INTEGER PRIMARY KEY, v);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
  INSERT INTO t(v) SELECT printf('%.40c', 'v') FROM n;
DELETE FROM t WHERE id > 20;
SQL

seed page-1024 1024 <<SQL
$INTERNAL
CREATE TABLE t(x);
INSERT INTO t VALUES(1), ('two'), (x'03');
SQL

seed page-4096 4096 <<SQL
$INTERNAL
SQL

seed lsn-near-limit <<SQL
$INTERNAL
CREATE TABLE t(id INTEGER PRIMARY KEY, v);
INSERT INTO _dosql_changes VALUES
  (9007199254740990, 9007199254740990, 9007199254740991, 'insert', 't', '{"id":1,"v":1}', NULL),
  (9007199254740991, 9007199254740991, 9007199254740991, 'delete', 't', '{"id":1,"v":1}', NULL);
SQL

# Rows capture never writes, which the import check refuses.
seed log-not-json <<SQL
$INTERNAL
CREATE TABLE t(id INTEGER PRIMARY KEY, v);
INSERT INTO _dosql_changes VALUES(1, 1, 1767225600000, 'insert', 't', '{"id":', NULL),
  (2, 1, 1767225600000, 'update', 't', '[]', 'nope');
SQL

seed log-lsn-max <<SQL
$INTERNAL
CREATE TABLE t(id INTEGER PRIMARY KEY, v);
INSERT INTO _dosql_changes VALUES(9223372036854775807, 1, -1, 'insert', 't', '{}', NULL);
SQL

seed log-stranger-schema <<'SQL'
CREATE TABLE _dosql_changes(lsn INTEGER PRIMARY KEY, tx_id, ts, type, tbl, data, old);
INSERT INTO _dosql_changes VALUES(1, 1, 1767225600000, 'insert', 't', NULL, NULL);
CREATE TRIGGER _dosql_spy AFTER INSERT ON _dosql_changes BEGIN SELECT 1; END;
SQL

# Findings: files the import check accepts, whose change log /changes then answers with text
# that is not valid UTF-8, or with an object holding one key twice (tests/faults/fuzz/README.md).
OUT=tests/faults/fuzz/findings/fuzz_import

seed log-invalid-utf8 <<SQL
$INTERNAL
CREATE TABLE t(id INTEGER PRIMARY KEY, v);
INSERT INTO _dosql_changes VALUES(1, 1, 1767225600000, 'insert', 't',
  '{"v":"' || CAST(x'ffc0aeeda080' AS TEXT) || '"}', NULL);
SQL

seed log-duplicate-keys <<SQL
$INTERNAL
CREATE TABLE t(id INTEGER PRIMARY KEY, v);
INSERT INTO _dosql_changes VALUES(1, 1, 1767225600000, 'insert', 't', '{"id":1,"id":2}', NULL);
SQL
