#!/usr/bin/env bash
# tests/run.sh — runs DoSQL's test suites over what is already built. `./build.sh test`
# builds (make) and then runs this; alone, it tests whatever wasm/build/ holds.
#
#   tests/run.sh                 every suite; the last line is "N passed, N failed" for all
#   tests/run.sh SUITE...        only these suites (names as in SUITES below), same last line
#   tests/run.sh --fuzz SECONDS  fuzz each libFuzzer target SECONDS (what `./build.sh fuzz` runs):
#                                executions, coverage, findings (in wasm/build/fuzz/findings/)
#
# Environment: SUITE_TIMEOUT (seconds a suite or a C test may run, default 1200),
# FUZZ_SUITE_SECONDS (fuzzing per target in the fuzz suite, default 20), JOBS (fuzz targets
# run at once, default the number of cores), FUZZ_BUILT=0 (set by build.sh: the fuzz
# targets did not build, so the fuzz suite counts one failure without running).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."   # every path below is relative to the repo root

# ---- Layout: where the Makefile puts what these suites run (the two must match) ---------
readonly BUILD=wasm/build
readonly NATIVE=$BUILD/native            # one binary per tests/c/test_*.c
readonly FUZZ=$BUILD/fuzz                # one binary per tests/faults/fuzz/fuzz_*.c
readonly LOGS=$BUILD/logs                # every suite's and test binary's output

# ---- The suites -------------------------------------------------------------------------
# One line each: NAME DIR COMMAND... A suite runs only when DIR exists. COMMAND runs from the
# repo root, shows its output, and ends it with a line "N passed, N failed" (suite_node makes
# that line from node's TAP output). Adding a suite is adding a line.
readonly SUITES=(
  "c        tests/c            suite_c"
  "fuzz     tests/faults/fuzz  suite_fuzz"
  "worker   tests/worker       suite_node tests/worker"
  "faults   tests/faults       suite_node tests/faults"
  "e2e      tests/e2e          suite_e2e"
  "blank    tests/blank        suite_blank"
)
readonly SUITE_TIMEOUT=${SUITE_TIMEOUT:-1200}   # seconds; CI's whole budget is 90 minutes
JOBS=${JOBS:-$(nproc)}

say() { printf '%s\n' "$@"; }   # one line per argument
die() { printf 'tests/run.sh: error: %s\n' "$*" >&2; exit 1; }

# last_counts FILE: print "PASSED FAILED" from FILE's last "N passed, N failed" line
# (an optional "word: " may precede it), or nothing when there is none.
last_counts() {
  sed -n -E 's/^([[:alnum:]_./-]+: )?([0-9]+) passed, ([0-9]+) failed.*$/\2 \3/p' "$1" | tail -n1
}

