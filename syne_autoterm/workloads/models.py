"""Build a scikit-learn estimator for one configuration of a workload.

Why a factory: the evaluation code, the training script and the benchmark
tables all turn ``(model, config)`` into the same estimator, so a change of a
fixed setting (threads, tree method, MLP epochs) happens here once. Every
estimator uses one thread: parallelism comes from running several trials or
table workers side by side.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator

from syne_autoterm.workloads.datasets import Task
from syne_autoterm.workloads.spaces import canonical_model, search_space

#: Upper bound on MLP epochs; early stopping (no validation improvement for
#: ``MLP_PATIENCE`` epochs) usually ends training sooner. Keeps one 10-fold
#: CV on the small sets (breast_cancer, diabetes) to a few seconds on one
#: core; on 5k-row sets a CV takes 10 s to minutes (3 x 512 units, batch 16).
MLP_MAX_ITER = 50
MLP_PATIENCE = 5

_INT_HPS = {"n_estimators", "max_depth", "n_layers", "n_units", "batch_size"}


def make_estimator(model: str, config: dict[str, Any], task: Task, seed: int = 0) -> BaseEstimator:
    """An unfitted estimator for ``config``.

    Only keys of the model's search space are used (other keys, e.g. the
    dataset name a tuner passes along, are ignored); a missing hyperparameter
    keeps the library default.
    """
    model = canonical_model(model)
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    hps = _hyperparameters(model, config)
    if model == "xgboost":
        return _xgboost(hps, task, seed)
    if model == "rf":
        return _random_forest(hps, task, seed)
    return _mlp(hps, task, seed)


def _hyperparameters(model: str, config: dict[str, Any]) -> dict[str, Any]:
    """Keep the space's keys, cast strings from a command line to numbers."""
    hps = {}
    for name in search_space(model):
        if name in config and config[name] is not None:
            value = float(config[name])
            hps[name] = round(value) if name in _INT_HPS else value
    return hps


def _xgboost(hps: dict[str, Any], task: Task, seed: int) -> BaseEstimator:
    import xgboost

    common = {"n_jobs": 1, "tree_method": "hist", "random_state": seed, "verbosity": 0}
    cls = xgboost.XGBClassifier if task == "classification" else xgboost.XGBRegressor
    return cls(**hps, **common)


def _random_forest(hps: dict[str, Any], task: Task, seed: int) -> BaseEstimator:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
    return cls(**hps, n_jobs=1, random_state=seed)


def _mlp(hps: dict[str, Any], task: Task, seed: int) -> BaseEstimator:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n_layers = hps.pop("n_layers", 1)
    n_units = hps.pop("n_units", 100)
    kwargs = dict(
        hidden_layer_sizes=(n_units,) * n_layers,
        activation="relu",
        solver="adam",
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=MLP_PATIENCE,
        max_iter=MLP_MAX_ITER,
        random_state=seed,
        **hps,
    )
    if task == "classification":
        return make_pipeline(StandardScaler(), MLPClassifier(**kwargs))
    # Standardise the target too: Adam with default scales diverges or
    # crawls on raw targets such as diabetes (25-346).
    return TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), MLPRegressor(**kwargs)),
        transformer=StandardScaler(),
    )
