#!/usr/bin/env bash
# build.sh — the one entry point for fetching dependencies, building and testing DoSQL.
#
#   ./build.sh deps     install the toolchain and fetch pinned third-party sources into deps/
#   ./build.sh wasm     build worker-shim/dist/dosql.wasm
#   ./build.sh native   build src/ natively with ASan+UBSan, the C tests and a sqlite3 CLI
#   ./build.sh test     all of the above, then every test suite; ends in "N passed, N failed"
#   ./build.sh dev      build, then serve the worker locally with wrangler
#   ./build.sh clean    remove build outputs (deps/ stays)
#   ./build.sh bench    build, then time DoSQL against native DO SQL and D1 (minutes): writes
#                       bench/results.json, bench/ratios.svg, BENCHMARKS.md (--smoke: tiny, seconds)
#   ./build.sh speedtest  build SQLite's speedtest1 natively and as wasm (tests/bench/speedtest1/)
#   ./build.sh fuzz [SECONDS]  build the libFuzzer targets (tests/fuzz/) and run each SECONDS
#                       (default 60): executions, coverage, findings (in wasm/build/fuzz/findings/)
#   ./build.sh load [--clients N] [--seconds T] [--tenants K]  build, then load wrangler dev with mixed
#                       traffic and check every acknowledged write (default 8 × 60 s × 4): tests/load/results.md
#
# Every command is idempotent and incremental: run it again and only what changed is redone.
# Third-party code is never committed: it is fetched here, pinned by version and sha256,
# into the ignored deps/ folder.
set -euo pipefail

# ---- Pinned third-party inputs ---------------------------------------------------------
# SQLite: the official amalgamation tarball, as shipped inside the npm package sqlite3
# (the npm registry is the only non-Debian source reachable from CI). Both the npm tarball
# and the autoconf tarball inside it are checked.
readonly SQLITE_NPM_SPEC=sqlite3@6.0.1
readonly SQLITE_NPM_TGZ=sqlite3-6.0.1.tgz
readonly SQLITE_NPM_SHA256=ab8d044a93e05bd031d7ea75547c7fa60387cdc259d27f93c0e3e2832c4b1df9
readonly SQLITE_AUTOCONF=sqlite-autoconf-3520000          # SQLite 3.52.0
readonly SQLITE_AUTOCONF_SHA256=f6b50b0c103392af32a8be15b2b9d25959de9a00a70c3979128aafeaa5338b3f

# cJSON: Debian's source package. The upstream tarball is pinned by sha256; on top of it we
# apply Debian's security patches, each pinned by sha256 too, because cJSON parses request
# bodies that come straight from clients (CVE-2023-53154 is a heap over-read in the object
# parser). The Debian revision itself is not pinned: bookworm's mirror only keeps the newest
# one, so a pin there would break the build at every Debian security update.
readonly CJSON_VERSION=1.7.15
readonly CJSON_ORIG_SHA256=5308fd4bd90cef7aa060558514de6a1a4a0819974a26e6ed13973c5f624c24b2
readonly CJSON_PATCHES=(  # in the order of debian/patches/series (1.7.15-1+deb12u4)
  "0001-add-null-checkings.patch 56fa6e5fcf5e8c6dbc5e3d1c506d438b4a2d92ffe9628569855dc026c50756f1"
  "0002-add-null-check-to-cjson-setvaluestring.patch d77500bb4091c25b174d0fef3e0c26074d69414109337e78128213c5a50f4208"
  "0001-allocate-memory-for-the-temporary-buffer.patch 3e37231673074becb7cf78ecc486105dad0bc1f32d25731d4ed97eabc484c72b"
  "0002-Fix-heap-buffer-overflow.patch 1018f8844250283b6599e6c842e3ceb3ae27841c3b9b1e309d7226e91f60dd71"
  "CVE-2025-57052.patch 3940cbd6b5d631b763df1df90c5defdffcb0ed295f70f29f84257933316c0e1a"
)
# The mirror and keyring the machine's own /etc/apt/sources.list.d/debian.sources uses.
readonly DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly DEBIAN_SUITE=bookworm
readonly DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# speedtest1.c (SQLite's own CPU benchmark, tests/bench/speedtest1/): no npm package ships
# SQLite's test/ folder, so it comes from Debian's sqlite3 source package, the upstream
# source tree. trixie's (3.46.1) rather than sid's (closer to 3.52.0, but its mirror drops
# it at the next upload) or bookworm's (3.40.1). It is compiled against our 3.52.0.
readonly SPEEDTEST1_SUITE=trixie
readonly SPEEDTEST1_SQLITE_VERSION=3.46.1
readonly SPEEDTEST1_ORIG_SHA256=d0cdd2ece271b29e7ce18095745d892517ee26d0f270065b3a25c2e9eb11639c
readonly SPEEDTEST1_SHA256=81875fcd4bfb76bbf21568f021e81452a72539f76db9982d9114da3bafee22cc

# Debian packages the build needs. clang 14 + wasi-libc + the wasm32 builtins are a wasi-sdk
# equivalent; binaryen gives wasm-opt, wabt gives wasm-objdump (tests read the module's
# imports and exports with it); gcc builds the native sanitizer build; git applies patches;
# clang-14 and its libFuzzer runtime (libclang-rt-14-dev) build the fuzz targets.
readonly APT_WASM_TOOLCHAIN=(clang lld wasi-libc libclang-rt-14-dev-wasm32)
readonly APT_ALWAYS=(binaryen wabt gcc libc6-dev git xz-utils clang-14 libclang-rt-14-dev)

# ---- Layout -----------------------------------------------------------------------------
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly ROOT
cd "$ROOT"   # every path below is relative to the repo root

readonly BUILD=wasm/build
readonly WASM_OBJ=$BUILD/obj
readonly NATIVE=$BUILD/native
readonly NATIVE_OBJ=$NATIVE/obj
readonly LOGS=$BUILD/logs
readonly DIST=worker-shim/dist

# Offline and quiet wrangler/miniflare (no metrics, no Cloudflare lookups), for dev and tests.
# npm: no "new version available" notices in build logs.
export NPM_CONFIG_UPDATE_NOTIFIER=false
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false \
       WRANGLER_HIDE_BANNER=true CLOUDFLARE_CF_FETCH_ENABLED=false

# ---- Compiler flags ---------------------------------------------------------------------
# Shared by every translation unit, wasm and native: the one SQLite options header is
# force-included so sqlite3.c, cJSON.c and our code agree on every SQLITE_* option.
readonly INCLUDES=(-include src/sqlite_options.h -Ideps/sqlite -Ideps/cjson -Isrc)
# Our own code must be warning-free; third-party code is compiled as it is.
readonly OUR_WARNINGS=(-Wall -Wextra -Werror)
# SQLite's translation unit: the amalgamation, included by the one file of ours that needs
# its internals (src/sqlite/unit.c meters built-in SQL functions), compiled as third-party
# code. Every build of the engine (wasm, native tests, fuzzers, speedtest) compiles this.
readonly SQLITE_UNIT=src/sqlite/unit.c

if [[ -n ${WASI_SDK_PATH:-} ]]; then
  WASM_CC=("$WASI_SDK_PATH/bin/clang" "--sysroot=$WASI_SDK_PATH/share/wasi-sysroot")
else
  WASM_CC=(clang)   # Debian's clang finds wasi-libc under /usr/{include,lib}/wasm32-wasi
