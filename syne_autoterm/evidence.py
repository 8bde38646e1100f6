"""Completed trials turned into clean arrays: the one place where raw reports are read.

Every stopping rule of this package is a function of an :class:`Evidence`, so the
same rule object decides online (inside Syne Tune's ``Tuner``) and offline (when
a benchmark replays a stored trajectory, one prefix at a time).

Why this module only gathers names: each concept lives in a module of its own,
and this is the path that code, docs and every saved ``tuner.dill`` name (the
classes are pickled as ``syne_autoterm.evidence.<name>``):

* ``_evidence_data``: the frozen :class:`Evidence`, its derived quantities, and
  :func:`evidence_from_records` for rows already in completion order;
* ``_evidence_collector``: :class:`EvidenceCollector` (online, from Syne Tune's
  ``TuningStatus``) and :func:`counts_as_completed`, the one definition of a
  completed trial;
* ``_evidence_folds``: which metrics hold the per-fold scores (:class:`FoldSpec`)
  and whether they can be trusted (:func:`audit_folds`, :func:`audit_fold_means`);
* ``_evidence_values``: a reported value as a float, NaN when it is not a number.
"""

from __future__ import annotations

from ._evidence_collector import (
    COMPLETED,
    FAILED,
    STOPPED,
    EvidenceCollector,
    at_max_resource,
    counts_as_completed,
)
from ._evidence_collector import _Completion as _Completion  # pickled with each collector
from ._evidence_data import MODES, Evidence, check_mode, evidence_from_records
from ._evidence_folds import (
    FOLD_METRIC_RTOL,
    FoldAudit,
    FoldSpec,
    audit_fold_means,
    audit_folds,
    fold_array,
    fold_metric_mismatch,
    fold_names_from_prefix,
)
from ._evidence_values import to_float as _to_float  # noqa: F401 - the name tests use
from ._evidence_values import to_float_array

__all__ = [
    "COMPLETED",
    "FAILED",
    "FOLD_METRIC_RTOL",
    "MODES",
    "STOPPED",
    "Evidence",
    "EvidenceCollector",
    "FoldAudit",
    "FoldSpec",
    "at_max_resource",
    "audit_fold_means",
    "audit_folds",
    "check_mode",
    "counts_as_completed",
    "evidence_from_records",
    "fold_array",
    "fold_metric_mismatch",
    "fold_names_from_prefix",
    "to_float_array",
]
