"""Completed trials turned into clean arrays: the one place where raw reports are read.

Every stopping rule of this package is a function of an :class:`Evidence`, so the
same rule object decides online (inside Syne Tune's ``Tuner``) and offline (when
a benchmark replays a stored trajectory, one prefix at a time).
"""

from __future__ import annotations

import collections.abc as abc
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


def _to_float(value: Any) -> float:
    """A reported value as float; anything non-numeric becomes NaN (and is reported).

    Numbers, numpy scalars and numeric strings convert; booleans, containers,
    ``None``, complex numbers and values too large for a float become NaN.
    Never raises.
    """
    if isinstance(value, (bool, np.bool_)) or value is None:
        return float("nan")
    if isinstance(value, (np.ndarray, list, tuple, dict, set)):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return float("nan")
    except Exception:  # an exotic object whose __float__ misbehaves
        return float("nan")


def to_float_array(values: Any) -> np.ndarray:
    """1-D float array of ``values`` with every non-numeric entry as NaN; never raises.

    numpy arrays of a numeric dtype are taken as they are (flattened); anything
    else (lists, object arrays, booleans, None, strings, ragged nesting) is
    converted entry by entry with the rules of :func:`_to_float` (numpy would
    silently turn ``[0.1, True]`` into ``[0.1, 1.0]``).
    """
    if isinstance(values, (np.ndarray, np.generic)) and values.dtype.kind in "fiu":
        return np.asarray(values, dtype=float).reshape(-1)
    if isinstance(values, (str, bytes)) or not isinstance(values, abc.Iterable):
        return np.array([_to_float(values)], dtype=float)
    try:
        items = list(values)
    except Exception:
        return np.array([float("nan")])
    return np.array([_to_float(v) for v in items], dtype=float).reshape(-1)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


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

    prefix: str | None
    names: tuple[str, ...]

    def __init__(self, fold_metrics: str | Sequence[str] | None):
        if fold_metrics is None:
            self.prefix, self.names = None, ()
        elif isinstance(fold_metrics, str):
            if not fold_metrics:
                raise ValueError("fold_metrics prefix must not be empty")
            self.prefix, self.names = fold_metrics, ()
        else:
            if isinstance(fold_metrics, (bytes, abc.Mapping)) or not isinstance(
                fold_metrics, abc.Iterable
            ):
                raise ValueError(
                    "fold_metrics must be a prefix string, a list of metric names or None, "
                    f"got {fold_metrics!r}"
                )
            names = tuple(str(n) for n in fold_metrics)
            if not names:
                raise ValueError("fold_metrics list must not be empty")
            if len(set(names)) != len(names):
                raise ValueError(f"fold_metrics has duplicate names: {names}")
            self.prefix, self.names = None, names

    def __repr__(self) -> str:  # equal specs print equal (compare groups rules by it)
        return f"FoldSpec(prefix={self.prefix!r}, names={self.names!r})"

    def metric_names(self, row: Mapping[str, Any]) -> list[str]:
        if self.prefix is not None:
            return fold_names_from_prefix(self.prefix, row.keys())
        return list(self.names)

    def read(self, row: Mapping[str, Any]) -> np.ndarray:
        """Fold scores present in ``row``; missing names are skipped, bad values are NaN.

        With a prefix, a single metric named exactly like the prefix whose value
        is a list (e.g. ``fold_metrics="val_losses"`` and a report
        ``val_losses=[0.1, 0.0, ...]``) is read as the scores when no
        ``<prefix><i>`` metrics are present. Never raises.
        """
        try:
            names = self.metric_names(row)
            if not names and self.prefix is not None and _is_sequence(row.get(self.prefix)):
                return to_float_array(row[self.prefix]) if len(row[self.prefix]) else np.zeros(0)
            return np.array([_to_float(row[n]) for n in names if n in row], dtype=float)
        except Exception:
            return np.zeros(0)

    def expected_count(self) -> int | None:
        return len(self.names) if self.names else None


@dataclass(frozen=True)
class FoldAudit:
    """Which trials' per-fold (or per-example) scores can support an error estimate.

    ``expected`` is the count every trial should report: the length of an
    explicit ``fold_metrics`` list, otherwise the most common count among the
    trials that reported any (ties: the larger count). A trial is usable iff it
    reported exactly ``expected`` scores, ``expected >= min_count``, and all of
    them are finite numbers. ``kinds[i]``/``problems[i]`` say why trial ``i``
    is not usable (None when it is).
    """

    expected: int | None
    counts: tuple[int, ...]
    kinds: tuple[str | None, ...]
    problems: tuple[str | None, ...]

    def usable(self, index: int) -> bool:
        return self.kinds[index] is None


