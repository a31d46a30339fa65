#!/usr/bin/env bash
# build.sh — the one entry point for fetching dependencies, building and testing DoSQL.
#
#   ./build.sh deps     install the toolchain, fetch the pinned sources the builds need into deps/
#   ./build.sh wasm     build worker-shim/dist/dosql.wasm
#   ./build.sh native   build src/ natively with ASan+UBSan, the C tests and a sqlite3 CLI
#   ./build.sh test     all of the above, then every test suite; ends in "N passed, N failed"
#   ./build.sh dev      build, then serve the worker locally with wrangler
#   ./build.sh clean    remove build outputs (deps/ stays)
#   ./build.sh bench    build, then time DoSQL against native DO SQL and D1 (minutes): writes
#                       bench/results.json, bench/ratios.svg, BENCHMARKS.md (--smoke: tiny, seconds)
#   ./build.sh speedtest  fetch speedtest1.c, build SQLite's speedtest1 natively and as wasm
#                       (tests/bench/speedtest1/; a full `bench` runs it)
#   ./build.sh fuzz [SECONDS]  build the libFuzzer targets (tests/faults/fuzz/) and run each SECONDS
#                       (default 60): executions, coverage, findings (in wasm/build/fuzz/findings/)
#   ./build.sh load [--clients N] [--seconds T] [--tenants K]  build, then load wrangler dev with mixed
#                       traffic and check every acknowledged write (default 8 × 60 s × 4): tests/load/results.md
#
# Every command is idempotent and incremental: run it again and only what changed is redone.
# This script sets the machine up (Debian packages, node_modules, the pinned sources in the
# ignored deps/ folder, each checked by sha256); the Makefile compiles; tests/run.sh runs
# the test suites. Third-party code is never committed.
set -euo pipefail

# ---- Pinned third-party inputs ----------------------------------------------------------
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
# it at the next upload) or bookworm's (3.40.1). It is compiled against our 3.52.0. Only
# `speedtest` fetches it: the wasm, native, fuzz and test builds never compile it, so they
# do not download trixie's sqlite3 source package.
readonly SPEEDTEST1_SUITE=trixie
readonly SPEEDTEST1_SQLITE_VERSION=3.46.1
readonly SPEEDTEST1_ORIG_SHA256=d0cdd2ece271b29e7ce18095745d892517ee26d0f270065b3a25c2e9eb11639c
readonly SPEEDTEST1_SHA256=81875fcd4bfb76bbf21568f021e81452a72539f76db9982d9114da3bafee22cc

# Debian packages the build needs. clang 14 + wasi-libc + the wasm32 builtins are a wasi-sdk
# equivalent; binaryen gives wasm-opt, wabt gives wasm-objdump (tests read the module's
# imports and exports with it); gcc builds the native sanitizer build; git applies patches;
# clang-14 and its libFuzzer runtime (libclang-rt-14-dev) build the fuzz targets; make runs
# the Makefile.
readonly APT_WASM_TOOLCHAIN=(clang lld wasi-libc libclang-rt-14-dev-wasm32)
# sqlite3: Debian's own CLI, older than the engine's SQLite, which tests open exports with.
readonly APT_ALWAYS=(make binaryen wabt gcc libc6-dev git xz-utils clang-14 libclang-rt-14-dev sqlite3)

# ---- Layout -----------------------------------------------------------------------------
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly ROOT
cd "$ROOT"   # every path below is relative to the repo root

# Offline and quiet wrangler/miniflare (no metrics, no Cloudflare lookups), for dev and tests.
# npm: no "new version available" notices in build logs.
export NPM_CONFIG_UPDATE_NOTIFIER=false
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false \
       WRANGLER_HIDE_BANNER=true CLOUDFLARE_CF_FETCH_ENABLED=false

# ---- Toolchain --------------------------------------------------------------------------
# What the Makefile compiles with (its flags are its own). A wasi-sdk named by WASI_SDK_PATH
# replaces Debian's clang and wasi-libc for the wasm builds.
if [[ -n ${WASI_SDK_PATH:-} ]]; then
  WASM_CC=("$WASI_SDK_PATH/bin/clang" "--sysroot=$WASI_SDK_PATH/share/wasi-sysroot")
else
  WASM_CC=(clang)   # Debian's clang finds wasi-libc under /usr/{include,lib}/wasm32-wasi
fi
readonly WASM_CC
readonly NATIVE_CC=${CC:-cc}
readonly FUZZ_CC=clang-14          # Debian's libclang-rt-14-dev holds its libFuzzer
JOBS=${JOBS:-$(nproc)}             # compiles at once

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

# ---- deps: toolchain --------------------------------------------------------------------
# apt_missing PKG...: print the packages that are not installed (one dpkg-query for all).
apt_missing() {
  local -A installed=()
  local pkg
  while read -r pkg; do installed[$pkg]=1; done < <(
    dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | sed -n 's/ install ok installed$//p')
  for pkg in "$@"; do [[ -n ${installed[$pkg]:-} ]] || printf '%s\n' "$pkg"; done
}

