"""The VAE family: the VAE, beta-VAE, IWAE-trained VAE and conditional VAE (config.model.beta,
iwae_samples, conditional). The test log-likelihood is the IWAE bound (k importance samples; the
ELBO beside it). Figures after training: reconstructions, latent traversals, and for a 2-D
latent space the decoded manifold and the test codes coloured by class."""

import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.data.pipeline import DataSpec, to_model_input
from jaxgen.data.protocol import binarize_fixed
from jaxgen.eval import images, latent
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import Family
from jaxgen.models import observations, vae
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep


def build_vae(config, spec: DataSpec) -> Family:
    m = config.model
    obs = observations.make(m.likelihood, spec.num_bins if not config.data.binarize else 2)
    model = vae.VAE(
        latent_dim=m.latent_dim,
        data_shape=spec.shape,
        out_channels=obs.params_per_channel * spec.shape[-1],
        architecture=m.architecture,
        hidden=tuple(m.hidden),
        channels=tuple(m.channels),
        activation=m.activation,
        num_classes=spec.num_classes if m.conditional else 0,
    )
    if m.conditional and not spec.num_classes:
        raise ValueError(f"config.model.conditional=True: config.data.name={config.data.name!r} has no labels")
    step = GradientStep(vae.make_loss_fn(model, obs, m.beta, m.iwae_samples), make_optimizer(config.optim, config.train.num_steps),
                        config.train.ema_decay)
    sample = vae.make_sample_fn(model, obs)

    likelihood = iwae_likelihood(config, spec, lambda k, chunk: vae.make_bound_fn(model, obs, k, chunk),
                                 discrete=config.data.binarize or m.likelihood in DISCRETE)

    return Family(
        init_params=lambda key, batch: vae.init_params(model, key, batch),
        step=step,
        sample=lambda params, key, n, labels=None: _sample(model, sample, params, key, n, labels),
        likelihood=likelihood,
        artifacts=make_artifacts(model, obs, config.data.binarize, sample),
    )


def iwae_likelihood(config, spec: DataSpec, make_bound, discrete: bool):
    """final? -> the IWAE-bound Likelihood of a VAE-like family: k = config.eval.final_iwae_samples
    (final) or eval.iwae_samples, drawn eval.iwae_chunk at a time by `make_bound(k, chunk)`, which
    returns (params, batch, key) -> {'iwae': [B], 'elbo': [B]}; the ELBO is reported beside it."""

    def likelihood(final: bool) -> Likelihood:
        k = config.eval.final_iwae_samples if final else config.eval.iwae_samples
        bound = make_bound(k, min(config.eval.iwae_chunk, k))

        def log_prob(params, batch, key, stats):
            out = bound(params, batch, key)
            return {"log_prob": out["iwae"], "elbo": out["elbo"]}

        return Likelihood("lower_bound", "iwae", log_prob, {"k": k}, dequantization=dequantization(config, spec),
                          discrete=discrete, conditional=bool(config.model.get("conditional", False)))

    return likelihood


def validate_iwae_eval(config, errors: list[str]) -> None:
    """Each of eval.iwae_samples and eval.final_iwae_samples divisible by its chunk."""
    for key in ("iwae_samples", "final_iwae_samples"):
        k = config.eval[key]
        if k % min(config.eval.iwae_chunk, k):
            errors.append(f"config.eval.{key}={k}: must be divisible by config.eval.iwae_chunk")


