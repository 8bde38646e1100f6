"""A reported value read as a float: the one place where raw reports become numbers.

Why one place, and why it never raises: reports come from user scripts, and a
stopping rule must not crash the tuning job over one of them. A value that is
not a number (a string, ``None``, a boolean, a nested list) becomes NaN, which
the rules leave out and report, never an exception or a silent ``True == 1.0``.
"""

from __future__ import annotations

import collections.abc as abc
from typing import Any

import numpy as np


def to_float(value: Any) -> float:
    """A reported value as float; anything non-numeric becomes NaN (and is reported).

    Numbers, numpy scalars and numeric strings convert; booleans, containers,
    ``None``, complex numbers and values too large for a float become NaN.
    Never raises.
    """
    if isinstance(value, (bool, np.bool_)) or value is None:
        return float("nan")
    if isinstance(value, (np.ndarray, list, tuple, dict, set)):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return float("nan")
    except Exception:  # an exotic object whose __float__ misbehaves
        return float("nan")


def to_float_array(values: Any) -> np.ndarray:
    """1-D float array of ``values`` with every non-numeric entry as NaN; never raises.

    numpy arrays of a numeric dtype are taken as they are (flattened); anything
    else (lists, object arrays, booleans, None, strings, ragged nesting) is
    converted entry by entry with the rules of :func:`to_float` (numpy would
    silently turn ``[0.1, True]`` into ``[0.1, 1.0]``).
    """
    if isinstance(values, (np.ndarray, np.generic)) and values.dtype.kind in "fiu":
        return np.asarray(values, dtype=float).reshape(-1)
    if isinstance(values, (str, bytes)) or not isinstance(values, abc.Iterable):
        return np.array([to_float(values)], dtype=float)
    try:
        items = list(values)
    except Exception:
        return np.array([float("nan")])
    return np.array([to_float(v) for v in items], dtype=float).reshape(-1)


def is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))
