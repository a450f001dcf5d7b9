"""What the Python tests share: the package on the path, the CLI, the
shared morning imported once per process, short synthetic scenarios."""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

import ridesim  # noqa: E402

BIN = os.environ.get("RIDESIM_BIN", os.path.join(ROOT, "build", "tools", "ridesim"))

# a short synthetic morning: fast enough for many episodes
SYN = {"dispatch": "batch-distance", "from": "07:00", "to": "07:30", "drivers": 800}
SYN_FCFS = dict(SYN, dispatch="fcfs-nearest")

_tmp = None


def tmpdir():
    global _tmp
    if _tmp is None:
        _tmp = tempfile.mkdtemp(prefix="ridesim-py-")
        atexit.register(shutil.rmtree, _tmp, True)
    return _tmp


def data_dir():
    """The shared city data, or None (the test then skips, unless
    RIDESIM_REQUIRE_DATA=1, which makes that a failure)."""
    d = os.environ.get("RIDESIM_DATA") or os.environ.get("RIDESIM_DATA_DEFAULT")
    if d and os.path.isdir(d):
        return d
    if os.environ.get("RIDESIM_REQUIRE_DATA") == "1":
        raise AssertionError(f"RIDESIM_DATA ({d}) is missing but RIDESIM_REQUIRE_DATA=1")
    raise unittest.SkipTest("RIDESIM_DATA is unset: the shared morning is not here")


_morning = None


def morning_db():
    """The 2016-02-01 Manhattan morning imported into a trip store (once)."""
    global _morning
    if _morning is None:
        csv = os.path.join(data_dir(), "nyc-tlc-2016-02-manhattan-am", "2016-02-01.csv")
        db = os.path.join(tmpdir(), "nyc01.db")
        subprocess.run([BIN, "import", "--format", "csv", csv, "--db", db], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _morning = db
    return _morning


def nearest_free(obs):
    """Per row, the position of its nearest candidate not taken by an
    earlier row (fcfs-nearest's rule), -1 when none."""
    import numpy as np
    rp, ed = obs["row_ptr"], obs["edge_driver"]
    n = len(obs["row_order"])
    out = np.full(n, -1, np.int32)
    if n == 1:
        if rp[1] > 0:
            out[0] = 0
        return out
    used = set()
    for r in range(n):
        for k in range(rp[r], rp[r + 1]):
            d = int(ed[k])
            if d not in used:
                used.add(d)
                out[r] = k - rp[r]
                break
    return out
