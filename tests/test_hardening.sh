#!/usr/bin/env bash
# test_hardening: bad inputs and faults that once crashed ridesim, hung it,
# or gave a wrong result without a word (docs/reliability.md, "Bad inputs
# and faults tried"), each run end to end through the built binary.
#
# Every case says what must happen: a refusal in one line and a non-zero
# exit, or a correct result. The binary comes from $RIDESIM_BIN (meson sets
# it; another binary can be given to see an old one fail). Needs python3.
# Prints "N passed, M failed" and exits 1 on any failure. RIDESIM_KEEP_TMP=1
# keeps the files; HARDEN_ONLY=WORD runs the cases whose name holds WORD.
set -u

BIN=${RIDESIM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "RIDESIM_BIN is not an executable: '${BIN}'" >&2
  exit 1
fi
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-harden-XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  if [ -z "${RIDESIM_KEEP_TMP:-}" ]; then rm -rf "$WORK"; else echo "files in $WORK"; fi
}
trap cleanup EXIT
cd "$WORK" || exit 1

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && printf '       %s\n' "${@:2}"; }
want() { [ -z "${HARDEN_ONLY:-}" ] || [[ $1 == *"$HARDEN_ONLY"* ]]; }

# sql DB QUERY: the first column of the first row ('' when none).
sql() {
  python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
try:
    row = con.execute(sys.argv[2]).fetchone()
except sqlite3.Error as e:
    row = ("sql error: %s" % e,)
print("" if row is None or row[0] is None else row[0])
EOF
}
# sqlw DB STATEMENT: changes a DB.
sqlw() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$1" "$2"; }
# run_cmd NAME CMD...: runs CMD with its output in NAME.out / NAME.err and
# its exit status in $RC; a crash by a signal gives 128 + the signal.
run_cmd() {
  local name=$1
  shift
  "$@" >"$name.out" 2>"$name.err"
  RC=$?
}
# crashed: whether the last run died of a signal or a sanitizer report.
crashed() {
  [ "$RC" -ge 128 ] || grep -qE "AddressSanitizer|runtime error|free\(\)|double free|Segmentation" "$1.err"
}

# --- trips for the store cases: 400 trips inside midtown Manhattan ---------
python3 - <<'EOF'
import random
r = random.Random(5)
with open("mid.csv", "w") as f:
    f.write("pickup_datetime,pickup_lat,pickup_lon,dropoff_lat,dropoff_lon\n")
    for i in range(400):
        t = 8 * 3600 + i * 9
        f.write("2016-02-01 %02d:%02d:%02d,%.6f,%.6f,%.6f,%.6f\n" % (
            t // 3600, t // 60 % 60, t % 60,
            40.74 + 0.03 * r.random(), -73.995 + 0.03 * r.random(),
            40.74 + 0.03 * r.random(), -73.995 + 0.03 * r.random()))
EOF
# manhattan.json with another box, keeping its name or taking another one
city_variant() { # OUT NAME MIN_LAT MIN_LNG MAX_LAT MAX_LNG
  python3 - "$@" "$ROOT/city_data/cities/manhattan.json" <<'EOF'
import json, sys
out, name, a, b, c, d, src = sys.argv[1:]
j = json.load(open(src))
j["name"] = name
j["bbox"] = {"min_lat": float(a), "min_lng": float(b), "max_lat": float(c), "max_lng": float(d)}
# the outline and the cell factors belong to the built-in box
for k in ("service_area", "cell_factors"):
    j.pop(k, None)
j.get("network_factors", {}).pop("cells", None)
json.dump(j, open(out, "w"))
EOF
}
city_variant small_same_name.json manhattan 40.70 -74.02 40.80 -73.93
city_variant wide_same_name.json manhattan 39.90 -74.60 41.20 -73.30
city_variant wide_synthetic.json synthetic 39.90 -74.60 41.20 -73.30
city_variant wide_own.json widecity 39.90 -74.60 41.20 -73.30
RUN=(--from 08:00 --to 09:00 --drivers 60 --dispatch batch-distance)

