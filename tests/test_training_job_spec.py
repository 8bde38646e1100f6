"""TrainingJobSpec / SessionSettings: one description of a job for the CLI, backend and launcher.

The CLI's options must land in the spec field by field, the remote tuner must
rebuild the very spec the launching machine had (from the arguments it is
shipped), and the flat keywords of the old constructors keep working.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import tarfile
import warnings

import dill
import pytest
from conftest import IMAGE, MOTO_BUCKET, REGION, ROLE, moto_job

from syne_autoterm.backends import (
    SageMakerBackend,
    SessionSettings,
    TrainingJobSpec,
    launch_remote,
)
from syne_autoterm.backends.cli_support import (
    add_sagemaker_arguments,
    launch_remote_from_args,
    make_sagemaker_backend_from_args,
    session_from_args,
    spec_from_args,
)
from syne_autoterm.backends.remote import REMOTE_ARGS_FILE

pytestmark = pytest.mark.usefixtures("offline_aws")


def _tune_parser() -> argparse.ArgumentParser:
    """The ``tune`` sub-command as far as these options go (the rest is ignored)."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    tune = sub.add_parser("tune")
    tune.add_argument("--dataset")
    tune.add_argument("--searcher", default="random")
    tune.add_argument("--backend")
    tune.add_argument("--remote", action="store_true")
    add_sagemaker_arguments(tune)
    return parser


#: Every --sm-* option that configures the trial jobs, with a non-default value.
ALL_OPTIONS = [
    "--sm-image-uri", IMAGE, "--sm-role-arn", ROLE, "--sm-s3-prefix", f"s3://{MOTO_BUCKET}/runs/",
    "--sm-region", REGION, "--sm-instance-type", "ml.c5.xlarge", "--sm-instance-count", "2",
    "--sm-volume-size-gb", "50", "--sm-max-run-seconds", "3600",
    "--sm-requirement", "xgboost", "--sm-requirement", "lightgbm", "--sm-spot",
    "--sm-max-wait-seconds", "7200", "--sm-checkpoint-s3-uri", f"s3://{MOTO_BUCKET}/ck",
    "--sm-env", "TOKEN=abc", "--sm-env", "MODE=fast", "--sm-tag", "team=ml",
    "--sm-job-name-prefix", "exp", "--sm-metric", "error", "--sm-poll-interval", "2.5",
    "--sm-log-grace-seconds", "0.5",
]  # fmt: skip


def test_every_cli_option_lands_in_the_spec(tmp_path):
    args = _tune_parser().parse_args(["tune", "--dataset", "iris", *ALL_OPTIONS])
    spec = spec_from_args(args, "train.py")
    assert spec == TrainingJobSpec(
        entry_point="train.py",
        image_uri=IMAGE,
        role_arn=ROLE,
        s3_prefix=f"s3://{MOTO_BUCKET}/runs",  # trailing slash dropped
        instance_type="ml.c5.xlarge",
        instance_count=2,
        volume_size_gb=50,
        max_run_seconds=3600,
        requirements=("xgboost", "lightgbm"),
        use_spot=True,
        max_wait_seconds=7200,
        checkpoint_s3_uri=f"s3://{MOTO_BUCKET}/ck",
        environment={"TOKEN": "abc", "MODE": "fast"},
        tags=[{"Key": "team", "Value": "ml"}],
        job_name_prefix="exp",
        metrics_names=("error",),
    )
    assert session_from_args(args) == SessionSettings(
        region_name=REGION, poll_interval=2.5, final_log_grace_seconds=0.5
    )
    script = tmp_path / "train.py"
    script.write_text("")
    backend = make_sagemaker_backend_from_args(args, str(script))
    assert backend.spec == dataclasses.replace(spec, entry_point=str(script))
    assert backend.session == session_from_args(args)
    assert "abc" not in repr(spec), "environment values may be secrets"


def test_the_defaults_of_spec_and_cli_agree():
    """A spec built from the CLI's defaults equals one built from the spec's defaults."""
    args = _tune_parser().parse_args(
        ["tune", "--sm-image-uri", IMAGE, "--sm-role-arn", ROLE, "--sm-s3-prefix", "s3://b/p"]
    )
    assert spec_from_args(args, "t.py") == TrainingJobSpec(
        entry_point="t.py", image_uri=IMAGE, role_arn=ROLE, s3_prefix="s3://b/p"
    )
    assert session_from_args(args) == SessionSettings()


def test_spec_is_validated_frozen_and_pickles():
    with pytest.raises(ValueError, match="IAM role ARN"):
        TrainingJobSpec(image_uri=IMAGE, role_arn="nope", s3_prefix="s3://b/p")
    with pytest.raises(ValueError):
        TrainingJobSpec(image_uri=IMAGE, role_arn=ROLE, s3_prefix="b/p")
    env = {"A": "1"}
    spec = TrainingJobSpec(image_uri=IMAGE, role_arn=ROLE, s3_prefix="s3://b/p", environment=env)
    env["A"] = "2"
    assert spec.environment == {"A": "1"}, "the spec keeps its own copy"
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.instance_type = "ml.p4d.24xlarge"  # type: ignore[misc]
    assert dill.loads(dill.dumps(spec)) == spec


