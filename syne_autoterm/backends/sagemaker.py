"""A Syne Tune 0.16 ``TrialBackend`` that runs each trial as a SageMaker training job.

Syne Tune removed its ``SageMakerBackend`` in 0.14 (it moved with the SageMaker
SDK to a package that was never published). This one talks to SageMaker,
CloudWatch Logs and S3 through boto3 only. The class below is the seam the
Tuner calls; each concept lives in a module beside it:

* ``_schedule`` (``_sagemaker_schedule``): the entry point (and its
  ``source_dir``) is packed once into ``sourcedir.tar.gz`` on S3; each trial is
  one ``CreateTrainingJob`` whose hyperparameters are the trial config,
  JSON-encoded the way framework images expect, so the script sees
  ``--name value`` as with ``LocalBackend``.
* ``_all_trial_results`` (``_sagemaker_poll``, ``_sagemaker_trials``):
  ``DescribeTrainingJob`` for jobs that are not yet terminal, at most every
  ``poll_interval`` seconds per job, and new CloudWatch events only (forward
  tokens), parsed for ``[tune-metric]: {...}`` lines.
* ``_stop_trial`` / ``_pause_trial`` (``_sagemaker_stop``): ``StopTrainingJob``;
  a paused trial is resumed by a new job with the same checkpoint S3 URI.
* Pickling, the S3 copy of ``tuner.dill`` and the stop marker
  (``_sagemaker_state``); carrying on after a crash (``_sagemaker_reattach``).
* Throttling and other transient errors never end the tuning run: botocore
  retries inside a call, and a poll that still fails keeps the last known state
  and is tried again on the next poll.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from syne_tune.backend.trial_backend import BUSY_STATUS, TrialBackend
from syne_tune.backend.trial_status import Status, TrialResult

from . import _packaging, _sagemaker_reattach, _sagemaker_trials
from ._clients import describe_error
from ._sagemaker_jobs import TERMINAL_JOB_STATUSES, make_job_name, sanitize_name_part
from ._sagemaker_poll import poll_run
from ._sagemaker_schedule import build_trial_sourcedir, create_job, trial_request, trial_tags
from ._sagemaker_state import (
    STOP_MARKER,
    mirror_tuner_state,
    picklable_state,
    stop_marker_present,
    upgraded_state,
    write_stop_marker,
)
from ._sagemaker_stop import owed_stops, send_stop, stop_every_job, stop_once
from ._sagemaker_trials import _JobRun, _TrialState, new_run, trial_status
from .spec import SessionSettings, TrainingJobSpec, settings_from_keywords

# ``_JobRun`` and ``_TrialState`` are pickled under this module's name (``pickled_as``),
# so they must stay importable from here, as must ``STOP_MARKER``.

logger = logging.getLogger(__name__)

#: The flat-keyword form (deprecated) had a placeholder default for ``s3_prefix``.
_LEGACY_SPEC_DEFAULTS = {"s3_prefix": "s3://bucket/prefix"}


def _check_entry_point(spec: TrainingJobSpec) -> None:
    """Fail at construction, not at the first trial, when the script is not there."""
    entry, source_dir = str(spec.entry_point), spec.source_dir
    if not Path(entry).exists() and not (source_dir and (Path(source_dir) / entry).exists()):
        raise FileNotFoundError(f"entry point {entry} does not exist")


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
        return _sagemaker_trials.failure_reason(self._trials.get(trial_id))

    # ----------------------------------------------------------------- schedule
    def build_sourcedir(self) -> tuple[bytes, str]:
        """``sourcedir.tar.gz`` bytes and the entry point's path inside it."""
        return build_trial_sourcedir(self.spec)

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

    def _schedule(self, trial_id: int, config: dict[str, Any]) -> None:
        code = self._ensure_source_uploaded()
        st = self._trials.get(trial_id)
        if st is None:
            st = _TrialState(checkpoint_s3_uri=self.trial_checkpoint_s3_uri(trial_id))
            self._trials[trial_id] = st
        st.override = None
        job_name = make_job_name(self.spec.job_name_prefix, self._run_token, trial_id, len(st.runs))
        request = trial_request(
            self.spec,
            job_name=job_name,
            config=config,
            code=code,
            region=self._clients.resolved_region(),
            output_s3_uri=self.run_s3_uri("output") + "/",
            checkpoint_s3_uri=st.checkpoint_s3_uri,
            tags=trial_tags(self.spec, self.tuner_name, trial_id),
        )
        run = new_run(job_name, self._clock(), self.session.log_page_limit)
        st.runs.append(run)
        attempts = self.session.create_attempts
        if not create_job(
            self._clients, request, run, trial_id, attempts=attempts, sleep=self._sleep
        ):
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
        if poll_run(self._clients, self.session, trial_id, st, run, now):
            self._transient_errors += 1

    def _retry_pending_stops(self) -> None:
        for run in owed_stops(self._trials.values()):
            send_stop(self._clients, run, self._sleep, attempts=1)

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
            status = Status.in_progress if st is None else trial_status(trial_id, st)
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
            status = trial_status(trial_id, st)
            if status in BUSY_STATUS:
                busy.append((trial_id, status))
        return busy

    # ------------------------------------------------------------- stop / pause
    def _stop_current_job(self, trial_id: int, override: str) -> None:
        st = self._trials.get(trial_id)
        if st is not None:
            st.override = override
        if st is not None and st.runs:
            stop_once(self._clients, st.runs[-1], self._sleep)

    def _stop_trial(self, trial_id: int, result: dict | None) -> None:
        self._stop_current_job(trial_id, Status.stopped)

    def _pause_trial(self, trial_id: int, result: dict | None) -> None:
        self._stop_current_job(trial_id, Status.paused)

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
        stop_every_job(self)
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
    def stdout(self, trial_id: int) -> list[str]:
        """The trial's CloudWatch log (SageMaker merges stdout and stderr)."""
        st = self._trials.get(trial_id)
        if st is None:
            return []
        out: list[str] = []
        for run in st.runs:
            try:
                self._refresh_run(trial_id, st, run, force=True)
            except Exception as exc:  # noqa: BLE001 - logs are informational
                out.append(f"(could not read the log of {run.job_name}: {describe_error(exc)})\n")
            out.extend(_sagemaker_trials.run_log_lines(run))
        return out

    def stderr(self, trial_id: int) -> list[str]:
        """SageMaker has no separate stderr stream; failure reasons only."""
        return _sagemaker_trials.stderr_lines(self._trials.get(trial_id))

    # ------------------------------------------------------ resume after a crash
    def state_s3_uri(self, *parts: str) -> str:
        """``<s3_prefix>/<tuner-name>/state/<parts>``: the run's saved tuner and stop marker."""
        return self.run_s3_uri("state", *parts)

    def on_tuner_save(self) -> None:
        """Mirror the just-saved ``tuner.dill`` to S3 (best effort, never raises).

        ``ResumableTuner.save`` calls this after the file was atomically
        replaced, so the object uploaded is always a complete snapshot.
        """
        if self.session.mirror_state and self._results_root is not None:
            mirror_tuner_state(self._clients, self._results_root, self.state_s3_uri)

    def request_stop(self) -> str:
        """Write the S3 stop marker that a running or resumed tuner honours; return its URI."""
        return write_stop_marker(self.s3_client, self.state_s3_uri(STOP_MARKER))

    def stop_requested(self, force: bool = False) -> bool:
        """Whether ``syne-autoterm stop`` left the S3 marker.

        Checked at most every ``stop_check_interval`` seconds unless ``force``.
        """
        now = self._clock()
        if not force and now - self._last_stop_check < self.session.stop_check_interval:
            return False
        self._last_stop_check = now
        return stop_marker_present(self._clients, self.state_s3_uri(STOP_MARKER))

    def running_trial_ids(self) -> list[int]:
        """Trials whose current job may still run or still have unread log lines."""
        return _sagemaker_trials.running_trial_ids(self._trials)

    def draining_trial_ids(self) -> list[int]:
        """Trials whose job has ended but whose log is still read (``final_log_grace_seconds``)."""
        return _sagemaker_trials.draining_trial_ids(self._trials)

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
        return _sagemaker_reattach.reattach(self, now)

    # ---------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        # The Tuner dill-saves itself (and us) periodically; clients and the
        # boto3 session cannot be pickled and must not be: ClientFactory drops them.
        return picklable_state(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(upgraded_state(state))

    def __str__(self) -> str:
        return f"SageMaker entry_point {Path(self.entry_point).name} on {self.spec.instance_type}"
