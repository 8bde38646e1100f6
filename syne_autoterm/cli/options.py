"""``tune``'s options turned into a searcher and a stopping rule, and checked first.

Why one module: the checks build the rule with the same function the run uses
(``_make_rule``), so an option that passes here cannot fail the run later.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..stopping.registry import CLI_RULES
from .common import SEARCHERS, CliError


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
    if searcher == "aligned_botorch":
        # Opt-in: BOTorch with X/y aligned by trial id and a learned noise (searchers/).
        from ..searchers import aligned_botorch

        return aligned_botorch(space, metric=metric, do_minimize=True, random_seed=seed)
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
    from ..stopping.registry import make_rule

    if args.stopping_rule == "autoterm":
        return make_rule(
            "autoterm",
            args.error_scale,
            fold_metrics="cv_fold_",
            seed=args.seed,
            bound=args.bound,
            patience=args.patience or None,
            relative_tolerance=getattr(args, "relative_tolerance", 0.0) or None,
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
    from ..stopping.arguments import MAX_SEED, check_float, check_int

    numbers = [
        ("--folds", lambda: check_int("--folds", args.folds, 2)),
        ("--workers", lambda: check_int("--workers", args.workers, 1)),
        ("--max-trials", lambda: check_int("--max-trials", args.max_trials, 1)),
        ("--warm-up", lambda: check_int("--warm-up", args.warm_up, 1)),
        ("--seed", lambda: check_int("--seed", args.seed, 0, MAX_SEED)),
        ("--error-scale", lambda: check_float("--error-scale", args.error_scale, positive=True)),
        ("--patience", lambda: check_int("--patience", args.patience, 0)),
        (
            "--relative-tolerance",
            lambda: check_float(
                "--relative-tolerance",
                getattr(args, "relative_tolerance", 0.0),
                nonnegative=True,
            ),
        ),
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
    from ..workloads.datasets import DatasetError, load_dataset

    try:
        return load_dataset(spec)
    except DatasetError as exc:
        raise CliError(str(exc)) from None
    except (ValueError, OSError) as exc:  # pandas/numpy errors not wrapped by the loader
        raise CliError(f"cannot load dataset {spec!r}: {exc}") from None


def _check_data(dataset: Any, args: argparse.Namespace) -> None:
    """The test split and the CV folds every trial will make: fail now, not in every trial."""
    from ..workloads.evaluate import check_cv

    try:
        check_cv(dataset, args.folds, args.seed)
    except ValueError as exc:
        raise CliError(f"{exc} (--folds {args.folds})") from None