fi
readonly WASM_CC
# Size-optimised release. -mexec-model=reactor is a link flag (wasm/link.flags): at compile
# time clang warns it is unused, which -Werror would turn into an error.
readonly WASM_CFLAGS=(--target=wasm32-wasi -Oz -DNDEBUG "${INCLUDES[@]}")
# wasm-opt after linking: -Oz. -O2/-O3 (and clang -O2, 70% larger) were not measurably
# faster in a Node benchmark of inserts, scans and point queries, so size wins. The
# post-MVP features workerd runs (-mbulk-memory -msign-ext -mnontrapping-fptoint) were
# tried too: speedtest1 moved within its noise, and a 152k-row GROUP BY ran 8% slower
# in Node in two interleaved runs, so they stay off.
readonly WASM_OPT_FLAGS=(-Oz)

readonly NATIVE_CC=${CC:-cc}
# Debug build under AddressSanitizer and UndefinedBehaviorSanitizer; any report is fatal.
# shellcheck disable=SC2054  # the comma in -fsanitize=address,undefined is meant
readonly NATIVE_CFLAGS=(-g -O1 -fno-omit-frame-pointer
                        -fsanitize=address,undefined -fno-sanitize-recover=all
                        "${INCLUDES[@]}")
# The sqlite3 shell for tests that inspect database files: SQLite's defaults (not our
# options header, which has no OS layer) plus the extensions our databases may contain.
readonly CLI_CFLAGS=(-O1 -DSQLITE_THREADSAFE=0 -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_RTREE
                     -DSQLITE_ENABLE_GEOPOLY -DSQLITE_ENABLE_MATH_FUNCTIONS
                     -DSQLITE_ENABLE_DBSTAT_VTAB)

# ---- Small helpers ----------------------------------------------------------------------
say() { printf '%s\n' "$@"; }   # one line per argument
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

