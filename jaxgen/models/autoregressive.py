"""Autoregressive image models (PixelCNN, Gated PixelCNN, PixelRNN): p(x) = prod_i p(x_i | x_<i) in raster
order, channels in order within a pixel. The exact log-likelihood is one network pass; sampling
draws one value at a time.

A network maps x [B, H, W, C] in [0, 1] (and labels [B] for a conditional one) to the
parameters [B, H, W, K * C] of an observation model (jaxgen/models/observations.py). Its
`steps` object (e.g. `jaxgen.nn.pixelcnn.PixelCNNSteps`) computes the same outputs one pixel at
a time from caches, for the fast sampler.

Both samplers draw value (a, b, c) with the key fold_in(key, (a * W + b) * C + c) from the
parameters of pixel (a, b), through `obs.sample` on a [n, 1, 1, K * C] slice: for the same key
they return the same samples (up to float rounding of the two computations of the parameters).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxgen.models.observations import Observation

Array = jax.Array


def make_log_prob_fn(net, obs: Observation, conditional: bool) -> Callable:
    """log_prob_fn(params, batch) -> [B] exact log p(x) in nats (given the label when conditional)."""

    def log_prob_fn(params, batch):
        labels = batch["label"] if conditional else None
        return obs.log_prob(batch["x"], net.apply(params, batch["x"], labels))

    return log_prob_fn


def make_loss_fn(net, obs: Observation, conditional: bool) -> Callable:
    """loss_fn(params, batch, rng) -> (mean negative log-likelihood in nats, metrics)."""
    log_prob = make_log_prob_fn(net, obs, conditional)

    def loss_fn(params, batch, rng):
        del rng  # deterministic given the batch (dynamic binarisation happens in the data)
        nll = -log_prob(params, batch)
        loss = jnp.mean(nll)
        dims = batch["x"][0].size
        return loss, {"loss": loss, "nll": loss, "bits_per_dim": loss / (dims * jnp.log(2.0))}

    return loss_fn


def _draw(obs: Observation, key: Array, out: Array, a, b, c, width: int, channels: int) -> Array:
    """Value (a, b, c), [n], from the parameters out [n, K * C] of pixel (a, b)."""
    k = jax.random.fold_in(key, (a * width + b) * channels + c)
    return obs.sample(k, out[:, None, None, :])[:, 0, 0, c]


def make_naive_sample_fn(net, obs: Observation, shape: tuple[int, int, int]) -> Callable:
    """sample_fn(params, key, n, labels=None) -> [n, H, W, C]: the whole network on the whole
    image once per value drawn (H * W * C passes)."""
    h, w, c = shape

    def sample_fn(params, key, n, labels=None):
        def body(t, x):
            a, b, ch = t // (w * c), (t // c) % w, t % c
            out = net.apply(params, x, labels)[:, a, b]  # [n, K * C]
            return x.at[:, a, b, ch].set(_draw(obs, key, out, a, b, ch, w, c))

        return lax.fori_loop(0, h * w * c, body, jnp.zeros((n, h, w, c)))

    return sample_fn


def make_fast_sample_fn(steps: Any, obs: Observation, shape: tuple[int, int, int]) -> Callable:
    """sample_fn(params, key, n, labels=None) -> [n, H, W, C]: every layer computed once per
    pixel from per-layer caches (`steps.init / row / pixel / write`); the same samples as
    `make_naive_sample_fn` for the same key."""
    h, w, c = shape

    def sample_fn(params, key, n, labels=None):
        def pixel(b, carry, a):
            cache, x = carry
            for ch in range(c):  # later channels of the pixel see the earlier ones
                cache, out = steps.pixel(params, cache, labels, a, b)
                x = x.at[:, a, b, ch].set(_draw(obs, key, out, a, b, ch, w, c))
                cache = steps.write(cache, a, b, x[:, a, b])
            return cache, x

        def row(a, carry):
            cache, x = carry
            cache = steps.row(params, cache, labels, a)
            return lax.fori_loop(0, w, lambda b, cr: pixel(b, cr, a), (cache, x))

        init = (steps.init(params, n, labels), jnp.zeros((n, h, w, c)))
        return lax.fori_loop(0, h, row, init)[1]

    return sample_fn
