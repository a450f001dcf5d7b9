"""DispatchEnv (Gymnasium's Env API) and RepositionEnv (PettingZoo's parallel
API) over ridesim's engine, in process. Neither library is needed: when
gymnasium is importable the spaces are gymnasium spaces (and the package
registers "ridesim/Dispatch-v0"), otherwise they are None; RepositionEnv
follows pettingzoo.ParallelEnv's documented attributes and methods without
importing it.

DispatchEnv: one step per dispatch decision. The observation is a dict of
numpy views of the decision (valid until the next step, read-only):

    row_order, row_ptr           the waiting orders (rows) and the CSR offsets
                                 of their candidate edges
    row_wait_s, row_plat, row_plng, row_dlat, row_dlng, row_pcell, row_dcell,
    row_fare, row_trip_m, row_duration_s, row_capped      per row
    edge_row, edge_driver, edge_dist, edge_eta, edge_driver_cell   per edge
    now                          simulated time (an int, seconds)

The orders, drivers and cells of the episode are env.orders, env.drivers and
env.cells (dicts of views, indexed by the row_order and edge_driver values).

Actions: a score per candidate edge (action="scores", solved by ridesim's
exact matcher: as many orders served as possible, then the largest total
score; serve_first=False for the largest total score alone), one candidate
per row (action="choices": its position in the row, -1 for none), or
explicit pairs (action="pairs": (orders, drivers)). A dict {"scores": ...},
{"choices": ...} or {"pairs": (...)} picks the form per step. A refused
action raises InvalidActionError (a ValueError) and the decision waits for
another; nothing in the engine moved.

Reward: "completed" (default): the fares of the orders completed since the
last step, which add up to J over the episode; "matched": the fares of the
orders this step's answer matched.
"""

import numpy as np

from . import _native
from . import core
from .core import DISPATCH, DONE, REPOSITION, Engine, InvalidActionError

try:  # optional
    import gymnasium as _gym
    from gymnasium import spaces as _spaces
except ImportError:  # pragma: no cover - depends on the machine
    _gym = None
    _spaces = None

ROW_KEYS = ("row_order", "row_ptr", "row_capped", "row_wait_s", "row_plat", "row_plng",
            "row_dlat", "row_dlng", "row_pcell", "row_dcell", "row_fare", "row_trip_m",
            "row_duration_s")
EDGE_KEYS = ("edge_row", "edge_driver", "edge_dist", "edge_eta", "edge_driver_cell")
ORDER_KEYS = ("order_id", "order_t_request", "order_plat", "order_plng", "order_dlat",
              "order_dlng", "order_pcell", "order_dcell", "order_fare", "order_duration_s",
              "order_trip_m", "order_status", "order_driver", "order_t_match",
              "order_t_pickup", "order_t_dropoff", "order_t_final", "order_pickup_m",
              "order_eta_s")
DRIVER_KEYS = ("driver_lat", "driver_lng", "driver_cell", "driver_state", "driver_idle_since")
CELL_KEYS = ("cell_lat", "cell_lng")
REPO_KEYS = ("elig_driver", "elig_ptr", "elig_cell", "elig_idle_s", "reach_cell",
             "reach_dist", "reach_eta")

_REWARDS = ("completed", "matched")
_ACTIONS = ("scores", "choices", "pairs")


def _strip(prefix, views):
    return {k[len(prefix):]: v for k, v in views.items()}


