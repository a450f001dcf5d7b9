"""DispatchEnv and Engine on the synthetic city: Gymnasium's API (shapes,
dtypes, termination, seeding), the action forms, every kind of bad action
(an exception, never a crash, the decision still waiting), closed
environments, stale observations, environments interleaved and in threads."""
import json
import os
import subprocess
import sys
import threading
import unittest

import numpy as np

from util import ROOT, SYN, SYN_FCFS, nearest_free, ridesim

INT = {"row_order", "row_ptr", "row_pcell", "row_dcell", "row_duration_s", "edge_row",
       "edge_driver", "edge_driver_cell"}
FLOAT = {"row_plat", "row_plng", "row_dlat", "row_dlng", "row_fare", "row_trip_m",
         "edge_dist", "edge_eta"}


def run_episode(env, seed=None, policy=None):
    """Steps an episode with minus-distance scores (or policy(obs)); returns
    the trajectory (rows and edges per step, rewards) and the final info."""
    obs, info = env.reset(seed=seed)
    traj, done = [], False
    while not done:
        a = policy(obs) if policy else -obs["edge_dist"]
        traj.append((len(obs["row_order"]), len(obs["edge_dist"]), obs["now"]))
        obs, r, done, trunc, info = env.step(a)
        traj.append(r)
    return traj, info


def order_outcomes(env):
    o = env.orders
    return {k: np.array(o[k]) for k in ("status", "driver", "t_match", "t_dropoff")}


