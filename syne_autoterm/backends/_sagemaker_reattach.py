"""Carry on with a backend loaded from a saved state: find and adopt the jobs it missed.

Why: the tuner saves its state (``tuner.dill``) between loop iterations, but
it creates a job and only then saves. A tuning process killed in between
leaves a job that runs, bills and reports, yet is absent from the state it
will be resumed from. Every job of a run carries the backend's random run
token in its name (``<prefix>-<token>-<trial_id>[-r<attempt>]``) and the tuner
name in a tag, so ``ListTrainingJobs(NameContains=-<token>-)`` plus a tag check
finds them, and ``DescribeTrainingJob`` gives back their trial config.
:func:`reattach` then adopts them as trials.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from syne_tune.backend.trial_status import Status, TrialResult

from ._clients import describe_error
from ._sagemaker_jobs import CHECKPOINT_DIR_HP, decode_hyperparameters, make_job_name
from ._sagemaker_trials import _TrialState, new_run

if TYPE_CHECKING:
    from .sagemaker import SageMakerBackend

logger = logging.getLogger(__name__)
# What is logged while adopting keeps the backend's logger name, as before it moved here.
_backend_logger = logging.getLogger("syne_autoterm.backends.sagemaker")

#: Tag written on every trial job (see ``_sagemaker_schedule.trial_tags``).
TUNER_NAME_TAG = "syne-autoterm:tuner-name"


@dataclass(frozen=True)
class FoundJob:
    """One training job of the run, as SageMaker reports it."""

    job_name: str
    trial_id: int
    attempt: int
    status: str
    config: dict[str, Any]


def parse_job_name(job_name: str, run_token: str) -> tuple[int, int] | None:
    """``(trial_id, attempt)`` of a job name made by ``make_job_name``, else ``None``."""
    m = re.search(rf"-{re.escape(run_token)}-(\d+)(?:-r(\d+))?$", job_name)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2) or 0)


def _list_names(sagemaker_client: Any, run_token: str) -> list[str]:
    names: list[str] = []
    kwargs: dict[str, Any] = {"NameContains": f"-{run_token}-", "MaxResults": 100}
    seen: set[str] = set()
    while True:
        resp = sagemaker_client.list_training_jobs(**kwargs)
        names += [s["TrainingJobName"] for s in resp.get("TrainingJobSummaries", [])]
        token = resp.get("NextToken")
        if not token or token in seen:
            return names
        seen.add(token)
        kwargs["NextToken"] = token


def _tagged_for(sagemaker_client: Any, arn: str | None, tuner_name: str) -> bool:
    """False only if the job's tags name another tuner (tags unreadable: trust the name)."""
    if not arn:
        return True
    try:
        tags = sagemaker_client.list_tags(ResourceArn=arn).get("Tags", [])
    except Exception as exc:  # noqa: BLE001 - the name match alone is strong evidence
        logger.info("cannot read tags of %s (%s); using the name match", arn, describe_error(exc))
        return True
    value = {t.get("Key"): t.get("Value") for t in tags}.get(TUNER_NAME_TAG)
    return value is None or value == tuner_name[:256]


def find_run_jobs(
    sagemaker_client: Any, run_token: str, tuner_name: str, known: set[str]
) -> list[FoundJob]:
    """Jobs of this run (token in the name, tuner tag) whose names are not in ``known``.

    Sorted by trial id then attempt, so they can be adopted in creation order.
    """
    found: list[FoundJob] = []
    for name in _list_names(sagemaker_client, run_token):
        parsed = parse_job_name(name, run_token)
        if parsed is None or name in known:
            continue
        desc = sagemaker_client.describe_training_job(TrainingJobName=name)
        if not _tagged_for(sagemaker_client, desc.get("TrainingJobArn"), tuner_name):
            continue
        config = decode_hyperparameters(desc.get("HyperParameters", {}))
        config.pop(CHECKPOINT_DIR_HP, None)
        found.append(
            FoundJob(
                job_name=name,
                trial_id=parsed[0],
                attempt=parsed[1],
                status=desc.get("TrainingJobStatus", "InProgress"),
                config=config,
            )
        )
    return sorted(found, key=lambda j: (j.trial_id, j.attempt))


def reattach(backend: SageMakerBackend, now: float) -> list[int]:
    """Prepare ``backend`` (just loaded) to carry on; return the trial ids it adopted.

    See :meth:`SageMakerBackend.reattach <syne_autoterm.backends.SageMakerBackend.reattach>`.
    """
    _restart_clocks(backend._trials.values(), now)
    known = {r.job_name for st in backend._trials.values() for r in st.runs}
    adopted: list[int] = []
    page_limit = backend.session.log_page_limit
    sagemaker_client = backend.sagemaker_client
    for job in find_run_jobs(sagemaker_client, backend._run_token, backend.tuner_name, known):
        if job.trial_id < len(backend.trial_ids):
            state = backend._trials.get(job.trial_id)
            if state is not None and job.attempt == len(state.runs):
                state.runs.append(new_run(job.job_name, now, page_limit))
                state.override = None
                _backend_logger.warning("re-attached job %s (trial %d)", job.job_name, job.trial_id)
            continue
        while len(backend.trial_ids) < job.trial_id:
            adopted.append(_adopt(backend, len(backend.trial_ids), job.config, None, now))
        adopted.append(_adopt(backend, job.trial_id, job.config, job.job_name, now))
        _backend_logger.warning(
            "re-attached job %s (trial %d), created after the last saved state",
            job.job_name,
            job.trial_id,
        )
    return adopted


def _restart_clocks(trials: Iterable[_TrialState], now: float) -> None:
    """The saved times come from the dead process's monotonic clock: restart them at ``now``."""
    for st in trials:
        for run in st.runs:
            run.last_poll = float("-inf")
            run.created_at = now
            if run.terminal_seen_at is not None and run.terminal_seen_at != float("-inf"):
                run.terminal_seen_at = now


def _adopt(
    backend: SageMakerBackend,
    trial_id: int,
    config: dict[str, Any],
    job_name: str | None,
    now: float,
) -> int:
    """Register a trial the saved state lacks; without a job of its own it is failed."""
    page_limit = backend.session.log_page_limit
    st = _TrialState(checkpoint_s3_uri=backend.trial_checkpoint_s3_uri(trial_id))
    if job_name is None:
        name = make_job_name(backend.spec.job_name_prefix, backend._run_token, trial_id)
        run = new_run(name, now, page_limit)
        run.create_error = "no SageMaker job found for this trial after the resume"
        run.sm_status, run.final_drained = "Failed", True
    else:
        run = new_run(job_name, now, page_limit)
    st.runs.append(run)
    backend._trials[trial_id] = st
    backend.trial_ids.append(trial_id)
    backend._trial_dict[trial_id] = TrialResult(
        trial_id=trial_id,
        config=dict(config),
        creation_time=datetime.now(),
        status=Status.in_progress,
        metrics=[],
    )
    return trial_id
