"""A probabilistic regret bound from joint posterior sample paths (in the spirit of Wilson, 2024).

The paper's bound ``min ucb - min lcb`` adds two marginal high-probability
bounds, each widened by a ``sqrt(beta)`` that grows with ``t``, and takes the
lower one at the least explored corner of the domain. It is a worst case of
two worst cases, and in 9 dimensions it rarely falls below the validation
noise. Here the regret of one point is bounded directly: with ``x_hat`` the
evaluated configuration of lowest posterior mean, draw joint sample paths of
the latent objective over ``x_hat`` and the candidates that could beat it, and
take the ``confidence`` quantile of ``f(x_hat) - min f`` over the paths. The
rule stops when that quantile is below the tolerated error, i.e. when
``P(f(x_hat) - min f <= eps) >= confidence``. Correlations between candidates
are kept (the paths are joint), so many similar candidates near ``x_hat`` do not
each count as an independent chance to improve.

Cost: the GP fit and the candidate predictions dominate a check. Sampling 512
paths over 201 points is one 201 x 201 Cholesky and one matrix product: 15 ms of
a 120 ms check in a cProfile of checks at 100-140 trials of an XGBoost run, on
a loaded 2-core machine; a whole check costs about what the paper's bound costs
(``benchmarks/results/decision_cost.csv``: 25 / 52 / 1079 ms against 19 / 50 /
969 ms at 50 / 200 / 1000 trials, scikit-learn path). A sequential test that
draws fewer paths on easy checks would save little of that and would make the
decision depend on the threshold it is compared with; the number of paths is
fixed instead, which keeps one check's statistic usable for every
``error_scale`` in replay.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .regret import DomainSearch, PosteriorError, checked_predict, minimize_lcb

# Candidates are screened by a lower confidence bound mean - 2 std: a point whose
# LCB is far above the others has a negligible chance of being a path's minimum.
SCREEN_SQRT_BETA = 2.0
# Quantiles of the regret reported in every check's record besides the configured one.
REPORTED_QUANTILES = (0.5, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class PathSampling:
    """How the probabilistic bound is estimated.

    :param confidence: the bound is this quantile of the regret of ``x_hat``
        (``1 - delta`` in Wilson's notation).
    :param n_paths: joint sample paths drawn per check (fixed, see module doc).
    :param n_joint: candidates (after screening) over which the paths are joint.
    :param horizons: also report, for each ``h``, the expected improvement on ``x_hat`` of
        the ``h`` candidates most likely to improve on it (``improvement_h<h>`` in the
        check's record): what a search with ``h`` evaluations left could gain, rather
        than what the whole domain might hold. A diagnostic and a candidate statistic
        (``benchmarks/results/frontier/README.md``); the decision does not read it.
    """

    confidence: float = 0.9
    n_paths: int = 512
    n_joint: int = 200
    horizons: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in ("n_paths", "n_joint"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        c = self.confidence
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not (0.0 < c < 1.0):
            raise ValueError(f"confidence must be a number in (0, 1), got {c!r}")
        if not isinstance(self.horizons, tuple) or not all(
            isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h >= 1
            for h in self.horizons
        ):
            raise ValueError(f"horizons must be a tuple of integers >= 1, got {self.horizons!r}")
        if self.horizons and self.n_paths < 2:
            raise ValueError("horizons need n_paths >= 2 (half selects, half estimates)")


@dataclass(frozen=True)
class ProbabilisticRegret:
    value: float  # the confidence quantile of f(x_hat) - min f, metric units
    expected: float  # mean regret over the paths
    x_hat: int  # index of x_hat among the observed points
    n_candidates: int
    n_paths: int
    #: other quantiles of the same paths, so a replay can read any confidence level off one check
    quantiles: tuple[tuple[float, float], ...] = ()
    #: (h, expected improvement of the h most promising candidates), see PathSampling.horizons
    horizons: tuple[tuple[int, float], ...] = ()


def _sample(
    mean: np.ndarray, cov: np.ndarray, n_paths: int, rng: np.random.RandomState
) -> np.ndarray:
    """Joint Gaussian samples (points x paths); a nearly singular covariance is repaired."""
    cov = (cov + cov.T) / 2.0
    scale = float(np.max(np.abs(np.diag(cov)))) if cov.size else 0.0
    z = rng.standard_normal((len(mean), n_paths))
    if scale == 0.0:
        return np.repeat(mean[:, None], n_paths, axis=1)
    for jitter in (1e-10, 1e-8, 1e-6):
        try:
            chol = np.linalg.cholesky(cov + jitter * scale * np.eye(len(cov)))
            return mean[:, None] + chol @ z
        except np.linalg.LinAlgError:
            continue
    values, vectors = np.linalg.eigh(cov)
    return mean[:, None] + (vectors * np.sqrt(np.clip(values, 0.0, None))) @ z


def horizon_improvements(
    paths: np.ndarray, horizons: tuple[int, ...]
) -> tuple[tuple[int, float], ...]:
    """``E[max(0, f(x_hat) - min over S_h of f)]`` for each ``h``, from joint paths whose
    first row is ``x_hat``. ``S_h`` are the ``h`` candidates of largest expected
    improvement, ranked on the first half of the paths and scored on the second half:
    ranking and scoring on the same paths would pick the candidates whose paths happened
    to dip, and overstate the gain (most of all at ``h = 1``, the maximum of 200 noisy
    means)."""
    if not horizons:
        return ()
    gain = np.maximum(paths[:1] - paths[1:], 0.0)  # candidates x paths
    half = paths.shape[1] // 2
    order = np.argsort(-gain[:, :half].mean(axis=1), kind="stable")
    held_out = gain[:, half:]
    return tuple((h, float(held_out[order[:h]].max(axis=0).mean())) for h in horizons)


def probabilistic_regret(
    posterior,
    observed: np.ndarray,
    sample_domain: Callable[[int, np.random.RandomState], np.ndarray],
    snap: Callable[[np.ndarray], np.ndarray],
    search: DomainSearch,
    sampling: PathSampling,
    rng: np.random.RandomState,
) -> ProbabilisticRegret:
    """The ``confidence`` quantile of ``f(x_hat) - min f`` under the posterior's joint paths.

    Candidates: the observed points, ``search.n_candidates`` random valid
    configs and the end of a local search for the lowest LCB; the ``n_joint``
    of lowest LCB enter the joint sample with ``x_hat``.
    A posterior that returns NaN/inf raises :class:`~syne_autoterm.regret.PosteriorError`.
    """
    if len(observed) == 0:
        raise ValueError("need at least one observed point")
    if not hasattr(posterior, "joint"):
        raise PosteriorError(f"{type(posterior).__name__} has no joint posterior")
    pool = observed
    if search.n_candidates > 0:
        pool = np.vstack([observed, sample_domain(search.n_candidates, rng)])
    # one prediction for the observed points and the random candidates: the observed
    # rows come first (x_hat is read off them), which spares a second solve against the
    # training points (a quarter of the candidate work at 1000 trials)
    mean, std = checked_predict(posterior, pool)
    x_hat = int(np.argmin(mean[: len(observed)]))
    local = DomainSearch(
        n_candidates=0,
        n_starts=search.n_starts,
        n_rounds=search.n_rounds,
        n_samples=search.n_samples,
        radius=search.radius,
    )
    starts = pool[np.argsort(mean - SCREEN_SQRT_BETA * std)[: max(1, search.n_starts)]]
    _, best_x, _ = minimize_lcb(
        posterior, SCREEN_SQRT_BETA, starts, sample_domain, snap, local, rng
    )
    extra = np.atleast_2d(best_x)
    extra_mean, extra_std = checked_predict(posterior, extra)
    pool = np.vstack([pool, extra])
    lcb = np.concatenate([mean, extra_mean]) - SCREEN_SQRT_BETA * np.concatenate([std, extra_std])
    chosen = np.argsort(lcb)[: sampling.n_joint]
    points = np.vstack([observed[x_hat : x_hat + 1], pool[chosen]])
    joint_mean, joint_cov = posterior.joint(points)
    joint_mean = np.asarray(joint_mean, dtype=float).reshape(-1)
    joint_cov = np.asarray(joint_cov, dtype=float)
    if not (np.all(np.isfinite(joint_mean)) and np.all(np.isfinite(joint_cov))):
        raise PosteriorError("joint posterior mean or covariance is NaN or infinite")
    paths = _sample(joint_mean, joint_cov, sampling.n_paths, rng)
    regret = paths[0] - paths.min(axis=0)  # >= 0: x_hat is among the points
    value = float(np.quantile(regret, sampling.confidence))
    if not math.isfinite(value):
        raise PosteriorError("the probabilistic regret bound is not finite")
    levels = REPORTED_QUANTILES
    quantiles = tuple(zip(levels, (float(q) for q in np.quantile(regret, levels))))
    return ProbabilisticRegret(
        value=value,
        expected=float(regret.mean()),
        x_hat=x_hat,
        n_candidates=len(points) - 1,
        n_paths=sampling.n_paths,
        quantiles=quantiles,
        horizons=horizon_improvements(paths, sampling.horizons),
    )
