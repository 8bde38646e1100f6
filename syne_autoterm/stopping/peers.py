"""Other libraries' stopping rules, fed the same completed trials as ours.

Each peer is a :class:`~syne_autoterm.stopping.base.StoppingRule` that hands the
evidence to the *real* peer implementation (nothing re-implemented):

- :class:`SyneTuneATC`: Syne Tune 0.16's ``AutomaticTerminationCriterion``
  (Makarova et al. with a fixed threshold), called on a ``TuningStatus``-like
  object built from the evidence, under ``torch.set_default_dtype(float64)``
  (it crashes with botorch 0.18 otherwise).
- :class:`SyneTunePlateau`: Syne Tune's ``PlateauStopper``, called once per
  prefix of the evidence (its state counts consecutive calls).
- :class:`OptunaTerminator`: Optuna's ``Terminator(RegretBoundEvaluator(),
  CrossValidationErrorEvaluator())`` on an in-memory study holding the
  completed trials, their fold scores stored as ``report_cross_validation_scores`` does.
- :class:`OptunaEMMR`: ``Terminator(EMMREvaluator(), MedianErrorEvaluator(...))``
  as Optuna documents it.

optuna and torch are imported inside the methods that need them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np

from ..evidence import Evidence
from .base import BaselineRule, Decision, StoppingRule

__all__ = [
    "OptunaEMMR",
    "OptunaTerminator",
    "SyneTuneATC",
    "SyneTunePlateau",
    "optuna_distributions",
]

_VALUE_KEY = "__value__"


def _space_of(rule: StoppingRule, evidence: Evidence) -> dict:
    space = rule.config_space
    if space is None and rule.scheduler is not None:
        space = getattr(rule.scheduler, "config_space", None)
    if space is None:
        raise ValueError(f"{type(rule).__name__} needs config_space= (or a scheduler)")
    return dict(space)


@contextlib.contextmanager
def _float64_torch(seed: int):
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


class SyneTuneATC(BaselineRule):
    """Syne Tune 0.16 ``AutomaticTerminationCriterion(config_space, metric, threshold,
    mode, beta, seed, warm_up, topq)``: stop when its regret bound is below ``threshold``.

    Fed the completed trials only (the real one also reads running trials'
    last reports). torch is seeded with ``seed + n`` before each call, so a
    replay is repeatable (it adds random noise to y).
    """

    name = "synetune_atc"
    _transient: ClassVar[dict[str, Any]] = {"_criterion": None}

    def __init__(
        self,
        threshold: float = 0.01,
        metric: str | None = None,
        mode: str = "min",
        config_space: Mapping[str, Any] | None = None,
        scheduler: Any = None,
        beta: float = 1.0,
        topq: float = 0.5,
        warm_up: int = 20,
        seed: int = 0,
        **kwargs: Any,
    ):
        super().__init__(
            metric, mode, None, warm_up, scheduler=scheduler, config_space=config_space, **kwargs
        )
        self.threshold = float(threshold)
        self.beta = float(beta)
        self.topq = float(topq)
        self.seed = int(seed)
        self._criterion = None

    def _peer(self, space: dict):
        if self._criterion is None:
            from syne_tune.stopping_criterions.automatic_termination_criterion import (
                AutomaticTerminationCriterion,
            )

            self._criterion = AutomaticTerminationCriterion(
                space,
                metric=_VALUE_KEY,
                threshold=self.threshold,
                mode=self.mode,
                beta=self.beta,
                seed=self.seed,
                warm_up=self.warm_up,
                topq=self.topq,
            )
        return self._criterion

    def decide(self, evidence: Evidence) -> Decision:
        n = len(evidence)
        if n < self.warm_up:
            return Decision(False, f"warm-up: {n} of {self.warm_up} completed trials")
        space = _space_of(self, evidence)
        rows = {
            tid: {**{k: config[k] for k in space if k in config}, _VALUE_KEY: float(v)}
            for tid, config, v in zip(evidence.trial_ids, evidence.configs, evidence.values)
            if math.isfinite(float(v))
        }
        status = SimpleNamespace(trial_rows=rows)
        with _float64_torch(self.seed + n), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stop = bool(self._peer(space)(status))
        verdict = "stop" if stop else "continue"
        return Decision(
            stop,
            f"Syne Tune AutomaticTerminationCriterion(threshold={self.threshold:g}): {verdict}",
            {"threshold": self.threshold},
        )


class SyneTunePlateau(BaselineRule):
    """Syne Tune's own ``PlateauStopper(metric, std, num_trials, mode, patience)``.

    Its counter of consecutive plateau calls is state, so the stopper is fed
    one status per prefix ``m = warm_up .. n`` of the evidence (continuing
    from the last prefix when the evidence extends it).
    """

    name = "synetune_plateau"
    _transient: ClassVar[dict[str, Any]] = {"_state": None}

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
        super().__init__(metric, mode, None, warm_up, **kwargs)
        self.std, self.num_trials, self.patience = float(std), int(num_trials), int(patience)
        self._state: tuple[tuple, Any, bool] | None = None  # (evidence key, stopper, last verdict)

    def _new_stopper(self):
        from syne_tune.stopping_criterion import PlateauStopper

        return PlateauStopper(
            _VALUE_KEY,
            std=self.std,
            num_trials=self.num_trials,
            mode=self.mode,
            patience=self.patience,
        )

    def decide(self, evidence: Evidence) -> Decision:
        n = len(evidence)
        if n < self.warm_up:
            return Decision(False, f"warm-up: {n} of {self.warm_up} completed trials")
        key = evidence.key()
        start, stopper, stop = self.warm_up, None, False
        if self._state is not None:
            old_key, old_stopper, old_stop = self._state
            if len(old_key) <= n and key[: len(old_key)] == old_key:
                start, stopper, stop = len(old_key) + 1, old_stopper, old_stop
        if stopper is None:
            stopper = self._new_stopper()
        rows: dict[int, dict] = {}
        for i, (tid, v) in enumerate(zip(evidence.trial_ids, evidence.values)):
            if math.isfinite(float(v)):
                rows[i] = {_VALUE_KEY: float(v)}
            m = i + 1
            if m >= start:
                status = SimpleNamespace(trial_rows=dict(rows), num_trials_finished=m)
                stop = bool(stopper(status))
        self._state = (key, stopper, stop)
        return Decision(stop, f"Syne Tune PlateauStopper: {'stop' if stop else 'continue'}")


# ------------------------------------------------------------------ Optuna
def optuna_distributions(config_space: Mapping[str, Any]) -> dict:
    """Optuna distributions of a Syne Tune config space (constants are left out)."""
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from syne_tune.config_space import (
        Categorical,
        Domain,
        FiniteRange,
        Float,
        Integer,
        is_log_space,
    )

    out: dict[str, BaseDistribution] = {}
    for name, dom in config_space.items():
        if not isinstance(dom, Domain):
            continue
        if isinstance(dom, Categorical):
            if len(dom.categories) > 1:
                out[name] = CategoricalDistribution(list(dom.categories))
        elif isinstance(dom, Integer):
            out[name] = IntDistribution(int(dom.lower), int(dom.upper), log=is_log_space(dom))
        elif isinstance(dom, (Float, FiniteRange)):
            log = (
                is_log_space(dom)
                if isinstance(dom, Float)
                else bool(getattr(dom, "log_scale", False))
            )
            out[name] = FloatDistribution(float(dom.lower), float(dom.upper), log=log)
        else:
            raise ValueError(
                f"no Optuna distribution for hyperparameter {name!r} ({type(dom).__name__})"
            )
    return out


@contextlib.contextmanager
def _quiet_optuna():
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # FutureWarning (deprecated module), ExperimentalWarning
            yield optuna
    finally:
        optuna.logging.set_verbosity(level)


class _Recorder:
    """Wraps an Optuna evaluator and keeps its last value (for the history)."""

    def __init__(self, inner):
        self.inner, self.last = inner, None

    def evaluate(self, trials, study_direction):
        self.last = float(self.inner.evaluate(trials, study_direction))
        return self.last


class _OptunaStudyRule(BaselineRule):
    """An in-memory Optuna study mirroring the evidence (extended when the evidence grows)."""

    _transient: ClassVar[dict[str, Any]] = {"_study": None, "_study_key": tuple, "_median": dict}
    _study_key: tuple

    def __init__(
        self, metric, mode, fold_metrics, config_space, scheduler, warm_up, seed, **kwargs
    ):
        super().__init__(
            metric,
            mode,
            fold_metrics,
            warm_up,
            scheduler=scheduler,
            config_space=config_space,
            **kwargs,
        )
        self.seed = int(seed)
        self._study = None
        self._study_key = ()

    def _frozen_trial(self, optuna, distributions, config, value, folds):
        params = {k: config[k] for k in distributions}
        for k, d in distributions.items():  # Syne Tune may hand numpy scalars
            if not isinstance(d, optuna.distributions.CategoricalDistribution):
                params[k] = (
                    int(params[k])
                    if isinstance(d, optuna.distributions.IntDistribution)
                    else float(params[k])
                )
        attrs = {}
        folds = np.asarray(folds, dtype=float)
        if folds.size > 1 and np.all(np.isfinite(folds)):
            attrs["terminator:cv_scores"] = [
                float(f) for f in folds
            ]  # as report_cross_validation_scores
        return optuna.trial.create_trial(
            params=params, distributions=distributions, value=float(value), system_attrs=attrs
        )

    def study(self, evidence: Evidence):
        """The study holding exactly the evidence's finite-valued trials."""
        import optuna as _optuna  # noqa: F401  (import error surfaces here)

        key = evidence.key()
        with _quiet_optuna() as optuna:
            if self._study is None or key[: len(self._study_key)] != self._study_key:
                direction = "minimize" if self.mode == "min" else "maximize"
                self._study = optuna.create_study(direction=direction)
                self._study_key = ()
            distributions = optuna_distributions(_space_of(self, evidence))
            new = []
            for i in range(len(self._study_key), len(evidence)):
                v = float(evidence.values[i])
                if math.isfinite(v):
                    new.append(
                        self._frozen_trial(
                            optuna, distributions, evidence.configs[i], v, evidence.folds[i]
                        )
                    )
            if new:
                self._study.add_trials(new)
            self._study_key = key
        return self._study

    def _terminate(self, study, improvement: Any, error: Any) -> tuple[bool, Any, Any]:
        """Optuna's ``Terminator`` on ``study`` with these two evaluators (call it inside
        ``_quiet_optuna``): whether it stops, and the improvement and error it compared."""
        from optuna.terminator import Terminator

        # _Recorder duck-types Optuna's evaluator ABCs (optuna is optional: no base class)
        seen_improvement, seen_error = _Recorder(improvement), _Recorder(error)
        terminator = Terminator(seen_improvement, seen_error, min_n_trials=self.warm_up)  # type: ignore[arg-type]
        stop = bool(terminator.should_terminate(study))
        return stop, seen_improvement.last, seen_error.last


