"""Variational bounds on log p(x): ELBO and the importance-weighted bound."""

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

Array = jax.Array


def elbo(log_likelihood: Array, kl: Array) -> Array:
    """Evidence lower bound E_q[log p(x|z)] - KL(q(z|x) || p(z)), per example.

    Args:
      log_likelihood: [...] a (Monte-Carlo) estimate of E_q[log p(x|z)].
      kl: [...] KL(q || p) in nats.
    """
    return log_likelihood - kl


def log_mean_exp(x: Array, axis: int = 0) -> Array:
    """log(mean(exp(x))) along `axis`, stable for large |x|."""
    return logsumexp(x, axis=axis) - math.log(x.shape[axis])


def iwae_bound(log_weights: Array, axis: int = 0) -> Array:
    """Importance-weighted bound L_k = log (1/k) sum_i w_i, Burda et al. 2016.

    Args:
      log_weights: log w_i = log p(x, z_i) - log q(z_i | x) for k samples
        z_i ~ q(z | x) along `axis`; e.g. [k, B].
      axis: the sample axis.

    Returns:
      The bound per example ([B] for [k, B] input). L_1 is the ELBO estimate,
      and E[L_k] increases with k towards log p(x).
    """
    return log_mean_exp(log_weights, axis=axis)


def iwae_bound_chunked(log_weights_fn, num_chunks: int, batch_size: int) -> tuple[Array, Array]:
    """L_k over k = num_chunks * c importance samples drawn c at a time (memory O(c)), by a
    running log-sum-exp.

    Args:
      log_weights_fn: j -> (log_w [c, B], aux [c, B]) for chunk j (traced): the log importance
        weights of c fresh samples and any per-sample value to average (e.g. log p(x | z)).
      num_chunks: chunks to draw.
      batch_size: B.

    Returns:
      (L_k [B], the mean of aux over the k samples [B]).
    """
    def body(carry, j):
        run_max, run_sum, aux_sum, count = carry
        log_w, aux = log_weights_fn(j)
        new_max = jnp.maximum(run_max, jnp.max(log_w, axis=0))
        run_sum = run_sum * jnp.exp(run_max - new_max) + jnp.sum(jnp.exp(log_w - new_max), axis=0)
        return (new_max, run_sum, aux_sum + jnp.sum(aux, axis=0), count + log_w.shape[0]), None

    init = (jnp.full((batch_size,), -jnp.inf), jnp.zeros((batch_size,)), jnp.zeros((batch_size,)), 0)
    (run_max, run_sum, aux_sum, count), _ = jax.lax.scan(body, init, jnp.arange(num_chunks))
    return run_max + jnp.log(run_sum) - jnp.log(count), aux_sum / count
