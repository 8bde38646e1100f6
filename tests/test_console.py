"""What a newcomer sees: the compact view, early input warnings, no silent loss of results."""

from __future__ import annotations

import io
import logging
from types import SimpleNamespace

import pytest
from syne_tune.config_space import uniform

from syne_autoterm import AutoTermination
from syne_autoterm.console import WIDTH, LiveView, format_check, wrap

SPACE = {"x": uniform(-2, 2), "y": uniform(-2, 2)}


# ----------------------------------------------------------------- compact view
def _fake_tuner(done: int, running: int, best: float):
    stats = SimpleNamespace(min_metrics={"error": best}, max_metrics={"error": best})
    status = SimpleNamespace(
        num_trials_completed=done,
        num_trials_running=running,
        num_trials_failed=0,
        overall_metric_statistics=stats,
    )
    return SimpleNamespace(tuning_status=status)


def _rule_with_history():
    rule = AutoTermination(metric="error", config_space=SPACE, warm_up=2)
    rule.history = [
        {"n_completed": 1, "stop": False, "reason": "warm-up: 1 of 2 usable completed trials"},
        {
            "n_completed": 2,
            "stop": False,
            "regret_bound": 0.5,
            "threshold": 0.01,
            "reason": "continue: remaining improvement bound 0.5 >= statistical error 0.01 " * 3,
        },
    ]
    return rule


def test_plain_view_has_no_control_codes_and_no_long_lines():
    out = io.StringIO()  # not a terminal
    view = LiveView(_rule_with_history(), stream=out, interval=0.0)
    view.on_tuning_start(_fake_tuner(2, 1, 0.031))
    view.refresh()
    view.refresh(final=True)
    text = out.getvalue()
    assert "\x1b" not in text and "\r" not in text
    assert all(len(line) <= WIDTH for line in text.splitlines())
    assert "[autoterm]   1 trials: warm-up" in text
    assert "2 done, 1 running, 0 failed" in text and "bound 0.5 vs 0.01" in text


def test_terminal_view_redraws_the_status_line():
    out = io.StringIO()
    view = LiveView(_rule_with_history(), stream=out, live=True)
    view.on_tuning_start(_fake_tuner(2, 1, 0.031))
    view.refresh()
    assert "\r\x1b[K" in out.getvalue()


def test_check_line_is_the_same_words_everywhere(caplog):
    rule = AutoTermination(metric="error", config_space=SPACE, warm_up=3)
    from syne_autoterm.evidence import evidence_from_records

    records = [
        {
            "trial_id": i,
            "error": 0.1 * i,
            "x": 0.1 * i,
            "y": 0.0,
            **{f"cv_fold_{k}": 0.1 * i + 0.01 * k for k in range(3)},
        }
        for i in range(2)
    ]
    evidence = evidence_from_records(records, metric="error", config_keys=["x", "y"])
    with caplog.at_level(logging.INFO, logger="syne_autoterm"):
        record = rule.check(evidence)
    assert format_check("autoterm", record) in caplog.text
    assert "warm-up: 2 of 3" in rule.explain()


def test_wrap_keeps_every_line_within_the_width():
    assert all(len(line) <= WIDTH for line in wrap("word " * 100).splitlines())


# ------------------------------------------------------------ early input warnings
def _status(rows):
    return SimpleNamespace(
        trial_rows={
            i: {"trial_id": i, "status": "Completed", "iter": 1, **r} for i, r in enumerate(rows)
        }
    )


@pytest.mark.parametrize(
    "kwargs, row, expected",
    [
        (
            {},
            {"x": 0.1, "y": 0.2, "error": 0.3},
            ["'cv_fold_0'", "threshold=", "error_estimator='binomial'"],
        ),
        (
            {"error_estimator": "binomial"},
            {"x": 0.1, "y": 0.2, "error": 0.3},
            ["'n_val'", "n_val_metric="],
        ),
        (
            {"metric": "loss"},
            {"x": 0.1, "y": 0.2, "error": 0.3, **{f"cv_fold_{k}": 0.3 for k in range(3)}},
            ["'loss'", "metric="],
        ),
        (
            {"resource_attr": "epoch", "max_resource": 9},
            {"x": 0.1, "y": 0.2, "error": 0.3, "epoch": 1},
            ["epoch = 9", "no decision before 20"],
        ),
    ],
)
def test_inputs_are_checked_at_the_first_finished_trial(kwargs, row, expected, caplog):
    rule = AutoTermination(**{"metric": "error", "config_space": SPACE, **kwargs})
    with caplog.at_level(logging.WARNING, logger="syne_autoterm"):
        rule(_status([row]))  # one completed trial, far from the warm-up
    for text in expected:
        assert text in caplog.text, caplog.text
    n_warnings = len(caplog.records)
    rule(_status([row, row]))
    assert len(caplog.records) == n_warnings, "warned twice"


def test_good_inputs_give_no_warning(caplog):
    rule = AutoTermination(metric="error", config_space=SPACE)
    row = {"x": 0.1, "y": 0.2, "error": 0.3, **{f"cv_fold_{k}": 0.3 + 0.01 * k for k in range(3)}}
    with caplog.at_level(logging.WARNING, logger="syne_autoterm"):
        rule(_status([row]))
    assert not caplog.records


