"""Non-parametric density estimation: histogram, Parzen window / kernel density
estimation, and the k-nearest-neighbour estimate.

Same API as the parametric models: a params pytree with `log_prob(x)` (and `sample(key,
n)` where the estimate is a proper density), built by `fit_*`. Distances to the stored data
are computed in blocks of query rows (`lax.map`), never as one [M, N] matrix for large M.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import logsumexp

from jaxgen.classical.parametric import _check_2d
from jaxgen.sampling.discrete import inverse_cdf_categorical

Array = jax.Array
KERNELS = ("gaussian", "tophat", "epanechnikov", "exponential")
BANDWIDTH_RULES = ("scott", "silverman")
QUERY_BLOCK = 512


def log_unit_ball_volume(d: int) -> float:
    """log V_d, V_d = pi^(d/2) / Gamma(d/2 + 1)."""
    return 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1.0)


def _sq_dist(a: Array, b: Array) -> Array:
    """[M, D], [N, D] -> [M, N] squared distances (>= 0)."""
    return jnp.maximum(jnp.sum(a * a, 1)[:, None] - 2.0 * a @ b.T + jnp.sum(b * b, 1)[None, :], 0.0)


def _blocked_rows(fn, x: Array) -> Array:
    """fn([m, D]) -> [m, ...] applied to the rows of x in blocks of QUERY_BLOCK."""
    if x.shape[0] <= QUERY_BLOCK:
        return fn(x)
    return jax.lax.map(lambda row: fn(row[None])[0], x, batch_size=QUERY_BLOCK)


# ---------------------------------------------------------------- histogram

@struct.dataclass
class Histogram:
    log_density: Array  # [B_1, ..., B_D] log(count / (N * cell volume))
    low: Array  # [D] lower edges of the grid
    high: Array  # [D] upper edges

    def _cells(self, x):
        bins = jnp.array(self.log_density.shape)
        idx = jnp.floor((x - self.low) / (self.high - self.low) * bins).astype(jnp.int32)
        inside = jnp.all((x >= self.low) & (x <= self.high), -1)
        return jnp.clip(idx, 0, bins - 1), inside  # x == high falls in the last cell

    def log_prob(self, x: Array) -> Array:
        """[..., D] -> [...]; -inf outside the grid."""
        idx, inside = self._cells(x)
        lp = self.log_density[tuple(jnp.moveaxis(idx, -1, 0))]
        return jnp.where(inside, lp, -jnp.inf)

    def sample(self, key: Array, n: int) -> Array:
        k_cell, k_pos = jax.random.split(key)
        shape = self.log_density.shape
        flat = inverse_cdf_categorical(k_cell, jnp.exp(self.log_density.ravel()), (n,))
        cell = jnp.stack(jnp.unravel_index(flat, shape), -1)  # [n, D]
        width = (self.high - self.low) / jnp.array(shape)
        return self.low + (cell + jax.random.uniform(k_pos, cell.shape)) * width


def fit_histogram(x: Array, bins: int | tuple[int, ...] = 10, range_: tuple | None = None) -> Histogram:
    """Regular-grid histogram density: p(x) = n_cell / (N * cell volume).

    Args:
      x: [N, D] data.
      bins: cells per dimension (int, or one per dimension).
      range_: (low, high) arrays of the grid edges; default the data's min / max.
    """
    x = _check_2d(x)
    d = x.shape[1]
    bins = (bins,) * d if isinstance(bins, int) else tuple(bins)
    if len(bins) != d or min(bins) < 1:
        raise ValueError(f"bins must be a positive int or one per dimension ({d}), got {bins}")
    low, high = (jnp.min(x, 0), jnp.max(x, 0)) if range_ is None else map(jnp.asarray, range_)
    high = jnp.where(high > low, high, low + 1.0)  # a constant column gets a unit-wide grid
    h = Histogram(jnp.zeros(bins), low, high)
    idx, inside = h._cells(x)
    flat = jnp.ravel_multi_index(tuple(idx.T), bins, mode="clip")
    counts = jnp.zeros(int(np.prod(bins))).at[flat].add(inside.astype(jnp.float32)).reshape(bins)
    log_cell_volume = jnp.sum(jnp.log((high - low) / jnp.array(bins)))
    return Histogram(jnp.log(counts) - math.log(x.shape[0]) - log_cell_volume, low, high)


# ---------------------------------------------------------------- kernel density estimation

def _log_kernel(kernel: str, r2: Array, d: int) -> Array:
    """log K(u) of a radial kernel normalised on R^d, from r2 = |u|^2."""
    log_vd = log_unit_ball_volume(d)
    if kernel == "gaussian":
        return -0.5 * r2 - 0.5 * d * math.log(2.0 * math.pi)
    if kernel == "tophat":  # uniform on the unit ball
        return jnp.where(r2 <= 1.0, -log_vd, -jnp.inf)
    if kernel == "epanechnikov":  # (d + 2) / (2 V_d) (1 - |u|^2) on the unit ball
        return jnp.where(r2 < 1.0, math.log((d + 2) / 2.0) - log_vd + jnp.log1p(-jnp.minimum(r2, 1.0)), -jnp.inf)
    if kernel == "exponential":  # exp(-|u|) / (d! V_d)
        return -jnp.sqrt(r2) - math.lgamma(d + 1.0) - log_vd
    raise ValueError(f"unknown kernel {kernel!r}; expected one of {KERNELS}")


@struct.dataclass
class KDE:
    """p(x) = 1/N sum_i |det L|^-1 K(L^{-1}(x - x_i)): bandwidth matrix H = L L^T."""

    data: Array  # [N, D]
    scale_tril: Array  # [D, D]
    kernel: str = struct.field(pytree_node=False, default="gaussian")

    def log_prob(self, x: Array) -> Array:
        """[M, D] -> [M]."""
        d = self.data.shape[1]
        white = solve_triangular(self.scale_tril, self.data.T, lower=True).T
        log_det = jnp.sum(jnp.log(jnp.abs(jnp.diagonal(self.scale_tril))))

        def rows(q):
            qw = solve_triangular(self.scale_tril, q.T, lower=True).T
            return logsumexp(_log_kernel(self.kernel, _sq_dist(qw, white), d), axis=1)

        return _blocked_rows(rows, x) - log_det - math.log(self.data.shape[0])

    def sample(self, key: Array, n: int) -> Array:
        k_i, k_u = jax.random.split(key)
        d = self.data.shape[1]
        centres = self.data[jax.random.randint(k_i, (n,), 0, self.data.shape[0])]
        return centres + sample_kernel(k_u, self.kernel, n, d) @ self.scale_tril.T


def sample_kernel(key: Array, kernel: str, n: int, d: int) -> Array:
    """[n, d] draws from a unit radial kernel. The ball kernels project a uniform point of
    the sphere S^(m-1) in R^m onto d coordinates, which has density proportional to
    (1 - |u|^2)^((m - d) / 2 - 1): m = d + 2 gives the uniform ball (tophat), m = d + 4
    the Epanechnikov kernel."""
    if kernel == "gaussian":
        return jax.random.normal(key, (n, d))
    if kernel in ("tophat", "epanechnikov"):
        m = d + (2 if kernel == "tophat" else 4)
        g = jax.random.normal(key, (n, m))
        return (g / jnp.linalg.norm(g, axis=1, keepdims=True))[:, :d]
    if kernel == "exponential":  # uniform direction, radius ~ Gamma(d, 1)
        k_dir, k_r = jax.random.split(key)
        g = jax.random.normal(k_dir, (n, d))
        return g / jnp.linalg.norm(g, axis=1, keepdims=True) * jax.random.gamma(k_r, float(d), (n, 1))
    raise ValueError(f"unknown kernel {kernel!r}; expected one of {KERNELS}")


def bandwidth_factor(rule: str, n: int, d: int) -> float:
    """Scott: n^(-1/(d+4)); Silverman: (n (d+2) / 4)^(-1/(d+4)) (as scipy.stats.gaussian_kde)."""
    if rule == "scott":
        return n ** (-1.0 / (d + 4))
    if rule == "silverman":
        return (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))
    raise ValueError(f"unknown bandwidth rule {rule!r}; expected one of {BANDWIDTH_RULES}, a float, or 'held_out'")


def _data_tril(x: Array) -> Array:
    """Cholesky factor of the data covariance (unbiased, as scipy's gaussian_kde)."""
    if x.shape[0] < 2:
        raise ValueError(f"a data-scaled bandwidth needs at least 2 points, got {x.shape[0]}")
    cov = jnp.atleast_2d(jnp.cov(x.T))
    return jnp.linalg.cholesky(cov)


def fit_kde(x: Array, bandwidth: str | float = "scott", kernel: str = "gaussian", valid: Array | None = None,
            factors=None) -> KDE:
    """Kernel density estimate with bandwidth matrix H = factor^2 * Cov(data).

    Args:
      x: [N, D] data (stored in the params).
      bandwidth: 'scott', 'silverman', a float factor, or 'held_out': the factor in
        `factors` (default 25 values from 0.01 to 2, log-spaced) with the highest mean
        log-likelihood of `valid`.
      kernel: one of KERNELS.
    """
    x = _check_2d(x)
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; expected one of {KERNELS}")
    n, d = x.shape
    tril = _data_tril(x)
    if bandwidth == "held_out":
        if valid is None:
            raise ValueError("bandwidth='held_out' needs `valid` data")
        factor, _ = select_bandwidth(x, valid, factors, kernel)
    elif isinstance(bandwidth, str):
        factor = bandwidth_factor(bandwidth, n, d)
    elif bandwidth > 0:
        factor = float(bandwidth)
    else:
        raise ValueError(f"bandwidth factor must be > 0, got {bandwidth}")
    return KDE(x, factor * tril, kernel)


def select_bandwidth(x: Array, valid: Array, factors=None, kernel: str = "gaussian") -> tuple[float, np.ndarray]:
    """The bandwidth factor maximising the mean held-out log-likelihood, and the score of
    every factor tried ([len(factors)] nats per validation point)."""
    x, valid = _check_2d(x), _check_2d(valid, "valid")
    factors = np.geomspace(0.01, 2.0, 25) if factors is None else np.asarray(factors, float)
    tril = _data_tril(x)
    scores = jax.lax.map(lambda f: jnp.mean(KDE(x, f * tril, kernel).log_prob(valid)), jnp.asarray(factors))
    scores = np.asarray(scores)
    return float(factors[int(np.nanargmax(np.where(np.isfinite(scores), scores, -np.inf)))]), scores


# ---------------------------------------------------------------- k nearest neighbours

@struct.dataclass
class KNNDensity:
    """p(x) = k / (N V_d r_k(x)^d), r_k the distance to the k-th nearest stored point.

    Not a normalised density: far from the data r_k grows like |x|, so p decays only as
    |x|^-d and its integral over R^d diverges (logarithmically in 1-D); it also has
    spikes (k = 1: infinite at every stored point). Useful for ranking, not for likelihoods.
    """

    data: Array  # [N, D]
    k: int = struct.field(pytree_node=False, default=10)

    def log_prob(self, x: Array) -> Array:
        n, d = self.data.shape

        def rows(q):
            kth = -jax.lax.top_k(-_sq_dist(q, self.data), self.k)[0][:, -1]
            return 0.5 * d * jnp.log(kth)

        return math.log(self.k) - math.log(n) - log_unit_ball_volume(d) - _blocked_rows(rows, x)

    def sample(self, key: Array, n: int) -> Array:
        raise NotImplementedError("the k-NN estimate is not a normalised density; it has no sampler")


def fit_knn_density(x: Array, k: int = 10) -> KNNDensity:
    x = _check_2d(x)
    if not 1 <= k <= x.shape[0]:
        raise ValueError(f"k must be in [1, N={x.shape[0]}], got {k}")
    return KNNDensity(x, k)
