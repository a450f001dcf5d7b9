#!/usr/bin/env python3
"""Benchmarks of the Python binding; prints the figures (no test times them).

  1. A 4-hour shared morning (2016-02-01, 3,000 drivers) driven from Python by
     the minus-distance scorer, against `ridesim run --dispatch
     batch-distance` on the same run: wall time of each and the ratio
     (target: Python <= 3x the command line).
  2. The binding's overhead per dispatch step: the same episode answered by a
     policy that does no work (every edge scores 0, one preallocated array)
     from Python (DispatchEnv.step) and from C (capi/bench_env, the same
     answers through the same library); the difference per step is what the
     binding costs (target: <= 20 us per step on one core).
  3. Dispatch steps per second from Python, and what a design that hands each
     step between two threads through queues (FleetPy's Gymnasium interface)
     pays per step at least: a queue round trip between two Python threads,
     measured here. FleetPy itself is not installed and there is no network,
     so its own rate is not measured.

Each figure is the median of --repeat runs, interleaved, on a machine that
may be shared (the spread is printed), in wall time and in CPU time (the
process's user + system time, which waiting for a core on a loaded machine
does not inflate: the better measure of "on one core" there).

    RIDESIM_LIB=build/capi/libridesim.so python3 python/bench.py [--trips DB]
"""
import argparse
import json
import os
import queue
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
if "RIDESIM_LIB" not in os.environ:
    os.environ["RIDESIM_LIB"] = os.path.join(ROOT, "build", "capi", "libridesim.so")

import ridesim  # noqa: E402

BIN = os.environ.get("RIDESIM_BIN", os.path.join(ROOT, "build", "tools", "ridesim"))
BENCH_ENV = os.environ.get("RIDESIM_BENCH_ENV", os.path.join(ROOT, "build", "capi", "bench_env"))


