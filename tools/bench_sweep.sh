#!/usr/bin/env bash
# bench_sweep: the sweep's targets, measured and printed.
#
#   1. 40 one-hour runs (the synthetic city 07:00-08:00, fcfs-nearest and
#      batch-distance x 20 seeds) with --jobs 1 on one core (taskset) and
#      --jobs 2 on two: the speed-up (target >= 1.8x on 2 cores);
#   2. the same plan under mpirun -np 2 (a build with -Dmpi=enabled, given
#      as the second argument): its time against the local --jobs 2 (target:
#      within 10 %);
#   3. the shared morning (2016-02-01, 60,540 trips, 3,000 drivers,
#      fcfs-nearest): `ridesim run`'s whole-process time (target <= 0.15 s);
#   4. a synthetic month: a sweep of 30 days (seeds 1-30) of 400,000
#      orders each, 13,000 drivers, fcfs-nearest, in one process on one
#      core (--jobs 1), with --results summary (target < 60 s, < 2 GB) and
#      orders: whole-process time, CPU time, peak memory and DB size. A
#      sweep's runs are one day each: memory is bounded by one day's run;
#   5. the same month as ONE run (`ridesim run --horizon-days 30`, day k of
#      its own seed), with --results summary (target < 60 s, < 2 GB) and
#      orders: the engine takes a day at a time and lets ended orders go, so
#      memory is bounded by the live state, not by the month.
#
# Each timing is the median of REPS (default 3) wall-clock runs; other work
# on the machine slows them.
#
# usage: tools/bench_sweep.sh [ridesim [ridesim-with-mpi]]
#        (default build/tools/ridesim and build-mpi/tools/ridesim when there)
set -eu

HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$HERE/build/tools/ridesim}
BIN_MPI=${2:-$HERE/build-mpi/tools/ridesim}
DATA=${RIDESIM_DATA:-$HERE/../shared/city_data}
CSV=$DATA/nyc-tlc-2016-02-manhattan-am/2016-02-01.csv
REPS=${REPS:-3}
for t in bc sqlite3; do
  command -v "$t" > /dev/null 2>&1 ||
    { echo "bench_sweep: needs $t (apt-get install bc sqlite3 time)" >&2; exit 1; }
