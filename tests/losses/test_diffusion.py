"""Diffusion schedules and objectives against closed forms, Gaussian conditioning, numpy KLs and
scipy's normal CDF."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxgen.losses import diffusion as dl
from jaxgen.losses import likelihoods
from jaxgen.losses import schedules as sch


def test_linear_schedule_is_ho_et_al_betas_and_their_products():
    s = sch.make_schedule("linear", 1000)
    betas = np.linspace(1e-4, 0.02, 1000)
    np.testing.assert_allclose(np.asarray(s.betas()), betas, rtol=2e-3, atol=2e-7)
    np.testing.assert_allclose(np.asarray(s.alpha_bar_table[1:]), np.cumprod(1 - betas), rtol=1e-5)
    # at t = i / T the continuous-time view returns the same alpha_bar_i
    i = np.array([1, 10, 500, 1000])
    alpha, sigma = s.alpha_sigma(i / 1000)
    ab = np.cumprod(1 - betas)[i - 1]
    np.testing.assert_allclose(np.asarray(alpha) ** 2, ab, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(sigma) ** 2, 1 - ab, rtol=1e-4)


def test_cosine_schedule_follows_its_closed_form_until_the_beta_clip():
    s = sch.make_schedule("cosine", 1000)
    t = np.arange(1001) / 1000
    f = np.cos((t + 0.008) / 1.008 * np.pi / 2) ** 2
    ab = np.asarray(s.alpha_bar_table)
    np.testing.assert_allclose(ab[:990], (f / f[0])[:990], rtol=1e-5, atol=1e-7)
    assert np.all(np.asarray(s.betas()) <= 0.999 + 1e-6) and np.all(np.diff(ab) < 0)


@pytest.mark.parametrize("kind", sch.KINDS)
def test_time_of_log_snr_inverts_log_snr(kind):
    s = sch.make_schedule(kind, 100)
    t = jnp.linspace(0.01 if s.discrete else 0.0, 1.0, 37)
    np.testing.assert_allclose(np.asarray(s.time_of_log_snr(s.log_snr(t))), np.asarray(t), atol=2e-4)
    assert np.all(np.diff(np.asarray(s.log_snr(t))) < 0)


def test_posterior_is_ho_et_al_coefficients_at_adjacent_steps():
    s = sch.make_schedule("linear", 1000)
    ab = np.asarray(s.alpha_bar_table, np.float64)
    beta = 1 - ab[1:] / ab[:-1]
    i = np.array([2, 50, 700, 1000])
    c_x0, c_xt, var = sch.posterior(np.sqrt(ab[i - 1]), np.sqrt(1 - ab[i - 1]), np.sqrt(ab[i]), np.sqrt(1 - ab[i]))
    np.testing.assert_allclose(c_x0, beta[i - 1] * np.sqrt(ab[i - 1]) / (1 - ab[i]), rtol=1e-8)
    np.testing.assert_allclose(c_xt, (1 - ab[i - 1]) * np.sqrt(1 - beta[i - 1]) / (1 - ab[i]), rtol=1e-8)
    np.testing.assert_allclose(var, (1 - ab[i - 1]) / (1 - ab[i]) * beta[i - 1], rtol=1e-8)


@pytest.mark.parametrize("kind", ["continuous_cosine", "cosine"])
def test_posterior_between_any_two_times_is_gaussian_conditioning(kind):
    """x_s and x_t given x_0 are jointly Gaussian (x_t = a_{t|s} x_s + noise): the posterior of x_s
    given x_t is the regression of x_s on x_t."""
    s = sch.make_schedule(kind, 1000)
    (a_s, s_s), (a_t, s_t) = (tuple(np.asarray(v, np.float64) for v in s.alpha_sigma(u)) for u in (0.3, 0.55))
    x0, xt = 0.7, -0.4
    cov_st = s_s**2 * (a_t / a_s)  # Cov(x_s, x_t | x_0)
    mean = a_s * x0 + cov_st / s_t**2 * (xt - a_t * x0)
    var = s_s**2 - cov_st**2 / s_t**2
    c_x0, c_xt, v = sch.posterior(a_s, s_s, a_t, s_t)
    np.testing.assert_allclose(c_x0 * x0 + c_xt * xt, mean, rtol=1e-10)
    np.testing.assert_allclose(v, var, rtol=1e-10)


def test_q_sample_has_the_forward_marginal_mean_and_variance():
    s = sch.make_schedule("cosine", 1000)
    n = 200_000
    x0 = jnp.full((n, 1), 0.8)
    t = jnp.full((n,), 0.4)
    xt = np.asarray(s.q_sample(x0, t, jax.random.normal(jax.random.key(0), (n, 1))))[:, 0]
    alpha, sigma = (float(v) for v in s.alpha_sigma(0.4))
    assert abs(xt.mean() - 0.8 * alpha) < 4 * sigma / np.sqrt(n)
    assert abs(xt.var() - sigma**2) < 4 * sigma**2 * np.sqrt(2 / n)


def _draws(prediction, seed=0):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    x0, eps, out = (jax.random.normal(k, (5, 4, 4, 1)) for k in (k1, k2, k3))
    alpha = jnp.array([0.99, 0.9, 0.7, 0.3, 0.05])
    return x0, eps, out, alpha, jnp.sqrt(1 - alpha**2)


@pytest.mark.parametrize("prediction", dl.PREDICTIONS)
def test_every_weighting_is_the_squared_error_in_its_own_space(prediction):
    x0, eps, out, alpha, sigma = _draws(prediction)
    a, s = alpha[:, None, None, None], sigma[:, None, None, None]
    xt = a * x0 + s * eps
    # the network's output read directly as its target, the others derived by hand
    if prediction == "eps":
        eps_hat = out
        x0_hat = (xt - s * out) / a
    elif prediction == "x0":
        x0_hat = out
        eps_hat = (xt - a * out) / s
    else:
        x0_hat = a * xt - s * out
        eps_hat = (xt - a * x0_hat) / s
    v, v_hat = a * eps - s * x0, a * eps_hat - s * x0_hat
    mse = lambda u, w: np.asarray(jnp.mean((u - w) ** 2, axis=(1, 2, 3)))
    snr = np.asarray(alpha**2 / sigma**2)
    want = {"eps": mse(eps, eps_hat), "x0": mse(x0, x0_hat), "v": mse(v, v_hat),
            "min_snr": np.minimum(snr, 5.0) * mse(x0, x0_hat)}
    for weighting in dl.WEIGHTINGS:
        got = dl.denoising_loss(prediction, weighting, out, x0, eps, alpha, sigma)
        np.testing.assert_allclose(np.asarray(got), want[weighting], rtol=2e-4, err_msg=weighting)


def _kl_full(m1, v1, m2, v2):
    """KL(N(m1, S1) || N(m2, S2)) with full covariance matrices (numpy, float64)."""
    s1, s2 = np.diag(v1), np.diag(v2)
    inv = np.linalg.inv(s2)
    d = m2 - m1
    return 0.5 * (np.trace(inv @ s1) + d @ inv @ d - len(m1) + np.linalg.slogdet(s2)[1] - np.linalg.slogdet(s1)[1])


def test_vlb_and_prior_terms_are_gaussian_kls():
    rng = np.random.default_rng(0)
    m1, m2 = rng.normal(size=(2, 3, 6))
    lv1, lv2 = rng.normal(size=(2, 3, 6)) * 0.5
    got = dl.vlb_term(jnp.asarray(m1), jnp.asarray(lv1), jnp.asarray(m2), jnp.asarray(lv2))
    want = [_kl_full(m1[b], np.exp(lv1[b]), m2[b], np.exp(lv2[b])) for b in range(3)]
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)
    x0 = rng.uniform(-1, 1, size=(2, 6))
    got = dl.prior_term(jnp.asarray(x0, jnp.float32), jnp.array([0.1, 0.01]), jnp.sqrt(jnp.array([0.99, 0.9999])))
    want = [_kl_full(a * x0[b], np.full(6, 1 - a * a), np.zeros(6), np.ones(6)) for b, a in enumerate([0.1, 0.01])]
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-7)  # float32 cancellation near 0


def test_discretized_gaussian_decoder_sums_to_one_and_matches_scipy_bins():
    levels = jnp.arange(256.0) / 255.0
    for mean, log_sd in [(0.3, -3.0), (0.999, -6.0), (0.5, 1.0), (0.01, -9.0)]:
        log_p = likelihoods.discretized_gaussian_log_prob(levels, mean, jnp.float32(log_sd), 256, event_ndims=0)
        np.testing.assert_allclose(float(jax.scipy.special.logsumexp(log_p)), 0.0, atol=1e-4)
        sd = np.exp(log_sd)
        inner = np.arange(1, 255) / 255.0
        lo, hi = inner - 0.5 / 255, inner + 0.5 / 255  # right of the mean by survival functions (no cancellation)
        want = np.where(inner > mean, stats.norm.sf(lo, mean, sd) - stats.norm.sf(hi, mean, sd),
                        stats.norm.cdf(hi, mean, sd) - stats.norm.cdf(lo, mean, sd))
        got = np.exp(np.asarray(log_p[1:255], np.float64))
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-30)
    # the model's [-1, 1] scale: a decoder on x0 * 2 - 1 with sd 2 s is the [0, 1] one with sd s
    x = jnp.array([[0.0, 100 / 255, 1.0]])
    a = dl.decoder_nll(x, x * 2 - 1 + 0.01, jnp.full((1, 3), 2 * np.log(2 * 0.004)), 256)
    b = -likelihoods.discretized_gaussian_log_prob(x, x + 0.005, jnp.log(jnp.float32(0.004)), 256, event_ndims=1)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="noise schedule 'quadratic'"):
        sch.make_schedule("quadratic")
    with pytest.raises(ValueError, match="loss weighting 'snr2'"):
        dl.loss_weight("snr2", jnp.zeros(2))
    with pytest.raises(ValueError, match="prediction 'score'"):
        dl.to_x0_eps("score", jnp.zeros(2), jnp.zeros(2), jnp.ones(2), jnp.ones(2))
