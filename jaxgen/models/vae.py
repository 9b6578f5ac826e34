"""Variational autoencoder (Kingma & Welling 2014): networks, the negative-ELBO
loss, the importance-weighted evaluation bound (Burda et al. 2016) and sampling.

Batches are dicts with 'x' [B, H, W, C] in [0, 1] and 'index' [B] (global
example positions, from which per-example noise keys are folded).
"""

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen import rng as rng_lib
from jaxgen.losses import bounds, divergences, likelihoods
from jaxgen.models.observations import Observation
from jaxgen.nn import MLP, ConvDecoder, ConvEncoder

Array = jax.Array
ACTIVATIONS = {"relu": nn.relu, "gelu": nn.gelu, "tanh": jnp.tanh, "softplus": nn.softplus, "elu": nn.elu}


def encoder_decoder(architecture: str, activation: str, data_shape: tuple[int, int, int], out_channels: int,
                    code_width: int, hidden: Sequence[int], channels: Sequence[int]) -> tuple[nn.Module, nn.Module]:
    """The encoder (x -> [B, code_width]) and decoder (code -> observation parameters, flat for
    'mlp', [B, H, W, out_channels] for 'conv') of the VAE and the autoencoder; called in setup."""
    act = ACTIVATIONS[activation]
    h, w, _ = data_shape
    if architecture == "mlp":
        return MLP((*hidden, code_width), act), MLP((*reversed(hidden), h * w * out_channels), act)
    if architecture == "conv":
        scale = 2 ** len(channels)
        return (nn.Sequential([ConvEncoder(channels, act), nn.Dense(code_width)]),
                ConvDecoder((h // scale, w // scale), tuple(reversed(channels)), out_channels, act))
    raise ValueError(f"unknown architecture {architecture!r}")


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
    num_classes: int = 0  # > 0: a conditional VAE (Sohn et al. 2015), labels into encoder and decoder

    def setup(self):
        self.encoder_net, self.decoder_net = encoder_decoder(
            self.architecture, self.activation, self.data_shape, self.out_channels, 2 * self.latent_dim, self.hidden,
            self.channels)

    def _one_hot(self, labels: Array | None, n: int) -> Array | None:
        if self.num_classes == 0:
            return None
        if labels is None:
            raise ValueError("a conditional VAE needs labels")
        return jnp.broadcast_to(jax.nn.one_hot(labels, self.num_classes), (n, self.num_classes))

    def encode(self, x: Array, labels: Array | None = None) -> tuple[Array, Array]:
        """[B, H, W, C] (and labels [B] when conditional) -> mean, log_var, each [B, latent_dim].
        The label enters as a one-hot vector beside the flattened image (mlp) or as constant
        one-hot channels of the image (conv)."""
        y = self._one_hot(labels, x.shape[0])
        if y is not None and self.architecture == "mlp":
            x = jnp.concatenate([x.reshape(x.shape[0], -1), y], axis=-1)
        elif y is not None:
            x = jnp.concatenate([x, jnp.broadcast_to(y[:, None, None, :], (*x.shape[:3], y.shape[-1]))], axis=-1)
        mean, log_var = jnp.split(self.encoder_net(x), 2, axis=-1)
        return mean, jnp.clip(log_var, -20.0, 10.0)

    def decode(self, z: Array, labels: Array | None = None) -> Array:
        """[B, latent_dim] (and labels) -> [B, H, W, out_channels] observation parameters."""
        y = self._one_hot(labels, z.shape[0])
        zy = z if y is None else jnp.concatenate([z, y], axis=-1)
        return self.decoder_net(zy).reshape(z.shape[0], *self.data_shape[:2], self.out_channels)

    def __call__(self, x: Array, labels: Array | None = None) -> Array:
        mean, _ = self.encode(x, labels)
        return self.decode(mean, labels)


def init_params(model: VAE, key: Array, batch: dict) -> dict:
    """Initialise from the shapes of one batch."""
    return model.init(key, batch["x"][:1], batch["label"][:1] if model.num_classes else None)


def log_normal(z: Array, mean: Array, log_var: Array) -> Array:
    """log N(z; mean, diag(exp(log_var))), summed over the last axis."""
    return likelihoods.gaussian_log_prob(z, mean, 0.5 * log_var, event_ndims=1)


def _labels(model: VAE, batch: dict) -> Array | None:
    return batch["label"] if model.num_classes else None


def _log_weights(model: VAE, obs: Observation, params, x: Array, labels, mean: Array, log_var: Array,
                 eps: Array) -> tuple[Array, Array]:
    """log w = log p(x | z) + log p(z) - log q(z | x) and log p(x | z), [c, B] each, for
    z = mean + sigma * eps with eps [c, B, D]."""
    c, bsz = eps.shape[:2]
    z = mean + jnp.exp(0.5 * log_var) * eps
    rep = lambda a: None if a is None else jnp.broadcast_to(a, (c, *a.shape)).reshape(c * bsz, *a.shape[1:])
    out = model.apply(params, z.reshape(c * bsz, -1), rep(labels), method=VAE.decode)
    log_lik = obs.log_prob(rep(x), out).reshape(c, bsz)
    return log_lik + log_normal(z, 0.0, 0.0) - log_normal(z, mean, log_var), log_lik


def _example_noise(keys: Array, j, count: int, dim: int) -> Array:
    """[count, B, dim] standard normals from the per-example keys, chunk j."""
    eps = jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, j), (count, dim)))(keys)
    return jnp.swapaxes(eps, 0, 1)