class OptunaTerminator(_OptunaStudyRule):
    """Optuna 5.0 ``Terminator(RegretBoundEvaluator(), CrossValidationErrorEvaluator(),
    min_n_trials=warm_up)`` on the completed trials (seed ``seed + n`` per check)."""

    name = "optuna_terminator"

    def __init__(
        self,
        metric: str | None = None,
        mode: str = "min",
        fold_metrics: str | Sequence[str] | None = "cv_fold_",
        config_space: Mapping[str, Any] | None = None,
        scheduler: Any = None,
        warm_up: int = 20,
        seed: int = 0,
        **kwargs: Any,
    ):
        super().__init__(
            metric, mode, fold_metrics, config_space, scheduler, warm_up, seed, **kwargs
        )

    def decide(self, evidence: Evidence) -> Decision:
        n = len(evidence)
        if n < self.warm_up:
            return Decision(False, f"warm-up: {n} of {self.warm_up} completed trials")
        study = self.study(evidence)
        with _quiet_optuna():
            from optuna.terminator import CrossValidationErrorEvaluator, RegretBoundEvaluator

            stop, bound, threshold = self._terminate(
                study, RegretBoundEvaluator(seed=self.seed + n), CrossValidationErrorEvaluator()
            )
        return Decision(
            stop,
            f"Optuna Terminator: regret bound {bound} vs CV error "
            f"{threshold}: {'stop' if stop else 'continue'}",
            {"regret_bound": bound, "threshold": threshold},
        )


