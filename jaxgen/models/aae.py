"""Adversarial autoencoder (Makhzani et al. 2016, "Adversarial Autoencoders").

A deterministic encoder z = E(x) and a decoder p(x|z) are trained on the
reconstruction loss, while a discriminator on codes matches the aggregated
posterior q(z) to a prior p(z): prior samples are "real", codes are "fake",
and the encoder is the generator of the adversarial game. Priors: 'gaussian'
N(0, I); 'mixture' of 10 Gaussians with means on a circle in the first two
code dimensions (the paper's Fig. 4). With `label_prior`, the discriminator
also sees the one-hot label and a prior sample for label y comes from
component y, so each class is pushed into its own component (Fig. 6).

params = {'generator': {'params': {encoder, decoder}}, 'discriminator': ...}.
"""

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen import rng as rng_lib
from jaxgen.losses import adversarial as adv
from jaxgen.losses import likelihoods
from jaxgen.nn import MLP

Array = jax.Array
PRIORS = ("gaussian", "mixture")


class Autoencoder(nn.Module):
    data_shape: tuple[int, ...]
    code_dim: int
    hidden: tuple[int, ...] = (512, 512)

    def setup(self):
        self.encoder = MLP((*self.hidden, self.code_dim))
        self.decoder = MLP((*reversed(self.hidden), math.prod(self.data_shape)))

    def encode(self, x: Array) -> Array:
        return self.encoder(x)  # [B, code_dim]

    def decode(self, z: Array) -> Array:
        return self.decoder(z).reshape(z.shape[0], *self.data_shape)  # Bernoulli logits [B, ...]

    def __call__(self, x: Array) -> Array:
        return self.decode(self.encode(x))


def mixture_means(num_components: int, code_dim: int, radius: float) -> Array:
    """[K, code_dim] means on a circle of `radius` in the first two dimensions."""
    angles = 2.0 * math.pi * jnp.arange(num_components) / num_components
    circle = radius * jnp.stack([jnp.cos(angles), jnp.sin(angles)], -1)
    return jnp.pad(circle, ((0, 0), (0, code_dim - 2)))


@dataclasses.dataclass(frozen=True)
class AAE:
    autoencoder: Autoencoder
    discriminator: nn.Module  # nets.Discriminator on codes, conditioning 'concat' when label_prior
    prior: str = "gaussian"
    num_components: int = 10
    mixture_radius: float = 4.0
    mixture_std: float = 0.5
    label_prior: bool = False
    loss: str = "nonsaturating"
    adversarial_weight: float = 1.0

    @property
    def code_dim(self) -> int:
        return self.autoencoder.code_dim

    def init(self, key: Array, batch: dict) -> dict:
        k_ae, k_d = jax.random.split(key)
        z = jnp.zeros((2, self.code_dim))
        labels = batch["label"][:2] if self.label_prior else None
        return {"generator": self.autoencoder.init(k_ae, batch["x"][:2]),
                "discriminator": self.discriminator.init(k_d, z, labels, update_stats=True)}

    def prior_sample(self, key: Array, index: Array, labels: Array | None = None) -> Array:
        """One prior draw per example, [B, code_dim]; component = label with label_prior."""
        eps = rng_lib.example_normal(rng_lib.stream(key, "eps"), index, (self.code_dim,))
        if self.prior == "gaussian":
            return eps
        if labels is None:
            keys = rng_lib.example_keys(rng_lib.stream(key, "component"), index)
            labels = jax.vmap(lambda k: jax.random.randint(k, (), 0, self.num_components))(keys)
        means = mixture_means(self.num_components, self.code_dim, self.mixture_radius)
        return means[labels] + self.mixture_std * eps

    def discriminator_output(self, params, z, labels):
        """[B] discriminator outputs on codes z [B, code_dim] (no statistics update)."""
        return self.discriminator.apply(params["discriminator"], z, labels, update_stats=False)

    def _labels(self, batch):
        return batch["label"] if self.label_prior else None

    def reconstruction(self, params: dict, x: Array) -> tuple[Array, Array]:
        """(codes [B, Z], -log p(x | z) in nats [B]); grey values give the cross-entropy."""
        z = self.autoencoder.apply(params["generator"], x, method=Autoencoder.encode)
        logits = self.autoencoder.apply(params["generator"], z, method=Autoencoder.decode)
        return z, -likelihoods.bernoulli_log_prob(x, logits, event_ndims=x.ndim - 1)

    def d_loss(self, params, batch, key, axis_name=None):
        labels = self._labels(batch)
        codes = jax.lax.stop_gradient(self.autoencoder.apply(params["generator"], batch["x"], method=Autoencoder.encode))
        prior = self.prior_sample(key, batch["index"], labels)
        out_real, out_fake = self.discriminator_output(params, prior, labels), self.discriminator_output(params, codes, labels)
        loss = jnp.mean(adv.D_LOSSES[self.loss](out_real, out_fake))
        return loss, ({"d_loss": loss, "d_real": jnp.mean(out_real), "d_fake": jnp.mean(out_fake)}, params)

    def g_loss(self, params, batch, key, axis_name=None):
        codes, nll = self.reconstruction(params, batch["x"])
        adversarial = adv.G_LOSSES[self.loss](self.discriminator_output(params, codes, self._labels(batch)))
        loss = jnp.mean(nll + self.adversarial_weight * adversarial)
        return loss, ({"g_loss": loss, "reconstruction": jnp.mean(nll), "g_adversarial": jnp.mean(adversarial)},
                      params)

    def decode(self, params: dict, z: Array) -> Array:
        """Codes -> images in [0, 1] (Bernoulli means)."""
        return jax.nn.sigmoid(self.autoencoder.apply(params["generator"], z, method=Autoencoder.decode))

    def sample(self, params: dict, key: Array, n: int, labels: Array | None = None) -> Array:
        """n decoded prior samples; a label prior cycles its components 0, 1, ... unless `labels` are given."""
        if labels is not None and not self.label_prior:
            raise ValueError("labels were given to an AAE without a label prior")
        if labels is None and self.label_prior and self.prior == "mixture":
            labels = jnp.arange(n) % self.num_components
        return self.decode(params, self.prior_sample(key, jnp.arange(n), labels))
