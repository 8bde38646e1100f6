"""The GP of Syne Tune's BOTorch searcher, rebuilt so its posterior can be read.

``BoTorchSearcher`` keeps its fitted model in a local variable and trains it on
X rows in trial-id order against y in completion order (misaligned with more
than one worker). We rebuild the same model class (``SingleTaskGP``, double
precision, the searcher's input warping) on the same encoding, aligned by trial
id. torch is imported only here, only when this path is used.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._matern import FixedGP, KernelParts
from ._types import FitCounts, learned_noise_share, standardize


class BoTorchGPPosterior:
    def __init__(self, model, y_mean: float, y_std: float):
        self._model, self._y_mean, self._y_std = model, y_mean, y_std

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        # Shape (N, 1, d): N independent one-point posteriors, so botorch never
        # forms the N x N joint covariance (2000 points: 135-207 ms -> 15-65 ms,
        # same values to 3e-15; benchmarks/results/decision_cost_profile.csv).
        x = torch.as_tensor(np.atleast_2d(features), dtype=torch.float64).unsqueeze(-2)
        with torch.no_grad():
            post = self._model.posterior(x)
            mean = post.mean.reshape(-1).numpy()
            var = post.variance.reshape(-1).clamp_min(0.0).numpy()
        return mean * self._y_std + self._y_mean, np.sqrt(var) * self._y_std

    def joint(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Joint posterior mean and covariance of the latent objective (no noise term)."""
        import torch

        x = torch.as_tensor(np.atleast_2d(features), dtype=torch.float64)
        with torch.no_grad():
            mvn = self._model.posterior(x).mvn
            mean = mvn.mean.reshape(-1).numpy()
            cov = mvn.covariance_matrix.reshape(len(mean), len(mean)).numpy()
        return mean * self._y_std + self._y_mean, cov * self._y_std**2

    @property
    def hyperparameters(self) -> dict[str, np.ndarray]:
        """The fitted parameters (numpy, pickle-safe): pass to :meth:`BoTorchGP.fit` to
        refit without optimising."""
        return {name: p.detach().numpy().copy() for name, p in self._model.named_parameters()}

    @property
    def noise_share(self) -> float | None:
        """As :attr:`SklearnGPPosterior.noise_share` (None: noise known, not learned)."""
        return _model_noise_share(self._model)


def _model_noise_share(model) -> float | None:
    """``noise / (outputscale + noise)`` of a model with a learned homoscedastic noise."""
    from gpytorch.kernels import ScaleKernel
    from gpytorch.likelihoods import FixedNoiseGaussianLikelihood, GaussianLikelihood

    likelihood = model.likelihood
    if not isinstance(likelihood, GaussianLikelihood) or isinstance(
        likelihood, FixedNoiseGaussianLikelihood
    ):
        return None
    kernel = model.covar_module
    amplitude = (
        float(kernel.outputscale.detach().reshape(-1)[0])
        if isinstance(kernel, ScaleKernel)
        else 1.0
    )
    return learned_noise_share(amplitude, float(likelihood.noise.detach().reshape(-1)[0]))


class FixedBoTorchPosterior:
    """A fitted ``SingleTaskGP``'s posterior computed in numpy from its parameters.

    Why: botorch's posterior for 2,000 candidates cost 14 / 42 / 288 ms at 25 / 100 /
    500 training points here (one-point batches, torch overhead per call), most of a
    check on the BoTorch path; the same formulas in numpy (:class:`FixedGP`) cost a
    fraction of that. Only botorch's default model is recognised: an RBF kernel
    (optionally scaled), a constant mean, Gaussian or fixed noise, ``Standardize``
    and no input transform (:func:`numpy_posterior` returns None otherwise). Equal to
    botorch's own posterior to rounding (``tests/test_posterior_numerics.py``).
    """

    def __init__(
        self,
        gp: FixedGP,
        constant: float,
        scale: float,
        offset: float,
        hyperparameters: dict[str, np.ndarray],
        noise_share: float | None = None,
    ):
        # metric = latent * scale + offset; latent = constant + the GP fitted on y - constant
        self._gp, self._constant, self._scale, self._offset = gp, constant, scale, offset
        #: the model's parameters, as :attr:`BoTorchGPPosterior.hyperparameters`
        self.hyperparameters = hyperparameters
        #: as :attr:`BoTorchGPPosterior.noise_share`
        self.noise_share = noise_share

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of the latent objective (as :class:`BoTorchGPPosterior`)."""
        mean, std = self._gp.predict(np.atleast_2d(features))
        return (mean + self._constant) * self._scale + self._offset, std * self._scale

    def joint(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, cov = self._gp.joint(features)
        return (mean + self._constant) * self._scale + self._offset, cov * self._scale**2


def numpy_posterior(model, y_mean: float, y_std: float) -> FixedBoTorchPosterior | None:
    """:class:`FixedBoTorchPosterior` of a fitted ``model``, or None if it is not
    botorch's default ``SingleTaskGP`` (an input transform, another kernel...)."""
    from botorch.models.transforms.outcome import Standardize
    from gpytorch.kernels import RBFKernel, ScaleKernel
    from gpytorch.likelihoods import FixedNoiseGaussianLikelihood, GaussianLikelihood
    from gpytorch.means import ConstantMean

    kernel, amplitude = model.covar_module, 1.0
    if isinstance(kernel, ScaleKernel):
        amplitude = float(kernel.outputscale.detach().reshape(-1)[0])
        kernel = kernel.base_kernel
    transform = getattr(model, "outcome_transform", None)
    likelihood = model.likelihood
    if (
        getattr(model, "input_transform", None) is not None
        or type(kernel) is not RBFKernel
        or not isinstance(model.mean_module, ConstantMean)
        or not isinstance(transform, Standardize)
        or not isinstance(likelihood, (GaussianLikelihood, FixedNoiseGaussianLikelihood))
    ):
        return None
    x = model.train_inputs[0].detach().numpy()
    y = model.train_targets.detach().numpy().reshape(-1)  # in the transformed units
    noise = likelihood.noise.detach().numpy().reshape(-1)
    noise = np.broadcast_to(noise, y.shape).astype(float)
    parts = KernelParts(
        amplitude, kernel.lengthscale.detach().numpy().reshape(-1).astype(float), 0.0, "rbf"
    )
    constant = float(model.mean_module.constant.detach().reshape(-1)[0])
    try:
        gp = FixedGP.fit(parts, x, y - constant, noise)
    except (np.linalg.LinAlgError, ValueError):
        return None
    t_std = float(transform.stdvs.detach().reshape(-1)[0])
    t_mean = float(transform.means.detach().reshape(-1)[0])
    params = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    # latent -> Standardize's inverse -> our standardisation's inverse
    return FixedBoTorchPosterior(
        gp, constant, t_std * y_std, t_mean * y_std + y_mean, params, _model_noise_share(model)
    )


