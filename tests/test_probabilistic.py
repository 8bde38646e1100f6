"""The probabilistic regret bound (the default) on hand-made posteriors and trajectories."""

import math

import numpy as np
import pytest
from syne_tune.config_space import uniform

from syne_autoterm import AutoTermination, DomainSearch, Evidence, PathSampling
from syne_autoterm.probabilistic import horizon_improvements, probabilistic_regret
from syne_autoterm.regret import PosteriorError

SEARCH = DomainSearch(n_candidates=50, n_starts=2, n_rounds=2, n_samples=8)


class GridPosterior:
    """A posterior over points of [0, 1] given by a mean and std function, with a
    squared-exponential correlation of length ``ell`` between points."""

    def __init__(self, mean, std, ell=0.05):
        self.mean, self.std, self.ell = mean, std, ell

    def predict(self, x):
        x = np.atleast_2d(x)[:, 0]
        return self.mean(x), self.std(x)

    def joint(self, x):
        x = np.atleast_2d(x)[:, 0]
        s = self.std(x)
        corr = np.exp(-0.5 * ((x[:, None] - x[None, :]) / self.ell) ** 2)
        return self.mean(x), corr * s[:, None] * s[None, :]


def _random(n, rng):
    return rng.uniform(size=(n, 1))


def _snap(x):
    return np.clip(x, 0, 1)


def _bound(posterior, observed, confidence=0.9):
    return probabilistic_regret(
        posterior,
        np.asarray(observed, float).reshape(-1, 1),
        _random,
        _snap,
        SEARCH,
        PathSampling(confidence=confidence),
        np.random.RandomState(0),
    )


def test_a_certain_optimum_has_zero_regret():
    # the minimum at 0.3 is known exactly; everywhere else is certainly worse
    post = GridPosterior(lambda x: (x - 0.3) ** 2, lambda x: 0.0 * x)
    res = _bound(post, [0.1, 0.3, 0.8])
    assert res.value == pytest.approx(0.0, abs=1e-12)
    assert res.x_hat == 1


def test_an_uncertain_better_region_keeps_the_regret_large():
    # x_hat = 0.3 known, value 0; around 0.9 the mean is 0.05 but the std 0.2:
    # a path dips below x_hat there with high probability, by ~0.2 or more
    post = GridPosterior(
        lambda x: np.where(x > 0.7, 0.05, 0.0) + 0.5 * (x - 0.3) ** 2 * (x <= 0.7),
        lambda x: np.where(x > 0.7, 0.2, 1e-4),
    )
    res = _bound(post, [0.1, 0.3, 0.5])
    assert res.value > 0.15
    assert res.expected > 0.05
    # more confidence, larger bound (quantiles of the same paths)
    q = dict(res.quantiles)
    assert q[0.5] <= q[0.8] <= q[0.9] <= q[0.95]
    assert res.value == pytest.approx(q[0.9])


def test_a_broken_joint_posterior_raises_instead_of_returning_a_small_bound():
    post = GridPosterior(lambda x: x, lambda x: 0.1 + 0 * x)
    post.joint = lambda x: (np.full(len(np.atleast_2d(x)), np.nan), np.eye(len(np.atleast_2d(x))))
    with pytest.raises(PosteriorError):
        _bound(post, [0.2, 0.4])

    class NoJoint:
        def predict(self, x):
            return np.zeros(len(x)), np.ones(len(x))

    with pytest.raises(PosteriorError):
        _bound(NoJoint(), [0.2])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"confidence": 1.0},
        {"confidence": 0.0},
        {"confidence": "0.9"},
        {"n_paths": 0},
        {"n_paths": 2.5},
        {"n_joint": None},
        {"n_joint": True},
        {"horizons": [1, 8]},
        {"horizons": (0,)},
        {"horizons": (1.5,)},
        {"horizons": (True,)},
        {"horizons": (1,), "n_paths": 1},
    ],
)
def test_path_sampling_rejects_settings_that_cannot_work(kwargs):
    with pytest.raises(ValueError):
        PathSampling(**kwargs)


