"""The autoencoder family: plain and denoising autoencoders (config.model.corruption), trained on
the reconstruction negative log-likelihood of the clean image. An autoencoder is not a density
model: it reports no test likelihood. Its `sample` decodes codes drawn from N(0, I) (the
lectures' "random codes", which the decoder has never seen); `code_densities` fits a Gaussian and
a GMM (jaxgen.classical) to the training codes, whose samples the decoder does know
(experiments/ae_codes.py compares the three with the VAE).

Figures after training: test images, their corruptions (DAE) and reconstructions; decoded samples
from random codes, the Gaussian and the GMM fitted to the codes (figures/code_densities.png)."""

import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.classical.gmm import fit_gmm
from jaxgen.data.pipeline import DataSpec, to_model_input
from jaxgen.data.protocol import binarize_fixed
from jaxgen.eval import images
from jaxgen.families.base import Family
from jaxgen.models import autoencoder as ae
from jaxgen.models import observations
from jaxgen.models.vae import ACTIVATIONS
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep

DENSITIES = ("random", "gaussian", "gmm")


def make_model(config, spec: DataSpec) -> tuple[ae.Autoencoder, observations.Observation]:
    m = config.model
    obs = observations.make(m.likelihood, 2 if config.data.binarize else spec.num_bins)
    model = ae.Autoencoder(m.code_dim, spec.shape, obs.params_per_channel * spec.shape[-1], m.architecture,
                           tuple(m.hidden), tuple(m.channels), m.activation)
    return model, obs


def encode_all(model: ae.Autoencoder, params, x: np.ndarray, batch: int = 1000) -> np.ndarray:
    """Codes [N, code_dim] of images x [N, H, W, C] in [0, 1]."""
    enc = jax.jit(lambda p, v: model.apply(p, v, method=ae.Autoencoder.encode))
    return np.concatenate([np.asarray(enc(params, x[i:i + batch])) for i in range(0, len(x), batch)])


def code_densities(key, codes: np.ndarray, components: int) -> dict:
    """Samplers of codes, name -> (key, n) -> [n, code_dim]: 'random' N(0, I); 'gaussian' the
    maximum-likelihood full-covariance Gaussian of `codes`; 'gmm' a `components`-component
    full-covariance GMM fitted by EM (k-means++ start, 3 restarts)."""
    z = jnp.asarray(codes, jnp.float32)
    mean = jnp.mean(z, axis=0)
    chol = jnp.linalg.cholesky(jnp.cov(z.T) + 1e-6 * jnp.eye(z.shape[1]))
    gmm, _ = fit_gmm(key, z, components, "full", n_init=3, reg_covar=1e-4)
    return {
        "random": lambda k, n: jax.random.normal(k, (n, z.shape[1])),
        "gaussian": lambda k, n: mean + jax.random.normal(k, (n, z.shape[1])) @ chol.T,
        "gmm": gmm.sample,
    }


def build_autoencoder(config, spec: DataSpec) -> Family:
    m = config.model
    model, obs = make_model(config, spec)
    step = GradientStep(ae.make_loss_fn(model, obs, m.corruption, m.corruption_level),
                        make_optimizer(config.optim, config.train.num_steps), config.train.ema_decay)
    decode = lambda params, z: obs.mean(model.apply(params, z, method=ae.Autoencoder.decode))

    def sample(params, key, n, labels=None):
        if labels is not None:
            raise ValueError("labels were given to an autoencoder")
        return decode(params, jax.random.normal(key, (n, m.code_dim)))

    def artifacts(params, key, loaded, workdir):
        fig = lambda name: os.path.join(workdir, "figures", f"{name}.png")
        up = images.grid_upscale(loaded.spec.shape[0])
        x = to_model_input(loaded.test["x"], loaded.scale)
        x = (binarize_fixed(x) if config.data.binarize else x)[:16]
        noisy = ae.corrupt_batch(key, jnp.arange(16), jnp.asarray(x), m.corruption, m.corruption_level)
        rows = [x, np.clip(np.asarray(noisy), 0, 1), np.asarray(obs.mean(model.apply(params, noisy)))]
        images.save_image_grid(fig("reconstructions"), np.concatenate(rows), num_cols=16, upscale=up)
        train = to_model_input(loaded.train["x"][:m.density_fit_examples], loaded.scale)
        train = binarize_fixed(train) if config.data.binarize else train
        codes = encode_all(model, params, train)
        samplers = code_densities(jax.random.fold_in(key, 1), codes, m.gmm_components)
        grids = [np.asarray(decode(params, samplers[name](jax.random.fold_in(key, 2), 16))) for name in DENSITIES]
        images.save_image_grid(fig("code_densities"), np.concatenate(grids), num_cols=16, upscale=up)
        return {"reconstructions": fig("reconstructions"), "code_densities": fig("code_densities")}

    return Family(init_params=lambda key, batch: model.init(key, batch["x"][:1]), step=step, sample=sample,
                  diagnostics=ae.make_reconstruction_error_fn(model, obs, m.corruption, m.corruption_level),
                  artifacts=artifacts)


def validate_autoencoder(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    if m.corruption not in ae.CORRUPTIONS:
        errors.append(f"config.model.corruption={m.corruption!r}: expected one of {ae.CORRUPTIONS}")
    elif m.corruption in ("masking", "salt_and_pepper") and not 0.0 <= m.corruption_level < 1.0:
        errors.append(f"config.model.corruption_level={m.corruption_level}: a probability in [0, 1)")
    elif m.corruption_level < 0:
        errors.append(f"config.model.corruption_level={m.corruption_level}: must be >= 0")
    if m.likelihood not in observations.NAMES:
        errors.append(f"config.model.likelihood={m.likelihood!r}: expected one of {observations.NAMES}")
    elif config.data.binarize and m.likelihood != "bernoulli":
        errors.append(f"config.model.likelihood={m.likelihood!r}: binarised data needs 'bernoulli'")
    if m.architecture not in ("mlp", "conv"):
        errors.append(f"config.model.architecture={m.architecture!r}: expected 'mlp' or 'conv'")
    if m.activation not in ACTIVATIONS:
        errors.append(f"config.model.activation={m.activation!r}: expected one of {sorted(ACTIVATIONS)}")
    if m.code_dim <= 0 or m.gmm_components <= 0 or m.density_fit_examples < m.gmm_components:
        errors.append(f"config.model.code_dim={m.code_dim} / gmm_components={m.gmm_components} / "
                      f"density_fit_examples={m.density_fit_examples}: positive, with at least as many examples "
                      "as components")
    if shape is not None and len(shape) != 3:
        errors.append(f"config.data.name={config.data.name!r}: the autoencoder needs images [H, W, C], got {shape}")
    elif shape is not None and m.architecture == "conv" and (shape[0] % 2 ** len(m.channels) or
                                                                shape[1] % 2 ** len(m.channels)):
        errors.append(f"config.model.channels={tuple(m.channels)}: stride-2 stages need H, W divisible by "
                      f"{2 ** len(m.channels)}, got {shape[:2]}")
