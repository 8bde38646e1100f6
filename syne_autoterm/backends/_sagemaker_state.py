"""The backend's state across processes: pickled into ``tuner.dill``, mirrored to S3.

Why apart: a SageMaker tuning run outlives the process that started it (a
laptop closed, ``--remote``, a crash), so the backend is saved every few
seconds and may be loaded by a later version of this package. What is left out
of a pickle (clients, the default clock), what an older pickle lacks, the copy
of the state on S3 and the stop marker next to it are decided here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _packaging
from ._clients import describe_error, error_code
from .spec import spec_from_legacy_state

if TYPE_CHECKING:
    from ._clients import ClientFactory

# Records keep the backend's logger name, as before these helpers moved out of it.
logger = logging.getLogger("syne_autoterm.backends.sagemaker")

#: Object under ``<s3_prefix>/<tuner-name>/state/`` that asks the run to stop.
STOP_MARKER = "STOP"


def picklable_state(attributes: dict[str, Any]) -> dict[str, Any]:
    """The backend's attributes to pickle, with the default clock and sleep left out.

    Clients and the boto3 session are dropped by ``ClientFactory`` itself.
    """
    state = dict(attributes)
    if state.get("_clock") is time.monotonic:
        state["_clock"] = None
    if state.get("_sleep") is time.sleep:
        state["_sleep"] = None
    return state


def upgraded_state(state: dict[str, Any]) -> dict[str, Any]:
    """A pickled state with what older versions did not save filled in."""
    if "spec" not in state:
        # Saved before the settings were grouped: one attribute per setting.
        # States saved before resume support also lack ``mirror_state``.
        state.setdefault("mirror_state", False)
        state["spec"], state["session"] = spec_from_legacy_state(state)
    state.setdefault("_last_stop_check", float("-inf"))
    state.setdefault("_results_root", None)
    if state.get("_clock") is None:
        state["_clock"] = time.monotonic
    if state.get("_sleep") is None:
        state["_sleep"] = time.sleep
    return state


def mirror_tuner_state(
    clients: ClientFactory, results_root: str, uri_of: Callable[[str], str]
) -> None:
    """Copy ``<results_root>/tuner.dill`` to ``uri_of("tuner.dill")``; never raises."""
    path = Path(results_root) / "tuner.dill"
    try:
        _packaging.upload_bytes(clients.client("s3"), path.read_bytes(), uri_of(path.name))
    except Exception as exc:  # noqa: BLE001 - the local state is still there
        logger.warning("could not copy the tuner state to S3: %s", describe_error(exc))


def write_stop_marker(s3_client: Any, uri: str) -> str:
    _packaging.upload_bytes(s3_client, time.strftime("%Y-%m-%dT%H:%M:%S").encode(), uri)
    return uri


def stop_marker_present(clients: ClientFactory, uri: str) -> bool:
    """Whether the marker exists; absent or unreadable both mean: keep tuning."""
    bucket, key = _packaging.parse_s3_uri(uri)
    try:
        clients.client("s3").head_object(Bucket=bucket, Key=key)
        return True
    except Exception as exc:  # noqa: BLE001 - absent (404) or unreadable: keep tuning
        if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
            logger.warning("cannot look for the stop marker: %s", describe_error(exc))
        return False
