"""``syne-autoterm compare``: every stopping rule replayed on a stored experiment.

Why thin: the replay is :mod:`syne_autoterm.compare`; this is the table printed
and the files written for the command line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import CliError
from .experiments import _autoterm_metadata, _experiment_path, _load_experiment_or_fail


def compare(args: argparse.Namespace) -> int:
    from .. import compare as compare_module

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
