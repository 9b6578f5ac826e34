"""Boltzmann machines and RBMs against brute-force enumeration, quadrature and finite differences."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp

from jaxgen.classical.boltzmann import BoltzmannMachine, exact_gradient, fit_boltzmann
from jaxgen.classical.rbm import RBM, ais_log_partition, base_rate_rbm, cd_gradient, exact_log_partition, fit_rbm
from jaxgen.sampling import beta_schedule

KEY = jax.random.key(0)


def _sym(n, seed, scale=0.8):
    w = np.random.default_rng(seed).normal(0, scale, (n, n))
    return (np.triu(w, 1) + np.triu(w, 1).T).astype(np.float32)


def _states(n, spin):
    s = np.array(list(itertools.product([0, 1], repeat=n)), np.float64)
    return 2 * s - 1 if spin else s


@pytest.mark.parametrize("spin", [False, True])
def test_fully_visible_probabilities_match_enumeration(spin):
    n = 5
    w, b = _sym(n, 0), np.random.default_rng(1).normal(size=n).astype(np.float32)
    bm = BoltzmannMachine(jnp.asarray(w), jnp.asarray(b), spin=spin)
    x = _states(n, spin)
    # independent: sum over pairs i < j written out, not the quadratic form
    score = np.array([sum(w[i, j] * s[i] * s[j] for i in range(n) for j in range(i + 1, n)) + b @ s for s in x])
    np.testing.assert_allclose(bm.log_prob(jnp.asarray(x, jnp.float32)), score - logsumexp(score), rtol=1e-5)
    # Gibbs sampling reaches the same distribution
    samples = np.asarray(bm.sample(KEY, 4000, num_sweeps=30))
    codes = ((samples > 0).astype(int) * (2 ** np.arange(n)[::-1])).sum(1)
    freq = np.bincount(codes, minlength=2**n) / 4000
    np.testing.assert_allclose(freq, np.exp(score - logsumexp(score)), atol=0.03)


def test_hidden_units_marginalise_by_enumeration():
    bm = BoltzmannMachine(jnp.asarray(_sym(5, 2)), jnp.asarray(np.linspace(-1, 1, 5), jnp.float32), num_visible=3)
    full = _states(5, False)
    e = np.array([-0.5 * s @ np.asarray(bm.w) @ s - s @ np.asarray(bm.b) for s in full])
    v = _states(3, False)
    ref = [logsumexp(-e[(full[:, :3] == row).all(1)]) - logsumexp(-e) for row in v]
    np.testing.assert_allclose(bm.log_prob(jnp.asarray(v, jnp.float32)), ref, rtol=1e-5)


@pytest.mark.parametrize("num_visible", [0, 3])
def test_exact_gradient_matches_finite_differences(num_visible):
    with jax.enable_x64():
        bm = BoltzmannMachine(jnp.asarray(_sym(5, 3, 0.5), jnp.float64), jnp.zeros(5, jnp.float64), num_visible)
        v = jnp.asarray(np.random.default_rng(0).integers(0, 2, (30, num_visible or 5)), jnp.float64)
        dw, db = exact_gradient(bm, v)
        eps, (i, j) = 1e-5, (0, 3)
        e = np.zeros((5, 5))
        e[i, j] = e[j, i] = eps

        def ll(bm):
            return float(jnp.mean(bm.log_prob(v)))

        fd_w = (ll(bm.replace(w=bm.w + e)) - ll(bm.replace(w=bm.w - e))) / (2 * eps)
        fd_b = (ll(bm.replace(b=bm.b.at[1].add(eps))) - ll(bm.replace(b=bm.b.at[1].add(-eps)))) / (2 * eps)
    # the pair weight W_ij = W_ji appears once in the energy: its derivative is dW_ij
    np.testing.assert_allclose(dw[i, j], fd_w, rtol=1e-4)
    np.testing.assert_allclose(db[1], fd_b, rtol=1e-4)


def test_maximum_likelihood_matches_data_moments():
    v = (np.random.default_rng(0).random((300, 4)) < [0.2, 0.5, 0.7, 0.9]).astype(np.float32)
    v[:, 3] = v[:, 2]  # a correlation to learn
    bm = fit_boltzmann(KEY, v, num_steps=600, learning_rate=0.05)
    states = _states(4, False)
    p = np.exp(np.asarray(bm.log_prob(jnp.asarray(states, jnp.float32))))
    np.testing.assert_allclose(p @ states, v.mean(0), atol=0.01)
    np.testing.assert_allclose((states * p[:, None]).T @ states, v.T @ v / 300, atol=0.01)


def _rbm(v, h, seed, visible="bernoulli", scale=0.5):
    r = np.random.default_rng(seed)
    return RBM(jnp.asarray(r.normal(0, scale, (v, h)), jnp.float32), jnp.asarray(r.normal(0, 0.3, v), jnp.float32),
               jnp.asarray(r.normal(0, 0.3, h), jnp.float32), visible)


def test_rbm_free_energy_and_partition_match_brute_force():
    rbm = _rbm(5, 4, 0)
    w, a, b = (np.asarray(t, np.float64) for t in (rbm.w, rbm.a, rbm.b))
    vs, hs = _states(5, False), _states(4, False)
    neg_e = vs @ a[:, None] + (hs @ b)[None] + vs @ w @ hs.T  # [2^V, 2^H]
    np.testing.assert_allclose(-rbm.free_energy(jnp.asarray(vs, jnp.float32)), logsumexp(neg_e, 1), rtol=1e-5)
    np.testing.assert_allclose(exact_log_partition(rbm), logsumexp(neg_e), rtol=1e-5)


def test_gaussian_rbm_partition_matches_quadrature():
    rbm = _rbm(1, 3, 1, "gaussian")
    grid = np.linspace(-15, 15, 30001, dtype=np.float32)[:, None]
    log_integrand = -np.asarray(rbm.free_energy(jnp.asarray(grid)), np.float64)
    quad = logsumexp(log_integrand) + np.log(grid[1, 0] - grid[0, 0])
    np.testing.assert_allclose(exact_log_partition(rbm), quad, atol=1e-3)


@pytest.mark.parametrize("base", ["uniform", "data"])
def test_ais_log_partition_within_a_tenth_of_a_nat(base):
    rbm = _rbm(20, 8, 2)
    exact = float(exact_log_partition(rbm))
    base_a = None
    if base == "data":
        data = rbm.sample(KEY, 500, num_steps=200) > 0.5
        base_a = base_rate_rbm(data.astype(jnp.float32), 8).a
    res = jax.jit(lambda k: ais_log_partition(rbm, k, beta_schedule(1000, "sigmoid"), 100, base_a))(KEY)
    assert abs(float(res.log_z) - exact) < 0.1, (float(res.log_z), exact)
    assert float(res.stderr) < 0.1


def test_persistent_chain_gradient_approaches_the_exact_gradient():
    rbm = _rbm(6, 4, 3)
    v = jnp.asarray(np.random.default_rng(0).integers(0, 2, (64, 6)), jnp.float32)

    def mean_ll(r):
        return jnp.mean(-r.free_energy(v)) - exact_log_partition(r)

    exact = jax.grad(mean_ll)(rbm)
    chains = jnp.asarray(np.random.default_rng(1).integers(0, 2, (20_000, 6)), jnp.float32)
    est, _ = jax.jit(lambda k: cd_gradient(rbm, k, v, 100, chains))(KEY)
    for name in ("w", "a", "b"):
        np.testing.assert_allclose(getattr(est, name), getattr(exact, name), atol=0.02, err_msg=name)


@pytest.mark.parametrize("persistent", [False, True])
def test_contrastive_divergence_training_raises_the_exact_likelihood(persistent):
    # three prototypes with 5% bit flips: strongly dependent bits that an independent model misses
    r = np.random.default_rng(4)
    protos = r.integers(0, 2, (3, 10))
    data = np.abs(protos[r.integers(0, 3, 2000)] - (r.random((2000, 10)) < 0.05))
    data = jnp.asarray(data, jnp.float32)
    log_ll = []
    rbm = fit_rbm(jax.random.key(1), data, 6, num_epochs=15, batch_size=50, learning_rate=0.1, k=1,
                  persistent=persistent, callback=lambda e, r, _: log_ll.append(
                      float(jnp.mean(r.log_prob(data, exact_log_partition(r))))))
    p = jnp.clip(jnp.mean(data, 0), 1e-3, 1 - 1e-3)
    independent = float(jnp.mean(jnp.sum(data * jnp.log(p) + (1 - data) * jnp.log1p(-p), 1)))
    final = float(jnp.mean(rbm.log_prob(data, exact_log_partition(rbm))))
    assert final > independent + 1.0 and final > log_ll[0] + 0.5, (final, independent, log_ll)
