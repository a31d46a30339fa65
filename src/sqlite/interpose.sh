#!/bin/sh
# interpose.sh IN OUT NAME... — a copy of SQLite's amalgamation IN at OUT in which the
# definition of each private function NAME is renamed NAMEUnmetered, so that every call
# of NAME reaches the wrapper src/sqlite/unit.c defines under that name (after the
# amalgamation: SQLite's own static prototype declares it). A macro cannot do this: the
# definition and the calls are spelt alike. Each NAME's definition must be found exactly
# once (a line "SQLITE_PRIVATE <type> NAME(<parameters>){"), or nothing is written: a new
# SQLite that changed one stops the build here.
set -eu
in=$1 out=$2
shift 2
script=
for name in "$@"; do
  script="$script s/^\\(SQLITE_PRIVATE [^(]*[ *]\\)$name(\\(.*\\)){\$/\\1${name}Unmetered(\\2){/;"
done
sed -e "$script" "$in" > "$out.tmp"
for name in "$@"; do
  found=$(grep -c "^SQLITE_PRIVATE [^(]*[ *]${name}Unmetered(.*){\$" "$out.tmp" || true)
  if [ "$found" != 1 ]; then
    echo "interpose.sh: $in defines $name $found times in the expected form, not once" >&2
    rm -f "$out.tmp"
    exit 1
  fi
done
mv "$out.tmp" "$out"
