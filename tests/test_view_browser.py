#!/usr/bin/env python3
"""The viewer's page in headless Chromium against a running run.

`ridesim run --serve 0` paces a synthetic morning; Chromium loads the page
and is driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
JSON messages ended by NUL on file descriptors 3 and 4, so no WebSocket
library is needed). The test waits for frames, then checks in the page that
the canvas holds pixels of every on-road driver colour the frame reports
(idle, occupied), that the clock advances between two looks, that the KPI
table is filled, and that pause from the page's own button holds the clock.
A screenshot is kept in $RIDESIM_VIEW_KEEP when set. Without Chromium the
test skips (77), unless RIDESIM_REQUIRE_DATA=1 (CI), where it fails.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import base64
import fcntl

BIN = os.environ.get("RIDESIM_BIN", "")
PASS = FAIL = 0
IDLE, OCCUPIED = (44, 160, 44), (31, 119, 180)  # the page's COLORS[1] and [3]


def ok(cond, what):
    global PASS, FAIL
    if cond:
        PASS += 1
        print("ok: " + what, flush=True)
    else:
        FAIL += 1
        print("FAIL: " + what, file=sys.stderr, flush=True)
    return cond


class Cdp:
    """The DevTools protocol over Chromium's debugging pipe."""

    def __init__(self, chromium, profile):
        # ends above 99, so that moving them to 3 and 4 never overwrites one
        self.cmd_r, self.cmd_w, self.resp_r, self.resp_w = (
            self._high(fd) for fd in os.pipe() + os.pipe())

        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + profile, "--remote-debugging-pipe",
                "--window-size=1300,800", "about:blank"]
        # the pipe's ends become Chromium's fds 3 (commands) and 4 (answers):
        # dup2 makes them inheritable, every other descriptor of ours is
        # close-on-exec (PEP 446), so nothing else leaks into the browser
        def fds():
            os.dup2(self.cmd_r, 3)
            os.dup2(self.resp_w, 4)

        self.p = subprocess.Popen(args, preexec_fn=fds, close_fds=False,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(self.cmd_r)
        os.close(self.resp_w)
        self.n = 0
        self.buf = b""

    @staticmethod
    def _high(fd):
        h = fcntl.fcntl(fd, fcntl.F_DUPFD, 100)
        os.close(fd)
        return h

    def call(self, method, params=None, session=None, timeout=30):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        end = time.time() + timeout
        while time.time() < end:
            while b"\0" in self.buf:
                raw, _, self.buf = self.buf.partition(b"\0")
                m = json.loads(raw)
                if m.get("id") == self.n:
                    if "error" in m:
                        raise RuntimeError("%s: %s" % (method, m["error"]))
                    return m.get("result", {})
            d = os.read(self.resp_r, 1 << 20)
            if not d:
                raise RuntimeError("chromium closed the pipe")
            self.buf += d
        raise RuntimeError(method + ": no answer")

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
        os.close(self.cmd_w)
        os.close(self.resp_r)


LOOK = """(() => {
  const c = document.getElementById('c'), g = c.getContext('2d');
  const px = g.getImageData(0, 0, c.width, c.height).data;
  let idle = 0, occ = 0;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i] === %d && px[i + 1] === %d && px[i + 2] === %d) idle++;
    if (px[i] === %d && px[i + 1] === %d && px[i + 2] === %d) occ++;
  }
  const k = document.getElementById('clock');
  return JSON.stringify({clock: k.textContent, frames: +(k.dataset.frames || 0), t: +(k.dataset.t || 0),
    idle: idle, occ: occ, mode: document.getElementById('mode').textContent,
    kpis: document.getElementById('kpis').rows.length, status: document.getElementById('status').textContent});
})()""" % (IDLE + OCCUPIED)


def look(cdp, session):
    """What the page shows now; None while it is not loaded yet."""
    r = cdp.call("Runtime.evaluate", {"expression": LOOK, "returnByValue": True}, session)
    v = r.get("result", {}).get("value")
    return json.loads(v) if isinstance(v, str) else None


def main():
    chromium = next((shutil.which(c) for c in ("chromium", "chromium-browser", "google-chrome")
                     if shutil.which(c)), None)
    if chromium is None:
        if os.environ.get("RIDESIM_REQUIRE_DATA") == "1":
            print("chromium is not installed but RIDESIM_REQUIRE_DATA=1", file=sys.stderr)
            return 1
        print("chromium is not installed: skipping", file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="ridesim-view-browser-")
    err = open(os.path.join(tmp, "run.err"), "w+")
    run = subprocess.Popen([BIN, "run", "--synthetic", "--orders", "40000", "--drivers", "800",
                            "--from", "06:00", "--to", "12:00", "--speed", "120", "--serve", "0",
                            "--out", os.path.join(tmp, "a.db")],
                           stdout=subprocess.DEVNULL, stderr=err)
    port = None
    for _ in range(400):
        err.seek(0)
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", err.read())
        if m:
            port = int(m.group(1))
            break
        time.sleep(0.05)
    if not ok(port is not None, "the run serves its view"):
        run.kill()
        return 1
    cdp = Cdp(chromium, os.path.join(tmp, "profile"))
    try:
        target = cdp.call("Target.createTarget", {"url": "http://127.0.0.1:%d/" % port})["targetId"]
        session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        a = None
        for _ in range(200):
            a = look(cdp, session) or {"frames": 0, "idle": 0, "occ": 0}
            if a["frames"] >= 10 and a["idle"] > 0 and a["occ"] > 0:
                break
            time.sleep(0.1)
        ok(a["frames"] >= 10, "the page gets frames (%d)" % a["frames"])
        ok(a["idle"] > 0 and a["occ"] > 0,
           "the canvas shows drivers in their colours (%d idle, %d occupied pixels)" % (a["idle"], a["occ"]))
        ok(a["kpis"] >= 10 and not a["status"], "the KPI table is filled, no error shown")
        time.sleep(1.5)
        b = look(cdp, session)
        ok(b["t"] > a["t"] and b["clock"] != a["clock"] and b["frames"] > a["frames"],
           "the clock advances (%s -> %s)" % (a["clock"], b["clock"]))
        rate = (b["frames"] - a["frames"]) / 1.5
        print("note: %.0f frames a second drawn by headless Chromium" % rate)
        cdp.call("Runtime.evaluate", {"expression": "document.getElementById('pause').click()"}, session)
        time.sleep(0.5)
        c = look(cdp, session)
        time.sleep(1.0)
        d = look(cdp, session)
        ok(c["t"] == d["t"] and "paused" in d["mode"], "the page's pause holds the clock (%s)" % d["clock"])
        cdp.call("Runtime.evaluate", {"expression": "document.getElementById('resume').click()"}, session)
        time.sleep(0.5)
        ok(look(cdp, session)["t"] > d["t"], "resume from the page")
        shot = cdp.call("Page.captureScreenshot", {"format": "png"}, session)
        png = base64.b64decode(shot["data"])
        ok(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000, "screenshot of %d bytes" % len(png))
        keep = os.environ.get("RIDESIM_VIEW_KEEP")
        if keep:
            open(keep, "wb").write(png)
    except Exception as e:  # noqa: BLE001 - any protocol failure fails the test
        ok(False, "driving chromium: %s" % e)
    finally:
        cdp.close()
        run.send_signal(signal.SIGINT)
        ok(run.wait(timeout=60) == 130, "the run stops on SIGINT with its results kept")
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (PASS, FAIL))
    return 0 if FAIL == 0 else 1


if __name__ == "__main__":
    if not BIN or not os.access(BIN, os.X_OK):
        print("RIDESIM_BIN is not set to the ridesim binary", file=sys.stderr)
        sys.exit(1)
    sys.exit(main())
