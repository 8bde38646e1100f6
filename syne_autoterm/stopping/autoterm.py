"""AutoTermination: stop when what is left to gain is below the validation noise.

The rule's parts, each in its own module: the settings
(:mod:`.settings`), the statistical error of a trial (:mod:`.error_estimators`),
the GP's data, fit and bound (:mod:`.autoterm_gp`, on
:mod:`syne_autoterm.posterior`, :mod:`syne_autoterm.regret` and
:mod:`syne_autoterm.probabilistic`), one check's bookkeeping (:mod:`._check`).
This module holds the method itself: :meth:`AutoTermination.decide`, one step
per helper.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..error import CVError, EvidenceError
from ..evidence import Evidence, FoldAudit
from ..posterior._types import is_constant
from ._check import Check, Continue
from .autoterm_gp import GPSteps, check_config_space
from .base import Decision, StoppingRule, trials_without_improvement
from .error_estimators import ErrorEstimator, error_estimator_for, trial_noise
from .settings import (
    DEFAULT_REFIT_GROWTH,
    RELATIVE_FLOOR,
    AutoTerminationSettings,
    error_scale_from_decay,
    relative_cap,
    stops_on_record,
    tolerance,
)

__all__ = [
    "AutoTermination",
    "AutoTerminationSettings",
    "error_scale_from_decay",
    "stops_on_record",
]

# Settings of rules pickled before an option existed (``tuner.dill`` of an older run).
_LEGACY_DEFAULTS: dict[str, Any] = {
    "error_estimator": "cv",
    "n_val_metric": "n_val",
    "n_bootstrap": 1000,
    # rules pickled before the probabilistic bound existed computed the paper's
    "bound": "ucb_lcb",
    "patience": None,
    "refit_growth": DEFAULT_REFIT_GROWTH,
    "relative_tolerance": None,
}


class AutoTermination(GPSteps, StoppingRule):
    """Stop when what further search can still gain is below the validation noise.

    The criterion of Makarova et al. (AutoML Conf 2022), ``remaining improvement
    < statistical error of the incumbent``, with a remaining improvement that is
    not the paper's worst case. Pass it as ``Tuner(..., stop_criterion=
    AutoTermination(metric, mode, fold_metrics, scheduler=scheduler))``. At every
    check (only when the set of completed trials changed, only completed trials) it:

    1. fits a GP to the best ``max(top_min, int(top_ratio * t))`` of the ``t``
       completed trials - the BO searcher's own model class and encoding when
       the scheduler is Syne Tune's BOTorch, otherwise a scikit-learn GP;
    2. estimates the remaining improvement (``bound``):

       * ``"expected"`` (default): the expected regret ``E[f(x_hat) - min f]``
         of ``x_hat``, the evaluated config of lowest posterior mean, over
         joint posterior sample paths (:mod:`syne_autoterm.probabilistic`);
       * ``"probabilistic"``: the ``confidence`` quantile of the same regret,
         a probabilistic regret bound in the spirit of Wilson (NeurIPS 2024);
       * ``"ucb_lcb"``: the paper's ``min_{top} ucb - min_{domain} lcb`` with
         ``beta_t = beta_scale * 2 log(d t^2 pi^2 / (6 delta))``;
       * ``"horizon"`` (a candidate that lost, kept to run as it was replayed):
         the expected improvement on ``x_hat`` of the ``h`` candidates most
         likely to improve on it, ``h`` the first of ``path_sampling.horizons``;

    3. takes the statistical error of the current incumbent (see
       ``error_estimator``), recomputed at every check;
    4. stops, after ``warm_up`` completed trials, iff the improvement is below
       ``error_scale * error`` (or below ``threshold`` when one is given), the
       error capped at ``relative_tolerance`` (2 %) of the incumbent's value and
       floored at a tenth of itself, or when ``patience`` completed trials in a
       row did not improve the incumbent (counted from the warm-up, as the
       paper's ``Conv_k``).

    Why this default: the paper's bound adds two worst-case marginal bounds and
    takes its minimum at the least explored corner of the domain, so in 9
    dimensions it rarely falls below the noise; the expected regret over joint
    paths does, and the patience stops the runs whose posterior never settles.
    Test error is judged relatively, and on small datasets the CV error is a
    large share of the error itself, hence the relative cap. ``patience=120``
    was chosen on the authors' 280 BO runs; ``relative_tolerance=0.02`` on those
    and the 33 suite tables (leaving datasets out), then ``error_scale=1.414``
    on the 280 runs; the frontier against every other rule family, in-sample
    and leaving datasets out (where it does not lead everywhere), is in
    ``benchmarks/results/frontier/``. ``bound="ucb_lcb", patience=None,
    relative_tolerance=None, error_scale=1.0`` gives the paper's rule.

    The settings (``error_scale``, ``threshold``, ``bound``, ``patience``,
    ``error_estimator``, ``gp_noise``, ``posterior``, ``seed``, ``refit_growth``,
    ...) are keywords of the constructor, or one
    :class:`~syne_autoterm.stopping.settings.AutoTerminationSettings` as
    ``settings=``; each is documented there and readable as an attribute
    (``rule.error_scale``). The other arguments are the base class's
    (:class:`~syne_autoterm.stopping.base.StoppingRule`).

    Robustness policies (each problem is logged once per kind, and every
    check's record lists the kinds it met under ``problems``). The rule is
    conservative: broken evidence can delay a stop, never cause one.

    * Metric NaN/inf/non-numeric/missing: the trial is left out of the GP
      and the incumbent; only usable trials count towards ``warm_up``; all
      broken -> no stop.
    * All usable metric values equal (up to floating-point noise, relative to
      their size): nothing to model -> no stop. The same holds for exactly
      the set the GP is fitted on (usable trials with an encodable config,
      and its top set): a worse trial the GP never sees, or exact ties among
      the best trials, leave nothing to model -> no stop.
    * Fold scores (``"cv"``/``"bootstrap"``): every trial must report the
      common count (the explicit ``fold_metrics`` list's length, else the
      majority count) of finite numbers, at least 2. A trial that does not
      (missing folds, extra folds, a single fold, NaN/inf/non-numeric scores)
      is excluded from the error estimate; if it is the incumbent, no stop
      while it stays the incumbent (another trial's error is not substituted:
      it could be larger, which would stop earlier than the evidence allows).
      With ``gp_noise="folds"`` such trials get the median error variance.
    * CV folds that contradict the trial's metric (their mean differs from it
      by more than 5% of their size, see
      :func:`~syne_autoterm.evidence.fold_metric_mismatch`: a wild fold,
      folds in percent and the metric a fraction) are treated like unusable
      folds above: incumbent -> no stop; other trials -> no error estimate.
    * Zero error at the incumbent (constant fold scores, accuracy 0 or 1):
      ``bound < 0`` can never hold -> no stop while it is the incumbent.
    * Binomial: rate outside [0, 1] or a size that is missing, < 1 or not a
      whole number -> no error for that trial (incumbent: no stop).
    * A config that cannot be encoded (wrong type, NaN, too large for a
      float): left out of the GP; if it is the incumbent's -> no stop.
      Without a scheduler or ``config_space`` each hyperparameter's type is
      that of the majority of its usable values, so a broken value makes only
      its own trial unencodable, never changes the other trials' encoding.
    * Duplicated configs are kept (the GP's noise model averages them).
    * GP fitting failure (exception, non-PSD or ill-conditioned kernel
      matrix, NaN/inf/negative predictions, a non-finite bound): retried
      with noise floors of 1e-4 and 1e-2 (standardised units), then with the
      scikit-learn GP when the BoTorch one failed; if all fail -> no stop.
    * Any other exception in a check -> logged, no stop (base class).
    * Scale: objectives are standardised (scale-free constant detection),
      the GP works in standardised units, the bound and the error are in
      metric units; 1e-12 and 1e12 scales give the same decisions.
    * ``mode="max"``: the metric is negated for the GP; fold spreads and
      binomial errors are direction-free.

    Multi-fidelity schedulers: see :class:`~syne_autoterm.stopping.base.StoppingRule`
    (only results at the maximum resource are evidence; ``resource_attr`` /
    ``max_resource`` default to the scheduler's ``time_attr`` / ``max_t``).
    """

    name = "autoterm"
    # a count skipped online could have been a stop: checked, so online stops where a replay does
    checks_every_count = True

    def __init__(
        self,
        metric: str,
        mode: str = "min",
        fold_metrics: str | Sequence[str] | None = "cv_fold_",
        scheduler: Any = None,
        config_space: Mapping[str, Any] | None = None,
        warm_up: int = 20,
        *,
        trace_path: str | Path | None = None,
        resource_attr: str | None = None,
        max_resource: float | None = None,
        settings: AutoTerminationSettings | None = None,
        **options: Any,
    ):
        settings = settings if settings is not None else AutoTerminationSettings()
        self.settings = replace(settings, **options) if options else settings
        needs_folds = self.settings.needs_folds
        if self.threshold is None and needs_folds and fold_metrics is None:
            raise ValueError(
                "give fold_metrics (CV fold scores or per-example losses), "
                "error_estimator='binomial' or a fixed threshold"
            )
        super().__init__(
            metric,
            mode,
            fold_metrics,
            scheduler,
            config_space,
            warm_up,
            trace_path,
            resource_attr,
            max_resource,
        )
        if needs_folds and (self.threshold is None or self.gp_noise == "folds"):
            if len(self.fold_spec.names) == 1:
                raise ValueError(
                    f"fold_metrics names one metric ({self.fold_spec.names[0]!r}): an error "
                    "estimate needs at least 2 fold scores (or per-example losses) per trial"
                )
        check_config_space(self.config_space)
        if self.gp_noise == "folds" and needs_folds and fold_metrics is None:
            raise ValueError("gp_noise='folds' needs fold_metrics")
        self._fitters: dict[str, Any] = {}

    # ------------------------------------------------------------ pickling
    def _transient_attributes(self) -> tuple[str, ...]:
        return (*super()._transient_attributes(), "_encoded_rows", "_refits")

    def __setstate__(self, state: dict) -> None:
        if "settings" not in state:  # pickled when the settings were attributes of their own
            cv = state.pop("cv_error", None) or CVError()
            known = {f.name for f in fields(AutoTerminationSettings)}
            options = {**_LEGACY_DEFAULTS, **{k: state.pop(k) for k in list(state) if k in known}}
            state["settings"] = AutoTerminationSettings(
                **options, test_train_ratio=cv.test_train_ratio, ddof=cv.ddof
            )
        super().__setstate__(state)

    # ------------------------------------------------------------ plumbing
    @property
    def error_model(self) -> ErrorEstimator:
        """The estimator of a trial's statistical error that ``error_estimator`` names."""
        return error_estimator_for(self.settings)

    @property
    def cv_error(self) -> CVError:
        """The Nadeau-Bengio error of the ``"cv"`` estimator, at this rule's settings."""
        return CVError(self.settings.test_train_ratio, self.settings.ddof)

    def _extra_metrics(self) -> list[str]:
        return self.error_model.extra_metrics()

    # ------------------------------------------------------- statistical error
    def statistical_error(self, evidence: Evidence, index: int) -> float:
        """Error of trial ``index``'s validation estimate, before ``error_scale``.

        Raises :class:`~syne_autoterm.error.EvidenceError` when the trial's
        evidence cannot support one.
        """
        return self.error_model.error(evidence, index)

    def _audit(self, evidence: Evidence) -> FoldAudit | None:
        """Which trials' folds can support an error estimate (None: the estimate reads none)."""
        model = self.error_model
        return model.audit(evidence, self.fold_spec.expected_count()) if model.uses_folds else None

    def _fold_noise(self, evidence: Evidence, usable: np.ndarray) -> np.ndarray:
        """Per-trial error variances (GP noise) with the evidence's own fold audit."""
        return trial_noise(self.error_model, evidence, usable, self._audit(evidence))

    def _incumbent_error(
        self, evidence: Evidence, inc: int, audit: FoldAudit | None, check: Check
    ) -> float:
        """The incumbent's error; :class:`Continue` when its evidence cannot support one."""
        tid = evidence.trial_ids[inc]
        if audit is not None and not audit.usable(inc):
            check.problem(
                f"incumbent-{audit.kinds[inc]}",
                f"incumbent trial {tid} {audit.problems[inc]}: excluded from the error "
                "estimate; not stopping while it is the incumbent",
            )
            why = f"incumbent trial {tid} {audit.problems[inc]}"
        else:
            try:
                error = float(self.statistical_error(evidence, inc))
            except EvidenceError as exc:
                check.problem(
                    "incumbent-error",
                    f"incumbent trial {tid}: no statistical error ({exc}); not stopping until "
                    "its error can be estimated",
                )
                raise Continue(f"no statistical error for the incumbent ({exc})") from None
            if math.isfinite(error) and error > 0:
                return error
            if error == 0.0:
                check.problem(
                    "zero-error",
                    f"incumbent trial {tid} has a statistical error of 0 (constant fold scores, "
                    "or an accuracy of 0 or 1): a bound >= 0 can never be below it; no stop "
                    "while it is the incumbent",
                )
                why = f"incumbent trial {tid} has a statistical error of 0"
            else:
                check.problem(
                    "incumbent-error", f"incumbent trial {tid}: statistical error is {error}"
                )
                why = f"statistical error is {error}"
        raise Continue(f"no statistical error for the incumbent ({why})")

    def _log_fold_problems(
        self, evidence: Evidence, audit: FoldAudit, inc: int, check: Check
    ) -> None:
        for i, kind in enumerate(audit.kinds):
            if kind is not None and i != inc:
                check.problem(
                    kind,
                    f"trial {evidence.trial_ids[i]} {audit.problems[i]}: excluded from the "
                    "error estimate",
                )

    def stops_on(self, record: Mapping[str, Any], error_scale: float | None = None) -> bool:
        """Whether this rule, at ``error_scale`` (default its own), stops on ``record``'s check."""
        scale = self.error_scale if error_scale is None else error_scale
        return stops_on_record(
            record, scale, self.patience, self.threshold, self.relative_tolerance
        )

    # ------------------------------------------------------------ the rule
    def decide(self, evidence: Evidence) -> Decision:
        """The method: usable trials, the incumbent and its error, the GP, the bound, the verdict.

        Each step that finds the evidence cannot support a stop says why
        (:class:`Continue`); the check then continues the tuning with that reason.
        """
        check = Check(self.log_problem)
        try:
            finite = self._usable_metric(evidence, check)
            inc = self._incumbent(evidence, finite, check)
            stat_error, limit, audit = self._error_limit(evidence, inc, check)
            data = self._gp_data(evidence, inc, finite, audit, check)
            bound, fitter, jitter = self._fit_bound(evidence, data, check)
        except Continue as why:
            return check.result(False, str(why))
        return self._verdict(evidence, inc, bound, fitter, jitter, stat_error, limit, check)

    def _usable_metric(self, evidence: Evidence, check: Check) -> np.ndarray:
        """Which trials reported a usable metric; past the warm-up, with something to model."""
        n, objective = len(evidence), evidence.objective
        finite = np.isfinite(objective)
        n_finite = int(finite.sum())
        if n_finite < n:
            bad = [evidence.trial_ids[i] for i in np.flatnonzero(~finite)]
            check.problem(
                "nonfinite-metric",
                f"{n - n_finite} completed trial(s) (e.g. trial {bad[0]}) reported a non-finite, "
                f"non-numeric or missing '{self.metric}': left out of the GP and the incumbent",
            )
        if n_finite < self.warm_up:
            raise Continue(f"warm-up: {n_finite} of {self.warm_up} usable completed trials")
        if is_constant(objective[finite]):
            check.problem(
                "constant-metric",
                f"all {n_finite} usable trials reported the same '{self.metric}' "
                f"({float(objective[finite][0]) * evidence.sign:.6g}): nothing to model, not "
                "stopping until the metric varies",
            )
            raise Continue(f"all usable '{self.metric}' values are equal: continue")
        return finite

    def _incumbent(self, evidence: Evidence, finite: np.ndarray, check: Check) -> int:
        """Position of the best usable trial, recorded with its id and value."""
        objective = evidence.objective
        inc = int(np.flatnonzero(finite)[np.argmin(objective[finite])])
        check.details.update(
            incumbent_trial_id=evidence.trial_ids[inc],
            incumbent_value=float(evidence.sign * objective[inc]),
        )
        return inc

    def _error_limit(
        self, evidence: Evidence, inc: int, check: Check
    ) -> tuple[float | None, float, FoldAudit | None]:
        """``(stat_error, limit, audit)``: the incumbent's error and what the bound must beat."""
        audit = None
        if self.threshold is None or self.gp_noise == "folds":
            audit = self._audit(evidence)
            if audit is not None:
                self._log_fold_problems(evidence, audit, inc, check)
        if self.threshold is not None:
            stat_error, limit = None, self.threshold
        else:
            stat_error = self._incumbent_error(evidence, inc, audit, check)
            incumbent_value = check.details.get("incumbent_value")
            tolerated, source = tolerance(stat_error, incumbent_value, self.relative_tolerance)
            if self.relative_tolerance is not None:
                check.details["relative_cap"] = relative_cap(
                    incumbent_value, self.relative_tolerance
                )
                check.details["tolerance"] = source
            limit = self.error_scale * tolerated
            if not math.isfinite(limit):
                check.problem("error-overflow", f"error_scale * error = {limit}: not stopping")
                raise Continue("statistical error threshold is not finite")
        check.details.update(stat_error=stat_error, threshold=limit)
        return stat_error, limit, audit

    def _limit_words(
        self, limit: float, stat_error: float | None, details: Mapping[str, Any]
    ) -> str:
        """What the bound was compared with, in the words of the settings."""
        if stat_error is None:
            return f"the fixed threshold {limit:.4g}"
        scale = f"{self.error_scale:.4g} x"
        source = details.get("tolerance", "error")
        if source == "error":
            return f"{scale} statistical error {stat_error:.4g}"
        if source == "no incumbent":
            return "0 (the incumbent's value is not a finite number, so the bound cannot stop)"
        if source == "floor":
            return (
                f"{scale} {RELATIVE_FLOOR:g} x statistical error {stat_error:.4g} (the floor of "
                f"the relative tolerance {self.relative_tolerance:g})"
            )
        return (
            f"{scale} {self.relative_tolerance:g} x the incumbent's value "
            f"{details.get('incumbent_value', float('nan')):.4g} (below its statistical "
            f"error {stat_error:.4g})"
        )

    def _verdict(
        self,
        evidence: Evidence,
        inc: int,
        bound: Any,
        fitter: Any,
        jitter: float,
        stat_error: float | None,
        limit: float,
        check: Check,
    ) -> Decision:
        """Stop on the patience, or when the bound is below the limit; the record says which."""
        details = check.details
        details.update(regret_bound=bound.value, bound=self.bound, posterior=fitter.name)
        if self.bound != "ucb_lcb":
            details.update(
                expected_regret=bound.expected,
                confidence=self.path_sampling.confidence,
                **{f"regret_q{q:g}": v for q, v in bound.quantiles},
                **{f"improvement_h{h}": v for h, v in bound.horizons},
            )
        else:
            details.update(
                min_ucb_observed=bound.min_ucb_observed, min_lcb_domain=bound.min_lcb_domain
            )
        if jitter > 0:
            details["jitter"] = jitter
        # the number compared, as the user set it: error_scale x the incumbent's error
        what = self._limit_words(limit, stat_error, details)
        n = len(evidence)
        since = trials_without_improvement(n, inc, self.warm_up)
        details["trials_without_improvement"] = since
        if self.patience is not None and since >= self.patience:
            return check.result(
                True,
                (
                    f"stopped after {n} trials: {since} trials without improving the incumbent "
                    f"(patience {self.patience}); remaining improvement bound {bound.value:.4g}, "
                    f"{what}"
                ),
            )
        if bound.value < limit:
            return check.result(
                True,
                f"stopped after {n} trials: remaining improvement bound {bound.value:.4g} < {what}",
            )
        return check.result(
            False, f"continue: remaining improvement bound {bound.value:.4g} >= {what}"
        )


def _setting_property(name: str) -> property:
    """``rule.<name>``: the setting, read from :attr:`AutoTermination.settings`; assigning
    one replaces the settings with a validated copy (``compare`` sets ``error_scale``)."""

    def get(self: AutoTermination) -> Any:
        return getattr(self.settings, name)

    def set_(self: AutoTermination, value: Any) -> None:
        self.settings = replace(self.settings, **{name: value})

    return property(get, set_, doc=f"The ``{name}`` setting (:class:`AutoTerminationSettings`).")


for _field in fields(AutoTerminationSettings):
    setattr(AutoTermination, _field.name, _setting_property(_field.name))
del _field
