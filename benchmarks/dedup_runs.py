"""The suite's BO runs without their repeated table rows: how much of a stagnation is the table's.

Why: a suite run is BO restricted to a table of 1000 tabulated configs
(``suite_compare``: the nearest tabulated config answers each suggestion). Near the
optimum many suggestions land on a row that was already evaluated, and a repeat
returns exactly the same value, so it can never improve the incumbent. Rules that
stop on stagnation (plateau, Conv_k, a patience) count those repeats as evidence
that the search has converged; a search over a continuous space would have
evaluated a new config instead, whose value differs, if only by noise. This script
writes each run with every repeat of an earlier row of the same run dropped (the
order of the rest kept, ``step``/``iteration`` renumbered), so that every rule can be
replayed on the distinct evaluations only (``paper_replay --runs <out>``) and its
frontier compared with the one on the runs as they were. ``ei``/``pi`` are blanked:
they belong to the suggestion after each row, which a dropped row breaks.

    python -m benchmarks.dedup_runs --runs benchmarks/results/bo_runs \\
        benchmarks/results/surrogate/bo_runs --out benchmarks/results/frontier/suite_dedup

Writes ``<out>/cache/runs/<dataset>__<MODEL>.csv.gz`` (rebuilt on demand, not versioned)
and ``<out>/repeats.csv``: per table, the mean number of evaluations, of distinct rows,
and the share of evaluations that repeated a row.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks._common import parse_name
from benchmarks.paper_replay import run_files


def distinct_rows(run: pd.DataFrame) -> pd.DataFrame:
    """One run (one seed) in evaluation order, without the rows that repeat an earlier
    ``config_id``; steps renumbered 0.."""
    run = run.sort_values("step")
    kept = run[~run.config_id.duplicated(keep="first")].copy()
    kept["step"] = range(len(kept))
    if "iteration" in kept:
        kept["iteration"] = range(len(kept))
    for column in ("ei", "pi"):
        if column in kept:
            kept[column] = float("nan")
    return kept


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.dedup_runs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--runs", type=Path, nargs="+", required=True, help="folders of suite runs")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", nargs="*", default=None, help="model codes to keep (RF, XGB, MLP)")
    args = ap.parse_args(argv)
    runs_out = args.out / "cache" / "runs"
    runs_out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in run_files(args.runs):
        dataset, model = parse_name(path)
        if args.models and model not in args.models:
            continue
        df = pd.read_csv(path)
        if "config_id" not in df:
            print(f"{path.name}: no config_id (not a table run), skipped", file=sys.stderr)
            continue
        kept = pd.concat([distinct_rows(part) for _, part in df.groupby("seed")])
        kept.to_csv(runs_out / path.name, index=False)
        per_seed = df.groupby("seed").size()
        distinct = kept.groupby("seed").size()
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "seeds": len(per_seed),
                "evaluations": per_seed.mean(),
                "distinct": distinct.mean(),
                "repeat_share": 1.0 - distinct.sum() / per_seed.sum(),
                "min_distinct": int(distinct.min()),
            }
        )
    table = pd.DataFrame(rows).sort_values(["model", "dataset"])
    table.to_csv(args.out / "repeats.csv", index=False, float_format="%.4g")
    print(table.to_string(index=False, float_format="%.3f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
