"""Extend a small real table to a large pool with a Syne Tune surrogate.

Why: 200 BO iterations over a table of 200 configs would just exhaust it, and
a real MLP table of 1000 configs x 10 folds costs hours per dataset on one
core (issue 6 part 2 allows a surrogate "where the cost forbids" N >= 1000).
So a table of N_real really evaluated configs (``build_tables``) is turned
into a Syne Tune ``BlackboxOffline`` and ``add_surrogate`` fits one model that
predicts every fold's validation error, the test error and the time from the
hyperparameters. The model is a multi-output random forest on standardised
targets: the folds share one tree structure, so the per-fold spread (which
our criterion's statistical error is made of) is a prediction too, not noise
we add. It is then queried at the first ``--n-configs`` configs of the same
Sobol sequence the real tables use; the result is written in the table format
of ``build_tables`` (column ``source`` = ``surrogate``), so
``suite_compare --tables <out>`` runs BO on it unchanged.

Why a random forest, and what it costs: fitted on the first 200 rows of the six
complete diabetes / breast_cancer tables and compared with their other 800 real
rows (``benchmarks/tables/surrogate_check/README.md``), the Spearman correlation
of the fold mean is 0.99 / 0.92 / 0.68 (diabetes RF / XGBoost / MLP) and 0.95 /
0.84 / 0.76 (breast_cancer), and the median fold std is 72-101% of the real one
(5-nearest neighbours reached 0.92 / 0.30 on the diabetes RF / XGBoost tables).
But a forest averages away the lucky extremes: its best config is always worse
than the best real one (0.034 vs 0.022 error on breast_cancer XGBoost), and the
means of its 20 best configs bunch together, so the noise ratio of a pool made
only of predictions (median fold std of the 20 best / std of their means, the
figure our criterion's RTC follows with Spearman 0.88 over the real tables;
``table_noise``) was 1.0-3.4x that of the real 1000-config table, which
would flatter early stopping.

Hence the default pool is a hybrid: the configs that were really evaluated keep
their real scores (``source`` = ``real``) and only the others are predictions.
The incumbents BO finds are then real rows with real fold spread; on the same
six checks the hybrid's noise ratio was 0.5-1.3x the real table's (a bias that
makes our criterion stop later, not earlier) and mean |log ratio| fell from
0.90 to 0.41. ``--predict-all`` restores the all-predicted pool.
Real tables first; this only where they cannot be afforded, and say so beside
any result.

    python -m benchmarks.surrogate_tables --models mlp --n-configs 1000
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._common import (
    SIGNIFICANT_DIGITS,
    TABLES,
    command_line,
    fold_columns,
    parse_name,
    round_significant,
    table_files,
    update_manifest,
    write_csv,
)
from benchmarks.build_tables import rounded_configs
from syne_autoterm.workloads.spaces import search_space

DEFAULT_OUT = TABLES / "surrogate"


def _objectives(table: pd.DataFrame) -> list[str]:
    return fold_columns(table) + [c for c in ("test_value", "elapsed_time") if c in table]


def _regressor(seed: int) -> Any:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.preprocessing import StandardScaler

    # Standardised targets: otherwise the seconds of elapsed_time would choose
    # the splits of a forest that should model error rates of order 0.01.
    return TransformedTargetRegressor(
        regressor=RandomForestRegressor(n_estimators=200, min_samples_leaf=2, random_state=seed),
        transformer=StandardScaler(),
    )


def fit_surrogate(table: pd.DataFrame, model: str, seed: int = 0) -> Any:
    """Syne Tune's ``add_surrogate`` over the evaluated rows of a real table."""
    from syne_tune.blackbox_repository.blackbox_offline import BlackboxOffline
    from syne_tune.blackbox_repository.blackbox_surrogate import add_surrogate

    space = search_space(model)
    rows = table.dropna(subset=["value"])
    if len(rows) < 10:
        raise ValueError(f"a surrogate needs >= 10 evaluated rows, the table has {len(rows)}")
    objectives = _objectives(rows)
    evaluations = rows[[f"hp_{k}" for k in space]].rename(columns=lambda c: c[3:])
    evaluations = evaluations.join(rows[objectives]).reset_index(drop=True)
    offline = BlackboxOffline(evaluations, space, objectives_names=objectives)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return add_surrogate(offline, surrogate=_regressor(seed))


