"""AutoTermination: stop when what is left to gain is below the validation noise."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .error import CVError, EvidenceError, nadeau_bengio_variance
from .evidence import Evidence
from .posterior import BoTorchGP, ConfigEncoder, InferredEncoder, SklearnGP, is_botorch_searcher
from .regret import DomainSearch, beta_schedule, regret_bound, top_n_mask
from .rule import Decision, StoppingRule

POSTERIORS = ("auto", "botorch", "sklearn")
GP_NOISE = ("learned", "folds")

# The authors' ``decay`` is a multiple of the 0.21 variance factor of 10-fold CV
# (sqrt(1/10 + 1/9) = 0.459...): threshold = incumbent_std / 0.21 * decay.
PAPER_VARIANCE_FACTOR = 0.21


def error_scale_from_decay(decay: float) -> float:
    """``error_scale`` equivalent of the paper's ``Ours_<decay>`` (0.21 -> 1.0)."""
    return decay / PAPER_VARIANCE_FACTOR


class AutoTermination(StoppingRule):
    """Makarova et al. (AutoML Conf 2022): stop when ``regret bound < statistical error``.

    Pass it as ``Tuner(..., stop_criterion=AutoTermination(metric, mode,
    fold_metrics, scheduler=scheduler))``. At every check (only when the set of
    completed trials changed, only completed trials) it:

    1. fits a GP to the best ``max(top_min, int(top_ratio * t))`` of the ``t``
       completed trials - the BO searcher's own model class and encoding when
       the scheduler is Syne Tune's BOTorch, otherwise a scikit-learn GP;
    2. bounds the regret by ``min_{top} ucb - min_{domain} lcb`` with
       ``beta_t = beta_scale * 2 log(d t^2 pi^2 / (6 delta))``;
    3. takes the statistical error of the current incumbent from its fold
       scores (Nadeau-Bengio corrected), recomputed at every check;
    4. stops, after ``warm_up`` completed trials, iff the bound is below
       ``error_scale * error`` (or below ``threshold`` when one is given).

    :param error_scale: multiplies the statistical error; the paper's
        ``Ours_<decay>`` is ``error_scale = decay / 0.21`` (see
        :func:`error_scale_from_decay`): 1.0 is the plain Nadeau-Bengio error,
        larger values stop earlier at more risk.
    :param threshold: fixed threshold on the bound instead of the CV error
        (the paper's non-CV experiments); fold scores are then not needed.
    :param test_train_ratio: ``n_test/n_train`` of the CV scheme; None means
        k-fold, ``1/(k-1)``.
    :param ddof: 1 for the sample variance of the folds (default), 0 as in the
        authors' and Optuna's code.
    :param delta, beta_scale: confidence level and practical scale of beta.
    :param top_ratio, top_min: which observations the GP is fitted on.
    :param domain_search: how the LCB minimum over the domain is searched.
    :param posterior: "auto" (searcher's BoTorch model when there is one,
        scikit-learn GP otherwise), "botorch" or "sklearn".
    :param gp_noise: "learned" (homoscedastic noise fitted by the GP, as in the
        paper) or "folds" (each trial's Nadeau-Bengio variance as known
        observation noise: the GP then models the generalisation error that the
        fold scores estimate).
    :param seed: the random domain candidates of a check with ``n`` trials use
        ``seed + n``, so replaying a trajectory gives the same decisions.
    """

    name = "autoterm"

    def __init__(
        self,
        metric: str,
        mode: str = "min",
        fold_metrics: str | Sequence[str] | None = "cv_fold_",
        scheduler: Any = None,
        config_space: Mapping[str, Any] | None = None,
        warm_up: int = 20,
        error_scale: float = 1.0,
        threshold: float | None = None,
        test_train_ratio: float | None = None,
        ddof: int = 1,
        delta: float = 0.1,
        beta_scale: float = 0.2,
        top_ratio: float = 0.5,
        top_min: int = 20,
        domain_search: DomainSearch | None = None,
        posterior: str = "auto",
        gp_noise: str = "learned",
        seed: int = 0,
        trace_path: str | Path | None = None,
        resource_attr: str | None = None,
        max_resource: float | None = None,
    ):
        if threshold is None and fold_metrics is None:
            raise ValueError("give fold_metrics (CV fold scores) or a fixed threshold")
        super().__init__(
            metric, mode, fold_metrics, scheduler, config_space, warm_up, trace_path,
            resource_attr, max_resource,
        )
        if not (error_scale > 0 and math.isfinite(error_scale)):
            raise ValueError(f"error_scale must be a finite number > 0, got {error_scale!r}")
        if threshold is not None and not (threshold > 0 and math.isfinite(threshold)):
            raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
        if not (0.0 < top_ratio <= 1.0):
            raise ValueError(f"top_ratio must lie in (0, 1], got {top_ratio!r}")
        if int(top_min) != top_min or top_min < 2:
            raise ValueError(f"top_min must be an integer >= 2, got {top_min!r}")
        if posterior not in POSTERIORS:
            raise ValueError(f"posterior must be one of {POSTERIORS}, got {posterior!r}")
        if gp_noise not in GP_NOISE:
            raise ValueError(f"gp_noise must be one of {GP_NOISE}, got {gp_noise!r}")
        if gp_noise == "folds" and fold_metrics is None:
            raise ValueError("gp_noise='folds' needs fold_metrics")
        self.cv_error = CVError(test_train_ratio, ddof)
        self.cv_error(np.array([0.0, 1.0]))  # validates ddof / ratio now, not mid-tuning
        beta_schedule(1, 1, delta, beta_scale)  # validates delta / beta_scale
        self.error_scale = float(error_scale)
        self.threshold = None if threshold is None else float(threshold)
        self.delta = float(delta)
        self.beta_scale = float(beta_scale)
        self.top_ratio = float(top_ratio)
        self.top_min = int(top_min)
        self.domain_search = domain_search if domain_search is not None else DomainSearch()
        self.posterior = posterior
        self.gp_noise = gp_noise
        self.seed = int(seed)
        self._fitters: dict[str, Any] = {}

    # ------------------------------------------------------------ plumbing
    def _searcher(self) -> Any:
        return getattr(self.scheduler, "searcher", None) if self.scheduler is not None else None

    def _use_botorch(self) -> bool:
        if self.posterior == "botorch":
            return True
        if self.posterior == "sklearn":
            return False
        searcher = self._searcher()
        return searcher is not None and is_botorch_searcher(searcher)

    def _encoder(self, evidence: Evidence):
        searcher = self._searcher()
        if searcher is not None and getattr(searcher, "_hp_ranges", None) is not None:
            return ConfigEncoder(hp_ranges=searcher._hp_ranges)  # the searcher's own encoding
        space = self.config_space
        if space is None and self.scheduler is not None:
            space = getattr(self.scheduler, "config_space", None)
        if space is not None:
            return ConfigEncoder(config_space=space)
        self.log_problem(
            "no-config-space",
            "AutoTermination has no scheduler or config_space: the domain is guessed from the "
            "observed configs (pass scheduler= or config_space= for the real domain)",
        )
        return InferredEncoder(evidence.configs)

    def _fitter(self):
        if self._use_botorch():
            searcher = self._searcher()
            warping = bool(getattr(searcher, "input_warping", False)) if searcher else False
            key = f"botorch-{warping}"
            if key not in self._fitters:
                self._fitters[key] = BoTorchGP(input_warping=warping, seed=self.seed)
        else:
            key = "sklearn"
            if key not in self._fitters:
                self._fitters[key] = SklearnGP(seed=self.seed)
        return self._fitters[key]

    def _fold_noise(self, evidence: Evidence, usable: np.ndarray) -> np.ndarray:
        """Per-trial Nadeau-Bengio variance; trials without valid folds get the median."""
        noise = np.full(len(evidence), np.nan)
        for i in np.flatnonzero(usable):
            try:
                noise[i] = nadeau_bengio_variance(
                    evidence.folds[i], self.cv_error.test_train_ratio, self.cv_error.ddof
                )
            except EvidenceError:
                pass
        known = noise[usable & np.isfinite(noise)]
        fill = float(np.median(known)) if known.size else 0.0
        return np.where(np.isfinite(noise), noise, fill)

    # ------------------------------------------------------------ the rule
    def statistical_error(self, evidence: Evidence, index: int) -> float:
        """Error of trial ``index``'s validation estimate, before ``error_scale``."""
        return self.cv_error(evidence.folds[index])

    def decide(self, evidence: Evidence) -> Decision:
        n = len(evidence)
        objective = evidence.objective
        usable = np.isfinite(objective)
        n_usable = int(usable.sum())
        if n_usable < n:
            self.log_problem(
                "nonfinite-metric",
                f"{n - n_usable} completed trial(s) reported a non-finite or missing "
                f"'{self.metric}': left out of the GP and the incumbent",
            )
        if n_usable < self.warm_up:
            return Decision(False, f"warm-up: {n_usable} of {self.warm_up} usable completed trials")
        inc = evidence.incumbent_index()
        details: dict[str, Any] = {
            "incumbent_trial_id": evidence.trial_ids[inc],
            "incumbent_value": float(evidence.values[inc]),
        }
        if self.threshold is not None:
            stat_error = None
            limit = self.threshold
        else:
            try:
                stat_error = self.statistical_error(evidence, inc)
            except EvidenceError as exc:
                self.log_problem(
                    "incumbent-folds",
                    f"incumbent trial {evidence.trial_ids[inc]} has unusable fold scores "
                    f"({exc}): not stopping until its error can be estimated",
                )
                return Decision(False, f"no statistical error for the incumbent ({exc})", details)
            limit = self.error_scale * stat_error
        details["stat_error"] = stat_error
        details["threshold"] = limit

        idx = np.flatnonzero(usable)
        top = idx[top_n_mask(objective[idx], self.top_ratio, self.top_min)]
        encoder = self._encoder(evidence)
        features = encoder.encode([evidence.configs[i] for i in top])
        noise = None
        if self.gp_noise == "folds":
            noise = self._fold_noise(evidence, usable)[top]
        fitter = self._fitter()
        posterior = fitter.fit(features, objective[top], noise)
        beta = beta_schedule(encoder.n_hyperparameters, len(top), self.delta, self.beta_scale)
        bound = regret_bound(
            posterior, features, beta, encoder.random, encoder.snap, self.domain_search,
            np.random.RandomState(self.seed + n),
        )
        details.update(
            regret_bound=bound.value,
            beta=beta,
            n_fit=len(top),
            min_ucb_observed=bound.min_ucb_observed,
            min_lcb_domain=bound.min_lcb_domain,
            posterior=fitter.name,
        )
        if not math.isfinite(bound.value):
            return Decision(False, "regret bound is not finite: continue", details)
        what = "the fixed threshold" if self.threshold is not None else "statistical error"
        if bound.value < limit:
            reason = (
                f"stopped after {n} trials: remaining improvement bound {bound.value:.4g} < "
                f"{what} {limit:.4g}"
                + ("" if self.threshold is not None else " of the incumbent")
            )
            return Decision(True, reason, details)
        reason = f"continue: remaining improvement bound {bound.value:.4g} >= {what} {limit:.4g}"
        return Decision(False, reason, details)
