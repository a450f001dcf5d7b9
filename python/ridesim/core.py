"""Engine: one ridesim environment of the C API, the layer the Gymnasium and
PettingZoo environments (envs.py) are built on, usable on its own.

    eng = Engine(scenario, control="dispatch")
    eng.reset(seed=1)
    while eng.advance() == DISPATCH:
        d = eng.decision()                 # numpy views of the decision
        eng.answer_scores(-d["edge_dist"])
    print(eng.kpis()["income"])            # J

Arrays are numpy views of the library's buffers, never copies, and read-only:
the decision's arrays (rows, edges; eligible drivers, reachable cells) hold
the current decision until the next advance; the tables (orders, drivers,
cells) stay valid for the episode. A view kept past its life reads memory
that has moved on: copy what you keep (np.array(view)).

Errors are exceptions (see _native): InvalidActionError for a refused
answer (the decision still waits), StateError for a call out of turn or on a
closed engine, ScenarioError for a scenario that cannot be run. An engine
is used by one thread at a time (a second thread gets StateError, never a
crash); different engines run in parallel, the GIL released in C.
"""

import json
import os
import struct
import threading

import numpy as np

from . import _native
from ._native import (DISPATCH, DONE, IDLE, REPOSITION, InvalidActionError, RidesimError,
                      ScenarioError, StateError)

_DECISION_NAMES = {DONE: "done", DISPATCH: "dispatch", REPOSITION: "reposition",
                   IDLE: "idle"}

# ridesim_state read in one go (Engine.snapshot): its fields in order, the
# layout the C compiler gives them (checked against cffi's when loaded)
STATE_FIELDS = ("decision", "control", "n_rows", "n_edges", "n_eligible", "n_reach",
                "n_orders", "n_drivers", "n_cells", "top_k", "max_reach", "reserved", "now",
                "from_", "to", "generation", "episode", "seed", "decisions", "completed",
                "income", "matched", "matched_fare", "last_matched", "last_fare")
_STATE = struct.Struct("@12i5qQqqdqdqd")
S_DECISION, S_N_ROWS, S_N_EDGES, S_N_ELIG, S_N_REACH = 0, 2, 3, 4, 5
S_NOW, S_GENERATION, S_DECISIONS, S_COMPLETED, S_INCOME = 12, 15, 18, 19, 20
S_MATCHED, S_LAST_MATCHED, S_LAST_FARE = 21, 23, 24


class Observation(dict):
    """A decision's arrays as a dict of read-only views, each made when first
    asked for (most policies read a few of them). It belongs to one step: once
    the engine has moved on, asking for a view not yet made raises StateError
    rather than read what the buffers hold by then."""

    __slots__ = ("_eng", "_mark", "_views", "_counts", "_keys")

    def __init__(self, eng, keys, extra):
        dict.__init__(self, extra)
        self._eng, self._mark, self._keys = eng, eng._mark, keys
        self._views, self._counts = eng._views, eng._counts_now

    def __missing__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        if self._eng._mark != self._mark:
            self._eng._check()
            raise StateError(_native.ESTATE, "this observation belongs to an earlier step: "
                             "read what you need before the next step (or copy it)")
        v = self._views[key][:self._counts[self._eng._per[key][1]]]
        dict.__setitem__(self, key, v)
        return v

    def _fill(self):
        for k in self._keys:
            if not dict.__contains__(self, k):
                self.__missing__(k)

    def __contains__(self, key):
        return dict.__contains__(self, key) or key in self._keys

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __iter__(self):
        self._fill()
        return dict.__iter__(self)

    def __len__(self):
        return len(self._keys) + sum(1 for k in dict.keys(self) if k not in self._keys)

    def keys(self):
        self._fill()
        return dict.keys(self)

    def values(self):
        self._fill()
        return dict.values(self)

    def items(self):
        self._fill()
        return dict.items(self)

    def copy(self):
        """A plain dict of copies, valid for ever."""
        return {k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in self.items()}

    def __repr__(self):
        self._fill()
        return dict.__repr__(self)

    def __reduce__(self):
        return (dict, (self.copy(),))


