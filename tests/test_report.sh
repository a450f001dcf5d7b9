#!/usr/bin/env bash
# compare and report end to end on the synthetic city: the baseline
# difference rows, six completed runs in the DB, identical KPI means when
# the same comparison runs twice (determinism across threads), `ridesim
# report` on the earlier DB, and the page rendered by headless Chromium into
# a non-trivial PNG; on Manhattan, maps of the cells in service only.
#
# The binary comes from $RIDESIM_BIN (meson sets it). Without chromium the
# test skips (77), unless RIDESIM_REQUIRE_DATA=1 (CI), where it fails.
set -u

BIN=${RIDESIM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "RIDESIM_BIN is not set to the ridesim binary" >&2
  exit 1
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

CHROMIUM=""
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then CHROMIUM=$(command -v "$c"); break; fi
done
if [ -z "$CHROMIUM" ]; then
  if [ "${RIDESIM_REQUIRE_DATA:-}" = "1" ]; then
    echo "chromium is not installed but RIDESIM_REQUIRE_DATA=1" >&2
    exit 1
  fi
  echo "chromium is not installed: skipping" >&2
  exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-report-XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $1"; }
ko() { fail=$((fail + 1)); echo "FAIL: $1" >&2; }

ARGS=(--synthetic --orders 20000 --drivers 800 --from 06:00 --to 10:00
      --policies fcfs-nearest,batch-distance --seeds 1-3)

# 1. the comparison, its CSV and its report
if "$BIN" compare "${ARGS[@]}" --out "$T/a.db" --report "$T/rep" --csv >"$T/a.csv" 2>"$T/a.err"; then
  ok "compare exits 0"
else
  ko "compare exits 0 (see below)"; cat "$T/a.err" >&2
fi
# one row per combination x KPI (2 x 12) and the header
rows=$(wc -l <"$T/a.csv")
[ "$rows" -eq 25 ] && ok "CSV has 25 lines" || ko "CSV has 25 lines (got $rows)"
# baseline difference rows: batch-distance against fcfs-nearest, with an
# interval (3 seeds) for every KPI
ndiff=$(awk -F, '$1 == "batch-distance" && $9 == "fcfs-nearest/stay" && $11 != "" && $12 != "" && $13 != ""' "$T/a.csv" | wc -l)
[ "$ndiff" -eq 12 ] && ok "12 baseline difference rows" || ko "12 baseline difference rows (got $ndiff)"
nbase=$(awk -F, '$1 == "fcfs-nearest" && $11 == ""' "$T/a.csv" | wc -l)
[ "$nbase" -eq 12 ] && ok "baseline rows carry no difference" || ko "baseline rows carry no difference ($nbase)"
grep -q '^batch-distance,stay,answer_rate,3,' "$T/a.csv" && ok "answer rate over 3 seeds" \
  || ko "answer rate over 3 seeds"

# 2. the DB: six completed runs, cells for each
if command -v sqlite3 >/dev/null 2>&1; then
  n=$(sqlite3 "$T/a.db" "SELECT count(*) FROM runs WHERE status = 'completed'")
  [ "$n" = "6" ] && ok "6 completed runs" || ko "6 completed runs (got $n)"
  n=$(sqlite3 "$T/a.db" "SELECT count(DISTINCT run_id) FROM unserved_cells")
  [ "$n" = "6" ] && ok "unserved cells of 6 runs" || ko "unserved cells of 6 runs (got $n)"
  # the cells account for every order of the run
  n=$(sqlite3 "$T/a.db" "SELECT count(*) FROM runs WHERE orders != (SELECT sum(requests) FROM unserved_cells WHERE run_id = runs.id)")
  [ "$n" = "0" ] && ok "cells count every order" || ko "cells count every order ($n runs differ)"
else
  ko "sqlite3 is not installed: cannot inspect the DB"
fi

# 3. determinism: the same comparison again (other DB, one job at a time)
# gives the same means for every KPI but wall time
"$BIN" compare "${ARGS[@]}" --out "$T/b.db" --jobs 1 --csv >"$T/b.csv" 2>"$T/b.err" \
  || { ko "second compare exits 0"; cat "$T/b.err" >&2; }
if diff <(grep -v ',wall_seconds,' "$T/a.csv") <(grep -v ',wall_seconds,' "$T/b.csv") >"$T/ab.diff"; then
  ok "identical KPI means on a second run"
else
  ko "identical KPI means on a second run"; cat "$T/ab.diff" >&2
fi

# 4. ridesim report on the earlier DB
if "$BIN" report "$T/a.db" --out "$T/rep2" >"$T/r.out" 2>&1 && [ -s "$T/rep2/index.html" ]; then
  ok "report on the earlier DB"
else
  ko "report on the earlier DB"; cat "$T/r.out" >&2
fi
for f in "$T/rep/index.html" "$T/rep2/index.html"; do
  if [ -s "$f" ] && grep -q '<svg' "$f" && ! grep -qi '<script' "$f" && ! grep -q 'https\?://[^"]*\.\(js\|css\)' "$f"; then
    ok "$(basename "$(dirname "$f")")/index.html is self-contained with SVG"
  else
    ko "$(basename "$(dirname "$f")")/index.html is self-contained with SVG"
  fi
done
grep -q 'batch-distance' "$T/rep/index.html" && grep -q 'unserved orders per cell' "$T/rep/index.html" \
  && ok "report names the policies and maps the cells" || ko "report names the policies and maps the cells"
# the report of the same runs is the same page either way
cmp -s "$T/rep/index.html" "$T/rep2/index.html" && ok "compare --report equals ridesim report" \
  || ko "compare --report equals ridesim report"
# errors: a missing DB, a foreign file
"$BIN" report "$T/none.db" --out "$T/x" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 1 ] && ok "missing DB: exit 1" || ko "missing DB: exit 1 (got $rc)"
"$BIN" compare --policies nope --synthetic --orders 100 --out "$T/c.db" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok "unknown policy: exit 2" || ko "unknown policy: exit 2 (got $rc)"

