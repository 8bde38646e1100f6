"""Resume a tuning run whose process died: re-attach to its jobs, lose nothing.

Why a Tuner subclass: Syne Tune's ``Tuner.run`` keeps the set of running
trials in a local variable, so a tuner brought back by ``Tuner.load`` forgets
the jobs it had started and would start new ones next to them. A
:class:`ResumableTuner` is saved like any Tuner (``tuner.dill``), comes back
as itself from ``Tuner.load``, and its ``run()`` then

* asks the backend to re-attach (``SageMakerBackend.reattach``: reset the dead
  process's clocks, adopt jobs created after the last save) and feeds the
  trials still running into the loop, so their logs are read on from the
  saved positions (no line twice, none missed) and jobs that finished
  meanwhile deliver their results;
* never starts a trial twice: trial ids, job names and the searcher's state
  all come from the same snapshot, and orphan jobs are adopted, not re-run;
* honours a stop that arrived while it was down (the rule had fired, or
  ``syne-autoterm stop`` left a marker): one pass collects what finished,
  running jobs are stopped, nothing new starts;
* keeps the stopping rule's history and trace (the rule numbers sessions
  itself, see :mod:`syne_autoterm.trace`), and copies the previous session's
  files to ``sessions/<k>/`` before writing anything.

The snapshot is written atomically (temporary file + rename) after every new
trial and with new results, and mirrored to S3 by the SageMaker backend.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import dill
from syne_tune import Tuner
from syne_tune.backend.trial_status import Status
from syne_tune.constants import ST_TUNER_DILL_FILENAME
from syne_tune.results_callback import StoreResultsCallback
from syne_tune.util import experiment_path

from . import _packaging
from ._clients import ClientFactory, describe_error, error_code

logger = logging.getLogger(__name__)

#: Local file that asks a (running or resumed) tuner to stop.
LOCAL_STOP_MARKER = "autoterm_stop_requested"
#: Where each earlier session's files are kept, ``sessions/<k>/``.
SESSIONS_DIR = "sessions"
_ARCHIVED = ("results.csv.zip", "metadata.json", ST_TUNER_DILL_FILENAME, "autoterm_trace.jsonl")


class ResumeError(Exception):
    """A run cannot be resumed or stopped as asked: one line for the user."""


class ResumableTuner(Tuner):
    """A Syne Tune ``Tuner`` that can continue after its process was killed.

    Use it exactly like ``Tuner``. To continue a run: ``Tuner.load(path).run()``
    (or :func:`load_run`, which also checks the state and can fetch it from S3).
    """

    n_workers: int  # Tuner's; raised above the run's value while extra jobs drain
    _n_workers_wanted: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session = 0
        self._reset_resume_flags(resumed=False)

    def _reset_resume_flags(self, resumed: bool) -> None:
        self._resumed = resumed
        self._first_check = False
        self._stop_pending = False
        self._reattach_ids: set[int] = set()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.session = int(state.get("session", 0)) + 1
        self._reset_resume_flags(resumed=True)

    # ------------------------------------------------------------- snapshot
    def save(self, folder: str | None = None) -> None:
        """Write ``tuner.dill`` atomically, then let the backend mirror it.

        Syne Tune writes the file in place: a kill during the write would
        leave a truncated state, exactly when it is needed.
        """
        target = Path(folder or self.tuner_path) / ST_TUNER_DILL_FILENAME
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            dill.dump(self, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        self.trial_backend.on_tuner_save()
        if folder is None:
            # The results file then holds what the snapshot holds (Syne Tune
            # writes it only when a result arrives at least 5-10 s after the last).
            for callback in self.callbacks:
                if isinstance(callback, StoreResultsCallback) and callback.csv_file:
                    callback.store_results()

    def _schedule_new_task(self) -> Any:
        # Save right after each new job, so a crash leaves at most one job that
        # the saved state does not know (and resume adopts it).
        trial = super()._schedule_new_task()
        if self.save_tuner:
            self.save()
        return trial

    # ---------------------------------------------------------------- resume
    def run(self) -> None:
        if self._resumed:
            self._prepare_resume()
            self._resumed = False
        super().run()

    def _prepare_resume(self) -> None:
        self._archive_previous_session()
        backend = self.trial_backend
        adopted = backend.reattach() if hasattr(backend, "reattach") else []
        for trial_id in adopted:
            self._register_adopted(trial_id)
        running = backend.running_trial_ids() if hasattr(backend, "running_trial_ids") else []
        self._reattach_ids = set(running)
        for trial_id in running:
            if self.tuning_status is not None:  # saved after run() began: it always is
                trial = backend._trial_dict[trial_id]
                self.tuning_status.update({trial_id: (trial, Status.in_progress)}, [])
        self._first_check = True
        self.metadata.setdefault("autoterm_sessions", []).append(
            {"session": self.session, "started": time.time(), "reattached": sorted(running)}
        )
        print(
            f"Resuming {self.name} (session {self.session}): re-attached to {len(running)} "
            f"trial job(s) {sorted(running)}"
            + (f", {len(adopted)} created after the last saved state" if adopted else ""),
            flush=True,
        )

    def _register_adopted(self, trial_id: int) -> None:
        """Tell the scheduler, searcher and callbacks about a job the state missed."""
        trial = self.trial_backend._trial_dict[trial_id]
        searcher = getattr(self.scheduler, "searcher", None)
        configs = getattr(searcher, "trial_configs", None)
        if isinstance(configs, dict):  # BoTorchSearcher numbers trials by len(trial_configs)
            configs[trial_id] = dict(trial.config)
            pending = getattr(searcher, "pending_trials", None)
            if isinstance(pending, set):
                pending.add(trial_id)
        self.scheduler.on_trial_add(trial=trial)
        for callback in self.callbacks:
            callback.on_start_trial(trial)

    def _archive_previous_session(self) -> None:
        """Copy the files the last session wrote to ``sessions/<k>/`` (never overwritten)."""
        dest = Path(self.tuner_path) / SESSIONS_DIR / str(self.session - 1)
        if dest.exists():
            return
        dest.mkdir(parents=True)
        for name in _ARCHIVED:
            src = Path(self.tuner_path) / name
            if src.is_file():
                shutil.copy2(src, dest / name)

    def _external_stop(self, force: bool = False) -> bool:
        """``syne-autoterm stop``: a local marker file or the backend's S3 marker."""
        if (Path(self.tuner_path) / LOCAL_STOP_MARKER).exists():
            return True
        check = getattr(self.trial_backend, "stop_requested", None)
        return bool(check(force=force)) if check is not None else False

    def _stop_condition(self) -> bool:
        if not self._first_check:
            stop = super()._stop_condition() or self._external_stop()
            if stop and self._stop_pending and self._draining():
                return False  # a job that ended while we were down: read its log to the end
            return stop
        # First check of a resumed run: a stop decided while the process was
        # down still holds, but the jobs that finished meanwhile are read first
        # (one pass that starts nothing new).
        self._first_check = False
        self._stop_pending = super()._stop_condition() or self._external_stop(force=True)
        if self._stop_pending:
            print(
                f"{self.name}: a stop was decided before the restart: "
                "collecting finished jobs, stopping the running ones, starting none",
                flush=True,
            )
            return not self._reattach_ids
        return False

    def _draining(self) -> bool:
        draining = getattr(self.trial_backend, "draining_trial_ids", None)
        return bool(draining()) if draining is not None else False

    def _process_new_results(self, running_trials_ids: set[int]) -> Any:
        if self._reattach_ids:
            running_trials_ids.update(self._reattach_ids)
            self._reattach_ids = set()
        # A state older than its jobs can hold more running trials than workers
        # (a finished trial not yet read plus the job that replaced it): allow
        # them until they are done, then go back to the run's n_workers.
        wanted: int = getattr(self, "_n_workers_wanted", self.n_workers)
        self._n_workers_wanted = wanted
        self.n_workers = max(wanted, len(running_trials_ids))
        done, results = super()._process_new_results(running_trials_ids=running_trials_ids)
        self.n_workers = max(wanted, len(running_trials_ids - set(done)))
        return done, results

    def _schedule_new_tasks(self, running_trials_ids: set[int]) -> None:
        if self._stop_pending:
            self._sleep()
            return
        super()._schedule_new_tasks(running_trials_ids=running_trials_ids)


