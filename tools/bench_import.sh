#!/bin/sh
# bench_import.sh: ridesim import against the sqlite3 shell's .import on the
# six shared NYC mornings (nyc-tlc-2016-02-manhattan-am/*.csv).
#
# Each run imports all six files into a fresh store in a fresh temporary
# directory: ridesim with `ridesim import FILES --db DB` (parsing, checks,
# grid cells, 12 typed columns, an index), sqlite3 with one
# `sqlite3 DB ".mode csv" ".import FILE t"` per file (text columns, no
# checks). Three runs each, interleaved; prints the median wall seconds and
# rows per second side by side. Builds nothing.
#
#   RIDESIM_BIN   the ridesim binary (default ./build/tools/ridesim)
#   RIDESIM_DATA  the shared data folder (default ../shared/city_data)
#   RUNS          runs per tool (default 3)
# Needs the sqlite3 command line shell and bc (Debian packages sqlite3, bc).
set -eu

BIN=${RIDESIM_BIN:-./build/tools/ridesim}
DATA=${RIDESIM_DATA:-../shared/city_data}
RUNS=${RUNS:-3}
SRC=$DATA/nyc-tlc-2016-02-manhattan-am

command -v sqlite3 >/dev/null 2>&1 || { echo "bench_import: needs the sqlite3 shell (apt-get install sqlite3)" >&2; exit 1; }
command -v bc >/dev/null 2>&1 || { echo "bench_import: needs bc for its arithmetic (apt-get install bc)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "bench_import: no ridesim binary at $BIN (set RIDESIM_BIN)" >&2; exit 1; }
[ -d "$SRC" ] || { echo "bench_import: no data at $SRC (set RIDESIM_DATA)" >&2; exit 1; }

FILES=$(ls "$SRC"/*.csv)
ROWS=0
for f in $FILES; do
  n=$(($(wc -l < "$f") - 1))
  ROWS=$((ROWS + n))
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench_import.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

now() { date +%s.%N; }

run_ridesim() {
  rm -f "$TMP/r.db"
  # shellcheck disable=SC2086
  "$BIN" import $FILES --db "$TMP/r.db" > "$TMP/r.out"
}

run_sqlite() {
  rm -f "$TMP/s.db"
  for f in $FILES; do
    sqlite3 "$TMP/s.db" ".mode csv" ".import $f t"
  done
}

time_of() {
  t0=$(now)
  "$@"
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

: > "$TMP/r.times"
: > "$TMP/s.times"
i=1
while [ "$i" -le "$RUNS" ]; do
  time_of run_ridesim >> "$TMP/r.times"
  time_of run_sqlite >> "$TMP/s.times"
  i=$((i + 1))
done

R=$(median < "$TMP/r.times")
S=$(median < "$TMP/s.times")
ACC=$(awk '/^total:/ {print $7}' "$TMP/r.out" | tr -d ,)
echo "bench_import: $(echo "$FILES" | wc -l) files, $ROWS rows, $RUNS runs each, median wall time"
printf '%-34s %10s %12s\n' "tool" "seconds" "rows/s"
printf '%-34s %10.3f %12.0f\n' "ridesim import ($ACC accepted)" "$R" "$(echo "$ROWS / $R" | bc -l)"
printf '%-34s %10.3f %12.0f\n' "sqlite3 .mode csv .import" "$S" "$(echo "$ROWS / $S" | bc -l)"
printf 'ridesim / sqlite3 time: %.2f\n' "$(echo "$R / $S" | bc -l)"
