"""The statistical error of a trial's validation estimate, behind one small interface.

Why a seam: the rule compares what is left to gain with this error, and the
evidence it needs depends on how the trial was validated (k fold scores,
per-example losses, or an accuracy and the validation-set size). Each way is
one class here; :class:`~syne_autoterm.stopping.autoterm.AutoTermination`
asks the one its ``error_estimator`` names and never branches on it. The
formulas themselves live in :mod:`syne_autoterm.error`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..error import (
    CVError,
    EvidenceError,
    binomial_error,
    bootstrap_error,
    mean_standard_error,
    nadeau_bengio_variance,
)
from ..evidence import (
    Evidence,
    FoldAudit,
    audit_fold_means,
    audit_folds,
    fold_array,
    to_float_array,
)
from .settings import AutoTerminationSettings

__all__ = [
    "BinomialError",
    "BootstrapError",
    "CrossValidationError",
    "ErrorEstimator",
    "error_estimator_for",
    "trial_noise",
]


class ErrorEstimator(ABC):
    """How the statistical error of trial ``index``'s validation estimate is had."""

    #: Whether the error is read from the trial's fold scores (or per-example losses).
    uses_folds: ClassVar[bool] = True

    @abstractmethod
    def error(self, evidence: Evidence, index: int) -> float:
        """The error (a standard deviation, metric units); EvidenceError when unsupported."""

    def variance(self, evidence: Evidence, index: int) -> float:
        """The error variance used as the trial's GP noise (``gp_noise="folds"``)."""
        return self.error(evidence, index) ** 2

    def audit(self, evidence: Evidence, expected: int | None) -> FoldAudit:
        """Which trials' folds can support an error estimate (every trial reports the
        common count, ``expected`` when the fold names are given, of finite scores)."""
        return audit_folds(evidence.folds, expected=expected, min_count=2)

    def extra_metrics(self) -> list[str]:
        """Per-trial metrics besides the tuned one that the estimate reads."""
        return []


@dataclass(frozen=True)
class CrossValidationError(ErrorEstimator):
    """``"cv"``: Nadeau-Bengio corrected std of the incumbent's k fold scores."""

    cv: CVError

    def error(self, evidence: Evidence, index: int) -> float:
        return self.cv(fold_array(evidence.folds[index]))

    def variance(self, evidence: Evidence, index: int) -> float:
        scores = fold_array(evidence.folds[index])
        return nadeau_bengio_variance(scores, self.cv.test_train_ratio, self.cv.ddof)

    def audit(self, evidence: Evidence, expected: int | None) -> FoldAudit:
        """CV folds must also agree with the trial's reported metric (their mean, see
        :func:`~syne_autoterm.evidence.fold_metric_mismatch`): folds that contradict
        it are not trusted."""
        return audit_fold_means(super().audit(evidence, expected), evidence.values, evidence.folds)


@dataclass(frozen=True)
class BootstrapError(ErrorEstimator):
    """``"bootstrap"``: bootstrap standard error of the mean per-example loss.

    The losses' mean need not be the tuned metric, so it is not compared with it.
    """

    n_resamples: int
    seed: int

    def error(self, evidence: Evidence, index: int) -> float:
        scores = fold_array(evidence.folds[index])
        return bootstrap_error(scores, n_resamples=self.n_resamples, seed=self.seed)

    def variance(self, evidence: Evidence, index: int) -> float:
        """The closed form the bootstrap converges to: cheap, as GP noise of every trial."""
        return mean_standard_error(fold_array(evidence.folds[index])) ** 2


@dataclass(frozen=True)
class BinomialError(ErrorEstimator):
    """``"binomial"``: ``sqrt(p (1 - p) / n)`` of the reported rate on ``n`` examples."""

    uses_folds: ClassVar[bool] = False
    n_val_metric: str

    def error(self, evidence: Evidence, index: int) -> float:
        values = evidence.extras.get(self.n_val_metric)
        if values is None or len(values) <= index:
            raise EvidenceError(f"no '{self.n_val_metric}' (validation size) reported")
        rate = float(to_float_array(evidence.values)[index])
        return binomial_error(rate, values[index])

    def extra_metrics(self) -> list[str]:
        return [self.n_val_metric]


def error_estimator_for(settings: AutoTerminationSettings) -> ErrorEstimator:
    """The estimator that ``settings.error_estimator`` names, with its settings."""
    if settings.error_estimator == "binomial":
        return BinomialError(settings.n_val_metric)
    if settings.error_estimator == "bootstrap":
        return BootstrapError(settings.n_bootstrap, settings.seed)
    return CrossValidationError(CVError(settings.test_train_ratio, settings.ddof))


def trial_noise(
    estimator: ErrorEstimator, evidence: Evidence, usable: np.ndarray, audit: FoldAudit | None
) -> np.ndarray:
    """Per-trial error variances; trials without a usable estimate get the median."""
    noise = np.full(len(evidence), np.nan)
    for i in np.flatnonzero(usable).tolist():
        if audit is not None and not audit.usable(i):
            continue
        try:
            noise[i] = estimator.variance(evidence, i)
        except (EvidenceError, ValueError, TypeError, IndexError):
            pass
    known = noise[usable & np.isfinite(noise)]
    fill = float(np.median(known)) if known.size else 0.0
    return np.where(np.isfinite(noise), noise, fill)
