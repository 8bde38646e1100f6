"""What every posterior source gives the regret bound: mean and std in objective units."""

from __future__ import annotations

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
        """Fit on encoded configs and objective values (noise_var: known per-point noise)."""


def standardize(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Zero-mean unit-std values; a constant vector keeps scale 1 instead of dividing by 0."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    if not np.isfinite(std) or std <= 1e-12 * max(1.0, abs(mean)):
        std = 1.0
    return (values - mean) / std, mean, std