def test_old_keywords_still_build_the_same_backend(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("")
    with pytest.warns(DeprecationWarning, match="TrainingJobSpec"):
        old = SageMakerBackend(
            entry_point=str(script),
            image_uri=IMAGE,
            role_arn=ROLE,
            s3_prefix="s3://b/p",
            instance_type="ml.c5.xlarge",
            tags={"team": "ml"},
            poll_interval=1.0,
            region_name=REGION,
        )
    new = SageMakerBackend(
        TrainingJobSpec(
            entry_point=str(script),
            image_uri=IMAGE,
            role_arn=ROLE,
            s3_prefix="s3://b/p",
            instance_type="ml.c5.xlarge",
            tags={"team": "ml"},
        ),
        SessionSettings(poll_interval=1.0, region_name=REGION),
    )
    assert (old.spec, old.session) == (new.spec, new.session)
    with pytest.raises(TypeError, match="not both"):
        SageMakerBackend(new.spec, instance_type="ml.m5.large")
    with pytest.raises(TypeError, match="unexpected keyword"):
        SageMakerBackend(new.spec, instance_typo="ml.m5.large")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new form warns about nothing
        SageMakerBackend(new.spec)


def test_backend_pickled_before_the_settings_were_grouped_still_loads(tmp_path):
    """A tuner.dill of an older version (one attribute per setting) resumes."""
    script = tmp_path / "train.py"
    script.write_text("")
    backend = SageMakerBackend(
        TrainingJobSpec(
            entry_point=str(script),
            image_uri=IMAGE,
            role_arn=ROLE,
            s3_prefix="s3://b/p",
            environment={"A": "1"},
            tags={"t": "v"},
        ),
        SessionSettings(poll_interval=3.0, region_name=REGION),
    )
    state = backend.__getstate__()
    spec, session = state.pop("spec"), state.pop("session")
    flat = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    flat.update({f.name: getattr(session, f.name) for f in dataclasses.fields(session)})
    flat["tags"], flat["dependencies"] = list(spec.tags), list(spec.dependencies)
    state.update(flat)
    old = SageMakerBackend.__new__(SageMakerBackend)
    old.__setstate__(state)
    assert old.spec == spec and old.session == session
    assert old.entry_point == str(script) and old.run_s3_uri("x").startswith("s3://b/p/")


def test_spec_round_trips_through_the_remote_launch(moto):
    """The remote tuner parses the arguments it was shipped: it must get the same trial spec."""
    endpoint, clients = moto
    argv = ["tune", "--dataset", "iris", "--backend", "sagemaker", "--remote", *ALL_OPTIONS,
            "--sm-endpoint-url", endpoint, "--sm-remote-instance-type", "ml.t3.medium",
            "--sm-remote-no-wait"]  # fmt: skip
    args = _tune_parser().parse_args(argv)
    local_spec = spec_from_args(args, None)
    assert launch_remote_from_args(args, argv) == 0
    (job_name,) = [
        j["TrainingJobName"]
        for j in clients["sagemaker"].list_training_jobs()["TrainingJobSummaries"]
    ]
    job = moto_job(job_name)
    assert job.resource_config["InstanceType"] == "ml.t3.medium"
    source = json.loads(job.hyper_parameters["sagemaker_submit_directory"])
    body = clients["s3"].get_object(Bucket=MOTO_BUCKET, Key=source[len(f"s3://{MOTO_BUCKET}/") :])
    with tarfile.open(fileobj=io.BytesIO(body["Body"].read()), mode="r:gz") as tar:
        shipped = json.loads(tar.extractfile(REMOTE_ARGS_FILE).read())
    remote_args = _tune_parser().parse_args(shipped)
    assert not remote_args.remote
    assert spec_from_args(remote_args, None) == local_spec
    assert session_from_args(remote_args) == session_from_args(args)


def test_launch_remote_takes_a_spec_or_the_old_keywords(moto):
    endpoint, clients = moto
    spec = TrainingJobSpec(
        image_uri=IMAGE,
        role_arn=ROLE,
        s3_prefix=f"s3://{MOTO_BUCKET}/remote",
        instance_type="ml.t3.medium",
        max_run_seconds=5 * 86400,
        job_name_prefix="autoterm-tuner",
        requirements=("botorch>=0.12",),
        tags={"team": "ml"},
    )
    session = SessionSettings(region_name=REGION, endpoint_url=endpoint)
    out = io.StringIO()
    new = launch_remote(spec, ["tune"], session, wait=False, out=out)
    with pytest.warns(DeprecationWarning):
        old = launch_remote(
            None,
            ["tune"],
            image_uri=IMAGE,
            role_arn=ROLE,
            s3_prefix=f"s3://{MOTO_BUCKET}/remote",
            instance_type="ml.t3.medium",
            extra_requirements=["botorch>=0.12"],
            tags={"team": "ml"},
            region_name=REGION,
            endpoint_url=endpoint,
            wait=False,
            out=out,
        )
    assert all(r.job_name.startswith("autoterm-tuner-") for r in (new, old))
    described = [
        clients["sagemaker"].describe_training_job(TrainingJobName=r.job_name) for r in (new, old)
    ]
    for key in ("ResourceConfig", "StoppingCondition", "RoleArn", "AlgorithmSpecification"):
        assert described[0][key] == described[1][key], key
    assert described[0]["StoppingCondition"]["MaxRuntimeInSeconds"] == 5 * 86400
