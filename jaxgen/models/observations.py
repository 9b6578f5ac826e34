"""Observation models p(x | network output): a table from name to log-prob,
sampler and mean, shared by every family whose decoder outputs pixels."""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxgen.losses import likelihoods

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class Observation:
    """How a network output of `params_per_channel * C` channels parameterises p(x)."""

    name: str
    params_per_channel: int
    log_prob: Callable[[Array, Array], Array]  # (x [B,H,W,C], out) -> [B]
    sample: Callable[[Array, Array], Array]  # (key, out) -> x
    mean: Callable[[Array], Array]  # out -> E[x], clipped to [0, 1]


def _split(out: Array) -> tuple[Array, Array]:
    loc, log_scale = jnp.split(out, 2, axis=-1)
    return loc, jnp.clip(log_scale, -7.0, 5.0)


def bernoulli() -> Observation:
    return Observation(
        name="bernoulli",
        params_per_channel=1,
        log_prob=lambda x, out: likelihoods.bernoulli_log_prob(x, out),
        sample=lambda key, out: jax.random.bernoulli(key, jax.nn.sigmoid(out)).astype(jnp.float32),
        mean=jax.nn.sigmoid,
    )


def gaussian() -> Observation:
    def log_prob(x, out):
        loc, log_scale = _split(out)
        return likelihoods.gaussian_log_prob(x, loc, log_scale)

    def sample(key, out):
        loc, log_scale = _split(out)
        return jnp.clip(loc + jnp.exp(log_scale) * jax.random.normal(key, loc.shape), 0.0, 1.0)

    return Observation("gaussian", 2, log_prob, sample, lambda out: jnp.clip(_split(out)[0], 0.0, 1.0))


def discretized_logistic(num_bins: int) -> Observation:
    def log_prob(x, out):
        loc, log_scale = _split(out)
        return likelihoods.discretized_logistic_log_prob(x, loc, log_scale, num_bins)

    def sample(key, out):
        loc, log_scale = _split(out)
        u = jax.random.uniform(key, loc.shape, minval=1e-5, maxval=1.0 - 1e-5)
        x = loc + jnp.exp(log_scale) * (jnp.log(u) - jnp.log1p(-u))
        return jnp.round(jnp.clip(x, 0.0, 1.0) * (num_bins - 1)) / (num_bins - 1)

    return Observation(
        f"discretized_logistic({num_bins})", 2, log_prob, sample, lambda out: jnp.clip(_split(out)[0], 0.0, 1.0)
    )


def _by_parameter(out: Array, k: int) -> Array:
    """[..., k * C] (parameter-major: all channels' first parameter, then the second, ...)
    -> [..., C, k]."""
    return jnp.moveaxis(out.reshape(*out.shape[:-1], k, out.shape[-1] // k), -2, -1)


def categorical(num_bins: int) -> Observation:
    """A softmax over the `num_bins` levels of each value (PixelCNN's 256-way output)."""
    levels = jnp.arange(num_bins, dtype=jnp.float32) / (num_bins - 1)

    def log_prob(x, out):
        return likelihoods.categorical_log_prob(jnp.round(x * (num_bins - 1)), _by_parameter(out, num_bins))

    def sample(key, out):
        return jax.random.categorical(key, _by_parameter(out, num_bins)).astype(jnp.float32) / (num_bins - 1)

    def mean(out):
        return jnp.sum(jax.nn.softmax(_by_parameter(out, num_bins)) * levels, axis=-1)

    return Observation(f"categorical({num_bins})", num_bins, log_prob, sample, mean)


def logistic_mixture(num_bins: int, components: int) -> Observation:
    """A mixture of `components` discretised logistics per value (PixelCNN++, Salimans et al. 2017):
    per channel, mixture logits, locations and log scales."""

    def split(out):
        w, loc, log_scale = jnp.split(_by_parameter(out, 3 * components), 3, axis=-1)  # [..., C, M] each
        return w, loc, jnp.clip(log_scale, -7.0, 5.0)

    def log_prob(x, out):
        return likelihoods.discretized_logistic_mixture_log_prob(x, *split(out), num_bins)

    def sample(key, out):
        w, loc, log_scale = split(out)
        pick_key, noise_key = jax.random.split(key)
        m = jax.random.categorical(pick_key, w)[..., None]
        loc, log_scale = (jnp.take_along_axis(a, m, axis=-1)[..., 0] for a in (loc, log_scale))
        u = jax.random.uniform(noise_key, loc.shape, minval=1e-5, maxval=1.0 - 1e-5)
        x = loc + jnp.exp(log_scale) * (jnp.log(u) - jnp.log1p(-u))
        return jnp.round(jnp.clip(x, 0.0, 1.0) * (num_bins - 1)) / (num_bins - 1)

    def mean(out):
        w, loc, _ = split(out)
        return jnp.sum(jax.nn.softmax(w) * jnp.clip(loc, 0.0, 1.0), axis=-1)

    return Observation(f"logistic_mixture({num_bins}, {components})", 3 * components, log_prob, sample, mean)


def make(name: str, num_bins: int | None, components: int = 5) -> Observation:
    """Build an observation model by name (NAMES); `components`: mixture size of 'logistic_mixture'.

    The network output has `params_per_channel * C` channels, parameter-major ([..., k * C]:
    every channel's first parameter, then every channel's second, ...)."""
    if name == "bernoulli":
        return bernoulli()
    if name == "gaussian":
        return gaussian()
    if name == "discretized_logistic":
        if not num_bins:
            raise ValueError("model.likelihood='discretized_logistic' needs data with a known number of grey levels")
        return discretized_logistic(num_bins)
    if name in ("categorical", "logistic_mixture"):
        if not num_bins:
            raise ValueError(f"model.likelihood={name!r} needs data with a known number of grey levels")
        return categorical(num_bins) if name == "categorical" else logistic_mixture(num_bins, components)
    raise ValueError(f"unknown likelihood {name!r}; expected one of {NAMES}")


NAMES = ("bernoulli", "gaussian", "discretized_logistic", "categorical", "logistic_mixture")
