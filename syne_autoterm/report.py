"""A finished (or stored) experiment summarised the way a user asks about it.

Built from Syne Tune's results table and the decision trace only, so
``syne-autoterm explain`` rebuilds exactly what ``syne-autoterm tune`` printed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .completed import completed_trials as _completed_trials
from .error import EvidenceError, nadeau_bengio_error
from .evidence import fold_names_from_prefix


@dataclass
class Summary:
    n_completed: int
    stop_reason: str
    stopped_by_rule: bool
    wallclock_seconds: float | None
    best_trial_id: int | None
    best_config: dict = field(default_factory=dict)
    best_value: float | None = None
    best_stat_error: float | None = None
    best_test_value: float | None = None
    final_test_value: float | None = None
    metric: str = "error"


def completed_trials(
    results: pd.DataFrame | None,
    metric: str,
    resource_attr: str | None = None,
    max_resource: float | None = None,
) -> pd.DataFrame:
    """The completed trials of :func:`syne_autoterm.completed.completed_trials`.

    Why a wrapper: a summary of a run without results (or without the metric)
    is an empty summary, not an error.
    """
    if results is None or len(results) == 0 or metric not in results or "trial_id" not in results:
        return pd.DataFrame()
    return _completed_trials(results, metric, resource_attr, max_resource)


def incumbent_curve(
    trials: pd.DataFrame, metric: str, mode: str, test_metric: str | None
) -> dict[str, list[float]]:
    """Validation (and test) value of the incumbent after each completed trial."""
    sign = 1.0 if mode == "min" else -1.0
    values = sign * trials[metric].to_numpy(dtype=float)
    best_idx: int | None = None
    best = math.inf
    curve: dict[str, list[float]] = {"n": [], "validation": [], "test": []}
    for i, v in enumerate(values):
        if np.isfinite(v) and v < best:
            best, best_idx = v, i
        curve["n"].append(i + 1)
        curve["validation"].append(
            np.nan if best_idx is None else float(trials[metric].iloc[best_idx])
        )
        if test_metric and test_metric in trials and best_idx is not None:
            curve["test"].append(float(trials[test_metric].iloc[best_idx]))
        else:
            curve["test"].append(np.nan)
    return curve


def summarize(
    results: pd.DataFrame,
    history: Sequence[dict],
    metric: str,
    mode: str = "min",
    fold_prefix: str | None = "cv_fold_",
    test_metric: str | None = "test_error",
    wallclock_seconds: float | None = None,
    budget_reason: str | None = None,
    resource_attr: str | None = None,
    max_resource: float | None = None,
) -> Summary:
    trials = completed_trials(results, metric, resource_attr, max_resource)
    stops = [r for r in history if r.get("stop")]
    if stops:
        reason, by_rule = stops[0]["reason"], True
    else:
        reason = budget_reason or "the stopping rule did not fire; the trial budget ended the job"
        by_rule = False
    summary = Summary(
        n_completed=len(trials),
        stop_reason=reason,
        stopped_by_rule=by_rule,
        wallclock_seconds=wallclock_seconds,
        best_trial_id=None,
        metric=metric,
    )
    if len(trials) == 0:
        return summary
    sign = 1.0 if mode == "min" else -1.0
    objective = sign * trials[metric].to_numpy(dtype=float)
    if not np.isfinite(objective).any():
        return summary
    best = trials.iloc[int(np.nanargmin(np.where(np.isfinite(objective), objective, np.inf)))]
    summary.best_trial_id = int(best["trial_id"])
    # Constants of the config space (dataset, model, folds, ...) are not tuned.
    tuned = [
        c
        for c in trials.columns
        if c.startswith("config_") and (len(trials) == 1 or trials[c].nunique() > 1)
    ]
    summary.best_config = {c[len("config_") :]: _plain(best[c]) for c in tuned}
    summary.best_value = float(best[metric])
    # the rule's own estimate (its estimator, ddof and ratio) when a check saw this incumbent
    own = [
        r["stat_error"]
        for r in history
        if r.get("incumbent_trial_id") == summary.best_trial_id
        and isinstance(r.get("stat_error"), (int, float))
    ]
    if own:
        summary.best_stat_error = float(own[-1])
    elif fold_prefix:
        folds = best[fold_names_from_prefix(fold_prefix, trials.columns)].to_numpy(dtype=float)
        try:
            summary.best_stat_error = nadeau_bengio_error(folds)
        except EvidenceError:
            summary.best_stat_error = None
    if test_metric and test_metric in trials:
        summary.best_test_value = float(best[test_metric])
    return summary


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def format_summary(summary: Summary) -> str:
    lines = [f"Why it stopped: {summary.stop_reason}"]
    used = f"{summary.n_completed} completed trials"
    if summary.wallclock_seconds is not None:
        used += f" in {summary.wallclock_seconds:.0f} s wall time"
    lines.append(f"Used: {used}")
    if summary.best_trial_id is None:
        lines.append("No trial reported a usable metric.")
        return "\n".join(lines)
    lines.append(f"Best trial: {summary.best_trial_id}")
    for k, v in summary.best_config.items():
        lines.append(f"  {k} = {v:.4g}" if isinstance(v, float) else f"  {k} = {v}")
    cv = f"CV {summary.metric}: {summary.best_value:.4f}"
    if summary.best_stat_error is not None:
        cv += f" +- {summary.best_stat_error:.4f} (Nadeau-Bengio statistical error)"
    lines.append(cv)
    if summary.best_test_value is not None:
        lines.append(f"Test {summary.metric}: {summary.best_test_value:.4f}")
    return "\n".join(lines)