def make_loss_fn(model: VAE, obs: Observation, beta: float = 1.0, iwae_samples: int = 1) -> Callable:
    """The training objective: loss_fn(params, batch, rng) -> (loss, metrics).

    iwae_samples = 1: the negative ELBO with one reparameterised sample and analytic KL,
    loss = mean_b [-log p(x|z) + beta KL]; beta = 1 is the VAE, beta != 1 the beta-VAE
    (Higgins et al. 2017). iwae_samples = k > 1: the negative importance-weighted bound L_k
    (Burda et al. 2016), log (1/k) sum_i p(x, z_i) / q(z_i | x), as the objective (beta unused).
    A conditional VAE (model.num_classes > 0) reads batch['label'].
    """

    def loss_fn(params, batch, rng):
        x, labels = batch["x"], _labels(model, batch)  # [B, H, W, C]
        mean, log_var = model.apply(params, x, labels, method=VAE.encode)
        kl = divergences.gaussian_kl_standard_normal(mean, log_var)  # [B]
        if iwae_samples > 1:
            eps = _example_noise(rng_lib.example_keys(rng, batch["index"]), 0, iwae_samples, mean.shape[-1])
            log_w, log_lik = _log_weights(model, obs, params, x, labels, mean, log_var, eps)
            loss = -jnp.mean(bounds.iwae_bound(log_w, axis=0))
            log_lik = jnp.mean(log_lik, axis=0)
        else:
            eps = rng_lib.example_normal(rng, batch["index"], mean.shape[1:])
            z = mean + jnp.exp(0.5 * log_var) * eps  # [B, D]
            log_lik = obs.log_prob(x, model.apply(params, z, labels, method=VAE.decode))  # [B]
            loss = jnp.mean(-log_lik + beta * kl)
        elbo = bounds.elbo(log_lik, kl)
        return loss, {"loss": loss, "elbo": jnp.mean(elbo), "kl": jnp.mean(kl), "nll_recon": -jnp.mean(log_lik)}

    return loss_fn


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
        x, labels = batch["x"], _labels(model, batch)
        mean, log_var = model.apply(params, x, labels, method=VAE.encode)  # [B, D]
        keys = rng_lib.example_keys(rng, batch["index"])

        def log_weights(j):
            eps = _example_noise(keys, j, chunk, mean.shape[1])  # [c, B, D]
            return _log_weights(model, obs, params, x, labels, mean, log_var, eps)

        iwae, mean_log_lik = bounds.iwae_bound_chunked(log_weights, num_chunks, x.shape[0])
        elbo = mean_log_lik - divergences.gaussian_kl_standard_normal(mean, log_var)
        return {"elbo": elbo, "iwae": iwae}

    return bound_fn


def make_sample_fn(model: VAE, obs: Observation) -> Callable:
    """sample_fn(params, key, n, labels=None) -> [n, H, W, C] decoder means E[x | z, y],
    z ~ N(0, I); a conditional VAE draws sample i of class labels[i]."""

    def sample_fn(params, key, n, labels=None):
        z = jax.random.normal(key, (n, model.latent_dim))
        return obs.mean(model.apply(params, z, labels, method=VAE.decode))

    return sample_fn


def make_reconstruct_fn(model: VAE, obs: Observation) -> Callable:
    """reconstruct_fn(params, x, labels=None) -> E[x | z = mean of q(z|x)], [B, H, W, C]."""

    def reconstruct_fn(params, x, labels=None):
        return obs.mean(model.apply(params, x, labels))

    return reconstruct_fn
