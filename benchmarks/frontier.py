"""Frontiers of stopping rules: the most a rule family saves at each level of test-error loss.

A single rule setting is one point (mean RTC, mean RYC); comparing two points
says little, because every family trades savings for loss along its knob. So
each family is swept over its knob and judged by its frontier: for a loss
budget ``L``, the best mean RTC among its settings whose mean RYC is at least
``-L``. A user who accepts losing ``L`` of test error picks the family that
saves most at that ``L``. The same with the risk users feel rather than the
mean (``--harm``): the best mean RTC among settings whose share of runs losing
more than 1% test error (RYC < -0.01) is at most a budget.

Families are read off the method names (:func:`family_of`). ``ours`` is the
default of :class:`~syne_autoterm.AutoTermination` (methods ``autoterm_*``
other than the paper's bound, which is the family ``paper_bound``);
``cand_<name>_<knob>`` are candidate rules of ours that were not chosen (shown,
never counted as competitors); ``oracle_*`` are reference curves of rules that
know the future (never competitors).

In-sample, every family's knob is chosen on the same runs it is scored on.
With ``--per-run`` the knob is also chosen by leave-datasets-out: the datasets
are split into ``--folds`` groups; for each group a family's setting is chosen
on the other groups (best RTC at mean RYC >= -L there) and scored on the held-out
group, and the held-out runs of all groups are pooled. That is how the rule
would fare on datasets it was never tuned on.

    python -m benchmarks.frontier benchmarks/results/frontier/paper_summary.csv --check
    python -m benchmarks.frontier --per-run benchmarks/results/frontier/paper/per_run.csv \\
        benchmarks/results/frontier/paper/per_run_paper_bound.csv \\
        --out benchmarks/results/frontier/paper --check

With ``--per-run`` the summary is computed from the per-run rows, restricted to
the runs on which ours was replayed, and written as ``<out>_summary.csv``.

``--check`` exits 0 iff, for every model and every ``L``, ours is at least the
best competitor family minus 0.01 RTC (the worst margin is printed last).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import markdown_rows, standard_error

LOSS_BUDGETS = (0.0025, 0.005, 0.01, 0.02)
HARM_BUDGETS = (0.05, 0.1, 0.2, 0.3)
HARM_COLUMN = "share_ryc_below_-0.01"
CHECK_TOLERANCE = 0.01
OURS = "ours"

# (pattern, family); the first match wins. The paper's bound as our port computes it keeps
# its historical method names (autoterm_<decay>...), so it is told apart from ours by them.
_FAMILY_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^autoterm_[0-9.]+$", "paper_bound"),
    (r"^autoterm_[0-9.]+_foldnoise$", "paper_bound_foldnoise"),
    (r"^autoterm_[0-9.]+_botorch$", "paper_bound_botorch"),
    (r"^autoterm", OURS),
    (r"^authors_", "authors"),
    (r"^conv_", "conv"),
    (r"^ei_", "ei"),
    (r"^pi_", "pi"),
    (r"^synetune_plateau", "synetune_plateau"),
    (r"^plateau_", "plateau"),
    (r"^synetune_", "synetune_atc"),
    (r"^optuna_terminator", "optuna_terminator"),
    (r"^optuna_emmr", "optuna_emmr"),
    (r"^oracle_val", "oracle_val"),
    (r"^oracle_test", "oracle_test"),
)


def family_of(method: str) -> str:
    """The rule family of a method name (``cand_<name>_<knob>`` -> ``cand_<name>``)."""
    if method.startswith("cand_"):
        return method.rsplit("_", 1)[0]
    for pattern, family in _FAMILY_PATTERNS:
        if re.match(pattern, method):
            return family
    return method.rsplit("_", 1)[0] if "_" in method else method


def role_of(family: str) -> str:
    """``ours``, ``reference`` (oracles), ``candidate`` (ours, not chosen) or ``competitor``."""
    if family == OURS:
        return OURS
    if family.startswith("oracle"):
        return "reference"
    if family.startswith("cand_"):
        return "candidate"
    return "competitor"


def load_summaries(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenated summary rows (one per method and model); later files override earlier."""
    frames = [pd.read_csv(p) for p in paths]
    df = pd.concat(frames, ignore_index=True)
    df = df[df.model != "all"].drop_duplicates(["method", "model"], keep="last")
    df = df.assign(family=df.method.map(family_of))
    return df.assign(role=df.family.map(role_of)).reset_index(drop=True)


