"""Evidence collected online from Syne Tune's ``TuningStatus``, as trials complete.

Why apart: which trials count as completed (single fidelity, or ASHA's
``max_t`` in multi-fidelity), in which order, and what a row that cannot be
read becomes, are decided here, and :func:`counts_as_completed` is the
package's one definition of a completed trial, shared with the replay of a
stored experiment.
"""

from __future__ import annotations

import collections.abc as abc
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._evidence_data import Evidence, check_mode
from ._evidence_folds import FoldSpec
from ._evidence_values import to_float
from ._moved import pickled_as

# Keys Syne Tune adds to ``TuningStatus.trial_rows`` next to the config and metrics.
_STATUS_ROW_KEYS = frozenset({"trial_id", "status", "iter", "worker-time", "worker-cost"})

COMPLETED = "Completed"
STOPPED = "Stopped"
FAILED = "Failed"


@pickled_as("syne_autoterm.evidence")
@dataclass
class _Completion:
    trial_id: int
    config: dict
    value: float
    folds: np.ndarray
    extras: dict[str, float]


@pickled_as("syne_autoterm.evidence")
class EvidenceCollector:
    """Builds :class:`Evidence` from Syne Tune's ``TuningStatus`` as trials complete.

    ``TuningStatus`` keeps the last report of every trial but not when each
    completed, so the collector remembers the completion order itself.

    Which trials count:

    * single fidelity (``resource_attr``/``max_resource`` not both set): trials
      with status ``Completed``. Failed, running, paused and stopped trials
      never count (a stopped trial's last report is a partial result).
    * multi-fidelity (both set, e.g. ASHA's ``time_attr``/``max_t``): trials
      whose last report reached ``resource_attr >= max_resource`` and whose
      status is ``Completed`` *or* ``Stopped``: ASHA answers STOP to the result
      at ``max_t``, so a trial that ran to the end shows up as ``Stopped`` or
      ``Completed`` depending on timing, while a trial stopped early never
      reached ``max_resource``. Results at lower rungs are never evidence.

    A row that cannot be read never raises: its metric becomes NaN (left out by
    the rules) and the problem is queued in :attr:`problems` as
    ``(kind, message)`` for the owning rule to log once.
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
        self._seen_failed: set[int] = set()
        self._seen_short: set[int] = set()
        self.problems: list[tuple[str, str]] = []

    def __setstate__(self, state: dict) -> None:
        # collectors pickled by an older version lack the newer bookkeeping
        state.setdefault("_seen_failed", set())
        state.setdefault("_seen_short", set())
        state.setdefault("problems", [])
        self.__dict__.update(state)

    @property
    def multi_fidelity(self) -> bool:
        return self.resource_attr is not None and self.max_resource is not None

    def _problem(self, kind: str, message: str) -> None:
        self.problems.append((kind, message))

    def drain_problems(self) -> list[tuple[str, str]]:
        out, self.problems = self.problems, []
        return out

    def _config_of(self, row: Mapping[str, Any], metric_keys: Iterable[str]) -> dict:
        if self.config_keys is not None:
            return {k: row[k] for k in self.config_keys if k in row}
        skip = set(_STATUS_ROW_KEYS) | {str(k) for k in metric_keys}
        skip |= {self.metric, *self.extra_metrics, *self.fold_spec.metric_names(row)}
        if self.fold_spec.prefix is not None:
            skip.add(self.fold_spec.prefix)
        if self.resource_attr is not None:
            skip.add(self.resource_attr)
        return {k: v for k, v in row.items() if k not in skip and not str(k).startswith("st_")}

    def _max_resource(self) -> float | None:
        """``max_resource`` when multi-fidelity (both settings given), else None."""
        return self.max_resource if self.multi_fidelity else None

    def _level(self, row: Mapping[str, Any]) -> Any:
        """The resource level of a status row (None when single fidelity)."""
        return row.get(self.resource_attr) if self.resource_attr is not None else None

    def _counts(self, tid: int, row: Mapping[str, Any]) -> bool:
        status = str(row.get("status"))
        if status == FAILED:
            if tid not in self._seen_failed:
                self._seen_failed.add(tid)
                self._problem(
                    "trial-failed",
                    f"trial {tid} failed: it is not evidence (failed trials never count)",
                )
            return False
        if counts_as_completed(status, self._level(row), self._max_resource()):
            return True
        if self.multi_fidelity and status == COMPLETED and tid not in self._seen_short:
            self._seen_short.add(tid)
            self._problem(
                "below-max-resource",
                f"trial {tid} completed at {self.resource_attr}="
                f"{self._level(row)!r} < max_resource {self.max_resource}: "
                "not evidence (only results at the maximum resource count)",
            )
        return False

    def _read(self, tid: int, row: Mapping[str, Any], status: Any) -> _Completion:
        try:
            stats = getattr(status, "trial_metric_statistics", {}).get(tid)
            metric_keys = list(stats.last_metrics.keys()) if stats is not None else []
        except Exception:
            metric_keys = []
        try:
            config = self._config_of(row, metric_keys)
        except Exception:
            config = {}
        return _Completion(
            trial_id=tid,
            config=config,
            value=to_float(row.get(self.metric)),
            folds=self.fold_spec.read(row),
            extras={m: to_float(row.get(m)) for m in self.extra_metrics},
        )

    def _still_counts(self, row: Any) -> bool:
        """Whether a recorded trial's status row still makes it evidence (no side effects)."""
        if not isinstance(row, abc.Mapping):
            return False
        return counts_as_completed(row.get("status"), self._level(row), self._max_resource())

    def contradiction(self, status: Any) -> str | None:
        """Why ``status`` cannot be the job whose trials were recorded, or None.

        Within one tuning job (resumed or not) every recorded trial stays in
        ``status.trial_rows``, still completed, with the same metric value. A
        reused rule meets a status that lacks one (a new job, trial ids
        restarting), or shows it running or with another value.
        """
        if not self._order:
            return None
        rows: dict[int, Any] = {}
        for trial_id, row in list(status.trial_rows.items()):
            try:
                rows[int(trial_id)] = row
            except (TypeError, ValueError, OverflowError):
                continue
        for tid in self._order:
            row = rows.get(tid)
            if row is None:
                return f"completed trial {tid} is not in the tuning status"
            if not self._still_counts(row):
                status_text = row.get("status") if isinstance(row, abc.Mapping) else row
                return f"completed trial {tid} now has status {status_text!r}"
            old, new = self._completions[tid].value, to_float(row.get(self.metric))
            if not (old == new or (math.isnan(old) and math.isnan(new))):
                return f"completed trial {tid} reported {self.metric}={old!r}, now {new!r}"
        return None

    def update(self, status: Any) -> None:
        """Record trials that completed since the last call (``status``: TuningStatus)."""
        new_ids = []
        rows = {}
        for trial_id, row in list(status.trial_rows.items()):
            try:
                tid = int(trial_id)
            except (TypeError, ValueError, OverflowError):
                self._problem("bad-trial-id", f"ignoring a status row with trial id {trial_id!r}")
                continue
            if tid in self._completions:
                continue
            try:
                if not isinstance(row, abc.Mapping) or not self._counts(tid, row):
                    continue
            except Exception as exc:
                self._problem("bad-row", f"cannot read the status row of trial {tid} ({exc})")
                continue
            new_ids.append(tid)
            rows[tid] = row
        # trials first seen completed at the same poll: in the order their last results
        # were reported (``st_worker_timestamp``, as ``compare`` orders a stored
        # experiment's ties), then by trial id, so that online and replayed evidence are
        # the same sequence
        for tid in sorted(new_ids, key=lambda t: (_report_time(rows[t]), t)):
            self._completions[tid] = self._read(tid, rows[tid], status)
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
                m: np.array([c.extras.get(m, float("nan")) for c in done], dtype=float)
                for m in self.extra_metrics
            },
        )