def test_horizon_improvement_counts_the_h_best_candidates():
    # row 0 is x_hat; candidate 1 beats it by 1 on every path, candidate 2 by 3 on the
    # odd paths only (expected 1.5 alone), candidate 3 never
    paths = np.zeros((4, 8))
    paths[1] = -1.0
    paths[2, 1::2] = -3.0
    assert horizon_improvements(paths, ()) == ()
    (h1, v1), (h2, v2), (h3, v3) = horizon_improvements(paths, (1, 2, 3))
    assert (h1, h2, h3) == (1, 2, 3)
    assert v1 == pytest.approx(1.5)  # candidate 2 alone
    assert v2 == pytest.approx(2.0) == v3  # the better of the two on each path: 1 or 3


def test_horizon_improvement_is_scored_on_paths_it_was_not_ranked_on():
    # candidate 1 dips by 5 on the first half of the paths only: ranked first, but scored
    # on the second half it gains nothing; the steady candidate 2 is what h = 2 adds
    paths = np.zeros((3, 10))
    paths[1, :5] = -5.0
    paths[2] = -0.5
    (_, one), (_, two) = horizon_improvements(paths, (1, 2))
    assert one == pytest.approx(0.0)
    assert two == pytest.approx(0.5)


def test_the_rule_reports_horizons_without_changing_its_decision():
    ev = _trajectory(60, fold_sd=0.002)
    plain = _rule().check(ev)
    with_h = _rule(path_sampling=PathSampling(horizons=(1, 64))).check(ev)
    assert "improvement_h1" not in plain
    assert 0.0 <= with_h["improvement_h1"] <= with_h["improvement_h64"]
    # the expected improvement of a few candidates is at most the regret over all of them
    # (up to the Monte Carlo error of estimating on half the paths)
    assert with_h["improvement_h64"] <= 1.5 * with_h["expected_regret"] + 1e-12
    same = ("stop", "regret_bound", "expected_regret", "stat_error", "threshold")
    assert {k: with_h[k] for k in same} == {k: plain[k] for k in same}


def test_the_horizon_candidate_decides_on_its_own_statistic():
    ev = _trajectory(60, fold_sd=0.002)
    record = _rule(bound="horizon", path_sampling=PathSampling(horizons=(8, 64))).check(ev)
    assert record["bound"] == "horizon"
    assert record["regret_bound"] == record["improvement_h8"] <= record["improvement_h64"]
    assert record["stop"] == (record["regret_bound"] < record["threshold"])
    with pytest.raises(ValueError, match="horizons"):
        AutoTermination("loss", bound="horizon")


def test_a_relative_tolerance_caps_the_tolerated_error():
    ev = _trajectory(60, fold_sd=0.05)  # error 0.024 against an incumbent of 0.199
    plain = _rule(relative_tolerance=None).check(ev)
    assert plain["stop"]
    # cap 0.02 x 0.199 = 0.004, between the floor (0.0024) and the error: it binds
    default = _rule().check(ev)
    assert default["relative_cap"] == pytest.approx(0.02 * abs(default["incumbent_value"]))
    assert default["threshold"] == pytest.approx(1.414 * default["relative_cap"])
    assert "0.02 x the incumbent's value" in default["reason"]
    strict = _rule(relative_tolerance=1e-4).check(ev)  # cap 2e-5: the floor, 0.1 x the error
    assert strict["threshold"] == pytest.approx(1.414 * 0.1 * strict["stat_error"])
    assert "floor" in strict["reason"]
    assert strict["threshold"] < default["threshold"] < plain["threshold"]
    loose = _rule(relative_tolerance=0.5).check(ev)  # cap above the error: no change
    assert loose["stop"] and loose["threshold"] == plain["threshold"]
    for rule, record in (
        (_rule(relative_tolerance=1e-4), strict),
        (_rule(), default),
        (_rule(relative_tolerance=None), plain),
    ):
        assert rule.stops_on(record) == record["stop"]


