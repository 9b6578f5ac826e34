"""Sampling primitives: inverse CDF, Markov chains, MCMC (Metropolis-Hastings, Gibbs,
Langevin, MALA) and annealed importance sampling. Pure JAX, jit- and vmap-able; every
sampler takes an explicit PRNG key."""

from jaxgen.sampling.ais import AISResult, ais, beta_schedule, geometric_path, log_z_from_weights
from jaxgen.sampling.discrete import ICDF, inverse_cdf, inverse_cdf_categorical, numerical_icdf
from jaxgen.sampling.markov import is_regular, simulate_chain, stationary_distribution
from jaxgen.sampling.mcmc import Chain, gibbs, langevin, mala, mala_kernel, metropolis_hastings, random_walk_kernel

__all__ = [
    "ICDF",
    "AISResult",
    "Chain",
    "ais",
    "beta_schedule",
    "geometric_path",
    "gibbs",
    "inverse_cdf",
    "inverse_cdf_categorical",
    "is_regular",
    "langevin",
    "log_z_from_weights",
    "mala",
    "mala_kernel",
    "metropolis_hastings",
    "numerical_icdf",
    "random_walk_kernel",
    "simulate_chain",
    "stationary_distribution",
]
