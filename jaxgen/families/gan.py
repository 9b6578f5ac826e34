"""The GAN family: MLP GANs on toy 2-D data, DCGAN on images, conditional GANs.

The step kind is `AdversarialStep` (k discriminator updates per generator
update, separate optimizers config.d_optim / config.optim). Evaluation on the
test split: mean discriminator outputs on real and generated data and, on
ring8 / grid25, the mode-collapse protocol (jaxgen/eval/modes.py).
"""

import os

import jax
import numpy as np

from jaxgen import rng as rng_lib
from jaxgen.data import toy
from jaxgen.data.pipeline import DataSpec, to_model_input
from jaxgen.eval import images, latent, neighbours
from jaxgen.eval import modes as modes_lib
from jaxgen.families.base import Family, adversarial_step
from jaxgen.losses import adversarial as adv
from jaxgen.models import gan
from jaxgen.nn import adversarial as nets


def build_networks(m, spec: DataSpec, conditional: bool):
    num_classes = spec.num_classes if conditional else 0
    image = len(spec.shape) == 3
    if image:
        generator = nets.DCGANGenerator(spec.shape, tuple(m.g_channels), m.upsample, num_classes, m.g_norm)
    else:
        generator = nets.MLPGenerator(spec.shape, tuple(m.g_hidden), num_classes, m.g_norm)
    if m.loss == "began":
        discriminator = nets.AutoencoderDiscriminator(spec.shape, "conv" if image else "mlp", tuple(m.d_hidden),
                                                      tuple(m.d_channels), m.began_code_dim)
    else:
        discriminator = nets.Discriminator("conv" if image else "mlp", tuple(m.d_hidden), tuple(m.d_channels),
                                           m.d_norm, m.spectral_norm, num_classes, m.conditioning, m.downsample)
    return generator, discriminator


def make_model(config, spec: DataSpec) -> gan.GAN:
    m = config.model
    conditional = m.conditioning != "none"
    generator, discriminator = build_networks(m, spec, conditional)
    return gan.GAN(
        generator, discriminator, m.latent_dim, m.loss, m.penalty, m.penalty_weight,
        (m.lsgan_a, m.lsgan_b, m.lsgan_c), m.dragan_c, m.began_gamma, m.began_lambda_k,
        conditional, image=len(spec.shape) == 3,
    )


def build_gan(config, spec: DataSpec) -> Family:
    model = make_model(config, spec)
    modes, mode_std, min_count = None, 0.0, 1  # [M, 2] mode centres of a toy mixture, their std
    if config.data.name in toy.MODES:
        modes_fn, mode_std = toy.MODES[config.data.name]
        modes, min_count = modes_fn(), config.eval.mode_min_count
    num_eval = min(config.eval.num_examples or spec.num_test, spec.num_test)

    def test_fn(params, batch, key):
        z = rng_lib.example_normal(key, batch["index"], (model.latent_dim,))
        labels = batch["label"] if model.conditional else None
        fake, _ = model.generate(params["generator"], z, labels)
        real = model.to_model(batch["x"])
        out_fake, _ = model.discriminate(params["discriminator"], fake, labels, None, update_stats=False)
        out_real, _ = model.discriminate(params["discriminator"], real, labels, None, update_stats=False)
        if model.loss == "began":  # report reconstruction energies, the quantity BEGAN's D outputs mean
            out = {"d_real": adv.began_energy(real, out_real), "d_fake": adv.began_energy(fake, out_fake)}
        else:
            out = {"d_real": out_real, "d_fake": out_fake}
        if modes is not None:
            out.update(modes_lib.mode_indicators(fake, modes, mode_std))
        return out

    def summarize(avg):
        out = {"d_real": avg["d_real"], "d_fake": avg["d_fake"]}
        if modes is not None:
            counts = [avg[f"mode_{j}"] * num_eval for j in range(modes.shape[0])]
            out.update(modes_lib.summarize_counts(np.round(counts), num_eval, min_count))
        return out

    return Family(
        init_params=model.init,
        step=adversarial_step(config, model, config.model.d_steps, config.model.weight_clip),
        sample=model.sample,
        diagnostics=test_fn,
        summarize=summarize,
        ema_keys=("generator",),
        batch_multiplier=config.model.d_steps,
        artifacts=make_artifacts(model),
    )