# KDD Cup order rows in Chengdu (unix seconds, UTC+8)
python3 - <<'EOF'
import random
r = random.Random(3)
with open("kdd.csv", "w") as f:
    for i in range(200):
        t = 1477958400 + 3600 + i * 11
        f.write("%d,%d,%d,%.5f,%.5f,%.5f,%.5f,%.2f\n" % (
            900000 + i, t, t + 900, 104.03 + 0.08 * r.random(), 30.62 + 0.07 * r.random(),
            104.03 + 0.08 * r.random(), 30.62 + 0.07 * r.random(), 2 + 3 * r.random()))
EOF

# A greedy agent whose misbehaviour MODE chooses; PIDFILE gets its pid.
cat >agent.py <<'EOF'
import json, os, sys, time
mode = sys.argv[1]
if len(sys.argv) > 2:
    open(sys.argv[2], "w").write(str(os.getpid()))
n = 0
def send(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
for line in sys.stdin:
    req = json.loads(line)
    tick = req["tick"]
    if req["type"] == "init":
        if mode == "hang-init":
            time.sleep(3600)
        send({"ok": True, "tick": tick})
        if mode == "stop-reading-exit":   # stops reading, then leaves mid-write
            time.sleep(3); os.close(0); time.sleep(1); sys.exit(0)
        if mode == "close-out":           # closes its stdout, lives on
            os.close(1)
            for _ in sys.stdin: pass
            time.sleep(3600)
        continue
    if req["type"] == "reposition":
        send({"ok": True, "tick": tick, "result": []}); continue
    n += 1
    if mode == "stall" and n == 20:
        time.sleep(4)
    used_o, used_d, res = set(), set(), []
    for r in sorted(req["observ"], key=lambda r: r["order_driver_distance"]):
        if r["order_id"] in used_o or r["driver_id"] in used_d: continue
        used_o.add(r["order_id"]); used_d.add(r["driver_id"])
        res.append({"order_id": r["order_id"], "driver_id": r["driver_id"]})
    send({"ok": True, "tick": tick, "result": res})
EOF

# --- a store's cells and the run's grid ------------------------------------
if want grid; then
  "$BIN" import mid.csv --db man.db >/dev/null 2>&1
  # 1. a city file with a smaller box (same name) given to a run of the store
  run_cmd g1 "$BIN" run --trips man.db --city small_same_name.json "${RUN[@]}" --out g1.db
  if crashed g1; then bad "grid: --city with a smaller box crashed (exit $RC)" "$(head -3 g1.err)"
  elif [ "$RC" -ne 0 ] && grep -q "another grid" g1.err && [ "$(sql g1.db "SELECT count(*) FROM runs WHERE status='completed'" 2>/dev/null)" != 1 ]; then
    ok "grid: --city with a smaller box is refused ($(head -c 90 g1.err))"
  else bad "grid: --city with a smaller box: exit $RC" "$(head -3 g1.err)"; fi

  # 2. a store imported with a wider city of a built-in's name, run without --city
  "$BIN" import --city wide_same_name.json mid.csv --db wide.db >/dev/null 2>&1
  run_cmd g2 "$BIN" run --trips wide.db "${RUN[@]}" --out g2.db --json
  matched=$(sql g2.db "SELECT count(*) FROM orders WHERE status='completed'" 2>/dev/null)
  if crashed g2; then bad "grid: wider store run without --city crashed (exit $RC)" "$(head -3 g2.err)"
  elif [ "$RC" -eq 0 ] && [ "${matched:-0}" -gt 100 ] 2>/dev/null; then
    ok "grid: a store of a wider city named 'manhattan' runs on its own kept city ($matched completed)"
  else bad "grid: wider store run without --city: exit $RC, $matched completed" "$(head -3 g2.err)"; fi

  # 3. a custom city named like the built-in 'synthetic', another box
  "$BIN" import --city wide_synthetic.json mid.csv --db wsyn.db >/dev/null 2>&1
  run_cmd g3 "$BIN" run --trips wsyn.db "${RUN[@]}" --out g3.db
  matched=$(sql g3.db "SELECT count(*) FROM orders WHERE status='completed'" 2>/dev/null)
  if crashed g3; then bad "grid: custom 'synthetic' store crashed (exit $RC)" "$(head -3 g3.err)"
  elif [ "$RC" -eq 0 ] && [ "${matched:-0}" -gt 100 ] 2>/dev/null; then
    ok "grid: a custom city named 'synthetic' runs on its kept definition ($matched completed)"
  else bad "grid: custom 'synthetic' store: exit $RC, $matched completed" "$(head -3 g3.err)"; fi
  #    and the built-in of that name given with --city is refused
  run_cmd g3b "$BIN" run --trips wsyn.db --city synthetic "${RUN[@]}" --out g3b.db
  if crashed g3b; then bad "grid: custom 'synthetic' store with --city synthetic crashed (exit $RC)"
  elif [ "$RC" -ne 0 ] && grep -q "another grid" g3b.err; then ok "grid: --city synthetic on a store of another 'synthetic' grid is refused"
  else bad "grid: --city synthetic on another grid: exit $RC" "$(head -3 g3b.err)"; fi

  # 4. a store of a custom city (its own name) needs no --city again
  "$BIN" import --city wide_own.json mid.csv --db own.db >/dev/null 2>&1
  run_cmd g4 "$BIN" run --trips own.db "${RUN[@]}" --out g4.db
  if [ "$RC" -eq 0 ] && grep -q "widecity" g4.out; then ok "grid: a store imported with a city file remembers the city"
  else bad "grid: store of a city file, run without --city: exit $RC" "$(head -3 g4.err)"; fi

  # 5. one row edited to a pickup cell far outside the grid
  cp man.db edit1.db
  sqlw edit1.db "UPDATE trips SET pickup_cell = 2000000000 WHERE id = 17"
  run_cmd g5 "$BIN" run --trips edit1.db "${RUN[@]}" --out g5.db
  if crashed g5; then bad "grid: pickup_cell 2000000000 crashed (exit $RC)" "$(head -3 g5.err)"
  elif [ "$RC" -ne 0 ] && grep -q "trip 17" g5.err; then ok "grid: an edited pickup_cell is refused, naming the trip"
  else bad "grid: pickup_cell 2000000000: exit $RC" "$(head -3 g5.err)"; fi

  # 6. an out-of-range dropoff cell must not change the KPIs silently
  cp man.db edit2.db
  n=$(sql man.db "SELECT value FROM store WHERE key='grid'" | awk -F, '{print $6}')
  [ -n "$n" ] || n=$(sql man.db "SELECT max(dropoff_cell) + 100000 FROM trips")
  sqlw edit2.db "UPDATE trips SET dropoff_cell = $n + 5 WHERE id = 30"
  run_cmd g6 "$BIN" run --trips edit2.db "${RUN[@]}" --out g6.db
  if crashed g6; then bad "grid: dropoff cell beyond the grid crashed (exit $RC)" "$(head -3 g6.err)"
  elif [ "$RC" -ne 0 ] && grep -q "trip 30" g6.err; then ok "grid: a dropoff cell beyond the grid is refused, naming the trip"
  else bad "grid: dropoff cell beyond the grid: exit $RC (KPIs silently changed)" "$(head -3 g6.err)"; fi

  # 7. compare on a store with a smaller city file: refused, never 'completed'
  run_cmd g7 "$BIN" compare --trips man.db --city small_same_name.json --policies fcfs-nearest,batch-distance \
    --seeds 1 "${RUN[@]:0:6}" --out g7.db
  done7=$(sql g7.db "SELECT count(*) FROM runs WHERE status='completed'" 2>/dev/null)
  if crashed g7; then bad "grid: compare with a smaller city crashed (exit $RC)" "$(head -3 g7.err)"
  elif [ "$RC" -ne 0 ] && [ "${done7:-0}" = 0 -o -z "$done7" ]; then ok "grid: compare with a smaller city file is refused"
  else bad "grid: compare with a smaller city: exit $RC, $done7 runs completed" "$(head -3 g7.err)"; fi
fi

# --- imports ----------------------------------------------------------------
if want import; then
  run_cmd i1 "$BIN" import --format kddcup kdd.csv --db kdd.db
  if [ "$RC" -eq 0 ] && [ "$(sql kdd.db "SELECT value FROM store WHERE key='city'")" = chengdu ] &&
     [ "$(sql kdd.db "SELECT count(*) FROM trips")" = 200 ]; then
    ok "import: a KDD Cup order file lands in the built-in chengdu city by default"
  else bad "import: KDD Cup file without --city: exit $RC, city $(sql kdd.db "SELECT value FROM store WHERE key='city'" 2>&1)" "$(head -3 i1.err)"; fi
  run_cmd i2 "$BIN" import --format kddcup --city manhattan kdd.csv --db kdd_man.db
  if [ "$RC" -ne 0 ] && [ ! -e kdd_man.db ] && grep -q "no row accepted" i2.err; then
    ok "import: an import that accepts nothing exits 1 and leaves no store"
  else bad "import: nothing accepted: exit $RC, store left: $([ -e kdd_man.db ] && echo yes || echo no)" "$(head -3 i2.err)"; fi
  for kind in missing empty binary; do
    case $kind in
      missing) src=no-such.csv ;;
      empty) : >empty.csv; src=empty.csv ;;
      binary) head -c 3000 "$BIN" >binary.csv; src=binary.csv ;;
    esac
    run_cmd i3 "$BIN" import "$src" --db "fail_$kind.db"
    if [ "$RC" -ne 0 ] && [ ! -e "fail_$kind.db" ]; then ok "import: the $kind input exits 1 and leaves no store"
    else bad "import: the $kind input: exit $RC, store left: $([ -e "fail_$kind.db" ] && echo yes || echo no)"; fi
  done
  "$BIN" import mid.csv --db twice.db >/dev/null 2>&1
  run_cmd i4 "$BIN" import mid.csv --db twice.db
  n=$(sql twice.db "SELECT count(*) FROM trips")
  if [ "$RC" -ne 0 ] && [ "$n" = 400 ] && grep -q "twice" i4.err; then
    ok "import: the same file imported twice is refused (400 trips stay 400)"
  else bad "import: the same file twice: exit $RC, $n trips" "$(head -3 i4.err)"; fi
  run_cmd i5 "$BIN" import --again mid.csv --db twice.db
  n=$(sql twice.db "SELECT count(*) FROM trips")
  if [ "$RC" -eq 0 ] && [ "$n" = 800 ]; then ok "import: --again imports it all the same"
  else bad "import: --again: exit $RC, $n trips"; fi
  if [ -e /dev/null-journal ]; then journal_before=1; else journal_before=0; fi
  run_cmd i6 "$BIN" import mid.csv --db /dev/null
  if [ "$RC" -ne 0 ] && { [ "$journal_before" = 1 ] || [ ! -e /dev/null-journal ]; }; then
    ok "import: --db /dev/null is refused, no /dev/null-journal"
  else bad "import: --db /dev/null: exit $RC" "$(head -2 i6.err)"; fi
  [ "$journal_before" = 0 ] && rm -f /dev/null-journal
