"""AutoTermination's posterior steps: the GP's data, its fit with fallbacks, the bound.

Why apart from the rule: these steps are about the GP (which trials it is
fitted on, which fitter and jitter to try next, when its hyperparameters are
optimised again, which bound to compute), while :mod:`.autoterm` holds the
decision. They are methods of a base class of the rule, not another object,
because their caches (``_fitters``, ``_refits``, ``_encoded_rows``) are the
rule's own state, pickled (or dropped as transient) with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..evidence import Evidence, FoldAudit
from ..posterior import (
    ConfigEncoder,
    EncodedRows,
    InferredEncoder,
    cached_fitter,
    encode_configs,
    encode_reusing,
    encoder_for,
    fit_attempts,
    refit_key,
    refit_point,
    uses_botorch,
)
from ..posterior._types import is_constant
from ..probabilistic import probabilistic_regret
from ..regret import PosteriorError, beta_schedule, regret_bound, top_n_mask
from ._check import Check, Continue
from .arguments import MAX_SEED
from .error_estimators import trial_noise

if TYPE_CHECKING:
    from ..probabilistic import PathSampling
    from ..regret import DomainSearch
    from .error_estimators import ErrorEstimator

__all__ = ["GPData", "GPSteps", "check_config_space"]


def check_config_space(config_space: Mapping[str, Any] | None) -> None:
    """ValueError unless ``config_space`` (when given) has a hyperparameter to tune.

    An empty or all-constant space leaves nothing for the GP to model, and a
    space Syne Tune cannot encode would fail at every check.
    """
    if config_space is None:
        return
    try:
        encoder = ConfigEncoder(config_space=config_space)
        width, n_hps = encoder.n_features, encoder.n_hyperparameters
    except Exception as exc:
        raise ValueError(
            f"config_space is not a Syne Tune search space Syne Tune can encode ({exc})"
        ) from None
    if width < 1 or n_hps < 1:
        raise ValueError(
            "config_space has no hyperparameter to tune (empty, or only constants): nothing "
            "for the GP to model"
        )


def _nothing_to_model(objective: np.ndarray, usable: np.ndarray, top: np.ndarray) -> str | None:
    """Which GP set ("usable" or "top") has all objective values equal, or None.

    The constant-metric guard must look at exactly the points the GP is fitted
    on: a worse trial that the GP never sees (unencodable config) must not
    make a flat set look informative, nor may exact ties in the top set.
    """
    if is_constant(objective[usable]):
        return "usable"
    if is_constant(objective[top]):
        return "top"
    return None


class GPData:
    """What a check fits its GP on: the top set of the usable trials, encoded."""

    def __init__(
        self,
        encoder: Any,
        usable: np.ndarray,
        top: np.ndarray,
        features: np.ndarray,
        noise: np.ndarray | None,
        beta: float,
    ):
        self.encoder, self.usable, self.top = encoder, usable, top
        self.features, self.noise, self.beta = features, noise, beta


class GPSteps:
    """The GP half of :class:`~syne_autoterm.stopping.autoterm.AutoTermination`.

    Reads the rule's settings (``top_ratio``, ``bound``, ``seed``, ...), its
    ``scheduler``/``config_space``, ``warm_up`` and ``error_model``, and keeps
    its caches in the rule's ``__dict__``.
    """

    _fitters: dict[str, Any]

    if TYPE_CHECKING:  # what AutoTermination provides (settings, base-class state, methods)
        metric: str
        scheduler: Any
        config_space: dict | None
        warm_up: int
        posterior: str
        seed: int
        bound: str
        domain_search: DomainSearch  # never None once validated (None means the default)
        path_sampling: PathSampling
        top_ratio: float
        top_min: int
        refit_growth: float
        gp_noise: str
        delta: float
        beta_scale: float

        @property
        def error_model(self) -> ErrorEstimator: ...

        def log_problem(self, kind: str, message: str) -> None: ...

        def _fold_noise(self, evidence: Evidence, usable: np.ndarray) -> np.ndarray: ...

    def _use_botorch(self) -> bool:
        return uses_botorch(self.posterior, self.scheduler)

    def _encoder(self, evidence: Evidence):
        encoder, guessed = encoder_for(self.scheduler, self.config_space, evidence.configs)
        if guessed:
            self.log_problem(
                "no-config-space",
                "AutoTermination has no scheduler or config_space: the domain is guessed from the "
                "observed configs (pass scheduler= or config_space= for the real domain)",
            )
        return encoder

    def _encode_reusing(self, encoder: Any, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Encoded configs, reusing rows of earlier checks when the domain is fixed."""
        if isinstance(encoder, InferredEncoder) or not configs:
            return encode_configs(encoder, configs)
        return encode_reusing(
            encoder, configs, self.__dict__.setdefault("_encoded_rows", EncodedRows())
        )

    def _fit_attempts(self) -> list[tuple[Any, float]]:
        """``(fitter, jitter)`` in the order tried: primary, primary with more jitter, sklearn."""
        return fit_attempts(self._fitters, self._use_botorch(), self.scheduler, self.seed)

    def _fitter(self):
        """The primary posterior fitter (BoTorch's or scikit-learn's GP)."""
        return cached_fitter(self._fitters, self._use_botorch(), self.scheduler, self.seed)

    def _bound(
        self,
        posterior: Any,
        features: np.ndarray,
        beta: float,
        encoder: Any,
        rng: np.random.RandomState,
    ) -> Any:
        """The remaining-improvement bound of this check, in metric units."""
        if self.bound in ("expected", "probabilistic", "horizon"):
            res = probabilistic_regret(
                posterior,
                features,
                encoder.random,
                encoder.snap,
                self.domain_search,
                self.path_sampling,
                rng,
            )
            if self.bound == "horizon":  # validated: at least one horizon
                return replace(res, value=res.horizons[0][1])
            return replace(res, value=res.expected) if self.bound == "expected" else res
        return regret_bound(
            posterior, features, beta, encoder.random, encoder.snap, self.domain_search, rng
        )

    def _top_set(self, objective: np.ndarray, usable: np.ndarray) -> np.ndarray:
        """Indices the GP is fitted on: the best of the usable trials (the paper's top set)."""
        idx = np.flatnonzero(usable)
        return idx[top_n_mask(objective[idx], self.top_ratio, self.top_min)]

    def _remember_refit(self, key: tuple, posterior: Any) -> None:
        """Keep the hyperparameters optimised at a refit point for the checks up to the next.

        Only the latest point is kept: counts only grow within a job."""
        hyperparameters = getattr(posterior, "hyperparameters", None)
        if hyperparameters is not None:
            self.__dict__["_refits"] = {key: hyperparameters}

    def _kept_hyperparameters(self, evidence: Evidence, encoder: Any, usable: np.ndarray) -> Any:
        """The primary GP's hyperparameters optimised at this check's refit point.

        The schedule counts usable trials (as the random draws do), so trials left
        out as broken change nothing. Fitted here, on the shortest prefix of the
        trials with that many usable ones, when no check ran there (a restart,
        trials completing together); None when they cannot be had (this check then
        optimises its own, a function of its data too).
        """
        fitter = self._fitter()
        point = refit_point(int(usable.sum()), self.warm_up, self.refit_growth)
        key = refit_key(fitter, evidence, usable, point)
        known = self.__dict__.get("_refits", {})
        if key in known:
            return known[key]
        head = evidence.head(key[1])
        usable = usable[: len(head)]
        objective = head.objective
        features = self._encode_reusing(encoder, head.configs)
        top = self._top_set(objective, usable)
        if len(top) < 2 or _nothing_to_model(objective, np.flatnonzero(usable), top) is not None:
            return None
        noise = self._fold_noise(head, usable)[top] if self.gp_noise == "folds" else None
        try:
            posterior = fitter.fit(features[top], objective[top], noise)
        except Exception:
            return None
        self._remember_refit(key, posterior)
        return getattr(posterior, "hyperparameters", None)

    def _gp_data(
        self,
        evidence: Evidence,
        inc: int,
        finite: np.ndarray,
        audit: FoldAudit | None,
        check: Check,
    ) -> GPData:
        """The usable trials (finite metric, encodable config) and the top set the GP fits."""
        encoder = self._encoder(evidence)
        features_all = self._encode_reusing(encoder, evidence.configs)
        encodable = np.all(np.isfinite(features_all), axis=1)
        if not encodable[inc]:
            check.problem(
                "bad-config",
                f"the config of incumbent trial {evidence.trial_ids[inc]} cannot be encoded in "
                "the search space: not stopping while it is the incumbent",
            )
            raise Continue("incumbent config cannot be encoded")
        usable = finite & encodable
        n_finite = int(finite.sum())
        if int(usable.sum()) < n_finite:
            check.problem(
                "bad-config",
                f"{n_finite - int(usable.sum())} trial config(s) cannot be encoded in the search "
                "space: left out of the GP",
            )
        idx = np.flatnonzero(usable)
        if len(idx) < 2:
            raise Continue("fewer than 2 usable trials for the GP")
        n_unique = len(np.unique(features_all[idx], axis=0))
        if n_unique < len(idx):
            check.problem(
                "duplicate-configs",
                f"{len(idx) - n_unique} usable trial(s) repeat an earlier config: all kept (the "
                "GP's noise model averages repeated observations)",
            )
        objective = evidence.objective
        top = self._top_set(objective, usable)
        flat = _nothing_to_model(objective, idx, top)
        if flat is not None:
            check.problem(
                "constant-metric",
                f"the {flat} trials the GP would be fitted on all reported the same "
                f"'{self.metric}': nothing to model, not stopping until the metric varies",
            )
            raise Continue(f"all '{self.metric}' values of the {flat} set are equal: continue")
        noise = None
        if self.gp_noise == "folds":
            noise = trial_noise(self.error_model, evidence, usable, audit)[top]
        beta = beta_schedule(encoder.n_hyperparameters, len(top), self.delta, self.beta_scale)
        return GPData(encoder, usable, top, features_all[top], noise, beta)

    def _fit_bound(self, evidence: Evidence, data: GPData, check: Check) -> tuple[Any, Any, float]:
        """``(bound, fitter, jitter)``: the first fit of :meth:`_fit_attempts` with a finite bound.

        The hyperparameters are optimised only at the refit points of the schedule
        (:func:`~syne_autoterm.posterior.refit_point`); in between the primary fit
        keeps the last point's.
        """
        objective = evidence.objective[data.top]
        n_usable = int(data.usable.sum())
        refit_here = refit_point(n_usable, self.warm_up, self.refit_growth) == n_usable
        kept = (
            None if refit_here else self._kept_hyperparameters(evidence, data.encoder, data.usable)
        )
        bound, used, jitter = None, None, 0.0
        for attempt, (fitter, jitter) in enumerate(self._fit_attempts()):
            try:
                kwargs: dict[str, Any] = {"jitter": jitter} if jitter > 0 else {}
                if attempt == 0 and kept is not None:
                    kwargs["hyperparameters"] = kept
                posterior = fitter.fit(data.features, objective, data.noise, **kwargs)
                if attempt == 0 and refit_here:
                    self._remember_refit(
                        refit_key(fitter, evidence, data.usable, n_usable), posterior
                    )
                # seeded by the number of usable trials, so that trials left out (broken
                # metric or config) change nothing, the random draws included
                rng = np.random.RandomState((self.seed + n_usable) % (MAX_SEED + 1))
                candidate = self._bound(posterior, data.features, data.beta, data.encoder, rng)
                if not math.isfinite(candidate.value):
                    raise PosteriorError("the regret bound is not finite")
                bound, used = candidate, fitter
                # how much of the fitted variance the GP calls noise (see the posteriors'
                # noise_share): the trace says when a small bound comes from a flat fit
                check.details["noise_share"] = _noise_share(posterior)
                break
            except Exception as exc:
                check.problem(
                    f"gp-fit-failed:{getattr(fitter, 'name', type(fitter).__name__)}",
                    f"GP fit/posterior failed ({getattr(fitter, 'name', '?')}, jitter {jitter:g}: "
                    f"{type(exc).__name__}: {str(exc)[:200]}); retrying with more jitter, then "
                    "the scikit-learn GP; if all fail, no stop",
                )
        check.details.update(beta=data.beta, n_fit=len(data.top))
        if bound is None:
            check.problem("gp-failed", "every GP fit failed on this evidence: not stopping")
            raise Continue("posterior could not be fitted: continue")
        return bound, used, jitter


def _noise_share(posterior: Any) -> float | None:
    """The posterior's ``noise_share``, or None: a diagnostic that cannot be read must not
    turn a good fit into a failed one (and so delay a stop)."""
    try:
        share = getattr(posterior, "noise_share", None)
        return None if share is None else float(share)
    except Exception:
        return None