def make_artifacts(model: gan.GAN):
    """Image GANs: a slerp interpolation grid between random latents, and each of
    16 samples beside its 3 nearest training images (pixel space, memorisation check)."""

    def artifacts(params, key, loaded, workdir):
        if not model.image:
            return {}
        up = images.grid_upscale(loaded.spec.shape[0])
        k_a, k_s = jax.random.split(key)
        z = jax.random.normal(k_a, (16, model.latent_dim))
        labels = (jax.numpy.arange(8 * 10) // 10) % model.generator.num_classes if model.conditional else None

        def decode(zs):
            return model.to_data(model.generate(params["generator"], zs, labels)[0])

        grid = latent.interpolation_grid(jax.jit(decode), z[:8], z[8:], num=10, method="slerp")
        out = {"interpolation": os.path.join(workdir, "figures", "interpolation.png")}
        images.save_image_grid(out["interpolation"], grid, num_cols=10, upscale=up)
        samples = np.asarray(model.sample(params, k_s, 64))[:16]
        train = to_model_input(loaded.train["x"], loaded.scale)
        out["nearest_neighbours"] = os.path.join(workdir, "figures", "nearest_neighbours.png")
        images.save_image_grid(out["nearest_neighbours"], neighbours.neighbour_grid(samples, train, k=3), num_cols=4,
                               upscale=up)
        return out

    return artifacts


def validate_gan(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    if m.loss not in gan.LOSSES:
        errors.append(f"config.model.loss={m.loss!r}: expected one of {gan.LOSSES}")
    if m.penalty not in adv.PENALTIES:
        errors.append(f"config.model.penalty={m.penalty!r}: expected one of {adv.PENALTIES}")
    if m.penalty != "none" and m.d_norm == "batch":
        errors.append(f"config.model.penalty={m.penalty!r} needs a per-example critic: set config.model.d_norm to "
                      "'layer' or 'none' (batch norm couples the examples of a batch)")
    if m.d_norm not in nets.NORMS or m.g_norm not in nets.NORMS:
        errors.append(f"config.model.d_norm={m.d_norm!r} / g_norm={m.g_norm!r}: expected one of {nets.NORMS}")
    if m.upsample not in nets.UPSAMPLES:
        errors.append(f"config.model.upsample={m.upsample!r}: expected one of {nets.UPSAMPLES}")
    if m.downsample not in nets.DOWNSAMPLES:
        errors.append(f"config.model.downsample={m.downsample!r}: expected one of {nets.DOWNSAMPLES}")
    if m.conditioning not in nets.CONDITIONINGS:
        errors.append(f"config.model.conditioning={m.conditioning!r}: expected one of {nets.CONDITIONINGS}")
    if m.loss == "began" and m.conditioning != "none":
        errors.append("config.model.conditioning: BEGAN's autoencoder discriminator is unconditional here")
    if m.d_steps < 1:
        errors.append(f"config.model.d_steps={m.d_steps}: must be >= 1")
    if m.weight_clip < 0:
        errors.append(f"config.model.weight_clip={m.weight_clip}: must be >= 0 (0 turns clipping off)")
    if m.latent_dim <= 0:
        errors.append(f"config.model.latent_dim={m.latent_dim}: must be positive")
    if config.d_optim.lr <= 0:
        errors.append(f"config.d_optim.lr={config.d_optim.lr}: must be positive")
    if shape is not None and len(shape) == 3:
        scale = 2 ** len(m.g_channels)
        if shape[0] % scale or shape[1] % scale:
            errors.append(f"config.model.g_channels={tuple(m.g_channels)}: {len(m.g_channels)} x2 upsamplings need "
                          f"H, W divisible by {scale}, got {shape[:2]}")
        d_scale = 2 ** len(m.d_channels)
        if shape[0] % d_scale or shape[1] % d_scale:
            if m.loss == "began":
                errors.append(f"config.model.d_channels={tuple(m.d_channels)}: BEGAN's autoencoder needs H, W "
                              f"divisible by {d_scale}, got {shape[:2]}")
            elif m.downsample == "space_to_depth":
                errors.append(f"config.model.d_channels={tuple(m.d_channels)}: space_to_depth downsampling needs H, W "
                              f"divisible by {d_scale}, got {shape[:2]} (or set config.model.downsample='strided')")
