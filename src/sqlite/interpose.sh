#!/bin/sh
# interpose.sh IN OUT NAME... — a copy of SQLite's amalgamation IN at OUT in which the
# definition of each function NAME is renamed NAMEOriginal, so that every call of NAME
# reaches the wrapper src/sqlite/unit.c defines under that name, after the amalgamation.
# A prototype of NAME is put before the renamed definition, for the calls that follow it
# (a static function may have none of its own). A macro cannot do this: the definition
# and the calls are spelt alike. Each NAME's definition must be found exactly once (a
# line "SQLITE_PRIVATE|static <type> NAME(<parameters>){"), or nothing is written: a new
# SQLite that changed one stops the build here.
set -eu
in=$1 out=$2
shift 2
script=
for name in "$@"; do
  script="$script s/^\\(\\(SQLITE_PRIVATE\\|static\\) [^(]*[ *]\\)$name(\\(.*\\)){\$/\\1$name(\\3);\\n\\1${name}Original(\\3){/;"
done
sed -e "$script" "$in" > "$out.tmp"
for name in "$@"; do
  found=$(grep -c "^\\(SQLITE_PRIVATE\\|static\\) [^(]*[ *]${name}Original(.*){\$" "$out.tmp" || true)
  if [ "$found" != 1 ]; then
    echo "interpose.sh: $in defines $name $found times in the expected form, not once" >&2
    rm -f "$out.tmp"
    exit 1
  fi
done
mv "$out.tmp" "$out"
