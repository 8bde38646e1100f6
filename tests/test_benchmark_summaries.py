"""Summaries the benchmark tables are read from: per-dataset means and paired dominance."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import compare  # noqa: E402
import dominance  # noqa: E402


def _per_run() -> pd.DataFrame:
    rows = []
    for seed in range(4):
        # "base" saves 0.2 more than ours on every run at the same loss, so the
        # paired difference is exact; on dataset b ours loses 0.05 once.
        for dataset in ("a", "b"):
            ours_ryc = -0.05 if (dataset == "b" and seed == 0) else 0.0
            rows.append({"dataset": dataset, "model": "RF", "seed": seed,
                         "method": "autoterm_0.21", "rtc": 0.1 * seed, "ryc": ours_ryc,
                         "fired": True})
            rows.append({"dataset": dataset, "model": "RF", "seed": seed, "method": "conv_10",
                         "rtc": 0.1 * seed + 0.2, "ryc": ours_ryc, "fired": seed > 0})
    return pd.DataFrame(rows)


def test_summary_by_dataset_keeps_a_single_loss_visible():
    by_dataset = compare.summary_by_dataset(_per_run()).set_index(["method", "dataset"])
    assert by_dataset.loc[("autoterm_0.21", "b"), "min_ryc"] == pytest.approx(-0.05)
    assert by_dataset.loc[("autoterm_0.21", "a"), "min_ryc"] == 0.0
    assert by_dataset.loc[("conv_10", "a"), "stop_rate"] == pytest.approx(0.75)
    assert by_dataset.loc[("conv_10", "a"), "n_runs"] == 4


def test_paired_difference_and_clear_dominance():
    per_run = _per_run()
    d = dominance.paired_difference(per_run, "conv_10", "autoterm_0.21", "RF")
    assert d["n"] == 8
    assert d["d_rtc"] == pytest.approx(0.2)
    assert d["se_rtc"] == pytest.approx(0.0, abs=1e-12)
    assert d["d_ryc"] == pytest.approx(0.0)
    summary = per_run.groupby(["method", "model"]).agg(
        rtc=("rtc", "mean"), ryc=("ryc", "mean"), n_runs=("rtc", "size")).reset_index()
    table = dominance.dominated(summary, per_run)
    text = table.set_index("method").loc["autoterm_0.21", "dominated_by"]
    assert text.startswith("conv_10") and text.endswith(", clear]")
    # without a per-run file the means alone are reported
    assert "d_rtc" not in dominance.dominated(summary).iloc[0]["dominated_by"]
