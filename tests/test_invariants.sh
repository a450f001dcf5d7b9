#!/usr/bin/env bash
# test_invariants: the shared Monday morning (NYC TLC 2016-02-01, 08:00-12:00
# Manhattan) replayed with --check-invariants, which walks the engine's
# invariants (sim_engine_check: queue order, idle index, order states, no
# driver holding two trips, time accounting) at every dispatch tick, for
# batch-distance and fcfs-nearest. Any broken invariant fails the run.
#
# Data: $RIDESIM_DATA, else $RIDESIM_DATA_DEFAULT (set by meson); skips (77)
# when missing unless RIDESIM_REQUIRE_DATA=1.
set -u
BIN=${RIDESIM_BIN:?RIDESIM_BIN must name the ridesim binary}
data=${RIDESIM_DATA:-${RIDESIM_DATA_DEFAULT:-}}
csv=$data/nyc-tlc-2016-02-manhattan-am/2016-02-01.csv
if [ -z "$data" ] || [ ! -r "$csv" ]; then
  if [ "${RIDESIM_REQUIRE_DATA:-0}" = 1 ]; then
    echo "test_invariants: $csv is missing but RIDESIM_REQUIRE_DATA=1"
    exit 1
  fi
  echo "test_invariants: no shared data ($csv); skipped"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
if ! "$BIN" import --format csv "$csv" --db "$tmp/trips.db" >"$tmp/import.txt" 2>&1; then
  echo "FAILED: import: $(tail -1 "$tmp/import.txt")"
  exit 1
fi
echo "imported: $(grep -m1 -i 'accepted\|rows' "$tmp/import.txt")"
for policy in batch-distance fcfs-nearest; do
  if "$BIN" run --trips "$tmp/trips.db" --drivers 3000 --dispatch "$policy" \
       --check-invariants --out "$tmp/results.db" >"$tmp/$policy.txt" 2>&1; then
    echo "ok: $policy: invariants held; $(grep -m1 'answer rate' "$tmp/$policy.txt" | tr -s ' ')"
  else
    failed=1
    echo "FAILED: $policy: $(grep -v '^ ' "$tmp/$policy.txt" | tail -3)"
  fi
done
exit $failed