class OptunaEMMR(_OptunaStudyRule):
    """Optuna 5.0 ``Terminator(EMMREvaluator(), MedianErrorEvaluator(emmr))``, as documented.

    ``MedianErrorEvaluator`` fixes its threshold (``threshold_ratio`` x the
    median EMMR over trials ``warm_up_trials .. warm_up_trials + n_initial_trials``)
    once; it is cached per such prefix of the evidence, so the rule stays a
    function of the evidence.
    """

    name = "optuna_emmr"

    def __init__(
        self,
        metric: str | None = None,
        mode: str = "min",
        config_space: Mapping[str, Any] | None = None,
        scheduler: Any = None,
        warm_up: int = 20,
        seed: int = 0,
        deterministic_objective: bool = False,
        median_warm_up_trials: int = 10,
        median_n_initial_trials: int = 20,
        threshold_ratio: float = 0.01,
        **kwargs: Any,
    ):
        super().__init__(metric, mode, None, config_space, scheduler, warm_up, seed, **kwargs)
        self.deterministic_objective = deterministic_objective
        self.median_warm_up_trials = int(median_warm_up_trials)
        self.median_n_initial_trials = int(median_n_initial_trials)
        self.threshold_ratio = float(threshold_ratio)
        self._median: dict[tuple, Any] = {}

    def _median_evaluator(self, evidence: Evidence):
        from optuna.terminator import EMMREvaluator, MedianErrorEvaluator

        prefix = evidence.key()[: self.median_warm_up_trials + self.median_n_initial_trials]
        if prefix not in self._median:
            self._median.clear()
            self._median[prefix] = MedianErrorEvaluator(
                EMMREvaluator(self.deterministic_objective, seed=self.seed),
                warm_up_trials=self.median_warm_up_trials,
                n_initial_trials=self.median_n_initial_trials,
                threshold_ratio=self.threshold_ratio,
            )
        return self._median[prefix]

    def decide(self, evidence: Evidence) -> Decision:
        n = len(evidence)
        if n < self.warm_up:
            return Decision(False, f"warm-up: {n} of {self.warm_up} completed trials")
        study = self.study(evidence)
        with _quiet_optuna():
            from optuna.terminator import EMMREvaluator

            emmr = EMMREvaluator(self.deterministic_objective, seed=self.seed + n)
            stop, value, threshold = self._terminate(study, emmr, self._median_evaluator(evidence))
        return Decision(
            stop,
            f"Optuna EMMR {value} vs median threshold {threshold}: "
            f"{'stop' if stop else 'continue'}",
            {"emmr": value, "threshold": threshold},
        )


logging.getLogger(__name__).addHandler(logging.NullHandler())