class DispatchEnv((_gym.Env if _gym is not None else object)):
    """Dispatch decisions of a ridesim scenario as a Gymnasium environment."""

    metadata = {"render_modes": []}
    render_mode = None

    def __init__(self, scenario=None, *, action="scores", serve_first=True, reward="completed",
                 like=None, maximal=None, check=False):
        if action not in _ACTIONS:
            raise ValueError(f"action must be one of {_ACTIONS}, not {action!r}")
        if reward not in _REWARDS:
            raise ValueError(f"reward must be one of {_REWARDS}, not {reward!r}")
        if maximal is None and not (action == "scores" and serve_first):
            # only the serve-first solver keeps the promise by construction
            maximal = False
        self.engine = Engine(scenario, control="dispatch", like=like, maximal=maximal,
                             check=check)
        self.action_kind = action
        self.serve_first = bool(serve_first)
        self.reward_kind = reward
        self._income = 0.0
        self._keys = ROW_KEYS + EDGE_KEYS
        self.observation_space = None
        self.action_space = None
        if _spaces is not None:
            self._make_spaces()

    def _make_spaces(self):
        inf, k = np.inf, self.engine.top_k
        f64 = dict(low=-inf, high=inf, shape=(), dtype=np.float64)
        i32 = dict(low=-1, high=2 ** 31 - 1, shape=(), dtype=np.int32)
        i64 = dict(low=-(2 ** 62), high=2 ** 62, shape=(), dtype=np.int64)
        kinds = {"int32": i32, "int64": i64, "float64": f64,
                 "uint8": dict(low=0, high=1, shape=(), dtype=np.uint8)}
        space = {}
        for name in self._keys:
            dt = self.engine._per[name][2].name
            space[name] = _spaces.Sequence(_spaces.Box(**kinds[dt]), stack=True)
        space["now"] = _spaces.Box(**i64)
        self.observation_space = _spaces.Dict(space)
        if self.action_kind == "scores":
            self.action_space = _spaces.Sequence(_spaces.Box(**f64), stack=True)
        elif self.action_kind == "choices":
            self.action_space = _spaces.Sequence(
                _spaces.Box(low=-1, high=k - 1, shape=(), dtype=np.int32), stack=True)
        else:
            self.action_space = _spaces.Tuple((_spaces.Sequence(_spaces.Box(**i32), stack=True),
                                               _spaces.Sequence(_spaces.Box(**i32), stack=True)))

    # ----------------------------------------------------------- views

    def _obs(self, s):
        return self.engine.observation(self._keys, {"now": s[core.S_NOW]}, s)

    def _info(self, s):
        info = {"now": s[core.S_NOW], "decisions": s[core.S_DECISIONS],
                "income": s[core.S_INCOME], "completed": s[core.S_COMPLETED],
                "matched": s[core.S_MATCHED], "last_matched": s[core.S_LAST_MATCHED]}
        if s[core.S_DECISION] == DONE:
            info["kpis"] = self.engine.kpis()
        return info

    @property
    def orders(self):
        """The episode's orders: dict of views (order_id, fare, status ...)."""
        return _strip("order_", self.engine.arrays(ORDER_KEYS))

    @property
    def drivers(self):
        """The fleet now: dict of views (lat, lng, cell, state, idle_since)."""
        return _strip("driver_", self.engine.arrays(DRIVER_KEYS))

    @property
    def cells(self):
        """The grid's cells: dict of views (lat, lng of their centres)."""
        return _strip("cell_", self.engine.arrays(CELL_KEYS))

    # ------------------------------------------------------------- API

    def reset(self, *, seed=None, options=None):
        """Starts an episode and runs to its first decision: (obs, info).
        seed None: the scenario's seed first, then one more each episode."""
        if options:
            raise ValueError(f"reset: no options are known, got {sorted(options)}")
        if _gym is not None:
            super().reset(seed=seed)
        self.engine.reset(seed)
        self._income = 0.0
        self.engine.advance()
        s = self.engine.snapshot()
        return self._obs(s), self._info(s)

    def step(self, action):
        """Answers the pending decision and runs to the next: (obs, reward,
        terminated, truncated, info)."""
        eng = self.engine
        if eng._env is None:
            eng._check()
        st = eng.state
        if st.decision != DISPATCH:
            raise _native.StateError(_native.ESTATE, "step: the episode is done: reset first"
                                     if st.decision == DONE else "step: reset first")
        kind, value = self.action_kind, action
        if isinstance(action, dict):
            if len(action) != 1 or next(iter(action)) not in _ACTIONS:
                raise InvalidActionError(_native.EINVAL, "a dict action has one key: "
                                         "'scores', 'choices' or 'pairs'")
            (kind, value), = action.items()
        if kind == "scores":
            eng.answer_scores(value, self.serve_first)
        elif kind == "choices":
            eng.answer_choices(value)
        else:
            try:
                orders, drivers = value
            except (TypeError, ValueError):
                raise InvalidActionError(_native.EINVAL, "pairs: give (orders, drivers)") from None
            eng.answer_pairs(orders, drivers)
        eng.advance()
        s = eng.snapshot()
        if self.reward_kind == "completed":
            income = s[core.S_INCOME]
            reward = income - self._income
            self._income = income
        else:
            reward = s[core.S_LAST_FARE]
        return self._obs(s), reward, s[core.S_DECISION] == DONE, False, self._info(s)

    def baseline(self, policy):
        """What a built-in dispatch policy (registry name: "batch-distance",
        "fcfs-nearest", "v1d3" ...) answers to the pending decision, as a
        pairs action {"pairs": (orders, drivers)}."""
        return {"pairs": self.engine.baseline_pairs(policy)}

    def kpis(self):
        """The episode's KPIs once it is done ("income" is J, "income_per_hour" G)."""
        return self.engine.kpis()

    def render(self):
        return None

    def close(self):
        self.engine.close()


