#!/usr/bin/env bash
# test_city_cli: `ridesim city` end to end through the built binary.
#
# For every built-in city: `ridesim city NAME --json` loads back as a city
# file (`ridesim city FILE --json`) and prints the same JSON again (the
# "source" line aside), with --cells too; the definition read back is the
# same definition, field by field (python3 compares the two JSON texts as
# data); manhattan prints its service area and says how many cells are in
# service; a file whose printed grid was edited is refused naming the field.
# Prints "N passed, M failed" and exits 1 on any failure.
set -u

BIN=${RIDESIM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "RIDESIM_BIN is not an executable: '${BIN}'" >&2
  exit 1
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-city-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && printf '       %s\n' "${@:2}"; }

# same_json A B: the two files hold the same JSON data but for "source".
same_json() {
  "$PY" - "$1" "$2" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d.pop("source", None)
sys.exit(0 if a == b else 1)
EOF
}

for city in manhattan synthetic; do
  for cells in "" --cells; do
    name="$city${cells:+ $cells}"
    if ! "$BIN" city "$city" --json $cells > "$city.json" 2> err.txt; then
      bad "$name: ridesim city --json failed" "$(cat err.txt)"
      continue
    fi
    if ! "$BIN" city "$city.json" --json $cells > "$city.2.json" 2> err.txt; then
      bad "$name: the printed JSON does not load back" "$(cat err.txt)"
      continue
    fi
    if same_json "$city.json" "$city.2.json"; then
      ok "$name: --json loads back and prints the same definition and grid"
    else
      bad "$name: the definition changed on the round trip" \
        "$(diff "$city.json" "$city.2.json" | head -5)"
    fi
    if [ -z "$cells" ] && "$BIN" run --city "$city.json" --synthetic --orders 2000 \
         --from 07:00 --to 08:00 --drivers 50 --out "$city.db" > run.txt 2>&1; then
      ok "$name: the printed file runs as a city"
    elif [ -z "$cells" ]; then
      bad "$name: ridesim run --city on the printed file failed" "$(tail -3 run.txt)"
    fi
  done
done

# manhattan carries its service area: 3 polygons, a few hundred cells of the
# ~5,650 of its box in service
if "$PY" - manhattan.json <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
sa = d["service_area"]
assert len(sa) == 3, len(sa)
assert all(r[0] == r[-1] for p in sa for r in p), "rings are printed closed"
n = d["grid"]["cells_in_service"]
assert 80 < n < 400, n
EOF
then ok "manhattan: the service area is printed (3 polygons, closed rings)"
else bad "manhattan: no service area in the JSON"
fi
if "$BIN" city manhattan | grep -q "^service area   3 polygons"; then
  ok "manhattan: the text output describes the service area"
else
  bad "manhattan: the text output lacks the service area line"
fi

# an edited grid is refused, naming the field
sed 's/"n_cells":[^,]*/"n_cells": 7/' manhattan.json > edited.json
if "$BIN" city edited.json > out.txt 2>&1; then
  bad "an edited grid was accepted"
elif grep -q "grid.n_cells" out.txt; then
  ok "an edited grid is refused naming grid.n_cells"
else
  bad "the refusal does not name grid.n_cells" "$(cat out.txt)"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
