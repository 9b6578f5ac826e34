"""One-call families of density models: what the one-call engine runs for gmm, kde, ppca, hmm
and bayes_classifier (the fitters are in density_fits.py).

Each family's test log-likelihood is its exact log-density, scored by the protocol's evaluator
(jaxgen/eval/likelihood.py). On 8-bit images a density meets discrete data through uniform
dequantisation (jaxgen/data/protocol.py): it is fitted to and scores x = (k + u) / B, and
log p(x) - D log B is a bound on the discrete log-likelihood of the levels k (its expectation over u
is; one fixed draw of u per test image estimates it), so these numbers stand beside a VAE's
or a PixelCNN's. On 2-D data the log-density is reported as it is (continuous data).
"""

import math

import jax.numpy as jnp

from jaxgen.classical.gmm import GMM
from jaxgen.classical.hmm import HMM
from jaxgen.classical.nonparametric import KDE
from jaxgen.classical.ppca import PPCA
from jaxgen.data.pipeline import DataSpec
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families import density_fits as d
from jaxgen.families.base import OneCallFamily


def dequantizes(config, spec: DataSpec) -> bool:
    """A density on quantised images is fitted and scored on uniformly dequantised pixels."""
    return len(spec.shape) == 3 and spec.num_bins is not None and not config.data.binarize


def density_likelihood(config, spec: DataSpec, log_density, estimator: str):
    """final? -> Likelihood of a density model: `log_density(params, x [B, *shape])` -> [B]."""
    dequantized = dequantizes(config, spec)
    offset = math.prod(spec.shape) * math.log(spec.num_bins) if dequantized else 0.0

    def likelihood(final: bool) -> Likelihood:
        def log_prob(params, batch, key, stats):
            return {"log_prob": log_density(params, batch["x"]) - offset}

        if dequantized:
            return Likelihood("lower_bound", estimator, log_prob, dequantization=f"uniform over {spec.num_bins} levels")
        return Likelihood("exact", estimator, log_prob, dequantization="none (continuous data)", discrete=False)

    return likelihood


def _flat(x):
    return x.reshape(x.shape[0], -1)


def _shaped(spec: DataSpec, sample):
    """(params, key, n, labels=None) -> [n, *shape] samples (images clipped to [0, 1])."""
    def fn(params, key, n, labels=None):
        if labels is not None:
            raise ValueError("labels were given to an unconditional density model")
        out = sample(params, key, n).reshape((n,) + tuple(spec.shape))
        return jnp.clip(out, 0.0, 1.0) if len(spec.shape) == 3 else out

    return fn


def _density_family(config, spec, fitter, restore, estimator, log_density=None, sample=None) -> OneCallFamily:
    log_density = log_density or (lambda p, x: p.log_prob(_flat(x)))
    sample = sample or (lambda p, key, n: p.sample(key, n))
    return OneCallFamily(fit=lambda data, key, report: fitter(config, data, key, report), restore=restore,
                         sample=_shaped(spec, sample), likelihood=density_likelihood(config, spec, log_density, estimator),
                         dequantize=dequantizes(config, spec))


def build_gmm(config, spec: DataSpec) -> OneCallFamily:
    def restore(state):
        return GMM(jnp.asarray(state["log_weights"]), jnp.asarray(state["means"]), jnp.asarray(state["scale"]),
                   config.model.covariance_type)

    return _density_family(config, spec, d.fit_gmm_config, restore, "exact mixture density")


def build_kde(config, spec: DataSpec) -> OneCallFamily:
    def restore(state):
        return KDE(jnp.asarray(state["data"]), jnp.asarray(state["scale_tril"]), config.model.kernel)

    return _density_family(config, spec, d.fit_kde_config, restore, f"{config.model.kernel} kernel density")


def build_ppca(config, spec: DataSpec) -> OneCallFamily:
    def restore(state):
        return PPCA(*(jnp.asarray(state[k]) for k in ("mean", "weights", "noise_var")))

    return _density_family(config, spec, d.fit_ppca_config, restore, "exact Gaussian density")


def build_hmm(config, spec: DataSpec) -> OneCallFamily:
    """Images read as sequences of rows (jaxgen/families/density_fits.py)."""
    rows = spec.shape[0] if len(spec.shape) == 3 else 1

    def restore(state):
        e = state["emission"]
        emission = GMM(jnp.asarray(e["log_weights"]), jnp.asarray(e["means"]), jnp.asarray(e["scale"]),
                       config.model.covariance_type)
        return HMM(jnp.asarray(state["log_init"]), jnp.asarray(state["log_trans"]), emission)

    return _density_family(config, spec, d.fit_hmm_config, restore, "forward algorithm",
                           log_density=lambda p, x: p.log_prob(x.reshape(x.shape[0], rows, -1)),
                           sample=lambda p, key, n: p.sample(key, n, rows)[0])


def build_bayes(config, spec: DataSpec) -> OneCallFamily:
    """Classifiers: accuracies and class-conditional samples from the fit; no density reported."""
    return OneCallFamily(fit=lambda data, key, report: d.fit_bayes_config(config, data, key, report))

