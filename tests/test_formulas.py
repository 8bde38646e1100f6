"""The criterion's formulas pinned to values computed by hand."""

import math

import numpy as np
import pytest

from syne_autoterm import (
    AutoTermination,
    DomainSearch,
    EvidenceError,
    beta_schedule,
    error_scale_from_decay,
    evidence_from_records,
    nadeau_bengio_error,
    nadeau_bengio_variance,
    regret_bound,
    top_n_mask,
)
from syne_autoterm.regret import top_n_count


def test_nadeau_bengio_variance_by_hand():
    folds = np.array([0.1, 0.2, 0.3, 0.4])
    # mean 0.25, squared deviations sum to 0.05; S^2 = 0.05/3; (1/4 + 1/3) * S^2
    assert nadeau_bengio_variance(folds) == pytest.approx(0.58333333 * 0.05 / 3, rel=1e-7)
    assert nadeau_bengio_variance(folds, ddof=0) == pytest.approx(0.58333333 * 0.0125, rel=1e-7)
    # explicit n_test/n_train (e.g. a 80/20 holdout repeated 4 times)
    assert nadeau_bengio_variance(folds, test_train_ratio=0.25) == pytest.approx(
        0.5 * 0.05 / 3, rel=1e-12
    )
    assert nadeau_bengio_error(folds) == pytest.approx(math.sqrt(0.58333333 * 0.05 / 3), rel=1e-7)


def test_ten_fold_factor_matches_the_papers_0_21():
    folds = np.linspace(0.0, 0.9, 10)
    s2 = np.var(folds, ddof=0)
    assert nadeau_bengio_variance(folds, ddof=0) == pytest.approx(0.211111 * s2, rel=1e-5)
    assert error_scale_from_decay(0.21) == pytest.approx(1.0)
    assert error_scale_from_decay(0.5) == pytest.approx(2.381, rel=1e-3)


@pytest.mark.parametrize("bad", [[0.3], [], [0.1, float("nan")], [0.2, float("inf"), 0.1]])
def test_error_rejects_unusable_folds(bad):
    with pytest.raises(EvidenceError):
        nadeau_bengio_error(np.array(bad))


def test_beta_by_hand():
    # d = 2, t = 20, delta = 0.1: 0.2 * 2 * ln(2 * 400 * pi^2 / 0.6) = 0.4 * ln(13159.47)
    assert beta_schedule(2, 20) == pytest.approx(0.4 * 9.484897, rel=1e-6)
    assert beta_schedule(9, 100, delta=0.05, scale=1.0) == pytest.approx(
        2 * math.log(9 * 100**2 * math.pi**2 / 0.3), rel=1e-12
    )
    with pytest.raises(ValueError):
        beta_schedule(2, 20, delta=1.5)


def test_top_n_selection():
    assert top_n_count(10) == 10
    assert top_n_count(30) == 20
    assert top_n_count(100) == 50
    values = np.arange(60.0)[::-1]
    mask = top_n_mask(values)
    assert mask.sum() == 30 and set(values[mask]) == set(range(30))


class _KnownPosterior:
    """mean(x) = sum(x^2), std = c everywhere: the bound is known in closed form."""

    def __init__(self, c):
        self.c = c

    def predict(self, x):
        x = np.atleast_2d(x)
        return (x**2).sum(axis=1), np.full(len(x), self.c)


def test_bound_for_known_posterior_by_hand(unit_cube):
    observed = np.array([[0.5], [0.8]])
    # min UCB over observed = 0.25 + 2 * 0.1; min LCB over [0, 1] = 0 - 2 * 0.1 at x = 0
    sample, snap = unit_cube(1)
    bound = regret_bound(_KnownPosterior(0.1), observed, beta=4.0, sample_domain=sample, snap=snap)
    assert bound.min_ucb_observed == pytest.approx(0.45)
    assert bound.min_lcb_domain == pytest.approx(-0.2, abs=1e-5)
    assert bound.value == pytest.approx(0.65, abs=1e-5)


