"""The mixture-of-Bernoullis family (one-call: MAP-EM, jaxgen/classical/bernoulli_mixture.py),
the classic baseline on binarised images. Reported: the exact test log-likelihood in nats on
the protocol's fixed binarisation, and bits/dim."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.classical.bernoulli_mixture import fit_bernoulli_mixture
from jaxgen.train.one_call import FitData, FitResult


def _per_example(fn, x, block: int = 2_000) -> np.ndarray:
    return np.concatenate([np.asarray(fn(jnp.asarray(x[i:i + block]))) for i in range(0, len(x), block)])


def fit_bernoulli_mixture_config(config, data: FitData, key, report) -> FitResult:
    m = config.model
    params, trace = fit_bernoulli_mixture(jax.random.fold_in(key, 0), jnp.asarray(data.x), m.num_components,
                                          m.n_init, m.max_iter, m.tol, m.smoothing)
    for i, v in enumerate(np.asarray(trace.objective)):
        if np.isfinite(v):
            report(i + 1, {"train_objective": float(v)})
    test = _per_example(params.log_prob, data.x_test)
    dims = data.x_test.shape[1]
    metrics = {"test_log_likelihood": float(test.mean()),
               "test_log_likelihood_se": float(test.std(ddof=1) / math.sqrt(len(test))),
               "test_bpd": float(-test.mean() / (dims * math.log(2.0))),
               "train_log_likelihood": float(_per_example(params.log_prob, data.x).mean()),
               "em_iterations": float(trace.num_iters), "converged": float(trace.converged)}
    # the grid shows p(x | k) of components drawn by their weights (the binary draws are noise)
    comp = jax.random.categorical(jax.random.fold_in(key, 1), params.log_weights, shape=(config.eval.num_samples,))
    samples = np.asarray(params.means[comp]).reshape((-1,) + data.shape)
    return FitResult(params, metrics, samples)


def validate_bernoulli_mixture(config, shape, errors: list[str]) -> None:
    m = config.model
    if not config.data.binarize:
        errors.append("config.data.binarize=False: a mixture of Bernoullis needs binary data")
    for name in ("num_components", "n_init", "max_iter"):
        if m[name] < 1:
            errors.append(f"config.model.{name}={m[name]}: must be >= 1")
    if m.tol <= 0 or m.smoothing < 0:
        errors.append(f"config.model.tol={m.tol}, smoothing={m.smoothing}: tol > 0 and smoothing >= 0")
