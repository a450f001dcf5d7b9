#!/usr/bin/env bash
# test_crash: a results DB survives SIGKILL at any moment of a run, and
# SIGINT leaves an 'interrupted' run with everything written up to then.
#
# One undisturbed run of the synthetic city (200,000 orders, 3,000 drivers)
# measures the run's wall time T and the bytes it adds to the DB. Then the
# same run is started on the same DB again and again and killed with
# SIGKILL: two thirds of the kills after delays spread over [0.02 T, 0.9 T],
# one third during the final write (the one transaction at the end of the
# run), once the WAL holds 2% ... 98% of what a run writes. After every
# kill:
#   - PRAGMA integrity_check says ok;
#   - every 'completed' run has all its rows: orders and drivers counts equal
#     the runs row's orders / drivers, and it has kpi_series rows;
#   - the killed run is 'running' (visibly incomplete) with no rows of its
#     own, or 'completed' with all of them if the kill came after the commit,
#     or absent if the kill came before its row was committed;
#   - the earlier runs are untouched.
# Then SIGINT once the run has started (its row committed, then T/5): exit
# status 130, the run 'interrupted' with its orders, drivers and kpi_series
# so far.
# Prints one line per check and `N passed, M failed`; exits 1 on a failure.
#
# Environment: RIDESIM_BIN (set by meson), CRASH_KILLS (default 15).
set -u
BIN=${RIDESIM_BIN:?RIDESIM_BIN must name the ridesim binary}
command -v sqlite3 >/dev/null || { echo "test_crash: sqlite3 (the shell) is missing"; exit 77; }
kills=${CRASH_KILLS:-15}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db=$tmp/results.db
args=(run --orders 200000 --drivers 3000 --out "$db")
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAILED: $*"; }
q() { sqlite3 -batch "$db" "$1" 2>&1; }

# Everything a reader may rely on, after any event. $1: label.
check_db() {
  local label=$1 ic incomplete half
  ic=$(q 'PRAGMA integrity_check')
  [ "$ic" = ok ] || { bad "$label: integrity_check: $ic"; return; }
  incomplete=$(q "SELECT count(*) FROM runs r WHERE status='completed' AND (
      (SELECT count(*) FROM orders o WHERE o.run_id = r.id) != r.orders OR
      (SELECT count(*) FROM drivers d WHERE d.run_id = r.id) != r.drivers OR
      (SELECT count(*) FROM kpi_series k WHERE k.run_id = r.id) = 0)")
  [ "$incomplete" = 0 ] || { bad "$label: $incomplete completed runs without all their rows"; return; }
  half=$(q "SELECT count(*) FROM runs r WHERE status = 'running' AND (
      EXISTS (SELECT 1 FROM orders o WHERE o.run_id = r.id) OR
      EXISTS (SELECT 1 FROM drivers d WHERE d.run_id = r.id) OR
      EXISTS (SELECT 1 FROM kpi_series k WHERE k.run_id = r.id))")
  [ "$half" = 0 ] || { bad "$label: $half running runs with rows written"; return; }
  return 0
}

# The undisturbed run: the reference, and the time to spread kills over.
t0=$(date +%s.%N)
if "$BIN" "${args[@]}" >"$tmp/out.txt" 2>&1; then
  t1=$(date +%s.%N)
  T=$(echo "$t1 - $t0" | bc -l 2>/dev/null || awk "BEGIN{print $t1 - $t0}")
  check_db "undisturbed run" && [ "$(q "SELECT status FROM runs WHERE id = 1")" = completed ] &&
    ok "undisturbed run completed in ${T%.*} s" || bad "undisturbed run not completed"
else
  bad "undisturbed run failed: $(tail -1 "$tmp/out.txt")"
  echo "$passed passed, $failed failed"
  exit 1
fi

# Waits for the run started as $1 to commit its 'running' row (the id
# beyond $2); 0 when it did, 1 when the process ended first.
wait_for_run_row() {
  while kill -0 "$1" 2>/dev/null; do
    [ "$(q "SELECT coalesce(max(id), 0) > $2 FROM runs" 2>/dev/null)" = 1 ] && return 0
    sleep 0.02
  done
  return 1
}

# Checks after a kill; $1 label, $2 max run id before, $3 completed runs
# before, $4 orders rows before.
after_kill() {
  local label=$1 before_max=$2 before_completed=$3 before_rows=$4 new status detail
  check_db "$label" || return
  new=$(q "SELECT coalesce(max(id), 0) FROM runs")
  status=$(q "SELECT status FROM runs WHERE id = $new")
  if [ "$new" = "$before_max" ]; then
    detail="no run row yet"
  elif [ "$status" = running ] || [ "$status" = completed ]; then
    detail="run $new is '$status'"
  else
    bad "$label: run $new has status '$status'"
    return
  fi
  local now_completed now_rows
  now_completed=$(q "SELECT count(*) FROM runs WHERE status='completed' AND id <= $before_max")
  now_rows=$(q "SELECT count(*) FROM orders WHERE run_id <= $before_max")
  if [ "$now_completed" != "$before_completed" ] || [ "$now_rows" != "$before_rows" ]; then
    bad "$label: earlier runs changed ($before_completed -> $now_completed completed, $before_rows -> $now_rows orders)"
    return
  fi
  ok "$label: integrity ok, $detail"
}

