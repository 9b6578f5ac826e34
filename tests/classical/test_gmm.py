"""GMM + EM against scipy and scikit-learn."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture

from jaxgen import classical
from jaxgen.classical.gmm import COVARIANCE_TYPES, num_parameters

KEY = jax.random.key(0)
X, _ = make_blobs(600, n_features=3, centers=3, cluster_std=[0.5, 1.0, 1.5], random_state=1)
X = X.astype(np.float32)


def _full_covariances(p):
    k, d = p.means.shape
    c = np.asarray(p.covariances)
    if p.covariance_type == "full":
        return c
    if p.covariance_type == "tied":
        return np.broadcast_to(c, (k, d, d))
    if p.covariance_type == "diag":
        return np.stack([np.diag(v) for v in c])
    return np.stack([np.eye(d) * v for v in c])


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_em_matches_scipy_and_sklearn_and_never_decreases(ct):
    p, trace = classical.fit_gmm(KEY, X, 3, ct, n_init=3, tol=1e-6, max_iter=200)
    xj = jnp.asarray(X)
    w, mu, cov = np.exp(np.asarray(p.log_weights)), np.asarray(p.means), _full_covariances(p)
    ref = np.log(sum(w[k] * stats.multivariate_normal(mu[k], cov[k]).pdf(X[:20]) for k in range(3)))
    np.testing.assert_allclose(p.log_prob(xj[:20]), ref, rtol=1e-4)
    ll = np.asarray(trace.objective)[: int(trace.num_iters)]
    assert ll.size >= 2 and np.all(np.diff(ll) >= -1e-5 * np.abs(ll[:-1]))
    # responsibilities are a softmax of the joint; predict is their argmax
    post = np.asarray(p.posterior(xj))
    np.testing.assert_allclose(post.sum(1), 1.0, atol=1e-5)
    assert (post.argmax(1) == np.asarray(p.predict(xj))).all()
    # the same optimum as scikit-learn on well-separated blobs, and the same BIC / AIC
    sk = GaussianMixture(3, covariance_type=ct, n_init=3, tol=1e-6, max_iter=200, random_state=0).fit(X)
    np.testing.assert_allclose(np.mean(p.log_prob(xj)), sk.score(X), atol=2e-3)
    order = np.argsort(mu[:, 0])
    np.testing.assert_allclose(mu[order], sk.means_[np.argsort(sk.means_[:, 0])], atol=0.02)
    assert num_parameters(p) == sk._n_parameters()
    np.testing.assert_allclose(classical.bic(p, xj), sk.bic(X), rtol=1e-3)
    np.testing.assert_allclose(classical.aic(p, xj), sk.aic(X), rtol=1e-3)


def test_restarts_keep_the_best_and_sampling_matches_the_mixture():
    one, _ = classical.fit_gmm(KEY, X, 3, kmeans_iters=0, max_iter=3)
    many, _ = classical.fit_gmm(KEY, X, 3, kmeans_iters=0, max_iter=3, n_init=8)
    assert float(jnp.mean(many.log_prob(jnp.asarray(X)))) >= float(jnp.mean(one.log_prob(jnp.asarray(X)))) - 1e-6
    s = np.asarray(classical.sample(many, KEY, 50_000))
    w = np.exp(np.asarray(many.log_weights))
    np.testing.assert_allclose(s.mean(0), w @ np.asarray(many.means), atol=0.05)


def test_bad_gmm_input_is_named():
    with pytest.raises(ValueError, match="covariance_type 'ful'"):
        classical.fit_gmm(KEY, X, 2, "ful")
    with pytest.raises(ValueError, match="k must be in"):
        classical.fit_gmm(KEY, X[:3], 5)
    with pytest.raises(ValueError, match="n_init"):
        classical.fit_gmm(KEY, X, 2, n_init=0)
