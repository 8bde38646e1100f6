"""Which baseline settings dominate ours: more iterations saved at equal or smaller loss.

Reads a ``summary*.csv`` of ``paper_replay`` or ``suite_compare`` and, per model,
lists for every setting of ours (``autoterm_*``, ``authors_*``) the baseline
settings with ``rtc >= ours`` and ``ryc >= ours`` over the same number of runs.

Means alone can call a setting dominated by noise. With the ``per_run*.csv``
written beside the summary (found automatically), each dominating pair also gets
the paired difference baseline - ours over the same runs, with its standard
error: ``d_rtc`` +- ``se``, ``d_ryc`` +- ``se``. A pair is ``clear`` when the
baseline saves more by over 2 standard errors and loses no more than 2 standard
errors worse in RYC.

    python -m benchmarks.dominance benchmarks/results/paper_replay/summary_subset.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from benchmarks._common import standard_error

OURS = ("autoterm", "authors")


def paired_difference(
    per_run: pd.DataFrame, baseline: str, ours: str, model: str
) -> dict[str, float]:
    """Mean and standard error of baseline - ours, run by run."""
    keys = ["dataset", "model", "seed"]
    b = per_run[(per_run.method == baseline) & (per_run.model == model)].set_index(keys)
    o = per_run[(per_run.method == ours) & (per_run.model == model)].set_index(keys)
    both = b[["rtc", "ryc"]].join(o[["rtc", "ryc"]], how="inner", suffixes=("_b", "_o"))
    if len(both) < 2:
        return {}
    d_rtc, d_ryc = both.rtc_b - both.rtc_o, both.ryc_b - both.ryc_o
    return {
        "n": len(both),
        "d_rtc": float(d_rtc.mean()),
        "se_rtc": standard_error(d_rtc),
        "d_ryc": float(d_ryc.mean()),
        "se_ryc": standard_error(d_ryc),
    }


def dominated(summary: pd.DataFrame, per_run: pd.DataFrame | None = None) -> pd.DataFrame:
    s = summary[summary["model"] != "all"]
    ours, base = s[s.method.str.startswith(OURS)], s[~s.method.str.startswith(OURS)]
    rows = []
    for _, o in ours.iterrows():
        better = base[
            (base.model == o.model)
            & (base.n_runs == o.n_runs)
            & (base.rtc >= o.rtc)
            & (base.ryc >= o.ryc)
        ]
        entries = []
        for _, r in better.iterrows():
            text = f"{r.method} ({r.rtc:.3f}, {r.ryc:.4f})"
            if per_run is not None:
                d = paired_difference(per_run, r.method, o.method, o.model)
                if d:
                    clear = d["d_rtc"] > 2 * d["se_rtc"] and d["d_ryc"] >= -2 * d["se_ryc"]
                    text += (
                        f" [d_rtc {d['d_rtc']:+.3f}+-{d['se_rtc']:.3f}, d_ryc "
                        f"{d['d_ryc']:+.4f}+-{d['se_ryc']:.4f}{', clear' if clear else ''}]"
                    )
            entries.append(text)
        rows.append(
            {
                "method": o.method,
                "model": o.model,
                "rtc": o.rtc,
                "ryc": o.ryc,
                "dominated_by": "; ".join(entries),
            }
        )
    return pd.DataFrame(rows)


def _per_run_beside(summary_path: Path) -> pd.DataFrame | None:
    candidate = summary_path.with_name(summary_path.name.replace("summary", "per_run", 1))
    return pd.read_csv(candidate) if candidate.exists() else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.dominance", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "summaries",
        nargs="+",
        type=Path,
        help="summary*.csv files (per_run*.csv beside each is used when present)",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="also write the table(s) here as CSV (with a 'summary' column)",
    )
    args = ap.parse_args(argv)
    tables = []
    for path in args.summaries:
        if not path.exists():
            ap.error(f"no such summary: {path}")
        table = dominated(pd.read_csv(path), _per_run_beside(path))
        print(f"== {path}")
        with pd.option_context("display.width", 250, "display.max_colwidth", 400):
            print(table.to_string(index=False, float_format="%.4f"))
        tables.append(table.assign(summary=str(path)))
    if args.out is not None:
        pd.concat(tables).to_csv(args.out, index=False, float_format="%.5g")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
