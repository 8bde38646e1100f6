"""Trial backends for running syne-autoterm tuning jobs beyond one machine.

``SageMakerBackend`` runs each Syne Tune trial as an Amazon SageMaker training
job through boto3 alone (Syne Tune 0.16 dropped its SageMaker backend, and the
SageMaker SDK is not a dependency). ``launch_remote`` runs the whole tuning
loop as one SageMaker job. Both take a ``TrainingJobSpec`` (what a job is) and
``SessionSettings`` (how this process reaches AWS). See ``docs/sagemaker.md``.
"""

from .remote import RemoteLaunchResult, download_results, launch_remote
from .sagemaker import SageMakerBackend
from .spec import SessionSettings, TrainingJobSpec

__all__ = [
    "RemoteLaunchResult",
    "SageMakerBackend",
    "SessionSettings",
    "TrainingJobSpec",
    "download_results",
    "launch_remote",
]
