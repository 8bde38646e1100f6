"""``--sm-*`` command-line options for ``syne-autoterm tune --backend sagemaker``.

The CLI (``syne_autoterm/cli/``) owns the sub-commands; this module owns
everything SageMaker-specific so the CLI stays free of boto3 details:

* :func:`add_sagemaker_arguments` adds an argument group to the ``tune`` parser;
* :func:`spec_from_args` / :func:`session_from_args` turn them into the
  ``TrainingJobSpec`` / ``SessionSettings`` that
  :func:`make_sagemaker_backend_from_args` builds the ``SageMakerBackend`` from;
* :func:`launch_remote_from_args` starts the tuning loop itself on SageMaker
  (``--remote``) and forwards the original arguments;
* :func:`resume_from_args` continues a run whose tuning process died
  (``tune --resume NAME``) and :func:`stop_from_args` asks a run to stop
  (``syne-autoterm stop NAME``), running or not.

Defaults for the three required settings can come from the environment
(``SYNE_AUTOTERM_SM_IMAGE_URI``, ``SYNE_AUTOTERM_SM_ROLE_ARN``,
``SYNE_AUTOTERM_SM_S3_PREFIX``) so they need not be typed on every run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from .._run_names import run_name_as_meant

if TYPE_CHECKING:
    from .spec import SessionSettings, TrainingJobSpec

ENV_IMAGE_URI = "SYNE_AUTOTERM_SM_IMAGE_URI"
ENV_ROLE_ARN = "SYNE_AUTOTERM_SM_ROLE_ARN"
ENV_S3_PREFIX = "SYNE_AUTOTERM_SM_S3_PREFIX"


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _has_option(parser: argparse.ArgumentParser, option: str) -> bool:
    return any(option in action.option_strings for action in parser._actions)


def add_sagemaker_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--sm-*`` options (and ``--remote`` unless the CLI has it)."""
    g = parser.add_argument_group(
        "SageMaker backend (--backend sagemaker)",
        "Each trial runs as one SageMaker training job; see docs/sagemaker.md.",
    )
    g.add_argument(
        "--sm-image-uri",
        default=os.environ.get(ENV_IMAGE_URI),
        help=f"training image URI (default: ${ENV_IMAGE_URI})",
    )
    g.add_argument(
        "--sm-role-arn",
        default=os.environ.get(ENV_ROLE_ARN),
        help=f"execution role ARN of the training jobs (default: ${ENV_ROLE_ARN})",
    )
    g.add_argument(
        "--sm-s3-prefix",
        default=os.environ.get(ENV_S3_PREFIX),
        help=f"s3://bucket/prefix for code, checkpoints, outputs (default: ${ENV_S3_PREFIX})",
    )
    g.add_argument("--sm-region", default=None, help="AWS region (default: the boto3 default)")
    g.add_argument("--sm-instance-type", default="ml.m5.large", help="instance type per trial")
    g.add_argument("--sm-instance-count", type=int, default=1, help="instances per trial")
    g.add_argument("--sm-volume-size-gb", type=int, default=30, help="EBS volume per instance")
    g.add_argument(
        "--sm-max-run-seconds",
        type=int,
        default=86400,
        help="MaxRuntimeInSeconds of each trial job",
    )
    g.add_argument(
        "--sm-source-dir",
        default=None,
        help="folder shipped with the script (must contain it); its requirements.txt is installed",
    )
    g.add_argument(
        "--sm-requirement",
        action="append",
        default=None,
        metavar="PIP_SPEC",
        help="extra pip requirement for each trial job (repeatable; added to the "
        "source dir's requirements.txt)",
    )
    g.add_argument("--sm-spot", action="store_true", help="use managed spot training")
    g.add_argument(
        "--sm-max-wait-seconds",
        type=int,
        default=None,
        help="MaxWaitTimeInSeconds for spot jobs (default 2 x max run)",
    )
    g.add_argument(
        "--sm-checkpoint-s3-uri",
        default=None,
        help="base S3 URI for per-trial checkpoints (default <s3-prefix>/<tuner>/checkpoints)",
    )
    g.add_argument(
        "--sm-env",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment variable for the training containers (repeatable)",
    )
    g.add_argument(
        "--sm-tag",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="tag for the training jobs (repeatable)",
    )
    g.add_argument("--sm-job-name-prefix", default="autoterm", help="prefix of job names")
    g.add_argument(
        "--sm-metric",
        action="append",
        default=[],
        metavar="NAME",
        help="metric to plot in the SageMaker console (repeatable, cosmetic)",
    )
    g.add_argument(
        "--sm-poll-interval",
        type=float,
        default=10.0,
        help="seconds between two status/log polls of one job",
    )
    g.add_argument("--sm-endpoint-url", default=None, help=argparse.SUPPRESS)
    # Seconds a job's log is still read after it ended (CloudWatch lags); tests shorten it.
    g.add_argument("--sm-log-grace-seconds", type=float, default=10.0, help=argparse.SUPPRESS)
    if not _has_option(parser, "--remote"):
        g.add_argument(
            "--remote",
            action="store_true",
            help="run the tuning loop itself as a SageMaker job (results go to S3)",
        )
    g.add_argument(
        "--sm-remote-instance-type",
        default="ml.m5.large",
        help="instance type of the remote tuner job (--remote)",
    )
    g.add_argument(
        "--sm-remote-max-run-seconds",
        type=int,
        default=5 * 86400,
        help="MaxRuntimeInSeconds of the remote tuner job",
    )
    g.add_argument(
        "--sm-remote-requirement",
        action="append",
        default=[],
        metavar="PIP_SPEC",
        help="extra pip requirement for the remote tuner job (repeatable)",
    )
    g.add_argument(
        "--sm-remote-spot",
        action="store_true",
        help="run the remote tuner job on managed spot capacity; an interrupted job "
        "resumes from its last checkpoint",
    )
    g.add_argument(
        "--sm-remote-no-wait",
        action="store_true",
        help="start the remote job and return without tailing its log",
    )


