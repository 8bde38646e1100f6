"""One part-2 summary over the whole suite, real tables and surrogate pools together.

Why: the suite is 11 datasets x 3 models, but only some (dataset, model) pairs
could afford 1000 really trained configs; the rest run on hybrid surrogate pools
(``surrogate_tables``) and ``suite_compare`` writes them to their own results
folder. A user choosing a rule wants one answer per model over all datasets, and
wants to see which part of it rests on predicted rather than real scores. This
script pools the per-run results of several ``suite_compare`` output folders, each
labelled, and summarises them with the same code as ``paper_replay``, so the
dominance check (``dominance``) runs on the pooled table unchanged.

Each ``--pool NAME RESULTS TABLES`` reads ``RESULTS/per_run.csv`` and, when
present, ``TABLES/noise.csv`` (``table_noise``). A (dataset, model) pair found
in several pools is taken from the first one given, so real tables win over
surrogate pools. Writes to ``--out``: ``per_run.csv`` (with a ``pool`` column),
``summary.csv|md``, ``summary_by_dataset.csv|md``, ``pareto.png``,
``coverage.csv|md`` (which pool each table came from, with its seeds and noise
ratio) and ``noise_vs_rtc.csv`` over all tables that have a noise ratio.
``--per-run per_run_<tag>.csv`` pools a tagged ``paper_replay`` run instead,
such as the costly peers replayed on a few seeds only.

    python -m benchmarks.suite_summary \\
        --pool real benchmarks/results benchmarks/tables \\
        --pool hybrid benchmarks/results/surrogate benchmarks/tables/surrogate \\
        --out benchmarks/results/suite
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from benchmarks._common import markdown_rows
from benchmarks.paper_replay import markdown_table, plot_pareto, summarize
from benchmarks.suite_compare import by_dataset_markdown, summary_by_dataset
from benchmarks.table_noise import noise_vs_rtc

TABLE_KEYS = ["dataset", "model"]


def pool_runs(pools: list[tuple[str, Path]], per_run_file: str = "per_run.csv") -> pd.DataFrame:
    """Per-run rows of every pool, each (dataset, model) from the first pool that has it."""
    frames, taken = [], set()
    for name, results in pools:
        path = results / per_run_file
        if not path.exists():
            raise FileNotFoundError(f"pool {name!r}: no {path}")
        runs = pd.read_csv(path)
        tables = set(zip(runs.dataset, runs.model))
        keep = [t not in taken for t in zip(runs.dataset, runs.model)]
        frames.append(runs[keep].assign(pool=name))
        taken |= tables
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def coverage(per_run: pd.DataFrame, noise: pd.DataFrame) -> pd.DataFrame:
    """Per table: its pool, seeds and methods replayed, and its noise ratio."""
    cov = (
        per_run.groupby(TABLE_KEYS + ["pool"], sort=True)
        .agg(n_seeds=("seed", "nunique"), n_methods=("method", "nunique"))
        .reset_index()
    )
    if not noise.empty:
        cov = cov.merge(noise[TABLE_KEYS + ["n_configs", "noise_ratio"]], on=TABLE_KEYS, how="left")
    return cov


def _coverage_markdown(cov: pd.DataFrame) -> str:
    rows = [
        [model, pool, len(g), ", ".join(g.dataset)]
        for (model, pool), g in cov.groupby(["model", "pool"], sort=False)
    ]
    return "\n".join(markdown_rows(["model", "pool", "tables", "datasets"], rows)) + "\n"


def read_noise(pools: list[tuple[str, Path, Path]]) -> pd.DataFrame:
    """The noise ratios of every pool's tables, labelled by pool (a table may be in several)."""
    frames = []
    for name, _, tables in pools:
        path = tables / "noise.csv"
        if path.exists():
            frames.append(pd.read_csv(path).assign(pool=name))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.suite_summary", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--pool",
        nargs=3,
        action="append",
        required=True,
        metavar=("NAME", "RESULTS", "TABLES"),
        help="a suite_compare output folder and the tables it ran on",
    )
    ap.add_argument(
        "--per-run",
        default="per_run.csv",
        help="per-run file to read in each RESULTS folder, e.g. per_run_<tag>.csv of a "
        "paper_replay run on a subset (the peers on seeds 0-2)",
    )
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    pools = [(name, Path(results), Path(tables)) for name, results, tables in args.pool]
    try:
        per_run = pool_runs([(name, results) for name, results, _ in pools], args.per_run)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 1
    noise = read_noise(pools)
    # a table's noise ratio must come from the pool its runs came from
    if not noise.empty:
        run_pools = per_run[TABLE_KEYS + ["pool"]].drop_duplicates()
        noise = noise.merge(run_pools, on=TABLE_KEYS + ["pool"])
    args.out.mkdir(parents=True, exist_ok=True)
    per_run.to_csv(args.out / "per_run.csv", index=False)
    summary = summarize(per_run.drop(columns="pool"))
    summary.to_csv(args.out / "summary.csv", index=False, float_format="%.5g")
    (args.out / "summary.md").write_text(markdown_table(summary))
    by_dataset = summary_by_dataset(per_run)
    by_dataset.to_csv(args.out / "summary_by_dataset.csv", index=False, float_format="%.5g")
    (args.out / "summary_by_dataset.md").write_text(by_dataset_markdown(by_dataset))
    plot_pareto(summary, None, args.out / "pareto.png", per_run)
    cov = coverage(per_run, noise)
    cov.to_csv(args.out / "coverage.csv", index=False, float_format="%.4g")
    (args.out / "coverage.md").write_text(_coverage_markdown(cov))
    print(_coverage_markdown(cov))
    if not noise.empty:
        correlation = noise_vs_rtc(noise, by_dataset)
        correlation.to_csv(args.out / "noise_vs_rtc.csv", index=False, float_format="%.4g")
    cols = ["method", "model", "rtc", "ryc", "stop_rate", "n_runs", "se_rtc", "se_ryc"]
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(summary[summary.model != "all"][cols].to_string(index=False, float_format="%.4f"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
