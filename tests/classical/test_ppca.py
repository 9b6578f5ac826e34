"""Probabilistic PCA against a dense multivariate normal and Gaussian conditioning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxgen import classical

RNG = np.random.default_rng(0)
W_TRUE = RNG.normal(size=(6, 2))
X = (RNG.normal(size=(800, 2)) @ W_TRUE.T + 0.3 * RNG.normal(size=(800, 6)) + 1.0).astype(np.float32)


def test_closed_form_mle():
    p = classical.fit_ppca(X, 2)
    evals = np.sort(np.linalg.eigvalsh(np.cov(X.T, bias=True)))[::-1]
    np.testing.assert_allclose(p.noise_var, evals[2:].mean(), rtol=1e-4)
    # log-likelihood = a multivariate normal with covariance W W^T + sigma^2 I
    c = np.asarray(p.weights) @ np.asarray(p.weights).T + float(p.noise_var) * np.eye(6)
    ref = stats.multivariate_normal(np.asarray(p.mean), c).logpdf(X[:50])
    np.testing.assert_allclose(p.log_prob(jnp.asarray(X[:50])), ref, rtol=1e-5)
    # the MLE covariance keeps the top-q eigenvalues of the sample covariance
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(c))[::-1][:2], evals[:2], rtol=1e-4)


def test_em_increases_the_likelihood_to_the_closed_form_optimum():
    closed = classical.fit_ppca(X, 2)
    em, trace = classical.fit_ppca_em(jax.random.key(1), X, 2, num_iters=300)
    ll = np.asarray(trace.log_likelihood)
    assert np.all(np.diff(ll) >= -1e-4)
    best = float(jnp.mean(closed.log_prob(jnp.asarray(X))))
    np.testing.assert_allclose(float(jnp.mean(em.log_prob(jnp.asarray(X)))), best, atol=1e-3)
    np.testing.assert_allclose(em.noise_var, closed.noise_var, rtol=1e-2)
    # W is identified up to a rotation: W W^T agrees
    np.testing.assert_allclose(em.weights @ em.weights.T, closed.weights @ closed.weights.T, atol=0.02)


def test_posterior_is_gaussian_conditioning_and_samples_have_the_model_covariance():
    p = classical.fit_ppca(X, 2)
    w, mu, s2 = np.asarray(p.weights, np.float64), np.asarray(p.mean, np.float64), float(p.noise_var)
    c = w @ w.T + s2 * np.eye(6)
    # joint of (z, x): Cov(z, x) = W^T, Cov(x) = C; E[z | x] = W^T C^{-1} (x - mu), Cov = I - W^T C^{-1} W
    mean_ref = (X[:5] - mu) @ np.linalg.solve(c, w)
    cov_ref = np.eye(2) - w.T @ np.linalg.solve(c, w)
    mean, cov = classical.posterior(p, jnp.asarray(X[:5]))
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cov, cov_ref, rtol=1e-4, atol=1e-6)
    s = np.asarray(classical.sample(p, jax.random.key(0), 100_000))
    np.testing.assert_allclose(np.cov(s.T), c, atol=0.1)


def test_bad_latent_dimension_is_named():
    with pytest.raises(ValueError, match="q must be in"):
        classical.fit_ppca(X, 6)
