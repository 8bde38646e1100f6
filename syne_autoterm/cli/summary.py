"""The end of every ``tune`` and ``explain``: the summary, its JSON file and the figure.

Why shared: a fresh run, a resumed run and an ``explain`` of a stored one must
print and write the same things from the same records.
"""

from __future__ import annotations

import json
from pathlib import Path

from .common import PLOT_FILE, SUMMARY_FILE, TRACE_FILE, _say


def _finish(
    out_dir: Path,
    name: str,
    meta: dict,
    history: list,
    seconds: float | None,
    budget_reason: str | None,
) -> int:
    from ..compare import load_results
    from ..plot import plot_decisions
    from ..report import completed_trials, format_summary, incumbent_curve, summarize

    try:  # with how each trial ended (the saved tuner's statuses), as the rule counted them
        results, _ = load_results(name)
    except FileNotFoundError:
        results = None
    resource = (meta.get("resource_attr"), meta.get("max_resource"))
    summary = summarize(
        results,
        history,
        meta["metric"],
        meta["mode"],
        meta["fold_metrics"],
        meta.get("test_metric"),
        seconds,
        budget_reason,
        *resource,
    )
    if seconds is None and results is not None and "st_tuner_time" in results:
        summary.wallclock_seconds = float(results["st_tuner_time"].max())
    trials = completed_trials(results, meta["metric"], *resource)
    curve = (
        incumbent_curve(trials, meta["metric"], meta["mode"], meta.get("test_metric"))
        if len(trials)
        else None
    )
    warm_up = meta.get("warm_up")
    png = plot_decisions(
        history,
        out_dir / PLOT_FILE,
        curve,
        title=_plot_title(meta),
        metric=meta["metric"],
        warm_up=warm_up if isinstance(warm_up, int) else None,
        budget_stop=None if summary.stopped_by_rule else summary.n_completed,
    )
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary.__dict__, indent=2, default=str))
    print()
    _say(format_summary(summary))
    if not summary.stopped_by_rule and meta.get("stopping_rule") != "none":
        # "not converged yet", "still warming up" and "cannot decide" must not read alike
        from types import SimpleNamespace

        from ..explain import explain_history

        rule = SimpleNamespace(
            name=(history[0].get("rule") if history else None)
            or meta.get("stopping_rule")
            or "autoterm",
            warm_up=meta.get("warm_up"),
        )
        _say("Rule: " + explain_history(history, rule).splitlines()[0])
    _say(f"Decision trace: {out_dir / (meta.get('trace_file') or TRACE_FILE)}")
    _say(f"Plot: {png}")
    return 0


def _plot_title(meta: dict) -> str:
    what = " on ".join(str(meta[k]) for k in ("model", "dataset") if meta.get(k))
    rule = meta.get("stopping_rule")
    return f"{what}: {rule}" if what and rule else what or str(rule or "")
