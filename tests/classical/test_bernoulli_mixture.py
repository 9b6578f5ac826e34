"""Mixture of Bernoullis by EM: exact log-probabilities against enumeration, the M-step
against its closed form, EM never decreasing its objective, recovery of a known mixture."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.classical.bernoulli_mixture import BernoulliMixture, em, fit_bernoulli_mixture, log_prior, m_step


def _mixture(rng, k=3, d=5):
    w = rng.dirichlet(np.ones(k))
    mu = rng.uniform(0.05, 0.95, (k, d))
    return BernoulliMixture(jnp.log(w), jnp.log(mu) - jnp.log1p(-mu)), w, mu


def test_log_prob_matches_enumeration_and_sums_to_one():
    params, w, mu = _mixture(np.random.default_rng(0))
    states = np.array(list(itertools.product([0, 1], repeat=5)), np.float32)
    brute = np.log([np.sum(w * np.prod(mu**s * (1 - mu) ** (1 - s), 1)) for s in states])
    got = np.asarray(params.log_prob(jnp.asarray(states)))
    np.testing.assert_allclose(got, brute, rtol=1e-5)
    np.testing.assert_allclose(np.exp(got).sum(), 1.0, rtol=1e-5)
    post = np.asarray(params.posterior(jnp.asarray(states)))
    np.testing.assert_allclose(post.sum(1), 1.0, rtol=1e-5)


def test_m_step_is_the_map_closed_form():
    rng = np.random.default_rng(1)
    x = (rng.random((40, 6)) < 0.4).astype(np.float32)
    resp = rng.dirichlet(np.ones(3), size=40).astype(np.float32)
    s = 0.5
    p = m_step(jnp.asarray(x), jnp.asarray(resp), s)
    nk = resp.sum(0)
    mu = (resp.T @ x + s) / (nk[:, None] + 2 * s)
    np.testing.assert_allclose(np.asarray(p.means), mu, rtol=1e-5)
    np.testing.assert_allclose(np.exp(np.asarray(p.log_weights)), (nk + s) / (40 + 3 * s), rtol=1e-5)


def test_em_objective_never_decreases_and_recovers_a_known_mixture():
    rng = np.random.default_rng(2)
    mu = np.array([[0.9] * 4 + [0.1] * 4, [0.1] * 4 + [0.9] * 4], np.float32)
    comp = rng.random(4000) < 0.3
    x = (rng.random((4000, 8)) < mu[comp.astype(int)]).astype(np.float32)
    params, trace = fit_bernoulli_mixture(jax.random.key(0), x, 2, n_init=3, max_iter=200, smoothing=1.0)
    objective = np.asarray(trace.objective)[: int(trace.num_iters)]
    assert np.all(np.diff(objective) >= -1e-5), objective
    order = np.argsort(np.asarray(params.log_weights))  # smaller component first: mu[1], weight 0.3
    np.testing.assert_allclose(np.exp(np.asarray(params.log_weights))[order], [0.3, 0.7], atol=0.03)
    np.testing.assert_allclose(np.asarray(params.means)[order], mu[[1, 0]], atol=0.04)
    # the objective the trace records is the mean log-likelihood plus the prior per point
    final = float(jnp.mean(params.log_prob(jnp.asarray(x))) + log_prior(params, 1.0) / 4000)
    assert final >= objective[-1] - 1e-5
    _, again = em(jnp.asarray(x), params, 5, 0.0, 1.0)
    assert np.all(np.diff(np.asarray(again.objective)) >= -1e-5)


def test_samples_follow_the_mixture_and_bad_input_is_named():
    params, w, mu = _mixture(np.random.default_rng(3), k=2, d=3)
    x = np.asarray(params.sample(jax.random.key(1), 20_000))
    np.testing.assert_allclose(x.mean(0), w @ mu, atol=0.015)
    with pytest.raises(ValueError, match="binary data"):
        fit_bernoulli_mixture(jax.random.key(0), np.full((5, 2), 0.5), 2)
    with pytest.raises(ValueError, match="smoothing=-1"):
        fit_bernoulli_mixture(jax.random.key(0), np.ones((5, 2)), 2, smoothing=-1)
