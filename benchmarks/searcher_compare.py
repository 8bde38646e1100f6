"""Syne Tune's BOTorch vs. ``aligned_botorch`` when trials finish out of order.

Why: ``syne_autoterm.searchers.aligned_botorch`` fixes Syne Tune 0.16's
``BoTorchSearcher`` (configs paired in trial-id order with values in completion
order; effectively noiseless). Before it can be the default it must be at least as
good a BO where the defect bites: several workers, so trials complete out of order.
Per table and seed both searchers run the same simulated tuning as
``benchmarks.suite_compare.bo_trajectory`` (same ``searcher_kwargs``, same seeding,
the table's ``elapsed_time`` drives the simulated clock) but with ``n_workers=4``,
and each run records its incumbent's validation and test error, its regret, its
``suggest()`` time and, for Syne Tune's searcher, how many of its training rows
were mismatched at the end.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 nice -n 5 python -m benchmarks.searcher_compare \\
        --datasets breast_cancer diabetes digits --models xgboost rf \\
        --seeds 0 1 2 --iterations 100 --workers 2

Writes ``per_run.csv``, ``summary.csv`` and ``summary.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._common import (
    MODEL_CODES,
    RESULTS,
    TABLES,
    load_table,
    markdown_rows,
    parse_name,
    standard_error,
    table_files,
)
from benchmarks.suite_compare import simulate

SEARCHERS = ("syne_tune", "aligned")
#: as in ``suite_compare.bo_trajectory``: 0.1-0.3 s per suggestion
SEARCHER_KWARGS = {"optimization_strategy": "random", "num_raw_samples": 1000}
OUT = RESULTS / "searcher_compare"


def _mismatched_rows(searcher: Any) -> tuple[int, int]:
    """(rows whose value is not their config's trial's value, rows) of the training
    data the searcher builds: ``_configs_with_results()`` against ``objectives()``."""
    ids = [t for t in searcher.trial_configs if t not in searcher.pending_trials]
    values = np.asarray(searcher.objectives(), dtype=float)
    n = min(len(ids), len(values))
    true = np.array([searcher.trial_observations.get(t, np.nan) for t in ids[:n]])
    assert len(searcher._configs_with_results()) == len(ids)
    return int(np.sum(~np.isclose(values[:n], true))) + abs(len(ids) - len(values)), len(ids)


def run_one(
    table_path: Path, searcher: str, seed: int, iterations: int, n_workers: int = 4
) -> dict[str, Any]:
    """One simulated tuning of ``table_path`` with ``searcher`` (``syne_tune`` or
    ``aligned``) until ``iterations`` trials completed; one row of ``per_run.csv``."""
    import random

    import torch
    from syne_tune import StoppingCriterion
    from syne_tune.optimizer.baselines import BOTorch

    from syne_autoterm.searchers import aligned_botorch
    from syne_autoterm.simulation import TableBlackbox
    from syne_autoterm.workloads.spaces import search_space

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    dataset, model = parse_name(table_path)
    table = load_table(table_path).dropna(subset=["value"])
    space = search_space(model)
    make = BOTorch if searcher == "syne_tune" else aligned_botorch
    scheduler = make(
        space, metric="error", do_minimize=True, random_seed=seed, searcher_kwargs=SEARCHER_KWARGS
    )
    inner, seconds = scheduler.searcher, []

    def timed_suggest(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return type(inner).suggest(inner, *args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - start)

    inner.suggest = timed_suggest  # the scheduler calls scheduler.searcher.suggest()
    results = simulate(
        TableBlackbox(table, space),
        scheduler,
        StoppingCriterion(max_num_trials_completed=iterations),
        n_workers=n_workers,
        name=f"sc-{searcher}-{dataset}-{model}-{seed}",
    ).dropna(subset=["error"])
    # trials completing at the same simulated time may overshoot the budget: the first
    results = results.sort_values("st_tuner_time", kind="stable").head(iterations)
    best = results.loc[results["error"].idxmin()]
    mismatched, rows = _mismatched_rows(inner) if searcher == "syne_tune" else (0, 0)
    return {
        "searcher": searcher,
        "dataset": dataset,
        "model": MODEL_CODES[model],
        "seed": seed,
        "val_error": float(best["error"]),
        "test_error": float(best["test_error"]),
        "val_regret": float(best["error"]) - float(table["value"].min()),
        "n_completed": len(results),
        "suggest_median_s": statistics.median(seconds),
        "suggest_mean_s": statistics.fmean(seconds),
        "n_suggest": len(seconds),
        "mismatched_rows": mismatched if searcher == "syne_tune" else np.nan,
        "training_rows": rows if searcher == "syne_tune" else np.nan,
    }


def _run(args: tuple) -> dict[str, Any]:
    return run_one(*args)


TABLE = ["dataset", "model"]


def _pooled(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` per table, plus its copies pooled per model and over everything."""
    per_model = frame.assign(dataset="all")
    return pd.concat([frame, per_model, per_model.assign(model="all")], ignore_index=True)


