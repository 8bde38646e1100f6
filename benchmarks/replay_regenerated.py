"""Do the committed replay results still come out of the code? Replay again and compare.

A results file is only evidence while the code in the repository reproduces it.
This replays the chosen methods from scratch (no cache: a fresh temporary
folder) with ``paper_replay.py`` and compares each run's stop with the committed
per-run file. It prints, per method, the runs whose stop is the same and the
mean RTC/RYC both ways, and exits 1 if any stop differs.

    # the rules on logged values and on the trajectory, all 280 runs (~10 s)
    python -m benchmarks.replay_regenerated --methods cheap
    # the peers and the paper's bound, seed 0 (28 runs, ~40 minutes on one core)
    python -m benchmarks.replay_regenerated --methods autoterm optuna_terminator optuna_emmr \\
        --seeds 0
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks import paper_replay as pr
from benchmarks._common import PAPER_RUNS, RESULTS

COMMITTED = RESULTS / "paper_replay" / "per_run_seeds0-9.csv"
KEYS = ["dataset", "model", "seed", "method"]


def compare(new: pd.DataFrame, committed: pd.DataFrame) -> pd.DataFrame:
    """Per method: runs compared, runs with the same stop, mean RTC and RYC both ways."""
    both = new.merge(committed, on=KEYS, suffixes=("", "_committed"))
    both["same"] = (both.n_stop == both.n_stop_committed) & (both.fired == both.fired_committed)
    return (
        both.groupby("method", sort=True)
        .agg(
            runs=("same", "size"),
            same_stop=("same", "sum"),
            rtc=("rtc", "mean"),
            rtc_committed=("rtc_committed", "mean"),
            ryc=("ryc", "mean"),
            ryc_committed=("ryc_committed", "mean"),
        )
        .reset_index()
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.replay_regenerated",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--methods", nargs="+", default=["cheap"])
    ap.add_argument("--seeds", type=int, nargs="*", default=None)
    ap.add_argument("--runs", type=Path, nargs="+", default=[PAPER_RUNS])
    ap.add_argument("--committed", type=Path, default=COMMITTED)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as out:
        replay_args = ["--out", out, "--methods", *args.methods, "--workers", str(args.workers)]
        replay_args += ["--runs", *map(str, args.runs), "--no-progress"]
        if args.seeds is not None:
            replay_args += ["--seeds", *map(str, args.seeds)]
        pr.main(replay_args)
        new = pd.read_csv(Path(out) / "per_run.csv")
    table = compare(new, pd.read_csv(args.committed))
    print(table.to_string(index=False, float_format="%.4f"))
    differ = int((table.runs - table.same_stop).sum())
    print(f"{int(table.runs.sum())} run x method pairs compared, {differ} with another stop")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
