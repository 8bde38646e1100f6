"""One poll of one training job: its status from SageMaker, its new log lines.

Why apart: a tuning run polls every job every few seconds for hours, so this is
where AWS misbehaves most (throttling, a job not visible yet right after
creation, a log stream that vanished). Each of those keeps the last known state
and is tried again on the next poll; only an error that is neither transient
nor expected ends the poll with an exception.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ._clients import describe_error, error_code, is_transient
from ._sagemaker_jobs import TERMINAL_JOB_STATUSES
from ._sagemaker_trials import copy_new_metrics

if TYPE_CHECKING:
    from ._clients import ClientFactory
    from ._sagemaker_trials import _JobRun, _TrialState
    from .spec import SessionSettings

# Records keep the backend's logger name, as before these helpers moved out of it.
logger = logging.getLogger("syne_autoterm.backends.sagemaker")

#: A job that ``DescribeTrainingJob`` does not know yet is treated as starting
#: for this long (the API is eventually consistent right after creation).
NOT_FOUND_GRACE_SECONDS = 300.0


def poll_run(
    clients: ClientFactory,
    session: SessionSettings,
    trial_id: int,
    st: _TrialState,
    run: _JobRun,
    now: float,
) -> bool:
    """Read the job's status and new log events; True when a transient error was absorbed.

    The job's log is read to its end once it has been terminal for
    ``final_log_grace_seconds`` (CloudWatch delivers the last lines late).
    """
    try:
        if run.sm_status not in TERMINAL_JOB_STATUSES:
            describe_job(clients.client("sagemaker"), trial_id, run, now)
        run.logs.poll(clients.client("logs"))
        if (
            run.terminal_seen_at is not None
            and now - run.terminal_seen_at >= session.final_log_grace_seconds
        ):
            run.logs.finish()
            run.final_drained = True
    except Exception as exc:
        # A log stream that vanished (retention, manual delete) is no reason
        # to end the tuning run either.
        if not is_transient(exc) and error_code(exc) != "ResourceNotFoundException":
            raise
        # Keep the last known state; the next poll resumes where this one stopped.
        logger.warning(
            "trial %d: transient AWS error while polling %s (%s); retrying on next poll",
            trial_id,
            run.job_name,
            describe_error(exc),
        )
        return True
    finally:
        copy_new_metrics(st, run)
    return False


def describe_job(sagemaker_client: Any, trial_id: int, run: _JobRun, now: float) -> None:
    """Update ``run`` from ``DescribeTrainingJob``; note when it first turned terminal."""
    try:
        desc = sagemaker_client.describe_training_job(TrainingJobName=run.job_name)
    except Exception as exc:
        if (
            error_code(exc) == "ValidationException"
            and now - run.created_at < NOT_FOUND_GRACE_SECONDS
        ):
            logger.info("job %s not visible yet: %s", run.job_name, describe_error(exc))
            return
        raise
    status = desc.get("TrainingJobStatus", run.sm_status)
    run.secondary_status = desc.get("SecondaryStatus")
    if desc.get("TrainingEndTime") is not None:
        run.training_end_time = desc["TrainingEndTime"]
    if status in TERMINAL_JOB_STATUSES and run.sm_status not in TERMINAL_JOB_STATUSES:
        run.terminal_seen_at = now
        if status == "Failed":
            run.failure_reason = desc.get("FailureReason") or "(no FailureReason given)"
            logger.warning(
                "trial %d: SageMaker job %s failed: %s",
                trial_id,
                run.job_name,
                run.failure_reason,
            )
        else:
            logger.info("trial %d: SageMaker job %s is %s", trial_id, run.job_name, status)
    run.sm_status = status
