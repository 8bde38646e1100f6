"""One stop criterion out of several: the stopping rule and a safety-net budget."""

from __future__ import annotations

from typing import Any


class AnyOf:
    """A ``stop_criterion`` that stops as soon as any of ``criteria`` says so.

    Syne Tune saves the tuner with its stop criterion (``tuner.dill``); an
    object of this class survives that save and ``Tuner.load``, and
    :meth:`~syne_autoterm.stopping.base.StoppingRule.find_in` finds the rule inside it.
    The criteria are asked in order and the first that says stop is kept as
    :attr:`fired_by` (so "the rule stopped" and "the budget ran out" can be
    told apart afterwards); the ones after it are not asked on that call.

        stop_criterion=AnyOf(AutoTermination(...), StoppingCriterion(max_num_trials_completed=100))
    """

    def __init__(self, *criteria: Any):
        if not criteria:
            raise ValueError("AnyOf needs at least one stop criterion")
        for criterion in criteria:
            if not callable(criterion):
                raise ValueError(f"a stop criterion must be callable, got {criterion!r}")
        self.criteria = tuple(criteria)
        self.fired_by: Any = None

    def __call__(self, status: Any) -> bool:
        for criterion in self.criteria:
            if criterion(status):
                self.fired_by = criterion
                return True
        return False