# ------------------------------------------------------------------- loading
def _state_s3_uri(s3_prefix: str, name: str, *parts: str) -> str:
    return _packaging.s3_join(s3_prefix, name, "state", *parts)


def _read_s3_state(name: str, s3_prefix: str, clients: ClientFactory) -> bytes | None:
    bucket, key = _packaging.parse_s3_uri(_state_s3_uri(s3_prefix, name, ST_TUNER_DILL_FILENAME))
    try:
        return clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # noqa: BLE001 - classified below
        if error_code(exc) in ("NoSuchKey", "404", "NoSuchBucket"):
            return None
        raise ResumeError(
            f"cannot read the saved state of run {name!r} from S3: {describe_error(exc)}"
        ) from None


def load_run(
    name: str,
    backend: str | None = None,
    s3_prefix: str | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
) -> ResumableTuner:
    """The saved tuner of run ``name``, ready to ``run()`` again; ResumeError if not.

    Looks in ``$SYNETUNE_FOLDER/<name>/tuner.dill``, then (with ``s3_prefix``)
    in the S3 mirror ``<s3_prefix>/<name>/state/tuner.dill``, which is copied
    to the local folder only once it has been read successfully. Nothing is
    ever deleted, also when the state is unreadable.

    :param backend: ``"sagemaker"`` or ``"local"`` if the caller asked for one
        (the saved run must use it); ``None`` to accept the saved backend
    """
    path = Path(experiment_path(tuner_name=name))
    state = path / ST_TUNER_DILL_FILENAME
    data: bytes | None = None
    where = str(state)
    if state.is_file():
        data = state.read_bytes()
    elif s3_prefix:
        clients = ClientFactory(region_name=region_name, endpoint_url=endpoint_url)
        data = _read_s3_state(name, s3_prefix, clients)
        where = _state_s3_uri(s3_prefix, name, ST_TUNER_DILL_FILENAME)
    if data is None:
        looked = str(state) + (f" nor {_state_s3_uri(s3_prefix, name)}/" if s3_prefix else "")
        raise ResumeError(f"no run named {name!r} to resume (neither {looked} exists)")
    try:
        tuner = dill.loads(data)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad state
        raise ResumeError(
            f"the saved state of run {name!r} ({where}) is unreadable "
            f"({type(exc).__name__}); nothing was changed"
        ) from None
    if not isinstance(tuner, Tuner):
        raise ResumeError(f"{where} holds a {type(tuner).__name__}, not a Syne Tune tuner")
    saved_backend = type(tuner.trial_backend).__name__
    is_sagemaker = hasattr(tuner.trial_backend, "reattach")
    if backend is not None and (backend == "sagemaker") != is_sagemaker:
        raise ResumeError(f"run {name!r} used the {saved_backend}, not --backend {backend}")
    if not is_sagemaker:
        raise ResumeError(
            f"run {name!r} used the {saved_backend}: only SageMaker runs can be resumed "
            "(local trial processes end with the tuner)"
        )
    if not isinstance(tuner, ResumableTuner):  # saved by a plain Syne Tune Tuner
        tuner.__class__ = ResumableTuner
        tuner.session = 1
        tuner._reset_resume_flags(resumed=True)
    tuner.tuner_path = path
    if not state.is_file():
        path.mkdir(parents=True, exist_ok=True)
        state.write_bytes(data)
    return tuner


