#!/bin/sh
# ci_match_oracle.sh BIN: `ridesim match` against the independent scipy oracle
# on medium random instances. Used by CI.
#
# Generates 8 instances of 1,000 to 2,000 rows (uniform and geometric,
# square, wide and tall, integral and fractional weights, some edges of
# weight <= 0, duplicate edges), solves each with BIN (the ridesim binary)
# and asks `oracle.py FILE --verify OUT` for VALID OPTIMAL. Prints one line
# per instance and "N passed, M failed"; exits 1 unless every one passed.
# Environment: RIDESIM_SHARED (default ../shared from the repo root), PYTHON
# (default /usr/bin/python3, which has scipy).
set -eu

[ $# -eq 1 ] || { echo "usage: $0 RIDESIM_BIN" >&2; exit 2; }
bin=$1
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${RIDESIM_SHARED:-$root/../shared}
oracle=$shared/tools/matching/oracle.py
python=${PYTHON:-/usr/bin/python3}
[ -x "$bin" ] || { echo "ci_match_oracle: $bin is not executable" >&2; exit 2; }
if [ ! -f "$oracle" ]; then
  echo "ci_match_oracle: no oracle at $oracle (set RIDESIM_SHARED)" >&2
  # a skip for meson unless the shared tools are required, as in CI
  [ "${RIDESIM_REQUIRE_DATA:-0}" = 1 ] && exit 2
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ci_match.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

"$python" - "$work" <<'EOF'
import sys
import numpy as np

out = sys.argv[1]

def write(name, nr, nc, rows, cols, w, integral):
    with open(f"{out}/{name}.txt", "w") as f:
        f.write(f"{nr} {nc} {len(rows)}\n")
        for i, j, x in zip(rows.tolist(), cols.tolist(), w.tolist()):
            f.write(f"{i} {j} {int(x) if integral else repr(float(x))}\n")

def weights(rng, n, integral, neg):
    if integral:
        w = rng.integers(1, 1001, size=n)
    else:
        w = rng.random(n) * 100.0
    if neg:  # about 10 % of edges are worthless (<= 0): never taken
        bad = rng.random(n) < 0.1
        w = np.where(bad, -np.abs(w) // 3 if integral else -w / 3, w)
    return w

def uniform(name, nr, nc, deg, seed, integral, neg):
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(nr), deg)
    cols = rng.integers(0, nc, size=nr * deg)
    # a few duplicate (i, j) edges with other weights
    dup = rng.integers(0, len(rows), size=len(rows) // 50)
    rows = np.concatenate([rows, rows[dup]])
    cols = np.concatenate([cols, cols[dup]])
    write(name, nr, nc, rows, cols, weights(rng, len(rows), integral, neg), integral)

def geometric(name, nr, nc, deg, seed, integral, neg):
    rng = np.random.default_rng(seed)
    a, b = rng.random((nr, 2)), rng.random((nc, 2))
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    idx = np.argsort(d, axis=1)[:, :deg]
    dd = np.take_along_axis(d, idx, axis=1)
    score = 1 - dd / (dd.max() + 1e-12)
    w = 1 + np.rint(1000 * score) if integral else 1e-3 + score * 97.3
    if neg:
        w = np.where(rng.random(w.shape) < 0.1, -w, w)
    write(name, nr, nc, np.repeat(np.arange(nr), deg), idx.ravel(), w.ravel(), integral)

uniform("uniform_1500x1500_int", 1500, 1500, 8, 1, True, False)
uniform("uniform_1000x2000_real_neg", 1000, 2000, 6, 2, False, True)
uniform("uniform_2000x1200_int_neg", 2000, 1200, 5, 3, True, True)
geometric("geometric_1500x1500_int", 1500, 1500, 20, 4, True, False)
geometric("geometric_2000x1000_real", 2000, 1000, 15, 5, False, False)
geometric("geometric_1000x1800_int_neg", 1000, 1800, 25, 6, True, True)
geometric("geometric_1200x1200_real_neg", 1200, 1200, 10, 7, False, True)
uniform("uniform_2000x2000_real", 2000, 2000, 3, 8, False, False)
EOF

passed=0
failed=0
for f in "$work"/*.txt; do
  name=$(basename "$f" .txt)
  if "$bin" match "$f" > "$work/$name.out" 2> "$work/$name.err" &&
    "$python" "$oracle" "$f" --verify "$work/$name.out" > "$work/$name.verify" 2>&1 &&
    grep -q '^VALID OPTIMAL' "$work/$name.verify"; then
    echo "PASS $name: $(head -1 "$work/$name.out")"
    passed=$((passed + 1))
  else
    echo "FAIL $name: $(cat "$work/$name.err" "$work/$name.verify" 2>/dev/null | tail -3 | tr '\n' ' ')"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
