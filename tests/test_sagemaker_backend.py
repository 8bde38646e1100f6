"""SageMakerBackend (boto3 only): Stubber unit tests and a moto end-to-end run.

Nothing here reaches AWS: unit tests use botocore ``Stubber`` (an unstubbed
call raises) on clients pointed at a closed local port, and the end-to-end
tests talk HTTP to an in-process moto server on 127.0.0.1 with dummy
credentials. If the moto server cannot start, the tests fail (no skipping).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import queue
import random
import tarfile
import threading
import time
from pathlib import Path

import boto3
import botocore.awsrequest
import dill
import numpy as np
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber
from conftest import (
    ACCOUNT,
    DUMMY_KEY,
    DUMMY_SECRET,
    IMAGE,
    MOTO_CREATED,
    MOTO_LOCK,
    MOTO_STOPPED,
    REGION,
    ROLE,
    moto_job,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst
from syne_tune.backend.trial_status import Status

from syne_autoterm.backends import SageMakerBackend, SessionSettings, TrainingJobSpec
from syne_autoterm.backends._sagemaker_jobs import (
    JOB_NAME_MAX_LEN,
    decode_hyperparameters,
    encode_hyperparameters,
    is_valid_job_name,
    make_job_name,
)
from syne_autoterm.backends._sagemaker_logs import LOG_GROUP, MetricLineAssembler
from syne_autoterm.backends.cli_support import (
    add_sagemaker_arguments,
    make_sagemaker_backend_from_args,
)
from syne_autoterm.backends.remote import forward_argv, redact_argv
from syne_autoterm.backends.spec import SESSION_FIELDS, SPEC_FIELDS

#: Nothing listens here: a request that escaped the stubs cannot reach AWS.
CLOSED_ENDPOINT = "http://127.0.0.1:9"

pytestmark = pytest.mark.usefixtures("offline_aws")


# --------------------------------------------------------------------------- helpers
class FakeClock:
    """Controls the backend's rate limiter: a poll happens only if we advance time."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float = 10.0) -> None:
        self.t += dt


_UNIT_SESSION: boto3.session.Session | None = None


def _client(service: str):
    # One session for all unit tests: botocore caches the (large) service models per session.
    global _UNIT_SESSION
    if _UNIT_SESSION is None:
        _UNIT_SESSION = boto3.session.Session(
            region_name=REGION, aws_access_key_id=DUMMY_KEY, aws_secret_access_key=DUMMY_SECRET
        )
    return _UNIT_SESSION.client(
        service, endpoint_url=CLOSED_ENDPOINT, config=Config(retries={"max_attempts": 0})
    )


def _report(i: int, **extra) -> dict:
    folds = {f"cv_fold_{k}": 0.1 * i + 0.01 * k for k in range(10)}
    return {
        **folds,
        "error": float(np.mean(list(folds.values()))),
        "st_worker_timestamp": 1700000000.0 + i,
        "st_worker_time": 1.0 + i,
        "st_worker_iter": i,
        **extra,
    }


def _line(report: dict) -> str:
    return f"[tune-metric]: {json.dumps(report)}"


def _events(*messages: str, t0: int = 1700000000000) -> list[dict]:
    return [
        {"timestamp": t0 + i, "message": m, "ingestionTime": t0 + i} for i, m in enumerate(messages)
    ]


class Stubbed:
    """A backend with three stubbed clients and helpers to queue expected calls."""

    def __init__(self, tmp_path: Path, **kwargs) -> None:
        script = tmp_path / "train.py"
        script.write_text("print('hello')\n")
        self.sm, self.logs, self.s3 = _client("sagemaker"), _client("logs"), _client("s3")
        self.stubs = {
            name: Stubber(c) for name, c in (("sm", self.sm), ("logs", self.logs), ("s3", self.s3))
        }
        for s in self.stubs.values():
            s.activate()
        self.clock = FakeClock()
        self.sleeps: list[float] = []
        self.create_requests: list[dict] = []
        self.uploads: list[dict] = []
        self.sm.meta.events.register(
            "provide-client-params.sagemaker.CreateTrainingJob",
            lambda params, **_: self.create_requests.append(json.loads(json.dumps(params))),
        )
        self.s3.meta.events.register(
            "provide-client-params.s3.PutObject",
            lambda params, **_: self.uploads.append(dict(params)),
        )
        # Each keyword goes to the settings object that has it; the rest to the backend.
        spec = TrainingJobSpec(
            entry_point=str(kwargs.pop("entry_point", script)),
            image_uri=IMAGE,
            role_arn=ROLE,
            s3_prefix="s3://bucket/prefix",
            **{k: kwargs.pop(k) for k in list(kwargs) if k in SPEC_FIELDS},
        )
        session = SessionSettings(
            **{
                "poll_interval": 10.0,
                "final_log_grace_seconds": 0.0,
                **{k: kwargs.pop(k) for k in list(kwargs) if k in SESSION_FIELDS},
            }
        )
        self.backend = SageMakerBackend(
            spec,
            session,
            sagemaker_client=self.sm,
            logs_client=self.logs,
            s3_client=self.s3,
            clock=self.clock,
            sleep=self.sleeps.append,
            **kwargs,
        )
        self.backend.set_path(tuner_name="unit-tuner")

    # queueing ---------------------------------------------------------------
    def expect_upload(self) -> None:
        self.stubs["s3"].add_response(
            "put_object", {}, {"Bucket": "bucket", "Key": ANY, "Body": ANY}
        )

    def expect_create(self) -> None:
        self.stubs["sm"].add_response(
            "create_training_job",
            {"TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/x"},
            None,
        )

    def expect_describe(self, job: str, status: str, **extra) -> None:
        resp = {
            "TrainingJobName": job,
            "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job}",
            "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/prefix/model.tar.gz"},
            "TrainingJobStatus": status,
            "SecondaryStatus": "Training",
            "AlgorithmSpecification": {"TrainingInputMode": "File"},
            "ResourceConfig": {"VolumeSizeInGB": 30},
            "StoppingCondition": {},
            "CreationTime": "2024-01-01T00:00:00Z",
            **extra,
        }
        self.stubs["sm"].add_response("describe_training_job", resp, {"TrainingJobName": job})

    def expect_error(
        self,
        stub: str,
        method: str,
        code: str = "ThrottlingException",
        status: int = 400,
        params=None,
    ) -> None:
        self.stubs[stub].add_client_error(
            method,
            service_error_code=code,
            service_message="Rate exceeded",
            http_status_code=status,
            expected_params=params,
        )

    def expect_streams(self, job: str, *hosts: str, token_in=None, token_out=None) -> None:
        params = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": f"{job}/"}
        if token_in:
            params["nextToken"] = token_in
        resp = {
            "logStreams": [
                {"logStreamName": f"{job}/{h}-1700000000", "creationTime": 1700000000000 + i}
                for i, h in enumerate(hosts)
            ]
        }
        if token_out:
            resp["nextToken"] = token_out
        self.stubs["logs"].add_response("describe_log_streams", resp, params)

    def expect_events(
        self, stream: str, events: list[dict], token_in, token_out, limit=None
    ) -> None:
        params = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
        if token_in is not None:
            params["nextToken"] = token_in
        if limit is not None:
            params["limit"] = limit
        self.stubs["logs"].add_response(
            "get_log_events",
            {"events": events, "nextForwardToken": token_out, "nextBackwardToken": "b/0"},
            params,
        )

    def start(self, config: dict | None = None, upload: bool = True) -> str:
        if upload:
            self.expect_upload()
        self.expect_create()
        trial = self.backend.start_trial(config or {"x": 0.5})
        return self.backend.job_names(trial.trial_id)[-1]

    def fetch(self, *trial_ids: int):
        status, results = self.backend.fetch_status_results(list(trial_ids))
        return {tid: st for tid, (_, st) in status.items()}, results

    def done(self) -> None:
        for s in self.stubs.values():
            s.assert_no_pending_responses()


