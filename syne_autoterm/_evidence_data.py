"""The frozen :class:`Evidence`: completed trials in completion order, and what follows from them.

Why frozen and why one class: every stopping rule of this package is a function
of an ``Evidence``, so the same rule object decides online (inside Syne Tune's
``Tuner``) and offline (a benchmark replaying a stored trajectory one prefix at
a time, :meth:`Evidence.head`). Derived quantities (the objective in
minimisation form, the incumbent, the cache key) are defined here once, so no
rule can disagree with another about them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._evidence_folds import FoldSpec
from ._evidence_values import to_float, to_float_array
from ._moved import pickled_as

MODES = ("min", "max")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    return mode


@pickled_as("syne_autoterm.evidence")
@dataclass(frozen=True)
class Evidence:
    """Completed trials in the order they completed.

    ``values`` are the tuned metric as reported (not negated); ``objective`` gives
    them in minimisation form, which is what every rule works with. ``folds``
    holds one 1-D array of per-fold validation scores per trial (possibly empty
    when the trial reported none), in the metric's own units and direction.
    ``extras`` carries optional per-trial arrays (``test_value``, ``elapsed``,
    logged ``ei``/``pi`` ...) that some rules or reports use.
    """

    trial_ids: tuple[int, ...]
    configs: tuple[dict, ...]
    values: np.ndarray
    folds: tuple[np.ndarray, ...]
    mode: str = "min"
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_mode(self.mode)
        n = len(self.trial_ids)
        if not (len(self.configs) == len(self.values) == len(self.folds) == n):
            raise ValueError(
                "Evidence fields must have one entry per trial: "
                f"{n} ids, {len(self.configs)} configs, {len(self.values)} values, "
                f"{len(self.folds)} fold arrays"
            )
        for name, arr in self.extras.items():
            if len(arr) != n:
                raise ValueError(f"extra {name!r} has {len(arr)} entries for {n} trials")

    def __len__(self) -> int:
        return len(self.trial_ids)

    @property
    def sign(self) -> float:
        return 1.0 if self.mode == "min" else -1.0

    @property
    def objective(self) -> np.ndarray:
        """Metric in minimisation form (negated in ``max`` mode); non-numeric entries are NaN."""
        return self.sign * to_float_array(self.values)

    def head(self, n: int) -> Evidence:
        """The first ``n`` completed trials: what a rule saw after ``n`` evaluations."""
        return Evidence(
            trial_ids=self.trial_ids[:n],
            configs=self.configs[:n],
            values=self.values[:n],
            folds=self.folds[:n],
            mode=self.mode,
            extras={k: v[:n] for k, v in self.extras.items()},
        )

    def incumbent_index(self) -> int | None:
        """Position of the best finite objective (first one on ties), None if none."""
        obj = self.objective
        finite = np.isfinite(obj)
        if not finite.any():
            return None
        masked = np.where(finite, obj, np.inf)
        return int(np.argmin(masked))

    def best_so_far(self) -> np.ndarray:
        """Running minimum of the objective (inf before the first finite value)."""
        obj = np.where(np.isfinite(self.objective), self.objective, np.inf)
        return np.minimum.accumulate(obj) if len(obj) else obj

    def key(self) -> tuple:
        """Identity of the evidence for caching: which trials, with which values.

        Equal evidence gives equal keys: a non-finite value (NaN, inf, and every
        non-numeric or missing one, which reads as NaN) is keyed by its ``repr``,
        since ``nan != nan`` would make the key unequal to itself and every
        call would re-run the whole check.
        """
        return tuple(
            (tid, v if math.isfinite(v) else repr(v))
            for tid, v in zip(self.trial_ids, to_float_array(self.values).tolist())
        )


def evidence_from_records(
    records: Sequence[Mapping[str, Any]],
    metric: str,
    mode: str = "min",
    fold_metrics: str | Sequence[str] | None = "cv_fold_",
    config_keys: Sequence[str] | None = None,
    extra_metrics: Sequence[str] = (),
    trial_id_key: str = "trial_id",
) -> Evidence:
    """Evidence from rows already in completion order (a stored experiment, a table).

    ``config_keys`` name the hyperparameters in each row; when None, a row's
    ``config`` entry (a dict) is used.
    """
    spec = FoldSpec(fold_metrics)
    ids, configs, values, folds = [], [], [], []
    extras: dict[str, list[float]] = {m: [] for m in extra_metrics}
    for i, row in enumerate(records):
        try:
            ids.append(int(row.get(trial_id_key, i)))
        except (TypeError, ValueError, OverflowError):
            ids.append(i)
        if config_keys is None:
            configs.append(dict(row.get("config", {})))
        else:
            configs.append({k: row[k] for k in config_keys if k in row})
        values.append(to_float(row.get(metric)))
        folds.append(spec.read(row))
        for m in extra_metrics:
            extras[m].append(to_float(row.get(m)))
    return Evidence(
        trial_ids=tuple(ids),
        configs=tuple(configs),
        values=np.array(values, dtype=float),
        folds=tuple(folds),
        mode=check_mode(mode),
        extras={m: np.array(v, dtype=float) for m, v in extras.items()},
    )
