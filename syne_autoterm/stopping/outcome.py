"""What a stop saved and what it cost: the paper's RTC and RYC, one definition each.

Used by :mod:`syne_autoterm.compare` and the benchmarks alike, so that a
replay's numbers and the paper's tables are computed the same way.
"""

from __future__ import annotations

__all__ = ["rtc", "ryc"]


def rtc(n_stop: int, n_final: int) -> float:
    """Relative time (iterations) saved: ``(n_final - n_stop) / n_final``."""
    if n_final <= 0:
        raise ValueError(f"n_final must be > 0, got {n_final}")
    return (n_final - n_stop) / n_final


def ryc(test_final: float, test_stop: float) -> float:
    """Relative test change ``(final - stop) / max(|final|, |stop|)`` (negative: stopping lost).

    For metrics to minimise (errors; a maximised metric negated): the paper's RYC
    for errors, which are >= 0. Zero when both are equal (also both 0). The one
    definition of RYC in the package and the benchmarks.
    """
    if test_final == test_stop:
        return 0.0
    denom = max(abs(test_final), abs(test_stop))
    return (test_final - test_stop) / denom if denom > 0 else 0.0