# --------------------------------------------------------------- request building
def test_create_request_contents_tarball_and_no_secrets_in_logs(tmp_path, caplog):
    caplog.set_level("DEBUG", logger="syne_autoterm")
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "__pycache__").mkdir()
    (src / "train.py").write_text("import pkg.helper\n")
    (src / "pkg" / "helper.py").write_text("X = 1\n")
    (src / "requirements.txt").write_text("numpy\n")
    (src / "__pycache__" / "junk.pyc").write_bytes(b"\0")
    h = Stubbed(
        tmp_path,
        entry_point=src / "train.py",
        source_dir=str(src),
        instance_type="ml.g5.xlarge",
        instance_count=2,
        volume_size_gb=50,
        max_run_seconds=3600,
        use_spot=True,
        max_wait_seconds=7200,
        environment={"API_TOKEN": "s3cr3t-value"},
        tags={"team": "ml"},
        metrics_names=["error"],
        job_name_prefix="My Project_v2!",
        requirements=["lightgbm>=4"],
        region_name=REGION,
    )
    config = {"lr": np.float64(0.1), "opt": "adam", "layers": np.int64(3), "flag": True, "wd": 1e-5}
    job0 = h.start(config)
    job1 = h.start({"lr": 0.2, "opt": "sgd", "layers": 1, "flag": False, "wd": 0.0}, upload=False)
    h.done()

    assert len(h.uploads) == 1, "sourcedir.tar.gz must be uploaded once per tuning run"
    key = h.uploads[0]["Key"]
    assert key.startswith("prefix/unit-tuner/source/") and key.endswith("/sourcedir.tar.gz")
    members = _tar_members(h.uploads[0]["Body"])
    assert sorted(members) == ["pkg/helper.py", "requirements.txt", "train.py"]
    assert members["requirements.txt"] == b"numpy\nlightgbm>=4\n"  # the user's, then ours

    req = h.create_requests[0]
    assert req["TrainingJobName"] == job0 and is_valid_job_name(job0)
    assert job0.startswith("My-Project-v2-") and job0.endswith("-0")
    assert job1.endswith("-1") and job1 != job0
    hps = req["HyperParameters"]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in hps.items())
    assert hps["lr"] == "0.1" and hps["layers"] == "3" and hps["flag"] == "true"
    assert hps["opt"] == '"adam"' and float(json.loads(hps["wd"])) == 1e-5
    assert hps["sagemaker_program"] == '"train.py"'
    assert hps["sagemaker_submit_directory"] == json.dumps(f"s3://bucket/{key}")
    assert hps["sagemaker_region"] == json.dumps(REGION)
    assert hps["st_checkpoint_dir"] == '"/opt/ml/checkpoints"'
    assert decode_hyperparameters(hps) == {
        "lr": 0.1,
        "opt": "adam",
        "layers": 3,
        "flag": True,
        "wd": 1e-5,
        "st_checkpoint_dir": "/opt/ml/checkpoints",
    }
    assert req["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert req["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "error"
    assert req["RoleArn"] == ROLE
    assert req["ResourceConfig"] == {
        "InstanceType": "ml.g5.xlarge",
        "InstanceCount": 2,
        "VolumeSizeInGB": 50,
    }
    assert req["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert req["EnableManagedSpotTraining"] is True
    assert req["CheckpointConfig"] == {
        "S3Uri": "s3://bucket/prefix/unit-tuner/checkpoints/0/",
        "LocalPath": "/opt/ml/checkpoints",
    }
    assert req["OutputDataConfig"] == {"S3OutputPath": "s3://bucket/prefix/unit-tuner/output/"}
    assert req["Environment"] == {"API_TOKEN": "s3cr3t-value"}
    tags = {t["Key"]: t["Value"] for t in req["Tags"]}
    assert tags["team"] == "ml" and tags["syne-autoterm:trial-id"] == "0"
    assert h.create_requests[1]["CheckpointConfig"]["S3Uri"].endswith("/checkpoints/1/")
    # Nothing secret in our logs: neither env values nor credentials.
    assert "started SageMaker training job" in caplog.text
    for secret in ("s3cr3t-value", DUMMY_KEY, DUMMY_SECRET):
        assert secret not in caplog.text


def test_hyperparameter_limits_are_checked_before_calling_aws():
    with pytest.raises(ValueError, match="2500"):
        encode_hyperparameters({"big": "x" * 3000})
    with pytest.raises(ValueError, match="at most 100"):
        encode_hyperparameters({f"k{i}": i for i in range(101)})
    assert encode_hyperparameters({"nan": float("nan"), "arr": np.arange(3)}) == {
        "nan": "NaN",
        "arr": "[0, 1, 2]",
    }


@settings(max_examples=300, deadline=None)
@given(
    prefix=hst.text(max_size=120),
    token=hst.text(alphabet="0123456789abcdef", min_size=1, max_size=12),
    a=hst.tuples(hst.integers(0, 10**12), hst.integers(0, 10**4)),
    b=hst.tuples(hst.integers(0, 10**12), hst.integers(0, 10**4)),
)
def test_job_names_always_valid_and_unique(prefix, token, a, b):
    name_a = make_job_name(prefix, token, *a)
    name_b = make_job_name(prefix, token, *b)
    for name in (name_a, name_b):
        assert len(name) <= JOB_NAME_MAX_LEN
        assert is_valid_job_name(name), name
    assert (name_a == name_b) == (a == b)


# ------------------------------------------------------------ polling and logs
def test_throttling_is_retried_and_never_crashes_the_tuner(tmp_path, caplog):
    h = Stubbed(tmp_path)
    h.expect_upload()
    h.expect_error("sm", "create_training_job")  # retried by our backoff layer
    h.expect_create()
    h.backend.start_trial({"x": 0.5})
    job = h.backend.job_names(0)[0]
    assert len(h.sleeps) == 1
    stream = f"{job}/algo-1-1700000000"

    # Poll 1: DescribeTrainingJob throttled -> last known state, no exception.
    h.clock.advance()
    h.expect_error("sm", "describe_training_job", params={"TrainingJobName": job})
    status, results = h.fetch(0)
    assert status == {0: Status.in_progress} and results == []
    assert "transient AWS error" in caplog.text

    # Poll 2: first log page read, second page throttled: page 1 is delivered once.
    h.clock.advance()
    h.expect_describe(job, "InProgress")
    h.expect_streams(job, "algo-1")
    h.expect_events(stream, _events(_line(_report(0))), None, "f/1")
    h.expect_error("logs", "get_log_events", code="ThrottlingException")
    status, results = h.fetch(0)
    assert [r["error"] for _, r in results] == [_report(0)["error"]]

    # Poll 3: resumes from the stored forward token (f/1): no duplicate, no loss.
    h.clock.advance()
    h.expect_describe(job, "InProgress")
    h.expect_streams(job, "algo-1")
    h.expect_events(stream, _events(_line(_report(1))), "f/1", "f/2")
    h.expect_events(stream, [], "f/2", "f/2")
    status, results = h.fetch(0)
    assert [r["st_worker_iter"] for _, r in results] == [1]

    # StopTrainingJob throttled once, then sent.
    h.expect_error("sm", "stop_training_job", code="ThrottlingException")
    h.stubs["sm"].add_response("stop_training_job", {}, {"TrainingJobName": job})
    h.backend.stop_trial(0)
    assert h.fetch(0)[0] == {0: Status.stopped}
    h.done()


def test_failed_job_is_a_failed_trial_with_failure_reason(tmp_path, caplog):
    h = Stubbed(tmp_path)
    job = h.start()
    reason = "AlgorithmError: ExecuteUserScriptError: ValueError: boom"
    h.clock.advance()
    h.expect_describe(job, "Failed", FailureReason=reason)
    h.expect_streams(job, "algo-1")
    h.expect_events(
        f"{job}/algo-1-1700000000",
        _events("Traceback (most recent call last):", "ValueError: boom"),
        None,
        "f/1",
    )
    h.expect_events(f"{job}/algo-1-1700000000", [], "f/1", "f/1")
    status, results = h.fetch(0)
    assert status == {0: Status.failed} and results == []
    assert h.backend.failure_reason(0) == reason
    assert reason in caplog.text  # logged once, when seen
    out = "".join(h.backend.stdout(0))
    assert "ValueError: boom" in out and f"FailureReason: {reason}" in out
    assert reason in "".join(h.backend.stderr(0))
    # Terminal and drained: later polls make no API calls (the stubs would raise).
    h.clock.advance()
    assert h.fetch(0)[0] == {0: Status.failed}
    h.done()


def test_create_error_is_a_failed_trial_not_a_crash(tmp_path):
    h = Stubbed(tmp_path)
    h.expect_upload()
    h.expect_error("sm", "create_training_job", code="ResourceLimitExceeded")
    h.backend.start_trial({"x": 1.0})
    assert h.fetch(0)[0] == {0: Status.failed}
    assert "ResourceLimitExceeded" in h.backend.failure_reason(0)
    h.done()


def test_log_line_split_across_polls_is_reassembled(tmp_path):
    h = Stubbed(tmp_path)
    job = h.start()
    stream = f"{job}/algo-1-1700000000"
    line = _line(_report(7, note='braces {"in"} a string'))
    cut = len(line) // 2
    h.clock.advance()
    h.expect_describe(job, "InProgress")
    h.expect_streams(job, "algo-1")
    h.expect_events(stream, _events("Invoking script", line[:cut]), None, "f/1")
    h.expect_events(stream, [], "f/1", "f/1")
    status, results = h.fetch(0)
    assert results == [] and status == {0: Status.in_progress}

    h.clock.advance()
    h.expect_describe(job, "Completed")
    h.expect_streams(job, "algo-1")
    h.expect_events(stream, _events(line[cut:], t0=1700000001000), "f/1", "f/2")
    h.expect_events(stream, [], "f/2", "f/2")
    status, results = h.fetch(0)
    assert status == {0: Status.completed}
    assert [r for _, r in results] == [_report(7, note='braces {"in"} a string')]
    h.done()


def test_more_log_events_than_one_page_and_more_streams_than_one_page(tmp_path):
    h = Stubbed(tmp_path, log_page_limit=3)
    job = h.start()
    s1, s2 = f"{job}/algo-1-1700000000", f"{job}/algo-2-1700000000"
    lines = [_line(_report(i)) for i in range(7)]
    h.clock.advance()
    h.expect_describe(job, "Completed")
    h.expect_streams(job, "algo-1", token_out="page2")
    h.stubs["logs"].add_response(
        "describe_log_streams",
        {"logStreams": [{"logStreamName": s2, "creationTime": 1700000000005}]},
        {"logGroupName": LOG_GROUP, "logStreamNamePrefix": f"{job}/", "nextToken": "page2"},
    )
    h.expect_events(s1, _events(*lines[0:3]), None, "f/2", limit=3)
    h.expect_events(s1, _events(*lines[3:6], t0=1700000001000), "f/2", "f/5", limit=3)
    h.expect_events(s1, _events(lines[6], t0=1700000002000), "f/5", "f/6", limit=3)
    h.expect_events(s1, [], "f/6", "f/6", limit=3)
    # Host 2 also prints a report; only algo-1 feeds the trial's results.
    h.expect_events(s2, _events("worker 2 up", _line(_report(99))), None, "f/1", limit=3)
    h.expect_events(s2, [], "f/1", "f/1", limit=3)
    status, results = h.fetch(0)
    assert status == {0: Status.completed}
    assert [r["st_worker_iter"] for _, r in results] == list(range(7))
    assert "[algo-2-1700000000] worker 2 up\n" in h.backend.stdout(0)
    h.done()


def test_no_duplicates_across_repeated_polls_and_rate_limit(tmp_path):
    h = Stubbed(tmp_path)
    job = h.start()
    stream = f"{job}/algo-1-1700000000"
    h.clock.advance()
    h.expect_describe(job, "InProgress")
    h.expect_streams(job, "algo-1")
    h.expect_events(stream, _events(_line(_report(0)), _line(_report(1))), None, "f/1")
    h.expect_events(stream, [], "f/1", "f/1")
    assert len(h.fetch(0)[1]) == 2
    # Within poll_interval: cached, no API call at all (an unstubbed call would raise).
    for _ in range(5):
        h.clock.advance(1.0)
        assert h.fetch(0)[1] == []
    for _ in range(3):  # polled again, nothing new: still no duplicates
        h.clock.advance()
        h.expect_describe(job, "InProgress")
        h.expect_streams(job, "algo-1")
        h.expect_events(stream, [], "f/1", "f/1")
        assert h.fetch(0)[1] == []
    h.clock.advance()
    h.expect_describe(job, "Completed")
    h.expect_streams(job, "algo-1")
    h.expect_events(stream, _events(_line(_report(2)), t0=1700000009000), "f/1", "f/2")
    h.expect_events(stream, [], "f/2", "f/2")
    status, results = h.fetch(0)
    assert status == {0: Status.completed} and [r["st_worker_iter"] for _, r in results] == [2]
    assert len(h.backend._trial_dict[0].metrics) == 3
    h.done()


def test_completed_without_reports_is_failed_and_grace_waits_for_late_logs(tmp_path):
    h = Stubbed(tmp_path, final_log_grace_seconds=15.0)
    job = h.start()
    stream = f"{job}/algo-1-1700000000"
    h.clock.advance()
    h.expect_describe(job, "Completed")
    h.expect_streams(job)  # no stream yet: CloudWatch lags behind the job status
    assert h.fetch(0)[0] == {0: Status.in_progress}, "must wait for late log events"
    h.clock.advance(20.0)
    h.expect_streams(job, "algo-1")
    h.expect_events(stream, _events("done, but forgot to report"), None, "f/0")
    h.expect_events(stream, [], "f/0", "f/0")
    assert h.fetch(0)[0] == {0: Status.failed}
    h.done()


def test_pause_and_resume_reuse_the_checkpoint_uri(tmp_path):
    h = Stubbed(tmp_path)
    job = h.start({"x": 0.1})
    h.stubs["sm"].add_response("stop_training_job", {}, {"TrainingJobName": job})
    h.backend.pause_trial(0)
    assert h.fetch(0)[0] == {0: Status.paused}
    h.expect_create()
    h.backend.resume_trial(0, new_config={"x": 0.2})
    jobs = h.backend.job_names(0)
    assert jobs[0] == job and jobs[1].endswith("-0-r1") and is_valid_job_name(jobs[1])
    first, second = h.create_requests
    assert second["CheckpointConfig"] == first["CheckpointConfig"]
    assert second["HyperParameters"]["x"] == "0.2"
    h.done()


def test_backend_survives_dill_round_trip(tmp_path):
    h = Stubbed(tmp_path, region_name=REGION)
    h.start()
    clone = dill.loads(dill.dumps(h.backend))
    assert clone._clients.clients == {} and clone._clients.boto_session is None
    assert clone.job_names(0) == h.backend.job_names(0)
    assert h.backend._clients.clients["sagemaker"] is h.sm  # original untouched


def test_pickled_backend_names_only_its_public_module(tmp_path):
    """A saved tuner.dill must not name the private modules the backend is split into."""
    h = Stubbed(tmp_path, region_name=REGION)
    h.start()
    blob = dill.dumps(h.backend)
    assert b"syne_autoterm.backends.sagemaker" in blob
    assert b"_sagemaker_trials" not in blob  # where _JobRun and _TrialState are defined
    clone = dill.loads(blob)
    assert type(clone._trials[0].runs[0]).__module__ == "syne_autoterm.backends.sagemaker"


# ------------------------------------------------------------- assembler alone
def test_assembler_handles_garbage_and_interleaving():
    a = MetricLineAssembler()
    good = _line({"error": 1.0, "st_worker_timestamp": 1.0})
    assert a.feed("[tune-metric]: {not json}") == []
    assert a.feed(good) == [{"error": 1.0, "st_worker_timestamp": 1.0}]
    assert a.feed(good[:20]) == []
    # A line that starts a new report is never swallowed by an open fragment:
    # the fragment is dropped (warned) and the new report parsed.
    assert a.feed("some other line") == []  # (could still be a continuation)
    assert a.feed(good + "\n" + good) == [{"error": 1.0, "st_worker_timestamp": 1.0}] * 2
    assert a.pending == ""
    assert a.feed("[tune-") == [] and a.pending == "[tune-"
    assert a.feed(good[len("[tune-") :]) == [{"error": 1.0, "st_worker_timestamp": 1.0}]
    assert a.num_dropped == 2


_json_values = hst.recursive(
    hst.none() | hst.booleans() | hst.integers() | hst.floats(allow_nan=False) | hst.text(),
    lambda inner: (
        hst.lists(inner, max_size=3) | hst.dictionaries(hst.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=hst.lists(
        hst.one_of(
            hst.dictionaries(hst.text(max_size=8), _json_values, min_size=1, max_size=5),
            hst.text(alphabet=hst.characters(blacklist_characters="[\n\r"), max_size=40),
        ),
        max_size=8,
    ),
    data=hst.data(),
)
def test_assembler_reassembles_reports_cut_anywhere(items, data):
    """Any line cut into any number of events at any positions gives back exactly the reports."""
    assembler = MetricLineAssembler()
    expected, got = [], []
    for item in items:
        line = _line(item) if isinstance(item, dict) else item
        if isinstance(item, dict):
            expected.append(json.loads(json.dumps(item)))
        cuts = sorted(data.draw(hst.sets(hst.integers(1, max(1, len(line) - 1)), max_size=4)))
        pieces = [
            line[i:j] for i, j in zip([0, *cuts], [*cuts, len(line)], strict=True) if line[i:j]
        ]
        for piece in pieces or [line]:
            got.extend(assembler.feed(piece))
    assert got == expected


# ------------------------------------------------------------------ CLI support
def test_cli_arguments_build_a_backend_and_forward_for_remote(tmp_path, monkeypatch):
    script = tmp_path / "train.py"
    script.write_text("")
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend")
    add_sagemaker_arguments(parser)
    argv = [
        "--backend",
        "sagemaker",
        "--remote",
        "--sm-image-uri",
        IMAGE,
        "--sm-role-arn",
        ROLE,
        "--sm-s3-prefix",
        "s3://b/p",
        "--sm-region",
        REGION,
        "--sm-instance-type",
        "ml.c5.xlarge",
        "--sm-spot",
        "--sm-env",
        "TOKEN=abc",
        "--sm-tag",
        "team=ml",
        "--sm-remote-instance-type",
        "ml.t3.medium",
    ]
    args = parser.parse_args(argv)
    backend = make_sagemaker_backend_from_args(args, str(script))
    assert backend.spec.instance_type == "ml.c5.xlarge" and backend.spec.use_spot and args.remote
    assert backend.spec.environment == {"TOKEN": "abc"} and backend.spec.tags == (
        {"Key": "team", "Value": "ml"},
    )
    assert backend._clients.clients == {}, "clients are created lazily, not at construction"
    with pytest.raises(ValueError, match="--sm-role-arn"):
        make_sagemaker_backend_from_args(parser.parse_args(["--sm-image-uri", IMAGE]), str(script))
    fwd = forward_argv(
        ["tune", str(script), *argv, "--sm-source-dir", str(tmp_path)],
        str(script),
        "user/train.py",
        str(tmp_path),
    )
    assert "--remote" not in fwd and "ml.t3.medium" not in fwd and "user/train.py" in fwd
    assert "--sm-source-dir=user" in fwd and str(tmp_path) not in fwd
    assert "TOKEN=***" in redact_argv(fwd) and "TOKEN=abc" not in redact_argv(fwd)


# ======================================================================== moto e2e
SPACE_CENTER = (0.5, -0.3)


def _fold_scores(x: float, y: float, seed: int) -> list[float]:
    """A shallow noisy quadratic: fold noise (0.5) dominates the range of f (~0.85),
    so the remaining-regret bound falls below the CV error soon after warm-up."""
    f = 0.1 * ((x - SPACE_CENTER[0]) ** 2 + (y - SPACE_CENTER[1]) ** 2)
    rng = np.random.default_rng(seed)
    return [float(v) for v in f + 0.5 * rng.standard_normal(10)]


class SageMakerHarness(threading.Thread):
    """Plays SageMaker for each created job: writes its log, then ends it.

    Trial 2 fails; trial 1's report is written in two log events with a pause
    longer than the backend's poll interval in between; trial 3 writes more
    log events than one ``GetLogEvents`` page.
    """

    FAIL, SPLIT, PAGED = 2, 1, 3

    def __init__(self, logs_client) -> None:
        super().__init__(daemon=True)
        self.logs = logs_client
        self.split_stream: str | None = None
        self.split_polled = threading.Event()  # set by the backend's GetLogEvents hook
        self.stop_event = threading.Event()
        self.rng = random.Random(0)
        self.reports: dict[str, dict] = {}  # job name -> report written (Completed jobs)
        self.ended: dict[str, str] = {}  # job name -> status set by the harness
        self.split_times: tuple[float, float] | None = None
        self.errors: list[BaseException] = []
        self._last_ts = 0
        self._workers: list[threading.Thread] = []
        self.newest: str | None = None  # the job created last

    def _ts(self) -> int:
        self._last_ts = max(int(time.time() * 1000), self._last_ts + 1)
        return self._last_ts

    def _put(self, stream: str, *messages: str) -> None:
        with MOTO_LOCK:
            events = [{"timestamp": self._ts(), "message": m} for m in messages]
        self.logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)

    def run(self) -> None:
        self.logs.create_log_group(logGroupName=LOG_GROUP)
        while not self.stop_event.is_set():
            try:
                name = MOTO_CREATED.get(timeout=0.05)
            except queue.Empty:
                continue
            self.newest = name
            t = threading.Thread(target=self._play, args=(name,), daemon=True)
            t.start()
            self._workers.append(t)

    def _play(self, name: str) -> None:
        try:
            trial_id = int(name.rsplit("-", 1)[1])
            hps = decode_hyperparameters(moto_job(name).hyper_parameters)
            stream = f"{name}/algo-1-{int(time.time())}"
            self.logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
            self._put(
                stream,
                "Invoking script with the following command:",
                f"/usr/bin/python3 train.py x={hps['x']}",
            )
            if trial_id == self.PAGED:
                self._put(stream, *[f"epoch progress line {i}" for i in range(25)])
            time.sleep(self.rng.uniform(1.0, 2.5))
            # The newest job runs on until a newer one is created: the tuner creates
            # none after it decides to stop, so a job is still running then however
            # slow a loaded machine makes the tuner's loop (60 s cap: no hang).
            held_since = time.time()
            while (
                name == self.newest
                and not self.stop_event.is_set()
                and time.time() - held_since < 60
            ):
                time.sleep(0.05)
            folds = _fold_scores(hps["x"], hps["y"], seed=trial_id)
            report = {
                **{f"cv_fold_{k}": v for k, v in enumerate(folds)},
                "error": float(np.mean(folds)),
                "st_worker_timestamp": time.time(),
                "st_worker_time": 1.0,
                "st_worker_iter": 0,
            }
            line = f"[tune-metric]: {json.dumps(report)}"
            if trial_id == self.SPLIT:
                self._put(stream, line[:57])
                self.split_stream = stream
                t_half = time.time()
                # Wait until the backend has read the stream with only the first half in it.
                assert self.split_polled.wait(30), "backend never polled the split stream"
                self.split_times = (t_half, time.time())
                line = line[57:]
            with MOTO_LOCK:
                job = moto_job(name)
                if job.training_job_status != "InProgress":
                    return  # stopped by the tuner
                if trial_id == self.FAIL:
                    self._put(
                        stream,
                        "Traceback (most recent call last):",
                        "RuntimeError: CUDA out of memory",
                    )
                    job.failure_reason = "AlgorithmError: RuntimeError: CUDA out of memory"
                    job.training_job_status = self.ended[name] = "Failed"
                else:
                    self._put(stream, line, "Reporting training SUCCESS")
                    self.reports[name] = report
                    job.training_job_status = self.ended[name] = "Completed"
                job.secondary_status = "Completed"
                from moto.core.utils import utcnow

                job.training_end_time = utcnow()
        except BaseException as exc:  # noqa: BLE001 - surfaced by the test
            self.errors.append(exc)

    def join_all(self) -> None:
        self.stop_event.set()
        self.join(5)
        for t in self._workers:
            t.join(10)


def _throttle_injector(client, operations: set[str], every: int, burst_at: int, burst: int):
    """Answer some requests with HTTP 400 ThrottlingException (real botocore retry path)."""
    counter = {"calls": 0, "injected": 0}

    class _Raw:
        def __init__(self, body: bytes) -> None:
            self._body = body

        def stream(self, **_):
            yield self._body

    def before_send(request, **_):
        op = request.headers.get("X-Amz-Target", b"")
        op = op.decode() if isinstance(op, bytes) else op
        if op.split(".")[-1] not in operations:
            return None
        counter["calls"] += 1
        n = counter["calls"]
        if n % every == 0 or burst_at <= n < burst_at + burst:
            counter["injected"] += 1
            body = json.dumps(
                {"__type": "ThrottlingException", "message": "Rate exceeded"}
            ).encode()
            headers = botocore.awsrequest.HeadersDict(
                {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": f"throttle-{n}"}
            )
            return botocore.awsrequest.AWSResponse(request.url, 400, headers, _Raw(body))
        return None

    client.meta.events.register("before-send", before_send)
    return counter


@pytest.mark.slow
def test_tuner_on_moto_stops_by_autotermination(moto, tmp_path, caplog):
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.config_space import uniform
    from syne_tune.optimizer.baselines import BOTorch
    from syne_tune.results_callback import StoreResultsCallback

    from syne_autoterm import AnyOf, AutoTermination

    caplog.set_level("INFO", logger="syne_autoterm")
    endpoint, clients = moto
    script = tmp_path / "train.py"
    script.write_text("# played by the test harness\n")
    poll = 0.15
    backend = SageMakerBackend(
        TrainingJobSpec(
            entry_point=str(script),
            image_uri=IMAGE,
            role_arn=ROLE,
            s3_prefix="s3://autoterm-test/runs",
            environment={"API_TOKEN": "s3cr3t-value"},
        ),
        SessionSettings(
            region_name=REGION,
            endpoint_url=endpoint,
            poll_interval=poll,
            final_log_grace_seconds=0.0,
            log_page_limit=10,
            max_attempts=3,
        ),
    )
    sm_throttles = _throttle_injector(
        backend.sagemaker_client, {"DescribeTrainingJob"}, every=7, burst_at=12, burst=4
    )
    logs_throttles = _throttle_injector(
        backend.logs_client, {"GetLogEvents"}, every=13, burst_at=10**9, burst=0
    )
    get_log_calls: list[tuple[float, str]] = []

    harness = SageMakerHarness(clients["logs"])

    def on_get_log_events(params, **_):
        get_log_calls.append((time.time(), params["logStreamName"]))
        if params["logStreamName"] == harness.split_stream:
            harness.split_polled.set()

    backend.logs_client.meta.events.register(
        "provide-client-params.logs.GetLogEvents", on_get_log_events
    )
    harness.start()
    space = {"x": uniform(-2, 2), "y": uniform(-2, 2)}
    # BOTorch with a cheap acquisition optimiser (random candidates): its GP is
    # the posterior AutoTermination uses, and suggest() stays fast with 3 pending trials.
    scheduler = BOTorch(
        space,
        metric="error",
        do_minimize=True,
        random_seed=1,
        searcher_kwargs={"optimization_strategy": "random", "num_raw_samples": 500},
    )
    criterion = AutoTermination(
        metric="error",
        mode="min",
        fold_metrics="cv_fold_",
        scheduler=scheduler,
        warm_up=8,
        top_min=6,
        seed=0,
        # the harness's objective has its minimum at 0, where the default's relative cap
        # leaves only its floor; this tests the backend, so the error alone decides
        relative_tolerance=None,
    )
    budget = StoppingCriterion(max_num_trials_completed=60)
    store = StoreResultsCallback()
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=AnyOf(criterion, budget),
        n_workers=4,
        sleep_time=0.05,
        results_update_interval=2.0,
        print_update_interval=1e9,
        callbacks=[store, criterion],
        tuner_name="sm-moto-e2e",
        max_failures=3,
    )
    try:
        tuner.run()
    finally:
        harness.join_all()
    assert not harness.errors, harness.errors

    # 1. AutoTermination stopped the run, not the safety net.
    last = criterion.history[-1]
    assert last["stop"] is True and last["regret_bound"] < last["stat_error"], last
    assert tuner.tuning_status.num_trials_completed <= 60
    assert not budget(tuner.tuning_status)

    # 2. Every job the harness left running got StopTrainingJob; all jobs are terminal.
    all_jobs = [j for tid in backend.trial_ids for j in backend.job_names(tid)]
    assert set(all_jobs) == set(harness.ended) | set(MOTO_STOPPED)
    assert all(
        moto_job(j).training_job_status in ("Completed", "Failed", "Stopped") for j in all_jobs
    )
    assert MOTO_STOPPED, "jobs running at the end must be stopped"

    # 3. Every report of a job whose completion the backend saw reached the Tuner, exactly once.
    df = store.dataframe()
    assert df["trial_id"].is_unique, "duplicate results"
    delivered = {int(r["trial_id"]): r for _, r in df.iterrows()}
    seen_completed = {
        tid
        for tid in backend.trial_ids
        if backend._trials[tid].runs[-1].sm_status == "Completed"
        and backend._trials[tid].runs[-1].final_drained
    }
    assert len(seen_completed) >= 8
    for tid in seen_completed:
        report = harness.reports[backend.job_names(tid)[-1]]
        row = delivered[tid]
        for key in [f"cv_fold_{k}" for k in range(10)] + ["error"]:
            assert math.isclose(row[key], report[key], rel_tol=0, abs_tol=1e-12), (tid, key)
    unseen = set(harness.reports) - {backend.job_names(t)[-1] for t in seen_completed}
    assert len(unseen) <= 4, "only jobs finishing while the tuner stopped may be unread"

    # 4. The failed job is a failed trial with SageMaker's FailureReason.
    assert (
        backend.failure_reason(SageMakerHarness.FAIL)
        == "AlgorithmError: RuntimeError: CUDA out of memory"
    )
    assert tuner.tuning_status.num_trials_failed == 1
    assert "CUDA out of memory" in caplog.text

    # 5. Split line reassembled across polls; paginated job complete; throttles survived.
    assert SageMakerHarness.SPLIT in seen_completed and SageMakerHarness.PAGED in seen_completed
    t_half, t_rest = harness.split_times
    split_stream = backend._trials[SageMakerHarness.SPLIT].runs[-1].logs.streams
    assert any(t_half <= t <= t_rest and s in split_stream for t, s in get_log_calls), (
        "no poll between the halves"
    )
    paged = backend._trials[SageMakerHarness.PAGED].runs[-1].logs
    assert paged.num_events > 10  # > log_page_limit
    assert sm_throttles["injected"] >= 4 and logs_throttles["injected"] >= 1
    # botocore's max_attempts=3 means 3 retries (4 attempts): the burst of 4 outlasts
    # them, and the backend's own loop carries on at the next poll.
    assert "transient AWS error while polling" in caplog.text
    assert "s3cr3t-value" not in caplog.text and DUMMY_SECRET not in caplog.text

    summary = {k: last.get(k) for k in ("n_completed", "regret_bound", "stat_error")}
    print(
        f"e2e: trials={len(backend.trial_ids)} completed_seen={len(seen_completed)} "
        f"stopped={len(MOTO_STOPPED)} unseen_reports={len(unseen)} last={summary} "
        f"throttles sm={sm_throttles} logs={logs_throttles} paged_events={paged.num_events}"
    )

    # 6. Code went to S3 once; requests carried the config; results on disk.
    keys = [o["Key"] for o in clients["s3"].list_objects_v2(Bucket="autoterm-test")["Contents"]]
    assert len([k for k in keys if k.endswith("sourcedir.tar.gz")]) == 1
    hps = decode_hyperparameters(moto_job(all_jobs[0]).hyper_parameters)
    assert set(hps) == {"x", "y", "st_checkpoint_dir"}
    assert (tuner.tuner_path / "results.csv.zip").exists()


def _tar_members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_remote_sourcedir_with_a_user_script(tmp_path):
    from syne_autoterm.backends.remote import REMOTE_ARGS_FILE, build_remote_sourcedir

    src = tmp_path / "proj"
    (src / "lib").mkdir(parents=True)
    (src / "train.py").write_text("import lib.util\n")
    (src / "lib" / "util.py").write_text("")
    argv = ["tune", str(src / "train.py"), "--remote", "--sm-source-dir", str(src), "--x", "1"]
    data, forwarded = build_remote_sourcedir(str(src / "train.py"), argv, str(src))
    members = _tar_members(data)
    assert {"user/train.py", "user/lib/util.py", "syne_autoterm/backends/remote.py"} <= set(members)
    assert json.loads(members[REMOTE_ARGS_FILE]) == forwarded
    assert forwarded == ["tune", "user/train.py", "--sm-source-dir=user", "--x", "1"]


def test_entry_point_inside_the_package_ships_the_package(tmp_path):
    """The CLI's built-in training script imports syne_autoterm: the package must travel."""
    from syne_autoterm.backends import _packaging

    entry = _packaging.package_root() / "backends" / "remote.py"  # any file of the package
    h = Stubbed(tmp_path, entry_point=entry)
    h.start()
    h.done()
    members = _tar_members(h.uploads[0]["Body"])
    assert (
        "syne_autoterm/__init__.py" in members and "syne_autoterm/backends/sagemaker.py" in members
    )
    assert b"syne-tune==0.16.*" in members["requirements.txt"]
    hps = h.create_requests[0]["HyperParameters"]
    assert hps["sagemaker_program"] == '"syne_autoterm/backends/remote.py"'
    assert not any("__pycache__" in name for name in members)


@pytest.mark.slow
def test_launch_remote_on_moto(moto, tmp_path, capsys):
    """``tune --backend sagemaker --remote`` as the CLI calls it (built-in training script)."""
    from syne_autoterm.backends.cli_support import launch_remote_from_args
    from syne_autoterm.backends.remote import (
        REMOTE_ARGS_FILE,
        REMOTE_DONE_MARKER,
        REMOTE_ENTRY,
        download_results,
    )

    endpoint, clients = moto
    clients["logs"].create_log_group(logGroupName=LOG_GROUP)

    def play_tuner_job():
        name = MOTO_CREATED.get(timeout=20)
        stream = f"{name}/algo-1-1"
        clients["logs"].create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        t = int(time.time() * 1000)
        lines = [
            "[autoterm-remote] running: python -m syne_autoterm.cli tune --sm-env TOKEN=***",
            "AutoTermination: stop",
            f"{REMOTE_DONE_MARKER} 0",
        ]
        clients["logs"].put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": t + i, "message": m} for i, m in enumerate(lines)],
        )
        key = f"remote/{name}/results/syne-tune/t/results.csv"
        clients["s3"].put_object(Bucket="autoterm-test", Key=key, Body=b"a,b\n1,2\n")
        with MOTO_LOCK:
            moto_job(name).training_job_status = "Completed"

    player = threading.Thread(target=play_tuner_job, daemon=True)
    player.start()
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    tune = sub.add_parser("tune")
    tune.add_argument("--dataset")
    tune.add_argument("--backend")
    tune.add_argument("--remote", action="store_true")
    add_sagemaker_arguments(tune)
    argv = [
        "tune", "--dataset", "breast_cancer", "--backend", "sagemaker", "--remote",
        "--sm-image-uri", IMAGE, "--sm-role-arn", ROLE, "--sm-s3-prefix", "s3://autoterm-test/remote",
        "--sm-region", REGION, "--sm-endpoint-url", endpoint, "--sm-poll-interval", "0.2",
        "--sm-env", "TOKEN=abc", "--sm-remote-instance-type", "ml.t3.medium",
    ]  # fmt: skip
    code = launch_remote_from_args(parser.parse_args(argv), argv)
    player.join(10)
    text = capsys.readouterr().out
    assert code == 0
    assert "AutoTermination: stop" in text and "TOKEN=abc" not in text
    job_name = next(line.split()[-1] for line in text.splitlines() if "Started remote" in line)
    job = moto_job(job_name)
    assert decode_hyperparameters(job.hyper_parameters) == {}
    assert json.loads(job.hyper_parameters["sagemaker_program"]) == REMOTE_ENTRY
    assert job.resource_config["InstanceType"] == "ml.t3.medium"
    results_uri = job.checkpoint_config["S3Uri"]
    assert results_uri == f"s3://autoterm-test/remote/{job_name}/results/"
    source = json.loads(job.hyper_parameters["sagemaker_submit_directory"])
    body = clients["s3"].get_object(
        Bucket="autoterm-test", Key=source[len("s3://autoterm-test/") :]
    )
    members = _tar_members(body["Body"].read())
    cli = {"syne_autoterm/cli/__init__.py", "syne_autoterm/cli/__main__.py"}  # python -m
    assert {"syne_autoterm/__init__.py", "requirements.txt", *cli} <= set(members)
    assert REMOTE_ENTRY in members and not any(n.startswith("user/") for n in members)
    assert not any("__pycache__" in n for n in members)
    forwarded = json.loads(members[REMOTE_ARGS_FILE])
    assert forwarded == [
        a for a in argv if a not in ("--remote", "--sm-remote-instance-type", "ml.t3.medium")
    ]
    compile(members[REMOTE_ENTRY].decode(), REMOTE_ENTRY, "exec")
    files = download_results(
        results_uri, tmp_path / "dl", endpoint_url=endpoint, region_name=REGION
    )
    assert [p.relative_to(tmp_path / "dl").as_posix() for p in files] == ["syne-tune/t/results.csv"]


def test_checkpoint_copy_and_delete_on_moto_s3(moto, tmp_path):
    endpoint, clients = moto
    script = tmp_path / "train.py"
    script.write_text("")
    backend = SageMakerBackend(
        TrainingJobSpec(
            entry_point=str(script),
            image_uri=IMAGE,
            role_arn=ROLE,
            s3_prefix="s3://autoterm-test/ck",
        ),
        SessionSettings(region_name=REGION, endpoint_url=endpoint),
    )
    backend.set_path(tuner_name="ck-tuner")
    src = backend.trial_checkpoint_s3_uri(0)
    assert src == "s3://autoterm-test/ck/ck-tuner/checkpoints/0/"
    for name in ("model.pt", "sub/state.json"):
        clients["s3"].put_object(
            Bucket="autoterm-test", Key=f"ck/ck-tuner/checkpoints/0/{name}", Body=b"x"
        )
    backend.copy_checkpoint(src_trial_id=0, tgt_trial_id=1)
    backend.delete_checkpoint(0)
    keys = sorted(
        o["Key"] for o in clients["s3"].list_objects_v2(Bucket="autoterm-test")["Contents"]
    )
    assert keys == [
        "ck/ck-tuner/checkpoints/1/model.pt",
        "ck/ck-tuner/checkpoints/1/sub/state.json",
    ]
    backend.delete_checkpoint(7)  # nothing there: fine
