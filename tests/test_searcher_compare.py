"""``benchmarks.searcher_compare``'s per-run function on a small table, both searchers.

Why: the comparison's rows are what the decision to make ``aligned_botorch`` the
default rests on; a run that silently stopped early, timed nothing or lost the
mismatch count would still write a plausible-looking summary.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmarks._common import TABLES, load_table
from benchmarks.searcher_compare import SEARCHERS, run_one, summarize

TABLE = TABLES / "breast_cancer__rf.csv.gz"


def test_run_one_rows_are_finite_and_sane(synetune_folder):
    best = load_table(TABLE)["value"].min()
    rows = [run_one(TABLE, s, seed=0, iterations=12, n_workers=2) for s in SEARCHERS]
    for row in rows:
        assert row["dataset"] == "breast_cancer" and row["model"] == "RF"
        assert row["n_completed"] == 12
        assert row["n_suggest"] >= 12
        for key in ("val_error", "test_error", "val_regret", "suggest_median_s", "suggest_mean_s"):
            assert math.isfinite(row[key]), key
        assert 0 <= row["val_error"] <= 1 and 0 <= row["test_error"] <= 1
        assert row["val_regret"] >= 0
        assert row["val_error"] == pytest.approx(best + row["val_regret"])
        assert 0 < row["suggest_median_s"] < 30
    syne, aligned = rows
    assert 0 <= syne["mismatched_rows"] <= syne["training_rows"]
    assert syne["training_rows"] >= 12
    assert math.isnan(aligned["mismatched_rows"])
    summary, paired = summarize(pd.DataFrame(rows))
    assert set(summary.searcher) == set(SEARCHERS)
    assert paired.n_pairs.tolist() == [1, 1, 1]  # the table, its model, all
