"""HMM inference against brute-force enumeration of every state path, and Baum-Welch."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp

from jaxgen import classical
from jaxgen.classical.gmm import GMM
from jaxgen.classical.hmm import HMM, delay_embed, forward_backward, viterbi

KEY = jax.random.key(0)
INIT = np.log([0.5, 0.3, 0.2])
TRANS = np.log([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
CAT = HMM(jnp.asarray(INIT), jnp.asarray(TRANS), jnp.log(jnp.array([[0.6, 0.3, 0.1, 0.0],
                                                                   [0.1, 0.2, 0.3, 0.4],
                                                                   [0.25, 0.25, 0.25, 0.25]])))
GAUSS = HMM(jnp.asarray(INIT), jnp.asarray(TRANS),
            GMM(jnp.log(jnp.array([[1.0], [1.0], [1.0]])), jnp.array([[[0.0, 0.0]], [[2.0, 1.0]], [[-1.0, 2.0]]]),
                jnp.array([[[1.0, 0.5]], [[0.7, 0.7]], [[1.2, 0.4]]]), "diag"))


def _enumerate(log_b, length):
    """All S^T paths of the first `length` steps: log p(x, z) for each."""
    s = INIT.shape[0]
    paths = np.array(list(itertools.product(range(s), repeat=length)))
    lp = INIT[paths[:, 0]] + log_b[0, paths[:, 0]]
    for t in range(1, length):
        lp = lp + TRANS[paths[:, t - 1], paths[:, t]] + log_b[t, paths[:, t]]
    return paths, lp


@pytest.mark.parametrize("model,obs", [(CAT, "cat"), (GAUSS, "gauss")])
def test_inference_matches_brute_force_enumeration(model, obs):
    t_max, lengths = 6, np.array([6, 4, 1])
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(3, t_max)) if obs == "cat" else rng.normal(size=(3, t_max, 2)).astype(np.float32)
    mask = np.arange(t_max)[None] < lengths[:, None]
    log_b_all = np.asarray(model.emission_log_prob(jnp.asarray(x)), np.float64)
    ll = np.asarray(model.log_prob(jnp.asarray(x), jnp.asarray(mask)))
    gamma = np.asarray(model.posterior(jnp.asarray(x), jnp.asarray(mask)))
    path, path_lp = map(np.asarray, model.predict(jnp.asarray(x), jnp.asarray(mask)))
    for n, length in enumerate(lengths):
        paths, lp = _enumerate(log_b_all[n], length)
        np.testing.assert_allclose(ll[n], logsumexp(lp), rtol=1e-5)
        post = np.exp(lp - logsumexp(lp))
        marg = np.stack([np.bincount(paths[:, t], weights=post, minlength=3) for t in range(length)])
        np.testing.assert_allclose(gamma[n, :length], marg, atol=1e-5)
        assert (gamma[n, length:] == 0).all()
        assert (path[n, :length] == paths[np.argmax(lp)]).all()
        np.testing.assert_allclose(path_lp[n], lp.max(), rtol=1e-5)
        if length > 1:  # pairwise posteriors summed over t
            xi = np.zeros((3, 3))
            for t in range(1, length):
                np.add.at(xi, (paths[:, t - 1], paths[:, t]), post)
            got = forward_backward(model.log_init, model.log_trans, jnp.asarray(log_b_all[n], jnp.float32),
                                   jnp.asarray(mask[n])).xi_sum
            np.testing.assert_allclose(got, xi, atol=1e-5)


def test_extreme_emissions_stay_finite():
    # 784-dimensional-scale emission log-likelihoods: thousands of nats apart between states
    rng = np.random.default_rng(1)
    log_b = jnp.asarray(-rng.uniform(0, 3000, size=(50, 3)), jnp.float32)
    ll = forward_backward(jnp.asarray(INIT), jnp.asarray(TRANS), log_b, jnp.ones(50, bool))
    ref = INIT + np.asarray(log_b[0], np.float64)
    for t in range(1, 50):
        ref = logsumexp(ref[:, None] + TRANS, 0) + np.asarray(log_b[t], np.float64)
    np.testing.assert_allclose(ll.log_likelihood, logsumexp(ref), rtol=1e-5)
    assert np.isfinite(np.asarray(ll.gamma)).all() and np.isfinite(np.asarray(ll.xi_sum)).all()
    path, path_lp = viterbi(jnp.asarray(INIT), jnp.asarray(TRANS), log_b, jnp.ones(50, bool))
    # the best path by a float64 dynamic programme (max-product with back-pointers)
    delta, back = INIT + np.asarray(log_b[0], np.float64), []
    for t in range(1, 50):
        scores = delta[:, None] + TRANS
        back.append(scores.argmax(0))
        delta = scores.max(0) + np.asarray(log_b[t], np.float64)
    best = [int(delta.argmax())]
    for pointers in reversed(back):
        best.append(int(pointers[best[-1]]))
    np.testing.assert_array_equal(path, best[::-1])
    np.testing.assert_allclose(path_lp, delta.max(), rtol=1e-5)


@pytest.mark.parametrize("emission", ["categorical", "gmm"])
def test_baum_welch_never_decreases_and_recovers_the_chain(emission):
    true = CAT if emission == "categorical" else GAUSS
    x, z = true.sample(KEY, 40, 60)
    lengths = np.random.default_rng(0).integers(20, 61, size=40)
    mask = np.arange(60)[None] < lengths[:, None]
    fitted, trace = classical.fit_hmm(jax.random.key(3), x, 3, mask=mask, emission=emission, num_symbols=4,
                                      max_iter=30, tol=1e-4)
    ll = np.asarray(trace.log_likelihood)[: int(trace.num_iters)]
    assert np.all(np.diff(ll) >= -1e-5 * np.abs(ll[:-1]))
    truth = float(jnp.sum(true.log_prob(x, jnp.asarray(mask))))
    assert float(jnp.sum(fitted.log_prob(x, jnp.asarray(mask)))) > truth - 5.0  # the MLE fits at least as well
    if emission == "gmm":  # well-separated emissions identify the states: the chain itself is recovered
        # match each fitted state to the true state with the nearest emission mean (not via the
        # transitions under test), then compare the matrices within 4 standard errors of a
        # transition frequency estimated from the fewest transitions any state makes here
        fitted_means, true_means = np.asarray(fitted.emission.means[:, 0]), np.asarray(GAUSS.emission.means[:, 0])
        order = np.linalg.norm(fitted_means[None] - true_means[:, None], axis=-1).argmin(1)
        assert sorted(order) == [0, 1, 2]
        z, pairs = np.asarray(z), mask[:, 1:] & mask[:, :-1]
        fewest = np.bincount(z[:, :-1][pairs], minlength=3).min()
        got = np.exp(np.asarray(fitted.log_trans))[np.ix_(order, order)]
        np.testing.assert_allclose(got, np.exp(TRANS), atol=4 * np.sqrt(0.25 / fewest))


def test_sampled_transitions_follow_the_matrix():
    _, z = CAT.sample(KEY, 200, 100)
    z = np.asarray(z)
    counts = np.zeros((3, 3))
    np.add.at(counts, (z[:, :-1].ravel(), z[:, 1:].ravel()), 1)
    np.testing.assert_allclose(counts / counts.sum(1, keepdims=True), np.exp(TRANS), atol=0.02)


def test_delay_embedding_windows():
    x = jnp.arange(10.0).reshape(5, 2)
    w = delay_embed(x, 3)
    assert w.shape == (3, 6)
    np.testing.assert_array_equal(w[1], [2, 3, 4, 5, 6, 7])
    with pytest.raises(ValueError, match="order"):
        delay_embed(x, 6)


def test_bad_hmm_input_is_named():
    x = jnp.zeros((2, 5, 3))
    with pytest.raises(ValueError, match="emission 'poisson'"):
        classical.fit_hmm(KEY, x, 2, emission="poisson")
    with pytest.raises(ValueError, match="rank 2"):
        classical.fit_hmm(KEY, x, 2, emission="categorical")
    with pytest.raises(ValueError, match="first step"):
        classical.fit_hmm(KEY, x, 2, mask=jnp.zeros((2, 5), bool))
