"""Fakes and fixtures that more than one test file needs, defined once.

Why here: test files used to define these for themselves (or import another
test module to borrow its fixtures, which made that module's fixtures run
twice and tied one file to the other's internals). Constants and the moto
state are imported with ``from conftest import ...``; everything else is a
fixture, requested by name.

* AWS without AWS: :func:`offline_aws` (dummy credentials, no config files),
  :func:`moto_endpoint` (one in-process moto server for the session, patched
  so jobs stay ``InProgress`` until a test ends them and ``StopTrainingJob``
  exists) and :func:`moto` (that server reset, with clients to it).
* Syne Tune runs: :func:`synetune_folder` (a fresh ``$SYNETUNE_FOLDER``) and
  :func:`simulated_tuner` (a ``Tuner`` on the simulator backend).
* :func:`_restore_logging` (autouse): the CLI's ``main`` configures logging
  for a terminal (root at ERROR, the check logger at WARNING, formatters);
  called in-process by one test, that made a later test's ``caplog`` see
  nothing, so the outcome depended on the running order.
* :func:`child_env` (environment for a ``python -m syne_autoterm...``
  subprocess running this checkout) and :func:`unit_cube` (domain sampler and
  snap of ``[0, 1]^d`` for regret-bound tests).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo, after each test, what it changed in the logging configuration.

    Levels, handlers, ``propagate`` and ``disabled`` of every named logger that
    existed before the test; the root logger's level and its handlers'
    formatters (not its handler list: pytest's log capture swaps its own
    handlers there between the phases of a test).
    """
    root = logging.getLogger()
    named = [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate, lg.disabled) for lg in named]
    root_level, formatters = root.level, [(h, h.formatter) for h in root.handlers]
    yield
    for lg, level, handlers, propagate, disabled in saved:
        if lg.level != level:  # setLevel clears every logger's cache: only when needed
            lg.setLevel(level)
        if lg.handlers != handlers:
            lg.handlers[:] = handlers
        lg.propagate, lg.disabled = propagate, disabled
    if root.level != root_level:
        root.setLevel(root_level)
    for handler, formatter in formatters:
        handler.setFormatter(formatter)


# ----------------------------------------------------------------- AWS, offline
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/train:latest"
DUMMY_KEY = "AKIDTESTINGONLY0000"
DUMMY_SECRET = "testing-secret-never-logged"
#: The bucket the ``moto`` fixture creates.
MOTO_BUCKET = "autoterm-test"

#: Serialises job-state changes (test harness threads vs. the moto server thread).
MOTO_LOCK = threading.RLock()
#: Names of the training jobs moto created, in order (the test plays SageMaker for them).
MOTO_CREATED: queue.Queue[str] = queue.Queue()
#: Names of the jobs that got a ``StopTrainingJob``.
MOTO_STOPPED: list[str] = []


@pytest.fixture
def synetune_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$SYNETUNE_FOLDER`` in this test's tmp dir, so no run lands in ``~/syne-tune``."""
    folder = tmp_path / "syne-tune"
    folder.mkdir()
    monkeypatch.setenv("SYNETUNE_FOLDER", str(folder))
    return folder


@pytest.fixture
def offline_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, synetune_folder: Path) -> None:
    """Dummy credentials, no profile/config files: no accidental real AWS calls."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _install_moto_sagemaker_patches(mp: pytest.MonkeyPatch) -> None:
    """moto completes jobs instantly and lacks StopTrainingJob: make jobs start
    InProgress (the test finishes them) and implement StopTrainingJob."""
    from moto.core.responses import EmptyResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    original_create = SageMakerModelBackend.create_training_job

    def create_training_job(self, *args, **kwargs):
        job = original_create(self, *args, **kwargs)
        with MOTO_LOCK:
            job.training_job_status = "InProgress"
            job.secondary_status = "Training"
            job.training_end_time = None
        MOTO_CREATED.put(job.training_job_name)
        return job

    def stop_training_job(self):
        name = self._get_param("TrainingJobName")
        job = self.sagemaker_backend.training_jobs.get(name)
        with MOTO_LOCK:
            if job is None or job.training_job_status != "InProgress":
                raise ValidationError(message=f"The job {name} is not in progress")
            job.training_job_status = "Stopped"
            job.secondary_status = "Stopped"
            job.training_end_time = utcnow()
            MOTO_STOPPED.append(name)
        return EmptyResult()

    mp.setattr(SageMakerModelBackend, "create_training_job", create_training_job)
    mp.setattr(SageMakerResponse, "stop_training_job", stop_training_job, raising=False)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of one in-process moto server for the session; a failed start fails, never skips."""
    import boto3
    from moto.server import ThreadedMotoServer

    mp = pytest.MonkeyPatch()
    _install_moto_sagemaker_patches(mp)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    starter.join(30)
    if starter.is_alive():
        mp.undo()
        pytest.fail("moto server did not start within 30 s", pytrace=False)
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        boto3.session.Session(
            region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        ).client("s3", endpoint_url=url).list_buckets()
    except Exception as exc:  # noqa: BLE001 - loud failure, never a skip
        pytest.fail(f"moto server at {url} not reachable: {exc!r}", pytrace=False)
    yield url
    server.stop()
    mp.undo()


