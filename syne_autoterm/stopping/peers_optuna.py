"""Optuna's Terminator, fed the completed trials as our rules are.

Why its own module: both Optuna rules decide on an in-memory study that mirrors
the evidence (the fold scores stored as ``report_cross_validation_scores``
stores them), so the study, the search space in Optuna's terms and the
Terminator call are shared here; the evaluators are Optuna's own.

- :class:`OptunaTerminator`: ``Terminator(RegretBoundEvaluator(),
  CrossValidationErrorEvaluator())``;
- :class:`OptunaEMMR`: ``Terminator(EMMREvaluator(), MedianErrorEvaluator(...))``
  as Optuna documents it.

optuna is imported inside the methods that need it.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..evidence import Evidence
from .base import BaselineRule, Decision
from .peers_synetune import _space_of

__all__ = ["OptunaEMMR", "OptunaTerminator", "optuna_distributions"]


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

    def decide(self, evidence: Evidence) -> Decision:
        """Optuna's ``Terminator`` with this rule's two evaluators on the mirrored study."""
        n = len(evidence)
        if n < self.warm_up:
            return Decision(False, f"warm-up: {n} of {self.warm_up} completed trials")
        study = self.study(evidence)
        with _quiet_optuna():
            from optuna.terminator import Terminator

            improvement, error = self._evaluators(evidence, n)
            # _Recorder duck-types Optuna's evaluator ABCs (optuna is optional: no base class)
            seen_improvement, seen_error = _Recorder(improvement), _Recorder(error)
            terminator = Terminator(seen_improvement, seen_error, min_n_trials=self.warm_up)  # type: ignore[arg-type]
            stop = bool(terminator.should_terminate(study))
        return self._decision(stop, seen_improvement.last, seen_error.last)

    def _evaluators(self, evidence: Evidence, n: int) -> tuple[Any, Any]:
        """The improvement and error evaluators of a check at ``n`` trials (optuna imported)."""
        raise NotImplementedError

    def _decision(self, stop: bool, improvement: Any, error: Any) -> Decision:
        raise NotImplementedError


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

    def _evaluators(self, evidence: Evidence, n: int) -> tuple[Any, Any]:
        from optuna.terminator import CrossValidationErrorEvaluator, RegretBoundEvaluator

        return RegretBoundEvaluator(seed=self.seed + n), CrossValidationErrorEvaluator()

    def _decision(self, stop: bool, bound: Any, threshold: Any) -> Decision:
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

    def _evaluators(self, evidence: Evidence, n: int) -> tuple[Any, Any]:
        from optuna.terminator import EMMREvaluator

        emmr = EMMREvaluator(self.deterministic_objective, seed=self.seed + n)
        return emmr, self._median_evaluator(evidence)

    def _decision(self, stop: bool, value: Any, threshold: Any) -> Decision:
        return Decision(
            stop,
            f"Optuna EMMR {value} vs median threshold {threshold}: "
            f"{'stop' if stop else 'continue'}",
            {"emmr": value, "threshold": threshold},
        )
