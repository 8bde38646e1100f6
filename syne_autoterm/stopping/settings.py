"""AutoTermination's settings: one frozen dataclass, validated once.

Why a dataclass: the rule had 19 settings of its own in a 27-parameter
constructor, and the code that must tell two rules apart (``compare`` replays
rules that differ only in ``error_scale`` together) listed them by hand and
forgot some. Here they are one value with one ``repr``; the rule's constructor
takes the same keywords and builds it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..posterior import POSTERIORS
from ..probabilistic import PathSampling
from ..regret import DomainSearch, beta_schedule
from .arguments import MAX_SEED, check_float, check_int, finite_or_none

__all__ = [
    "BOUNDS",
    "DEFAULT_ERROR_SCALE",
    "DEFAULT_PATIENCE",
    "DEFAULT_REFIT_GROWTH",
    "DEFAULT_RELATIVE_TOLERANCE",
    "ERROR_ESTIMATORS",
    "GP_NOISE",
    "PAPER_VARIANCE_FACTOR",
    "RELATIVE_FLOOR",
    "AutoTerminationSettings",
    "error_scale_from_decay",
    "relative_cap",
    "stops_on_record",
    "tolerance",
    "tolerated_error",
]

GP_NOISE = ("learned", "folds")
BOUNDS = ("expected", "probabilistic", "ucb_lcb")
# A candidate that lost on the development runs (benchmarks/results/frontier/README.md),
# kept so that it runs online as it was replayed; not offered by the CLI.
CANDIDATE_BOUNDS = ("horizon",)
# Chosen on the development runs (benchmarks/results/frontier/README.md): the error_scale of
# the default bound, and the patience after which a run without improvement stops anyway.
DEFAULT_ERROR_SCALE = 1.414  # 2**0.5 as on the frontier grid (autoterm_x1.414)
DEFAULT_PATIENCE = 120
# The tolerated error is capped at this share of the incumbent's value (relative_tolerance).
DEFAULT_RELATIVE_TOLERANCE = 0.02
# ... but never below this share of the statistical error: a metric whose optimum is near
# 0 (a loss that reaches 0, a shifted objective) has no meaningful relative scale, and
# without a floor only the patience could stop such a run. On the development runs the
# floor costs 0.005 mean held-out RTC at 0.02 (README of the frontier).
RELATIVE_FLOOR = 0.1
DEFAULT_REFIT_GROWTH = 1.1
ERROR_ESTIMATORS = ("cv", "bootstrap", "binomial")

# The authors' ``decay`` is a multiple of the 0.21 variance factor of 10-fold CV
# (sqrt(1/10 + 1/9) = 0.459...): threshold = incumbent_std / 0.21 * decay.
PAPER_VARIANCE_FACTOR = 0.21


def error_scale_from_decay(decay: float) -> float:
    """``error_scale`` equivalent of the paper's ``Ours_<decay>`` (0.21 -> 1.0)."""
    return decay / PAPER_VARIANCE_FACTOR


