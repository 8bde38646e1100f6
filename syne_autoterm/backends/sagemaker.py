"""A Syne Tune 0.16 ``TrialBackend`` that runs each trial as a SageMaker training job.

Syne Tune removed its ``SageMakerBackend`` in 0.14 (it moved with the SageMaker
SDK to a package that was never published). This one talks to SageMaker,
CloudWatch Logs and S3 through boto3 only:

* ``_schedule``: the entry point (and its ``source_dir``) is packed once into
  ``sourcedir.tar.gz`` on S3; each trial is one ``CreateTrainingJob`` whose
  hyperparameters are the trial config, JSON-encoded the way framework images
  expect, so the script sees ``--name value`` as with ``LocalBackend``.
* ``_all_trial_results``: ``DescribeTrainingJob`` for jobs that are not yet
  terminal, at most every ``poll_interval`` seconds per job, and new CloudWatch
  events only (forward tokens), parsed for ``[tune-metric]: {...}`` lines.
* ``_stop_trial`` / ``_pause_trial``: ``StopTrainingJob``; a paused trial is
  resumed by a new job with the same checkpoint S3 URI.
* Throttling and other transient errors never end the tuning run: botocore
  retries inside a call, and a poll that still fails keeps the last known state
  and is tried again on the next poll.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from syne_tune.backend.trial_backend import BUSY_STATUS, TrialBackend
from syne_tune.backend.trial_status import Status, TrialResult

from . import _packaging
from ._clients import call_with_retries, describe_error, error_code, is_transient
from ._sagemaker_jobs import (
    CHECKPOINT_DIR_HP,
    CONTAINER_CHECKPOINT_DIR,
    SAGEMAKER_TO_TRIAL_STATUS,
    TERMINAL_JOB_STATUSES,
    build_create_training_job_request,
    encode_hyperparameters,
    framework_hyperparameters,
    make_job_name,
    metric_definitions,
    sanitize_name_part,
)
from ._sagemaker_logs import JobLogTail
from ._sagemaker_reattach import find_run_jobs
from .spec import SessionSettings, TrainingJobSpec, settings_from_keywords, spec_from_legacy_state

logger = logging.getLogger(__name__)

#: A job that ``DescribeTrainingJob`` does not know yet is treated as starting
#: for this long (the API is eventually consistent right after creation).
_NOT_FOUND_GRACE_SECONDS = 300.0

#: Object under ``<s3_prefix>/<tuner-name>/state/`` that asks the run to stop.
STOP_MARKER = "STOP"

#: The flat-keyword form (deprecated) had a placeholder default for ``s3_prefix``.
_LEGACY_SPEC_DEFAULTS = {"s3_prefix": "s3://bucket/prefix"}


def _check_entry_point(spec: TrainingJobSpec) -> None:
    """Fail at construction, not at the first trial, when the script is not there."""
    entry, source_dir = str(spec.entry_point), spec.source_dir
    if not Path(entry).exists() and not (source_dir and (Path(source_dir) / entry).exists()):
        raise FileNotFoundError(f"entry point {entry} does not exist")


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


@dataclass
class _TrialState:
    checkpoint_s3_uri: str | None
    runs: list[_JobRun] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    override: str | None = None  # Status.paused / Status.stopped (scheduler decision)
    no_metrics_reported: bool = False


class SageMakerBackend(TrialBackend):
    """Run Syne Tune trials as SageMaker training jobs, using boto3 only.

    :param spec: what each trial's job is (image, role, code, instances, S3
        paths, ...); its ``entry_point`` is required here. An entry point inside
        the ``syne_autoterm`` package (the CLI's built-in ``workloads/train.py``)
        ships the package with it automatically
    :param session: how this process reaches AWS and how often it polls
        (default: ``SessionSettings()``)
    :param delete_checkpoints: delete each trial's S3 checkpoints at the end
    :param boto_session: boto3 session the clients are made from (default: a new one)
    :param sagemaker_client, logs_client, s3_client: injected boto3 clients
        (tests use botocore ``Stubber``); they are never pickled
    :param clock, sleep: injectable for tests
    :param legacy: the fields of ``spec`` and ``session`` as flat keywords, the
        form before they were grouped (deprecated; cannot be mixed with
        ``spec=``/``session=``)
    """

    def __init__(
        self,
        spec: TrainingJobSpec | None = None,
        session: SessionSettings | None = None,
        *,
        delete_checkpoints: bool = False,
        boto_session: Any = None,
        sagemaker_client: Any = None,
        logs_client: Any = None,
        s3_client: Any = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        **legacy: Any,
    ) -> None:
        spec, session = settings_from_keywords(
            spec, session, legacy, caller="SageMakerBackend", spec_defaults=_LEGACY_SPEC_DEFAULTS
        )
        super().__init__(delete_checkpoints=delete_checkpoints, pass_args_as_json=False)
        if spec.entry_point is None:
            raise ValueError("SageMakerBackend needs spec.entry_point (the training script)")
        self.spec = spec
        self.session = session
        _check_entry_point(spec)
        self._last_stop_check = float("-inf")
        self._results_root: str | None = None
        self._clock = clock
        self._sleep = sleep
        self._clients = session.client_factory(
            boto_session, sagemaker=sagemaker_client, logs=logs_client, s3=s3_client
        )
        # Random per backend: SageMaker never lets a job name be reused.
        self._run_token = secrets.token_hex(4)
        self.tuner_name = (
            f"{sanitize_name_part(spec.job_name_prefix)}-{time.strftime('%Y-%m-%d-%H-%M-%S')}"
        )
        self._source_uri: str | None = None
        self._program: str | None = None
        self._trials: dict[int, _TrialState] = {}
        self._transient_errors = 0

    @property
    def entry_point(self) -> str:
        """The training script (``spec.entry_point``), as Syne Tune's backends name it."""
        return str(self.spec.entry_point)

    # ------------------------------------------------------------------ clients
    @property
    def sagemaker_client(self) -> Any:
        return self._clients.client("sagemaker")

    @property
    def logs_client(self) -> Any:
        return self._clients.client("logs")

    @property
    def s3_client(self) -> Any:
        return self._clients.client("s3")

    # ------------------------------------------------------------- paths, names
    def set_path(self, results_root: str | None = None, tuner_name: str | None = None) -> None:
        # The tuner name keys all S3 paths of this tuning run.
        if tuner_name:
            self.tuner_name = tuner_name
        if results_root:
            self._results_root = str(results_root)

    def entrypoint_path(self) -> Path:
        return Path(self.entry_point)

    def set_entrypoint(self, entry_point: str) -> None:
        self.spec = replace(self.spec, entry_point=str(entry_point))
        self._source_uri = None  # re-pack on the next schedule

    def run_s3_uri(self, *parts: str) -> str:
        """``<s3_prefix>/<tuner-name>/<parts...>``."""
        return _packaging.s3_join(self.spec.s3_prefix, self.tuner_name, *parts)

    def trial_checkpoint_s3_uri(self, trial_id: int) -> str:
        base = self.spec.checkpoint_s3_uri or self.run_s3_uri("checkpoints")
        if self.spec.checkpoint_s3_uri:
            return _packaging.s3_join(base, self.tuner_name, str(trial_id)) + "/"
        return _packaging.s3_join(base, str(trial_id)) + "/"

    def job_names(self, trial_id: int) -> list[str]:
        """All SageMaker job names of a trial (more than one if it was resumed)."""
        st = self._trials.get(trial_id)
        return [] if st is None else [r.job_name for r in st.runs]

    def failure_reason(self, trial_id: int) -> str | None:
        st = self._trials.get(trial_id)
        if st is None or not st.runs:
            return None
        run = st.runs[-1]
        return run.create_error or run.failure_reason

    # ----------------------------------------------------------------- schedule
    def build_sourcedir(self) -> tuple[bytes, str]:
        """``sourcedir.tar.gz`` bytes and the entry point's path inside it."""
        extra = _packaging.dependency_files(self.spec.dependencies)
        program = None
        requirements: list[str] = []
        pkg = _packaging.package_root()
        entry = Path(self.entry_point).resolve()
        if self.spec.source_dir is None and pkg in entry.parents:
            # The script imports the package (e.g. syne_autoterm.workloads):
            # ship the package with its layout so ``python syne_autoterm/...`` works.
            extra.update(_packaging.collect_files(pkg, pkg.name))
            program = entry.relative_to(pkg.parent).as_posix()
            requirements += _packaging.DEFAULT_REQUIREMENTS
        requirements += list(self.spec.requirements or ())
        blobs = {}
        if requirements:
            existing = Path(self.spec.source_dir or "") / "requirements.txt"
            if self.spec.source_dir and existing.is_file():
                # Keep the user's own requirements and add ours after them.
                requirements = existing.read_text().splitlines() + requirements
            blobs["requirements.txt"] = _packaging.requirements_bytes(requirements)
        return _packaging.build_sourcedir_tarball(
            self.entry_point,
            self.spec.source_dir,
            extra_files=extra,
            extra_bytes=blobs,
            program=program,
        )

    def _ensure_source_uploaded(self) -> tuple[str, str]:
        """Pack and upload ``sourcedir.tar.gz`` once per tuning run."""
        if self._source_uri is None or self._program is None:
            data, program = self.build_sourcedir()
            uri = self.run_s3_uri(
                "source", _packaging.content_digest(data), _packaging.SOURCEDIR_TARBALL
            )
            _packaging.upload_bytes(self.s3_client, data, uri)
            logger.info("uploaded %s (%d bytes, program %s)", uri, len(data), program)
            self._source_uri, self._program = uri, program
        return self._source_uri, self._program

    def _trial_tags(self, trial_id: int) -> list[dict[str, str]]:
        own = [
            {"Key": "syne-autoterm:tuner-name", "Value": self.tuner_name[:256]},
            {"Key": "syne-autoterm:trial-id", "Value": str(trial_id)},
        ]
        user_keys = {t["Key"] for t in self.spec.tags}
        return list(self.spec.tags) + [t for t in own if t["Key"] not in user_keys]

    def _schedule(self, trial_id: int, config: dict[str, Any]) -> None:
        source_uri, program = self._ensure_source_uploaded()
        st = self._trials.get(trial_id)
        if st is None:
            st = _TrialState(checkpoint_s3_uri=self.trial_checkpoint_s3_uri(trial_id))
            self._trials[trial_id] = st
        st.override = None
        attempt = len(st.runs)
        job_name = make_job_name(self.spec.job_name_prefix, self._run_token, trial_id, attempt)
        extra = {CHECKPOINT_DIR_HP: CONTAINER_CHECKPOINT_DIR}
        extra.update(
            framework_hyperparameters(program, source_uri, self._clients.resolved_region())
        )
        request = build_create_training_job_request(
            job_name=job_name,
            image_uri=self.spec.image_uri,
            role_arn=self.spec.role_arn,
            hyperparameters=encode_hyperparameters(config, extra),
            instance_type=self.spec.instance_type,
            instance_count=self.spec.instance_count,
            volume_size_gb=self.spec.volume_size_gb,
            max_run_seconds=self.spec.max_run_seconds,
            output_s3_uri=self.run_s3_uri("output") + "/",
            checkpoint_s3_uri=st.checkpoint_s3_uri,
            use_spot=self.spec.use_spot,
            max_wait_seconds=self.spec.max_wait_seconds,
            environment=self.spec.environment,
            tags=self._trial_tags(trial_id),
            metric_defs=metric_definitions(self.spec.metrics_names),
            extra_request=self.spec.extra_create_request,
        )
        run = _JobRun(
            job_name=job_name,
            created_at=self._clock(),
            logs=JobLogTail(job_name=job_name, page_limit=self.session.log_page_limit),
        )
        st.runs.append(run)
        try:
            call_with_retries(
                lambda: self.sagemaker_client.create_training_job(**request),
                what=f"CreateTrainingJob {job_name}",
                attempts=self.session.create_attempts,
                sleep=self._sleep,
            )
        except Exception as exc:  # noqa: BLE001 - classified below
            if error_code(exc) == "ResourceInUse":
                # A retry after a lost response: the job exists, which is what we wanted.
                logger.info("training job %s already exists; using it", job_name)
            else:
                # Reported as a failed trial rather than crashing the Tuner: e.g.
                # ResourceLimitExceeded when n_workers exceeds the instance quota.
                run.create_error = f"CreateTrainingJob failed: {describe_error(exc)}"
                run.sm_status = "Failed"
                run.terminal_seen_at = float("-inf")
                run.final_drained = True
                logger.error("trial %d: %s", trial_id, run.create_error)
                return
        logger.info(
            "trial %d: started SageMaker training job %s (%s x%d%s)",
            trial_id,
            job_name,
            self.spec.instance_type,
            self.spec.instance_count,
            ", spot" if self.spec.use_spot else "",
        )

    # ------------------------------------------------------------------ polling
    def _refresh_run(
        self, trial_id: int, st: _TrialState, run: _JobRun, force: bool = False
    ) -> None:
        """Poll one job's status and new log events, rate-limited per job."""
        now = self._clock()
        if run.final_drained or run.create_error:
            return
        if not force and now - run.last_poll < self.session.poll_interval:
            return
        run.last_poll = now
        try:
            if run.sm_status not in TERMINAL_JOB_STATUSES:
                self._describe(trial_id, run, now)
            run.logs.poll(self.logs_client)
            if (
                run.terminal_seen_at is not None
                and now - run.terminal_seen_at >= self.session.final_log_grace_seconds
            ):
                run.logs.finish()
                run.final_drained = True
        except Exception as exc:
            # A log stream that vanished (retention, manual delete) is no reason
            # to end the tuning run either.
            if not is_transient(exc) and error_code(exc) != "ResourceNotFoundException":
                raise
            self._transient_errors += 1
            # Keep the last known state; the next poll resumes where this one stopped.
            logger.warning(
                "trial %d: transient AWS error while polling %s (%s); retrying on next poll",
                trial_id,
                run.job_name,
                describe_error(exc),
            )
        finally:
            # Only the trial's current job feeds its results: late events of a
            # paused predecessor must not interleave with the resumed job's.
            new = run.logs.metrics[run.metrics_copied :] if run is st.runs[-1] else []
            if new:
                st.metrics.extend(new)
                run.metrics_copied += len(new)

    def _describe(self, trial_id: int, run: _JobRun, now: float) -> None:
        try:
            desc = self.sagemaker_client.describe_training_job(TrainingJobName=run.job_name)
        except Exception as exc:
            if (
                error_code(exc) == "ValidationException"
                and now - run.created_at < _NOT_FOUND_GRACE_SECONDS
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

    def _trial_status(self, trial_id: int, st: _TrialState) -> str:
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

    def _retry_pending_stops(self) -> None:
        for st in self._trials.values():
            for run in st.runs:
                if run.stop_requested and not run.stop_sent:
                    self._send_stop(run, attempts=1)

    def _all_trial_results(self, trial_ids: list[int]) -> list[TrialResult]:
        self._retry_pending_stops()
        for trial_id in trial_ids:
            st = self._trials.get(trial_id)
            if st is None or not st.runs or st.override is not None:
                continue  # metrics after a stop/pause decision are hidden anyway
            self._refresh_run(trial_id, st, st.runs[-1])
        results = []
        for trial_id in trial_ids:
            st = self._trials.get(trial_id)
            status = Status.in_progress if st is None else self._trial_status(trial_id, st)
            end_time = None
            if st is not None and st.runs and status not in BUSY_STATUS:
                end_time = st.runs[-1].training_end_time or datetime.now()
            results.append(
                self._trial_dict[trial_id].add_results(
                    metrics=list(st.metrics) if st is not None else [],
                    status=status,
                    training_end_time=end_time,
                )
            )
        return results

    def busy_trial_ids(self) -> list[tuple[int, str]]:
        busy = []
        for trial_id, st in self._trials.items():
            if st.override is not None or not st.runs:
                continue
            run = st.runs[-1]
            if run.sm_status not in TERMINAL_JOB_STATUSES or not run.final_drained:
                self._refresh_run(trial_id, st, run)
            status = self._trial_status(trial_id, st)
            if status in BUSY_STATUS:
                busy.append((trial_id, status))
        return busy

    # ------------------------------------------------------------- stop / pause
    def _send_stop(self, run: _JobRun, attempts: int = 5) -> None:
        try:
            call_with_retries(
                lambda: self.sagemaker_client.stop_training_job(TrainingJobName=run.job_name),
                what=f"StopTrainingJob {run.job_name}",
                attempts=attempts,
                sleep=self._sleep,
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

    def _stop_current_job(self, trial_id: int) -> None:
        st = self._trials.get(trial_id)
        if st is None or not st.runs:
            return
        run = st.runs[-1]
        if run.create_error or run.stop_requested:
            return
        run.stop_requested = True
        if run.sm_status in TERMINAL_JOB_STATUSES:
            run.stop_sent = True
            return
        self._send_stop(run)

    def _stop_trial(self, trial_id: int, result: dict | None) -> None:
        st = self._trials.get(trial_id)
        if st is not None:
            st.override = Status.stopped
        self._stop_current_job(trial_id)

    def _pause_trial(self, trial_id: int, result: dict | None) -> None:
        st = self._trials.get(trial_id)
        if st is not None:
            st.override = Status.paused
        self._stop_current_job(trial_id)

    def _resume_trial(self, trial_id: int) -> None:
        # ``resume_trial`` calls ``_schedule`` next, which starts a new job
        # ("-r<k>" suffix) with the same CheckpointConfig S3 URI.
        st = self._trials[trial_id]
        if st.override != Status.paused:
            raise ValueError(f"trial {trial_id} was not paused")

    def stop_all(self) -> None:
        """Stop every job that may still run, without polling first.

        Called in the Tuner's ``finally`` block: it must try every job even if
        some calls fail, and must not spend the API budget on status polls.
        A stop for a job that already finished is answered with a
        ``ValidationException``, which is ignored.
        """
        for trial_id in list(self.trial_ids):
            st = self._trials.get(trial_id)
            if st is None or not st.runs or st.override is not None:
                continue
            if st.runs[-1].final_drained:
                continue
            try:
                self.stop_trial(trial_id=trial_id)
            except Exception as exc:  # noqa: BLE001 - keep stopping the others
                logger.error("stopping trial %d failed: %s", trial_id, describe_error(exc))
        for _ in range(3):
            pending = [
                r
                for s in self._trials.values()
                for r in s.runs
                if r.stop_requested and not r.stop_sent
            ]
            if not pending:
                break
            self._sleep(1.0)
            self._retry_pending_stops()
        if self.delete_checkpoints:
            for trial_id in self.trial_ids:
                self.delete_checkpoint(trial_id)

    # -------------------------------------------------------------- checkpoints
    def copy_checkpoint(self, src_trial_id: int, tgt_trial_id: int) -> None:
        src = self.trial_checkpoint_s3_uri(src_trial_id)
        tgt = self.trial_checkpoint_s3_uri(tgt_trial_id)
        n = _packaging.copy_prefix(self.s3_client, src, tgt)
        logger.info("copied %d checkpoint objects %s -> %s", n, src, tgt)

    def delete_checkpoint(self, trial_id: int) -> None:
        try:
            _packaging.delete_prefix(self.s3_client, self.trial_checkpoint_s3_uri(trial_id))
        except Exception as exc:  # noqa: BLE001 - deleting is best effort
            logger.warning(
                "could not delete checkpoints of trial %d: %s", trial_id, describe_error(exc)
            )

    # --------------------------------------------------------------------- logs
    def _log_lines(self, trial_id: int) -> list[str]:
        st = self._trials.get(trial_id)
        if st is None:
            return []
        out: list[str] = []
        for run in st.runs:
            try:
                self._refresh_run(trial_id, st, run, force=True)
            except Exception as exc:  # noqa: BLE001 - logs are informational
                out.append(f"(could not read the log of {run.job_name}: {describe_error(exc)})\n")
            out.append(f"=== SageMaker training job {run.job_name}: {run.sm_status} ===\n")
            if run.create_error:
                out.append(run.create_error + "\n")
            if run.failure_reason:
                out.append(f"FailureReason: {run.failure_reason}\n")
            out.extend(run.logs.lines)
        return out

    def stdout(self, trial_id: int) -> list[str]:
        """The trial's CloudWatch log (SageMaker merges stdout and stderr)."""
        return self._log_lines(trial_id)

    def stderr(self, trial_id: int) -> list[str]:
        """SageMaker has no separate stderr stream; failure reasons only."""
        st = self._trials.get(trial_id)
        if st is None:
            return []
        out = ["(SageMaker writes stdout and stderr into one CloudWatch stream: see stdout)\n"]
        for run in st.runs:
            reason = run.create_error or run.failure_reason
            if reason:
                out.append(f"{run.job_name}: {reason}\n")
        return out

    # ------------------------------------------------------ resume after a crash
    def state_s3_uri(self, *parts: str) -> str:
        """``<s3_prefix>/<tuner-name>/state/<parts>``: the run's saved tuner and stop marker."""
        return self.run_s3_uri("state", *parts)

    def on_tuner_save(self) -> None:
        """Mirror the just-saved ``tuner.dill`` to S3 (best effort, never raises).

        ``ResumableTuner.save`` calls this after the file was atomically
        replaced, so the object uploaded is always a complete snapshot.
        """
        if not self.session.mirror_state or self._results_root is None:
            return
        path = Path(self._results_root) / "tuner.dill"
        try:
            _packaging.upload_bytes(self.s3_client, path.read_bytes(), self.state_s3_uri(path.name))
        except Exception as exc:  # noqa: BLE001 - the local state is still there
            logger.warning("could not copy the tuner state to S3: %s", describe_error(exc))

    def request_stop(self) -> str:
        """Write the S3 stop marker that a running or resumed tuner honours; return its URI."""
        uri = self.state_s3_uri(STOP_MARKER)
        _packaging.upload_bytes(self.s3_client, time.strftime("%Y-%m-%dT%H:%M:%S").encode(), uri)
        return uri

    def stop_requested(self, force: bool = False) -> bool:
        """Whether ``syne-autoterm stop`` left the S3 marker.

        Checked at most every ``stop_check_interval`` seconds unless ``force``.
        """
        now = self._clock()
        if not force and now - self._last_stop_check < self.session.stop_check_interval:
            return False
        self._last_stop_check = now
        bucket, key = _packaging.parse_s3_uri(self.state_s3_uri(STOP_MARKER))
        try:
            self.s3_client.head_object(Bucket=bucket, Key=key)
            return True
        except Exception as exc:  # noqa: BLE001 - absent (404) or unreadable: keep tuning
            if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                logger.warning("cannot look for the stop marker: %s", describe_error(exc))
            return False

    def running_trial_ids(self) -> list[int]:
        """Trials whose current job may still run or still have unread log lines."""
        out = []
        for trial_id, st in self._trials.items():
            if st.override is not None or not st.runs:
                continue
            run = st.runs[-1]
            if not run.create_error and not run.final_drained:
                out.append(trial_id)
        return sorted(out)

    def draining_trial_ids(self) -> list[int]:
        """Trials whose job has ended but whose log is still read (``final_log_grace_seconds``)."""
        return sorted(
            tid
            for tid, st in self._trials.items()
            if st.override is None
            and st.runs
            and st.runs[-1].sm_status in TERMINAL_JOB_STATUSES
            and not st.runs[-1].final_drained
        )

    def reattach(self) -> list[int]:
        """Prepare a backend loaded from a saved state to carry on; return adopted trial ids.

        * The saved poll timers come from the dead process's monotonic clock,
          which means nothing now: they are reset, so every job is polled at once.
        * Log positions (forward tokens, half-read report lines) are kept, so
          each job's log is read on from where the saved state stopped.
        * Jobs of this run that the state does not know (created after its last
          save) are found by name token and tag and adopted as trials, with
          the trial ids in their names; a trial id without any job becomes a
          failed trial, so the Tuner's ids stay dense.
        """
        now = self._clock()
        self._last_stop_check = float("-inf")
        for st in self._trials.values():
            for run in st.runs:
                run.last_poll = float("-inf")
                run.created_at = now
                if run.terminal_seen_at is not None and run.terminal_seen_at != float("-inf"):
                    run.terminal_seen_at = now
        known = {r.job_name for st in self._trials.values() for r in st.runs}
        adopted: list[int] = []
        for job in find_run_jobs(self.sagemaker_client, self._run_token, self.tuner_name, known):
            if job.trial_id < len(self.trial_ids):
                state = self._trials.get(job.trial_id)
                if state is not None and job.attempt == len(state.runs):
                    state.runs.append(self._adopted_run(job.job_name, now))
                    state.override = None
                    logger.warning("re-attached job %s (trial %d)", job.job_name, job.trial_id)
                continue
            while len(self.trial_ids) < job.trial_id:
                adopted.append(self._adopt(len(self.trial_ids), job.config, None, now))
            adopted.append(self._adopt(job.trial_id, job.config, job.job_name, now))
            logger.warning(
                "re-attached job %s (trial %d), created after the last saved state",
                job.job_name,
                job.trial_id,
            )
        return adopted

    def _adopted_run(self, job_name: str, now: float) -> _JobRun:
        return _JobRun(
            job_name=job_name,
            created_at=now,
            logs=JobLogTail(job_name=job_name, page_limit=self.session.log_page_limit),
        )

    def _adopt(
        self, trial_id: int, config: dict[str, Any], job_name: str | None, now: float
    ) -> int:
        st = _TrialState(checkpoint_s3_uri=self.trial_checkpoint_s3_uri(trial_id))
        if job_name is None:
            name = make_job_name(self.spec.job_name_prefix, self._run_token, trial_id)
            run = self._adopted_run(name, now)
            run.create_error = "no SageMaker job found for this trial after the resume"
            run.sm_status, run.final_drained = "Failed", True
        else:
            run = self._adopted_run(job_name, now)
        st.runs.append(run)
        self._trials[trial_id] = st
        self.trial_ids.append(trial_id)
        self._trial_dict[trial_id] = TrialResult(
            trial_id=trial_id,
            config=dict(config),
            creation_time=datetime.now(),
            status=Status.in_progress,
            metrics=[],
        )
        return trial_id

    # ---------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        # The Tuner dill-saves itself (and us) periodically; clients and the
        # boto3 session cannot be pickled and must not be: ClientFactory drops them.
        state = dict(self.__dict__)
        if state.get("_clock") is time.monotonic:
            state["_clock"] = None
        if state.get("_sleep") is time.sleep:
            state["_sleep"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "spec" not in state:
            # Saved before the settings were grouped: one attribute per setting.
            # States saved before resume support also lack ``mirror_state``.
            state.setdefault("mirror_state", False)
            state["spec"], state["session"] = spec_from_legacy_state(state)
        state.setdefault("_last_stop_check", float("-inf"))
        state.setdefault("_results_root", None)
        self.__dict__.update(state)
        if self._clock is None:
            self._clock = time.monotonic
        if self._sleep is None:
            self._sleep = time.sleep

    def __str__(self) -> str:
        return f"SageMaker entry_point {Path(self.entry_point).name} on {self.spec.instance_type}"
