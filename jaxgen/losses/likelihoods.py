"""Observation log-likelihoods, summed over event dimensions, and bits/dim."""

import math

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular

Array = jax.Array


def _sum_event(x: Array, event_ndims: int) -> Array:
    if event_ndims == 0:
        return x
    return jnp.sum(x, axis=tuple(range(-event_ndims, 0)))


def bernoulli_log_prob(x: Array, logits: Array, event_ndims: int = 3) -> Array:
    """log p(x) under independent Bernoullis with the given logits.

    log p(x) = x * log sigmoid(l) + (1 - x) * log sigmoid(-l), written as
    -softplus(-l) * x - softplus(l) * (1 - x) so that |l| = 100 stays finite.

    Args:
      x: [..., *event] values in {0, 1} (values in [0, 1] give the
        cross-entropy, which is not a normalised likelihood).
      logits: same shape as x.
      event_ndims: how many trailing axes form one event (summed).

    Returns:
      [...] log-probabilities in nats.
    """
    log_p = -(x * jax.nn.softplus(-logits) + (1.0 - x) * jax.nn.softplus(logits))
    return _sum_event(log_p, event_ndims)


def gaussian_log_prob(x: Array, mean: Array, log_scale: Array, event_ndims: int = 3) -> Array:
    """log N(x; mean, exp(log_scale)^2), diagonal, summed over the event axes.

    A density, not a probability: on 8-bit data it is not comparable to a
    discrete likelihood unless the data are dequantised (uniform noise).

    Args:
      x, mean: [..., *event].
      log_scale: broadcastable to x; log standard deviation.
      event_ndims: trailing axes summed.
    """
    z = (x - mean) * jnp.exp(-log_scale)
    log_p = -0.5 * (z**2 + math.log(2.0 * math.pi)) - log_scale
    return _sum_event(log_p, event_ndims)


def mvn_log_prob(x: Array, mean: Array, scale_tril: Array) -> Array:
    """log N(x; mean, L L^T), full covariance given by its lower Cholesky factor L.

    log p = -|L^{-1}(x - mean)|^2 / 2 - sum(log diag L) - D/2 log(2 pi).

    Args:
      x: [..., D]; mean: [D] (or broadcastable); scale_tril: [D, D] lower triangular.

    Returns:
      [...] log densities.
    """
    d = x.shape[-1]
    diff = (x - mean).reshape(-1, d)
    z = solve_triangular(scale_tril, diff.T, lower=True)  # [D, N]
    log_det = jnp.sum(jnp.log(jnp.abs(jnp.diagonal(scale_tril))))
    log_p = -0.5 * jnp.sum(z * z, 0) - log_det - 0.5 * d * math.log(2.0 * math.pi)
    return log_p.reshape(x.shape[:-1])


def discretized_logistic_log_prob(
    x: Array,
    loc: Array,
    log_scale: Array,
    num_bins: int = 256,
    event_ndims: int = 3,
) -> Array:
    """log P(x) of a logistic discretised into `num_bins` equal bins on [0, 1].

    Salimans et al. 2017 (PixelCNN++), Kingma et al. 2016 (IAF): the data value
    k / (num_bins - 1) owns the bin of half-width 1 / (2 (num_bins - 1)); the
    first and last bins extend to -inf and +inf, so probabilities sum to 1.

    Args:
      x: [..., *event] values in {0, 1/(n-1), ..., 1}.
      loc: same shape; the logistic location on the [0, 1] scale.
      log_scale: broadcastable to x; log of the logistic scale.
      num_bins: number of grey levels n (256 for 8-bit images).
      event_ndims: trailing axes summed.
    """
    if num_bins < 2:
        raise ValueError(f"num_bins must be >= 2, got {num_bins}")
    half_bin = 0.5 / (num_bins - 1)
    inv_scale = jnp.exp(-log_scale)
    centered = x - loc
    upper = inv_scale * (centered + half_bin)
    lower = inv_scale * (centered - half_bin)
    # log(F(u) - F(l)) = log(sigmoid(a) - sigmoid(b)) with the arguments
    # mirrored so that b <= 0 (F(u) - F(l) = sigmoid(-l) - sigmoid(-u)), then
    # log sigmoid(a) + log(1 - exp(log sigmoid(b) - log sigmoid(a))): exact in
    # both tails, no underflow and no density approximation.
    flip = centered > 0
    a = jnp.where(flip, -lower, upper)
    b = jnp.where(flip, -upper, lower)
    log_sig_a = jax.nn.log_sigmoid(a)
    log_ratio = jnp.minimum(jax.nn.log_sigmoid(b) - log_sig_a, -1e-30)
    log_delta = log_sig_a + jnp.log(-jnp.expm1(log_ratio))
    log_cdf_upper = jax.nn.log_sigmoid(upper)  # first bin: log F(upper)
    log_sf_lower = jax.nn.log_sigmoid(-lower)  # last bin: log (1 - F(lower))
    log_p = jnp.where(x < half_bin, log_cdf_upper, jnp.where(x > 1.0 - half_bin, log_sf_lower, log_delta))
    return _sum_event(log_p, event_ndims)


