"""Resume a SageMaker tuning run after its process died (moto server, no AWS).

The tuning process runs as a real subprocess (``python -m syne_autoterm.cli``,
or the ``--remote`` job's generated entry script) against the in-process moto
server of ``test_sagemaker_backend``; the test plays SageMaker: it decides when
each job writes which log line and ends. The process is frozen (SIGSTOP) at a
chosen moment, jobs change while it is frozen, then it is killed with SIGKILL
(no ``finally`` runs, no job is stopped) and resumed.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import dill
import pytest
from conftest import ACCOUNT, IMAGE, MOTO_CREATED, MOTO_LOCK, REGION, ROLE, moto_job

from syne_autoterm import cli
from syne_autoterm.backends._sagemaker_jobs import decode_hyperparameters
from syne_autoterm.backends._sagemaker_logs import LOG_GROUP
from syne_autoterm.trace import read_trace

BUCKET = "autoterm-test"
PREFIX = f"s3://{BUCKET}/runs"
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("offline_aws")]
SPLIT = 1  # the trial whose report is cut in two log events, across the crash
K, WARM_UP = 6, 3  # conv rule; trial 0 stays the incumbent, so it fires at WARM_UP + K completed


def _error(trial_id: int) -> float:
    """Trial 0 is the incumbent for good (it completes first)."""
    return 0.1 if trial_id == 0 else 0.5 + 0.01 * trial_id


class Jobs:
    """Plays SageMaker for the jobs the tuner creates; the test ends them."""

    def __init__(self, logs_client) -> None:
        self.logs = logs_client
        self.logs.create_log_group(logGroupName=LOG_GROUP)
        self.names: dict[int, str] = {}  # trial id -> job name (attempt 0)
        self.streams: dict[int, str] = {}
        self.reports: dict[int, dict] = {}
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._ts = 0
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                name = MOTO_CREATED.get(timeout=0.05)
            except Exception:  # noqa: BLE001 - queue.Empty
                continue
            try:
                trial_id = int(name.rsplit("-", 1)[1])
                stream = f"{name}/algo-1-{int(time.time())}"
                self.logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
                self.put(stream, f"Invoking script for trial {trial_id}")
                self.streams[trial_id] = stream
                self.names[trial_id] = name
            except BaseException as exc:  # noqa: BLE001 - surfaced by the test
                self.errors.append(exc)

    def put(self, stream: str, *messages: str) -> None:
        with MOTO_LOCK:
            self._ts = max(int(time.time() * 1000), self._ts + 1)
            events = [{"timestamp": self._ts + i, "message": m} for i, m in enumerate(messages)]
            self._ts += len(messages)
        self.logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)

    def report_line(self, trial_id: int) -> str:
        e = _error(trial_id)
        report = {
            **{f"cv_fold_{k}": e + 0.001 * (k - 1) for k in range(3)},
            "error": e,
            "st_worker_timestamp": time.time(),
            "st_worker_time": 1.0,
            "st_worker_iter": 0,
        }
        self.reports[trial_id] = report
        return f"[tune-metric]: {json.dumps(report)}"

    def finish(self, trial_id: int, line: str | None = None) -> None:
        """Write the report (or its given rest) and mark the job Completed, if it still runs."""
        with MOTO_LOCK:
            job = moto_job(self.names[trial_id])
            if job.training_job_status != "InProgress":
                return
            self.put(self.streams[trial_id], line or self.report_line(trial_id), "SUCCESS")
            job.training_job_status = "Completed"
            job.secondary_status = "Completed"
            from moto.core.utils import utcnow

            job.training_end_time = utcnow()

    def wait_created(self, n: int, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while len(self.streams) < n:
            assert time.time() < deadline, f"only {len(self.streams)} of {n} jobs were created"
            assert not self.errors, self.errors
            time.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def aws(moto):
    """The session's moto server (reset) and clients to it."""
    return moto


@pytest.fixture
def log_reads(monkeypatch):
    """(time, stream) of every GetLogEvents the moto server answers."""
    from moto.logs.models import LogGroup

    calls: list[tuple[float, str]] = []
    original = LogGroup.get_log_events

    def recording(self, log_stream_name, *args, **kwargs):
        calls.append((time.time(), log_stream_name))
        return original(self, log_stream_name, *args, **kwargs)

    monkeypatch.setattr(LogGroup, "get_log_events", recording)
    return calls


