"""Linear-Gaussian state-space models: the Kalman filter's exact log-likelihood and the
Rauch-Tung-Striebel smoother (pure jax.numpy, one sequence; vmap over a batch).

Model, for t = 1..T, with per-step matrices (the Kalman VAE mixes them from a dynamics network):
  z_1 ~ N(mu0, Sigma0),  z_t = A_t z_{t-1} + w_t,  w_t ~ N(0, Q),
  a_t = C_t z_t + v_t,   v_t ~ N(0, R).
A step whose `mask` is 0 is missing: it is predicted but not observed (no update, no
likelihood term), which is how missing frames are imputed. Covariances are updated in Joseph
form and symmetrised, so they stay positive definite in float32.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

LOG_2PI = 1.8378770664093453


class Filtered(NamedTuple):
    means: Array  # [T, n] E[z_t | a_{1:t}]
    covs: Array  # [T, n, n]
    pred_means: Array  # [T, n] E[z_t | a_{1:t-1}] (t = 1: mu0)
    pred_covs: Array  # [T, n, n]
    log_likelihoods: Array  # [T] log p(a_t | a_{1:t-1}) (0 where missing)


def _sym(p: Array) -> Array:
    return 0.5 * (p + p.T)


def predict(mean: Array, cov: Array, a_mat: Array, q: Array) -> tuple[Array, Array]:
    return a_mat @ mean, _sym(a_mat @ cov @ a_mat.T + q)


def update(pred_mean: Array, pred_cov: Array, obs: Array, mask: Array, c_mat: Array, r: Array
           ) -> tuple[Array, Array, Array]:
    """(mean, cov, log p(obs | past)) after observing obs (unchanged, 0 when mask is 0)."""
    resid = obs - c_mat @ pred_mean
    s = _sym(c_mat @ pred_cov @ c_mat.T + r)
    chol = jnp.linalg.cholesky(s)
    solved = jax.scipy.linalg.cho_solve((chol, True), resid)
    log_lik = -0.5 * (resid @ solved) - jnp.sum(jnp.log(jnp.diag(chol))) - 0.5 * obs.shape[0] * LOG_2PI
    gain = jax.scipy.linalg.cho_solve((chol, True), c_mat @ pred_cov).T  # P C^T S^-1: [n, m]
    eye = jnp.eye(pred_mean.shape[0])
    joseph = (eye - gain @ c_mat) @ pred_cov @ (eye - gain @ c_mat).T + gain @ r @ gain.T
    mean = jnp.where(mask > 0, pred_mean + gain @ resid, pred_mean)
    cov = jnp.where(mask > 0, _sym(joseph), pred_cov)
    return mean, cov, jnp.where(mask > 0, log_lik, 0.0)


def kalman_filter(obs: Array, mask: Array, a_mats: Array, c_mats: Array, q: Array, r: Array, mu0: Array,
                  sigma0: Array) -> Filtered:
    """Filter obs [T, m] with per-step A_t [T, n, n] (A_1 unused) and C_t [T, m, n];
    sum(log_likelihoods) is log p(a_{1:T} observed)."""

    def step(carry, inputs):
        mean, cov, first = carry
        o, mk, a_mat, c_mat = inputs
        pm, pc = predict(mean, cov, a_mat, q)
        pm, pc = jnp.where(first, mu0, pm), jnp.where(first, sigma0, pc)
        m, c, ll = update(pm, pc, o, mk, c_mat, r)
        return (m, c, False), (m, c, pm, pc, ll)

    init = (jnp.zeros_like(mu0), jnp.zeros_like(sigma0), True)
    _, out = jax.lax.scan(step, init, (obs, mask, a_mats, c_mats))
    return Filtered(*out)


def rts_smoother(filtered: Filtered, a_mats: Array) -> tuple[Array, Array]:
    """(means [T, n], covs [T, n, n]) of p(z_t | a_{1:T}) from the filter's output."""

    def step(carry, inputs):
        s_mean, s_cov = carry
        mean, cov, next_pm, next_pc, next_a = inputs
        gain = jax.scipy.linalg.solve(next_pc, next_a @ cov, assume_a="pos").T  # P A^T (P^-)^-1
        mean = mean + gain @ (s_mean - next_pm)
        cov = _sym(cov + gain @ (s_cov - next_pc) @ gain.T)
        return (mean, cov), (mean, cov)

    last = (filtered.means[-1], filtered.covs[-1])
    rest = (filtered.means[:-1], filtered.covs[:-1], filtered.pred_means[1:], filtered.pred_covs[1:], a_mats[1:])
    _, (means, covs) = jax.lax.scan(step, last, rest, reverse=True)
    return jnp.concatenate([means, last[0][None]]), jnp.concatenate([covs, last[1][None]])
