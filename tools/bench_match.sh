#!/bin/sh
# bench_match.sh: ridesim's matching solver against LEMON's NetworkSimplex
# (non-perfect mode) on the shared benchmark instances, with every ridesim
# optimum checked by the independent oracle.
#
# Usage: tools/bench_match.sh            (from the repository root)
# Environment:
#   RIDESIM_BIN      ridesim binary (default ./build/tools/ridesim; build it
#                    with --buildtype=release or debugoptimized, timings of a
#                    debug build mean nothing)
#   RIDESIM_SHARED   the shared folder (default ../shared from the repo root)
#   MATCH_INSTANCES  a folder of existing instances to reuse instead of
#                    generating them (gen_instances.py writes ~60 MB)
#   MATCH_REPEAT     solves per instance and side, median kept (default 3)
#   PYTHON           interpreter with scipy (default /usr/bin/python3)
# Prints one table: instance, ridesim median ms, LEMON median ms, speed-up,
# optimal yes/no. Exits 1 if any ridesim solution is not VALID OPTIMAL.
# Needs g++ and LEMON (Debian packages g++, liblemon-dev) and scipy.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
shared=${RIDESIM_SHARED:-$root/../shared}
tools=$shared/tools/matching
bin=${RIDESIM_BIN:-$root/build/tools/ridesim}
python=${PYTHON:-/usr/bin/python3}
repeat=${MATCH_REPEAT:-3}

# the LEMON peer is compiled here: a C++ compiler and LEMON's headers
if ! command -v g++ >/dev/null 2>&1 || ! echo '#include <lemon/network_simplex.h>' | g++ -x c++ -E - >/dev/null 2>&1; then
  echo "bench_match: needs g++ and LEMON (apt-get install g++ liblemon-dev)" >&2
  exit 2
fi
[ -x "$bin" ] || { echo "bench_match: no ridesim binary at $bin (set RIDESIM_BIN)" >&2; exit 2; }
[ -f "$tools/oracle.py" ] || { echo "bench_match: no oracle in $tools (set RIDESIM_SHARED)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bench_match.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

if [ -n "${MATCH_INSTANCES:-}" ]; then
  inst=$MATCH_INSTANCES
else
  inst=$work/instances
  echo "generating instances into $inst ..." >&2
  "$python" "$tools/gen_instances.py" "$inst" >/dev/null
fi

echo "building the LEMON peer ..." >&2
g++ -O2 -march=native -o "$work/lemon_match" "$tools/lemon_match.cpp" -llemon

echo "running ridesim bench match (repeat $repeat) ..." >&2
"$bin" bench match "$inst" --repeat "$repeat" --out "$work/sol" > "$work/ridesim.txt"

# file -> ridesim median ms
awk 'NR > 1 { print $1, $5 }' "$work/ridesim.txt" > "$work/ours.txt"

echo "running LEMON NetworkSimplex (repeat $repeat) and the oracle ..." >&2
fail=0
printf '%-26s %12s %12s %9s %8s\n' instance ridesim_ms lemon_ms speedup optimal
while read -r file ours; do
  f=$inst/$file
  times=""
  r=0
  while [ "$r" -lt "$repeat" ]; do
    # columns: file mode algo build_ms solve_ms optimum matched
    t=$("$work/lemon_match" "$f" nonperf ns | awk '{ print $5 }')
    times="$times $t"
    r=$((r + 1))
  done
  lemon=$(echo "$times" | tr ' ' '\n' | sed '/^$/d' | sort -g |
    awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
  if "$python" "$tools/oracle.py" "$f" --verify "$work/sol/$file.sol" > "$work/verify.txt" 2>&1 &&
    grep -q '^VALID OPTIMAL' "$work/verify.txt"; then
    ok=yes
  else
    ok=no
    fail=1
  fi
  speed=$(awk -v a="$ours" -v b="$lemon" 'BEGIN { if (a > 0) printf "%.2fx", b / a; else print "-" }')
  printf '%-26s %12.2f %12.2f %9s %8s\n' "$file" "$ours" "$lemon" "$speed" "$ok"
done < "$work/ours.txt"
exit "$fail"
