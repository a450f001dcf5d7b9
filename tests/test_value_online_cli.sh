#!/usr/bin/env bash
# test_value_online_cli: `ridesim train --online` and `ridesim value info --against`
# end to end through the built binary, on a tiny store of two synthetic days.
#
# Checks: train --online learns through the days in order (a line per day,
# one completed run per day in the runs DB, the second day's run warm-started
# from the table the first left); the same is had by hand (a run of day 1
# with --value-out, then a run of day 2 from that table), state for state;
# with --split-daytype the weekday table learns from the weekdays alone and
# the weekend table from the weekends alone, whatever the order of the days;
# value info --against prints, per hour, the number of states and the
# realised discounted income that a computation here from the results DB and
# the trip store gives; the refusals exit 2 with a message. Needs python3.
# Prints "N passed, M failed" and exits 1 on any failure.
set -u

BIN=${RIDESIM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "RIDESIM_BIN is not an executable: '${BIN}'" >&2
  exit 1
fi
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-value-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && printf '       %s\n' "${@:2}"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

"$BIN" synth --orders 3000 --day 2016-02-01 --seed 1 --db s.db >/dev/null 2>&1 &&
  "$BIN" synth --orders 3000 --day 2016-02-02 --seed 2 --db s.db >/dev/null 2>&1 ||
  { echo "synth failed" >&2; exit 1; }
RUN=(--trips s.db --drivers 60 --from 07:00 --to 10:00 --lr 0.1 --seed 3)

# ------------------------------------------------------------ train --online
"$BIN" train --online "${RUN[@]}" --days 2016-02-01,2016-02-02 --out on.db >train.txt 2>err.txt
rc=$?
check "train --online succeeds" test "$rc" -eq 0
check "a line per day, in order" python3 - train.txt <<'EOF'
import re, sys
lines = [l for l in open(sys.argv[1]) if re.match(r"^2016-02-0[12]: income", l)]
assert [l[:10] for l in lines] == ["2016-02-01", "2016-02-02"], lines
EOF
check "the table is saved" grep -q "^saved          on.db" train.txt
check "a completed run per day in on-runs.db, day 2 from the table" python3 - on-runs.db <<'EOF'
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
rows = con.execute("SELECT id, status, scenario FROM runs ORDER BY id").fetchall()
assert [r[1] for r in rows] == ["completed", "completed"], rows
s1, s2 = (json.loads(r[2]) for r in rows)
assert s1["day"] == "2016-02-01" and s2["day"] == "2016-02-02", (s1["day"], s2["day"])
assert s1["policies"]["v1d3"]["table"] is None, s1["policies"]["v1d3"]
assert s2["policies"]["v1d3"]["table"] == "on.db", s2["policies"]["v1d3"]
EOF

# the same by hand: day 1 with --value-out, day 2 warm-started from it
"$BIN" run "${RUN[@]}" --day 2016-02-01 --dispatch v1d3 --value-out d1.db --out h.db >/dev/null 2>&1 &&
  "$BIN" run "${RUN[@]}" --day 2016-02-02 --dispatch v1d3 --value-table d1.db --value-out d2.db \
    --out h.db >/dev/null 2>&1
check "runs by hand succeed" test $? -eq 0
check "train --online's table is the warm-started run's, state for state" python3 - on.db d2.db <<'EOF'
import sqlite3, sys
def rows(p):
    con = sqlite3.connect(p)
    return (con.execute("SELECT dtype, slot, cell, v, n FROM vvalues ORDER BY 1, 2, 3").fetchall(),
            con.execute("SELECT dtype, cell, v, n FROM vfree ORDER BY 1, 2").fetchall())
a, b = rows(sys.argv[1]), rows(sys.argv[2])
assert len(a[0]) > 100 and a == b, (len(a[0]), len(b[0]))
EOF

# ------------------------------------------- train --online --split-daytype
# a Saturday between the two weekdays: the weekday states of the split table
# learnt through Mon, Sat, Tue are those learnt through Mon, Tue alone, the
# weekend states those learnt through Sat alone, to the bit
"$BIN" synth --orders 3000 --day 2016-02-06 --seed 4 --db s.db >/dev/null 2>&1 ||
  { echo "synth failed" >&2; exit 1; }
"$BIN" train --online --split-daytype "${RUN[@]}" --days 2016-02-01,2016-02-06,2016-02-02 \
  --out sp.db >/dev/null 2>err.txt &&
  "$BIN" train --online --split-daytype "${RUN[@]}" --days 2016-02-01,2016-02-02 \
    --out wd.db >/dev/null 2>>err.txt &&
  "$BIN" train --online --split-daytype "${RUN[@]}" --days 2016-02-06 --out we.db >/dev/null 2>>err.txt
check "train --online --split-daytype succeeds" test $? -eq 0
check "split tables: weekdays from the weekdays, weekends from the weekends" python3 - sp.db wd.db we.db <<'EOF'
import sqlite3, sys
def part(p, d):
    con = sqlite3.connect(p)
    assert con.execute("SELECT value FROM meta WHERE key = 'day_types'").fetchone()[0] == "2", p
    return (con.execute("SELECT slot, cell, v, n FROM vvalues WHERE dtype = ? ORDER BY 1, 2",
                        (d,)).fetchall(),
            con.execute("SELECT cell, v, n FROM vfree WHERE dtype = ? ORDER BY 1", (d,)).fetchall())
sp0, sp1 = part(sys.argv[1], 0), part(sys.argv[1], 1)
wd0, wd1 = part(sys.argv[2], 0), part(sys.argv[2], 1)
we0, we1 = part(sys.argv[3], 0), part(sys.argv[3], 1)
assert len(sp0[0]) > 100 and len(sp1[0]) > 100, (len(sp0[0]), len(sp1[0]))
assert sp0 == wd0, "weekday part"
assert sp1 == we1, "weekend part"
assert not any(r[3] for r in wd1[0]) and not any(r[3] for r in we0[0]), "a day type never run learnt"
EOF

# ----------------------------------------------------- value info --against
"$BIN" value info on.db --against on-runs.db --run 2 >info.txt 2>err.txt
check "value info --against succeeds" test $? -eq 0
check "states and realised income by hour as computed from the results" python3 - info.txt on-runs.db s.db <<'EOF'
import math, re, sqlite3, sys
got = {}
for l in open(sys.argv[1]):
    m = re.match(r"^  (\d\d):00 +(\d+) +(-?[\d.]+) +(-?[\d.]+) ", l)
    if m: got[int(m.group(1))] = (int(m.group(2)), float(m.group(3)))
res = sqlite3.connect(sys.argv[2])
store = sqlite3.connect(sys.argv[3])
cell = dict(store.execute("SELECT id, dropoff_cell FROM trips"))
trips = res.execute("SELECT driver, t_pickup, t_dropoff, fare, order_id FROM orders WHERE run_id = 2"
                    " AND status = 'completed' ORDER BY driver, t_pickup, order_id").fetchall()
g, P = 0.9, 600.0   # the table's gamma and period (the defaults)
def spread(fare, s):  # the fare spread over a ride of s seconds
    x = s / P
    return fare if x == 0 else fare * (1 - g ** x) / (x * math.log(1 / g))
want = {}
for i, (d, tp, td, fare, oid) in enumerate(trips):
    c = cell.get(oid)
    if c is None or c < 0: continue
    G = sum(g ** ((t2p - td) / P) * spread(f2, t2d - t2p)
            for (d2, t2p, t2d, f2, _) in trips[i + 1:] if d2 == d)
    h = (td % 86400) // 3600
    n, s = want.get(h, (0, 0.0))
    want[h] = (n + 1, s + G)
assert sorted(got) == sorted(want) and len(want) >= 3, (sorted(got), sorted(want))
for h, (n, s) in want.items():
    assert got[h][0] == n, (h, got[h], n)
    assert abs(got[h][1] - s / n) <= 0.006, (h, got[h][1], s / n)
EOF
check "the table's hours are printed" grep -q "^  07:00        mean" info.txt

# ------------------------------------------------------------------ refusals
refused() {
  local what=$1 msg=$2
  shift 2
  "$BIN" "$@" >out.txt 2>err.txt
  local rc=$?
  if [ "$rc" -ne 0 ] && grep -q -- "$msg" err.txt; then ok "$what"; else
    bad "$what" "exit $rc" "$(cat err.txt)"; fi
}
refused "train --online needs --days" "--days is required" train --online --trips s.db --out x.db
refused "train --online needs --out" "--out VALUE.db is required" train --online --trips s.db \
  --days 2016-02-01
refused "train --online refuses the offline mode" "offline learns nothing" train --online \
  --trips s.db --days 2016-02-01 --out x.db --value-mode offline --value-table on.db
refused "train --online needs a v1d3 policy" "a v1d3 policy must drive" train --online \
  --trips s.db --days 2016-02-01 --out x.db --dispatch batch-distance
refused "train --online refuses a bad day" "not a date" train --online --trips s.db \
  --days 2016-02-31x --out x.db
refused "value info --run needs --against" "--run needs --against" value info on.db --run 1
refused "value info --against a missing run" "no finished run" value info on.db \
  --against on-runs.db --run 9

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