class BoTorchGP:
    """``SingleTaskGP`` fitted by ``fit_gpytorch_mll`` (type-II ML, botorch's priors).

    ``noise`` "learned" fits a homoscedastic noise level (the searcher's own GP
    is effectively noiseless, ``train_Yvar`` clamped to 1e-6, which makes
    confidence bands collapse at observed points); known per-point noise
    variances passed to :meth:`fit` are used as ``train_Yvar`` instead.
    """

    name = "botorch-gp"

    def __init__(self, input_warping: bool = False, seed: int = 0):
        self.input_warping = input_warping
        self.seed = seed
        self.fits = FitCounts()

    def fit(
        self,
        features: np.ndarray,
        objective: np.ndarray,
        noise_var: np.ndarray | None = None,
        jitter: float = 0.0,
        hyperparameters: dict[str, np.ndarray] | None = None,
    ) -> BoTorchGPPosterior | FixedBoTorchPosterior:
        """Fit on standardised objective values (so any metric scale works).

        An optimising fit starts from botorch's defaults under ``seed``, so it
        depends on its data alone (see :class:`~syne_autoterm.posterior.SklearnGP`);
        ``hyperparameters`` of an earlier posterior are loaded instead and not
        optimised.

        ``jitter`` (standardised units) floors the noise variance: the known
        ``noise_var``, or the learned noise level through its constraint.

        The global torch RNG is left untouched (``fork_rng``): Syne Tune's
        BOTorch searcher draws its candidates from it, and reseeding it at
        every check would make the searcher propose from the same random set
        again and again.
        """
        import torch
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.transforms import Warp
        from gpytorch.mlls import ExactMarginalLogLikelihood

        y, y_mean, y_std = standardize(objective)
        X = torch.as_tensor(features, dtype=torch.float64)
        Y = torch.as_tensor(y, dtype=torch.float64).reshape(-1, 1)
        Yvar = None
        likelihood = None
        if noise_var is not None:
            floor = max(1e-8, float(jitter))
            Yvar = torch.as_tensor(np.maximum(noise_var / y_std**2, floor), dtype=torch.float64)
            Yvar = Yvar.reshape(-1, 1)
        elif jitter > 0:
            from gpytorch.constraints import GreaterThan
            from gpytorch.likelihoods import GaussianLikelihood

            likelihood = GaussianLikelihood(noise_constraint=GreaterThan(float(jitter)))
        warp = Warp(d=X.shape[-1], indices=list(range(X.shape[-1]))) if self.input_warping else None
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            torch.manual_seed(self.seed)
            warnings.simplefilter("ignore")  # gpytorch NumericalWarning / botorch input warnings
            kwargs = {"likelihood": likelihood} if likelihood is not None else {}
            model = SingleTaskGP(X, Y, train_Yvar=Yvar, input_transform=warp, **kwargs)
            self.fits.count(optimised=hyperparameters is None)
            if hyperparameters is not None:
                _load(model, hyperparameters)
            else:
                fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        model.eval()
        # the posterior in numpy where the model is botorch's default (same values)
        return numpy_posterior(model, y_mean, y_std) or BoTorchGPPosterior(model, y_mean, y_std)


def _load(model, hyperparameters: dict[str, np.ndarray]) -> None:
    """Set ``model``'s parameters; a name or shape that does not match is an error."""
    import torch

    with torch.no_grad():
        for name, param in model.named_parameters():
            saved = hyperparameters.get(name)
            if saved is None or tuple(saved.shape) != tuple(param.shape):
                raise ValueError(f"hyperparameter {name!r} does not fit this model")
            param.copy_(torch.as_tensor(saved, dtype=param.dtype))


def is_botorch_searcher(searcher) -> bool:
    """True for Syne Tune's BoTorchSearcher, checked without importing torch."""
    return any(cls.__name__ == "BoTorchSearcher" for cls in type(searcher).__mro__)
