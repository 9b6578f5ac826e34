"""Diffusion objectives, pure and per example, on the variance-preserving process
x_t = alpha_t x_0 + sigma_t eps (jaxgen.losses.schedules), SNR = alpha_t^2 / sigma_t^2.

A denoiser predicts eps, x_0 or v = alpha_t eps - sigma_t x_0 (Salimans & Ho 2022); whichever
it predicts, the loss is a weighted squared error that can be written in eps-space:
  weighting 'eps'       ||eps - eps_hat||^2                       (Ho et al.'s L_simple)
  weighting 'x0'        ||x_0 - x0_hat||^2 = ||eps - eps_hat||^2 / SNR
  weighting 'v'         ||v - v_hat||^2    = ||eps - eps_hat||^2 (1 + 1 / SNR)
  weighting 'min_snr'   min(SNR, gamma) ||x_0 - x0_hat||^2 (Hang et al. 2023, gamma = 5)
(mean over the example's dimensions). The variational bound L_vlb of a discrete schedule sums
KL(q(x_{i-1} | x_i, x_0) || p(x_{i-1} | x_i)) over i = 2..T, the prior term
KL(q(x_T | x_0) || N(0, I)) and the discretised Gaussian decoder -log p(x_0 | x_1); the hybrid
objective (Nichol & Dhariwal 2021) adds lambda L_vlb with the mean's gradient stopped to train
learned variances.
"""

import jax
import jax.numpy as jnp

from jaxgen.losses.divergences import gaussian_kl
from jaxgen.losses.likelihoods import discretized_gaussian_log_prob

Array = jax.Array
PREDICTIONS = ("eps", "x0", "v")
WEIGHTINGS = ("eps", "x0", "v", "min_snr")


def _expand(v: Array, like: Array) -> Array:
    v = jnp.asarray(v)
    return jnp.reshape(v, v.shape + (1,) * (like.ndim - v.ndim))


def to_x0_eps(prediction: str, out: Array, x_t: Array, alpha: Array, sigma: Array) -> tuple[Array, Array]:
    """(x0_hat, eps_hat) from a network output that predicts `prediction`; alpha, sigma [B]."""
    a, s = _expand(alpha, x_t), _expand(sigma, x_t)
    if prediction == "eps":
        return (x_t - s * out) / a, out
    if prediction == "x0":
        return out, (x_t - a * out) / s
    if prediction == "v":
        return a * x_t - s * out, s * x_t + a * out
    raise ValueError(f"prediction {prediction!r}: expected one of {PREDICTIONS}")


def loss_weight(weighting: str, log_snr: Array, gamma: float = 5.0) -> Array:
    """The factor w(SNR) that turns ||eps - eps_hat||^2 into the named loss."""
    snr = jnp.exp(log_snr)
    if weighting == "eps":
        return jnp.ones_like(snr)
    if weighting == "x0":
        return 1.0 / snr
    if weighting == "v":
        return 1.0 + 1.0 / snr
    if weighting == "min_snr":
        return jnp.minimum(snr, gamma) / snr
    raise ValueError(f"loss weighting {weighting!r}: expected one of {WEIGHTINGS}")


def denoising_loss(prediction: str, weighting: str, out: Array, x0: Array, eps: Array, alpha: Array,
                   sigma: Array) -> Array:
    """[B] w(SNR) mean_d (eps - eps_hat)^2 for a network output `out` at x_t = alpha x0 + sigma eps."""
    x_t = _expand(alpha, x0) * x0 + _expand(sigma, x0) * eps
    _, eps_hat = to_x0_eps(prediction, out, x_t, alpha, sigma)
    mse = jnp.mean(((eps - eps_hat) ** 2).reshape(x0.shape[0], -1), axis=-1)
    return loss_weight(weighting, 2.0 * (jnp.log(alpha) - jnp.log(sigma))) * mse


def learned_log_variance(v: Array, log_beta: Array, log_beta_tilde: Array) -> Array:
    """Nichol & Dhariwal's interpolation log Sigma = u log beta + (1 - u) log beta_tilde, with the
    network's output v in [-1, 1] mapped to u = (v + 1) / 2 (log_beta, log_beta_tilde broadcast to v)."""
    u = (v + 1.0) / 2.0
    return u * log_beta + (1.0 - u) * log_beta_tilde


def vlb_term(post_mean: Array, post_log_var: Array, model_mean: Array, model_log_var: Array) -> Array:
    """[B] KL(q(x_{i-1} | x_i, x_0) || p(x_{i-1} | x_i)) in nats, summed over the dimensions."""
    b = post_mean.shape[0]
    flat = lambda a: jnp.broadcast_to(a, post_mean.shape).reshape(b, -1)
    return gaussian_kl(flat(post_mean), flat(post_log_var), flat(model_mean), flat(model_log_var))


def prior_term(x0: Array, alpha_T: Array, sigma_T: Array) -> Array:
    """[B] KL(q(x_T | x_0) || N(0, I)) in nats."""
    mean = _expand(alpha_T, x0) * x0
    log_var = jnp.broadcast_to(_expand(2.0 * jnp.log(sigma_T), x0), x0.shape)
    return vlb_term(mean, log_var, jnp.zeros_like(x0), jnp.zeros_like(x0))


def decoder_nll(x0_levels: Array, model_mean: Array, model_log_var: Array, num_bins: int) -> Array:
    """[B] -log p(x_0 | x_1) of the stored levels x0_levels in [0, 1] (k / (B - 1)) under a
    Gaussian of mean model_mean and variance exp(model_log_var) on the model's [-1, 1] scale,
    discretised into the levels' bins (the first and last open-ended)."""
    mean01 = (model_mean + 1.0) / 2.0  # [-1, 1] -> [0, 1]: the scale halves, log sigma drops log 2
    log_scale01 = jnp.broadcast_to(0.5 * model_log_var - jnp.log(2.0), model_mean.shape)
    return -discretized_gaussian_log_prob(x0_levels, mean01, log_scale01, num_bins, event_ndims=x0_levels.ndim - 1)
