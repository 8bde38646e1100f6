"""One meaning of "completed trial": online collector, replay and run summary agree.

Why: ``EvidenceCollector`` (online), ``compare.completed_trials`` (replay) and
``report.completed_trials`` (the summary and figure) each had their own rule.
The summary counted a stopped or failed trial, took an earlier row when a
trial's last report had a NaN metric, and the replay ignored the resource
attribute of a multi-fidelity run, so the summary's count and the replayed
decisions were not about the trials the rule saw online.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syne_autoterm import compare, report
from syne_autoterm.evidence import EvidenceCollector, FoldSpec, counts_as_completed

NAN = math.nan


class _Status:
    """What the collector reads of Syne Tune's ``TuningStatus``."""

    def __init__(self, rows: dict):
        self.trial_rows = rows


# (trial_id, rows as (error, epoch), how the trial ended)
TRIALS = [
    (0, [(0.30, 1), (0.25, 3)], "Completed"),
    (1, [(0.10, 1)], "Stopped"),  # stopped early: a partial result
    (2, [(0.20, 1), (NAN, 3)], "Completed"),  # its last report has no metric value
    (3, [(0.05, 1)], "Failed"),
    (4, [(0.40, 1), (0.35, 3)], "Stopped"),  # ASHA answered STOP at max_t
    (5, [(0.15, 1)], "Completed"),  # completed below max_t
]


def _table(final_status: bool) -> pd.DataFrame:
    rows, t = [], 0.0
    for tid, reports, ended in TRIALS:
        for k, (error, epoch) in enumerate(reports):
            t += 1.0
            last = k == len(reports) - 1
            rows.append(
                {
                    "trial_id": tid,
                    "error": error,
                    "epoch": epoch,
                    "st_tuner_time": t,
                    "st_status": ended if last and ended != "Stopped" else "InProgress",
                    "st_decision": "STOP" if last and ended == "Stopped" else "CONTINUE",
                    "config_x": float(tid),
                }
            )
    df = pd.DataFrame(rows)
    if final_status:
        df["st_final_status"] = df["trial_id"].map({t: e for t, _, e in TRIALS})
    return df


def _online(resource: tuple) -> list[int]:
    collector = EvidenceCollector(
        "error",
        "min",
        FoldSpec(None),
        config_keys=["x"],
        resource_attr=resource[0],
        max_resource=resource[1],
    )
    rows = {
        tid: {
            "trial_id": tid,
            "status": ended,
            "x": float(tid),
            "error": reports[-1][0],
            "epoch": reports[-1][1],
        }
        for tid, reports, ended in TRIALS
    }
    collector.update(_Status(rows))
    return list(collector.evidence().trial_ids)


@pytest.mark.parametrize("final_status", [True, False])
@pytest.mark.parametrize("resource", [(None, None), ("epoch", 3)])
def test_summary_replay_and_online_count_the_same_trials(resource, final_status):
    online = _online(resource)
    expected = [0, 2, 5] if resource[0] is None else [0, 2, 4]
    assert online == expected
    table = _table(final_status)
    assert list(report.completed_trials(table, "error", *resource)["trial_id"]) == expected
    assert list(compare.completed_trials(table, "error", *resource)["trial_id"]) == expected
    # the trial whose last report has no metric is a completed trial with a NaN value
    done = report.completed_trials(table, "error", *resource)
    assert math.isnan(done.set_index("trial_id").loc[2, "error"])


def test_replayed_evidence_of_a_multi_fidelity_run_is_the_online_evidence():
    evidence, _ = compare.experiment_evidence(
        _table(True), "error", fold_metrics=None, resource_attr="epoch", max_resource=3
    )
    assert list(evidence.trial_ids) == _online(("epoch", 3))


def test_summary_counts_what_the_rule_counted():
    summary = report.summarize(_table(True), [], "error", fold_prefix=None, test_metric=None)
    # before: 6 trials, the best the failed trial 3 (0.05) and trial 2 at 0.20
    assert summary.n_completed == 3 and summary.best_trial_id == 5


@pytest.mark.parametrize(
    ("status", "level", "top", "counts"),
    [
        ("Completed", None, None, True),
        ("Stopped", None, None, False),
        ("Failed", None, None, False),
        ("InProgress", None, None, False),
        ("Completed", 3, 3, True),
        ("Stopped", 3.0, 3, True),
        ("Stopped", 1, 3, False),
        ("Completed", 1, 3, False),
        ("Completed", None, 3, False),
        ("Failed", 3, 3, False),
    ],
)
def test_one_definition(status, level, top, counts):
    assert counts_as_completed(status, level, top) is counts


