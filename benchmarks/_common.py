"""File conventions shared by the benchmark scripts: where the files are, how a table
or a run file is named, read and written, and how a script records its command; and
the standard error that every summary reports.

Why one module: the scripts hand files to one another (``build_tables`` ->
``suite_compare`` -> ``paper_replay`` -> ``frontier``), so a file-name rule, a
column convention or a compression setting defined twice drifts apart and breaks
the hand-over without an error; the same holds for a "+- se" that two tables
compare. Nothing here knows about stopping rules.
"""

from __future__ import annotations

import math
import os
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

BENCHMARKS = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARKS.parent
#: the real tables (``build_tables``) and, under ``surrogate/``, the hybrid pools
TABLES = BENCHMARKS / "tables"
#: the default output folder of ``suite_compare`` (and others' results)
RESULTS = BENCHMARKS / "results"
#: the authors' 280 GP-BO runs (Makarova et al. 2022)
PAPER_RUNS = BENCHMARKS / "paper_runs"

#: folds of every table and run file (``fold_0 .. fold_9``)
N_FOLDS = 10
#: significant digits of a table's scores: float32 precision, what a rebuild reproduces
SIGNIFICANT_DIGITS = 7

#: table model name (``<dataset>__<model>.csv.gz`` under ``tables/``) -> the code that
#: run files, per-run results and the paper's runs use (``<dataset>__<CODE>.csv.gz``)
MODEL_CODES = {"xgboost": "XGB", "rf": "RF", "mlp": "MLP"}
MODEL_NAMES = {code: model for model, code in MODEL_CODES.items()}

#: gzip without the write time in its header (``gzip -n``): a rerun that computes the
#: same rows writes the same bytes, so git shows a real change only
GZIP = {"method": "gzip", "mtime": 0}


def parse_name(path: str | Path) -> tuple[str, str]:
    """``<dataset>__<model>.csv.gz`` -> ``(dataset, model)``, for tables and run files alike."""
    dataset, model = Path(path).name.removesuffix(".csv.gz").split("__")
    return dataset, model


def fold_columns(table: pd.DataFrame) -> list[str]:
    """A table's ``fold_<k>`` columns in fold order (``fold_10`` after ``fold_9``)."""
    return sorted((c for c in table if c.startswith("fold_")), key=lambda c: int(c[5:]))


def round_significant(value: float) -> float:
    """``value`` to :data:`SIGNIFICANT_DIGITS` significant digits (NaN, inf and 0 as they are)."""
    if value is None or not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def table_files(
    tables: Path, datasets: Sequence[str] | None = None, models: Sequence[str] | None = None
) -> list[Path]:
    """The ``<dataset>__<model>.csv.gz`` tables under ``tables``, restricted to the given
    datasets and models when given, in name order."""
    out = []
    for f in sorted(tables.glob("*__*.csv.gz")):
        dataset, model = parse_name(f)
        if datasets and dataset not in datasets:
            continue
        if models and model not in models:
            continue
        out.append(f)
    return out


def load_table(table_path: Path, max_configs: int | None = None) -> pd.DataFrame:
    """A table, restricted to its first ``max_configs`` Sobol configs when given.

    Config ids are deterministic, so a run on the first N configs of a table that
    is still growing is reproducible from any later, larger copy of it.
    """
    table = pd.read_csv(table_path)
    if max_configs is not None:
        table = table[table["config_id"] < max_configs]
    return table


def read_table_or_empty(path: Path) -> pd.DataFrame:
    """The table at ``path``, or an empty frame when a build has not written it yet."""
    if not path.exists():
        return pd.DataFrame()
    return pd.read_csv(path)


def write_csv(frame: pd.DataFrame, path: Path, atomic: bool = True, **to_csv: Any) -> None:
    """``frame`` as CSV (no index) at ``path``, gzipped by :data:`GZIP` when the name ends
    in ``.gz``.

    ``atomic``: written to ``<path>.tmp`` and renamed, so that a killed build never leaves
    half a file that a resumed one would take for finished work (tables, pools, BO
    parts). Files that are rebuilt whole on every run (merged runs, check traces) are
    written in place. Either way the gzip header holds the name written to, so a rerun
    that computes the same rows rewrites the committed file byte for byte.
    """
    path = Path(path)
    if path.name.endswith(".gz"):
        to_csv.setdefault("compression", GZIP)
    if not atomic:
        frame.to_csv(path, index=False, **to_csv)
        return
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False, **to_csv)
    os.replace(tmp, path)


def update_manifest(
    path: Path, rows: list[dict[str, Any]], keep: Callable[[str], bool]
) -> dict[str, dict[str, str]]:
    """Merge one row per table (key ``table``) into the manifest CSV at ``path``.

    Why: a run with other arguments regenerates its folder's README, and the
    command of every table it did not touch would otherwise be lost; a table
    for which ``keep`` is false (its file is gone) is dropped, so the manifest
    never names a table that is not there. Used by ``build_tables`` (``builds.csv``)
    and ``surrogate_tables`` (``pools.csv``).
    """
    merged: dict[str, dict[str, str]] = {}
    if path.exists():
        merged = {r["table"]: r for r in pd.read_csv(path, dtype=str).to_dict("records")}
    merged.update({str(r["table"]): {k: str(v) for k, v in r.items()} for r in rows})
    merged = {name: merged[name] for name in sorted(merged) if keep(name)}
    tmp = path.with_name(path.name + ".tmp")
    pd.DataFrame(list(merged.values())).to_csv(tmp, index=False)
    os.replace(tmp, path)
    return merged


def command_line(module: str, argv: Sequence[str] | None = None) -> str:
    """The command that reproduces this run, as the docs write it:
    ``python -m benchmarks.<module> <arguments>`` (``sys.argv``'s when ``argv`` is None).

    Written into the READMEs and manifests beside the files a script builds, so that
    a reader can rerun exactly what made them.
    """
    given = sys.argv[1:] if argv is None else list(argv)
    return shlex.join(["python", "-m", f"benchmarks.{module}", *given])


def standard_error(values: Any) -> float:
    """Standard error of the mean of ``values`` (a Series or an array; ddof 1), NaN for
    fewer than two values."""
    n = len(values)
    return float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")


def markdown_rows(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """The lines of a GitHub markdown table: ``| a | b |``, ``|---|---|``, then the rows."""

    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(str(c) for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(r) for r in rows)]
