"""compare_experiment on a small stored Syne Tune experiment (simulated Tuner, RandomSearch)."""

import numpy as np
import pandas as pd
import pytest
from syne_tune import StoppingCriterion
from syne_tune.config_space import uniform
from syne_tune.optimizer.baselines import RandomSearch

from syne_autoterm import AutoTermination
from syne_autoterm.compare import (
    compare_experiment,
    completed_trials,
    replay,
    write_compare_outputs,
)
from syne_autoterm.regret import DomainSearch
from syne_autoterm.simulation import FoldFunctionBlackbox
from syne_autoterm.stopping.baselines import Convergence, Plateau

SPACE = {"x": uniform(-2, 2), "y": uniform(-2, 2)}
N_TRIALS = 40


def _f(config):
    return (config["x"] - 0.3) ** 2 + 0.5 * (config["y"] + 0.4) ** 2


@pytest.fixture(scope="module")
def experiment(tmp_path_factory, simulated_tuner):
    folder = tmp_path_factory.mktemp("syne-tune")
    mp = pytest.MonkeyPatch()
    mp.setenv("SYNETUNE_FOLDER", str(folder))
    blackbox = FoldFunctionBlackbox(
        SPACE,
        lambda c, rng: _f(c) + 0.4 * rng.standard_normal(10),
        10,
        extras=lambda c: {"test_error": _f(c) + 0.05},
        extra_names=("test_error",),
        elapsed_time=lambda c: 30.0 + 10 * abs(c["x"]),
    )
    scheduler = RandomSearch(SPACE, metrics=["error"], do_minimize=True, random_seed=3)
    tuner = simulated_tuner(
        blackbox,
        scheduler,
        StoppingCriterion(max_num_trials_completed=N_TRIALS - 1),
        tuner_name="autoterm-compare-test",
    )
    tuner.run()
    yield tuner.name, folder
    mp.undo()


@pytest.mark.slow  # replays a simulated tuner's experiment
def test_completed_trials_in_completion_order(experiment):
    name, folder = experiment
    from syne_tune.experiments import load_experiment

    results = load_experiment(name, local_path=str(folder)).results
    done = completed_trials(results, "error")
    assert len(done) == N_TRIALS
    assert done["st_tuner_time"].is_monotonic_increasing
    assert done["trial_id"].is_unique


def _small_autoterm(**options) -> AutoTermination:
    """The AutoTermination these tests replay: a short warm-up, a small domain search."""
    return AutoTermination(
        "error",
        fold_metrics="cv_fold_",
        config_space=SPACE,
        warm_up=10,
        top_min=10,
        posterior="sklearn",
        domain_search=DomainSearch(n_candidates=300, n_starts=0),
        **options,
    )


@pytest.mark.slow  # replays a simulated tuner's experiment
def test_compare_experiment_replays_rules(experiment, tmp_path):
    name, folder = experiment
    rules = {
        "conv_5": Convergence(5, "error", warm_up=10),
        "plateau": Plateau(0.05, 5, 0, "error", warm_up=10),
        # two scales share one bound computation; a third object differs (seed) and runs alone
        "autoterm_a": _small_autoterm(),
        "autoterm_b": _small_autoterm(error_scale=4.0),
    }
    df = compare_experiment(
        folder / name,
        metric="error",
        mode="min",
        rules=rules,
        test_metric="test_error",
        cost_metric="elapsed_time",
    )
    assert list(df["rule"]) == list(rules)
    for col in (
        "stopped",
        "stop_trial_count",
        "trials_saved",
        "time_saved",
        "metric_change",
        "test_change",
        "test_rel_change",
        "cost_saved",
        "ms_per_check",
    ):
        assert col in df.columns

    # Conv_5 by hand from the completed trajectory
    from syne_tune.experiments import load_experiment

    done = completed_trials(load_experiment(name, local_path=str(folder)).results, "error")
    values = done["error"].to_numpy()
    expected = None
    for n in range(10, N_TRIALS + 1):
        n_best = int(np.argmin(values[:n])) + 1
        if n - max(10, n_best) >= 5:
            expected = n
            break
    row = df.set_index("rule").loc["conv_5"]
    if expected is None:
        assert not row["stopped"] and row["trials_saved"] == 0
    else:
        assert row["stopped"] and row["stop_trial_count"] == expected
        assert row["trials_saved"] == N_TRIALS - expected
        times = done["st_tuner_time"].to_numpy()
        assert row["time_saved"] == pytest.approx(times.max() - times[expected - 1])
        inc = int(np.argmin(values[:expected]))
        assert row["metric_at_stop"] == pytest.approx(values[inc])
        assert row["test_at_stop"] == pytest.approx(done["test_error"].to_numpy()[inc])
        assert row["cost_saved"] == pytest.approx(done["elapsed_time"].to_numpy()[expected:].sum())

    # the shared-bound replay gives what the separately replayed object gives
    a, b = df.set_index("rule").loc["autoterm_a"], df.set_index("rule").loc["autoterm_b"]
    assert b["trials_saved"] >= a["trials_saved"]  # a larger error scale stops no later
    solo = _small_autoterm(error_scale=4.0)
    from syne_autoterm.compare import experiment_evidence

    ev, _ = experiment_evidence(done, "error", "min", "cv_fold_")
    res = replay(solo, ev)
    assert N_TRIALS - res.n_stop == b["trials_saved"]

    paths = write_compare_outputs(df, tmp_path)
    assert paths["csv"].exists() and paths["png"].stat().st_size > 1000
    assert len(pd.read_csv(paths["csv"])) == len(rules)


