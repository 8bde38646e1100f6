"""The completed trials of a stored results table, as the online rule counted them.

Why a module of its own: the replay (``compare``), the run summary (``report``)
and the decision figure (``explain``) read Syne Tune's results table, while the
rule online reads ``TuningStatus``. All of them call
:func:`~syne_autoterm.evidence.counts_as_completed`, so that "completed trial"
means one thing: the summary's trial count, the replayed decisions and the
online decisions are about the same trials.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evidence import COMPLETED, STOPPED, counts_as_completed

# Syne Tune's decision that stopped a trial after this report (``st_decision``).
_STOP_DECISION = "STOP"
# The status of a row written while the trial ran (see :func:`_final_status`).
_IN_PROGRESS = "InProgress"


def completed_trials(
    results: pd.DataFrame,
    metric: str,
    resource_attr: str | None = None,
    max_resource: float | None = None,
    *,
    only_completed: bool = True,
) -> pd.DataFrame:
    """Last reported row of every completed trial, in completion order.

    Completion time is the trial's last ``st_tuner_time`` (row order when the
    column is missing, and for ties). A trial's last report is its result, its
    metric NaN or not (as ``TuningStatus`` shows it online). How it ended:
    ``st_final_status`` (the saved tuner's last status of each trial, see
    :func:`syne_autoterm.compare.load_results`) when present; else reconstructed
    from the rows (see :func:`_final_status`). With ``resource_attr`` and
    ``max_resource`` both given the run is multi-fidelity. ``only_completed=False``
    (or a table without status columns) takes every trial's status as ``Completed``.
    """
    if "trial_id" not in results.columns:
        raise ValueError("results have no 'trial_id' column: not a Syne Tune results table")
    if metric not in results.columns:
        raise ValueError(f"metric {metric!r} not in the results columns {list(results.columns)}")
    df = results.reset_index(drop=True).copy()
    df["_row"] = np.arange(len(df))
    time_col = "st_tuner_time" if "st_tuner_time" in df.columns else "_row"
    df = df.sort_values([time_col, "_row"], kind="stable")
    last = df.groupby("trial_id", sort=False).tail(1)
    multi = resource_attr is not None and max_resource is not None
    top = max_resource if multi else None
    status = _final_status(df) if only_completed else {}
    keep = [
        counts_as_completed(
            status.get(tid, COMPLETED), row.get(resource_attr) if multi else None, top
        )
        for tid, row in zip(last["trial_id"], last.to_dict("records"))
    ]
    last = last[np.array(keep, dtype=bool)]
    return last.drop(columns="_row").reset_index(drop=True)


def _final_status(df: pd.DataFrame) -> dict:
    """How each trial ended, by trial id; empty when the table cannot tell.

    ``st_status`` is the status when a row was reported: Syne Tune writes a
    trial's last report while its process still runs, so that row often says
    ``InProgress`` although the trial then completed, and no later row says
    otherwise. Without ``st_final_status`` a trial counts as ``Completed`` when
    any of its rows says so or its last row says ``InProgress`` (the table cannot
    tell it did not complete; a multi-fidelity trial still needs its top
    resource), as ``Stopped`` when its last report was answered STOP
    (``st_decision``), else by its last row's status (``Failed``, ``Paused``...).
    """
    if "st_final_status" in df.columns:
        return dict(zip(df["trial_id"], df["st_final_status"].astype(str)))
    if "st_status" not in df.columns:
        return {}
    status = {
        tid: COMPLETED if s == _IN_PROGRESS else s
        for tid, s in zip(df["trial_id"], df["st_status"].astype(str))
    }
    if "st_decision" in df.columns:
        stopped = df.groupby("trial_id", sort=False).tail(1)
        stopped = stopped[stopped["st_decision"].astype(str) == _STOP_DECISION]
        status.update(dict.fromkeys(stopped["trial_id"], STOPPED))
    done = df.loc[df["st_status"].astype(str) == COMPLETED, "trial_id"]
    status.update(dict.fromkeys(done, COMPLETED))
    return status
