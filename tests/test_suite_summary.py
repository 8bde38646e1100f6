"""Pooling real-table and surrogate-pool results into one part-2 summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks import suite_summary


def _per_run(tables: list[tuple[str, str]], rtc: float, seeds: int = 3) -> pd.DataFrame:
    rows = []
    for dataset, model in tables:
        for seed in range(seeds):
            for method, shift in (("autoterm_1.0", 0.0), ("conv_10", 0.1)):
                rows.append(
                    {
                        "dataset": dataset,
                        "model": model,
                        "seed": seed,
                        "metric": "classification_error",
                        "method": method,
                        "fired": True,
                        "checks": 5,
                        "ms_per_check": 1.0,
                        "n_stop": 40,
                        "rtc": rtc + shift,
                        "ryc": -0.01 * seed,
                        "rel_val": 0.0,
                        "test_stop": 0.1,
                        "test_final": 0.1,
                        "time_saved": rtc,
                    }
                )
    return pd.DataFrame(rows)


def _write_pool(root: Path, name: str, per_run: pd.DataFrame, noise: dict) -> tuple[Path, Path]:
    results, tables = root / name / "results", root / name / "tables"
    results.mkdir(parents=True)
    tables.mkdir(parents=True)
    per_run.to_csv(results / "per_run.csv", index=False)
    pd.DataFrame(
        [
            {"dataset": d, "model": m, "n_configs": 1000, "noise_ratio": r}
            for (d, m), r in noise.items()
        ]
    ).to_csv(tables / "noise.csv", index=False)
    return results, tables


def test_pools_are_combined_and_the_first_pool_wins(tmp_path):
    real = _per_run([("a", "RF"), ("b", "XGB"), ("c", "RF")], rtc=0.5)
    # the hybrid pool repeats table a (must be ignored) and adds two MLP tables
    hybrid = _per_run([("a", "RF"), ("d", "MLP"), ("e", "MLP"), ("f", "MLP")], rtc=0.2)
    # the real pool also has a noise ratio for d (a partial table whose runs it lacks)
    real_dirs = _write_pool(
        tmp_path,
        "real",
        real,
        {("a", "RF"): 10.0, ("b", "XGB"): 3.0, ("c", "RF"): 5.0, ("d", "MLP"): 50.0},
    )
    hybrid_dirs = _write_pool(
        tmp_path,
        "hybrid",
        hybrid,
        {("a", "RF"): 99.0, ("d", "MLP"): 1.0, ("e", "MLP"): 2.0, ("f", "MLP"): 4.0},
    )
    out = tmp_path / "suite"
    argv = [
        "--pool",
        "real",
        *map(str, real_dirs),
        "--pool",
        "hybrid",
        *map(str, hybrid_dirs),
        "--out",
        str(out),
    ]
    assert suite_summary.main(argv) == 0

    per_run = pd.read_csv(out / "per_run.csv")
    assert set(per_run[per_run.dataset == "a"].pool) == {"real"}
    assert len(per_run) == len(real) + len(hybrid) - len(hybrid[hybrid.dataset == "a"])

    summary = pd.read_csv(out / "summary.csv").set_index(["method", "model"])
    assert summary.loc[("autoterm_1.0", "RF"), "rtc"] == pytest.approx(0.5)
    assert summary.loc[("autoterm_1.0", "MLP"), "rtc"] == pytest.approx(0.2)
    assert summary.loc[("conv_10", "MLP"), "n_runs"] == 9
    assert summary.loc[("autoterm_1.0", "all"), "n_runs"] == 18

    cov = pd.read_csv(out / "coverage.csv").set_index(["dataset", "model"])
    assert cov.loc[("a", "RF"), "pool"] == "real"
    assert cov.loc[("a", "RF"), "noise_ratio"] == 10.0  # from the pool the runs came from
    assert cov.loc[("d", "MLP"), "n_seeds"] == 3
    assert cov.loc[("d", "MLP"), "noise_ratio"] == 1.0
    assert (out / "pareto.png").stat().st_size > 0
    assert "| MLP | hybrid | 3 | d, e, f |" in (out / "coverage.md").read_text()
    assert (out / "noise_vs_rtc.csv").exists()


def test_a_missing_pool_is_a_clear_error(tmp_path, capsys):
    argv = ["--pool", "real", str(tmp_path / "nope"), str(tmp_path), "--out", str(tmp_path / "o")]
    assert suite_summary.main(argv) == 1
    assert "no " in capsys.readouterr().err


def test_per_run_picks_a_tagged_file_in_every_pool(tmp_path):
    real_tables, hybrid_tables = (
        [("a", "RF"), ("b", "RF"), ("c", "RF")],
        [("d", "MLP"), ("e", "MLP"), ("f", "MLP")],
    )
    real_dirs = _write_pool(
        tmp_path,
        "real",
        _per_run(real_tables, rtc=0.5),
        {t: float(i) for i, t in enumerate(real_tables, 1)},
    )
    hybrid_dirs = _write_pool(
        tmp_path,
        "hybrid",
        _per_run(hybrid_tables, rtc=0.2),
        {t: float(i) for i, t in enumerate(hybrid_tables, 1)},
    )
    # the tagged files hold other results (a subset of seeds, other methods)
    _per_run(real_tables, rtc=0.7, seeds=2).to_csv(real_dirs[0] / "per_run_sub.csv", index=False)
    _per_run(hybrid_tables, rtc=0.1, seeds=2).to_csv(
        hybrid_dirs[0] / "per_run_sub.csv", index=False
    )
    out = tmp_path / "suite"
    argv = [
        "--per-run",
        "per_run_sub.csv",
        "--pool",
        "real",
        *map(str, real_dirs),
        "--pool",
        "hybrid",
        *map(str, hybrid_dirs),
        "--out",
        str(out),
    ]
    assert suite_summary.main(argv) == 0
    summary = pd.read_csv(out / "summary.csv").set_index(["method", "model"])
    assert summary.loc[("autoterm_1.0", "RF"), "rtc"] == pytest.approx(0.7)
    assert summary.loc[("autoterm_1.0", "MLP"), "rtc"] == pytest.approx(0.1)
    assert summary.loc[("autoterm_1.0", "all"), "n_runs"] == 12