# The size one run adds to the DB: the final write's volume.
run_bytes=$(stat -c %s "$db")
n_final=$((kills / 3))
n_timed=$((kills - n_final))
for i in $(seq 1 "$kills"); do
  before_completed=$(q "SELECT count(*) FROM runs WHERE status='completed'")
  before_rows=$(q "SELECT count(*) FROM orders")
  before_max=$(q "SELECT coalesce(max(id), 0) FROM runs")
  q 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
  "$BIN" "${args[@]}" >"$tmp/kill$i.txt" 2>&1 &
  pid=$!
  if [ "$i" -le "$n_timed" ]; then
    # Delays from 2% to 90% of T after the start.
    delay=$(awk -v i="$i" -v n="$n_timed" -v t="$T" \
      'BEGIN { printf "%.3f", (0.02 + 0.88 * (i - 1) / (n > 1 ? n - 1 : 1)) * t }')
    sleep "$delay"
    how="at ${delay}s"
  else
    # During the final write: once the WAL holds a share of what a run
    # writes (2% ... 98%).
    j=$((i - n_timed))
    want=$(awk -v j="$j" -v n="$n_final" -v b="$run_bytes" \
      'BEGIN { printf "%d", (0.02 + 0.96 * (j - 1) / (n > 1 ? n - 1 : 1)) * b }')
    wait_for_run_row "$pid" "$before_max"
    while kill -0 "$pid" 2>/dev/null; do
      size=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
      [ "$size" -ge "$want" ] && break
      sleep 0.005
    done
    how="in the final write, WAL at ${size:-0} of $want bytes"
  fi
  if kill -KILL "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    how="killed $how"
  else
    wait "$pid" 2>/dev/null
    how="finished before the kill $how"
  fi
  after_kill "kill $i/$kills ($how)" "$before_max" "$before_completed" "$before_rows"
done

# SIGINT in the middle: interrupted, with everything so far. The engine's
# loop is a small part of T (generating, loading and writing take the rest),
# so the signal is aimed at the loop: a third of the undisturbed run's loop
# time after the run row appears (the loop starts right after committing
# it). A signal that still lands after the loop must leave the run complete
# (the final write holds signals) and exit 130; the attempt is then made
# again, sooner.
L=$(q "SELECT wall_seconds FROM runs WHERE id = 1")
sigint_ok=0
for frac in 3 6 12 24; do
  before_max=$(q "SELECT coalesce(max(id), 0) FROM runs")
  "$BIN" "${args[@]}" >"$tmp/int.txt" 2>&1 &
  pid=$!
  wait_for_run_row "$pid" "$before_max"
  sleep "$(awk -v t="$L" -v f="$frac" 'BEGIN { printf "%.3f", t / f }')"
  kill -INT "$pid"
  wait "$pid"
  rc=$?
  id=$(q "SELECT max(id) FROM runs")
  status=$(q "SELECT status FROM runs WHERE id = $id")
  counts=$(q "SELECT r.orders, (SELECT count(*) FROM orders o WHERE o.run_id = r.id),
                     r.drivers, (SELECT count(*) FROM drivers d WHERE d.run_id = r.id),
                     (SELECT count(*) FROM kpi_series k WHERE k.run_id = r.id)
              FROM runs r WHERE id = $id")
  IFS='|' read -r r_orders n_orders r_drivers n_drivers n_series <<<"$counts"
  check_db "SIGINT at L/$frac" || break
  if [ "$rc" = 130 ] && [ "$status" = completed ] && [ "$n_orders" = "$r_orders" ]; then
    ok "SIGINT at L/$frac came after the loop: exit 130, run $id 'completed' with all its rows"
    continue
  fi
  if [ "$rc" = 130 ] && [ "$status" = interrupted ] && [ "$n_orders" -gt 0 ] &&
     [ "$n_orders" = "$r_orders" ] && [ "$n_drivers" = "$r_drivers" ] && [ "$n_series" -gt 0 ]; then
    ok "SIGINT: exit 130, run $id 'interrupted' with $n_orders orders, $n_drivers drivers, $n_series kpi windows"
    sigint_ok=1
  else
    bad "SIGINT at L/$frac: exit $rc, run $id '$status', rows $counts; $(tail -1 "$tmp/int.txt")"
  fi
  break
done
[ "$sigint_ok" = 1 ] || [ "$failed" -gt 0 ] || bad "SIGINT: never landed inside the loop"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
