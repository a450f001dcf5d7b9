"""Python policies against the command line on the shared morning
(2016-02-01, Manhattan, 08:00-12:00, 3,000 drivers): scoring every edge by
minus its pickup distance through the exact matcher gives exactly the run of
`ridesim run --dispatch batch-distance` (the same J, every order's outcome),
and taking the nearest free candidate of each order gives fcfs-nearest's
(with the seed 7 on both sides)."""
import json
import os
import sqlite3
import subprocess
import unittest

import numpy as np

from util import BIN, morning_db, nearest_free, ridesim, tmpdir

STATUS = ["waiting", "matched", "onboard", "completed", "cancelled", "expired", "open"]


def cli_run(db, policy, seed=None):
    out = os.path.join(tmpdir(), f"{policy}.db")
    if os.path.exists(out):
        os.remove(out)
    seed_args = [] if seed is None else ["--seed", str(seed)]
    # "demand" placement on both sides: the one-day store has no history, and
    # the figures below were set with the fleet on the first pickups
    p = subprocess.run([BIN, "run", "--trips", db, "--drivers", "3000", "--dispatch", policy,
                        "--placement", "demand",
                        "--out", out, "--json", *seed_args], check=True, capture_output=True,
                       text=True)
    kpis = json.loads(p.stdout)
    con = sqlite3.connect(out)
    rows = con.execute("SELECT order_id, status, t_match, t_pickup, t_dropoff, driver, "
                       "pickup_m FROM orders ORDER BY order_id").fetchall()
    income = [r[0] for r in con.execute("SELECT income FROM drivers ORDER BY driver")]
    con.close()
    return kpis, rows, np.array(income)


class MorningEquivalence(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = morning_db()

    def compare(self, env, kpis, rows, income):
        o = env.orders
        order = np.argsort(o["id"], kind="stable")
        self.assertEqual(len(order), len(rows))
        mine = list(zip(o["id"][order].tolist(), [STATUS[s] for s in o["status"][order]],
                        o["t_match"][order].tolist(), o["t_pickup"][order].tolist(),
                        o["t_dropoff"][order].tolist(),
                        [None if d < 0 else d for d in o["driver"][order].tolist()]))
        theirs = [(r[0], r[1], -1 if r[2] is None else r[2], -1 if r[3] is None else r[3],
                   -1 if r[4] is None else r[4], r[5]) for r in rows]
        diff = [i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b]
        self.assertEqual(diff[:5], [], f"{len(diff)} orders differ, first: "
                         f"{mine[diff[0]] if diff else ''} vs {theirs[diff[0]] if diff else ''}")
        pm = o["pickup_m"][order]
        theirs_pm = np.array([np.nan if r[6] is None else r[6] for r in rows])
        np.testing.assert_array_equal(pm, theirs_pm)
        # every driver's income, to the bit (the results DB stores doubles)
        np.testing.assert_array_equal(env.engine.driver_income(), income)
        # the KPIs: --json prints doubles through cJSON, which keeps 15
        # digits whenever they read back within one DBL_EPSILON: a last bit
        # may differ there
        kp = env.kpis()
        for mine, theirs in (("income", "total_driver_income"),
                             ("income_per_hour", "income_per_online_hour"),
                             ("wait_mean_s", "wait_to_match_mean_s"),
                             ("pickup_m_mean", "pickup_distance_mean_m")):
            self.assertAlmostEqual(kp[mine], kpis[theirs], delta=4e-16 * abs(kpis[theirs]))
        for k in ("completed", "matched", "cancelled", "expired", "orders"):
            self.assertEqual(kp[k], kpis[k])

    def test_minus_distance_is_batch_distance(self):
        cli = cli_run(self.db, "batch-distance")
        env = ridesim.DispatchEnv({"trips": self.db, "drivers": 3000,
                                   "dispatch": "batch-distance", "placement": "demand"})
        obs, _ = env.reset()
        done, steps = False, 0
        while not done:
            obs, r, done, _, info = env.step(-obs["edge_dist"])
            steps += 1
        self.assertGreater(steps, 5000)
        self.compare(env, *cli)
        env.close()

    def test_nearest_candidate_is_fcfs_nearest(self):
        # with a seed other than the scenario's: the fleet starts elsewhere
        cli = cli_run(self.db, "fcfs-nearest", seed=7)
        env = ridesim.DispatchEnv({"trips": self.db, "drivers": 3000,
                                   "dispatch": "fcfs-nearest", "placement": "demand"}, action="choices", maximal=True)
        obs, _ = env.reset(seed=7)
        done, steps = False, 0
        while not done:
            obs, r, done, _, info = env.step(nearest_free(obs))
            steps += 1
        self.assertGreater(steps, 40000)
        self.compare(env, *cli)
        env.close()


if __name__ == "__main__":
    unittest.main()