fi

# --- the agent bridge --------------------------------------------------------
if want agent; then
  # requests of 60-100 KB: more than a pipe holds
  BIG=(--synthetic --orders 100000 --drivers 3000 --from 08:00 --to 08:10 --seed 7)
  # 1. the agent exits while a request larger than the pipe is being written
  run_cmd a1 timeout 120 "$BIN" evaluate --agent "exec python3 agent.py stop-reading-exit" "${BIG[@]}" --out a1.db
  st=$(sql a1.db "SELECT status FROM runs")
  if [ "$RC" = 1 ] && [ "$st" = agent-died ] && grep -q '"died"' a1.db.agent.jsonl; then
    ok "agent: exiting in the middle of a write: agent-died, results and fault log kept, exit 1"
  else bad "agent: exiting in the middle of a write: exit $RC (141 is SIGPIPE), status '$st'" "$(tail -2 a1.err)"; fi

  # 2. a stall of 4 s at one tick (limit 1 s): one tick lost, the same in every run
  j=()
  for k in 1 2; do
    run_cmd a2 timeout 120 "$BIN" evaluate --agent "python3 agent.py stall" "${BIG[@]}" --agent-timeout 1 --out "a2_$k.db" --json
    j+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_driver_income"])' a2.out 2>/dev/null)")
    to[$k]=$(grep -c '"timeout"' "a2_$k.db.agent.jsonl")
  done
  if [ "${to[1]}" = 1 ] && [ "${to[2]}" = 1 ] && [ -n "${j[0]}" ] && [ "${j[0]}" = "${j[1]}" ]; then
    ok "agent: a 4 s stall costs exactly one tick, and two runs give the same J (${j[0]})"
  else bad "agent: a 4 s stall: timeouts ${to[1]} and ${to[2]} (want 1), J ${j[0]:-?} and ${j[1]:-?}"; fi

  # 3. an agent that closes its stdout and lives on is dead to the run; so
  #    is one whose shell keeps the pipe open (it hangs: nothing answers)
  for how in exec shell; do
    pre=""
    [ "$how" = exec ] && pre="exec "
    run_cmd a3 timeout 120 "$BIN" evaluate --agent "${pre}python3 agent.py close-out" "${BIG[@]}" \
      --agent-late-limit 5 --out "a3$how.db"
    st=$(sql "a3$how.db" "SELECT status FROM runs")
    if [ "$RC" = 1 ] && [ "$st" = agent-died ]; then ok "agent: closing its stdout ($how) ends the run as agent-died"
    else bad "agent: closed stdout ($how): exit $RC, status '$st'" "$(tail -2 a3.err)"; fi
  done

  # 4. an agent forked by its shell dies with it (init timeout, then exit)
  run_cmd a4 timeout 120 "$BIN" evaluate --agent "python3 agent.py hang-init $WORK/a4.pid; true" "${BIG[@]}" \
    --agent-init-timeout 1 --out a4.db
  pid=$(cat a4.pid 2>/dev/null)
  alive=no
  if [ -n "$pid" ]; then
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
      [ -z "$state" ] || [ "$state" = Z ] && break
      sleep 0.2
    done
    [ -n "$state" ] && [ "$state" != Z ] && alive=yes && PIDS+=("$pid")
  fi
  if [ -n "$pid" ] && [ "$alive" = no ] && [ "$RC" = 1 ]; then ok "agent: a shell's child does not outlive the run (init timeout)"
  else bad "agent: the shell's child: pid '${pid}' alive: $alive, exit $RC"; fi

  # 5. the fault log: a full disk, the results DB, the trip store
  run_cmd a5 timeout 120 "$BIN" evaluate --agent "python3 agent.py stall" "${BIG[@]}" --agent-timeout 1 --out a5.db \
    --agent-log /dev/full
  if [ "$RC" -ne 0 ] && grep -q "agent log" a5.err; then ok "agent: a fault log that cannot be written is an error"
  else bad "agent: fault log on a full disk: exit $RC" "$(tail -2 a5.err)"; fi
  run_cmd a6 timeout 120 "$BIN" evaluate --agent "python3 agent.py ok" "${BIG[@]}" --out a6.db --agent-log a6.db
  if [ "$RC" -ne 0 ] && grep -q "results DB" a6.err; then ok "agent: --agent-log equal to --out is refused"
  else bad "agent: --agent-log equal to --out: exit $RC" "$(tail -2 a6.err)"; fi
  "$BIN" import mid.csv --db a7trips.db >/dev/null 2>&1
  before=$(cksum <a7trips.db)
  run_cmd a7 timeout 120 "$BIN" evaluate --agent "python3 agent.py ok" --trips a7trips.db --from 08:00 --to 08:10 \
    --drivers 50 --out a7.db --agent-log ./a7trips.db
  if [ "$RC" -ne 0 ] && [ "$(cksum <a7trips.db)" = "$before" ]; then ok "agent: --agent-log equal to --trips is refused, the store untouched"
  else bad "agent: --agent-log equal to --trips: exit $RC" "$(tail -2 a7.err)"; fi
