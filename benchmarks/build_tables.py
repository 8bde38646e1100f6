"""Tabulate real cross-validation results of many configs per (dataset, model).

Why: replaying the stopping rules on hundreds of BO seeds must cost GP fits,
not training. Each table holds N configurations drawn from the model's search
space by a scrambled Sobol sequence (deterministic in ``--seed``; config ``i``
is the same for any N, so a table can be extended), each evaluated once by
``syne_autoterm.workloads.cross_validate_config``: k fold validation errors,
per-fold fit times, the outer test error of the fold ensemble and the wall
time. BO can then run restricted to the table's configs.

One gzipped CSV per task, ``<out>/<dataset>__<model>.csv.gz``, columns
``config_id, hp_<name>..., fold_0.., fit_time_0.., value, test_value,
elapsed_time, metric``. ``hp_*`` hold the hyperparameter values themselves
(not logs; the paper-runs tables store natural logs of log-scaled ones). Values
are rounded to 7 significant digits (float32 precision); configurations are
rounded *before* they are evaluated, so a row is exactly what was trained.
A config whose evaluation raised is stored with NaN scores (and not retried).

Resumable and kill-safe: finished rows are merged into the task's file every
``--flush-every`` rows / ``--flush-seconds`` by writing a temporary file and
renaming it, so the file on disk is always a complete table; a restart skips
config ids already there. ``<out>/README.md`` is regenerated every
``--flush-seconds`` and when a table completes,
with the command, the machine and the progress. Tasks run cheapest first so
that a partial build covers many tasks.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m benchmarks.build_tables \\
        --workers 1 --n-configs 1000 --models xgboost rf mlp
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import signal
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._common import (
    REPO_ROOT,
    SIGNIFICANT_DIGITS,
    TABLES,
    command_line,
    read_table_or_empty,
    round_significant,
    update_manifest,
    write_csv,
)
from syne_autoterm.workloads.datasets import (
    DEVELOPMENT_SUITE,
    dataset_slug,
    load_dataset,
)
from syne_autoterm.workloads.spaces import canonical_model, search_space, sobol_configs

DEFAULT_OUT = TABLES

#: Seconds per 10-fold config on one core of a shared 2-core AMD EPYC VM
#: (xgboost, rf: mean of the first 3 Sobol configs; mlp: measured on
#: diabetes/breast_cancer, scaled by rows elsewhere). Only orders the tasks
#: cheapest first; other datasets fall back to :func:`_heuristic_cost`.
COST_HINT: dict[tuple[str, str], float] = {
    ("diabetes", "rf"): 0.15, ("breast_cancer", "rf"): 0.18, ("digits", "rf"): 0.25,
    ("modeldata-credit_data", "rf"): 0.30, ("modeldata-wa_churn", "rf"): 0.30,
    ("spambase", "rf"): 0.32, ("phoneme", "rf"): 0.35, ("satimage", "rf"): 0.41,
    ("penbased", "rf"): 0.46, ("twonorm", "rf"): 0.70, ("magic", "rf"): 1.18,
    ("diabetes", "xgboost"): 0.14, ("breast_cancer", "xgboost"): 0.24,
    ("modeldata-credit_data", "xgboost"): 0.34, ("phoneme", "xgboost"): 0.41,
    ("modeldata-wa_churn", "xgboost"): 1.11, ("spambase", "xgboost"): 2.10,
    ("twonorm", "xgboost"): 2.99, ("magic", "xgboost"): 3.08, ("digits", "xgboost"): 3.96,
    ("satimage", "xgboost"): 6.60, ("penbased", "xgboost"): 11.4,
    ("diabetes", "mlp"): 4.2, ("breast_cancer", "mlp"): 4.4, ("digits", "mlp"): 14.0,
    ("modeldata-credit_data", "mlp"): 31.0, ("spambase", "mlp"): 35.0,
    ("phoneme", "mlp"): 42.0, ("satimage", "mlp"): 50.0, ("modeldata-wa_churn", "mlp"): 54.0,
    ("twonorm", "mlp"): 57.0, ("penbased", "mlp"): 85.0, ("magic", "mlp"): 147.0,
}  # fmt: skip


@dataclass
class Task:
    """One (dataset, model) table and its pending work."""

    spec: str
    model: str
    path: Path
    done: set[int] = field(default_factory=set)
    todo: list[int] = field(default_factory=list)
    buffer: list[dict[str, Any]] = field(default_factory=list)
    n_rows: int = 0
    n_features: int = 0
    metric: str = ""
    cost: float = 0.0

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".csv.gz")


# --------------------------------------------------------------------------- #
# Worker side
# --------------------------------------------------------------------------- #

_DATA_CACHE: dict[str, Any] = {}


def _worker_init() -> None:
    """One BLAS thread per worker; Ctrl-C is handled by the parent only."""
    from threadpoolctl import threadpool_limits

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threadpool_limits(limits=1)


def _evaluate(
    spec: str, model: str, config: dict[str, Any], folds: int, seed: int
) -> dict[str, Any]:
    """Run in a worker: CV of one config; exceptions come back as a row of NaN."""
    from syne_autoterm.workloads.evaluate import cross_validate_config

    start = time.perf_counter()
    try:
        if spec not in _DATA_CACHE:
            _DATA_CACHE[spec] = load_dataset(spec)
        return cross_validate_config(_DATA_CACHE[spec], model, config, folds=folds, seed=seed)
    except Exception:  # noqa: BLE001 - one bad config must not stop the build
        return {"__error__": traceback.format_exc(), "elapsed_time": time.perf_counter() - start}


# --------------------------------------------------------------------------- #
# Tables on disk
# --------------------------------------------------------------------------- #


def rounded_configs(model: str, n: int, seed: int) -> list[dict[str, Any]]:
    configs = sobol_configs(search_space(model), n, seed)
    return [
        {k: (v if isinstance(v, int) else round_significant(v)) for k, v in c.items()}
        for c in configs
    ]


def _row(
    config_id: int, config: dict[str, Any], metrics: dict[str, Any], folds: int, metric: str
) -> dict[str, Any]:
    row: dict[str, Any] = {"config_id": config_id}
    row.update({f"hp_{k}": v for k, v in config.items()})
    failed = "__error__" in metrics
    for k in range(folds):
        row[f"fold_{k}"] = np.nan if failed else round_significant(metrics[f"cv_fold_{k}"])
    for k in range(folds):
        row[f"fit_time_{k}"] = np.nan if failed else round(metrics[f"fit_time_fold_{k}"], 4)
    row["value"] = np.nan if failed else round_significant(metrics["error"])
    row["test_value"] = np.nan if failed else round_significant(metrics["test_error"])
    row["elapsed_time"] = round(metrics["elapsed_time"], 4)
    row["metric"] = metric
    return row


def _flush(task: Task) -> None:
    """Merge buffered rows into the task's table atomically (tmp + rename)."""
    if not task.buffer:
        return
    table = pd.concat(
        [read_table_or_empty(task.path), pd.DataFrame(task.buffer)], ignore_index=True
    )
    table = table.drop_duplicates("config_id", keep="last").sort_values("config_id")
    write_csv(table, task.path, float_format=f"%.{SIGNIFICANT_DIGITS}g")
    task.done.update(int(r["config_id"]) for r in task.buffer)
    task.buffer.clear()


