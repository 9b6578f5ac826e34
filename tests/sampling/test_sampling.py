"""Sampling primitives against closed forms and scipy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxgen import sampling
from jaxgen.sampling.ais import beta_schedule

KEY = jax.random.key(0)


def test_categorical_inverse_cdf_frequencies_and_batching():
    probs = jnp.array([0.1, 0.0, 0.6, 0.3])
    n = 40_000
    x = np.asarray(sampling.inverse_cdf_categorical(KEY, probs, (n,)))
    freq = np.bincount(x, minlength=4) / n
    se = np.sqrt(probs * (1 - probs) / n)
    assert freq[1] == 0.0
    np.testing.assert_array_less(np.abs(freq - probs), 5 * se + 1e-12)
    # batched, unnormalised weights: one draw per row, sample shape prepended
    w = jnp.array([[0.0, 0.0, 5.0], [2.0, 0.0, 0.0]])
    y = sampling.inverse_cdf_categorical(KEY, w, (7,))
    assert y.shape == (7, 2)
    assert (np.asarray(y) == np.array([2, 0])).all()


@pytest.mark.parametrize("name,dist", [("normal", stats.norm), ("exponential", stats.expon),
                                       ("logistic", stats.logistic), ("cauchy", stats.cauchy),
                                       ("laplace", stats.laplace), ("gumbel", stats.gumbel_r)])
def test_continuous_inverse_cdf_matches_scipy(name, dist):
    u = np.linspace(0.01, 0.99, 9)
    np.testing.assert_allclose(sampling.ICDF[name](jnp.asarray(u)), dist.ppf(u), rtol=1e-4, atol=1e-5)
    x = np.asarray(sampling.inverse_cdf(KEY, sampling.ICDF[name], (5_000,)))
    assert stats.kstest(x, dist.cdf).pvalue > 1e-3


def test_numerical_icdf_inverts_a_cdf():
    icdf = sampling.numerical_icdf(jax.scipy.stats.norm.cdf, -10.0, 10.0)
    u = jnp.array([1e-3, 0.2, 0.5, 0.9, 0.999])
    np.testing.assert_allclose(icdf(u), stats.norm.ppf(np.asarray(u)), atol=1e-4)


P = np.array([[0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.4, 0.0, 0.6]])


def test_stationary_distribution_solves_pi_equals_pi_p():
    pi = np.asarray(sampling.stationary_distribution(P))
    np.testing.assert_allclose(pi @ P, pi, atol=1e-6)
    np.testing.assert_allclose(pi.sum(), 1.0, atol=1e-6)
    vals, vecs = np.linalg.eig(P.T)  # independent: the eigenvector of eigenvalue 1
    v = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    np.testing.assert_allclose(pi, v / v.sum(), atol=1e-6)
    # the long-run state frequencies of a simulated chain approach pi
    xs = np.asarray(sampling.simulate_chain(KEY, P, 0, 30_000))
    np.testing.assert_allclose(np.bincount(xs, minlength=3) / xs.size, pi, atol=0.02)


def test_chain_regularity():
    assert sampling.is_regular(P)
    periodic = np.array([[0.0, 1.0], [1.0, 0.0]])
    reducible = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert not sampling.is_regular(periodic) and not sampling.is_regular(reducible)
    with pytest.raises(ValueError, match="not regular"):
        sampling.stationary_distribution(periodic)
    with pytest.raises(ValueError, match="row sums"):
        sampling.stationary_distribution(np.array([[0.5, 0.6], [0.5, 0.5]]))
    # the worst case of Wielandt's bound: a positive power first at (S - 1)^2 + 1
    s = 5
    w = np.zeros((s, s))
    w[np.arange(s - 1), np.arange(1, s)] = 1.0
    w[s - 1, 0] = w[s - 1, 1] = 0.5
    assert sampling.is_regular(w)


MEAN = jnp.array([1.0, -2.0])
COV = jnp.array([[1.0, 0.8], [0.8, 2.0]])


def _gauss_log_prob(x):
    return jax.scipy.stats.multivariate_normal.logpdf(x, MEAN, COV)


def _chains(sampler, n_chains=16, burn=200, **kw):
    keys = jax.random.split(KEY, n_chains)
    chain = jax.jit(jax.vmap(lambda k: sampler(k, _gauss_log_prob, jnp.zeros(2), **kw)))(keys)
    return np.asarray(chain.samples[:, burn:]).reshape(-1, 2), np.asarray(chain.accept_rate)


@pytest.mark.parametrize("sampler,kw,tol", [
    (sampling.metropolis_hastings, {"num_steps": 3_000, "proposal": 1.0}, 0.15),
    (sampling.mala, {"num_steps": 2_000, "step_size": 0.3}, 0.15),
])
def test_mcmc_moments_match_the_target(sampler, kw, tol):
    x, acc = _chains(sampler, **kw)
    np.testing.assert_allclose(x.mean(0), MEAN, atol=tol)
    np.testing.assert_allclose(np.cov(x.T), COV, atol=2 * tol)
    assert 0.1 < acc.mean() < 1.0  # MH and MALA reject some proposals at these step sizes


def test_unadjusted_langevin_converges_to_its_exact_discretisation_bias():
    """On N(m, S), x' - m = A (x - m) + sqrt(2 h) xi with A = I - h S^-1: the chain's stationary
    covariance C solves C = A C A^T + 2 h I (not S), and its mean is m."""
    from scipy.linalg import solve_discrete_lyapunov

    h = 0.5
    a = np.eye(2) - h * np.linalg.inv(np.asarray(COV, np.float64))
    biased = solve_discrete_lyapunov(a, 2 * h * np.eye(2))
    assert (np.abs(biased - np.asarray(COV)) / np.abs(COV)).max() > 0.4  # a bias this test can see
    x, _ = _chains(sampling.langevin, n_chains=64, burn=100, num_steps=1_100, step_size=h)
    np.testing.assert_allclose(x.mean(0), MEAN, atol=0.1)
    np.testing.assert_allclose(np.cov(x.T), biased, rtol=0.08)


def test_gibbs_bivariate_gaussian_moments():
    rho = 0.9  # strongly correlated: slow mixing, still the right moments

    def conditional(key, x, i):  # x_i | x_j ~ N(rho x_j, 1 - rho^2)
        return rho * x[1 - i] + jnp.sqrt(1 - rho**2) * jax.random.normal(key)

    chains = jax.jit(jax.vmap(lambda k: sampling.gibbs(k, conditional, jnp.array([3.0, -3.0]), 2_000)))(
        jax.random.split(KEY, 16))
    x = np.asarray(chains.samples[:, 200:]).reshape(-1, 2)
    np.testing.assert_allclose(x.mean(0), 0.0, atol=0.1)
    np.testing.assert_allclose(np.cov(x.T), [[1, rho], [rho, 1]], atol=0.1)


def test_ais_log_partition_of_a_gaussian():
    # f_1(x) = c * N(x; m, S) unnormalised: log Z_1 = log c; p_0 = N(0, I) (normalised)
    log_c = 3.7

    def log_target(x):
        return log_c + _gauss_log_prob(x)

    def log_init(x):
        return jnp.sum(jax.scipy.stats.norm.logpdf(x))

    def transition(key, x, beta):
        def log_f(y):
            return (1 - beta) * log_init(y) + beta * log_target(y)
        chain = sampling.metropolis_hastings(key, log_f, x, 5, 0.7)
        return chain.samples[-1]

    res = jax.jit(lambda k: sampling.ais(k, lambda k, n: jax.random.normal(k, (n, 2)),
                                         sampling.geometric_path(log_init, log_target), transition, beta_schedule(200, "sigmoid"), 256))(KEY)
    assert abs(float(res.log_z) - log_c) < max(0.05, 4 * float(res.stderr))
    assert float(res.stderr) < 0.05
    np.testing.assert_allclose(np.asarray(res.samples).mean(0), MEAN, atol=0.3)


def test_beta_schedules_are_increasing_from_0_to_1():
    for kind in ("linear", "sigmoid", "salakhutdinov_murray"):
        b = beta_schedule(1000, kind)
        assert b.shape == (1000,) and b[0] == 0.0 and b[-1] == 1.0 and (np.diff(b) > 0).all()
    with pytest.raises(ValueError, match="schedule"):
        beta_schedule(10, "cubic")
