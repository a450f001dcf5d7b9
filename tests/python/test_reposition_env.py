"""RepositionEnv: PettingZoo's parallel API over repositioning rounds
(agents, observations, action masks, rewards per driver, termination,
seeding), bad actions, baselines."""
import unittest

import numpy as np

from util import SYN, ridesim

REPO = dict(SYN, to="08:00", drivers=1500, repo_idle_s=120)


def play(env, seed, choose, first=None):
    """An episode; first (a dict) gets each driver's income when it first acts."""
    obs, infos = env.reset(seed=seed)
    trace, total, done = [], 0.0, False
    rng = np.random.default_rng(0)
    while env.agents:
        actions = {a: choose(a, obs[a], rng) for a in env.agents}
        trace.append(sorted(env.agents))
        if first is not None:
            inc = env.engine.driver_income()
            for a in env.agents:
                first.setdefault(a, inc[int(a.split("_")[1])])
        obs, rewards, terms, truncs, infos = env.step(actions)
        self_keys = set(rewards)
        assert self_keys == set(terms) == set(truncs) == set(infos)
        total += sum(rewards.values())
        done = all(terms.values())
    return trace, total, done, infos


def farthest(agent, o, rng):
    return int(np.argmax(o["reach_dist"]))


class Parallel(unittest.TestCase):
    def setUp(self):
        self.env = ridesim.RepositionEnv(REPO)

    def tearDown(self):
        self.env.close()

    def test_api_attributes(self):
        env = self.env
        self.assertEqual(len(env.possible_agents), 1500)
        self.assertEqual(env.max_num_agents, 1500)
        self.assertEqual(env.possible_agents[7], "driver_7")
        self.assertIn("name", env.metadata)
        self.assertGreater(env.max_reach, 7)
        obs, infos = env.reset(seed=1)
        self.assertEqual(set(obs), set(env.agents))
        self.assertEqual(set(infos), set(env.agents))
        self.assertEqual(env.num_agents, len(env.agents))
        self.assertTrue(set(env.agents) <= set(env.possible_agents))
        self.assertGreater(env.num_agents, 0)
        a = env.agents[0]
        o = obs[a]
        n = len(o["reach_cell"])
        self.assertEqual(o["reach_cell"][0], o["cell"])
        self.assertEqual(o["reach_dist"][0], 0.0)
        self.assertTrue(np.all(o["reach_dist"][1:] > 0))
        self.assertEqual(o["action_mask"].shape, (env.max_reach,))
        self.assertEqual(int(o["action_mask"].sum()), n)
        self.assertTrue(np.all(o["action_mask"][:n] == 1))
        self.assertGreaterEqual(o["idle_s"], 120)
        st = env.state()
        self.assertEqual(st.shape, (2, 1500))
        d = int(a.split("_")[1])
        self.assertEqual(st[0][d], o["cell"])
        self.assertEqual(st[1][d], 1)

    def test_episode(self):
        first = {}
        trace, total, done, infos = play(self.env, 3, farthest, first)
        self.assertTrue(done)
        self.assertEqual(self.env.agents, [])
        self.assertGreater(len(trace), 20)
        kp = self.env.kpis()
        self.assertGreater(kp["income"], 0)
        self.assertGreater(kp["empty_km"], 0)
        self.assertTrue(all("kpis" in i for i in infos.values()))
        # every agent's rewards are the income it earned after its first
        # decision, all paid by the horizon
        final = self.env.engine.driver_income()
        want = sum(final[int(a.split("_")[1])] - v for a, v in first.items())
        self.assertAlmostEqual(total, want, delta=1e-6 * kp["income"])
        self.assertGreater(total, 0.3 * kp["income"])

    def test_stay_changes_nothing_but_holds(self):
        """Everybody staying gives the plain run's J (the scenario's stay)."""
        trace, total, done, _ = play(self.env, 4, lambda a, o, rng: None)
        stay = self.env.kpis()["income"]
        plain = ridesim.DispatchEnv(dict(REPO, dispatch="batch-distance"))
        obs, _ = plain.reset(seed=4)
        d = False
        while not d:
            obs, r, d, _, info = plain.step(-obs["edge_dist"])
        self.assertEqual(info["kpis"]["income"], stay)
        plain.close()

    def test_seeding(self):
        a = play(self.env, 5, farthest)[:2]
        b = play(self.env, 6, farthest)[:2]
        c = play(self.env, 5, farthest)[:2]
        self.assertEqual(a, c)
        self.assertNotEqual(a, b)

    def test_bad_actions(self):
        obs, _ = self.env.reset(seed=2)
        a = self.env.agents[0]
        n = len(obs[a]["reach_cell"])
        now = self.env.engine.state.now
        for bad in (n, -1, 2.5, "north"):
            with self.assertRaises(ridesim.InvalidActionError) as cm:
                self.env.step({a: bad})
            self.assertIn(a, str(cm.exception))
        with self.assertRaises(ridesim.InvalidActionError) as cm:
            self.env.step({"driver_99999": 0})
        self.assertIn("not acting", str(cm.exception))
        self.assertEqual(self.env.engine.state.now, now)
        self.assertEqual(self.env.engine.state.decision, ridesim.REPOSITION)
        obs, rewards, terms, truncs, infos = self.env.step({a: n - 1})
        self.assertEqual(set(rewards), set(self.env.agents))
        self.env.close()
        with self.assertRaises(ridesim.StateError):
            self.env.step({})

    def test_baselines(self):
        obs, _ = self.env.reset(seed=2)
        for _ in range(10):
            if not self.env.agents:
                break
            acts = self.env.baseline("random-walk")
            self.assertEqual(set(acts), set(self.env.agents))
            for a, i in acts.items():
                self.assertTrue(i is None or 0 <= i < len(obs[a]["reach_cell"]))
            self.assertTrue(any(i for i in acts.values()))
            stay = self.env.baseline("stay")
            self.assertTrue(all(i is None for i in stay.values()))
            with self.assertRaises(ridesim.RidesimError):
                self.env.baseline("batch-distance")
            obs, *_ = self.env.step(acts)


if __name__ == "__main__":
    unittest.main()