# --------------------------------------------------------------------------- #
# Planning
# --------------------------------------------------------------------------- #


def _heuristic_cost(model: str, n_rows: int, n_features: int, n_classes: int) -> float:
    """Rough seconds per 10-fold config, fitted by eye to ``COST_HINT``.

    MLP cost grows with rows (the hidden layers dominate the weights), forest
    cost too (depth <= 5), XGBoost also with classes (one tree per class and
    round for more than two) and features.
    """
    if model == "mlp":
        return 0.5 + 0.0077 * n_rows
    if model == "rf":
        return 0.1 + 5e-5 * n_rows
    trees_per_round = n_classes if n_classes > 2 else 1
    return 0.1 + 3e-5 * n_rows * trees_per_round * max(n_features, 1) ** 0.5


def _plan(args: argparse.Namespace) -> list[Task]:
    tasks = []
    for spec in args.datasets:
        data = load_dataset(spec)
        for model in args.models:
            model = canonical_model(model)
            path = args.out / f"{dataset_slug(spec)}__{model}.csv.gz"
            existing = read_table_or_empty(path)
            done = set(existing["config_id"].astype(int)) if len(existing) else set()
            task = Task(
                spec=spec,
                model=model,
                path=path,
                done=done,
                todo=[i for i in range(args.n_configs) if i not in done],
                n_rows=data.n_rows,
                n_features=data.n_features,
                metric="classification_error" if data.task == "classification" else "rmse",
            )
            task.cost = COST_HINT.get(
                (dataset_slug(spec), model),
                _heuristic_cost(model, data.n_rows, data.n_features, data.n_classes),
            )
            tasks.append(task)
    return sorted(tasks, key=lambda t: t.cost)


