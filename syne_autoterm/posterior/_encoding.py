"""Configs <-> points of the unit cube, with Syne Tune's own encoding.

Syne Tune's BOTorch searcher feeds its GP ``hp_ranges.to_ndarray_matrix(configs)``
(log scales applied, choices one-hot, constants dropped); using the very same
``HyperparameterRanges`` object makes our posterior see what the searcher sees.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

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
        """Features of ``n`` random valid configs (Syne Tune's sampling distribution)."""
        return self.encode(self.hp_ranges.random_configs(rng, n))

    def snap(self, features: np.ndarray) -> np.ndarray:
        """Nearest valid encodings (rounded integers, one-hot choices) of relaxed points."""
        clipped = np.clip(np.asarray(features, dtype=float), 0.0, 1.0)
        return self.encode([self.hp_ranges.from_ndarray(row) for row in clipped])

    def decode(self, features: np.ndarray) -> dict:
        return self.hp_ranges.from_ndarray(np.clip(np.asarray(features, dtype=float), 0.0, 1.0))


class InferredEncoder:
    """Encoding guessed from the observed configs, for when no config space is known.

    Numbers are min-max scaled over what was observed, strings one-hot. The
    "domain" is then the observed bounding box: a narrower domain than the real
    one, so the regret bound can only be smaller. Pass ``config_space`` (or the
    scheduler) to avoid this fallback.
    """

    def __init__(self, configs: Sequence[Mapping[str, Any]]):
        keys = sorted({k for c in configs for k in c})
        self._numeric: dict[str, tuple[float, float]] = {}
        self._choices: dict[str, list[Any]] = {}
        for k in keys:
            vals = [c.get(k) for c in configs]
            try:
                nums = np.array([float(v) for v in vals], dtype=float)
                if not np.all(np.isfinite(nums)):
                    raise ValueError
                self._numeric[k] = (float(nums.min()), float(nums.max()))
            except (TypeError, ValueError):
                self._choices[k] = sorted({str(v) for v in vals})
        self._keys = [k for k in keys if k in self._choices or self._numeric[k][1] > self._numeric[k][0]]

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
        out = np.zeros((len(configs), self.n_features))
        for i, c in enumerate(configs):
            j = 0
            for k in self._keys:
                if k in self._choices:
                    choices = self._choices[k]
                    value = str(c.get(k))
                    if value in choices:
                        out[i, j + choices.index(value)] = 1.0
                    j += len(choices)
                else:
                    lo, hi = self._numeric[k]
                    try:
                        out[i, j] = (float(c.get(k)) - lo) / (hi - lo)
                    except (TypeError, ValueError):
                        out[i, j] = 0.5
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
