"""Autoencoders and denoising autoencoders (Vincent et al. 2008): a deterministic code
z = f(x~) of a corrupted input x~ ~ C(x~ | x), a decoder g(z) that parameterises an
observation model, and the reconstruction loss -log p(x | g(f(x~))) of the clean x.

Corruptions (pure, per example, noise from the example's key):
  'none'            x~ = x (a plain autoencoder)
  'gaussian'        x~ = x + sigma eps, eps ~ N(0, I)
  'masking'         each value set to 0 with probability p
  'salt_and_pepper' each value set to 0 or 1 (equally likely) with probability p

Batches are dicts with 'x' [B, H, W, C] in [0, 1] and 'index' [B].
"""

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen import rng as rng_lib
from jaxgen.models.observations import Observation
from jaxgen.models.vae import encoder_decoder

Array = jax.Array
CORRUPTIONS = ("none", "gaussian", "masking", "salt_and_pepper")


def corrupt(key: Array, x: Array, kind: str, level: float) -> Array:
    """One example (or a batch sharing `key`) corrupted by `kind` at `level` (sigma or p)."""
    if kind == "none" or level == 0.0:
        return x
    if kind == "gaussian":
        return x + level * jax.random.normal(key, x.shape)
    hit_key, value_key = jax.random.split(key)
    hit = jax.random.bernoulli(hit_key, level, x.shape)
    if kind == "masking":
        return jnp.where(hit, 0.0, x)
    if kind == "salt_and_pepper":
        return jnp.where(hit, jax.random.bernoulli(value_key, 0.5, x.shape).astype(x.dtype), x)
    raise ValueError(f"unknown corruption {kind!r}; expected one of {CORRUPTIONS}")


def corrupt_batch(key: Array, index: Array, x: Array, kind: str, level: float) -> Array:
    """x [B, ...] corrupted with one key per example folded from its stream position `index`."""
    return jax.vmap(lambda k, v: corrupt(k, v, kind, level))(rng_lib.example_keys(key, index), x)


class Autoencoder(nn.Module):
    """x [B, H, W, C] -> code [B, code_dim] -> observation parameters [B, H, W, out_channels];
    'mlp' (hidden widths) or 'conv' (stride-2 channels, sub-pixel decoder) as the VAE."""

    code_dim: int
    data_shape: tuple[int, int, int]
    out_channels: int
    architecture: str = "mlp"
    hidden: Sequence[int] = (512, 256)
    channels: Sequence[int] = (32, 64)
    activation: str = "relu"

    def setup(self):
        self.encoder, self.decoder = encoder_decoder(self.architecture, self.activation, self.data_shape,
                                                     self.out_channels, self.code_dim, self.hidden, self.channels)

    def encode(self, x: Array) -> Array:
        return self.encoder(x)

    def decode(self, z: Array) -> Array:
        return self.decoder(z).reshape(z.shape[0], *self.data_shape[:2], self.out_channels)

    def __call__(self, x: Array) -> Array:
        return self.decode(self.encode(x))


def make_loss_fn(model: Autoencoder, obs: Observation, corruption: str = "none", level: float = 0.0) -> Callable:
    """loss_fn(params, batch, rng) -> (mean_b -log p(x_b | g(f(x~_b))), metrics): the clean x is
    reconstructed from its corrupted copy (a plain autoencoder when corruption='none')."""

    def loss_fn(params, batch, rng):
        x = batch["x"]
        noisy = corrupt_batch(rng_lib.stream(rng, "corruption"), batch["index"], x, corruption, level)
        nll = -obs.log_prob(x, model.apply(params, noisy))  # [B]
        loss = jnp.mean(nll)
        return loss, {"loss": loss, "nll_recon": loss}

    return loss_fn


def make_reconstruction_error_fn(model: Autoencoder, obs: Observation, corruption: str, level: float) -> Callable:
    """(params, batch, key) -> {'recon_nll': [B], 'recon_mse': [B], and for a DAE the same of the
    corrupted input ('denoise_nll', 'denoise_mse')}: test-split monitors."""

    def fn(params, batch, key):
        x = batch["x"]
        out = model.apply(params, x)
        res = {"recon_nll": -obs.log_prob(x, out), "recon_mse": jnp.mean((obs.mean(out) - x) ** 2, axis=(1, 2, 3))}
        if corruption != "none":
            noisy = corrupt_batch(key, batch["index"], x, corruption, level)
            out = model.apply(params, noisy)
            res["denoise_nll"] = -obs.log_prob(x, out)
            res["denoise_mse"] = jnp.mean((obs.mean(out) - x) ** 2, axis=(1, 2, 3))
        return res

    return fn