class Conformance(unittest.TestCase):
    def setUp(self):
        self.env = ridesim.DispatchEnv(SYN)

    def tearDown(self):
        self.env.close()

    def test_reset_shapes_and_dtypes(self):
        obs, info = self.env.reset(seed=1)
        self.assertIsInstance(obs, dict)
        self.assertIsInstance(info, dict)
        for k in ("now", "income", "completed", "matched", "decisions"):
            self.assertIn(k, info)
        n, ne = len(obs["row_order"]), len(obs["edge_dist"])
        self.assertGreater(n, 0)
        self.assertEqual(obs["row_ptr"].shape, (n + 1,))
        self.assertEqual(obs["row_ptr"][0], 0)
        self.assertEqual(obs["row_ptr"][-1], ne)
        self.assertTrue(np.all(np.diff(obs["row_ptr"]) >= 0))
        for k in ridesim.envs.ROW_KEYS:
            want = n + 1 if k == "row_ptr" else n
            self.assertEqual(obs[k].shape, (want,), k)
        for k in ridesim.envs.EDGE_KEYS:
            self.assertEqual(obs[k].shape, (ne,), k)
        for k in INT:
            self.assertEqual(obs[k].dtype, np.int32, k)
        for k in FLOAT:
            self.assertEqual(obs[k].dtype, np.float64, k)
        self.assertEqual(obs["row_wait_s"].dtype, np.int64)
        self.assertEqual(obs["row_capped"].dtype, np.uint8)
        self.assertIsInstance(obs["now"], int)
        np.testing.assert_array_equal(obs["edge_row"], np.repeat(np.arange(n), np.diff(obs["row_ptr"])))
        self.assertEqual(set(obs.keys()), set(ridesim.envs.ROW_KEYS + ridesim.envs.EDGE_KEYS) | {"now"})
        self.assertEqual(len(obs), len(list(obs)))
        # views are read-only
        with self.assertRaises(ValueError):
            obs["edge_dist"][0] = 1.0
        # the tables
        orders, drivers, cells = self.env.orders, self.env.drivers, self.env.cells
        self.assertEqual(len(drivers["lat"]), 800)
        self.assertTrue(np.all(orders["status"][obs["row_order"]] == 0))
        self.assertTrue(np.all(drivers["state"][obs["edge_driver"]] == 1))
        np.testing.assert_array_equal(drivers["cell"][obs["edge_driver"]], obs["edge_driver_cell"])
        np.testing.assert_array_equal(orders["fare"][obs["row_order"]], obs["row_fare"])
        self.assertGreater(len(cells["lat"]), 100)

    def test_episode_terminates_and_rewards_add_up_to_j(self):
        obs, info = self.env.reset(seed=2)
        total, steps, done = 0.0, 0, False
        while not done:
            obs, r, done, trunc, info = self.env.step(-obs["edge_dist"])
            self.assertIsInstance(r, float)
            self.assertFalse(trunc)
            self.assertGreaterEqual(r, 0.0)
            total += r
            steps += 1
        self.assertGreater(steps, 100)
        kp = info["kpis"]
        self.assertEqual(kp, self.env.kpis())
        self.assertAlmostEqual(total, kp["income"], delta=1e-6 * kp["income"])
        self.assertEqual(info["decisions"], steps)
        self.assertEqual(len(obs["row_order"]), 0)
        self.assertEqual(len(obs["edge_dist"]), 0)
        with self.assertRaises(ridesim.StateError):
            self.env.step(np.zeros(0))
        # a new episode after the end
        obs, info = self.env.reset(seed=2)
        self.assertGreater(len(obs["edge_dist"]), 0)

    def test_seeding_same_seed_same_trajectory(self):
        a, ia = run_episode(self.env, seed=7)
        oa = order_outcomes(self.env)
        b, ib = run_episode(self.env, seed=8)
        c, ic = run_episode(self.env, seed=7)
        self.assertEqual(a, c)
        self.assertEqual(ia["kpis"]["income"], ic["kpis"]["income"])
        for k, v in order_outcomes(self.env).items():
            np.testing.assert_array_equal(v, oa[k])
        self.assertNotEqual(a, b)
        # a second environment of the same scenario agrees
        other = ridesim.DispatchEnv(SYN)
        d, _ = run_episode(other, seed=7)
        other.close()
        self.assertEqual(a, d)

    def test_seed_none_counts_up(self):
        self.env.reset()
        self.assertEqual(self.env.engine.state.seed, 1)
        self.env.reset()
        self.assertEqual(self.env.engine.state.seed, 2)
        self.env.reset(seed=40)
        self.env.reset()
        self.assertEqual(self.env.engine.state.seed, 41)
        with self.assertRaises(ValueError):
            self.env.reset(seed=-1)
        with self.assertRaises(ValueError):
            self.env.reset(options={"speed": 2})

    def test_action_forms_and_baselines(self):
        env = ridesim.DispatchEnv(SYN, maximal=False)
        obs, _ = env.reset(seed=3)
        for step in range(60):
            # the baseline's pairs are batch-distance's: the same as minus
            # the distance through the serve-first solver
            o, d = env.baseline("batch-distance")["pairs"]
            form = step % 3
            if form == 0:
                action = {"pairs": (o, d)}
            elif form == 1:
                action = {"scores": -obs["edge_dist"]}
            else:
                # the same pairs as choices
                ch = np.full(len(obs["row_order"]), -1, np.int32)
                row_of = {int(x): i for i, x in enumerate(obs["row_order"])}
                for oi, di in zip(o, d):
                    r = row_of[int(oi)]
                    lo, hi = obs["row_ptr"][r], obs["row_ptr"][r + 1]
                    ch[r] = int(np.nonzero(obs["edge_driver"][lo:hi] == di)[0][0])
                action = {"choices": ch}
            rnd = env.baseline("random")["pairs"]
            self.assertLessEqual(len(rnd[0]), len(obs["row_order"]))
            obs, r, done, _, info = env.step(action)
            self.assertEqual(info["last_matched"], len(o))
            if form == 0 or form == 2:
                drv = env.orders["driver"]
                np.testing.assert_array_equal(drv[o], d)
            if done:
                break
        env.close()

    def test_pure_maximum_weight(self):
        env = ridesim.DispatchEnv(SYN, serve_first=False)
        obs, _ = env.reset(seed=1)
        # every score negative: nothing is taken, and that is allowed
        obs, r, done, _, info = env.step(-1.0 - obs["edge_dist"])
        self.assertEqual(info["last_matched"], 0)
        obs, r, done, _, info = env.step(5000.0 - obs["edge_dist"])
        self.assertGreater(info["last_matched"], 0)
        env.close()

    def test_reward_matched(self):
        env = ridesim.DispatchEnv(SYN, reward="matched")
        obs, _ = env.reset(seed=4)
        total, done = 0.0, False
        while not done:
            obs, r, done, _, info = env.step(-obs["edge_dist"])
            total += r
        o = env.orders
        matched = o["t_match"] >= 0
        self.assertAlmostEqual(total, float(o["fare"][matched].sum()), delta=1e-6 * total)
        env.close()