fi

# --- empty paths and limits --------------------------------------------------
if want paths; then
  run_cmd p1 "$BIN" run --synthetic --orders 2000 --from 07:00 --to 08:00 --drivers 40 --out ''
  if [ "$RC" = 2 ] && grep -q -- "--out: empty" p1.err; then ok "paths: run --out '' is refused"
  else bad "paths: run --out '': exit $RC" "$(head -2 p1.out p1.err)"; fi
  run_cmd p2 "$BIN" run --trips '' --from 07:00 --to 08:00 --drivers 40 --out p2.db
  if [ "$RC" = 2 ] && [ ! -e p2.db ]; then ok "paths: run --trips '' is refused (it was the synthetic city)"
  else bad "paths: run --trips '': exit $RC" "$(head -2 p2.err)"; fi
  echo '{"out": ""}' >p3.json
  run_cmd p3 "$BIN" run --scenario p3.json --synthetic --orders 2000 --from 07:00 --to 08:00 --drivers 40
  if [ "$RC" -ne 0 ] && grep -q "'out' is empty" p3.err; then ok "paths: a scenario's empty 'out' is refused"
  else bad "paths: a scenario's empty 'out': exit $RC" "$(head -2 p3.err)"; fi
  run_cmd p4 "$BIN" run --synthetic --drivers 100000000 --out p4.db
  if [ "$RC" = 2 ] && grep -q "1 to 10000000" p4.err; then ok "paths: --drivers 100000000 names the real limit"
  else bad "paths: --drivers 100000000: exit $RC" "$(head -2 p4.err)"; fi