# --------------------------------------------------------------------------- #
# README with the command, the machine and the progress
# --------------------------------------------------------------------------- #


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except ImportError:
        return "absent"


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.node()}: {cpu}, {os.cpu_count()} logical cores, {platform.platform()}, "
        f"Python {platform.python_version()}"
    )


def _write_readme(args: argparse.Namespace, tasks: list[Task], started: str, state: str) -> None:
    lines = [
        "# Tabulated cross-validation results",
        "",
        "Generated by `python -m benchmarks.build_tables` (regenerated while a build runs; do "
        "not edit).",
        "See that script's docstring for the column layout and guarantees.",
        "",
        f"- Command: `{args.command}`",
        f"- Machine: {args.machine}",
        f"- Workers: {args.workers} process(es), one BLAS/OpenMP thread each",
        (
            f"- Code: sha256 of build_tables.py + _common.py + syne_autoterm/workloads/*.py = "
            f"`{args.code_digest}`; run from `{REPO_ROOT}`; numpy {np.__version__}, "
            f"pandas {pd.__version__}, scikit-learn {_version('sklearn')}, "
            f"xgboost {_version('xgboost')}"
        ),
        f"- Started: {started}; last update: {_now()}; state: **{state}**",
        (
            f"- Configs: first {args.n_configs} points of scrambled Sobol (seed {args.seed}) "
            f"per model; {args.folds}-fold CV on an outer 80% split (seed {args.seed}), test "
            "error of the fold ensemble on the other 20%."
        ),
        "",
        "| table | dataset spec | rows x features | metric | done / N | mean s per config "
        "| best value | built by |",
        "|---|---|---|---|---|---|---|---|",
    ]
    manifest = _record_build(args, tasks, started, state)
    commands: list[str] = []
    current = [task.path for task in tasks]
    names = {p.name for p in current}
    others = sorted(p for p in args.out.glob("*.csv.gz") if p.name not in names)
    for path in current + others:
        if path.name in manifest:
            entry = manifest[path.name]
            if entry["command"] not in commands:
                commands.append(entry["command"])
            built_by = f"[{commands.index(entry['command']) + 1}]"
            lines.append(
                _readme_row(
                    path,
                    f"`{entry['spec']}`",
                    entry["shape"],
                    entry["metric"],
                    str(entry["n_configs"]),
                    built_by,
                )
            )
        else:  # built before builds.csv existed: commands in benchmarks/results/README.md
            lines.append(_readme_row(path, "(earlier run)", "-", "-", "?", "-"))
    lines += [
        "",
        f"Commands (from `{MANIFEST}`; earlier runs: `benchmarks/results/README.md`):",
        "",
    ]
    lines += [f"{i}. `{command}`" for i, command in enumerate(commands, 1)]
    readme = args.out / "README.md"
    tmp = readme.with_name("README.md.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, readme)


MANIFEST = "builds.csv"


def _record_build(
    args: argparse.Namespace, tasks: list[Task], started: str, state: str
) -> dict[str, dict[str, str]]:
    """This build's tables in ``builds.csv``: spec, shape, command, state."""
    rows = [
        {
            "table": task.path.name,
            "spec": task.spec,
            "shape": f"{task.n_rows} x {task.n_features}",
            "metric": task.metric,
            "n_configs": args.n_configs,
            "command": args.command,
            "code": args.code_digest,
            "started": started,
            "state": state,
        }
        for task in tasks
    ]
    current = {task.path.name for task in tasks}
    return update_manifest(
        args.out / MANIFEST, rows, lambda name: name in current or (args.out / name).exists()
    )


def _readme_row(path: Path, spec: str, shape: str, metric: str, target: str, built_by: str) -> str:
    table = read_table_or_empty(path)
    done = len(table)
    mean_time = f"{table['elapsed_time'].mean():.2f}" if done else "-"
    best = f"{table['value'].min():.4g}" if done and table["value"].notna().any() else "-"
    return (
        f"| `{path.name}` | {spec} | {shape} | {metric} | {done} / {target} | {mean_time} "
        f"| {best} | {built_by} |"
    )


def _code_digest() -> str:
    """Short hash of the code that produces the numbers, to tell builds apart (the
    rounding of the scores lives in ``_common.py``)."""
    import hashlib

    from benchmarks import _common

    digest = hashlib.sha256()
    workloads = REPO_ROOT / "syne_autoterm" / "workloads"
    own = [Path(__file__).resolve(), Path(_common.__file__).resolve()]
    for path in [*own, *sorted(workloads.glob("*.py"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _now() -> str:
    return _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


# --------------------------------------------------------------------------- #
# Main loop
# --------------------------------------------------------------------------- #


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.build_tables", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--datasets", nargs="+", default=list(DEVELOPMENT_SUITE), help="dataset specs"
    )
    parser.add_argument("--models", nargs="+", default=["xgboost", "rf", "mlp"])
    parser.add_argument("--n-configs", type=int, default=1000)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--flush-every", type=int, default=25, help="rows per task between writes")
    parser.add_argument(
        "--flush-seconds", type=float, default=120.0, help="max seconds between writes"
    )
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    args = parser.parse_args(argv)
    args.command = command_line("build_tables", argv)
    args.machine = _machine()
    args.code_digest = _code_digest()
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = _now()
    tasks = _plan(args)
    pending = [(task, i) for task in tasks for i in task.todo]
    configs = {m: rounded_configs(m, args.n_configs, args.seed) for m in {t.model for t in tasks}}
    print(
        f"{len(tasks)} tasks, {len(pending)} configs to evaluate; order: "
        + ", ".join(f"{t.name} (~{t.cost:.1f}s)" for t in tasks),
        flush=True,
    )
    _write_readme(args, tasks, started, "running")

    stop = {"requested": False}

    def _on_signal(signum: int, _frame: Any) -> None:
        stop["requested"] = True
        print(f"\nsignal {signum}: flushing finished rows and exiting", flush=True)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    from tqdm import tqdm

    bar = tqdm(
        total=len(pending),
        disable=args.no_progress,
        mininterval=1.0 if sys.stderr.isatty() else 60.0,
        smoothing=0.05,
        dynamic_ncols=True,
    )
    last_flush = time.monotonic()
    state = "finished"
    queue = iter(pending)
    running: dict[Future, tuple[Task, int]] = {}
    with ProcessPoolExecutor(
        max_workers=args.workers, mp_context=get_context("spawn"), initializer=_worker_init
    ) as pool:
        try:
            while True:
                if stop["requested"]:
                    state = "stopped by a signal (restart the same command to resume)"
                    break
                while len(running) < 2 * args.workers:
                    item = next(queue, None)
                    if item is None:
                        break
                    task, cid = item
                    fut = pool.submit(
                        _evaluate,
                        task.spec,
                        task.model,
                        configs[task.model][cid],
                        args.folds,
                        args.seed,
                    )
                    running[fut] = (task, cid)
                if not running:
                    break
                finished, _ = wait(list(running), timeout=5.0, return_when=FIRST_COMPLETED)
                for fut in finished:
                    task, cid = running.pop(fut)
                    metrics = fut.result()
                    if "__error__" in metrics:
                        print(
                            f"{task.name} config {cid} failed:\n{metrics['__error__']}", flush=True
                        )
                    task.buffer.append(
                        _row(cid, configs[task.model][cid], metrics, args.folds, task.metric)
                    )
                    bar.update(1)
                    bar.set_postfix_str(task.name, refresh=False)
                    if (
                        len(task.buffer) >= args.flush_every
                        or len(task.done) + len(task.buffer) >= args.n_configs
                    ):
                        _flush(task)
                        if len(task.done) >= args.n_configs:
                            print(
                                f"\n{task.name}: complete ({args.n_configs} configs) at {_now()}",
                                flush=True,
                            )
                            _write_readme(args, tasks, started, "running")
                if time.monotonic() - last_flush > args.flush_seconds:
                    for task in tasks:
                        _flush(task)
                    _write_readme(args, tasks, started, "running")
                    last_flush = time.monotonic()
        except BaseException:
            state = "crashed (restart the same command to resume)"
            raise
        finally:
            bar.close()
            for task in tasks:
                _flush(task)
            _write_readme(args, tasks, started, state)
            if running:
                # Unfinished configs are lost anyway; do not wait minutes for them.
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.terminate()
                pool.shutdown(wait=False, cancel_futures=True)
    print(f"{state} at {_now()}", flush=True)
    return 0 if state == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
