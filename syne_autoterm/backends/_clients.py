"""boto3 client construction and error classification shared by the SageMaker backend.

Why a module of its own: the backend, the log tailer, the packaging helpers and
the remote launcher all need the same three things -- clients with a retry
policy that survives SageMaker's low API rate limits, a way to tell a transient
error (throttling, 5xx, a dropped connection) from a real one, and logging that
never prints credentials. Keeping them here means one place to get them right.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Error codes that AWS services use for "slow down" or "try again later".
#: SageMaker answers ``ThrottlingException``; CloudWatch Logs
#: ``ThrottlingException``; S3 ``SlowDown``/``503``. 5xx codes are included
#: because a tuning loop that runs for hours will see them occasionally.
TRANSIENT_ERROR_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "InternalError",
        "InternalServiceError",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)

_TRANSIENT_CONNECTION_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    ConnectTimeoutError,
)


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ``ClientError``, else ``None``."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying later: throttling, 5xx, dropped connections."""
    if isinstance(exc, _TRANSIENT_CONNECTION_ERRORS):
        return True
    if isinstance(exc, ClientError):
        if error_code(exc) in TRANSIENT_ERROR_CODES:
            return True
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return isinstance(status, int) and status >= 500
    return False


def describe_error(exc: BaseException) -> str:
    """A short, credential-free description of an AWS error for log messages.

    ``str(ClientError)`` only contains the operation, code and message, which
    AWS never fills with credentials, but we build the text ourselves so that no
    request parameters (environment variables may hold secrets) can leak.
    """
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        op = getattr(exc, "operation_name", "?")
        return f"{op}: {err.get('Code', '?')}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def call_with_retries(
    fn: Callable[[], T],
    *,
    what: str,
    attempts: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` and retry transient errors with full-jitter exponential backoff.

    botocore already retries inside one API call; this is a second layer for the
    few calls that must not fail the tuning run (creating and stopping jobs),
    because botocore gives up after ``max_attempts`` and a throttled account can
    stay throttled for longer than that.
    """
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc) or attempt == attempts - 1:
                raise
            delay = random.uniform(0, min(max_delay, base_delay * 2**attempt))
            logger.warning(
                "%s: transient AWS error (%s), retry %d/%d in %.1fs",
                what,
                describe_error(exc),
                attempt + 1,
                attempts - 1,
                delay,
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class ClientFactory:
    """Creates boto3 clients lazily and can be pickled.

    The Syne Tune ``Tuner`` dill-saves itself (and so the backend) every few
    seconds; boto3 sessions and clients cannot be pickled. This factory keeps
    only region, endpoint overrides and retry settings -- never credentials --
    and rebuilds clients after unpickling. Injected clients (e.g. wrapped by a
    botocore ``Stubber`` in tests) are used as given and dropped on pickling.
    """

    region_name: str | None = None
    endpoint_url: str | None = None
    endpoint_urls: dict[str, str] = field(default_factory=dict)
    retry_mode: str = "standard"
    max_attempts: int = 10
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    boto_session: Any = None
    clients: dict[str, Any] = field(default_factory=dict)

    def config(self) -> Config:
        return Config(
            retries={"mode": self.retry_mode, "max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )

    def client(self, service: str) -> Any:
        if service not in self.clients:
            session = self.boto_session
            if session is None:
                session = boto3.session.Session(region_name=self.region_name)
                self.boto_session = session
            kwargs: dict[str, Any] = {"config": self.config()}
            if self.region_name is not None:
                kwargs["region_name"] = self.region_name
            endpoint = self.endpoint_urls.get(service, self.endpoint_url)
            if endpoint is not None:
                kwargs["endpoint_url"] = endpoint
            self.clients[service] = session.client(service, **kwargs)
        return self.clients[service]

    def resolved_region(self) -> str | None:
        """Region the clients talk to (used for the ``sagemaker_region`` hyperparameter)."""
        if self.region_name is not None:
            return self.region_name
        for c in self.clients.values():
            region = getattr(getattr(c, "meta", None), "region_name", None)
            if region:
                return region
        if self.boto_session is not None:
            return getattr(self.boto_session, "region_name", None)
        return boto3.session.Session().region_name

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["boto_session"] = None
        state["clients"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
