"""A stored experiment found by name or path, and its ``autoterm`` metadata checked.

Why apart: ``explain`` and ``compare`` both start from a stored experiment, and
both must fail in one line when it is missing or its metadata is unusable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._run_names import run_name_as_meant
from .common import CliError


def _load_experiment_or_fail(arg: str) -> tuple[str, Any]:
    """The experiment's name and Syne Tune's stored experiment, or a one-line error."""
    from syne_tune.experiments import load_experiment
    from syne_tune.util import experiment_path

    name = run_name_as_meant(arg)  # a --name, a folder name or a path
    if not experiment_path(tuner_name=name).is_dir():
        raise CliError(f"no experiment named {arg!r} in {experiment_path()}")
    try:
        exp = load_experiment(name)
    except Exception as exc:
        raise CliError(f"cannot load experiment {arg!r}: {exc}") from None
    if exp is None or exp.results is None or len(exp.results) == 0:
        raise CliError(f"experiment {arg!r} has no results")
    return name, exp


def _autoterm_metadata(exp: Any, arg: str, required: bool = True) -> dict:
    """The experiment's ``autoterm`` metadata, checked; CliError when it is unusable."""
    metadata = exp.metadata
    if metadata is not None and not isinstance(metadata, dict):
        raise CliError(
            f"metadata of experiment {arg!r} is a JSON {type(metadata).__name__}, not an object"
        )
    meta = (metadata or {}).get("autoterm")
    if meta is None:
        if required:
            raise CliError(
                f"experiment {arg!r} was not run by syne-autoterm tune; "
                "use `syne-autoterm compare` to replay rules on it"
            )
        return {}
    if not isinstance(meta, dict):
        raise CliError(f"'autoterm' metadata of experiment {arg!r} is not a JSON object")
    if required or meta:
        problems = []
        if not isinstance(meta.get("metric"), str) or not meta.get("metric"):
            problems.append(f"metric {meta.get('metric')!r}")
        if meta.get("mode") not in ("min", "max"):
            problems.append(f"mode {meta.get('mode')!r}")
        for key in ("fold_metrics", "test_metric", "trace_file", "resource_attr"):
            if meta.get(key) is not None and not isinstance(meta.get(key), str):
                problems.append(f"{key} {meta.get(key)!r}")
        top = meta.get("max_resource")
        if top is not None and (isinstance(top, bool) or not isinstance(top, (int, float))):
            problems.append(f"max_resource {top!r}")
        if problems:
            raise CliError(
                f"'autoterm' metadata of experiment {arg!r} is invalid: " + ", ".join(problems)
            )
    return meta


def _experiment_path(exp: Any, name: str) -> Path:
    from syne_tune.util import experiment_path

    return Path(experiment_path(tuner_name=name))
