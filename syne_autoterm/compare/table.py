"""The compare table: every rule replayed on one experiment, one row per rule setting.

Why its own module: this is what ``syne-autoterm compare`` prints, and what a
row means (the trials and time saved, how much worse the stopped incumbent
is, the setting in the words a user sets it by) is defined once, here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..evidence import Evidence, check_mode
from ..stopping import AutoTermination, StoppingRule
from ..stopping.outcome import ryc
from ..stopping.settings import PAPER_VARIANCE_FACTOR
from .experiment import _config_space_from_metadata, experiment_evidence, load_results
from .shared_bound import replay_rules

__all__ = ["compare_experiment", "setting_label"]


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
        from ..stopping.registry import default_rules

        if config_space is None and peers:
            raise ValueError(
                "the peers need the config space: pass config_space=... or the "
                "experiment's name/folder (its metadata stores the space)"
            )
        # without a config space AutoTermination guesses the domain from the data (and logs it)
        rules = default_rules(
            metric, mode, fold_metrics, config_space=config_space, warm_up=warm_up, peers=peers
        )

    outcomes = replay_rules(rules, evidence, share_bound)

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
