"""Likelihoods against scipy / numpy computed independently, incl. extreme inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxgen.losses import (
    bernoulli_log_prob,
    bits_per_dim,
    categorical_log_prob,
    discretized_logistic_log_prob,
    discretized_logistic_mixture_log_prob,
    gaussian_log_prob,
)


def test_bernoulli_matches_scipy():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (5, 4, 4, 1))
    x = rng.integers(0, 2, logits.shape).astype(np.float64)
    expected = stats.bernoulli.logpmf(x, 1 / (1 + np.exp(-logits))).sum(axis=(1, 2, 3))
    got = jax.jit(bernoulli_log_prob)(jnp.asarray(x, jnp.float32), jnp.asarray(logits, jnp.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("logit", [-100.0, 100.0])
@pytest.mark.parametrize("x", [0.0, 1.0])
def test_bernoulli_extreme_logits_finite(logit, x):
    f = lambda l: bernoulli_log_prob(jnp.asarray(x), l, event_ndims=0)
    value, grad = jax.value_and_grad(f)(jnp.asarray(logit))
    # log sigmoid(+-100) is exactly -softplus(-+100): 0 or -100 (to float precision).
    expected = -np.logaddexp(0, -logit) if x == 1 else -np.logaddexp(0, logit)
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6)
    assert np.isfinite(grad)


def test_gaussian_matches_scipy():
    rng = np.random.default_rng(1)
    x, mean = rng.normal(size=(2, 3, 5))
    log_scale = rng.normal(0, 0.5, (3, 5))
    expected = stats.norm.logpdf(x, mean, np.exp(log_scale)).sum(-1)
    got = gaussian_log_prob(jnp.asarray(x), jnp.asarray(mean), jnp.asarray(log_scale), event_ndims=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def _reference_discretized_logistic(x, loc, scale, num_bins):
    """P(bin) = F(upper edge) - F(lower edge), outer bins open, in float64 via scipy."""
    half = 0.5 / (num_bins - 1)
    upper = np.where(x > 1 - half, np.inf, x + half)
    lower = np.where(x < half, -np.inf, x - half)
    # log(F(u) - F(l)) on the left of loc, log(S(l) - S(u)) on the right: no underflow.
    with np.errstate(divide="ignore"):
        left = stats.logistic.logcdf(upper, loc, scale)
        left = left + np.log1p(-np.exp(stats.logistic.logcdf(lower, loc, scale) - left))
        right = stats.logistic.logsf(lower, loc, scale)
        right = right + np.log1p(-np.exp(stats.logistic.logsf(upper, loc, scale) - right))
    return np.where(x < loc, left, right)


@pytest.mark.parametrize("num_bins", [2, 17, 256])
def test_discretized_logistic_matches_reference_and_normalises(num_bins):
    rng = np.random.default_rng(num_bins)
    loc = rng.uniform(-0.2, 1.2, (64,))
    log_scale = rng.uniform(-4, 0, (64,))
    values = np.arange(num_bins) / (num_bins - 1)
    x = values[rng.integers(0, num_bins, 64)]
    got = discretized_logistic_log_prob(jnp.asarray(x), jnp.asarray(loc), jnp.asarray(log_scale), num_bins, 0)
    expected = _reference_discretized_logistic(x, loc, np.exp(log_scale), num_bins)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    # Probabilities of all bins sum to one for every (loc, scale).
    grid = jnp.asarray(np.broadcast_to(values[:, None], (num_bins, 64)))
    all_bins = discretized_logistic_log_prob(grid, jnp.asarray(loc), jnp.asarray(log_scale), num_bins, 0)
    np.testing.assert_allclose(jnp.exp(all_bins).sum(0), 1.0, rtol=1e-4)


def test_discretized_logistic_extreme_is_finite():
    x = jnp.asarray([0.0, 0.5, 1.0, 0.5, 0.2])
    loc = jnp.asarray([100.0, -100.0, -100.0, 0.5, 0.9])
    log_scale = jnp.asarray([-7.0, -7.0, -7.0, -7.0, -7.0])
    f = lambda l: discretized_logistic_log_prob(x, l, log_scale, 256, 1)
    value, grad = jax.value_and_grad(f)(loc)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    # A bin far in the tail: accurate to the log-density approximation.
    tail = discretized_logistic_log_prob(jnp.asarray(0.2), jnp.asarray(0.9), jnp.asarray(-3.0), 256, 0)
    ref = _reference_discretized_logistic(np.asarray(0.2), 0.9, np.exp(-3.0), 256)
    np.testing.assert_allclose(tail, ref, rtol=1e-3)


def test_logistic_mixture_matches_scipy_cdf_differences_and_normalises():
    """P(x) = sum_m w_m (F_m(x + h) - F_m(x - h)), outer bins open, from scipy's logistic CDF in
    float64; the 256 bins sum to one for every mixture."""
    rng = np.random.default_rng(3)
    n, m, bins = 32, 4, 256
    logits = rng.normal(0, 2, (n, m))
    loc = rng.uniform(-0.1, 1.1, (n, m))
    log_scale = rng.uniform(-4.5, -1, (n, m))
    x = rng.integers(0, bins, n) / (bins - 1)
    half = 0.5 / (bins - 1)
    upper = np.where(x > 1 - half, np.inf, x + half)[:, None]
    lower = np.where(x < half, -np.inf, x - half)[:, None]
    scale = np.exp(log_scale)
    per_component = stats.logistic.cdf(upper, loc, scale) - stats.logistic.cdf(lower, loc, scale)
    weights = np.exp(logits - logits.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    expected = np.log((weights * per_component).sum(1))
    f = jax.jit(lambda *a: discretized_logistic_mixture_log_prob(*a, num_bins=bins, event_ndims=0))
    got = f(jnp.asarray(x, jnp.float32), *(jnp.asarray(a, jnp.float32) for a in (logits, loc, log_scale)))
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4)
    grid = jnp.asarray(np.arange(bins, dtype=np.float32) / (bins - 1))[:, None]  # [256, 1] against [n, m]
    all_bins = f(grid, *(jnp.asarray(a, jnp.float32)[None] for a in (logits, loc, log_scale)))  # [256, n]
    np.testing.assert_allclose(jnp.exp(all_bins).sum(0), 1.0, rtol=1e-4)


def test_categorical_matches_scipy():
    rng = np.random.default_rng(4)
    logits = rng.normal(0, 3, (6, 3, 2, 5))
    x = rng.integers(0, 5, (6, 3, 2))
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    expected = np.log(np.take_along_axis(p, x[..., None], -1)[..., 0]).sum((1, 2))
    got = categorical_log_prob(jnp.asarray(x), jnp.asarray(logits, jnp.float32), event_ndims=2)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert float(categorical_log_prob(jnp.asarray(0), jnp.asarray([1e4, -1e4]), 0)) == 0.0


def test_bits_per_dim():
    np.testing.assert_allclose(bits_per_dim(jnp.asarray(784 * np.log(2.0)), 784), 1.0, rtol=1e-6)
