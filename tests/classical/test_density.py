"""Parametric MLE, histogram, KDE and k-NN density against numpy / scipy and quadrature."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxgen import classical
from jaxgen.classical.nonparametric import KERNELS, select_bandwidth

KEY = jax.random.key(0)
RNG = np.random.default_rng(0)
X2 = (RNG.normal(size=(400, 2)) @ np.array([[1.0, 0.0], [0.7, 0.5]]) + [1.0, -1.0]).astype(np.float32)


def test_gaussian_mle_matches_numpy_and_scipy():
    full = classical.fit_gaussian(X2)
    np.testing.assert_allclose(full.mean, X2.mean(0), atol=1e-5)
    np.testing.assert_allclose(full.covariance, np.cov(X2.T, bias=True), atol=1e-5)
    ref = stats.multivariate_normal(X2.mean(0), np.cov(X2.T, bias=True)).logpdf(X2[:10])
    np.testing.assert_allclose(classical.log_prob(full, jnp.asarray(X2[:10])), ref, rtol=1e-5)
    diag = classical.fit_gaussian(X2, diagonal=True)
    ref = stats.norm(X2.mean(0), X2.std(0)).logpdf(X2[:10]).sum(1)
    np.testing.assert_allclose(diag.log_prob(jnp.asarray(X2[:10])), ref, rtol=1e-5)
    s = np.asarray(classical.sample(full, KEY, 20_000))
    np.testing.assert_allclose(np.cov(s.T), full.covariance, atol=0.05)


def test_categorical_and_bernoulli_mle():
    x = RNG.integers(0, 4, size=(500, 3))
    cat = classical.fit_categorical(jnp.asarray(x), 4)
    counts = np.stack([np.bincount(x[:, j], minlength=4) for j in range(3)])
    np.testing.assert_allclose(np.exp(cat.log_probs), counts / 500, atol=1e-6)
    ref = np.log(counts / 500)[np.arange(3), x[:5]].sum(1)
    np.testing.assert_allclose(cat.log_prob(jnp.asarray(x[:5])), ref, rtol=1e-5)
    smooth = classical.fit_categorical(jnp.asarray(x[:, 0]), 6, pseudocount=1.0)  # unseen classes 4, 5
    np.testing.assert_allclose(np.exp(smooth.log_probs), (np.append(counts[0], [0, 0]) + 1.0) / (500 + 6), atol=1e-6)
    with pytest.raises(ValueError, match="integers"):
        classical.fit_categorical(jnp.ones(3), 2)

    b = (RNG.random((300, 5)) < [0.1, 0.5, 0.9, 0.3, 0.7]).astype(np.float32)
    bern = classical.fit_bernoulli(b)
    np.testing.assert_allclose(jax.nn.sigmoid(bern.logits), b.mean(0), atol=1e-6)
    ref = stats.bernoulli(b.mean(0)).logpmf(b[:7]).sum(1)
    np.testing.assert_allclose(bern.log_prob(jnp.asarray(b[:7])), ref, rtol=1e-5)


def test_histogram_matches_numpy_and_integrates_to_one():
    h = classical.fit_histogram(X2, bins=(8, 5))
    dens, edges = np.histogramdd(X2, bins=(8, 5), density=True)
    centres = np.stack(np.meshgrid(*[(e[1:] + e[:-1]) / 2 for e in edges], indexing="ij"), -1).reshape(-1, 2)
    got = np.exp(np.asarray(h.log_prob(jnp.asarray(centres)))).reshape(8, 5)
    np.testing.assert_allclose(got, dens, rtol=1e-4)
    vol = np.prod([e[1] - e[0] for e in edges])
    np.testing.assert_allclose(np.exp(np.asarray(h.log_density)).sum() * vol, 1.0, rtol=1e-5)
    assert np.isneginf(h.log_prob(jnp.array([[100.0, 0.0]])))[0]
    s = np.asarray(h.sample(KEY, 20_000))
    freq, _ = np.histogramdd(s, bins=edges)
    np.testing.assert_allclose(freq / 20_000, dens * vol, atol=0.01)


@pytest.mark.parametrize("rule", ["scott", "silverman"])
@pytest.mark.parametrize("d", [1, 2])
def test_gaussian_kde_matches_scipy(rule, d):
    x = X2[:, :d]
    kde = classical.fit_kde(x, bandwidth=rule)
    ref = stats.gaussian_kde(x.T, bw_method=rule)
    q = RNG.normal(size=(50, d)).astype(np.float32)
    np.testing.assert_allclose(kde.log_prob(jnp.asarray(q)), ref.logpdf(q.T), rtol=1e-4, atol=1e-4)


def _grid(d, lo, hi, n):
    axes = [np.linspace(lo[i], hi[i], n) for i in range(d)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)
    return pts.astype(np.float32), np.prod([a[1] - a[0] for a in axes])


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("d", [1, 2])
def test_kde_integrates_to_one(kernel, d):
    x = X2[:60, :d]
    kde = classical.fit_kde(x, bandwidth=0.5, kernel=kernel)
    pad = 6.0 if kernel != "exponential" else 12.0
    pts, cell = _grid(d, x.min(0) - pad, x.max(0) + pad, 4001 if d == 1 else 301)
    total = float(np.sum(np.exp(np.asarray(kde.log_prob(jnp.asarray(pts)))))) * cell
    assert abs(total - 1.0) < 0.01, total


@pytest.mark.parametrize("kernel,var", [("gaussian", 1.0), ("tophat", 1 / 3), ("epanechnikov", 1 / 5),
                                        ("exponential", 2.0)])
def test_kde_samples_have_the_estimate_variance(kernel, var):
    # 1-D: Var = Var_data (1/N) + h^2 Var_kernel, the kernel's unit variances in closed form
    x = X2[:200, :1]
    kde = classical.fit_kde(x, bandwidth=0.8, kernel=kernel)
    s = np.asarray(kde.sample(KEY, 100_000))
    h2 = float(kde.scale_tril[0, 0]) ** 2
    np.testing.assert_allclose(s.var(), x.var() + h2 * var, rtol=0.03)


def test_held_out_bandwidth_beats_extremes():
    train, valid = X2[:200], X2[200:]
    factor, scores = select_bandwidth(train, valid)
    assert 0.05 < factor < 1.5
    assert scores.max() > scores[0] and scores.max() > scores[-1]
    kde = classical.fit_kde(train, bandwidth="held_out", valid=valid)
    np.testing.assert_allclose(np.mean(kde.log_prob(jnp.asarray(valid))), scores.max(), rtol=1e-5)


def test_bad_kde_input_is_named():
    with pytest.raises(ValueError, match="kernel 'box'"):
        classical.fit_kde(X2, kernel="box")
    with pytest.raises(ValueError, match="bandwidth rule 'scot'"):
        classical.fit_kde(X2, bandwidth="scot")
    with pytest.raises(ValueError, match="valid"):
        classical.fit_kde(X2, bandwidth="held_out")
    with pytest.raises(ValueError, match="shape"):
        classical.fit_kde(X2[:, 0])


def test_knn_density_matches_brute_force_and_does_not_integrate_to_one():
    x = X2[:100, :1]
    knn = classical.fit_knn_density(x, k=5)
    q = np.linspace(-3, 3, 11, dtype=np.float32)[:, None]
    r = np.sort(np.abs(q - x.T), 1)[:, 4]
    np.testing.assert_allclose(knn.log_prob(jnp.asarray(q)), np.log(5 / (100 * 2 * r)), rtol=1e-4)
    # the tails decay as 1/|x|: the mass over [-L, L] keeps growing past 1
    masses = []
    for half in (10.0, 100.0, 1000.0):
        pts, cell = _grid(1, [-half], [half], 40_001)
        masses.append(float(np.sum(np.exp(np.asarray(knn.log_prob(jnp.asarray(pts)))))) * cell)
    assert masses[0] < masses[1] < masses[2] and masses[2] > 1.05
    with pytest.raises(NotImplementedError):
        knn.sample(KEY, 1)
    with pytest.raises(ValueError, match="k must be"):
        classical.fit_knn_density(x, k=0)


def test_unit_ball_volume():
    from jaxgen.classical.nonparametric import log_unit_ball_volume
    np.testing.assert_allclose([math.exp(log_unit_ball_volume(d)) for d in (1, 2, 3)], [2, math.pi, 4 / 3 * math.pi])
