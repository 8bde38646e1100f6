"""The scikit-learn GP path's own posterior numerics against scikit-learn itself.

A check at kept hyperparameters builds no ``GaussianProcessRegressor``: it
conditions :class:`~syne_autoterm.posterior._matern.FixedGP` on the new trials
(one kernel matrix, one Cholesky). That must be the same posterior as a full
scikit-learn fit at those hyperparameters, to rounding.
"""

import numpy as np
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, Matern

from syne_autoterm.posterior import SklearnGP
from syne_autoterm.posterior._matern import kernel_parts
from syne_autoterm.posterior._sklearn_gp import SklearnGPPosterior
from syne_autoterm.posterior._types import standardize


def _data(seed, n, d):
    rng = np.random.RandomState(seed)
    x = rng.uniform(size=(n, d))
    y = np.sin(3 * x[:, 0]) + (x[:, -1] - 0.4) ** 2 + 0.05 * rng.standard_normal(n)
    return x, 0.2 + 0.01 * y, rng.uniform(size=(40, d))


def _reference(kernel, x, objective, alpha):
    """scikit-learn's own fit at fixed hyperparameters, on the same standardised data."""
    y, y_mean, y_std = standardize(objective)
    gp = GaussianProcessRegressor(kernel=kernel, alpha=alpha, optimizer=None, normalize_y=False)
    gp.fit(x, y)
    return gp, y_mean, y_std