@dataclass(frozen=True)
class AutoTerminationSettings:
    """Everything that decides what :class:`~syne_autoterm.stopping.autoterm.AutoTermination`
    concludes from the evidence (the base class holds what is read and when).

    :param error_scale: multiplies the statistical error; larger values stop
        earlier at more risk. With ``bound="ucb_lcb"`` the paper's
        ``Ours_<decay>`` is ``error_scale = decay / 0.21`` (see
        :func:`error_scale_from_decay`).
    :param threshold: fixed threshold on the bound instead of the statistical
        error (the paper's non-CV experiments); fold scores are then not needed.
    :param test_train_ratio: ``n_test/n_train`` of the CV scheme; None means
        k-fold, ``1/(k-1)``.
    :param ddof: 1 for the sample variance of the folds (default), 0 as in the
        authors' and Optuna's code.
    :param delta, beta_scale: confidence level and practical scale of beta.
    :param top_ratio, top_min: which observations the GP is fitted on.
    :param domain_search: how the LCB minimum over the domain is searched.
    :param posterior: "auto" (searcher's BoTorch model when there is one,
        scikit-learn GP otherwise), "botorch" or "sklearn".
    :param gp_noise: "learned" (homoscedastic noise fitted by the GP, as in the
        paper) or "folds" (each trial's error variance, from the chosen
        ``error_estimator``, as known observation noise: the GP then models
        the generalisation error that the validation scores estimate).
    :param seed: the random draws (domain candidates, sample paths) of a check
        with ``n`` usable trials use ``seed + n`` (modulo 2**32), so replaying a
        trajectory gives the same decisions and trials left out as broken change
        nothing; an integer in ``[0, 2**32 - 1]`` (a numpy seed).
    :param error_estimator: how the incumbent's statistical error is estimated
        (:mod:`~syne_autoterm.stopping.error_estimators`).

        * ``"cv"`` (default): Nadeau-Bengio corrected std of the k fold scores
          named by ``fold_metrics`` (``cv_fold_0``, ``cv_fold_1``, ...).
        * ``"bootstrap"``: tuning without cross-validation, each trial reports
          its per-example validation losses, as ``<prefix><i>`` metrics or as
          one list-valued metric named ``fold_metrics`` (e.g.
          ``fold_metrics="val_losses"`` with ``report(val_losses=[...])``;
          Syne Tune caps a report at 50 KB, a few thousand numbers); the
          error is the bootstrap standard error of their mean
          (``n_bootstrap`` resamples, fixed seed).
        * ``"binomial"``: each trial reports an accuracy (or 0-1 error rate)
          as the tuned metric and its validation-set size as ``n_val_metric``;
          the error is ``sqrt(p (1 - p) / n)``. ``fold_metrics`` may be None.

    :param n_val_metric: name of the reported validation-set size ("binomial").
    :param n_bootstrap: bootstrap resamples ("bootstrap").
    :param bound: "expected", "probabilistic" or "ucb_lcb" (see the rule); or the
        candidate "horizon": the expected improvement of the ``h`` most promising
        candidates, ``h`` the first of ``path_sampling.horizons``.
    :param path_sampling: :class:`~syne_autoterm.probabilistic.PathSampling`
        (paths, candidates, the ``confidence`` of ``"probabilistic"``).
    :param patience: stop after this many completed trials without improving
        the incumbent (None: never for that reason); only applied on checks
        whose evidence supports a decision (usable incumbent error, GP fitted).
    :param refit_growth: the GP's hyperparameters are optimised (from a fixed
        start) at ``warm_up`` completed trials and again each time the count has
        grown by this factor (1.1: at 20, 22, 25, 28, ... 192 trials, 23 fits in
        200 trials); the checks in between keep them and only condition the GP
        on the new trials. The schedule depends on the count alone, so a
        decision is a function of the completed trials, whichever checks ran.
        1.0 optimises at every check.
    :param relative_tolerance: cap the tolerated error at this share of the
        incumbent's own value: the bound is compared with ``error_scale *
        clip(relative_tolerance * |incumbent|, 0.1 * stat_error, stat_error)``
        (:func:`tolerated_error`). Stop only when the remaining gain is within the
        noise *and* small against the metric itself: on small tables the CV error is
        10-25 % of the error rate (breast_cancer RF: 0.0094 of 0.040), so a gain
        "within the noise" is still a large relative change of test error, and test
        error is judged relatively. The floor (:data:`RELATIVE_FLOOR` x the error)
        keeps the bound able to stop a metric whose optimum is near 0. Default 0.02,
        chosen with ``error_scale`` on the development runs
        (``benchmarks/results/frontier/README.md``); for metrics far from 0 (an
        accuracy near 1) the cap binds only where the error exceeds 2 % of it.
        None: the error alone, as the paper.
    """

    error_scale: float = DEFAULT_ERROR_SCALE
    threshold: float | None = None
    test_train_ratio: float | None = None
    ddof: int = 1
    delta: float = 0.1
    beta_scale: float = 0.2
    top_ratio: float = 0.5
    top_min: int = 20
    domain_search: DomainSearch | None = None  # None: DomainSearch()
    posterior: str = "auto"
    gp_noise: str = "learned"
    seed: int = 0
    error_estimator: str = "cv"
    n_val_metric: str = "n_val"
    n_bootstrap: int = 1000
    bound: str = "expected"
    path_sampling: PathSampling | None = None  # None: PathSampling()
    patience: int | None = DEFAULT_PATIENCE
    refit_growth: float = DEFAULT_REFIT_GROWTH
    relative_tolerance: float | None = DEFAULT_RELATIVE_TOLERANCE

    def __post_init__(self) -> None:
        """Validate every setting (a ValueError naming it) and store it normalised."""
        for name, value in _validated(self).items():
            object.__setattr__(self, name, value)

    @property
    def needs_folds(self) -> bool:
        """Whether the error estimate reads fold scores (or per-example losses)."""
        return self.error_estimator in ("cv", "bootstrap")


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def _validated(s: AutoTerminationSettings) -> dict[str, Any]:
    """The settings, checked and normalised (floats as floats, ints as ints, defaults filled)."""
    _choice("bound", s.bound, BOUNDS + CANDIDATE_BOUNDS)
    if s.path_sampling is not None and not isinstance(s.path_sampling, PathSampling):
        raise ValueError(f"path_sampling must be a PathSampling, got {s.path_sampling!r}")
    if s.bound == "horizon" and not (s.path_sampling and s.path_sampling.horizons):
        raise ValueError(
            "bound='horizon' needs path_sampling=PathSampling(horizons=(h, ...)): "
            "the first h is the bound"
        )
    _choice("error_estimator", s.error_estimator, ERROR_ESTIMATORS)
    if not isinstance(s.n_val_metric, str) or not s.n_val_metric:
        raise ValueError(f"n_val_metric must be a non-empty string, got {s.n_val_metric!r}")
    out: dict[str, Any] = {"error_scale": check_float("error_scale", s.error_scale, positive=True)}
    if s.threshold is not None:
        out["threshold"] = check_float("threshold", s.threshold, positive=True)
    out["top_ratio"] = check_float("top_ratio", s.top_ratio)
    if not (0.0 < out["top_ratio"] <= 1.0):
        raise ValueError(f"top_ratio must lie in (0, 1], got {s.top_ratio!r}")
    out["top_min"] = check_int("top_min", s.top_min, 2)
    _choice("posterior", s.posterior, POSTERIORS)
    _choice("gp_noise", s.gp_noise, GP_NOISE)
    if s.domain_search is not None and not isinstance(s.domain_search, DomainSearch):
        raise ValueError(f"domain_search must be a DomainSearch, got {s.domain_search!r}")
    out["domain_search"] = s.domain_search if s.domain_search is not None else DomainSearch()
    if s.test_train_ratio is not None:
        out["test_train_ratio"] = check_float(
            "test_train_ratio", s.test_train_ratio, nonnegative=True
        )
    if s.ddof not in (0, 1) or isinstance(s.ddof, bool):
        raise ValueError(f"ddof must be 0 or 1, got {s.ddof!r}")
    out["ddof"] = int(s.ddof)
    out["delta"] = check_float("delta", s.delta)
    out["beta_scale"] = check_float("beta_scale", s.beta_scale, positive=True)
    beta_schedule(1, 1, out["delta"], out["beta_scale"])  # validates delta / beta_scale
    out["seed"] = check_int("seed", s.seed, 0, MAX_SEED)
    out["n_bootstrap"] = check_int("n_bootstrap", s.n_bootstrap, 10)
    out["patience"] = None if s.patience is None else check_int("patience", s.patience, 1)
    out["path_sampling"] = s.path_sampling if s.path_sampling is not None else PathSampling()
    out["refit_growth"] = check_float("refit_growth", s.refit_growth, positive=True)
    if out["refit_growth"] < 1.0:
        raise ValueError(f"refit_growth must be >= 1, got {s.refit_growth!r}")
    if s.relative_tolerance is not None:
        out["relative_tolerance"] = check_float(
            "relative_tolerance", s.relative_tolerance, positive=True
        )
    return out


