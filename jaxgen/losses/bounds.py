"""Variational bounds on log p(x): ELBO and the importance-weighted bound."""

import math

import jax
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