def surrogate_table(
    table: pd.DataFrame,
    model: str,
    n_configs: int,
    sobol_seed: int = 0,
    seed: int = 0,
    keep_real: bool = True,
) -> pd.DataFrame:
    """The first ``n_configs`` Sobol configs, scored by the surrogate.

    With ``keep_real`` a config the real table evaluated keeps its real scores
    (the module docstring says why; ``with_real_rows``); the others are predicted.
    """
    surrogate = fit_surrogate(table, model, seed)
    metric = str(table["metric"].dropna().iloc[0]) if "metric" in table else "error"
    folds = fold_columns(table)
    out = []
    for config_id, config in enumerate(rounded_configs(model, n_configs, sobol_seed)):
        pred = surrogate.objective_function(config)
        row: dict[str, Any] = {"config_id": config_id}
        row.update({f"hp_{k}": v for k, v in config.items()})
        row.update({f: round_significant(float(pred[f])) for f in folds})
        row["value"] = round_significant(float(np.mean([pred[f] for f in folds])))
        row["test_value"] = (
            round_significant(float(pred["test_value"])) if "test_value" in pred else np.nan
        )
        row["elapsed_time"] = (
            round(max(float(pred["elapsed_time"]), 0.0), 4) if "elapsed_time" in pred else np.nan
        )
        row["metric"] = metric
        row["source"] = "surrogate"
        out.append(row)
    pool = pd.DataFrame(out)
    return with_real_rows(pool, table) if keep_real else pool