def stops_on_record(
    record: Mapping[str, Any],
    error_scale: float,
    patience: int | None = None,
    threshold: float | None = None,
    relative_tolerance: float | None = None,
) -> bool:
    """Whether AutoTermination with these settings stops on the check that wrote ``record``.

    The bound, the statistical error and the trials without improvement of a
    check do not depend on these settings, so a replay at one setting tells
    every other setting's decision (:func:`syne_autoterm.compare.replay_scales`,
    the benchmarks' sweeps). Mirrors :meth:`AutoTermination.decide`: only a
    check that computed a finite bound can stop; then the patience, then
    ``bound < threshold`` or ``bound < error_scale * tolerated_error(...)``.
    """
    bound = record.get("regret_bound")
    if bound is None or not math.isfinite(bound):
        return False
    if patience is not None and (record.get("trials_without_improvement") or 0) >= patience:
        return True
    if threshold is not None:
        return bound < threshold
    error = record.get("stat_error")
    if error is None:
        return False
    return bound < error_scale * tolerated_error(
        error, record.get("incumbent_value"), relative_tolerance
    )


def tolerance(
    stat_error: float, incumbent_value: Any, relative_tolerance: float | None
) -> tuple[float, str]:
    """The error the bound is compared with (before ``error_scale``), and which term it took.

    The value is ``clip(relative_tolerance * |incumbent|, RELATIVE_FLOOR * stat_error,
    stat_error)``, or ``stat_error`` when ``relative_tolerance`` is None; a missing or
    non-finite incumbent value gives 0: broken evidence never lets the bound stop. The
    term, for the words of a decision, is ``"error"`` (the statistical error),
    ``"relative"`` (``relative_tolerance * |incumbent|``), ``"floor"``
    (``RELATIVE_FLOOR * stat_error``) or ``"no incumbent"`` (0). One function gives both so
    that the words cannot disagree with the number."""
    if relative_tolerance is None:
        return stat_error, "error"
    value = finite_or_none(incumbent_value)
    if value is None:
        return 0.0, "no incumbent"
    cap = relative_tolerance * abs(value)
    floor = RELATIVE_FLOOR * stat_error
    tolerated = min(stat_error, max(cap, floor))
    if cap >= stat_error:
        return tolerated, "error"
    return tolerated, ("floor" if cap <= floor else "relative")


def tolerated_error(
    stat_error: float, incumbent_value: Any, relative_tolerance: float | None
) -> float:
    """The value of :func:`tolerance`: the error the bound is compared with."""
    return tolerance(stat_error, incumbent_value, relative_tolerance)[0]


def relative_cap(incumbent_value: Any, relative_tolerance: float) -> float:
    """``relative_tolerance * |incumbent value|``; 0 (no stop by the bound) when the value
    is missing or not finite."""
    value = finite_or_none(incumbent_value)
    return 0.0 if value is None else relative_tolerance * abs(value)
