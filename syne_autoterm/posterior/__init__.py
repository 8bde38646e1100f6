"""Where posterior mean/std come from: the BO searcher's model, or a GP we fit."""

from ._botorch_gp import BoTorchGP, is_botorch_searcher
from ._choice import POSTERIORS, cached_fitter, encoder_for, searcher_of, uses_botorch
from ._encoding import ConfigEncoder, InferredEncoder
from ._fitting import (
    RETRY_JITTERS,
    EncodedRows,
    encode_configs,
    encode_reusing,
    fit_attempts,
    refit_key,
    refit_point,
)
from ._sklearn_gp import SklearnGP
from ._types import FittedPosterior, PosteriorFitter, standardize

__all__ = [
    "POSTERIORS",
    "RETRY_JITTERS",
    "EncodedRows",
    "encode_configs",
    "encode_reusing",
    "fit_attempts",
    "refit_key",
    "refit_point",
    "cached_fitter",
    "encoder_for",
    "searcher_of",
    "uses_botorch",
    "BoTorchGP",
    "ConfigEncoder",
    "FittedPosterior",
    "InferredEncoder",
    "PosteriorFitter",
    "SklearnGP",
    "is_botorch_searcher",
    "standardize",
]
