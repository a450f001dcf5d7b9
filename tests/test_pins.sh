#!/usr/bin/env bash
# test_pins: the pinned results. For every built-in policy (fcfs-nearest,
# random, batch-distance, v1d3 in its online, offline and ensemble modes and
# with pure V1D3 weights; stay, random-walk and v1d3 repositioning) and for
# a few scenario variants
# (KDD Cup patience, random-walk idling, shifts, uniform placement, drivers
# matchable while repositioning), a run on the synthetic city and on the
# shared 2016-02-01 morning must give exactly the orders, drivers and
# kpi_series rows pinned in tests/pins/expected.txt (tests/pins/digest.py:
# every value to the last bit).
#
# A change that means to change results updates the pins in the same commit
# and says why:  PIN_UPDATE=1 meson test -C build pins
# (rewrites tests/pins/expected.txt in the source tree).
#
# The morning cases need ../shared/city_data (RIDESIM_DATA); without it they
# are skipped, unless RIDESIM_REQUIRE_DATA=1 (CI), which makes that a failure.
set -u

BIN=${RIDESIM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "RIDESIM_BIN is not an executable: '${BIN}'" >&2
  exit 1
fi
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
EXPECTED="$HERE/pins/expected.txt"
DATA=${RIDESIM_DATA:-${RIDESIM_DATA_DEFAULT:-}}
if [ -z "$DATA" ] || [ ! -d "$DATA" ]; then
  if [ "${RIDESIM_REQUIRE_DATA:-}" = 1 ]; then
    echo "RIDESIM_DATA (${DATA:-unset}) is missing but RIDESIM_REQUIRE_DATA=1" >&2
    exit 1
  fi
  if [ -z "$DATA" ]; then DATA_WHY="RIDESIM_DATA is unset"; else DATA_WHY="RIDESIM_DATA $DATA is not a folder"; fi
  DATA=""
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-pins-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

PASS=0
FAIL=0
GOT="$WORK/got.txt"
: > "$GOT"

die() { echo "FAIL - $*"; exit 1; }

# case NAME ARGS...: runs `ridesim run ARGS` into its own DB and records the
# digest lines "NAME TABLE ROWS SHA256".
case_run() {
  local name=$1
  shift
  if ! "$BIN" run "$@" --out "$name.db" > "$name.log" 2>&1; then
    FAIL=$((FAIL + 1))
    echo "FAIL - $name: ridesim run exited non-zero"
    sed 's/^/       /' "$name.log" | tail -5
    return
  fi
  "$PY" "$HERE/pins/digest.py" "$name.db" 1 | sed "s/^/$name /" >> "$GOT"
}

# The synthetic city: a 6-hour morning of the built-in day, and an offline
# table trained on another synthetic day (seed 7).
"$BIN" synth --seed 7 --db syn7.db > /dev/null 2>&1 || die "synth"
"$BIN" train --trips syn7.db --out vsyn.db > /dev/null 2>&1 || die "train (synthetic)"
SYN=(--synthetic --from 06:00 --to 12:00)
case_run syn-fcfs "${SYN[@]}" --dispatch fcfs-nearest
case_run syn-random "${SYN[@]}" --dispatch random
case_run syn-batch "${SYN[@]}" --dispatch batch-distance
case_run syn-batch-walk "${SYN[@]}" --dispatch batch-distance --reposition random-walk
case_run syn-v1d3-online "${SYN[@]}" --dispatch v1d3
case_run syn-v1d3-offline "${SYN[@]}" --dispatch v1d3 --value-mode offline --value-table vsyn.db
case_run syn-v1d3-ensemble "${SYN[@]}" --dispatch v1d3 --value-mode ensemble --value-table vsyn.db
case_run syn-v1d3-online-repo "${SYN[@]}" --dispatch v1d3 --reposition v1d3
case_run syn-v1d3-ensemble-repo "${SYN[@]}" --dispatch v1d3 --reposition v1d3 \
  --value-mode ensemble --value-table vsyn.db
case_run syn-batch-repo-offline "${SYN[@]}" --dispatch batch-distance --reposition v1d3 \
  --value-mode offline --value-table vsyn.db
case_run syn-v1d3-pure "${SYN[@]}" --dispatch v1d3 --pure-v1d3 --value-mode offline \
  --value-table vsyn.db
case_run syn-fcfs-kdd "${SYN[@]}" --dispatch fcfs-nearest --patience 0 --idle-model random-walk
case_run syn-batch-shifts "${SYN[@]}" --dispatch batch-distance --placement uniform \
  --shift-hours 2 --reposition random-walk --repo-dispatchable --seed 3
case_run syn-random-walk "${SYN[@]}" --dispatch random --reposition random-walk --idle-model random-walk

if [ -n "$DATA" ]; then
  AM="$DATA/nyc-tlc-2016-02-manhattan-am"
  "$BIN" import --format csv "$AM/2016-02-01.csv" --db nyc01.db > /dev/null 2>&1 || die "import 02-01"
  "$BIN" import --format csv "$AM/2016-02-08.csv" --db nyc08.db > /dev/null 2>&1 || die "import 02-08"
  "$BIN" train --trips nyc08.db --out v08.db > /dev/null 2>&1 || die "train (02-08)"
  # a one-day store holds no history before 08:00 for the default placement
  # ("history" would spread the fleet over the service area): the morning
  # cases pin the first 30 minutes' pickups ("demand")
  AMR=(--trips nyc01.db --drivers 3000 --placement demand)
  case_run am-fcfs "${AMR[@]}" --dispatch fcfs-nearest
  case_run am-random "${AMR[@]}" --dispatch random
  case_run am-batch "${AMR[@]}" --dispatch batch-distance
  case_run am-batch-walk "${AMR[@]}" --dispatch batch-distance --reposition random-walk
  case_run am-v1d3-online "${AMR[@]}" --dispatch v1d3
  case_run am-v1d3-offline "${AMR[@]}" --dispatch v1d3 --value-mode offline --value-table v08.db
  case_run am-v1d3-ensemble "${AMR[@]}" --dispatch v1d3 --value-mode ensemble --value-table v08.db
  case_run am-v1d3-online-repo "${AMR[@]}" --dispatch v1d3 --reposition v1d3
  case_run am-v1d3-ensemble-repo "${AMR[@]}" --dispatch v1d3 --reposition v1d3 \
    --value-mode ensemble --value-table v08.db
  case_run am-batch-repo-offline "${AMR[@]}" --dispatch batch-distance --reposition v1d3 \
    --value-mode offline --value-table v08.db
  # pure V1D3 weights (no serve-first): hundreds of orders wait per tick,
  # each a row of every tick's candidate graph
  case_run am-v1d3-pure "${AMR[@]}" --dispatch v1d3 --pure-v1d3
  case_run am-fcfs-kdd "${AMR[@]}" --dispatch fcfs-nearest --patience 0 --idle-model random-walk
  case_run am-batch-shifts "${AMR[@]}" --dispatch batch-distance --placement uniform \
    --shift-hours 2 --reposition random-walk --repo-dispatchable --seed 3
else
  echo "skip - the morning cases: $DATA_WHY"
fi

if [ "${PIN_UPDATE:-}" = 1 ]; then
  if [ -n "$DATA" ]; then
    cp "$GOT" "$EXPECTED"
  else
    # keep the pinned morning lines when the data is not here
    { cat "$GOT"; grep '^am-' "$EXPECTED" 2>/dev/null; } > "$WORK/new.txt"
    cp "$WORK/new.txt" "$EXPECTED"
  fi
  echo "pins updated: $EXPECTED ($(wc -l < "$EXPECTED") lines)"
  exit 0
fi

[ -f "$EXPECTED" ] || die "no pins: $EXPECTED (PIN_UPDATE=1 writes them)"
while read -r name table rows sum; do
  want=$(awk -v n="$name" -v t="$table" '$1 == n && $2 == t { print $3, $4 }' "$EXPECTED")
  if [ -z "$want" ]; then
    FAIL=$((FAIL + 1))
    echo "FAIL - $name $table: not pinned"
  elif [ "$want" = "$rows $sum" ]; then
    PASS=$((PASS + 1))
    echo "ok   - $name $table ($rows rows)"
  else
    FAIL=$((FAIL + 1))
    echo "FAIL - $name $table: $rows rows $sum, pinned $want"
  fi
done < "$GOT"
# every pinned case ran (the morning ones only with the data)
while read -r name table _; do
  case $name in am-*) [ -n "$DATA" ] || continue ;; esac
  grep -q "^$name $table " "$GOT" || { FAIL=$((FAIL + 1)); echo "FAIL - $name $table: did not run"; }
done < "$EXPECTED"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