def summarize(per_run: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (searcher, table), per (searcher, model) and pooled (``dataset`` "all"): means
    and standard errors; and the paired difference aligned - syne_tune per (table, seed).
    A regression table's error is an RMSE: pooled means mix its units with error rates."""
    rows = []
    for (searcher, dataset, model), g in _pooled(per_run).groupby(["searcher", *TABLE]):
        rows.append(
            {
                "searcher": searcher,
                "dataset": dataset,
                "model": model,
                "n_runs": len(g),
                "test_error": g.test_error.mean(),
                "test_error_se": standard_error(g.test_error),
                "val_regret": g.val_regret.mean(),
                "val_regret_se": standard_error(g.val_regret),
                "suggest_median_s": g.suggest_median_s.mean(),
                "suggest_mean_s": g.suggest_mean_s.mean(),
                "mismatched_rows": g.mismatched_rows.mean(),
                "training_rows": g.training_rows.mean(),
            }
        )
    keys = ["dataset", "model", "seed"]
    wide = per_run.pivot_table(index=keys, columns="searcher", values=["test_error", "val_regret"])
    diff = (wide.xs("aligned", axis=1, level=1) - wide.xs("syne_tune", axis=1, level=1)).dropna()
    diff = diff.reset_index()
    paired = []
    for (dataset, model), g in _pooled(diff).groupby(TABLE):
        paired.append(
            {
                "dataset": dataset,
                "model": model,
                "n_pairs": len(g),
                "d_test_error": g.test_error.mean(),
                "d_test_error_se": standard_error(g.test_error),
                "d_val_regret": g.val_regret.mean(),
                "d_val_regret_se": standard_error(g.val_regret),
                "aligned_wins_val": int((g.val_regret < 0).sum()),
                "ties_val": int((g.val_regret == 0).sum()),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(paired)


def summary_markdown(summary: pd.DataFrame, paired: pd.DataFrame) -> str:
    lines = markdown_rows(
        ["searcher", "dataset", "model", "runs", "test error", "val. regret",
         "suggest median / mean (s)", "mismatched rows / training rows"],
        [
            [r.searcher, r.dataset, r.model, r.n_runs,
             f"{r.test_error:.4f} +- {r.test_error_se:.4f}",
             f"{r.val_regret:.4f} +- {r.val_regret_se:.4f}",
             f"{r.suggest_median_s:.3f} / {r.suggest_mean_s:.3f}",
             "" if np.isnan(r.mismatched_rows) else
             f"{r.mismatched_rows:.1f} / {r.training_rows:.1f}"]
            for r in summary.itertuples()
        ],
    )  # fmt: skip
    lines += ["", "Paired, aligned - syne_tune (negative: aligned better):", ""]
    lines += markdown_rows(
        ["dataset", "model", "pairs", "d test error", "d val. regret",
         "aligned better / ties (val.)"],
        [
            [r.dataset, r.model, r.n_pairs,
             f"{r.d_test_error:+.4f} +- {r.d_test_error_se:.4f}",
             f"{r.d_val_regret:+.4f} +- {r.d_val_regret_se:.4f}",
             f"{r.aligned_wins_val} / {r.ties_val}"]
            for r in paired.itertuples()
        ],
    )  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.searcher_compare", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--tables", type=Path, default=TABLES)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--datasets", nargs="*", default=None, help="table names (slugs)")
    ap.add_argument("--models", nargs="*", default=None, choices=list(MODEL_CODES))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--iterations", type=int, default=100, help="completed trials per run")
    ap.add_argument("--n-workers", type=int, default=4, help="simulated tuning workers")
    ap.add_argument("--workers", type=int, default=1, help="runs in parallel (processes)")
    ap.add_argument(
        "--summary-only", action="store_true", help="only re-summarise <out>/per_run.csv"
    )
    args = ap.parse_args(argv)
    if args.summary_only:
        return _write_summary(pd.read_csv(args.out / "per_run.csv"), args.out)
    tables = table_files(args.tables, args.datasets, args.models)
    todo = [
        (t, s, seed, args.iterations, args.n_workers)
        for t in tables
        for seed in args.seeds
        for s in SEARCHERS
    ]
    print(f"{len(todo)} runs ({len(tables)} tables)", flush=True)
    start, rows = time.perf_counter(), []
    args.out.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for row in pool.map(_run, todo):  # written as they finish: a killed run keeps them
            rows.append(row)
            pd.DataFrame(rows).to_csv(args.out / "per_run.csv", index=False)
    print(f"wall time {time.perf_counter() - start:.0f} s")
    return _write_summary(pd.DataFrame(rows), args.out)


def _write_summary(per_run: pd.DataFrame, out: Path) -> int:
    summary, paired = summarize(per_run)
    summary.merge(paired, on=TABLE, how="left").to_csv(out / "summary.csv", index=False)
    text = summary_markdown(summary, paired)
    (out / "summary.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
