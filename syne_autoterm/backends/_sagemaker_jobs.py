"""Training-job naming and ``CreateTrainingJob`` request building.

Why pure functions: everything SageMaker will reject (a name one character too
long, a hyperparameter that is not a string, a spot job without
``MaxWaitTimeInSeconds``) is decided here, without any client, so it can be
unit- and property-tested, and the backend only sends requests that are valid
by construction.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

from syne_tune.backend.trial_status import Status
from syne_tune.constants import ST_CHECKPOINT_DIR, ST_METRIC_TAG

#: SageMaker's limit and pattern for ``TrainingJobName``.
JOB_NAME_MAX_LEN = 63
JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

#: SageMaker API limits on ``HyperParameters`` (a map of str -> str).
HP_MAX_ENTRIES = 100
HP_KEY_MAX_LEN = 256
HP_VALUE_MAX_LEN = 2500
#: Limits on ``Environment`` (map of str -> str) and ``Tags``.
ENV_MAX_ENTRIES = 100
ENV_KEY_MAX_LEN = 512
ENV_VALUE_MAX_LEN = 512
TAGS_MAX = 50
#: At most 40 metric definitions are accepted per job.
METRIC_DEFINITIONS_MAX = 40

#: Where SageMaker syncs ``CheckpointConfig.S3Uri`` inside the container.
CONTAINER_CHECKPOINT_DIR = "/opt/ml/checkpoints"

_ROLE_ARN_PATTERN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@\-/]+$")

#: SageMaker ``TrainingJobStatus`` -> Syne Tune trial status. The strings happen
#: to coincide in Syne Tune, but we map explicitly so a new SageMaker status
#: can never leak into the Tuner.
SAGEMAKER_TO_TRIAL_STATUS = {
    "InProgress": Status.in_progress,
    "Completed": Status.completed,
    "Failed": Status.failed,
    "Stopping": Status.stopping,
    "Stopped": Status.stopped,
}
TERMINAL_JOB_STATUSES = frozenset({"Completed", "Failed", "Stopped"})


def sanitize_name_part(text: str, fallback: str = "autoterm") -> str:
    """Map arbitrary text to ``[a-zA-Z0-9-]`` with alphanumeric ends."""
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", str(text)).strip("-")
    return cleaned or fallback


def make_job_name(prefix: str, run_token: str, trial_id: int, attempt: int = 0) -> str:
    """A unique, valid SageMaker training-job name for one run of one trial.

    Layout: ``<prefix>-<run_token>-<trial_id>[-r<attempt>]``. SageMaker job names
    are unique per account and region *forever* (a name cannot be reused even
    after the job is gone), so ``run_token`` is random per backend instance and
    a resumed trial gets a new ``-r<attempt>`` suffix. Only the prefix is ever
    truncated, so distinct ``(trial_id, attempt)`` pairs give distinct names.
    """
    if trial_id < 0 or attempt < 0:
        raise ValueError(f"trial_id and attempt must be >= 0, got {trial_id}, {attempt}")
    token = sanitize_name_part(run_token, fallback="x")
    suffix = f"-{token}-{trial_id}" + (f"-r{attempt}" if attempt else "")
    room = JOB_NAME_MAX_LEN - len(suffix)
    if room < 1:
        raise ValueError(f"trial id {trial_id} / attempt {attempt} do not fit a job name")
    head = sanitize_name_part(prefix)[:room].rstrip("-") or "j"
    name = head + suffix
    assert is_valid_job_name(name), name
    return name


def is_valid_job_name(name: str) -> bool:
    return len(name) <= JOB_NAME_MAX_LEN and JOB_NAME_PATTERN.match(name) is not None


def _json_default(obj: Any) -> Any:
    """Make numpy scalars/arrays, paths and other odd values JSON-serialisable."""
    item = getattr(obj, "item", None)
    if callable(item) and getattr(obj, "shape", None) == ():
        return item()
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def encode_hyperparameter_value(value: Any) -> str:
    """JSON-encode one value, the convention of the SageMaker training toolkit.

    Framework images (PyTorch, SKLearn, HuggingFace, ...) ``json.loads`` every
    hyperparameter and pass it to the entry point as ``--name value``, so a
    config ``{"lr": 0.1, "opt": "adam"}`` arrives as ``--lr 0.1 --opt adam``,
    exactly as with Syne Tune's ``LocalBackend``. Non-finite floats are kept
    (``NaN``/``Infinity``) because Python's ``json`` reads them back.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value, allow_nan=True)
    return json.dumps(value, default=_json_default, allow_nan=True)