# ---- c: the native tests under ASan+UBSan -----------------------------------------------
# suite_c: every C test binary. Each ends with "N passed, N failed"; one that exits non-zero
# without reporting a failure (a sanitizer abort, a crash, a missing binary) counts as one
# failed test.
suite_c() {
  local tests src bin log rc counts p f passed=0 failed=0
  mapfile -t tests < <(compgen -G 'tests/c/test_*.c' | LC_ALL=C sort || true)
  for src in "${tests[@]}"; do
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

# ---- fuzz: libFuzzer targets (tests/faults/fuzz/) ---------------------------------------
# Each target's header says what it feeds the engine; a crash, a leak, undefined behaviour or
# a failed check of fuzz.c is a finding. The seeds in tests/faults/fuzz/corpus/<target>/ are
# only read; what runs learn goes to FUZZ/corpus/<target>/ (ignored, kept from run to run),
# findings to FUZZ/findings/.
readonly FUZZ_DIR=tests/faults/fuzz
# Longest input per target (bytes): up to 16 requests; a file of up to 128 pages of 512.
readonly FUZZ_MAX_LEN=(fuzz_request:4096 fuzz_import:65536 fuzz_changes:4096)
# libFuzzer's options for every run: a slow input (10 s) or a bloated one is a finding too.
readonly FUZZ_OPTIONS=(-timeout=10 -rss_limit_mb=2048)
# The test suite fuzzes each target this long (seconds) after replaying its corpus: with
# the build, the suite stays near 3 minutes on 2 cores.
readonly FUZZ_SUITE_SECONDS=${FUZZ_SUITE_SECONDS:-20}
# A finding's input up to this many bytes is printed (base64) beside its report.
readonly FUZZ_PRINT_MAX=16384

# fuzz_targets: the targets' names, one per line.
fuzz_targets() {
  local src
  while read -r src; do basename "${src%.c}"; done < <(compgen -G "$FUZZ_DIR/fuzz_*.c" | LC_ALL=C sort || true)
}

# fuzz_max_len TARGET: its -max_len (FUZZ_MAX_LEN, else 4096).
fuzz_max_len() {
  local entry
  for entry in "${FUZZ_MAX_LEN[@]}"; do
    [[ ${entry%%:*} == "$1" ]] && { printf '%s\n' "${entry#*:}"; return 0; }
  done
  printf '4096\n'
}

# fuzz_run TARGET SECONDS DIR LOG: fuzz TARGET for SECONDS, from its committed seeds and DIR,
# where new inputs go; everything it prints into LOG. Returns libFuzzer's status: non-zero
# is a finding (its input is in FUZZ/findings/).
fuzz_run() {
  local target=$1 secs=$2 dir=$3 log=$4 opts=()
  mkdir -p "$dir" "$FUZZ/findings" "$(dirname "$log")"
  [[ -f $FUZZ_DIR/$target.dict ]] && opts+=(-dict="$FUZZ_DIR/$target.dict")
  # The outer timeout only catches libFuzzer itself stuck (one slow input is its own -timeout
  # finding): the seeds replay before -max_total_time counts, and on a busy machine a target
  # replayed 466 seeds at 3 a second, past a 120 s margin, with nothing wrong.
  UBSAN_OPTIONS=print_stacktrace=1 timeout --kill-after=10 $((secs + 600)) \
    "$FUZZ/$target" "${FUZZ_OPTIONS[@]}" "${opts[@]}" -max_total_time="$secs" \
    -max_len="$(fuzz_max_len "$target")" -print_final_stats=1 \
    -artifact_prefix="$FUZZ/findings/$target-" "$dir" "$FUZZ_DIR/corpus/$target" \
    >"$log" 2>&1 </dev/null
}

# fuzz_report TARGET LOG STATUS: executions and coverage (after the seeds, and at the end),
# and a finding's input and report with its stack.
fuzz_report() {
  local target=$1 log=$2 rc=$3 runs speed seeds last finding unit
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  seeds=$(grep -a -m1 -E '^#[0-9]+[[:space:]]+INITED' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' || true)
  last=$(grep -a -E '^#[0-9]+.* cov: ' "$log" | tail -n1 | grep -o 'cov: [0-9]* ft: [0-9]* corp: [^ ]*' || true)
  say "  $target: ${runs:-?} executions (${speed:-?}/s); seeds: ${seeds:-?}; end: ${last:-?}"
  (( rc == 0 )) && return 0
  say "  $target: FINDING (libFuzzer exited $rc); full log: $log"
  grep -a -o 'Test unit written to .*' "$log" | sed 's/^/    /' || true
  # What reproduces it, in one line each: CI keeps only the output's tail (run_suites repeats
  # these lines there), and the scratch corpus and findings go with the machine.
  finding=$(grep -a -m1 -E 'FUZZ FINDING|runtime error|^==[0-9]+==ERROR|^==[0-9]+== ERROR|ALARM' "$log" || true)
  say "    finding: ${finding:-libFuzzer exited $rc without a report}"
  unit=$(grep -a -o 'Test unit written to .*' "$log" | tail -n1 | sed 's/^Test unit written to //' || true)
  if [[ -n $unit && -f $unit ]] && (( $(stat -c %s "$unit") <= FUZZ_PRINT_MAX )); then
    say "    input (base64): $(base64 -w0 "$unit")"
  fi
  # The report and its stack, less libFuzzer's, libc's and the sanitizers' own frames.
  sed -n '/^==[0-9]*==ERROR\|FUZZ FINDING\|runtime error/,/^SUMMARY/p' "$log" |
    grep -a -v -E ' in (fuzzer::|__sanitizer_|__libc_|_start|abort|raise|__pthread_kill)|^[[:space:]]*#[0-9]+ 0x[0-9a-f]+ +\(|^NOTE: libFuzzer|^ *Combine libFuzzer|^ *$' |
    head -n 40 | sed 's/^/    /'
}

# fuzz_campaign SECONDS: fuzz each target for SECONDS, one after the other, printing
# executions, coverage and any finding. Fails when any target found one.
fuzz_campaign() {
  local secs=$1 target rc found=0
  [[ $secs =~ ^[0-9]+$ ]] || die "--fuzz: SECONDS must be a whole number, not '$secs'"
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

# suite_fuzz: for each target, one test replays its committed corpus (every file must pass),
# one test per file of tests/faults/fuzz/findings/<target>/ (a reported finding's input: it
# fails until the finding is fixed, then guards against its return), and one test fuzzes it
# FUZZ_SUITE_SECONDS from its seeds (JOBS targets at a time, into a scratch corpus). Targets
# that did not build are one failure. Runs with errexit off (inside run_suite): every step
# checks its own status.
suite_fuzz() {
  local targets target files file bad rc i k passed=0 failed=0 pids=() batch=()
  mapfile -t targets < <(fuzz_targets)
  for target in "${targets[@]}"; do [[ -x $FUZZ/$target ]] || FUZZ_BUILT=0; done
  if [[ ${FUZZ_BUILT:-1} == 0 ]]; then
    say "fuzz: the targets did not build (./build.sh fuzz builds them)" "fuzz: 0 passed, 1 failed"
    return 1
  fi
  for target in "${targets[@]}"; do
    mapfile -t files < <(compgen -G "$FUZZ_DIR/corpus/$target/*" | LC_ALL=C sort || true)
    if (( ${#files[@]} == 0 )); then
      say "FAIL $target: $FUZZ_DIR/corpus/$target/ is empty"; failed=$((failed + 1))
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
    done < <(compgen -G "$FUZZ_DIR/findings/$target/*" | LC_ALL=C sort || true)
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

# ---- worker, faults: node's test runner over real workerd -------------------------------
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

# ---- e2e: the SvelteKit example in a real browser ---------------------------------------
# suite_e2e: examples/sveltekit in a real browser. Debian's chromium (installed here as root,
# never a Playwright download), the example's own node_modules (npm ci when its lockfile is
# newer, as build.sh does for the root's), a fresh `npm run build`, then tests/e2e, which
# serve the build with `npm run preview:worker`. Runs with errexit off (inside run_suite):
# every step checks its own status.
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

# ---- blank: a new user's first hour, on both Node versions --------------------------------
# suite_blank: tests/blank (a SvelteKit project from nothing, README's steps, the guide's pages)
# on the machine's node, then on Node 22 from the registry (npm's "node" package, kept in
# tests/.tmp/node22), where the README's steps install the newest wrangler. The two runs'
# counts are added up.
readonly NODE22_DIR=tests/.tmp/node22
readonly NODE22_VERSION=22.23.3
suite_blank() {
  local counts p f passed=0 failed=0 major path
  for major in current 22; do
    path=$PATH
    if [[ $major == 22 ]]; then
      ensure_node22 || { say "blank: installing node@$NODE22_VERSION failed"; failed=$((failed + 1)); continue; }
      path=$PWD/$NODE22_DIR/node_modules/.bin:$PATH
    fi
    say "-- blank on node $(PATH=$path node --version)"
    PATH=$path suite_node tests/blank | tee "$LOGS/blank-$major.log"
    counts=$(last_counts "$LOGS/blank-$major.log")
    read -r p f <<<"${counts:-0 1}"
    passed=$((passed + p)); failed=$((failed + f))
  done
  say "blank: $passed passed, $failed failed"
  (( failed == 0 ))
}

# ensure_node22: node $NODE22_VERSION in $NODE22_DIR/node_modules/.bin (its package's install
# script fetches the binary: allowed for that one package).
ensure_node22() {
  [[ -x $NODE22_DIR/node_modules/.bin/node ]] && return 0
  mkdir -p "$NODE22_DIR"
  printf '{"private": true, "allowScripts": {"node": true}}\n' > "$NODE22_DIR/package.json"
  (cd "$NODE22_DIR" && npm i -E --no-audit --no-fund --loglevel=error "node@$NODE22_VERSION")
}

# ---- Running suites, totals -------------------------------------------------------------
# run_suite NAME DIR COMMAND...: run one suite, add its counts to the totals. A suite that
# exits non-zero without a failure, prints no count or runs no test adds one failure.
TOTAL_PASSED=0 TOTAL_FAILED=0 RESULTS=() SUITES_RUN=()
run_suite() {
  local name=$1 dir=$2 log rc counts p f note="" start=$SECONDS; shift 2
  if [[ ! -d $dir ]]; then
    RESULTS+=("$(printf '  %-8s skipped (no %s)' "$name" "$dir")")
    return 0
  fi
  log=$LOGS/suite-$name.log
  SUITES_RUN+=("$name")
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
  # Each suite's time: CI's budget is for the whole run, and this says where it went.
  RESULTS+=("$(printf '  %-8s %-4s (%d passed, %d failed) %d s%s' "$name" \
                "$( ((f == 0)) && echo ok || echo FAIL)" "$p" "$f" $((SECONDS - start)) "${note:+ $note}")")
}

# print_failures: each failed test's line from the suites' logs (C's and the fuzz suite's
# "FAIL ...", node's "✖ ..."; a fuzz finding's report and input), once each and at most
# FAILURES_SHOWN a suite, so that the output's tail, all CI keeps, says what failed. For
# node's, the first ERROR_LINES lines of each one's error from its closing "failing tests"
# list too (the assertion's message and diff, without the stack): a flaky failure in CI
# must say why there, as it may not come back on another machine.
readonly FAILURES_SHOWN=20 ERROR_LINES=10
print_failures() {
  local name lines log
  for name in "${SUITES_RUN[@]}"; do
    log=$LOGS/suite-$name.log
    if grep -a -q '^✖ failing tests:$' "$log"; then
      lines=$(awk -v max="$ERROR_LINES" '
                /^✖ failing tests:$/ { listing = 1; next }
                !listing || /^test at / || /^$/ { next }
                /^✖ / { print; left = max; next }
                /^ +at / { left = 0 }
                left > 0 { print; left-- }' "$log" |
              head -n $((FAILURES_SHOWN * (ERROR_LINES + 1))) | cut -c1-300 || true)
    else
      lines=$(grep -a -E '^ *(FAIL|✖) |^    (finding|input \(base64\)): ' "$log" |
                sed 's/^ *//' | awk '!seen[$0]++' | head -n "$FAILURES_SHOWN" | cut -c1-2000 || true)
    fi
    if [[ -n $lines ]]; then
      say "  failed in $name:"
      say "$lines" | sed 's/^/    /'
    fi
  done
  return 0
}

# run_suites [NAME...]: the named suites (all when none), then the results and the closing
# line "N passed, N failed" that CI reads; fails unless every test passed and one ran.
run_suites() {
  local line name chosen=() known=" "
  for line in "${SUITES[@]}"; do known+="${line%% *} "; done
  for name in "$@"; do
    [[ $known == *" $name "* ]] || die "no suite '$name' (the suites:$known)"
  done
  for line in "${SUITES[@]}"; do
    name=${line%% *}
    if (( $# == 0 )) || [[ " $* " == *" $name "* ]]; then chosen+=("$line"); fi
  done
  mkdir -p "$LOGS"
  for line in "${chosen[@]}"; do
    # shellcheck disable=SC2086  # a suite line is words by design
    run_suite $line
  done
  say "" "==== results"
  printf '%s\n' "${RESULTS[@]}"
  print_failures
  say "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
  (( TOTAL_FAILED == 0 && TOTAL_PASSED > 0 ))
}

usage() {
  sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' tests/run.sh
}

case ${1:-} in
  --fuzz)         mkdir -p "$LOGS"; fuzz_campaign "${2:-60}" ;;
  -h|--help|help) usage ;;
  -*)             usage >&2; exit 2 ;;
  *)              run_suites "$@" ;;
esac
