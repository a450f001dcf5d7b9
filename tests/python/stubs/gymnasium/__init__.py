"""A stand-in for gymnasium in the tests (gymnasium is not installed here):
just enough of its Env, registry and spaces for ridesim's environments to
build their spaces and register, with spaces that check containment the
way gymnasium documents it (Box: shape, dtype, bounds; Sequence(stack=True):
a stacked array of the feature space; Dict, Tuple, Discrete)."""
import numpy as np

from . import spaces  # noqa: F401

registry = {}


def register(id, entry_point, **kwargs):  # noqa: A002 - gymnasium's name
    registry[id] = entry_point


class Env:
    def reset(self, *, seed=None, options=None):
        self.np_random = np.random.default_rng(seed)
