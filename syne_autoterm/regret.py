"""Upper bound on the simple regret from a GP's confidence bounds (Makarova et al. 2022).

With probability about ``1 - delta`` the true objective lies in
``[lcb, ucb] = mean -/+ sqrt(beta) * std`` everywhere, so the best value still
reachable is at least ``min_domain lcb`` while the incumbent is at most
``min_observed ucb``: their difference bounds what further search can gain.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .posterior import FittedPosterior


def beta_schedule(n_dims: int, n_points: int, delta: float = 0.1, scale: float = 0.2) -> float:
    """``scale * 2 * log(d * t^2 * pi^2 / (6 * delta))``.

    The GP-UCB schedule of Srinivas et al. with ``d`` (number of
    hyperparameters) where their theorem has the domain size, and their
    practical scale-down ``scale=0.2``, as in the authors' and Optuna's code.
    ``t`` is the number of points the GP was fitted on.
    """
    if n_dims < 1 or n_points < 1:
        raise ValueError(f"need n_dims >= 1 and n_points >= 1, got {n_dims}, {n_points}")
    if not (MIN_DELTA <= delta < 1.0):
        raise ValueError(f"delta must lie in [{MIN_DELTA:g}, 1), got {delta}")
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a finite number > 0, got {scale}")
    ratio = n_dims * n_points**2 * math.pi**2 / (6.0 * delta)
    if not math.isfinite(ratio):  # many points and a tiny delta: the product overflows
        log_ratio = (
            math.log(n_dims)
            + 2.0 * math.log(n_points)
            + math.log(math.pi**2 / 6.0)
            - math.log(delta)
        )
        return scale * 2.0 * log_ratio
    return scale * 2.0 * math.log(ratio)


#: Smallest ``delta``: the smallest normal float. Below it ``1 / delta`` overflows
#: and ``log(delta)`` loses its precision (subnormal numbers).
MIN_DELTA = sys.float_info.min


def top_n_count(n_observed: int, ratio: float = 0.5, minimum: int = 20) -> int:
    """How many of the best observations the GP is fitted on: ``max(minimum, int(ratio*t))``."""
    return int(min(n_observed, max(minimum, int(ratio * n_observed))))


def top_n_mask(objective: np.ndarray, ratio: float = 0.5, minimum: int = 20) -> np.ndarray:
    """Mask of the best ``top_n_count`` points (ties at the cut-off are all kept)."""
    objective = np.asarray(objective, dtype=float)
    n = top_n_count(len(objective), ratio, minimum)
    if n >= len(objective):
        return np.ones(len(objective), dtype=bool)
    cutoff = np.partition(objective, n - 1)[n - 1]
    return objective <= cutoff


@dataclass(frozen=True)
class RegretBound:
    value: float
    min_ucb_observed: float
    min_lcb_domain: float
    beta: float
    lcb_argmin: np.ndarray
    n_domain_points: int


@dataclass(frozen=True)
class DomainSearch:
    """How the domain minimum of the LCB is searched.

    ``n_candidates`` random valid configs plus the observed ones, then
    ``n_starts`` local searches from the best of them: each round samples
    ``n_samples`` Gaussian steps of width ``radius`` around the current best,
    snaps them to valid configs and halves the width (a batched trust-region
    search: one posterior call per round, no gradients needed, so it works for
    any posterior and for integer and categorical hyperparameters alike).
    """

    n_candidates: int = 2000
    n_starts: int = 5
    n_rounds: int = 4
    n_samples: int = 64
    radius: float = 0.1

    def __post_init__(self) -> None:
        """Whole numbers >= 0 and a finite radius > 0, else ValueError (never TypeError)."""
        for name in ("n_candidates", "n_starts", "n_rounds", "n_samples"):
            value = getattr(self, name)
            ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
            if not ok or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
            object.__setattr__(self, name, int(value))
        radius = self.radius
        ok = isinstance(radius, numbers.Real) and not isinstance(radius, (bool, np.bool_))
        if not (ok and math.isfinite(radius) and radius > 0):
            raise ValueError(f"radius must be a finite number > 0, got {radius!r}")
        object.__setattr__(self, "radius", float(radius))


class PosteriorError(ArithmeticError):
    """The posterior returned something that is not a usable mean/std."""


def checked_predict(posterior: FittedPosterior, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``posterior.predict`` with the output checked: finite, right shape, std >= 0."""
    mean, std = posterior.predict(x)
    mean = np.asarray(mean, dtype=float).reshape(-1)
    std = np.asarray(std, dtype=float).reshape(-1)
    n = len(np.atleast_2d(x))
    if mean.shape != (n,) or std.shape != (n,):
        raise PosteriorError(f"posterior returned shapes {mean.shape}, {std.shape} for {n} points")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
        raise PosteriorError("posterior mean or std is NaN or infinite")
    if np.any(std < 0):
        raise PosteriorError("posterior std is negative")
    return mean, std


