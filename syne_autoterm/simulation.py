"""Blackboxes whose trials report cross-validation folds, for Syne Tune's simulator.

Syne Tune's ``UserBlackboxBackend`` needs a single-fidelity blackbox; ours
have one fidelity level (``epoch`` = 1) and report ``cv_fold_<i>``, their mean
under the metric's name, and an elapsed time that the simulator adds to
``st_tuner_time``. Not imported by the core.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from typing import Any

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
            raise ValueError(
                f"fold_scores returned shape {folds.shape}, expected ({self._n_folds},)"
            )
        extra = dict(self._extras(config)) if self._extras else {}
        elapsed = self._elapsed(config) if callable(self._elapsed) else float(self._elapsed)
        row = [*folds, folds.mean(), *[extra[n] for n in self._extra_names], elapsed]
        values = np.array([row], dtype=float)
        return values if fidelity is None else dict(zip(self.objectives_names, row))


class TableBlackbox(Blackbox):
    """A table of evaluated configs as a simulator blackbox (nearest neighbour).

    BO proposes any point of the search space; the blackbox answers with the
    fold scores, test value and time of the nearest tabulated config in the
    searcher's own encoding (so log-scaled hyperparameters are compared on the
    log scale). A piecewise-constant objective, exact at the table's configs:
    with N >= 1000 configs, 200 BO iterations do not simply exhaust it.

    ``table`` columns: ``hp_<name>`` per hyperparameter (values, not logs),
    ``fold_<i>``, ``value`` (fold mean), optional ``test_value`` and
    ``elapsed_time``. Reports ``cv_fold_<i>``, ``metric``, ``test_error``,
    ``elapsed_time`` and ``config_id``.
    """

    def __init__(self, table, config_space: Mapping[str, Any], metric: str = "error"):
        from scipy.spatial import cKDTree

        from .posterior import ConfigEncoder

        table = table.dropna(subset=["value"]).reset_index(drop=True)
        if len(table) == 0:
            raise ValueError("the table has no evaluated config")
        self._fold_cols = sorted(
            (c for c in table.columns if c.startswith("fold_")), key=lambda c: int(c[5:])
        )
        hp_keys = [k for k, v in config_space.items() if hasattr(v, "sample")]
        missing = [k for k in hp_keys if f"hp_{k}" not in table]
        if missing:
            raise ValueError(f"table lacks columns for hyperparameters {missing}")
        names = [f"cv_fold_{i}" for i in range(len(self._fold_cols))]
        names += [metric, "test_error", "elapsed_time", "config_id"]
        super().__init__(dict(config_space), {FIDELITY: [1]}, names)
        self._encoder = ConfigEncoder(config_space)
        configs = [
            {
                **{k: v for k, v in config_space.items() if k not in hp_keys},
                **{k: _cast(config_space[k], row[f"hp_{k}"]) for k in hp_keys},
            }
            for _, row in table.iterrows()
        ]
        self._tree = cKDTree(self._encoder.encode(configs))
        cols = self._fold_cols + ["value"]
        self._values = np.column_stack(
            [
                table[cols].to_numpy(dtype=float),
                table["test_value"].to_numpy(dtype=float)
                if "test_value" in table
                else np.full(len(table), np.nan),
                table["elapsed_time"].to_numpy(dtype=float)
                if "elapsed_time" in table
                else np.full(len(table), 60.0),
                table["config_id"].to_numpy(dtype=float)
                if "config_id" in table
                else np.arange(len(table), dtype=float),
            ]
        )

    @property
    def fidelity_values(self) -> np.ndarray:
        return np.array([1])

    def nearest_row(self, configuration: Mapping[str, Any]) -> int:
        x = self._encoder.encode([dict(configuration)])
        return int(self._tree.query(x[0])[1])

    def _objective_function(self, configuration, fidelity=None, seed=None):
        row = self._values[self.nearest_row(configuration)]
        return row[None, :] if fidelity is None else dict(zip(self.objectives_names, row))


def _cast(domain: Any, value: Any) -> Any:
    """Table values (floats in a CSV) back to the domain's type (int, choice)."""
    value_type = getattr(domain, "value_type", None)
    if value_type is int:
        return int(round(float(value)))
    if value_type is float:
        return float(value)
    return value