# ------------------------------------------------------------ no silent loss
def _objective(x: float, y: float):
    from syne_tune import Reporter

    folds = [0.1 * (x - 0.3) ** 2 + 0.1 * y**2 + 0.01 * k for k in range(3)]
    Reporter()(error=sum(folds) / 3, **{f"cv_fold_{k}": v for k, v in enumerate(folds)})


@pytest.mark.slow
def test_callbacks_without_a_results_callback_lose_nothing(synetune_folder):
    """The README's restart advice (the rule in callbacks=) still writes results.csv.zip."""
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend import PythonBackend
    from syne_tune.experiments import load_experiment
    from syne_tune.optimizer.baselines import RandomSearch

    scheduler = RandomSearch(SPACE, metrics=["error"], do_minimize=True, random_seed=0)
    rule = AutoTermination(metric="error", scheduler=scheduler, warm_up=3, top_min=3)
    budget = StoppingCriterion(max_num_trials_completed=3)
    tuner = Tuner(
        PythonBackend(_objective, config_space=SPACE),
        scheduler,
        stop_criterion=lambda s: rule(s) or budget(s),
        n_workers=2,
        sleep_time=0.2,
        callbacks=[rule],
        tuner_name="no-loss",
        results_update_interval=1.0,
    )
    tuner.run()
    assert (tuner.tuner_path / "results.csv.zip").exists()
    results = load_experiment(tuner.name).results
    assert results is not None and len(results) >= 3

    # explain works on it (the rule was saved with the tuner), not only on CLI runs
    from syne_autoterm.cli import main

    assert main(["explain", tuner.name]) == 0
    assert (tuner.tuner_path / "autoterm_decisions.png").exists()


# ------------------------------------------------------------ compare's words
def test_compare_labels_settings_by_error_scale_with_the_decay_in_brackets():
    from syne_autoterm import error_scale_from_decay
    from syne_autoterm.compare import setting_label

    paper = AutoTermination(
        metric="error",
        config_space=SPACE,
        bound="ucb_lcb",
        patience=None,
        error_scale=error_scale_from_decay(1.0),
    )
    assert setting_label("autoterm_1.0", paper) == "autoterm ucb_lcb error_scale 4.76 (decay 1)"
    assert setting_label("conv_30", object()) == "conv_30"


def test_one_sign_everywhere_negative_is_worse():
    from syne_autoterm.compare import _outcome
    from syne_autoterm.evidence import evidence_from_records

    rows = [
        {"trial_id": i, "error": e, "test_error": e, "x": 0.1 * i, "y": 0.0}
        for i, e in enumerate([0.2, 0.1, 0.15])
    ]
    evidence = evidence_from_records(
        rows, metric="error", config_keys=["x", "y"], extra_metrics=["test_error"]
    )
    evidence.extras["test"] = evidence.extras["test_error"]
    row = _outcome(evidence, n_stop=1, fired=True, test_sign=1.0)  # stopped before the best
    assert row["metric_change"] < 0 and row["metric_rel_change"] < 0
    assert row["test_change"] < 0 and row["test_rel_change"] < 0


def test_rule_plot_shades_warm_up_and_marks_a_budget_stop(tmp_path):
    rule = _rule_with_history()
    png = rule.plot(tmp_path / "decisions.png")
    assert png.stat().st_size > 10_000
    from syne_autoterm.explain import plot_rule

    assert plot_rule(rule, tmp_path / "budget.png", budget_stop=2).stat().st_size > 10_000
    assert "not converged yet" in rule.explain()


def test_explain_without_a_trace_says_how_to_get_one(synetune_folder, capsys):
    import json

    import pandas as pd

    from syne_autoterm.cli import main

    folder = synetune_folder / "plain-experiment"
    folder.mkdir()
    pd.DataFrame({"trial_id": [0, 1], "error": [0.2, 0.1], "st_tuner_time": [1.0, 2.0]}).to_csv(
        folder / "results.csv.zip", index=False
    )
    (folder / "metadata.json").write_text(json.dumps({"metric_names": ["error"]}))
    assert main(["explain", "plain-experiment"]) == 2
    err = capsys.readouterr().err
    assert "no decision trace" in err and "trace_path=" in err and "callbacks=" in err


def _stop_record(noise_share):
    return {
        "rule": "autoterm",
        "n_completed": 31,
        "stop": True,
        "reason": "stopped after 31 trials: remaining improvement bound 0.0002 < 0.004",
        "regret_bound": 0.0002,
        "stat_error": 0.004,
        "threshold": 0.004,
        "incumbent_trial_id": 7,
        "incumbent_value": 0.2,
        "noise_share": noise_share,
    }


def test_explain_cautions_a_stop_on_a_flat_fit_and_only_that():
    from syne_autoterm.explain import FLAT_FIT_SHARE, explain_history

    flat = explain_history([_stop_record(0.999)])
    assert "Caution" in flat and "99.9%" in flat and "noise" in flat
    for share in (None, 0.2, FLAT_FIT_SHARE - 1e-6, float("nan")):
        assert "Caution" not in explain_history([_stop_record(share)])
    # a continue on a flat fit is not a stop to caution about
    going = {**_stop_record(0.999), "stop": False, "reason": "continue: bound 0.01 >= 0.004"}
    assert "Caution" not in explain_history([going])