def _require(args: Any, name: str, flag: str, env: str | None = None) -> str:
    value = getattr(args, name, None)
    if not value:
        hint = f" (or set ${env})" if env else ""
        raise ValueError(f"{flag} is required with --backend sagemaker{hint}")
    return value


def spec_from_args(args: argparse.Namespace, entry_point: str | None) -> TrainingJobSpec:
    """The trial jobs' :class:`~syne_autoterm.backends.TrainingJobSpec` from parsed ``--sm-*``.

    The one place where CLI options become job settings: the local tuner and a
    ``--remote`` tuner (which parses the forwarded options) both go through it.
    Raises ``ValueError`` naming a missing required flag.
    """
    from .spec import TrainingJobSpec

    return TrainingJobSpec(
        entry_point=entry_point,
        **_required(args),
        instance_type=args.sm_instance_type,
        instance_count=args.sm_instance_count,
        volume_size_gb=args.sm_volume_size_gb,
        max_run_seconds=args.sm_max_run_seconds,
        source_dir=args.sm_source_dir,
        requirements=tuple(args.sm_requirement or ()),
        use_spot=args.sm_spot,
        max_wait_seconds=args.sm_max_wait_seconds,
        checkpoint_s3_uri=args.sm_checkpoint_s3_uri,
        environment=dict(args.sm_env),
        tags=_tags(args),
        job_name_prefix=args.sm_job_name_prefix,
        metrics_names=tuple(args.sm_metric),
    )


def session_from_args(args: argparse.Namespace) -> SessionSettings:
    """Region, endpoint and polling of this process from parsed ``--sm-*`` options."""
    from .spec import SessionSettings

    return SessionSettings(
        region_name=args.sm_region,
        endpoint_url=args.sm_endpoint_url,
        poll_interval=args.sm_poll_interval,
        final_log_grace_seconds=getattr(args, "sm_log_grace_seconds", 10.0),
    )


class _Required(TypedDict):
    """The settings every job spec needs (typed, so that ``**`` of it is checked)."""

    image_uri: str
    role_arn: str
    s3_prefix: str


def _required(args: argparse.Namespace) -> _Required:
    return {
        "image_uri": _require(args, "sm_image_uri", "--sm-image-uri", ENV_IMAGE_URI),
        "role_arn": _require(args, "sm_role_arn", "--sm-role-arn", ENV_ROLE_ARN),
        "s3_prefix": _require(args, "sm_s3_prefix", "--sm-s3-prefix", ENV_S3_PREFIX),
    }


def _tags(args: argparse.Namespace) -> tuple[dict[str, str], ...]:
    """``--sm-tag`` pairs in the spec's stored form (``[{"Key": ..., "Value": ...}]``)."""
    from ._sagemaker_jobs import normalize_tags

    return tuple(normalize_tags(dict(args.sm_tag)))


def _remote_spec_from_args(args: argparse.Namespace, entry_point: str | None) -> TrainingJobSpec:
    """The tuner job of ``--remote``: the trials' image, role, code, environment and tags,
    on its own ``--sm-remote-*`` instance, run time, spot setting and pip extras."""
    from .remote import REMOTE_JOB_NAME_PREFIX
    from .spec import TrainingJobSpec

    extra = list(args.sm_remote_requirement)
    if getattr(args, "searcher", None) in ("botorch", "aligned_botorch"):
        extra.append("botorch>=0.12")  # optional extra of the package, needed by this searcher
    return TrainingJobSpec(
        entry_point=entry_point,
        **_required(args),
        source_dir=args.sm_source_dir,
        instance_type=args.sm_remote_instance_type,
        max_run_seconds=args.sm_remote_max_run_seconds,
        use_spot=bool(getattr(args, "sm_remote_spot", False)),
        environment=dict(args.sm_env),
        tags=_tags(args),
        requirements=tuple(extra),
        job_name_prefix=REMOTE_JOB_NAME_PREFIX,
    )