def encode_hyperparameters(
    config: Mapping[str, Any], extra: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Trial config (+ framework keys) -> SageMaker ``HyperParameters``.

    Raises ``ValueError`` naming the offending key when a SageMaker limit is
    exceeded, instead of letting ``CreateTrainingJob`` fail with a generic
    ``ValidationException`` in the middle of a tuning run.
    """
    merged: dict[str, Any] = dict(config)
    if extra:
        merged.update(extra)
    if len(merged) > HP_MAX_ENTRIES:
        raise ValueError(
            f"SageMaker accepts at most {HP_MAX_ENTRIES} hyperparameters, got {len(merged)}"
        )
    out: dict[str, str] = {}
    for key, value in merged.items():
        skey = str(key)
        if not 0 < len(skey) <= HP_KEY_MAX_LEN:
            raise ValueError(
                f"hyperparameter name {skey[:40]!r}... is longer than {HP_KEY_MAX_LEN}"
            )
        svalue = encode_hyperparameter_value(value)
        if len(svalue) > HP_VALUE_MAX_LEN:
            raise ValueError(
                f"hyperparameter {skey!r} encodes to {len(svalue)} characters; "
                f"SageMaker allows {HP_VALUE_MAX_LEN}"
            )
        out[skey] = svalue
    return out


def decode_hyperparameters(hps: Mapping[str, str]) -> dict[str, Any]:
    """Inverse of :func:`encode_hyperparameters` (minus ``sagemaker_*`` keys)."""
    out: dict[str, Any] = {}
    for key, value in hps.items():
        if key.startswith("sagemaker_"):
            continue
        try:
            out[key] = json.loads(value)
        except (TypeError, ValueError):
            out[key] = value
    return out


def framework_hyperparameters(
    program: str, submit_directory: str, region: str | None, log_level: int = 20
) -> dict[str, Any]:
    """The ``sagemaker_*`` keys that make framework images run ``program``.

    The SageMaker training toolkit downloads ``sagemaker_submit_directory``
    (our ``sourcedir.tar.gz``), installs its ``requirements.txt`` if any and
    runs ``sagemaker_program`` with the remaining hyperparameters as CLI args.
    """
    hps: dict[str, Any] = {
        "sagemaker_program": program,
        "sagemaker_submit_directory": submit_directory,
        "sagemaker_container_log_level": log_level,
    }
    if region:
        hps["sagemaker_region"] = region
    return hps


def metric_definitions(metric_names: Iterable[str]) -> list[dict[str, str]]:
    """Regexes so the SageMaker console plots reported metrics (cosmetic only).

    Syne Tune reads metrics from the logs itself; these definitions only feed
    SageMaker's own metric graphs, which accept at most 40 metrics.
    """
    defs = []
    for name in metric_names:
        regex = (
            rf"\[{re.escape(ST_METRIC_TAG)}\]: .*\"{re.escape(name)}\": "
            r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
        )
        defs.append({"Name": name, "Regex": regex})
    return defs[:METRIC_DEFINITIONS_MAX]


def normalize_tags(
    tags: Mapping[str, str] | Iterable[Mapping[str, str]] | None,
) -> list[dict[str, str]]:
    """Accept ``{"k": "v"}`` or ``[{"Key": "k", "Value": "v"}]``."""
    if not tags:
        return []
    if isinstance(tags, Mapping):
        return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in tags]


def validate_environment(environment: Mapping[str, str] | None) -> dict[str, str]:
    env = {str(k): str(v) for k, v in (environment or {}).items()}
    if len(env) > ENV_MAX_ENTRIES:
        raise ValueError(f"SageMaker accepts at most {ENV_MAX_ENTRIES} environment variables")
    for k, v in env.items():
        if len(k) > ENV_KEY_MAX_LEN or len(v) > ENV_VALUE_MAX_LEN:
            # Value deliberately not shown: environment variables may hold secrets.
            raise ValueError(f"environment variable {k[:40]!r} exceeds SageMaker's length limits")
    return env


def validate_role_arn(role_arn: str) -> str:
    if not _ROLE_ARN_PATTERN.match(role_arn or ""):
        raise ValueError(
            f"role_arn {role_arn!r} is not an IAM role ARN "
            "(expected arn:aws:iam::<account-id>:role/<name>)"
        )
    return role_arn


def build_create_training_job_request(
    *,
    job_name: str,
    image_uri: str,
    role_arn: str,
    hyperparameters: Mapping[str, str],
    instance_type: str,
    instance_count: int,
    volume_size_gb: int,
    max_run_seconds: int,
    output_s3_uri: str,
    checkpoint_s3_uri: str | None = None,
    use_spot: bool = False,
    max_wait_seconds: int | None = None,
    environment: Mapping[str, str] | None = None,
    tags: list[dict[str, str]] | None = None,
    metric_defs: list[dict[str, str]] | None = None,
    extra_request: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``sagemaker_client.create_training_job``.

    ``extra_request`` is merged last and lets users add fields we do not model
    (``VpcConfig``, ``InputDataConfig``, ``EnableNetworkIsolation``, KMS keys).
    """
    if not is_valid_job_name(job_name):
        raise ValueError(f"invalid SageMaker job name {job_name!r}")
    if instance_count < 1 or volume_size_gb < 1 or max_run_seconds < 1:
        raise ValueError("instance_count, volume_size_gb and max_run_seconds must be >= 1")
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": int(max_run_seconds)}
    if use_spot:
        wait = int(max_wait_seconds) if max_wait_seconds is not None else 2 * int(max_run_seconds)
        if wait < max_run_seconds:
            raise ValueError("max_wait_seconds must be >= max_run_seconds for spot training")
        stopping["MaxWaitTimeInSeconds"] = wait
    algo: dict[str, Any] = {"TrainingImage": image_uri, "TrainingInputMode": "File"}
    if metric_defs:
        algo["MetricDefinitions"] = list(metric_defs)
    request: dict[str, Any] = {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": algo,
        "RoleArn": role_arn,
        "HyperParameters": dict(hyperparameters),
        "OutputDataConfig": {"S3OutputPath": output_s3_uri},
        "ResourceConfig": {
            "InstanceType": instance_type,
            "InstanceCount": int(instance_count),
            "VolumeSizeInGB": int(volume_size_gb),
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": bool(use_spot),
    }
    if checkpoint_s3_uri:
        request["CheckpointConfig"] = {
            "S3Uri": checkpoint_s3_uri,
            "LocalPath": CONTAINER_CHECKPOINT_DIR,
        }
    if environment:
        request["Environment"] = dict(environment)
    if tags:
        if len(tags) > TAGS_MAX:
            raise ValueError(f"SageMaker accepts at most {TAGS_MAX} tags")
        request["Tags"] = list(tags)
    if extra_request:
        request.update(extra_request)
    return request


#: Hyperparameter that tells the entry point where checkpoints live (as with LocalBackend).
CHECKPOINT_DIR_HP = ST_CHECKPOINT_DIR
