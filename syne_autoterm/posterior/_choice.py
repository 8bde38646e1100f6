"""Which encoding and which GP a rule uses, decided in one place for every rule.

AutoTermination and the EI/PI baselines must see the same posterior: the BO
searcher's own encoding and model class when the scheduler is Syne Tune's
BOTorch, the config space's encoding and a scikit-learn GP otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._botorch_gp import BoTorchGP, is_botorch_searcher
from ._encoding import ConfigEncoder, InferredEncoder
from ._sklearn_gp import SklearnGP

POSTERIORS = ("auto", "botorch", "sklearn")


def searcher_of(scheduler: Any) -> Any:
    return getattr(scheduler, "searcher", None) if scheduler is not None else None


def uses_botorch(posterior: str, scheduler: Any) -> bool:
    """``posterior`` "botorch"/"sklearn" as asked; "auto" follows the scheduler's searcher."""
    if posterior != "auto":
        return posterior == "botorch"
    searcher = searcher_of(scheduler)
    return searcher is not None and is_botorch_searcher(searcher)


def encoder_for(
    scheduler: Any, config_space: Mapping[str, Any] | None, configs: Sequence[Mapping[str, Any]]
) -> tuple[ConfigEncoder | InferredEncoder, bool]:
    """The encoder and whether the domain had to be guessed from ``configs``."""
    searcher = searcher_of(scheduler)
    if searcher is not None and getattr(searcher, "_hp_ranges", None) is not None:
        return ConfigEncoder(hp_ranges=searcher._hp_ranges), False  # the searcher's own encoding
    space = config_space
    if space is None and scheduler is not None:
        space = getattr(scheduler, "config_space", None)
    if space is not None:
        return ConfigEncoder(config_space=space), False
    return InferredEncoder(configs), True


def cached_fitter(cache: dict[str, Any], botorch: bool, scheduler: Any, seed: int):
    """One fitter per kind, kept in ``cache`` (built once per rule, not per check)."""
    if botorch:
        searcher = searcher_of(scheduler)
        warping = bool(getattr(searcher, "input_warping", False)) if searcher else False
        key = f"botorch-{warping}"
        if key not in cache:
            cache[key] = BoTorchGP(input_warping=warping, seed=seed)
    else:
        key = "sklearn"
        if key not in cache:
            cache[key] = SklearnGP(seed=seed)
    return cache[key]
