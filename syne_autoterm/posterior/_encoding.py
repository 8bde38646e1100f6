"""Configs <-> points of the unit cube, with Syne Tune's own encoding.

Syne Tune's BOTorch searcher feeds its GP ``hp_ranges.to_ndarray_matrix(configs)``
(log scales applied, choices one-hot, constants dropped); using the very same
``HyperparameterRanges`` object makes our posterior see what the searcher sees.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


class ConfigEncoder:
    """Encodes configs of a Syne Tune config space into ``[0, 1]^d`` and back."""

    def __init__(self, config_space: Mapping[str, Any] | None = None, hp_ranges: Any = None):
        if hp_ranges is None:
            if config_space is None:
                raise ValueError("ConfigEncoder needs a config_space or hp_ranges")
            from syne_tune.optimizer.schedulers.searchers.utils import make_hyperparameter_ranges

            hp_ranges = make_hyperparameter_ranges(dict(config_space))
        self.hp_ranges = hp_ranges
        self._snappers: list | None = None

    @property
    def n_hyperparameters(self) -> int:
        """Number of tuned hyperparameters: the paper's ``d`` in the beta schedule."""
        return len(self.hp_ranges.internal_keys)

    @property
    def n_features(self) -> int:
        return int(self.hp_ranges.ndarray_size)

    @property
    def keys(self) -> list[str]:
        return list(self.hp_ranges.internal_keys)

    def encode(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        if len(configs) == 0:
            return np.zeros((0, self.n_features))
        return np.asarray(self.hp_ranges.to_ndarray_matrix(list(configs)), dtype=float)

    def random(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        """Features of ``n`` random valid configs.

        Uniform in the encoded cube, then snapped: continuous values are then
        distributed as Syne Tune samples them (log-uniform where the encoding
        is logarithmic), integers approximately so, choices uniformly.
        """
        return self.snap(rng.uniform(size=(n, self.n_features)))

    def snap(self, features: np.ndarray) -> np.ndarray:
        """Valid encodings (rounded integers, one-hot choices) of relaxed points.

        Vectorised per hyperparameter: Syne Tune's ``from_ndarray`` +
        ``to_ndarray`` round trip is a Python loop per config and took 1.5 s of
        a 1.85 s check at 200 trials (9-D XGBoost space, 2000 candidates, see
        benchmarks/decision_cost.py); this does the same snapping in numpy.
        """
        x = np.clip(np.atleast_2d(np.asarray(features, dtype=float)), 0.0, 1.0).copy()
        if self._snappers is None:
            self._snappers = self._build_snappers()
        for (start, end), snapper in self._snappers:
            x[:, start:end] = snapper(x[:, start:end])
        return x

    def _build_snappers(self) -> list:
        snappers = []
        ranges = getattr(self.hp_ranges, "_hp_ranges", None)
        encoded = getattr(self.hp_ranges, "encoded_ranges", None)
        if ranges is None or encoded is None:  # unknown implementation: exact but slow
            return [((0, self.n_features), self._snap_by_round_trip)]
        for hp_range in ranges:
            start, end = encoded[hp_range.name]
            snappers.append(((start, end), _snapper_for(hp_range, end - start)))
        return snappers

    def _snap_by_round_trip(self, block: np.ndarray) -> np.ndarray:
        return self.encode([self.hp_ranges.from_ndarray(row) for row in block])

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_snappers"] = None  # closures are rebuilt on demand, not pickled
        return state

    def decode(self, features: np.ndarray) -> dict:
        return self.hp_ranges.from_ndarray(np.clip(np.asarray(features, dtype=float), 0.0, 1.0))


_GRID = 4097  # resolution at which the value changes of a 1-D range are located
_SNAPPER_CACHE: dict[str, Any] = {}


def _snapper_for(hp_range, width: int):
    """A vectorised ``x -> to_ndarray(from_ndarray(x))`` for one hyperparameter's block.

    Cached per range: building one costs a few thousand calls of Syne Tune's
    ``from_ndarray``, and a criterion builds its encoder at every check.
    """
    key = f"{type(hp_range).__name__}|{width}|{hp_range!r}"
    if key not in _SNAPPER_CACHE:
        _SNAPPER_CACHE[key] = _make_snapper(hp_range, width)
    return _SNAPPER_CACHE[key]


def _one_hot(block: np.ndarray) -> np.ndarray:
    out = np.zeros_like(block)
    out[np.arange(len(block)), np.argmax(block, axis=1)] = 1.0
    return out


def _identity(block: np.ndarray) -> np.ndarray:
    return block


class _StepSnapper:
    """Piecewise-constant 1-D snapping: ``from_ndarray`` is a step function of x.

    The steps are located with Syne Tune's own ``from_ndarray`` (a grid, then
    bisection at each change), so the result equals the round trip except
    exactly on a boundary.
    """

    def __init__(self, hp_range):
        def value(x: float):
            return hp_range.from_ndarray(np.array([x]))

        grid = np.linspace(0.0, 1.0, _GRID)
        values = [value(g) for g in grid]
        boundaries, segment_values = [], [values[0]]
        for i in range(len(grid) - 1):
            if values[i + 1] != values[i]:
                lo, hi = grid[i], grid[i + 1]
                for _ in range(30):
                    mid = 0.5 * (lo + hi)
                    lo, hi = (mid, hi) if value(mid) == values[i] else (lo, mid)
                boundaries.append(hi)
                segment_values.append(values[i + 1])
        self.boundaries = np.array(boundaries)
        self.levels = np.array(
            [float(np.asarray(hp_range.to_ndarray(v)).ravel()[0]) for v in segment_values]
        )

    def __call__(self, block: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.boundaries, block[:, 0], side="right")
        return self.levels[idx][:, None]


class _IntegerSnapper(_StepSnapper):
    """Integers: Syne Tune rounds in value space, so the step between v and v+1
    sits at the encoding of v + 0.5 (exact, no search needed)."""

    def __init__(self, hp_range):
        continuous = hp_range._continuous_range
        values = np.arange(hp_range.lower_bound, hp_range.upper_bound + 1)

        def encode(v: float) -> float:
            return float(np.asarray(continuous.to_ndarray(float(v))).ravel()[0])

        self.boundaries = np.array([encode(v + 0.5) for v in values[:-1]])
        self.levels = np.array([encode(v) for v in values])


_MAX_INTEGER_LEVELS = 20000


def _make_snapper(hp_range, width: int):
    if width > 1:  # one-hot choice: the largest entry wins, as in from_ndarray
        return _one_hot
    kind = type(hp_range).__name__
    if kind == "HyperparameterRangeContinuous":
        return _identity
    if kind == "HyperparameterRangeInteger" and hasattr(hp_range, "_continuous_range"):
        if hp_range.upper_bound - hp_range.lower_bound >= _MAX_INTEGER_LEVELS:
            # So many integers are continuous for the GP; snapping would only cost time.
            return _identity
        return _IntegerSnapper(hp_range)
    return _StepSnapper(hp_range)


class InferredEncoder:
    """Encoding guessed from the observed configs, for when no config space is known.

    Numbers are min-max scaled over what was observed, strings (and booleans)
    one-hot. The "domain" is then the observed bounding box: a narrower domain
    than the real one, so the regret bound can only be smaller. Pass
    ``config_space`` (or the scheduler) to avoid this fallback.

    Each hyperparameter's type is that of the majority of its values that are
    usable (finite numbers, or strings and booleans); values of the other kind,
    NaN/inf, numbers too large for a float, ``None``, containers and missing
    keys make only their own config unencodable (an all-NaN row), and the
    ranges and choices are those of the configs that fit the types: one broken
    config never changes how the other configs are encoded (they are encoded
    as if it had never been observed). A key that fewer than half of the
    configs carry usably is not a hyperparameter of this search (a junk
    column, a rarely set conditional one) and is ignored.
    """

    def __init__(self, configs: Sequence[Mapping[str, Any]]):
        keys = sorted({k for c in configs for k in c}, key=str)
        # 1. each key's type: the majority kind of its usable values
        self._required: dict[Any, str] = {}
        for k in keys:
            kinds = [_value_kind(c[k])[0] if k in c else "bad" for c in configs]
            n_num, n_cat = kinds.count("number"), kinds.count("category")
            if 2 * max(n_num, n_cat) >= len(configs):
                self._required[k] = "number" if n_num >= n_cat else "category"
        # 2. the domain: ranges and choices of the configs that fit these types
        usable = [c for c in configs if self._fits(c)]
        self._numeric: dict[Any, tuple[float, float]] = {}
        self._choices: dict[Any, list[str]] = {}
        for k, kind in self._required.items():
            values = [_value_kind(c[k])[1] for c in usable]
            if kind == "category":
                self._choices[k] = sorted(set(values))
            elif values and max(values) > min(values):
                self._numeric[k] = (min(values), max(values))
        self._keys = [k for k in keys if k in self._choices or k in self._numeric]

    def _fits(self, config: Mapping[str, Any]) -> bool:
        """Whether every hyperparameter of ``config`` has a usable value of its key's type."""
        return all(
            k in config and _value_kind(config[k])[0] == kind for k, kind in self._required.items()
        )

    @property
    def n_hyperparameters(self) -> int:
        return max(1, len(self._keys))

    @property
    def n_features(self) -> int:
        return sum(len(self._choices[k]) if k in self._choices else 1 for k in self._keys)

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def encode(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Features of ``configs``; a config with an unusable value gets an all-NaN row."""
        out = np.zeros((len(configs), self.n_features))
        for i, c in enumerate(configs):
            if not self._fits(c):
                out[i, :] = np.nan
                continue
            j = 0
            for k in self._keys:
                value = _value_kind(c[k])[1]
                if k in self._choices:
                    choices = self._choices[k]
                    if value in choices:
                        out[i, j + choices.index(value)] = 1.0
                    else:  # a value the observed configs never had
                        out[i, :] = np.nan
                        break
                    j += len(choices)
                else:
                    lo, hi = self._numeric[k]
                    out[i, j] = (value - lo) / (hi - lo)
                    j += 1
        return out

    def random(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        return self.snap(rng.uniform(size=(n, self.n_features)))

    def snap(self, features: np.ndarray) -> np.ndarray:
        x = np.clip(np.asarray(features, dtype=float), 0.0, 1.0).copy()
        j = 0
        for k in self._keys:
            if k in self._choices:
                width = len(self._choices[k])
                block = x[:, j : j + width]
                hot = np.zeros_like(block)
                hot[np.arange(len(block)), np.argmax(block, axis=1)] = 1.0
                x[:, j : j + width] = hot
                j += width
            else:
                j += 1
        return x


def _value_kind(value: Any) -> tuple[str, Any]:
    """``("number", float)``, ``("category", str)`` or ``("bad", None)``; never raises.

    Booleans and strings are categories; real numbers are numbers when they
    are finite as floats (``10**400`` overflows: bad); anything else (None,
    NaN, containers, complex, objects) is bad.
    """
    if isinstance(value, (bool, np.bool_, str)):
        return "category", str(value)
    if isinstance(value, numbers.Real):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return "bad", None
        return ("number", number) if math.isfinite(number) else ("bad", None)
    return "bad", None