@pytest.mark.parametrize("seed,n,d", [(0, 12, 1), (1, 30, 3), (2, 60, 9)])
@pytest.mark.parametrize("known_noise", [False, True])
def test_update_at_kept_hyperparameters_equals_a_full_refit(seed, n, d, known_noise):
    x, objective, query = _data(seed, n, d)
    fitter = SklearnGP(n_restarts=0, seed=0)
    optimised = fitter.fit(x[: n // 2], objective[: n // 2])
    kernel = optimised.hyperparameters
    assert kernel_parts(kernel) is not None
    noise_var = (1e-6 * (1 + np.arange(n)) / n) if known_noise else None
    kept = fitter.fit(x, objective, noise_var=noise_var, hyperparameters=kernel)
    assert kept._gp is None  # no regressor built: the numerics here did the update

    _, _, y_std = standardize(objective)
    alpha = 1e-10 if noise_var is None else np.maximum(noise_var / y_std**2, 1e-10)
    gp, y_mean, y_std = _reference(kernel, x, objective, alpha)
    mean, std = gp.predict(query, return_std=True)
    got_mean, got_std = kept.predict(query)
    np.testing.assert_allclose(got_mean, mean * y_std + y_mean, rtol=0, atol=1e-8 * y_std)
    np.testing.assert_allclose(got_std, std * y_std, rtol=0, atol=1e-8 * y_std)

    _, cov = gp.predict(query, return_cov=True)
    cov = (cov - kernel.k2.noise_level * np.eye(len(cov))) * y_std**2
    _, got_cov = kept.joint(query)
    np.testing.assert_allclose(got_cov, cov, rtol=0, atol=1e-8 * y_std**2)
    assert kept.hyperparameters is kernel  # the chain of kept fits carries the same kernel


def test_an_optimised_fit_predicts_as_its_regressor():
    x, objective, query = _data(3, 40, 4)
    post = SklearnGP(n_restarts=1, seed=0).fit(x, objective)
    gp = post._gp
    mean, std = gp.predict(query, return_std=True)
    got_mean, got_std = post.predict(query)
    np.testing.assert_allclose(got_mean, mean * post._y_std + post._y_mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got_std, std * post._y_std, rtol=1e-9, atol=1e-14)


def test_other_kernels_keep_scikit_learns_code():
    x, objective, query = _data(4, 20, 2)
    for kernel in (Matern(0.3, nu=2.5), Matern(0.3, nu=1.5), RBF(0.3)):
        gp = GaussianProcessRegressor(kernel, optimizer=None).fit(x, objective)
        post = SklearnGPPosterior(gp, 0.0, 1.0)
        assert post._fixed is None
        np.testing.assert_allclose(post.predict(query)[0], gp.predict(query))


def test_a_singular_kernel_matrix_raises_for_the_retry_policy():
    """The criterion retries a failed fit with a noise floor: the failure must be an exception."""
    from syne_autoterm.posterior._matern import FixedGP, KernelParts

    parts = KernelParts(1.0, np.array([0.5, 0.5]), 0.0)
    with pytest.raises(np.linalg.LinAlgError):  # five identical configs, no noise at all
        FixedGP.fit(parts, np.zeros((5, 2)), np.arange(5.0), alpha=0.0)
    kernel = (
        SklearnGP(n_restarts=0)
        .fit(np.random.RandomState(0).uniform(size=(10, 2)), np.arange(10.0))
        .hyperparameters
    )
    with pytest.raises(ValueError):
        SklearnGP().fit(np.full((5, 2), np.nan), np.arange(5.0), hyperparameters=kernel)


def test_checks_between_refit_points_optimise_nothing():
    """With the default refit schedule a replay of 20..60 trials optimises the GP only at
    the schedule's counts; every other check conditions the kept GP on the new trials."""
    from syne_tune.config_space import uniform

    from syne_autoterm import AutoTermination, Evidence
    from syne_autoterm.compare import replay
    from syne_autoterm.posterior._fitting import refit_point

    rng = np.random.RandomState(0)
    n = 60
    configs = tuple({"x": float(a), "y": float(b)} for a, b in rng.uniform(size=(n, 2)))
    values = np.array([0.2 + 0.1 * (c["x"] - 0.3) ** 2 + 0.05 * c["y"] for c in configs])
    folds = tuple(v + 0.01 * rng.standard_normal(10) for v in values)
    evidence = Evidence(tuple(range(n)), configs, values, folds)
    rule = AutoTermination(
        "value",
        "min",
        "fold_",
        config_space={"x": uniform(0, 1), "y": uniform(0, 1)},
        warm_up=20,
        posterior="sklearn",
        error_scale=1e-12,
        patience=None,
    )
    rule._fitters["sklearn"] = fitter = SklearnGP(n_restarts=0, seed=0)
    result = replay(rule, evidence, 20, n)
    checks = len(result.history)
    points = {refit_point(k, 20, rule.refit_growth) for k in range(20, n + 1)}
    assert checks == n - 20 + 1 and all(r["regret_bound"] is not None for r in result.history)
    assert fitter.fits.optimised == len(points) == 11  # 20, 22, 25, 28, 31, 35, 39, 43, 48, 53, 59
    assert fitter.fits.conditioned == checks - len(points)


@pytest.mark.parametrize("noise", ["learned", "known", "jitter"])
@pytest.mark.parametrize("n", [6, 40])
def test_botorch_posterior_in_numpy_equals_botorchs_own(noise, n, monkeypatch):
    """The BoTorch path computes its posterior in numpy from the fitted model's
    parameters (FixedBoTorchPosterior); it must equal botorch's own posterior, for an
    optimised fit and for one at kept hyperparameters on more data (the amortised update)."""
    from syne_autoterm.posterior import BoTorchGP
    from syne_autoterm.posterior import _botorch_gp as module

    rng = np.random.default_rng(n)
    x = rng.uniform(size=(n + 5, 3))
    y = 3.0 + np.sin(4 * x).sum(axis=1) + 0.05 * rng.normal(size=n + 5)
    known = 0.01 * (1 + rng.uniform(size=n + 5)) if noise == "known" else None
    jitter = 1e-3 if noise == "jitter" else 0.0

    def fit(rows, hyperparameters=None):
        noise_var = None if known is None else known[:rows]
        return gp.fit(x[:rows], y[:rows], noise_var, jitter, hyperparameters)

    gp = BoTorchGP(seed=0)
    first = fit(n)
    kept = fit(n + 5, first.hyperparameters)
    assert isinstance(first, module.FixedBoTorchPosterior)
    assert isinstance(kept, module.FixedBoTorchPosterior)
    monkeypatch.setattr(module, "numpy_posterior", lambda *args: None)  # botorch's own
    query = rng.uniform(size=(50, 3))
    for ours, rows in ((first, n), (kept, n + 5)):
        theirs = fit(rows, ours.hyperparameters)
        assert isinstance(theirs, module.BoTorchGPPosterior)
        for a, b in zip(ours.predict(query), theirs.predict(query)):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
        for a, b in zip(ours.joint(query[:20]), theirs.joint(query[:20])):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def _smooth_and_noise(seed, n=30, d=2):
    """A smooth function observed without noise, and noise around a flat function.

    The noisy configs are each evaluated three times: at distinct configs, white noise
    and a signal of vanishing length scale are the same GP, so only repeats make the
    noise identifiable."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(size=(n, d))
    smooth = np.sin(3 * x[:, 0]) + (x[:, -1] - 0.4) ** 2
    x_noisy = np.repeat(x[: n // 3], 3, axis=0)
    return x, smooth, x_noisy, rng.standard_normal(len(x_noisy))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noise_share_tells_a_flat_noisy_fit_from_a_smooth_one(seed):
    x, smooth, x_noisy, noise = _smooth_and_noise(seed)
    fitter = SklearnGP(seed=0)
    assert fitter.fit(x, smooth).noise_share < 0.01
    flat = fitter.fit(x_noisy, noise)
    assert flat.noise_share > 0.5
    # kept hyperparameters keep their share
    kept = fitter.fit(x_noisy[:-1], noise[:-1], hyperparameters=flat.hyperparameters)
    assert kept.noise_share == pytest.approx(flat.noise_share)


def test_noise_share_is_none_where_it_cannot_be_read():
    from syne_autoterm.posterior._types import learned_noise_share

    assert learned_noise_share(1.0, 1.0) == 0.5
    for amplitude, noise in [(0.0, 0.0), (-1.0, 1.0), (float("nan"), 1.0), (1.0, float("inf"))]:
        assert learned_noise_share(amplitude, noise) is None
    x, smooth, _, _ = _smooth_and_noise(0)
    gp = GaussianProcessRegressor(kernel=RBF(), optimizer=None).fit(x, smooth)
    assert SklearnGPPosterior(gp, 0.0, 1.0).noise_share is None  # not SklearnGP's kernel


def test_botorch_noise_share_tells_a_flat_noisy_fit_from_a_smooth_one():
    pytest.importorskip("botorch")
    from syne_autoterm.posterior import BoTorchGP

    x, smooth, x_noisy, noise = _smooth_and_noise(0)
    fitter = BoTorchGP(seed=0)
    assert fitter.fit(x, smooth).noise_share < 0.05
    # botorch's priors keep the lengthscale and noise moderate: a lower share, still far apart
    assert fitter.fit(x_noisy, noise).noise_share > 0.3
    assert fitter.fit(x, smooth, noise_var=np.full(len(x), 1e-4)).noise_share is None  # known