def with_real_rows(pool: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The hybrid pool: every config the real table evaluated gets its real
    scores back (``source`` = ``real``); configs it failed on stay predicted.
    The hyperparameters need no copy: both come from the same Sobol sequence."""
    real = table.dropna(subset=["value"]).set_index("config_id")
    scores = [c for c in _objectives(real) + ["value"] if c in pool]
    hybrid = pool.set_index("config_id")
    ids = real.index.intersection(hybrid.index)
    hybrid.loc[ids, scores] = real.loc[ids, scores].to_numpy(dtype=float)
    hybrid.loc[ids, "source"] = "real"
    return hybrid.reset_index()


def validate(table: pd.DataFrame, model: str, k: int = 5, seed: int = 0) -> dict[str, float]:
    """k-fold over the real rows: how well held-out configs are predicted.

    Reports the Spearman correlation of the fold mean (does BO see the same
    ranking?), the ratio of the median per-config fold std predicted / real
    (is the statistical error the criterion sees preserved?) and the same
    ratio on the best decile of real configs, where the incumbents live.
    """
    from scipy.stats import spearmanr
    from sklearn.model_selection import KFold

    rows = table.dropna(subset=["value"]).reset_index(drop=True)
    folds = fold_columns(rows)
    space = search_space(model)
    predicted = np.empty((len(rows), len(folds)))
    for train, test in KFold(k, shuffle=True, random_state=seed).split(rows):
        surrogate = fit_surrogate(rows.iloc[train], model, seed)
        for i in test:
            config = {key: rows.at[i, f"hp_{key}"] for key in space}
            pred = surrogate.objective_function(config)
            predicted[i] = [pred[f] for f in folds]
    real = rows[folds].to_numpy(dtype=float)
    real_mean, pred_mean = real.mean(1), predicted.mean(1)
    best = np.argsort(real_mean)[: max(1, len(rows) // 10)]
    real_std, pred_std = real.std(1, ddof=1), predicted.std(1, ddof=1)
    return {
        "n_real": len(rows),
        "spearman_mean": float(spearmanr(pred_mean, real_mean)[0]),
        "fold_std_ratio_median": float(np.median(pred_std) / np.median(real_std)),
        "fold_std_ratio_best_decile": float(pred_std[best].mean() / real_std[best].mean()),
        "best_real": float(real_mean.min()),
        "best_predicted": float(pred_mean.min()),
    }


def _against_unseen(
    result: pd.DataFrame, full: pd.DataFrame, fitted: pd.DataFrame
) -> dict[str, float]:
    """Where the real table also holds configs the surrogate never saw, compare."""
    from scipy.stats import spearmanr

    unseen = full[~full["config_id"].isin(fitted["config_id"])].dropna(subset=["value"])
    both = unseen.merge(result, on="config_id", suffixes=("_real", "_surrogate"))
    if len(both) < 10:
        return {}
    folds = fold_columns(fitted)
    real_std = both[[f"{f}_real" for f in folds]].std(axis=1)
    pred_std = both[[f"{f}_surrogate" for f in folds]].std(axis=1)
    return {
        "n_unseen": len(both),
        "unseen_spearman_mean": float(spearmanr(both["value_real"], both["value_surrogate"])[0]),
        "unseen_fold_std_ratio_median": float(pred_std.median() / real_std.median()),
        "unseen_best_real": float(both["value_real"].min()),
    }


def _noise_ratios(
    predicted: pd.DataFrame, hybrid: pd.DataFrame, full: pd.DataFrame
) -> dict[str, float]:
    """Noise ratio (``table_noise``) of the hybrid and the all-predicted pool
    and of the whole real table: the figure our criterion's stopping follows,
    so the one a pool must keep (module docstring)."""
    from benchmarks.table_noise import table_noise

    return {
        "hybrid_noise_ratio": table_noise(hybrid)["noise_ratio"],
        "predicted_noise_ratio": table_noise(predicted)["noise_ratio"],
        "real_noise_ratio": table_noise(full)["noise_ratio"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.surrogate_tables", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--tables", type=Path, default=TABLES, help="real tables")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--datasets", nargs="*", default=None)
    ap.add_argument("--models", nargs="+", default=["mlp"])
    ap.add_argument("--n-configs", type=int, default=1000)
    ap.add_argument(
        "--fit-rows",
        type=int,
        default=None,
        help="fit on config ids < this only (to validate against a full real table)",
    )
    ap.add_argument("--min-rows", type=int, default=100)
    ap.add_argument("--validate", action="store_true", help="write surrogate_quality.csv")
    ap.add_argument(
        "--predict-all",
        action="store_true",
        help="predict every config, also those the real table evaluated (default: keep them)",
    )
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    quality: list[dict[str, Any]] = []
    written: list[dict[str, Any]] = []
    for path in table_files(args.tables, args.datasets, args.models):
        dataset, model = parse_name(path)
        full = table = pd.read_csv(path)
        if args.fit_rows is not None:
            table = table[table["config_id"] < args.fit_rows]
        n_real = int(table["value"].notna().sum())
        if args.fit_rows is None and n_real >= args.n_configs:
            print(f"{path.name}: {n_real} real rows already, no surrogate needed")
            continue
        if n_real < args.min_rows:
            print(f"{path.name}: {n_real} evaluated rows < --min-rows {args.min_rows}, skipped")
            continue
        predicted = surrogate_table(table, model, args.n_configs, keep_real=False)
        hybrid = with_real_rows(predicted, table)
        result = predicted if args.predict_all else hybrid
        target = args.out / path.name
        write_csv(result, target, float_format=f"%.{SIGNIFICANT_DIGITS}g")
        print(f"{target}: {len(result)} configs from {n_real} real ones")
        written.append({"table": target.name, "configs": len(result), "real_rows": n_real})
        if args.validate:
            quality.append(
                {
                    "table": path.name.removesuffix(".csv.gz"),
                    **validate(table, model),
                    **_against_unseen(result, full, table),
                    **_noise_ratios(predicted, hybrid, full),
                }
            )
    frame = pd.DataFrame(quality)
    if not quality and (args.out / "surrogate_quality.csv").exists():
        frame = pd.read_csv(args.out / "surrogate_quality.csv")  # keep it in the README
    elif quality:
        frame.to_csv(args.out / "surrogate_quality.csv", index=False, float_format="%.4g")
        print(frame.to_string(index=False, float_format="%.4f"))
    if written:
        command = command_line("surrogate_tables", argv)
        rows = [{**row, "command": command} for row in written]
        manifest = update_manifest(args.out / MANIFEST, rows, lambda t: (args.out / t).exists())
        _write_readme(args, manifest, frame)
    return 0


MANIFEST = "pools.csv"


def _write_readme(
    args: argparse.Namespace, manifest: dict[str, dict[str, str]], quality: pd.DataFrame
) -> None:
    lines = [
        "# Surrogate tables",
        "",
        "Generated by `python -m benchmarks.surrogate_tables` (see its docstring); do not edit.",
        "Rows with `source` = `surrogate` are predictions of Syne Tune's `add_surrogate`",
        "(multi-output random forest over the folds) fitted on the real table of the",
        "same name in `--tables`; rows with `source` = `real` are that table's own",
        "(none where the command has `--predict-all`).",
        "",
        f"Every pool in this folder, with the command that wrote it (`{MANIFEST}`):",
        "",
    ]
    commands = list(dict.fromkeys(r["command"] for r in manifest.values()))
    for command in commands:
        lines.append(f"- `{command}`:")
        lines += [
            f"  - `{r['table']}`: {r['configs']} configs from {r['real_rows']} real"
            for r in manifest.values()
            if r["command"] == command
        ]
    lines.append("")
    if not quality.empty:
        lines += [
            "Quality (`surrogate_quality.csv`, latest `--validate` run): 5-fold CV over",
            "the real rows; `unseen_*` compares with real rows the surrogate was not",
            "fitted on, where they exist.",
            "",
            "```",
            quality.to_string(index=False, float_format="%.4g"),
            "```",
            "",
        ]
    (args.out / "README.md").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
