"""A GP fitted with scikit-learn, for searchers that keep no surrogate of their own.

No torch here: random search, TPE, BORE, ASHA users get the criterion without
installing BoTorch.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._matern import FixedGP, kernel_parts
from ._types import FitCounts, FittedPosterior, learned_noise_share, standardize


class SklearnGPPosterior(FittedPosterior):
    """A fitted scikit-learn GP's posterior in metric units.

    With the kernel that :class:`SklearnGP` builds, predictions are computed by
    :class:`~syne_autoterm.posterior._matern.FixedGP` (the same formulas without
    scikit-learn's per-call overhead); ``gp`` may then be None (a fit at kept
    hyperparameters builds no regressor at all). Any other kernel uses ``gp``.
    """

    def __init__(self, gp, y_mean: float, y_std: float, fixed: FixedGP | None = None, kernel=None):
        self._gp, self._y_mean, self._y_std = gp, y_mean, y_std
        self._kernel = kernel if kernel is not None else gp.kernel_
        if fixed is None:
            parts = kernel_parts(self._kernel)
            fixed = FixedGP.from_sklearn(gp, parts) if parts is not None else None
        self._fixed = fixed

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._fixed is not None:
            mean, std = self._fixed.predict(features)
        else:
            mean, std = self._gp.predict(np.atleast_2d(features), return_std=True)
        return mean * self._y_std + self._y_mean, np.maximum(std, 0.0) * self._y_std

    def joint(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Joint posterior mean and covariance of the latent objective (no noise term)."""
        if self._fixed is not None:
            mean, cov = self._fixed.joint(features)
            return mean * self._y_std + self._y_mean, cov * self._y_std**2
        mean, cov = self._gp.predict(np.atleast_2d(features), return_cov=True)
        # scikit-learn adds the WhiteKernel's noise level to the diagonal of every
        # prediction; sample paths are of the latent objective, so it is taken off.
        noise = float(getattr(getattr(self._gp.kernel_, "k2", None), "noise_level", 0.0))
        cov = cov - noise * np.eye(len(cov))
        cov[np.diag_indices_from(cov)] = np.maximum(np.diag(cov), 0.0)
        return mean * self._y_std + self._y_mean, cov * self._y_std**2

    @property
    def hyperparameters(self):
        """The fitted kernel: pass it to :meth:`SklearnGP.fit` to refit without optimising."""
        return self._kernel

    @property
    def noise_share(self) -> float | None:
        """The learned noise's share of the fitted variance, ``noise / (amplitude + noise)``.

        Near 1 the GP explains its data as noise around a flat function, and the
        regret it reports is small by construction rather than because the search
        converged; None for a kernel other than :class:`SklearnGP`'s."""
        parts = kernel_parts(self._kernel)
        return None if parts is None else learned_noise_share(parts.amplitude, parts.noise)


class SklearnGP:
    """Matern-5/2 ARD GP with a learned noise level, type-II ML fit by L-BFGS-B.

    Every optimising fit starts from the same kernel (plus ``n_restarts``
    random starts drawn with ``seed``), so it depends on its data alone. A warm
    start from the previous fit made a check's bound depend on which checks
    had run before it: up to 5.9x apart on the same trials
    (``tests/test_reliability.py``). ``hyperparameters`` of an earlier fit skip
    the optimiser instead (one Cholesky on the new data).
    """

    name = "sklearn-gp"

    def __init__(self, n_restarts: int = 2, seed: int = 0):
        self.n_restarts = n_restarts
        self.seed = seed
        self.fits = FitCounts()

    @staticmethod
    def _initial_kernel(n_features: int):
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        return ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=np.full(n_features, 0.5), length_scale_bounds=(1e-3, 1e3), nu=2.5
        ) + WhiteKernel(1e-2, (1e-8, 1.0))

    def fit(
        self,
        features: np.ndarray,
        objective: np.ndarray,
        noise_var: np.ndarray | None = None,
        jitter: float = 0.0,
        hyperparameters=None,
    ) -> SklearnGPPosterior:
        """Fit on standardised objective values (so any metric scale works).

        The kernel bounds refer to standardised units: signal variance
        1e-3..1e3, length scales 1e-3..1e3 on the unit cube, learned noise
        1e-8..1. ``jitter`` (standardised units) floors the diagonal noise.
        ``hyperparameters`` (a posterior's :attr:`~SklearnGPPosterior.hyperparameters`
        on the same encoding) are kept as they are: no optimiser run.
        """
        from sklearn.gaussian_process import GaussianProcessRegressor

        y, y_mean, y_std = standardize(objective)
        floor = max(1e-10, float(jitter))
        alpha = floor if noise_var is None else np.maximum(noise_var / y_std**2, floor)
        fixed = hyperparameters is not None
        parts = kernel_parts(hyperparameters) if fixed else None
        self.fits.count(optimised=not fixed)
        if parts is not None:  # kept hyperparameters: one kernel matrix and one Cholesky
            state = FixedGP.fit(parts, features, y, alpha)
            return SklearnGPPosterior(None, y_mean, y_std, fixed=state, kernel=hyperparameters)
        gp = GaussianProcessRegressor(
            kernel=hyperparameters if fixed else self._initial_kernel(features.shape[1]),
            alpha=alpha,
            normalize_y=False,
            optimizer=None if fixed else "fmin_l_bfgs_b",
            n_restarts_optimizer=0 if fixed else self.n_restarts,
            random_state=self.seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at bounds is expected
            gp.fit(features, y)
        return SklearnGPPosterior(gp, y_mean, y_std)
