"""The mixture-of-Bernoullis family (one-call: MAP-EM, jaxgen/classical/bernoulli_mixture.py),
the classic baseline on binarised images. Its test log-likelihood is exact, on the protocol's
fixed binarisation."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.classical.bernoulli_mixture import BernoulliMixture, fit_bernoulli_mixture
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import OneCallFamily
from jaxgen.train.one_call import FitData, FitResult


def fit_bernoulli_mixture_config(config, data: FitData, key, report) -> FitResult:
    m = config.model
    params, trace = fit_bernoulli_mixture(key, jnp.asarray(data.x), m.num_components, m.n_init, m.max_iter, m.tol,
                                          m.smoothing)
    for i, v in enumerate(np.asarray(trace.objective)):
        if np.isfinite(v):
            report(i + 1, {"train_objective": float(v)})
    return FitResult(params, {"em_iterations": float(trace.num_iters), "converged": float(trace.converged)})


def build_bernoulli_mixture(config, spec) -> OneCallFamily:
    def log_prob(params, batch, key, stats):
        return {"log_prob": params.log_prob(batch["x"].reshape(batch["x"].shape[0], -1))}

    def sample(params, key, n, labels=None):
        """p(x | k) of components k drawn by their weights: the grid shows the pixel
        probabilities (a binary draw from them is mostly noise to the eye)."""
        if labels is not None:
            raise ValueError("labels were given to an unconditional mixture")
        comp = jax.random.categorical(key, params.log_weights, shape=(n,))
        return params.means[comp].reshape((n,) + tuple(spec.shape))

    def restore(state):
        return BernoulliMixture(jnp.asarray(state["log_weights"]), jnp.asarray(state["logits"]))

    return OneCallFamily(
        fit=lambda data, key, report: fit_bernoulli_mixture_config(config, data, key, report), restore=restore,
        sample=sample, likelihood=lambda final: Likelihood("exact", "mixture of Bernoullis", log_prob,
                                                           dequantization="none (binary data)"))


def validate_bernoulli_mixture(config, shape, errors: list[str]) -> None:
    m = config.model
    if not config.data.binarize:
        errors.append("config.data.binarize=False: a mixture of Bernoullis needs binary data")
    for name in ("num_components", "n_init", "max_iter"):
        if m[name] < 1:
            errors.append(f"config.model.{name}={m[name]}: must be >= 1")
    if m.tol <= 0 or m.smoothing < 0:
        errors.append(f"config.model.tol={m.tol}, smoothing={m.smoothing}: tol > 0 and smoothing >= 0")
