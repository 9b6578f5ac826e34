"""Probabilistic PCA (Tipping & Bishop 1999): x = W z + mu + eps, z ~ N(0, I_q),
eps ~ N(0, sigma^2 I_D), so x ~ N(mu, C) with C = W W^T + sigma^2 I.

Fitted in closed form (eigendecomposition of the sample covariance) or by EM; the
log-likelihood uses the Woodbury identity and the matrix determinant lemma, so a [D, D]
matrix is never inverted (O(N D q) per evaluation).
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from jaxgen.classical.parametric import _check_2d

Array = jax.Array


@struct.dataclass
class PPCA:
    mean: Array  # [D]
    weights: Array  # [D, q] W
    noise_var: Array  # scalar sigma^2

    @property
    def covariance(self) -> Array:
        d = self.mean.shape[0]
        return self.weights @ self.weights.T + self.noise_var * jnp.eye(d)

    def _m(self):  # M = W^T W + sigma^2 I_q
        q = self.weights.shape[1]
        return self.weights.T @ self.weights + self.noise_var * jnp.eye(q)

    def log_prob(self, x: Array) -> Array:
        """[N, D] -> [N]: log N(x; mu, W W^T + sigma^2 I).

        C^{-1} = (I - W M^{-1} W^T) / sigma^2 and log|C| = (D - q) log sigma^2 + log|M|."""
        d, q = self.weights.shape
        diff = x - self.mean
        chol_m = jnp.linalg.cholesky(self._m())
        proj = jax.scipy.linalg.solve_triangular(chol_m, (diff @ self.weights).T, lower=True)  # [q, N]
        maha = (jnp.sum(diff * diff, 1) - jnp.sum(proj * proj, 0)) / self.noise_var
        log_det = (d - q) * jnp.log(self.noise_var) + 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol_m)))
        return -0.5 * (maha + log_det + d * math.log(2.0 * math.pi))

    def posterior(self, x: Array) -> tuple[Array, Array]:
        """p(z | x) = N(M^{-1} W^T (x - mu), sigma^2 M^{-1}): (means [N, q], covariance [q, q])."""
        m_inv = jnp.linalg.inv(self._m())
        return (x - self.mean) @ self.weights @ m_inv.T, self.noise_var * m_inv

    def sample(self, key: Array, n: int) -> Array:
        k_z, k_e = jax.random.split(key)
        d, q = self.weights.shape
        z = jax.random.normal(k_z, (n, q))
        return self.mean + z @ self.weights.T + jnp.sqrt(self.noise_var) * jax.random.normal(k_e, (n, d))


def _check(x, q):
    x = _check_2d(x)
    if not 1 <= q < x.shape[1]:
        raise ValueError(f"latent dimension q must be in [1, D={x.shape[1]}), got {q}")
    return x


def fit_ppca(x: Array, q: int) -> PPCA:
    """Closed-form maximum likelihood: sigma^2 = mean of the D - q smallest eigenvalues of
    the (1/N) sample covariance, W = U_q (Lambda_q - sigma^2 I)^(1/2) (rotation R = I)."""
    x = _check(x, q)
    mean = jnp.mean(x, 0)
    diff = x - mean
    evals, evecs = jnp.linalg.eigh(diff.T @ diff / x.shape[0])  # ascending
    evals, evecs = evals[::-1], evecs[:, ::-1]
    noise_var = jnp.mean(evals[q:])
    w = evecs[:, :q] * jnp.sqrt(jnp.maximum(evals[:q] - noise_var, 0.0))
    return PPCA(mean, w, noise_var)


class PPCATrace(NamedTuple):
    log_likelihood: Array  # [num_iters] mean log-likelihood before each M-step


def fit_ppca_em(key: Array, x: Array, q: int, num_iters: int = 100) -> tuple[PPCA, PPCATrace]:
    """EM (Tipping & Bishop, section 3.2) from a random W, without forming the [D, D]
    sample covariance: E[z_n] = M^{-1} W^T (x_n - mu), sum E[z z^T] = N sigma^2 M^{-1} +
    sum E[z_n] E[z_n]^T; W = (sum (x_n - mu) E[z_n]^T)(sum E[z z^T])^{-1};
    sigma^2 = (1/(N D)) sum (|x_n - mu|^2 - 2 E[z_n]^T W^T (x_n - mu) + tr(E[z z^T] W^T W))."""
    x = _check(x, q)
    n, d = x.shape
    mean = jnp.mean(x, 0)
    diff = x - mean
    total_sq = jnp.sum(diff * diff)
    p0 = PPCA(mean, 0.1 * jax.random.normal(key, (d, q)), total_sq / (n * d))

    def step(p, _):
        ll = jnp.mean(p.log_prob(x))
        ez, cov = p.posterior(x)  # [N, q], [q, q]
        s_zz = n * cov + ez.T @ ez
        s_xz = diff.T @ ez  # [D, q]
        w = jnp.linalg.solve(s_zz, s_xz.T).T
        noise = (total_sq - 2.0 * jnp.sum(s_xz * w) + jnp.trace(s_zz @ w.T @ w)) / (n * d)
        return PPCA(mean, w, noise), ll

    p, lls = jax.lax.scan(step, p0, None, length=num_iters)
    return p, PPCATrace(lls)