# 5. Manhattan: the maps draw only the cells in service (the island and the
# airports, ~140 of the box's 5,650 cells), the value map every one of them
"$BIN" synth --city manhattan --orders 20000 --seed 3 --db "$T/m.db" >/dev/null 2>&1 \
  || ko "synth --city manhattan"
"$BIN" train --trips "$T/m.db" --out "$T/mv.db" >/dev/null 2>&1 || ko "train on Manhattan"
"$BIN" city manhattan --json --cells >"$T/m.json" || ko "city manhattan --json --cells"
# trips of a morning, a tenth of them picked up in Brooklyn, out of the area
python3 - "$T/m.csv" <<'EOF2'
import random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    f.write("pickup_datetime,pickup_lat,pickup_lon,dropoff_lat,dropoff_lon\n")
    for i in range(3000):
        t = "2016-02-01 %02d:%02d:%02d" % (7 + i // 1000, i % 1000 * 60 // 1000, i % 60)
        if i % 10 == 0:
            plat, plng = 40.675 + 0.01 * random.random(), -73.96 + 0.02 * random.random()
        else:
            plat, plng = 40.74 + 0.04 * random.random(), -73.99 + 0.02 * random.random()
        dlat, dlng = 40.74 + 0.04 * random.random(), -73.99 + 0.02 * random.random()
        f.write("%s,%.6f,%.6f,%.6f,%.6f\n" % (t, plat, plng, dlat, dlng))
EOF2
"$BIN" import --format csv --city manhattan "$T/m.csv" --db "$T/mt.db" >/dev/null 2>&1 \
  || ko "import the Manhattan trips"
if "$BIN" compare --trips "$T/mt.db" --drivers 300 --from 07:00 --to 10:00 \
     --policies fcfs-nearest --reposition random-walk --seeds 1-2 --out "$T/man.db" >/dev/null 2>"$T/m.err" &&
   "$BIN" report "$T/man.db" --out "$T/mrep" --value "$T/mv.db" >/dev/null 2>>"$T/m.err"; then
  ok "compare and report on Manhattan"
else
  ko "compare and report on Manhattan"; cat "$T/m.err" >&2
fi
if python3 - "$T/mrep/index.html" "$T/m.json" <<'EOF2'
import json, re, sys
page = open(sys.argv[1]).read()
city = json.load(open(sys.argv[2]))
serves = {c["index"] for c in city["grid"]["cells"] if c["in_service"]}
unserved = [int(c) for c in re.findall(r"<title>cell (\d+) \(q", page)]
valued = [int(c) for c in re.findall(r"<title>cell (\d+): V =", page)]
assert unserved, "no unserved map"
assert set(unserved) <= serves, "unserved map: cells out of service %s" % sorted(set(unserved) - serves)[:5]
assert set(valued) == serves and len(valued) == len(serves), \
    "value map: %d cells, %d in service" % (len(valued), len(serves))
assert "the %d cells in service" % len(serves) in page
# the Brooklyn pickups' cells are left out and the caption says so
assert re.search(r"; \d+ cells out of the service area not drawn \(\d+ unserved of [1-9]\d* requests\)", page)
EOF2
then ok "Manhattan maps: only cells in service, the value map all of them"
else ko "Manhattan maps: only cells in service, the value map all of them"
fi

# 6. the page renders: headless Chromium screenshot
PROFILE=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-chromium-XXXXXX")
timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$PROFILE" \
  --screenshot="$T/rep/report.png" --window-size=1400,2400 "file://$T/rep/index.html" \
  >"$T/chromium.log" 2>&1
rm -rf "$PROFILE"
size=$(stat -c %s "$T/rep/report.png" 2>/dev/null || echo 0)
if [ "$size" -gt 20480 ]; then
  ok "screenshot of $size bytes"
  if [ -n "${RIDESIM_REPORT_KEEP:-}" ]; then cp -r "$T/rep" "$RIDESIM_REPORT_KEEP"; fi
else
  ko "screenshot > 20 KB (got $size bytes)"; tail -5 "$T/chromium.log" >&2
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
