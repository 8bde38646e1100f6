"""A stored experiment read back: its results, metadata and completed trials as evidence.

Why its own module: the replay must see the trials the rule saw online (the
same completed trials, in completion order, with their folds, test metric and
cost), whatever form the experiment comes in (a tuner name, a folder, a CSV,
a DataFrame); ``syne-autoterm explain`` reads results the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..completed import completed_trials
from ..evidence import Evidence, FoldSpec, check_mode

__all__ = ["experiment_evidence", "load_results"]


def load_results(experiment: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Results DataFrame and metadata of a stored experiment (name, folder, CSV) or a DataFrame."""
    if isinstance(experiment, pd.DataFrame):
        return experiment, {}
    from syne_tune.experiments import load_experiment

    path = Path(experiment)
    if path.is_file():
        meta_file = path.parent / "metadata.json"
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        return pd.read_csv(path), meta
    kwargs = {"local_path": str(path.parent)} if path.is_dir() else {}
    name = path.name if path.is_dir() else str(experiment)
    try:
        result = load_experiment(name, load_tuner=True, **kwargs)
    except Exception:  # no (loadable) tuner.dill: results and metadata only
        result = load_experiment(name, **kwargs)
    if result.results is None:
        raise FileNotFoundError(
            f"no results found for experiment {experiment!r} (looked in {result.path})"
        )
    results = result.results
    # ``st_status`` is the status when a row was reported (InProgress for a
    # trial's only report); the saved tuner knows how each trial really ended.
    seen = getattr(
        getattr(getattr(result, "tuner", None), "tuning_status", None),
        "last_trial_status_seen",
        None,
    )
    if seen:
        results = results.assign(
            st_final_status=results["trial_id"].map({int(k): str(v) for k, v in seen.items()})
        )
    return results, dict(result.metadata or {})


def _config_keys(results: pd.DataFrame) -> list[str]:
    return [c[len("config_") :] for c in results.columns if c.startswith("config_")]


def experiment_evidence(
    results: pd.DataFrame,
    metric: str,
    mode: str = "min",
    fold_metrics: str | Sequence[str] | None = "cv_fold_",
    test_metric: str | None = None,
    only_completed: bool = True,
    cost_metric: str | None = None,
    resource_attr: str | None = None,
    max_resource: float | None = None,
) -> tuple[Evidence, pd.DataFrame]:
    """Evidence of the completed trials of a results table (and those rows).

    Extras: ``st_tuner_time`` when present, ``test`` (the test metric) when
    ``test_metric`` is given, ``cost`` (each trial's compute: ``cost_metric``,
    else ``st_worker_time`` when reported). ``resource_attr``/``max_resource``:
    a multi-fidelity run, whose trials count as the online rule counted them
    (see :func:`syne_autoterm.completed.completed_trials`).
    """
    rows = completed_trials(
        results, metric, resource_attr, max_resource, only_completed=only_completed
    )
    keys = _config_keys(rows)
    spec = FoldSpec(fold_metrics)
    values = pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype=float)
    folds = []
    for rec in rows.to_dict("records"):
        folds.append(
            spec.read(
                {k: v for k, v in rec.items() if not (isinstance(v, float) and math.isnan(v))}
            )
        )
    extras = {}
    cost_col = cost_metric if cost_metric is not None else "st_worker_time"
    for col, name in (
        ("st_tuner_time", "st_tuner_time"),
        (cost_col, "cost"),
        (test_metric, "test"),
    ):
        if col is not None and col in rows.columns:
            extras[name] = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
    if test_metric is not None and "test" not in extras:
        raise ValueError(f"test metric {test_metric!r} not in the results columns")
    if cost_metric is not None and "cost" not in extras:
        raise ValueError(f"cost metric {cost_metric!r} not in the results columns")
    configs = tuple({k: rec[f"config_{k}"] for k in keys} for rec in rows.to_dict("records"))
    evidence = Evidence(
        trial_ids=tuple(int(t) for t in rows["trial_id"]),
        configs=configs,
        values=values,
        folds=tuple(folds),
        mode=check_mode(mode),
        extras=extras,
    )
    return evidence, rows


def _config_space_from_metadata(meta: Mapping[str, Any]) -> dict | None:
    raw = meta.get("config_space")
    if raw is None:
        return None
    try:
        from syne_tune.config_space import config_space_from_json_dict

        return config_space_from_json_dict(json.loads(raw) if isinstance(raw, str) else raw)
    except Exception:
        return None
