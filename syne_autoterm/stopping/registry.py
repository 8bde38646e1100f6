"""One registry of rule names, used by ``--stopping-rule``, :mod:`~syne_autoterm.compare`
and the benchmarks.

Why one: the CLI, the comparison of a stored job and the paper replay each
named rules and built them their own way, so a name could mean one setting
here and another there. A *family* is a rule class with the one keyword its
setting is given by (its *knob*: ``k`` of ``conv``, ``threshold`` of ``ei``);
:func:`make_rule` builds a family's rule at a knob value, and
:func:`default_rules` names the settings a comparison replays
(``conv_30``, ``autoterm_0.5``, ...).

The peers' classes import optuna and torch only when they decide, so listing
them here costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .autoterm import AutoTermination
from .base import StoppingRule
from .baselines import (
    AuthorsRule,
    Convergence,
    ExpectedImprovementRule,
    Plateau,
    ProbabilityOfImprovementRule,
)
from .peers import OptunaEMMR, OptunaTerminator, SyneTuneATC, SyneTunePlateau
from .settings import DEFAULT_ERROR_SCALE, error_scale_from_decay

__all__ = ["CLI_RULES", "FAMILIES", "RuleFamily", "default_rules", "make_rule"]


@dataclass(frozen=True)
class RuleFamily:
    """A rule class under its name, with the keyword its setting is given by."""

    name: str
    rule_class: type[StoppingRule]
    knob: str | None  # keyword of the setting (None: the family has none)
    default: float | None  # the setting when none is given (the CLI's default)
    summary: str


FAMILIES: dict[str, RuleFamily] = {
    f.name: f
    for f in (
        RuleFamily(
            "autoterm",
            AutoTermination,
            "error_scale",
            DEFAULT_ERROR_SCALE,
            "remaining improvement below error_scale x the incumbent's statistical error",
        ),
        RuleFamily("conv", Convergence, "k", 30, "k completed trials without improvement"),
        RuleFamily(
            "ei",
            ExpectedImprovementRule,
            "threshold",
            1e-16,
            "best expected improvement left below a threshold",
        ),
        RuleFamily(
            "pi",
            ProbabilityOfImprovementRule,
            "threshold",
            1e-12,
            "best probability of improvement left below a threshold",
        ),
        RuleFamily("plateau", Plateau, "std", 0.001, "Syne Tune's PlateauStopper, re-implemented"),
        RuleFamily(
            "authors",
            AuthorsRule,
            "decay",
            0.21,
            "the authors' logged bound and frozen threshold (their runs only)",
        ),
        RuleFamily(
            "synetune_atc",
            SyneTuneATC,
            "threshold",
            0.01,
            "Syne Tune's AutomaticTerminationCriterion",
        ),
        RuleFamily("synetune_plateau", SyneTunePlateau, "std", 0.001, "Syne Tune's PlateauStopper"),
        RuleFamily(
            "optuna_terminator",
            OptunaTerminator,
            None,
            None,
            "Optuna's Terminator (regret bound vs CV error)",
        ),
        RuleFamily("optuna_emmr", OptunaEMMR, None, None, "Optuna's EMMR terminator"),
    )
}

#: The families ``syne-autoterm tune --stopping-rule`` offers (besides ``none``).
CLI_RULES = ("autoterm", "conv", "ei", "pi", "plateau")


def make_rule(family: str, knob: float | None = None, /, **kwargs: Any) -> StoppingRule:
    """The rule of ``family`` with its knob at ``knob`` (None: the family's default).

    Every other argument goes to the rule's constructor unchanged.
    """
    try:
        spec = FAMILIES[family]
    except KeyError:
        raise ValueError(
            f"unknown stopping rule {family!r}; known: {', '.join(FAMILIES)}"
        ) from None
    if spec.knob is not None:
        kwargs[spec.knob] = knob if knob is not None else spec.default
    elif knob is not None:
        raise ValueError(f"stopping rule {family!r} takes no setting, got {knob!r}")
    return spec.rule_class(**kwargs)


def default_rules(
    metric: str,
    mode: str = "min",
    fold_metrics: str | Sequence[str] | None = "cv_fold_",
    config_space: Mapping[str, Any] | None = None,
    decays: Sequence[float] = (0.21, 0.5, 1.0),
    conv_ks: Sequence[int] = (10, 30, 50, 70, 90),
    plateaus: Sequence[tuple[float, int, int]] = ((0.001, 10, 0),),
    ei_thresholds: Sequence[float] = (),
    pi_thresholds: Sequence[float] = (),
    peers: bool = False,
    warm_up: int = 20,
    seed: int = 0,
) -> dict[str, StoppingRule]:
    """Named rule settings for comparisons: AutoTermination's default (``autoterm``)
    and the paper's rule at its decays (``autoterm_<decay>``: the UCB-LCB bound,
    no patience; when fold metrics are given), Conv_k, Plateau, optionally EI/PI
    (computed, costly) and the Syne Tune / Optuna peers."""
    common = dict(metric=metric, mode=mode, warm_up=warm_up)
    rules: dict[str, StoppingRule] = {}
    if fold_metrics is not None:
        auto = dict(common, fold_metrics=fold_metrics, config_space=config_space, seed=seed)
        rules["autoterm"] = make_rule("autoterm", **auto)
        for decay in decays:
            rules[f"autoterm_{decay}"] = make_rule(
                "autoterm",
                error_scale_from_decay(decay),
                bound="ucb_lcb",
                patience=None,
                relative_tolerance=None,
                **auto,
            )
    for k in conv_ks:
        rules[f"conv_{k}"] = make_rule("conv", k, **common)
    for std, num, pat in plateaus:
        rules[f"plateau_{std:g}_{num}_{pat}"] = make_rule(
            "plateau", std, num_trials=num, patience=pat, **common
        )
    computed = dict(common, use_logged=False, config_space=config_space, seed=seed)
    for t in ei_thresholds:
        rules[f"ei_{t}"] = make_rule("ei", t, **computed)
    for t in pi_thresholds:
        rules[f"pi_{t}"] = make_rule("pi", t, **computed)
    if peers:
        if config_space is None:
            raise ValueError("the peers need config_space")
        peer = dict(common, config_space=config_space, seed=seed)
        if fold_metrics is not None:
            rules["optuna_terminator"] = make_rule(
                "optuna_terminator", fold_metrics=fold_metrics, **peer
            )
        rules["optuna_emmr"] = make_rule("optuna_emmr", **peer)
        rules["synetune_0.01"] = make_rule("synetune_atc", 0.01, **peer)
    return rules
