#!/usr/bin/env python3
"""The live viewer and the replay, end to end over HTTP (view/).

Runs `ridesim run --serve` on the synthetic city and speaks to it with raw
sockets: the page (self-contained), the scene, the event stream (hello, then
frames whose driver and order counts add up, at most at the asked rate, the
last frame's KPIs equal to the run's row), refusals (400, 404, 405, 413,
each closing the connection), pause/resume/speed on a paced run, none on a
fast one, clients that vanish mid-stream or never read, several at once,
the port in use, SIGINT. Then `ridesim view` (the replay's final KPIs are
the stored run's; a seek forward and back lands on the same state) and
`ridesim export --format kepler` (valid GeoJSON; one occupied feature per
trip picked up, one point per order; vertex times ordered within the
horizon). No timing is asserted beyond generous bounds that keep the test
from hanging.
"""
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("RIDESIM_BIN", "")
PASS = FAIL = 0


def ok(cond, what):
    global PASS, FAIL
    if cond:
        PASS += 1
        print("ok: " + what, flush=True)
    else:
        FAIL += 1
        print("FAIL: " + what, file=sys.stderr, flush=True)
    return cond


def start(args, tmp, name):
    err = open(os.path.join(tmp, name + ".err"), "w+")
    out = open(os.path.join(tmp, name + ".out"), "w+")
    p = subprocess.Popen([BIN] + args, stdout=out, stderr=err)
    url = None
    for _ in range(600):
        err.seek(0)
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", err.read())
        if m:
            url = int(m.group(1))
            break
        if p.poll() is not None:
            break
        time.sleep(0.05)
    return p, url, out, err


