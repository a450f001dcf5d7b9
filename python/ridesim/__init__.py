"""ridesim in Python: the engine in process through libridesim's C API.

    import ridesim
    env = ridesim.DispatchEnv({"trips": "morning.db", "dispatch": "batch-distance"})
    obs, info = env.reset(seed=1)
    done = False
    while not done:
        obs, reward, done, truncated, info = env.step(-obs["edge_dist"])
    print(info["kpis"]["income"])          # J

DispatchEnv follows Gymnasium's Env API, RepositionEnv PettingZoo's parallel
API; Engine (core.py) is the layer below both. The library is found through
RIDESIM_LIB or next to this package (see _native.py).
"""

from ._native import (InvalidActionError, RidesimError, ScenarioError, StateError,
                      version)
from .core import DISPATCH, DONE, IDLE, REPOSITION, Engine, scenario_json
from .envs import DispatchEnv, RepositionEnv

__all__ = ["DispatchEnv", "RepositionEnv", "Engine", "scenario_json", "version",
           "RidesimError", "InvalidActionError", "StateError", "ScenarioError",
           "DISPATCH", "REPOSITION", "DONE", "IDLE"]


def _register():
    """Registers the Gymnasium environment when gymnasium is importable."""
    try:
        import gymnasium
    except ImportError:
        return
    if "ridesim/Dispatch-v0" not in gymnasium.registry:
        gymnasium.register(id="ridesim/Dispatch-v0", entry_point="ridesim.envs:DispatchEnv")


_register()
