"""The authors' published evaluation of their rule, kept to replay their runs.

Why apart from :class:`~syne_autoterm.stopping.autoterm.AutoTermination`: it
reads the bound the authors logged instead of computing one, and freezes the
threshold at the warm-up as their evaluation code did, so the replay
reproduces their published stops (flaw included) and nothing else.
"""

from __future__ import annotations

import math
from typing import Any

from ..evidence import Evidence
from .base import BaselineRule, Decision

__all__ = ["AuthorsRule"]


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