# ensure_apt_packages [PKG...]: install what is missing of PKG... (default: everything the
# build needs). CI runs as root on a fresh machine; anyone else gets the exact command to run.
ensure_apt_packages() {
  local wanted=("$@") missing
  if (( ${#wanted[@]} == 0 )); then
    wanted=("${APT_ALWAYS[@]}")
    [[ -n ${WASI_SDK_PATH:-} ]] || wanted+=("${APT_WASM_TOOLCHAIN[@]}")
  fi
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
  for tool in make "${WASM_CC[0]}" wasm-opt wasm-objdump "$NATIVE_CC"; do
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
  DEPS_DONE=1
}

# ---- Building: the Makefile -------------------------------------------------------------
# make_build [MAKE OPTIONS] TARGET...: the Makefile's TARGETs with this machine's toolchain,
# JOBS compiles at once. Quiet (one line per step) unless V=1, which prints every command.
make_build() {
  local quiet=(-s)
  [[ -z ${V:-} ]] || quiet=()
  make "${quiet[@]}" -j"$JOBS" "WASM_CC=${WASM_CC[*]}" "NATIVE_CC=$NATIVE_CC" "FUZZ_CC=$FUZZ_CC" "$@"
}

cmd_wasm()   { cmd_deps; make_build wasm; }
cmd_native() { cmd_deps; make_build native; }

# cmd_speedtest: SQLite's speedtest1 natively and as wasm (tests/bench/speedtest1/, which runs
# this). SPEEDTEST_WASM_VARIANTS adds wasm variants for one run, e.g. "simd|-O2 -msimd128|-O2
# --enable-simd" (the Makefile has the format and the default variants).
cmd_speedtest() {
  cmd_deps
  fetch_speedtest1
  make_build speedtest "SPEEDTEST_WASM_VARIANTS=${SPEEDTEST_WASM_VARIANTS:-}"
}

# cmd_fuzz [SECONDS]: build the libFuzzer targets, then fuzz each for SECONDS (tests/run.sh).
cmd_fuzz() {
  cmd_deps
  make_build fuzz
  exec 9>&-   # release the build lock: builds may go on while the targets run
  exec tests/run.sh --fuzz "${1:-60}"
}

# ---- test -------------------------------------------------------------------------------
# tests_never_ran: EXIT trap of cmd_test until the suites start. A build that fails still
# ends the log with the closing line CI reads, so the failure is not taken for "no tests".
tests_never_ran() {
  local rc=$?
  (( rc == 0 )) || say "" "build failed before any test ran" "0 passed, 1 failed"
}

# cmd_test: build what the suites run in one parallel make, then run them (tests/run.sh),
# still holding the build lock so no other build.sh rebuilds the module under them. Only the
# fuzz targets may fail to build without stopping here: their suite then counts one failure
# and the other suites still run.
cmd_test() {
  trap tests_never_ran EXIT
  local fuzz_built=1 start=$SECONDS
  cmd_deps
  if ! make_build --keep-going wasm native fuzz; then
    make_build --question worker-shim/dist/dosql.wasm native || die "the build failed (above)"
    say "build: the fuzz targets did not build (above); the fuzz suite counts that as a failure"
    fuzz_built=0
  fi
  trap - EXIT
  say "build: $((SECONDS - start)) s (dependencies and make; the suites' times follow their results)"
  FUZZ_BUILT=$fuzz_built exec tests/run.sh
}

# ---- dev --------------------------------------------------------------------------------
# ensure_dev_vars: wrangler dev reads secrets from .dev.vars (git-ignored). So that one
# command starts a working server, a missing DOSQL_TOKEN is created at random and printed:
# it is a local development token, never a deployed secret. Whether the file sets one is
# read as wrangler reads it (`export`, spaces, quotes: the dosql command's devVar), and a
# last line without its newline gets one before the token is appended.
ensure_dev_vars() {
  if [[ -f .dev.vars ]] && node --input-type=module -e "
      import { readFileSync } from 'node:fs';
      import { devVar } from './worker-shim/bin/dosql-target.mjs';
      process.exit(devVar(readFileSync('.dev.vars', 'utf8'), 'DOSQL_TOKEN') ? 0 : 1);"; then
    return 0
  fi
  local token
  token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  [[ -s .dev.vars && -n $(tail -c1 .dev.vars) ]] && printf '\n' >> .dev.vars
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
# cmd_clean: the Makefile's outputs, wasm/build/ and worker-shim/dist/ (objects, binaries,
# logs, what fuzzing learned). deps/, node_modules/ and .state/ stay.
cmd_clean() {
  ensure_apt_packages make
  make -s clean
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
  case $cmd in deps|wasm|native|test|dev|clean|speedtest|bench|load|fuzz) take_lock ;; esac
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
