"""A stopping rule fitted on development trajectories, scored by leaving datasets out.

Candidate (d) of the stopping-rule issue: instead of one statistic against one
knob, a logistic regression over several numbers of each check predicts whether
stopping now would leave at most 0.25 x the incumbent's error of validation gain
in the run (the validation oracle's label), and the rule stops at the first check
whose predicted probability reaches ``tau`` (the knob). Features, all scale-free
and read from the per-check trace that ``paper_replay --methods frontier``
writes (``autoterm_checks.csv.gz``): log of expected regret / error and of the
0.5, 0.9 and 0.95 regret quantiles / error, trials without improvement / n,
log n, log(1 + trials without improvement).

Scored like every family in ``frontier``: in-sample (fit and ``tau`` on all
runs) and leave-datasets-out (5 groups: the model and ``tau`` chosen on four,
scored on the fifth), best mean RTC at mean RYC >= -L.

    python -m benchmarks.learned_rule benchmarks/results/frontier/paper/autoterm_checks.csv.gz \\
        --runs benchmarks/paper_runs --out benchmarks/results/frontier/learned_rule.csv
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import paper_replay as pr
from benchmarks._common import standard_error
from benchmarks.frontier import LOSS_BUDGETS, dataset_folds
from benchmarks.sweep_checks import runs_with_checks

TAUS = tuple(np.round(np.r_[np.linspace(0.3, 0.95, 27), 0.97, 0.98, 0.99], 4))
LABEL_FACTOR = 0.25
FEATURES = ("log_expected", "log_q0.5", "log_q0.9", "log_q0.95", "since_frac", "log_n", "log_since")


def check_features(trace: pd.DataFrame) -> pd.DataFrame:
    err = trace.stat_error.astype(float)

    def ratio(col: str) -> pd.Series:
        return np.log(np.clip(trace[col].astype(float) / err, 1e-3, 1e3))

    since = trace.trials_without_improvement.astype(float)
    return pd.DataFrame(
        {
            "log_expected": ratio("expected_regret"),
            "log_q0.5": ratio("regret_q0.5"),
            "log_q0.9": ratio("regret_q0.9"),
            "log_q0.95": ratio("regret_q0.95"),
            "since_frac": since / trace.n,
            "log_n": np.log(trace.n),
            "log_since": np.log1p(since),
        }
    ).fillna(0.0)


def load(checks: Path, runs_dir: Sequence[Path]) -> list[dict]:
    """One entry per run: its checks' features, labels and outcome of stopping at each n."""
    out = []
    for run, t in runs_with_checks(pd.read_csv(checks), runs_dir):
        last = pr.last_check(run)
        t = t[t.n <= last]
        best = run.evidence.best_so_far()
        gain = best[t.n.to_numpy() - 1] - best[last - 1]
        label = (gain <= LABEL_FACTOR * t.stat_error.to_numpy(float)).astype(int)
        outcomes = {int(n): pr.outcome(run.evidence, int(n), last) for n in t.n}
        outcomes[last] = pr.outcome(run.evidence, last, last)
        out.append(
            {
                "dataset": run.dataset,
                "model": run.model,
                "seed": run.seed,
                "n": t.n.to_numpy(),
                "X": check_features(t).to_numpy(),
                "y": label,
                "last": last,
                "outcomes": outcomes,
            }
        )
    return out


def _stop(model, run: dict, tau: float) -> dict:
    p = model.predict_proba(run["X"])[:, 1]
    hit = np.flatnonzero(p >= tau)
    return run["outcomes"][int(run["n"][hit[0]])] if hit.size else run["outcomes"][run["last"]]


def _fit(runs: list[dict]):
    from sklearn.linear_model import LogisticRegression

    X = np.vstack([r["X"] for r in runs])
    y = np.concatenate([r["y"] for r in runs])
    return LogisticRegression(C=1.0, max_iter=2000).fit(X, y)


def _best_tau(model, runs: list[dict], budget: float) -> float | None:
    best, best_rtc = None, -1.0
    for tau in TAUS:
        res = [_stop(model, r, tau) for r in runs]
        rtc, ryc = np.mean([o["rtc"] for o in res]), np.mean([o["ryc"] for o in res])
        if ryc >= -budget and rtc > best_rtc:
            best, best_rtc = tau, rtc
    return best


def evaluate(runs: list[dict], k: int = 5) -> pd.DataFrame:
    rows = []
    for model_name in sorted({r["model"] for r in runs}):
        mine = [r for r in runs if r["model"] == model_name]
        fitted = _fit(mine)
        folds = dataset_folds([r["dataset"] for r in mine], k)
        for budget in LOSS_BUDGETS:
            tau = _best_tau(fitted, mine, budget)
            res = [_stop(fitted, r, tau) for r in mine] if tau is not None else []
            rows.append(
                {
                    "model": model_name,
                    "budget": budget,
                    "protocol": "in-sample",
                    "tau": tau,
                    "rtc": np.mean([o["rtc"] for o in res]) if res else 0.0,
                    "ryc": np.mean([o["ryc"] for o in res]) if res else 0.0,
                }
            )
            held = []
            for f in sorted(set(folds.values())):
                train = [r for r in mine if folds[r["dataset"]] != f]
                test = [r for r in mine if folds[r["dataset"]] == f]
                m = _fit(train)
                t = _best_tau(m, train, budget)
                held += (
                    [_stop(m, r, t) for r in test]
                    if t is not None
                    else [{"rtc": 0.0, "ryc": 0.0}] * len(test)
                )
            rtc = np.array([o["rtc"] for o in held])
            rows.append(
                {
                    "model": model_name,
                    "budget": budget,
                    "protocol": "leave-datasets-out",
                    "tau": None,
                    "rtc": rtc.mean(),
                    "se_rtc": standard_error(rtc),
                    "ryc": np.mean([o["ryc"] for o in held]),
                }
            )
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.learned_rule",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("checks", type=Path, help="autoterm_checks.csv.gz of a frontier replay")
    ap.add_argument("--runs", type=Path, nargs="+", required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    result = evaluate(load(args.checks, args.runs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(args.out, index=False, float_format="%.4g")
    print(result.to_string(index=False, float_format="%.4f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
