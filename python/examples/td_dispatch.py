#!/usr/bin/env python3
"""Learning a dispatch policy with numpy alone: a tabular value V(cell, time)
learnt by TD(0) from the environment's transitions, used as edge scores.

Each dispatch decision scores every candidate edge (order o, driver d) by the
advantage of the match under the current table,

    score = fare(o) + gamma^(T / slot) * V(dropoff cell, t + T) - V(driver's cell, t)

where T is the pickup time plus the trip's time, and ridesim's exact matcher
serves as many orders as possible and, among those matchings, takes the
largest total score. After the step, every pair that was matched updates
V(driver's cell, t) towards fare + gamma^(T / slot) V(dropoff, t + T), and
every minute each idle driver's cell moves towards its own discounted value a
minute later. With V all zeros the scores are the fares: the first episode
starts by chasing expensive trips across town. As V learns what a driver's
time is worth in each place and hour, the score charges long pickups and
trips that end where nothing happens, and J (the drivers' total income)
rises episode after episode on the same morning. For reference the script
also runs batch-distance (minus the pickup distance) on the same episode.

    python3 td_dispatch.py --trips nyc01.db          # a trip store
    python3 td_dispatch.py                           # imports the shared morning

Without --trips it imports RIDESIM_DATA's 2016-02-01 Manhattan morning
(`ridesim import --format csv`) into a temporary store, with the ridesim
binary of RIDESIM_BIN or build/tools/ridesim. The library is found through
RIDESIM_LIB (build/capi/libridesim.so) or next to the package.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
if "RIDESIM_LIB" not in os.environ and os.path.exists(
        os.path.join(ROOT, "build", "capi", "libridesim.so")):
    os.environ["RIDESIM_LIB"] = os.path.join(ROOT, "build", "capi", "libridesim.so")

import ridesim  # noqa: E402

SLOT_S = 600      # the table's time slots: 10 minutes (V1D3's)
GAMMA = 0.9       # discount per slot (V1D3's)
LR = 0.05         # TD step
IDLE_EVERY_S = 60 # idle drivers' updates: once a simulated minute


def shared_morning(workdir):
    """The shared 2016-02-01 morning imported into a trip store."""
    data = os.environ.get("RIDESIM_DATA") or os.path.join(ROOT, "..", "shared", "city_data")
    csv = os.path.join(data, "nyc-tlc-2016-02-manhattan-am", "2016-02-01.csv")
    if not os.path.exists(csv):
        sys.exit(f"td_dispatch: no trips: give --trips, or set RIDESIM_DATA ({csv} is missing)")
    binary = os.environ.get("RIDESIM_BIN", os.path.join(ROOT, "build", "tools", "ridesim"))
    db = os.path.join(workdir, "morning.db")
    subprocess.run([binary, "import", "--format", "csv", csv, "--db", db], check=True,
                   stdout=subprocess.DEVNULL)
    return db


class TDValue:
    """V(cell, slot) over the episode's horizon; row n_cells stands for
    "off the grid" (a dropoff outside it), never learnt from."""

    def __init__(self, n_cells, t_from, t_to):
        self.t0 = t_from
        self.n_slots = (t_to - t_from) // SLOT_S + 2
        self.v = np.zeros((n_cells + 1, self.n_slots))

    def slot(self, t):
        return np.clip((np.asarray(t) - self.t0) // SLOT_S, 0, self.n_slots - 1).astype(np.int64)

    def scores(self, obs):
        now, er = obs["now"], obs["edge_row"]
        T = obs["row_duration_s"][er] + obs["edge_eta"]
        v_to = self.v[obs["row_dcell"][er], self.slot(now + T)]
        v_from = self.v[obs["edge_driver_cell"], self.slot(now)]
        return obs["row_fare"][er] + GAMMA ** (T / SLOT_S) * v_to - v_from

    def learn_matches(self, now, cells, fare, dcell, T):
        s = self.slot(now)
        target = fare + GAMMA ** (T / SLOT_S) * self.v[dcell, self.slot(now + T)]
        np.add.at(self.v, (cells, s), LR * (target - self.v[cells, s]))

    def learn_idle(self, now, cells):
        s, s2 = self.slot(now), self.slot(now + IDLE_EVERY_S)
        target = GAMMA ** (IDLE_EVERY_S / SLOT_S) * self.v[cells, s2]
        np.add.at(self.v, (cells, s), LR * (target - self.v[cells, s]))


def episode(env, policy, seed, value=None):
    """One episode; with value, learns from its transitions. Returns the KPIs."""
    obs, info = env.reset(seed=seed)
    last_idle, done = obs["now"], False
    while not done:
        now = obs["now"]
        rows = np.array(obs["row_order"])       # kept past the step
        obs, reward, done, _, info = env.step(policy(obs))
        if value is None:
            continue
        orders, drivers = env.orders, env.drivers
        matched = rows[orders["t_match"][rows] == now]
        if len(matched):
            d = orders["driver"][matched]
            # the driver's cell at the match: where its pickup drive began
            # (its record moves only when the drive ends)
            value.learn_matches(now, drivers["cell"][d], orders["fare"][matched],
                                orders["dcell"][matched],
                                orders["eta_s"][matched] + orders["duration_s"][matched])
        if now - last_idle >= IDLE_EVERY_S:
            value.learn_idle(now, drivers["cell"][drivers["state"] == 1])
            last_idle = now
    return info["kpis"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trips", help="trip store (default: import the shared morning)")
    ap.add_argument("--drivers", type=int, default=1500)
    ap.add_argument("--from", dest="t_from", default="08:00")
    ap.add_argument("--to", dest="t_to", default="09:00")
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        trips = a.trips or shared_morning(work)
        env = ridesim.DispatchEnv({"trips": trips, "drivers": a.drivers, "from": a.t_from,
                                   "to": a.t_to, "dispatch": "batch-distance"})
        env.reset(seed=a.seed)
        st = env.engine.state
        value = TDValue(len(env.cells["lat"]), st.from_, st.to)
        print(f"{a.t_from}-{a.t_to}, {a.drivers} drivers, {st.n_orders} orders; "
              f"TD(0) on V(cell, 10-min slot), {a.episodes} episodes")
        print(f"{'episode':>8} {'J':>12} {'answered':>9} {'pickup m':>9} {'wall s':>7}")
        js = []
        for ep in range(a.episodes):
            t = time.perf_counter()
            k = episode(env, value.scores, a.seed, value)
            js.append(k["income"])
            print(f"{ep + 1:>8} {k['income']:>12.2f} {k['answer_rate']:>9.2%} "
                  f"{k['pickup_m_mean']:>9.1f} {time.perf_counter() - t:>7.1f}")
        k = episode(env, lambda obs: -obs["edge_dist"], a.seed)
        print(f"{'ref':>8} {k['income']:>12.2f} {k['answer_rate']:>9.2%} "
              f"{k['pickup_m_mean']:>9.1f}   (batch-distance: minus the pickup distance)")
        print(f"J from episode 1 to {a.episodes}: {js[0]:.2f} -> {js[-1]:.2f} "
              f"({(js[-1] - js[0]) / js[0]:+.1%})")
        env.close()
        return 0 if a.episodes < 2 or js[-1] > js[0] else 1


if __name__ == "__main__":
    sys.exit(main())
