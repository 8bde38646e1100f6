"""syne-autoterm: tells a Syne Tune hyperparameter search when to stop.

Public API only; torch, plotting, workloads and backends are imported lazily
by the modules that need them.
"""

from typing import TYPE_CHECKING, Any

from ._moved import register_old_paths
from .console import show_decisions
from .error import (
    EvidenceError,
    binomial_error,
    bootstrap_error,
    mean_standard_error,
    nadeau_bengio_error,
    nadeau_bengio_variance,
)
from .evidence import Evidence, evidence_from_records
from .probabilistic import PathSampling, probabilistic_regret
from .regret import DomainSearch, beta_schedule, regret_bound, top_n_mask
from .stopping import (
    AnyOf,
    AutoTermination,
    AutoTerminationSettings,
    Decision,
    StoppingRule,
    error_scale_from_decay,
)

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from .searchers import AlignedBoTorchSearcher, aligned_botorch

register_old_paths()  # tuner.dill files of earlier versions name the old modules

__all__ = [
    "AlignedBoTorchSearcher",
    "AnyOf",
    "AutoTermination",
    "AutoTerminationSettings",
    "Decision",
    "DomainSearch",
    "Evidence",
    "EvidenceError",
    "PathSampling",
    "StoppingRule",
    "aligned_botorch",
    "beta_schedule",
    "binomial_error",
    "bootstrap_error",
    "error_scale_from_decay",
    "evidence_from_records",
    "mean_standard_error",
    "nadeau_bengio_error",
    "nadeau_bengio_variance",
    "probabilistic_regret",
    "regret_bound",
    "show_decisions",
    "top_n_mask",
]
__version__ = "0.1.0"

_LAZY = ("AlignedBoTorchSearcher", "aligned_botorch")  # torch classes: imported on first use


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import searchers

        return getattr(searchers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
