"""The per-table noise statistics that explain where the rules stop early."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks import table_noise


def _table(n: int, fold_offsets: list[float], step: float) -> pd.DataFrame:
    """Config i has CV mean ``step * i`` and the same fold offsets around it."""
    offsets = np.asarray(fold_offsets) - np.mean(fold_offsets)
    rows = []
    for i in range(n):
        mean = step * i
        row = {"config_id": i, **{f"fold_{k}": mean + o for k, o in enumerate(offsets)}}
        row.update(value=mean, test_value=mean, metric="classification_error")
        rows.append(row)
    return pd.DataFrame(rows)


def test_noise_statistics_on_a_hand_made_table():
    table = _table(50, [0.0, 0.1, 0.2, 0.3], step=0.01)
    table.loc[len(table)] = {**table.iloc[0].to_dict(), "config_id": 99, "value": np.nan}
    stats = table_noise.table_noise(table, top=5)
    assert stats["n_configs"] == 50
    assert stats["best_value"] == 0.0
    assert stats["top_fold_std_median"] == pytest.approx(np.std([0, 0.1, 0.2, 0.3], ddof=1))
    # the 5 best means are 0, 0.01, ..., 0.04
    assert stats["top_mean_std"] == pytest.approx(np.std(np.arange(5) * 0.01, ddof=1))
    assert stats["noise_ratio"] == pytest.approx(
        stats["top_fold_std_median"] / stats["top_mean_std"]
    )


def test_noise_summary_writes_one_row_per_table(tmp_path):
    _table(30, [0, 1, 2], step=0.5).to_csv(tmp_path / "toy__rf.csv.gz", index=False)
    _table(30, [0, 0.1, 0.2], step=0.5).to_csv(tmp_path / "toy__xgboost.csv.gz", index=False)
    assert table_noise.main(["--tables", str(tmp_path), "--top", "10"]) == 0
    summary = pd.read_csv(tmp_path / "noise.csv").set_index("model")
    assert summary.loc["RF", "noise_ratio"] == pytest.approx(10 * summary.loc["XGB", "noise_ratio"])
    assert "toy RF" in (tmp_path / "noise.md").read_text()


def test_a_table_without_folds_is_refused():
    with pytest.raises(ValueError, match="fold_"):
        table_noise.table_noise(pd.DataFrame({"value": [1.0, 2.0]}))


def test_noise_vs_rtc_separates_a_rule_that_reads_the_noise_from_one_that_does_not():
    noise = pd.DataFrame(
        {"dataset": list("abcd"), "model": "RF", "noise_ratio": [1.0, 2.0, 5.0, 10.0]}
    )
    by_dataset = pd.DataFrame(
        {
            "method": ["adaptive"] * 4 + ["blind"] * 4 + ["few"] * 2,
            "model": "RF",
            "dataset": list("abcd") + list("dcab") + list("ab"),
            "rtc": [0.1, 0.3, 0.6, 0.9] + [0.5, 0.6, 0.4, 0.7] + [0.1, 0.2],
        }
    )
    result = table_noise.noise_vs_rtc(noise, by_dataset).set_index("method")
    assert result.loc["adaptive", "spearman"] == pytest.approx(1.0)
    # rtc by dataset a..d: 0.4, 0.7, 0.6, 0.5 -> ranks 1, 4, 3, 2: rho = 1 - 6 * 8 / 60
    assert result.loc["blind", "spearman"] == pytest.approx(0.2)
    assert "few" not in result.index  # under 3 tables: no correlation reported


def test_min_rows_leaves_partial_builds_out(tmp_path):
    _table(30, [0, 1, 2], step=0.5).to_csv(tmp_path / "full__rf.csv.gz", index=False)
    _table(10, [0, 1, 2], step=0.5).to_csv(tmp_path / "partial__rf.csv.gz", index=False)
    assert table_noise.main(["--tables", str(tmp_path), "--min-rows", "30"]) == 0
    assert list(pd.read_csv(tmp_path / "noise.csv").dataset) == ["full"]
    assert table_noise.main(["--tables", str(tmp_path)]) == 0
    assert sorted(pd.read_csv(tmp_path / "noise.csv").dataset) == ["full", "partial"]
