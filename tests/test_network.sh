#!/usr/bin/env bash
# test_network: `ridesim run --network` and `ridesim network` end to end.
#
# On a synthetic grid network over the synthetic city (60 x 60 nodes, 333 m
# apart: the all-pairs table case): a run completes and says how many trip
# ends were off the network; a second run (table and labels from the cache)
# and a run on the same network written as GraphML give the same results to
# the last bit (tests/pins/digest.py); fcfs-nearest, batch-distance and v1d3
# with repositioning drivers matchable (positions part-way along drives)
# all run, under --check-invariants where the command has it; the scenario
# keys round-trip; bad files fail with one line naming the file. With
# RIDESIM_DATA: `network info` on the shared Manhattan network reports its
# measured facts, and a morning hour runs on it.
set -u

BIN=${RIDESIM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "RIDESIM_BIN is not an executable: '${BIN}'" >&2
  exit 1
fi
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
DATA=${RIDESIM_DATA:-${RIDESIM_DATA_DEFAULT:-}}
if [ -z "$DATA" ] || [ ! -d "$DATA" ]; then
  if [ "${RIDESIM_REQUIRE_DATA:-}" = 1 ]; then
    echo "RIDESIM_DATA (${DATA:-unset}) is missing but RIDESIM_REQUIRE_DATA=1" >&2
    exit 1
  fi
  if [ -z "$DATA" ]; then DATA_WHY="RIDESIM_DATA is unset"; else DATA_WHY="RIDESIM_DATA $DATA is not a folder"; fi
  DATA=""
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-network-XXXXXX")
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
digest() { "$PY" "$HERE/pins/digest.py" "$1" 1; }

"$BIN" network synth --grid 60x60 --spacing 333 --lat 40 --lng -100 --out g.json > synth.log 2>&1
check "synth writes JSON" grep -q "g.json: 60 x 60 grid, 3600 nodes, 14160 links" synth.log
"$BIN" network synth --grid 60x60 --spacing 333 --lat 40 --lng -100 --out g.graphml > /dev/null 2>&1
check "synth writes GraphML" test -s g.graphml

"$BIN" network info g.json > info.log 2>&1
check "info: kept nodes and links" grep -q "kept  *3600 nodes, 14160 links" info.log
check "info: table built and cached" grep -q "all-pairs table .*built in .*cached at $XDG_CACHE_HOME/ridesim/" info.log
"$BIN" network info g.graphml > info2.log 2>&1
check "info: GraphML twin read from the cache" grep -q "all-pairs table .*read from the cache" info2.log

SYN=(--synthetic --orders 30000 --from 06:00 --to 08:00 --drivers 600)
"$BIN" run "${SYN[@]}" --network g.json --out a.db > a.log 2>&1
check "run on the network completes" grep -q "results: a.db (run 1, completed)" a.log
check "run reports trip ends off the network" grep -Eq "road network: g.json \(3600 nodes; 0 dropped .*, 0 links .*\); [0-9]+ of [0-9]+ trip ends off it" a.log
"$BIN" run "${SYN[@]}" --network g.json --out b.db > b.log 2>&1
"$BIN" run "${SYN[@]}" --network g.graphml --out c.db > c.log 2>&1
check "same results from the cache" test "$(digest a.db)" = "$(digest b.db)"
check "same results from the GraphML twin" test "$(digest a.db)" = "$(digest c.db)"
"$BIN" run "${SYN[@]}" --out gc.db > gc.log 2>&1
check "the great-circle run differs" test "$(digest a.db)" != "$(digest gc.db)"
check "the great-circle run says nothing of a network" bash -c "! grep -q 'road network' gc.log"

for d in batch-distance v1d3; do
  "$BIN" run "${SYN[@]}" --network g.json --dispatch "$d" --reposition v1d3 --repo-dispatchable \
    --check-invariants --out "r-$d.db" > "r-$d.log" 2>&1
  check "run $d, v1d3 repositioning, invariants checked" grep -q "completed" "r-$d.log"
done

cat > scen.json <<EOF
{"network": "g.json", "network_factors": {"weekday": [$(printf '2.5,%.0s' {1..23})2.5],
 "weekend": [$(printf '2,%.0s' {1..23})2]}}
EOF
"$BIN" run --scenario scen.json --print-scenario > scen.out 2>&1
check "scenario keys round-trip" grep -Eq '"network":[[:space:]]*"g.json"' scen.out
check "scenario factors round-trip" grep -q '"weekend"' scen.out
"$BIN" run "${SYN[@]}" --scenario scen.json --out f.db > f.log 2>&1
check "factors change the results" test "$(digest a.db)" != "$(digest f.db)"

"$BIN" run "${SYN[@]}" --network missing.json --out x.db > x.log 2>&1
rc=$?
check "a missing network file fails" test "$rc" = 1
check "... naming the file" grep -q "ridesim run: missing.json: No such file" x.log
printf '<graphml>\n<graph>\n<node id="a"/>\n</graph></graphml>\n' > badnet.graphml
"$BIN" network info badnet.graphml > y.log 2>&1
check "a bad GraphML file names its line" grep -q "badnet.graphml:3: node 'a': x: missing or not a longitude" y.log

if [ -n "$DATA" ]; then
  NET="$DATA/nyc-hive-2014-12-21/manhattan_network.json"
  "$BIN" network info "$NET" > m.log 2>&1
  check "Manhattan: 4197 nodes, 7529 links" grep -q "kept  *4197 nodes, 7529 links" m.log
  check "Manhattan: the 248 km/h link reported" grep -q "implausible speeds  *1 links .*fastest 248 km/h" m.log
  "$BIN" import --format csv --city manhattan "$DATA/nyc-tlc-2016-02-manhattan-am/2016-02-01.csv" \
    --db am.db > /dev/null 2>&1
  "$BIN" run --trips am.db --from 08:00 --to 09:00 --drivers 3000 --network "$NET" --out m.db \
    > mr.log 2>&1
  check "Manhattan morning hour on the network" grep -q "completed" mr.log
  check "Manhattan: the run reports the network and the ends off it" grep -Eq "road network: .* \(4197 nodes; 0 dropped .*, 1 links of implausible speed retimed\); [0-9]+ of [0-9]+ trip ends off it" mr.log
else
  echo "skip - the Manhattan cases: $DATA_WHY"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
