"""Baseline stopping rules, behind the same interface as :class:`AutoTermination`.

Each rule is a :class:`~syne_autoterm.stopping.base.StoppingRule`: a function of the
completed trials so far (:class:`~syne_autoterm.evidence.Evidence`). The same
object is a Syne Tune ``stop_criterion`` online and is replayed offline by the
benchmarks (``rule.check(evidence.head(n))`` for growing ``n``); no benchmark
re-implements a rule.

- :class:`Convergence` (``Conv_k`` of Makarova et al.): ``k`` trials without
  improvement of the incumbent, counted from the warm-up.
- :class:`ExpectedImprovementRule`, :class:`ProbabilityOfImprovementRule`
  (Nguyen et al. 2017): stop when the best EI / PI left is below a threshold.
- :class:`Plateau`: Syne Tune's ``PlateauStopper`` as a function of the
  completed trials.
- :class:`AuthorsRule`: the authors' published evaluation (their logged bound
  and their threshold frozen at the warm-up), for replaying their runs only.

Rules that need no metric name offline take ``metric=None``; they must be given
the tuned metric's name to run inside a Tuner.
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
from .base import BaselineRule, Decision, trials_without_improvement

__all__ = [
    "AuthorsRule",
    "Convergence",
    "ExpectedImprovementRule",
    "Plateau",
    "ProbabilityOfImprovementRule",
]


class Convergence(BaselineRule):
    """``Conv_k``: stop after ``k`` completed trials without improving the incumbent.

    Counting follows the authors' ``get_stop_info_conv``: the first check (at
    ``warm_up`` trials) counts as an improvement, every later check without a
    strictly better incumbent adds one, and the rule fires when the count
    reaches ``k``. As a function of the evidence: stop iff
    ``n - max(warm_up, n_best) >= k``, with ``n_best`` the number of trials
    completed when the current incumbent arrived (ties do not improve).
    """

    name = "conv"

    def __init__(
        self,
        k: int = 30,
        metric: str | None = None,
        mode: str = "min",
        warm_up: int = 20,
        **kwargs: Any,
    ):
        k = check_int("k", k, 1)
        super().__init__(metric, mode, None, warm_up, **kwargs)
        self.k = int(k)

    def decide(self, evidence: Evidence) -> Decision:
        n = len(evidence)
        if n < self.warm_up:
            return Decision(False, f"warm-up: {n} of {self.warm_up} completed trials")
        inc = evidence.incumbent_index()
        if inc is None:
            return Decision(False, "no finite metric value yet")
        since = trials_without_improvement(n, inc, self.warm_up)
        details = {
            "incumbent_trial_id": evidence.trial_ids[inc],
            "trials_without_improvement": since,
        }
        if since >= self.k:
            return Decision(
                True, f"stopped: {since} trials without improvement (k={self.k})", details
            )
        return Decision(False, f"continue: {since} of {self.k} trials without improvement", details)


class Plateau(BaselineRule):
    """Syne Tune's ``PlateauStopper(metric, std, num_trials, mode, patience)`` on completed trials.

    The running best over the last ``num_trials`` completed trials has a
    (population) standard deviation ``<= std``: a plateau. Syne Tune counts
    consecutive *calls* on a plateau and stops when the count reaches
    ``patience``; here a call is a check with one more completed trial, so the
    count is the number of consecutive prefixes ``m = n, n-1, ... >= warm_up``
    of the evidence that are plateaus (``patience`` 0 and 1 both stop at the
    first plateau, as in Syne Tune).
    """

    name = "plateau"

    def __init__(
        self,
        std: float = 0.001,
        num_trials: int = 10,
        patience: int = 0,
        metric: str | None = None,
        mode: str = "min",
        warm_up: int = 1,
        **kwargs: Any,
    ):
        std = check_float("std", std, positive=True)
        num_trials = check_int("num_trials", num_trials, 2)
        patience = check_int("patience", patience, 0)
        super().__init__(metric, mode, None, warm_up, **kwargs)
        self.std = float(std)
        self.num_trials = int(num_trials)
        self.patience = int(patience)

    def _plateaued(self, running_best: np.ndarray) -> bool:
        last = running_best[-self.num_trials :]
        return len(last) == self.num_trials and float(np.std(last)) <= self.std

    def decide(self, evidence: Evidence) -> Decision:
        n = len(evidence)
        if n < self.warm_up:
            return Decision(False, f"warm-up: {n} of {self.warm_up} completed trials")
        obj = evidence.objective
        # trials without a finite metric are skipped, as Syne Tune skips rows without it
        positions = np.flatnonzero(np.isfinite(obj))
        best = np.minimum.accumulate(obj[positions]) if positions.size else obj[:0]
        count = 0
        m = n
        while m >= self.warm_up:
            k = int(np.searchsorted(positions, m))  # finite trials among the first m
            if not self._plateaued(best[:k]):
                break
            count += 1
            m -= 1
        last = best[-self.num_trials :]
        details = {
            "plateau_std": float(np.std(last)) if len(last) == self.num_trials else None,
            "plateau_checks": count,
        }
        if count >= 1 and count >= self.patience:
            return Decision(
                True,
                f"stopped: best value over the last {self.num_trials} trials has std "
                f"{details['plateau_std']:.3g} <= {self.std:g} for {count} check(s)",
                details,
            )
        return Decision(
            False,
            "continue: no plateau"
            if count == 0
            else f"continue: plateau for {count} of {self.patience} checks",
            details,
        )


class AuthorsRule(BaselineRule):
    """The authors' published evaluation of their rule, for replaying their runs.

    Uses the evidence's logged extras ``paper_regret_bound`` (their bound after
    ``n`` trials, at the last row) and ``paper_incumbent_std`` (their
    ``sqrt(1/k + 1/(k-1)) * std(folds)`` with ``np.std``), and their threshold
    ``incumbent_std / 0.21 * decay`` frozen at the first check (``warm_up``
    trials) -- the flaw of their evaluation code, kept on purpose. Only
    meaningful in replay: online evidence carries no logged bound.
    """

    name = "authors"
    BOUND = "paper_regret_bound"
    STD = "paper_incumbent_std"

    def __init__(
        self,
        decay: float = 0.21,
        metric: str | None = None,
        mode: str = "min",
        warm_up: int = 20,
        **kwargs: Any,
    ):
        if not (decay > 0 and math.isfinite(decay)):
            raise ValueError(f"decay must be a finite number > 0, got {decay!r}")
        super().__init__(metric, mode, None, warm_up, **kwargs)
        self.decay = float(decay)

    def decide(self, evidence: Evidence) -> Decision:
        n = len(evidence)
        if n < self.warm_up:
            return Decision(False, f"warm-up: {n} of {self.warm_up} completed trials")
        missing = [k for k in (self.BOUND, self.STD) if k not in evidence.extras]
        if missing:
            return Decision(False, f"no logged {', '.join(missing)}: the authors' rule cannot run")
        frozen_std = float(evidence.extras[self.STD][self.warm_up - 1])
        threshold = frozen_std / 0.21 * self.decay
        bound = float(evidence.extras[self.BOUND][n - 1])
        details = {"regret_bound": bound, "threshold": threshold}
        if not (math.isfinite(bound) and math.isfinite(threshold)):
            return Decision(False, "logged bound or std not finite: continue", details)
        if bound < threshold:
            return Decision(
                True,
                f"stopped: logged bound {bound:.4g} < frozen threshold {threshold:.4g}",
                details,
            )
        return Decision(
            False,
            f"continue: logged bound {bound:.4g} >= frozen threshold {threshold:.4g}",
            details,
        )


# ------------------------------------------------------------------ EI / PI
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