def make_artifacts(model: vae.VAE, obs, binarize: bool, sample=None):
    """figures/reconstructions.png (test images over their reconstructions, row pairs),
    figures/traversals.png (up to 10 latent dimensions of one test code from -3 to 3), for a
    2-D latent space figures/manifold.png and figures/codes.png, and for a conditional VAE
    figures/class_samples.png (`sample(params, key, n, labels)`: 8 samples of each class, one
    column per class)."""
    reconstruct = jax.jit(vae.make_reconstruct_fn(model, obs))

    def artifacts(params, key, loaded, workdir):
        x = to_model_input(loaded.test["x"], loaded.scale)
        x = (binarize_fixed(x) if binarize else x)[:2000]  # the protocol's test images
        labels = jnp.asarray(loaded.test["label"][:2000]) if model.num_classes else None
        label_of = lambda n: None if labels is None else labels[:n]
        up = images.grid_upscale(loaded.spec.shape[0])
        out, fig = {}, lambda name: os.path.join(workdir, "figures", f"{name}.png")
        if model.num_classes and sample is not None:
            classes = jnp.tile(jnp.arange(model.num_classes), 8)
            drawn = np.asarray(sample(params, key, len(classes), classes))
            images.save_image_grid(fig("class_samples"), drawn, num_cols=model.num_classes, upscale=up)
            out["class_samples"] = fig("class_samples")
        recon = np.asarray(reconstruct(params, x[:32], label_of(32)))
        pairs = np.concatenate([x[:32].reshape(4, 8, *x.shape[1:]), recon.reshape(4, 8, *x.shape[1:])], axis=1)
        images.save_image_grid(fig("reconstructions"), pairs.reshape(-1, *x.shape[1:]), num_cols=8, upscale=up)
        out["reconstructions"] = fig("reconstructions")
        mean, _ = jax.jit(lambda p, v, y: model.apply(p, v, y, method=vae.VAE.encode))(params, x, labels)
        label0 = None if labels is None else labels[:1]

        def decode(z):
            y = None if label0 is None else jnp.broadcast_to(label0, (z.shape[0],))
            return obs.mean(model.apply(params, z, y, method=vae.VAE.decode))

        dims = min(10, model.latent_dim)
        images.save_image_grid(fig("traversals"), latent.traversal_grid(jax.jit(decode), mean[0], dims), num_cols=7,
                               upscale=up)
        out["traversals"] = fig("traversals")
        if model.latent_dim == 2:
            images.save_image_grid(fig("manifold"), latent.manifold_grid(jax.jit(decode)), num_cols=15, upscale=1)
            images.save_scatter(fig("codes"), np.asarray(mean), labels=np.asarray(loaded.test["label"][:2000]))
            out.update(manifold=fig("manifold"), codes=fig("codes"))
        return out

    return artifacts


def dequantization(config, spec: DataSpec) -> str:
    """How the observation model meets the data, stated with every likelihood."""
    name = config.model.likelihood
    if config.data.binarize:
        return "none (binary data)"
    if name in ("discretized_logistic", "categorical", "logistic_mixture"):
        return f"none (discrete likelihood over {spec.num_bins} levels)"
    if name == "gaussian":
        return "none: a density on the scaled values, not a discrete likelihood"
    return "none: Bernoulli cross-entropy on grey levels, not a likelihood"


DISCRETE = ("discretized_logistic", "categorical", "logistic_mixture")  # likelihoods of the stored levels


def _sample(model: vae.VAE, sample, params, key, n, labels):
    """Unconditional VAEs refuse labels; conditional ones cycle 0, 1, ... unless given."""
    if not model.num_classes and labels is not None:
        raise ValueError("labels were given to an unconditional VAE (config.model.conditional=False)")
    if model.num_classes and labels is None:
        labels = jnp.arange(n) % model.num_classes
    return sample(params, key, n, labels)


def validate_vae(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    if m.likelihood not in observations.NAMES:
        errors.append(f"config.model.likelihood={m.likelihood!r}: expected one of {observations.NAMES}")
    if config.data.binarize and m.likelihood != "bernoulli":
        errors.append(f"config.model.likelihood={m.likelihood!r}: binarised data (config.data.binarize=True) needs 'bernoulli'")
    if m.iwae_samples < 1:
        errors.append(f"config.model.iwae_samples={m.iwae_samples}: must be >= 1 (1: the ELBO objective)")
    if m.iwae_samples > 1 and m.beta != 1.0:
        errors.append(f"config.model.beta={m.beta} with config.model.iwae_samples={m.iwae_samples}: the IWAE "
                      "objective has no KL weight")
    if m.latent_dim <= 0:
        errors.append(f"config.model.latent_dim={m.latent_dim}: must be positive")
    if m.architecture not in ("mlp", "conv"):
        errors.append(f"config.model.architecture={m.architecture!r}: expected 'mlp' or 'conv'")
    if m.activation not in vae.ACTIVATIONS:
        errors.append(f"config.model.activation={m.activation!r}: expected one of {sorted(vae.ACTIVATIONS)}")
    if shape is not None and len(shape) != 3:
        errors.append(f"config.data.name={config.data.name!r}: the VAE needs image data [H, W, C], got shape {shape}")
    elif shape is not None and m.architecture == "conv":
        scale = 2 ** len(m.channels)
        if shape[0] % scale or shape[1] % scale:
            errors.append(f"config.model.channels={tuple(m.channels)}: {len(m.channels)} stride-2 stages need H, W "
                          f"divisible by {scale}, got {shape[:2]}")
    validate_iwae_eval(config, errors)