def request_stop(
    name: str,
    s3_prefix: str | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
) -> list[str]:
    """Ask run ``name`` to stop, running or not; return where the request was left.

    A local marker in its experiment folder (read by a tuner on this machine
    and by ``--resume``) and, for SageMaker runs, an S3 marker next to the
    mirrored state (read by a remote tuner every ``stop_check_interval``).
    """
    path = Path(experiment_path(tuner_name=name))
    written: list[str] = []
    uri = None
    if (path / ST_TUNER_DILL_FILENAME).is_file():
        (path / LOCAL_STOP_MARKER).write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))
        written.append(str(path / LOCAL_STOP_MARKER))
        try:
            backend = dill.loads((path / ST_TUNER_DILL_FILENAME).read_bytes()).trial_backend
        except Exception:  # noqa: BLE001 - the local marker is enough for a local run
            backend = None
        if hasattr(backend, "request_stop"):
            if endpoint_url is not None:
                backend._clients.endpoint_url = endpoint_url
            uri = backend.request_stop()
    elif s3_prefix:
        clients = ClientFactory(region_name=region_name, endpoint_url=endpoint_url)
        if _read_s3_state(name, s3_prefix, clients) is None:
            raise ResumeError(
                f"no run named {name!r} (neither {path} nor "
                f"{_state_s3_uri(s3_prefix, name)}/ exists)"
            )
        uri = _state_s3_uri(s3_prefix, name, "STOP")
        _packaging.upload_bytes(clients.client("s3"), b"stop\n", uri)
    else:
        raise ResumeError(
            f"no run named {name!r} in {path.parent} (for a remote run, give its --sm-s3-prefix)"
        )
    if uri:
        written.append(uri)
    return written