@pytest.fixture
def tuner_env(child_env, tmp_path):
    """``make(folder)``: the environment of a tuning subprocess writing its runs to ``folder``."""

    def make(folder: Path) -> dict[str, str]:
        env = child_env(
            SYNETUNE_FOLDER=str(folder),
            SM_MODEL_DIR=str(tmp_path / "model"),
            PYTHONUNBUFFERED="1",
        )
        return {k: v for k, v in env.items() if not k.startswith("AWS_PROFILE")}

    return make


def _tune_argv(endpoint: str) -> list[str]:
    return [
        "tune", "--backend", "sagemaker", "--searcher", "random", "--stopping-rule", "conv",
        "--rule-param", str(K), "--warm-up", str(WARM_UP), "--workers", "4",
        "--max-trials", "40", "--max-wallclock", "0", "--folds", "3", "--sleep-time", "0.1",
        "--name", "crash", "--sm-image-uri", IMAGE, "--sm-role-arn", ROLE,
        "--sm-s3-prefix", PREFIX, "--sm-region", REGION, "--sm-endpoint-url", endpoint,
        "--sm-poll-interval", "0.2", "--sm-log-grace-seconds", "0.3",
    ]  # fmt: skip


def _start(cmd: list[str], env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _wait_for(pred, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while not pred():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"tuning process exited ({proc.returncode}) while waiting: {what}")
        assert time.time() < deadline, f"timed out: {what}"
        time.sleep(0.02)


def _run_dir(folder: Path) -> Path:
    runs = [p for p in folder.iterdir() if p.name.startswith("crash")]
    assert len(runs) == 1, runs
    return runs[0]


def _knows(state: Path | None, trial_id: int) -> bool:
    """Whether the saved tuner state (atomically replaced) knows the trial."""
    return state is not None and trial_id in dill.loads(state.read_bytes()).trial_backend._trials


def _first_session(jobs: Jobs, proc, run_state, log_reads, keep_old: bool) -> bytes | None:
    """Drive session 0 to the crash; return an older state to resume from if ``keep_old``."""
    jobs.wait_created(4)
    # The split report: first half now, polled by the tuner; the rest while it is down.
    line = jobs.report_line(SPLIT)
    jobs.put(jobs.streams[SPLIT], line[:57])
    t_half = time.time()
    _wait_for(
        lambda: any(t >= t_half and s == jobs.streams[SPLIT] for t, s in log_reads),
        30, "a poll of the half-written report", proc,
    )  # fmt: skip
    # Trial 0 ends (the incumbent) -> trial 4 starts -> the state is saved.
    jobs.finish(0)
    _wait_for(lambda: _knows(run_state(), 4), 30, "a state with trial 4", proc)
    old_state = run_state().read_bytes() if keep_old else None
    # Trial 2 ends -> trial 5 starts -> saved again (a state that knows trial 5).
    jobs.finish(2)
    _wait_for(lambda: _knows(run_state(), 5), 30, "a state with trial 5", proc)
    jobs.wait_created(6)
    # Results are written every 5 s (results_update_interval): wait for the first file.
    csv = run_state().parent / "results.csv.zip"
    _wait_for(csv.exists, 15, "the first results file", proc)
    # Freeze the tuner; meanwhile trial 3 completes and trial 1's report is finished.
    os.killpg(proc.pid, signal.SIGSTOP)
    jobs.finish(3)
    jobs.finish(SPLIT, line=line[57:])
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return old_state


def _drive_to_the_end(jobs: Jobs, proc, run: Path, timeout: float = 300.0) -> None:
    """End running jobs one at a time, each once the rule has decided on the last,
    and none once it has decided to stop.

    The rule checks every completed count (catch-up checks), and its trace is
    written before the tuner polls again; a job that ended after the stop
    decision would be stopped with its report unread, as in any tuner. So the
    next job ends only once the trace holds a check of every report so far.
    """

    def last_check() -> dict:
        trace = run / cli.TRACE_FILE
        records = read_trace(trace) if trace.exists() else []
        return records[-1] if records else {}

    deadline = time.time() + timeout
    while proc.poll() is None:
        assert time.time() < deadline, "the resumed run did not end"
        if last_check().get("stop") is True:
            time.sleep(0.05)
            continue
        running = [t for t in sorted(jobs.names) if t not in jobs.reports]
        if not running:
            time.sleep(0.05)
            continue
        jobs.finish(running[0])
        reported = len(jobs.reports)
        end = time.time() + 60  # generous: a loaded 2-core CI machine answers slowly
        while (
            proc.poll() is None
            and time.time() < end
            and (last_check().get("n_completed") or 0) < reported
        ):
            time.sleep(0.02)


def _check_the_run(jobs: Jobs, run: Path, results_before: bytes, adopted: set[int]) -> dict:
    """Every check the issue asks for; returns a few numbers for the log."""
    import pandas as pd

    assert not jobs.errors, jobs.errors
    df = pd.read_csv(run / "results.csv.zip")
    # 1. Every reported result is there exactly once, with the reported values.
    ids = df["trial_id"].tolist()
    assert len(ids) == len(set(ids)), f"duplicate results: {sorted(ids)}"
    assert set(ids) == set(jobs.reports), (sorted(ids), sorted(jobs.reports))
    for _, row in df.iterrows():
        report = jobs.reports[int(row["trial_id"])]
        assert row["error"] == pytest.approx(report["error"], abs=1e-12)
        assert row["cv_fold_2"] == pytest.approx(report["cv_fold_2"], abs=1e-12)
    # 2. No trial started twice: one job per trial id, and configs from the saved ones.
    names = _all_job_names()
    trial_ids = [int(n.rsplit("-", 1)[1]) for n in names]  # no "-r<k>" resumed attempts here
    assert sorted(trial_ids) == list(range(len(trial_ids))), sorted(trial_ids)
    for tid in adopted:  # an adopted job's result is filed under its own config
        row = df[df["trial_id"] == tid].iloc[0]
        hps = decode_hyperparameters(moto_job(jobs.names[tid]).hyper_parameters)
        for key, value in hps.items():
            if key != "st_checkpoint_dir":
                assert row[f"config_{key}"] == pytest.approx(value), key
    # 3. No job left running.
    statuses = {n: moto_job(n).training_job_status for n in names}
    assert all(s in ("Completed", "Stopped", "Failed") for s in statuses.values()), statuses
    # 4. The stop decision and the trace: one sequence of checks over both sessions.
    trace = read_trace(run / cli.TRACE_FILE)
    checks = [r["check"] for r in trace]
    assert checks == list(range(len(checks))), checks
    # Both sessions wrote to it; checks re-made after the saved state replace the first ones.
    assert {r["session"] for r in read_trace(run / cli.TRACE_FILE, resolve_resumes=False)} == {0, 1}
    assert trace[-1]["session"] == 1
    assert trace[-1]["stop"] is True and trace[-1]["n_completed"] == WARM_UP + K
    assert not any(r["stop"] for r in trace[:-1])
    # 5. The first session's results are kept as they were.
    assert (run / "sessions" / "0" / "results.csv.zip").read_bytes() == results_before
    return {"trials": len(trial_ids), "results": len(ids), "checks": len(checks)}


def _all_job_names() -> list[str]:
    from moto.sagemaker.models import sagemaker_backends

    return list(sagemaker_backends[ACCOUNT][REGION].training_jobs)


def _launch_cli(aws, tmp_path: Path, tuner_env):
    """``syne-autoterm tune`` on the moto server in a subprocess, with its folder
    (the fixture's $SYNETUNE_FOLDER, shared with the subprocess), env, log watcher,
    log file and command line."""
    endpoint, clients = aws
    folder = tmp_path / "syne-tune"
    env = tuner_env(folder)
    jobs = Jobs(clients["logs"])
    log = tmp_path / "tuner.log"
    cmd = [sys.executable, "-m", "syne_autoterm.cli"]
    return folder, env, jobs, log, cmd, _start(cmd + _tune_argv(endpoint), env, tmp_path, log)


def test_sigkill_mid_run_then_resume_loses_nothing(aws, tmp_path, log_reads, tuner_env):
    """SIGKILL with 4 jobs running, 2 finished unread, a report split across the crash,
    and a saved state older than the jobs (trial 5 unknown to it); then --resume."""
    folder, env, jobs, log, cmd, proc = _launch_cli(aws, tmp_path, tuner_env)
    try:

        def state():
            p = [d for d in folder.glob("crash*/tuner.dill")]
            return p[0] if p else None

        old_state = _first_session(jobs, proc, state, log_reads, keep_old=True)
        run = _run_dir(folder)
        # Killed: nothing was stopped, the jobs run on.
        running = [
            t for t, n in jobs.names.items() if moto_job(n).training_job_status == "InProgress"
        ]
        assert sorted(running) == [4, 5], running
        # The crash came right after trial 5 was created: the last save before it.
        (run / "tuner.dill").write_bytes(old_state)
        results_before = (run / "results.csv.zip").read_bytes()
        resumed = _start(cmd + ["tune", "--resume", run.name], env, tmp_path, log)
        _drive_to_the_end(jobs, resumed, run)
        assert resumed.returncode == 0, log.read_text()[-3000:]
        text = log.read_text()
        assert "re-attached to 5 trial job(s) [1, 2, 3, 4, 5], 1 created after" in text, text[
            -3000:
        ]
        numbers = _check_the_run(jobs, run, results_before, adopted={5})
        print(f"resume after SIGKILL: {numbers}")
    finally:
        for p in (proc,):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
        jobs.close()


def _remote_code(tmp_path: Path, endpoint: str) -> Path:
    from syne_autoterm.backends.remote import build_remote_sourcedir

    data, _ = build_remote_sourcedir(None, [*_tune_argv(endpoint), "--remote"])
    code = tmp_path / "remote-code"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(code, filter="data")
    return code


def test_remote_tuner_job_restarted_after_a_checkpoint_resumes(aws, tmp_path, log_reads, tuner_env):
    """The --remote job's entry script, killed after a checkpoint and started again
    (what a spot interruption does), resumes from /opt/ml/checkpoints."""
    endpoint, clients = aws
    code = _remote_code(tmp_path, endpoint)
    checkpoints = tmp_path / "opt-ml-checkpoints" / "syne-tune"  # synced to S3 by SageMaker
    env = tuner_env(checkpoints)
    jobs = Jobs(clients["logs"])
    log = tmp_path / "remote.log"
    cmd = [sys.executable, "autoterm_remote_entry.py"]
    proc = _start(cmd, env, code, log)
    try:

        def state():
            p = list(checkpoints.glob("crash*/tuner.dill"))
            return p[0] if p else None

        _first_session(jobs, proc, state, log_reads, keep_old=False)
        run = _run_dir(checkpoints)
        results_before = (run / "results.csv.zip").read_bytes()
        # The S3 mirror holds the same snapshot (for a resume from elsewhere).
        key = f"runs/{run.name}/state/tuner.dill"
        assert clients["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read()
        restarted = _start(cmd, env, code, log)
        _drive_to_the_end(jobs, restarted, run)
        text = log.read_text()
        assert restarted.returncode == 0, text[-3000:]
        assert f"resuming {run.name} from its checkpoint" in text
        assert "re-attached to 4 trial job(s) [1, 3, 4, 5]" in text, text[-3000:]
        numbers = _check_the_run(jobs, run, results_before, adopted=set())
        print(f"remote restart: {numbers}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        jobs.close()


# ------------------------------------------------------------------- clear errors
def _one_line_error(capsys, argv: list[str], *fragments: str) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for f in fragments:
        assert f in err, err
    return err


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_resume_errors_are_one_line_and_delete_nothing(aws, tmp_path, capsys):
    from syne_tune.backend import LocalBackend
    from syne_tune.optimizer.baselines import RandomSearch

    from syne_autoterm.backends.resume import ResumableTuner

    endpoint, clients = aws
    folder = Path(os.environ["SYNETUNE_FOLDER"])
    _one_line_error(capsys, ["tune", "--resume", "no-such-run"], "no run named 'no-such-run'")
    _one_line_error(capsys, ["stop", "no-such-run"], "no run named 'no-such-run'")

    # A local run: --backend sagemaker is refused, and so is a resume without it.
    script = tmp_path / "train.py"
    script.write_text("")
    local = ResumableTuner(
        trial_backend=LocalBackend(entry_point=str(script)),
        scheduler=RandomSearch({"x": 1}, metrics=["error"]),
        stop_criterion=lambda s: True,
        n_workers=1,
        tuner_name="local-run",
        suffix_tuner_name=False,
    )
    local.save()
    before = _tree(folder / "local-run")
    _one_line_error(
        capsys, ["tune", "--resume", "local-run", "--backend", "sagemaker"],
        "used the LocalBackend, not --backend sagemaker",
    )  # fmt: skip
    _one_line_error(capsys, ["tune", "--resume", "local-run"], "only SageMaker runs")
    assert _tree(folder / "local-run") == before

    # A truncated local state.
    broken = folder / "broken-local"
    broken.mkdir()
    (broken / "tuner.dill").write_bytes((folder / "local-run" / "tuner.dill").read_bytes()[:100])
    before = _tree(broken)
    _one_line_error(
        capsys, ["tune", "--resume", "broken-local"], "unreadable", "nothing was changed"
    )
    assert _tree(broken) == before

    # A corrupted S3 state (no local folder: a resume from another machine).
    key = "runs/broken-s3/state/tuner.dill"
    clients["s3"].put_object(Bucket=BUCKET, Key=key, Body=b"\x80\x04garbage")
    argv = ["tune", "--resume", "broken-s3", "--sm-s3-prefix", PREFIX, "--sm-region", REGION,
            "--sm-endpoint-url", endpoint]  # fmt: skip
    _one_line_error(capsys, argv, "unreadable", f"{PREFIX}/broken-s3/state/tuner.dill")
    assert clients["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"\x80\x04garbage"
    assert not (folder / "broken-s3").exists()
    # --remote with --resume is refused too.
    _one_line_error(
        capsys, ["tune", "--resume", "x", "--backend", "sagemaker", "--remote"], "--remote"
    )  # fmt: skip


def test_stop_while_down_is_honoured_on_resume(aws, tmp_path, log_reads, capsys, tuner_env):
    """``syne-autoterm stop`` while the loop is dead: the resume reads what finished,
    stops the running jobs and starts none."""
    folder, env, jobs, log, cmd, proc = _launch_cli(aws, tmp_path, tuner_env)
    try:
        _first_session(
            jobs, proc, lambda: next(iter(folder.glob("crash*/tuner.dill")), None), log_reads, False
        )
        run = _run_dir(folder)
        assert cli.main(["stop", run.name]) == 0
        out = capsys.readouterr().out
        assert f"{PREFIX}/{run.name}/state/STOP" in out and "autoterm_stop_requested" in out
        created = len(jobs.streams)
        resumed = _start(cmd + ["tune", "--resume", run.name], env, tmp_path, log)
        resumed.wait(60)
        text = log.read_text()
        assert resumed.returncode == 0, text[-3000:]
        assert "a stop was decided before the restart" in text
        assert len(jobs.streams) == created == 6, "a trial was started after the stop"
        statuses = {t: moto_job(n).training_job_status for t, n in jobs.names.items()}
        assert statuses == {0: "Completed", 1: "Completed", 2: "Completed", 3: "Completed",
                            4: "Stopped", 5: "Stopped"}  # fmt: skip
        import pandas as pd

        df = pd.read_csv(run / "results.csv.zip")
        assert sorted(df["trial_id"]) == [0, 1, 2, 3]  # each once, also the split report
        # Jobs that ended while the loop was down are read to their end: completed trials.
        rows = dill.loads((run / "tuner.dill").read_bytes()).tuning_status.trial_rows
        assert [rows[t]["status"] for t in range(4)] == ["Completed"] * 4, rows
        assert read_trace(run / cli.TRACE_FILE)[-1]["n_completed"] == 4
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        jobs.close()


def test_s3_stop_marker_reaches_a_backend_without_local_files(aws, tmp_path, capsys):
    """``stop NAME --sm-s3-prefix`` (a --remote run, no local folder) reaches the backend."""
    from syne_autoterm.backends import SageMakerBackend, SessionSettings, TrainingJobSpec

    endpoint, clients = aws
    script = tmp_path / "train.py"
    script.write_text("")
    backend = SageMakerBackend(
        TrainingJobSpec(entry_point=str(script), image_uri=IMAGE, role_arn=ROLE, s3_prefix=PREFIX),
        SessionSettings(region_name=REGION, endpoint_url=endpoint, stop_check_interval=3600),
    )
    backend.set_path(results_root=str(tmp_path / "remote-run"), tuner_name="remote-run")
    assert not backend.stop_requested(force=True)
    argv = ["stop", "remote-run", "--sm-s3-prefix", PREFIX, "--sm-endpoint-url", endpoint]
    _one_line_error(capsys, argv, "no run named 'remote-run'")  # no state mirrored yet
    (tmp_path / "remote-run").mkdir()
    (tmp_path / "remote-run" / "tuner.dill").write_bytes(b"state")
    backend.on_tuner_save()  # the mirror a remote tuner writes with every snapshot
    assert cli.main(argv) == 0
    assert not backend.stop_requested(), "checked at most every stop_check_interval"
    assert backend.stop_requested(force=True)
