"""Parametric maximum likelihood in closed form: Gaussian (full or diagonal covariance),
categorical and Bernoulli.

Every model is a params pytree with `log_prob(x)` and `sample(key, n)` methods, fitted by
a `fit_*` function (the API shared by the density models of `jaxgen.classical`).
"""

import math

import jax
import jax.numpy as jnp
from flax import struct

from jaxgen.losses.likelihoods import mvn_log_prob
from jaxgen.sampling.discrete import inverse_cdf_categorical

Array = jax.Array


def _check_2d(x, name="x") -> Array:
    x = jnp.asarray(x)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"{name} must be [N, D] with N >= 1, got shape {x.shape}")
    return x


@struct.dataclass
class Gaussian:
    """N(mean, L L^T). Diagonal: `scale` holds the standard deviations [D]; full: the
    lower Cholesky factor [D, D]."""

    mean: Array  # [D]
    scale: Array  # [D] (diagonal) or [D, D] lower triangular (full)

    @property
    def diagonal(self) -> bool:
        return self.scale.ndim == 1

    @property
    def covariance(self) -> Array:
        return jnp.diag(self.scale**2) if self.diagonal else self.scale @ self.scale.T

    def log_prob(self, x: Array) -> Array:
        """[..., D] -> [...]."""
        if self.diagonal:
            z = (x - self.mean) / self.scale
            return jnp.sum(-0.5 * z * z - jnp.log(self.scale) - 0.5 * math.log(2 * math.pi), -1)
        return mvn_log_prob(x, self.mean, self.scale)

    def sample(self, key: Array, n: int) -> Array:
        eps = jax.random.normal(key, (n, self.mean.shape[0]), self.mean.dtype)
        return self.mean + (eps * self.scale if self.diagonal else eps @ self.scale.T)


def fit_gaussian(x: Array, diagonal: bool = False, reg: float = 0.0) -> Gaussian:
    """MLE: the sample mean and the (biased, 1/N) sample covariance, + reg * I."""
    x = _check_2d(x)
    mean = jnp.mean(x, 0)
    diff = x - mean
    if diagonal:
        return Gaussian(mean, jnp.sqrt(jnp.mean(diff * diff, 0) + reg))
    cov = diff.T @ diff / x.shape[0] + reg * jnp.eye(x.shape[1], dtype=x.dtype)
    return Gaussian(mean, jnp.linalg.cholesky(cov))


@struct.dataclass
class Categorical:
    log_probs: Array  # [..., K] (one categorical per leading index: independent factors)

    def log_prob(self, x: Array) -> Array:
        """x: [N, *leading] ints -> [N] (summed over independent factors)."""
        lp = jnp.take_along_axis(jnp.broadcast_to(self.log_probs, x.shape + self.log_probs.shape[-1:]),
                                 x[..., None].astype(jnp.int32), -1)[..., 0]
        return jnp.sum(lp.reshape(x.shape[0], -1), -1)

    def sample(self, key: Array, n: int) -> Array:
        return inverse_cdf_categorical(key, jnp.exp(self.log_probs), (n,))


def fit_categorical(x: Array, num_classes: int, pseudocount: float = 0.0) -> Categorical:
    """MLE (pseudocount 0) or the posterior mean under a symmetric Dirichlet(1 + pseudocount)
    prior: p_k = (n_k + a) / (N + K a). x: [N] or [N, D] ints (D independent factors)."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise ValueError(f"categorical data must be integers, got dtype {x.dtype}")
    counts = jnp.sum(jax.nn.one_hot(x, num_classes), 0) + pseudocount
    return Categorical(jnp.log(counts) - jnp.log(jnp.sum(counts, -1, keepdims=True)))


@struct.dataclass
class Bernoulli:
    logits: Array  # [D]

    def log_prob(self, x: Array) -> Array:
        """x: [..., D] in {0, 1} -> [...]."""
        return -jnp.sum(x * jax.nn.softplus(-self.logits) + (1 - x) * jax.nn.softplus(self.logits), -1)

    def sample(self, key: Array, n: int) -> Array:
        return jax.random.bernoulli(key, jax.nn.sigmoid(self.logits), (n,) + self.logits.shape).astype(jnp.float32)


def fit_bernoulli(x: Array, pseudocount: float = 0.0) -> Bernoulli:
    """MLE p_d = mean(x_d) (with `pseudocount` added to both outcomes: never 0 or 1 when
    > 0). An MLE of exactly 0 or 1 gives logits of -inf / +inf: log p = -inf for the
    unseen value, as the MLE says."""
    x = _check_2d(x)
    ones = jnp.sum(x, 0) + pseudocount
    zeros = x.shape[0] - jnp.sum(x, 0) + pseudocount
    return Bernoulli(jnp.log(ones) - jnp.log(zeros))
