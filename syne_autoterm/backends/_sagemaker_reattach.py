"""Find the training jobs of a tuning run that its saved state does not know.

Why: the tuner saves its state (``tuner.dill``) between loop iterations, but
it creates a job and only then saves. A tuning process killed in between
leaves a job that runs, bills and reports, yet is absent from the state it
will be resumed from. Every job of a run carries the backend's random run
token in its name (``<prefix>-<token>-<trial_id>[-r<attempt>]``) and the tuner
name in a tag, so ``ListTrainingJobs(NameContains=-<token>-)`` plus a tag check
finds them, and ``DescribeTrainingJob`` gives back their trial config.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from ._clients import describe_error
from ._sagemaker_jobs import CHECKPOINT_DIR_HP, decode_hyperparameters

logger = logging.getLogger(__name__)

#: Tag written on every trial job (see ``SageMakerBackend._trial_tags``).
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