def test_the_floor_keeps_the_bound_alive_for_an_incumbent_of_zero():
    # a loss whose best value is exactly 0: no share of it can be tolerated, but a tenth
    # of the statistical error still can (the rule must not hang on the patience alone)
    ev = _trajectory(60, fold_sd=0.05)
    values = np.asarray(ev.values, float)
    shift = values.min()
    zero = Evidence(ev.trial_ids, ev.configs, values - shift, tuple(f - shift for f in ev.folds))
    record = _rule(patience=None, error_scale=1000.0).check(zero)
    assert record["relative_cap"] == 0.0
    assert record["threshold"] == pytest.approx(1000.0 * 0.1 * record["stat_error"])
    assert record["stop"], record["reason"]
    # a scale that puts the floor at half the regret: no stop, where the error itself
    # (relative_tolerance=None) is 10 x the floor and stops
    scale = 0.5 * record["regret_bound"] / (0.1 * record["stat_error"])
    tight = _rule(patience=None, error_scale=scale).check(zero)
    assert not tight["stop"] and tight["threshold"] == pytest.approx(0.5 * tight["regret_bound"])
    assert "floor" in tight["reason"]
    assert _rule(patience=None, error_scale=scale, relative_tolerance=None).check(zero)["stop"]
    with pytest.raises(ValueError):
        AutoTermination("loss", relative_tolerance=0.0)


def test_tolerated_error_is_clipped_between_the_floor_and_the_error():
    from syne_autoterm.stopping.settings import tolerated_error

    assert tolerated_error(0.01, 0.2, None) == 0.01
    assert tolerated_error(0.01, 0.2, 0.02) == pytest.approx(0.004)  # the cap
    assert tolerated_error(0.01, -0.2, 0.02) == pytest.approx(0.004)  # |incumbent|
    assert tolerated_error(0.01, 0.9, 0.02) == 0.01  # the error itself
    assert tolerated_error(0.01, 0.0, 0.02) == pytest.approx(0.001)  # the floor
    for broken in (None, float("nan"), float("inf"), "x"):
        assert tolerated_error(0.01, broken, 0.02) == 0.0  # broken evidence: no stop


def test_the_words_of_a_decision_name_the_term_the_tolerated_error_took():
    from syne_autoterm.stopping.settings import tolerance, tolerated_error

    def tolerance_source(*args):
        value, source = tolerance(*args)
        assert value == tolerated_error(*args)  # the words and the number come together
        return source

    assert tolerance_source(0.01, 0.2, None) == "error"
    assert tolerance_source(0.01, 0.2, 0.02) == "relative"
    assert tolerance_source(0.01, 0.9, 0.02) == "error"
    assert tolerance_source(0.01, 0.0, 0.02) == "floor"
    assert tolerance_source(0.01, 0.05, 0.02) == "floor"  # 0.001 is the floor exactly
    for broken in (None, float("nan"), float("inf"), "x"):
        assert tolerance_source(0.01, broken, 0.02) == "no incumbent"
    rule = _rule()
    words = rule._limit_words(0.0, 0.01, {"tolerance": "no incumbent"})
    assert words.startswith("0 ") and "cannot stop" in words
    record = rule.check(_trajectory(60, fold_sd=0.05))
    assert record["tolerance"] == "relative" and "x the incumbent's value" in record["reason"]


def test_bound_option_is_validated():
    with pytest.raises(ValueError):
        AutoTermination("loss", bound="ucb")
    with pytest.raises(ValueError):
        AutoTermination("loss", path_sampling={"n_paths": 10})


# ------------------------------------------------------------------ the rule on trajectories
SPACE = {"x": uniform(0.0, 1.0)}


