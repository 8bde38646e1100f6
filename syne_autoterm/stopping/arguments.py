"""Argument checks shared by the rules' constructors and the CLI's options.

Why one place: a bad number must fail the same way, with a message naming the
argument (``--error-scale inf`` and ``error_scale=inf`` alike), before a tuning
job starts rather than at its first check.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["MAX_SEED", "check_float", "check_int", "finite_or_none"]


def check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an int in ``[minimum, maximum]``, or a ValueError that names the argument."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    try:
        ok = ok and math.isfinite(value) and int(value) == value and value >= minimum
        ok = ok and (maximum is None or value <= maximum)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")
    return int(value)


#: Seeds are numpy seeds: at most 2**32 - 1.
MAX_SEED = 2**32 - 1


def check_float(name: str, value: Any, positive: bool = False, nonnegative: bool = False) -> float:
    """``value`` as a finite float (optionally > 0 or >= 0), or a ValueError naming it."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    try:
        ok = ok and math.isfinite(value)
        ok = ok and (not positive or value > 0) and (not nonnegative or value >= 0)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        which = " > 0" if positive else (" >= 0" if nonnegative else "")
        raise ValueError(f"{name} must be a finite number{which}, got {value!r}")
    return float(value)


def finite_or_none(value: Any) -> float | None:
    """A number read off a check's record or a trace, or None where it is missing, not a
    number or not finite: the lenient twin of :func:`check_float`, for reading what a
    rule wrote rather than what a user passed."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None
