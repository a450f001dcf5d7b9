#!/usr/bin/env bash
# bench_view: what the live viewer costs a run, and what it delivers.
#
#   tools/bench_view.sh            (from the repository root)
#
# Binary: $RIDESIM_BIN, else ./build/tools/ridesim (measure a release or
# debugoptimized build). Data: $RIDESIM_DATA, else ../shared/city_data.
# Needs python3 and, for (b), chromium.
#
#   (a) fast mode: the shared morning (NYC TLC 2016-02-01 08:00-12:00,
#       3,000 drivers, batch-distance) run RUNS times (default 7) with
#       --serve 0 and no client and RUNS times without, back to back
#       (alternating), medians of the engine's loop time (runs.wall_seconds)
#       and of the process wall time; target: within 5 %.
#   (b) paced: the same morning at --speed 60 with one headless Chromium
#       client on the page for SECS seconds (default 30) after a 5 s
#       warm-up: frames per second the page drew (its own counter), the
#       frames the server sent and dropped, and the server's CPU share (wall
#       seconds spent building frames / wall seconds) beside the whole
#       process's CPU share (/proc/PID/stat); target: >= 20 frames a second.
# No figure here is a test: the machine is shared, single runs vary.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${RIDESIM_BIN:-$ROOT/build/tools/ridesim}
DATA=${RIDESIM_DATA:-$ROOT/../shared/city_data}
CSV=$DATA/nyc-tlc-2016-02-manhattan-am/2016-02-01.csv
RUNS=${RUNS:-7}
SECS=${SECS:-30}

[ -x "$BIN" ] || { echo "bench_view: no binary at $BIN (set RIDESIM_BIN)" >&2; exit 1; }
[ -r "$CSV" ] || { echo "bench_view: no data at $CSV (set RIDESIM_DATA)" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-bench-view-XXXXXX")
trap 'rm -rf "$T"' EXIT
"$BIN" import --format csv "$CSV" --db "$T/am.db" >/dev/null
ARGS=(run --trips "$T/am.db" --from 08:00 --to 12:00 --drivers 3000 --dispatch batch-distance)

export BIN T RUNS SECS ROOT
python3 - "${ARGS[@]}" <<'PY'
import json, os, re, signal, sqlite3, statistics, subprocess, sys, time

BIN, T, RUNS, SECS = os.environ["BIN"], os.environ["T"], int(os.environ["RUNS"]), float(os.environ["SECS"])
ARGS = sys.argv[1:]

def one(serve, i):
    db = os.path.join(T, "a%s%d.db" % ("s" if serve else "p", i))
    t0 = time.time()
    r = subprocess.run([BIN] + ARGS + ["--json", "--out", db] + (["--serve", "0"] if serve else []),
                       capture_output=True, text=True)
    wall = time.time() - t0
    if r.returncode != 0:
        sys.exit("bench_view: run failed: " + r.stderr)
    loop = sqlite3.connect(db).execute("SELECT wall_seconds FROM runs").fetchone()[0]
    os.remove(db)
    return loop, wall

plain, served = [], []
for i in range(RUNS):
    plain.append(one(False, i))
    served.append(one(True, i))
lp, ls = statistics.median(x[0] for x in plain), statistics.median(x[0] for x in served)
wp, ws = statistics.median(x[1] for x in plain), statistics.median(x[1] for x in served)
print("(a) fast mode, the shared morning, %d runs each, medians:" % RUNS)
print("    engine loop   without --serve %.3f s, with --serve 0 and no client %.3f s: %+.1f %%"
      % (lp, ls, 100 * (ls / lp - 1)))
print("    process wall  without --serve %.3f s, with --serve 0 and no client %.3f s: %+.1f %%"
      % (wp, ws, 100 * (ws / wp - 1)))
print("    target: within 5 %%: %s" % ("met" if abs(ls / lp - 1) <= 0.05 else "missed"))

sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests"))
import shutil
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if chromium is None:
    print("(b) skipped: no chromium")
    sys.exit(0)
from test_view_browser import Cdp, look

err = open(os.path.join(T, "b.err"), "w+")
run = subprocess.Popen([BIN] + ARGS + ["--speed", "60", "--serve", "0", "--out", os.path.join(T, "b.db")],
                       stdout=subprocess.DEVNULL, stderr=err)
port = None
for _ in range(600):
    err.seek(0)
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", err.read())
    if m:
        port = int(m.group(1))
        break
    time.sleep(0.05)
if port is None:
    sys.exit("bench_view: the paced run did not serve")
cdp = Cdp(chromium, os.path.join(T, "profile"))
target = cdp.call("Target.createTarget", {"url": "http://127.0.0.1:%d/" % port})["targetId"]
session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
time.sleep(5)
def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
a, c0, t0 = look(cdp, session), cpu(run.pid), time.time()
time.sleep(SECS)
b, c1, t1 = look(cdp, session), cpu(run.pid), time.time()
cdp.close()
run.send_signal(signal.SIGINT)
run.wait(timeout=120)
err.seek(0)
m = re.search(r"live view: (\d+) frames sent, (\d+) dropped for busy clients, ([0-9.]+) s building",
              err.read())
fps = (b["frames"] - a["frames"]) / (t1 - t0)
sim = (b["t"] - a["t"]) / (t1 - t0)
print("(b) --speed 60, the shared morning, one headless Chromium client, %.0f s:" % (t1 - t0))
print("    frames drawn by the page: %.1f per second (simulated %.0f s per second)" % (fps, sim))
if m:
    total_wall = t1 - t0 + 5
    print("    server: %s frames sent, %s dropped for a busy client; %.3f s building frames over "
          "the run's %.0f s: %.1f %% of one core" % (m.group(1), m.group(2), float(m.group(3)),
          total_wall, 100 * float(m.group(3)) / total_wall))
print("    the whole process: %.1f %% of one core while watched" % (100 * (c1 - c0) / (t1 - t0)))
print("    target: >= 20 frames a second: %s" % ("met" if fps >= 20 else "missed"))
PY
