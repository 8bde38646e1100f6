"""Syne Tune's own stopping criteria, fed the completed trials as our rules are.

Why its own module: these two call Syne Tune's classes on a ``TuningStatus``-like
object built from the evidence (nothing re-implemented), and what that takes
(float64 torch for the criterion, one call per prefix for the stopper's
counter) is Syne Tune's business, not Optuna's.

- :class:`SyneTuneATC`: Syne Tune 0.16's ``AutomaticTerminationCriterion``
  (Makarova et al. with a fixed threshold), under
  ``torch.set_default_dtype(float64)`` (it crashes with botorch 0.18 otherwise).
- :class:`SyneTunePlateau`: Syne Tune's ``PlateauStopper``, called once per
  prefix of the evidence (its state counts consecutive calls).

torch is imported inside the methods that need it.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, ClassVar

from ..evidence import Evidence
from .base import BaselineRule, Decision, StoppingRule

__all__ = ["SyneTuneATC", "SyneTunePlateau"]

_VALUE_KEY = "__value__"


# Here, though Optuna's rules use it too: every peer is fed a Syne Tune config space.
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
