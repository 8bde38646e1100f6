"""Syne Tune 0.16's ``BoTorchSearcher`` with three defects fixed, and its scheduler.

The parent (``syne_tune.optimizer.schedulers.searchers.botorch.botorch_searcher``):

1. trains on mismatched pairs: ``_configs_with_results()`` lists configs in trial-id
   order, ``objectives()`` lists values in completion order, so with several workers
   and out-of-order completions config i is paired with another trial's value (and a
   failed trial's config, which has no value, shifts every later row);
2. is effectively noiseless: ``noise_level=0`` gives ``train_Yvar=0``, clamped to
   1e-6 with a ``NumericalWarning`` at every fit; ``noise_level>0`` gives a negative
   ``train_Yvar`` (``randn``) and its bare ``except`` turns every suggestion random;
3. discards its fitted GP (a local variable), so nothing else can read it;
4. (found here) calls ``Warp`` without its ``d``, so ``input_warping=True`` raises
   in botorch >= 0.13 and every suggestion falls back to random (and, given ``d``,
   a double-precision warp fails on the float32 acquisition candidates).

:class:`AlignedBoTorchSearcher` keeps the parent's BO step (``_sample_next_candidate``:
the subsampling, standardisation, fit, ``qLogExpectedImprovement`` with the pending
trials as ``X_pending``, the acquisition optimisation and the random fallback) and
overrides only the hooks that step calls: the data (``objectives``,
``_configs_with_results``), the model (``_make_gp``), the fallback counter
(``_get_random_config``), and a thin wrapper around the step that records what the
model was fitted on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from botorch.models import SingleTaskGP
from botorch.models.transforms import Warp
from syne_tune.optimizer.schedulers.searchers.botorch.botorch_searcher import BoTorchSearcher
from syne_tune.optimizer.schedulers.single_objective_scheduler import SingleObjectiveScheduler

# botorch.utils.standardize leaves a spread below this unscaled (std taken as 1)
_STANDARDIZE_MIN_STD = 1e-9


class _CastingWarp(Warp):
    """botorch's ``Warp`` that first casts its input to its own dtype: the parent's
    acquisition candidates are float32 (``Tensor`` bounds, ``rand``) while a
    double-precision model's warp is double, and ``Warp`` cannot write double values
    into a float32 copy of the input (a ``RuntimeError``, then a random fallback)."""

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        return super().transform(X.to(next(self.parameters()).dtype))


class AlignedBoTorchSearcher(BoTorchSearcher):
    """``BoTorchSearcher`` trained on aligned (config, value) pairs with a learned noise.

    Takes the parent's keyword arguments except ``noise_level`` (the noise is learned,
    so it must stay 0), plus ``do_minimize``, which only sets the sign of
    :meth:`posterior_in_metric_units` (the searcher itself always sees values the
    scheduler has already turned into "smaller is better").

    After each successful BO step (a ``suggest()`` with at least ``num_init_random``
    observations that did not fall back to a random config) it keeps:

    - ``last_model``: the fitted ``SingleTaskGP`` (inputs: the searcher's [0, 1]
      encoding, outputs: standardised ``-objective``);
    - ``last_fit_trial_ids``: the trial ids of its training rows, in row order;
    - ``last_fit_y_mean`` / ``last_fit_y_std``: the standardisation it was fitted with.

    ``num_random_fallbacks`` counts the BO steps that fell back to a random config
    (the parent's ``except`` branches), which the parent does silently.
    """

    def __init__(
        self,
        config_space: dict[str, Any],
        points_to_evaluate: list[dict] | None = None,
        do_minimize: bool = True,
        **kwargs: Any,
    ):
        if kwargs.get("noise_level", 0):
            raise ValueError(
                "AlignedBoTorchSearcher learns the observation noise; noise_level must be 0"
            )
        super().__init__(config_space, points_to_evaluate=points_to_evaluate, **kwargs)
        self.do_minimize = do_minimize
        self.last_model: SingleTaskGP | None = None
        self.last_fit_trial_ids: list[int] = []
        self.last_fit_y_mean = 0.0
        self.last_fit_y_std = 1.0
        self.num_random_fallbacks = 0
        self._step_model: SingleTaskGP | None = None
        self._in_bo_step = False

    # -- the data: one trial order for X and y -------------------------------------

    def _trial_ids_with_results(self) -> list[int]:
        """Trials with an observation and a config, by trial id: the one row order of
        both :meth:`objectives` and :meth:`_configs_with_results`."""
        return sorted(t for t in self.trial_observations if t in self.trial_configs)

    def objectives(self) -> np.ndarray:
        """The observed values in trial-id order (the parent: completion order)."""
        ids = self._trial_ids_with_results()
        return np.array([self.trial_observations[t] for t in ids], dtype=float)

    def _configs_with_results(self) -> list[dict]:
        """The configs of the observed trials in trial-id order. The parent lists every
        non-pending trial, including failed ones that have no value."""
        return [self.trial_configs[t] for t in self._trial_ids_with_results()]

    # -- the model: learned noise, kept --------------------------------------------

    def _make_gp(self, X_tensor: torch.Tensor, Y_tensor: torch.Tensor) -> SingleTaskGP:
        """The parent's GP without ``train_Yvar``: botorch then uses a
        ``GaussianLikelihood`` and learns one (homoskedastic) noise level, instead of
        a fixed noise clamped to 1e-6. ``Warp`` gets its ``d``, which botorch >= 0.13
        requires (the parent omits it, so its ``input_warping=True`` raises and every
        suggestion falls back to random), and casts its input (:class:`_CastingWarp`).
        The model is remembered for the wrapper below; the parent fits it in place
        right after this call."""
        if self.double_precision:
            X_tensor = X_tensor.double()
            Y_tensor = Y_tensor.double()
        d = X_tensor.shape[-1]
        warp = _CastingWarp(d=d, indices=list(range(d))) if self.input_warping else None
        model = SingleTaskGP(X_tensor, Y_tensor, input_transform=warp)
        self._step_model = model
        return model

    def _get_random_config(self) -> dict:
        """The parent's random config; counted as a fallback when called inside a BO
        step (only the parent's ``except`` branches call it there)."""
        if self._in_bo_step:
            self.num_random_fallbacks += 1
        return super()._get_random_config()

    def _sample_next_candidate(self) -> dict | None:
        """The parent's BO step, unchanged, wrapped to record what it fits on.

        The rows are :meth:`_trial_ids_with_results`, subsampled as the parent does
        (its ``random_state.permutation``, replayed from a copy of the state taken
        before the step), and ``y = -objectives()`` standardised as the parent does
        (float32, unbiased std). The model becomes ``last_model`` only when the step
        did not fall back to a random config (then the previous model stays).
        """
        ids = np.array(self._trial_ids_with_results(), dtype=int)
        y = -self.objectives()
        limit = self.max_num_observations
        if limit is not None and len(ids) >= limit:
            replay = np.random.RandomState()
            replay.set_state(self.random_state.get_state())
            perm = replay.permutation(len(ids))[:limit]
            ids, y = ids[perm], y[perm]
        y32 = torch.tensor(y, dtype=torch.float32)
        y_mean = float(y32.mean())
        y_std = float(y32.std()) if len(y32) > 1 else 0.0
        if not y_std >= _STANDARDIZE_MIN_STD:
            y_std = 1.0

        fallbacks = self.num_random_fallbacks
        self._step_model = None
        self._in_bo_step = True
        try:
            config = super()._sample_next_candidate()
        finally:
            self._in_bo_step = False
        if self.num_random_fallbacks == fallbacks and self._step_model is not None:
            self.last_model = self._step_model
            self.last_fit_trial_ids = [int(t) for t in ids]
            self.last_fit_y_mean = y_mean
            self.last_fit_y_std = y_std
        self._step_model = None
        return config

    # -- reading the model ---------------------------------------------------------

    def config_features(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Configs in the model's input space (the parent's [0, 1] encoding)."""
        return self._config_to_feature_matrix([dict(c) for c in configs]).numpy()

    def posterior_in_metric_units(
        self, features: Any, observation_noise: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and std of ``last_model`` in the metric's own units.

        ``features``: an ``(n, d)`` array in the model's input space
        (:meth:`config_features`), or a sequence of config dicts. Undoes the
        standardisation and the signs: the model predicts standardised
        ``y = -objective`` and the objective is the metric times the scheduler's
        multiplier (1 to minimise, -1 to maximise). ``observation_noise``: the std of
        a new observation (learned noise included) instead of the latent function's.
        """
        if self.last_model is None:
            raise RuntimeError("no fitted model yet: no BO step has succeeded")
        if isinstance(features, Sequence) and features and isinstance(features[0], Mapping):
            features = self.config_features(features)
        X = torch.as_tensor(np.asarray(features, dtype=float))
        X = X.double() if self.double_precision else X.float()
        if X.dim() == 1:
            X = X.reshape(1, -1)
        self.last_model.eval()
        with torch.no_grad():
            post = self.last_model.posterior(X, observation_noise=observation_noise)
            mean = post.mean.reshape(-1).double().numpy()
            var = post.variance.reshape(-1).clamp_min(0.0).double().numpy()
        multiplier = 1.0 if self.do_minimize else -1.0
        y = mean * self.last_fit_y_std + self.last_fit_y_mean
        return -y * multiplier, np.sqrt(var) * self.last_fit_y_std

    def noise_std_in_metric_units(self) -> float:
        """The learned observation-noise std of ``last_model``, in the metric's units."""
        if self.last_model is None:
            raise RuntimeError("no fitted model yet: no BO step has succeeded")
        noise = float(self.last_model.likelihood.noise.detach().reshape(-1)[0])
        transform = getattr(self.last_model, "outcome_transform", None)
        scale = float(transform.stdvs.reshape(-1)[0]) if transform is not None else 1.0
        return float(np.sqrt(noise) * scale * self.last_fit_y_std)


def aligned_botorch(
    config_space: dict[str, Any],
    metric: str,
    do_minimize: bool = True,
    random_seed: int | None = None,
    points_to_evaluate: list[dict] | None = None,
    searcher_kwargs: dict[str, Any] | None = None,
) -> SingleObjectiveScheduler:
    """What Syne Tune's ``BOTorch(...)`` returns (a ``SingleObjectiveScheduler``, same
    arguments), with an :class:`AlignedBoTorchSearcher` as its searcher."""
    searcher = AlignedBoTorchSearcher(
        config_space=config_space,
        points_to_evaluate=points_to_evaluate,
        random_seed=random_seed,
        do_minimize=do_minimize,
        **(searcher_kwargs or {}),
    )
    return SingleObjectiveScheduler(
        config_space=config_space,
        metric=metric,
        do_minimize=do_minimize,
        searcher=searcher,
        random_seed=random_seed,
    )
