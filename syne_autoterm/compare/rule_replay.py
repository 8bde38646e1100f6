"""One rule replayed on the completed trials, and several settings read off one replay.

Why its own module: this is what every replay stands on (``compare``, the
benchmarks' sweeps, the paper replay): a rule is checked on the first ``n``
completed trials, in completion order, for growing ``n``, exactly as it ran
online, and stops at the first ``n`` where it fires.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..evidence import Evidence
from ..stopping import StoppingRule

__all__ = ["ReplayResult", "read_off", "replay", "replay_knob"]


@dataclass(frozen=True)
class ReplayResult:
    n_stop: int  # completed trials when the rule fired (the last n checked when it never did)
    fired: bool
    history: tuple[dict, ...]


def replay(
    rule: StoppingRule, evidence: Evidence, first: int | None = None, last: int | None = None
) -> ReplayResult:
    """Check ``rule`` on ``evidence.head(n)`` for ``n = first .. last`` until it fires.

    ``first`` defaults to the rule's ``warm_up`` (earlier checks only say
    "warm-up"), ``last`` to ``len(evidence)``.
    """
    last = len(evidence) if last is None else int(last)
    first = max(1, int(getattr(rule, "warm_up", 1))) if first is None else int(first)
    start = len(rule.history)
    for n in range(first, last + 1):
        if rule.check(evidence.head(n))["stop"]:
            return ReplayResult(n, True, tuple(rule.history[start:]))
    return ReplayResult(last, False, tuple(rule.history[start:]))


def read_off(
    base: ReplayResult, knobs: Sequence[float], fires: Callable[[Mapping[str, Any], float], bool]
) -> dict[float, ReplayResult]:
    """Each knob setting's replay, read off the checks of ``base``.

    ``fires(record, knob)`` says whether the setting stops on the check that
    wrote ``record``; a setting stops at the first check where it fires. The
    base replay must come from the setting that fires last (the most patient
    one), so that it holds every check the others need: a setting that never
    fires while the base did is a programming error and raises.
    """
    out: dict[float, ReplayResult] = {}
    for knob in knobs:
        hit = next((int(r["n_completed"]) for r in base.history if fires(r, knob)), None)
        if hit is None:
            if base.fired:
                raise ValueError(
                    f"setting {knob} never fires but the base rule did: "
                    "build the rule at the most patient setting"
                )
            out[knob] = ReplayResult(base.n_stop, False, base.history)
        else:
            out[knob] = ReplayResult(
                hit, True, tuple(r for r in base.history if r["n_completed"] <= hit)
            )
    return out


def replay_knob(
    rule: StoppingRule,
    evidence: Evidence,
    knobs: Sequence[float],
    fires: Callable[[Mapping[str, Any], float], bool],
    first: int | None = None,
    last: int | None = None,
) -> dict[float, ReplayResult]:
    """Replays of one rule family at several settings of its knob, from one replay.

    For a family whose decision is a fixed statistic of the evidence compared
    with the knob (``fires(record, knob)`` reads the statistic from the check's
    history record), the statistic is computed once per check and each
    setting's stop is read off (:func:`read_off`); ``rule`` must be built at
    the setting that fires last (the most patient one).
    """
    return read_off(replay(rule, evidence, first, last), knobs, fires)
