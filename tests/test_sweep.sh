#!/usr/bin/env bash
# ridesim sweep and merge end to end on the synthetic city:
#   - --dry-run lists the plan's runs; keys do not depend on the plan's order
#   - a sweep of a comparison's runs prints compare's table
#   - shards merged give the same DB contents as the local sweep (run ids and
#     wall-clock fields aside), and the same tables; merging again adds nothing
#   - merge refuses a DB of another plan; a sweep refuses another plan's DB
#   - a sweep killed (SIGKILL) mid-way and run again completes every run
#     exactly once, with the same contents as the uninterrupted sweep
#   - with --mpi (the binary is a build with -Dmpi=enabled): under mpirun -np
#     2 the same per-run results and tables as the local sweep
set -u
MPI_TEST=0
[ "${1:-}" = --mpi ] && MPI_TEST=1

BIN=${RIDESIM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "RIDESIM_BIN is not set to the ridesim binary" >&2
  exit 1
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
command -v sqlite3 >/dev/null 2>&1 || { echo "sqlite3 is not installed" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-sweep-XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $1"; }
ko() { fail=$((fail + 1)); echo "FAIL: $1" >&2; }
check() { if eval "$2"; then ok "$1"; else ko "$1"; fi; }

# The contents of a DB's runs, sorted by key, without ids and wall-clock
# fields (wall time, solver microseconds, start time): digest lines of the
# orders, drivers and kpi_series, and the run's row and cells.
contents() {
  "$PY" - "$1" "$HERE/pins/digest.py" <<'PYEOF'
import json, sqlite3, subprocess, sys
db, digest = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db)
out = []
for rid, key, st, seed, d, r, t0, t1, no, nd, ev, k in con.execute(
        "SELECT id, run_key, status, seed, dispatch, reposition, t_from, t_to, orders, drivers,"
        " events, kpis FROM runs JOIN sweep_runs ON run_id = id"):
    kp = {a: b for a, b in json.loads(k).items() if not a.endswith("_us")}
    dg = subprocess.run([sys.executable, digest, db, str(rid)], capture_output=True,
                        text=True).stdout.split()
    cells = con.execute("SELECT count(*), total(requests), total(unserved) FROM unserved_cells"
                        " WHERE run_id = ?", (rid,)).fetchone()
    out.append(" ".join(map(str, [key, st, seed, d, r, t0, t1, no, nd, ev,
                                  json.dumps(kp, sort_keys=True), cells] + dg)))
print("\n".join(sorted(out)))
PYEOF
}
# A table without its wall-time rows and results line.
nowall() { awk '/^wall time/ {skip = 1; next} skip && /^  / {next} {skip = 0} !/^results:/' "$1"; }

cat > plan.json <<'EOF'
{"scenario": {"synthetic_orders": 6000, "drivers": 300, "from": "06:00", "to": "08:00"},
 "axes": {"dispatch": ["fcfs-nearest", "batch-distance"], "drivers": [250, 300],
          "seeds": "1-3"},
 "baseline": "fcfs-nearest"}
EOF
# the same runs, axes and seeds written in another order
cat > plan-reordered.json <<'EOF'
{"baseline": "fcfs-nearest",
 "axes": {"seeds": [3, 1, 2], "drivers": [300, 250], "dispatch": ["batch-distance", "fcfs-nearest"]},
 "scenario": {"to": "08:00", "from": "06:00", "drivers": 300, "synthetic_orders": 6000}}
EOF

# 1. dry run: 12 runs, keys independent of the plan's order
"$BIN" sweep plan.json --dry-run > dry.txt 2>&1
check "dry run lists 12 runs" '[ "$(grep -c "^ *[0-9]* *[0-9a-f]\{16\} " dry.txt)" -eq 12 ]'
"$BIN" sweep plan-reordered.json --dry-run > dry2.txt 2>&1
check "keys and plan id do not depend on the plan's order" \
  'diff <(awk "NR > 1 {print \$2}" dry.txt | sort) <(awk "NR > 1 {print \$2}" dry2.txt | sort) >/dev/null &&
   [ "$(head -1 dry.txt | cut -d: -f1)" = "$(head -1 dry2.txt | cut -d: -f1)" ]'
"$BIN" sweep plan.json --shard 1/4 --dry-run > dry3.txt 2>&1
check "a shard lists its share" '[ "$(grep -c "^ *[0-9]* *[0-9a-f]\{16\} " dry3.txt)" -eq 3 ]'
echo '{"axes": {"nope": [1]}}' > bad.json
"$BIN" sweep bad.json --dry-run > bad.out 2>&1; rc=$?
check "an unknown axis is refused (exit 2)" '[ $rc -eq 2 ] && grep -q "unknown axis" bad.out'

# 2. the local sweep; its tables against compare's
if "$BIN" sweep plan.json --out local.db --jobs 2 > local.txt 2> local.err; then ok "sweep exits 0"
else ko "sweep exits 0"; cat local.err >&2; fi
check "12 completed runs, each key once" \
  '[ "$(sqlite3 local.db "SELECT count(*), count(DISTINCT run_key) FROM runs JOIN sweep_runs ON run_id = id WHERE status = '"'completed'"'")" = "12|12" ]'
check "two groups, one per fleet" '[ "$(grep -c "^== drivers=" local.txt)" -eq 2 ]'
"$BIN" compare --synthetic --orders 6000 --drivers 300 --from 06:00 --to 08:00 \
  --policies fcfs-nearest,batch-distance --seeds 1-3 --out cmp.db > cmp.txt 2>/dev/null
# the drivers=300 group's table is compare's (wall time aside)
nowall local.txt | awk '/^== drivers=300/ {on = 1; next} /^== / {on = 0} on' > g300.txt
nowall cmp.txt > cmp300.txt
check "a group's table is compare's table" '[ -s g300.txt ] && diff g300.txt cmp300.txt > /dev/null'

# 3. shards and merge
for k in 0 1 2; do
  "$BIN" sweep plan.json --shard "$k/3" --out "shard$k.db" > /dev/null 2>&1 || ko "shard $k exits 0"
done
SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_COUNT=3 \
  "$BIN" sweep plan.json --dry-run > slurm.txt 2>&1
check "the Slurm array's variables pick shard 1/3" 'grep -q "shard 1/3: 4 runs" slurm.txt'
"$BIN" merge shard0.db shard1.db shard2.db --out merged.db > merge.log 2>&1 || { ko "merge exits 0"; cat merge.log >&2; }
contents local.db > c_local.txt
contents merged.db > c_merged.txt
check "shards merged: the local sweep's contents" 'diff c_local.txt c_merged.txt > /dev/null'
check "merged run ids follow the plan, as the local sweep's" \
  '[ "$(sqlite3 merged.db "SELECT group_concat(run_key) FROM (SELECT run_key FROM sweep_runs ORDER BY run_id)")" = "$(sqlite3 local.db "SELECT group_concat(run_key) FROM (SELECT run_key FROM sweep_runs ORDER BY run_id)")" ]'
"$BIN" sweep plan.json --out merged.db > merged.txt 2> merged.err
check "the merged DB runs nothing and prints the local tables" \
  'grep -q "nothing to run" merged.err && diff <(nowall local.txt) <(nowall merged.txt) > /dev/null'
"$BIN" report local.db --out rep-local > /dev/null 2>&1
"$BIN" report merged.db --out rep-merged > /dev/null 2>&1
check "ridesim report: the merged DB's page is the local one's (but its name and wall times)" \
  '[ -s rep-local/index.html ] &&
   diff <(sed "s/local\.db/DB/; /wall time/d" rep-local/index.html) \
        <(sed "s/merged\.db/DB/; /wall time/d" rep-merged/index.html) > /dev/null'
sha_before=$(sqlite3 merged.db "SELECT count(*) FROM orders")
"$BIN" merge shard0.db shard1.db shard2.db --out merged.db > merge2.log 2>&1
check "merging again adds nothing" \
  'grep -q "0 runs added, 12 already there" merge2.log && [ "$(sqlite3 merged.db "SELECT count(*) FROM runs")" = 12 ] && [ "$(sqlite3 merged.db "SELECT count(*) FROM orders")" = "$sha_before" ]'

# 4. refusals: another plan's DB
sed 's/"1-3"/"1-2"/' plan.json > other.json
"$BIN" sweep other.json --shard 0/2 --out other.db > /dev/null 2>&1
cp merged.db merged-before.db
"$BIN" merge shard0.db other.db --out mixed.db > mixed.log 2>&1; rc=$?
check "merge refuses DBs of different plans (exit 2, no output)" \
  '[ $rc -eq 2 ] && grep -q "plan" mixed.log && [ ! -e mixed.db ]'
"$BIN" merge other.db --out merged.db > mixed2.log 2>&1; rc=$?
check "merge into another plan's DB is refused and leaves it unchanged" \
  '[ $rc -eq 2 ] && cmp -s merged.db merged-before.db'
"$BIN" sweep other.json --out local.db > /dev/null 2> other.err; rc=$?
check "a sweep refuses another plan's DB" '[ $rc -ne 0 ] && grep -q "another plan" other.err'
sqlite3 shard0.db "UPDATE meta SET value = '2' WHERE key = 'schema_version'"
"$BIN" merge shard0.db --out schema.db > schema.log 2>&1; rc=$?
check "merge refuses another schema" '[ $rc -eq 2 ] && grep -q "schema" schema.log'

# 5. resume after SIGKILL: one run at a time, killed once two runs are
# written. Runs of a quarter of a second or more (a plan of its own), so
# that a busy machine does not let the sweep finish between the poll that
# sees two runs and the kill.
cat > killplan.json <<'EOF2'
{"scenario": {"synthetic_orders": 40000, "drivers": 1000, "from": "06:00", "to": "10:00"},
 "axes": {"dispatch": ["batch-distance"], "seeds": "1-8"}}
EOF2
"$BIN" sweep killplan.json --out killref.db --jobs 2 > /dev/null 2>&1
contents killref.db > c_killref.txt
"$BIN" sweep killplan.json --out killed.db --jobs 1 > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  n=$(sqlite3 killed.db "SELECT count(*) FROM runs WHERE status = 'completed'" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 2 ] && break
  sleep 0.02
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
done_before=$(sqlite3 killed.db "SELECT count(*) FROM runs WHERE status = 'completed'")
check "the killed sweep left some runs completed, not all" '[ "$done_before" -ge 2 ] && [ "$done_before" -lt 8 ]'
"$BIN" sweep killplan.json --out killed.db > resumed.txt 2> resumed.err
check "the resumed sweep ran only the rest" \
  'grep -q "$((8 - done_before)) runs\? to do ($done_before already completed)" resumed.err'
check "after resume: 8 runs, each key completed once, none left running" \
  '[ "$(sqlite3 killed.db "SELECT count(*), count(DISTINCT run_key), sum(status = '"'completed'"') FROM runs JOIN sweep_runs ON run_id = id")" = "8|8|8" ] &&
   [ "$(sqlite3 killed.db "SELECT count(*) FROM runs")" = 8 ]'
check "no rows of the killed run are left" \
  '[ "$(sqlite3 killed.db "SELECT count(*) FROM orders WHERE run_id NOT IN (SELECT id FROM runs)")" = 0 ]'
contents killed.db > c_killed.txt
check "the resumed DB has the uninterrupted sweep's contents" 'diff c_killref.txt c_killed.txt > /dev/null'

# 6. --results summary: the runs' KPIs and series, no orders, drivers or
# solver ticks
"$BIN" sweep plan.json --results summary --out summary.db > summary.txt 2>/dev/null
check "summary: KPIs and kpi_series as the full sweep's, no orders, drivers or ticks" \
  '[ "$(sqlite3 summary.db "SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM drivers) + (SELECT count(*) FROM solver_ticks)")" = 0 ] &&
   [ "$(sqlite3 summary.db "SELECT count(*) FROM kpi_series")" = "$(sqlite3 local.db "SELECT count(*) FROM kpi_series")" ] &&
   diff <(nowall local.txt) <(nowall summary.txt) > /dev/null'
"$BIN" sweep plan.json --results orders --out orders.db > /dev/null 2>&1
check "orders: orders and drivers as the full sweep's, no solver ticks" \
  '[ "$(sqlite3 orders.db "SELECT count(*) FROM solver_ticks")" = 0 ] &&
   [ "$(sqlite3 orders.db "SELECT count(*) FROM orders")" = "$(sqlite3 local.db "SELECT count(*) FROM orders")" ]'

# 7. MPI: the same per-run results as the local sweep
if [ "$MPI_TEST" = 1 ]; then
  MPI=(mpirun -np 2 --oversubscribe)
  [ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
  if "${MPI[@]}" "$BIN" sweep plan.json --out mpi.db > mpi.txt 2> mpi.err; then
    ok "mpirun -np 2 sweep exits 0"
  else
    ko "mpirun -np 2 sweep exits 0"; cat mpi.err >&2
  fi
  contents mpi.db > c_mpi.txt
  check "MPI: the local sweep's per-run results" 'diff c_local.txt c_mpi.txt > /dev/null'
  check "MPI: the local sweep's tables" \
    'diff <(nowall local.txt) <(nowall mpi.txt) > /dev/null'
  # a rank killed mid-sweep: mpirun ends the job; what rank 0 wrote is
  # completed runs only, and the same command again finishes the plan
  "${MPI[@]}" "$BIN" sweep plan.json --out mpikill.db > /dev/null 2>&1 &
  mpid=$!
  for _ in $(seq 1 600); do
    n=$(sqlite3 mpikill.db "SELECT count(*) FROM runs WHERE status = 'completed'" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 2 ] && break
    sleep 0.05
  done
  for p in $(pgrep -f "sweep plan.json --out mpikill.db"); do
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -q '^OMPI_COMM_WORLD_RANK=1$'; then
      kill -KILL "$p"
    fi
  done
  wait "$mpid" 2>/dev/null
  check "MPI, a rank killed: its run shows 'running' with no rows, the rest completed" \
    '[ "$(sqlite3 mpikill.db "SELECT count(*) FROM runs WHERE status NOT IN ('"'completed', 'running'"')")" = 0 ] &&
     [ "$(sqlite3 mpikill.db "SELECT count(*) FROM orders WHERE run_id IN (SELECT id FROM runs WHERE status = '"'running'"')")" = 0 ]'
  held=$(sqlite3 mpikill.db "SELECT count(*) FROM runs WHERE status = 'running'")
  "${MPI[@]}" "$BIN" sweep plan.json --out mpikill.db > /dev/null 2> mpikill.err
  contents mpikill.db > c_mpikill.txt
  check "MPI, a rank killed: the next sweep reports the lost run" \
    '[ "$held" = 0 ] || grep -q "$held runs\? left incomplete by an earlier sweep" mpikill.err'
  check "MPI, a rank killed: resumed, each run once, the local sweep's contents" \
    '[ "$(sqlite3 mpikill.db "SELECT count(*), count(DISTINCT run_key) FROM sweep_runs")" = "12|12" ] &&
     diff c_local.txt c_mpikill.txt > /dev/null'
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