def test_domain_search_refines_beyond_random_candidates(unit_cube):
    observed = np.full((3, 4), 0.9)
    only_random = regret_bound(
        _KnownPosterior(0.0),
        observed,
        1.0,
        *unit_cube(4),
        DomainSearch(n_candidates=20, n_rounds=0),
        np.random.RandomState(0),
    )
    refined = regret_bound(
        _KnownPosterior(0.0),
        observed,
        1.0,
        *unit_cube(4),
        DomainSearch(n_candidates=20, n_rounds=6, radius=0.2),
        np.random.RandomState(0),
    )
    assert refined.min_lcb_domain < only_random.min_lcb_domain
    assert refined.min_lcb_domain < 0.02  # true minimum 0 at the origin


def _quadratic_records(n, noise, seed=0, sign=1.0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        x, y = rng.uniform(-2, 2, size=2)
        f = (x - 0.3) ** 2 + 0.5 * (y + 0.4) ** 2
        folds = f + noise * rng.standard_normal(10)
        row = {"trial_id": i, "config": {"x": x, "y": y}, "error": sign * folds.mean()}
        row.update({f"cv_fold_{k}": sign * v for k, v in enumerate(folds)})
        rows.append(row)
    return rows


def test_decision_compares_bound_with_recomputed_error():
    from syne_tune.config_space import uniform

    space = {"x": uniform(-2, 2), "y": uniform(-2, 2)}
    ev = evidence_from_records(_quadratic_records(40, 0.05), "error")
    crit = AutoTermination("error", config_space=space, posterior="sklearn")
    record = crit.check(ev)
    inc = int(np.argmin(ev.values))
    assert record["incumbent_trial_id"] == inc
    assert record["stat_error"] == pytest.approx(nadeau_bengio_error(ev.folds[inc]))
    assert record["stop"] == (record["regret_bound"] < record["stat_error"])
    assert record["beta"] == pytest.approx(beta_schedule(2, 20))
    # the error is that of the incumbent at each check, not frozen at the first one
    early = crit.check(ev.head(20))
    inc20 = int(np.argmin(ev.values[:20]))
    assert early["stat_error"] == pytest.approx(nadeau_bengio_error(ev.folds[inc20]))


def test_warm_up_never_stops():
    ev = evidence_from_records(_quadratic_records(19, 10.0), "error")
    crit = AutoTermination("error", posterior="sklearn")
    assert crit.check(ev)["stop"] is False
    assert "warm-up" in crit.history[-1]["reason"]


def test_maximize_equals_minimizing_the_negated_metric():
    from syne_tune.config_space import uniform

    space = {"x": uniform(-2, 2), "y": uniform(-2, 2)}
    ev_min = evidence_from_records(_quadratic_records(45, 0.05, seed=3), "error", mode="min")
    ev_max = evidence_from_records(
        _quadratic_records(45, 0.05, seed=3, sign=-1.0), "error", mode="max"
    )
    crit_min = AutoTermination("error", mode="min", config_space=space, posterior="sklearn")
    crit_max = AutoTermination("error", mode="max", config_space=space, posterior="sklearn")
    for n in (20, 30, 45):
        a, b = crit_min.check(ev_min.head(n)), crit_max.check(ev_max.head(n))
        assert a["stop"] == b["stop"]
        assert a["incumbent_trial_id"] == b["incumbent_trial_id"]
        assert a["regret_bound"] == pytest.approx(b["regret_bound"], rel=1e-6, abs=1e-9)
        assert a["stat_error"] == pytest.approx(b["stat_error"], rel=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "maximize"},
        {"warm_up": 0},
        {"error_scale": -1.0},
        {"threshold": float("nan")},
        {"top_ratio": 0.0},
        {"posterior": "gpy"},
        {"ddof": 2},
        {"delta": 1.0},
        {"fold_metrics": None},
        {"fold_metrics": []},
        {"metric": ""},
    ],
)
def test_invalid_arguments_fail_at_construction(kwargs):
    args = {"metric": "error", **kwargs}
    with pytest.raises(ValueError):
        AutoTermination(**args)
