"""The adversarial-autoencoder family (jaxgen/models/aae.py) on the adversarial step.

Evaluation: reconstruction loss and discriminator outputs on the test split.
After training it writes the figures the lecture discusses: the test codes
coloured by label, an interpolation grid between test codes, and class-mean
latent arithmetic (jaxgen/eval/latent.py).
"""

import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.data.pipeline import DataSpec, to_model_input
from jaxgen.eval import images, latent
from jaxgen.families.base import Family, adversarial_step
from jaxgen.losses import adversarial as adv
from jaxgen.models import aae
from jaxgen.nn import adversarial as nets


def make_model(config, spec: DataSpec) -> aae.AAE:
    m = config.model
    classes = spec.num_classes if m.label_prior else 0
    return aae.AAE(
        aae.Autoencoder(spec.shape, m.code_dim, tuple(m.hidden)),
        nets.Discriminator("mlp", tuple(m.d_hidden), num_classes=classes,
                           conditioning="concat" if m.label_prior else "none"),
        m.prior, m.num_components, m.mixture_radius, m.mixture_std, m.label_prior, m.loss, m.adversarial_weight,
    )


def _test_codes(model, params, loaded, limit=2000):
    x = to_model_input(loaded.test["x"][:limit], loaded.scale)
    codes, _ = jax.jit(model.reconstruction)(params, x)
    return np.asarray(codes), np.asarray(loaded.test["label"][:limit])


def make_artifacts(model: aae.AAE):
    def artifacts(params, key, loaded, workdir):
        codes, labels = _test_codes(model, params, loaded)
        out = {}
        scatter = os.path.join(workdir, "figures", "codes.png")
        images.save_scatter(scatter, codes[:, :2], labels=labels)
        out["codes"] = scatter
        decode = jax.jit(lambda z: model.decode(params, z))
        up = images.grid_upscale(loaded.spec.shape[0])
        path = os.path.join(workdir, "figures", "interpolation.png")
        grid = latent.interpolation_grid(decode, codes[:8], codes[8:16], num=10, method="linear")
        images.save_image_grid(path, grid, num_cols=10, upscale=up)
        out["interpolation"] = path
        means = latent.class_means(jnp.asarray(codes), jnp.asarray(labels), loaded.spec.num_classes)
        source_rows = codes[labels == 1][:8]
        path = os.path.join(workdir, "figures", "arithmetic_1_to_7.png")
        images.save_image_grid(path, latent.arithmetic_grid(decode, source_rows, means, 1, 7), num_cols=5, upscale=up)
        out["arithmetic"] = path
        return out

    return artifacts


def build_aae(config, spec: DataSpec) -> Family:
    model = make_model(config, spec)

    def test_fn(params, batch, key):
        codes, nll = model.reconstruction(params, batch["x"])
        labels = batch["label"] if model.label_prior else None
        prior = model.prior_sample(key, batch["index"], labels)
        return {"reconstruction": nll, "d_real": model.discriminator_output(params, prior, labels), "d_fake": model.discriminator_output(params, codes, labels)}

    return Family(
        init_params=model.init,
        step=adversarial_step(config, model),
        sample=model.sample,
        diagnostics=test_fn,
        ema_keys=("generator",),
        artifacts=make_artifacts(model),
    )


def validate_aae(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    if m.prior not in aae.PRIORS:
        errors.append(f"config.model.prior={m.prior!r}: expected one of {aae.PRIORS}")
    if m.loss not in adv.D_LOSSES:
        errors.append(f"config.model.loss={m.loss!r}: expected one of {sorted(adv.D_LOSSES)}")
    if m.code_dim < 2:
        errors.append(f"config.model.code_dim={m.code_dim}: must be >= 2")
    if m.label_prior and m.prior != "mixture":
        errors.append("config.model.label_prior=True needs config.model.prior='mixture' (one component per class)")
    if m.label_prior and m.num_components != 10:
        errors.append(f"config.model.num_components={m.num_components}: a label prior needs one component per class")
    if shape is not None and len(shape) != 3:
        errors.append(f"config.data.name={config.data.name!r}: the AAE needs image data, got shape {shape}")
