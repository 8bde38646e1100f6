"""Inputs checked at the first finished trial, and results that must not be lost.

Why: a stopping rule looks at its evidence only after ``warm_up`` completed
trials, so a training script that never reports the fold scores (or ``n_val``,
or the resource attribute) used to be told hours into a real job, in words
that did not say what to pass instead. Everything needed is visible in the
first result, so :func:`first_result_problems` names the missing metric and
the argument that fixes it then, once.

:func:`ensure_results_callback` guards the other silent failure: a Tuner given
``callbacks=`` without Syne Tune's ``StoreResultsCallback`` writes no
``results.csv.zip`` (and ``compare``/``explain`` then have nothing to read).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .evidence import at_max_resource

logger = logging.getLogger(__name__)

# Keys of TuningStatus.trial_rows that are not reported metrics.
_STATUS_KEYS = {"trial_id", "status", "iter", "worker-time", "worker-cost"}
_FINISHED = {"Completed", "Stopped"}


def reported_metrics(row: Mapping[str, Any], config_keys: set[str]) -> list[str]:
    """The metric names a trial reported (its row less config and Syne Tune's own keys)."""
    return [
        k
        for k in row
        if k not in _STATUS_KEYS and k not in config_keys and not str(k).startswith("st_")
    ]


def _listing(names: list[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return (
        shown + (f", ... ({len(names)} in all)" if len(names) > most else "")
        if names
        else "nothing"
    )


def first_result_problems(rule: Any, status: Any) -> list[tuple[str, str]] | None:
    """``(kind, message)`` for each input the rule needs that the first finished trial lacks.

    None while no trial has finished (check again later). With a multi-fidelity
    scheduler the fold / ``n_val`` checks wait for the first trial that reached
    the maximum resource, but the warm-up note and a missing metric or
    resource attribute are reported at the first finished trial.
    """
    rows = getattr(status, "trial_rows", None) or {}
    finished = [
        (tid, row)
        for tid, row in rows.items()
        if str(row.get("status")) in _FINISHED and row.get("iter", 1)
    ]
    if not finished:
        return None
    config_keys = set(rule._config_keys() or [])
    tid, row = finished[0]
    reported = reported_metrics(row, config_keys)
    problems: list[tuple[str, str]] = []
    if not any(rule.metric in r for _, r in finished):
        problems.append(
            (
                "input-metric",
                (
                    f"trial {tid} finished without reporting the tuned metric '{rule.metric}' (it "
                    f"reported: {_listing(reported)}): no trial is evidence and the rule can "
                    "never stop; pass metric= the name your script reports"
                ),
            )
        )
    attr, top = rule.resource_settings()
    full = finished
    if attr is not None and top is not None:
        if not any(attr in r for _, r in finished):
            problems.append(
                (
                    "input-resource",
                    (
                        f"resource_attr '{attr}' is not in trial {tid}'s results (it reported: "
                        f"{_listing(reported)}): no trial counts as full fidelity; pass "
                        "resource_attr= the attribute your script reports (e.g. epoch) and "
                        "max_resource= its last value"
                    ),
                )
            )
        problems.append(
            (
                "input-multi-fidelity",
                (
                    f"multi-fidelity: only trials that reach {attr} = {top:g} are evidence, so no "
                    f"decision before {rule.warm_up} of them have completed "
                    f"(warm_up={rule.warm_up}); trials stopped early by the scheduler do not count"
                ),
            )
        )
        full = [(t, r) for t, r in finished if at_max_resource(r.get(attr), top)]
        if not full:
            if any(k != "input-multi-fidelity" for k, _ in problems):
                return problems
            _pending(rule, problems)
            return None
    problems += _estimator_problems(rule, full[0][0], full[0][1], config_keys)
    return problems


def _pending(rule: Any, problems: list[tuple[str, str]]) -> None:
    """Log the multi-fidelity note now; the other checks wait for a full-fidelity trial."""
    for kind, message in problems:
        rule.log_problem(kind, f"{rule.name}: {message}")
    return None


def _estimator_problems(
    rule: Any, tid: Any, row: Mapping[str, Any], config_keys: set[str]
) -> list[tuple[str, str]]:
    """What AutoTermination's error estimate needs (rules without one need nothing)."""
    estimator = getattr(rule, "error_estimator", None)
    if estimator is None or getattr(rule, "threshold", None) is not None:
        return []
    reported = reported_metrics(row, config_keys)
    if estimator == "binomial":
        n_val = rule.n_val_metric
        if n_val in row:
            return []
        return [
            (
                "input-n-val",
                (
                    "error_estimator='binomial' needs the validation-set size as metric "
                    f"'{n_val}', which trial {tid} did not report (it reported: "
                    f"{_listing(reported)}): report it (Reporter()(..., {n_val}=len(y_val))), "
                    "pass n_val_metric= its name, or pass threshold= a fixed bound"
                ),
            )
        ]
    spec = rule.fold_spec
    if len(spec.read(row)) >= 2:
        return []
    wanted = (
        f"'{spec.prefix}0', '{spec.prefix}1', ..."
        if spec.prefix is not None
        else ", ".join(f"'{n}'" for n in spec.names)
    )
    what = "per-example validation losses" if estimator == "bootstrap" else "fold scores"
    return [
        (
            "input-folds",
            (
                f"trial {tid} reported no {what} {wanted} (it reported: {_listing(reported)}): "
                f"the incumbent's statistical error cannot be estimated, so {rule.name} will "
                "never stop by it. Report them, or pass fold_metrics= the names you report, "
                f"threshold= a fixed bound in '{rule.metric}' units, or "
                "error_estimator='binomial' (with n_val)"
            ),
        )
    ]


def ensure_results_callback(tuner: Any, rule_name: str = "autoterm") -> bool:
    """Add Syne Tune's ``StoreResultsCallback`` to ``tuner.callbacks`` when none is there.

    Called from the rule's ``on_tuning_start``, i.e. while the Tuner loops over
    its callbacks: a callback appended to that list is still started in the
    same loop, so the results are written as with Syne Tune's default
    callbacks. Returns whether one was added.
    """
    from syne_tune.results_callback import StoreResultsCallback

    callbacks = getattr(tuner, "callbacks", None)
    if not isinstance(callbacks, list):
        return False
    if any(isinstance(c, StoreResultsCallback) for c in callbacks):
        return False
    callbacks.append(StoreResultsCallback())
    logger.warning(
        f"{rule_name}: the Tuner's callbacks= had no StoreResultsCallback, so Syne Tune would "
        "write no results.csv.zip; one was added (pass callbacks=[StoreResultsCallback(), rule] "
        "to say so yourself)"
    )
    return True
