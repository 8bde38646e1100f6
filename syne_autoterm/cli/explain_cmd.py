"""``syne-autoterm explain``: the summary and figure of a stored experiment, rebuilt.

Why the history search is here: only ``explain`` needs the decision records, and
they come from the trace file or, without one, from the rule saved in ``tuner.dill``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..stopping import StoppingRule
from .common import SUMMARY_FILE, TRACE_FILE, CliError
from .experiments import _autoterm_metadata, _experiment_path, _load_experiment_or_fail
from .summary import _finish


def explain(args: argparse.Namespace) -> int:
    """Summary, figure and the why of any stored experiment that has a decision trace.

    The trace is the experiment's ``autoterm_trace.jsonl`` (``syne-autoterm
    tune``, or ``trace_path=`` in Python), else the history of the stopping
    rule saved with the tuner (``tuner.dill``) when the rule was passed to the
    Tuner. Without either, the error says how to get one.
    """
    name, exp = _load_experiment_or_fail(args.experiment)
    meta = _autoterm_metadata(exp, args.experiment, required=False)
    out_dir = _experiment_path(exp, name)
    history, rule = _find_history(out_dir, meta, name, args.experiment)
    if not meta:
        meta = _metadata_of_any(exp, rule, args.experiment)
    # Why a job ended without the rule firing (budget, failures) is known only
    # to the run that ended it: take it from the summary that run wrote.
    budget_reason = None
    summary_file = out_dir / SUMMARY_FILE
    if summary_file.exists() and not any(r.get("stop") for r in history):
        try:
            budget_reason = json.loads(summary_file.read_text()).get("stop_reason")
        except (OSError, ValueError):
            budget_reason = None
    return _finish(out_dir, name, meta, history, None, budget_reason)


def _find_history(out_dir: Path, meta: dict, name: str, arg: str) -> tuple[list, Any]:
    """The decision records of experiment ``name`` and the rule that made them (or None)."""
    from ..trace import read_trace

    trace = out_dir / (meta.get("trace_file") or TRACE_FILE)
    if trace.exists() and not trace.is_file():
        raise CliError(f"decision trace {str(trace)!r} is not a file")
    # the saved tuner (a second load, of tuner.dill) only when the trace or the metadata lack
    rule = _rule_saved_with(name) if not (trace.exists() and meta) else None
    if trace.exists():
        try:
            return read_trace(trace), rule
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read the decision trace {str(trace)!r}: {exc}") from None
    if rule is not None and rule.history:
        return list(rule.history), rule
    if meta:  # a syne-autoterm tune run whose rule never checked (e.g. --stopping-rule none)
        return [], rule
    raise CliError(
        f"experiment {arg!r} has no decision trace: no {TRACE_FILE} in {out_dir} and no stopping "
        "rule saved with its tuner. To get one, pass the rule to the Tuner in callbacks= too "
        "(it is saved in tuner.dill) or AutoTermination(..., trace_path=<experiment folder>/"
        f"{TRACE_FILE}); `syne-autoterm compare {arg}` replays every rule on its results "
        "without one"
    )


def _rule_saved_with(name: str) -> Any:
    """The stopping rule saved in experiment ``name``'s ``tuner.dill``, or None."""
    try:
        from syne_tune.experiments import load_experiment

        return StoppingRule.find_in(load_experiment(name, load_tuner=True).tuner)
    except Exception:  # no tuner.dill, or it needs the user's modules
        return None


def _metadata_of_any(exp: Any, rule: Any, arg: str) -> dict:
    """What ``_finish`` needs, for an experiment not started by ``syne-autoterm tune``."""
    md = exp.metadata if isinstance(exp.metadata, dict) else {}
    kwargs: dict = md["scheduler_kwargs"] if isinstance(md.get("scheduler_kwargs"), dict) else {}
    metric, mode = getattr(rule, "metric", None), getattr(rule, "mode", None)
    if metric is None:
        metrics = kwargs.get("metrics") or [kwargs.get("metric")]
        metric = metrics[0] if isinstance(metrics, list) and metrics else None
    if mode is None:
        mode = "max" if kwargs.get("do_minimize") is False else "min"
    if not isinstance(metric, str) or metric not in exp.results:
        raise CliError(
            f"cannot tell the tuned metric of experiment {arg!r} from its metadata: "
            "use `syne-autoterm compare --metric NAME` instead"
        )
    spec = getattr(rule, "fold_spec", None)
    folds = getattr(spec, "prefix", None) or "cv_fold_"
    attr, top = rule.resource_settings() if rule is not None else (None, None)
    return {
        "metric": metric,
        "mode": mode,
        "fold_metrics": folds,
        "test_metric": "test_error" if "test_error" in exp.results else None,
        "trace_file": TRACE_FILE,
        "resource_attr": attr,
        "max_resource": top,
        "warm_up": getattr(rule, "warm_up", None),
        "stopping_rule": getattr(rule, "name", None),
    }
