"""The stopping rules: one base class, our rule, the baselines and the peers.

Every rule is a :class:`~syne_autoterm.stopping.base.StoppingRule`, a function
of the completed trials (:class:`~syne_autoterm.evidence.Evidence`) that is
Syne Tune's ``stop_criterion`` online and is replayed offline unchanged.
Where to look:

- :mod:`.base`: the base class (decide/check, history, trace, pickling), and
  :mod:`.online` its Tuner side (``TuningStatus`` to evidence, new jobs);
- :mod:`.autoterm`: :class:`AutoTermination`, the paper's criterion, with its
  settings (:mod:`.settings`), error estimators (:mod:`.error_estimators`)
  and GP steps (:mod:`.autoterm_gp`);
- :mod:`.baselines`: Conv_k (:mod:`.convergence`), Plateau (:mod:`.plateau`),
  EI/PI (:mod:`.improvement`) and the authors' logged rule (:mod:`.authors`);
- :mod:`.peers`: Syne Tune's (:mod:`.peers_synetune`) and Optuna's
  (:mod:`.peers_optuna`) own criteria, fed the same evidence;
- :mod:`.any_of`: a rule together with a budget as one ``stop_criterion``;
- :mod:`.registry`: the rule names the CLI, ``compare`` and the benchmarks share;
- :mod:`.outcome`: RTC and RYC, what a stop saved and cost.
"""

from .any_of import AnyOf
from .autoterm import AutoTermination
from .base import BaselineRule, Decision, StoppingRule
from .baselines import (
    AuthorsRule,
    Convergence,
    ExpectedImprovementRule,
    Plateau,
    ProbabilityOfImprovementRule,
)
from .registry import FAMILIES, default_rules, make_rule
from .settings import AutoTerminationSettings, error_scale_from_decay

__all__ = [
    "FAMILIES",
    "AnyOf",
    "AuthorsRule",
    "AutoTermination",
    "AutoTerminationSettings",
    "BaselineRule",
    "Convergence",
    "Decision",
    "ExpectedImprovementRule",
    "Plateau",
    "ProbabilityOfImprovementRule",
    "StoppingRule",
    "default_rules",
    "error_scale_from_decay",
    "make_rule",
]
