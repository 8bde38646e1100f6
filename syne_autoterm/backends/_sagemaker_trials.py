"""A trial's SageMaker jobs as the backend remembers them, and what they mean to the Tuner.

Why apart from the backend: this is the state ``tuner.dill`` carries between
restarts, and every answer the Tuner gets (a trial's status, its results, its
log) is read off it. Keeping those readings as functions of the state, with no
client in sight, makes them the same whether the state is fresh or resumed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syne_tune.backend.trial_status import Status

from .._moved import pickled_as
from ._sagemaker_jobs import SAGEMAKER_TO_TRIAL_STATUS, TERMINAL_JOB_STATUSES
from ._sagemaker_logs import JobLogTail

# Records keep the backend's logger name, as before these helpers moved out of it.
logger = logging.getLogger("syne_autoterm.backends.sagemaker")

#: Where saved tuner states have always found these classes.
_PICKLED_MODULE = "syne_autoterm.backends.sagemaker"


@pickled_as(_PICKLED_MODULE)
@dataclass
class _JobRun:
    """One SageMaker training job; a trial has several when it was resumed."""

    job_name: str
    created_at: float
    logs: JobLogTail
    sm_status: str = "InProgress"
    secondary_status: str | None = None
    failure_reason: str | None = None
    training_end_time: datetime | None = None
    last_poll: float = float("-inf")
    terminal_seen_at: float | None = None
    final_drained: bool = False
    metrics_copied: int = 0
    stop_requested: bool = False
    stop_sent: bool = False
    create_error: str | None = None


@pickled_as(_PICKLED_MODULE)
@dataclass
class _TrialState:
    checkpoint_s3_uri: str | None
    runs: list[_JobRun] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    override: str | None = None  # Status.paused / Status.stopped (scheduler decision)
    no_metrics_reported: bool = False


def new_run(job_name: str, now: float, page_limit: int | None) -> _JobRun:
    return _JobRun(
        job_name=job_name,
        created_at=now,
        logs=JobLogTail(job_name=job_name, page_limit=page_limit),
    )


def mark_create_failed(run: _JobRun, error: str) -> None:
    """A job that never started: failed at once, with nothing left to read."""
    run.create_error = error
    run.sm_status = "Failed"
    run.terminal_seen_at = float("-inf")
    run.final_drained = True


def copy_new_metrics(st: _TrialState, run: _JobRun) -> None:
    # Only the trial's current job feeds its results: late events of a
    # paused predecessor must not interleave with the resumed job's.
    new = run.logs.metrics[run.metrics_copied :] if run is st.runs[-1] else []
    if new:
        st.metrics.extend(new)
        run.metrics_copied += len(new)


def trial_status(trial_id: int, st: _TrialState) -> str:
    """The Syne Tune status of a trial: the scheduler's decision first, then its job's."""
    if st.override is not None:
        return st.override
    if not st.runs:
        return Status.in_progress
    run = st.runs[-1]
    if run.create_error:
        return Status.failed
    if run.sm_status in TERMINAL_JOB_STATUSES and not run.final_drained:
        return Status.in_progress  # still reading the end of its log
    status = SAGEMAKER_TO_TRIAL_STATUS.get(run.sm_status, Status.in_progress)
    if status == Status.completed and not st.metrics:
        # Syne Tune raises on a completed trial without metrics; a failed
        # trial is the honest report and keeps the tuning run alive.
        if not st.no_metrics_reported:
            st.no_metrics_reported = True
            logger.warning(
                "trial %d: job %s completed without any [tune-metric] report; "
                "reporting it as failed",
                trial_id,
                run.job_name,
            )
        return Status.failed
    return status


def failure_reason(st: _TrialState | None) -> str | None:
    if st is None or not st.runs:
        return None
    run = st.runs[-1]
    return run.create_error or run.failure_reason


def running_trial_ids(trials: Mapping[int, _TrialState]) -> list[int]:
    out = []
    for trial_id, st in trials.items():
        if st.override is not None or not st.runs:
            continue
        run = st.runs[-1]
        if not run.create_error and not run.final_drained:
            out.append(trial_id)
    return sorted(out)


def draining_trial_ids(trials: Mapping[int, _TrialState]) -> list[int]:
    return sorted(
        tid
        for tid, st in trials.items()
        if st.override is None
        and st.runs
        and st.runs[-1].sm_status in TERMINAL_JOB_STATUSES
        and not st.runs[-1].final_drained
    )


def run_log_lines(run: _JobRun) -> list[str]:
    """One job's part of a trial's stdout: a header, why it failed, its CloudWatch lines."""
    out = [f"=== SageMaker training job {run.job_name}: {run.sm_status} ===\n"]
    if run.create_error:
        out.append(run.create_error + "\n")
    if run.failure_reason:
        out.append(f"FailureReason: {run.failure_reason}\n")
    out.extend(run.logs.lines)
    return out


def stderr_lines(st: _TrialState | None) -> list[str]:
    if st is None:
        return []
    out = ["(SageMaker writes stdout and stderr into one CloudWatch stream: see stdout)\n"]
    for run in st.runs:
        reason = run.create_error or run.failure_reason
        if reason:
            out.append(f"{run.job_name}: {reason}\n")
    return out