def scenario_json(scenario=None, **overrides):
    """The scenario as JSON text: a dict, JSON text, or the path of a JSON file
    (what `ridesim run --print-scenario` prints), with overrides on top."""
    try:
        if scenario is None:
            data = {}
        elif isinstance(scenario, dict):
            data = dict(scenario)
        elif (isinstance(scenario, (str, os.PathLike))
              and not str(scenario).lstrip().startswith("{")):
            with open(scenario, encoding="utf-8") as f:
                data = json.load(f)
        else:
            data = json.loads(scenario)
    except (OSError, ValueError) as exc:
        raise ScenarioError(_native.EFORMAT, f"scenario: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(_native.EFORMAT, "scenario: not a JSON object")
    data.update(overrides)
    return json.dumps(data)


class Engine:
    """One environment of libridesim (an episode at a time)."""

    def __init__(self, scenario=None, *, control="dispatch", like=None, maximal=None,
                 repo_radius_m=None, check=False):
        ffi, lib = _native.load()
        self._ffi, self._lib = ffi, lib
        opts = {"control": control}
        if like is not None:
            opts["like"] = like
        if maximal is not None:
            opts["maximal"] = bool(maximal)
        if repo_radius_m is not None:
            opts["repo_radius_m"] = float(repo_radius_m)
        if check:
            opts["check"] = True
        out = ffi.new("ridesim_env **")
        err = ffi.new("char[]", 1024)
        text = scenario_json(scenario)
        rc = lib.ridesim_env_new(text.encode(), json.dumps(opts).encode(), out, err, 1024)
        if rc != 0:
            raise ScenarioError(rc, ffi.string(err).decode())
        self._env = out[0]
        self._lock = threading.Lock()
        self.state = lib.ridesim_env_state(self._env)
        size = ffi.sizeof("ridesim_state")
        if _STATE.size != size or any(
                ffi.offsetof("ridesim_state", f) != struct.calcsize(_STATE.format[:k])
                for f, k in (("now", 4), ("income", 9), ("last_fare", 13))):
            raise ImportError("ridesim_state's layout is not the one this package reads")
        self._sbuf = ffi.buffer(self.state, size)
        self._mark = 0
        self._counts_now = ()
        self._arr = ffi.new("ridesim_array *")
        self._gen = None
        self._views = {}
        self._names = []
        self._per = {}
        name = ffi.new("const char **")
        typ, per = ffi.new("int32_t *"), ffi.new("int32_t *")
        for i in range(lib.ridesim_array_count()):
            lib.ridesim_array_info(i, name, typ, per)
            n = ffi.string(name[0]).decode()
            self._names.append(n)
            self._per[n] = (i, per[0], np.dtype(_native.TYPES[typ[0]]))
        self._kpi_names = [ffi.string(lib.ridesim_kpi_name(i)).decode()
                           for i in range(lib.ridesim_kpi_count())]
        self._kpi_buf = np.zeros(len(self._kpi_names))
        self._income_buf = None
        self.n_cells = self.state.n_cells
        self.top_k = self.state.top_k
        self.max_reach = self.state.max_reach

    # ------------------------------------------------------------ life

    def close(self):
        """Frees the environment; every view of it dies. Idempotent."""
        env = getattr(self, "_env", None)
        if env is None:
            return
        with self._guard():
            self._env = None
            self._mark += 1
            self._views = {}
            self._lib.ridesim_env_free(env)

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def closed(self):
        return self._env is None

    def _guard(self):
        """Holds the engine's lock for a call into the library: a second
        thread gets StateError instead of racing the first."""
        lock = self._lock

        class _Held:
            def __enter__(s):
                if not lock.acquire(blocking=False):
                    _busy()
                return s

            def __exit__(s, *exc):
                lock.release()

        return _Held()

    def _check(self):
        if self._env is None:
            raise StateError(_native.ESTATE, "the environment is closed")

    def _raise(self, rc, answer=False):
        msg = self._ffi.string(self._lib.ridesim_env_error(self._env)).decode()
        if rc == _native.ESTATE:
            raise StateError(rc, msg)
        if answer and rc in (_native.EINVAL, _native.ERANGE):
            raise InvalidActionError(rc, msg)
        raise RidesimError(rc, msg)

    def snapshot(self):
        """The state as one tuple, in STATE_FIELDS order (one read, no copy
        of anything else): cheaper than reading .state's fields one by one."""
        return _STATE.unpack_from(self._sbuf)

    def reset(self, seed=None):
        """Starts an episode: with `seed`, else the scenario's seed first and
        the previous episode's plus one after."""
        self._check()
        self._mark += 1
        with self._guard():
            if seed is None:
                rc = self._lib.ridesim_env_reset(self._env, 0, 0)
            else:
                seed = int(seed)
                if seed < 0 or seed >= 2 ** 64:
                    raise ValueError(f"seed must be in [0, 2**64), not {seed}")
                rc = self._lib.ridesim_env_reset(self._env, 1, seed)
            if rc:
                self._raise(rc)

    def advance(self):
        """Runs to the next decision: DISPATCH, REPOSITION or DONE."""
        if self._env is None:
            self._check()
        if not self._lock.acquire(blocking=False):
            _busy()
        self._mark += 1
        try:
            rc = self._lib.ridesim_env_advance(self._env)
        finally:
            self._lock.release()
        if rc < 0:
            self._raise(rc)
        return rc

    @property
    def decision(self):
        """The pending decision's kind: "dispatch", "reposition", "done" or "idle"."""
        self._check()
        return _DECISION_NAMES[self.state.decision]

    @property
    def scenario(self):
        """The current episode's effective scenario (dict)."""
        self._check()
        text = self._ffi.string(self._lib.ridesim_env_scenario(self._env)).decode()
        return json.loads(text) if text else None

    # ------------------------------------------------------------ arrays

    def _refresh(self):
        """Views of every array's readable extent, made again whenever the
        library says pointers may have moved (the generation)."""
        ffi, lib, a = self._ffi, self._lib, self._arr
        views = {}
        for name in self._names:
            i, per, dt = self._per[name]
            lib.ridesim_env_array(self._env, i, a)
            if a.data == ffi.NULL or a.cap <= 0:
                v = np.empty(0, dtype=dt)
            else:
                size = (a.cap - 1) * a.stride + dt.itemsize
                v = np.ndarray(shape=(a.cap,), dtype=dt, buffer=ffi.buffer(a.data, size),
                               strides=(a.stride,))
            v.flags.writeable = False
            views[name] = v
        self._views = views
        self._gen = self.state.generation

    def _sync(self, s=None):
        """Views current for the generation, and the counts of each PER_*
        now (index by PER_*), from a snapshot s."""
        if s is None:
            s = _STATE.unpack_from(self._sbuf)
        if self._gen != s[S_GENERATION]:
            self._refresh()
        d, nr, ne, nl, nc = s[0], s[2], s[3], s[4], s[5]
        self._counts_now = (0, nr, nr + 1 if d == DISPATCH else 0, ne, nl,
                            nl + 1 if d == REPOSITION else 0, nc, s[6], s[7], s[8])
        return s

    def observation(self, names, extra=None, s=None):
        """The arrays `names` of the current step as an Observation (views made
        when first read), with `extra` entries."""
        self._check()
        self._sync(s)
        return Observation(self, names, extra or {})

    def array(self, name):
        """One array by name (see ridesim.h's list), as a read-only view."""
        return self.arrays((name,))[name]

    def arrays(self, names):
        """Several arrays by name, as a dict of read-only views."""
        self._check()
        self._sync()
        v, per, c = self._views, self._per, self._counts_now
        try:
            return {n: v[n][:c[per[n][1]]] for n in names}
        except KeyError as exc:
            raise KeyError(f"no array {exc} (known: {', '.join(self._names)})") from None

    @property
    def array_names(self):
        return list(self._names)

    # ------------------------------------------------------------ answers

    def _call_answer(self, fn, *args):
        if self._env is None:
            self._check()
        if not self._lock.acquire(blocking=False):
            _busy()
        try:
            rc = fn(self._env, *args)
        finally:
            self._lock.release()
        if rc:
            self._raise(rc, answer=True)
        self._mark += 1

    def answer_scores(self, scores, serve_first=True):
        """One score per candidate edge, solved exactly: serving as many
        orders as possible then maximising the total score (serve_first),
        or maximising the total score alone (an edge <= 0 never taken)."""
        try:
            a = np.ascontiguousarray(scores, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidActionError(_native.EINVAL, "scores: expected numbers, one per "
                                     "candidate edge") from None
        n = self.state.n_edges
        if a.ndim != 1 or a.shape[0] != n:
            raise InvalidActionError(_native.EINVAL, f"scores: expected shape ({n},) (one per "
                                     f"candidate edge), got {a.shape}")
        self._call_answer(self._lib.ridesim_env_answer_scores,
                          self._ffi.from_buffer("double[]", a), n,
                          _native.SERVE_FIRST if serve_first else _native.MAX_WEIGHT)

    def answer_choices(self, choices):
        """Per row, the position of the chosen candidate in the row (0: the
        nearest) or -1 for none; no driver twice."""
        c = _as_int32(choices, "choices")
        n = self.state.n_rows
        if c.ndim != 1 or c.shape[0] != n:
            raise InvalidActionError(_native.EINVAL, f"choices: expected shape ({n},) (one per "
                                     f"waiting order), got {c.shape}")
        self._call_answer(self._lib.ridesim_env_answer_choices,
                          self._ffi.from_buffer("int32_t[]", c), n)

    def answer_pairs(self, orders, drivers):
        """Explicit (order, driver) index pairs, each a candidate edge."""
        o, d = _as_int32(orders, "pairs"), _as_int32(drivers, "pairs")
        if o.ndim != 1 or o.shape != d.shape:
            raise InvalidActionError(_native.EINVAL, f"pairs: orders and drivers must be two "
                                     f"1-d arrays of one length, got {o.shape} and {d.shape}")
        self._call_answer(self._lib.ridesim_env_answer_pairs,
                          self._ffi.from_buffer("int32_t[]", o),
                          self._ffi.from_buffer("int32_t[]", d), o.shape[0])

    def answer_dests(self, cells):
        """Per eligible driver, one of its reachable cells or -1 (stay)."""
        c = _as_int32(cells, "destinations")
        n = self.state.n_eligible
        if c.ndim != 1 or c.shape[0] != n:
            raise InvalidActionError(_native.EINVAL, f"destinations: expected shape ({n},) "
                                     f"(one per eligible driver), got {c.shape}")
        self._call_answer(self._lib.ridesim_env_answer_dests,
                          self._ffi.from_buffer("int32_t[]", c), n)

    # ------------------------------------------------------------ baselines

    def baseline_pairs(self, policy):
        """What built-in dispatch policy `policy` (the registry's name) answers
        to the pending decision: (orders, drivers) arrays."""
        self._check()
        cap = max(self.state.n_rows, 1)
        o, d = np.empty(cap, np.int32), np.empty(cap, np.int32)
        n = self._ffi.new("int64_t *")
        with self._guard():
            rc = self._lib.ridesim_env_baseline_pairs(
                self._env, policy.encode(), self._ffi.from_buffer("int32_t[]", o),
                self._ffi.from_buffer("int32_t[]", d), cap, n)
        if rc:
            self._raise(rc)
        return o[:n[0]].copy(), d[:n[0]].copy()

    def baseline_dests(self, policy):
        """What built-in repositioning policy `policy` answers: a cell or -1
        per eligible driver."""
        self._check()
        n = self.state.n_eligible
        c = np.empty(max(n, 1), np.int32)
        with self._guard():
            rc = self._lib.ridesim_env_baseline_dests(
                self._env, policy.encode(), self._ffi.from_buffer("int32_t[]", c), n)
        if rc:
            self._raise(rc)
        return c[:n].copy()

    # ------------------------------------------------------------ results

    def driver_income(self, out=None):
        """Every driver's income so far (a new array, or `out`)."""
        self._check()
        n = self.state.n_drivers
        if out is None:
            out = np.empty(n)
        with self._guard():
            rc = self._lib.ridesim_env_driver_income(
                self._env, self._ffi.from_buffer("double[]", out), n)
        if rc:
            self._raise(rc)
        return out

    def kpis(self):
        """The episode's KPIs (sim/kpi.h's catalogue) by field name, once done;
        "income" is J, "income_per_hour" G."""
        self._check()
        with self._guard():
            rc = self._lib.ridesim_env_kpis(
                self._env, self._ffi.from_buffer("double[]", self._kpi_buf),
                len(self._kpi_names))
        if rc:
            self._raise(rc)
        return {n: float(v) for n, v in zip(self._kpi_names, self._kpi_buf)}

    @property
    def kpi_names(self):
        return list(self._kpi_names)


def _busy():
    raise StateError(_native.ESTATE, "this environment is in use by another thread: use one "
                     "environment per thread")


def _as_int32(x, what):
    a = np.asarray(x)
    if a.dtype.kind not in "iu" and not (a.size == 0):
        if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise InvalidActionError(_native.EINVAL, f"{what}: expected integers, got "
                                     f"{a.dtype}")
    if a.size and (a.min() < -2 ** 31 or a.max() >= 2 ** 31):
        raise InvalidActionError(_native.EINVAL, f"{what}: values out of the int32 range")
    return np.ascontiguousarray(a, dtype=np.int32)


__all__ = ["Engine", "scenario_json", "DISPATCH", "REPOSITION", "DONE", "IDLE",
           "RidesimError", "InvalidActionError", "StateError", "ScenarioError"]
