"""Replay stopping rules on a finished Syne Tune experiment: when would each have stopped?

The rules are the same objects that run online (``StoppingRule``); each is
checked on the first ``n`` completed trials, in completion order, for growing
``n`` and stops at the first ``n`` where it fires. The table tells, per rule
setting, the trial count at the stop, the trials and time saved, and how much
worse the incumbent at the stop is than the final one (validation metric, and
a test metric when the experiment reported one).

    from syne_autoterm.compare import compare_experiment, write_compare_outputs
    df = compare_experiment("my-tuner-2026-01-01-...", metric="error", mode="min",
                            fold_metrics="cv_fold_", test_metric="test_error")
    write_compare_outputs(df, "compare-out")

Where to look:

- :mod:`.rule_replay`: one rule replayed (:func:`replay`), and several
  settings of a knob read off one replay (:func:`read_off`, :func:`replay_knob`);
- :mod:`.shared_bound`: AutoTermination settings that differ only in
  ``error_scale``, grouped and replayed once (:func:`replay_scales`);
- :mod:`.experiment`: a stored experiment's results and metadata, and its
  completed trials as evidence (:func:`load_results`, :func:`experiment_evidence`);
- :mod:`.table`: the table, one row per rule setting (:func:`compare_experiment`);
- :mod:`.outputs`: the table's CSV and figure (:func:`write_compare_outputs`).

This module keeps the names callers import from ``syne_autoterm.compare``.
"""

from __future__ import annotations

from ..completed import completed_trials
from .experiment import _config_keys as _config_keys
from .experiment import _config_space_from_metadata as _config_space_from_metadata
from .experiment import experiment_evidence, load_results
from .outputs import write_compare_outputs
from .rule_replay import ReplayResult, read_off, replay, replay_knob
from .shared_bound import _scale_free_signature as _scale_free_signature
from .shared_bound import replay_rules as replay_rules
from .shared_bound import replay_scales
from .table import _outcome as _outcome
from .table import compare_experiment
from .table import setting_label as setting_label

__all__ = [
    "ReplayResult",
    "compare_experiment",
    "completed_trials",
    "experiment_evidence",
    "load_results",
    "read_off",
    "replay",
    "replay_knob",
    "replay_scales",
    "write_compare_outputs",
]
