#!/usr/bin/env bash
# bench_compare: wall time of `ridesim compare` in parallel (default jobs:
# the machine's cores) against the same runs one after another (--jobs 1).
#
# 3 policies (fcfs-nearest, batch-distance, random) x 5 seeds = 15 runs on
# the shared Monday morning 2016-02-01 (Manhattan, 60,540 trips) with 3,000
# drivers; each mode 3 times, the median reported, and the speed-up of the
# medians. Target: >= 1.8x on 2 cores. The timings are wall clock, so other
# work on the machine slows both modes; the CPU time column shows how much
# of the wall time the process itself computed.
#
# usage: tools/bench_compare.sh [path/to/ridesim]   (default build/tools/ridesim)
# The data folder is $RIDESIM_DATA (default ../shared/city_data beside the
# checkout). Needs GNU time (Debian package time).
set -eu

HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$HERE/build/tools/ridesim}
DATA=${RIDESIM_DATA:-$HERE/../shared/city_data}
CSV=$DATA/nyc-tlc-2016-02-manhattan-am/2016-02-01.csv
REPS=3
# GNU time's -f and -o (the shell's time keyword has neither)
if ! command -v time >/dev/null 2>&1 || ! /usr/bin/env time --version 2>&1 | grep -q GNU; then
  echo "bench_compare: needs GNU time (apt-get install time)" >&2
  exit 1
fi
if [ ! -x "$BIN" ]; then echo "bench_compare: no binary at $BIN" >&2; exit 1; fi
if [ ! -r "$CSV" ]; then echo "bench_compare: no data at $CSV (set RIDESIM_DATA)" >&2; exit 1; fi

T=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-bench-compare-XXXXXX")
trap 'rm -rf "$T"' EXIT
"$BIN" import --format csv "$CSV" --db "$T/trips.db" >/dev/null

ARGS=(--trips "$T/trips.db" --drivers 3000 --policies fcfs-nearest,batch-distance,random
      --seeds 1-5 --csv)
CORES=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)

# one timed compare: prints "wall_s cpu_s"
timed() {
  local out=$T/run-$RANDOM.db
  local s e
  s=$(date +%s.%N)
  /usr/bin/env time -f '%U %S' -o "$T/time" "$BIN" compare "${ARGS[@]}" --out "$out" "$@" \
    >"$T/out.csv" 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
  e=$(date +%s.%N)
  rm -f "$out" "$out-wal" "$out-shm"
  awk -v s="$s" -v e="$e" '{ printf "%.3f %.3f\n", e - s, $1 + $2 }' "$T/time"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "bench_compare: 15 runs (3 policies x 5 seeds), 2016-02-01 Manhattan, 3000 drivers, $CORES cores"
printf "%-22s %s\n" "mode" "wall s (cpu s) per repetition"
for mode in parallel serial; do
  if [ "$mode" = parallel ]; then extra=(); else extra=(--jobs 1); fi
  : >"$T/$mode"
  line=""
  for _ in $(seq $REPS); do
    r=$(timed "${extra[@]}")
    echo "$r" >>"$T/$mode"
    line="$line $(echo "$r" | awk '{ printf "%.2f (%.2f)", $1, $2 }')"
  done
  label=$mode
  [ "$mode" = parallel ] && label="parallel (jobs $CORES)" || label="serial (jobs 1)"
  printf "%-22s%s\n" "$label" "$line"
done
p=$(awk '{ print $1 }' "$T/parallel" | median)
s=$(awk '{ print $1 }' "$T/serial" | median)
awk -v p="$p" -v s="$s" 'BEGIN { printf "median wall: parallel %.2f s, serial %.2f s, speed-up %.2fx (target >= 1.8x on 2 cores)\n", p, s, s / p }'
