"""Statistical error of a validation estimate: how far it may sit from the true error.

The criterion stops when the remaining possible gain is below this error, so
an error estimate that is too small only delays the stop, and one that is too
large stops early: the estimators here say which way they lean.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np


class EvidenceError(ValueError):
    """The scores cannot support an error estimate (too few, not finite)."""


def nadeau_bengio_variance(
    fold_scores: np.ndarray, test_train_ratio: float | None = None, ddof: int = 1
) -> float:
    """Corrected variance ``(1/k + n_test/n_train) * S^2`` of a k-fold CV mean.

    Nadeau & Bengio (2003): the folds share training data, so the plain ``S^2/k``
    underestimates the variance; the ``n_test/n_train`` term corrects for that.
    For k-fold CV ``n_test/n_train = 1/(k-1)``, the default. ``ddof=1`` is the
    textbook sample variance; the paper's and Optuna's code use ``ddof=0``
    (an error about 5% smaller at k = 10).
    """
    scores = np.asarray(fold_scores, dtype=float).ravel()
    k = scores.size
    if k < 2:
        raise EvidenceError(f"need at least 2 fold scores, got {k}")
    if not np.all(np.isfinite(scores)):
        raise EvidenceError("fold scores contain NaN or inf")
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 or 1, got {ddof}")
    ratio = 1.0 / (k - 1) if test_train_ratio is None else float(test_train_ratio)
    if not (ratio >= 0 and math.isfinite(ratio)):
        raise ValueError(f"test_train_ratio must be a finite number >= 0, got {ratio}")
    with np.errstate(over="ignore", invalid="ignore"):
        variance = (1.0 / k + ratio) * float(np.var(scores, ddof=ddof))
    if not math.isfinite(variance):
        raise EvidenceError("fold scores too large: their variance overflows")
    return variance


def nadeau_bengio_error(
    fold_scores: np.ndarray, test_train_ratio: float | None = None, ddof: int = 1
) -> float:
    """Standard deviation form of :func:`nadeau_bengio_variance`."""
    return math.sqrt(nadeau_bengio_variance(fold_scores, test_train_ratio, ddof))


def bootstrap_error(example_losses: np.ndarray, n_resamples: int = 1000, seed: int = 0) -> float:
    """Bootstrap standard error of a mean validation loss over held-out examples.

    For tuning without cross-validation: a trial reports its per-example
    losses and the error is the spread of their mean under resampling.
    """
    losses = np.asarray(example_losses, dtype=float).ravel()
    if losses.size < 2:
        raise EvidenceError(f"need at least 2 example losses, got {losses.size}")
    if not np.all(np.isfinite(losses)):
        raise EvidenceError("example losses contain NaN or inf")
    if int(n_resamples) != n_resamples or n_resamples < 2:
        raise ValueError(f"n_resamples must be an integer >= 2, got {n_resamples!r}")
    if np.ptp(losses) == 0:
        return 0.0  # every resample has the same mean
    from scipy.stats import bootstrap

    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")  # DegenerateDataWarning on near-constant losses
        res = bootstrap(
            (losses,),
            np.mean,
            n_resamples=int(n_resamples),
            method="percentile",
            random_state=np.random.default_rng(seed),
            vectorized=True,
        )
    error = float(res.standard_error)
    if not math.isfinite(error):
        raise EvidenceError("example losses too large: the bootstrap error overflows")
    return error


def mean_standard_error(example_losses: np.ndarray) -> float:
    """``std(losses, ddof=1) / sqrt(n)``: the closed form the bootstrap error converges to."""
    losses = np.asarray(example_losses, dtype=float).ravel()
    if losses.size < 2:
        raise EvidenceError(f"need at least 2 example losses, got {losses.size}")
    if not np.all(np.isfinite(losses)):
        raise EvidenceError("example losses contain NaN or inf")
    with np.errstate(over="ignore", invalid="ignore"):
        error = float(np.std(losses, ddof=1) / math.sqrt(losses.size))
    if not math.isfinite(error):
        raise EvidenceError("example losses too large: their variance overflows")
    return error


def binomial_error(accuracy: float, n_examples: int) -> float:
    """Standard error ``sqrt(p(1-p)/n)`` of an accuracy (or 0-1 error) on ``n`` examples.

    ``n_examples`` must be a whole number >= 1 (``100.0`` is fine, ``99.5``,
    NaN or a string are not); ``accuracy`` a rate in [0, 1].
    """
    try:
        p = float(accuracy)
        n = float(n_examples)
    except (TypeError, ValueError, OverflowError):
        raise EvidenceError(
            f"need a numeric rate and validation size, got {accuracy!r}, {n_examples!r}"
        ) from None
    if not (0.0 <= p <= 1.0):
        raise EvidenceError(f"accuracy/error rate must lie in [0, 1], got {p}")
    if not (math.isfinite(n) and n >= 1 and n == int(n)):
        raise EvidenceError(f"need a whole number >= 1 of validation examples, got {n_examples!r}")
    return math.sqrt(p * (1.0 - p) / int(n))


@dataclass(frozen=True)
class CVError:
    """The criterion's default error model: Nadeau-Bengio on the incumbent's folds."""

    test_train_ratio: float | None = None
    ddof: int = 1

    def __call__(self, fold_scores: np.ndarray) -> float:
        return nadeau_bengio_error(fold_scores, self.test_train_ratio, self.ddof)