def best_under(rows: pd.DataFrame, column: str, limit: float, at_least: bool) -> pd.Series | None:
    """The row of highest mean RTC among those whose ``column`` satisfies the budget
    (the frontier's choice of a setting, in-sample and in each leave-out fold)."""
    ok = rows[column] >= limit if at_least else rows[column] <= limit
    ok &= rows.rtc.notna()
    if not ok.any():
        return None
    # ties in RTC: the smaller loss wins
    return rows[ok].sort_values(["rtc", "ryc"], ascending=False).iloc[0]


def frontier_table(summary: pd.DataFrame, harm: bool = False) -> pd.DataFrame:
    """Per model, budget and family: the best setting within the budget, its RTC and RYC."""
    budgets = HARM_BUDGETS if harm else LOSS_BUDGETS
    out = []
    for (model, family), rows in summary.groupby(["model", "family"], sort=True):
        for b in budgets:
            best = (
                best_under(rows, HARM_COLUMN, b, at_least=False)
                if harm
                else best_under(rows, "ryc", -b, at_least=True)
            )
            rec = {
                "model": model,
                "budget": b,
                "family": family,
                "role": role_of(family),
                "method": None,
                "rtc": 0.0,
                "ryc": 0.0,
                "se_rtc": float("nan"),
                "harm": float("nan"),
                "settings": len(rows),
            }
            if best is not None:
                rec.update(
                    method=best.method,
                    rtc=float(best.rtc),
                    ryc=float(best.ryc),
                    se_rtc=float(best.get("se_rtc", float("nan"))),
                    harm=float(best.get(HARM_COLUMN, float("nan"))),
                )
            out.append(rec)
    return pd.DataFrame(out)


