"""Closed-form divergences between distributions."""

import jax
import jax.numpy as jnp

Array = jax.Array


def gaussian_kl(mean_q: Array, log_var_q: Array, mean_p: Array, log_var_p: Array) -> Array:
    """KL(N(mean_q, var_q) || N(mean_p, var_p)) for diagonal Gaussians.

    KL = 1/2 sum_i [ log var_p - log var_q + (var_q + (mean_q - mean_p)^2) / var_p - 1 ].

    Args:
      mean_q, log_var_q, mean_p, log_var_p: [..., D], broadcastable.

    Returns:
      [...] KL in nats, summed over the last axis.
    """
    ratio = jnp.exp(log_var_q - log_var_p)
    sq = (mean_q - mean_p) ** 2 * jnp.exp(-log_var_p)
    return 0.5 * jnp.sum(log_var_p - log_var_q + ratio + sq - 1.0, axis=-1)


def gaussian_kl_standard_normal(mean: Array, log_var: Array) -> Array:
    """KL(N(mean, diag(exp(log_var))) || N(0, I)) = 1/2 sum(mean^2 + var - 1 - log var).

    Kingma & Welling 2014, appendix B. Args: [..., D]. Returns: [...] nats.
    """
    return 0.5 * jnp.sum(mean**2 + jnp.exp(log_var) - 1.0 - log_var, axis=-1)
