"""Worst and mean margin of any family (ours or a candidate) over the best competitor.

Why: ``frontier.py --check`` judges ours only; a candidate is compared with ours on the
same question by reading the frontier tables ``frontier.py`` wrote, in-sample
(``<prefix>_frontier.csv``) and leaving datasets out (``<prefix>_leave_out.csv``).
A margin is the family's best RTC within the budget minus the best competitor's, per
model and budget L (``frontier.margins``); the worst one is what ``--check`` looks at.

    python -m benchmarks.family_margins benchmarks/results/frontier/paper \\
        benchmarks/results/frontier/suite --families ours cand_relcap0.02
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks.frontier import margins


def summary(prefix: Path, families: Sequence[str]) -> pd.DataFrame:
    """Worst and mean margin of each family, in-sample and leaving datasets out."""
    rows = []
    for kind, suffix in (("in-sample", "_frontier.csv"), ("leave-out", "_leave_out.csv")):
        path = Path(f"{prefix}{suffix}")
        if not path.exists():
            continue
        table = pd.read_csv(path)
        for family in families:
            m = margins(table, family)
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
