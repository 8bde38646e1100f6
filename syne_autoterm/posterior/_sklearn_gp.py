"""A GP fitted with scikit-learn, for searchers that keep no surrogate of their own.

No torch here: random search, TPE, BORE, ASHA users get the criterion without
installing BoTorch.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._types import FittedPosterior, standardize


class SklearnGPPosterior(FittedPosterior):
    def __init__(self, gp, y_mean: float, y_std: float):
        self._gp, self._y_mean, self._y_std = gp, y_mean, y_std

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self._gp.predict(np.atleast_2d(features), return_std=True)
        return mean * self._y_std + self._y_mean, np.maximum(std, 0.0) * self._y_std

    def joint(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Joint posterior mean and covariance of the latent objective (no noise term)."""
        mean, cov = self._gp.predict(np.atleast_2d(features), return_cov=True)
        # scikit-learn adds the WhiteKernel's noise level to the diagonal of every
        # prediction; sample paths are of the latent objective, so it is taken off.
        noise = float(getattr(getattr(self._gp.kernel_, "k2", None), "noise_level", 0.0))
        cov = cov - noise * np.eye(len(cov))
        cov[np.diag_indices_from(cov)] = np.maximum(np.diag(cov), 0.0)
        return mean * self._y_std + self._y_mean, cov * self._y_std**2


class SklearnGP:
    """Matern-5/2 ARD GP with a learned noise level, type-II ML fit by L-BFGS-B.

    The kernel hyperparameters of the previous fit seed the next one, so a
    check costs one optimizer run instead of several restarts; the first fit
    uses ``n_restarts`` extra random starts.
    """

    name = "sklearn-gp"

    def __init__(self, n_restarts: int = 2, seed: int = 0):
        self.n_restarts = n_restarts
        self.seed = seed
        self._last_kernel = None

    def reset(self) -> None:
        """Forget the warm start (after a fit whose posterior was rejected)."""
        self._last_kernel = None

    def _initial_kernel(self, n_features: int):
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        last = self._last_kernel
        if last is not None and last.k1.k2.length_scale.size == n_features:
            return self._last_kernel, 0
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=np.full(n_features, 0.5), length_scale_bounds=(1e-3, 1e3), nu=2.5
        ) + WhiteKernel(1e-2, (1e-8, 1.0))
        return kernel, self.n_restarts

    def fit(
        self,
        features: np.ndarray,
        objective: np.ndarray,
        noise_var: np.ndarray | None = None,
        jitter: float = 0.0,
    ) -> SklearnGPPosterior:
        """Fit on standardised objective values (so any metric scale works).

        The kernel bounds refer to standardised units: signal variance
        1e-3..1e3, length scales 1e-3..1e3 on the unit cube, learned noise
        1e-8..1. ``jitter`` (standardised units) floors the diagonal noise; a
        retry with jitter also drops the warm start.
        """
        from sklearn.gaussian_process import GaussianProcessRegressor

        y, y_mean, y_std = standardize(objective)
        floor = max(1e-10, float(jitter))
        alpha = floor if noise_var is None else np.maximum(noise_var / y_std**2, floor)
        if jitter > 0:
            self._last_kernel = None
        kernel, restarts = self._initial_kernel(features.shape[1])
        gp = GaussianProcessRegressor(
            kernel=kernel, alpha=alpha, normalize_y=False,
            n_restarts_optimizer=restarts, random_state=self.seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at bounds is expected
            gp.fit(features, y)
        self._last_kernel = gp.kernel_
        return SklearnGPPosterior(gp, y_mean, y_std)
