"""Replay stopping rules on a finished Syne Tune experiment: when would each have stopped?

The rules are the same objects that run online (``StoppingRule``); each is
checked on the first ``n`` completed trials, in completion order, for growing
``n`` and stops at the first ``n`` where it fires. The table tells, per rule
setting, the trial count at the stop, the trials and time saved, and how much
worse the incumbent at the stop is than the final one (validation metric, and
a test metric when the experiment reported one).

    from syne_autoterm.compare import compare_experiment, write_compare_outputs
    df = compare_experiment("my-tuner-2026-01-01-...", metric="error", mode="min",
                            fold_metrics="cv_fold_", test_metric="test_error")
    write_compare_outputs(df, "compare-out")
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .completed import completed_trials
from .evidence import Evidence, FoldSpec, check_mode
from .stopping import AutoTermination, StoppingRule
from .stopping.outcome import ryc
from .stopping.settings import PAPER_VARIANCE_FACTOR

__all__ = [
    "ReplayResult",
    "compare_experiment",
    "completed_trials",
    "experiment_evidence",
    "load_results",
    "read_off",
    "replay",
    "replay_knob",
    "replay_scales",
    "write_compare_outputs",
]


# ------------------------------------------------------------------ replay
@dataclass(frozen=True)
class ReplayResult:
    n_stop: int  # completed trials when the rule fired (the last n checked when it never did)
    fired: bool
    history: tuple[dict, ...]


def replay(
    rule: StoppingRule, evidence: Evidence, first: int | None = None, last: int | None = None
) -> ReplayResult:
    """Check ``rule`` on ``evidence.head(n)`` for ``n = first .. last`` until it fires.

    ``first`` defaults to the rule's ``warm_up`` (earlier checks only say
    "warm-up"), ``last`` to ``len(evidence)``.
    """
    last = len(evidence) if last is None else int(last)
    first = max(1, int(getattr(rule, "warm_up", 1))) if first is None else int(first)
    start = len(rule.history)
    for n in range(first, last + 1):
        if rule.check(evidence.head(n))["stop"]:
            return ReplayResult(n, True, tuple(rule.history[start:]))
    return ReplayResult(last, False, tuple(rule.history[start:]))


def read_off(
    base: ReplayResult, knobs: Sequence[float], fires: Callable[[Mapping[str, Any], float], bool]
) -> dict[float, ReplayResult]:
    """Each knob setting's replay, read off the checks of ``base``.

    ``fires(record, knob)`` says whether the setting stops on the check that
    wrote ``record``; a setting stops at the first check where it fires. The
    base replay must come from the setting that fires last (the most patient
    one), so that it holds every check the others need: a setting that never
    fires while the base did is a programming error and raises.
    """
    out: dict[float, ReplayResult] = {}
    for knob in knobs:
        hit = next((int(r["n_completed"]) for r in base.history if fires(r, knob)), None)
        if hit is None:
            if base.fired:
                raise ValueError(
                    f"setting {knob} never fires but the base rule did: "
                    "build the rule at the most patient setting"
                )
            out[knob] = ReplayResult(base.n_stop, False, base.history)
        else:
            out[knob] = ReplayResult(
                hit, True, tuple(r for r in base.history if r["n_completed"] <= hit)
            )
    return out


def replay_scales(
    rule: AutoTermination,
    evidence: Evidence,
    scales: Sequence[float],
    first: int | None = None,
    last: int | None = None,
) -> dict[float, ReplayResult]:
    """Replays of ``AutoTermination`` at several ``error_scale`` values from one rule object.

    The bound, the statistical error and the trials without improvement of a
    check depend only on the evidence and ``seed + n`` (not on ``error_scale``),
    so ``rule`` is replayed with its ``error_scale`` set to the smallest scale
    (the last to fire) and each scale's stop is read off the same history
    records by the rule's own decision (:meth:`AutoTermination.stops_on`, the
    patience included). ``rule.error_scale`` is restored afterwards.
    """
    scales = [float(s) for s in scales]
    if not scales:
        return {}
    saved = rule.error_scale
    rule.error_scale = min(scales)
    try:
        base = replay(rule, evidence, first, last)
    finally:
        rule.error_scale = saved
    return read_off(base, scales, rule.stops_on)


def replay_knob(
    rule: StoppingRule,
    evidence: Evidence,
    knobs: Sequence[float],
    fires: Callable[[Mapping[str, Any], float], bool],
    first: int | None = None,
    last: int | None = None,
) -> dict[float, ReplayResult]:
    """Replays of one rule family at several settings of its knob, from one replay.

    For a family whose decision is a fixed statistic of the evidence compared
    with the knob (``fires(record, knob)`` reads the statistic from the check's
    history record), the statistic is computed once per check and each
    setting's stop is read off (:func:`read_off`); ``rule`` must be built at
    the setting that fires last (the most patient one).
    """
    return read_off(replay(rule, evidence, first, last), knobs, fires)


def _scale_free_signature(rule: AutoTermination) -> tuple:
    """What must agree for two AutoTermination objects to differ only in ``error_scale``.

    Their settings but ``error_scale`` (one frozen dataclass: a new option cannot be
    forgotten here) and what the base class reads: the metric, the fold spec, the
    warm-up, the resource settings, the scheduler and the config space.
    """
    settings = replace(rule.settings, error_scale=1.0)
    base = (
        rule.metric,
        rule.mode,
        repr(rule.fold_spec),
        rule.warm_up,
        rule.resource_attr,
        rule.max_resource,
    )
    return (
        repr(settings),
        *base,
        id(rule.scheduler),
        repr(sorted((rule.config_space or {}).items(), key=str)),
        type(rule),
    )


# ------------------------------------------------------------------ experiment
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


def _outcome(evidence: Evidence, n_stop: int, fired: bool, test_sign: float) -> dict:
    n_total = len(evidence)
    inc_stop = evidence.head(n_stop).incumbent_index()
    inc_final = evidence.incumbent_index()
    row: dict[str, Any] = {
        "stopped": fired,
        "stop_trial_count": n_stop if fired else None,
        "n_trials": n_total,
        "trials_saved": n_total - n_stop,
        "trials_saved_frac": (n_total - n_stop) / n_total if n_total else float("nan"),
    }
    if inc_stop is not None and inc_final is not None:
        v_stop, v_final = float(evidence.values[inc_stop]), float(evidence.values[inc_final])
        o_stop, o_final = evidence.sign * v_stop, evidence.sign * v_final
        row.update(
            incumbent_trial_at_stop=evidence.trial_ids[inc_stop],
            incumbent_trial_final=evidence.trial_ids[inc_final],
            metric_at_stop=v_stop,
            metric_final=v_final,
            # one sign convention everywhere (the paper's RYC): negative = worse when stopped
            metric_change=o_final - o_stop,
            metric_rel_change=ryc(o_final, o_stop),
        )
        if "test" in evidence.extras:
            t_stop, t_final = (
                float(evidence.extras["test"][inc_stop]),
                float(evidence.extras["test"][inc_final]),
            )
            row.update(
                test_at_stop=t_stop,
                test_final=t_final,
                test_change=test_sign * (t_final - t_stop),
                test_rel_change=ryc(test_sign * t_final, test_sign * t_stop),
            )
    if "st_tuner_time" in evidence.extras and n_total:
        t = evidence.extras["st_tuner_time"]
        total, at_stop = float(np.nanmax(t)), float(t[n_stop - 1])
        row.update(
            time_at_stop=at_stop,
            time_total=total,
            time_saved=total - at_stop,
            time_saved_frac=(total - at_stop) / total if total > 0 else float("nan"),
        )
    if "cost" in evidence.extras and n_total:
        w = np.nan_to_num(evidence.extras["cost"])
        total = float(w.sum())
        # compute of the trials that completed after the stop (an upper bound with n_workers > 1)
        row.update(
            cost_saved=float(w[n_stop:].sum()),
            cost_saved_frac=float(w[n_stop:].sum()) / total if total > 0 else float("nan"),
        )
    return row


def compare_experiment(
    experiment: str | Path | pd.DataFrame,
    metric: str | None = None,
    mode: str | None = None,
    fold_metrics: str | Sequence[str] | None = "cv_fold_",
    rules: Mapping[str, StoppingRule] | None = None,
    test_metric: str | None = None,
    test_mode: str | None = None,
    cost_metric: str | None = None,
    config_space: Mapping[str, Any] | None = None,
    warm_up: int = 20,
    peers: bool = False,
    share_bound: bool = True,
    only_completed: bool = True,
    resource_attr: str | None = None,
    max_resource: float | None = None,
) -> pd.DataFrame:
    """Replay stopping rules on a stored Syne Tune experiment; one row per rule setting.

    :param experiment: tuner name (looked up in ``$SYNETUNE_FOLDER``), an
        experiment folder, a results CSV, or the results DataFrame itself.
    :param metric, mode: the tuned metric; default from the experiment's
        metadata (``metric_names[0]``, ``metric_mode``).
    :param fold_metrics: prefix or list of the per-fold scores (None: no CV,
        rules needing folds are left out of the defaults).
    :param rules: named rule objects; default :func:`syne_autoterm.stopping.registry.default_rules`
        (AutoTermination's default, the paper's rule at its decays 0.21/0.5/1.0,
        Conv_k, Plateau;
        with ``peers=True`` also Optuna's Terminator/EMMR and Syne Tune's
        criterion).
    :param test_metric: column of a held-out test metric of each trial, to
        report how the incumbent's test metric changes.
    :param cost_metric: column of each trial's compute cost (e.g. its
        training time) for ``cost_saved``; default ``st_worker_time`` when reported.
    :param share_bound: AutoTermination objects that differ only in
        ``error_scale`` are replayed once (see :func:`replay_scales`).
    :param resource_attr, max_resource: a multi-fidelity run (e.g. ASHA's
        ``time_attr``/``max_t``): only trials that reached ``max_resource`` count,
        as they did for the rule online.
    :return: DataFrame with ``rule, stopped, stop_trial_count, n_trials,
        trials_saved, trials_saved_frac, metric_at_stop, metric_final,
        metric_change, metric_rel_change, [test_at_stop, test_final,
        test_change, test_rel_change], [time_at_stop, time_total, time_saved,
        time_saved_frac], [cost_saved, cost_saved_frac],
        checks, ms_per_check, reason, setting``; ``*_change`` and
        ``*_rel_change`` (the paper's RYC) share one sign: negative when the
        stopped incumbent is worse. ``setting`` is a readable label: an
        AutoTermination setting by its ``error_scale`` (as ``--error-scale``
        and the Python argument take it), the paper's decay in brackets.
    """
    results, meta = load_results(experiment)
    if metric is None:
        names = meta.get("metric_names") or []
        if not names:
            raise ValueError("give metric=...: the experiment has no metadata naming its metric")
        metric = names[0]
    if mode is None:
        m = meta.get("metric_mode", "min")
        mode = m[0] if isinstance(m, list) else m
    mode = check_mode(mode)
    test_sign = 1.0 if (test_mode or mode) == "min" else -1.0
    if config_space is None:
        config_space = _config_space_from_metadata(meta)
    evidence, _ = experiment_evidence(
        results,
        metric,
        mode,
        fold_metrics,
        test_metric,
        only_completed,
        cost_metric,
        resource_attr,
        max_resource,
    )
    if rules is None:
        from .stopping.registry import default_rules

        if config_space is None and peers:
            raise ValueError(
                "the peers need the config space: pass config_space=... or the "
                "experiment's name/folder (its metadata stores the space)"
            )
        # without a config space AutoTermination guesses the domain from the data (and logs it)
        rules = default_rules(
            metric, mode, fold_metrics, config_space=config_space, warm_up=warm_up, peers=peers
        )

    outcomes: dict[str, ReplayResult] = {}
    pending = dict(rules)
    if share_bound:
        groups: dict[tuple, list[str]] = {}
        for name, rule in rules.items():
            if isinstance(rule, AutoTermination) and rule.threshold is None:
                groups.setdefault(_scale_free_signature(rule), []).append(name)
        for names in groups.values():
            lead = rules[names[0]]
            by_scale = replay_scales(lead, evidence, [rules[n].error_scale for n in names])
            for n in names:
                outcomes[n] = by_scale[float(rules[n].error_scale)]
                pending.pop(n)
    for name, rule in pending.items():
        outcomes[name] = replay(rule, evidence)

    rows = []
    for name in rules:
        res = outcomes[name]
        row: dict[str, Any] = {"rule": name}
        row.update(_outcome(evidence, res.n_stop, res.fired, test_sign))
        secs = [float(r.get("seconds", 0.0)) for r in res.history]
        row["checks"] = len(res.history)
        row["ms_per_check"] = 1000 * float(np.mean(secs)) if secs else float("nan")
        row["reason"] = (
            res.history[-1]["reason"]
            if res.history
            else "never checked (fewer trials than warm-up)"
        )
        row["setting"] = setting_label(name, rules[name])
        rows.append(row)
    return pd.DataFrame(rows)


def setting_label(name: str, rule: StoppingRule) -> str:
    """A rule setting as a user sets it: ``autoterm error_scale 4.76 (decay 1)``.

    Why: the replay's keys carry the paper's decay (``autoterm_1.0``), but the
    Python argument and ``--error-scale`` take ``error_scale = decay / 0.21``;
    a label by decay read as error_scale 1.0 is off by 4.76x.
    """
    if not isinstance(rule, AutoTermination):
        return name
    label = f"autoterm {rule.bound} error_scale {rule.error_scale:.3g}"
    if rule.threshold is not None:
        label = f"autoterm {rule.bound} threshold {rule.threshold:.3g}"
    elif rule.bound == "ucb_lcb":
        label += f" (decay {rule.error_scale * PAPER_VARIANCE_FACTOR:.2g})"
    if rule.patience is not None:
        label += f" patience {rule.patience}"
    return label


def write_compare_outputs(
    df: pd.DataFrame, out_dir: str | Path, name: str = "compare"
) -> dict[str, Path]:
    """Write ``<name>.csv`` and ``<name>.png`` (trials saved vs incumbent change per rule)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{name}.csv"
    df.to_csv(csv_path, index=False)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_test = "test_rel_change" in df.columns
    fig, axes = plt.subplots(
        1, 2 if has_test else 1, figsize=(12 if has_test else 6.5, 5), squeeze=False
    )
    panels = [("metric_rel_change", "validation metric")] + (
        [("test_rel_change", "test metric")] if has_test else []
    )
    labels = df["setting"] if "setting" in df else df["rule"]
    for ax, (col, label) in zip(axes[0], panels):
        # settings that land on the same point share one marker and one stacked label
        points: dict[tuple, list[str]] = {}
        for (_, r), text in zip(df.iterrows(), labels):
            y = r.get(col)
            if y is None or (isinstance(y, float) and math.isnan(y)):
                continue
            key = (round(float(r["trials_saved_frac"]), 4), round(float(y), 4), bool(r["stopped"]))
            points.setdefault(key, []).append(str(text))
        for (x, y, stopped), texts in points.items():
            ax.scatter(x, y, marker="o" if stopped else "x", s=40)
            ax.annotate(
                "\n".join(texts),
                (x, y),
                fontsize=7,
                xytext=(4, 4),
                textcoords="offset points",
                va="bottom",
            )
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("share of trials saved")
        ax.set_ylabel(f"relative change of the incumbent's {label}\n(negative: worse when stopped)")
        ax.grid(alpha=0.3)
    n = int(df["n_trials"].iloc[0]) if len(df) else 0
    fig.suptitle(f"When each rule would have stopped ({n} completed trials; x: never fired)")
    fig.tight_layout()
    png_path = out / f"{name}.png"
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return {"csv": csv_path, "png": png_path}