@pytest.fixture
def moto(moto_endpoint: str, offline_aws: None) -> tuple[str, dict[str, Any]]:
    """The moto server, reset, with bucket ``autoterm-test`` and s3/logs/sagemaker clients."""
    import boto3
    import requests

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    while not MOTO_CREATED.empty():
        MOTO_CREATED.get_nowait()
    MOTO_STOPPED.clear()
    session = boto3.session.Session(region_name=REGION)
    clients = {
        s: session.client(s, endpoint_url=moto_endpoint) for s in ("s3", "logs", "sagemaker")
    }
    clients["s3"].create_bucket(Bucket=MOTO_BUCKET)
    return moto_endpoint, clients


def moto_job(name: str) -> Any:
    """moto's record of a training job (its status can be set under ``MOTO_LOCK``)."""
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[ACCOUNT][REGION].training_jobs[name]


# ------------------------------------------------------------ Syne Tune, simulated
@pytest.fixture(scope="session")
def simulated_tuner() -> Callable[..., Any]:
    """Factory of a ``Tuner`` on Syne Tune's simulator backend (no processes, simulated time).

    ``make(blackbox, scheduler, stop_criterion, callbacks=(), **tuner_kwargs)``:
    the simulator's callback comes first, ``sleep_time=0``, no periodic saves
    or prints unless ``tuner_kwargs`` say otherwise.
    """
    from syne_tune import Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository import UserBlackboxBackend

    def make(
        blackbox: Any,
        scheduler: Any,
        stop_criterion: Any,
        callbacks: Iterable[Any] = (),
        **tuner_kwargs: Any,
    ) -> Tuner:
        kwargs: dict[str, Any] = {
            "n_workers": 1,
            "sleep_time": 0,
            "save_tuner": False,
            "results_update_interval": 1e9,
            "print_update_interval": 1e9,
        }
        kwargs.update(tuner_kwargs)
        backend = UserBlackboxBackend(blackbox, elapsed_time_attr="elapsed_time")
        return Tuner(
            backend,
            scheduler,
            stop_criterion=stop_criterion,
            callbacks=[SimulatorCallback(), *callbacks],
            **kwargs,
        )

    return make


# -------------------------------------------------------------------- subprocesses
@pytest.fixture(scope="session")
def child_env() -> Callable[..., dict[str, str]]:
    """Factory of the environment for a subprocess that must import this checkout.

    ``make(**overrides)``: the current environment (read at call time, so
    monkeypatched variables count), this checkout first on ``PYTHONPATH`` (not
    whichever copy is installed), one BLAS/OpenMP thread, then ``overrides``.
    """

    def make(**overrides: str) -> dict[str, str]:
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = dict(os.environ, PYTHONPATH=path, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        env.update(overrides)
        return env

    return make


# ----------------------------------------------------------------- regret bounds
def _snap_to_unit_cube(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0)


@pytest.fixture(scope="session")
def unit_cube() -> Callable[[int], tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]]:
    """``make(d) -> (sample_domain, snap)`` for ``[0, 1]^d``, as ``regret_bound`` takes them.

    Session-scoped so that hypothesis tests can use it.
    """

    def make(d: int) -> tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]:
        def sample_domain(n: int, rng: np.random.RandomState) -> np.ndarray:
            return rng.uniform(size=(n, d))

        return sample_domain, _snap_to_unit_cube

    return make
