"""Blackboxes whose trials report cross-validation folds, for Syne Tune's simulator.

Syne Tune's ``UserBlackboxBackend`` needs a single-fidelity blackbox; ours
have one fidelity level (``epoch`` = 1) and report ``cv_fold_<i>``, their mean
under the metric's name, and an elapsed time that the simulator adds to
``st_tuner_time``. Not imported by the core.
"""

from __future__ import annotations

import zlib
from typing import Any, Callable, Mapping

import numpy as np
from syne_tune.blackbox_repository.blackbox import Blackbox

FIDELITY = "epoch"


def _config_seed(config: Mapping[str, Any], salt: int) -> int:
    """A stable per-config seed: the same config always gets the same fold noise."""
    text = repr(sorted((k, repr(v)) for k, v in config.items()))
    return zlib.crc32(text.encode()) ^ (salt * 2654435761 % 2**32)


class FoldFunctionBlackbox(Blackbox):
    """Wraps ``fold_scores(config, rng) -> array of k fold scores`` as a blackbox.

    Reports ``cv_fold_0..k-1``, ``metric`` (their mean), optional extra
    objectives from ``extras(config) -> dict`` and ``elapsed_time``.
    """

    def __init__(
        self,
        config_space: Mapping[str, Any],
        fold_scores: Callable[[Mapping[str, Any], np.random.Generator], np.ndarray],
        n_folds: int,
        metric: str = "error",
        elapsed_time: float | Callable[[Mapping[str, Any]], float] = 60.0,
        extras: Callable[[Mapping[str, Any]], Mapping[str, float]] | None = None,
        extra_names: tuple[str, ...] = (),
        seed: int = 0,
    ):
        names = [f"cv_fold_{i}" for i in range(n_folds)] + [metric, *extra_names, "elapsed_time"]
        super().__init__(dict(config_space), {FIDELITY: [1]}, names)
        self._fold_scores = fold_scores
        self._n_folds = n_folds
        self._elapsed = elapsed_time
        self._extras = extras
        self._extra_names = tuple(extra_names)
        self._seed = seed

    @property
    def fidelity_values(self) -> np.ndarray:
        return np.array([1])

    def _objective_function(self, configuration, fidelity=None, seed=None):
        config = {k: configuration[k] for k in self.configuration_space if k in configuration}
        rng = np.random.default_rng(_config_seed(config, self._seed))
        folds = np.asarray(self._fold_scores(config, rng), dtype=float)
        if folds.shape != (self._n_folds,):
            raise ValueError(f"fold_scores returned shape {folds.shape}, expected ({self._n_folds},)")
        extra = dict(self._extras(config)) if self._extras else {}
        elapsed = self._elapsed(config) if callable(self._elapsed) else float(self._elapsed)
        row = [*folds, folds.mean(), *[extra[n] for n in self._extra_names], elapsed]
        values = np.array([row], dtype=float)
        return values if fidelity is None else dict(zip(self.objectives_names, row))
