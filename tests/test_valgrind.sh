#!/usr/bin/env bash
# test_valgrind: three short commands under valgrind's memcheck, each of
# which must end with no memory error and no definite or indirect leak:
#   ridesim run --orders 5000 --drivers 300 --from 06:00 --to 08:00
#   ridesim import of a small CSV (written here: good rows and bad ones)
#   ridesim match on a small instance (written here)
# Skips (77) when valgrind is missing unless RIDESIM_REQUIRE_DATA=1 (CI),
# and in sanitizer builds, where ASan and LSan do this job.
set -u
BIN=${RIDESIM_BIN:?RIDESIM_BIN must name the ridesim binary}
if ! command -v valgrind >/dev/null; then
  if [ "${RIDESIM_REQUIRE_DATA:-0}" = 1 ]; then
    echo "test_valgrind: valgrind is missing but RIDESIM_REQUIRE_DATA=1"
    exit 1
  fi
  echo "test_valgrind: valgrind not installed; skipped"
  exit 77
fi
# A sanitizer build cannot run under valgrind (both replace the allocator
# and map shadow memory); there the sanitizers do this job.
if grep -qa -e __asan_init -e __tsan_init -e __msan_init "$BIN"; then
  echo "test_valgrind: $BIN is built with a sanitizer; skipped"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vg=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --error-exitcode=1 --track-origins=yes)
passed=0
failed=0

check() { # LABEL CMD...
  local label=$1
  shift
  if "${vg[@]}" --log-file="$tmp/vg.$passed.$failed.log" "$@" >"$tmp/out.txt" 2>&1; then
    passed=$((passed + 1))
    echo "ok: $label"
  else
    failed=$((failed + 1))
    echo "FAILED: $label"
    tail -5 "$tmp/out.txt"
    head -60 "$tmp/vg.$passed.$((failed - 1)).log"
  fi
}

{
  echo "pickup_datetime,pickup_lat,pickup_lon,dropoff_lat,dropoff_lon"
  for m in $(seq 10 59); do
    echo "2016-02-01 08:$m:00,40.7520,-73.9784,40.7288,-74.0065"
    echo "2016-02-01 08:$m:30,40.7750,-73.9589,40.7578,-73.9855"
  done
  echo "2016-02-01 08:00:00,0,0,0,0"
  echo "2016-02-01 08:00:00,40.75,not-a-number,40.72,-74.0"
  echo '"2016-02-01 08:00:00,40.75'
  echo "2016-02-01 09:00:00,40.75,-73.97,40.72"
} >"$tmp/small.csv"
{
  echo "4 5 9"
  echo "0 0 3"; echo "0 1 7"; echo "1 1 4"; echo "1 2 2.5"; echo "2 0 1"
  echo "2 3 6"; echo "3 3 5"; echo "3 4 -1"; echo "0 4 0.5"
} >"$tmp/match.txt"

check "run --orders 5000 --drivers 300 --from 06:00 --to 08:00" \
  "$BIN" run --orders 5000 --drivers 300 --from 06:00 --to 08:00 --out "$tmp/results.db"
check "import of a small CSV (100 good rows, 4 bad)" \
  "$BIN" import --format csv "$tmp/small.csv" --db "$tmp/trips.db"
check "match on a 4 x 5 instance" "$BIN" match "$tmp/match.txt"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