class RepositionEnv:
    """Repositioning rounds of a ridesim scenario with PettingZoo's parallel
    API. Agents are drivers ("driver_17"); those eligible at a round (idle for
    the scenario's repo_idle_s) act. An agent's action is the index of a cell
    in its observation's reach lists (0: its own cell, staying), or None to
    stay; its observation's action_mask marks the valid indices. Dispatch
    between rounds is the scenario's built-in policy.

    Rewards are delayed, as an agent's next decision may come long after its
    action: an agent's reward is the income it earned from its last action to
    its next observation, paid when it is observed again (or at the horizon).
    step(actions) returns observations of the next round's agents, and
    rewards, terminations, truncations and infos keyed by the same agents; at
    the horizon, by every agent with an action still unpaid, all terminated.
    Over an episode the rewards add up to the income drivers earned after
    their first repositioning decision.
    """

    metadata = {"render_modes": [], "name": "ridesim_reposition_v0", "is_parallelizable": True}
    render_mode = None

    def __init__(self, scenario=None, *, repo_radius_m=None, check=False):
        self.engine = Engine(scenario, control="reposition", repo_radius_m=repo_radius_m,
                             check=check)
        self.engine.reset(None)
        n = self.engine.state.n_drivers
        self.possible_agents = [f"driver_{d}" for d in range(n)]
        self._index = {a: d for d, a in enumerate(self.possible_agents)}
        self.agents = []
        self._first = True
        # most cells a move can reach: the k-ring of the reach radius
        self.max_reach = int(self.engine.state.max_reach)
        self._income = np.zeros(n)
        self._pending = {}  # agent -> income when it acted
        self.observation_spaces = {}
        self.action_spaces = {}
        if _spaces is not None:
            obs = _spaces.Dict({
                "cell": _spaces.Box(0, 2 ** 31 - 1, shape=(), dtype=np.int32),
                "idle_s": _spaces.Box(0, 2 ** 62, shape=(), dtype=np.int64),
                "now": _spaces.Box(-(2 ** 62), 2 ** 62, shape=(), dtype=np.int64),
                "reach_cell": _spaces.Sequence(_spaces.Box(0, 2 ** 31 - 1, shape=(), dtype=np.int32), stack=True),
                "reach_dist": _spaces.Sequence(_spaces.Box(0, np.inf, shape=(), dtype=np.float64), stack=True),
                "reach_eta": _spaces.Sequence(_spaces.Box(0, np.inf, shape=(), dtype=np.float64), stack=True),
                "action_mask": _spaces.Box(0, 1, shape=(self.max_reach,), dtype=np.int8),
            })
            act = _spaces.Discrete(self.max_reach)
            self.observation_spaces = {a: obs for a in self.possible_agents}
            self.action_spaces = {a: act for a in self.possible_agents}

    # PettingZoo's accessors
    def observation_space(self, agent):
        return self.observation_spaces.get(agent)

    def action_space(self, agent):
        return self.action_spaces.get(agent)

    @property
    def num_agents(self):
        return len(self.agents)

    @property
    def max_num_agents(self):
        return len(self.possible_agents)

    def _round(self):
        """Advances to the next round: the new agents and their observations."""
        eng = self.engine
        k = eng.advance()
        if k != REPOSITION:
            self.agents = []
            return {}
        v = eng.arrays(REPO_KEYS)
        ptr, now = v["elig_ptr"], int(eng.state.now)
        n = len(v["elig_driver"])
        counts = np.diff(ptr)
        mask = (np.arange(self.max_reach)[None, :] < counts[:, None]).astype(np.int8)
        obs = {}
        agents = []
        for i in range(n):
            a = self.possible_agents[v["elig_driver"][i]]
            lo, hi = ptr[i], ptr[i + 1]
            agents.append(a)
            obs[a] = {"cell": int(v["elig_cell"][i]), "idle_s": int(v["elig_idle_s"][i]),
                      "now": now, "reach_cell": v["reach_cell"][lo:hi],
                      "reach_dist": v["reach_dist"][lo:hi], "reach_eta": v["reach_eta"][lo:hi],
                      "action_mask": mask[i]}
        self.agents = agents
        return obs

    def reset(self, seed=None, options=None):
        if options:
            raise ValueError(f"reset: no options are known, got {sorted(options)}")
        if not self._first or seed is not None:
            self.engine.reset(seed)
        self._first = False
        self._income[:] = 0
        self._pending = {}
        obs = self._round()
        return obs, {a: {} for a in self.agents}

    def step(self, actions):
        eng = self.engine
        if eng.state.decision != REPOSITION:
            eng._check()
            raise _native.StateError(_native.ESTATE, "step: no round is pending (reset first)")
        v = eng.arrays(("elig_driver", "elig_ptr", "reach_cell"))
        ptr, cells = v["elig_ptr"], v["reach_cell"]
        unknown = set(actions) - set(self.agents)
        if unknown:
            raise InvalidActionError(_native.EINVAL, f"actions for agents not acting now: "
                                     f"{sorted(unknown)[:5]}")
        dest = np.full(len(self.agents), -1, np.int32)
        for i, a in enumerate(self.agents):
            act = actions.get(a)
            if act is None:
                continue
            n = ptr[i + 1] - ptr[i]
            if not isinstance(act, (int, np.integer)) or not 0 <= act < n:
                raise InvalidActionError(_native.EINVAL, f"{a}: action {act!r} is not one of its "
                                         f"{n} reachable cells (0 .. {n - 1}, or None)")
            dest[i] = -1 if act == 0 else cells[ptr[i] + act]
        eng.answer_dests(dest)
        inc = eng.driver_income(self._income)
        for a in self.agents:  # their windows open at their action
            self._pending[a] = inc[self._index[a]]
        obs = self._round()
        done = eng.state.decision == DONE
        inc = eng.driver_income(self._income)
        keys = list(self._pending) if done else self.agents
        rewards = {a: float(inc[self._index[a]] - self._pending.pop(a, inc[self._index[a]]))
                   for a in keys}
        terms = {a: done for a in keys}
        truncs = {a: False for a in keys}
        infos = {a: {} for a in keys}
        if done:
            kp = eng.kpis()
            for a in keys:
                infos[a] = {"kpis": kp}
        return obs, rewards, terms, truncs, infos

    def baseline(self, policy):
        """What a built-in repositioning policy answers to the pending round,
        as actions {agent: index or None}."""
        dest = self.engine.baseline_dests(policy)
        v = self.engine.arrays(("elig_ptr", "reach_cell"))
        ptr, cells = v["elig_ptr"], v["reach_cell"]
        out = {}
        for i, a in enumerate(self.agents):
            c = int(dest[i])
            idx = None
            if c >= 0:
                hits = np.nonzero(cells[ptr[i]:ptr[i + 1]] == c)[0]
                idx = int(hits[0]) if len(hits) else None
            out[a] = idx
        return out

    def state(self):
        """A global view: every driver's cell and state (2 x drivers)."""
        d = self.engine.arrays(("driver_cell", "driver_state"))
        return np.stack([d["driver_cell"], d["driver_state"]])

    def kpis(self):
        return self.engine.kpis()

    def render(self):
        return None

    def close(self):
        self.engine.close()