# sha256_is FILE HEX: true when FILE exists and its sha256 is HEX.
sha256_is() {
  [[ -f $1 ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}

# verify_sha256 FILE HEX: stop the build when FILE is not exactly what was pinned.
verify_sha256() {
  sha256_is "$1" "$2" ||
    die "$1: sha256 is $(sha256sum "$1" | cut -d' ' -f1), expected $2 (pinned in build.sh)"
}

# stamp_ok DIR: true when DIR/SHA256SUMS exists and every file it lists is unchanged.
# The stamp is written only after the pinned inputs were verified and extracted.
stamp_ok() {
  [[ -f $1/SHA256SUMS ]] && (cd "$1" && sha256sum --check --quiet --status SHA256SUMS)
}

# write_stamp DIR FILE...: record the sha256 of the extracted FILEs (names relative to DIR).
write_stamp() {
  local dir=$1; shift
  (cd "$dir" && sha256sum "$@" > SHA256SUMS)
}

# ---- deps: toolchain ---------------------------------------------------------------------
# apt_missing PKG...: print the packages that are not installed.
apt_missing() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
      printf '%s\n' "$pkg"
  done
}

# ensure_apt_packages: install what is missing (CI runs as root on a fresh machine);
# anyone else gets the exact command to run.
ensure_apt_packages() {
  local wanted=("${APT_ALWAYS[@]}") missing
  [[ -n ${WASI_SDK_PATH:-} ]] || wanted+=("${APT_WASM_TOOLCHAIN[@]}")
  mapfile -t missing < <(apt_missing "${wanted[@]}")
  (( ${#missing[@]} == 0 )) && return 0
  if (( EUID != 0 )); then
    die "missing Debian packages; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  fi
  say "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# check_toolchain: the compilers answer, whichever way they were provided.
check_toolchain() {
  if [[ -n ${WASI_SDK_PATH:-} && ! -x ${WASM_CC[0]} ]]; then
    die "WASI_SDK_PATH=$WASI_SDK_PATH has no bin/clang"
  fi
  local tool
  for tool in "${WASM_CC[0]}" wasm-opt wasm-objdump "$NATIVE_CC"; do
    command -v "$tool" >/dev/null || die "$tool not found (run ./build.sh deps as root)"
  done
}

# ---- deps: node -------------------------------------------------------------------------
# ensure_node_modules: wrangler and miniflare, exactly as package-lock.json pins them.
ensure_node_modules() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    die "node and npm are needed (Node 20 or newer)"
  fi
  node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
    die "Node $(node --version) is too old: wrangler 4 needs Node 20 or newer"
  # npm ci writes node_modules/.package-lock.json: older than the lockfile = stale.
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    say "deps: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

# ---- deps: SQLite -----------------------------------------------------------------------
# fetch_sqlite: deps/sqlite/{sqlite3.c,sqlite3.h,sqlite3ext.h,shell.c} from the pinned npm
# tarball's pinned autoconf tarball.
fetch_sqlite() {
  local dir=deps/sqlite files=(sqlite3.c sqlite3.h sqlite3ext.h shell.c)
  stamp_ok "$dir" && return 0
  say "deps: SQLite from $SQLITE_NPM_SPEC"
  mkdir -p deps/npm
  local tgz=deps/npm/$SQLITE_NPM_TGZ
  # npm pack checks the registry's sha512 on the way; we check our own pin after.
  sha256_is "$tgz" "$SQLITE_NPM_SHA256" ||
    npm pack "$SQLITE_NPM_SPEC" --pack-destination deps/npm --silent --loglevel=error >/dev/null
  verify_sha256 "$tgz" "$SQLITE_NPM_SHA256"

  local inner=deps/npm/$SQLITE_AUTOCONF.tar.gz
  tar -xzOf "$tgz" "package/deps/$SQLITE_AUTOCONF.tar.gz" > "$inner"
  verify_sha256 "$inner" "$SQLITE_AUTOCONF_SHA256"

  rm -rf "$dir" && mkdir -p "$dir"
  # --touch: a newer SQLite must look newer than old objects; --no-same-owner: as root, tar
  # would otherwise keep the packager's uid.
  tar -xzf "$inner" -C "$dir" --touch --no-same-owner --strip-components=1 "${files[@]/#/$SQLITE_AUTOCONF/}"
  write_stamp "$dir" "${files[@]}"
}

# ---- deps: cJSON ------------------------------------------------------------------------
# A private apt configuration inside deps/apt: its own sources list (one deb-src line), its
# own package lists and cache, so the machine's apt sources are never touched and this works
# without root. Debian's signed Release file still vouches for every download.
APT_DIR=$ROOT/deps/apt
APT_OPTS=(-qq -o "Dir::Etc::SourceList=$APT_DIR/sources.list"
          -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d"
          -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache")
# As root, apt would drop to the _apt user to download, and _apt may not write into deps/.
if (( EUID == 0 )); then APT_OPTS+=(-o APT::Sandbox::User=root); fi
readonly APT_DIR APT_OPTS

# fetch_cjson: deps/cjson/{cJSON.c,cJSON.h} = pinned upstream tarball + pinned Debian patches.
fetch_cjson() {
  local dir=deps/cjson
  stamp_ok "$dir" && return 0
  say "deps: cJSON $CJSON_VERSION from Debian's source package"
  mkdir -p "$APT_DIR"/{sources.list.d,lists/partial,cache/archives/partial,src}
  printf 'deb-src [signed-by=%s] %s %s main\n' "$DEBIAN_KEYRING" "$DEBIAN_MIRROR" "$DEBIAN_SUITE" \
    > "$APT_DIR/sources.list"
  apt-get "${APT_OPTS[@]}" update
  # Downloads the .dsc, the upstream .orig.tar.gz and Debian's .debian.tar.xz (no unpacking,
  # so dpkg-dev is not needed). Each is checked against the signed Sources index.
  rm -f "$APT_DIR"/src/cjson_*
  # (stdout is only apt's "packaging is maintained in git" notice; errors go to stderr)
  (cd "$APT_DIR/src" && apt-get "${APT_OPTS[@]}" source --download-only cjson >/dev/null)

  local orig=$APT_DIR/src/cjson_$CJSON_VERSION.orig.tar.gz debian
  verify_sha256 "$orig" "$CJSON_ORIG_SHA256"
  debian=$(compgen -G "$APT_DIR/src/cjson_$CJSON_VERSION-*.debian.tar.xz" | head -n1) ||
    die "Debian's cjson source package no longer has version $CJSON_VERSION"

  local work=$APT_DIR/work
  rm -rf "$work" && mkdir -p "$work"
  tar -xzf "$orig" -C "$work" --no-same-owner
  tar -xJf "$debian" -C "$work" --no-same-owner debian/patches
  apply_cjson_patches "$work"

  rm -rf "$dir" && mkdir -p "$dir"
  cp "$work/cJSON-$CJSON_VERSION"/{cJSON.c,cJSON.h,LICENSE} "$dir/"
  basename "$debian" > "$dir/DEBIAN_SOURCE"   # which Debian revision the patches came from
  write_stamp "$dir" cJSON.c cJSON.h
  rm -rf "$work"
}

# apply_cjson_patches WORK: apply the pinned patches from WORK/debian/patches to the upstream
# tree in WORK, refusing any whose content differs from its pin. A patch Debian added after
# the pin is reported, not applied: a person reviews it and pins it.
apply_cjson_patches() {
  local work=$1 entry name sum pinned=() extra
  for entry in "${CJSON_PATCHES[@]}"; do
    read -r name sum <<<"$entry"
    verify_sha256 "$work/debian/patches/$name" "$sum"
    # The ceiling stops git from taking the enclosing repository for the patch target.
    (cd "$work/cJSON-$CJSON_VERSION" &&
       GIT_CEILING_DIRECTORIES=$APT_DIR git apply -p1 "../debian/patches/$name")
    pinned+=("$name")
  done
  extra=$(grep -v -x -F "${pinned[@]/#/-e}" "$work/debian/patches/series" | grep -v '^#' || true)
  [[ -z $extra ]] || say "deps: WARNING: Debian's cjson has patches not pinned here: $extra"
}

# ---- deps: speedtest1.c -----------------------------------------------------------------
# fetch_speedtest1: deps/speedtest1/speedtest1.c from the pinned upstream tarball of Debian's
# sqlite3 source package (SPEEDTEST1_SUITE). Its own private apt folder, as for cJSON, so
# the two suites' package lists never mix.
fetch_speedtest1() {
  local dir=deps/speedtest1 apt=$ROOT/deps/apt-speedtest1
  stamp_ok "$dir" && return 0
  say "deps: speedtest1.c from Debian's sqlite3 $SPEEDTEST1_SQLITE_VERSION ($SPEEDTEST1_SUITE)"
  local opts=(-qq -o "Dir::Etc::SourceList=$apt/sources.list"
              -o "Dir::Etc::SourceParts=$apt/sources.list.d"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")
  if (( EUID == 0 )); then opts+=(-o APT::Sandbox::User=root); fi
  local orig=$apt/src/sqlite3_$SPEEDTEST1_SQLITE_VERSION.orig.tar.xz
  if ! sha256_is "$orig" "$SPEEDTEST1_ORIG_SHA256"; then
    mkdir -p "$apt"/{sources.list.d,lists/partial,cache/archives/partial,src}
    printf 'deb-src [signed-by=%s] %s %s main\n' "$DEBIAN_KEYRING" "$DEBIAN_MIRROR" \
      "$SPEEDTEST1_SUITE" > "$apt/sources.list"
    apt-get "${opts[@]}" update
    rm -f "$apt"/src/sqlite3_*
    (cd "$apt/src" && apt-get "${opts[@]}" source --download-only \
       "sqlite3/$SPEEDTEST1_SUITE" >/dev/null)
  fi
  verify_sha256 "$orig" "$SPEEDTEST1_ORIG_SHA256"
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xJf "$orig" -C "$dir" --touch --no-same-owner --strip-components=2 \
    "sqlite3-$SPEEDTEST1_SQLITE_VERSION/test/speedtest1.c"
  verify_sha256 "$dir/speedtest1.c" "$SPEEDTEST1_SHA256"
  write_stamp "$dir" speedtest1.c
}

DEPS_DONE=0
cmd_deps() {
  (( DEPS_DONE )) && return 0
  ensure_apt_packages
  check_toolchain
  ensure_node_modules
  fetch_sqlite
  fetch_cjson
  fetch_speedtest1
  DEPS_DONE=1
}

# ---- Incremental compilation ------------------------------------------------------------
# Each object O has O.d (the headers it included, from -MMD) and O.cmd (the command that made
# it). O is rebuilt when it is missing, when the command changed, or when any file in O.d is
# newer. Compiles run in the background, at most JOBS at a time, so the long compiles of
# sqlite3.c (wasm ~20 s, native with sanitizers ~50 s, the CLI's ~25 s) overlap.
JOBS=${JOBS:-$(nproc)}
FAILED_JOBS=$BUILD/.failed-jobs

# is_stale OUT CMD: true when OUT must be rebuilt by CMD (a string).
is_stale() {
  local out=$1 cmd=$2 dep
  [[ -f $out && -f $out.cmd && -f $out.d ]] || return 0
  [[ "$(<"$out.cmd")" == "$cmd" ]] || return 0
  # A depfile reads "target: dep dep \" over several lines; drop the target and the "\".
  # shellcheck disable=SC2013  # paths here never contain spaces: words are what we want
  for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$out.d"); do
    [[ -f $dep && ! $dep -nt $out ]] || return 0
  done
  return 1
}

# spawn WHAT CMD...: run CMD in the background once fewer than JOBS are running; a failure
# is recorded as WHAT in FAILED_JOBS for jobs_wait (background exit statuses are easy to lose).
spawn() {
  local what=$1; shift
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
  ( "$@" || printf '%s\n' "$what" >> "$FAILED_JOBS" ) &
}

# jobs_wait: wait for every spawned job; stop the build if any failed.
jobs_wait() {
  wait
  if [[ -s $FAILED_JOBS ]]; then
    say "build failed:" >&2
    sed 's/^/  /' "$FAILED_JOBS" >&2
    rm -f "$FAILED_JOBS"
    exit 1
  fi
}

# compile OUT SRC CC-AND-FLAGS...: compile SRC to OUT in the background when stale.
compile() {
  local out=$1 src=$2; shift 2
  local cmd="$* -c $src -o $out"
  is_stale "$out" "$cmd" || return 0
  mkdir -p "$(dirname "$out")"
  rm -f "$out.cmd"   # a failed compile must not leave a stamp that looks current
  say "  CC $src -> $out"
  spawn "$src -> $out" compile_now "$out" "$src" "$cmd" "$@"
}
compile_now() {
  local out=$1 src=$2 cmd=$3; shift 3
  # Explicit "|| return": spawn runs this on the left of "||", where set -e does not apply.
  "$@" -MMD -MF "$out.d" -c "$src" -o "$out" || return 1
  printf '%s' "$cmd" > "$out.cmd"
}

# needs_link OUT CMD INPUT...: true when OUT must be relinked (missing, new command, or any
# INPUT newer than it).
needs_link() {
  local out=$1 cmd=$2 input; shift 2
  [[ -f $out && -f $out.cmd && "$(<"$out.cmd")" == "$cmd" ]] || return 0
  for input in "$@"; do [[ ! $input -nt $out ]] || return 0; done
  return 1
}

# link OUT OBJS-ARRAY-NAME CC FLAGS...: link the objects in the named array when stale. The
# objects go between CC and FLAGS, so libraries (-lm) come after what needs them.
link() {
  local out=$1 cc=$3
  local -n link_objs=$2
  shift 3
  local cmd="$cc ${link_objs[*]} $* -o $out"
  needs_link "$out" "$cmd" "${link_objs[@]}" || return 0
  say "  LD $out"
  rm -f "$out.cmd"
  "$cc" "${link_objs[@]}" "$@" -o "$out"
  printf '%s' "$cmd" > "$out.cmd"
}

# our_sources: our translation units, every src/*.c (sorted, so builds are reproducible).
our_sources() { compgen -G 'src/*.c' | LC_ALL=C sort || true; }

# obj_for DIR SRC: the object path for SRC under DIR.
obj_for() { local base=${2##*/}; printf '%s/%s.o' "$1" "${base%.c}"; }

# ---- wasm -------------------------------------------------------------------------------
# wasm_compile: queue every object of dosql.wasm. sqlite3.c first: it is the long one.
wasm_compile() {
  mkdir -p "$WASM_OBJ"
  compile "$WASM_OBJ/sqlite3.o" "$SQLITE_UNIT" "${WASM_CC[@]}" "${WASM_CFLAGS[@]}"
  compile "$WASM_OBJ/cJSON.o" deps/cjson/cJSON.c "${WASM_CC[@]}" "${WASM_CFLAGS[@]}"
  local src
  while read -r src; do
    compile "$(obj_for "$WASM_OBJ" "$src")" "$src" "${WASM_CC[@]}" "${WASM_CFLAGS[@]}" "${OUR_WARNINGS[@]}"
  done < <(our_sources)
}

# wasm_link_flags: wasm/link.flags (comments and blank lines dropped) plus one
# -Wl,--export=NAME per line of wasm/exports.txt: the module exports that list and memory.
wasm_link_flags() {
  grep -v -E '^[[:space:]]*(#|$)' wasm/link.flags
  local name
  while read -r name; do
    [[ -n $name ]] && printf -- '-Wl,--export=%s\n' "$name"
  done < wasm/exports.txt
}

# wasm_link: wasm/build/dosql.wasm, then wasm-opt into worker-shim/dist/dosql.wasm.
wasm_link() {
  local objs=() flags src
  [[ -n $(our_sources) ]] || die "no src/*.c to build"
  objs=("$WASM_OBJ/sqlite3.o" "$WASM_OBJ/cJSON.o")
  while read -r src; do objs+=("$(obj_for "$WASM_OBJ" "$src")"); done < <(our_sources)
  mapfile -t flags < <(wasm_link_flags)
  # Not -O at link time: clang would then run wasm-opt itself; we run it once, below.
  # The flags (exports included) are part of the recorded command: editing wasm/link.flags
  # or wasm/exports.txt relinks.
  link "$BUILD/dosql.wasm" objs "${WASM_CC[@]}" --target=wasm32-wasi "${flags[@]}"
  mkdir -p "$DIST"
  if [[ ! -f $DIST/dosql.wasm || $BUILD/dosql.wasm -nt $DIST/dosql.wasm ]]; then
    say "  OPT wasm-opt ${WASM_OPT_FLAGS[*]} -> $DIST/dosql.wasm"
    wasm-opt "${WASM_OPT_FLAGS[@]}" "$BUILD/dosql.wasm" -o "$DIST/dosql.wasm"
  fi
  report_wasm
}

# report_wasm: sizes (raw and gzip -9, what Workers' size limit counts) and the module's
# imports, so a new import shows up in every build log.
report_wasm() {
  local f
  for f in "$BUILD/dosql.wasm" "$DIST/dosql.wasm"; do
    printf '  %-28s %9d bytes, %9d gzipped\n' "$f" "$(wc -c < "$f")" "$(gzip -9 -c "$f" | wc -c)"
  done
  say "  imports: $(wasm-objdump -x -j Import "$DIST/dosql.wasm" | sed -n 's/.*<- //p' | tr '\n' ' ')"
}

cmd_wasm() {
  cmd_deps
  wasm_compile
  jobs_wait
  wasm_link
}

# ---- native -----------------------------------------------------------------------------
# native_compile: queue src/*.c, sqlite3.c, cJSON.c and tests/c/*.c under the sanitizers,
# and the sqlite3 CLI.
native_compile() {
  mkdir -p "$NATIVE_OBJ"
  compile "$NATIVE_OBJ/sqlite3.o" "$SQLITE_UNIT" "$NATIVE_CC" "${NATIVE_CFLAGS[@]}"
  compile "$NATIVE_OBJ/cli-sqlite3.o" deps/sqlite/sqlite3.c "$NATIVE_CC" "${CLI_CFLAGS[@]}"
  compile "$NATIVE_OBJ/cli-shell.o" deps/sqlite/shell.c "$NATIVE_CC" "${CLI_CFLAGS[@]}" -Ideps/sqlite
  compile "$NATIVE_OBJ/cJSON.o" deps/cjson/cJSON.c "$NATIVE_CC" "${NATIVE_CFLAGS[@]}"
  local src
  while read -r src; do
    compile "$(obj_for "$NATIVE_OBJ" "$src")" "$src" "$NATIVE_CC" "${NATIVE_CFLAGS[@]}" "${OUR_WARNINGS[@]}"
  done < <(our_sources)
  # The C tests, listed once so that linking and running agree even while files are added.
  mapfile -t C_TESTS < <(compgen -G 'tests/c/test_*.c' | LC_ALL=C sort || true)
  # Test objects apart, so a test file can never shadow a src/ object of the same name.
  for src in "${C_TESTS[@]}" tests/c/host_mem.c; do
    [[ -f $src ]] || continue
    compile "$(obj_for "$NATIVE_OBJ/tests" "$src")" "$src" "$NATIVE_CC" "${NATIVE_CFLAGS[@]}" "${OUR_WARNINGS[@]}"
  done
}
C_TESTS=()   # tests/c/test_*.c, each of which becomes one binary

# native_link: the sqlite3 CLI, libdosql.a (src + SQLite + cJSON, for fuzzers and
# benchmarks) and one binary per C test, linked with the native host tests/c/host_mem.c.
native_link() {
  # shellcheck disable=SC2034  # read through link's nameref
  local cli=("$NATIVE_OBJ/cli-shell.o" "$NATIVE_OBJ/cli-sqlite3.o")
  link "$NATIVE/sqlite3" cli "$NATIVE_CC" -ldl -lm

  local lib=("$NATIVE_OBJ/sqlite3.o" "$NATIVE_OBJ/cJSON.o") src
  while read -r src; do lib+=("$(obj_for "$NATIVE_OBJ" "$src")"); done < <(our_sources)
  if needs_link "$NATIVE/libdosql.a" "ar" "${lib[@]}"; then
    say "  AR $NATIVE/libdosql.a"
    rm -f "$NATIVE/libdosql.a"
    ar rcs "$NATIVE/libdosql.a" "${lib[@]}"
    printf 'ar' > "$NATIVE/libdosql.a.cmd"
  fi

  (( ${#C_TESTS[@]} > 0 )) || { say "  (no tests/c/test_*.c yet)"; return 0; }
  [[ -f tests/c/host_mem.c ]] || die "tests/c/host_mem.c is missing: the C tests need the native host"
  local inputs
  for src in "${C_TESTS[@]}"; do
    # shellcheck disable=SC2034  # read through link's nameref
    inputs=("$(obj_for "$NATIVE_OBJ/tests" "$src")" "$NATIVE_OBJ/tests/host_mem.o" "${lib[@]}")
    link "$NATIVE/$(basename "${src%.c}")" inputs "$NATIVE_CC" -g -fsanitize=address,undefined -lm
  done
}

cmd_native() {
  cmd_deps
  native_compile
  jobs_wait
  native_link
}

# ---- speedtest: SQLite's speedtest1, native and wasm (tests/bench/speedtest1/) ----------
# Not part of `test`: tests/bench/speedtest1/run.mjs builds with `./build.sh speedtest` and
# compares the times. Both sides link speedtest1.c with SQLite, cJSON and every src/*.c, so
# the database lives in our VFS "dosql": natively over tests/c/host_mem.c, in wasm over
# worker-shim/src/host.js with pages in a Map. The wasm side is a WASI command (main,
# printf): only this benchmark binary imports wasi_snapshot_preview1, never dosql.wasm.
readonly SPEEDTEST=$BUILD/speedtest
# The native side is a speed build: -O2 and no sanitizers, our options header as always.
readonly SPEEDTEST_NATIVE_CFLAGS=(-O2 -DNDEBUG "${INCLUDES[@]}")
# Wasm variants, "NAME|CLANG FLAGS|WASM-OPT FLAGS": the clang flags take the place of -Oz
# in WASM_CFLAGS. "oz" is built exactly as dosql.wasm is. SPEEDTEST_WASM_VARIANTS adds more
# for one run, ';' between them, e.g. "simd|-O2 -msimd128|-O2 --enable-simd".
readonly SPEEDTEST_WASM_DEFAULT=("oz|-Oz|${WASM_OPT_FLAGS[*]}" "o2|-O2|-O2")

# speedtest_queue DIR CC FLAGS...: queue every object of one speedtest1 binary into DIR.
speedtest_queue() {
  local dir=$1 src; shift
  compile "$dir/sqlite3.o" "$SQLITE_UNIT" "$@"
  compile "$dir/cJSON.o" deps/cjson/cJSON.c "$@"
  compile "$dir/speedtest1.o" deps/speedtest1/speedtest1.c "$@"
  while read -r src; do
    compile "$(obj_for "$dir" "$src")" "$src" "$@" "${OUR_WARNINGS[@]}"
  done < <(our_sources)
}

# speedtest_objs DIR: the objects speedtest_queue made, one per line.
speedtest_objs() {
  local src
  printf '%s\n' "$1/speedtest1.o" "$1/sqlite3.o" "$1/cJSON.o"
  while read -r src; do obj_for "$1" "$src"; printf '\n'; done < <(our_sources)
}

# speedtest_variants: the wasm variant lines to build.
speedtest_variants() {
  printf '%s\n' "${SPEEDTEST_WASM_DEFAULT[@]}"
  [[ -z ${SPEEDTEST_WASM_VARIANTS:-} ]] || tr ';' '\n' <<<"$SPEEDTEST_WASM_VARIANTS"
}

cmd_speedtest() {
  cmd_deps
  local line name cflags wopt objs flags out
  local native=$SPEEDTEST/native
  speedtest_queue "$native" "$NATIVE_CC" "${SPEEDTEST_NATIVE_CFLAGS[@]}"
  compile "$native/tests/host_mem.o" tests/c/host_mem.c "$NATIVE_CC" \
    "${SPEEDTEST_NATIVE_CFLAGS[@]}" "${OUR_WARNINGS[@]}"
  while IFS='|' read -r name cflags wopt; do
    [[ -n $name ]] || continue
    # shellcheck disable=SC2086  # a variant's flags are words by design
    speedtest_queue "$SPEEDTEST/wasm-$name" "${WASM_CC[@]}" --target=wasm32-wasi $cflags \
      -DNDEBUG "${INCLUDES[@]}"
  done < <(speedtest_variants)
  jobs_wait

  mapfile -t objs < <(speedtest_objs "$native")
  objs+=("$native/tests/host_mem.o")
  link "$SPEEDTEST/speedtest1-native" objs "$NATIVE_CC" -lm
  # dosql.wasm's link flags, less the reactor model (this one is a command) and its exports.
  mapfile -t flags < <(grep -v -E '^[[:space:]]*(#|$)|^-mexec-model=' wasm/link.flags)
  while IFS='|' read -r name cflags wopt; do
    [[ -n $name ]] || continue
    mapfile -t objs < <(speedtest_objs "$SPEEDTEST/wasm-$name")
    link "$SPEEDTEST/wasm-$name/speedtest1.wasm" objs "${WASM_CC[@]}" --target=wasm32-wasi \
      "${flags[@]}"
    out=$SPEEDTEST/speedtest1-$name.wasm
    if [[ ! -f $out || $SPEEDTEST/wasm-$name/speedtest1.wasm -nt $out ||
          "$(cat "$out.cmd" 2>/dev/null)" != "wasm-opt $wopt" ]]; then
      say "  OPT wasm-opt $wopt -> $out"
      # shellcheck disable=SC2086
      wasm-opt $wopt "$SPEEDTEST/wasm-$name/speedtest1.wasm" -o "$out"
      printf 'wasm-opt %s' "$wopt" > "$out.cmd"
    fi
  done < <(speedtest_variants)
  say "  speedtest1: $SPEEDTEST/speedtest1-native $(speedtest_variants | cut -d'|' -f1 |
        sed "s|.*|$SPEEDTEST/speedtest1-&.wasm|" | tr '\n' ' ')"
}

# ---- fuzz: libFuzzer targets (tests/fuzz/) ----------------------------------------------
# Each tests/fuzz/fuzz_*.c is one target (its header says what it feeds the engine), linked
# with tests/fuzz/fuzz.c (the checks every answer must pass), the engine (src/, SQLite,
# cJSON) and the in-memory host tests/c/host_mem.c, all compiled by clang with libFuzzer's
# coverage and ASan+UBSan: a crash, a leak, undefined behaviour or a failed check is a
# finding. The seeds in tests/fuzz/corpus/<target>/ are only read; what runs learn goes to
# FUZZ/corpus/<target>/ (ignored, kept from run to run), findings to FUZZ/findings/.
readonly FUZZ=$BUILD/fuzz
readonly FUZZ_CC=clang-14          # Debian's libclang-rt-14-dev holds its libFuzzer
# shellcheck disable=SC2054  # the commas in -fsanitize= are meant
readonly FUZZ_CFLAGS=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=all "${INCLUDES[@]}" -Itests/c -Itests/fuzz)
# shellcheck disable=SC2054
readonly FUZZ_LDFLAGS=(-fsanitize=fuzzer,address,undefined -lm)
# Longest input per target (bytes): up to 16 requests; a file of up to 128 pages of 512.
readonly FUZZ_MAX_LEN=(fuzz_request:4096 fuzz_import:65536 fuzz_changes:4096)
# libFuzzer's options for every run: a slow input (10 s) or a bloated one is a finding too.
readonly FUZZ_OPTIONS=(-timeout=10 -rss_limit_mb=2048)
# The test suite fuzzes each target this long (seconds) after replaying its corpus: with
# the build, the suite stays near 3 minutes on 2 cores.
readonly FUZZ_SUITE_SECONDS=${FUZZ_SUITE_SECONDS:-20}

# fuzz_targets: the targets' names, one per line.
fuzz_targets() {
  local src
  while read -r src; do basename "${src%.c}"; done < <(compgen -G 'tests/fuzz/fuzz_*.c' | LC_ALL=C sort || true)
}

# fuzz_max_len TARGET: its -max_len (FUZZ_MAX_LEN, else 4096).
fuzz_max_len() {
  local entry
  for entry in "${FUZZ_MAX_LEN[@]}"; do
    [[ ${entry%%:*} == "$1" ]] && { printf '%s\n' "${entry#*:}"; return 0; }
  done
  printf '4096\n'
}

# fuzz_build: compile (incrementally, JOBS at a time) and link every target into FUZZ/.
fuzz_build() {
  command -v "$FUZZ_CC" >/dev/null || die "$FUZZ_CC not found (run ./build.sh deps as root)"
  local obj=$FUZZ/obj lib=() src target inputs
  compile "$obj/sqlite3.o" "$SQLITE_UNIT" "$FUZZ_CC" "${FUZZ_CFLAGS[@]}"
  compile "$obj/cJSON.o" deps/cjson/cJSON.c "$FUZZ_CC" "${FUZZ_CFLAGS[@]}"
  lib=("$obj/sqlite3.o" "$obj/cJSON.o")
  while read -r src; do
    compile "$(obj_for "$obj" "$src")" "$src" "$FUZZ_CC" "${FUZZ_CFLAGS[@]}" "${OUR_WARNINGS[@]}"
    lib+=("$(obj_for "$obj" "$src")")
  done < <(our_sources)
  for src in tests/c/host_mem.c tests/fuzz/fuzz.c; do
    compile "$(obj_for "$obj/tests" "$src")" "$src" "$FUZZ_CC" "${FUZZ_CFLAGS[@]}" "${OUR_WARNINGS[@]}"
    lib+=("$(obj_for "$obj/tests" "$src")")
  done
  while read -r target; do
    compile "$obj/tests/$target.o" "tests/fuzz/$target.c" "$FUZZ_CC" "${FUZZ_CFLAGS[@]}" "${OUR_WARNINGS[@]}"
  done < <(fuzz_targets)
  jobs_wait
  while read -r target; do
    # shellcheck disable=SC2034  # read through link's nameref
    inputs=("$obj/tests/$target.o" "${lib[@]}")
    link "$FUZZ/$target" inputs "$FUZZ_CC" "${FUZZ_LDFLAGS[@]}"
  done < <(fuzz_targets)
}

# fuzz_run TARGET SECONDS DIR LOG: fuzz TARGET for SECONDS, from its committed seeds and DIR,
# where new inputs go; everything it prints into LOG. Returns libFuzzer's status: non-zero
# is a finding (its input is in FUZZ/findings/).
fuzz_run() {
  local target=$1 secs=$2 dir=$3 log=$4 opts=()
  mkdir -p "$dir" "$FUZZ/findings" "$(dirname "$log")"
  [[ -f tests/fuzz/$target.dict ]] && opts+=(-dict="tests/fuzz/$target.dict")
  UBSAN_OPTIONS=print_stacktrace=1 timeout --kill-after=10 $((secs + 120)) \
    "$FUZZ/$target" "${FUZZ_OPTIONS[@]}" "${opts[@]}" -max_total_time="$secs" \
    -max_len="$(fuzz_max_len "$target")" -print_final_stats=1 \
    -artifact_prefix="$FUZZ/findings/$target-" "$dir" "tests/fuzz/corpus/$target" \
    >"$log" 2>&1 </dev/null
}

# fuzz_report TARGET LOG STATUS: executions and coverage (after the seeds, and at the end),
# and a finding's input and report with its stack.
fuzz_report() {
  local target=$1 log=$2 rc=$3 runs speed seeds last
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  seeds=$(grep -a -m1 -E '^#[0-9]+[[:space:]]+INITED' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' || true)
  last=$(grep -a -E '^#[0-9]+.* cov: ' "$log" | tail -n1 | grep -o 'cov: [0-9]* ft: [0-9]* corp: [^ ]*' || true)
  say "  $target: ${runs:-?} executions (${speed:-?}/s); seeds: ${seeds:-?}; end: ${last:-?}"
  (( rc == 0 )) && return 0
  say "  $target: FINDING (libFuzzer exited $rc); full log: $log"
  grep -a -o 'Test unit written to .*' "$log" | sed 's/^/    /' || true
  # The report and its stack, less libFuzzer's, libc's and the sanitizers' own frames.
  sed -n '/^==[0-9]*==ERROR\|FUZZ FINDING\|runtime error/,/^SUMMARY/p' "$log" |
    grep -a -v -E ' in (fuzzer::|__sanitizer_|__libc_|_start|abort|raise|__pthread_kill)|^[[:space:]]*#[0-9]+ 0x[0-9a-f]+ +\(|^NOTE: libFuzzer|^ *Combine libFuzzer|^ *$' |
    head -n 40 | sed 's/^/    /'
}

# cmd_fuzz [SECONDS]: build the targets, then fuzz each for SECONDS (default 60), one after
# the other, printing executions, coverage and any finding. Fails when any target found one.
cmd_fuzz() {
  local secs=${1:-60} target rc found=0
  [[ $secs =~ ^[0-9]+$ ]] || die "fuzz: SECONDS must be a whole number, not '$secs'"
  cmd_deps
  fuzz_build
  exec 9>&-   # release the build lock: builds may go on while the targets run
  while read -r target; do
    say "fuzz: $target for $secs s (log: $LOGS/fuzz-$target.log)"
    set +e
    fuzz_run "$target" "$secs" "$FUZZ/corpus/$target" "$LOGS/fuzz-$target.log"
    rc=$?
    set -e
    fuzz_report "$target" "$LOGS/fuzz-$target.log" "$rc"
    (( rc == 0 )) || found=$((found + 1))
  done < <(fuzz_targets)
  (( found == 0 ))
}

# fuzz_replay TARGET LOG FILE...: run every FILE through TARGET once (all in one process,
# which stops at a finding; the files after it then run in the next), output into LOG. Prints
# the files that fail, one per line; status 0 when none does.
fuzz_replay() {
  local target=$1 log=$2 files=("${@:3}") failed=0 last i
  : >"$log"
  while (( ${#files[@]} > 0 )); do
    UBSAN_OPTIONS=print_stacktrace=1 timeout --kill-after=10 "$SUITE_TIMEOUT" \
      "$FUZZ/$target" "${FUZZ_OPTIONS[@]}" "${files[@]}" >>"$log" 2>&1 </dev/null && break
    failed=1
    last=$(grep -a '^Running: ' "$log" | tail -n1 || true)
    last=${last#Running: }
    printf '%s\n' "${last:-(before the first file)}"
    for (( i = 0; i < ${#files[@]}; i++ )); do [[ ${files[i]} == "$last" ]] && break; done
    (( i < ${#files[@]} )) || break          # no file to blame: the rest cannot run either
    files=("${files[@]:i+1}")
  done
  return "$failed"
}

# suite_fuzz: the test suite. Builds the targets, then for each target: one test replays its
# committed corpus (every file must pass), one test per file of tests/fuzz/findings/<target>/
# (a reported finding's input: it fails until the finding is fixed, then guards against its
# return), and one test fuzzes it FUZZ_SUITE_SECONDS from its seeds (JOBS targets at a time,
# into a scratch corpus). Runs with errexit off (inside run_suite): every step checks its own
# status.
suite_fuzz() {
  local targets target files file bad rc i k passed=0 failed=0 pids=() batch=()
  (set -e; fuzz_build)
  rc=$?
  if (( rc != 0 )); then say "fuzz: the targets did not build" "fuzz: 0 passed, 1 failed"; return 1; fi
  mapfile -t targets < <(fuzz_targets)
  for target in "${targets[@]}"; do
    mapfile -t files < <(compgen -G "tests/fuzz/corpus/$target/*" | LC_ALL=C sort || true)
    if (( ${#files[@]} == 0 )); then
      say "FAIL $target: tests/fuzz/corpus/$target/ is empty"; failed=$((failed + 1))
    elif bad=$(fuzz_replay "$target" "$LOGS/fuzz-replay-$target.log" "${files[@]}"); then
      say "ok   $target replays its ${#files[@]} corpus files"; passed=$((passed + 1))
    else
      say "FAIL $target replays its ${#files[@]} corpus files; these fail (log: $LOGS/fuzz-replay-$target.log):"
      printf '       %s\n' "${bad//$'\n'/$'\n'       }"
      grep -a -E 'FUZZ FINDING|runtime error|^==[0-9]+==ERROR' "$LOGS/fuzz-replay-$target.log" | sed 's/^/       /' | cut -c1-400
      failed=$((failed + 1))
    fi
    while read -r file; do
      [[ -n $file ]] || continue
      if fuzz_replay "$target" "$LOGS/fuzz-finding-$(basename "$file").log" "$file" >/dev/null; then
        say "ok   finding $file no longer reproduces"; passed=$((passed + 1))
      else
        say "FAIL finding $file still reproduces:"
        grep -a -E -m2 'FUZZ FINDING|runtime error|^==[0-9]+==ERROR' "$LOGS/fuzz-finding-$(basename "$file").log" |
          sed 's/^/       /' | cut -c1-400
        failed=$((failed + 1))
      fi
    done < <(compgen -G "tests/fuzz/findings/$target/*" | LC_ALL=C sort || true)
  done
  rm -rf "$FUZZ/suite"
  for (( i = 0; i < ${#targets[@]}; i += JOBS )); do
    batch=("${targets[@]:i:JOBS}")
    pids=()
    for target in "${batch[@]}"; do
      fuzz_run "$target" "$FUZZ_SUITE_SECONDS" "$FUZZ/suite/$target" "$LOGS/fuzz-suite-$target.log" &
      pids+=($!)
    done
    for (( k = 0; k < ${#batch[@]}; k++ )); do
      target=${batch[k]}
      wait "${pids[k]}"
      rc=$?
      fuzz_report "$target" "$LOGS/fuzz-suite-$target.log" "$rc"
      if (( rc == 0 )); then
        say "ok   $target fuzzed for $FUZZ_SUITE_SECONDS s"; passed=$((passed + 1))
      else
        say "FAIL $target fuzzed for $FUZZ_SUITE_SECONDS s"; failed=$((failed + 1))
      fi
    done
  done
  say "fuzz: $passed passed, $failed failed"
  (( failed == 0 ))
}

# ---- test -------------------------------------------------------------------------------
# The suites, one line each: NAME DIR COMMAND... A suite runs only when DIR exists. COMMAND
# runs from the repo root, shows its output, and ends it with a line "N passed, N failed"
# (suite_node makes that line from node's TAP output). Adding a suite is adding a line, e.g.
#   "fault    tests/fault    suite_node tests/fault"
readonly SUITES=(
  "c        tests/c        suite_c"
  "fuzz     tests/fuzz     suite_fuzz"
  "worker   tests/worker   suite_node tests/worker"
  "e2e      tests/e2e      suite_e2e"
)
readonly SUITE_TIMEOUT=${SUITE_TIMEOUT:-1200}   # seconds; CI's whole budget is 90 minutes

# last_counts FILE: print "PASSED FAILED" from FILE's last "N passed, N failed" line
# (an optional "word: " may precede it), or nothing when there is none.
last_counts() {
  sed -n -E 's/^([[:alnum:]_./-]+: )?([0-9]+) passed, ([0-9]+) failed.*$/\2 \3/p' "$1" | tail -n1
}

# suite_c: every C test binary. Each ends with "N passed, N failed"; one that exits non-zero
# without reporting a failure (a sanitizer abort, a crash) counts as one failed test.
suite_c() {
  local src bin log rc counts p f passed=0 failed=0
  for src in "${C_TESTS[@]}"; do
    bin=$NATIVE/$(basename "${src%.c}")
    log=$LOGS/c-$(basename "$bin").log
    say "-- $bin"
    set +e
    timeout --kill-after=10 "$SUITE_TIMEOUT" "$bin" </dev/null 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    counts=$(last_counts "$log")
    read -r p f <<<"${counts:-0 0}"
    if [[ -z $counts || ( $rc -ne 0 && $f -eq 0 ) ]]; then
      say "-- $bin: exit status $rc without a failure count: counted as 1 failed"
      f=$((f + 1))
    fi
    passed=$((passed + p)); failed=$((failed + f))
  done
  say "c: $passed passed, $failed failed"
  (( failed == 0 ))
}

# suite_node DIR: node's test runner over the files DIR/**/*.test.{js,mjs}, spec output for
# people and TAP into a file for the counts. Cancelled tests count as failed. The files are
# listed explicitly: given a folder, node would also run helpers that happen to match its
# own patterns (fixtures/test-worker.js).
suite_node() {
  local dir=$1 tap rc pass fail cancelled files
  tap=$LOGS/$(basename "$dir").tap
  mapfile -t files < <(find "$dir" -type f \( -name '*.test.js' -o -name '*.test.mjs' \) \
                         -not -path '*/node_modules/*' | LC_ALL=C sort)
  (( ${#files[@]} > 0 )) || { say "no *.test.js files in $dir" "0 passed, 0 failed"; return 0; }
  set +e
  timeout --kill-after=10 "$SUITE_TIMEOUT" node --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" "${files[@]}" </dev/null
  rc=$?
  set -e
  pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n1)
  fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n1)
  cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$tap" | tail -n1)
  [[ -n $pass && -n $fail ]] || { say "node exited $rc without a summary"; return 1; }
  say "$pass passed, $((fail + ${cancelled:-0})) failed"
  return "$rc"
}

# suite_e2e: the SvelteKit example (examples/sveltekit) in a real browser. Debian's
# chromium (installed here as root, never a Playwright download), the example's own
# node_modules (npm ci when its lockfile is newer, as for the root's), a fresh
# `npm run build`, then tests/e2e, which serve the build with `npm run preview:worker`.
# Runs with errexit off (inside run_suite): every step checks its own status.
readonly E2E_APP=examples/sveltekit
readonly CHROMIUM=/usr/bin/chromium
suite_e2e() {
  if [[ ! -x $CHROMIUM ]]; then
    if (( EUID != 0 )); then
      say "e2e: $CHROMIUM is missing; run: sudo apt-get update && sudo apt-get install -y chromium"
      return 1
    fi
    # fonts-dejavu-core: the fonts the screenshots were made with (users.png is committed).
    say "e2e: installing chromium"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
             chromium fonts-dejavu-core; }; then
      say "e2e: apt-get install chromium failed"
      return 1
    fi
  fi
  [[ -f $E2E_APP/package-lock.json ]] || { say "e2e: $E2E_APP/package-lock.json is missing"; return 1; }
  if [[ ! -f $E2E_APP/node_modules/.package-lock.json ||
        $E2E_APP/package-lock.json -nt $E2E_APP/node_modules/.package-lock.json ]]; then
    say "e2e: npm ci in $E2E_APP"
    (cd "$E2E_APP" && npm ci --no-audit --no-fund --loglevel=error) ||
      { say "e2e: npm ci in $E2E_APP failed"; return 1; }
  fi
  say "e2e: npm run build in $E2E_APP"
  (cd "$E2E_APP" && npm run build --silent) || { say "e2e: npm run build in $E2E_APP failed"; return 1; }
  suite_node tests/e2e
}

# run_suite NAME DIR COMMAND...: run one suite, add its counts to the totals. A suite that
# exits non-zero without a failure, prints no count or runs no test adds one failure.
TOTAL_PASSED=0 TOTAL_FAILED=0 RESULTS=()
run_suite() {
  local name=$1 dir=$2 log rc counts p f note=""; shift 2
  if [[ ! -d $dir ]]; then
    RESULTS+=("$(printf '  %-8s skipped (no %s)' "$name" "$dir")")
    return 0
  fi
  log=$LOGS/suite-$name.log
  say "" "==== suite $name: $*"
  set +e
  "$@" </dev/null 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  counts=$(last_counts "$log")
  read -r p f <<<"${counts:-0 0}"
  if [[ -z $counts ]]; then note="crashed (exit $rc, no count)"; f=$((f + 1))
  elif (( rc != 0 && f == 0 )); then note="crashed (exit $rc)"; f=$((f + 1))
  elif (( p + f == 0 )); then note="ran no tests"; f=1
  fi
  TOTAL_PASSED=$((TOTAL_PASSED + p)); TOTAL_FAILED=$((TOTAL_FAILED + f))
  RESULTS+=("$(printf '  %-8s %-4s (%d passed, %d failed)%s' "$name" \
                "$( ((f == 0)) && echo ok || echo FAIL)" "$p" "$f" "${note:+ $note}")")
}

# tests_never_ran: EXIT trap of cmd_test until the suites start. A build that fails still
# ends the log with the closing line CI reads, so the failure is not taken for "no tests".
tests_never_ran() {
  local rc=$?
  (( rc == 0 )) || say "" "build failed before any test ran" "0 passed, 1 failed"
}

cmd_test() {
  trap tests_never_ran EXIT
  cmd_deps
  # Queue both builds before waiting, so they share the cores.
  wasm_compile
  native_compile
  jobs_wait
  wasm_link
  native_link
  trap - EXIT
  mkdir -p "$LOGS"
  local line
  for line in "${SUITES[@]}"; do
    # shellcheck disable=SC2086  # a suite line is words by design
    run_suite $line
  done
  say "" "==== results"
  printf '%s\n' "${RESULTS[@]}"
  say "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
  (( TOTAL_FAILED == 0 && TOTAL_PASSED > 0 ))
}

# ---- dev --------------------------------------------------------------------------------
# ensure_dev_vars: wrangler dev reads secrets from .dev.vars (git-ignored). So that one
# command starts a working server, a missing DOSQL_TOKEN is created at random and printed:
# it is a local development token, never a deployed secret.
ensure_dev_vars() {
  [[ -f .dev.vars ]] && grep -q '^DOSQL_TOKEN=' .dev.vars && return 0
  local token
  token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  printf 'DOSQL_TOKEN=%s\n' "$token" >> .dev.vars
  say "dev: wrote a random DOSQL_TOKEN to .dev.vars: $token"
  say "     (to choose your own: echo DOSQL_TOKEN=dev-secret > .dev.vars)"
}

cmd_dev() {
  cmd_wasm
  [[ -f wrangler.toml ]] || die "wrangler.toml is missing at the repo root"
  ensure_dev_vars
  exec 9>&-   # release the build lock: the server runs for hours, builds may go on meanwhile
  # wrangler from node_modules (never a download by npx); state survives restarts in .state/.
  exec node_modules/.bin/wrangler dev --local --persist-to .state --port "${PORT:-8787}"
}

# ---- bench ------------------------------------------------------------------------------
# cmd_bench [OPTIONS]: build the module, then tests/bench/run.mjs (its header lists the
# options). Not part of `test`: the full run takes minutes; the tests run its smoke mode.
cmd_bench() {
  cmd_wasm
  exec 9>&-   # release the build lock: builds may go on while the benchmark runs
  BENCH_COMMAND="./build.sh bench${*:+ $*}" exec node tests/bench/run.mjs "$@"
}

# ---- load -------------------------------------------------------------------------------
# cmd_load [OPTIONS]: build the module, then tests/load/run.mjs (its header lists the options):
# a real `wrangler dev` under N clients' mixed traffic, then every acknowledged write checked,
# again after a restart. Not part of `test`: a minute or more, figures depend on the machine.
cmd_load() {
  cmd_wasm
  exec 9>&-   # release the build lock: builds may go on while the load runs
  LOAD_COMMAND="./build.sh load${*:+ $*}" exec node tests/load/run.mjs "$@"
}

# ---- clean, usage, dispatch -------------------------------------------------------------
cmd_clean() {
  rm -rf "$BUILD" "$DIST"
}

usage() {
  sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
}

# take_lock: one build.sh at a time in a work tree (people and test runs share it): a second
# one waits rather than write the same objects, or rebuild the module under running tests.
take_lock() {
  mkdir -p deps
  exec 9>deps/.build.lock
  flock -n 9 && return 0
  say "build.sh: waiting for another build.sh in this tree to finish..." >&2
  flock 9
}

main() {
  local cmd=${1:-}
  case $cmd in deps|wasm|native|test|dev|clean|speedtest|bench|load|fuzz) take_lock; rm -f "$FAILED_JOBS" ;; esac
  case $cmd in
    deps)   cmd_deps ;;
    wasm)   cmd_wasm ;;
    native) cmd_native ;;
    test)   cmd_test ;;
    dev)    cmd_dev ;;
    clean)  cmd_clean ;;
    speedtest) cmd_speedtest ;;
    bench)  cmd_bench "${@:2}" ;;
    fuzz)   cmd_fuzz "${@:2}" ;;
    load)   cmd_load "${@:2}" ;;
    ""|-h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
