"""pix2pix (Isola et al. 2017, "Image-to-Image Translation with Conditional
Adversarial Networks") on a task built from a labelled image dataset.

The conditional GAN learns G: input -> target with
  L_G = E[-log D(input, G(input))] + lambda E|target - G(input)|_1,
  L_D = E[-log D(input, target) - log(1 - D(input, G(input)))],
where D is a PatchGAN (one logit per patch; losses average over patches)
and lambda = 100 in the paper. The noise z of the paper survives only as
dropout, which we leave out (Isola et al. note G learns to ignore it).

Tasks (`TASKS`), built from the clean image x in [0, 1]:
  'inpaint'  input = x with a random square (side `hole`) set to 0.5; target = x.
  'edges'    input = Sobel edge magnitude of x; target = x.
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen import rng as rng_lib
from jaxgen.losses import adversarial as adv
from jaxgen.models.gan import apply

Array = jax.Array
TASKS = ("inpaint", "edges")


def sobel_edges(x: Array) -> Array:
    """Edge magnitude of [B, H, W, 1] images, scaled to [0, 1] per image."""
    kx = jnp.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])[:, :, None, None]
    conv = lambda k: jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    mag = jnp.sqrt(conv(kx) ** 2 + conv(jnp.transpose(kx, (1, 0, 2, 3))) ** 2 + 1e-12)
    return mag / jnp.maximum(jnp.max(mag, axis=(1, 2, 3), keepdims=True), 1e-6)


def inpaint_input(x: Array, key: Array, index: Array, hole: int) -> Array:
    """x with one square of side `hole` per example, at a per-example random position, set to 0.5."""
    h, w = x.shape[1], x.shape[2]
    keys = rng_lib.example_keys(key, index)
    corners = jax.vmap(lambda k: jax.random.randint(k, (2,), 0, jnp.array([h - hole + 1, w - hole + 1])))(keys)
    rows, cols = jnp.arange(h)[None, :], jnp.arange(w)[None, :]
    in_r = (rows >= corners[:, :1]) & (rows < corners[:, :1] + hole)  # [B, H]
    in_c = (cols >= corners[:, 1:]) & (cols < corners[:, 1:] + hole)  # [B, W]
    mask = (in_r[:, :, None] & in_c[:, None, :])[..., None]
    return jnp.where(mask, 0.5, x)


@dataclasses.dataclass(frozen=True)
class Pix2Pix:
    generator: nn.Module  # UNet
    discriminator: nn.Module  # PatchDiscriminator
    task: str = "inpaint"
    hole: int = 12
    l1_weight: float = 100.0

    def make_pair(self, batch: dict, key: Array) -> tuple[Array, Array]:
        """(input, target) in model space [-1, 1]."""
        x = batch["x"]
        if self.task == "inpaint":
            inp = inpaint_input(x, rng_lib.stream(key, "hole"), batch["index"], self.hole)
        elif self.task == "edges":
            inp = sobel_edges(x)
        else:
            raise ValueError(f"unknown pix2pix task {self.task!r}; expected one of {TASKS}")
        return 2.0 * inp - 1.0, 2.0 * x - 1.0

    def init(self, key: Array, batch: dict) -> dict:
        k_g, k_d = jax.random.split(key)
        x = 2.0 * batch["x"][:2] - 1.0
        return {"generator": self.generator.init(k_g, x), "discriminator": self.discriminator.init(k_d, x, x)}

    def translate(self, g_vars: dict, inp: Array, axis_name: str | None = None):
        return apply(self.generator.clone(axis_name=axis_name), g_vars, inp)

    def _d(self, d_vars, inp, out, axis_name):
        return apply(self.discriminator.clone(axis_name=axis_name), d_vars, inp, out)

    def d_loss(self, params, batch, key, axis_name=None):
        inp, target = self.make_pair(batch, key)
        fake, g_vars = self.translate(params["generator"], inp, axis_name)
        fake = jax.lax.stop_gradient(fake)
        out_real, d_vars = self._d(params["discriminator"], inp, target, axis_name)
        out_fake, d_vars = self._d(d_vars, inp, fake, axis_name)
        loss = jnp.mean(adv.minimax_d_loss(out_real, out_fake))
        metrics = {"d_loss": loss, "d_real": jnp.mean(out_real), "d_fake": jnp.mean(out_fake)}
        return loss, (metrics, {**params, "generator": g_vars, "discriminator": d_vars})

    def g_loss(self, params, batch, key, axis_name=None):
        inp, target = self.make_pair(batch, key)
        fake, g_vars = self.translate(params["generator"], inp, axis_name)
        out_fake, _ = self._d(params["discriminator"], inp, fake, axis_name)
        adversarial = jnp.mean(adv.nonsaturating_g_loss(out_fake))
        l1 = jnp.mean(jnp.abs(target - fake))
        loss = adversarial + self.l1_weight * l1
        return loss, ({"g_loss": loss, "g_adversarial": adversarial, "l1": l1}, {**params, "generator": g_vars})
