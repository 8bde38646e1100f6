"""One check's bookkeeping, shared by the steps of :meth:`AutoTermination.decide`.

Why objects: each step of the method may find that the evidence cannot support
a stop (it raises :class:`Continue` with the reason) and may meet problems to
log once and list in the record; the steps stay free of that plumbing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import Decision

__all__ = ["Check", "Continue"]


class Continue(Exception):
    """A step of a check found that its evidence cannot support a stop; the reason is why."""


class Check:
    """One check's notes: the problem kinds it met and the details of its history record."""

    def __init__(self, log_problem: Callable[[str, str], None]):
        self._log_problem = log_problem
        self.problems: list[str] = []
        self.details: dict[str, Any] = {}

    def problem(self, kind: str, message: str) -> None:
        """Log ``message`` (once per kind and rule) and list ``kind`` in the record."""
        self._log_problem(kind, message)
        if kind not in self.problems:
            self.problems.append(kind)

    def result(self, stop: bool, reason: str) -> Decision:
        details = dict(self.details)
        if self.problems:
            details["problems"] = list(self.problems)
        return Decision(stop, reason, details)
