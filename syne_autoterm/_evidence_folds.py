"""Per-fold validation scores: which metrics hold them, and whether they can be trusted.

Why apart: the rule's error estimate is only as good as the fold scores it is
given, and user scripts report them in many ways (``cv_fold_<i>`` metrics, a
list, a fixed set of names) and get them wrong in a few (a fold missing, a NaN,
folds in percent while the metric is a fraction). Reading them never raises;
the audit says, per trial, whether its folds can support an error estimate and,
when not, why, so the rule can leave the trial out and say so.
"""

from __future__ import annotations

import collections.abc as abc
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._evidence_values import is_sequence, to_float, to_float_array
from ._moved import pickled_as


def fold_names_from_prefix(prefix: str, keys: Iterable[str]) -> list[str]:
    """Metric names ``<prefix><int>`` among ``keys``, sorted by the integer."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)$")
    found = []
    for key in keys:
        match = pattern.match(str(key))
        if match:
            found.append((int(match.group(1)), str(key)))
    return [name for _, name in sorted(found)]


@pickled_as("syne_autoterm.evidence")
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
            if not names and self.prefix is not None and is_sequence(row.get(self.prefix)):
                return to_float_array(row[self.prefix]) if len(row[self.prefix]) else np.zeros(0)
            return np.array([to_float(row[n]) for n in names if n in row], dtype=float)
        except Exception:
            return np.zeros(0)

    def expected_count(self) -> int | None:
        return len(self.names) if self.names else None


@pickled_as("syne_autoterm.evidence")
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
    finite = _all_finite(arrays, counts)
    kinds: list[str | None] = []
    problems: list[str | None] = []
    for a, c, ok in zip(arrays, counts, finite):
        if c == 0:
            kinds.append("folds-missing")
            problems.append("reported no fold scores")
        elif expected is not None and c < expected:
            kinds.append("folds-count")
            problems.append(f"reported {c} of {expected} folds")
        elif expected is not None and c > expected:
            kinds.append("folds-count")
            problems.append(f"reported {c} folds where the other trials report {expected}")
        elif not ok:
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


def _all_finite(arrays: Sequence[np.ndarray], counts: Sequence[int]) -> list[bool]:
    """Per trial, whether all its scores are finite: one vectorised test per fold count.

    A check audits every trial again, so at 1000 trials a test per trial cost
    about a tenth of the check (decision_cost.py's profile)."""
    out = [True] * len(arrays)
    by_count: dict[int, list[int]] = {}
    for i, c in enumerate(counts):
        by_count.setdefault(c, []).append(i)
    for c, rows in by_count.items():
        if c == 0:
            continue
        ok = np.isfinite(np.vstack([arrays[i] for i in rows])).all(axis=1)
        for i, good in zip(rows, ok.tolist()):
            out[i] = good
    return out


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
    usable = [
        i for i, kind in enumerate(kinds) if kind is None and i < len(numbers) and i < len(folds)
    ]
    for i in _suspects(numbers, folds, usable):
        why = fold_metric_mismatch(float(numbers[i]), fold_array(folds[i]))
        if why is not None:
            kinds[i], problems[i] = "folds-metric-mismatch", why
    return FoldAudit(audit.expected, audit.counts, tuple(kinds), tuple(problems))


def _suspects(numbers: np.ndarray, folds: Sequence[Any], rows: list[int]) -> list[int]:
    """The rows that :func:`fold_metric_mismatch` might flag, found in one vectorised pass.

    The test per trial was a third of a check at 1000 trials (36 of ~166 ms). This
    pass uses the same tolerance, loosened by a relative 1e-6 so that a mean summed
    in another order cannot slip past it; each suspect is then judged by
    :func:`fold_metric_mismatch` itself, so the verdicts are the same."""
    arrays = [fold_array(folds[i]) for i in rows]
    sizes = {a.size for a in arrays}
    if len(sizes) != 1 or 0 in sizes:
        return rows  # mixed counts (not usable together): judge each
    scores = np.vstack(arrays)
    value = numbers[rows]
    with np.errstate(over="ignore", invalid="ignore"):
        mean = scores.mean(axis=1)
        scale = np.maximum(np.abs(value), np.abs(scores).max(axis=1))
        tol = FOLD_METRIC_RTOL * np.maximum(np.abs(value), np.abs(mean)) + 1e-9 * scale
        suspect = ~np.isfinite(mean) | ~(np.abs(mean - value) <= tol * (1.0 - 1e-6))
    suspect &= np.isfinite(value)
    return [i for i, s in zip(rows, suspect.tolist()) if s]
