#!/usr/bin/env bash
# bench_run: how fast `ridesim run` replays a day, end to end.
#
#   tools/bench_run.sh            (from the repository root)
#
# Binary: $RIDESIM_BIN, else ./build/tools/ridesim. Measure a release or
# debugoptimized build (meson setup build --buildtype=release), never a debug
# or sanitizer one. Data: $RIDESIM_DATA, else ../shared/city_data beside the
# repository. Needs python3 (JSON, SQLite, medians); peak RSS comes from GNU
# time (Debian package `time`) when present, else from polling
# /proc/PID/status (VmHWM), which can miss a last-moment peak.
#
# Workloads:
#   (a) NYC TLC 2016-02-01 08:00-12:00 (60,540 trips) imported into a
#       temporary store, 3,000 drivers, fcfs-nearest and batch-distance,
#       9 runs each (this machine is shared: single runs vary by a third);
#   (b) a synthetic day of 400,000 orders with 10,000 drivers, 5 runs.
# For each: median process wall time, median engine loop time (runs.wall_seconds
# in the results DB: the simulation alone, without loading and writing),
# events, events per second of loop time and of process wall time (loading
# the trips and writing the results included), and the largest peak RSS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${RIDESIM_BIN:-$ROOT/build/tools/ridesim}
DATA=${RIDESIM_DATA:-$ROOT/../shared/city_data}
CSV=$DATA/nyc-tlc-2016-02-manhattan-am/2016-02-01.csv
RUNS_REAL=${RUNS_REAL:-9}
RUNS_SYNTH=${RUNS_SYNTH:-5}

[ -x "$BIN" ] || { echo "bench_run: no binary at $BIN (set RIDESIM_BIN)" >&2; exit 1; }
[ -r "$CSV" ] || { echo "bench_run: no data at $CSV (set RIDESIM_DATA)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench_run: python3 is needed" >&2; exit 1; }

GNU_TIME=""
if [ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1; then GNU_TIME=/usr/bin/time; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-bench-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# measure OUTFILE ARGS...: runs the binary; prints "wall_s peak_kb".
measure() {
  local out=$1
  shift
  local t0 t1 kb
  if [ -n "$GNU_TIME" ]; then
    t0=$(date +%s.%N)
    "$GNU_TIME" -f %M -o "$WORK/rss" "$BIN" "$@" >"$out"
    t1=$(date +%s.%N)
    kb=$(tail -1 "$WORK/rss")
  else
    t0=$(date +%s.%N)
    "$BIN" "$@" >"$out" &
    local pid=$! hwm=0 v
    while kill -0 "$pid" 2>/dev/null; do
      v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
      [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
      sleep 0.02
    done
    wait "$pid"
    t1=$(date +%s.%N)
    kb=$hwm
  fi
  python3 -c "print('%.3f %s' % ($t1 - $t0, '$kb'))"
}

# bench LABEL N ARGS...: N runs; appends one summary line to $WORK/table.
bench() {
  local label=$1 n=$2
  shift 2
  local db="$WORK/results-$RANDOM.db" i
  : >"$WORK/samples"
  for i in $(seq 1 "$n"); do
    read -r wall kb < <(measure "$WORK/kpis.json" "$@" --json --out "$db")
    local loop events
    loop=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT wall_seconds FROM runs ORDER BY id DESC LIMIT 1').fetchone()[0])" "$db")
    events=$(python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['events']))" "$WORK/kpis.json")
    echo "$wall $loop $events $kb" >>"$WORK/samples"
    printf '  %-40s run %d: %7.3f s wall, %7.3f s loop, %s events, %s KB\n' "$label" "$i" "$wall" "$loop" "$events" "$kb" >&2
  done
  python3 - "$label" "$n" "$WORK/samples" >>"$WORK/table" <<'EOF'
import statistics, sys
label, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [l.split() for l in open(path) if l.strip()]
wall = statistics.median(float(r[0]) for r in rows)
loop = statistics.median(float(r[1]) for r in rows)
events = sorted(set(int(r[2]) for r in rows))
rss = max(int(r[3]) for r in rows)
ev = events[0] if len(events) == 1 else None
evs = "%d" % ev if ev is not None else "varies %d-%d" % (events[0], events[-1])
rate = (ev or events[0]) / loop if loop > 0 else float("nan")
rate_wall = (ev or events[0]) / wall if wall > 0 else float("nan")
print("%-40s %4d %9.3f %9.3f %12s %12.0f %12.0f %9.1f"
      % (label, n, wall, loop, evs, rate, rate_wall, rss / 1024))
EOF
}

echo "ridesim run benchmark"
echo "  binary:  $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"
echo "  build:   $(python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print(next(x['value'] for x in o if x['name']=='buildtype'))" "$(dirname "$(dirname "$BIN")")/meson-info/intro-buildoptions.json" 2>/dev/null || echo unknown)"
echo "  machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "  rss:     $([ -n "$GNU_TIME" ] && echo "GNU time %M" || echo "polled /proc VmHWM")"
echo

"$BIN" import --format csv --city manhattan "$CSV" --db "$WORK/trips.db" >/dev/null
: >"$WORK/table"
for d in fcfs-nearest batch-distance; do
  bench "nyc 02-01 am, 3000 drv, $d" "$RUNS_REAL" run --trips "$WORK/trips.db" --drivers 3000 --dispatch "$d"
done
bench "synthetic 400k orders, 10000 drv" "$RUNS_SYNTH" run --orders 400000 --drivers 10000

echo
printf '%-40s %4s %9s %9s %12s %12s %12s %9s\n' workload runs "wall s" "loop s" events "events/s" "events/s" \
  "RSS MiB"
printf '%-40s %4s %9s %9s %12s %12s %12s %9s\n' "" "" median median "" "(loop)" "(wall)" max
cat "$WORK/table"
