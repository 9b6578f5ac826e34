"""GANs: a generator and a discriminator bound to a loss of the zoo.

`GAN` is the objective the adversarial step kind (jaxgen/train/adversarial.py)
differentiates. params = {'generator': variables, 'discriminator': variables}
(+ 'began_k' for BEGAN); variables are Flax collections ('params' and, with
batch or spectral norm, 'batch_stats').

Data enter the networks in model space: images in [0, 1] are mapped to
[-1, 1] (the generator ends in tanh), 2-D points are used as they are.
Batch norm always normalises with the statistics of the batch at hand, also
when sampling (as the DCGAN reference code does): sample in batches of a few
dozen or more. Noise is per example, folded from each example's stream
position, so results do not depend on the device layout.
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen import rng as rng_lib
from jaxgen.losses import adversarial as adv

Array = jax.Array
LOSSES = ("minimax", "nonsaturating", "wgan", "lsgan", "hinge", "began")


def apply(module: nn.Module, variables: dict, *args, **kwargs) -> tuple[Array, dict]:
    """module.apply that also returns the variables with updated 'batch_stats'."""
    if "batch_stats" not in variables:
        return module.apply(variables, *args, **kwargs), variables
    out, updates = module.apply(variables, *args, mutable=["batch_stats"], **kwargs)
    return out, {**variables, **updates}


@dataclasses.dataclass(frozen=True)
class GAN:
    """Unconditional or label-conditional GAN with any loss and penalty of the zoo.

    loss: one of LOSSES; penalty: one of adv.PENALTIES, weighted by
    `penalty_weight` (lambda for 'gp' / 'dragan', gamma / 2 is applied for
    'r1' / 'r2', i.e. weight = gamma). BEGAN needs an AutoencoderDiscriminator.
    """

    generator: nn.Module
    discriminator: nn.Module
    latent_dim: int
    loss: str = "nonsaturating"
    penalty: str = "none"
    penalty_weight: float = 10.0
    lsgan_targets: tuple[float, float, float] = (0.0, 1.0, 1.0)  # (a, b, c)
    dragan_c: float = 0.5
    began_gamma: float = 0.5
    began_lambda_k: float = 0.001
    conditional: bool = False
    image: bool = True

    # --- spaces and networks --------------------------------------------------

    def to_model(self, x: Array) -> Array:
        return 2.0 * x - 1.0 if self.image else x

    def to_data(self, x: Array) -> Array:
        return (x + 1.0) / 2.0 if self.image else x

    def _labels(self, batch: dict) -> Array | None:
        return batch["label"] if self.conditional else None

    def init(self, key: Array, batch: dict) -> dict:
        k_g, k_d = jax.random.split(key)
        x = self.to_model(batch["x"][:2])
        labels = None if not self.conditional else batch["label"][:2]
        z = jnp.zeros((2, self.latent_dim))
        params = {
            "generator": self.generator.init(k_g, z, labels),
            "discriminator": self.discriminator.init(k_d, x, labels, update_stats=True),
        }
        if self.loss == "began":
            params["began_k"] = jnp.zeros((), jnp.float32)
        return params

    def generate(self, g_vars: dict, z: Array, labels: Array | None, axis_name: str | None = None):
        """z [B, Z] -> (samples in model space, generator variables)."""
        return apply(self.generator.clone(axis_name=axis_name), g_vars, z, labels)

    def discriminate(self, d_vars, x, labels, axis_name, update_stats=True):
        """(D's outputs [B], updated D variables) on x [B, ...]; `update_stats` moves batch-norm statistics."""
        module = self.discriminator
        if "axis_name" in {f.name for f in dataclasses.fields(module)}:
            module = module.clone(axis_name=axis_name)
        return apply(module, d_vars, x, labels, update_stats=update_stats)

    def _critic(self, d_vars, labels):
        """x -> [B] with the current D, no state update (for gradient penalties)."""
        return lambda x: self.discriminate(d_vars, x, labels, None, update_stats=False)[0]

    def _noise(self, key: Array, batch: dict) -> Array:
        return rng_lib.example_normal(rng_lib.stream(key, "z"), batch["index"], (self.latent_dim,))

    # --- the two losses -------------------------------------------------------

    def d_loss(self, params: dict, batch: dict, key: Array, axis_name: str | None = None):
        real = self.to_model(batch["x"])
        labels = self._labels(batch)
        fake, g_vars = self.generate(params["generator"], self._noise(key, batch), labels, axis_name)
        fake = jax.lax.stop_gradient(fake)
        d_vars = params["discriminator"]
        out_real, d_vars = self.discriminate(d_vars, real, labels, axis_name)
        out_fake, d_vars = self.discriminate(d_vars, fake, labels, axis_name)
        new = {**params, "generator": g_vars, "discriminator": d_vars}
        metrics = {}
        if self.loss == "began":
            e_real = adv.began_energy(real, out_real)
            e_fake = adv.began_energy(fake, out_fake)
            per_example = adv.began_d_loss(e_real, e_fake, params["began_k"])
            mean_real, mean_fake = _global_mean(e_real, axis_name), _global_mean(e_fake, axis_name)
            new["began_k"] = adv.began_k_update(params["began_k"], mean_real, mean_fake, self.began_gamma,
                                                self.began_lambda_k)
            metrics.update(began_k=params["began_k"],
                           m_global=adv.began_convergence(mean_real, mean_fake, self.began_gamma),
                           d_real=jnp.mean(e_real), d_fake=jnp.mean(e_fake))
        else:
            if self.loss == "lsgan":
                a, b, _ = self.lsgan_targets
                per_example = adv.lsgan_d_loss(out_real, out_fake, a, b)
            else:
                per_example = adv.D_LOSSES[self.loss](out_real, out_fake)
            metrics.update(d_real=jnp.mean(out_real), d_fake=jnp.mean(out_fake))
        loss = jnp.mean(per_example)
        if self.penalty != "none":
            pen = jnp.mean(self._penalty(params["discriminator"], real, fake, labels, key, batch["index"], axis_name))
            metrics["penalty"] = pen
            loss = loss + (0.5 if self.penalty in ("r1", "r2") else 1.0) * self.penalty_weight * pen
        metrics["d_loss"] = loss
        return loss, (metrics, new)

    def _penalty(self, d_vars, real, fake, labels, key, index, axis_name):
        critic = self._critic(d_vars, labels)
        alpha = rng_lib.example_uniform(rng_lib.stream(key, "alpha"), index)
        if self.penalty == "gp":
            return adv.gradient_penalty(critic, real, fake, alpha)
        if self.penalty == "dragan":
            std = jnp.sqrt(_global_mean(jnp.var(real.reshape(real.shape[0], -1), axis=-1), axis_name))
            u = rng_lib.example_uniform(rng_lib.stream(key, "delta"), index, real.shape[1:])
            return adv.dragan_penalty(critic, real, self.dragan_c * std * u, alpha)
        if self.penalty == "r1":
            return adv.r1_penalty(critic, real)
        if self.penalty == "r2":
            return adv.r2_penalty(critic, fake)
        raise ValueError(f"unknown penalty {self.penalty!r}; expected one of {adv.PENALTIES}")

    def g_loss(self, params: dict, batch: dict, key: Array, axis_name: str | None = None):
        labels = self._labels(batch)
        fake, g_vars = self.generate(params["generator"], self._noise(key, batch), labels, axis_name)
        out_fake, _ = self.discriminate(params["discriminator"], fake, labels, axis_name)
        if self.loss == "began":
            per_example = adv.began_g_loss(adv.began_energy(fake, out_fake))
        elif self.loss == "lsgan":
            per_example = adv.lsgan_g_loss(out_fake, self.lsgan_targets[2])
        else:
            per_example = adv.G_LOSSES[self.loss](out_fake)
        loss = jnp.mean(per_example)
        # The generator update leaves D's statistics as the D step left them.
        return loss, ({"g_loss": loss}, {**params, "generator": g_vars})

    # --- sampling -------------------------------------------------------------

    def sample(self, params: dict, key: Array, n: int, labels: Array | None = None) -> Array:
        """n samples in data space; a conditional model cycles labels 0, 1, ... unless given."""
        z = jax.random.normal(key, (n, self.latent_dim))
        if self.conditional and labels is None:
            labels = jnp.arange(n) % self.generator.num_classes
        x, _ = self.generate(params["generator"], z, labels)
        return self.to_data(x)


def _global_mean(values: Array, axis_name: str | None) -> Array:
    mean = jnp.mean(values)
    return mean if axis_name is None else jax.lax.pmean(mean, axis_name)
