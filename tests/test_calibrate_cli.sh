#!/usr/bin/env bash
# test_calibrate_cli: `ridesim calibrate`, `ridesim validate` and `ridesim
# train --network` end to end.
#
# Usage errors exit 2 with one line. With RIDESIM_DATA: the raw TLC heads
# imported; calibrate with the shared Manhattan network writes a city that
# `ridesim city` loads and whose network_factors name the network's hash;
# validate on it prints both models side by side on the same trips (its
# JSON too, with no bias in the hours fitted on their own trips), both
# models' cell factors printed and lowering their errors against a city
# calibrated with --no-field, the
# great-circle model alone without --network; a city whose factors name
# another network is refused; train and run take the calibrated city and
# the network.
set -u

BIN=${RIDESIM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "RIDESIM_BIN is not an executable: '${BIN}'" >&2
  exit 1
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
DATA=${RIDESIM_DATA:-${RIDESIM_DATA_DEFAULT:-}}
if [ -z "$DATA" ] || [ ! -d "$DATA" ]; then
  if [ "${RIDESIM_REQUIRE_DATA:-}" = 1 ]; then
    echo "RIDESIM_DATA (${DATA:-unset}) is missing but RIDESIM_REQUIRE_DATA=1" >&2
    exit 1
  fi
  DATA=""
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-calibrate-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
export XDG_CACHE_HOME="$WORK/xdg"

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { # check NAME COMMAND...
  local name=$1
  shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}
status() { # status WANT COMMAND...: the command's exit status is WANT
  local want=$1
  shift
  "$@" > out.log 2> err.log
  [ "$?" = "$want" ]
}

check "calibrate: --out required" status 2 "$BIN" calibrate --trips x.db
check "calibrate: bad --day-types" status 2 "$BIN" calibrate --trips x.db --out c.json --day-types 3
check "calibrate: bad --field-prior" status 2 "$BIN" calibrate --trips x.db --out c.json --field-prior 0
check "validate: --trips required" status 2 "$BIN" validate
check "validate: a missing store" status 1 "$BIN" validate --trips nothing.db
check "validate: one error line" test "$(wc -l < err.log)" = 1

if [ -n "$DATA" ]; then
  NET="$DATA/nyc-hive-2014-12-21/manhattan_network.json"
  "$BIN" import --format tlc --db heads.db "$DATA"/tlc-raw-heads/*.csv > import.log 2>&1
  check "import the raw heads" grep -q "accepted 7846" import.log
  check "calibrate with the network" status 0 "$BIN" calibrate --trips heads.db --network "$NET" --out cal.json
  cp out.log calibrate.log
  check "calibrate: trips used and left out" grep -q "6608 used (5330 weekday, 1278 weekend)" calibrate.log
  check "calibrate: off the network" grep -q "1180   an end over 500 m from the network" calibrate.log
  check "calibrate: per day type" grep -q "network_factors per day type: 6608 trips" calibrate.log
  check "calibrate: wrote the city" grep -q "wrote        cal.json" calibrate.log
  check "calibrate: cell factors of both models" test "$(grep -c '  cell factors: [0-9]* cells' calibrate.log)" = 2
  check "city loads the calibrated city" status 0 "$BIN" city cal.json
  check "city: network factors and both models' cells" \
    bash -c 'grep -q "^network        speed factors by hour" out.log && grep -q "^network cells  [0-9]* cells" out.log && grep -q "^cell factors   [0-9]* cells" out.log'
  check "the city has cells for both models" \
    "$PY" -c 'import json,sys; c=json.load(open("cal.json")); sys.exit(not (len(c["network_factors"]["cells"]) > 50 and len(c["cell_factors"]) > 50 and all(0.25 <= k <= 4 for _, k in c["cell_factors"])))'
  check "calibrate --no-field" status 0 "$BIN" calibrate --trips heads.db --network "$NET" --no-field --out plain.json
  check "... writes no cells" "$PY" -c 'import json,sys; c=json.load(open("plain.json")); sys.exit("cells" in c["network_factors"] or "cell_factors" in c)'
  check "validate the city without cells" status 0 "$BIN" validate --trips heads.db --network "$NET" --city plain.json --json
  cp out.log plain.json.val
  check "the city names the network" \
    "$PY" -c 'import json,sys; c=json.load(open("cal.json")); sys.exit(c["network_factors"]["network_hash"]!="6cf0bd1ee07c8913" or len(c["network_factors"]["weekend"])!=24 or c["name"]!="manhattan")'

  check "validate side by side" status 0 "$BIN" validate --trips heads.db --network "$NET" --city cal.json
  cp out.log validate.log
  check "validate: both models" grep -q "| great-circle .*| road-network" validate.log
  check "validate: factors from the city" grep -q "factors the city's network_factors, links retimed by [0-9]* cell factors" validate.log
  check "validate: the great circle's cells" grep -q "great circle drives scaled by [0-9]* cell factors" validate.log
  check "validate: three quantities" test "$(grep -c 'modelled against recorded' validate.log)" = 3
  check "validate --json" status 0 "$BIN" validate --trips heads.db --network "$NET" --city cal.json --json
  check "validate JSON: same trips, bias 0 after calibration" "$PY" -c '
import json, sys
j = json.load(open("out.log"))
d = j["duration"]["all"]
g, n = d["great-circle"], d["road-network"]
sys.exit(not (j["models"] == ["great-circle", "road-network"] and j["trips"]["used"] == 6608
    and g["n"] == n["n"] == 6608 and abs(g["bias_pct"]) < 0.5 and abs(n["bias_pct"]) < 0.5
    and all(abs(h["road-network"]["bias_pct"]) < 0.5 for h in j["duration"]["by_hour"]
            if h["road-network"]["n"] >= 100)
    and n["mae"] < g["mae"] and j["trips"]["left_out"]["an end over 500 m from the network"] == 1180
    and len(j["duration"]["by_distance"]) == 5 and j["fare"]["all"]["road-network"]["n"] == 6608
    and j["trips"]["network_cells"] > 50 and j["trips"]["cell_factors"] > 50))'
  check "cells lower both models' errors" "$PY" -c '
import json, sys
a, b = json.load(open("out.log")), json.load(open("plain.json.val"))
da, db = a["duration"]["all"], b["duration"]["all"]
sys.exit(not (da["road-network"]["mae"] < db["road-network"]["mae"] and
              da["great-circle"]["mae"] < db["great-circle"]["mae"] and
              b["trips"]["network_cells"] == 0 and b["trips"]["cell_factors"] == 0))'
  check "validate without a network: every trip" status 0 "$BIN" validate --trips heads.db --city cal.json
  check "validate without a network: one model" grep -q "7788 used" out.log
  check "validate without a network: no network column" bash -c '! grep -q road-network out.log'

  sed 's/6cf0bd1ee07c8913/6cf0bd1ee07c8914/' cal.json > other.json
  check "a city fitted to another network is refused" status 1 "$BIN" validate --trips heads.db --network "$NET" --city other.json
  check "... naming both hashes" grep -q "content hash 6cf0bd1ee07c8914, not to this one (6cf0bd1ee07c8913)" err.log
  check "calibrate starts over on another network's city" status 0 "$BIN" calibrate --trips heads.db --network "$NET" --city other.json --out cal2.json
  check "... and says so" grep -q "fitted to another network" out.log
  check "... to the same values in hours fitted on their own" "$PY" -c '
import json, sys
a, b = json.load(open("cal.json")), json.load(open("cal2.json"))
same = lambda x, y: abs(x / y - 1) < 1e-6
sys.exit(not all(same(a["speed_mps_by_hour"][h], b["speed_mps_by_hour"][h]) and
                 same(a["network_factors"]["weekday"][h], b["network_factors"]["weekday"][h])
                 for h in (0, 7, 9, 20)))'

  check "train with the network and the calibrated city" status 0 "$BIN" train --trips heads.db --days 2016-02-19 --city cal.json --network "$NET" --out v.db
  check "train: the travel model" grep -q "travel model   road network .*the city's calibrated factors" out.log
  check "run on the calibrated city and network" status 0 "$BIN" run --trips heads.db --city cal.json --network "$NET" --day 2016-02-19 --from 20:00 --to 21:00 --drivers 300 --check-invariants
  check "run on the calibrated city's great circle (cell factors)" status 0 "$BIN" run --trips heads.db --city cal.json --day 2016-02-19 --from 20:00 --to 21:00 --drivers 300 --dispatch batch-distance --check-invariants
else
  echo "skip - the data cases: RIDESIM_DATA is unset"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
