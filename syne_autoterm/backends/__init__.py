"""Trial backends for running syne-autoterm tuning jobs beyond one machine.

``SageMakerBackend`` runs each Syne Tune trial as an Amazon SageMaker training
job through boto3 alone (Syne Tune 0.16 dropped its SageMaker backend, and the
SageMaker SDK is not a dependency). ``launch_remote`` runs the whole tuning
loop as one SageMaker job. See ``docs/sagemaker.md``.
"""

from .remote import RemoteLaunchResult, download_results, launch_remote
from .sagemaker import SageMakerBackend

__all__ = ["RemoteLaunchResult", "SageMakerBackend", "download_results", "launch_remote"]
