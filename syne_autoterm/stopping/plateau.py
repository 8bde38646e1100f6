"""Syne Tune's ``PlateauStopper`` re-stated as a function of the completed trials.

Why re-stated next to the real one: Syne Tune's stopper counts consecutive
calls, state that the peer :class:`~syne_autoterm.stopping.peers.SyneTunePlateau`
rebuilds by calling it once per prefix of the evidence; this rule reads the same
count off the evidence alone, without Syne Tune, at the cost of being our code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..evidence import Evidence
from .arguments import check_float, check_int
from .base import BaselineRule, Decision

__all__ = ["Plateau"]


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
