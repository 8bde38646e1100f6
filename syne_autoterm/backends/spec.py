"""What a SageMaker training job needs, and how this process talks to AWS: two frozen settings.

Why: the backend (one job per trial), the remote launcher (one job running the
tuner) and the CLI (``--sm-*`` options) all describe the same thing, a
``CreateTrainingJob`` request. Keeping that description in one frozen object
means the three cannot drift apart (a new option is added once), a backend can
be built from the CLI's object as is, and a remote tuner can be checked to
rebuild exactly the spec the launching machine had.

* :class:`TrainingJobSpec`: the job itself (image, role, code, instances,
  spot/checkpoints, S3 paths, environment, tags). Validated at construction,
  so a bad role ARN or S3 URI fails before any AWS call.
* :class:`SessionSettings`: how the tuning process reaches AWS and how often
  it looks (region, endpoint, retries, poll interval, log grace). None of it
  changes a job.

Injected objects (boto3 session and clients, clock, sleep) are not settings:
they stay keyword arguments of the backend and launcher.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from . import _packaging
from ._clients import ClientFactory
from ._sagemaker_jobs import normalize_tags, validate_environment, validate_role_arn


@dataclass(frozen=True, kw_only=True)
class TrainingJobSpec:
    """One SageMaker training job (a trial, or the remote tuner), as the CLI's ``--sm-*`` say.

    Fields cannot be rebound (use :func:`dataclasses.replace`); the mappings
    are private copies made at construction, so a caller changing its dict later
    changes nothing here. Because it holds mappings it compares by value but is
    not hashable.

    :param image_uri: training image, e.g. a SageMaker PyTorch/SKLearn framework
        image (these run ``sagemaker_program`` from our ``sourcedir.tar.gz``)
    :param role_arn: execution role the jobs run as (an IAM role ARN)
    :param s3_prefix: ``s3://bucket/prefix``; code, outputs and (by default)
        checkpoints go below ``<s3_prefix>/<tuner-name>/``
    :param entry_point: training script (reports with ``syne_tune.Reporter``);
        ``None`` only for the remote tuner running the CLI's built-in script
    :param source_dir: folder shipped with the entry point (must contain it);
        a ``requirements.txt`` in it is pip-installed by framework images
    :param dependencies: extra folders/files shipped next to the entry point
        under their own name (as in the SageMaker SDK), so they can be imported
    :param requirements: extra pip specs for ``requirements.txt``, added after
        the lines of ``source_dir/requirements.txt`` (and after the package's
        own dependencies when the package is shipped)
    :param instance_type, instance_count, volume_size_gb: ``ResourceConfig``
    :param max_run_seconds: ``MaxRuntimeInSeconds`` of each job
    :param use_spot: managed spot training; ``max_wait_seconds`` defaults to
        ``2 * max_run_seconds``. Spot jobs always get a ``CheckpointConfig``
    :param checkpoint_s3_uri: base for per-trial checkpoints
        (``<base>/<tuner-name>/<trial_id>``); default ``<s3_prefix>/<tuner-name>/checkpoints``
    :param environment: container environment variables (values never logged)
    :param tags: ``{"k": "v"}`` or ``[{"Key":..., "Value":...}]``, stored in the
        second form; trial id and tuner name tags are added for cost attribution
    :param job_name_prefix: first part of every job name (sanitised/truncated)
    :param metrics_names: metric names plotted in the SageMaker console (cosmetic)
    :param extra_create_request: fields merged into every ``CreateTrainingJob``
        request (``VpcConfig``, ``InputDataConfig``, ...)
    """

    image_uri: str
    role_arn: str
    s3_prefix: str
    entry_point: str | None = None
    source_dir: str | None = None
    dependencies: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_run_seconds: int = 86400
    use_spot: bool = False
    max_wait_seconds: int | None = None
    checkpoint_s3_uri: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)  # may be secrets
    #: Given as ``{"k": "v"}`` or ``[{"Key": ..., "Value": ...}]``; kept in the second form.
    tags: tuple[dict[str, str], ...] = ()
    job_name_prefix: str = "autoterm"
    metrics_names: tuple[str, ...] = ()
    extra_create_request: Mapping[str, Any] = field(default_factory=dict)

    __hash__ = None  # type: ignore[assignment]  # holds mappings: compare, never hash

    def __post_init__(self) -> None:
        # The checks the backend always made at construction: a bad value fails
        # here, before anything is uploaded or created.
        validate_role_arn(self.role_arn)
        _packaging.parse_s3_uri(self.s3_prefix)
        if self.checkpoint_s3_uri is not None:
            _packaging.parse_s3_uri(self.checkpoint_s3_uri)
        s = object.__setattr__
        s(self, "s3_prefix", self.s3_prefix.rstrip("/"))
        s(self, "entry_point", None if self.entry_point is None else str(self.entry_point))
        s(self, "source_dir", None if self.source_dir is None else str(self.source_dir))
        s(self, "dependencies", tuple(str(d) for d in self.dependencies or ()))
        s(self, "requirements", tuple(str(r) for r in self.requirements or ()))
        s(self, "instance_count", int(self.instance_count))
        s(self, "volume_size_gb", int(self.volume_size_gb))
        s(self, "max_run_seconds", int(self.max_run_seconds))
        s(self, "use_spot", bool(self.use_spot))
        s(self, "environment", validate_environment(self.environment))
        s(self, "tags", tuple(normalize_tags(self.tags)))
        s(self, "metrics_names", tuple(str(m) for m in self.metrics_names or ()))
        s(self, "extra_create_request", dict(self.extra_create_request or {}))


@dataclass(frozen=True, kw_only=True)
class SessionSettings:
    """How the tuning process reaches AWS and how often it looks; no job depends on these.

    :param region_name, endpoint_url: where boto3 clients point (default: the
        boto3 default region; endpoint only for tests and private endpoints)
    :param retry_mode, max_attempts: botocore's retry policy per call
        (``max_attempts`` in botocore's meaning: retries after the first attempt);
        a poll that still fails is tried again at the next poll
    :param create_attempts: our own retries of throttled ``CreateTrainingJob``
        (on top of botocore's), so a busy account delays a trial instead of failing it
    :param poll_interval: minimum seconds between two polls of one job
        (DescribeTrainingJob + CloudWatch); results can be this much late
    :param final_log_grace_seconds: after a job turns terminal, keep reading its
        log for this long, because CloudWatch ingestion lags behind the job status
    :param log_page_limit: events per ``GetLogEvents`` page (``None``: the API's default)
    :param mirror_state: copy ``tuner.dill`` to ``<s3_prefix>/<tuner-name>/state/``
        after every save, so a run can be resumed from another machine and
        ``syne-autoterm stop`` reaches it through S3
    :param stop_check_interval: minimum seconds between two looks for the S3
        stop marker written by ``syne-autoterm stop``
    """

    region_name: str | None = None
    endpoint_url: str | None = None
    retry_mode: str = "standard"
    max_attempts: int = 10
    create_attempts: int = 5
    poll_interval: float = 10.0
    final_log_grace_seconds: float = 10.0
    log_page_limit: int | None = None
    mirror_state: bool = True
    stop_check_interval: float = 30.0

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "max_attempts", int(self.max_attempts))
        s(self, "create_attempts", int(self.create_attempts))
        s(self, "poll_interval", float(self.poll_interval))
        s(self, "final_log_grace_seconds", float(self.final_log_grace_seconds))
        s(self, "mirror_state", bool(self.mirror_state))
        s(self, "stop_check_interval", float(self.stop_check_interval))

    def client_factory(self, boto_session: Any = None, **clients: Any) -> ClientFactory:
        """boto3 clients made as these settings say; ``clients`` given by service name
        (``sagemaker=``, ``logs=``, ``s3=``; ``None`` for none) are used as they are."""
        factory = ClientFactory(
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            retry_mode=self.retry_mode,
            max_attempts=self.max_attempts,
            boto_session=boto_session,
        )
        factory.clients.update({k: v for k, v in clients.items() if v is not None})
        return factory


SPEC_FIELDS = frozenset(f.name for f in fields(TrainingJobSpec))
SESSION_FIELDS = frozenset(f.name for f in fields(SessionSettings))


def settings_from_keywords(
    spec: TrainingJobSpec | None,
    session: SessionSettings | None,
    keywords: dict[str, Any],
    *,
    caller: str,
    spec_defaults: Mapping[str, Any] | None = None,
) -> tuple[TrainingJobSpec, SessionSettings]:
    """The settings a caller gets, from the new objects or from the old flat keywords.

    Why: ``SageMakerBackend(entry_point=..., image_uri=..., ...)`` and
    ``launch_remote(..., image_uri=...)`` were the only forms before the
    settings were grouped; they keep working (with a ``DeprecationWarning``) by
    sorting each keyword into the object it belongs to. Mixing an object with
    flat keywords for the same object is refused, so no value is silently lost.

    :param keywords: the flat keywords the caller received; consumed
    :param spec_defaults: defaults that differ from the spec's for this caller
        (the remote tuner job runs longer and has its own name prefix)
    """
    unknown = set(keywords) - SPEC_FIELDS - SESSION_FIELDS
    if unknown:
        raise TypeError(f"{caller}() got unexpected keyword arguments: {sorted(unknown)}")
    spec_kw = {k: keywords.pop(k) for k in list(keywords) if k in SPEC_FIELDS}
    session_kw = {k: keywords.pop(k) for k in list(keywords) if k in SESSION_FIELDS}
    for given, flat, name in ((spec, spec_kw, "spec"), (session, session_kw, "session")):
        if given is not None and flat:
            raise TypeError(
                f"{caller}(): give either {name}= or its fields {sorted(flat)} as keywords, "
                "not both"
            )
    if spec_kw or session_kw:
        warnings.warn(
            f"{caller}(field=..., ...) is deprecated: pass spec=TrainingJobSpec(...) "
            "and session=SessionSettings(...)",
            DeprecationWarning,
            stacklevel=3,
        )
    if spec is not None and not isinstance(spec, TrainingJobSpec):
        raise TypeError(
            f"{caller}(): spec must be a TrainingJobSpec, got {type(spec).__name__} "
            "(the old positional form is gone: pass spec=TrainingJobSpec(...))"
        )
    if spec is None:
        defaults = dict(spec_defaults or {})
        missing = {"image_uri", "role_arn", "s3_prefix"} - set(spec_kw) - set(defaults)
        if missing:
            raise TypeError(f"{caller}() needs spec= (or the keywords {sorted(missing)})")
        spec = TrainingJobSpec(**{**defaults, **spec_kw})
    if session is None:
        session = SessionSettings(**session_kw)
    return spec, session


def spec_from_legacy_state(state: dict[str, Any]) -> tuple[TrainingJobSpec, SessionSettings]:
    """Rebuild the settings of a backend pickled before they were grouped (pops the flat keys).

    Why: a ``tuner.dill`` saved by an older version must still resume
    (``tune --resume``); its backend kept each setting as its own attribute.
    Values are taken as saved, without re-validation: they were valid then.
    """
    spec_kw = {k: state.pop(k) for k in list(state) if k in SPEC_FIELDS}
    session_kw = {k: state.pop(k) for k in list(state) if k in SESSION_FIELDS}
    spec = object.__new__(TrainingJobSpec)
    for f in fields(TrainingJobSpec):
        value = spec_kw.get(f.name, _default(f))
        if isinstance(value, list):
            value = tuple(value)
        object.__setattr__(spec, f.name, value)
    clients = state.get("_clients")
    for name in ("region_name", "endpoint_url", "retry_mode", "max_attempts"):
        if name not in session_kw and hasattr(clients, name):
            session_kw[name] = getattr(clients, name)
    return spec, SessionSettings(**session_kw)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None
