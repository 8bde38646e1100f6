"""What every posterior source gives the regret bound: mean and std in objective units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class FittedPosterior(Protocol):
    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent objective (minimisation form)."""


class PosteriorFitter(Protocol):
    name: str

    def fit(
        self, features: np.ndarray, objective: np.ndarray, noise_var: np.ndarray | None = None
    ) -> FittedPosterior:
        """Fit on encoded configs and objective values (noise_var: known per-point noise).

        The fitters of this package also take ``jitter=``: a floor on the noise
        variance in standardised units, used when retrying a failed fit.
        """


@dataclass
class FitCounts:
    """How many GP fits a fitter made: ``optimised`` (hyperparameters found by the
    optimiser, the expensive kind) and ``conditioned`` (kept hyperparameters, new data
    only). Lets tests and benchmarks see that checks between refit points optimise
    nothing; lives with the fitter, which a pickled rule does not keep."""

    optimised: int = 0
    conditioned: int = 0

    def count(self, optimised: bool) -> None:
        if optimised:
            self.optimised += 1
        else:
            self.conditioned += 1


def learned_noise_share(amplitude: float, noise: float) -> float | None:
    """``noise / (amplitude + noise)``: how much of a GP's fitted variance it calls noise
    (both in the same units); None when the parts are not finite and non-negative or
    sum to 0."""
    amplitude, noise = float(amplitude), float(noise)
    total = amplitude + noise
    if not (np.isfinite(total) and amplitude >= 0 and noise >= 0 and total > 0):
        return None
    return noise / total


# Spread below this fraction of the values' magnitude is floating-point noise.
CONSTANT_RTOL = 1e-12


def _robust_mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample std computed on rescaled values, so 1e300 does not overflow."""
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    if not np.isfinite(scale):
        raise ValueError("values must be finite")
    if scale == 0.0:
        return 0.0, 0.0
    scaled = values / scale
    mean = float(scaled.mean()) * scale
    std = (float(scaled.std(ddof=1)) * scale) if values.size > 1 else 0.0
    return mean, std


def is_constant(values: np.ndarray) -> bool:
    """True when the values do not vary beyond floating-point noise (relative to their size).

    Scale-free: 1e-12 * f(x) is not constant, 0.5 + 1e-15 * f(x) is.
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size < 2:
        return True
    _, std = _robust_mean_std(values)
    return std == 0.0 or std <= CONSTANT_RTOL * float(np.max(np.abs(values)))


def standardize(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Zero-mean unit-std values; a constant vector keeps scale 1 instead of dividing by 0.

    "Constant" is relative (see :func:`is_constant`), so metrics on any scale,
    1e-12 or 1e12, are standardised alike. Non-finite values raise ValueError.
    """
    values = np.asarray(values, dtype=float)
    mean, std = _robust_mean_std(values)
    if is_constant(values):
        # nothing to scale by: use the values' own magnitude (1 for all zeros)
        std = abs(mean) if mean != 0.0 else 1.0
    return (values - mean) / std, mean, std
