"""AutoTermination settings that differ only in ``error_scale``, replayed once.

Why: the bound, the statistical error and the trials without improvement of a
check do not depend on ``error_scale``, so a table of several scales (the
paper's decays) costs one replay instead of one per scale. Which rules may
share a replay is decided here, by everything else that could make them differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..evidence import Evidence
from ..stopping import AutoTermination, StoppingRule
from .rule_replay import ReplayResult, read_off, replay

__all__ = ["replay_rules", "replay_scales"]


def replay_scales(
    rule: AutoTermination,
    evidence: Evidence,
    scales: Sequence[float],
    first: int | None = None,
    last: int | None = None,
) -> dict[float, ReplayResult]:
    """Replays of ``AutoTermination`` at several ``error_scale`` values from one rule object.

    The bound, the statistical error and the trials without improvement of a
    check depend only on the evidence and ``seed + n`` (not on ``error_scale``),
    so ``rule`` is replayed with its ``error_scale`` set to the smallest scale
    (the last to fire) and each scale's stop is read off the same history
    records by the rule's own decision (:meth:`AutoTermination.stops_on`, the
    patience included). ``rule.error_scale`` is restored afterwards.
    """
    scales = [float(s) for s in scales]
    if not scales:
        return {}
    saved = rule.error_scale
    rule.error_scale = min(scales)
    try:
        base = replay(rule, evidence, first, last)
    finally:
        rule.error_scale = saved
    return read_off(base, scales, rule.stops_on)


def _scale_free_signature(rule: AutoTermination) -> tuple:
    """What must agree for two AutoTermination objects to differ only in ``error_scale``.

    Their settings but ``error_scale`` (one frozen dataclass: a new option cannot be
    forgotten here) and what the base class reads: the metric, the fold spec, the
    warm-up, the resource settings, the scheduler and the config space.
    """
    settings = replace(rule.settings, error_scale=1.0)
    base = (
        rule.metric,
        rule.mode,
        repr(rule.fold_spec),
        rule.warm_up,
        rule.resource_attr,
        rule.max_resource,
    )
    return (
        repr(settings),
        *base,
        id(rule.scheduler),
        repr(sorted((rule.config_space or {}).items(), key=str)),
        type(rule),
    )


def replay_rules(
    rules: Mapping[str, StoppingRule], evidence: Evidence, share_bound: bool = True
) -> dict[str, ReplayResult]:
    """Each named rule's replay; with ``share_bound``, AutoTermination objects that differ
    only in ``error_scale`` share one (:func:`replay_scales`), the others run alone."""
    outcomes: dict[str, ReplayResult] = {}
    pending = dict(rules)
    if share_bound:
        groups: dict[tuple, list[str]] = {}
        for name, rule in rules.items():
            if isinstance(rule, AutoTermination) and rule.threshold is None:
                groups.setdefault(_scale_free_signature(rule), []).append(name)
        for names in groups.values():
            lead = rules[names[0]]
            by_scale = replay_scales(lead, evidence, [rules[n].error_scale for n in names])
            for n in names:
                outcomes[n] = by_scale[float(rules[n].error_scale)]
                pending.pop(n)
    for name, rule in pending.items():
        outcomes[name] = replay(rule, evidence)
    return outcomes