def at_max_resource(level: Any, max_resource: float) -> bool:
    """Whether a reported resource level (epochs, folds, ...) is a full-fidelity result."""
    value = to_float(level)
    return math.isfinite(value) and value >= max_resource


def counts_as_completed(status: Any, level: Any = None, max_resource: float | None = None) -> bool:
    """Whether a trial is a completed trial (evidence): the package's one definition.

    Why one function: the online collector, the replay of a stored experiment
    (:func:`syne_autoterm.completed.completed_trials`) and the run summary must
    count the same trials, or the summary's trial count and the replayed
    decisions disagree with what the rule saw online.

    ``status`` is how the trial ended (Syne Tune's status: ``Completed``,
    ``Stopped``, ``Failed``, ...), ``level`` the resource attribute of its last
    report. Single fidelity (``max_resource`` None): only ``Completed`` counts;
    a stopped trial's last report is a partial result. Multi-fidelity:
    ``Completed`` or ``Stopped`` at ``level >= max_resource`` (ASHA answers STOP
    to the result at ``max_t``, so a trial that ran to the end may show either).
    The trial's last report is its result whatever its metric (a NaN metric
    still counts as a trial; the rules leave its value out).
    """
    status = str(status)
    if max_resource is None:
        return status == COMPLETED
    return status in (COMPLETED, STOPPED) and at_max_resource(level, max_resource)


def _report_time(row: Mapping[str, Any]) -> float:
    """When a trial's last result was reported (the worker's time stamp; inf when unknown)."""
    value = to_float(row.get("st_worker_timestamp"))
    return value if math.isfinite(value) else math.inf
