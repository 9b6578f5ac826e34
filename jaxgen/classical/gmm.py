"""Gaussian mixture models fitted by expectation-maximisation.

Covariance types as scikit-learn: 'full' (one [D, D] per component), 'diag', 'spherical'
(one variance per component), 'tied' (one [D, D] shared). Responsibilities are computed in
log space (logsumexp); initialisation is k-means++ (Arthur & Vassilvitskii 2007) followed by
a few Lloyd iterations; restarts run in parallel under vmap and the best final
log-likelihood wins; BIC / AIC choose the number of components.
"""

import functools
import math

import jax
import jax.numpy as jnp
from flax import struct
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import logsumexp

from jaxgen.classical.em import EMTrace, iterate
from jaxgen.classical.parametric import _check_2d
from jaxgen.sampling.discrete import inverse_cdf_categorical

Array = jax.Array
COVARIANCE_TYPES = ("full", "diag", "spherical", "tied")
LOG_2PI = math.log(2.0 * math.pi)


@struct.dataclass
class GMM:
    log_weights: Array  # [K]
    means: Array  # [K, D]
    # full: [K, D, D] Cholesky factors; tied: [D, D]; diag: [K, D] std devs; spherical: [K] std devs
    scale: Array
    covariance_type: str = struct.field(pytree_node=False, default="full")

    @property
    def covariances(self) -> Array:
        """In scikit-learn's layout for the covariance type."""
        if self.covariance_type == "full":
            return jnp.einsum("kij,klj->kil", self.scale, self.scale)
        if self.covariance_type == "tied":
            return self.scale @ self.scale.T
        return self.scale**2

    def component_log_prob(self, x: Array) -> Array:
        """[N, D] -> [N, K]: log N(x_n; mu_k, Sigma_k)."""
        d = x.shape[-1]
        ct, mu = self.covariance_type, self.means
        if ct in ("diag", "spherical"):
            prec = 1.0 / self.scale**2  # [K, D] or [K]
            prec = prec if ct == "diag" else jnp.broadcast_to(prec[:, None], mu.shape)
            maha = (x * x) @ prec.T - 2.0 * x @ (mu * prec).T + jnp.sum(mu * mu * prec, 1)
            log_det = -0.5 * jnp.sum(jnp.log(prec), 1)
        elif ct == "tied":
            z = solve_triangular(self.scale, x.T, lower=True).T  # [N, D]
            m = solve_triangular(self.scale, mu.T, lower=True).T  # [K, D]
            maha = jnp.sum(z * z, 1)[:, None] - 2.0 * z @ m.T + jnp.sum(m * m, 1)
            log_det = jnp.sum(jnp.log(jnp.diagonal(self.scale)))
        else:
            def one(mean, tril):
                z = solve_triangular(tril, (x - mean).T, lower=True)
                return jnp.sum(z * z, 0), jnp.sum(jnp.log(jnp.diagonal(tril)))

            maha, log_det = jax.vmap(one)(mu, self.scale)
            maha = maha.T
        return -0.5 * (d * LOG_2PI + jnp.maximum(maha, 0.0)) - log_det

    def joint_log_prob(self, x: Array) -> Array:
        """[N, K]: log pi_k + log N(x_n; mu_k, Sigma_k)."""
        return self.component_log_prob(x) + self.log_weights

    def log_prob(self, x: Array) -> Array:
        return logsumexp(self.joint_log_prob(x), axis=-1)

    def posterior(self, x: Array) -> Array:
        """[N, K] responsibilities p(k | x_n)."""
        return jax.nn.softmax(self.joint_log_prob(x), axis=-1)

    def predict(self, x: Array) -> Array:
        return jnp.argmax(self.joint_log_prob(x), axis=-1)

    def sample(self, key: Array, n: int) -> Array:
        k_c, k_x = jax.random.split(key)
        comp = inverse_cdf_categorical(k_c, jnp.exp(self.log_weights), (n,))
        eps = jax.random.normal(k_x, (n, self.means.shape[1]), self.means.dtype)
        ct = self.covariance_type
        if ct == "full":
            noise = jnp.einsum("nij,nj->ni", self.scale[comp], eps)
        elif ct == "tied":
            noise = eps @ self.scale.T
        elif ct == "diag":
            noise = eps * self.scale[comp]
        else:
            noise = eps * self.scale[comp][:, None]
        return self.means[comp] + noise


def num_parameters(params: GMM) -> int:
    """Free parameters: K - 1 weights, K D means, and the covariances."""
    k, d = params.means.shape
    cov = {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d, "spherical": k}
    return k - 1 + k * d + cov[params.covariance_type]


def bic(params: GMM, x: Array) -> Array:
    """Bayesian information criterion -2 log L + p log N (lower is better)."""
    return -2.0 * jnp.sum(params.log_prob(x)) + num_parameters(params) * math.log(x.shape[0])


def aic(params: GMM, x: Array) -> Array:
    """Akaike information criterion -2 log L + 2 p."""
    return -2.0 * jnp.sum(params.log_prob(x)) + 2.0 * num_parameters(params)


