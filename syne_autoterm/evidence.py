"""Completed trials turned into clean arrays: the one place where raw reports are read.

Every stopping rule of this package is a function of an :class:`Evidence`, so the
same rule object decides online (inside Syne Tune's ``Tuner``) and offline (when
a benchmark replays a stored trajectory, one prefix at a time).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

logger = logging.getLogger(__name__)

MODES = ("min", "max")

# Keys Syne Tune adds to ``TuningStatus.trial_rows`` next to the config and metrics.
_STATUS_ROW_KEYS = frozenset({"trial_id", "status", "iter", "worker-time", "worker-cost"})


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    return mode


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
        """Metric in minimisation form (negated in ``max`` mode)."""
        return self.sign * np.asarray(self.values, dtype=float)

    def head(self, n: int) -> "Evidence":
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
        """Identity of the evidence for caching: which trials, with which values."""
        return tuple(zip(self.trial_ids, np.asarray(self.values, dtype=float).tolist()))


def _to_float(value: Any) -> float:
    """A reported value as float; anything non-numeric becomes NaN (and is reported)."""
    if isinstance(value, bool):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def fold_names_from_prefix(prefix: str, keys: Iterable[str]) -> list[str]:
    """Metric names ``<prefix><int>`` among ``keys``, sorted by the integer."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)$")
    found = []
    for key in keys:
        match = pattern.match(str(key))
        if match:
            found.append((int(match.group(1)), str(key)))
    return [name for _, name in sorted(found)]


class FoldSpec:
    """Which reported metrics hold a trial's per-fold validation scores."""

    def __init__(self, fold_metrics: str | Sequence[str] | None):
        if fold_metrics is None:
            self.prefix, self.names = None, ()
        elif isinstance(fold_metrics, str):
            if not fold_metrics:
                raise ValueError("fold_metrics prefix must not be empty")
            self.prefix, self.names = fold_metrics, ()
        else:
            names = tuple(str(n) for n in fold_metrics)
            if not names:
                raise ValueError("fold_metrics list must not be empty")
            if len(set(names)) != len(names):
                raise ValueError(f"fold_metrics has duplicate names: {names}")
            self.prefix, self.names = None, names

    def metric_names(self, row: Mapping[str, Any]) -> list[str]:
        if self.prefix is not None:
            return fold_names_from_prefix(self.prefix, row.keys())
        return list(self.names)

    def read(self, row: Mapping[str, Any]) -> np.ndarray:
        """Fold scores present in ``row``; missing names are skipped, bad values are NaN."""
        names = self.metric_names(row)
        return np.array([_to_float(row[n]) for n in names if n in row], dtype=float)

    def expected_count(self) -> int | None:
        return len(self.names) if self.names else None


@dataclass
class _Completion:
    trial_id: int
    config: dict
    value: float
    folds: np.ndarray
    extras: dict[str, float]


class EvidenceCollector:
    """Builds :class:`Evidence` from Syne Tune's ``TuningStatus`` as trials complete.

    ``TuningStatus`` keeps the last report of every trial but not when each
    completed, so the collector remembers the completion order itself. Only
    trials with status ``Completed`` count; with ``resource_attr`` set (multi-
    fidelity schedulers), only trials whose last report reached ``max_resource``.
    """

    def __init__(
        self,
        metric: str,
        mode: str,
        fold_spec: FoldSpec,
        config_keys: Sequence[str] | None = None,
        extra_metrics: Sequence[str] = (),
        resource_attr: str | None = None,
        max_resource: float | None = None,
    ):
        self.metric = metric
        self.mode = check_mode(mode)
        self.fold_spec = fold_spec
        self.config_keys = list(config_keys) if config_keys is not None else None
        self.extra_metrics = list(extra_metrics)
        self.resource_attr = resource_attr
        self.max_resource = max_resource
        self._order: list[int] = []
        self._completions: dict[int, _Completion] = {}

    def _config_of(self, row: Mapping[str, Any], metric_keys: Iterable[str]) -> dict:
        if self.config_keys is not None:
            return {k: row[k] for k in self.config_keys if k in row}
        skip = _STATUS_ROW_KEYS | set(metric_keys)
        return {k: v for k, v in row.items() if k not in skip and not str(k).startswith("st_")}

    def _reached_max_resource(self, row: Mapping[str, Any]) -> bool:
        if self.resource_attr is None or self.max_resource is None:
            return True
        level = _to_float(row.get(self.resource_attr))
        return math.isfinite(level) and level >= self.max_resource

    def update(self, status: Any) -> None:
        """Record trials that completed since the last call (``status``: TuningStatus)."""
        new_ids = []
        for trial_id, row in status.trial_rows.items():
            tid = int(trial_id)
            if tid in self._completions or str(row.get("status")) != "Completed":
                continue
            if not self._reached_max_resource(row):
                continue
            new_ids.append(tid)
        for tid in sorted(new_ids):
            row = status.trial_rows[tid]
            stats = status.trial_metric_statistics.get(tid)
            metric_keys = stats.last_metrics.keys() if stats is not None else ()
            self._completions[tid] = _Completion(
                trial_id=tid,
                config=self._config_of(row, metric_keys),
                value=_to_float(row.get(self.metric)),
                folds=self.fold_spec.read(row),
                extras={m: _to_float(row.get(m)) for m in self.extra_metrics},
            )
            self._order.append(tid)

    def evidence(self) -> Evidence:
        done = [self._completions[t] for t in self._order]
        return Evidence(
            trial_ids=tuple(c.trial_id for c in done),
            configs=tuple(c.config for c in done),
            values=np.array([c.value for c in done], dtype=float),
            folds=tuple(c.folds for c in done),
            mode=self.mode,
            extras={
                m: np.array([c.extras[m] for c in done], dtype=float) for m in self.extra_metrics
            },
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
        ids.append(int(row.get(trial_id_key, i)))
        if config_keys is None:
            configs.append(dict(row.get("config", {})))
        else:
            configs.append({k: row[k] for k in config_keys if k in row})
        values.append(_to_float(row.get(metric)))
        folds.append(spec.read(row))
        for m in extra_metrics:
            extras[m].append(_to_float(row.get(m)))
    return Evidence(
        trial_ids=tuple(ids),
        configs=tuple(configs),
        values=np.array(values, dtype=float),
        folds=tuple(folds),
        mode=check_mode(mode),
        extras={m: np.array(v, dtype=float) for m, v in extras.items()},
    )
