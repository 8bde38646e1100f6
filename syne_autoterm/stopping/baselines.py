"""Baseline stopping rules, behind the same interface as :class:`AutoTermination`.

Each rule is a :class:`~syne_autoterm.stopping.base.StoppingRule`: a function of the
completed trials so far (:class:`~syne_autoterm.evidence.Evidence`). The same
object is a Syne Tune ``stop_criterion`` online and is replayed offline by the
benchmarks (``rule.check(evidence.head(n))`` for growing ``n``); no benchmark
re-implements a rule.

- :class:`Convergence` (``Conv_k`` of Makarova et al.): ``k`` trials without
  improvement of the incumbent, counted from the warm-up (:mod:`.convergence`).
- :class:`ExpectedImprovementRule`, :class:`ProbabilityOfImprovementRule`
  (Nguyen et al. 2017): stop when the best EI / PI left is below a threshold
  (:mod:`.improvement`).
- :class:`Plateau`: Syne Tune's ``PlateauStopper`` as a function of the
  completed trials (:mod:`.plateau`).
- :class:`AuthorsRule`: the authors' published evaluation (their logged bound
  and their threshold frozen at the warm-up), for replaying their runs only
  (:mod:`.authors`).

Rules that need no metric name offline take ``metric=None``; they must be given
the tuned metric's name to run inside a Tuner.

Why this module stays: callers import the baselines from here, and a
``tuner.dill`` saved before the split names
``syne_autoterm.stopping.baselines.Convergence`` (or the older
``syne_autoterm.rules``, an alias of this module, see :mod:`syne_autoterm._moved`);
unpickling looks the class up here by name.
"""

from __future__ import annotations

# Besides ``__all__``, the names this module defined before the split (the
# acquisitions, the improvement rules' base) stay importable from here.
from .authors import AuthorsRule
from .convergence import Convergence
from .improvement import ExpectedImprovementRule, ProbabilityOfImprovementRule
from .improvement import _ImprovementRule as _ImprovementRule
from .improvement import _NegatedAcquisition as _NegatedAcquisition
from .improvement import _std_normal_pdf_cdf as _std_normal_pdf_cdf
from .improvement import expected_improvement as expected_improvement
from .improvement import probability_of_improvement as probability_of_improvement
from .plateau import Plateau

__all__ = [
    "AuthorsRule",
    "Convergence",
    "ExpectedImprovementRule",
    "Plateau",
    "ProbabilityOfImprovementRule",
]
