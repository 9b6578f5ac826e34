"""The Kalman filter's log-likelihood equals that of the joint Gaussian computed directly, and the
RTS smoother equals the exact Gaussian posterior, with and without missing steps."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import linalg, stats

from jaxgen.losses import kalman

T, N, M = 5, 3, 2


def problem(seed=0):
    rng = np.random.default_rng(seed)
    a_mats = 0.9 * rng.normal(size=(T, N, N)) / np.sqrt(N)
    c_mats = rng.normal(size=(T, M, N))
    q = np.diag(rng.uniform(0.1, 0.5, N))
    r = np.diag(rng.uniform(0.2, 0.6, M))
    mu0 = rng.normal(size=N)
    b = rng.normal(size=(N, N))
    sigma0 = b @ b.T / N + 0.5 * np.eye(N)
    obs = rng.normal(size=(T, M))
    return a_mats, c_mats, q, r, mu0, sigma0, obs


def joint(a_mats, c_mats, q, r, mu0, sigma0):
    """Mean and covariance of (z_1..z_T, a_1..a_T) as one Gaussian: z = Mz e + mz, a = C z + v."""
    noise_cov = linalg.block_diag(sigma0, *[q] * (T - 1))
    mz = np.zeros((T * N, T * N))  # z = mz_mat @ (z1 - mu0, w_2.., w_T) + mean_z
    mean_z = np.zeros(T * N)
    for t in range(T):
        rows = slice(t * N, (t + 1) * N)
        if t == 0:
            mz[rows, :N] = np.eye(N)
            mean_z[rows] = mu0
        else:
            prev = slice((t - 1) * N, t * N)
            mz[rows] = a_mats[t] @ mz[prev]
            mz[rows, t * N:(t + 1) * N] += np.eye(N)
            mean_z[rows] = a_mats[t] @ mean_z[prev]
    cov_z = mz @ noise_cov @ mz.T
    c_big = linalg.block_diag(*c_mats)
    cov_a = c_big @ cov_z @ c_big.T + linalg.block_diag(*[r] * T)
    cross = cov_z @ c_big.T  # Cov(z, a)
    return mean_z, cov_z, c_big @ mean_z, cov_a, cross


@pytest.mark.parametrize("missing", [(), (1, 3)])
def test_filter_log_likelihood_and_smoother_equal_the_joint_gaussian(missing):
    a_mats, c_mats, q, r, mu0, sigma0, obs = problem()
    mask = np.ones(T)
    mask[list(missing)] = 0
    f = kalman.kalman_filter(*map(jnp.asarray, (obs, mask, a_mats, c_mats, q, r, mu0, sigma0)))
    mean_z, cov_z, mean_a, cov_a, cross = joint(a_mats, c_mats, q, r, mu0, sigma0)
    seen = np.concatenate([np.arange(t * M, (t + 1) * M) for t in range(T) if mask[t]])
    direct = stats.multivariate_normal(mean_a[seen], cov_a[np.ix_(seen, seen)]).logpdf(obs.reshape(-1)[seen])
    assert float(f.log_likelihoods.sum()) == pytest.approx(direct, rel=1e-4)
    # exact posterior of z given the observed a
    gain = cross[:, seen] @ np.linalg.inv(cov_a[np.ix_(seen, seen)])
    post_mean = mean_z + gain @ (obs.reshape(-1)[seen] - mean_a[seen])
    post_cov = cov_z - gain @ cross[:, seen].T
    means, covs = kalman.rts_smoother(f, jnp.asarray(a_mats))
    np.testing.assert_allclose(np.asarray(means).reshape(-1), post_mean, atol=2e-4)
    for t in range(T):
        block = slice(t * N, (t + 1) * N)
        np.testing.assert_allclose(np.asarray(covs[t]), post_cov[block, block], atol=2e-4)
    # the filter's last step is the smoother's; its mean is E[z_T | all observed]
    np.testing.assert_allclose(np.asarray(f.means[-1]), post_mean[-N:], atol=2e-4)


def test_filter_is_differentiable_and_batches():
    a_mats, c_mats, q, r, mu0, sigma0, obs = map(jnp.asarray, problem(1))
    mask = jnp.ones(T)
    loss = lambda o: kalman.kalman_filter(o, mask, a_mats, c_mats, q, r, mu0, sigma0).log_likelihoods.sum()
    g = jax.grad(loss)(obs)
    eps = 1e-3
    bump = jnp.zeros_like(obs).at[2, 1].set(eps)
    fd = (loss(obs + bump) - loss(obs - bump)) / (2 * eps)
    assert float(g[2, 1]) == pytest.approx(float(fd), rel=2e-2)
    batched = jax.vmap(loss)(jnp.stack([obs, 2 * obs]))
    assert float(batched[1]) == pytest.approx(float(loss(2 * obs)), rel=1e-5)