fi

# --- data accepted without a word -------------------------------------------
if want data; then
  [ -e man.db ] || "$BIN" import mid.csv --db man.db >/dev/null 2>&1
  { echo "pickup_datetime,pickup_lat,pickup_lon,dropoff_lat,dropoff_lon,pickup_lat"
    tail -n +2 mid.csv | sed 's/$/,40.75/'; } >duphdr.csv
  run_cmd d1 "$BIN" import duphdr.csv --db d1.db
  if [ "$RC" -ne 0 ] && grep -q "appears twice" d1.err; then ok "data: a CSV header naming a column twice is refused"
  else bad "data: a duplicate header column: exit $RC" "$(head -2 d1.err)"; fi
  run_cmd d2 "$BIN" import --format csv --map "t_request=pickup_datetime,plat=pickup_lat,plng=pickup_lon,dlat=dropoff_lat,dlng=dropoff_lon,plat=dropoff_lat" mid.csv --db d2.db
  if [ "$RC" -ne 0 ] && grep -q "given twice" d2.err; then ok "data: a column map giving a field twice is refused"
  else bad "data: a duplicate map key: exit $RC" "$(head -2 d2.err)"; fi
  printf '{"drivers": 10, "drivers": 20}' >dupkey.json
  run_cmd d3 "$BIN" run --scenario dupkey.json --synthetic --orders 2000 --from 07:00 --to 08:00 --out d3.db
  if [ "$RC" = 2 ] && grep -q "appears twice" d3.err; then ok "data: a scenario key given twice is refused (exit 2)"
  else bad "data: a duplicate scenario key: exit $RC" "$(head -2 d3.err)"; fi
  printf '{"drivers": 10} {"drivers": 20} trailing' >trail.json
  run_cmd d4 "$BIN" run --scenario trail.json --synthetic --orders 2000 --from 07:00 --to 08:00 --out d4.db
  if [ "$RC" = 2 ] && grep -q "after the scenario" d4.err; then ok "data: text after the scenario object is refused (exit 2)"
  else bad "data: trailing garbage after a scenario: exit $RC" "$(head -2 d4.err)"; fi
  printf '{"drivers": 0}' >invalid.json
  run_cmd d5 "$BIN" run --scenario invalid.json --synthetic --orders 2000 --out d5.db
  run_cmd d5b "$BIN" run --scenario no-such.json --synthetic --orders 2000 --out d5.db
  if [ "$RC" = 2 ]; then ok "data: a scenario that does not read exits 2, as one that does not validate"
  else bad "data: a missing scenario: exit $RC (a bad one exits 2)"; fi
  { head -3 kdd.csv; echo "900900,1477962000,1477962900,104.05,30.65,104.07,30.66,1e308"
    echo "ab12cd,1477962000,1477962900,104.05,30.65,104.07,30.66,3.5"; } >kddbad.csv
  run_cmd d6 "$BIN" import --format kddcup kddbad.csv --db d6.db
  if [ "$(sql d6.db "SELECT count(*) FROM trips")" = 3 ] && grep -q "implausible fare" d6.out &&
     grep -q "order_id is not" d6.out; then
    ok "data: a KDD fare of 1e308 and a non-numeric order_id are rejected with their reasons"
  else bad "data: KDD fare 1e308 / text order_id: $(sql d6.db "SELECT count(*) FROM trips") trips" "$(cat d6.out | head -4)"; fi
  if [ -n "${RIDESIM_DATA:-}" ] && [ -f "$RIDESIM_DATA/kddcup2020/hexagon_grid_table.csv" ]; then
    run_cmd d7 timeout 120 "$BIN" evaluate --agent builtin:batch-distance --trips man.db --from 08:00 --to 08:30 \
      --drivers 50 --kdd-grid "$RIDESIM_DATA/kddcup2020/hexagon_grid_table.csv" --out d7.db
    if [ "$RC" -ne 0 ] && grep -q "another city" d7.err; then ok "data: the Chengdu KDD grid is refused for Manhattan"
    else bad "data: the Chengdu grid for Manhattan: exit $RC" "$(tail -2 d7.err)"; fi
  fi
  run_cmd d8 "$BIN" run --synthetic --orders 2000 --from 07:00 --to 08:00 --seed 9223372036854775808 --out d8.db
  if [ "$RC" = 2 ] && [ "$(sql d8.db "SELECT count(*) FROM runs WHERE seed < 0" 2>/dev/null)" != 1 ]; then
    ok "data: a seed of 2^63 is refused (it was stored negative)"
  else bad "data: seed 2^63: exit $RC, stored $(sql d8.db "SELECT seed FROM runs" 2>/dev/null)"; fi
