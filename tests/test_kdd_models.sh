#!/usr/bin/env bash
# The KDD Cup side files applied by `ridesim evaluate`: per-order cancel
# probabilities (matched through the order file's order_id) and the idle
# transition table, on the shared hexagon grid with a crafted Chengdu day.
# Needs ../shared/city_data (RIDESIM_DATA): skips (77) without it unless
# RIDESIM_REQUIRE_DATA=1.
set -u
bin=${RIDESIM_BIN:?RIDESIM_BIN must name the ridesim binary}
data=${RIDESIM_DATA:-${RIDESIM_DATA_DEFAULT:-}}
grid=$data/kddcup2020/hexagon_grid_table.csv
if [ ! -f "$grid" ]; then
  [ "${RIDESIM_REQUIRE_DATA:-0}" = 1 ] && { echo "missing $grid"; exit 1; }
  echo "skip: no shared data"; exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-kdd.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok: $1"; else fail=$((fail + 1)); echo "FAILED: $1"; fi; }

cat > "$work/chengdu.json" <<'JSON'
{ "name": "chengdu",
  "bbox": { "min_lat": 30.55, "min_lng": 103.95, "max_lat": 30.75, "max_lng": 104.20 },
  "hex_edge_m": 600, "utc_offset_minutes": 480,
  "speed_mps_by_hour": [8,8,8,8,8,8,7,6,5,5,5,5,5,5,5,5,5,5,5,6,6,7,7,8],
  "detour_factor": 1.3,
  "fare": { "base": 2.0, "per_km": 1.0, "per_minute": 0.0, "minimum": 2.0 },
  "default_fleet": 100 }
JSON
# 600 orders over 2016-11-01 08:00-09:00 local (00:00-01:00 UTC), integer
# order ids; every rider cancels whatever the distance; idle drivers drift
# from every cell of the box to one cell.
/usr/bin/python3 - "$work" "$grid" <<'PY'
import random, sys
work, grid = sys.argv[1], sys.argv[2]
r = random.Random(7)
t0 = 1477958400
with open(work + "/orders.csv", "w") as f, open(work + "/cancel.csv", "w") as c, \
        open(work + "/orders2.csv", "w") as f2:
    for i in range(600):
        t = t0 + r.randrange(3600)
        p = (r.uniform(104.0, 104.15), r.uniform(30.6, 30.7))
        d = (r.uniform(104.0, 104.15), r.uniform(30.6, 30.7))
        f.write("%d,%d,%d,%.5f,%.5f,%.5f,%.5f,%.2f\n" % (1000 + i, t, t + 900, p[0], p[1], d[0], d[1], 5.0))
        c.write("%d,%s\n" % (1000 + i, ",".join(["1.0"] * 10)))
        if i % 2 == 0:  # the next day: half the demand
            f2.write("%d,%d,%d,%.5f,%.5f,%.5f,%.5f,%.2f\n" % (5000 + i, t + 86400, t + 87300, p[0], p[1], d[0], d[1], 5.0))
cells = []
for line in open(grid):
    x = line.strip().split(",")
    if len(x) != 13:
        continue
    v = [float(a) for a in x[1:]]
    lng, lat = sum(v[0::2]) / 6, sum(v[1::2]) / 6
    if 104.0 <= lng <= 104.15 and 30.6 <= lat <= 30.7:
        cells.append(x[0])
sink = cells[0]
with open(work + "/idle.csv", "w") as f:
    for h in range(24):
        for c in cells:
            f.write("%d,%s,%s,1.0\n" % (h, c, sink))
PY
"$bin" import --format kddcup --city "$work/chengdu.json" "$work/orders.csv" --db "$work/t.db" > "$work/import.txt" 2>&1
check "the crafted order file imports" "grep -q 'accepted 600' '$work/import.txt'"

run() { # name, extra args
  "$bin" evaluate --agent builtin:batch-distance --trips "$work/t.db" --city "$work/chengdu.json" --drivers 40 \
    --kdd-grid "$grid" --out "$work/$1.db" --json "${@:2}" > "$work/$1.json" 2> "$work/$1.err"
}
num() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$@"; }

run plain
run cancel --kdd-cancel "$work/cancel.csv"
check "plain run completes orders" "[ \"\$(num '$work/plain.json' completed)\" -gt 0 ]"
# (a rider who cancels within the delay after 08:59:30 is still open at 09:00)
check "with p = 1 every matched order is cancelled" \
  "[ \"\$(num '$work/cancel.json' completed)\" = 0 ] && [ \$(( \$(num '$work/cancel.json' cancelled) + \$(num '$work/cancel.json' open) )) = \"\$(num '$work/cancel.json' matched)\" ] && [ \"\$(num '$work/cancel.json' matched)\" -gt 0 ]"
check "the cancel file's rows are reported applied" "grep -q 'cancel probabilities apply' '$work/cancel.err'"

run still --patience 0
run drift --patience 0 --kdd-idle "$work/idle.csv"
still=$(num "$work/still.json" empty_km)
drift=$(num "$work/drift.json" empty_km)
check "idle transitions move idle drivers (empty km $still -> $drift)" \
  "/usr/bin/python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) > float(sys.argv[1]) + 1 else 1)' $still $drift"
check "the idle table is reported applied" "grep -q 'transitions drive idle movement' '$work/drift.err'"

# Two days: J and G are the means of the days' scores.
"$bin" import --format kddcup --city "$work/chengdu.json" "$work/orders2.csv" --db "$work/t.db" > /dev/null 2>&1
"$bin" evaluate --agent builtin:batch-distance --trips "$work/t.db" --city "$work/chengdu.json" \
  --drivers 40 --from 08:00 --to 09:00 --days 2016-11-01,2016-11-02 --out "$work/days.db" \
  > "$work/days.txt" 2> "$work/days.err"
check "evaluate --days prints the mean of the days' J" \
  "/usr/bin/python3 - '$work/days.txt' <<'PY'
import re, sys
t = open(sys.argv[1]).read()
js = [float(x) for x in re.findall(r'^  2016-11-0[12]   J +([0-9.]+)', t, re.M)]
m = re.search(r'dispatch score J \(mean\) +([0-9.]+)', t)
sys.exit(0 if len(js) == 2 and js[0] > js[1] > 0 and m and abs(float(m.group(1)) - sum(js) / 2) < 0.01 else 1)
PY"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
