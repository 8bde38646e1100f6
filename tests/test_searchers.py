"""syne_autoterm.searchers: Syne Tune's BoTorchSearcher defects, and our searcher without them.

Each defect is shown on the parent first (so a Syne Tune fix would show up here),
then the same scenario on ``AlignedBoTorchSearcher``. Small spaces, few points and a
cheap acquisition optimisation keep the file fast.
"""

from __future__ import annotations

import logging
import warnings
from datetime import datetime

import numpy as np
import pytest

pytest.importorskip("botorch")

from syne_tune.backend.trial_status import Trial  # noqa: E402
from syne_tune.config_space import choice, uniform  # noqa: E402
from syne_tune.optimizer.schedulers.searchers.botorch.botorch_searcher import (  # noqa: E402
    BoTorchSearcher,
)

from syne_autoterm.searchers import AlignedBoTorchSearcher, aligned_botorch  # noqa: E402

SPACE = {"x": uniform(0.0, 1.0), "opt": choice(["a", "b"])}
CHEAP = dict(num_init_random=3, num_restarts=2, num_raw_samples=32)


def _value(config: dict) -> float:
    """A value that identifies its config: x itself (plus an offset for opt)."""
    return float(config["x"]) + (10.0 if config["opt"] == "b" else 0.0)


def _pairs(searcher: BoTorchSearcher) -> list[tuple[float, float]]:
    """(value of the config, objective it is paired with) as the searcher's BO step sees them."""
    configs = searcher._configs_with_results()
    objectives = searcher.objectives()
    return [(_value(c), float(y)) for c, y in zip(configs, objectives, strict=True)]


def _out_of_order(cls: type[BoTorchSearcher]) -> BoTorchSearcher:
    """Three suggestions, completed as 1, 0, 2 (two workers, trial 1 finishing first)."""
    searcher = cls(SPACE, random_seed=1, **CHEAP)
    configs = [searcher.suggest() for _ in range(3)]
    for trial_id in (1, 0, 2):
        searcher.on_trial_complete(trial_id, configs[trial_id], _value(configs[trial_id]))
    return searcher


# -- (config, value) alignment ---------------------------------------------------------


def test_parent_pairs_configs_with_other_trials_values():
    pairs = _out_of_order(BoTorchSearcher)
    mismatched = [(x, y) for x, y in _pairs(pairs) if x != y]
    assert len(mismatched) == 2  # trial 0's config gets trial 1's value and vice versa


def test_ours_pairs_each_config_with_its_own_value():
    searcher = _out_of_order(AlignedBoTorchSearcher)
    assert all(x == y for x, y in _pairs(searcher))
    assert searcher._trial_ids_with_results() == [0, 1, 2]


def test_a_failed_trial_has_no_row():
    """The parent keeps a failed trial's config as an X row with no y (lengths differ)."""
    for cls in (BoTorchSearcher, AlignedBoTorchSearcher):
        searcher = cls(SPACE, random_seed=1, **CHEAP)
        configs = [searcher.suggest() for _ in range(3)]
        searcher.on_trial_complete(2, configs[2], _value(configs[2]))
        searcher.evaluation_failed(1)
        searcher.on_trial_complete(0, configs[0], _value(configs[0]))
        n_x, n_y = len(searcher._configs_with_results()), len(searcher.objectives())
        if cls is BoTorchSearcher:
            assert (n_x, n_y) == (3, 2)
        else:
            assert (n_x, n_y) == (2, 2)
            assert all(x == y for x, y in _pairs(searcher))


# -- noise: learned, no clamping, no random fallbacks -----------------------------------

NOISY_SPACE = {"x": uniform(0.0, 1.0)}
NOISE_SD = 0.1


def _noisy(cls: type[BoTorchSearcher], n: int = 10, **kwargs) -> BoTorchSearcher:
    rng = np.random.default_rng(0)
    searcher = cls(NOISY_SPACE, random_seed=0, **{**CHEAP, **kwargs})
    for trial_id, x in enumerate(np.linspace(0.0, 1.0, n)):
        config = {"x": float(x)}
        searcher.trial_configs[trial_id] = config  # as suggest() records it
        y = np.sin(6.0 * x) + NOISE_SD * rng.standard_normal()
        searcher.on_trial_complete(trial_id, config, float(y))
    return searcher


def _rounding_warnings(caught) -> list:
    return [w for w in caught if "Rounding small noise" in str(w.message)]


def test_parent_clamps_a_zero_noise():
    searcher = _noisy(BoTorchSearcher)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        searcher.suggest()
    assert _rounding_warnings(caught)


def test_parent_with_noise_level_falls_back_to_random(monkeypatch):
    searcher = _noisy(BoTorchSearcher, noise_level=0.1)
    calls = []
    original = searcher._get_random_config
    monkeypatch.setattr(searcher, "_get_random_config", lambda: calls.append(1) or original())
    logging.disable(logging.WARNING)
    try:
        searcher.suggest()
    finally:
        logging.disable(logging.NOTSET)
    assert calls == [1]  # its bare except: negative train_Yvar


