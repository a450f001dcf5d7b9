#!/usr/bin/env bash
# test_cli_run: `ridesim run` end to end through the built binary.
#
# The binary comes from $RIDESIM_BIN (meson sets it). Checks: a synthetic run
# succeeds and prints the KPI table; the main job looks like a city (few
# expired orders, none beside a mass of idle drivers); --json prints valid JSON; --print-scenario
# prints JSON that reads back to itself; --results keeps what it says; each bad input exits non-zero with a
# one-line message and leaves no run in the results DB; an unknown flag exits 2
# with the usage line; SIGINT stops a paced run with exit 130, status
# 'interrupted' and the orders so far kept. Needs python3 (JSON and SQLite
# checks). Prints "N passed, M failed" and exits 1 on any failure.
set -u

BIN=${RIDESIM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "RIDESIM_BIN is not an executable: '${BIN}'" >&2
  exit 1
fi
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-cli-XXXXXX")
BGPID=""
cleanup() {
  if [ -n "$BGPID" ]; then kill "$BGPID" 2>/dev/null; wait "$BGPID" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || exit 1

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && printf '       %s\n' "${@:2}"; }

# sql DB QUERY: prints the first column of the first row ('' when none).
sql() {
  python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
row = con.execute(sys.argv[2]).fetchone()
print("" if row is None or row[0] is None else row[0])
EOF
}

is_json() { python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; }

# runs_in DB: number of runs rows (0 when the file or table is missing).
runs_in() {
  if [ ! -s "$1" ]; then echo 0; return; fi
  python3 - "$1" <<'EOF'
import sqlite3, sys
try:
    con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
    print(con.execute("SELECT count(*) FROM runs").fetchone()[0])
except sqlite3.Error:
    print(0)
EOF
}

# ---------------------------------------------------------------- success

"$BIN" run --orders 20000 --out ok.db >out.txt 2>err.txt
rc=$?
if [ $rc -eq 0 ] && grep -q "answer rate" out.txt && grep -q "completion rate" out.txt &&
   grep -q "total driver income" out.txt && grep -q "results: ok.db (run 1, completed)" out.txt; then
  ok "run --orders 20000 prints the KPI table"
else
  bad "run --orders 20000 prints the KPI table" "exit $rc" "$(head -5 out.txt err.txt)"
fi
if [ "$(sql ok.db "SELECT status FROM runs WHERE id = 1")" = completed ] &&
   [ "$(sql ok.db "SELECT count(*) FROM orders WHERE run_id = 1")" = \
     "$(sql ok.db "SELECT orders FROM runs WHERE id = 1")" ] &&
   [ "$(sql ok.db "SELECT count(*) FROM orders WHERE run_id = 1")" -gt 1000 ]; then
  ok "the run is recorded as completed with its orders"
else
  bad "the run is recorded as completed with its orders"
fi

# The main job (the README's first command: a day of the synthetic city with
# its default fleet, fcfs-nearest, stay) looks like a city: few orders
# expire, and never many in an hour while many drivers stand idle (no
# spatial mismatch), and the fleet is neither idle all day nor saturated.
"$BIN" run --out main.db >main.txt 2>&1
if python3 - main.db <<'EOF'
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
drivers, kpis = con.execute("SELECT drivers, kpis FROM runs WHERE id = 1").fetchone()
k = json.loads(kpis)
assert k["orders"] == 100000, k["orders"]
assert k["expired"] < 0.01 * k["orders"], "expired %d" % k["expired"]
assert 0.25 < k["utilisation"] < 0.6, "utilisation %.3f" % k["utilisation"]
assert k["wait_to_match_mean_s"] < 60, "mean wait %.1f s" % k["wait_to_match_mean_s"]
for h, req, exp, idle in con.execute(
        "SELECT (t_start - (SELECT t_from FROM runs WHERE id = 1)) / 3600, sum(requests), "
        "sum(expired), avg(idle_drivers_mean) FROM kpi_series WHERE run_id = 1 GROUP BY 1"):
    assert not (idle > 0.1 * drivers and exp > 0.01 * req), \
        "hour %d: %d of %d orders expired beside %.0f idle drivers" % (h, exp, req, idle)
EOF
then
  ok "the main job: few expired, and never beside many idle drivers"
else
  bad "the main job: few expired, and never beside many idle drivers" "$(sed -n 2,16p main.txt)"
fi

"$BIN" run --orders 20000 --out ok.db --json >out.json 2>err.txt
rc=$?
if [ $rc -eq 0 ] && is_json <out.json &&
   python3 -c 'import json,sys; k=json.load(sys.stdin); assert k["orders"] > 1000 and 0 < k["answer_rate"] <= 1' <out.json; then
  ok "--json prints valid JSON KPIs"
else
  bad "--json prints valid JSON KPIs" "exit $rc" "$(head -3 out.json err.txt)"
fi
# Same seed, same scenario: the same KPIs and the same orders.
if [ "$(sql ok.db "SELECT count(*) FROM (SELECT order_id, status, t_match, driver FROM orders WHERE run_id = 1 EXCEPT SELECT order_id, status, t_match, driver FROM orders WHERE run_id = 2)")" = 0 ] &&
   [ "$(sql ok.db "SELECT count(DISTINCT kpis) FROM runs")" = 1 ]; then
  ok "a repeated run gives identical results"
else
  bad "a repeated run gives identical results"
fi

# --results: what the DB keeps. orders and summary have the same KPIs as the
# full run (the solver's wall-clock microseconds aside); orders keeps every order and driver but no
# solver tick, summary keeps the KPIs and their series only.
"$BIN" run --orders 20000 --dispatch batch-distance --results full --out keep-full.db >/dev/null 2>&1
"$BIN" run --orders 20000 --dispatch batch-distance --results orders --out keep-orders.db >/dev/null 2>&1
"$BIN" run --orders 20000 --dispatch batch-distance --results summary --out keep-sum.db >/dev/null 2>&1
KPIS="SELECT json_remove(kpis, '\$.solve_p50_us', '\$.solve_p99_us', '\$.solve_max_us') FROM runs"
kpis_full=$(sql keep-full.db "$KPIS")
if [ -n "$kpis_full" ] && [ "$(sql keep-orders.db "$KPIS")" = "$kpis_full" ] &&
   [ "$(sql keep-sum.db "$KPIS")" = "$kpis_full" ] &&
   [ "$(sql keep-full.db "SELECT count(*) FROM solver_ticks")" -gt 0 ] &&
   [ "$(sql keep-orders.db "SELECT count(*) FROM solver_ticks")" = 0 ] &&
   [ "$(sql keep-orders.db "SELECT count(*) FROM orders")" = "$(sql keep-full.db "SELECT count(*) FROM orders")" ] &&
   [ "$(sql keep-orders.db "SELECT count(*) FROM drivers")" = "$(sql keep-full.db "SELECT count(*) FROM drivers")" ] &&
   [ "$(sql keep-sum.db "SELECT count(*) FROM orders") $(sql keep-sum.db "SELECT count(*) FROM drivers") $(sql keep-sum.db "SELECT count(*) FROM solver_ticks")" = "0 0 0" ] &&
   [ "$(sql keep-sum.db "SELECT count(*) FROM kpi_series")" = "$(sql keep-full.db "SELECT count(*) FROM kpi_series")" ] &&
   [ "$(sql keep-sum.db "SELECT status FROM runs")" = completed ]; then
  ok "--results full|orders|summary: the same KPIs, the rows each keeps"
else
  bad "--results full|orders|summary: the same KPIs, the rows each keeps"
fi
"$BIN" run --orders 2000 --results some --out keep-bad.db >out.txt 2>err.txt
rc=$?
if [ $rc -eq 2 ] && grep -q "expected full, orders or summary" err.txt && [ "$(runs_in keep-bad.db)" = 0 ]; then
  ok "--results with an unknown value exits 2 and runs nothing"
else
  bad "--results with an unknown value exits 2 and runs nothing" "exit $rc" "$(cat err.txt)"
fi

"$BIN" run --drivers 123 --dispatch batch-distance --from 07:00 --to 09:30 --print-scenario \
  >scen.json 2>err.txt
rc=$?
if [ $rc -eq 0 ] && is_json <scen.json &&
   python3 -c 'import json,sys; s=json.load(sys.stdin); assert s["drivers"]==123 and s["dispatch"]=="batch-distance" and s["from"]=="07:00"' <scen.json; then
  ok "--print-scenario prints the effective scenario as JSON"
else
  bad "--print-scenario prints the effective scenario as JSON" "exit $rc" "$(head -3 scen.json err.txt)"
fi
"$BIN" run --scenario scen.json --print-scenario >scen2.json 2>err.txt
if cmp -s scen.json scen2.json; then
  ok "a printed scenario reads back to itself"
else
  bad "a printed scenario reads back to itself" "$(diff scen.json scen2.json | head -5)"
fi
if [ ! -e ridesim-results.db ]; then
  ok "--print-scenario writes no results DB"
else
  bad "--print-scenario writes no results DB"
fi

# Warm-up and drain: flags, the scenario, the runs row and the printed lines.
"$BIN" run --orders 20000 --from 07:00 --to 09:00 --warmup 30 --drain all --print-scenario \
  >wd.json 2>err.txt
if python3 -c 'import json,sys; s=json.load(sys.stdin); assert s["warmup_s"]==1800 and s["drain_s"] is None' <wd.json; then
  ok "--warmup 30 --drain all print as warmup_s 1800, drain_s null"
else
  bad "--warmup 30 --drain all print as warmup_s 1800, drain_s null" "$(head -3 wd.json err.txt)"
fi
"$BIN" run --orders 20000 --from 07:00 --to 09:00 --warmup 30 --out wd.db >wd.txt 2>err.txt
rc=$?
if [ $rc -eq 0 ] && grep -q "warm-up from .* 06:30:00 (30 min" wd.txt &&
   grep -q "drain to .* past the horizon: the horizon's last order ended" wd.txt &&
   grep -Eq "open at the end +0$" wd.txt &&
   [ "$(sql wd.db "SELECT warmup_s FROM runs WHERE id = 1")" = 1800 ] &&
   [ "$(sql wd.db "SELECT drain_s > 0 FROM runs WHERE id = 1")" = 1 ] &&
   [ "$(sql wd.db "SELECT min(t_request) >= t_from FROM orders, runs WHERE runs.id = 1 AND run_id = 1")" = 1 ] &&
   [ "$(sql wd.db "SELECT count(*) FROM orders WHERE run_id = 1 AND status = 'open'")" = 0 ] &&
   [ "$(sql wd.db "SELECT count(*) FROM drivers WHERE run_id = 1 AND online_s + offline_s != 7200")" = 0 ]; then
  ok "a warm-up and a drain: the horizon's orders only, all ended, drivers' time the horizon's"
else
  bad "a warm-up and a drain: the horizon's orders only, all ended, drivers' time the horizon's" \
    "exit $rc" "$(head -4 wd.txt err.txt)"
fi
"$BIN" run --orders 20000 --from 07:00 --to 09:00 --drain 0 --out wd.db >wd0.txt 2>err.txt
if [ "$(sql wd.db "SELECT drain_s FROM runs WHERE id = 2")" = 0 ] &&
   [ "$(sql wd.db "SELECT count(*) > 0 FROM orders WHERE run_id = 2 AND status = 'open'")" = 1 ] &&
   ! grep -q "drain to" wd0.txt; then
  ok "--drain 0: orders in progress at --to end open"
else
  bad "--drain 0: orders in progress at --to end open" "$(head -4 wd0.txt err.txt)"
fi
"$BIN" run --orders 20000 --from 07:00 --to 09:00 --drain 5 --out wd.db >wd5.txt 2>err.txt
if [ "$(sql wd.db "SELECT drain_s FROM runs WHERE id = 3")" = 300 ]; then
  ok "--drain 5 stops the drain after 5 minutes"
else
  bad "--drain 5 stops the drain after 5 minutes" "$(sql wd.db "SELECT drain_s FROM runs WHERE id = 3")"
fi

# The policies' options: the flags the registry makes from their schemas set
# "policies": {"v1d3": {...}}; a file in the old form ("value": {...},
# the options added since under "policies") means the same; every registered policy is printed.
"$BIN" run --print-scenario --dispatch v1d3 --value-mode ensemble --value-table t.db --lr 0.5 \
  --gamma 0.8 --ensemble-minutes 30 --ensemble-w 0.3 --tau 2.5 --pure-v1d3 --repo-min-gain 1.5 \
  --no-time-free --value-flatten --split-daytype >pol.json 2>err.txt
if python3 - pol.json <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert "value" not in s, "an old 'value' object printed"
assert list(s["policies"]) == ["fcfs-nearest", "random", "batch-distance", "stay", "random-walk", "v1d3"], list(s["policies"])
v = s["policies"]["v1d3"]
want = {"mode": "ensemble", "table": "t.db", "lr": 0.5, "gamma": 0.8, "slot_s": 600,
        "split_daytype": True, "ensemble_period_s": 1800, "ensemble_w": 0.3, "tau": 2.5,
        "repo_radius_m": 3000, "serve_first": False, "repo_min_gain": 1.5,
        "learn_free": False, "flatten": True}
assert v == want, v
assert all(s["policies"][p] == {} for p in s["policies"] if p != "v1d3")
EOF
then
  ok "policy flags set the printed \"policies\" object"
else
  bad "policy flags set the printed \"policies\" object" "$(cat err.txt)"
fi
python3 - pol.json old.json <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
# the keys older files had; the newer options stay under "policies"
old = ["mode", "table", "lr", "gamma", "slot_s", "split_daytype", "ensemble_period_s",
       "ensemble_w", "tau", "repo_radius_m", "serve_first"]
v = s.pop("policies")["v1d3"]
s["value"] = {k: v.pop(k) for k in old}
s["policies"] = {"v1d3": v}
json.dump(s, open(sys.argv[2], "w"), indent="\t")
EOF
"$BIN" run --scenario old.json --print-scenario >pol2.json 2>err.txt
if cmp -s pol.json pol2.json; then
  ok "a scenario with the old \"value\" object means the same"
else
  bad "a scenario with the old \"value\" object means the same" "$(diff pol.json pol2.json | head -5)" "$(cat err.txt)"
fi
"$BIN" run --scenario pol.json --print-scenario >pol3.json 2>err.txt
if cmp -s pol.json pol3.json; then
  ok "a printed \"policies\" object reads back to itself"
else
  bad "a printed \"policies\" object reads back to itself" "$(diff pol.json pol3.json | head -5)"
fi
if "$BIN" run --help | grep -q -- '--ensemble-minutes M' && "$BIN" run --help | grep -q '"slot_s": N' &&
   "$BIN" compare --help | grep -q -- '--value-table FILE' &&
   "$BIN" evaluate --help | grep -q -- '--pure-v1d3'; then
  ok "run, compare and evaluate list the policies' options"
else
  bad "run, compare and evaluate list the policies' options"
fi

# ------------------------------------------------------------- bad inputs

# A small trip store of our own: three Manhattan trips on 2016-02-01.
cat >few.csv <<'EOF'
pickup_datetime,pickup_lat,pickup_lon,dropoff_lat,dropoff_lon
2016-02-01 08:00:00,40.752079,-73.978439,40.728847,-74.006546
2016-02-01 08:05:00,40.775070,-73.958946,40.757823,-73.985588
2016-02-01 08:10:00,40.740000,-73.990000,40.760000,-73.970000
EOF
if "$BIN" import --format csv --city manhattan few.csv --db few.db >/dev/null 2>err.txt; then
  ok "a small trip store imports"
else
  bad "a small trip store imports" "$(cat err.txt)"
fi
echo "this is not a database" >notdb.db
mkdir -p sub

# expect_fail NAME WANT_EXIT [GREP] -- ARGS...: runs `ridesim run ARGS --out
# bad.db` (unless ARGS give --out), expects exit WANT_EXIT ('nz' = any
# non-zero), a one-line message on stderr (two lines, message and usage, for
# exit 2), GREP in it, nothing on stdout, and no run added to bad.db.
expect_fail() {
  local name=$1 want=$2 pattern=$3
  shift 4
  local before after rc lines
  before=$(runs_in bad.db)
  "$BIN" run "$@" >out.txt 2>err.txt
  rc=$?
  after=$(runs_in bad.db)
  lines=$(wc -l <err.txt)
  local why=()
  if [ "$want" = nz ]; then [ $rc -ne 0 ] || why+=("exit 0"); else [ $rc -eq "$want" ] || why+=("exit $rc, want $want"); fi
  # One line of message; after it, only the usage text (its first line
  # starts "usage: ", the rest are indented continuation lines).
  [ "$lines" -ge 1 ] || why+=("nothing on stderr")
  if [ "$lines" -gt 1 ]; then
    sed -n 2p err.txt | grep -q '^usage: ' || why+=("$lines lines on stderr, want 1 (+ usage)")
    [ "$(sed -n '3,$p' err.txt | grep -vc '^ ')" = 0 ] || why+=("stray lines after the usage")
  fi
  head -1 err.txt | grep -q '^ridesim run: ' || why+=("message not 'ridesim run: ...'")
  [ -z "$pattern" ] || grep -qi -- "$pattern" err.txt || why+=("stderr lacks '$pattern'")
  [ ! -s out.txt ] || why+=("stdout not empty")
  [ "$before" = "$after" ] || why+=("runs in bad.db: $before -> $after")
  if [ ${#why[@]} -eq 0 ]; then ok "$name"; else bad "$name" "${why[@]}" "stderr: $(head -3 err.txt)"; fi
}

# A results DB with one good run, to see that failures add nothing to it.
"$BIN" run --orders 2000 --out bad.db >/dev/null 2>&1

expect_fail "unknown dispatch policy" 2 "nosuch" -- --orders 2000 --dispatch nosuch --out bad.db
expect_fail "unknown repositioning policy" 2 "teleport" -- --orders 2000 --reposition teleport --out bad.db
expect_fail "--drivers 0" 2 "drivers" -- --orders 2000 --drivers 0 --out bad.db
expect_fail "--drivers -5" 2 "drivers" -- --orders 2000 --drivers -5 --out bad.db
expect_fail "--orders abc" 2 "orders" -- --orders abc --out bad.db
expect_fail "--from after --to" 2 "" -- --orders 2000 --from 10:00 --to 09:00 --out bad.db
expect_fail "--day that does not exist" 2 "day" -- --orders 2000 --day 2016-02-30 --out bad.db
expect_fail "a day with no trips" 1 "no trips" -- --trips few.db --day 2016-02-02 --out bad.db
expect_fail "a horizon with no trips" 1 "no trips" -- --trips few.db --from 10:00 --to 11:00 --out bad.db
expect_fail "a missing trip store" 1 "missing.db" -- --trips "$WORK/missing.db" --out bad.db
expect_fail "a file that is not a trip store" 1 "notdb.db" -- --trips notdb.db --out bad.db
expect_fail "a results DB given as trip store" 1 "" -- --trips bad.db --out bad.db
expect_fail "a missing scenario file" 2 "nope.json" -- --scenario nope.json --out bad.db
printf '{"drivers": 10, "colour": "red"}' >badscen.json
expect_fail "a scenario with an unknown key" 2 "colour" -- --scenario badscen.json --out bad.db
expect_fail "a city that does not exist" 1 "atlantis" -- --orders 2000 --city atlantis --out bad.db
printf '{"policies": {"v1d3": {"lr": "fast"}}}' >badpol.json
expect_fail "a policy option of the wrong type" 2 "'policies.v1d3.lr' must be a number" -- --scenario badpol.json --out bad.db
printf '{"policies": {"teleport": {}}}' >badpol2.json
expect_fail "options of an unknown policy" 2 "policies.teleport" -- --scenario badpol2.json --out bad.db
printf '{"value": {"tau": -1}}' >badpol3.json
expect_fail "an old-form option out of range" 2 "'value.tau'" -- --scenario badpol3.json --out bad.db
expect_fail "--lr out of range" 2 "--lr: expected a number from 0 to 1" -- --orders 2000 --lr 2 --out bad.db
expect_fail "--value-mode not a mode" 2 "--value-mode: expected one of" -- --orders 2000 --value-mode sometimes --out bad.db
expect_fail "--ensemble-minutes 0" 2 "--ensemble-minutes: expected an integer from 1 to 10080" -- --orders 2000 --ensemble-minutes 0 --out bad.db
expect_fail "an offline value mode without its table" 2 "policies.v1d3.table" -- --orders 2000 --dispatch v1d3 --value-mode offline --out bad.db
expect_fail "--warmup -5" 2 "--warmup" -- --orders 2000 --warmup -5 --out bad.db
expect_fail "--warmup of more than a day" 2 "--warmup" -- --orders 2000 --warmup 1441 --out bad.db
expect_fail "--drain some" 2 "--drain" -- --orders 2000 --drain some --out bad.db
expect_fail "unknown flag" 2 "usage:" -- --orders 2000 --frobnicate --out bad.db
expect_fail "unexpected argument" 2 "" -- --orders 2000 extra --out bad.db
expect_fail "flag without its value" 2 "" -- --orders

# Unwritable results DBs: they must fail before any run is recorded
# (bad.db is not involved, so count there stays, and nothing is created).
for out in /proc/forbidden.db "$WORK/no/such/dir/r.db"; do
  expect_fail "unwritable --out $out" 1 "" -- --orders 2000 --out "$out"
  if [ ! -e "$out" ]; then ok "no file left at $out"; else bad "no file left at $out"; fi
done
# A trip store is not a results DB: refused, and left as it was.
sum_before=$(sql few.db "SELECT count(*) FROM trips")
tables_before=$(sql few.db "SELECT group_concat(name) FROM sqlite_master")
expect_fail "--out naming a trip store" 1 "few.db" -- --trips few.db --out few.db
if [ "$(sql few.db "SELECT count(*) FROM trips")" = "$sum_before" ] &&
   [ "$(sql few.db "SELECT group_concat(name) FROM sqlite_master")" = "$tables_before" ]; then
  ok "the trip store is untouched"
else
  bad "the trip store is untouched" "tables now: $(sql few.db "SELECT group_concat(name) FROM sqlite_master")"
fi
if [ "$(sql bad.db "SELECT count(*) FROM runs WHERE status != 'completed'")" = 0 ]; then
  ok "failed starts left no incomplete run behind"
else
  bad "failed starts left no incomplete run behind"
fi

# ------------------------------------------------------------------ SIGINT

# Paced at 2000x, a whole synthetic day takes ~43 s: interrupt it early.
"$BIN" run --orders 400000 --drivers 5000 --speed 2000 --out int.db >int.out 2>int.err &
BGPID=$!
# SIGINT is only handled once the run loop has started, just after the run's
# row is committed as 'running' (a background job of a non-interactive shell
# starts with SIGINT ignored): wait for that row, then 1.5 s of running.
for _ in $(seq 1 600); do
  [ "$(runs_in int.db)" != 0 ] && break
  kill -0 "$BGPID" 2>/dev/null || break
  sleep 0.05
done
sleep 1.5
kill -INT "$BGPID" 2>/dev/null
# Give it up to 30 s to write its results and leave.
for _ in $(seq 1 300); do kill -0 "$BGPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$BGPID" 2>/dev/null; then
  bad "SIGINT stops a paced run" "still running 30 s after SIGINT"
  kill -KILL "$BGPID" 2>/dev/null
  wait "$BGPID" 2>/dev/null
  rc=137
else
  wait "$BGPID"
  rc=$?
fi
BGPID=""
status=$(sql int.db "SELECT status FROM runs ORDER BY id DESC LIMIT 1")
n_orders=$(sql int.db "SELECT count(*) FROM orders")
n_done=$(sql int.db "SELECT count(*) FROM orders WHERE status = 'completed'")
if [ $rc -eq 130 ]; then ok "SIGINT: exit 130"; else bad "SIGINT: exit 130" "exit $rc" "$(cat int.err)"; fi
if [ "$status" = interrupted ]; then ok "SIGINT: run status interrupted"; else bad "SIGINT: run status interrupted" "status '$status'"; fi
if [ "${n_orders:-0}" -gt 0 ] && [ "${n_done:-0}" -gt 0 ]; then
  ok "SIGINT: orders kept ($n_orders rows, $n_done completed)"
else
  bad "SIGINT: orders kept" "$n_orders rows, $n_done completed"
fi
if grep -q "interrupted" int.err; then ok "SIGINT: says it was interrupted"; else bad "SIGINT: says it was interrupted" "$(cat int.err)"; fi
if grep -q "open at the stop" int.out; then
  ok "SIGINT: the table counts orders open at the stop"
else
  bad "SIGINT: the table counts orders open at the stop" "$(cat int.out)"
fi
# Orders requested after the stop never happened: they must not be recorded
# as 'open' (they would count in the run's orders and lower its rates).
reached=$(sed -n 's/.*interrupted at simulated \([0-9]*\) s.*/\1/p' int.err)
if [ -n "$reached" ]; then
  future=$(sql int.db "SELECT count(*) FROM orders o JOIN runs r ON r.id = o.run_id WHERE o.t_request >= r.t_from + $reached")
  if [ "$future" = 0 ]; then
    ok "SIGINT: only orders requested before the stop are recorded"
  else
    bad "SIGINT: only orders requested before the stop are recorded" \
      "$future of $n_orders orders were requested after simulated second $reached (recorded as open)"
  fi
  # kpi_series: the 5-minute windows the run reached, none beyond
  windows=$(sql int.db "SELECT count(*) FROM kpi_series")
  want=$(( (reached + 299) / 300 ))
  if [ "$windows" = "$want" ]; then
    ok "SIGINT: kpi_series holds the $want windows reached"
  else
    bad "SIGINT: kpi_series holds the windows reached" "$windows rows, $want windows reached"
  fi
else
  bad "SIGINT: reports the simulated time reached" "$(cat int.err)"
fi

# A horizon of several days in one run (--horizon-days): the synthetic
# city's orders come a day at a time and the ended ones leave the engine,
# their rows written as they go. The run must be the one a sweep makes of
# the same scenario (on a worker, which holds every order): the same orders,
# drivers and kpi_series rows, to the bit (tests/pins/digest.py).
DIGEST="$HERE/pins/digest.py"
if "$BIN" run --synthetic --orders 6000 --drivers 200 --horizon-days 3 --dispatch batch-distance \
     --out days.db > days.out 2> days.err; then
  cat > days.json <<'EOJ'
{"scenario": {"synthetic_orders": 6000, "drivers": 200, "horizon_days": 3,
              "dispatch": "batch-distance"},
 "axes": {"seeds": "1"}}
EOJ
  n_days=$(sql days.db "SELECT count(*) FROM orders")
  span=$(sql days.db "SELECT t_to - t_from FROM runs")
  if [ "$n_days" = 18000 ] && [ "$span" = 259200 ]; then
    ok "--horizon-days 3: one run of three days' orders"
  else
    bad "--horizon-days 3: one run of three days' orders" "$n_days orders over $span s"
  fi
  if "$BIN" sweep days.json --jobs 1 --out days-sweep.db > /dev/null 2>&1 &&
     [ "$(python3 "$DIGEST" days.db 1)" = "$(python3 "$DIGEST" days-sweep.db 1)" ]; then
    ok "--horizon-days: orders streamed out give the held run's rows"
  else
    bad "--horizon-days: orders streamed out give the held run's rows" \
      "$(python3 "$DIGEST" days.db 1)" "$(python3 "$DIGEST" days-sweep.db 1 2>&1)"
  fi
else
  bad "--horizon-days 3 runs" "$(cat days.err)"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
