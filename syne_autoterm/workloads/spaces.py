"""Syne Tune search spaces for the three workloads.

Why these: XGBoost and random forest are the paper's two CV workloads and use
exactly the authors' ranges (``src/constant.py`` of
amazon-science/bo-early-stopping, see shared/paper-runs/README.md), so our
tables and BO runs are comparable with the published ones. The MLP space is
added for a third, differently shaped response surface; it follows published
neural-network benchmark spaces rather than inventing ranges.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from syne_tune.config_space import (
    Domain,
    Float,
    Integer,
    is_log_space,
    lograndint,
    loguniform,
    randint,
    uniform,
)

MODELS: tuple[str, ...] = ("xgboost", "rf", "mlp")

_ALIASES = {
    "xgb": "xgboost",
    "xgboost": "xgboost",
    "rf": "rf",
    "random_forest": "rf",
    "randomforest": "rf",
    "mlp": "mlp",
}


def xgboost_space() -> dict[str, Domain]:
    """The paper's 9-dimensional XGBoost space (authors' ``src/constant.py``)."""
    return {
        "n_estimators": lograndint(2, 512),
        "learning_rate": loguniform(1e-6, 1.0),
        "gamma": loguniform(1e-6, 64.0),
        "min_child_weight": loguniform(1e-6, 32.0),
        "max_depth": lograndint(2, 32),
        "subsample": uniform(0.5, 1.0),
        "colsample_bytree": uniform(0.3, 1.0),
        "reg_lambda": loguniform(1e-6, 2.0),
        "reg_alpha": loguniform(1e-6, 2.0),
    }


def rf_space() -> dict[str, Domain]:
    """The paper's 3-dimensional random-forest space.

    ``min_samples_split`` is a fraction of the training rows (scikit-learn
    accepts a float in (0, 1]), as in the authors' code.
    """
    return {
        "n_estimators": lograndint(1, 64),
        "min_samples_split": loguniform(0.01, 0.5),
        "max_depth": randint(1, 5),
    }


def mlp_space() -> dict[str, Domain]:
    """A 5-dimensional space for scikit-learn's ``MLPClassifier``/``MLPRegressor``.

    Modelled on LCBench (Zimmer, Lindauer and Hutter, "Auto-PyTorch Tabular",
    TPAMI 2021: batch size 16-512 log, learning rate 1e-4-1e-1 log, weight
    decay 1e-5-1e-1, 1-5 layers of 64-1024 units) and HPOBench's FC-Net
    (Klein and Hutter 2019: 2 layers of 16-512 units, batch size 8-64),
    shrunk to what sklearn's Adam MLP exposes and what one CPU core trains in
    seconds: 1-3 equal-width layers of 16-512 units (log), L2 penalty
    ``alpha`` 1e-6-1e-1 (log), ``learning_rate_init`` 1e-4-1e-1 (log) and
    batch size 16-256 (log). Fixed (see models.py): ReLU, Adam, inputs
    standardised, early stopping on a 10% split, at most
    ``models.MLP_MAX_ITER`` epochs.
    """
    return {
        "n_layers": randint(1, 3),
        "n_units": lograndint(16, 512),
        "alpha": loguniform(1e-6, 1e-1),
        "learning_rate_init": loguniform(1e-4, 1e-1),
        "batch_size": lograndint(16, 256),
    }


_SPACES = {"xgboost": xgboost_space, "rf": rf_space, "mlp": mlp_space}


def canonical_model(model: str) -> str:
    """Map ``xgb``/``random_forest``/... to ``xgboost``/``rf``/``mlp``."""
    try:
        return _ALIASES[model.strip().lower()]
    except KeyError:
        raise ValueError(f"Unknown model {model!r}; choose one of {list(MODELS)}.") from None


def search_space(model: str) -> dict[str, Domain]:
    """A fresh copy of the config space of ``model`` (``xgboost``, ``rf``, ``mlp``)."""
    return _SPACES[canonical_model(model)]()


def unit_to_config(space: dict[str, Any], u: np.ndarray) -> dict[str, Any]:
    """Map a point of the unit cube (one coordinate per ``Domain``) to a config.

    Why: quasi-random designs (Sobol) live in ``[0, 1)^d``. Floats map
    linearly or log-linearly; integers map onto ``lower..upper`` inclusive,
    each value getting the width it has under Syne Tune's own sampling
    (log-width ``log((i+1)/i)`` on a log scale). Constants pass through.
    """
    domains = [(k, v) for k, v in space.items() if isinstance(v, Domain)]
    if len(u) != len(domains):
        raise ValueError(f"u has {len(u)} coordinates, the space {len(domains)} domains.")
    config: dict[str, Any] = {k: v for k, v in space.items() if not isinstance(v, Domain)}
    for (name, domain), x in zip(domains, u):
        x = float(min(max(x, 0.0), 1.0))
        if isinstance(domain, Integer):
            lo, hi = domain.lower, domain.upper + 1
            raw = (
                math.exp(_lerp(math.log(lo), math.log(hi), x))
                if is_log_space(domain)
                else _lerp(lo, hi, x)
            )
            config[name] = int(min(max(math.floor(raw), domain.lower), domain.upper))
        elif isinstance(domain, Float):
            lo, hi = domain.lower, domain.upper
            value = (
                math.exp(_lerp(math.log(lo), math.log(hi), x))
                if is_log_space(domain)
                else _lerp(lo, hi, x)
            )
            config[name] = min(max(value, lo), hi)
        else:
            raise TypeError(f"Hyperparameter {name}: unsupported domain {domain!r}.")
    return config


def sobol_configs(space: dict[str, Any], n: int, seed: int = 0) -> list[dict[str, Any]]:
    """The first ``n`` points of a scrambled Sobol sequence, as configs.

    Deterministic in ``seed``, and a prefix of the sequence for a larger
    ``n``: config ``i`` is the same whatever ``n``, so tables can be extended.
    """
    import warnings

    from scipy.stats import qmc

    d = sum(isinstance(v, Domain) for v in space.values())
    sampler = qmc.Sobol(d=d, scramble=True, seed=seed)
    with warnings.catch_warnings():
        # "balance properties of Sobol' points require n to be a power of 2"
        warnings.simplefilter("ignore", UserWarning)
        points = sampler.random(n)
    return [unit_to_config(space, p) for p in points]


def _lerp(lo: float, hi: float, x: float) -> float:
    return lo + x * (hi - lo)
