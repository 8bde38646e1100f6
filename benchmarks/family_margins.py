"""Worst and mean margin of any family (ours or a candidate) over the best competitor.

Why: ``frontier.py --check`` judges ours only; a candidate is compared with ours on the
same question by reading the frontier tables ``frontier.py`` wrote, in-sample
(``<prefix>_frontier.csv``) and leaving datasets out (``<prefix>_leave_out.csv``).
A margin is the family's best RTC within the budget minus the best competitor's, per
model and budget L; the worst one is what ``--check`` looks at.

    python -m benchmarks.family_margins benchmarks/results/frontier/paper \\
        benchmarks/results/frontier/suite --families ours cand_relcap0.02
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def family_margins(table: pd.DataFrame, family: str) -> pd.DataFrame:
    """Per (model, budget): the family's RTC and RYC, the best competitor's RTC, the margin.

    ``table`` has the columns of ``frontier.py``'s outputs: model, budget, family, role,
    rtc, ryc (a family with no setting within a budget has RTC 0 there)."""
    rows = []
    for (model, budget), cell in table.groupby(["model", "budget"], sort=True):
        competitors = cell[cell.role == "competitor"]
        mine = cell[cell.family == family]
        if competitors.empty or mine.empty:
            continue
        best = competitors.loc[competitors.rtc.idxmax()]
        rows.append(
            {
                "model": model,
                "budget": budget,
                "rtc": float(mine.rtc.iloc[0]),
                "ryc": float(mine.ryc.iloc[0]),
                "best_other": float(best.rtc),
                "best_other_family": best.family,
                "margin": float(mine.rtc.iloc[0]) - float(best.rtc),
            }
        )
    return pd.DataFrame(rows)


def summary(prefix: Path, families: Sequence[str]) -> pd.DataFrame:
    """Worst and mean margin of each family, in-sample and leaving datasets out."""
    rows = []
    for kind, suffix in (("in-sample", "_frontier.csv"), ("leave-out", "_leave_out.csv")):
        path = Path(f"{prefix}{suffix}")
        if not path.exists():
            continue
        table = pd.read_csv(path)
        for family in families:
            m = family_margins(table, family)
            if m.empty:
                continue
            worst = m.loc[m.margin.idxmin()]
            rows.append(
                {
                    "runs": prefix.name,
                    "kind": kind,
                    "family": family,
                    "worst_margin": round(float(worst.margin), 3),
                    "worst_at": f"{worst.model} L={worst.budget:g}",
                    "mean_margin": round(float(m.margin.mean()), 3),
                    "cells": len(m),
                }
            )
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.family_margins", description=__doc__)
    ap.add_argument("prefixes", nargs="+", type=Path, help="frontier.py --out prefixes")
    ap.add_argument("--families", nargs="+", default=["ours"])
    args = ap.parse_args(argv)
    out = pd.concat([summary(p, args.families) for p in args.prefixes], ignore_index=True)
    print(out.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
