"""Variational autoencoder (Kingma & Welling 2014): networks, the negative-ELBO
loss, the importance-weighted evaluation bound (Burda et al. 2016) and sampling.

Batches are dicts with 'x' [B, H, W, C] in [0, 1] and 'index' [B] (global
example positions, from which per-example noise keys are folded).
"""

import math
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen import rng as rng_lib
from jaxgen.losses import bounds, divergences
from jaxgen.models.observations import Observation
from jaxgen.nn import MLP, ConvDecoder, ConvEncoder

Array = jax.Array
ACTIVATIONS = {"relu": nn.relu, "gelu": nn.gelu, "tanh": jnp.tanh, "softplus": nn.softplus, "elu": nn.elu}


class VAE(nn.Module):
    """Gaussian encoder q(z|x) = N(mean, diag(exp(log_var))) and a decoder that
    outputs the parameters of p(x|z) ([B, H, W, out_channels]).

    architecture 'mlp' uses `hidden` widths; 'conv' uses `channels`, one stride-2
    stage each (H and W must be divisible by 2^len(channels)).
    """

    latent_dim: int
    data_shape: tuple[int, int, int]
    out_channels: int
    architecture: str = "mlp"
    hidden: Sequence[int] = (512, 512)
    channels: Sequence[int] = (32, 64)
    activation: str = "relu"

    def setup(self):
        act = ACTIVATIONS[self.activation]
        h, w, _ = self.data_shape
        if self.architecture == "mlp":
            self.encoder_net = MLP((*self.hidden, 2 * self.latent_dim), act)
            self.decoder_net = MLP((*reversed(self.hidden), h * w * self.out_channels), act)
        elif self.architecture == "conv":
            scale = 2 ** len(self.channels)
            self.encoder_net = nn.Sequential([ConvEncoder(self.channels, act), nn.Dense(2 * self.latent_dim)])
            self.decoder_net = ConvDecoder((h // scale, w // scale), tuple(reversed(self.channels)), self.out_channels, act)
        else:
            raise ValueError(f"unknown architecture {self.architecture!r}")

    def encode(self, x: Array) -> tuple[Array, Array]:
        """[B, H, W, C] -> mean, log_var, each [B, latent_dim]."""
        mean, log_var = jnp.split(self.encoder_net(x), 2, axis=-1)
        return mean, jnp.clip(log_var, -20.0, 10.0)

    def decode(self, z: Array) -> Array:
        """[B, latent_dim] -> [B, H, W, out_channels] observation parameters."""
        return self.decoder_net(z).reshape(z.shape[0], *self.data_shape[:2], self.out_channels)

    def __call__(self, x: Array) -> Array:
        mean, _ = self.encode(x)
        return self.decode(mean)


def init_params(model: VAE, key: Array, batch: dict) -> dict:
    """Initialise from the shapes of one batch."""
    return model.init(key, batch["x"][:1])


def make_loss_fn(model: VAE, obs: Observation, beta: float = 1.0) -> Callable:
    """Negative ELBO with one reparameterised sample and analytic KL.

    loss_fn(params, batch, rng) -> (loss, metrics); loss = mean_b [-log p(x|z) + beta KL].
    beta = 1 is the VAE; beta != 1 the beta-VAE (Higgins et al. 2017).
    """

    def loss_fn(params, batch, rng):
        x = batch["x"]  # [B, H, W, C]
        mean, log_var = model.apply(params, x, method=VAE.encode)
        eps = rng_lib.example_normal(rng, batch["index"], mean.shape[1:])
        z = mean + jnp.exp(0.5 * log_var) * eps  # [B, D]
        log_lik = obs.log_prob(x, model.apply(params, z, method=VAE.decode))  # [B]
        kl = divergences.gaussian_kl_standard_normal(mean, log_var)  # [B]
        elbo = bounds.elbo(log_lik, kl)
        loss = jnp.mean(-log_lik + beta * kl)
        return loss, {"loss": loss, "elbo": jnp.mean(elbo), "kl": jnp.mean(kl), "nll_recon": -jnp.mean(log_lik)}

    return loss_fn


def _log_normal(x: Array, mean: Array, log_var: Array) -> Array:
    return -0.5 * jnp.sum((x - mean) ** 2 * jnp.exp(-log_var) + log_var + math.log(2 * math.pi), axis=-1)


def make_bound_fn(model: VAE, obs: Observation, num_samples: int, chunk: int) -> Callable:
    """Per-example test bounds from `num_samples` importance samples, `chunk` at a time.

    bound_fn(params, batch, rng) -> {'elbo': [B], 'iwae': [B]} in nats, where
    'elbo' averages the reconstruction term over all samples (KL analytic) and
    'iwae' is L_k with k = num_samples. Memory is O(B * chunk * pixels), so
    k = 1000 fits; samples are folded from the example index (layout-invariant).
    """
    if num_samples % chunk:
        raise ValueError(f"eval.iwae_samples={num_samples} must be divisible by eval.iwae_chunk={chunk}")
    num_chunks = num_samples // chunk

    def bound_fn(params, batch, rng):
        x = batch["x"]
        bsz = x.shape[0]
        mean, log_var = model.apply(params, x, method=VAE.encode)  # [B, D]
        keys = rng_lib.example_keys(rng, batch["index"])

        def log_weights(j):
            eps = jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, j), (chunk, mean.shape[1])))(keys)
            eps = jnp.swapaxes(eps, 0, 1)  # [c, B, D]
            z = mean + jnp.exp(0.5 * log_var) * eps
            out = model.apply(params, z.reshape(chunk * bsz, -1), method=VAE.decode)
            x_rep = jnp.broadcast_to(x, (chunk, *x.shape)).reshape(chunk * bsz, *x.shape[1:])
            log_lik = obs.log_prob(x_rep, out).reshape(chunk, bsz)
            return log_lik + _log_normal(z, 0.0, 0.0) - _log_normal(z, mean, log_var), log_lik  # [c, B] each

        iwae, mean_log_lik = bounds.iwae_bound_chunked(log_weights, num_chunks, bsz)
        elbo = mean_log_lik - divergences.gaussian_kl_standard_normal(mean, log_var)
        return {"elbo": elbo, "iwae": iwae}

    return bound_fn


def make_sample_fn(model: VAE, obs: Observation) -> Callable:
    """sample_fn(params, key, n) -> [n, H, W, C] decoder means E[x | z], z ~ N(0, I)."""

    def sample_fn(params, key, n):
        z = jax.random.normal(key, (n, model.latent_dim))
        return obs.mean(model.apply(params, z, method=VAE.decode))

    return sample_fn


def make_reconstruct_fn(model: VAE, obs: Observation) -> Callable:
    """reconstruct_fn(params, x) -> E[x | z = mean of q(z|x)], [B, H, W, C]."""

    def reconstruct_fn(params, x):
        return obs.mean(model.apply(params, x))

    return reconstruct_fn