done
/usr/bin/time --version 2>&1 | grep -q GNU ||
  { echo "bench_sweep: needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "bench_sweep: no binary at $BIN" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-bench-sweep-XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
# wall seconds of one command (its output discarded); its CPU seconds
# (user + system, children included) are appended to $T/cpu
wall() {
  local s e
  s=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$T/time" "$@" > /dev/null 2> "$T/err" || { cat "$T/err" >&2; exit 1; }
  e=$(date +%s.%N)
  awk '{print $1 + $2}' "$T/time" >> "$T/cpu"
  echo "$e - $s" | bc -l
}

cat > plan40.json <<'EOF'
{"scenario": {"from": "07:00", "to": "08:00"},
 "axes": {"dispatch": ["fcfs-nearest", "batch-distance"], "seeds": "1-20"}}
EOF
n=$("$BIN" sweep plan40.json --dry-run | grep -c '^ *[0-9]* *[0-9a-f]\{16\} ')
echo "1. $n one-hour runs of the synthetic city (07:00-08:00), fcfs-nearest and batch-distance"
echo "   (load average before: $(cut -d' ' -f1-3 /proc/loadavg): wall times on a busy machine say little)"
# One core: --jobs 1 pinned to a CPU (taskset), since even one job writes a
# run's results on the calling thread while the next runs on the worker.
ONE=()
command -v taskset > /dev/null && ONE=(taskset -c 0)
echo "   (--jobs 1 on one core: ${ONE[*]:-not pinned, no taskset})"
t1=(); t2=(); tm=()
for keep in full summary; do
  : > "$T/cpu"
  for r in $(seq "$REPS"); do
    t1+=("$(wall "${ONE[@]}" "$BIN" sweep plan40.json --jobs 1 --results "$keep" --out "j1-$keep-$r.db")")
  done
  c1=$(median $(cat "$T/cpu")); : > "$T/cpu"
  for r in $(seq "$REPS"); do
    t2+=("$(wall "$BIN" sweep plan40.json --jobs 2 --results "$keep" --out "j2-$keep-$r.db")")
  done
  c2=$(median $(cat "$T/cpu"))
  m1=$(median "${t1[@]}"); m2=$(median "${t2[@]}")
  printf '   --results %s: --jobs 1 (one core) %.2f s, --jobs 2 %.2f s: speed-up %.2fx (target >= 1.8x);\n' \
    "$keep" "$m1" "$m2" "$(echo "$m1 / $m2" | bc -l)"
  printf '     CPU %.2f s and %.2f s: on idle cores at most %.2fx (one core'"'"'s CPU time over\n' \
    "$c1" "$c2" "$(echo "$c1 / ($c2 / 2)" | bc -l)"
  printf '     half the parallel run'"'"'s)\n'
  t1=(); t2=()
done

if [ -x "$BIN_MPI" ] && command -v mpirun > /dev/null; then
  MPI=(mpirun -np 2 --oversubscribe)
  [ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
  : > "$T/cpu"
  for r in $(seq "$REPS"); do
    tm+=("$(wall "${MPI[@]}" "$BIN_MPI" sweep plan40.json --results summary --out "mpi-$r.db")")
  done
  mm=$(median "${tm[@]}"); cm=$(median $(cat "$T/cpu"))
  printf '2. mpirun -np 2: %.2f s against the local --jobs 2 %.2f s: %+.1f %% (target within 10 %%);\n' \
    "$mm" "$m2" "$(echo "100 * ($mm - $m2) / $m2" | bc -l)"
  printf '   CPU %.2f s against %.2f s: %+.1f %%\n' "$cm" "$c2" "$(echo "100 * ($cm - $c2) / $c2" | bc -l)"
else
  echo "2. mpirun -np 2: skipped (no MPI build at $BIN_MPI, or no mpirun)"
fi

if [ -r "$CSV" ]; then
  "$BIN" import --format csv "$CSV" --db am.db > /dev/null
  for keep in full summary; do
    ta=()
    : > "$T/cpu"
    for r in $(seq 7); do
      ta+=("$(wall "$BIN" run --trips am.db --drivers 3000 --results "$keep" --out "am-$keep-$r.db")")
    done
    printf '3. the shared morning, ridesim run --results %s, whole process: %.3f s, CPU %.3f s\n' \
      "$keep" "$(median "${ta[@]}")" "$(median $(cat "$T/cpu"))"
  done
  echo "   (target <= 0.15 s for the default, --results full)"
else
  echo "3. the shared morning: skipped (no data at $CSV)"
fi

cat > month.json <<'EOF'
{"scenario": {"synthetic_orders": 400000, "drivers": 13000},
 "axes": {"dispatch": ["fcfs-nearest"], "seeds": "1-30"}}
EOF
echo "4. a synthetic month: 30 days (seeds 1-30) of 400,000 orders, 13,000 drivers, fcfs-nearest,"
echo "   one sweep process on one core (--jobs 1)"
for keep in summary orders; do
  "${ONE[@]}" /usr/bin/time -f '%e %U %S %M' -o "time-$keep" "$BIN" sweep month.json --jobs 1 --results "$keep" \
    --out "month-$keep.db" > /dev/null 2> "err-$keep" || { cat "err-$keep" >&2; exit 1; }
  read -r secs usr sys kb < "time-$keep"
  size=$(stat -c %s "month-$keep.db")
  runs=$(sqlite3 "month-$keep.db" "SELECT count(*) FROM runs WHERE status = 'completed'")
  orders=$(sqlite3 "month-$keep.db" "SELECT sum(orders) FROM runs")
  rows=$(sqlite3 "month-$keep.db" "SELECT count(*) FROM orders")
  printf '   --results %s: %s runs, %s orders (%s order rows kept): %.1f s whole process\n' \
    "$keep" "$runs" "$orders" "$rows" "$secs"
  printf '     (CPU %.1f s), peak %.0f MB, DB %.1f MB (targets with summary: < 60 s, < 2 GB)\n' \
    "$(echo "$usr + $sys" | bc -l)" "$(echo "$kb / 1024" | bc -l)" "$(echo "$size / 1048576" | bc -l)"
done
echo "5. the month as one run: 30 days of 400,000 orders (12 M), 13,000 drivers, fcfs-nearest"
for keep in summary orders; do
  "${ONE[@]}" /usr/bin/time -f '%e %U %S %M' -o "time1-$keep" "$BIN" run --synthetic --orders 400000 \
    --drivers 13000 --horizon-days 30 --dispatch fcfs-nearest --results "$keep" \
    --out "month1-$keep.db" > /dev/null 2> "err1-$keep" || { cat "err1-$keep" >&2; exit 1; }
  read -r secs usr sys kb < "time1-$keep"
  size=$(stat -c %s "month1-$keep.db")
  orders=$(sqlite3 "month1-$keep.db" "SELECT orders FROM runs WHERE status = 'completed'")
  rows=$(sqlite3 "month1-$keep.db" "SELECT count(*) FROM orders")
  printf '   --results %s: %s orders (%s order rows kept): %.1f s whole process\n' \
    "$keep" "$orders" "$rows" "$secs"
  printf '     (CPU %.1f s), peak %.0f MB, DB %.1f MB (targets with summary: < 60 s, < 2 GB)\n' \
    "$(echo "$usr + $sys" | bc -l)" "$(echo "$kb / 1024" | bc -l)" "$(echo "$size / 1048576" | bc -l)"
done
