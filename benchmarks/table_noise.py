"""How noisy each tabulated task is, next to how much there is left to find.

Why: every stopping rule in part 2 can stop early on a table whose fold noise
dwarfs the differences among its good configs, and none should on a table
where it does not. This ratio explains the per-table results in
``benchmarks/results/README.md``, so it is computed here from the tables
themselves rather than quoted.

For each ``<dataset>__<model>.csv.gz`` under ``--tables``: the best CV value,
the median over the ``--top`` best configs of their fold standard deviation
(ddof 1, the statistical error's raw material), the standard deviation of
those configs' CV means (what BO can still gain among them), and their ratio.
Writes ``<tables>/noise.csv`` and ``noise.md``.

With ``--results DIR`` (holding ``suite_compare``'s ``summary_by_dataset.csv``)
it also asks whether each rule adapts to the noise: the Spearman correlation,
over the tables, between the noise ratio and the rule's mean RTC, written to
``DIR/noise_vs_rtc.csv``. A rule that reads the statistical error should save
much where the ratio is large and little where it is small; a rule blind to
it should not care.

    python -m benchmarks.table_noise --min-rows 1000 --results benchmarks/results
    python -m benchmarks.table_noise --tables benchmarks/tables/surrogate \
        --results benchmarks/results/surrogate
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

from benchmarks._common import (
    MODEL_CODES,
    TABLES,
    fold_columns,
    load_table,
    markdown_rows,
    parse_name,
    table_files,
)


def table_noise(table: pd.DataFrame, top: int = 20) -> dict[str, float]:
    """Noise statistics of one table (rows with a NaN value are ignored)."""
    folds = fold_columns(table)
    if not folds or "value" not in table:
        raise ValueError("a table needs fold_* and value columns")
    scored = table.dropna(subset=["value"])
    if len(scored) < 2:
        raise ValueError(f"need at least 2 evaluated configs, got {len(scored)}")
    best = scored.nsmallest(min(top, len(scored)), "value")
    fold_std = float(best[folds].std(axis=1, ddof=1).median())
    spread = float(best["value"].std(ddof=1))
    return {
        "n_configs": len(scored),
        "best_value": float(scored["value"].min()),
        "top_fold_std_median": fold_std,
        "top_mean_std": spread,
        "noise_ratio": fold_std / spread if spread > 0 else float("inf"),
    }


def noise_summary(tables: Path, top: int = 20, min_rows: int = 0) -> pd.DataFrame:
    """One row per table under ``tables`` with at least ``min_rows`` evaluated configs.

    ``min_rows`` keeps partial builds out: the 20 best of 100 configs are not
    comparable with the 20 best of 1000.
    """
    rows = []
    for path in table_files(tables):
        dataset, model = parse_name(path)
        table = load_table(path)
        if table["value"].notna().sum() < min_rows:
            continue
        metric = str(table["metric"].iloc[0]) if "metric" in table and len(table) else ""
        rows.append(
            {
                "dataset": dataset,
                "model": MODEL_CODES.get(model, model),
                "metric": metric,
                **table_noise(table, top),
            }
        )
    return pd.DataFrame(rows)


def noise_vs_rtc(noise: pd.DataFrame, by_dataset: pd.DataFrame) -> pd.DataFrame:
    """Per method: Spearman(noise ratio, mean RTC) over the tables both cover."""
    keyed = by_dataset.assign(model=by_dataset["model"].astype(str))
    joined = keyed.merge(noise[["dataset", "model", "noise_ratio"]], on=["dataset", "model"])
    rows = []
    for method, group in joined.groupby("method"):
        if len(group) < 3:
            continue
        rho, p_value = spearmanr(group["noise_ratio"], group["rtc"])
        rows.append(
            {
                "method": method,
                "n_tables": len(group),
                "spearman": float(rho),
                "p_value": float(p_value),
            }
        )
    return pd.DataFrame(rows).sort_values("spearman", ascending=False, ignore_index=True)


def to_markdown(summary: pd.DataFrame, top: int) -> str:
    header = [
        "table",
        "metric",
        "configs",
        "best CV value",
        f"fold std of the {top} best (median)",
        f"std of the {top} best CV means",
        "ratio",
    ]
    rows = [
        [
            f"{r.dataset} {r.model}",
            r.metric,
            r.n_configs,
            f"{r.best_value:.4g}",
            f"{r.top_fold_std_median:.3g}",
            f"{r.top_mean_std:.3g}",
            f"{r.noise_ratio:.1f}",
        ]
        for r in summary.itertuples()
    ]
    return "\n".join(markdown_rows(header, rows)) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.table_noise", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--tables", type=Path, default=TABLES)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument(
        "--min-rows",
        type=int,
        default=0,
        help="skip tables with fewer evaluated configs (partial builds)",
    )
    ap.add_argument(
        "--results",
        type=Path,
        default=None,
        help="directory with summary_by_dataset.csv: also write noise_vs_rtc.csv",
    )
    args = ap.parse_args(argv)
    summary = noise_summary(args.tables, args.top, args.min_rows)
    if summary.empty:
        print(f"no tables under {args.tables}", file=sys.stderr)
        return 1
    summary.to_csv(args.tables / "noise.csv", index=False, float_format="%.5g")
    (args.tables / "noise.md").write_text(to_markdown(summary, args.top))
    print(to_markdown(summary, args.top))
    if args.results is not None:
        by_dataset_path = args.results / "summary_by_dataset.csv"
        if not by_dataset_path.exists():
            print(f"no {by_dataset_path}", file=sys.stderr)
            return 1
        correlation = noise_vs_rtc(summary, pd.read_csv(by_dataset_path))
        correlation.to_csv(args.results / "noise_vs_rtc.csv", index=False, float_format="%.4g")
        print(correlation.to_string(index=False, float_format="%.3f"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