def test_ours_learns_the_noise_without_clamping_or_fallback(monkeypatch):
    searcher = _noisy(AlignedBoTorchSearcher)
    calls = []
    original = BoTorchSearcher._get_random_config
    monkeypatch.setattr(
        BoTorchSearcher, "_get_random_config", lambda self: calls.append(1) or original(self)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = searcher.suggest()
    assert not _rounding_warnings(caught)
    assert calls == [] and searcher.num_random_fallbacks == 0
    assert set(config) == {"x"} and 0.0 <= config["x"] <= 1.0
    model = searcher.last_model
    assert model is not None
    assert "FixedNoise" not in type(model.likelihood).__name__
    assert float(model.likelihood.noise.detach().reshape(-1)[0]) > 1e-6
    assert 0.2 * NOISE_SD < searcher.noise_std_in_metric_units() < 5 * NOISE_SD


@pytest.mark.parametrize(
    "cls, strategy",
    [
        (BoTorchSearcher, "gradient"),
        (AlignedBoTorchSearcher, "gradient"),
        (AlignedBoTorchSearcher, "random"),  # float32 candidates into a double warp
    ],
)
def test_input_warping(cls, strategy, monkeypatch):
    """The parent calls botorch's Warp without ``d``: a TypeError, then its bare except."""
    searcher = _noisy(cls, n=5, input_warping=True, optimization_strategy=strategy)
    calls = []
    original = BoTorchSearcher._get_random_config
    monkeypatch.setattr(
        BoTorchSearcher, "_get_random_config", lambda self: calls.append(1) or original(self)
    )
    logging.disable(logging.WARNING)
    try:
        assert searcher.suggest() is not None
    finally:
        logging.disable(logging.NOTSET)
    assert calls == ([1] if cls is BoTorchSearcher else [])


def test_ours_refuses_a_noise_level():
    with pytest.raises(ValueError, match="noise_level"):
        AlignedBoTorchSearcher(NOISY_SPACE, noise_level=0.1)


# -- the model is kept, and read in the metric's units ----------------------------------


@pytest.mark.parametrize("do_minimize", [True, False])
def test_the_fitted_model_is_kept_in_metric_units(do_minimize):
    scheduler = aligned_botorch(
        NOISY_SPACE, metric="score", do_minimize=do_minimize, random_seed=3, searcher_kwargs=CHEAP
    )
    searcher = scheduler.searcher
    assert searcher.last_model is None
    configs = [{"x": x} for x in (0.1, 0.35, 0.6, 0.85)]
    values = [5.0 + 2.0 * c["x"] for c in configs]  # all positive: a sign error would show
    for trial_id, config in enumerate(configs):
        searcher.trial_configs[trial_id] = config  # as suggest() records it
    for trial_id in (1, 0, 3, 2):  # out of order, through the scheduler (its multiplier)
        trial = Trial(trial_id=trial_id, config=configs[trial_id], creation_time=datetime.now())
        scheduler.on_trial_complete(trial, {"score": values[trial_id]})
    assert scheduler.suggest() is not None
    assert searcher.num_random_fallbacks == 0
    assert searcher.last_model is not None
    assert searcher.last_fit_trial_ids == [0, 1, 2, 3]
    mean, std = searcher.posterior_in_metric_units(searcher.config_features(configs))
    np.testing.assert_allclose(mean, values, atol=0.1)
    assert np.all(std >= 0) and np.all(std < 0.5)
    mean_from_dicts, _ = searcher.posterior_in_metric_units(configs)
    np.testing.assert_allclose(mean_from_dicts, mean)
    _, std_new = searcher.posterior_in_metric_units(configs, observation_noise=True)
    assert np.all(std_new >= std)
    import dill  # the Tuner pickles its scheduler (tuner.dill) with the kept model

    restored = dill.loads(dill.dumps(scheduler)).searcher
    np.testing.assert_allclose(restored.posterior_in_metric_units(configs)[0], mean)


def test_no_model_yet_is_an_error():
    searcher = AlignedBoTorchSearcher(NOISY_SPACE, **CHEAP)
    with pytest.raises(RuntimeError, match="no fitted model"):
        searcher.posterior_in_metric_units(np.zeros((1, 1)))


# -- pending trials, as the parent ------------------------------------------------------


def test_a_suggestion_with_a_pending_trial():
    searcher = _out_of_order(AlignedBoTorchSearcher)
    pending = searcher.suggest()  # trial 3, not completed
    assert searcher.pending_trials == {3}
    config = searcher.suggest()
    assert config is not None and set(config) == {"x", "opt"}
    assert searcher.num_random_fallbacks == 0
    assert searcher.last_fit_trial_ids == [0, 1, 2]
    assert searcher._configs_pending() == [pending, config]


# -- the CLI and the public API ---------------------------------------------------------


def test_the_cli_builds_it():
    from syne_autoterm.cli.common import SEARCHERS
    from syne_autoterm.cli.options import _make_scheduler

    assert "aligned_botorch" in SEARCHERS
    scheduler = _make_scheduler("aligned_botorch", dict(NOISY_SPACE), "loss", 0, 5)
    assert isinstance(scheduler.searcher, AlignedBoTorchSearcher)
    assert scheduler.metric_multiplier == 1


def test_public_names_without_importing_torch():
    import subprocess
    import sys

    import syne_autoterm

    assert syne_autoterm.AlignedBoTorchSearcher is AlignedBoTorchSearcher
    assert syne_autoterm.aligned_botorch is aligned_botorch
    code = "import sys, syne_autoterm, syne_autoterm.searchers; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