def m_step(x: Array, resp: Array, covariance_type: str, reg_covar: float) -> GMM:
    """Maximise the expected complete-data log-likelihood given responsibilities [N, K]
    (rows need not sum to 1: weighted data, e.g. an HMM state's share of each point)."""
    d = x.shape[1]
    nk = jnp.sum(resp, 0) + 10.0 * jnp.finfo(x.dtype).eps  # [K]
    means = resp.T @ x / nk[:, None]
    eye = jnp.eye(d, dtype=x.dtype)
    if covariance_type == "full":
        def one(r, mu, count):
            diff = x - mu
            return (r[:, None] * diff).T @ diff / count + reg_covar * eye

        scale = jnp.linalg.cholesky(jax.vmap(one, in_axes=(1, 0, 0))(resp, means, nk))
    elif covariance_type == "tied":
        w = jnp.sum(resp, 1)  # 1 per point for a plain GMM
        cov = (x.T @ (w[:, None] * x) - (nk[:, None] * means).T @ means) / jnp.sum(nk) + reg_covar * eye
        scale = jnp.linalg.cholesky(0.5 * (cov + cov.T))
    else:
        var = jnp.maximum(resp.T @ (x * x) / nk[:, None] - means**2, 0.0) + reg_covar  # [K, D]
        scale = jnp.sqrt(var if covariance_type == "diag" else jnp.mean(var, 1))
    return GMM(jnp.log(nk) - jnp.log(jnp.sum(nk)), means, scale, covariance_type)


def kmeans_plus_plus(key: Array, x: Array, k: int) -> Array:
    """[K, D] seeds: the first uniformly, each next with probability proportional to the
    squared distance to the nearest seed so far."""
    n = x.shape[0]
    k0, k_rest = jax.random.split(key)
    first = x[jax.random.randint(k0, (), 0, n)]
    centers = jnp.zeros((k, x.shape[1]), x.dtype).at[0].set(first)
    d2 = jnp.sum((x - first) ** 2, 1)

    def body(i, carry):
        centers, d2 = carry
        idx = inverse_cdf_categorical(jax.random.fold_in(k_rest, i), d2 + 1e-30)
        c = x[idx]
        return centers.at[i].set(c), jnp.minimum(d2, jnp.sum((x - c) ** 2, 1))

    centers, _ = jax.lax.fori_loop(1, k, body, (centers, d2))
    return centers


def _nearest(x, centers):
    d2 = jnp.sum(centers * centers, 1) - 2.0 * x @ centers.T
    return jnp.argmin(d2, 1)


def kmeans(key: Array, x: Array, k: int, iters: int = 10) -> Array:
    """k-means++ seeds refined by `iters` Lloyd iterations (an empty cluster keeps its centre)."""

    def lloyd(_, centers):
        onehot = jax.nn.one_hot(_nearest(x, centers), k, dtype=x.dtype)
        counts = jnp.sum(onehot, 0)
        new = onehot.T @ x / jnp.maximum(counts, 1.0)[:, None]
        return jnp.where(counts[:, None] > 0, new, centers)

    return jax.lax.fori_loop(0, iters, lloyd, kmeans_plus_plus(key, x, k))


def init_gmm(key: Array, x: Array, k: int, covariance_type: str = "full", kmeans_iters: int = 10,
             reg_covar: float = 1e-6) -> GMM:
    """Parameters from the hard assignments of k-means (one M-step)."""
    centers = kmeans(key, x, k, kmeans_iters)
    return m_step(x, jax.nn.one_hot(_nearest(x, centers), k, dtype=x.dtype), covariance_type, reg_covar)


def em(x: Array, params: GMM, max_iter: int = 100, tol: float = 1e-3, reg_covar: float = 1e-6) -> tuple[GMM, EMTrace]:
    """EM from `params` until the mean log-likelihood (the trace's objective) changes by less
    than `tol` (nats per point, as scikit-learn) or `max_iter` M-steps. Each iteration can only
    increase the likelihood (up to `reg_covar` and float rounding)."""
    ct = params.covariance_type

    def update(p):
        joint = p.joint_log_prob(x)
        norm = logsumexp(joint, axis=1, keepdims=True)
        return m_step(x, jnp.exp(joint - norm), ct, reg_covar), jnp.mean(norm)

    return iterate(update, params, max_iter, tol, x.dtype)


@functools.partial(jax.jit, static_argnames=("k", "covariance_type", "n_init", "max_iter", "kmeans_iters"))
def _fit(key, x, k, covariance_type, n_init, max_iter, tol, reg_covar, kmeans_iters):
    def one(key):
        p0 = init_gmm(key, x, k, covariance_type, kmeans_iters, reg_covar)
        p, trace = em(x, p0, max_iter, tol, reg_covar)
        return p, trace, jnp.mean(p.log_prob(x))

    params, traces, final = jax.vmap(one)(jax.random.split(key, n_init))
    best = jnp.argmax(jnp.where(jnp.isfinite(final), final, -jnp.inf))
    return jax.tree.map(lambda a: a[best], (params, traces))


def fit_gmm(key: Array, x: Array, k: int, covariance_type: str = "full", n_init: int = 1, max_iter: int = 100,
            tol: float = 1e-3, reg_covar: float = 1e-6, kmeans_iters: int = 10) -> tuple[GMM, EMTrace]:
    """Fit a K-component GMM by EM; `n_init` restarts (vmapped), the best final mean
    log-likelihood kept. Returns (params, the EM trace of the kept restart)."""
    x = _check_2d(x)
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"unknown covariance_type {covariance_type!r}; expected one of {COVARIANCE_TYPES}")
    if not 1 <= k <= x.shape[0]:
        raise ValueError(f"number of components k must be in [1, N={x.shape[0]}], got {k}")
    for name, v in (("n_init", n_init), ("max_iter", max_iter)):
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    return _fit(key, x.astype(jnp.float32) if x.dtype != jnp.float64 else x, k, covariance_type, n_init, max_iter,
                tol, reg_covar, kmeans_iters)
