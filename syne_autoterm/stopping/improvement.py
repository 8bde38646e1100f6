"""EI and PI as stopping rules (Nguyen et al. 2017): stop when little improvement is left.

Why these share a module: both are the same rule over a different acquisition
(:func:`expected_improvement` or :func:`probability_of_improvement`), using the
logged value when the evidence has one and otherwise a GP fitted by the same
posterior machinery as :class:`~syne_autoterm.stopping.autoterm.AutoTermination`,
so that a comparison differs in the rule and not in the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..evidence import Evidence
from ..posterior import POSTERIORS, cached_fitter, encoder_for, standardize, uses_botorch
from ..regret import DomainSearch, minimize_lcb
from .arguments import MAX_SEED, check_float, check_int
from .base import BaselineRule, Decision

__all__ = [
    "ExpectedImprovementRule",
    "ProbabilityOfImprovementRule",
    "expected_improvement",
    "probability_of_improvement",
]


def _std_normal_pdf_cdf(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import norm

    return norm.pdf(z), norm.cdf(z)


def expected_improvement(mean, std, best, jitter=0.01) -> np.ndarray:
    """EI for minimisation: ``(best - mean - jitter) Phi(z) + std phi(z)``."""
    mean, std = np.asarray(mean, float), np.maximum(np.asarray(std, float), 1e-12)
    gain = best - mean - jitter
    z = gain / std
    pdf, cdf = _std_normal_pdf_cdf(z)
    return np.maximum(gain * cdf + std * pdf, 0.0)


def probability_of_improvement(mean, std, best, jitter=0.01) -> np.ndarray:
    """PI for minimisation: ``Phi((best - mean - jitter) / std)``."""
    mean, std = np.asarray(mean, float), np.maximum(np.asarray(std, float), 1e-12)
    return _std_normal_pdf_cdf((best - mean - jitter) / std)[1]


class _NegatedAcquisition:
    """An acquisition seen as a posterior with zero std, so ``regret.minimize_lcb``
    (random candidates + local refinement over valid configs) maximises it."""

    def __init__(
        self, posterior, acquisition, y_mean: float, y_std: float, best: float, jitter: float
    ):
        self._posterior, self._acq = posterior, acquisition
        self._y_mean, self._y_std, self._best, self._jitter = y_mean, y_std, best, jitter

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self._posterior.predict(features)
        acq = self._acq(
            (mean - self._y_mean) / self._y_std, std / self._y_std, self._best, self._jitter
        )
        return -acq, np.zeros_like(acq)


class _ImprovementRule(BaselineRule):
    """Stop when the improvement acquisition left is below ``threshold`` (Nguyen et al. 2017).

    With logged values in the evidence (extra ``ei``/``pi`` at the last
    completed trial: the value of the point the BO suggested next, as the
    authors logged it) those are used. Otherwise the rule fits a GP to all
    completed trials (the same posterior machinery as :class:`AutoTermination`:
    the BOTorch searcher's model class and encoding when there is one, a
    scikit-learn GP otherwise) and maximises the acquisition over the domain
    with :func:`syne_autoterm.regret.minimize_lcb`'s search. The acquisition is
    computed on the standardised objective (mean 0, std 1 over the completed
    trials), so ``threshold`` and ``jitter`` are in units of the metric's spread.
    """

    extra_name = "ei"
    acquisition = staticmethod(expected_improvement)
    _transient: ClassVar[dict[str, Any]] = {"_fitters": dict}

    def __init__(
        self,
        threshold: float,
        metric: str | None = None,
        mode: str = "min",
        jitter: float = 0.01,
        use_logged: bool | None = None,
        scheduler: Any = None,
        config_space: Mapping[str, Any] | None = None,
        posterior: str = "auto",
        domain_search: DomainSearch | None = None,
        seed: int = 0,
        warm_up: int = 20,
        **kwargs: Any,
    ):
        threshold = check_float("threshold", threshold, positive=True)
        if posterior not in POSTERIORS:
            raise ValueError(f"posterior must be 'auto', 'botorch' or 'sklearn', got {posterior!r}")
        super().__init__(
            metric, mode, None, warm_up, scheduler=scheduler, config_space=config_space, **kwargs
        )
        self.threshold = float(threshold)
        self.jitter = float(jitter)
        self.use_logged = use_logged
        self.posterior = posterior
        self.domain_search = domain_search if domain_search is not None else DomainSearch()
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        self._fitters: dict[str, Any] = {}

    # the same choices as AutoTermination, made by the same functions
    def _encoder(self, evidence: Evidence):
        encoder, guessed = encoder_for(self.scheduler, self.config_space, evidence.configs)
        if guessed:
            self.log_problem(
                "no-config-space", f"{self.name}: no config space; domain guessed from the data"
            )
        return encoder

    def _fitter(self):
        return cached_fitter(
            self._fitters, uses_botorch(self.posterior, self.scheduler), self.scheduler, self.seed
        )

    def _logged(self, evidence: Evidence) -> float | None:
        if self.use_logged is False or self.extra_name not in evidence.extras:
            if self.use_logged:
                raise ValueError(
                    f"use_logged=True but the evidence has no '{self.extra_name}' extra"
                )
            return None
        return float(evidence.extras[self.extra_name][-1])

    def computed_value(self, evidence: Evidence) -> float:
        """Max of the acquisition over the domain, from a GP on the completed trials."""
        obj = evidence.objective
        usable = np.flatnonzero(np.isfinite(obj))
        encoder = self._encoder(evidence)
        features = encoder.encode([evidence.configs[i] for i in usable])
        posterior = self._fitter().fit(features, obj[usable])
        y, y_mean, y_std = standardize(obj[usable])
        negated = _NegatedAcquisition(
            posterior, self.acquisition, y_mean, y_std, float(y.min()), self.jitter
        )
        best, _, _ = minimize_lcb(
            negated,
            0.0,
            features,
            encoder.random,
            encoder.snap,
            self.domain_search,
            np.random.RandomState((self.seed + len(evidence)) % (MAX_SEED + 1)),
        )
        return -float(best)

    def decide(self, evidence: Evidence) -> Decision:
        n_usable = self._usable(evidence)
        if n_usable < self.warm_up:
            return Decision(False, f"warm-up: {n_usable} of {self.warm_up} usable completed trials")
        value = self._logged(evidence)
        source = "logged"
        if value is None:
            value, source = self.computed_value(evidence), "computed"
        label = self.extra_name.upper()
        details = {self.extra_name: value, "source": source, "threshold": self.threshold}
        if not math.isfinite(value):
            return Decision(False, f"{label} not finite: continue", details)
        if value < self.threshold:
            return Decision(
                True, f"stopped: {source} {label} {value:.3g} < {self.threshold:g}", details
            )
        return Decision(
            False, f"continue: {source} {label} {value:.3g} >= {self.threshold:g}", details
        )


class ExpectedImprovementRule(_ImprovementRule):
    __doc__ = _ImprovementRule.__doc__
    name = "ei"
    extra_name = "ei"
    acquisition = staticmethod(expected_improvement)


class ProbabilityOfImprovementRule(_ImprovementRule):
    __doc__ = _ImprovementRule.__doc__
    name = "pi"
    extra_name = "pi"
    acquisition = staticmethod(probability_of_improvement)