fi

# --- leftovers and messages --------------------------------------------------
if want misc; then
  printf '1 1 1\n0 0 1e-320\n' >subnormal.txt
  run_cmd m1 "$BIN" match subnormal.txt
  if [ "$RC" = 0 ] && grep -q "matched_pairs 1" m1.out; then ok "misc: match takes a subnormal weight (1e-320) as the finite number it is"
  else bad "misc: match 1e-320: exit $RC" "$(head -2 m1.err)"; fi
  mkdir -p adir
  run_cmd m2 "$BIN" run --synthetic --orders 2000 --from 07:00 --to 08:00 --drivers 40 --dispatch v1d3 \
    --value-out adir --out m2.db
  if [ "$RC" = 2 ] && [ "$(sql m2.db "SELECT count(*) FROM runs" 2>/dev/null)" != 1 ]; then
    ok "misc: --value-out naming a directory is refused before the run"
  else bad "misc: --value-out to a directory: exit $RC" "$(head -2 m2.err)"; fi
  "$BIN" import mid.csv --db m3trips.db >/dev/null 2>&1
  run_cmd m3 "$BIN" train --trips m3trips.db --passes 3 --out "$WORK/no-such-dir/v.db"
  if [ "$RC" -ne 0 ] && ! grep -qi "pass" m3.out; then ok "misc: train checks --out before its passes"
  else bad "misc: train with an unwritable --out: exit $RC, it trained first" "$(head -3 m3.out)"; fi
  run_cmd m4 timeout 60 "$BIN" evaluate --agent "python3 agent.py hang-init" --synthetic --orders 2000 \
    --from 07:00 --to 08:00 --drivers 40 --agent-init-timeout 1 --out m4.db
  if [ "$RC" = 1 ] && ! grep -q "fallback acted" m4.err && grep -q "waiting up to" m4.err; then
    ok "misc: an init timeout says nothing of a fallback, and the wait was announced"
  else bad "misc: init-timeout summary: exit $RC" "$(grep -E "fallback|waiting" m4.err | head -2)"; fi
  timp="$(dirname "$BIN")/../tests/test_import"
  if [ -x "$timp" ]; then
    run_cmd m6 env -u RIDESIM_REQUIRE_DATA RIDESIM_DATA="$WORK/no-such-data" "$timp"
    if [ "$RC" = 77 ] && grep -q "no-such-data is not a readable folder" m6.err; then
      ok "misc: a skip names the missing RIDESIM_DATA folder instead of calling it unset"
    else bad "misc: the skip message for a missing RIDESIM_DATA: exit $RC" "$(grep -i skipped m6.err m6.out | head -2)"; fi
  fi
  [ -e man.db ] || "$BIN" import mid.csv --db man.db >/dev/null 2>&1
  run_cmd m7 "$BIN" run --print-scenario --trips man.db
  if [ "$RC" = 0 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["city"] != "manhattan")' m7.out &&
     grep -q '\[0.035, 0.039, 0.042' m7.out; then
    ok "misc: --print-scenario --trips names the store's city and prints 0.035 as 0.035"
  else bad "misc: --print-scenario --trips" "$(grep -E '"city"|"p"' m7.out | head -2)"; fi
  run_cmd m8 "$BIN" run --synthetic --orders 2000 --from 07:00 --to 08:00 --drivers 40 --dispatch v1d3 --out m8.db
  if [ "$RC" = 0 ] && grep -q "value: online" m8.out; then ok "misc: a v1d3 run's header names its value mode"
  else bad "misc: a v1d3 run's header: exit $RC" "$(head -2 m8.out)"; fi
  for o in 2000 3000 4000; do
    "$BIN" run --synthetic --orders $o --from 07:00 --to 08:00 --drivers 40 --out m9.db >/dev/null 2>&1
  done
  run_cmd m9 "$BIN" report m9.db --out m9report
  if [ "$RC" = 0 ] && grep -q "report: 1 run from" m9.out && grep -q "holds 3 runs" m9.out; then
    ok "misc: report on separate runs says '1 run' and names the runs it left out"
  else bad "misc: report on three separate runs: exit $RC" "$(head -2 m9.out)"; fi
  run_cmd m5 timeout 60 "$BIN" evaluate --agent "python3 agent.py ok" --synthetic --orders 2000 \
    --from 07:00 --to 07:10 --drivers 40 --out m5.db
  if [ "$RC" = 0 ] && ! grep -q "agent agent:" m5.out && grep -q "agent 'python3 agent.py ok'" m5.out; then
    ok "misc: evaluate's header names the agent once"
  else bad "misc: evaluate's header: exit $RC" "$(head -1 m5.out)"; fi
