"""Annealed importance sampling (Neal 2001): an unbiased estimator of Z_1 / Z_0.

Intermediate targets f_b for 0 = b_0 < b_1 < ... < b_T = 1 (by default the geometric
path f_0^(1 - b) f_1^b). Each chain starts with an exact draw x_0 ~ p_0 and alternates a
weight update w += log f_{b_t}(x) - log f_{b_{t-1}}(x) with a transition T_{b_t} that
leaves f_{b_t} invariant. E[exp(w)] = Z_1 / Z_0, so log Z_1 = log Z_0 + log mean exp(w)
(a stochastic lower bound in expectation, by Jensen).
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.losses.bounds import log_mean_exp

Array = jax.Array


class AISResult(NamedTuple):
    log_z: Array  # estimate of log Z_1
    stderr: Array  # its standard error (delta method: sd(exp w) / (sqrt(n) mean(exp w)))
    log_weights: Array  # [num_chains]
    samples: Array  # [num_chains, ...] final states (approximate draws from p_1)


def beta_schedule(num: int, kind: str = "linear", radius: float = 4.0) -> np.ndarray:
    """Inverse temperatures 0 = b_0 < ... < b_{num-1} = 1.

    kind: 'linear'; 'sigmoid' (Grosse et al. 2013: sigmoid of a linear grid on
    [-radius, radius], rescaled to [0, 1], denser at both ends); 'salakhutdinov_murray'
    (2008: 1/10 of the steps uniform on [0, 0.5], 4/10 on [0.5, 0.9], 5/10 on [0.9, 1]).
    """
    if num < 2:
        raise ValueError(f"a beta schedule needs at least 2 points, got num={num}")
    if kind == "linear":
        return np.linspace(0.0, 1.0, num)
    if kind == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-np.linspace(-radius, radius, num)))
        return (s - s[0]) / (s[-1] - s[0])
    if kind == "salakhutdinov_murray":
        n1, n2 = max(num // 10, 1), max(4 * num // 10, 1)
        n3 = num - n1 - n2
        return np.concatenate([np.linspace(0, 0.5, n1, endpoint=False), np.linspace(0.5, 0.9, n2, endpoint=False),
                               np.linspace(0.9, 1.0, n3)])
    raise ValueError(f"unknown beta schedule {kind!r}; expected linear, sigmoid or salakhutdinov_murray")


def log_z_from_weights(log_weights: Array, log_z_init: float | Array = 0.0) -> tuple[Array, Array]:
    """(log Z_1 estimate, its delta-method standard error) from AIS log weights."""
    n = log_weights.shape[0]
    log_z = log_z_init + log_mean_exp(log_weights)
    w = jnp.exp(log_weights - jnp.max(log_weights))
    stderr = jnp.std(w, ddof=1) / (jnp.sqrt(n) * jnp.mean(w))
    return log_z, stderr


def geometric_path(log_init: Callable[[Array], Array], log_target: Callable[[Array], Array]) -> Callable:
    """log f_b(x) = (1 - b) log f_0(x) + b log f_1(x): the default annealing path."""

    def log_f(x, beta):
        return (1.0 - beta) * log_init(x) + beta * log_target(x)

    return log_f


def ais(key: Array, sample_init: Callable[[Array, int], Array], log_f: Callable[[Array, Array], Array],
        transition: Callable[[Array, Array, Array], Array], betas, num_chains: int,
        log_z_init: float | Array = 0.0) -> AISResult:
    """Run `num_chains` AIS chains and estimate log Z_1.

    Args:
      key: PRNG key.
      sample_init: (key, n) -> [n, ...] exact draws from p_0 = f_0 / Z_0.
      log_f: (x, beta) -> log f_beta(x) for one state (vmapped here): the annealing path,
        f_0 at beta 0 and the target f_1 at beta 1 (`geometric_path`, or a model's own path,
        e.g. an RBM's energy scaled by beta, Salakhutdinov & Murray 2008).
      transition: (key, x, beta) -> x', one state, leaving f_beta invariant (e.g. a
        Metropolis-Hastings or Gibbs step).
      betas: [T + 1] increasing inverse temperatures from 0 to 1 (`beta_schedule`).
      num_chains: independent chains (the standard error shrinks as 1/sqrt(n)).
      log_z_init: log Z_0 (0 when f_0 is normalised).
    """
    betas = jnp.asarray(betas, jnp.float32)
    if betas.ndim != 1 or betas.shape[0] < 2:
        raise ValueError(f"betas must be a 1-D schedule of at least 2 points, got shape {betas.shape}")
    k_init, k_run = jax.random.split(key)
    x0 = sample_init(k_init, num_chains)
    batched_log_f = jax.vmap(log_f, in_axes=(0, None))

    def step(carry, inputs):
        x, w = carry
        t, b_prev, b = inputs
        w = w + batched_log_f(x, b) - batched_log_f(x, b_prev)
        keys = jax.random.split(jax.random.fold_in(k_run, t), num_chains)
        x = jax.vmap(transition, in_axes=(0, 0, None))(keys, x, b)
        return (x, w), None

    ts = jnp.arange(1, betas.shape[0])
    (x, w), _ = jax.lax.scan(step, (x0, jnp.zeros(num_chains, jnp.float32)), (ts, betas[:-1], betas[1:]))
    log_z, stderr = log_z_from_weights(w, log_z_init)
    return AISResult(log_z, stderr, w, x)