def _trajectory(n, fold_sd, seed=0):
    """A 1-D search that has converged: half the trials close to the optimum at 0.4."""
    rng = np.random.RandomState(seed)
    xs = np.r_[rng.uniform(size=n // 2), 0.4 + 0.02 * rng.standard_normal(n - n // 2)]
    xs = np.clip(xs, 0, 1)
    values = 0.2 + (xs - 0.4) ** 2 + 0.001 * rng.standard_normal(n)
    offsets = fold_sd * np.array([-1.0, 1.0] * 5)
    return Evidence(
        tuple(range(n)),
        tuple({"x": float(x)} for x in xs),
        values,
        tuple(v + offsets for v in values),
    )


def _rule(**kw):
    return AutoTermination(
        "loss",
        "min",
        "fold_",
        config_space=SPACE,
        posterior="sklearn",
        warm_up=20,
        top_min=20,
        domain_search=SEARCH,
        **kw,
    )


def test_default_stops_when_what_is_left_is_below_the_noise():
    # fold spread 0.05: NB error 0.024, far above what the converged search can still gain
    record = _rule().check(_trajectory(60, fold_sd=0.05))
    assert record["bound"] == "expected"
    assert record["regret_bound"] == pytest.approx(record["expected_regret"])
    assert record["stop"], record["reason"]
    assert record["regret_bound"] < record["stat_error"] * _rule().error_scale
    # the trace says how much of the fitted variance the GP called noise
    assert 0.0 <= record["noise_share"] <= 1.0


def test_default_continues_when_the_noise_is_tiny():
    # fold spread 1e-5: the error is far below the posterior's remaining uncertainty
    record = _rule().check(_trajectory(60, fold_sd=1e-5))
    assert not record["stop"], record["reason"]
    assert math.isfinite(record["regret_bound"]) and record["regret_bound"] > record["threshold"]


def test_the_papers_bound_stays_available_by_name():
    record = _rule(bound="ucb_lcb").check(_trajectory(60, fold_sd=0.05))
    assert record["bound"] == "ucb_lcb" and "min_lcb_domain" in record and "beta" in record


def test_probabilistic_bound_is_the_quantile_of_the_same_paths():
    record = _rule(bound="probabilistic").check(_trajectory(60, fold_sd=1e-5))
    assert record["bound"] == "probabilistic" and record["confidence"] == 0.9
    assert record["regret_bound"] == pytest.approx(record["regret_q0.9"])
    assert record["regret_q0.5"] <= record["regret_q0.9"] <= record["regret_q0.95"]


def _stalled(n_total, best_at, fold_sd=1e-5):
    """A run whose incumbent arrives at ``best_at`` and is never improved afterwards."""
    ev = _trajectory(n_total, fold_sd=fold_sd)
    values = np.asarray(ev.values, float).copy()
    values[best_at] = values.min() - 0.05
    return Evidence(
        ev.trial_ids,
        ev.configs,
        values,
        tuple(
            np.asarray(f) - (v_old - v)
            for f, v_old, v in zip(ev.folds, np.asarray(ev.values, float), values)
        ),
    )


def test_patience_stops_a_run_whose_bound_never_falls():
    ev = _stalled(150, best_at=10)  # tiny folds: the bound alone would never stop it
    rule = _rule(patience=120)
    assert not rule.check(ev.head(139))["stop"]  # 139 - max(20, 11) = 119 < 120
    record = rule.check(ev.head(140))
    assert record["stop"] and record["trials_without_improvement"] == 120
    assert "without improving the incumbent" in record["reason"]
    assert not _rule(patience=None).check(ev.head(140))["stop"]


@pytest.mark.parametrize("patience", [0, -1, 2.5, "10", True])
def test_patience_must_be_a_positive_integer_or_none(patience):
    with pytest.raises(ValueError):
        AutoTermination("loss", patience=patience)


def test_patience_never_stops_on_broken_evidence():
    # the stalled incumbent reports NaN folds: no usable error, so no stop even after
    # 130 trials without improvement (the patience applies only where a decision can be made)
    ev = _stalled(150, best_at=10)
    folds = list(ev.folds)
    folds[10] = np.full(10, np.nan)
    broken = Evidence(ev.trial_ids, ev.configs, ev.values, tuple(folds))
    record = _rule(patience=120).check(broken.head(150))
    assert not record["stop"], record["reason"]
    assert "no statistical error" in record["reason"]


def test_replay_scales_reads_the_patience_stop_like_separate_rules():
    from syne_autoterm.compare import replay, replay_scales

    ev = _stalled(60, best_at=10)  # tiny folds: only the patience stops it, at n = 50
    shared = replay_scales(_rule(patience=30), ev, [1e-6, 1.0])
    for scale, res in shared.items():
        alone = replay(_rule(patience=30, error_scale=scale), ev)
        assert (res.n_stop, res.fired) == (alone.n_stop, alone.fired) == (50, True)


def test_a_noise_share_that_cannot_be_read_changes_no_decision(monkeypatch):
    from syne_autoterm.posterior._sklearn_gp import SklearnGPPosterior

    evidence = _trajectory(60, fold_sd=0.05)
    expected = _rule().check(evidence)

    def broken(self):
        raise RuntimeError("no share")

    monkeypatch.setattr(SklearnGPPosterior, "noise_share", property(broken))
    record = _rule().check(evidence)
    assert record["noise_share"] is None and not record.get("problems")
    assert record["stop"] == expected["stop"]
    assert record["regret_bound"] == pytest.approx(expected["regret_bound"])
