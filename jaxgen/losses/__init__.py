"""Pure loss functions: likelihoods, divergences, bounds, (in `jaxgen.losses.adversarial`) the
GAN loss zoo with its penalties, and (in `jaxgen.losses.schedules` / `jaxgen.losses.diffusion`)
diffusion noise schedules and objectives (jax.numpy, numpy and optax only).

Nothing here imports flax, a config or a trainer: a researcher can import any
function in this package on its own. Every function is per-example and
unreduced unless its name says otherwise.
"""

from jaxgen.losses import adversarial, diffusion, schedules
from jaxgen.losses.bounds import elbo, iwae_bound, log_mean_exp
from jaxgen.losses.divergences import gaussian_kl, gaussian_kl_standard_normal
from jaxgen.losses.likelihoods import (
    bernoulli_log_prob,
    bits_per_dim,
    categorical_log_prob,
    discretized_gaussian_log_prob,
    discretized_logistic_log_prob,
    discretized_logistic_mixture_log_prob,
    gaussian_log_prob,
    mvn_log_prob,
)
from jaxgen.losses.sequence import sequence_log_prob

__all__ = [
    "adversarial",
    "bernoulli_log_prob",
    "bits_per_dim",
    "categorical_log_prob",
    "diffusion",
    "discretized_gaussian_log_prob",
    "discretized_logistic_log_prob",
    "discretized_logistic_mixture_log_prob",
    "elbo",
    "gaussian_kl",
    "gaussian_kl_standard_normal",
    "gaussian_log_prob",
    "iwae_bound",
    "log_mean_exp",
    "mvn_log_prob",
    "schedules",
    "sequence_log_prob",
]
