"""What one trial's training job is (code, tags, request), and creating it.

Why apart: the backend decides *when* a trial gets a job; this module decides
*what* that job is from the ``TrainingJobSpec``, and what a failed
``CreateTrainingJob`` means. A job that cannot be created (e.g.
``ResourceLimitExceeded`` when ``n_workers`` exceeds the instance quota) is a
failed trial, never a crashed Tuner; a retry whose first response was lost
finds the job already there and uses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _packaging
from ._clients import call_with_retries, describe_error, error_code
from ._sagemaker_jobs import (
    CHECKPOINT_DIR_HP,
    CONTAINER_CHECKPOINT_DIR,
    build_create_training_job_request,
    encode_hyperparameters,
    framework_hyperparameters,
    metric_definitions,
)
from ._sagemaker_trials import mark_create_failed

if TYPE_CHECKING:
    from ._clients import ClientFactory
    from ._sagemaker_trials import _JobRun
    from .spec import TrainingJobSpec

# Records keep the backend's logger name, as before these helpers moved out of it.
logger = logging.getLogger("syne_autoterm.backends.sagemaker")


def build_trial_sourcedir(spec: TrainingJobSpec) -> tuple[bytes, str]:
    """``sourcedir.tar.gz`` bytes and the entry point's path inside it."""
    entry_point = str(spec.entry_point)
    extra = _packaging.dependency_files(spec.dependencies)
    program = None
    requirements: list[str] = []
    pkg = _packaging.package_root()
    entry = Path(entry_point).resolve()
    if spec.source_dir is None and pkg in entry.parents:
        # The script imports the package (e.g. syne_autoterm.workloads):
        # ship the package with its layout so ``python syne_autoterm/...`` works.
        extra.update(_packaging.collect_files(pkg, pkg.name))
        program = entry.relative_to(pkg.parent).as_posix()
        requirements += _packaging.DEFAULT_REQUIREMENTS
    requirements += list(spec.requirements or ())
    blobs = {}
    if requirements:
        existing = Path(spec.source_dir or "") / "requirements.txt"
        if spec.source_dir and existing.is_file():
            # Keep the user's own requirements and add ours after them.
            requirements = existing.read_text().splitlines() + requirements
        blobs["requirements.txt"] = _packaging.requirements_bytes(requirements)
    return _packaging.build_sourcedir_tarball(
        entry_point,
        spec.source_dir,
        extra_files=extra,
        extra_bytes=blobs,
        program=program,
    )


def trial_tags(spec: TrainingJobSpec, tuner_name: str, trial_id: int) -> list[dict[str, str]]:
    """The user's tags, then ours (which find the job again after a crash) unless overridden."""
    own = [
        {"Key": "syne-autoterm:tuner-name", "Value": tuner_name[:256]},
        {"Key": "syne-autoterm:trial-id", "Value": str(trial_id)},
    ]
    user_keys = {t["Key"] for t in spec.tags}
    return list(spec.tags) + [t for t in own if t["Key"] not in user_keys]


def trial_request(
    spec: TrainingJobSpec,
    *,
    job_name: str,
    config: dict[str, Any],
    code: tuple[str, str],
    region: str | None,
    output_s3_uri: str,
    checkpoint_s3_uri: str | None,
    tags: list[dict[str, str]],
) -> dict[str, Any]:
    """The ``CreateTrainingJob`` request of one job; ``code`` is (sourcedir URI, program)."""
    source_uri, program = code
    extra = {CHECKPOINT_DIR_HP: CONTAINER_CHECKPOINT_DIR}
    extra.update(framework_hyperparameters(program, source_uri, region))
    return build_create_training_job_request(
        job_name=job_name,
        image_uri=spec.image_uri,
        role_arn=spec.role_arn,
        hyperparameters=encode_hyperparameters(config, extra),
        instance_type=spec.instance_type,
        instance_count=spec.instance_count,
        volume_size_gb=spec.volume_size_gb,
        max_run_seconds=spec.max_run_seconds,
        output_s3_uri=output_s3_uri,
        checkpoint_s3_uri=checkpoint_s3_uri,
        use_spot=spec.use_spot,
        max_wait_seconds=spec.max_wait_seconds,
        environment=spec.environment,
        tags=tags,
        metric_defs=metric_definitions(spec.metrics_names),
        extra_request=spec.extra_create_request,
    )


def create_job(
    clients: ClientFactory,
    request: dict[str, Any],
    run: _JobRun,
    trial_id: int,
    *,
    attempts: int,
    sleep: Callable[[float], None],
) -> bool:
    """Send ``CreateTrainingJob``; False (and ``run`` failed) when the job cannot exist."""
    try:
        call_with_retries(
            lambda: clients.client("sagemaker").create_training_job(**request),
            what=f"CreateTrainingJob {run.job_name}",
            attempts=attempts,
            sleep=sleep,
        )
    except Exception as exc:  # noqa: BLE001 - classified below
        if error_code(exc) == "ResourceInUse":
            # A retry after a lost response: the job exists, which is what we wanted.
            logger.info("training job %s already exists; using it", run.job_name)
        else:
            # Reported as a failed trial rather than crashing the Tuner: e.g.
            # ResourceLimitExceeded when n_workers exceeds the instance quota.
            mark_create_failed(run, f"CreateTrainingJob failed: {describe_error(exc)}")
            logger.error("trial %d: %s", trial_id, run.create_error)
            return False
    return True
