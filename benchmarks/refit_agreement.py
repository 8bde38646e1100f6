"""Does keeping the GP's hyperparameters between refit points change the decisions?

``AutoTermination(refit_growth=g)`` optimises the GP's hyperparameters at a fixed
schedule of counts (20, then each ``g`` times the previous) and only conditions
the GP on new trials in between. This replays the default rule on stored BO runs
(the authors' format, ``paper_replay.run_files``) with ``refit_growth`` = 1.0
(optimised at every check) and with the default, at a scale that never fires so
that every check is recorded, and reads off, at each ``error_scale`` of the
frontier grid (the default patience applied), where each would have stopped.
The schedule changes the bound, not how it is compared, so this reads the rule
without the relative cap, the default when these files were written (before
2026-12-02; "the default scale" below is that rule's, 0.8409).

Writes ``--out`` (one row per run, scale and growth: the stop, RTC, RYC) and
prints the agreement of the stops at the default scale and over the grid, the
mean RTC/RYC of both at the default, and the seconds per check.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m benchmarks.refit_agreement \\
        --seeds 0 --workers 2 --out benchmarks/results/frontier/refit_agreement.csv

How much agreement to expect at all: the rule's statistic is a Monte Carlo
estimate (random domain candidates, sample paths), so the same rule with another
``seed`` is a perturbation of the same size as any other. ``--rule-seed S``
replays only the default schedule with ``AutoTermination(seed=S)`` and, with
``--baseline`` (files written with the default seed 0), prints how often its
stops equal those of seed 0 on the same runs:

    python -m benchmarks.refit_agreement --seeds 0 1 2 --rule-seed 1 \\
        --out benchmarks/results/frontier/refit_agreement_ruleseed1.csv \\
        --baseline benchmarks/results/frontier/refit_agreement.csv \\
        benchmarks/results/frontier/refit_agreement_seed1.csv \\
        benchmarks/results/frontier/refit_agreement_seed2.csv

Which of its two random parts moves the stops: ``--n-paths N`` replays the default
schedule with ``PathSampling(n_paths=N)``: the same domain candidates (drawn first from
the same seed) and other sample paths, compared with ``--baseline`` as above:

    python -m benchmarks.refit_agreement --seeds 0 1 2 --n-paths 128 \\
        --out benchmarks/results/frontier/refit_agreement_paths128.csv \\
        --baseline <the three files above>

Whether the schedule changes what the rule can save (its frontier over the scales,
with standard errors), from the committed files, without a replay:

    python -m benchmarks.refit_agreement --out benchmarks/results/frontier/refit_frontier.csv \\
        --frontier benchmarks/results/frontier/refit_agreement.csv \\
        benchmarks/results/frontier/refit_agreement_seed1.csv \\
        benchmarks/results/frontier/refit_agreement_seed2.csv
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
from benchmarks import sweeps
from benchmarks._common import PAPER_RUNS
from benchmarks.sweeps import COARSE_ERROR_SCALES

GROWTHS = (1.0, 1.1)
# the default error_scale of the rule these files read (without the relative cap)
NO_CAP_DEFAULT_SCALE = 0.8409


def _one(args: tuple[str, int, float, int, int | None]) -> list[dict]:
    path, seed, growth, rule_seed, n_paths = args
    from syne_autoterm import PathSampling
    from syne_autoterm import compare as replay_lib
    from syne_autoterm.stopping.settings import DEFAULT_PATIENCE, stops_on_record

    (run,) = pr.load_runs(path, [seed])
    last = pr.last_check(run)
    rule = sweeps.traced_rule(
        run.config_space,
        pr.FIRST_CHECK,
        seed=rule_seed,
        refit_growth=growth,
        path_sampling=None if n_paths is None else PathSampling(n_paths=n_paths),
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
                **({"rule_seed": rule_seed} if rule_seed else {}),
                **({"n_paths": n_paths} if n_paths is not None else {}),
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


LOSS_BUDGETS = (0.0025, 0.005, 0.01, 0.02)


def frontier_by_growth(rows: pd.DataFrame) -> pd.DataFrame:
    """Per model, loss budget and schedule: the best mean RTC at mean RYC >= -L over the
    scales, with its standard error. Whether keeping the hyperparameters changes what
    the rule can save, beside whether it changes single stops."""
    out = []
    for (model, growth), g in rows.groupby(["model", "refit_growth"], sort=True):
        s = g.groupby("error_scale").agg(
            rtc=("rtc", "mean"), ryc=("ryc", "mean"), se_rtc=("rtc", "sem"), runs=("rtc", "size")
        )
        for budget in LOSS_BUDGETS:
            ok = s[s.ryc >= -budget].sort_values(["rtc", "ryc"], ascending=False)
            best = ok.iloc[0] if len(ok) else None
            out.append(
                {
                    "model": model,
                    "budget": budget,
                    "refit_growth": growth,
                    "error_scale": ok.index[0] if len(ok) else np.nan,
                    "rtc": best.rtc if best is not None else 0.0,
                    "ryc": best.ryc if best is not None else 0.0,
                    "se_rtc": best.se_rtc if best is not None else np.nan,
                    "runs": int(best.runs) if best is not None else 0,
                }
            )
    return pd.DataFrame(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.refit_agreement",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--runs", type=Path, nargs="+", default=[PAPER_RUNS])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--rule-seed",
        type=int,
        default=0,
        help="the rule's own seed; other than 0: only the default schedule is replayed",
    )
    ap.add_argument(
        "--n-paths",
        type=int,
        default=None,
        help="sample paths per check (default 512); given: only the default schedule is "
        "replayed, with the same domain candidates as the baseline and other paths",
    )
    ap.add_argument("--baseline", type=Path, nargs="*", default=[])
    ap.add_argument(
        "--frontier",
        type=Path,
        nargs="+",
        help="no replay: the frontier of each schedule from these files, written to --out",
    )
    args = ap.parse_args(argv)
    if args.frontier:
        table = frontier_by_growth(pd.concat([pd.read_csv(p) for p in args.frontier]))
        table.to_csv(args.out, index=False, float_format="%.5g")
        print(table.to_string(index=False, float_format="%.4f"))
        return 0
    variant = args.rule_seed != 0 or args.n_paths is not None
    growths = (GROWTHS[1],) if variant else GROWTHS
    tasks = [
        (str(p), s, g, args.rule_seed, args.n_paths)
        for p in pr.run_files(args.runs)
        for s in args.seeds
        for g in growths
    ]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        rows = pd.DataFrame([r for part in pool.map(_one, tasks) for r in part])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(args.out, index=False, float_format="%.6g")
    if variant:
        base = pd.concat([pd.read_csv(p) for p in args.baseline]) if args.baseline else None
        return _variant_agreement(rows, base, NO_CAP_DEFAULT_SCALE)
    agree = agreement(rows, NO_CAP_DEFAULT_SCALE)
    at_default = rows[np.isclose(rows.error_scale, NO_CAP_DEFAULT_SCALE)]
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


def _variant_agreement(rows: pd.DataFrame, base: pd.DataFrame | None, default: float) -> int:
    """Print how often a variant of the default schedule (another rule seed, another
    number of paths) stops where the baseline (seed 0, 512 paths) does."""
    if base is None:
        print("no --baseline: nothing to compare with")
        return 0
    keys = ["dataset", "model", "seed", "error_scale"]
    base = base[np.isclose(base.refit_growth, GROWTHS[1])]
    both = rows.merge(base, on=keys, suffixes=("", "_seed0"))
    same = both.n_stop == both.n_stop_seed0
    close = (both.n_stop - both.n_stop_seed0).abs() <= 5
    at = np.isclose(both.error_scale, default)
    by_scale = same.groupby(both.error_scale).mean()
    print(
        f"{int(at.sum())} runs; at the default scale: same stop {same[at].mean():.3f} "
        f"({int(same[at].sum())}), within 5 trials {close[at].mean():.3f}"
    )
    print(
        f"over the {len(by_scale)} scales: same stop {by_scale.mean():.3f} "
        f"(min {by_scale.min():.3f}), within 5 trials {close.mean():.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
