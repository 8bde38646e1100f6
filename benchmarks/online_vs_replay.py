"""The default AutoTermination online (inside Syne Tune's simulator) against its replay.

A rule is only as good as its benchmark says if the object that runs inside a
``Tuner`` decides as the replay does. For each (table, seed) this runs the
BOTorch searcher over a real table in the simulator (``UserBlackboxBackend``,
as ``suite_compare`` does) with the default ``AutoTermination`` as stop criterion,
and replays the same rule object's settings on the stored uninterrupted run of
that seed (``benchmarks/results/bo_runs``: the same seed follows the same
trajectory until the criterion stops it). Writes one row per run with both
stops to ``--out``.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m benchmarks.online_vs_replay \\
        --error-scale 1.414 --seeds 0 1 --workers 2 \\
        --out benchmarks/results/frontier/online_vs_replay.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from benchmarks._common import MODEL_CODES, RESULTS, TABLES

# ten real tables across the three models (datasets of different noise)
DEFAULT_TABLES = (
    "diabetes__rf",
    "phoneme__rf",
    "penbased__rf",
    "spambase__rf",
    "magic__rf",
    "breast_cancer__xgboost",
    "phoneme__xgboost",
    "modeldata-credit_data__xgboost",
    "diabetes__mlp",
    "breast_cancer__mlp",
)


def _one(args: tuple[str, int, float, int]) -> dict:
    table, seed, error_scale, iterations = args
    from benchmarks import paper_replay as pr
    from benchmarks import suite_compare
    from syne_autoterm import AutoTermination
    from syne_autoterm import compare as replay_lib

    kwargs = {"posterior": "sklearn", "seed": 0, "error_scale": error_scale}
    t0 = time.perf_counter()
    _, online = suite_compare.bo_trajectory(
        TABLES / f"{table}.csv.gz", seed, iterations, online=True, criterion_kwargs=kwargs
    )
    seconds = time.perf_counter() - t0
    dataset, model = table.split("__")
    code = MODEL_CODES[model]
    (run,) = pr.load_runs(RESULTS / "bo_runs" / f"{dataset}__{code}.csv.gz", [seed])
    rule = AutoTermination("value", "min", "fold_", config_space=run.config_space, **kwargs)
    res = replay_lib.replay(rule, run.evidence, rule.warm_up, pr.last_check(run))
    online_stop = online["online_stop"]
    return {
        "dataset": dataset,
        "model": code,
        "seed": seed,
        "error_scale": error_scale,
        "online_stop": online_stop if online_stop == online_stop else None,
        "replay_stop": res.n_stop if res.fired else None,
        "agree": (online_stop if online_stop == online_stop else None)
        == (res.n_stop if res.fired else None),
        "online_seconds": round(seconds, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.online_vs_replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--tables", nargs="*", default=list(DEFAULT_TABLES))
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    ap.add_argument("--error-scale", type=float, required=True)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    todo = [(t, s, args.error_scale, args.iterations) for t in args.tables for s in args.seeds]
    if args.workers > 1:
        import multiprocessing as mp

        with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as pool:
            rows = list(pool.map(_one, todo))
    else:
        rows = [_one(t) for t in todo]
    df = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    print(df.to_string(index=False))
    print(f"online == replay in {int(df.agree.sum())} of {len(df)} runs")
    return 0 if bool(df.agree.all()) else 1


if __name__ == "__main__":
    sys.exit(main())
