"""The stand-in's spaces (see __init__.py)."""
import numpy as np


class Space:
    pass


class Box(Space):
    def __init__(self, low, high, shape=None, dtype=np.float32):
        self.low, self.high, self.shape, self.dtype = low, high, tuple(shape or ()), np.dtype(dtype)

    def contains(self, x):
        if not isinstance(x, np.ndarray):
            try:
                x = np.asarray(x, dtype=self.dtype)
            except (ValueError, TypeError):
                return False
        return bool(np.can_cast(x.dtype, self.dtype) and x.shape == self.shape
                    and np.all(x >= self.low) and np.all(x <= self.high))


class Discrete(Space):
    def __init__(self, n, start=0):
        self.n, self.start = n, start

    def contains(self, x):
        return isinstance(x, (int, np.integer)) and self.start <= x < self.start + self.n


class Sequence(Space):
    def __init__(self, space, seed=None, stack=False):
        self.feature_space, self.stack = space, stack

    def contains(self, x):
        if self.stack:
            a = np.asarray(x)
            return a.ndim == 1 and all(self.feature_space.contains(v) for v in a)
        return all(self.feature_space.contains(v) for v in x)


class Dict(Space):
    def __init__(self, spaces):
        self.spaces = dict(spaces)

    def contains(self, x):
        return (isinstance(x, dict) and set(x.keys()) == set(self.spaces)
                and all(s.contains(x[k]) for k, s in self.spaces.items()))


class Tuple(Space):
    def __init__(self, spaces):
        self.spaces = tuple(spaces)

    def contains(self, x):
        return len(x) == len(self.spaces) and all(s.contains(v) for s, v in zip(self.spaces, x))