fi

# --- benchmark scripts without their tools -----------------------------------
if want bench; then
  # a PATH of every command but one
  path_without() { # TOOL
    local d="$WORK/path-no-$1" f
    mkdir -p "$d"
    for f in /usr/local/bin/* /usr/bin/* /bin/*; do
      [ "$(basename "$f")" = "$1" ] || ln -sf "$f" "$d/$(basename "$f")" 2>/dev/null
    done
    echo "$d"
  }
  for spec in "bench_import.sh bc bc" "bench_compare.sh time time" "bench_match.sh g++ liblemon-dev"; do
    set -- $spec
    p=$(path_without "$2")
    run_cmd "b_$2" env PATH="$p" RIDESIM_BIN="$BIN" RIDESIM_DATA="${RIDESIM_DATA:-$ROOT/../shared/city_data}" \
      RIDESIM_SHARED="${RIDESIM_SHARED:-$ROOT/../shared}" bash "$ROOT/tools/$1" "$BIN"
    if [ "$RC" -ne 0 ] && [ "$(wc -l <"b_$2.err")" = 1 ] && grep -q "apt-get install.*$3" "b_$2.err"; then
      ok "bench: $1 without $2 says in one line how to install it"
    else bad "bench: $1 without $2: exit $RC" "$(head -3 "b_$2.err")"; fi
  done
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
