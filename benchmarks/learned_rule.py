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

``--pooled``: one gradient-boosted classifier (scikit-learn's
``HistGradientBoostingClassifier``, depth 3) for every run set and model at once, on
these features plus the trajectory's own signals (log of expected regret / the
capped tolerated error of the default, log of error / |incumbent|, the incumbent's
gain over the last 10 / 30 / 60 trials in error units), each run set weighted
equally; ``tau`` is still chosen per run set, model and L, and the leave-out folds
hold out the same datasets of every run set together. It asks whether a flexible
fit on both run sets finds the stagnation signal that wins the suite's RF tables
without losing the authors' runs:

    python -m benchmarks.learned_rule benchmarks/results/frontier/paper/autoterm_checks.csv.gz \\
        --runs benchmarks/paper_runs --pooled \\
        --also benchmarks/results/frontier/suite/autoterm_checks.csv.gz \\
        benchmarks/results/bo_runs benchmarks/results/surrogate/bo_runs \\
        --out benchmarks/results/frontier/learned_rule_pooled.csv
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
from syne_autoterm.stopping.settings import DEFAULT_RELATIVE_TOLERANCE, tolerated_error

TAUS = tuple(np.round(np.r_[np.linspace(0.3, 0.95, 27), 0.97, 0.98, 0.99], 4))
LABEL_FACTOR = 0.25
FEATURES = ("log_expected", "log_q0.5", "log_q0.9", "log_q0.95", "since_frac", "log_n", "log_since")
TRAJECTORY_FEATURES = ("log_capped", "log_relative_error", "gain_10", "gain_30", "gain_60")


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


def trajectory_features(trace: pd.DataFrame, best: np.ndarray) -> pd.DataFrame:
    """The run's own signals at each check: the default's capped ratio, the noise relative
    to the incumbent, and how much the incumbent gained lately, in error units.
    ``best`` is the running minimum of the objective (``Evidence.best_so_far``)."""
    n = trace.n.to_numpy(int)
    err = trace.stat_error.to_numpy(float)
    incumbent = np.abs(best[n - 1])
    # the default's own tolerated error (settings.tolerated_error), not a copy of its formula
    tolerated = np.array(
        [tolerated_error(e, v, DEFAULT_RELATIVE_TOLERANCE) for e, v in zip(err, incumbent)]
    )

    def log_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(np.clip(a / np.maximum(b, 1e-300), 1e-4, 1e4))

    out = {
        "log_capped": log_ratio(trace.expected_regret.to_numpy(float), tolerated),
        "log_relative_error": log_ratio(err, np.maximum(incumbent, 1e-12)),
    }
    for window in (10, 30, 60):
        gained = best[np.maximum(n - 1 - window, 0)] - best[n - 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"gain_{window}"] = np.log1p(np.maximum(gained, 0.0) / np.maximum(err, 1e-300))
    return pd.DataFrame(out, index=trace.index)


