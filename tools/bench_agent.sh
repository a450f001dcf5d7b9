#!/usr/bin/env bash
# bench_agent: the cost of the external-agent bridge (sim/agent.h).
#
#  1. Round trips per second with a trivial agent that answers [] at once
#     (it reads each line but does not parse it), on a dense synthetic hour
#     under the KDD Cup rule --patience 0 (an order not matched in its tick
#     is lost). Without it, an agent that matches nothing lets every order
#     wait its 10 minutes, and each request re-offers thousands of them.
#  2. The share of the simulator's own bridge work (building observations,
#     serialising, parsing and validating replies; clock_gettime counters
#     inside the bridge, printed by `evaluate --verbose`) in the wall time
#     of external-agent runs on the shared Manhattan morning of 2016-02-01
#     (60,540 trips, 3,000 drivers): with the trivial agent under
#     --patience 0 (the worst case for the share: the agent costs almost
#     nothing) and with the example submission through tools/kddcup_agent.py
#     under the default options. Target: at most 20 %.
#
# Usage: tools/bench_agent.sh [RIDESIM_BIN] [--quick]   (--quick: skips the
# example submission's run, which takes minutes: Python parses ~1.3 GB of
# observations). Needs python3; RIDESIM_DATA or ../shared/city_data.
set -eu
BIN=build/tools/ridesim
QUICK=0
for a in "$@"; do
  case $a in
  --quick) QUICK=1 ;;
  *) BIN=$a ;;
  esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${RIDESIM_DATA:-$ROOT/../shared/city_data}
CSV=$DATA/nyc-tlc-2016-02-manhattan-am/2016-02-01.csv
[ -f "$CSV" ] || { echo "bench_agent: $CSV not found (set RIDESIM_DATA)"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-bench-agent-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

cat > "$TMP/trivial.py" <<'EOF'
import re, sys
tick = re.compile(r'"tick":(\d+)')
out = sys.stdout
for line in sys.stdin:
    m = tick.search(line, 0, 200)
    t = m.group(1) if m else "null"
    out.write('{"ok":true,"tick":%s,"result":[]}\n' % t if '"init"' not in line[:40]
              else '{"ok":true,"tick":%s}\n' % t)
    out.flush()
EOF

num() { grep -E "^  $1 " "$2" | awk '{for (i = NF; i > 0; i--) if ($i ~ /^[0-9.]+$/) {print $i; exit}}'; }

echo "ridesim bench_agent ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
echo
echo "1. round trips with a trivial agent (synthetic city, 08:00-09:00, 100,000 orders/day, 1,000 drivers, --patience 0)"
"$BIN" evaluate --agent "python3 $TMP/trivial.py" --synthetic --orders 100000 --drivers 1000 \
  --from 08:00 --to 09:00 --patience 0 --out "$TMP/rt.db" --verbose >"$TMP/rt.out" 2>"$TMP/rt.err"
REQ=$(num requests "$TMP/rt.out")
RT=$(num "round trips \(agent side\)" "$TMP/rt.out")
WALL=$(num "wall time" "$TMP/rt.out")
awk -v n="$REQ" -v rt="$RT" -v w="$WALL" 'BEGIN {
  printf "   requests %d, round trips %.3f s, run wall %.3f s\n", n, rt, w
  printf "   round trips per second: %.0f (%.1f us each, request written to reply handled)\n", n / rt, 1e6 * rt / n }'
echo

echo "2. bridge share of the wall time, Manhattan 2016-02-01 08:00-12:00, 3,000 drivers"
"$BIN" import --format csv "$CSV" --db "$TMP/nyc.db" >/dev/null
runs=("trivial agent, --patience 0|python3 $TMP/trivial.py|--patience 0")
[ $QUICK = 1 ] || runs+=("example submission via kddcup_agent.py, default options|python3 $ROOT/tools/kddcup_agent.py $ROOT/tools/kddcup_example|")
for r in "${runs[@]}"; do
  IFS='|' read -r label cmd extra <<<"$r"
  # shellcheck disable=SC2086
  "$BIN" evaluate --agent "$cmd" --trips "$TMP/nyc.db" --drivers 3000 --out "$TMP/nyc-res.db" \
    $extra --verbose >"$TMP/n.out" 2>"$TMP/n.err"
  echo "   $label:"
  grep -E "dispatch score J|wall time|requests|candidate records|bytes out|building|serialising|parsing|validating|bridge's own|round trips" "$TMP/n.out" |
    sed 's/^/   /'
  SHARE=$(grep "bridge's own time" "$TMP/n.out" | sed -E 's/.*\(([0-9.]+)%.*/\1/')
  awk -v s="$SHARE" 'BEGIN { printf "   -> bridge share %.1f %% of the wall time: %s (target <= 20 %%)\n", s, s <= 20 ? "ok" : "OVER" }'
  echo
done