def morning(work):
    data = os.environ.get("RIDESIM_DATA") or os.path.join(ROOT, "..", "shared", "city_data")
    csv = os.path.join(data, "nyc-tlc-2016-02-manhattan-am", "2016-02-01.csv")
    if not os.path.exists(csv):
        sys.exit(f"bench: no trips: give --trips, or set RIDESIM_DATA ({csv} is missing)")
    db = os.path.join(work, "nyc01.db")
    subprocess.run([BIN, "import", "--format", "csv", csv, "--db", db], check=True,
                   stdout=subprocess.DEVNULL)
    return db


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cli_batch(db, work):
    out = os.path.join(work, "cli.db")
    if os.path.exists(out):
        os.remove(out)
    c = children_cpu()
    t = time.perf_counter()
    p = subprocess.run([BIN, "run", "--trips", db, "--drivers", "3000", "--dispatch",
                        "batch-distance", "--out", out, "--json"], check=True,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t
    return wall, children_cpu() - c, json.loads(p.stdout)["total_driver_income"]


def py_batch(scenario):
    c = time.process_time()
    t = time.perf_counter()
    env = ridesim.DispatchEnv(scenario)
    obs, _ = env.reset()
    t_ep = time.perf_counter()
    done, steps = False, 0
    while not done:
        obs, r, done, _, info = env.step(-obs["edge_dist"])
        steps += 1
    end = time.perf_counter()
    cpu = time.process_time() - c
    env.close()
    return end - t, cpu, end - t_ep, steps, info["kpis"]["income"]


def py_zeros(scenario):
    env = ridesim.DispatchEnv(scenario)
    zeros = np.zeros(1 << 20)
    st = env.engine.state
    c = time.process_time()
    t = time.perf_counter()
    obs, _ = env.reset()
    done, steps = False, 0
    while not done:
        obs, r, done, _, info = env.step(zeros[:st.n_edges])
        steps += 1
    wall = time.perf_counter() - t
    cpu = time.process_time() - c
    j = info["kpis"]["income"]
    env.close()
    return wall, cpu, steps, j


def c_zeros(scenario_path):
    p = subprocess.run([BENCH_ENV, scenario_path, "zeros"], check=True, capture_output=True,
                       text=True)
    r = json.loads(p.stdout)
    return r["wall_s"], r["cpu_s"], r["steps"], r["J"]


def queue_round_trip(n=20000):
    """Seconds per round trip of an observation and an action between two
    Python threads through two queues: the least a step costs in a design
    that runs the simulation in a thread of its own."""
    to_agent, to_sim = queue.Queue(), queue.Queue()

    def sim():
        for i in range(n):
            to_agent.put(i)
            to_sim.get()

    th = threading.Thread(target=sim)
    t = time.perf_counter()
    th.start()
    for _ in range(n):
        to_sim.put(to_agent.get())
    th.join()
    return (time.perf_counter() - t) / n


def med(xs):
    return statistics.median(xs), min(xs), max(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trips", help="the morning's trip store (default: import it)")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        db = a.trips or morning(work)
        scenario = {"trips": db, "drivers": 3000, "dispatch": "batch-distance"}
        path = os.path.join(work, "scenario.json")
        with open(path, "w") as f:
            json.dump(scenario, f)
        cli, py, py_ep, pz, cz = [], [], [], [], []
        cli_c, py_c, pz_c, cz_c = [], [], [], []
        for _ in range(a.repeat):
            w, c, j_cli = cli_batch(db, work)
            cli.append(w)
            cli_c.append(c)
            w, c, w_ep, steps, j_py = py_batch(scenario)
            py.append(w)
            py_c.append(c)
            py_ep.append(w_ep)
            w, c, zsteps, jz = py_zeros(scenario)
            pz.append(w)
            pz_c.append(c)
            w, c, csteps, jc = c_zeros(path)
            cz.append(w)
            cz_c.append(c)
        assert j_py == j_cli or abs(j_py - j_cli) <= 1e-9 * j_cli, (j_py, j_cli)
        assert zsteps == csteps and jz == jc, (zsteps, csteps, jz, jc)
        rt = [queue_round_trip() for _ in range(3)]

    def fig(xs):
        m, lo, hi = med(xs)
        return f"{m:7.3f} s ({lo:.3f}-{hi:.3f})"

    print(f"shared morning 2016-02-01, 08:00-12:00, 3,000 drivers; medians of {a.repeat} "
          f"(min-max); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"1. batch-distance, {steps} dispatch steps, J = {j_cli:.2f} both ways")
    print(f"   ridesim run (process):        wall {fig(cli)}, CPU {fig(cli_c)}")
    print(f"   Python, minus-distance:       wall {fig(py)}, CPU {fig(py_c)}; "
          f"episode alone {med(py_ep)[0]:.3f} s")
    print(f"   ratio Python / command line:  wall {med(py)[0] / med(cli)[0]:.2f} x, "
          f"CPU {med(py_c)[0] / med(cli_c)[0]:.2f} x  (target <= 3)")
    print(f"2. no-op policy (all scores 0), {zsteps} steps, the same J from C and Python")
    for name, wall, cpu in (("C (bench_env):", cz, cz_c), ("Python (DispatchEnv.step):", pz, pz_c)):
        print(f"   {name:<29} wall {med(wall)[0]:7.3f} s, {med(wall)[0] / zsteps * 1e6:6.1f} us/step; "
              f"CPU {med(cpu)[0]:7.3f} s, {med(cpu)[0] / zsteps * 1e6:6.1f} us/step")
    for name, p_, c_ in (("wall", pz, cz), ("CPU", pz_c, cz_c)):
        pairs = sorted((p - c) / zsteps * 1e6 for p, c in zip(p_, c_))
        print(f"   binding overhead ({name}):{' ' * (5 - len(name))}     "
              f"{(med(p_)[0] - med(c_)[0]) / zsteps * 1e6:7.1f} us/step (paired runs "
              f"{pairs[0]:.1f} to {pairs[-1]:.1f}; target <= 20)")
    print(f"3. Python dispatch steps/s (no-op policy, engine included): wall {zsteps / med(pz)[0]:,.0f}, "
          f"CPU {zsteps / med(pz_c)[0]:,.0f}")
    print(f"   a queue round trip between two Python threads: {med(rt)[0] * 1e6:.1f} us "
          f"({1 / med(rt)[0]:,.0f} round trips/s): the floor of a threads-and-queues step")
    print("   FleetPy is not installed here (no network): its own steps/s is not measured.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
