"""``syne-autoterm tune``: one tuning job with the stopping rule, or a resumed one.

Why the resume lives here: a resumed run ends like a fresh one, with the same
summary and the same words for why it ended.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..stopping import AnyOf, StoppingRule
from .common import TRACE_FILE, CliError, _say
from .options import (
    _check_data,
    _load_dataset_or_fail,
    _make_rule,
    _make_scheduler,
    check_tune_args,
)
from .summary import _finish


def _decision_printer(rule: Any, verbose: bool = True):
    """A TunerCallback that prints each new decision of the rule as it is made.

    Compact (not verbose): also a status line (see :mod:`syne_autoterm.console`).
    """
    from ..console import LiveView

    return LiveView(rule, status=not verbose)


def tune(args: argparse.Namespace, argv: Sequence[str]) -> int:
    check_tune_args(args)
    if args.resume:
        return _resume(args, argv)
    if args.remote:
        from ..backends.cli_support import launch_remote_from_args

        return int(launch_remote_from_args(args, list(argv)) or 0)
    dataset = _load_dataset_or_fail(args.dataset)
    _check_data(dataset, args)
    from syne_tune import StoppingCriterion
    from syne_tune.results_callback import StoreResultsCallback

    from ..backends.resume import ResumableTuner as Tuner
    from ..workloads.datasets import dataset_slug
    from ..workloads.train import TRAIN_SCRIPT, train_config_space

    metric = "error"
    fixed = {"report_every_fold": 1} if args.searcher == "asha" else {}
    space = train_config_space(args.dataset, args.model, folds=args.folds, seed=args.seed, **fixed)
    scheduler = _make_scheduler(args.searcher, space, metric, args.seed, args.folds)
    rule = _make_rule(args, scheduler, metric)
    budget = StoppingCriterion(
        max_num_trials_completed=args.max_trials - 1,  # Syne Tune compares with a strict '>'
        max_wallclock_time=args.max_wallclock or None,
    )
    if args.backend == "sagemaker":
        from ..backends.cli_support import make_sagemaker_backend_from_args

        backend = make_sagemaker_backend_from_args(args, str(TRAIN_SCRIPT))
    else:
        from syne_tune.backend import LocalBackend

        backend = LocalBackend(entry_point=str(TRAIN_SCRIPT))
    name = args.name or f"autoterm-{dataset_slug(args.dataset)}-{args.model}"
    metadata = {
        "autoterm": {
            "metric": metric,
            "mode": "min",
            "fold_metrics": "cv_fold_",
            "test_metric": "test_error",
            "dataset": args.dataset,
            "model": args.model,
            "searcher": args.searcher,
            "stopping_rule": args.stopping_rule,
            "trace_file": TRACE_FILE,
            "resource_attr": "fold" if args.searcher == "asha" else None,
            "max_resource": args.folds if args.searcher == "asha" else None,
            "warm_up": args.warm_up,
        }
    }
    callbacks = [StoreResultsCallback()]
    if rule is not None:
        callbacks += [rule]
    callbacks += [_decision_printer(rule, args.verbose)]
    stop = AnyOf(*([rule] if rule is not None else []), budget)
    from ..console import QuietTunerLogger

    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=stop,
        n_workers=args.workers,
        sleep_time=args.sleep_time,
        tuner_name=name,
        callbacks=callbacks,
        metadata=metadata,
        print_update_interval=20.0,
        results_update_interval=5.0,
        output_logger=None if args.verbose else QuietTunerLogger(),
    )
    out_dir = Path(tuner.tuner_path)
    if rule is not None:
        rule.trace_path = out_dir / TRACE_FILE
    _say(
        f"Tuning {args.model} on {dataset.name} ({dataset.n_rows} rows, {dataset.task}), "
        f"{args.folds}-fold CV, searcher {args.searcher}, {args.workers} workers"
    )
    _say(
        f"Stopping rule {args.stopping_rule}"
        + (f" (no decision before {args.warm_up} trials)" if rule is not None else "")
        + f"; safety-net budget {args.max_trials} trials"
        + (f" or {args.max_wallclock:.0f} s" if args.max_wallclock else "")
    )
    _say(f"Experiment folder: {out_dir}")
    start = time.perf_counter()
    if args.verbose:
        tuner.run()
    else:
        # Syne Tune prints its summary table at the end whatever the output_logger; the live
        # view and QuietTunerLogger hold the real stdout, so only Syne Tune's prints are dropped.
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            tuner.run()
    seconds = time.perf_counter() - start
    history = list(rule.history) if rule is not None else []
    budget_reason = _budget_reason(args, stop, tuner)
    return _finish(out_dir, tuner.name, metadata["autoterm"], history, seconds, budget_reason)


def _resume(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """``tune --resume NAME``: the saved run goes on; its summary as after ``tune``."""
    from ..backends.cli_support import resume_from_args
    from ..backends.resume import ResumeError

    try:
        tuner, seconds = resume_from_args(args, argv)
    except ResumeError as exc:
        raise CliError(str(exc)) from None
    rule = StoppingRule.find_in(tuner)
    meta = (tuner.metadata or {}).get("autoterm")
    if not isinstance(meta, dict):
        print(f"Resumed run {tuner.name} ended: {tuner.tuner_path}")
        return 0
    n = tuner.tuning_status.num_trials_completed
    why = (
        "the safety-net budget ended the job"
        if _budget_fired(tuner.stop_criterion)
        else "the job ended"
    )
    return _finish(
        Path(tuner.tuner_path),
        tuner.name,
        meta,
        list(rule.history) if rule is not None else [],
        seconds,
        f"{why} after {n} completed trials",
    )


def _budget_fired(stop: Any) -> bool:
    """Whether the job's ``AnyOf`` stopped by a criterion other than the stopping rule."""
    fired = getattr(stop, "fired_by", None)
    return fired is not None and not isinstance(fired, StoppingRule)


def _budget_reason(args: argparse.Namespace, stop: AnyOf, tuner: Any) -> str:
    n = tuner.tuning_status.num_trials_completed
    if _budget_fired(stop):
        return (
            f"the safety-net budget ended the job after {n} completed trials "
            f"(max {args.max_trials} trials"
            + (f", {args.max_wallclock:.0f} s" if args.max_wallclock else "")
            + ")"
        )
    return f"the job ended after {n} completed trials (failures or interruption)"
