"""The run summary the CLI prints: its statistical error is the rule's own."""

from __future__ import annotations

import pandas as pd
import pytest

from syne_autoterm import nadeau_bengio_error
from syne_autoterm.report import summarize

FOLDS = [0.10, 0.14, 0.12, 0.18, 0.11]


def _results() -> pd.DataFrame:
    rows = []
    for trial, shift in enumerate([0.05, 0.0, 0.08]):
        folds = [f + shift for f in FOLDS]
        row = {"trial_id": trial, "error": sum(folds) / len(folds), "st_tuner_time": trial}
        row.update({f"cv_fold_{i}": v for i, v in enumerate(folds)})
        rows.append(row)
    return pd.DataFrame(rows)


def test_summary_reports_the_error_the_rule_used_for_that_incumbent():
    """summarize always recomputed Nadeau-Bengio with ddof=1, so its +- disagreed with a rule
    using bootstrap, binomial, ddof=0 or another test/train ratio."""
    history = [{"n_completed": 3, "stop": False, "incumbent_trial_id": 1, "stat_error": 0.0123}]
    summary = summarize(_results(), history, "error")
    assert summary.best_trial_id == 1 and summary.best_stat_error == pytest.approx(0.0123)


def test_summary_without_a_check_of_that_incumbent_falls_back_to_its_folds():
    history = [{"n_completed": 2, "stop": False, "incumbent_trial_id": 0, "stat_error": 0.5}]
    summary = summarize(_results(), history, "error")
    assert summary.best_stat_error == pytest.approx(nadeau_bengio_error(FOLDS))