def fold_array(scores: Any) -> np.ndarray:
    """One trial's fold scores as a 1-D float array (non-numeric entries NaN); never raises."""
    if scores is None:
        return np.zeros(0)
    return to_float_array(scores)


def audit_folds(folds: Sequence[Any], expected: int | None = None, min_count: int = 2) -> FoldAudit:
    """Check every trial's fold scores against the common count (see :class:`FoldAudit`)."""
    arrays = [fold_array(f) for f in folds]
    counts = tuple(int(a.size) for a in arrays)
    if expected is None:
        tally = Counter(c for c in counts if c > 0)
        expected = max(tally.items(), key=lambda kv: (kv[1], kv[0]))[0] if tally else None
    kinds: list[str | None] = []
    problems: list[str | None] = []
    for a, c in zip(arrays, counts):
        if c == 0:
            kinds.append("folds-missing")
            problems.append("reported no fold scores")
        elif expected is not None and c < expected:
            kinds.append("folds-count")
            problems.append(f"reported {c} of {expected} folds")
        elif expected is not None and c > expected:
            kinds.append("folds-count")
            problems.append(f"reported {c} folds where the other trials report {expected}")
        elif not np.all(np.isfinite(a)):
            bad = int(np.sum(~np.isfinite(a)))
            kinds.append("folds-nonfinite")
            problems.append(f"has {bad} of {c} fold scores NaN, inf or non-numeric")
        elif c < min_count:
            kinds.append("folds-too-few")
            problems.append(f"reported {c} fold score(s), at least {min_count} are needed")
        else:
            kinds.append(None)
            problems.append(None)
    return FoldAudit(expected, counts, tuple(kinds), tuple(problems))


#: A trial's fold mean may differ from its reported metric by this fraction of
#: their size (a rounded metric, one averaged in another order), plus 1e-9 of
#: the largest magnitude (floating-point noise).
FOLD_METRIC_RTOL = 0.05


def fold_metric_mismatch(value: float, scores: np.ndarray) -> str | None:
    """Why ``scores`` (one trial's finite fold scores) contradict its metric ``value``, or None.

    The folds are in the metric's units and direction and the metric is their
    mean (see :class:`Evidence`), so a fold mean far from the metric means
    that the folds or the metric are wrong: one fold of 1e3, folds in percent
    while the metric is a fraction, folds of the opposite sign. The tolerance
    is ``FOLD_METRIC_RTOL * max(|value|, |mean|) + 1e-9 * max(|value|, max
    |scores|)``. It deliberately has no term in the folds' spread: folds in
    percent have a 100 times larger spread too, and with noisy folds any
    spread-based tolerance would accept them.
    """
    scores = np.asarray(scores, dtype=float)
    if not math.isfinite(value) or scores.size == 0 or not np.all(np.isfinite(scores)):
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(np.mean(scores))
    if not math.isfinite(mean):
        return f"has fold scores whose mean overflows (metric {value:.6g})"
    scale = max(abs(value), float(np.max(np.abs(scores))))
    tol = FOLD_METRIC_RTOL * max(abs(value), abs(mean)) + 1e-9 * scale
    if abs(mean - value) > tol:
        return f"has a fold mean of {mean:.6g} but reported a metric of {value:.6g}"
    return None


def audit_fold_means(audit: FoldAudit, values: Any, folds: Sequence[Any]) -> FoldAudit:
    """``audit`` with trials whose fold mean contradicts their metric marked unusable.

    Their kind is ``"folds-metric-mismatch"``; see :func:`fold_metric_mismatch`.
    Trials already unusable, or with a non-finite metric, are left as they are.
    """
    numbers = to_float_array(values)
    kinds, problems = list(audit.kinds), list(audit.problems)
    for i, kind in enumerate(kinds):
        if kind is not None or i >= len(numbers) or i >= len(folds):
            continue
        why = fold_metric_mismatch(float(numbers[i]), fold_array(folds[i]))
        if why is not None:
            kinds[i], problems[i] = "folds-metric-mismatch", why
    return FoldAudit(audit.expected, audit.counts, tuple(kinds), tuple(problems))


@dataclass
class _Completion:
    trial_id: int
    config: dict
    value: float
    folds: np.ndarray
    extras: dict[str, float]


COMPLETED = "Completed"
STOPPED = "Stopped"
FAILED = "Failed"


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
            value=_to_float(row.get(self.metric)),
            folds=self.fold_spec.read(row),
            extras={m: _to_float(row.get(m)) for m in self.extra_metrics},
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
            old, new = self._completions[tid].value, _to_float(row.get(self.metric))
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
    value = _to_float(level)
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
    value = _to_float(row.get("st_worker_timestamp"))
    return value if math.isfinite(value) else math.inf


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
