"""Property tests: the regret bound is >= 0 and shrinks with the posterior uncertainty."""

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import Matern

from syne_autoterm import DomainSearch, regret_bound
from syne_autoterm.posterior._sklearn_gp import SklearnGPPosterior

SEARCH = DomainSearch(n_candidates=200, n_starts=3, n_rounds=2, n_samples=16)


class _Posterior:
    """mean = a . sin(3x) + b, std = scale * (0.1 + |cos(x)|) with random coefficients."""

    def __init__(self, a, b, scale):
        self.a, self.b, self.scale = a, b, scale

    def predict(self, x):
        x = np.atleast_2d(x)
        mean = np.sin(3 * x) @ self.a + self.b
        std = self.scale * (0.1 + np.abs(np.cos(x)).mean(axis=1))
        return mean, std


coefs = st.lists(st.floats(-5, 5), min_size=1, max_size=4)


@settings(max_examples=200, deadline=None)
@given(
    a=coefs,
    b=st.floats(-100, 100),
    scale=st.floats(0, 10),
    beta=st.floats(0, 20),
    n_obs=st.integers(1, 10),
    seed=st.integers(0, 2**16),
)
def test_bound_is_nonnegative(unit_cube, a, b, scale, beta, n_obs, seed):
    d = len(a)
    rng = np.random.RandomState(seed)
    observed = rng.uniform(size=(n_obs, d))
    bound = regret_bound(
        _Posterior(np.array(a), b, scale), observed, beta, *unit_cube(d), SEARCH, rng
    )
    assert bound.value >= 0.0
    assert bound.min_lcb_domain <= bound.min_ucb_observed + 1e-12


# The candidates alone (random configs and the observed ones, no local refinement): over a
# fixed pool the LCB minimum can only fall and the UCB minimum only rise as the std grows.
# With local refinement the property does not hold exactly: the refinement follows the LCB,
# so a smaller std can lead it to a deeper minimum the wider one missed (found by hypothesis:
# a = [4, 0, 4, -4], scale 0.5, shrink 0, beta 0.125, seed 15807: 3.700 at std 0 against
# 3.645 at 0.5). What refinement guarantees is the next test: it never lowers the bound.
POOL_ONLY = replace(SEARCH, n_rounds=0)


def _toy_bound(unit_cube, a, scale, beta, seed, search):
    """The bound of the toy posterior at std ``scale``, 5 observed points and candidates
    drawn from ``seed``: the same draws for any scale and search."""
    d = len(a)
    observed = np.random.RandomState(seed).uniform(size=(5, d))
    posterior = _Posterior(np.array(a), 0.0, scale)
    rng = np.random.RandomState(seed)
    return regret_bound(posterior, observed, beta, *unit_cube(d), search, rng)


@settings(max_examples=100, deadline=None)
@given(
    a=coefs,
    scale=st.floats(1e-6, 5),
    shrink=st.floats(0.0, 1.0),
    beta=st.floats(0.1, 20),
    seed=st.integers(0, 2**16),
)
def test_bound_shrinks_with_posterior_std(unit_cube, a, scale, shrink, beta, seed):
    smaller = _toy_bound(unit_cube, a, scale * shrink, beta, seed, POOL_ONLY).value
    assert smaller <= _toy_bound(unit_cube, a, scale, beta, seed, POOL_ONLY).value + 1e-9


@settings(max_examples=100, deadline=None)
@given(a=coefs, scale=st.floats(0, 5), beta=st.floats(0, 20), seed=st.integers(0, 2**16))
def test_local_refinement_never_lowers_the_bound(unit_cube, a, scale, beta, seed):
    """The refinement starts from the pool's best and keeps only lower LCBs: the bound is
    conservative, never below the one from the random candidates alone."""
    refined = _toy_bound(unit_cube, a, scale, beta, seed, SEARCH)
    pool_only = _toy_bound(unit_cube, a, scale, beta, seed, POOL_ONLY)
    assert refined.min_lcb_domain <= pool_only.min_lcb_domain
    assert refined.value >= pool_only.value


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    noise_hi=st.floats(1e-3, 1e-1),
    factor=st.floats(0.01, 0.5),
)
def test_bound_shrinks_with_gp_noise(unit_cube, seed, noise_hi, factor):
    """A GP with fixed kernel: less observation noise, tighter bands, smaller bound."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(size=(25, 2))
    y = np.sin(4 * x[:, 0]) + (x[:, 1] - 0.5) ** 2

    def bound(noise_var):
        gp = GaussianProcessRegressor(Matern(0.3, nu=2.5), alpha=noise_var, optimizer=None)
        gp.fit(x, y)
        return regret_bound(
            SklearnGPPosterior(gp, 0.0, 1.0),
            x,
            2.0,
            *unit_cube(2),
            SEARCH,
            np.random.RandomState(seed),
        ).value

    assert bound(noise_hi * factor) <= bound(noise_hi) + 1e-9