@pytest.mark.slow  # replays a simulated tuner's experiment
def test_compare_defaults_from_metadata(experiment):
    name, _ = experiment
    # metric, mode and the config space come from the experiment's metadata
    df = compare_experiment(name, fold_metrics="cv_fold_", warm_up=10)
    assert {"autoterm_0.21", "autoterm_0.5", "autoterm_1.0", "conv_30"} <= set(df["rule"])
    # decays stop in order: more risk (larger decay) never stops later
    s = df.set_index("rule")["trials_saved"]
    assert s["autoterm_0.21"] <= s["autoterm_0.5"] <= s["autoterm_1.0"]


@pytest.mark.slow  # replays a simulated tuner's experiment
def test_compare_rejects_unknown_metric(experiment):
    name, folder = experiment
    with pytest.raises(ValueError, match="nope"):
        compare_experiment(folder / name, metric="nope", rules={})


@pytest.mark.slow  # replays a simulated tuner's experiment
def test_compare_on_a_results_dataframe_without_config_space(experiment):
    # the CLI's path: a results DataFrame, no metadata; AutoTermination guesses the domain
    name, folder = experiment
    from syne_tune.experiments import load_experiment

    results = load_experiment(name, local_path=str(folder)).results
    df = compare_experiment(
        results, metric="error", mode="min", fold_metrics="cv_fold_", warm_up=10
    )
    assert "autoterm_0.21" in set(df["rule"]) and df["n_trials"].eq(N_TRIALS).all()
    assert not df["reason"].str.contains("check failed").any()
    with pytest.raises(ValueError, match="config space"):
        compare_experiment(results, metric="error", peers=True)


@pytest.mark.parametrize(
    "option",
    [
        {"error_estimator": "bootstrap"},
        {"n_bootstrap": 200},
        {"n_val_metric": "size"},
        {"fold_metrics": "fold_"},
        {"fold_metrics": ["a", "b"]},
        {"resource_attr": "epoch"},
        {"max_resource": 9.0},
        {"refit_growth": 1.0},
        {"ddof": 0},
        {"test_train_ratio": 0.5},
        {"patience": None},
        {"bound": "ucb_lcb"},
    ],
)
def test_rules_that_differ_in_any_option_but_the_scale_are_not_replayed_together(option):
    """The grouping signature was a hand-written list that left out the error estimator, the
    bootstrap size, the fold spec and the resource settings: such rules were replayed with the
    first one's settings. It is now read from the constructor's signature."""
    from syne_autoterm.compare import _scale_free_signature

    base = AutoTermination("loss", config_space=SPACE, error_scale=1.0)
    same = AutoTermination("loss", config_space=SPACE, error_scale=3.0)
    other = AutoTermination("loss", config_space=SPACE, error_scale=3.0, **option)
    assert _scale_free_signature(base) == _scale_free_signature(same)
    assert _scale_free_signature(base) != _scale_free_signature(other)