def discretized_logistic_mixture_log_prob(
    x: Array,
    logit_weights: Array,
    loc: Array,
    log_scale: Array,
    num_bins: int = 256,
    event_ndims: int = 3,
) -> Array:
    """log P(x) of a mixture of M discretised logistics per value (PixelCNN++ output, Salimans et
    al. 2017): log sum_m softmax(logit_weights)_m P_m(x), P_m as `discretized_logistic_log_prob`.

    Args:
      x: [..., *event] values in {0, 1/(n-1), ..., 1}.
      logit_weights, loc, log_scale: [..., *event, M] mixture logits, locations, log scales.
      num_bins: grey levels n.
      event_ndims: trailing axes of x summed.
    """
    log_components = discretized_logistic_log_prob(x[..., None], loc, log_scale, num_bins, event_ndims=0)
    log_p = jax.nn.logsumexp(jax.nn.log_softmax(logit_weights, axis=-1) + log_components, axis=-1)
    return _sum_event(log_p, event_ndims)


def categorical_log_prob(x: Array, logits: Array, event_ndims: int = 3) -> Array:
    """log P(x) of independent categoricals: log softmax(logits)[x], summed over the event axes.

    Args:
      x: [..., *event] integer classes in [0, K).
      logits: [..., *event, K].
      event_ndims: trailing axes of x summed.
    """
    log_p = jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), x[..., None].astype(jnp.int32), axis=-1)[..., 0]
    return _sum_event(log_p, event_ndims)


def bits_per_dim(nats: Array, num_dims: int) -> Array:
    """Convert a negative log-likelihood in nats per example to bits per dimension."""
    return nats / (num_dims * math.log(2.0))


def discretized_gaussian_log_prob(x: Array, mean: Array, log_scale: Array, num_bins: int = 256,
                                  event_ndims: int = 3) -> Array:
    """log P(x) of a Gaussian discretised into `num_bins` equal bins on [0, 1] (the decoder of
    Ho et al. 2020 at t = 0, on this scale): the bins of discretized_logistic_log_prob, the
    first and last extending to -inf and +inf; Phi differences in log space (log_ndtr), mirrored
    so that both tails stay exact."""
    if num_bins < 2:
        raise ValueError(f"num_bins must be >= 2, got {num_bins}")
    half_bin = 0.5 / (num_bins - 1)
    inv_scale = jnp.exp(-log_scale)
    centered = x - mean
    upper, lower = inv_scale * (centered + half_bin), inv_scale * (centered - half_bin)
    flip = centered > 0  # Phi(u) - Phi(l) = Phi(-l) - Phi(-u)
    a, b = jnp.where(flip, -lower, upper), jnp.where(flip, -upper, lower)
    log_a = jax.scipy.special.log_ndtr(a)
    log_ratio = jnp.minimum(jax.scipy.special.log_ndtr(b) - log_a, -1e-30)
    log_delta = log_a + jnp.log(-jnp.expm1(log_ratio))
    log_p = jnp.where(x < half_bin, jax.scipy.special.log_ndtr(upper),
                      jnp.where(x > 1.0 - half_bin, jax.scipy.special.log_ndtr(-lower), log_delta))
    return _sum_event(log_p, event_ndims)