def make_sagemaker_backend_from_args(args: argparse.Namespace, entry_point: str) -> Any:
    """Build a :class:`~syne_autoterm.backends.SageMakerBackend` from parsed ``--sm-*`` options.

    Raises ``ValueError`` naming the missing flag (the CLI can turn it into ``parser.error``).
    """
    from .sagemaker import SageMakerBackend

    return SageMakerBackend(spec_from_args(args, entry_point), session_from_args(args))


def launch_remote_from_args(
    args: argparse.Namespace, argv: Sequence[str], entry_point: str | None = None
) -> int:
    """Start the remote tuner job for ``syne-autoterm tune ... --remote``.

    :param argv: the CLI arguments as typed, without the program name
        (``sys.argv[1:]``, starting with ``tune``); they are forwarded to the
        remote ``python -m syne_autoterm.cli`` minus ``--remote``/``--sm-remote-*``,
        with a user script path (if any) rewritten to its place in the shipped
        source dir
    :param entry_point: a user script as it appears in ``argv`` (default:
        ``args.entry_point`` or ``args.script`` if the CLI has them; ``None``
        when the CLI's built-in training script is used -- it ships with the package)
    :return: process exit code: 0 if the remote job completed (or was left
        running with ``--sm-remote-no-wait`` / Ctrl-C), 1 if it failed or was stopped
    """
    from .remote import launch_remote
    from .spec import SessionSettings

    entry = entry_point or getattr(args, "entry_point", None) or getattr(args, "script", None)
    spec = _remote_spec_from_args(args, None if entry is None else str(entry))
    # The console tail needs no sub-second polls; the log grace is the default one.
    session = SessionSettings(
        region_name=args.sm_region,
        endpoint_url=args.sm_endpoint_url,
        poll_interval=max(args.sm_poll_interval, 1.0),
    )
    result = launch_remote(spec, list(argv), session, wait=not args.sm_remote_no_wait)
    return 1 if result.status in ("Failed", "Stopped") else 0


def _backend_given(argv: Sequence[str]) -> str | None:
    """The ``--backend`` the user typed (argparse's default is not a choice)."""
    for i, tok in enumerate(argv):
        if tok.startswith("--backend="):
            return tok.split("=", 1)[1]
        if tok == "--backend" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def resume_from_args(args: argparse.Namespace, argv: Sequence[str]) -> tuple[Any, float]:
    """``syne-autoterm tune --resume NAME``: load run NAME, re-attach, run to the end.

    Every other ``tune`` option is taken from the saved run; ``--backend``, if
    typed, must match it, and ``--sm-s3-prefix`` lets the state come from S3.
    Raises :class:`~syne_autoterm.backends.resume.ResumeError` (one line) when
    the run cannot be resumed. Returns the tuner and the seconds this session ran.
    """
    from .resume import ResumeError, load_run

    if getattr(args, "remote", False):
        raise ResumeError(
            "--resume cannot be combined with --remote: a remote tuning job resumes by "
            "itself from its checkpoint when SageMaker restarts it; run --resume here instead"
        )
    tuner = load_run(
        run_name_as_meant(args.resume),  # kept as typed without a local folder (S3)
        backend=_backend_given(argv),
        s3_prefix=getattr(args, "sm_s3_prefix", None),
        region_name=getattr(args, "sm_region", None),
        endpoint_url=getattr(args, "sm_endpoint_url", None),
    )
    start = time.perf_counter()
    tuner.run()
    return tuner, time.perf_counter() - start


def add_stop_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``syne-autoterm stop NAME``."""
    parser.add_argument("name", help="the run's name (its folder under $SYNETUNE_FOLDER)")
    parser.add_argument(
        "--sm-s3-prefix",
        default=os.environ.get(ENV_S3_PREFIX),
        help="for a run with no local folder (--remote): its s3://bucket/prefix",
    )
    parser.add_argument("--sm-region", default=None, help="AWS region")
    parser.add_argument("--sm-endpoint-url", default=None, help=argparse.SUPPRESS)


def stop_from_args(args: argparse.Namespace, out: Any = None) -> int:
    """``syne-autoterm stop NAME``: leave stop markers; the tuner (now or on resume) obeys."""
    from .resume import request_stop

    name = run_name_as_meant(args.name)  # kept as typed without a local folder (S3)
    where = request_stop(
        name,
        s3_prefix=args.sm_s3_prefix,
        region_name=args.sm_region,
        endpoint_url=args.sm_endpoint_url,
    )
    stream = out if out is not None else sys.stdout
    stream.write(f"Stop requested for {name}: {', '.join(where)}\n")
    return 0
