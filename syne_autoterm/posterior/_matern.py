"""The scikit-learn GP's posterior at fixed hyperparameters, in plain numpy/scipy.

Why not ``GaussianProcessRegressor.predict``: at fixed hyperparameters most of a
stopping check's time went to scikit-learn's per-call overhead, not to
arithmetic. A cProfile of 4 checks at 46-50 trials of
``benchmarks/decision_cost.py``'s 9-D run (2-core VM) spent more time in
``Kernel.get_params``/``dir``/``theta`` introspection and input validation,
called on every ``predict`` and kernel evaluation, than in the kernel values and
triangular solves themselves; a check makes about ten posterior calls. Here the
same formulas (scikit-learn 1.9's ``Matern(nu=2.5)``, ``ConstantKernel``,
``WhiteKernel``, ``alpha`` on the diagonal, lower Cholesky) are evaluated
directly, so predictions equal scikit-learn's to rounding
(``tests/test_posterior_numerics.py``), and a fit at kept hyperparameters is one
kernel matrix and one Cholesky.

Only the kernel that :class:`~syne_autoterm.posterior.SklearnGP` builds
(``Constant * Matern(nu=2.5, ARD) + White``) is recognised; any other kernel
keeps scikit-learn's own code (:func:`kernel_parts` returns None). The BoTorch path
uses the same :class:`FixedGP` with botorch's default RBF kernel
(``KernelParts(kind="rbf")``, :mod:`syne_autoterm.posterior._botorch_gp`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.spatial.distance import cdist, pdist, squareform


@dataclass(frozen=True)
class KernelParts:
    """``amplitude * k(length_scale) + noise * I``, standardised units; ``k`` is
    Matern-5/2 (scikit-learn's GP) or the squared exponential (``"rbf"``: botorch's
    default ``SingleTaskGP``, see :mod:`syne_autoterm.posterior._botorch_gp`)."""

    amplitude: float
    length_scale: np.ndarray
    noise: float
    kind: str = "matern52"


def kernel_parts(kernel) -> KernelParts | None:
    """The parts of ``Constant * Matern(nu=2.5) + White``, or None for any other kernel."""
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, Product, Sum, WhiteKernel

    if not (
        isinstance(kernel, Sum)
        and isinstance(kernel.k2, WhiteKernel)
        and isinstance(kernel.k1, Product)
    ):
        return None
    constant, matern = kernel.k1.k1, kernel.k1.k2
    if not (
        isinstance(constant, ConstantKernel) and isinstance(matern, Matern) and matern.nu == 2.5
    ):
        return None
    return KernelParts(
        float(constant.constant_value),
        np.atleast_1d(np.asarray(matern.length_scale, dtype=float)),
        float(kernel.k2.noise_level),
    )


def _matern52(distances: np.ndarray) -> np.ndarray:
    k = distances * math.sqrt(5.0)
    return (1.0 + k + k**2 / 3.0) * np.exp(-k)


def _correlation(parts: KernelParts, distances: np.ndarray) -> np.ndarray:
    """The kernel's correlation at scaled distances (1 at distance 0)."""
    if parts.kind == "rbf":
        return np.exp(-0.5 * distances**2)
    return _matern52(distances)


def _scaled(x: np.ndarray, length_scale: np.ndarray) -> np.ndarray:
    return np.atleast_2d(x) / length_scale


def _prior(parts: KernelParts, x: np.ndarray) -> np.ndarray:
    """``amplitude * Matern52`` among the rows of ``x`` (no noise term)."""
    dist = squareform(pdist(_scaled(x, parts.length_scale), metric="euclidean"))
    k = parts.amplitude * _correlation(parts, dist)
    np.fill_diagonal(k, parts.amplitude)  # as scikit-learn: exactly the prior variance
    return k


@dataclass(frozen=True)
class FixedGP:
    """A GP conditioned on ``x`` at fixed hyperparameters: the Cholesky factor and weights."""

    parts: KernelParts
    x: np.ndarray
    chol: np.ndarray  # lower Cholesky factor of K(x, x) + noise + alpha
    weights: np.ndarray  # (K + noise + alpha)^-1 y

    @classmethod
    def fit(
        cls, parts: KernelParts, x: np.ndarray, y: np.ndarray, alpha: float | np.ndarray
    ) -> FixedGP:
        """Raises ``np.linalg.LinAlgError`` when the kernel matrix is not positive definite."""
        x = np.asarray(x, dtype=float)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("GP inputs must be finite")
        k = _prior(parts, x) + parts.noise * np.eye(len(x))
        k[np.diag_indices_from(k)] += alpha
        chol = cholesky(k, lower=True, check_finite=False)
        weights = cho_solve((chol, True), np.asarray(y, dtype=float), check_finite=False)
        return cls(parts, x, chol, weights)

    @classmethod
    def from_sklearn(cls, gp, parts: KernelParts) -> FixedGP:
        """The state of a fitted ``GaussianProcessRegressor`` (normalize_y=False)."""
        return cls(parts, np.asarray(gp.X_train_, dtype=float), gp.L_, np.asarray(gp.alpha_))

    def _cross_solved(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``K(features, x)`` and ``chol^-1 K(x, features)``: the mean's and the variance's
        shared part."""
        scale = self.parts.length_scale
        cross = self.parts.amplitude * _correlation(
            self.parts,
            cdist(_scaled(features, scale), _scaled(self.x, scale), metric="euclidean"),
        )
        return cross, solve_triangular(self.chol, cross.T, lower=True, check_finite=False)

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of a new observation (latent variance plus the White noise)."""
        cross, v = self._cross_solved(features)
        var = self.parts.amplitude + self.parts.noise - np.einsum("ij,ij->j", v, v)
        return cross @ self.weights, np.sqrt(np.maximum(var, 0.0))

    def joint(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the latent function (no noise term)."""
        features = np.atleast_2d(np.asarray(features, dtype=float))
        cross, v = self._cross_solved(features)
        cov = _prior(self.parts, features) - v.T @ v
        cov[np.diag_indices_from(cov)] = np.maximum(np.diag(cov), 0.0)
        return cross @ self.weights, cov
