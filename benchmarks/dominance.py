"""Which baseline settings dominate ours: more iterations saved at equal or smaller loss.

Reads a ``summary*.csv`` of ``paper_replay.py`` or ``compare.py`` and, per model,
lists for every setting of ours (``autoterm_*``, ``authors_*``) the baseline
settings with ``rtc >= ours`` and ``ryc >= ours`` over the same number of runs.

    python benchmarks/dominance.py benchmarks/results/paper_replay/summary_seed0.csv
"""

from __future__ import annotations

import sys

import pandas as pd

OURS = ("autoterm", "authors")


def dominated(summary: pd.DataFrame) -> pd.DataFrame:
    s = summary[summary["model"] != "all"]
    ours, base = s[s.method.str.startswith(OURS)], s[~s.method.str.startswith(OURS)]
    rows = []
    for _, o in ours.iterrows():
        better = base[(base.model == o.model) & (base.n_runs == o.n_runs)
                      & (base.rtc >= o.rtc) & (base.ryc >= o.ryc)]
        rows.append({"method": o.method, "model": o.model, "rtc": o.rtc, "ryc": o.ryc,
                     "dominated_by": ", ".join(f"{r.method} ({r.rtc:.3f}, {r.ryc:.4f})"
                                               for _, r in better.iterrows())})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(f"== {path}")
        with pd.option_context("display.width", 250, "display.max_colwidth", 120):
            print(dominated(pd.read_csv(path)).to_string(index=False, float_format="%.4f"))