def _lcb(posterior: FittedPosterior, x: np.ndarray, sqrt_beta: float) -> np.ndarray:
    mean, std = checked_predict(posterior, x)
    return mean - sqrt_beta * std


def minimize_lcb(
    posterior: FittedPosterior,
    sqrt_beta: float,
    observed: np.ndarray,
    sample_domain: Callable[[int, np.random.RandomState], np.ndarray],
    snap: Callable[[np.ndarray], np.ndarray],
    search: DomainSearch,
    rng: np.random.RandomState,
) -> tuple[float, np.ndarray, int]:
    """Minimum of the LCB over the domain: random candidates, then local refinement."""
    pool = observed
    if search.n_candidates > 0:
        pool = np.vstack([observed, sample_domain(search.n_candidates, rng)])
    values = _lcb(posterior, pool, sqrt_beta)
    n_evaluated = len(pool)
    starts = pool[np.argsort(values)[: search.n_starts]]
    best_x, best_v = pool[int(np.argmin(values))], float(np.min(values))
    radius = search.radius
    for _ in range(search.n_rounds):
        if len(starts) == 0 or search.n_samples == 0:
            break
        steps = rng.normal(scale=radius, size=(len(starts), search.n_samples, starts.shape[1]))
        proposals = snap((starts[:, None, :] + steps).reshape(-1, starts.shape[1]))
        prop_values = _lcb(posterior, proposals, sqrt_beta).reshape(len(starts), search.n_samples)
        n_evaluated += proposals.shape[0]
        proposals = proposals.reshape(len(starts), search.n_samples, -1)
        start_values = _lcb(posterior, starts, sqrt_beta)
        best_idx = np.argmin(prop_values, axis=1)
        improved = prop_values[np.arange(len(starts)), best_idx] < start_values
        starts = np.where(improved[:, None], proposals[np.arange(len(starts)), best_idx], starts)
        round_best = float(np.min(prop_values))
        if round_best < best_v:
            flat = int(np.argmin(prop_values))
            best_v, best_x = round_best, proposals.reshape(-1, starts.shape[1])[flat]
        radius /= 2.0
    return best_v, best_x, n_evaluated


def regret_bound(
    posterior: FittedPosterior,
    observed: np.ndarray,
    beta: float,
    sample_domain: Callable[[int, np.random.RandomState], np.ndarray],
    snap: Callable[[np.ndarray], np.ndarray],
    search: DomainSearch = DomainSearch(),
    rng: np.random.RandomState | None = None,
) -> RegretBound:
    """``min_{x in observed} ucb(x) - min_{x in domain} lcb(x)``, >= 0 by construction.

    The observed points are part of the domain search, so the LCB minimum is
    never above the LCB (hence never above the UCB) of any observed point.

    A posterior that returns NaN/inf or a negative std raises
    :class:`PosteriorError`, and a bound that is not finite is NaN (never
    clipped to 0), so a broken posterior cannot produce a small bound.
    """
    if not (beta >= 0 and math.isfinite(beta)):
        raise ValueError(f"beta must be a finite number >= 0, got {beta}")
    if len(observed) == 0:
        raise ValueError("need at least one observed point")
    rng = rng if rng is not None else np.random.RandomState(0)
    sqrt_beta = math.sqrt(beta)
    mean, std = checked_predict(posterior, observed)
    min_ucb = float(np.min(mean + sqrt_beta * std))
    min_lcb, argmin, n_points = minimize_lcb(
        posterior, sqrt_beta, observed, sample_domain, snap, search, rng
    )
    gap = min_ucb - min_lcb
    return RegretBound(
        value=max(0.0, gap) if math.isfinite(gap) else float("nan"),
        min_ucb_observed=min_ucb,
        min_lcb_domain=min_lcb,
        beta=beta,
        lcb_argmin=argmin,
        n_domain_points=n_points,
    )
