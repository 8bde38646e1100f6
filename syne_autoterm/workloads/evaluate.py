"""k-fold cross-validation of one configuration, plus an outer test error.

Why this shape: the stopping rule needs the k fold scores of every trial (its
statistical-error estimate is the Nadeau-Bengio corrected variance of the
incumbent's folds), and the paper's evaluation (RYC) needs a test error of
each configuration on data that the tuner never saw. So the data are split
once into an outer training part and a held-out test part, fixed by
``seed``; CV runs on the training part only.

The test error is that of the *fold ensemble*: the k fold models' predicted
probabilities (classification) or predictions (regression) on the test part
are averaged. This costs k predictions instead of an extra refit on the full
training part, and is a slightly stronger model than a single refit; both
are standard ways to report a test score after CV.

Errors are minimised: classification error ``1 - accuracy``, regression RMSE
(in the target's units).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from syne_autoterm.workloads.datasets import Dataset, load_dataset
from syne_autoterm.workloads.models import make_estimator


def cross_validate_config(
    dataset: Dataset | str,
    model: str,
    config: dict[str, Any],
    folds: int = 10,
    seed: int = 0,
    test_size: float = 0.2,
    on_fold: Callable[[int, list[float]], None] | None = None,
) -> dict[str, float]:
    """Evaluate ``config`` of ``model`` on ``dataset`` by ``folds``-fold CV.

    ``on_fold(k, fold_errors)`` is called after each of the first ``folds - 1``
    folds (``k`` folds done): multi-fidelity schedulers (ASHA) use the running
    mean as an early, cheaper estimate and may stop the trial there.

    Returns ``error`` (mean fold error, the metric to minimise),
    ``test_error``, ``cv_fold_0..cv_fold_{k-1}``,
    ``fit_time_fold_0..fit_time_fold_{k-1}`` (seconds) and ``elapsed_time``
    (seconds for the whole call, data splitting included).
    """
    from sklearn.exceptions import ConvergenceWarning

    start = time.perf_counter()
    if isinstance(dataset, str):
        dataset = load_dataset(dataset)
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}.")
    classification = dataset.task == "classification"
    X_train, X_test, y_train, y_test, splitter = _split(dataset, folds, seed, test_size)

    result: dict[str, float] = {}
    fold_errors: list[float] = []
    test_sum = np.zeros((len(y_test), dataset.n_classes) if classification else len(y_test))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="The least populated class")
        for k, (fit_idx, val_idx) in enumerate(splitter.split(X_train, y_train)):
            estimator = make_estimator(model, config, dataset.task, seed=seed)
            fit_start = time.perf_counter()
            fitted = _fit(estimator, X_train[fit_idx], y_train[fit_idx], dataset.n_classes)
            result[f"fit_time_fold_{k}"] = time.perf_counter() - fit_start
            val_pred = _predict(fitted, X_train[val_idx], dataset.n_classes)
            fold_errors.append(_error(val_pred, y_train[val_idx], classification))
            test_sum += _predict(fitted, X_test, dataset.n_classes)
            if on_fold is not None and k + 1 < folds:
                on_fold(k + 1, list(fold_errors))

    ordered: dict[str, float] = {
        "error": float(np.mean(fold_errors)),
        "test_error": _error(test_sum / folds, y_test, classification),
    }
    ordered.update({f"cv_fold_{k}": float(e) for k, e in enumerate(fold_errors)})
    ordered.update({f"fit_time_fold_{k}": result[f"fit_time_fold_{k}"] for k in range(folds)})
    ordered["elapsed_time"] = time.perf_counter() - start
    return ordered


class _Fitted:
    """A fitted estimator plus the labels it saw, in the dataset's coding."""

    def __init__(self, estimator: Any, seen: np.ndarray | None):
        self.estimator = estimator
        self.seen = seen


def _fit(estimator: Any, X: np.ndarray, y: np.ndarray, n_classes: int) -> _Fitted:
    """Fit; classes are re-coded to ``0..m-1`` when a fold misses a rare class.

    XGBoost refuses labels that are not contiguous from 0, and a stratified
    fold can lack a class with fewer members than folds.
    """
    if n_classes == 0:
        return _Fitted(estimator.fit(X, y), None)
    seen, coded = np.unique(y, return_inverse=True)
    return _Fitted(estimator.fit(X, coded), seen)


def _predict(fitted: _Fitted, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities over all ``n_classes`` labels, or regression values."""
    if fitted.seen is None:
        return np.asarray(fitted.estimator.predict(X), dtype=float)
    proba = np.zeros((len(X), n_classes))
    proba[:, fitted.seen] = fitted.estimator.predict_proba(X)
    return proba


def _error(prediction: np.ndarray, y: np.ndarray, classification: bool) -> float:
    if classification:
        return float(np.mean(np.argmax(prediction, axis=1) != y))
    return float(np.sqrt(np.mean((prediction - y) ** 2)))


def _split(dataset: Dataset, folds: int, seed: int, test_size: float):
    """The held-out test split and the CV splitter of :func:`cross_validate_config`."""
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    classification = dataset.task == "classification"
    stratify = dataset.y if classification and np.bincount(dataset.y).min() >= 2 else None
    X_train, X_test, y_train, y_test = train_test_split(
        dataset.X, dataset.y, test_size=test_size, random_state=seed, stratify=stratify
    )
    splitter = (
        StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        if classification
        else KFold(n_splits=folds, shuffle=True, random_state=seed)
    )
    return X_train, X_test, y_train, y_test, splitter


def check_cv(dataset: Dataset, folds: int, seed: int = 0, test_size: float = 0.2) -> None:
    """ValueError when ``dataset`` cannot support the evaluation of :func:`cross_validate_config`.

    Runs the same test split and fold split as every trial will (no model is
    fitted), so a dataset with fewer training rows than folds, a test split
    smaller than the number of classes or a seed sklearn rejects is reported
    once, before the first trial starts, instead of failing every trial.
    """
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X_train, _, y_train, y_test, splitter = _split(dataset, folds, seed, test_size)
            splits = list(splitter.split(X_train, y_train))
    except ValueError as exc:
        raise ValueError(
            f"{dataset.name} ({dataset.n_rows} rows) cannot be split into a test set and "
            f"{folds} CV folds: {exc}"
        ) from None
    if len(y_test) == 0 or any(len(fit) == 0 or len(val) == 0 for fit, val in splits):
        raise ValueError(
            f"{dataset.name} ({dataset.n_rows} rows) is too small for a test set and {folds} CV "
            "folds"
        )
