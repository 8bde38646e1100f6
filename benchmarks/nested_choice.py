"""Choose a structural constant inside the leave-datasets-out folds, then score it.

Why: a candidate family with a constant of its own (``cand_relcap<rho>``: one family per
``rho``) can be picked by the check it is scored on, which is the overfitting the
selection protocol forbids. Here, for each of 5 folds of datasets (per run set and
model, as ``frontier.py``), the constant is chosen on the other 4 folds of *both* run
sets pooled (the variant whose in-sample frontier RTC, summed over models and budgets,
is largest), then the knob per (model, L) on the same 4 folds, and the held-out fold
is scored. Each variant with its constant fixed is scored the same way beside it: ours (the
default, ``relative_tolerance=0.02``), 0.01 and 0.05, each with the floor of a tenth of
the error, and "none" (no cap, the default until 2026-12-02).

    python -m benchmarks.nested_choice \\
        --per-run benchmarks/results/frontier/paper/per_run.csv.gz \\
                  benchmarks/results/frontier/suite/per_run.csv.gz \\
        --out benchmarks/results/frontier/nested_relcap.csv
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks.frontier import best_under, dataset_folds

BUDGETS = (0.0025, 0.005, 0.01, 0.02)
FOLDS = 5
#: variant name -> method-name pattern (the knob in group 1); ours is the variant "0.02"
VARIANTS = {
    "none": r"cand_nocap_([0-9.e-]+)$",
    "0.01": r"cand_relcap0\.01_([0-9.e-]+)$",
    "0.02": r"autoterm_x([0-9.e-]+)$",
    "0.05": r"cand_relcap0\.05_([0-9.e-]+)$",
}


def variant_rows(per_run: pd.DataFrame, variants: dict[str, str]) -> pd.DataFrame:
    """The rows of each variant's settings, with ``variant`` and ``knob`` columns."""
    frames = []
    for name, pattern in variants.items():
        knob = per_run.method.str.extract(pattern, expand=False)
        part = per_run[knob.notna()].assign(variant=name, knob=knob[knob.notna()].astype(float))
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def assign_folds(rows: pd.DataFrame, folds: int = FOLDS) -> pd.DataFrame:
    """Fold of each dataset, per run set and model, as ``frontier.py`` deals them."""
    fold = {}
    for (run_set, model), g in rows.groupby(["run_set", "model"]):
        for d, f in dataset_folds(g.dataset.unique(), folds).items():
            fold[(run_set, model, d)] = f
    keys = zip(rows.run_set, rows.model, rows.dataset)
    return rows.assign(fold=[fold[k] for k in keys])


def best_knob(train: pd.DataFrame, budget: float) -> tuple[float | None, float]:
    """The knob ``frontier.py`` would choose (largest mean RTC with mean RYC >= -budget),
    and that RTC (0 if none)."""
    means = train.groupby("knob")[["rtc", "ryc"]].mean().reset_index()
    best = best_under(means, "ryc", -budget, at_least=True)
    return (None, 0.0) if best is None else (float(best.knob), float(best.rtc))


def held_out(rows: pd.DataFrame, fold: int, budget: float) -> pd.DataFrame:
    """One variant's rows of the held-out fold at the knob chosen on the other folds, per
    run set and model; a variant with no setting within the budget runs to the end."""
    out = []
    for _, g in rows.groupby(["run_set", "model"]):
        train, test = g[g.fold != fold], g[g.fold == fold]
        knob, _ = best_knob(train, budget)
        if knob is None:
            picked = test.drop_duplicates(["dataset", "seed"]).assign(rtc=0.0, ryc=0.0)
        else:
            picked = test[test.knob == knob]
        out.append(picked)
    return pd.concat(out, ignore_index=True)


def choose_variant(train: pd.DataFrame) -> tuple[str, dict[str, float]]:
    """The variant whose in-sample frontier RTC, summed over run sets, models and budgets,
    is largest on ``train``."""
    score = {}
    for name, g in train.groupby("variant"):
        score[name] = sum(
            best_knob(gm, b)[1] for _, gm in g.groupby(["run_set", "model"]) for b in BUDGETS
        )
    return max(score, key=lambda k: score[k]), score


def nested(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(mean RTC / RYC per run set, model, budget and variant, with "nested" the variant
    chosen inside each fold; the choice per fold)."""
    scored, choices = [], []
    for fold in range(FOLDS):
        choice, score = choose_variant(rows[rows.fold != fold])
        choices.append(
            {"fold": fold, "chosen": choice, **{f"score_{k}": v for k, v in score.items()}}
        )
        for name in ["nested", *sorted(rows.variant.unique())]:
            part = rows[rows.variant == (choice if name == "nested" else name)]
            for budget in BUDGETS:
                scored.append(held_out(part, fold, budget).assign(variant=name, budget=budget))
    result = (
        pd.concat(scored, ignore_index=True)
        .groupby(["run_set", "model", "budget", "variant"])[["rtc", "ryc"]]
        .mean()
        .reset_index()
    )
    return result, pd.DataFrame(choices)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.nested_choice", description=__doc__)
    ap.add_argument("--per-run", nargs="+", type=Path, required=True, help="one file per run set")
    ap.add_argument("--out", type=Path, default=None, help="CSV of the nested leave-out frontier")
    args = ap.parse_args(argv)
    frames = []
    for path in args.per_run:
        run_set = re.sub(r"[^a-z0-9_]", "", path.parent.name.lower()) or path.stem
        frames.append(variant_rows(pd.read_csv(path), VARIANTS).assign(run_set=run_set))
    rows = assign_folds(pd.concat(frames, ignore_index=True))
    result, choices = nested(rows)
    print(choices.round(3).to_string(index=False))
    wide = result.pivot_table(index=["run_set", "model", "budget"], columns="variant")
    print(wide.round(4).to_string())
    if args.out is not None:
        result.to_csv(args.out, index=False, float_format="%.5g")
        choices.to_csv(args.out.with_name(args.out.stem + "_choices.csv"), index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