def request(port, raw, timeout=10):
    """Sends raw bytes, reads until the server closes or the answer is whole;
    returns (status, headers, body, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(raw)
    data = b""
    closed = False
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            closed = True
            break
        data += d
        head, sep, body = data.partition(b"\r\n\r\n")
        m = re.search(rb"Content-Length: (\d+)", head)
        if sep and m and len(body) >= int(m.group(1)):
            # whole: see whether the server closes (it should after an error)
            s.settimeout(3)
            try:
                closed = s.recv(1) == b""
            except socket.timeout:
                closed = False
            break
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    return status, "\n".join(lines[1:]), body, closed


def get(port, path):
    return request(port, ("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path).encode())


def post(port, body):
    b = body.encode()
    return request(port, b"POST /control HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (len(b), b))


def state(port):
    st, _, body, _ = get(port, "/state")
    return json.loads(body) if st == 200 else None


class Stream:
    """An SSE client on a raw socket."""

    def __init__(self, port, fps=30):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.s.sendall(("GET /stream?fps=%d HTTP/1.1\r\nHost: t\r\n\r\n" % fps).encode())
        self.buf = b""
        self.head = None
        self.closed = False

    def events(self, seconds):
        """(name, data) events for up to `seconds`, or until the server closes."""
        end = time.time() + seconds
        out = []
        while time.time() < end and not self.closed:
            self.s.settimeout(max(0.01, end - time.time()))
            try:
                d = self.s.recv(1 << 20)
            except socket.timeout:
                break
            if not d:
                self.closed = True
            self.buf += d
            if self.head is None and b"\r\n\r\n" in self.buf:
                self.head, _, self.buf = self.buf.partition(b"\r\n\r\n")
            if self.head is None:
                continue
            while b"\n\n" in self.buf:
                ev, _, self.buf = self.buf.partition(b"\n\n")
                name, data = "", ""
                for line in ev.decode().split("\n"):
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        data += line[6:]
                out.append((name, json.loads(data)))
        return out

    def close(self, reset=False):
        if reset:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.s.close()


def frame_counts_ok(f, drivers):
    n, d, o, m, r = f["n"], f["d"], f["o"], f["m"], f["r"]
    return (sum(n) == drivers and len(d) == 3 * (drivers - n[0]) and len(o) % 2 == 0
            and len(m) % 4 == 0 and len(r) == 4 * n[4]
            and [sum(1 for i in range(2, len(d), 3) if d[i] == s) for s in range(5)]
            == [0] + n[1:])


def db_kpis(db, run):
    c = sqlite3.connect(db)
    row = c.execute("SELECT status, kpis FROM runs WHERE id = ?", (run,)).fetchone()
    c.close()
    return row[0], json.loads(row[1]) if row and row[1] else None


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("RIDESIM_BIN is not set to the ridesim binary", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="ridesim-view-")
    db = os.path.join(tmp, "a.db")
    base = ["run", "--synthetic", "--orders", "20000", "--drivers", "300", "--from", "06:00",
            "--to", "08:00", "--dispatch", "batch-distance"]

    # 1. a paced run (2 h at 600x: about 12 s), watched
    p, port, out, err = start(base + ["--speed", "600", "--serve", "0", "--out", db], tmp, "a")
    if not ok(port is not None, "run --serve 0 prints the page's address"):
        p.kill()
        return 1
    st, hdr, body, closed = get(port, "/")
    ok(st == 200 and "text/html" in hdr and b"<canvas" in body and b"EventSource" in body,
       "GET / serves the page")
    ok(not re.search(rb"(src|href)\s*=\s*[\"']?(https?:)?//", body) and b"@import" not in body,
       "the page loads nothing from the network")
    st, _, body, _ = get(port, "/scene.json")
    scene = json.loads(body) if st == 200 else {}
    ok(scene.get("drivers") == 300 and len(scene.get("cells", [])) % 12 == 0
       and len(scene["cells"]) > 0 and scene["from"] < scene["to"], "scene.json: the city and fleet")
    # the stream: hello, then frames whose counts add up, at most ~fps a second
    a = Stream(port, fps=10)
    evs = a.events(2.0)
    ok(evs and evs[0][0] == "hello" and isinstance(evs[0][1].get("w"), list), "stream opens with hello")
    frames = [e for n, e in evs if n == "frame"]
    ok(len(frames) >= 5, "stream delivers frames (%d in 2 s at fps=10)" % len(frames))
    ok(len(frames) <= 10 * 2 + 3, "stream honours the client's rate (%d <= 23)" % len(frames))
    ok(all(frame_counts_ok(f, 300) for f in frames), "every frame: drivers by state add up to the fleet")
    ok(all(frames[i]["t"] <= frames[i + 1]["t"] for i in range(len(frames) - 1)),
       "frame times never go back")
    ok(any("heat" in f and len(f["heat"]["idle"]) * 12 == len(scene["cells"]) for f in frames),
       "heat layers per cell")
    # refusals, each closing the connection
    st, _, _, closed = request(port, b"GARBAGE\r\n\r\n")
    ok(st == 400 and closed, "malformed request: 400, connection closed")
    st, _, _, closed = request(port, b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 10000 + b"\r\n\r\n")
    ok(st == 413 and closed, "oversized head: 413, connection closed")
    st, _, _, closed = request(port, b"POST /control HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n"
                               + b"x" * 5000)
    ok(st == 413 and closed, "oversized body: 413, connection closed")
    st, _, _, _ = get(port, "/nope")
    ok(st == 404, "unknown path: 404")
    st, _, _, closed = request(port, b"DELETE / HTTP/1.1\r\nHost: t\r\n\r\n")
    ok(st == 405 and closed, "other method: 405")
    st, _, _, closed = request(port, b"GET / HTTP/1.1\r\n\r\n")
    ok(st == 400 and closed, "HTTP/1.1 without Host: 400")
    # keep-alive: two requests on one connection
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /state HTTP/1.1\r\nHost: t\r\n\r\nGET /state HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    ok(data.count(b"HTTP/1.1 200 OK") == 2, "pipelined keep-alive requests both answered")
    # pause, resume, speed
    st, _, body, _ = post(port, "pause")
    t0 = state(port)["t"]
    time.sleep(0.6)
    s1 = state(port)
    ok(st == 200 and s1["mode"] == "paused" and s1["t"] == t0, "pause holds simulated time")
    ok(post(port, "speed 1200")[0] == 200 and post(port, "resume")[0] == 200, "speed and resume")
    time.sleep(0.5)
    s2 = state(port)
    ok(s2["t"] > t0 and s2["speed"] == 1200 and s2["mode"] == "paced", "resumed at the new speed")
    ok(post(port, "speed 0")[0] == 409 and post(port, "seek 60")[0] == 409,
       "a live paced run refuses speed 0 and seek (409)")
    ok(post(port, "speed -5")[0] == 400 and post(port, "jump")[0] == 400 and
       post(port, "pause now")[0] == 400, "malformed commands: 400")
    # several clients; one vanishes with a reset, one never reads
    b = Stream(port, fps=30)
    c = Stream(port, fps=30)
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    eb = b.events(1.0)
    ok(sum(1 for n, _ in eb if n == "frame") >= 3, "a second client gets frames too")
    b.close(reset=True)
    time.sleep(0.3)
    s3 = state(port)
    ok(s3 is not None and s3["streams"] == 2, "a client that resets is dropped (%s streams left)"
       % (s3 or {}).get("streams"))
    # the run goes on to its end whatever c does (c never reads)
    rest = a.events(120)
    ok(p.wait(timeout=120) == 0, "the watched run completes (exit 0)")
    names = [n for n, _ in rest]
    ok(names and names[-1] == "end" and rest[-1][1]["why"] == "completed", "the stream ends with 'end'")
    last = [e for n, e in rest if n == "frame"][-1]
    status, k = db_kpis(db, 1)
    ok(status == "completed" and k is not None and last["k"]["orders"] == k["orders"]
       and last["k"]["matched"] == k["matched"] and last["k"]["completed"] == k["completed"]
       and abs(last["k"]["income"] - k["total_driver_income"]) < 0.01,
       "the last frame's KPIs are the run's (orders %s, matched %s)"
       % (last["k"]["orders"], k and k["matched"]))
    c.close()
    a.close()

    # 2. fast mode: same results with --serve as without; no pace control
    j1 = subprocess.run([BIN] + base + ["--json", "--out", os.path.join(tmp, "f1.db")],
                        capture_output=True, text=True)
    p, port, out, err = start(base + ["--json", "--serve", "0", "--out", os.path.join(tmp, "f2.db"),
                                      "--from", "06:00", "--to", "20:00"], tmp, "f")
    try:
        st = post(port, "pause")[0] if port is not None else 0
        ok(st == 409, "a fast run takes no pause (409)")
    except OSError:
        print("note: the fast run ended before its pause could be asked")
    p.wait(timeout=300)
    j2 = subprocess.run([BIN] + base + ["--json", "--serve", "0", "--out", os.path.join(tmp, "f3.db")],
                        capture_output=True, text=True)
    # wall-clock figures (the run's and the solver's) aside
    strip = lambda s: {k: v for k, v in json.loads(s).items()
                       if k != "wall_seconds" and not k.endswith("_us")}
    ok(j1.returncode == 0 and j2.returncode == 0 and strip(j1.stdout) == strip(j2.stdout),
       "--serve changes no result (fast mode, KPIs identical)")

    # 3. the port in use: one line, exit 1, no run row
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    bport = busy.getsockname()[1]
    r = subprocess.run([BIN] + base + ["--serve", str(bport), "--out", os.path.join(tmp, "busy.db")],
                       capture_output=True, text=True)
    busy.close()
    ok(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "cannot listen" in r.stderr,
       "port in use: exit 1 with one line (%r)" % r.stderr.strip())
    ok(not os.path.exists(os.path.join(tmp, "busy.db")), "port in use: no results written")

    # 4. SIGINT while watched: interrupted, results kept, the stream told
    sdb = os.path.join(tmp, "s.db")
    p, port, out, err = start(base + ["--speed", "60", "--serve", "0", "--out", sdb], tmp, "s")
    s = Stream(port, fps=10)
    s.events(1.0)
    p.send_signal(signal.SIGINT)
    rest = s.events(30)
    rc = p.wait(timeout=60)
    status, k = db_kpis(sdb, 1)
    ok(rc == 130 and status == "interrupted", "SIGINT: exit 130, run interrupted (%d, %s)" % (rc, status))
    ok(rest and rest[-1][0] == "end" and rest[-1][1]["why"] == "interrupted", "SIGINT: the stream ends")
    s.close()

    # 5. the replay: faithful, and seeks land on the same state both ways
    p, port, out, err = start(["view", db, "--run", "1", "--serve", "0", "--paused",
                               "--exit-at-end"], tmp, "v")
    if ok(port is not None, "view serves the replay"):
        v = Stream(port, fps=60)
        v.events(0.3)
        ok(post(port, "speed 0")[0] == 200 and post(port, "resume")[0] == 200,
           "a replay runs as fast as possible when asked")
        evs = v.events(120)
        rc = p.wait(timeout=120)
        fr = [e for n, e in evs if n == "frame"]
        status, k = db_kpis(db, 1)
        ok(rc == 0 and fr and fr[-1]["k"]["orders"] == k["orders"] and fr[-1]["k"]["matched"] == k["matched"]
           and abs(fr[-1]["k"]["income"] - k["total_driver_income"]) < 0.01,
           "the replay ends with the stored run's KPIs")
        v.close()
    p, port, out, err = start(["view", db, "--serve", "0", "--paused"], tmp, "w")
    if ok(port is not None, "view --paused"):
        def seek(x):
            st = post(port, "seek %d" % x)[0]
            for _ in range(400):
                s = state(port)
                if s["mode"] != "seeking":
                    return st, s
                time.sleep(0.05)
            return st, state(port)
        w = Stream(port, fps=60)
        w.events(0.5)
        st1, s1 = seek(1800)
        k1 = [e for n, e in w.events(0.5) if n == "frame"][-1]
        st2, s2 = seek(5400)
        st3, s3 = seek(1800)
        k3 = [e for n, e in w.events(0.5) if n == "frame"][-1]
        ok(st1 == st2 == st3 == 200 and s1["t"] == s1["from"] + 1800 and s2["t"] == s2["from"] + 5400
           and s3["t"] == s3["from"] + 1800, "seek forward and back land on the asked times")
        ok(k1["t"] == k3["t"] and k1["k"] == k3["k"] and k1["n"] == k3["n"] and k1["d"] == k3["d"],
           "after a seek back the run is the same as it was there (re-run)")
        ok(post(port, "seek 999999")[0] == 400, "seek past the horizon: 400")
        w.close()
        p.send_signal(signal.SIGINT)
        ok(p.wait(timeout=30) == 0, "view ends on SIGINT")

    # 5b. a run on a road network: the scene draws each street once
    net = os.path.join(tmp, "g.json")
    subprocess.run([BIN, "network", "synth", "--grid", "20x20", "--spacing", "500", "--lat", "40",
                    "--lng", "-100", "--out", net], capture_output=True)
    g = json.load(open(net))
    streets = {tuple(sorted((l["source"], l["target"]))) for l in g["links"]}
    p, port, out, err = start(base + ["--network", net, "--speed", "60", "--serve", "0",
                                      "--out", os.path.join(tmp, "n.db")],
                              tmp, "n")
    if ok(port is not None, "a run on a road network serves its view"):
        st, _, body, _ = get(port, "/scene.json")
        roads = json.loads(body)["roads"] if st == 200 else []
        ok(len(roads) == 4 * len(streets), "the scene holds each street once (%d segments, %d streets)"
           % (len(roads) // 4, len(streets)))
        p.send_signal(signal.SIGINT)
        p.wait(timeout=60)

    # 6. kepler.gl export
    kdir = os.path.join(tmp, "kepler")
    r = subprocess.run([BIN, "export", db, "--run", "1", "--format", "kepler", "--out", kdir],
                       capture_output=True, text=True)
    m = re.search(r"(\d+) trip features \((\d+) vertices, (\d+) occupied\), (\d+) orders", r.stdout)
    ok(r.returncode == 0 and m, "export --format kepler (%s)" % r.stdout.strip())
    if m:
        trips = json.load(open(os.path.join(kdir, "trips.geojson")))
        orders = json.load(open(os.path.join(kdir, "orders.geojson")))
        feats = trips["features"]
        nv = sum(len(f["geometry"]["coordinates"]) for f in feats)
        c = sqlite3.connect(db)
        # the features cover the simulated time: the warm-up and the drain too
        t_from, t_to = c.execute("SELECT t_from - coalesce(warmup_s, 0), t_to + coalesce(drain_s, 0)"
                                 " FROM runs WHERE id = 1").fetchone()
        picked = c.execute("SELECT count(*) FROM orders WHERE run_id = 1 AND t_pickup IS NOT NULL "
                           "AND t_pickup >= 0").fetchone()[0]
        n_orders = c.execute("SELECT count(*) FROM orders WHERE run_id = 1").fetchone()[0]
        c.close()
        ok(trips["type"] == "FeatureCollection" and len(feats) == int(m.group(1)) and nv == int(m.group(2)),
           "trips.geojson: %d features, %d vertices as printed" % (len(feats), nv))
        occ = sum(1 for f in feats if f["properties"]["state"] == "occupied")
        ok(occ == picked, "one occupied trip feature per order picked up (%d = %d)" % (occ, picked))
        ok(len(orders["features"]) == n_orders, "one order point per order (%d)" % n_orders)
        offset = 0  # the synthetic city keeps UTC
        good = all(f["geometry"]["type"] == "LineString" and len(f["geometry"]["coordinates"]) >= 2
                   and all(len(v) == 4 and v[2] == 0 for v in f["geometry"]["coordinates"])
                   and all(t_from - offset <= v[3] <= t_to - offset for v in f["geometry"]["coordinates"])
                   and all(a[3] <= b[3] for a, b in zip(f["geometry"]["coordinates"],
                                                           f["geometry"]["coordinates"][1:]))
                   for f in feats)
        ok(good, "every vertex is [lng, lat, 0, t], times ordered within the horizon")
    r = subprocess.run([BIN, "export", db, "--run", "99", "--format", "kepler", "--out", kdir],
                       capture_output=True, text=True)
    ok(r.returncode == 1 and "no finished run 99" in r.stderr, "export of a missing run: exit 1")

    subprocess.run(["rm", "-rf", tmp])
    print("%d passed, %d failed" % (PASS, FAIL))
    return 0 if FAIL == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
