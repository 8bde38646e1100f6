"""Does keeping the GP's hyperparameters between refit points change the decisions?

``AutoTermination(refit_growth=g)`` optimises the GP's hyperparameters at a fixed
schedule of counts (20, then each ``g`` times the previous) and only conditions
the GP on new trials in between. This replays the default rule on stored BO runs
(the authors' format, ``paper_replay.run_files``) with ``refit_growth`` = 1.0
(optimised at every check) and with the default, at a scale that never fires so
that every check is recorded, and reads off, at each ``error_scale`` of the
frontier grid (the default patience applied), where each would have stopped.

Writes ``--out`` (one row per run, scale and growth: the stop, RTC, RYC) and
prints the agreement of the stops at the default scale and over the grid, the
mean RTC/RYC of both at the default, and the seconds per check.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m benchmarks.refit_agreement \\
        --seeds 0 --workers 2 --out benchmarks/results/frontier/refit_agreement.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import paper_replay as pr
from benchmarks._common import PAPER_RUNS
from benchmarks.sweeps import COARSE_ERROR_SCALES

GROWTHS = (1.0, 1.1)


def _one(args: tuple[str, int, float]) -> list[dict]:
    path, seed, growth = args
    from syne_autoterm import AutoTermination
    from syne_autoterm import compare as replay_lib
    from syne_autoterm.stopping.settings import DEFAULT_PATIENCE, stops_on_record

    (run,) = pr.load_runs(path, [seed])
    last = pr.last_check(run)
    rule = AutoTermination(
        "value",
        "min",
        "fold_",
        config_space=run.config_space,
        warm_up=pr.FIRST_CHECK,
        posterior="sklearn",
        seed=0,
        error_scale=1e-12,
        patience=None,
        refit_growth=growth,
    )
    start = time.perf_counter()
    base = replay_lib.replay(rule, run.evidence, pr.FIRST_CHECK, last)
    seconds = (time.perf_counter() - start) / max(1, len(base.history))
    rows = []
    for scale, res in replay_lib.read_off(
        base, COARSE_ERROR_SCALES, lambda r, c: stops_on_record(r, c, DEFAULT_PATIENCE)
    ).items():
        out = pr.outcome(run.evidence, res.n_stop, last)
        rows.append(
            {
                "dataset": run.dataset,
                "model": run.model,
                "seed": seed,
                "refit_growth": growth,
                "error_scale": scale,
                "fired": res.fired,
                "n_stop": res.n_stop,
                "rtc": out["rtc"],
                "ryc": out["ryc"],
                "seconds_per_check": seconds,
            }
        )
    return rows


def agreement(rows: pd.DataFrame, default_scale: float) -> pd.DataFrame:
    """Per error_scale: the share of runs where both growths stop at the same count."""
    wide = rows.pivot_table(
        index=["dataset", "model", "seed", "error_scale"], columns="refit_growth", values="n_stop"
    ).dropna()
    a, b = GROWTHS
    same = (wide[a] == wide[b]).groupby(level="error_scale").mean()
    close = ((wide[a] - wide[b]).abs() <= 5).groupby(level="error_scale").mean()
    out = pd.DataFrame({"same_stop": same, "within_5": close}).reset_index()
    out["default"] = np.isclose(out.error_scale, default_scale)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from syne_autoterm.stopping.settings import DEFAULT_ERROR_SCALE

    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.refit_agreement",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--runs", type=Path, nargs="+", default=[PAPER_RUNS])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    tasks = [(str(p), s, g) for p in pr.run_files(args.runs) for s in args.seeds for g in GROWTHS]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        rows = pd.DataFrame([r for part in pool.map(_one, tasks) for r in part])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(args.out, index=False, float_format="%.6g")
    agree = agreement(rows, DEFAULT_ERROR_SCALE)
    at_default = rows[np.isclose(rows.error_scale, DEFAULT_ERROR_SCALE)]
    print(f"{rows[['dataset', 'model', 'seed']].drop_duplicates().shape[0]} runs")
    print("at the default scale:")
    print(
        at_default.groupby(["model", "refit_growth"])[["rtc", "ryc", "seconds_per_check"]]
        .mean()
        .to_string(float_format="%.4f")
    )
    print(agree[agree.default].to_string(index=False, float_format="%.3f"))
    print(
        f"over the {len(agree)} scales: same stop {agree.same_stop.mean():.3f} "
        f"(min {agree.same_stop.min():.3f}), within 5 trials {agree.within_5.mean():.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
