"""Summaries the benchmark tables are read from: per-dataset means and paired dominance."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks import dominance, suite_compare


def _per_run() -> pd.DataFrame:
    rows = []
    for seed in range(4):
        # "base" saves 0.2 more than ours on every run at the same loss, so the
        # paired difference is exact; on dataset b ours loses 0.05 once.
        for dataset in ("a", "b"):
            ours_ryc = -0.05 if (dataset == "b" and seed == 0) else 0.0
            rows.append(
                {
                    "dataset": dataset,
                    "model": "RF",
                    "seed": seed,
                    "method": "autoterm_0.21",
                    "rtc": 0.1 * seed,
                    "ryc": ours_ryc,
                    "fired": True,
                }
            )
            rows.append(
                {
                    "dataset": dataset,
                    "model": "RF",
                    "seed": seed,
                    "method": "conv_10",
                    "rtc": 0.1 * seed + 0.2,
                    "ryc": ours_ryc,
                    "fired": seed > 0,
                }
            )
    return pd.DataFrame(rows)


def test_summary_by_dataset_keeps_a_single_loss_visible():
    by_dataset = suite_compare.summary_by_dataset(_per_run()).set_index(["method", "dataset"])
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
    summary = (
        per_run.groupby(["method", "model"])
        .agg(rtc=("rtc", "mean"), ryc=("ryc", "mean"), n_runs=("rtc", "size"))
        .reset_index()
    )
    table = dominance.dominated(summary, per_run)
    text = table.set_index("method").loc["autoterm_0.21", "dominated_by"]
    assert text.startswith("conv_10") and text.endswith(", clear]")
    # without a per-run file the means alone are reported
    assert "d_rtc" not in dominance.dominated(summary).iloc[0]["dominated_by"]


def test_dominance_command_reads_the_per_run_file_beside_the_summary(tmp_path, capsys):
    per_run = _per_run()
    summary = (
        per_run.groupby(["method", "model"])
        .agg(rtc=("rtc", "mean"), ryc=("ryc", "mean"), n_runs=("rtc", "size"))
        .reset_index()
    )
    summary.to_csv(tmp_path / "summary_x.csv", index=False)
    per_run.to_csv(tmp_path / "per_run_x.csv", index=False)
    assert dominance.main([str(tmp_path / "summary_x.csv"), "--out", str(tmp_path / "d.csv")]) == 0
    assert ", clear]" in capsys.readouterr().out
    written = pd.read_csv(tmp_path / "d.csv")
    assert list(written.method) == ["autoterm_0.21"]
    assert written.summary.iloc[0].endswith("summary_x.csv")
    with pytest.raises(SystemExit):
        dominance.main([str(tmp_path / "missing.csv")])


def _toy_table(n: int) -> pd.DataFrame:
    """A table in build_tables's format on the RF space, with fold noise."""
    import math

    import numpy as np

    from benchmarks.build_tables import rounded_configs

    rng = np.random.default_rng(1)
    rows = []
    for i, config in enumerate(rounded_configs("rf", n, seed=0)):
        mean = 0.3 - 0.04 * math.log(config["n_estimators"]) - 0.02 * config["max_depth"]
        folds = mean + rng.normal(0, 0.03, 10)
        row = {"config_id": i, **{f"hp_{k}": v for k, v in config.items()}}
        row.update({f"fold_{j}": folds[j] for j in range(10)})
        row.update(
            value=folds.mean(),
            test_value=mean + rng.normal(0, 0.01),
            elapsed_time=1.0,
            metric="classification_error",
        )
        rows.append(row)
    return pd.DataFrame(rows)


def test_compare_end_to_end_online_equals_replay(tmp_path):
    """BO over a table, rules replayed, and the online criterion stops where the replay does."""
    tables = tmp_path / "tables"
    tables.mkdir()
    _toy_table(300).to_csv(tables / "toy__rf.csv.gz", index=False, compression="gzip")
    out = tmp_path / "results"
    code = suite_compare.main(
        [
            "--tables",
            str(tables),
            "--out",
            str(out),
            "--seeds",
            "1",
            "--iterations",
            "45",
            "--online-seeds",
            "1",
            "--min-rows",
            "100",
            "--methods",
            "conv_10",
            "autoterm_0.21",
        ]
    )
    assert code == 0
    summary = pd.read_csv(out / "summary.csv")
    assert {"method", "model", "rtc", "ryc", "stop_rate", "n_runs"} <= set(summary)
    assert set(summary.method) == {"conv_10", "autoterm_0.21"}
    assert set(summary.model) == {"RF", "all"}
    per_run = pd.read_csv(out / "per_run.csv")
    assert per_run.n_stop.between(20, 44).all()  # checks at 20 .. 44 of a 45-trial run
    runs = pd.read_csv(out / "bo_runs" / "toy__RF.csv.gz")
    assert len(runs) == 45 and runs.config_id.between(0, 299).all()
    agreement = pd.read_csv(out / "online_vs_replay.csv")
    row = agreement.iloc[0]
    replay_stop = per_run.set_index("method").loc["autoterm_0.21", "n_stop"]
    if pd.isna(row.online_stop):  # never fired online: the replay must not fire either
        assert replay_stop == 44 and not per_run.set_index("method").loc["autoterm_0.21", "fired"]
    else:
        assert row.online_stop == replay_stop
    assert (out / "pareto.png").exists() and (out / "summary_by_dataset.csv").exists()
    assert "| autoterm_0.21 | " in (out / "summary_by_dataset.md").read_text()


def test_compare_accepts_a_csv_dataset_it_has_never_seen(tmp_path):
    """--new-dataset csv:...: tabulated first (real CV), then BO and the replay."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.sample(150, random_state=0)
    csv = tmp_path / "my_data.csv"
    frame.to_csv(csv, index=False)
    tables, out = tmp_path / "tables", tmp_path / "results"
    code = suite_compare.main(
        [
            "--tables",
            str(tables),
            "--out",
            str(out),
            "--new-dataset",
            f"csv:{csv}:target",
            "--models",
            "rf",
            "--n-configs",
            "25",
            "--min-rows",
            "20",
            "--seeds",
            "1",
            "--iterations",
            "24",
            "--online-seeds",
            "0",
            "--methods",
            "conv_10",
        ]
    )
    assert code == 0
    table = pd.read_csv(tables / "my_data__rf.csv.gz")
    assert len(table) == 25 and table["fold_9"].notna().all()  # 10-fold CV of real fits
    per_run = pd.read_csv(out / "per_run.csv")
    assert list(per_run.dataset.unique()) == ["my_data"] and (per_run.model == "RF").all()


@pytest.mark.parametrize("variant", ["autoterm", "autoterm_foldnoise", "autoterm_botorch"])
def test_the_replayed_paper_rule_has_no_patience(variant):
    """The ``autoterm_<decay>`` rows of the paper replay are the paper's rule: its bound and
    no patience. With the default's patience (120 trials) they stopped runs that the
    paper's bound never stopped."""
    from benchmarks.paper_replay import AUTOTERM_VARIANTS
    from syne_autoterm import AutoTermination

    rule = AutoTermination("value", "min", "fold_", **AUTOTERM_VARIANTS[variant])
    assert rule.bound == "ucb_lcb" and rule.patience is None
