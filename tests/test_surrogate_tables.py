"""benchmarks.surrogate_tables: a small real table extended by add_surrogate.

A synthetic "real" table with a known objective and a known per-fold offset
stands in for a built table, so the test can tell whether the surrogate pool
keeps the ranking and the fold spread that the stopping rules depend on.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from benchmarks import surrogate_tables
from benchmarks.build_tables import rounded_configs
from syne_autoterm.simulation import TableBlackbox
from syne_autoterm.workloads.spaces import search_space

FOLD_OFFSETS = np.linspace(-0.02, 0.02, 10)


def _truth(config: dict) -> float:
    """Smooth in the RF space: more trees and depth help, large splits hurt."""
    return (
        0.3
        - 0.04 * math.log(config["n_estimators"])
        - 0.02 * config["max_depth"]
        + 0.2 * config["min_samples_split"]
    )


def _real_table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i, config in enumerate(rounded_configs("rf", n, seed=0)):
        mean = _truth(config)
        folds = mean + FOLD_OFFSETS + rng.normal(0, 0.002, 10)
        row = {"config_id": i, **{f"hp_{k}": v for k, v in config.items()}}
        row.update({f"fold_{j}": folds[j] for j in range(10)})
        row.update(
            value=folds.mean(),
            test_value=mean + 0.01,
            elapsed_time=1.0 + i % 3,
            metric="classification_error",
        )
        rows.append(row)
    return pd.DataFrame(rows)


def test_surrogate_pool_keeps_ranking_and_fold_spread():
    real = _real_table(80)
    pool = surrogate_tables.surrogate_table(real, "rf", n_configs=300, keep_real=False)
    assert list(pool["config_id"]) == list(range(300))
    assert set(pool["source"]) == {"surrogate"}
    configs = rounded_configs("rf", 300, seed=0)
    assert pool.loc[150, "hp_n_estimators"] == configs[150]["n_estimators"]
    truth = [_truth(c) for c in configs]
    assert spearmanr(pool["value"], truth)[0] > 0.9
    fold_std = pool[[f"fold_{j}" for j in range(10)]].std(axis=1).median()
    assert fold_std == pytest.approx(np.std(FOLD_OFFSETS, ddof=1), rel=0.3)
    fold_means = pool[[f"fold_{j}" for j in range(10)]].mean(axis=0).to_numpy()
    assert np.all(np.diff(fold_means) > 0)  # the per-fold offsets survive, in order
    assert np.allclose(
        pool["value"], pool[[f"fold_{j}" for j in range(10)]].mean(axis=1), atol=1e-6
    )
    # the pool is a table BO can run on
    blackbox = TableBlackbox(pool, search_space("rf"))
    out = blackbox.objective_function(configs[7], fidelity={"epoch": 1})
    assert out["error"] == pytest.approx(pool.loc[7, "value"])


def test_validate_reports_quality_and_too_small_tables_are_refused():
    real = _real_table(60)
    quality = surrogate_tables.validate(real, "rf", k=3)
    assert quality["n_real"] == 60
    assert quality["spearman_mean"] > 0.8
    assert 0.7 < quality["fold_std_ratio_median"] < 1.3
    with pytest.raises(ValueError, match=">= 10 evaluated rows"):
        surrogate_tables.fit_surrogate(real.iloc[:5], "rf")


def test_cli_writes_tables_and_quality(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    real = _real_table(120)
    real.to_csv(tables / "toy__rf.csv.gz", index=False, compression="gzip")
    out = tmp_path / "surrogate"
    code = surrogate_tables.main(
        [
            "--tables",
            str(tables),
            "--out",
            str(out),
            "--models",
            "rf",
            "--n-configs",
            "150",
            "--fit-rows",
            "60",
            "--min-rows",
            "50",
            "--validate",
        ]
    )
    assert code == 0
    pool = pd.read_csv(out / "toy__rf.csv.gz")
    assert len(pool) == 150
    assert (pool["source"] == "real").sum() == 60  # fitted rows kept, the rest predicted
    quality = pd.read_csv(out / "surrogate_quality.csv")
    assert quality.loc[0, "n_real"] == 60
    for column in ("hybrid_noise_ratio", "predicted_noise_ratio", "real_noise_ratio"):
        assert quality.loc[0, column] > 0
    assert quality.loc[0, "n_unseen"] == 60  # ids 60..119 were held out and compared
    assert quality.loc[0, "unseen_spearman_mean"] > 0.8
    assert "`toy__rf.csv.gz`: 150 configs from 60 real" in (out / "README.md").read_text()


def test_readme_lists_every_pool_in_the_folder_with_its_command(tmp_path):
    """A run restricted by --datasets must not drop the other pools from the README."""
    tables = tmp_path / "tables"
    tables.mkdir()
    for name in ("alpha", "beta"):
        _real_table(80).to_csv(tables / f"{name}__rf.csv.gz", index=False, compression="gzip")
    out = tmp_path / "surrogate"
    common = ["--tables", str(tables), "--out", str(out), "--models", "rf", "--min-rows", "50"]
    assert surrogate_tables.main([*common, "--n-configs", "120"]) == 0
    assert surrogate_tables.main([*common, "--n-configs", "150", "--datasets", "beta"]) == 0
    readme = (out / "README.md").read_text()
    assert "`alpha__rf.csv.gz`: 120 configs from 80 real" in readme
    assert "`beta__rf.csv.gz`: 150 configs from 80 real" in readme
    assert "--datasets beta" in readme.split("alpha__rf")[1]  # beta listed under its own command
    manifest = pd.read_csv(out / "pools.csv")
    assert list(manifest["table"]) == ["alpha__rf.csv.gz", "beta__rf.csv.gz"]
    assert list(manifest["configs"]) == [120, 150]
    assert manifest["command"].str.startswith("python -m benchmarks.surrogate_tables ").all()
    beta_bytes = (out / "beta__rf.csv.gz").read_bytes()
    time.sleep(1.1)  # a gzip header timestamp (whole seconds) would now differ
    (out / "alpha__rf.csv.gz").unlink()
    assert surrogate_tables.main([*common, "--n-configs", "150", "--datasets", "beta"]) == 0
    assert "alpha__rf" not in (out / "README.md").read_text()  # a deleted pool is not listed
    assert (out / "beta__rf.csv.gz").read_bytes() == beta_bytes  # no timestamp in the gzip


def test_hybrid_pool_keeps_the_real_rows_and_predicts_only_the_rest():
    real = _real_table(80)
    pool = surrogate_tables.surrogate_table(real, "rf", n_configs=200)
    real_part = pool[pool["source"] == "real"]
    assert list(real_part["config_id"]) == list(range(80))
    assert set(pool.loc[pool["config_id"] >= 80, "source"]) == {"surrogate"}
    folds = [f"fold_{j}" for j in range(10)]
    np.testing.assert_allclose(real_part[folds].to_numpy(), real[folds].to_numpy())
    np.testing.assert_allclose(real_part["value"], real["value"])
    # the all-predicted pool differs exactly on those rows
    predicted = surrogate_tables.surrogate_table(real, "rf", n_configs=200, keep_real=False)
    assert set(predicted["source"]) == {"surrogate"}
    assert not np.allclose(predicted.loc[:79, "fold_0"], real["fold_0"])
    np.testing.assert_allclose(predicted.loc[80:, "value"], pool.loc[80:, "value"])
    # a failed real config (NaN scores) is predicted, not copied
    broken = real.copy()
    broken.loc[3, folds + ["value"]] = np.nan
    pool = surrogate_tables.surrogate_table(broken, "rf", n_configs=100)
    assert pool.loc[3, "source"] == "surrogate" and np.isfinite(pool.loc[3, "value"])
