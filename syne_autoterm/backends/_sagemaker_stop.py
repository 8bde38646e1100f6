"""``StopTrainingJob`` for a trial's job, and the stops still owed after a throttled call.

Why apart: a stop that does not arrive leaves a job running, and billing, until
``MaxRuntimeInSeconds``. So every answer is classified: a job that already
finished is stopped; a throttled call is owed and retried on the next poll (and
by ``stop_all`` before the Tuner exits); a permission error is reported loudly
once instead of being retried forever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ._clients import call_with_retries, describe_error, error_code, is_transient
from ._sagemaker_jobs import TERMINAL_JOB_STATUSES

if TYPE_CHECKING:
    from ._clients import ClientFactory
    from ._sagemaker_trials import _JobRun, _TrialState
    from .sagemaker import SageMakerBackend

# Records keep the backend's logger name, as before these helpers moved out of it.
logger = logging.getLogger("syne_autoterm.backends.sagemaker")


def send_stop(
    clients: ClientFactory, run: _JobRun, sleep: Callable[[float], None], attempts: int = 5
) -> None:
    """Ask SageMaker to stop ``run``'s job; ``run.stop_sent`` says whether that is settled."""
    try:
        call_with_retries(
            lambda: clients.client("sagemaker").stop_training_job(TrainingJobName=run.job_name),
            what=f"StopTrainingJob {run.job_name}",
            attempts=attempts,
            sleep=sleep,
        )
        run.stop_sent = True
        logger.info("sent StopTrainingJob for %s", run.job_name)
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) == "ValidationException":
            # SageMaker answers this for jobs that already finished.
            run.stop_sent = True
            logger.info("job %s not stoppable (%s)", run.job_name, describe_error(exc))
        elif is_transient(exc):
            logger.warning(
                "StopTrainingJob %s throttled (%s); will retry on the next poll",
                run.job_name,
                describe_error(exc),
            )
        else:
            run.stop_sent = True  # do not retry a permission error forever
            logger.error(
                "could not stop SageMaker job %s (%s); it keeps running (and billing) "
                "until MaxRuntimeInSeconds: stop it in the console",
                run.job_name,
                describe_error(exc),
            )


def stop_once(clients: ClientFactory, run: _JobRun, sleep: Callable[[float], None]) -> None:
    """Stop ``run`` once: a job that never started or already ended needs no call."""
    if run.create_error or run.stop_requested:
        return
    run.stop_requested = True
    if run.sm_status in TERMINAL_JOB_STATUSES:
        run.stop_sent = True
        return
    send_stop(clients, run, sleep)


def owed_stops(trials: Iterable[_TrialState]) -> list[_JobRun]:
    """Jobs asked to stop whose ``StopTrainingJob`` has not gone through yet."""
    return [r for s in trials for r in s.runs if r.stop_requested and not r.stop_sent]


def stop_every_job(backend: SageMakerBackend) -> None:
    """Stop the current job of every trial not yet decided, then settle owed stops.

    Each trial is stopped through ``backend.stop_trial`` (so the Tuner's record
    says stopped too); a failure is logged and the others are still stopped.
    Throttled stops get three more tries, a second apart.
    """
    for trial_id in list(backend.trial_ids):
        st = backend._trials.get(trial_id)
        if st is None or not st.runs or st.override is not None:
            continue
        if st.runs[-1].final_drained:
            continue
        try:
            backend.stop_trial(trial_id=trial_id)
        except Exception as exc:  # noqa: BLE001 - keep stopping the others
            logger.error("stopping trial %d failed: %s", trial_id, describe_error(exc))
    for _ in range(3):
        if not owed_stops(backend._trials.values()):
            break
        backend._sleep(1.0)
        backend._retry_pending_stops()