def margins(table: pd.DataFrame, family: str = OURS) -> pd.DataFrame:
    """Per model and budget: ours (or another ``family``, in the ``ours*`` columns), the
    best competitor family, and the margin between them; from a frontier table or a
    leave-out table (which names no methods)."""
    rows = []
    for (model, budget), g in table.groupby(["model", "budget"], sort=True):
        ours = g[g.family == family]
        comp = g[g.role == "competitor"].sort_values("rtc", ascending=False)
        if ours.empty or comp.empty:
            continue
        o, c = ours.iloc[0], comp.iloc[0]
        rows.append(
            {
                "model": model,
                "budget": budget,
                "ours": o.rtc,
                "ours_method": o.get("method"),
                "ours_ryc": o.ryc,
                "best_other": c.rtc,
                "best_other_family": c.family,
                "best_other_method": c.get("method"),
                "best_other_ryc": c.ryc,
                "margin": o.rtc - c.rtc,
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ uncertainty of a margin
def margin_bootstrap(per_run: pd.DataFrame, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """Per model and budget: the standard error of ours' margin over the best competitor
    family, and the share of resamples in which ours is behind by more than the check's
    tolerance, by resampling datasets (with all their runs) with replacement.

    Runs of one dataset share its noise level and its trajectory shapes, so they are not
    independent: resampling runs would understate the spread. Every family's frontier
    (its best setting within the budget) is recomputed in each resample, as a user choosing
    a setting on those datasets would.
    """
    rng = np.random.default_rng(seed)
    per_run = per_run.assign(family=per_run.method.map(family_of))
    per_run = per_run[per_run.family.map(role_of).isin([OURS, "competitor"])]
    out = []
    for model, runs in per_run.groupby("model", sort=True):
        runs = runs.assign(run=runs.dataset + "#" + runs.seed.astype(str))
        rtc = runs.pivot_table(index="run", columns="method", values="rtc")
        ryc = runs.pivot_table(index="run", columns="method", values="ryc")
        keep = rtc.notna().all(axis=0) & ryc.notna().all(axis=0)
        rtc, ryc = rtc.loc[:, keep], ryc.loc[:, keep]
        dataset_of = pd.Series(rtc.index.str.split("#").str[0], index=rtc.index)
        datasets = sorted(dataset_of.unique())
        members = {d: np.flatnonzero(dataset_of.to_numpy() == d) for d in datasets}
        families = np.array([family_of(m) for m in rtc.columns])
        ours = families == OURS
        R, Y = rtc.to_numpy(), ryc.to_numpy()
        samples = {b: [] for b in LOSS_BUDGETS}
        for _ in range(n_boot):
            pick = np.concatenate([members[d] for d in rng.choice(datasets, len(datasets))])
            mean_rtc, mean_ryc = R[pick].mean(axis=0), Y[pick].mean(axis=0)
            for b in LOSS_BUDGETS:
                ok = mean_ryc >= -b
                best_ours = mean_rtc[ok & ours].max(initial=0.0)
                best_other = max(
                    (mean_rtc[ok & (families == f)].max(initial=0.0) for f in set(families[~ours])),
                    default=0.0,
                )
                samples[b].append(best_ours - best_other)
        for b, values in samples.items():
            v = np.asarray(values)
            out.append(
                {
                    "model": model,
                    "budget": b,
                    "margin_se": float(v.std(ddof=1)),
                    "share_behind": float((v < -CHECK_TOLERANCE).mean()),
                    "datasets": len(datasets),
                    "resamples": n_boot,
                }
            )
    return pd.DataFrame(out)


# ------------------------------------------------------------------ leave-datasets-out
def dataset_folds(datasets: Sequence[str], k: int) -> dict[str, int]:
    """Datasets in sorted order dealt round-robin into ``k`` groups (deterministic)."""
    return {d: i % k for i, d in enumerate(sorted(set(datasets)))}


def leave_out_table(per_run: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """Per model, loss budget and family: the held-out mean RTC/RYC when each group of
    datasets is scored with the setting chosen on the others."""
    per_run = per_run.assign(family=per_run.method.map(family_of))
    out = []
    for model, runs in per_run.groupby("model", sort=True):
        folds = dataset_folds(runs.dataset.unique(), k)
        runs = runs.assign(fold=runs.dataset.map(folds))
        for family, fam in runs.groupby("family", sort=True):
            for budget in LOSS_BUDGETS:
                held = []
                for f in sorted(set(folds.values())):
                    train = fam[fam.fold != f].groupby("method")[["rtc", "ryc"]].mean()
                    if train.empty:
                        continue
                    best = best_under(train.reset_index(), "ryc", -budget, at_least=True)
                    test = fam[fam.fold == f]
                    if best is None:
                        # nothing meets the budget in training: the family does not stop
                        held.append(
                            test.drop_duplicates(["dataset", "seed"]).assign(rtc=0.0, ryc=0.0)
                        )
                    else:
                        held.append(test[test.method == best.method])
                h = pd.concat(held) if held else pd.DataFrame(columns=["rtc", "ryc"])
                n = len(h)
                out.append(
                    {
                        "model": model,
                        "budget": budget,
                        "family": family,
                        "role": role_of(family),
                        "rtc": float(h.rtc.mean()) if n else 0.0,
                        "ryc": float(h.ryc.mean()) if n else 0.0,
                        "se_rtc": standard_error(h.rtc),
                        "se_ryc": standard_error(h.ryc),
                        "harm": float((h.ryc < -0.01).mean()) if n else 0.0,
                        "runs": n,
                    }
                )
    return pd.DataFrame(out)


# ------------------------------------------------------------------ outputs
_ROLE_ORDER = {"ours": 0, "competitor": 1, "candidate": 2, "reference": 3}


def _families_in_order(rows: pd.DataFrame) -> list[str]:
    """The families of ``rows`` as the tables list them: ours, competitors, candidates,
    references, each by name."""
    return sorted(rows.family.unique(), key=lambda f: (_ROLE_ORDER[role_of(f)], f))


def markdown(table: pd.DataFrame, margin: pd.DataFrame, title: str, harm: bool = False) -> str:
    """One table per model: families as rows, budgets as columns (RTC, RYC in brackets)."""
    lines = [f"## {title}", ""]
    col = "share RYC < -0.01 <=" if harm else "mean RYC >="
    for model, g in table.groupby("model", sort=True):
        budgets = sorted(g.budget.unique())
        lines.append(f"### {model}")
        lines.append("")
        rows = []
        for fam in _families_in_order(g):
            cells = []
            for b in budgets:
                r = g[(g.family == fam) & (g.budget == b)].iloc[0]
                if r.method is None or (isinstance(r.method, float) and math.isnan(r.method)):
                    cells.append("0 (never within)" if "method" in r else "")
                    continue
                se = (
                    f" +- {r.se_rtc:.3f}"
                    if isinstance(r.se_rtc, float) and not math.isnan(r.se_rtc)
                    else ""
                )
                extra = f"harm {r.harm:.2f}" if harm else f"RYC {r.ryc:+.4f}"
                cells.append(f"{r.rtc:.3f}{se} ({extra}; `{r.method}`)")
            rows.append([f"**{fam}**" if fam == OURS else fam, *cells])
        header = ["family", *(f"{col} {b if harm else -b:g}" for b in budgets)]
        lines += markdown_rows(header, rows)
        m = margin[margin.model == model] if not margin.empty else margin
        if not m.empty:
            lines.append("")
            lines.append(
                "Margin of ours over the best competitor family: "
                + ", ".join(
                    f"{r.budget:g}: {r.margin:+.3f} (vs {r.best_other_family})"
                    for r in m.itertuples()
                )
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def margin_markdown(margin: pd.DataFrame) -> str:
    """The margins with their dataset-bootstrap standard errors."""
    lines = [
        "## Margin of ours over the best competitor family, with its spread",
        "",
        "Standard error and share of resamples behind by more than "
        f"{CHECK_TOLERANCE} RTC, resampling datasets with their runs.",
        "",
    ]
    lines += markdown_rows(
        ["model", "L", "margin", "+- se", "share behind", "best other"],
        (
            [
                r.model,
                f"{r.budget:g}",
                f"{r.margin:+.3f}",
                f"{r.margin_se:.3f}",
                f"{r.share_behind:.2f}",
                r.best_other_family,
            ]
            for r in margin.itertuples()
        ),
    )
    return "\n".join(lines) + "\n\n"


def leave_out_markdown(table: pd.DataFrame) -> str:
    lines = ["## Leave-datasets-out (knob chosen on the other dataset groups)", ""]
    for model, g in table.groupby("model", sort=True):
        budgets = sorted(g.budget.unique())
        lines.append(f"### {model}")
        lines.append("")
        rows = []
        for fam in _families_in_order(g):
            cells = []
            for b in budgets:
                r = g[(g.family == fam) & (g.budget == b)].iloc[0]
                cells.append(f"{r.rtc:.3f} +- {r.se_rtc:.3f} ({r.ryc:+.4f}, {r.harm:.2f})")
            rows.append([f"**{fam}**" if fam == OURS else fam, *cells])
        lines += markdown_rows(["family", *(f"L = {b:g}: RTC (RYC, harm)" for b in budgets)], rows)
        lines.append("")
    return "\n".join(lines) + "\n"


def _envelope(rows: pd.DataFrame) -> pd.DataFrame:
    """The family's Pareto front: settings not beaten in both RTC and RYC by another."""
    pts = rows.sort_values(["ryc", "rtc"], ascending=[False, False])
    keep, best_rtc = [], -np.inf
    for r in pts.itertuples():
        if r.rtc > best_rtc:
            keep.append(r.Index)
            best_rtc = r.rtc
    return rows.loc[keep].sort_values("ryc", ascending=False)


def plot_frontiers(summary: pd.DataFrame, path: Path, model: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = summary[summary.model == model]
    fig, ax = plt.subplots(figsize=(8.5, 6))
    cmap = plt.get_cmap("tab20")
    for i, (family, rows) in enumerate(sorted(s.groupby("family"), key=lambda t: t[0])):
        role = role_of(family)
        env = _envelope(rows)
        if role == OURS:
            ax.plot(env.ryc, env.rtc, "-*", color="tab:green", lw=2.8, ms=9, label="ours", zorder=6)
            ax.errorbar(
                env.ryc,
                env.rtc,
                yerr=env.get("se_rtc"),
                fmt="none",
                ecolor="tab:green",
                elinewidth=0.8,
                zorder=6,
            )
        elif role == "reference":
            ax.plot(
                env.ryc,
                env.rtc,
                "--",
                color="k" if family == "oracle_val" else "0.5",
                lw=1.4,
                label=family,
                zorder=2,
            )
        elif role == "candidate":
            ax.plot(env.ryc, env.rtc, ":", color=cmap(i % 20), lw=1.2, label=family, zorder=3)
        else:
            ax.plot(
                env.ryc, env.rtc, "-o", color=cmap(i % 20), lw=1.0, ms=3, label=family, zorder=4
            )
    for b in LOSS_BUDGETS:
        ax.axvline(-b, color="0.85", lw=0.8, zorder=1)
    ax.set_xlim(-0.035, 0.003)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean RYC (relative test-error change; 0 = no loss)")
    ax.set_ylabel("mean RTC (share of iterations saved)")
    n = int(s.n_runs.max()) if "n_runs" in s and len(s) else 0
    ax.set_title(f"{model}: frontier of each family ({n} runs); up and right is better")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary_from_per_run(per_run: pd.DataFrame) -> pd.DataFrame:
    """Mean RTC/RYC, their standard errors and the harmful-stop share per method and model."""
    g = per_run.groupby(["method", "model"], sort=True)
    out = g.agg(
        rtc=("rtc", "mean"),
        ryc=("ryc", "mean"),
        n_runs=("rtc", "size"),
        se_rtc=("rtc", "sem"),
        se_ryc=("ryc", "sem"),
        stop_rate=("fired", "mean"),
    ).reset_index()
    harm = g.ryc.apply(lambda v: float((v < -0.01).mean())).rename(HARM_COLUMN).reset_index()
    return out.merge(harm, on=["method", "model"])


def common_runs(per_run: pd.DataFrame) -> pd.DataFrame:
    """Only the runs on which ours was replayed: every family is judged on the same runs."""
    keys = ["dataset", "model", "seed"]
    ours = per_run[per_run.method.map(family_of) == OURS][keys].drop_duplicates()
    return per_run.merge(ours, on=keys) if len(ours) else per_run


def read_per_run(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Per-run rows of several files; a (run, method) found twice is taken from the last file."""
    df = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    return df.drop_duplicates(["dataset", "model", "seed", "method"], keep="last")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.frontier",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "summaries",
        nargs="*",
        type=Path,
        help="summary CSVs (paper_replay, suite); with --per-run, the summary is "
        "computed from the per-run rows instead",
    )
    ap.add_argument(
        "--per-run",
        type=Path,
        nargs="*",
        default=(),
        help="per-run CSVs: the summary over the runs ours was replayed on, and the "
        "leave-datasets-out frontier",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="prefix of the outputs (<out>_summary.csv, <out>_frontier.md ...)",
    )
    ap.add_argument("--folds", type=int, default=5, help="dataset groups for leave-out")
    ap.add_argument("--harm", action="store_true", help="print the harmful-stop frontier too")
    ap.add_argument(
        "--runs-of",
        type=Path,
        default=None,
        help="a per-run CSV: judge every family only on the runs it holds (a "
        "candidate replayed on a subset)",
    )
    ap.add_argument(
        "--bootstrap",
        type=int,
        default=200,
        help="dataset resamples for the margins' standard errors (--per-run; 0: none)",
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 unless ours >= best competitor - {CHECK_TOLERANCE} everywhere",
    )
    args = ap.parse_args(argv)
    per_run = pd.DataFrame()
    if args.per_run:
        per_run = common_runs(read_per_run(args.per_run))
        if args.runs_of is not None:
            keys = ["dataset", "model", "seed"]
            subset = pd.read_csv(args.runs_of)[keys].drop_duplicates()
            per_run = per_run.merge(subset, on=keys)
        summary = summary_from_per_run(per_run)
        summary = summary.assign(family=summary.method.map(family_of))
        summary = summary.assign(role=summary.family.map(role_of))
    elif args.summaries:
        summary = load_summaries(args.summaries)
    else:
        ap.error("give summary CSVs or --per-run files")
    table = frontier_table(summary)
    margin = margins(table)
    harm_table = frontier_table(summary, harm=True)
    harm_margin = margins(harm_table)
    text = markdown(table, margin, "Best mean RTC at mean RYC >= -L (in-sample)")
    harm_text = markdown(
        harm_table,
        harm_margin,
        "Best mean RTC at a harmful-stop share <= budget (in-sample)",
        harm=True,
    )
    if not per_run.empty and args.bootstrap > 0:
        spread = margin_bootstrap(per_run, args.bootstrap)
        margin = margin.merge(spread, on=["model", "budget"], how="left")
        text += margin_markdown(margin)
    leave = leave_out_table(per_run, args.folds) if not per_run.empty else pd.DataFrame()
    leave_text = leave_out_markdown(leave) if not leave.empty else ""
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        summary.drop(columns=["family", "role"]).to_csv(
            f"{args.out}_summary.csv", index=False, float_format="%.5g"
        )
        table.to_csv(f"{args.out}_frontier.csv", index=False, float_format="%.5g")
        harm_table.to_csv(f"{args.out}_harm_frontier.csv", index=False, float_format="%.5g")
        margin.to_csv(f"{args.out}_margins.csv", index=False, float_format="%.5g")
        harm_margin.to_csv(f"{args.out}_harm_margins.csv", index=False, float_format="%.5g")
        if not leave.empty:
            leave.to_csv(f"{args.out}_leave_out.csv", index=False, float_format="%.5g")
        runs = per_run.drop_duplicates(["dataset", "model", "seed"]) if not per_run.empty else None
        counts = runs.model.value_counts().sort_index().items() if runs is not None else []
        head = (
            f"Runs: {len(runs)} ({', '.join(f'{m} {n}' for m, n in counts)}); "
            if runs is not None
            else ""
        ) + f"settings: {summary.method.nunique()}.\n\n"
        Path(f"{args.out}_frontier.md").write_text(head + text + harm_text + leave_text)
        for model in sorted(summary.model.unique()):
            plot_frontiers(summary, Path(f"{args.out}_frontier_{model}.png"), model)
    print(text + (harm_text if args.harm else "") + leave_text)
    if args.check:
        if margin.empty:
            print("check: no margins (ours or competitors missing)")
            return 1
        worst = margin.sort_values("margin").iloc[0]
        ok = bool((margin.margin >= -CHECK_TOLERANCE).all())
        print(
            f"check {'passed' if ok else 'FAILED'}: worst margin {worst.margin:+.3f} "
            f"({worst.model}, L = {worst.budget:g}, vs {worst.best_other_family} "
            f"`{worst.best_other_method}`)"
        )
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
