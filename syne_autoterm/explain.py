"""Why a job stopped (or has not), in words and in one figure, from the rule's history.

Why a module of its own: the same answer is wanted from three places - the
rule object after ``tuner.run()`` (:meth:`StoppingRule.explain`,
:meth:`StoppingRule.plot`), ``syne-autoterm explain`` on a stored experiment,
and the CLI's summary - and "not converged yet" must never read like "cannot
decide" (a missing fold metric, a failed GP fit) or "still warming up".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .console import format_check
from .stopping.arguments import finite_or_none as _num

#: What to do about each kind of problem a check can log (see AutoTermination's docstring).
_HINTS = {
    "incumbent-folds": "the incumbent's fold scores are missing or broken: report cv_fold_0, "
    "cv_fold_1, ... or pass threshold= or error_estimator='binomial'",
    "incumbent-error": "the incumbent's error could not be estimated: check its fold scores "
    "or n_val",
    "input-folds": "report the fold scores, or pass threshold= or error_estimator='binomial'",
    "input-n-val": "report the validation-set size (n_val) or pass n_val_metric=",
    "input-metric": "pass metric= the name the training script reports",
    "zero-error": "constant fold scores give a zero error; a bound can never be below it",
    "gp-failed": "every GP fit failed; see the warnings of the run",
}

#: A stop on a fit that calls at least this share of its variance noise gets a caution: such
#: fits are nearly flat, and 4 % of the suite's refit fits were (benchmarks/results/frontier,
#: "Candidates for the suite's early stops"); vetoing them did not pay enough to be the rule.
FLAT_FIT_SHARE = 0.9


def explain_history(
    history: Sequence[Mapping[str, Any]], rule: Any = None, budget_reason: str | None = None
) -> str:
    """A few lines: the decision (or why there is none yet), and the evidence behind it.

    :param history: the rule's records (``rule.history`` or
        :func:`~syne_autoterm.trace.read_trace`).
    :param rule: the rule, for its name and warm-up (optional).
    :param budget_reason: what ended the job when the rule did not (optional).
    """
    name = (
        getattr(rule, "name", None) or (history[0].get("rule") if history else None) or "autoterm"
    )
    warm_up = getattr(rule, "warm_up", None)
    if not history:
        lines = [
            f"No decision: {name} has not checked yet (no completed trial reported the "
            "tuned metric)."
        ]
        if budget_reason:
            lines.append(f"The job ended: {budget_reason}.")
        return "\n".join(lines)
    stops = [r for r in history if r.get("stop")]
    last = stops[0] if stops else history[-1]
    n = last.get("n_completed")
    lines = []
    if stops:
        reason = str(last.get("reason"))
        if reason.startswith("stopped after"):
            lines.append(f"Stopped{reason[len('stopped') :]} ({name}).")
        else:
            lines.append(f"Stopped by {name} after {n} completed trials: {reason}.")
    else:
        lines.append(_not_stopped(name, last, warm_up))
        if budget_reason:
            lines.append(f"The job ended anyway: {budget_reason}.")
    inc, value = last.get("incumbent_trial_id"), _num(last.get("incumbent_value"))
    if inc is not None and value is not None:
        err = _num(last.get("stat_error"))
        lines.append(
            f"Incumbent: trial {inc}, validation value {value:.4g}"
            + (f" +- {err:.3g} (statistical error)" if err is not None else "")
            + "."
        )
    share = _num(last.get("noise_share"))
    if stops and share is not None and share >= FLAT_FIT_SHARE:
        lines.append(
            f"Caution: the GP of that check called {share:.1%} of its trials' spread noise "
            "(a nearly flat fit), so its small bound says little about configurations unlike "
            "the ones evaluated; if the search space has regions left unexplored, more trials "
            "may still pay."
        )
    bounds = [(r.get("n_completed"), _num(r.get("regret_bound"))) for r in history]
    bounds = [(k, b) for k, b in bounds if b is not None]
    if bounds:
        (n0, b0), (n1, b1) = bounds[0], bounds[-1]
        lines.append(
            f"Remaining-improvement bound: {b0:.3g} at {n0} trials -> {b1:.3g} at {n1} "
            f"trials ({len(history)} checks, {len(bounds)} past warm-up)."
        )
    problems = sorted({p for r in history for p in (r.get("problems") or [])})
    if problems:
        lines.append("Problems met: " + ", ".join(problems) + ".")
        for kind in problems:
            hint = _HINTS.get(kind) or next(
                (h for k, h in _HINTS.items() if kind.startswith(k)), None
            )
            if hint:
                lines.append(f"  {kind}: {hint}")
    lines.append("Last check: " + format_check(name, history[-1]))
    return "\n".join(lines)


def _not_stopped(name: str, last: Mapping[str, Any], warm_up: int | None) -> str:
    reason = str(last.get("reason", ""))
    n = last.get("n_completed")
    if reason.startswith("warm-up"):
        need = f" ({warm_up} needed)" if warm_up else ""
        return (
            f"Not stopped: still warming up at {n} completed trials{need}; {name} decides "
            "nothing before."
        )
    if _num(last.get("regret_bound")) is not None and reason.startswith("continue"):
        return (
            f"Not stopped: not converged yet. At {n} trials the remaining improvement bound "
            f"{_num(last['regret_bound']):.4g} is still >= {_num(last.get('threshold')):.4g} "
            "(error_scale x the tolerated error: the incumbent's statistical error, or a share of "
            "its value where that is smaller; the last check says which): more trials can "
            "still pay. "
            "Low-noise problems may not stop early."
        )
    return f"Not stopped: the last check could not decide ({reason})."


def incumbent_curve_from_history(history: Sequence[Mapping[str, Any]]) -> dict[str, list] | None:
    """The incumbent's validation value at each check past warm-up (no results table needed)."""
    points = [(r.get("n_completed"), _num(r.get("incumbent_value"))) for r in history]
    points = [(k, v) for k, v in points if k is not None and v is not None]
    if not points:
        return None
    return {
        "n": [k for k, _ in points],
        "validation": [v for _, v in points],
        "test": [math.nan] * len(points),
    }


def _curve_from_evidence(evidence: Any) -> dict[str, list] | None:
    """The incumbent after every completed trial the rule saw online (warm-up included)."""
    if evidence is None or len(evidence) == 0:
        return None
    import numpy as np

    best = evidence.best_so_far()
    values = [float(evidence.sign * b) if np.isfinite(b) else math.nan for b in best]
    return {
        "n": list(range(1, len(values) + 1)),
        "validation": values,
        "test": [math.nan] * len(values),
    }


def plot_rule(
    rule: Any, path: str | Path, results: Any = None, budget_stop: int | None = None
) -> Path:
    """The decision figure of ``rule`` (see :func:`~syne_autoterm.plot.plot_decisions`)."""
    from .plot import plot_decisions

    curve = None
    if results is not None and len(results):
        from .report import completed_trials, incumbent_curve

        attr, top = rule.resource_settings()
        trials = completed_trials(results, rule.metric, attr, top)
        if len(trials):
            test = "test_error" if "test_error" in trials else None
            curve = incumbent_curve(trials, rule.metric, rule.mode, test)
    if curve is None:
        curve = _curve_from_evidence(getattr(rule, "evidence", None))
    if curve is None:
        curve = incumbent_curve_from_history(rule.history)
    return plot_decisions(
        rule.history,
        path,
        curve,
        title=f"{rule.name}: {rule.metric}",
        metric=rule.metric,
        warm_up=rule.warm_up,
        budget_stop=budget_stop,
    )