def test_a_table_that_never_says_completed_still_has_its_trials():
    """Syne Tune writes a trial's only report while the trial still runs, so every
    row of a table saved without the tuner can say ``InProgress``: those trials
    completed (the summary counted them before statuses were read, and must still),
    while a trial answered STOP and a failed one stay out."""
    rows = [
        {"trial_id": t, "error": e, "st_tuner_time": float(t), "st_status": s, "st_decision": d}
        for t, e, s, d in [
            (0, 0.3, "InProgress", "CONTINUE"),
            (1, 0.2, "InProgress", "CONTINUE"),
            (2, 0.1, "InProgress", "STOP"),
            (3, 0.05, "Failed", "CONTINUE"),
            (4, 0.25, "InProgress", "CONTINUE"),
        ]
    ]
    table = pd.DataFrame(rows)
    for completed in (report.completed_trials, compare.completed_trials):
        assert list(completed(table, "error")["trial_id"]) == [0, 1, 4]
    summary = report.summarize(table, [], "error", fold_prefix=None, test_metric=None)
    assert summary.n_completed == 3 and summary.best_trial_id == 1
    # multi-fidelity: a trial needs its top resource (4 does not reach it); one answered
    # STOP at the top resource is a result, as online
    partial = table.assign(epoch=[3, 3, 3, 3, 1])
    assert list(report.completed_trials(partial, "error", "epoch", 3)["trial_id"]) == [0, 1, 2]


def test_pickled_collector_names_only_the_public_module():
    """A saved tuner.dill names ``syne_autoterm.evidence``, never the modules it is split into."""
    import dill

    from syne_autoterm.evidence import audit_folds

    collector = EvidenceCollector("error", "min", FoldSpec("cv_fold_"), config_keys=["x"])
    row = {"trial_id": 0, "status": "Completed", "x": 1.0, "error": 0.3}
    collector.update(_Status({0: {**row, "cv_fold_0": 0.2, "cv_fold_1": 0.4}}))
    evidence = collector.evidence()
    blob = dill.dumps((collector, evidence, audit_folds(evidence.folds)))
    assert b"syne_autoterm.evidence" in blob and b"syne_autoterm._evidence" not in blob
    clone, clone_evidence, clone_audit = dill.loads(blob)
    assert clone.evidence().key() == evidence.key() == clone_evidence.key()
    assert clone_audit.usable(0)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 12),
    k=st.integers(2, 6),
    scale=st.sampled_from([1e-300, 1e-8, 1.0, 1e8, 1e300]),
)
def test_the_vectorised_fold_audit_judges_as_each_trial_alone(data, n, k, scale):
    """The fold audit tests all trials at once for speed; its verdicts must be those of
    :func:`fold_metric_mismatch` and of a per-trial finiteness test, including metrics at
    the tolerance's edge, overflowing means, NaN and mixed fold counts."""
    from syne_autoterm.evidence import audit_fold_means, audit_folds, fold_metric_mismatch

    folds, values = [], []
    for _ in range(n):
        size = data.draw(st.sampled_from([k, k, k, k + 1, 0]))
        f = np.asarray(data.draw(st.lists(st.floats(-2, 2), min_size=size, max_size=size)))
        f = f * scale
        if size and data.draw(st.booleans()):
            f[data.draw(st.integers(0, size - 1))] = data.draw(
                st.sampled_from([np.nan, np.inf, 1e308])
            )
        mean = float(np.mean(f)) if size else 0.0
        # a metric off by exactly the tolerance's relative part, a bit more or less
        off = data.draw(
            st.sampled_from([0.0, 0.0499999, 0.05, 0.0500001, 1 / 19, 0.0526316, 0.5, np.nan])
        )
        values.append(mean + off * abs(mean))
        folds.append(f.tolist() if data.draw(st.booleans()) else f)
    base = audit_folds(folds)
    audit = audit_fold_means(base, values, folds)
    for i, f in enumerate(folds):
        a = np.asarray(f, dtype=float)
        expected_kind = base.kinds[i]
        if a.size and expected_kind is None:
            assert np.all(np.isfinite(a))
            why = fold_metric_mismatch(float(values[i]), a)
            expected_kind = None if why is None else "folds-metric-mismatch"
            assert audit.problems[i] == why
        elif a.size == base.expected and a.size:
            assert (expected_kind == "folds-nonfinite") == (not np.all(np.isfinite(a)))
        assert audit.kinds[i] == expected_kind
