"""Real tuning workloads: offline datasets, search spaces, CV evaluation.

Why a separate package: the stopping rule never imports this; it is what the
tuner runs (``train.py`` as a Syne Tune entry point) and what the benchmark
tables are built from (``benchmarks/build_tables.py``).

The exports are resolved lazily (PEP 562) so that
``python -m syne_autoterm.workloads.train`` can pin BLAS/OpenMP threads in
``os.environ`` before numpy is first imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "DEVELOPMENT_SUITE": "datasets",
    "Dataset": "datasets",
    "DatasetError": "datasets",
    "available_datasets": "datasets",
    "load_dataset": "datasets",
    "cross_validate_config": "evaluate",
    "make_estimator": "models",
    "MODELS": "spaces",
    "search_space": "spaces",
}

__all__ = [
    "DEVELOPMENT_SUITE",
    "MODELS",
    "Dataset",
    "DatasetError",
    "available_datasets",
    "cross_validate_config",
    "load_dataset",
    "make_estimator",
    "search_space",
]

if TYPE_CHECKING:  # pragma: no cover
    from syne_autoterm.workloads.datasets import (
        DEVELOPMENT_SUITE,
        Dataset,
        DatasetError,
        available_datasets,
        load_dataset,
    )
    from syne_autoterm.workloads.evaluate import cross_validate_config
    from syne_autoterm.workloads.models import make_estimator
    from syne_autoterm.workloads.spaces import MODELS, search_space


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