def load(
    checks: Path, runs_dir: Sequence[Path], run_set: str = "", trajectory: bool = False
) -> list[dict]:
    """One entry per run: its checks' features, labels and outcome of stopping at each n.
    A check without a finite expected regret gets probability 0 (never stops), as the
    default does not stop on it."""
    out = []
    for run, t in runs_with_checks(pd.read_csv(checks), runs_dir):
        last = pr.last_check(run)
        t = t[t.n <= last]
        best = run.evidence.best_so_far()
        gain = best[t.n.to_numpy() - 1] - best[last - 1]
        label = (gain <= LABEL_FACTOR * t.stat_error.to_numpy(float)).astype(int)
        outcomes = {int(n): pr.outcome(run.evidence, int(n), last) for n in t.n}
        outcomes[last] = pr.outcome(run.evidence, last, last)
        features = check_features(t)
        if trajectory:
            features = pd.concat([features, trajectory_features(t, best)], axis=1)
        out.append(
            {
                "set": run_set,
                "dataset": run.dataset,
                "model": run.model,
                "seed": run.seed,
                "n": t.n.to_numpy(),
                "X": features.to_numpy(float),
                "usable": np.isfinite(t.expected_regret.to_numpy(float)),
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


def _finite(X: np.ndarray) -> np.ndarray:
    return np.nan_to_num(X, nan=0.0, posinf=10.0, neginf=-10.0)


def _fit_pooled(runs: list[dict]):
    """One gradient-boosted classifier over every run set, each set weighted equally."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    sizes = {s: sum(r["set"] == s for r in runs) for s in {r["set"] for r in runs}}
    X = _finite(np.vstack([r["X"] for r in runs]))
    y = np.concatenate([r["y"] for r in runs])
    w = np.concatenate([np.full(len(r["y"]), 1.0 / sizes[r["set"]]) for r in runs])
    model = HistGradientBoostingClassifier(
        max_depth=3, learning_rate=0.05, max_iter=150, min_samples_leaf=200, random_state=0
    )
    return model.fit(X, y, sample_weight=w / w.mean())


def _pooled_stop(p: np.ndarray, run: dict, tau: float | None) -> dict:
    if tau is None:  # nothing met the budget in training: the rule does not stop
        return {"rtc": 0.0, "ryc": 0.0}
    hit = np.flatnonzero(p >= tau)
    return run["outcomes"][int(run["n"][hit[0]])] if hit.size else run["outcomes"][run["last"]]


def _pooled_tau(probs: list[np.ndarray], runs: list[dict], budget: float):
    best = None
    for tau in TAUS:
        res = [_pooled_stop(p, r, tau) for p, r in zip(probs, runs)]
        rtc, ryc = np.mean([o["rtc"] for o in res]), np.mean([o["ryc"] for o in res])
        if ryc >= -budget and (best is None or rtc > best[1]):
            best = (tau, rtc, ryc)
    return best


def _probabilities(model, runs: list[dict]) -> list[np.ndarray]:
    return [np.where(r["usable"], model.predict_proba(_finite(r["X"]))[:, 1], 0.0) for r in runs]


def evaluate_pooled(runs: list[dict], k: int = 5) -> pd.DataFrame:
    """As :func:`evaluate`, with one fit over all run sets and models (``--pooled``)."""
    for run_set in {r["set"] for r in runs}:
        for model_name in {r["model"] for r in runs if r["set"] == run_set}:
            mine = [r for r in runs if (r["set"], r["model"]) == (run_set, model_name)]
            folds = dataset_folds([r["dataset"] for r in mine], k)
            for r in mine:
                r["fold"] = folds[r["dataset"]]
    groups = sorted({(r["set"], r["model"]) for r in runs})
    fitted = _fit_pooled(runs)
    probs = _probabilities(fitted, runs)
    rows = []
    for group in groups:
        idx = [i for i, r in enumerate(runs) if (r["set"], r["model"]) == group]
        for budget in LOSS_BUDGETS:
            best = _pooled_tau([probs[i] for i in idx], [runs[i] for i in idx], budget)
            rtc, ryc = (best[1], best[2]) if best else (0.0, 0.0)
            rows.append(
                {
                    "set": group[0],
                    "model": group[1],
                    "budget": budget,
                    "protocol": "in-sample",
                    "tau": best[0] if best else None,
                    "rtc": rtc,
                    "ryc": ryc,
                }
            )
    held: dict[tuple, list[dict]] = {(g, b): [] for g in groups for b in LOSS_BUDGETS}
    for f in range(k):
        train = [r for r in runs if r["fold"] != f]
        model = _fit_pooled(train)
        p_train = _probabilities(model, train)
        for group in groups:
            ti = [i for i, r in enumerate(train) if (r["set"], r["model"]) == group]
            test = [r for r in runs if r["fold"] == f and (r["set"], r["model"]) == group]
            p_test = _probabilities(model, test)
            for budget in LOSS_BUDGETS:
                best = _pooled_tau([p_train[i] for i in ti], [train[i] for i in ti], budget)
                tau = best[0] if best else None
                held[(group, budget)] += [_pooled_stop(p, r, tau) for p, r in zip(p_test, test)]
    for (group, budget), res in held.items():
        rtc = np.array([o["rtc"] for o in res])
        rows.append(
            {
                "set": group[0],
                "model": group[1],
                "budget": budget,
                "protocol": "leave-datasets-out",
                "tau": None,
                "rtc": rtc.mean(),
                "se_rtc": standard_error(rtc),
                "ryc": np.mean([o["ryc"] for o in res]),
            }
        )
    return pd.DataFrame(rows)


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
    ap.add_argument(
        "--pooled",
        action="store_true",
        help="one gradient-boosted fit over every run set and model, with trajectory features",
    )
    ap.add_argument(
        "--also",  # a run set is named by its checks file's folder (paper, suite)
        nargs="+",
        type=Path,
        action="append",
        default=[],
        metavar="CHECKS RUNS",
        help="with --pooled: another run set, its checks file then its run folders",
    )
    args = ap.parse_args(argv)
    if args.pooled:
        runs = load(args.checks, args.runs, args.checks.parent.name, trajectory=True)
        for checks, *dirs in args.also:
            if not dirs:
                ap.error("--also needs a checks file and at least one run folder")
            runs += load(checks, dirs, checks.parent.name, trajectory=True)
        result = evaluate_pooled(runs)
    else:
        result = evaluate(load(args.checks, args.runs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(args.out, index=False, float_format="%.4g")
    print(result.to_string(index=False, float_format="%.4f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
