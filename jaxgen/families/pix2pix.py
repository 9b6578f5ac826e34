"""The pix2pix family: image-to-image translation on the adversarial step.

Evaluation on the test split: L1 error and PSNR of the translation against
the target, and the L1 error of the input itself (the do-nothing baseline).
After training: a PNG grid of (input, output, target) triplets.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.data.pipeline import DataSpec, to_model_input
from jaxgen.eval import images
from jaxgen.families.base import Family, adversarial_step
from jaxgen.models import pix2pix
from jaxgen.nn.unet import PatchDiscriminator, UNet


def build_pix2pix(config, spec: DataSpec) -> Family:
    m = config.model
    model = pix2pix.Pix2Pix(UNet(spec.shape[-1], tuple(m.g_channels)), PatchDiscriminator(tuple(m.d_channels)),
                            m.task, m.hole, m.l1_weight)

    def test_fn(params, batch, key):
        inp, target = model.make_pair(batch, key)
        out, _ = model.translate(params["generator"], inp)
        err = jnp.abs(out - target).reshape(out.shape[0], -1) / 2.0  # in [0, 1] units
        mse = jnp.mean(jnp.square(err), -1)
        return {"l1": jnp.mean(err, -1), "psnr": -10.0 * jnp.log10(jnp.maximum(mse, 1e-10)),
                "input_l1": jnp.mean(jnp.abs(inp - target).reshape(out.shape[0], -1) / 2.0, -1)}

    def artifacts(params, key, loaded, workdir):
        x = jnp.asarray(to_model_input(loaded.test["x"][:16], loaded.scale))
        inp, target = model.make_pair({"x": x, "index": jnp.arange(16)}, key)
        out, _ = jax.jit(model.translate)(params["generator"], inp)
        triplets = np.stack([np.asarray(inp), np.asarray(out), np.asarray(target)], 1).reshape(-1, *x.shape[1:])
        path = os.path.join(workdir, "figures", "translations.png")
        images.save_image_grid(path, (triplets + 1.0) / 2.0, num_cols=6, upscale=images.grid_upscale(x.shape[1]))
        return {"translations (input | output | target)": path}

    return Family(
        init_params=model.init,
        step=adversarial_step(config, model),
        diagnostics=test_fn,
        ema_keys=("generator",),
        artifacts=artifacts,
    )


def validate_pix2pix(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    if m.task not in pix2pix.TASKS:
        errors.append(f"config.model.task={m.task!r}: expected one of {pix2pix.TASKS}")
    if shape is not None:
        if len(shape) != 3:
            errors.append(f"config.data.name={config.data.name!r}: pix2pix needs images, got shape {shape}")
        else:
            scale = 2 ** len(m.g_channels)
            if shape[0] % scale or shape[1] % scale:
                errors.append(f"config.model.g_channels={tuple(m.g_channels)}: the U-Net needs H, W divisible by "
                              f"{scale}, got {shape[:2]}")
            if not 0 < m.hole <= min(shape[:2]):
                errors.append(f"config.model.hole={m.hole}: must be in 1..{min(shape[:2])}")
            if m.task == "edges" and shape[-1] != 1:
                errors.append("config.model.task='edges' is defined for grey images (1 channel)")
    if m.l1_weight < 0:
        errors.append(f"config.model.l1_weight={m.l1_weight}: must be >= 0")