class BadActions(unittest.TestCase):
    """Every bad action raises a clear exception, moves nothing, and the
    decision still takes a good answer."""

    def setUp(self):
        self.env = ridesim.DispatchEnv(SYN, maximal=False)
        self.obs, _ = self.env.reset(seed=5)
        # a decision with several rows
        while len(self.obs["row_order"]) < 3:
            self.obs, *_ = self.env.step(-self.obs["edge_dist"])
        self.now = self.obs["now"]

    def tearDown(self):
        self.env.close()

    def refused(self, action, words, exc=ridesim.InvalidActionError):
        with self.assertRaises(exc) as cm:
            self.env.step(action)
        msg = str(cm.exception)
        for w in words:
            self.assertIn(w, msg)
        self.assertIsInstance(cm.exception, ValueError)
        st = self.env.engine.state
        self.assertEqual(st.decision, ridesim.DISPATCH)
        self.assertEqual(st.now, self.now)
        return cm.exception

    def test_scores(self):
        ne = len(self.obs["edge_dist"])
        self.refused(np.zeros(ne + 1), ["scores", f"({ne},)"])
        self.refused(np.zeros((ne, 1)), ["scores"])
        self.refused(np.zeros(0) if ne else np.zeros(1), ["scores"])
        bad = -np.array(self.obs["edge_dist"])
        bad[ne // 2] = np.nan
        e = self.refused(bad, ["NaN", f"edge {ne // 2}"])
        self.assertEqual(e.name, "RIDESIM_EINVAL")
        bad[ne // 2] = np.inf
        self.refused(bad, ["infinite"])
        self.refused(np.full(ne, 1e300), [])
        self.refused(np.array(["a"] * ne), ["numbers"])
        self.refused(None, ["scores"])
        self.refused({"scores": -self.obs["edge_dist"], "pairs": ([], [])}, ["one key"])
        self.refused({"nonsense": 1}, ["one key"])

    def test_choices(self):
        n = len(self.obs["row_order"])
        self.refused({"choices": np.zeros(n + 1, np.int32)}, ["choices", f"({n},)"])
        ch = np.full(n, -1)
        ch[1] = 99
        self.refused({"choices": ch}, ["row 1", "candidate 99"])
        ch[1] = -7
        self.refused({"choices": ch}, ["row 1"])
        ch[1] = 2 ** 40
        self.refused({"choices": ch}, ["int32"])
        self.refused({"choices": np.full(n, 0.5)}, ["integers"])
        # two rows sharing their nearest driver
        rp, ed = self.obs["row_ptr"], self.obs["edge_driver"]
        for r in range(1, n):
            for k in range(rp[r], rp[r + 1]):
                if ed[k] == ed[rp[0]] and rp[1] > rp[0]:
                    ch = np.full(n, -1)
                    ch[0], ch[r] = 0, k - rp[r]
                    self.refused({"choices": ch}, ["duplicate-driver"])
                    return

    def test_pairs(self):
        ro, ed, rp = self.obs["row_order"], self.obs["edge_driver"], self.obs["row_ptr"]
        n_orders = len(self.env.orders["fare"])
        n_drivers = len(self.env.drivers["lat"])
        d0 = int(ed[rp[0]])
        self.refused({"pairs": ([n_orders + 5], [d0])}, ["unknown-order"])
        self.refused({"pairs": ([-1], [d0])}, ["unknown-order"])
        self.refused({"pairs": ([ro[0]], [n_drivers])}, ["unknown-driver"])
        self.refused({"pairs": ([ro[0]], [-3])}, ["unknown-driver"])
        self.refused({"pairs": ([ro[0], ro[0]], [d0, d0])}, ["duplicate-order"])
        self.refused({"pairs": ([ro[0]], [d0, d0])}, ["pairs"])
        self.refused({"pairs": 5}, ["(orders, drivers)"])
        offered = set(int(x) for x in ed)
        mine = set(int(x) for x in ed[rp[0]:rp[1]])
        other = sorted(offered - mine)
        if other:
            self.refused({"pairs": ([ro[0]], [other[0]])}, ["not-offered"])

    def test_then_a_good_answer(self):
        self.test_pairs()
        obs, r, done, _, info = self.env.step(-self.obs["edge_dist"])
        self.assertGreater(info["last_matched"], 0)
        self.assertGreaterEqual(obs["now"], self.now)

    def test_maximal_promise(self):
        strict = ridesim.DispatchEnv(SYN, action="choices", maximal=True)
        obs, _ = strict.reset(seed=5)
        with self.assertRaises(ridesim.InvalidActionError) as cm:
            strict.step(np.full(len(obs["row_order"]), -1))
        self.assertIn("maximal", str(cm.exception))
        strict.step(nearest_free(obs))
        strict.close()
        # choices default to no promise: leaving everything is allowed
        loose = ridesim.DispatchEnv(SYN, action="choices")
        obs, _ = loose.reset(seed=5)
        obs, r, done, _, info = loose.step(np.full(len(obs["row_order"]), -1))
        self.assertEqual(info["last_matched"], 0)
        loose.close()

    def test_closed(self):
        self.env.close()
        self.env.close()  # twice is fine
        self.refused_closed(lambda: self.env.step(-self.obs["edge_dist"]))
        self.refused_closed(lambda: self.env.reset())
        self.refused_closed(lambda: self.env.orders)
        self.refused_closed(lambda: self.env.kpis())
        self.refused_closed(lambda: self.env.baseline("batch-distance"))
        # an observation of a closed environment does not read freed memory
        with self.assertRaises(ridesim.StateError):
            self.obs["row_trip_m"]

    def refused_closed(self, fn):
        with self.assertRaises(ridesim.StateError) as cm:
            fn()
        self.assertIn("closed", str(cm.exception))

    def test_stale_observation(self):
        old = self.obs
        self.env.step(-old["edge_dist"])
        with self.assertRaises(ridesim.StateError) as cm:
            old["row_fare"]
        self.assertIn("earlier step", str(cm.exception))
        kept = old["edge_dist"]  # made before the step: still an array
        self.assertIsInstance(kept, np.ndarray)

    def test_other_thread_in_use(self):
        lock = self.env.engine._lock
        lock.acquire()
        try:
            with self.assertRaises(ridesim.StateError) as cm:
                self.env.step(-self.obs["edge_dist"])
            self.assertIn("another thread", str(cm.exception))
        finally:
            lock.release()
        self.env.step(-self.obs["edge_dist"])

    def test_bad_scenarios(self):
        for sc, words in (({"dispatch": "nope"}, ["nope"]), ({"colour": 1}, ["colour"]),
                          ({"trips": "/nonexistent.db"}, ["/nonexistent.db"]),
                          ("{", ["scenario"])):
            with self.assertRaises(ridesim.ScenarioError) as cm:
                ridesim.DispatchEnv(sc)
            for w in words:
                self.assertIn(w, str(cm.exception))
        with self.assertRaises(ridesim.ScenarioError):
            ridesim.DispatchEnv(SYN, like="stay")
        with self.assertRaises(ValueError):
            ridesim.DispatchEnv(SYN, action="everything")
        with self.assertRaises(ValueError):
            ridesim.DispatchEnv(SYN, reward="happiness")


class Concurrency(unittest.TestCase):
    def alone(self, sc, seed, policy=None):
        env = ridesim.DispatchEnv(sc, action="choices" if policy else "scores",
                                  maximal=True if policy else None)
        traj, info = run_episode(env, seed, policy)
        out = order_outcomes(env)
        env.close()
        return traj, info["kpis"]["income"], out

    def test_interleaved_equals_sequential(self):
        ref = [self.alone(SYN, 11), self.alone(SYN_FCFS, 11, nearest_free)]
        envs = [ridesim.DispatchEnv(SYN), ridesim.DispatchEnv(SYN_FCFS, action="choices",
                                                               maximal=True)]
        pol = [lambda o: -o["edge_dist"], nearest_free]
        obs = [e.reset(seed=11)[0] for e in envs]
        done = [False, False]
        trajs = [[], []]
        infos = [None, None]
        while not all(done):
            for i, e in enumerate(envs):
                if done[i]:
                    continue
                trajs[i].append((len(obs[i]["row_order"]), len(obs[i]["edge_dist"]),
                                 obs[i]["now"]))
                obs[i], r, done[i], _, infos[i] = e.step(pol[i](obs[i]))
                trajs[i].append(r)
        for i, e in enumerate(envs):
            self.assertEqual(trajs[i], ref[i][0])
            self.assertEqual(infos[i]["kpis"]["income"], ref[i][1])
            for k, v in order_outcomes(e).items():
                np.testing.assert_array_equal(v, ref[i][2][k])
            e.close()

    def test_threads_equal_sequential(self):
        seeds = [21, 22, 23, 24]
        ref = {s: self.alone(SYN, s) for s in seeds}
        got, errors = {}, []

        def work(seed):
            try:
                got[seed] = self.alone(SYN, seed)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(s,)) for s in seeds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for s in seeds:
            self.assertEqual(got[s][0], ref[s][0])
            self.assertEqual(got[s][1], ref[s][1])


class Spaces(unittest.TestCase):
    def test_without_gymnasium(self):
        try:
            import gymnasium  # noqa: F401
            self.skipTest("gymnasium is installed here")
        except ImportError:
            pass
        env = ridesim.DispatchEnv(SYN)
        self.assertIsNone(env.observation_space)
        self.assertIsNone(env.action_space)
        env.close()

    def test_with_a_gymnasium(self):
        """With gymnasium importable (a stand-in module here, since it is not
        installed) the spaces are made and the environment registered."""
        stub = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stubs")
        code = (
            "import json, ridesim, gymnasium\n"
            "env = ridesim.DispatchEnv(json.loads(%r))\n"
            "obs, _ = env.reset(seed=1)\n"
            "assert env.observation_space.contains(obs), 'obs not in its space'\n"
            "assert env.action_space.contains(-obs['edge_dist'])\n"
            "assert 'ridesim/Dispatch-v0' in gymnasium.registry\n"
            "r = ridesim.RepositionEnv(json.loads(%r))\n"
            "o, _ = r.reset(seed=1)\n"
            "a = r.agents[0]\n"
            "assert r.observation_space(a).contains(o[a])\n"
            "assert r.action_space(a).n == r.max_reach\n"
            "print('ok')\n" % (json.dumps(SYN), json.dumps(dict(SYN, repo_idle_s=60))))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([stub, os.path.join(ROOT, "python")])
        p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ok", p.stdout)


if __name__ == "__main__":
    unittest.main()
