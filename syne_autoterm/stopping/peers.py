"""Other libraries' stopping rules, fed the same completed trials as ours.

Each peer is a :class:`~syne_autoterm.stopping.base.StoppingRule` that hands the
evidence to the *real* peer implementation (nothing re-implemented):

- :class:`SyneTuneATC`: Syne Tune 0.16's ``AutomaticTerminationCriterion``
  (Makarova et al. with a fixed threshold), called on a ``TuningStatus``-like
  object built from the evidence, under ``torch.set_default_dtype(float64)``
  (it crashes with botorch 0.18 otherwise).
- :class:`SyneTunePlateau`: Syne Tune's ``PlateauStopper``, called once per
  prefix of the evidence (its state counts consecutive calls).
- :class:`OptunaTerminator`: Optuna's ``Terminator(RegretBoundEvaluator(),
  CrossValidationErrorEvaluator())`` on an in-memory study holding the
  completed trials, their fold scores stored as ``report_cross_validation_scores`` does.
- :class:`OptunaEMMR`: ``Terminator(EMMREvaluator(), MedianErrorEvaluator(...))``
  as Optuna documents it.

optuna and torch are imported inside the methods that need them. Where to look:
:mod:`.peers_synetune` for Syne Tune's two, :mod:`.peers_optuna` for Optuna's.

Why this module stays: callers import the peers from here, and a ``tuner.dill``
saved before the split names ``syne_autoterm.stopping.peers.SyneTuneATC`` (or
the older ``syne_autoterm.peers``, an alias of this module, see
:mod:`syne_autoterm._moved`); unpickling looks the class up here by name.
"""

from __future__ import annotations

import logging

from .peers_optuna import OptunaEMMR, OptunaTerminator, optuna_distributions
from .peers_synetune import SyneTuneATC, SyneTunePlateau

__all__ = [
    "OptunaEMMR",
    "OptunaTerminator",
    "SyneTuneATC",
    "SyneTunePlateau",
    "optuna_distributions",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
