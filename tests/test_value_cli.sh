#!/usr/bin/env bash
# test_value_cli: `ridesim value info` and `ridesim value export` end to end.
#
# A table trained on Manhattan's synthetic day and one on the synthetic
# city: export writes exactly the cells in service of the city (as
# `ridesim city NAME --json --cells` lists them), in CSV and GeoJSON alike,
# says on standard error how many it wrote, and writes values the policies
# would read (finite, the learned ones with their update counts); info
# describes the table. Prints "N passed, M failed" and exits 1 on any
# failure.
set -u

BIN=${RIDESIM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "RIDESIM_BIN is not an executable: '${BIN}'" >&2
  exit 1
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-value-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && printf '       %s\n' "${@:2}"; }

for city in manhattan synthetic; do
  if ! "$BIN" synth --city "$city" --orders 20000 --seed 4 --db "$city.db" > /dev/null 2>&1 ||
     ! "$BIN" train --trips "$city.db" --out "$city.v.db" > /dev/null 2>&1; then
    bad "$city: synth and train"
    continue
  fi
  "$BIN" city "$city" --json --cells > "$city.json"
  if "$BIN" value info "$city.v.db" > info.txt 2>&1 && grep -q "^city           $city" info.txt; then
    ok "$city: value info"
  else
    bad "$city: value info" "$(head -3 info.txt)"
  fi
  for fmt in csv geojson; do
    if ! "$BIN" value export "$city.v.db" --slot 09:00 --format "$fmt" --out "map.$fmt" 2> err.txt; then
      bad "$city $fmt: value export failed" "$(cat err.txt)"
      continue
    fi
    if "$PY" - "$city.json" "map.$fmt" err.txt "$fmt" <<'EOF'
import csv, json, math, re, sys
city = json.load(open(sys.argv[1]))
serves = [c["index"] for c in city["grid"]["cells"] if c["in_service"]]
if sys.argv[4] == "csv":
    rows = [(int(r["cell"]), float(r["value"]), int(r["count"])) for r in csv.DictReader(open(sys.argv[2]))]
else:
    rows = [(f["properties"]["cell"], f["properties"]["value"], f["properties"]["count"])
            for f in json.load(open(sys.argv[2]))["features"]]
cells = [r[0] for r in rows]
assert cells == serves, "%d cells written, %d in service" % (len(cells), len(serves))
assert all(math.isfinite(v) for _, v, _ in rows), "a value is not finite"
learned = sum(1 for _, _, n in rows if n > 0)
assert learned > 0, "nothing learned at 09:00"
msg = open(sys.argv[3]).read()
m = re.search(r"wrote (\d+) cells, every cell in service of \w+ \(of \d+ in its grid\); (\d+) learned", msg)
assert m and int(m.group(1)) == len(rows) and int(m.group(2)) == learned, msg
EOF
    then ok "$city $fmt: every cell in service, no other, and the count on stderr"
    else bad "$city $fmt: the export is not the cells in service"
    fi
  done
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
