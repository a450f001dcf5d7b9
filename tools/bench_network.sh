#!/usr/bin/env bash
# bench_network: how fast the road-network travel model is (docs/network.md).
#
#   tools/bench_network.sh            (from the repository root)
#
# Binary: $RIDESIM_BIN, else ./build/tools/ridesim (measure a release or
# debugoptimized build, never a sanitizer one). Data: $RIDESIM_DATA, else
# ../shared/city_data beside the repository. Needs python3 for medians and
# GNU time (Debian package `time`) for peak RSS.
#
# Prints medians of:
#   (a) the shared Manhattan network (4,197 nodes): `network info` from a cold
#       cache (parse, clean, contract, label, build and write the table) and
#       from the warm cache, RUNS_LOAD times each;
#   (b) the synthetic 316 x 316 grid (99,856 nodes): contraction and label
#       time, label size and memory, peak RSS, and point-to-point hub-label
#       queries per second on one core (RUNS_GRID times; preprocessing is not
#       cached here);
#   (c) the shared 2016-02-01 morning (60,540 trips, 08:00-12:00), 3,000
#       drivers, fcfs-nearest and batch-distance, with the great-circle model
#       and with the network model back to back (RUNS_REAL pairs): engine loop
#       time (runs.wall_seconds), process wall time and peak RSS, and the
#       ratio of the loop medians.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${RIDESIM_BIN:-$ROOT/build/tools/ridesim}
DATA=${RIDESIM_DATA:-$ROOT/../shared/city_data}
NET=$DATA/nyc-hive-2014-12-21/manhattan_network.json
CSV=$DATA/nyc-tlc-2016-02-manhattan-am/2016-02-01.csv
RUNS_LOAD=${RUNS_LOAD:-5}
RUNS_GRID=${RUNS_GRID:-3}
RUNS_REAL=${RUNS_REAL:-5}
GRID=${GRID:-316x316}

[ -x "$BIN" ] || { echo "bench_network: no binary at $BIN (set RIDESIM_BIN)" >&2; exit 1; }
[ -r "$NET" ] && [ -r "$CSV" ] || { echo "bench_network: no data under $DATA (set RIDESIM_DATA)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_network: GNU time is needed (apt-get install time)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-bench-net-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export XDG_CACHE_HOME="$WORK/xdg"

median() { python3 -c "import statistics,sys; print('%.3f' % statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
# timed OUT ARGS...: runs the binary, prints "wall_s peak_kb"
timed() {
  local out=$1
  shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f %M -o "$WORK/rss" "$BIN" "$@" > "$out" 2>&1
  t1=$(date +%s.%N)
  echo "$(python3 -c "print($t1 - $t0)") $(tail -1 "$WORK/rss")"
}

echo "ridesim network benchmark"
echo "  binary:  $BIN"
echo "  machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

echo "(a) Manhattan network load, median of $RUNS_LOAD"
cold=() warm=() kb=0
for i in $(seq "$RUNS_LOAD"); do
  rm -rf "$XDG_CACHE_HOME"
  read -r w k < <(timed "$WORK/info.log" network info "$NET")
  cold+=("$w")
  read -r w k2 < <(timed "$WORK/info2.log" network info "$NET")
  warm+=("$w")
  [ "$k" -gt "$kb" ] && kb=$k
done
grep -E "hub labels|all-pairs" "$WORK/info.log" | sed 's/^/    cold: /'
grep -E "hub labels|all-pairs" "$WORK/info2.log" | sed 's/^/    warm: /'
echo "  first time (no cache):  $(median "${cold[@]}") s    peak RSS $((kb / 1024)) MB"
echo "  from the cache:         $(median "${warm[@]}") s"
echo

echo "(b) synthetic grid $GRID, hub labels, median of $RUNS_GRID"
ch=() lab=() qps=() kb=0
for i in $(seq "$RUNS_GRID"); do
  read -r w k < <(timed "$WORK/grid.log" network bench --grid "$GRID" --queries 3000000)
  ch+=("$(sed -n 's/^contraction: \([0-9.]*\) s.*/\1/p' "$WORK/grid.log")")
  lab+=("$(sed -n 's/.*; labels: \([0-9.]*\) s .*/\1/p' "$WORK/grid.log")")
  qps+=("$(sed -n 's/.* = \([0-9.]*\) M\/s on one core.*/\1/p' "$WORK/grid.log")")
  [ "$k" -gt "$kb" ] && kb=$k
done
sed 's/^/    /' "$WORK/grid.log"
echo "  contraction:            $(median "${ch[@]}") s"
echo "  labels:                 $(median "${lab[@]}") s"
echo "  queries:                $(median "${qps[@]}") M/s on one core"
echo "  peak RSS:               $((kb / 1024)) MB"
echo

echo "(c) 2016-02-01 morning, 3000 drivers, great-circle vs network, median of $RUNS_REAL pairs"
"$BIN" import --format csv --city manhattan "$CSV" --db "$WORK/trips.db" > /dev/null
"$BIN" network info "$NET" > /dev/null # a warm cache: (a) measures the cold start
loop_of() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT wall_seconds FROM runs ORDER BY id DESC LIMIT 1').fetchone()[0])" "$1"; }
for d in fcfs-nearest batch-distance; do
  gl=() nl=() gw=() nw=() gk=0 nk=0
  for i in $(seq "$RUNS_REAL"); do
    rm -f "$WORK/g.db" "$WORK/n.db"
    read -r w k < <(timed "$WORK/g.log" run --trips "$WORK/trips.db" --drivers 3000 --dispatch "$d" --out "$WORK/g.db")
    gw+=("$w"); gl+=("$(loop_of "$WORK/g.db")"); [ "$k" -gt "$gk" ] && gk=$k
    read -r w k < <(timed "$WORK/n.log" run --trips "$WORK/trips.db" --drivers 3000 --dispatch "$d" \
      --network "$NET" --out "$WORK/n.db")
    nw+=("$w"); nl+=("$(loop_of "$WORK/n.db")"); [ "$k" -gt "$nk" ] && nk=$k
  done
  g=$(median "${gl[@]}")
  n=$(median "${nl[@]}")
  printf '  %-15s great-circle: loop %s s, process %s s, peak %d MB\n' "$d" "$g" "$(median "${gw[@]}")" $((gk / 1024))
  printf '  %-15s network:      loop %s s, process %s s, peak %d MB   (loop ratio %.2f)\n' "" "$n" \
    "$(median "${nw[@]}")" $((nk / 1024)) "$(python3 -c "print($n / $g)")"
done
