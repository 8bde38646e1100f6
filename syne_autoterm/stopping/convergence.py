"""``Conv_k`` (Makarova et al.): the patience rule every other rule is measured against.

Why a rule of its own: it needs nothing but the incumbent's history, so it is
the cheapest baseline and the one a user reaches for first; the benchmarks
sweep its ``k`` as the knob of the ``conv`` family.
"""

from __future__ import annotations

from typing import Any

from ..evidence import Evidence
from .arguments import check_int
from .base import BaselineRule, Decision, trials_without_improvement

__all__ = ["Convergence"]


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
